//! Writes a generated web farm for `w3triage farm`: per-server folders in the real IIS layout,
//! older days compressed, a third-party module that crashes most servers on one request
//! pattern, an unrelated crash on one server, and healthy servers (see `gen_samples/farm.rs`).
//!
//! ```text
//! cargo run --release --example gen_farm -- --servers 30 --days 7 --seed 1 --out farm
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "gen_samples/generator.rs"]
#[allow(dead_code)]
mod generator;

const USAGE: &str = "usage: gen_farm [--servers N] [--days D] [--seed S] --out DIR";

fn main() -> ExitCode {
    let (mut servers, mut days, mut seed, mut out) = (30usize, 7usize, 1u64, None::<PathBuf>);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next();
        let ok = match a.as_str() {
            "--servers" => value().and_then(|v| v.parse().ok()).map(|v| servers = v),
            "--days" => value().and_then(|v| v.parse().ok()).map(|v| days = v),
            "--seed" => value().and_then(|v| v.parse().ok()).map(|v| seed = v),
            "--out" => value().map(|v| out = Some(v.into())),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => None,
        };
        if ok.is_none() {
            eprintln!("gen_farm: bad argument {a:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let Some(out) = out else {
        eprintln!("gen_farm: --out is required\n{USAGE}");
        return ExitCode::from(2);
    };
    if servers == 0 || days == 0 {
        eprintln!("gen_farm: --servers and --days must be at least 1");
        return ExitCode::from(2);
    }
    let (files, truth) = generator::farm::farm_files(servers, days, seed);
    let mut total = 0u64;
    for (rel, bytes) in &files {
        let path = out.join(rel);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, bytes));
        if let Err(e) = written {
            eprintln!("gen_farm: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        total += bytes.len() as u64;
    }
    let truth_json = serde_json::to_string_pretty(&truth).expect("truth serialises");
    if let Err(e) = std::fs::write(out.join("farm-truth.json"), truth_json + "\n") {
        eprintln!("gen_farm: cannot write farm-truth.json: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "{} files, {} bytes: {} servers × {} days, {} crashing in {}",
        files.len(),
        total,
        servers,
        days,
        truth.crashing.len(),
        truth.module
    );
    ExitCode::SUCCESS
}

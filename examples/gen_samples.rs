//! Writes the committed `samples/` folder: a realistic, fully synthetic IIS outage (WEB01) and a
//! healthy day (WEB02), byte-identical for the same seed.
//!
//! ```text
//! cargo run --example gen_samples -- --out samples --seed 1
//! ```
//!
//! The generator itself lives in `gen_samples/generator.rs` so that the integration test
//! `tests/it/samples.rs` can include it and check that the committed data never drifts from it.

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "gen_samples/generator.rs"]
mod generator;

fn main() -> ExitCode {
    let mut out = PathBuf::from("samples");
    let mut seed: u64 = 1;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => match args.next() {
                Some(v) => out = PathBuf::from(v),
                None => return usage("--out needs a folder"),
            },
            "--seed" => match args.next().and_then(|v| v.parse().ok()) {
                Some(v) => seed = v,
                None => return usage("--seed needs an unsigned integer"),
            },
            "-h" | "--help" => {
                println!("usage: gen_samples [--out DIR] [--seed N]");
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    match generator::generate(&out, seed) {
        Ok(summary) => {
            for (path, bytes) in &summary.files {
                println!("{bytes:>10}  {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen_samples: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("gen_samples: {msg}\nusage: gen_samples [--out DIR] [--seed N]");
    ExitCode::from(2)
}

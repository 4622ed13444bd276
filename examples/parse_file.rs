//! Parse driver for profiling the W3C parser without the CLI (and without polars).
//!
//! `cargo build --release --no-default-features --example parse_file`
//! `parse_file FILE [--threads N] [--hash] [--chunk BYTES]`
//!
//! Prints rows, wall and CPU time (user/sys from /proc), minor page faults, peak RSS and the
//! table's heap bytes (its text stays in the mapped file, counted apart); `--hash` also prints a hash of every column, the issues and the counts
//! (compare before/after a parser change: the output must not move).

use std::hash::{DefaultHasher, Hash, Hasher};
use w3triage::tables::{FileCtx, Requests};

fn proc_stat() -> (f64, f64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let n = |k: usize| f.get(k).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    (n(11) as f64 / 100.0, n(12) as f64 / 100.0, n(7))
}

fn peak_rss_mb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}

fn h<T: Hash>(it: impl Iterator<Item = T>) -> u64 {
    let mut s = DefaultHasher::new();
    for v in it {
        v.hash(&mut s);
    }
    s.finish()
}

fn hashes(r: &Requests) -> Vec<(&'static str, u64)> {
    vec![
        ("ts", h(r.ts.iter())),
        ("server", h(r.server.iter())),
        ("site", h(r.site.iter())),
        ("s_ip", h(r.s_ip.iter())),
        ("s_port", h(r.s_port.iter())),
        ("method", h(r.method.iter())),
        ("uri_stem", h(r.uri_stem.iter())),
        ("uri_query", h(r.uri_query.iter())),
        ("username", h(r.username.iter())),
        ("c_ip", h(r.c_ip.iter())),
        ("user_agent", h(r.user_agent.iter())),
        ("referer", h(r.referer.iter())),
        ("cookie", h(r.cookie.iter())),
        ("host", h(r.host.iter())),
        ("status", h(r.status.iter())),
        ("substatus", h(r.substatus.iter())),
        ("win32_status", h(r.win32_status.iter())),
        ("sc_bytes", h(r.sc_bytes.iter())),
        ("cs_bytes", h(r.cs_bytes.iter())),
        ("time_taken_ms", h(r.time_taken_ms.iter())),
        ("file", h(r.file.iter())),
        ("offset", h(r.offset.iter())),
        ("extra", h(r.extra.iter())),
    ]
}

fn main() {
    let mut path = None;
    let mut threads = 1usize;
    let mut hash = false;
    let mut chunk = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => threads = args.next().and_then(|v| v.parse().ok()).unwrap_or(1),
            "--chunk" => chunk = args.next().and_then(|v| v.parse().ok()),
            "--hash" => hash = true,
            _ => path = Some(a),
        }
    }
    let Some(path) = path else {
        eprintln!("usage: parse_file FILE [--threads N] [--hash] [--chunk BYTES]");
        std::process::exit(2);
    };
    let file = std::fs::File::open(&path).expect("open");
    // Read (mapped) as the CLI reads it.
    let src = w3triage::ingest::read_source(file).expect("read");
    let mb = src.bytes().len() >> 20;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    let ctx = FileCtx {
        path: path.clone().into(),
        ..Default::default()
    };
    let (u0, s0, f0) = proc_stat();
    let t = std::time::Instant::now();
    let p = pool.install(|| match chunk {
        Some(c) => w3triage::ingest::w3c::parse_source_chunked(&ctx, &src, c),
        None => w3triage::ingest::w3c::parse_source(&ctx, &src),
    });
    let wall = t.elapsed().as_secs_f64();
    let (u1, s1, f1) = proc_stat();
    println!(
        "{} rows, {} MB in {wall:.3} s wall, {:.2} user + {:.2} sys, {} minor faults, peak RSS {} MB, table {} MB ({:.0} B/row) + {} MB of text in the mapped file",
        p.requests.len(),
        mb,
        u1 - u0,
        s1 - s0,
        f1 - f0,
        peak_rss_mb(),
        p.requests.heap_bytes() >> 20,
        p.requests.heap_bytes() as f64 / p.requests.len().max(1) as f64,
        p.requests.source_bytes() >> 20
    );
    if hash {
        for (n, v) in hashes(&p.requests) {
            println!("{n} {v:016x}");
        }
        println!("counts {:?}", p.counts);
        println!(
            "issues {:016x}",
            h(p.issues.iter().map(|i| format!("{i:?}")))
        );
        println!("server {:?} site {:?}", p.server, p.site);
    }
}

//! Dumps per second: the real fixtures, and a synthetic 300-thread w3wp dump, on one core and
//! across all cores (rayon, one `parse` per dump, as the ingest driver does).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use w3triage::ingest::dump::{DumpOptions, parse};
use w3triage::tables::FileCtx;

#[path = "../tests/support/w3wp_dump.rs"]
mod w3wp_dump;

fn fixtures() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dumps");
    let mut v: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "dmp"))
                .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn synthetic_300_threads() -> Vec<u8> {
    let mut d = w3wp_dump::W3wpDump::new(true).idle_threads(299);
    d.modules.push(w3wp_dump::ModSpec::new(
        r"C:\inetpub\bin\Acme.dll",
        0x1_8000_0000,
        0x10_0000,
    ));
    d.stack_size = 0x4000;
    d.thread_info = true;
    let ip = d.addr("Acme.dll", 0x1234);
    let callers = [d.addr("iiscore.dll", 0x100), d.addr("ntdll.dll", 0x200)];
    d.crash(0xC000_0005, ip, &[0, 0x10], &callers).build()
}

fn run(name: &Path, bytes: &[u8]) -> usize {
    let ctx = FileCtx {
        id: 0,
        path: name.to_path_buf(),
        server: None,
        site: None,
    };
    let p = parse(&ctx, bytes, &DumpOptions::default());
    p.crashes.len() + p.frames.len()
}

fn bench(c: &mut Criterion) {
    let fx = fixtures();
    let mut g = c.benchmark_group("dumps");
    g.throughput(Throughput::Elements(fx.len() as u64));
    g.bench_function("fixtures_one_core", |b| {
        b.iter(|| fx.iter().map(|(p, d)| run(p, black_box(d))).sum::<usize>())
    });
    g.bench_function("fixtures_all_cores", |b| {
        b.iter(|| {
            fx.par_iter()
                .map(|(p, d)| run(p, black_box(d)))
                .sum::<usize>()
        })
    });
    let big = synthetic_300_threads();
    let name = PathBuf::from("w3wp_300.dmp");
    g.throughput(Throughput::Elements(1));
    g.bench_function("synthetic_300_threads", |b| {
        b.iter(|| run(&name, black_box(&big)))
    });
    let many: Vec<&[u8]> = (0..16).map(|_| big.as_slice()).collect();
    g.throughput(Throughput::Elements(many.len() as u64));
    g.bench_function("synthetic_300_threads_x16_all_cores", |b| {
        b.iter(|| {
            many.par_iter()
                .map(|d| run(&name, black_box(d)))
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

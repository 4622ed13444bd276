//! Parse throughput on a generated IIS 10 log held in memory, next to a `wc -l`-style newline
//! count of the same bytes measured in the same run (report the ratio, not the absolute time:
//! the machines here are shared and noisy).
//!
//! `cargo bench --bench parse` (set W3TRIAGE_BENCH_MB to change the 64 MB default).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use w3triage::tables::FileCtx;

#[allow(dead_code)]
#[path = "../examples/gen_w3c.rs"]
mod gen_w3c;

fn input() -> Vec<u8> {
    let mb: u64 = std::env::var("W3TRIAGE_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let mut buf = Vec::with_capacity((mb << 20) as usize + 4096);
    gen_w3c::generate(&mut buf, mb << 20, 1, None).expect("generate");
    buf
}

fn bench(c: &mut Criterion) {
    let data = input();
    let src = w3triage::tables::Source::copy_of(&data);
    let ctx = FileCtx {
        server: Some("WEB01".into()),
        site: Some("W3SVC1".into()),
        ..Default::default()
    };
    let mut g = c.benchmark_group("w3c");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("wc_l_baseline", |b| {
        b.iter(|| memchr::memchr_iter(b'\n', black_box(&data)).count())
    });
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        g.bench_function(format!("parse_{threads}_threads"), |b| {
            b.iter(|| {
                pool.install(|| {
                    w3triage::ingest::w3c::parse_source(&ctx, black_box(&src))
                        .requests
                        .len()
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

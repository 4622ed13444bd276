//! Counter logs: a day of 15-second samples of 2,000 counters (5,760 lines, 11.5 million
//! values, about 80 MB of PDH-CSV) parsed into the counters table, against a newline count of
//! the same bytes.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use w3triage::ingest::perf::parse;
use w3triage::tables::FileCtx;

fn day_csv(columns: usize, samples: usize) -> Vec<u8> {
    let mut s = String::from("\"(PDH-CSV 4.0) (Eastern Daylight Time)(240)\"");
    for c in 0..columns {
        s.push_str(&format!(",\"\\\\WEB01\\Process(p{c})\\% Processor Time\""));
    }
    s.push_str("\r\n");
    for i in 0..samples {
        let t = i * 15;
        s.push_str(&format!(
            "\"03/01/2024 {:02}:{:02}:{:02}.{:03}\"",
            t / 3600,
            (t / 60) % 60,
            t % 60,
            (i * 7) % 1000
        ));
        for c in 0..columns {
            s.push_str(&format!(",\"{}\"", ((i * 31 + c * 7) % 1000) as f64 / 10.0));
        }
        s.push_str("\r\n");
    }
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let csv = day_csv(2_000, 5_760);
    let mut g = c.benchmark_group("counters");
    g.throughput(Throughput::Bytes(csv.len() as u64));
    g.sample_size(10);
    g.bench_function("newline count", |b| {
        b.iter(|| black_box(memchr::memchr_iter(b'\n', black_box(&csv)).count()))
    });
    g.bench_function("parse a day of 2,000 counters", |b| {
        b.iter(|| black_box(parse(&FileCtx::default(), black_box(&csv)).counters.len()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

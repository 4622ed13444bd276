//! Compressed logs: a server's month of gzipped W3C logs (16 files of 16 MiB inflated), ingested
//! from disk, against the same decoder (flate2 with zlib-rs, `MultiGzDecoder`) inflating the
//! same files into nothing on the same threads: the decoder's own speed is the baseline.
//! Throughput is in inflated bytes.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;

#[allow(dead_code)]
#[path = "../examples/gen_w3c.rs"]
mod gen_w3c;

const FILES: usize = 16;
const MIB: usize = 16;

/// The files, gzipped at level 6 as `gzip` does, under `dir/WEB01/W3SVC1/`.
fn month(dir: &std::path::Path) -> (Vec<PathBuf>, u64) {
    let site = dir.join("WEB01/W3SVC1");
    std::fs::create_dir_all(&site).expect("bench folder");
    let mut paths = Vec::new();
    let mut inflated = 0;
    for day in 0..FILES {
        let mut log = Vec::new();
        gen_w3c::generate(&mut log, (MIB as u64) << 20, day as u64 + 1, None).expect("generate");
        inflated += log.len() as u64;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(&log).expect("gzip");
        let path = site.join(format!("u_ex2403{:02}.log.gz", day + 1));
        std::fs::write(&path, gz.finish().expect("gzip")).expect("write");
        paths.push(path);
    }
    (paths, inflated)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (paths, inflated) = month(dir.path());
    let mut g = c.benchmark_group("archives");
    g.throughput(Throughput::Bytes(inflated));
    g.sample_size(10);
    g.bench_function("inflate only (flate2 zlib-rs, file per thread)", |b| {
        b.iter(|| {
            let n: u64 = paths
                .par_iter()
                .map(|p| {
                    let f = std::fs::File::open(p).expect("open");
                    let mut gz = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f));
                    std::io::copy(&mut gz, &mut std::io::sink()).expect("inflate")
                })
                .sum();
            black_box(n)
        })
    });
    g.bench_function("ingest the .gz logs", |b| {
        b.iter(|| {
            let t = w3triage::ingest_paths(&[dir.path().to_path_buf()], &Default::default());
            black_box(t.requests.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

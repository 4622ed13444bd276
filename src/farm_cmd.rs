//! `w3triage ingest --dataset` and `w3triage farm`: the farm's commands (progress, output files,
//! exit codes); the work is in `w3triage::dataset` and `w3triage::farm`.

use crate::{EngineArg, FarmArgs, IngestArgs, print_and_write};
use anyhow::{Context, Result, bail};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use w3triage::dataset::{self, Outcome};
use w3triage::farm::{FarmOptions, FarmReport, ServerRun};
use w3triage::ingest::IngestOptions;
use w3triage::report::{self, Format, farm as farm_report};

fn options(threads: Option<usize>, symbols: &Option<PathBuf>) -> FarmOptions {
    FarmOptions {
        ingest: IngestOptions {
            threads,
            dump: w3triage::ingest::dump::DumpOptions {
                symbols: symbols.clone(),
            },
            ..Default::default()
        },
        analyze: Default::default(),
        server: None,
        in_memory_limit: None,
    }
}

fn check_paths(paths: &[PathBuf]) -> Result<()> {
    for p in paths {
        std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
    }
    Ok(())
}

/// `p`, or the local path a `file://` URL names (`file:///mnt/w3triage`, percent-escapes
/// decoded). Another scheme (`s3://`, `az://`) is refused with what to do instead.
fn local_path(p: &Path) -> Result<PathBuf> {
    let Some(text) = p.to_str() else {
        return Ok(p.to_path_buf());
    };
    let Some((scheme, rest)) = text.split_once("://") else {
        return Ok(p.to_path_buf());
    };
    let scheme_like = !scheme.is_empty()
        && scheme.len() > 1
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_like {
        return Ok(p.to_path_buf());
    }
    if !scheme.eq_ignore_ascii_case("file") {
        bail!(
            "{text}: {scheme}:// URLs are not read; mount the store at a path every executor shares and give that path (docs/distributed.md)"
        );
    }
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        bail!("{text} names another machine: mount its share and give the local path");
    }
    let mut bytes = Vec::with_capacity(path.len());
    let raw = path.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            raw[i],
            raw.get(i + 1).copied().and_then(hex),
            raw.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                bytes.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    let decoded =
        String::from_utf8(bytes).with_context(|| format!("{text}: not UTF-8 once decoded"))?;
    // `file:///C:/logs` is `C:/logs` on Windows.
    let windows_drive = decoded.len() > 2 && decoded.as_bytes()[2] == b':' && cfg!(windows);
    Ok(PathBuf::from(if windows_drive {
        &decoded[1..]
    } else {
        &decoded
    }))
}

/// Runs `f` on a pool of `threads` threads (all cores when `None`).
pub(crate) fn on_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> T {
    let pool = threads.and_then(|n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .ok()
    });
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}

/// A "server i/n" progress bar on stderr when it is a terminal.
fn server_bar() -> Option<indicatif::ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} server {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    })
}

/// What a run tells as each server is done: the bar, each server's own reports, and whether
/// anything was read badly. The first failure to write stops the writing and is returned.
struct Each<'a> {
    bar: Option<indicatif::ProgressBar>,
    out: Option<&'a Path>,
    bad: bool,
    failure: Option<anyhow::Error>,
}

impl Each<'_> {
    fn server(&mut self, name: &str, (i, n): (usize, usize), run: Option<&ServerRun<'_>>) {
        if let Some(b) = &self.bar {
            b.set_length(n as u64);
            b.set_position(i as u64 + 1);
            b.set_message(w3triage::term::safe(name).into_owned());
        }
        let Some(run) = run else {
            return;
        };
        self.bad |= run.tables.read_badly();
        if let (Some(dir), None) = (self.out, &self.failure) {
            let dir = dir.join("servers").join(w3triage::farm::path_segment(name));
            if let Err(e) = report::write_files(run.analysis, &dir) {
                self.failure = Some(anyhow::Error::new(e).context(format!(
                    "cannot write the reports of {name} into {}",
                    dir.display()
                )));
            }
        }
    }

    fn finish(self) -> Result<bool> {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
        match self.failure {
            Some(e) => Err(e),
            None => Ok(self.bad),
        }
    }
}

/// `w3triage ingest PATH… --dataset DIR`.
pub fn ingest(mut args: IngestArgs) -> Result<ExitCode> {
    args.paths = args
        .paths
        .iter()
        .map(|p| local_path(p))
        .collect::<Result<_>>()?;
    args.dataset = local_path(&args.dataset)?;
    check_paths(&args.paths)?;
    let mut opts = options(args.threads, &args.symbols);
    opts.in_memory_limit = Some(args.in_memory_limit);
    if let Some(name) = &args.server {
        if name.trim().is_empty() || name.chars().any(char::is_control) {
            bail!("--server {name:?}: a server needs a name (not blank, no control characters)");
        }
        opts.server = Some(name.trim().to_string());
    }
    let mut each = Each {
        bar: server_bar(),
        out: None,
        bad: false,
        failure: None,
    };
    let summary = on_threads(args.threads, || {
        dataset::ingest(&args.paths, &args.dataset, &opts, &mut |n, at, run| {
            each.server(n, at, run)
        })
    })
    .with_context(|| format!("cannot write the dataset {}", args.dataset.display()))?;
    each.finish()?;
    if summary.servers.is_empty() {
        bail!("no files found under {}", roots(&args.paths));
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for (server, outcome) in &summary.servers {
        let server = w3triage::term::safe(server);
        match outcome {
            Outcome::Written { rows, partitions } => {
                writeln!(out, "{server}: {rows} rows in {partitions} partition files")?
            }
            Outcome::Unchanged => writeln!(out, "{server}: unchanged, not read again")?,
        }
    }
    writeln!(
        out,
        "{} sources, {} servers -> {}",
        summary.sources,
        summary.servers.len(),
        args.dataset.display()
    )?;
    out.flush()?;
    Ok(exit(summary.read_badly))
}

/// `w3triage farm PATH|DATASET… [--dataset DIR]`.
pub fn farm(mut args: FarmArgs) -> Result<ExitCode> {
    args.paths = args
        .paths
        .iter()
        .map(|p| local_path(p))
        .collect::<Result<_>>()?;
    args.dataset = args.dataset.as_deref().map(local_path).transpose()?;
    check_paths(&args.paths)?;
    let mut opts = options(args.threads, &args.symbols);
    let (analyze, tz) = args.time.options()?;
    opts.analyze = analyze;
    opts.ingest.tz_min = tz.map(|s| s / 60);
    opts.in_memory_limit = Some(args.in_memory_limit);
    let mut each = Each {
        bar: server_bar(),
        out: args.out.as_deref(),
        bad: false,
        failure: None,
    };
    let given_dataset = match args.paths.as_slice() {
        [one] if dataset::is_dataset(one) => Some(one.clone()),
        _ => None,
    };
    if args.time.given() && (given_dataset.is_some() || args.dataset.is_some()) {
        // A dataset's servers were judged once, with the defaults, when they were ingested.
        bail!(
            "--window, --since, --until and --tz apply to folders, not to a dataset (its servers were judged with the defaults when ingested): give the farm's folders"
        );
    }
    if args.engine != EngineArg::Builtin && given_dataset.is_none() && args.dataset.is_none() {
        bail!(
            "--engine {} reads a dataset: give one (`w3triage ingest … --dataset DIR` writes it), or add --dataset DIR",
            args.engine.name()
        );
    }
    if args.scheduler.is_some() && args.engine != EngineArg::Ballista {
        bail!("--scheduler is for --engine ballista");
    }
    if let Some(dir) = given_dataset.as_ref().filter(|_| args.dataset.is_none()) {
        each.finish()?;
        let farm = report_of(dir, &args)?;
        copy_reports(dir, args.out.as_deref())?;
        return write_farm(&args, &farm, false);
    }
    if let Some(dir) = &args.dataset {
        // The servers' own reports come from the dataset, which keeps those of the servers
        // not read again.
        each.out = None;
        // (Whether anything was read badly, each server read tells `each`.)
        on_threads(args.threads, || {
            dataset::ingest(&args.paths, dir, &opts, &mut |n, at, run| {
                each.server(n, at, run)
            })
        })
        .with_context(|| format!("cannot write the dataset {}", dir.display()))?;
        let bad = each.finish()?;
        let farm = report_of(dir, &args)?;
        copy_reports(dir, args.out.as_deref())?;
        return write_farm(&args, &farm, bad);
    }
    let farm = on_threads(args.threads, || {
        w3triage::farm::run(&args.paths, &opts, &mut |run| {
            each.server(run.name, run.index, Some(run))
        })
    });
    let bad = each.finish()?;
    write_farm(&args, &farm, bad)
}

/// The farm report of the dataset at `dir`, its cross-server facts computed by `--engine`.
fn report_of(dir: &Path, args: &FarmArgs) -> Result<FarmReport> {
    let context = || format!("cannot read the dataset {}", dir.display());
    if args.engine == EngineArg::Builtin {
        return dataset::farm_report(dir).with_context(context);
    }
    on_engine(dir, args)
}

#[cfg(feature = "distributed")]
fn on_engine(dir: &Path, args: &FarmArgs) -> Result<FarmReport> {
    use w3triage::dataset::reduce::Engine;
    let engine = match (args.engine, &args.scheduler) {
        (EngineArg::Ballista, Some(url)) => Engine::Ballista {
            scheduler: url.clone(),
        },
        (EngineArg::Ballista, None) => bail!("--engine ballista needs --scheduler df://HOST:PORT"),
        (EngineArg::BallistaStandalone, _) => Engine::Standalone { executors: 2 },
        _ => Engine::Local,
    };
    let patience = w3triage::dataset::reduce::Patience {
        query: std::time::Duration::from_secs(args.query_timeout.max(1)),
        ..Default::default()
    };
    let (farm, timing) = dataset::farm_report_on(dir, &engine, &patience)
        .with_context(|| format!("cannot read the dataset {}", dir.display()))?;
    for why in &timing.retried {
        eprintln!(
            "w3triage: a query was run again after: {}",
            w3triage::term::safe(why)
        );
    }
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    let queries: Vec<String> = timing
        .queries
        .iter()
        .map(|d| format!("{:.0}", ms(*d)))
        .collect();
    eprintln!(
        "w3triage: the reduce ran on {}: setup {:.0} ms, {} queries {} ms",
        args.engine.name(),
        ms(timing.setup),
        queries.len(),
        queries.join(" + ")
    );
    Ok(farm)
}

#[cfg(not(feature = "distributed"))]
fn on_engine(_: &Path, args: &FarmArgs) -> Result<FarmReport> {
    bail!(
        "--engine {} needs a w3triage built with the `distributed` feature (cargo build --release --features distributed); this one has only --engine builtin",
        args.engine.name()
    )
}

/// With `--out`, each server's own reports the dataset keeps, into `out/servers/`.
fn copy_reports(dataset: &Path, out: Option<&Path>) -> Result<()> {
    if let Some(out) = out {
        dataset::copy_reports(dataset, out)
            .with_context(|| format!("cannot copy the servers' reports into {}", out.display()))?;
    }
    Ok(())
}

fn write_farm(args: &FarmArgs, farm: &FarmReport, bad: bool) -> Result<ExitCode> {
    if farm.servers.is_empty() && farm.other_files.is_empty() {
        bail!("no files found under {}", roots(&args.paths));
    }
    let format = Format::from(args.format);
    print_and_write(
        format,
        &farm_report::render(farm, format),
        args.out.as_deref(),
        |dir| {
            farm_report::write_files(farm, dir)
                .with_context(|| format!("cannot write the farm reports into {}", dir.display()))
        },
    )?;
    Ok(exit(bad))
}

fn exit(bad: bool) -> ExitCode {
    if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn roots(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

//! The `w3triage` command line: flags, progress, output files and exit codes. All the work is
//! in the library.
//!
//! Exit codes: 0 = completed and every input was read cleanly; 1 = completed with issues (some
//! lines or files were rejected, skipped or failed — the summary says which); 2 = fatal (bad
//! arguments, output not writable).

#![warn(clippy::undocumented_unsafe_blocks)]

mod farm_cmd;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use w3triage::export;
use w3triage::ingest::{IngestOptions, Sink, ingest_into};
use w3triage::tables::{FileRow, Parsed, Severity, Tables};

#[derive(Parser)]
#[command(
    name = "w3triage",
    version,
    about = "Post-outage forensics for IIS: logs, HTTPERR, crash dumps and events in one report"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read logs, dumps and events into the normalized tables and write one of them out.
    Parse(ParseArgs),
    /// Triage crash dumps: what crashed, where, the suspect module and what to do.
    Dump(DumpArgs),
    /// Rebuild the crash timeline, match crashes to requests and modules, name the suspects.
    Analyze(AnalyzeArgs),
    /// A web farm's archives: each server analysed on its own, then what holds across servers.
    Farm(FarmArgs),
    /// Read everything into a Hive-partitioned Parquet dataset (table/server=/date=), for the
    /// farm and for other tools; a rerun rewrites only the servers whose sources changed.
    Ingest(IngestArgs),
}

#[derive(clap::Args)]
pub(crate) struct IngestArgs {
    /// Files, folders or archives: one folder (or `.zip`) per server below them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The dataset's folder (created if missing).
    #[arg(long, required = true)]
    dataset: PathBuf,
    /// All these files are this server's, whatever their folders say: a server ingesting its
    /// own logs (`C:\inetpub\logs`, dumps, events) into a shared dataset.
    #[arg(long, value_name = "NAME")]
    server: Option<String>,
    /// Worker threads (default: one per core). Output is identical for any value.
    #[arg(long)]
    threads: Option<usize>,
    /// A Breakpad symbol tree (`module.pdb/ID/module.sym`) for function names in dumps.
    #[arg(long)]
    symbols: Option<PathBuf>,
    /// A server whose request logs are larger than this (e.g. 500M, 2G) is not held in
    /// memory: they are read again for each statistic and to write its `requests` partitions.
    /// The dataset is the same.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    in_memory_limit: u64,
}

#[derive(clap::Args)]
pub(crate) struct FarmArgs {
    /// The farm's folders or archives, one folder (or `.zip`) per server below them
    /// (`farm/WEB01/…`, `farm/WEB02.zip`); or a dataset `ingest` wrote.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Ingest into this dataset first (servers whose sources did not change are not read
    /// again), then report from it.
    #[arg(long)]
    dataset: Option<PathBuf>,
    #[command(flatten)]
    time: TimeArgs,
    /// Write farm.md, farm.html and farm.json, and each server's own reports under
    /// servers/<server>/, into this folder.
    #[arg(long)]
    out: Option<PathBuf>,
    /// What to print on standard output.
    #[arg(long, value_enum, default_value_t = ReportFormat::Terminal)]
    format: ReportFormat,
    /// Worker threads (default: one per core). Output is identical for any value.
    #[arg(long)]
    threads: Option<usize>,
    /// A Breakpad symbol tree (`module.pdb/ID/module.sym`) for function names in dumps.
    #[arg(long)]
    symbols: Option<PathBuf>,
    /// What computes the cross-server facts from a dataset: the servers' summaries in this
    /// process (`builtin`), or SQL over the dataset's tables (the other engines; built with
    /// the `distributed` feature). The report is the same with each.
    #[arg(long, value_enum, default_value_t = EngineArg::Builtin)]
    engine: EngineArg,
    /// The Ballista scheduler for `--engine ballista`; its executors must read the dataset at
    /// the same path.
    #[arg(long, value_name = "df://HOST:PORT")]
    scheduler: Option<String>,
    /// On a cluster, a query not done in this many seconds is given up and run again (twice at
    /// most, as one that fails: an executor lost).
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    query_timeout: u64,
    /// A server whose request logs are larger than this (e.g. 500M, 2G) is not held in
    /// memory: they are read again for each statistic (and for writing the dataset), only the
    /// rows around its incidents kept. The reports are the same.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    in_memory_limit: u64,
}

/// `farm --engine`.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub(crate) enum EngineArg {
    /// The servers' summaries, in this process (no SQL engine).
    Builtin,
    /// SQL on Apache DataFusion in this process.
    Datafusion,
    /// SQL on the Apache DataFusion Ballista cluster at `--scheduler`.
    Ballista,
    /// SQL on a Ballista scheduler and two executors started in this process on loopback
    /// ports (tests, one big machine).
    BallistaStandalone,
}

impl EngineArg {
    /// As given on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            EngineArg::Builtin => "builtin",
            EngineArg::Datafusion => "datafusion",
            EngineArg::Ballista => "ballista",
            EngineArg::BallistaStandalone => "ballista-standalone",
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum ReportFormat {
    /// A plain-text summary.
    Terminal,
    Md,
    Html,
    Json,
}

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// Files or folders (searched recursively): W3C and HTTPERR logs, dumps, event exports.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write report.md, report.html and report.json into this folder.
    #[arg(long)]
    out: Option<PathBuf>,
    /// What to print on standard output.
    #[arg(long, value_enum, default_value_t = ReportFormat::Terminal)]
    format: ReportFormat,
    #[command(flatten)]
    time: TimeArgs,
    /// Worker threads (default: one per core). Output is identical for any value.
    #[arg(long)]
    threads: Option<usize>,
    /// Everything given is from this one machine (instead of the names found in the events,
    /// `s-computername` and the folders).
    #[arg(long, value_name = "NAME")]
    server: Option<String>,
    /// A Breakpad symbol tree (`module.pdb/ID/module.sym`) for function names in dumps.
    #[arg(long)]
    symbols: Option<PathBuf>,
    /// Request logs larger than this in all (e.g. 500M, 2G) are not held in memory: every
    /// statistic reads them again, and only the rows around the incidents are kept. The
    /// report is the same; memory stays bounded, for one more read of the logs per statistic.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    in_memory_limit: u64,
}

/// `1G`, `500M`, `64K` or a number of bytes.
fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let unit = unit.trim().to_ascii_uppercase();
    let mult: u64 = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return Err(format!("{s:?}: a size is a number with K, M, G or T")),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?}: a size is a number with K, M, G or T"))
}

/// The analysis window options `analyze` and `farm` share.
#[derive(clap::Args)]
pub(crate) struct TimeArgs {
    /// How far before each crash to list the last requests (e.g. 90s, 5m, 1h).
    #[arg(long, default_value = "5m")]
    window: String,
    /// Ignore evidence and requests before this time (RFC 3339, or YYYY-MM-DD[ HH:MM[:SS]] at --tz).
    #[arg(long)]
    since: Option<String>,
    /// Ignore evidence and requests after this time.
    #[arg(long)]
    until: Option<String>,
    /// Also show local times at this fixed offset (e.g. +02:00, -0500, UTC).
    #[arg(long)]
    tz: Option<String>,
}

impl TimeArgs {
    /// The analysis options they give, and the offset (seconds east) of `--tz`.
    pub(crate) fn options(&self) -> Result<(w3triage::analyze::AnalyzeOptions, Option<i32>)> {
        use w3triage::analyze::{AnalyzeOptions, time};
        let tz = self
            .tz
            .as_deref()
            .map(time::parse_tz)
            .transpose()
            .map_err(anyhow::Error::msg)?;
        let window_ms = time::parse_duration(&self.window).map_err(anyhow::Error::msg)?;
        let at = |v: &Option<String>| {
            v.as_deref()
                .map(|s| time::parse_time(s, tz))
                .transpose()
                .map_err(anyhow::Error::msg)
        };
        let (since, until) = (at(&self.since)?, at(&self.until)?);
        if let (Some(a), Some(b)) = (since, until)
            && a > b
        {
            bail!("--since is after --until");
        }
        let opts = AnalyzeOptions {
            window_ms,
            since,
            until,
            tz_offset_s: tz,
            ..Default::default()
        };
        Ok((opts, tz))
    }

    /// Any of them differs from the defaults.
    pub(crate) fn given(&self) -> bool {
        self.window != "5m" || self.since.is_some() || self.until.is_some() || self.tz.is_some()
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum DumpFormat {
    /// A short triage per dump.
    Text,
    /// Per dump: its crash rows (facts), their verdicts, modules, frames, threads and issues.
    Json,
}

#[derive(clap::Args)]
struct DumpArgs {
    /// Minidump files (`.dmp`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = DumpFormat::Text)]
    format: DumpFormat,
    /// A Breakpad symbol tree (`module.pdb/ID/module.sym`) for function names.
    #[arg(long)]
    symbols: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum TableFormat {
    /// Aligned text, first rows only.
    Table,
    /// One JSON object per row (the documented contract).
    Jsonl,
    Csv,
    Parquet,
}

#[derive(clap::Args)]
struct ParseArgs {
    /// Files or folders (searched recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Which table to write.
    #[arg(long, default_value = "requests", value_parser = clap::builder::PossibleValuesParser::new(export::TABLE_NAMES))]
    table: String,
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    format: TableFormat,
    /// Write the table here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads (default: one per core). Output is identical for any value.
    #[arg(long)]
    threads: Option<usize>,
    /// Everything given is from this one machine (instead of the names found in the events,
    /// `s-computername` and the folders).
    #[arg(long, value_name = "NAME")]
    server: Option<String>,
    /// Print per-file and total counts, issues, bytes and throughput instead of the table.
    #[arg(long)]
    summary: bool,
    /// CSV cells as logged. By default a cell that starts with = + - @ tab or CR gets a leading
    /// apostrophe, so a spreadsheet shows it instead of running it as a formula.
    #[arg(long)]
    csv_raw: bool,
    /// A Breakpad symbol tree (`module.pdb/ID/module.sym`) for function names in dumps.
    #[arg(long)]
    symbols: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    w3triage::output::remove_pending_on_interrupt();
    let result = match cli.command {
        Command::Parse(args) => parse(args),
        Command::Dump(args) => dump(args),
        Command::Analyze(args) => analyze(args),
        Command::Farm(args) => farm_cmd::farm(args),
        Command::Ingest(args) => farm_cmd::ingest(args),
    };
    match result {
        Ok(code) => code,
        // `w3triage … | head`: the reader has what it wanted; stop quietly, as grep does.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // (Paths in the message may hold control characters: shown, not obeyed.)
            eprintln!(
                "w3triage: error: {}",
                w3triage::term::safe(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// In-memory tables, counting files on the progress bar as they arrive.
struct Progress {
    tables: Tables,
    bar: Option<indicatif::ProgressBar>,
}

impl Sink for Progress {
    fn accept(&mut self, file: FileRow, parsed: Parsed) {
        self.tables.accept(file, parsed);
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }
}

/// [`ingest`], dropping the request rows when their logs are larger than `limit` bytes (the
/// analysis reads them again: `analyze::rows`).
fn ingest_within(paths: &[PathBuf], opts: &IngestOptions, limit: u64) -> Result<Tables> {
    check_paths(paths)?;
    let artifacts = w3triage::discover::discover(paths);
    let bytes = w3triage::ingest::reread::request_bytes(&artifacts);
    let big = bytes > limit;
    if big {
        // Slower, and not what a user expects unless told: say so (stdout is the report).
        let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
        eprintln!(
            "w3triage: the request logs are {:.2} GiB, over --in-memory-limit ({:.2} GiB): they are read again for each statistic instead of held in memory",
            gib(bytes),
            gib(limit)
        );
    }
    let opts = IngestOptions {
        drop_requests: big,
        ..opts.clone()
    };
    ingest_found(paths, artifacts, &opts)
}

fn check_paths(paths: &[PathBuf]) -> Result<()> {
    // A mistyped argument must not turn into "no crash found".
    for p in paths {
        std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
    }
    Ok(())
}

/// Ingests with a progress bar on stderr when it is a terminal.
fn ingest(paths: &[PathBuf], opts: &IngestOptions) -> Result<Tables> {
    check_paths(paths)?;
    ingest_found(paths, w3triage::discover::discover(paths), opts)
}

fn ingest_found(
    paths: &[PathBuf],
    artifacts: Vec<w3triage::discover::Artifact>,
    opts: &IngestOptions,
) -> Result<Tables> {
    let total: u64 = artifacts.iter().map(|a| a.bytes).sum();
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} reading {pos}/{len} files {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_length(artifacts.len() as u64);
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(b)
    } else {
        None
    };
    let mut sink = Progress {
        tables: Tables::default(),
        bar,
    };
    let reread = opts
        .drop_requests
        .then(|| w3triage::ingest::reread::request_logs(&artifacts));
    ingest_into(artifacts, opts, &mut sink);
    let Progress { mut tables, bar } = sink;
    let (names, shift) = w3triage::ingest::finish(&mut tables, opts);
    if let Some(files) = reread {
        w3triage::ingest::reread::attach(&mut tables, files, opts, names, shift);
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if tables.files.is_empty() {
        let roots: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        bail!("no files found under {}", roots.join(", "));
    }
    Ok(tables)
}

fn parse(args: ParseArgs) -> Result<ExitCode> {
    let opts = IngestOptions {
        threads: args.threads,
        dump: w3triage::ingest::dump::DumpOptions {
            symbols: args.symbols.clone(),
        },
        server: args.server.clone(),
        tz_min: None,
        drop_requests: false,
    };
    let start = std::time::Instant::now();
    let tables = ingest(&args.paths, &opts)?;
    let wall = start.elapsed();
    if args.summary {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        w3triage::summary::write_summary(&tables, wall, &mut out)?;
    } else {
        let view = export::view(&tables, &args.table).context("unknown table")?;
        // A file appears under its name only when complete (see `w3triage::output`).
        let mut file = match &args.out {
            Some(p) => Some(
                w3triage::output::PendingFile::create(p)
                    .with_context(|| format!("cannot create {}", p.display()))?,
            ),
            None => None,
        };
        let mut sink: Box<dyn Write + '_> = match file.as_mut() {
            Some(f) => Box::new(f),
            None => {
                if args.format == TableFormat::Parquet && std::io::stdout().is_terminal() {
                    bail!("Parquet is binary: give --out FILE or redirect standard output");
                }
                Box::new(BufWriter::new(std::io::stdout().lock()))
            }
        };
        let target = args
            .out
            .as_ref()
            .map_or("standard output".to_string(), |p| p.display().to_string());
        let written = match args.format {
            TableFormat::Table => {
                export::write_text(view.as_ref(), &mut sink, 50).map_err(Into::into)
            }
            TableFormat::Jsonl => export::write_jsonl(view.as_ref(), &mut sink).map_err(Into::into),
            TableFormat::Csv => {
                let opts = export::CsvOptions {
                    raw: args.csv_raw,
                    // Read by a person: escape sequences from log fields are shown, not obeyed.
                    escape_controls: args.out.is_none() && std::io::stdout().is_terminal(),
                };
                export::write_csv(view.as_ref(), &mut sink, opts).map_err(Into::into)
            }
            TableFormat::Parquet => {
                export::write_parquet(view.as_ref(), &mut sink).map_err(Into::into)
            }
        };
        written
            .and_then(|()| Ok::<(), anyhow::Error>(sink.flush()?))
            .with_context(|| format!("cannot write {target}"))?;
        drop(sink);
        if let Some(f) = file {
            let dest = f.dest().to_path_buf();
            f.commit()
                .with_context(|| format!("cannot write {}", dest.display()))?;
        }
        let problems = tables.issues.len();
        if problems > 0 {
            eprintln!(
                "w3triage: {problems} issue(s) while reading; see `--summary` or `--table issues`"
            );
        }
    }
    Ok(exit_code(&tables))
}

fn dump(args: DumpArgs) -> Result<ExitCode> {
    use w3triage::analyze::judge::Judgments;
    use w3triage::ingest::dump::{DumpOptions, parse_file as parse_dump};
    use w3triage::report::triage::render_triage;
    let opts = DumpOptions {
        symbols: args.symbols.clone(),
    };
    let mut had_issue = false;
    let mut json = Vec::new();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for (i, path) in args.files.iter().enumerate() {
        let ctx = w3triage::tables::FileCtx {
            id: i as u32,
            path: path.clone(),
            server: None,
            site: None,
        };
        // Bounded reads or a private map; special files refused before they are opened.
        let parsed = parse_dump(&ctx, path, &opts);
        had_issue |= parsed.issues.iter().any(|i| i.severity == Severity::Error)
            || parsed.crashes.is_empty();
        match args.format {
            DumpFormat::Text => writeln!(out, "{}", render_triage(&parsed, path))?,
            DumpFormat::Json => {
                // The facts as ingested, and the verdict the rules draw from them.
                let judged = Judgments::of(&parsed.crashes, &parsed.frames, &parsed.threads);
                let verdicts: Vec<_> = (0..parsed.crashes.len())
                    .map(|i| judged.dump(i).map(|j| &j.verdict))
                    .collect();
                json.push(serde_json::json!({
                    "file": path.display().to_string(),
                    "crashes": parsed.crashes,
                    "verdicts": verdicts,
                    "modules": parsed.modules,
                    "frames": parsed.frames,
                    "threads": parsed.threads,
                    "issues": parsed.issues,
                }))
            }
        }
    }
    if args.format == DumpFormat::Json {
        serde_json::to_writer_pretty(&mut out, &json)?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(if had_issue {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn analyze(args: AnalyzeArgs) -> Result<ExitCode> {
    use w3triage::report::{Format, render, write_files};
    let (aopts, tz) = args.time.options()?;
    let opts = IngestOptions {
        threads: args.threads,
        dump: w3triage::ingest::dump::DumpOptions {
            symbols: args.symbols.clone(),
        },
        server: args.server.clone(),
        tz_min: tz.map(|s| s / 60),
        drop_requests: false,
    };
    let tables = ingest_within(&args.paths, &opts, args.in_memory_limit)?;
    let analysis =
        farm_cmd::on_threads(args.threads, || w3triage::analyze::analyze(&tables, &aopts));
    let format = Format::from(args.format);
    print_and_write(
        format,
        &render(&analysis, format),
        args.out.as_deref(),
        |dir| {
            write_files(&analysis, dir)
                .with_context(|| format!("cannot write the reports into {}", dir.display()))
        },
    )?;
    Ok(exit_code(&tables))
}

impl From<ReportFormat> for w3triage::report::Format {
    fn from(f: ReportFormat) -> Self {
        use w3triage::report::Format;
        match f {
            ReportFormat::Terminal => Format::Terminal,
            ReportFormat::Md => Format::Markdown,
            ReportFormat::Html => Format::Html,
            ReportFormat::Json => Format::Json,
        }
    }
}

/// Prints `text` (the report in `format`), then, with `--out DIR`, writes the report files
/// with `write` and lists them after a terminal report.
pub(crate) fn print_and_write(
    format: w3triage::report::Format,
    text: &str,
    out_dir: Option<&std::path::Path>,
    write: impl FnOnce(&std::path::Path) -> Result<Vec<PathBuf>>,
) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    out.write_all(text.as_bytes())?;
    if let Some(dir) = out_dir {
        let written = write(dir)?;
        if format == w3triage::report::Format::Terminal {
            writeln!(out)?;
            for p in written {
                writeln!(out, "report: {}", p.display())?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// 1 when anything was rejected, skipped or failed; warnings about guesses alone keep 0.
fn exit_code(t: &Tables) -> ExitCode {
    if t.read_badly() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

//! The SQL engines that run w3triage's farm reduce over a dataset written by `w3triage ingest`:
//! Apache DataFusion in this process, or an Apache DataFusion Ballista cluster (a remote
//! scheduler, or one started here with executors on loopback ports).
//!
//! This crate is the one place DataFusion's and Ballista's generic, async APIs are called:
//! a small, synchronous, non-generic facade ([`run`]) that takes SQL text and returns plain
//! rows ([`Rows`]). The queries themselves and everything done with their results live in
//! `w3triage` (`src/farm/reduce.rs`), so the same text runs on every engine and the analysis
//! after it is the same code whatever ran the queries. Only built-in SQL functions are used:
//! stock Ballista schedulers and executors run them unmodified.

mod cluster;
mod rows;

pub use rows::{Rows, Value};

use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use std::fmt;
use std::time::{Duration, Instant};

/// Where the queries run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// DataFusion in this process.
    Local,
    /// A running Ballista scheduler, `df://HOST:PORT` (port 50050 when left out); its
    /// executors must read the dataset at the same path.
    Ballista {
        /// The scheduler's URL.
        scheduler: String,
    },
    /// A Ballista scheduler and `executors` executors started in this process on loopback
    /// ports, stopped when the queries are done: for tests and for one big machine.
    Standalone {
        /// How many executors (each with half this machine's cores, at least one).
        executors: usize,
    },
}

/// A table of the dataset: `<root>/<name>/<col>=<value>/…/*.parquet`.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// Its folder's name, also its name in SQL.
    pub name: &'static str,
    /// Its Hive partition columns, outermost first (read as strings).
    pub partitions: &'static [&'static str],
}

/// What went wrong, said in one line.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn err(context: &str) -> impl Fn(datafusion::error::DataFusionError) -> Error + '_ {
    move |e| Error(format!("{context}: {e}"))
}

/// What ran and how long it took.
#[derive(Debug, Clone, Default)]
pub struct Timing {
    /// Starting the engine (a standalone cluster), connecting, registering the tables.
    pub setup: Duration,
    /// Each query, planning to last row collected.
    pub queries: Vec<Duration>,
}

/// Runs `queries` in order over the `tables` under `root` (a folder every executor reads at
/// the same path) on `engine`; the rows of each, in the engine's order (sort them, or say
/// `ORDER BY`).
pub fn run(
    engine: &Engine,
    root: &str,
    tables: &[Table],
    queries: &[&str],
) -> Result<(Vec<Rows>, Timing), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error(format!("cannot start the engine's runtime: {e}")))?;
    let out = rt.block_on(run_async(engine, root, tables, queries));
    // A standalone cluster's servers are tasks of this runtime: they stop with it.
    rt.shutdown_timeout(Duration::from_secs(5));
    out
}

async fn run_async(
    engine: &Engine,
    root: &str,
    tables: &[Table],
    queries: &[&str],
) -> Result<(Vec<Rows>, Timing), Error> {
    let start = Instant::now();
    let ctx = match engine {
        Engine::Local => SessionContext::new_with_config(config()),
        Engine::Ballista { scheduler } => cluster::remote(scheduler, config()).await?,
        Engine::Standalone { executors } => cluster::standalone(*executors, config()).await?,
    };
    for t in tables {
        register(&ctx, root, t).await?;
    }
    let mut timing = Timing {
        setup: start.elapsed(),
        queries: Vec::new(),
    };
    let mut out = Vec::new();
    for q in queries {
        let t0 = Instant::now();
        let df = ctx
            .sql(q)
            .await
            .map_err(err("the query cannot be planned"))?;
        let batches = df.collect().await.map_err(err("the query failed"))?;
        out.push(Rows::of(&batches)?);
        timing.queries.push(t0.elapsed());
    }
    Ok((out, timing))
}

/// The session's settings, the same on every engine: statistics are not gathered from the
/// files' footers (the reduce's scans read every row anyway).
fn config() -> SessionConfig {
    let mut c = <SessionConfig as ballista::prelude::SessionConfigExt>::new_with_ballista();
    c.options_mut().execution.collect_statistics = false;
    c
}

async fn register(ctx: &SessionContext, root: &str, t: &Table) -> Result<(), Error> {
    let url = format!("{}/{}/", root.trim_end_matches('/'), t.name);
    let cols = t
        .partitions
        .iter()
        .map(|c| (c.to_string(), DataType::Utf8))
        .collect();
    let opts = ParquetReadOptions::default().table_partition_cols(cols);
    ctx.register_parquet(t.name, &url, opts)
        .await
        .map_err(|e| Error(format!("cannot read the table {} at {url}: {e}", t.name)))
}

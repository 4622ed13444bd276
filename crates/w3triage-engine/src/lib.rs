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
pub mod serve;

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
    /// Each query, planning to last row collected (its failed attempts included).
    pub queries: Vec<Duration>,
    /// Why each query that was run again failed before.
    pub retried: Vec<String>,
}

/// Runs `queries` in order over the `tables` under `root` (a folder every executor reads at
/// the same path) on `engine`; the rows of each, in the engine's order (sort them, or say
/// `ORDER BY`).
pub fn run(
    engine: &Engine,
    root: &str,
    tables: &[Table],
    queries: &[&str],
    patience: &Patience,
) -> Result<(Vec<Rows>, Timing), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error(format!("cannot start the engine's runtime: {e}")))?;
    let out = rt.block_on(run_async(engine, root, tables, queries, patience));
    // A standalone cluster's servers are tasks of this runtime: they stop with it.
    rt.shutdown_timeout(Duration::from_secs(5));
    out
}

async fn run_async(
    engine: &Engine,
    root: &str,
    tables: &[Table],
    queries: &[&str],
    patience: &Patience,
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
        ..Default::default()
    };
    let mut out = Vec::new();
    for q in queries {
        let t0 = Instant::now();
        let batches = collect(&ctx, q, engine, patience, &mut timing).await?;
        out.push(Rows::of(&batches)?);
        timing.queries.push(t0.elapsed());
    }
    Ok((out, timing))
}

/// How long a cluster is waited for, and how often a failed query is run again.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// A query not done in this time is given up (and run again while retries remain).
    pub query: Duration,
    /// Times a failed query is run again on a cluster (never on [`Engine::Local`]).
    pub retries: usize,
    /// The pause before running it again.
    pub pause: Duration,
}

impl Default for Patience {
    fn default() -> Patience {
        Patience {
            query: Duration::from_secs(600),
            retries: 2,
            pause: Duration::from_secs(2),
        }
    }
}

/// Runs `q` to its last row. On a cluster, a query that fails or does not finish is run
/// again: Ballista runs a lost executor's tasks again itself, but this client fetches the final
/// stage's output from the executor that holds it, and a job whose stage was rolled back after
/// an executor's loss was seen to never finish (Ballista 55). The queries only read.
async fn collect(
    ctx: &SessionContext,
    q: &str,
    engine: &Engine,
    patience: &Patience,
    timing: &mut Timing,
) -> Result<Vec<datafusion::arrow::record_batch::RecordBatch>, Error> {
    let retries = if *engine == Engine::Local {
        0
    } else {
        patience.retries
    };
    let mut attempt = 0;
    loop {
        let df = ctx
            .sql(q)
            .await
            .map_err(err("the query cannot be planned"))?;
        let why = match tokio::time::timeout(patience.query, df.collect()).await {
            Ok(Ok(batches)) => return Ok(batches),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer in {} s", patience.query.as_secs()),
        };
        if attempt == retries {
            let tries = if attempt > 0 {
                format!(" ({} attempts)", attempt + 1)
            } else {
                String::new()
            };
            return Err(Error(format!("the query failed{tries}: {why}")));
        }
        attempt += 1;
        timing.retried.push(why);
        tokio::time::sleep(patience.pause).await;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::parquet::arrow::ArrowWriter;
    use std::sync::Arc;

    /// `t/server=S/date=D/part-0.parquet` holding `n`.
    fn part(root: &std::path::Path, server: &str, date: &str, n: &[i64]) {
        let dir = root.join(format!("t/server={server}/date={date}"));
        std::fs::create_dir_all(&dir).unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(n.to_vec()))])
                .unwrap();
        let f = std::fs::File::create(dir.join("part-0.parquet")).unwrap();
        let mut w = ArrowWriter::try_new(f, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    #[test]
    fn hive_partitions_are_columns_and_each_query_gets_its_rows() {
        let root = tempfile::tempdir().unwrap();
        part(root.path(), "WEB01", "2025-03-10", &[1, 2, 3]);
        part(root.path(), "WEB01", "2025-03-11", &[10]);
        part(root.path(), "WEB02", "2025-03-10", &[100, 200]);
        let tables = [Table {
            name: "t",
            partitions: &["server", "date"],
        }];
        let (out, timing) = run(
            &Engine::Local,
            root.path().to_str().unwrap(),
            &tables,
            &[
                "SELECT server, date, SUM(n) AS n FROM t GROUP BY server, date ORDER BY server, date",
                "SELECT COUNT(DISTINCT server) AS servers FROM t",
            ],
            &Patience::default(),
        )
        .unwrap();
        assert_eq!(timing.queries.len(), 2);
        let s = |v: &str| Value::Str(v.into());
        assert_eq!(
            out[0].rows,
            [
                vec![s("WEB01"), s("2025-03-10"), Value::Int(6)],
                vec![s("WEB01"), s("2025-03-11"), Value::Int(10)],
                vec![s("WEB02"), s("2025-03-10"), Value::Int(300)],
            ]
        );
        assert_eq!(out[1].rows, [vec![Value::Int(2)]]);
    }

    #[test]
    fn a_missing_table_and_a_bad_query_are_errors_that_say_which() {
        let root = tempfile::tempdir().unwrap();
        let e = run(
            &Engine::Local,
            root.path().to_str().unwrap(),
            &[],
            &["SELECT * FROM nowhere"],
            &Patience::default(),
        )
        .unwrap_err();
        assert!(
            e.0.contains("cannot be planned") && e.0.contains("nowhere"),
            "{e}"
        );
        let e = run(
            &Engine::Ballista {
                scheduler: "not a url".into(),
            },
            "/",
            &[],
            &[],
            &Patience::default(),
        )
        .unwrap_err();
        assert!(e.0.contains("not a scheduler URL"), "{e}");
    }
}

//! The farm's reduce as SQL over the dataset's tables, on an engine (`w3triage-engine`:
//! DataFusion here, or a Ballista cluster). The queries are plain SQL with built-in functions
//! only, so stock Ballista executors run them; their small results become the cross-server
//! facts ([`FarmFacts`]) that the findings are computed from, by the same Rust code as
//! without an engine.
//!
//! What is read: per server and day, requests and 5xx from `minutes` (the one aggregate that
//! grows with the farm's traffic); each server's outages (`incidents`), suspects (`suspects`)
//! and module inventory (`inventory`), the judgments `ingest` made where the logs were.

use crate::analyze::{IncidentKind, SuspectKind};
use crate::farm::facts::{FarmFacts, Outage, PatternFact, ServerFacts, SuspectFact};
use std::collections::BTreeMap;
use std::path::Path;
pub use w3triage_engine::{Engine, Patience, Timing};
use w3triage_engine::{Rows, Table, Value};

/// The tables the reduce reads, with their partitions.
const TABLES: &[Table] = &[
    Table {
        name: "minutes",
        partitions: &["server", "date"],
    },
    Table {
        name: "incidents",
        partitions: &["server", "date"],
    },
    Table {
        name: "suspects",
        partitions: &["server"],
    },
    Table {
        name: "inventory",
        partitions: &["server"],
    },
];

/// Requests and 5xx per server and UTC day (the `date` partition is the minute's UTC day).
pub const DAYS: &str = "SELECT server, date, SUM(requests) AS requests, SUM(status_5xx) AS errors_5xx \
     FROM minutes GROUP BY server, date";
/// Every incident that is an outage (a dump taken by hand is not).
pub const OUTAGES: &str = "SELECT server, id, kind, ts, faulting_module, faulting_module_version, suspect_module \
     FROM incidents WHERE kind <> 'dump'";
/// Every suspect, with a request pattern's statistic.
pub const SUSPECTS: &str = "SELECT server, id, kind, name, incidents, in_flight, in_flight_total, lift, p_adjusted \
     FROM suspects";
/// Each server's module inventory, as (name, version) pairs.
pub const INVENTORY: &str = "SELECT DISTINCT server, name, version FROM inventory";

/// The facts of the dataset at `dir` for `servers` (in the report's order), computed by
/// `engine` with `patience`; and how long the engine took.
pub fn facts(
    dir: &Path,
    servers: &[String],
    engine: &Engine,
    patience: &Patience,
) -> Result<(FarmFacts, Timing), String> {
    let root = std::path::absolute(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let root = root.to_string_lossy();
    // A table no server has rows in has no folder: it is not registered, its query not run.
    let present: Vec<Table> = TABLES
        .iter()
        .copied()
        .filter(|t| has_parquet(&dir.join(t.name)))
        .collect();
    let queries: Vec<&str> = [DAYS, OUTAGES, SUSPECTS, INVENTORY]
        .into_iter()
        .zip(TABLES)
        .filter(|(_, t)| present.iter().any(|p| p.name == t.name))
        .map(|(q, _)| q)
        .collect();
    let (results, timing) =
        w3triage_engine::run(engine, &root, &present, &queries, patience).map_err(|e| e.0)?;
    let mut by_table: BTreeMap<&str, Rows> = BTreeMap::new();
    let mut results = results.into_iter();
    for t in &present {
        by_table.insert(t.name, results.next().unwrap_or_default());
    }
    let mut facts = Facts::new(servers);
    facts.days(by_table.get("minutes"))?;
    facts.outages(by_table.get("incidents"))?;
    facts.suspects(by_table.get("suspects"))?;
    facts.inventory(by_table.get("inventory"))?;
    let mut out = facts.done();
    out.normalize();
    Ok((out, timing))
}

/// Whether any `.parquet` file is below `dir`.
fn has_parquet(dir: &Path) -> bool {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .any(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "parquet"))
}

/// The facts being filled from the queries' rows.
struct Facts {
    servers: Vec<ServerFacts>,
    /// A partition value (the escaped segment, or the name when the engine decoded it) →
    /// the server's index.
    index: BTreeMap<String, usize>,
}

impl Facts {
    fn new(names: &[String]) -> Facts {
        let mut index = BTreeMap::new();
        for (i, n) in names.iter().enumerate() {
            index.insert(crate::farm::path_segment(n), i);
            index.insert(n.clone(), i);
        }
        Facts {
            servers: names
                .iter()
                .map(|n| ServerFacts {
                    name: n.clone(),
                    ..Default::default()
                })
                .collect(),
            index,
        }
    }

    fn done(self) -> FarmFacts {
        FarmFacts {
            servers: self.servers,
        }
    }

    /// Each row's server's facts and a reader of the row's cells; rows of a server the
    /// manifest does not list (a partition left by hand) are refused.
    fn each(
        &mut self,
        rows: Option<&Rows>,
        mut f: impl FnMut(&mut ServerFacts, &Cells<'_>) -> Result<(), String>,
    ) -> Result<(), String> {
        let Some(rows) = rows else {
            return Ok(());
        };
        for row in &rows.rows {
            let c = Cells { rows, row };
            let server = c.text("server")?.unwrap_or_default();
            let i = *self.index.get(&server).ok_or_else(|| {
                format!("the tables hold a server the manifest does not list: {server:?}")
            })?;
            f(&mut self.servers[i], &c)?;
        }
        Ok(())
    }

    fn days(&mut self, rows: Option<&Rows>) -> Result<(), String> {
        self.each(rows, |s, c| {
            let day = c.text("date")?.unwrap_or_default();
            let d = s.days.entry(day).or_default();
            d.0 += c.count("requests")?;
            d.1 += c.count("errors_5xx")?;
            Ok(())
        })
    }

    fn outages(&mut self, rows: Option<&Rows>) -> Result<(), String> {
        self.each(rows, |s, c| {
            let kind = c.text("kind")?.unwrap_or_default();
            s.outages.push(Outage {
                id: c.text("id")?.unwrap_or_default(),
                kind: IncidentKind::from_name(&kind)
                    .ok_or_else(|| format!("unknown incident kind {kind:?}"))?,
                ts: c.int("ts")?,
                faulting_module: c.text("faulting_module")?,
                faulting_module_version: c.text("faulting_module_version")?,
                suspect_module: c.text("suspect_module")?,
            });
            Ok(())
        })
    }

    fn suspects(&mut self, rows: Option<&Rows>) -> Result<(), String> {
        self.each(rows, |s, c| {
            let kind = c.text("kind")?.unwrap_or_default();
            let pattern = match (c.int("in_flight")?, c.int("in_flight_total")?) {
                (Some(a), Some(b)) => Some(PatternFact {
                    in_flight: a as u64,
                    in_flight_total: b as u64,
                    lift: c.float("lift")?.unwrap_or(f64::NAN),
                    p_adjusted: c.float("p_adjusted")?.unwrap_or(f64::NAN),
                }),
                _ => None,
            };
            let incidents = c.text("incidents")?.unwrap_or_default();
            s.suspects.push(SuspectFact {
                id: c.text("id")?.unwrap_or_default(),
                kind: SuspectKind::from_name(&kind)
                    .ok_or_else(|| format!("unknown suspect kind {kind:?}"))?,
                name: c.text("name")?.unwrap_or_default(),
                incidents: incidents
                    .split(',')
                    .filter(|i| !i.is_empty())
                    .map(str::to_owned)
                    .collect(),
                pattern,
            });
            Ok(())
        })
    }

    fn inventory(&mut self, rows: Option<&Rows>) -> Result<(), String> {
        self.each(rows, |s, c| {
            s.modules
                .push((c.text("name")?.unwrap_or_default(), c.text("version")?));
            Ok(())
        })
    }
}

/// One row's cells by column name.
struct Cells<'a> {
    rows: &'a Rows,
    row: &'a [Value],
}

impl Cells<'_> {
    fn get(&self, col: &str) -> Result<&Value, String> {
        self.rows
            .index(col)
            .and_then(|i| self.row.get(i))
            .ok_or_else(|| format!("the engine returned no column {col}"))
    }

    fn text(&self, col: &str) -> Result<Option<String>, String> {
        match self.get(col)? {
            Value::Null => Ok(None),
            Value::Str(s) => Ok(Some(s.clone())),
            v => Err(format!("column {col}: text expected, got {v:?}")),
        }
    }

    fn int(&self, col: &str) -> Result<Option<i64>, String> {
        match self.get(col)? {
            Value::Null => Ok(None),
            Value::Int(n) => Ok(Some(*n)),
            v => Err(format!("column {col}: an integer expected, got {v:?}")),
        }
    }

    fn count(&self, col: &str) -> Result<u64, String> {
        Ok(self.int(col)?.unwrap_or(0).max(0) as u64)
    }

    fn float(&self, col: &str) -> Result<Option<f64>, String> {
        match self.get(col)? {
            Value::Null => Ok(None),
            Value::Float(x) => Ok(Some(*x)),
            Value::Int(n) => Ok(Some(*n as f64)),
            v => Err(format!("column {col}: a number expected, got {v:?}")),
        }
    }
}

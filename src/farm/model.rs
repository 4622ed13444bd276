//! What `farm.json` is (`docs/farm-schema.md`) and what the farm report renders.

use super::facts::{FarmFacts, ServerFacts};
use crate::analyze::{Analysis, Incident, IncidentKind, ModuleEntry, Suspect, ToolInfo};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of `farm.json`'s schema.
pub const FARM_SCHEMA_VERSION: &str = "1.0";

/// A farm: every server's summary and what is seen across them.
#[derive(Debug, Clone, Serialize)]
pub struct FarmReport {
    /// [`FARM_SCHEMA_VERSION`].
    pub schema_version: &'static str,
    /// The program that wrote it.
    pub tool: ToolInfo,
    /// The UTC days any server has requests or incidents on, in order: the heat map's columns.
    pub days: Vec<String>,
    /// The servers, by name.
    pub servers: Vec<ServerSummary>,
    /// What holds across servers, strongest first (`F1`, …).
    pub findings: Vec<Finding>,
    /// Files in groups that held no evidence at all (a README beside the servers' folders):
    /// listed, not taken for servers.
    pub other_files: Vec<OtherFile>,
}

/// A file that is not any server's evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OtherFile {
    /// Where it is.
    pub path: String,
    /// What it was taken for.
    pub kind: crate::tables::ArtifactKind,
    /// What became of it.
    pub status: crate::tables::FileStatus,
    /// Why, when it was not read.
    pub reason: Option<String>,
}

impl OtherFile {
    /// The entry of a file row.
    pub fn of(f: &crate::tables::FileRow) -> OtherFile {
        OtherFile {
            path: f.path.display().to_string(),
            kind: f.kind,
            status: f.status,
            reason: f.reason.clone(),
        }
    }
}

/// One server: its incidents and suspects exactly as `analyze` reports them for its folder,
/// its module inventory and its days.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerSummary {
    /// The server, as its folders name it.
    pub name: String,
    /// The names the evidence gives it (events' `Computer`, `s-computername`), when they differ.
    pub identities: Vec<String>,
    /// Files read, requests, 5xx responses, issues.
    pub files: usize,
    /// W3C requests.
    pub requests: u64,
    /// Of which 5xx.
    pub errors_5xx: u64,
    /// Issues raised while reading.
    pub issues: usize,
    /// The report's headline for this server.
    pub headline: String,
    /// `analyze`'s incidents.
    pub incidents: Vec<Incident>,
    /// `analyze`'s suspects.
    pub suspects: Vec<Suspect>,
    /// The modules its dumps list (name, version), for the inventory comparison.
    pub modules: Vec<ModuleEntry>,
    /// Per day of [`FarmReport::days`].
    pub days: Vec<DayCell>,
    /// Requests and 5xx per day, before alignment to the farm's days (kept in the dataset's
    /// summaries, not in `farm.json`).
    #[serde(skip_serializing, default)]
    pub day_counts: BTreeMap<String, (u64, u64)>,
}

/// One server on one day.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DayCell {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    /// W3C requests.
    pub requests: u64,
    /// Of which 5xx.
    pub errors_5xx: u64,
    /// Incidents that began that day (manual dumps not counted).
    pub incidents: usize,
}

named_enum! {
    /// What a cross-server finding says.
    pub enum FindingKind {
        /// One module faults in crashes on several servers.
        SharedFaultingModule = "shared_faulting_module",
        /// A module or version loaded where the workers crash and not where they do not.
        InventoryDifference = "inventory_difference",
        /// The same request pattern was in flight at crashes on several servers.
        SharedRequestPattern = "shared_request_pattern",
        /// Outages on many servers at the same time: a shared cause (a deployment, a
        /// dependency, the balancer).
        SimultaneousOutage = "simultaneous_outage",
        /// A server whose 5xx rate stands far above the rest of the farm's.
        OutlierServer = "outlier_server",
    }
}

/// What holds across servers, with the statistic that supports it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `F1`, `F2`, … in the report's order.
    pub id: String,
    /// What it says.
    pub kind: FindingKind,
    /// One line: what, where.
    pub title: String,
    /// The servers it is about.
    pub servers: Vec<String>,
    /// The servers it is compared with (healthy servers, the rest of the farm).
    pub compared_with: Vec<String>,
    /// The statistic and why it matters, line by line.
    pub detail: Vec<String>,
    /// `SERVER Ix` incidents it rests on.
    pub incidents: Vec<String>,
    /// The evidence is thin (few servers): said plainly.
    pub thin: bool,
    /// What to do next.
    pub action: String,
}

impl ServerSummary {
    /// The summary of one server's analysis.
    pub fn of(
        name: String,
        a: &Analysis,
        day_counts: BTreeMap<String, (u64, u64)>,
    ) -> ServerSummary {
        let mut identities: Vec<String> = a
            .inputs
            .servers
            .iter()
            .filter(|s| !s.eq_ignore_ascii_case(&name))
            .cloned()
            .collect();
        identities.dedup();
        ServerSummary {
            identities,
            files: a.inputs.files,
            requests: day_counts.values().map(|c| c.0).sum(),
            errors_5xx: day_counts.values().map(|c| c.1).sum(),
            issues: a.inputs.issues,
            headline: a.summary.headline.clone(),
            incidents: a.incidents.clone(),
            suspects: a.suspects.clone(),
            modules: a.modules.clone(),
            days: Vec::new(),
            day_counts,
            name,
        }
    }

    /// A server with nothing in it (for a group that held no evidence).
    pub fn empty() -> ServerSummary {
        ServerSummary {
            name: String::new(),
            identities: Vec::new(),
            files: 0,
            requests: 0,
            errors_5xx: 0,
            issues: 0,
            headline: String::new(),
            incidents: Vec::new(),
            suspects: Vec::new(),
            modules: Vec::new(),
            days: Vec::new(),
            day_counts: BTreeMap::new(),
        }
    }

    /// Incidents that are outages (a manual dump alone is not).
    pub fn outages(&self) -> impl Iterator<Item = &Incident> {
        self.incidents
            .iter()
            .filter(|i| i.kind != IncidentKind::Dump)
    }
}

impl FarmReport {
    /// The report of these servers, the cross-server facts taken from their summaries.
    pub fn assemble(servers: Vec<ServerSummary>, other_files: Vec<OtherFile>) -> FarmReport {
        let facts = FarmFacts::of(&servers);
        FarmReport::assemble_with(servers, other_files, &facts)
    }

    /// The report of these servers from `facts` (the reduce's results, in the servers' order):
    /// each server's totals and days, the farm's days and the findings come from them.
    pub fn assemble_with(
        mut servers: Vec<ServerSummary>,
        other_files: Vec<OtherFile>,
        facts: &FarmFacts,
    ) -> FarmReport {
        let mut days: Vec<String> = facts
            .servers
            .iter()
            .flat_map(|s| {
                let inc = s.outages.iter().filter_map(|i| i.ts).map(day_of);
                s.days.keys().cloned().chain(inc.collect::<Vec<_>>())
            })
            .collect();
        days.sort();
        days.dedup();
        let none = ServerFacts::default();
        for s in &mut servers {
            let f = facts.server(&s.name).unwrap_or(&none);
            let mut per_day: BTreeMap<String, usize> = BTreeMap::new();
            for t in f.outages.iter().filter_map(|i| i.ts) {
                *per_day.entry(day_of(t)).or_default() += 1;
            }
            s.requests = f.requests();
            s.errors_5xx = f.errors_5xx();
            s.day_counts.clone_from(&f.days);
            s.days = days
                .iter()
                .map(|d| {
                    let (requests, errors_5xx) = f.days.get(d).copied().unwrap_or_default();
                    DayCell {
                        date: d.clone(),
                        requests,
                        errors_5xx,
                        incidents: per_day.get(d).copied().unwrap_or(0),
                    }
                })
                .collect();
        }
        let findings = super::findings::find(facts);
        FarmReport {
            schema_version: FARM_SCHEMA_VERSION,
            tool: ToolInfo::this(),
            days,
            servers,
            findings,
            other_files,
        }
    }
}

/// The UTC day of `ms`, `YYYY-MM-DD`.
pub fn day_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| "?".into(), |t| t.format("%Y-%m-%d").to_string())
}

//! What the cross-server rules ([`super::findings`]) read: per server, its requests and 5xx per
//! day, its outages, its suspects and the modules its dumps list. These are the reduce's
//! small results. They come either from the servers' summaries (in memory, or the dataset's
//! `_summaries/`) or from SQL over the dataset's tables on an engine (`super::reduce`); both
//! are put in one order ([`FarmFacts::normalize`]), so the rules see the same facts whatever
//! produced them.

use super::model::ServerSummary;
use crate::analyze::{IncidentKind, SuspectKind};
use std::collections::BTreeMap;

/// Every server's facts, in the report's server order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FarmFacts {
    /// The servers.
    pub servers: Vec<ServerFacts>,
}

/// One server's facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerFacts {
    /// Its name.
    pub name: String,
    /// Requests and 5xx responses per UTC day (`YYYY-MM-DD`).
    pub days: BTreeMap<String, (u64, u64)>,
    /// Its incidents that are outages (not a manual dump), in id order.
    pub outages: Vec<Outage>,
    /// Its suspects, in id order.
    pub suspects: Vec<SuspectFact>,
    /// The (name, version) of each module its dumps list, sorted.
    pub modules: Vec<(String, Option<String>)>,
}

/// An outage.
#[derive(Debug, Clone, PartialEq)]
pub struct Outage {
    /// `I1`, … in the server's own report.
    pub id: String,
    /// What kind.
    pub kind: IncidentKind,
    /// When it began, ms UTC.
    pub ts: Option<i64>,
    /// The module the crash faulted in.
    pub faulting_module: Option<String>,
    /// Its version.
    pub faulting_module_version: Option<String>,
    /// The module the verdict names, when not the faulting one.
    pub suspect_module: Option<String>,
}

/// A suspect.
#[derive(Debug, Clone, PartialEq)]
pub struct SuspectFact {
    /// `S1`, ….
    pub id: String,
    /// What kind.
    pub kind: SuspectKind,
    /// Its name (a module, a request pattern).
    pub name: String,
    /// The incidents it is a suspect of.
    pub incidents: Vec<String>,
    /// A request pattern's statistic.
    pub pattern: Option<PatternFact>,
}

/// A request pattern's statistic at its incidents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PatternFact {
    /// Requests of the pattern in flight.
    pub in_flight: u64,
    /// Requests in flight.
    pub in_flight_total: u64,
    /// How many times more often than in the baseline.
    pub lift: f64,
    /// The adjusted p-value.
    pub p_adjusted: f64,
}

impl ServerFacts {
    /// Requests, all days.
    pub fn requests(&self) -> u64 {
        self.days.values().map(|d| d.0).sum()
    }

    /// 5xx responses, all days.
    pub fn errors_5xx(&self) -> u64 {
        self.days.values().map(|d| d.1).sum()
    }

    /// A server's facts from its summary.
    pub fn of(s: &ServerSummary) -> ServerFacts {
        ServerFacts {
            name: s.name.clone(),
            days: s.day_counts.clone(),
            outages: s
                .outages()
                .map(|i| Outage {
                    id: i.id.clone(),
                    kind: i.kind,
                    ts: i.time.map(|t| t.0),
                    faulting_module: i.faulting_module.clone(),
                    faulting_module_version: i.faulting_module_version.clone(),
                    suspect_module: i.suspect_module.clone(),
                })
                .collect(),
            suspects: s
                .suspects
                .iter()
                .map(|x| SuspectFact {
                    id: x.id.clone(),
                    kind: x.kind,
                    name: x.name.clone(),
                    incidents: x.incidents.clone(),
                    pattern: x.pattern.as_ref().map(|p| PatternFact {
                        in_flight: p.in_flight,
                        in_flight_total: p.in_flight_total,
                        lift: p.lift,
                        p_adjusted: p.p_adjusted,
                    }),
                })
                .collect(),
            modules: s
                .modules
                .iter()
                .map(|m| (m.name.clone(), m.version.clone()))
                .collect(),
        }
    }
}

/// `I12` → ("I", 12): ids in the order the server's report numbers them.
fn id_order(id: &str) -> (&str, u64, &str) {
    let digits = id.trim_start_matches(|c: char| !c.is_ascii_digit());
    let prefix = &id[..id.len() - digits.len()];
    (prefix, digits.parse().unwrap_or(u64::MAX), id)
}

impl FarmFacts {
    /// The facts of these summaries.
    pub fn of(servers: &[ServerSummary]) -> FarmFacts {
        let mut f = FarmFacts {
            servers: servers.iter().map(ServerFacts::of).collect(),
        };
        f.normalize();
        f
    }

    /// Puts every list in one order (whatever order an engine returned rows in): outages and
    /// suspects by id, modules by name and version.
    pub fn normalize(&mut self) {
        for s in &mut self.servers {
            s.outages
                .sort_by(|a, b| id_order(&a.id).cmp(&id_order(&b.id)));
            s.suspects
                .sort_by(|a, b| id_order(&a.id).cmp(&id_order(&b.id)));
            s.modules.sort();
            s.modules.dedup();
        }
    }

    /// The facts of `name`.
    pub fn server(&self, name: &str) -> Option<&ServerFacts> {
        self.servers.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_as_numbered_not_as_text() {
        let mut ids = vec!["I10", "I2", "I1", "S3"];
        ids.sort_by_key(|i| id_order(i));
        assert_eq!(ids, ["I1", "I2", "I10", "S3"]);
    }
}

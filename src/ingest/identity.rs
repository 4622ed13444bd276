//! One identity per machine. A server's name comes from several places that rarely agree: the
//! folder an admin put the files in (`outage-2024-01-11/`), the events' `Computer`
//! (`PORTAL-IIS01.dmz.local`), a W3C log's `s-computername` (`PORTAL-IIS01`). Left as found, one
//! machine becomes several servers, and its crash events no longer meet its dumps and logs.
//!
//! After ingest, [`resolve`] joins the names: a host name is matched case-insensitively on its
//! first DNS label (`HOST` and `HOST.domain` are one machine); a folder whose files name exactly
//! one machine is that machine, whatever the folder is called (a folder of dumps names the
//! machine whose crash events report the same process id at the same time); folders that name
//! the same machine are merged. A folder whose files name several machines is left as it is (its files
//! that name no machine keep the folder's name) and says so. Every server value in the tables
//! is then rewritten to the machine's name, and `Tables::servers` lists each machine with the
//! evidence that named it.
//!
//! Shared server addresses (`s-ip`) are not used: cloud images give many machines the same
//! private address (every first VM of an Azure network is `10.0.0.4`).
//!
//! Source keys (`files.key`) stay as discover made them, from the folder: a key must not change
//! with which other files a run happens to be given.

use crate::tables::{ArtifactKind, CrashRow, EvidenceSource, FileRow, ServerIdentity, Tables};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How a host name is matched: lower case, the first DNS label (`WEB01.contoso.local` →
/// `web01`); an IP address whole.
pub fn host_key(name: &str) -> String {
    short_name(name).to_ascii_lowercase()
}

/// The host name as spelled, without its domain (an IP address whole).
fn short_name(name: &str) -> &str {
    let n = name.trim().trim_end_matches('.');
    if n.parse::<std::net::IpAddr>().is_ok() {
        n
    } else {
        n.split('.').next().unwrap_or(n)
    }
}

/// Resolves the machine of every row (see the module docs); `forced` (`--server NAME`) names
/// the one machine everything is from.
pub fn resolve(t: &mut Tables, forced: Option<&str>) -> Names {
    let mut names = Names::learn(&t.files, &t.crashes, forced);
    let rename = |v: &str| names.rename(v);
    t.requests.server.rename(rename);
    t.httperr.server.rename(rename);
    for c in &mut t.crashes {
        rename_opt(&mut c.server, &rename);
    }
    for f in &mut t.files {
        rename_opt(&mut f.server, &rename);
    }
    for s in &mut t.counters.series {
        rename_opt(&mut s.server, &rename);
    }
    t.servers = std::mem::take(&mut names.identities);
    names
}

fn rename_opt(v: &mut Option<String>, rename: &impl Fn(&str) -> Option<String>) {
    if let Some(n) = v.as_deref().and_then(rename) {
        *v = Some(n);
    }
}

/// The names found, joined into machines.
/// The machines' names, by folder name and host key (see the module docs).
pub struct Names {
    /// Folder names (lower case) and host keys → the machine's name.
    by_key: HashMap<String, String>,
    identities: Vec<ServerIdentity>,
}

/// What one node (a folder or a host) contributes: its spellings, by where they were seen.
#[derive(Default)]
struct Seen {
    computername: BTreeSet<String>,
    computer: BTreeSet<String>,
    /// Machines named by counter paths (`\\WEB01\…`).
    counters: BTreeSet<String>,
    folder: BTreeSet<String>,
}

impl Names {
    fn learn(files: &[FileRow], crashes: &[CrashRow], forced: Option<&str>) -> Names {
        let mut g = Graph::default();
        // Folder → the machines its files name.
        let mut named: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in files {
            let folder = f.server.as_deref().filter(|s| !s.trim().is_empty());
            let host = f.host.as_deref().filter(|s| !s.trim().is_empty());
            if let Some(d) = folder {
                let n = g.node(format!("d:{}", d.to_ascii_lowercase()));
                g.seen[n].folder.insert(d.to_string());
            }
            if let Some(h) = host {
                let n = g.node(format!("h:{}", host_key(h)));
                let seen = &mut g.seen[n];
                match f.kind {
                    ArtifactKind::W3c => seen.computername.insert(h.to_string()),
                    ArtifactKind::PerfCsv => seen.counters.insert(h.to_string()),
                    _ => seen.computer.insert(h.to_string()),
                };
                if let Some(d) = folder {
                    let set = named.entry(d.to_ascii_lowercase()).or_default();
                    set.insert(host_key(h));
                }
            }
        }
        for (d, h) in dumps_by_pid(files, crashes) {
            named.entry(d.to_ascii_lowercase()).or_default().insert(h);
        }
        let mut ambiguous: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (d, hosts) in &named {
            if let [h] = hosts.iter().collect::<Vec<_>>().as_slice() {
                g.join(&format!("d:{d}"), &format!("h:{h}"));
            } else {
                ambiguous.insert(d.clone(), hosts.clone());
            }
        }
        // A folder named as a machine is that machine (`WEB01/` and `s-computername WEB01`).
        let keys: Vec<String> = g.index.keys().cloned().collect();
        for k in keys.iter().filter(|k| k.starts_with("d:")) {
            let h = format!("h:{}", host_key(&k[2..]));
            if g.index.contains_key(&h) && !ambiguous.contains_key(&k[2..]) {
                g.join(k, &h);
            }
        }
        g.names(forced, &ambiguous)
    }

    /// The machine's name for a server value of the tables (a folder name or a host name).
    /// The name that replaces `v` (`None`: it stays).
    pub fn rename(&self, v: &str) -> Option<String> {
        self.of(v).filter(|n| n != v)
    }

    /// The machine a folder or host name `v` is (`None`: not known).
    pub fn of(&self, v: &str) -> Option<String> {
        let v = v.trim();
        self.by_key
            .get(&format!("d:{}", v.to_ascii_lowercase()))
            .or_else(|| self.by_key.get(&format!("h:{}", host_key(v))))
            .cloned()
    }
}

/// How far apart a dump and the event of the same process may be.
const DUMP_EVENT_MS: i64 = 10 * 60_000;

/// A dump's folder and the machine whose events report the same process (pid) within
/// [`DUMP_EVENT_MS`]: a dump carries no machine name, its crash events do.
fn dumps_by_pid(files: &[FileRow], crashes: &[CrashRow]) -> Vec<(String, String)> {
    let host_of = |file: u32| {
        files
            .get(file as usize)
            .filter(|f| f.id == file)
            .and_then(|f| f.host.as_deref())
            .map(host_key)
    };
    let events: Vec<(u32, i64, String)> = crashes
        .iter()
        .filter(|c| c.source == Some(EvidenceSource::Event))
        .filter_map(|c| Some((c.pid?, c.ts?, host_of(c.file)?)))
        .collect();
    let mut out = Vec::new();
    for d in crashes
        .iter()
        .filter(|c| c.source == Some(EvidenceSource::Dump))
    {
        let (Some(folder), Some(pid), Some(ts)) = (d.server.as_deref(), d.pid, d.ts) else {
            continue;
        };
        let hosts: BTreeSet<&str> = events
            .iter()
            .filter(|(p, t, _)| *p == pid && (t - ts).abs() <= DUMP_EVENT_MS)
            .map(|(_, _, h)| h.as_str())
            .collect();
        if let [h] = hosts.into_iter().collect::<Vec<_>>().as_slice() {
            out.push((folder.to_string(), h.to_string()));
        }
    }
    out
}

/// Folders and hosts, joined (union-find).
#[derive(Default)]
struct Graph {
    index: BTreeMap<String, usize>,
    parent: Vec<usize>,
    seen: Vec<Seen>,
}

impl Graph {
    fn node(&mut self, key: String) -> usize {
        if let Some(&n) = self.index.get(&key) {
            return n;
        }
        let n = self.parent.len();
        self.parent.push(n);
        self.seen.push(Seen::default());
        self.index.insert(key, n);
        n
    }
    fn root(&mut self, mut n: usize) -> usize {
        while self.parent[n] != n {
            self.parent[n] = self.parent[self.parent[n]];
            n = self.parent[n];
        }
        n
    }
    fn join(&mut self, a: &str, b: &str) {
        let (Some(&a), Some(&b)) = (self.index.get(a), self.index.get(b)) else {
            return;
        };
        let (ra, rb) = (self.root(a), self.root(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }

    /// Each machine's name and evidence. The name is the `s-computername` as logged, else the
    /// events' `Computer` without its domain, else the folder's name.
    fn names(
        mut self,
        forced: Option<&str>,
        ambiguous: &BTreeMap<String, BTreeSet<String>>,
    ) -> Names {
        let mut groups: BTreeMap<usize, Seen> = BTreeMap::new();
        let nodes: Vec<(String, usize)> = self.index.iter().map(|(k, &n)| (k.clone(), n)).collect();
        let mut root_of = HashMap::new();
        for (k, n) in &nodes {
            let r = self.root(*n);
            root_of.insert(k.clone(), r);
            let s = std::mem::take(&mut self.seen[*n]);
            let g = groups.entry(r).or_default();
            g.computername.extend(s.computername);
            g.computer.extend(s.computer);
            g.counters.extend(s.counters);
            g.folder.extend(s.folder);
        }
        let mut name_of_root: HashMap<usize, String> = HashMap::new();
        let mut identities = Vec::new();
        for (r, s) in &groups {
            let name = match forced {
                Some(f) => f.to_string(),
                None => s
                    .computername
                    .iter()
                    .next()
                    .map(|c| short_name(c).to_string())
                    .or_else(|| s.computer.iter().next().map(|c| short_name(c).to_string()))
                    .or_else(|| s.counters.iter().next().map(|c| short_name(c).to_string()))
                    .or_else(|| s.folder.iter().next().cloned())
                    .unwrap_or_default(),
            };
            name_of_root.insert(*r, name.clone());
            identities.push(ServerIdentity {
                name,
                evidence: evidence(s, forced, ambiguous),
            });
        }
        identities.sort_by(|a, b| a.name.cmp(&b.name));
        identities.dedup_by(|b, a| {
            // Under `--server` every group has the one name: one identity, all the evidence.
            a.name == b.name && {
                a.evidence.append(&mut b.evidence);
                a.evidence.sort();
                a.evidence.dedup();
                true
            }
        });
        let by_key = root_of
            .into_iter()
            .map(|(k, r)| (k, name_of_root[&r].clone()))
            .collect();
        Names { by_key, identities }
    }
}

/// What named a machine, at most a few values of each kind.
fn evidence(
    s: &Seen,
    forced: Option<&str>,
    ambiguous: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    const SHOWN: usize = 5;
    let mut e = Vec::new();
    if forced.is_some() {
        e.push("--server".to_string());
    }
    let mut list = |what: &str, set: &BTreeSet<String>| {
        for v in set.iter().take(SHOWN) {
            e.push(format!("{what} {v}"));
        }
        if set.len() > SHOWN {
            e.push(format!("{} more {what} values", set.len() - SHOWN));
        }
    };
    list("s-computername", &s.computername);
    list("events Computer", &s.computer);
    list("counter paths", &s.counters);
    list("folder", &s.folder);
    for f in &s.folder {
        if let Some(hosts) = ambiguous.get(&f.to_ascii_lowercase()) {
            let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
            e.push(format!(
                "folder {f} holds evidence from {} machines ({}): its files that name none keep the folder's name",
                hosts.len(),
                hosts.join(", ")
            ));
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::{FileStatus, LineCounts};

    fn file(kind: ArtifactKind, folder: Option<&str>, host: Option<&str>) -> FileRow {
        FileRow {
            id: 0,
            key: String::new(),
            fingerprint: None,
            path: "x".into(),
            kind,
            status: FileStatus::Parsed,
            reason: None,
            bytes: 0,
            server: folder.map(str::to_string),
            host: host.map(str::to_string),
            site: None,
            counts: LineCounts::default(),
            rows: 0,
            elapsed_ms: 0.0,
        }
    }

    #[test]
    fn one_machine_whatever_its_folder_is_called() {
        let files = [
            file(
                ArtifactKind::EventXml,
                Some("outage-2024-01-11"),
                Some("PORTAL-IIS01.dmz.local"),
            ),
            file(
                ArtifactKind::W3c,
                Some("outage-2024-01-11"),
                Some("PORTAL-IIS01"),
            ),
            file(ArtifactKind::HttpErr, Some("outage-2024-01-11"), None),
            file(ArtifactKind::Minidump, Some("outage-2024-01-11"), None),
            // Another folder holding the same machine's later logs: merged.
            file(ArtifactKind::W3c, Some("portal-iis01"), None),
            // Another machine.
            file(ArtifactKind::W3c, Some("WEB02"), None),
        ];
        let n = Names::learn(&files, &[], None);
        for v in [
            "outage-2024-01-11",
            "PORTAL-IIS01.dmz.local",
            "portal-iis01",
            "Portal-IIS01",
        ] {
            assert_eq!(n.of(v).as_deref(), Some("PORTAL-IIS01"), "{v}");
        }
        assert_eq!(n.of("web02").as_deref(), Some("WEB02"));
        assert_eq!(n.identities.len(), 2);
        assert_eq!(
            n.identities[0].evidence,
            [
                "s-computername PORTAL-IIS01",
                "events Computer PORTAL-IIS01.dmz.local",
                "folder outage-2024-01-11",
                "folder portal-iis01",
            ]
        );
    }

    #[test]
    fn a_folder_of_several_machines_is_not_merged_and_says_so() {
        let files = [
            file(
                ArtifactKind::EventXml,
                Some("events"),
                Some("WEB01.contoso.local"),
            ),
            file(
                ArtifactKind::EventXml,
                Some("events"),
                Some("WEB02.contoso.local"),
            ),
            file(ArtifactKind::Minidump, Some("events"), None),
        ];
        let n = Names::learn(&files, &[], None);
        assert_eq!(n.of("WEB01.contoso.local").as_deref(), Some("WEB01"));
        assert_eq!(n.of("web02").as_deref(), Some("WEB02"));
        assert_eq!(n.of("events").as_deref(), Some("events"));
        let folder = n.identities.iter().find(|i| i.name == "events").unwrap();
        assert!(
            folder.evidence[1].contains("2 machines (web01, web02)"),
            "{:?}",
            folder.evidence
        );
    }

    #[test]
    fn forced_names_everything_one_machine() {
        let files = [
            file(ArtifactKind::EventXml, Some("a"), Some("X1.corp")),
            file(ArtifactKind::W3c, Some("b"), None),
        ];
        let n = Names::learn(&files, &[], Some("WEB09"));
        assert_eq!(n.of("a").as_deref(), Some("WEB09"));
        assert_eq!(n.of("b").as_deref(), Some("WEB09"));
        assert_eq!(n.of("x1").as_deref(), Some("WEB09"));
        assert_eq!(n.identities.len(), 1);
        assert_eq!(n.identities[0].evidence[0], "--server");
    }

    #[test]
    fn a_dump_folder_is_the_machine_whose_events_report_its_process() {
        let mut files = vec![
            file(
                ArtifactKind::EventXml,
                Some("evt"),
                Some("WEB01.contoso.local"),
            ),
            file(ArtifactKind::Minidump, Some("procdump-out"), None),
            file(ArtifactKind::Minidump, Some("other-dumps"), None),
        ];
        for (i, f) in files.iter_mut().enumerate() {
            f.id = i as u32;
        }
        let row = |file: u32, source, server: &str, pid: u32, ts: i64| CrashRow {
            file,
            source: Some(source),
            server: Some(server.into()),
            pid: Some(pid),
            ts: Some(ts),
            ..Default::default()
        };
        let crashes = [
            row(
                0,
                EvidenceSource::Event,
                "WEB01.contoso.local",
                4100,
                1_000_000,
            ),
            row(
                1,
                EvidenceSource::Dump,
                "procdump-out",
                4100,
                1_000_000 - 90_000,
            ),
            // Same pid, but an hour away: another process that reused the id.
            row(
                2,
                EvidenceSource::Dump,
                "other-dumps",
                4100,
                1_000_000 + 3_600_000,
            ),
        ];
        let n = Names::learn(&files, &crashes, None);
        assert_eq!(n.of("procdump-out").as_deref(), Some("WEB01"));
        assert_eq!(n.of("other-dumps").as_deref(), Some("other-dumps"));
    }

    #[test]
    fn host_keys() {
        assert_eq!(host_key("WEB01.contoso.local."), "web01");
        assert_eq!(host_key("10.0.0.5"), "10.0.0.5");
        assert_eq!(host_key("fe80::1"), "fe80::1");
    }
}

//! The farm report: findings across servers, the fleet's heat map and one line per server, as a
//! [`Doc`] for the terminal, Markdown and HTML writers; `farm.json` is the model itself.

use super::Format;
use super::doc::{Align, Block, Doc, Heat, HeatCell, Row, RowMark, Span, Style, Table, Text};
use crate::farm::{FarmReport, Finding, ServerSummary};
use std::path::{Path, PathBuf};

/// The farm report as a document.
pub fn build(r: &FarmReport) -> Doc<'static> {
    let mut b = vec![Block::Heading {
        level: 1,
        anchor: None,
        text: "w3triage farm report".into(),
    }];
    b.push(Block::Para(
        Style::Lead {
            ok: outages(r) == 0,
        },
        lead(r).into(),
    ));
    b.push(Block::Heading {
        level: 2,
        anchor: Some("findings"),
        text: "ACROSS SERVERS".into(),
    });
    if r.findings.is_empty() {
        b.push(Block::Para(
            Style::Normal,
            "No finding holds across servers: each server's incidents are its own.".into(),
        ));
    }
    b.extend(r.findings.iter().map(finding));
    b.push(Block::Heading {
        level: 2,
        anchor: Some("fleet"),
        text: "FLEET".into(),
    });
    b.push(Block::Heat(heat(r)));
    b.push(Block::Heading {
        level: 2,
        anchor: Some("servers"),
        text: "SERVERS".into(),
    });
    b.push(Block::Sortable(servers(r)));
    if !r.other_files.is_empty() {
        let list = r
            .other_files
            .iter()
            .map(|f| {
                let why = f.reason.as_deref().unwrap_or("no evidence in it");
                Text(vec![Span::File(f.path.clone())]).and(format!(" ({}): {why}", f.kind.name()))
            })
            .collect();
        b.push(Block::Labeled(
            "Not any server's evidence (listed, not read as a server):".into(),
            vec![Block::List(Style::Muted, list)],
        ));
    }
    b.push(Block::Footer(Text::plain(format!(
        "{} {}, farm schema {}; each server's own report (with --out): servers/<server>/report.html",
        r.tool.name, r.tool.version, r.schema_version
    ))));
    Doc { blocks: b }
}

fn outages(r: &FarmReport) -> usize {
    r.servers.iter().map(|s| s.outages().count()).sum()
}

fn lead(r: &FarmReport) -> String {
    let days = match (r.days.first(), r.days.last()) {
        (Some(a), Some(b)) if a != b => format!("{} days ({a} .. {b})", r.days.len()),
        (Some(a), _) => format!("1 day ({a})"),
        _ => "no dated evidence".into(),
    };
    let hit = r
        .servers
        .iter()
        .filter(|s| s.outages().next().is_some())
        .count();
    format!(
        "{} servers, {days}: {} outages on {hit} servers; {} findings across servers.",
        r.servers.len(),
        outages(r),
        r.findings.len()
    )
}

fn finding(f: &Finding) -> Block<'static> {
    let mut title = Text::plain(format!("{} ", f.id)).push(Span::Strong(f.title.clone()));
    if f.thin {
        title = title.and(" (thin evidence: few servers)");
    }
    let mut facts = vec![("servers", Text::plain(listed(&f.servers, 40)))];
    if !f.compared_with.is_empty() {
        facts.push(("compared with", Text::plain(listed(&f.compared_with, 40))));
    }
    if !f.incidents.is_empty() {
        facts.push(("incidents", Text::plain(listed(&f.incidents, 12))));
    }
    facts.push(("next", Text::plain(f.action.clone())));
    let detail = f.detail.iter().map(|d| Text::plain(d.clone())).collect();
    Block::Entry(
        title,
        vec![Block::Facts(facts), Block::List(Style::Small, detail)],
    )
}

/// The first `max` names and how many more (farm.json has them all).
fn listed(names: &[String], max: usize) -> String {
    let mut s = names
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > max {
        s.push_str(&format!(
            " … and {} more ({} in all)",
            names.len() - max,
            names.len()
        ));
    }
    s
}

fn heat(r: &FarmReport) -> Heat {
    let rows = r
        .servers
        .iter()
        .map(|s| {
            let cells = s
                .days
                .iter()
                .map(|d| {
                    let rate = d.errors_5xx as f64 / d.requests.max(1) as f64;
                    let level = match d.incidents {
                        2.. => 3,
                        1 => 2,
                        _ if rate > 0.01 => 1,
                        _ => 0,
                    };
                    let text = match (d.incidents, d.errors_5xx) {
                        (n @ 1.., _) => format!("{n}!"),
                        (_, 0) => "·".into(),
                        (_, e) => e.to_string(),
                    };
                    HeatCell {
                        level,
                        text,
                        key: d.incidents as u64 * 1_000_000 + d.errors_5xx.min(999_999),
                        title: format!(
                            "{} {}: {} requests, {} 5xx, {} incidents",
                            s.name, d.date, d.requests, d.errors_5xx, d.incidents
                        ),
                    }
                })
                .collect();
            (Text(vec![Span::Code(s.name.clone())]), cells)
        })
        .collect();
    Heat {
        corner: "server",
        columns: r.days.clone(),
        rows,
        legend: "n! = incidents that began that day, else the number of 5xx responses (· none); darker = more incidents, pale = more than 1 % 5xx",
    }
}

fn servers(r: &FarmReport) -> Table {
    let rows = r
        .servers
        .iter()
        .map(|s| Row {
            mark: if s.outages().next().is_some() {
                RowMark::Suspect
            } else {
                RowMark::None
            },
            cells: vec![
                Text(vec![Span::Code(s.name.clone())]),
                kinds(s).into(),
                super::num(s.requests).into(),
                super::num(s.errors_5xx).into(),
                s.suspects
                    .first()
                    .map_or_else(Text::default, |x| Text(vec![Span::Cut(x.name.clone(), 60)])),
                Text(vec![Span::Cut(s.headline.clone(), 140)]),
            ],
        })
        .collect();
    Table {
        columns: vec![
            ("server", Align::Left),
            ("incidents", Align::Left),
            ("requests", Align::Number),
            ("5xx", Align::Number),
            ("first suspect", Align::Left),
            ("headline", Align::Wide),
        ],
        rows,
    }
}

/// `2 crash, 1 dump`: the server's incidents by kind.
fn kinds(s: &ServerSummary) -> String {
    let mut by: std::collections::BTreeMap<&str, usize> = Default::default();
    for i in &s.incidents {
        *by.entry(i.kind.name()).or_default() += 1;
    }
    if by.is_empty() {
        return "none".into();
    }
    by.iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The farm report in `format`.
pub fn render(r: &FarmReport, format: Format) -> String {
    match format {
        Format::Terminal => super::terminal::write(&build(r)),
        Format::Markdown => super::markdown::write(&build(r)),
        Format::Html => super::html::write_titled(&build(r), "w3triage farm report"),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(r).unwrap_or_else(|e| {
                format!(
                    "{{\"error\": {}}}",
                    serde_json::Value::String(e.to_string())
                )
            });
            s.push('\n');
            s
        }
    }
}

/// Writes `farm.md`, `farm.html` and `farm.json` into `dir`, each complete or absent.
pub fn write_files(r: &FarmReport, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let files = [
        ("farm.md", render(r, Format::Markdown)),
        ("farm.html", render(r, Format::Html)),
        ("farm.json", render(r, Format::Json)),
    ];
    super::write_all_or_none(dir, &files)
}

//! The `incidents` and `suspects` tables of the dataset: each server's judgment as rows, so
//! that DuckDB, polars or a distributed engine can compare servers without reading the
//! summaries' JSON. They are this version's analysis, rewritten with the server.

use crate::export::{Cell, ColKind, TableView};
use crate::farm::ServerSummary;

/// A server's incidents, one row each.
pub struct Incidents<'a>(pub &'a ServerSummary);

const INCIDENT_COLUMNS: &[(&str, ColKind)] = &[
    ("ts", ColKind::Ts),
    ("end", ColKind::Ts),
    ("id", ColKind::Str),
    ("kind", ColKind::Str),
    ("category", ColKind::Str),
    ("app_pool", ColKind::Str),
    ("pid", ColKind::Int),
    ("exception_code", ColKind::Int),
    ("faulting_module", ColKind::Str),
    ("faulting_module_version", ColKind::Str),
    ("suspect_module", ColKind::Str),
    ("sources", ColKind::Str),
    ("suspects", ColKind::Str),
    ("in_flight_total", ColKind::Int),
    ("verdict", ColKind::Str),
];

fn text(v: &Option<String>) -> Cell<'_> {
    v.as_deref().map_or(Cell::Null, Cell::Str)
}

impl TableView for Incidents<'_> {
    fn columns(&self) -> Vec<(&'static str, ColKind)> {
        INCIDENT_COLUMNS.to_vec()
    }
    fn len(&self) -> usize {
        self.0.incidents.len()
    }
    fn cell(&self, r: usize, c: usize) -> Cell<'_> {
        let i = &self.0.incidents[r];
        match c {
            0 => i.time.map_or(Cell::Null, |t| Cell::Ts(t.0)),
            1 => i.end.map_or(Cell::Null, |t| Cell::Ts(t.0)),
            2 => Cell::Str(&i.id),
            3 => Cell::Str(i.kind.name()),
            4 => Cell::Str(i.category.name.name()),
            5 => text(&i.app_pool),
            6 => i.pid.map_or(Cell::Null, |p| Cell::Int(p.into())),
            7 => i
                .exception_code
                .map_or(Cell::Null, |x| Cell::Int(x.0.into())),
            8 => text(&i.faulting_module),
            9 => text(&i.faulting_module_version),
            10 => text(&i.suspect_module),
            11 => Cell::Owned(crate::analyze::join_tags(&i.sources)),
            12 => Cell::Owned(i.suspects.join(",")),
            13 => Cell::Int(i.in_flight_total as i128),
            _ => text(&i.verdict),
        }
    }
}

/// A server's suspects, one row each.
pub struct Suspects<'a>(pub &'a ServerSummary);

const SUSPECT_COLUMNS: &[(&str, ColKind)] = &[
    ("id", ColKind::Str),
    ("kind", ColKind::Str),
    ("name", ColKind::Str),
    ("confidence", ColKind::Str),
    ("incidents", ColKind::Str),
    ("version", ColKind::Str),
    ("in_flight", ColKind::Int),
    ("in_flight_total", ColKind::Int),
    ("lift", ColKind::Float),
    ("p_adjusted", ColKind::Float),
    ("reason", ColKind::Str),
];

impl TableView for Suspects<'_> {
    fn columns(&self) -> Vec<(&'static str, ColKind)> {
        SUSPECT_COLUMNS.to_vec()
    }
    fn len(&self) -> usize {
        self.0.suspects.len()
    }
    fn cell(&self, r: usize, c: usize) -> Cell<'_> {
        let s = &self.0.suspects[r];
        let float = |v: Option<f64>| v.filter(|x| x.is_finite()).map_or(Cell::Null, Cell::Float);
        let int = |v: Option<u64>| v.map_or(Cell::Null, |n| Cell::Int(n.into()));
        match c {
            0 => Cell::Str(&s.id),
            1 => Cell::Str(s.kind.name()),
            2 => Cell::Str(&s.name),
            3 => Cell::Str(s.confidence.name()),
            4 => Cell::Owned(s.incidents.join(",")),
            5 => s
                .module
                .as_ref()
                .and_then(|m| m.version.as_deref())
                .map_or(Cell::Null, Cell::Str),
            6 => int(s.pattern.as_ref().map(|p| p.in_flight)),
            7 => int(s.pattern.as_ref().map(|p| p.in_flight_total)),
            8 => float(s.pattern.as_ref().map(|p| p.lift)),
            9 => float(s.pattern.as_ref().map(|p| p.p_adjusted)),
            _ => Cell::Str(&s.reason),
        }
    }
}

/// The modules a server's dumps list (its analysis's inventory), one row each.
pub struct Inventory<'a>(pub &'a ServerSummary);

const INVENTORY_COLUMNS: &[(&str, ColKind)] = &[
    ("name", ColKind::Str),
    ("version", ColKind::Str),
    ("path", ColKind::Str),
    ("class", ColKind::Str),
    ("third_party", ColKind::Bool),
    ("unloaded", ColKind::Bool),
    ("dumps", ColKind::Int),
    ("suspect", ColKind::Str),
];

impl TableView for Inventory<'_> {
    fn columns(&self) -> Vec<(&'static str, ColKind)> {
        INVENTORY_COLUMNS.to_vec()
    }
    fn len(&self) -> usize {
        self.0.modules.len()
    }
    fn cell(&self, r: usize, c: usize) -> Cell<'_> {
        let m = &self.0.modules[r];
        match c {
            0 => Cell::Str(&m.name),
            1 => text(&m.version),
            2 => Cell::Str(&m.path),
            3 => Cell::Str(m.class.name()),
            4 => Cell::Bool(m.third_party),
            5 => Cell::Bool(m.unloaded),
            6 => Cell::Int(m.dumps as i128),
            _ => text(&m.suspect),
        }
    }
}

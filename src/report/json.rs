//! The JSON report: `serde_json` of [`Analysis`], pretty-printed, schema in
//! `docs/report-schema.md` (`schema_version` [`crate::analyze::SCHEMA_VERSION`]).

use crate::analyze::Analysis;

/// `report.json`: the model, pretty-printed.
pub fn render(a: &Analysis) -> String {
    match serde_json::to_string_pretty(a) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        // Serialization of this model cannot fail (no maps with non-string keys, floats are
        // finite); if it ever does, say so in valid JSON rather than panic.
        Err(e) => format!(
            "{{\"schema_version\":\"{}\",\"error\":{:?}}}\n",
            a.schema_version,
            e.to_string()
        ),
    }
}

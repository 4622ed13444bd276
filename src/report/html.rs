//! The self-contained HTML report: one file, no scripts, no external assets, readable offline.
//!
//! Safety: every string from a log or a dump goes through [`esc`] (text and attribute values
//! alike, so `"` and `'` are escaped too); the page carries a Content-Security-Policy that
//! forbids scripts and any network access (`default-src 'none'; style-src 'unsafe-inline';
//! img-src data:`), so even an escaping bug could not run code or leak data.

use super::doc::{Align, Block, Doc, RowMark, Span, Step, Style, Table, Text};
use super::num;
use crate::analyze::Analysis;
use std::fmt::Write;

/// The one script a page may carry: click a column of a `sortable` table to sort its rows
/// (numbers by value, `data-v` first). The CSP allows it by its hash and nothing else.
pub const SORT_SCRIPT: &str = r#"document.querySelectorAll("table.sortable").forEach(function(t){var h=t.rows[0];Array.prototype.forEach.call(h.cells,function(th,i){th.title="sort";th.addEventListener("click",function(){var up=th.getAttribute("data-up")!=="1";th.setAttribute("data-up",up?"1":"0");var rows=Array.prototype.slice.call(t.rows,1);var key=function(r){var c=r.cells[i];var v=c.getAttribute("data-v");if(v===null){v=c.textContent.replace(/,/g,"");}var n=parseFloat(v);return isNaN(n)?v:n;};rows.sort(function(a,b){var x=key(a),y=key(b);var c=(typeof x==="number"&&typeof y==="number")?x-y:String(x).localeCompare(String(y));return up?c:-c;});rows.forEach(function(r){h.parentNode.appendChild(r);});});});});"#;
/// `sha256-` and the base64 SHA-256 of [`SORT_SCRIPT`] (a test recomputes it).
pub const SORT_SCRIPT_HASH: &str = "sha256-/Rh6oeiXYGcEgL3KJBYtpZmeYfys0HvS/bLtkJL6mh4=";

/// The CSP of the page.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// Escapes text for HTML text and (double- or single-quoted) attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if (c.is_control() && c != '\n' && c != '\t') || super::is_sneaky(c) => {
                o.push('\u{FFFD}')
            }
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
.headline{font-size:16px;background:#fff;border-left:4px solid #c0392b;padding:10px 14px;margin:8px 0}
.ok{border-left-color:#27ae60}.thin{background:#fff8e1;border:1px solid #f0d36b;padding:8px 14px;margin:8px 0}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #dde1e7;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:break-word}
td code{word-break:break-all}td.u{min-width:20em}td.t{white-space:nowrap}
th{background:#eef1f5}td.n{text-align:right;white-space:nowrap}td.hit{font-weight:bold;color:#a4000f;white-space:nowrap}
tr.tp td{background:#fff1e6}tr.sus td{background:#fde2e0;font-weight:600}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;color:#fff}
.high{background:#c0392b}.medium{background:#d68910}.low{background:#7f8c8d}
details{background:#fff;border:1px solid #dde1e7;margin:8px 0;padding:6px 10px}
summary{cursor:pointer;font-weight:600}
pre{background:#1d2330;color:#e8ecf1;padding:8px 10px;overflow-x:auto;font-size:12px}
code{font-family:ui-monospace,Consolas,monospace}
.muted{color:#6b7380}.ev{font-size:12px;overflow-wrap:anywhere}
svg{background:#fff;border:1px solid #dde1e7;max-width:100%;height:auto}
table.sortable th{cursor:pointer}table.heat{width:auto}table.heat td{text-align:center;min-width:4.5em;white-space:nowrap}
td.h0{background:#fff;color:#9aa1ab}td.h1{background:#fdebd0}td.h2{background:#f5b041}td.h3{background:#c0392b;color:#fff;font-weight:600}
"#;

/// Escaped `s`, cut to `max` characters with the whole value in a tooltip: attack URLs run to
/// thousands of characters and would otherwise squeeze the table into an unreadable column.
fn shortened(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return esc(s);
    }
    let head: String = s.chars().take(max).collect();
    format!(
        "<span title=\"{}\">{}…</span> <small>({} characters)</small>",
        esc(s),
        esc(&head),
        num(n as u64)
    )
}

/// The file name, with the whole path in a tooltip.
fn shortened_path(p: &str) -> String {
    let name = p.rsplit(['/', '\\']).next().unwrap_or(p);
    if name.len() == p.len() {
        esc(p)
    } else {
        format!("<span title=\"{}\">{}</span>", esc(p), esc(name))
    }
}

/// The HTML report: one self-contained page.
pub fn render(a: &Analysis) -> String {
    write(&super::full::build(a))
}

/// Writes a report document as one self-contained HTML page.
pub fn write(doc: &Doc) -> String {
    write_titled(doc, "w3triage incident report")
}

/// Writes a report document as one self-contained HTML page titled `title`. A page with
/// sortable tables carries [`SORT_SCRIPT`], allowed by its hash alone.
pub fn write_titled(doc: &Doc, title: &str) -> String {
    let sorts = doc
        .blocks
        .iter()
        .any(|b| matches!(b, Block::Sortable(_) | Block::Heat(_)));
    let csp = if sorts {
        format!("{CSP}; script-src '{SORT_SCRIPT_HASH}'")
    } else {
        CSP.to_string()
    };
    let mut o = String::with_capacity(64 * 1024);
    let _ = writeln!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n<meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head><body><main>",
        esc(title)
    );
    for b in &doc.blocks {
        block(&mut o, b);
    }
    if sorts {
        let _ = write!(o, "<script>{SORT_SCRIPT}</script>");
    }
    o.push_str("</main></body></html>\n");
    o
}

fn text(t: &Text) -> String {
    let mut o = String::new();
    for s in &t.0 {
        match s {
            Span::Plain(v) | Span::Cut(v, _) => o.push_str(&esc(v)),
            Span::Code(v) => {
                let _ = write!(o, "<code>{}</code>", esc(v));
            }
            Span::Strong(v) => {
                let _ = write!(o, "<b>{}</b>", esc(v));
            }
            Span::Uri(v) => {
                let _ = write!(o, "<code>{}</code>", shortened(v, 120));
            }
            Span::File(v) => o.push_str(&shortened_path(v)),
            Span::Badge(c) => {
                let _ = write!(o, "<span class=\"badge {c}\">{c}</span>");
            }
        }
    }
    o
}

fn items(o: &mut String, open: &str, items: &[Text]) {
    o.push_str(open);
    for i in items {
        let _ = writeln!(o, "<li>{}</li>", text(i));
    }
    o.push_str("</ul>\n");
}

fn block(o: &mut String, b: &Block) {
    match b {
        Block::Heading {
            level,
            anchor,
            text: t,
        } => {
            let id = anchor.map(|a| format!(" id={a}")).unwrap_or_default();
            let _ = writeln!(o, "<h{level}{id}>{}</h{level}>", text(t));
        }
        Block::Para(style, t) => {
            let class = match style {
                Style::Lead { ok: false } => " class=\"headline\"",
                Style::Lead { ok: true } => " class=\"headline ok\"",
                Style::Muted | Style::Small => " class=muted",
                Style::Normal | Style::Line => "",
            };
            let _ = writeln!(o, "<p{class}>{}</p>", text(t));
        }
        Block::List(style, list) => {
            let open = match style {
                Style::Muted => "<ul class=muted>\n",
                Style::Small => "<ul class=ev>\n",
                _ => "<ul>\n",
            };
            items(o, open, list);
        }
        Block::Callout(title, list) => {
            let _ = writeln!(o, "<div class=thin><b>{}</b>", text(title));
            items(o, "<ul>\n", list);
            o.push_str("</div>\n");
        }
        Block::Facts(facts) => {
            o.push_str("<ul>\n");
            for (k, v) in facts {
                let _ = writeln!(o, "<li>{k}: {}</li>", text(v));
            }
            o.push_str("</ul>\n");
        }
        Block::Table(t) => table(o, t, false),
        Block::Sortable(t) => table(o, t, true),
        Block::Steps(steps) => steps_list(o, steps),
        Block::Entry(title, body) => {
            let _ = writeln!(o, "<details open><summary>{}</summary>", text(title));
            body.iter().for_each(|b| block(o, b));
            o.push_str("</details>\n");
        }
        Block::Labeled(label, body) => {
            let _ = writeln!(o, "<b>{}</b>", text(label));
            body.iter().for_each(|b| block(o, b));
        }
        Block::Chart(c) => o.push_str(&super::chart::svg(*c)),
        Block::Heat(h) => heat(o, h),
        Block::Footer(t) => {
            let _ = writeln!(o, "<p class=muted>{}</p>", text(t));
        }
    }
}

fn heat(o: &mut String, h: &super::doc::Heat) {
    let _ = write!(
        o,
        "<table class=\"heat sortable\"><tr><th>{}</th>",
        esc(h.corner)
    );
    for c in &h.columns {
        let _ = write!(o, "<th>{}</th>", esc(c));
    }
    o.push_str("</tr>\n");
    for (name, cells) in &h.rows {
        let _ = write!(o, "<tr><th>{}</th>", text(name));
        for c in cells {
            let _ = write!(
                o,
                "<td class=h{} data-v={} title=\"{}\">{}</td>",
                c.level.min(3),
                c.key,
                esc(&c.title),
                esc(&c.text)
            );
        }
        o.push_str("</tr>\n");
    }
    let _ = writeln!(o, "</table><p class=muted>{}</p>", esc(h.legend));
}

fn table(o: &mut String, t: &Table, sortable: bool) {
    o.push_str(if sortable {
        "<table class=sortable><tr>"
    } else {
        "<table><tr>"
    });
    for (name, _) in &t.columns {
        let _ = write!(o, "<th>{name}</th>");
    }
    o.push_str("</tr>\n");
    for r in &t.rows {
        o.push_str(match r.mark {
            RowMark::None => "<tr>",
            RowMark::ThirdParty => "<tr class=tp>",
            RowMark::Suspect => "<tr class=sus>",
        });
        for (cell, (_, align)) in r.cells.iter().zip(&t.columns) {
            let class = match align {
                Align::Left => "",
                Align::Number => " class=n",
                Align::Time => " class=t",
                Align::Wide => " class=u",
                Align::Small => " class=ev",
                Align::Mark if cell.0.is_empty() => "",
                Align::Mark => " class=hit",
            };
            let _ = write!(o, "<td{class}>{}</td>", text(cell));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");
}

fn steps_list(o: &mut String, steps: &[Step]) {
    o.push_str("<ol>\n");
    for r in steps {
        let who = r.suspect.as_deref().map(|s| format!("<b>{}</b> ", esc(s)));
        let _ = write!(o, "<li>{}{}", who.unwrap_or_default(), esc(&r.action));
        for c in &r.commands {
            let _ = write!(o, "<pre><code>{}</code></pre>", esc(c));
        }
        o.push_str("</li>\n");
    }
    o.push_str("</ol>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_uris_are_cut_and_stay_escaped() {
        let uri = format!("/s.aspx?q=<script>\"{}", "A".repeat(500));
        let cell = shortened(&uri, 120);
        assert!(!cell.contains("<script>"), "{cell}");
        assert!(
            cell.contains("title=\"/s.aspx?q=&lt;script&gt;&quot;AAAA"),
            "{cell}"
        );
        assert!(cell.contains("(519 characters)"), "{cell}");
        assert_eq!(
            cell.matches('A').count(),
            500 + (120 - 19),
            "whole value in the title, 120 characters shown"
        );
        assert_eq!(shortened("/short", 120), "/short");
        assert_eq!(
            shortened_path("samples/outage/WEB01/httperr1.log"),
            "<span title=\"samples/outage/WEB01/httperr1.log\">httperr1.log</span>"
        );
    }
}

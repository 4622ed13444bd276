//! IIS FTP logs into the `ftp` table. They are W3C logs (`FTPSVC<id>` folders, fields
//! `x-session`, `x-fullpath`, `x-debug`; IIS 4/5 wrote `[session]COMMAND` in `cs-method`), read
//! by the W3C parser and then moved, so that FTP commands are never counted as web requests.

use super::w3c;
use crate::tables::{FileCtx, FtpRow, Parsed, Requests, Source};

/// Parses an FTP log.
pub fn parse(ctx: &FileCtx, src: &Source) -> Parsed {
    let mut p = w3c::parse_source(ctx, src);
    let r = std::mem::take(&mut p.requests);
    p.ftp = rows(ctx, &r);
    p
}

/// The W3C rows as FTP rows.
fn rows(ctx: &FileCtx, r: &Requests) -> Vec<FtpRow> {
    (0..r.len())
        .map(|i| {
            let extra: serde_json::Map<String, serde_json::Value> = r
                .extra
                .get(i)
                .and_then(|e| serde_json::from_str(e).ok())
                .unwrap_or_default();
            let field = |name: &str| {
                extra
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| v.as_str())
                    .filter(|v| *v != "-")
                    .map(str::to_string)
            };
            let (session, command) = split_command(r.method.get(i));
            FtpRow {
                ts: Some(r.ts[i]),
                server: r.server.get(i).map(str::to_string),
                site: r.site.get(i).map(str::to_string),
                session: field("x-session").or(session),
                c_ip: r.c_ip.get(i).map(str::to_string),
                username: r.username.get(i).map(str::to_string),
                s_ip: r.s_ip.get(i).map(str::to_string),
                s_port: r.s_port.get(i),
                command,
                path: r.uri_stem.get(i).map(str::to_string),
                status: r.status.get(i),
                win32_status: r.win32_status.get(i),
                substatus: r.substatus.get(i),
                full_path: field("x-fullpath"),
                debug: field("x-debug"),
                file: ctx.id,
                offset: r.offset.get(i),
            }
        })
        .collect()
}

/// IIS 4/5's `[12]USER` → session `12`, command `USER`; anything else is the command.
fn split_command(m: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(m) = m else {
        return (None, None);
    };
    if let Some(rest) = m.strip_prefix('[')
        && let Some((n, cmd)) = rest.split_once(']')
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
    {
        return (Some(n.to_string()), Some(cmd.to_string()));
    }
    (None, Some(m.to_string()))
}

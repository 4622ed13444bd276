//! What to do next, per suspect: vendor contacts, request-filtering rules, PageHeap, dumps.
//! The commands are built only from names that pass a strict character check.

use super::*;

/// A value is put into a command or a config snippet only when every character is in `ok`;
/// log text is attacker-controlled and must never become shell or XML syntax.
pub(super) fn safe<'a>(s: &'a str, ok: &dyn Fn(char) -> bool, max: usize) -> Option<&'a str> {
    (!s.is_empty() && s.len() <= max && s.chars().all(ok)).then_some(s)
}

pub(super) fn safe_name(s: &str) -> Option<&str> {
    safe(s, &|c| c.is_ascii_alphanumeric() || " ._-".contains(c), 128)
}

pub(super) const APPCMD: &str = r"%windir%\system32\inetsrv\appcmd.exe";

/// The site name for `appcmd`: W3C logs name sites `W3SVC<id>`, appcmd wants the name.
pub(super) fn site_arg(sites: &[String]) -> (String, Option<String>) {
    match sites {
        [one] if !one.to_ascii_uppercase().starts_with("W3SVC") => match safe_name(one) {
            Some(n) => (format!("\"{n}\""), None),
            None => ("\"<site name>\"".into(), None),
        },
        [one] => {
            let id = one[5..].to_string();
            let hint = id
                .chars()
                .all(|c| c.is_ascii_digit())
                .then(|| format!("{APPCMD} list site /id:{id}"));
            ("\"<site name>\"".into(), hint)
        }
        _ => (
            "\"<site name>\"".into(),
            Some(format!("{APPCMD} list sites")),
        ),
    }
}

pub(super) fn recommend(
    t: &Tables,
    incidents: &[Incident],
    suspects: &[Suspect],
    rapid: &[RapidFail],
) -> Vec<Recommendation> {
    let mut out: Vec<Recommendation> = Vec::new();
    let crashed = incidents.iter().any(|i| i.kind == IncidentKind::Crash);
    if !crashed && incidents.is_empty() {
        return out;
    }
    let sites_of = |s: &Suspect| -> Vec<String> {
        let mut v: Vec<String> = incidents
            .iter()
            .filter(|i| s.incidents.contains(&i.id))
            .flat_map(|i| i.sites.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let heap = incidents.iter().any(|i| {
        i.exception_code
            .is_some_and(|c| exceptions::kind(c.0) == ExceptionKind::HeapCorruption)
    });
    for s in suspects
        .iter()
        .filter(|s| s.confidence != Confidence::Low || suspects.len() <= 3)
        .take(4)
    {
        out.extend(for_suspect(t, s, &sites_of(s)));
    }
    if heap
        && !out
            .iter()
            .any(|r| r.commands.iter().any(|c| c.starts_with("gflags")))
    {
        out.push(Recommendation {
            suspect: None,
            action: "A crash is a heap corruption (0xc0000374): the faulting stack is the victim. Enable full PageHeap for w3wp.exe on one server and capture full dumps: the next crash then stops in the module that corrupts the heap".into(),
            commands: vec!["gflags /p /enable w3wp.exe /full".into()],
        });
    }
    out.extend(managed_advice(incidents));
    out.extend(super::remedies::outage_advice(incidents));
    out.extend(rapid.iter().map(restart_pool));
    if crashed {
        out.push(capture_dumps(incidents));
    }
    out
}

/// What to do about each unhandled .NET exception type that ended a worker (its incidents
/// named first).
fn managed_advice(incidents: &[Incident]) -> Vec<Recommendation> {
    let mut by: BTreeMap<&str, Vec<&Incident>> = BTreeMap::new();
    for i in incidents {
        if let Some(m) = i.managed_exception.as_ref().filter(|m| m.terminated) {
            by.entry(&m.type_name).or_default().push(i);
        }
    }
    by.into_iter()
        .map(|(ty, incs)| {
            let (advice, commands) = crate::knowledge::managed::advice(ty);
            let ids: Vec<&str> = incs.iter().map(|i| i.id.as_str()).collect();
            let method = incs[0]
                .managed_exception
                .as_ref()
                .and_then(|m| m.method.as_deref());
            Recommendation {
                suspect: None,
                action: format!(
                    "{} ({}){}: {advice}",
                    ty,
                    ids.join(", "),
                    method
                        .map(|m| format!(", thrown in {m}"))
                        .unwrap_or_default()
                ),
                commands: commands.into_iter().map(str::to_string).collect(),
            }
        })
        .collect()
}

/// What to do about requests that come before the crashes: cap their size, or find why they
/// take minutes.
fn precursor_advice(s: &Suspect) -> Recommendation {
    let large = s.name.contains("cs-bytes");
    let (action, commands) = if large {
        (
            format!(
                "Huge requests ({}) came before the crashes: cap the request size IIS accepts (requestLimits maxAllowedContentLength, and httpRuntime maxRequestLength for ASP.NET) below what the worker can hold, and stream uploads instead of buffering them",
                s.name
            ),
            vec![crate::knowledge::managed::CAP_REQUEST_SIZE.to_string()],
        )
    } else {
        (
            format!(
                "Requests of minutes ({}) came before the crashes: find what they wait on or compute (a FREB trace with a time-taken rule catches the next one), and give them a timeout",
                s.name
            ),
            Vec::new(),
        )
    };
    Recommendation {
        suspect: Some(s.id.clone()),
        action,
        commands,
    }
}

/// What to do about one suspect: its vendor, request filtering, PageHeap, SOS.
fn for_suspect(t: &Tables, s: &Suspect, sites: &[String]) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let m = s.module.as_ref();
    let version = m
        .and_then(|m| m.version.clone())
        .map(|v| format!(" version {v}"))
        .unwrap_or_default();
    let third = m.and_then(|m| m.third_party).unwrap_or(!matches!(
        s.kind,
        SuspectKind::SystemModule | SuspectKind::ManagedCode
    ));
    let name = safe(
        &s.name,
        &|c| c.is_ascii_alphanumeric() || "._-".contains(c),
        128,
    );
    match s.kind {
        SuspectKind::RequestPattern => out.extend(pattern_rules(t, s, sites)),
        SuspectKind::Precursor => out.push(precursor_advice(s)),
        SuspectKind::Configuration => out.push(super::remedies::config_change_advice(s)),
        SuspectKind::SystemModule => out.push(Recommendation {
            suspect: Some(s.id.clone()),
            action: format!(
                "{} is a Windows module and usually the victim of memory corrupted by another module: enable full PageHeap for w3wp.exe on one server (it slows the process and raises memory use), reproduce, and capture full dumps; the next dump then names the corrupting module",
                s.name
            ),
            commands: vec!["gflags /p /enable w3wp.exe /full".into(), "gflags /p /disable w3wp.exe".into()],
        }),
        // A managed exception the events name gets the advice for its type (`managed_advice`).
        SuspectKind::ManagedCode if s.name != MANAGED => {}
        SuspectKind::ManagedCode => out.push(Recommendation {
            suspect: Some(s.id.clone()),
            action: "The crash is in managed code: read the .NET Runtime 1026 and ASP.NET 1309 events for the exception type and stack, and capture a full dump to inspect it with SOS (!pe, !clrstack)".into(),
            commands: vec![format!("procdump -accepteula -ma -e -n 3 <pid>")],
        }),
        kind => {
            let mut commands = Vec::new();
            let vendor = m.and_then(|m| m.vendor.clone()).map(|v| format!(", {v}")).unwrap_or_default();
            let action = if third {
                format!(
                    "Contact the vendor of {}{} ({}{}) with the dumps and this report, and ask for a fix or update; to confirm, remove it on one server and watch whether the crashes stop",
                    s.name,
                    version,
                    kind.label(),
                    vendor
                )
            } else {
                format!("{}{} ({}) faults: check for a Windows / IIS update that contains a fix", s.name, version, kind.label())
            };
            match kind {
                SuspectKind::IsapiFilter => {
                    commands.push(format!("{APPCMD} list config -section:system.webServer/isapiFilters"));
                    commands.push(format!("{APPCMD} set config -section:system.webServer/isapiFilters /-\"[name='<filter name from the list>']\""));
                }
                SuspectKind::IsapiExtension => {
                    commands.push(format!("{APPCMD} list config -section:system.webServer/handlers"));
                    commands.push(format!("{APPCMD} list config -section:system.webServer/security/isapiCgiRestriction"));
                }
                SuspectKind::ComObject => {
                    if let Some(n) = name {
                        commands.push(format!("reg query HKCR\\CLSID /s /f {n}"));
                    }
                }
                SuspectKind::ManagedPinvoke => {}
                _ => {
                    commands.push(format!("{APPCMD} list config -section:system.webServer/globalModules"));
                    commands.push(format!("{APPCMD} list modules"));
                }
            }
            out.push(Recommendation { suspect: Some(s.id.clone()), action, commands });
        }
    }
    out
}

/// Start a pool rapid-fail protection disabled, once its cause is gone.
fn restart_pool(r: &RapidFail) -> Recommendation {
    let pool = r
        .app_pool
        .as_deref()
        .and_then(safe_name)
        .map_or_else(|| "<pool>".to_string(), str::to_string);
    let still = r.end.is_none();
    Recommendation {
        suspect: None,
        action: format!(
            "Rapid-fail protection disabled app pool {}{}: after removing the cause, start it again; keep rapid-fail on (it protects the server), and capture dumps instead of disabling it",
            r.app_pool.as_deref().unwrap_or("(unknown)"),
            if still {
                " and it was still down when the logs end"
            } else {
                ""
            }
        ),
        commands: vec![format!("{APPCMD} start apppool /apppool.name:\"{pool}\"")],
    }
}

/// Capture full dumps at the next crash.
fn capture_dumps(incidents: &[Incident]) -> Recommendation {
    let pools: BTreeSet<String> = incidents
        .iter()
        .filter_map(|i| i.app_pool.as_deref().and_then(safe_name))
        .map(str::to_string)
        .collect();
    let pool = match pools.len() {
        0 => "<pool>".to_string(),
        1 => pools.iter().next().cloned().unwrap_or_default(),
        _ => pools.iter().take(4).cloned().collect::<Vec<_>>().join(", "),
    };
    let no_dump = incidents
        .iter()
        .any(|i| i.kind == IncidentKind::Crash && !i.sources.contains(&SourceTag::Dump));
    Recommendation {
        suspect: None,
        action: format!(
            "{}apture full dumps at the next crash (3 of them, to compare): attach ProcDump to the worker of app pool {} (find its pid with appcmd list wp), or add a DebugDiag 2 crash rule for the pool (full userdump on second-chance exceptions)",
            if no_dump {
                "Some crashes have no dump: c"
            } else {
                "C"
            },
            pool
        ),
        commands: vec![
            if pools.len() == 1 {
                format!("{APPCMD} list wp /apppool.name:\"{pool}\"")
            } else {
                format!("{APPCMD} list wp")
            },
            "procdump -accepteula -ma -e -n 3 <pid>".into(),
        ],
    }
}

/// Request-filtering rules for a pattern suspect, built only from values that are safe to
/// paste into XML and a shell (see [`safe`]).
pub(super) fn pattern_rules(t: &Tables, s: &Suspect, sites: &[String]) -> Vec<Recommendation> {
    let Some(p) = &s.pattern else {
        return Vec::new();
    };
    let seen = seen_requests(t, s);
    let (site, hint) = site_arg(sites);
    let mut commands: Vec<String> = hint.into_iter().collect();
    let section =
        format!("{APPCMD} set config {site} -section:system.webServer/security/requestFiltering");
    let rule = format!("w3triage-{}", s.id);
    let w = Where {
        site: &site,
        section: &section,
        rule: &rule,
    };
    let r = match p.feature {
        FeatureKind::Query | FeatureKind::Path | FeatureKind::Route => url_rule(&seen, &w, p),
        FeatureKind::Client => client_rule(&seen, &w),
        FeatureKind::UserAgent => user_agent_rule(&seen, &w),
        FeatureKind::Size => size_rule(&seen, &w),
        FeatureKind::Method => method_rule(&seen, &w),
    };
    commands.extend(r.commands);
    let (mut action, xml) = (r.action, r.xml);
    let fl = seen.fl;
    if action.is_empty() {
        return vec![Recommendation {
            suspect: Some(s.id.clone()),
            action: format!(
                "Find which code path serves {} and test it with the in-flight requests listed in the evidence (replay them on a test server with a debugger attached)",
                s.name
            ),
            commands,
        }];
    }
    if !fl.eq(&0) && p.feature != FeatureKind::Query {
        action.push_str(&format!(" (the requests also carry {})", flag_labels(fl)));
    }
    let mut cmds = Vec::new();
    if !xml.is_empty() {
        cmds.push(xml);
    }
    cmds.extend(commands);
    vec![Recommendation {
        suspect: Some(s.id.clone()),
        action,
        commands: cmds,
    }]
}

/// What the in-flight requests matching a pattern have in common.
struct Seen {
    /// The shortest query string.
    qmin: usize,
    /// Unusual-content flags of their stems and queries (`pattern::flags`).
    fl: u8,
    stems: BTreeSet<String>,
    clients: BTreeSet<String>,
    uas: BTreeSet<String>,
    methods: BTreeSet<String>,
    sizes: Vec<u64>,
}

/// Facts from the matching in-flight requests of a pattern suspect.
fn seen_requests(t: &Tables, s: &Suspect) -> Seen {
    let mut seen = Seen {
        qmin: usize::MAX,
        fl: 0,
        stems: BTreeSet::new(),
        clients: BTreeSet::new(),
        uas: BTreeSet::new(),
        methods: BTreeSet::new(),
        sizes: Vec::new(),
    };
    for e in &s.evidence {
        let Some(req) = find_request(t, e) else {
            continue;
        };
        let (stem, query) = crate::analyze::pattern::RequestView::split_uri(&req.uri);
        seen.stems.insert(stem.to_ascii_lowercase());
        if let Some(q) = query {
            seen.qmin = seen.qmin.min(q.len());
            seen.fl |= unusual(q.as_bytes());
        }
        seen.fl |= unusual(stem.as_bytes());
        seen.clients.extend(req.client);
        seen.uas.extend(req.user_agent);
        seen.methods.extend(req.method);
        seen.sizes.extend(req.bytes_in);
    }
    seen
}

/// Where a rule goes: the site argument, the request-filtering section, the rule's name.
struct Where<'a> {
    site: &'a str,
    section: &'a str,
    rule: &'a str,
}

/// One request-filtering rule: what to do, its XML, its appcmd lines.
struct Rule {
    action: String,
    xml: String,
    commands: Vec<String>,
}

/// A query, path or route pattern: deny its unusual strings, cap the query length, or deny the URL.
fn url_rule(seen: &Seen, w: &Where, p: &PatternStats) -> Rule {
    let deny = deny_strings(seen.fl);
    let ext = seen
        .stems
        .iter()
        .filter_map(|st| {
            st.rsplit('/')
                .next()
                .and_then(|last| last.rsplit_once('.'))
                .map(|(_, e)| e.to_string())
        })
        .find(|e| safe(e, &|c| c.is_ascii_alphanumeric(), 10).is_some());
    let qmin = seen.qmin;
    if !deny.is_empty() && p.feature == FeatureKind::Query {
        return deny_rule(w, &deny, ext.as_deref());
    }
    if qmin != usize::MAX && qmin > 256 {
        return query_limit_rule(w, qmin, p.baseline);
    }
    if let [stem] = seen.stems.iter().collect::<Vec<_>>().as_slice()
        && let Some(stem) = safe(
            stem,
            &|c| c.is_ascii_alphanumeric() || "/._-".contains(c),
            200,
        )
    {
        return deny_url_rule(w, stem);
    }
    Rule {
        action: String::new(),
        xml: String::new(),
        commands: Vec::new(),
    }
}

/// The strings to deny for the query flags seen, with what each means.
fn deny_strings(fl: u8) -> Vec<(&'static str, &'static str)> {
    [
        (flags::U_ENCODING, "%u"),
        (flags::NUL, "%00"),
        (flags::ANGLE, "<"),
        (flags::QUOTE, "'"),
        (flags::DOTDOT, ".."),
        (flags::DOUBLE_ENCODING, "%25"),
        (flags::CRLF, "%0d"),
    ]
    .into_iter()
    .filter(|(f, _)| fl & f != 0)
    .map(|(f, d)| (d, flags::ALL.iter().find(|a| a.0 == f).map_or("", |a| a.2)))
    .collect()
}

/// The request-filtering XML around `inner` (indented for `<requestFiltering>`).
fn filtering_xml(inner: &str) -> String {
    format!(
        "<configuration>\n  <system.webServer>\n    <security>\n      <requestFiltering>\n{inner}      </requestFiltering>\n    </security>\n  </system.webServer>\n</configuration>"
    )
}

/// A filtering rule that denies the unusual strings in query strings (of `.ext` URLs).
fn deny_rule(w: &Where, deny: &[(&str, &str)], ext: Option<&str>) -> Rule {
    let (rule, section) = (w.rule, w.section);
    let action = format!(
        "Block the pattern with request filtering: deny query strings containing {}{}",
        deny.iter()
            .map(|(d, m)| format!("{d} ({m})"))
            .collect::<Vec<_>>()
            .join(", "),
        ext.map(|e| format!(" on .{e} URLs")).unwrap_or_default()
    );
    let mut xml = format!(
        "        <filteringRules>\n          <filteringRule name=\"{rule}\" scanUrl=\"false\" scanQueryString=\"true\">\n"
    );
    if let Some(e) = ext {
        xml.push_str(&format!("            <appliesTo>\n              <add fileExtension=\".{e}\" />\n            </appliesTo>\n"));
    }
    xml.push_str("            <denyStrings>\n");
    for (d, _) in deny {
        let d = d
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('\'', "&apos;");
        xml.push_str(&format!("              <add string=\"{d}\" />\n"));
    }
    xml.push_str(
        "            </denyStrings>\n          </filteringRule>\n        </filteringRules>\n",
    );
    let mut commands = vec![format!(
        "{section} /+\"filteringRules.[name='{rule}',scanUrl='False',scanQueryString='True']\""
    )];
    if let Some(e) = ext {
        commands.push(format!(
            "{section} /+\"filteringRules.[name='{rule}'].appliesTo.[fileExtension='.{e}']\""
        ));
    }
    for (d, _) in deny {
        if *d != "'" && *d != "<" {
            commands.push(format!(
                "{section} /+\"filteringRules.[name='{rule}'].denyStrings.[string='{d}']\""
            ));
        } else {
            commands.push(format!("(add the deny string {d} in the XML above: it cannot be quoted safely on an appcmd line)"));
        }
    }
    Rule {
        action,
        xml: filtering_xml(&xml),
        commands,
    }
}

/// A query-string length cap just below the crashing requests' length.
fn query_limit_rule(w: &Where, qmin: usize, baseline: u64) -> Rule {
    let limit = ((qmin - 1) / 64 * 64).max(256);
    Rule {
        action: format!(
            "Cap the query string below the crashing requests' length ({qmin}+ bytes): requestLimits maxQueryString={limit} (check first that legitimate queries are shorter; the baseline has {baseline} requests of this shape)"
        ),
        xml: filtering_xml(&format!(
            "        <requestLimits maxQueryString=\"{limit}\" />\n"
        )),
        commands: vec![format!(
            "{} /requestLimits.maxQueryString:{limit}",
            w.section
        )],
    }
}

/// The one URL, denied until it is fixed.
fn deny_url_rule(w: &Where, stem: &str) -> Rule {
    Rule {
        action: format!(
            "If the page can be taken offline until it is fixed, deny the URL {stem} with request filtering"
        ),
        xml: filtering_xml(&format!(
            "        <denyUrlSequences>\n          <add sequence=\"{stem}\" />\n        </denyUrlSequences>\n"
        )),
        commands: vec![format!(
            "{} /+\"denyUrlSequences.[sequence='{stem}']\"",
            w.section
        )],
    }
}

/// One client address: block it.
fn client_rule(seen: &Seen, w: &Where) -> Rule {
    let clients = &seen.clients;
    let site = w.site;
    let mut action = String::new();
    let mut xml = String::new();
    let mut commands: Vec<String> = Vec::new();
    if let [ip] = clients.iter().collect::<Vec<_>>().as_slice()
        && let Some(ip) = safe(ip, &|c| c.is_ascii_hexdigit() || ".:".contains(c), 45)
    {
        action = format!(
            "Block the client {ip} (check it is not a proxy or load balancer first: then block by X-Forwarded-For at the edge)"
        );
        xml = format!(
            "<configuration>\n  <system.webServer>\n    <security>\n      <ipSecurity allowUnlisted=\"true\">\n        <add ipAddress=\"{ip}\" allowed=\"false\" />\n      </ipSecurity>\n    </security>\n  </system.webServer>\n</configuration>"
        );
        commands.push(format!("{APPCMD} set config {site} -section:system.webServer/security/ipSecurity /+\"[ipAddress='{ip}',allowed='False']\" /commit:apphost"));
    }
    Rule {
        action,
        xml,
        commands,
    }
}

/// A user agent: deny its token.
fn user_agent_rule(seen: &Seen, w: &Where) -> Rule {
    let uas = &seen.uas;
    let rule = w.rule;
    let section = w.section;
    let mut action = String::new();
    let mut xml = String::new();
    let mut commands: Vec<String> = Vec::new();
    let token = uas.iter().next().and_then(|ua| {
        let prefix: String = ua
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || " ./;()_-".contains(*c))
            .take(60)
            .collect();
        (prefix.trim().len() >= 8).then(|| prefix.trim().to_string())
    });
    if let Some(tok) = token {
        action = format!(
            "Deny requests whose User-Agent contains \"{tok}\" with a request-filtering rule"
        );
        xml = format!(
            "<configuration>\n  <system.webServer>\n    <security>\n      <requestFiltering>\n        <filteringRules>\n          <filteringRule name=\"{rule}\" scanUrl=\"false\" scanQueryString=\"false\">\n            <scanHeaders>\n              <add requestHeader=\"User-Agent\" />\n            </scanHeaders>\n            <denyStrings>\n              <add string=\"{tok}\" />\n            </denyStrings>\n          </filteringRule>\n        </filteringRules>\n      </requestFiltering>\n    </security>\n  </system.webServer>\n</configuration>"
        );
        commands.push(format!(
            "{section} /+\"filteringRules.[name='{rule}',scanUrl='False',scanQueryString='False']\""
        ));
        commands.push(format!("{section} /+\"filteringRules.[name='{rule}'].scanHeaders.[requestHeader='User-Agent']\""));
        commands.push(format!(
            "{section} /+\"filteringRules.[name='{rule}'].denyStrings.[string='{tok}']\""
        ));
    }
    Rule {
        action,
        xml,
        commands,
    }
}

/// Large requests: cap the request size.
fn size_rule(seen: &Seen, w: &Where) -> Rule {
    let sizes = &seen.sizes;
    let section = w.section;
    let mut action = String::new();
    let mut xml = String::new();
    let mut commands: Vec<String> = Vec::new();
    if let Some(&min) = sizes.iter().min()
        && min > 1024
    {
        let limit = (min - 1) / 1024 * 1024;
        action = format!(
            "Cap the request size below the crashing requests' size ({min}+ bytes): requestLimits maxAllowedContentLength={limit}"
        );
        xml = format!(
            "<configuration>\n  <system.webServer>\n    <security>\n      <requestFiltering>\n        <requestLimits maxAllowedContentLength=\"{limit}\" />\n      </requestFiltering>\n    </security>\n  </system.webServer>\n</configuration>"
        );
        commands.push(format!(
            "{section} /requestLimits.maxAllowedContentLength:{limit}"
        ));
    }
    Rule {
        action,
        xml,
        commands,
    }
}

/// An unusual verb: deny it.
fn method_rule(seen: &Seen, w: &Where) -> Rule {
    let methods = &seen.methods;
    let section = w.section;
    let mut action = String::new();
    let mut xml = String::new();
    let mut commands: Vec<String> = Vec::new();
    if let [m] = methods.iter().collect::<Vec<_>>().as_slice()
        && let Some(m) = safe(m, &|c| c.is_ascii_uppercase() || c == '_' || c == '-', 32)
        && !matches!(m, "GET" | "POST" | "HEAD")
    {
        action = format!("Deny the {m} verb if the site does not need it");
        xml = format!(
            "<configuration>\n  <system.webServer>\n    <security>\n      <requestFiltering>\n        <verbs allowUnlisted=\"true\">\n          <add verb=\"{m}\" allowed=\"false\" />\n        </verbs>\n      </requestFiltering>\n    </security>\n  </system.webServer>\n</configuration>"
        );
        commands.push(format!(
            "{section} /+\"verbs.[verb='{m}',allowed='False']\""
        ));
    }
    Rule {
        action,
        xml,
        commands,
    }
}

/// The request an evidence row points to (for pattern facts).
pub(super) fn find_request(t: &Tables, e: &EvidenceRef) -> Option<RequestRef> {
    match e.source {
        EvidenceKind::W3c => (0..t.requests.len())
            .find(|&i| t.requests.file[i] == e.file && t.requests.offset.get(i) == e.offset)
            .map(|i| w3c_ref(t, i)),
        EvidenceKind::Httperr => (0..t.httperr.len())
            .find(|&i| t.httperr.file[i] == e.file && t.httperr.offset[i] == e.offset)
            .map(|i| httperr_ref(t, i)),
        _ => None,
    }
}

//! Classic ASP's errors as IIS logs them: with `AspLogErrorRequests` on (the default) an ASP
//! error is appended to the request's `cs-uri-query` as `|<line>|<code>|<description>`
//! (spaces as `_`), e.g. `id=7|12|ASP_0115|Unexpected_error`; the serious ones (ASP 0100–0107,
//! 0115, 0190–0194, 0240–0242) also go to the Application log (`notes/outages.md` §2.1).

/// The error code of an ASP error suffix in a query (`ASP_0115`, `800a01a8`), if it has one.
pub fn error_code(query: &str) -> Option<&str> {
    // From the end: the query before the suffix may hold a `|` of its own.
    let mut parts = query.rsplitn(4, '|');
    let (_desc, code, line) = (parts.next()?, parts.next()?, parts.next()?);
    parts.next()?;
    let line_ok = line == "-" || (!line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()));
    // Bytes, not string slices: the query is the client's, and a cut inside a character would
    // panic.
    let b = code.as_bytes();
    let asp = b.len() == 8
        && b[..4].eq_ignore_ascii_case(b"ASP_")
        && b[4..].iter().all(u8::is_ascii_digit);
    let hresult = code.len() == 8 && code.bytes().all(|b| b.is_ascii_hexdigit());
    (line_ok && (asp || hresult)).then_some(code)
}

/// What an ASP error code means, for the ones that decide a category.
pub fn meaning(code: &str) -> Option<&'static str> {
    Some(match code.to_ascii_uppercase().as_str() {
        "ASP_0115" => {
            "a trappable error in an external object: a COM component the pages call faulted (an access violation, C0000005, as a rule) and ASP's exception handler caught it"
        }
        "ASP_0113" => "the script timed out (ASP's scriptTimeout)",
        "ASP_0100" => "ASP could not allocate memory",
        _ => return None,
    })
}

/// ASP 0115: a component fault ASP survived.
pub fn is_component_fault(code: &str) -> bool {
    code.eq_ignore_ascii_case("ASP_0115")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_suffix_iis_appends() {
        assert_eq!(
            error_code("id=7|12|ASP_0115|Unexpected_error"),
            Some("ASP_0115")
        );
        assert_eq!(
            error_code(
                "|-|ASP_0115|A_trappable_error_(C0000005)_has_occurred_in_an_external_object."
            ),
            Some("ASP_0115")
        );
        assert_eq!(
            error_code("q=1|44|800a01a8|Object_required:_'rs'"),
            Some("800a01a8")
        );
        assert_eq!(
            error_code("a=|b|3|ASP_0113|Script_timed_out"),
            Some("ASP_0113")
        );
        // A pipe a user typed is not an ASP error.
        assert_eq!(error_code("a=1|2"), None);
        assert_eq!(error_code("a=x|y|ASP_0115|z"), None);
        assert_eq!(error_code("a=1|2|ASP_01|z"), None);
        assert_eq!(error_code("-"), None);
        // Eight bytes that are not eight characters.
        assert_eq!(error_code("x|1|ASé_0115|y"), None);
        assert_eq!(error_code("x|1|ASPé115|y"), None);
        assert_eq!(error_code("x|1|AS\u{1F600}15|y"), None);
        assert!(meaning("asp_0115").is_some());
        assert!(meaning("800a01a8").is_none());
    }
}

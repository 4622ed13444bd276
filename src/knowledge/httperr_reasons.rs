//! HTTP.sys `s-reason` phrases (KB 820729, "Error logging in HTTP APIs") and what each says
//! about a crash. Sorted by name for binary search.

/// What a reason phrase tells the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonClass {
    /// The worker died with this request in flight (`Connection_Abandoned_By_*`).
    Abandoned,
    /// The pool was taken offline by rapid-fail protection (503 `AppOffline`).
    PoolOffline,
    /// The pool was stopped or shutting down by policy (not a crash by itself).
    PoolStopped,
    /// The worker did not take requests in time: a hang or a crash loop.
    Hang,
    /// Client went away or was slow: noise unless it bursts.
    ClientOrTimeout,
    /// HTTP.sys refused a malformed or disallowed request: bad-request pattern evidence.
    BadRequest,
    /// Limits and host resources.
    Capacity,
    /// Internal errors and anything else.
    Other,
}

/// (phrase, class, meaning) — every phrase of the Microsoft list, plus the ones seen in fixtures.
pub const REASONS: &[(&str, ReasonClass, &str)] = &[
    ("AppOffline", ReasonClass::PoolOffline, "service unavailable: the application was taken offline by application errors (rapid-fail protection)"),
    ("AppPoolTimer", ReasonClass::Hang, "service unavailable: the application pool process is too busy to handle the request"),
    ("AppShutdown", ReasonClass::PoolStopped, "service unavailable: the application shut down automatically by administrator policy"),
    ("BadRequest", ReasonClass::BadRequest, "a parse error occurred while processing the request"),
    ("Client_Reset", ReasonClass::ClientOrTimeout, "the connection between client and server was closed before the request could be assigned to a worker"),
    ("ConnLimit", ReasonClass::Capacity, "service unavailable: the site-level connection limit was reached"),
    ("Connection_Abandoned_By_AppPool", ReasonClass::Abandoned, "a worker process quit unexpectedly or orphaned a pending request by closing its handle"),
    ("Connection_Abandoned_By_ReqQueue", ReasonClass::Abandoned, "a worker process quit unexpectedly or orphaned a pending request by closing its handle"),
    ("Connection_Dropped", ReasonClass::ClientOrTimeout, "the connection was closed before the server could send the final response"),
    ("Connection_Dropped_List_Full", ReasonClass::Capacity, "the list of dropped connections between clients and the server is full"),
    ("ConnectionRefused", ReasonClass::Capacity, "kernel NonPagedPool memory fell below 20 MB; HTTP.sys stopped receiving new connections"),
    ("Connections_Refused", ReasonClass::Capacity, "kernel NonPagedPool memory fell below 20 MB; HTTP.sys stopped receiving new connections"),
    ("Disabled", ReasonClass::PoolStopped, "service unavailable: an administrator took the application offline"),
    ("EntityTooLarge", ReasonClass::BadRequest, "an entity exceeded the maximum size that is permitted"),
    ("FieldLength", ReasonClass::BadRequest, "a field length limit was exceeded"),
    ("Forbidden", ReasonClass::BadRequest, "a forbidden element or sequence was encountered while parsing"),
    ("Header", ReasonClass::BadRequest, "a parse error occurred in a header"),
    ("Hostname", ReasonClass::BadRequest, "a parse error occurred while processing a Hostname"),
    ("Internal", ReasonClass::Other, "an internal server error occurred"),
    ("Invalid_CR/LF", ReasonClass::BadRequest, "an illegal carriage return or line feed occurred"),
    ("LengthRequired", ReasonClass::BadRequest, "a required length value was missing"),
    ("N/A", ReasonClass::Other, "service unavailable: an internal error (memory allocation failure or URL reservation conflict)"),
    ("N/I", ReasonClass::Other, "not implemented: an unknown transfer encoding"),
    ("NotFound", ReasonClass::BadRequest, "not found (seen in logs; not in the Microsoft list)"),
    ("Number", ReasonClass::BadRequest, "a parse error occurred while processing a number"),
    ("Precondition", ReasonClass::BadRequest, "a required precondition was missing"),
    ("QueueFull", ReasonClass::Hang, "service unavailable: the application request queue is full"),
    ("RequestLength", ReasonClass::BadRequest, "a request length limit was exceeded"),
    ("Request_Too_Large", ReasonClass::BadRequest, "request too large (seen in logs; not in the Microsoft list)"),
    ("Timer_AppPool", ReasonClass::Hang, "the request waited too long in an application pool queue before a worker took it"),
    ("Timer_ConnectionIdle", ReasonClass::ClientOrTimeout, "the connection expired and remained idle"),
    ("Timer_EntityBody", ReasonClass::ClientOrTimeout, "the connection expired before the request entity body arrived"),
    ("Timer_HeaderWait", ReasonClass::ClientOrTimeout, "the connection expired before the header parsing finished"),
    ("Timer_MinBytesPerSecond", ReasonClass::ClientOrTimeout, "the client was not receiving the response at a reasonable speed (240 bytes/s)"),
    ("Timer_ReqQueue", ReasonClass::Hang, "the request waited too long in an application pool queue before a worker took it"),
    ("Timer_Response", ReasonClass::ClientOrTimeout, "reserved; not used"),
    ("Timer_SslRenegotiation", ReasonClass::ClientOrTimeout, "the connection expired before SSL renegotiation between client and server finished"),
    ("URL", ReasonClass::BadRequest, "a parse error occurred while processing a URL"),
    ("URL_Length", ReasonClass::BadRequest, "a URL exceeded the maximum permitted size"),
    ("Verb", ReasonClass::BadRequest, "a parse error occurred while processing a verb"),
    ("Version_N/S", ReasonClass::BadRequest, "version not supported: the HTTP version is not supported"),
];

fn lookup(reason: &[u8]) -> Option<&'static (&'static str, ReasonClass, &'static str)> {
    REASONS.binary_search_by(|(name, _, _)| name.as_bytes().cmp(reason)).ok().map(|i| &REASONS[i])
}

/// Whether `reason` is an HTTP.sys reason phrase we know.
pub fn is_known_reason(reason: &[u8]) -> bool {
    lookup(reason).is_some()
}

/// The class of a reason phrase; unknown phrases are [`ReasonClass::Other`].
pub fn class_of(reason: &str) -> ReasonClass {
    lookup(reason.as_bytes()).map_or(ReasonClass::Other, |r| r.1)
}

/// The meaning of a reason phrase, if known.
pub fn meaning(reason: &str) -> Option<&'static str> {
    lookup(reason.as_bytes()).map(|r| r.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(REASONS.windows(2).all(|w| w[0].0.as_bytes() < w[1].0.as_bytes()));
    }

    #[test]
    fn classes() {
        assert_eq!(class_of("Connection_Abandoned_By_AppPool"), ReasonClass::Abandoned);
        assert_eq!(class_of("AppOffline"), ReasonClass::PoolOffline);
        assert_eq!(class_of("Timer_AppPool"), ReasonClass::Hang);
        assert_eq!(class_of("Hostname"), ReasonClass::BadRequest);
        assert_eq!(class_of("Made_Up"), ReasonClass::Other);
        assert!(!is_known_reason(b"200"));
    }
}

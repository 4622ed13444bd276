//! Unhandled .NET exceptions: what each common type usually means in an IIS worker, and what
//! to do about it. Matched on the type's last name (`System.Data.SqlClient.SqlException` and
//! `Microsoft.Data.SqlClient.SqlException` alike).

/// The appcmd line that caps request bodies at 30 MB (IIS's own default is 30,000,000 bytes;
/// a site that raised it is what lets one upload take the worker's memory).
pub const CAP_REQUEST_SIZE: &str = "%windir%\\system32\\inetsrv\\appcmd.exe set config -section:system.webServer/security/requestFiltering /requestLimits.maxAllowedContentLength:30000000";

/// What to do about an unhandled exception of type `ty` that ended a worker.
pub fn advice(ty: &str) -> (&'static str, Vec<&'static str>) {
    let last = ty.rsplit('.').next().unwrap_or(ty);
    match last {
        "OutOfMemoryException" | "InsufficientMemoryException" => (
            "the worker ran out of memory: cap request sizes (requestLimits maxAllowedContentLength, httpRuntime maxRequestLength) so one upload cannot take it all, stream uploads instead of buffering them, and set a private-memory recycling limit below the point of failure; a full dump at high memory (procdump -m) shows what holds it",
            vec![
                CAP_REQUEST_SIZE,
                "procdump -accepteula -ma -m 1500 -n 1 w3wp.exe",
            ],
        ),
        "StackOverflowException" => (
            "a stack overflow cannot be caught: it is unbounded recursion in the method the stack repeats; fix the recursion (a depth limit or an iterative form) and test with the request that triggers it",
            vec![],
        ),
        "SqlException" | "DbException" | "OracleException" | "MySqlException"
        | "NpgsqlException" => (
            "a database error went unhandled: check the database and the connection (timeouts, deadlocks, logins) at the crash times, and handle the exception in the data-access code instead of letting it end the process",
            vec![],
        ),
        "FileNotFoundException"
        | "FileLoadException"
        | "TypeLoadException"
        | "MissingMethodException"
        | "BadImageFormatException"
        | "TypeInitializationException" => (
            "a deployment problem: an assembly or type the code needs is missing or of the wrong version (check the bin folder, binding redirects in web.config, and the last deployment)",
            vec![],
        ),
        "AccessViolationException" => (
            "native memory was corrupted under managed code (P/Invoke or a COM component): treat it as a native crash; capture a full dump and look at the native modules on the stack",
            vec!["procdump -accepteula -ma -e -n 3 w3wp.exe"],
        ),
        _ => (
            "an exception went unhandled on a thread of its own (a timer, a thread-pool callback, a fire-and-forget task) and ended the worker: handle exceptions in that code path, and log them",
            vec![],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::advice;

    #[test]
    fn advice_fits_the_type() {
        assert!(
            advice("System.OutOfMemoryException")
                .0
                .contains("request sizes")
        );
        assert!(
            advice("System.StackOverflowException")
                .0
                .contains("recursion")
        );
        assert!(
            advice("Microsoft.Data.SqlClient.SqlException")
                .0
                .contains("database")
        );
        assert!(
            advice("System.IO.FileNotFoundException")
                .0
                .contains("deployment")
        );
        assert!(advice("Contoso.LedgerException").0.contains("unhandled"));
    }
}

//! Windows exception codes seen in w3wp crashes: name, what they mean, what to do.
//!
//! Sources: the NTSTATUS / exception definitions in minidump-common, WinDbg `!analyze` docs,
//! DebugDiag crash rules (Tess Ferrandez, "Debugging a .NET crash with rules in Debug Diag").

use serde::Serialize;

/// What kind of failure a code stands for; the verdict picks its rule by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// Access violation.
    AccessViolation,
    /// An in-page error (the image file went away).
    InPageError,
    /// Stack overflow.
    StackOverflow,
    /// Heap corruption.
    HeapCorruption,
    /// `/GS` stack-cookie failure or `__fastfail` (0xC0000409), or `RaiseFailFastException`.
    FailFast,
    /// A C++ exception.
    CppException,
    /// An unhandled .NET exception.
    ClrException,
    /// A breakpoint.
    Breakpoint,
    /// The CRT's invalid-parameter handler.
    InvalidParameter,
    /// Out of memory.
    OutOfMemory,
    /// Illegal or privileged instruction.
    IllegalInstruction,
    /// Integer divide by zero.
    DivideByZero,
    /// An RPC failure.
    Rpc,
    /// A possible deadlock (critical-section timeout).
    Deadlock,
    /// Not a crash: a hang report or a manual dump's pseudo exception.
    NotACrash,
    /// Anything else.
    Other,
}

/// One known exception code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExceptionInfo {
    /// The code.
    pub code: u32,
    /// Its symbolic name.
    pub name: &'static str,
    /// What kind of failure.
    pub kind: ExceptionKind,
    /// What it means, in a sentence.
    pub meaning: &'static str,
    /// What to do.
    pub advice: &'static str,
}

macro_rules! exc {
    ($code:expr, $name:expr, $kind:ident, $meaning:expr, $advice:expr) => {
        ExceptionInfo {
            code: $code,
            name: $name,
            kind: ExceptionKind::$kind,
            meaning: $meaning,
            advice: $advice,
        }
    };
}

/// Known codes, in code order.
pub const EXCEPTIONS: &[ExceptionInfo] = &[
    exc!(
        0x4000_001F,
        "STATUS_WX86_BREAKPOINT",
        Breakpoint,
        "a breakpoint (int 3) in a 32-bit process under WOW64: DebugBreak, an assertion, or an Application Verifier / heap check stop",
        "look at the module that raised it; if Application Verifier or PageHeap is enabled this is its report of a bug"
    ),
    exc!(
        0x8000_0003,
        "EXCEPTION_BREAKPOINT",
        Breakpoint,
        "a breakpoint (int 3): DebugBreak, an assertion, or an Application Verifier / heap check stop",
        "look at the module that raised it; if Application Verifier or PageHeap is enabled this is its report of a bug"
    ),
    exc!(
        0x8007_06BA,
        "RPC_S_SERVER_UNAVAILABLE",
        Rpc,
        "the RPC server is unavailable (HRESULT 0x800706BA) while calling an out-of-process COM server or service",
        "check the service or COM+ application the caller talks to (event logs at the same time); the calling module is the suspect"
    ),
    exc!(
        0x8007_06BE,
        "RPC_S_CALL_FAILED",
        Rpc,
        "a remote procedure call failed (HRESULT 0x800706BE): the out-of-process server crashed or was recycled mid-call",
        "find the crash of the server process at the same time (DCOM / COM+ / dllhost.exe events)"
    ),
    exc!(
        0x8007_06BF,
        "RPC_S_CALL_FAILED_DNE",
        Rpc,
        "a remote procedure call failed and did not execute (HRESULT 0x800706BF)",
        "check the out-of-process server and the network path to it"
    ),
    exc!(
        0xC000_0005,
        "EXCEPTION_ACCESS_VIOLATION",
        AccessViolation,
        "access violation: code read, wrote or executed an address it may not (null or freed pointer, buffer overrun, call into unloaded code)",
        "the faulting module's vendor needs this dump; capture full dumps (procdump -ma -e) so the data is available"
    ),
    exc!(
        0xC000_0006,
        "EXCEPTION_IN_PAGE_ERROR",
        InPageError,
        "an in-page error: Windows could not page in code or data (disk, SAN or network share failure)",
        "check the storage and network path of the module or file (System event log at the crash time); not a code bug as such"
    ),
    exc!(
        0xC000_0008,
        "STATUS_INVALID_HANDLE",
        Other,
        "an invalid handle was used (closed twice or never opened)",
        "enable Application Verifier (Handles) for w3wp.exe to catch the first misuse"
    ),
    exc!(
        0xC000_000D,
        "STATUS_INVALID_PARAMETER",
        InvalidParameter,
        "the C runtime's invalid-parameter handler ended the process (a CRT function got an invalid argument)",
        "the module calling the CRT is the suspect; send the dump to its vendor"
    ),
    exc!(
        0xC000_0017,
        "STATUS_NO_MEMORY",
        OutOfMemory,
        "out of memory: an allocation failed (32-bit address space exhausted, or commit limit reached)",
        "check the pool's bitness and memory growth (Private Bytes / Virtual Bytes); capture a full dump before the failure to find the leak"
    ),
    exc!(
        0xC000_001D,
        "EXCEPTION_ILLEGAL_INSTRUCTION",
        IllegalInstruction,
        "an illegal instruction: execution jumped into data or a corrupt function pointer, or the CPU lacks an instruction",
        "treat as memory corruption in the faulting module; check the module was built for this CPU"
    ),
    exc!(
        0xC000_0025,
        "EXCEPTION_NONCONTINUABLE_EXCEPTION",
        Other,
        "code tried to continue after a non-continuable exception",
        "look at the module that installed the exception handler"
    ),
    exc!(
        0xC000_008C,
        "EXCEPTION_ARRAY_BOUNDS_EXCEEDED",
        Other,
        "array bounds exceeded (hardware-checked)",
        "bug in the faulting module"
    ),
    exc!(
        0xC000_008E,
        "EXCEPTION_FLT_DIVIDE_BY_ZERO",
        DivideByZero,
        "floating-point divide by zero",
        "bug in the faulting module"
    ),
    exc!(
        0xC000_008F,
        "EXCEPTION_FLT_INEXACT_RESULT",
        Other,
        "floating-point inexact result; also the code the Visual Basic 6 runtime uses to raise unhandled VB errors (a VB6 COM component in classic ASP)",
        "if a VB6 component (msvbvm60.dll on the stack) is loaded, it raised an unhandled error: fix its error handling"
    ),
    exc!(
        0xC000_0094,
        "EXCEPTION_INT_DIVIDE_BY_ZERO",
        DivideByZero,
        "integer divide by zero",
        "bug in the faulting module; send the dump to its vendor"
    ),
    exc!(
        0xC000_0095,
        "EXCEPTION_INT_OVERFLOW",
        Other,
        "integer overflow trap",
        "bug in the faulting module"
    ),
    exc!(
        0xC000_0096,
        "EXCEPTION_PRIV_INSTRUCTION",
        IllegalInstruction,
        "a privileged instruction in user mode: execution jumped into data or a corrupt function pointer",
        "treat as memory corruption in the faulting module"
    ),
    exc!(
        0xC000_00FD,
        "EXCEPTION_STACK_OVERFLOW",
        StackOverflow,
        "stack overflow: unbounded recursion, or very large stack buffers on w3wp's small thread stacks",
        "the repeating frames show the recursion; fix the recursion or the large stack allocation in that module"
    ),
    exc!(
        0xC000_0135,
        "STATUS_DLL_NOT_FOUND",
        Other,
        "a DLL the process needs was not found",
        "check the module path and its dependencies (bitness!)"
    ),
    exc!(
        0xC000_0142,
        "STATUS_DLL_INIT_FAILED",
        Other,
        "a DLL's initialisation (DllMain) failed",
        "the DLL being loaded is the suspect"
    ),
    exc!(
        0xC000_0194,
        "EXCEPTION_POSSIBLE_DEADLOCK",
        Deadlock,
        "a critical-section wait timed out: possible deadlock",
        "look at the owner of the critical section (full dump, !locks) and the modules holding it"
    ),
    exc!(
        0xC000_0374,
        "STATUS_HEAP_CORRUPTION",
        HeapCorruption,
        "the Windows heap found its structures corrupted (double free, use after free, buffer overrun); the crashing stack is usually a victim, not the culprit",
        "enable full PageHeap for w3wp.exe (gflags /p /enable w3wp.exe /full, or Application Verifier) and capture the next crash with procdump -ma -e w3wp.exe; PageHeap stops at the corrupting code"
    ),
    exc!(
        0xC000_0409,
        "EXCEPTION_STACK_BUFFER_OVERRUN",
        FailFast,
        "a fail-fast: /GS stack-cookie check failure (stack buffer overrun) or __fastfail with a subcode, raised by the module that detected corruption",
        "the raising module detected the problem; the subcode says what kind; send the dump to that module's vendor"
    ),
    exc!(
        0xC000_0602,
        "STATUS_FAIL_FAST_EXCEPTION",
        FailFast,
        "RaiseFailFastException: the process chose to die at once (e.g. Environment.FailFast or a CLR fatal error)",
        "look for a .NET Runtime event 1023/1025/1026 at the same time for the reason"
    ),
    exc!(
        0xCFFF_FFFF,
        "WER_HANG_REPORT",
        NotACrash,
        "a WER hang-report pseudo exception: the dump was taken of a hung process, not a crash",
        "treat it as a hang dump: look at what the threads wait on"
    ),
    exc!(
        0xE043_4352,
        "CLR_EXCEPTION_V4",
        ClrException,
        "an unhandled .NET 4.x exception (often on a background or timer thread, which ends the process)",
        "find the exception type and stack: .NET Runtime event 1026 at the same time, or the dump with SOS (!pe); fix or catch it in the application code"
    ),
    exc!(
        0xE043_4F4D,
        "CLR_EXCEPTION",
        ClrException,
        "an unhandled .NET 1.x-3.5 exception",
        "find the exception type and stack with SOS (!pe) or the .NET Runtime event at the same time"
    ),
    exc!(
        0xE053_534F,
        "CLR_STACK_OVERFLOW",
        StackOverflow,
        "a .NET stack overflow (the CLR's own code for it)",
        "look for the recursive managed method with SOS (!clrstack); .NET Runtime event 1026 names it"
    ),
    exc!(
        0xE06D_7363,
        "CPP_EH_EXCEPTION",
        CppException,
        "an unhandled C++ exception (MSVC throw) escaped to the top of a thread",
        "the first non-system module on the stack threw it and nobody caught it; send the dump to its vendor"
    ),
];

/// `__fastfail` subcodes (`info[0]` of 0xC0000409) with a plain meaning, for the common ones.
pub const FAST_FAIL: &[(u64, &str, &str)] = &[
    (
        0,
        "FAST_FAIL_LEGACY_GS_VIOLATION",
        "stack buffer overrun (/GS cookie)",
    ),
    (
        2,
        "FAST_FAIL_STACK_COOKIE_CHECK_FAILURE",
        "stack buffer overrun (/GS cookie)",
    ),
    (
        3,
        "FAST_FAIL_CORRUPT_LIST_ENTRY",
        "a corrupted linked list (heap or object lifetime corruption)",
    ),
    (
        4,
        "FAST_FAIL_INCORRECT_STACK",
        "the stack pointer left the thread's stack",
    ),
    (
        5,
        "FAST_FAIL_INVALID_ARG",
        "an invalid argument to a CRT or system function",
    ),
    (
        6,
        "FAST_FAIL_GS_COOKIE_INIT",
        "the /GS cookie was not initialised",
    ),
    (
        7,
        "FAST_FAIL_FATAL_APP_EXIT",
        "the application called abort() or a fatal-exit routine",
    ),
    (8, "FAST_FAIL_RANGE_CHECK_FAILURE", "an index out of range"),
    (
        10,
        "FAST_FAIL_GUARD_ICALL_CHECK_FAILURE",
        "Control Flow Guard blocked an indirect call to an invalid target (corrupt function pointer or vtable)",
    ),
    (
        13,
        "FAST_FAIL_INVALID_SET_OF_CONTEXT",
        "an invalid thread context was set",
    ),
    (
        14,
        "FAST_FAIL_INVALID_REFERENCE_COUNT",
        "a reference count went wrong (use after free)",
    ),
    (
        18,
        "FAST_FAIL_INVALID_JUMP_BUFFER",
        "longjmp to an invalid buffer",
    ),
    (
        21,
        "FAST_FAIL_INVALID_EXCEPTION_CHAIN",
        "the SEH exception chain is corrupt (stack corruption)",
    ),
    (
        23,
        "FAST_FAIL_INVALID_CALL_IN_DLL_CALLOUT",
        "an illegal call inside a DLL loader callout",
    ),
    (
        35,
        "FAST_FAIL_UNEXPECTED_HEAP_EXCEPTION",
        "an unexpected exception in the heap (heap corruption)",
    ),
    (
        37,
        "FAST_FAIL_GUARD_JUMPTABLE",
        "Control Flow Guard: invalid jump-table target",
    ),
    (
        38,
        "FAST_FAIL_INVALID_LONGJUMP_TARGET",
        "longjmp to an invalid target",
    ),
    (
        50,
        "FAST_FAIL_HEAP_METADATA_CORRUPTION",
        "heap metadata corruption",
    ),
    (
        57,
        "FAST_FAIL_CONTROL_INVALID_RETURN_ADDRESS",
        "CET shadow stack: a return address was overwritten",
    ),
    (
        64,
        "FAST_FAIL_GUARD_ICALL_CHECK_FAILURE_XFG",
        "eXtended Flow Guard blocked an indirect call",
    ),
];

/// The table entry for `code`, if known.
pub fn lookup(code: u32) -> Option<&'static ExceptionInfo> {
    EXCEPTIONS.iter().find(|e| e.code == code)
}

/// The kind of `code` (unknown codes: `Other`).
pub fn kind(code: u32) -> ExceptionKind {
    lookup(code).map_or(ExceptionKind::Other, |e| e.kind)
}

/// A name for `code`: the table name, else `unknown 0x…`.
pub fn name(code: u32) -> String {
    lookup(code).map_or_else(|| format!("unknown 0x{code:08x}"), |e| e.name.to_string())
}

/// Name and meaning of a `__fastfail` subcode.
pub fn fast_fail(sub: u64) -> Option<(&'static str, &'static str)> {
    FAST_FAIL
        .iter()
        .find(|(c, _, _)| *c == sub)
        .map(|(_, n, m)| (*n, *m))
}

/// For 0xC0000005 / 0xC0000006: what the access was (`info[0]`): read, write or execute (DEP).
pub fn access_kind(info0: u64) -> &'static str {
    match info0 {
        0 => "read",
        1 => "write",
        8 => "execute",
        _ => "unknown access",
    }
}

/// The short token used in bucket strings, like `!analyze`'s `AV_READ` / `HEAP_CORRUPTION`.
pub fn bucket_token(code: u32, info0: Option<u64>) -> String {
    match kind(code) {
        ExceptionKind::AccessViolation => match info0 {
            Some(0) => "AV_READ".into(),
            Some(1) => "AV_WRITE".into(),
            Some(8) => "AV_EXEC".into(),
            _ => "AV".into(),
        },
        ExceptionKind::StackOverflow => "STACK_OVERFLOW".into(),
        ExceptionKind::HeapCorruption => "HEAP_CORRUPTION".into(),
        ExceptionKind::FailFast => match info0.and_then(fast_fail) {
            Some((n, _)) => n.trim_start_matches("FAST_FAIL_").to_string(),
            None => "FAIL_FAST".into(),
        },
        ExceptionKind::CppException => "CPP_EXCEPTION".into(),
        ExceptionKind::ClrException => "CLR_EXCEPTION".into(),
        ExceptionKind::Breakpoint => "BREAKPOINT".into(),
        ExceptionKind::InvalidParameter => "INVALID_PARAMETER".into(),
        ExceptionKind::OutOfMemory => "NO_MEMORY".into(),
        ExceptionKind::InPageError => "IN_PAGE_ERROR".into(),
        ExceptionKind::IllegalInstruction => "ILLEGAL_INSTRUCTION".into(),
        ExceptionKind::DivideByZero => "DIVIDE_BY_ZERO".into(),
        ExceptionKind::Rpc => "RPC_FAILURE".into(),
        ExceptionKind::Deadlock => "POSSIBLE_DEADLOCK".into(),
        ExceptionKind::NotACrash => "HANG".into(),
        ExceptionKind::Other => format!("{code:08x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes() {
        assert_eq!(kind(0xC000_0005), ExceptionKind::AccessViolation);
        assert_eq!(kind(0xC000_0374), ExceptionKind::HeapCorruption);
        assert_eq!(kind(0xC000_00FD), ExceptionKind::StackOverflow);
        assert_eq!(kind(0xE043_4352), ExceptionKind::ClrException);
        assert_eq!(kind(0xE06D_7363), ExceptionKind::CppException);
        assert_eq!(name(0xC000_0409), "EXCEPTION_STACK_BUFFER_OVERRUN");
        assert_eq!(name(0x1234_5678), "unknown 0x12345678");
        assert!(
            lookup(0xC000_0374)
                .unwrap()
                .advice
                .contains("gflags /p /enable w3wp.exe /full")
        );
        assert_eq!(fast_fail(7).map(|f| f.0), Some("FAST_FAIL_FATAL_APP_EXIT"));
        assert_eq!(bucket_token(0xC000_0005, Some(1)), "AV_WRITE");
        assert_eq!(
            bucket_token(0xC000_0409, Some(2)),
            "STACK_COOKIE_CHECK_FAILURE"
        );
        assert_eq!(bucket_token(0x1234_5678, None), "12345678");
    }

    #[test]
    fn every_entry_is_complete_and_unique() {
        let named: Vec<_> = EXCEPTIONS.iter().collect();
        for e in &named {
            assert!(
                !e.name.is_empty() && !e.meaning.is_empty() && !e.advice.is_empty(),
                "{:x}",
                e.code
            );
        }
        let mut codes: Vec<u32> = named.iter().map(|e| e.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), named.len());
    }
}

//! What a module loaded in `w3wp.exe` is: Windows, IIS, ASP.NET, the CLR, classic ASP, COM, or
//! somebody else's code.
//!
//! Minidumps carry no CompanyName (only `VS_FIXEDFILEINFO`), so "Microsoft or third party" is
//! decided from the file name and the folder: a name in the tables below, or anything under the
//! Windows folder, the .NET Framework folders or the IIS / dotnet folders under Program Files, is
//! Microsoft; anything else is third party. ASP.NET's "Temporary ASP.NET Files" lives under the
//! .NET folder but holds the *application's* assemblies, so it is third party. A Windows name at a
//! path outside Windows (`C:\app\ntdll.dll`) is treated as third party: names can lie.

named_enum! {
    /// The class of a module in a w3wp process, in the order the verdict prefers suspects.
    #[derive(Default)]
    pub enum ModuleClass {
        /// ntdll, kernel32, kernelbase, the CRT, crypto, WOW64, dump writers: the victim, rarely the cause.
        OsCore = "os_core",
        /// OLE/COM and RPC runtime: crashes there are nearly always a caller's bad object or BSTR.
        ComRuntime = "com_runtime",
        /// The IIS worker process itself: w3wp.exe, iiscore, w3dt, w3tp, iisutil, nativerd …
        IisCore = "iis_core",
        /// The IIS ISAPI host (`isapi.dll`, `w3isapi.dll`): it calls filters and extensions.
        IsapiHost = "isapi_host",
        /// Built-in IIS modules (static file, compression, authentication, URL Rewrite, FREB, ARR …).
        IisBuiltin = "iis_builtin_module",
        /// ASP.NET / ASP.NET Core hosting in IIS (webengine4, aspnet_isapi, ANCM aspnetcore*.dll).
        AspnetHost = "aspnet_host",
        /// The .NET runtime (clr, coreclr, mscorwks, clrjit, framework native images).
        Clr = "clr",
        /// Classic ASP and its script engines and data access (asp.dll, vbscript, jscript, ADO).
        ClassicAsp = "classic_asp",
        /// Other Microsoft code under the Windows folder.
        WindowsOther = "windows_other",
        /// A third-party ISAPI filter/extension or component we know by name (see [`known_vendor`]).
        ThirdPartyKnown = "third_party_known",
        /// Anything outside the Windows and Microsoft .NET folders.
        ThirdParty = "third_party",
        /// Code that belongs to no module: JIT-compiled (managed) or dynamically generated code.
        DynamicCode = "dynamic_code",
        /// No name at all.
        #[default]
        Unknown = "unknown",
}
}

impl ModuleClass {
    /// A short human label for reports.
    pub fn label(self) -> &'static str {
        match self {
            ModuleClass::OsCore => "Windows core",
            ModuleClass::ComRuntime => "COM/RPC runtime",
            ModuleClass::IisCore => "IIS core",
            ModuleClass::IsapiHost => "IIS ISAPI host",
            ModuleClass::IisBuiltin => "IIS built-in module",
            ModuleClass::AspnetHost => "ASP.NET host",
            ModuleClass::Clr => ".NET runtime",
            ModuleClass::ClassicAsp => "classic ASP",
            ModuleClass::WindowsOther => "Windows component",
            ModuleClass::ThirdPartyKnown => "third-party add-on",
            ModuleClass::ThirdParty => "third-party code",
            ModuleClass::DynamicCode => "JIT/dynamic code",
            ModuleClass::Unknown => "unknown",
        }
    }

    /// Not Microsoft's.
    pub fn is_third_party(self) -> bool {
        matches!(self, ModuleClass::ThirdPartyKnown | ModuleClass::ThirdParty)
    }

    /// Code the verdict walks past, like `!analyze` skips modules marked in triage.ini: a crash
    /// here is usually a symptom of what the caller passed in.
    pub fn is_skipped_by_verdict(self) -> bool {
        matches!(
            self,
            ModuleClass::OsCore | ModuleClass::ComRuntime | ModuleClass::IisCore | ModuleClass::Clr
        )
    }

    /// How strongly a frame in this module points at the cause (0 = never on its own).
    pub fn suspect_weight(self) -> u8 {
        match self {
            ModuleClass::ThirdPartyKnown | ModuleClass::ThirdParty => 5,
            ModuleClass::DynamicCode => 4,
            ModuleClass::AspnetHost | ModuleClass::ClassicAsp => 3,
            ModuleClass::IisBuiltin | ModuleClass::IsapiHost => 2,
            ModuleClass::WindowsOther => 1,
            _ => 0,
        }
    }
}

named_enum! {
    /// What a (third-party) suspect is to IIS: how IIS, COM or the CLR came to call it. Inferred from
    /// the crashing stack (who called the module), else from [`KNOWN_THIRD_PARTY`] by name.
    pub enum SuspectRole {
        /// Called by IIS's ISAPI filter host (`filter.dll`, the IsapiFilterModule).
        IsapiFilter = "isapi_filter",
        /// Called by IIS's ISAPI extension host (`isapi.dll` / `w3isapi.dll`, the IsapiModule).
        IsapiExtension = "isapi_extension",
        /// Called through COM dispatch (`oleaut32`, `ole32`, `combase`, `comsvcs`) or a classic ASP
        /// script engine (`asp.dll`, `vbscript.dll`, `jscript.dll`).
        ComObject = "com_object",
        /// Called by the IIS pipeline (`iiscore.dll`): a native module (`RegisterModule`). Also the
        /// answer when the stack does not say (see `CrashRow.suspect_role`).
        NativeModule = "native_module",
        /// Native code called from managed code (P/Invoke): the caller is the CLR or JIT code.
        ManagedPinvoke = "managed_pinvoke",
        /// The fault is in managed (JIT-compiled) code itself.
        ManagedCode = "managed_code",
        /// Called by the ASP.NET Core Module (`aspnetcorev2*.dll`, `aspnetcore.dll`).
        Ancm = "ancm",
    }
}

impl SuspectRole {
    /// A human label, to follow "a third-party …".
    pub fn label(self) -> &'static str {
        match self {
            SuspectRole::IsapiFilter => "ISAPI filter",
            SuspectRole::IsapiExtension => "ISAPI extension",
            SuspectRole::ComObject => "COM object",
            SuspectRole::NativeModule => "native IIS module",
            SuspectRole::ManagedPinvoke => "native library called from managed code (P/Invoke)",
            SuspectRole::ManagedCode => "managed code",
            SuspectRole::Ancm => "component of the ASP.NET Core Module (ANCM)",
        }
    }

    /// The role of a module known by name ([`KNOWN_THIRD_PARTY`]), for evidence without a stack.
    /// `ISAPI filter/extension` products count as filters (they register as both, the filter
    /// sees every request first).
    pub fn from_known(name_or_path: &str) -> Option<SuspectRole> {
        known_vendor(name_or_path).map(|k| k.kind)
    }
}

/// The role a *caller* gives the module it calls: `Some((role, who))` when `caller` (a module file
/// name of class `class`) is a Microsoft host that calls add-ons, with `who` describing it for the
/// verdict ("IIS's ISAPI filter host filter.dll"). A third-party copy of a host's name is no host.
pub fn caller_role(caller: &str, class: ModuleClass) -> Option<(SuspectRole, String)> {
    if class.is_third_party() || class == ModuleClass::Unknown {
        return None;
    }
    let b = basename(caller).to_ascii_lowercase();
    let (role, who) = match b.as_str() {
        "filter.dll" => (SuspectRole::IsapiFilter, "IIS's ISAPI filter host"),
        "isapi.dll" | "w3isapi.dll" => (SuspectRole::IsapiExtension, "IIS's ISAPI extension host"),
        "asp.dll" => (SuspectRole::ComObject, "classic ASP"),
        "vbscript.dll" | "jscript.dll" | "jscript9.dll" => {
            (SuspectRole::ComObject, "the classic ASP script engine")
        }
        "oleaut32.dll" | "ole32.dll" | "combase.dll" | "comsvcs.dll" => {
            (SuspectRole::ComObject, "COM dispatch in")
        }
        "clr.dll" | "coreclr.dll" | "mscorwks.dll" | "system.private.corelib.dll" => {
            (SuspectRole::ManagedPinvoke, "the .NET runtime")
        }
        "iiscore.dll" => (SuspectRole::NativeModule, "the IIS pipeline"),
        "aspnetcore.dll" => (SuspectRole::Ancm, "the ASP.NET Core Module"),
        n if n.starts_with("aspnetcorev2") && n.ends_with(".dll") => {
            (SuspectRole::Ancm, "the ASP.NET Core Module")
        }
        // Framework NGEN images are managed code calling out.
        n if n.ends_with(".ni.dll") => (SuspectRole::ManagedPinvoke, "precompiled managed code in"),
        _ => return None,
    };
    Some((role, format!("{who} {}", basename(caller))))
}

/// Modules a call into a suspect may pass through on its way from the host: C/C++ runtimes and
/// the RPC/COM marshalling layer (stubs between COM dispatch and the object).
pub fn is_transit(name: &str, class: ModuleClass) -> bool {
    let b = basename(name).to_ascii_lowercase();
    class.is_third_party()
        || (class == ModuleClass::OsCore
            && (b.starts_with("msvcr")
                || b.starts_with("msvcp")
                || b.starts_with("vcruntime")
                || b.starts_with("ucrtbase")
                || b.starts_with("api-ms-win-crt")))
        || b == "rpcrt4.dll"
}

/// A third-party module known to run inside w3wp, with who to call about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownModule {
    /// Lowercase file name.
    pub name: &'static str,
    /// Who makes it.
    pub vendor: &'static str,
    /// The product it belongs to.
    pub product: &'static str,
    /// What it is to IIS, in the vendor's words: `ISAPI filter`, `ISAPI extension`, `native
    /// module`, `COM component` …
    pub role: &'static str,
    /// The suspect role evidence without a stack gives it (`ISAPI filter/extension` products
    /// count as filters: they register as both, and the filter sees every request first).
    pub kind: SuspectRole,
}

/// Third-party add-ons often found in crashing w3wp processes (sorted by name).
pub const KNOWN_THIRD_PARTY: &[KnownModule] = &[
    KnownModule {
        name: "aspemail.dll",
        vendor: "Persits Software",
        product: "AspEmail",
        role: "COM component",
        kind: SuspectRole::ComObject,
    },
    KnownModule {
        name: "aspjpeg.dll",
        vendor: "Persits Software",
        product: "AspJpeg",
        role: "COM component",
        kind: SuspectRole::ComObject,
    },
    KnownModule {
        name: "aspupload.dll",
        vendor: "Persits Software",
        product: "AspUpload",
        role: "COM component",
        kind: SuspectRole::ComObject,
    },
    KnownModule {
        name: "iisnode.dll",
        vendor: "iisnode project (Tomasz Janczuk)",
        product: "iisnode",
        role: "native module",
        kind: SuspectRole::NativeModule,
    },
    KnownModule {
        name: "iiswasplugin_http.dll",
        vendor: "IBM",
        product: "WebSphere plug-in for IIS",
        role: "ISAPI filter/extension",
        kind: SuspectRole::IsapiFilter,
    },
    KnownModule {
        name: "isapi6webagent.dll",
        vendor: "Broadcom (CA)",
        product: "SiteMinder Web Agent",
        role: "ISAPI filter/extension",
        kind: SuspectRole::IsapiFilter,
    },
    KnownModule {
        name: "isapi_redirect.dll",
        vendor: "Apache Software Foundation",
        product: "Tomcat Connector (isapi_redirect)",
        role: "ISAPI filter/extension",
        kind: SuspectRole::IsapiFilter,
    },
    KnownModule {
        name: "isapi_rewrite.dll",
        vendor: "Helicon Tech",
        product: "ISAPI_Rewrite",
        role: "ISAPI filter",
        kind: SuspectRole::IsapiFilter,
    },
    KnownModule {
        name: "isapi_rewrite64.dll",
        vendor: "Helicon Tech",
        product: "ISAPI_Rewrite (64-bit)",
        role: "ISAPI filter",
        kind: SuspectRole::IsapiFilter,
    },
    KnownModule {
        name: "jrun.dll",
        vendor: "Adobe (Macromedia)",
        product: "JRun / ColdFusion connector",
        role: "ISAPI extension",
        kind: SuspectRole::IsapiExtension,
    },
    KnownModule {
        name: "jrun_iis6.dll",
        vendor: "Adobe",
        product: "ColdFusion / JRun IIS connector",
        role: "ISAPI filter/extension",
        kind: SuspectRole::IsapiFilter,
    },
    KnownModule {
        name: "jrun_iis6_wildcard.dll",
        vendor: "Adobe",
        product: "ColdFusion / JRun IIS wildcard connector",
        role: "ISAPI extension",
        kind: SuspectRole::IsapiExtension,
    },
    KnownModule {
        name: "modsecurityiis.dll",
        vendor: "Trustwave SpiderLabs / OWASP",
        product: "ModSecurity for IIS",
        role: "native module",
        kind: SuspectRole::NativeModule,
    },
    KnownModule {
        name: "oci.dll",
        vendor: "Oracle",
        product: "Oracle Call Interface client",
        role: "data access library",
        kind: SuspectRole::NativeModule,
    },
    KnownModule {
        name: "perlis.dll",
        vendor: "ActiveState",
        product: "ActivePerl PerlIS",
        role: "ISAPI extension",
        kind: SuspectRole::IsapiExtension,
    },
    KnownModule {
        name: "php4isapi.dll",
        vendor: "The PHP Group",
        product: "PHP 4 ISAPI",
        role: "ISAPI extension",
        kind: SuspectRole::IsapiExtension,
    },
    KnownModule {
        name: "php5isapi.dll",
        vendor: "The PHP Group",
        product: "PHP 5 ISAPI",
        role: "ISAPI extension",
        kind: SuspectRole::IsapiExtension,
    },
    KnownModule {
        name: "urlscan.dll",
        vendor: "Microsoft (legacy add-on)",
        product: "URLScan",
        role: "ISAPI filter",
        kind: SuspectRole::IsapiFilter,
    },
];

/// (lowercase file name, class) for Microsoft modules, sorted by name for binary search.
const MICROSOFT: &[(&str, ModuleClass)] = &[
    ("advapi32.dll", ModuleClass::OsCore),
    ("asp.dll", ModuleClass::ClassicAsp),
    ("aspnet_filter.dll", ModuleClass::AspnetHost),
    ("aspnet_isapi.dll", ModuleClass::AspnetHost),
    ("aspnetcore.dll", ModuleClass::AspnetHost),
    ("aspnetcorev2.dll", ModuleClass::AspnetHost),
    ("aspnetcorev2_inprocess.dll", ModuleClass::AspnetHost),
    ("aspnetcorev2_outofprocess.dll", ModuleClass::AspnetHost),
    ("authanon.dll", ModuleClass::IisBuiltin),
    ("authbas.dll", ModuleClass::IisBuiltin),
    ("authcert.dll", ModuleClass::IisBuiltin),
    ("authmap.dll", ModuleClass::IisBuiltin),
    ("authmd5.dll", ModuleClass::IisBuiltin),
    ("authsspi.dll", ModuleClass::IisBuiltin),
    ("bcrypt.dll", ModuleClass::OsCore),
    ("bcryptprimitives.dll", ModuleClass::OsCore),
    ("cachfile.dll", ModuleClass::IisBuiltin),
    ("cachhttp.dll", ModuleClass::IisBuiltin),
    ("cachtokn.dll", ModuleClass::IisBuiltin),
    ("cachuri.dll", ModuleClass::IisBuiltin),
    ("cgi.dll", ModuleClass::IisBuiltin),
    ("clbcatq.dll", ModuleClass::ComRuntime),
    ("clr.dll", ModuleClass::Clr),
    ("clrjit.dll", ModuleClass::Clr),
    ("combase.dll", ModuleClass::ComRuntime),
    ("compdyn.dll", ModuleClass::IisBuiltin),
    ("compstat.dll", ModuleClass::IisBuiltin),
    ("comsvcs.dll", ModuleClass::ComRuntime),
    ("coreclr.dll", ModuleClass::Clr),
    ("crypt32.dll", ModuleClass::OsCore),
    ("cryptbase.dll", ModuleClass::OsCore),
    ("custerr.dll", ModuleClass::IisBuiltin),
    ("dbgcore.dll", ModuleClass::OsCore),
    ("dbghelp.dll", ModuleClass::OsCore),
    ("defdoc.dll", ModuleClass::IisBuiltin),
    ("diprestr.dll", ModuleClass::IisBuiltin),
    ("dirlist.dll", ModuleClass::IisBuiltin),
    ("faultrep.dll", ModuleClass::OsCore),
    ("filter.dll", ModuleClass::IisBuiltin),
    ("gdi32.dll", ModuleClass::OsCore),
    ("hostfxr.dll", ModuleClass::Clr),
    ("hostpolicy.dll", ModuleClass::Clr),
    ("httpapi.dll", ModuleClass::IisCore),
    ("iis_ssi.dll", ModuleClass::IisBuiltin),
    ("iiscore.dll", ModuleClass::IisCore),
    ("iisetw.dll", ModuleClass::IisBuiltin),
    ("iisfcgi.dll", ModuleClass::IisBuiltin),
    ("iisfreb.dll", ModuleClass::IisBuiltin),
    ("iisreqs.dll", ModuleClass::IisBuiltin),
    ("iisres.dll", ModuleClass::IisCore),
    ("iisutil.dll", ModuleClass::IisCore),
    ("iiswsock.dll", ModuleClass::IisBuiltin),
    ("iprestr.dll", ModuleClass::IisBuiltin),
    ("isapi.dll", ModuleClass::IsapiHost),
    ("jscript.dll", ModuleClass::ClassicAsp),
    ("jscript9.dll", ModuleClass::ClassicAsp),
    ("kernel32.dll", ModuleClass::OsCore),
    ("kernelbase.dll", ModuleClass::OsCore),
    ("loghttp.dll", ModuleClass::IisBuiltin),
    ("modrqflt.dll", ModuleClass::IisBuiltin),
    ("msado15.dll", ModuleClass::ClassicAsp),
    ("mscoree.dll", ModuleClass::Clr),
    ("mscoreei.dll", ModuleClass::Clr),
    ("mscorjit.dll", ModuleClass::Clr),
    ("mscorlib.ni.dll", ModuleClass::Clr),
    ("mscorwks.dll", ModuleClass::Clr),
    ("msdart.dll", ModuleClass::ClassicAsp),
    ("msdtcprx.dll", ModuleClass::ComRuntime),
    ("msvcp_win.dll", ModuleClass::OsCore),
    ("msvcrt.dll", ModuleClass::OsCore),
    ("mswsock.dll", ModuleClass::OsCore),
    ("nativerd.dll", ModuleClass::IisCore),
    ("ntdll.dll", ModuleClass::OsCore),
    ("ole32.dll", ModuleClass::ComRuntime),
    ("oleaut32.dll", ModuleClass::ComRuntime),
    ("oledb32.dll", ModuleClass::ClassicAsp),
    ("protsup.dll", ModuleClass::IisBuiltin),
    ("redirect.dll", ModuleClass::IisBuiltin),
    ("requestrouter.dll", ModuleClass::IisBuiltin),
    ("rewrite.dll", ModuleClass::IisBuiltin),
    ("rpcproxy.dll", ModuleClass::IisBuiltin),
    ("rpcrt4.dll", ModuleClass::ComRuntime),
    ("scrrun.dll", ModuleClass::ClassicAsp),
    ("sechost.dll", ModuleClass::OsCore),
    ("sqloledb.dll", ModuleClass::ClassicAsp),
    ("sspicli.dll", ModuleClass::OsCore),
    ("static.dll", ModuleClass::IisBuiltin),
    ("ucrtbase.dll", ModuleClass::OsCore),
    ("user32.dll", ModuleClass::OsCore),
    ("validcfg.dll", ModuleClass::IisBuiltin),
    ("vbscript.dll", ModuleClass::ClassicAsp),
    ("verifier.dll", ModuleClass::OsCore),
    ("w3core.dll", ModuleClass::IisCore),
    ("w3dt.dll", ModuleClass::IisCore),
    ("w3isapi.dll", ModuleClass::IsapiHost),
    ("w3tp.dll", ModuleClass::IisCore),
    ("w3wp.exe", ModuleClass::IisCore),
    ("w3wphost.dll", ModuleClass::IisCore),
    ("warmup.dll", ModuleClass::IisBuiltin),
    ("webengine.dll", ModuleClass::AspnetHost),
    ("webengine4.dll", ModuleClass::AspnetHost),
    ("wer.dll", ModuleClass::OsCore),
    ("win32u.dll", ModuleClass::OsCore),
    ("wow64.dll", ModuleClass::OsCore),
    ("wow64cpu.dll", ModuleClass::OsCore),
    ("wow64win.dll", ModuleClass::OsCore),
    ("ws2_32.dll", ModuleClass::OsCore),
];

/// The processes IIS serves requests from: its worker, IIS 5/6's host and out-of-process
/// application host, IIS Express (which also hosts the ASP.NET Core Module).
pub const IIS_PROCESSES: &[&str] = &["w3wp.exe", "inetinfo.exe", "dllhost.exe", "iisexpress.exe"];

/// Whether the process (a name or path, `.exe` optional) is one IIS serves requests from (see
/// [`IIS_PROCESSES`]). An unknown process (`None`) counts as one: WAS events are about workers,
/// and a dump or event that does not name its process is given the benefit of the doubt.
pub fn is_iis_process(process: Option<&str>) -> bool {
    let Some(p) = process
        .map(|p| basename(p.trim()))
        .filter(|p| !p.is_empty())
    else {
        return true;
    };
    IIS_PROCESSES
        .iter()
        .any(|k| p.eq_ignore_ascii_case(k) || p.eq_ignore_ascii_case(k.trim_end_matches(".exe")))
}

/// The file name of a Windows path (either separator), as written.
pub fn basename(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

/// The vendor entry for a known third-party module, by name or path.
pub fn known_vendor(name_or_path: &str) -> Option<&'static KnownModule> {
    let base = basename(name_or_path).to_ascii_lowercase();
    KNOWN_THIRD_PARTY
        .binary_search_by(|k| k.name.cmp(base.as_str()))
        .ok()
        .map(|i| &KNOWN_THIRD_PARTY[i])
}

/// Whether a lowercase, `\`-separated path lies in a folder only Microsoft installs into.
fn is_microsoft_location(p: &str) -> bool {
    // Strip NT and Win32 device prefixes (`\??\C:\…`, `\\?\C:\…`).
    let p = p
        .strip_prefix(r"\??\")
        .or_else(|| p.strip_prefix(r"\\?\"))
        .unwrap_or(p);
    // The drive letter is not fixed: Windows may live on D:.
    let rest = match p.as_bytes() {
        [_, b':', b'\\', ..] => &p[2..],
        _ => p,
    };
    if rest.contains(r"\temporary asp.net files\") {
        return false;
    }
    [
        r"\windows\",
        r"\winnt\",
        r"\systemroot\",
        r"%windir%\",
        r"%systemroot%\",
        r"\program files\iis\",
        r"\program files (x86)\iis\",
        r"\program files\iis express\",
        r"\program files (x86)\iis express\",
        r"\program files\dotnet\",
        r"\program files (x86)\dotnet\",
        r"\program files\common files\microsoft shared\",
        r"\program files (x86)\common files\microsoft shared\",
        r"\program files\reference assemblies\microsoft\",
    ]
    .iter()
    .any(|root| rest.starts_with(root) || (root.starts_with('%') && p.starts_with(root)))
}

/// Classifies a module by file name or full path.
pub fn classify(name_or_path: &str) -> ModuleClass {
    let lower = name_or_path.trim().to_ascii_lowercase().replace('/', "\\");
    let base = basename(&lower);
    if base.is_empty() {
        return ModuleClass::Unknown;
    }
    if known_vendor(base).is_some() {
        return ModuleClass::ThirdPartyKnown;
    }
    let has_dir = lower.contains('\\');
    let microsoft_place = has_dir && is_microsoft_location(&lower);
    if has_dir && !microsoft_place {
        // A Microsoft name in a non-Microsoft folder is somebody else's copy (or a decoy).
        return ModuleClass::ThirdParty;
    }
    if let Ok(i) = MICROSOFT.binary_search_by(|(n, _)| (*n).cmp(base)) {
        return MICROSOFT[i].1;
    }
    // Families matched by prefix: CRT redistributables, bcrypt*, WER, framework native images.
    if base.starts_with("msvcr")
        || base.starts_with("msvcp")
        || base.starts_with("vcruntime")
        || base.starts_with("api-ms-win-")
        || base.starts_with("bcrypt")
        || base.starts_with("wer")
    {
        return ModuleClass::OsCore;
    }
    if base.ends_with(".ni.dll") {
        // NGEN images: the framework's own are runtime; an app's are app code.
        return if base.starts_with("system")
            || base.starts_with("microsoft.")
            || base.starts_with("mscorlib")
        {
            ModuleClass::Clr
        } else {
            ModuleClass::ThirdParty
        };
    }
    if microsoft_place {
        return ModuleClass::WindowsOther;
    }
    // A bare name we do not know: nobody ships it with Windows or IIS.
    ModuleClass::ThirdParty
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_sorted_for_binary_search() {
        assert!(
            MICROSOFT.windows(2).all(|w| w[0].0 < w[1].0),
            "MICROSOFT not sorted"
        );
        assert!(
            KNOWN_THIRD_PARTY.windows(2).all(|w| w[0].name < w[1].name),
            "KNOWN_THIRD_PARTY not sorted"
        );
        assert!(MICROSOFT.iter().all(|(n, _)| n.to_ascii_lowercase() == *n));
    }

    #[test]
    fn classes_by_name_and_path() {
        assert_eq!(
            classify(r"C:\Windows\System32\ntdll.dll"),
            ModuleClass::OsCore
        );
        assert_eq!(classify("KERNELBASE.dll"), ModuleClass::OsCore);
        assert_eq!(
            classify(r"C:\Windows\SysWOW64\inetsrv\w3wp.exe"),
            ModuleClass::IisCore
        );
        assert_eq!(
            classify(r"c:\windows\system32\inetsrv\iiscore.dll"),
            ModuleClass::IisCore
        );
        assert_eq!(
            classify(r"C:\Windows\System32\inetsrv\rewrite.dll"),
            ModuleClass::IisBuiltin
        );
        assert_eq!(
            classify(r"C:\Windows\System32\inetsrv\isapi.dll"),
            ModuleClass::IsapiHost
        );
        assert_eq!(
            classify(r"C:\Program Files\IIS\Asp.Net Core Module\V2\aspnetcorev2.dll"),
            ModuleClass::AspnetHost
        );
        assert_eq!(
            classify(r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\clr.dll"),
            ModuleClass::Clr
        );
        assert_eq!(
            classify(r"C:\Program Files\dotnet\shared\Microsoft.NETCore.App\8.0.0\coreclr.dll"),
            ModuleClass::Clr
        );
        assert_eq!(classify("mscorlib.ni.dll"), ModuleClass::Clr);
        assert_eq!(
            classify(r"C:\Windows\System32\inetsrv\asp.dll"),
            ModuleClass::ClassicAsp
        );
        assert_eq!(
            classify(r"C:\Windows\System32\vbscript.dll"),
            ModuleClass::ClassicAsp
        );
        assert_eq!(
            classify(r"C:\Windows\System32\oleaut32.dll"),
            ModuleClass::ComRuntime
        );
        assert_eq!(
            classify(r"C:\Windows\System32\msvcr90.dll"),
            ModuleClass::OsCore
        );
        assert_eq!(
            classify(r"C:\Windows\System32\shell32.dll"),
            ModuleClass::WindowsOther
        );
        assert_eq!(
            classify(r"D:\Windows\System32\ntdll.dll"),
            ModuleClass::OsCore
        );
        assert_eq!(
            classify(r"\??\C:\Windows\system32\ntdll.dll"),
            ModuleClass::OsCore
        );
    }

    #[test]
    fn third_party() {
        assert_eq!(
            classify(r"C:\Program Files\Helicon\ISAPI_Rewrite3\ISAPI_Rewrite.dll"),
            ModuleClass::ThirdPartyKnown
        );
        assert_eq!(
            known_vendor("ISAPI_Rewrite.dll").map(|k| k.vendor),
            Some("Helicon Tech")
        );
        assert_eq!(
            known_vendor(r"C:\tomcat\isapi_redirect.dll").map(|k| k.product),
            Some("Tomcat Connector (isapi_redirect)")
        );
        assert_eq!(
            classify(r"C:\inetpub\filters\ctsofilter.dll"),
            ModuleClass::ThirdParty
        );
        assert_eq!(classify("ctsofilter.dll"), ModuleClass::ThirdParty);
        // App assemblies shadow-copied by ASP.NET are the application's code.
        assert_eq!(
            classify(
                r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\Temporary ASP.NET Files\root\1\2\assembly\dl3\3\MyApp.dll"
            ),
            ModuleClass::ThirdParty
        );
        // Decoy names outside Windows are not trusted (breakpad thread_name_list.dmp has ntd1l.dll).
        assert_eq!(classify(r"C:\app\ntdll.dll"), ModuleClass::ThirdParty);
        assert_eq!(
            classify(r"C:\Windows\System32\ntd1l.dll"),
            ModuleClass::WindowsOther
        );
        assert_eq!(classify(""), ModuleClass::Unknown);
        assert!(ModuleClass::ThirdPartyKnown.is_third_party());
        assert!(!ModuleClass::OsCore.is_third_party());
    }

    #[test]
    fn roles_by_caller_and_by_name() {
        let role = |n: &str| caller_role(n, classify(n)).map(|r| r.0);
        assert_eq!(
            role(r"C:\Windows\System32\inetsrv\filter.dll"),
            Some(SuspectRole::IsapiFilter)
        );
        assert_eq!(role("isapi.dll"), Some(SuspectRole::IsapiExtension));
        assert_eq!(role("OLEAUT32.dll"), Some(SuspectRole::ComObject));
        assert_eq!(role("vbscript.dll"), Some(SuspectRole::ComObject));
        assert_eq!(role("coreclr.dll"), Some(SuspectRole::ManagedPinvoke));
        assert_eq!(role("mscorlib.ni.dll"), Some(SuspectRole::ManagedPinvoke));
        assert_eq!(role("iiscore.dll"), Some(SuspectRole::NativeModule));
        assert_eq!(role("aspnetcorev2_inprocess.dll"), Some(SuspectRole::Ancm));
        assert_eq!(role("w3dt.dll"), None);
        assert_eq!(role("kernel32.dll"), None);
        // A host's name outside Windows is a third-party DLL, not the host.
        assert_eq!(role(r"C:\inetpub\bin\filter.dll"), None);
        assert_eq!(
            caller_role("filter.dll", ModuleClass::IisBuiltin).map(|r| r.1),
            Some("IIS's ISAPI filter host filter.dll".to_string())
        );
        assert!(is_transit("msvcr120.dll", classify("msvcr120.dll")));
        assert!(is_transit("rpcrt4.dll", classify("rpcrt4.dll")));
        assert!(!is_transit("ntdll.dll", classify("ntdll.dll")));

        assert_eq!(
            SuspectRole::from_known("ISAPI_Rewrite64.dll"),
            Some(SuspectRole::IsapiFilter)
        );
        assert_eq!(
            SuspectRole::from_known("php5isapi.dll"),
            Some(SuspectRole::IsapiExtension)
        );
        assert_eq!(
            SuspectRole::from_known("AspUpload.dll"),
            Some(SuspectRole::ComObject)
        );
        assert_eq!(
            SuspectRole::from_known("iisnode.dll"),
            Some(SuspectRole::NativeModule)
        );
        assert_eq!(SuspectRole::from_known("ctsgate.dll"), None);
        for r in [
            SuspectRole::IsapiFilter,
            SuspectRole::IsapiExtension,
            SuspectRole::ComObject,
            SuspectRole::NativeModule,
            SuspectRole::ManagedPinvoke,
            SuspectRole::ManagedCode,
            SuspectRole::Ancm,
        ] {
            assert_eq!(SuspectRole::from_name(r.name()), Some(r));
        }
    }
}

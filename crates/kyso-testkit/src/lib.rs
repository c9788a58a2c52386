//! The outside tools kyso's tests check their output with, found in one place.
//!
//! Every test that runs pyHanko, pkilint, OpenSSL, qpdf, poppler (`pdfsig`, `pdftotext`,
//! `pdftoppm`), NSS's `certutil` or SoftHSM2 gets it here. A missing tool makes the check
//! skip (with a note on stderr), unless the test script requires it with the tool's flag:
//!
//! | flag                         | tools                                        |
//! |------------------------------|----------------------------------------------|
//! | `KYSO_TEST_REQUIRE_PYHANKO`  | `pyhanko` (and its Python) in `.venv`        |
//! | `KYSO_TEST_REQUIRE_PKILINT`  | `lint_pkix_cert`, `lint_crl`, … in `.venv`   |
//! | `KYSO_TEST_REQUIRE_TOOLS`    | programs on `PATH`                           |
//! | `KYSO_TEST_REQUIRE_SOFTHSM`  | the SoftHSM2 PKCS#11 module                  |
//!
//! Then a missing tool is a failure that names the tool and how to install it.
//! `scripts/test.sh` installs them all and sets every flag.
//!
//! This crate is a dev-dependency only; no library or binary depends on it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where Debian's `softhsm2` package puts the module; the same path as
/// `kyso_token::pkcs11::SOFTHSM2_MODULE` (kyso-token's tests check that they agree).
pub const SOFTHSM2_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// True when the environment variable `flag` is exactly "1".
pub fn require(flag: &str) -> bool {
    std::env::var(flag).is_ok_and(|v| v == "1")
}

/// The workspace's root directory (this crate lives in `crates/kyso-testkit`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The project's Python venv, `.venv` at the workspace root (made by `scripts/test.sh`).
pub fn venv_dir() -> PathBuf {
    workspace_root().join(".venv")
}

/// `.venv/bin/<name>`, or None when it is missing; a panic when it is missing and `flag`
/// (for example `KYSO_TEST_REQUIRE_PYHANKO`) is "1".
#[track_caller]
pub fn venv_tool(name: &str, flag: &str) -> Option<PathBuf> {
    let p = venv_dir().join("bin").join(name);
    if p.is_file() {
        return Some(p);
    }
    missing(
        name,
        flag,
        &format!("{} does not exist (scripts/test.sh makes the venv: ensure_venv pkilint pyhanko pyhanko-cli)", p.display()),
    )
}

/// pyHanko's command line in the venv (flag `KYSO_TEST_REQUIRE_PYHANKO`).
#[track_caller]
pub fn pyhanko() -> Option<PathBuf> {
    venv_tool("pyhanko", "KYSO_TEST_REQUIRE_PYHANKO")
}

/// The venv's Python, for scripts that import pyHanko; None unless pyHanko is installed
/// there (flag `KYSO_TEST_REQUIRE_PYHANKO`).
#[track_caller]
pub fn pyhanko_python() -> Option<PathBuf> {
    pyhanko()?;
    venv_tool("python", "KYSO_TEST_REQUIRE_PYHANKO")
}

/// One of pkilint's linters in the venv (`lint_pkix_cert`, `lint_crl`,
/// `lint_ocsp_response`, …; flag `KYSO_TEST_REQUIRE_PKILINT`).
#[track_caller]
pub fn pkilint(linter: &str) -> Option<PathBuf> {
    venv_tool(linter, "KYSO_TEST_REQUIRE_PKILINT")
}

/// A program on `PATH` (`openssl`, `qpdf`, `pdfsig`, `certutil`, `softhsm2-util`, …), or
/// None when there is none; a panic when there is none and `KYSO_TEST_REQUIRE_TOOLS` is "1".
#[track_caller]
pub fn system_tool(name: &str) -> Option<PathBuf> {
    if let Some(p) = on_path(name) {
        return Some(p);
    }
    let hint = match debian_package(name) {
        Some(pkg) => format!("{name} is not on PATH (apt-get install {pkg}; scripts/test.sh installs it)"),
        None => format!("{name} is not on PATH"),
    };
    missing(name, "KYSO_TEST_REQUIRE_TOOLS", &hint)
}

/// The SoftHSM2 PKCS#11 module, or None when it is not installed; a panic when it is not
/// and `KYSO_TEST_REQUIRE_SOFTHSM` is "1".
#[track_caller]
pub fn softhsm_module() -> Option<&'static str> {
    if Path::new(SOFTHSM2_MODULE).exists() {
        return Some(SOFTHSM2_MODULE);
    }
    missing(
        "SoftHSM2",
        "KYSO_TEST_REQUIRE_SOFTHSM",
        &format!("{SOFTHSM2_MODULE} does not exist (apt-get install softhsm2; scripts/test.sh installs it)"),
    )
}

fn on_path(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Some(PathBuf::from(name)).filter(|p| is_executable(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The Debian package that provides a tool the tests use.
fn debian_package(name: &str) -> Option<&'static str> {
    Some(match name {
        "openssl" => "openssl",
        "qpdf" => "qpdf",
        "pdfsig" | "pdftotext" | "pdftoppm" | "pdfinfo" => "poppler-utils",
        "certutil" | "pk12util" => "libnss3-tools",
        "softhsm2-util" => "softhsm2",
        "faketime" => "faketime",
        _ => return None,
    })
}

/// None, after a note on stderr (once per tool and process); a panic when `flag` is "1".
#[track_caller]
fn missing<T>(name: &str, flag: &str, why: &str) -> Option<T> {
    assert!(!require(flag), "{flag}=1 but {why}");
    static NOTED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    if NOTED.lock().map(|mut n| n.insert(name.to_string())).unwrap_or(true) {
        eprintln!("note: skipping the checks that need {name}: {why}; set {flag}=1 to make this an error");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_is_none_unless_its_flag_requires_it() {
        let name = "kyso-testkit-no-such-tool";
        assert_eq!(venv_tool(name, "KYSO_TESTKIT_SELFTEST_OFF"), None);
        // A flag only this test reads.
        std::env::set_var("KYSO_TESTKIT_SELFTEST_ON", "1");
        let e = std::panic::catch_unwind(|| venv_tool(name, "KYSO_TESTKIT_SELFTEST_ON")).unwrap_err();
        let msg = e.downcast_ref::<String>().unwrap();
        assert!(msg.starts_with("KYSO_TESTKIT_SELFTEST_ON=1 but ") && msg.contains(name), "{msg}");
        if !require("KYSO_TEST_REQUIRE_TOOLS") {
            assert_eq!(system_tool(name), None);
        }
    }

    #[test]
    fn the_venv_is_at_the_workspace_root() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("crates/kyso-testkit").is_dir());
        assert_eq!(venv_dir(), workspace_root().join(".venv"));
    }

    #[test]
    fn a_program_on_path_is_found() {
        assert!(on_path("sh").is_some());
        assert_eq!(on_path("/nonexistent/sh"), None);
    }
}

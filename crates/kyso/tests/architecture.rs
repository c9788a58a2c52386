//! The dependency arrows and layer rules of ARCHITECTURE.md, checked.

use std::collections::BTreeMap;
use std::path::Path;

fn deps(krate: &str) -> Vec<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(krate).join("Cargo.toml");
    let t: toml::Table = std::fs::read_to_string(&p).unwrap().parse().unwrap();
    t.get("dependencies").and_then(|d| d.as_table()).map(|d| d.keys().cloned().collect()).unwrap_or_default()
}

#[test]
fn dependency_arrows_point_down() {
    let forbidden_everywhere_but_store = ["rusqlite", "postgres", "sqlx", "tokio-postgres"];
    let io = ["tokio", "axum", "reqwest", "ureq", "hyper"];
    let http = ["axum", "hyper", "tower", "tower-http"];
    let allowed_kyso: BTreeMap<&str, &[&str]> = [
        ("kyso-core", &[][..]),
        ("kyso-token", &[][..]),
        ("kyso-pki", &["kyso-token"][..]),
        ("kyso-pdf", &["kyso-pki", "kyso-token"][..]),
        ("kyso-verify", &["kyso-pdf", "kyso-pki", "kyso-token"][..]),
        ("kyso-store", &["kyso-core"][..]),
        ("kyso-service", &["kyso-core", "kyso-store", "kyso-pki", "kyso-token", "kyso-pdf", "kyso-verify"][..]),
        ("kyso-server", &["kyso-service", "kyso-token", "kyso-pki"][..]),
        ("kyso", &["kyso-core", "kyso-store", "kyso-service", "kyso-server", "kyso-pki", "kyso-token", "kyso-pdf", "kyso-verify"][..]),
        // Test helpers only: a dev-dependency of the others, never a dependency (checked below).
        ("kyso-testkit", &[][..]),
    ]
    .into_iter()
    .collect();
    for (krate, allowed) in &allowed_kyso {
        for d in deps(krate) {
            if d.starts_with("kyso") {
                assert!(allowed.contains(&d.as_str()), "{krate} must not depend on {d}");
            }
            if *krate != "kyso-store" {
                assert!(!forbidden_everywhere_but_store.contains(&d.as_str()), "only kyso-store knows SQL: {krate} depends on {d}");
            }
            if ["kyso-core", "kyso-pki", "kyso-token", "kyso-pdf", "kyso-verify"].contains(krate) {
                assert!(!io.contains(&d.as_str()), "{krate} is pure: it depends on {d}");
            }
            if *krate != "kyso-server" {
                assert!(!http.contains(&d.as_str()), "only kyso-server knows HTTP: {krate} depends on {d}");
            }
        }
    }
    // Every crate of the workspace is in the table, so none can depend on the test kit.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for e in std::fs::read_dir(&root).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        if root.join(&name).join("Cargo.toml").is_file() {
            assert!(allowed_kyso.contains_key(name.as_str()), "{name} is missing from the dependency table");
            assert!(!deps(&name).contains(&"kyso-testkit".to_string()), "{name}: kyso-testkit is a dev-dependency only");
        }
    }
}

/// A test that reads the wall clock also runs with the clock a year ahead (the faketime step
/// of scripts/test.sh), so that a date that will expire fails CI a year before it does. A
/// test reads the clock when clippy's ban on `now` is lifted in it, or when it runs an
/// outside tool from kyso-testkit (OpenSSL, pyHanko, pdfsig … judge at the real time);
/// SoftHSM2 alone does not count. A test that gives every tool its own time says so with a
/// line `//! clock-independent: <how>` and is left out.
#[test]
fn tests_that_read_the_clock_also_run_a_year_ahead() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = std::fs::read_to_string(root.join("scripts/test.sh")).unwrap();
    let line = script.lines().find(|l| l.starts_with("clock_tests=(")).expect("scripts/test.sh sets clock_tests=(crate:test …)");
    let listed: Vec<&str> = line.trim_start_matches("clock_tests=(").trim_end_matches(')').split_whitespace().collect();
    let mut found = Vec::new();
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let krate = krate.unwrap().file_name().to_string_lossy().to_string();
        let tests = root.join("crates").join(&krate).join("tests");
        let Ok(files) = std::fs::read_dir(&tests) else { continue };
        for f in files {
            let p = f.unwrap().path();
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let mut text = std::fs::read_to_string(&p).unwrap();
            if text.contains("mod support;") {
                for m in ["support/mod.rs", "support.rs"] {
                    text += &std::fs::read_to_string(tests.join(m)).unwrap_or_default();
                }
            }
            // Spelt in pieces, so that this file does not match itself.
            let kit = concat!("kyso_", "testkit::");
            let tools = text.matches(kit).count()
                - text.matches(&format!("{kit}softhsm_module")).count()
                - text.matches(&format!("{kit}SOFTHSM2_MODULE")).count();
            let exempt = text.lines().any(|l| l.starts_with("//! clock-independent:"));
            if !exempt && (text.contains(concat!("clippy::", "disallowed_methods")) || tools > 0) {
                found.push(format!("{krate}:{}", p.file_stem().unwrap().to_string_lossy()));
            }
        }
    }
    found.sort();
    let missing: Vec<&String> = found.iter().filter(|t| !listed.contains(&t.as_str())).collect();
    assert!(missing.is_empty(), "these tests read the clock: add them to clock_tests in scripts/test.sh: {missing:?}");
    let stale: Vec<&&str> = listed.iter().filter(|t| !found.iter().any(|f| f == **t)).collect();
    assert!(stale.is_empty(), "clock_tests in scripts/test.sh names tests that do not read the clock (or do not exist): {stale:?}");
}

#[test]
fn only_the_store_writes_sql() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for krate in ["kyso-core", "kyso-token", "kyso-pki", "kyso-pdf", "kyso-verify", "kyso-service", "kyso-server", "kyso"] {
        for entry in walk(&root.join(krate).join("src")) {
            let text = std::fs::read_to_string(&entry).unwrap();
            for kw in ["SELECT ", "INSERT INTO", "DELETE FROM", "CREATE TABLE"] {
                assert!(!text.contains(kw), "{} contains SQL ({kw})", entry.display());
            }
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            v.push(p);
        }
    }
    v
}

/// The service is the only door: outside the service's own tests and benchmarks nothing opens
/// its database, and only the CLI takes the local-operator path that makes a principal from a
/// bare login (the server makes principals only by logging in or checking a session).
#[test]
fn only_the_cli_acts_as_the_local_operator() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for krate in ["kyso-server", "kyso"] {
        for entry in walk(&root.join(krate).join("src")) {
            let text = std::fs::read_to_string(&entry).unwrap();
            assert!(!text.contains(".db()"), "{} opens the service's database", entry.display());
            if krate == "kyso-server" {
                assert!(!text.contains("local_operator("), "{} acts as the local operator", entry.display());
            }
        }
    }
}

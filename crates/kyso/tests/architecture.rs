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

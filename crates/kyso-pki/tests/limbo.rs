//! x509-limbo (C2SP) through kyso's path validation: the SERVER and CLIENT cases that need no
//! peer-name match, at a pinned commit (`tests/limbo/SOURCE.md`). Each case runs as
//! `kyso cert verify` would: `path::validate_with` (strict profile) at the case's time, with its
//! EKU and maximum depth, then the CRLs given through `path::revocation_checked`. The test prints the pass
//! rate by namespace, fails below 86 %, and asserts that the failures are exactly those listed
//! in `tests/limbo/known-failures.md` (so both a regression and an improvement show).

use chrono::{DateTime, Utc};
use kyso_pki::path::{self, LeafUsage, PathInput, PathOptions, Revocation};
use std::collections::{BTreeMap, BTreeSet};

/// A minimal JSON reader (kyso-pki has no JSON dependency, and the file is ours).
#[derive(Debug, Clone)]
enum Json {
    Null,
    #[allow(dead_code)] // read for completeness; no field of the subset needs it
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

impl Json {
    fn get(&self, k: &str) -> &Json {
        match self {
            Json::Obj(m) => m.get(k).unwrap_or(&Json::Null),
            _ => &Json::Null,
        }
    }
    fn str(&self) -> Option<&str> {
        if let Json::Str(s) = self {
            Some(s)
        } else {
            None
        }
    }
    fn arr(&self) -> &[Json] {
        if let Json::Arr(a) = self {
            a
        } else {
            &[]
        }
    }
    fn strs(&self) -> Vec<&str> {
        self.arr().iter().filter_map(Json::str).collect()
    }
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(self.b[self.i], c, "JSON: '{}' expected at {}", c as char, self.i);
        self.i += 1;
    }
    fn value(&mut self) -> Json {
        self.ws();
        match self.b[self.i] {
            b'{' => {
                self.i += 1;
                let mut m = BTreeMap::new();
                self.ws();
                if self.b[self.i] == b'}' {
                    self.i += 1;
                    return Json::Obj(m);
                }
                loop {
                    self.ws();
                    let Json::Str(k) = self.value() else { panic!("JSON: key expected at {}", self.i) };
                    self.eat(b':');
                    let v = self.value();
                    m.insert(k, v);
                    self.ws();
                    self.i += 1;
                    if self.b[self.i - 1] == b'}' {
                        return Json::Obj(m);
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.b[self.i] == b']' {
                    self.i += 1;
                    return Json::Arr(a);
                }
                loop {
                    a.push(self.value());
                    self.ws();
                    self.i += 1;
                    if self.b[self.i - 1] == b']' {
                        return Json::Arr(a);
                    }
                }
            }
            b'"' => {
                self.i += 1;
                let mut s = String::new();
                loop {
                    let start = self.i;
                    while self.b[self.i] != b'"' && self.b[self.i] != b'\\' {
                        self.i += 1;
                    }
                    s.push_str(std::str::from_utf8(&self.b[start..self.i]).expect("UTF-8"));
                    if self.b[self.i] == b'"' {
                        self.i += 1;
                        return Json::Str(s);
                    }
                    self.i += 1;
                    let c = self.b[self.i];
                    self.i += 1;
                    match c {
                        b'n' => s.push('\n'),
                        b't' => s.push('\t'),
                        b'r' => s.push('\r'),
                        b'b' => s.push('\u{8}'),
                        b'f' => s.push('\u{c}'),
                        b'u' => {
                            let hex = std::str::from_utf8(&self.b[self.i..self.i + 4]).expect("hex");
                            self.i += 4;
                            let mut cp = u32::from_str_radix(hex, 16).expect("hex");
                            if (0xd800..0xdc00).contains(&cp) && self.b[self.i] == b'\\' {
                                let lo = u32::from_str_radix(std::str::from_utf8(&self.b[self.i + 2..self.i + 6]).expect("hex"), 16)
                                    .expect("hex");
                                self.i += 6;
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                            }
                            s.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        }
                        other => s.push(other as char),
                    }
                }
            }
            b't' => {
                self.i += 4;
                Json::Bool(true)
            }
            b'f' => {
                self.i += 5;
                Json::Bool(false)
            }
            b'n' => {
                self.i += 4;
                Json::Null
            }
            _ => {
                let start = self.i;
                while self.i < self.b.len() && matches!(self.b[self.i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    self.i += 1;
                }
                Json::Num(std::str::from_utf8(&self.b[start..self.i]).expect("number").parse().expect("number"))
            }
        }
    }
}

fn parse_json(text: &str) -> Json {
    Reader { b: text.as_bytes(), i: 0 }.value()
}

/// The time of cases without one: their certificates are valid from 1970 for a thousand
/// years; this is the date of the pinned commit (never the wall clock).
const DEFAULT_TIME: &str = "2026-06-29T00:00:00Z";

fn der(pem: &str) -> Vec<u8> {
    kyso_pki::der_or_pem(pem.as_bytes()).expect("PEM")
}

/// What a case gave.
enum Outcome {
    Accepted,
    Rejected(String),
    /// Something the case asks that kyso cannot express (counts as a failure).
    Skipped(String),
}

/// Runs one case as `kyso cert verify` does.
fn run(case: &Json, strict_profile: bool) -> Outcome {
    let leaf = der(case.get("peer_certificate").str().expect("peer_certificate"));
    let intermediates: Vec<Vec<u8>> = case.get("untrusted_intermediates").strs().into_iter().map(der).collect();
    let anchors: Vec<Vec<u8>> = case.get("trusted_certs").strs().into_iter().map(der).collect();
    let crls: Vec<Vec<u8>> = case.get("crls").strs().into_iter().map(der).collect();
    let time = case.get("validation_time").str().unwrap_or(DEFAULT_TIME);
    let at: DateTime<Utc> = DateTime::parse_from_rfc3339(time).expect("validation_time").with_timezone(&Utc);
    let kind = case.get("validation_kind").str().expect("validation_kind");
    let mut ekus = case.get("extended_key_usage").strs();
    if ekus.is_empty() {
        ekus.push(if kind == "CLIENT" { "clientAuth" } else { "serverAuth" });
    }
    let eku = match ekus.as_slice() {
        ["serverAuth"] => "1.3.6.1.5.5.7.3.1",
        ["clientAuth"] => "1.3.6.1.5.5.7.3.2",
        other => return Outcome::Skipped(format!("EKU {other:?}")),
    };
    if !case.get("signature_algorithms").arr().is_empty() {
        return Outcome::Skipped("signature_algorithms".into());
    }
    let key_usage = case.get("key_usage").strs();
    if key_usage.iter().any(|ku| *ku != "digitalSignature") {
        return Outcome::Skipped(format!("key_usage {key_usage:?}"));
    }
    let max_depth = match case.get("max_chain_depth") {
        Json::Num(n) => Some(*n as usize),
        _ => None,
    };
    let input = PathInput {
        leaf: &leaf,
        intermediates: &intermediates,
        anchors: &anchors,
        at,
        eku: Some(eku.parse().expect("OID")),
        usage: LeafUsage::Any,
    };
    let options = PathOptions { max_depth, strict_profile };
    let valid = match path::validate_with(&input, &options) {
        Ok(v) => v,
        Err(e) => return Outcome::Rejected(e.message().to_string()),
    };
    if !key_usage.is_empty() && !leaf_has_digital_signature(&leaf) {
        return Outcome::Rejected("keyUsage thiếu digitalSignature".into());
    }
    // Revocation as `kyso cert verify --crl` judges it, for every certificate below the anchor.
    if !crls.is_empty() {
        for pair in valid.chain.windows(2) {
            if let Err(m) = crl_check(&pair[0], &pair[1], &crls, at) {
                return Outcome::Rejected(m);
            }
        }
    }
    Outcome::Accepted
}

/// Revocation as `kyso cert verify --crl` judges it: revoked at the time, or CRLs of the
/// issuer given and none of them usable.
fn crl_check(cert: &[u8], issuer: &[u8], crls: &[Vec<u8>], at: DateTime<Utc>) -> Result<(), String> {
    let r = path::revocation_checked(cert, issuer, crls, &[]);
    match r.status {
        Revocation::Revoked { at: when, .. } if when <= at => Err(format!("thu hồi từ {when}")),
        Revocation::Unknown if !r.unusable.is_empty() => Err(r.unusable.join("; ")),
        _ => Ok(()),
    }
}

/// The digitalSignature bit, when the leaf has a key usage extension.
fn leaf_has_digital_signature(leaf: &[u8]) -> bool {
    use der::Decode;
    let c = x509_cert::Certificate::from_der(leaf).expect("leaf");
    let ku = c.tbs_certificate.extensions.iter().flatten().find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_KEY_USAGE);
    ku.is_none_or(|e| {
        der::asn1::BitString::from_der(e.extn_value.as_bytes()).is_ok_and(|b| b.raw_bytes().first().is_some_and(|b| b & 0x80 != 0))
    })
}

/// The same case through rustls-webpki alone (the version kyso builds on), for comparison:
/// as x509-limbo's own rust-webpki harness, without the peer-name step (no case here needs
/// it); webpki has no maximum depth and no CRL input here, so those cases are skipped.
fn run_webpki(case: &Json) -> Outcome {
    let features = case.get("features").strs();
    if features.contains(&"max-chain-depth") || features.contains(&"has-crl") {
        return Outcome::Skipped("not expressible in webpki's API".into());
    }
    let leaf = der(case.get("peer_certificate").str().expect("peer_certificate"));
    let intermediates: Vec<Vec<u8>> = case.get("untrusted_intermediates").strs().into_iter().map(der).collect();
    let anchors: Vec<Vec<u8>> = case.get("trusted_certs").strs().into_iter().map(der).collect();
    let time = case.get("validation_time").str().unwrap_or(DEFAULT_TIME);
    let at = DateTime::parse_from_rfc3339(time).expect("validation_time").timestamp();
    let leaf_der = rustls_pki_types::CertificateDer::from(leaf.as_slice());
    let Ok(ee) = webpki::EndEntityCert::try_from(&leaf_der) else { return Outcome::Rejected("leaf: parse".into()) };
    let anchor_ders: Vec<_> = anchors.iter().map(|a| rustls_pki_types::CertificateDer::from(a.as_slice())).collect();
    let trust: Vec<_> = anchor_ders.iter().filter_map(|a| webpki::anchor_from_trusted_cert(a).ok()).collect();
    let inter: Vec<_> = intermediates.iter().map(|c| rustls_pki_types::CertificateDer::from(c.as_slice())).collect();
    let usage =
        if case.get("validation_kind").str() == Some("CLIENT") { webpki::KeyUsage::client_auth() } else { webpki::KeyUsage::server_auth() };
    let time = rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(at.max(0) as u64));
    match ee.verify_for_usage(webpki::ALL_VERIFICATION_ALGS, &trust, &inter, time, usage, None, None) {
        Ok(_) => Outcome::Accepted,
        Err(e) => Outcome::Rejected(format!("{e:?}")),
    }
}

fn passes(expect_ok: bool, got: &Outcome) -> bool {
    match got {
        Outcome::Accepted => expect_ok,
        Outcome::Rejected(_) => !expect_ok,
        Outcome::Skipped(_) => false,
    }
}

fn known_failures(md: &str) -> BTreeSet<String> {
    md.lines().filter_map(|l| l.trim_start().strip_prefix("- `")).filter_map(|l| l.split('`').next()).map(str::to_string).collect()
}

#[test]
fn limbo_subset() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/limbo");
    let suite = parse_json(&std::fs::read_to_string(dir.join("limbo-subset.json")).expect("limbo-subset.json"));
    let cases = suite.get("testcases").arr();
    assert_eq!(cases.len(), 174, "the subset has 174 cases at the pinned commit");
    // namespace -> (kyso passes, cases, webpki alone passes, kyso's default profile passes)
    let mut by_ns: BTreeMap<String, (usize, usize, usize, usize)> = BTreeMap::new();
    let mut failures = BTreeMap::new();
    for case in cases {
        let id = case.get("id").str().expect("id").to_string();
        let expect_ok = case.get("expected_result").str() == Some("SUCCESS");
        let got = std::panic::catch_unwind(|| run(case, true)).unwrap_or_else(|_| Outcome::Skipped("panic".into()));
        let default = std::panic::catch_unwind(|| run(case, false)).unwrap_or_else(|_| Outcome::Skipped("panic".into()));
        let pass = passes(expect_ok, &got);
        let webpki_alone = std::panic::catch_unwind(|| run_webpki(case)).unwrap_or_else(|_| Outcome::Skipped("panic".into()));
        let ns = id.split("::").next().unwrap_or_default().to_string();
        let e = by_ns.entry(ns).or_default();
        e.1 += 1;
        e.2 += usize::from(passes(expect_ok, &webpki_alone));
        e.3 += usize::from(passes(expect_ok, &default));
        if pass {
            e.0 += 1;
        } else {
            let said = match got {
                Outcome::Accepted => "accepted".to_string(),
                Outcome::Rejected(m) => format!("rejected: {m}"),
                Outcome::Skipped(m) => format!("skipped: {m}"),
            };
            failures.insert(id, (if expect_ok { "SUCCESS" } else { "FAILURE" }, said));
        }
    }
    let (mut pass, mut total, mut alone, mut lenient) = (0, 0, 0, 0);
    let pct = |p: usize, t: usize| 100.0 * p as f64 / t as f64;
    println!("x509-limbo subset: kyso-pki as `kyso cert verify` (strict profile), as document validation");
    println!("(default profile), and rustls-webpki alone for comparison");
    println!("  {:<14} {:>13}  {:>13}  {:>13}", "namespace", "cert verify", "default", "webpki alone");
    for (ns, (p, t, w, d)) in &by_ns {
        println!("  {ns:<14} {p:>3}/{t:<3} {:5.1}%  {d:>3}/{t:<3} {:5.1}%  {w:>3}/{t:<3} {:5.1}%", pct(*p, *t), pct(*d, *t), pct(*w, *t));
        pass += p;
        total += t;
        alone += w;
        lenient += d;
    }
    let rate = pct(pass, total);
    println!(
        "  {:<14} {pass:>3}/{total:<3} {rate:5.1}%  {lenient:>3}/{total:<3} {:5.1}%  {alone:>3}/{total:<3} {:5.1}%",
        "overall",
        pct(lenient, total),
        pct(alone, total)
    );
    for (id, (want, said)) in &failures {
        println!("  FAIL {id}: expected {want}, {said}");
    }
    assert!(rate >= 86.0, "pass rate {rate:.1}% is below 86%");
    let known = known_failures(&std::fs::read_to_string(dir.join("known-failures.md")).expect("known-failures.md"));
    let got: BTreeSet<String> = failures.keys().cloned().collect();
    let new: Vec<_> = got.difference(&known).collect();
    let fixed: Vec<_> = known.difference(&got).collect();
    assert!(
        new.is_empty() && fixed.is_empty(),
        "failures differ from tests/limbo/known-failures.md: new failures {new:?}; now passing (remove from the list) {fixed:?}"
    );
}

//! CA benchmark (not a test): certificates issued per second with the audit log on, for a
//! P-256 and an RSA-2048 CA key on the software token and on SoftHSM2; and the time to build
//! CRLs of 100,000 and 1,000,000 entries. `scripts/bench-ca.sh` runs it beside `openssl speed`
//! and an OCSP load test.
//!
//!   KYSO_BENCH_ISSUE=2000 cargo bench -p kyso-service --bench ca

mod common;
use chrono::{Duration, TimeZone, Utc};
use kyso_core::registry::*;
use kyso_core::request::*;
use kyso_pki::crl::{self, CrlParams, RevokedEntry};
use kyso_pki::name::{Attr, DistinguishedName};
use kyso_service::{CaConfig, Service};
use kyso_store::Db;
use kyso_token::pkcs11::{Pkcs11Token, SOFTHSM2_MODULE};
use kyso_token::soft::SoftToken;
use kyso_token::{KeyAlgorithm, Pin, Token, TokenSession};
use std::time::Instant;

/// A deployment with `n` requests waiting at the CA, each with a CSR; returns the service and
/// the (request, CSR) pairs.
fn setup(dir: &std::path::Path, n: usize, ca: &dyn TokenSession, alg: KeyAlgorithm) -> (Service, Vec<(RequestId, Vec<u8>)>) {
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0).unwrap();
    let db = Db::open_sqlite(&dir.join("bench.db")).unwrap();
    let svc = common::province(db, now - Duration::days(1));
    let admin = svc.local_operator("admin").unwrap();
    svc.ca_init(&admin, &CaConfig { key_algorithm: alg, ..CaConfig::demo("http://127.0.0.1:8480") }, ca, now - Duration::hours(1)).unwrap();
    // The subscribers' keys: one P-256 key signs every CSR (the CSR checks are all made).
    let user_dir = dir.join("user");
    let user =
        SoftToken::create(&user_dir, "u", &Pin::new("1234"), &Pin::new("12345678"), 10, 1000).unwrap().login(&Pin::new("1234")).unwrap();
    let key = user.generate_key("k", KeyAlgorithm::EcP256).unwrap();
    let agency = svc.list_agencies(&admin, None).unwrap().remove(0);
    let pairs = svc
        .db()
        .write(|tx| {
            let mut v = Vec::with_capacity(n);
            for i in 0..n {
                let name = format!("Thiết bị thử nghiệm {i}");
                let sub = tx.insert_subscriber(&Subscriber {
                    id: SubscriberId(0),
                    kind: SubscriberKind::Device,
                    person_id: None,
                    agency_id: agency.id,
                    managing_agency_id: agency.id,
                    display_name: name.clone(),
                    email: None,
                })?;
                let q = tx.insert_request(&Request {
                    id: RequestId(0),
                    kind: RequestKind::NewDevice,
                    state: RequestState::SentToCa,
                    subscriber_id: sub.id,
                    certificate_id: None,
                    device_id: None,
                    managing_agency_id: agency.id,
                    details: RequestDetails::New { validity_months: 36 },
                    created_by: admin.user_id,
                    created_at: now,
                    updated_at: now,
                    batch_id: None,
                    rejection_reason: None,
                })?;
                let subject = DistinguishedName::new().push(Attr::C, "VN").push(Attr::CN, name);
                let csr = kyso_pki::csr::build(&subject, &*key, key.key_algorithm().default_scheme()).expect("CSR");
                v.push((q.id, csr));
            }
            Ok::<_, kyso_store::StoreError>(v)
        })
        .unwrap();
    (svc, pairs)
}

fn issue_rate(label: &str, ca: &dyn TokenSession, alg: KeyAlgorithm, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (svc, pairs) = setup(dir.path(), n, ca, alg);
    // Where the time goes: the CSR checks and one signature each, without the database.
    let t = Instant::now();
    for (_, c) in &pairs {
        kyso_pki::csr::check(c).unwrap();
    }
    let csr_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let key = ca.signer(kyso_service::ISSUING_KEY).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        key.sign(alg.default_scheme(), &[0u8; 600]).unwrap();
    }
    let sign_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let actor = svc.local_operator("admin").unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap();
    let start = Instant::now();
    for chunk in pairs.chunks(200) {
        svc.ca_issue_batch(&actor, chunk, ca, now).unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let events = svc.db().read(|tx| tx.count(kyso_store::Table::AuditEvents)).unwrap();
    let total_us = secs * 1e6 / n as f64;
    println!(
        "{label:<28} {n:>8} {secs:>10.2} {:>12.0}   per certificate {total_us:.0} µs: CSR check {csr_us:.0}, 2 signatures {:.0}, the rest (DER, database, audit) {:.0}; audit events {events}",
        n as f64 / secs,
        2.0 * sign_us,
        total_us - csr_us - 2.0 * sign_us
    );
}

fn crl_time(n: usize, ca: &dyn TokenSession, alg: KeyAlgorithm) {
    let signer = ca.generate_key(&format!("crl{n}{}", alg.code()), alg).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0).unwrap();
    let entries: Vec<RevokedEntry> = (0..n as u64)
        .map(|i| RevokedEntry {
            serial: [&[0x10u8][..], &i.to_be_bytes(), &[0x5a; 7]].concat(),
            revoked_at: now - Duration::seconds(i as i64),
            reason: (i % 6) as u8,
        })
        .collect();
    let issuer = DistinguishedName::parse("CN=CA thử nghiệm,C=VN").unwrap().to_name().unwrap();
    let start = Instant::now();
    let der = crl::build(
        &CrlParams {
            issuer,
            issuer_spki: signer.public_key_spki(),
            number: 1,
            delta_of: None,
            this_update: now,
            next_update: now + Duration::days(1),
            entries: &entries,
        },
        &*signer,
        alg.default_scheme(),
    )
    .unwrap();
    println!("CRL {n:>9} entries ({}): {:>6.2} s, {:>6.1} MB", alg.code(), start.elapsed().as_secs_f64(), der.len() as f64 / 1e6);
}

fn main() {
    let n: usize = std::env::var("KYSO_BENCH_ISSUE").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    println!("kyso CA benchmark: issuance from CSRs in batches of 200, SQLite (WAL, synchronous=FULL), audit on, OCSP pre-produced");
    println!("{:<28} {:>8} {:>10} {:>12}", "CA key and token", "certs", "seconds", "certs/s");
    let soft = SoftToken::create(dir.path(), "ca", &Pin::new("ca-pin-1"), &Pin::new("ca-so-pin-1"), 10, 1000).unwrap();
    for alg in [KeyAlgorithm::EcP256, KeyAlgorithm::Rsa2048] {
        let d = tempfile::tempdir().unwrap();
        let t = SoftToken::create(d.path(), "ca", &Pin::new("ca-pin-1"), &Pin::new("ca-so-pin-1"), 10, 1000).unwrap();
        let s = t.login(&Pin::new("ca-pin-1")).unwrap();
        issue_rate(&format!("software token, {}", alg.code()), &*s, alg, n);
    }
    if std::path::Path::new(SOFTHSM2_MODULE).exists() {
        let hsm_dir = dir.path().join("hsm");
        std::fs::create_dir_all(hsm_dir.join("tokens")).unwrap();
        let conf = hsm_dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", hsm_dir.join("tokens").display()),
        )
        .unwrap();
        std::env::set_var("SOFTHSM2_CONF", &conf);
        for alg in [KeyAlgorithm::EcP256, KeyAlgorithm::Rsa2048] {
            let label = format!("bench{}", alg.code());
            let m = std::path::Path::new(SOFTHSM2_MODULE);
            Pkcs11Token::init(m, &label, &Pin::new("so-pin-1"), &Pin::new("ca-pin-1")).unwrap();
            let s = Pkcs11Token::open(m, &label, &hsm_dir, 10).unwrap().login(&Pin::new("ca-pin-1")).unwrap();
            issue_rate(&format!("SoftHSM2, {}", alg.code()), &*s, alg, n / 2);
        }
    } else {
        println!("(SoftHSM2 not installed: apt-get install softhsm2)");
    }
    let s = soft.login(&Pin::new("ca-pin-1")).unwrap();
    for size in [100_000, 1_000_000] {
        crl_time(size, &*s, KeyAlgorithm::EcP256);
    }
}

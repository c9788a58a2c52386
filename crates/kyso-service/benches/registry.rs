//! Registry benchmark (not a test): loads N certificate records and M audit events into
//! SQLite and PostgreSQL, then times the two queries an IT centre runs most: the
//! province-wide annual report and the list of certificates expiring in the next 90 days.
//!
//!   scripts/bench-registry.sh                       # 1,000,000 certificates, 5,000,000 events
//!   KYSO_BENCH_CERTS=100000 KYSO_BENCH_EVENTS=500000 cargo bench -p kyso-service --bench registry
//!
//! KYSO_BENCH_PG_URL selects the PostgreSQL (default postgres://postgres@127.0.0.1:5432/test);
//! the data goes into a schema of its own, dropped at the end.

mod common;
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::tax;
use kyso_core::audit::NewEvent;
use kyso_core::registry::*;
use kyso_core::value::Serial;
use kyso_service::Service;
use kyso_store::Db;
use std::time::Instant;

fn env_num(k: &str, default: usize) -> usize {
    std::env::var(k).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const NOW_Y: i32 = 2026;
const SUBSCRIBERS: usize = 50_000;

fn load(db: Db, certs: usize, events: usize) -> (Service, Vec<f64>) {
    let now = Utc.with_ymd_and_hms(NOW_Y, 11, 21, 2, 0, 0).unwrap();
    let t0 = now - Duration::days(5 * 365);
    let svc = common::province(db, t0);
    let admin = svc.local_operator("admin").unwrap();
    let mut timings = Vec::new();
    let start = Instant::now();
    // 30 departments with 10 units each: 331 agencies.
    let mut agencies = Vec::new();
    for d in 0..30u64 {
        let code = format!("SO{d:02}");
        let dep = AgencyInput {
            code: code.clone(),
            name: format!("Sở {d}"),
            parent_code: Some("UBND".into()),
            legal_entity: true,
            tax_code: Some(tax(d + 1)),
            address: "x".into(),
            ..Default::default()
        };
        agencies.push(svc.add_agency(&admin, &dep, t0).unwrap());
        for u in 0..10 {
            let unit = AgencyInput {
                code: format!("{code}-{u}"),
                name: format!("Phòng {u} của Sở {d}"),
                parent_code: Some(code.clone()),
                address: "x".into(),
                ..Default::default()
            };
            agencies.push(svc.add_agency(&admin, &unit, t0).unwrap());
        }
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Subscribers, then certificates spread over five years of issuance.
    let subs: Vec<(SubscriberId, AgencyId, ReportClass)> = svc
        .db()
        .write(|tx| {
            let mut v = Vec::with_capacity(SUBSCRIBERS);
            for i in 0..SUBSCRIBERS {
                let a = &agencies[i % agencies.len()];
                let kind = if i % 10 == 0 { SubscriberKind::Organisation } else { SubscriberKind::Individual };
                let s = tx.insert_subscriber(&Subscriber {
                    id: SubscriberId(0),
                    kind,
                    person_id: None,
                    agency_id: a.id,
                    managing_agency_id: a.id,
                    display_name: format!("Thuê bao {i}"),
                    email: None,
                })?;
                v.push((s.id, a.id, kind.report_class()));
            }
            Ok::<_, kyso_store::StoreError>(v)
        })
        .unwrap();
    const CHUNK: usize = 50_000;
    let mut made = 0;
    while made < certs {
        let n = CHUNK.min(certs - made);
        let rows: Vec<_> = (made..made + n)
            .map(|i| {
                let (sub, agency, class) = subs[i % subs.len()];
                let nb = t0 + Duration::seconds(rng.below(5 * 365 * 86_400) as i64);
                let na = nb + Duration::days(365 * (3 + rng.below(3) as i64));
                let revoked = (rng.below(20) == 0).then(|| nb + Duration::days(rng.below(700) as i64));
                let c = CertificateRecord {
                    id: CertificateId(0),
                    serial: Serial::parse("serial", &format!("54{i:018X}")).unwrap(),
                    subscriber_id: sub,
                    subject: format!("CN=Thuê bao {i},O=Sở,L=Bắc Ninh,C=VN"),
                    issuer: "CN=CA phục vụ các cơ quan Nhà nước G2".into(),
                    not_before: nb,
                    not_after: na,
                    revoked_at: revoked,
                    revocation_reason: revoked.map(|_| kyso_core::rules::RevocationReason::RetiredOrLeft),
                    device_id: None,
                    predecessor: None,
                    renewal_count: 0,
                };
                (c, agency, class)
            })
            .collect();
        svc.db().write(|tx| tx.insert_certificates_batch(&rows)).unwrap();
        made += n;
    }
    // Events: about a third count in report figures, the rest are registry and denied events.
    let kinds = ["new_individual", "new_organisation", "renew", "change_info", "revoke", "restore_device"];
    let actions = ["request.created", "request.submitted", "request.confirmed", "request.sent_to_ca", "request.completed"];
    let mut made = 0;
    let span = (now - t0).num_seconds() as u64;
    while made < events {
        let n = CHUNK.min(events - made);
        let base = t0 + Duration::seconds((span as u128 * made as u128 / events as u128) as i64);
        let step = (span as f64 / events as f64).max(0.000_001);
        let batch: Vec<(NewEvent, DateTime<Utc>)> = (0..n)
            .map(|j| {
                let at = base + Duration::microseconds((j as f64 * step * 1e6) as i64);
                let a = &agencies[rng.below(agencies.len() as u64) as usize];
                let e = if rng.below(3) == 0 {
                    let k = kinds[rng.below(kinds.len() as u64) as usize];
                    let class = if k == "new_organisation" || rng.below(5) == 0 { "org" } else { "personal" };
                    NewEvent::new("cqqltt", actions[rng.below(actions.len() as u64) as usize], format!("request:{}", made + j))
                        .agency(a.id)
                        .figure(k, class)
                } else {
                    NewEvent::new("admin", "person.created", format!("person:{}", made + j))
                        .agency(a.id)
                        .details(serde_json::json!({"name": "Nguyễn Văn An"}))
                };
                (e, at)
            })
            .collect();
        svc.db().write(|tx| tx.append_audit_batch(batch)).unwrap();
        made += n;
    }
    svc.db().batch("ANALYZE").unwrap();
    timings.push(start.elapsed().as_secs_f64());
    (svc, timings)
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, f64, T) {
    let mut v = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let s = Instant::now();
        last = Some(f());
        v.push(s.elapsed().as_secs_f64());
    }
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2], last.expect("at least one run"))
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing useful.
    let certs = env_num("KYSO_BENCH_CERTS", 1_000_000);
    let events = env_num("KYSO_BENCH_EVENTS", 5_000_000);
    let pg_url = std::env::var("KYSO_BENCH_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    println!("kyso registry benchmark: {certs} certificates, {events} audit events, {SUBSCRIBERS} subscribers, 331 agencies");
    println!("goal: each query under 1 s on this machine ({} cores)", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    println!();
    println!(
        "{:<10} {:>10} {:>16} {:>16} {:>10} {:>18} {:>18} {:>10}",
        "database", "load (s)", "report best (s)", "report median", "goal ×", "expiring best (s)", "expiring median", "rows"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut backends: Vec<(&str, Db, Option<String>)> = vec![("sqlite", Db::open_sqlite(&dir.path().join("bench.db")).unwrap(), None)];
    let schema = format!("kyso_bench_{}", std::process::id());
    match Db::open_postgres(&pg_url, Some(&schema)) {
        Ok(db) => backends.push(("postgres", db, Some(schema.clone()))),
        Err(e) => println!("(PostgreSQL at {pg_url} not usable: {e}; set KYSO_BENCH_PG_URL)"),
    }
    for (name, db, schema) in backends {
        let (svc, load) = load(db, certs, events);
        let actor = svc.local_operator("admin").unwrap();
        let now = Utc.with_ymd_and_hms(NOW_Y, 11, 21, 2, 0, 0).unwrap();
        let (rb, rm, report) = time(5, || svc.report(&actor, &format!("{}", NOW_Y - 1), None).unwrap());
        let (eb, em, expiring) = time(5, || svc.expiring_certificates(&actor, None, 90, now, i64::MAX).unwrap());
        let figures: u64 = report.figures.iter().map(|f| f.total).sum();
        println!(
            "{name:<10} {:>10.1} {rb:>16.3} {rm:>16.3} {:>10.2} {eb:>18.3} {em:>18.3} {:>10}",
            load[0],
            1.0 / rb.max(eb),
            expiring.len()
        );
        println!("{:<10} (annual report figures total {figures})", "");
        drop(svc);
        if let Some(s) = schema {
            if let Ok(db) = Db::open_postgres(&pg_url, None) {
                db.batch(&format!("DROP SCHEMA IF EXISTS {s} CASCADE")).unwrap();
            }
        }
    }
}

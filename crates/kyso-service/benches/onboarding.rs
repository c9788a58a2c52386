//! Bulk onboarding benchmark (not a test): 10,000 officials, then the government CA's list of
//! 10,000 existing certificates that mixes the three matching paths and some certificates of
//! nobody. It asserts the count for each path and the goal (under 10 s on this machine).
//!
//!   cargo bench -p kyso-service --bench onboarding
//!   KYSO_BENCH_ONBOARD=50000 cargo bench -p kyso-service --bench onboarding

mod common;
use chrono::{Duration, TimeZone, Utc};
use common::tax;
use kyso_core::registry::*;
use kyso_service::CertificateList;
use kyso_store::Db;
use std::collections::BTreeMap;
use std::time::Instant;

const FAMILY: [&str; 10] = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"];
const MIDDLE: [&str; 10] = ["Văn", "Thị", "Đức", "Minh", "Thu", "Quang", "Ngọc", "Hữu", "Thanh", "Xuân"];
const GIVEN: [&str; 10] = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Khánh", "Lan", "Mai", "Nam"];

/// A unique name for each number below 10^k (letters only, as the registry wants).
fn name(i: usize) -> String {
    let mut words = vec![FAMILY[i % 10].to_string()];
    let mut rest = i / 10;
    while rest > 0 || words.len() < 3 {
        words.push(if words.len() % 2 == 1 { MIDDLE[rest % 10] } else { GIVEN[rest % 10] }.to_string());
        rest /= 10;
    }
    words.join(" ")
}

fn main() {
    let n: usize = std::env::var("KYSO_BENCH_ONBOARD").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0).unwrap();
    let db = Db::open_sqlite(&dir.path().join("kyso.db")).unwrap();
    let svc = common::province(db, now - Duration::days(30));
    let admin = svc.local_operator("admin").unwrap();
    for d in 0..20u64 {
        let a = AgencyInput {
            code: format!("SO{d:02}"),
            name: format!("Sở số {d}"),
            parent_code: Some("UBND".into()),
            legal_entity: true,
            tax_code: Some(tax(d + 1)),
            address: "x".into(),
            ..Default::default()
        };
        svc.add_agency(&admin, &a, now - Duration::days(30)).unwrap();
    }
    // The officials, as a province's HR list would give them.
    let cid = |i: usize| format!("027080{i:06}");
    let mut persons = String::from("full_name,citizen_id,date_of_birth,gender,position,position_kind,title,agency_code,email,phone\n");
    for i in 0..n {
        persons.push_str(&format!(
            "{},{},1980-01-01,nam,Chuyên viên,specialist,,SO{:02},{}@bacninh.gov.vn,\n",
            name(i),
            cid(i),
            i % 20,
            cid(i)
        ));
    }
    let t = Instant::now();
    svc.import_persons(&admin, persons.as_bytes(), now - Duration::days(20)).unwrap();
    let persons_s = t.elapsed().as_secs_f64();
    // The CA's list: 40% carry the citizen ID, 30% only the e-mail, 25% only the name and
    // agency, 5% are certificates of nobody in the registry.
    let mut list = String::from("Số serial,Chủ thể,Từ ngày,Đến ngày,Thư điện tử\n");
    let mut want = BTreeMap::from([("citizen_id", 0), ("email", 0), ("name_and_agency", 0)]);
    let mut review = 0;
    for i in 0..n {
        let serial = format!("54{i:010X}");
        let (subject, email) = match i % 20 {
            0..=7 => {
                *want.get_mut("citizen_id").unwrap() += 1;
                (format!("CN={},SERIALNUMBER=CCCD:{},O=Ủy ban nhân dân tỉnh,C=VN", name(i), cid(i)), String::new())
            }
            8..=13 => {
                *want.get_mut("email").unwrap() += 1;
                (format!("CN={},O=Ủy ban nhân dân tỉnh,C=VN", name(i)), format!("{}@bacninh.gov.vn", cid(i)))
            }
            14..=18 => {
                *want.get_mut("name_and_agency").unwrap() += 1;
                (format!("CN={},OU=Sở số {},O=Ủy ban nhân dân tỉnh,C=VN", name(i), i % 20), String::new())
            }
            _ => {
                review += 1;
                (format!("CN={} Khác,OU=Sở số {},O=Ủy ban nhân dân tỉnh,C=VN", name(i), i % 20), String::new())
            }
        };
        list.push_str(&format!("{serial},\"{subject}\",2025-01-01,2027-12-31,{email}\n"));
    }
    let columns: BTreeMap<String, String> =
        [("serial", "Số serial"), ("subject", "Chủ thể"), ("not_before", "Từ ngày"), ("not_after", "Đến ngày"), ("email", "Thư điện tử")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    let t = Instant::now();
    let s = svc.import_certificates(&admin, &[], Some(&CertificateList { csv: list.as_bytes(), columns }), now).unwrap();
    let import_s = t.elapsed().as_secs_f64();
    for (path, count) in &want {
        assert_eq!(s.matched.get(*path).copied().unwrap_or(0), *count, "{path}: {s:?}");
    }
    assert_eq!(s.for_review, review);
    println!(
        "onboarding: {n} officials imported in {persons_s:.2} s; {n} existing certificates in {import_s:.2} s \
         (citizen ID {}, e-mail {}, name and agency {}, to review {}, subscribers created {})",
        want["citizen_id"], want["email"], want["name_and_agency"], s.for_review, s.subscribers_created
    );
    assert!(n != 10_000 || import_s < 10.0, "goal: 10,000 certificates in under 10 s; took {import_s:.2} s");
}

//! Test support: one database per backend (SQLite in memory, and PostgreSQL in a schema of
//! its own when KYSO_TEST_PG_URL is set), and a small province built through the service.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use kyso_core::calendar::WorkCalendar;
use kyso_core::registry::*;
use kyso_core::request::*;
use kyso_service::Principal;
use kyso_service::*;
use kyso_store::{Db, Table};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Backend {
    pub name: &'static str,
    pub db: Db,
    pub schema: Option<PgSchema>,
}

pub struct PgSchema {
    url: String,
    schema: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(c) = postgres_client(&self.url) {
            let _ = c.batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

fn postgres_client(url: &str) -> Result<Db, kyso_store::StoreError> {
    Db::open_postgres(url, None)
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

pub fn pg_url() -> Option<String> {
    std::env::var("KYSO_TEST_PG_URL").ok().filter(|s| !s.is_empty())
}

/// A fresh PostgreSQL database (schema) if configured.
pub fn pg_backend() -> Option<Backend> {
    let url = pg_url()?;
    let schema = format!("kyso_t_{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst));
    let db = Db::open_postgres(&url, Some(&schema)).unwrap_or_else(|e| panic!("KYSO_TEST_PG_URL is set but PostgreSQL is not usable: {e}"));
    Some(Backend { name: "postgres", db, schema: Some(PgSchema { url, schema }) })
}

/// SQLite always; PostgreSQL too when KYSO_TEST_PG_URL is set (the test script sets it).
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend { name: "sqlite", db: Db::open_sqlite_memory().unwrap(), schema: None }];
    if std::env::var("KYSO_TEST_REQUIRE_PG").is_ok_and(|v| v == "1") && pg_url().is_none() {
        panic!("KYSO_TEST_REQUIRE_PG=1 but KYSO_TEST_PG_URL is not set");
    }
    v.extend(pg_backend());
    v
}

/// Monday 2 March 2026, 09:00 in Vietnam.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap()
}

pub fn tax(seed: u64) -> String {
    let mut n = 100_000_000 + seed * 13;
    loop {
        let nine = format!("{:09}", n);
        if let Some(c) = kyso_core::value::tax_check_digit(&format!("{nine}0")) {
            return format!("{nine}{c}");
        }
        n += 1;
    }
}

pub fn agency(code: &str, parent: &str, legal: bool, seed: u64) -> AgencyInput {
    agency_in(code, parent, legal, seed, "bacninh.gov.vn")
}

pub fn agency_in(code: &str, parent: &str, legal: bool, seed: u64, domain: &str) -> AgencyInput {
    AgencyInput {
        code: code.into(),
        name: format!("Cơ quan {code}"),
        parent_code: Some(parent.into()),
        legal_entity: legal,
        tax_code: legal.then(|| tax(seed)),
        budget_code: None,
        email: Some(format!("{}@{domain}", code.to_lowercase())),
        address: "Bắc Ninh".into(),
        valid_from: Some("2025-07-01".into()),
    }
}

pub fn person(name: &str, cid: &str, born: &str, gender: &str, kind: &str, agency: &str) -> PersonInput {
    person_in(name, cid, born, gender, kind, agency, "bacninh.gov.vn")
}

pub fn person_in(name: &str, cid: &str, born: &str, gender: &str, kind: &str, agency: &str, domain: &str) -> PersonInput {
    PersonInput {
        full_name: name.into(),
        citizen_id: cid.into(),
        date_of_birth: born.into(),
        gender: gender.into(),
        position: "Giám đốc".into(),
        position_kind: kind.into(),
        title: "".into(),
        agency_code: agency.into(),
        email: format!("{cid}@{domain}"),
        phone: None,
    }
}

/// A province with: root UBND-T; legal entities SO-A and SO-B; unit SO-A-P1 under SO-A;
/// accounts qltb (manager), cntt (IT staff), kt (auditor), cb.a / cb.b (CQQLTT officers),
/// vt.a (records clerk of SO-A), self (the individual subscriber's own account); an
/// individual, an organisation and a device subscriber, each with a key device in use.
pub struct World {
    pub svc: Service,
    pub backend: &'static str,
    pub individual: Subscriber,
    pub organisation: Subscriber,
    pub device_sub: Subscriber,
    pub leader: Person,
    pub specialist: Person,
    _schema: Option<PgSchema>,
}

/// The profile's first official e-mail domain, for test officials' addresses.
pub fn profile_domain(profile: &str) -> String {
    kyso_core::profile::ProvinceProfile::builtin(profile)
        .unwrap()
        .official_email_domains
        .first()
        .cloned()
        .unwrap_or_else(|| "example.gov.vn".into())
}

pub fn world(b: Backend, profile: &str) -> World {
    let domain = profile_domain(profile);
    let d = domain.as_str();
    let agency = |code: &str, parent: &str, legal: bool, seed: u64| agency_in(code, parent, legal, seed, d);
    let person = |name: &str, cid: &str, born: &str, gender: &str, kind: &str, ag: &str| person_in(name, cid, born, gender, kind, ag, d);
    let boot = Bootstrap {
        profile_key: profile.into(),
        root: AgencyInput { parent_code: None, ..agency("UBND-T", "", true, 1) },
        admin_login: "admin".into(),
        training: true,
    };
    let mut svc = Service::init(b.db, WorkCalendar::builtin(), &boot, t0() - Duration::days(1)).unwrap();
    // The key that seals TOTP secrets and agent pairings (the binary keeps it in kyso.key).
    svc.set_sealing_key([7u8; 32]);
    let admin = svc.local_operator("admin").unwrap();
    let t = t0() - Duration::hours(20);
    svc.add_agency(&admin, &agency("SO-A", "UBND-T", true, 2), t).unwrap();
    svc.add_agency(&admin, &agency("SO-B", "UBND-T", true, 3), t).unwrap();
    svc.add_agency(&admin, &agency("SO-A-P1", "SO-A", false, 4), t).unwrap();
    // Where the profile makes the provincial Office the CQQLTT of province bodies (Hà Tĩnh).
    if svc.profile().managing_rule == kyso_core::profile::ManagingRule::ProvincialOfficeForProvinceBodies {
        svc.add_agency(&admin, &agency("VP-UBND", "UBND-T", true, 5), t).unwrap();
        svc.set_provincial_office(&admin, "VP-UBND", t).unwrap();
    }
    let leader = svc.add_person(&admin, &person("Nguyễn Văn An", "027080000001", "1980-05-01", "nam", "leader", "SO-A-P1"), t).unwrap();
    let specialist =
        svc.add_person(&admin, &person("Trần Thị Bình", "027190000002", "1990-01-02", "nữ", "specialist", "SO-A-P1"), t).unwrap();
    let officer_a =
        svc.add_person(&admin, &person("Lê Văn Cường", "027075000003", "1975-02-03", "nam", "chief_of_office", "SO-A"), t).unwrap();
    let officer_b =
        svc.add_person(&admin, &person("Phạm Văn Dũng", "027076000004", "1976-02-03", "nam", "chief_of_office", "SO-B"), t).unwrap();
    let clerk = svc.add_person(&admin, &person("Hoàng Thị Giang", "027185000005", "1985-02-03", "nữ", "records_clerk", "SO-A"), t).unwrap();
    // A second CQQLTT officer at SO-A: one person does not both file and confirm a request.
    let officer_a2 = svc.add_person(&admin, &person("Đỗ Văn Em", "027077000006", "1977-04-05", "nam", "deputy_leader", "SO-A"), t).unwrap();
    for (login, cid, role, ag) in [
        ("qltb", None, "provincial_manager", "UBND-T"),
        ("cntt", None, "it_staff", "UBND-T"),
        ("kt", None, "auditor", "UBND-T"),
        ("cb.a", Some(officer_a.citizen_id.as_str()), "agency_officer", "SO-A"),
        ("cb.a2", Some(officer_a2.citizen_id.as_str()), "agency_officer", "SO-A"),
        ("cb.b", Some(officer_b.citizen_id.as_str()), "agency_officer", "SO-B"),
        ("vt.a", Some(clerk.citizen_id.as_str()), "records_clerk", "SO-A"),
        ("self", Some(leader.citizen_id.as_str()), "subscriber", "SO-A-P1"),
    ] {
        svc.add_user(&admin, login, cid, t).unwrap();
        svc.grant(&admin, login, role, ag, t).unwrap();
    }
    let individual =
        svc.add_subscriber(&admin, &SubscriberInput::Individual { citizen_id: leader.citizen_id.to_string() }, None, t).unwrap();
    let organisation = svc.add_subscriber(&admin, &SubscriberInput::Organisation { agency_code: "SO-A".into() }, Some("SO-A"), t).unwrap();
    let device_sub = svc
        .add_subscriber(
            &admin,
            &SubscriberInput::Device { agency_code: "SO-A-P1".into(), name: "Cổng dịch vụ công".into(), email: None },
            None,
            t,
        )
        .unwrap();
    for (i, _) in [&individual, &organisation, &device_sub].iter().enumerate() {
        let serial = format!("TOKEN{i}");
        svc.add_device(
            &admin,
            &DeviceInput { serial: serial.clone(), kind: "usb_token".into(), model: "Bit4id".into(), agency_code: "SO-A-P1".into() },
            t,
        )
        .unwrap();
        // The individual's token to the leader; the organisation's and the device's to the
        // records clerk, the organisation's by a written decision.
        let (holder, org) = match i {
            0 => (leader.citizen_id.as_str(), false),
            1 => (clerk.citizen_id.as_str(), true),
            _ => (clerk.citizen_id.as_str(), false),
        };
        svc.assign_device(&admin, &serial, holder, org, Some("Quyết định số 5/QĐ-SOA ngày 01/3/2026"), t).unwrap();
        svc.hand_over(&admin, &serial, &Handover { from_cid: None, to_cid: holder, reason: "Cấp mới", decision: None }, t).unwrap();
        svc.set_device_status(&admin, &serial, "in_use", t).unwrap();
    }
    World { svc, backend: b.name, individual, organisation, device_sub, leader, specialist, _schema: b.schema }
}

impl World {
    pub fn actor(&self, login: &str) -> Principal {
        self.svc.local_operator(login).unwrap()
    }

    /// The row counts of every data table and the audit head, to prove nothing was written.
    pub fn snapshot(&self) -> Vec<i64> {
        self.svc
            .db()
            .read(|tx| {
                let mut v = Vec::new();
                for t in [
                    Table::Agencies,
                    Table::Persons,
                    Table::Subscribers,
                    Table::Certificates,
                    Table::Devices,
                    Table::Requests,
                    Table::Users,
                    Table::AuditEvents,
                ] {
                    v.push(tx.count(t)?);
                }
                Ok::<_, kyso_store::StoreError>(v)
            })
            .unwrap()
    }

    pub fn audit_ok(&self) {
        let v = self.svc.verify_audit(&self.actor("kt")).unwrap();
        assert!(v.is_valid(), "{}: audit chain broken: {:?}", self.backend, v.broken);
    }

    /// Creates a request by the CQQLTT officer and takes it to SentToCa.
    pub fn to_ca(&self, input: NewRequestInput, at: DateTime<Utc>) -> Request {
        // Every subscriber of the test province is managed by SO-A.
        let officer = self.actor("cb.a");
        let q = self.svc.create_request(&officer, &input, at).unwrap();
        self.svc.transition(&officer, q.id, Action::Submit, None, at).unwrap();
        self.svc.transition(&self.actor("cb.a2"), q.id, Action::Confirm, None, at).unwrap();
        if self.svc.profile().routing.route_for(q.kind) == kyso_core::profile::Route::ViaManager {
            self.svc.transition(&self.actor("qltb"), q.id, Action::Check, None, at).unwrap();
            self.svc.send_to_ca(&self.actor("qltb"), &[q.id], at).unwrap().1.remove(0)
        } else {
            self.svc.send_to_ca(&officer, &[q.id], at).unwrap().1.remove(0)
        }
    }

    /// Issues a new certificate for `sub` valid `months` from `at`, on device TOKEN<n>.
    pub fn issue(&self, sub: &Subscriber, at: DateTime<Utc>, months: u32, serial: &str) -> CertificateRecord {
        let q = self.to_ca(new_input(sub, 60), at);
        let device = match sub.kind {
            SubscriberKind::Individual => "TOKEN0",
            SubscriberKind::Organisation => "TOKEN1",
            SubscriberKind::Device => "TOKEN2",
        };
        self.svc
            .complete_request(
                &self.actor("cntt"),
                q.id,
                &CompletionInput::Issued {
                    serial: serial.into(),
                    subject: format!("CN={}", sub.display_name),
                    issuer: "CN=Test CA".into(),
                    not_before: at,
                    not_after: add_months(at, months),
                    device_serial: Some(device.into()),
                },
                at,
            )
            .unwrap();
        self.svc.certificate(&self.actor("cntt"), serial).unwrap()
    }
}

pub fn new_input(sub: &Subscriber, months: u32) -> NewRequestInput {
    NewRequestInput {
        kind: RequestKind::new_for(sub.kind),
        subscriber: sub.id,
        certificate_serial: None,
        device_serial: None,
        details: RequestDetails::New { validity_months: months },
    }
}

/// A Decree 30 draft decision of SO-A, titled `title`, as a PDF.
pub fn nd30_draft_pdf(title: &str) -> Vec<u8> {
    kyso_pdf::draft::Nd30Draft {
        parent_agency: "UBND TỈNH".into(),
        agency: "CƠ QUAN SO-A".into(),
        symbol: "QĐ-SOA".into(),
        place: "Bắc Ninh".into(),
        year: 2026,
        kind: "QUYẾT ĐỊNH".into(),
        title: title.into(),
        body: vec!["Điều 1. Thử nghiệm.".into()],
        signer_titles: vec!["GIÁM ĐỐC".into()],
        signer_name: "Nguyễn Văn An".into(),
        recipients: vec!["Lưu: VT".into()],
    }
    .to_pdf()
    .expect("bản thảo PDF")
}

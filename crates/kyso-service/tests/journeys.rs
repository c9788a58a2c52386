//! Issue 10: each seed profile walked end to end through the service, from a new province:
//! CSV import → each of the five request kinds along the profile's route → issuance onto a
//! token by the built-in CA → handover → a change of information whose new values reach the
//! certificate and the registry → a locked token restored → revocation with the device
//! returned and its record → the report for the year. The expected report figures are
//! literal numbers, not recomputed by the report code.

mod support;

use chrono::{DateTime, Duration, Utc};
use kyso_core::calendar::WorkCalendar;
use kyso_core::profile::Route;
use kyso_core::registry::*;
use kyso_core::request::*;
use kyso_core::rules::{ChangeField, RevocationReason};
use kyso_pki::csr;
use kyso_pki::name::DistinguishedName;
use kyso_service::*;
use kyso_token::soft::SoftToken;
use kyso_token::*;
use support::*;

const AGENCIES: &str = "code,name,parent_code,legal_entity,tax_code,budget_code,email,address,valid_from
SO-TP,Sở Tư pháp,UBND-T,1,{tax2},,stp@{d},Tỉnh,2025-07-01
SO-TP-VP,Văn phòng Sở Tư pháp,SO-TP,0,,,,Tỉnh,2025-07-01
VP-UBND,Văn phòng UBND tỉnh,UBND-T,1,{tax3},,vp@{d},Tỉnh,2025-07-01
";

const PERSONS: &str = "full_name,citizen_id,date_of_birth,gender,position,position_kind,title,agency_code,email,phone
Nguyễn Văn An,027080000001,1980-05-01,nam,Phó Giám đốc,deputy_leader,,SO-TP-VP,an@{d},
Lê Văn Cường,027075000003,1975-02-03,nam,Chánh Văn phòng,chief_of_office,,SO-TP,cuong@{d},
Phạm Văn Dũng,027076000004,1976-02-03,nam,Chánh Văn phòng,chief_of_office,,VP-UBND,dung@{d},
";

struct Journey {
    svc: Service,
    session: Box<dyn TokenSession>,
    user: Box<dyn TokenSession>,
    officer: String,
    _dir: tempfile::TempDir,
    _schema: Option<PgSchema>,
}

impl Journey {
    fn actor(&self, login: &str) -> kyso_service::Principal {
        self.svc.local_operator(login).unwrap()
    }

    /// The official files their own request; the CQQLTT officer confirms it and it goes along
    /// the profile's route to the CA.
    fn to_ca(&self, input: NewRequestInput, at: DateTime<Utc>) -> Request {
        let officer = self.actor(&self.officer);
        let me = self.actor("an");
        let q = self.svc.create_request(&me, &input, at).unwrap();
        self.svc.transition(&me, q.id, Action::Submit, None, at).unwrap();
        self.svc.transition(&officer, q.id, Action::Confirm, None, at).unwrap();
        if self.svc.profile().routing.route_for(q.kind) == Route::ViaManager {
            self.svc.transition(&self.actor("qltb"), q.id, Action::Check, None, at).unwrap();
            self.svc.send_to_ca(&self.actor("qltb"), &[q.id], at).unwrap().1.remove(0)
        } else {
            self.svc.send_to_ca(&officer, &[q.id], at).unwrap().1.remove(0)
        }
    }

    /// The built-in CA issues for a request from a CSR made on the official's token.
    fn issue(&self, q: &Request, label: &str, device: Option<&str>, at: DateTime<Utc>) -> kyso_pki::cert::CertInfo {
        let key = self.user.generate_key(label, KeyAlgorithm::EcP256).unwrap();
        let req = csr::build(&DistinguishedName::parse("CN=Nguyễn Văn An,C=VN").unwrap(), &*key, SignatureScheme::EcdsaP256Sha256).unwrap();
        let (done, der) = self.svc.ca_issue(&self.actor("cntt"), q.id, &req, device, &*self.session, at).unwrap();
        assert_eq!(done.state, RequestState::Completed);
        kyso_pki::cert::parse(&der).unwrap().1
    }
}

fn journey(b: Backend, profile: &str) -> Journey {
    let domain = profile_domain(profile);
    let boot = Bootstrap {
        profile_key: profile.into(),
        root: AgencyInput { parent_code: None, ..agency_in("UBND-T", "", true, 1, &domain) },
        admin_login: "admin".into(),
        training: true,
    };
    let start = t0() - Duration::days(10);
    let schema = b.schema;
    let svc = Service::init(b.db, WorkCalendar::builtin(), &boot, start).unwrap();
    let admin = svc.local_operator("admin").unwrap();
    // The province's agencies and officials, from CSV.
    let agencies = AGENCIES.replace("{d}", &domain).replace("{tax2}", &tax(2)).replace("{tax3}", &tax(3));
    svc.import_agencies(&admin, agencies.as_bytes(), start).unwrap();
    svc.import_persons(&admin, PERSONS.replace("{d}", &domain).as_bytes(), start).unwrap();
    if svc.profile().managing_rule == kyso_core::profile::ManagingRule::ProvincialOfficeForProvinceBodies {
        svc.set_provincial_office(&admin, "VP-UBND", start).unwrap();
    }
    for (login, cid, role, agency) in [
        ("qltb", None, "provincial_manager", "UBND-T"),
        ("cntt", None, "it_staff", "UBND-T"),
        ("cb.tp", Some("027075000003"), "agency_officer", "SO-TP"),
        ("cb.vp", Some("027076000004"), "agency_officer", "VP-UBND"),
        ("an", Some("027080000001"), "subscriber", "SO-TP-VP"),
    ] {
        svc.add_user(&admin, login, cid, start).unwrap();
        svc.grant(&admin, login, role, agency, start).unwrap();
    }
    let sub = svc.add_subscriber(&admin, &SubscriberInput::Individual { citizen_id: "027080000001".into() }, None, start).unwrap();
    // The deputy head of a province body: Hà Tĩnh's CQQLTT is the provincial Office.
    let managing = svc.list_agencies(&admin, None).unwrap().into_iter().find(|a| a.id == sub.managing_agency_id).unwrap();
    let officer = if managing.code.as_str() == "VP-UBND" { "cb.vp" } else { "cb.tp" }.to_string();
    svc.add_device(
        &admin,
        &DeviceInput { serial: "TK1".into(), kind: "usb_token".into(), model: "Bit4id".into(), agency_code: "SO-TP".into() },
        start,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = SoftToken::create(dir.path(), "ca", &Pin::new("ca-pin-1"), &Pin::new("ca-so-pin-1"), 5, 1000).unwrap();
    let session = ca.login(&Pin::new("ca-pin-1")).unwrap();
    svc.ca_init(&svc.local_operator("cntt").unwrap(), &CaConfig::demo("http://127.0.0.1:8480"), &*session, start).unwrap();
    let u = SoftToken::create(dir.path(), "TK1", &Pin::new("1234"), &Pin::new("12345678"), 5, 1000).unwrap();
    let user = u.login(&Pin::new("1234")).unwrap();
    Journey { svc, session, user, officer, _dir: dir, _schema: schema }
}

#[test]
fn each_seed_profile_end_to_end() {
    // (profile, CQQLTT of the deputy head, the year's figures as (key, total))
    // Bắc Giang and Bắc Ninh report the same rows; the public-services figure is the agency's
    // own input (0 until given).
    const BAC_GIANG_BAC_NINH: &[(&str, u64)] = &[
        ("new", 1),
        ("revocation_requests", 1),
        ("information_changes", 1),
        ("renewal_requests", 1),
        ("documents_signed", 0),
        ("public_services", 0),
    ];
    type Case = (&'static str, &'static str, &'static [(&'static str, u64)]);
    let cases: [Case; 5] = [
        ("bac-giang-2020", "SO-TP", BAC_GIANG_BAC_NINH),
        ("ha-tinh-2020", "VP-UBND", &[("new", 1), ("revoked", 1), ("valid_certificates", 0)]),
        ("bac-ninh-2023", "SO-TP", BAC_GIANG_BAC_NINH),
        (
            "thai-binh-2016",
            "SO-TP",
            &[
                ("total_org", 0),
                ("total_personal", 0),
                ("new_requests", 1),
                ("reissue_requests", 1),
                ("renewal_requests", 1),
                ("revocation_requests", 1),
                ("pin_restore_requests", 1),
                ("documents_signed_org", 0),
                ("documents_signed_personal", 0),
                ("documents_sent", 0),
            ],
        ),
        ("national-nd68", "SO-TP", &[("new", 1), ("renewed", 1), ("information_changes", 1), ("revoked", 1), ("devices_restored", 1)]),
    ];
    for (profile, cqqltt, figures) in cases {
        for b in backends() {
            let backend = b.name;
            let j = journey(b, profile);
            let cntt = j.actor("cntt");
            let sub = j.svc.list_subscribers(&cntt, None, 10).unwrap().remove(0);
            let managing = j.svc.list_agencies(&cntt, None).unwrap().into_iter().find(|a| a.id == sub.managing_agency_id).unwrap();
            assert_eq!(managing.code.as_str(), cqqltt, "{profile} {backend}");
            let mut at = t0();
            let step = |at: &mut DateTime<Utc>, days: i64| {
                *at += Duration::days(days);
                *at
            };
            // 1. New certificate, issued onto the token, which is then handed over.
            let q = j.to_ca(new_input(&sub, 24), at);
            let first = j.issue(&q, "k1", Some("TK1"), at);
            let d = j.svc.device(&cntt, "TK1").unwrap();
            assert_eq!(d.status, DeviceStatus::Assigned, "{profile}");
            j.svc
                .hand_over(&cntt, "TK1", &Handover { from_cid: None, to_cid: "027080000001", reason: "Cấp mới", decision: None }, at)
                .unwrap();
            j.svc.set_device_status(&cntt, "TK1", "in_use", at).unwrap();
            // 2. Renewal.
            let renew_at = step(&mut at, 20);
            let q = j.to_ca(
                NewRequestInput {
                    kind: RequestKind::Renew,
                    subscriber: sub.id,
                    certificate_serial: Some(first.serial_hex.clone()),
                    device_serial: None,
                    details: RequestDetails::Renew { extension_months: 12 },
                },
                renew_at,
            );
            let renewed = j.issue(&q, "k2", None, renew_at);
            assert_eq!(renewed.not_after, add_months(first.not_after, 12), "{profile}");
            // 3. Change of information: the new title reaches the certificate and the registry.
            let change_at = step(&mut at, 10);
            let q = j.to_ca(
                NewRequestInput {
                    kind: RequestKind::ChangeInfo,
                    subscriber: sub.id,
                    certificate_serial: Some(renewed.serial_hex.clone()),
                    device_serial: None,
                    details: RequestDetails::ChangeInfo { changes: vec![(ChangeField::Title, "Chuyên viên cao cấp".into())] },
                },
                change_at,
            );
            let changed = j.issue(&q, "k3", None, change_at);
            assert!(changed.subject.to_string().contains("T=Chuyên viên cao cấp"), "{profile}: {}", changed.subject);
            assert_eq!(changed.not_after, renewed.not_after, "{profile}: the change keeps the expiry");
            assert_eq!(j.svc.person(&cntt, "027080000001", change_at).unwrap().title, "Chuyên viên cao cấp");
            // 4. The token locks; the registry learns it; the restore request goes through.
            let lock_at = step(&mut at, 5);
            j.svc.record_token_locked(&j.actor("an"), &changed.serial_hex, "kyso", lock_at).unwrap().unwrap();
            let q = j.to_ca(
                NewRequestInput {
                    kind: RequestKind::RestoreDevice,
                    subscriber: sub.id,
                    certificate_serial: Some(changed.serial_hex.clone()),
                    device_serial: Some("TK1".into()),
                    details: RequestDetails::RestoreDevice { contact_phone: None },
                },
                lock_at,
            );
            j.svc.complete_request(&cntt, q.id, &CompletionInput::Restored, lock_at).unwrap();
            assert_eq!(j.svc.device(&cntt, "TK1").unwrap().status, DeviceStatus::InUse, "{profile}");
            // 5. Revocation with the device returned, and its handover record.
            let revoke_at = step(&mut at, 5);
            let q = j.to_ca(
                NewRequestInput {
                    kind: RequestKind::Revoke,
                    subscriber: sub.id,
                    certificate_serial: Some(changed.serial_hex.clone()),
                    device_serial: None,
                    details: RequestDetails::Revoke {
                        reason: RevocationReason::RetiredOrLeft,
                        device_return: true,
                        lost_device_record: None,
                    },
                },
                revoke_at,
            );
            j.svc.ca_revoke(&cntt, q.id, &*j.session, revoke_at).unwrap();
            assert_eq!(j.svc.device(&cntt, "TK1").unwrap().status, DeviceStatus::AwaitingReturn, "{profile}");
            let receiver = if cqqltt == "VP-UBND" { "027076000004" } else { "027075000003" };
            j.svc.return_device(&cntt, "TK1", receiver, "Nộp lại thiết bị sau khi thu hồi", step(&mut at, 2)).unwrap();
            assert_eq!(j.svc.handover_records(&cntt, "TK1").unwrap().len(), 2, "{profile}");
            // 6. The year's report, with literal figures.
            let r = j.svc.report(&j.actor("qltb"), "2026", None).unwrap();
            let got: Vec<(&str, u64)> = r.figures.iter().map(|f| (f.key.as_str(), f.total)).collect();
            assert_eq!(got, figures.to_vec(), "{profile} {backend}");
            assert!(j.svc.verify_audit(&cntt).unwrap().is_valid());
        }
    }
}

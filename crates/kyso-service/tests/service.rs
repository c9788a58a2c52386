//! The service suite. Every test runs on SQLite and, when KYSO_TEST_PG_URL is set, on
//! PostgreSQL: the conformance suite both stores must pass.

mod support;

use chrono::Duration;
use kyso_core::registry::*;
use kyso_core::request::*;
use kyso_core::rules::{ChangeField, RevocationReason};
use kyso_core::DomainError;
use kyso_service::*;
use support::*;

fn each(profile: &str, f: impl Fn(&World)) {
    for b in backends() {
        let w = world(b, profile);
        f(&w);
        w.audit_ok();
    }
}

fn err_code(r: Result<impl std::fmt::Debug, ServiceError>) -> String {
    match r {
        Err(ServiceError::Domain(DomainError::Rule { rule, .. })) => format!("rule:{rule}"),
        Err(ServiceError::Domain(DomainError::Invalid { field, .. })) => format!("invalid:{field}"),
        Err(e) => e.code().to_string(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

#[test]
fn every_request_kind_walks_to_completion_with_an_event_per_step() {
    each("bac-ninh-2023", |w| {
        let at = t0();
        let cert = w.issue(&w.individual, at, 36, "AA01");
        let org = w.issue(&w.organisation, at, 60, "AA02");
        let dev = w.issue(&w.device_sub, at, 60, "AA03");
        assert_eq!(cert.status_at(at), CertificateStatus::Valid);
        let cntt = w.actor("cntt");
        let later = at + Duration::days(365 * 3 - 100);
        // Renewal: a new certificate at most 36 months past the old expiry; the old one is superseded.
        let q = w.to_ca(
            NewRequestInput {
                kind: RequestKind::Renew,
                subscriber: w.individual.id,
                certificate_serial: Some("AA01".into()),
                device_serial: None,
                details: RequestDetails::Renew { extension_months: 36 },
            },
            later,
        );
        w.svc
            .complete_request(
                &cntt,
                q.id,
                &CompletionInput::Issued {
                    serial: "AA11".into(),
                    subject: cert.subject.clone(),
                    issuer: "CN=Test CA".into(),
                    not_before: later,
                    not_after: add_months(cert.not_after, 36),
                    device_serial: None,
                },
                later,
            )
            .unwrap();
        let renewed = w.svc.certificate(&cntt, "AA11").unwrap();
        assert_eq!((renewed.renewal_count, renewed.predecessor, renewed.device_id), (1, Some(cert.id), cert.device_id));
        assert_eq!(w.svc.certificate(&cntt, "AA01").unwrap().revocation_reason, Some(RevocationReason::Superseded));
        // Change of information keeps the expiry.
        let q = w.to_ca(
            NewRequestInput {
                kind: RequestKind::ChangeInfo,
                subscriber: w.organisation.id,
                certificate_serial: Some("AA02".into()),
                device_serial: None,
                details: RequestDetails::ChangeInfo { changes: vec![(ChangeField::Address, "Số 1 Lý Thái Tổ".into())] },
            },
            later,
        );
        w.svc
            .complete_request(
                &cntt,
                q.id,
                &CompletionInput::Issued {
                    serial: "AA12".into(),
                    subject: org.subject.clone(),
                    issuer: "CN=Test CA".into(),
                    not_before: later,
                    not_after: org.not_after,
                    device_serial: None,
                },
                later,
            )
            .unwrap();
        // Revocation with device return sets the working-day deadline.
        let q = w.to_ca(
            NewRequestInput {
                kind: RequestKind::Revoke,
                subscriber: w.device_sub.id,
                certificate_serial: Some("AA03".into()),
                device_serial: None,
                details: RequestDetails::Revoke {
                    reason: RevocationReason::CeasedOperation,
                    device_return: true,
                    lost_device_record: None,
                },
            },
            later,
        );
        w.svc.complete_request(&cntt, q.id, &CompletionInput::Revoked { at: later }, later).unwrap();
        let revoked = w.svc.certificate(&cntt, "AA03").unwrap();
        assert_eq!(revoked.status_at(later + Duration::seconds(1)), CertificateStatus::Revoked);
        let token = w.svc.device(&cntt, "TOKEN2").unwrap();
        assert_eq!(token.status, DeviceStatus::AwaitingReturn);
        assert_eq!(token.return_due, Some(w.svc.calendar().add_working_days(kyso_core::value::vn_date(later), 5)));
        let _ = dev;
        // Restore a locked device: routed via the provincial manager in Bắc Ninh.
        w.svc.set_device_status(&cntt, "TOKEN0", "locked", later).unwrap();
        let q = w.to_ca(
            NewRequestInput {
                kind: RequestKind::RestoreDevice,
                subscriber: w.individual.id,
                certificate_serial: None,
                device_serial: Some("TOKEN0".into()),
                details: RequestDetails::RestoreDevice { contact_phone: None },
            },
            later,
        );
        let view = w.svc.request(&cntt, q.id).unwrap();
        let actions: Vec<&str> = view.history.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["request.created", "request.submitted", "request.confirmed", "request.checked", "request.sent_to_ca"],
            "{}",
            w.backend
        );
        w.svc.complete_request(&cntt, q.id, &CompletionInput::Restored, later).unwrap();
        assert_eq!(w.svc.device(&cntt, "TOKEN0").unwrap().status, DeviceStatus::InUse);
    });
}

#[test]
fn refused_steps_change_nothing_and_are_recorded_as_denied() {
    each("bac-ninh-2023", |w| {
        let officer_a = w.actor("cb.a");
        let q = w.svc.create_request(&officer_a, &new_input(&w.individual, 36), t0()).unwrap();
        w.svc.transition(&officer_a, q.id, Action::Submit, None, t0()).unwrap();
        // Another agency's officer, the manager, the clerk and the subscriber cannot confirm.
        for login in ["cb.b", "qltb", "cntt", "vt.a", "self", "kt"] {
            let before = w.snapshot();
            let r = w.svc.transition(&w.actor(login), q.id, Action::Confirm, None, t0());
            assert_eq!(err_code(r), "forbidden", "{} {login}", w.backend);
            let after = w.snapshot();
            assert_eq!(before[..7], after[..7], "{login}: data unchanged");
            assert_eq!(after[7], before[7] + 1, "{login}: one denied event");
        }
        let tail = w.svc.audit_tail(&w.actor("kt"), 1).unwrap();
        assert_eq!((tail[0].outcome.as_str(), tail[0].actor.as_str()), ("denied", "kt"));
        // A step from the wrong state is refused without any event.
        let before = w.snapshot();
        assert_eq!(err_code(w.svc.transition(&w.actor("qltb"), q.id, Action::Check, None, t0())), "transition");
        assert_eq!(before, w.snapshot());
        assert_eq!(w.svc.request(&officer_a, q.id).unwrap().request.state, RequestState::Submitted);
    });
}

#[test]
fn renewal_rules() {
    each("bac-ninh-2023", |w| {
        let cert = w.issue(&w.individual, t0(), 36, "BB01");
        let renew = |days_left: i64, months: u32| {
            let at = cert.not_after - Duration::days(days_left) - Duration::hours(1);
            let input = NewRequestInput {
                kind: RequestKind::Renew,
                subscriber: w.individual.id,
                certificate_serial: Some("BB01".into()),
                device_serial: None,
                details: RequestDetails::Renew { extension_months: months },
            };
            (at, w.svc.create_request(&w.actor("cb.a"), &input, at))
        };
        let before = w.snapshot();
        assert_eq!(err_code(renew(59, 36).1), "rule:NĐ130-Art63-60-days", "{}", w.backend);
        assert_eq!(err_code(renew(120, 37).1), "rule:NĐ130-Art63-3-years");
        assert_eq!(before, w.snapshot(), "rejected renewals write nothing");
        let (at, q) = renew(60, 36);
        let q = q.unwrap();
        w.svc.transition(&w.actor("cb.a"), q.id, Action::Cancel, None, at).unwrap();
        // Renew once; the second renewal of the new certificate is refused.
        let at = cert.not_after - Duration::days(90);
        let q = w.to_ca(
            NewRequestInput {
                kind: RequestKind::Renew,
                subscriber: w.individual.id,
                certificate_serial: Some("BB01".into()),
                device_serial: None,
                details: RequestDetails::Renew { extension_months: 24 },
            },
            at,
        );
        let cntt = w.actor("cntt");
        // The CA's result may not extend more than requested.
        let too_long = CompletionInput::Issued {
            serial: "BB02".into(),
            subject: "CN=x".into(),
            issuer: "CN=Test CA".into(),
            not_before: at,
            not_after: add_months(cert.not_after, 25),
            device_serial: None,
        };
        assert_eq!(err_code(w.svc.complete_request(&cntt, q.id, &too_long, at)), "rule:NĐ130-Art63-3-years");
        let ok = CompletionInput::Issued {
            serial: "BB02".into(),
            subject: "CN=x".into(),
            issuer: "CN=Test CA".into(),
            not_before: at,
            not_after: add_months(cert.not_after, 24),
            device_serial: None,
        };
        w.svc.complete_request(&cntt, q.id, &ok, at).unwrap();
        let at2 = add_months(cert.not_after, 24) - Duration::days(90);
        let second = NewRequestInput {
            kind: RequestKind::Renew,
            subscriber: w.individual.id,
            certificate_serial: Some("BB02".into()),
            device_serial: None,
            details: RequestDetails::Renew { extension_months: 12 },
        };
        assert_eq!(err_code(w.svc.create_request(&w.actor("cb.a"), &second, at2)), "rule:NĐ130-Art63-renew-once");
    });
}

#[test]
fn change_of_information_and_revocation_rules() {
    each("bac-ninh-2023", |w| {
        let cert = w.issue(&w.organisation, t0(), 60, "CC01");
        let cntt = w.actor("cntt");
        let officer = w.actor("cb.a");
        let change = |changes: Vec<(ChangeField, String)>| NewRequestInput {
            kind: RequestKind::ChangeInfo,
            subscriber: w.organisation.id,
            certificate_serial: Some("CC01".into()),
            device_serial: None,
            details: RequestDetails::ChangeInfo { changes },
        };
        assert_eq!(err_code(w.svc.create_request(&officer, &change(vec![(ChangeField::Title, "x".into())]), t0())), "rule:NĐ130-Art66");
        assert_eq!(err_code(w.svc.create_request(&officer, &change(vec![]), t0())), "invalid:changes");
        let near_end = cert.not_after - Duration::days(30);
        assert_eq!(
            err_code(w.svc.create_request(&officer, &change(vec![(ChangeField::Name, "Sở A mới".into())]), near_end)),
            "rule:NĐ130-Art65-60-days"
        );
        let q = w.to_ca(change(vec![(ChangeField::Name, "Sở A mới".into())]), t0());
        let moved = CompletionInput::Issued {
            serial: "CC02".into(),
            subject: "CN=Sở A mới".into(),
            issuer: "CN=Test CA".into(),
            not_before: t0(),
            not_after: cert.not_after + Duration::days(1),
            device_serial: None,
        };
        assert_eq!(err_code(w.svc.complete_request(&cntt, q.id, &moved, t0())), "rule:NĐ130-Art65-same-expiry");
        // The CA turned it down; the certificate is free for another request.
        w.svc.transition(&cntt, q.id, Action::Reject, Some("Tổ chức chứng thực trả lại hồ sơ"), t0()).unwrap();

        let revoke = |sub: &Subscriber, serial: &str, reason, device_return, record: Option<&str>| NewRequestInput {
            kind: RequestKind::Revoke,
            subscriber: sub.id,
            certificate_serial: Some(serial.into()),
            device_serial: None,
            details: RequestDetails::Revoke { reason, device_return, lost_device_record: record.map(String::from) },
        };
        // A certificate registered without a device cannot be revoked "with device return".
        let bare = w
            .svc
            .register_certificate(
                &w.actor("admin"),
                &ExistingCertificate {
                    subscriber: w.individual.id,
                    serial: "CC09".into(),
                    subject: "CN=x".into(),
                    issuer: "CN=Test CA".into(),
                    not_before: t0(),
                    not_after: t0() + Duration::days(700),
                    device_serial: None,
                    renewal_count: 0,
                },
                t0(),
            )
            .unwrap();
        let before = w.snapshot();
        let cases: Vec<(NewRequestInput, &str)> = vec![
            (revoke(&w.individual, bare.serial.as_str(), RevocationReason::RetiredOrLeft, true, None), "invalid:device_return"),
            (revoke(&w.individual, bare.serial.as_str(), RevocationReason::Dissolved, false, None), "rule:NĐ68-Art17"),
            (revoke(&w.individual, bare.serial.as_str(), RevocationReason::DeviceLost, false, None), "rule:TT185-Mau15"),
            (revoke(&w.individual, bare.serial.as_str(), RevocationReason::DeviceLost, false, Some("  ")), "rule:TT185-Mau15"),
            (revoke(&w.organisation, "CC01", RevocationReason::RetiredOrLeft, false, None), "rule:NĐ68-Art17"),
            (revoke(&w.individual, "CC01", RevocationReason::RetiredOrLeft, false, None), "invalid:certificate"),
        ];
        for (input, want) in cases {
            assert_eq!(err_code(w.svc.create_request(&officer, &input, t0())), want, "{}", w.backend);
        }
        assert_eq!(before, w.snapshot());
        w.svc
            .create_request(
                &officer,
                &revoke(&w.individual, bare.serial.as_str(), RevocationReason::DeviceLost, false, Some("Biên bản 12/BB-XN")),
                t0(),
            )
            .unwrap();
    });
}

#[test]
fn new_certificates_respect_validity_and_the_province_list() {
    each("bac-ninh-2023", |w| {
        let officer = w.actor("cb.a");
        assert_eq!(err_code(w.svc.create_request(&officer, &new_input(&w.individual, 61), t0())), "rule:NĐ130-Art63/NĐ68-Art9");
        let q = w.to_ca(new_input(&w.individual, 36), t0());
        let long = CompletionInput::Issued {
            serial: "DD01".into(),
            subject: "CN=x".into(),
            issuer: "CN=Test CA".into(),
            not_before: t0(),
            not_after: add_months(t0(), 37),
            device_serial: None,
        };
        assert_eq!(err_code(w.svc.complete_request(&w.actor("cntt"), q.id, &long, t0())), "rule:NĐ130-Art63/NĐ68-Art9");
    });
    // Thái Bình: only listed positions may hold a personal certificate; everything goes via the manager.
    each("thai-binh-2016", |w| {
        let admin = w.actor("admin");
        let spec = w
            .svc
            .add_subscriber(&admin, &SubscriberInput::Individual { citizen_id: w.specialist.citizen_id.to_string() }, None, t0())
            .unwrap();
        assert_eq!(err_code(w.svc.create_request(&w.actor("cb.a"), &new_input(&spec, 36), t0())), "rule:profile-eligible-positions");
        let q = w.to_ca(new_input(&w.individual, 36), t0());
        let view = w.svc.request(&admin, q.id).unwrap();
        assert!(view.history.iter().any(|e| e.action == "request.checked" && e.actor == "qltb"));
    });
}

#[test]
fn bad_registry_input_names_the_field_and_writes_nothing() {
    each("bac-ninh-2023", |w| {
        let admin = w.actor("admin");
        let before = w.snapshot();
        let mut bad_cid = person("Lê Thị Hoa", "02718500000", "1985-01-01", "nữ", "specialist", "SO-A");
        assert_eq!(err_code(w.svc.add_person(&admin, &bad_cid, t0())), "invalid:citizen_id");
        bad_cid.citizen_id = "027085000009".into(); // says male, the person is female
        assert_eq!(err_code(w.svc.add_person(&admin, &bad_cid, t0())), "invalid:citizen_id");
        let unknown = person("Lê Thị Hoa", "027185000009", "1985-01-01", "nữ", "specialist", "KHONG-CO");
        assert_eq!(err_code(w.svc.add_person(&admin, &unknown, t0())), "not_found");
        let dup = person("Lê Văn Khác", "027080000001", "1980-05-01", "nam", "leader", "SO-A");
        assert_eq!(err_code(w.svc.add_person(&admin, &dup, t0())), "conflict");
        assert_eq!(err_code(w.svc.add_agency(&admin, &agency("SO-C", "KHONG-CO", true, 9), t0())), "not_found");
        let mut no_tax = agency("SO-C", "UBND-T", true, 9);
        no_tax.tax_code = None;
        assert_eq!(err_code(w.svc.add_agency(&admin, &no_tax, t0())), "invalid:tax_code");
        let mut bad_tax = agency("SO-C", "UBND-T", true, 9);
        bad_tax.tax_code = Some("0100112438".into());
        assert_eq!(err_code(w.svc.add_agency(&admin, &bad_tax, t0())), "invalid:tax_code");
        assert_eq!(err_code(w.svc.grant(&admin, "cb.a", "agency_officer", "SO-A-P1", t0())), "rule:TT185-Art3-CQQLTT");
        assert_eq!(
            err_code(w.svc.add_subscriber(&admin, &SubscriberInput::Organisation { agency_code: "SO-A-P1".into() }, None, t0())),
            "rule:NĐ68-Art10-k2"
        );
        assert_eq!(before, w.snapshot(), "{}", w.backend);
    });
}

#[test]
fn csv_import_reports_bad_rows_by_line_and_imports_nothing() {
    each("bac-ninh-2023", |w| {
        let admin = w.actor("admin");
        let good = format!("code,name,parent_code,legal_entity,tax_code,budget_code,email,address,valid_from\nSO-C,Sở C,UBND-T,1,{},,soc@bacninh.gov.vn,Bắc Ninh,2025-07-01\nSO-C-P,Phòng của Sở C,SO-C,0,,,,Bắc Ninh,\n", tax(7));
        let bad = format!(
            "{good}SO-D,Sở D,KHONG-CO,1,{},,,Bắc Ninh,\nSO-E,Sở E,UBND-T,1,123,,,Bắc Ninh,\nSO-C,Trùng mã,UBND-T,0,,,,Bắc Ninh,\n",
            tax(8)
        );
        let before = w.snapshot();
        match w.svc.import_agencies(&admin, bad.as_bytes(), t0()) {
            Err(ServiceError::Import(rows)) => assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![4, 5, 6], "{rows:?}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(before, w.snapshot(), "nothing half-imported");
        // Regression (issue 11, finding 10): with CRLF line endings (Excel on Windows) the rows
        // were reported one line too low.
        match w.svc.import_agencies(&admin, bad.replace('\n', "\r\n").as_bytes(), t0()) {
            Err(ServiceError::Import(rows)) => assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![4, 5, 6], "{rows:?}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(w.svc.import_agencies(&admin, good.as_bytes(), t0()).unwrap().imported, 2);
        let persons = "full_name,citizen_id,date_of_birth,gender,position,position_kind,title,agency_code,email,phone\n\
                       Ngô Văn Hải,027081000011,1981-01-01,nam,Phó Giám đốc,deputy_leader,,SO-C,hai@bacninh.gov.vn,0912345678\n\
                       Ngô Thị Lan,0271820000,1982-01-01,nữ,Chuyên viên,specialist,,SO-C,lan@bacninh.gov.vn,\n\
                       Đỗ Văn Nam,027083000013,1983-01-01,nam,Chuyên viên,khong-biet,,SO-C,nam@bacninh.gov.vn,\n";
        let before = w.snapshot();
        match w.svc.import_persons(&admin, persons.as_bytes(), t0()) {
            Err(ServiceError::Import(rows)) => {
                assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![3, 4]);
                assert!(rows[0].message.contains("citizen_id"), "{}", rows[0].message);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(before, w.snapshot());
        assert_eq!(err_code(w.svc.import_persons(&admin, "ten,so\nA,B\n".as_bytes(), t0())), "import");
    });
}

#[test]
fn report_figures_match_a_recount_of_the_event_table() {
    each("bac-ninh-2023", |w| {
        let c1 = w.issue(&w.individual, t0(), 36, "EE01");
        w.issue(&w.organisation, t0() + Duration::days(2), 60, "EE02");
        let later = t0() + Duration::days(10);
        let q = w.to_ca(
            NewRequestInput {
                kind: RequestKind::Revoke,
                subscriber: w.individual.id,
                certificate_serial: Some(c1.serial.to_string()),
                device_serial: None,
                details: RequestDetails::Revoke { reason: RevocationReason::RetiredOrLeft, device_return: true, lost_device_record: None },
            },
            later,
        );
        w.svc.complete_request(&w.actor("cntt"), q.id, &CompletionInput::Revoked { at: later }, later).unwrap();
        let r = w.svc.report(&w.actor("kt"), "2026-H1", None).unwrap();
        let get = |k: &str| r.figures.iter().find(|f| f.key == k).unwrap().clone();
        assert_eq!((get("new").org, get("new").personal), (Some(1), Some(1)), "{}", w.backend);
        assert_eq!(get("revocation_requests").personal, Some(1));
        assert_eq!(get("renewal_requests").total, 0);
        // Recount from the raw events with no help from the store's aggregate.
        let mut events = Vec::new();
        let mut after = 0;
        loop {
            let page = w.svc.db().read(|tx| tx.audit_page(after, 500)).unwrap();
            if page.is_empty() {
                break;
            }
            after = page.last().unwrap().seq;
            events.extend(page);
        }
        let count = |action: &str, subjects: &[&str], class: &str| {
            events
                .iter()
                .filter(|e| {
                    e.action == action
                        && e.outcome == "ok"
                        && e.subject.as_deref().is_some_and(|s| subjects.contains(&s))
                        && e.class.as_deref() == Some(class)
                })
                .count() as u64
        };
        assert_eq!(
            get("new").personal,
            Some(count("request.completed", &["new_individual", "new_organisation", "new_device"], "personal"))
        );
        assert_eq!(get("new").org, Some(count("request.completed", &["new_individual", "new_organisation", "new_device"], "org")));
        assert_eq!(get("revocation_requests").personal, Some(count("request.sent_to_ca", &["revoke"], "personal")));
        // Another period and a subtree without activity show zeros.
        assert!(w.svc.report(&w.actor("kt"), "2025-H2", None).unwrap().figures.iter().all(|f| f.total == 0));
        assert_eq!(w.svc.report(&w.actor("qltb"), "2026", Some("SO-B")).unwrap().figures.iter().map(|f| f.total).sum::<u64>(), 0);
        // An officer sees only its own subtree.
        assert_eq!(err_code(w.svc.report(&w.actor("cb.b"), "2026", Some("SO-A"))), "forbidden");
    });
}

#[test]
fn expiring_certificates_are_listed_soonest_first() {
    each("bac-ninh-2023", |w| {
        w.issue(&w.individual, t0(), 12, "FF01");
        w.issue(&w.organisation, t0(), 3, "FF02");
        w.issue(&w.device_sub, t0(), 60, "FF03");
        let v = w.svc.expiring_certificates(&w.actor("qltb"), None, 90, t0() + Duration::days(30), 100).unwrap();
        assert_eq!(v.iter().map(|c| c.serial.as_str()).collect::<Vec<_>>(), ["FF02"], "{}", w.backend);
        let v = w.svc.expiring_certificates(&w.actor("qltb"), None, 400, t0(), 100).unwrap();
        assert_eq!(v.iter().map(|c| c.serial.as_str()).collect::<Vec<_>>(), ["FF02", "FF01"]);
    });
}

#[test]
fn audit_verify_names_the_changed_removed_or_reordered_event() {
    type Tamper = fn() -> &'static str;
    let cases: &[(&str, Tamper, i64)] = &[
        ("changed", || "UPDATE audit_events SET details = '{\"x\":1}' WHERE seq = 5", 5),
        ("removed", || "DELETE FROM audit_events WHERE seq = 7", 7),
        // Both databases check the primary key per row: swap through a free number.
        (
            "reordered",
            || {
                "UPDATE audit_events SET seq = -3 WHERE seq = 3; UPDATE audit_events SET seq = 3 WHERE seq = 4; UPDATE audit_events SET seq = 4 WHERE seq = -3"
            },
            3,
        ),
        ("tail removed", || "DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)", -1),
    ];
    for (name, sql, at) in cases {
        for b in backends() {
            let w = world(b, "bac-ninh-2023");
            w.audit_ok();
            let head = w.svc.db().read(|tx| tx.audit_head()).unwrap().0;
            w.svc.db().batch(sql()).unwrap();
            let v = w.svc.verify_audit(&w.actor("kt")).unwrap();
            let want = if *at < 0 { head } else { *at };
            assert_eq!(v.broken.as_ref().map(|b| b.seq), Some(want), "{name} on {}: {v:?}", w.backend);
        }
    }
}

#[test]
fn a_failure_at_any_statement_leaves_no_half_applied_transition() {
    for b in backends() {
        let w = world(b, "bac-ninh-2023");
        let q = w.to_ca(new_input(&w.individual, 36), t0());
        let cntt = w.actor("cntt");
        let input = CompletionInput::Issued {
            serial: "GG01".into(),
            subject: "CN=x".into(),
            issuer: "CN=Test CA".into(),
            not_before: t0(),
            not_after: add_months(t0(), 36),
            device_serial: Some("TOKEN0".into()),
        };
        let before = w.snapshot();
        let mut failures = 0;
        for n in 1.. {
            w.svc.db().inject_fault_after(n);
            match w.svc.complete_request(&cntt, q.id, &input, t0()) {
                Err(ServiceError::Store(kyso_store::StoreError::InjectedFault(_))) => {
                    failures += 1;
                    assert_eq!(before, w.snapshot(), "{}: fault at statement {n} left a trace", w.backend);
                    assert_eq!(w.svc.request(&cntt, q.id).unwrap().request.state, RequestState::SentToCa);
                    w.audit_ok();
                }
                Ok(done) => {
                    assert_eq!(done.state, RequestState::Completed);
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
        w.svc.db().inject_fault_after(0);
        assert!(failures > 5, "the completion has several statements ({failures})");
        w.audit_ok();
    }
}

#[test]
fn the_subscriber_can_make_its_own_request_but_not_confirm_it() {
    each("bac-ninh-2023", |w| {
        let me = w.actor("self");
        let q = w.svc.create_request(&me, &new_input(&w.individual, 36), t0()).unwrap();
        w.svc.transition(&me, q.id, Action::Submit, None, t0()).unwrap();
        assert_eq!(err_code(w.svc.transition(&me, q.id, Action::Confirm, None, t0())), "forbidden");
        // Someone else's subscriber is out of reach.
        assert_eq!(err_code(w.svc.create_request(&me, &new_input(&w.organisation, 36), t0())), "forbidden");
        // Rejection needs a reason.
        assert_eq!(err_code(w.svc.transition(&w.actor("cb.a"), q.id, Action::Reject, Some(" "), t0())), "invalid:reason");
        let r = w.svc.transition(&w.actor("cb.a"), q.id, Action::Reject, Some("Thiếu quyết định bổ nhiệm"), t0()).unwrap();
        assert_eq!(r.rejection_reason.as_deref(), Some("Thiếu quyết định bổ nhiệm"));
    });
}

#[test]
fn one_open_request_per_certificate() {
    each("bac-ninh-2023", |w| {
        let c = w.issue(&w.individual, t0(), 36, "HH01");
        let at = c.not_after - Duration::days(100);
        let renew = NewRequestInput {
            kind: RequestKind::Renew,
            subscriber: w.individual.id,
            certificate_serial: Some("HH01".into()),
            device_serial: None,
            details: RequestDetails::Renew { extension_months: 12 },
        };
        w.svc.create_request(&w.actor("cb.a"), &renew, at).unwrap();
        assert_eq!(err_code(w.svc.create_request(&w.actor("cb.a"), &renew, at)), "rule:one-open-request");
    });
}

#[test]
fn bulk_audit_append_chains_like_single_appends() {
    for b in backends() {
        let w = world(b, "bac-ninh-2023");
        let at = t0();
        let events: Vec<_> = (0..900)
            .map(|i| (kyso_core::audit::NewEvent::new("admin", "person.created", format!("person:{i}")), at + Duration::seconds(i)))
            .collect();
        w.svc.db().write(|tx| tx.append_audit_batch(events)).unwrap();
        // A single append after the batch continues the same chain.
        w.svc.add_agency(&w.actor("admin"), &agency("SO-Z", "UBND-T", false, 30), at + Duration::hours(1)).unwrap();
        w.audit_ok();
        let (head, _) = w.svc.db().read(|tx| tx.audit_head()).unwrap();
        assert_eq!(w.svc.verify_audit(&w.actor("kt")).unwrap().checked, head, "{}", w.backend);
    }
}

mod property {
    use super::*;
    use proptest::prelude::*;

    // Weighted towards the people and steps that move a request forward, so that many runs
    // reach completion and the property is exercised, not just vacuously true.
    const LOGINS: [&str; 11] = ["cb.a", "cb.a", "cb.a", "cntt", "cntt", "cb.b", "qltb", "vt.a", "self", "kt", "admin"];
    const ACTIONS: [Action; 10] = [
        Action::Submit,
        Action::Confirm,
        Action::SendToCa,
        Action::SendToCa,
        Action::Complete,
        Action::Complete,
        Action::Reject,
        Action::Cancel,
        Action::Check,
        Action::Confirm,
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Through the service and the database: whatever anyone does, a completed request
        /// has a `request.confirmed` event by the subscriber's own CQQLTT officer, and the
        /// audit chain stays whole.
        #[test]
        fn no_completion_without_the_cqqltt_confirmation(steps in prop::collection::vec((0usize..11, 0usize..10), 1..25)) {
            let w = world(Backend { name: "sqlite", db: kyso_store::Db::open_sqlite_memory().unwrap(), schema: None }, "bac-ninh-2023");
            let q = w.svc.create_request(&w.actor("self"), &new_input(&w.individual, 36), t0()).unwrap();
            for (n, (who, a)) in steps.into_iter().enumerate() {
                let actor = w.actor(LOGINS[who]);
                let at = t0() + Duration::minutes(n as i64);
                let _ = match ACTIONS[a] {
                    Action::Complete => w.svc.complete_request(&actor, q.id, &CompletionInput::Issued {
                        serial: format!("PP{n:02}"), subject: "CN=x".into(), issuer: "CN=Test CA".into(), not_before: at, not_after: add_months(at, 36), device_serial: None,
                    }, at),
                    action => w.svc.transition(&actor, q.id, action, Some("lý do"), at),
                };
            }
            let view = w.svc.request(&w.actor("admin"), q.id).unwrap();
            if view.request.state == RequestState::Completed {
                prop_assert!(view.history.iter().any(|e| e.action == "request.confirmed" && e.actor == "cb.a" && e.outcome == "ok"));
            }
            w.audit_ok();
        }
    }
}

#[test]
fn device_lifecycle_with_handover_records_and_loss() {
    each("bac-ninh-2023", |w| {
        let admin = w.actor("admin");
        let t = t0();
        w.svc
            .add_device(
                &admin,
                &DeviceInput { serial: "NEW-1".into(), kind: "usb_token".into(), model: "Bit4id".into(), agency_code: "SO-A".into() },
                t,
            )
            .unwrap();
        let clerk = "027185000005";
        let officer = "027075000003";
        // An organisation's device goes to the records clerk, by a written decision.
        assert_eq!(err_code(w.svc.assign_device(&admin, "NEW-1", officer, true, Some("QĐ 1"), t)), "rule:org-device-records-clerk");
        assert_eq!(err_code(w.svc.assign_device(&admin, "NEW-1", clerk, true, None, t)), "invalid:decision");
        // Handover and loss have their own steps, not the generic status change.
        assert_eq!(err_code(w.svc.set_device_status(&admin, "NEW-1", "handed_over", t)), "rule:device-lifecycle");
        w.svc.assign_device(&admin, "NEW-1", clerk, true, Some("Quyết định số 12/QĐ-SOA ngày 02/3/2026"), t).unwrap();
        assert_eq!(
            err_code(w.svc.hand_over(&admin, "NEW-1", &Handover { from_cid: None, to_cid: officer, reason: "Cấp mới", decision: None }, t)),
            "rule:device-lifecycle"
        );
        let h1 =
            w.svc.hand_over(&admin, "NEW-1", &Handover { from_cid: None, to_cid: clerk, reason: "Cấp mới", decision: None }, t).unwrap();
        assert_eq!(h1.form, "Mẫu 07", "NĐ 68 is in force in 2026: its handover form");
        w.svc.set_device_status(&admin, "NEW-1", "in_use", t).unwrap();
        // A change of custodian: the current holder hands over, a new record is made.
        assert_eq!(
            err_code(w.svc.hand_over(
                &admin,
                "NEW-1",
                &Handover { from_cid: Some(officer), to_cid: officer, reason: "Đổi người quản lý", decision: Some("QĐ 13") },
                t
            )),
            "invalid:from"
        );
        w.svc
            .hand_over(
                &admin,
                "NEW-1",
                &Handover {
                    from_cid: Some(clerk),
                    to_cid: officer,
                    reason: "Văn thư nghỉ phép dài ngày",
                    decision: Some("Quyết định số 13/QĐ-SOA"),
                },
                t + Duration::days(30),
            )
            .unwrap();
        let history = w.svc.handover_records(&admin, "NEW-1").unwrap();
        assert_eq!(history.len(), 2, "{}", w.backend);
        assert_eq!(w.svc.device(&admin, "NEW-1").unwrap().custodian, history[1].to_person.into());
        // Loss needs the confirmation record and files the revocation of what is on it.
        let cert = w.issue(&w.individual, t, 36, "LL01");
        assert!(cert.device_id.is_some());
        // The loss record is the CQQLTT's (the authorisation matrix, TT 185 Art. 15): IT staff
        // may not file the revocations it brings.
        let officer_a2 = w.actor("cb.a2");
        assert_eq!(err_code(w.svc.report_lost(&officer_a2, "TOKEN0", " ", t)), "rule:TT185-Mau15");
        assert_eq!(err_code(w.svc.report_lost(&admin, "TOKEN0", "Biên bản số 3/BB-XN ngày 05/3/2026", t)), "forbidden");
        let filed = w.svc.report_lost(&officer_a2, "TOKEN0", "Biên bản số 3/BB-XN ngày 05/3/2026", t + Duration::days(3)).unwrap();
        assert_eq!(filed.len(), 1);
        assert_eq!(filed[0].state, RequestState::Submitted);
        assert_eq!(w.svc.device(&admin, "TOKEN0").unwrap().status, DeviceStatus::Lost);
        // The CQQLTT confirms it like any other request.
        w.svc.transition(&w.actor("cb.a"), filed[0].id, Action::Confirm, None, t + Duration::days(3)).unwrap();
    });
}

/// Issue 10: an account with only the subscriber role created, submitted and cancelled a
/// request for another official. Only the subscriber themself, the CQQLTT officer of the
/// managing agency and the provincial manager file requests.
#[test]
fn subscriber_acts_only_for_themself() {
    each("bac-ninh-2023", |w| {
        let admin = w.actor("admin");
        let colleague = w
            .svc
            .add_subscriber(&admin, &SubscriberInput::Individual { citizen_id: w.specialist.citizen_id.to_string() }, None, t0())
            .unwrap();
        // (actor, subscriber, may create)
        let cases = [
            ("self", &w.individual, true),
            ("self", &colleague, false),
            ("self", &w.organisation, false),
            ("cb.a", &colleague, true),
            ("cb.a", &w.organisation, true),
            ("qltb", &colleague, true),
            ("cb.b", &colleague, false),
            ("vt.a", &colleague, false),
            ("vt.a", &w.organisation, false),
            ("cntt", &colleague, false),
            ("kt", &colleague, false),
        ];
        for (login, sub, ok) in cases {
            let before = w.snapshot();
            let r = w.svc.create_request(&w.actor(login), &new_input(sub, 24), t0());
            if ok {
                let q = r.unwrap_or_else(|e| panic!("{login} for {}: {e}", sub.display_name));
                w.svc.transition(&w.actor("cb.a"), q.id, Action::Cancel, None, t0()).unwrap();
            } else {
                assert_eq!(err_code(r), "forbidden", "{} {login} for {}", w.backend, sub.display_name);
                let after = w.snapshot();
                assert_eq!(before[..7], after[..7], "{login}: nothing written");
            }
        }
        // A request the officer filed for a colleague: the subscriber-only account can neither
        // submit nor cancel it.
        let q = w.svc.create_request(&w.actor("cb.a"), &new_input(&colleague, 24), t0()).unwrap();
        for action in [Action::Submit, Action::Cancel] {
            assert_eq!(err_code(w.svc.transition(&w.actor("self"), q.id, action, None, t0())), "forbidden", "{action:?}");
        }
        assert_eq!(w.svc.request(&w.actor("cb.a"), q.id).unwrap().request.state, RequestState::Draft);
    });
}

/// Issue 10: the values of a change of information are checked when the request is filed,
/// and a refused one writes nothing.
#[test]
fn change_of_information_values_are_checked_when_filed() {
    use kyso_core::rules::ChangeField as F;
    each("bac-ninh-2023", |w| {
        let at = t0();
        w.issue(&w.individual, at, 36, "CI01");
        w.issue(&w.organisation, at, 36, "CI02");
        let later = at + Duration::days(100);
        // (subscriber, certificate, changes, expected error or "" for accepted)
        type Case<'a> = (&'a Subscriber, &'a str, Vec<(F, &'a str)>, &'a str);
        let cases: Vec<Case<'_>> = vec![
            (&w.individual, "CI01", vec![(F::Workplace, "KHONG-CO")], "invalid:changes"),
            (&w.individual, "CI01", vec![(F::Email, "not-an-email")], "invalid:email"),
            (&w.individual, "CI01", vec![(F::Name, "Nguyễn Văn 2")], "invalid:full_name"),
            (&w.individual, "CI01", vec![(F::TaxCode, "0100109106")], "rule:NĐ130-Art66"),
            (&w.organisation, "CI02", vec![(F::Workplace, "SO-B")], "rule:NĐ130-Art66"),
            (&w.organisation, "CI02", vec![(F::TaxCode, "12345")], "invalid:tax_code"),
            (&w.individual, "CI01", vec![(F::Title, "Chuyên viên chính"), (F::Workplace, "SO-B")], ""),
        ];
        for (sub, serial, changes, want) in cases {
            let input = NewRequestInput {
                kind: RequestKind::ChangeInfo,
                subscriber: sub.id,
                certificate_serial: Some(serial.into()),
                device_serial: None,
                details: RequestDetails::ChangeInfo { changes: changes.iter().map(|(f, v)| (*f, v.to_string())).collect() },
            };
            let before = w.snapshot();
            let r = w.svc.create_request(&w.actor("cb.a"), &input, later);
            if want.is_empty() {
                let q = r.unwrap();
                w.svc.transition(&w.actor("cb.a"), q.id, Action::Cancel, None, later).unwrap();
            } else {
                assert_eq!(err_code(r), want, "{} {changes:?}", w.backend);
                assert_eq!(before, w.snapshot(), "{changes:?}: nothing written");
            }
        }
    });
}

/// Issue 10, device life: a device issued onto is ready for its handover without a manual
/// assignment (an organisation's goes to the records clerk by a written decision), a return
/// makes a handover record with both parties, and a device past its return deadline is
/// flagged overdue.
#[test]
fn device_life_from_issuance_to_handover_return_and_overdue() {
    each("bac-ninh-2023", |w| {
        let admin = w.actor("admin");
        let cntt = w.actor("cntt");
        let at = t0();
        const CLERK: &str = "027185000005";
        const OFFICER: &str = "027075000003";
        for serial in ["NEW-IND", "NEW-ORG"] {
            w.svc
                .add_device(
                    &admin,
                    &DeviceInput { serial: serial.into(), kind: "usb_token".into(), model: "Bit4id".into(), agency_code: "SO-A-P1".into() },
                    at,
                )
                .unwrap();
        }
        let issue_onto = |sub: &Subscriber, serial: &str, device: &str| {
            let q = w.to_ca(new_input(sub, 24), at);
            let issued = CompletionInput::Issued {
                serial: serial.into(),
                subject: format!("CN={}", sub.display_name),
                issuer: "CN=Test CA".into(),
                not_before: at,
                not_after: add_months(at, 24),
                device_serial: Some(device.into()),
            };
            w.svc.complete_request(&cntt, q.id, &issued, at).unwrap();
        };
        // A personal certificate: the device is assigned to its holder by the issuance.
        issue_onto(&w.individual, "DL01", "NEW-IND");
        let d = w.svc.device(&cntt, "NEW-IND").unwrap();
        assert_eq!((d.status, d.custodian), (DeviceStatus::Assigned, Some(w.leader.id)), "{}", w.backend);
        let handover = |serial: &str, to: &str, decision: Option<&str>| {
            w.svc.hand_over(&cntt, serial, &Handover { from_cid: None, to_cid: to, reason: "Cấp mới", decision }, at)
        };
        assert_eq!(err_code(handover("NEW-IND", CLERK, None)), "rule:device-lifecycle");
        handover("NEW-IND", w.leader.citizen_id.as_str(), None).unwrap();
        // An organisation's certificate: to the records clerk, only with the written decision.
        issue_onto(&w.organisation, "DL02", "NEW-ORG");
        assert_eq!(w.svc.device(&cntt, "NEW-ORG").unwrap().status, DeviceStatus::InStock);
        // (recipient, decision, expected error or "" for done)
        let cases = [
            (w.leader.citizen_id.as_str(), Some("Quyết định số 7/QĐ-SOA"), "rule:org-device-records-clerk"),
            (CLERK, None, "invalid:decision"),
            (CLERK, Some("Quyết định số 7/QĐ-SOA ngày 02/3/2026"), ""),
        ];
        for (to, decision, want) in cases {
            let before = w.snapshot();
            let r = handover("NEW-ORG", to, decision);
            if want.is_empty() {
                assert_eq!(r.unwrap().decision_ref.as_deref(), decision);
            } else {
                assert_eq!(err_code(r), want, "{to} {decision:?}");
                assert_eq!(before, w.snapshot());
            }
        }
        assert_eq!(w.svc.device(&cntt, "NEW-ORG").unwrap().status, DeviceStatus::HandedOver);

        // Revoked with the device to be returned: due in 5 working days, then overdue.
        let later = at + Duration::days(30);
        let q = w.to_ca(
            NewRequestInput {
                kind: RequestKind::Revoke,
                subscriber: w.individual.id,
                certificate_serial: Some("DL01".into()),
                device_serial: None,
                details: RequestDetails::Revoke { reason: RevocationReason::RetiredOrLeft, device_return: true, lost_device_record: None },
            },
            later,
        );
        w.svc.complete_request(&cntt, q.id, &CompletionInput::Revoked { at: later }, later).unwrap();
        let d = w.svc.device(&cntt, "NEW-IND").unwrap();
        let due = d.return_due.unwrap();
        assert_eq!(d.status, DeviceStatus::AwaitingReturn);
        // (day, overdue)
        for (day, overdue) in [(due, false), (due + Duration::days(1), true), (due + Duration::days(20), true)] {
            assert_eq!(d.is_overdue(day), overdue, "{day}");
        }
        // The return is a handover record from the holder to the receiver, not a status change;
        // a device still carrying a valid certificate does not go back.
        assert_eq!(err_code(w.svc.return_device(&cntt, "NEW-ORG", OFFICER, "Nộp lại", later)), "rule:device-lifecycle");
        assert_eq!(err_code(w.svc.set_device_status(&cntt, "NEW-IND", "returned", later)), "rule:device-lifecycle");
        assert_eq!(err_code(w.svc.return_device(&cntt, "NEW-IND", w.leader.citizen_id.as_str(), "Nộp lại", later)), "invalid:to");
        // Regression (issue 10 review): the receiver was not checked; a colleague without any
        // right over the agency's devices could sign for it.
        assert_eq!(
            err_code(w.svc.return_device(&cntt, "NEW-IND", w.specialist.citizen_id.as_str(), "Nộp lại", later)),
            "rule:device-return-receiver"
        );
        let r = w.svc.return_device(&cntt, "NEW-IND", OFFICER, "Nộp lại thiết bị sau khi thu hồi", later + Duration::days(2)).unwrap();
        assert_eq!(r.from_person, Some(w.leader.id));
        let d = w.svc.device(&cntt, "NEW-IND").unwrap();
        assert_eq!((d.status, d.custodian, d.return_due), (DeviceStatus::Returned, None, None));
        let records = w.svc.handover_records(&cntt, "NEW-IND").unwrap();
        assert_eq!(records.len(), 2, "the handover and the return");
        assert_eq!(err_code(w.svc.return_device(&cntt, "NEW-IND", OFFICER, "Nộp lại", later)), "rule:device-lifecycle");
    });
}

/// Issue 11, finding 1: a CQQLTT officer named another agency's device in a revocation (device
/// lost) or a restore, and the request went through; that agency's device was then marked lost.
/// A device named in a request must be the certificate's, or the subscriber's, and in scope.
#[test]
fn a_request_naming_another_agency_s_device_is_refused() {
    each("bac-ninh-2023", |w| {
        let (admin, cntt) = (w.actor("admin"), w.actor("cntt"));
        let at = t0();
        w.issue(&w.individual, at, 36, "DV01");
        for serial in ["TOKEN0", "TOKEN1", "TOKEN2"] {
            w.svc.set_device_status(&cntt, serial, "locked", at).unwrap();
        }
        // SO-B's own official, filed for by SO-B's officer.
        let so_b = w.svc.add_subscriber(&admin, &SubscriberInput::Individual { citizen_id: "027076000004".into() }, None, at).unwrap();
        let restore = |sub: SubscriberId, device: &str| NewRequestInput {
            kind: RequestKind::RestoreDevice,
            subscriber: sub,
            certificate_serial: None,
            device_serial: Some(device.into()),
            details: RequestDetails::RestoreDevice { contact_phone: None },
        };
        let revoke = |device: &str| NewRequestInput {
            kind: RequestKind::Revoke,
            subscriber: w.individual.id,
            certificate_serial: Some("DV01".into()),
            device_serial: Some(device.into()),
            details: RequestDetails::Revoke {
                reason: RevocationReason::DeviceLost,
                device_return: false,
                lost_device_record: Some("Biên bản số 3 ngày 02/3/2026".into()),
            },
        };
        // (case, filer, request, expected)
        let cases = [
            ("restore of another agency's locked device", "cb.b", restore(so_b.id, "TOKEN0"), "forbidden"),
            ("restore of a colleague's device in the same agency", "cb.a", restore(w.individual.id, "TOKEN2"), "rule:request-device"),
            ("revocation naming a device that is not the certificate's", "cb.a", revoke("TOKEN1"), "rule:request-device"),
        ];
        for (case, login, input, want) in cases {
            let before = w.snapshot();
            assert_eq!(err_code(w.svc.create_request(&w.actor(login), &input, at + Duration::days(1))), want, "{case} ({})", w.backend);
            // Nothing written but, for a refusal of rights, its denial in the audit log.
            assert_eq!(before[..7], w.snapshot()[..7], "{case}");
        }
        // The subscriber's own device and the certificate's device are accepted.
        w.svc.create_request(&w.actor("cb.a"), &restore(w.individual.id, "TOKEN0"), at + Duration::days(1)).unwrap();
        w.svc.create_request(&w.actor("cb.a"), &revoke("TOKEN0"), at + Duration::days(2)).unwrap();
        assert_eq!(w.svc.device(&cntt, "TOKEN1").unwrap().status, DeviceStatus::Locked, "another device untouched");
        w.audit_ok();
    });
}

/// Issue 10: a token that locked after too many wrong PINs was not marked locked, and the
/// restore request was refused until someone changed the status by hand.
#[test]
fn token_lock_reaches_the_registry_and_opens_the_restore() {
    each("bac-ninh-2023", |w| {
        let at = t0();
        w.issue(&w.individual, at, 36, "LK01");
        let later = at + Duration::days(3);
        let restore = NewRequestInput {
            kind: RequestKind::RestoreDevice,
            subscriber: w.individual.id,
            certificate_serial: Some("LK01".into()),
            device_serial: Some("TOKEN0".into()),
            details: RequestDetails::RestoreDevice { contact_phone: None },
        };
        assert!(w.svc.create_request(&w.actor("self"), &restore, later).is_err(), "not locked yet");
        // (who reports, expected): only the holder or those who manage devices there.
        for (login, want) in [("cb.b", "forbidden"), ("vt.a", "forbidden")] {
            assert_eq!(err_code(w.svc.record_token_locked(&w.actor(login), "LK01", "kyso", later)), want, "{login}");
        }
        let d = w.svc.record_token_locked(&w.actor("self"), "LK01", "kyso", later).unwrap().unwrap();
        assert_eq!(d.status, DeviceStatus::Locked, "{}", w.backend);
        // Seen again: no second change. An unknown certificate: nothing to mark.
        assert_eq!(w.svc.record_token_locked(&w.actor("self"), "LK01", "agent", later).unwrap().unwrap().status, DeviceStatus::Locked);
        assert_eq!(w.svc.record_token_locked(&w.actor("cntt"), "FFFF01", "kyso", later).unwrap(), None);
        w.svc.create_request(&w.actor("self"), &restore, later).unwrap();
    });
}

/// Issue 10: the dossier for the external CA was one line of CSV. Each request now carries
/// every field of the form, the certificate and device, the reason and the attached record.
#[test]
fn dossier_for_the_external_ca_has_every_field_of_the_form() {
    each("bac-ninh-2023", |w| {
        let at = t0();
        w.issue(&w.individual, at, 36, "DS01");
        let later = at + Duration::days(20);
        let officer = w.actor("cb.a");
        let filed = w.svc.report_lost(&officer, "TOKEN0", "Biên bản số 3/BB-SOA ngày 20/3/2026", later).unwrap();
        let q = &filed[0];
        w.svc.transition(&w.actor("cb.a2"), q.id, Action::Confirm, None, later).unwrap();
        // Bắc Ninh: revocations go from the CQQLTT straight to the CA.
        let (batch, _) = w.svc.send_to_ca(&officer, &[q.id], later).unwrap();
        let items = w.svc.export_batch(&w.actor("cntt"), batch).unwrap();
        let fields: std::collections::BTreeMap<&str, String> = items[0].dossier().into_iter().collect();
        let so_a = w.svc.agency(&officer, "SO-A").unwrap();
        // (column, expected value)
        let expected = [
            ("Loại yêu cầu", RequestKind::Revoke.label_vi().to_string()),
            ("Họ tên", "Nguyễn Văn An".to_string()),
            ("Số định danh cá nhân", "027080000001".to_string()),
            ("Ngày sinh", "01/05/1980".to_string()),
            ("Chức vụ", "Giám đốc".to_string()),
            ("Cơ quan", "Cơ quan SO-A-P1".to_string()),
            ("Cơ quan quản lý trực tiếp", "Cơ quan SO-A".to_string()),
            ("Thư điện tử công vụ", w.leader.email.to_string()),
            ("Mã số thuế", so_a.tax_code.as_ref().unwrap().to_string()),
            ("Số hiệu chứng thư số", "DS01".to_string()),
            ("Số hiệu thiết bị", "TOKEN0".to_string()),
            ("Lý do thu hồi", kyso_core::rules::RevocationReason::DeviceLost.label_vi().to_string()),
            ("Biên bản kèm theo", "Biên bản số 3/BB-SOA ngày 20/3/2026".to_string()),
        ];
        for (column, want) in expected {
            assert_eq!(fields.get(column), Some(&want), "{} {column}", w.backend);
        }
    });
}

/// Issue 10: the Thái Bình report (Mẫu 07) showed eight rows, merging rows 1/2 and 8/9. It
/// has ten, and an officer's report covers the officer's own agency unless told otherwise.
#[test]
fn thai_binh_report_has_its_ten_rows_and_an_officer_reports_for_their_scope() {
    each("thai-binh-2016", |w| {
        w.issue(&w.individual, t0(), 36, "TB01");
        w.issue(&w.organisation, t0() + Duration::days(2), 60, "TB02");
        let r = w.svc.report(&w.actor("qltb"), "2026", None).unwrap();
        assert_eq!((r.from.to_string(), r.to.to_string()), ("2025-10-15".to_string(), "2026-10-14".to_string()));
        // (key, organisation column, personal column, total), as literal figures.
        let expected: [(&str, Option<u64>, Option<u64>, u64); 10] = [
            ("total_org", None, None, 1),
            ("total_personal", None, None, 1),
            ("new_requests", Some(1), Some(1), 2),
            ("reissue_requests", Some(0), Some(0), 0),
            ("renewal_requests", Some(0), Some(0), 0),
            ("revocation_requests", Some(0), Some(0), 0),
            ("pin_restore_requests", Some(0), Some(0), 0),
            ("documents_signed_org", None, None, 0),
            ("documents_signed_personal", None, None, 0),
            ("documents_sent", None, None, 0),
        ];
        let got: Vec<(&str, Option<u64>, Option<u64>, u64)> =
            r.figures.iter().map(|f| (f.key.as_str(), f.org, f.personal, f.total)).collect();
        assert_eq!(got, expected, "{}", w.backend);
        // The officer of SO-A, without --agency: SO-A's subtree, not the province.
        let mine = w.svc.report(&w.actor("cb.a"), "2026", None).unwrap();
        assert_eq!(mine.agency_code, "SO-A");
        // An ad-hoc report states its own dates.
        let adhoc = w.svc.report(&w.actor("qltb"), "2026-03-01..2026-03-04", None).unwrap();
        assert_eq!((adhoc.from.to_string(), adhoc.to.to_string()), ("2026-03-01".to_string(), "2026-03-04".to_string()));
        assert_eq!(adhoc.figures.iter().find(|f| f.key == "new_requests").unwrap().total, 2);
    });
}

/// Issue 10: Hà Tĩnh Art. 5.1 makes the provincial Office the CQQLTT of the bodies under the
/// province and of their leaders; kyso defaulted a department head's CQQLTT to their own
/// department. Each seed profile picks the default CQQLTT by its own rule.
#[test]
fn each_seed_profile_picks_the_default_cqqltt() {
    // (profile, managing agency of: the leader of SO-A-P1, a specialist there, SO-B's own certificate, a device of SO-A-P1)
    let cases = [
        ("bac-giang-2020", ["SO-A", "SO-A", "UBND-T", "SO-A"]),
        ("bac-ninh-2023", ["SO-A", "SO-A", "UBND-T", "SO-A"]),
        ("thai-binh-2016", ["SO-A", "SO-A", "UBND-T", "SO-A"]),
        ("national-nd68", ["SO-A", "SO-A", "UBND-T", "SO-A"]),
        ("ha-tinh-2020", ["VP-UBND", "SO-A", "VP-UBND", "SO-A"]),
    ];
    for (profile, want) in cases {
        for b in backends() {
            let w = world(b, profile);
            let admin = w.actor("admin");
            let code_of = |s: &Subscriber| {
                w.svc.list_agencies(&admin, None).unwrap().into_iter().find(|a| a.id == s.managing_agency_id).unwrap().code.to_string()
            };
            let specialist = w
                .svc
                .add_subscriber(&admin, &SubscriberInput::Individual { citizen_id: w.specialist.citizen_id.to_string() }, None, t0())
                .unwrap();
            let org = w.svc.add_subscriber(&admin, &SubscriberInput::Organisation { agency_code: "SO-B".into() }, None, t0()).unwrap();
            let got = [code_of(&w.individual), code_of(&specialist), code_of(&org), code_of(&w.device_sub)];
            assert_eq!(got, want.map(String::from), "{profile} {}", w.backend);
            w.audit_ok();
        }
    }
}

/// Issue 10, keeping the registry true: an official who retires, moves or changes position
/// gets the certificate work the law asks for proposed to the CQQLTT (legal.md R5.4), who
/// files it with one action or dismisses it with a reason; leaving the service disables the
/// official's accounts; roles can be taken back.
#[test]
fn life_events_propose_the_certificate_work_and_end_accounts() {
    each("bac-ninh-2023", |w| {
        let admin = w.actor("admin");
        let officer = w.actor("cb.a");
        let at = t0();
        w.issue(&w.individual, at, 36, "PE01");
        let colleague = w
            .svc
            .add_subscriber(&admin, &SubscriberInput::Individual { citizen_id: w.specialist.citizen_id.to_string() }, None, at)
            .unwrap();
        w.issue(&colleague, at, 36, "PE02");
        let later = at + Duration::days(40);
        let event = |e: &str, agency: Option<&str>| PersonEventInput {
            event: e.into(),
            effective: "2026-04-11".into(),
            basis: "Quyết định số 12/QĐ-UBND ngày 01/4/2026".into(),
            new_agency_code: agency.map(str::to_string),
            ..Default::default()
        };
        // Bad input: refused, nothing written.
        for (input, want) in [
            (PersonEventInput { basis: "".into(), ..event("retired", None) }, "invalid:basis"),
            (event("promoted", None), "invalid:event"),
            (event("moved", None), "invalid:agency"),
        ] {
            let before = w.snapshot();
            assert_eq!(err_code(w.svc.record_person_event(&officer, w.leader.citizen_id.as_str(), &input, later)), want);
            assert_eq!(before, w.snapshot());
        }
        // Retirement: a revocation with the device returned, and the official's account ends.
        // Recorded by IT staff, who manage accounts (a CQQLTT officer alone does not disable them).
        let out = w.svc.record_person_event(&w.actor("cntt"), w.leader.citizen_id.as_str(), &event("retired", None), later).unwrap();
        assert_eq!(out.disabled_accounts, vec!["self".to_string()], "{}", w.backend);
        assert_eq!(err_code(w.svc.local_operator("self")), "forbidden");
        assert_eq!(out.proposals.len(), 1);
        assert_eq!(out.proposals[0].kind, "revoke");
        // A move: a change of information naming the new body; the registry follows at once.
        // Regression (issue 10 review): the moved official kept the roles of the old workplace.
        w.svc.add_user(&admin, "binh", Some(w.specialist.citizen_id.as_str()), at).unwrap();
        w.svc.grant(&admin, "binh", "subscriber", "SO-A-P1", at).unwrap();
        w.svc.grant(&admin, "binh", "auditor", "UBND-T", at).unwrap();
        let moved =
            w.svc.record_person_event(&w.actor("cntt"), w.specialist.citizen_id.as_str(), &event("moved", Some("SO-B")), later).unwrap();
        assert_eq!(moved.revoked_roles, vec![("binh".to_string(), "subscriber".to_string(), "SO-A-P1".to_string())]);
        let kept: Vec<kyso_core::authz::Role> = w.actor("binh").grants.iter().map(|g| g.role).collect();
        assert_eq!(kept, vec![kyso_core::authz::Role::Auditor], "a role over the whole province stays");
        let so_b = w.svc.agency(&admin, "SO-B").unwrap();
        assert_eq!(moved.person.agency_id, so_b.id);
        assert_eq!(moved.proposals[0].kind, "change_info");
        assert!(moved.proposals[0].details.contains("SO-B"), "{}", moved.proposals[0].details);
        assert_eq!(w.svc.list_proposals(&w.actor("qltb"), true).unwrap().len(), 2);
        // The CQQLTT files the revocation with one action: created and submitted.
        let (p, q) = w.svc.decide_proposal(&officer, out.proposals[0].id, true, None, later).unwrap();
        let q = q.unwrap();
        assert_eq!((p.state.as_str(), q.kind, q.state), ("accepted", RequestKind::Revoke, RequestState::Submitted));
        assert!(matches!(q.details, RequestDetails::Revoke { reason: RevocationReason::RetiredOrLeft, device_return: true, .. }));
        assert_eq!(err_code(w.svc.decide_proposal(&officer, out.proposals[0].id, false, Some("x"), later)), "transition");
        // The move's proposal is now SO-B's to take; dismissing needs a reason.
        let cb_b = w.actor("cb.b");
        assert_eq!(err_code(w.svc.decide_proposal(&cb_b, moved.proposals[0].id, false, None, later)), "invalid:reason");
        let (p, q) =
            w.svc.decide_proposal(&cb_b, moved.proposals[0].id, false, Some("Chứng thư số sẽ được cấp mới theo đợt"), later).unwrap();
        assert_eq!((p.state.as_str(), q.is_none()), ("dismissed", true));
        assert!(w.svc.list_proposals(&w.actor("qltb"), true).unwrap().is_empty());
        // Accounts: a role taken back, an account disabled.
        w.svc.revoke_role(&admin, "cb.b", "agency_officer", "SO-B", later).unwrap();
        assert!(w.actor("cb.b").grants.is_empty());
        assert_eq!(err_code(w.svc.revoke_role(&admin, "cb.b", "agency_officer", "SO-B", later)), "not_found");
        w.svc.disable_user(&admin, "vt.a", later).unwrap();
        assert_eq!(err_code(w.svc.local_operator("vt.a")), "forbidden");
    });
}

/// Issue 10, bulk onboarding: the certificates the government CA already issued, from its
/// list with the columns named, are matched by citizen ID, then e-mail, then name and agency;
/// the rest go to review, and a malformed row rejects the whole import.
#[test]
fn existing_certificates_are_matched_by_citizen_id_email_or_name_and_the_rest_reviewed() {
    each("bac-ninh-2023", |w| {
        let cntt = w.actor("cntt");
        let columns: std::collections::BTreeMap<String, String> = [
            ("serial", "Số serial"),
            ("subject", "Chủ thể"),
            ("not_before", "Từ ngày"),
            ("not_after", "Đến ngày"),
            ("email", "Thư điện tử"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let head = "Số serial,Chủ thể,Từ ngày,Đến ngày,Thư điện tử\n";
        let good = format!(
            "{head}\
             AA01,\"CN=Nguyễn Văn An,SERIALNUMBER=CCCD:027080000001,O=Cơ quan UBND-T,C=VN\",01/01/2026,31/12/2028,\n\
             AA02,\"CN=Trần Thị Bình,OU=Cơ quan SO-A-P1,O=Cơ quan UBND-T,C=VN\",2026-01-01,2028-12-31,027190000002@{d}\n\
             AA03,\"CN=Lê Văn Cường,OU=Cơ quan SO-A,O=Cơ quan UBND-T,C=VN\",2026-01-01,2028-12-31,\n\
             AA04,\"CN=Người Lạ,O=Cơ quan UBND-T,C=VN\",2026-01-01,2028-12-31,\n\
             AA05,\"CN=Cơ quan SO-B,O=Cơ quan UBND-T,C=VN\",2026-01-01,2028-12-31,\n",
            d = w.leader.email.as_str().split('@').nth(1).unwrap()
        );
        // Malformed input: the whole import is refused, with the line or file named.
        let broken = format!("{head}AA06,\"CN=Ai Đó,C=VN\",hôm qua,2028-12-31,\n");
        type Files = [(String, Vec<u8>)];
        let cases: [(&Files, &str, &str); 3] = [
            (&[], &broken, "dòng 2"),
            (&[("hong.pem".to_string(), b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec())], &good, "hong.pem"),
            (&[], &format!("{good}AA01,\"CN=Nguyễn Văn An,C=VN\",2026-01-01,2028-12-31,\n"), "lặp lại"),
        ];
        for (files, csv, needle) in cases {
            let before = w.snapshot();
            let list = CertificateList { csv: csv.as_bytes(), columns: columns.clone() };
            match w.svc.import_certificates(&cntt, files, Some(&list), t0()) {
                Err(ServiceError::Import(rows)) => {
                    let text: Vec<String> = rows.iter().map(|r| format!("dòng {}: {}", r.line, r.message)).collect();
                    assert!(text.iter().any(|t| t.contains(needle)), "{needle}: {text:?}");
                }
                other => panic!("{needle}: {other:?}"),
            }
            assert_eq!(before, w.snapshot(), "{needle}: nothing written");
        }
        let list = CertificateList { csv: good.as_bytes(), columns: columns.clone() };
        let s = w.svc.import_certificates(&cntt, &[], Some(&list), t0()).unwrap();
        let by = |k: &str| s.matched.get(k).copied().unwrap_or(0);
        assert_eq!((by("citizen_id"), by("email"), by("name_and_agency")), (1, 1, 2), "{} {s:?}", w.backend);
        // The specialist and the officer had no subscriber; SO-B had no organisation subscriber.
        assert_eq!((s.subscribers_created, s.for_review, s.already_registered), (3, 1, 0));
        assert_eq!(w.svc.certificate(&cntt, "AA01").unwrap().subscriber_id, w.individual.id);
        let review = w.svc.certificates_for_review(&cntt).unwrap();
        assert_eq!(review.len(), 1);
        assert!(review[0].reason.contains("Người Lạ"), "{:?}", review[0]);
        // Again: nothing twice.
        let again = w.svc.import_certificates(&cntt, &[], Some(&list), t0()).unwrap();
        assert_eq!((again.already_registered, again.for_review, again.matched.len()), (5, 0, 0));
    });
}

/// Review of issue 10's proposals: the official a proposal is about cannot decide it; a move
/// needs rights at both agencies; an officer without account rights records a retirement but
/// disables no account; the same event twice proposes once; a certificate without a device is
/// revoked without a device return.
#[test]
fn proposals_are_decided_by_the_cqqltt_and_events_stay_within_the_actor_s_rights() {
    each("thai-binh-2016", |w| {
        let officer = w.actor("cb.a");
        let cntt = w.actor("cntt");
        let at = t0();
        w.issue(&w.individual, at, 36, "RV01");
        let later = at + Duration::days(10);
        let event = |e: &str, kind: Option<&str>, agency: Option<&str>| PersonEventInput {
            event: e.into(),
            effective: "2026-03-12".into(),
            basis: "Quyết định số 3/QĐ-SOA ngày 10/3/2026".into(),
            new_position_kind: kind.map(str::to_string),
            new_agency_code: agency.map(str::to_string),
            ..Default::default()
        };
        // Thái Bình lets only leaders and a few posts hold personal certificates: a specialist's
        // post means revocation, proposed to the CQQLTT.
        let cid = w.leader.citizen_id.as_str();
        let out = w.svc.record_person_event(&officer, cid, &event("position_changed", Some("specialist"), None), later).unwrap();
        assert_eq!((out.proposals.len(), out.proposals[0].kind.as_str()), (1, "revoke"), "{}", w.backend);
        assert!(out.disabled_accounts.is_empty());
        let id = out.proposals[0].id;
        assert_eq!(err_code(w.svc.decide_proposal(&w.actor("self"), id, false, Some("không đồng ý"), later)), "forbidden");
        // Recorded again: still one proposal.
        let again = w.svc.record_person_event(&officer, cid, &event("position_changed", Some("specialist"), None), later).unwrap();
        assert!(again.proposals.is_empty());
        // A move into an agency the officer has no rights over.
        assert_eq!(err_code(w.svc.record_person_event(&officer, cid, &event("moved", None, Some("SO-B")), later)), "forbidden");
        // A retirement recorded by the CQQLTT officer disables no account; IT staff's does.
        let officer_event = w.svc.record_person_event(&officer, cid, &event("retired", None, None), later).unwrap();
        assert!(officer_event.disabled_accounts.is_empty() && w.svc.local_operator("self").is_ok());
        w.svc.decide_proposal(&officer, id, true, None, later).unwrap();
        // A certificate brought in without a device: revoked without a device return.
        let admin = w.actor("admin");
        let colleague = w
            .svc
            .add_subscriber(&admin, &SubscriberInput::Individual { citizen_id: w.specialist.citizen_id.to_string() }, None, at)
            .unwrap();
        let head = "serial,subject,from,to\n";
        let csv = format!("{head}IM01,\"CN=Trần Thị Bình,SERIALNUMBER=CCCD:027190000002,C=VN\",2026-01-01,2028-12-31\n");
        let columns = [("serial", "serial"), ("subject", "subject"), ("not_before", "from"), ("not_after", "to")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        w.svc.import_certificates(&cntt, &[], Some(&CertificateList { csv: csv.as_bytes(), columns }), later).unwrap();
        assert_eq!(w.svc.certificate(&cntt, "IM01").unwrap().subscriber_id, colleague.id);
        let out = w.svc.record_person_event(&cntt, w.specialist.citizen_id.as_str(), &event("resigned", None, None), later).unwrap();
        let (_, q) = w.svc.decide_proposal(&officer, out.proposals[0].id, true, None, later).unwrap();
        assert!(matches!(q.unwrap().details, RequestDetails::Revoke { device_return: false, .. }));
    });
}

/// Issue 10: a deployment moves to another profile from a date (Thái Bình into Hưng Yên, here
/// onto the national profile); requests filed before keep the old route, and reports of
/// periods that ended before keep the old profile's rows and dates.
#[test]
fn a_profile_change_keeps_the_old_profile_before_its_day() {
    for b in backends() {
        let mut w = world(b, "thai-binh-2016");
        let officer = w.actor("cb.a");
        let before = w.svc.create_request(&officer, &new_input(&w.individual, 24), t0()).unwrap();
        let day = (t0() + Duration::days(10)).date_naive();
        let now = t0() + Duration::days(11);
        // (actor, profile, effective day, expected error)
        let refused = [
            ("cb.a", "national-nd68", day, "forbidden"),
            ("cntt", "thai-binh-2016", day, "invalid:profile"),
            ("cntt", "hung-yen", day, "invalid:profile"),
            ("cntt", "national-nd68", day + Duration::days(5), "invalid:effective"),
        ];
        for (login, key, on, want) in refused {
            let actor = w.actor(login);
            assert_eq!(err_code(w.svc.change_profile(&actor, key, on, "Nghị quyết 202/2025/QH15", now)), want, "{login} {key}");
        }
        let cntt = w.actor("cntt");
        w.svc.change_profile(&cntt, "national-nd68", day, "Nghị quyết 202/2025/QH15 ngày 12/6/2025", now).unwrap();
        assert_eq!(w.svc.profile().key, "national-nd68");
        // Filed under Thái Bình (via the provincial manager): still checked by the manager.
        w.svc.transition(&officer, before.id, Action::Submit, None, now).unwrap();
        w.svc.transition(&w.actor("cb.a2"), before.id, Action::Confirm, None, now).unwrap();
        w.svc.transition(&w.actor("qltb"), before.id, Action::Check, None, now).unwrap();
        // Filed after: the national profile's direct route.
        let after = w.svc.create_request(&officer, &new_input(&w.organisation, 24), now).unwrap();
        w.svc.transition(&officer, after.id, Action::Submit, None, now).unwrap();
        w.svc.transition(&w.actor("cb.a2"), after.id, Action::Confirm, None, now).unwrap();
        assert_eq!(err_code(w.svc.transition(&w.actor("qltb"), after.id, Action::Check, None, now)), "transition");
        // Reports: 2025 ended under Thái Bình (its rows, its cut-off), 2026 under the national profile.
        let r2025 = w.svc.report(&w.actor("qltb"), "2025", None).unwrap();
        assert_eq!(
            (r2025.profile.as_str(), r2025.from.to_string(), r2025.to.to_string()),
            ("thai-binh-2016", "2024-10-15".into(), "2025-10-14".into())
        );
        let r2026 = w.svc.report(&w.actor("qltb"), "2026", None).unwrap();
        assert_eq!((r2026.profile.as_str(), r2026.from.to_string()), ("national-nd68", "2025-12-15".into()), "{}", w.backend);
        w.audit_ok();
    }
}

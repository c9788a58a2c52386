//! Documents through the service: the signing orders of the regulations, who may use which
//! key, the clerk's check of earlier signatures, the outgoing register and report figures,
//! and bad input that leaves everything whole. On SQLite and PostgreSQL.

mod support;

use chrono::{Datelike, Duration};
use kyso_core::document::*;
use kyso_pki::csr;
use kyso_pki::name::DistinguishedName;
use kyso_service::*;
use kyso_token::soft::SoftToken;
use kyso_token::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use support::*;

struct Signing {
    w: World,
    dir: tempfile::TempDir,
    leader: (Vec<u8>, Arc<dyn Signer>),
    checker: (Vec<u8>, Arc<dyn Signer>),
    agency: (Vec<u8>, Arc<dyn Signer>),
    _ca: Box<dyn TokenSession>,
}

/// The test province with the built-in CA, certificates for the leader (TOKEN0), a checker
/// (TOKEN9) and the agency SO-A (TOKEN1, held by the records clerk), and images.
fn setup(b: Backend) -> Signing {
    let mut w = world(b, "bac-ninh-2023");
    let dir = tempfile::tempdir().unwrap();
    w.svc.set_files(&dir.path().join("files")).unwrap();
    let t = SoftToken::create(dir.path(), "ca", &Pin::new("ca-pin-1"), &Pin::new("ca-so-pin-1"), 5, 1000).unwrap();
    let ca = t.login(&Pin::new("ca-pin-1")).unwrap();
    let admin = w.actor("admin");
    let cntt = w.actor("cntt");
    let at = t0() - Duration::hours(10);
    w.svc.ca_init(&cntt, &CaConfig::demo("http://127.0.0.1:8480"), &*ca, at - Duration::hours(1)).unwrap();
    let user =
        SoftToken::create(dir.path(), "user", &Pin::new("1234"), &Pin::new("12345678"), 5, 1000).unwrap().login(&Pin::new("1234")).unwrap();
    // The checker: the specialist, with her own subscriber, device and account.
    let checker_sub =
        w.svc.add_subscriber(&admin, &SubscriberInput::Individual { citizen_id: w.specialist.citizen_id.to_string() }, None, at).unwrap();
    w.svc
        .add_device(
            &admin,
            &DeviceInput { serial: "TOKEN9".into(), kind: "usb_token".into(), model: "Bit4id".into(), agency_code: "SO-A-P1".into() },
            at,
        )
        .unwrap();
    w.svc.assign_device(&admin, "TOKEN9", w.specialist.citizen_id.as_str(), false, None, at).unwrap();
    w.svc
        .hand_over(
            &admin,
            "TOKEN9",
            &Handover { from_cid: None, to_cid: w.specialist.citizen_id.as_str(), reason: "Cấp mới", decision: None },
            at,
        )
        .unwrap();
    w.svc.add_user(&admin, "binh", Some(w.specialist.citizen_id.as_str()), at).unwrap();
    w.svc.grant(&admin, "binh", "subscriber", "SO-A-P1", at).unwrap();
    let issue = |sub: &kyso_core::registry::Subscriber, label: &str, token: &str| {
        let key = user.generate_key(label, KeyAlgorithm::EcP256).unwrap();
        let req = csr::build(
            &DistinguishedName::parse(&format!("CN={},C=VN", sub.display_name)).unwrap(),
            &*key,
            SignatureScheme::EcdsaP256Sha256,
        )
        .unwrap();
        let q = w.to_ca(new_input(sub, 24), at);
        let (_, der) = w.svc.ca_issue(&cntt, q.id, &req, Some(token), &*ca, at).unwrap();
        (der, key)
    };
    let leader = issue(&w.individual, "leader", "TOKEN0");
    let checker = issue(&checker_sub, "checker", "TOKEN9");
    let agency = issue(&w.organisation, "agency", "TOKEN1");
    w.svc.set_signature_image(&w.actor("self"), w.leader.citizen_id.as_str(), &kyso_pdf::samples::signature_png(), at).unwrap();
    w.svc.set_seal_image(&w.actor("vt.a"), "SO-A", &kyso_pdf::samples::seal_png(), 36.0, at).unwrap();
    Signing { w, dir, leader, checker, agency, _ca: ca }
}

fn draft(dir: &Path, name: &str) -> PathBuf {
    let pdf = nd30_draft_pdf("Về việc thử nghiệm ký số");
    let p = dir.join(name);
    std::fs::write(&p, pdf).unwrap();
    p
}

fn new_doc(kind: &str) -> NewDocument {
    NewDocument {
        agency_code: "SO-A".into(),
        kind: kind.into(),
        title: "Quyết định thử nghiệm".into(),
        file_name: "qd.pdf".into(),
        symbol: (kind == "issued").then(|| "QĐ-SOA".into()),
        competent_cid: (kind == "issued").then(|| "027080000001".into()),
        parent_id: None,
    }
}

fn err(r: Result<impl std::fmt::Debug, ServiceError>) -> String {
    match r {
        Err(ServiceError::Domain(kyso_core::DomainError::Rule { rule, .. })) => format!("rule:{rule}"),
        Err(ServiceError::Domain(kyso_core::DomainError::Invalid { field, .. })) => format!("invalid:{field}"),
        Err(e) => e.code().to_string(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

impl Signing {
    fn sign(&self, login: &str, id: i64, o: &SignatureOptions, key: &Arc<dyn Signer>) -> Result<Document, ServiceError> {
        self.w.svc.sign_document(&self.w.actor(login), id, o, &**key, None, t0())
    }
    fn personal(&self, step: PersonalStep, who: &(Vec<u8>, Arc<dyn Signer>)) -> SignatureOptions {
        SignatureOptions::new(Some(step), who.0.clone())
    }
    fn agency_opts(&self) -> SignatureOptions {
        SignatureOptions::new(None, self.agency.0.clone())
    }
    fn file(&self, d: &Document) -> Vec<u8> {
        let out = self.dir.path().join(format!("out-{}.pdf", d.id));
        self.w.svc.export_document(&self.w.actor("vt.a"), d.id, &out).unwrap();
        std::fs::read(out).unwrap()
    }
}

#[test]
fn issued_document_checked_approved_then_numbered_and_sealed_by_the_clerk() {
    for b in backends() {
        let s = setup(b);
        let w = &s.w;
        let vt = w.actor("vt.a");
        let doc = w.svc.create_document(&vt, &new_doc("issued"), &draft(s.dir.path(), "a.pdf"), t0()).unwrap();
        assert_eq!((doc.status, doc.version), (DocumentStatus::Draft, 1));
        // The agency may not sign before the competent signer; the checker comes first.
        assert_eq!(err(s.sign("vt.a", doc.id, &s.agency_opts(), &s.agency.1)), "rule:competent_signed_first", "{}", w.backend);
        s.sign("binh", doc.id, &s.personal(PersonalStep::CheckContent, &s.checker), &s.checker.1).unwrap();
        let d = s.sign("self", doc.id, &s.personal(PersonalStep::Approve, &s.leader), &s.leader.1).unwrap();
        assert_eq!(d.status, DocumentStatus::Signing);
        let mut o = s.agency_opts();
        o.recipients = Some("Các phòng; Lưu: VT".into());
        let d = s.sign("vt.a", doc.id, &o, &s.agency.1).unwrap();
        assert_eq!((d.status, d.number.as_deref(), d.version), (DocumentStatus::Issued, Some("01/QĐ-SOA"), 4), "{}", w.backend);
        // Nothing after the agency signature.
        assert_eq!(
            err(s.sign("binh", doc.id, &s.personal(PersonalStep::CheckFormat, &s.checker), &s.checker.1)),
            "rule:agency_signature_last"
        );
        // The file: three intact signatures, the last covering it all; the sha on record.
        let bytes = s.file(&d);
        assert_eq!(hex::encode(HashAlg::Sha256.digest(&bytes)), d.sha256);
        let checks = kyso_pdf::verify::check_signatures(&bytes).unwrap();
        assert_eq!(checks.len(), 3);
        assert!(checks.iter().all(|c| c.is_intact()), "{:?}", checks.iter().map(|c| c.summary()).collect::<Vec<_>>());
        assert!(checks[2].covers_whole_file);
        // Issue 10: received elsewhere, it is registered with the number and date its header
        // shows (the clerk's fields), and its agency signature raises no warning.
        w.svc.ca_crl(&w.actor("cntt"), &*s._ca, false, t0()).unwrap();
        let p = s.dir.path().join("received.pdf");
        std::fs::write(&p, &bytes).unwrap();
        let inc = Incoming {
            agency_code: "SO-A".into(),
            sender: "Cơ quan khác".into(),
            source: "truc-lien-thong".into(),
            title: "Quyết định thử nghiệm".into(),
            accept_sender_mismatch: true,
            ..Default::default()
        };
        let with = VerifyWith { anchors: vec![], intermediates: vec![], crls: vec![], fetch: None };
        let r = w.svc.receive_document(&vt, &inc, &p, &with, t0() + Duration::hours(1)).unwrap();
        let issued_on = d.issued_on.unwrap();
        assert_eq!(
            (r.entry.doc_number.as_deref(), r.entry.doc_date),
            (Some("01/QĐ-SOA"), chrono::NaiveDate::from_ymd_opt(2026, issued_on.month(), issued_on.day())),
            "{}: {:?}",
            w.backend,
            r.entry
        );
        assert!(!r.entry.warnings.iter().any(|x| x.contains("chữ ký số cá nhân")), "{:?}", r.entry.warnings);
        // The register and the report.
        let reg = w.svc.outgoing_register(&vt, "SO-A", 2026, "issued").unwrap();
        assert_eq!(reg.len(), 1);
        assert_eq!((reg[0].number.as_str(), reg[0].recipients.as_str(), reg[0].document_id), ("01/QĐ-SOA", "Các phòng; Lưu: VT", doc.id));
        // Issue 10: the register names the competent signer who approved it, not the clerk.
        assert_eq!(reg[0].signer_name, w.leader.full_name.as_str(), "{}", w.backend);
        let report = w.svc.report(&w.actor("qltb"), &t0().format("%Y").to_string(), None).unwrap();
        let signed = report.figures.iter().find(|f| f.key == "documents_signed").unwrap();
        assert_eq!(signed.total, 1, "{}", w.backend);
        let (_, sigs) = w.svc.document(&vt, doc.id).unwrap();
        assert_eq!(
            sigs.iter().map(|s| s.role).collect::<Vec<_>>(),
            vec![SignatureRole::Personal, SignatureRole::Personal, SignatureRole::Agency]
        );
        w.audit_ok();
    }
}

#[test]
fn who_may_sign_with_which_key_is_enforced_and_refusals_leave_no_trace() {
    for b in backends() {
        let s = setup(b);
        let w = &s.w;
        let vt = w.actor("vt.a");
        let doc = w.svc.create_document(&vt, &new_doc("issued"), &draft(s.dir.path(), "a.pdf"), t0()).unwrap();
        let before = w.svc.document(&vt, doc.id).unwrap();
        // (case, login, options, key, expected error)
        type Case<'a> = (&'a str, &'a str, SignatureOptions, &'a Arc<dyn Signer>, &'a str);
        let cases: Vec<Case<'_>> = vec![
            (
                "the clerk checks with the leader's certificate",
                "vt.a",
                s.personal(PersonalStep::CheckContent, &s.leader),
                &s.leader.1,
                "forbidden",
            ),
            (
                "the leader signs with the agency certificate",
                "self",
                SignatureOptions::new(Some(PersonalStep::Approve), s.agency.0.clone()),
                &s.agency.1,
                "forbidden",
            ),
            ("an officer applies the agency signature", "cb.a", s.agency_opts(), &s.agency.1, "forbidden"),
            ("someone else approves", "binh", s.personal(PersonalStep::Approve, &s.checker), &s.checker.1, "rule:competent_signer"),
            ("a token holding another key", "self", s.personal(PersonalStep::Approve, &s.leader), &s.checker.1, "invalid:pdf"),
            (
                "a certificate not in the registry",
                "self",
                SignatureOptions::new(Some(PersonalStep::Approve), w.svc.ca_certs().unwrap().tsa),
                &s.leader.1,
                "not_found",
            ),
        ];
        for (name, login, o, key, expect) in cases {
            assert_eq!(err(s.sign(login, doc.id, &o, key)), expect, "{}: {name}", w.backend);
            assert_eq!(w.svc.document(&vt, doc.id).unwrap(), before, "{name}: nothing changed");
        }
        // A revoked certificate cannot sign.
        let (_, info) = kyso_pki::cert::parse(&s.leader.0).unwrap();
        w.svc
            .ca_revoke_serial(
                &w.actor("cntt"),
                &info.serial_hex,
                kyso_core::rules::RevocationReason::KeyCompromise,
                &*s._ca,
                t0() - Duration::minutes(5),
            )
            .unwrap();
        assert_eq!(err(s.sign("self", doc.id, &s.personal(PersonalStep::Approve, &s.leader), &s.leader.1)), "rule:certificate_revoked");
        assert_eq!(w.svc.document(&vt, doc.id).unwrap(), before);
        w.audit_ok();
    }
}

#[test]
fn the_clerk_refuses_when_an_earlier_signature_no_longer_verifies() {
    let s = setup(backends().remove(0));
    let w = &s.w;
    let vt = w.actor("vt.a");
    let doc = w.svc.create_document(&vt, &new_doc("issued"), &draft(s.dir.path(), "a.pdf"), t0()).unwrap();
    let d = s.sign("self", doc.id, &s.personal(PersonalStep::Approve, &s.leader), &s.leader.1).unwrap();
    // Someone edits the stored file in place (same size): a byte of the signed content.
    let path = s.dir.path().join("files").join(d.id.to_string()).join(format!("{}.pdf", d.version));
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(6).position(|x| x == b"Root 1").unwrap();
    bytes[at] = b'X';
    std::fs::write(&path, &bytes).unwrap();
    let r = s.sign("vt.a", doc.id, &s.agency_opts(), &s.agency.1);
    assert!(matches!(&r, Err(ServiceError::Domain(kyso_core::DomainError::Rule { rule: "earlier_signatures_invalid", .. }))), "{r:?}");
    assert_eq!(w.svc.document(&vt, doc.id).unwrap().0.version, d.version);
}

#[test]
fn copies_scans_digitised_attachments_and_internal_documents_follow_their_orders() {
    let s = setup(backends().remove(0));
    let w = &s.w;
    let vt = w.actor("vt.a");
    let src = draft(s.dir.path(), "a.pdf");
    // An electronic copy: the agency alone, numbered in the copy register.
    let copy = w.svc.create_document(&vt, &new_doc("copy"), &src, t0()).unwrap();
    let mut o = s.agency_opts();
    assert_eq!(err(s.sign("vt.a", copy.id, &o, &s.agency.1)), "invalid:copy_type");
    o.copy_type = Some("SAO Y".into());
    let c = s.sign("vt.a", copy.id, &o, &s.agency.1).unwrap();
    assert_eq!((c.status, c.number.as_deref()), (DocumentStatus::Done, Some("01/SY")));
    assert_eq!(w.svc.outgoing_register(&vt, "SO-A", 2026, "copy").unwrap().len(), 1);
    // A scanned paper original keeps its paper number.
    let scan = w.svc.create_document(&vt, &new_doc("scanned"), &src, t0()).unwrap();
    let mut o = s.agency_opts();
    o.paper_number = Some("12/QĐ-UBND".into());
    assert_eq!(s.sign("vt.a", scan.id, &o, &s.agency.1).unwrap().number.as_deref(), Some("12/QĐ-UBND"));
    // The same paper number twice is a conflict.
    let scan2 = w.svc.create_document(&vt, &new_doc("scanned"), &src, t0()).unwrap();
    assert_eq!(err(s.sign("vt.a", scan2.id, &o, &s.agency.1)), "conflict");
    assert_eq!(w.svc.document(&vt, scan2.id).unwrap().0.version, 1);
    // A digitised incoming document: no register line.
    let dig = w.svc.create_document(&vt, &new_doc("digitised"), &src, t0()).unwrap();
    assert_eq!(s.sign("vt.a", dig.id, &s.agency_opts(), &s.agency.1).unwrap().status, DocumentStatus::Done);
    // An attachment: only after its main document is issued.
    let main = w.svc.create_document(&vt, &new_doc("issued"), &draft(s.dir.path(), "m.pdf"), t0()).unwrap();
    let att = w.svc.create_document(&vt, &NewDocument { parent_id: Some(main.id), ..new_doc("attachment") }, &src, t0()).unwrap();
    assert_eq!(err(s.sign("vt.a", att.id, &s.agency_opts(), &s.agency.1)), "rule:attachment_after_main");
    s.sign("self", main.id, &s.personal(PersonalStep::Approve, &s.leader), &s.leader.1).unwrap();
    let m = s.sign("vt.a", main.id, &s.agency_opts(), &s.agency.1).unwrap();
    // One sequence per agency and year for everything issued: the scan took number 12.
    assert_eq!(m.number.as_deref(), Some("13/QĐ-SOA"));
    let a = s.sign("vt.a", att.id, &s.agency_opts(), &s.agency.1).unwrap();
    assert_eq!(a.status, DocumentStatus::Issued);
    // Internal: several persons, never the agency.
    let int = w.svc.create_document(&vt, &new_doc("internal"), &src, t0()).unwrap();
    s.sign("binh", int.id, &s.personal(PersonalStep::CheckContent, &s.checker), &s.checker.1).unwrap();
    let mut o = s.personal(PersonalStep::Approve, &s.leader);
    o.anchor = Some("GIÁM ĐỐC".into());
    s.sign("self", int.id, &o, &s.leader.1).unwrap();
    assert_eq!(err(s.sign("vt.a", int.id, &s.agency_opts(), &s.agency.1)), "rule:agency_signature_kind");
    let bytes = s.file(&w.svc.document(&vt, int.id).unwrap().0);
    assert_eq!(kyso_pdf::verify::check_signatures(&bytes).unwrap().iter().filter(|c| c.is_intact()).count(), 2);
    w.audit_ok();
}

#[test]
fn bad_input_gets_a_clear_error_and_nothing_is_written() {
    let s = setup(backends().remove(0));
    let w = &s.w;
    let vt = w.actor("vt.a");
    let good = std::fs::read(draft(s.dir.path(), "a.pdf")).unwrap();
    let encrypted = String::from_utf8_lossy(&good).replacen("/Root 1 0 R", "/Root 1 0 R /Encrypt << /Filter /Standard >>", 1).into_bytes();
    let plain = kyso_pdf::draft::text_pdf(&[vec![]]).unwrap();
    // (case, bytes, kind, expected)
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("not a PDF", b"hello".to_vec(), "issued", "invalid:pdf"),
        ("truncated", good[..good.len() / 3].to_vec(), "issued", "invalid:pdf"),
        ("encrypted", encrypted, "issued", "invalid:pdf"),
        ("an issued draft without the number line", plain, "issued", "invalid:pdf"),
        ("an unknown kind", good.clone(), "memo", "invalid:kind"),
    ];
    let before = w.snapshot();
    for (name, bytes, kind, expect) in cases {
        let p = s.dir.path().join("bad.pdf");
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(err(w.svc.create_document(&vt, &new_doc(kind), &p, t0())), expect, "{name}");
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "{name}: the input is untouched");
    }
    assert_eq!(w.snapshot(), before);
    assert_eq!(err(w.svc.set_signature_image(&vt, "027080000001", b"GIF89a", t0())), "invalid:pdf");
    // The leader's signature image is required for a visible personal signature.
    let doc = w.svc.create_document(&vt, &new_doc("issued"), &s.dir.path().join("a.pdf"), t0()).unwrap();
    let mut o = s.personal(PersonalStep::Approve, &s.leader);
    o.anchor = Some("CHỦ TỊCH".into());
    assert_eq!(err(s.sign("self", doc.id, &o, &s.leader.1)), "invalid:anchor");
    w.audit_ok();
}

#[test]
fn received_documents_are_registered_when_valid_and_refused_with_a_notice_when_not() {
    for b in backends() {
        let s = setup(b);
        let w = &s.w;
        let vt = w.actor("vt.a");
        // A document SO-A issued, received by SO-A itself (the same trust: the built-in CA).
        let doc = w.svc.create_document(&vt, &new_doc("internal"), &draft(s.dir.path(), "a.pdf"), t0()).unwrap();
        let mut o = s.personal(PersonalStep::Approve, &s.leader);
        o.anchor = Some("GIÁM ĐỐC".into());
        let d = s.sign("self", doc.id, &o, &s.leader.1).unwrap();
        let good = s.file(&d);
        let mut bad = good.clone();
        let at = bad.windows(4).position(|x| x == b"/Fm0").unwrap();
        bad[at + 3] = b'8';
        let with = VerifyWith { anchors: vec![], intermediates: vec![], crls: vec![], fetch: None };
        // Without any CRL of the issuing CA the status cannot be known: refused as INDETERMINATE.
        let p0 = s.dir.path().join("in0.pdf");
        std::fs::write(&p0, &good).unwrap();
        let r = w
            .svc
            .receive_document(
                &vt,
                &Incoming {
                    agency_code: "SO-A".into(),
                    sender: "x".into(),
                    source: "email".into(),
                    title: "Công văn thử".into(),
                    ..Default::default()
                },
                &p0,
                &with,
                t0() + Duration::hours(1),
            )
            .unwrap();
        assert_eq!(r.entry.indication, "INDETERMINATE/TRY_LATER");
        w.svc.ca_crl(&w.actor("cntt"), &*s._ca, false, t0()).unwrap();
        let inc = |title: &str| Incoming {
            agency_code: "SO-A".into(),
            sender: "UBND xã Tiên Du".into(),
            source: "truc-lien-thong".into(),
            title: title.into(),
            doc_number: Some("12/UBND-VP".into()),
            doc_date: Some("02/03/2026".into()),
            accept_sender_mismatch: true,
        };
        let p = s.dir.path().join("in.pdf");
        std::fs::write(&p, &good).unwrap();
        // Issue 10: the signer's agency (from the certificate) is not the stated sender: refused
        // until the clerk accepts the warning, which stays in the register. No summary, no entry.
        let before = w.snapshot();
        let strict = Incoming { accept_sender_mismatch: false, ..inc("Văn bản hợp lệ") };
        assert_eq!(err(w.svc.receive_document(&vt, &strict, &p, &with, t0() + Duration::hours(1))), "rule:incoming-sender");
        assert_eq!(err(w.svc.receive_document(&vt, &inc(" "), &p, &with, t0() + Duration::hours(1))), "invalid:title");
        assert_eq!(before, w.snapshot());
        // Validated at the time of signing plus an hour: the CRL of t0 covers it.
        let r = w.svc.receive_document(&vt, &inc("Văn bản hợp lệ"), &p, &with, t0() + Duration::hours(1)).unwrap();
        assert_eq!(
            (r.entry.doc_number.as_deref(), r.entry.doc_date.map(|d| d.to_string())),
            (Some("12/UBND-VP"), Some("2026-03-02".into()))
        );
        assert!(r.entry.warnings[0].contains("UBND xã Tiên Du") && !r.entry.signers.is_empty(), "{:?}", r.entry);
        // Issue 10: personal signatures only, no agency signature: flagged in the register.
        assert!(r.entry.warnings[1].contains("không có chữ ký số của cơ quan"), "{:?}", r.entry.warnings);
        // A valid document whose header cannot be read and whose number the clerk does not
        // give is not registered; the error says what to give.
        let unnumbered = Incoming { doc_number: None, ..inc("Văn bản hợp lệ") };
        assert_eq!(err(w.svc.receive_document(&vt, &unnumbered, &p, &with, t0() + Duration::hours(1))), "invalid:doc_number");
        assert_eq!(
            (r.entry.status, r.entry.seq),
            (kyso_core::document::IncomingStatus::Registered, Some(1)),
            "{}: {}",
            w.backend,
            kyso_verify::report::text(&r.report)
        );
        std::fs::write(&p, &bad).unwrap();
        let r = w.svc.receive_document(&vt, &inc("Văn bản bị sửa"), &p, &with, t0() + Duration::hours(1)).unwrap();
        assert_eq!((r.entry.status, r.entry.seq), (kyso_core::document::IncomingStatus::Refused, None));
        assert_eq!(r.entry.sha256, hex::encode(HashAlg::Sha256.digest(&bad)));
        assert!(r.entry.indication.starts_with("TOTAL-FAILED"), "{}", r.entry.indication);
        let notices = w.svc.notifications(&vt, "SO-A", false).unwrap();
        assert_eq!(notices.len(), 2);
        assert!(notices[1].body.contains("nội dung đã bị thay đổi sau khi ký") && notices[1].recipient == "UBND xã Tiên Du");
        // Issue 10: the refusal notice is kept and prints as a Decree 30 notice (Thông báo).
        let (n, pdf) = w.svc.notification_pdf(&vt, notices[1].id).unwrap();
        assert_eq!(n, notices[1]);
        let runs = kyso_pdf::text::page_runs(&kyso_pdf::reader::PdfDoc::open(&pdf).unwrap(), 1).unwrap();
        for want in ["THÔNG BÁO", "Kính gửi: UBND xã Tiên Du.", "Số: /TB-SO-A"] {
            assert!(runs.iter().any(|r| r == want), "{want}: {runs:?}");
        }
        assert_eq!(err(w.svc.notification_pdf(&w.actor("cb.b"), notices[1].id)), "forbidden");
        assert_eq!(err(w.svc.notification_pdf(&vt, 999_999)), "not_found");
        let reg = w.svc.incoming_register(&vt, "SO-A", t0().format("%Y").to_string().parse().unwrap()).unwrap();
        assert_eq!(reg.len(), 3);
        // Someone outside the agency cannot receive for it.
        std::fs::write(&p, &good).unwrap();
        assert_eq!(err(w.svc.receive_document(&w.actor("cb.b"), &inc("x"), &p, &with, t0() + Duration::hours(1))), "forbidden");
        w.audit_ok();
    }
}

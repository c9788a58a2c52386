//! The built-in CA through the service: issuance from CSRs wired to requests, renewal,
//! revocation with OCSP and CRL, time-stamps; checked by OpenSSL (found through kyso-testkit:
//! without it, and without KYSO_TEST_REQUIRE_TOOLS=1, the OpenSSL checks are skipped).

mod support;

use chrono::Duration;
use kyso_core::request::*;
use kyso_core::rules::RevocationReason;
use kyso_pki::name::DistinguishedName;
use kyso_pki::{csr, pem};
use kyso_service::*;
use kyso_token::soft::SoftToken;
use kyso_token::*;
use std::process::Command;
use support::*;

struct Ca {
    session: Box<dyn TokenSession>,
    user_session: Box<dyn TokenSession>,
    _dir: tempfile::TempDir,
}

fn setup(w: &World) -> Ca {
    let dir = tempfile::tempdir().unwrap();
    let t = SoftToken::create(dir.path(), "ca", &Pin::new("ca-pin-1"), &Pin::new("ca-so-pin-1"), 5, 1000).unwrap();
    let session = t.login(&Pin::new("ca-pin-1")).unwrap();
    w.svc.ca_init(&w.actor("cntt"), &CaConfig::demo("http://127.0.0.1:8480"), &*session, t0() - Duration::days(1)).unwrap();
    let u = SoftToken::create(dir.path(), "user", &Pin::new("1234"), &Pin::new("12345678"), 5, 1000).unwrap();
    Ca { session, user_session: u.login(&Pin::new("1234")).unwrap(), _dir: dir }
}

/// OpenSSL, or None when it is not installed and not required.
fn openssl_bin() -> Option<std::path::PathBuf> {
    kyso_testkit::system_tool("openssl")
}

/// A command for OpenSSL, for a test that has checked `openssl_bin()` first.
fn openssl_command() -> Command {
    Command::new(openssl_bin().expect("the test checks openssl_bin() before it runs OpenSSL"))
}

fn openssl(files: &[(&str, Vec<u8>)], args: &[&str]) -> (bool, String) {
    let d = tempfile::tempdir().unwrap();
    for (n, b) in files {
        std::fs::write(d.path().join(n), b).unwrap();
    }
    let o = openssl_command().current_dir(d.path()).args(args).output().unwrap();
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

fn chain(w: &World) -> Vec<u8> {
    let c = w.svc.ca_certs().unwrap();
    [pem("CERTIFICATE", &c.root), pem("CERTIFICATE", &c.issuing)].concat().into_bytes()
}

fn csr_for(ca: &Ca, label: &str, subject: &str, alg: KeyAlgorithm) -> Vec<u8> {
    let key = ca.user_session.generate_key(label, alg).unwrap();
    csr::build(&DistinguishedName::parse(subject).unwrap(), &*key, alg.default_scheme()).unwrap()
}

/// A new 36-month certificate for the individual on TOKEN0, from a CSR made on its token, by
/// the built-in CA; the request is completed.
fn issue_individual(w: &World, ca: &Ca, at: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    let q = w.to_ca(new_input(&w.individual, 36), at);
    let req = csr_for(ca, "an", "CN=Nguyễn Văn An,C=VN", KeyAlgorithm::EcP256);
    let (done, der) = w.svc.ca_issue(&w.actor("cntt"), q.id, &req, Some("TOKEN0"), &*ca.session, at).unwrap();
    assert_eq!(done.state, RequestState::Completed, "{}", w.backend);
    der
}

fn err(r: Result<impl std::fmt::Debug, ServiceError>) -> String {
    match r {
        Err(ServiceError::Domain(kyso_core::DomainError::Rule { rule, .. })) => format!("rule:{rule}"),
        Err(ServiceError::Domain(kyso_core::DomainError::Invalid { field, .. })) => format!("invalid:{field}"),
        Err(e) => e.code().to_string(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

#[test]
fn issue_renew_revoke_and_status_services_on_the_built_in_ca() {
    if openssl_bin().is_none() {
        return;
    }
    for b in backends() {
        let w = world(b, "bac-ninh-2023");
        let ca = setup(&w);
        let cntt = w.actor("cntt");
        let at = t0();
        // New certificate for the individual from a CSR made on its token.
        let der = issue_individual(&w, &ca, at);
        let (ok, out) = openssl(
            &[("chain.pem", chain(&w)), ("leaf.pem", pem("CERTIFICATE", &der).into_bytes())],
            &["verify", "-attime", &at.timestamp().to_string(), "-CAfile", "chain.pem", "leaf.pem"],
        );
        assert!(ok, "{out}");
        let (_, info) = kyso_pki::cert::parse(&der).unwrap();
        assert_eq!(info.subject.to_string(), "CN=Nguyễn Văn An,OU=Cơ quan SO-A-P1,OU=Cơ quan SO-A,O=Cơ quan UBND-T,L=Bắc Ninh,C=VN");
        let rec = w.svc.certificate(&cntt, &info.serial_hex).unwrap();
        assert_eq!((rec.not_after, rec.device_id.is_some()), (add_months(at, 36), true));
        // Its OCSP response was produced with it and says good; no signing needed to serve it.
        let index = w.svc.ocsp_index().unwrap();
        let issuing = w.svc.ca_certs().unwrap().issuing;
        let ocsp_req = {
            let d = tempfile::tempdir().unwrap();
            std::fs::write(d.path().join("ca.pem"), pem("CERTIFICATE", &issuing)).unwrap();
            std::fs::write(d.path().join("leaf.pem"), pem("CERTIFICATE", &der)).unwrap();
            assert!(openssl_command()
                .current_dir(d.path())
                .args(["ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-no_nonce", "-reqout", "r.der"])
                .status()
                .unwrap()
                .success());
            std::fs::read(d.path().join("r.der")).unwrap()
        };
        let check_ocsp = |resp: Vec<u8>, word: &str| {
            let (ok, out) = openssl(
                &[
                    ("chain.pem", chain(&w)),
                    ("ca.pem", pem("CERTIFICATE", &issuing).into_bytes()),
                    ("leaf.pem", pem("CERTIFICATE", &der).into_bytes()),
                    ("resp.der", resp),
                ],
                &[
                    "ocsp",
                    "-issuer",
                    "ca.pem",
                    "-cert",
                    "leaf.pem",
                    "-respin",
                    "resp.der",
                    "-CAfile",
                    "chain.pem",
                    "-no_nonce",
                    "-attime",
                    &(at + Duration::minutes(1)).timestamp().to_string(),
                    "-validity_period",
                    "63072000",
                ],
            );
            assert!(ok && out.contains(&format!("leaf.pem: {word}")), "{word}: {out}");
        };
        check_ocsp(w.svc.ocsp_answer(&ocsp_req, &index, None, at), "good");
        // Renewal: the new certificate ends at most 36 months after the old one.
        let later = add_months(at, 36) - Duration::days(90);
        let q = w.to_ca(
            NewRequestInput {
                kind: RequestKind::Renew,
                subscriber: w.individual.id,
                certificate_serial: Some(info.serial_hex.clone()),
                device_serial: None,
                details: RequestDetails::Renew { extension_months: 24 },
            },
            later,
        );
        let req2 = csr_for(&ca, "an2", "CN=Nguyễn Văn An,O=Cơ quan UBND-T,C=VN", KeyAlgorithm::Rsa2048);
        let (_, der2) = w.svc.ca_issue(&cntt, q.id, &req2, None, &*ca.session, later).unwrap();
        let (_, info2) = kyso_pki::cert::parse(&der2).unwrap();
        assert_eq!(info2.not_after, add_months(rec.not_after, 24));
        // The superseded certificate is now revoked in OCSP and the CRL.
        let cache = w.svc.ocsp_cache().unwrap();
        assert!(cache.contains_key(&info2.serial_hex));
        let crl = w.svc.ca_crl(&w.actor("cntt"), &*ca.session, false, later + Duration::minutes(1)).unwrap();
        let (ok, out) = openssl(
            &[("crl.der", crl.clone()), ("ca.pem", pem("CERTIFICATE", &issuing).into_bytes())],
            &["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-noout", "-text"],
        );
        assert!(ok && out.contains("verify OK") && out.contains(&info.serial_hex), "{out}");
        // Revocation through a request.
        let q = w.to_ca(
            NewRequestInput {
                kind: RequestKind::Revoke,
                subscriber: w.individual.id,
                certificate_serial: Some(info2.serial_hex.clone()),
                device_serial: None,
                details: RequestDetails::Revoke { reason: RevocationReason::KeyCompromise, device_return: false, lost_device_record: None },
            },
            later + Duration::hours(1),
        );
        w.svc.ca_revoke(&cntt, q.id, &*ca.session, later + Duration::hours(1)).unwrap();
        let delta = w.svc.ca_crl(&w.actor("cntt"), &*ca.session, true, later + Duration::hours(2)).unwrap();
        let (ok, out) = openssl(
            &[("crl.der", delta), ("ca.pem", pem("CERTIFICATE", &issuing).into_bytes())],
            &["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-noout", "-text"],
        );
        assert!(ok && out.contains("Delta CRL Indicator") && out.contains(&info2.serial_hex) && out.contains("Key Compromise"), "{out}");
        // A time-stamp from the TSA.
        let treq = kyso_pki::tsp::request(HashAlg::Sha256, &HashAlg::Sha256.digest(b"x"), None).unwrap();
        let tresp = w.svc.timestamp(&w.actor("cntt"), &treq, &*ca.session, later).unwrap();
        assert!(kyso_pki::tsp::token_of(&tresp).is_ok());
    }
}

/// Issue 11, finding 4: CRLs, OCSP refresh and time-stamps ran for any account. Now they need
/// the right (IT staff) or are made by the CA's named system actor, which has no other right;
/// every time-stamp is an audit event under the acting account; a refusal is a recorded denial.
#[test]
fn ca_services_run_only_for_those_allowed_and_as_a_named_system_actor() {
    for b in backends() {
        let w = world(b, "bac-ninh-2023");
        let ca = setup(&w);
        let treq = kyso_pki::tsp::request(HashAlg::Sha256, &HashAlg::Sha256.digest(b"x"), None).unwrap();
        let code = |r: Result<Vec<u8>, ServiceError>| r.map(|_| "ok".to_string()).unwrap_or_else(|e| e.code().to_string());
        let system = kyso_service::Principal::ca_service();
        // (actor, CRL, time-stamp)
        for (who, actor, want) in [
            ("a subscriber", w.actor("self"), "forbidden"),
            ("a CQQLTT officer", w.actor("cb.a"), "forbidden"),
            ("the provincial manager", w.actor("qltb"), "forbidden"),
            ("IT staff", w.actor("cntt"), "ok"),
            ("the CA's system actor", system.clone(), "ok"),
        ] {
            assert_eq!(code(w.svc.ca_crl(&actor, &*ca.session, false, t0())), want, "{who}: CRL");
            assert_eq!(code(w.svc.timestamp(&actor, &treq, &*ca.session, t0())), want, "{who}: time-stamp");
            let n = w.svc.ca_refresh_ocsp(&actor, &*ca.session, t0()).map(|_| "ok").unwrap_or_else(|e| e.code());
            assert_eq!(n, want, "{who}: OCSP");
        }
        // The system actor has nothing else: it cannot revoke, and its role is never granted.
        assert_eq!(
            w.svc.ca_revoke_serial(&system, "01", RevocationReason::KeyCompromise, &*ca.session, t0()).unwrap_err().code(),
            "forbidden"
        );
        let admin = w.actor("admin");
        assert!(matches!(
            w.svc.grant(&admin, "cb.a", "ca_service", "UBND-T", t0()),
            Err(ServiceError::Domain(kyso_core::DomainError::Invalid { .. }))
        ));
        // The audit log names who made each time-stamp, and the refusals.
        let log = w.svc.audit_tail(&w.actor("kt"), 200).unwrap();
        let stamps: Vec<&str> = log.iter().filter(|e| e.action == "ts.issued").map(|e| e.actor.as_str()).collect();
        assert_eq!(stamps, vec!["cntt", kyso_core::authz::CA_SERVICE_LOGIN], "{}", w.backend);
        assert!(log.iter().any(|e| e.action == "ts.stamp" && e.actor == "self" && e.outcome == "denied"), "{}", w.backend);
        w.audit_ok();
    }
}

#[test]
fn bad_csrs_and_unknown_serials_are_refused_and_change_nothing() {
    if openssl_bin().is_none() {
        return;
    }
    for b in backends() {
        let w = world(b, "bac-ninh-2023");
        let ca = setup(&w);
        let cntt = w.actor("cntt");
        let q = w.to_ca(new_input(&w.organisation, 60), t0());
        let before = w.snapshot();
        // A CSR whose subject is someone else.
        let other = csr_for(&ca, "x1", "CN=Cơ quan khác,C=VN", KeyAlgorithm::EcP256);
        assert_eq!(err(w.svc.ca_issue(&cntt, q.id, &other, None, &*ca.session, t0())), "rule:csr-subject", "{}", w.backend);
        // A CSR whose signature does not verify.
        let mut broken = csr_for(&ca, "x2", "CN=Cơ quan SO-A,C=VN", KeyAlgorithm::EcP256);
        let n = broken.len();
        broken[n - 5] ^= 0x55;
        assert_eq!(err(w.svc.ca_issue(&cntt, q.id, &broken, None, &*ca.session, t0())), "invalid:csr");
        // A weak key (RSA-1024 from OpenSSL).
        let d = tempfile::tempdir().unwrap();
        assert!(openssl_command()
            .current_dir(d.path())
            .args([
                "req",
                "-new",
                "-newkey",
                "rsa:1024",
                "-nodes",
                "-keyout",
                "k.pem",
                "-subj",
                "/CN=Cơ quan SO-A/C=VN",
                "-utf8",
                "-outform",
                "DER",
                "-out",
                "r.der"
            ])
            .output()
            .unwrap()
            .status
            .success());
        assert_eq!(
            err(w.svc.ca_issue(&cntt, q.id, &std::fs::read(d.path().join("r.der")).unwrap(), None, &*ca.session, t0())),
            "rule:TT15-2025-key-size"
        );
        assert_eq!(err(w.svc.ca_revoke_serial(&cntt, "ABCDEF0123", RevocationReason::KeyCompromise, &*ca.session, t0())), "not_found");
        assert_eq!(before, w.snapshot(), "{}: refused issuance wrote nothing", w.backend);
        // The right CSR goes through.
        let good = csr_for(&ca, "x3", "CN=Cơ quan SO-A,C=VN", KeyAlgorithm::Rsa3072);
        w.svc.ca_issue(&cntt, q.id, &good, None, &*ca.session, t0()).unwrap();
    }
}

/// OpenSSL as the external CA: a key and self-signed CA certificate in `dir`.
fn external_ca(dir: &std::path::Path) {
    external_ca_named(dir, "/C=VN/O=Ban Co yeu Chinh phu/CN=CA ngoai (OpenSSL)");
}

/// An OpenSSL CA in `dir` with subject `subj` (ca.key, ca.pem, and what `openssl ca` needs).
fn external_ca_named(dir: &std::path::Path, subj: &str) {
    let run = |args: &[&str]| {
        let o = openssl_command().current_dir(dir).args(args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-utf8",
        "-subj",
        subj,
        "-days",
        "3650",
        "-out",
        "ca.pem",
    ]);
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = x\n[x]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 7\n",
    )
    .unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("crlnumber"), "01\n").unwrap();
}

fn external_sign(dir: &std::path::Path, csr_der: &[u8], out: &str, days: u32) {
    std::fs::write(dir.join("req.pem"), pem("CERTIFICATE REQUEST", csr_der)).unwrap();
    // A v3 certificate, as a real CA issues (a v1 one has no key usage to check).
    std::fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nauthorityKeyIdentifier=keyid\ncrlDistributionPoints=URI:http://crl.ca-ngoai.test/ca.crl\n",
    )
    .unwrap();
    let o = openssl_command()
        .current_dir(dir)
        .args([
            "x509",
            "-req",
            "-in",
            "req.pem",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            &days.to_string(),
            "-sha256",
            "-extfile",
            "leaf.ext",
            "-out",
            out,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn exchange_with_an_external_ca_by_files() {
    if openssl_bin().is_none() {
        return;
    }
    for b in backends() {
        let w = world(b, "bac-ninh-2023");
        let ca = setup(&w);
        let cntt = w.actor("cntt");
        let officer = w.actor("cb.a");
        let now = t0();
        // Two requests reach the CA with CSRs attached.
        let mk = |sub: &kyso_core::registry::Subscriber, label: &str| {
            let q = w.svc.create_request(&officer, &new_input(sub, 36), now).unwrap();
            let c = csr_for(&ca, label, &format!("CN={},C=VN", sub.display_name), KeyAlgorithm::EcP256);
            w.svc.attach_csr(&officer, q.id, &c, now).unwrap();
            w.svc.transition(&officer, q.id, Action::Submit, None, now).unwrap();
            w.svc.transition(&w.actor("cb.a2"), q.id, Action::Confirm, None, now).unwrap();
            (q, c)
        };
        let (q1, c1) = mk(&w.individual, "e1");
        let (q2, c2) = mk(&w.organisation, "e2");
        // A CSR naming someone else is refused at attach time.
        let q3 = w.svc.create_request(&officer, &new_input(&w.device_sub, 36), now).unwrap();
        let wrong = csr_for(&ca, "e3", "CN=Không phải thiết bị này,C=VN", KeyAlgorithm::EcP256);
        assert_eq!(err(w.svc.attach_csr(&officer, q3.id, &wrong, now)), "rule:csr-subject");
        let (batch, _) = w.svc.send_to_ca(&officer, &[q1.id, q2.id], now).unwrap();
        let exported = w.svc.export_batch(&cntt, batch).unwrap();
        assert_eq!(exported.len(), 2);
        assert!(exported.iter().all(|e| e.csr_der.is_some() && e.forms.is_some()));

        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        external_ca(d);
        external_sign(d, &c1, "c1.pem", 365);
        external_sign(d, &c2, "c2.pem", 365);
        // A certificate for a key no request holds.
        let stray = csr_for(&ca, "stray", "CN=Người lạ,C=VN", KeyAlgorithm::EcP256);
        external_sign(d, &stray, "stray.pem", 365);
        let read = |n: &str| std::fs::read(d.join(n)).unwrap();
        // Regression (issue 11, finding 2): a CA certificate that came in the file set was
        // trusted, so anyone's self-made CA could complete a request. Until IT staff put the
        // external CA into the trust store, its certificates do not chain to anything.
        let before = w.snapshot();
        match w.svc.import_from_ca(&cntt, &[("ca.pem".into(), read("ca.pem")), ("c1.pem".into(), read("c1.pem"))], now) {
            Err(ServiceError::Import(rows)) => assert!(rows.iter().any(|r| r.message.contains("kho tin cậy")), "{rows:?}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(before, w.snapshot(), "{}: nothing imported", w.backend);
        assert_eq!(err(w.svc.trust_add(&officer, &read("ca.pem"), "CA ngoài", now)), "forbidden");
        assert_eq!(err(w.svc.trust_add(&cntt, &read("c1.pem"), "không phải CA", now)), "invalid:cert");
        let added = w.svc.trust_add(&cntt, &read("ca.pem"), "CA ngoài thử nghiệm (OpenSSL)", now).unwrap();
        assert_eq!(err(w.svc.trust_add(&cntt, &read("ca.pem"), "lần nữa", now)), "conflict");
        let listed = w.svc.trust_list(&cntt).unwrap();
        assert_eq!(listed.len(), 2, "the built-in root and the external CA");
        assert_eq!((listed[0].id, listed[1].id), (0, added.id));
        let before = w.snapshot();
        match w.svc.import_from_ca(
            &cntt,
            &[("ca.pem".into(), read("ca.pem")), ("c1.pem".into(), read("c1.pem")), ("stray.pem".into(), read("stray.pem"))],
            now,
        ) {
            Err(ServiceError::Import(rows)) => assert!(rows.iter().any(|r| r.message.contains("không khớp với yêu cầu nào")), "{rows:?}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(before, w.snapshot(), "{}: nothing imported", w.backend);
        // The trusted CA's own certificate need not come along.
        let before = w.snapshot();
        assert_eq!(err(w.svc.import_from_ca(&cntt, &[("stray.pem".into(), read("stray.pem"))], now)), "import");
        assert_eq!(before, w.snapshot());
        // c1 as PEM with the CA, c2 inside a PKCS#7 bundle.
        let o = openssl_command()
            .current_dir(d)
            .args(["crl2pkcs7", "-nocrl", "-certfile", "c2.pem", "-certfile", "ca.pem", "-outform", "DER", "-out", "c2.p7b"])
            .output()
            .unwrap();
        assert!(o.status.success());
        let r = w
            .svc
            .import_from_ca(
                &cntt,
                &[("ca.pem".into(), read("ca.pem")), ("c1.pem".into(), read("c1.pem")), ("c2.p7b".into(), read("c2.p7b"))],
                now,
            )
            .unwrap();
        assert_eq!(r.issued.iter().map(|(q, _)| *q).collect::<Vec<_>>(), vec![q1.id, q2.id]);
        for (q, _) in &r.issued {
            assert_eq!(w.svc.request(&cntt, *q).unwrap().request.state, RequestState::Completed);
        }
        // The external CA revokes c1 and publishes a CRL; importing it updates the registry.
        let run = |args: &[&str]| assert!(openssl_command().current_dir(d).args(args).output().unwrap().status.success(), "{args:?}");
        // c2's revocation goes through a request that waits at the CA; the CRL completes it.
        let c2_serial = kyso_pki::cert::parse(&kyso_pki::der_or_pem(&read("c2.pem")).unwrap()).unwrap().1.serial_hex;
        let rq = w
            .svc
            .create_request(
                &officer,
                &NewRequestInput {
                    kind: RequestKind::Revoke,
                    subscriber: w.organisation.id,
                    certificate_serial: Some(c2_serial.clone()),
                    device_serial: None,
                    details: RequestDetails::Revoke { reason: RevocationReason::Dissolved, device_return: false, lost_device_record: None },
                },
                now,
            )
            .unwrap();
        w.svc.transition(&officer, rq.id, Action::Submit, None, now).unwrap();
        w.svc.transition(&w.actor("cb.a2"), rq.id, Action::Confirm, None, now).unwrap();
        w.svc.send_to_ca(&officer, &[rq.id], now).unwrap();
        run(&["ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-revoke", "c1.pem", "-crl_reason", "keyCompromise"]);
        run(&[
            "ca",
            "-config",
            "ca.cnf",
            "-keyfile",
            "ca.key",
            "-cert",
            "ca.pem",
            "-revoke",
            "c2.pem",
            "-crl_reason",
            "cessationOfOperation",
        ]);
        run(&["ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-gencrl", "-out", "crl.pem"]);
        // Regression (issue 11, finding 2): a CRL of a CA outside the trust store, with a CA
        // certificate made by anyone, revoked a certificate of the built-in CA.
        let built_in = w.issue(&w.device_sub, now, 12, "0A0B0C");
        let evil = d.join("evil");
        std::fs::create_dir_all(&evil).unwrap();
        external_ca(&evil);
        std::fs::write(evil.join("index.txt"), format!("R\t300101000000Z\t260101000000Z\t{}\tunknown\t/CN=x\n", built_in.serial)).unwrap();
        let runev = |args: &[&str]| assert!(openssl_command().current_dir(&evil).args(args).output().unwrap().status.success(), "{args:?}");
        runev(&["ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-gencrl", "-out", "crl.pem"]);
        let before = w.snapshot();
        let evil_read = |n: &str| std::fs::read(evil.join(n)).unwrap();
        assert_eq!(
            err(w.svc.import_from_ca(
                &cntt,
                &[("evil-ca.pem".into(), evil_read("ca.pem")), ("evil.crl".into(), evil_read("crl.pem"))],
                now
            )),
            "import"
        );
        assert_eq!(before, w.snapshot(), "{}", w.backend);
        // The trusted external CA's CRL listing that serial too: it revokes only its own.
        std::fs::write(
            d.join("index.txt"),
            format!(
                "{}R\t300101000000Z\t260101000000Z\t{}\tunknown\t/CN=x\n",
                std::fs::read_to_string(d.join("index.txt")).unwrap(),
                built_in.serial
            ),
        )
        .unwrap();
        run(&["ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-gencrl", "-out", "crl.pem"]);
        let r = w.svc.import_from_ca(&cntt, &[("crl.pem".into(), read("crl.pem"))], now).unwrap();
        assert_eq!(r.revoked, 2, "{}", w.backend);
        assert!(w.svc.certificate(&cntt, built_in.serial.as_str()).unwrap().revoked_at.is_none(), "another CA's certificate untouched");
        assert_eq!(w.svc.request(&cntt, rq.id).unwrap().request.state, RequestState::Completed);
        let serial = &w.svc.export_batch(&cntt, batch).unwrap()[0];
        let _ = serial;
        let c1_serial = kyso_pki::cert::parse(&kyso_pki::der_or_pem(&read("c1.pem")).unwrap()).unwrap().1.serial_hex;
        assert!(w.svc.certificate(&cntt, &c1_serial).unwrap().revoked_at.is_some());
    }
}

#[test]
fn the_ca_works_the_same_with_its_keys_on_softhsm2() {
    use kyso_token::pkcs11::Pkcs11Token;
    let Some(module) = kyso_testkit::softhsm_module() else { return };
    let module = std::path::Path::new(module);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("hsm")).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", dir.path().join("hsm").display()),
    )
    .unwrap();
    // This test binary loads the module only here, so setting the variable first is enough.
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let label = format!("ca{}", std::process::id());
    Pkcs11Token::init(module, &label, &Pin::new("so-pin-99"), &Pin::new("ca-pin-99")).unwrap();
    for b in backends().into_iter().take(1) {
        let w = world(b, "bac-ninh-2023");
        let hsm = Pkcs11Token::open(module, &label, &dir.path().join("state"), 10).unwrap();
        let session = hsm.login(&Pin::new("ca-pin-99")).unwrap();
        w.svc
            .ca_init(
                &w.actor("cntt"),
                &CaConfig { key_algorithm: KeyAlgorithm::Rsa2048, ..CaConfig::demo("http://127.0.0.1:8480") },
                &*session,
                t0(),
            )
            .unwrap();
        let user = SoftToken::create(dir.path(), "u", &Pin::new("1234"), &Pin::new("12345678"), 5, 1000)
            .unwrap()
            .login(&Pin::new("1234"))
            .unwrap();
        let key = user.generate_key("k", KeyAlgorithm::EcP256).unwrap();
        let req = csr::build(&DistinguishedName::parse("CN=Nguyễn Văn An,C=VN").unwrap(), &*key, SignatureScheme::EcdsaP256Sha256).unwrap();
        let q = w.to_ca(new_input(&w.individual, 36), t0());
        let (_, der) = w.svc.ca_issue(&w.actor("cntt"), q.id, &req, None, &*session, t0()).unwrap();
        let crl = w.svc.ca_crl(&w.actor("cntt"), &*session, false, t0()).unwrap();
        let certs = w.svc.ca_certs().unwrap();
        let chain = [pem("CERTIFICATE", &certs.root), pem("CERTIFICATE", &certs.issuing)].concat().into_bytes();
        if openssl_bin().is_some() {
            let (ok, out) = openssl(
                &[
                    ("chain.pem", chain),
                    ("leaf.pem", pem("CERTIFICATE", &der).into_bytes()),
                    ("crl.pem", pem("X509 CRL", &crl).into_bytes()),
                ],
                &[
                    "verify",
                    "-crl_check",
                    "-attime",
                    &t0().timestamp().to_string(),
                    "-CAfile",
                    "chain.pem",
                    "-CRLfile",
                    "crl.pem",
                    "leaf.pem",
                ],
            );
            assert!(ok, "{out}");
        }
        let treq = kyso_pki::tsp::request(HashAlg::Sha256, &HashAlg::Sha256.digest(b"x"), None).unwrap();
        kyso_pki::tsp::token_of(&w.svc.timestamp(&w.actor("cntt"), &treq, &*session, t0()).unwrap()).unwrap();
    }
}

#[test]
fn the_connectors_take_a_batch_built_in_at_once_external_as_a_package() {
    for b in backends() {
        let w = world(b, "bac-ninh-2023");
        let ca = setup(&w);
        let officer = w.actor("cb.a");
        let cntt = w.actor("cntt");
        let at = t0();
        let q1 = w.svc.create_request(&officer, &new_input(&w.individual, 24), at).unwrap();
        let c1 = csr_for(&ca, "b1", &format!("CN={},C=VN", w.individual.display_name), KeyAlgorithm::EcP256);
        w.svc.attach_csr(&officer, q1.id, &c1, at).unwrap();
        let q2 = w.svc.create_request(&officer, &new_input(&w.organisation, 24), at).unwrap(); // no CSR
        for q in [&q1, &q2] {
            w.svc.transition(&officer, q.id, Action::Submit, None, at).unwrap();
            w.svc.transition(&w.actor("cb.a2"), q.id, Action::Confirm, None, at).unwrap();
        }
        let (batch, _) = w.svc.send_to_ca(&officer, &[q1.id, q2.id], at).unwrap();
        match FileExchangeCa.submit(&w.svc, &cntt, batch, at).unwrap() {
            Submission::Package(items) => assert_eq!(items.iter().filter(|i| i.csr_der.is_some()).count(), 1),
            other => panic!("{other:?}"),
        }
        match (BuiltInCa { session: &*ca.session }).submit(&w.svc, &cntt, batch, at).unwrap() {
            Submission::Done { completed, waiting } => {
                assert_eq!(completed.iter().map(|q| q.id).collect::<Vec<_>>(), vec![q1.id], "{}", w.backend);
                assert_eq!(waiting.len(), 1);
                assert!(waiting[0].1.contains("CSR"), "{}", waiting[0].1);
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Issue 10: a completed change of information left the old OU and title in the new
/// certificate and the old title in the registry. Now the registry takes the new values, the
/// certificate carries them, and it keeps the old expiry.
#[test]
fn change_of_information_reaches_the_registry_and_the_certificate() {
    for b in backends() {
        let w = world(b, "bac-ninh-2023");
        let ca = setup(&w);
        let cntt = w.actor("cntt");
        let at = t0();
        let (_, old) = kyso_pki::cert::parse(&issue_individual(&w, &ca, at)).unwrap();

        let later = at + Duration::days(200);
        let q = w.to_ca(
            NewRequestInput {
                kind: RequestKind::ChangeInfo,
                subscriber: w.individual.id,
                certificate_serial: Some(old.serial_hex.clone()),
                device_serial: None,
                details: RequestDetails::ChangeInfo {
                    changes: vec![
                        (kyso_core::rules::ChangeField::Title, "Chuyên viên chính".into()),
                        (kyso_core::rules::ChangeField::Workplace, "SO-B".into()),
                    ],
                },
            },
            later,
        );
        let req2 = csr_for(&ca, "an2", "CN=Nguyễn Văn An,C=VN", KeyAlgorithm::EcP256);
        let (done, der2) = w.svc.ca_issue(&cntt, q.id, &req2, None, &*ca.session, later).unwrap();
        assert_eq!(done.state, RequestState::Completed, "{}", w.backend);
        let (_, new) = kyso_pki::cert::parse(&der2).unwrap();
        assert_eq!(
            new.subject.to_string(),
            "CN=Nguyễn Văn An,T=Chuyên viên chính,OU=Cơ quan SO-B,O=Cơ quan UBND-T,L=Bắc Ninh,C=VN",
            "{}",
            w.backend
        );
        assert_eq!(new.not_after, old.not_after, "the change keeps the old expiry");
        // The registry: the person's title and agency, the subscriber's agency and its
        // managing agency (CQQLTT) follow.
        let person = w.svc.person(&cntt, w.leader.citizen_id.as_str(), t0()).unwrap();
        let so_b = w.svc.agency(&cntt, "SO-B").unwrap();
        assert_eq!((person.title.as_str(), person.agency_id), ("Chuyên viên chính", so_b.id));
        let sub = w.svc.list_subscribers(&cntt, None, 100).unwrap().into_iter().find(|s| s.id == w.individual.id).unwrap();
        assert_eq!((sub.agency_id, sub.managing_agency_id), (so_b.id, so_b.id));
        // The new certificate is listed with the agency it moved to.
        let under_b = w.svc.list_certificates(&cntt, Some("SO-B"), &kyso_store::CertificateFilter::default()).unwrap();
        assert!(under_b.iter().any(|c| c.serial.to_string() == new.serial_hex), "{}", w.backend);
        // The old certificate is superseded, the new one is the subscriber's.
        assert!(w.svc.certificate(&cntt, &old.serial_hex).unwrap().revoked_at.is_some());
        assert_eq!(w.svc.certificate(&cntt, &new.serial_hex).unwrap().subscriber_id, w.individual.id);
        w.audit_ok();
    }
}

/// Issue 11, finding 9: whoever can rewrite the database can re-chain the audit log, and the
/// chain check passes. A checkpoint (an RFC 3161 time-stamp of the head's sequence and hash),
/// kept outside the database, shows the change; later events are reported as not anchored.
#[test]
fn a_changed_and_rechained_audit_log_is_caught_by_its_checkpoints() {
    use kyso_core::audit::{AuditRecord, NewEvent, Outcome};
    for b in backends() {
        let w = world(b, "bac-ninh-2023");
        let ca = setup(&w);
        let cntt = w.actor("cntt");
        let stamp = |req: &[u8]| w.svc.timestamp(&cntt, req, &*ca.session, t0()).map_err(|e| e.to_string());
        // Who may: IT staff and auditors, not an agency officer.
        assert_eq!(w.svc.audit_checkpoint(&w.actor("cb.a"), &stamp, t0()).unwrap_err().code(), "forbidden");
        let cp = w.svc.audit_checkpoint(&cntt, &stamp, t0()).unwrap();
        assert_eq!(w.svc.audit_checkpoint(&cntt, &stamp, t0()).unwrap().seq, cp.seq + 2, "a new head, a new checkpoint");
        let files = w.svc.audit_checkpoints(&cntt).unwrap();
        assert_eq!(files.len(), 2);
        let v = w.svc.verify_audit_checkpoints(&cntt, &files, None).unwrap();
        assert!(
            v.is_valid() && v.anchored_seq == files[1].seq && v.not_anchored == 2,
            "{v:?}: its own time-stamp and record come after it"
        );
        // The attack: an early event changed, every later hash recomputed, the head moved.
        w.svc
            .db()
            .write(|tx| -> Result<(), kyso_store::StoreError> {
                let records = tx.audit_page(0, 100_000)?;
                let mut prev = records[0].prev_hash.clone();
                for r in records {
                    let details = if r.seq == 3 { r.details.replace('}', ",\"sua\":1}") } else { r.details.clone() };
                    let e = NewEvent {
                        actor: r.actor.clone(),
                        action: r.action.clone(),
                        object: r.object.clone(),
                        agency_id: r.agency_id,
                        outcome: Outcome::parse(&r.outcome).unwrap(),
                        subject: r.subject.clone(),
                        class: r.class.clone(),
                        details,
                    };
                    let c = AuditRecord::chain(&prev, r.seq, r.at_micros, e);
                    tx.exec(
                        "UPDATE audit_events SET details = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
                        &[c.details.as_str().into(), c.prev_hash.as_str().into(), c.hash.as_str().into(), c.seq.into()],
                    )?;
                    prev = c.hash;
                }
                let (head, _) = tx.audit_head()?;
                tx.exec("UPDATE audit_head SET hash = $1 WHERE id = 1 AND seq = $2", &[prev.as_str().into(), head.into()])?;
                Ok(())
            })
            .unwrap();
        assert!(w.svc.verify_audit(&cntt).unwrap().is_valid(), "{}: the re-chained log passes the chain check alone", w.backend);
        let v = w.svc.verify_audit_checkpoints(&cntt, &files, None).unwrap();
        assert!(!v.is_valid() && v.contradicted.len() == 2 && v.contradicted[0].1.contains("đã bị sửa"), "{}: {v:?}", w.backend);
        // A checkpoint file whose token is for another head does not hold.
        let forged = kyso_service::AuditCheckpoint { hash: "00".repeat(32), ..files[0].clone() };
        let v = w.svc.verify_audit_checkpoints(&cntt, &[forged], None).unwrap();
        assert_eq!(v.invalid.len(), 1, "{v:?}");
        // Review of issue 11: any certificate of the trusted CA could sign a checkpoint. One
        // time-stamped with the OCSP responder's key and certificate (no timeStamping purpose)
        // does not hold.
        let certs = w.svc.ca_certs().unwrap();
        let ocsp_key = ca.session.signer(kyso_service::OCSP_KEY).unwrap();
        let (seq, hash) = (files[0].seq, files[0].hash.clone());
        let digest = HashAlg::Sha256.digest(kyso_core::audit::checkpoint_message(seq, &hash).as_bytes());
        let req = kyso_pki::tsp::request(HashAlg::Sha256, &digest, None).unwrap();
        let tsa = kyso_pki::tsp::Tsa {
            cert: &certs.ocsp,
            chain: std::slice::from_ref(&certs.issuing),
            signer: &*ocsp_key,
            scheme: certs.config.key_algorithm.default_scheme(),
            policy: certs.config.tsa_policy_oid.parse().unwrap(),
        };
        let token = kyso_pki::tsp::token_of(&kyso_pki::tsp::respond(&tsa, &req, &[1, 2, 3], t0()).unwrap()).unwrap();
        use base64::Engine;
        let by_ocsp =
            kyso_service::AuditCheckpoint { seq, hash, token: base64::engine::general_purpose::STANDARD.encode(token), created_at: t0() };
        let v = w.svc.verify_audit_checkpoints(&cntt, &[by_ocsp], None).unwrap();
        assert!(v.invalid.len() == 1 && v.invalid[0].1.contains("TSA"), "{v:?}");
    }
}

/// Review of issue 11: a CRL entry revoked a registry certificate of any trusted CA with the
/// same name. A CA made to carry the built-in issuing CA's name (and trusted by mistake) signs a
/// CRL listing a certificate the built-in CA issued: the name matches, the key does not, and the
/// certificate stays valid.
#[test]
fn a_crl_of_a_look_alike_ca_does_not_revoke_the_real_ca_s_certificates() {
    if openssl_bin().is_none() {
        return;
    }
    let Some(b) = backends().into_iter().next() else { return };
    let w = world(b, "bac-ninh-2023");
    let ca = setup(&w);
    let cntt = w.actor("cntt");
    let q = w.to_ca(new_input(&w.individual, 24), t0());
    let req = csr_for(&ca, "real", &format!("CN={},C=VN", w.individual.display_name), KeyAlgorithm::EcP256);
    let (_, der) = w.svc.ca_issue(&cntt, q.id, &req, None, &*ca.session, t0()).unwrap();
    let serial = kyso_pki::cert::parse(&der).unwrap().1.serial_hex;
    // The look-alike: same subject, its own key; its CRL lists the real certificate's serial.
    let issuing = kyso_pki::cert::parse(&w.svc.ca_certs().unwrap().issuing).unwrap().1.subject;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let subj: String = issuing.to_string().split(',').rev().map(|p| format!("/{p}")).collect();
    external_ca_named(d, &subj);
    std::fs::write(d.join("index.txt"), format!("R\t300101000000Z\t260101000000Z\t{serial}\tunknown\t/CN=x\n")).unwrap();
    let o = openssl_command()
        .current_dir(d)
        .args(["ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-gencrl", "-out", "crl.pem"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let look_alike = std::fs::read(d.join("ca.pem")).unwrap();
    assert_eq!(kyso_pki::cert::parse(&kyso_pki::der_or_pem(&look_alike).unwrap()).unwrap().1.subject, issuing, "the same name");
    w.svc.trust_add(&cntt, &look_alike, "trusted by mistake", t0()).unwrap();
    let r = w.svc.import_from_ca(&cntt, &[("crl.pem".into(), std::fs::read(d.join("crl.pem")).unwrap())], t0()).unwrap();
    assert_eq!(r.revoked, 0);
    assert!(w.svc.certificate(&cntt, &serial).unwrap().revoked_at.is_none());
}

/// A certificate login (issue 12): the token signs a one-time challenge that names the
/// server's origin; the certificate must chain to the deployment's trust, not be revoked, be
/// in the registry and valid, and belong to the person of an account. Each refusal says why.
#[test]
fn certificate_login_checks_the_proof_the_path_revocation_and_the_registry() {
    const ORIGIN: &str = "https://kyso.tinh.gov.vn";
    // Another CA (the government CA, in production) that the trust store names, whose CRL
    // is fetched from the distribution point its certificates carry.
    let ext = tempfile::tempdir().unwrap();
    let ext_crl = openssl_bin().map(|_| {
        external_ca(ext.path());
        let run = |args: &[&str]| assert!(openssl_command().current_dir(ext.path()).args(args).status().unwrap().success(), "{args:?}");
        run(&["ca", "-gencrl", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-out", "crl.pem"]);
        run(&["crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der"]);
        std::fs::read(ext.path().join("crl.der")).unwrap()
    });
    for b in backends() {
        let mut w = world(b, "bac-ninh-2023");
        if let Some(crl) = ext_crl.clone() {
            w.svc.set_revocation_fetch(std::sync::Arc::new(move |url: &str| {
                (url == "http://crl.ca-ngoai.test/ca.crl").then(|| crl.clone())
            }));
        }
        let ca = setup(&w);
        let cntt = w.actor("cntt");
        let der = issue_individual(&w, &ca, t0());
        w.svc.ca_crl(&Principal::ca_service(), &*ca.session, false, t0()).unwrap();
        let key = ca.user_session.signer("an").unwrap();
        let sign = |text: &str, cert: &[u8]| {
            let r = kyso_pki::cms::SignRequest {
                content_type: kyso_pki::oids::CT_DATA,
                econtent: None,
                content_digest: HashAlg::Sha256.digest(text.as_bytes()),
                digest: HashAlg::Sha256,
                signer_cert: cert,
                chain: &[],
                extra_signed: vec![],
            };
            kyso_pki::cms::sign(&r, &*key, key.key_algorithm().default_scheme()).unwrap()
        };
        let client = ClientInfo { address: "198.51.100.20".into(), user_agent: None };
        let at = t0() + Duration::hours(1);
        let challenge = |origin: &str| w.svc.new_login_challenge(origin, "Sở Nội vụ (thử nghiệm)", &client, at).unwrap();
        let login = |proof: CertificateProof<'_>, origin: &str, when| {
            w.svc.login_with_certificate(&CertificateLogin { proof, origin, login: None, client: &client }, when)
        };
        let why = |r: ServiceResult<LoginOutcome>| match r {
            Ok(o) => {
                let p = o.principal.unwrap();
                format!("ok:{}:{}", p.login, p.method().code())
            }
            Err(ServiceError::Auth(AuthFailure::BadCertificate(m))) => m,
            Err(e) => format!("{}: {e}", e.code()),
        };

        // A valid certificate logs into its person's account, as two factors.
        let c = challenge(ORIGIN);
        assert!(c.text.starts_with(&challenge_first_line(ORIGIN)), "{}", c.text);
        let cms = sign(&c.text, &der);
        assert_eq!(why(login(CertificateProof::SignedChallenge { challenge_id: &c.id, cms: &cms }, ORIGIN, at)), "ok:self:certificate");

        let c2 = challenge(ORIGIN);
        let other_site = challenge("https://trang-khac.example");
        let c4 = challenge(ORIGIN);
        let c5 = challenge(ORIGIN);
        let issuing = w.svc.ca_certs().unwrap().issuing;
        let (other_text, other_site_sig, late_sig) =
            (sign("kyso: đăng nhập vào https://kyso.tinh.gov.vn\nkhác", &der), sign(&other_site.text, &der), sign(&c4.text, &der));
        let cases: Vec<(&str, CertificateProof<'_>, &str, chrono::DateTime<chrono::Utc>, &str)> = vec![
            ("the same answer again", CertificateProof::SignedChallenge { challenge_id: &c.id, cms: &cms }, ORIGIN, at, "đã dùng"),
            (
                "a signature over another text",
                CertificateProof::SignedChallenge { challenge_id: &c2.id, cms: &other_text },
                ORIGIN,
                at,
                "chữ ký trên mã thử thách không hợp lệ",
            ),
            (
                "a challenge another site was given",
                CertificateProof::SignedChallenge { challenge_id: &other_site.id, cms: &other_site_sig },
                ORIGIN,
                at,
                "được cấp cho https://trang-khac.example",
            ),
            (
                "an answer after the challenge expired",
                CertificateProof::SignedChallenge { challenge_id: &c4.id, cms: &late_sig },
                ORIGIN,
                at + Duration::minutes(CHALLENGE_MINUTES + 1),
                "hết hạn",
            ),
            ("a CA certificate", CertificateProof::TlsClient { chain: vec![issuing.clone()] }, ORIGIN, at, "là chứng thư của CA"),
            (
                "an expired certificate",
                CertificateProof::TlsClient { chain: vec![der.clone()] },
                ORIGIN,
                t0() + Duration::days(40 * 31),
                "đã hết hạn",
            ),
        ];
        for (what, proof, origin, when, want) in cases {
            let got = why(login(proof, origin, when));
            assert!(got.contains(want), "{what} ({}): {got}", w.backend);
        }
        // One address cannot fill the table with challenges.
        let flood = ClientInfo { address: "192.0.2.99".into(), user_agent: None };
        let made = (0..40).take_while(|_| w.svc.new_login_challenge(ORIGIN, "x", &flood, at).is_ok()).count();
        assert_eq!(made, 30, "live challenges one address may hold");
        // A certificate of a trusted CA, not revoked, but not in the registry.
        if ext_crl.is_some() {
            w.svc.trust_add(&cntt, &std::fs::read(ext.path().join("ca.pem")).unwrap(), "CA ngoài (thử nghiệm)", at).unwrap();
            let csr = csr_for(&ca, "ngoai", "CN=Người ngoài sổ,C=VN", KeyAlgorithm::EcP256);
            external_sign(ext.path(), &csr, "outsider.pem", 365);
            let outsider = kyso_pki::der_or_pem(&std::fs::read(ext.path().join("outsider.pem")).unwrap()).unwrap();
            // OpenSSL issued it on the wall clock.
            #[allow(clippy::disallowed_methods)]
            let wall = chrono::Utc::now();
            let got = why(login(CertificateProof::TlsClient { chain: vec![outsider] }, ORIGIN, wall));
            assert!(got.contains("không có trong sổ đăng ký"), "{got}");
        }
        // Revoked: the registry knows at once, the CRL after it is published.
        let serial = kyso_pki::cert::parse(&der).unwrap().1.serial_hex;
        w.svc.ca_revoke_serial(&cntt, &serial, RevocationReason::KeyCompromise, &*ca.session, at).unwrap();
        let got = why(login(CertificateProof::SignedChallenge { challenge_id: &c5.id, cms: &sign(&c5.text, &der) }, ORIGIN, at));
        assert!(got.contains("đã bị thu hồi"), "{got}");
        w.audit_ok();
    }
}

//! CRLs, OCSP responses and time-stamps, checked by OpenSSL and pkilint.

mod support;

use chrono::Duration;
use kyso_pki::cert::{self, CertProfile};
use kyso_pki::crl::{self, CrlParams, RevokedEntry};
use kyso_pki::ocsp::{self, IdHash, Responder, Status};
use kyso_pki::pem;
use kyso_pki::tsp::{self, Tsa};
use kyso_token::*;
use support::*;

#[test]
fn crls_full_and_delta_verify_and_revoke_in_openssl() {
    if openssl_bin().is_none() {
        return;
    }
    for alg in [KeyAlgorithm::EcP256, KeyAlgorithm::Rsa2048] {
        let ca = hierarchy(alg);
        let (good, _) = ca.leaf(alg, CertProfile::Individual, "good", "Người dùng tốt");
        let (bad, _) = ca.leaf(alg, CertProfile::Individual, "bad", "Người dùng bị thu hồi");
        let bad_serial = cert::parse(&bad).unwrap().0.tbs_certificate.serial_number.as_bytes().to_vec();
        let info = ca.info();
        let entries = vec![
            RevokedEntry { serial: bad_serial.clone(), revoked_at: now() - Duration::hours(1), reason: 1 },
            RevokedEntry { serial: vec![0x12, 0x34], revoked_at: now() - Duration::hours(2), reason: 0 },
        ];
        let p = CrlParams {
            issuer: info.subject.to_name().unwrap(),
            issuer_spki: &info.spki_der,
            number: 7,
            delta_of: None,
            this_update: now() - Duration::minutes(5),
            next_update: now() + Duration::days(1),
            entries: &entries,
        };
        let full = crl::build(&p, &*ca.ca_signer, alg.default_scheme()).unwrap();
        let delta =
            crl::build(&CrlParams { number: 8, delta_of: Some(7), entries: &entries[..1], ..p }, &*ca.ca_signer, alg.default_scheme())
                .unwrap();
        for (name, c) in [("full", &full), ("delta", &delta)] {
            let (ok, out) = openssl(
                &[("crl.der", c.clone()), ("ca.pem", pemc(&ca.ca))],
                &["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-noout", "-text"],
            );
            assert!(ok && out.contains("verify OK"), "{alg:?} {name}: {out}");
            if let Some(f) = support::pkilint("lint_crl", c) {
                assert_eq!(f, "", "{alg:?} {name} CRL: pkilint");
            }
        }
        let crl_pem = pem("X509 CRL", &full).into_bytes();
        let chain = [pemc(&ca.root), pemc(&ca.ca)].concat();
        let at = now().timestamp().to_string();
        for (leaf, want_ok) in [(&good, true), (&bad, false)] {
            let (ok, out) = openssl(
                &[("chain.pem", chain.clone()), ("crl.pem", crl_pem.clone()), ("leaf.pem", pemc(leaf))],
                &["verify", "-attime", &at, "-crl_check", "-CAfile", "chain.pem", "-CRLfile", "crl.pem", "leaf.pem"],
            );
            assert_eq!(ok, want_ok, "{alg:?}: {out}");
            if !want_ok {
                assert!(out.contains("certificate revoked"), "{out}");
            }
        }
    }
}

#[test]
fn ocsp_responses_verify_in_openssl_and_pass_pkilint() {
    if openssl_bin().is_none() {
        return;
    }
    let alg = KeyAlgorithm::EcP256;
    let ca = hierarchy(alg);
    let (responder_cert, responder_key) = ca.leaf(alg, CertProfile::OcspResponder, "ocsp", "OCSP Responder thử nghiệm");
    let (good, _) = ca.leaf(alg, CertProfile::Organisation, "good", "Sở A");
    let (bad, _) = ca.leaf(alg, CertProfile::Organisation, "bad", "Sở B");
    let info = ca.info();
    let serial = |c: &[u8]| cert::parse(c).unwrap().0.tbs_certificate.serial_number.as_bytes().to_vec();
    let responder = Responder { cert: &responder_cert, signer: &*responder_key, scheme: alg.default_scheme() };
    let chain = [pemc(&ca.root), pemc(&ca.ca)].concat();
    for (leaf, status, word) in
        [(&good, Status::Good, "good"), (&bad, Status::Revoked { at: now() - Duration::hours(3), reason: 1 }, "revoked")]
    {
        // OpenSSL makes the request; kyso parses it and answers with its own nonce echoed.
        let (ok, _) = openssl(
            &[("ca.pem", pemc(&ca.ca)), ("leaf.pem", pemc(leaf))],
            &["ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-reqout", "/dev/null"],
        );
        assert!(ok);
        let id = ocsp::cert_id(IdHash::Sha1, &info.subject_der, &info.spki_der, &serial(leaf)).unwrap();
        let resp = ocsp::respond(&responder, &[(id, status)], now(), now(), now() + Duration::days(1), None).unwrap();
        if let Some(f) = support::pkilint("lint_ocsp_response", &resp) {
            assert_eq!(f, "", "{word}: pkilint");
        }
        let (ok, out) = openssl(
            &[("chain.pem", chain.clone()), ("ca.pem", pemc(&ca.ca)), ("leaf.pem", pemc(leaf)), ("resp.der", resp)],
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
                &now().timestamp().to_string(),
            ],
        );
        assert!(ok && out.contains("Response verify OK") && out.contains(&format!("leaf.pem: {word}")), "{word}: {out}");
    }
    // A request parsed back: OpenSSL's own request with a nonce.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("ca.pem"), pemc(&ca.ca)).unwrap();
    std::fs::write(d.path().join("leaf.pem"), pemc(&good)).unwrap();
    let o = openssl_command()
        .current_dir(d.path())
        .args(["ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-reqout", "req.der"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let parsed = ocsp::parse_request(&std::fs::read(d.path().join("req.der")).unwrap()).unwrap();
    assert_eq!(parsed.asked.len(), 1);
    assert_eq!(parsed.asked[0].serial, serial(&good));
    assert!(parsed.nonce.is_some());
    assert!(ocsp::parse_request(b"\x30\x00").is_err());
}

#[test]
fn time_stamps_verify_with_openssl_ts() {
    if openssl_bin().is_none() {
        return;
    }
    for alg in [KeyAlgorithm::EcP256, KeyAlgorithm::Rsa2048] {
        let ca = hierarchy(alg);
        let (tsa_cert, tsa_key) = ca.leaf(alg, CertProfile::TimeStamping, "tsa", "TSA thử nghiệm");
        let chain = vec![ca.ca.clone()];
        let tsa = Tsa {
            cert: &tsa_cert,
            chain: &chain,
            signer: &*tsa_key,
            scheme: alg.default_scheme(),
            policy: const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.2.1"),
        };
        let data = "Quyết định số 123/QĐ-UBND".as_bytes().to_vec();
        // Request made by OpenSSL…
        let (ok, _) =
            openssl(&[("data.txt", data.clone())], &["ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "/dev/null"]);
        assert!(ok);
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("data.txt"), &data).unwrap();
        let o = openssl_command()
            .current_dir(d.path())
            .args(["ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "req.tsq"])
            .output()
            .unwrap();
        assert!(o.status.success());
        let req = std::fs::read(d.path().join("req.tsq")).unwrap();
        let resp = tsp::respond(&tsa, &req, &[0x01, 0x02, 0x03], now()).unwrap();
        // …and by kyso, for the same digest.
        let own = tsp::request(HashAlg::Sha256, &HashAlg::Sha256.digest(&data), Some(&[7, 7])).unwrap();
        let own_resp = tsp::respond(&tsa, &own, &[0x04], now()).unwrap();
        tsp::token_of(&own_resp).unwrap();
        for (name, r) in [("openssl request", resp), ("kyso request", own_resp)] {
            let (ok, out) = openssl(
                &[
                    ("data.txt", data.clone()),
                    ("resp.tsr", r),
                    ("root.pem", pemc(&ca.root)),
                    ("chain.pem", [pemc(&ca.ca), pemc(&tsa_cert)].concat()),
                ],
                &[
                    "ts",
                    "-verify",
                    "-data",
                    "data.txt",
                    "-in",
                    "resp.tsr",
                    "-CAfile",
                    "root.pem",
                    "-untrusted",
                    "chain.pem",
                    "-attime",
                    &now().timestamp().to_string(),
                ],
            );
            assert!(ok && out.contains("Verification: OK"), "{alg:?} {name}: {out}");
        }
        // A request with a weak hash is rejected, not stamped.
        let bad = tsp::respond(&tsa, b"garbage", &[1], now()).unwrap();
        assert!(tsp::token_of(&bad).is_err());
    }
}

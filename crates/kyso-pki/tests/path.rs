//! Certificate paths at a time, each verdict compared with `openssl verify`; revocation at a
//! time from CRLs and OCSP responses.

mod support;

use chrono::Duration;
use kyso_pki::cert::{self, CertProfile};
use kyso_pki::crl::{self, CrlParams, RevokedEntry};
use kyso_pki::ocsp::{self, IdHash, Responder, Status};
use kyso_pki::path::{self, LeafUsage, PathInput, PathProblem, Revocation};
use kyso_token::*;
use support::*;

fn kind(r: &Result<path::ValidPath, PathProblem>) -> &'static str {
    match r {
        Ok(_) => "valid",
        Err(PathProblem::NoChain(_)) => "no_chain",
        Err(PathProblem::Expired(_)) => "expired",
        Err(PathProblem::NotYetValid(_)) => "not_yet_valid",
        Err(PathProblem::BadSignature(_)) => "bad_signature",
        Err(PathProblem::Weak(_)) => "weak",
        Err(PathProblem::Constraints(_)) => "constraints",
        Err(PathProblem::Malformed(_)) => "malformed",
    }
}

fn openssl_at(root: &[u8], chain: &[Vec<u8>], leaf: &[u8], at: i64, extra: &[&str]) -> bool {
    let mut args = vec!["verify", "-x509_strict", "-CAfile", "root.pem", "-untrusted", "chain.pem"];
    let at = at.to_string();
    args.extend(["-attime", at.as_str()]);
    args.extend(extra);
    args.push("leaf.pem");
    let mut chain_pem = chain.iter().flat_map(|c| pemc(c)).collect::<Vec<u8>>();
    if chain_pem.is_empty() {
        chain_pem = pemc(root);
    }
    openssl(&[("root.pem", pemc(root)), ("chain.pem", chain_pem), ("leaf.pem", pemc(leaf))], &args).0
}

#[test]
fn paths_agree_with_openssl_verify() {
    for alg in [KeyAlgorithm::EcP256, KeyAlgorithm::Rsa2048] {
        let ca = hierarchy(alg);
        let other = hierarchy(alg);
        let (leaf, _) = ca.leaf(alg, CertProfile::Individual, "leaf", "Nguyễn Văn An");
        let (tsa, _) = ca.leaf(alg, CertProfile::TimeStamping, "tsa", "TSA thử nghiệm");
        let t = now() + Duration::days(10);
        let email: const_oid::ObjectIdentifier = "1.3.6.1.5.5.7.3.4".parse().unwrap();
        let code_signing: const_oid::ObjectIdentifier = "1.3.6.1.5.5.7.3.3".parse().unwrap();
        // (case, leaf, intermediates, anchor, time, eku, usage, expected kind, openssl args or None to skip)
        type Case<'a> = (
            &'a str,
            &'a [u8],
            Vec<Vec<u8>>,
            &'a [u8],
            chrono::DateTime<chrono::Utc>,
            Option<const_oid::ObjectIdentifier>,
            LeafUsage,
            &'a str,
            Option<Vec<&'a str>>,
        );
        let cases: Vec<Case<'_>> = vec![
            ("valid", &leaf, vec![ca.ca.clone()], &ca.root, t, None, LeafUsage::Signing, "valid", Some(vec![])),
            // The other test root has the same name: webpki finds it and its key does not verify.
            (
                "untrusted root",
                &leaf,
                vec![ca.ca.clone()],
                &other.root,
                t,
                None,
                LeafUsage::Signing,
                "no_chain|bad_signature",
                Some(vec![]),
            ),
            ("missing intermediate", &leaf, vec![], &ca.root, t, None, LeafUsage::Signing, "no_chain", Some(vec![])),
            (
                "expired",
                &leaf,
                vec![ca.ca.clone()],
                &ca.root,
                now() + Duration::days(400),
                None,
                LeafUsage::Signing,
                "expired",
                Some(vec![]),
            ),
            (
                "not yet valid",
                &leaf,
                vec![ca.ca.clone()],
                &ca.root,
                now() - Duration::days(1),
                None,
                LeafUsage::Signing,
                "not_yet_valid",
                Some(vec![]),
            ),
            (
                "required purpose present",
                &leaf,
                vec![ca.ca.clone()],
                &ca.root,
                t,
                Some(email),
                LeafUsage::Any,
                "valid",
                Some(vec!["-purpose", "smimesign"]),
            ),
            (
                "required purpose absent",
                &leaf,
                vec![ca.ca.clone()],
                &ca.root,
                t,
                Some(code_signing),
                LeafUsage::Any,
                "constraints",
                Some(vec!["-purpose", "codesign"]),
            ),
            ("a CA as the signer", &ca.ca, vec![], &ca.root, t, None, LeafUsage::Signing, "constraints", None),
            (
                "a TSA needs timeStamping",
                &leaf,
                vec![ca.ca.clone()],
                &ca.root,
                t,
                None,
                LeafUsage::TimeStamping,
                "constraints",
                Some(vec!["-purpose", "timestampsign"]),
            ),
            (
                "the TSA",
                &tsa,
                vec![ca.ca.clone()],
                &ca.root,
                t,
                None,
                LeafUsage::TimeStamping,
                "valid",
                Some(vec!["-purpose", "timestampsign"]),
            ),
        ];
        let ossl_found = openssl_bin().is_some();
        for (name, leaf, inter, anchor, at, eku, usage, expect, ossl) in cases {
            let anchors = vec![anchor.to_vec()];
            let r = path::validate(&PathInput { leaf, intermediates: &inter, anchors: &anchors, at, eku, usage });
            assert!(expect.split('|').any(|e| e == kind(&r)), "{alg:?} {name}: expected {expect}, got {:?}", r.as_ref().err());
            if let Ok(p) = &r {
                assert_eq!(p.chain.len(), 2 + inter.len().min(1), "{name}: leaf, intermediate, root");
            }
            if let Some(extra) = ossl.filter(|_| ossl_found) {
                assert_eq!(
                    openssl_at(anchor, &inter, leaf, at.timestamp(), &extra),
                    expect == "valid",
                    "{alg:?} {name}: OpenSSL disagrees"
                );
            }
        }
    }
}

#[test]
fn a_forged_leaf_and_a_weak_key_are_named() {
    let ca = hierarchy(KeyAlgorithm::EcP256);
    let forger = hierarchy(KeyAlgorithm::EcP256);
    // Same issuer name as the real CA, signed by another key.
    let tpl = cert::CertTemplate {
        profile: CertProfile::Individual,
        subject: kyso_pki::name::DistinguishedName::parse("CN=Giả mạo,C=VN").unwrap(),
        email: None,
        spki_der: forger.session.generate_key("x", KeyAlgorithm::EcP256).unwrap().public_key_spki().to_vec(),
        serial: kyso_pki::random_serial(),
        not_before: now(),
        not_after: now() + Duration::days(30),
        policies: vec![],
        urls: urls(),
    };
    let ci = ca.info();
    let forged = cert::issue(
        &tpl,
        &cert::Issuer {
            name: ci.subject.to_name().unwrap(),
            spki_der: ci.spki_der.clone(),
            signer: &*forger.ca_signer,
            scheme: SignatureScheme::EcdsaP256Sha256,
        },
    )
    .unwrap();
    let anchors = vec![ca.root.clone()];
    let inter = vec![ca.ca.clone()];
    let r = path::validate(&PathInput {
        leaf: &forged,
        intermediates: &inter,
        anchors: &anchors,
        at: now() + Duration::days(1),
        eku: None,
        usage: LeafUsage::Signing,
    });
    assert!(matches!(r, Err(PathProblem::BadSignature(_)) | Err(PathProblem::NoChain(_))), "{:?}", r.err());
    if openssl_bin().is_none() {
        return;
    }
    assert!(!openssl_at(&ca.root, &inter, &forged, (now() + Duration::days(1)).timestamp(), &[]));
    // RSA-1024 and SHA-1, made by OpenSSL, are named as too weak.
    for (name, args, word) in
        [("rsa-1024", vec!["-newkey", "rsa:1024", "-sha256"], "1024"), ("sha-1", vec!["-newkey", "rsa:2048", "-sha1"], "SHA-1")]
    {
        let d = tempfile::tempdir().unwrap();
        let mut cmd = openssl_command();
        cmd.current_dir(d.path())
            .args(["req", "-x509", "-nodes", "-keyout", "k.pem", "-out", "c.der", "-outform", "DER", "-days", "30", "-subj", "/CN=Cu/C=VN"])
            .args(&args);
        assert!(cmd.output().unwrap().status.success(), "{name}");
        let c = std::fs::read(d.path().join("c.der")).unwrap();
        let anchors = vec![c.clone()];
        // OpenSSL dates the certificate from now; a day later it is surely in force.
        let at =
            chrono::DateTime::from_timestamp(std::time::SystemTime::UNIX_EPOCH.elapsed().unwrap().as_secs() as i64 + 86_400, 0).unwrap();
        let r = path::validate(&PathInput { leaf: &c, intermediates: &[], anchors: &anchors, at, eku: None, usage: LeafUsage::Any });
        assert!(matches!(&r, Err(PathProblem::Weak(m)) if m.contains(word)), "{name}: {:?}", r.err());
    }
}

#[test]
fn revocation_is_judged_at_a_time_from_crls_and_ocsp() {
    let alg = KeyAlgorithm::EcP256;
    let ca = hierarchy(alg);
    let (leaf, _) = ca.leaf(alg, CertProfile::Individual, "leaf", "Nguyễn Văn An");
    let (other, _) = ca.leaf(alg, CertProfile::Individual, "other", "Trần Thị Bình");
    let (resp_cert, resp_key) = ca.leaf(alg, CertProfile::OcspResponder, "ocsp", "OCSP thử nghiệm");
    let info = ca.info();
    let serial = cert::parse(&leaf).unwrap().0.tbs_certificate.serial_number.as_bytes().to_vec();
    let revoked_at = now() + Duration::days(3);
    let entries = vec![RevokedEntry { serial: serial.clone(), revoked_at, reason: 1 }];
    let crl_with = |entries: &[RevokedEntry]| {
        crl::build(
            &CrlParams {
                issuer: info.subject.to_name().unwrap(),
                issuer_spki: &info.spki_der,
                number: 1,
                delta_of: None,
                this_update: now() + Duration::days(4),
                next_update: now() + Duration::days(11),
                entries,
            },
            &*ca.ca_signer,
            alg.default_scheme(),
        )
        .unwrap()
    };
    let crl = crl_with(&entries);
    assert_eq!(
        path::revocation(&leaf, &ca.ca, std::slice::from_ref(&crl), &[]),
        Revocation::Revoked { source: "CRL".into(), at: revoked_at, reason: 1 }
    );
    assert!(matches!(path::revocation(&other, &ca.ca, std::slice::from_ref(&crl), &[]), Revocation::Good { .. }));
    // A CRL signed by someone else says nothing.
    let forger = hierarchy(alg);
    let forged = crl::build(
        &CrlParams {
            issuer: info.subject.to_name().unwrap(),
            issuer_spki: &info.spki_der,
            number: 2,
            delta_of: None,
            this_update: now(),
            next_update: now() + Duration::days(1),
            entries: &[],
        },
        &*forger.ca_signer,
        alg.default_scheme(),
    )
    .unwrap();
    assert_eq!(path::revocation(&leaf, &ca.ca, &[forged], &[]), Revocation::Unknown);
    // OCSP from the delegated responder.
    let id = ocsp::cert_id(IdHash::Sha1, &info.subject_der, &info.spki_der, &serial).unwrap();
    let r = Responder { cert: &resp_cert, signer: &*resp_key, scheme: alg.default_scheme() };
    let good = ocsp::respond(&r, &[(id.clone(), Status::Good)], now(), now(), now() + Duration::days(1), None).unwrap();
    assert!(
        matches!(path::revocation(&leaf, &ca.ca, &[], std::slice::from_ref(&good)), Revocation::Good { ref source, .. } if source == "OCSP")
    );
    let revoked =
        ocsp::respond(&r, &[(id, Status::Revoked { at: revoked_at, reason: 4 })], now(), now(), now() + Duration::days(1), None).unwrap();
    assert!(matches!(path::revocation(&leaf, &ca.ca, &[], &[revoked]), Revocation::Revoked { at, reason: 4, .. } if at == revoked_at));
    // An answer about another certificate says nothing about this one.
    assert_eq!(path::revocation(&other, &ca.ca, &[], &[good]), Revocation::Unknown);
}

/// Regression: an OCSP "unknown" after a CRL's "good" used to replace it, so a certificate
/// with a fresh CRL looked as if it had no revocation information at all.
#[test]
fn ocsp_unknown_does_not_override_a_good_crl() {
    let t = now();
    let good = |s: &str, d: i64| Revocation::Good { source: s.into(), produced: t + Duration::days(d), valid_until: None };
    let revoked = |s: &str, d: i64| Revocation::Revoked { source: s.into(), at: t + Duration::days(d), reason: 1 };
    // (case, first, second, merged)
    let cases = vec![
        ("good then unknown", good("CRL", 0), Revocation::Unknown, good("CRL", 0)),
        ("unknown then good", Revocation::Unknown, good("OCSP", 0), good("OCSP", 0)),
        ("unknown twice", Revocation::Unknown, Revocation::Unknown, Revocation::Unknown),
        ("the fresher good", good("CRL", 0), good("OCSP", 1), good("OCSP", 1)),
        ("the fresher good, first", good("CRL", 2), good("OCSP", 1), good("CRL", 2)),
        ("revoked beats good", good("CRL", 5), revoked("OCSP", 1), revoked("OCSP", 1)),
        ("revoked beats a later good", revoked("CRL", 1), good("OCSP", 5), revoked("CRL", 1)),
        ("revoked beats unknown", revoked("CRL", 1), Revocation::Unknown, revoked("CRL", 1)),
        ("the earlier revocation", revoked("CRL", 3), revoked("OCSP", 1), revoked("OCSP", 1)),
    ];
    for (case, a, b, want) in cases {
        assert_eq!(a.merge(b), want, "{case}");
    }
}

#[test]
fn an_ocsp_request_and_its_get_form_name_the_certificate() {
    let alg = KeyAlgorithm::EcP256;
    let ca = hierarchy(alg);
    let (leaf, _) = ca.leaf(alg, CertProfile::Individual, "leaf", "Nguyễn Văn An");
    assert_eq!(cert::ocsp_urls(&leaf).unwrap(), vec![urls().ocsp.unwrap()]);
    assert_eq!(cert::ocsp_urls(&ca.root).unwrap(), Vec::<String>::new(), "a root names no responder");
    let req = ocsp::request_for(&leaf, &ca.ca).unwrap();
    let parsed = ocsp::parse_request(&req).unwrap();
    let serial = cert::parse(&leaf).unwrap().0.tbs_certificate.serial_number.as_bytes().to_vec();
    assert_eq!(parsed.asked.len(), 1);
    assert_eq!((parsed.asked[0].serial.clone(), parsed.asked[0].hash, parsed.nonce), (serial, Some(IdHash::Sha1), None));
    // RFC 6960 A.1: base64 in the path, with '+', '/' and '=' escaped; a trailing slash is not doubled.
    for base in ["http://ocsp.test/ocsp", "http://ocsp.test/ocsp/"] {
        let url = ocsp::get_url(base, &req);
        let tail = url.strip_prefix("http://ocsp.test/ocsp/").unwrap();
        assert!(!tail.contains(['+', '/', '=']), "{url}");
        let b64 = tail.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=");
        use base64::Engine;
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(b64).unwrap(), req);
    }
}

/// DER: a tag, a length and the content.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let n = content.len();
    let mut out = vec![tag];
    match n {
        0..=0x7f => out.push(n as u8),
        0x80..=0xff => out.extend([0x81, n as u8]),
        _ => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

#[test]
fn revocation_data_carried_in_a_cms_signature_is_read() {
    use der::Decode;
    let alg = KeyAlgorithm::EcP256;
    let ca = hierarchy(alg);
    let info = ca.info();
    let (leaf, key) = ca.leaf(alg, CertProfile::Individual, "leaf", "Nguyễn Văn An");
    let (resp_cert, resp_key) = ca.leaf(alg, CertProfile::OcspResponder, "ocsp", "OCSP thử nghiệm");
    let crl = crl::build(
        &CrlParams {
            issuer: info.subject.to_name().unwrap(),
            issuer_spki: &info.spki_der,
            number: 1,
            delta_of: None,
            this_update: now(),
            next_update: now() + Duration::days(7),
            entries: &[],
        },
        &*ca.ca_signer,
        alg.default_scheme(),
    )
    .unwrap();
    let serial = cert::parse(&leaf).unwrap().0.tbs_certificate.serial_number.as_bytes().to_vec();
    let id = ocsp::cert_id(IdHash::Sha1, &info.subject_der, &info.spki_der, &serial).unwrap();
    let r = Responder { cert: &resp_cert, signer: &*resp_key, scheme: alg.default_scheme() };
    let resp = ocsp::respond(&r, &[(id, Status::Good)], now(), now(), now() + Duration::days(1), None).unwrap();
    // RevocationInfoArchival ::= SEQUENCE { crl [0] EXPLICIT SEQUENCE OF CRL, ocsp [1] EXPLICIT SEQUENCE OF OCSPResponse }
    let archive = tlv(0x30, &[tlv(0xa0, &tlv(0x30, &crl)), tlv(0xa1, &tlv(0x30, &resp))].concat());
    let sign = |extra: Vec<x509_cert::attr::Attribute>| {
        kyso_pki::cms::sign(
            &kyso_pki::cms::SignRequest {
                content_type: kyso_pki::oids::CT_DATA,
                econtent: None,
                content_digest: HashAlg::Sha256.digest(b"van ban"),
                digest: HashAlg::Sha256,
                signer_cert: &leaf,
                chain: std::slice::from_ref(&ca.ca),
                extra_signed: extra,
            },
            &*key,
            alg.default_scheme(),
        )
        .unwrap()
    };
    let attr = x509_cert::attr::Attribute {
        oid: kyso_pki::oids::ATTR_ADBE_REVOCATION_INFO,
        values: der::asn1::SetOfVec::try_from(vec![der::Any::from_der(&archive).unwrap()]).unwrap(),
    };
    let with = kyso_pki::cms::revocation_info(&sign(vec![attr])).unwrap();
    assert_eq!((with.crls, with.ocsps), (vec![crl.clone()], vec![resp.clone()]));
    assert_eq!(kyso_pki::cms::revocation_info(&sign(vec![])).unwrap(), Default::default());
    // What is carried is judged like any other source: the CRL says "good" for the leaf.
    assert!(matches!(path::revocation(&leaf, &ca.ca, &[crl], &[]), Revocation::Good { .. }));
    // A malformed archive is skipped, not an error: the data only helps the verifier.
    let bad = x509_cert::attr::Attribute {
        oid: kyso_pki::oids::ATTR_ADBE_REVOCATION_INFO,
        values: der::asn1::SetOfVec::try_from(vec![der::Any::from_der(&tlv(0x04, b"x")).unwrap()]).unwrap(),
    };
    assert_eq!(kyso_pki::cms::revocation_info(&sign(vec![bad])).unwrap(), Default::default());
}

/// Regression: a time-stamping certificate passed as a document signer, and a certificate
/// without the timeStamping purpose passed as a time-stamp authority, were both accepted.
#[test]
fn service_certificates_keep_to_their_purpose() {
    let alg = KeyAlgorithm::EcP256;
    let ca = hierarchy(alg);
    let (signer, _) = ca.leaf(alg, CertProfile::Individual, "leaf", "Nguyễn Văn An");
    let (tsa, _) = ca.leaf(alg, CertProfile::TimeStamping, "tsa", "TSA thử nghiệm");
    let (ocsp, _) = ca.leaf(alg, CertProfile::OcspResponder, "ocsp", "OCSP thử nghiệm");
    let t = now() + Duration::days(10);
    // (case, leaf, usage, valid?)
    let cases: Vec<(&str, &[u8], LeafUsage, bool)> = vec![
        ("signer signs", &signer, LeafUsage::Signing, true),
        ("TSA stamps", &tsa, LeafUsage::TimeStamping, true),
        ("TSA does not sign documents", &tsa, LeafUsage::Signing, false),
        ("OCSP responder does not sign documents", &ocsp, LeafUsage::Signing, false),
        ("a signer does not stamp", &signer, LeafUsage::TimeStamping, false),
    ];
    let anchors = vec![ca.root.clone()];
    for (case, leaf, usage, ok) in cases {
        let inter = vec![ca.ca.clone()];
        let r = path::validate(&PathInput { leaf, intermediates: &inter, anchors: &anchors, at: t, eku: None, usage });
        assert_eq!(r.is_ok(), ok, "{case}: {:?}", r.err());
        if !ok {
            assert!(matches!(r, Err(PathProblem::Constraints(_))), "{case}");
        }
    }
}

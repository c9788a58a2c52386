//! Certificates checked by an independent implementation (OpenSSL) and by pkilint.

mod support;

use chrono::Duration;
use kyso_pki::cert::{self, CertProfile, CertTemplate, Issuer};
use kyso_pki::name::DistinguishedName;
use kyso_pki::{csr, random_serial};
use kyso_token::soft::SoftToken;
use kyso_token::*;
use support::*;

#[test]
fn a_hierarchy_and_every_subscriber_profile_verify_with_openssl() {
    for alg in KeyAlgorithm::ALL {
        let ca = hierarchy(alg);
        let (_, ca_info) = cert::parse(&ca.ca).unwrap();
        for (name, c) in [("root", &ca.root), ("issuing CA", &ca.ca)] {
            if let Some(findings) = pkilint("lint_pkix_cert", c) {
                assert_eq!(findings, "", "{alg:?} {name}: pkilint");
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let t = SoftToken::create(dir.path(), "user", &Pin::new("1234"), &Pin::new("12345678"), 10, 1000).unwrap();
        let s = t.login(&Pin::new("1234")).unwrap();
        let cases = [
            (
                CertProfile::Individual,
                "CN=Nguyễn Văn An,OU=Phòng Tin học,OU=Sở Khoa học và Công nghệ,O=Ủy ban nhân dân tỉnh Bắc Ninh,L=Bắc Ninh,C=VN",
                Some("an.nv@bacninh.gov.vn"),
                Some("smimesign"),
            ),
            (
                CertProfile::Organisation,
                "CN=Sở Khoa học và Công nghệ,O=Ủy ban nhân dân tỉnh Bắc Ninh,L=Bắc Ninh,C=VN",
                None,
                Some("sslclient"),
            ),
            (
                CertProfile::Device,
                "CN=Cổng dịch vụ công tỉnh Bắc Ninh,O=Ủy ban nhân dân tỉnh Bắc Ninh,L=Bắc Ninh,C=VN",
                None,
                Some("sslserver"),
            ),
            (CertProfile::OcspResponder, "CN=OCSP Responder,O=Ban Cơ yếu Chính phủ (thử nghiệm),C=VN", None, None),
            (CertProfile::TimeStamping, "CN=TSA thử nghiệm,O=Ban Cơ yếu Chính phủ (thử nghiệm),C=VN", None, Some("timestampsign")),
        ];
        for (i, (profile, dn, email, purpose)) in cases.into_iter().enumerate() {
            let key = s.generate_key(&format!("k{i}"), alg).unwrap();
            let subject = DistinguishedName::parse(dn).unwrap();
            let req = csr::build(&subject, &*key, alg.default_scheme()).unwrap();
            let checked = csr::check(&req).unwrap();
            assert_eq!(checked.subject, subject);
            let tpl = CertTemplate {
                profile,
                subject,
                email: email.map(String::from),
                spki_der: checked.spki_der,
                serial: random_serial(),
                not_before: now(),
                not_after: now() + Duration::days(365 * 3),
                policies: vec!["1.3.6.1.4.1.99999.1.2".into()],
                urls: urls(),
            };
            let leaf = cert::issue(
                &tpl,
                &Issuer {
                    name: ca_info.subject.to_name().unwrap(),
                    spki_der: ca_info.spki_der.clone(),
                    signer: &*ca.ca_signer,
                    scheme: alg.default_scheme(),
                },
            )
            .unwrap();
            if openssl_bin().is_some() {
                let (ok, out) = openssl_verify(&ca.root, &[&ca.ca], &leaf, purpose);
                assert!(ok, "{alg:?} {profile:?}: {out}");
            }
            if let Some(findings) = pkilint("lint_pkix_cert", &leaf) {
                assert_eq!(findings, "", "{alg:?} {profile:?}: pkilint");
            }
            let (c, info) = cert::parse(&leaf).unwrap();
            assert_eq!(info.subject.to_string(), dn);
            cert::verify_issued_by(&c, &ca_info.spki_der).unwrap();
        }
    }
}

#[test]
fn bad_csrs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = SoftToken::create(dir.path(), "u", &Pin::new("1234"), &Pin::new("12345678"), 10, 1000).unwrap();
    let s = t.login(&Pin::new("1234")).unwrap();
    let key = s.generate_key("k", KeyAlgorithm::EcP256).unwrap();
    let subject = DistinguishedName::parse("CN=Trần Thị Bình,C=VN").unwrap();
    let mut req = csr::build(&subject, &*key, SignatureScheme::EcdsaP256Sha256).unwrap();
    // Change one byte of the subject: the self-signature no longer verifies.
    let needle = "Bình".as_bytes();
    let pos = req.windows(needle.len()).position(|w| w == needle).unwrap();
    req[pos] = b'X';
    assert!(matches!(csr::check(&req), Err(kyso_pki::PkiError::BadSignature(_))));
    assert!(csr::check(b"not a csr").is_err());
    // A 1024-bit RSA key (made with OpenSSL) is too weak.
    if openssl_bin().is_none() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let o = openssl_command()
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
            "/CN=weak/C=VN",
            "-outform",
            "DER",
            "-out",
            "r.der",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let weak = std::fs::read(d.path().join("r.der")).unwrap();
    assert!(matches!(csr::check(&weak), Err(kyso_pki::PkiError::WeakKey(_))));
    // OpenSSL's own 2048-bit CSR is accepted.
    let o = openssl_command()
        .current_dir(d.path())
        .args([
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "k2.pem",
            "-subj",
            "/CN=ok/C=VN",
            "-outform",
            "DER",
            "-out",
            "r2.der",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    csr::check(&std::fs::read(d.path().join("r2.der")).unwrap()).unwrap();
}

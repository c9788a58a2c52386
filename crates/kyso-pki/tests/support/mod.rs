//! Shared helpers: a test CA on a software token, OpenSSL and pkilint runners (the tools
//! found through kyso-testkit, which honours the KYSO_TEST_REQUIRE_* flags).
#![allow(dead_code)]

use chrono::{Duration, TimeZone, Utc};
use kyso_pki::cert::{self, CertProfile, CertTemplate, Issuer, Urls};
use kyso_pki::name::{Attr, DistinguishedName};
use kyso_pki::{pem, random_serial};
use kyso_token::soft::SoftToken;
use kyso_token::*;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

/// The tests' time: the real time to the second, because OpenSSL checks OCSP responses and
/// CRLs against its own clock (`-attime` covers certificates only), so fixed dates expire.
#[allow(clippy::disallowed_methods)]
pub fn now() -> chrono::DateTime<Utc> {
    let t = Utc::now();
    Utc.timestamp_opt(t.timestamp(), 0).unwrap()
}

pub struct Ca {
    pub root: Vec<u8>,
    pub ca: Vec<u8>,
    pub ca_signer: Arc<dyn Signer>,
    pub session: Box<dyn TokenSession>,
    pub dir: tempfile::TempDir,
}

pub fn urls() -> Urls {
    Urls {
        crl: Some("http://127.0.0.1:8080/crl/ca.crl".into()),
        ocsp: Some("http://127.0.0.1:8080/ocsp".into()),
        ca_issuers: Some("http://127.0.0.1:8080/ca.crt".into()),
    }
}

pub fn hierarchy(alg: KeyAlgorithm) -> Ca {
    let dir = tempfile::tempdir().unwrap();
    let t = SoftToken::create(dir.path(), "ca", &Pin::new("1234"), &Pin::new("12345678"), 10, 1000).unwrap();
    let s = t.login(&Pin::new("1234")).unwrap();
    let root_key = s.generate_key("root", alg).unwrap();
    let ca_key = s.generate_key("ca", alg).unwrap();
    let root_dn = DistinguishedName::new()
        .push(Attr::C, "VN")
        .push(Attr::O, "Ban Cơ yếu Chính phủ (thử nghiệm)")
        .push(Attr::CN, "Root CA chuyên dùng thử nghiệm");
    let ca_dn = DistinguishedName::new()
        .push(Attr::C, "VN")
        .push(Attr::O, "Ban Cơ yếu Chính phủ (thử nghiệm)")
        .push(Attr::CN, "CA phục vụ các cơ quan Nhà nước (thử nghiệm)");
    let scheme = alg.default_scheme();
    let root_tpl = CertTemplate {
        profile: CertProfile::RootCa,
        subject: root_dn.clone(),
        email: None,
        spki_der: root_key.public_key_spki().to_vec(),
        serial: random_serial(),
        not_before: now(),
        not_after: now() + Duration::days(365 * 20),
        policies: vec![],
        urls: Urls::default(),
    };
    let root = cert::issue(
        &root_tpl,
        &Issuer { name: root_dn.to_name().unwrap(), spki_der: root_key.public_key_spki().to_vec(), signer: &*root_key, scheme },
    )
    .unwrap();
    let ca_tpl = CertTemplate {
        profile: CertProfile::IssuingCa,
        subject: ca_dn,
        email: None,
        spki_der: ca_key.public_key_spki().to_vec(),
        serial: random_serial(),
        not_before: now(),
        not_after: now() + Duration::days(365 * 15),
        policies: vec!["1.3.6.1.4.1.99999.1.1".into()],
        urls: urls(),
    };
    let ca = cert::issue(
        &ca_tpl,
        &Issuer { name: root_dn.to_name().unwrap(), spki_der: root_key.public_key_spki().to_vec(), signer: &*root_key, scheme },
    )
    .unwrap();
    Ca { root, ca, ca_signer: ca_key, session: s, dir }
}

/// OpenSSL, or None when it is not installed and KYSO_TEST_REQUIRE_TOOLS is not "1": the
/// tests skip their OpenSSL checks then.
pub fn openssl_bin() -> Option<PathBuf> {
    kyso_testkit::system_tool("openssl")
}

/// A command for OpenSSL, for a test that has checked `openssl_bin()` first.
pub fn openssl_command() -> Command {
    Command::new(openssl_bin().expect("the test checks openssl_bin() before it runs OpenSSL"))
}

pub fn openssl_verify(root: &[u8], chain: &[&[u8]], leaf: &[u8], purpose: Option<&str>) -> (bool, String) {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("root.pem"), pem("CERTIFICATE", root)).unwrap();
    std::fs::write(d.path().join("chain.pem"), chain.iter().map(|c| pem("CERTIFICATE", c)).collect::<String>()).unwrap();
    std::fs::write(d.path().join("leaf.pem"), pem("CERTIFICATE", leaf)).unwrap();
    let mut cmd = openssl_command();
    cmd.current_dir(d.path()).args([
        "verify",
        "-x509_strict",
        "-attime",
        &now().timestamp().to_string(),
        "-CAfile",
        "root.pem",
        "-untrusted",
        "chain.pem",
    ]);
    if let Some(p) = purpose {
        cmd.args(["-purpose", p]);
    }
    let o = cmd.arg("leaf.pem").output().unwrap();
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

impl Ca {
    pub fn info(&self) -> kyso_pki::cert::CertInfo {
        cert::parse(&self.ca).unwrap().1
    }
    pub fn issuer(&self, alg: KeyAlgorithm) -> Issuer<'_> {
        let i = self.info();
        Issuer { name: i.subject.to_name().unwrap(), spki_der: i.spki_der, signer: &*self.ca_signer, scheme: alg.default_scheme() }
    }
    /// Issues a certificate of `profile` for a new key `label` on the CA's own test token.
    pub fn leaf(&self, alg: KeyAlgorithm, profile: CertProfile, label: &str, cn: &str) -> (Vec<u8>, Arc<dyn Signer>) {
        let key = self.session.generate_key(label, alg).unwrap();
        let tpl = CertTemplate {
            profile,
            subject: DistinguishedName::new().push(Attr::C, "VN").push(Attr::CN, cn),
            email: None,
            spki_der: key.public_key_spki().to_vec(),
            serial: random_serial(),
            not_before: now(),
            not_after: now() + Duration::days(365),
            policies: vec![],
            urls: urls(),
        };
        (cert::issue(&tpl, &self.issuer(alg)).unwrap(), key)
    }
}

/// Writes files into a fresh directory and runs OpenSSL there.
pub fn openssl(files: &[(&str, Vec<u8>)], args: &[&str]) -> (bool, String) {
    let d = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(d.path().join(name), bytes).unwrap();
    }
    let o = openssl_command().current_dir(d.path()).args(args).output().unwrap();
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

pub fn pemc(der_bytes: &[u8]) -> Vec<u8> {
    pem("CERTIFICATE", der_bytes).into_bytes()
}

/// pkilint's findings at WARNING and above (`tool` = lint_pkix_cert, lint_crl,
/// lint_ocsp_response). None when pkilint is not installed and not required.
pub fn pkilint(tool: &str, der_bytes: &[u8]) -> Option<String> {
    let bin = kyso_testkit::pkilint(tool)?;
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("doc.der");
    std::fs::write(&f, der_bytes).unwrap();
    let extra: &[&str] = if tool == "lint_crl" { &["-t", "CRL", "-p", "PKIX"] } else { &[] };
    let o = Command::new(bin).args(["lint", "-s", "WARNING", "--document-format", "DER"]).args(extra).arg(&f).output().unwrap();
    Some(format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)).trim().to_string())
}

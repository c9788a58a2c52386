//! PAdES signatures checked by qpdf, pdfsig (poppler) and pyHanko. The tools come through
//! kyso-testkit: a missing one skips its checks, or fails the test under KYSO_TEST_REQUIRE_*.

use chrono::{Duration, Utc};
use kyso_pdf::{sign_pades, FieldSpec, Level, SignerInfo, DEFAULT_CONTENTS};
use kyso_pki::cert::{self, CertProfile, CertTemplate, Issuer, Urls};
use kyso_pki::name::{Attr, DistinguishedName};
use kyso_pki::{pem, random_serial};
use kyso_testkit::system_tool as tool;
use kyso_token::soft::SoftToken;
use kyso_token::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// pdfsig and pyHanko judge validity at the real time, so these tests use the real clock.
#[allow(clippy::disallowed_methods)]
fn real_now() -> chrono::DateTime<Utc> {
    Utc::now()
}

/// A one-page PDF with a classic cross-reference table.
pub fn sample_pdf(pages: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = vec![];
    let mut obj = |out: &mut Vec<u8>, n: usize, body: &str| {
        offsets.push((n, out.len()));
        out.extend_from_slice(format!("{n} 0 obj\n{body}\nendobj\n").as_bytes());
    };
    obj(&mut out, 1, "<< /Type /Catalog /Pages 2 0 R >>");
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    obj(&mut out, 2, &format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" ")));
    obj(&mut out, 3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
    for i in 0..pages {
        let content = format!("BT /F1 18 Tf 72 720 Td (Van ban so {i}) Tj ET");
        obj(
            &mut out,
            4 + 2 * i,
            &format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                5 + 2 * i
            ),
        );
        obj(&mut out, 5 + 2 * i, &format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()));
    }
    let n = 4 + 2 * pages;
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {n}\n0000000000 65535 f \n").as_bytes());
    offsets.sort();
    for (_, off) in &offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {n} /Root 1 0 R /ID [<0102030405060708> <0102030405060708>] >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

pub struct TestCa {
    pub root: Vec<u8>,
    pub ca: Vec<u8>,
    pub user_cert: Vec<u8>,
    pub user: Arc<dyn Signer>,
    /// A second signer (the agency), for multi-signature files.
    pub org_cert: Vec<u8>,
    pub org: Arc<dyn Signer>,
    pub tsa_cert: Vec<u8>,
    pub tsa: Arc<dyn Signer>,
    pub root_key: Arc<dyn Signer>,
    pub ca_key: Arc<dyn Signer>,
    _dir: tempfile::TempDir,
}

/// A SoftHSM2 token for this process, if the module is installed (the test script installs
/// it; KYSO_TEST_REQUIRE_SOFTHSM=1 makes its absence an error).
fn softhsm_session() -> Option<Box<dyn TokenSession>> {
    use kyso_token::pkcs11::Pkcs11Token;
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let module = kyso_testkit::softhsm_module()?;
    let dir = DIR
        .get_or_init(|| {
            let d = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(d.path().join("softhsm")).unwrap();
            let conf = d.path().join("softhsm2.conf");
            std::fs::write(
                &conf,
                format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", d.path().join("softhsm").display()),
            )
            .unwrap();
            // Set before the module is first loaded.
            std::env::set_var("SOFTHSM2_CONF", &conf);
            d
        })
        .path();
    let label = format!("pdf{}-{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
    let m = PathBuf::from(module);
    Pkcs11Token::init(&m, &label, &Pin::new("87654321"), &Pin::new("1234")).unwrap();
    Some(Pkcs11Token::open(&m, &label, &dir.join("state"), 5).unwrap().login(&Pin::new("1234")).unwrap())
}

/// The test CA with the signers' keys on the software token, and again on SoftHSM2.
pub fn test_cas(alg: KeyAlgorithm) -> Vec<(&'static str, TestCa)> {
    let mut v = vec![("software", test_ca(alg))];
    if let Some(s) = softhsm_session() {
        v.push(("softhsm2", test_ca_with(alg, Some(&*s))));
    }
    v
}

pub fn test_ca(alg: KeyAlgorithm) -> TestCa {
    test_ca_with(alg, None)
}

/// The CA keys on a software token; the signers' keys on `signers` (default: the same).
fn test_ca_with(alg: KeyAlgorithm, signers: Option<&dyn TokenSession>) -> TestCa {
    let now = real_now() - Duration::hours(1);
    let dir = tempfile::tempdir().unwrap();
    let s =
        SoftToken::create(dir.path(), "t", &Pin::new("1234"), &Pin::new("12345678"), 5, 1000).unwrap().login(&Pin::new("1234")).unwrap();
    let on = signers.unwrap_or(&*s);
    let (rk, ck, uk, ok) = (
        s.generate_key("r", alg).unwrap(),
        s.generate_key("c", alg).unwrap(),
        on.generate_key("u", alg).unwrap(),
        on.generate_key("o", alg).unwrap(),
    );
    let rdn = DistinguishedName::new().push(Attr::C, "VN").push(Attr::CN, "Root thử nghiệm");
    let cdn = DistinguishedName::new().push(Attr::C, "VN").push(Attr::CN, "CA thử nghiệm");
    let tpl = |p, dn: &DistinguishedName, k: &Arc<dyn Signer>, years: i64| CertTemplate {
        profile: p,
        subject: dn.clone(),
        email: None,
        spki_der: k.public_key_spki().to_vec(),
        serial: random_serial(),
        not_before: now,
        not_after: now + Duration::days(365 * years),
        policies: vec![],
        urls: Urls::default(),
    };
    let sch = alg.default_scheme();
    let root = cert::issue(
        &tpl(CertProfile::RootCa, &rdn, &rk, 10),
        &Issuer { name: rdn.to_name().unwrap(), spki_der: rk.public_key_spki().to_vec(), signer: &*rk, scheme: sch },
    )
    .unwrap();
    let ca = cert::issue(
        &tpl(CertProfile::IssuingCa, &cdn, &ck, 8),
        &Issuer { name: rdn.to_name().unwrap(), spki_der: rk.public_key_spki().to_vec(), signer: &*rk, scheme: sch },
    )
    .unwrap();
    let udn = DistinguishedName::parse("CN=Nguyễn Văn An,OU=Sở Nội vụ,O=Ủy ban nhân dân tỉnh Bắc Ninh,L=Bắc Ninh,C=VN").unwrap();
    let user_cert = cert::issue(
        &tpl(CertProfile::Individual, &udn, &uk, 2),
        &Issuer { name: cdn.to_name().unwrap(), spki_der: ck.public_key_spki().to_vec(), signer: &*ck, scheme: sch },
    )
    .unwrap();
    let odn = DistinguishedName::parse("CN=Sở Nội vụ,O=Ủy ban nhân dân tỉnh Bắc Ninh,L=Bắc Ninh,C=VN").unwrap();
    let org_cert = cert::issue(
        &tpl(CertProfile::Organisation, &odn, &ok, 2),
        &Issuer { name: cdn.to_name().unwrap(), spki_der: ck.public_key_spki().to_vec(), signer: &*ck, scheme: sch },
    )
    .unwrap();
    let tk = s.generate_key("tsa", alg).unwrap();
    let tdn = DistinguishedName::parse("CN=TSA thử nghiệm,C=VN").unwrap();
    let tsa_cert = cert::issue(
        &tpl(CertProfile::TimeStamping, &tdn, &tk, 2),
        &Issuer { name: cdn.to_name().unwrap(), spki_der: ck.public_key_spki().to_vec(), signer: &*ck, scheme: sch },
    )
    .unwrap();
    TestCa { root, ca, user_cert, user: uk, org_cert, org: ok, tsa_cert, tsa: tk, root_key: rk, ca_key: ck, _dir: dir }
}

/// Runs a tool found by kyso-testkit in `dir`: success and the output.
fn run(dir: &Path, prog: &Path, args: &[&str]) -> (bool, String) {
    let o = Command::new(prog).current_dir(dir).args(args).output().unwrap_or_else(|e| panic!("{}: {e}", prog.display()));
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

/// Checks a signed file with qpdf, pdfsig (with the root trusted in an NSS database) and
/// pyHanko (with the root as trust anchor).
pub fn check_all(pdf: &[u8], ca: &TestCa, signatures: usize) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    if let Ok(keep) = std::env::var("KYSO_KEEP_PDF") {
        std::fs::write(&keep, pdf).unwrap();
        std::fs::write(format!("{keep}.root.pem"), pem("CERTIFICATE", &ca.root)).unwrap();
    }
    std::fs::write(p.join("doc.pdf"), pdf).unwrap();
    std::fs::write(p.join("root.pem"), pem("CERTIFICATE", &ca.root)).unwrap();
    if let Some(qpdf) = tool("qpdf") {
        let (ok, out) = run(p, &qpdf, &["--check", "doc.pdf"]);
        assert!(ok && out.contains("No syntax or stream encoding errors"), "qpdf: {out}");
    }
    if let (Some(certutil), Some(pdfsig)) = (tool("certutil"), tool("pdfsig")) {
        std::fs::create_dir_all(p.join("nss")).unwrap();
        run(p, &certutil, &["-N", "-d", "sql:nss", "--empty-password"]);
        let (ok, out) = run(p, &certutil, &["-A", "-d", "sql:nss", "-n", "root", "-t", "CT,C,C", "-i", "root.pem"]);
        assert!(ok, "certutil: {out}");
        let (_, out) = run(p, &pdfsig, &["-nssdir", "sql:nss", "doc.pdf"]);
        assert_eq!(out.matches("Signature Validation: Signature is Valid.").count(), signatures, "pdfsig: {out}");
        assert_eq!(out.matches("Certificate Validation: Certificate is Trusted.").count(), signatures, "pdfsig: {out}");
        assert!(out.contains("Total document signed"), "pdfsig: the last signature covers the whole file: {out}");
    }
    if let Some(hanko) = kyso_testkit::pyhanko() {
        let (ok, out) = run(
            p,
            &hanko,
            &["sign", "validate", "--pretty-print", "--trust", "root.pem", "--trust-replace", "--no-revocation-check", "doc.pdf"],
        );
        assert!(ok, "pyhanko: {out}");
        assert_eq!(out.matches("The signature is judged VALID.").count(), signatures, "pyhanko: {out}");
        assert_eq!(out.matches("The signer's certificate is trusted.").count(), signatures, "pyhanko: {out}");
        // Earlier signatures: the later revisions are signing and form filling only.
        assert_eq!(
            out.matches("All modifications relate to signing and form filling operations").count(),
            signatures - 1,
            "pyhanko: {out}"
        );
    }
}

fn spec(name: &str) -> FieldSpec {
    FieldSpec {
        page: 1,
        name: name.into(),
        placement: kyso_pdf::Placement::Invisible,
        appearance: None,
        reason: Some("Ký ban hành".into()),
        location: Some("Bắc Ninh".into()),
        signing_time: real_now(),
        contents_size: DEFAULT_CONTENTS,
        sub_filter: "ETSI.CAdES.detached",
        fills: vec![],
    }
}

#[test]
fn sequential_signatures_on_classic_and_xref_stream_files_stay_valid() {
    for (_, ca) in [KeyAlgorithm::Rsa2048, KeyAlgorithm::EcP256].into_iter().flat_map(test_cas) {
        let chain = vec![ca.ca.clone()];
        let who = SignerInfo { signer: &*ca.user, cert: &ca.user_cert, chain: &chain };
        // pdfsig (NSS) cannot re-validate one certificate used twice in a file (it says the
        // same of pyHanko's files); real signing orders have different signers anyway.
        let agency = SignerInfo { signer: &*ca.org, cert: &ca.org_cert, chain: &chain };
        let mut inputs = vec![("classic", sample_pdf(2))];
        // The same document rewritten by qpdf with object and cross-reference streams.
        if let Some(qpdf) = tool("qpdf") {
            let d = tempfile::tempdir().unwrap();
            std::fs::write(d.path().join("in.pdf"), &inputs[0].1).unwrap();
            let (ok, out) = run(d.path(), &qpdf, &["--object-streams=generate", "in.pdf", "streams.pdf"]);
            assert!(ok, "{out}");
            inputs.push(("xref streams", std::fs::read(d.path().join("streams.pdf")).unwrap()));
        }
        for (kind, input) in inputs {
            let once = sign_pades(&input, &spec("Signature1"), &who, Level::B, None).unwrap();
            assert!(once.starts_with(&input), "{kind}: the original bytes are untouched");
            let twice = sign_pades(&once, &spec("Signature2"), &agency, Level::B, None).unwrap();
            assert!(twice.starts_with(&once));
            check_all(&twice, &ca, 2);
            // The same field name twice is refused.
            assert!(sign_pades(&twice, &spec("Signature1"), &who, Level::B, None).is_err(), "{kind}");
        }
    }
}

#[test]
fn unsafe_inputs_are_refused() {
    let ca = test_ca(KeyAlgorithm::EcP256);
    let who = SignerInfo { signer: &*ca.user, cert: &ca.user_cert, chain: &[] };
    let good = sample_pdf(1);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not a PDF", b"hello".to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        (
            "broken xref offset",
            String::from_utf8_lossy(&good)
                .replace(&format!("startxref\n{}", good.windows(4).rposition(|w| w == b"xref").unwrap()), "startxref\n12")
                .into_bytes(),
        ),
        ("encrypted", String::from_utf8_lossy(&good).replace("/Root 1 0 R", "/Root 1 0 R /Encrypt << /Filter /Standard >>").into_bytes()),
        ("no such page", good.clone()),
    ];
    for (name, input) in cases {
        let mut s = spec("S");
        if name == "no such page" {
            s.page = 5;
        }
        let r = sign_pades(&input, &s, &who, Level::B, None);
        assert!(r.is_err(), "{name}");
    }
}

/// Restricted documents (encrypted, opened without a password) are read for verification, with
/// every variant of the standard security handler, and never written to.
#[test]
fn encrypted_documents_are_read_with_the_empty_password_and_never_signed() {
    let Some(qpdf) = tool("qpdf") else { return };
    let dir = tempfile::tempdir().unwrap();
    let plain = sample_pdf(2);
    std::fs::write(dir.path().join("plain.pdf"), &plain).unwrap();
    let original = kyso_pdf::reader::PdfDoc::open(&plain).unwrap();
    let content_of = |doc: &kyso_pdf::reader::PdfDoc<'_>, page: usize| -> Vec<u8> {
        let page = doc.get(doc.pages().unwrap()[page]).unwrap();
        let contents = page.as_dict().and_then(|d| d.get(b"Contents".as_slice())).unwrap().clone();
        match doc.resolve(&contents).unwrap() {
            kyso_pdf::object::Obj::Stream(d, raw) => kyso_pdf::reader::decode_stream(&d, &raw).unwrap(),
            other => panic!("{other:?}"),
        }
    };
    // (case, qpdf encryption arguments, whether kyso can open it without a password)
    let cases: &[(&str, &[&str], bool)] = &[
        ("RC4 40-bit, revision 2", &["--allow-weak-crypto", "--encrypt", "", "owner", "40", "--"], true),
        ("RC4 128-bit, revision 3", &["--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--"], true),
        ("AES-128, revision 4", &["--encrypt", "", "owner", "128", "--use-aes=y", "--"], true),
        ("AES-128 with object streams", &["--object-streams=generate", "--encrypt", "", "owner", "128", "--use-aes=y", "--"], true),
        ("AES-256, revision 5", &["--allow-weak-crypto", "--encrypt", "", "owner", "256", "--force-R5", "--"], true),
        ("AES-256, revision 6", &["--encrypt", "", "owner", "256", "--"], true),
        ("AES-256, clear-text metadata", &["--encrypt", "", "owner", "256", "--cleartext-metadata", "--"], true),
        ("a password is needed to open", &["--encrypt", "mật-khẩu", "owner", "256", "--"], false),
    ];
    for (name, args, opens) in cases {
        let out = dir.path().join("enc.pdf");
        let o = Command::new(&qpdf).args(*args).arg(dir.path().join("plain.pdf")).arg(&out).output().unwrap();
        assert!(o.status.code() == Some(0) || o.status.code() == Some(3), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let enc = std::fs::read(&out).unwrap();
        match kyso_pdf::reader::PdfDoc::read(&enc) {
            Ok(doc) => {
                assert!(opens, "{name}: opened without the password");
                assert!(doc.is_encrypted(), "{name}");
                assert_eq!(doc.pages().unwrap().len(), 2, "{name}");
                for page in 0..2 {
                    assert_eq!(content_of(&doc, page), content_of(&original, page), "{name}: page {page}");
                }
            }
            Err(e) => {
                assert!(!opens, "{name}: {e}");
                assert!(matches!(e, kyso_pdf::PdfError::PasswordRequired), "{name}: {e}");
            }
        }
        // Writing into it is refused, whatever the variant.
        assert!(matches!(kyso_pdf::reader::PdfDoc::open(&enc), Err(kyso_pdf::PdfError::Encrypted)), "{name}");
    }
}

#[test]
fn b_t_signatures_carry_a_time_stamp_that_verifiers_accept() {
    let ca = test_ca(KeyAlgorithm::EcP256);
    let chain = vec![ca.ca.clone()];
    let who = SignerInfo { signer: &*ca.user, cert: &ca.user_cert, chain: &chain };
    let tsa_chain = vec![ca.ca.clone()];
    let tsa = |req: &[u8]| -> Result<Vec<u8>, String> {
        let t = kyso_pki::tsp::Tsa {
            cert: &ca.tsa_cert,
            chain: &tsa_chain,
            signer: &*ca.tsa,
            scheme: SignatureScheme::EcdsaP256Sha256,
            policy: const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.84.1.2"),
        };
        kyso_pki::tsp::respond(&t, req, &[1, 2, 3], real_now()).map_err(|e| e.to_string())
    };
    let signed = sign_pades(&sample_pdf(1), &spec("Signature1"), &who, Level::T, Some(&tsa)).unwrap();
    check_all(&signed, &ca, 1);
    // pyHanko sees the signature time-stamp.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("doc.pdf"), &signed).unwrap();
    std::fs::write(d.path().join("root.pem"), pem("CERTIFICATE", &ca.root)).unwrap();
    if let Some(hanko) = kyso_testkit::pyhanko() {
        let (ok, out) = run(
            d.path(),
            &hanko,
            &["sign", "validate", "--pretty-print", "--trust", "root.pem", "--trust-replace", "--no-revocation-check", "doc.pdf"],
        );
        assert!(ok && out.contains("The signature is judged VALID."), "{out}");
        assert!(out.contains("Signature timestamp token") || out.contains("timestamp"), "pyhanko reports the time-stamp: {out}");
    }
    // The CMS itself, extracted from /Contents, verifies in OpenSSL over the signed ranges.
    let (a, b) = {
        let s = String::from_utf8_lossy(&signed);
        let i = s.rfind("/ByteRange [").unwrap() + 12;
        let nums: Vec<usize> = s[i..].split(']').next().unwrap().split_whitespace().map(|x| x.parse().unwrap()).collect();
        (nums[1], nums[2])
    };
    // The DER length from its header (30 82 hi lo), not by trimming the zero padding.
    let padded = hex::decode(&signed[a + 1..b - 1]).unwrap();
    assert_eq!(&padded[..2], &[0x30, 0x82]);
    let len = 4 + ((padded[2] as usize) << 8 | padded[3] as usize);
    std::fs::write(d.path().join("sig.der"), &padded[..len]).unwrap();
    std::fs::write(d.path().join("content.bin"), [&signed[..a], &signed[b..]].concat()).unwrap();
    std::fs::write(d.path().join("chain.pem"), [pem("CERTIFICATE", &ca.root), pem("CERTIFICATE", &ca.ca)].concat()).unwrap();
    if let Some(openssl) = tool("openssl") {
        let (ok, out) = run(
            d.path(),
            &openssl,
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                "sig.der",
                "-content",
                "content.bin",
                "-CAfile",
                "chain.pem",
                "-purpose",
                "any",
                "-out",
                "/dev/null",
            ],
        );
        assert!(ok && out.contains("Verification successful"), "openssl cms: {out}");
    }
    // A TSA that fails is an error, not an unstamped signature.
    let down = |_: &[u8]| -> Result<Vec<u8>, String> { Err("không kết nối được".into()) };
    assert!(sign_pades(&sample_pdf(1), &spec("Signature1"), &who, Level::T, Some(&down)).is_err());
}

use kyso_pdf::samples::{seal_png, signature_png};

/// The text poppler extracts, or None without pdftotext.
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let pdftotext = tool("pdftotext")?;
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.pdf"), pdf).unwrap();
    let (ok, out) = run(d.path(), &pdftotext, &["a.pdf", "-"]);
    assert!(ok, "{out}");
    Some(out)
}

#[test]
fn decree_30_appearances_show_real_vietnamese_text_and_images() {
    for (token, ca) in test_cas(KeyAlgorithm::Rsa2048) {
        appearances_on(token, &ca);
    }
}

fn appearances_on(token: &str, ca: &TestCa) {
    use kyso_pdf::decree30::{iso_time, layout, CopyType, Kind};
    let chain = vec![ca.ca.clone()];
    let leader = SignerInfo { signer: &*ca.user, cert: &ca.user_cert, chain: &chain };
    let agency = SignerInfo { signer: &*ca.org, cert: &ca.org_cert, chain: &chain };
    let now = real_now();
    let personal_rect = [330.0, 520.0, 500.0, 580.0];
    let with = |kind: &Kind, name: &str| {
        let (page, placement, appearance) = layout(kind, 1, now).unwrap();
        FieldSpec { page, placement, appearance, ..spec(name) }
    };
    let renders = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/appearance-renders");
    std::fs::create_dir_all(&renders).unwrap();
    // (name, signatures in order with "by the agency", the text that must be extracted)
    type Case = (&'static str, Vec<(Kind, bool)>, Vec<String>);
    let cases: Vec<Case> = vec![
        (
            "leader-then-agency",
            vec![
                (Kind::Personal { signature_png: signature_png(), rect: personal_rect }, false),
                (Kind::Agency { seal_png: seal_png(), seal_mm: 35.0, personal_rect, agency: "Sở Nội vụ tỉnh Bắc Ninh".into() }, true),
            ],
            vec!["Sở Nội vụ tỉnh Bắc Ninh".into(), iso_time(now)],
        ),
        (
            "copy",
            vec![(Kind::Copy { copy_type: CopyType::SaoLuc, agency: "Văn phòng Ủy ban nhân dân tỉnh Bắc Ninh".into() }, true)],
            vec!["SAO LỤC".into(), "Văn phòng Ủy ban nhân dân tỉnh Bắc Ninh".into(), iso_time(now)],
        ),
        (
            "digitised",
            vec![(Kind::Digitised { seal_png: seal_png(), seal_mm: 35.0, agency: "Trung tâm Lưu trữ lịch sử tỉnh".into() }, true)],
            vec!["Trung tâm Lưu trữ lịch sử tỉnh".into(), iso_time(now)],
        ),
        ("attachment", vec![(Kind::Attachment { number: "Số: 123/QĐ-UBND".into() }, true)], vec!["Số: 123/QĐ-UBND".into(), iso_time(now)]),
    ];
    for (name, steps, expect) in cases {
        let mut pdf = sample_pdf(1);
        for (i, (kind, by_agency)) in steps.iter().enumerate() {
            let who = if *by_agency { &agency } else { &leader };
            pdf = sign_pades(&pdf, &with(kind, &format!("Chữ ký {}", i + 1)), who, Level::B, None).unwrap();
        }
        check_all(&pdf, ca, steps.len());
        if let Some(text) = pdftotext(&pdf) {
            for e in &expect {
                assert!(text.contains(e.as_str()), "{token} {name}: '{e}' extracted exactly: {text}");
            }
        }
        std::fs::write(renders.join(format!("{name}.pdf")), &pdf).unwrap();
        if let Some(pdftoppm) = tool("pdftoppm") {
            let (ok, out) = run(&renders, &pdftoppm, &["-r", "60", "-png", "-singlefile", &format!("{name}.pdf"), name]);
            assert!(ok, "{out}");
        }
    }
    // An appearance image that is not a PNG is refused.
    let bad = Kind::Personal { signature_png: b"GIF89a....".to_vec(), rect: personal_rect };
    assert!(layout(&bad, 1, now).is_err());
}

/// The share of pixels that differ noticeably between two renders of the same size.
fn pixel_difference(a: &[u8], b: &[u8]) -> f64 {
    let dec = |bytes: &[u8]| {
        let mut d = png::Decoder::new(std::io::Cursor::new(bytes));
        d.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut r = d.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        (info.width, info.height, info.color_type.samples(), buf[..info.buffer_size()].to_vec())
    };
    let (wa, ha, ca, pa) = dec(a);
    let (wb, hb, cb, pb) = dec(b);
    if (wa, ha, ca) != (wb, hb, cb) {
        return 1.0;
    }
    let differing = pa.chunks(ca).zip(pb.chunks(cb)).filter(|(x, y)| x.iter().zip(y.iter()).any(|(p, q)| p.abs_diff(*q) > 48)).count();
    differing as f64 / f64::from(wa * ha)
}

#[test]
fn appearance_renders_match_the_reviewed_golden_images() {
    use kyso_pdf::decree30::{layout, CopyType, Kind};
    let Some(pdftoppm) = tool("pdftoppm") else { return };
    // A fixed time so the rendered text is stable; validity is checked by the other tests.
    let at = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00+07:00").unwrap().with_timezone(&Utc);
    let ca = test_ca(KeyAlgorithm::EcP256);
    let who = SignerInfo { signer: &*ca.user, cert: &ca.user_cert, chain: &[] };
    let personal_rect = [330.0, 520.0, 500.0, 580.0];
    let kinds = [
        ("personal", Kind::Personal { signature_png: signature_png(), rect: personal_rect }),
        ("agency", Kind::Agency { seal_png: seal_png(), seal_mm: 35.0, personal_rect, agency: "Sở Nội vụ tỉnh Bắc Ninh".into() }),
        ("copy", Kind::Copy { copy_type: CopyType::SaoY, agency: "Văn phòng Ủy ban nhân dân tỉnh Bắc Ninh".into() }),
        ("digitised", Kind::Digitised { seal_png: seal_png(), seal_mm: 35.0, agency: "Trung tâm Lưu trữ lịch sử tỉnh".into() }),
        ("attachment", Kind::Attachment { number: "Số: 123/QĐ-UBND".into() }),
    ];
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var("KYSO_UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    for (name, kind) in kinds {
        let (page, placement, appearance) = layout(&kind, 1, at).unwrap();
        let spec = FieldSpec { page, placement, appearance, signing_time: at, ..spec("Chữ ký") };
        let pdf = sign_pades(&sample_pdf(1), &spec, &who, Level::B, None).unwrap();
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.pdf"), &pdf).unwrap();
        let (ok, out) = run(d.path(), &pdftoppm, &["-r", "50", "-png", "-singlefile", "a.pdf", "render"]);
        assert!(ok, "{out}");
        let render = std::fs::read(d.path().join("render.png")).unwrap();
        let path = golden.join(format!("{name}.png"));
        if update || !path.exists() {
            assert!(update, "no golden image {}: run with KYSO_UPDATE_GOLDEN=1, look at it, and commit it", path.display());
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&path, &render).unwrap();
            continue;
        }
        let diff = pixel_difference(&render, &std::fs::read(&path).unwrap());
        assert!(diff < 0.005, "{name}: {:.2}% of pixels differ from {}", diff * 100.0, path.display());
    }
}

/// An empty CRL from `issuer` (its certificate and key), valid for a week from now.
fn crl_of(issuer_cert: &[u8], key: &Arc<dyn Signer>) -> Vec<u8> {
    let (_, info) = cert::parse(issuer_cert).unwrap();
    let now = real_now() - Duration::minutes(10);
    let p = kyso_pki::crl::CrlParams {
        issuer: info.subject.to_name().unwrap(),
        issuer_spki: &info.spki_der,
        number: 1,
        delta_of: None,
        this_update: now,
        next_update: now + Duration::days(7),
        entries: &[],
    };
    kyso_pki::crl::build(&p, &**key, key.key_algorithm().default_scheme()).unwrap()
}

#[test]
fn b_lt_and_b_lta_add_validation_data_and_a_document_time_stamp() {
    let ca = test_ca(KeyAlgorithm::EcP256);
    let chain = vec![ca.ca.clone()];
    let who = SignerInfo { signer: &*ca.user, cert: &ca.user_cert, chain: &chain };
    let tsa_chain = vec![ca.ca.clone()];
    let tsa = |req: &[u8]| -> Result<Vec<u8>, String> {
        let t = kyso_pki::tsp::Tsa {
            cert: &ca.tsa_cert,
            chain: &tsa_chain,
            signer: &*ca.tsa,
            scheme: SignatureScheme::EcdsaP256Sha256,
            policy: const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.84.1.2"),
        };
        kyso_pki::tsp::respond(&t, req, &kyso_pki::random_serial(), real_now()).map_err(|e| e.to_string())
    };
    let bt = sign_pades(&sample_pdf(1), &spec("Signature1"), &who, Level::T, Some(&tsa)).unwrap();
    let vd = kyso_pdf::ltv::ValidationData {
        certs: vec![ca.root.clone(), ca.ca.clone(), ca.user_cert.clone(), ca.tsa_cert.clone()],
        crls: vec![crl_of(&ca.ca, &ca.ca_key), crl_of(&ca.root, &ca.root_key)],
        ocsps: vec![],
    };
    let lt = kyso_pdf::ltv::add_dss(&bt, &vd).unwrap();
    assert!(lt.starts_with(&bt));
    let lta = kyso_pdf::ltv::add_document_timestamp(&lt, &tsa, "Dấu thời gian tài liệu").unwrap();
    assert!(lta.starts_with(&lt));
    // kyso's own check: the DSS and the document time-stamp are allowed later changes.
    let checks = kyso_pdf::verify::check_signatures(&lta).unwrap();
    assert_eq!(checks.len(), 2);
    assert!(checks.iter().all(|c| c.is_intact()), "{:?}", checks.iter().map(|c| c.summary()).collect::<Vec<_>>());
    assert_eq!(checks[1].kind, kyso_pdf::verify::SigKind::DocTimeStamp);
    assert!(checks[0].timestamp.is_some() && checks[1].timestamp.is_some() && checks[1].covers_whole_file);
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("lta.pdf"), &lta).unwrap();
    if let Ok(keep) = std::env::var("KYSO_KEEP_PDF") {
        std::fs::write(&keep, &lta).unwrap();
        std::fs::write(format!("{keep}.bt.pdf"), &bt).unwrap();
        std::fs::write(format!("{keep}.root.pem"), pem("CERTIFICATE", &ca.root)).unwrap();
    }
    std::fs::write(d.path().join("root.pem"), pem("CERTIFICATE", &ca.root)).unwrap();
    if let Some(qpdf) = tool("qpdf") {
        let (ok, out) = run(d.path(), &qpdf, &["--check", "lta.pdf"]);
        assert!(ok, "{out}");
    }
    if let Some(py) = kyso_testkit::pyhanko_python() {
        std::fs::write(d.path().join("bt.pdf"), &bt).unwrap();
        // Revocation data only from the file's DSS: no fetching, revocation required.
        std::fs::write(
            d.path().join("lta.py"),
            r#"
import sys
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.keys import load_cert_from_pemder
root = load_cert_from_pemder('root.pem')
for name in ['lta.pdf', 'bt.pdf']:
    with open(name, 'rb') as f:
        r = PdfFileReader(f)
        try:
            dss = DocumentSecurityStore.read_dss(r)
            vc = dss.as_validation_context({'trust_roots': [root], 'allow_fetching': False, 'revocation_mode': 'require'})
        except Exception:
            from pyhanko_certvalidator import ValidationContext
            vc = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode='require', crls=[], ocsps=[])
        sigs = r.embedded_signatures
        try:
            print(name, 'SIGNATURE', validate_pdf_signature(sigs[0], vc).bottom_line)
        except Exception as e:
            print(name, 'SIGNATURE False', type(e).__name__)
        if len(sigs) > 1:
            ts = validate_pdf_timestamp(sigs[-1], vc)
            print(name, 'DOCTIMESTAMP', ts.valid and ts.intact and ts.trusted)
"#,
        )
        .unwrap();
        let (ok, out) = run(d.path(), &py, &["lta.py"]);
        assert!(ok, "{out}");
        assert!(out.contains("lta.pdf SIGNATURE True") && out.contains("lta.pdf DOCTIMESTAMP True"), "pyHanko with the DSS only: {out}");
        assert!(out.contains("bt.pdf SIGNATURE False"), "without a DSS the same check fails: {out}");
    }
}

/// Appends an incremental update that (re)defines `objects`, as an editor would.
fn append_update(pdf: &[u8], objects: &[(u32, &str)]) -> Vec<u8> {
    let mut out = pdf.to_vec();
    let prev =
        String::from_utf8_lossy(&pdf[pdf.len() - 40..]).split("startxref").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let doc = kyso_pdf::reader::PdfDoc::open(pdf).unwrap();
    let size = doc.size().max(objects.iter().map(|o| o.0 + 1).max().unwrap_or(0));
    let mut offsets = vec![];
    for (n, body) in objects {
        offsets.push((*n, out.len()));
        out.extend_from_slice(format!("{n} 0 obj\n{body}\nendobj\n").as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n");
    for (n, off) in offsets {
        out.extend_from_slice(format!("{n} 1\n{off:010} 00000 n\r\n").as_bytes());
    }
    out.extend_from_slice(format!("trailer\n<< /Size {size} /Root 1 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    out
}

#[test]
fn own_signature_check_finds_tampering_and_later_changes() {
    let ca = test_ca(KeyAlgorithm::EcP256);
    let chain = vec![ca.ca.clone()];
    let who = SignerInfo { signer: &*ca.user, cert: &ca.user_cert, chain: &chain };
    let agency = SignerInfo { signer: &*ca.org, cert: &ca.org_cert, chain: &chain };
    let once = sign_pades(&sample_pdf(1), &spec("Signature1"), &who, Level::B, None).unwrap();
    let twice = sign_pades(&once, &spec("Signature2"), &agency, Level::B, None).unwrap();
    let checks = kyso_pdf::verify::check_signatures(&twice).unwrap();
    assert_eq!(checks.len(), 2);
    assert!(checks.iter().all(|c| c.is_intact()), "{:?}", checks.iter().map(|c| c.summary()).collect::<Vec<_>>());
    assert!(!checks[0].covers_whole_file && checks[1].covers_whole_file);
    assert_eq!(checks[0].signer_cert.as_deref(), Some(&ca.user_cert[..]));
    assert_eq!(checks[1].signer_cert.as_deref(), Some(&ca.org_cert[..]));
    assert_eq!(checks[0].reason.as_deref(), Some("Ký ban hành"));

    let page_text = "BT /F1 18 Tf 72 720 Td (Van ban da bi sua) Tj ET";
    let page_with_annot = {
        use kyso_pdf::object::{write, Obj};
        let doc = kyso_pdf::reader::PdfDoc::open(&twice).unwrap();
        let mut page = doc.get((4, 0)).unwrap().as_dict().unwrap().clone();
        let mut annots = page[&b"Annots".to_vec()].as_array().unwrap().clone();
        annots.push(Obj::Ref((20, 0)));
        page.insert(b"Annots".to_vec(), Obj::Array(annots));
        let mut out = vec![];
        write(&Obj::Dict(page), &mut out);
        String::from_utf8(out).unwrap()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a byte of the content changed",
            {
                let mut t = twice.clone();
                let at = t.windows(9).position(|w| w == b"Van ban s").unwrap();
                t[at] = b'X';
                t
            },
            "thay đổi",
        ),
        (
            "page content replaced later",
            append_update(&twice, &[(5, &format!("<< /Length {} >>\nstream\n{page_text}\nendstream", page_text.len()))]),
            "đối tượng 5",
        ),
        (
            "a note annotation added later",
            append_update(
                &twice,
                &[(20, "<< /Type /Annot /Subtype /FreeText /Rect [0 0 100 100] /Contents (x) >>"), (4, &page_with_annot)],
            ),
            "FreeText",
        ),
    ];
    for (name, pdf, expect) in cases {
        let checks = kyso_pdf::verify::check_signatures(&pdf).unwrap();
        let first = &checks[0];
        assert!(!first.is_intact(), "{name}: {}", first.summary());
        let said = format!("{:?} {:?}", first.problems, first.later_changes);
        assert!(said.contains(expect), "{name}: {said}");
    }
}

#[test]
fn issued_document_signed_at_the_title_anchor_then_numbered_and_sealed() {
    for (_, ca) in test_cas(KeyAlgorithm::Rsa2048) {
        issued_document_on(&ca);
    }
}

fn issued_document_on(ca: &TestCa) {
    use kyso_pdf::decree30::{layout, number_and_date_fields, number_and_date_fills, Kind};
    let chain = vec![ca.ca.clone()];
    let leader = SignerInfo { signer: &*ca.user, cert: &ca.user_cert, chain: &chain };
    let agency = SignerInfo { signer: &*ca.org, cert: &ca.org_cert, chain: &chain };
    let now = real_now();
    let draft = kyso_pdf::draft::Nd30Draft {
        parent_agency: "UBND TỈNH BẮC NINH".into(),
        agency: "SỞ NỘI VỤ".into(),
        symbol: "QĐ-SNV".into(),
        place: "Bắc Ninh".into(),
        year: 2026,
        kind: "QUYẾT ĐỊNH".into(),
        title: "Về việc cử cán bộ tham dự tập huấn chữ ký số".into(),
        body: vec!["Điều 1. Cử ông Trần Văn Bình tham dự lớp tập huấn.".into()],
        signer_titles: vec!["KT. GIÁM ĐỐC".into(), "PHÓ GIÁM ĐỐC".into()],
        signer_name: "Nguyễn Văn An".into(),
        recipients: vec!["Như Điều 1".into(), "Lưu: VT".into()],
    }
    .to_pdf()
    .unwrap();
    // Registering the draft reserves the blanks for the number and date as fields.
    let fields = number_and_date_fields(&kyso_pdf::reader::PdfDoc::open(&draft).unwrap()).unwrap();
    let draft = kyso_pdf::form::add_text_fields(&draft, &fields).unwrap();
    let doc = kyso_pdf::reader::PdfDoc::open(&draft).unwrap();
    let title = kyso_pdf::text::find_text(&doc, "PHÓ GIÁM ĐỐC").unwrap().unwrap();
    let personal_rect = kyso_pdf::text::box_below(&title, 130.0, 60.0);
    let (page, placement, appearance) =
        layout(&Kind::Personal { signature_png: signature_png(), rect: personal_rect }, title.page, now).unwrap();
    let signed = sign_pades(&draft, &FieldSpec { page, placement, appearance, ..spec("Ký ban hành") }, &leader, Level::B, None).unwrap();
    let fills = number_and_date_fills(5, chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(), 13.0);
    let kind = Kind::Agency { seal_png: seal_png(), seal_mm: 36.0, personal_rect, agency: "Sở Nội vụ tỉnh Bắc Ninh".into() };
    let (page, placement, appearance) = layout(&kind, title.page, now).unwrap();
    let sealed =
        sign_pades(&signed, &FieldSpec { page, placement, appearance, fills, ..spec("Chữ ký cơ quan") }, &agency, Level::B, None).unwrap();
    check_all(&sealed, ca, 2);
    let checks = kyso_pdf::verify::check_signatures(&sealed).unwrap();
    assert!(checks.iter().all(|c| c.is_intact()), "{:?}", checks.iter().map(|c| c.summary()).collect::<Vec<_>>());
    if let Some(text) = pdftotext(&sealed) {
        let compact: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for e in ["Số: 05 /QĐ-SNV", "ngày 21 tháng 11 năm 2026", "Sở Nội vụ tỉnh Bắc Ninh", "PHÓ GIÁM ĐỐC"] {
            assert!(compact.contains(e), "'{e}' in: {compact}");
        }
    }
    let renders = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/appearance-renders");
    std::fs::create_dir_all(&renders).unwrap();
    std::fs::write(renders.join("issued-document.pdf"), &sealed).unwrap();
    // An anchor that is not in the draft is a clear error.
    let missing = number_and_date_fields(&kyso_pdf::reader::PdfDoc::open(&sample_pdf(1)).unwrap());
    assert!(matches!(missing, Err(kyso_pdf::PdfError::Invalid(m)) if m.contains("Số:")));
}

//! Hostile input: truncated, non-PDF, bomb and many-revision files get a verdict or a clear
//! error, never a panic, in bounded work.

use kyso_verify::{Indication, Policy, SubIndication};

mod support;

/// A policy that trusts the signer of [`signed`] (and has its CRL), so that the unmodified
/// file passes and every "not passed" below is the hostile change's doing.
fn policy() -> Policy<'static> {
    let (_, cert, crl) = signed_with_trust();
    Policy {
        anchors: vec![cert],
        intermediates: vec![],
        crls: vec![crl],
        ocsps: vec![],
        at: chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
        fetch: None,
        revocation: kyso_verify::RevocationMode::Require,
    }
}

fn signed() -> Vec<u8> {
    signed_with_trust().0
}

/// A signed PDF, the root that certified its signer and the root's CRL; made once.
fn signed_with_trust() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    static MADE: std::sync::OnceLock<(Vec<u8>, Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    MADE.get_or_init(make_signed).clone()
}

#[test]
fn the_unmodified_file_passes() {
    let r = kyso_verify::validate_pdf("signed.pdf", &signed(), &policy());
    assert_eq!(r.indication, Indication::TotalPassed, "{}", kyso_verify::report::text(&r));
}

fn make_signed() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    use kyso_token::*;
    let dir = tempfile::tempdir().unwrap();
    let t = kyso_token::soft::SoftToken::create(dir.path(), "t", &Pin::new("1234"), &Pin::new("12345678"), 5, 1000).unwrap();
    let s = t.login(&Pin::new("1234")).unwrap();
    let root_key = s.generate_key("root", KeyAlgorithm::EcP256).unwrap();
    let k = s.generate_key("k", KeyAlgorithm::EcP256).unwrap();
    let dn = kyso_pki::name::DistinguishedName::parse("CN=Gốc thử,C=VN").unwrap();
    let issue = |profile, subject: &str, key: &std::sync::Arc<dyn Signer>| {
        kyso_pki::cert::issue(
            &kyso_pki::cert::CertTemplate {
                profile,
                subject: kyso_pki::name::DistinguishedName::parse(subject).unwrap(),
                email: None,
                spki_der: key.public_key_spki().to_vec(),
                serial: kyso_pki::random_serial(),
                not_before: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
                not_after: chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
                policies: vec![],
                urls: Default::default(),
            },
            &kyso_pki::cert::Issuer {
                name: dn.to_name().unwrap(),
                spki_der: root_key.public_key_spki().to_vec(),
                signer: &*root_key,
                scheme: SignatureScheme::EcdsaP256Sha256,
            },
        )
        .unwrap()
    };
    let root = issue(kyso_pki::cert::CertProfile::RootCa, "CN=Gốc thử,C=VN", &root_key);
    let cert = issue(kyso_pki::cert::CertProfile::Individual, "CN=Thử,C=VN", &k);
    let pdf = kyso_pdf::draft::text_pdf(&[vec![]]).unwrap();
    let spec = kyso_pdf::FieldSpec {
        page: 1,
        name: "S".into(),
        placement: kyso_pdf::Placement::Invisible,
        appearance: None,
        reason: None,
        location: None,
        signing_time: chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap(),
        contents_size: 4096,
        sub_filter: "ETSI.CAdES.detached",
        fills: vec![],
    };
    let signed =
        kyso_pdf::sign_pades(&pdf, &spec, &kyso_pdf::SignerInfo { signer: &*k, cert: &cert, chain: &[] }, kyso_pdf::Level::B, None)
            .unwrap();
    let (_, info) = kyso_pki::cert::parse(&root).unwrap();
    let crl = kyso_pki::crl::build(
        &kyso_pki::crl::CrlParams {
            issuer: dn.to_name().unwrap(),
            issuer_spki: &info.spki_der,
            number: 1,
            delta_of: None,
            this_update: chrono::DateTime::from_timestamp(1_789_000_000, 0).unwrap(),
            next_update: chrono::DateTime::from_timestamp(1_791_000_000, 0).unwrap(),
            entries: &[],
        },
        &*root_key,
        SignatureScheme::EcdsaP256Sha256,
    )
    .unwrap();
    (signed, root, crl)
}

#[test]
fn truncated_and_non_pdf_files_get_a_verdict() {
    let good = signed();
    for cut in (0..good.len()).step_by(good.len() / 60 + 1) {
        let r = kyso_verify::validate_pdf("cut.pdf", &good[..cut], &policy());
        assert_ne!(r.indication, Indication::TotalPassed, "cut at {cut}");
    }
    for junk in [b"".to_vec(), b"hello".to_vec(), vec![0u8; 10_000], b"%PDF-1.7\n%%EOF".to_vec()] {
        let r = kyso_verify::validate_pdf("junk.pdf", &junk, &policy());
        assert_ne!(r.indication, Indication::TotalPassed);
        assert!(!r.notes.is_empty() || r.sub_indication.is_some());
    }
}

#[test]
fn a_compression_bomb_is_refused() {
    // 400 MB of zeros compressed to about 400 KB, as an object stream: past the ratio limit.
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&vec![0u8; 400 << 20]).unwrap();
    let z = e.finish().unwrap();
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let o1 = pdf.len();
    pdf.extend_from_slice(
        format!("1 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length {} >>\nstream\n", z.len()).as_bytes(),
    );
    pdf.extend_from_slice(&z);
    pdf.extend_from_slice(b"\nendstream\nendobj\n");
    let x = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 3\n0000000000 65535 f\r\n{o1:010} 00000 n\r\n0000000000 00000 f\r\ntrailer\n<< /Size 3 /Root 2 0 R >>\nstartxref\n{x}\n%%EOF\n").as_bytes());
    let doc = kyso_pdf::reader::PdfDoc::open(&pdf).unwrap();
    assert!(doc.get((1, 0)).is_ok());
    let (d, raw) = match doc.get((1, 0)).unwrap() {
        kyso_pdf::object::Obj::Stream(d, raw) => (d, raw),
        _ => panic!(),
    };
    assert!(matches!(kyso_pdf::reader::decode_stream(&d, &raw), Err(kyso_pdf::PdfError::Limit(_))));
    let r = kyso_verify::validate_pdf("bomb.pdf", &pdf, &policy());
    assert_ne!(r.indication, Indication::TotalPassed);
}

#[test]
fn thousands_of_revisions_are_bounded_and_never_pass() {
    let mut pdf = signed();
    // More empty incremental updates after the signature than are analysed.
    let (mut n, root, mut prev) = {
        let doc = kyso_pdf::reader::PdfDoc::open(&pdf).unwrap();
        (doc.size(), doc.root_ref().0, doc.startxref)
    };
    for i in 0..kyso_pdf::revisions::MAX_REVISIONS + 10 {
        let off = pdf.len();
        pdf.extend_from_slice(format!("{n} 0 obj\n({i})\nendobj\n").as_bytes());
        let x = pdf.len();
        pdf.extend_from_slice(
            format!(
                "xref\n{n} 1\n{off:010} 00000 n\r\ntrailer\n<< /Size {} /Root {root} 0 R /Prev {prev} >>\nstartxref\n{x}\n%%EOF\n",
                n + 1
            )
            .as_bytes(),
        );
        n += 1;
        prev = x;
    }
    let r = kyso_verify::validate_pdf("many.pdf", &pdf, &policy());
    assert_ne!(r.indication, Indication::TotalPassed);
    let s = &r.signatures[0];
    assert_eq!(s.sub_indication, Some(SubIndication::SigConstraintsFailure), "{:?}", s.messages);
    assert!(s.disallowed_changes.iter().any(|c| c.contains("phiên bản")), "{:?}", s.disallowed_changes);
}

#[test]
fn cross_reference_loops_and_hybrid_files_end() {
    // A /Prev chain that points back to itself, and a table that names a missing stream.
    let body = "%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n";
    let x = body.len();
    let looped = format!("{body}xref\n0 3\n0000000000 65535 f\r\n0000000009 00000 n\r\n0000000058 00000 n\r\ntrailer\n<< /Size 3 /Root 1 0 R /Prev {x} >>\nstartxref\n{x}\n%%EOF\n");
    let hybrid = format!("{body}xref\n0 3\n0000000000 65535 f\r\n0000000009 00000 n\r\n0000000058 00000 n\r\ntrailer\n<< /Size 3 /Root 1 0 R /XRefStm 999999 >>\nstartxref\n{x}\n%%EOF\n");
    for (name, pdf) in [("loop", looped), ("hybrid", hybrid)] {
        let r = kyso_verify::validate_pdf(name, pdf.as_bytes(), &policy());
        assert_ne!(r.indication, Indication::TotalPassed, "{name}");
    }
}

/// The update of [`signed`] that adds `n` annotations to its page (what a hostile sender can
/// make: a few tens of bytes per object).
fn with_annotations(n: usize) -> Vec<u8> {
    let mut pdf = signed();
    let doc = kyso_pdf::reader::PdfDoc::open(&pdf).unwrap();
    let (first, root, prev) = (doc.size() as usize, doc.root_ref().0, doc.startxref);
    let page = doc.pages().unwrap()[0];
    let mut dict = doc.get(page).unwrap().as_dict().cloned().unwrap();
    let mut annots = match dict.get(b"Annots".as_slice()).map(|a| doc.resolve(a).unwrap()) {
        Some(kyso_pdf::object::Obj::Array(a)) => a,
        _ => vec![],
    };
    drop(doc);
    let mut offsets = Vec::with_capacity(n);
    for i in 0..n {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj<</Type/Annot/Subtype/Text/Rect[1 1 2 2]>>endobj\n", first + i).as_bytes());
        annots.push(kyso_pdf::object::Obj::Ref(((first + i) as u32, 0)));
    }
    dict.insert(b"Annots".to_vec(), kyso_pdf::object::Obj::Array(annots));
    let page_at = pdf.len();
    pdf.extend_from_slice(format!("{} 0 obj\n", page.0).as_bytes());
    kyso_pdf::object::write(&kyso_pdf::object::Obj::Dict(dict), &mut pdf);
    pdf.extend_from_slice(b"\nendobj\n");
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n{} 1\n{page_at:010} 00000 n\r\n{first} {n}\n", page.0).as_bytes());
    for o in offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<< /Size {} /Root {root} 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n", first + n).as_bytes(),
    );
    pdf
}

/// The child of [`a_revision_with_400_000_annotations_gets_a_verdict_in_bounded_memory`].
#[test]
fn annotations_child() {
    let Ok(n) = std::env::var("KYSO_ANNOTATIONS") else { return };
    let pdf = with_annotations(n.parse().unwrap());
    let r = kyso_verify::validate_pdf("annots.pdf", &pdf, &policy());
    println!(
        "KYSO-VERDICT {} {} {:?} {}",
        pdf.len(),
        r.indication.code(),
        r.signatures[0].sub_indication,
        r.signatures[0].disallowed_changes.len()
    );
}

/// Regression: 400,000 annotation dictionaries in one appended revision took about 48 times
/// the file's size in memory. Under a 512 MB cap and a 30 s watchdog the signature now gets a
/// verdict (the annotations are not allowed by an approval signature, and those past the
/// analysis limit are an unanalysed change).
#[test]
fn a_revision_with_400_000_annotations_gets_a_verdict_in_bounded_memory() {
    let out = support::run_child("annotations_child", &[("KYSO_ANNOTATIONS", "400000")], std::time::Duration::from_secs(30), 512 * 1024)
        .unwrap_or_else(|e| panic!("no verdict: {e}"));
    let verdict = out.lines().find_map(|l| l.split_once("KYSO-VERDICT ").map(|(_, v)| v.to_string())).expect(&out);
    let parts: Vec<&str> = verdict.split(' ').collect();
    assert!(parts[0].parse::<usize>().unwrap() > 15_000_000, "the file is large: {verdict}");
    assert_eq!(parts[1], "TOTAL-FAILED", "{verdict}");
    assert_eq!(parts[2], "Some(SigConstraintsFailure)", "{verdict}");
    // At most the analysed objects and one "not analysed" change per kind.
    assert!(parts[3].parse::<usize>().unwrap() <= kyso_pdf::revisions::MAX_CHANGED + 4, "bounded report: {verdict}");
}

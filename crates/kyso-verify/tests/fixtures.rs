//! The labelled fixtures of the verification issue, made here by signing with kyso and with
//! pyHanko and then mutating; each has an expected indication. kyso must reach it, and must
//! agree with `pyhanko` wherever pyHanko gives a verdict, except for the disagreements listed
//! (with the reason kyso is right) in `tests/disagreements.md`.

use chrono::{DateTime, Duration, Utc};
use kyso_pdf::{sign_pades, FieldSpec, Level, SignerInfo, DEFAULT_CONTENTS};
use kyso_pki::cert::{self, CertProfile, CertTemplate, Issuer, Urls};
use kyso_pki::crl::{self, CrlParams, RevokedEntry};
use kyso_pki::name::DistinguishedName;
use kyso_token::soft::SoftToken;
use kyso_token::*;
use kyso_verify::{Indication, Policy, SubIndication};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

#[allow(clippy::disallowed_methods)]
fn real_now() -> DateTime<Utc> {
    Utc::now()
}

struct Pki {
    now: DateTime<Utc>,
    root: Vec<u8>,
    ca: Vec<u8>,
    ca_key: Arc<dyn Signer>,
    root_key: Arc<dyn Signer>,
    session: Box<dyn TokenSession>,
    tsa: (Vec<u8>, Arc<dyn Signer>),
    _dir: tempfile::TempDir,
}

impl Pki {
    fn new(root_cn: &str) -> Pki {
        let now = real_now();
        let dir = tempfile::tempdir().unwrap();
        let t = SoftToken::create(dir.path(), "t", &Pin::new("1234"), &Pin::new("12345678"), 5, 1000).unwrap();
        let session = t.login(&Pin::new("1234")).unwrap();
        let root_key = session.generate_key("root", KeyAlgorithm::EcP256).unwrap();
        let ca_key = session.generate_key("ca", KeyAlgorithm::EcP256).unwrap();
        let rdn = DistinguishedName::parse(&format!("CN={root_cn},C=VN")).unwrap();
        let cdn = DistinguishedName::parse(&format!("CN=CA của {root_cn},C=VN")).unwrap();
        let issue = |p, dn: &DistinguishedName, k: &Arc<dyn Signer>, by: &Arc<dyn Signer>, by_dn: &DistinguishedName| {
            cert::issue(
                &CertTemplate {
                    profile: p,
                    subject: dn.clone(),
                    email: None,
                    spki_der: k.public_key_spki().to_vec(),
                    serial: kyso_pki::random_serial(),
                    not_before: now - Duration::days(60),
                    not_after: now + Duration::days(3650),
                    policies: vec![],
                    urls: Urls::default(),
                },
                &Issuer {
                    name: by_dn.to_name().unwrap(),
                    spki_der: by.public_key_spki().to_vec(),
                    signer: &**by,
                    scheme: SignatureScheme::EcdsaP256Sha256,
                },
            )
            .unwrap()
        };
        let root = issue(CertProfile::RootCa, &rdn, &root_key, &root_key, &rdn);
        let ca = issue(CertProfile::IssuingCa, &cdn, &ca_key, &root_key, &rdn);
        let mut pki = Pki { now, root, ca, ca_key, root_key, session, tsa: (vec![], Arc::new(NoSigner)), _dir: dir };
        let tk = pki.session.generate_key("tsa", KeyAlgorithm::EcP256).unwrap();
        pki.tsa = (pki.leaf_for(CertProfile::TimeStamping, "TSA thử nghiệm", tk.public_key_spki(), -60, 3650), tk);
        pki
    }

    /// A certificate of `profile` for `spki`, valid from `from` to `to` days from now.
    fn leaf_for(&self, profile: CertProfile, cn: &str, spki: &[u8], from: i64, to: i64) -> Vec<u8> {
        self.leaf_with_urls(profile, cn, spki, from, to, Urls::default())
    }

    /// The same, naming where its revocation status is published.
    fn leaf_with_urls(&self, profile: CertProfile, cn: &str, spki: &[u8], from: i64, to: i64, urls: Urls) -> Vec<u8> {
        let (_, ca) = cert::parse(&self.ca).unwrap();
        cert::issue(
            &CertTemplate {
                profile,
                subject: DistinguishedName::parse(&format!("CN={cn},O=Sở Nội vụ,C=VN")).unwrap(),
                email: None,
                spki_der: spki.to_vec(),
                serial: kyso_pki::random_serial(),
                not_before: self.now + Duration::days(from),
                not_after: self.now + Duration::days(to),
                policies: vec![],
                urls,
            },
            &Issuer {
                name: ca.subject.to_name().unwrap(),
                spki_der: ca.spki_der,
                signer: &*self.ca_key,
                scheme: SignatureScheme::EcdsaP256Sha256,
            },
        )
        .unwrap()
    }

    fn signer(&self, label: &str, cn: &str, from: i64, to: i64) -> (Vec<u8>, Arc<dyn Signer>) {
        let k = self.session.generate_key(label, KeyAlgorithm::EcP256).unwrap();
        (self.leaf_for(CertProfile::Individual, cn, k.public_key_spki(), from, to), k)
    }

    /// A time-stamp authority that stamps at `at`.
    fn tsa_at(&self, at: DateTime<Utc>) -> impl Fn(&[u8]) -> Result<Vec<u8>, String> + '_ {
        move |req: &[u8]| {
            let chain = vec![self.ca.clone()];
            let t = kyso_pki::tsp::Tsa {
                cert: &self.tsa.0,
                chain: &chain,
                signer: &*self.tsa.1,
                scheme: SignatureScheme::EcdsaP256Sha256,
                policy: const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.84.1.2"),
            };
            kyso_pki::tsp::respond(&t, req, &kyso_pki::random_serial(), at).map_err(|e| e.to_string())
        }
    }

    fn crl(&self, revoked: &[(Vec<u8>, DateTime<Utc>)]) -> Vec<u8> {
        self.crl_at(revoked, self.now - Duration::minutes(30), self.now + Duration::days(7))
    }

    /// The issuing CA's CRL made at `this_update`, current until `next_update`.
    fn crl_at(&self, revoked: &[(Vec<u8>, DateTime<Utc>)], this_update: DateTime<Utc>, next_update: DateTime<Utc>) -> Vec<u8> {
        let (_, ca) = cert::parse(&self.ca).unwrap();
        let entries: Vec<RevokedEntry> = revoked
            .iter()
            .map(|(c, at)| RevokedEntry {
                serial: cert::parse(c).unwrap().0.tbs_certificate.serial_number.as_bytes().to_vec(),
                revoked_at: *at,
                reason: 1,
            })
            .collect();
        crl::build(
            &CrlParams {
                issuer: ca.subject.to_name().unwrap(),
                issuer_spki: &ca.spki_der,
                number: 1,
                delta_of: None,
                this_update,
                next_update,
                entries: &entries,
            },
            &*self.ca_key,
            SignatureScheme::EcdsaP256Sha256,
        )
        .unwrap()
    }

    fn root_crl(&self) -> Vec<u8> {
        let (_, r) = cert::parse(&self.root).unwrap();
        crl::build(
            &CrlParams {
                issuer: r.subject.to_name().unwrap(),
                issuer_spki: &r.spki_der,
                number: 1,
                delta_of: None,
                this_update: self.now - Duration::minutes(30),
                next_update: self.now + Duration::days(7),
                entries: &[],
            },
            &*self.root_key,
            SignatureScheme::EcdsaP256Sha256,
        )
        .unwrap()
    }
}

/// A placeholder until the TSA key exists.
struct NoSigner;
impl Signer for NoSigner {
    fn label(&self) -> &str {
        ""
    }
    fn key_algorithm(&self) -> KeyAlgorithm {
        KeyAlgorithm::EcP256
    }
    fn public_key_spki(&self) -> &[u8] {
        &[]
    }
    fn sign(&self, _: SignatureScheme, _: &[u8]) -> Result<Vec<u8>, TokenError> {
        Err(TokenError::Device("no key".into()))
    }
}

fn spec(name: &str, at: DateTime<Utc>) -> FieldSpec {
    FieldSpec {
        page: 1,
        name: name.into(),
        placement: kyso_pdf::Placement::Invisible,
        appearance: None,
        reason: None,
        location: None,
        signing_time: at,
        contents_size: DEFAULT_CONTENTS,
        sub_filter: "ETSI.CAdES.detached",
        fills: vec![],
    }
}

fn sign(pdf: &[u8], who: &(Vec<u8>, Arc<dyn Signer>), pki: &Pki, name: &str, at: DateTime<Utc>, ts: Option<DateTime<Utc>>) -> Vec<u8> {
    let chain = vec![pki.ca.clone()];
    let info = SignerInfo { signer: &*who.1, cert: &who.0, chain: &chain };
    match ts {
        Some(t) => sign_pades(pdf, &spec(name, at), &info, Level::T, Some(&pki.tsa_at(t))).unwrap(),
        None => sign_pades(pdf, &spec(name, at), &info, Level::B, None).unwrap(),
    }
}

/// Appends an incremental update (re)defining `objects`.
fn append_update(pdf: &[u8], objects: &[(u32, String)]) -> Vec<u8> {
    append_update_with_trailer(pdf, objects, "")
}

/// Like [`append_update`], with `extra` added to the trailer (such as `/Info 9 0 R`).
fn append_update_with_trailer(pdf: &[u8], objects: &[(u32, String)], extra: &str) -> Vec<u8> {
    let doc = kyso_pdf::reader::PdfDoc::open(pdf).unwrap();
    let mut out = pdf.to_vec();
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
    let root = doc.root_ref().0;
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root {root} 0 R /Prev {} {extra}>>\nstartxref\n{xref}\n%%EOF\n", doc.startxref).as_bytes(),
    );
    out
}

/// The shadow set-up's page with the white box over the amount dropped from its content.
const HIDDEN_OVERLAY_PAGE: &str =
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 6 0 R >> >> /Contents [4 0 R] /Annots [7 0 R] >>";

/// Appends an update that adds to page 1 a signature widget (`/FT /Sig` plus `keys`) drawing a
/// box with `text` over the page; with `in_form` it is also listed in the form's fields.
fn with_drawn_widget(pdf: &[u8], keys: &str, text: &str, in_form: bool) -> Vec<u8> {
    use kyso_pdf::object::{get, Obj};
    let doc = kyso_pdf::reader::PdfDoc::open(pdf).unwrap();
    let page_ref = doc.pages().unwrap()[0];
    let n = doc.size();
    let appended = |d: &kyso_pdf::object::Dict, key: &str| {
        let mut d = d.clone();
        let mut list = get(&d, key).and_then(|x| x.as_array()).cloned().unwrap_or_default();
        list.push(Obj::Ref((n, 0)));
        d.insert(key.as_bytes().to_vec(), Obj::Array(list));
        obj_text(&Obj::Dict(d))
    };
    let draw = format!("q 1 1 1 rg 0 0 400 200 re f 0 0 1 rg BT /Helv 12 Tf 10 10 Td ({text}) Tj ET Q");
    let mut objects = vec![
        (
            n,
            format!(
                "<< /Type /Annot /Subtype /Widget /FT /Sig {keys} /Rect [50 500 450 700] /F 4 /P {} 0 R /AP << /N {} 0 R >> >>",
                page_ref.0,
                n + 1
            ),
        ),
        (n + 1, format!("<< /Type /XObject /Subtype /Form /BBox [0 0 400 200] /Length {} >>\nstream\n{draw}\nendstream", draw.len())),
        (page_ref.0, appended(doc.get(page_ref).unwrap().as_dict().unwrap(), "Annots")),
    ];
    if in_form {
        let acro_ref = get(&doc.catalog().unwrap(), "AcroForm").and_then(|x| x.as_ref()).unwrap();
        objects.push((acro_ref.0, appended(doc.get(acro_ref).unwrap().as_dict().unwrap(), "Fields")));
    }
    append_update(pdf, &objects)
}

fn obj_text(o: &kyso_pdf::object::Obj) -> String {
    let mut v = vec![];
    kyso_pdf::object::write(o, &mut v);
    String::from_utf8_lossy(&v).into_owned()
}

/// Rewrites the last signature's /ByteRange in place (it is padded with spaces).
fn set_byte_range(pdf: &[u8], f: impl Fn([usize; 4]) -> [i64; 4]) -> Vec<u8> {
    let mut out = pdf.to_vec();
    let at = out.windows(11).rposition(|w| w == b"/ByteRange ").unwrap() + 11;
    let end = at + out[at..].iter().position(|b| *b == b']').unwrap() + 1;
    let len = out[at..end].len() + out[end..].iter().take_while(|b| **b == b' ').count();
    let checks = kyso_pdf::verify::check_signatures(pdf).unwrap();
    let br = f(checks.last().unwrap().byte_range);
    let text = format!("[{} {} {} {}]", br[0], br[1], br[2], br[3]);
    assert!(text.len() <= len);
    out[at..at + len].copy_from_slice(format!("{text:<len$}").as_bytes());
    out
}

/// Replaces the hex of the last /Contents.
fn set_contents(pdf: &[u8], with: u8) -> Vec<u8> {
    let mut out = pdf.to_vec();
    let checks = kyso_pdf::verify::check_signatures(pdf).unwrap();
    let [_, a, b, _] = checks.last().unwrap().byte_range;
    for x in &mut out[a + 1..b - 1] {
        *x = with;
    }
    out
}

/// Moves object `num` of `pdf` into an object stream (8) listed by a cross-reference stream
/// (9): the layout the object-stream attack needs.
fn in_object_stream(pdf: &[u8], num: u32) -> Vec<u8> {
    let doc = kyso_pdf::reader::PdfDoc::open(pdf).unwrap();
    let body = obj_text(&doc.get((num, 0)).unwrap());
    objstm_update(pdf, num, &body, true)
}

/// Appends object stream 8 holding object `num` = `body`; with `xref_stream`, the section is
/// a cross-reference stream (9) that lists `num` as compressed in it, else a table listing only
/// the stream (`num` keeps its entry from before).
fn objstm_update(pdf: &[u8], num: u32, body: &str, xref_stream: bool) -> Vec<u8> {
    let doc = kyso_pdf::reader::PdfDoc::open(pdf).unwrap();
    let mut out = pdf.to_vec();
    let header = format!("{num} 0 ");
    let content = format!("{header}{body}");
    let off8 = out.len();
    out.extend_from_slice(
        format!(
            "8 0 obj\n<< /Type /ObjStm /N 1 /First {} /Length {} >>\nstream\n{content}\nendstream\nendobj\n",
            header.len(),
            content.len()
        )
        .as_bytes(),
    );
    let root = doc.root_ref().0;
    if !xref_stream {
        let x = out.len();
        out.extend_from_slice(
            format!(
                "xref\n8 1\n{off8:010} 00000 n\r\ntrailer\n<< /Size {} /Root {root} 0 R /Prev {} >>\nstartxref\n{x}\n%%EOF\n",
                doc.size().max(10),
                doc.startxref
            )
            .as_bytes(),
        );
        return out;
    }
    let off9 = out.len();
    let row = |t: u8, a: u32, b: u16| [[t].as_slice(), &a.to_be_bytes(), &b.to_be_bytes()].concat();
    let rows = [row(2, 8, 0), row(1, off8 as u32, 0), row(1, off9 as u32, 0)].concat();
    out.extend_from_slice(
        format!(
            "9 0 obj\n<< /Type /XRef /Size 10 /W [1 4 2] /Index [{num} 1 8 2] /Root {root} 0 R /Prev {} /Length {} >>\nstream\n",
            doc.startxref,
            rows.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&rows);
    out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{off9}\n%%EOF\n").as_bytes());
    out
}

/// Appends an update that frees `num` (a deletion, classic cross-reference table).
fn free_object(pdf: &[u8], num: u32) -> Vec<u8> {
    let doc = kyso_pdf::reader::PdfDoc::open(pdf).unwrap();
    let mut out = pdf.to_vec();
    let x = out.len();
    out.extend_from_slice(
        format!(
            "xref\n{num} 1\n0000000000 00001 f\r\ntrailer\n<< /Size {} /Root {} 0 R /Prev {} >>\nstartxref\n{x}\n%%EOF\n",
            doc.size(),
            doc.root_ref().0,
            doc.startxref
        )
        .as_bytes(),
    );
    out
}

/// Writes `der` as the hex of the last signature's /Contents (the rest stays zeros).
fn put_contents(pdf: &[u8], der: &[u8]) -> Vec<u8> {
    let mut out = set_contents(pdf, b'0');
    let checks = kyso_pdf::verify::check_signatures(pdf).unwrap();
    let [_, a, _, _] = checks.last().unwrap().byte_range;
    let hex = hex::encode(der);
    out[a + 1..a + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    out
}

fn base_pdf() -> Vec<u8> {
    let lines: Vec<kyso_pdf::appearance::Line> = (0..10)
        .map(|i| kyso_pdf::appearance::Line {
            text: format!("Điều {i}. Nội dung văn bản thử nghiệm kiểm tra chữ ký số."),
            x: 72.0,
            y: 760.0 - 20.0 * i as f64,
            size: 12.0,
            color: [0.0; 3],
        })
        .collect();
    let pdf = kyso_pdf::draft::text_pdf(&[lines]).unwrap();
    kyso_pdf::form::add_text_fields(&pdf, &[kyso_pdf::form::TextField { name: "ten".into(), page: 1, rect: [72.0, 500.0, 272.0, 520.0] }])
        .unwrap()
}

/// A page whose content is [text, a white box over part of it] (the shadow "hide" set-up),
/// and a form field already filled in (the shadow "replace" set-up).
fn shadow_base() -> Vec<u8> {
    let text = "BT /F1 18 Tf 72 720 Td (So tien: 100 trieu dong) Tj ET";
    let cover = "q 1 1 1 rg 60 700 300 40 re f Q";
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offs = vec![];
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [7 0 R] >> >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 6 0 R >> >> /Contents [4 0 R 5 0 R] /Annots [7 0 R] >>".to_string(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        format!("<< /Length {} >>\nstream\n{cover}\nendstream", cover.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        "<< /Type /Annot /Subtype /Widget /FT /Tx /T (sotien) /V (100) /Rect [72 600 272 620] /P 3 0 R >>".to_string(),
    ];
    for (i, o) in objs.iter().enumerate() {
        offs.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let x = out.len();
    out.extend_from_slice(b"xref\n0 8\n0000000000 65535 f\r\n");
    for o in offs {
        out.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
    }
    out.extend_from_slice(format!("trailer\n<< /Size 8 /Root 1 0 R >>\nstartxref\n{x}\n%%EOF\n").as_bytes());
    out
}

fn pem_file(p: &Path, der: &[u8]) {
    std::fs::write(p, kyso_pki::pem("CERTIFICATE", der)).unwrap();
}

/// The fixtures `tests/pyhanko_fixtures.py make` writes.
const PYHANKO_MADE: [&str; 9] = [
    "ph-valid.pdf",
    "ph-cert-p2-filled.pdf",
    "ph-cert-p1-filled.pdf",
    "ph-cert-p2-annotated.pdf",
    "ph-adbe-revinfo.pdf",
    "ph-cert-p2-refilled.pdf",
    "ph-blt-2.pdf",
    "ph-blt-3.pdf",
    "ph-seven-hours.pdf",
];

#[test]
fn every_fixture_gets_its_indication_and_kyso_agrees_with_pyhanko() {
    let pki = Pki::new("Root thử nghiệm");
    let other = Pki::new("Root lạ");
    let now = pki.now;
    let a = pki.signer("a", "Nguyễn Văn An", -30, 365);
    let b = pki.signer("b", "Trần Thị Bình", -30, 365);
    let c = pki.signer("c", "Lê Văn Cường", -30, 365);
    let revoked = pki.signer("r", "Phạm Văn Rút", -30, 365);
    let expired = pki.signer("e", "Hoàng Thị Hết", -30, -2);
    let stranger = other.signer("u", "Người lạ", -30, 365);
    let crl = pki.crl(&[(revoked.0.clone(), now - Duration::days(5))]);
    let root_crl = pki.root_crl();
    let base = base_pdf();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let valid_one = sign(&base, &a, &pki, "Chữ ký 1", now - Duration::hours(2), Some(now - Duration::hours(1)));
    let valid_several = sign(&sign(&sign(&base, &a, &pki, "S1", now, None), &b, &pki, "S2", now, None), &c, &pki, "S3", now, None);
    let changed = {
        let mut v = valid_one.clone();
        let at = v.windows(4).position(|w| w == b"/Fm0").unwrap();
        v[at + 3] = b'1';
        v
    };
    let shadow = sign(&shadow_base(), &a, &pki, "Chữ ký", now, Some(now - Duration::minutes(5)));
    let extra_field = with_drawn_widget(&valid_one, "/T (Chu ky gia)", "Da ky", true);
    let hide = append_update(&shadow, &[(3, HIDDEN_OVERLAY_PAGE.into())]);
    let replace = {
        let doc = kyso_pdf::reader::PdfDoc::open(&shadow).unwrap();
        let mut f = doc.get((7, 0)).unwrap().as_dict().unwrap().clone();
        f.insert(b"V".to_vec(), kyso_pdf::object::Obj::Str(b"900".to_vec()));
        append_update(&shadow, &[(7, obj_text(&kyso_pdf::object::Obj::Dict(f)))])
    };
    // Regression (CI, stop 18): a form filled after an approval signature by a writer that also
    // saves a new /ModDate. pyHanko's fixtures passed or failed on whether its two saves fell in
    // the same second; the metadata saved with a fill is part of the fill.
    let filled_with_info = {
        let info = kyso_pdf::reader::PdfDoc::open(&base).unwrap().size();
        let info_trailer = format!("/Info {info} 0 R ");
        let with_info =
            append_update_with_trailer(&base, &[(info, "<< /Producer (writer) /ModDate (D:20261201110000Z) >>".into())], &info_trailer);
        let signed = sign(&with_info, &a, &pki, "Chữ ký", now, Some(now - Duration::minutes(5)));
        let doc = kyso_pdf::reader::PdfDoc::open(&signed).unwrap();
        let (_, field, _) = kyso_pdf::form::fields(&doc).unwrap().into_iter().find(|(n, _, _)| n == "ten").unwrap();
        let mut f = doc.get(field).unwrap().as_dict().unwrap().clone();
        f.insert(b"V".to_vec(), kyso_pdf::object::Obj::Str(b"Nguyen Van An".to_vec()));
        append_update_with_trailer(
            &signed,
            &[(field.0, obj_text(&kyso_pdf::object::Obj::Dict(f))), (info, "<< /Producer (writer) /ModDate (D:20261201120000Z) >>".into())],
            &info_trailer,
        )
    };
    // The value kept, only its appearance redrawn to show another amount.
    let replace_appearance = {
        let doc = kyso_pdf::reader::PdfDoc::open(&shadow).unwrap();
        let mut f = doc.get((7, 0)).unwrap().as_dict().unwrap().clone();
        let n = doc.size();
        let draw = "BT /Helv 12 Tf 2 5 Td (900) Tj ET";
        let mut ap = kyso_pdf::object::Dict::new();
        ap.insert(b"N".to_vec(), kyso_pdf::object::Obj::Ref((n, 0)));
        f.insert(b"AP".to_vec(), kyso_pdf::object::Obj::Dict(ap));
        append_update(
            &shadow,
            &[
                (n, format!("<< /Type /XObject /Subtype /Form /BBox [0 0 200 20] /Length {} >>\nstream\n{draw}\nendstream", draw.len())),
                (7, obj_text(&kyso_pdf::object::Obj::Dict(f))),
            ],
        )
    };
    // A signed document whose font sits in an object stream; an update redefines the stream
    // under its old number with another font in it.
    let objstm_signed = sign(&in_object_stream(&shadow_base(), 6), &a, &pki, "Chữ ký", now, Some(now - Duration::minutes(5)));
    let objstm_rewritten = objstm_update(&objstm_signed, 6, "<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>", false);
    // The overlay freed (the page still names it; readers draw nothing for it).
    let overlay_freed = free_object(&shadow, 5);
    // The shadow "hide" update without its closing %%EOF: readers still follow it.
    let unterminated = {
        let v = append_update(&shadow, &[(3, HIDDEN_OVERLAY_PAGE.into())]);
        v[..v.len() - b"%%EOF\n".len()].to_vec()
    };
    // A widget that claims to be signed (a direct /V) and draws over the page, outside the form.
    let unverified_widget = with_drawn_widget(
        &valid_one,
        "/T (Duyet) /V << /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange [0 0 0 0] /Contents <00> >>",
        "Da duyet",
        false,
    );
    // The form told to redraw every field (signed ones too) on opening.
    let need_appearances = {
        let doc = kyso_pdf::reader::PdfDoc::open(&valid_one).unwrap();
        let acro_ref = kyso_pdf::object::get(&doc.catalog().unwrap(), "AcroForm").and_then(|x| x.as_ref()).unwrap();
        let mut acro = doc.get(acro_ref).unwrap().as_dict().unwrap().clone();
        acro.insert(b"NeedAppearances".to_vec(), kyso_pdf::object::Obj::Bool(true));
        append_update(&valid_one, &[(acro_ref.0, obj_text(&kyso_pdf::object::Obj::Dict(acro)))])
    };
    // A time-stamp token from the trusted TSA pasted in as the signature: it signs its own
    // content, not the document.
    let token_as_signature = {
        let req = kyso_pki::tsp::request(HashAlg::Sha256, &HashAlg::Sha256.digest(b"bat ky"), None).unwrap();
        let resp = pki.tsa_at(now)(&req).unwrap();
        put_contents(&valid_one, &kyso_pki::tsp::token_of(&resp).unwrap())
    };
    let hide_and_replace = {
        let t = "BT /F1 18 Tf 72 720 Td (So tien: 900 trieu dong) Tj ET";
        append_update(&shadow, &[(4, format!("<< /Length {} >>\nstream\n{t}\nendstream", t.len()))])
    };

    // pyHanko's own signatures, certified at P2 and P1.
    // pyHanko and OpenSSL (for its key) through the one helper that honours the
    // KYSO_TEST_REQUIRE_* flags.
    let tools = kyso_testkit::pyhanko_python().zip(kyso_testkit::system_tool("openssl"));
    let have_hanko = tools.is_some();
    let (hanko, openssl) = tools.unwrap_or_default();
    if have_hanko {
        let kd = d.join("k");
        std::fs::create_dir_all(&kd).unwrap();
        let ok = Command::new(&openssl)
            .current_dir(&kd)
            .args(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "signer-key.pem"])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let o =
            Command::new(&openssl).current_dir(&kd).args(["pkey", "-in", "signer-key.pem", "-pubout", "-outform", "DER"]).output().unwrap();
        let spki = o.stdout;
        pem_file(&kd.join("signer-cert.pem"), &pki.leaf_for(CertProfile::Individual, "Người ký pyHanko", &spki, -30, 365));
        let ok = Command::new(&openssl)
            .current_dir(&kd)
            // pyHanko's own test time-stamper signs with RSA only.
            .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "tsa-key.pem"])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let o =
            Command::new(&openssl).current_dir(&kd).args(["pkey", "-in", "tsa-key.pem", "-pubout", "-outform", "DER"]).output().unwrap();
        pem_file(&kd.join("tsa-cert.pem"), &pki.leaf_for(CertProfile::TimeStamping, "Dấu thời gian pyHanko", &o.stdout, -30, 365));
        pem_file(&kd.join("ca.pem"), &pki.ca);
        pem_file(&kd.join("root.pem"), &pki.root);
        std::fs::write(kd.join("crl-1.der"), &crl).unwrap();
        std::fs::write(kd.join("crl-2.der"), &root_crl).unwrap();
        std::fs::write(kd.join("base.pdf"), &base).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pyhanko_fixtures.py");
        let o = Command::new(&hanko).arg(&script).arg("make").arg(&kd).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for f in PYHANKO_MADE {
            std::fs::copy(kd.join(f), d.join(f)).unwrap();
        }
    }

    use Indication::*;
    use SubIndication as S;
    // (file, bytes, expected indication, expected sub-indication)
    let mut cases: Vec<(&str, Vec<u8>, Indication, Option<SubIndication>)> = vec![
        ("valid-one.pdf", valid_one.clone(), TotalPassed, None),
        ("valid-several.pdf", valid_several, TotalPassed, None),
        ("content-changed.pdf", changed, TotalFailed, Some(S::HashFailure)),
        ("bytes-appended.pdf", [valid_one.as_slice(), b"\nrac khong phai PDF\n"].concat(), TotalPassed, None),
        (
            "byterange-shifted.pdf",
            set_byte_range(&valid_one, |[_, a, b, c]| [0, a as i64 + 1, b as i64 + 1, c as i64 - 1]),
            TotalFailed,
            Some(S::FormatFailure),
        ),
        (
            "byterange-overlapping.pdf",
            set_byte_range(&valid_one, |[_, a, b, c]| [0, b as i64 + 10, b as i64, c as i64 - 10 + a as i64 - a as i64]),
            TotalFailed,
            Some(S::FormatFailure),
        ),
        (
            "byterange-short.pdf",
            set_byte_range(&valid_one, |[_, a, b, c]| [0, a as i64, b as i64, c as i64 - 20]),
            TotalFailed,
            Some(S::FormatFailure),
        ),
        ("contents-emptied.pdf", set_contents(&valid_one, b' '), TotalFailed, Some(S::FormatFailure)),
        ("contents-zeroed.pdf", set_contents(&valid_one, b'0'), TotalFailed, Some(S::FormatFailure)),
        (
            "revoked-before-signing.pdf",
            sign(&base, &revoked, &pki, "Chữ ký", now - Duration::days(2), Some(now - Duration::days(2))),
            TotalFailed,
            Some(S::Revoked),
        ),
        (
            "revoked-after-signing.pdf",
            sign(&base, &revoked, &pki, "Chữ ký", now - Duration::days(10), Some(now - Duration::days(10))),
            TotalPassed,
            None,
        ),
        (
            "revoked-no-timestamp.pdf",
            sign(&base, &revoked, &pki, "Chữ ký", now - Duration::days(10), None),
            Indeterminate,
            Some(S::RevokedNoPoe),
        ),
        (
            "expired-with-timestamp.pdf",
            sign(&base, &expired, &pki, "Chữ ký", now - Duration::days(10), Some(now - Duration::days(10))),
            TotalPassed,
            None,
        ),
        (
            "expired-no-timestamp.pdf",
            sign(&base, &expired, &pki, "Chữ ký", now - Duration::days(10), None),
            Indeterminate,
            Some(S::OutOfBoundsNoPoe),
        ),
        ("untrusted-root.pdf", sign(&base, &stranger, &other, "Chữ ký", now, None), Indeterminate, Some(S::NoCertificateChainFound)),
        ("extra-signature-field-drawn.pdf", extra_field, TotalFailed, Some(S::SigConstraintsFailure)),
        ("filled-with-info-update.pdf", filled_with_info, TotalPassed, None),
        ("shadow-hide.pdf", hide, TotalFailed, Some(S::SigConstraintsFailure)),
        ("shadow-replace.pdf", replace, Indeterminate, Some(S::SigConstraintsFailure)),
        ("shadow-hide-and-replace.pdf", hide_and_replace, TotalFailed, Some(S::SigConstraintsFailure)),
        ("shadow-replace-appearance.pdf", replace_appearance, TotalFailed, Some(S::SigConstraintsFailure)),
        ("objstm-signed.pdf", objstm_signed, TotalPassed, None),
        ("objstm-rewritten.pdf", objstm_rewritten, TotalFailed, Some(S::SigConstraintsFailure)),
        ("overlay-freed.pdf", overlay_freed, TotalFailed, Some(S::SigConstraintsFailure)),
        ("update-without-eof.pdf", unterminated, TotalFailed, Some(S::SigConstraintsFailure)),
        ("unverified-signature-widget.pdf", unverified_widget, TotalFailed, Some(S::SigConstraintsFailure)),
        ("need-appearances-set.pdf", need_appearances, TotalFailed, Some(S::SigConstraintsFailure)),
        ("time-stamp-token-as-signature.pdf", token_as_signature, TotalFailed, Some(S::FormatFailure)),
    ];
    if have_hanko {
        for (f, ind, sub) in [
            ("ph-valid.pdf", TotalPassed, None),
            ("ph-cert-p2-filled.pdf", TotalPassed, None),
            ("ph-cert-p1-filled.pdf", TotalFailed, Some(S::SigConstraintsFailure)),
            ("ph-cert-p2-annotated.pdf", TotalFailed, Some(S::SigConstraintsFailure)),
            ("ph-adbe-revinfo.pdf", TotalPassed, None),
            ("ph-cert-p2-refilled.pdf", Indeterminate, Some(S::SigConstraintsFailure)),
            ("ph-blt-2.pdf", TotalPassed, None),
            ("ph-blt-3.pdf", TotalPassed, None),
            ("ph-seven-hours.pdf", TotalPassed, None),
        ] {
            cases.push((f, std::fs::read(d.join(f)).unwrap(), ind, sub));
        }
        assert_eq!(cases.iter().filter(|c| c.0.starts_with("ph-")).count(), PYHANKO_MADE.len());
    }
    let policy = Policy {
        anchors: vec![pki.root.clone()],
        intermediates: vec![pki.ca.clone()],
        crls: vec![crl.clone(), root_crl.clone()],
        ocsps: vec![],
        at: now,
        fetch: None,
        revocation: kyso_verify::RevocationMode::Require,
    };
    let mut kyso_passed = std::collections::BTreeMap::new();
    for (name, bytes, ind, sub) in &cases {
        std::fs::write(d.join(name), bytes).unwrap();
        let r = kyso_verify::validate_pdf(name, bytes, &policy);
        assert_eq!((r.indication, r.sub_indication), (*ind, *sub), "{name}:\n{}", kyso_verify::report::text(&r));
        kyso_passed.insert(name.to_string(), r.indication == TotalPassed);
        // Every report renders.
        assert!(kyso_verify::report::html(&r).contains("KẾT QUẢ KIỂM TRA CHỮ KÝ SỐ"));
        kyso_verify::report::pdf(&r).unwrap();
    }
    if !have_hanko {
        return;
    }
    // Revocation data inside pyHanko's signature (adbe-revocationInfoArchival) is enough on its
    // own; without it and without CRLs there is nothing to judge revocation by.
    let bare = Policy {
        anchors: policy.anchors.clone(),
        intermediates: policy.intermediates.clone(),
        crls: vec![],
        ocsps: vec![],
        at: policy.at,
        fetch: None,
        revocation: policy.revocation,
    };
    let r = kyso_verify::validate_pdf("ph-adbe-revinfo.pdf", &std::fs::read(d.join("ph-adbe-revinfo.pdf")).unwrap(), &bare);
    assert_eq!(r.indication, TotalPassed, "{}", kyso_verify::report::text(&r));
    let sources: Vec<String> = r.signatures[0].revocation.iter().map(|e| format!("{:?}", e.status)).collect();
    assert!(sources.iter().all(|s| s.contains("nhúng trong chữ ký")), "{sources:?}");
    let r = kyso_verify::validate_pdf("ph-valid.pdf", &std::fs::read(d.join("ph-valid.pdf")).unwrap(), &bare);
    assert_eq!((r.indication, r.sub_indication), (Indeterminate, Some(S::TryLater)));
    // B-LT as pyHanko writes it: each signer's DSS update carries what its signature needs, so
    // the CRLs from the document alone are enough, and each signature time is the time-stamp's.
    for f in ["ph-blt-2.pdf", "ph-blt-3.pdf"] {
        let r = kyso_verify::validate_pdf(f, &std::fs::read(d.join(f)).unwrap(), &bare);
        assert_eq!(r.indication, TotalPassed, "{f}: {}", kyso_verify::report::text(&r));
        let classes: Vec<kyso_pdf::revisions::ChangeClass> =
            r.signatures.iter().flat_map(|s| &s.later_revisions).flat_map(|l| &l.changes).map(|c| c.class).collect();
        use kyso_pdf::revisions::ChangeClass::{Signing, Validation};
        assert!(classes.contains(&Validation) && classes.iter().all(|c| matches!(c, Signing | Validation)), "{f}: {classes:?}");
    }
    // The claimed signing time seven hours after the time-stamp is named as the known
    // local-time error, and the signature keeps the time-stamp's time.
    let r = kyso_verify::validate_pdf("ph-seven-hours.pdf", &std::fs::read(d.join("ph-seven-hours.pdf")).unwrap(), &policy);
    let text = kyso_verify::report::text(&r);
    assert!(text.contains("lệch đúng 7 giờ"), "{text}");
    // The refilled field is named with both values.
    let r = kyso_verify::validate_pdf("ph-cert-p2-refilled.pdf", &std::fs::read(d.join("ph-cert-p2-refilled.pdf")).unwrap(), &policy);
    let text = kyso_verify::report::text(&r);
    assert!(text.contains("Nguyễn Văn An") && text.contains("Trần Thị Bình"), "{text}");
    // pyHanko on the same files, with the same trust and CRLs.
    pem_file(&d.join("root.pem"), &pki.root);
    pem_file(&d.join("ca.pem"), &pki.ca);
    std::fs::write(d.join("crl-1.der"), &crl).unwrap();
    std::fs::write(d.join("crl-2.der"), &root_crl).unwrap();
    if let Ok(keep) = std::env::var("KYSO_KEEP_FIXTURES") {
        let _ = std::fs::create_dir_all(&keep);
        for e in std::fs::read_dir(d).unwrap().flatten() {
            if e.path().is_file() {
                std::fs::copy(e.path(), Path::new(&keep).join(e.file_name())).unwrap();
            }
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pyhanko_fixtures.py");
    let files: Vec<PathBuf> = cases.iter().map(|c| d.join(c.0)).collect();
    let o = Command::new(&hanko).arg(&script).arg("check").arg(d).args(&files).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let verdicts: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let listed = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/disagreements.md")).unwrap();
    let mut disagreements = Vec::new();
    let mut unexplained = Vec::new();
    for (name, k) in &kyso_passed {
        let v = &verdicts[name];
        let Some(list) = v.as_array() else { continue }; // pyHanko could not read it: no verdict
        let h = !list.is_empty() && list.iter().all(|x| x.as_bool() == Some(true));
        if h != *k {
            disagreements.push(name.clone());
            if !listed.contains(&format!("`{name}`")) {
                unexplained.push(format!("{name}: kyso passed={k}, pyHanko {v}"));
            }
        }
    }
    assert!(unexplained.is_empty(), "disagreements not explained in tests/disagreements.md: {unexplained:#?}\npyHanko: {verdicts}");
    for line in listed.lines().filter(|l| l.starts_with("- `")) {
        let name = line.split('`').nth(1).unwrap();
        assert!(disagreements.iter().any(|d| d == name), "tests/disagreements.md lists {name}, but kyso and pyHanko now agree on it");
    }
}

/// Revocation data fetched where the network is allowed: the certificate's OCSP responder
/// (GET form) first, then its CRL distribution point; the report names where it came from.
#[test]
fn revocation_is_fetched_from_the_responder_then_the_crl_distribution_point() {
    use std::cell::RefCell;
    let pki = Pki::new("Root thử nghiệm");
    let now = pki.now;
    let urls = Urls { crl: Some("http://crl.test/ca.crl".into()), ocsp: Some("http://ocsp.test/ocsp".into()), ca_issuers: None };
    let key = pki.session.generate_key("n", KeyAlgorithm::EcP256).unwrap();
    let signer = (pki.leaf_with_urls(CertProfile::Individual, "Nguyễn Văn Mạng", key.public_key_spki(), -30, 365, urls), key);
    // No time-stamp: the time-stamp authority's own revocation would need sources too.
    let pdf = sign(&base_pdf(), &signer, &pki, "Chữ ký", now - Duration::hours(1), None);
    let serial = cert::parse(&signer.0).unwrap().0.tbs_certificate.serial_number.as_bytes().to_vec();
    let root_crl = pki.root_crl();
    // (case, responder answers with, CRL served, expected indication, sub-indication, source named, URLs asked)
    #[derive(Clone, Copy, PartialEq)]
    enum Ocsp {
        Down,
        Good,
        RevokedBefore,
    }
    let cases = [
        ("responder answers", Ocsp::Good, true, Indication::TotalPassed, None, "OCSP tải từ http://ocsp.test/ocsp", 1),
        ("responder down, CRL served", Ocsp::Down, true, Indication::TotalPassed, None, "CRL tải từ http://crl.test/ca.crl", 2),
        ("nothing reachable", Ocsp::Down, false, Indication::Indeterminate, Some(SubIndication::TryLater), "", 2),
        (
            "revoked before the claimed time",
            Ocsp::RevokedBefore,
            true,
            Indication::TotalFailed,
            Some(SubIndication::Revoked),
            "OCSP tải từ",
            1,
        ),
    ];
    for (case, ocsp_mode, crl_up, ind, sub, source, asks) in cases {
        let asked = RefCell::new(Vec::<String>::new());
        let fetch = |url: &str| -> Option<Vec<u8>> {
            asked.borrow_mut().push(url.to_string());
            if let Some(tail) = url.strip_prefix("http://ocsp.test/ocsp/") {
                if ocsp_mode == Ocsp::Down {
                    return None;
                }
                use base64::Engine;
                let b64 = tail.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=");
                let req = kyso_pki::ocsp::parse_request(&base64::engine::general_purpose::STANDARD.decode(b64).ok()?).ok()?;
                assert_eq!(req.asked[0].serial, serial, "{case}: the request names the signer's certificate");
                let status = match ocsp_mode {
                    Ocsp::RevokedBefore => kyso_pki::ocsp::Status::Revoked { at: now - Duration::hours(2), reason: 1 },
                    _ => kyso_pki::ocsp::Status::Good,
                };
                let r = kyso_pki::ocsp::Responder { cert: &pki.ca, signer: &*pki.ca_key, scheme: SignatureScheme::EcdsaP256Sha256 };
                return kyso_pki::ocsp::respond(&r, &[(req.asked[0].id.clone(), status)], now, now, now + Duration::days(1), None).ok();
            }
            (url == "http://crl.test/ca.crl" && crl_up).then(|| pki.crl(&[]))
        };
        let policy = Policy {
            anchors: vec![pki.root.clone()],
            intermediates: vec![],
            crls: vec![root_crl.clone()],
            ocsps: vec![],
            at: now,
            fetch: Some(&fetch),
            revocation: kyso_verify::RevocationMode::Require,
        };
        let r = kyso_verify::validate_pdf("mang.pdf", &pdf, &policy);
        assert_eq!((r.indication, r.sub_indication), (ind, sub), "{case}:\n{}", kyso_verify::report::text(&r));
        let leaf_status = format!("{:?}", r.signatures[0].revocation.first().map(|e| &e.status));
        assert!(leaf_status.contains(source), "{case}: {leaf_status}");
        assert_eq!(asked.borrow().len(), asks, "{case}: {:?}", asked.borrow());
        // Offline, nothing is asked and nothing is known.
        let offline = Policy { fetch: None, ..policy };
        assert_eq!(kyso_verify::validate_pdf("mang.pdf", &pdf, &offline).sub_indication, Some(SubIndication::TryLater), "{case}");
    }
}

/// Regression: an old CRL (made before the signature, expired since) that does not list the
/// certificate hid a later revocation and stopped the validator from looking further.
#[test]
fn a_stale_crl_does_not_hide_a_revocation() {
    let pki = Pki::new("Root thử nghiệm");
    let now = pki.now;
    let urls = Urls { crl: Some("http://crl.test/ca.crl".into()), ocsp: None, ca_issuers: None };
    let key = pki.session.generate_key("s", KeyAlgorithm::EcP256).unwrap();
    let signer = (pki.leaf_with_urls(CertProfile::Individual, "Trần Văn Cũ", key.public_key_spki(), -30, 365, urls), key);
    let pdf = sign(&base_pdf(), &signer, &pki, "Chữ ký", now - Duration::hours(1), None);
    let old = pki.crl_at(&[], now - Duration::days(10), now - Duration::days(3));
    let revoked_now = pki.crl(&[(signer.0.clone(), now - Duration::hours(2))]);
    let current_empty = pki.crl(&[]);
    // (case, CRL served at the distribution point, expected indication, sub-indication)
    let cases = [
        ("offline: only the stale CRL", None, Indication::Indeterminate, Some(SubIndication::TryLater)),
        ("the current CRL lists it", Some(revoked_now), Indication::TotalFailed, Some(SubIndication::Revoked)),
        ("the current CRL does not", Some(current_empty), Indication::TotalPassed, None),
    ];
    for (case, served, ind, sub) in cases {
        let fetch = |url: &str| (url == "http://crl.test/ca.crl").then(|| served.clone()).flatten();
        let policy = Policy {
            anchors: vec![pki.root.clone()],
            intermediates: vec![pki.ca.clone()],
            crls: vec![old.clone(), pki.root_crl()],
            ocsps: vec![],
            at: now,
            fetch: Some(&fetch),
            revocation: kyso_verify::RevocationMode::Require,
        };
        let r = kyso_verify::validate_pdf("cu.pdf", &pdf, &policy);
        assert_eq!((r.indication, r.sub_indication), (ind, sub), "{case}:\n{}", kyso_verify::report::text(&r));
    }
}

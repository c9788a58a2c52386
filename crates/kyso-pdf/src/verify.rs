//! Checking the signatures already in a PDF: the structure of each /ByteRange (derived from
//! the file, not trusted), the CMS signature over those bytes, the time-stamps, and what the
//! later incremental updates changed. Trust in the certificates (chains, revocation) is the
//! caller's job: this module only says who signed, when they claim, and whether the bytes are
//! intact.

use crate::object::{get, Dict, Lexer, Obj, Ref};
use crate::reader::{Entry, PdfDoc};
use crate::sign::Hasher;
use crate::PdfResult;
use chrono::{DateTime, Utc};
use kyso_pki::{cms, tsp};
use kyso_token::HashAlg;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigKind {
    /// A signature (/Type /Sig).
    Signature,
    /// A document time-stamp (/Type /DocTimeStamp, PAdES B-LTA).
    DocTimeStamp,
}

/// What kind of problem a signature has (for the validation report's sub-indication).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The structure: byte range, /Contents, the CMS encoding.
    Format,
    /// The content does not match the signed digest.
    Hash,
    /// The signature value does not verify with the signer's key.
    Crypto,
    /// SHA-1 or a key that is too small.
    Weak,
    /// The signature time-stamp does not verify.
    Timestamp,
}

fn kind_of(e: &kyso_pki::PkiError) -> ProblemKind {
    use kyso_pki::PkiError as E;
    match e {
        E::DigestMismatch(_) => ProblemKind::Hash,
        E::BadSignature(_) => ProblemKind::Crypto,
        E::WeakKey(_) | E::Unsupported(_) => ProblemKind::Weak,
        _ => ProblemKind::Format,
    }
}

/// One signature and what was found about it.
#[derive(Debug, Clone)]
pub struct SignatureCheck {
    /// The field's full name.
    pub field: String,
    pub kind: SigKind,
    pub sub_filter: String,
    pub byte_range: [usize; 4],
    /// Where the signed revision ends (b + c).
    pub revision_end: usize,
    /// Whether the signature covers the whole file as it is.
    pub covers_whole_file: bool,
    /// The time the signer's software claims (/M), not proven.
    pub claimed_time: Option<DateTime<Utc>>,
    /// The time proven by a time-stamp (the signature time-stamp, or the document time-stamp).
    pub timestamp: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// The signer's (or the TSA's) certificate, DER.
    pub signer_cert: Option<Vec<u8>>,
    /// Every certificate carried in the CMS.
    pub certificates: Vec<Vec<u8>>,
    /// The CMS (or time-stamp token) itself, DER, without the padding.
    pub cms: Vec<u8>,
    /// Why the signature is not intact; empty when it is.
    pub problems: Vec<String>,
    /// The kind of each problem, in the same order.
    pub problem_kinds: Vec<ProblemKind>,
    /// What later updates changed that this signature (and the document's certification and
    /// the earlier signatures' field locks) does not allow.
    pub later_changes: Vec<String>,
    /// The positions in `changes` of the changes in `later_changes`.
    pub forbidden: Vec<usize>,
    /// Everything later updates changed, by revision.
    pub changes: Vec<(usize, crate::revisions::Change)>,
    /// For a certification signature: its DocMDP level (1, 2 or 3).
    pub certifies: Option<i64>,
    /// The FieldMDP lock this signature set, if any.
    pub lock: Option<crate::revisions::FieldLock>,
    /// The time-stamp authority's certificate and the certificates of its token, for the
    /// signature time-stamp (or the document time-stamp).
    pub tsa_cert: Option<Vec<u8>>,
    pub tsa_certificates: Vec<Vec<u8>>,
    /// The algorithms of the signature (and of its time-stamp), for the algorithm policy.
    pub facts: Option<kyso_pki::alg::SignatureFacts>,
    pub tsa_facts: Option<kyso_pki::alg::SignatureFacts>,
    /// The CMS signing-time attribute: the signer's clock, unproven.
    pub signing_time_attr: Option<DateTime<Utc>>,
}

impl SignatureCheck {
    fn fail(&mut self, kind: ProblemKind, message: impl Into<String>) {
        self.problems.push(message.into());
        self.problem_kinds.push(kind);
    }

    /// Records a problem (for callers that check a signature outside a PDF).
    pub fn push_problem(&mut self, kind: ProblemKind, message: impl Into<String>) {
        self.fail(kind, message);
    }

    /// Verifies a detached CMS signature over the content `digest_of` hashes, and its signature
    /// time-stamp, recording the signer, the certificates, the time and any problem. Returns
    /// what the ESS signing-certificate attribute says (None when absent), or None when the
    /// CMS did not verify.
    pub fn check_cms(&mut self, cms_der: &[u8], digest_of: &dyn Fn(HashAlg) -> Vec<u8>) -> Option<Option<bool>> {
        self.check_cms_with(cms_der, Some(digest_of))
    }

    fn check_cms_with(&mut self, cms_der: &[u8], digest_of: Option<&dyn Fn(HashAlg) -> Vec<u8>>) -> Option<Option<bool>> {
        let v = match cms::verify(cms_der, digest_of) {
            Ok(v) => v,
            Err(e) => {
                self.fail(kind_of(&e), e.to_string());
                return None;
            }
        };
        self.signer_cert = Some(v.signer_cert);
        self.certificates = v.certificates;
        self.facts = Some(v.facts);
        self.signing_time_attr = v.signing_time;
        match cms::signature_time_stamp_token(cms_der) {
            Ok(Some(token)) => {
                let value = cms::signature_value(cms_der).unwrap_or_default();
                match tsp::verify_token_over(&token, &|h| h.digest(&value)) {
                    Ok(t) => {
                        self.timestamp = Some(t.gen_time);
                        self.tsa_cert = Some(t.tsa_cert);
                        self.tsa_certificates = t.certificates;
                        self.tsa_facts = Some(t.facts);
                    }
                    Err(e) => self.fail(ProblemKind::Timestamp, format!("dấu thời gian của chữ ký không hợp lệ: {e}")),
                }
            }
            Ok(None) => {}
            Err(e) => self.fail(ProblemKind::Timestamp, format!("không đọc được dấu thời gian của chữ ký: {e}")),
        }
        if !v.has_signed_attributes && self.sub_filter != "adbe.pkcs7.detached" && !self.sub_filter.is_empty() {
            self.fail(ProblemKind::Format, format!("chữ ký /{} phải có thuộc tính được ký (signed attributes)", self.sub_filter));
        }
        Some(v.signing_certificate)
    }

    /// A check with nothing found yet, for the signature in field `field`.
    pub fn empty(field: &str) -> Self {
        SignatureCheck {
            field: field.into(),
            kind: SigKind::Signature,
            sub_filter: String::new(),
            byte_range: [0; 4],
            revision_end: 0,
            covers_whole_file: false,
            claimed_time: None,
            timestamp: None,
            reason: None,
            location: None,
            signer_cert: None,
            certificates: vec![],
            cms: vec![],
            problems: vec![],
            problem_kinds: vec![],
            later_changes: vec![],
            forbidden: vec![],
            changes: vec![],
            certifies: None,
            lock: None,
            tsa_cert: None,
            tsa_certificates: vec![],
            facts: None,
            tsa_facts: None,
            signing_time_attr: None,
        }
    }
    /// One line for logs and test messages (without the certificates' bytes).
    pub fn summary(&self) -> String {
        format!("'{}' problems: {:?}; later changes: {:?}", self.field, self.problems, self.later_changes)
    }
    /// Intact and followed only by signatures, time-stamps and validation data.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty() && self.later_changes.is_empty()
    }
}

/// A PDF text string as Rust text (UTF-16BE with BOM, UTF-8 with BOM, or PDFDocEncoding,
/// read as Latin-1 which agrees with it on every printable ASCII character).
pub fn text_of(b: &[u8]) -> String {
    if let Some(rest) = b.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    } else if let Some(rest) = b.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        b.iter().map(|c| char::from(*c)).collect()
    }
}

/// Parses a PDF date (`D:YYYYMMDDHHmmSS+HH'mm'`, trailing parts optional).
pub fn parse_pdf_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.strip_prefix("D:").unwrap_or(s);
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() < 4 {
        return None;
    }
    let part = |from: usize, len: usize, default: u32| digits.get(from..from + len).and_then(|p| p.parse().ok()).unwrap_or(default);
    let year: i32 = digits[..4].parse().ok()?;
    let naive =
        chrono::NaiveDate::from_ymd_opt(year, part(4, 2, 1), part(6, 2, 1))?.and_hms_opt(part(8, 2, 0), part(10, 2, 0), part(12, 2, 0))?;
    let rest = &s[digits.len()..];
    let offset = match rest.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let nums: Vec<i32> =
                rest[1..].split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect();
            let (h, m) = (nums.first().copied().unwrap_or(0), nums.get(1).copied().unwrap_or(0));
            if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
                return None; // not a time zone: the date is unreadable
            }
            let secs = h * 3600 + m * 60;
            if sign == '-' {
                -secs
            } else {
                secs
            }
        }
        _ => 0,
    };
    Some(DateTime::<Utc>::from_naive_utc_and_offset(naive - chrono::Duration::seconds(i64::from(offset)), Utc))
}

/// Every signature field with a value: (full name, reference to the signature dictionary).
/// The one field walker of the crate ([`crate::form::fields`]) finds them, so that signing,
/// verification and revision analysis agree on what the form holds.
fn signature_fields(doc: &PdfDoc<'_>) -> PdfResult<Vec<(String, Ref)>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (name, _, merged) in crate::form::fields(doc)? {
        if get(&merged, "FT").and_then(Obj::as_name) != Some(b"Sig") {
            continue;
        }
        if let Some(v) = get(&merged, "V").and_then(Obj::as_ref) {
            // A field with several widgets is one signature (two fields naming one signature
            // dictionary are two, each reported).
            if seen.insert((name.clone(), v)) {
                out.push((name, v));
            }
        }
    }
    Ok(out)
}

/// Checks every signature in `data`, oldest first.
pub fn check_signatures(data: &[u8]) -> PdfResult<Vec<SignatureCheck>> {
    Ok(check_document(data)?.signatures)
}

/// What a validator needs from the file, each found once: the signatures, the revisions, the
/// bytes after the last revision and whether the file is encrypted.
#[derive(Debug)]
pub struct DocumentCheck {
    /// Every signature, oldest first.
    pub signatures: Vec<SignatureCheck>,
    /// Where each readable revision ends.
    pub revision_ends: Vec<usize>,
    /// Bytes after the last readable revision that are not white space (appended data that no
    /// reader takes as part of the document).
    pub trailing_bytes: usize,
    /// Encrypted with the empty user password (a restricted document).
    pub encrypted: bool,
}

/// Checks every signature and the revisions of `data`.
pub fn check_document(data: &[u8]) -> PdfResult<DocumentCheck> {
    let doc = PdfDoc::read(data)?;
    let encrypted = doc.is_encrypted();
    let (signatures, revision_ends) = check_all(&doc, data)?;
    let revision_ends = revision_ends.unwrap_or_else(|| crate::revisions::revision_ends(data));
    let end = revision_ends.last().copied().unwrap_or(0);
    let trailing_bytes = data[end.min(data.len())..].iter().filter(|b| !b.is_ascii_whitespace()).count();
    Ok(DocumentCheck { signatures, revision_ends, trailing_bytes, encrypted })
}

/// The signatures of `doc`, and the revision ends when the revisions had to be analysed.
fn check_all(doc: &PdfDoc<'_>, data: &[u8]) -> PdfResult<(Vec<SignatureCheck>, Option<Vec<usize>>)> {
    let mut out = Vec::new();
    let fields = signature_fields(doc)?;
    // The signed ranges of later signatures contain those of earlier ones: hash the file once.
    let ranges: Vec<[usize; 4]> = fields
        .iter()
        .filter_map(|(_, r)| doc.get(*r).ok())
        .filter_map(|o| o.as_dict().and_then(|d| ints(get(d, "ByteRange"))))
        .filter(|v| v.len() == 4 && v.iter().all(|x| *x >= 0))
        .map(|v| [v[0] as usize, v[1] as usize, v[2] as usize, v[3] as usize])
        .collect();
    let shared = shared_sha256(data, &ranges);
    for (field, sig_ref) in fields {
        out.push(check_one(doc, data, field, sig_ref, &shared));
    }
    out.sort_by_key(|c| c.revision_end);
    if out.is_empty() {
        return Ok((out, None));
    }
    // What each later update changed, judged by the certification level and the locks of the
    // signatures made so far.
    let mut revisions = crate::revisions::revisions(data)?;
    // The revision each signature belongs to: the first that ends at or after its byte range
    // (a revision's end may include the end-of-line after %%EOF).
    let ends: Vec<usize> = revisions.iter().map(|r| r.end).collect();
    let own = |end: usize| ends.iter().position(|e| *e >= end).unwrap_or(usize::MAX);
    let made: HashSet<(String, usize)> = out.iter().map(|c| (c.field.clone(), own(c.revision_end))).collect();
    // A signature added by an update must be one of those checked here; any other (a value
    // that is not a signature dictionary, a widget outside the form) is unverified content.
    for r in revisions.iter_mut() {
        for ch in r.changes.iter_mut().filter(|ch| ch.class == crate::revisions::ChangeClass::Signing && (ch.signed || ch.visible)) {
            let name = ch.field.clone().unwrap_or_default();
            if !made.contains(&(name.clone(), r.index)) {
                ch.class = crate::revisions::ChangeClass::Other;
                ch.what = format!("trường chữ ký '{name}' có giá trị hoặc hình vẽ nhưng không phải chữ ký được kiểm tra");
            }
        }
    }
    let docmdp = crate::sign::docmdp_permission(doc)?;
    let mut locks = Vec::new();
    for c in out.iter_mut() {
        locks.extend(c.lock.clone());
        if !c.problems.is_empty() {
            continue;
        }
        let mine = own(c.revision_end);
        c.changes = revisions.iter().filter(|r| r.index > mine).flat_map(|r| r.changes.iter().map(|ch| (r.index, ch.clone()))).collect();
        let judged = crate::revisions::judge(c.changes.iter().map(|(_, ch)| ch), docmdp, &locks);
        c.forbidden = judged.iter().map(|(i, _)| *i).collect();
        c.later_changes = judged.into_iter().map(|(_, why)| why).collect();
    }
    Ok((out, Some(ends)))
}

/// SHA-256 of each well-formed byte range `[0 a b c]`, in one pass over the file: a running
/// hash advances to each range's gap, is copied, and the copy takes the range's tail.
fn shared_sha256(data: &[u8], ranges: &[[usize; 4]]) -> HashMap<[usize; 4], Vec<u8>> {
    let mut valid: Vec<[usize; 4]> =
        ranges.iter().copied().filter(|r| r[0] == 0 && r[1] < r[2] && r[2].checked_add(r[3]).is_some_and(|e| e <= data.len())).collect();
    valid.sort_unstable();
    valid.dedup();
    let mut out = HashMap::new();
    let mut running = Hasher::new(HashAlg::Sha256);
    let mut pos = 0;
    for r in valid {
        running.update(&data[pos..r[1]]);
        pos = r[1];
        let mut h = running.clone();
        h.update(&data[r[2]..r[2] + r[3]]);
        out.insert(r, h.finish());
    }
    out
}

/// The DocMDP level and the FieldMDP lock a signature dictionary declares.
fn transforms(doc: &PdfDoc<'_>, sig: &Dict) -> (Option<i64>, Option<crate::revisions::FieldLock>) {
    use crate::revisions::FieldLock;
    let mut docmdp = None;
    let mut lock = None;
    let refs = get(sig, "Reference").and_then(|r| doc.resolve(r).ok());
    for r in refs.as_ref().and_then(Obj::as_array).into_iter().flatten().take(16) {
        let Some(d) = doc.resolve(r).ok().and_then(|o| o.as_dict().cloned()) else { continue };
        let params = get(&d, "TransformParams").and_then(|p| doc.resolve(p).ok()).and_then(|p| p.as_dict().cloned()).unwrap_or_default();
        match get(&d, "TransformMethod").and_then(Obj::as_name) {
            Some(b"DocMDP") => docmdp = Some(get(&params, "P").and_then(Obj::as_int).unwrap_or(2)),
            Some(b"FieldMDP") => {
                let fields: Vec<String> = get(&params, "Fields")
                    .and_then(|f| doc.resolve(f).ok())
                    .and_then(|f| f.as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|f| if let Obj::Str(s) = f { Some(text_of(s)) } else { None })
                    .collect();
                lock = match get(&params, "Action").and_then(Obj::as_name) {
                    Some(b"All") => Some(FieldLock::All),
                    Some(b"Include") => Some(FieldLock::Include(fields)),
                    Some(b"Exclude") => Some(FieldLock::Exclude(fields)),
                    _ => None,
                };
            }
            _ => {}
        }
    }
    (docmdp, lock)
}

fn ints(o: Option<&Obj>) -> Option<Vec<i64>> {
    o.and_then(Obj::as_array).map(|a| a.iter().filter_map(Obj::as_int).collect())
}

fn check_one(doc: &PdfDoc<'_>, data: &[u8], field: String, sig_ref: Ref, shared: &HashMap<[usize; 4], Vec<u8>>) -> SignatureCheck {
    let mut c = SignatureCheck::empty(&field);
    let sig = match doc.get(sig_ref) {
        Ok(Obj::Dict(d)) => d,
        Ok(_) => {
            c.fail(ProblemKind::Format, "giá trị của trường chữ ký không phải từ điển chữ ký");
            return c;
        }
        Err(e) => {
            c.fail(ProblemKind::Format, format!("không đọc được từ điển chữ ký: {e}"));
            return c;
        }
    };
    if get(&sig, "Type").and_then(Obj::as_name) == Some(b"DocTimeStamp") {
        c.kind = SigKind::DocTimeStamp;
    }
    (c.certifies, c.lock) = transforms(doc, &sig);
    c.sub_filter = get(&sig, "SubFilter").and_then(Obj::as_name).map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
    let text = |k: &str| match get(&sig, k) {
        Some(Obj::Str(s)) => Some(text_of(s)),
        _ => None,
    };
    c.reason = text("Reason");
    c.location = text("Location");
    c.claimed_time = text("M").as_deref().and_then(parse_pdf_date);

    // The byte range, derived from the file layout.
    let br = ints(get(&sig, "ByteRange")).unwrap_or_default();
    if br.len() != 4 || br.iter().any(|v| *v < 0) {
        c.fail(ProblemKind::Format, "/ByteRange không phải bốn số không âm");
        return c;
    }
    let br = [br[0] as usize, br[1] as usize, br[2] as usize, br[3] as usize];
    c.byte_range = br;
    let end = br[2].saturating_add(br[3]);
    c.revision_end = end;
    if br[0] != 0 || br[1] >= br[2] || end > data.len() || br[2] == 0 {
        c.fail(
            ProblemKind::Format,
            format!("/ByteRange [{} {} {} {}] không hợp lệ với tệp dài {} byte", br[0], br[1], br[2], br[3], data.len()),
        );
        return c;
    }
    c.covers_whole_file = end == data.len();
    let gap = &data[br[1]..br[2]];
    if gap.first() != Some(&b'<')
        || gap.last() != Some(&b'>')
        || !gap[1..gap.len() - 1].iter().all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace())
    {
        c.fail(ProblemKind::Format, "khoảng trống của /ByteRange không đúng là chuỗi /Contents dạng hex");
        return c;
    }
    let signed_rev = &data[..end];
    if !signed_rev.trim_ascii_end().ends_with(b"%%EOF") {
        c.fail(ProblemKind::Format, "phần được ký không kết thúc tại một phiên bản (%%EOF) của tệp");
    }
    let contents = match get(&sig, "Contents") {
        Some(Obj::Str(s)) => s.clone(),
        _ => {
            c.fail(ProblemKind::Format, "từ điển chữ ký thiếu /Contents");
            return c;
        }
    };
    let gap_bytes =
        hex::decode(gap[1..gap.len() - 1].iter().copied().filter(u8::is_ascii_hexdigit).collect::<Vec<u8>>()).unwrap_or_default();
    if gap_bytes != contents {
        c.fail(ProblemKind::Format, "/Contents không nằm đúng trong khoảng trống của /ByteRange");
        return c;
    }
    // The gap must be this dictionary's /Contents in the signed revision, and the dictionary
    // must not be redefined later.
    match PdfDoc::read(signed_rev) {
        Ok(rev) => match rev.entries.get(&sig_ref.0) {
            Some(Entry::InUse(off, _)) if *off < br[1] => {
                let mut lx = Lexer::new(signed_rev, *off);
                let in_rev = lx.indirect(&|o| o.as_int().map(|i| i as usize)).and_then(|(r, o)| Ok((r, rev.decrypted(r, o)?)));
                let ends_after_gap = lx.pos >= br[2];
                match in_rev {
                    Ok((_, Obj::Dict(d))) if ends_after_gap => {
                        if d != sig {
                            c.fail(ProblemKind::Format, "từ điển chữ ký đã bị định nghĩa lại sau khi ký");
                        }
                    }
                    _ => c.fail(ProblemKind::Format, "khoảng trống của /ByteRange không thuộc từ điển chữ ký này"),
                }
            }
            _ => c.fail(ProblemKind::Format, "từ điển chữ ký không nằm trong phần được ký"),
        },
        Err(e) => c.fail(ProblemKind::Format, format!("không mở được phiên bản được ký: {e}")),
    }

    let digest_of = |h: HashAlg| {
        if h == HashAlg::Sha256 {
            if let Some(d) = shared.get(&br) {
                return d.clone();
            }
        }
        let mut d = Hasher::new(h);
        d.update(&data[..br[1]]);
        d.update(&data[br[2]..end]);
        d.finish()
    };
    let Ok(cms_der) = cms::der_prefix(&contents) else {
        c.fail(ProblemKind::Format, "/Contents không chứa dữ liệu DER hợp lệ");
        return c;
    };
    c.cms = cms_der.to_vec();
    match c.kind {
        SigKind::DocTimeStamp => match tsp::verify_token(cms_der, HashAlg::Sha256, &digest_of(HashAlg::Sha256)) {
            Ok(t) => {
                c.timestamp = Some(t.gen_time);
                c.signer_cert = Some(t.tsa_cert.clone());
                c.tsa_cert = Some(t.tsa_cert);
                c.certificates = t.certificates.clone();
                c.tsa_certificates = t.certificates;
            }
            Err(e) => c.fail(
                if kind_of(&e) == ProblemKind::Weak { ProblemKind::Weak } else { kind_of(&e) },
                format!("dấu thời gian tài liệu không hợp lệ: {e}"),
            ),
        },
        SigKind::Signature => match c.sub_filter.as_str() {
            "ETSI.CAdES.detached" | "adbe.pkcs7.detached" => {
                if let Some(signing_certificate) = c.check_cms(cms_der, &digest_of) {
                    if signing_certificate == Some(false) {
                        c.fail(ProblemKind::Crypto, "thuộc tính signing-certificate không khớp chứng thư của người ký");
                    }
                    if c.sub_filter == "ETSI.CAdES.detached" && signing_certificate.is_none() {
                        c.fail(ProblemKind::Format, "chữ ký PAdES thiếu thuộc tính signing-certificate-v2");
                    }
                }
            }
            // The legacy form: the CMS encapsulates the SHA-1 digest of the signed bytes.
            "adbe.pkcs7.sha1" => {
                if c.check_cms_with(cms_der, None).is_some() {
                    let inner = cms::verify(cms_der, None).ok().and_then(|v| v.econtent);
                    if inner.as_deref() != Some(digest_of(HashAlg::Sha1).as_slice()) {
                        c.fail(ProblemKind::Hash, "nội dung đã bị thay đổi sau khi ký (giá trị băm SHA-1 không khớp)");
                    }
                }
            }
            // The legacy form: a bare PKCS#1 signature, the certificates in /Cert.
            "adbe.x509.rsa_sha1" => check_x509_rsa_sha1(doc, &sig, &mut c, cms_der, &digest_of),
            other => c.fail(ProblemKind::Format, format!("kiểu chữ ký /SubFilter /{other} không được hỗ trợ")),
        },
    }
    c
}

/// adbe.x509.rsa_sha1 (ISO 32000-1 §12.8.3.2): /Contents is an OCTET STRING holding a PKCS#1
/// v1.5 signature of the signed bytes; /Cert is the signer's certificate (or an array, the
/// signer's first). The hash is the one the signature's DigestInfo names: each is tried.
fn check_x509_rsa_sha1(doc: &PdfDoc<'_>, sig: &Dict, c: &mut SignatureCheck, contents: &[u8], digest_of: &dyn Fn(HashAlg) -> Vec<u8>) {
    let certs: Vec<Vec<u8>> = match get(sig, "Cert").map(|o| doc.resolve(o)) {
        Some(Ok(Obj::Str(s))) => vec![s],
        Some(Ok(Obj::Array(a))) => a.iter().filter_map(|o| if let Obj::Str(s) = o { Some(s.clone()) } else { None }).collect(),
        _ => vec![],
    };
    let Some(signer) = certs.first().cloned() else {
        c.fail(ProblemKind::Format, "chữ ký adbe.x509.rsa_sha1 thiếu chứng thư /Cert");
        return;
    };
    let value = match kyso_pki::ber::Tlv::parse(contents) {
        Ok(t) if t.tag_byte() & 0x1f == 0x04 => t.string_bytes().unwrap_or_default(),
        _ => {
            c.fail(ProblemKind::Format, "/Contents của adbe.x509.rsa_sha1 không phải OCTET STRING");
            return;
        }
    };
    let spki = match kyso_pki::cert::spki_der(&signer) {
        Ok(s) => s,
        Err(e) => {
            c.fail(ProblemKind::Format, format!("không đọc được chứng thư /Cert: {e}"));
            return;
        }
    };
    c.signer_cert = Some(signer);
    c.certificates = certs;
    match kyso_pki::alg::verify_pkcs1_any_hash(&spki, digest_of, &value) {
        Ok(f) => c.facts = Some(f),
        Err(e) => c.fail(kind_of(&e), e.to_string()),
    }
}

//! kyso-verify: validation of signed PDFs and detached CMS signatures, with the indications of
//! ETSI EN 319 102-1 per signature and for the document.
//!
//! For each signature: the structure and the signed bytes (`kyso_pdf::verify`), the best
//! signing time (a verified signature time-stamp or a later document time-stamp; otherwise the
//! claimed time, marked as claimed), the certificate path to a trust anchor at that time
//! (`kyso_pki::path`), the revocation status of every certificate on the path at that time
//! (embedded and configured CRLs and OCSP responses, then the network where allowed), and what
//! later revisions changed. Pure: the time, trust anchors and revocation sources come in.

pub mod algorithms;
pub mod report;
pub mod trust_data;

use chrono::{DateTime, Utc};
use kyso_pdf::revisions::{Change, ChangeClass};
use kyso_pdf::verify::{ProblemKind, SigKind, SignatureCheck};
use kyso_pki::path::{self, LeafUsage, PathInput, PathProblem, Revocation};
use serde::Serialize;

/// The main indication (EN 319 102-1 §5.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Indication {
    #[serde(rename = "TOTAL-PASSED")]
    TotalPassed,
    #[serde(rename = "TOTAL-FAILED")]
    TotalFailed,
    #[serde(rename = "INDETERMINATE")]
    Indeterminate,
}

impl Indication {
    pub fn label_vi(self) -> &'static str {
        match self {
            Indication::TotalPassed => "HỢP LỆ",
            Indication::TotalFailed => "KHÔNG HỢP LỆ",
            Indication::Indeterminate => "CHƯA XÁC ĐỊNH ĐƯỢC",
        }
    }
    /// The exit status of `kyso verify`: 0 passed, 1 failed, 2 indeterminate.
    pub fn exit_code(self) -> u8 {
        match self {
            Indication::TotalPassed => 0,
            Indication::TotalFailed => 1,
            Indication::Indeterminate => 2,
        }
    }
    /// The ETSI name, as in the JSON report.
    pub fn code(self) -> String {
        serde_name(self)
    }
    /// How bad: passed < indeterminate < failed.
    fn rank(self) -> u8 {
        match self {
            Indication::TotalPassed => 0,
            Indication::Indeterminate => 1,
            Indication::TotalFailed => 2,
        }
    }
}

/// The sub-indications kyso uses (EN 319 102-1 §5.1.3, tables 5 and 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubIndication {
    FormatFailure,
    HashFailure,
    SigCryptoFailure,
    Revoked,
    Expired,
    NotYetValid,
    SigConstraintsFailure,
    ChainConstraintsFailure,
    CertificateChainGeneralFailure,
    CryptoConstraintsFailure,
    CryptoConstraintsFailureNoPoe,
    NoSigningCertificateFound,
    NoCertificateChainFound,
    RevokedNoPoe,
    OutOfBoundsNoPoe,
    TryLater,
    SignedDataNotFound,
}

impl SubIndication {
    /// The ETSI name, as in the JSON report.
    pub fn code(self) -> String {
        serde_name(self)
    }
    pub fn label_vi(self) -> &'static str {
        use SubIndication::*;
        match self {
            FormatFailure => "cấu trúc chữ ký không đúng",
            HashFailure => "nội dung đã bị thay đổi sau khi ký",
            SigCryptoFailure => "giá trị chữ ký không khớp với khóa của người ký",
            Revoked => "chứng thư số đã bị thu hồi trước khi ký",
            Expired => "chứng thư số đã hết hạn khi ký",
            NotYetValid => "chứng thư số chưa có hiệu lực khi ký",
            SigConstraintsFailure => "tài liệu bị sửa đổi sau khi ký theo cách không được phép",
            ChainConstraintsFailure => "chứng thư không đáp ứng ràng buộc (mục đích sử dụng, ràng buộc tên…)",
            CertificateChainGeneralFailure => "chuỗi chứng thư không hợp lệ",
            CryptoConstraintsFailure => "thuật toán hoặc khóa quá yếu",
            CryptoConstraintsFailureNoPoe => "thuật toán hoặc khóa đã quá yếu và không có dấu thời gian chứng minh đã ký khi còn đủ mạnh",
            NoSigningCertificateFound => "không tìm thấy chứng thư của người ký",
            NoCertificateChainFound => "không xây được chuỗi tới chứng thư gốc tin cậy",
            RevokedNoPoe => "chứng thư đã bị thu hồi và không có bằng chứng đã ký trước đó",
            OutOfBoundsNoPoe => "chứng thư đã hết hạn và không có dấu thời gian chứng minh đã ký trước đó",
            TryLater => "chưa có thông tin thu hồi; hãy kiểm tra lại sau",
            SignedDataNotFound => "không có chữ ký số",
        }
    }
    fn indication(self) -> Indication {
        use SubIndication::*;
        match self {
            FormatFailure | HashFailure | SigCryptoFailure | Revoked | Expired | NotYetValid => Indication::TotalFailed,
            _ => Indication::Indeterminate,
        }
    }
}

/// Fetches a URL's body (None when it cannot).
pub type Fetch<'a> = &'a dyn Fn(&str) -> Option<Vec<u8>>;

/// Trust, time and revocation sources for a validation.
pub struct Policy<'a> {
    pub anchors: Vec<Vec<u8>>,
    /// Further intermediate certificates (a configured store).
    pub intermediates: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
    pub ocsps: Vec<Vec<u8>>,
    /// The validation time ("now", or an earlier time asked for).
    pub at: DateTime<Utc>,
    /// Fetches a URL (a CRL distribution point) where the network is allowed.
    pub fetch: Option<Fetch<'a>>,
    /// What to do when no revocation data can be found.
    pub revocation: RevocationMode,
}

/// When no CRL or OCSP response speaks about a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationMode {
    /// The signature cannot be judged yet: INDETERMINATE / TRY_LATER (EN 319 102-1).
    #[default]
    Require,
    /// Accepted with a note (pyHanko's and Acrobat's "soft-fail"); a revocation that is
    /// found still counts. For comparing with other validators and for offline archives.
    SoftFail,
}

/// A certificate as a reader needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertSummary {
    pub subject: String,
    pub common_name: String,
    pub organisation: Option<String>,
    pub units: Vec<String>,
    pub title: Option<String>,
    pub serial: String,
    pub issuer: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

impl CertSummary {
    pub fn of(der: &[u8]) -> Option<Self> {
        let (_, i) = kyso_pki::cert::parse(der).ok()?;
        use kyso_pki::name::Attr;
        let one = |a: Attr| i.subject.get(a).map(str::to_string);
        Some(CertSummary {
            subject: i.subject.to_string(),
            common_name: one(Attr::CN).unwrap_or_default(),
            organisation: one(Attr::O),
            units: i.subject.all(Attr::OU).into_iter().map(str::to_string).collect(),
            title: one(Attr::Title),
            serial: i.serial_hex,
            issuer: i.issuer.to_string(),
            not_before: i.not_before,
            not_after: i.not_after,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// A verified signature time-stamp.
    SignatureTimestamp,
    /// A verified later document time-stamp (proof the signature existed by then).
    DocumentTimestamp,
    /// Only what the signer's software wrote; not proven.
    Claimed,
    None,
}

impl TimeSource {
    pub fn label_vi(self) -> &'static str {
        match self {
            TimeSource::SignatureTimestamp => "theo dấu thời gian của chữ ký",
            TimeSource::DocumentTimestamp => "theo dấu thời gian tài liệu sau đó",
            TimeSource::Claimed => "do phần mềm ký ghi, chưa được chứng minh",
            TimeSource::None => "không có",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevocationEntry {
    pub subject: String,
    #[serde(flatten)]
    pub status: Revocation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaterRevision {
    pub revision: usize,
    pub changes: Vec<Change>,
}

/// A later change named: in which revision, of what class, what it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForbiddenChange {
    pub revision: usize,
    pub class: ChangeClass,
    pub what: String,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureReport {
    pub id: usize,
    pub field: String,
    /// "signature" or "document_timestamp".
    pub kind: String,
    pub sub_filter: String,
    pub indication: Indication,
    pub sub_indication: Option<SubIndication>,
    pub signer: Option<CertSummary>,
    pub signing_time: Option<DateTime<Utc>>,
    pub signing_time_source: TimeSource,
    pub claimed_time: Option<DateTime<Utc>>,
    pub timestamp_authority: Option<String>,
    /// The signed bytes are intact (digest and signature value verify).
    pub intact: bool,
    pub covers_whole_file: bool,
    pub byte_range: [usize; 4],
    pub chain: Vec<String>,
    pub trust_anchor: Option<String>,
    pub revocation: Vec<RevocationEntry>,
    pub later_revisions: Vec<LaterRevision>,
    /// Changes after this signature that it does not allow.
    pub disallowed_changes: Vec<String>,
    /// The same changes, each with its revision and class (what made the indication).
    pub forbidden_changes: Vec<ForbiddenChange>,
    /// Permitted changes that alter what the signer saw (a filled field's value replaced).
    pub altered_after_signing: Vec<ForbiddenChange>,
    /// The signature's algorithms ("RSA 2048 bit, SHA-256").
    pub algorithms: Option<String>,
    pub certification: Option<i64>,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// Why the indication is what it is, and notes, in Vietnamese.
    pub messages: Vec<String>,
}

/// Names the report's JSON layout, so that scripts can check what they parse.
pub const REPORT_SCHEMA: &str = "kyso.verify/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The JSON layout's name and version ([`REPORT_SCHEMA`]); fields are only ever added.
    pub schema: &'static str,
    /// "pdf" or "cms".
    pub format: String,
    pub file: String,
    pub sha256: String,
    pub size: u64,
    pub validation_time: DateTime<Utc>,
    pub indication: Indication,
    pub sub_indication: Option<SubIndication>,
    pub signatures: Vec<SignatureReport>,
    pub notes: Vec<String>,
    /// For a detached signature (`format` "cms"): the signed content file; `file`, `sha256`
    /// and `size` are then the signature file's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentFile>,
}

/// A file as the report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContentFile {
    pub file: String,
    pub sha256: String,
    pub size: u64,
}

fn vn_time(t: DateTime<Utc>) -> String {
    kyso_pdf::decree30::iso_time(t)
}

use kyso_pki::cert::subject_text as subject;

/// The name serde gives a unit variant ("TOTAL-PASSED", "TRY_LATER").
fn serde_name(v: impl Serialize) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The outcome of a path and revocation check for one certificate at one time.
struct Trust {
    chain: Vec<Vec<u8>>,
    revocation: Vec<RevocationEntry>,
    failure: Option<(SubIndication, String)>,
    notes: Vec<String>,
}

/// Revocation data by where it came from, so that the report can say so.
#[derive(Default)]
struct Found {
    crls: Vec<Vec<u8>>,
    ocsps: Vec<Vec<u8>>,
}

/// Revocation data: the policy's (given or the built-in CA's), the document's DSS, the
/// signatures' own, and what was fetched.
struct Sources<'p, 'a> {
    policy: &'p Policy<'a>,
    dss: Found,
    embedded: Found,
    fetched: Found,
}

/// A "good" that says nothing about `at`: made before it and no longer current at `now`
/// (revocation is for good, so a current list that does not name the certificate shows it
/// was not revoked at `at` either).
fn stale(r: &Revocation, at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    matches!(r, Revocation::Good { produced, valid_until, .. } if *produced < at && valid_until.is_none_or(|u| u < now))
}

/// Names where a status came from ("CRL" becomes "CRL trong DSS của tệp").
fn from(r: Revocation, origin: &str) -> Revocation {
    match r {
        Revocation::Good { source, produced, valid_until } => {
            Revocation::Good { source: format!("{source} {origin}"), produced, valid_until }
        }
        Revocation::Revoked { source, at, reason } => Revocation::Revoked { source: format!("{source} {origin}"), at, reason },
        Revocation::Unknown => Revocation::Unknown,
    }
}

impl<'p, 'a> Sources<'p, 'a> {
    fn new(policy: &'p Policy<'a>) -> Self {
        Sources { policy, dss: Found::default(), embedded: Found::default(), fetched: Found::default() }
    }

    /// Adds the CRLs and OCSP responses a signature carries (checked against their issuers
    /// when used, like every other source).
    fn add_embedded(&mut self, cms: &[u8]) {
        if let Ok(info) = kyso_pki::cms::revocation_info(cms) {
            self.embedded.crls.extend(info.crls);
            self.embedded.ocsps.extend(info.ocsps);
        }
    }

    /// The status of `cert` for a signature made at `at`: what the sources given say, else
    /// (or when that is stale) what the network says.
    fn status(&mut self, cert: &[u8], issuer: &[u8], at: DateTime<Utc>) -> Revocation {
        let p = self.policy;
        let mut r = from(path::revocation(cert, issuer, &p.crls, &p.ocsps), "được cung cấp khi kiểm tra");
        for (found, origin) in [(&self.dss, "trong DSS của tệp"), (&self.embedded, "nhúng trong chữ ký"), (&self.fetched, "tải qua mạng")]
        {
            if !found.crls.is_empty() || !found.ocsps.is_empty() {
                r = r.merge(from(path::revocation(cert, issuer, &found.crls, &found.ocsps), origin));
            }
        }
        if r != Revocation::Unknown && !stale(&r, at, p.at) {
            return r;
        }
        let Some(fetch) = p.fetch else { return r };
        let known = r;
        // The responder first (small and fresh), then the CRL distribution points.
        if let Ok(request) = kyso_pki::ocsp::request_for(cert, issuer) {
            for url in kyso_pki::cert::ocsp_urls(cert).unwrap_or_default() {
                if let Some(resp) = fetch(&kyso_pki::ocsp::get_url(&url, &request)) {
                    let r = path::revocation(cert, issuer, &[], std::slice::from_ref(&resp));
                    self.fetched.ocsps.push(resp);
                    if r != Revocation::Unknown {
                        return known.merge(from(r, &format!("tải từ {url}")));
                    }
                }
            }
        }
        for url in kyso_pki::cert::crl_urls(cert).unwrap_or_default() {
            if let Some(crl) = fetch(&url) {
                let r = path::revocation(cert, issuer, std::slice::from_ref(&crl), &[]);
                self.fetched.crls.push(crl);
                if r != Revocation::Unknown {
                    return known.merge(from(r, &format!("tải từ {url}")));
                }
            }
        }
        known
    }
}

/// What proves the time a certificate is judged at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proof {
    /// Nothing: the validation time, the signer's claim aside.
    None,
    /// A later document time-stamp: the signature existed by then, but may be much older, so
    /// an expiry or revocation before it does not show that the signature came after.
    DocumentTimestamp,
    /// A time-stamp made when the signature was (the signature time-stamp, or a time-stamp
    /// token's own time for its authority).
    AtSigning,
}

/// Checks `leaf`'s path at `at` (the best signing time) and the revocation of each certificate
/// on it; a revocation after `at` is a note when the time is proven, else a reason for
/// INDETERMINATE; an expiry or revocation before it fails only when `proof` is
/// [`Proof::AtSigning`].
/// `claimed` is the time the signature itself claims: a revocation before even that fails it.
fn check_trust(
    leaf: &[u8],
    extra: &[Vec<u8>],
    usage: LeafUsage,
    at: DateTime<Utc>,
    proof: Proof,
    claimed: Option<DateTime<Utc>>,
    src: &mut Sources<'_, '_>,
) -> Trust {
    let proven = proof != Proof::None;
    let strict = proof == Proof::AtSigning;
    let mut intermediates: Vec<Vec<u8>> = src.policy.intermediates.clone();
    intermediates.extend(extra.iter().filter(|c| c.as_slice() != leaf).cloned());
    let input = PathInput { leaf, intermediates: &intermediates, anchors: &src.policy.anchors, at, eku: None, usage };
    let mut t = Trust { chain: vec![leaf.to_vec()], revocation: vec![], failure: None, notes: vec![] };
    let when = vn_time(at);
    match path::validate(&input) {
        Ok(p) => t.chain = p.chain,
        Err(e) => {
            let sub = match &e {
                PathProblem::NoChain(_) => SubIndication::NoCertificateChainFound,
                PathProblem::Expired(_) if strict => SubIndication::Expired,
                PathProblem::Expired(_) => SubIndication::OutOfBoundsNoPoe,
                PathProblem::NotYetValid(_) => SubIndication::NotYetValid,
                PathProblem::BadSignature(_) | PathProblem::Malformed(_) => SubIndication::CertificateChainGeneralFailure,
                PathProblem::Weak(_) => SubIndication::CryptoConstraintsFailure,
                PathProblem::Constraints(_) => SubIndication::ChainConstraintsFailure,
            };
            t.failure = Some((sub, e.message().to_string()));
            return t;
        }
    }
    for pair in t.chain.clone().windows(2) {
        let status = src.status(&pair[0], &pair[1], at);
        let who = subject(&pair[0]);
        match &status {
            Revocation::Revoked { at: r, .. } if *r <= at => {
                // By the signer's own claim the certificate was already revoked when signing.
                let before_claim = claimed.filter(|c| *r <= *c);
                let (sub, msg) = match (strict, before_claim) {
                    (true, _) => {
                        (SubIndication::Revoked, format!("chứng thư '{who}' bị thu hồi lúc {} (trước thời điểm ký {when})", vn_time(*r)))
                    }
                    (false, Some(c)) => (
                        SubIndication::Revoked,
                        format!(
                            "chứng thư '{who}' bị thu hồi lúc {}, trước cả thời điểm ký do chính chữ ký khai ({})",
                            vn_time(*r),
                            vn_time(c)
                        ),
                    ),
                    (false, None) => (
                        SubIndication::RevokedNoPoe,
                        format!("chứng thư '{who}' bị thu hồi lúc {}; không có dấu thời gian chứng minh đã ký trước đó", vn_time(*r)),
                    ),
                };
                t.failure.get_or_insert((sub, msg));
            }
            Revocation::Revoked { at: r, .. } => {
                if proven {
                    t.notes.push(format!("chứng thư '{who}' bị thu hồi lúc {}, sau khi ký: chữ ký vẫn có giá trị", vn_time(*r)));
                } else {
                    t.failure.get_or_insert((
                        SubIndication::RevokedNoPoe,
                        format!("chứng thư '{who}' bị thu hồi lúc {}; không có dấu thời gian chứng minh đã ký trước đó", vn_time(*r)),
                    ));
                }
            }
            Revocation::Unknown if src.policy.revocation == RevocationMode::SoftFail => {
                t.notes.push(format!("không có thông tin thu hồi cho chứng thư '{who}' (CRL/OCSP); chấp nhận theo chế độ soft-fail"));
            }
            Revocation::Unknown => {
                t.failure.get_or_insert((SubIndication::TryLater, format!("không có thông tin thu hồi cho chứng thư '{who}' (CRL/OCSP)")));
            }
            Revocation::Good { source, produced, .. } => {
                if stale(&status, at, src.policy.at) && src.policy.revocation == RevocationMode::SoftFail {
                    t.notes.push(format!(
                        "thông tin thu hồi cho '{who}' ({source}) lập lúc {}, trước thời điểm ký, và đã hết hạn; chấp nhận theo chế độ soft-fail",
                        vn_time(*produced)
                    ));
                } else if stale(&status, at, src.policy.at) {
                    t.failure.get_or_insert((
                        SubIndication::TryLater,
                        format!(
                            "thông tin thu hồi cho '{who}' ({source}) lập lúc {}, trước thời điểm ký, và đã hết hạn: cần CRL/OCSP mới hơn",
                            vn_time(*produced)
                        ),
                    ));
                } else if *produced < at && !proven {
                    t.notes
                        .push(format!("thông tin thu hồi cho '{who}' ({source}) lập lúc {}, trước thời điểm kiểm tra", vn_time(*produced)));
                }
            }
        }
        t.revocation.push(RevocationEntry { subject: who, status });
    }
    t
}

/// Validates every signature of a PDF.
pub fn validate_pdf(name: &str, data: &[u8], policy: &Policy<'_>) -> Report {
    let mut report = Report {
        schema: REPORT_SCHEMA,
        format: "pdf".into(),
        file: name.into(),
        sha256: hex::encode(kyso_token::HashAlg::Sha256.digest(data)),
        size: data.len() as u64,
        validation_time: policy.at,
        indication: Indication::TotalPassed,
        sub_indication: None,
        signatures: vec![],
        notes: vec![],
        content: None,
    };
    let document = match kyso_pdf::verify::check_document(data) {
        Ok(d) => d,
        Err(e) => {
            report.indication = Indication::TotalFailed;
            report.sub_indication = Some(SubIndication::FormatFailure);
            report.notes.push(format!("không đọc được tệp PDF: {e}"));
            return report;
        }
    };
    if document.encrypted {
        report.notes.push("tài liệu được mã hóa, mở không cần mật khẩu và bị hạn chế quyền; kyso giải mã để kiểm tra chữ ký".into());
    }
    let checks = &document.signatures;
    if checks.is_empty() {
        report.indication = Indication::Indeterminate;
        report.sub_indication = Some(SubIndication::SignedDataNotFound);
        report.notes.push("tệp không có chữ ký số nào".into());
        return report;
    }
    let dss = every_dss(data, &document.revision_ends, &mut report.notes);
    let mut src = Sources::new(policy);
    src.dss = Found { crls: dss.crls.clone(), ocsps: dss.ocsps.clone() };
    for c in checks {
        src.add_embedded(&c.cms);
    }
    // Document time-stamps that verify, as proof of existence for what they cover.
    let mut doc_ts: Vec<(usize, DateTime<Utc>)> = Vec::new();
    for c in checks {
        if c.kind == SigKind::DocTimeStamp && c.problems.is_empty() {
            if let (Some(t), Some(cert)) = (c.timestamp, &c.tsa_cert) {
                let extra: Vec<Vec<u8>> = c.tsa_certificates.iter().chain(&dss.certs).cloned().collect();
                if check_trust(cert, &extra, LeafUsage::TimeStamping, t, Proof::AtSigning, None, &mut src).failure.is_none() {
                    doc_ts.push((c.revision_end, t));
                }
            }
        }
    }
    for (i, c) in checks.iter().enumerate() {
        let r = validate_one(i + 1, c, &dss.certs, &doc_ts, &mut src);
        // The document takes the worst signature's indication and its sub-indication.
        if r.indication.rank() > report.indication.rank() {
            report.indication = r.indication;
            report.sub_indication = r.sub_indication;
        }
        report.signatures.push(r);
    }
    let trailing = document.trailing_bytes;
    if trailing > 0 {
        report.notes.push(format!("có {trailing} byte sau phiên bản cuối không thuộc tài liệu (không được ký, không được hiển thị)"));
    }
    if let Some(last) = report.signatures.last() {
        if !last.covers_whole_file && last.later_revisions.is_empty() && trailing == 0 {
            report.notes.push("chữ ký cuối không bao phủ toàn bộ tệp".into());
        }
    }
    report
}

/// The validation data of every revision's DSS together: an update may rewrite the DSS and
/// drop what an earlier one held (pyHanko refuses that outright), but validation data is only
/// ever a help that kyso checks on use, so nothing an earlier revision held is lost, and the
/// report says when something was dropped.
fn every_dss(data: &[u8], revision_ends: &[usize], notes: &mut Vec<String>) -> kyso_pdf::ltv::ValidationData {
    let mut all = kyso_pdf::ltv::ValidationData::default();
    let mut dropped_at = Vec::new();
    let mut before: Option<kyso_pdf::ltv::ValidationData> = None;
    for (i, end) in revision_ends.iter().copied().enumerate() {
        let Ok(cur) = kyso_pdf::ltv::read_dss(&data[..end]) else { continue };
        if let Some(b) = &before {
            let gone = |old: &[Vec<u8>], new: &[Vec<u8>]| old.iter().any(|x| !new.contains(x));
            if gone(&b.certs, &cur.certs) || gone(&b.crls, &cur.crls) || gone(&b.ocsps, &cur.ocsps) {
                dropped_at.push(i);
            }
        }
        for (from, to) in [(&cur.certs, &mut all.certs), (&cur.crls, &mut all.crls), (&cur.ocsps, &mut all.ocsps)] {
            for x in from {
                if !to.contains(x) {
                    to.push(x.clone());
                }
            }
        }
        before = Some(cur);
    }
    if !dropped_at.is_empty() {
        notes.push(format!(
            "phiên bản {} bỏ bớt dữ liệu kiểm tra (chứng thư, CRL, OCSP) mà DSS trước đó có; kyso vẫn dùng dữ liệu của mọi phiên bản",
            dropped_at.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
        ));
    }
    all
}

fn validate_one(
    id: usize,
    c: &SignatureCheck,
    dss_certs: &[Vec<u8>],
    doc_ts: &[(usize, DateTime<Utc>)],
    src: &mut Sources<'_, '_>,
) -> SignatureReport {
    let mut later: Vec<LaterRevision> = Vec::new();
    for (rev, ch) in &c.changes {
        match later.iter_mut().find(|l| l.revision == *rev) {
            Some(l) => l.changes.push(ch.clone()),
            None => later.push(LaterRevision { revision: *rev, changes: vec![ch.clone()] }),
        }
    }
    let mut r = SignatureReport {
        id,
        field: c.field.clone(),
        kind: if c.kind == SigKind::DocTimeStamp { "document_timestamp".into() } else { "signature".into() },
        sub_filter: c.sub_filter.clone(),
        indication: Indication::TotalPassed,
        sub_indication: None,
        signer: c.signer_cert.as_deref().and_then(CertSummary::of),
        signing_time: None,
        signing_time_source: TimeSource::None,
        claimed_time: c.claimed_time,
        timestamp_authority: c.tsa_cert.as_deref().map(subject),
        intact: !c.problem_kinds.iter().any(|k| matches!(k, ProblemKind::Hash | ProblemKind::Crypto | ProblemKind::Format)),
        covers_whole_file: c.covers_whole_file,
        byte_range: c.byte_range,
        chain: vec![],
        trust_anchor: None,
        revocation: vec![],
        later_revisions: later,
        disallowed_changes: c.later_changes.clone(),
        forbidden_changes: c.forbidden.iter().filter_map(|i| c.changes.get(*i)).map(named_change).collect(),
        altered_after_signing: c
            .changes
            .iter()
            .enumerate()
            .filter(|(i, (_, ch))| ch.is_refill() && !c.forbidden.contains(i))
            .map(|(_, rc)| named_change(rc))
            .collect(),
        algorithms: c.facts.as_ref().map(|f| f.describe()),
        certification: c.certifies,
        reason: c.reason.clone(),
        location: c.location.clone(),
        messages: vec![],
    };
    // The worst finding decides (a failure outranks an indeterminate one found before it).
    let set = |r: &mut SignatureReport, sub: SubIndication, msg: String| {
        if r.sub_indication.is_none() || r.indication.rank() < sub.indication().rank() {
            r.indication = sub.indication();
            r.sub_indication = Some(sub);
        }
        r.messages.push(msg);
    };
    let set_as = |r: &mut SignatureReport, ind: Indication, sub: SubIndication, msg: String| {
        if r.sub_indication.is_none() || r.indication.rank() < ind.rank() {
            r.indication = ind;
            r.sub_indication = Some(sub);
        }
        r.messages.push(msg);
    };
    // 1. The signature itself.
    for (kind, msg) in c.problem_kinds.iter().zip(&c.problems) {
        let sub = match kind {
            ProblemKind::Format => SubIndication::FormatFailure,
            ProblemKind::Hash => SubIndication::HashFailure,
            ProblemKind::Crypto => SubIndication::SigCryptoFailure,
            ProblemKind::Weak => SubIndication::CryptoConstraintsFailure,
            ProblemKind::Timestamp => {
                r.messages.push(format!("{msg}; chữ ký được xét như không có dấu thời gian"));
                continue;
            }
        };
        set(&mut r, sub, msg.clone());
    }
    if r.sub_indication.is_some() {
        return r;
    }
    // 2. Later changes: one the permissions forbid fails the signature (its bytes are intact,
    // so this is not a hash failure); a permitted one that replaces what the signer saw leaves
    // it undecided.
    if !c.later_changes.is_empty() {
        set_as(
            &mut r,
            Indication::TotalFailed,
            SubIndication::SigConstraintsFailure,
            format!("tài liệu bị sửa đổi sau khi ký theo cách không được phép: {}", c.later_changes.join("; ")),
        );
    }
    for ch in r.altered_after_signing.clone() {
        set(
            &mut r,
            SubIndication::SigConstraintsFailure,
            format!(
                "phiên bản {}: {} — quy chuẩn PDF cho phép điền lại trường chưa khóa, nhưng nội dung người ký đã thấy bị thay đổi",
                ch.revision, ch.what
            ),
        );
    }
    let Some(cert) = c.signer_cert.clone() else {
        set(&mut r, SubIndication::NoSigningCertificateFound, "không tìm thấy chứng thư của người ký".into());
        return r;
    };
    // 3. The best signing time. The claim: the CMS signing-time, else the dictionary's /M.
    let claim = c.signing_time_attr.or(c.claimed_time);
    let ts_ok = c.timestamp.is_some() && !c.problem_kinds.contains(&ProblemKind::Timestamp);
    let mut poe: Option<(DateTime<Utc>, TimeSource)> = None;
    if c.kind == SigKind::DocTimeStamp {
        poe = c.timestamp.map(|t| (t, TimeSource::SignatureTimestamp));
    } else if ts_ok {
        let tsa = c.tsa_cert.clone().unwrap_or_default();
        let extra: Vec<Vec<u8>> = c.tsa_certificates.iter().chain(dss_certs).cloned().collect();
        let t = c.timestamp.expect("checked");
        let tt = check_trust(&tsa, &extra, LeafUsage::TimeStamping, t, Proof::AtSigning, None, src);
        match tt.failure {
            None => poe = Some((t, TimeSource::SignatureTimestamp)),
            Some((_, why)) => {
                r.messages.push(format!("dấu thời gian của chữ ký không được tin cậy ({why}); chữ ký được xét như không có dấu thời gian"))
            }
        }
    }
    if poe.is_none() && c.kind == SigKind::Signature {
        poe = doc_ts
            .iter()
            .filter(|(end, _)| *end > c.revision_end)
            .map(|(_, t)| (*t, TimeSource::DocumentTimestamp))
            .min_by_key(|(t, _)| *t);
    }
    let (check_at, proof) = match poe {
        Some((t, source)) => {
            r.signing_time = Some(t);
            r.signing_time_source = source;
            (t, if source == TimeSource::DocumentTimestamp { Proof::DocumentTimestamp } else { Proof::AtSigning })
        }
        None => {
            r.signing_time = claim;
            r.signing_time_source = if claim.is_some() { TimeSource::Claimed } else { TimeSource::None };
            (src.policy.at, Proof::None)
        }
    };
    // The signer's clock against the time-stamp: some signing tools write local time (UTC+7)
    // as if it were UTC, a known error that is no failure of the signature. The claim is the
    // CMS signing-time or, in PAdES where that attribute is not allowed, the dictionary's /M.
    if let (Some(st), Some(ts)) = (claim, c.timestamp.filter(|_| ts_ok)) {
        let ahead = st - ts;
        if (ahead - chrono::Duration::hours(7)).num_seconds().abs() <= 120 {
            r.messages.push(format!(
                "thời điểm ký do phần mềm ký ghi ({}) lệch đúng 7 giờ so với dấu thời gian ({}): lỗi đã biết khi ghi giờ Việt Nam như giờ UTC, không ảnh hưởng đến chữ ký",
                vn_time(st),
                vn_time(ts)
            ));
        } else if ahead.num_seconds() > 300 {
            r.messages.push(format!("thời điểm ký do phần mềm ký ghi ({}) muộn hơn dấu thời gian ({})", vn_time(st), vn_time(ts)));
        }
    }
    // 3b. The algorithms, judged at the proven time.
    if let Some((what, until)) = c.facts.as_ref().and_then(algorithms::weakness) {
        match poe {
            Some((t, _)) if t < until => r
                .messages
                .push(format!("chữ ký dùng {what}, chỉ còn đủ mạnh trước {}; dấu thời gian chứng minh đã ký trước đó", vn_time(until))),
            _ => set(
                &mut r,
                SubIndication::CryptoConstraintsFailureNoPoe,
                format!(
                    "chữ ký dùng {what}, chỉ đủ mạnh cho chữ ký làm trước {}; không có dấu thời gian chứng minh đã ký trước đó",
                    vn_time(until)
                ),
            ),
        }
    }
    // 4. The path and revocation at that time.
    let usage = if c.kind == SigKind::DocTimeStamp { LeafUsage::TimeStamping } else { LeafUsage::Signing };
    let extra: Vec<Vec<u8>> = c.certificates.iter().chain(dss_certs).cloned().collect();
    let mut trust = check_trust(&cert, &extra, usage, check_at, proof, claim, src);
    // Without proof of time, an expired certificate may still have been valid when signed.
    if let Some((SubIndication::OutOfBoundsNoPoe, _)) = &trust.failure {
        if let Some(claimed) = claim {
            let at_claim = check_trust(&cert, &extra, usage, claimed, Proof::None, None, src);
            if at_claim.failure.as_ref().is_none_or(|(s, _)| *s == SubIndication::TryLater) {
                trust.notes.push(format!(
                    "chứng thư còn hiệu lực tại thời điểm ký được khai ({}), nhưng không có dấu thời gian chứng minh",
                    vn_time(claimed)
                ));
            }
        }
    }
    r.chain = trust.chain.iter().map(|c| subject(c)).collect();
    r.trust_anchor = if trust.chain.len() > 1 { r.chain.last().cloned() } else { None };
    r.revocation = trust.revocation;
    r.messages.extend(trust.notes);
    if let Some((sub, msg)) = trust.failure {
        set(&mut r, sub, msg);
    }
    if r.indication == Indication::TotalPassed {
        r.messages.push(match r.signing_time_source {
            TimeSource::SignatureTimestamp | TimeSource::DocumentTimestamp => format!("chữ ký hợp lệ; ký trước {}", vn_time(check_at)),
            _ => "chữ ký hợp lệ tại thời điểm kiểm tra".into(),
        });
    }
    r
}

fn named_change((revision, ch): &(usize, Change)) -> ForbiddenChange {
    ForbiddenChange {
        revision: *revision,
        class: ch.class,
        what: ch.what.clone(),
        field: ch.field.clone(),
        old_value: ch.old_value.clone(),
        new_value: ch.new_value.clone(),
    }
}

/// Validates a detached CMS signature over content whose digest `digest_for` computes.
pub fn validate_cms(
    name: &str,
    cms_file: &[u8],
    content: ContentFile,
    digest_for: &dyn Fn(kyso_token::HashAlg) -> Vec<u8>,
    policy: &Policy<'_>,
) -> Report {
    let cms_der = kyso_pki::der_or_pem(cms_file).unwrap_or_else(|_| cms_file.to_vec());
    let cms_der = cms_der.as_slice();
    let mut report = Report {
        schema: REPORT_SCHEMA,
        format: "cms".into(),
        file: name.into(),
        sha256: hex::encode(kyso_token::HashAlg::Sha256.digest(cms_file)),
        size: cms_file.len() as u64,
        validation_time: policy.at,
        indication: Indication::TotalPassed,
        sub_indication: None,
        signatures: vec![],
        notes: vec![],
        content: Some(content),
    };
    let mut c = SignatureCheck::empty("CMS");
    c.covers_whole_file = true;
    let der = kyso_pki::cms::der_prefix(cms_der).map(<[u8]>::to_vec).unwrap_or_else(|_| cms_der.to_vec());
    c.check_cms(&der, digest_for);
    c.cms = der;
    let mut src = Sources::new(policy);
    src.add_embedded(&c.cms);
    let r = validate_one(1, &c, &[], &[], &mut src);
    report.indication = r.indication;
    report.sub_indication = r.sub_indication;
    report.signatures.push(r);
    report
}

//! Documents that agencies sign, and the signing orders of the regulations (Bắc Giang
//! Art. 8–9, Bắc Ninh Art. 16, NĐ 30/2020 Appendix I): personal signatures first, the agency
//! signature last and applied by the records clerk, nothing after it but time-stamps, and the
//! agency signature only on documents already signed by the competent person or on the
//! agency's own copies.

use crate::error::{DomainError, DomainResult};
use crate::registry::{coded_enum, AgencyId, PersonId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

coded_enum!(
    /// What the document is, which decides who signs it and how.
    DocumentKind {
        /// Born digital and issued: personal signatures, then the agency signature with the
        /// register number.
        Issued = "issued" / "Văn bản điện tử ban hành",
        /// A paper original already signed, numbered and stamped, scanned to be sent
        /// electronically: the agency signature only (Bắc Giang Art. 9.1).
        Scanned = "scanned" / "Văn bản giấy đã ban hành, số hóa để gửi",
        /// An electronic copy made from paper (SAO Y / SAO LỤC / TRÍCH SAO): the agency only.
        Copy = "copy" / "Bản sao điện tử từ văn bản giấy",
        /// An incoming paper document digitised for processing (TT 01/2019): the agency only.
        Digitised = "digitised" / "Văn bản đến được số hóa",
        /// An appendix in its own file, signed by the agency after the main document.
        Attachment = "attachment" / "Phụ lục, văn bản kèm theo",
        /// Signed by persons only and not issued (minutes, internal drafts).
        Internal = "internal" / "Văn bản ký cá nhân, không ban hành",
    }
);

coded_enum!(
    DocumentStatus {
        Draft = "draft" / "Dự thảo (chưa ký)",
        Signing = "signing" / "Đang ký",
        Issued = "issued" / "Đã ban hành",
        Done = "done" / "Đã ký xong",
    }
);

coded_enum!(
    SignatureRole {
        /// A person's own signature (checking content, checking format, approving).
        Personal = "personal" / "Chữ ký cá nhân",
        /// The agency's signature (the seal), applied by the records clerk.
        Agency = "agency" / "Chữ ký của cơ quan",
        /// A document time-stamp (PAdES B-LTA) or validation data.
        Timestamp = "timestamp" / "Dấu thời gian tài liệu",
    }
);

coded_enum!(
    /// The step a personal signature stands for (Bắc Giang Art. 9.3).
    PersonalStep {
        CheckContent = "check_content" / "Kiểm tra nội dung",
        CheckFormat = "check_format" / "Kiểm tra thể thức",
        Approve = "approve" / "Ký ban hành (người có thẩm quyền)",
    }
);

/// A document under signing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    pub id: i64,
    pub agency_id: AgencyId,
    pub kind: DocumentKind,
    pub status: DocumentStatus,
    /// Trích yếu.
    pub title: String,
    pub file_name: String,
    /// The person competent to sign (người có thẩm quyền), for issued documents.
    pub competent_person: Option<PersonId>,
    /// The main document, for an attachment.
    pub parent_id: Option<i64>,
    /// The symbol the draft carries after the number ("QĐ-SNV"), for issued documents.
    pub symbol: Option<String>,
    /// The register number and symbol, once issued or copied ("15/QĐ-UBND").
    pub number: Option<String>,
    pub issued_on: Option<NaiveDate>,
    /// SHA-256 (hex) and size of the current file.
    pub sha256: String,
    pub size: u64,
    /// Bumped by every signature; a signing prepared on an older version is refused.
    pub version: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A signature already on the document, as the registry recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureEntry {
    pub seq: i64,
    pub role: SignatureRole,
    pub step: Option<PersonalStep>,
    pub person_id: Option<PersonId>,
    pub field: String,
    pub serial: Option<String>,
    pub signed_at: DateTime<Utc>,
    pub by_login: String,
    /// SHA-256 of the file after this signature.
    pub sha256_after: String,
}

/// A line of the outgoing register (sổ văn bản đi), or of the copy register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterEntry {
    pub id: i64,
    pub agency_id: AgencyId,
    pub year: i32,
    /// "issued" or "copy".
    pub kind: String,
    pub seq: u32,
    /// Number and symbol as written ("05/QĐ-UBND", or "12/SY" for a copy).
    pub number: String,
    pub issued_on: NaiveDate,
    pub title: String,
    pub document_id: i64,
    pub signer_name: String,
    /// Nơi nhận.
    pub recipients: String,
    pub entered_by: String,
    pub entered_at: DateTime<Utc>,
}

coded_enum!(
    IncomingStatus {
        /// Verified and entered with a number: it can be processed at once.
        Registered = "registered" / "Đã vào sổ",
        /// Refused: the signature did not verify; the sender is notified, the file deleted.
        Refused = "refused" / "Bị từ chối (chữ ký không hợp lệ)",
    }
);

/// A line of the incoming register (sổ văn bản đến).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncomingEntry {
    pub id: i64,
    pub agency_id: AgencyId,
    pub year: i32,
    /// The number in the register (registered documents only).
    pub seq: Option<u32>,
    pub status: IncomingStatus,
    pub received_at: DateTime<Utc>,
    pub sender: String,
    /// Where it came from: "truc-lien-thong", "email", "cong-thong-tin", …
    pub source: String,
    pub title: String,
    pub file_name: String,
    pub sha256: String,
    pub size: u64,
    /// TOTAL-PASSED, TOTAL-FAILED or INDETERMINATE, with the sub-indication.
    pub indication: String,
    /// The verification report (JSON).
    pub report: String,
    pub entered_by: String,
    /// The document's own number and symbol (số, ký hiệu) and date.
    pub doc_number: Option<String>,
    pub doc_date: Option<chrono::NaiveDate>,
    /// Who signed it, from the certificates ("name (agency)", one per signature).
    pub signers: Vec<String>,
    /// Warnings the clerk accepted when entering it (e.g. the signer's agency is not the sender).
    pub warnings: Vec<String>,
}

/// Whether the stated sender is the agency a signer belongs to: exactly the name in the
/// certificate's CN (an organisation's certificate), O or OU, ignoring case, spacing and normal
/// form. Nothing looser: "Sở Y tế" is not "Sở Y tế tỉnh Nghệ An", and "UBND xã Tiên Du" is not
/// "Ủy ban nhân dân xã Tiên Du"; the clerk confirms those.
pub fn sender_matches(sender: &str, signer_names: &[&str]) -> bool {
    let norm = |s: &str| crate::value::normalize_text(s).to_lowercase();
    let sender = norm(sender);
    !sender.is_empty() && signer_names.iter().any(|n| norm(n) == sender)
}

/// The number and date a received document is registered with, from what the clerk gives and
/// what kyso read from the file: the clerk's where given (with a warning when the file shows
/// another), else the file's. Neither is an error that says what to give.
pub fn header_values(
    given: (Option<&str>, Option<NaiveDate>),
    read: (Option<&str>, Option<NaiveDate>),
) -> DomainResult<(String, NaiveDate, Vec<String>)> {
    let mut warnings = Vec::new();
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let number = match (given.0, read.0) {
        (Some(g), Some(r)) => {
            if squeeze(g) != squeeze(r) {
                warnings.push(format!("số, ký hiệu ghi vào sổ ({g}) khác số trên văn bản ({r})"));
            }
            g.to_string()
        }
        (Some(g), None) => g.to_string(),
        (None, Some(r)) => r.to_string(),
        (None, None) => {
            return Err(DomainError::invalid(
                "doc_number",
                "không đọc được số, ký hiệu của văn bản từ tệp; hãy ghi số, ký hiệu như trên văn bản",
            ))
        }
    };
    let date = match (given.1, read.1) {
        (Some(g), Some(r)) => {
            if g != r {
                warnings.push(format!(
                    "ngày văn bản ghi vào sổ ({}) khác ngày trên văn bản ({})",
                    g.format("%d/%m/%Y"),
                    r.format("%d/%m/%Y")
                ));
            }
            g
        }
        (Some(d), None) | (None, Some(d)) => d,
        (None, None) => {
            return Err(DomainError::invalid(
                "doc_date",
                "không đọc được ngày của văn bản từ tệp; hãy ghi ngày như trên văn bản (dd/mm/yyyy)",
            ))
        }
    };
    Ok((number, date, warnings))
}

/// How the names of Vietnamese state bodies begin (NĐ 30/2020 Appendix I, item 2): a
/// certificate outside the registry whose CN begins so, with no title, is taken for an
/// agency's certificate.
pub const AGENCY_NAME_PREFIXES: &[&str] = &[
    "ủy ban",
    "uỷ ban",
    "ubnd",
    "hội đồng",
    "hđnd",
    "sở ",
    "ban ",
    "bộ ",
    "cục ",
    "chi cục",
    "tổng cục",
    "văn phòng",
    "phòng ",
    "trung tâm",
    "thanh tra",
    "kho bạc",
    "chi nhánh",
    "công an",
    "tòa án",
    "toà án",
    "viện ",
    "bệnh viện",
    "trường ",
    "đài ",
    "báo ",
    "tỉnh ủy",
    "tỉnh uỷ",
    "thành ủy",
    "thành uỷ",
    "đảng ủy",
    "đảng uỷ",
    "đoàn ",
    "quỹ ",
    "bảo hiểm xã hội",
    "cơ quan",
];

/// Whether a signature was made with an agency's (organisation's) certificate rather than a
/// person's. The registry decides for certificates it holds (`registered` is then whether its
/// subscriber is an organisation); for others, a certificate with a title (T) is a person's,
/// and one whose CN is the stated sender or reads like an agency's name is an agency's.
pub fn is_agency_signature(registered: Option<bool>, common_name: &str, title: Option<&str>, sender: &str) -> bool {
    if let Some(organisation) = registered {
        return organisation;
    }
    if title.is_some_and(|t| !t.trim().is_empty()) {
        return false;
    }
    let cn = crate::value::normalize_text(common_name).to_lowercase();
    sender_matches(sender, &[common_name]) || AGENCY_NAME_PREFIXES.iter().any(|p| cn.starts_with(p))
}

/// A message to a sender, waiting for the document system that delivers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub id: i64,
    pub agency_id: AgencyId,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub incoming_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// What someone wants to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Personal { person: PersonId, step: PersonalStep },
    Agency,
    Timestamp,
}

/// Checks that `step` may follow the signatures already on `doc`. Who holds which key and
/// whether earlier signatures still verify are checked by the service.
pub fn check_step(doc: &Document, existing: &[SignatureEntry], step: Step) -> DomainResult<()> {
    let has_agency = existing.iter().any(|s| s.role == SignatureRole::Agency);
    match step {
        Step::Timestamp => {
            if existing.iter().all(|s| s.role == SignatureRole::Timestamp) {
                return Err(DomainError::rule("timestamp_needs_signature", "tài liệu chưa có chữ ký nào để đóng dấu thời gian"));
            }
            Ok(())
        }
        Step::Personal { person, step } => {
            if has_agency {
                return Err(DomainError::rule(
                    "agency_signature_last",
                    "tài liệu đã có chữ ký của cơ quan; sau chữ ký của cơ quan không được ký thêm (chỉ được thêm dấu thời gian)",
                ));
            }
            if !matches!(doc.kind, DocumentKind::Issued | DocumentKind::Internal) {
                return Err(DomainError::rule(
                    "personal_signature_kind",
                    format!("loại văn bản '{}' chỉ có chữ ký của cơ quan, không có chữ ký cá nhân", doc.kind.label_vi()),
                ));
            }
            if existing.iter().any(|s| s.role == SignatureRole::Personal && s.person_id == Some(person)) {
                return Err(DomainError::rule("personal_signature_once", "người này đã ký văn bản; mỗi người chỉ ký một lần"));
            }
            if step == PersonalStep::Approve && doc.competent_person.is_some_and(|c| c != person) {
                return Err(DomainError::rule(
                    "competent_signer",
                    "chỉ người có thẩm quyền đã được chỉ định cho văn bản mới được ký ban hành; người khác ký với bước kiểm tra nội dung hoặc thể thức",
                ));
            }
            if existing.iter().any(|s| s.step == Some(PersonalStep::Approve)) {
                return Err(DomainError::rule(
                    "approval_last_personal",
                    "người có thẩm quyền đã ký ban hành; các chữ ký kiểm tra nội dung, thể thức phải có trước chữ ký ban hành",
                ));
            }
            Ok(())
        }
        Step::Agency => {
            if has_agency {
                return Err(DomainError::rule("agency_signature_once", "văn bản đã có chữ ký của cơ quan"));
            }
            match doc.kind {
                DocumentKind::Internal => Err(DomainError::rule(
                    "agency_signature_kind",
                    "văn bản ký cá nhân không ban hành thì không có chữ ký của cơ quan; hãy tạo văn bản loại 'issued' nếu cần ban hành",
                )),
                DocumentKind::Issued => {
                    // Bắc Ninh Art. 16.3: only on documents already signed by the competent person.
                    let approved = existing.iter().any(|s| {
                        s.role == SignatureRole::Personal
                            && s.step == Some(PersonalStep::Approve)
                            && doc.competent_person.is_none_or(|c| s.person_id == Some(c))
                    });
                    if approved {
                        Ok(())
                    } else {
                        Err(DomainError::rule(
                            "competent_signed_first",
                            "chữ ký của cơ quan chỉ được ký trên văn bản đã có chữ ký ban hành của người có thẩm quyền (ký cá nhân trước, ký cơ quan sau)",
                        ))
                    }
                }
                // The agency's own copies and digitisations, and scans of paper originals
                // already signed and stamped.
                DocumentKind::Scanned | DocumentKind::Copy | DocumentKind::Digitised | DocumentKind::Attachment => Ok(()),
            }
        }
    }
}

/// The status after a signature of `role` on a document of `kind`.
pub fn status_after(kind: DocumentKind, role: SignatureRole, current: DocumentStatus) -> DocumentStatus {
    match role {
        SignatureRole::Timestamp => current,
        SignatureRole::Personal => DocumentStatus::Signing,
        SignatureRole::Agency => match kind {
            DocumentKind::Issued | DocumentKind::Scanned | DocumentKind::Attachment => DocumentStatus::Issued,
            _ => DocumentStatus::Done,
        },
    }
}

/// The register a signature enters, if any: issued documents and copies are numbered in the
/// outgoing register (sổ văn bản đi); digitised incoming documents are not.
pub fn register_kind(kind: DocumentKind) -> Option<&'static str> {
    match kind {
        DocumentKind::Issued | DocumentKind::Scanned => Some("issued"),
        DocumentKind::Copy => Some("copy"),
        _ => None,
    }
}

/// Parses a number-and-symbol ("15/QĐ-UBND"), returning the number and the symbol.
pub fn parse_number_symbol(s: &str) -> DomainResult<(u32, String)> {
    let t = s.trim();
    let bad = || DomainError::invalid("number", format!("số, ký hiệu '{s}' không hợp lệ; viết dạng 15/QĐ-UBND"));
    let (n, sym) = t.split_once('/').ok_or_else(bad)?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    let sym = sym.trim();
    if n == 0 || sym.is_empty() || sym.chars().count() > 64 || sym.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    Ok((n, sym.to_string()))
}

/// The number as NĐ 30/2020 writes it: at least two digits ("05/QĐ-UBND").
pub fn format_number(n: u32, symbol: &str) -> String {
    format!("{n:02}/{symbol}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_is_compared_with_the_signers_agencies() {
        // (sender, names from the signers' certificates, match)
        let cases: [(&str, &[&str], bool); 6] = [
            ("Sở Tư pháp", &["Nguyễn Văn An", "Sở Tư pháp", "Ủy ban nhân dân tỉnh Bắc Ninh"], true),
            ("sở tư  pháp", &["Sở Tư pháp"], true),
            ("Văn phòng Sở Tư pháp", &["Sở Tư pháp"], false),
            ("Sở Y tế", &["Sở Y tế tỉnh Nghệ An"], false),
            ("UBND xã Tiên Du", &["Ủy ban nhân dân xã Tiên Du"], false),
            ("Sở Y tế", &["Sở Tư pháp", ""], false),
        ];
        for (sender, names, want) in cases {
            assert_eq!(sender_matches(sender, names), want, "{sender} {names:?}");
        }
    }

    #[test]
    fn a_received_document_is_registered_with_the_number_and_date_it_shows() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        // (clerk, file, number, date, warnings, error field)
        type Case<'a> = (
            &'a str,
            (Option<&'a str>, Option<NaiveDate>),
            (Option<&'a str>, Option<NaiveDate>),
            Result<(&'a str, NaiveDate, usize), &'a str>,
        );
        let cases: [Case<'_>; 6] = [
            ("read from the file", (None, None), (Some("12/QĐ-UBND"), Some(d(3, 5))), Ok(("12/QĐ-UBND", d(3, 5), 0))),
            ("given by the clerk", (Some("7/TB-VP"), Some(d(4, 1))), (None, None), Ok(("7/TB-VP", d(4, 1), 0))),
            (
                "both, the same but for spaces",
                (Some("12 / QĐ-UBND"), Some(d(3, 5))),
                (Some("12/QĐ-UBND"), Some(d(3, 5))),
                Ok(("12 / QĐ-UBND", d(3, 5), 0)),
            ),
            (
                "the clerk differs from the file",
                (Some("13/QĐ-UBND"), Some(d(3, 6))),
                (Some("12/QĐ-UBND"), Some(d(3, 5))),
                Ok(("13/QĐ-UBND", d(3, 6), 2)),
            ),
            ("no number anywhere", (None, Some(d(3, 5))), (None, None), Err("doc_number")),
            ("no date anywhere", (None, None), (Some("12/QĐ-UBND"), None), Err("doc_date")),
        ];
        for (case, given, read, want) in cases {
            match (header_values(given, read), want) {
                (Ok((n, date, w)), Ok((wn, wd, ww))) => assert_eq!((n.as_str(), date, w.len()), (wn, wd, ww), "{case}"),
                (Err(DomainError::Invalid { field, .. }), Err(f)) => assert_eq!(field, f, "{case}"),
                (got, _) => panic!("{case}: {got:?}"),
            }
        }
    }

    #[test]
    fn agency_signatures_are_told_from_personal_ones() {
        // (registry: organisation?, CN, title, sender, agency signature)
        type Case<'a> = (Option<bool>, &'a str, Option<&'a str>, &'a str, bool);
        let cases: [Case<'_>; 8] = [
            (Some(true), "Nguyễn Văn An", None, "Sở Tư pháp", true),
            (Some(false), "Sở Tư pháp", None, "Sở Tư pháp", false),
            (None, "Sở Tư pháp", None, "UBND tỉnh", true),
            (None, "ỦY BAN NHÂN DÂN XÃ TIÊN DU", None, "UBND xã Tiên Du", true),
            (None, "Trung tâm Phục vụ hành chính công", None, "x", true),
            (None, "Nguyễn Văn An", None, "Sở Tư pháp", false),
            (None, "Sở Tư pháp", Some("Giám đốc"), "Sở Tư pháp", false),
            (None, "Công ty ABC", None, "Công ty ABC", true),
        ];
        for (registered, cn, title, sender, want) in cases {
            assert_eq!(is_agency_signature(registered, cn, title, sender), want, "{cn} {title:?} {sender}");
        }
    }

    fn doc(kind: DocumentKind, competent: Option<i64>) -> Document {
        Document {
            id: 1,
            agency_id: AgencyId(1),
            kind,
            status: DocumentStatus::Draft,
            title: "t".into(),
            file_name: "a.pdf".into(),
            competent_person: competent.map(PersonId),
            parent_id: None,
            symbol: None,
            number: None,
            issued_on: None,
            sha256: String::new(),
            size: 0,
            version: 0,
            created_by: "x".into(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    fn sig(role: SignatureRole, person: Option<i64>, step: Option<PersonalStep>) -> SignatureEntry {
        SignatureEntry {
            seq: 0,
            role,
            step,
            person_id: person.map(PersonId),
            field: String::new(),
            serial: None,
            signed_at: DateTime::<Utc>::UNIX_EPOCH,
            by_login: String::new(),
            sha256_after: String::new(),
        }
    }

    #[test]
    fn signing_orders_of_the_regulations() {
        use DocumentKind::*;
        use PersonalStep::*;
        let p = |n: i64, s: PersonalStep| Step::Personal { person: PersonId(n), step: s };
        let approved = sig(SignatureRole::Personal, Some(7), Some(Approve));
        let checked = sig(SignatureRole::Personal, Some(8), Some(CheckContent));
        let agency = sig(SignatureRole::Agency, None, None);
        // (case, kind, competent, existing, step, allowed rule or None)
        type Case = (&'static str, DocumentKind, Option<i64>, Vec<SignatureEntry>, Step, Option<&'static str>);
        let cases: Vec<Case> = vec![
            ("leader signs a draft", Issued, Some(7), vec![], p(7, Approve), None),
            ("checker before leader", Issued, Some(7), vec![], p(8, CheckContent), None),
            ("checker after leader", Issued, Some(7), vec![approved.clone()], p(8, CheckFormat), Some("approval_last_personal")),
            ("someone else approves", Issued, Some(7), vec![checked.clone()], p(8, Approve), Some("personal_signature_once")),
            ("wrong approver", Issued, Some(7), vec![], p(9, Approve), Some("competent_signer")),
            ("agency after leader", Issued, Some(7), vec![checked.clone(), approved.clone()], Step::Agency, None),
            ("agency without leader", Issued, Some(7), vec![checked.clone()], Step::Agency, Some("competent_signed_first")),
            ("agency on empty issued", Issued, None, vec![], Step::Agency, Some("competent_signed_first")),
            (
                "personal after agency",
                Issued,
                Some(7),
                vec![approved.clone(), agency.clone()],
                p(8, CheckContent),
                Some("agency_signature_last"),
            ),
            ("agency twice", Scanned, None, vec![agency.clone()], Step::Agency, Some("agency_signature_once")),
            ("timestamp after agency", Issued, Some(7), vec![approved.clone(), agency.clone()], Step::Timestamp, None),
            ("timestamp on nothing", Issued, None, vec![], Step::Timestamp, Some("timestamp_needs_signature")),
            ("scan: agency alone", Scanned, None, vec![], Step::Agency, None),
            ("copy: agency alone", Copy, None, vec![], Step::Agency, None),
            ("copy: no personal", Copy, None, vec![], p(7, Approve), Some("personal_signature_kind")),
            ("digitised: agency alone", Digitised, None, vec![], Step::Agency, None),
            ("attachment: agency alone", Attachment, None, vec![], Step::Agency, None),
            ("internal: several persons", Internal, None, vec![checked.clone()], p(7, Approve), None),
            ("internal: no agency", Internal, None, vec![checked.clone()], Step::Agency, Some("agency_signature_kind")),
        ];
        for (name, kind, competent, existing, step, expect) in cases {
            let got = check_step(&doc(kind, competent), &existing, step);
            match (expect, got) {
                (None, Ok(())) => {}
                (Some(rule), Err(DomainError::Rule { rule: r, .. })) => assert_eq!(rule, r, "{name}"),
                (e, g) => panic!("{name}: expected {e:?}, got {g:?}"),
            }
        }
    }

    #[test]
    fn number_and_symbol() {
        assert_eq!(parse_number_symbol("15/QĐ-UBND").unwrap(), (15, "QĐ-UBND".into()));
        assert_eq!(format_number(5, "QĐ-UBND"), "05/QĐ-UBND");
        for bad in ["", "QĐ-UBND", "0/QĐ", "x/QĐ", "12/", "12/Q Đ"] {
            assert!(parse_number_symbol(bad).is_err(), "{bad}");
        }
    }
}

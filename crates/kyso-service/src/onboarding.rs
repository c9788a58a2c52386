//! Bulk onboarding of the certificates a province already has: from the government CA's
//! files (PEM, DER, PKCS#7) and from a CSV of the CA's list, whose columns are named on the
//! command line. Each certificate is matched to an official by citizen ID, then e-mail, then
//! name and agency; those that match nobody (or more than one) go to a review list. A malformed
//! row or file rejects the whole import, with errors by line or file.

use crate::import::RowError;
use crate::*;
use kyso_core::authz::Permission;
use kyso_core::onboarding::{citizen_id_in, same_name, MatchPath};
use kyso_core::registry::*;
use kyso_core::value::{normalize_text, Serial};
use kyso_pki::name::{Attr, DistinguishedName};
use std::collections::{BTreeMap, HashSet};

/// The CA's list: the CSV and, for each field kyso needs, the name of its column.
#[derive(Debug, Clone)]
pub struct CertificateList<'a> {
    pub csv: &'a [u8],
    /// Field (serial, subject, not_before, not_after, and optionally issuer, email,
    /// citizen_id) → column name in the header.
    pub columns: BTreeMap<String, String>,
}

/// The fields of the CA's list.
pub const LIST_FIELDS: &[&str] = &["serial", "subject", "not_before", "not_after", "issuer", "email", "citizen_id"];
const REQUIRED_LIST_FIELDS: &[&str] = &["serial", "subject", "not_before", "not_after"];

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OnboardingSummary {
    /// Certificates attached to a subscriber, by the path that matched them.
    pub matched: BTreeMap<String, usize>,
    /// Individual subscribers created for officials who had none.
    pub subscribers_created: usize,
    /// Serials already in the registry or on the review list, left as they are.
    pub already_registered: usize,
    /// Certificates that matched nobody or more than one official: on the review list.
    pub for_review: usize,
}

/// One certificate as read, before matching.
struct Candidate {
    source: String,
    serial: String,
    subject: DistinguishedName,
    subject_text: String,
    issuer: String,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    email: Option<String>,
    citizen_id: Option<String>,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&Utc));
    }
    ["%Y-%m-%d", "%d/%m/%Y"].iter().find_map(|f| chrono::NaiveDate::parse_from_str(t, f).ok()).map(kyso_core::value::vn_day_start)
}

/// Whether a certificate chains to the trust store, given the CA certificates of the set.
type ChainCheck<'a> = dyn Fn(&[u8], &[Vec<u8>], DateTime<Utc>) -> Result<(), String> + 'a;

fn from_files(files: &[(String, Vec<u8>)], trusted: &ChainCheck<'_>, out: &mut Vec<Candidate>, errors: &mut Vec<RowError>) {
    let mut read: Vec<(u64, String, Vec<u8>)> = Vec::new();
    for (i, (name, bytes)) in files.iter().enumerate() {
        let file = i as u64 + 1;
        let blocks = match kyso_pki::pem_blocks(bytes) {
            Ok(b) => b,
            Err(e) => {
                errors.push(RowError { line: file, message: format!("{name}: {e}") });
                continue;
            }
        };
        let mut ders = Vec::new();
        for (label, der) in blocks {
            if label == "PKCS7" || name.ends_with(".p7b") || name.ends_with(".p7c") {
                match kyso_pki::cms::certificates_of(&der) {
                    Ok(v) => ders.extend(v),
                    Err(e) => errors.push(RowError { line: file, message: format!("{name}: {e}") }),
                }
            } else {
                ders.push(der);
            }
        }
        read.extend(ders.into_iter().map(|d| (file, name.clone(), d)));
    }
    // CA certificates in the set are the chain, not subscribers' certificates, and never
    // trust by themselves (issue 11, finding 2).
    let intermediates: Vec<Vec<u8>> =
        read.iter().filter(|(_, _, d)| kyso_pki::cert::parse(d).is_ok_and(|(_, i)| i.is_ca)).map(|(_, _, d)| d.clone()).collect();
    for (file, name, der) in read {
        let info = match kyso_pki::cert::parse(&der) {
            Ok((_, info)) if info.is_ca => continue,
            Ok((_, info)) => info,
            Err(e) => {
                errors.push(RowError { line: file, message: format!("{name}: không đọc được chứng thư: {e}") });
                continue;
            }
        };
        if let Err(why) = trusted(&der, &intermediates, info.not_before) {
            errors.push(RowError {
                line: file,
                message: format!(
                    "{name}: chứng thư {} không dẫn tới CA nào trong kho tin cậy của hệ thống ({why}); thêm chứng thư CA bằng 'kyso trust add'",
                    info.serial_hex
                ),
            });
            continue;
        }
        let ids = [info.subject.get(Attr::SerialNumber), info.subject.get(Attr::Uid)];
        out.push(Candidate {
            source: name.clone(),
            serial: info.serial_hex.clone(),
            subject_text: info.subject.to_string(),
            issuer: info.issuer.to_string(),
            not_before: info.not_before,
            not_after: info.not_after,
            email: kyso_pki::cert::emails(&der).ok().and_then(|e| e.into_iter().next()),
            citizen_id: citizen_id_in(ids.into_iter().flatten()).map(|c| c.to_string()),
            subject: info.subject,
        });
    }
}

fn from_list(list: &CertificateList<'_>, out: &mut Vec<Candidate>, errors: &mut Vec<RowError>) {
    for f in list.columns.keys() {
        if !LIST_FIELDS.contains(&f.as_str()) {
            errors.push(RowError { line: 1, message: format!("trường '{f}' không có; các trường: {}", LIST_FIELDS.join(", ")) });
        }
    }
    let text = match crate::import::CsvText::read(list.csv) {
        Ok(t) => t,
        Err(e) => {
            errors.push(e);
            return;
        }
    };
    let mut r = text.reader();
    let header: Vec<String> = match r.headers() {
        Ok(h) => h.iter().map(|s| normalize_text(s.trim_start_matches('\u{feff}'))).collect(),
        Err(e) => {
            errors.push(RowError { line: 1, message: format!("không đọc được dòng tiêu đề của danh sách: {e}") });
            return;
        }
    };
    let mut idx = BTreeMap::new();
    for field in LIST_FIELDS {
        match list.columns.get(*field) {
            Some(col) => match header.iter().position(|h| same_name(h, col)) {
                Some(i) => {
                    idx.insert(*field, i);
                }
                None => errors.push(RowError { line: 1, message: format!("danh sách không có cột '{col}' (cho trường {field})") }),
            },
            None if REQUIRED_LIST_FIELDS.contains(field) => {
                errors.push(RowError { line: 1, message: format!("cần chỉ rõ cột cho trường {field}: --map {field}=TÊN_CỘT") })
            }
            None => {}
        }
    }
    if !errors.is_empty() {
        return;
    }
    for rec in r.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError { line: text.line_of(e.position()), message: format!("dòng CSV hỏng: {e}") });
                continue;
            }
        };
        let line = text.line_of(rec.position());
        if rec.iter().all(|f| f.is_empty()) {
            continue;
        }
        let get = |f: &str| idx.get(f).and_then(|i| rec.get(*i)).map(str::trim).filter(|v| !v.is_empty());
        let mut bad = |m: String| errors.push(RowError { line, message: m });
        let Some(serial) = get("serial").and_then(|s| Serial::parse("serial", s).ok()) else {
            bad(format!("số hiệu chứng thư '{}' không hợp lệ", get("serial").unwrap_or("")));
            continue;
        };
        let Some(subject) = get("subject").and_then(|s| DistinguishedName::parse(s).ok()).filter(|d| d.get(Attr::CN).is_some()) else {
            bad(format!("chủ thể '{}' không đọc được (cần dạng CN=…,O=…,C=VN)", get("subject").unwrap_or("")));
            continue;
        };
        let (Some(not_before), Some(not_after)) = (get("not_before").and_then(parse_time), get("not_after").and_then(parse_time)) else {
            bad("ngày hiệu lực không đọc được (YYYY-MM-DD, DD/MM/YYYY hoặc RFC 3339)".into());
            continue;
        };
        if not_after <= not_before {
            bad("ngày hết hạn phải sau ngày bắt đầu hiệu lực".into());
            continue;
        }
        let ids = [subject.get(Attr::SerialNumber), subject.get(Attr::Uid), get("citizen_id")];
        out.push(Candidate {
            source: format!("danh sách, dòng {line}"),
            serial: serial.to_string(),
            subject_text: subject.to_string(),
            issuer: get("issuer").unwrap_or("(theo danh sách của tổ chức chứng thực)").to_string(),
            not_before,
            not_after,
            email: get("email").map(str::to_string),
            citizen_id: citizen_id_in(ids.into_iter().flatten()).map(|c| c.to_string()),
            subject,
        });
    }
}

/// Whom a certificate belongs to, or why it cannot be said.
enum Found {
    Person(Person, MatchPath),
    Organisation(Agency),
    Review(String),
}

fn match_candidate(tx: &mut Tx<'_>, c: &Candidate) -> ServiceResult<Found> {
    if let Some(cid) = &c.citizen_id {
        if let Some(p) = tx.person_by_citizen_id(cid)? {
            return Ok(Found::Person(p, MatchPath::CitizenId));
        }
    }
    if let Some(e) = &c.email {
        let by_email = tx.persons_by_email(&e.to_lowercase())?;
        match by_email.len() {
            1 => return Ok(Found::Person(by_email.into_iter().next().expect("one"), MatchPath::Email)),
            0 => {}
            n => return Ok(Found::Review(format!("{n} cán bộ cùng địa chỉ thư điện tử {e}"))),
        }
    }
    let cn = normalize_text(c.subject.get(Attr::CN).unwrap_or_default());
    let units: Vec<&str> = c.subject.0.iter().filter(|(a, _)| matches!(a, Attr::O | Attr::OU)).map(|(_, v)| v.as_str()).collect();
    let mut same = Vec::new();
    for p in tx.persons_named(&cn)? {
        let agency = agency_by_id(tx, p.agency_id)?;
        if units.iter().any(|u| same_name(u, &agency.name)) {
            same.push(p);
        }
    }
    match same.len() {
        1 => return Ok(Found::Person(same.remove(0), MatchPath::NameAndAgency)),
        0 => {}
        n => return Ok(Found::Review(format!("{n} cán bộ cùng họ tên '{cn}' trong cùng cơ quan"))),
    }
    // An organisation's certificate carries the agency's name as CN.
    let orgs: Vec<Agency> = tx.agencies_named(&cn)?.into_iter().filter(|a| a.legal_entity).collect();
    if orgs.len() == 1 {
        return Ok(Found::Organisation(orgs.into_iter().next().expect("one")));
    }
    Ok(Found::Review(format!("không tìm thấy cán bộ hay cơ quan nào khớp với '{cn}' (số định danh, thư điện tử, họ tên và cơ quan)")))
}

impl Service {
    /// Imports the certificates the government CA already issued, from its files and/or its
    /// list. All or nothing for malformed input; unmatched certificates go to review.
    pub fn import_certificates(
        &self,
        actor: &Principal,
        files: &[(String, Vec<u8>)],
        list: Option<&CertificateList<'_>>,
        now: DateTime<Utc>,
    ) -> ServiceResult<OnboardingSummary> {
        let mut candidates = Vec::new();
        let mut errors = Vec::new();
        let anchors = self.trusted_anchors()?;
        let trusted =
            |der: &[u8], intermediates: &[Vec<u8>], at: DateTime<Utc>| self.chain_to_trust(der, intermediates, &anchors, at).map(|_| ());
        from_files(files, &trusted, &mut candidates, &mut errors);
        if let Some(l) = list {
            from_list(l, &mut candidates, &mut errors);
        }
        let mut seen = HashSet::new();
        for c in &candidates {
            if !seen.insert(c.serial.clone()) {
                errors.push(RowError {
                    line: 0, message: format!("{}: số hiệu {} lặp lại trong dữ liệu nhập", c.source, c.serial)
                });
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Import(errors));
        }
        self.mutate(actor, "certificate.import", "certificates:bulk", now, |tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, Permission::ManageCertificates, &root)?;
            let mut summary = OnboardingSummary::default();
            let mut events = Vec::new();
            for c in &candidates {
                if tx.certificate_by_serial(&c.serial)?.is_some() || tx.in_review(&c.serial)? {
                    summary.already_registered += 1;
                    continue;
                }
                // The matched official's or organisation's subscriber, made when there is none.
                let (existing, input, path) = match match_candidate(tx, c)? {
                    Found::Person(p, path) => {
                        (tx.subscriber_of_person(p.id)?, SubscriberInput::Individual { citizen_id: p.citizen_id.to_string() }, path)
                    }
                    Found::Organisation(a) => (
                        tx.subscriber_of_org(a.id)?,
                        SubscriberInput::Organisation { agency_code: a.code.to_string() },
                        MatchPath::NameAndAgency,
                    ),
                    Found::Review(reason) => {
                        tx.insert_review(
                            &c.serial,
                            &c.subject_text,
                            &c.issuer,
                            (c.not_before, c.not_after),
                            c.email.as_deref(),
                            c.citizen_id.as_deref(),
                            &c.source,
                            &reason,
                            now,
                        )?;
                        summary.for_review += 1;
                        continue;
                    }
                };
                let sub = match existing {
                    Some(s) => s,
                    None => {
                        summary.subscribers_created += 1;
                        self.insert_subscriber(tx, actor, &input, None, now)?
                    }
                };
                let rec = tx.insert_certificate(
                    &CertificateRecord {
                        id: CertificateId(0),
                        serial: Serial::parse("serial", &c.serial)?,
                        subscriber_id: sub.id,
                        subject: c.subject_text.clone(),
                        issuer: c.issuer.clone(),
                        not_before: c.not_before,
                        not_after: c.not_after,
                        revoked_at: None,
                        revocation_reason: None,
                        device_id: None,
                        predecessor: None,
                        renewal_count: 0,
                    },
                    sub.agency_id,
                    sub.kind.report_class(),
                )?;
                *summary.matched.entry(path.code().to_string()).or_default() += 1;
                events.push((
                    NewEvent::new(&actor.login, "certificate.imported", format!("certificate:{}", rec.id))
                        .agency(sub.agency_id)
                        .details(serde_json::json!({"serial": c.serial, "matched_by": path.code(), "source": c.source})),
                    now,
                ));
            }
            tx.append_audit_batch(events)?;
            Ok(summary)
        })
    }

    /// The certificates of bulk imports that wait for someone to say whose they are.
    pub fn certificates_for_review(&self, actor: &Principal) -> ServiceResult<Vec<kyso_store::ReviewRow>> {
        self.db.read(|tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, Permission::ManageCertificates, &root)?;
            Ok(tx.reviews()?)
        })
    }
}

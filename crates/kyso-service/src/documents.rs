//! Documents and their signatures: drafts registered from PDF files, personal and agency
//! signatures in the orders of the regulations, the outgoing register, and the report figures.
//!
//! Signing is two-phase, the way agencies sign: `prepare_signature` builds the incremental
//! update and the signed attributes (the key stays on the official's token), the token signs
//! those attributes, and `complete_signature` checks the signature against the certificate,
//! writes the new version of the file and records everything in one transaction.

use crate::*;
use base64::Engine;
use kyso_core::authz::{Permission, Role};
use kyso_core::document::*;
use kyso_core::registry::{CertificateStatus, DeviceStatus, Person, PersonId, SubscriberKind};
use kyso_core::value::{required_text, vn_date, Serial};
use kyso_pdf::decree30::{self, CopyType, Kind};
use kyso_pdf::file::Mapped;
use kyso_pdf::reader::PdfDoc;
use kyso_pdf::{FieldSpec, Level, PdfError};
use kyso_store::{FileStore, SigningSessionRow};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How long a prepared signature waits for the token.
const SESSION_MINUTES: i64 = 15;
/// The seal's diameter when the agency has not said (organisation seals are 35–42 mm).
pub const DEFAULT_SEAL_MM: f64 = 36.0;
/// The personal signature box under the title line, in points.
const SIGNATURE_BOX: (f64, f64) = (130.0, 60.0);

fn b64(d: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(d)
}
fn unb64(s: &str) -> ServiceResult<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| kyso_store::StoreError::Corrupt(format!("base64: {e}")).into())
}

impl From<PdfError> for ServiceError {
    fn from(e: PdfError) -> Self {
        match e {
            PdfError::Token(t) => ServiceError::Token(t),
            other => DomainError::invalid("pdf", other.to_string()).into(),
        }
    }
}

/// A draft to register.
#[derive(Debug, Clone, Default)]
pub struct NewDocument {
    pub agency_code: String,
    pub kind: String,
    /// Trích yếu.
    pub title: String,
    pub file_name: String,
    /// For issued documents: the symbol after the number ("QĐ-SNV").
    pub symbol: Option<String>,
    /// For issued documents: the competent signer's citizen ID.
    pub competent_cid: Option<String>,
    /// For an attachment: the main document.
    pub parent_id: Option<i64>,
}

/// Who signs, and how the signature looks.
#[derive(Debug, Clone)]
pub struct SignatureOptions {
    /// A personal signature with its step, or None for the agency signature.
    pub personal: Option<PersonalStep>,
    /// The signer's certificate (DER), as the token holds it.
    pub certificate: Vec<u8>,
    /// Where a personal signature goes: under this text (default: the signer's position in
    /// upper case, e.g. "PHÓ GIÁM ĐỐC"), or at an explicit page and rectangle.
    pub anchor: Option<String>,
    pub rect: Option<(usize, [f64; 4])>,
    pub invisible: bool,
    /// For a scanned paper original: its number and symbol as on paper ("12/QĐ-UBND").
    pub paper_number: Option<String>,
    /// For a copy: SAO Y, SAO LỤC or TRÍCH SAO.
    pub copy_type: Option<String>,
    /// Nơi nhận, for the register.
    pub recipients: Option<String>,
    pub level: Level,
    pub reason: Option<String>,
    pub location: Option<String>,
}

impl SignatureOptions {
    pub fn new(personal: Option<PersonalStep>, certificate: Vec<u8>) -> Self {
        SignatureOptions {
            personal,
            certificate,
            anchor: None,
            rect: None,
            invisible: false,
            paper_number: None,
            copy_type: None,
            recipients: None,
            level: Level::B,
            reason: None,
            location: None,
        }
    }
}

/// What the token must sign, and what to show its holder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreparedSignature {
    pub session: String,
    pub document_id: i64,
    pub document_title: String,
    pub file_name: String,
    /// The signer as the certificate names them.
    pub signer: String,
    /// The signed attributes (DER): exactly the bytes the token signs.
    pub signed_attrs: Vec<u8>,
    /// The signature scheme to use, by name ("RsaPkcs1Sha256", "EcdsaP256Sha256").
    pub scheme: String,
    pub expires_at: DateTime<Utc>,
}

/// The register line a signature will enter, reserved when it is prepared.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Reservation {
    kind: String,
    seq: u32,
    number: String,
    issued_on: chrono::NaiveDate,
}

/// The stored state between the two phases.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionPayload {
    base_len: usize,
    update: String,
    contents: (usize, usize),
    pending_digest: String,
    cert: String,
    chain: Vec<String>,
    signed_attrs: String,
    scheme: String,
    role: String,
    step: Option<String>,
    person_id: Option<i64>,
    field: String,
    level: String,
    signing_time: DateTime<Utc>,
    reservation: Option<Reservation>,
    signer_name: String,
    recipients: String,
}

fn scheme_name(s: kyso_token::SignatureScheme) -> String {
    format!("{s:?}")
}

pub fn scheme_by_name(name: &str) -> Option<kyso_token::SignatureScheme> {
    use kyso_token::SignatureScheme::*;
    [RsaPkcs1Sha256, RsaPkcs1Sha384, RsaPkcs1Sha512, RsaPssSha256, RsaPssSha384, RsaPssSha512, EcdsaP256Sha256]
        .into_iter()
        .find(|s| scheme_name(*s) == name)
}

fn symbol_of_copy(t: CopyType) -> &'static str {
    match t {
        CopyType::SaoY => "SY",
        CopyType::SaoLuc => "SL",
        CopyType::TrichSao => "TS",
    }
}

impl Service {
    /// Keeps document files and images under `dir`.
    pub fn set_files(&mut self, dir: &Path) -> ServiceResult<()> {
        self.files = Some(FileStore::open(dir)?);
        Ok(())
    }

    pub(crate) fn files(&self) -> ServiceResult<&FileStore> {
        self.files.as_ref().ok_or_else(|| DomainError::invalid("files", "chưa cấu hình kho tệp văn bản").into())
    }

    /// Stores a person's handwritten-signature image (a PNG, blue on transparent).
    pub fn set_signature_image(&self, actor: &Principal, citizen_id: &str, png: &[u8], now: DateTime<Utc>) -> ServiceResult<()> {
        kyso_pdf::appearance::decode_png(png)?;
        self.mutate(actor, "person.signature_image", &format!("person:{citizen_id}"), now, |tx| {
            let p = tx.person_by_citizen_id(citizen_id.trim())?.ok_or_else(|| DomainError::not_found("cán bộ có số CCCD", citizen_id))?;
            let agency = agency_by_id(tx, p.agency_id)?;
            if actor.person_id != Some(p.id) {
                require(actor, Permission::ManagePersons, &agency)?;
            }
            self.files()?.put_asset(&format!("signature-{}.png", p.id.0), png)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "person.signature_image", format!("person:{}", p.id.0))
                    .agency(agency.id)
                    .details(serde_json::json!({"sha256": hex_sha256(png), "bytes": png.len()})),
                now,
            )?;
            Ok(())
        })
    }

    /// Stores an agency's seal image (a PNG, red on transparent) and its real diameter.
    pub fn set_seal_image(
        &self,
        actor: &Principal,
        agency_code: &str,
        png: &[u8],
        diameter_mm: f64,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        kyso_pdf::appearance::decode_png(png)?;
        if !(20.0..=60.0).contains(&diameter_mm) {
            return Err(DomainError::invalid("diameter_mm", format!("đường kính con dấu {diameter_mm} mm không hợp lý (20–60 mm)")).into());
        }
        self.mutate(actor, "agency.seal_image", &format!("agency:{agency_code}"), now, |tx| {
            let agency = agency_by_code(tx, agency_code)?;
            // The seal is in the custody of the body's records clerk (NĐ 30/2020 Điều 32).
            if !actor.has_role_at(Role::RecordsClerk, agency.id) {
                return Err(DomainError::forbidden(format!("chỉ văn thư của '{}' được đặt hình con dấu của cơ quan", agency.name)).into());
            }
            if !agency.legal_entity {
                return Err(DomainError::rule(
                    "seal_legal_entity",
                    format!("'{}' không có tư cách pháp nhân nên không có con dấu", agency.name),
                )
                .into());
            }
            self.files()?.put_asset(&format!("seal-{}.png", agency.id.0), png)?;
            tx.set_setting(&format!("seal_mm.{}", agency.id.0), &diameter_mm.to_string())?;
            tx.append_audit(
                NewEvent::new(&actor.login, "agency.seal_image", format!("agency:{}", agency.id.0))
                    .agency(agency.id)
                    .details(serde_json::json!({"sha256": hex_sha256(png), "diameter_mm": diameter_mm})),
                now,
            )?;
            Ok(())
        })
    }

    /// Registers a draft from a PDF file. For an issued document, read-only fields are
    /// reserved over the blanks of the number and date, so that the records clerk can fill
    /// them in after the personal signatures.
    pub fn create_document(&self, actor: &Principal, d: &NewDocument, source: &Path, now: DateTime<Utc>) -> ServiceResult<Document> {
        let kind = kyso_core::registry::parse_coded("kind", &d.kind, DocumentKind::parse, DocumentKind::ALL, DocumentKind::code)?;
        let title = required_text("title", &d.title, 500)?;
        let file_name = required_text("file_name", &d.file_name, 255)?;
        let symbol = d.symbol.as_deref().map(|s| required_text("symbol", s, 64)).transpose()?;
        if kind == DocumentKind::Issued && symbol.is_none() {
            return Err(DomainError::invalid("symbol", "văn bản ban hành cần ký hiệu (ví dụ QĐ-SNV) để văn thư cấp số").into());
        }
        // Read and check the file before taking any lock.
        let mapped = Mapped::open(source)?;
        let update = {
            let pdf = PdfDoc::open(mapped.bytes())?;
            if !kyso_pdf::verify::check_signatures(mapped.bytes())?.is_empty() {
                return Err(DomainError::invalid("file", "tệp đã có chữ ký số; hãy đăng ký bản dự thảo chưa ký").into());
            }
            if kind == DocumentKind::Issued {
                let fields = decree30::number_and_date_fields(&pdf)?;
                Some(kyso_pdf::form::text_fields_update(mapped.bytes(), &fields)?)
            } else {
                None
            }
        };
        let doc = self.mutate(actor, "document.created", "document:new", now, |tx| {
            let agency = agency_by_code(tx, &d.agency_code)?;
            require(actor, Permission::ManageDocuments, &agency)?;
            let competent = match d.competent_cid.as_deref() {
                Some(cid) => {
                    let p = tx.person_by_citizen_id(cid.trim())?.ok_or_else(|| DomainError::not_found("cán bộ có số CCCD", cid))?;
                    let pa = agency_by_id(tx, p.agency_id)?;
                    if !pa.path.starts_with(&agency.path) {
                        return Err(DomainError::rule("competent_in_agency", format!("{} không thuộc {}", p.full_name, agency.name)).into());
                    }
                    Some(p.id)
                }
                None => None,
            };
            if let Some(pid) = d.parent_id {
                let parent = tx.document(pid)?.ok_or_else(|| DomainError::not_found("văn bản", pid))?;
                if parent.agency_id != agency.id || parent.kind != DocumentKind::Issued {
                    return Err(
                        DomainError::rule("attachment_parent", "phụ lục phải kèm theo một văn bản ban hành của cùng cơ quan").into()
                    );
                }
            } else if kind == DocumentKind::Attachment {
                return Err(DomainError::invalid("parent", "phụ lục cần văn bản chính (--parent)").into());
            }
            let mut doc = tx.insert_document(&Document {
                id: 0,
                agency_id: agency.id,
                kind,
                status: DocumentStatus::Draft,
                title: title.clone(),
                file_name: file_name.clone(),
                competent_person: competent,
                parent_id: d.parent_id,
                symbol: symbol.clone(),
                number: None,
                issued_on: None,
                sha256: String::new(),
                size: 0,
                version: 0,
                created_by: actor.login.clone(),
                created_at: now,
            })?;
            let files = self.files()?;
            let mut src = kyso_pdf::file::open_regular(source)
                .map_err(|e| DomainError::invalid("file", format!("không đọc được {}: {e}", source.display())))?;
            let mut tail: &[u8] = update.as_deref().unwrap_or_default();
            let (sha, size) = files.write(doc.id, 1, &mut [&mut src, &mut tail])?;
            doc.sha256 = sha;
            doc.size = size;
            doc.version = 1;
            tx.update_document(&doc, 0)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "document.created", format!("document:{}", doc.id)).agency(agency.id).details(
                    serde_json::json!({"kind": kind.code(), "title": title, "file": file_name, "sha256": doc.sha256, "size": size}),
                ),
                now,
            )?;
            Ok(doc)
        })?;
        Ok(doc)
    }

    /// A document with its signatures.
    pub fn document(&self, actor: &Principal, id: i64) -> ServiceResult<(Document, Vec<SignatureEntry>)> {
        self.db.read(|tx| {
            let doc = tx.document(id)?.ok_or_else(|| DomainError::not_found("văn bản", id))?;
            self.require_document_reader(tx, actor, &doc)?;
            let sigs = tx.signatures(id)?;
            Ok((doc, sigs))
        })
    }

    fn require_document_reader(&self, tx: &mut Tx<'_>, actor: &Principal, doc: &Document) -> ServiceResult<()> {
        let agency = agency_by_id(tx, doc.agency_id)?;
        if actor.may(Permission::ManageDocuments, &agency.path) || actor.may(Permission::ReadRegistry, &agency.path) {
            return Ok(());
        }
        // The agency's own staff (who check and approve its drafts) and the competent signer.
        if doc.competent_person.is_some() && doc.competent_person == actor.person_id {
            return Ok(());
        }
        if let Some(p) = actor.person_id.map(|p| tx.person(p)).transpose()?.flatten() {
            if agency_by_id(tx, p.agency_id)?.path.starts_with(&agency.path) {
                return Ok(());
            }
        }
        Err(DomainError::forbidden(format!("tài khoản '{}' không được xem văn bản của '{}'", actor.login, agency.name)).into())
    }

    /// Documents of agencies under `agency_code` (default: all the actor may see), newest first.
    pub fn list_documents(&self, actor: &Principal, agency_code: Option<&str>, limit: i64) -> ServiceResult<Vec<Document>> {
        self.db.read(|tx| {
            let scopes = match agency_code {
                Some(c) => {
                    let a = agency_by_code(tx, c)?;
                    require(actor, Permission::ManageDocuments, &a)?;
                    vec![a.path]
                }
                None => read_scopes(actor, Permission::ManageDocuments)?,
            };
            let mut out = Vec::new();
            for s in scopes {
                out.extend(tx.documents_under(&s, limit)?);
            }
            out.sort_by_key(|d| std::cmp::Reverse(d.id));
            out.truncate(limit.max(0) as usize);
            Ok(out)
        })
    }

    /// Copies the current file of a document to `out`.
    pub fn export_document(&self, actor: &Principal, id: i64, out: &Path) -> ServiceResult<Document> {
        let (doc, _) = self.document(actor, id)?;
        let src = self.files()?.path(doc.id, doc.version);
        std::fs::copy(&src, out).map_err(|e| DomainError::invalid("out", format!("không ghi được {}: {e}", out.display())))?;
        Ok(doc)
    }

    /// The outgoing register (or the copy register) of agencies under `agency_code` for a year.
    pub fn outgoing_register(&self, actor: &Principal, agency_code: &str, year: i32, kind: &str) -> ServiceResult<Vec<RegisterEntry>> {
        if kind != "issued" && kind != "copy" {
            return Err(DomainError::invalid("kind", "sổ 'issued' (văn bản đi) hoặc 'copy' (bản sao)").into());
        }
        self.db.read(|tx| {
            let a = agency_by_code(tx, agency_code)?;
            require(actor, Permission::ManageDocuments, &a)?;
            Ok(tx.register_entries(&a.path, year, kind)?)
        })
    }

    /// Phase 1: checks who signs and in which order, builds the incremental update with the
    /// appearance, and returns the signed attributes for the token.
    pub fn prepare_signature(
        &self,
        actor: &Principal,
        id: i64,
        o: &SignatureOptions,
        now: DateTime<Utc>,
    ) -> ServiceResult<PreparedSignature> {
        let (_, info) = kyso_pki::cert::parse(&o.certificate)?;
        let serial = Serial::parse("serial", &info.serial_hex)?;
        let files = self.files()?;
        // Everything the rules need, read in one transaction; the denial (if any) is audited.
        let plan = self.mutate(actor, "document.sign", &format!("document:{id}"), now, |tx| {
            let doc = tx.document(id)?.ok_or_else(|| DomainError::not_found("văn bản", id))?;
            self.require_document_reader(tx, actor, &doc)?;
            let existing = tx.signatures(id)?;
            let agency = agency_by_id(tx, doc.agency_id)?;
            let me = actor.person_id.and_then(|p| tx.person(p).ok().flatten());
            let step = match o.personal {
                Some(s) => Step::Personal {
                    person: me.as_ref().map(|p| p.id).ok_or_else(|| {
                        DomainError::forbidden(format!("tài khoản '{}' không gắn với cán bộ nào nên không ký cá nhân được", actor.login))
                    })?,
                    step: s,
                },
                None => {
                    if !actor.has_role_at(Role::RecordsClerk, agency.id) {
                        return Err(
                            DomainError::forbidden(format!("chỉ văn thư của '{}' được ký bằng chữ ký của cơ quan", agency.name)).into()
                        );
                    }
                    Step::Agency
                }
            };
            check_step(&doc, &existing, step)?;
            // The certificate: registered, valid now, the signer's own, on a device in their hands.
            let rec = tx
                .certificate_by_serial(serial.as_str())?
                .ok_or_else(|| DomainError::not_found("chứng thư số trong sổ đăng ký", serial.as_str()))?;
            if let Some(stored) = tx.certificate_der(serial.as_str())? {
                if unb64(&stored)? != o.certificate {
                    return Err(DomainError::rule(
                        "certificate_mismatch",
                        "chứng thư số trên thiết bị khác với chứng thư đã đăng ký cùng số hiệu",
                    )
                    .into());
                }
            }
            match rec.status_at(now) {
                CertificateStatus::Valid if rec.not_before <= now => {}
                CertificateStatus::Revoked => {
                    return Err(DomainError::rule(
                        "certificate_revoked",
                        format!("chứng thư số {} đã bị thu hồi; không được dùng để ký", rec.serial),
                    )
                    .into())
                }
                _ => {
                    return Err(DomainError::rule(
                        "certificate_expired",
                        format!(
                            "chứng thư số {} không còn hiệu lực ({} – {}); không được dùng để ký",
                            rec.serial,
                            rec.not_before.format("%d/%m/%Y"),
                            rec.not_after.format("%d/%m/%Y")
                        ),
                    )
                    .into())
                }
            }
            let sub = tx.subscriber(rec.subscriber_id)?.ok_or_else(|| DomainError::not_found("thuê bao", rec.subscriber_id))?;
            match step {
                Step::Personal { person, .. } => {
                    if sub.kind != SubscriberKind::Individual || sub.person_id != Some(person) {
                        return Err(DomainError::forbidden("chỉ được ký cá nhân bằng chứng thư số của chính mình").into());
                    }
                }
                _ => {
                    if sub.kind != SubscriberKind::Organisation || sub.agency_id != doc.agency_id {
                        return Err(DomainError::forbidden(format!(
                            "chữ ký của cơ quan phải dùng chứng thư số của chính '{}'",
                            agency.name
                        ))
                        .into());
                    }
                }
            }
            let device = rec.device_id.map(|d| tx.device(d)).transpose()?.flatten();
            match device {
                Some(d) => {
                    let mine = me.as_ref().is_some_and(|p| d.custodian == Some(p.id));
                    if !mine || !matches!(d.status, DeviceStatus::HandedOver | DeviceStatus::InUse) {
                        return Err(DomainError::forbidden(format!(
                            "thiết bị lưu khóa {} không do '{}' quản lý (hoặc đang '{}'); chỉ người được giao thiết bị mới được dùng",
                            d.serial,
                            actor.login,
                            d.status.label_vi()
                        ))
                        .into());
                    }
                }
                None => {
                    return Err(DomainError::rule(
                        "device_unknown",
                        format!("chứng thư số {} chưa gắn với thiết bị lưu khóa nào trong sổ đăng ký", rec.serial),
                    )
                    .into())
                }
            }
            // The register line, reserved now because the number goes into the file.
            let issued_on = vn_date(now);
            let reservation = match (doc.kind, step) {
                (DocumentKind::Issued, Step::Agency) => {
                    let seq = tx.next_register_seq(agency.id, issued_on.year(), "issued")?;
                    Some(Reservation {
                        kind: "issued".into(),
                        seq,
                        number: format_number(seq, doc.symbol.as_deref().unwrap_or("")),
                        issued_on,
                    })
                }
                (DocumentKind::Scanned, Step::Agency) => {
                    let n = o.paper_number.as_deref().ok_or_else(|| {
                        DomainError::invalid("paper_number", "văn bản giấy số hóa cần số, ký hiệu như trên bản giấy (ví dụ 12/QĐ-UBND)")
                    })?;
                    let (seq, sym) = parse_number_symbol(n)?;
                    Some(Reservation { kind: "issued".into(), seq, number: format_number(seq, &sym), issued_on })
                }
                (DocumentKind::Copy, Step::Agency) => {
                    let t = copy_type(o)?;
                    let seq = tx.next_register_seq(agency.id, issued_on.year(), "copy")?;
                    Some(Reservation { kind: "copy".into(), seq, number: format_number(seq, symbol_of_copy(t)), issued_on })
                }
                _ => None,
            };
            let parent_number = match doc.parent_id {
                Some(p) => tx.document(p)?.and_then(|d| d.number),
                None => None,
            };
            if doc.kind == DocumentKind::Attachment && step == Step::Agency && parent_number.is_none() {
                return Err(DomainError::rule(
                    "attachment_after_main",
                    "văn bản chính chưa được ban hành (chưa có số); ký phụ lục sau văn bản chính",
                )
                .into());
            }
            let seal_mm = tx.setting(&format!("seal_mm.{}", agency.id.0))?.and_then(|s| s.parse::<f64>().ok()).unwrap_or(DEFAULT_SEAL_MM);
            // The outgoing register names who approved the document, not the clerk who seals it.
            let competent = existing
                .iter()
                .rev()
                .find(|s| s.step == Some(PersonalStep::Approve))
                .and_then(|s| s.person_id)
                .map(|p| tx.person(p))
                .transpose()?
                .flatten()
                .map(|p| p.full_name.to_string());
            Ok(Plan { doc, existing, agency, me, step, reservation, parent_number, seal_mm, competent })
        })?;
        let Plan { doc, existing, agency, me, step, reservation, parent_number, seal_mm, competent } = plan;

        // The file as recorded, checked against its hash while hashing for the signature.
        let path = files.path(doc.id, doc.version);
        let mapped = Mapped::open(&path)?;
        let bytes = mapped.bytes();
        if bytes.len() as u64 != doc.size {
            return Err(DomainError::rule(
                "file_changed",
                "tệp văn bản trong kho không khớp với sổ (kích thước khác); báo cán bộ kỹ thuật",
            )
            .into());
        }
        if step == Step::Agency {
            self.check_earlier_signatures(bytes, &existing)?;
        }
        let pdf = PdfDoc::open(bytes)?;
        let signer_name = me.as_ref().map(|p| p.full_name.to_string()).unwrap_or_else(|| agency.name.clone());
        let field = match step {
            Step::Personal { step, .. } => format!("{} – {}", step.label_vi(), signer_name),
            _ => format!("Chữ ký của {}", agency.name),
        };
        let kind = self.appearance_kind(&pdf, &doc, &existing, o, step, me.as_ref(), &agency, parent_number.as_deref(), seal_mm)?;
        let page_default = pdf.pages()?.len();
        let (page, placement, appearance) = decree30::layout(&kind, page_default, now)?;
        let fills = match (&reservation, doc.kind) {
            (Some(r), DocumentKind::Issued) => decree30::number_and_date_fills(r.seq, r.issued_on, 13.0),
            _ => vec![],
        };
        let spec = FieldSpec {
            page,
            name: field.clone(),
            placement,
            appearance,
            reason: o.reason.clone().or_else(|| Some(step_reason(step).into())),
            location: o.location.clone(),
            signing_time: now,
            contents_size: kyso_pdf::DEFAULT_CONTENTS,
            sub_filter: "ETSI.CAdES.detached",
            fills,
        };
        let prepared = kyso_pdf::sign::prepare(bytes, &spec)?;
        let mut f = std::fs::File::open(&path).map_err(|e| DomainError::invalid("file", e.to_string()))?;
        let digest = prepared.digest_from(&mut f, kyso_token::HashAlg::Sha256)?;
        drop(pdf);
        let chain = self.chain_for(&o.certificate);
        let pending = kyso_pdf::pending_cms(digest, &o.certificate, &chain)?;
        let (facts, _) = kyso_pki::alg::key_facts(&info.spki_der)?;
        let scheme = facts.algorithm.unwrap_or(kyso_token::KeyAlgorithm::Rsa2048).default_scheme();
        let mut id = [0u8; 16];
        kyso_token::random_bytes(&mut id);
        let session = hex::encode(id);
        let payload = SessionPayload {
            base_len: prepared.base_len,
            update: b64(&prepared.update),
            contents: prepared.contents,
            pending_digest: b64(&pending.content_digest),
            cert: b64(&pending.cert),
            chain: pending.chain.iter().map(|c| b64(c)).collect(),
            signed_attrs: b64(&pending.signed_attrs),
            scheme: scheme_name(scheme),
            role: match step {
                Step::Personal { .. } => SignatureRole::Personal.code().into(),
                _ => SignatureRole::Agency.code().into(),
            },
            step: o.personal.map(|s| s.code().to_string()),
            person_id: me.as_ref().map(|p| p.id.0),
            field,
            level: if o.level == Level::T { "T".into() } else { "B".into() },
            signing_time: now,
            reservation,
            signer_name: match step {
                Step::Agency => competent.clone().unwrap_or_else(|| signer_name.clone()),
                _ => signer_name.clone(),
            },
            recipients: o.recipients.clone().unwrap_or_default(),
        };
        let expires_at = now + chrono::Duration::minutes(SESSION_MINUTES);
        let row = SigningSessionRow {
            id: session.clone(),
            document_id: doc.id,
            version: doc.version,
            payload: serde_json::to_string(&payload).map_err(|e| kyso_store::StoreError::Corrupt(e.to_string()))?,
            created_by: actor.login.clone(),
            created_at: now,
            expires_at,
        };
        self.db.write(|tx| tx.insert_signing_session(&row))?;
        Ok(PreparedSignature {
            session,
            document_id: doc.id,
            document_title: doc.title.clone(),
            file_name: doc.file_name.clone(),
            signer: info.subject.to_string(),
            signed_attrs: pending.signed_attrs,
            scheme: scheme_name(scheme),
            expires_at,
        })
    }

    /// The clerk's check before the agency signature: every earlier signature is intact, was
    /// made with a certificate in the registry that was not revoked then, and matches what the
    /// registry recorded.
    fn check_earlier_signatures(&self, bytes: &[u8], recorded: &[SignatureEntry]) -> ServiceResult<()> {
        let checks = kyso_pdf::verify::check_signatures(bytes)?;
        let mut reasons = Vec::new();
        for c in &checks {
            reasons.extend(c.problems.iter().map(|p| format!("chữ ký '{}': {p}", c.field)));
            reasons.extend(c.later_changes.iter().map(|p| format!("sau chữ ký '{}': {p}", c.field)));
            let Some(cert) = &c.signer_cert else { continue };
            let Ok((_, info)) = kyso_pki::cert::parse(cert) else { continue };
            let when = c.timestamp.or(c.claimed_time);
            let serial = Serial::parse("serial", &info.serial_hex)?;
            match self.db.read(|tx| tx.certificate_by_serial(serial.as_str()))? {
                None => reasons.push(format!("chữ ký '{}': chứng thư số {} không có trong sổ đăng ký", c.field, serial.as_str())),
                Some(rec) => {
                    if let (Some(r), Some(w)) = (rec.revoked_at, when) {
                        if r <= w {
                            reasons.push(format!("chữ ký '{}': chứng thư số {} đã bị thu hồi trước khi ký", c.field, rec.serial));
                        }
                    }
                    if when.is_some_and(|w| w < rec.not_before || w > rec.not_after) {
                        reasons.push(format!("chữ ký '{}': ký ngoài thời hạn hiệu lực của chứng thư số", c.field));
                    }
                }
            }
        }
        let in_file = checks.iter().filter(|c| c.kind == kyso_pdf::verify::SigKind::Signature).count();
        let on_record = recorded.iter().filter(|s| s.role != SignatureRole::Timestamp).count();
        if in_file != on_record {
            reasons.push(format!("tệp có {in_file} chữ ký nhưng sổ ghi {on_record}"));
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(DomainError::rule(
                "earlier_signatures_invalid",
                format!("văn thư không được ký vì các chữ ký trước không hợp lệ: {}", reasons.join("; ")),
            )
            .into())
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn appearance_kind(
        &self,
        pdf: &PdfDoc<'_>,
        doc: &Document,
        existing: &[SignatureEntry],
        o: &SignatureOptions,
        step: Step,
        me: Option<&Person>,
        agency: &Agency,
        parent_number: Option<&str>,
        seal_mm: f64,
    ) -> ServiceResult<Kind> {
        if o.invisible {
            return Ok(Kind::Invisible);
        }
        let files = self.files()?;
        let seal = || -> ServiceResult<Vec<u8>> {
            files.asset(&format!("seal-{}.png", agency.id.0))?.ok_or_else(|| {
                DomainError::invalid(
                    "seal",
                    format!("chưa có hình con dấu của '{}'; văn thư cập nhật bằng 'kyso doc seal-image'", agency.name),
                )
                .into()
            })
        };
        Ok(match step {
            // Checking signatures (content, format) are not part of the Decree 30 layout:
            // invisible unless a place is given.
            Step::Personal { step, .. } if step != PersonalStep::Approve && o.anchor.is_none() && o.rect.is_none() => Kind::Invisible,
            Step::Personal { .. } => {
                let p = me.ok_or_else(|| DomainError::forbidden("không có cán bộ ký"))?;
                let png = files.asset(&format!("signature-{}.png", p.id.0))?.ok_or_else(|| {
                    DomainError::invalid(
                        "signature_image",
                        format!(
                            "chưa có hình chữ ký của {}; cập nhật bằng 'kyso doc signature-image' hoặc ký ẩn (--invisible)",
                            p.full_name
                        ),
                    )
                })?;
                let rect = match (o.rect, &o.anchor) {
                    (Some((_, r)), _) => r,
                    (None, anchor) => {
                        let a = anchor.clone().unwrap_or_else(|| p.position.to_uppercase());
                        let hit = kyso_pdf::text::find_text(pdf, &a)?.ok_or_else(|| {
                            DomainError::invalid(
                                "anchor",
                                format!("không tìm thấy dòng '{a}' trong văn bản để đặt chữ ký; chỉ rõ --anchor hoặc --rect"),
                            )
                        })?;
                        kyso_pdf::text::box_below(&hit, SIGNATURE_BOX.0, SIGNATURE_BOX.1)
                    }
                };
                Kind::Personal { signature_png: png, rect }
            }
            _ => match doc.kind {
                DocumentKind::Issued => {
                    // The seal over the left third of the competent signer's signature.
                    let approve = existing
                        .iter()
                        .rev()
                        .find(|s| s.step == Some(PersonalStep::Approve))
                        .ok_or_else(|| DomainError::rule("competent_signed_first", "chưa có chữ ký ban hành"))?;
                    let (_, personal_rect) = kyso_pdf::form::field_rect(pdf, &approve.field)?
                        .ok_or_else(|| DomainError::invalid("appearance", "không tìm thấy vị trí chữ ký của người có thẩm quyền"))?;
                    if personal_rect[2] - personal_rect[0] < 1.0 {
                        Kind::Invisible
                    } else {
                        Kind::Agency { seal_png: seal()?, seal_mm, personal_rect, agency: agency.name.clone() }
                    }
                }
                DocumentKind::Scanned | DocumentKind::Digitised => {
                    Kind::Digitised { seal_png: seal()?, seal_mm, agency: agency.name.clone() }
                }
                DocumentKind::Copy => Kind::Copy { copy_type: copy_type(o)?, agency: agency.name.clone() },
                DocumentKind::Attachment => {
                    Kind::Attachment { number: format!("Kèm theo văn bản số {}", parent_number.unwrap_or("")) }
                }
                DocumentKind::Internal => Kind::Invisible,
            },
        })
    }

    /// The issuing chain of a certificate from the built-in CA, when it issued it.
    fn chain_for(&self, cert: &[u8]) -> Vec<Vec<u8>> {
        let Ok(certs) = self.ca_certs() else { return vec![] };
        let (Ok((_, leaf)), Ok((_, issuing))) = (kyso_pki::cert::parse(cert), kyso_pki::cert::parse(&certs.issuing)) else { return vec![] };
        if leaf.issuer_der == issuing.subject_der {
            vec![certs.issuing, certs.root]
        } else {
            vec![]
        }
    }

    /// Phase 2: the token's signature over the prepared attributes. Checks it against the
    /// certificate, writes the new version and records the signature, the register line, the
    /// report figures and the audit events in one transaction.
    pub fn complete_signature(
        &self,
        actor: &Principal,
        session: &str,
        signature: &[u8],
        tsa: Option<kyso_pdf::Tsa<'_>>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Document> {
        let row = self.db.read(|tx| tx.signing_session(session))?.ok_or_else(|| DomainError::not_found("phiên ký", session))?;
        if row.created_by != actor.login {
            return Err(DomainError::forbidden("phiên ký này do tài khoản khác chuẩn bị").into());
        }
        if row.expires_at < now {
            self.db.write(|tx| tx.delete_signing_session(session, now))?;
            return Err(DomainError::rule("session_expired", "phiên ký đã hết hạn; hãy chuẩn bị ký lại").into());
        }
        let p: SessionPayload = serde_json::from_str(&row.payload).map_err(|e| kyso_store::StoreError::Corrupt(e.to_string()))?;
        let scheme = scheme_by_name(&p.scheme).ok_or_else(|| kyso_store::StoreError::Corrupt(format!("scheme {}", p.scheme)))?;
        let pending = kyso_pdf::PendingCms {
            content_digest: unb64(&p.pending_digest)?,
            cert: unb64(&p.cert)?,
            chain: p.chain.iter().map(|c| unb64(c)).collect::<ServiceResult<_>>()?,
            signed_attrs: unb64(&p.signed_attrs)?,
        };
        let level = if p.level == "T" { Level::T } else { Level::B };
        let cms = kyso_pdf::complete_cms(&pending, scheme, signature, level, tsa)?;
        let prepared = kyso_pdf::Prepared { base_len: p.base_len, update: unb64(&p.update)?, contents: p.contents };
        let update = prepared.finish_update(&cms)?;
        let files = self.files()?;
        let doc = self.db.read(|tx| tx.document(row.document_id))?.ok_or_else(|| DomainError::not_found("văn bản", row.document_id))?;
        if doc.version != row.version {
            return Err(
                DomainError::conflict("văn bản", format!("{} đã được ký thêm kể từ khi chuẩn bị; hãy chuẩn bị ký lại", doc.id)).into()
            );
        }
        let (sha, size) = files.append(doc.id, doc.version, doc.version + 1, &update)?;
        let role = SignatureRole::parse(&p.role).ok_or_else(|| kyso_store::StoreError::Corrupt(p.role.clone()))?;
        let result = self.mutate(actor, "document.signed", &format!("document:{}", doc.id), now, |tx| {
            let mut d = tx.document(doc.id)?.ok_or_else(|| DomainError::not_found("văn bản", doc.id))?;
            let from = d.version;
            let seq = tx.signatures(d.id)?.len() as i64 + 1;
            let entry = SignatureEntry {
                seq,
                role,
                step: p.step.as_deref().and_then(PersonalStep::parse),
                person_id: p.person_id.map(PersonId),
                field: p.field.clone(),
                serial: kyso_pki::cert::parse(&pending.cert).ok().map(|(_, i)| i.serial_hex),
                signed_at: p.signing_time,
                by_login: actor.login.clone(),
                sha256_after: sha.clone(),
            };
            let class = if role == SignatureRole::Agency { "org" } else { "personal" };
            // Report figures count documents: a second personal signature on the same
            // document is audited but not counted again.
            let first_of_class = !tx.signatures(d.id)?.iter().any(|s| (s.role == SignatureRole::Agency) == (role == SignatureRole::Agency));
            tx.insert_signature(d.id, &entry)?;
            d.status = status_after(d.kind, role, d.status);
            d.version += 1;
            d.sha256 = sha.clone();
            d.size = size;
            let mut event = NewEvent::new(&actor.login, "document.signed", format!("document:{}", d.id)).agency(d.agency_id);
            if first_of_class {
                event = event.figure("document", class);
            }
            tx.append_audit(
                event.details(serde_json::json!({"field": p.field, "role": role.code(), "step": p.step, "serial": entry.serial, "sha256": sha, "level": p.level})),
                now,
            )?;
            if let Some(r) = &p.reservation {
                let entry = RegisterEntry {
                    id: 0,
                    agency_id: d.agency_id,
                    year: r.issued_on.year(),
                    kind: r.kind.clone(),
                    seq: r.seq,
                    number: r.number.clone(),
                    issued_on: r.issued_on,
                    title: d.title.clone(),
                    document_id: d.id,
                    signer_name: p.signer_name.clone(),
                    recipients: p.recipients.clone(),
                    entered_by: actor.login.clone(),
                    entered_at: now,
                };
                tx.insert_register_entry(&entry).map_err(|e| match e {
                    kyso_store::StoreError::Constraint(_) => ServiceError::from(DomainError::conflict("số văn bản", format!("{} đã được cấp cho văn bản khác; hãy chuẩn bị ký lại", r.number))),
                    other => other.into(),
                })?;
                d.number = Some(r.number.clone());
                d.issued_on = Some(r.issued_on);
                let action = if r.kind == "copy" { "document.copied" } else { "document.issued" };
                tx.append_audit(
                    NewEvent::new(&actor.login, action, format!("document:{}", d.id))
                        .agency(d.agency_id)
                        .figure("document", "org")
                        .details(serde_json::json!({"number": r.number, "issued_on": r.issued_on.to_string(), "title": d.title})),
                    now,
                )?;
            } else if d.kind == DocumentKind::Digitised && role == SignatureRole::Agency {
                tx.append_audit(
                    NewEvent::new(&actor.login, "document.digitised", format!("document:{}", d.id)).agency(d.agency_id).figure("document", "org"),
                    now,
                )?;
            }
            tx.update_document(&d, from)?;
            tx.delete_signing_session(session, now)?;
            Ok(d)
        });
        match result {
            Ok(d) => {
                files.remove(doc.id, doc.version);
                Ok(d)
            }
            Err(e) => {
                // The new version was never recorded: remove it, keep the old one.
                files.remove(doc.id, doc.version + 1);
                Err(e)
            }
        }
    }

    /// Both phases with a signer at hand (the CLI with a local token, the demo).
    pub fn sign_document(
        &self,
        actor: &Principal,
        id: i64,
        o: &SignatureOptions,
        signer: &dyn kyso_token::Signer,
        tsa: Option<kyso_pdf::Tsa<'_>>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Document> {
        let prepared = self.prepare_signature(actor, id, o, now)?;
        let scheme = scheme_by_name(&prepared.scheme).expect("named by prepare_signature");
        let signature = signer.sign(scheme, &prepared.signed_attrs).map_err(ServiceError::Token)?;
        self.complete_signature(actor, &prepared.session, &signature, tsa, now)
    }
}

struct Plan {
    doc: Document,
    existing: Vec<SignatureEntry>,
    agency: Agency,
    me: Option<Person>,
    step: Step,
    reservation: Option<Reservation>,
    parent_number: Option<String>,
    seal_mm: f64,
    /// The competent signer (the leader who signed to issue it), for the outgoing register.
    competent: Option<String>,
}

fn copy_type(o: &SignatureOptions) -> ServiceResult<CopyType> {
    let t = o
        .copy_type
        .as_deref()
        .ok_or_else(|| DomainError::invalid("copy_type", "bản sao cần hình thức sao: SAO Y, SAO LỤC hoặc TRÍCH SAO"))?;
    CopyType::parse(t)
        .ok_or_else(|| DomainError::invalid("copy_type", format!("'{t}' không hợp lệ; chọn SAO Y, SAO LỤC hoặc TRÍCH SAO")).into())
}

fn step_reason(step: Step) -> &'static str {
    match step {
        Step::Personal { step, .. } => step.label_vi(),
        Step::Agency => "Chữ ký của cơ quan ban hành",
        Step::Timestamp => "Dấu thời gian",
    }
}

use chrono::Datelike;

impl Service {
    /// This deployment's id, which agents know it by (made on first use).
    pub fn deployment_id(&self, now: DateTime<Utc>) -> ServiceResult<String> {
        self.db.write(|tx| {
            if let Some(id) = tx.setting("deployment.id")? {
                return Ok(id);
            }
            let mut b = [0u8; 16];
            kyso_token::random_bytes(&mut b);
            let id = hex::encode(b);
            tx.set_setting("deployment.id", &id)?;
            tx.append_audit(NewEvent::new(SYSTEM_LOGIN, "deployment.identified", format!("deployment:{id}")), now)?;
            Ok(id)
        })
    }

    /// Sets the key that seals secrets kept in the database. The binary keeps it in the data
    /// directory, so that a copy of the database alone (a dump, a backup) does not give them.
    pub fn set_sealing_key(&mut self, key: [u8; 32]) {
        self.sealing_key = Some(kyso_token::Zeroizing::new(key));
    }

    pub(crate) fn sealing_key(&self) -> ServiceResult<&[u8; 32]> {
        self.sealing_key.as_deref().ok_or_else(|| {
            ServiceError::Domain(DomainError::invalid(
                "sealing_key",
                "hệ thống chưa có khóa niêm phong bí mật (tệp khóa trong thư mục dữ liệu)",
            ))
        })
    }

    /// Checks, before the agent is asked, that `actor` may pair one: only for their own person,
    /// whom it returns.
    pub fn check_may_pair_agent(&self, actor: &Principal) -> ServiceResult<kyso_core::registry::PersonId> {
        match actor.person_id {
            Some(p) => Ok(p),
            None => Err(DomainError::forbidden(format!(
                "tài khoản '{}' không gắn với cán bộ nào; tác tử ký số chỉ ghép nối cho chính người ký",
                actor.login
            ))
            .into()),
        }
    }

    /// Records the secret shared with a local agent at pairing, sealed, for the actor's own
    /// person: an official pairs the agent on their own PC, and only they sign through it.
    pub fn save_agent_pairing(&self, actor: &Principal, agent_id: &str, secret: &[u8], now: DateTime<Utc>) -> ServiceResult<()> {
        if agent_id.is_empty() || agent_id.len() > 64 || !agent_id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(DomainError::invalid("agent_id", "mã tác tử không hợp lệ").into());
        }
        let key = self.sealing_key()?;
        // Inside the transaction, so that a refusal is recorded as a denial.
        self.mutate(actor, "agent.pair", &format!("agent:{agent_id}"), now, |tx| {
            let person = self.check_may_pair_agent(actor)?;
            // The person is bound into the seal: a pairing moved to someone else no longer opens.
            let sealed = kyso_token::soft::seal(key, format!("agent.{agent_id}/{}", person.0).as_bytes(), secret)?;
            let record = serde_json::json!({"person": person.0, "sealed": sealed});
            tx.set_setting(&format!("agent.{agent_id}"), &record.to_string())?;
            tx.append_audit(NewEvent::new(&actor.login, "agent.paired", format!("agent:{agent_id}")), now)?;
            Ok(())
        })
    }

    /// The secret shared with an agent, if it is paired for the actor's person.
    pub fn agent_secret(&self, actor: &Principal, agent_id: &str) -> ServiceResult<Option<Vec<u8>>> {
        let Some(text) = self.db.read(|tx| tx.setting(&format!("agent.{agent_id}")))? else { return Ok(None) };
        // A pairing kept in clear by an older kyso is not used: the agent pairs again.
        let Ok(record) = serde_json::from_str::<serde_json::Value>(&text) else { return Ok(None) };
        let (Some(person), Some(sealed)) = (record["person"].as_i64(), record["sealed"].as_str()) else { return Ok(None) };
        if actor.person_id.map(|p| p.0) != Some(person) {
            return Err(DomainError::forbidden("tác tử này được ghép nối cho cán bộ khác").into());
        }
        let secret = kyso_token::soft::open(self.sealing_key()?, format!("agent.{agent_id}/{person}").as_bytes(), sealed)
            .ok_or_else(|| DomainError::invalid("agent", "không mở được bí mật ghép nối (khóa niêm phong khác); hãy ghép nối lại"))?;
        Ok(Some(secret.to_vec()))
    }
}

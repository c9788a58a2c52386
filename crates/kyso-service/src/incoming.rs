//! Received documents (Bắc Giang Art. 10, Bắc Ninh Art. 10): every document received — over
//! the document axis, by e-mail, from a portal — is verified before use. A valid one is entered
//! in the incoming register with its number and kept, so it can be processed at once; an
//! invalid one is refused: the sender is notified with the reason from the report, the file is
//! not kept, and its hash, the report and the audit event remain as proof.

use crate::*;
use kyso_core::authz::{Permission, Role};
use kyso_core::document::{IncomingEntry, IncomingStatus, Notification};
use kyso_core::value::{required_text, vn_date};
use kyso_verify::{Indication, Report};
use std::path::Path;

/// A received document.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    pub agency_code: String,
    /// The sending agency (nơi gửi).
    pub sender: String,
    /// Where it came from: "truc-lien-thong", "email", "cong-thong-tin", "khac".
    pub source: String,
    /// Trích yếu, as the clerk reads it (never the file name).
    pub title: String,
    /// The document's own number and symbol (số, ký hiệu) and its date (YYYY-MM-DD or
    /// DD/MM/YYYY), as printed on it.
    pub doc_number: Option<String>,
    pub doc_date: Option<String>,
    /// The clerk has seen that the signer's agency (from the certificate) is not the stated
    /// sender, and registers the document anyway; the warning stays in the register.
    pub accept_sender_mismatch: bool,
}

/// Trust for verifying received documents, beyond the deployment's built-in CA.
pub struct VerifyWith<'a> {
    /// Further trusted roots (a trust list: the government Root CA G2, say).
    pub anchors: Vec<Vec<u8>>,
    pub intermediates: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
    /// Fetches CRLs over the network, where allowed.
    pub fetch: Option<kyso_verify::Fetch<'a>>,
}

/// What happened to a received document.
#[derive(Debug)]
pub struct Received {
    pub entry: IncomingEntry,
    pub report: Report,
}

impl Service {
    /// The verification policy of this deployment at `at`: the built-in CA's root (trusted),
    /// issuing CA and latest CRLs, plus what `with` adds.
    pub fn verify_policy<'a>(&self, with: &VerifyWith<'a>, at: DateTime<Utc>) -> ServiceResult<kyso_verify::Policy<'a>> {
        for a in &with.anchors {
            self.check_trust_anchor(a)?;
        }
        let mut anchors = with.anchors.clone();
        // The deployment's trust store, with the built-in CA's root.
        anchors.extend(self.trusted_anchors()?);
        let mut intermediates = with.intermediates.clone();
        let mut crls = with.crls.clone();
        if let Ok(c) = self.ca_certs() {
            intermediates.push(c.issuing);
            crls.extend(self.latest_crl(false)?);
            crls.extend(self.root_crl()?);
        }
        if anchors.is_empty() {
            return Err(DomainError::invalid(
                "trust",
                "chưa có chứng thư gốc tin cậy để kiểm tra chữ ký; hãy chỉ rõ danh sách tin cậy (ví dụ Root CA chuyên dùng Chính phủ G2)",
            )
            .into());
        }
        Ok(kyso_verify::Policy {
            anchors,
            intermediates,
            crls,
            ocsps: vec![],
            at,
            fetch: with.fetch,
            revocation: kyso_verify::RevocationMode::Require,
        })
    }

    /// Refuses, in a production deployment, to trust a training deployment's CA (its name
    /// carries [`crate::TRAINING_CA_MARK`]): certificates from a training run are not real.
    pub fn check_trust_anchor(&self, der: &[u8]) -> ServiceResult<()> {
        if self.is_training() {
            return Ok(());
        }
        let (_, info) = kyso_pki::cert::parse(der).map_err(|e| DomainError::invalid("trust", format!("chứng thư gốc hỏng: {e}")))?;
        if info.subject.to_string().contains(crate::TRAINING_CA_MARK) {
            return Err(DomainError::invalid(
                "trust",
                format!("'{}' là CA của một hệ thống đào tạo, thử nghiệm; hệ thống thật không tin cậy chứng thư của nó", info.subject),
            )
            .into());
        }
        Ok(())
    }

    /// Verifies a received PDF and enters it in the incoming register, or refuses it.
    pub fn receive_document(
        &self,
        actor: &Principal,
        inc: &Incoming,
        file: &Path,
        with: &VerifyWith<'_>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Received> {
        let sender = required_text("sender", &inc.sender, 300)?;
        let source = required_text("source", &inc.source, 40)?;
        let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let title = required_text("title", &inc.title, 500)
            .map_err(|_| DomainError::invalid("title", "ghi trích yếu của văn bản (không dùng tên tệp)"))?;
        let doc_number = inc.doc_number.as_deref().map(|n| required_text("doc_number", n, 100)).transpose()?;
        let doc_date = inc.doc_date.as_deref().map(|d| kyso_core::value::parse_date("doc_date", d)).transpose()?;
        let policy = self.verify_policy(with, now)?;
        let mapped = kyso_pdf::file::Mapped::open(file)?;
        let report = kyso_verify::validate_pdf(&file_name, mapped.bytes(), &policy);
        // The number and date the document shows; what cannot be read stays for the clerk.
        let header = kyso_pdf::reader::PdfDoc::read(mapped.bytes()).and_then(|d| kyso_pdf::decree30::read_header(&d)).unwrap_or_default();
        let sha256 = report.sha256.clone();
        let size = mapped.bytes().len() as u64;
        drop(mapped);
        let indication = match report.sub_indication {
            Some(s) => format!("{}/{}", report.indication.code(), s.code()),
            None => report.indication.code(),
        };
        let report_json = serde_json::to_string(&report).map_err(|e| kyso_store::StoreError::Corrupt(e.to_string()))?;
        // Who signed, from the certificates, and whether that is the stated sender.
        let signers: Vec<String> = report
            .signatures
            .iter()
            .filter_map(|s| s.signer.as_ref())
            .map(|c| match &c.organisation {
                Some(o) => format!("{} ({})", c.common_name, o),
                None => c.common_name.clone(),
            })
            .collect();
        // Checked inside the transaction, after the actor's rights, so that a refusal of
        // someone who may not receive here is recorded as a denial.
        let mut mismatch = None;
        if report.indication == Indication::TotalPassed {
            let names: Vec<&str> = report
                .signatures
                .iter()
                .filter_map(|s| s.signer.as_ref())
                .flat_map(|c| {
                    std::iter::once(c.common_name.as_str()).chain(c.organisation.as_deref()).chain(c.units.iter().map(String::as_str))
                })
                .collect();
            if !kyso_core::document::sender_matches(&sender, &names) {
                mismatch = Some(format!("người ký ({}) không thuộc nơi gửi đã ghi '{sender}'", signers.join("; ")));
            }
        }
        let files = self.files()?;
        let entry = self.mutate(actor, "document.receive", "incoming:new", now, |tx| {
            let agency = agency_by_code(tx, &inc.agency_code)?;
            if !actor.has_role_at(Role::RecordsClerk, agency.id) {
                require(actor, Permission::ManageDocuments, &agency)?;
            }
            let mut warnings: Vec<String> = match &mismatch {
                Some(w) if !inc.accept_sender_mismatch => {
                    return Err(DomainError::rule(
                        "incoming-sender",
                        format!("{w}; kiểm tra lại nơi gửi, hoặc vào sổ kèm cảnh báo này (--accept-sender-mismatch)"),
                    )
                    .into())
                }
                Some(w) => vec![w.clone()],
                None => vec![],
            };
            let year = vn_date(now).format("%Y").to_string().parse::<i32>().unwrap_or(0);
            let passed = report.indication == Indication::TotalPassed;
            // The number and date: read from the file where it shows them, else as the clerk
            // gives them; a registered document has both, as the paper register does.
            let (doc_number, doc_date) = if passed {
                let (number, date, read) = kyso_core::document::header_values(
                    (doc_number.as_deref(), doc_date),
                    (header.number.as_deref(), header.date),
                )?;
                warnings.extend(read);
                (Some(number), Some(date))
            } else {
                (doc_number.clone().or(header.number.clone()), doc_date.or(header.date))
            };
            // An issued document carries its agency's signature (NĐ 30/2020 Art. 8 and
            // Appendix I); personal signatures alone are flagged.
            if passed {
                let mut agency_signed = false;
                for c in report.signatures.iter().filter_map(|s| s.signer.as_ref()) {
                    let registered = match tx.certificate_by_serial(&c.serial)? {
                        Some(rec) => tx.subscriber(rec.subscriber_id)?.map(|s| s.kind != kyso_core::registry::SubscriberKind::Individual),
                        None => None,
                    };
                    agency_signed |= kyso_core::document::is_agency_signature(registered, &c.common_name, c.title.as_deref(), &sender);
                }
                if !agency_signed && !signers.is_empty() {
                    warnings.push(format!(
                        "văn bản chỉ có chữ ký số cá nhân ({}), không có chữ ký số của cơ quan, tổ chức ban hành (Nghị định 30/2020/NĐ-CP)",
                        signers.join("; ")
                    ));
                }
            }
            let mut e = IncomingEntry {
                id: 0,
                agency_id: agency.id,
                year,
                seq: if passed { Some(tx.next_incoming_seq(agency.id, year)?) } else { None },
                status: if passed { IncomingStatus::Registered } else { IncomingStatus::Refused },
                received_at: now,
                sender: sender.clone(),
                source: source.clone(),
                title: title.clone(),
                file_name: file_name.clone(),
                sha256: sha256.clone(),
                size,
                indication: indication.clone(),
                report: report_json.clone(),
                entered_by: actor.login.clone(),
                doc_number: doc_number.clone(),
                doc_date,
                signers: signers.clone(),
                warnings: warnings.clone(),
            };
            e.id = tx.insert_incoming(&e)?;
            if passed {
                let mut src = kyso_pdf::file::open_regular(file).map_err(|err| DomainError::invalid("file", format!("không đọc được {}: {err}", file.display())))?;
                let (kept_sha, _) = files.write_incoming(e.id, &mut src)?;
                if kept_sha != sha256 {
                    return Err(DomainError::conflict("tệp nhận", "tệp thay đổi trong khi kiểm tra; hãy nhận lại").into());
                }
                tx.append_audit(
                    NewEvent::new(&actor.login, "document.received", format!("incoming:{}", e.id))
                        .agency(agency.id)
                        .details(serde_json::json!({"number": e.seq, "sender": sender, "source": source, "sha256": sha256, "indication": indication, "doc_number": doc_number, "warnings": warnings})),
                    now,
                )?;
            } else {
                let reasons: Vec<String> = report.signatures.iter().flat_map(|s| s.messages.iter().take(2).map(move |m| format!("chữ ký {}: {m}", s.id))).chain(report.notes.iter().cloned()).collect();
                let body = format!(
                    "Kính gửi {sender},\n\n{} đã nhận văn bản \"{title}\" (tệp {file_name}, SHA-256 {sha256}) lúc {} nhưng chữ ký số không hợp lệ: {}.\n{}\n\nĐề nghị quý cơ quan ký số lại và gửi lại văn bản. Văn bản không hợp lệ đã bị xóa khỏi hệ thống tiếp nhận.",
                    agency.name,
                    kyso_pdf::decree30::iso_time(now),
                    report.sub_indication.map(|s| s.label_vi()).unwrap_or(report.indication.label_vi()),
                    reasons.join("\n"),
                );
                tx.insert_notification(&Notification {
                    id: 0,
                    agency_id: agency.id,
                    recipient: sender.clone(),
                    subject: format!("Văn bản \"{title}\" có chữ ký số không hợp lệ"),
                    body,
                    incoming_id: Some(e.id),
                    created_at: now,
                    sent_at: None,
                })?;
                tx.append_audit(
                    NewEvent::new(&actor.login, "document.refused", format!("incoming:{}", e.id))
                        .agency(agency.id)
                        .details(serde_json::json!({"sender": sender, "source": source, "sha256": sha256, "size": size, "indication": indication})),
                    now,
                )?;
            }
            Ok(e)
        })?;
        Ok(Received { entry, report })
    }

    /// The incoming register of agencies under `agency_code` for a year.
    pub fn incoming_register(&self, actor: &Principal, agency_code: &str, year: i32) -> ServiceResult<Vec<IncomingEntry>> {
        self.db.read(|tx| {
            let a = agency_by_code(tx, agency_code)?;
            require(actor, Permission::ManageDocuments, &a)?;
            Ok(tx.incoming_entries(&a.path, year)?)
        })
    }

    /// A notice to a sender as a document in the Decree 30/2020 layout (Thông báo), to print,
    /// or to sign and send as an outgoing document. Its signer is the clerk who entered the
    /// refused document.
    pub fn notification_pdf(&self, actor: &Principal, id: i64) -> ServiceResult<(Notification, Vec<u8>)> {
        let (n, agency, parent, clerk) = self.db.read(|tx| {
            let n = tx.notification(id)?.ok_or_else(|| DomainError::not_found("thông báo", id.to_string()))?;
            let agency = tx.agency(n.agency_id)?.ok_or_else(|| DomainError::not_found("cơ quan", n.agency_id.0.to_string()))?;
            if !actor.has_role_at(Role::RecordsClerk, agency.id) {
                require(actor, Permission::ManageDocuments, &agency)?;
            }
            let parent = agency.parent.map(|p| tx.agency(p)).transpose()?.flatten();
            let mut clerk = None;
            if let Some(e) = n.incoming_id.map(|i| tx.incoming_entry(i)).transpose()?.flatten() {
                if let Some((_, Some(person))) = tx.user_by_login(&e.entered_by)? {
                    clerk = tx.person(person)?.map(|p| p.full_name.to_string());
                }
            }
            Ok::<_, ServiceError>((n, agency, parent, clerk))
        })?;
        let day = vn_date(n.created_at);
        let mut body: Vec<String> = n.body.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
        // The salutation goes in "Kính gửi" above the body in the layout, not in it.
        if body.first().is_some_and(|l| l.starts_with("Kính gửi")) {
            body.remove(0);
        }
        body.insert(0, format!("Kính gửi: {}.", n.recipient));
        let draft = kyso_pdf::draft::Nd30Draft {
            parent_agency: parent.map(|p| p.name.to_uppercase()).unwrap_or_default(),
            agency: agency.name.to_uppercase(),
            symbol: format!("TB-{}", agency.code),
            place: self.profile_on(day).province.clone(),
            year: chrono::Datelike::year(&day),
            kind: "THÔNG BÁO".into(),
            title: n.subject.clone(),
            body,
            signer_titles: vec!["VĂN THƯ CƠ QUAN".into()],
            signer_name: clerk.unwrap_or_default(),
            recipients: vec![n.recipient.clone(), "Lưu: VT".into()],
        };
        Ok((n, draft.to_pdf()?))
    }

    /// Notifications to senders waiting to be delivered (or all, with `all`).
    pub fn notifications(&self, actor: &Principal, agency_code: &str, all: bool) -> ServiceResult<Vec<Notification>> {
        self.db.read(|tx| {
            let a = agency_by_code(tx, agency_code)?;
            require(actor, Permission::ManageDocuments, &a)?;
            Ok(tx.notifications(&a.path, !all)?)
        })
    }
}

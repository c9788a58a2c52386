//! The connector to an external CA (the government CA) by files: a batch of approved
//! requests goes out with the subscribers' CSRs; the issued certificates (PEM, DER or
//! PKCS#7) and the CA's CRL come back and are matched to their requests by public key.

use crate::*;
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use kyso_core::authz::Permission;
use kyso_core::registry::*;
use kyso_core::request::*;
use kyso_pki::{cert, cms, crl, csr};

/// One request of an exported batch, with what the CA's forms ask about it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportItem {
    pub request: Request,
    pub subscriber: String,
    pub csr_der: Option<Vec<u8>>,
    /// (subscriber's form, CQQLTT's form) of the regime in force.
    pub forms: Option<[String; 2]>,
    /// The official, for a personal certificate.
    pub person: Option<Person>,
    pub subscriber_email: Option<String>,
    /// The subscriber's agency, and the legal entity it belongs to (tax and budget codes).
    pub agency: Agency,
    pub legal_entity: Agency,
    pub managing_agency: Agency,
    pub certificate_serial: Option<String>,
    pub device_serial: Option<String>,
}

impl ExportItem {
    /// The dossier of the request as named fields, in the order of the CA's list (TT 185
    /// Mẫu 01–15, NĐ 68 Mẫu 01–07): every field of the form, the certificate and device, the
    /// reason and the attached records. Column names are Vietnamese, as the CA reads them.
    pub fn dossier(&self) -> Vec<(&'static str, String)> {
        let q = &self.request;
        let p = self.person.as_ref();
        let (mut reason, mut device_return, mut record, mut changes, mut months, mut phone) =
            (String::new(), String::new(), String::new(), String::new(), String::new(), String::new());
        match &q.details {
            RequestDetails::New { validity_months } => months = validity_months.to_string(),
            RequestDetails::Renew { extension_months } => months = extension_months.to_string(),
            RequestDetails::ChangeInfo { changes: c } => {
                changes = c.iter().map(|(f, v)| format!("{}: {v}", f.label_vi())).collect::<Vec<_>>().join("; ");
            }
            RequestDetails::Revoke { reason: r, device_return: d, lost_device_record } => {
                reason = r.label_vi().to_string();
                device_return = if *d { "có" } else { "không" }.to_string();
                record = lost_device_record.clone().unwrap_or_default();
            }
            RequestDetails::RestoreDevice { contact_phone } => phone = contact_phone.clone().unwrap_or_default(),
        }
        let or_empty = |v: Option<String>| v.unwrap_or_default();
        vec![
            ("Số yêu cầu", q.id.to_string()),
            ("Loại yêu cầu", q.kind.label_vi().to_string()),
            ("Tên thuê bao", self.subscriber.clone()),
            ("Họ tên", or_empty(p.map(|p| p.full_name.to_string()))),
            ("Số định danh cá nhân", or_empty(p.map(|p| p.citizen_id.to_string()))),
            ("Ngày sinh", or_empty(p.map(|p| p.date_of_birth.format("%d/%m/%Y").to_string()))),
            ("Chức vụ", or_empty(p.map(|p| p.position.clone()))),
            ("Chức danh", or_empty(p.map(|p| p.title.clone()))),
            ("Cơ quan", self.agency.name.clone()),
            ("Cơ quan quản lý trực tiếp", self.managing_agency.name.clone()),
            ("Thư điện tử công vụ", or_empty(self.subscriber_email.clone().or_else(|| p.map(|p| p.email.to_string())))),
            ("Điện thoại", if phone.is_empty() { or_empty(p.and_then(|p| p.phone.as_ref().map(|x| x.to_string()))) } else { phone }),
            ("Mã số thuế", or_empty(self.legal_entity.tax_code.as_ref().map(|t| t.to_string()))),
            ("Mã quan hệ ngân sách", or_empty(self.legal_entity.budget_code.as_ref().map(|t| t.to_string()))),
            ("Số hiệu chứng thư số", or_empty(self.certificate_serial.clone())),
            ("Số hiệu thiết bị", or_empty(self.device_serial.clone())),
            ("Thời hạn (tháng)", months),
            ("Nội dung thay đổi", changes),
            ("Lý do thu hồi", reason),
            ("Nộp lại thiết bị", device_return),
            ("Biên bản kèm theo", record),
            ("Mẫu đơn", self.forms.as_ref().map(|[a, b]| format!("{a} / {b}")).unwrap_or_default()),
        ]
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportResult {
    /// (request id, certificate serial) completed.
    pub issued: Vec<(RequestId, String)>,
    /// Certificates newly marked revoked from the CA's CRL.
    pub revoked: usize,
}

fn row(line: u64, message: String) -> RowError {
    RowError { line, message }
}

impl Service {
    /// Attaches the CSR made on the subscriber's token to its request, after checking its
    /// signature and key. Allowed while the request has not reached the CA.
    pub fn attach_csr(&self, actor: &Principal, id: RequestId, csr_input: &[u8], now: DateTime<Utc>) -> ServiceResult<()> {
        let der = kyso_pki::der_or_pem(csr_input)?;
        let checked = csr::check(&der)?;
        self.mutate(actor, "request.csr", &format!("request:{id}"), now, |tx| {
            let q = tx.request(id)?.ok_or_else(|| DomainError::not_found("yêu cầu", id))?;
            let sub = tx.subscriber(q.subscriber_id)?.ok_or_else(|| DomainError::not_found("thuê bao", q.subscriber_id))?;
            let agency = agency_by_id(tx, sub.agency_id)?;
            kyso_core::request::may_file_for(actor, &sub, &agency.path)?;
            if !matches!(q.state, RequestState::Draft | RequestState::Submitted | RequestState::Confirmed | RequestState::Checked) {
                return Err(DomainError::Transition {
                    from: q.state.code(),
                    action: "csr",
                    message: "chỉ đính kèm CSR trước khi yêu cầu được gửi tổ chức chứng thực".into(),
                }
                .into());
            }
            let cn = checked.subject.get(kyso_pki::name::Attr::CN).unwrap_or_default();
            if kyso_core::value::normalize_text(cn) != sub.display_name {
                return Err(
                    DomainError::rule("csr-subject", format!("CSR mang tên '{cn}' nhưng thuê bao là '{}'", sub.display_name)).into()
                );
            }
            tx.set_request_csr(id, &B64.encode(&der))?;
            tx.append_audit(
                NewEvent::new(&actor.login, "request.csr_attached", format!("request:{id}"))
                    .agency(agency.id)
                    .details(serde_json::json!({"subject": checked.subject.to_string()})),
                now,
            )?;
            Ok(())
        })
    }

    /// The requests of a batch, with their CSRs, for the external CA.
    pub fn export_batch(&self, actor: &Principal, batch: BatchId) -> ServiceResult<Vec<ExportItem>> {
        self.db.read(|tx| {
            let items = tx.requests_in_batch(batch)?;
            if items.is_empty() {
                return Err(DomainError::not_found("lô gửi", batch).into());
            }
            let mut out = Vec::new();
            for q in items {
                let sub = tx.subscriber(q.subscriber_id)?.ok_or_else(|| DomainError::not_found("thuê bao", q.subscriber_id))?;
                let agency = agency_by_id(tx, sub.agency_id)?;
                // The dossier carries unmasked personal data for the CA: those who send or
                // follow requests read it (the CQQLTT of the request, the manager, IT staff).
                if !actor.may(Permission::ManageCertificates, &agency.path) && !actor.has_role_at(Role::AgencyOfficer, q.managing_agency_id)
                {
                    return Err(DomainError::forbidden(format!("tài khoản '{}' không xem được lô {batch}", actor.login)).into());
                }
                let csr_der =
                    tx.request_csr(q.id)?.map(|d| B64.decode(d)).transpose().map_err(|e| kyso_store::StoreError::Corrupt(e.to_string()))?;
                let forms =
                    self.regimes().on(kyso_core::value::vn_date(q.created_at)).ok().and_then(|r| r.forms_for(q.kind.code()).cloned());
                let person = sub.person_id.map(|p| tx.person(p)).transpose()?.flatten();
                let legal_entity = crate::registry::nearest_legal_entity(tx, agency.clone(), false)?;
                let managing_agency = agency_by_id(tx, q.managing_agency_id)?;
                let certificate_serial = q.certificate_id.map(|c| tx.certificate(c)).transpose()?.flatten().map(|c| c.serial.to_string());
                let device_serial = q.device_id.map(|d| tx.device(d)).transpose()?.flatten().map(|d| d.serial.to_string());
                out.push(ExportItem {
                    request: q,
                    subscriber: sub.display_name,
                    csr_der,
                    forms,
                    person,
                    subscriber_email: sub.email.map(|e| e.to_string()),
                    agency,
                    legal_entity,
                    managing_agency,
                    certificate_serial,
                    device_serial,
                });
            }
            Ok(out)
        })
    }

    /// Imports what the external CA returned: certificates (each chaining to the deployment's
    /// trust store, through CA certificates of the same set if need be, and matched to a
    /// pending request by public key) and CRLs (signed by a trusted CA, their entries applied
    /// to that CA's certificates only). All or nothing: one certificate that matches no
    /// request, or one that does not chain to the trust store, rejects the import.
    pub fn import_from_ca(&self, actor: &Principal, files: &[(String, Vec<u8>)], now: DateTime<Utc>) -> ServiceResult<ImportResult> {
        // Sort the blocks into certificates and CRLs.
        let mut certs: Vec<(String, Vec<u8>)> = Vec::new();
        let mut crls: Vec<(String, Vec<u8>)> = Vec::new();
        let mut errors = Vec::new();
        for (i, (name, bytes)) in files.iter().enumerate() {
            let line = i as u64 + 1;
            match kyso_pki::pem_blocks(bytes) {
                Ok(blocks) => {
                    for (label, der) in blocks {
                        if label.contains("CRL") || name.ends_with(".crl") {
                            crls.push((name.clone(), der));
                        } else if label == "PKCS7" || name.ends_with(".p7b") || name.ends_with(".p7c") {
                            match cms::certificates_of(&der) {
                                Ok(v) => certs.extend(v.into_iter().map(|c| (name.clone(), c))),
                                Err(e) => errors.push(row(line, format!("{name}: {e}"))),
                            }
                        } else {
                            certs.push((name.clone(), der));
                        }
                    }
                }
                Err(e) => errors.push(row(line, format!("{name}: {e}"))),
            }
        }
        let mut parsed = Vec::new();
        for (name, der) in &certs {
            match cert::parse(der) {
                Ok((c, info)) => parsed.push((name.clone(), der.clone(), c, info)),
                Err(e) => errors.push(row(0, format!("{name}: không đọc được chứng thư: {e}"))),
            }
        }
        let leaves: Vec<_> = parsed.iter().filter(|p| !p.3.is_ca).collect();
        if !errors.is_empty() {
            return Err(ServiceError::Import(errors));
        }
        // A CA certificate in the set is only a step towards the trust store, never trust.
        let anchors = self.trusted_anchors()?;
        let intermediates: Vec<Vec<u8>> = parsed.iter().filter(|p| p.3.is_ca).map(|p| p.1.clone()).collect();
        let mut signers: Vec<kyso_pki::cert::CertInfo> = Vec::new();
        for der in anchors.iter().chain(intermediates.iter().filter(|i| self.chain_to_trust(i, &intermediates, &anchors, now).is_ok())) {
            if let Ok((_, info)) = cert::parse(der) {
                signers.push(info);
            }
        }
        self.mutate(actor, "ca.import", "exchange", now, |tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, Permission::ManageCertificates, &root)?;
            let pending = tx.pending_with_csr()?;
            let mut result = ImportResult::default();
            let mut errors = Vec::new();
            for (i, (name, der, _, info)) in leaves.iter().enumerate() {
                let n = i as u64 + 1;
                // Judged when it was issued: the CA it names must have been trusted and valid then.
                let issuer = match self.chain_to_trust(der, &intermediates, &anchors, info.not_before) {
                    Ok(chain) => match chain.get(1).map(|d| cert::parse(d)) {
                        Some(Ok((_, i))) => i,
                        _ => {
                            errors.push(row(n, format!("{name}: chứng thư {} không có CA cấp trong chuỗi", info.serial_hex)));
                            continue;
                        }
                    },
                    Err(why) => {
                        errors.push(row(
                            n,
                            format!(
                                "{name}: chứng thư {} không dẫn tới CA nào trong kho tin cậy của hệ thống ({why}); nếu CA cấp là CA thật, thêm chứng thư của nó bằng 'kyso trust add'",
                                info.serial_hex
                            ),
                        ));
                        continue;
                    }
                };
                let Some((q, _)) = pending.iter().find(|(_, csr_b64)| {
                    B64.decode(csr_b64).ok().and_then(|d| csr::check(&d).ok()).is_some_and(|k| k.spki_der == info.spki_der)
                }) else {
                    errors.push(row(
                        n,
                        format!(
                            "{name}: chứng thư {} ({}) không khớp với yêu cầu nào đang chờ tổ chức chứng thực",
                            info.serial_hex, info.subject
                        ),
                    ));
                    continue;
                };
                if tx.certificate_by_serial(&info.serial_hex)?.is_some() {
                    errors.push(row(n, format!("{name}: chứng thư {} đã có trong sổ", info.serial_hex)));
                    continue;
                }
                let input = CompletionInput::Issued {
                    serial: info.serial_hex.clone(),
                    subject: info.subject.to_string(),
                    issuer: issuer.subject.to_string(),
                    not_before: info.not_before,
                    not_after: info.not_after,
                    device_serial: None,
                };
                match self.complete_in(tx, actor, q.id, &input, now) {
                    Ok(_) => {
                        let rec = tx
                            .certificate_by_serial(&info.serial_hex)?
                            .ok_or_else(|| DomainError::not_found("chứng thư số", &info.serial_hex))?;
                        tx.set_certificate_der(rec.id, &B64.encode(der))?;
                        result.issued.push((q.id, info.serial_hex.clone()));
                    }
                    Err(ServiceError::Domain(e)) => errors.push(row(n, format!("{name}: {e}"))),
                    Err(e) => return Err(e),
                }
            }
            for (name, der) in &crls {
                // Issued and signed by a trusted CA (the CRL names its issuer; the signature
                // must be that CA's).
                let Some((signer, parsed)) = signers
                    .iter()
                    .find_map(|ca| crl::parse_and_verify(der, &ca.spki_der).ok().filter(|p| p.issuer == ca.subject).map(|p| (ca, p)))
                else {
                    errors.push(row(0, format!("{name}: CRL không do CA nào trong kho tin cậy của hệ thống phát hành và ký")));
                    continue;
                };
                let crl_issuer = parsed.issuer.to_string();
                for e in &parsed.entries {
                    let serial: String = e.serial.iter().map(|b| format!("{b:02X}")).collect();
                    let Some(rec) = tx.certificate_by_serial(&serial)? else { continue };
                    // An entry revokes only the certificates of the CA that issued the CRL: by
                    // name, and by key where the certificate itself is kept (two trusted CAs
                    // may share a name, as across a key rollover).
                    if rec.revoked_at.is_some() || rec.issuer != crl_issuer {
                        continue;
                    }
                    if let Some(d) = tx.certificate_der(&serial)?.and_then(|b| B64.decode(b).ok()) {
                        if !cert::parse(&d).is_ok_and(|(c, _)| cert::verify_issued_by(&c, &signer.spki_der).is_ok()) {
                            continue;
                        }
                    }
                    // A revocation request waiting at the CA is completed by the CA's CRL.
                    let pending = tx
                        .open_requests_for_certificate(rec.id)?
                        .into_iter()
                        .find(|q| q.kind == RequestKind::Revoke && q.state == RequestState::SentToCa);
                    match pending {
                        Some(q) => {
                            self.complete_in(tx, actor, q.id, &CompletionInput::Revoked { at: e.revoked_at.min(now) }, now)?;
                        }
                        None => {
                            let reason = kyso_core::rules::RevocationReason::from_rfc5280(e.reason);
                            tx.revoke_certificate(rec.id, e.revoked_at, reason)?;
                            tx.append_audit(
                                NewEvent::new(&actor.login, "certificate.revoked", format!("certificate:{}", rec.id))
                                    .details(serde_json::json!({"serial": serial, "source": "crl", "crl": name})),
                                now,
                            )?;
                        }
                    }
                    result.revoked += 1;
                }
            }
            if !errors.is_empty() {
                return Err(ServiceError::Import(errors));
            }
            tx.append_audit(
                NewEvent::new(&actor.login, "ca.imported", "exchange".into())
                    .details(serde_json::json!({"issued": result.issued.len(), "revoked": result.revoked})),
                now,
            )?;
            Ok(result)
        })
    }
}

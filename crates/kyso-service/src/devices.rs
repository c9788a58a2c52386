//! The life of a key device: in stock → assigned → handed over (a handover record with both
//! parties) → in use; a change of custodian makes a new record; a lost device is recorded
//! with the CQQLTT's confirmation record and revocation requests are filed for it.

use crate::*;
use kyso_core::authz::{Permission, Role};
use kyso_core::registry::*;
use kyso_core::request::*;
use kyso_core::rules::RevocationReason;
use kyso_core::value::{normalize_text, required_text, Serial};
use kyso_store::HandoverRecord;

/// Who hands a device to whom, why, and under which decision. Persons by citizen ID.
#[derive(Debug, Clone, Copy)]
pub struct Handover<'a> {
    /// The person handing over; None when the CQQLTT hands out a new device.
    pub from_cid: Option<&'a str>,
    pub to_cid: &'a str,
    pub reason: &'a str,
    pub decision: Option<&'a str>,
}

/// Who may first receive a device in stock that carries a certificate: the official, for a
/// personal certificate; the records clerk by a written decision, for an organisation's.
fn check_first_custodian(sub: &Subscriber, to: &Person, decision: Option<&str>) -> ServiceResult<()> {
    match sub.kind {
        SubscriberKind::Individual if sub.person_id != Some(to.id) => Err(DomainError::rule(
            "device-lifecycle",
            format!("thiết bị mang chứng thư số của '{}', chỉ bàn giao cho chính người đó", sub.display_name),
        )
        .into()),
        SubscriberKind::Organisation if to.position_kind != PositionKind::RecordsClerk => Err(DomainError::rule(
            "org-device-records-clerk",
            format!("thiết bị của cơ quan giao cho văn thư; {} là '{}'", to.full_name, to.position),
        )
        .into()),
        SubscriberKind::Organisation if decision.is_none() => Err(DomainError::invalid(
            "decision",
            "giao thiết bị của cơ quan cho văn thư phải có quyết định bằng văn bản (ghi số, ngày quyết định)",
        )
        .into()),
        _ => Ok(()),
    }
}

impl Service {
    fn device_for_update(&self, tx: &mut Tx<'_>, actor: &Principal, serial: &str) -> ServiceResult<(KeyDevice, Agency)> {
        let s = Serial::parse("serial", serial)?;
        let d = tx.device_by_serial(s.as_str())?.ok_or_else(|| DomainError::not_found("thiết bị", serial))?;
        let a = agency_by_id(tx, d.agency_id)?;
        require(actor, Permission::ManageDevices, &a)?;
        Ok((d, a))
    }

    /// Whether `person` holds, through an account that is not disabled, a role that manages
    /// `device` of `agency`: over the agency, or as officer of the managing agency (CQQLTT) of
    /// the certificate last issued onto it (Hà Tĩnh's provincial office manages departments
    /// outside its own subtree).
    fn manages_devices_of(&self, tx: &mut Tx<'_>, person: PersonId, device: &KeyDevice, agency: &Agency) -> ServiceResult<bool> {
        let managing = match tx.last_certificate_on_device(device.id)? {
            Some(c) => match tx.subscriber(c.subscriber_id)? {
                Some(sub) => Some(agency_by_id(tx, sub.managing_agency_id)?.path),
                None => None,
            },
            None => None,
        };
        let roles = Permission::ManageDevices.roles();
        for (user, _) in tx.users_of_person(person)? {
            if tx.user_disabled(user)? {
                continue;
            }
            let over = |g: &kyso_core::authz::Grant, path: &str| path.starts_with(&g.agency_path);
            if tx.grants(user)?.iter().any(|g| {
                (roles.contains(&g.role) && over(g, &agency.path))
                    || (g.role == Role::AgencyOfficer && managing.as_deref().is_some_and(|m| over(g, m)))
            }) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn person_by_cid(&self, tx: &mut Tx<'_>, cid: &str) -> ServiceResult<Person> {
        Ok(tx.person_by_citizen_id(cid.trim())?.ok_or_else(|| DomainError::not_found("cán bộ có số CCCD", cid))?)
    }

    fn handover_form(&self, now: DateTime<Utc>) -> String {
        self.regimes()
            .on(kyso_core::value::vn_date(now))
            .ok()
            .and_then(|r| r.forms_for("handover").map(|f| f[0].clone()))
            .unwrap_or_else(|| "Mẫu 14".into())
    }

    /// Assigns a device in stock to its future custodian. An organisation's device goes to
    /// its records clerk, and only by a written decision (Bắc Giang Art. 16; the seal rule).
    pub fn assign_device(
        &self,
        actor: &Principal,
        serial: &str,
        custodian_cid: &str,
        organisation: bool,
        decision: Option<&str>,
        now: DateTime<Utc>,
    ) -> ServiceResult<KeyDevice> {
        self.mutate(actor, "device.assign", &format!("device:{serial}"), now, |tx| {
            let (mut d, _) = self.device_for_update(tx, actor, serial)?;
            if d.status != DeviceStatus::InStock {
                return Err(DomainError::rule(
                    "device-lifecycle",
                    format!("thiết bị {} đang '{}'; chỉ phân công thiết bị trong kho", d.serial, d.status.label_vi()),
                )
                .into());
            }
            let p = self.person_by_cid(tx, custodian_cid)?;
            let decision = decision.map(normalize_text).filter(|s| !s.is_empty());
            if organisation {
                if p.position_kind != PositionKind::RecordsClerk {
                    return Err(DomainError::rule(
                        "org-device-records-clerk",
                        format!("thiết bị của cơ quan giao cho văn thư; {} là '{}'", p.full_name, p.position),
                    )
                    .into());
                }
                if decision.is_none() {
                    return Err(DomainError::invalid(
                        "decision",
                        "giao thiết bị của cơ quan cho văn thư phải có quyết định bằng văn bản (ghi số, ngày quyết định)",
                    )
                    .into());
                }
            }
            d.status = DeviceStatus::Assigned;
            d.custodian = Some(p.id);
            tx.update_device(&d)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "device.assigned", format!("device:{}", d.id))
                    .agency(d.agency_id)
                    .details(serde_json::json!({"custodian": p.full_name.as_str(), "organisation": organisation, "decision": decision})),
                now,
            )?;
            Ok(d)
        })
    }

    /// Hands an assigned device (or, for a change of custodian, one in use) over, with a
    /// handover record signed by both parties.
    pub fn hand_over(&self, actor: &Principal, serial: &str, h: &Handover<'_>, now: DateTime<Utc>) -> ServiceResult<HandoverRecord> {
        let Handover { from_cid, to_cid, reason, decision } = *h;
        let reason = required_text("reason", reason, 300)?;
        self.mutate(actor, "device.handover", &format!("device:{serial}"), now, |tx| {
            let (mut d, _) = self.device_for_update(tx, actor, serial)?;
            let to = self.person_by_cid(tx, to_cid)?;
            let from = from_cid.map(|c| self.person_by_cid(tx, c)).transpose()?;
            match d.status {
                // A device the CA issued an organisation's or a device's certificate onto goes
                // straight to its custodian; an organisation's only to the records clerk, by a
                // written decision (Bắc Giang Art. 14.3).
                DeviceStatus::InStock => {
                    let on_it = tx.certificates_on_device(d.id)?;
                    let Some(cert) = on_it.iter().find(|c| c.revoked_at.is_none()) else {
                        return Err(DomainError::rule(
                            "device-lifecycle",
                            format!("thiết bị {} chưa có chứng thư số và chưa được phân công: dùng lệnh kyso device assign trước", d.serial),
                        )
                        .into());
                    };
                    let sub = tx.subscriber(cert.subscriber_id)?.ok_or_else(|| DomainError::not_found("thuê bao", cert.subscriber_id))?;
                    let decision = decision.map(normalize_text).filter(|s| !s.is_empty());
                    check_first_custodian(&sub, &to, decision.as_deref())?;
                }
                DeviceStatus::Assigned => {
                    if d.custodian != Some(to.id) {
                        return Err(DomainError::rule("device-lifecycle", format!("thiết bị {} đã được phân công cho người khác; bàn giao cho đúng người được phân công", d.serial)).into());
                    }
                }
                DeviceStatus::HandedOver | DeviceStatus::InUse => {
                    // A change of custodian: the previous holder gives it.
                    if from.as_ref().map(|f| f.id) != d.custodian {
                        return Err(DomainError::invalid("from", "khi đổi người quản lý, bên giao phải là người đang giữ thiết bị").into());
                    }
                    if d.custodian == Some(to.id) {
                        return Err(DomainError::invalid("to", "bên nhận đang giữ thiết bị này").into());
                    }
                }
                s => return Err(DomainError::rule("device-lifecycle", format!("thiết bị {} đang '{}', không bàn giao được", d.serial, s.label_vi())).into()),
            }
            let record = HandoverRecord {
                id: 0,
                device_id: d.id,
                from_person: from.as_ref().map(|f| f.id),
                to_person: to.id,
                at: now,
                form: self.handover_form(now),
                decision_ref: decision.map(normalize_text).filter(|s| !s.is_empty()),
                reason: reason.clone(),
                recorded_by: actor.login.clone(),
            };
            let id = tx.insert_handover(&record)?;
            let previous = d.status;
            d.custodian = Some(to.id);
            if matches!(previous, DeviceStatus::Assigned | DeviceStatus::InStock) {
                d.status = DeviceStatus::HandedOver;
            }
            tx.update_device(&d)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "device.handed_over", format!("device:{}", d.id)).agency(d.agency_id).details(serde_json::json!({
                    "record": id, "form": record.form, "from": from.map(|f| f.full_name.to_string()), "to": to.full_name.as_str(), "reason": reason
                })),
                now,
            )?;
            Ok(HandoverRecord { id, ..record })
        })
    }

    /// A device given back (NĐ 130 Art. 71; the Thái Bình handover form): its custodian hands
    /// it to the receiver (the CQQLTT officer or the CA's agent), with a handover record of both
    /// parties, and it is no longer anyone's.
    pub fn return_device(
        &self,
        actor: &Principal,
        serial: &str,
        to_cid: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<HandoverRecord> {
        let reason = required_text("reason", reason, 300)?;
        self.mutate(actor, "device.return", &format!("device:{serial}"), now, |tx| {
            let (mut d, _) = self.device_for_update(tx, actor, serial)?;
            use DeviceStatus::*;
            if !matches!(d.status, AwaitingReturn | InUse | HandedOver | Locked | Damaged | Lost) {
                return Err(DomainError::rule(
                    "device-lifecycle",
                    format!("thiết bị {} đang '{}', không có gì để nộp lại", d.serial, d.status.label_vi()),
                )
                .into());
            }
            let Some(holder) = d.custodian else {
                return Err(DomainError::rule(
                    "device-lifecycle",
                    format!("thiết bị {} không có người giữ để lập biên bản nộp lại", d.serial),
                )
                .into());
            };
            // A device in use goes back only once nothing valid is on it.
            if matches!(d.status, InUse | HandedOver | Locked) {
                if let Some(c) = tx.certificates_on_device(d.id)?.into_iter().find(|c| c.not_after > now) {
                    return Err(DomainError::rule(
                        "device-lifecycle",
                        format!(
                            "thiết bị {} còn mang chứng thư số {} còn hiệu lực; thu hồi chứng thư số trước khi nộp lại thiết bị",
                            d.serial, c.serial
                        ),
                    )
                    .into());
                }
            }
            let to = self.person_by_cid(tx, to_cid)?;
            if to.id == holder {
                return Err(DomainError::invalid("to", "bên nhận lại thiết bị phải khác người đang giữ thiết bị").into());
            }
            // NĐ 130 Art. 71: the device goes back to those who manage it, not to a colleague.
            let agency = agency_by_id(tx, d.agency_id)?;
            if !self.manages_devices_of(tx, to.id, &d, &agency)? {
                return Err(DomainError::rule(
                    "device-return-receiver",
                    format!(
                        "{} không có quyền quản lý thiết bị của {}; thiết bị nộp lại cho cán bộ cơ quan quản lý trực tiếp, người quản lý thuê bao cấp tỉnh hoặc Trung tâm CNTT",
                        to.full_name, agency.name
                    ),
                )
                .into());
            }
            let from = tx.person(holder)?.ok_or_else(|| DomainError::not_found("cán bộ", holder))?;
            let record = HandoverRecord {
                id: 0,
                device_id: d.id,
                from_person: Some(holder),
                to_person: to.id,
                at: now,
                form: self.handover_form(now),
                decision_ref: None,
                reason: reason.clone(),
                recorded_by: actor.login.clone(),
            };
            let id = tx.insert_handover(&record)?;
            let previous = d.status;
            let due = d.return_due;
            d.status = Returned;
            d.custodian = None;
            d.return_due = None;
            tx.update_device(&d)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "device.returned", format!("device:{}", d.id)).agency(d.agency_id).details(serde_json::json!({
                    "record": id, "form": record.form, "from": from.full_name.as_str(), "to": to.full_name.as_str(),
                    "reason": reason, "previous": previous.code(), "return_due": due,
                    "late": due.is_some_and(|due| kyso_core::value::vn_date(now) > due),
                })),
                now,
            )?;
            Ok(HandoverRecord { id, ..record })
        })
    }

    /// A token that locked after too many wrong PINs (NĐ 130 Art. 73), seen by kyso's own token
    /// operations (or, with the web application, by the local agent): the device holding the
    /// certificate `certificate_serial` is marked locked, so that its restore request can be
    /// filed. Its holder may report it, as may whoever manages devices there. None when the
    /// registry has no such certificate or it is on no device in use.
    pub fn record_token_locked(
        &self,
        actor: &Principal,
        certificate_serial: &str,
        seen_by: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<Option<KeyDevice>> {
        let serial = Serial::parse("serial", certificate_serial)?;
        self.mutate(actor, "device.locked", &format!("certificate:{serial}"), now, |tx| {
            let Some(cert) = tx.certificate_by_serial(serial.as_str())? else { return Ok(None) };
            let Some(mut d) = cert.device_id.map(|id| tx.device(id)).transpose()?.flatten() else { return Ok(None) };
            let holder = d.custodian.is_some() && actor.person_id == d.custodian;
            if !holder {
                require(actor, Permission::ManageDevices, &agency_by_id(tx, d.agency_id)?)?;
            }
            if !matches!(d.status, DeviceStatus::InUse | DeviceStatus::HandedOver) {
                return Ok((d.status == DeviceStatus::Locked).then_some(d));
            }
            let from = d.status;
            d.status = DeviceStatus::Locked;
            tx.update_device(&d)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "device.status_changed", format!("device:{}", d.id))
                    .agency(d.agency_id)
                    .details(serde_json::json!({"from": from.code(), "to": "locked", "seen_by": seen_by, "certificate": serial.as_str()})),
                now,
            )?;
            Ok(Some(d))
        })
    }

    pub fn handover_records(&self, actor: &Principal, serial: &str) -> ServiceResult<Vec<HandoverRecord>> {
        self.db.read(|tx| {
            let s = Serial::parse("serial", serial)?;
            let d = tx.device_by_serial(s.as_str())?.ok_or_else(|| DomainError::not_found("thiết bị", serial))?;
            require(actor, Permission::ReadRegistry, &agency_by_id(tx, d.agency_id)?)?;
            Ok(tx.handovers(d.id)?)
        })
    }

    /// Records a lost device with the CQQLTT's confirmation record (Mẫu 15) and files a
    /// submitted revocation request for every valid certificate on it.
    pub fn report_lost(&self, actor: &Principal, serial: &str, record_ref: &str, now: DateTime<Utc>) -> ServiceResult<Vec<Request>> {
        let record_ref = required_text("record", record_ref, 200).map_err(|_| {
            DomainError::rule("TT185-Mau15", "thiết bị thất lạc phải có biên bản xác nhận của CQQLTT (ghi số, ngày biên bản)")
        })?;
        self.mutate(actor, "device.lost", &format!("device:{serial}"), now, |tx| {
            let (mut d, _) = self.device_for_update(tx, actor, serial)?;
            // The loss record (Mẫu 15) and the revocations it files are the CQQLTT's (or the
            // manager's): whoever may file for every certificate on the device; for a device
            // without one, for its body. Asked before anything about the device is told.
            let certificates = tx.certificates_on_device(d.id)?;
            if certificates.is_empty() {
                let device_agency = agency_by_id(tx, d.agency_id)?;
                let body = crate::registry::nearest_legal_entity(tx, device_agency.clone(), false)?;
                if !actor.has_role_at(Role::AgencyOfficer, body.id) && !actor.has_role_over(Role::ProvincialManager, &device_agency.path) {
                    return Err(DomainError::forbidden(format!(
                        "chỉ CQQLTT của '{}' hoặc người quản lý thuê bao cấp tỉnh lập biên bản thất lạc thiết bị",
                        body.name
                    ))
                    .into());
                }
            }
            for c in &certificates {
                let sub = tx.subscriber(c.subscriber_id)?.ok_or_else(|| DomainError::not_found("thuê bao", c.subscriber_id))?;
                kyso_core::request::may_file_for(actor, &sub, &agency_by_id(tx, sub.agency_id)?.path)?;
            }
            if matches!(d.status, DeviceStatus::Lost | DeviceStatus::Returned) {
                return Err(DomainError::rule("device-lifecycle", format!("thiết bị {} đang '{}'", d.serial, d.status.label_vi())).into());
            }
            let from = d.status;
            d.status = DeviceStatus::Lost;
            tx.update_device(&d)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "device.lost", format!("device:{}", d.id))
                    .agency(d.agency_id)
                    .details(serde_json::json!({"from": from.code(), "record": record_ref})),
                now,
            )?;
            let mut filed = Vec::new();
            for c in tx.certificates_on_device(d.id)? {
                if tx.open_requests_for_certificate(c.id)?.iter().any(|q| q.kind == RequestKind::Revoke) {
                    continue;
                }
                let sub = tx.subscriber(c.subscriber_id)?.ok_or_else(|| DomainError::not_found("thuê bao", c.subscriber_id))?;
                let sub_agency = agency_by_id(tx, sub.agency_id)?;
                let q = tx.insert_request(&Request {
                    id: RequestId(0),
                    kind: RequestKind::Revoke,
                    state: RequestState::Submitted,
                    subscriber_id: sub.id,
                    certificate_id: Some(c.id),
                    device_id: Some(d.id),
                    managing_agency_id: sub.managing_agency_id,
                    details: RequestDetails::Revoke {
                        reason: RevocationReason::DeviceLost,
                        device_return: false,
                        lost_device_record: Some(record_ref.clone()),
                    },
                    created_by: actor.user_id,
                    created_at: now,
                    updated_at: now,
                    batch_id: None,
                    rejection_reason: None,
                })?;
                let class = sub.kind.report_class().code();
                for action in ["request.created", "request.submitted"] {
                    tx.append_audit(
                        NewEvent::new(&actor.login, action, format!("request:{}", q.id))
                            .agency(sub_agency.id)
                            .figure(RequestKind::Revoke.code(), class)
                            .details(serde_json::json!({"reason": "device_lost", "record": record_ref, "certificate": c.serial.as_str()})),
                        now,
                    )?;
                }
                filed.push(q);
            }
            Ok(filed)
        })
    }
}

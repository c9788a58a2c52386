//! Certification-request use cases: create, move through the state machine, send to the CA
//! in batches, and record the CA's result.

use crate::*;
use kyso_core::audit::AuditRecord;
use kyso_core::authz::Permission;
use kyso_core::registry::*;
use kyso_core::request::*;
use kyso_core::rules::{RevocationReason, RuleSet};
use kyso_core::value::*;
use kyso_store::Tx;

#[derive(Debug, Clone)]
pub struct NewRequestInput {
    pub kind: RequestKind,
    pub subscriber: SubscriberId,
    pub certificate_serial: Option<String>,
    pub device_serial: Option<String>,
    pub details: RequestDetails,
}

/// What the CA sent back, as the operator enters or imports it.
#[derive(Debug, Clone)]
pub enum CompletionInput {
    Issued {
        serial: String,
        subject: String,
        issuer: String,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
        device_serial: Option<String>,
    },
    Revoked {
        at: DateTime<Utc>,
    },
    Restored,
}

/// A request with its history, for display.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RequestView {
    pub request: Request,
    pub subscriber: Subscriber,
    pub managing_agency: String,
    pub forms: Option<[String; 2]>,
    pub history: Vec<AuditRecord>,
    /// The key device the request names, if any.
    pub device: Option<KeyDevice>,
}

struct Loaded {
    sub: Subscriber,
    agency: Agency,
    person: Option<Person>,
    cert: Option<CertificateRecord>,
    device: Option<KeyDevice>,
}

impl Service {
    pub(crate) fn rules_on(&self, now: DateTime<Utc>) -> ServiceResult<RuleSet> {
        Ok(self.regimes().on(vn_date(now))?.clone().with(&self.profile_on(vn_date(now)).rules))
    }

    fn load_parties(
        &self,
        tx: &mut Tx<'_>,
        sub_id: SubscriberId,
        cert: Option<CertificateId>,
        device: Option<DeviceId>,
    ) -> ServiceResult<Loaded> {
        let sub = tx.subscriber(sub_id)?.ok_or_else(|| DomainError::not_found("thuê bao", sub_id))?;
        let agency = agency_by_id(tx, sub.agency_id)?;
        let person = match sub.person_id {
            Some(p) => tx.person(p)?,
            None => None,
        };
        let cert = match cert {
            Some(c) => Some(tx.certificate(c)?.ok_or_else(|| DomainError::not_found("chứng thư số", c))?),
            None => None,
        };
        let device = match device {
            Some(d) => Some(tx.device(d)?.ok_or_else(|| DomainError::not_found("thiết bị", d))?),
            None => None,
        };
        Ok(Loaded { sub, agency, person, cert, device })
    }

    fn check_rules(&self, kind: RequestKind, details: &RequestDetails, l: &Loaded, now: DateTime<Utc>) -> ServiceResult<()> {
        let rules = self.rules_on(now)?;
        let cx = RuleContext {
            rules: &rules,
            profile: self.profile(),
            subscriber: &l.sub,
            person: l.person.as_ref(),
            certificate: l.cert.as_ref(),
            device: l.device.as_ref(),
            now,
        };
        check_request_rules(kind, details, &cx)?;
        Ok(())
    }

    /// The registry as a change-of-information request would leave it (None for other
    /// kinds). A new workplace is named by its agency code; the managing agency follows it.
    pub(crate) fn changed_info(&self, tx: &mut Tx<'_>, details: &RequestDetails, sub: &Subscriber) -> ServiceResult<Option<ChangedInfo>> {
        let RequestDetails::ChangeInfo { changes } = details else { return Ok(None) };
        let person = match sub.person_id {
            Some(p) => tx.person(p)?,
            None => None,
        };
        let organisation = match sub.kind {
            SubscriberKind::Organisation => Some(agency_by_id(tx, sub.agency_id)?),
            _ => None,
        };
        let workplace = match changes.iter().rev().find(|(f, _)| *f == kyso_core::rules::ChangeField::Workplace) {
            Some((_, code)) => {
                let code = normalize_text(code);
                let w = tx.agency_by_code(&code)?.ok_or_else(|| {
                    DomainError::invalid(
                        "changes",
                        format!("không có cơ quan mã '{code}' trong danh mục; nơi công tác mới ghi bằng mã cơ quan"),
                    )
                })?;
                Some(w)
            }
            None => None,
        };
        let mut changed = apply_info_changes(changes, sub, person.as_ref(), organisation.as_ref(), workplace.as_ref())?;
        if changed.subscriber.agency_id != sub.agency_id {
            let agency = agency_by_id(tx, changed.subscriber.agency_id)?;
            changed.subscriber.managing_agency_id =
                crate::registry::default_managing(tx, self.profile().managing_rule, sub.kind, changed.person.as_ref(), &agency)?.id;
        }
        Ok(Some(changed))
    }

    fn event(&self, actor: &Principal, action: &str, q: &Request, l: &Loaded) -> NewEvent {
        NewEvent::new(&actor.login, action, format!("request:{}", q.id))
            .agency(l.agency.id)
            .figure(q.kind.code(), l.sub.kind.report_class().code())
    }

    /// Creates a draft request after checking the actor and the rules.
    pub fn create_request(&self, actor: &Principal, input: &NewRequestInput, now: DateTime<Utc>) -> ServiceResult<Request> {
        self.mutate(actor, "request.create", &format!("subscriber:{}", input.subscriber), now, |tx| self.create_in(tx, actor, input, now))
    }

    /// Creates a draft request inside the caller's transaction.
    pub(crate) fn create_in(
        &self,
        tx: &mut Tx<'_>,
        actor: &Principal,
        input: &NewRequestInput,
        now: DateTime<Utc>,
    ) -> ServiceResult<Request> {
        {
            let cert = match &input.certificate_serial {
                Some(s) => {
                    let s = Serial::parse("certificate", s)?;
                    Some(tx.certificate_by_serial(s.as_str())?.ok_or_else(|| DomainError::not_found("chứng thư số", &s))?.id)
                }
                None => None,
            };
            let device = match &input.device_serial {
                Some(s) => {
                    let s = Serial::parse("device", s)?;
                    Some(tx.device_by_serial(s.as_str())?.ok_or_else(|| DomainError::not_found("thiết bị", &s))?.id)
                }
                None => None,
            };
            let mut l = self.load_parties(tx, input.subscriber, cert, device)?;
            // A restore names the device; default to the one holding the subscriber's certificate.
            if input.kind == RequestKind::RestoreDevice && l.device.is_none() {
                return Err(DomainError::invalid("device", "yêu cầu khôi phục phải ghi số hiệu thiết bị lưu khóa").into());
            }
            if input.kind == RequestKind::Revoke && l.device.is_none() {
                if let Some(d) = l.cert.as_ref().and_then(|c| c.device_id) {
                    l.device = tx.device(d)?;
                }
            }
            may_file_for(actor, &l.sub, &l.agency.path)?;
            // A device named by the filer (not the certificate's own, taken above) must be the
            // subscriber's and within the filer's scope (issue 11, finding 1).
            if let (Some(d), Some(_)) = (&l.device, &input.device_serial) {
                let device_agency = agency_by_id(tx, d.agency_id)?;
                let holds = d.custodian.is_some() && actor.person_id == d.custodian;
                // The filer acts for this subscriber (checked above), so the subscriber's own
                // agency is in scope too: Hà Tĩnh's provincial office files for department heads.
                // The subscriber's own body (its nearest legal entity and what lies below it):
                // a unit's official may take a token from the department's stock, but not one
                // of a body above it.
                let body = crate::registry::nearest_legal_entity(tx, l.agency.clone(), false)?;
                let subscriber_side = device_agency.path.starts_with(&body.path);
                if !holds && !subscriber_side && !actor.may(Permission::ReadRegistry, &device_agency.path) {
                    return Err(DomainError::forbidden(format!(
                        "thiết bị {} thuộc {} ({}), ngoài phạm vi của tài khoản '{}'",
                        d.serial, device_agency.name, device_agency.code, actor.login
                    ))
                    .into());
                }
                // A certificate of the subscriber still valid on the device (one revoked long ago
                // does not make a device now held by someone else theirs).
                let carried = tx.certificates_on_device(d.id)?.iter().any(|c| c.subscriber_id == l.sub.id);
                check_named_device(input.kind, d, l.cert.as_ref(), &l.sub, carried)?;
            }
            if let Some(c) = cert {
                if let Some(open) = tx.open_requests_for_certificate(c)?.first() {
                    return Err(DomainError::rule(
                        "one-open-request",
                        format!("chứng thư số này đang có yêu cầu số {} ({}) chưa kết thúc", open.id, open.kind.label_vi()),
                    )
                    .into());
                }
            }
            self.check_rules(input.kind, &input.details, &l, now)?;
            // The new values are checked now, not when the CA's certificate comes back.
            self.changed_info(tx, &input.details, &l.sub)?;
            let q = tx.insert_request(&Request {
                id: RequestId(0),
                kind: input.kind,
                state: RequestState::Draft,
                subscriber_id: l.sub.id,
                certificate_id: cert,
                device_id: l.device.as_ref().map(|d| d.id),
                managing_agency_id: l.sub.managing_agency_id,
                details: input.details.clone(),
                created_by: actor.user_id,
                created_at: now,
                updated_at: now,
                batch_id: None,
                rejection_reason: None,
            })?;
            tx.append_audit(self.event(actor, "request.created", &q, &l).details(serde_json::json!({"details": q.details})), now)?;
            Ok(q)
        }
    }

    /// Separation of duties (`kyso_core::duties`): who filed, confirmed and checked the
    /// request, from its audit events, against who acts now. The system's CA service and the
    /// local operator are held to it like anyone: the rule is about people.
    fn check_duties(&self, tx: &mut Tx<'_>, action: Action, actor: &Principal, q: &Request, parties: &Parties<'_>) -> ServiceResult<()> {
        if !matches!(action, Action::Confirm | Action::Check | Action::Complete) {
            return Ok(());
        }
        let steps = tx.request_step_actors(q.id.0)?;
        let sole_officer = tx.role_holders_at(kyso_core::authz::Role::AgencyOfficer.code(), q.managing_agency_id.0)? == 1;
        let facts = kyso_core::duties::DutyFacts {
            actor_login: &actor.login,
            actor_person: actor.person_id,
            subscriber_person: parties.subscriber_person,
            route: parties.route,
            sole_officer,
            sole_officer_may_confirm_own_filing: self.profile_on(vn_date(q.created_at)).sole_officer_may_confirm_own_filing,
        };
        Ok(kyso_core::duties::check_separation(action, &steps, &facts)?)
    }

    /// Moves a request one step (submit, confirm, check, reject, cancel, or send a single
    /// request to the CA). Completion goes through [`Service::complete_request`].
    pub fn transition(
        &self,
        actor: &Principal,
        id: RequestId,
        action: Action,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Request> {
        if action == Action::Complete {
            return Err(DomainError::invalid(
                "action",
                "ghi nhận hoàn thành cần kết quả của tổ chức chứng thực: dùng lệnh 'request complete'",
            )
            .into());
        }
        if action == Action::SendToCa {
            return self.send_to_ca(actor, &[id], now).map(|(_, mut v)| v.remove(0));
        }
        self.mutate(actor, &format!("request.{}", action.code()), &format!("request:{id}"), now, |tx| {
            self.step(tx, actor, id, action, reason, None, now)
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn step(
        &self,
        tx: &mut Tx<'_>,
        actor: &Principal,
        id: RequestId,
        action: Action,
        reason: Option<&str>,
        batch: Option<BatchId>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Request> {
        let mut q = tx.request(id)?.ok_or_else(|| DomainError::not_found("yêu cầu", id))?;
        let l = self.load_parties(tx, q.subscriber_id, q.certificate_id, q.device_id)?;
        let parties = Parties {
            subscriber_agency_path: &l.agency.path,
            subscriber_person: l.sub.person_id,
            subscriber_kind: l.sub.kind,
            // A request keeps the route of the profile it was filed under.
            route: self.profile_on(vn_date(q.created_at)).routing.route_for(q.kind),
        };
        let to = next_state(&q, action, actor, &parties)?;
        self.check_duties(tx, action, actor, &q, &parties)?;
        // The law's conditions hold when the subscriber asks and when the CQQLTT vouches.
        if matches!(action, Action::Submit | Action::Confirm) {
            self.check_rules(q.kind, &q.details, &l, now)?;
        }
        let reason = match action {
            Action::Reject => Some(
                required_text("reason", reason.unwrap_or(""), 500)
                    .map_err(|_| DomainError::invalid("reason", "từ chối phải ghi rõ lý do"))?,
            ),
            _ => None,
        };
        let from = q.state;
        q.state = to;
        q.updated_at = now;
        if reason.is_some() {
            q.rejection_reason = reason.clone();
        }
        if batch.is_some() {
            q.batch_id = batch;
        }
        tx.update_request_state(&q, from)?;
        let forms = self.rules_on(now)?.forms_for(q.kind.code()).cloned();
        tx.append_audit(
            self.event(actor, &format!("request.{}", to.code()), &q, &l)
                .details(serde_json::json!({"from": from.code(), "reason": reason, "batch": batch, "forms": forms})),
            now,
        )?;
        Ok(q)
    }

    /// Sends confirmed (direct route) or checked (via the manager) requests to the CA as one
    /// batch. All or none: if one cannot go, none goes.
    pub fn send_to_ca(&self, actor: &Principal, ids: &[RequestId], now: DateTime<Utc>) -> ServiceResult<(BatchId, Vec<Request>)> {
        if ids.is_empty() {
            return Err(DomainError::invalid("requests", "lô gửi phải có ít nhất một yêu cầu").into());
        }
        self.mutate(actor, "request.send_to_ca", &format!("requests:{:?}", ids.iter().map(|i| i.0).collect::<Vec<_>>()), now, |tx| {
            let batch = tx.insert_batch(now, &actor.login)?;
            let mut out = Vec::new();
            for id in ids {
                out.push(self.step(tx, actor, *id, Action::SendToCa, None, Some(batch), now)?);
            }
            Ok((batch, out))
        })
    }

    /// Records the CA's result and applies it to the registry: a new certificate record, a
    /// revocation with the device-return deadline, or an unlocked device.
    pub fn complete_request(
        &self,
        actor: &Principal,
        id: RequestId,
        input: &CompletionInput,
        now: DateTime<Utc>,
    ) -> ServiceResult<Request> {
        self.mutate(actor, "request.complete", &format!("request:{id}"), now, |tx| self.complete_in(tx, actor, id, input, now))
    }

    /// Completes a request inside the caller's transaction (the built-in CA issues and
    /// completes in one).
    pub(crate) fn complete_in(
        &self,
        tx: &mut Tx<'_>,
        actor: &Principal,
        id: RequestId,
        input: &CompletionInput,
        now: DateTime<Utc>,
    ) -> ServiceResult<Request> {
        let q = tx.request(id)?.ok_or_else(|| DomainError::not_found("yêu cầu", id))?;
        let l = self.load_parties(tx, q.subscriber_id, q.certificate_id, q.device_id)?;
        let parties = Parties {
            subscriber_agency_path: &l.agency.path,
            subscriber_person: l.sub.person_id,
            subscriber_kind: l.sub.kind,
            // A request keeps the route of the profile it was filed under.
            route: self.profile_on(vn_date(q.created_at)).routing.route_for(q.kind),
        };
        next_state(&q, Action::Complete, actor, &parties)?;
        self.check_duties(tx, Action::Complete, actor, &q, &parties)?;
        let completion = match input {
            CompletionInput::Issued { serial, subject, issuer, not_before, not_after, device_serial } => {
                let device_id = match device_serial {
                    Some(s) => Some(
                        tx.device_by_serial(Serial::parse("device", s)?.as_str())?.ok_or_else(|| DomainError::not_found("thiết bị", s))?.id,
                    ),
                    None => l.cert.as_ref().and_then(|c| c.device_id),
                };
                Completion::Issued {
                    serial: Serial::parse("serial", serial)?,
                    subject: required_text("subject", subject, 500)?,
                    issuer: required_text("issuer", issuer, 500)?,
                    not_before: *not_before,
                    not_after: *not_after,
                    device_id,
                }
            }
            CompletionInput::Revoked { at } => Completion::Revoked { at: *at },
            CompletionInput::Restored => Completion::Restored,
        };
        let rules = self.rules_on(now)?;
        check_completion(&q, &completion, &rules, l.cert.as_ref(), now)?;
        self.apply_completion(tx, actor, &q, &l, &completion, &rules, now)?;
        self.step(tx, actor, id, Action::Complete, None, None, now)
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_completion(
        &self,
        tx: &mut Tx<'_>,
        actor: &Principal,
        q: &Request,
        l: &Loaded,
        c: &Completion,
        rules: &RuleSet,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let class = l.sub.kind.report_class();
        match c {
            Completion::Issued { serial, subject, issuer, not_before, not_after, device_id } => {
                if tx.certificate_by_serial(serial.as_str())?.is_some() {
                    return Err(DomainError::conflict("chứng thư số", serial).into());
                }
                let (predecessor, renewal_count) = match (&l.cert, q.kind) {
                    (Some(old), RequestKind::Renew) => (Some(old.id), old.renewal_count + 1),
                    (Some(old), _) => (Some(old.id), old.renewal_count),
                    (None, _) => (None, 0),
                };
                // A change of information may move the subscriber: its new certificate belongs
                // to the agency it moves to.
                let changed = self.changed_info(tx, &q.details, &l.sub)?;
                let cert_agency = changed.as_ref().map(|c| c.subscriber.agency_id).unwrap_or(l.agency.id);
                let rec = tx.insert_certificate(
                    &CertificateRecord {
                        id: CertificateId(0),
                        serial: serial.clone(),
                        subscriber_id: l.sub.id,
                        subject: subject.clone(),
                        issuer: issuer.clone(),
                        not_before: *not_before,
                        not_after: *not_after,
                        revoked_at: None,
                        revocation_reason: None,
                        device_id: *device_id,
                        predecessor,
                        renewal_count,
                    },
                    cert_agency,
                    class,
                )?;
                // Issued onto a device in stock: a personal certificate's device is assigned to
                // its holder, ready for the handover record (an organisation's waits for the
                // written decision that gives it to the records clerk, taken at the handover).
                if let Some(dev_id) = device_id {
                    let mut dev = tx.device(*dev_id)?.ok_or_else(|| DomainError::not_found("thiết bị", dev_id))?;
                    if dev.status == DeviceStatus::InStock && l.sub.kind == SubscriberKind::Individual {
                        dev.status = DeviceStatus::Assigned;
                        dev.custodian = l.sub.person_id;
                        tx.update_device(&dev)?;
                        tx.append_audit(
                            NewEvent::new(&actor.login, "device.assigned", format!("device:{}", dev.id)).agency(dev.agency_id).details(
                                serde_json::json!({"custodian": l.sub.display_name, "request": q.id, "certificate": serial.as_str()}),
                            ),
                            now,
                        )?;
                    }
                }
                tx.append_audit(
                    NewEvent::new(&actor.login, "certificate.issued", format!("certificate:{}", rec.id)).agency(l.agency.id).details(
                        serde_json::json!({"serial": serial.as_str(), "request": q.id, "not_after": not_after, "predecessor": predecessor}),
                    ),
                    now,
                )?;
                if let Some(changed) = changed {
                    // The registry takes the new values with the certificate that carries them.
                    if let Some(p) = &changed.person {
                        tx.update_person(p)?;
                    }
                    if let Some(a) = &changed.organisation {
                        tx.update_agency_details(a)?;
                    }
                    tx.update_subscriber(&changed.subscriber)?;
                    let RequestDetails::ChangeInfo { changes } = &q.details else {
                        unreachable!("changed_info is Some only for ChangeInfo")
                    };
                    let named: serde_json::Map<String, serde_json::Value> =
                        changes.iter().map(|(f, v)| (f.code().to_string(), serde_json::Value::from(v.as_str()))).collect();
                    tx.append_audit(
                        NewEvent::new(&actor.login, "subscriber.info_changed", format!("subscriber:{}", l.sub.id))
                            .agency(l.agency.id)
                            .details(serde_json::json!({"request": q.id, "changes": named})),
                        now,
                    )?;
                }
                if let Some(old) = &l.cert {
                    // The renewed or changed certificate is replaced by the new one.
                    tx.revoke_certificate(old.id, *not_before.max(&now), RevocationReason::Superseded)?;
                    tx.append_audit(
                        NewEvent::new(&actor.login, "certificate.revoked", format!("certificate:{}", old.id))
                            .agency(l.agency.id)
                            .details(serde_json::json!({"serial": old.serial.as_str(), "reason": "superseded", "by": serial.as_str()})),
                        now,
                    )?;
                }
            }
            Completion::Revoked { at } => {
                let old = l.cert.as_ref().ok_or_else(|| DomainError::invalid("certificate", "yêu cầu thu hồi không gắn chứng thư số"))?;
                let RequestDetails::Revoke { reason, device_return, .. } = &q.details else {
                    return Err(DomainError::invalid("details", "nội dung yêu cầu thu hồi bị hỏng").into());
                };
                tx.revoke_certificate(old.id, *at, *reason)?;
                tx.append_audit(
                    NewEvent::new(&actor.login, "certificate.revoked", format!("certificate:{}", old.id))
                        .agency(l.agency.id)
                        .details(serde_json::json!({"serial": old.serial.as_str(), "reason": reason.code(), "rfc5280": reason.rfc5280_code(), "at": at})),
                    now,
                )?;
                if let Some(mut dev) = l.device.clone() {
                    let from = dev.status;
                    if *reason == RevocationReason::DeviceLost {
                        dev.status = DeviceStatus::Lost;
                    } else if *device_return {
                        dev.status = DeviceStatus::AwaitingReturn;
                        dev.return_due = Some(self.calendar().add_working_days(vn_date(*at), rules.device_return_working_days));
                    }
                    if dev.status != from {
                        tx.update_device(&dev)?;
                        tx.append_audit(
                            NewEvent::new(&actor.login, "device.status_changed", format!("device:{}", dev.id))
                                .agency(dev.agency_id)
                                .details(serde_json::json!({"from": from.code(), "to": dev.status.code(), "return_due": dev.return_due})),
                            now,
                        )?;
                    }
                }
            }
            Completion::Restored => {
                let mut dev = l.device.clone().ok_or_else(|| DomainError::invalid("device", "yêu cầu khôi phục không gắn thiết bị"))?;
                if dev.status != DeviceStatus::Locked {
                    return Err(DomainError::rule("NĐ130-Art73", format!("thiết bị {} không ở trạng thái bị khóa", dev.serial)).into());
                }
                dev.status = DeviceStatus::InUse;
                tx.update_device(&dev)?;
                tx.append_audit(
                    NewEvent::new(&actor.login, "device.status_changed", format!("device:{}", dev.id))
                        .agency(dev.agency_id)
                        .details(serde_json::json!({"from": "locked", "to": "in_use", "request": q.id})),
                    now,
                )?;
            }
        }
        Ok(())
    }

    pub fn request(&self, actor: &Principal, id: RequestId) -> ServiceResult<RequestView> {
        self.db.read(|tx| {
            let q = tx.request(id)?.ok_or_else(|| DomainError::not_found("yêu cầu", id))?;
            let l = self.load_parties(tx, q.subscriber_id, None, None)?;
            let is_self = l.sub.person_id.is_some() && actor.person_id == l.sub.person_id;
            if !is_self {
                require(actor, Permission::ReadRegistry, &l.agency)?;
            }
            let managing = agency_by_id(tx, q.managing_agency_id)?;
            let forms = self.regimes().on(vn_date(q.created_at)).ok().and_then(|r| r.forms_for(q.kind.code()).cloned());
            let history = tx.audit_for_object(&format!("request:{}", q.id))?;
            let device = q.device_id.map(|d| tx.device(d)).transpose()?.flatten();
            Ok(RequestView {
                request: q,
                subscriber: l.sub,
                managing_agency: format!("{} ({})", managing.name, managing.code),
                forms,
                history,
                device,
            })
        })
    }

    pub fn list_requests(
        &self,
        actor: &Principal,
        under: Option<&str>,
        state: Option<RequestState>,
        limit: i64,
    ) -> ServiceResult<Vec<Request>> {
        self.db.read(|tx| {
            let mut out = Vec::new();
            for prefix in self.scoped_prefixes(tx, actor, Permission::ReadRegistry, under)? {
                out.extend(tx.requests_under(&prefix, state, limit)?);
            }
            Ok(out)
        })
    }
}

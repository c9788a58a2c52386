//! Keeping the registry true about officials: edits, and what happens to them (retirement,
//! resignation, death, a new position, a move), each with the certificate work it calls for
//! proposed to the CQQLTT, who files it with one action or dismisses it with a reason; and
//! the accounts: disabled, and roles taken back.

use crate::*;
use kyso_core::authz::{Permission, Role};
use kyso_core::person_event::{proposed_request, EventFacts, PersonEvent};
use kyso_core::registry::*;
use kyso_core::request::*;
use kyso_core::value::{normalize_text, parse_date, required_text, Email, PersonName, Phone};
use kyso_store::{CertificateFilter, PersonEventRow, ProposalRow};

/// The fields of an official that an edit may change; None keeps the value.
#[derive(Debug, Clone, Default)]
pub struct PersonUpdate {
    pub full_name: Option<String>,
    pub position: Option<String>,
    pub position_kind: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// An event as entered: what, from when, on which basis, and the new position or body.
#[derive(Debug, Clone, Default)]
pub struct PersonEventInput {
    pub event: String,
    /// YYYY-MM-DD or DD/MM/YYYY.
    pub effective: String,
    /// The decision it rests on (number and date).
    pub basis: String,
    pub new_position: Option<String>,
    pub new_position_kind: Option<String>,
    pub new_title: Option<String>,
    pub new_agency_code: Option<String>,
}

/// What recording an event did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PersonEventOutcome {
    pub event_id: i64,
    pub person: Person,
    /// The certificate work proposed, one per valid personal certificate.
    pub proposals: Vec<ProposalRow>,
    /// Accounts disabled because the official left the service.
    pub disabled_accounts: Vec<String>,
    /// Roles (login, role, agency code) taken back because a move took the official out of
    /// their scope.
    pub revoked_roles: Vec<(String, String, String)>,
    /// Such roles the actor may not take back: for whoever manages accounts there.
    pub roles_to_revoke: Vec<(String, String, String)>,
}

impl Service {
    fn person_for_update(&self, tx: &mut Tx<'_>, actor: &Principal, cid: &str) -> ServiceResult<(Person, Agency)> {
        let p = tx.person_by_citizen_id(cid.trim())?.ok_or_else(|| DomainError::not_found("cán bộ có số CCCD", cid))?;
        let a = agency_by_id(tx, p.agency_id)?;
        require(actor, Permission::ManagePersons, &a)?;
        Ok((p, a))
    }

    /// Edits an official's name, position, title, e-mail or phone. The certificate keeps what
    /// it says until a change of information is filed for it.
    pub fn update_person(&self, actor: &Principal, cid: &str, u: &PersonUpdate, now: DateTime<Utc>) -> ServiceResult<Person> {
        self.mutate(actor, "person.update", &format!("person:{cid}"), now, |tx| {
            let (mut p, a) = self.person_for_update(tx, actor, cid)?;
            let before = p.clone();
            if let Some(v) = &u.full_name {
                p.full_name = PersonName::parse(v)?;
            }
            if let Some(v) = &u.position {
                p.position = required_text("position", v, 200)?;
            }
            if let Some(v) = &u.position_kind {
                p.position_kind = parse_coded("position_kind", v, PositionKind::parse, PositionKind::ALL, PositionKind::code)?;
            }
            if let Some(v) = &u.title {
                p.title = normalize_text(v);
            }
            if let Some(v) = &u.email {
                p.email = Email::parse("email", v)?;
            }
            if let Some(v) = &u.phone {
                p.phone = if v.trim().is_empty() { None } else { Some(Phone::parse(v)?) };
            }
            if p == before {
                return Err(DomainError::invalid("person", "không có thông tin nào thay đổi").into());
            }
            tx.update_person(&p)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "person.updated", format!("person:{}", p.id)).agency(a.id).details(serde_json::json!({
                    "full_name": p.full_name.as_str(), "position": p.position, "title": p.title, "email": p.email.as_str()
                })),
                now,
            )?;
            Ok(p)
        })
    }

    /// Records what happened to an official. A move or a new position updates the registry at
    /// once; leaving the service disables the official's accounts. Every valid personal
    /// certificate gets the request the law asks for, proposed to the CQQLTT.
    pub fn record_person_event(
        &self,
        actor: &Principal,
        cid: &str,
        input: &PersonEventInput,
        now: DateTime<Utc>,
    ) -> ServiceResult<PersonEventOutcome> {
        let event = parse_coded("event", &input.event, PersonEvent::parse, PersonEvent::ALL, PersonEvent::code)?;
        let effective = parse_date("effective", &input.effective)?;
        let basis = required_text("basis", &input.basis, 300).map_err(|_| {
            DomainError::invalid("basis", "ghi căn cứ: số và ngày của quyết định (nghỉ hưu, thôi việc, điều động, bổ nhiệm…)")
        })?;
        self.mutate(actor, "person.event", &format!("person:{cid}"), now, |tx| {
            let (mut p, a) = self.person_for_update(tx, actor, cid)?;
            let new_kind = input
                .new_position_kind
                .as_deref()
                .map(|k| parse_coded("position_kind", k, PositionKind::parse, PositionKind::ALL, PositionKind::code))
                .transpose()?;
            let mut new_agency = None;
            match event {
                PersonEvent::Moved => {
                    let code = input
                        .new_agency_code
                        .as_deref()
                        .ok_or_else(|| DomainError::invalid("agency", "chuyển cơ quan phải ghi mã cơ quan mới"))?;
                    let to = agency_by_code(tx, code)?;
                    // Both ends of the move are the actor's to change.
                    require(actor, Permission::ManagePersons, &to)?;
                    if to.id == p.agency_id {
                        return Err(DomainError::invalid("agency", "cán bộ đang công tác tại cơ quan này").into());
                    }
                    p.agency_id = to.id;
                    new_agency = Some(to);
                }
                PersonEvent::PositionChanged => {
                    let kind =
                        new_kind.ok_or_else(|| DomainError::invalid("position_kind", "thay đổi vị trí phải ghi loại chức vụ mới"))?;
                    p.position_kind = kind;
                    if let Some(pos) = &input.new_position {
                        p.position = required_text("position", pos, 200)?;
                    }
                    if let Some(t) = &input.new_title {
                        p.title = normalize_text(t);
                    }
                }
                _ => {}
            }
            tx.update_person(&p)?;
            let mut sub = tx.subscriber_of_person(p.id)?;
            // The subscriber follows its official to the new body; a move or a new position can
            // change who the CQQLTT is (Hà Tĩnh: the provincial Office for leaders).
            if let Some(s) = sub.as_mut().filter(|_| matches!(event, PersonEvent::Moved | PersonEvent::PositionChanged)) {
                let body = match &new_agency {
                    Some(to) => to.clone(),
                    None => agency_by_id(tx, s.agency_id)?,
                };
                s.agency_id = body.id;
                s.managing_agency_id = crate::registry::default_managing(tx, self.profile().managing_rule, s.kind, Some(&p), &body)?.id;
                tx.update_subscriber(s)?;
            }
            let details = serde_json::json!({
                "position": p.position, "position_kind": p.position_kind.code(), "title": p.title,
                "agency": new_agency.as_ref().map(|x| x.code.to_string()),
            });
            let row = PersonEventRow {
                id: 0,
                person_id: p.id,
                event: event.code().to_string(),
                effective,
                basis: basis.clone(),
                details: details.to_string(),
                recorded_at: now,
                recorded_by: actor.login.clone(),
            };
            let event_id = tx.insert_person_event(&row)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "person.event", format!("person:{}", p.id))
                    .agency(a.id)
                    .details(serde_json::json!({"event": event.code(), "effective": effective, "basis": basis, "details": details})),
                now,
            )?;
            // The certificate work, one proposal per valid personal certificate.
            let mut proposals = Vec::new();
            if let Some(s) = &sub {
                let facts = EventFacts {
                    event,
                    new_position_kind: new_kind,
                    new_title: input.new_title.as_deref(),
                    new_agency_code: new_agency.as_ref().map(|x| x.code.as_str()),
                    allowed_positions: &self.profile().personal_certificate_positions,
                };
                let filter = CertificateFilter { exclude_revoked: true, subscriber: Some(s.id), ..Default::default() };
                let certs: Vec<CertificateRecord> =
                    tx.certificates_under("/", &filter)?.into_iter().filter(|c| c.not_after > now).collect();
                if let Some((kind, details)) = proposed_request(&facts) {
                    for c in certs {
                        // One open proposal per certificate, however many events are recorded.
                        if tx.open_proposal_for(c.id)? {
                            continue;
                        }
                        // A device to return only when the certificate is on one.
                        let details = match &details {
                            RequestDetails::Revoke { reason, lost_device_record, .. } => RequestDetails::Revoke {
                                reason: *reason,
                                device_return: c.device_id.is_some(),
                                lost_device_record: lost_device_record.clone(),
                            },
                            other => other.clone(),
                        };
                        let mut prop = ProposalRow {
                            id: 0,
                            event_id,
                            subscriber_id: s.id,
                            certificate_id: c.id,
                            kind: kind.code().to_string(),
                            details: serde_json::to_string(&details).expect("serialisable"),
                            state: "open".into(),
                            reason: None,
                            request_id: None,
                            decided_at: None,
                            decided_by: None,
                        };
                        prop.id = tx.insert_proposal(&prop)?;
                        tx.append_audit(
                            NewEvent::new(&actor.login, "proposal.created", format!("proposal:{}", prop.id))
                                .agency(a.id)
                                .details(serde_json::json!({"certificate": c.serial.as_str(), "kind": kind.code(), "device": c.device_id})),
                            now,
                        )?;
                        proposals.push(prop);
                    }
                }
            }
            // Leaving the service ends the official's accounts.
            let mut disabled_accounts = Vec::new();
            if event.ends_service() {
                // Only whoever manages accounts there disables them (not a CQQLTT officer alone),
                // and never the actor's own; otherwise the outcome lists none and IT staff act.
                let may = actor.may(Permission::ManageUsers, &a.path);
                for (user, login) in tx.users_of_person(p.id)? {
                    if may && login != actor.login && !tx.user_disabled(user)? {
                        tx.disable_user(user, now)?;
                        // Its sessions end with it (its API tokens stop working too: they check the account).
                        tx.end_sessions_of(user, now)?;
                        tx.append_audit(
                            NewEvent::new(&actor.login, "user.disabled", format!("user:{login}"))
                                .details(serde_json::json!({"reason": event.code(), "event": event_id})),
                            now,
                        )?;
                        disabled_accounts.push(login);
                    }
                }
            }
            // A move ends the roles held over the old workplace only; a role whose scope also
            // covers the new body (the province, say) stays.
            let (mut revoked_roles, mut roles_to_revoke) = (Vec::new(), Vec::new());
            if let Some(to) = &new_agency {
                for (user, login) in tx.users_of_person(p.id)? {
                    for g in tx.grants(user)? {
                        if to.path.starts_with(&g.agency_path) {
                            continue;
                        }
                        let at = agency_by_id(tx, g.agency_id)?;
                        let row = (login.clone(), g.role.code().to_string(), at.code.to_string());
                        if !actor.may(Permission::ManageUsers, &g.agency_path) || login == actor.login {
                            roles_to_revoke.push(row);
                            continue;
                        }
                        tx.delete_grant(user, g.role, g.agency_id)?;
                        tx.append_audit(
                            NewEvent::new(&actor.login, "user.role_revoked", format!("user:{login}"))
                                .agency(at.id)
                                .details(serde_json::json!({"role": g.role.code(), "agency": at.code.as_str(), "event": event_id})),
                            now,
                        )?;
                        revoked_roles.push(row);
                    }
                }
            }
            Ok(PersonEventOutcome { event_id, person: p, proposals, disabled_accounts, revoked_roles, roles_to_revoke })
        })
    }

    /// The open (or all) proposals of the actor's scope.
    pub fn list_proposals(&self, actor: &Principal, only_open: bool) -> ServiceResult<Vec<ProposalRow>> {
        self.db.read(|tx| {
            let mut out = Vec::new();
            for prefix in self.scoped_prefixes(tx, actor, Permission::ReadRegistry, None)? {
                out.extend(tx.proposals_under(&prefix, only_open.then_some("open"))?);
            }
            out.sort_by_key(|p| p.id);
            out.dedup_by_key(|p| p.id);
            Ok(out)
        })
    }

    /// The CQQLTT takes a proposal: accepted, the request is filed and submitted in one
    /// action; dismissed, with a reason.
    pub fn decide_proposal(
        &self,
        actor: &Principal,
        id: i64,
        accept: bool,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> ServiceResult<(ProposalRow, Option<Request>)> {
        self.mutate(actor, if accept { "proposal.accept" } else { "proposal.dismiss" }, &format!("proposal:{id}"), now, |tx| {
            let mut prop = tx.proposal(id)?.ok_or_else(|| DomainError::not_found("đề xuất", id))?;
            if prop.state != "open" {
                return Err(DomainError::Transition {
                    from: "decided",
                    action: "decide",
                    message: format!("đề xuất số {id} đã được xử lý ({})", prop.state),
                }
                .into());
            }
            let sub = tx.subscriber(prop.subscriber_id)?.ok_or_else(|| DomainError::not_found("thuê bao", prop.subscriber_id))?;
            let agency = agency_by_id(tx, sub.agency_id)?;
            // The CQQLTT decides, or the provincial manager: never the official the proposal is
            // about (who could dismiss the revocation of their own certificate).
            if !(actor.has_role_at(Role::AgencyOfficer, sub.managing_agency_id)
                || actor.has_role_over(Role::ProvincialManager, &agency.path))
            {
                return Err(DomainError::forbidden(
                    "chỉ cán bộ của cơ quan quản lý trực tiếp (CQQLTT) của thuê bao hoặc người quản lý thuê bao cấp tỉnh xử lý đề xuất",
                )
                .into());
            }
            let request = if accept {
                let details: RequestDetails =
                    serde_json::from_str(&prop.details).map_err(|e| kyso_store::StoreError::Corrupt(e.to_string()))?;
                let kind = RequestKind::parse(&prop.kind)
                    .ok_or_else(|| kyso_store::StoreError::Corrupt(format!("loại yêu cầu '{}'", prop.kind)))?;
                let cert =
                    tx.certificate(prop.certificate_id)?.ok_or_else(|| DomainError::not_found("chứng thư số", prop.certificate_id))?;
                let input = NewRequestInput {
                    kind,
                    subscriber: sub.id,
                    certificate_serial: Some(cert.serial.to_string()),
                    device_serial: None,
                    details,
                };
                let q = self.create_in(tx, actor, &input, now)?;
                let q = self.step(tx, actor, q.id, Action::Submit, None, None, now)?;
                prop.state = "accepted".into();
                prop.request_id = Some(q.id);
                Some(q)
            } else {
                let why = required_text("reason", reason.unwrap_or(""), 500)
                    .map_err(|_| DomainError::invalid("reason", "bỏ qua đề xuất phải ghi rõ lý do"))?;
                prop.state = "dismissed".into();
                prop.reason = Some(why);
                None
            };
            prop.decided_at = Some(now);
            prop.decided_by = Some(actor.login.clone());
            if tx.decide_proposal(&prop)? == 0 {
                return Err(DomainError::Transition {
                    from: "decided",
                    action: "decide",
                    message: format!("đề xuất số {id} vừa được xử lý"),
                }
                .into());
            }
            tx.append_audit(
                NewEvent::new(&actor.login, &format!("proposal.{}", prop.state), format!("proposal:{id}"))
                    .agency(agency.id)
                    .details(serde_json::json!({"request": prop.request_id, "reason": prop.reason})),
                now,
            )?;
            Ok((prop, request))
        })
    }

    /// Disables an account: it can no longer act.
    pub fn disable_user(&self, actor: &Principal, login: &str, now: DateTime<Utc>) -> ServiceResult<()> {
        self.mutate(actor, "user.disable", &format!("user:{login}"), now, |tx| {
            let (user, person) = tx.user_by_login(login)?.ok_or_else(|| DomainError::not_found("tài khoản", login))?;
            let scope = match person.map(|p| tx.person(p)).transpose()?.flatten() {
                Some(p) => agency_by_id(tx, p.agency_id)?,
                None => tx.root_agency()?.ok_or(ServiceError::NotInitialised)?,
            };
            require(actor, Permission::ManageUsers, &scope)?;
            if actor.login == login {
                return Err(DomainError::invalid("login", "không tự khóa tài khoản của chính mình").into());
            }
            guard_manager_account(tx, actor, user, &scope)?;
            tx.disable_user(user, now)?;
            // Its sessions end with it (its API tokens stop working too: they check the account).
            tx.end_sessions_of(user, now)?;
            tx.append_audit(NewEvent::new(&actor.login, "user.disabled", format!("user:{login}")), now)?;
            Ok(())
        })
    }

    /// Takes a role back from an account.
    pub fn revoke_role(&self, actor: &Principal, login: &str, role: &str, agency_code: &str, now: DateTime<Utc>) -> ServiceResult<()> {
        let role = parse_coded("role", role, Role::parse, Role::ALL, Role::code)?;
        self.mutate(actor, "user.revoke", &format!("user:{login}"), now, |tx| {
            let agency = agency_by_code(tx, agency_code)?;
            require(actor, Permission::ManageUsers, &agency)?;
            let (user, _) = tx.user_by_login(login)?.ok_or_else(|| DomainError::not_found("tài khoản", login))?;
            guard_manager_account(tx, actor, user, &agency)?;
            if tx.delete_grant(user, role, agency.id)? == 0 {
                return Err(DomainError::not_found("quyền", format!("{} tại {} của {login}", role.label_vi(), agency.code)).into());
            }
            tx.append_audit(
                NewEvent::new(&actor.login, "user.role_revoked", format!("user:{login}"))
                    .agency(agency.id)
                    .details(serde_json::json!({"role": role.code(), "agency": agency.code.as_str()})),
                now,
            )?;
            Ok(())
        })
    }
}

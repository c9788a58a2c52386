//! Registry use cases: agencies, persons, accounts, subscribers, key devices and
//! certificate records.

use crate::*;
use chrono::NaiveDate;
use kyso_core::authz::{Permission, Role};
use kyso_core::identity::personal::{self, PersonRecord};
use kyso_core::registry::*;
use kyso_core::value::*;
use kyso_store::CertificateFilter;
use std::collections::{HashMap, HashSet};

/// What a caller gives to register a subscriber.
#[derive(Debug, Clone)]
pub enum SubscriberInput {
    /// An official, by citizen ID.
    Individual { citizen_id: String },
    /// An agency with its own seal, by code.
    Organisation { agency_code: String },
    /// A device, service or software owned by an agency.
    Device { agency_code: String, name: String, email: Option<String> },
}

#[derive(Debug, Clone)]
pub struct DeviceInput {
    pub serial: String,
    pub kind: String,
    pub model: String,
    pub agency_code: String,
}

/// The nearest agency at or above `a` that is a legal entity: the default CQQLTT.
pub(crate) fn nearest_legal_entity(tx: &mut kyso_store::Tx<'_>, mut a: Agency, strict: bool) -> ServiceResult<Agency> {
    let start = a.clone();
    if strict {
        match a.parent {
            Some(p) => a = agency_by_id(tx, p)?,
            None => return Ok(a),
        }
    }
    loop {
        if a.legal_entity {
            return Ok(a);
        }
        match a.parent {
            Some(p) => a = agency_by_id(tx, p)?,
            None => {
                return Err(DomainError::rule(
                    "TT185-Art3-CQQLTT",
                    format!("không tìm thấy cơ quan có tư cách pháp nhân quản lý trực tiếp '{}' ({})", start.name, start.code),
                )
                .into())
            }
        }
    }
}

/// The setting that names the provincial Office (an agency id), for profiles whose CQQLTT
/// rule needs it.
const PROVINCIAL_OFFICE: &str = "managing.provincial_office";

/// A subscriber's default CQQLTT under the profile's rule: the nearest legal entity (for an
/// organisation, the one above it), or the provincial Office where the rule says so.
pub(crate) fn default_managing(
    tx: &mut kyso_store::Tx<'_>,
    rule: kyso_core::profile::ManagingRule,
    kind: SubscriberKind,
    person: Option<&Person>,
    agency: &Agency,
) -> ServiceResult<Agency> {
    let organisation = kind == SubscriberKind::Organisation;
    let nearest = nearest_legal_entity(tx, agency.clone(), organisation)?;
    let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
    let body = if organisation { agency.clone() } else { nearest_legal_entity(tx, agency.clone(), false)? };
    let under_province = body.parent == Some(root.id);
    if !kyso_core::profile::managed_by_provincial_office(rule, kind, person.map(|p| p.position_kind), under_province) {
        return Ok(nearest);
    }
    let office = tx.setting(PROVINCIAL_OFFICE)?.and_then(|v| v.parse::<i64>().ok());
    match office {
        Some(id) => agency_by_id(tx, AgencyId(id)),
        None => Err(DomainError::rule(
            "CQQLTT-provincial-office",
            format!(
                "theo quy chế của tỉnh, cơ quan quản lý trực tiếp của '{}' là Văn phòng của tỉnh, nhưng chưa chỉ định Văn phòng: chạy 'kyso agency provincial-office MÃ'",
                agency.name
            ),
        )
        .into()),
    }
}

/// Names to show for the ids in a listing (the human output shows names, not ids).
#[derive(Debug, Clone, Default)]
pub struct DisplayNames {
    pub subscribers: HashMap<SubscriberId, String>,
    pub agencies: HashMap<AgencyId, String>,
    pub persons: HashMap<PersonId, String>,
}

impl Service {
    /// The names of the subscribers, agencies and officials given, as far as the actor may read
    /// them (the others are left out, and the caller shows the id).
    pub fn display_names(
        &self,
        actor: &Principal,
        subscribers: &[SubscriberId],
        agencies: &[AgencyId],
        persons: &[PersonId],
    ) -> ServiceResult<DisplayNames> {
        self.db.read(|tx| {
            let mut out = DisplayNames::default();
            let mut agency_cache: HashMap<AgencyId, Agency> = HashMap::new();
            let mut visible = |tx: &mut Tx<'_>, id: AgencyId| -> ServiceResult<Option<Agency>> {
                let a = match agency_cache.entry(id) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => e.insert(agency_by_id(tx, id)?),
                };
                Ok(actor.may(Permission::ReadRegistry, &a.path).then(|| a.clone()))
            };
            for id in subscribers.iter().collect::<HashSet<_>>() {
                if let Some(sub) = tx.subscriber(*id)? {
                    if visible(tx, sub.agency_id)?.is_some() || (sub.person_id.is_some() && sub.person_id == actor.person_id) {
                        out.subscribers.insert(*id, sub.display_name);
                    }
                }
            }
            for id in agencies.iter().collect::<HashSet<_>>() {
                if let Some(a) = visible(tx, *id)? {
                    out.agencies.insert(*id, a.name);
                }
            }
            for id in persons.iter().collect::<HashSet<_>>() {
                if let Some(p) = tx.person(*id)? {
                    if visible(tx, p.agency_id)?.is_some() || Some(p.id) == actor.person_id {
                        out.persons.insert(*id, p.full_name.to_string());
                    }
                }
            }
            Ok(out)
        })
    }

    /// Names the provincial Office (Văn phòng Đoàn ĐBQH, HĐND và UBND tỉnh), the CQQLTT of the
    /// bodies under the province and their leaders where the profile says so (Hà Tĩnh Art. 5.1).
    pub fn set_provincial_office(&self, actor: &Principal, code: &str, now: DateTime<Utc>) -> ServiceResult<Agency> {
        self.mutate(actor, "agency.provincial_office", &format!("agency:{code}"), now, |tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, Permission::ManageAgencies, &root)?;
            let office = agency_by_code(tx, code)?;
            if !office.legal_entity {
                return Err(DomainError::rule(
                    "TT185-Art3-CQQLTT",
                    format!("'{}' không có tư cách pháp nhân nên không thể là cơ quan quản lý trực tiếp", office.name),
                )
                .into());
            }
            tx.set_setting(PROVINCIAL_OFFICE, &office.id.0.to_string())?;
            tx.append_audit(
                NewEvent::new(&actor.login, "agency.provincial_office", format!("agency:{}", office.id))
                    .agency(office.id)
                    .details(serde_json::json!({"code": office.code.as_str(), "name": office.name})),
                now,
            )?;
            Ok(office)
        })
    }

    pub fn add_agency(&self, actor: &Principal, input: &AgencyInput, now: DateTime<Utc>) -> ServiceResult<Agency> {
        let n = NewAgency::parse(input, vn_date(now))?;
        self.mutate(actor, "agency.create", &format!("agency:{}", n.code), now, |tx| {
            let parent = match &n.parent_code {
                Some(c) => agency_by_code(tx, c.as_str())?,
                None => return Err(DomainError::invalid("parent", "chỉ có một cơ quan gốc (cấp tỉnh); hãy chỉ rõ cơ quan cấp trên").into()),
            };
            require(actor, Permission::ManageAgencies, &parent)?;
            if tx.agency_by_code(n.code.as_str())?.is_some() {
                return Err(DomainError::conflict("mã cơ quan", &n.code).into());
            }
            let a = tx.insert_agency(&n, Some(&parent))?;
            tx.append_audit(
                NewEvent::new(&actor.login, "agency.created", format!("agency:{}", a.id))
                    .agency(a.id)
                    .details(serde_json::json!({"code": a.code.as_str(), "name": a.name, "parent": parent.code.as_str(), "legal_entity": a.legal_entity})),
                now,
            )?;
            Ok(a)
        })
    }

    /// Ends an agency's effective period (dissolved, merged).
    pub fn close_agency(&self, actor: &Principal, code: &str, valid_to: NaiveDate, now: DateTime<Utc>) -> ServiceResult<Agency> {
        self.mutate(actor, "agency.close", &format!("agency:{code}"), now, |tx| {
            let a = agency_by_code(tx, code)?;
            require(actor, Permission::ManageAgencies, &a)?;
            if valid_to < a.valid_from {
                return Err(
                    DomainError::invalid("valid_to", format!("ngày kết thúc {valid_to} trước ngày hiệu lực {}", a.valid_from)).into()
                );
            }
            tx.close_agency(a.id, valid_to)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "agency.closed", format!("agency:{}", a.id))
                    .agency(a.id)
                    .details(serde_json::json!({"valid_to": valid_to})),
                now,
            )?;
            agency_by_id(tx, a.id)
        })
    }

    pub fn agency(&self, actor: &Principal, code: &str) -> ServiceResult<Agency> {
        self.db.read(|tx| {
            let a = agency_by_code(tx, code)?;
            require(actor, Permission::ReadRegistry, &a)?;
            Ok(a)
        })
    }

    /// Agencies the actor may see, optionally only under `under`.
    pub fn list_agencies(&self, actor: &Principal, under: Option<&str>) -> ServiceResult<Vec<Agency>> {
        self.db.read(|tx| {
            let mut out = Vec::new();
            for prefix in self.scoped_prefixes(tx, actor, Permission::ReadRegistry, under)? {
                out.extend(tx.agencies_under(&prefix)?);
            }
            Ok(out)
        })
    }

    /// The path prefixes to list: the actor's scopes, narrowed to `under` if given.
    pub(crate) fn scoped_prefixes(
        &self,
        tx: &mut kyso_store::Tx<'_>,
        actor: &Principal,
        p: Permission,
        under: Option<&str>,
    ) -> ServiceResult<Vec<String>> {
        let scopes = read_scopes(actor, p)?;
        match under {
            None => Ok(scopes),
            Some(code) => {
                let a = agency_by_code(tx, code)?;
                require(actor, p, &a)?;
                Ok(vec![a.path])
            }
        }
    }

    pub fn add_person(&self, actor: &Principal, input: &PersonInput, now: DateTime<Utc>) -> ServiceResult<Person> {
        let n = NewPerson::parse(input, vn_date(now))?;
        self.mutate(actor, "person.create", &format!("person:{}", n.citizen_id), now, |tx| self.insert_person(tx, actor, &n, now))
    }

    pub(crate) fn insert_person(
        &self,
        tx: &mut kyso_store::Tx<'_>,
        actor: &Principal,
        n: &NewPerson,
        now: DateTime<Utc>,
    ) -> ServiceResult<Person> {
        let agency = agency_by_code(tx, n.agency_code.as_str())?;
        require(actor, Permission::ManagePersons, &agency)?;
        if !agency.is_active(vn_date(now)) {
            return Err(
                DomainError::rule("agency-active", format!("cơ quan '{}' đã hết hiệu lực từ {:?}", agency.name, agency.valid_to)).into()
            );
        }
        if tx.person_by_citizen_id(n.citizen_id.as_str())?.is_some() {
            return Err(DomainError::conflict("số CCCD", &n.citizen_id).into());
        }
        if !self.profile().official_email_domains.is_empty() && !n.email.in_domains(&self.profile().official_email_domains) {
            return Err(DomainError::invalid(
                "email",
                format!("thư công vụ phải thuộc tên miền {}", self.profile().official_email_domains.join(", ")),
            )
            .into());
        }
        let p = tx.insert_person(n, agency.id)?;
        // The event holds no citizen ID: the audit log is read more widely than the registry.
        tx.append_audit(
            NewEvent::new(&actor.login, "person.created", format!("person:{}", p.id))
                .agency(agency.id)
                .details(serde_json::json!({"name": p.full_name.as_str(), "agency": agency.code.as_str()})),
            now,
        )?;
        Ok(p)
    }

    /// One official's record. Personal data (Decree 13/2023) is masked unless the reader needs
    /// it (`identity::personal::sees_in_full`); a full read of someone else's record is audited.
    pub fn person(&self, actor: &Principal, citizen_id: &str, now: DateTime<Utc>) -> ServiceResult<PersonRecord> {
        let p = self.db.read(|tx| tx.person_by_citizen_id(citizen_id.trim()))?;
        let p = p.ok_or_else(|| DomainError::not_found("cán bộ có số CCCD", citizen_id))?;
        self.read_person(actor, p, now)
    }

    /// A person's record as `actor` may read it: everyone their own (Decree 13: the data
    /// subject's right), others with `ReadRegistry` there, masked unless they need it, a full
    /// read of someone else audited.
    pub(crate) fn read_person(&self, actor: &Principal, p: Person, now: DateTime<Utc>) -> ServiceResult<PersonRecord> {
        let full = self.db.read(|tx| -> ServiceResult<bool> {
            let a = agency_by_id(tx, p.agency_id)?;
            if actor.person_id != Some(p.id) {
                require(actor, Permission::ReadRegistry, &a)?;
            }
            Ok(personal::sees_in_full(actor, &p, &a.path))
        })?;
        self.audit_full_read(actor, &p, full, now)?;
        Ok(personal::record(&p, full))
    }

    /// Records who read a person's full record (not the person themself).
    pub(crate) fn audit_full_read(&self, actor: &Principal, p: &Person, full: bool, now: DateTime<Utc>) -> ServiceResult<()> {
        if !full || actor.person_id == Some(p.id) {
            return Ok(());
        }
        self.db.write(|tx| {
            tx.append_audit(NewEvent::new(&actor.login, "person.read_full", format!("person:{}", p.id)).agency(p.agency_id), now)
        })?;
        Ok(())
    }

    /// Officials the actor may see; personal data masked as for [`Service::person`], and one
    /// audit event for a list read in full.
    pub fn list_persons(&self, actor: &Principal, under: Option<&str>, limit: i64, now: DateTime<Utc>) -> ServiceResult<Vec<PersonRecord>> {
        let rows = self.db.read(|tx| -> ServiceResult<_> {
            let mut out = Vec::new();
            for prefix in self.scoped_prefixes(tx, actor, Permission::ReadRegistry, under)? {
                for p in tx.persons_under(&prefix, limit)? {
                    let path = agency_by_id(tx, p.agency_id)?.path;
                    let full = personal::sees_in_full(actor, &p, &path);
                    out.push(personal::record(&p, full));
                }
            }
            Ok(out)
        })?;
        let full = rows.iter().filter(|r| !r.masked).count();
        if full > 0 {
            self.db.write(|tx| {
                tx.append_audit(
                    NewEvent::new(&actor.login, "person.list_full", format!("agency:{}", under.unwrap_or("*")))
                        .details(serde_json::json!({"full_records": full})),
                    now,
                )
            })?;
        }
        Ok(rows)
    }

    /// Creates an account, optionally tied to a person (by citizen ID).
    pub fn add_user(&self, actor: &Principal, login: &str, citizen_id: Option<&str>, now: DateTime<Utc>) -> ServiceResult<()> {
        let login = required_text("login", login, 64)?;
        if !login.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
            return Err(DomainError::invalid("login", "tên đăng nhập chỉ gồm chữ cái không dấu, chữ số, '.', '_' và '-'").into());
        }
        self.mutate(actor, "user.create", &format!("user:{login}"), now, |tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            let person = match citizen_id {
                Some(cid) => {
                    let p = tx.person_by_citizen_id(cid.trim())?.ok_or_else(|| DomainError::not_found("cán bộ có số CCCD", cid))?;
                    require(actor, Permission::ManageUsers, &agency_by_id(tx, p.agency_id)?)?;
                    Some(p.id)
                }
                None => {
                    require(actor, Permission::ManageUsers, &root)?;
                    None
                }
            };
            if tx.user_by_login(&login)?.is_some() {
                return Err(DomainError::conflict("tài khoản", &login).into());
            }
            let id = tx.insert_user(&login, person, now)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "user.created", format!("user:{}", id)).details(serde_json::json!({"login": login})),
                now,
            )?;
            Ok(())
        })
    }

    /// Gives `login` a role over an agency and its subtree.
    pub fn grant(&self, actor: &Principal, login: &str, role: &str, agency_code: &str, now: DateTime<Utc>) -> ServiceResult<()> {
        let role = parse_coded("role", role, Role::parse, Role::ALL, Role::code)?;
        self.mutate(actor, "user.grant", &format!("user:{login}"), now, |tx| {
            let agency = agency_by_code(tx, agency_code)?;
            let (user, person) = tx.user_by_login(login)?.ok_or_else(|| DomainError::not_found("tài khoản", login))?;
            // Separation of duties: nobody grants themself a role (nor to another account of
            // their own person), and the provincial manager is made by the local operator (the
            // first) or by a manager, never by IT staff.
            if user == actor.user_id || (person.is_some() && person == actor.person_id) {
                return Err(DomainError::forbidden("không tự cấp vai trò cho chính mình").into());
            }
            if role == Role::ProvincialManager && actor.method() != kyso_core::authz::AuthMethod::LocalOperator {
                if !actor.has_role_over(Role::ProvincialManager, &agency.path) {
                    return Err(DomainError::forbidden(
                        "chỉ người quản lý thuê bao cấp tỉnh (hoặc người vận hành trên máy chủ) mới cấp vai trò người quản lý cấp tỉnh",
                    )
                    .into());
                }
            } else {
                require(actor, Permission::ManageUsers, &agency)?;
            }
            if role == Role::CaService {
                return Err(DomainError::invalid(
                    "role",
                    "vai trò của dịch vụ tổ chức chứng thực là vai trò hệ thống, không cấp cho tài khoản",
                )
                .into());
            }
            if role == Role::AgencyOfficer && !agency.legal_entity {
                return Err(DomainError::rule(
                    "TT185-Art3-CQQLTT",
                    format!("'{}' không có tư cách pháp nhân nên không thể là cơ quan quản lý trực tiếp", agency.name),
                )
                .into());
            }
            tx.insert_grant(user, role, agency.id)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "user.granted", format!("user:{user}"))
                    .agency(agency.id)
                    .details(serde_json::json!({"login": login, "role": role.code(), "agency": agency.code.as_str()})),
                now,
            )?;
            Ok(())
        })
    }

    pub fn list_users(&self, actor: &Principal) -> ServiceResult<Vec<kyso_store::UserGrant>> {
        self.db.read(|tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, Permission::ManageUsers, &root)?;
            Ok(tx.users_with_grants()?)
        })
    }

    pub fn add_subscriber(
        &self,
        actor: &Principal,
        input: &SubscriberInput,
        managing_code: Option<&str>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Subscriber> {
        self.mutate(actor, "subscriber.create", "subscriber:new", now, |tx| self.insert_subscriber(tx, actor, input, managing_code, now))
    }

    pub(crate) fn insert_subscriber(
        &self,
        tx: &mut kyso_store::Tx<'_>,
        actor: &Principal,
        input: &SubscriberInput,
        managing_code: Option<&str>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Subscriber> {
        let (kind, person, agency, name, email) = match input {
            SubscriberInput::Individual { citizen_id } => {
                let p =
                    tx.person_by_citizen_id(citizen_id.trim())?.ok_or_else(|| DomainError::not_found("cán bộ có số CCCD", citizen_id))?;
                if tx.subscriber_of_person(p.id)?.is_some() {
                    return Err(DomainError::conflict("thuê bao cá nhân của", p.full_name.as_str()).into());
                }
                let a = agency_by_id(tx, p.agency_id)?;
                (SubscriberKind::Individual, Some(p.id), a, p.full_name.to_string(), Some(p.email.clone()))
            }
            SubscriberInput::Organisation { agency_code } => {
                let a = agency_by_code(tx, agency_code)?;
                if !a.legal_entity {
                    return Err(DomainError::rule(
                        "NĐ68-Art10-k2",
                        format!("'{}' không có tư cách pháp nhân (con dấu riêng) nên không được cấp chứng thư số cơ quan", a.name),
                    )
                    .into());
                }
                if tx.subscriber_of_org(a.id)?.is_some() && !self.profile().second_org_device_for_one_stop {
                    return Err(DomainError::conflict("thuê bao cơ quan", a.code.as_str()).into());
                }
                let name = a.name.clone();
                let email = a.email.clone();
                (SubscriberKind::Organisation, None, a, name, email)
            }
            SubscriberInput::Device { agency_code, name, email } => {
                let a = agency_by_code(tx, agency_code)?;
                let email = email.as_deref().map(|e| Email::parse("email", e)).transpose()?;
                (SubscriberKind::Device, None, a, required_text("name", name, 200)?, email)
            }
        };
        require(actor, Permission::ManageSubscribers, &agency)?;
        let managing = match managing_code {
            Some(c) => {
                let m = agency_by_code(tx, c)?;
                if !m.legal_entity {
                    return Err(DomainError::rule(
                        "TT185-Art3-CQQLTT",
                        format!("'{}' không có tư cách pháp nhân nên không thể là cơ quan quản lý trực tiếp", m.name),
                    )
                    .into());
                }
                if !m.contains(&agency) {
                    return Err(DomainError::invalid(
                        "managing_agency",
                        format!("'{}' không phải cơ quan cấp trên của '{}'", m.name, agency.name),
                    )
                    .into());
                }
                m
            }
            // An organisation is managed by the legal entity above it, others by the nearest
            // one, unless the profile's rule names the provincial Office.
            None => {
                let p = match person {
                    Some(id) => tx.person(id)?,
                    None => None,
                };
                default_managing(tx, self.profile().managing_rule, kind, p.as_ref(), &agency)?
            }
        };
        let s = tx.insert_subscriber(&Subscriber {
            id: SubscriberId(0),
            kind,
            person_id: person,
            agency_id: agency.id,
            managing_agency_id: managing.id,
            display_name: name,
            email,
        })?;
        tx.append_audit(
            NewEvent::new(&actor.login, "subscriber.created", format!("subscriber:{}", s.id))
                .agency(agency.id)
                .details(serde_json::json!({"kind": kind.code(), "name": s.display_name, "managing_agency": managing.code.as_str()})),
            now,
        )?;
        Ok(s)
    }

    pub fn list_subscribers(&self, actor: &Principal, under: Option<&str>, limit: i64) -> ServiceResult<Vec<Subscriber>> {
        self.db.read(|tx| {
            let mut out = Vec::new();
            for prefix in self.scoped_prefixes(tx, actor, Permission::ReadRegistry, under)? {
                out.extend(tx.subscribers_under(&prefix, limit)?);
            }
            Ok(out)
        })
    }

    pub fn add_device(&self, actor: &Principal, input: &DeviceInput, now: DateTime<Utc>) -> ServiceResult<KeyDevice> {
        let serial = Serial::parse("serial", &input.serial)?;
        let kind = parse_coded("kind", &input.kind, DeviceKind::parse, DeviceKind::ALL, DeviceKind::code)?;
        let model = required_text("model", &input.model, 100)?;
        self.mutate(actor, "device.create", &format!("device:{serial}"), now, |tx| {
            let agency = agency_by_code(tx, &input.agency_code)?;
            require(actor, Permission::ManageDevices, &agency)?;
            if tx.device_by_serial(serial.as_str())?.is_some() {
                return Err(DomainError::conflict("thiết bị", &serial).into());
            }
            let v = tx.insert_device(&KeyDevice {
                id: DeviceId(0),
                serial: serial.clone(),
                kind,
                model: model.clone(),
                status: DeviceStatus::InStock,
                agency_id: agency.id,
                custodian: None,
                return_due: None,
            })?;
            tx.append_audit(
                NewEvent::new(&actor.login, "device.created", format!("device:{}", v.id))
                    .agency(agency.id)
                    .details(serde_json::json!({"serial": serial.as_str(), "kind": kind.code(), "model": model})),
                now,
            )?;
            Ok(v)
        })
    }

    pub fn device(&self, actor: &Principal, serial: &str) -> ServiceResult<KeyDevice> {
        self.db.read(|tx| {
            let s = Serial::parse("serial", serial)?;
            let v = tx.device_by_serial(s.as_str())?.ok_or_else(|| DomainError::not_found("thiết bị", serial))?;
            require(actor, Permission::ReadRegistry, &agency_by_id(tx, v.agency_id)?)?;
            Ok(v)
        })
    }

    pub fn list_devices(&self, actor: &Principal, under: Option<&str>, limit: i64) -> ServiceResult<Vec<KeyDevice>> {
        self.db.read(|tx| {
            let mut out = Vec::new();
            for prefix in self.scoped_prefixes(tx, actor, Permission::ReadRegistry, under)? {
                out.extend(tx.devices_under(&prefix, limit)?);
            }
            Ok(out)
        })
    }

    /// Records a device event that is not part of a request: wrong PINs locked it, it was
    /// damaged or lost, or it came back to the CA. Loss is reported to the CQQLTT, which
    /// then files a revocation with the confirmation record.
    pub fn set_device_status(&self, actor: &Principal, serial: &str, status: &str, now: DateTime<Utc>) -> ServiceResult<KeyDevice> {
        let status = parse_coded("status", status, DeviceStatus::parse, DeviceStatus::ALL, DeviceStatus::code)?;
        let s = Serial::parse("serial", serial)?;
        self.mutate(actor, "device.status", &format!("device:{s}"), now, |tx| {
            let mut v = tx.device_by_serial(s.as_str())?.ok_or_else(|| DomainError::not_found("thiết bị", serial))?;
            require(actor, Permission::ManageDevices, &agency_by_id(tx, v.agency_id)?)?;
            use DeviceStatus::*;
            let ok = matches!(
                (v.status, status),
                (InUse | HandedOver, Locked) | (InStock | Assigned | HandedOver | InUse | Locked, Damaged) | (HandedOver, InUse)
            );
            // Assignment, handover and loss have their own records and steps.
            let dedicated = match status {
                Assigned => Some("kyso device assign"),
                HandedOver => Some("kyso device handover"),
                Lost => Some("kyso device lost (kèm biên bản Mẫu 15)"),
                Returned => Some("kyso device return (biên bản bàn giao hai bên)"),
                _ => None,
            };
            if let Some(cmd) = dedicated {
                return Err(DomainError::rule(
                    "device-lifecycle",
                    format!("bước '{}' có biên bản riêng: dùng lệnh {cmd}", status.label_vi()),
                )
                .into());
            }
            if !ok {
                return Err(DomainError::rule(
                    "device-lifecycle",
                    format!("thiết bị {} đang '{}', không chuyển sang '{}' được", v.serial, v.status.label_vi(), status.label_vi()),
                )
                .into());
            }
            let from = v.status;
            v.status = status;
            tx.update_device(&v)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "device.status_changed", format!("device:{}", v.id))
                    .agency(v.agency_id)
                    .details(serde_json::json!({"from": from.code(), "to": status.code()})),
                now,
            )?;
            Ok(v)
        })
    }

    pub fn certificate(&self, actor: &Principal, serial: &str) -> ServiceResult<CertificateRecord> {
        self.db.read(|tx| {
            let s = Serial::parse("serial", serial)?;
            let c = tx.certificate_by_serial(s.as_str())?.ok_or_else(|| DomainError::not_found("chứng thư số", serial))?;
            let sub = tx.subscriber(c.subscriber_id)?.ok_or_else(|| DomainError::not_found("thuê bao", c.subscriber_id))?;
            require(actor, Permission::ReadRegistry, &agency_by_id(tx, sub.agency_id)?)?;
            Ok(c)
        })
    }

    pub fn list_certificates(
        &self,
        actor: &Principal,
        under: Option<&str>,
        filter: &CertificateFilter,
    ) -> ServiceResult<Vec<CertificateRecord>> {
        self.db.read(|tx| {
            let mut out = Vec::new();
            for prefix in self.scoped_prefixes(tx, actor, Permission::ReadRegistry, under)? {
                out.extend(tx.certificates_under(&prefix, filter)?);
            }
            Ok(out)
        })
    }

    /// Certificates that expire within `days` from `now`, soonest first (not revoked).
    pub fn expiring_certificates(
        &self,
        actor: &Principal,
        under: Option<&str>,
        days: i64,
        now: DateTime<Utc>,
        limit: i64,
    ) -> ServiceResult<Vec<CertificateRecord>> {
        let f = CertificateFilter {
            expiring_between: Some((now, now + chrono::Duration::days(days))),
            exclude_revoked: true,
            subscriber: None,
            limit: Some(limit),
        };
        self.list_certificates(actor, under, &f)
    }
}

/// An existing certificate to enter into the registry (migration from spreadsheets or
/// another tool): it was issued outside kyso, so it counts in no report figure.
#[derive(Debug, Clone)]
pub struct ExistingCertificate {
    pub subscriber: SubscriberId,
    pub serial: String,
    pub subject: String,
    pub issuer: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub device_serial: Option<String>,
    pub renewal_count: u32,
}

impl Service {
    pub fn register_certificate(&self, actor: &Principal, c: &ExistingCertificate, now: DateTime<Utc>) -> ServiceResult<CertificateRecord> {
        let serial = Serial::parse("serial", &c.serial)?;
        let subject = required_text("subject", &c.subject, 500)?;
        let issuer = required_text("issuer", &c.issuer, 500)?;
        if c.not_after <= c.not_before {
            return Err(DomainError::invalid("not_after", "ngày hết hạn phải sau ngày bắt đầu hiệu lực").into());
        }
        self.mutate(actor, "certificate.register", &format!("certificate:{serial}"), now, |tx| {
            let sub = tx.subscriber(c.subscriber)?.ok_or_else(|| DomainError::not_found("thuê bao", c.subscriber))?;
            let agency = agency_by_id(tx, sub.agency_id)?;
            require(actor, Permission::ManageCertificates, &agency)?;
            let rules = self.regimes().on(vn_date(c.not_before)).ok().map(|r| r.clone().with(&self.profile().rules));
            if let Some(r) = rules {
                if c.not_after
                    > kyso_core::request::add_months(
                        c.not_before,
                        r.max_validity_months + r.renewal_max_extension_months * r.renewal_max_count,
                    )
                {
                    return Err(DomainError::rule(
                        "NĐ130-Art63/NĐ68-Art9",
                        format!("thời hạn {} – {} dài hơn mức tối đa {} tháng", c.not_before, c.not_after, r.max_validity_months),
                    )
                    .into());
                }
            }
            if tx.certificate_by_serial(serial.as_str())?.is_some() {
                return Err(DomainError::conflict("chứng thư số", &serial).into());
            }
            let device_id = match &c.device_serial {
                Some(s) => Some(
                    tx.device_by_serial(Serial::parse("device", s)?.as_str())?.ok_or_else(|| DomainError::not_found("thiết bị", s))?.id,
                ),
                None => None,
            };
            let rec = tx.insert_certificate(
                &CertificateRecord {
                    id: CertificateId(0),
                    serial: serial.clone(),
                    subscriber_id: sub.id,
                    subject: subject.clone(),
                    issuer: issuer.clone(),
                    not_before: c.not_before,
                    not_after: c.not_after,
                    revoked_at: None,
                    revocation_reason: None,
                    device_id,
                    predecessor: None,
                    renewal_count: c.renewal_count,
                },
                agency.id,
                sub.kind.report_class(),
            )?;
            tx.append_audit(
                NewEvent::new(&actor.login, "certificate.registered", format!("certificate:{}", rec.id))
                    .agency(agency.id)
                    .details(serde_json::json!({"serial": serial.as_str(), "subscriber": sub.id, "not_after": c.not_after})),
                now,
            )?;
            Ok(rec)
        })
    }
}

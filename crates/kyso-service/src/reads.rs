//! Read use cases by id, for callers that hold an id from an earlier answer (the demo, the
//! web's links). Each checks `ReadRegistry` over the agency the record belongs to, like the
//! reads by code or serial in `registry.rs`.

use crate::*;
use kyso_core::identity::personal::PersonRecord;
use kyso_core::registry::*;
use kyso_store::Table;

impl Service {
    pub fn agency_by_id(&self, actor: &Principal, id: AgencyId) -> ServiceResult<Agency> {
        self.db.read(|tx| {
            let a = agency_by_id(tx, id)?;
            require(actor, Permission::ReadRegistry, &a)?;
            Ok(a)
        })
    }

    pub fn device_by_id(&self, actor: &Principal, id: DeviceId) -> ServiceResult<KeyDevice> {
        self.db.read(|tx| {
            let v = tx.device(id)?.ok_or_else(|| DomainError::not_found("thiết bị", id))?;
            require(actor, Permission::ReadRegistry, &agency_by_id(tx, v.agency_id)?)?;
            Ok(v)
        })
    }

    /// An official by id, masked and audited as [`Service::person`].
    pub fn person_by_id(&self, actor: &Principal, id: PersonId, now: DateTime<Utc>) -> ServiceResult<PersonRecord> {
        let p = self.db.read(|tx| tx.person(id))?.ok_or_else(|| DomainError::not_found("cán bộ", id))?;
        self.read_person(actor, p, now)
    }

    /// A subscriber: for those who read the registry there, and for the official it is.
    pub fn subscriber(&self, actor: &Principal, id: SubscriberId) -> ServiceResult<Subscriber> {
        self.db.read(|tx| {
            let s = tx.subscriber(id)?.ok_or_else(|| DomainError::not_found("thuê bao", id))?;
            if s.person_id.is_none() || s.person_id != actor.person_id {
                require(actor, Permission::ReadRegistry, &agency_by_id(tx, s.agency_id)?)?;
            }
            Ok(s)
        })
    }

    /// The individual subscriber of an official, if there is one.
    pub fn subscriber_of_person(&self, actor: &Principal, person: PersonId) -> ServiceResult<Option<Subscriber>> {
        self.db.read(|tx| {
            let p = tx.person(person)?.ok_or_else(|| DomainError::not_found("cán bộ", person))?;
            require(actor, Permission::ReadRegistry, &agency_by_id(tx, p.agency_id)?)?;
            Ok(tx.subscriber_of_person(person)?)
        })
    }

    /// The organisation subscriber of an agency (its seal), if there is one.
    pub fn subscriber_of_agency(&self, actor: &Principal, agency_code: &str) -> ServiceResult<Option<Subscriber>> {
        self.db.read(|tx| {
            let a = agency_by_code(tx, agency_code)?;
            require(actor, Permission::ReadRegistry, &a)?;
            Ok(tx.subscriber_of_org(a.id)?)
        })
    }

    pub fn certificate_by_id(&self, actor: &Principal, id: CertificateId) -> ServiceResult<CertificateRecord> {
        self.db.read(|tx| {
            let c = tx.certificate(id)?.ok_or_else(|| DomainError::not_found("chứng thư số", id))?;
            let sub = tx.subscriber(c.subscriber_id)?.ok_or_else(|| DomainError::not_found("thuê bao", c.subscriber_id))?;
            require(actor, Permission::ReadRegistry, &agency_by_id(tx, sub.agency_id)?)?;
            Ok(c)
        })
    }

    /// How many of each record the deployment holds, for the whole province: for those who
    /// read the registry at its root.
    pub fn registry_counts(&self, actor: &Principal) -> ServiceResult<Vec<(&'static str, i64)>> {
        self.db.read(|tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, Permission::ReadRegistry, &root)?;
            let mut v = Vec::new();
            for (label, t) in [
                ("cơ quan", Table::Agencies),
                ("cán bộ", Table::Persons),
                ("tài khoản", Table::Users),
                ("thuê bao", Table::Subscribers),
                ("thiết bị lưu khóa", Table::Devices),
                ("chứng thư số", Table::Certificates),
                ("yêu cầu chứng thực", Table::Requests),
                ("sự kiện nhật ký", Table::AuditEvents),
            ] {
                v.push((label, tx.count(t)?));
            }
            Ok(v)
        })
    }
}

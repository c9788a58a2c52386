//! Typed repository methods on a transaction. All of kyso's SQL lives here and in the
//! migrations.

use crate::db::{Row, StoreError, StoreResult, Tx, Value};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use kyso_core::audit::{AuditRecord, NewEvent};
use kyso_core::authz::{Grant, Role};
use kyso_core::document::{
    Document, DocumentKind, DocumentStatus, IncomingEntry, IncomingStatus, Notification, PersonalStep, RegisterEntry, SignatureEntry,
    SignatureRole,
};
use kyso_core::registry::*;
use kyso_core::report::{EventCount, StockCount};
use kyso_core::request::{Request, RequestDetails, RequestKind, RequestState};
use kyso_core::rules::RevocationReason;
use kyso_core::value::*;

pub fn secs(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}
pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}
pub(crate) fn from_secs(s: i64) -> StoreResult<DateTime<Utc>> {
    Utc.timestamp_opt(s, 0).single().ok_or_else(|| StoreError::Corrupt(format!("bad timestamp {s}")))
}
fn date(s: &str) -> StoreResult<NaiveDate> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("bad date '{s}'")))
}
fn coded<T>(s: &str, parse: fn(&str) -> Option<T>, what: &str) -> StoreResult<T> {
    parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown {what} '{s}'")))
}
fn d(v: NaiveDate) -> Value {
    Value::Text(v.to_string())
}
/// `prefix%` for subtree filters; paths contain only digits and '/'.
fn under(prefix: &str) -> Value {
    Value::Text(format!("{prefix}%"))
}

/// A stored two-phase signing session; the payload is the service's own JSON.
#[derive(Debug, Clone)]
pub struct SigningSessionRow {
    pub id: String,
    pub document_id: i64,
    pub version: i64,
    pub payload: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const DOC_COLS: &str = "d.id, d.agency_id, d.kind, d.status, d.title, d.file_name, d.competent_person, d.parent_id, d.number, d.issued_on, d.sha256, d.size, d.version, d.created_by, d.created_at, d.symbol";
fn doc_row(r: &Row) -> StoreResult<Document> {
    Ok(Document {
        id: r.int(0)?,
        agency_id: AgencyId(r.int(1)?),
        kind: coded(&r.text(2)?, DocumentKind::parse, "document kind")?,
        status: coded(&r.text(3)?, DocumentStatus::parse, "document status")?,
        title: r.text(4)?,
        file_name: r.text(5)?,
        competent_person: r.opt_int(6)?.map(PersonId),
        parent_id: r.opt_int(7)?,
        number: r.opt_text(8)?,
        issued_on: r.opt_text(9)?.map(|s| date(&s)).transpose()?,
        sha256: r.text(10)?,
        size: r.int(11)? as u64,
        version: r.int(12)?,
        created_by: r.text(13)?,
        created_at: from_secs(r.int(14)?)?,
        symbol: r.opt_text(15)?,
    })
}

const AGENCY_COLS: &str = "id, code, name, parent_id, path, legal_entity, tax_code, budget_code, email, address, valid_from, valid_to";
fn agency_row(r: &Row) -> StoreResult<Agency> {
    Ok(Agency {
        id: AgencyId(r.int(0)?),
        code: AgencyCode::from_stored(r.text(1)?),
        name: r.text(2)?,
        parent: r.opt_int(3)?.map(AgencyId),
        path: r.text(4)?,
        legal_entity: r.bool(5)?,
        tax_code: r.opt_text(6)?.map(TaxCode::from_stored),
        budget_code: r.opt_text(7)?.map(BudgetCode::from_stored),
        email: r.opt_text(8)?.map(Email::from_stored),
        address: r.text(9)?,
        valid_from: date(&r.text(10)?)?,
        valid_to: r.opt_text(11)?.map(|s| date(&s)).transpose()?,
    })
}

const PERSON_COLS: &str =
    "p.id, p.full_name, p.citizen_id, p.date_of_birth, p.gender, p.position, p.position_kind, p.title, p.agency_id, p.email, p.phone";
fn person_row(r: &Row) -> StoreResult<Person> {
    Ok(Person {
        id: PersonId(r.int(0)?),
        full_name: PersonName::from_stored(r.text(1)?),
        citizen_id: CitizenId::from_stored(r.text(2)?),
        date_of_birth: date(&r.text(3)?)?,
        gender: Gender::parse(&r.text(4)?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        position: r.text(5)?,
        position_kind: coded(&r.text(6)?, PositionKind::parse, "position kind")?,
        title: r.text(7)?,
        agency_id: AgencyId(r.int(8)?),
        email: Email::from_stored(r.text(9)?),
        phone: r.opt_text(10)?.map(Phone::from_stored),
    })
}

const SUB_COLS: &str = "s.id, s.kind, s.person_id, s.agency_id, s.managing_agency_id, s.display_name, s.email";
fn subscriber_row(r: &Row) -> StoreResult<Subscriber> {
    Ok(Subscriber {
        id: SubscriberId(r.int(0)?),
        kind: coded(&r.text(1)?, SubscriberKind::parse, "subscriber kind")?,
        person_id: r.opt_int(2)?.map(PersonId),
        agency_id: AgencyId(r.int(3)?),
        managing_agency_id: AgencyId(r.int(4)?),
        display_name: r.text(5)?,
        email: r.opt_text(6)?.map(Email::from_stored),
    })
}

const DEVICE_COLS: &str = "v.id, v.serial, v.kind, v.model, v.status, v.agency_id, v.custodian_id, v.return_due";
fn device_row(r: &Row) -> StoreResult<KeyDevice> {
    Ok(KeyDevice {
        id: DeviceId(r.int(0)?),
        serial: Serial::from_stored(r.text(1)?),
        kind: coded(&r.text(2)?, DeviceKind::parse, "device kind")?,
        model: r.text(3)?,
        status: coded(&r.text(4)?, DeviceStatus::parse, "device status")?,
        agency_id: AgencyId(r.int(5)?),
        custodian: r.opt_int(6)?.map(PersonId),
        return_due: r.opt_text(7)?.map(|s| date(&s)).transpose()?,
    })
}

const CERT_COLS: &str =
    "c.id, c.serial, c.subscriber_id, c.subject, c.issuer, c.not_before, c.not_after, c.revoked_at, c.revocation_reason, c.device_id, c.predecessor_id, c.renewal_count";
fn cert_row(r: &Row) -> StoreResult<CertificateRecord> {
    Ok(CertificateRecord {
        id: CertificateId(r.int(0)?),
        serial: Serial::from_stored(r.text(1)?),
        subscriber_id: SubscriberId(r.int(2)?),
        subject: r.text(3)?,
        issuer: r.text(4)?,
        not_before: from_secs(r.int(5)?)?,
        not_after: from_secs(r.int(6)?)?,
        revoked_at: r.opt_int(7)?.map(from_secs).transpose()?,
        revocation_reason: r.opt_text(8)?.map(|s| coded(&s, RevocationReason::parse, "revocation reason")).transpose()?,
        device_id: r.opt_int(9)?.map(DeviceId),
        predecessor: r.opt_int(10)?.map(CertificateId),
        renewal_count: u32::try_from(r.int(11)?).map_err(|_| StoreError::Corrupt("renewal_count".into()))?,
    })
}

const REQ_COLS: &str =
    "q.id, q.kind, q.state, q.subscriber_id, q.certificate_id, q.device_id, q.managing_agency_id, q.details, q.created_by, q.created_at, q.updated_at, q.batch_id, q.rejection_reason";
fn request_row(r: &Row) -> StoreResult<Request> {
    Ok(Request {
        id: RequestId(r.int(0)?),
        kind: coded(&r.text(1)?, RequestKind::parse, "request kind")?,
        state: coded(&r.text(2)?, RequestState::parse, "request state")?,
        subscriber_id: SubscriberId(r.int(3)?),
        certificate_id: r.opt_int(4)?.map(CertificateId),
        device_id: r.opt_int(5)?.map(DeviceId),
        managing_agency_id: AgencyId(r.int(6)?),
        details: serde_json::from_str::<RequestDetails>(&r.text(7)?).map_err(|e| StoreError::Corrupt(format!("request details: {e}")))?,
        created_by: UserId(r.int(8)?),
        created_at: from_secs(r.int(9)?)?,
        updated_at: from_secs(r.int(10)?)?,
        batch_id: r.opt_int(11)?.map(BatchId),
        rejection_reason: r.opt_text(12)?,
    })
}

const AUDIT_COLS: &str = "seq, at, actor, action, object, agency_id, outcome, subject, class, details, prev_hash, hash";
/// Reads an audit row leniently: a damaged value becomes a placeholder that fails the hash
/// check, so verification names the row instead of failing to load it.
fn audit_row(r: &Row) -> StoreResult<AuditRecord> {
    let text = |i: usize| r.text(i).or_else(|_| r.int(i).map(|v| v.to_string())).unwrap_or_else(|_| "\u{fffd}".into());
    let opt_text = |i: usize| match r.opt_text(i) {
        Ok(v) => v,
        Err(_) => Some(text(i)),
    };
    Ok(AuditRecord {
        seq: r.int(0)?,
        at_micros: r.int(1).unwrap_or(i64::MIN),
        actor: text(2),
        action: text(3),
        object: text(4),
        agency_id: r.opt_int(5).unwrap_or(Some(i64::MIN)).map(AgencyId),
        outcome: text(6),
        subject: opt_text(7),
        class: opt_text(8),
        details: text(9),
        prev_hash: text(10),
        hash: text(11),
    })
}

const CERT_INSERT_COLS: &str = "serial, subscriber_id, agency_id, class, subject, issuer, not_before, not_after, revoked_at, revocation_reason, device_id, predecessor_id, renewal_count";

fn cert_params(c: &CertificateRecord, agency: AgencyId, class: ReportClass) -> [Value; 13] {
    [
        c.serial.as_str().into(),
        c.subscriber_id.0.into(),
        agency.0.into(),
        class.code().into(),
        c.subject.as_str().into(),
        c.issuer.as_str().into(),
        secs(c.not_before).into(),
        secs(c.not_after).into(),
        c.revoked_at.map(secs).into(),
        c.revocation_reason.map(|r| r.code()).into(),
        c.device_id.map(|x| x.0).into(),
        c.predecessor.map(|x| x.0).into(),
        i64::from(c.renewal_count).into(),
    ]
}

fn audit_params(rec: &AuditRecord) -> [Value; 12] {
    [
        rec.seq.into(),
        rec.at_micros.into(),
        rec.actor.as_str().into(),
        rec.action.as_str().into(),
        rec.object.as_str().into(),
        rec.agency_id.map(|a| a.0).into(),
        rec.outcome.as_str().into(),
        rec.subject.clone().into(),
        rec.class.clone().into(),
        rec.details.as_str().into(),
        rec.prev_hash.as_str().into(),
        rec.hash.as_str().into(),
    ]
}

/// `($1, $2, …), (…)` for a multi-row insert of `rows` rows of `cols` columns.
fn placeholders(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", (1..=cols).map(|c| format!("${}", r * cols + c)).collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A certificate of a bulk import that matched no official.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReviewRow {
    pub id: i64,
    pub serial: String,
    pub subject: String,
    /// The file or the line of the list it came from.
    pub source: String,
    /// Why it matched nobody.
    pub reason: String,
}

/// Something that happened to an official, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PersonEventRow {
    pub id: i64,
    pub person_id: PersonId,
    /// retired, resigned, deceased, position_changed, moved.
    pub event: String,
    pub effective: NaiveDate,
    /// The decision or document it rests on.
    pub basis: String,
    /// JSON: what changed (new position, new agency).
    pub details: String,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: String,
}

/// Certificate work an event calls for, waiting for the CQQLTT.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProposalRow {
    pub id: i64,
    pub event_id: i64,
    pub subscriber_id: SubscriberId,
    pub certificate_id: CertificateId,
    /// A request kind code.
    pub kind: String,
    /// JSON of the request details.
    pub details: String,
    /// open, accepted, dismissed.
    pub state: String,
    pub reason: Option<String>,
    pub request_id: Option<RequestId>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
}

const PROPOSAL_COLS: &str = "id, event_id, subscriber_id, certificate_id, kind, details, state, reason, request_id, decided_at, decided_by";

fn proposal_row(r: &Row) -> StoreResult<ProposalRow> {
    Ok(ProposalRow {
        id: r.int(0)?,
        event_id: r.int(1)?,
        subscriber_id: SubscriberId(r.int(2)?),
        certificate_id: CertificateId(r.int(3)?),
        kind: r.text(4)?,
        details: r.text(5)?,
        state: r.text(6)?,
        reason: r.opt_text(7)?,
        request_id: r.opt_int(8)?.map(RequestId),
        decided_at: r.opt_int(9)?.and_then(|t| DateTime::from_timestamp(t, 0)),
        decided_by: r.opt_text(10)?,
    })
}

/// A handover of a key device from one person to another.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HandoverRecord {
    pub id: i64,
    pub device_id: DeviceId,
    pub from_person: Option<PersonId>,
    pub to_person: PersonId,
    pub at: DateTime<Utc>,
    pub form: String,
    pub decision_ref: Option<String>,
    pub reason: String,
    pub recorded_by: String,
}

/// A revoked certificate of this CA, for CRLs.
#[derive(Debug, Clone)]
pub struct RevokedRow {
    pub serial: String,
    pub revoked_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// A published CRL.
#[derive(Debug, Clone)]
pub struct StoredCrl {
    pub number: i64,
    pub delta_of: Option<i64>,
    pub this_update: DateTime<Utc>,
    pub der_b64: String,
}

/// (login, role, agency code) of one grant, or of a user without grants.
pub type UserGrant = (String, Option<String>, Option<String>);

/// Filters for listing certificates.
#[derive(Debug, Clone, Default)]
pub struct CertificateFilter {
    /// Only certificates whose `not_after` falls in [from, to).
    pub expiring_between: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Leave out revoked certificates.
    pub exclude_revoked: bool,
    pub subscriber: Option<SubscriberId>,
    pub limit: Option<i64>,
}

impl Tx<'_> {
    // ---- settings ----
    pub fn setting(&mut self, key: &str) -> StoreResult<Option<String>> {
        self.query_opt("SELECT value FROM settings WHERE key = $1", &[key.into()])?.map(|r| r.text(0)).transpose()
    }
    pub fn set_setting(&mut self, key: &str, value: &str) -> StoreResult<()> {
        self.exec(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[key.into(), value.into()],
        )?;
        Ok(())
    }

    // ---- agencies ----
    pub fn insert_agency(&mut self, a: &NewAgency, parent: Option<&Agency>) -> StoreResult<Agency> {
        let id = self
            .query_one(
                "INSERT INTO agencies (code, name, parent_id, path, legal_entity, tax_code, budget_code, email, address, valid_from)
                 VALUES ($1, $2, $3, '', $4, $5, $6, $7, $8, $9) RETURNING id",
                &[
                    a.code.as_str().into(),
                    a.name.as_str().into(),
                    parent.map(|p| p.id.0).into(),
                    a.legal_entity.into(),
                    a.tax_code.as_ref().map(|t| t.as_str()).into(),
                    a.budget_code.as_ref().map(|t| t.as_str()).into(),
                    a.email.as_ref().map(|t| t.as_str()).into(),
                    a.address.as_str().into(),
                    d(a.valid_from),
                ],
            )?
            .int(0)?;
        let path = format!("{}{id}/", parent.map(|p| p.path.as_str()).unwrap_or("/"));
        self.exec("UPDATE agencies SET path = $1 WHERE id = $2", &[path.into(), id.into()])?;
        self.agency(AgencyId(id))?.ok_or_else(|| StoreError::Corrupt("inserted agency vanished".into()))
    }
    /// Writes an agency's own details (name, tax code, e-mail, address); its place in the tree
    /// is not changed here.
    pub fn update_agency_details(&mut self, a: &Agency) -> StoreResult<()> {
        self.exec(
            "UPDATE agencies SET name = $1, tax_code = $2, email = $3, address = $4 WHERE id = $5",
            &[
                a.name.as_str().into(),
                a.tax_code.as_ref().map(|t| t.as_str()).into(),
                a.email.as_ref().map(|t| t.as_str()).into(),
                a.address.as_str().into(),
                a.id.0.into(),
            ],
        )?;
        Ok(())
    }
    pub fn agency(&mut self, id: AgencyId) -> StoreResult<Option<Agency>> {
        self.query_opt(&format!("SELECT {AGENCY_COLS} FROM agencies WHERE id = $1"), &[id.0.into()])?.map(|r| agency_row(&r)).transpose()
    }
    pub fn agency_by_code(&mut self, code: &str) -> StoreResult<Option<Agency>> {
        self.query_opt(&format!("SELECT {AGENCY_COLS} FROM agencies WHERE code = $1"), &[code.into()])?.map(|r| agency_row(&r)).transpose()
    }
    /// Agencies under `prefix` (a path), in tree order.
    pub fn agencies_under(&mut self, prefix: &str) -> StoreResult<Vec<Agency>> {
        self.query(&format!("SELECT {AGENCY_COLS} FROM agencies WHERE path LIKE $1 ORDER BY path"), &[under(prefix)])?
            .iter()
            .map(agency_row)
            .collect()
    }
    pub fn root_agency(&mut self) -> StoreResult<Option<Agency>> {
        self.query_opt(&format!("SELECT {AGENCY_COLS} FROM agencies WHERE parent_id IS NULL ORDER BY id LIMIT 1"), &[])?
            .map(|r| agency_row(&r))
            .transpose()
    }
    pub fn close_agency(&mut self, id: AgencyId, valid_to: NaiveDate) -> StoreResult<()> {
        self.exec("UPDATE agencies SET valid_to = $1 WHERE id = $2", &[d(valid_to), id.0.into()])?;
        Ok(())
    }
    pub fn count(&mut self, table: Table) -> StoreResult<i64> {
        self.query_one(&format!("SELECT COUNT(*) FROM {}", table.name()), &[])?.int(0)
    }

    // ---- persons ----
    pub fn insert_person(&mut self, p: &NewPerson, agency: AgencyId) -> StoreResult<Person> {
        let id = self
            .query_one(
                "INSERT INTO persons (full_name, citizen_id, date_of_birth, gender, position, position_kind, title, agency_id, email, phone)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                &[
                    p.full_name.as_str().into(),
                    p.citizen_id.as_str().into(),
                    d(p.date_of_birth),
                    p.gender.as_str().into(),
                    p.position.as_str().into(),
                    p.position_kind.code().into(),
                    p.title.as_str().into(),
                    agency.0.into(),
                    p.email.as_str().into(),
                    p.phone.as_ref().map(|x| x.as_str()).into(),
                ],
            )?
            .int(0)?;
        self.person(PersonId(id))?.ok_or_else(|| StoreError::Corrupt("inserted person vanished".into()))
    }
    /// Writes a person's changeable fields (not the citizen ID, birth date or gender).
    pub fn update_person(&mut self, p: &Person) -> StoreResult<()> {
        self.exec(
            "UPDATE persons SET full_name = $1, position = $2, position_kind = $3, title = $4, agency_id = $5, email = $6, phone = $7 WHERE id = $8",
            &[
                p.full_name.as_str().into(),
                p.position.as_str().into(),
                p.position_kind.code().into(),
                p.title.as_str().into(),
                p.agency_id.0.into(),
                p.email.as_str().into(),
                p.phone.as_ref().map(|x| x.as_str()).into(),
                p.id.0.into(),
            ],
        )?;
        Ok(())
    }
    pub fn person(&mut self, id: PersonId) -> StoreResult<Option<Person>> {
        self.query_opt(&format!("SELECT {PERSON_COLS} FROM persons p WHERE p.id = $1"), &[id.0.into()])?.map(|r| person_row(&r)).transpose()
    }
    pub fn person_by_citizen_id(&mut self, cid: &str) -> StoreResult<Option<Person>> {
        self.query_opt(&format!("SELECT {PERSON_COLS} FROM persons p WHERE p.citizen_id = $1"), &[cid.into()])?
            .map(|r| person_row(&r))
            .transpose()
    }
    pub fn persons_under(&mut self, prefix: &str, limit: i64) -> StoreResult<Vec<Person>> {
        self.query(
            &format!("SELECT {PERSON_COLS} FROM persons p JOIN agencies a ON a.id = p.agency_id WHERE a.path LIKE $1 ORDER BY a.path, p.id LIMIT $2"),
            &[under(prefix), limit.into()],
        )?
        .iter()
        .map(person_row)
        .collect()
    }

    pub fn persons_by_email(&mut self, email: &str) -> StoreResult<Vec<Person>> {
        self.query(&format!("SELECT {PERSON_COLS} FROM persons p WHERE p.email = $1 ORDER BY p.id LIMIT 5"), &[email.into()])?
            .iter()
            .map(person_row)
            .collect()
    }
    /// Officials with exactly this name (NFC); the caller compares agencies.
    pub fn persons_named(&mut self, name: &str) -> StoreResult<Vec<Person>> {
        self.query(&format!("SELECT {PERSON_COLS} FROM persons p WHERE p.full_name = $1 ORDER BY p.id LIMIT 50"), &[name.into()])?
            .iter()
            .map(person_row)
            .collect()
    }
    pub fn agencies_named(&mut self, name: &str) -> StoreResult<Vec<Agency>> {
        self.query(&format!("SELECT {AGENCY_COLS} FROM agencies WHERE name = $1 ORDER BY id LIMIT 5"), &[name.into()])?
            .iter()
            .map(agency_row)
            .collect()
    }

    // ---- certificates of a bulk import waiting for review ----
    #[allow(clippy::too_many_arguments)]
    pub fn insert_review(
        &mut self,
        serial: &str,
        subject: &str,
        issuer: &str,
        validity: (DateTime<Utc>, DateTime<Utc>),
        email: Option<&str>,
        citizen_id: Option<&str>,
        source: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        self.query_one(
            "INSERT INTO certificate_review (serial, subject, issuer, not_before, not_after, email, citizen_id, source, reason, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &[
                serial.into(),
                subject.into(),
                issuer.into(),
                secs(validity.0).into(),
                secs(validity.1).into(),
                email.into(),
                citizen_id.into(),
                source.into(),
                reason.into(),
                secs(now).into(),
            ],
        )?
        .int(0)
    }
    pub fn in_review(&mut self, serial: &str) -> StoreResult<bool> {
        Ok(self.query_opt("SELECT id FROM certificate_review WHERE serial = $1", &[serial.into()])?.is_some())
    }
    /// The certificates waiting for review.
    pub fn reviews(&mut self) -> StoreResult<Vec<ReviewRow>> {
        self.query("SELECT id, serial, subject, source, reason FROM certificate_review ORDER BY id", &[])?
            .iter()
            .map(|r| Ok(ReviewRow { id: r.int(0)?, serial: r.text(1)?, subject: r.text(2)?, source: r.text(3)?, reason: r.text(4)? }))
            .collect()
    }

    // ---- what happens to officials ----
    pub fn insert_person_event(&mut self, e: &PersonEventRow) -> StoreResult<i64> {
        self.query_one(
            "INSERT INTO person_events (person_id, event, effective, basis, details, recorded_at, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                e.person_id.0.into(),
                e.event.as_str().into(),
                d(e.effective),
                e.basis.as_str().into(),
                e.details.as_str().into(),
                secs(e.recorded_at).into(),
                e.recorded_by.as_str().into(),
            ],
        )?
        .int(0)
    }
    pub fn insert_proposal(&mut self, p: &ProposalRow) -> StoreResult<i64> {
        self.query_one(
            "INSERT INTO proposals (event_id, subscriber_id, certificate_id, kind, details, state) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[p.event_id.into(), p.subscriber_id.0.into(), p.certificate_id.0.into(), p.kind.as_str().into(), p.details.as_str().into(), p.state.as_str().into()],
        )?
        .int(0)
    }
    /// Whether a certificate already has an open proposal.
    pub fn open_proposal_for(&mut self, certificate: CertificateId) -> StoreResult<bool> {
        Ok(self.query_opt("SELECT id FROM proposals WHERE certificate_id = $1 AND state = 'open'", &[certificate.0.into()])?.is_some())
    }
    pub fn proposal(&mut self, id: i64) -> StoreResult<Option<ProposalRow>> {
        self.query_opt(&format!("SELECT {PROPOSAL_COLS} FROM proposals WHERE id = $1"), &[id.into()])?.map(|r| proposal_row(&r)).transpose()
    }
    /// Proposals in `state` (all when None) for subscribers whose agency, or whose managing
    /// agency, is under `prefix`.
    pub fn proposals_under(&mut self, prefix: &str, state: Option<&str>) -> StoreResult<Vec<ProposalRow>> {
        let cols = PROPOSAL_COLS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ");
        self.query(
            &format!(
                "SELECT {cols} FROM proposals p JOIN subscribers s ON s.id = p.subscriber_id JOIN agencies a ON a.id = s.agency_id
                 JOIN agencies m ON m.id = s.managing_agency_id
                 WHERE (a.path LIKE $1 OR m.path LIKE $1) AND ($2 = '' OR p.state = $2) ORDER BY p.id"
            ),
            &[under(prefix), state.unwrap_or("").into()],
        )?
        .iter()
        .map(proposal_row)
        .collect()
    }
    /// Records the decision on an open proposal; the number of rows changed (0: it was decided
    /// meanwhile).
    pub fn decide_proposal(&mut self, p: &ProposalRow) -> StoreResult<u64> {
        self.exec(
            "UPDATE proposals SET state = $1, reason = $2, request_id = $3, decided_at = $4, decided_by = $5 WHERE id = $6 AND state = 'open'",
            &[
                p.state.as_str().into(),
                p.reason.as_deref().into(),
                p.request_id.map(|r| r.0).into(),
                p.decided_at.map(secs).into(),
                p.decided_by.as_deref().into(),
                p.id.into(),
            ],
        )
    }

    // ---- users and grants ----
    pub fn disable_user(&mut self, id: UserId, now: DateTime<Utc>) -> StoreResult<()> {
        self.exec("UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL", &[secs(now).into(), id.0.into()])?;
        Ok(())
    }
    /// Whether the account is disabled.
    pub fn user_disabled(&mut self, id: UserId) -> StoreResult<bool> {
        Ok(self.query_one("SELECT disabled_at FROM users WHERE id = $1", &[id.0.into()])?.opt_int(0)?.is_some())
    }
    /// The accounts of a person.
    pub fn users_of_person(&mut self, person: PersonId) -> StoreResult<Vec<(UserId, String)>> {
        self.query("SELECT id, login FROM users WHERE person_id = $1 ORDER BY id", &[person.0.into()])?
            .iter()
            .map(|r| Ok((UserId(r.int(0)?), r.text(1)?)))
            .collect()
    }
    pub fn delete_grant(&mut self, user: UserId, role: Role, agency: AgencyId) -> StoreResult<u64> {
        self.exec(
            "DELETE FROM grants WHERE user_id = $1 AND role = $2 AND agency_id = $3",
            &[user.0.into(), role.code().into(), agency.0.into()],
        )
    }
    pub fn insert_user(&mut self, login: &str, person: Option<PersonId>, now: DateTime<Utc>) -> StoreResult<UserId> {
        let id = self
            .query_one(
                "INSERT INTO users (login, person_id, created_at) VALUES ($1, $2, $3) RETURNING id",
                &[login.into(), person.map(|p| p.0).into(), secs(now).into()],
            )?
            .int(0)?;
        Ok(UserId(id))
    }
    pub fn user_by_login(&mut self, login: &str) -> StoreResult<Option<(UserId, Option<PersonId>)>> {
        self.query_opt("SELECT id, person_id FROM users WHERE login = $1", &[login.into()])?
            .map(|r| Ok((UserId(r.int(0)?), r.opt_int(1)?.map(PersonId))))
            .transpose()
    }
    pub fn login_of(&mut self, id: UserId) -> StoreResult<Option<String>> {
        self.query_opt("SELECT login FROM users WHERE id = $1", &[id.0.into()])?.map(|r| r.text(0)).transpose()
    }
    pub fn insert_grant(&mut self, user: UserId, role: Role, agency: AgencyId) -> StoreResult<()> {
        self.exec(
            "INSERT INTO grants (user_id, role, agency_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[user.0.into(), role.code().into(), agency.0.into()],
        )?;
        Ok(())
    }
    pub fn grants(&mut self, user: UserId) -> StoreResult<Vec<Grant>> {
        self.query("SELECT g.role, g.agency_id, a.path FROM grants g JOIN agencies a ON a.id = g.agency_id WHERE g.user_id = $1 ORDER BY a.path, g.role", &[user.0.into()])?
            .iter()
            .map(|r| Ok(Grant { role: coded(&r.text(0)?, Role::parse, "role")?, agency_id: AgencyId(r.int(1)?), agency_path: r.text(2)? }))
            .collect()
    }
    /// Every user with its grants as (login, role, agency code), ordered by login.
    pub fn users_with_grants(&mut self) -> StoreResult<Vec<UserGrant>> {
        self.query(
            "SELECT u.login, g.role, a.code FROM users u LEFT JOIN grants g ON g.user_id = u.id LEFT JOIN agencies a ON a.id = g.agency_id ORDER BY u.login, g.role",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.text(0)?, r.opt_text(1)?, r.opt_text(2)?)))
        .collect()
    }

    // ---- subscribers ----
    pub fn insert_subscriber(&mut self, s: &Subscriber) -> StoreResult<Subscriber> {
        let id = self
            .query_one(
                "INSERT INTO subscribers (kind, person_id, agency_id, managing_agency_id, display_name, email) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    s.kind.code().into(),
                    s.person_id.map(|p| p.0).into(),
                    s.agency_id.0.into(),
                    s.managing_agency_id.0.into(),
                    s.display_name.as_str().into(),
                    s.email.as_ref().map(|e| e.as_str()).into(),
                ],
            )?
            .int(0)?;
        Ok(Subscriber { id: SubscriberId(id), ..s.clone() })
    }
    pub fn update_subscriber(&mut self, s: &Subscriber) -> StoreResult<()> {
        self.exec(
            "UPDATE subscribers SET agency_id = $1, managing_agency_id = $2, display_name = $3, email = $4 WHERE id = $5",
            &[
                s.agency_id.0.into(),
                s.managing_agency_id.0.into(),
                s.display_name.as_str().into(),
                s.email.as_ref().map(|e| e.as_str()).into(),
                s.id.0.into(),
            ],
        )?;
        Ok(())
    }
    pub fn subscriber(&mut self, id: SubscriberId) -> StoreResult<Option<Subscriber>> {
        self.query_opt(&format!("SELECT {SUB_COLS} FROM subscribers s WHERE s.id = $1"), &[id.0.into()])?
            .map(|r| subscriber_row(&r))
            .transpose()
    }
    pub fn subscriber_of_person(&mut self, p: PersonId) -> StoreResult<Option<Subscriber>> {
        self.query_opt(&format!("SELECT {SUB_COLS} FROM subscribers s WHERE s.person_id = $1 AND s.kind = 'individual'"), &[p.0.into()])?
            .map(|r| subscriber_row(&r))
            .transpose()
    }
    pub fn subscriber_of_org(&mut self, a: AgencyId) -> StoreResult<Option<Subscriber>> {
        self.query_opt(
            &format!("SELECT {SUB_COLS} FROM subscribers s WHERE s.agency_id = $1 AND s.kind = 'organisation' ORDER BY s.id LIMIT 1"),
            &[a.0.into()],
        )?
        .map(|r| subscriber_row(&r))
        .transpose()
    }
    pub fn subscribers_under(&mut self, prefix: &str, limit: i64) -> StoreResult<Vec<Subscriber>> {
        self.query(
            &format!("SELECT {SUB_COLS} FROM subscribers s JOIN agencies a ON a.id = s.agency_id WHERE a.path LIKE $1 ORDER BY a.path, s.id LIMIT $2"),
            &[under(prefix), limit.into()],
        )?
        .iter()
        .map(subscriber_row)
        .collect()
    }

    // ---- devices ----
    pub fn insert_device(&mut self, v: &KeyDevice) -> StoreResult<KeyDevice> {
        let id = self
            .query_one(
                "INSERT INTO devices (serial, kind, model, status, agency_id, custodian_id, return_due) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    v.serial.as_str().into(),
                    v.kind.code().into(),
                    v.model.as_str().into(),
                    v.status.code().into(),
                    v.agency_id.0.into(),
                    v.custodian.map(|p| p.0).into(),
                    v.return_due.map(d).unwrap_or(Value::Null),
                ],
            )?
            .int(0)?;
        Ok(KeyDevice { id: DeviceId(id), ..v.clone() })
    }
    pub fn device(&mut self, id: DeviceId) -> StoreResult<Option<KeyDevice>> {
        self.query_opt(&format!("SELECT {DEVICE_COLS} FROM devices v WHERE v.id = $1"), &[id.0.into()])?.map(|r| device_row(&r)).transpose()
    }
    pub fn device_by_serial(&mut self, serial: &str) -> StoreResult<Option<KeyDevice>> {
        self.query_opt(&format!("SELECT {DEVICE_COLS} FROM devices v WHERE v.serial = $1"), &[serial.into()])?
            .map(|r| device_row(&r))
            .transpose()
    }
    pub fn update_device(&mut self, v: &KeyDevice) -> StoreResult<()> {
        self.exec(
            "UPDATE devices SET status = $1, custodian_id = $2, return_due = $3, agency_id = $4 WHERE id = $5",
            &[
                v.status.code().into(),
                v.custodian.map(|p| p.0).into(),
                v.return_due.map(d).unwrap_or(Value::Null),
                v.agency_id.0.into(),
                v.id.0.into(),
            ],
        )?;
        Ok(())
    }
    pub fn devices_under(&mut self, prefix: &str, limit: i64) -> StoreResult<Vec<KeyDevice>> {
        self.query(
            &format!("SELECT {DEVICE_COLS} FROM devices v JOIN agencies a ON a.id = v.agency_id WHERE a.path LIKE $1 ORDER BY a.path, v.id LIMIT $2"),
            &[under(prefix), limit.into()],
        )?
        .iter()
        .map(device_row)
        .collect()
    }

    // ---- certificates ----
    /// Inserts a certificate record; `agency` and `class` are the subscriber's, for reports.
    pub fn insert_certificate(&mut self, c: &CertificateRecord, agency: AgencyId, class: ReportClass) -> StoreResult<CertificateRecord> {
        let id = self
            .query_one(
                &format!("INSERT INTO certificates ({CERT_INSERT_COLS}) VALUES {} RETURNING id", placeholders(1, 13)),
                &cert_params(c, agency, class),
            )?
            .int(0)?;
        Ok(CertificateRecord { id: CertificateId(id), ..c.clone() })
    }
    pub fn certificate(&mut self, id: CertificateId) -> StoreResult<Option<CertificateRecord>> {
        self.query_opt(&format!("SELECT {CERT_COLS} FROM certificates c WHERE c.id = $1"), &[id.0.into()])?
            .map(|r| cert_row(&r))
            .transpose()
    }
    pub fn certificate_by_serial(&mut self, serial: &str) -> StoreResult<Option<CertificateRecord>> {
        self.query_opt(&format!("SELECT {CERT_COLS} FROM certificates c WHERE c.serial = $1"), &[serial.into()])?
            .map(|r| cert_row(&r))
            .transpose()
    }
    pub fn revoke_certificate(&mut self, id: CertificateId, at: DateTime<Utc>, reason: RevocationReason) -> StoreResult<()> {
        self.exec(
            "UPDATE certificates SET revoked_at = $1, revocation_reason = $2 WHERE id = $3 AND revoked_at IS NULL",
            &[secs(at).into(), reason.code().into(), id.0.into()],
        )?;
        Ok(())
    }
    pub fn certificates_under(&mut self, prefix: &str, f: &CertificateFilter) -> StoreResult<Vec<CertificateRecord>> {
        let mut sql = format!("SELECT {CERT_COLS} FROM certificates c JOIN agencies a ON a.id = c.agency_id WHERE a.path LIKE $1");
        let mut params = vec![under(prefix)];
        if let Some((from, to)) = f.expiring_between {
            params.push(secs(from).into());
            params.push(secs(to).into());
            sql.push_str(&format!(" AND c.not_after >= ${} AND c.not_after < ${}", params.len() - 1, params.len()));
        }
        if f.exclude_revoked {
            sql.push_str(" AND c.revoked_at IS NULL");
        }
        if let Some(s) = f.subscriber {
            params.push(s.0.into());
            sql.push_str(&format!(" AND c.subscriber_id = ${}", params.len()));
        }
        sql.push_str(if f.expiring_between.is_some() { " ORDER BY c.not_after, c.id" } else { " ORDER BY c.id" });
        params.push(f.limit.unwrap_or(i64::MAX).into());
        sql.push_str(&format!(" LIMIT ${}", params.len()));
        self.query(&sql, &params)?.iter().map(cert_row).collect()
    }

    // ---- the built-in CA ----
    pub fn set_ca_certificate(&mut self, role: &str, key_label: &str, der_b64: &str) -> StoreResult<()> {
        self.exec(
            "INSERT INTO ca_certificates (role, key_label, der) VALUES ($1, $2, $3) ON CONFLICT (role) DO UPDATE SET key_label = excluded.key_label, der = excluded.der",
            &[role.into(), key_label.into(), der_b64.into()],
        )?;
        Ok(())
    }
    /// (key label, base64 DER) of the CA's certificate for `role`.
    pub fn ca_certificate(&mut self, role: &str) -> StoreResult<Option<(String, String)>> {
        self.query_opt("SELECT key_label, der FROM ca_certificates WHERE role = $1", &[role.into()])?
            .map(|r| Ok((r.text(0)?, r.text(1)?)))
            .transpose()
    }
    pub fn set_certificate_der(&mut self, id: CertificateId, der_b64: &str) -> StoreResult<()> {
        self.exec("UPDATE certificates SET der = $1 WHERE id = $2", &[der_b64.into(), id.0.into()])?;
        Ok(())
    }
    pub fn certificate_der(&mut self, serial: &str) -> StoreResult<Option<String>> {
        Ok(self
            .query_opt("SELECT der FROM certificates WHERE serial = $1", &[serial.into()])?
            .map(|r| r.opt_text(0))
            .transpose()?
            .flatten())
    }
    /// The serials of every certificate issued by this CA (with stored DER).
    pub fn issued_serials(&mut self) -> StoreResult<Vec<String>> {
        self.query("SELECT serial FROM certificates WHERE der IS NOT NULL ORDER BY id", &[])?.iter().map(|r| r.text(0)).collect()
    }
    /// Revoked, unexpired certificates of this CA revoked at or after `since` (all when None).
    pub fn revoked_since(&mut self, since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> StoreResult<Vec<RevokedRow>> {
        self.query(
            "SELECT serial, revoked_at, revocation_reason FROM certificates WHERE der IS NOT NULL AND revoked_at IS NOT NULL AND revoked_at >= $1 AND not_after > $2 ORDER BY revoked_at, serial",
            &[since.map(secs).unwrap_or(i64::MIN).into(), secs(now).into()],
        )?
        .iter()
        .map(|r| Ok(RevokedRow { serial: r.text(0)?, revoked_at: from_secs(r.int(1)?)?, reason: r.opt_text(2)? }))
        .collect()
    }
    pub fn insert_crl(
        &mut self,
        number: i64,
        delta_of: Option<i64>,
        this_update: DateTime<Utc>,
        next_update: DateTime<Utc>,
        der_b64: &str,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO crls (number, delta_of, this_update, next_update, der) VALUES ($1, $2, $3, $4, $5)",
            &[number.into(), delta_of.into(), secs(this_update).into(), secs(next_update).into(), der_b64.into()],
        )?;
        Ok(())
    }
    pub fn next_crl_number(&mut self) -> StoreResult<i64> {
        self.query_one("SELECT COALESCE(MAX(number), 0) + 1 FROM crls", &[])?.int(0)
    }
    /// The newest CRL, full or delta.
    pub fn latest_crl(&mut self, delta: bool) -> StoreResult<Option<StoredCrl>> {
        let cond = if delta { "delta_of IS NOT NULL" } else { "delta_of IS NULL" };
        self.query_opt(&format!("SELECT number, delta_of, this_update, der FROM crls WHERE {cond} ORDER BY number DESC LIMIT 1"), &[])?
            .map(|r| Ok(StoredCrl { number: r.int(0)?, delta_of: r.opt_int(1)?, this_update: from_secs(r.int(2)?)?, der_b64: r.text(3)? }))
            .transpose()
    }
    pub fn put_ocsp_response(
        &mut self,
        serial: &str,
        produced_at: DateTime<Utc>,
        next_update: DateTime<Utc>,
        der_b64: &str,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO ocsp_responses (serial, produced_at, next_update, der) VALUES ($1, $2, $3, $4)
             ON CONFLICT (serial) DO UPDATE SET produced_at = excluded.produced_at, next_update = excluded.next_update, der = excluded.der",
            &[serial.into(), secs(produced_at).into(), secs(next_update).into(), der_b64.into()],
        )?;
        Ok(())
    }
    /// All pre-produced responses: (serial, next_update, base64 DER).
    pub fn ocsp_responses(&mut self) -> StoreResult<Vec<(String, DateTime<Utc>, String)>> {
        self.query("SELECT serial, next_update, der FROM ocsp_responses", &[])?
            .iter()
            .map(|r| Ok((r.text(0)?, from_secs(r.int(1)?)?, r.text(2)?)))
            .collect()
    }

    pub fn set_request_csr(&mut self, id: RequestId, der_b64: &str) -> StoreResult<()> {
        self.exec(
            "INSERT INTO request_csrs (request_id, der) VALUES ($1, $2) ON CONFLICT (request_id) DO UPDATE SET der = excluded.der",
            &[id.0.into(), der_b64.into()],
        )?;
        Ok(())
    }
    pub fn request_csr(&mut self, id: RequestId) -> StoreResult<Option<String>> {
        self.query_opt("SELECT der FROM request_csrs WHERE request_id = $1", &[id.0.into()])?.map(|r| r.text(0)).transpose()
    }
    pub fn requests_in_batch(&mut self, batch: BatchId) -> StoreResult<Vec<Request>> {
        self.query(&format!("SELECT {REQ_COLS} FROM requests q WHERE q.batch_id = $1 ORDER BY q.id"), &[batch.0.into()])?
            .iter()
            .map(request_row)
            .collect()
    }
    /// Requests sent to the CA that carry a CSR: (request, base64 CSR).
    pub fn pending_with_csr(&mut self) -> StoreResult<Vec<(Request, String)>> {
        let rows = self.query(&format!("SELECT {REQ_COLS}, c.der FROM requests q JOIN request_csrs c ON c.request_id = q.id WHERE q.state = 'sent_to_ca' ORDER BY q.id"), &[])?;
        rows.iter().map(|r| Ok((request_row(r)?, r.text(13)?))).collect()
    }

    // ---- device handover records ----
    pub fn insert_handover(&mut self, h: &HandoverRecord) -> StoreResult<i64> {
        self.query_one(
            "INSERT INTO handover_records (device_id, from_person, to_person, at, form, decision_ref, reason, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[
                h.device_id.0.into(),
                h.from_person.map(|p| p.0).into(),
                h.to_person.0.into(),
                secs(h.at).into(),
                h.form.as_str().into(),
                h.decision_ref.clone().into(),
                h.reason.as_str().into(),
                h.recorded_by.as_str().into(),
            ],
        )?
        .int(0)
    }
    pub fn handovers(&mut self, device: DeviceId) -> StoreResult<Vec<HandoverRecord>> {
        self.query("SELECT id, device_id, from_person, to_person, at, form, decision_ref, reason, recorded_by FROM handover_records WHERE device_id = $1 ORDER BY id", &[device.0.into()])?
            .iter()
            .map(|r| {
                Ok(HandoverRecord {
                    id: r.int(0)?,
                    device_id: DeviceId(r.int(1)?),
                    from_person: r.opt_int(2)?.map(PersonId),
                    to_person: PersonId(r.int(3)?),
                    at: from_secs(r.int(4)?)?,
                    form: r.text(5)?,
                    decision_ref: r.opt_text(6)?,
                    reason: r.text(7)?,
                    recorded_by: r.text(8)?,
                })
            })
            .collect()
    }
    // ---- documents, signatures, the outgoing register, signing sessions ----
    pub fn insert_document(&mut self, d: &Document) -> StoreResult<Document> {
        let id = self
            .query_one(
                "INSERT INTO documents (agency_id, kind, status, title, file_name, competent_person, parent_id, number, issued_on, sha256, size, version, created_by, created_at, symbol)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
                &[
                    d.agency_id.0.into(),
                    d.kind.code().into(),
                    d.status.code().into(),
                    d.title.as_str().into(),
                    d.file_name.as_str().into(),
                    d.competent_person.map(|p| p.0).into(),
                    d.parent_id.into(),
                    d.number.clone().into(),
                    d.issued_on.map(self::d).unwrap_or(Value::Null),
                    d.sha256.as_str().into(),
                    (d.size as i64).into(),
                    d.version.into(),
                    d.created_by.as_str().into(),
                    secs(d.created_at).into(),
                    d.symbol.clone().into(),
                ],
            )?
            .int(0)?;
        Ok(Document { id, ..d.clone() })
    }
    pub fn document(&mut self, id: i64) -> StoreResult<Option<Document>> {
        self.query_opt(&format!("SELECT {DOC_COLS} FROM documents d WHERE d.id = $1"), &[id.into()])?.as_ref().map(doc_row).transpose()
    }
    /// Saves a document that was loaded at `from_version`; fails with a conflict when someone
    /// else changed it meanwhile.
    pub fn update_document(&mut self, doc: &Document, from_version: i64) -> StoreResult<()> {
        let n = self.exec(
            "UPDATE documents SET status = $1, number = $2, issued_on = $3, sha256 = $4, size = $5, version = $6 WHERE id = $7 AND version = $8",
            &[
                doc.status.code().into(),
                doc.number.clone().into(),
                doc.issued_on.map(d).unwrap_or(Value::Null),
                doc.sha256.as_str().into(),
                (doc.size as i64).into(),
                doc.version.into(),
                doc.id.into(),
                from_version.into(),
            ],
        )?;
        if n != 1 {
            return Err(StoreError::Constraint(format!("document {} changed meanwhile", doc.id)));
        }
        Ok(())
    }
    pub fn documents_under(&mut self, prefix: &str, limit: i64) -> StoreResult<Vec<Document>> {
        self.query(
            &format!(
                "SELECT {DOC_COLS} FROM documents d JOIN agencies a ON a.id = d.agency_id WHERE a.path LIKE $1 ORDER BY d.id DESC LIMIT $2"
            ),
            &[under(prefix), limit.into()],
        )?
        .iter()
        .map(doc_row)
        .collect()
    }
    pub fn insert_signature(&mut self, document: i64, s: &SignatureEntry) -> StoreResult<()> {
        self.exec(
            "INSERT INTO document_signatures (document_id, seq, role, step, person_id, field, serial, signed_at, by_login, sha256_after)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                document.into(),
                s.seq.into(),
                s.role.code().into(),
                s.step.map(|x| x.code()).into(),
                s.person_id.map(|p| p.0).into(),
                s.field.as_str().into(),
                s.serial.clone().into(),
                secs(s.signed_at).into(),
                s.by_login.as_str().into(),
                s.sha256_after.as_str().into(),
            ],
        )?;
        Ok(())
    }
    pub fn signatures(&mut self, document: i64) -> StoreResult<Vec<SignatureEntry>> {
        self.query(
            "SELECT seq, role, step, person_id, field, serial, signed_at, by_login, sha256_after FROM document_signatures WHERE document_id = $1 ORDER BY seq",
            &[document.into()],
        )?
        .iter()
        .map(|r| {
            Ok(SignatureEntry {
                seq: r.int(0)?,
                role: coded(&r.text(1)?, SignatureRole::parse, "signature role")?,
                step: r.opt_text(2)?.map(|s| coded(&s, PersonalStep::parse, "personal step")).transpose()?,
                person_id: r.opt_int(3)?.map(PersonId),
                field: r.text(4)?,
                serial: r.opt_text(5)?,
                signed_at: from_secs(r.int(6)?)?,
                by_login: r.text(7)?,
                sha256_after: r.text(8)?,
            })
        })
        .collect()
    }
    /// The next free sequence number of an agency's register for a year.
    pub fn next_register_seq(&mut self, agency: AgencyId, year: i32, kind: &str) -> StoreResult<u32> {
        let n = self
            .query_one(
                "SELECT COALESCE(MAX(seq), 0) FROM outgoing_register WHERE agency_id = $1 AND year = $2 AND kind = $3",
                &[agency.0.into(), i64::from(year).into(), kind.into()],
            )?
            .int(0)?;
        Ok(n as u32 + 1)
    }
    /// Enters a line in the register; a number already taken is a constraint error.
    pub fn insert_register_entry(&mut self, e: &RegisterEntry) -> StoreResult<i64> {
        self.query_one(
            "INSERT INTO outgoing_register (agency_id, year, kind, seq, number, issued_on, title, document_id, signer_name, recipients, entered_by, entered_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            &[
                e.agency_id.0.into(),
                i64::from(e.year).into(),
                e.kind.as_str().into(),
                i64::from(e.seq).into(),
                e.number.as_str().into(),
                d(e.issued_on),
                e.title.as_str().into(),
                e.document_id.into(),
                e.signer_name.as_str().into(),
                e.recipients.as_str().into(),
                e.entered_by.as_str().into(),
                secs(e.entered_at).into(),
            ],
        )?
        .int(0)
    }
    /// Register lines of agencies under `prefix` for a year, oldest first.
    pub fn register_entries(&mut self, prefix: &str, year: i32, kind: &str) -> StoreResult<Vec<RegisterEntry>> {
        self.query(
            "SELECT r.id, r.agency_id, r.year, r.kind, r.seq, r.number, r.issued_on, r.title, r.document_id, r.signer_name, r.recipients, r.entered_by, r.entered_at
             FROM outgoing_register r JOIN agencies a ON a.id = r.agency_id WHERE a.path LIKE $1 AND r.year = $2 AND r.kind = $3 ORDER BY r.agency_id, r.seq",
            &[under(prefix), i64::from(year).into(), kind.into()],
        )?
        .iter()
        .map(|r| {
            Ok(RegisterEntry {
                id: r.int(0)?,
                agency_id: AgencyId(r.int(1)?),
                year: r.int(2)? as i32,
                kind: r.text(3)?,
                seq: r.int(4)? as u32,
                number: r.text(5)?,
                issued_on: date(&r.text(6)?)?,
                title: r.text(7)?,
                document_id: r.int(8)?,
                signer_name: r.text(9)?,
                recipients: r.text(10)?,
                entered_by: r.text(11)?,
                entered_at: from_secs(r.int(12)?)?,
            })
        })
        .collect()
    }
    pub fn insert_signing_session(&mut self, s: &SigningSessionRow) -> StoreResult<()> {
        self.exec(
            "INSERT INTO signing_sessions (id, document_id, version, payload, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                s.id.as_str().into(),
                s.document_id.into(),
                s.version.into(),
                s.payload.as_str().into(),
                s.created_by.as_str().into(),
                secs(s.created_at).into(),
                secs(s.expires_at).into(),
            ],
        )?;
        Ok(())
    }
    pub fn signing_session(&mut self, id: &str) -> StoreResult<Option<SigningSessionRow>> {
        self.query_opt(
            "SELECT id, document_id, version, payload, created_by, created_at, expires_at FROM signing_sessions WHERE id = $1",
            &[id.into()],
        )?
        .map(|r| {
            Ok(SigningSessionRow {
                id: r.text(0)?,
                document_id: r.int(1)?,
                version: r.int(2)?,
                payload: r.text(3)?,
                created_by: r.text(4)?,
                created_at: from_secs(r.int(5)?)?,
                expires_at: from_secs(r.int(6)?)?,
            })
        })
        .transpose()
    }
    /// Removes a session, and every session that has expired by `now`.
    pub fn delete_signing_session(&mut self, id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.exec("DELETE FROM signing_sessions WHERE id = $1 OR expires_at < $2", &[id.into(), secs(now).into()])?;
        Ok(())
    }

    // ---- the incoming register and notifications ----
    pub fn next_incoming_seq(&mut self, agency: AgencyId, year: i32) -> StoreResult<u32> {
        let n = self
            .query_one(
                "SELECT COALESCE(MAX(seq), 0) FROM incoming_register WHERE agency_id = $1 AND year = $2",
                &[agency.0.into(), i64::from(year).into()],
            )?
            .int(0)?;
        Ok(n as u32 + 1)
    }
    pub fn insert_incoming(&mut self, e: &IncomingEntry) -> StoreResult<i64> {
        self.query_one(
            "INSERT INTO incoming_register (agency_id, year, seq, status, received_at, sender, source, title, file_name, sha256, size, indication, report, entered_by, doc_number, doc_date, signers, warnings)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
            &[
                e.agency_id.0.into(),
                i64::from(e.year).into(),
                e.seq.map(i64::from).into(),
                e.status.code().into(),
                secs(e.received_at).into(),
                e.sender.as_str().into(),
                e.source.as_str().into(),
                e.title.as_str().into(),
                e.file_name.as_str().into(),
                e.sha256.as_str().into(),
                (e.size as i64).into(),
                e.indication.as_str().into(),
                e.report.as_str().into(),
                e.entered_by.as_str().into(),
                e.doc_number.as_deref().into(),
                e.doc_date.map(d).unwrap_or(Value::Null),
                e.signers.join("\n").into(),
                e.warnings.join("\n").into(),
            ],
        )?
        .int(0)
    }
    pub fn incoming_entries(&mut self, prefix: &str, year: i32) -> StoreResult<Vec<IncomingEntry>> {
        self.query(
            &format!(
                "SELECT {INCOMING_COLS} FROM incoming_register r JOIN agencies a ON a.id = r.agency_id
                 WHERE a.path LIKE $1 AND r.year = $2 ORDER BY r.agency_id, r.id"
            ),
            &[under(prefix), i64::from(year).into()],
        )?
        .iter()
        .map(incoming_row)
        .collect()
    }
    pub fn incoming_entry(&mut self, id: i64) -> StoreResult<Option<IncomingEntry>> {
        self.query_opt(&format!("SELECT {INCOMING_COLS} FROM incoming_register r WHERE r.id = $1"), &[id.into()])?
            .map(|r| incoming_row(&r))
            .transpose()
    }
    pub fn insert_notification(&mut self, n: &Notification) -> StoreResult<i64> {
        self.query_one(
            "INSERT INTO notifications (agency_id, recipient, subject, body, incoming_id, created_at, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                n.agency_id.0.into(),
                n.recipient.as_str().into(),
                n.subject.as_str().into(),
                n.body.as_str().into(),
                n.incoming_id.into(),
                secs(n.created_at).into(),
                n.sent_at.map(secs).into(),
            ],
        )?
        .int(0)
    }
    pub fn notifications(&mut self, prefix: &str, unsent_only: bool) -> StoreResult<Vec<Notification>> {
        self.query(
            &format!(
                "SELECT {NOTIFICATION_COLS} FROM notifications n JOIN agencies a ON a.id = n.agency_id
                 WHERE a.path LIKE $1 AND ($2 = 0 OR n.sent_at IS NULL) ORDER BY n.id"
            ),
            &[under(prefix), i64::from(unsent_only).into()],
        )?
        .iter()
        .map(notification_row)
        .collect()
    }
    pub fn notification(&mut self, id: i64) -> StoreResult<Option<Notification>> {
        self.query_opt(&format!("SELECT {NOTIFICATION_COLS} FROM notifications n WHERE n.id = $1"), &[id.into()])?
            .map(|r| notification_row(&r))
            .transpose()
    }

    /// The certificate last issued onto a device, revoked or not.
    pub fn last_certificate_on_device(&mut self, device: DeviceId) -> StoreResult<Option<CertificateRecord>> {
        self.query_opt(
            &format!("SELECT {CERT_COLS} FROM certificates c WHERE c.device_id = $1 ORDER BY c.id DESC LIMIT 1"),
            &[device.0.into()],
        )?
        .map(|r| cert_row(&r))
        .transpose()
    }
    /// Valid (not revoked) certificates held on a device.
    pub fn certificates_on_device(&mut self, device: DeviceId) -> StoreResult<Vec<CertificateRecord>> {
        self.query(
            &format!("SELECT {CERT_COLS} FROM certificates c WHERE c.device_id = $1 AND c.revoked_at IS NULL ORDER BY c.id"),
            &[device.0.into()],
        )?
        .iter()
        .map(cert_row)
        .collect()
    }

    // ---- requests ----
    pub fn insert_batch(&mut self, now: DateTime<Utc>, by: &str) -> StoreResult<BatchId> {
        Ok(BatchId(
            self.query_one("INSERT INTO batches (created_at, created_by) VALUES ($1, $2) RETURNING id", &[secs(now).into(), by.into()])?
                .int(0)?,
        ))
    }
    pub fn insert_request(&mut self, q: &Request) -> StoreResult<Request> {
        let details = serde_json::to_string(&q.details).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let id = self
            .query_one(
                "INSERT INTO requests (kind, state, subscriber_id, certificate_id, device_id, managing_agency_id, details, created_by, created_at, updated_at, batch_id, rejection_reason)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                &[
                    q.kind.code().into(),
                    q.state.code().into(),
                    q.subscriber_id.0.into(),
                    q.certificate_id.map(|x| x.0).into(),
                    q.device_id.map(|x| x.0).into(),
                    q.managing_agency_id.0.into(),
                    details.into(),
                    q.created_by.0.into(),
                    secs(q.created_at).into(),
                    secs(q.updated_at).into(),
                    q.batch_id.map(|x| x.0).into(),
                    q.rejection_reason.clone().into(),
                ],
            )?
            .int(0)?;
        Ok(Request { id: RequestId(id), ..q.clone() })
    }
    pub fn request(&mut self, id: RequestId) -> StoreResult<Option<Request>> {
        self.query_opt(&format!("SELECT {REQ_COLS} FROM requests q WHERE q.id = $1"), &[id.0.into()])?.map(|r| request_row(&r)).transpose()
    }
    /// Saves a request's state after a transition. Fails if another writer moved it first.
    pub fn update_request_state(&mut self, q: &Request, from: RequestState) -> StoreResult<()> {
        let n = self.exec(
            "UPDATE requests SET state = $1, updated_at = $2, batch_id = $3, rejection_reason = $4 WHERE id = $5 AND state = $6",
            &[
                q.state.code().into(),
                secs(q.updated_at).into(),
                q.batch_id.map(|x| x.0).into(),
                q.rejection_reason.clone().into(),
                q.id.0.into(),
                from.code().into(),
            ],
        )?;
        if n != 1 {
            return Err(StoreError::Constraint(format!("request {} was changed by someone else", q.id)));
        }
        Ok(())
    }
    pub fn requests_under(&mut self, prefix: &str, state: Option<RequestState>, limit: i64) -> StoreResult<Vec<Request>> {
        let mut params = vec![under(prefix)];
        let mut sql = format!("SELECT {REQ_COLS} FROM requests q JOIN subscribers s ON s.id = q.subscriber_id JOIN agencies a ON a.id = s.agency_id WHERE a.path LIKE $1");
        if let Some(st) = state {
            params.push(st.code().into());
            sql.push_str(" AND q.state = $2");
        }
        params.push(limit.into());
        sql.push_str(&format!(" ORDER BY q.id LIMIT ${}", params.len()));
        self.query(&sql, &params)?.iter().map(request_row).collect()
    }
    /// Open requests touching a certificate (so a second renewal cannot start beside the first).
    pub fn open_requests_for_certificate(&mut self, c: CertificateId) -> StoreResult<Vec<Request>> {
        self.query(
            &format!("SELECT {REQ_COLS} FROM requests q WHERE q.certificate_id = $1 AND q.state NOT IN ('completed', 'rejected', 'cancelled') ORDER BY q.id"),
            &[c.0.into()],
        )?
        .iter()
        .map(request_row)
        .collect()
    }

    // ---- audit ----
    /// Chains and stores an event. The head row's update serialises concurrent writers.
    pub fn append_audit(&mut self, e: NewEvent, at: DateTime<Utc>) -> StoreResult<AuditRecord> {
        let head = self.query_one("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash", &[])?;
        let seq = head.int(0)?;
        let prev = head.text(1)?;
        // Never let time run backwards in the chain, even if the clock does.
        let last_at = self
            .query_opt("SELECT at FROM audit_events WHERE seq = $1", &[(seq - 1).into()])?
            .map(|r| r.int(0))
            .transpose()?
            .unwrap_or(i64::MIN);
        let at = micros(at).max(last_at);
        let rec = AuditRecord::chain(&prev, seq, at, e);
        self.exec(&format!("INSERT INTO audit_events ({AUDIT_COLS}) VALUES {}", placeholders(1, 12)), &audit_params(&rec))?;
        self.exec("UPDATE audit_head SET hash = $1 WHERE id = 1", &[rec.hash.as_str().into()])?;
        Ok(rec)
    }
    /// Chains and stores many events at once (bulk imports, the benchmark): one head read,
    /// multi-row inserts, one head update. Same chain as `append_audit` one by one.
    pub fn append_audit_batch(&mut self, events: Vec<(NewEvent, DateTime<Utc>)>) -> StoreResult<()> {
        let (mut seq, mut prev) = self.audit_head()?;
        let mut last_at =
            self.query_opt("SELECT at FROM audit_events WHERE seq = $1", &[seq.into()])?.map(|r| r.int(0)).transpose()?.unwrap_or(i64::MIN);
        let mut rows = Vec::with_capacity(events.len());
        for (e, at) in events {
            seq += 1;
            last_at = micros(at).max(last_at);
            let rec = AuditRecord::chain(&prev, seq, last_at, e);
            prev = rec.hash.clone();
            rows.push(rec);
        }
        const PER_STATEMENT: usize = 400;
        for chunk in rows.chunks(PER_STATEMENT) {
            let mut params = Vec::with_capacity(chunk.len() * 12);
            for rec in chunk {
                params.extend(audit_params(rec));
            }
            self.exec(&format!("INSERT INTO audit_events ({AUDIT_COLS}) VALUES {}", placeholders(chunk.len(), 12)), &params)?;
        }
        self.exec("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", &[seq.into(), prev.into()])?;
        Ok(())
    }

    /// Inserts many certificate records at once (bulk imports, the benchmark).
    pub fn insert_certificates_batch(&mut self, rows: &[(CertificateRecord, AgencyId, ReportClass)]) -> StoreResult<()> {
        const PER_STATEMENT: usize = 500;
        for chunk in rows.chunks(PER_STATEMENT) {
            let mut params = Vec::with_capacity(chunk.len() * 13);
            for (c, agency, class) in chunk {
                params.extend(cert_params(c, *agency, *class));
            }
            self.exec(&format!("INSERT INTO certificates ({CERT_INSERT_COLS}) VALUES {}", placeholders(chunk.len(), 13)), &params)?;
        }
        Ok(())
    }

    pub fn audit_head(&mut self) -> StoreResult<(i64, String)> {
        let r = self.query_one("SELECT seq, hash FROM audit_head WHERE id = 1", &[])?;
        Ok((r.int(0)?, r.text(1)?))
    }
    /// Events after `after_seq`, in order, at most `limit`.
    pub fn audit_page(&mut self, after_seq: i64, limit: i64) -> StoreResult<Vec<AuditRecord>> {
        self.query(
            &format!("SELECT {AUDIT_COLS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"),
            &[after_seq.into(), limit.into()],
        )?
        .iter()
        .map(audit_row)
        .collect()
    }
    pub fn audit_for_object(&mut self, object: &str) -> StoreResult<Vec<AuditRecord>> {
        self.query(&format!("SELECT {AUDIT_COLS} FROM audit_events WHERE object = $1 ORDER BY seq"), &[object.into()])?
            .iter()
            .map(audit_row)
            .collect()
    }
    /// Counts of report-relevant events with one of `actions` in [from, to) for agencies
    /// under `prefix`.
    pub fn figure_counts(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        prefix: &str,
        actions: &[String],
    ) -> StoreResult<Vec<EventCount>> {
        if actions.is_empty() {
            return Ok(Vec::new());
        }
        let mut params = vec![micros(from).into(), micros(to).into(), under(prefix)];
        let list: Vec<String> = actions
            .iter()
            .map(|a| {
                params.push(a.as_str().into());
                format!("${}", params.len())
            })
            .collect();
        self.query(
            &format!(
                "SELECT e.action, e.subject, e.class, COUNT(*) FROM audit_events e JOIN agencies a ON a.id = e.agency_id
                 WHERE e.subject IS NOT NULL AND e.action IN ({}) AND e.at >= $1 AND e.at < $2 AND e.outcome = 'ok' AND a.path LIKE $3
                 GROUP BY e.action, e.subject, e.class",
                list.join(", ")
            ),
            &params,
        )?
        .iter()
        .map(|r| Ok(EventCount { action: r.text(0)?, subject: r.text(1)?, class: r.opt_text(2)?, count: r.int(3)? as u64 }))
        .collect()
    }
    /// Certificates valid at `at` for agencies under `prefix`, by class.
    pub fn valid_certificate_counts(&mut self, at: DateTime<Utc>, prefix: &str) -> StoreResult<StockCount> {
        let rows = self.query(
            "SELECT c.class, COUNT(*) FROM certificates c JOIN agencies a ON a.id = c.agency_id
             WHERE c.not_before <= $1 AND c.not_after > $1 AND (c.revoked_at IS NULL OR c.revoked_at > $1) AND a.path LIKE $2
             GROUP BY c.class",
            &[secs(at).into(), under(prefix)],
        )?;
        let mut s = StockCount::default();
        for r in rows {
            let n = r.int(1)? as u64;
            if r.text(0)? == "personal" {
                s.personal += n;
            } else {
                s.org += n;
            }
        }
        Ok(s)
    }
}

/// Tables that callers may count.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    Agencies,
    Persons,
    Subscribers,
    Certificates,
    Devices,
    Requests,
    AuditEvents,
    Users,
}
impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Agencies => "agencies",
            Table::Persons => "persons",
            Table::Subscribers => "subscribers",
            Table::Certificates => "certificates",
            Table::Devices => "devices",
            Table::Requests => "requests",
            Table::AuditEvents => "audit_events",
            Table::Users => "users",
        }
    }
}

/// A CA certificate of the deployment's trust store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrustAnchor {
    pub id: i64,
    pub sha256: String,
    pub subject: String,
    /// DER, base64.
    pub der: String,
    pub note: String,
    pub added_by: String,
    pub added_at: DateTime<Utc>,
}

impl Tx<'_> {
    pub fn insert_trust_anchor(&mut self, a: &TrustAnchor) -> StoreResult<i64> {
        self.query_one(
            "INSERT INTO trust_anchors (sha256, subject, der, note, added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                a.sha256.as_str().into(),
                a.subject.as_str().into(),
                a.der.as_str().into(),
                a.note.as_str().into(),
                a.added_by.as_str().into(),
                secs(a.added_at).into(),
            ],
        )?
        .int(0)
    }
    pub fn trust_anchors(&mut self) -> StoreResult<Vec<TrustAnchor>> {
        self.query("SELECT id, sha256, subject, der, note, added_by, added_at FROM trust_anchors ORDER BY id", &[])?
            .iter()
            .map(|r| {
                Ok(TrustAnchor {
                    id: r.int(0)?,
                    sha256: r.text(1)?,
                    subject: r.text(2)?,
                    der: r.text(3)?,
                    note: r.text(4)?,
                    added_by: r.text(5)?,
                    added_at: from_secs(r.int(6)?)?,
                })
            })
            .collect()
    }
    pub fn delete_trust_anchor(&mut self, id: i64) -> StoreResult<u64> {
        self.exec("DELETE FROM trust_anchors WHERE id = $1", &[id.into()])
    }
}

/// A time-stamped checkpoint of the audit head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditCheckpoint {
    pub seq: i64,
    pub hash: String,
    /// The RFC 3161 token (DER, base64).
    pub token: String,
    pub created_at: DateTime<Utc>,
}

impl Tx<'_> {
    pub fn insert_audit_checkpoint(&mut self, c: &AuditCheckpoint) -> StoreResult<()> {
        self.exec(
            "INSERT INTO audit_checkpoints (seq, hash, token, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[c.seq.into(), c.hash.as_str().into(), c.token.as_str().into(), secs(c.created_at).into()],
        )?;
        Ok(())
    }
    pub fn audit_checkpoints(&mut self) -> StoreResult<Vec<AuditCheckpoint>> {
        self.query("SELECT seq, hash, token, created_at FROM audit_checkpoints ORDER BY seq", &[])?
            .iter()
            .map(|r| Ok(AuditCheckpoint { seq: r.int(0)?, hash: r.text(1)?, token: r.text(2)?, created_at: from_secs(r.int(3)?)? }))
            .collect()
    }
    /// The stored hash of event `seq`.
    pub fn audit_hash_at(&mut self, seq: i64) -> StoreResult<Option<String>> {
        self.query_opt("SELECT hash FROM audit_events WHERE seq = $1", &[seq.into()])?.map(|r| r.text(0)).transpose()
    }
}

const NOTIFICATION_COLS: &str = "n.id, n.agency_id, n.recipient, n.subject, n.body, n.incoming_id, n.created_at, n.sent_at";

fn notification_row(r: &Row) -> StoreResult<Notification> {
    Ok(Notification {
        id: r.int(0)?,
        agency_id: AgencyId(r.int(1)?),
        recipient: r.text(2)?,
        subject: r.text(3)?,
        body: r.text(4)?,
        incoming_id: r.opt_int(5)?,
        created_at: from_secs(r.int(6)?)?,
        sent_at: r.opt_int(7)?.map(from_secs).transpose()?,
    })
}

const INCOMING_COLS: &str = "r.id, r.agency_id, r.year, r.seq, r.status, r.received_at, r.sender, r.source, r.title, r.file_name, r.sha256, r.size, r.indication, r.report, r.entered_by, r.doc_number, r.doc_date, r.signers, r.warnings";

fn incoming_row(r: &Row) -> StoreResult<IncomingEntry> {
    Ok(IncomingEntry {
        id: r.int(0)?,
        agency_id: AgencyId(r.int(1)?),
        year: r.int(2)? as i32,
        seq: r.opt_int(3)?.map(|x| x as u32),
        status: coded(&r.text(4)?, IncomingStatus::parse, "incoming status")?,
        received_at: from_secs(r.int(5)?)?,
        sender: r.text(6)?,
        source: r.text(7)?,
        title: r.text(8)?,
        file_name: r.text(9)?,
        sha256: r.text(10)?,
        size: r.int(11)? as u64,
        indication: r.text(12)?,
        report: r.text(13)?,
        entered_by: r.text(14)?,
        doc_number: r.opt_text(15)?,
        doc_date: r.opt_text(16)?.and_then(|t| t.parse().ok()),
        signers: r.text(17)?.lines().map(str::to_string).collect(),
        warnings: r.text(18)?.lines().map(str::to_string).collect(),
    })
}

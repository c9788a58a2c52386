//! The registry's entities: agencies (a tree), persons, subscribers, certificate records and
//! key devices.

use crate::error::{DomainError, DomainResult};
use crate::value::*;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($name:ident),*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{}", self.0) }
        }
    )*};
}
id_type!(AgencyId, PersonId, SubscriberId, CertificateId, DeviceId, RequestId, UserId, BatchId);

/// Declares a string-coded enum with its stored code and its Vietnamese label once, so the
/// store, the CLI and the reports all agree.
macro_rules! coded_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $code:literal / $label:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name { $( $(#[$vm])* #[serde(rename = $code)] $variant ),* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn code(self) -> &'static str { match self { $($name::$variant => $code),* } }
            pub fn label_vi(self) -> &'static str { match self { $($name::$variant => $label),* } }
            pub fn parse(s: &str) -> Option<Self> {
                let t = s.trim();
                $name::ALL.iter().copied().find(|v| v.code() == t || v.label_vi() == t)
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.code()) }
        }
    };
}
pub(crate) use coded_enum;

/// Parses a coded enum or says which values are allowed.
pub fn parse_coded<T: Copy>(
    field: &'static str,
    s: &str,
    parse: fn(&str) -> Option<T>,
    all: &[T],
    code: fn(T) -> &'static str,
) -> DomainResult<T> {
    parse(s).ok_or_else(|| {
        let allowed: Vec<&str> = all.iter().map(|v| code(*v)).collect();
        DomainError::invalid(field, format!("'{s}' không hợp lệ; các giá trị được phép: {}", allowed.join(", ")))
    })
}

/// An agency of the province's tree. Only a legal entity (one with its own seal) can be a
/// direct-managing agency (CQQLTT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agency {
    pub id: AgencyId,
    pub code: AgencyCode,
    pub name: String,
    pub parent: Option<AgencyId>,
    /// Materialised path of ids from the root, e.g. "/1/5/23/": a subtree is a path prefix.
    pub path: String,
    pub legal_entity: bool,
    pub tax_code: Option<TaxCode>,
    pub budget_code: Option<BudgetCode>,
    pub email: Option<Email>,
    pub address: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

impl Agency {
    pub fn depth(&self) -> usize {
        self.path.matches('/').count().saturating_sub(1)
    }
    pub fn is_active(&self, on: NaiveDate) -> bool {
        self.valid_from <= on && self.valid_to.is_none_or(|t| on <= t)
    }
    /// True when `other` is this agency or below it.
    pub fn contains(&self, other: &Agency) -> bool {
        other.path.starts_with(&self.path)
    }
}

/// What a caller supplies to create an agency; validated by [`NewAgency::parse`].
#[derive(Debug, Clone, Default)]
pub struct AgencyInput {
    pub code: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub legal_entity: bool,
    pub tax_code: Option<String>,
    pub budget_code: Option<String>,
    pub email: Option<String>,
    pub address: String,
    pub valid_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAgency {
    pub code: AgencyCode,
    pub name: String,
    pub parent_code: Option<AgencyCode>,
    pub legal_entity: bool,
    pub tax_code: Option<TaxCode>,
    pub budget_code: Option<BudgetCode>,
    pub email: Option<Email>,
    pub address: String,
    pub valid_from: NaiveDate,
}

fn opt<T>(s: &Option<String>, f: impl FnOnce(&str) -> DomainResult<T>) -> DomainResult<Option<T>> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => f(v).map(Some),
    }
}

impl NewAgency {
    pub fn parse(i: &AgencyInput, today: NaiveDate) -> DomainResult<Self> {
        let n = NewAgency {
            code: AgencyCode::parse(&i.code)?,
            name: required_text("name", &i.name, 250)?,
            parent_code: opt(&i.parent_code, AgencyCode::parse)?,
            legal_entity: i.legal_entity,
            tax_code: opt(&i.tax_code, TaxCode::parse)?,
            budget_code: opt(&i.budget_code, BudgetCode::parse)?,
            email: opt(&i.email, |s| Email::parse("email", s))?,
            address: normalize_text(&i.address),
            valid_from: opt(&i.valid_from, |s| parse_date("valid_from", s))?.unwrap_or(today),
        };
        if n.legal_entity && n.tax_code.is_none() {
            return Err(DomainError::invalid("tax_code", "cơ quan có tư cách pháp nhân (có con dấu riêng) phải có mã số thuế"));
        }
        Ok(n)
    }
}

coded_enum!(
    /// The position category of a person, used by rules such as the Thái Bình list of who may
    /// hold a personal certificate. The free-text position is kept beside it.
    PositionKind {
        Leader = "leader" / "Người đứng đầu",
        DeputyLeader = "deputy_leader" / "Cấp phó của người đứng đầu",
        CouncilCommitteeHead = "council_committee_head" / "Trưởng ban của HĐND",
        ChiefOfOffice = "chief_of_office" / "Chánh Văn phòng",
        ChiefInspector = "chief_inspector" / "Chánh Thanh tra",
        OneStopOfficer = "one_stop_officer" / "Công chức tại Trung tâm hành chính công / bộ phận một cửa",
        RecordsClerk = "records_clerk" / "Văn thư",
        Specialist = "specialist" / "Chuyên viên",
        Other = "other" / "Khác",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub id: PersonId,
    pub full_name: PersonName,
    pub citizen_id: CitizenId,
    pub date_of_birth: NaiveDate,
    pub gender: Gender,
    /// Chức vụ, e.g. "Phó Giám đốc".
    pub position: String,
    pub position_kind: PositionKind,
    /// Chức danh, e.g. "Chuyên viên chính".
    pub title: String,
    pub agency_id: AgencyId,
    pub email: Email,
    pub phone: Option<Phone>,
}

#[derive(Debug, Clone, Default)]
pub struct PersonInput {
    pub full_name: String,
    pub citizen_id: String,
    pub date_of_birth: String,
    pub gender: String,
    pub position: String,
    pub position_kind: String,
    pub title: String,
    pub agency_code: String,
    pub email: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    pub full_name: PersonName,
    pub citizen_id: CitizenId,
    pub date_of_birth: NaiveDate,
    pub gender: Gender,
    pub position: String,
    pub position_kind: PositionKind,
    pub title: String,
    pub agency_code: AgencyCode,
    pub email: Email,
    pub phone: Option<Phone>,
}

impl NewPerson {
    pub fn parse(i: &PersonInput, today: NaiveDate) -> DomainResult<Self> {
        let full_name = PersonName::parse(&i.full_name)?;
        let date_of_birth = parse_date("date_of_birth", &i.date_of_birth)?;
        let age = today.years_since(date_of_birth).unwrap_or(0);
        if !(16..=100).contains(&age) {
            return Err(DomainError::invalid("date_of_birth", format!("ngày sinh {date_of_birth} cho tuổi {age}, ngoài khoảng 16–100")));
        }
        let gender = Gender::parse(&i.gender)?;
        let citizen_id = CitizenId::parse(&i.citizen_id, Some(date_of_birth), Some(gender))?;
        let kind = if i.position_kind.trim().is_empty() { "other" } else { i.position_kind.as_str() };
        Ok(NewPerson {
            full_name,
            citizen_id,
            date_of_birth,
            gender,
            position: required_text("position", &i.position, 200)?,
            position_kind: parse_coded("position_kind", kind, PositionKind::parse, PositionKind::ALL, PositionKind::code)?,
            title: normalize_text(&i.title),
            agency_code: AgencyCode::parse(&i.agency_code)
                .map_err(|_| DomainError::invalid("agency", format!("mã cơ quan '{}' không hợp lệ", i.agency_code)))?,
            email: Email::parse("email", &i.email)?,
            phone: opt(&i.phone, Phone::parse)?,
        })
    }
}

coded_enum!(
    /// The three kinds of subscriber (thuê bao) of TT 185/2019 Art. 3.
    SubscriberKind {
        Individual = "individual" / "Cá nhân",
        Organisation = "organisation" / "Cơ quan, tổ chức",
        Device = "device" / "Thiết bị, dịch vụ, phần mềm",
    }
);

impl SubscriberKind {
    /// The column a report counts this kind in: personal, or organisation (devices, services
    /// and software are held by an organisation).
    pub fn report_class(self) -> ReportClass {
        match self {
            SubscriberKind::Individual => ReportClass::Personal,
            SubscriberKind::Organisation | SubscriberKind::Device => ReportClass::Organisation,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportClass {
    Organisation,
    Personal,
}
impl ReportClass {
    pub fn code(self) -> &'static str {
        match self {
            ReportClass::Organisation => "org",
            ReportClass::Personal => "personal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscriber {
    pub id: SubscriberId,
    pub kind: SubscriberKind,
    /// The individual (for kind Individual).
    pub person_id: Option<PersonId>,
    /// The agency the subscriber belongs to; for an organisation, the organisation itself.
    pub agency_id: AgencyId,
    /// The direct-managing agency (CQQLTT) that confirms this subscriber's requests.
    pub managing_agency_id: AgencyId,
    /// The name as it goes into the certificate's CN.
    pub display_name: String,
    pub email: Option<Email>,
}

coded_enum!(
    CertificateStatus {
        Valid = "valid" / "Còn hiệu lực",
        Revoked = "revoked" / "Đã thu hồi",
        Expired = "expired" / "Hết hạn",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateRecord {
    pub id: CertificateId,
    pub serial: Serial,
    pub subscriber_id: SubscriberId,
    pub subject: String,
    pub issuer: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<crate::rules::RevocationReason>,
    pub device_id: Option<DeviceId>,
    /// The certificate this one renewed or replaced (a change of information).
    pub predecessor: Option<CertificateId>,
    /// How many renewals led to this certificate (0 for a new one).
    pub renewal_count: u32,
}

impl CertificateRecord {
    /// The status at `at`: revoked once the revocation time is reached, expired after
    /// `not_after`, else valid.
    pub fn status_at(&self, at: DateTime<Utc>) -> CertificateStatus {
        match self.revoked_at {
            Some(r) if r <= at => CertificateStatus::Revoked,
            _ if at > self.not_after => CertificateStatus::Expired,
            _ => CertificateStatus::Valid,
        }
    }
    pub fn days_left(&self, at: DateTime<Utc>) -> i64 {
        (self.not_after - at).num_days()
    }
}

coded_enum!(
    DeviceKind {
        UsbToken = "usb_token" / "USB token",
        SimPki = "sim_pki" / "SIM PKI",
        Smartcard = "smartcard" / "Thẻ thông minh",
        Hsm = "hsm" / "HSM",
    }
);

coded_enum!(
    /// The life of a key device (thiết bị lưu khóa bí mật).
    DeviceStatus {
        InStock = "in_stock" / "Trong kho",
        Assigned = "assigned" / "Đã phân công",
        HandedOver = "handed_over" / "Đã bàn giao",
        InUse = "in_use" / "Đang sử dụng",
        Locked = "locked" / "Bị khóa",
        Lost = "lost" / "Thất lạc",
        Damaged = "damaged" / "Hư hỏng",
        AwaitingReturn = "awaiting_return" / "Chờ nộp lại",
        Returned = "returned" / "Đã nộp lại",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyDevice {
    pub id: DeviceId,
    pub serial: Serial,
    pub kind: DeviceKind,
    pub model: String,
    pub status: DeviceStatus,
    pub agency_id: AgencyId,
    pub custodian: Option<PersonId>,
    /// The working-day deadline for returning the device to the CA after revocation.
    pub return_due: Option<NaiveDate>,
}

impl KeyDevice {
    /// Waiting to be returned, and the deadline has passed (NĐ 130 Art. 71: 5 working days).
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status == DeviceStatus::AwaitingReturn && self.return_due.is_some_and(|due| today > due)
    }
}

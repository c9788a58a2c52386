//! Certification requests (TT 185/2019 Art. 8–11, NĐ 68/2024 Art. 11–19): five kinds, each
//! an explicit state machine from draft to completion, with the actor's role and scope and
//! the rules of the law checked at every step.

use crate::authz::{Actor, Role};
use crate::error::{DomainError, DomainResult};
use crate::profile::{ProvinceProfile, Route};
use crate::registry::*;
use crate::rules::{ChangeField, RevocationReason, RuleSet};
use crate::value::{normalize_text, Email, PersonName, TaxCode};
use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};

coded_enum!(
    RequestKind {
        NewIndividual = "new_individual" / "Cấp mới chứng thư số cho cá nhân",
        NewOrganisation = "new_organisation" / "Cấp mới chứng thư số cho cơ quan, tổ chức",
        NewDevice = "new_device" / "Cấp mới chứng thư số cho thiết bị, dịch vụ, phần mềm",
        Renew = "renew" / "Gia hạn chứng thư số",
        ChangeInfo = "change_info" / "Thay đổi nội dung thông tin chứng thư số",
        Revoke = "revoke" / "Thu hồi chứng thư số",
        RestoreDevice = "restore_device" / "Khôi phục thiết bị lưu khóa bí mật",
    }
);

impl RequestKind {
    pub fn new_for(kind: SubscriberKind) -> RequestKind {
        match kind {
            SubscriberKind::Individual => RequestKind::NewIndividual,
            SubscriberKind::Organisation => RequestKind::NewOrganisation,
            SubscriberKind::Device => RequestKind::NewDevice,
        }
    }
    pub fn is_new(self) -> bool {
        matches!(self, RequestKind::NewIndividual | RequestKind::NewOrganisation | RequestKind::NewDevice)
    }
    /// Whether the request acts on an existing certificate.
    pub fn needs_certificate(self) -> bool {
        matches!(self, RequestKind::Renew | RequestKind::ChangeInfo | RequestKind::Revoke)
    }
}

coded_enum!(
    RequestState {
        Draft = "draft" / "Dự thảo",
        Submitted = "submitted" / "Đã gửi, chờ CQQLTT xác nhận",
        Confirmed = "confirmed" / "CQQLTT đã xác nhận",
        Checked = "checked" / "Người quản lý thuê bao đã kiểm tra",
        SentToCa = "sent_to_ca" / "Đã gửi tổ chức chứng thực",
        Completed = "completed" / "Hoàn thành",
        Rejected = "rejected" / "Bị từ chối",
        Cancelled = "cancelled" / "Đã hủy",
    }
);

impl RequestState {
    pub fn is_final(self) -> bool {
        matches!(self, RequestState::Completed | RequestState::Rejected | RequestState::Cancelled)
    }
}

coded_enum!(
    Action {
        Submit = "submit" / "Gửi yêu cầu",
        Confirm = "confirm" / "Xác nhận (CQQLTT)",
        Check = "check" / "Kiểm tra (người quản lý thuê bao)",
        SendToCa = "send_to_ca" / "Gửi tổ chức chứng thực",
        Complete = "complete" / "Ghi nhận kết quả của tổ chức chứng thực",
        Reject = "reject" / "Từ chối",
        Cancel = "cancel" / "Hủy",
    }
);

/// What each kind of request asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RequestDetails {
    New { validity_months: u32 },
    Renew { extension_months: u32 },
    ChangeInfo { changes: Vec<(ChangeField, String)> },
    Revoke { reason: RevocationReason, device_return: bool, lost_device_record: Option<String> },
    RestoreDevice { contact_phone: Option<String> },
}

impl RequestDetails {
    fn fits(&self, kind: RequestKind) -> bool {
        matches!(
            (self, kind),
            (RequestDetails::New { .. }, RequestKind::NewIndividual | RequestKind::NewOrganisation | RequestKind::NewDevice)
                | (RequestDetails::Renew { .. }, RequestKind::Renew)
                | (RequestDetails::ChangeInfo { .. }, RequestKind::ChangeInfo)
                | (RequestDetails::Revoke { .. }, RequestKind::Revoke)
                | (RequestDetails::RestoreDevice { .. }, RequestKind::RestoreDevice)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    pub id: RequestId,
    pub kind: RequestKind,
    pub state: RequestState,
    pub subscriber_id: SubscriberId,
    pub certificate_id: Option<CertificateId>,
    pub device_id: Option<DeviceId>,
    /// The CQQLTT that confirms the request.
    pub managing_agency_id: AgencyId,
    pub details: RequestDetails,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub batch_id: Option<BatchId>,
    pub rejection_reason: Option<String>,
}

/// Everything a rule check needs, loaded by the service.
pub struct RuleContext<'a> {
    pub rules: &'a RuleSet,
    pub profile: &'a ProvinceProfile,
    pub subscriber: &'a Subscriber,
    /// The individual subscriber's person record.
    pub person: Option<&'a Person>,
    pub certificate: Option<&'a CertificateRecord>,
    pub device: Option<&'a KeyDevice>,
    pub now: DateTime<Utc>,
}

/// The rules a request must meet when it is made and while it travels to the CA.
pub fn check_request_rules(kind: RequestKind, details: &RequestDetails, cx: &RuleContext<'_>) -> DomainResult<()> {
    if !details.fits(kind) {
        return Err(DomainError::invalid("details", format!("nội dung không phù hợp với loại yêu cầu '{}'", kind.label_vi())));
    }
    let r = cx.rules;
    let sub = cx.subscriber;
    if kind.is_new() && RequestKind::new_for(sub.kind) != kind {
        return Err(DomainError::rule(
            "TT185-Art8",
            format!("thuê bao loại '{}' phải dùng yêu cầu '{}'", sub.kind.label_vi(), RequestKind::new_for(sub.kind).label_vi()),
        ));
    }
    if let (Some(email), false) = (&sub.email, cx.profile.official_email_domains.is_empty()) {
        if kind.is_new() && !email.in_domains(&cx.profile.official_email_domains) {
            return Err(DomainError::rule(
                "profile-official-email",
                format!("thư điện tử '{email}' không thuộc hệ thống thư công vụ ({})", cx.profile.official_email_domains.join(", ")),
            ));
        }
    }
    let cert = if kind.needs_certificate() {
        let c = cx.certificate.ok_or_else(|| DomainError::invalid("certificate", "yêu cầu này phải chỉ rõ chứng thư số (số hiệu)"))?;
        if c.subscriber_id != sub.id {
            return Err(DomainError::invalid("certificate", format!("chứng thư số {} không thuộc thuê bao này", c.serial)));
        }
        match c.status_at(cx.now) {
            CertificateStatus::Valid => {}
            s => {
                return Err(DomainError::rule(
                    "NĐ130-Art3-k8",
                    format!("chứng thư số {} đang ở trạng thái '{}', không thể {}", c.serial, s.label_vi(), kind.label_vi().to_lowercase()),
                ))
            }
        }
        Some(c)
    } else {
        None
    };
    match (kind, details) {
        (_, RequestDetails::New { validity_months }) => {
            if *validity_months == 0 || *validity_months > r.max_validity_months {
                return Err(DomainError::rule(
                    "NĐ130-Art63/NĐ68-Art9",
                    format!(
                        "thời hạn chứng thư số tối đa {} tháng ({} năm); đề nghị {} tháng",
                        r.max_validity_months,
                        r.max_validity_months / 12,
                        validity_months
                    ),
                ));
            }
            if kind == RequestKind::NewIndividual {
                let p = cx.person.ok_or_else(|| DomainError::invalid("subscriber", "thuê bao cá nhân phải gắn với một cán bộ"))?;
                if !cx.profile.allows_personal_certificate(p.position_kind) {
                    return Err(DomainError::rule(
                        "profile-eligible-positions",
                        format!(
                            "theo quy chế của {}, chức vụ '{}' ({}) không thuộc đối tượng được cấp chứng thư số cá nhân",
                            cx.profile.province,
                            p.position,
                            p.position_kind.label_vi()
                        ),
                    ));
                }
            }
        }
        (_, RequestDetails::Renew { extension_months }) => {
            let c = cert.expect("checked above");
            if c.renewal_count >= r.renewal_max_count {
                return Err(DomainError::rule(
                    "NĐ130-Art63-renew-once",
                    format!(
                        "chứng thư số {} đã được gia hạn {} lần; chỉ được gia hạn {} lần",
                        c.serial, c.renewal_count, r.renewal_max_count
                    ),
                ));
            }
            let left = c.days_left(cx.now);
            if left < r.renewal_min_days_left {
                return Err(DomainError::rule(
                    "NĐ130-Art63-60-days",
                    format!(
                        "chứng thư số {} chỉ còn {} ngày; phải còn ít nhất {} ngày mới được gia hạn — hãy lập yêu cầu cấp mới",
                        c.serial, left, r.renewal_min_days_left
                    ),
                ));
            }
            if *extension_months == 0 || *extension_months > r.renewal_max_extension_months {
                return Err(DomainError::rule(
                    "NĐ130-Art63-3-years",
                    format!("gia hạn tối đa {} tháng; đề nghị {} tháng", r.renewal_max_extension_months, extension_months),
                ));
            }
        }
        (_, RequestDetails::ChangeInfo { changes }) => {
            let c = cert.expect("checked above");
            let left = c.days_left(cx.now);
            if left < r.change_min_days_left {
                return Err(DomainError::rule(
                    "NĐ130-Art65-60-days",
                    format!(
                        "chứng thư số {} chỉ còn {} ngày; phải còn ít nhất {} ngày mới được thay đổi thông tin",
                        c.serial, left, r.change_min_days_left
                    ),
                ));
            }
            if changes.is_empty() {
                return Err(DomainError::invalid("changes", "phải nêu ít nhất một thông tin cần thay đổi"));
            }
            for (field, value) in changes {
                let allowed = match sub.kind {
                    SubscriberKind::Individual => !matches!(field, ChangeField::TaxCode | ChangeField::Address),
                    SubscriberKind::Organisation => !matches!(field, ChangeField::Title),
                    SubscriberKind::Device => matches!(field, ChangeField::Name | ChangeField::Email | ChangeField::Workplace),
                };
                if !allowed {
                    return Err(DomainError::rule(
                        "NĐ130-Art66",
                        format!("thông tin '{}' không thay đổi được với thuê bao loại '{}'", field.label_vi(), sub.kind.label_vi()),
                    ));
                }
                if normalize_text(value).is_empty() {
                    return Err(DomainError::invalid("changes", format!("giá trị mới của '{}' đang để trống", field.label_vi())));
                }
            }
        }
        (_, RequestDetails::Revoke { reason, device_return, lost_device_record }) => {
            let c = cert.expect("checked above");
            if !reason.applies_to(sub.kind) {
                let allowed: Vec<&str> = RevocationReason::allowed_for(sub.kind).iter().map(|r| r.code()).collect();
                return Err(DomainError::rule(
                    "NĐ68-Art17",
                    format!(
                        "lý do '{}' không áp dụng cho thuê bao loại '{}'; các lý do được phép: {}",
                        reason.label_vi(),
                        sub.kind.label_vi(),
                        allowed.join(", ")
                    ),
                ));
            }
            if *reason == RevocationReason::DeviceLost {
                if lost_device_record.as_deref().map(str::trim).unwrap_or("").is_empty() {
                    return Err(DomainError::rule(
                        "TT185-Mau15",
                        format!(
                            "thiết bị thất lạc: phải đính kèm biên bản xác nhận của CQQLTT ({}) — ghi số, ngày biên bản",
                            r.lost_device_record_form
                        ),
                    ));
                }
                if *device_return {
                    return Err(DomainError::invalid(
                        "device_return",
                        "thiết bị đã thất lạc thì không thể nộp lại; bỏ tùy chọn nộp lại thiết bị",
                    ));
                }
            }
            if *device_return && c.device_id.is_none() {
                return Err(DomainError::invalid(
                    "device_return",
                    format!("chứng thư số {} không gắn với thiết bị lưu khóa nào, nên không thể thu hồi kèm nộp lại thiết bị", c.serial),
                ));
            }
        }
        (_, RequestDetails::RestoreDevice { .. }) => {
            let d = cx.device.ok_or_else(|| DomainError::invalid("device", "phải chỉ rõ thiết bị lưu khóa cần khôi phục"))?;
            if d.status != DeviceStatus::Locked {
                return Err(DomainError::rule(
                    "NĐ130-Art73",
                    format!("thiết bị {} đang ở trạng thái '{}'; chỉ khôi phục được thiết bị bị khóa", d.serial, d.status.label_vi()),
                ));
            }
        }
    }
    Ok(())
}

/// What the CA returned for a completed request: the certificate issued (new, renew,
/// change) or the revocation time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    Issued {
        serial: crate::value::Serial,
        subject: String,
        issuer: String,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
        device_id: Option<DeviceId>,
    },
    Revoked {
        at: DateTime<Utc>,
    },
    Restored,
}

/// Checks the CA's result against the request and the rules, so a wrong import cannot
/// create a certificate the law does not allow.
pub fn check_completion(
    req: &Request,
    completion: &Completion,
    rules: &RuleSet,
    old: Option<&CertificateRecord>,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let kind_mismatch = || DomainError::invalid("completion", format!("kết quả không phù hợp với loại yêu cầu '{}'", req.kind.label_vi()));
    match (req.kind, completion, &req.details) {
        (k, Completion::Issued { not_before, not_after, .. }, RequestDetails::New { validity_months }) if k.is_new() => {
            let cap = (*validity_months).min(rules.max_validity_months);
            if not_after <= not_before || *not_after > add_months(*not_before, cap) {
                return Err(DomainError::rule(
                    "NĐ130-Art63/NĐ68-Art9",
                    format!("chứng thư số được cấp có hiệu lực {not_before} – {not_after}, vượt quá {cap} tháng"),
                ));
            }
        }
        (RequestKind::Renew, Completion::Issued { not_after, .. }, RequestDetails::Renew { extension_months }) => {
            let old = old.ok_or_else(kind_mismatch)?;
            let cap = (*extension_months).min(rules.renewal_max_extension_months);
            if *not_after <= old.not_after || *not_after > add_months(old.not_after, cap) {
                return Err(DomainError::rule(
                    "NĐ130-Art63-3-years",
                    format!("hạn mới {not_after} phải sau hạn cũ {} và không quá {cap} tháng", old.not_after),
                ));
            }
        }
        (RequestKind::ChangeInfo, Completion::Issued { not_after, .. }, _) => {
            let old = old.ok_or_else(kind_mismatch)?;
            if rules.change_keeps_expiry && *not_after != old.not_after {
                return Err(DomainError::rule(
                    "NĐ130-Art65-same-expiry",
                    format!("chứng thư số sau thay đổi thông tin phải giữ hạn {}; nhận được {not_after}", old.not_after),
                ));
            }
        }
        (RequestKind::Revoke, Completion::Revoked { at }, _) => {
            if *at > now {
                return Err(DomainError::invalid("revoked_at", "thời điểm thu hồi không được ở tương lai"));
            }
        }
        (RequestKind::RestoreDevice, Completion::Restored, _) => {}
        _ => return Err(kind_mismatch()),
    }
    Ok(())
}

pub fn add_months(t: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    t.checked_add_months(Months::new(months)).unwrap_or(t)
}

/// The facts about a request's parties that decide who may move it.
pub struct Parties<'a> {
    /// The subscriber's agency path (scope checks for managers and staff).
    pub subscriber_agency_path: &'a str,
    /// The individual subscriber's person, if any.
    pub subscriber_person: Option<PersonId>,
    pub subscriber_kind: SubscriberKind,
    pub route: Route,
}

/// The registry after a completed change of information (NĐ 130 Art. 65–66, NĐ 68 Art. 15):
/// each field the request names takes its new value, everything else stays.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedInfo {
    pub subscriber: Subscriber,
    /// The official, for an individual subscriber.
    pub person: Option<Person>,
    /// The organisation's own agency record, for an organisation subscriber.
    pub organisation: Option<Agency>,
}

/// Applies the changes of a change-of-information request to the subscriber, its person and
/// its organisation. `workplace` is the agency a workplace change names (resolved by the
/// caller from its code). Pure, so it also checks the values when the request is filed.
pub fn apply_info_changes(
    changes: &[(ChangeField, String)],
    subscriber: &Subscriber,
    person: Option<&Person>,
    organisation: Option<&Agency>,
    workplace: Option<&Agency>,
) -> DomainResult<ChangedInfo> {
    let mut out = ChangedInfo { subscriber: subscriber.clone(), person: person.cloned(), organisation: organisation.cloned() };
    let kind = subscriber.kind;
    for (field, value) in changes {
        let value = normalize_text(value);
        match (field, kind, out.person.as_mut(), out.organisation.as_mut()) {
            (ChangeField::Name, SubscriberKind::Individual, Some(p), _) => {
                p.full_name = PersonName::parse(&value)?;
                out.subscriber.display_name = p.full_name.to_string();
            }
            (ChangeField::Name, SubscriberKind::Organisation, _, Some(a)) => {
                a.name = value.clone();
                out.subscriber.display_name = value;
            }
            (ChangeField::Name, SubscriberKind::Device, _, _) => out.subscriber.display_name = value,
            (ChangeField::Title, SubscriberKind::Individual, Some(p), _) => p.title = value,
            (ChangeField::Email, _, person, org) => {
                let e = Email::parse("email", &value)?;
                if let Some(p) = person {
                    p.email = e.clone();
                }
                if let Some(a) = org {
                    a.email = Some(e.clone());
                }
                out.subscriber.email = Some(e);
            }
            (ChangeField::Workplace, SubscriberKind::Individual | SubscriberKind::Device, person, _) => {
                let w = workplace.ok_or_else(|| {
                    DomainError::invalid("changes", format!("nơi công tác mới '{value}' phải là mã của một cơ quan trong danh mục"))
                })?;
                if let Some(p) = person {
                    p.agency_id = w.id;
                }
                out.subscriber.agency_id = w.id;
            }
            (ChangeField::Workplace, SubscriberKind::Organisation, _, _) => {
                return Err(DomainError::rule(
                    "NĐ130-Art66",
                    "đổi cơ quan cấp trên của một tổ chức là sắp xếp lại cơ quan (chuyển cơ quan trong cây danh mục), không làm bằng yêu cầu thay đổi thông tin",
                ))
            }
            (ChangeField::TaxCode, SubscriberKind::Organisation, _, Some(a)) => a.tax_code = Some(TaxCode::parse(&value)?),
            (ChangeField::Address, SubscriberKind::Organisation, _, Some(a)) => a.address = value,
            _ => {
                return Err(DomainError::rule(
                    "NĐ130-Art66",
                    format!("thông tin '{}' không thay đổi được với thuê bao loại '{}'", field.label_vi(), kind.label_vi()),
                ))
            }
        }
    }
    Ok(out)
}

/// Who may file a request (or attach its CSR) for a subscriber: the subscriber for themself
/// (for an organisation, its own CQQLTT officer), the CQQLTT officer of the subscriber's
/// managing agency, and the provincial manager over the subscriber's agency. Nobody else acts
/// for another official: not a colleague who is only a subscriber, not the records clerk, and
/// not IT staff or auditors (NĐ 130 Art. 65, NĐ 68).
pub fn may_file_for(actor: &Actor, sub: &Subscriber, subscriber_agency_path: &str) -> DomainResult<()> {
    let is_self = sub.person_id.is_some() && actor.person_id == sub.person_id;
    let own_organisation = sub.kind == SubscriberKind::Organisation && actor.has_role_at(Role::AgencyOfficer, sub.agency_id);
    if is_self
        || own_organisation
        || actor.has_role_at(Role::AgencyOfficer, sub.managing_agency_id)
        || actor.has_role_over(Role::ProvincialManager, subscriber_agency_path)
    {
        return Ok(());
    }
    Err(DomainError::forbidden(
        "chỉ thuê bao (cho chính mình), cán bộ của cơ quan quản lý trực tiếp (CQQLTT) của thuê bao hoặc người quản lý thuê bao cấp tỉnh được lập yêu cầu",
    ))
}

/// Whether the device a request names belongs to it (issue 11, finding 1): the certificate's
/// own device when the certificate is on one; otherwise a device the subscriber holds or that
/// carried one of the subscriber's certificates (`carried_subscriber_certificate`). A new
/// certificate may also go onto a device in stock, which no one holds yet.
pub fn check_named_device(
    kind: RequestKind,
    device: &KeyDevice,
    certificate: Option<&CertificateRecord>,
    sub: &Subscriber,
    carried_subscriber_certificate: bool,
) -> DomainResult<()> {
    let refuse = |why: String| Err(DomainError::rule("request-device", why));
    if let Some(on) = certificate.and_then(|c| c.device_id) {
        if on != device.id {
            return refuse(format!("thiết bị {} không phải thiết bị lưu khóa của chứng thư số được nêu trong yêu cầu", device.serial));
        }
        return Ok(());
    }
    let holds = device.custodian.is_some() && device.custodian == sub.person_id;
    let new_onto_stock = kind.is_new() && device.status == DeviceStatus::InStock && device.custodian.is_none();
    if holds || carried_subscriber_certificate || new_onto_stock {
        return Ok(());
    }
    refuse(format!("thiết bị {} không phải của thuê bao '{}'; chỉ nêu thiết bị của chính thuê bao", device.serial, sub.display_name))
}

/// Decides the next state of `req` when `actor` takes `action`, or says why not. This is the
/// whole state machine: every persisted transition goes through it.
pub fn next_state(req: &Request, action: Action, actor: &Actor, parties: &Parties<'_>) -> DomainResult<RequestState> {
    use Action::*;
    use RequestState::*;
    let path = parties.subscriber_agency_path;
    let cqqltt = actor.has_role_at(Role::AgencyOfficer, req.managing_agency_id);
    let manager = actor.has_role_over(Role::ProvincialManager, path);
    let staff = actor.has_role_over(Role::ItStaff, path);
    let is_self = parties.subscriber_person.is_some() && actor.person_id == parties.subscriber_person;
    let direct = parties.route == Route::Direct;

    let bad_state = |why: &str| DomainError::Transition { from: req.state.code(), action: action.code(), message: why.to_string() };
    let deny = |who: &str| DomainError::forbidden(format!("bước '{}' chỉ do {} thực hiện", action.label_vi(), who));

    let (allowed, to, who) = match (req.state, action) {
        (Draft, Submit) => {
            (is_self || cqqltt || actor.user_id == req.created_by, Submitted, "thuê bao, người lập yêu cầu hoặc cán bộ CQQLTT")
        }
        (Submitted, Confirm) => (cqqltt, Confirmed, "cán bộ của chính cơ quan quản lý trực tiếp (CQQLTT) của thuê bao"),
        (Confirmed, Check) if !direct => (manager, Checked, "người quản lý thuê bao cấp tỉnh"),
        (Confirmed, Check) => {
            return Err(bad_state(
                "theo quy chế của tỉnh, loại yêu cầu này do CQQLTT gửi thẳng tổ chức chứng thực, không qua bước kiểm tra",
            ))
        }
        (Confirmed, SendToCa) if direct => (cqqltt, SentToCa, "cán bộ CQQLTT"),
        (Confirmed, SendToCa) => return Err(bad_state("yêu cầu phải được người quản lý thuê bao cấp tỉnh kiểm tra trước khi gửi")),
        (Checked, SendToCa) => (manager || staff, SentToCa, "người quản lý thuê bao cấp tỉnh hoặc cán bộ Trung tâm CNTT"),
        (SentToCa, Complete) => (manager || staff || (direct && cqqltt), Completed, "người nhận kết quả từ tổ chức chứng thực"),
        (Submitted, Reject) => (cqqltt, Rejected, "cán bộ CQQLTT"),
        (Confirmed | Checked, Reject) => (manager || (direct && cqqltt), Rejected, "người quản lý thuê bao cấp tỉnh"),
        (SentToCa, Reject) => (manager || staff || (direct && cqqltt), Rejected, "người nhận kết quả từ tổ chức chứng thực"),
        (Draft | Submitted, Cancel) => {
            (actor.user_id == req.created_by || is_self || cqqltt, Cancelled, "người lập yêu cầu hoặc cán bộ CQQLTT")
        }
        (s, _) if s.is_final() => return Err(bad_state("yêu cầu đã kết thúc")),
        _ => return Err(bad_state("bước này không áp dụng ở trạng thái hiện tại")),
    };
    if !allowed {
        return Err(deny(who));
    }
    Ok(to)
}

/// The states an action can be taken from, for help texts and tests.
pub fn expected_states(action: Action) -> &'static [RequestState] {
    use RequestState::*;
    match action {
        Action::Submit => &[Draft],
        Action::Confirm => &[Submitted],
        Action::Check => &[Confirmed],
        Action::SendToCa => &[Confirmed, Checked],
        Action::Complete => &[SentToCa],
        Action::Reject => &[Submitted, Confirmed, Checked, SentToCa],
        Action::Cancel => &[Draft, Submitted],
    }
}

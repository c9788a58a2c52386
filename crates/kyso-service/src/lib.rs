//! kyso-service: the use cases. Every mutation, from the CLI or the web, goes through here:
//! load → check the actor's role and scope → check the rules → persist → write the audit
//! event, all in one transaction.

mod audit;
mod auth;
mod ca;
mod checkpoints;
mod connector;
mod devices;
mod documents;
mod exchange;
mod import;
mod incoming;
mod onboarding;
mod people;
mod reads;
mod registry;
mod reports;
mod requests;
mod trust;

pub use audit::{verify_chain, AuditVerification};
pub use auth::{
    challenge_first_line, is_web_origin, totp_code, ApiTokenView, AuthFailure, CertificateLogin, CertificateProof, ClientInfo,
    LoginChallenge, LoginOutcome, MeView, NewApiToken, NewSession, OidcConfig, OidcHttp, OidcStart, PasswordLogin, Pending, Principal,
    Session, TotpEnrolment, CHALLENGE_MINUTES,
};
pub use checkpoints::{AuditCheckpoint, CheckpointVerification};
pub use kyso_core::authz::{Actor, AuthMethod, Role};
/// A parsed OCSP request (for the server's hot path).
pub use kyso_pki::ocsp::ParsedRequest as OcspRequest;

pub fn parse_ocsp_request(der: &[u8]) -> Result<OcspRequest, kyso_pki::PkiError> {
    kyso_pki::ocsp::parse_request(der)
}

/// The OCSP answer to a request that cannot be read.
pub fn ocsp_malformed() -> Vec<u8> {
    kyso_pki::ocsp::error_response(kyso_pki::ocsp::ResponseStatus::MalformedRequest)
}

pub use ca::{CaCerts, CaConfig, OcspCache, OcspIndex, ISSUING_KEY, OCSP_KEY, ROOT_KEY, TSA_KEY};
pub use connector::{csr_b64, csr_pem, BuiltInCa, CaConnector, FileExchangeCa, Submission};
pub use devices::Handover;
pub use documents::{scheme_by_name, NewDocument, PreparedSignature, SignatureOptions, DEFAULT_SEAL_MM};
pub use exchange::{ExportItem, ImportResult};
pub use import::{ImportSummary, RowError};
pub use incoming::{Incoming, Received, VerifyWith};
pub use onboarding::{CertificateList, OnboardingSummary, LIST_FIELDS};
pub use people::{PersonEventInput, PersonEventOutcome, PersonUpdate};
pub use registry::DisplayNames;
pub use registry::{DeviceInput, ExistingCertificate, SubscriberInput};
pub use requests::{CompletionInput, NewRequestInput, RequestView};

use chrono::{DateTime, Utc};
use kyso_core::audit::NewEvent;
use kyso_core::authz::Permission;
use kyso_core::calendar::WorkCalendar;
use kyso_core::profile::ProvinceProfile;
use kyso_core::registry::Agency;
use kyso_core::rules::Regimes;
use kyso_core::DomainError;
use kyso_store::{Db, StoreError, Tx};

/// What can go wrong in a use case.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Domain(#[from] DomainError),
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A bulk import had bad rows; nothing was written.
    #[error("tệp nhập có {} dòng lỗi; không dòng nào được ghi", .0.len())]
    Import(Vec<RowError>),
    #[error("chưa khởi tạo hệ thống: hãy chạy 'kyso init' hoặc 'kyso demo' trước")]
    NotInitialised,
    /// A login, session or API token did not let someone in.
    #[error("{0}")]
    Auth(auth::AuthFailure),
    /// The key token refused (wrong PIN, locked) or failed.
    #[error("{0}")]
    Token(kyso_token::TokenError),
}

impl ServiceError {
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Domain(d) => d.code(),
            ServiceError::Store(StoreError::Constraint(_)) => "conflict",
            ServiceError::Store(_) => "storage",
            ServiceError::Import(_) => "import",
            ServiceError::NotInitialised => "not_initialised",
            ServiceError::Token(t) => t.code(),
            ServiceError::Auth(a) => a.code(),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// The setting that keeps the earlier profiles: JSON pairs (the day the next one took effect,
/// the earlier profile's key), oldest first.
const PROFILE_HISTORY: &str = "profile.history";

fn parse_profile_history(text: &str) -> ServiceResult<Vec<(chrono::NaiveDate, ProvinceProfile)>> {
    if text.trim().is_empty() {
        return Ok(vec![]);
    }
    let pairs: Vec<(String, String)> =
        serde_json::from_str(text).map_err(|e| kyso_store::StoreError::Corrupt(format!("profile.history: {e}")))?;
    pairs
        .into_iter()
        .map(|(d, k)| {
            let day = d.parse().map_err(|_| kyso_store::StoreError::Corrupt(format!("profile.history: ngày '{d}'")))?;
            let p = ProvinceProfile::builtin(&k).ok_or_else(|| DomainError::not_found("hồ sơ tỉnh", &k))?;
            Ok((day, p))
        })
        .collect()
}

/// The login that the installer's own events are recorded under.
pub const SYSTEM_LOGIN: &str = "system";

/// The application: a database, the deployment's province profile, the national rules and
/// the working-day calendar.
pub struct Service {
    db: Db,
    /// The profile in force now, and the earlier ones with the day each took effect, oldest
    /// first (a deployment that moved, as Bắc Giang into Bắc Ninh on 01/07/2025).
    profile: ProvinceProfile,
    earlier_profiles: Vec<(chrono::NaiveDate, ProvinceProfile)>,
    regimes: Regimes,
    calendar: WorkCalendar,
    /// Where document files and signature and seal images live (see `set_files`).
    files: Option<kyso_store::FileStore>,
    /// A training deployment (see [`Bootstrap::training`]).
    training: bool,
    /// The key that seals secrets kept in the database (agent pairings), held outside it
    /// (see `set_sealing_key`).
    sealing_key: Option<kyso_token::Zeroizing<[u8; 32]>>,
    /// What an unknown login's password is checked against (see `auth::password`).
    dummy_hash: std::sync::OnceLock<String>,
    /// The OpenID Connect provider of single sign-on, if any (see `set_oidc`).
    oidc: Option<std::sync::Arc<auth::Oidc>>,
    /// Fetches a CRL distribution point where the deployment may reach the network (see
    /// `set_revocation_fetch`), with what it fetched lately.
    revocation_fetch: Option<RevocationFetch>,
    fetched_crls: std::sync::Mutex<FetchedCrls>,
    /// Sessions and `me` answers checked lately (see `auth::session`).
    session_cache: auth::SessionCache,
}

/// CRLs fetched lately, by URL, with when.
type FetchedCrls = std::collections::HashMap<String, (chrono::DateTime<chrono::Utc>, Vec<u8>)>;

/// Compares two secrets in constant time (every byte, whatever the first difference).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Fetches a URL's body (a CRL), or None when it cannot.
pub type RevocationFetch = std::sync::Arc<dyn Fn(&str) -> Option<Vec<u8>> + Send + Sync>;

/// The first agency and account of a new deployment.
pub struct Bootstrap {
    pub profile_key: String,
    pub root: kyso_core::registry::AgencyInput,
    pub admin_login: String,
    /// A training (or test) deployment, for good: only it may run on a fixed clock
    /// (`KYSO_NOW`), and its built-in CA says in its names that it is not real.
    pub training: bool,
}

/// The setting that marks a training deployment; written once, at initialisation.
const TRAINING: &str = "deployment.training";

/// What the names of a training deployment's CA carry; a production deployment never trusts
/// a CA whose name carries it.
pub const TRAINING_CA_MARK: &str = "thử nghiệm kyso";

impl Service {
    /// Opens an initialised deployment.
    pub fn open(db: Db, calendar: WorkCalendar) -> ServiceResult<Self> {
        db.migrate()?;
        let key = db.read(|tx| tx.setting("profile"))?.ok_or(ServiceError::NotInitialised)?;
        let profile = ProvinceProfile::builtin(&key).ok_or_else(|| DomainError::not_found("hồ sơ tỉnh", &key))?;
        let history = db.read(|tx| tx.setting(PROFILE_HISTORY))?.unwrap_or_default();
        let earlier_profiles = parse_profile_history(&history)?;
        let training = db.read(|tx| tx.setting(TRAINING))?.is_some_and(|v| v == "1");
        Ok(Service {
            db,
            profile,
            earlier_profiles,
            regimes: Regimes::builtin(),
            calendar,
            files: None,
            training,
            sealing_key: None,
            dummy_hash: Default::default(),
            oidc: None,
            revocation_fetch: None,
            fetched_crls: Default::default(),
            session_cache: Default::default(),
        })
    }

    /// Whether this is a training deployment.
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// True when the database already holds a deployment.
    pub fn is_initialised(db: &Db) -> ServiceResult<bool> {
        db.migrate()?;
        Ok(db.read(|tx| tx.setting("profile"))?.is_some())
    }

    /// Creates a deployment: the profile, the root agency (the province) and the first IT
    /// staff account, which holds `it_staff` over the whole tree.
    pub fn init(db: Db, calendar: WorkCalendar, b: &Bootstrap, now: DateTime<Utc>) -> ServiceResult<Self> {
        db.migrate()?;
        let profile = ProvinceProfile::builtin(&b.profile_key).ok_or_else(|| {
            DomainError::invalid(
                "profile",
                format!("không có hồ sơ tỉnh '{}'; các hồ sơ có sẵn: {}", b.profile_key, ProvinceProfile::builtin_keys().join(", ")),
            )
        })?;
        let root = kyso_core::registry::NewAgency::parse(&b.root, kyso_core::value::vn_date(now))?;
        kyso_core::value::required_text("login", &b.admin_login, 64)?;
        db.write(|tx| -> ServiceResult<()> {
            if tx.setting("profile")?.is_some() {
                return Err(DomainError::conflict("hệ thống", "đã khởi tạo").into());
            }
            tx.set_setting("profile", &profile.key)?;
            if b.training {
                tx.set_setting(TRAINING, "1")?;
            }
            let agency = tx.insert_agency(&root, None)?;
            let user = tx.insert_user(&b.admin_login, None, now)?;
            tx.insert_grant(user, kyso_core::authz::Role::ItStaff, agency.id)?;
            tx.append_audit(
                NewEvent::new(SYSTEM_LOGIN, "system.initialised", format!("agency:{}", agency.id))
                    .agency(agency.id)
                    .details(serde_json::json!({"profile": profile.key, "root": agency.code.as_str(), "admin": b.admin_login, "training": b.training})),
                now,
            )?;
            Ok(())
        })?;
        Ok(Service {
            db,
            profile,
            earlier_profiles: vec![],
            regimes: Regimes::builtin(),
            calendar,
            files: None,
            training: b.training,
            sealing_key: None,
            dummy_hash: Default::default(),
            oidc: None,
            revocation_fetch: None,
            fetched_crls: Default::default(),
            session_cache: Default::default(),
        })
    }

    /// The profile in force now.
    pub fn profile(&self) -> &ProvinceProfile {
        &self.profile
    }

    /// The profile in force on `day`: requests keep the profile of the day they were filed,
    /// reports that of the last day of their period.
    pub fn profile_on(&self, day: chrono::NaiveDate) -> &ProvinceProfile {
        let mut current = &self.profile;
        // Each earlier profile was in force until the next change; walk back from now.
        for (until, p) in self.earlier_profiles.iter().rev() {
            if day < *until {
                current = p;
            } else {
                break;
            }
        }
        current
    }

    /// Moves the deployment to another province profile from `effective` (a day that has come;
    /// a profile change is recorded when it is in force), on the basis of a decision. Requests,
    /// reports and deadlines before that day keep the old profile.
    pub fn change_profile(
        &mut self,
        actor: &Principal,
        key: &str,
        effective: chrono::NaiveDate,
        basis: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let new = ProvinceProfile::builtin(key).ok_or_else(|| {
            DomainError::invalid(
                "profile",
                format!("không có hồ sơ tỉnh '{key}'; các hồ sơ có sẵn: {}", ProvinceProfile::builtin_keys().join(", ")),
            )
        })?;
        let basis = kyso_core::value::required_text("basis", basis, 300)
            .map_err(|_| DomainError::invalid("basis", "ghi căn cứ: số và ngày của quyết định sáp nhập, điều chỉnh"))?;
        if new.key == self.profile.key {
            return Err(DomainError::invalid("profile", format!("hệ thống đang dùng hồ sơ '{key}'")).into());
        }
        if effective > kyso_core::value::vn_date(now) {
            return Err(DomainError::invalid("effective", "chỉ ghi nhận việc chuyển hồ sơ khi đã có hiệu lực").into());
        }
        if self.earlier_profiles.last().is_some_and(|(d, _)| effective <= *d) {
            return Err(DomainError::invalid("effective", "ngày hiệu lực phải sau lần chuyển hồ sơ trước").into());
        }
        let old = self.profile.key.clone();
        let mut history = self.earlier_profiles.iter().map(|(d, p)| (d.to_string(), p.key.clone())).collect::<Vec<_>>();
        history.push((effective.to_string(), old.clone()));
        let text = serde_json::to_string(&history).map_err(|e| kyso_store::StoreError::Corrupt(e.to_string()))?;
        self.mutate(actor, "profile.change", &format!("profile:{key}"), now, |tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, kyso_core::authz::Permission::ManageAgencies, &root)?;
            tx.set_setting("profile", &new.key)?;
            tx.set_setting(PROFILE_HISTORY, &text)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "profile.changed", format!("profile:{}", new.key))
                    .agency(root.id)
                    .details(serde_json::json!({"from": old, "to": new.key, "effective": effective, "basis": basis})),
                now,
            )?;
            Ok(())
        })?;
        self.earlier_profiles = parse_profile_history(&text)?;
        self.profile = new;
        Ok(())
    }
    pub fn regimes(&self) -> &Regimes {
        &self.regimes
    }
    pub fn calendar(&self) -> &WorkCalendar {
        &self.calendar
    }
    /// The database, for tests and benchmarks only: everything else goes through use cases.
    #[cfg(feature = "test-support")]
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Runs a mutation. If the actor turns out not to be allowed, the transaction is rolled
    /// back and a `denied` event is chained in its own transaction, so attempts are on record.
    fn mutate<T>(
        &self,
        actor: &Principal,
        action: &str,
        object: &str,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut Tx<'_>) -> ServiceResult<T>,
    ) -> ServiceResult<T> {
        match self.db.write(f) {
            Err(ServiceError::Domain(DomainError::Forbidden { message })) => {
                self.db.write(|tx| {
                    tx.append_audit(
                        NewEvent::new(&actor.login, action, object.to_string()).denied().details(serde_json::json!({"reason": message})),
                        now,
                    )
                })?;
                Err(DomainError::Forbidden { message }.into())
            }
            other => other,
        }
    }
}

pub(crate) fn load_actor(tx: &mut Tx<'_>, login: &str) -> ServiceResult<Actor> {
    let (user_id, person_id) = tx.user_by_login(login)?.ok_or_else(|| DomainError::not_found("tài khoản", login))?;
    if tx.user_disabled(user_id)? {
        return Err(DomainError::forbidden(format!("tài khoản '{login}' đã bị khóa")).into());
    }
    let grants = tx.grants(user_id)?;
    Ok(Actor { user_id, login: login.to_string(), person_id, grants })
}

pub(crate) fn require(actor: &Principal, p: Permission, agency: &Agency) -> ServiceResult<()> {
    if actor.may(p, &agency.path) {
        Ok(())
    } else {
        Err(DomainError::forbidden(format!(
            "tài khoản '{}' không được {} tại '{}' ({})",
            actor.login,
            p.label_vi(),
            agency.name,
            agency.code
        ))
        .into())
    }
}

/// IT staff do not reset, disable or take roles from a provincial manager's account: only a
/// manager over `scope` (or the local operator, who made the first) does. True when the target
/// is a manager and a manager acts (who then needs no `ManageUsers`).
pub(crate) fn guard_manager_account(
    tx: &mut Tx<'_>,
    actor: &Principal,
    user: kyso_core::registry::UserId,
    scope: &Agency,
) -> ServiceResult<bool> {
    use kyso_core::authz::{AuthMethod, Role};
    let target_is_manager = tx.grants(user)?.iter().any(|g| g.role == Role::ProvincialManager);
    if !target_is_manager || actor.method() == AuthMethod::LocalOperator {
        return Ok(false);
    }
    if !actor.has_role_over(Role::ProvincialManager, &scope.path) {
        return Err(
            DomainError::forbidden("tài khoản này là người quản lý thuê bao cấp tỉnh; chỉ người quản lý cấp tỉnh thay đổi được").into()
        );
    }
    Ok(true)
}

/// SHA-256 in hex.
pub(crate) fn hex_sha256(b: &[u8]) -> String {
    hex::encode(kyso_token::HashAlg::Sha256.digest(b))
}

pub(crate) fn agency_by_code(tx: &mut Tx<'_>, code: &str) -> ServiceResult<Agency> {
    let c = kyso_core::value::AgencyCode::parse(code).map_err(|_| DomainError::not_found("cơ quan", code))?;
    Ok(tx.agency_by_code(c.as_str())?.ok_or_else(|| DomainError::not_found("cơ quan", code))?)
}

pub(crate) fn agency_by_id(tx: &mut Tx<'_>, id: kyso_core::registry::AgencyId) -> ServiceResult<Agency> {
    Ok(tx.agency(id)?.ok_or_else(|| DomainError::not_found("cơ quan", id))?)
}

/// The paths an actor may read, or the root when it holds a grant there.
pub(crate) fn read_scopes(actor: &Principal, p: Permission) -> ServiceResult<Vec<String>> {
    let mut v: Vec<String> = actor.scopes(p).into_iter().map(str::to_string).collect();
    v.sort();
    // Drop paths already covered by a shorter one.
    let mut out: Vec<String> = Vec::new();
    for s in v {
        if !out.iter().any(|o| s.starts_with(o.as_str())) {
            out.push(s);
        }
    }
    if out.is_empty() {
        return Err(DomainError::forbidden(format!("tài khoản '{}' không được {}", actor.login, p.label_vi())).into());
    }
    Ok(out)
}

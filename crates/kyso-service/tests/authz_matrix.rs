//! The authorisation matrix: every public use case × every role × scope, against the literal
//! rows of `tests/authz_matrix.table`, each with its legal source. The table is written from
//! the regulations, not from the authorisation code. A public use case of `src/` (a `pub fn`
//! taking a `Principal` or a `Session`) without its seven rows fails, as does any cell whose
//! outcome differs. On SQLite and PostgreSQL.
//!
//! Each cell calls the use case once, as a principal that logged in through the real password
//! (and TOTP) path, against a target made fresh for that call by the administrator, so that
//! one cell's success never changes another's outcome. A refusal is an error whose code is
//! `forbidden`; any other outcome passed authorisation.

mod support;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kyso_core::authz::Permission;
use kyso_core::document::{Document, IncomingEntry, Notification};
use kyso_core::registry::{Agency, CertificateRecord, KeyDevice, Person, PersonInput, Subscriber};
use kyso_core::request::{add_months, Action, Request, RequestDetails, RequestKind};
use kyso_core::rules::RevocationReason;
use kyso_core::DomainError;
use kyso_pki::csr;
use kyso_pki::name::DistinguishedName;
use kyso_service::{
    scheme_by_name, totp_code, AuthMethod, CaConfig, ClientInfo, CompletionInput, DeviceInput, ExistingCertificate, Handover,
    ImportSummary, Incoming, NewDocument, NewRequestInput, PasswordLogin, Pending, PersonEventInput, PersonUpdate, PreparedSignature,
    Principal, Role, Service, ServiceError, ServiceResult, Session, SignatureOptions, SubscriberInput, VerifyWith,
};
use kyso_token::soft::SoftToken;
use kyso_token::{HashAlg, KeyAlgorithm, Pin, SignatureScheme, Signer, Token, TokenSession};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use support::*;

const PROFILE: &str = "bac-ninh-2023";
const DOMAIN: &str = "bacninh.gov.vn";
/// The agency of agency-level targets, its parent (the root), a unit below it, another branch.
const TARGET: &str = "SO-A";
const ROOT: &str = "UBND-T";
const UNIT: &str = "SO-A-P1";
const OTHER: &str = "SO-B";
const AGENCIES: [&str; 4] = [TARGET, ROOT, UNIT, OTHER];
/// The fixture's CQQLTT officer of SO-A (Lê Văn Cường, account cb.a): a receiver of returned devices.
const OFFICER_A_CID: &str = "027075000003";
const PW: &str = "Mật khẩu ma trận phân quyền 2026";
const PW2: &str = "Mật khẩu đổi tạm của ma trận 2026";
const CA_URL: &str = "http://127.0.0.1:8480";
const TRUST_NOTE: &str = "CA phục vụ các cơ quan Nhà nước (thử nghiệm), thêm bởi ma trận phân quyền";

// ---------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Refused,
    NotApplicable,
}

impl Outcome {
    fn parse(s: &str) -> Option<Outcome> {
        match s {
            "Y" => Some(Outcome::Allowed),
            "N" => Some(Outcome::Refused),
            "-" => Some(Outcome::NotApplicable),
            _ => None,
        }
    }
    fn mark(self) -> &'static str {
        match self {
            Outcome::Allowed => "Y",
            Outcome::Refused => "N",
            Outcome::NotApplicable => "-",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Own,
    Parent,
    Child,
    Other,
}

impl Scope {
    const ALL: [Scope; 4] = [Scope::Own, Scope::Parent, Scope::Child, Scope::Other];
    fn name(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::Parent => "parent",
            Scope::Child => "child",
            Scope::Other => "other",
        }
    }
}

#[derive(Debug, Clone)]
struct Row {
    line: usize,
    role: Role,
    cells: [Outcome; 4],
    source: String,
}

/// The next whitespace-separated word of `s`, and what follows it.
fn word(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

/// The rows by use case, or every problem found in the text.
fn parse_table(text: &str) -> Result<BTreeMap<String, Vec<Row>>, Vec<String>> {
    let mut rows: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut rest = t;
        let mut words = Vec::new();
        for _ in 0..6 {
            match word(rest) {
                Some((w, r)) => {
                    words.push(w);
                    rest = r;
                }
                None => break,
            }
        }
        let source = rest.trim();
        if words.len() < 6 || source.is_empty() {
            problems.push(format!("dòng {line}: cần 'use_case role own parent child other nguồn', có '{t}'"));
            continue;
        }
        let Some(role) = Role::parse(words[1]).filter(|r| r.code() == words[1]) else {
            problems.push(format!("dòng {line}: vai trò '{}' không có", words[1]));
            continue;
        };
        let mut cells = [Outcome::NotApplicable; 4];
        let mut bad = false;
        for (k, w) in words[2..6].iter().enumerate() {
            match Outcome::parse(w) {
                Some(o) => cells[k] = o,
                None => {
                    problems.push(format!("dòng {line}: ô '{w}' phải là Y, N hoặc -"));
                    bad = true;
                }
            }
        }
        if !bad {
            rows.entry(words[0].to_string()).or_default().push(Row { line, role, cells, source: source.to_string() });
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// The public use cases of the service: every `pub fn` of `src/**/*.rs` whose parameters
/// mention a `Principal` or a `Session`.
fn scanned_use_cases() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("mục thư mục").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                scan_source(&text, &mut out);
            }
        }
    }
    out
}

fn scan_source(text: &str, out: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(at) = rest.find("pub fn ") {
        let after = &rest[at + "pub fn ".len()..];
        let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let Some(open) = after.find('(') else { return };
        let mut depth = 0usize;
        let mut close = None;
        for (j, c) in after[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(open + j);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else { return };
        let params = &after[open + 1..close];
        if params.contains("Principal") || params.contains("Session") {
            out.insert(name);
        }
        rest = &after[close..];
    }
}

/// Where a principal of `role` holds it, for the cell (`scope`) of a use case on `target`; None
/// when that principal does not exist (a CQQLTT in a unit without a seal; a root row's parent).
fn grant_agency(target: Target, role: Role, scope: Scope) -> Option<&'static str> {
    if role == Role::CaService {
        // The CA's system actor acts over the whole deployment, from the root.
        let column = if target == Target::Root { Scope::Own } else { Scope::Parent };
        return (scope == column).then_some(ROOT);
    }
    let agency = match (target, scope) {
        (Target::Root, Scope::Own) => ROOT,
        (Target::Root, Scope::Child) => TARGET,
        (Target::Root, _) => return None,
        (_, Scope::Own) => TARGET,
        (_, Scope::Parent) => ROOT,
        (_, Scope::Child) => UNIT,
        (_, Scope::Other) => OTHER,
    };
    // Only a body with legal personality and its own seal is a CQQLTT (TT 185 Art. 3).
    if role == Role::AgencyOfficer && agency == UNIT {
        return None;
    }
    Some(agency)
}

/// The table, checked against CASES and against the source; panics listing every problem.
fn checked_table() -> BTreeMap<String, Vec<Row>> {
    let table = match parse_table(include_str!("authz_matrix.table")) {
        Ok(t) => t,
        Err(problems) => panic!("tests/authz_matrix.table đọc không được:\n{}", problems.join("\n")),
    };
    let mut problems = Vec::new();
    let mut targets = BTreeMap::new();
    for (name, target, _) in CASES {
        if targets.insert(name.to_string(), *target).is_some() {
            problems.push(format!("CASES có '{name}' hai lần"));
        }
    }
    for (name, rows) in &table {
        let Some(target) = targets.get(name) else {
            problems.push(format!("dòng {}: use case '{name}' không có trong CASES (không có hàm công khai nào như vậy?)", rows[0].line));
            continue;
        };
        for role in Role::ALL {
            let n = rows.iter().filter(|r| r.role == *role).count();
            if n != 1 {
                problems.push(format!("'{name}': vai trò {} có {n} dòng, cần đúng một", role.code()));
            }
        }
        for r in rows {
            for scope in Scope::ALL {
                let cell = r.cells[scope as usize];
                if cell != Outcome::NotApplicable && grant_agency(*target, r.role, scope).is_none() {
                    problems.push(format!(
                        "dòng {}: '{name}' {} {}: ô này không có tài khoản nào (phải là -)",
                        r.line,
                        r.role.code(),
                        scope.name()
                    ));
                }
            }
        }
    }
    for name in targets.keys() {
        if !table.contains_key(name) {
            problems.push(format!("use case '{name}' chưa có dòng nào trong bảng"));
        }
    }
    let scanned = scanned_use_cases();
    let listed: BTreeSet<String> = targets.keys().cloned().collect();
    for name in scanned.difference(&listed) {
        problems.push(format!("hàm công khai '{name}' (nhận Principal hoặc Session) chưa có trong CASES và bảng"));
    }
    for name in listed.difference(&scanned) {
        problems.push(format!("'{name}' trong CASES không còn là hàm công khai nhận Principal hoặc Session"));
    }
    assert!(problems.is_empty(), "ma trận phân quyền chưa đầy đủ:\n{}", problems.join("\n"));
    table
}

#[test]
fn the_table_has_seven_rows_for_every_public_use_case() {
    let table = checked_table();
    assert!(table.values().all(|rows| rows.iter().all(|r| !r.source.is_empty())));
}

// ---------------------------------------------------------------------------------------
// The fixture: the test province, the built-in CA, and one principal per role and agency
// ---------------------------------------------------------------------------------------

/// What the target of a use case is: a fresh record under SO-A, the province root, or the
/// principal's own account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Agency,
    Root,
    Own,
}

struct Cred {
    password: String,
    totp: Option<String>,
}

struct Fx {
    w: World,
    admin: Principal,
    ca: Box<dyn TokenSession>,
    _user: Box<dyn TokenSession>,
    /// The key every subscriber CSR of the matrix is made with.
    csr_key: Arc<dyn Signer>,
    /// SO-A's organisation certificate and key, on a device held by the records clerk at SO-A.
    org_cert: Vec<u8>,
    org_key: Arc<dyn Signer>,
    clerk: Option<Principal>,
    draft: PathBuf,
    creds: RefCell<HashMap<String, Cred>>,
    seq: Cell<u64>,
    /// Logins take strictly later TOTP steps: each is a minute after the last.
    clock: Cell<DateTime<Utc>>,
    /// How many profile changes the matrix made (each takes a day of its own).
    profile_changes: Cell<i64>,
    dir: tempfile::TempDir,
}

/// A step of the fixture that must work: a failure is a broken test, never a refusal.
#[track_caller]
fn ok<T>(what: &str, r: ServiceResult<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("chuẩn bị '{what}' thất bại: [{}] {e}", e.code()),
    }
}

/// A list that silently filters: the fresh target must be in it.
fn visible(found: bool, what: &str) -> ServiceResult<()> {
    if found {
        Ok(())
    } else {
        Err(DomainError::forbidden(format!("ma trận: {what} vừa tạo không có trong danh sách tài khoản này xem được")).into())
    }
}

/// A CSV import reports a refused row as a row error; the refusal is what counts here.
fn imported(r: ServiceResult<ImportSummary>) -> ServiceResult<()> {
    match r {
        Err(ServiceError::Import(rows)) if rows.iter().any(|e| e.message.contains("không được")) => {
            Err(DomainError::forbidden(rows.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; ")).into())
        }
        other => other.map(drop),
    }
}

fn revoke_input(sub: &Subscriber, c: &CertificateRecord) -> NewRequestInput {
    NewRequestInput {
        kind: RequestKind::Revoke,
        subscriber: sub.id,
        certificate_serial: Some(c.serial.to_string()),
        device_serial: None,
        details: RequestDetails::Revoke { reason: RevocationReason::KeyCompromise, device_return: false, lost_device_record: None },
    }
}

fn retired() -> PersonEventInput {
    PersonEventInput {
        event: "retired".into(),
        effective: "2026-03-01".into(),
        basis: "Quyết định số 12/QĐ-SOA ngày 20/02/2026".into(),
        ..Default::default()
    }
}

fn draft_pdf() -> Vec<u8> {
    nd30_draft_pdf("Về việc thử ma trận phân quyền")
}

fn csr_with(key: &dyn Signer, name: &str) -> Vec<u8> {
    let dn = DistinguishedName::parse(&format!("CN={name},C=VN")).expect("tên phân biệt");
    csr::build(&dn, key, SignatureScheme::EcdsaP256Sha256).expect("CSR")
}

impl Fx {
    fn svc(&self) -> &Service {
        &self.w.svc
    }
    fn n(&self) -> u64 {
        let v = self.seq.get() + 1;
        self.seq.set(v);
        v
    }
    fn tick(&self) -> DateTime<Utc> {
        let t = self.clock.get() + Duration::seconds(60);
        self.clock.set(t);
        t
    }
    fn clerk(&self) -> &Principal {
        self.clerk.as_ref().expect("văn thư của SO-A")
    }
    /// The fixture's CQQLTT officer of SO-A, who files requests for the fresh subscribers.
    fn officer(&self) -> Principal {
        self.w.actor("cb.a")
    }

    fn person_input(&self, agency: &str, kind: &str) -> PersonInput {
        let cid = format!("027080{:06}", 500_000 + self.n());
        let mut p = person_in("Người Thử Ma Trận", &cid, "1980-05-01", "nam", kind, agency, DOMAIN);
        p.position = "Chuyên viên".into();
        p
    }
    fn agency_under(&self, parent: &str) -> Agency {
        let code = format!("MX-{}", self.n());
        ok("add_agency", self.svc().add_agency(&self.admin, &agency_in(&code, parent, false, 0, DOMAIN), t0()))
    }
    fn person_at(&self, agency: &str) -> Person {
        ok("add_person", self.svc().add_person(&self.admin, &self.person_input(agency, "specialist"), t0()))
    }
    fn subscriber_of(&self, p: &Person) -> Subscriber {
        ok(
            "add_subscriber",
            self.svc().add_subscriber(&self.admin, &SubscriberInput::Individual { citizen_id: p.citizen_id.to_string() }, None, t0()),
        )
    }
    fn individual_at(&self, agency: &str) -> (Person, Subscriber) {
        let p = self.person_at(agency);
        let s = self.subscriber_of(&p);
        (p, s)
    }
    fn device_at(&self, agency: &str) -> KeyDevice {
        let input = DeviceInput {
            serial: format!("MXD{}", self.n()),
            kind: "usb_token".into(),
            model: "Bit4id".into(),
            agency_code: agency.into(),
        };
        ok("add_device", self.svc().add_device(&self.admin, &input, t0()))
    }
    /// A device of `agency` handed over to a fresh official of it (no certificate on it).
    fn device_held(&self, agency: &str) -> (KeyDevice, Person) {
        let d = self.device_at(agency);
        let who = self.person_at(agency);
        let cid = who.citizen_id.as_str();
        ok("assign_device", self.svc().assign_device(&self.admin, d.serial.as_str(), cid, false, None, t0()));
        let h = Handover { from_cid: None, to_cid: cid, reason: "Cấp mới", decision: None };
        ok("hand_over", self.svc().hand_over(&self.admin, d.serial.as_str(), &h, t0()));
        (d, who)
    }
    /// A fresh account of a fresh official of `agency`, with no role.
    fn account_at(&self, agency: &str) -> String {
        let who = self.person_at(agency);
        let login = format!("mx.tk{}", self.n());
        ok("add_user", self.svc().add_user(&self.admin, &login, Some(who.citizen_id.as_str()), t0()));
        login
    }
    fn existing(&self, sub: &Subscriber, device: Option<&str>) -> ExistingCertificate {
        ExistingCertificate {
            subscriber: sub.id,
            serial: format!("MXC{:06}", self.n()),
            subject: format!("CN={}", sub.display_name),
            issuer: "CN=CA thử nghiệm của ma trận".into(),
            not_before: t0() - Duration::days(30),
            not_after: t0() + Duration::days(700),
            device_serial: device.map(str::to_string),
            renewal_count: 0,
        }
    }
    /// A valid certificate of `sub` entered in the registry (not issued by the built-in CA).
    fn registered_cert(&self, sub: &Subscriber, device: Option<&str>) -> CertificateRecord {
        ok("register_certificate", self.svc().register_certificate(&self.admin, &self.existing(sub, device), t0()))
    }
    fn csr(&self, name: &str) -> Vec<u8> {
        csr_with(&*self.csr_key, name)
    }
    fn draft_request(&self, sub: &Subscriber) -> Request {
        ok("create_request", self.svc().create_request(&self.officer(), &new_input(sub, 24), t0()))
    }
    fn submitted(&self, sub: &Subscriber) -> Request {
        let q = self.draft_request(sub);
        ok("submit", self.svc().transition(&self.officer(), q.id, Action::Submit, None, t0()))
    }
    fn confirmed(&self, sub: &Subscriber) -> Request {
        let q = self.submitted(sub);
        // A second officer confirms: the filer never confirms their own filing.
        ok("confirm", self.svc().transition(&self.w.actor("cb.a2"), q.id, Action::Confirm, None, t0()))
    }
    /// A request filed, confirmed and sent to the CA by the fixture's officers of SO-A.
    fn sent(&self, input: NewRequestInput) -> Request {
        self.w.to_ca(input, t0())
    }
    /// A certificate of a fresh official of SO-A issued by the built-in CA; its serial.
    fn issued_cert(&self) -> String {
        let (_, sub) = self.individual_at(TARGET);
        let q = self.sent(new_input(&sub, 24));
        let (_, der) = ok("ca_issue", self.svc().ca_issue(&self.admin, q.id, &self.csr(&sub.display_name), None, &*self.ca, t0()));
        kyso_pki::cert::parse(&der).expect("chứng thư").1.serial_hex
    }
    /// A fresh electronic copy of SO-A, which the agency alone signs.
    fn copy_doc(&self) -> Document {
        let d = NewDocument {
            agency_code: TARGET.into(),
            kind: "copy".into(),
            title: "Bản sao thử ma trận phân quyền".into(),
            file_name: "ban-sao.pdf".into(),
            ..Default::default()
        };
        ok("create_document", self.svc().create_document(&self.admin, &d, &self.draft, t0()))
    }
    fn seal_opts(&self) -> SignatureOptions {
        let mut o = SignatureOptions::new(None, self.org_cert.clone());
        o.copy_type = Some("SAO Y".into());
        o
    }
    fn org_sign(&self, prepared: &PreparedSignature) -> Vec<u8> {
        let scheme = scheme_by_name(&prepared.scheme).expect("lược đồ chữ ký");
        self.org_key.sign(scheme, &prepared.signed_attrs).expect("chữ ký của thiết bị")
    }
    /// A copy signed by the records clerk: a line of the copy register.
    fn signed_copy(&self) -> Document {
        let d = self.copy_doc();
        ok("sign_document", self.svc().sign_document(self.clerk(), d.id, &self.seal_opts(), &*self.org_key, None, t0()))
    }
    fn incoming(&self) -> (Incoming, PathBuf) {
        let n = self.n();
        let path = self.dir.path().join(format!("nhan-{n}.pdf"));
        std::fs::copy(&self.draft, &path).expect("tệp nhận");
        let inc = Incoming {
            agency_code: TARGET.into(),
            sender: "UBND xã Thử Nghiệm".into(),
            source: "email".into(),
            title: format!("Công văn thử số {n}"),
            ..Default::default()
        };
        (inc, path)
    }
    /// An unsigned document received at SO-A: refused, with a notice to its sender.
    fn received(&self) -> IncomingEntry {
        let (inc, path) = self.incoming();
        let with = VerifyWith { anchors: vec![], intermediates: vec![], crls: vec![], fetch: None };
        ok("receive_document", self.svc().receive_document(&self.admin, &inc, &path, &with, t0())).entry
    }
    fn notice(&self) -> Notification {
        let e = self.received();
        ok("notifications", self.svc().notifications(&self.admin, TARGET, true))
            .into_iter()
            .find(|n| n.incoming_id == Some(e.id))
            .expect("thông báo cho nơi gửi")
    }
    /// An open proposal (the revocation a retirement calls for) about a fresh official of SO-A.
    fn proposal(&self) -> i64 {
        let (who, sub) = self.individual_at(TARGET);
        self.registered_cert(&sub, None);
        let out = ok("record_person_event", self.svc().record_person_event(&self.admin, who.citizen_id.as_str(), &retired(), t0()));
        out.proposals.first().expect("đề xuất thu hồi").id
    }
    /// A new session of an account of the matrix, logged in with its password (and TOTP).
    fn session_of(&self, login: &str) -> (Session, DateTime<Utc>) {
        let (password, totp) = {
            let creds = self.creds.borrow();
            let c = creds.get(login).unwrap_or_else(|| panic!("tài khoản '{login}' không thuộc ma trận"));
            (c.password.clone(), c.totp.clone())
        };
        let at = self.tick();
        let code = totp.map(|s| ok("totp_code", totp_code(&s, at)));
        let client = ClientInfo { address: "198.51.100.20".into(), user_agent: Some("kyso authz matrix".into()) };
        let l = PasswordLogin { login, password: &password, second_factor: code.as_deref(), client: &client };
        let out = ok("login", self.svc().login_with_password(&l, at));
        (ok("session", self.svc().session(&out.session.id, at)), at)
    }
    fn set_totp(&self, login: &str, secret: String) {
        if let Some(c) = self.creds.borrow_mut().get_mut(login) {
            c.totp = Some(secret);
        }
    }
}

/// One principal per role (but the CA's) and agency, and the CA's system actor.
struct Principals {
    by_grant: HashMap<(Role, &'static str), Principal>,
    ca: Principal,
}

impl Principals {
    fn get(&self, target: Target, role: Role, scope: Scope) -> Option<&Principal> {
        let agency = grant_agency(target, role, scope)?;
        if role == Role::CaService {
            return Some(&self.ca);
        }
        self.by_grant.get(&(role, agency))
    }
}

/// An account for `role` at `agency`, of a new official working there, logged in through the
/// password path; the roles that need a second factor enrol TOTP and log in again with it.
fn make_principal(fx: &Fx, role: Role, agency: &'static str) -> (Principal, Person) {
    let at = t0() - Duration::hours(12);
    let kind = if role == Role::RecordsClerk { "records_clerk" } else { "specialist" };
    let person = ok("add_person", fx.svc().add_person(&fx.admin, &fx.person_input(agency, kind), at));
    let login = format!("mx.{}.{}", role.code().replace('_', "-"), agency.to_lowercase());
    ok("add_user", fx.svc().add_user(&fx.admin, &login, Some(person.citizen_id.as_str()), at));
    ok("grant", fx.svc().grant(&fx.admin, &login, role.code(), agency, at));
    ok("set_password", fx.svc().set_password(&fx.admin, &login, PW, false, at));
    fx.creds.borrow_mut().insert(login.clone(), Cred { password: PW.into(), totp: None });
    let two_factor = kyso_core::identity::needs_second_factor([role]);
    if two_factor {
        let (s, now) = fx.session_of(&login);
        assert_eq!(s.pending, Some(Pending::EnrolTotp), "{login}: vai trò cần xác thực hai yếu tố");
        let e = ok("begin_totp", fx.svc().begin_totp(&s, now));
        ok("confirm_totp", fx.svc().confirm_totp(&s, &ok("totp_code", totp_code(&e.secret_base32, now)), now));
        fx.set_totp(&login, e.secret_base32);
    }
    let (s, _) = fx.session_of(&login);
    let p = ok("principal", s.principal()).clone();
    let want = if two_factor { AuthMethod::PasswordTotp } else { AuthMethod::Password };
    assert_eq!(p.method(), want, "{login}");
    (p, person)
}

fn setup(b: Backend) -> (Fx, Principals) {
    let mut w = world(b, PROFILE);
    let dir = tempfile::tempdir().expect("thư mục tạm");
    w.svc.set_files(&dir.path().join("files")).expect("kho tệp");
    let admin = w.actor("admin");
    let ca_token = SoftToken::create(dir.path(), "ca", &Pin::new("ca-pin-1"), &Pin::new("ca-so-pin-1"), 5, 1000).expect("thiết bị CA");
    let ca = ca_token.login(&Pin::new("ca-pin-1")).expect("đăng nhập thiết bị CA");
    ok("ca_init", w.svc.ca_init(&admin, &CaConfig::demo(CA_URL), &*ca, t0() - Duration::hours(18)));
    let user_token = SoftToken::create(dir.path(), "user", &Pin::new("1234"), &Pin::new("12345678"), 5, 1000).expect("thiết bị");
    let user = user_token.login(&Pin::new("1234")).expect("đăng nhập thiết bị");
    let csr_key = user.generate_key("mx-csr", KeyAlgorithm::EcP256).expect("khóa");
    let org_key = user.generate_key("mx-org", KeyAlgorithm::EcP256).expect("khóa");
    let draft = dir.path().join("ban-thao.pdf");
    std::fs::write(&draft, draft_pdf()).expect("bản thảo");
    let mut fx = Fx {
        w,
        admin,
        ca,
        _user: user,
        csr_key,
        org_cert: Vec::new(),
        org_key,
        clerk: None,
        draft,
        creds: RefCell::new(HashMap::new()),
        seq: Cell::new(0),
        clock: Cell::new(t0() - Duration::hours(8)),
        profile_changes: Cell::new(0),
        dir,
    };
    let mut by_grant = HashMap::new();
    let mut clerk_person = None;
    for role in Role::ALL.iter().copied().filter(|r| *r != Role::CaService) {
        for agency in AGENCIES {
            if role == Role::AgencyOfficer && agency == UNIT {
                continue;
            }
            let (p, person) = make_principal(&fx, role, agency);
            if role == Role::RecordsClerk && agency == TARGET {
                clerk_person = Some(person);
            }
            by_grant.insert((role, agency), p);
        }
    }
    // SO-A's organisation certificate from the built-in CA, on a device the records clerk at
    // SO-A receives by a written decision: the body's signature is theirs to apply.
    let clerk_person = clerk_person.expect("văn thư của SO-A");
    let at = t0() - Duration::hours(2);
    let device = DeviceInput { serial: "MXORG".into(), kind: "usb_token".into(), model: "Bit4id".into(), agency_code: TARGET.into() };
    ok("add_device", fx.svc().add_device(&fx.admin, &device, at));
    let q = fx.w.to_ca(new_input(&fx.w.organisation, 24), at);
    let req = csr_with(&*fx.org_key, &fx.w.organisation.display_name);
    let (_, der) = ok("ca_issue (SO-A)", fx.svc().ca_issue(&fx.admin, q.id, &req, Some("MXORG"), &*fx.ca, at));
    let h = Handover {
        from_cid: None,
        to_cid: clerk_person.citizen_id.as_str(),
        reason: "Giao thiết bị của cơ quan cho văn thư",
        decision: Some("Quyết định số 9/QĐ-SOA ngày 01/3/2026"),
    };
    ok("hand_over (MXORG)", fx.svc().hand_over(&fx.admin, "MXORG", &h, at));
    fx.org_cert = der;
    fx.clerk = by_grant.get(&(Role::RecordsClerk, TARGET)).cloned();
    (fx, Principals { by_grant, ca: Principal::ca_service() })
}

// ---------------------------------------------------------------------------------------
// The use cases
// ---------------------------------------------------------------------------------------

type Case = fn(&mut Fx, &Principal) -> ServiceResult<()>;

/// Every public use case, its target, and one call of it as the principal under test. Multi-step
/// use cases are brought to their last step by the administrator or the fixture's officers.
/// `change_profile` is last: it moves the deployment (and back) and must not touch the others.
static CASES: &[(&str, Target, Case)] = &[
    // ---- the registry: bodies ----
    ("add_agency", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let n = fx.n();
        fx.svc().add_agency(p, &agency_in(&format!("MX-{n}"), TARGET, false, n, DOMAIN), t0()).map(drop)
    }),
    ("close_agency", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let a = fx.agency_under(TARGET);
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).expect("ngày");
        fx.svc().close_agency(p, a.code.as_str(), day, t0()).map(drop)
    }),
    ("import_agencies", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let n = fx.n();
        let csv = format!(
            "code,name,parent_code,legal_entity,tax_code,budget_code,email,address,valid_from\n\
             MX-{n},Cơ quan nhập MX-{n},{TARGET},0,,,mx-{n}@{DOMAIN},Bắc Ninh,2025-07-01\n"
        );
        imported(fx.svc().import_agencies(p, csv.as_bytes(), t0()))
    }),
    ("agency", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let a = fx.agency_under(TARGET);
        fx.svc().agency(p, a.code.as_str()).map(drop)
    }),
    ("agency_by_id", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let a = fx.agency_under(TARGET);
        fx.svc().agency_by_id(p, a.id).map(drop)
    }),
    ("list_agencies", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let a = fx.agency_under(TARGET);
        let v = fx.svc().list_agencies(p, None)?;
        visible(v.iter().any(|x| x.id == a.id), "cơ quan")
    }),
    // ---- officials ----
    ("add_person", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        fx.svc().add_person(p, &fx.person_input(TARGET, "specialist"), t0()).map(drop)
    }),
    ("import_persons", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let who = fx.person_input(TARGET, "specialist");
        let csv = format!(
            "full_name,citizen_id,date_of_birth,gender,position,position_kind,title,agency_code,email,phone\n\
             {},{},{},{},{},{},,{},{},\n",
            who.full_name, who.citizen_id, who.date_of_birth, who.gender, who.position, who.position_kind, who.agency_code, who.email
        );
        imported(fx.svc().import_persons(p, csv.as_bytes(), t0()))
    }),
    ("update_person", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let who = fx.person_at(TARGET);
        let u = PersonUpdate { title: Some("Chuyên viên chính".into()), ..Default::default() };
        fx.svc().update_person(p, who.citizen_id.as_str(), &u, t0()).map(drop)
    }),
    ("record_person_event", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let who = fx.person_at(TARGET);
        fx.svc().record_person_event(p, who.citizen_id.as_str(), &retired(), t0()).map(drop)
    }),
    ("person", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let who = fx.person_at(TARGET);
        fx.svc().person(p, who.citizen_id.as_str(), t0()).map(drop)
    }),
    ("person_by_id", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let who = fx.person_at(TARGET);
        fx.svc().person_by_id(p, who.id, t0()).map(drop)
    }),
    ("list_persons", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let who = fx.person_at(TARGET);
        let v = fx.svc().list_persons(p, None, 1_000_000, t0())?;
        visible(v.iter().any(|r| r.id == who.id), "cán bộ")
    }),
    ("set_signature_image", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let who = fx.person_at(TARGET);
        fx.svc().set_signature_image(p, who.citizen_id.as_str(), &kyso_pdf::samples::signature_png(), t0())
    }),
    // ---- accounts ----
    ("add_user", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let who = fx.person_at(TARGET);
        fx.svc().add_user(p, &format!("mx.tk{}", fx.n()), Some(who.citizen_id.as_str()), t0())
    }),
    ("grant", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let login = fx.account_at(TARGET);
        fx.svc().grant(p, &login, "subscriber", TARGET, t0())
    }),
    ("set_password", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let login = fx.account_at(TARGET);
        fx.svc().set_password(p, &login, PW, true, t0())
    }),
    ("reset_second_factor", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let login = fx.account_at(TARGET);
        fx.svc().reset_second_factor(p, &login, t0())
    }),
    ("disable_user", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let login = fx.account_at(TARGET);
        fx.svc().disable_user(p, &login, t0())
    }),
    ("revoke_role", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let login = fx.account_at(TARGET);
        ok("grant", fx.svc().grant(&fx.admin, &login, "subscriber", TARGET, t0()));
        fx.svc().revoke_role(p, &login, "subscriber", TARGET, t0())
    }),
    ("list_users", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> { fx.svc().list_users(p).map(drop) }),
    // ---- subscribers ----
    ("add_subscriber", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let who = fx.person_at(TARGET);
        fx.svc().add_subscriber(p, &SubscriberInput::Individual { citizen_id: who.citizen_id.to_string() }, None, t0()).map(drop)
    }),
    ("subscriber", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        fx.svc().subscriber(p, sub.id).map(drop)
    }),
    ("subscriber_of_person", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (who, _) = fx.individual_at(TARGET);
        fx.svc().subscriber_of_person(p, who.id).map(drop)
    }),
    ("subscriber_of_agency", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        // SO-A's own organisation subscriber: reading it changes nothing.
        fx.svc().subscriber_of_agency(p, TARGET).map(drop)
    }),
    ("list_subscribers", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let v = fx.svc().list_subscribers(p, None, 1_000_000)?;
        visible(v.iter().any(|s| s.id == sub.id), "thuê bao")
    }),
    ("display_names", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (who, sub) = fx.individual_at(TARGET);
        let a = fx.agency_under(TARGET);
        let names = fx.svc().display_names(p, &[sub.id], &[a.id], &[who.id])?;
        visible(names.persons.contains_key(&who.id), "tên cán bộ")
    }),
    // ---- key devices ----
    ("add_device", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let input =
            DeviceInput { serial: format!("MXD{}", fx.n()), kind: "usb_token".into(), model: "Bit4id".into(), agency_code: TARGET.into() };
        fx.svc().add_device(p, &input, t0()).map(drop)
    }),
    ("set_device_status", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let d = fx.device_at(TARGET);
        fx.svc().set_device_status(p, d.serial.as_str(), "damaged", t0()).map(drop)
    }),
    ("assign_device", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let d = fx.device_at(TARGET);
        let who = fx.person_at(TARGET);
        fx.svc().assign_device(p, d.serial.as_str(), who.citizen_id.as_str(), false, None, t0()).map(drop)
    }),
    ("hand_over", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let d = fx.device_at(TARGET);
        let who = fx.person_at(TARGET);
        let cid = who.citizen_id.as_str();
        ok("assign_device", fx.svc().assign_device(&fx.admin, d.serial.as_str(), cid, false, None, t0()));
        let h = Handover { from_cid: None, to_cid: cid, reason: "Cấp mới", decision: None };
        fx.svc().hand_over(p, d.serial.as_str(), &h, t0()).map(drop)
    }),
    ("return_device", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (d, _) = fx.device_held(TARGET);
        fx.svc().return_device(p, d.serial.as_str(), OFFICER_A_CID, "Chuyển công tác", t0()).map(drop)
    }),
    ("record_token_locked", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (d, who) = fx.device_held(TARGET);
        let sub = fx.subscriber_of(&who);
        let c = fx.registered_cert(&sub, Some(d.serial.as_str()));
        fx.svc().record_token_locked(p, c.serial.as_str(), "kyso", t0()).map(drop)
    }),
    ("report_lost", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (d, _) = fx.device_held(TARGET);
        fx.svc().report_lost(p, d.serial.as_str(), "Biên bản số 3/BB-SOA ngày 02/3/2026", t0()).map(drop)
    }),
    ("device", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let d = fx.device_at(TARGET);
        fx.svc().device(p, d.serial.as_str()).map(drop)
    }),
    ("device_by_id", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let d = fx.device_at(TARGET);
        fx.svc().device_by_id(p, d.id).map(drop)
    }),
    ("list_devices", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let d = fx.device_at(TARGET);
        let v = fx.svc().list_devices(p, None, 1_000_000)?;
        visible(v.iter().any(|x| x.id == d.id), "thiết bị")
    }),
    ("handover_records", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (d, _) = fx.device_held(TARGET);
        fx.svc().handover_records(p, d.serial.as_str()).map(drop)
    }),
    // ---- certificates ----
    ("register_certificate", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        fx.svc().register_certificate(p, &fx.existing(&sub, None), t0()).map(drop)
    }),
    ("certificate", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let c = fx.registered_cert(&sub, None);
        fx.svc().certificate(p, c.serial.as_str()).map(drop)
    }),
    ("certificate_by_id", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let c = fx.registered_cert(&sub, None);
        fx.svc().certificate_by_id(p, c.id).map(drop)
    }),
    ("list_certificates", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let c = fx.registered_cert(&sub, None);
        let v = fx.svc().list_certificates(p, None, &kyso_store::CertificateFilter::default())?;
        visible(v.iter().any(|x| x.id == c.id), "chứng thư số")
    }),
    ("expiring_certificates", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let c = fx.registered_cert(&sub, None);
        let v = fx.svc().expiring_certificates(p, None, 800, t0(), 1_000_000)?;
        visible(v.iter().any(|x| x.id == c.id), "chứng thư số sắp hết hạn")
    }),
    ("import_certificates", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        fx.svc().import_certificates(p, &[], None, t0()).map(drop)
    }),
    ("certificates_for_review", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        fx.svc().certificates_for_review(p).map(drop)
    }),
    ("import_from_ca", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> { fx.svc().import_from_ca(p, &[], t0()).map(drop) }),
    // ---- certification requests ----
    ("create_request", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        fx.svc().create_request(p, &new_input(&sub, 24), t0()).map(drop)
    }),
    ("attach_csr", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let q = fx.draft_request(&sub);
        fx.svc().attach_csr(p, q.id, &fx.csr(&sub.display_name), t0())
    }),
    // The step the CQQLTT answers for: confirming a submitted request.
    ("transition", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let q = fx.submitted(&sub);
        fx.svc().transition(p, q.id, Action::Confirm, None, t0()).map(drop)
    }),
    ("send_to_ca", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let q = fx.confirmed(&sub);
        fx.svc().send_to_ca(p, &[q.id], t0()).map(drop)
    }),
    ("complete_request", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let q = fx.sent(new_input(&sub, 24));
        let done = CompletionInput::Issued {
            serial: format!("MXI{:06}", fx.n()),
            subject: format!("CN={}", sub.display_name),
            issuer: "CN=CA phục vụ các cơ quan Nhà nước G2".into(),
            not_before: t0(),
            not_after: add_months(t0(), 24),
            device_serial: None,
        };
        fx.svc().complete_request(p, q.id, &done, t0()).map(drop)
    }),
    ("export_batch", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let q = fx.sent(new_input(&sub, 24));
        fx.svc().export_batch(p, q.batch_id.expect("lô gửi")).map(drop)
    }),
    ("request", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let q = fx.draft_request(&sub);
        fx.svc().request(p, q.id).map(drop)
    }),
    ("list_requests", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let q = fx.draft_request(&sub);
        let v = fx.svc().list_requests(p, None, None, 1_000_000)?;
        visible(v.iter().any(|x| x.id == q.id), "yêu cầu")
    }),
    ("list_proposals", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let id = fx.proposal();
        let v = fx.svc().list_proposals(p, true)?;
        visible(v.iter().any(|x| x.id == id), "đề xuất")
    }),
    ("decide_proposal", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let id = fx.proposal();
        fx.svc().decide_proposal(p, id, false, Some("Thiết bị đã nộp lại; xử lý theo đợt"), t0()).map(drop)
    }),
    // ---- the built-in CA ----
    ("ca_issue", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let q = fx.sent(new_input(&sub, 24));
        fx.svc().ca_issue(p, q.id, &fx.csr(&sub.display_name), None, &*fx.ca, t0()).map(drop)
    }),
    ("ca_issue_batch", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let q = fx.sent(new_input(&sub, 24));
        fx.svc().ca_issue_batch(p, &[(q.id, fx.csr(&sub.display_name))], &*fx.ca, t0()).map(drop)
    }),
    ("ca_revoke", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (_, sub) = fx.individual_at(TARGET);
        let c = fx.registered_cert(&sub, None);
        let q = fx.sent(revoke_input(&sub, &c));
        fx.svc().ca_revoke(p, q.id, &*fx.ca, t0()).map(drop)
    }),
    // The CA exists already (the fixture made it): an allowed call meets "already made".
    ("ca_init", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        fx.svc().ca_init(p, &CaConfig::demo(CA_URL), &*fx.ca, t0()).map(drop)
    }),
    ("ca_init_with_root", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        fx.svc().ca_init_with_root(p, &CaConfig::demo(CA_URL), &*fx.ca, None, t0()).map(drop)
    }),
    ("ca_root_crl", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> { fx.svc().ca_root_crl(p, &*fx.ca, t0()).map(drop) }),
    ("ca_revoke_serial", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let serial = fx.issued_cert();
        fx.svc().ca_revoke_serial(p, &serial, RevocationReason::KeyCompromise, &*fx.ca, t0())
    }),
    ("ca_crl", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> { fx.svc().ca_crl(p, &*fx.ca, false, t0()).map(drop) }),
    ("ca_refresh_ocsp", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        fx.svc().ca_refresh_ocsp(p, &*fx.ca, t0()).map(drop)
    }),
    ("timestamp", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let req =
            kyso_pki::tsp::request(HashAlg::Sha256, &HashAlg::Sha256.digest(b"ma tran phan quyen"), None).expect("yêu cầu dấu thời gian");
        fx.svc().timestamp(p, &req, &*fx.ca, t0()).map(drop)
    }),
    ("check_ca_permission", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        fx.svc().check_ca_permission(p, Permission::OperateCaServices, "ca.crl", t0())
    }),
    // A relying party's status question carries no account: every principal is alike.
    ("ocsp_answer", Target::Root, |fx: &mut Fx, _p: &Principal| -> ServiceResult<()> {
        let certs = ok("ca_certs", fx.svc().ca_certs());
        let req = kyso_pki::ocsp::request_for(&certs.ocsp, &certs.issuing).expect("yêu cầu OCSP");
        let index = ok("ocsp_index", fx.svc().ocsp_index());
        let answer = fx.svc().ocsp_answer(&req, &index, Some(&*fx.ca), t0());
        assert!(!answer.is_empty(), "câu trả lời OCSP rỗng");
        Ok(())
    }),
    ("root_agency", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> { fx.svc().root_agency(p).map(drop) }),
    ("registry_counts", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> { fx.svc().registry_counts(p).map(drop) }),
    // ---- trust store ----
    ("trust_list", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> { fx.svc().trust_list(p).map(drop) }),
    ("trust_add", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let issuing = ok("ca_certs", fx.svc().ca_certs()).issuing;
        let a = fx.svc().trust_add(p, &issuing, TRUST_NOTE, t0())?;
        // The store goes back as it was, so that the next cell adds it again.
        ok("trust_remove", fx.svc().trust_remove(&fx.admin, a.id, t0()));
        Ok(())
    }),
    ("trust_remove", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let issuing = ok("ca_certs", fx.svc().ca_certs()).issuing;
        let a = ok("trust_add", fx.svc().trust_add(&fx.admin, &issuing, TRUST_NOTE, t0()));
        let r = fx.svc().trust_remove(p, a.id, t0());
        if r.is_err() {
            ok("trust_remove", fx.svc().trust_remove(&fx.admin, a.id, t0()));
        }
        r
    }),
    // ---- deployment ----
    ("set_provincial_office", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        // Bắc Ninh's rule never asks for the Office, so naming one changes no outcome.
        fx.svc().set_provincial_office(p, OTHER, t0()).map(drop)
    }),
    // ---- audit log and backups ----
    ("verify_audit", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> { fx.svc().verify_audit(p).map(drop) }),
    ("audit_tail", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> { fx.svc().audit_tail(p, 10).map(drop) }),
    ("audit_checkpoint", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let fx: &Fx = fx;
        let system = Principal::ca_service();
        let stamp = |req: &[u8]| fx.svc().timestamp(&system, req, &*fx.ca, t0()).map_err(|e| e.to_string());
        fx.svc().audit_checkpoint(p, &stamp, t0()).map(drop)
    }),
    ("audit_checkpoints", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> { fx.svc().audit_checkpoints(p).map(drop) }),
    ("verify_audit_checkpoints", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let kept = ok("audit_checkpoints", fx.svc().audit_checkpoints(&fx.admin));
        fx.svc().verify_audit_checkpoints(p, &kept, None).map(drop)
    }),
    ("record_backup", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        fx.svc().record_backup(p, serde_json::json!({"matrix": true}), t0())
    }),
    // On PostgreSQL the snapshot itself is pg_dump's: an allowed call meets that error.
    ("snapshot_database", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let path = fx.dir.path().join(format!("ban-sao-{}.db", fx.n()));
        fx.svc().snapshot_database(p, &path)
    }),
    // ---- reports ----
    ("report", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> { fx.svc().report(p, "2026-H1", Some(TARGET)).map(drop) }),
    ("report_with_inputs", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let inputs: BTreeMap<String, u64> = [("public_services".to_string(), 3)].into_iter().collect();
        fx.svc().report_with_inputs(p, "2026-H1", Some(TARGET), &inputs).map(drop)
    }),
    // ---- documents ----
    ("create_document", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let d = NewDocument {
            agency_code: TARGET.into(),
            kind: "copy".into(),
            title: "Bản sao đăng ký trong ma trận".into(),
            file_name: "ban-sao.pdf".into(),
            ..Default::default()
        };
        fx.svc().create_document(p, &d, &fx.draft, t0()).map(drop)
    }),
    ("document", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let d = fx.copy_doc();
        fx.svc().document(p, d.id).map(drop)
    }),
    ("list_documents", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let d = fx.copy_doc();
        let v = fx.svc().list_documents(p, None, 1_000_000)?;
        visible(v.iter().any(|x| x.id == d.id), "văn bản")
    }),
    ("export_document", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let d = fx.copy_doc();
        let out = fx.dir.path().join(format!("xuat-{}.pdf", fx.n()));
        fx.svc().export_document(p, d.id, &out).map(drop)
    }),
    ("outgoing_register", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let d = fx.signed_copy();
        let v = fx.svc().outgoing_register(p, TARGET, 2026, "copy")?;
        visible(v.iter().any(|e| e.document_id == d.id), "dòng sổ bản sao")
    }),
    ("receive_document", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (inc, path) = fx.incoming();
        let with = VerifyWith { anchors: vec![], intermediates: vec![], crls: vec![], fetch: None };
        fx.svc().receive_document(p, &inc, &path, &with, t0()).map(drop)
    }),
    ("incoming_register", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let e = fx.received();
        let v = fx.svc().incoming_register(p, TARGET, 2026)?;
        visible(v.iter().any(|x| x.id == e.id), "dòng sổ văn bản đến")
    }),
    ("notifications", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let n = fx.notice();
        let v = fx.svc().notifications(p, TARGET, false)?;
        visible(v.iter().any(|x| x.id == n.id), "thông báo")
    }),
    ("notification_pdf", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let n = fx.notice();
        fx.svc().notification_pdf(p, n.id).map(drop)
    }),
    // SO-A's own seal image: setting it again changes no other outcome.
    ("set_seal_image", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        fx.svc().set_seal_image(p, TARGET, &kyso_pdf::samples::seal_png(), 36.0, t0())
    }),
    ("prepare_signature", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let d = fx.copy_doc();
        fx.svc().prepare_signature(p, d.id, &fx.seal_opts(), t0()).map(drop)
    }),
    // Prepared by SO-A's records clerk; completed by the principal under test.
    ("complete_signature", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let d = fx.copy_doc();
        let prepared = ok("prepare_signature", fx.svc().prepare_signature(fx.clerk(), d.id, &fx.seal_opts(), t0()));
        let signature = fx.org_sign(&prepared);
        fx.svc().complete_signature(p, &prepared.session, &signature, None, t0()).map(drop)
    }),
    ("sign_document", Target::Agency, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let d = fx.copy_doc();
        fx.svc().sign_document(p, d.id, &fx.seal_opts(), &*fx.org_key, None, t0()).map(drop)
    }),
    // ---- self-service ----
    ("me", Target::Own, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> { fx.svc().me(p, t0()).map(drop) }),
    ("change_password", Target::Own, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (s, at) = fx.session_of(&p.login);
        fx.svc().change_password(&s, PW, PW2, at)?;
        // Back to the fixture's password, for the later logins of this account.
        ok("change_password (back)", fx.svc().change_password(&s, PW2, PW, at));
        Ok(())
    }),
    ("logout", Target::Own, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (s, at) = fx.session_of(&p.login);
        fx.svc().logout(&s, at)
    }),
    ("logout_everywhere", Target::Own, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> { fx.svc().logout_everywhere(p, t0()).map(drop) }),
    ("create_api_token", Target::Own, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let roles: Vec<Role> = p.grants.iter().map(|g| g.role).collect();
        fx.svc().create_api_token(p, "ma trận", &roles, t0() + Duration::days(30), t0()).map(drop)
    }),
    ("api_tokens", Target::Own, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let roles: Vec<Role> = p.grants.iter().map(|g| g.role).collect();
        let t = fx.svc().create_api_token(p, "ma trận", &roles, t0() + Duration::days(30), t0())?;
        let v = fx.svc().api_tokens(p)?;
        visible(v.iter().any(|x| x.id == t.id), "mã truy cập")
    }),
    ("revoke_api_token", Target::Own, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let roles: Vec<Role> = p.grants.iter().map(|g| g.role).collect();
        let t = fx.svc().create_api_token(p, "ma trận", &roles, t0() + Duration::days(30), t0())?;
        fx.svc().revoke_api_token(p, t.id, t0())
    }),
    ("begin_totp", Target::Own, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (s, at) = fx.session_of(&p.login);
        fx.svc().begin_totp(&s, at).map(drop)
    }),
    ("confirm_totp", Target::Own, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let (s, at) = fx.session_of(&p.login);
        let e = fx.svc().begin_totp(&s, at)?;
        fx.svc().confirm_totp(&s, &totp_code(&e.secret_base32, at)?, at)?;
        // The new secret is the account's from now on.
        fx.set_totp(&p.login, e.secret_base32);
        Ok(())
    }),
    ("verify_session_totp", Target::Own, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        // The account's own session; it is not waiting for a code after a single sign-on,
        // which the use case says after letting the account in.
        let (s, at) = fx.session_of(&p.login);
        let client = ClientInfo { address: "192.0.2.50".into(), user_agent: None };
        fx.svc().verify_session_totp(&s, "000000", &client, at)
    }),
    ("new_recovery_codes", Target::Own, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        fx.svc().new_recovery_codes(p, t0()).map(drop)
    }),
    ("check_may_pair_agent", Target::Own, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> { fx.svc().check_may_pair_agent(p).map(drop) }),
    ("save_agent_pairing", Target::Own, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        fx.svc().save_agent_pairing(p, &format!("{:016x}", fx.n()), b"bi mat ghep noi cua ma tran", t0())
    }),
    ("agent_secret", Target::Own, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        let id = format!("{:016x}", fx.n());
        fx.svc().save_agent_pairing(p, &id, b"bi mat ghep noi cua ma tran", t0())?;
        let secret = fx.svc().agent_secret(p, &id)?;
        visible(secret.is_some(), "bí mật ghép nối")
    }),
    // ---- last: the deployment's profile ----
    ("change_profile", Target::Root, |fx: &mut Fx, p: &Principal| -> ServiceResult<()> {
        // A profile change is for good: each call takes a later day of its own, and the
        // fixture's profile comes back the next day, so that nothing else sees another one.
        let k = fx.profile_changes.get() + 1;
        fx.profile_changes.set(k);
        let day = kyso_core::value::vn_date(t0()) + Duration::days(400 + 2 * k);
        let at = kyso_core::value::vn_day_start(day) + Duration::hours(3);
        fx.w.svc.change_profile(p, "bac-giang-2020", day, "Quyết định thử của ma trận phân quyền", at)?;
        let admin = fx.admin.clone();
        let back = day + Duration::days(1);
        let back_at = kyso_core::value::vn_day_start(back) + Duration::hours(3);
        ok("change_profile (back)", fx.w.svc.change_profile(&admin, PROFILE, back, "Trở lại hồ sơ của ma trận", back_at));
        Ok(())
    }),
];

// ---------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "panic".into())
}

#[test]
fn every_use_case_role_and_scope_has_the_outcome_of_the_table() {
    let table = checked_table();
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    let mut ran = 0usize;
    let mut backends_run = Vec::new();
    for b in backends() {
        let backend = b.name;
        backends_run.push(backend);
        let (mut fx, principals) = setup(b);
        for (name, target, case) in CASES {
            let rows = &table[*name];
            for role in Role::ALL {
                let row = rows.iter().find(|r| r.role == *role).expect("checked_table: every role has a row");
                for scope in Scope::ALL {
                    let want = row.cells[scope as usize];
                    if want == Outcome::NotApplicable {
                        continue;
                    }
                    let p = principals.get(*target, *role, scope).expect("checked_table: every cell has a principal");
                    ran += 1;
                    let cell = format!("{backend}: {name} × {} × {} (dòng {})", role.code(), scope.name(), row.line);
                    let (got, why) = match std::panic::catch_unwind(AssertUnwindSafe(|| case(&mut fx, p))) {
                        Ok(Ok(())) => (Outcome::Allowed, String::new()),
                        Ok(Err(e)) if e.code() == "forbidden" => (Outcome::Refused, format!(" — [forbidden] {e}")),
                        Ok(Err(e)) => (Outcome::Allowed, format!(" — [{}] {e}", e.code())),
                        Err(panic) => {
                            failures.push(format!("{cell}: lỗi khi chuẩn bị hoặc gọi: {}", panic_text(&*panic)));
                            continue;
                        }
                    };
                    if got != want {
                        failures.push(format!("{cell}: bảng ghi {}, thực tế {}{why}", want.mark(), got.mark()));
                    } else if got == Outcome::Allowed && !why.is_empty() {
                        // Authorisation passed, but the call itself did not go through.
                        notes.push(format!("{cell}: được phép, nhưng lời gọi không thành công{why}"));
                    }
                }
            }
        }
        fx.w.audit_ok();
    }
    println!("ma trận phân quyền: {ran} ô đã chạy ({} use case × 7 vai trò; {})", CASES.len(), backends_run.join(", "));
    for n in &notes {
        println!("lưu ý: {n}");
    }
    assert!(failures.is_empty(), "{} trong {ran} ô không khớp với tests/authz_matrix.table:\n{}", failures.len(), failures.join("\n"));
}

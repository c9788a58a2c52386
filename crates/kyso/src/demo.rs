//! `kyso demo`: a realistic demo province (Bắc Ninh profile) with about 30 agencies on
//! three levels, a few hundred officials, and a year of certification requests driven
//! through the service layer, so every figure and audit event is real.

use crate::cli::Cli;
use crate::deployment::{env, open_db};
use crate::error::CliError;
use chrono::{DateTime, Duration, Utc};
use kyso_core::registry::*;
use kyso_core::request::*;
use kyso_core::rules::{ChangeField, RevocationReason};
use kyso_core::value::{ascii_fold, tax_check_digit};
use kyso_service::CaConfig;
use kyso_service::*;
use kyso_store::CertificateFilter;
use kyso_token::soft::{Kdf, SoftToken};
use kyso_token::{KeyAlgorithm, Pin, Token, TokenSession};
use std::collections::HashMap;
use std::process::ExitCode;

/// A small deterministic generator (SplitMix64), so two demos are the same.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const PROFILE: &str = "bac-ninh-2023";
const ROOT: &str = "UBND-BN";
const ISSUER: &str = "CN=CA phục vụ các cơ quan Nhà nước G2,O=Ban Cơ yếu Chính phủ,C=VN";
/// Training PINs of the demo's tokens. They are demo data, printed for the trainee; real
/// deployments set their own and kyso never stores them.
pub const DEMO_CA_PIN: &str = "12345678";
pub const DEMO_SO_PIN: &str = "87654321";
pub const DEMO_USER_PIN: &str = "123456";
/// The demo's certificates point at a local `kyso serve --listen 127.0.0.1:8480`.
pub const DEMO_BASE_URL: &str = "http://127.0.0.1:8480";

/// (code, name, parent, legal entity, leader's title)
const AGENCIES: &[(&str, &str, &str, bool, &str)] = &[
    ("VP-UBND", "Văn phòng Ủy ban nhân dân tỉnh", ROOT, true, "Chánh Văn phòng"),
    ("SNV", "Sở Nội vụ", ROOT, true, "Giám đốc"),
    ("STC", "Sở Tài chính", ROOT, true, "Giám đốc"),
    ("SKHCN", "Sở Khoa học và Công nghệ", ROOT, true, "Giám đốc"),
    ("STP", "Sở Tư pháp", ROOT, true, "Giám đốc"),
    ("SXD", "Sở Xây dựng", ROOT, true, "Giám đốc"),
    ("SYT", "Sở Y tế", ROOT, true, "Giám đốc"),
    ("SGDDT", "Sở Giáo dục và Đào tạo", ROOT, true, "Giám đốc"),
    ("SNNMT", "Sở Nông nghiệp và Môi trường", ROOT, true, "Giám đốc"),
    ("SCT", "Sở Công Thương", ROOT, true, "Giám đốc"),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch", ROOT, true, "Giám đốc"),
    ("TTRA", "Thanh tra tỉnh", ROOT, true, "Chánh Thanh tra"),
    ("UBND-KINHBAC", "Ủy ban nhân dân phường Kinh Bắc", ROOT, true, "Chủ tịch"),
    ("UBND-TUSON", "Ủy ban nhân dân phường Từ Sơn", ROOT, true, "Chủ tịch"),
    ("UBND-TIENDU", "Ủy ban nhân dân xã Tiên Du", ROOT, true, "Chủ tịch"),
    ("UBND-BACGIANG", "Ủy ban nhân dân phường Bắc Giang", ROOT, true, "Chủ tịch"),
    ("UBND-LUCNGAN", "Ủy ban nhân dân xã Lục Ngạn", ROOT, true, "Chủ tịch"),
    ("TTPVHCC", "Trung tâm Phục vụ hành chính công tỉnh", "VP-UBND", true, "Giám đốc"),
    ("VP-UBND-HCTC", "Phòng Hành chính – Tổ chức", "VP-UBND", false, "Trưởng phòng"),
    ("TTCNTT", "Trung tâm Công nghệ thông tin và Truyền thông", "SKHCN", true, "Giám đốc"),
    ("SKHCN-VP", "Văn phòng Sở Khoa học và Công nghệ", "SKHCN", false, "Chánh Văn phòng"),
    ("SNV-TCBC", "Phòng Tổ chức – Biên chế", "SNV", false, "Trưởng phòng"),
    ("STC-QLNS", "Phòng Quản lý ngân sách", "STC", false, "Trưởng phòng"),
    ("BVDK", "Bệnh viện Đa khoa tỉnh", "SYT", true, "Giám đốc"),
    ("CDC", "Trung tâm Kiểm soát bệnh tật tỉnh", "SYT", true, "Giám đốc"),
    ("THPT-CHUYEN", "Trường Trung học phổ thông Chuyên Bắc Ninh", "SGDDT", true, "Hiệu trưởng"),
    ("CCTL", "Chi cục Thủy lợi", "SNNMT", true, "Chi cục trưởng"),
    ("SCT-QLTM", "Phòng Quản lý thương mại", "SCT", false, "Trưởng phòng"),
    ("UBND-KINHBAC-MC", "Bộ phận Một cửa phường Kinh Bắc", "UBND-KINHBAC", false, "Trưởng bộ phận"),
    ("UBND-TUSON-VP", "Văn phòng HĐND và UBND phường Từ Sơn", "UBND-TUSON", false, "Chánh Văn phòng"),
];

const FAMILY: &[&str] =
    &["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương", "Đào", "Trịnh", "Lương"];
const MIDDLE_M: &[&str] = &["Văn", "Hữu", "Đức", "Minh", "Quang", "Thành", "Xuân", "Công"];
const MIDDLE_F: &[&str] = &["Thị", "Thu", "Ngọc", "Thanh", "Hoài", "Minh", "Phương"];
const GIVEN_M: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Long", "Nam", "Phong", "Quân", "Sơn", "Thắng", "Trung", "Tuấn", "Việt", "Khánh", "Đạt",
];
const GIVEN_F: &[&str] =
    &["Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Phương", "Thảo", "Trang", "Vân", "Yến", "Huyền", "Ánh"];

fn tax_code(seed: u64) -> String {
    let mut n = 2_300_000_000u64 / 10 + seed * 7;
    loop {
        let main9 = format!("{:09}", n % 1_000_000_000);
        if let Some(c) = tax_check_digit(&format!("{main9}0")) {
            return format!("{main9}{c}");
        }
        n += 1;
    }
}

pub(crate) struct World {
    pub(crate) svc: Service,
    /// The CA token's session (demo PIN), and where device tokens live.
    pub(crate) ca: Box<dyn TokenSession>,
    tokens: std::path::PathBuf,
    rng: Rng,
    t: DateTime<Utc>,
    /// Subscriber id → (CQQLTT officer login, agency code).
    officer_of: HashMap<AgencyId, String>,
    /// A second CQQLTT officer of the agency, who files what the first confirms (one person
    /// does not both file and confirm a request), and the person behind each officer login.
    second_officer_of: HashMap<AgencyId, String>,
    person_of: HashMap<String, PersonId>,
    stats: HashMap<&'static str, u64>,
    serial_seq: u64,
}

pub(crate) type Res<T> = Result<T, CliError>;
pub(crate) type DemoWorld = World;

impl World {
    pub(crate) fn at(&mut self, minutes: i64) -> DateTime<Utc> {
        self.t += Duration::minutes(minutes);
        self.t
    }
    pub(crate) fn actor(&self, login: &str) -> Res<kyso_service::Principal> {
        Ok(self.svc.local_operator(login)?)
    }
    fn serial(&mut self) -> String {
        self.serial_seq += 1;
        format!("5403{:012X}{:04X}", self.rng.next() >> 16, self.serial_seq)
    }
    fn subject(&self, s: &Subscriber, agencies: &HashMap<AgencyId, Agency>) -> String {
        let a = &agencies[&s.agency_id];
        let superior =
            a.parent.and_then(|p| agencies.get(&p)).map(|p| p.name.clone()).unwrap_or_else(|| "Ủy ban nhân dân tỉnh Bắc Ninh".into());
        match s.kind {
            SubscriberKind::Individual => format!("CN={},OU={},O={},L=Bắc Ninh,C=VN", s.display_name, a.name, superior),
            _ => format!("CN={},O={},L=Bắc Ninh,C=VN", s.display_name, superior),
        }
    }
    fn count(&mut self, k: &'static str) {
        *self.stats.entry(k).or_default() += 1;
    }
}

pub fn run(cli: &Cli, now: DateTime<Utc>) -> Result<ExitCode, CliError> {
    let env = env(cli)?;
    let db = open_db(cli, &env, true)?;
    if Service::is_initialised(&db)? {
        let svc = Service::open(db, env.calendar)?;
        println!("Thư mục {} đã có dữ liệu (hồ sơ '{}'); không tạo lại để tránh trùng lặp.", cli.data.display(), svc.profile().key);
        println!("Muốn tạo mới, hãy chọn một thư mục trống khác cho --data.");
        return Ok(ExitCode::SUCCESS);
    }
    let start = now - Duration::days(372);
    let bootstrap = Bootstrap {
        profile_key: PROFILE.into(),
        root: AgencyInput {
            code: ROOT.into(),
            name: "Ủy ban nhân dân tỉnh Bắc Ninh".into(),
            parent_code: None,
            legal_entity: true,
            tax_code: Some(tax_code(1)),
            budget_code: Some("1001001".into()),
            email: Some("ubnd@bacninh.gov.vn".into()),
            address: "Số 10 đường Phù Đổng Thiên Vương, phường Kinh Bắc, tỉnh Bắc Ninh".into(),
            valid_from: Some("2025-07-01".into()),
        },
        admin_login: "admin".into(),
        training: true,
    };
    let mut svc = Service::init(db, env.calendar, &bootstrap, start)?;
    svc.set_files(&cli.data.join("files"))?;
    svc.set_sealing_key(crate::deployment::sealing_key(&cli.data)?);
    crate::config::write_default(&cli.data).map_err(|e| CliError {
        code: "environment",
        message: e.to_string(),
        rows: vec![],
        hint: None,
        exit: 2,
    })?;
    // The built-in CA, on a software token with the training PIN (or KYSO_CA_PIN).
    let tokens = crate::tokens::tokens_dir(&cli.data);
    let ca_pin = Pin::new(std::env::var("KYSO_CA_PIN").unwrap_or_else(|_| DEMO_CA_PIN.into()));
    let ca_token = SoftToken::create(&tokens, "kyso-ca", &ca_pin, &Pin::new(DEMO_SO_PIN), svc.profile().pin_retry_limit, Kdf::TRAINING)
        .map_err(crate::tokens::token_err)?;
    let ca = ca_token.login(&ca_pin).map_err(crate::tokens::token_err)?;
    svc.ca_init(&svc.local_operator("admin")?, &CaConfig::demo(DEMO_BASE_URL), &*ca, start)?;
    let mut w = World {
        svc,
        ca,
        tokens,
        rng: Rng(0x6b79_736f),
        t: start,
        officer_of: HashMap::new(),
        second_officer_of: HashMap::new(),
        person_of: HashMap::new(),
        stats: HashMap::new(),
        serial_seq: 0,
    };
    eprintln!("Đang tạo tỉnh mẫu (Bắc Ninh) và một năm lịch sử…");
    let (agencies, subscribers) = setup_registry(&mut w)?;
    simulate_year(&mut w, &subscribers, now)?;
    leave_open_requests(&mut w, &agencies, &subscribers, now)?;
    eprintln!("Đang ký các văn bản mẫu…");
    let documents = crate::demo_docs::sample_documents(cli, &mut w, now)?;
    let t = w.at(10).max(now - Duration::minutes(1));
    w.svc.ca_crl(&w.svc.local_operator("cntt")?, &*w.ca, false, t)?;
    let logins = demo_logins(&w, now)?;
    print_summary(cli, &w, &documents, &logins, now)
}

/// The training password of every demo account (one for all: it is a classroom).
pub const DEMO_PASSWORD: &str = "Tập huấn chữ ký số 2026";

/// What the demo prints so that one can log in.
pub(crate) struct DemoLogins {
    pub accounts: Vec<String>,
    /// The provincial manager's TOTP secret (base32), enrolled through the real login flow.
    pub manager_totp: String,
}

/// Gives every demo account the training password, and enrols TOTP for the provincial
/// manager through the same login the web uses. IT staff and the auditor enrol at their first
/// login, as in production.
fn demo_logins(w: &World, now: DateTime<Utc>) -> Res<DemoLogins> {
    let admin = w.actor("admin")?;
    let mut accounts: Vec<String> = w.svc.list_users(&admin)?.into_iter().map(|u| u.0).collect();
    accounts.dedup();
    for login in &accounts {
        w.svc.set_password(&admin, login, DEMO_PASSWORD, false, now)?;
    }
    let client = ClientInfo { address: "demo".into(), user_agent: None };
    let out =
        w.svc.login_with_password(&PasswordLogin { login: "qltb", password: DEMO_PASSWORD, second_factor: None, client: &client }, now)?;
    let session = w.svc.session(&out.session.id, now)?;
    let e = w.svc.begin_totp(&session, now)?;
    w.svc.confirm_totp(&session, &totp_code(&e.secret_base32, now)?, now)?;
    w.svc.logout(&session, now)?;
    Ok(DemoLogins { accounts, manager_totp: e.secret_base32 })
}

fn setup_registry(w: &mut World) -> Res<(HashMap<AgencyId, Agency>, Vec<Subscriber>)> {
    let admin = w.actor("admin")?;
    for (i, (code, name, parent, legal, _)) in AGENCIES.iter().enumerate() {
        let t = w.at(1);
        let input = AgencyInput {
            code: code.to_string(),
            name: name.to_string(),
            parent_code: Some(parent.to_string()),
            legal_entity: *legal,
            tax_code: legal.then(|| tax_code(i as u64 + 2)),
            budget_code: legal.then(|| format!("{}", 1_050_000 + i * 37)),
            email: Some(format!("{}@bacninh.gov.vn", code.to_lowercase())),
            address: format!("Số {} đường Lý Thái Tổ, tỉnh Bắc Ninh", 10 + i),
            valid_from: Some("2025-07-01".into()),
        };
        w.svc.add_agency(&admin, &input, t)?;
    }
    for (login, role) in [("qltb", "provincial_manager"), ("cntt", "it_staff"), ("kiemtra", "auditor")] {
        let t = w.at(1);
        w.svc.add_user(&admin, login, None, t)?;
        w.svc.grant(&admin, login, role, ROOT, t)?;
    }
    let all: Vec<Agency> = w.svc.list_agencies(&admin, None)?;
    let by_id: HashMap<AgencyId, Agency> = all.iter().map(|a| (a.id, a.clone())).collect();
    let leader_title: HashMap<&str, &str> = AGENCIES.iter().map(|a| (a.0, a.4)).chain([(ROOT, "Chủ tịch")]).collect();
    let mut persons: Vec<(Person, Agency)> = Vec::new();
    let mut cid_seq = 0u64;
    for a in &all {
        let n = match (a.depth(), a.legal_entity) {
            (0, _) => 6,
            (1, _) => 17,
            (_, true) => 10,
            _ => 5,
        };
        let lead = leader_title.get(a.code.as_str()).copied().unwrap_or("Thủ trưởng");
        for i in 0..n {
            let male = w.rng.chance(55);
            let name = format!(
                "{} {} {}",
                w.rng.pick(FAMILY),
                if male { w.rng.pick(MIDDLE_M) } else { w.rng.pick(MIDDLE_F) },
                if male { w.rng.pick(GIVEN_M) } else { w.rng.pick(GIVEN_F) }
            );
            let year = 1966 + w.rng.below(34) as i32;
            let born = format!("{year}-{:02}-{:02}", 1 + w.rng.below(12), 1 + w.rng.below(28));
            cid_seq += 1;
            let century = if year >= 2000 { 2 } else { 0 } + u64::from(!male);
            let cid = format!("{}{}{:02}{:06}", w.rng.pick(&["027", "024", "001", "034"]), century, year % 100, cid_seq * 97 % 1_000_000);
            let (position, kind) = match i {
                0 => (lead.to_string(), "leader"),
                1 | 2 => (format!("Phó {lead}"), "deputy_leader"),
                3 if a.depth() <= 1 => ("Chánh Văn phòng".to_string(), "chief_of_office"),
                4 => ("Văn thư".to_string(), "records_clerk"),
                5 if a.code.as_str().starts_with("UBND-") || a.code.as_str() == "TTPVHCC" => {
                    ("Công chức Bộ phận Một cửa".to_string(), "one_stop_officer")
                }
                _ => ("Chuyên viên".to_string(), "specialist"),
            };
            let local = ascii_fold(&name).to_lowercase().split(' ').rev().collect::<Vec<_>>().join(".");
            let input = PersonInput {
                full_name: name,
                citizen_id: cid,
                date_of_birth: born,
                gender: if male { "nam" } else { "nữ" }.into(),
                position,
                position_kind: kind.into(),
                title: if i == 0 { "Thủ trưởng cơ quan".into() } else { "Chuyên viên chính".into() },
                agency_code: a.code.to_string(),
                email: format!("{local}.{cid_seq}@bacninh.gov.vn"),
                phone: Some(format!("09{:08}", w.rng.below(100_000_000))),
            };
            let t = w.at(1);
            let p = w.svc.add_person(&admin, &input, t)?;
            persons.push((p, a.clone()));
        }
    }
    // Accounts: the CQQLTT officer (chief of office, else a deputy) and the records clerk of
    // every legal entity.
    for a in all.iter().filter(|a| a.legal_entity) {
        let staff: Vec<&Person> = persons.iter().filter(|(_, pa)| pa.id == a.id).map(|(p, _)| p).collect();
        let officer = staff.iter().find(|p| p.position_kind == PositionKind::ChiefOfOffice).or_else(|| staff.get(1)).copied();
        let clerk = staff.iter().find(|p| p.position_kind == PositionKind::RecordsClerk).copied();
        let code = a.code.as_str().to_lowercase();
        if let Some(p) = officer {
            let login = format!("cqqltt.{code}");
            let t = w.at(1);
            w.svc.add_user(&admin, &login, Some(p.citizen_id.as_str()), t)?;
            w.svc.grant(&admin, &login, "agency_officer", a.code.as_str(), t)?;
            w.person_of.insert(login.clone(), p.id);
            w.officer_of.insert(a.id, login);
            let second = staff.iter().find(|s| s.id != p.id && Some(s.id) != clerk.map(|c| c.id)).copied();
            if let Some(q) = second {
                let login = format!("cqqltt2.{code}");
                w.svc.add_user(&admin, &login, Some(q.citizen_id.as_str()), t)?;
                w.svc.grant(&admin, &login, "agency_officer", a.code.as_str(), t)?;
                w.person_of.insert(login.clone(), q.id);
                w.second_officer_of.insert(a.id, login);
            }
        }
        if let Some(p) = clerk {
            let login = format!("vanthu.{code}");
            let t = w.at(1);
            w.svc.add_user(&admin, &login, Some(p.citizen_id.as_str()), t)?;
            w.svc.grant(&admin, &login, "records_clerk", a.code.as_str(), t)?;
        }
    }
    // Subscribers: every legal entity, the leaders and one-stop staff, some specialists, and
    // the provincial one-stop system as a service.
    let mut subs = Vec::new();
    for a in all.iter().filter(|a| a.legal_entity) {
        let t = w.at(1);
        subs.push(w.svc.add_subscriber(&admin, &SubscriberInput::Organisation { agency_code: a.code.to_string() }, None, t)?);
    }
    for (p, _) in &persons {
        let keep = match p.position_kind {
            PositionKind::Leader | PositionKind::DeputyLeader | PositionKind::ChiefOfOffice | PositionKind::OneStopOfficer => true,
            _ => w.rng.chance(20),
        };
        if keep {
            let t = w.at(1);
            subs.push(w.svc.add_subscriber(&admin, &SubscriberInput::Individual { citizen_id: p.citizen_id.to_string() }, None, t)?);
        }
    }
    let t = w.at(1);
    subs.push(w.svc.add_subscriber(
        &admin,
        &SubscriberInput::Device {
            agency_code: "TTPVHCC".into(),
            name: "Hệ thống thông tin giải quyết thủ tục hành chính tỉnh Bắc Ninh".into(),
            email: Some("motcua@bacninh.gov.vn".into()),
        },
        None,
        t,
    )?);
    // Existing certificates (from before kyso) for about three quarters of the subscribers,
    // each on its own USB token; some expire during the year and some soon after it.
    for s in subs.clone() {
        let a = &by_id[&s.agency_id];
        let serial = format!("BN{:08}", 10_000 + s.id.0);
        let t = w.at(1);
        let kind = if s.kind == SubscriberKind::Device { "hsm" } else { "usb_token" };
        w.svc.add_device(
            &admin,
            &DeviceInput {
                serial: serial.clone(),
                kind: kind.into(),
                model: if kind == "hsm" { "Thales Luna 7".into() } else { "Bit4id TokenME EVO v2".into() },
                agency_code: a.code.to_string(),
            },
            t,
        )?;
        // The holder: the official; an organisation's device goes to its records clerk by a
        // written decision; a service's HSM to the records clerk of the owning agency.
        let clerk = persons
            .iter()
            .find(|(p, pa)| pa.id == a.id && p.position_kind == PositionKind::RecordsClerk)
            .map(|(p, _)| p.citizen_id.to_string());
        let holder = match (s.kind, s.person_id) {
            (SubscriberKind::Individual, Some(pid)) => persons.iter().find(|(p, _)| p.id == pid).map(|(p, _)| p.citizen_id.to_string()),
            _ => clerk,
        };
        if let Some(h) = holder {
            let org = s.kind == SubscriberKind::Organisation;
            let decision = org.then(|| format!("Quyết định số {}/QĐ-{} về giao quản lý thiết bị lưu khóa bí mật", 10 + s.id.0, a.code));
            w.svc.assign_device(&admin, &serial, &h, org, decision.as_deref(), t)?;
            w.svc.hand_over(&admin, &serial, &Handover { from_cid: None, to_cid: &h, reason: "Cấp mới", decision: None }, t)?;
            w.svc.set_device_status(&admin, &serial, "in_use", t)?;
        }
        if !w.rng.chance(75) {
            continue;
        }
        let days_before = 60 + w.rng.below(1500) as i64;
        let not_before = w.t - Duration::days(days_before);
        let not_after = add_months(not_before, if w.rng.chance(70) { 60 } else { 36 });
        if not_after < w.t + Duration::days(20) {
            continue;
        }
        let c = ExistingCertificate {
            subscriber: s.id,
            serial: w.serial(),
            subject: w.subject(&s, &by_id),
            issuer: ISSUER.into(),
            not_before,
            not_after,
            device_serial: Some(serial),
            renewal_count: 0,
        };
        let t = w.at(1);
        w.svc.register_certificate(&admin, &c, t)?;
    }
    // Devices in stock at the IT Centre.
    for i in 0..12 {
        let t = w.at(1);
        w.svc.add_device(
            &admin,
            &DeviceInput {
                serial: format!("BNKHO{:05}", i + 1),
                kind: "usb_token".into(),
                model: "Bit4id TokenME EVO v2".into(),
                agency_code: "TTCNTT".into(),
            },
            t,
        )?;
    }
    Ok((by_id, subs))
}

/// What a request needs to complete.
pub(crate) enum Plan {
    New(Subscriber),
    Renew(Subscriber, CertificateRecord),
    Change(Subscriber, CertificateRecord),
    Revoke(Subscriber, CertificateRecord, RevocationReason),
    Restore(Subscriber, KeyDevice),
}

fn valid_cert(w: &World, s: &Subscriber, at: DateTime<Utc>) -> Res<Option<CertificateRecord>> {
    let admin = w.actor("admin")?;
    let v = w.svc.list_certificates(
        &admin,
        None,
        &CertificateFilter { subscriber: Some(s.id), exclude_revoked: true, ..Default::default() },
    )?;
    Ok(v.into_iter().find(|c| c.status_at(at) == CertificateStatus::Valid))
}

fn plan_week(w: &mut World, subs: &[Subscriber], at: DateTime<Utc>, now: DateTime<Utc>) -> Res<Vec<Plan>> {
    let mut plans = Vec::new();
    let mut used = std::collections::HashSet::new();
    let tries = 14 + w.rng.below(10);
    for _ in 0..tries {
        let s = w.rng.pick(subs).clone();
        if !used.insert(s.id) {
            continue;
        }
        let cert = valid_cert(w, &s, at)?;
        let admin = w.actor("admin")?;
        let open = w.svc.list_requests(&admin, None, None, 100_000)?.into_iter().any(|q| q.subscriber_id == s.id && !q.state.is_final());
        if open {
            continue;
        }
        match cert {
            None => {
                if w.rng.chance(35) {
                    plans.push(Plan::New(s));
                }
            }
            Some(c) => {
                let left = c.days_left(at);
                // Certificates that end within 90 days of today are left for the reminders.
                let ends_soon = c.not_after < now + Duration::days(90);
                if (60..150).contains(&left) && c.renewal_count == 0 && !ends_soon && w.rng.chance(70) {
                    plans.push(Plan::Renew(s, c));
                } else if left > 90 && w.rng.chance(4) {
                    plans.push(Plan::Change(s, c));
                } else if w.rng.chance(6) {
                    let reason = match s.kind {
                        SubscriberKind::Individual => *w.rng.pick(&[
                            RevocationReason::RetiredOrLeft,
                            RevocationReason::PositionChanged,
                            RevocationReason::DeviceLost,
                            RevocationReason::RetiredOrLeft,
                        ]),
                        SubscriberKind::Organisation => RevocationReason::KeyCompromise,
                        SubscriberKind::Device => RevocationReason::CeasedOperation,
                    };
                    plans.push(Plan::Revoke(s, c, reason));
                } else if w.rng.chance(4) {
                    if let Some(d) = c.device_id {
                        let dev = Some(w.svc.device_by_id(&w.actor("admin")?, d)?).filter(|d| d.status == DeviceStatus::InUse);
                        if let Some(dev) = dev {
                            plans.push(Plan::Restore(s, dev));
                        }
                    }
                }
            }
        }
    }
    Ok(plans)
}

pub(crate) fn create(w: &mut World, plan: &Plan) -> Res<Request> {
    let (s, input) = match plan {
        Plan::New(s) => (
            s,
            NewRequestInput {
                kind: RequestKind::new_for(s.kind),
                subscriber: s.id,
                certificate_serial: None,
                device_serial: None,
                details: RequestDetails::New {
                    validity_months: if s.kind != SubscriberKind::Individual {
                        60
                    } else if w.rng.chance(30) {
                        12
                    } else {
                        36
                    },
                },
            },
        ),
        Plan::Renew(s, c) => (
            s,
            NewRequestInput {
                kind: RequestKind::Renew,
                subscriber: s.id,
                certificate_serial: Some(c.serial.to_string()),
                device_serial: None,
                details: RequestDetails::Renew { extension_months: 36 },
            },
        ),
        Plan::Change(s, c) => {
            let change = match s.kind {
                SubscriberKind::Individual => (ChangeField::Title, "Chuyên viên cao cấp".to_string()),
                _ => (ChangeField::Address, "Khu hành chính tập trung, tỉnh Bắc Ninh".to_string()),
            };
            (
                s,
                NewRequestInput {
                    kind: RequestKind::ChangeInfo,
                    subscriber: s.id,
                    certificate_serial: Some(c.serial.to_string()),
                    device_serial: None,
                    details: RequestDetails::ChangeInfo { changes: vec![change] },
                },
            )
        }
        Plan::Revoke(s, c, reason) => {
            let lost = *reason == RevocationReason::DeviceLost;
            (
                s,
                NewRequestInput {
                    kind: RequestKind::Revoke,
                    subscriber: s.id,
                    certificate_serial: Some(c.serial.to_string()),
                    device_serial: None,
                    details: RequestDetails::Revoke {
                        reason: *reason,
                        device_return: !lost && c.device_id.is_some(),
                        lost_device_record: lost.then(|| format!("Biên bản số {}/BB-XN ngày {}", 10 + s.id.0, w.t.format("%d/%m/%Y"))),
                    },
                },
            )
        }
        Plan::Restore(s, d) => {
            // The subscriber typed the PIN wrong too often; the IT Centre records the lock.
            lock_token(w, d.serial.as_str())?;
            let t = w.at(5);
            w.svc.set_device_status(&w.actor("cntt")?, d.serial.as_str(), "locked", t)?;
            (
                s,
                NewRequestInput {
                    kind: RequestKind::RestoreDevice,
                    subscriber: s.id,
                    certificate_serial: None,
                    device_serial: Some(d.serial.to_string()),
                    details: RequestDetails::RestoreDevice { contact_phone: Some("0912345678".into()) },
                },
            )
        }
    };
    let officer = w.actor(&filer_for(w, s))?;
    let t = w.at(7);
    let q = w.svc.create_request(&officer, &input, t)?;
    let t = w.at(3);
    Ok(w.svc.transition(&officer, q.id, Action::Submit, None, t)?)
}

/// Who confirms requests for `s`: the agency's CQQLTT officer, or the second officer when the
/// certificate is the first's own.
fn confirmer_login(w: &World, s_agency: AgencyId, s_person: Option<PersonId>) -> String {
    let first = w.officer_of[&s_agency].clone();
    match w.second_officer_of.get(&s_agency) {
        Some(second) if s_person.is_some() && w.person_of.get(&first).copied() == s_person => second.clone(),
        _ => first,
    }
}

/// Who files requests for `s`: whichever officer does not confirm them (the provincial
/// manager where the agency has only one).
pub(crate) fn filer_for(w: &World, s: &Subscriber) -> String {
    let confirmer = confirmer_login(w, s.managing_agency_id, s.person_id);
    let first = &w.officer_of[&s.managing_agency_id];
    match w.second_officer_of.get(&s.managing_agency_id) {
        Some(second) if confirmer == *first => second.clone(),
        Some(_) => first.clone(),
        None => "qltb".to_string(),
    }
}

/// The device with this serial, if the registry has one.
fn device_by_serial(w: &World, serial: &str) -> Res<Option<KeyDevice>> {
    match w.svc.device(&w.actor("admin")?, serial) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.code() == "not_found" => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The officer who confirms `q` (see [`confirmer_login`]).
pub(crate) fn officer_for(w: &World, q: &Request) -> Res<kyso_service::Principal> {
    let person = w.svc.subscriber(&w.actor("admin")?, q.subscriber_id)?.person_id;
    w.actor(&confirmer_login(w, q.managing_agency_id, person))
}

/// Confirms, checks and sends the week's requests; a few are rejected on the way.
fn advance_to_ca(w: &mut World, reqs: &mut Vec<Request>) -> Res<()> {
    let mut kept = Vec::new();
    for q in reqs.drain(..) {
        let officer = officer_for(w, &q)?;
        let t = w.at(11);
        if w.rng.chance(6) {
            w.svc.transition(
                &officer,
                q.id,
                Action::Reject,
                Some("Thông tin chức danh không khớp quyết định bổ nhiệm; đề nghị lập lại"),
                t,
            )?;
            w.count("rejected");
            continue;
        }
        kept.push(w.svc.transition(&officer, q.id, Action::Confirm, None, t)?);
    }
    w.t += Duration::hours(20);
    let manager = w.actor("qltb")?;
    let mut by_sender: HashMap<String, Vec<RequestId>> = HashMap::new();
    for q in &kept {
        if w.svc.profile().routing.route_for(q.kind) == kyso_core::profile::Route::ViaManager {
            let t = w.at(9);
            w.svc.transition(&manager, q.id, Action::Check, None, t)?;
            by_sender.entry("qltb".into()).or_default().push(q.id);
        } else {
            by_sender.entry(w.officer_of[&q.managing_agency_id].clone()).or_default().push(q.id);
        }
    }
    let mut senders: Vec<_> = by_sender.into_iter().collect();
    senders.sort();
    for (login, ids) in senders {
        let t = w.at(13);
        w.svc.send_to_ca(&w.actor(&login)?, &ids, t)?;
    }
    *reqs = kept;
    Ok(())
}

/// The software token that stands for a subscriber's USB token (created on first use).
pub(crate) fn device_token(w: &World, serial: &str) -> Res<SoftToken> {
    match SoftToken::open(&w.tokens, serial) {
        Ok(t) => Ok(t),
        Err(_) => SoftToken::create(
            &w.tokens,
            serial,
            &Pin::new(DEMO_USER_PIN),
            &Pin::new(DEMO_SO_PIN),
            w.svc.profile().pin_retry_limit,
            Kdf::TRAINING,
        )
        .map_err(crate::tokens::token_err),
    }
}

pub(crate) fn device_serial_of(sub: &Subscriber) -> String {
    format!("BN{:08}", 10_000 + sub.id.0)
}

/// The subscriber's device if it is still in service; else a new one from the CA, handed to
/// the same holder (a returned or lost token is not used again).
fn usable_device(w: &mut World, sub: &Subscriber, t: DateTime<Utc>) -> Res<String> {
    let admin = w.actor("admin")?;
    let base = device_serial_of(sub);
    let mut serial = base.clone();
    for n in 2.. {
        let Some(dev) = device_by_serial(w, &serial)? else { break };
        if matches!(dev.status, DeviceStatus::InUse | DeviceStatus::HandedOver | DeviceStatus::Assigned) {
            return Ok(serial);
        }
        let holder = match dev.custodian {
            Some(p) => Some(w.svc.person_by_id(&w.actor("admin")?, p, t)?.citizen_id.to_string()),
            None => None,
        };
        serial = format!("{base}-{n}");
        if device_by_serial(w, &serial)?.is_some() {
            continue;
        }
        let agency = w.svc.agency_by_id(&admin, dev.agency_id)?;
        w.svc.add_device(
            &admin,
            &DeviceInput {
                serial: serial.clone(),
                kind: dev.kind.code().into(),
                model: dev.model.clone(),
                agency_code: agency.code.to_string(),
            },
            t,
        )?;
        if let Some(h) = holder {
            let org = sub.kind == SubscriberKind::Organisation;
            let decision = org.then(|| format!("Quyết định giao thiết bị thay thế {serial}"));
            w.svc.assign_device(&admin, &serial, &h, org, decision.as_deref(), t)?;
            w.svc.hand_over(
                &admin,
                &serial,
                &Handover { from_cid: None, to_cid: &h, reason: "Cấp thiết bị thay thế", decision: None },
                t,
            )?;
            w.svc.set_device_status(&admin, &serial, "in_use", t)?;
        }
        return Ok(serial);
    }
    Ok(serial)
}

pub(crate) fn complete(w: &mut World, q: &Request) -> Res<()> {
    let cntt = w.actor("cntt")?;
    let sub = w.svc.subscriber(&cntt, q.subscriber_id)?;
    let t = w.at(17);
    match &q.details {
        RequestDetails::New { .. } | RequestDetails::Renew { .. } | RequestDetails::ChangeInfo { .. } => {
            // The subscriber makes a key pair and a CSR on its own token; the CA issues.
            let serial = usable_device(w, &sub, t)?;
            let token = device_token(w, &serial)?;
            let session = token.login(&Pin::new(DEMO_USER_PIN)).map_err(crate::tokens::token_err)?;
            w.serial_seq += 1;
            let alg = if w.rng.chance(25) { KeyAlgorithm::Rsa2048 } else { KeyAlgorithm::EcP256 };
            let key = session.generate_key(&format!("k{}", w.serial_seq), alg).map_err(crate::tokens::token_err)?;
            let subject = kyso_pki::name::DistinguishedName::new()
                .push(kyso_pki::name::Attr::C, "VN")
                .push(kyso_pki::name::Attr::CN, sub.display_name.clone());
            let csr = kyso_pki::csr::build(&subject, &*key, alg.default_scheme())
                .map_err(|e| CliError::from(kyso_core::DomainError::invalid("csr", e.to_string())))?;
            let (_, der) = w.svc.ca_issue(&cntt, q.id, &csr, Some(&serial), &*w.ca, t)?;
            // The CA hands the token over with the certificate on it.
            let (_, info) =
                kyso_pki::cert::parse(&der).map_err(|e| CliError::from(kyso_core::DomainError::invalid("cert", e.to_string())))?;
            session.store_certificate(key.label(), &der, &info.subject_der).map_err(crate::tokens::token_err)?;
        }
        RequestDetails::Revoke { .. } => {
            let issued_here = match q.certificate_id {
                Some(c) => {
                    let cert = w.svc.certificate_by_id(&cntt, c)?;
                    w.svc.certificate_der(cert.serial.as_str())?.is_some()
                }
                None => false,
            };
            if issued_here {
                w.svc.ca_revoke(&cntt, q.id, &*w.ca, t)?;
            } else {
                // A certificate from before kyso: the government CA revoked it; record that.
                w.svc.complete_request(&cntt, q.id, &CompletionInput::Revoked { at: t }, t)?;
            }
        }
        RequestDetails::RestoreDevice { .. } => {
            if let Some(d) = q.device_id {
                let dev = w.svc.device_by_id(&cntt, d)?;
                if let Ok(token) = SoftToken::open(&w.tokens, dev.serial.as_str()) {
                    token.unlock(&Pin::new(DEMO_SO_PIN), &Pin::new(DEMO_USER_PIN)).map_err(crate::tokens::token_err)?;
                }
            }
            w.svc.complete_request(&cntt, q.id, &CompletionInput::Restored, t)?;
        }
    }
    w.count("completed");
    // Revoked devices come back to the CA within the deadline.
    if let RequestDetails::Revoke { device_return: true, .. } = q.details {
        if let Some(d) = q.device_id {
            let dev = w.svc.device_by_id(&cntt, d)?;
            // Its holder gives it to the CQQLTT officer, with a handover record.
            let officer = officer_for(w, q)?;
            let receiver = match officer.person_id {
                Some(p) => Some(w.svc.person_by_id(&cntt, p, w.t)?),
                None => None,
            };
            if let (Some(_), Some(r)) = (dev.custodian, receiver.filter(|r| Some(r.id) != dev.custodian)) {
                let t = w.at(60 * 24 * 2);
                w.svc.return_device(
                    &cntt,
                    dev.serial.as_str(),
                    r.citizen_id.as_str(),
                    "Nộp lại thiết bị sau khi thu hồi chứng thư số",
                    t,
                )?;
            }
        }
    }
    Ok(())
}

/// Types wrong PINs until the token locks, as a subscriber who forgot it would.
fn lock_token(w: &World, serial: &str) -> Res<()> {
    let token = device_token(w, serial)?;
    for _ in 0..=w.svc.profile().pin_retry_limit {
        if matches!(token.login(&Pin::new("000000")), Err(kyso_token::TokenError::Locked)) {
            break;
        }
    }
    Ok(())
}

fn simulate_year(w: &mut World, subs: &[Subscriber], now: DateTime<Utc>) -> Res<()> {
    // Week by week until three weeks before today; requests of a week finish that week.
    while w.t + Duration::days(24) < now {
        w.t += Duration::days(7);
        let at = w.t;
        let plans = plan_week(w, subs, at, now)?;
        let mut reqs = Vec::new();
        for p in &plans {
            reqs.push(create(w, p)?);
        }
        if w.rng.chance(10) {
            if let Some(q) = reqs.pop() {
                let t = w.at(30);
                w.svc.transition(&officer_for(w, &q)?, q.id, Action::Cancel, None, t)?;
                w.count("cancelled");
            }
        }
        w.t += Duration::days(1);
        advance_to_ca(w, &mut reqs)?;
        w.t += Duration::days(2);
        for q in &reqs {
            complete(w, q)?;
        }
    }
    Ok(())
}

/// Leaves requests in every open state, a locked device and a lost one, as an office has
/// on any given day.
fn leave_open_requests(w: &mut World, agencies: &HashMap<AgencyId, Agency>, subs: &[Subscriber], now: DateTime<Utc>) -> Res<()> {
    w.t = w.t.max(now - Duration::days(10));
    let _ = agencies;
    let mut fresh: Vec<Subscriber> = Vec::new();
    for s in subs {
        let admin = w.actor("admin")?;
        let busy = w.svc.list_requests(&admin, None, None, 100_000)?.into_iter().any(|q| q.subscriber_id == s.id && !q.state.is_final());
        if !busy && valid_cert(w, s, w.t)?.is_none() {
            fresh.push(s.clone());
        }
    }
    let mut take = |n: usize| -> Vec<Subscriber> { fresh.drain(..n.min(fresh.len())).collect() };
    // Drafts.
    for s in take(2) {
        let officer = w.actor(&filer_for(w, &s))?;
        let t = w.at(9);
        w.svc.create_request(
            &officer,
            &NewRequestInput {
                kind: RequestKind::new_for(s.kind),
                subscriber: s.id,
                certificate_serial: None,
                device_serial: None,
                details: RequestDetails::New { validity_months: 36 },
            },
            t,
        )?;
    }
    // Submitted, confirmed, sent to the CA.
    let staged: Vec<(Subscriber, u8)> = take(6).into_iter().enumerate().map(|(i, s)| (s, (i / 2) as u8)).collect();
    for (s, stage) in staged {
        let q = create(w, &Plan::New(s))?;
        if stage >= 1 {
            let t = w.at(20);
            w.svc.transition(&officer_for(w, &q)?, q.id, Action::Confirm, None, t)?;
        }
        if stage >= 2 {
            let t = w.at(20);
            w.svc.send_to_ca(&officer_for(w, &q)?, &[q.id], t)?;
        }
    }
    // A locked device whose restore request the manager has checked, and a lost device.
    let mut with_cert = Vec::new();
    for s in subs.iter().filter(|s| s.kind == SubscriberKind::Individual) {
        if let Some(c) = valid_cert(w, s, w.t)? {
            if c.device_id.is_some() && c.days_left(w.t) > 120 {
                with_cert.push((s.clone(), c));
            }
        }
        if with_cert.len() >= 2 {
            break;
        }
    }
    if let Some((s, c)) = with_cert.first() {
        let dev = w.svc.device_by_id(&w.actor("admin")?, c.device_id.expect("checked"))?;
        let q = create(w, &Plan::Restore(s.clone(), dev))?;
        let t = w.at(30);
        w.svc.transition(&officer_for(w, &q)?, q.id, Action::Confirm, None, t)?;
        let t = w.at(30);
        w.svc.transition(&w.actor("qltb")?, q.id, Action::Check, None, t)?;
    }
    if let Some((s, c)) = with_cert.get(1) {
        let dev = w.svc.device_by_id(&w.actor("admin")?, c.device_id.expect("checked"))?;
        let t = w.at(30);
        // The CQQLTT makes the loss record (Mẫu 15) and files the revocation.
        w.svc.report_lost(
            &w.actor(&filer_for(w, s))?,
            dev.serial.as_str(),
            &format!("Biên bản xác nhận số 07/BB-XN ngày {}", t.format("%d/%m/%Y")),
            t,
        )?;
    }
    Ok(())
}

fn print_summary(
    cli: &Cli,
    w: &World,
    samples: &crate::demo_docs::Samples,
    logins: &DemoLogins,
    now: DateTime<Utc>,
) -> Result<ExitCode, CliError> {
    let documents = &samples.documents;
    let admin = w.actor("admin")?;
    let counts = w.svc.registry_counts(&admin)?;
    let mut by_state: Vec<(String, usize)> = Vec::new();
    let reqs = w.svc.list_requests(&admin, None, None, 1_000_000)?;
    for s in RequestState::ALL {
        by_state.push((s.label_vi().to_string(), reqs.iter().filter(|q| q.state == *s).count()));
    }
    let expiring = w.svc.expiring_certificates(&admin, None, 90, now, 100_000)?.len();
    let year = kyso_core::value::vn_date(now).format("%Y").to_string();
    let period = if kyso_core::value::vn_date(now).format("%m").to_string().as_str() > "06" {
        format!("{year}-H1")
    } else {
        format!("{}-H2", year.parse::<i32>().unwrap_or(2026) - 1)
    };
    if cli.json {
        crate::output::json(&serde_json::json!({
            "data": cli.data,
            "profile": PROFILE,
            "counts": counts.iter().map(|(l, n)| (l.to_string(), n)).collect::<HashMap<_, _>>(),
            "requests_by_state": by_state.iter().cloned().collect::<HashMap<_, _>>(),
            "expiring_within_90_days": expiring,
            "report_period": period,
            "documents": documents.iter().map(|(f, what)| serde_json::json!({"file": cli.data.join("documents").join(f), "what": what})).collect::<Vec<_>>(),
            "signers": samples.signers.iter().map(|(login, token, who)| serde_json::json!({"login": login, "token": token, "who": who})).collect::<Vec<_>>(),
            "accounts": logins.accounts,
            "password": DEMO_PASSWORD,
            "manager_totp_secret": logins.manager_totp,
            "url": DEMO_BASE_URL,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let d = cli.data.display();
    println!("Đã tạo tỉnh mẫu theo hồ sơ '{PROFILE}' tại {d}:");
    for (label, n) in &counts {
        println!("  {n:>6} {label}");
    }
    println!("Yêu cầu theo trạng thái:");
    for (label, n) in &by_state {
        println!("  {n:>6} {label}");
    }
    println!("  {expiring:>6} chứng thư số hết hạn trong 90 ngày tới");
    println!();
    println!("Tài khoản mẫu: admin (CNTT), qltb (người quản lý thuê bao), cntt (Trung tâm CNTT), kiemtra (kiểm tra),");
    println!("               cqqltt.<mã cơ quan> (cán bộ CQQLTT), vanthu.<mã cơ quan> (văn thư), ví dụ cqqltt.skhcn");
    println!("  {} tài khoản, mật khẩu đào tạo chung: {DEMO_PASSWORD}", logins.accounts.len());
    println!("  qltb dùng thêm mã TOTP; bí mật TOTP (nhập vào ứng dụng xác thực): {}", logins.manager_totp);
    println!("  admin, cntt, kiemtra đăng ký TOTP ở lần đăng nhập đầu (vai trò cần xác thực hai yếu tố).");
    println!();
    let issued = w.svc.issued_certificates()?.len();
    println!("Tổ chức chứng thực tích hợp (thử nghiệm): {issued} chứng thư số do CA cấp, trên thiết bị lưu khóa mềm trong {d}/tokens.");
    println!("Mã PIN đào tạo: thiết bị CA {DEMO_CA_PIN}, SO {DEMO_SO_PIN}, thiết bị người dùng {DEMO_USER_PIN} (chỉ dùng cho bản mẫu).");
    println!();
    println!("Văn bản mẫu đã ký số ({} tệp) trong {d}/documents (xem README.txt; tin cậy root.pem):", documents.len());
    for (f, what) in documents {
        println!("  {f}: {what}");
    }
    println!("Người ký mẫu (PIN {DEMO_USER_PIN}):");
    for (login, token, who) in &samples.signers {
        println!("  {login}: thiết bị {token}, {who}");
    }
    println!();
    println!("Thử tiếp:");
    println!("  kyso report --data {d} --period {period}");
    println!("  kyso report --data {d} --period {year} --json");
    println!("  kyso request list --data {d} --state submitted");
    println!("  kyso cert list --data {d} --expiring-within 90");
    println!("  kyso agency list --data {d}");
    println!("  kyso audit verify --data {d}");
    println!("  KYSO_CA_PIN={DEMO_CA_PIN} kyso serve --data {d}            # đăng nhập, API, CRL, OCSP, TSA tại {DEMO_BASE_URL}");
    println!("  curl -c /tmp/kyso.cookies -H 'Content-Type: application/json' -d '{{\"login\":\"giamdoc.snv\",\"password\":\"{DEMO_PASSWORD}\"}}' {DEMO_BASE_URL}/auth/login");
    println!("  curl -b /tmp/kyso.cookies {DEMO_BASE_URL}/api/v1/me");
    println!("  kyso ca export --data {d} --out {d}/export");
    println!("  kyso doc list --data {d} --as vanthu.snv");
    println!("  kyso doc register --data {d} --as vanthu.snv --agency SNV --year {year}");
    if let Some((_, token, _)) = samples.signers.first() {
        println!("  kyso agent serve --data {d} --label {token}        # tác tử ký số trên máy người ký");
    }
    Ok(ExitCode::SUCCESS)
}

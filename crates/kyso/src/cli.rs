//! The command line. `--data`, `--db`, `--as` and `--json` may be given anywhere.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "kyso",
    version,
    about = "Quản lý chứng thư số, thiết bị lưu khóa và yêu cầu chứng thực chuyên dùng cho cơ quan nhà nước.\n\
             Manages government-specialised certificates, key devices and certification requests.",
    after_help = "Examples:\n  kyso demo --data ./bn\n  kyso report --data ./bn --period 2026-H1\n  kyso request list --data ./bn --state submitted\n  kyso audit verify --data ./bn\n\n\
                  Environment: KYSO_DATA, KYSO_DB, KYSO_USER set the global options; KYSO_NOW fixes the clock (RFC 3339)."
)]
pub struct Cli {
    /// Data directory of the deployment (SQLite file, configuration, token keys).
    #[arg(long, global = true, env = "KYSO_DATA", default_value = "kyso-data")]
    pub data: PathBuf,
    /// PostgreSQL URL (postgres://…) to use instead of the SQLite file.
    #[arg(long, global = true, env = "KYSO_DB")]
    pub db: Option<String>,
    /// Login of the acting account; every check and audit event uses it.
    #[arg(long = "as", global = true, env = "KYSO_USER", default_value = "admin")]
    pub actor: String,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a deployment: province profile, root agency and the first IT-staff account.
    Init(InitArgs),
    /// Build a demo province (Bắc Ninh profile) with a year of history.
    Demo,
    /// Province profiles: who manages subscribers, routing, reports, extra rules.
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Agencies (the tree of the province).
    #[command(subcommand)]
    Agency(AgencyCmd),
    /// Officials.
    #[command(subcommand)]
    Person(PersonCmd),
    /// Accounts and their roles.
    #[command(subcommand)]
    User(UserCmd),
    /// Certificate work proposed after what happened to officials.
    #[command(subcommand)]
    Proposal(ProposalCmd),
    /// Subscribers: individuals, organisations, devices/services/software.
    #[command(subcommand)]
    Subscriber(SubscriberCmd),
    /// Key devices (USB token, SIM PKI, smartcard, HSM).
    #[command(subcommand)]
    Device(DeviceCmd),
    /// Certificate records.
    #[command(subcommand)]
    Cert(CertCmd),
    /// Certification requests and their steps.
    #[command(subcommand)]
    Request(RequestCmd),
    /// Report figures for a period (e.g. 2026-H1 or 2026) as a table, JSON or CSV.
    Report(ReportArgs),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Key tokens: software tokens in DATA/tokens, or PKCS#11 (--pkcs11 MODULE).
    #[command(subcommand)]
    Token(TokenCmd),
    /// The built-in certificate authority (root, issuing CA, CRL, OCSP, TSA).
    #[command(subcommand)]
    Ca(CaCmd),
    /// RFC 3161 time-stamps.
    #[command(subcommand)]
    Ts(TsCmd),
    /// Serve the CA's CRL, OCSP and time-stamping over HTTP.
    Serve(ServeArgs),
    /// Sign a PDF (PAdES) or, with --detached, any file (CAdES), with a key on a local token.
    Sign(SignArgs),
    /// Verify a signed PDF, or a detached CMS (FILE.p7s beside its content). Exit 0 only for
    /// TOTAL-PASSED, 1 for TOTAL-FAILED, 2 for INDETERMINATE.
    Verify(VerifyArgs),
    /// Documents: drafts, signing in the regulations' orders, the outgoing register.
    #[command(subcommand)]
    Doc(DocCmd),
    /// The local signing agent on an official's PC (holds the token, signs for a paired server).
    #[command(subcommand)]
    Agent(AgentCmd),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    pub file: PathBuf,
    /// Trusted roots or a trust list (PEM/DER; default: this deployment's built-in CA root).
    #[arg(long)]
    pub trust: Vec<PathBuf>,
    /// Judge at this time (RFC 3339) instead of now.
    #[arg(long)]
    pub at: Option<String>,
    /// For a detached signature: the signed file (default: FILE without .p7s).
    #[arg(long)]
    pub content: Option<PathBuf>,
    /// Further CRLs or intermediate certificates to use.
    #[arg(long)]
    pub crl: Vec<PathBuf>,
    #[arg(long)]
    pub chain: Vec<PathBuf>,
    /// Do not ask OCSP responders or fetch CRLs over the network.
    #[arg(long)]
    pub offline: bool,
    /// Accept a certificate when no CRL or OCSP response about it can be found ("soft-fail",
    /// as Acrobat and pyHanko do), with a note; default: INDETERMINATE / TRY_LATER.
    #[arg(long)]
    pub soft_fail: bool,
    /// Also write the report as HTML or PDF.
    #[arg(long)]
    pub html: Option<PathBuf>,
    #[arg(long)]
    pub pdf: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum DocCmd {
    /// Register a draft PDF of an agency (issued, scanned, copy, digitised, attachment, internal).
    Add(DocAddArgs),
    /// Documents the account may see, newest first.
    List {
        #[arg(long)]
        agency: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// A document with its signatures.
    Show { id: i64 },
    /// Write the document's current file.
    Export {
        id: i64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign: personally (--step approve|check_content|check_format) or with the agency's seal (--seal, records clerk).
    Sign(DocSignArgs),
    /// The outgoing register (sổ văn bản đi) of an agency for a year; --copies for the copy register.
    Register {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        year: i32,
        #[arg(long)]
        copies: bool,
    },
    /// Receive a signed PDF: verify it; enter it in the incoming register (sổ văn bản đến) if
    /// valid; otherwise refuse it, notify the sender and delete the file (its hash and report stay).
    Receive {
        file: PathBuf,
        #[arg(long)]
        agency: String,
        /// The sending agency.
        #[arg(long)]
        sender: String,
        /// truc-lien-thong | email | cong-thong-tin | khac
        #[arg(long, default_value = "truc-lien-thong")]
        source: String,
        /// Trích yếu, as printed on the document.
        #[arg(long)]
        title: String,
        /// The document's own number and symbol (e.g. "12/QĐ-UBND").
        #[arg(long)]
        number: Option<String>,
        /// The document's date (YYYY-MM-DD or DD/MM/YYYY).
        #[arg(long)]
        date: Option<String>,
        /// Enter it even though the signer's agency is not the stated sender (the warning stays).
        #[arg(long)]
        accept_sender_mismatch: bool,
        /// Further trusted roots (a trust list).
        #[arg(long)]
        trust: Vec<PathBuf>,
        /// Do not ask OCSP responders or fetch CRLs over the network.
        #[arg(long)]
        offline: bool,
        /// Keep a refused file instead of deleting it from the working area.
        #[arg(long)]
        keep: bool,
    },
    /// The incoming register of an agency for a year.
    Incoming {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        year: i32,
    },
    /// Notifications to senders (refused documents) waiting to be delivered; --all for every one.
    Notifications {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        all: bool,
    },
    /// Store an official's handwritten-signature image (PNG, blue on transparent).
    SignatureImage { citizen_id: String, png: PathBuf },
    /// Store an agency's seal image (PNG, red on transparent) and its real diameter.
    SealImage {
        agency: String,
        png: PathBuf,
        #[arg(long, default_value_t = 36.0)]
        mm: f64,
    },
}

#[derive(Args, Debug)]
pub struct DocAddArgs {
    pub file: PathBuf,
    #[arg(long)]
    pub agency: String,
    /// issued | scanned | copy | digitised | attachment | internal
    #[arg(long)]
    pub kind: String,
    /// Trích yếu.
    #[arg(long)]
    pub title: String,
    /// The symbol after the number, for issued documents (e.g. QĐ-SNV).
    #[arg(long)]
    pub symbol: Option<String>,
    /// Citizen ID of the competent signer, for issued documents.
    #[arg(long)]
    pub signer: Option<String>,
    /// The main document, for an attachment.
    #[arg(long)]
    pub parent: Option<i64>,
}

#[derive(Args, Debug)]
pub struct DocSignArgs {
    pub id: i64,
    /// A personal signature: approve (the competent signer), check_content or check_format.
    #[arg(long, conflicts_with = "seal")]
    pub step: Option<String>,
    /// The agency's signature, applied by its records clerk.
    #[arg(long)]
    pub seal: bool,
    /// Token label (local signing); not needed with --agent.
    #[arg(long)]
    pub label: Option<String>,
    #[arg(long)]
    pub pkcs11: Option<PathBuf>,
    /// Sign through a paired local agent (e.g. http://127.0.0.1:8481) instead of a local token.
    #[arg(long)]
    pub agent: Option<String>,
    /// The certificate to sign with (default: the newest certificate on the token).
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// Put the personal signature under this text (default: the signer's position, upper case).
    #[arg(long)]
    pub anchor: Option<String>,
    /// Or at PAGE,X1,Y1,X2,Y2 (points from the lower left).
    #[arg(long)]
    pub rect: Option<String>,
    #[arg(long)]
    pub invisible: bool,
    /// For a copy: "SAO Y", "SAO LỤC" or "TRÍCH SAO".
    #[arg(long)]
    pub copy_type: Option<String>,
    /// For a scanned paper original: its number and symbol as on paper (e.g. 12/QĐ-UBND).
    #[arg(long)]
    pub paper_number: Option<String>,
    /// Nơi nhận, for the register.
    #[arg(long)]
    pub recipients: Option<String>,
    /// b (B-B) or t (B-T).
    #[arg(long, default_value = "b")]
    pub level: String,
    /// Time-stamp authority for B-T: an http:// URL, or "builtin".
    #[arg(long)]
    pub tsa: Option<String>,
    #[arg(long)]
    pub reason: Option<String>,
    #[arg(long)]
    pub location: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum AgentCmd {
    /// Run the agent on 127.0.0.1: it prints a pairing code, then signs only for paired servers,
    /// showing each document and signer and asking for the PIN here (or KYSO_PIN).
    Serve {
        #[command(flatten)]
        token: TokenSel,
        #[arg(long, default_value = "127.0.0.1:8481")]
        listen: String,
    },
    /// Pair this deployment with an agent, using the code the agent shows.
    Pair {
        #[arg(long)]
        agent: String,
        #[arg(long)]
        code: String,
    },
}

#[derive(Args, Debug)]
pub struct SignArgs {
    pub file: PathBuf,
    /// Output file (default: FILE-signed.pdf, or FILE.p7s with --detached). The input is never changed.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub token: TokenSel,
    /// Label of the key on the token (default: the key that matches the certificate).
    #[arg(long)]
    pub key: Option<String>,
    /// The signer's certificate (PEM or DER).
    #[arg(long)]
    pub cert: PathBuf,
    /// Intermediate CA certificates to include.
    #[arg(long)]
    pub chain: Vec<PathBuf>,
    /// b (B-B), t (B-T, with a signature time-stamp), lt (B-T plus the chain and CRLs in a
    /// DSS) or lta (B-LT plus a document time-stamp).
    #[arg(long, default_value = "b")]
    pub level: String,
    /// Time-stamp authority for B-T and above: an http:// URL, or "builtin" (the built-in TSA; KYSO_CA_PIN).
    #[arg(long)]
    pub tsa: Option<String>,
    /// Detached CMS (CAdES) for any file, instead of a PDF signature.
    #[arg(long)]
    pub detached: bool,
    /// Page of the signature field (1-based).
    #[arg(long, default_value_t = 1)]
    pub page: usize,
    #[arg(long, default_value = "Chữ ký 1")]
    pub field: String,
    #[arg(long)]
    pub reason: Option<String>,
    #[arg(long)]
    pub location: Option<String>,
}

/// Which token: a software token by label, or a PKCS#11 token by label in a module.
#[derive(Args, Debug, Clone)]
pub struct TokenSel {
    /// Token label.
    #[arg(long)]
    pub label: String,
    /// PKCS#11 module path (a vendor USB token driver, an HSM, SoftHSM2); default: software token.
    #[arg(long)]
    pub pkcs11: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Create a software token (or initialise a PKCS#11 slot). PINs: KYSO_PIN and KYSO_SO_PIN, or a prompt.
    Create(TokenSel),
    /// Show the token's state: PIN tries left, locked.
    Info(TokenSel),
    /// Generate a key pair on the token (non-extractable on PKCS#11).
    Keygen {
        #[command(flatten)]
        token: TokenSel,
        #[arg(long)]
        key: String,
        /// ec-p256, rsa-2048, rsa-3072.
        #[arg(long, default_value = "ec-p256")]
        alg: String,
    },
    /// Make a CSR with a key on the token, for a certification request.
    Csr {
        #[command(flatten)]
        token: TokenSel,
        #[arg(long)]
        key: String,
        /// e.g. "CN=Nguyễn Văn An,C=VN".
        #[arg(long)]
        subject: String,
        /// Write the CSR here (PEM); default stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List the keys on the token.
    Keys(TokenSel),
    /// Change the user PIN (KYSO_PIN, then KYSO_NEW_PIN).
    ChangePin(TokenSel),
    /// Unlock a locked token with the SO PIN and set a new user PIN (KYSO_SO_PIN, KYSO_NEW_PIN).
    Unlock(TokenSel),
}

#[derive(Subcommand, Debug)]
pub enum CaCmd {
    /// Create the CA: keys on the CA token, root and issuing CA, OCSP and TSA certificates, first CRL.
    /// PINs: KYSO_CA_PIN, and KYSO_CA_SO_PIN when the software CA token is created here.
    Init {
        /// ec-p256, rsa-2048, rsa-3072.
        #[arg(long, default_value = "ec-p256")]
        algorithm: String,
        /// Base of the URLs written into certificates (where `kyso serve` answers).
        #[arg(long, default_value = "http://127.0.0.1:8480")]
        base_url: String,
    },
    /// Show the CA's certificates and configuration.
    Show,
    /// Issue the certificate of a request sent to the CA, from the subscriber's CSR.
    Issue {
        request: i64,
        #[arg(long)]
        csr: PathBuf,
        /// Key device that holds the key.
        #[arg(long)]
        device: Option<String>,
        /// Write the certificate here (PEM); default stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Carry out a revocation request.
    Revoke { request: i64 },
    /// Carry out a restore-device request: unlock the device's token (KYSO_SO_PIN, KYSO_NEW_PIN).
    Restore { request: i64 },
    /// Publish a CRL (full, or --delta).
    Crl {
        #[arg(long)]
        delta: bool,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Re-produce every OCSP response.
    OcspRefresh,
    /// Write the root, the issuing CA, every issued certificate and the current CRL as PEM files.
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Submit a batch sent to the CA: the built-in CA issues/revokes at once; with --external,
    /// write the package for an external CA (request list and CSRs) into --out.
    Submit {
        #[arg(long)]
        batch: i64,
        #[arg(long)]
        external: bool,
        #[arg(long, required_if_eq("external", "true"))]
        out: Option<PathBuf>,
    },
    /// External CA: import issued certificates (PEM, DER, PKCS#7) with the CA's certificate, and its CRLs.
    Import { files: Vec<PathBuf> },
}

#[derive(Subcommand, Debug)]
pub enum TsCmd {
    /// Time-stamp a file: with --url from a TSA over HTTP, else from the built-in TSA (KYSO_CA_PIN).
    Stamp {
        file: PathBuf,
        #[arg(long)]
        url: Option<String>,
        /// Write the RFC 3161 response here; default FILE.tsr.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8480")]
    pub listen: String,
    /// Seconds between refreshes of the OCSP index and the CRL schedule.
    #[arg(long, default_value_t = 30)]
    pub refresh_secs: u64,
    /// Serve without the CA token (no time-stamps, no on-demand OCSP, no new CRLs).
    #[arg(long)]
    pub no_ca_token: bool,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Province profile key (see `kyso profile list`).
    #[arg(long)]
    pub profile: String,
    /// Code of the root agency, e.g. UBND-BN.
    #[arg(long)]
    pub code: String,
    /// Name of the root agency, e.g. "Ủy ban nhân dân tỉnh Bắc Ninh".
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub tax_code: String,
    #[arg(long, default_value = "")]
    pub address: String,
    #[arg(long)]
    pub email: Option<String>,
    /// Login of the first IT-staff account.
    #[arg(long, default_value = "admin")]
    pub admin: String,
}

#[derive(Subcommand, Debug)]
pub enum ProfileCmd {
    /// List the built-in profiles.
    List,
    /// Show a profile (default: the deployment's).
    Show { key: Option<String> },
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum AgencyCmd {
    /// Add an agency under a parent.
    Add(AgencyAddArgs),
    /// List agencies (optionally under CODE).
    List {
        #[arg(long)]
        under: Option<String>,
    },
    Show {
        code: String,
    },
    /// End an agency's effective period (dissolved or merged).
    Close {
        code: String,
        /// Last day of validity (YYYY-MM-DD).
        #[arg(long)]
        on: String,
    },
    /// Import agencies from CSV (columns: code,name,parent_code,legal_entity,tax_code,budget_code,email,address,valid_from).
    Import {
        file: PathBuf,
    },
    /// Name the provincial Office, the CQQLTT of province bodies and their leaders where the profile says so (Hà Tĩnh Art. 5.1).
    ProvincialOffice {
        code: String,
    },
}

#[derive(Args, Debug)]
pub struct AgencyAddArgs {
    #[arg(long)]
    pub code: String,
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub parent: String,
    /// Has its own seal (can be a direct-managing agency).
    #[arg(long)]
    pub legal_entity: bool,
    #[arg(long)]
    pub tax_code: Option<String>,
    #[arg(long)]
    pub budget_code: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long, default_value = "")]
    pub address: String,
    #[arg(long)]
    pub valid_from: Option<String>,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum PersonCmd {
    Add(PersonAddArgs),
    List {
        #[arg(long)]
        under: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// Show an official by citizen ID.
    Show {
        citizen_id: String,
    },
    /// Import officials from CSV (columns: full_name,citizen_id,date_of_birth,gender,position,position_kind,title,agency_code,email,phone).
    Import {
        file: PathBuf,
    },
    /// Edit an official's name, position, title, e-mail or phone.
    Edit {
        citizen_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        position: Option<String>,
        #[arg(long)]
        position_kind: Option<String>,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
    },
    /// Record what happened to an official: retired, resigned, deceased, position_changed, moved.
    /// Proposes the certificate work to the CQQLTT; leaving the service disables the accounts.
    Event {
        citizen_id: String,
        #[arg(long)]
        event: String,
        /// Effective date (YYYY-MM-DD or DD/MM/YYYY).
        #[arg(long)]
        on: String,
        /// The decision it rests on (number and date).
        #[arg(long)]
        basis: String,
        /// For a move: the new agency's code.
        #[arg(long)]
        agency: Option<String>,
        /// For a new position.
        #[arg(long)]
        position: Option<String>,
        #[arg(long)]
        position_kind: Option<String>,
        #[arg(long)]
        title: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProposalCmd {
    /// Certificate work proposed after officials' events (open ones unless --all).
    List {
        #[arg(long)]
        all: bool,
    },
    /// File the proposed request (created and submitted in one action).
    Accept { id: i64 },
    /// Dismiss a proposal, with the reason.
    Dismiss {
        id: i64,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Args, Debug)]
pub struct PersonAddArgs {
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub citizen_id: String,
    /// YYYY-MM-DD or DD/MM/YYYY.
    #[arg(long)]
    pub born: String,
    /// nam / nữ (male / female).
    #[arg(long)]
    pub gender: String,
    /// Position (chức vụ), e.g. "Phó Giám đốc".
    #[arg(long)]
    pub position: String,
    /// leader, deputy_leader, council_committee_head, chief_of_office, chief_inspector, one_stop_officer, records_clerk, specialist, other.
    #[arg(long, default_value = "other")]
    pub position_kind: String,
    /// Title (chức danh).
    #[arg(long, default_value = "")]
    pub title: String,
    #[arg(long)]
    pub agency: String,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub phone: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    Add {
        login: String,
        /// Tie the account to an official.
        #[arg(long)]
        citizen_id: Option<String>,
    },
    /// Give a role over an agency and everything below it.
    Grant {
        login: String,
        /// provincial_manager, it_staff, agency_officer, records_clerk, subscriber, auditor.
        #[arg(long)]
        role: String,
        #[arg(long)]
        agency: String,
    },
    List,
    /// Disable an account: it can no longer act.
    Disable {
        login: String,
    },
    /// Take a role back from an account.
    Revoke {
        login: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        agency: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum SubscriberCmd {
    /// Register an official as an individual subscriber.
    Individual {
        #[arg(long)]
        citizen_id: String,
        /// Direct-managing agency (default: nearest legal entity above).
        #[arg(long)]
        managing: Option<String>,
    },
    /// Register an agency with its own seal as an organisation subscriber.
    Organisation {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        managing: Option<String>,
    },
    /// Register a device, service or software.
    Device {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        managing: Option<String>,
    },
    List {
        #[arg(long)]
        under: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum DeviceCmd {
    Add {
        #[arg(long)]
        serial: String,
        /// usb_token, sim_pki, smartcard, hsm.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        model: String,
        #[arg(long)]
        agency: String,
    },
    List {
        #[arg(long)]
        under: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        /// Only devices past their return deadline (quá hạn nộp lại).
        #[arg(long)]
        overdue: bool,
    },
    Show {
        serial: String,
    },
    /// Give a device back (NĐ 130 Art. 71): its holder hands it to the receiver, with a handover record.
    Return {
        serial: String,
        /// Citizen ID of the receiver (the CQQLTT officer or the CA's agent).
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "Nộp lại thiết bị sau khi thu hồi chứng thư số")]
        reason: String,
    },
    /// Record a device event: in_use (activated after handover), locked, damaged.
    Status {
        serial: String,
        status: String,
    },
    /// Assign a device in stock to its custodian (an organisation's device: to its records clerk, by decision).
    Assign {
        serial: String,
        /// Citizen ID of the custodian.
        #[arg(long)]
        to: String,
        /// The device is the organisation's (goes to the records clerk).
        #[arg(long)]
        organisation: bool,
        /// Number and date of the written decision.
        #[arg(long)]
        decision: Option<String>,
    },
    /// Hand a device over (form 14 / NĐ 68 Mẫu 07); also a change of custodian.
    Handover {
        serial: String,
        /// Citizen ID of the person handing over (the current custodian for a change).
        #[arg(long)]
        from: Option<String>,
        /// Citizen ID of the recipient.
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "Cấp mới")]
        reason: String,
        #[arg(long)]
        decision: Option<String>,
    },
    /// Report a lost device with the CQQLTT's confirmation record (form 15); files revocation requests.
    Lost {
        serial: String,
        /// Number and date of the confirmation record.
        #[arg(long)]
        record: String,
    },
    /// Handover records of a device.
    History {
        serial: String,
    },
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum CertCmd {
    /// Bring in what the government CA already issued: its certificate files (PEM, DER, PKCS#7)
    /// and/or its list (CSV), matched to officials by citizen ID, e-mail, then name and agency;
    /// unmatched certificates go to review ('kyso cert review').
    Import {
        /// Certificate files.
        files: Vec<PathBuf>,
        /// The CA's list, a CSV with a header row.
        #[arg(long)]
        list: Option<PathBuf>,
        /// FIELD=COLUMN for the list: serial, subject, not_before, not_after (required), issuer, email, citizen_id.
        #[arg(long = "map", value_name = "FIELD=COLUMN")]
        map: Vec<String>,
    },
    /// Certificates of bulk imports that matched no official, waiting for review.
    Review,
    /// Enter an existing certificate issued outside kyso (migration); counts in no report figure.
    Add {
        #[arg(long)]
        subscriber: i64,
        #[arg(long)]
        serial: String,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        issuer: String,
        /// RFC 3339.
        #[arg(long)]
        not_before: String,
        #[arg(long)]
        not_after: String,
        #[arg(long)]
        device: Option<String>,
        /// Renewals already made on it (0 or 1).
        #[arg(long, default_value_t = 0)]
        renewal_count: u32,
    },
    List {
        #[arg(long)]
        under: Option<String>,
        /// Only certificates expiring within this many days (not revoked), soonest first.
        #[arg(long)]
        expiring_within: Option<i64>,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    Show {
        serial: String,
    },
    /// Check a certificate path (RFC 5280) at a time: names, signatures, validity (the root's
    /// too), basic and name constraints, key usage, key identifiers, EKU, critical extensions,
    /// an optional maximum depth, and revocation from the CRLs given (a CRL of the issuer that
    /// cannot be used makes the path invalid). Exit 0 for a valid path, 1 otherwise. Default
    /// trust: the built-in CA's root.
    Verify(CertVerifyArgs),
}

#[derive(Args, Debug)]
pub struct CertVerifyArgs {
    /// The certificate (PEM or DER).
    pub cert: PathBuf,
    /// Intermediate certificates (PEM files may hold several).
    #[arg(long)]
    pub chain: Vec<PathBuf>,
    /// Trusted roots (default: the built-in CA's root of this deployment).
    #[arg(long)]
    pub trust: Vec<PathBuf>,
    /// The time to judge at (RFC 3339; default now).
    #[arg(long)]
    pub at: Option<String>,
    /// CRLs to check revocation with.
    #[arg(long)]
    pub crl: Vec<PathBuf>,
    /// A purpose the certificate must carry (an OID such as 1.3.6.1.5.5.7.3.4).
    #[arg(long)]
    pub eku: Option<String>,
    /// At most N intermediate CA certificates between the certificate and the trusted root
    /// (self-issued ones, such as a CA key rollover, are not counted); 0: issued by the root.
    #[arg(long, value_name = "N")]
    pub max_depth: Option<usize>,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum RequestCmd {
    /// Create a draft request.
    New(RequestNewArgs),
    /// Submit a draft (subscriber or agency officer).
    Submit {
        id: i64,
    },
    /// Confirm as the direct-managing agency (CQQLTT), which answers for the data.
    Confirm {
        id: i64,
    },
    /// Check as the provincial subscriber manager (when the profile routes via the manager).
    Check {
        id: i64,
    },
    /// Send requests to the CA in one batch.
    Send {
        ids: Vec<i64>,
    },
    /// Record the CA's result.
    Complete(RequestCompleteArgs),
    Reject {
        id: i64,
        #[arg(long)]
        reason: String,
    },
    Cancel {
        id: i64,
    },
    /// Attach the CSR made on the subscriber's token (for an external CA).
    Csr {
        id: i64,
        file: PathBuf,
    },
    List {
        #[arg(long)]
        under: Option<String>,
        /// draft, submitted, confirmed, checked, sent_to_ca, completed, rejected, cancelled.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    Show {
        id: i64,
    },
}

#[derive(Args, Debug)]
pub struct RequestNewArgs {
    /// new, renew, change, revoke, restore.
    #[arg(long)]
    pub kind: String,
    /// Subscriber id (see `kyso subscriber list`).
    #[arg(long)]
    pub subscriber: i64,
    /// Certificate serial (renew, change, revoke).
    #[arg(long)]
    pub certificate: Option<String>,
    /// Device serial (restore; revoke defaults to the certificate's device).
    #[arg(long)]
    pub device: Option<String>,
    /// Requested validity for a new certificate, in months (at most 60).
    #[arg(long, default_value_t = 36)]
    pub validity_months: u32,
    /// Requested extension for a renewal, in months (at most 36).
    #[arg(long, default_value_t = 36)]
    pub extension_months: u32,
    /// Change of information: FIELD=VALUE (name, title, workplace, email, tax_code, address); repeatable.
    #[arg(long = "change")]
    pub changes: Vec<String>,
    /// Revocation reason (see the error message for the allowed codes).
    #[arg(long)]
    pub reason: Option<String>,
    /// Revoke with return of the key device to the CA.
    #[arg(long)]
    pub device_return: bool,
    /// Lost device: number and date of the CQQLTT's confirmation record (form 15).
    #[arg(long)]
    pub lost_record: Option<String>,
    /// Restore: contact phone of the device custodian.
    #[arg(long)]
    pub phone: Option<String>,
}

#[derive(Args, Debug)]
pub struct RequestCompleteArgs {
    pub id: i64,
    /// Issued certificate: serial number.
    #[arg(long)]
    pub serial: Option<String>,
    #[arg(long)]
    pub subject: Option<String>,
    #[arg(long)]
    pub issuer: Option<String>,
    /// RFC 3339, e.g. 2026-11-21T00:00:00+07:00.
    #[arg(long)]
    pub not_before: Option<String>,
    #[arg(long)]
    pub not_after: Option<String>,
    /// Key device that holds the new certificate.
    #[arg(long)]
    pub device: Option<String>,
    /// Revocation: the time the CA revoked it (RFC 3339; default now).
    #[arg(long)]
    pub revoked_at: Option<String>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// 2026-H1, 2026-H2, 2026-Q1…Q4 or 2026: the profile's period, with its data cut-off dates.
    #[arg(long, required_unless_present = "from", conflicts_with_all = ["from", "to"])]
    pub period: Option<String>,
    /// First day of an ad-hoc report (báo cáo đột xuất), YYYY-MM-DD; with --to.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// Last day of an ad-hoc report, YYYY-MM-DD.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// A figure the agency gives itself, KEY=NUMBER (e.g. public_services=12); repeatable.
    #[arg(long = "input", value_name = "KEY=NUMBER")]
    pub inputs: Vec<String>,
    /// Agency subtree (default: the whole province).
    #[arg(long)]
    pub agency: Option<String>,
    /// CSV output.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Check every link of the chain; names the first broken event.
    Verify,
    /// Show the last events.
    Tail {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

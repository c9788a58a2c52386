//! Opening tokens for the CLI: where they are (configuration) and where PINs come from
//! (environment variables, or a prompt on a terminal). PINs are never written anywhere.

use crate::config::Config;
use crate::error::CliError;
use kyso_token::pkcs11::Pkcs11Token;
use kyso_token::soft::{Kdf, SoftToken};
use kyso_token::{Pin, Token, TokenError, TokenSession};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Where a token lives.
#[derive(Debug, Clone, serde::Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum TokenRef {
    /// A software token in `<data>/tokens/<label>.token.json`.
    Software { label: String },
    /// A PKCS#11 token by label in a vendor module (USB token, HSM, SoftHSM2).
    Pkcs11 { module: PathBuf, label: String },
}

impl TokenRef {
    pub fn ca_default() -> Self {
        TokenRef::Software { label: "kyso-ca".into() }
    }
    pub fn label(&self) -> &str {
        match self {
            TokenRef::Software { label } | TokenRef::Pkcs11 { label, .. } => label,
        }
    }
}

pub fn tokens_dir(data: &Path) -> PathBuf {
    data.join("tokens")
}

pub fn token_err(e: TokenError) -> CliError {
    let exit = match e {
        TokenError::Device(_) | TokenError::Io(_) => 2,
        _ => 1,
    };
    CliError { code: e.code(), message: e.to_string(), rows: vec![], hint: None, exit }
}

pub fn open(data: &Path, r: &TokenRef, max_retries: u32) -> Result<Box<dyn Token>, CliError> {
    Ok(match r {
        TokenRef::Software { label } => Box::new(SoftToken::open(&tokens_dir(data), label).map_err(token_err)?),
        TokenRef::Pkcs11 { module, label } => {
            Box::new(Pkcs11Token::open(module, label, &tokens_dir(data), max_retries).map_err(token_err)?)
        }
    })
}

/// The token holding certificate `serial` is locked: the registry learns it at once, so that
/// the restore request can be filed. Best effort: signing works without a deployment, and the
/// refusal the user sees is the token's own.
pub fn report_locked(cli: &crate::cli::Cli, serial: &str, now: chrono::DateTime<chrono::Utc>) {
    if let Ok(svc) = crate::deployment::open_service(cli) {
        if let Ok(actor) = svc.local_operator(&cli.actor) {
            if let Ok(Some(d)) = svc.record_token_locked(&actor, serial, "kyso", now) {
                eprintln!(
                    "Thiết bị {} đã bị khóa do nhập sai mã PIN quá số lần cho phép; đã ghi nhận vào hệ thống, hãy lập yêu cầu khôi phục.",
                    d.serial
                );
            }
        }
    }
}

/// Reads a PIN from `env_var`, or asks on the terminal. Refuses when neither is possible.
pub fn pin(env_var: &str, prompt: &str) -> Result<Pin, CliError> {
    if let Ok(v) = std::env::var(env_var) {
        if !v.is_empty() {
            return Ok(Pin::new(v));
        }
    }
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password(format!("{prompt}: ")).map_err(|e| CliError {
            code: "environment",
            message: e.to_string(),
            rows: vec![],
            hint: None,
            exit: 2,
        })?;
        return Ok(Pin::new(p));
    }
    Err(CliError {
        code: "pin_required",
        message: format!("cần mã PIN ({prompt}) nhưng không có cửa sổ dòng lệnh để nhập"),
        rows: vec![],
        hint: Some(format!("đặt biến môi trường {env_var} cho lần chạy này (không lưu vào tệp cấu hình)")),
        exit: 1,
    })
}

/// Reads a new account password from `env_var`, or asks for it twice on the terminal.
pub fn new_password(env_var: &str, prompt: &str) -> Result<Pin, CliError> {
    let err = |code: &'static str, message: String, hint: Option<String>| CliError { code, message, rows: vec![], hint, exit: 1 };
    if let Ok(v) = std::env::var(env_var) {
        if !v.is_empty() {
            return Ok(Pin::new(v));
        }
    }
    if !std::io::stdin().is_terminal() {
        return Err(err(
            "password_required",
            format!("cần mật khẩu ({prompt}) nhưng không có cửa sổ dòng lệnh để nhập"),
            Some(format!("đặt biến môi trường {env_var} cho lần chạy này")),
        ));
    }
    let ask = |p: &str| rpassword::prompt_password(format!("{p}: ")).map_err(|e| err("environment", e.to_string(), None));
    let first = Pin::new(ask(prompt)?);
    let again = Pin::new(ask("Nhập lại mật khẩu")?);
    if first.expose() != again.expose() {
        return Err(err("password_mismatch", "hai lần nhập mật khẩu không khớp".into(), Some("chạy lại lệnh và nhập cẩn thận".into())));
    }
    Ok(first)
}

/// Asks the person at this terminal for a PIN; never the environment (the signing agent).
pub fn terminal_pin(prompt: &str) -> Result<Pin, String> {
    if !std::io::stdin().is_terminal() {
        return Err("không có cửa sổ dòng lệnh để hỏi mã PIN; chạy tác tử trong cửa sổ dòng lệnh, hoặc dùng --pinentry".into());
    }
    rpassword::prompt_password(format!("{prompt}: ")).map(Pin::new).map_err(|e| e.to_string())
}

/// Asks for a PIN through a pinentry program (GnuPG's Assuan protocol): SETDESC, GETPIN, BYE.
pub fn pinentry(program: &Path, description: &str) -> Result<Pin, String> {
    use std::io::{BufRead, BufReader, Write};
    let fail = |e: std::io::Error| format!("pinentry {}: {e}", program.display());
    let mut child = std::process::Command::new(program)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(fail)?;
    let (Some(mut to), Some(from)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("pinentry không mở được".into());
    };
    let mut from = BufReader::new(from);
    let mut line = String::new();
    // One reply: "D data" lines (percent-escaped) and then "OK", or "ERR …".
    let mut reply = |to: &mut std::process::ChildStdin, cmd: Option<&str>| -> Result<Option<String>, String> {
        if let Some(c) = cmd {
            writeln!(to, "{c}").map_err(fail)?;
            to.flush().map_err(fail)?;
        }
        let mut data = None;
        loop {
            line.clear();
            if from.read_line(&mut line).map_err(fail)? == 0 {
                return Err("pinentry đóng trước khi trả lời".into());
            }
            let l = line.trim_end_matches(['\r', '\n']);
            if let Some(d) = l.strip_prefix("D ") {
                data = Some(kyso_core::value::percent_decode(d));
            } else if l.starts_with("OK") {
                return Ok(data);
            } else if l.starts_with("ERR") {
                return Err(format!("người dùng không nhập mã PIN ({l})"));
            }
        }
    };
    reply(&mut to, None)?;
    let escaped: String = description
        .chars()
        .map(|c| match c {
            '%' => "%25".into(),
            '\n' => "%0A".into(),
            '\r' => "%0D".into(),
            c => c.to_string(),
        })
        .collect();
    reply(&mut to, Some(&format!("SETDESC {escaped}")))?;
    reply(&mut to, Some("SETPROMPT PIN:"))?;
    let pin = reply(&mut to, Some("GETPIN"))?.ok_or("pinentry không trả mã PIN")?;
    let _ = reply(&mut to, Some("BYE"));
    let _ = child.wait();
    Ok(Pin::new(pin))
}

/// Logs in to the CA token with KYSO_CA_PIN or a prompt.
pub fn ca_session(data: &Path, cfg: &Config, max_retries: u32) -> Result<Box<dyn TokenSession>, CliError> {
    let r = cfg.ca_token.clone().unwrap_or_else(TokenRef::ca_default);
    let t = open(data, &r, max_retries)?;
    let p = pin("KYSO_CA_PIN", &format!("Mã PIN của thiết bị CA '{}'", r.label()))?;
    t.login(&p).map_err(token_err)
}

/// The cost of a new software token's PIN derivation: the standard Argon2id, or the training
/// cost in a training deployment (recorded in the token file).
pub fn kdf_for(training: bool) -> Kdf {
    if training {
        Kdf::TRAINING
    } else {
        Kdf::STANDARD
    }
}

/// The root CA's own token (`--root-token`, taken offline after `ca init`), logged in with
/// KYSO_ROOT_PIN; a software one is created on first use (with KYSO_ROOT_SO_PIN).
pub fn root_session(data: &Path, r: &TokenRef, max_retries: u32, kdf: Kdf, create: bool) -> Result<Box<dyn TokenSession>, CliError> {
    if let (true, TokenRef::Software { label }) = (create, r) {
        if SoftToken::open(&tokens_dir(data), label).is_err() {
            let user = pin("KYSO_ROOT_PIN", "Mã PIN mới cho thiết bị của CA gốc")?;
            let so = pin("KYSO_ROOT_SO_PIN", "Mã PIN quản trị (SO) mới cho thiết bị của CA gốc")?;
            SoftToken::create(&tokens_dir(data), label, &user, &so, max_retries, kdf).map_err(token_err)?;
        }
    }
    let t = open(data, r, max_retries)?;
    let p = pin("KYSO_ROOT_PIN", &format!("Mã PIN của thiết bị CA gốc '{}'", r.label()))?;
    t.login(&p).map_err(token_err)
}

/// Creates the CA's software token if the configuration names one that does not exist yet.
pub fn ensure_ca_token(data: &Path, cfg: &Config, max_retries: u32, kdf: Kdf) -> Result<(), CliError> {
    if let TokenRef::Software { label } = cfg.ca_token.clone().unwrap_or_else(TokenRef::ca_default) {
        if SoftToken::open(&tokens_dir(data), &label).is_err() {
            let user = pin("KYSO_CA_PIN", "Mã PIN mới cho thiết bị CA")?;
            let so = pin("KYSO_CA_SO_PIN", "Mã PIN quản trị (SO) mới cho thiết bị CA")?;
            SoftToken::create(&tokens_dir(data), &label, &user, &so, max_retries, kdf).map_err(token_err)?;
        }
    }
    Ok(())
}

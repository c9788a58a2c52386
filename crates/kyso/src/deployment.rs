//! The opened deployment: its configuration, calendar, database and service, from the data
//! directory the command names.

use crate::cli::Cli;
use crate::config;
use crate::error::{env_err, CliResult};
use chrono::{DateTime, Utc};
use kyso_core::calendar::WorkCalendar;
use kyso_service::Service;
use kyso_store::Db;

pub(crate) struct Env {
    pub db_url: String,
    pub calendar: WorkCalendar,
    pub config: config::Config,
}

/// What kyso keeps at the top of a data directory; a directory holding none of them is not a
/// deployment yet.
const DEPLOYMENT_ENTRIES: &[&str] = &["kyso.db", config::CONFIG_FILE, "tokens", "files"];

/// Refuses a deployment's data directory (or a file at its top: the database, the
/// configuration) that others may read or enter: it holds the software tokens and personal
/// data. A directory that is not a deployment yet is left to `init` and `demo`.
pub(crate) fn check_private(dir: &std::path::Path) -> CliResult<()> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(dir) else { return Ok(()) };
    if !DEPLOYMENT_ENTRIES.iter().any(|e| dir.join(e).exists()) {
        return Ok(());
    }
    let mut open = vec![];
    if meta.permissions().mode() & 0o077 != 0 {
        open.push((dir.to_path_buf(), meta.permissions().mode() & 0o777));
    }
    // kyso's own files at the top; what the operator puts beside them is theirs, and the
    // directory's 0700 already keeps others out of it.
    for name in ["kyso.db", "kyso.db-wal", "kyso.db-shm", config::CONFIG_FILE, SEALING_KEY_FILE] {
        if let Ok(m) = std::fs::metadata(dir.join(name)) {
            if m.permissions().mode() & 0o077 != 0 {
                open.push((dir.join(name), m.permissions().mode() & 0o777));
            }
        }
    }
    match open.first() {
        None => Ok(()),
        Some((p, mode)) => Err(env_err(format!(
            "{} có quyền {mode:o}, người dùng khác đọc được; thư mục dữ liệu chứa khóa và dữ liệu cá nhân nên chỉ chủ sở hữu được truy cập: chạy 'chmod -R go-rwx {}' rồi thử lại",
            p.display(),
            dir.display()
        ))),
    }
}

pub(crate) fn env(cli: &Cli) -> CliResult<Env> {
    check_private(&cli.data)?;
    let cfg = config::load(&cli.data).map_err(env_err)?;
    let db_url = config::db_url(&cli.data, cli.db.as_deref(), &cfg);
    Ok(Env { db_url, calendar: WorkCalendar::builtin().with_extra(cfg.holidays.clone()), config: cfg })
}

pub(crate) fn open_db(cli: &Cli, env: &Env, create: bool) -> CliResult<Db> {
    let is_pg = env.db_url.starts_with("postgres");
    if !is_pg {
        if create {
            use std::os::unix::fs::PermissionsExt;
            std::fs::create_dir_all(&cli.data)
                .map_err(|e| env_err(format!("không tạo được thư mục dữ liệu {}: {e}", cli.data.display())))?;
            // A new deployment may be made in a directory the operator created (mkdir, a
            // temporary directory): it becomes the owner's alone.
            std::fs::set_permissions(&cli.data, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| env_err(format!("không đặt được quyền 0700 cho {}: {e}", cli.data.display())))?;
        } else if !std::path::Path::new(&env.db_url).exists() {
            return Err(env_err(format!(
                "không có cơ sở dữ liệu tại {}; hãy chạy 'kyso init --data {}' hoặc 'kyso demo --data {}', hoặc chỉ đúng --data",
                env.db_url,
                cli.data.display(),
                cli.data.display()
            )));
        }
    }
    Ok(Db::open(&env.db_url)?)
}

/// Why a production deployment refuses a fixed clock.
pub(crate) const FIXED_CLOCK_REFUSED: &str = "KYSO_NOW cố định thời điểm, chỉ dùng được trên hệ thống đào tạo, thử nghiệm ('kyso init --training', 'kyso demo'); hệ thống thật luôn dùng đồng hồ của máy để không cấp dấu thời gian, CRL hay chữ ký lùi ngày: bỏ biến KYSO_NOW rồi chạy lại";

pub(crate) fn open_service(cli: &Cli) -> CliResult<Service> {
    let env = env(cli)?;
    let db = open_db(cli, &env, false)?;
    let mut svc = Service::open(db, env.calendar)?;
    if crate::clock::fixed() && !svc.is_training() {
        return Err(env_err(FIXED_CLOCK_REFUSED));
    }
    svc.set_sealing_key(sealing_key(&cli.data)?);
    svc.set_files(&cli.data.join("files"))?;
    Ok(svc)
}

/// The key that seals secrets the database keeps (agent pairings): `kyso.key` in the data
/// directory, 32 random bytes made on first use, owner-only like the rest. It stays out of the
/// database, so that a dump of it alone does not give the secrets.
const SEALING_KEY_FILE: &str = "kyso.key";

pub(crate) fn sealing_key(dir: &std::path::Path) -> CliResult<[u8; 32]> {
    let p = dir.join(SEALING_KEY_FILE);
    match std::fs::read(&p) {
        Ok(b) => b.try_into().map_err(|_| env_err(format!("{} hỏng (phải dài 32 byte); khôi phục từ bản sao lưu", p.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Written whole to a temporary file, then linked into place only if no other kyso
            // process made one meanwhile (that one wins, and is read back).
            use std::io::Write;
            let mut k = [0u8; 32];
            kyso_token::random_bytes(&mut k);
            let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| env_err(format!("không tạo được khóa niêm phong: {e}")))?;
            tmp.write_all(&k)
                .and_then(|_| tmp.as_file().sync_all())
                .map_err(|e| env_err(format!("không ghi được khóa niêm phong: {e}")))?;
            match tmp.persist_noclobber(&p) {
                Ok(_) => Ok(k),
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => sealing_key(dir),
                Err(e) => Err(env_err(format!("không ghi được {}: {}", p.display(), e.error))),
            }
        }
        Err(e) => Err(env_err(format!("không đọc được {}: {e}", p.display()))),
    }
}

pub(crate) fn parse_time(field: &'static str, s: &str) -> CliResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        kyso_core::DomainError::invalid(field, format!("'{s}' không phải thời điểm RFC 3339 (ví dụ 2026-11-21T09:00:00+07:00)")).into()
    })
}

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

/// Refuses a data directory (or a file at its top: the database, the configuration) that
/// others may read or enter: it holds the software tokens and personal data.
pub(crate) fn check_private(dir: &std::path::Path) -> CliResult<()> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(dir) else { return Ok(()) };
    let mut open = vec![];
    if meta.permissions().mode() & 0o077 != 0 {
        open.push((dir.to_path_buf(), meta.permissions().mode() & 0o777));
    }
    if meta.is_dir() {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if let Ok(m) = e.metadata() {
                if m.permissions().mode() & 0o077 != 0 {
                    open.push((e.path(), m.permissions().mode() & 0o777));
                }
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
            std::fs::create_dir_all(&cli.data)
                .map_err(|e| env_err(format!("không tạo được thư mục dữ liệu {}: {e}", cli.data.display())))?;
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

pub(crate) fn open_service(cli: &Cli) -> CliResult<Service> {
    let env = env(cli)?;
    let db = open_db(cli, &env, false)?;
    let mut svc = Service::open(db, env.calendar)?;
    svc.set_files(&cli.data.join("files"))?;
    Ok(svc)
}

pub(crate) fn parse_time(field: &'static str, s: &str) -> CliResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        kyso_core::DomainError::invalid(field, format!("'{s}' không phải thời điểm RFC 3339 (ví dụ 2026-11-21T09:00:00+07:00)")).into()
    })
}

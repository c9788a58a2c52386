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

pub(crate) fn env(cli: &Cli) -> CliResult<Env> {
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

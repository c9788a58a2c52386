//! The only place that reads the system clock. `KYSO_NOW` (RFC 3339) fixes the time, for
//! training runs and reproducible tests; only a training deployment accepts it (a back-dated
//! time-stamp or CRL from a real CA would be a forgery), see `deployment::open_service`.

use chrono::{DateTime, Utc};

/// Whether `KYSO_NOW` fixes the time (only a training deployment accepts that).
pub fn fixed() -> bool {
    std::env::var("KYSO_NOW").is_ok_and(|s| !s.is_empty())
}

pub fn now() -> anyhow_free::Result<DateTime<Utc>> {
    match std::env::var("KYSO_NOW") {
        Ok(s) if !s.is_empty() => DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&Utc)).map_err(|e| {
            anyhow_free::Error(format!("KYSO_NOW='{s}' không phải thời điểm RFC 3339 (ví dụ 2026-11-21T09:00:00+07:00): {e}"))
        }),
        #[allow(clippy::disallowed_methods)] // the one sanctioned read of the system clock
        _ => Ok(Utc::now()),
    }
}

/// A tiny error type for the binary (the CLI prints messages, it does not chain causes).
pub mod anyhow_free {
    #[derive(Debug)]
    pub struct Error(pub String);
    impl std::fmt::Display for Error {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    pub type Result<T> = std::result::Result<T, Error>;
}

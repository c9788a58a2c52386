//! The data directory of a deployment: the SQLite file, the configuration, and later the
//! software token's keys.

use chrono::NaiveDate;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const DB_FILE: &str = "kyso.db";
pub const CONFIG_FILE: &str = "kyso.toml";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Extra non-working days (Tết, compensatory days) beside the built-in list.
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
    /// A PostgreSQL URL; when set, the database is there instead of the SQLite file.
    #[serde(default)]
    pub database_url: Option<String>,
    /// Where the CA's keys are (default: the software token `kyso-ca` in `tokens/`).
    #[serde(default)]
    pub ca_token: Option<crate::tokens::TokenRef>,
    /// Trust the government's Root CA G2 (shipped with kyso, pinned by its SHA-256) and its
    /// issuing CA for state agencies when verifying documents.
    #[serde(default)]
    pub trust_government_g2: bool,
}

pub fn load(dir: &Path) -> Result<Config, String> {
    let p = dir.join(CONFIG_FILE);
    match std::fs::read_to_string(&p) {
        Ok(s) => toml::from_str(&s).map_err(|e| format!("tệp cấu hình {} có lỗi: {e}", p.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(format!("không đọc được {}: {e}", p.display())),
    }
}

pub const DEFAULT_CONFIG: &str = "# kyso deployment configuration.\n\
# holidays: extra non-working days for deadlines (Tết, compensatory days), e.g.\n\
# holidays = [\"2027-02-05\", \"2027-02-08\"]\n\
holidays = []\n\
# database_url: use PostgreSQL instead of the SQLite file in this directory, e.g.\n\
# database_url = \"postgres://kyso@127.0.0.1/kyso\"\n\
# ca_token: where the CA keys are. Default: the software token kyso-ca in tokens/. For an HSM:\n\
# ca_token = { kind = \"pkcs11\", module = \"/usr/lib/softhsm/libsofthsm2.so\", label = \"kyso-ca\" }\n\
# trust_government_g2: trust the government Root CA G2 (RootCA chuyên dùng Chính phủ G2, shipped\n\
# with kyso and pinned by its SHA-256) when verifying documents that officials sent.\n\
trust_government_g2 = false\n";

pub fn write_default(dir: &Path) -> std::io::Result<()> {
    let p = dir.join(CONFIG_FILE);
    if !p.exists() {
        std::fs::write(p, DEFAULT_CONFIG)?;
    }
    Ok(())
}

pub fn db_url(dir: &Path, flag: Option<&str>, cfg: &Config) -> String {
    flag.map(str::to_string)
        .or_else(|| cfg.database_url.clone())
        .unwrap_or_else(|| PathBuf::from(dir).join(DB_FILE).to_string_lossy().into_owned())
}

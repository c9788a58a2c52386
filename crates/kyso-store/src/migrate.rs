//! Schema migrations, one tree per dialect, applied in order inside transactions.

use crate::db::{Db, Dialect, StoreError, StoreResult, Value};

struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        sqlite: include_str!("../migrations/sqlite/0002_ca.sql"),
        postgres: include_str!("../migrations/postgres/0002_ca.sql"),
    },
    Migration {
        version: 3,
        sqlite: include_str!("../migrations/sqlite/0003_csr.sql"),
        postgres: include_str!("../migrations/postgres/0003_csr.sql"),
    },
    Migration {
        version: 4,
        sqlite: include_str!("../migrations/sqlite/0004_handover.sql"),
        postgres: include_str!("../migrations/postgres/0004_handover.sql"),
    },
    Migration {
        version: 5,
        sqlite: include_str!("../migrations/sqlite/0005_documents.sql"),
        postgres: include_str!("../migrations/postgres/0005_documents.sql"),
    },
    Migration {
        version: 6,
        sqlite: include_str!("../migrations/sqlite/0006_incoming.sql"),
        postgres: include_str!("../migrations/postgres/0006_incoming.sql"),
    },
    Migration {
        version: 7,
        sqlite: include_str!("../migrations/sqlite/0007_person_events.sql"),
        postgres: include_str!("../migrations/postgres/0007_person_events.sql"),
    },
    Migration {
        version: 8,
        sqlite: include_str!("../migrations/sqlite/0008_trust.sql"),
        postgres: include_str!("../migrations/postgres/0008_trust.sql"),
    },
    Migration {
        version: 9,
        sqlite: include_str!("../migrations/sqlite/0009_audit_checkpoints.sql"),
        postgres: include_str!("../migrations/postgres/0009_audit_checkpoints.sql"),
    },
    Migration {
        version: 10,
        sqlite: include_str!("../migrations/sqlite/0010_accounts.sql"),
        postgres: include_str!("../migrations/postgres/0010_accounts.sql"),
    },
    Migration {
        version: 11,
        sqlite: include_str!("../migrations/sqlite/0011_login_challenges.sql"),
        postgres: include_str!("../migrations/postgres/0011_login_challenges.sql"),
    },
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

impl Db {
    /// Brings the schema up to date. Refuses a database written by a newer kyso.
    pub fn migrate(&self) -> StoreResult<i64> {
        self.batch("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")?;
        let current = self.read(|tx| tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?.int(0))?;
        if current > latest_version() {
            return Err(StoreError::Database(format!(
                "cơ sở dữ liệu ở phiên bản lược đồ {current}, mới hơn phiên bản {} mà bản kyso này hỗ trợ; hãy dùng bản kyso mới hơn",
                latest_version()
            )));
        }
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
            let sql = match self.dialect() {
                Dialect::Sqlite => m.sqlite,
                Dialect::Postgres => m.postgres,
            };
            // DDL is transactional in both SQLite and PostgreSQL: a failed migration leaves
            // the previous schema whole.
            self.batch(&format!("BEGIN; {sql}; INSERT INTO schema_migrations (version, applied_at) VALUES ({}, 0); COMMIT;", m.version))
                .inspect_err(|_| {
                    let _ = self.batch("ROLLBACK");
                })?;
        }
        let v = self.read(|tx| tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[] as &[Value])?.int(0))?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every migration file of both dialects is registered, in order (a forgotten entry
    /// would leave a table missing on one database).
    #[test]
    fn every_migration_file_is_registered_for_both_dialects() {
        for dialect in ["sqlite", "postgres"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dialect);
            let mut files: Vec<String> =
                std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
            files.sort();
            assert_eq!(files.len() as i64, latest_version(), "{dialect}: {files:?}");
            for (m, f) in MIGRATIONS.iter().zip(&files) {
                assert!(f.starts_with(&format!("{:04}_", m.version)), "{dialect}: {f} vs version {}", m.version);
                let text = std::fs::read_to_string(dir.join(f)).unwrap();
                let registered = if dialect == "sqlite" { m.sqlite } else { m.postgres };
                assert_eq!(text, registered, "{dialect}: {f}");
            }
        }
    }
}

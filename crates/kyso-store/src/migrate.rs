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

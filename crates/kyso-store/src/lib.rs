//! kyso-store: persistence for kyso. SQLite (WAL) by default, PostgreSQL for scale-out; one
//! set of queries, one migration tree per dialect. The only crate that knows SQL.

mod accounts;
mod db;
mod files;
mod migrate;
mod pg_tls;
mod repo;

pub use accounts::{ApiTokenRow, Credentials, SessionRow};
pub use db::{Db, Dialect, Row, StoreError, StoreResult, Tx, Value};
pub use files::FileStore;
pub use migrate::latest_version;
pub use repo::{
    micros, secs, AuditCheckpoint, CertificateFilter, HandoverRecord, PersonEventRow, ProposalRow, ReviewRow, RevokedRow,
    SigningSessionRow, StoredCrl, Table, TrustAnchor, UserGrant,
};

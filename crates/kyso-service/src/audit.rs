//! Verifying the audit chain.

use crate::*;
use kyso_core::audit::{ChainBreak, ChainVerifier};
use kyso_core::authz::Permission;

#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditVerification {
    /// Events checked before the first break (all of them when the chain is whole).
    pub checked: i64,
    pub head_seq: i64,
    pub broken: Option<ChainBreak>,
}

impl AuditVerification {
    pub fn is_valid(&self) -> bool {
        self.broken.is_none()
    }
}

const PAGE: i64 = 10_000;

impl Service {
    /// Walks the whole chain in pages and reports the first broken link.
    pub fn verify_audit(&self, actor: &Principal) -> ServiceResult<AuditVerification> {
        self.db.read(|tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, Permission::ViewAudit, &root)?;
            verify_chain(tx)
        })
    }

    /// Checks that `actor` may back the deployment up, and records that a backup is taken.
    /// The snapshot itself is the database's (`Db::snapshot_sqlite`, pg_dump) and the data
    /// directory's; this is the door it goes through.
    pub fn record_backup(&self, actor: &Principal, what: serde_json::Value, now: DateTime<Utc>) -> ServiceResult<()> {
        self.mutate(actor, "deployment.backup", "deployment", now, |tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, Permission::Backup, &root)?;
            tx.append_audit(NewEvent::new(&actor.login, "deployment.backed_up", "deployment".into()).details(what), now)?;
            Ok(())
        })
    }

    /// A consistent copy of a SQLite database to `path`, for a backup.
    pub fn snapshot_database(&self, actor: &Principal, path: &std::path::Path) -> ServiceResult<()> {
        self.db.read(|tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, Permission::Backup, &root)
        })?;
        Ok(self.db.snapshot_sqlite(path)?)
    }

    /// The last `limit` events, newest last.
    pub fn audit_tail(&self, actor: &Principal, limit: i64) -> ServiceResult<Vec<kyso_core::audit::AuditRecord>> {
        self.db.read(|tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, Permission::ViewAudit, &root)?;
            let (head, _) = tx.audit_head()?;
            Ok(tx.audit_page((head - limit).max(0), limit)?)
        })
    }
}

/// Verification without an actor, for the operator's offline check of a data directory.
pub fn verify_chain(tx: &mut kyso_store::Tx<'_>) -> ServiceResult<AuditVerification> {
    let (head_seq, head_hash) = tx.audit_head()?;
    let mut v = ChainVerifier::new();
    let mut after = 0;
    let mut checked = 0;
    loop {
        let page = tx.audit_page(after, PAGE)?;
        if page.is_empty() {
            break;
        }
        for r in &page {
            if let Err(b) = v.push(r) {
                return Ok(AuditVerification { checked, head_seq, broken: Some(b) });
            }
            checked += 1;
        }
        after = page.last().map(|r| r.seq).unwrap_or(after);
    }
    let head = (head_seq > 0).then_some((head_seq, head_hash.as_str()));
    let broken = v.finish(head).err();
    Ok(AuditVerification { checked, head_seq, broken })
}

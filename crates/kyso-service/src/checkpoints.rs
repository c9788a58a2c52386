//! Signed checkpoints of the audit head (issue 11, finding 9): whoever can rewrite the database
//! can rewrite the audit log and chain it again, so that `verify_audit` passes. A checkpoint is
//! an RFC 3161 time-stamp over (sequence, hash) of the head, made on a schedule (`kyso serve`)
//! and on demand, kept in the database and exported as files outside it. Checked against
//! those files, a changed and re-chained event before a checkpoint shows; events after the last
//! checkpoint are reported as not yet anchored.

use crate::*;
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use kyso_core::audit::checkpoint_message;
use kyso_core::authz::Permission;
use kyso_token::HashAlg;

pub use kyso_store::AuditCheckpoint;

/// What checking the chain against checkpoints found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckpointVerification {
    pub chain: AuditVerification,
    /// The highest sequence a valid checkpoint proves (0 when none).
    pub anchored_seq: i64,
    /// Events after it, not yet anchored.
    pub not_anchored: i64,
    /// Checkpoints whose event in the database is no longer what was time-stamped: the log was
    /// changed and chained again.
    pub contradicted: Vec<(i64, String)>,
    /// Checkpoint files that do not hold (a token that does not verify or an untrusted TSA).
    pub invalid: Vec<(i64, String)>,
}

impl CheckpointVerification {
    pub fn is_valid(&self) -> bool {
        self.chain.is_valid() && self.contradicted.is_empty() && self.invalid.is_empty()
    }
}

impl Service {
    /// Time-stamps the audit head with `tsa` (an RFC 3161 request in, a response out) and
    /// keeps the checkpoint. Nothing to do when the head is already checkpointed.
    pub fn audit_checkpoint(&self, actor: &Principal, tsa: kyso_pdf::Tsa<'_>, now: DateTime<Utc>) -> ServiceResult<AuditCheckpoint> {
        let (seq, hash) = self.db.read(|tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, Permission::AnchorAudit, &root)?;
            Ok::<_, ServiceError>(tx.audit_head()?)
        })?;
        if let Some(last) = self.db.read(|tx| tx.audit_checkpoints())?.into_iter().last().filter(|c| c.seq == seq) {
            return Ok(last);
        }
        let digest = HashAlg::Sha256.digest(checkpoint_message(seq, &hash).as_bytes());
        let req = kyso_pki::tsp::request(HashAlg::Sha256, &digest, None)?;
        let resp = tsa(&req).map_err(|e| DomainError::invalid("tsa", format!("không lấy được dấu thời gian cho điểm neo nhật ký: {e}")))?;
        let token = kyso_pki::tsp::token_of(&resp)?;
        kyso_pki::tsp::verify_token(&token, HashAlg::Sha256, &digest)?;
        let cp = AuditCheckpoint { seq, hash, token: B64.encode(&token), created_at: now };
        self.mutate(actor, "audit.checkpoint", &format!("audit:{seq}"), now, |tx| {
            tx.insert_audit_checkpoint(&cp)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "audit.checkpointed", format!("audit:{seq}"))
                    .details(serde_json::json!({"seq": seq, "hash": cp.hash})),
                now,
            )?;
            Ok(())
        })?;
        Ok(cp)
    }

    /// The checkpoints kept in the database, oldest first.
    pub fn audit_checkpoints(&self, actor: &Principal) -> ServiceResult<Vec<AuditCheckpoint>> {
        self.db.read(|tx| {
            let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
            require(actor, Permission::ViewAudit, &root)?;
            Ok(tx.audit_checkpoints()?)
        })
    }

    /// Checks the chain, then each checkpoint (from files kept outside the database): its
    /// token over (sequence, hash), its TSA chaining to the trust store, and the event of that
    /// sequence in the database still having that hash.
    /// `tsa_roots`, when given, are the TSA roots to judge by, from outside the database: whoever
    /// can rewrite the database can also add a CA of their own to its trust store.
    pub fn verify_audit_checkpoints(
        &self,
        actor: &Principal,
        checkpoints: &[AuditCheckpoint],
        tsa_roots: Option<&[Vec<u8>]>,
    ) -> ServiceResult<CheckpointVerification> {
        let chain = self.verify_audit(actor)?;
        let anchors = match tsa_roots {
            Some(r) => r.to_vec(),
            None => self.trusted_anchors()?,
        };
        let mut out = CheckpointVerification { chain, anchored_seq: 0, not_anchored: 0, contradicted: vec![], invalid: vec![] };
        for cp in checkpoints {
            let digest = HashAlg::Sha256.digest(checkpoint_message(cp.seq, &cp.hash).as_bytes());
            let token = match B64.decode(&cp.token) {
                Ok(t) => t,
                Err(e) => {
                    out.invalid.push((cp.seq, format!("token không đọc được: {e}")));
                    continue;
                }
            };
            let verified = match kyso_pki::tsp::verify_token(&token, HashAlg::Sha256, &digest) {
                Ok(v) => v,
                Err(e) => {
                    out.invalid.push((cp.seq, format!("dấu thời gian không hợp lệ cho điểm neo này: {e}")));
                    continue;
                }
            };
            // A time-stamping certificate (the timeStamping purpose), not just any certificate of
            // a trusted CA (an official's would otherwise do).
            let usage = kyso_pki::path::LeafUsage::TimeStamping;
            if let Err(why) = self.chain_to_trust_for(&verified.tsa_cert, &verified.certificates, &anchors, verified.gen_time, usage) {
                out.invalid.push((cp.seq, format!("TSA không thuộc kho tin cậy: {why}")));
                continue;
            }
            match self.db.read(|tx| tx.audit_hash_at(cp.seq))? {
                Some(h) if h == cp.hash => out.anchored_seq = out.anchored_seq.max(cp.seq),
                Some(_) => out.contradicted.push((
                    cp.seq,
                    format!(
                        "sự kiện số {} không còn như lúc được neo ngày {}: nhật ký đã bị sửa và tính lại chuỗi",
                        cp.seq,
                        kyso_pdf::decree30::iso_time(verified.gen_time)
                    ),
                )),
                None => out.contradicted.push((cp.seq, format!("sự kiện số {} đã được neo nhưng không còn trong nhật ký", cp.seq))),
            }
        }
        out.not_anchored = (out.chain.head_seq - out.anchored_seq).max(0);
        Ok(out)
    }
}

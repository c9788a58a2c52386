//! The CA connector: where a batch of requests sent to the CA goes. The built-in CA carries
//! it out at once; an external CA gets a package (the request list and the CSRs) to send by
//! files, and its answer comes back through [`Service::import_from_ca`].

use crate::exchange::ExportItem;
use crate::*;
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use kyso_core::registry::BatchId;
use kyso_core::request::{Request, RequestKind, RequestState};
use kyso_token::TokenSession;

/// What submitting a batch produced.
#[derive(Debug)]
pub enum Submission {
    /// The built-in CA issued, revoked and restored what it could: the completed requests,
    /// and those left waiting (e.g. no CSR attached yet) with the reason.
    Done { completed: Vec<Request>, waiting: Vec<(Request, String)> },
    /// For an external CA: what to send.
    Package(Vec<ExportItem>),
}

/// A certificate authority that receives batches of requests.
pub trait CaConnector {
    fn name(&self) -> &'static str;
    fn submit(&self, svc: &Service, actor: &Principal, batch: BatchId, now: DateTime<Utc>) -> ServiceResult<Submission>;
}

/// kyso's own CA, with its token session.
pub struct BuiltInCa<'a> {
    pub session: &'a dyn TokenSession,
}

/// An external CA reached by exchanging files.
pub struct FileExchangeCa;

impl CaConnector for BuiltInCa<'_> {
    fn name(&self) -> &'static str {
        "built-in"
    }

    fn submit(&self, svc: &Service, actor: &Principal, batch: BatchId, now: DateTime<Utc>) -> ServiceResult<Submission> {
        let items = svc.export_batch(actor, batch)?;
        let mut completed = Vec::new();
        let mut waiting = Vec::new();
        for it in items {
            if it.request.state != RequestState::SentToCa {
                continue;
            }
            let id = it.request.id;
            let r = match it.request.kind {
                RequestKind::Revoke => svc.ca_revoke(actor, id, self.session, now),
                RequestKind::RestoreDevice => {
                    waiting.push((it.request, "khôi phục thiết bị cần mở khóa bằng mã PIN quản trị: dùng 'kyso ca restore'".into()));
                    continue;
                }
                _ => match &it.csr_der {
                    Some(csr) => svc.ca_issue(actor, id, csr, None, self.session, now).map(|(q, _)| q),
                    None => {
                        waiting.push((it.request, "chưa đính kèm CSR ('kyso request csr')".into()));
                        continue;
                    }
                },
            };
            match r {
                Ok(q) => completed.push(q),
                // A refusal is the caller's, not the request's: it is not "waiting".
                Err(e @ ServiceError::Domain(kyso_core::DomainError::Forbidden { .. })) => return Err(e),
                Err(ServiceError::Domain(e)) => waiting.push((it.request, e.to_string())),
                Err(e) => return Err(e),
            }
        }
        Ok(Submission::Done { completed, waiting })
    }
}

impl CaConnector for FileExchangeCa {
    fn name(&self) -> &'static str {
        "files"
    }

    fn submit(&self, svc: &Service, actor: &Principal, batch: BatchId, _now: DateTime<Utc>) -> ServiceResult<Submission> {
        Ok(Submission::Package(svc.export_batch(actor, batch)?))
    }
}

/// The PEM text of an exported CSR (for the package written by the binary).
pub fn csr_pem(item: &ExportItem) -> Option<String> {
    item.csr_der.as_ref().map(|d| kyso_pki::pem("CERTIFICATE REQUEST", d))
}

/// Base64 of a CSR, for JSON output.
pub fn csr_b64(item: &ExportItem) -> Option<String> {
    item.csr_der.as_ref().map(|d| B64.encode(d))
}

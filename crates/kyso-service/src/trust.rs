//! The deployment's trust store (issue 11, finding 2): the CA certificates that every
//! certificate, CRL and signed document must chain to. IT staff keep it (`kyso trust
//! add|list|remove`), every change is audited, and the built-in CA's root, when there is one,
//! is in it from the start. The external-CA import, the bulk import of existing certificates,
//! `verify` and the incoming register all use it; a CA certificate that only came along in a
//! file set is at most an intermediate on the way to it.

use crate::*;
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use kyso_core::authz::Permission;
use kyso_store::TrustAnchor;

/// The id under which the built-in CA's root is listed (it is not a row of the store).
pub const BUILT_IN_ROOT_ID: i64 = 0;

impl Service {
    fn require_trust_admin(&self, tx: &mut Tx<'_>, actor: &Principal, p: Permission) -> ServiceResult<()> {
        let root = tx.root_agency()?.ok_or(ServiceError::NotInitialised)?;
        require(actor, p, &root)
    }

    /// Adds a CA certificate (DER or PEM) to the trust store.
    pub fn trust_add(&self, actor: &Principal, cert_input: &[u8], note: &str, now: DateTime<Utc>) -> ServiceResult<TrustAnchor> {
        let der = kyso_pki::der_or_pem(cert_input).map_err(|e| DomainError::invalid("cert", format!("không đọc được chứng thư: {e}")))?;
        let (_, info) = kyso_pki::cert::parse(&der).map_err(|e| DomainError::invalid("cert", format!("không đọc được chứng thư: {e}")))?;
        if !info.is_ca {
            return Err(DomainError::invalid(
                "cert",
                format!(
                    "'{}' không phải chứng thư của tổ chức chứng thực (thiếu basicConstraints cA); kho tin cậy chỉ nhận chứng thư CA",
                    info.subject
                ),
            )
            .into());
        }
        self.check_trust_anchor(&der)?;
        let note = kyso_core::value::required_text("note", note, 300).map_err(|_| {
            DomainError::invalid("note", "ghi nguồn của chứng thư (ví dụ 'Root CA chuyên dùng Chính phủ G2, tải từ ca.gov.vn ngày …')")
        })?;
        let sha256 = hex::encode(kyso_token::HashAlg::Sha256.digest(&der));
        self.mutate(actor, "trust.add", "trust", now, |tx| {
            self.require_trust_admin(tx, actor, Permission::ManageTrust)?;
            if tx.trust_anchors()?.iter().any(|a| a.sha256 == sha256) {
                return Err(DomainError::conflict("kho tin cậy", format!("đã có chứng thư '{}'", info.subject)).into());
            }
            let mut a = TrustAnchor {
                id: 0,
                sha256: sha256.clone(),
                subject: info.subject.to_string(),
                der: B64.encode(&der),
                note: note.clone(),
                added_by: actor.login.clone(),
                added_at: now,
            };
            a.id = tx.insert_trust_anchor(&a)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "trust.added", format!("trust:{}", a.id))
                    .details(serde_json::json!({"subject": a.subject, "sha256": a.sha256, "note": a.note})),
                now,
            )?;
            Ok(a)
        })
    }

    /// The trust store, the built-in CA's root first (id 0) when there is one.
    pub fn trust_list(&self, actor: &Principal) -> ServiceResult<Vec<TrustAnchor>> {
        let mut out = self.db.read(|tx| {
            self.require_trust_admin(tx, actor, Permission::ReadRegistry)?;
            Ok::<_, ServiceError>(tx.trust_anchors()?)
        })?;
        if let Some(root) = self.built_in_root()? {
            let (_, info) = kyso_pki::cert::parse(&root)?;
            out.insert(
                0,
                TrustAnchor {
                    id: BUILT_IN_ROOT_ID,
                    sha256: hex::encode(kyso_token::HashAlg::Sha256.digest(&root)),
                    subject: info.subject.to_string(),
                    der: B64.encode(&root),
                    note: "CA tích hợp của hệ thống".into(),
                    added_by: "ca init".into(),
                    added_at: info.not_before,
                },
            );
        }
        Ok(out)
    }

    /// Removes an entry of the trust store. The built-in CA's root stays while the CA exists.
    pub fn trust_remove(&self, actor: &Principal, id: i64, now: DateTime<Utc>) -> ServiceResult<()> {
        if id == BUILT_IN_ROOT_ID {
            return Err(DomainError::invalid("id", "chứng thư gốc của CA tích hợp luôn được tin cậy, không gỡ khỏi kho").into());
        }
        self.mutate(actor, "trust.remove", &format!("trust:{id}"), now, |tx| {
            self.require_trust_admin(tx, actor, Permission::ManageTrust)?;
            let a = tx
                .trust_anchors()?
                .into_iter()
                .find(|a| a.id == id)
                .ok_or_else(|| DomainError::not_found("chứng thư trong kho tin cậy", id))?;
            tx.delete_trust_anchor(id)?;
            tx.append_audit(
                NewEvent::new(&actor.login, "trust.removed", format!("trust:{id}"))
                    .details(serde_json::json!({"subject": a.subject, "sha256": a.sha256})),
                now,
            )?;
            Ok(())
        })
    }

    fn built_in_root(&self) -> ServiceResult<Option<Vec<u8>>> {
        match self.ca_certs() {
            Ok(c) => Ok(Some(c.root)),
            Err(ServiceError::Domain(DomainError::NotFound { .. })) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The DER of every trusted CA certificate: the store and the built-in CA's root.
    pub fn trusted_anchors(&self) -> ServiceResult<Vec<Vec<u8>>> {
        let mut out: Vec<Vec<u8>> = self.built_in_root()?.into_iter().collect();
        for a in self.db.read(|tx| tx.trust_anchors())? {
            out.push(B64.decode(&a.der).map_err(|e| kyso_store::StoreError::Corrupt(format!("trust_anchors: {e}")))?);
        }
        Ok(out)
    }

    /// The chain from `cert` to a trusted CA at `at`, through `intermediates` (CA certificates
    /// that came with it), or why there is none.
    pub(crate) fn chain_to_trust(
        &self,
        cert: &[u8],
        intermediates: &[Vec<u8>],
        anchors: &[Vec<u8>],
        at: DateTime<Utc>,
    ) -> Result<Vec<Vec<u8>>, String> {
        self.chain_to_trust_for(cert, intermediates, anchors, at, kyso_pki::path::LeafUsage::Any)
    }

    /// Like [`Service::chain_to_trust`], for a leaf of a given use (a TSA's, say).
    pub(crate) fn chain_to_trust_for(
        &self,
        cert: &[u8],
        intermediates: &[Vec<u8>],
        anchors: &[Vec<u8>],
        at: DateTime<Utc>,
        usage: kyso_pki::path::LeafUsage,
    ) -> Result<Vec<Vec<u8>>, String> {
        if anchors.is_empty() {
            return Err("kho tin cậy của hệ thống chưa có chứng thư CA nào; thêm bằng 'kyso trust add'".into());
        }
        // An anchor may be an intermediate CA itself (the government's issuing CA): the path
        // then ends there.
        let input = kyso_pki::path::PathInput { leaf: cert, intermediates, anchors, at, eku: None, usage };
        kyso_pki::path::validate(&input).map(|p| p.chain).map_err(|e| e.message().to_string())
    }
}

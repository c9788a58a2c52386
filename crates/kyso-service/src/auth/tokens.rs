//! API tokens for scripts: made by a logged-in user for themself, with a subset of their roles
//! and an expiry, shown once, stored as a SHA-256, revocable.

use super::*;
use crate::{DomainError, ServiceError};
use chrono::{DateTime, Utc};
use kyso_core::audit::NewEvent;
use kyso_core::authz::Role;

/// A token just made; `secret` is shown once and never stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewApiToken {
    pub id: i64,
    pub secret: String,
    pub expires_at: DateTime<Utc>,
}

/// A token as listed (without its secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiTokenView {
    pub id: i64,
    pub name: String,
    pub roles: Vec<Role>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
}

/// The secret's prefix, so that a leaked token is recognisable (and secret scanners find it).
const PREFIX: &str = "kyso_";

/// The grants a token carries, as stored: `role@agency_id`, comma-separated. Fixed when the
/// token is made, so that a grant the account gets later (or gets back) does not widen it.
fn parse_grants(codes: &str) -> Vec<(Role, i64)> {
    codes
        .split(',')
        .filter_map(|c| {
            let (r, a) = c.split_once('@')?;
            Some((Role::parse(r)?, a.parse().ok()?))
        })
        .collect()
}

fn roles_of(grants: &[(Role, i64)]) -> Vec<Role> {
    let mut v: Vec<Role> = grants.iter().map(|(r, _)| *r).collect();
    v.sort();
    v.dedup();
    v
}

impl Service {
    /// Makes an API token for the principal's own account, with `roles` (each one it holds)
    /// until `expires_at` (at most a year ahead).
    pub fn create_api_token(
        &self,
        p: &Principal,
        name: &str,
        roles: &[Role],
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> ServiceResult<NewApiToken> {
        if matches!(p.method(), AuthMethod::ApiToken | AuthMethod::System) {
            return Err(DomainError::forbidden("mã truy cập API không tạo được mã truy cập khác").into());
        }
        let name = kyso_core::value::required_text("name", name, 100)?;
        if roles.is_empty() {
            return Err(DomainError::invalid("roles", "chọn ít nhất một vai trò cho mã truy cập").into());
        }
        for r in roles {
            if !p.grants.iter().any(|g| g.role == *r) {
                return Err(DomainError::forbidden(format!("tài khoản không có vai trò '{}' để trao cho mã truy cập", r.label_vi())).into());
            }
        }
        if expires_at <= now {
            return Err(DomainError::invalid("expires_at", "ngày hết hạn phải ở tương lai").into());
        }
        if expires_at > now + self.session_policy().max_token {
            return Err(DomainError::invalid("expires_at", "mã truy cập có hạn tối đa một năm").into());
        }
        let mut pairs: Vec<String> =
            p.grants.iter().filter(|g| roles.contains(&g.role)).map(|g| format!("{}@{}", g.role.code(), g.agency_id.0)).collect();
        pairs.sort();
        pairs.dedup();
        let codes = pairs.join(",");
        let random = random_secret(32);
        self.db.write(|tx| -> ServiceResult<NewApiToken> {
            // The id is part of the secret, so the row is made first with a placeholder hash.
            let placeholder = secret_hash(&format!("pending/{random}"));
            let id = tx.insert_api_token(p.user_id, &name, &placeholder, &codes, now, expires_at)?;
            let secret = format!("{PREFIX}{id}_{random}");
            tx.set_api_token_hash(id, &secret_hash(&secret))?;
            tx.append_audit(
                NewEvent::new(&p.login, "auth.token_created", format!("api_token:{id}"))
                    .details(serde_json::json!({"name": name, "roles": codes, "expires_at": expires_at})),
                now,
            )?;
            Ok(NewApiToken { id, secret, expires_at })
        })
    }

    /// The principal an API token (the `Authorization: Bearer` value) stands for: the account's
    /// grants of the token's roles only.
    pub fn api_token_principal(&self, secret: &str, now: DateTime<Utc>) -> ServiceResult<Principal> {
        let bad = || ServiceError::Auth(AuthFailure::BadToken);
        if !secret.starts_with(PREFIX) || secret.len() > 128 {
            return Err(bad());
        }
        let hash = secret_hash(secret);
        let (row, creds, grants) = self
            .db
            .read(|tx| -> ServiceResult<_> {
                let Some(row) = tx.api_token_by_hash(&hash)? else { return Ok(None) };
                let Some(c) = tx.credentials_of(row.user_id)? else { return Ok(None) };
                let grants = tx.grants(row.user_id)?;
                Ok(Some((row, c, grants)))
            })?
            .ok_or_else(bad)?;
        if row.revoked || creds.disabled || now >= row.expires_at {
            return Err(bad());
        }
        // The grants the token was made with that the account still holds.
        let carried = parse_grants(&row.roles);
        let grants = grants.into_iter().filter(|g| carried.contains(&(g.role, g.agency_id.0))).collect();
        let actor = kyso_core::authz::Actor { user_id: creds.user_id, login: creds.login, person_id: creds.person_id, grants };
        let mut principal = Principal::new(actor, AuthMethod::ApiToken);
        principal.token = Some(row.id);
        Ok(principal)
    }

    /// The principal's own tokens.
    pub fn api_tokens(&self, p: &Principal) -> ServiceResult<Vec<ApiTokenView>> {
        let rows = self.db.read(|tx| tx.api_tokens_of(p.user_id))?;
        Ok(rows
            .into_iter()
            .map(|r| ApiTokenView {
                id: r.id,
                name: r.name,
                roles: roles_of(&parse_grants(&r.roles)),
                created_at: r.created_at,
                expires_at: r.expires_at,
                revoked: r.revoked,
            })
            .collect())
    }

    /// Revokes one of the principal's own tokens (a token may revoke itself).
    pub fn revoke_api_token(&self, p: &Principal, id: i64, now: DateTime<Utc>) -> ServiceResult<()> {
        self.mutate(p, "auth.token_revoke", &format!("api_token:{id}"), now, |tx| {
            let row = tx.api_token(id)?.ok_or_else(|| DomainError::not_found("mã truy cập", id))?;
            if row.user_id != p.user_id {
                // Someone else's token is not found, rather than forbidden: ids tell nothing.
                return Err(DomainError::not_found("mã truy cập", id).into());
            }
            if tx.revoke_api_token(id, now)? == 0 {
                return Err(DomainError::invalid("id", "mã truy cập đã bị thu hồi").into());
            }
            tx.append_audit(NewEvent::new(&p.login, "auth.token_revoked", format!("api_token:{id}")), now)?;
            Ok(())
        })
    }
}

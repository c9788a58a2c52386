//! The second factor: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step of
//! clock drift either way) with a replay guard, and one-time recovery codes.

use super::*;
use crate::{DomainError, ServiceError};
use chrono::{DateTime, Utc};
use kyso_core::audit::NewEvent;
use totp_rs::{Algorithm, TOTP};

const STEP: u64 = 30;
const DIGITS: usize = 6;
const SECRET_BYTES: usize = 20;
/// How many recovery codes an account gets; each works once.
pub(crate) const RECOVERY_CODES: usize = 10;

fn totp(secret: &[u8]) -> ServiceResult<TOTP> {
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP, secret.to_vec())
        .map_err(|e| ServiceError::Domain(DomainError::invalid("totp", format!("bí mật TOTP không hợp lệ: {e}"))))
}

fn step_of(now: DateTime<Utc>) -> i64 {
    now.timestamp().max(0) / STEP as i64
}

/// The current code for a base32 secret (the demo, the tests, a person's authenticator app).
pub fn totp_code(secret_base32: &str, now: DateTime<Utc>) -> ServiceResult<String> {
    let secret = totp_rs::Secret::Encoded(secret_base32.to_string())
        .to_bytes()
        .map_err(|_| ServiceError::Domain(DomainError::invalid("totp", "bí mật TOTP không phải base32")))?;
    Ok(totp(&secret)?.generate(now.timestamp().max(0) as u64))
}

/// The time step a code matches (the current one or one either side), compared in constant
/// time, or `None`.
pub(crate) fn matching_step(secret: &[u8], code: &str, now: DateTime<Utc>) -> ServiceResult<Option<i64>> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let t = totp(secret)?;
    let here = step_of(now);
    let mut found = None;
    for step in [here - 1, here, here + 1] {
        let expected = t.generate((step.max(0) as u64) * STEP);
        let same = crate::constant_time_eq(expected.as_bytes(), code.as_bytes());
        if same && found.is_none() {
            found = Some(step);
        }
    }
    Ok(found)
}

/// A new TOTP secret, shown once to be put into an authenticator app.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TotpEnrolment {
    pub secret_base32: String,
    /// `otpauth://totp/…`, for a QR code.
    pub uri: String,
}

/// A recovery code: 10 characters from an alphabet without look-alikes, in two groups
/// (about 50 bits).
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    let mut b = [0u8; 10];
    kyso_token::random_bytes(&mut b);
    let s: String = b.iter().map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char).collect();
    format!("{}-{}", &s[..5], &s[5..])
}

/// A new set of recovery codes, and their hashes to keep.
fn recovery_codes() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let hashes = codes.iter().map(|c| secret_hash(c)).collect();
    (codes, hashes)
}

pub(crate) fn normalise_recovery_code(code: &str) -> Option<String> {
    let c: String = code.trim().to_lowercase().chars().filter(|c| *c != '-' && *c != ' ').collect();
    (c.len() == 10 && c.chars().all(|c| c.is_ascii_alphanumeric())).then(|| format!("{}-{}", &c[..5], &c[5..]))
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

impl Service {
    fn totp_aad(user: kyso_core::registry::UserId) -> Vec<u8> {
        format!("totp/{}", user.0).into_bytes()
    }

    /// The account's TOTP secret, opened with the deployment's sealing key.
    pub(crate) fn totp_secret(&self, user: kyso_core::registry::UserId, sealed: &str) -> ServiceResult<kyso_token::Zeroizing<Vec<u8>>> {
        kyso_token::soft::open(self.sealing_key()?, &Self::totp_aad(user), sealed)
            .ok_or_else(|| ServiceError::Domain(DomainError::invalid("totp", "không mở được bí mật TOTP (khóa niêm phong khác?)")))
    }

    /// Starts TOTP enrolment for the session's own account: a new secret, kept until a code
    /// from it confirms it. An account that already has a confirmed TOTP must be fully logged in
    /// (with that factor) to replace it.
    pub fn begin_totp(&self, s: &Session, now: DateTime<Utc>) -> ServiceResult<TotpEnrolment> {
        let key = self.sealing_key()?;
        let mut secret = kyso_token::Zeroizing::new(vec![0u8; SECRET_BYTES]);
        kyso_token::random_bytes(&mut secret);
        let sealed = kyso_token::soft::seal(key, &Self::totp_aad(s.user_id), &secret)?;
        self.db.write(|tx| -> ServiceResult<()> {
            let c = tx.credentials_of(s.user_id)?.ok_or(ServiceError::Domain(DomainError::not_found("tài khoản", s.user_id)))?;
            // Replacing a TOTP in force takes a session that proved it (or a recovery code):
            // the password alone, or a stolen one-factor session, must not swap it.
            if c.totp_confirmed && (s.pending.is_some() || !s.method.is_two_factor()) {
                return Err(
                    DomainError::forbidden("tài khoản đã có TOTP; đăng nhập bằng mật khẩu và mã TOTP (hoặc mã khôi phục) để thay").into()
                );
            }
            tx.set_totp_pending(s.user_id, &sealed)?;
            tx.append_audit(NewEvent::new(&s.login, "auth.totp_started", format!("user:{}", s.user_id)), now)?;
            Ok(())
        })?;
        let secret_base32 = totp_rs::Secret::Raw(secret.to_vec()).to_encoded().to_string();
        let uri = format!(
            "otpauth://totp/kyso:{}?secret={secret_base32}&issuer=kyso&algorithm=SHA1&digits={DIGITS}&period={STEP}",
            percent(&s.login)
        );
        Ok(TotpEnrolment { secret_base32, uri })
    }

    /// Confirms TOTP enrolment with a code from the new secret; returns the recovery codes,
    /// shown once. A session waiting for enrolment becomes a full one.
    pub fn confirm_totp(&self, s: &Session, code: &str, now: DateTime<Utc>) -> ServiceResult<Vec<String>> {
        let sealed =
            self.db.read(|tx| tx.totp_pending(s.user_id))?.ok_or_else(|| DomainError::invalid("totp", "chưa bắt đầu đăng ký TOTP"))?;
        let secret = self.totp_secret(s.user_id, &sealed)?;
        let Some(step) = matching_step(&secret, code, now)? else {
            return Err(ServiceError::Auth(AuthFailure::BadSecondFactor));
        };
        let (codes, hashes) = recovery_codes();
        self.db.write(|tx| -> ServiceResult<()> {
            tx.confirm_totp(s.user_id, step, now)?;
            tx.replace_recovery_codes(s.user_id, &hashes)?;
            if s.pending == Some(Pending::EnrolTotp) {
                tx.clear_session_pending(&s.hash, None)?;
            }
            // The code just given proves the second factor for this session too; every other
            // session of the account ends (one opened before the change must log in again).
            match s.method {
                AuthMethod::Password => tx.set_session_method(&s.hash, AuthMethod::PasswordTotp.code())?,
                AuthMethod::Oidc => tx.set_session_method(&s.hash, AuthMethod::OidcTotp.code())?,
                _ => {}
            }
            tx.end_other_sessions(s.user_id, &s.hash, now)?;
            tx.append_audit(
                NewEvent::new(&s.login, "auth.totp_enrolled", format!("user:{}", s.user_id))
                    .details(serde_json::json!({"recovery_codes": RECOVERY_CODES})),
                now,
            )?;
            Ok(())
        })?;
        Ok(codes)
    }

    /// New recovery codes for the principal's own account (the old ones stop working).
    pub fn new_recovery_codes(&self, p: &Principal, now: DateTime<Utc>) -> ServiceResult<Vec<String>> {
        if !p.method().is_two_factor() {
            return Err(DomainError::forbidden("mã khôi phục mới chỉ cấp cho phiên đã xác thực hai yếu tố").into());
        }
        let (codes, hashes) = recovery_codes();
        self.db.write(|tx| -> ServiceResult<()> {
            let c = tx.credentials_of(p.user_id)?.ok_or(ServiceError::Domain(DomainError::not_found("tài khoản", p.user_id)))?;
            if !c.totp_confirmed {
                return Err(DomainError::invalid("totp", "hãy đăng ký TOTP trước; mã khôi phục đi kèm TOTP").into());
            }
            tx.replace_recovery_codes(p.user_id, &hashes)?;
            tx.append_audit(NewEvent::new(&p.login, "auth.recovery_codes_renewed", format!("user:{}", p.user_id)), now)?;
            Ok(())
        })?;
        Ok(codes)
    }
}

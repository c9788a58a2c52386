//! Certificate revocation lists: full CRLs with a CRL number, and delta CRLs that list what
//! changed since a base CRL (RFC 5280 5.2.4).

use crate::alg::algorithm_identifier;
use crate::{key_identifier, oids, x509_time, PkiResult};
use chrono::{DateTime, Utc};
use der::asn1::{BitString, OctetString, Uint};
use der::Encode;
use kyso_token::{SignatureScheme, Signer};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::AuthorityKeyIdentifier;
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

/// A revoked certificate: serial, time, RFC 5280 reason code (0 = unspecified, omitted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    pub serial: Vec<u8>,
    pub revoked_at: DateTime<Utc>,
    pub reason: u8,
}

pub struct CrlParams<'a> {
    pub issuer: Name,
    pub issuer_spki: &'a [u8],
    pub number: u64,
    /// For a delta CRL: the number of the full CRL it completes.
    pub delta_of: Option<u64>,
    pub this_update: DateTime<Utc>,
    pub next_update: DateTime<Utc>,
    pub entries: &'a [RevokedEntry],
}

/// The RFC 5280 CRLReason for a code; None for 0 (unspecified, which is left out) and for
/// codes that do not exist.
pub fn crl_reason(code: u8) -> Option<x509_cert::ext::pkix::CrlReason> {
    use x509_cert::ext::pkix::CrlReason::*;
    Some(match code {
        1 => KeyCompromise,
        2 => CaCompromise,
        3 => AffiliationChanged,
        4 => Superseded,
        5 => CessationOfOperation,
        6 => CertificateHold,
        8 => RemoveFromCRL,
        9 => PrivilegeWithdrawn,
        10 => AaCompromise,
        _ => return None,
    })
}

fn ext<T: Encode>(oid: const_oid::ObjectIdentifier, critical: bool, v: &T) -> PkiResult<Extension> {
    Ok(Extension { extn_id: oid, critical, extn_value: OctetString::new(v.to_der()?)? })
}

fn uint(n: u64) -> PkiResult<Uint> {
    Ok(Uint::new(&n.to_be_bytes())?)
}

/// Builds and signs a CRL.
pub fn build(p: &CrlParams<'_>, signer: &dyn Signer, scheme: SignatureScheme) -> PkiResult<Vec<u8>> {
    let sig_alg = algorithm_identifier(scheme);
    let mut revoked = Vec::with_capacity(p.entries.len());
    for e in p.entries {
        let exts = match crl_reason(e.reason) {
            Some(r) => Some(vec![ext(oids::CRL_REASON, false, &r)?]),
            None => None,
        };
        revoked.push(RevokedCert {
            serial_number: SerialNumber::new(&e.serial)?,
            revocation_date: x509_time(e.revoked_at)?,
            crl_entry_extensions: exts,
        });
    }
    let mut exts = vec![
        ext(
            oids::AUTHORITY_KEY_ID,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(key_identifier(p.issuer_spki)?)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
        ext(oids::CRL_NUMBER, false, &uint(p.number)?)?,
    ];
    if let Some(base) = p.delta_of {
        exts.push(ext(oids::DELTA_CRL_INDICATOR, true, &uint(base)?)?);
    }
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: sig_alg.clone(),
        issuer: p.issuer.clone(),
        this_update: x509_time(p.this_update)?,
        next_update: Some(x509_time(p.next_update)?),
        revoked_certificates: (!revoked.is_empty()).then_some(revoked),
        crl_extensions: Some(exts),
    };
    let tbs_der = tbs.to_der()?;
    let sig = signer.sign(scheme, &tbs_der)?;
    Ok(CertificateList { tbs_cert_list: tbs, signature_algorithm: sig_alg, signature: BitString::from_bytes(&sig)? }.to_der()?)
}

/// A CRL as read from outside, with its signature checked against the issuer.
#[derive(Debug, Clone)]
pub struct ParsedCrl {
    pub issuer: crate::name::DistinguishedName,
    pub this_update: DateTime<Utc>,
    pub next_update: Option<DateTime<Utc>>,
    pub entries: Vec<RevokedEntry>,
}

/// What RFC 5280 asks of a CRL before it is used: a CRL number, not critical (5.2.3), no
/// critical extension kyso does not understand (5.2, 5.3).
fn rfc5280_profile(tbs: &TbsCertList) -> PkiResult<()> {
    use crate::PkiError::Invalid;
    let exts: &[Extension] = tbs.crl_extensions.as_deref().unwrap_or(&[]);
    match exts.iter().find(|e| e.extn_id == oids::CRL_NUMBER) {
        None => return Err(Invalid("CRL không có số CRL (cRLNumber, RFC 5280 5.2.3)".into())),
        Some(e) if e.critical => return Err(Invalid("số CRL (cRLNumber) không được đánh dấu critical (RFC 5280 5.2.3)".into())),
        Some(e) => der::Decode::from_der(e.extn_value.as_bytes())
            .map(|_: Uint| ())
            .map_err(|_| Invalid("số CRL (cRLNumber) không hợp lệ".into()))?,
    }
    for (i, e) in exts.iter().enumerate() {
        if exts[..i].iter().any(|o| o.extn_id == e.extn_id) {
            return Err(Invalid(format!("CRL có phần mở rộng {} lặp lại", e.extn_id)));
        }
        if e.critical && e.extn_id != oids::DELTA_CRL_INDICATOR && e.extn_id != oids::ISSUING_DISTRIBUTION_POINT {
            return Err(Invalid(format!("CRL có phần mở rộng critical không được hiểu ({})", e.extn_id)));
        }
    }
    for r in tbs.revoked_certificates.iter().flatten() {
        if let Some(e) = r.crl_entry_extensions.iter().flatten().find(|e| e.critical) {
            return Err(Invalid(format!("một mục của CRL có phần mở rộng critical không được hiểu ({})", e.extn_id)));
        }
    }
    Ok(())
}

/// Parses a CRL, verifies its signature with `issuer_spki`, and checks it as RFC 5280 asks.
pub fn parse_and_verify(der_bytes: &[u8], issuer_spki: &[u8]) -> PkiResult<ParsedCrl> {
    use der::Decode;
    let c = CertificateList::from_der(der_bytes)?;
    crate::alg::verify_signature(issuer_spki, &c.signature_algorithm, &c.tbs_cert_list.to_der()?, c.signature.raw_bytes())?;
    let tbs = &c.tbs_cert_list;
    if tbs.signature != c.signature_algorithm {
        return Err(crate::PkiError::Invalid("thuật toán ký trong CRL khác với thuật toán ký bên ngoài (RFC 5280 5.1.1.2)".into()));
    }
    rfc5280_profile(tbs)?;
    let entries = tbs
        .revoked_certificates
        .iter()
        .flatten()
        .map(|r| {
            let reason = r
                .crl_entry_extensions
                .iter()
                .flatten()
                .find(|e| e.extn_id == oids::CRL_REASON)
                .and_then(|e| e.extn_value.as_bytes().last().copied())
                .unwrap_or(0);
            RevokedEntry { serial: r.serial_number.as_bytes().to_vec(), revoked_at: crate::from_x509_time(&r.revocation_date), reason }
        })
        .collect();
    Ok(ParsedCrl {
        issuer: crate::name::DistinguishedName::from_name(&tbs.issuer),
        this_update: crate::from_x509_time(&tbs.this_update),
        next_update: tbs.next_update.as_ref().map(crate::from_x509_time),
        entries,
    })
}

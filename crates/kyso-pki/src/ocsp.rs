//! OCSP (RFC 6960): request parsing and responses signed by a delegated responder. Responses
//! can be produced ahead of time (no nonce, RFC 5019 style) and served without any private-key
//! operation, or signed on demand (with the client's nonce).

use crate::alg::algorithm_identifier;
use crate::{generalized_time, oids, PkiError, PkiResult};
use chrono::{DateTime, Utc};
use der::asn1::{BitString, Null, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use kyso_token::{HashAlg, SignatureScheme, Signer};
use spki::AlgorithmIdentifierOwned;
use x509_cert::certificate::Certificate;
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse, OcspResponseStatus, ResponderId, ResponseBytes,
    ResponseData, RevokedInfo, SingleResponse, Version,
};

/// The hash of a CertID: SHA-1 (what most clients send) or SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdHash {
    Sha1,
    Sha256,
}

impl IdHash {
    fn oid(self) -> ObjectIdentifier {
        match self {
            IdHash::Sha1 => oids::SHA1,
            IdHash::Sha256 => oids::SHA256,
        }
    }
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            IdHash::Sha1 => kyso_token::sha1(data),
            IdHash::Sha256 => HashAlg::Sha256.digest(data),
        }
    }
}

/// The CertID of a certificate serial under an issuer (name DER and SubjectPublicKeyInfo).
pub fn cert_id(h: IdHash, issuer_name_der: &[u8], issuer_spki: &[u8], serial: &[u8]) -> PkiResult<CertId> {
    let spki = spki::SubjectPublicKeyInfoRef::from_der(issuer_spki)?;
    Ok(CertId {
        hash_algorithm: AlgorithmIdentifierOwned { oid: h.oid(), parameters: Some(der::Any::from(der::asn1::AnyRef::NULL)) },
        issuer_name_hash: OctetString::new(h.digest(issuer_name_der))?,
        issuer_key_hash: OctetString::new(h.digest(spki.subject_public_key.raw_bytes()))?,
        serial_number: SerialNumber::new(serial)?,
    })
}

/// One certificate asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub id: CertId,
    pub hash: Option<IdHash>,
    pub serial: Vec<u8>,
}

/// A parsed request: what is asked, and the nonce if any.
#[derive(Debug, Clone)]
pub struct ParsedRequest {
    pub asked: Vec<Asked>,
    pub nonce: Option<Vec<u8>>,
}

/// Parses a DER OCSPRequest (at most 16 certificates per request).
pub fn parse_request(der_bytes: &[u8]) -> PkiResult<ParsedRequest> {
    let r = OcspRequest::from_der(der_bytes)?;
    if r.tbs_request.request_list.is_empty() || r.tbs_request.request_list.len() > 16 {
        return Err(PkiError::Invalid("yêu cầu OCSP phải hỏi từ 1 đến 16 chứng thư".into()));
    }
    let asked = r
        .tbs_request
        .request_list
        .iter()
        .map(|q| {
            let oid = q.req_cert.hash_algorithm.oid;
            let hash = if oid == oids::SHA1 {
                Some(IdHash::Sha1)
            } else if oid == oids::SHA256 {
                Some(IdHash::Sha256)
            } else {
                None
            };
            Asked { id: q.req_cert.clone(), hash, serial: q.req_cert.serial_number.as_bytes().to_vec() }
        })
        .collect();
    let nonce =
        r.tbs_request.request_extensions.iter().flatten().find(|e| e.extn_id == oids::OCSP_NONCE).map(|e| e.extn_value.as_bytes().to_vec());
    Ok(ParsedRequest { asked, nonce })
}

/// The status of one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Good,
    Revoked { at: DateTime<Utc>, reason: u8 },
    Unknown,
}

/// The delegated responder.
pub struct Responder<'a> {
    pub cert: &'a [u8],
    pub signer: &'a dyn Signer,
    pub scheme: SignatureScheme,
}

/// Builds a successful, signed OCSPResponse.
pub fn respond(
    r: &Responder<'_>,
    answers: &[(CertId, Status)],
    produced_at: DateTime<Utc>,
    this_update: DateTime<Utc>,
    next_update: DateTime<Utc>,
    nonce: Option<&[u8]>,
) -> PkiResult<Vec<u8>> {
    let responder = Certificate::from_der(r.cert)?;
    let key_hash = kyso_token::sha1(responder.tbs_certificate.subject_public_key_info.subject_public_key.raw_bytes());
    let responses = answers
        .iter()
        .map(|(id, st)| {
            let cert_status = match st {
                Status::Good => CertStatus::Good(Null),
                Status::Unknown => CertStatus::Unknown(Null),
                Status::Revoked { at, reason } => CertStatus::Revoked(RevokedInfo {
                    revocation_time: OcspGeneralizedTime(generalized_time(*at)?),
                    revocation_reason: crate::crl::crl_reason(*reason),
                }),
            };
            Ok(SingleResponse {
                cert_id: id.clone(),
                cert_status,
                this_update: OcspGeneralizedTime(generalized_time(this_update)?),
                next_update: Some(OcspGeneralizedTime(generalized_time(next_update)?)),
                single_extensions: None,
            })
        })
        .collect::<PkiResult<Vec<_>>>()?;
    let response_extensions = match nonce {
        Some(n) => Some(vec![Extension { extn_id: oids::OCSP_NONCE, critical: false, extn_value: OctetString::new(n)? }]),
        None => None,
    };
    let data = ResponseData {
        version: Version::V1,
        responder_id: ResponderId::ByKey(OctetString::new(key_hash)?),
        produced_at: OcspGeneralizedTime(generalized_time(produced_at)?),
        responses,
        response_extensions,
    };
    let sig_alg = algorithm_identifier(r.scheme);
    let signature = r.signer.sign(r.scheme, &data.to_der()?)?;
    let basic = BasicOcspResponse {
        tbs_response_data: data,
        signature_algorithm: sig_alg,
        signature: BitString::from_bytes(&signature)?,
        certs: Some(vec![responder]),
    };
    Ok(OcspResponse {
        response_status: OcspResponseStatus::Successful,
        response_bytes: Some(ResponseBytes { response_type: oids::OCSP_BASIC, response: OctetString::new(basic.to_der()?)? }),
    }
    .to_der()?)
}

/// An unsigned error response (malformed request, internal error, try later, unauthorized).
pub fn error_response(status: OcspResponseStatus) -> Vec<u8> {
    OcspResponse { response_status: status, response_bytes: None }.to_der().expect("a status-only response encodes")
}

pub use x509_ocsp::OcspResponseStatus as ResponseStatus;

/// A DER OCSPRequest for `cert` issued by `issuer`: one SHA-1 CertID and no nonce, the form
/// responders answer from pre-produced responses (RFC 5019).
pub fn request_for(cert: &[u8], issuer: &[u8]) -> PkiResult<Vec<u8>> {
    use x509_ocsp::{Request, TbsRequest};
    let c = Certificate::from_der(cert)?;
    let i = Certificate::from_der(issuer)?;
    let id = cert_id(
        IdHash::Sha1,
        &i.tbs_certificate.subject.to_der()?,
        &i.tbs_certificate.subject_public_key_info.to_der()?,
        c.tbs_certificate.serial_number.as_bytes(),
    )?;
    let tbs = TbsRequest {
        version: Version::V1,
        requestor_name: None,
        request_list: vec![Request { req_cert: id, single_request_extensions: None }],
        request_extensions: None,
    };
    Ok(OcspRequest { tbs_request: tbs, optional_signature: None }.to_der()?)
}

/// The GET form of an OCSP request (RFC 6960 Appendix A.1): the responder URL, a slash, and
/// the request's base64 with '+', '/' and '=' percent-encoded.
pub fn get_url(responder: &str, request_der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(request_der);
    let escaped: String = b64
        .chars()
        .map(|ch| match ch {
            '+' => "%2B".to_string(),
            '/' => "%2F".to_string(),
            '=' => "%3D".to_string(),
            c => c.to_string(),
        })
        .collect();
    format!("{}/{escaped}", responder.trim_end_matches('/'))
}

/// The status of `cert` in an OCSP response, if the response is signed by `issuer` or by a
/// responder that `issuer` certified for OCSP signing, and answers for `cert`.
pub fn status_in_response(resp_der: &[u8], cert: &[u8], issuer: &[u8]) -> PkiResult<Option<crate::path::Revocation>> {
    let r = OcspResponse::from_der(resp_der)?;
    if r.response_status != OcspResponseStatus::Successful {
        return Ok(None);
    }
    let Some(bytes) = r.response_bytes.filter(|b| b.response_type == oids::OCSP_BASIC) else { return Ok(None) };
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())?;
    let issuer_c = Certificate::from_der(issuer)?;
    let issuer_spki = issuer_c.tbs_certificate.subject_public_key_info.to_der()?;
    let tbs = basic.tbs_response_data.to_der()?;
    let signed_by = |spki: &[u8]| crate::alg::verify_signature(spki, &basic.signature_algorithm, &tbs, basic.signature.raw_bytes()).is_ok();
    let trusted = signed_by(&issuer_spki)
        || basic.certs.iter().flatten().any(|rc| {
            let delegated = rc.tbs_certificate.issuer == issuer_c.tbs_certificate.subject
                && crate::cert::verify_issued_by(rc, &issuer_spki).is_ok()
                && rc.tbs_certificate.extensions.iter().flatten().any(|e| {
                    e.extn_id == oids::EXT_KEY_USAGE
                        && x509_cert::ext::pkix::ExtendedKeyUsage::from_der(e.extn_value.as_bytes())
                            .is_ok_and(|eku| eku.0.contains(&oids::KP_OCSP_SIGNING))
                });
            delegated && rc.tbs_certificate.subject_public_key_info.to_der().is_ok_and(|s| signed_by(&s))
        });
    if !trusted {
        return Ok(None);
    }
    let c = Certificate::from_der(cert)?;
    let serial = c.tbs_certificate.serial_number.as_bytes();
    let name_der = issuer_c.tbs_certificate.subject.to_der()?;
    for single in &basic.tbs_response_data.responses {
        let id = &single.cert_id;
        let h = if id.hash_algorithm.oid == oids::SHA1 {
            IdHash::Sha1
        } else if id.hash_algorithm.oid == oids::SHA256 {
            IdHash::Sha256
        } else {
            continue;
        };
        let want = cert_id(h, &name_der, &issuer_spki, serial)?;
        if want.issuer_name_hash != id.issuer_name_hash
            || want.issuer_key_hash != id.issuer_key_hash
            || id.serial_number.as_bytes() != serial
        {
            continue;
        }
        let produced = crate::from_generalized(&single.this_update.0);
        return Ok(Some(match &single.cert_status {
            CertStatus::Good(_) => crate::path::Revocation::Good {
                source: "OCSP".into(),
                produced,
                valid_until: single.next_update.as_ref().map(|n| crate::from_generalized(&n.0)),
            },
            CertStatus::Revoked(info) => crate::path::Revocation::Revoked {
                source: "OCSP".into(),
                at: crate::from_generalized(&info.revocation_time.0),
                reason: info.revocation_reason.map(|r| r as u8).unwrap_or(0),
            },
            CertStatus::Unknown(_) => crate::path::Revocation::Unknown,
        }));
    }
    Ok(None)
}

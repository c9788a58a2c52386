//! CMS SignedData, signed attributes, the revocation data a signature carries, and RFC 3161
//! time-stamp tokens.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let digest = |_: kyso_token::HashAlg| vec![0u8; 32];
    let _ = kyso_pki::cms::verify(data, Some(&digest));
    let _ = kyso_pki::cms::certificates_of(data);
    let _ = kyso_pki::cms::revocation_info(data);
    let _ = kyso_pki::cms::signature_time_stamp_token(data);
    let _ = kyso_pki::cms::inspect_signed_attributes(data);
    let _ = kyso_pki::cms::der_prefix(data);
    let _ = kyso_pki::tsp::verify_token(data, kyso_token::HashAlg::Sha256, &[0u8; 32]);
    let _ = kyso_pki::tsp::token_of(data);
});

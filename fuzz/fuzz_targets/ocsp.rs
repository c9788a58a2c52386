//! OCSP requests (what `kyso serve` reads from the network) and responses (what the validator
//! reads from files and DSS).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kyso_pki::ocsp::parse_request(data);
    // A response about a certificate; the same bytes also serve as the "certificates", so the
    // parsers of all three see them.
    let _ = kyso_pki::ocsp::status_in_response(data, data, data);
});

//! X.509 certificates: parsing, extensions, and path validation with the input as its own
//! trust anchor.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if kyso_pki::cert::parse(data).is_ok() {
        let _ = kyso_pki::cert::crl_urls(data);
        let _ = kyso_pki::cert::ocsp_urls(data);
        let _ = kyso_pki::ocsp::request_for(data, data);
        let anchors = vec![data.to_vec()];
        let _ = kyso_pki::path::validate(&kyso_pki::path::PathInput {
            leaf: data,
            intermediates: &[],
            anchors: &anchors,
            at: chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            eku: None,
            usage: kyso_pki::path::LeafUsage::Signing,
        });
    }
    let _ = kyso_pki::path::certificates_in(data);
    let _ = kyso_pki::csr::check(data);
});

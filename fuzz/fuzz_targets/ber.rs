//! The one place kyso reads BER: normalising to DER, walking elements as received, times as
//! the field writes them, and SignedData read through it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(der) = kyso_pki::ber::to_der(data) {
        // DER stays DER: normalising again changes nothing.
        assert_eq!(kyso_pki::ber::to_der(&der).ok().as_deref(), Some(der.as_slice()));
    }
    if let Ok(t) = kyso_pki::ber::Tlv::parse(data) {
        let _ = t.children();
        let _ = t.string_bytes();
    }
    let _ = kyso_pki::ber::time_of(data);
    if let Ok(view) = kyso_pki::signed_data::read(data) {
        for si in &view.signers {
            let _ = si.signed_attrs.as_ref().map(|s| s.candidates());
        }
    }
    let _ = kyso_pki::tsp::verify_token_over(data, &|h| h.digest(b""));
});

//! PDF revisions, signature dictionaries, the own signature check and the full validation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = kyso_pdf::reader::PdfDoc::read(data) {
        let _ = doc.pages();
        let _ = kyso_pdf::form::fields(&doc);
        let _ = kyso_pdf::text::find_text(&doc, "CHỦ TỊCH");
    }
    let _ = kyso_pdf::revisions::revisions(data);
    let _ = kyso_pdf::ltv::read_dss(data);
    let policy = kyso_verify::Policy {
        anchors: vec![],
        intermediates: vec![],
        crls: vec![],
        ocsps: vec![],
        at: chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
        fetch: None,
        revocation: kyso_verify::RevocationMode::SoftFail,
    };
    let _ = kyso_verify::validate_pdf("fuzz.pdf", data, &policy);
});

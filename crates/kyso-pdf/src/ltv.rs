//! Long-term validation: the Document Security Store (B-LT: certificates, CRLs and OCSP
//! responses in /DSS) and the document time-stamp (B-LTA), each as its own incremental update.

use crate::object::{get, Dict, Obj, Ref};
use crate::reader::PdfDoc;
use crate::sign::{self, FieldSpec, Placement};
use crate::{PdfError, PdfResult, Tsa};
use kyso_token::HashAlg;

/// Validation material for the DSS.
#[derive(Debug, Clone, Default)]
pub struct ValidationData {
    pub certs: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
    pub ocsps: Vec<Vec<u8>>,
}

/// Adds (or extends) the /DSS of the catalog with `vd`; earlier bytes are untouched.
pub fn add_dss(input: &[u8], vd: &ValidationData) -> PdfResult<Vec<u8>> {
    let doc = PdfDoc::open(input)?;
    let mut catalog = doc.catalog()?;
    let mut next = doc.size();
    let mut objects: Vec<(Ref, Obj)> = Vec::new();
    let (dss_ref, mut dss) = match get(&catalog, "DSS") {
        Some(Obj::Ref(r)) => (*r, doc.get(*r)?.as_dict().cloned().unwrap_or_default()),
        Some(Obj::Dict(d)) => {
            let r = (next, 0);
            next += 1;
            (r, d.clone())
        }
        _ => {
            let r = (next, 0);
            next += 1;
            (r, Dict::new())
        }
    };
    for (key, items) in [("Certs", &vd.certs), ("CRLs", &vd.crls), ("OCSPs", &vd.ocsps)] {
        if items.is_empty() {
            continue;
        }
        let mut arr = match get(&dss, key).map(|a| doc.resolve(a)).transpose()? {
            Some(Obj::Array(a)) => a,
            _ => vec![],
        };
        for item in items {
            let r = (next, 0);
            next += 1;
            objects.push((r, Obj::Stream(Dict::new(), item.clone())));
            arr.push(Obj::Ref(r));
        }
        dss.insert(key.as_bytes().to_vec(), Obj::Array(arr));
    }
    objects.push((dss_ref, Obj::Dict(dss)));
    if get(&catalog, "DSS").and_then(Obj::as_ref) != Some(dss_ref) {
        catalog.insert(b"DSS".to_vec(), Obj::Ref(dss_ref));
        objects.push((doc.root_ref(), Obj::Dict(catalog)));
    }
    let mut out = input.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut offsets = Vec::new();
    sign::write_objects(&objects, 0, &mut out, &mut offsets);
    sign::write_xref(&doc, 0, &mut out, &mut offsets, next)?;
    Ok(out)
}

/// Adds a document time-stamp (PAdES B-LTA) over the whole file as it is.
pub fn add_document_timestamp(input: &[u8], tsa: Tsa<'_>, field: &str) -> PdfResult<Vec<u8>> {
    let spec = FieldSpec {
        page: 1,
        name: field.to_string(),
        placement: Placement::Invisible,
        appearance: None,
        reason: None,
        location: None,
        signing_time: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        contents_size: 16 * 1024,
        sub_filter: "ETSI.RFC3161",
        fills: vec![],
    };
    let prepared = sign::prepare(input, &spec)?;
    let digest = prepared.digest(input, HashAlg::Sha256);
    let req = kyso_pki::tsp::request(HashAlg::Sha256, &digest, None)?;
    let resp = tsa(&req).map_err(|e| PdfError::Refused(format!("dịch vụ dấu thời gian: {e}")))?;
    let token = kyso_pki::tsp::token_of(&resp)?;
    prepared.finish(input, &token)
}

/// The validation material in the document's DSS (empty when there is none). Streams that
/// cannot be decoded are skipped.
pub fn read_dss(data: &[u8]) -> PdfResult<ValidationData> {
    let doc = PdfDoc::read(data)?;
    let cat = doc.catalog()?;
    let mut vd = ValidationData::default();
    let Some(Obj::Dict(dss)) = get(&cat, "DSS").map(|d| doc.resolve(d)).transpose()? else { return Ok(vd) };
    for (key, out) in [("Certs", &mut vd.certs), ("CRLs", &mut vd.crls), ("OCSPs", &mut vd.ocsps)] {
        let items = get(&dss, key).map(|a| doc.resolve(a)).transpose()?;
        for item in items.as_ref().and_then(Obj::as_array).into_iter().flatten().take(10_000) {
            if let Ok(Obj::Stream(d, raw)) = doc.resolve(item) {
                if let Ok(bytes) = crate::reader::decode_stream(&d, &raw) {
                    out.push(bytes);
                }
            }
        }
    }
    Ok(vd)
}

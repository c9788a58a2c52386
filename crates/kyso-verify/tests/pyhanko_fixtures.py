"""Fixtures signed by pyHanko, and pyHanko's verdicts on every fixture (kyso's own and these).

  make DIR    DIR holds signer-key.pem, signer-cert.pem, tsa-key.pem, tsa-cert.pem, root.pem,
              ca.pem, crl-*.der and base.pdf (with an empty text field 'ten'); writes ph-*.pdf
  check DIR FILE...
              DIR holds root.pem, ca.pem and crl-*.der; prints {"file": [bottom_line, ...]}
"""
import io
import json
import sys
import glob
from datetime import datetime, timedelta, timezone

from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore


def sign(data, signer, certify=False, perm=fields.MDPPerm.FILL_FORMS, name='Sig1'):
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    meta = signers.PdfSignatureMetadata(
        field_name=name, certify=certify, docmdp_permissions=perm,
        subfilter=fields.SigSeedSubFilter.PADES)
    return signers.sign_pdf(w, meta, signer=signer).getvalue()


def fill(data, name, value):
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    for f in w.root['/AcroForm']['/Fields']:
        field = f.get_object()
        if field.get('/T') == name:
            field[generic.NameObject('/V')] = generic.TextStringObject(value)
            w.update_container(field)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def annotate(data):
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    page = w.root['/Pages']['/Kids'][0].get_object()
    annot = generic.DictionaryObject({
        generic.NameObject('/Type'): generic.NameObject('/Annot'),
        generic.NameObject('/Subtype'): generic.NameObject('/FreeText'),
        generic.NameObject('/Rect'): generic.ArrayObject([generic.NumberObject(x) for x in (50, 50, 250, 100)]),
        generic.NameObject('/Contents'): generic.TextStringObject('Đã thay đổi'),
    })
    ref = w.add_object(annot)
    annots = page.get('/Annots')
    page[generic.NameObject('/Annots')] = generic.ArrayObject(([x for x in annots] if annots else []) + [ref])
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def time_stamper(d, at=None):
    ca = load_cert_from_pemder(f'{d}/ca.pem')
    return timestamps.DummyTimeStamper(
        tsa_cert=load_cert_from_pemder(f'{d}/tsa-cert.pem'), tsa_key=load_private_key_from_pemder(f'{d}/tsa-key.pem', None),
        certs_to_embed=SimpleCertificateStore.from_certs([ca]), fixed_dt=at)


def sign_lt(data, signer, name, vc, tst):
    """PAdES B-LT as pyHanko writes it: the signature with its time-stamp, then an update that
    adds the validation data to the document's DSS (creating it, or updating the one there)."""
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    meta = signers.PdfSignatureMetadata(field_name=name, subfilter=fields.SigSeedSubFilter.PADES,
                                        embed_validation_info=True, validation_context=vc)
    return signers.sign_pdf(w, meta, signer=signer, timestamper=tst).getvalue()


def make(d):
    signer = signers.SimpleSigner.load(f'{d}/signer-key.pem', f'{d}/signer-cert.pem', ca_chain_files=(f'{d}/ca.pem',))
    base = open(f'{d}/base.pdf', 'rb').read()
    out = {
        'ph-valid.pdf': sign(base, signer),
        'ph-cert-p2-filled.pdf': fill(sign(base, signer, certify=True, perm=fields.MDPPerm.FILL_FORMS), 'ten', 'Nguyễn Văn An'),
        'ph-cert-p1-filled.pdf': fill(sign(base, signer, certify=True, perm=fields.MDPPerm.NO_CHANGES), 'ten', 'Nguyễn Văn An'),
        'ph-cert-p2-annotated.pdf': annotate(sign(base, signer, certify=True, perm=fields.MDPPerm.FILL_FORMS)),
        # A field already filled when the document was certified, given another value later.
        'ph-cert-p2-refilled.pdf': fill(sign(fill(base, 'ten', 'Nguyễn Văn An'), signer, certify=True, perm=fields.MDPPerm.FILL_FORMS),
                                        'ten', 'Trần Thị Bình'),
    }
    vc = ValidationContext(trust_roots=[load_cert_from_pemder(f'{d}/root.pem')], other_certs=[load_cert_from_pemder(f'{d}/ca.pem')],
                           crls=[open(p, 'rb').read() for p in sorted(glob.glob(f'{d}/crl-*.der'))],
                           allow_fetching=False, revocation_mode='require')
    # Two and three approval signatures at B-LT, each signer updating the DSS after signing.
    tst = time_stamper(d)
    two = sign_lt(sign_lt(base, signer, 'Sig1', vc, tst), signer, 'Sig2', vc, tst)
    out['ph-blt-2.pdf'] = two
    out['ph-blt-3.pdf'] = sign_lt(two, signer, 'Sig3', vc, tst)
    # A signing tool that writes Vietnamese local time as UTC: the claimed signing time is
    # seven hours after the time-stamp.
    w = IncrementalPdfFileWriter(io.BytesIO(base))
    meta = signers.PdfSignatureMetadata(field_name='Sig1', subfilter=fields.SigSeedSubFilter.PADES)
    seven = time_stamper(d, datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=7))
    out['ph-seven-hours.pdf'] = signers.sign_pdf(w, meta, signer=signer, timestamper=seven).getvalue()
    # Legacy PKCS#7 with the CRLs inside the signature (adbe-revocationInfoArchival).
    w = IncrementalPdfFileWriter(io.BytesIO(base))
    meta = signers.PdfSignatureMetadata(field_name='Sig1', subfilter=fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED,
                                        embed_validation_info=True, validation_context=vc)
    out['ph-adbe-revinfo.pdf'] = signers.sign_pdf(w, meta, signer=signer).getvalue()
    for name, data in out.items():
        open(f'{d}/{name}', 'wb').write(data)


def check(d, files):
    root = load_cert_from_pemder(f'{d}/root.pem')
    ca = load_cert_from_pemder(f'{d}/ca.pem')
    crls = [open(p, 'rb').read() for p in sorted(glob.glob(f'{d}/crl-*.der'))]
    result = {}
    for path in files:
        data = open(path, 'rb').read()
        try:
            r = PdfFileReader(io.BytesIO(data), strict=False)
            verdicts = []
            for s in r.embedded_signatures:
                vc = ValidationContext(trust_roots=[root], other_certs=[ca], crls=crls, allow_fetching=False, revocation_mode='require')
                try:
                    if s.sig_object_type == '/DocTimeStamp':
                        st = validate_pdf_timestamp(s, validation_context=vc)
                    else:
                        st = validate_pdf_signature(s, vc)
                    verdicts.append(bool(st.bottom_line))
                except Exception as e:  # a signature pyHanko cannot process counts as not valid
                    verdicts.append(False)
            result[path.split('/')[-1]] = verdicts
        except Exception as e:
            result[path.split('/')[-1]] = 'error: ' + str(e)[:200]
    print(json.dumps(result))


if __name__ == '__main__':
    if sys.argv[1] == 'make':
        make(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3:])

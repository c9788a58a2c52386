"""pyHanko's verdicts on the foreign corpus (crates/kyso-verify/tests/corpus).

  corpus_pyhanko.py [--revocation-mode=soft-fail|hard-fail|require] MANIFEST [PATH...]

Reads MANIFEST (corpus/manifest.json) and prints ONE JSON object to stdout:

  {"<path>": [{"field", "type", "intact", "valid", "trusted", "modification_level",
               "docmdp_ok", "coverage", "bottom_line", "error"[, "trust_problem"]}, ...],
   "<path>": {"error": "..."}, ...}

one entry per signature field that holds a signature (document time-stamps included,
"type": "/DocTimeStamp"), or {"error": ...} for a file pyHanko cannot read. With PATH
arguments only those manifest entries are checked.

docmdp_ok is pyHanko's own criterion in bottom_line (docmdp_ok, or no modification level
computed). For document time-stamps, bottom_line is intact and valid and trusted and docmdp_ok,
as PdfSignatureStatus.bottom_line judges signatures (DocumentTimestampStatus has none).
Signatures pyHanko will not load (legacy SubFilters adbe.x509.rsa_sha1 / adbe.pkcs7.sha1,
empty /Contents, a SubFilter that does not fit the /Type) are listed with every flag false and
the reason in "error".

Each file is validated with the manifest's trust anchors, extra certificates, CRLs and OCSP
responses, plus the revocation data and certificates the file carries itself (its DSS and
Adobe revocation-info attributes), at the manifest's `at`, offline (allow_fetching=False),
revocation_mode='soft-fail' (unless --revocation-mode says otherwise), retroactive_revinfo=True
(revocation data issued after `at` may vouch for a certificate at `at`, as EN 319 102-1
expects of data gathered after signing), and pyHanko's default diff and algorithm policies
(SHA-1 signatures are not valid). Nothing is fetched.
Progress and timing go to stderr.
"""
import io
import json
import logging
import os
import signal
import sys
import time
from datetime import datetime, timezone

from asn1crypto import cms
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

logging.disable(logging.CRITICAL)

PER_FILE_SECONDS = 60
SUPPORTED = {'/adbe.pkcs7.detached', '/ETSI.CAdES.detached', '/PBAD.PAdES', '/ETSI.RFC3161'}


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout(f'pyHanko took more than {PER_FILE_SECONDS} s')


def _der(path):
    data = open(path, 'rb').read()
    if data.lstrip().startswith(b'-----BEGIN'):
        from asn1crypto import pem
        _, _, data = pem.unarmor(data)
    return data


def _name(v):
    if v is None:
        return None
    return getattr(v, 'name', None) or str(v)


def _embedded_revinfo(sig, crls, ocsps):
    """Adobe revocation-info archival (signed attribute) of a signature."""
    try:
        attrs = sig.signer_info['signed_attrs']
        if not attrs:
            return
        for a in attrs:
            if a['type'].native == 'adobe_revocation_info_archival':
                for v in a['values']:
                    for c in (v['crl'] or []):
                        crls.append(c)
                    for o in (v['ocsp'] or []):
                        ocsps.append(o)
    except Exception:
        pass


def check_file(full, entry, base):
    data = open(full, 'rb').read()
    r = PdfFileReader(io.BytesIO(data), strict=False)
    if r.encrypted:
        r.decrypt('')  # the corpus' encrypted files have an empty user password
    anchors = [load_cert_from_pemder(os.path.join(base, p)) for p in entry.get('anchors', [])]
    others = [load_cert_from_pemder(os.path.join(base, p)) for p in entry.get('certs', [])]
    crls = [_der(os.path.join(base, p)) for p in entry.get('crls', [])]
    ocsps = [_der(os.path.join(base, p)) for p in entry.get('ocsps', [])]
    at = datetime.strptime(entry['at'], '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=timezone.utc)

    # Like PdfFileReader.embedded_signatures, but one broken signature does not hide the others.
    sigs, broken = [], []
    for fq_name, sig_obj, sig_field in enumerate_sig_fields(r, filled_status=True):
        sf = str(sig_obj.get_object().get('/SubFilter'))
        if sf not in SUPPORTED:
            broken.append((fq_name, sig_obj, f'unsupported by pyHanko: SubFilter {sf}'))
            continue
        try:
            sigs.append(EmbeddedPdfSignature(r, sig_field, fq_name))
        except Timeout:
            raise
        except Exception as e:
            broken.append((fq_name, sig_obj, f'{type(e).__name__}: {e}'[:300]))
    sigs.sort(key=lambda emb: emb.signed_revision)
    from asn1crypto import crl as asn1_crl, ocsp as asn1_ocsp
    crls = [asn1_crl.CertificateList.load(c) for c in crls]
    ocsps = [asn1_ocsp.OCSPResponse.load(o) for o in ocsps]
    for s in sigs:
        _embedded_revinfo(s, crls, ocsps)
    kwargs = dict(trust_roots=anchors, other_certs=others, crls=crls, ocsps=ocsps,
                  allow_fetching=False, moment=at, revocation_mode=REVOCATION_MODE,
                  retroactive_revinfo=True)
    try:
        dss = DocumentSecurityStore.read_dss(r)
    except Exception:
        dss = None

    def vc():
        if dss is not None:
            try:
                return dss.as_validation_context(kwargs)
            except Exception:
                pass
        return ValidationContext(**kwargs)

    out = []
    for s in sigs:
        res = {'field': s.field_name, 'type': str(s.sig_object_type), 'intact': False, 'valid': False,
               'trusted': False, 'modification_level': None, 'docmdp_ok': False, 'coverage': None,
               'bottom_line': False, 'error': None}
        try:
            if s.sig_object_type == '/DocTimeStamp':
                st = validate_pdf_timestamp(s, validation_context=vc())
            else:
                v = vc()
                st = validate_pdf_signature(s, v, ts_validation_context=v)
            if s.sig_object_type == '/DocTimeStamp':
                # DocumentTimestampStatus has no bottom_line; judge it as PdfSignatureStatus does.
                bottom = (st.intact and st.valid and st.trusted
                          and (st.docmdp_ok or st.modification_level is None))
            else:
                bottom = st.bottom_line
            res.update(intact=bool(st.intact), valid=bool(st.valid), trusted=bool(st.trusted),
                       modification_level=_name(st.modification_level),
                       docmdp_ok=bool(st.docmdp_ok or st.modification_level is None),
                       coverage=_name(st.coverage), bottom_line=bool(bottom))
            if not st.trusted:
                res['trust_problem'] = _name(getattr(st, 'trust_problem_indic', None))
        except Timeout:
            raise
        except Exception as e:
            res['error'] = f'{type(e).__name__}: {e}'[:300]
        out.append(res)
    for name, sig_obj, err in broken:
        try:
            typ = str(sig_obj.get_object().get('/Type'))
        except Exception:
            typ = None
        out.append({'field': name, 'type': typ, 'intact': False, 'valid': False, 'trusted': False,
                    'modification_level': None, 'docmdp_ok': False, 'coverage': None,
                    'bottom_line': False, 'error': err})
    return out


REVOCATION_MODE = 'soft-fail'


def main():
    global REVOCATION_MODE
    args = sys.argv[1:]
    if args and args[0].startswith('--revocation-mode='):
        REVOCATION_MODE = args.pop(0).split('=', 1)[1]  # soft-fail (default), hard-fail, require
    manifest_path = args[0]
    only = set(args[1:])
    base = os.path.dirname(os.path.abspath(manifest_path))
    entries = json.load(open(manifest_path))['files']
    signal.signal(signal.SIGALRM, _alarm)
    result = {}
    t0 = time.monotonic()
    for entry in entries:
        path = entry['path']
        if only and path not in only:
            continue
        t = time.monotonic()
        signal.alarm(PER_FILE_SECONDS)
        try:
            result[path] = check_file(os.path.join(base, path), entry, base)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            result[path] = {'error': f'{type(e).__name__}: {e}'[:300]}
        finally:
            signal.alarm(0)
        dt = time.monotonic() - t
        if dt > 5:
            print(f'slow: {path} {dt:.1f} s', file=sys.stderr)
    print(f'{len(result)} files in {time.monotonic() - t0:.1f} s', file=sys.stderr)
    json.dump(result, sys.stdout, indent=1, ensure_ascii=False)
    print()


if __name__ == '__main__':
    main()

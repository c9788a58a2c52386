"""Writes tests/corpus-disagreements.md from a corpus run (maintainers' tool, not part of CI).

  KYSO_CORPUS_REPORT=/tmp/corpus-table.tsv cargo test -p kyso-verify --test corpus -- foreign
  .venv/bin/python crates/kyso-verify/tests/corpus_pyhanko.py crates/kyso-verify/tests/corpus/manifest.json > /tmp/hanko.json
  .venv/bin/python crates/kyso-verify/tests/corpus_listing.py /tmp/corpus-table.tsv /tmp/hanko.json crates/kyso-verify/tests/corpus-disagreements.md

Groups the signatures pyHanko finds valid that kyso does not pass by kyso's reason, and
explains each signature pyHanko finds modified that kyso passes by pyHanko's own diff message.
"""
import os
import json, re, sys
h = json.load(open(sys.argv[2]))
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1])]
cats = [
 (r'authorityKeyIdentifier', 'Missing authorityKeyIdentifier in a certificate of the path: RFC 5280 §4.2.1.1 requires it, kyso\'s path checks apply it to document signers too (open: limit it to `kyso cert verify`).'),
 (r'dấu thời gian của chữ ký không được tin cậy', 'The signature time-stamp\'s authority does not chain to the manifest\'s anchors in kyso (open: an anchor that is the TSA certificate itself, and TSA chains from the DSS), so kyso judges without the time-stamp.'),
 (r'UnsupportedCertVersion|không đọc được', 'A certificate of the path is not readable by kyso\'s path validator (X.509 v1, or an unknown critical extension) (open).'),
 (r'là chứng thư của CA', 'kyso is stricter: a CA certificate (basicConstraints cA=TRUE) does not sign documents (RFC 5280 §4.2.1.9; pyHanko accepts a self-signed CA certificate as signer).'),
 (r'SHA-1|SHA1', 'kyso is stricter: SHA-1 in the signature or the certificate path is judged by the dated algorithm policy (`src/algorithms.rs`); without proof of time before the cut-off it is INDETERMINATE.'),
 (r'thuật toán|hàm băm|đường cong|loại khóa', 'An algorithm kyso does not verify yet (Ed448, SHAKE256, Ed25519 in certificate paths, brainpool) (open).'),
 (r'không xây được đường dẫn', 'No path from the signer to the manifest\'s anchors in kyso\'s path builder (open: incomplete chains whose top is used as anchor).'),
 (r'sửa đổi sau khi ký|thay đổi sau khi ký', 'Revision analysis: kyso finds a change pyHanko allows (open unless the line says why kyso is right).'),
 (r'hết hạn', 'A certificate of the path expired before the validation time and no time-stamp kyso trusts proves the signature older (OUT_OF_BOUNDS_NO_POE).'),
 (r'thu hồi', 'Revocation data found by kyso says revoked, or is stale.'),
 (r'', 'Other (open).'),
]
groups = {}
attacks = []
for r in rows:
    path, field = r[0].rsplit('#', 1)
    v = [s for s in h[path] if s['field'] == field] if isinstance(h[path], list) else []
    if not v: continue
    v = v[0]
    kyso = r[2]
    msg = r[3] if len(r) > 3 else ''
    level = v['modification_level'] or ''
    illegal = level == 'OTHER' or (v['docmdp_ok'] is False and level not in ('', 'NONE') and v['type'] != '/DocTimeStamp' and not v['error'])
    if v['bottom_line'] and 'TOTAL-PASSED' not in kyso:
        for pat, why in cats:
            if re.search(pat, msg + kyso):
                groups.setdefault(why, []).append((r[0], kyso.replace('kyso ', '')))
                break
    if illegal and 'TOTAL-PASSED' in kyso:
        attacks.append((r[0], level, v['docmdp_ok']))
out = open(sys.argv[3], 'w')
out.write('''# Foreign corpus: where kyso and pyHanko disagree, and why

`tests/corpus.rs` judges every file of `tests/corpus` with kyso and with pyHanko (same anchors,
time and offline revocation data, soft-fail). It fails when a disagreement appears that is not
listed here, or a listed one goes away. Each line names a signature as `path#field`.

## pyHanko finds valid, kyso does not pass

Grouped by the reason kyso gives. Groups marked "open" are kyso gaps still being closed under
issue 9; the others are rules by which kyso is stricter.
''')
for why, items in groups.items():
    out.write(f'\n### {why}\n\n')
    for k, kyso in items:
        out.write(f'- `{k}` — kyso {kyso}\n')
def diff_message(key):
    """pyHanko's own words on why the change after this signature is not allowed."""
    import logging
    logging.disable(logging.CRITICAL)
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
    path, field = key.rsplit('#', 1)
    try:
        r = PdfFileReader(open(os.path.join(os.path.dirname(__file__), 'corpus', path), 'rb'), strict=False)
        if r.encrypted:
            r.decrypt('')
        s = [x for x in r.embedded_signatures if x.field_name == field][0]
        return str(DEFAULT_DIFF_POLICY.review_file(r, s.signed_revision))
    except Exception as e:
        return f'{type(e).__name__}: {e}'
reasons = {k: diff_message(k) for k, _, _ in attacks}
why = [
 ('was modified or deleted', 'pyHanko: an update rewrote or dropped a VRI entry of the DSS. That is validation data, which cannot change what was signed or shown, and kyso checks every CRL, OCSP response and certificate it uses; kyso reads the DSS of every revision, so nothing dropped is lost, and the report notes the drop.'),
 ('is not formatted correctly', 'pyHanko: the DSS\'s /VRI dictionary carries a `/Type` key beside the signature hashes, which pyHanko takes for a malformed VRI key; the extra key names nothing and changes nothing that was signed or shown.'),
 ('KeyError', 'pyHanko\'s diff analysis stops with an internal error (KeyError /Root) and gives no finding; kyso\'s analysis of the same revisions finds only signing and validation data.'),
 ('.Root.DSS', 'pyHanko: an update redefines objects that only the DSS reaches (certificates, CRLs, OCSP responses listed in it); that is validation data, which kyso checks on use and which changes nothing that was signed or shown, and kyso keeps the data of every revision.'),
 ('unexplained xrefs', 'pyHanko: the page\'s /Annots changes from an indirect array to a direct one with the same annotations plus the new signature widget; kyso compares the annotation lists, not how they are stored, and finds only the added signature.'),
]
out.write('''
## pyHanko finds a disallowed change, kyso passes

pyHanko's modification level is OTHER, or its DocMDP reading forbids the change, and kyso
finds nothing the signature forbids. Each is explained; a new one fails the test.
''')
for k, level, ok in attacks:
    r = reasons.get(k, '')
    w = next((t for pat, t in why if pat in r), 'open: not yet explained')
    out.write(f'- `{k}` — {w}\n')
print(sum(len(v) for v in groups.values()), len(attacks))

#!/usr/bin/env python3
"""Selects kyso's x509-limbo subset from a limbo.json made by x509-limbo's own tool.

Usage: limbo-subset.py LIMBO_JSON [OUT_JSON]   (OUT_JSON defaults to limbo-subset.json beside
this script). Needs `cryptography` (x509-limbo's own venv has it).

The subset: validation_kind SERVER or CLIENT, and no peer-name matching needed to get the
expected answer: every expected peer name (expected_peer_name and expected_peer_names) appears
literally in the leaf's subjectAltName (a DNS name compared without case, an IP address, an
e-mail address), or there is none. `kyso cert verify` has no peer name to check, so cases that
hinge on wildcard or mismatch rules, or whose leaf has no readable SAN, are left out.
At x509-limbo 8a2e6f41023b1716dc16fe63335e4bb972e4c3f6 this gives 174 of the 208 cases.
"""

import ipaddress
import json
import sys
from pathlib import Path

from cryptography import x509

FIELDS = [
    "id",
    "description",
    "validation_kind",
    "trusted_certs",
    "untrusted_intermediates",
    "peer_certificate",
    "validation_time",
    "extended_key_usage",
    "max_chain_depth",
    "expected_result",
    "features",
    "signature_algorithms",
    "key_usage",
    "crls",
]


def san_of(pem: str):
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
        return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except Exception:  # no SAN, or one cryptography cannot read
        return None


def needs_no_name_match(tc: dict) -> bool:
    names = ([tc["expected_peer_name"]] if tc.get("expected_peer_name") else []) + list(
        tc.get("expected_peer_names") or []
    )
    if not names:
        return True
    san = san_of(tc["peer_certificate"])
    if san is None:
        return False
    for n in names:
        if n["kind"] == "DNS":
            if n["value"].lower() not in [v.lower() for v in san.get_values_for_type(x509.DNSName)]:
                return False
        elif n["kind"] == "IP":
            if ipaddress.ip_address(n["value"]) not in san.get_values_for_type(x509.IPAddress):
                return False
        elif n["kind"] == "RFC822":
            if n["value"] not in san.get_values_for_type(x509.RFC822Name):
                return False
        else:
            return False
    return True


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    limbo = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2]) if len(sys.argv) == 3 else Path(__file__).with_name("limbo-subset.json")
    cases = [
        {k: tc.get(k) for k in FIELDS}
        for tc in limbo["testcases"]
        if tc["validation_kind"] in ("SERVER", "CLIENT") and needs_no_name_match(tc)
    ]
    out.write_text(json.dumps({"version": limbo.get("version"), "testcases": cases}, indent=1) + "\n")
    print(f"{len(cases)} of {len(limbo['testcases'])} cases -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Zone files for the test BIND: rendering records, DNSSEC signing with BIND's own tools."""

from __future__ import annotations

import base64
import os
import re
import secrets
from typing import NamedTuple

from harness._process import run_tool

DEFAULT_TTL = 60
# Name server host added to zones that bring no SOA of their own.
NAMESERVER_LABEL = "ns"
DNSSEC_ALGORITHM = "ECDSAP256SHA256"  # fast to make and to sign, RFC 8624 "MUST"
SIGNATURE_VALIDITY_SECONDS = 30 * 86400
_SOA = re.compile(r"(^|\s)SOA(\s|$)", re.IGNORECASE)


class TrustAnchor(NamedTuple):
    """A zone's DNSSEC trust anchor in presentation format (``zone. IN DNSKEY 257 3 13 ...``, ``zone. IN DS ...``)."""

    zone: str
    dnskey: str
    ds: str


def absolute(name):
    """``name`` with one trailing dot."""
    return name.rstrip(".") + "."


def file_stem(origin):
    """A file name for a zone that cannot escape the directory."""
    return "db." + (re.sub(r"[^A-Za-z0-9._-]", "_", origin.strip(".")) or "root")


def txt_presentation(value):
    """A TXT value in zone-file form: quoted character-strings of at most 255 octets each.

    A ``str`` or ``bytes`` value is cut every 255 octets (even inside a UTF-8 sequence:
    DNS strings are octets); a list gives the character-strings as they are, so a test
    can choose the split. Octets outside printable ASCII, ``"`` and ``\\`` are escaped.
    """
    if isinstance(value, (list, tuple)):
        parts = [part.encode("utf-8") if isinstance(part, str) else bytes(part) for part in value]
    else:
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        parts = [data[index:index + 255] for index in range(0, len(data), 255)] or [b""]
    rendered = []
    for part in parts:
        if len(part) > 255:
            raise ValueError("a TXT character-string holds at most 255 octets, got %d" % len(part))
        rendered.append('"%s"' % "".join(_escape_octet(octet) for octet in part))
    return " ".join(rendered)


def _escape_octet(octet):
    if octet in (0x22, 0x5C):
        return "\\" + chr(octet)
    if 0x20 <= octet < 0x7F:
        return chr(octet)
    return "\\%03d" % octet


def record_line(record, default_ttl=DEFAULT_TTL):
    """One zone-file line from ``{name, type, value, ttl?}``; TXT/SPF values are quoted and split."""
    try:
        name, rdtype, value = record["name"], str(record["type"]).upper(), record["value"]
    except KeyError as exc:
        raise ValueError("a record needs name, type and value: %r" % (record,)) from exc
    ttl = int(record.get("ttl", default_ttl))
    if rdtype in ("TXT", "SPF"):
        value = txt_presentation(value)
    return "%s %d IN %s %s" % (name, ttl, rdtype, value)


def render_zone(origin, content, default_ttl=DEFAULT_TTL, nameserver_address="127.0.0.1"):
    """Zone-file text for ``origin`` from lines (``str``) and/or records (``dict``), or one ``str``.

    When the content has no SOA, an SOA, an NS ``ns.<origin>`` and its A record are added
    (check-integrity wants in-zone name servers to have an address).
    """
    origin = absolute(origin)
    if isinstance(content, str):
        lines = content.splitlines()
    else:
        lines = [item if isinstance(item, str) else record_line(item, default_ttl) for item in content or ()]
    has_soa = any(_SOA.search(line.split(";", 1)[0]) for line in lines)
    head = ["$ORIGIN %s" % origin, "$TTL %d" % default_ttl]
    if not has_soa:
        nameserver = "%s.%s" % (NAMESERVER_LABEL, origin) if origin != "." else "a.root-servers.invalid."
        head += [
            "@ IN SOA %s hostmaster.%s 1 3600 600 86400 %d" % (nameserver, origin if origin != "." else "invalid.", default_ttl),
            "@ IN NS %s" % nameserver,
        ]
        head.append("%s IN A %s" % (nameserver, nameserver_address))
    return "\n".join(head + lines) + "\n"


def broken_zone_text(origin):
    """A zone file BIND refuses to load, so the zone answers SERVFAIL."""
    return "$ORIGIN %s\n$TTL 60\n@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n@ IN NOSUCHTYPE x\n" % absolute(origin)


def _read_key_record(path):
    with open(path, encoding="ascii") as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.startswith(";")]
    return " ".join(lines)


def sign_zone(origin, zone_path, key_directory, signed_path):
    """Sign ``zone_path`` with a new KSK and ZSK (dnssec-keygen, dnssec-signzone) into ``signed_path``.

    The keys stay in ``key_directory`` so BIND can sign dynamic updates too. Returns the TrustAnchor.
    """
    origin = absolute(origin)
    os.makedirs(key_directory, exist_ok=True)
    ksk = run_tool(["dnssec-keygen", "-q", "-a", DNSSEC_ALGORITHM, "-f", "KSK", "-K", key_directory, origin], key_directory).strip()
    run_tool(["dnssec-keygen", "-q", "-a", DNSSEC_ALGORITHM, "-K", key_directory, origin], key_directory)
    run_tool(
        [
            "dnssec-signzone", "-q", "-S", "-K", key_directory, "-d", key_directory, "-o", origin, "-N", "keep",
            "-e", "now+%d" % SIGNATURE_VALIDITY_SECONDS, "-f", signed_path, zone_path,
        ],
        key_directory,
    )
    ksk_file = os.path.join(key_directory, ksk + ".key")
    ds = run_tool(["dnssec-dsfromkey", "-2", ksk_file], key_directory).strip()
    return TrustAnchor(zone=origin, dnskey=_read_key_record(ksk_file), ds=ds)


def unrelated_anchor(origin):
    """A trust anchor for ``origin`` whose key signed nothing: validation against it fails (bogus)."""
    origin = absolute(origin)
    # An ECDSA P-256 public key is 64 octets; random ones match no signature.
    key = base64.b64encode(secrets.token_bytes(64)).decode("ascii")
    return TrustAnchor(zone=origin, dnskey="%s IN DNSKEY 257 3 13 %s" % (origin, key), ds="")

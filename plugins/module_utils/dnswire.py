# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DNS wire format of a stub resolver's queries and the answers it reads (RFC 1035 4, RFC 6891).

Private to the collection: users may rely only on plugins and modules.

Why not dnspython's messages: verifying 1,000 domains sends about 10,000 queries in one call, and
building, encoding and decoding one message with ``dns.message`` costs about 200 us of CPU here
(measured: 44 + 42 + 122 us), over 1.5 s for the lot. This module does the same in about 15 us:
it encodes only queries (one question, an OPT record) and decodes the record types the verifiers
read (A, AAAA, CNAME, DNAME, NS, PTR, MX, TXT, SOA, SRV, CAA, TLSA). Other types keep their raw
RDATA; ``resolver`` shows them through dnspython when it is installed. Every read is bounds-checked
and compression pointers may only point backwards, so a hostile answer raises ``WireError``, never
loops or reads past the end.
"""

from __future__ import annotations

import re
import socket
import struct

from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError

try:
    import idna as _idna

    HAS_IDNA = True
except ImportError:  # pragma: no cover - exercised only without the package
    _idna = None
    HAS_IDNA = False

TYPES = {
    "A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33,
    "DNAME": 39, "OPT": 41, "DS": 43, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48, "NSEC3": 50, "TLSA": 52,
    "SVCB": 64, "HTTPS": 65, "SPF": 99, "ANY": 255, "CAA": 257,
}
TYPE_NAMES = {code: name for name, code in TYPES.items()}
RCODES = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 16: "BADVERS",
}
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
CLASS_IN = 1

# Header flags (RFC 1035 4.1.1, RFC 4035 3.2).
QR = 0x8000
AA = 0x0400
TC = 0x0200
RD = 0x0100
RA = 0x0080
AD = 0x0020
CD = 0x0010
DO = 0x8000  # in the OPT record's TTL field (RFC 3225)

# DNS flag day 2020: 1232 octets of UDP payload avoids IP fragmentation on every common path.
EDNS_PAYLOAD = 1232
MAX_NAME_OCTETS = 255
MAX_LABEL_OCTETS = 63
_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHIH")
_U16 = struct.Struct("!H")
_TWO_U16 = struct.Struct("!HH")
_SOA_NUMBERS = struct.Struct("!IIIII")
_SRV_NUMBERS = struct.Struct("!HHH")
# Octets a label may show as themselves in presentation form; others become \DDD (RFC 4343 2.1).
_PLAIN_LABEL_OCTETS = frozenset(range(0x21, 0x7F)) - {ord("."), ord("\\"), ord('"'), ord("("), ord(")"), ord(";"), ord("@"), ord("$")}


_SPECIAL_OCTET = re.compile(rb'[^\x21-\x7e]|[.\\"();@$]')
_ASCII_NAME = re.compile(r"^(?:[\x21-\x2d\x2f-\x7e]{1,63}\.)*[\x21-\x2d\x2f-\x7e]{1,63}$")


class WireError(MailsecError, ValueError):
    """A DNS message that cannot be read (truncated, a bad pointer, RDATA of the wrong length)."""


def type_code(rtype):
    """The numeric RR type of ``"TXT"``, ``"type65"`` or ``16``."""
    if isinstance(rtype, int) and not isinstance(rtype, bool):
        if 0 <= rtype <= 0xFFFF:
            return rtype
        raise ValueError("record type %d is out of range" % rtype)
    text = str(rtype).strip().upper()
    if text in TYPES:
        return TYPES[text]
    if text.startswith("TYPE") and text[4:].isdigit() and int(text[4:]) <= 0xFFFF:
        return int(text[4:])  # RFC 3597 5
    raise ValueError("unknown record type %r" % (rtype,))


def type_name(code):
    """``"TXT"`` for 16, ``"TYPE65534"`` for a type this module has no name for."""
    return TYPE_NAMES.get(code, "TYPE%d" % code)


def rcode_name(code):
    return RCODES.get(code, "RCODE%d" % code)


def _label_octets(label):
    if label.isascii():
        return label.encode("ascii")
    if HAS_IDNA:
        try:
            return _idna.encode(label, uts46=True)
        except _idna.IDNAError as exc:
            raise WireError("label %r is not a valid internationalized label: %s" % (label, exc))
    return label.encode("idna")  # pragma: no cover - IDNA 2003 without the idna package


def encode_name(name):
    """``mail.example.com`` (trailing dot optional) as wire-format labels; non-ASCII labels as A-labels."""
    text = name[:-1] if name.endswith(".") else name
    if not text:
        return b"\x00"
    if text.isascii():
        labels = text.encode("ascii").split(b".")
    else:
        labels = [_label_octets(label) for label in text.split(".")]
    parts = []
    for octets in labels:
        if not octets:
            raise WireError("name %r has an empty label" % name)
        if len(octets) > MAX_LABEL_OCTETS:
            raise WireError("name %r has a label longer than %d octets" % (name, MAX_LABEL_OCTETS))
        parts.append(bytes((len(octets),)))
        parts.append(octets)
    parts.append(b"\x00")
    wire = b"".join(parts)
    if len(wire) > MAX_NAME_OCTETS:
        raise WireError("name %r is longer than %d octets" % (name, MAX_NAME_OCTETS))
    return wire


def normalize_name(name):
    """``name`` as the text ``read_name`` gives back for it: lower-case A-labels, no trailing dot.

    Raises WireError for a name that cannot be sent (empty label, too long, bad IDNA).
    """
    text = str(name).strip()
    if text.endswith("."):
        text = text[:-1]
    if not text:
        return ""
    if len(text) <= MAX_NAME_OCTETS - 2 and _ASCII_NAME.match(text):
        return text.lower()
    encode_name(text)  # says what is wrong, or passes an internationalized name
    return ".".join(_label_octets(label).decode("ascii").lower() for label in text.split("."))


def encode_query(query_id, name, rtype, recursion_desired=True, authenticated_data=True, checking_disabled=False,
                 dnssec_ok=False, payload=EDNS_PAYLOAD):
    """One query message: the question and an EDNS(0) OPT record announcing ``payload`` octets.

    ``authenticated_data`` sets AD in the query, which asks a validating resolver to report AD in
    its answer without the DO bit (RFC 6840 5.7), so answers stay small; ``dnssec_ok`` sets DO.
    """
    flags = (RD if recursion_desired else 0) | (AD if authenticated_data else 0) | (CD if checking_disabled else 0)
    header = _HEADER.pack(query_id & 0xFFFF, flags, 1, 0, 0, 1)
    question = encode_name(name) + _TWO_U16.pack(type_code(rtype), CLASS_IN)
    # OPT: root owner, TYPE 41, CLASS = payload size, TTL = extended rcode, version 0, flags (DO).
    opt = b"\x00" + struct.pack("!HHBBHH", TYPES["OPT"], payload, 0, 0, DO if dnssec_ok else 0, 0)
    return header + question + opt


def _label_text(octets):
    if _SPECIAL_OCTET.search(octets) is None:
        return octets.decode("ascii").lower()
    return "".join(chr(octet).lower() if octet in _PLAIN_LABEL_OCTETS else "\\%03d" % octet for octet in octets)


def read_name(wire, offset, names=None):
    """``(name, next_offset)``: the name at ``offset`` in lower case, without the trailing dot.

    Follows compression pointers (RFC 1035 4.1.4), each of which must point before the label that
    holds it, so no message can make this loop. ``names``: a dict kept for one message, where the
    names read so far are remembered by offset; a pointer to one of them (most point to the
    question) takes it from there instead of decoding its labels again.
    """
    labels = []
    end = None
    start = limit = offset
    total = 1
    size = len(wire)
    while True:
        if offset >= size:
            raise WireError("name runs past the end of the message")
        length = wire[offset]
        if length == 0:
            offset += 1
            break
        kind = length & 0xC0
        if kind == 0xC0:
            if offset + 1 >= size:
                raise WireError("compression pointer runs past the end of the message")
            target = ((length & 0x3F) << 8) | wire[offset + 1]
            if end is None:
                end = offset + 2
            if target >= limit:
                raise WireError("compression pointer at offset %d does not point backwards" % offset)
            known = names.get(target) if names is not None else None
            if known is not None:
                total += known[1] - 1
                if total > MAX_NAME_OCTETS:
                    raise WireError("name is longer than %d octets" % MAX_NAME_OCTETS)
                if known[0]:
                    labels.append(known[0])
                break
            offset = limit = target
            continue
        if kind:
            raise WireError("unknown label type 0x%02x at offset %d" % (kind, offset))
        label_start = offset + 1
        offset = label_start + length
        if offset > size:
            raise WireError("label runs past the end of the message")
        total += length + 1
        if total > MAX_NAME_OCTETS:
            raise WireError("name is longer than %d octets" % MAX_NAME_OCTETS)
        labels.append(_label_text(wire[label_start:offset]))
    name = ".".join(labels)
    if names is not None:
        names[start] = (name, total)
    return name, (end if end is not None else offset)


def _character_strings(rdata):
    strings = []
    offset = 0
    while offset < len(rdata):
        length = rdata[offset]
        end = offset + 1 + length
        if end > len(rdata):
            raise WireError("TXT character-string runs past its RDATA")
        strings.append(rdata[offset + 1:end])
        offset = end
    return tuple(strings)


def _rdata_name(wire, start, end, names=None):
    name, after = read_name(wire, start, names)
    if after != end:
        raise WireError("RDATA holds %d octets after its name" % (end - after))
    return name


def decode_rdata(wire, rtype, start, end, names=None):
    """The value of one record's RDATA (``wire[start:end]``), by type.

    A, AAAA: address text. CNAME, DNAME, NS, PTR: a name. MX: ``(preference, exchange)``.
    TXT: a tuple of the character-strings as bytes. SOA: ``(mname, rname, serial, refresh, retry,
    expire, minimum)``. SRV: ``(priority, weight, port, target)``. CAA: ``(flags, tag, value)``.
    TLSA: ``(usage, selector, matching_type, hex data)``. Anything else: the RDATA bytes.
    ``names``: see ``read_name``.
    """
    length = end - start
    if rtype == 16:
        return _character_strings(wire[start:end])
    if rtype == 1:
        if length != 4:
            raise WireError("A RDATA is %d octets, not 4" % length)
        return socket.inet_ntop(socket.AF_INET, wire[start:end])
    if rtype == 28:
        if length != 16:
            raise WireError("AAAA RDATA is %d octets, not 16" % length)
        return socket.inet_ntop(socket.AF_INET6, wire[start:end])
    if rtype in (2, 5, 12, 39):
        return _rdata_name(wire, start, end, names)
    if rtype == 15:
        if length < 3:
            raise WireError("MX RDATA is too short")
        return (_U16.unpack_from(wire, start)[0], _rdata_name(wire, start + 2, end, names))
    if rtype == 52:
        if length < 3:
            raise WireError("TLSA RDATA is too short")
        return (wire[start], wire[start + 1], wire[start + 2], wire[start + 3:end].hex())
    if rtype == 6:
        mname, offset = read_name(wire, start, names)
        rname, offset = read_name(wire, offset, names)
        if end - offset != _SOA_NUMBERS.size:
            raise WireError("SOA RDATA has %d octets of numbers, not 20" % (end - offset))
        return (mname, rname) + _SOA_NUMBERS.unpack_from(wire, offset)
    if rtype == 33:
        if length < 7:
            raise WireError("SRV RDATA is too short")
        return _SRV_NUMBERS.unpack_from(wire, start) + (_rdata_name(wire, start + 6, end, names),)
    if rtype == 257:
        if length < 2 or 2 + wire[start + 1] > length:
            raise WireError("CAA RDATA is malformed")
        tag_end = start + 2 + wire[start + 1]
        return (wire[start], wire[start + 2:tag_end].decode("ascii", "replace"), wire[tag_end:end].decode("utf-8", "replace"))
    return bytes(wire[start:end])


class Record:
    """One resource record of an answer: owner (lower case, no trailing dot), type, class, TTL, value."""

    __slots__ = ("owner", "rtype", "rclass", "ttl", "value")

    def __init__(self, owner, rtype, rclass, ttl, value):
        self.owner = owner
        self.rtype = rtype
        self.rclass = rclass
        self.ttl = ttl
        self.value = value

    def __repr__(self):
        return "Record(%r, %s, %d, %r)" % (self.owner, type_name(self.rtype), self.ttl, self.value)


class Message:
    """A decoded response: header fields, the question, and the answer and authority records."""

    __slots__ = ("id", "flags", "rcode", "question", "answer", "authority", "edns_payload", "dnssec_ok")

    def __init__(self, message_id, flags, rcode, question, answer, authority, edns_payload, dnssec_ok):
        self.id = message_id
        self.flags = flags
        self.rcode = rcode
        self.question = question
        self.answer = answer
        self.authority = authority
        self.edns_payload = edns_payload
        self.dnssec_ok = dnssec_ok

    @property
    def is_response(self):
        return bool(self.flags & QR)

    @property
    def truncated(self):
        return bool(self.flags & TC)

    @property
    def authenticated(self):
        return bool(self.flags & AD)

    @property
    def authoritative(self):
        return bool(self.flags & AA)

    @property
    def recursion_available(self):
        return bool(self.flags & RA)


def _read_records(wire, offset, count, keep, names):
    records = []
    size = len(wire)
    for _index in range(count):
        owner, offset = read_name(wire, offset, names)
        if offset + 10 > size:
            raise WireError("record header runs past the end of the message")
        rtype, rclass, ttl, rdlength = _RR_FIXED.unpack_from(wire, offset)
        start = offset + 10
        offset = start + rdlength
        if offset > size:
            raise WireError("RDATA runs past the end of the message")
        if keep:
            records.append(Record(owner, rtype, rclass, ttl, decode_rdata(wire, rtype, start, offset, names)))
        else:
            records.append(Record(owner, rtype, rclass, ttl, (start, offset)))
    return records, offset


def read_header(wire):
    """``(id, flags, qdcount, ancount, nscount, arcount)``, or WireError for fewer than 12 octets."""
    if len(wire) < _HEADER.size:
        raise WireError("message is %d octets, shorter than a DNS header" % len(wire))
    return _HEADER.unpack_from(wire, 0)


def decode_message(wire):
    """Decode a response. Additional records are read only for the OPT record (extended RCODE)."""
    message_id, flags, qdcount, ancount, nscount, arcount = read_header(wire)
    offset = _HEADER.size
    question = None
    names = {}
    for _index in range(qdcount):
        qname, offset = read_name(wire, offset, names)
        if offset + 4 > len(wire):
            raise WireError("question runs past the end of the message")
        qtype, qclass = _TWO_U16.unpack_from(wire, offset)
        offset += 4
        if question is None:
            question = (qname, qtype, qclass)
    answer, offset = _read_records(wire, offset, ancount, True, names)
    authority, offset = _read_records(wire, offset, nscount, True, names)
    additional, offset = _read_records(wire, offset, arcount, False, names)
    rcode = flags & 0x000F
    edns_payload = None
    dnssec_ok = False
    for record in additional:
        if record.rtype == TYPES["OPT"]:
            # The OPT record's class is the sender's payload size; its TTL holds the upper RCODE bits.
            edns_payload = record.rclass
            rcode |= (record.ttl >> 24) << 4
            dnssec_ok = bool((record.ttl & 0xFFFF) & DO)
            break
    return Message(message_id, flags, rcode, question, answer, authority, edns_payload, dnssec_ok)

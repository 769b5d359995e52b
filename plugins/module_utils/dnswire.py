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
read (A, AAAA, CNAME, DNAME, NS, PTR, MX, TXT, SOA, SRV, CAA, TLSA).

Names are octet strings: inside this module and ``resolver`` a name is its wire form (length-prefixed
labels ending in the root's zero octet), read from answers with ASCII letters in lower case (RFC 4343),
so any octet may sit in a label (``.``, ``\\``, a space, non-ASCII) and names compare as DNS compares
them. Text appears only at the edge: ``name_from_text`` reads RFC 1035 text (5.1: ``\\.``, ``\\\\``,
``\\DDD`` are octets; a label with non-ASCII characters becomes an A-label), ``name_to_text`` writes it.

What a message must be to be read is what dnspython (the reference, see
tests/unit/plugins/module_utils/test_dnswire_differential.py) asks, and a message that breaks it
raises ``WireError``, the only exception decoding raises: every read is bounds-checked, compression
pointers may only point backwards (so no message can make a read loop), names hold at most 255
octets, RDATA is exactly as long as its type says, nothing follows the last record, OPT appears
once, in the additional section, owned by the root; TSIG-signed and UPDATE messages are refused
(this resolver sends neither). Two things are read less than dnspython reads them, on purpose: the
RDATA of types this module does not decode is kept as it is (``Opaque``; ``resolver`` shows it
through dnspython), and EDNS options are checked for their framing only; an answer is not refused
for a part the verifiers never look at.
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
    "SVCB": 64, "HTTPS": 65, "SPF": 99, "TSIG": 250, "ANY": 255, "CAA": 257,
}
TYPE_NAMES = {code: name for name, code in TYPES.items()}
RCODES = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 16: "BADVERS",
}
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
CLASS_IN = 1
OPCODE_QUERY = 0
OPCODE_UPDATE = 5
ROOT = b"\x00"

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
MAX_POINTERS = 16  # compression pointers one name may follow (dnspython's bound; real names need two or three)
MAX_TTL = 0x7FFFFFFF  # RFC 2181 8: a TTL with the top bit set is read as 0
_OPT = 41
_TSIG = 250
# Types whose RDATA layout is defined for class IN only (RFC 1035 3.4, RFC 3596, RFC 2782); in
# another class they are opaque, as dnspython reads them.
_IN_ONLY_TYPES = frozenset((1, 28, 33))
_DECODED_TYPES = frozenset((1, 2, 5, 6, 12, 15, 16, 28, 33, 39, 52, 257))
_TLSA_DIGEST_OCTETS = {1: 32, 2: 64}  # matching types SHA-256, SHA-512
_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHIH")
_U16 = struct.Struct("!H")
_TWO_U16 = struct.Struct("!HH")
_SOA_NUMBERS = struct.Struct("!IIIII")
_SRV_NUMBERS = struct.Struct("!HHH")
# Octets a label may show as themselves in presentation form; others become \DDD (RFC 1035 5.1).
_PLAIN_LABEL_OCTETS = frozenset(range(0x21, 0x7F)) - {ord("."), ord("\\"), ord('"'), ord("("), ord(")"), ord(";"), ord("@"), ord("$")}
_SPECIAL_OCTET = re.compile(rb'[^\x21-\x7e]|[.\\"();@$]')
# Text names read as they are: ASCII without a backslash, labels of 1 to 63 characters, an optional final dot.
_PLAIN_TEXT_NAME = re.compile(r"(?:[\x20-\x2d\x2f-\x5b\x5d-\x7e]{1,63}\.)*[\x20-\x2d\x2f-\x5b\x5d-\x7e]{1,63}\.?\Z")
_LDH_TEXT_NAME = re.compile(r"(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?\Z")
# Label separators in text: the full stop, and those IDNA reads as one (RFC 3490 3.1).
_TEXT_DOTS = frozenset(".\u3002\uff0e\uff61")


class WireError(MailsecError, ValueError):
    """A DNS message that cannot be read (truncated, a bad pointer, RDATA of the wrong length),
    or a name that cannot be sent. The only exception this module raises for its input."""


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


# ---------------------------------------------------------------------------------------------
# Names: wire form inside, RFC 1035 text at the edge


def name_from_labels(labels):
    """The wire form of ``labels`` (octet strings, without the root's empty label)."""
    parts = []
    for octets in labels:
        if not octets:
            raise WireError("name %r has an empty label" % _shown(labels))
        if len(octets) > MAX_LABEL_OCTETS:
            raise WireError("name %r has a label longer than %d octets" % (_shown(labels), MAX_LABEL_OCTETS))
        parts.append(bytes((len(octets),)))
        parts.append(octets)
    parts.append(ROOT)
    wire = b"".join(parts)
    if len(wire) > MAX_NAME_OCTETS:
        raise WireError("name %r is longer than %d octets" % (_shown(labels), MAX_NAME_OCTETS))
    return wire


def _shown(labels):
    return ".".join(_label_text(bytes(label)) for label in labels)


def name_from_text(text):
    """The wire form of ``text``, a name in RFC 1035 text; the case of its letters is kept.

    Labels are separated by dots (a final dot is optional: every name here is absolute; ``.`` and
    ``""`` are the root). ``\\X`` is the character X itself, ``\\DDD`` the octet DDD; any other
    character stands for itself, spaces included. A label holding characters beyond ASCII becomes
    its A-label (IDNA 2008 with UTS 46 mapping). Raises WireError for a name that cannot be sent.
    """
    if _PLAIN_TEXT_NAME.match(text):
        if text[-1] == ".":
            text = text[:-1]
        wire = "".join([chr(len(label)) + label for label in text.split(".")]).encode("ascii") + ROOT
        if len(wire) > MAX_NAME_OCTETS:
            raise WireError("name %r is longer than %d octets" % (text, MAX_NAME_OCTETS))
        return wire
    if text in ("", "."):
        return ROOT
    return name_from_labels(_text_labels(text))


def _text_labels(text):
    """The labels of a name in text, as octets; see ``name_from_text``."""
    labels = []
    label = []  # characters, or ints for octets given as \DDD
    index = 0
    size = len(text)
    while index < size:
        char = text[index]
        index += 1
        if char == "\\":
            if index >= size:
                raise WireError("name %r ends inside an escape" % text)
            char = text[index]
            if "0" <= char <= "9":
                digits = text[index:index + 3]
                if len(digits) != 3 or not digits.isdigit() or not digits.isascii() or int(digits) > 255:
                    raise WireError("name %r has a bad \\DDD escape (three digits, at most 255)" % text)
                label.append(int(digits))
                index += 3
            else:
                label.append(char)
                index += 1
        elif char in _TEXT_DOTS:
            if not label:
                raise WireError("name %r has an empty label" % text)
            labels.append(_label_octets(label, text))
            label = []
        else:
            label.append(char)
    if label:
        labels.append(_label_octets(label, text))
    elif not labels:
        raise WireError("name %r has an empty label" % text)
    return labels


def _label_octets(label, text):
    if not any(isinstance(item, str) and not item.isascii() for item in label):
        return bytes(item if isinstance(item, int) else ord(item) for item in label)
    if any(isinstance(item, int) and item > 0x7F for item in label):
        raise WireError("name %r mixes characters beyond ASCII and \\DDD octets beyond ASCII in one label" % text)
    unicode_label = "".join(chr(item) if isinstance(item, int) else item for item in label)
    if not HAS_IDNA:  # pragma: no cover - IDNA 2003 without the idna package
        try:
            return unicode_label.encode("idna")
        except UnicodeError as exc:
            raise WireError("label %r is not a valid internationalized label: %s" % (unicode_label, exc))
    try:
        octets = _idna.encode(unicode_label, uts46=True)
    except (_idna.IDNAError, UnicodeError, ValueError) as exc:
        raise WireError("label %r is not a valid internationalized label: %s" % (unicode_label, exc))
    if b"." in octets or not octets:
        raise WireError("label %r is not one internationalized label" % unicode_label)
    return octets


def _label_text(octets):
    if _SPECIAL_OCTET.search(octets) is None:
        return octets.decode("ascii")
    return "".join(chr(octet) if octet in _PLAIN_LABEL_OCTETS else "\\%03d" % octet for octet in octets)


def name_labels(wire):
    """The labels of a wire-form name (``name_from_text``'s or ``read_name``'s), root excluded."""
    labels = []
    offset = 0
    length = wire[0]
    while length:
        labels.append(wire[offset + 1:offset + 1 + length])
        offset += 1 + length
        length = wire[offset]
    return labels


def name_to_text(wire):
    """A wire-form name in RFC 1035 text without the final dot (``""`` for the root): octets other
    than letters, digits and unremarkable punctuation as ``\\DDD``, so ``name_from_text`` reads it back."""
    return ".".join([_label_text(label) for label in name_labels(wire)])


def lowered_text(text, wire):
    """``name_to_text(wire)`` for ``wire = name_from_text(text).lower()``, taken from ``text`` itself
    when it holds only letters, digits, hyphens and underscores (most names: no label to walk)."""
    if _LDH_TEXT_NAME.match(text):
        return (text[:-1] if text[-1] == "." else text).lower()
    return name_to_text(wire)


def encode_name(name):
    """``name`` (text, see ``name_from_text``) as wire-format labels."""
    return name_from_text(name)


def normalize_name(name):
    """``name`` as the text ``name_to_text`` gives for it from an answer: letters in lower case, no final dot.

    Raises WireError for a name that cannot be sent (empty label, too long, bad IDNA).
    """
    return name_to_text(name_from_text(str(name).strip()).lower())


def encode_query(query_id, name, rtype, recursion_desired=True, authenticated_data=True, checking_disabled=False,
                 dnssec_ok=False, payload=EDNS_PAYLOAD):
    """One query message: the question and an EDNS(0) OPT record announcing ``payload`` octets.

    ``name``: a wire-form name (bytes) or text (``name_from_text``). ``authenticated_data`` sets AD
    in the query, which asks a validating resolver to report AD in its answer without the DO bit
    (RFC 6840 5.7), so answers stay small; ``dnssec_ok`` sets DO.
    """
    flags = (RD if recursion_desired else 0) | (AD if authenticated_data else 0) | (CD if checking_disabled else 0)
    header = _HEADER.pack(query_id & 0xFFFF, flags, 1, 0, 0, 1)
    wire_name = name if isinstance(name, bytes) else name_from_text(name)
    question = wire_name + _TWO_U16.pack(type_code(rtype), CLASS_IN)
    # OPT: root owner, TYPE 41, CLASS = payload size, TTL = extended rcode, version 0, flags (DO).
    opt = ROOT + struct.pack("!HHBBHH", _OPT, payload, 0, 0, DO if dnssec_ok else 0, 0)
    return header + question + opt


def read_name(wire, offset, names=None, end=None):
    """``(name, next_offset)``: the name at ``offset`` in wire form, its ASCII letters in lower case.

    Follows compression pointers (RFC 1035 4.1.4) as dnspython does: each points before the part
    of the name that holds it, and what it points to lies wholly before that part, so no message
    can make a read loop; at most ``MAX_POINTERS`` of them in one name. ``names``: a dict kept for
    one message, where the names read so far are remembered by offset; a pointer to one of them
    (most point to the question) takes it from there instead of reading it again.
    ``end``: where the name's labels must stop (a record's RDATA), else the end of the message.
    """
    parts = []
    after = None
    run = start = offset  # run: where the part being read began
    before = 0  # octets in ``parts``
    hops = 0
    size = len(wire) if end is None else end
    while True:
        if offset >= size:
            raise WireError("name at offset %d runs past the end of %s" % (start, "the message" if run == start else "what its pointer may reach"))
        length = wire[offset]
        if length == 0:
            offset += 1
            parts.append(wire[run:offset])
            break
        if length >= 0xC0:
            if offset + 1 >= size:
                raise WireError("compression pointer at offset %d runs past the end of the message" % offset)
            target = ((length & 0x3F) << 8) | wire[offset + 1]
            if after is None:
                after = offset + 2
            if target >= run:
                raise WireError("compression pointer at offset %d does not point backwards" % offset)
            hops += 1
            if offset > run:
                parts.append(wire[run:offset])
                before += offset - run
            known = names.get(target) if names is not None else None
            if known is not None:
                known_name, known_end, known_hops = known
                if known_end > run:
                    raise WireError("compression pointer at offset %d points to a name that overlaps it" % offset)
                hops += known_hops
                if hops > MAX_POINTERS:
                    raise WireError("name at offset %d follows more than %d compression pointers" % (start, MAX_POINTERS))
                if before + len(known_name) > MAX_NAME_OCTETS:
                    raise WireError("name is longer than %d octets" % MAX_NAME_OCTETS)
                parts.append(known_name)
                break
            if hops > MAX_POINTERS:
                raise WireError("name at offset %d follows more than %d compression pointers" % (start, MAX_POINTERS))
            size = run  # the target must lie wholly before the part that points to it
            offset = run = target
            continue
        if length > MAX_LABEL_OCTETS:
            raise WireError("unknown label type 0x%02x at offset %d" % (length & 0xC0, offset))
        offset += length + 1
        if offset > size:
            raise WireError("label at offset %d runs past the end of %s"
                            % (offset - length - 1, "the message" if run == start else "what its pointer may reach"))
        if before + offset - run >= MAX_NAME_OCTETS:  # the root's octet is still to come
            raise WireError("name is longer than %d octets" % MAX_NAME_OCTETS)
    name = (parts[0] if len(parts) == 1 else b"".join(parts)).lower()
    next_offset = after if after is not None else offset
    if names is not None:
        names[start] = (name, next_offset, hops)
    return name, next_offset


# ---------------------------------------------------------------------------------------------
# RDATA


class Opaque(bytes):
    """The RDATA of a type this module does not decode, as it is; ``wire`` and ``offset`` say where
    it sits, so a reader can follow compression pointers inside it (``resolver`` uses dnspython)."""

    def __new__(cls, wire, start, end):
        value = super().__new__(cls, wire[start:end])
        value.wire = wire
        value.offset = start
        return value


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
    if not strings:
        raise WireError("TXT RDATA holds no character-string (RFC 1035 3.3.14: one or more)")
    return tuple(strings)


def _rdata_name(wire, start, end, names=None):
    name, after = read_name(wire, start, names, end)
    if after != end:
        raise WireError("RDATA holds %d octets after its name" % (end - after))
    return name


def _options(wire, start, end):
    """The EDNS options of an OPT record's RDATA, ``((code, data), ...)`` (RFC 6891 6.1.2)."""
    options = []
    offset = start
    while offset < end:
        if offset + 4 > end:
            raise WireError("EDNS option header runs past the OPT RDATA")
        code, length = _TWO_U16.unpack_from(wire, offset)
        offset += 4 + length
        if offset > end:
            raise WireError("EDNS option %d runs past the OPT RDATA" % code)
        options.append((code, bytes(wire[offset - length:offset])))
    return tuple(options)


def decode_rdata(wire, rtype, start, end, names=None, rclass=CLASS_IN):
    """The value of one record's RDATA (``wire[start:end]``), by type.

    A, AAAA: address text. CNAME, DNAME, NS, PTR: a wire-form name. MX: ``(preference, exchange)``.
    TXT: a tuple of the character-strings as bytes. SOA: ``(mname, rname, serial, refresh, retry,
    expire, minimum)``. SRV: ``(priority, weight, port, target)``. CAA: ``(flags, tag, value)`` with
    the tag as text and the value as bytes. TLSA: ``(usage, selector, matching_type, hex data)``.
    OPT: its options. Anything else (and A, AAAA, SRV outside class IN): ``Opaque``.
    ``names``: see ``read_name``. No name runs past its RDATA.
    """
    length = end - start
    if rtype == 16:
        return _character_strings(wire[start:end])
    if rtype in _IN_ONLY_TYPES and rclass != CLASS_IN:
        return Opaque(wire, start, end)
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
        digest_octets = _TLSA_DIGEST_OCTETS.get(wire[start + 2])
        if digest_octets is not None and length - 3 != digest_octets:
            raise WireError("TLSA data is %d octets, not the %d of its matching type %d (RFC 6698 2.1.3)"
                            % (length - 3, digest_octets, wire[start + 2]))
        return (wire[start], wire[start + 1], wire[start + 2], wire[start + 3:end].hex())
    if rtype == 6:
        mname, offset = read_name(wire, start, names, end)
        rname, offset = read_name(wire, offset, names, end)
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
        tag = wire[start + 2:tag_end]
        if not tag.isalnum():  # RFC 8659 4.1: one or more ASCII letters and digits
            raise WireError("CAA tag %r is not letters and digits" % tag)
        return (wire[start], tag.decode("ascii"), bytes(wire[tag_end:end]))
    if rtype == _OPT:
        return _options(wire, start, end)
    if rtype == _TSIG:
        raise WireError("the message is TSIG-signed: this resolver signs no queries and has no key to check it")
    return Opaque(wire, start, end)


class Record:
    """One resource record of an answer: owner (wire form, lower case), type, class, TTL, value."""

    __slots__ = ("owner", "rtype", "rclass", "ttl", "value")

    def __init__(self, owner, rtype, rclass, ttl, value):
        self.owner = owner
        self.rtype = rtype
        self.rclass = rclass
        self.ttl = ttl
        self.value = value

    def __repr__(self):
        return "Record(%r, %s, %d, %r)" % (name_to_text(self.owner), type_name(self.rtype), self.ttl, self.value)


class Message:
    """A decoded response: header fields, the question, and the records of its three sections."""

    __slots__ = ("id", "flags", "rcode", "question", "answer", "authority", "additional", "edns_payload", "dnssec_ok")

    def __init__(self, message_id, flags, rcode, question, answer, authority, edns_payload, dnssec_ok, additional=()):
        self.id = message_id
        self.flags = flags
        self.rcode = rcode
        self.question = question
        self.answer = answer
        self.authority = authority
        self.additional = additional
        self.edns_payload = edns_payload
        self.dnssec_ok = dnssec_ok

    @property
    def opcode(self):
        return (self.flags >> 11) & 0x0F

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


def _read_records(wire, offset, count, names, additional=False):
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
        if rtype == _OPT or rtype == _TSIG:
            if not additional:
                raise WireError("%s record outside the additional section" % type_name(rtype))
            if rtype == _OPT and (owner != ROOT or any(record.rtype == _OPT for record in records)):
                raise WireError("OPT record that is not the only one or not owned by the root (RFC 6891 6.1.1)")
        elif ttl > MAX_TTL:
            ttl = 0
        records.append(Record(owner, rtype, rclass, ttl, decode_rdata(wire, rtype, start, offset, names, rclass)))
    return records, offset


def read_header(wire):
    """``(id, flags, qdcount, ancount, nscount, arcount)``, or WireError for fewer than 12 octets."""
    if len(wire) < _HEADER.size:
        raise WireError("message is %d octets, shorter than a DNS header" % len(wire))
    return _HEADER.unpack_from(wire, 0)


def decode_message(wire):
    """Decode a response; raises WireError for a message that breaks the rules in this module's header."""
    message_id, flags, qdcount, ancount, nscount, arcount = read_header(wire)
    if (flags >> 11) & 0x0F == OPCODE_UPDATE:
        raise WireError("an UPDATE message (RFC 2136) is not the answer to a query")
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
    answer, offset = _read_records(wire, offset, ancount, names)
    authority, offset = _read_records(wire, offset, nscount, names)
    additional, offset = _read_records(wire, offset, arcount, names, additional=True)
    if offset != len(wire):
        raise WireError("%d octets follow the last record" % (len(wire) - offset))
    rcode = flags & 0x000F
    edns_payload = None
    dnssec_ok = False
    for record in additional:
        if record.rtype == _OPT:
            # The OPT record's class is the sender's payload size; its TTL holds the upper RCODE bits.
            edns_payload = record.rclass
            rcode |= (record.ttl >> 24) << 4
            dnssec_ok = bool((record.ttl & 0xFFFF) & DO)
            break
    return Message(message_id, flags, rcode, question, answer, authority, edns_payload, dnssec_ok, additional)

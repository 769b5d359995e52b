"""dnswire against dnspython, message by message: a generator of DNS messages (well-formed, odd and
broken) and the comparison of what the two codecs make of each.

Used by tests/unit/plugins/module_utils/test_dnswire_differential.py (a bounded sample in CI) and by
``tools/fuzz-dns`` (``make fuzz-dns``: a long run that prints its counts). A seeded ``random.Random``
makes every run reproducible from its seed.

The rule (issue 16): on a message both accept, the same header, question and records, names as
the same octets; on a message dnspython rejects, dnswire raises ``dnswire.WireError`` and nothing
else, within ``DECODE_SECONDS``. Where dnswire reads less than dnspython on purpose (see dnswire's
docstring) the outcome is counted under a documented reason, never as an agreement:

- ``opaque rdata``: dnspython rejects only the RDATA of records whose type dnswire keeps as
  ``Opaque`` (or EDNS option contents), and everything else agrees;
- ``update opcode``: dnswire refuses an UPDATE message that dnspython reads as one.
"""

from __future__ import annotations

import collections
import ipaddress
import random
import signal
import struct

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from ansible_collections.mailsec.posture.plugins.module_utils import dnswire

DECODE_SECONDS = 1.0

AGREE_ACCEPT = "agree: both read it, same content"
AGREE_REJECT = "agree: both reject it"
OPAQUE_RDATA = "documented: dnspython rejects RDATA (or EDNS option contents) dnswire keeps opaque"
UPDATE_OPCODE = "documented: dnswire refuses an UPDATE message"
DIFFERENT = "DISAGREE: both read it, different content"
ONLY_DNSWIRE = "DISAGREE: dnswire reads what dnspython rejects"
ONLY_DNSPYTHON = "DISAGREE: dnswire rejects what dnspython reads"
WRONG_ERROR = "DISAGREE: dnswire raised something other than WireError"
HANG = "DISAGREE: dnswire took longer than the bound"
DISAGREEMENTS = (DIFFERENT, ONLY_DNSWIRE, ONLY_DNSPYTHON, WRONG_ERROR, HANG)

QUERY_AGREE = "query agree"
QUERY_AGREE_REJECT = "query agree: both refuse the name"
QUERY_DIFFERENT = "QUERY DISAGREE"

DECODED_TYPES = (1, 2, 5, 6, 12, 15, 16, 28, 33, 39, 52, 257)
# Types dnswire keeps opaque; some of them dnspython parses (and may reject), MINFO and RP carry names.
OPAQUE_TYPES = (13, 14, 17, 43, 46, 47, 48, 64, 99, 65280, 65534)
NAME_TYPES = (2, 5, 12, 39)
SPECIAL_OCTETS = b'.\\ "();@$%\x00\x7f\xff\xc0'


class _Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise _Hang()


class Bounded:
    """Run calls with a wall-clock bound (SIGALRM, so only from the main thread)."""

    def __enter__(self):
        self._previous = signal.signal(signal.SIGALRM, _alarm)
        return self

    def __exit__(self, *exc_info):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._previous)

    @staticmethod
    def call(function, *args):
        signal.setitimer(signal.ITIMER_REAL, DECODE_SECONDS)
        try:
            return function(*args)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)


# ---------------------------------------------------------------------------------------------
# Generating messages


class Writer:
    """A message written field by field, remembering where names, counts and RDATA lengths sit so
    the mutations can aim at them; names are compressed (pointing back to any earlier suffix) at will."""

    def __init__(self, rng, compress):
        self.rng = rng
        self.compress = compress
        self.data = bytearray()
        self.suffixes = {}  # tuple of labels -> offset
        self.label_offsets = []
        self.rdlength_offsets = []
        self.name_offsets = []

    def name(self, labels, compressible=True):
        self.name_offsets.append(len(self.data))
        for index in range(len(labels)):
            suffix = tuple(labels[index:])
            known = self.suffixes.get(suffix)
            if known is not None and compressible and self.compress and self.rng.random() < 0.8:
                self.data += struct.pack("!H", 0xC000 | known)
                return
            if len(self.data) < 0x3FFF:
                self.suffixes.setdefault(suffix, len(self.data))
            self.label_offsets.append(len(self.data))
            self.data.append(len(labels[index]) & 0xFF)
            self.data += labels[index]
        self.data.append(0)

    def u8(self, value):
        self.data.append(value & 0xFF)

    def u16(self, value):
        self.data += struct.pack("!H", value & 0xFFFF)

    def u32(self, value):
        self.data += struct.pack("!I", value & 0xFFFFFFFF)

    def raw(self, data):
        self.data += data


class Generator:
    """Seeded DNS messages: ``message()`` a fresh one (mostly well-formed), ``mutated()`` one of
    those broken on purpose, ``query_text()`` a name in text for the query side."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    # ----- names --------------------------------------------------------------------------

    def label(self):
        rng = self.rng
        kind = rng.random()
        if kind < 0.45:
            size = rng.choice((1, 1, 2, 3, 4, 7, 10))
            return bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") for _count in range(size))
        if kind < 0.6:
            return bytes(rng.choice(b"abcXYZ09" + SPECIAL_OCTETS) for _count in range(rng.randint(1, 8)))
        if kind < 0.7:
            return "".join(rng.choice("äöüßéçñ日本語中文한국어") for _count in range(rng.randint(1, 5))).encode("utf-8")
        if kind < 0.8:
            return bytes(rng.getrandbits(8) for _count in range(rng.randint(1, 12)))
        if kind < 0.9:
            return b"x" * rng.choice((61, 62, 63))
        return rng.choice((b"mail", b"example", b"com", b"_dmarc", b"_25", b"_tcp", b"macro%percent  space%20url-space"))

    def labels(self, long=False):
        rng = self.rng
        if long or rng.random() < 0.05:
            # Near the 255-octet limit: 3 x 63 + one label of 59 to 62 (254 to 257 octets with the root).
            return [b"a" * 63, b"B" * 63, b"c" * 63, b"d" * rng.randint(59, 62)]
        if rng.random() < 0.03:
            return []
        return [self.label() for _count in range(rng.randint(1, 5))]

    def pool(self):
        """A few names that the message's records share, so compression has something to point at."""
        base = [self.label() for _count in range(self.rng.randint(1, 2))]
        names = [base]
        for _count in range(self.rng.randint(1, 4)):
            names.append([self.label()] + base if self.rng.random() < 0.7 else self.labels())
        return names

    def pick(self, names):
        return self.rng.choice(names) if self.rng.random() < 0.8 else self.labels()

    # ----- records ------------------------------------------------------------------------

    def rdata(self, writer, rtype, names):
        """Write one record's RDATA (after a placeholder RDLENGTH) and fill in its length."""
        rng = self.rng
        length_at = len(writer.data)
        writer.u16(0)
        start = len(writer.data)
        if rtype == 1:
            writer.raw(bytes(rng.getrandbits(8) for _count in range(4)))
        elif rtype == 28:
            writer.raw(bytes(rng.getrandbits(8) for _count in range(16)) if rng.random() < 0.7 else
                       ipaddress.IPv6Address("::ffff:192.0.2.%d" % rng.randint(0, 255)).packed)
        elif rtype in NAME_TYPES:
            writer.name(self.pick(names), compressible=rtype != 39)
        elif rtype == 15:
            writer.u16(rng.getrandbits(16))
            writer.name(self.pick(names))
        elif rtype == 16:
            for _count in range(rng.choice((1, 1, 2, 3, 5))):
                size = rng.choice((0, 1, 5, 30, 255, rng.randint(0, 255)))
                writer.u8(size)
                writer.raw(bytes(rng.getrandbits(8) for _count in range(size)))
        elif rtype == 6:
            writer.name(self.pick(names))
            writer.name(self.pick(names))
            for _count in range(5):
                writer.u32(rng.getrandbits(32))
        elif rtype == 33:
            for _count in range(3):
                writer.u16(rng.getrandbits(16))
            writer.name(self.pick(names), compressible=False)
        elif rtype == 257:
            writer.u8(rng.choice((0, 128, rng.getrandbits(8))))
            tag = rng.choice((b"issue", b"issuewild", b"iodef", b"Tag9", b"", b"a-b", b"x y"))
            writer.u8(len(tag))
            writer.raw(tag)
            writer.raw(rng.choice((b"ca.example.net", b"", b'"quoted" \\ \xff', bytes(rng.getrandbits(8) for _count in range(5)))))
        elif rtype == 52:
            for _count in range(3):
                writer.u8(rng.choice((0, 1, 2, 3, 255)))
            writer.raw(bytes(rng.getrandbits(8) for _count in range(rng.choice((0, 20, 32, 64)))))
        elif rtype in (14, 17):  # MINFO, RP: two names, compressed by some servers
            writer.name(self.pick(names))
            writer.name(self.pick(names))
        elif rtype == 13:  # HINFO: two character-strings
            for text in (b"cpu", b"os")[:rng.randint(0, 2)]:
                writer.u8(len(text))
                writer.raw(text)
        else:
            writer.raw(bytes(rng.getrandbits(8) for _count in range(rng.choice((0, 1, 4, 18, 40)))))
        struct.pack_into("!H", writer.data, length_at, len(writer.data) - start)
        writer.rdlength_offsets.append(length_at)

    def record(self, writer, names):
        rng = self.rng
        writer.name(self.pick(names))
        rtype = rng.choice(DECODED_TYPES) if rng.random() < 0.85 else rng.choice(OPAQUE_TYPES)
        rclass = 1 if rng.random() < 0.9 else rng.choice((3, 4, 254, 255, rng.getrandbits(16)))
        ttl = rng.choice((0, 60, 3600, 0x7FFFFFFF, 0x80000000, rng.getrandbits(32)))
        writer.u16(rtype)
        writer.u16(rclass)
        writer.u32(ttl)
        self.rdata(writer, rtype, names)

    def opt(self, writer):
        rng = self.rng
        writer.name([] if rng.random() < 0.95 else [b"x"])
        writer.u16(41)
        writer.u16(rng.choice((512, 1232, 4096, 65535, rng.getrandbits(16))))
        writer.u8(rng.choice((0, 0, 0, 1, 255)))  # extended RCODE
        writer.u8(rng.choice((0, 0, 1)))  # version
        writer.u16(rng.choice((0, 0x8000, rng.getrandbits(16))))
        length_at = len(writer.data)
        writer.u16(0)
        start = len(writer.data)
        for _count in range(rng.choice((0, 0, 1, 2))):
            code = rng.choice((3, 8, 10, 12, 15, 65001))
            data = {3: b"ns1", 8: b"\x00\x01\x18\x00\xc0\x00\x02", 10: bytes(8), 12: bytes(rng.randint(0, 6)),
                    15: b"\x00\x06blocked"}[code] if code != 65001 else bytes(rng.getrandbits(8) for _count in range(3))
            if rng.random() < 0.2:
                data = bytes(rng.getrandbits(8) for _count in range(rng.randint(0, 9)))
            writer.u16(code)
            writer.u16(len(data))
            writer.raw(data)
        struct.pack_into("!H", writer.data, length_at, len(writer.data) - start)
        writer.rdlength_offsets.append(length_at)

    def message(self):
        """``(wire, writer)``: a message made field by field, or by dnspython now and then."""
        rng = self.rng
        if rng.random() < 0.1:
            return self._dnspython_message(), None
        writer = Writer(rng, compress=rng.random() < 0.8)
        names = self.pool()
        counts = [1 if rng.random() < 0.9 else rng.choice((0, 2)), rng.randint(0, 6), rng.randint(0, 3), rng.randint(0, 3)]
        flags = dnswire.QR if rng.random() < 0.95 else 0
        for bit in (dnswire.AA, dnswire.TC, dnswire.RD, dnswire.RA, dnswire.AD, dnswire.CD):
            if rng.random() < 0.3:
                flags |= bit
        if rng.random() < 0.05:
            flags |= rng.choice((1, 2, 4, 5, 15)) << 11  # opcode
        flags |= rng.choice((0, 0, 0, 0, 2, 3, 5, rng.getrandbits(4)))
        with_opt = rng.random() < 0.7
        with_tsig = rng.random() < 0.02
        writer.u16(rng.getrandbits(16))
        writer.u16(flags)
        count_at = len(writer.data)
        for count in counts:
            writer.u16(count)
        for _count in range(counts[0]):
            writer.name(names[0])
            writer.u16(rng.choice(DECODED_TYPES + (255,)))
            writer.u16(1)
        for section in (1, 2):
            for _count in range(counts[section]):
                if rng.random() < 0.01:
                    self.opt(writer)  # OPT where it may not be
                else:
                    self.record(writer, names)
        extra = counts[3]
        for _count in range(counts[3]):
            self.record(writer, names)
        if with_opt:
            self.opt(writer)
            extra += 1
            if rng.random() < 0.03:
                self.opt(writer)  # a second OPT: a FORMERR for both
                extra += 1
        if with_tsig:
            writer.name([b"key", b"example"])
            writer.u16(250)
            writer.u16(255)
            writer.u32(0)
            writer.u16(0)
            extra += 1
        struct.pack_into("!HHHH", writer.data, count_at, counts[0], counts[1], counts[2], extra)
        writer.count_at = count_at
        return bytes(writer.data), writer

    def _dnspython_message(self):
        rng = self.rng
        labels = [label[:20] for label in self.labels() if label][:3] or [b"a"]  # short enough for a target below it
        name = dns.name.Name(labels + [b""])
        qtype = rng.choice((1, 15, 16, 28, 52))
        query = dns.message.make_query(name, qtype, use_edns=0 if rng.random() < 0.7 else None)
        reply = dns.message.make_response(query)
        for _count in range(rng.randint(0, 4)):
            target = dns.name.Name([self.label()[:20]] + labels + [b""])
            rrset = reply.find_rrset(reply.answer, name, dns.rdataclass.IN, dns.rdatatype.MX, create=True)
            rrset.add(dns.rdata.from_text("IN", "MX", "%d %s" % (rng.getrandbits(16), target.to_text())), 300)
        rrset = reply.find_rrset(reply.authority, name, dns.rdataclass.IN, dns.rdatatype.SOA, create=True)
        rrset.add(dns.rdata.from_text("IN", "SOA", "%s %s 1 2 3 4 5" % (dns.name.Name([b"ns"] + labels + [b""]).to_text(), name.to_text())), 60)
        return reply.to_wire(max_size=65535)

    # ----- mutations ----------------------------------------------------------------------

    def mutated(self):
        """A generated message broken in one to three ways aimed at the codec's weak spots."""
        wire, writer = self.message()
        data = bytearray(wire)
        for _count in range(self.rng.choice((1, 1, 1, 2, 3))):
            data = self._mutate(data, writer)
        return bytes(data)

    def _mutate(self, data, writer):
        rng = self.rng
        if not data:
            return data
        choice = rng.random()
        if choice < 0.15:
            return data[:rng.randrange(len(data))]  # truncated anywhere
        if choice < 0.25:
            position = rng.randrange(len(data))
            data[position] = rng.getrandbits(8)
            return data
        if choice < 0.35 and len(data) >= 12:  # a count beyond (or short of) the message
            field = 4 + 2 * rng.randrange(4)
            struct.pack_into("!H", data, field, rng.choice((0, 1, 2, 7, 255, 0xFFFF, data[field + 1] + 1)))
            return data
        if choice < 0.5 and writer is not None and writer.rdlength_offsets:  # RDLENGTH overrun or underrun
            at = rng.choice(writer.rdlength_offsets)
            if at + 2 <= len(data):
                (value,) = struct.unpack_from("!H", data, at)
                struct.pack_into("!H", data, at, max(0, min(0xFFFF, value + rng.choice((-3, -1, 1, 2, 100, 0x8000)))))
            return data
        if choice < 0.62 and writer is not None and writer.label_offsets:  # label lengths: too long, label types 01/10, off by one
            at = rng.choice(writer.label_offsets)
            if at < len(data):
                data[at] = rng.choice((64, 65, 0x40 | rng.getrandbits(6), 0x80 | rng.getrandbits(6), min(63, data[at] + 1), max(0, data[at] - 1)))
            return data
        if choice < 0.8 and writer is not None and writer.name_offsets:  # compression pointers: forward, to itself, loops, anywhere
            at = rng.choice(writer.name_offsets)
            if at + 2 <= len(data):
                target = rng.choice((at, at + 2, at + rng.randint(1, 40), rng.randrange(max(1, at)), rng.randrange(len(data)),
                                     12, 0x3FFF, len(data)))
                struct.pack_into("!H", data, at, 0xC000 | (target & 0x3FFF))
            return data
        if choice < 0.9:
            position = rng.randrange(len(data) + 1)
            if rng.random() < 0.5:
                return data[:position] + bytes(rng.getrandbits(8) for _count in range(rng.randint(1, 4))) + data[position:]
            return data[:position] + data[position + rng.randint(1, 4):]
        return data + bytes(rng.getrandbits(8) for _count in range(rng.randint(1, 3)))  # trailing octets

    def garbage(self):
        rng = self.rng
        header = struct.pack("!HHHHHH", rng.getrandbits(16), rng.getrandbits(16) | dnswire.QR, *(rng.randint(0, 3) for _count in range(4)))
        return header + bytes(rng.getrandbits(8) for _count in range(rng.randint(0, 60)))

    # ----- query names --------------------------------------------------------------------

    def query_text(self):
        """``(text, oracle)``: a name as text, and how dnspython should read it (``bytes``: RFC 1035
        text, escapes as octets; ``unicode``: IDNA 2008 with UTS 46 mapping)."""
        rng = self.rng
        kind = rng.random()
        if kind < 0.5:
            labels = [label for label in self.labels() if label]
            text = ".".join(_escaped(label) for label in labels) + ("." if rng.random() < 0.5 else "") if labels else "."
            return text, "bytes"
        if kind < 0.65:
            parts = ["".join(rng.choice("aAzZ09-_ %") for _count in range(rng.randint(1, 6))) for _count in range(rng.randint(1, 4))]
            return ".".join(parts), "bytes"
        if kind < 0.8:
            pieces = ["a", "b", ".", "\\", "\\0", "\\25", "\\256", "\\999", "\\065", "\\.", "\\\\", "..", "x" * 64, " ", "1"]
            text = "".join(rng.choice(pieces) for _count in range(rng.randint(1, 8)))
            return (text if text != "@" else "a"), "bytes"
        labels = []
        for _count in range(rng.randint(1, 3)):
            labels.append("".join(rng.choice("aZ9-äöüßÉçñ日本語한국ΣσςⅫﬁ") for _count in range(rng.randint(1, 6))))
        separator = rng.choice((".", ".", "\u3002", "\uff0e"))
        return separator.join(labels) + rng.choice(("", ".")), "unicode"


def _escaped(label):
    """A label in RFC 1035 text, escaped the way dnspython writes it (``\\.``, ``\\DDD``), not dnswire's way."""
    return "".join("\\" + chr(octet) if chr(octet) in '.\\"();@$' else chr(octet) if 0x20 < octet < 0x7F else "\\%03d" % octet
                   for octet in label)


# ---------------------------------------------------------------------------------------------
# Comparing


def _name_octets(name):
    return name.canonicalize().to_wire()


def _expected_value(rdata, rtype, rclass):
    """What dnswire's ``decode_rdata`` gives for a record dnspython read, or None for an opaque one."""
    if rtype not in DECODED_TYPES or (rtype in (1, 28, 33) and rclass != 1):
        return None
    if rtype in (1, 28):
        return ipaddress.ip_address(rdata.address).packed
    if rtype in NAME_TYPES:
        return _name_octets(rdata.target)
    if rtype == 15:
        return (rdata.preference, _name_octets(rdata.exchange))
    if rtype == 16:
        return tuple(rdata.strings)
    if rtype == 6:
        return (_name_octets(rdata.mname), _name_octets(rdata.rname), rdata.serial, rdata.refresh, rdata.retry, rdata.expire, rdata.minimum)
    if rtype == 33:
        return (rdata.priority, rdata.weight, rdata.port, _name_octets(rdata.target))
    if rtype == 257:
        return (rdata.flags, rdata.tag.decode("ascii"), rdata.value)
    return (rdata.usage, rdata.selector, rdata.mtype, rdata.cert.hex())  # TLSA


def _mine(record):
    value = record.value
    if record.rtype in (1, 28) and not isinstance(value, dnswire.Opaque):
        value = ipaddress.ip_address(value).packed
    return value


def _same_record(mine, rrset, rdata):
    if (mine.owner, mine.rtype, mine.rclass, mine.ttl) != (_name_octets(rrset.name), rrset.rdtype, rrset.rdclass, rrset.ttl):
        return False
    if isinstance(mine.value, dnswire.Opaque):
        # The same RDATA: dnspython reads it from where dnswire says it is (pointers resolve).
        try:
            theirs = dns.rdata.from_wire(mine.rclass, mine.rtype, mine.value.wire, mine.value.offset, len(mine.value))
        except Exception:  # pylint: disable=broad-exception-caught  # dnspython could not read the span dnswire gave
            return False
        return theirs == rdata
    return _mine(mine) == _expected_value(rdata, mine.rtype, mine.rclass)


def _records(message, section):
    return [(rrset, rdata) for rrset in section for rdata in rrset]


def _my_edns(message):
    for record in message.additional:
        if record.rtype == 41:
            return record
    return None


def compare_accepted(mine, theirs):
    """Empty when dnswire's Message and dnspython's agree, else what differs."""
    problems = []
    if (mine.id, mine.flags, mine.rcode) != (theirs.id, int(theirs.flags), theirs.rcode()):
        problems.append("header %r != %r" % ((mine.id, mine.flags, mine.rcode), (theirs.id, int(theirs.flags), theirs.rcode())))
    question = None
    if theirs.question:
        first = theirs.question[0]
        question = (_name_octets(first.name), first.rdtype, first.rdclass)
    if mine.question != question:
        problems.append("question %r != %r" % (mine.question, question))
    sections = (("answer", mine.answer, theirs.answer), ("authority", mine.authority, theirs.authority),
                ("additional", [record for record in mine.additional if record.rtype != 41], theirs.additional))
    for label, my_records, their_section in sections:
        their_records = _records(theirs, their_section)
        if len(my_records) != len(their_records):
            problems.append("%s: %d records != %d" % (label, len(my_records), len(their_records)))
            continue
        for index, (record, (rrset, rdata)) in enumerate(zip(my_records, their_records)):
            if not _same_record(record, rrset, rdata):
                problems.append("%s[%d]: %r != %s" % (label, index, record, rrset.to_text()))
    opt = _my_edns(mine)
    if (opt is None) != (theirs.opt is None):
        problems.append("OPT %r != %r" % (opt, theirs.opt))
    elif opt is not None:
        if (mine.edns_payload, mine.dnssec_ok) != (theirs.opt[0].rdclass, bool(theirs.ednsflags & dns.flags.DO)):
            problems.append("EDNS payload/DO %r != %r" % ((mine.edns_payload, mine.dnssec_ok), (theirs.opt[0].rdclass, theirs.ednsflags)))
        their_options = [(int(option.otype), option.to_wire()) for option in theirs.options]
        if [code for code, _data in opt.value] != [code for code, _data in their_options]:
            problems.append("EDNS options %r != %r" % (opt.value, their_options))
        for (code, data), (_code, their_data), option in zip(opt.value, their_options, theirs.options):
            if isinstance(option, dns.edns.GenericOption) and data != their_data:
                problems.append("EDNS option %d %r != %r" % (code, data, their_data))
    return problems


def _opaque_only(mine, wire):
    """True when dnspython's only objections are to RDATA dnswire keeps opaque (or EDNS option contents)."""
    try:
        lenient = dns.message.from_wire(wire, one_rr_per_rrset=True, continue_on_error=True)
    except Exception:  # pylint: disable=broad-exception-caught
        return False
    errors = list(getattr(lenient, "errors", ()))
    dropped = 0
    for my_records, their_section in ((mine.answer, lenient.answer), (mine.authority, lenient.authority),
                                      ([record for record in mine.additional if record.rtype != 41], lenient.additional)):
        their_records = _records(lenient, their_section)
        position = 0
        for record in my_records:
            if position < len(their_records) and _same_record(record, *their_records[position]):
                position += 1
                continue
            if not isinstance(record.value, dnswire.Opaque):
                return False  # a record dnswire decodes went missing or differs
            dropped += 1
        if position != len(their_records):
            return False
    if _my_edns(mine) is not None and lenient.opt is None:
        dropped += 1  # dnspython objected to an option's contents
    return bool(errors) and dropped == len(errors)


def classify(wire):
    """``(outcome, detail)`` for one message; see the outcome constants."""
    try:
        mine = Bounded.call(dnswire.decode_message, wire)
        my_error = None
    except dnswire.WireError as exc:
        mine, my_error = None, exc
    except _Hang:
        return HANG, "no result within %.1f s" % DECODE_SECONDS
    except Exception as exc:  # pylint: disable=broad-exception-caught  # what the test is looking for
        return WRONG_ERROR, "%s: %s" % (type(exc).__name__, exc)
    try:
        theirs = dns.message.from_wire(wire, one_rr_per_rrset=True)
        their_error = None
    except Exception as exc:  # pylint: disable=broad-exception-caught  # dnspython's verdict, whatever its kind
        theirs, their_error = None, exc
    if mine is not None and theirs is not None:
        problems = compare_accepted(mine, theirs)
        return (DIFFERENT, "; ".join(problems)) if problems else (AGREE_ACCEPT, "")
    if mine is None and theirs is None:
        return AGREE_REJECT, "dnswire: %s / dnspython: %s" % (my_error, type(their_error).__name__)
    if mine is None:
        if (wire[2] >> 3) & 0x0F == dnswire.OPCODE_UPDATE:
            return UPDATE_OPCODE, str(my_error)
        return ONLY_DNSPYTHON, "dnswire: %s" % my_error
    if _opaque_only(mine, wire):
        return OPAQUE_RDATA, "dnspython: %s: %s" % (type(their_error).__name__, their_error)
    return ONLY_DNSWIRE, "dnspython: %s: %s" % (type(their_error).__name__, their_error)


def classify_query(text, oracle, rng):
    """``(outcome, detail)`` for one query name: dnswire's reading of the text against dnspython's,
    and the query dnswire builds for it as dnspython reads it."""
    try:
        if oracle == "bytes":
            expected = dns.name.from_text(text.encode("ascii"))
        else:
            expected = dns.name.from_text(text, idna_codec=dns.name.IDNA_2008_Practical)
        expected_wire = expected.to_wire()
    except Exception:  # pylint: disable=broad-exception-caught  # dnspython refuses the name
        expected_wire = None
    try:
        mine = Bounded.call(dnswire.name_from_text, text)
    except dnswire.WireError:
        mine = None
    except Exception as exc:  # pylint: disable=broad-exception-caught
        return QUERY_DIFFERENT, "name_from_text(%r) raised %s: %s" % (text, type(exc).__name__, exc)
    if expected_wire is None or mine is None:
        if expected_wire is None and mine is None:
            return QUERY_AGREE_REJECT, ""
        return QUERY_DIFFERENT, "name %r: dnswire %r, dnspython %r" % (text, mine, expected_wire)
    if mine != expected_wire:
        return QUERY_DIFFERENT, "name %r: dnswire %r, dnspython %r" % (text, mine, expected_wire)
    shown = dnswire.name_to_text(mine)
    if dnswire.name_from_text(shown) != mine or dns.name.from_text(shown.encode("ascii")).to_wire() != mine:
        return QUERY_DIFFERENT, "name %r: its text %r does not read back as the same octets" % (text, shown)
    if dnswire.lowered_text(text, mine.lower()) != dnswire.name_to_text(mine.lower()):
        return QUERY_DIFFERENT, "name %r: lowered_text %r, not %r" % (text, dnswire.lowered_text(text, mine.lower()), dnswire.name_to_text(mine.lower()))
    message_id = rng.getrandbits(16)
    rtype = rng.choice((1, 15, 16, 28, 52, 65, 65534))
    dnssec = rng.random() < 0.5
    query = dns.message.from_wire(dnswire.encode_query(message_id, text, rtype, dnssec_ok=dnssec))
    question = query.question[0]
    got = (query.id, question.name.to_wire(), question.rdtype, question.rdclass, query.opcode(), bool(query.flags & dns.flags.QR),
           query.edns, bool(query.ednsflags & dns.flags.DO), len(query.question), len(query.answer))
    wanted = (message_id, mine, rtype, 1, dns.opcode.QUERY, False, 0, dnssec, 1, 0)
    if got != wanted:
        return QUERY_DIFFERENT, "query for %r: %r != %r" % (text, got, wanted)
    return QUERY_AGREE, ""


class Report:
    """Counts of outcomes and the first disagreements, with their messages in hex."""

    def __init__(self, keep=20):
        self.counts = collections.Counter()
        self.examples = []
        self.keep = keep
        self.messages = 0
        self.queries = 0

    def add(self, outcome, detail, wire=None):
        self.counts[outcome] += 1
        if (outcome in DISAGREEMENTS or outcome == QUERY_DIFFERENT) and len(self.examples) < self.keep:
            self.examples.append((outcome, detail, wire.hex() if wire is not None else ""))

    @property
    def disagreements(self):
        return sum(self.counts[outcome] for outcome in DISAGREEMENTS) + self.counts[QUERY_DIFFERENT]

    def lines(self):
        agreements = self.counts[AGREE_ACCEPT] + self.counts[AGREE_REJECT]
        rows = ["messages: %d" % self.messages, "agreements: %d" % agreements, "disagreements: %d" % self.disagreements]
        rows += ["  %s: %d" % (outcome, count) for outcome, count in sorted(self.counts.items())]
        rows.append("queries: %d" % self.queries)
        for outcome, detail, hexed in self.examples:
            rows.append("%s: %s%s" % (outcome, detail, "\n    message: " + hexed if hexed else ""))
        return rows


def run(seed, messages, queries, report=None):
    """Generate and compare ``messages`` messages (a third fresh, a tenth garbage, the rest
    mutated) and ``queries`` query names from ``seed``; returns the Report."""
    report = report or Report()
    generator = Generator(seed)
    with Bounded():
        for index in range(messages):
            pick = index % 10
            if pick < 3:
                wire, _writer = generator.message()
            elif pick == 3:
                wire = generator.garbage()
            else:
                wire = generator.mutated()
            outcome, detail = classify(wire)
            report.messages += 1
            report.add(outcome, detail, wire)
        for _index in range(queries):
            text, oracle = generator.query_text()
            outcome, detail = classify_query(text, oracle, generator.rng)
            report.queries += 1
            report.add(outcome, detail)
    return report


def main(argv=None):
    """``make fuzz-dns``: a long differential run; prints the counts, exits 1 on any disagreement."""
    import argparse  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel
    import time  # pylint: disable=import-outside-toplevel

    parser = argparse.ArgumentParser(description="dnswire against dnspython on generated and mutated DNS messages")
    parser.add_argument("--seed", type=int, default=None, help="default: from the clock (printed, to repeat a run)")
    parser.add_argument("--messages", type=int, default=200000)
    parser.add_argument("--queries", type=int, default=None, help="query names (default: a fifth of --messages)")
    parser.add_argument("--batch", type=int, default=10000, help="messages per progress line")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time())
    queries = args.queries if args.queries is not None else args.messages // 5
    print("seed %d: %d messages, %d query names" % (seed, args.messages, queries), flush=True)
    began = time.monotonic()
    report = Report()
    done = 0
    batch = 0
    while done < args.messages or report.queries < queries:
        count = min(args.batch, args.messages - done)
        query_count = min(args.batch // 5 or 1, queries - report.queries)
        run(seed * 1000003 + batch, count, query_count, report)
        done += count
        batch += 1
        print("  %d messages, %d disagreements, %.0f s" % (report.messages, report.disagreements, time.monotonic() - began), flush=True)
    print("\n".join(report.lines()))
    print("seconds: %.1f" % (time.monotonic() - began))
    sys.exit(1 if report.disagreements else 0)


if __name__ == "__main__":
    main()

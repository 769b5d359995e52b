"""The stub resolver's wire codec, checked against dnspython as the reference implementation."""

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.mailsec.posture.plugins.module_utils import dnswire

from unit import scripted_dns


def wired(name):
    """A name as dnswire holds it: wire form, lower case."""
    return dnswire.name_from_text(name).lower()


def response(qname, qtype, answer=(), authority=(), rcode=dns.rcode.NOERROR, flags=0):
    """A response built and compressed by dnspython: ``answer`` holds (owner, type, rdata text) triples."""
    query = dns.message.make_query(qname, qtype, use_edns=0, payload=1232)
    return scripted_dns.reply(query, answer, authority, rcode, flags).to_wire()


def test_query_is_what_dnspython_reads():
    wire = dnswire.encode_query(0x1234, "_dmarc.Example.COM.", "TXT")
    query = dns.message.from_wire(wire)
    assert query.id == 0x1234
    assert query.question[0].name == dns.name.from_text("_dmarc.example.com.")
    assert query.question[0].rdtype == dns.rdatatype.TXT
    assert query.flags & dns.flags.RD and query.flags & dns.flags.AD
    assert not query.flags & dns.flags.QR
    assert query.edns == 0 and query.payload == 1232
    assert not query.ednsflags & dns.flags.DO


def test_query_with_dnssec_ok_and_no_recursion():
    query = dns.message.from_wire(dnswire.encode_query(7, "_25._tcp.mail.example.com", 52, recursion_desired=False, dnssec_ok=True))
    assert query.ednsflags & dns.flags.DO
    assert not query.flags & dns.flags.RD
    assert query.question[0].rdtype == dns.rdatatype.TLSA


def test_internationalized_name_is_sent_as_a_labels():
    query = dns.message.from_wire(dnswire.encode_query(1, "bücher.example", "MX"))
    assert query.question[0].name.to_text() == "xn--bcher-kva.example."
    assert dnswire.normalize_name("Bücher.Example.") == "xn--bcher-kva.example"


@pytest.mark.parametrize("name, problem", [
    ("a..example", "empty label"),
    ("x" * 64 + ".example", "longer than 63"),
    (".".join(["x" * 63] * 4) + ".example", "longer than 255"),
])
def test_names_that_cannot_be_sent(name, problem):
    with pytest.raises(dnswire.WireError, match=problem):
        dnswire.encode_name(name)
    with pytest.raises(dnswire.WireError):
        dnswire.normalize_name(name)


def test_longest_name_is_accepted():
    name = ".".join(["x" * 63] * 3 + ["y" * 61])  # 253 characters, 255 octets on the wire
    assert len(dnswire.encode_name(name)) == 255
    assert dnswire.normalize_name(name + ".") == name


def test_every_type_the_verifiers_read():
    wire = response("example.com.", "ANY", answer=[
        ("example.com.", "A", "192.0.2.1"),
        ("example.com.", "AAAA", "2001:db8::1"),
        ("example.com.", "MX", "10 Mail.Example.com."),
        ("example.com.", "TXT", '"v=spf1 " "mx -all"'),
        ("example.com.", "SOA", "ns1.example.com. hostmaster.example.com. 2026010101 3600 600 86400 300"),
        ("_25._tcp.mail.example.com.", "TLSA", "3 1 1 " + "AB" * 32),
        ("_sip._tcp.example.com.", "SRV", "10 60 5060 sip.example.com."),
        ("example.com.", "CAA", '0 issue "ca.example.net"'),
        ("www.example.com.", "CNAME", "example.com."),
        ("example.com.", "NS", "ns1.example.com."),
        ("example.com.", "HINFO", '"cpu" "os"'),
    ])
    message = dnswire.decode_message(wire)
    values = {(dnswire.name_to_text(record.owner), dnswire.type_name(record.rtype)): record.value for record in message.answer}
    assert values[("example.com", "A")] == "192.0.2.1"
    assert values[("example.com", "AAAA")] == "2001:db8::1"
    assert values[("example.com", "MX")] == (10, wired("mail.example.com"))
    assert values[("example.com", "TXT")] == (b"v=spf1 ", b"mx -all")
    assert values[("example.com", "SOA")] == (wired("ns1.example.com"), wired("hostmaster.example.com"), 2026010101, 3600, 600, 86400, 300)
    assert values[("_25._tcp.mail.example.com", "TLSA")] == (3, 1, 1, "ab" * 32)
    assert values[("_sip._tcp.example.com", "SRV")] == (10, 60, 5060, wired("sip.example.com"))
    assert values[("example.com", "CAA")] == (0, "issue", b"ca.example.net")
    assert values[("www.example.com", "CNAME")] == wired("example.com")
    assert values[("example.com", "NS")] == wired("ns1.example.com")
    assert values[("example.com", "TYPE13")] == b"\x03cpu\x02os"  # HINFO: kept raw
    assert isinstance(values[("example.com", "TYPE13")], dnswire.Opaque)
    assert message.question == (wired("example.com"), dnswire.TYPES["ANY"], 1)
    assert message.edns_payload == dns.message.from_wire(wire).payload


def test_header_flags_and_rcodes():
    message = dnswire.decode_message(response("x.example.", "TXT", rcode=dns.rcode.NXDOMAIN, flags=dns.flags.AD | dns.flags.AA))
    assert message.rcode == dnswire.NXDOMAIN
    assert message.is_response and message.authenticated and message.authoritative
    assert not message.truncated
    assert dnswire.rcode_name(message.rcode) == "NXDOMAIN"


def test_extended_rcode_comes_from_the_opt_record():
    query = dns.message.make_query("example.", "A", use_edns=0)
    reply = dns.message.make_response(query)
    reply.set_rcode(dns.rcode.BADVERS)  # 16: four bits in the header, the rest in OPT
    message = dnswire.decode_message(reply.to_wire())
    assert message.rcode == 16
    assert dnswire.rcode_name(message.rcode) == "BADVERS"


def test_labels_with_special_octets_are_escaped():
    wire = response("example.", "TXT", answer=[(r"a\.b\032c.example.", "TXT", '"x"')])
    owner = dnswire.decode_message(wire).answer[0].owner
    assert owner == b"\x05a.b c\x07example\x00"
    assert dnswire.name_to_text(owner) == "a\\046b\\032c.example"


@pytest.mark.parametrize("rtype, code", [("txt", 16), ("TLSA", 52), ("TYPE65534", 65534), (28, 28)])
def test_type_codes(rtype, code):
    assert dnswire.type_code(rtype) == code


@pytest.mark.parametrize("rtype", ["NOPE", "TYPE70000", 70000, ""])
def test_unknown_types_are_refused(rtype):
    with pytest.raises(ValueError):
        dnswire.type_code(rtype)


def test_every_truncation_is_a_wire_error():
    records = [("example.com.", "MX", "10 mail.example.com."), ("example.com.", "MX", "20 backup.example.com.")]
    wire = response("example.com.", "MX", answer=records, authority=[("example.com.", "NS", "ns.example.com.")])
    dnswire.decode_message(wire)
    for end in range(len(wire)):
        with pytest.raises(dnswire.WireError):
            dnswire.decode_message(wire[:end])


def _header(ancount=0):
    return bytes.fromhex("abcd8180") + (1).to_bytes(2, "big") + ancount.to_bytes(2, "big") + bytes(4)


def test_compression_pointer_to_itself_is_refused():
    wire = _header() + b"\xc0\x0c" + b"\x00\x01\x00\x01"
    with pytest.raises(dnswire.WireError, match="backwards"):
        dnswire.decode_message(wire)


def test_compression_pointer_loop_is_refused():
    # The answer's owner points back at the question, whose own pointer points forward to the answer.
    question = b"\x01a\xc0\x15" + b"\x00\x01\x00\x01"
    answer = b"\xc0\x0c" + b"\x00\x01\x00\x01" + bytes(4) + b"\x00\x04" + bytes(4)
    with pytest.raises(dnswire.WireError):
        dnswire.decode_message(_header(1) + question + answer)


def test_rdata_of_the_wrong_length_is_refused():
    question = b"\x07example\x00\x00\x01\x00\x01"
    answer = b"\xc0\x0c\x00\x01\x00\x01" + bytes(4) + b"\x00\x05" + bytes(5)  # an A record of 5 octets
    with pytest.raises(dnswire.WireError, match="not 4"):
        dnswire.decode_message(_header(1) + question + answer)


def test_mx_with_octets_after_its_name_is_refused():
    question = b"\x07example\x00\x00\x0f\x00\x01"
    rdata = b"\x00\x0a\xc0\x0c\x00"
    answer = b"\xc0\x0c\x00\x0f\x00\x01" + bytes(4) + len(rdata).to_bytes(2, "big") + rdata
    with pytest.raises(dnswire.WireError, match="after its name"):
        dnswire.decode_message(_header(1) + question + answer)


def test_txt_string_past_its_rdata_is_refused():
    question = b"\x07example\x00\x00\x10\x00\x01"
    rdata = b"\x09short"
    answer = b"\xc0\x0c\x00\x10\x00\x01" + bytes(4) + len(rdata).to_bytes(2, "big") + rdata
    with pytest.raises(dnswire.WireError, match="character-string"):
        dnswire.decode_message(_header(1) + question + answer)


LABELS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)
NAMES = st.lists(LABELS, min_size=1, max_size=5).map(".".join)
STRINGS = st.binary(max_size=255)


@settings(max_examples=150, deadline=None)
@given(owner=NAMES, strings=st.lists(STRINGS, min_size=1, max_size=4), targets=st.lists(NAMES, min_size=1, max_size=4))
def test_decoding_agrees_with_dnspython(owner, strings, targets):
    query = dns.message.make_query(owner + ".example.", "TXT", use_edns=0)
    reply = dns.message.make_response(query)
    rrset = reply.find_rrset(reply.answer, query.question[0].name, dns.rdataclass.IN, dns.rdatatype.TXT, create=True)
    rrset.add(dns.rdata.from_wire(dns.rdataclass.IN, dns.rdatatype.TXT, b"".join(bytes((len(s),)) + s for s in strings), 0,
                                  sum(len(s) + 1 for s in strings)))
    for preference, target in enumerate(targets):
        reply.answer.append(dns.rrset.from_text(owner + ".example.", 60, "IN", "MX", "%d %s.example." % (preference, target)))
    wire = reply.to_wire()
    mine = dnswire.decode_message(wire)
    reference = dns.message.from_wire(wire)
    expected = []
    for rrset in reference.answer:
        for rdata in rrset:
            if rrset.rdtype == dns.rdatatype.TXT:
                expected.append((rrset.name.canonicalize().to_wire(), 16, tuple(rdata.strings)))
            else:
                expected.append((rrset.name.canonicalize().to_wire(), 15, (rdata.preference, rdata.exchange.canonicalize().to_wire())))
    assert sorted((r.owner, r.rtype, r.value) for r in mine.answer) == sorted(expected)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_garbage_never_raises_anything_but_wire_error(data):
    try:
        dnswire.decode_message(data)
    except dnswire.WireError:
        pass


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0, max_value=200), value=st.integers(min_value=0, max_value=255))
def test_corrupted_answers_never_raise_anything_but_wire_error(position, value):
    records = [("example.com.", "MX", "10 mail.example.com."), ("example.com.", "TXT", '"v=spf1 -all"')]
    wire = bytearray(response("example.com.", "MX", answer=records))
    wire[position % len(wire)] = value
    try:
        dnswire.decode_message(bytes(wire))
    except dnswire.WireError:
        pass


def test_a_name_made_long_by_a_pointer_to_a_name_already_read_is_refused():
    # The question is the longest name there is (255 octets on the wire); the answer's owner is one
    # more label in front of a pointer to it, so the owner would be 259 octets.
    labels = [b"a" * 63, b"b" * 63, b"c" * 63, b"d" * 61]
    question = b"".join(bytes((len(label),)) + label for label in labels) + b"\x00" + b"\x00\x01\x00\x01"
    assert len(question) - 4 == 255
    answer = b"\x03www\xc0\x0c" + b"\x00\x01\x00\x01" + bytes(4) + b"\x00\x04" + bytes(4)
    with pytest.raises(dnswire.WireError, match="longer than 255"):
        dnswire.decode_message(_header(1) + question + answer)


def test_names_that_point_to_names_already_read_are_complete():
    records = [("example.com.", "MX", "10 mail.example.com."), ("example.com.", "MX", "20 mail.example.com.")]
    wire = response("example.com.", "MX", answer=records, authority=[("example.com.", "NS", "mail.example.com.")])
    message = dnswire.decode_message(wire)
    assert wire.count(b"\xc0") >= 4, "dnspython compressed the repeated names"
    assert sorted(record.value for record in message.answer) == [(10, wired("mail.example.com")), (20, wired("mail.example.com"))]
    assert [(record.owner, record.value) for record in message.authority] == [(wired("example.com"), wired("mail.example.com"))]

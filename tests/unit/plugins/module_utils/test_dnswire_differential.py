"""dnswire against dnspython as its oracle: a bounded sample of generated and mutated messages (the
long run is ``make fuzz-dns``), and one regression case for each difference the comparison found."""

import os
import struct

import dns.flags
import dns.message
import dns.name
import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import dnswire
from ansible_collections.mailsec.posture.plugins.module_utils import resolver as resolver_module

from unit import dns_differential
from unit.scripted_dns import reply

# A fixed seed keeps CI reproducible; MAILSEC_FUZZ_SEED picks another sample.
SEED = int(os.environ.get("MAILSEC_FUZZ_SEED", "16"))
SAMPLE_MESSAGES = 1500
SAMPLE_QUERIES = 300


def test_a_sample_of_messages_and_query_names_agrees():
    report = dns_differential.run(SEED, SAMPLE_MESSAGES, SAMPLE_QUERIES)
    print("\n".join(report.lines()))
    assert report.disagreements == 0, "\n".join(report.lines())
    assert report.messages == SAMPLE_MESSAGES and report.queries == SAMPLE_QUERIES
    # The sample reaches every kind of outcome it is meant to: messages both read, both reject, and
    # RDATA only dnspython reads; query names both read and both refuse.
    for outcome in (dns_differential.AGREE_ACCEPT, dns_differential.AGREE_REJECT, dns_differential.OPAQUE_RDATA,
                    dns_differential.QUERY_AGREE, dns_differential.QUERY_AGREE_REJECT):
        assert report.counts[outcome] >= 20, (outcome, report.counts)


@pytest.mark.parametrize("breakage, attribute, value, outcome", [
    ("TTLs with the top bit kept", "MAX_TTL", 0xFFFFFFFF, dns_differential.DIFFERENT),
    ("TLSA data of any length", "_TLSA_DIGEST_OCTETS", {}, dns_differential.ONLY_DNSWIRE),
])
def test_the_comparison_notices_a_broken_codec(monkeypatch, breakage, attribute, value, outcome):
    monkeypatch.setattr(dnswire, attribute, value)
    report = dns_differential.run(SEED, 300, 0)
    assert report.counts[outcome] > 0, breakage
    assert report.examples and report.examples[0][2], "a disagreement comes with its message in hex"


def test_a_hanging_decoder_is_reported_not_waited_for(monkeypatch):
    def forever(_wire):
        while True:
            pass

    monkeypatch.setattr(dns_differential, "DECODE_SECONDS", 0.05)
    monkeypatch.setattr(dnswire, "decode_message", forever)
    with dns_differential.Bounded():
        outcome, _detail = dns_differential.classify(bytes(12))
    assert outcome == dns_differential.HANG


def test_another_exception_than_wire_error_is_a_disagreement(monkeypatch):
    def broken(_wire):
        raise IndexError("index out of range")

    monkeypatch.setattr(dnswire, "decode_message", broken)
    with dns_differential.Bounded():
        outcome, detail = dns_differential.classify(bytes(12))
    assert outcome == dns_differential.WRONG_ERROR and "IndexError" in detail


# ---------------------------------------------------------------------------------------------
# What the comparison found, one case each (every one of them was read differently before)

HEADER = struct.Struct("!HHHHHH")


def message(answers=(), additional=(), question=b"\x07example\x00", qtype=16, flags=0x8180, counts=None, tail=b""):
    """A response to ``question``/``qtype`` with records given as (owner wire, type, class, ttl, rdata)."""
    def record(owner, rtype, rclass, ttl, rdata):
        return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata
    counts = counts or (1, len(answers), 0, len(additional))
    return (HEADER.pack(0x1234, flags, *counts) + question + struct.pack("!HH", qtype, 1)
            + b"".join(record(*item) for item in answers) + b"".join(record(*item) for item in additional) + tail)


POINTER = b"\xc0\x0c"  # to the question's name


def dnspython_rejects(wire):
    with pytest.raises(Exception):  # noqa: B017  # dnspython's verdict, whatever its class
        dns.message.from_wire(wire)


def test_tlsa_data_must_have_its_matching_types_length():
    short = message([(POINTER, 52, 1, 60, b"\x03\x01\x01" + bytes(20))], qtype=52)
    dnspython_rejects(short)
    with pytest.raises(dnswire.WireError, match="not the 32 of its matching type 1"):
        dnswire.decode_message(short)
    full = message([(POINTER, 52, 1, 60, b"\x03\x01\x01" + bytes(32)), (POINTER, 52, 1, 60, b"\x03\x01\x00" + bytes(5))], qtype=52)
    assert [record.value[3] for record in dnswire.decode_message(full).answer] == ["00" * 32, "00" * 5]


def test_txt_rdata_needs_one_character_string():
    wire = message([(POINTER, 16, 1, 60, b"")])
    dnspython_rejects(wire)
    with pytest.raises(dnswire.WireError, match="no character-string"):
        dnswire.decode_message(wire)
    assert dnswire.decode_message(message([(POINTER, 16, 1, 60, b"\x00")])).answer[0].value == (b"",)


def test_octets_after_the_last_record_are_refused():
    wire = message([(POINTER, 1, 1, 60, bytes(4))], tail=b"\x00")
    dnspython_rejects(wire)
    with pytest.raises(dnswire.WireError, match="follow the last record"):
        dnswire.decode_message(wire)


@pytest.mark.parametrize("tag", [b"", b"is-sue", b"x y"])
def test_caa_tags_are_letters_and_digits(tag):
    wire = message([(POINTER, 257, 1, 60, b"\x00" + bytes((len(tag),)) + tag + b"ca.example")], qtype=257)
    dnspython_rejects(wire)
    with pytest.raises(dnswire.WireError, match="CAA"):
        dnswire.decode_message(wire)


def test_caa_value_is_kept_as_octets():
    value = b'ca.example; "x" \xff'
    wire = message([(POINTER, 257, 1, 60, b"\x80\x05issue" + value)], qtype=257)
    assert dnswire.decode_message(wire).answer[0].value == (128, "issue", value)
    assert resolver_module._record_value(257, (128, "issue", value)) == (128, "issue", 'ca.example; \\034x\\034 \\255')  # pylint: disable=protected-access


OPT = (b"\x00", 41, 1232, 0, b"")


@pytest.mark.parametrize("answers, additional, problem", [
    ([OPT], [], "outside the additional section"),
    ([], [OPT, OPT], "not the only one"),
    ([], [(b"\x01x\x00", 41, 1232, 0, b"")], "owned by the root"),
    ([], [(b"\x00", 41, 1232, 0, b"\x00\x0a\x00\x09" + bytes(8))], "runs past the OPT RDATA"),
    ([], [(b"\x03key\x00", 250, 255, 0, bytes(10))], "TSIG"),
])
def test_opt_and_tsig_where_they_may_not_be(answers, additional, problem):
    wire = message(answers, additional)
    dnspython_rejects(wire)
    with pytest.raises(dnswire.WireError, match=problem):
        dnswire.decode_message(wire)


def test_edns_options_are_framed():
    wire = message([], [(b"\x00", 41, 1232, 0x8000, b"\x00\x0a\x00\x08" + bytes(8) + b"\xfd\xe9\x00\x00")])
    opt = dnswire.decode_message(wire).additional[0]
    assert opt.value == ((10, bytes(8)), (65001, b""))
    assert dns.message.from_wire(wire).options[0].otype == 10


def test_a_ttl_with_the_top_bit_set_is_zero():
    wire = message([(POINTER, 1, 1, 0x80000001, bytes(4)), (POINTER, 1, 1, 0x7FFFFFFF, bytes(4))], qtype=1)
    assert [record.ttl for record in dnswire.decode_message(wire).answer] == [0, 0x7FFFFFFF]  # RFC 2181 8
    assert [rrset.ttl for rrset in dns.message.from_wire(wire, one_rr_per_rrset=True).answer] == [0, 0x7FFFFFFF]


def test_address_types_outside_class_in_are_opaque():
    wire = message([(POINTER, 1, 3, 60, b"\x00\x00\x01"), (POINTER, 33, 255, 60, b"\x01")], qtype=1)
    dns.message.from_wire(wire)  # dnspython reads them as unknown RDATA
    values = [record.value for record in dnswire.decode_message(wire).answer]
    assert values == [b"\x00\x00\x01", b"\x01"] and all(isinstance(value, dnswire.Opaque) for value in values)


def test_an_update_message_is_not_an_answer():
    wire = message(flags=0x8000 | (5 << 11), counts=(1, 0, 0, 0), qtype=6)
    with pytest.raises(dnswire.WireError, match="UPDATE"):
        dnswire.decode_message(wire)


def test_opaque_rdata_with_compressed_names_is_shown_whole():
    # RP (RFC 1183 2.2) whose two names point at the question: dnspython reads it from the message.
    wire = message([(POINTER, 17, 1, 60, b"\x04mbox" + POINTER + POINTER)], qtype=17)
    value = dnswire.decode_message(wire).answer[0].value
    assert isinstance(value, dnswire.Opaque) and value == b"\x04mbox" + POINTER + POINTER
    assert resolver_module._record_value(17, value) == "mbox.example. example."  # pylint: disable=protected-access


@pytest.mark.parametrize("text, labels", [
    ("例え\u3002テスト", [b"xn--r8jz45g", b"xn--zckzah"]),  # an ideographic full stop separates labels (RFC 3490 3.1)
    ("ｅｘａｍｐｌｅ．com", [b"example", b"com"]),
    ("a\\032b.example", [b"a b", b"example"]),  # \DDD is an octet, not the text "\032"
    ("a\\.b.example.", [b"a.b", b"example"]),
    ("macro%percent  space%20url-space.example.com", [b"macro%percent  space%20url-space", b"example", b"com"]),
])
def test_query_names_are_read_as_rfc_1035_text(text, labels):
    wire = dnswire.name_from_text(text)
    assert dnswire.name_labels(wire) == labels
    question = dns.message.from_wire(dnswire.encode_query(1, text, "A")).question[0]
    assert question.name.labels == tuple(labels) + (b"",)
    assert dnswire.name_from_text(dnswire.name_to_text(wire)) == wire


@pytest.mark.parametrize("text", ["a\\", "a\\25", "a\\256.example", "a..b", "\\06", "x" * 64, "a\\195\\169ü.example"])
def test_bad_name_text_is_a_wire_error(text):
    with pytest.raises(dnswire.WireError):
        dnswire.name_from_text(text)


def test_a_name_with_a_space_and_percent_signs_is_answered(scripted_dns):
    """The RFC 7208 suite's macro-mania-in-domain name: the answer's owner is the very octets asked."""
    name = "macro%percent  space%20url-space.example.com"

    def handle(query, _transport):
        assert query.question[0].name.labels[0] == b"macro%percent  space%20url-space"
        return reply(query, [(query.question[0].name.to_text(), "A", "192.0.2.1")])

    server = scripted_dns(handle)
    answer = resolver_module.Resolver([server.address], timeout=1, lifetime=2).query(name, "A")
    assert answer.kind == "ok" and answer.records == ["192.0.2.1"]
    assert answer.name == "macro%percent\\032\\032space%20url-space.example.com"
    assert dnswire.name_from_text(answer.name) == dnswire.name_from_text(name)


def test_a_truncated_answer_over_tcp_is_a_failed_lookup(scripted_dns):
    """TC over TCP: the records are incomplete, so the lookup failed; it is not "no records"."""
    server = scripted_dns(lambda query, _transport: reply(query, flags=dns.flags.TC))
    for transport in ("tcp", "udp", "auto"):  # udp: TC over UDP, asked again over TCP, TC again
        answer = resolver_module.Resolver([server.address], timeout=1, lifetime=2, transport=transport).query("example.com", "TXT")
        assert answer.kind == "error" and answer.failed and not answer.empty, transport
        assert "truncated answer (TC)" in answer.detail and "over TCP" in answer.detail


def test_a_truncated_answer_over_tcp_leaves_the_next_nameserver_to_answer(scripted_dns):
    truncating = scripted_dns(lambda query, _transport: reply(query, flags=dns.flags.TC))
    answering = scripted_dns(lambda query, _transport: reply(query, [("example.com.", "TXT", '"v=spf1 -all"')]))
    answer = resolver_module.Resolver([truncating.address, answering.address], timeout=1, lifetime=2).query("example.com", "TXT")
    assert answer.kind == "ok" and answer.records == ["v=spf1 -all"]


def test_names_compare_as_octets_whatever_the_letter_case(scripted_dns):
    def handle(query, _transport):
        upper = dns.name.Name([label.upper() for label in query.question[0].name.labels])
        response = reply(query, [(upper.to_text(), "MX", "10 MAIL.Example.COM.")])
        response.question[0].name = upper  # a server that answers in another case (0x20 randomization)
        return response

    server = scripted_dns(handle)
    answer = resolver_module.Resolver([server.address], timeout=1).query("Straße.example.com", "MX")
    assert answer.kind == "ok" and answer.records == [(10, "mail.example.com")]
    assert answer.name == "xn--strae-oqa.example.com"


# Found by `make fuzz-dns` (seed 20261202): the authority record's owner points into the answer's
# owner name, at a length octet whose label then runs over the pointer itself.
OVERLAPPING_POINTER = bytes.fromhex(
    "e62a840500010001000100020a676579623231646753780a4577677855715178764600010100010a67657962323164675378c0170005000100"
    "00003c000f0cc3bced959ce69687c3b6c3a9c00cc02c00010001bd8f04e9000413b0bed8012d00002100017fffffff0013295ee7301a7601"
    "4404733646530430775447000000291000000100000000")


def test_a_pointer_target_may_not_run_into_the_name_that_points_to_it():
    dnspython_rejects(OVERLAPPING_POINTER)
    with pytest.raises(dnswire.WireError, match="runs past the end of what its pointer may reach"):
        dnswire.decode_message(OVERLAPPING_POINTER)


def _pointer_chain(records):
    """A response whose record i is owned by ``x`` + a pointer to record i-1's owner (the first: the question)."""
    data = bytearray(HEADER.pack(1, 0x8180, 1, records, 0, 0) + b"\x01a\x00" + struct.pack("!HH", 1, 1))
    previous = 12
    for _index in range(records):
        owner = len(data)
        data += b"\x01x" + struct.pack("!H", 0xC000 | previous) + struct.pack("!HHIH", 1, 1, 60, 4) + bytes(4)
        previous = owner
    return bytes(data)


def test_at_most_sixteen_compression_pointers_in_a_name():
    sixteen = dnswire.decode_message(_pointer_chain(16))
    assert dnswire.name_labels(sixteen.answer[-1].owner) == [b"x"] * 16 + [b"a"]
    dns.message.from_wire(_pointer_chain(16))
    dnspython_rejects(_pointer_chain(17))
    with pytest.raises(dnswire.WireError, match="more than 16 compression pointers"):
        dnswire.decode_message(_pointer_chain(17))
    wire = _pointer_chain(17)  # without the cache of names already read, the same bound
    with pytest.raises(dnswire.WireError, match="more than 16"):
        dnswire.read_name(wire, len(wire) - 18)

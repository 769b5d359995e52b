"""The stub resolver against scripted DNS servers on loopback: every kind of outcome, bounds and concurrency."""

import asyncio
import gc
import itertools
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import resolver as resolver_module
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.resolver import Answer, Resolver, ResolverError

from unit.scripted_dns import SOA, reply, zone


@pytest.fixture
def example_zone(scripted_dns):
    return scripted_dns(zone({
        ("example.com", "MX"): ["10 mail.example.com.", "20 backup.example.com."],
        ("example.com", "TXT"): ['"v=spf1 " "mx -all"', '"google-site-verification=abc"'],
        ("mail.example.com", "A"): ["192.0.2.25"],
        ("mail.example.com", "AAAA"): ["2001:db8::25"],
        ("_25._tcp.mail.example.com", "TLSA"): ["3 1 1 " + "ab" * 32],
        ("example.com", "HINFO"): ['"cpu" "os"'],
    }))


def test_records_of_each_type(example_zone):
    resolver = Resolver([example_zone.address], timeout=1)
    mx, txt, tlsa, hinfo = resolver.query_many([("example.com", "MX"), ("Example.COM.", "txt"),
                                                ("_25._tcp.mail.example.com", "TLSA"), ("example.com", "HINFO")])
    assert mx.kind == "ok" and mx.ok and mx.exists and not mx.failed
    assert sorted(mx.records) == [(10, "mail.example.com"), (20, "backup.example.com")]
    assert sorted(txt.records) == ["google-site-verification=abc", "v=spf1 mx -all"]  # character-strings joined
    assert txt.name == "example.com" and txt.rtype == "TXT" and txt.rcode == "NOERROR" and txt.ttl == 300
    assert tlsa.records == [(3, 1, 1, "ab" * 32)]
    assert hinfo.records == ['"cpu" "os"']  # a type the codec keeps raw, shown by dnspython
    assert mx.nameserver == example_zone.address and not mx.authenticated


def test_nodata_and_nxdomain_are_told_apart(example_zone):
    resolver = Resolver([example_zone.address], timeout=1)
    nodata, nxdomain = resolver.query_many([("mail.example.com", "TXT"), ("nothing.example.com", "TXT")])
    assert nodata.kind == "nodata" and nodata.exists and nodata.empty and not nodata.failed and nodata.records == []
    assert nxdomain.kind == "nxdomain" and nxdomain.empty and not nxdomain.exists and not nxdomain.failed
    assert "does not exist" in nxdomain.describe()


def test_addresses_are_a_and_aaaa(example_zone):
    resolver = Resolver([example_zone.address], timeout=1)
    assert resolver.addresses("mail.example.com") == ["192.0.2.25", "2001:db8::25"]
    assert resolver.addresses("nothing.example.com") == []


@pytest.mark.parametrize("rcode, kind", [(dns.rcode.SERVFAIL, "servfail"), (dns.rcode.REFUSED, "refused"),
                                         (dns.rcode.FORMERR, "error"), (dns.rcode.NOTIMP, "error")])
def test_failing_rcodes(scripted_dns, rcode, kind):
    server = scripted_dns(lambda query, _transport: reply(query, rcode=rcode))
    answer = Resolver([server.address], timeout=1).query("example.com", "TXT")
    assert answer.kind == kind and answer.failed
    assert dns.rcode.to_text(rcode) in answer.detail and server.address in answer.detail
    assert len(server.queries) == 1  # a failing RCODE is final for that server: no retry
    with pytest.raises(ResolverError) as caught:
        answer.raise_for_failure()
    assert caught.value.kind == kind


def test_silent_server_times_out_within_the_lifetime(scripted_dns):
    server = scripted_dns(lambda query, _transport: None)
    resolver = Resolver([server.address], timeout=0.2, lifetime=0.5)
    began = time.monotonic()
    answer = resolver.query("example.com", "TXT")
    took = time.monotonic() - began
    assert answer.kind == "timeout" and answer.detail == "%s: no answer within 0.5 s" % server.address
    assert 0.45 <= took < 0.9
    assert len(server.queries) == 3  # sent again after each 0.2 s attempt while the lifetime allowed


def test_closed_port_is_unreachable_at_once(closed_port):
    began = time.monotonic()
    answer = Resolver([closed_port], timeout=2).query("example.com", "MX")
    assert answer.kind == "unreachable"
    assert answer.detail.startswith("no nameserver reachable: %s" % closed_port)
    assert time.monotonic() - began < 0.5  # the ICMP error ends the wait, not the 2 s timeout


def test_next_nameserver_after_one_that_fails(closed_port, scripted_dns, example_zone):
    broken = scripted_dns(lambda query, _transport: reply(query, rcode=dns.rcode.SERVFAIL))
    answer = Resolver([closed_port, broken.address, example_zone.address], timeout=1).query("example.com", "MX")
    assert answer.ok and answer.nameserver == example_zone.address


def test_every_nameserver_failing_reports_the_most_telling_kind(closed_port, scripted_dns):
    silent = scripted_dns(lambda query, _transport: None)
    broken = scripted_dns(lambda query, _transport: reply(query, rcode=dns.rcode.SERVFAIL))
    answer = Resolver([closed_port, silent.address, broken.address], timeout=0.2, lifetime=0.5).query("example.com", "MX")
    assert answer.kind == "servfail"
    for part in ("Connection refused", silent.address + ": no answer within", "SERVFAIL from " + broken.address):
        assert part in answer.detail
    only_silent = Resolver([closed_port, silent.address], timeout=0.2, lifetime=0.3).query("example.com", "MX")
    assert only_silent.kind == "timeout"


def test_truncated_answer_is_asked_again_over_tcp(scripted_dns):
    big = ['"%s"' % (letter * 250) for letter in "abcdefghijkl"]  # 3 KB: more than the 1232 octets announced for UDP

    def handle(query, transport):
        if transport == "udp":
            return reply(query, flags=dns.flags.TC)
        return reply(query, [("big.example.com.", "TXT", text) for text in big])
    server = scripted_dns(handle)
    answer = Resolver([server.address], timeout=1, transport="udp").query("big.example.com", "TXT")
    assert answer.ok and sorted(answer.records) == [letter * 250 for letter in "abcdefghijkl"]
    assert server.transports() == ["udp", "tcp"]


def test_lookups_share_one_pipelined_tcp_connection(example_zone):
    names = [("d%d.example.com" % index, "TXT") for index in range(50)] + [("example.com", "MX")]
    answers = Resolver([example_zone.address], timeout=1).query_many(names)
    assert [answer.kind for answer in answers] == ["nxdomain"] * 50 + ["ok"]
    assert example_zone.tcp_connections == 1 and set(example_zone.transports()) == {"tcp"}


def test_udp_when_the_tcp_port_is_closed(scripted_dns):
    server = scripted_dns(zone({("example.com", "MX"): ["10 mail.example.com."]}), tcp=False)
    answers = Resolver([server.address], timeout=1).query_many([("example.com", "MX"), ("example.com", "TXT")])
    assert [answer.kind for answer in answers] == ["ok", "nodata"]
    assert server.transports() == ["udp", "udp"]


def test_tcp_only_without_a_tcp_port_is_unreachable(scripted_dns):
    server = scripted_dns(zone({}), tcp=False)
    answer = Resolver([server.address], timeout=1, transport="tcp").query("example.com", "MX")
    assert answer.kind == "unreachable" and answer.detail == "no nameserver reachable: %s over TCP: Connection refused" % server.address
    assert server.queries == []


def test_a_server_silent_over_tcp_is_asked_over_udp(scripted_dns):
    answering = zone({("example.com", "MX"): ["10 mail.example.com."]})
    server = scripted_dns(lambda query, transport: answering(query, transport) if transport == "udp" else None)
    began = time.monotonic()
    answer = Resolver([server.address], timeout=0.3, lifetime=2).query("example.com", "MX")
    assert answer.ok and 0.3 <= time.monotonic() - began < 1.0
    assert server.transports() == ["tcp", "udp"]


def test_lookups_survive_a_server_closing_the_connection(scripted_dns):
    server = scripted_dns(zone({("d%d.example.com" % index, "TXT"): ['"v=spf1 -all"'] for index in range(30)}))
    server.close_after = 4
    server.delay = 0.01
    answers = Resolver([server.address], timeout=1, concurrency=8).query_many([("d%d.example.com" % index, "TXT") for index in range(30)])
    assert all(answer.ok for answer in answers), [answer.describe() for answer in answers if not answer.ok]
    assert server.tcp_connections >= 2


def test_cname_chain_in_one_answer_is_followed_in_chain_order(scripted_dns):
    def handle(query, _transport):
        return reply(query, [("c.example.com.", "TXT", '"v=STSv1; id=20260101"'),
                             ("b.example.com.", "CNAME", "c.example.com."),
                             ("_mta-sts.example.com.", "CNAME", "b.example.com.")])
    answer = Resolver([scripted_dns(handle).address], timeout=1).query("_mta-sts.example.com", "TXT")
    assert answer.ok and answer.records == ["v=STSv1; id=20260101"]
    assert answer.chain == ["b.example.com", "c.example.com"] and answer.canonical_name == "c.example.com"
    assert "CNAME -> b.example.com -> c.example.com" in answer.describe()


def test_cname_out_of_the_servers_zones_is_asked_for(scripted_dns):
    def handle(query, _transport):
        name = query.question[0].name.to_text()
        if name == "_mta-sts.example.com.":
            return reply(query, [("_mta-sts.example.com.", "CNAME", "_mta-sts.mail.example.net.")], flags=dns.flags.AA)
        return reply(query, [(name, "TXT", '"v=STSv1; id=1"')], flags=dns.flags.AA)
    server = scripted_dns(handle)
    answer = Resolver([server.address], timeout=1).query("_mta-sts.example.com", "TXT")
    assert answer.ok and answer.chain == ["_mta-sts.mail.example.net"]
    assert server.names() == [("_mta-sts.example.com", "TXT"), ("_mta-sts.mail.example.net", "TXT")]


def test_cname_to_a_name_without_data_is_nodata_when_the_server_says_so(scripted_dns):
    def handle(query, _transport):
        return reply(query, [("a.example.com.", "CNAME", "b.example.com.")], authority=[SOA])
    answer = Resolver([scripted_dns(handle).address], timeout=1).query("a.example.com", "TXT")
    assert answer.kind == "nodata" and answer.chain == ["b.example.com"]


def test_cname_loop_is_an_error(scripted_dns):
    def handle(query, _transport):
        name = query.question[0].name.to_text()
        target = "b.example.com." if name == "a.example.com." else "a.example.com."
        return reply(query, [(name, "CNAME", target)])
    answer = Resolver([scripted_dns(handle).address], timeout=1).query("a.example.com", "TXT")
    assert answer.kind == "error" and "CNAME loop" in answer.detail


def test_endless_cname_chain_is_cut(scripted_dns):
    counter = itertools.count()

    def handle(query, _transport):
        return reply(query, [(query.question[0].name.to_text(), "CNAME", "n%d.example.com." % next(counter))])
    server = scripted_dns(handle)
    answer = Resolver([server.address], timeout=1).query("start.example.com", "A")
    assert answer.kind == "error" and "more than 8 CNAMEs" in answer.detail
    assert len(server.queries) <= resolver_module.MAX_CNAME_HOPS + 1


def test_asking_for_the_cname_itself_does_not_follow_it(scripted_dns):
    def handle(query, _transport):
        return reply(query, [("_mta-sts.example.com.", "CNAME", "_mta-sts.mail.example.net.")])
    answer = Resolver([scripted_dns(handle).address], timeout=1).query("_mta-sts.example.com", "CNAME")
    assert answer.ok and answer.records == ["_mta-sts.mail.example.net"] and answer.chain == []


def test_referral_is_an_error(scripted_dns):
    def handle(query, _transport):
        message = reply(query, authority=[("example.com.", "NS", "ns1.example.net.")])
        message.flags &= ~(dns.flags.RA | dns.flags.AA)
        return message
    answer = Resolver([scripted_dns(handle).address], timeout=1).query("example.com", "TXT")
    assert answer.kind == "error" and "referral" in answer.detail


def test_answers_to_other_questions_are_ignored(scripted_dns):
    def handle(query, _transport):
        wrong_question = reply(dns.message.make_query("evil.example.", "TXT"), [("evil.example.", "TXT", '"v=spf1 +all"')])
        wrong_question.id = query.id
        wrong_id = reply(query, [("example.com.", "TXT", '"v=spf1 +all"')])
        wrong_id.id = (query.id + 1) & 0xFFFF
        return [wrong_question, wrong_id, reply(query, [("example.com.", "TXT", '"v=spf1 -all"')])]
    answer = Resolver([scripted_dns(handle).address], timeout=1).query("example.com", "TXT")
    assert answer.records == ["v=spf1 -all"]


def test_unreadable_answer_is_an_error(scripted_dns):
    server = scripted_dns(lambda query, _transport: query.id.to_bytes(2, "big") + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\xc0\x0c")
    answer = Resolver([server.address], timeout=1).query("example.com", "TXT")
    assert answer.kind == "error" and "unreadable answer" in answer.detail


def test_ad_bit_and_dnssec_ok(scripted_dns):
    def handle(query, _transport):
        flags = dns.flags.AD if query.ednsflags & dns.flags.DO else 0
        return reply(query, [("_25._tcp.mail.example.com.", "TLSA", "3 1 1 " + "cd" * 32)], flags=flags)
    server = scripted_dns(handle)
    plain = Resolver([server.address], timeout=1).query("_25._tcp.mail.example.com", "TLSA")
    validated = Resolver([server.address], timeout=1, want_dnssec=True).query("_25._tcp.mail.example.com", "TLSA")
    assert not plain.authenticated and validated.authenticated
    assert all(query.flags & dns.flags.AD for _name, _rtype, _transport, query in server.queries)  # RFC 6840 5.7


def test_concurrency_is_bounded(scripted_dns, example_zone):
    handle = zone({("d%d.example.com" % index, "TXT"): ['"v=spf1 -all"'] for index in range(40)})
    server = scripted_dns(handle)
    server.delay = 0.05
    resolver = Resolver([server.address], timeout=2, concurrency=5)
    answers = resolver.query_many([("d%d.example.com" % index, "TXT") for index in range(40)])
    assert all(answer.ok for answer in answers)
    assert server.max_in_flight == 5


def test_identical_lookups_are_asked_once(example_zone):
    resolver = Resolver([example_zone.address], timeout=1)
    first = resolver.query_many([("example.com", "MX")] * 5 + [("EXAMPLE.com.", "MX")])
    again = resolver.query("example.com", "MX")
    assert len({id(answer) for answer in first + [again]}) == 1
    assert example_zone.names() == [("example.com", "MX")]
    uncached = Resolver([example_zone.address], timeout=1, cache=False)
    uncached.query("example.com", "MX")
    uncached.query("example.com", "MX")
    assert len(example_zone.names()) == 3


def test_overall_timeout_ends_every_lookup(scripted_dns):
    server = scripted_dns(lambda query, _transport: None)
    resolver = Resolver([server.address], timeout=0.3, lifetime=0.3, concurrency=2)
    began = time.monotonic()
    answers = resolver.query_many([("d%d.example.com" % index, "TXT") for index in range(20)], overall_timeout=0.5)
    assert time.monotonic() - began < 1.0
    assert all(answer.kind == "timeout" for answer in answers)
    assert any("overall time limit" in answer.detail for answer in answers)
    assert len(server.queries) <= 6


def test_reused_query_ids_never_lose_an_answer(monkeypatch, example_zone):
    # With only three IDs, an ID comes back into use while the coroutine that used it before has
    # yet to clean up: its clean-up must not remove the newer query (which then waited forever).
    ids = itertools.cycle([1, 2, 3])
    monkeypatch.setattr(resolver_module.random, "getrandbits", lambda _bits: next(ids))
    resolver = Resolver([example_zone.address], timeout=1, concurrency=2, cache=False)
    began = time.monotonic()
    answers = resolver.query_many([("example.com", "MX"), ("mail.example.com", "A")] * 100, overall_timeout=10)
    assert all(answer.ok for answer in answers)
    assert time.monotonic() - began < 5


def test_map_runs_a_coroutine_per_item(example_zone):
    resolver = Resolver([example_zone.address], timeout=1)

    async def mail_addresses(domain):
        mx = await resolver.aquery(domain, "MX")
        hosts = [exchange for _preference, exchange in mx.records]
        return {host: await resolver.aaddresses(host) for host in hosts}
    assert resolver.map(mail_addresses, ["example.com", "nothing.example.com"]) == [
        {"mail.example.com": ["192.0.2.25", "2001:db8::25"], "backup.example.com": []}, {}]


def test_addresses_raise_when_nothing_could_be_asked(closed_port):
    with pytest.raises(ResolverError) as caught:
        Resolver([closed_port], timeout=1).addresses("mail.example.com")
    assert caught.value.kind == "unreachable"


def test_aquery_inside_a_callers_event_loop(example_zone):
    resolver = Resolver([example_zone.address], timeout=1)

    async def main():
        try:
            return await resolver.aquery("example.com", "MX")
        finally:
            await resolver.aclose()
    assert asyncio.run(main()).ok


@pytest.mark.parametrize("name, rtype, problem", [("a..example.com", "TXT", "empty label"), ("example.com", "BOGUS", "unknown record type")])
def test_bad_questions_are_errors_without_asking(example_zone, name, rtype, problem):
    answer = Resolver([example_zone.address], timeout=1).query(name, rtype)
    assert answer.kind == "error" and problem in answer.detail
    assert example_zone.queries == []


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1", ("127.0.0.1", 53)),
    ("127.0.0.1:5353", ("127.0.0.1", 5353)),
    (" ::1 ", ("::1", 53)),
    ("[::1]:5300", ("::1", 5300)),
    ("[2001:DB8::1]", ("2001:db8::1", 53)),
])
def test_nameserver_forms(text, expected):
    assert resolver_module.parse_nameserver(text) == expected
    assert resolver_module.parse_nameserver(resolver_module.format_nameserver(expected)) == expected


@pytest.mark.parametrize("text, problem", [
    ("ns1.example.com", "not an IP address"),
    ("127.0.0.1:0", "port must be"),
    ("127.0.0.1:99999", "port must be"),
    ("[::1", "without closing"),
    ("[::1]53", "expected ':<port>'"),
    ("", "must be an IP address"),
    (None, "must be an IP address"),
])
def test_bad_nameservers(text, problem):
    with pytest.raises(SpecError, match=problem):
        resolver_module.parse_nameserver(text)


def test_bad_nameserver_in_a_list_names_its_position():
    with pytest.raises(SpecError, match=r"nameservers\[1\]"):
        Resolver(["127.0.0.1", "dns.example"])


@pytest.mark.parametrize("options, field", [({"timeout": 0}, "timeout"), ({"lifetime": -1}, "lifetime"), ({"concurrency": 0}, "concurrency"),
                                            ({"transport": "quic"}, "transport")])
def test_bad_bounds(options, field):
    with pytest.raises(SpecError, match=field):
        Resolver(["127.0.0.1"], **options)


def test_resolv_conf_nameservers(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch example.com\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\nnameserver bogus\noptions ndots:1\n")
    assert resolver_module.system_nameservers(str(conf)) == [("192.0.2.53", 53), ("fe80::1", 53)]
    assert resolver_module.system_nameservers(str(tmp_path / "missing")) == []


@pytest.mark.parametrize("rtype, value, text", [
    ("MX", (10, "mail.example.com"), "10 mail.example.com."),
    ("CNAME", "_mta-sts.mail.example.com", "_mta-sts.mail.example.com."),
    ("TLSA", (3, 1, 1, "ab"), "3 1 1 ab"),
    ("TXT", "v=spf1 -all", "v=spf1 -all"),
    ("A", "192.0.2.1", "192.0.2.1"),
])
def test_presentation_matches_the_desired_records(rtype, value, text):
    assert resolver_module.presentation(rtype, value) == text


def test_answer_as_dict_is_plain_data():
    answer = Answer("example.com", "MX", "ok", [(10, "mail.example.com")], "NOERROR", nameserver="127.0.0.1:53")
    data = answer.as_dict()
    assert data["records"] == [[10, "mail.example.com"]] and data["kind"] == "ok" and data["chain"] == []


def test_the_garbage_collector_is_off_during_a_run_and_back_after(example_zone):
    states = []

    async def look():
        states.append(gc.isenabled())
        return await resolver.aquery("example.com", "MX")

    resolver = Resolver([example_zone.address], timeout=1)
    assert gc.isenabled()
    assert resolver.run(look()).ok
    assert states == [False] and gc.isenabled()


def test_collector_pauses_nest_and_keep_a_disabled_collector_disabled():
    assert gc.isenabled()
    with resolver_module.collector_paused():
        with resolver_module.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "the outer pause still holds"
    assert gc.isenabled()
    gc.disable()
    try:
        with resolver_module.collector_paused():
            pass
        assert not gc.isenabled(), "a collector that was off before stays off"
    finally:
        gc.enable()
    with pytest.raises(RuntimeError):
        with resolver_module.collector_paused():
            raise RuntimeError("the collector comes back after a failure too")
    assert gc.isenabled()

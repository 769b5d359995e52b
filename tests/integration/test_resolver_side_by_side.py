"""The project's resolver beside dnspython's (dns.asyncresolver) on the same questions to a real
authority (BIND) and a real validating resolver (unbound forwarding to it): CNAME chains, DNAME,
NXDOMAIN and NODATA with their SOA, SERVFAIL, an RRset too large for UDP (TC, then TCP), and names
whose labels hold a space, a dot, percent signs or non-ASCII octets. Both must find the same: the
same kind of outcome, the same records, the same CNAME chain and AD bit; where they cannot, the
case says why."""

import asyncio

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdatatype
import dns.resolver
import pytest

from harness import BindServer, UnboundResolver, reference_resolver

from ansible_collections.mailsec.posture.plugins.module_utils import dnswire
from ansible_collections.mailsec.posture.plugins.module_utils.common import join_txt
from ansible_collections.mailsec.posture.plugins.module_utils.resolver import Resolver

MACRO_MANIA = "macro%percent\\032\\032space%20url-space"  # RFC 7208 suite, macro-mania-in-domain, expanded
BIG_TXT = [("%02d" % index) * 100 for index in range(13)]  # 13 x 200 octets: more than 1232 octets over UDP
ZONES = {
    "side.test": [
        "www CNAME a1", "a1 CNAME a2", "a2 CNAME host", "host A 192.0.2.10", 'host TXT "v=spf1 -all"',
        "out CNAME target.other.test.", "sub DNAME other.test.", "loop1 CNAME loop2", "loop2 CNAME loop1",
        "%s A 192.0.2.7" % MACRO_MANIA, 'a\\.b TXT "a dot inside a label"', "caf\\195\\169 A 192.0.2.8",
        "@ MX 10 host", "@ MX 20 caf\\195\\169",
    ] + [{"name": "big", "type": "TXT", "value": value} for value in BIG_TXT],
    "other.test": ["target A 192.0.2.20", "x A 192.0.2.30"],
    "bogus.test": ["www A 192.0.2.40"],
}
# (name in RFC 1035 text, type, the kind both must report)
QUESTIONS = [
    ("www.side.test", "A", "ok"),  # a chain of three CNAMEs in one zone
    ("www.side.test", "TXT", "ok"),
    ("out.side.test", "A", "ok"),  # a CNAME into another zone
    ("x.sub.side.test", "A", "ok"),  # DNAME, with the CNAME the server synthesizes
    ("y.sub.side.test", "A", "nxdomain"),  # DNAME to a name that does not exist
    ("nothing.side.test", "TXT", "nxdomain"),
    ("host.side.test", "MX", "nodata"),
    ("side.test", "MX", "ok"),
    ("x.broken.test", "A", "servfail"),  # a zone that does not load
    ("loop1.side.test", "A", "servfail"),  # BIND resolves the loop itself and gives up
    ("big.side.test", "TXT", "ok"),  # truncated over UDP, complete over TCP
    (MACRO_MANIA + ".side.test", "A", "ok"),
    ("macro%percent  space%20url-space.side.test", "A", "ok"),  # the same name, the spaces as they are
    ("a\\.b.side.test", "TXT", "ok"),
    ("caf\\195\\169.side.test", "A", "ok"),
]


@pytest.fixture(scope="module")
def servers():
    with BindServer(ZONES, dnssec_zones=["side.test"], bogus_zones=["bogus.test"], servfail_zones=["broken.test"],
                    check_names=False) as bind, UnboundResolver(bind) as unbound:
        yield {"bind": bind, "unbound": unbound}


def _octets(text):
    return dnswire.name_from_text(text).lower()


def mine(answer):
    """The project's Answer as comparable data: kind, records (names as octets), chain, AD."""
    records = []
    for value in answer.records:
        if answer.rtype == "MX":
            value = (value[0], _octets(value[1]))
        records.append(value)
    return answer.kind, sorted(records), [_octets(name) for name in answer.chain], answer.authenticated


async def theirs(server, name, rtype, tcp=False):
    resolver = reference_resolver(server, timeout=2.0, lifetime=4.0)
    resolver.use_edns(0, 0, dnswire.EDNS_PAYLOAD)
    resolver.flags = dns.flags.RD | dns.flags.AD  # ask for AD as the project's resolver does (RFC 6840 5.7)
    qname = dns.name.from_text(name.encode("ascii"))  # RFC 1035 text: \DDD are octets
    try:
        answer = await resolver.resolve(qname, rtype, raise_on_no_answer=False, search=False, tcp=tcp)
    except dns.resolver.NXDOMAIN:
        return "nxdomain", [], None, None
    except dns.resolver.NoNameservers:
        return "servfail", [], None, None
    except dns.exception.Timeout:
        return "timeout", [], None, None
    chain = [rrset[0].target.canonicalize().to_wire() for rrset in answer.chaining_result.cnames]
    authenticated = bool(answer.response.flags & dns.flags.AD)
    if answer.rrset is None:
        return "nodata", [], chain, authenticated
    records = []
    for rdata in answer.rrset:
        if rtype == "TXT":
            records.append(join_txt(b"".join(rdata.strings)))
        elif rtype == "MX":
            records.append((rdata.preference, rdata.exchange.canonicalize().to_wire()))
        else:
            records.append(rdata.to_text())
    return "ok", sorted(records), chain, authenticated


def _comparable(found, reference):
    """Failures carry no chain or AD bit in dnspython's exceptions: compare what both have."""
    if reference[2] is None:
        return found[:2], reference[:2]
    return found, reference


@pytest.mark.parametrize("server_name", ["bind", "unbound"])
@pytest.mark.parametrize("transport", ["auto", "udp"])
def test_the_same_answers_as_dnspython(servers, server_name, transport):
    server = servers[server_name]
    resolver = Resolver(["%s:%d" % server.nameserver], timeout=2.0, lifetime=4.0, transport=transport, cache=False)
    answers = resolver.query_many([(name, rtype) for name, rtype, _kind in QUESTIONS])

    async def every():
        return await asyncio.gather(*(theirs(server.nameserver, name, rtype) for name, rtype, _kind in QUESTIONS))
    references = asyncio.run(every())
    differing = []
    for (name, rtype, kind), answer, reference in zip(QUESTIONS, answers, references):
        found, expected = _comparable(mine(answer), reference)
        if found != expected or answer.kind != kind:
            differing.append("%s %s: project %r (%s), dnspython %r, expected %s" % (name, rtype, found, answer.detail, expected, kind))
    assert not differing, "\n".join(differing)
    if transport == "udp":
        # Every distinct question once over UDP (the macro-mania name is there twice, in two spellings:
        # asked once), and the one truncated answer once more over TCP.
        distinct = {(_octets(name), rtype) for name, rtype, _kind in QUESTIONS}
        assert len(distinct) == len(QUESTIONS) - 1
        assert resolver.queries_sent == len(distinct) + 1


def test_the_situations_are_what_the_cases_say(servers):
    """What the servers send, read by dnspython: the cases above test what they claim to."""
    bind, unbound = servers["bind"], servers["unbound"]
    nxdomain = bind.lookup("nothing.side.test", "TXT")
    nodata = bind.lookup("host.side.test", "MX")
    for answer, rcode in ((nxdomain, "NXDOMAIN"), (nodata, "NOERROR")):
        assert answer.rcode == rcode and not answer.message.answer
        assert [rrset.rdtype for rrset in answer.message.authority][:1] == [dns.rdatatype.SOA]
    dname = bind.lookup("x.sub.side.test", "A").message
    assert {rrset.rdtype for rrset in dname.answer} >= {dns.rdatatype.DNAME, dns.rdatatype.CNAME}
    query = dns.message.make_query("big.side.test", "TXT", use_edns=0, payload=dnswire.EDNS_PAYLOAD)
    udp = dns.query.udp(query, bind.nameserver[0], port=bind.nameserver[1], timeout=2.0)
    assert udp.flags & dns.flags.TC
    assert unbound.lookup("www.side.test", "A", dnssec=True).authenticated
    assert unbound.lookup("www.bogus.test", "A").rcode == "SERVFAIL"


def test_truncated_answers_are_asked_again_over_tcp_with_every_record(servers):
    for server in servers.values():
        resolver = Resolver(["%s:%d" % server.nameserver], timeout=2.0, lifetime=4.0, transport="udp", cache=False)
        answer = resolver.query("big.side.test", "TXT")
        assert answer.kind == "ok" and sorted(answer.records) == sorted(BIG_TXT)
        assert resolver.queries_sent == 2  # UDP, truncated; then TCP


def test_a_bogus_signature_is_servfail_for_both(servers):
    server = servers["unbound"]
    answer = Resolver(["%s:%d" % server.nameserver], timeout=2.0, lifetime=4.0).query("www.bogus.test", "A")
    assert mine(answer)[:2] == asyncio.run(theirs(server.nameserver, "www.bogus.test", "A"))[:2] == ("servfail", [])

"""Tests of the RFC 2136 engine's pure parts: input checks, planning, prerequisites, batching, parsing.

The network parts (reading a zone, sending UPDATEs, every server error) run against a real BIND in
tests/integration/test_dns_records.py.
"""

import base64
import math

import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.update
import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import dns_update, records as records_layer
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError, join_txt
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_model

SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
KEY = dns_update.tsig_key("mail-update", SECRET)
ZONE = "example.com"


def record(name, rtype, value, ttl=3600, zone=ZONE, domain=None):
    return {"name": name, "type": rtype, "value": value, "ttl": ttl, "zone": zone, "domain": domain or zone}


def rdata(rtype, text):
    return dns.rdata.from_text("IN", rtype, text)


def current(ttl, rtype, *texts):
    return {"ttl": ttl, "rdatas": [rdata(rtype, text) for text in texts]}


# ----- the TSIG key -------------------------------------------------------------------------------


def test_tsig_key_takes_name_secret_and_algorithm():
    key = dns_update.tsig_key("mail-update", SECRET, "HMAC-SHA512")
    assert key.name == dns.name.from_text("mail-update.")
    assert key.algorithm == dns.tsig.HMAC_SHA512
    assert key.secret == b"0123456789abcdef0123456789abcdef"
    assert dns_update.tsig_key("k", SECRET, "hmac-md5").algorithm == dns.tsig.HMAC_MD5


@pytest.mark.parametrize(
    "name, secret, algorithm, field",
    [
        ("k", "not base64!!", "hmac-sha256", "key_secret"),
        ("k", "", "hmac-sha256", "key_secret"),
        ("k", SECRET, "hmac-sha3", "key_algorithm"),
        ("", SECRET, "hmac-sha256", "key_name"),
    ],
)
def test_tsig_key_errors_name_the_option_and_never_the_secret(name, secret, algorithm, field):
    with pytest.raises(SpecError) as caught:
        dns_update.tsig_key(name, secret, algorithm)
    assert caught.value.field == field
    if secret:
        assert secret not in str(caught.value)


# ----- desired RRsets --------------------------------------------------------------------------------


def test_records_group_by_zone_and_pair_with_the_lowest_ttl():
    grouped = dns_update.desired_rrsets(
        [
            record("example.com.", "MX", "10 mail.example.com.", ttl=3600),
            record("example.com", "MX", "20 mx2.example.com", ttl=300),
            record("example.com.", "MX", "10 MAIL.example.com.", ttl=3600),  # the same value, other case
            record("_dmarc.example.org.", "TXT", "v=DMARC1; p=none", zone="example.org"),
        ]
    )
    assert sorted(grouped) == ["example.com", "example.org"]
    mx = grouped["example.com"][("example.com.", "MX")]
    assert mx["ttl"] == 300
    assert [value.to_text() for value in mx["rdatas"]] == ["10 mail.example.com.", "20 mx2.example.com."]
    assert list(grouped["example.org"]) == [("_dmarc.example.org.", "TXT")]


def test_zone_option_overrides_the_records_zone_and_must_contain_every_name():
    grouped = dns_update.desired_rrsets([record("_dmarc.a.example.com.", "TXT", "v=DMARC1; p=none", zone="a.example.com")], zone="example.com")
    assert list(grouped) == ["example.com"]
    with pytest.raises(SpecError, match=r"records\[0\].name: _dmarc.example.org. is not inside zone example.com"):
        dns_update.desired_rrsets([record("_dmarc.example.org.", "TXT", "v=DMARC1; p=none", zone="example.org")], zone="example.com")


def test_long_txt_values_are_split_into_255_octet_strings_that_join_back():
    value = "v=DKIM1; k=rsa; p=" + "A" * 700 + "é" * 30
    grouped = dns_update.desired_rrsets([record("dkim._domainkey.example.com.", "TXT", value)])
    (txt,) = grouped[ZONE][("dkim._domainkey.example.com.", "TXT")]["rdatas"]
    assert len(txt.strings) == 4
    assert all(len(part) <= 255 for part in txt.strings)
    assert b"".join(txt.strings).decode("utf-8") == value


def test_a_txt_value_given_as_character_strings_is_joined_first():
    grouped = dns_update.desired_rrsets([record("example.com.", "TXT", ["v=spf1 ", "mx -all"])])
    (txt,) = grouped[ZONE][("example.com.", "TXT")]["rdatas"]
    assert txt.strings == (b"v=spf1 mx -all",)


@pytest.mark.parametrize(
    "item, field, message",
    [
        ({"name": "example.com.", "type": "TXT", "zone": ZONE}, "records[0].value", "is required"),
        ({"name": "example.com.", "type": "TXT", "value": "x"}, "records[0].zone", "is missing"),
        (record("example.com.", "SOA", "ns. host. 1 2 3 4 5"), "records[0].type", "maintained by the server"),
        (record("example.com.", "RRSIG", "x"), "records[0].type", "maintained by the server"),
        (record("example.com.", "BOGUS", "x"), "records[0].type", "not a DNS record type"),
        (record("example.com.", "MX", "mail.example.com."), "records[0].value", "not a valid MX value"),
        (record("example.com.", "A", "192.0.2.300"), "records[0].value", "not a valid A value"),
        (record("exa mple.com.", "A", "192.0.2.1"), "records[0].name", "not letters"),
        (record("example.com.", "A", "192.0.2.1", ttl=-1), "records[0].ttl", "from 0 to"),
        (record("example.com.", "A", "192.0.2.1", ttl=True), "records[0].ttl", "from 0 to"),
    ],
)
def test_bad_records_name_the_field_and_the_domain(item, field, message):
    with pytest.raises(SpecError) as caught:
        dns_update.desired_rrsets([item])
    assert caught.value.field == field
    assert message in str(caught.value)


def test_a_cname_excludes_other_data_and_has_one_target():
    with pytest.raises(SpecError, match="a CNAME excludes other data"):
        dns_update.desired_rrsets([record("x.example.com.", "CNAME", "a.example.net."), record("x.example.com.", "TXT", "v=spf1 -all")])
    with pytest.raises(SpecError, match="2 CNAME targets"):
        dns_update.desired_rrsets([record("x.example.com.", "CNAME", "a.example.net."), record("x.example.com.", "CNAME", "b.example.net.")])


def test_records_of_the_lookup_are_accepted_as_they_are():
    model = normalize_model(
        [{"name": "example.com", "dmarc": {"policy": "reject"}, "mta_sts": {"mode": "enforce"}, "tlsrpt": {"rua": ["mailto:t@example.com"]}}],
        mail_host="mail.example.com",
    )
    recs = records_layer.desired_records(model)
    grouped = dns_update.desired_rrsets(recs)
    pairs = grouped[ZONE]
    assert len(pairs) == len({(item["name"], item["type"]) for item in recs})
    assert ("_mta-sts.example.com.", "TXT") in pairs and ("mta-sts.example.com.", "CNAME") in pairs


# ----- comparing values -------------------------------------------------------------------------------


def test_txt_values_compare_by_their_joined_text_and_names_without_case():
    split = dns.rdata.from_text("IN", "TXT", '"v=spf1 " "mx -all"')
    whole = dns.rdata.from_text("IN", "TXT", '"v=spf1 mx -all"')
    assert split != whole  # different on the wire...
    assert dns_update.comparable(split) == dns_update.comparable(whole)  # ...the same record to every reader
    assert dns_update.comparable(rdata("MX", "10 MAIL.example.com.")) == dns_update.comparable(rdata("MX", "10 mail.example.com."))
    assert dns_update.comparable(rdata("MX", "10 mail.example.com.")) != dns_update.comparable(rdata("MX", "20 mail.example.com."))
    assert dns_update.value_text(split) == "v=spf1 mx -all"


# ----- planning --------------------------------------------------------------------------------------


def desired_of(*items):
    return dns_update.desired_rrsets(list(items))[ZONE]


def test_plan_adds_changes_and_keeps_what_matches():
    desired = desired_of(
        record("example.com.", "TXT", "v=spf1 mx -all"),
        record("_dmarc.example.com.", "TXT", "v=DMARC1; p=reject"),
        record("example.com.", "MX", "10 mail.example.com."),
        record("_smtp._tls.example.com.", "TXT", "v=TLSRPTv1; rua=mailto:t@example.com", ttl=300),
    )
    found = {
        ("example.com.", "TXT"): current(3600, "TXT", '"v=spf1 " "mx -all"'),  # same text, split otherwise
        ("_dmarc.example.com.", "TXT"): current(3600, "TXT", '"v=DMARC1; p=none"'),
        ("example.com.", "MX"): None,
        ("_smtp._tls.example.com.", "TXT"): current(3600, "TXT", '"v=TLSRPTv1; rua=mailto:t@example.com"'),  # TTL differs
    }
    changes, unchanged = dns_update.plan_zone(ZONE, desired, found)
    assert unchanged == 1
    actions = {(change["name"], change["type"]): change["action"] for change in changes}
    assert actions == {
        ("example.com.", "MX"): "add",
        ("_dmarc.example.com.", "TXT"): "change",
        ("_smtp._tls.example.com.", "TXT"): "change",
    }
    # Parents come before their children.
    assert [change["name"] for change in changes][0] == "example.com."


def test_plan_keeps_other_txt_by_default_or_replaces_the_rrset_exactly_on_request():
    desired = desired_of(record("example.com.", "TXT", "v=spf1 mx -all"))
    found = {("example.com.", "TXT"): current(3600, "TXT", '"google-site-verification=abc"', '"v=spf1 a -all"')}
    (kept,), _unchanged = dns_update.plan_zone(ZONE, desired, found)
    assert sorted(dns_update.value_text(value) for value in kept["after"]["rdatas"]) == ["google-site-verification=abc", "v=spf1 mx -all"]
    (exact,), _unchanged = dns_update.plan_zone(ZONE, desired, found, keep_other_txt=False)
    assert [dns_update.value_text(value) for value in exact["after"]["rdatas"]] == ["v=spf1 mx -all"]


def test_a_ttl_only_difference_is_set_back_and_the_change_says_so():
    desired = desired_of(record("_dmarc.example.com.", "TXT", "v=DMARC1; p=reject", ttl=3600))
    found = {("_dmarc.example.com.", "TXT"): current(60, "TXT", '"v=DMARC1; p=reject"')}
    (change,), _unchanged = dns_update.plan_zone(ZONE, desired, found)
    assert change["action"] == "change" and change["after"]["ttl"] == 3600
    assert "only the TTL differs: the server has 60, the records say 3600" in dns_update.change_report(change)["detail"]
    desired_values = desired_of(record("_dmarc.example.com.", "TXT", "v=DMARC1; p=none", ttl=3600))
    (change,), _unchanged = dns_update.plan_zone(ZONE, desired_values, found)
    assert change["detail"] is None


def test_plan_absent_removes_managed_rrsets_and_ignores_missing_ones():
    desired = desired_of(record("example.com.", "TXT", "v=spf1 mx -all"), record("_dmarc.example.com.", "TXT", "v=DMARC1; p=reject"))
    found = {
        ("example.com.", "TXT"): current(3600, "TXT", '"google-site-verification=abc"', '"v=spf1 mx -all"'),
        ("_dmarc.example.com.", "TXT"): None,
    }
    (change,), unchanged = dns_update.plan_zone(ZONE, desired, found, state="absent", keep_other_txt=False)
    assert unchanged == 1
    assert change["action"] == "remove" and change["after"] is None
    (change,), _unchanged = dns_update.plan_zone(ZONE, desired, found, state="absent", keep_other_txt=True)
    assert change["action"] == "change"
    assert [dns_update.value_text(value) for value in change["after"]["rdatas"]] == ["google-site-verification=abc"]
    only_foreign = {("example.com.", "TXT"): current(3600, "TXT", '"google-site-verification=abc"')}
    assert dns_update.plan_zone(ZONE, desired, only_foreign, "absent", keep_other_txt=True) == ([], 2)


# ----- UPDATE messages --------------------------------------------------------------------------------


def sections(message):
    """Each RR of the prerequisite and update sections as (name, class, type, ttl, rdata text)."""
    def rows(section):
        result = []
        for rrset in section:
            rdclass = dns.rdataclass.to_text(rrset.deleting or rrset.rdclass)
            if len(rrset):
                result += [(rrset.name.to_text(), rdclass, dns.rdatatype.to_text(rrset.rdtype), rrset.ttl, value.to_text()) for value in rrset]
            else:
                result.append((rrset.name.to_text(), rdclass, dns.rdatatype.to_text(rrset.rdtype), rrset.ttl, None))
        return result

    return rows(message.prerequisite), rows(message.update)


def one_message(changes):
    ((message, batch),) = dns_update.build_messages(ZONE, changes, KEY)
    assert batch == changes
    return message


def test_a_change_requires_exactly_the_values_read_then_replaces_the_rrset():
    desired = desired_of(record("_dmarc.example.com.", "TXT", "v=DMARC1; p=reject", ttl=300))
    found = {("_dmarc.example.com.", "TXT"): current(3600, "TXT", '"v=DMARC1; p=none"')}
    changes, _unchanged = dns_update.plan_zone(ZONE, desired, found)
    prerequisites, updates = sections(one_message(changes))
    assert prerequisites == [
        # RFC 2136 2.4.2: RRset exists (value dependent), TTL 0, the zone's class
        ("_dmarc.example.com.", "IN", "TXT", 0, '"v=DMARC1; p=none"'),
        # a CNAME appearing meanwhile would make the server drop the TXT silently (3.4.2.2)
        ("_dmarc.example.com.", "NONE", "CNAME", 0, None),
    ]
    assert updates == [
        ("_dmarc.example.com.", "ANY", "TXT", 0, None),  # 2.5.2: delete an RRset
        ("_dmarc.example.com.", "IN", "TXT", 300, '"v=DMARC1; p=reject"'),  # 2.5.1: add to an RRset
    ]


def test_a_new_rrset_requires_that_it_does_not_exist_and_a_cname_an_unused_name():
    desired = desired_of(record("example.com.", "MX", "10 mail.example.com."), record("mta-sts.example.com.", "CNAME", "mail.example.com."))
    changes, _unchanged = dns_update.plan_zone(ZONE, desired, {})
    prerequisites, updates = sections(one_message(changes))
    assert ("example.com.", "NONE", "MX", 0, None) in prerequisites  # 2.4.3: RRset does not exist
    assert ("mta-sts.example.com.", "NONE", "ANY", 0, None) in prerequisites  # 2.4.5: name is not in use
    assert ("example.com.", "IN", "MX", 3600, "10 mail.example.com.") in updates
    assert not [row for row in updates if row[1] == "ANY"]  # nothing to delete


def test_a_removal_requires_the_values_read_and_deletes_the_rrset():
    desired = desired_of(record("_dmarc.example.com.", "TXT", "v=DMARC1; p=reject"))
    found = {("_dmarc.example.com.", "TXT"): current(3600, "TXT", '"v=DMARC1; p=reject"')}
    changes, _unchanged = dns_update.plan_zone(ZONE, desired, found, state="absent")
    prerequisites, updates = sections(one_message(changes))
    assert prerequisites == [("_dmarc.example.com.", "IN", "TXT", 0, '"v=DMARC1; p=reject"')]
    assert updates == [("_dmarc.example.com.", "ANY", "TXT", 0, None)]


def test_messages_are_signed_and_parse_back():
    desired = desired_of(record("dkim._domainkey.example.com.", "TXT", "v=DKIM1; k=rsa; p=" + "B" * 400))
    changes, _unchanged = dns_update.plan_zone(ZONE, desired, {})
    message = one_message(changes)
    wire = message.to_wire()
    parsed = dns.message.from_wire(wire, keyring=KEY)
    assert parsed.had_tsig and parsed.keyname == dns.name.from_text("mail-update.")
    (added,) = [rrset for rrset in parsed.update if rrset.rdclass == dns.rdataclass.IN]
    assert [len(part) for part in added[0].strings] == [255, 163]


def big_zone_changes(domains, key_octets=550):
    """Changes adding the full record set of ``domains`` subdomains, DKIM keys of ``key_octets`` (4096-bit: 550)."""
    items = []
    for index in range(domains):
        name = "d%03d.example.com" % index
        items += [
            record(name, "MX", "10 mail.example.com."),
            record(name, "TXT", "v=spf1 mx -all"),
            record("dkim._domainkey." + name, "TXT", "v=DKIM1; k=rsa; p=" + base64.b64encode(bytes(key_octets)).decode()),
            record("_dmarc." + name, "TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@" + name),
            record("_mta-sts." + name, "TXT", "v=STSv1; id=20260101"),
            record("mta-sts." + name, "CNAME", "mail.example.com."),
            record("_smtp._tls." + name, "TXT", "v=TLSRPTv1; rua=mailto:tls@" + name),
        ]
    changes, _unchanged = dns_update.plan_zone(ZONE, desired_of(*items), {})
    return changes


def test_200_domains_with_4096_bit_keys_fill_few_messages_under_the_limit():
    changes = big_zone_changes(200)
    messages = dns_update.build_messages(ZONE, changes, KEY)
    sizes = [len(message.to_wire()) for message, _batch in messages]
    assert all(size <= dns_update.MAX_MESSAGE_OCTETS for size in sizes)
    assert len(messages) > 1  # NOTES.md: they do not fit one UPDATE
    # As few as the limit allows: the packing wastes less than one more message.
    assert len(messages) <= math.ceil(sum(sizes) / dns_update.MAX_MESSAGE_OCTETS) + 1
    assert min(sizes[:-1]) > dns_update.MAX_MESSAGE_OCTETS * 0.95
    # Every change once, in order, never split over two messages.
    assert [change for _message, batch in messages for change in batch] == changes


def test_small_changes_all_fit_one_message():
    changes = big_zone_changes(20, key_octets=32)
    assert len(dns_update.build_messages(ZONE, changes, KEY)) == 1


def test_the_measured_size_bounds_the_real_size():
    desired = desired_of(
        record("x.example.com.", "MX", "10 mail.example.com."),
        record("mta-sts.x.example.com.", "CNAME", "mail.example.com."),
        record("_dmarc.x.example.com.", "TXT", "v=DMARC1; p=reject"),
        record("dkim._domainkey.x.example.com.", "TXT", "v=DKIM1; p=" + "C" * 600),
        record("example.com.", "TXT", "v=spf1 mx -all"),
    )
    found = {
        ("mta-sts.x.example.com.", "CNAME"): current(60, "CNAME", "old.example.net."),
        ("_dmarc.x.example.com.", "TXT"): current(60, "TXT", '"v=DMARC1; p=none"', '"stray"'),
        ("example.com.", "TXT"): current(60, "TXT", '"v=spf1 a -all"'),
    }
    empty = dns.update.UpdateMessage(ZONE + ".")
    empty.use_tsig(KEY)
    for state in ("present", "absent"):
        changes, _unchanged = dns_update.plan_zone(ZONE, desired, found, state)
        assert changes
        for change in changes:
            ((message, _batch),) = dns_update.build_messages(ZONE, [change], KEY)
            assert len(message.to_wire()) - len(empty.to_wire()) <= dns_update._change_octets(ZONE, change)[0]


def test_a_smaller_limit_gives_more_messages_and_an_rrset_too_big_for_any_is_an_error():
    changes = big_zone_changes(10, key_octets=32)
    messages = dns_update.build_messages(ZONE, changes, KEY, max_octets=1024)
    assert len(messages) > 5
    assert all(len(message.to_wire()) <= 1024 for message, _batch in messages)
    with pytest.raises(dns_update.DnsUpdateError, match="alone needs about .* more than one DNS message holds"):
        dns_update.build_messages(ZONE, changes, KEY, max_octets=200)


# ----- reading answers --------------------------------------------------------------------------------


def response(qname, rtype, answers=(), rcode=dns.rcode.NOERROR):
    query = dns.message.make_query(qname, rtype)
    reply = dns.message.make_response(query)
    reply.set_rcode(rcode)
    for text in answers:
        reply.answer.append(dns.rrset.from_text(*text.split(" ", 4)))
    reply.authority.append(dns.rrset.from_text("example.com.", 3600, "IN", "NS", "ns1.example.com."))
    reply.additional.append(dns.rrset.from_text("ns1.example.com.", 3600, "IN", "A", "192.0.2.53"))
    return reply.to_wire()


def test_answers_are_read_at_the_owner_only():
    owner = dns.name.from_text("example.com.")
    wire = response("example.com.", "TXT", ['example.com. 300 IN TXT "v=spf1 " "mx -all"', 'example.com. 300 IN TXT "other"'])
    rcode, found = dns_update._answer_at(wire, owner)
    assert rcode == dns.rcode.NOERROR
    ttl, values = found[dns.rdatatype.TXT]
    assert ttl == 300 and [join_txt(list(value.strings)) for value in values] == ["v=spf1 mx -all", "other"]
    assert set(found) == {dns.rdatatype.TXT}  # NS and glue are not answers


def test_a_cname_at_the_owner_and_its_target_are_told_apart():
    wire = response(
        "mta-sts.example.com.", "TXT", ["mta-sts.example.com. 300 IN CNAME mail.example.com.", 'mail.example.com. 300 IN TXT "x"']
    )
    _rcode, found = dns_update._answer_at(wire, dns.name.from_text("mta-sts.example.com."))
    assert set(found) == {dns.rdatatype.CNAME}
    rcode, found = dns_update._answer_at(response("nx.example.com.", "TXT", rcode=dns.rcode.NXDOMAIN), dns.name.from_text("nx.example.com."))
    assert rcode == dns.rcode.NXDOMAIN and found == {}


# ----- what the user sees ------------------------------------------------------------------------------


def test_diff_and_report_show_rrsets_before_and_after_as_zone_lines():
    desired = desired_of(record("_dmarc.example.com.", "TXT", "v=DMARC1; p=reject", ttl=300), record("example.com.", "MX", "10 mail.example.com."))
    found = {("_dmarc.example.com.", "TXT"): current(3600, "TXT", '"v=DMARC1; p=none"'), ("example.com.", "MX"): None}
    changes, _unchanged = dns_update.plan_zone(ZONE, desired, found)
    diff = dns_update.zone_diff(ZONE, "192.0.2.53 port 53", changes)
    assert diff["before"] == '_dmarc.example.com. 3600 IN TXT "v=DMARC1; p=none"\n'
    assert diff["after"] == 'example.com. 3600 IN MX 10 mail.example.com.\n_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject"\n'
    assert "example.com on 192.0.2.53 port 53" in diff["before_header"]
    reports = [dns_update.change_report(change) for change in changes]
    assert reports[1] == {
        "zone": ZONE,
        "name": "_dmarc.example.com.",
        "type": "TXT",
        "action": "change",
        "before": {"ttl": 3600, "values": ["v=DMARC1; p=none"]},
        "after": {"ttl": 300, "values": ["v=DMARC1; p=reject"]},
        "domains": [ZONE],
        "detail": None,
    }


def test_publish_checks_its_input_before_any_connection():
    with pytest.raises(SpecError, match="state"):
        dns_update.publish([], "192.0.2.1", KEY, state="gone")
    with pytest.raises(SpecError, match=r"records\[0\]"):
        dns_update.publish([{"name": "x.example.com."}], "192.0.2.1", KEY)
    # Nothing to publish: no zone, no connection, no change.
    assert dns_update.publish([], "192.0.2.1", KEY) == {"changed": False, "changes": [], "messages": 0, "zones": {}, "diff": []}


def test_messages_past_the_first_16_kib_stay_under_the_limit():
    # Compression pointers reach only the first 16 KiB: later owners are written again in full.
    # A short zone name with many short owners is where an estimate that forgets it overflows.
    items = []
    for index in range(400):
        name = "d%04d.a.test" % index
        items += [
            record(name, "MX", "10 mail.bench-mx.test.", zone="a.test"),
            record(name, "TXT", "v=spf1 mx -all", zone="a.test"),
            record("dkim._domainkey." + name, "TXT", "v=DKIM1; k=rsa; p=" + "A" * 392, zone="a.test"),
            record("_dmarc." + name, "TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@" + name, zone="a.test"),
            record("_mta-sts." + name, "TXT", "v=STSv1; id=20260101", zone="a.test"),
            record("mta-sts." + name, "CNAME", "mail.bench-mx.test.", zone="a.test"),
            record("_smtp._tls." + name, "TXT", "v=TLSRPTv1; rua=mailto:tls@" + name, zone="a.test"),
        ]
    changes, _unchanged = dns_update.plan_zone("a.test", dns_update.desired_rrsets(items)["a.test"], {})
    messages = dns_update.build_messages("a.test", changes, KEY)
    sizes = [len(message.to_wire()) for message, _batch in messages]
    assert max(sizes) <= dns_update.MAX_MESSAGE_OCTETS
    assert len(messages) <= math.ceil(sum(sizes) / dns_update.MAX_MESSAGE_OCTETS) + 1
    assert sum(len(batch) for _message, batch in messages) == 2800

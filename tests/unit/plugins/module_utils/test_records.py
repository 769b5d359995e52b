"""Tests of the inventory model (spec) and the desired record set (records)."""

import base64

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import dkim, dmarc, mta_sts, records, spf, tlsrpt
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError, join_txt
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_model

MAIL_HOST = "mail.example.com"


@pytest.fixture(scope="module")
def rsa_public_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


@pytest.fixture
def seed_domains(rsa_public_key):
    """The two seeds: a mailcow domain delegating to the mail host, and a standalone one."""
    return [
        {
            "name": "example.com",
            "dkim": {"selector": "dkim", "public_key": rsa_public_key},
            "dmarc": {"policy": "reject", "rua": ["mailto:dmarc@example.com"], "adkim": "s", "aspf": "s"},
            "mta_sts": {"mode": "enforce", "max_age": 604800, "delegate_to": MAIL_HOST},
            "tlsrpt": {"rua": ["mailto:tls-reports@example.com"], "delegate_to": MAIL_HOST},
        },
        {
            "name": "Example.NET.",
            "dkim": {"selector": "dkim", "public_key": rsa_public_key},
            "dmarc": {"policy": "reject", "rua": ["mailto:dmarc@example.net"]},
            "mta_sts": {"mode": "enforce"},
            "tlsrpt": {"rua": ["mailto:tls-reports@example.net"]},
        },
    ]


def build(domains, **kwargs):
    kwargs.setdefault("mail_host", MAIL_HOST)
    return records.desired_records(normalize_model(domains, **kwargs))


def by_key(recs):
    return {(record["name"], record["type"]): record for record in recs}


def test_every_standard_gets_its_record_at_its_name(seed_domains):
    recs = by_key(build(seed_domains))
    for name, rtype in [
        ("example.net.", "MX"),
        ("example.net.", "TXT"),
        ("dkim._domainkey.example.net.", "TXT"),
        ("_dmarc.example.net.", "TXT"),
        ("_mta-sts.example.net.", "TXT"),
        ("mta-sts.example.net.", "CNAME"),
        ("_smtp._tls.example.net.", "TXT"),
    ]:
        assert (name, rtype) in recs, (name, rtype)
    assert recs[("example.net.", "MX")]["value"] == "10 mail.example.com."
    assert recs[("mta-sts.example.net.", "CNAME")]["value"] == "mail.example.com."


def test_generated_txt_records_pass_their_own_parsers(seed_domains):
    parsers = {
        "spf": spf.parse,
        "dkim": dkim.parse,
        "dmarc": dmarc.parse,
        "mta_sts": mta_sts.parse_txt,
        "tlsrpt": tlsrpt.parse,
    }
    txt = [record for record in build(seed_domains) if record["type"] == "TXT"]
    assert {record["standard"] for record in txt} == set(parsers)
    for record in txt:
        verdict = parsers[record["standard"]](record["value"])
        assert verdict["valid"], (record, verdict["errors"])


def test_delegation_is_cnames_plus_one_shared_txt_at_the_mail_host(seed_domains):
    recs = by_key(build(seed_domains))
    assert recs[("_mta-sts.example.com.", "CNAME")]["value"] == "_mta-sts.mail.example.com."
    assert recs[("_smtp._tls.example.com.", "CNAME")]["value"] == "_smtp._tls.mail.example.com."
    assert recs[("mta-sts.example.com.", "CNAME")]["value"] == "mail.example.com."
    shared = recs[("_mta-sts.mail.example.com.", "TXT")]
    assert shared["domain"] == MAIL_HOST and shared["zone"] == "example.com"
    assert ("_mta-sts.example.com.", "TXT") not in recs


def test_domains_sharing_a_delegate_must_share_the_policy(seed_domains):
    seed_domains[1]["mta_sts"] = {"mode": "testing", "delegate_to": MAIL_HOST}
    with pytest.raises(SpecError) as info:
        build(seed_domains)
    assert "mta_sts.delegate_to" in str(info.value) and "example.net" in str(info.value)


def test_two_delegating_domains_with_one_policy_publish_one_txt(seed_domains):
    seed_domains[1]["mta_sts"] = dict(seed_domains[0]["mta_sts"])
    recs = build(seed_domains)
    shared = [r for r in recs if r["name"] == "_mta-sts.mail.example.com." and r["type"] == "TXT"]
    assert len(shared) == 1


def test_mta_sts_id_follows_the_policy(seed_domains):
    first = by_key(build(seed_domains))[("_mta-sts.example.net.", "TXT")]["value"]
    again = by_key(build(seed_domains))[("_mta-sts.example.net.", "TXT")]["value"]
    seed_domains[1]["mta_sts"]["max_age"] = 86400
    changed = by_key(build(seed_domains))[("_mta-sts.example.net.", "TXT")]["value"]
    assert first == again
    assert first != changed
    policy = records.mta_sts_policy(normalize_model(seed_domains, mail_host=MAIL_HOST)["domains"][1])
    assert mta_sts.parse_txt(changed)["id"] == mta_sts.policy_id(policy)


def test_policy_host_addresses_give_a_and_aaaa_instead_of_cname(seed_domains):
    seed_domains[1]["mta_sts"]["policy_host_addresses"] = ["192.0.2.10", "2001:db8::10"]
    recs = by_key(build(seed_domains))
    assert recs[("mta-sts.example.net.", "A")]["value"] == "192.0.2.10"
    assert recs[("mta-sts.example.net.", "AAAA")]["value"] == "2001:db8::10"
    assert ("mta-sts.example.net.", "CNAME") not in recs


def test_mx_list_with_priorities_and_default_from_mail_host():
    recs = build([{"name": "example.org", "mx": [{"host": "mx2.example.org", "priority": 20}, "mx1.example.org"]}])
    values = sorted(r["value"] for r in recs if r["type"] == "MX")
    assert values == ["20 mx1.example.org.", "20 mx2.example.org."]
    recs = build(["example.org"])
    assert [r["value"] for r in recs if r["type"] == "MX"] == ["10 mail.example.com."]


def test_no_mx_and_no_mail_host_names_the_field():
    with pytest.raises(SpecError) as info:
        records.desired_records(normalize_model([{"name": "example.org"}]))
    assert "domain 'example.org': mx:" in str(info.value)


@pytest.mark.parametrize(
    "entry, field",
    [
        ({"name": "exa mple.com"}, "name"),
        ({"name": "example.com", "mta_sts": {"mode": "enforced"}}, "mta_sts.mode"),
        ({"name": "example.com", "mta_sts": {"max_age": -1}}, "mta_sts.max_age"),
        ({"name": "example.com", "dmarc": {"policy": "reject", "rua": ["dmarc@example.com"]}}, "dmarc.rua"),
        ({"name": "example.com", "mta_sts": {"mx": ["*"]}}, "mta_sts.mx"),
        ({"name": "example.com", "ttl": -5}, "ttl"),
        ({"name": "example.com", "mx": ["mail.example.com", "MAIL.example.com."]}, "mx[1]"),
        ({"name": "example.com", "spff": {}}, "spff"),
        ({"name": "example.com", "zone": "example.org"}, "zone"),
    ],
)
def test_bad_specs_name_the_domain_and_the_field(entry, field):
    with pytest.raises(SpecError) as info:
        build([entry])
    message = str(info.value)
    assert "example.com" in message or entry["name"] in message
    assert field in message, message


def test_duplicate_domains_are_refused():
    with pytest.raises(SpecError, match="listed twice"):
        build(["example.com", "EXAMPLE.com."])


def test_defaults_merge_under_each_domain_and_domain_keys_win():
    model = normalize_model(
        [{"name": "a.example", "dmarc": {"policy": "quarantine"}}, {"name": "b.example"}],
        mail_host=MAIL_HOST,
        defaults={"dmarc": {"policy": "reject", "adkim": "s"}},
    )
    first, second = model["domains"]
    assert dmarc.parse(dmarc.build(first["dmarc"]))["policy"] == "quarantine"
    assert dmarc.parse(dmarc.build(first["dmarc"]))["adkim"] == "s"
    assert dmarc.parse(dmarc.build(second["dmarc"]))["policy"] == "reject"


def test_internationalized_domain_becomes_a_labels():
    recs = build([{"name": "b\u00fccher.example", "spf": {"mechanisms": ["mx"]}}])
    assert {r["name"] for r in recs if r["type"] == "MX"} == {"xn--bcher-kva.example."}


def test_cname_cannot_share_a_name_with_other_data():
    domains = [
        {"name": "example.com", "mta_sts": {"delegate_to": "mail.example.com"}},
        {"name": "mail.example.com", "mta_sts": {"delegate_to": "mx.example.org"}},
    ]
    with pytest.raises(SpecError, match="CNAME"):
        build(domains)


def test_one_name_cannot_get_two_different_records_of_one_standard():
    domains = [
        {"name": "example.com", "mta_sts": {"mode": "testing", "delegate_to": "mail.example.com"}},
        {"name": "mail.example.com", "mta_sts": {"mode": "enforce"}},
    ]
    with pytest.raises(SpecError) as info:
        build(domains)
    assert "_mta-sts.mail.example.com." in str(info.value) and "two" in str(info.value)


def test_records_are_deduplicated_and_zones_assigned():
    recs = build(["example.com", "example.net"], zones=["example.com"])
    keys = [(r["name"], r["type"], r["value"]) for r in recs]
    assert len(keys) == len(set(keys))
    assert {r["zone"] for r in recs if r["name"].endswith("example.net.")} == {"example.net"}


def test_zone_lines_split_long_txt_and_relativize(rsa_public_key):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    big = rsa.generate_private_key(public_exponent=65537, key_size=4096).public_key()
    der = big.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    key = base64.b64encode(der).decode()
    recs = build([{"name": "example.com", "dkim": {"selector": "s2026", "public_key": key}}])
    lines = records.to_zone_lines(recs, origin="example.com", header=True)
    assert lines[0] == "$ORIGIN example.com."
    dkim_line = [line for line in lines if line.startswith("s2026._domainkey ")][0]
    presentation = dkim_line.split(" IN TXT ", 1)[1].strip()
    strings = presentation.split('" "')
    assert len(strings) >= 3
    assert all(len(part.strip('"')) <= 255 for part in strings)
    assert dkim.parse(join_txt(presentation))["key_bits"] == 4096
    apex = [line for line in lines if line.startswith("@ ")]
    assert any(" IN MX " in line for line in apex)


def test_zone_lines_escape_quotes_and_backslashes():
    record = {"name": "x.example.", "type": "TXT", "ttl": 60, "value": 'say "hi" \\ bye'}
    line = records.to_zone_lines([record])[0]
    assert line.endswith('"say \\"hi\\" \\\\ bye"')
    assert join_txt(line.split(" IN TXT ", 1)[1].strip()) == record["value"]


def test_table_has_a_header_and_one_row_per_record(seed_domains):
    recs = build(seed_domains)
    table = records.to_table(recs, max_value=40)
    assert table[0].split() == ["NAME", "TYPE", "TTL", "VALUE"]
    assert len(table) == len(recs) + 1
    assert all(len(line.split(None, 3)[3]) <= 40 for line in table[1:])


def test_a_dkim_key_a_host_will_make_is_validated_without_a_record():
    """The site playbook validates before the keys exist: mailsec_dkim_keys names them (docs/inventory.md)."""
    domains = [{"name": "example.com", "dkim": {"selector": "DKIM", "testing": True}}]
    with pytest.raises(SpecError, match="dkim.public_key"):
        normalize_model(domains, mail_host="mail.example.com")
    model = normalize_model(domains, mail_host="mail.example.com", dkim_keys=[{"domain": "Example.COM", "selector": "dkim", "path": "/k"}])
    assert model["domains"][0]["dkim"] == [{"selector": "dkim", "pending": True}]
    assert [record for record in records.desired_records(model) if record["standard"] == "dkim"] == []
    with pytest.raises(SpecError, match=r"mailsec_dkim_keys\[0\]\.domain: other.example is not in mailsec_domains"):
        normalize_model([{"name": "example.com"}], mail_host="mail.example.com", dkim_keys=[{"domain": "other.example", "selector": "dkim"}])
    with pytest.raises(SpecError, match=r"mailsec_dkim_keys\[0\]\.selector: is required"):
        normalize_model(domains, mail_host="mail.example.com", dkim_keys=[{"domain": "example.com"}])
    with pytest.raises(SpecError, match="dkim.public_key"):  # a key for another selector does not stand in
        normalize_model(domains, mail_host="mail.example.com", dkim_keys=[{"domain": "example.com", "selector": "s2"}])

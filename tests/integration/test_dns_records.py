"""dns_records, dkim_key and tlsa_record against a real BIND 9, through ansible-playbook.

BIND runs on 127.0.0.1 with a TSIG key (tests/harness). Everything the modules publish is read back
with dnspython over TCP, record by record, and compared with what the engine computes.
"""

import base64
import os
import stat

import dns.message
import dns.query
import dns.rdatatype
import pytest

from harness import Blackhole, free_port
from harness.publishing import SERVER_ARGUMENTS, mail_domain, publish_task, rsa_public_key, server_vars
from ansible_collections.mailsec.posture.plugins.module_utils import dane, dkim, dkim_keyfile, dns_update
from ansible_collections.mailsec.posture.plugins.module_utils.records import desired_records
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_model

pytestmark = pytest.mark.slow

ZONE = "example.test"
MAIL_HOST = "mail.example.test"
BASE_ZONE = [{"name": "mail", "type": "A", "value": "127.0.0.1"}]
DOMAINS = 200
PLAYBOOK_TIMEOUT = 300


@pytest.fixture(scope="module")
def rsa_4096_public_key():
    return rsa_public_key(4096)


def mail_domains(count, public_key):
    return [mail_domain("d%03d.%s" % (index, ZONE), ZONE, public_key) for index in range(count)]


def publish_play(records="{{ query('mailsec.posture.mail_records') }}", **options):
    """A play with one dns_records task (named 'publish') whose records and options are Jinja."""
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [publish_task(records, **options)]}]


def served(bind, name, rtype):
    """The values at (name, type) as the server answers over TCP: TXT joined, others as text."""
    query = dns.message.make_query(name, rtype)
    response = dns.query.tcp(query, bind.address, port=bind.port, timeout=5)
    values = set()
    for rrset in response.answer:
        if rrset.name.to_text() == name and rrset.rdtype == dns.rdatatype.from_text(rtype):
            for rdata in rrset:
                values.add(b"".join(rdata.strings).decode() if rtype == "TXT" else rdata.to_text().lower())
    return values


def expected_rrsets(records):
    expected = {}
    for item in records:
        value = item["value"] if item["type"] == "TXT" else item["value"].lower()
        expected.setdefault((item["name"], item["type"]), set()).add(value)
    return expected


def assert_no_traceback(result):
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text, text[-3000:]


def test_200_domains_publish_in_one_call_and_again_change_nothing(bind_server, run_playbook, rsa_4096_public_key):
    bind = bind_server({ZONE: BASE_ZONE})
    domains = mail_domains(DOMAINS, rsa_4096_public_key)
    records = desired_records(normalize_model(domains, mail_host=MAIL_HOST))
    expected = expected_rrsets(records)
    assert len(expected) == 7 * DOMAINS
    extra = server_vars(bind, mailsec_domains=domains, mailsec_mail_host=MAIL_HOST)

    # Check mode with diff: the plan, nothing sent.
    predicted = run_playbook(publish_play(), extra_vars=extra, check=True, diff=True, timeout=PLAYBOOK_TIMEOUT).assert_ok(changed=1)
    plan = predicted.task_result("publish")
    assert plan["zones"] == {ZONE: {"added": 7 * DOMAINS, "changed": 0, "removed": 0, "unchanged": 0, "messages": plan["messages"]}}
    assert plan["messages"] > 1  # 200 domains with 4096-bit keys do not fit one UPDATE
    assert len(plan["changes"]) == 7 * DOMAINS and {change["action"] for change in plan["changes"]} == {"add"}
    (diff,) = plan["diff"]
    assert diff["before"] == ""
    assert '_dmarc.d007.example.test. 3600 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@d007.example.test"\n' in diff["after"]
    assert "mta-sts.d007.example.test. 3600 IN CNAME mail.example.test.\n" in diff["after"]
    assert served(bind, "_dmarc.d007.example.test.", "TXT") == set()

    # The real run sends exactly the predicted messages, and every record is there.
    published = run_playbook(publish_play(), extra_vars=extra, timeout=PLAYBOOK_TIMEOUT).assert_ok(changed=1)
    result = published.task_result("publish")
    assert result["messages"] == plan["messages"]
    assert result["changes"] == plan["changes"]
    for (name, rtype), values in expected.items():
        assert served(bind, name, rtype) == values, (name, rtype)

    # A 4096-bit DKIM key round-trips intact, in character-strings of at most 255 octets.
    response = dns.query.tcp(dns.message.make_query("dkim._domainkey.d000.example.test.", "TXT"), bind.address, port=bind.port, timeout=5)
    (txt,) = response.answer[0]
    assert len(txt.strings) > 1 and all(len(part) <= 255 for part in txt.strings)
    (dkim_record,) = [item for item in records if item["standard"] == "dkim" and item["domain"] == "d000.example.test"]
    assert b"".join(txt.strings).decode() == dkim_record["value"]
    assert dkim.parse(list(txt.strings))["key_bits"] == 4096

    # Nothing to do the second time, in check mode and for real.
    again = run_playbook(publish_play(), extra_vars=extra, check=True, timeout=PLAYBOOK_TIMEOUT).assert_ok(changed=0)
    assert again.task_result("publish")["messages"] == 0
    again = run_playbook(publish_play(), extra_vars=extra, diff=True, timeout=PLAYBOOK_TIMEOUT).assert_ok(changed=0)
    result = again.task_result("publish")
    assert result["messages"] == 0 and result["changes"] == [] and result["diff"] == []
    assert result["zones"][ZONE]["unchanged"] == 7 * DOMAINS

    # Removing one domain removes its managed records and nothing else.
    removal = publish_play(records="{{ query('mailsec.posture.mail_records') | selectattr('domain', 'equalto', 'd042.example.test') }}", state="absent")
    removed = run_playbook(removal, extra_vars=extra, diff=True, timeout=PLAYBOOK_TIMEOUT).assert_ok(changed=1)
    result = removed.task_result("publish")
    assert result["zones"][ZONE]["removed"] == 7 and result["messages"] == 1
    assert result["diff"][0]["after"] == ""
    for (name, rtype), values in expected.items():
        if name.endswith("d042.example.test."):
            assert served(bind, name, rtype) == set(), (name, rtype)
        elif name.startswith(("d041", "d043", "_dmarc.d041", "dkim._domainkey.d043")):
            assert served(bind, name, rtype) == values, (name, rtype)
    assert served(bind, MAIL_HOST + ".", "A") == {"127.0.0.1"}
    zone = bind.transfer(ZONE)
    assert len([name for name in zone.nodes if "d042" in name.to_text()]) == 0
    assert len([name for name in zone.nodes if "d043" in name.to_text()]) == 6
    run_playbook(removal, extra_vars=extra, timeout=PLAYBOOK_TIMEOUT).assert_ok(changed=0)


def test_a_changed_record_is_replaced_and_other_txt_kept_unless_told_otherwise(bind_server, run_playbook):
    existing = ['@ 3600 IN TXT "google-site-verification=abc"', '@ 3600 IN TXT "v=spf1 a -all"', '_dmarc 300 IN TXT "v=DMARC1; p=none"']
    bind = bind_server({ZONE: BASE_ZONE + existing})
    records = [
        {"name": ZONE + ".", "type": "TXT", "value": "v=spf1 mx -all", "ttl": 3600, "zone": ZONE},
        {"name": "_dmarc." + ZONE + ".", "type": "TXT", "value": "v=DMARC1; p=reject", "ttl": 3600, "zone": ZONE},
    ]
    play = publish_play(records="{{ wanted }}", keep_other_txt=True)
    extra = server_vars(bind, wanted=records)
    result = run_playbook(play, extra_vars=extra, check=True, diff=True).assert_ok(changed=1).task_result("publish")
    assert [(change["name"], change["action"]) for change in result["changes"]] == [(ZONE + ".", "change"), ("_dmarc.example.test.", "change")]
    assert result["changes"][1]["before"] == {"ttl": 300, "values": ["v=DMARC1; p=none"]}
    assert result["changes"][1]["after"] == {"ttl": 3600, "values": ["v=DMARC1; p=reject"]}
    (diff,) = result["diff"]
    assert '_dmarc.example.test. 300 IN TXT "v=DMARC1; p=none"' in diff["before"]
    assert 'example.test. 3600 IN TXT "v=spf1 mx -all"' in diff["after"]
    assert 'example.test. 3600 IN TXT "google-site-verification=abc"' in diff["after"]
    assert served(bind, "_dmarc.example.test.", "TXT") == {"v=DMARC1; p=none"}

    run_playbook(play, extra_vars=extra).assert_ok(changed=1)
    assert served(bind, ZONE + ".", "TXT") == {"google-site-verification=abc", "v=spf1 mx -all"}
    assert served(bind, "_dmarc.example.test.", "TXT") == {"v=DMARC1; p=reject"}
    run_playbook(play, extra_vars=extra).assert_ok(changed=0)
    # keep_other_txt is the default; with false the managed RRset holds exactly the listed values.
    run_playbook(publish_play(records="{{ wanted }}"), extra_vars=extra).assert_ok(changed=0)
    run_playbook(publish_play(records="{{ wanted }}", keep_other_txt=False), extra_vars=extra).assert_ok(changed=1)
    assert served(bind, ZONE + ".", "TXT") == {"v=spf1 mx -all"}


ERROR_CASES = {
    "wrong secret": (
        {"key_secret": base64.b64encode(b"not the server's secret, 32 oct").decode()},
        "the server rejected the TSIG signature of the SOA query (BADSIG): key_secret or key_algorithm does not match the server's key mailsec-update",
    ),
    "unknown key": ({"key_name": "somebody-else"}, "the server does not know the TSIG key somebody-else with algorithm hmac-sha256 (BADKEY)"),
    "zone not served": (
        {"records": [{"name": "_dmarc.other.test.", "type": "TXT", "value": "v=DMARC1; p=none", "zone": "other.test"}]},
        "zone other.test on 127.0.0.1 port {port}: the server answered NXDOMAIN to a query for the zone's SOA: it does not serve this zone",
    ),
    "check-integrity": (
        {"records": [{"name": "x.example.test.", "type": "MX", "value": "10 nohost.example.test.", "zone": ZONE}]},
        "UPDATE 1 of 1 refused: the server REFUSED the update (REFUSED): either the key mailsec-update may not update this zone "
        "(allow-update/update-policy), or a record failed the server's own checks, such as BIND's check-integrity",
    ),
    "cname in the way": (
        {"records": [{"name": "mail.example.test.", "type": "CNAME", "value": "elsewhere.example.net.", "zone": ZONE}]},
        "a prerequisite failed (YXDOMAIN): a name that should get a CNAME (mail.example.test.) already holds other records",
    ),
    "server down": ({"port": "{{ closed_port }}"}, "connection refused: no DNS server listens on TCP there"),
    "timeout": ({"port": "{{ silent_port }}", "timeout": 1.5}, "timed out after 1.5 s waiting for the answer to the SOA query"),
}


def test_every_failure_is_a_clear_message_naming_zone_and_server(bind_server, run_playbook):
    bind = bind_server({ZONE: BASE_ZONE})
    record = [{"name": "_dmarc.example.test.", "type": "TXT", "value": "v=DMARC1; p=none", "zone": ZONE}]
    tasks = []
    for case, (options, _message) in ERROR_CASES.items():
        arguments = dict(SERVER_ARGUMENTS, records=record)
        arguments.update(options)
        tasks.append({"name": case, "mailsec.posture.dns_records": arguments, "ignore_errors": True})
    with Blackhole() as silent:
        extra = server_vars(bind, closed_port=free_port("127.0.0.1"), silent_port=silent.port)
        result = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], extra_vars=extra)
    assert result.rc == 0, result.describe()  # every failure was ignored, none crashed the run
    assert_no_traceback(result)
    for case, (_options, message) in ERROR_CASES.items():
        outcome = result.task_result(case)
        assert outcome.get("failed") is True, (case, outcome)
        # ansible-core 2.19 adds exception='(traceback unavailable)' to every fail_json: no Python traceback is there.
        assert "Traceback" not in str(outcome.get("exception", "")) and "module_stderr" not in outcome, (case, outcome)
        port = {"server down": extra["closed_port"], "timeout": extra["silent_port"]}.get(case, bind.port)
        assert message.format(port=port) in outcome["msg"], (case, outcome["msg"])
        assert ("on 127.0.0.1 port %d" % port) in outcome["msg"], (case, outcome["msg"])
        assert extra["tsig_secret"] not in result.stdout
    # Nothing was published by any of them.
    assert served(bind, "_dmarc.example.test.", "TXT") == set()
    assert served(bind, "x.example.test.", "MX") == set()


def test_a_concurrent_change_fails_clearly_and_is_not_overwritten(bind_server):
    bind = bind_server({ZONE: BASE_ZONE + ['_dmarc 3600 IN TXT "v=DMARC1; p=none"']})
    key = dns_update.tsig_key(bind.tsig_name, bind.tsig_secret)
    wanted = [
        {"name": "_dmarc.example.test.", "type": "TXT", "value": "v=DMARC1; p=reject", "zone": ZONE},
        {"name": "_smtp._tls.example.test.", "type": "TXT", "value": "v=TLSRPTv1; rua=mailto:t@example.test", "zone": ZONE},
    ]
    desired = dns_update.desired_rrsets(wanted)[ZONE]
    with dns_update.Connection(bind.address, bind.port, key, ZONE, timeout=5) as connection:
        current, _cnames = dns_update.read_rrsets(connection, ZONE, desired)
        changes, _unchanged = dns_update.plan_zone(ZONE, desired, current)
        messages = dns_update.build_messages(ZONE, changes, key)
        # Someone else changes the record between our read and our update.
        other = bind.new_update(ZONE)
        other.replace("_dmarc.example.test.", 3600, "TXT", '"v=DMARC1; p=quarantine"')
        assert bind.send(other).rcode() == 0
        with pytest.raises(dns_update.DnsUpdateError) as caught:
            dns_update.send_messages(connection, ZONE, messages)
    message = str(caught.value)
    assert message.startswith("zone example.test on 127.0.0.1 port %d: UPDATE 1 of 1 refused: a prerequisite failed (NXRRSET)" % bind.port)
    assert "the records changed on the server after they were read, so this update was not applied and nothing was overwritten" in message
    assert "_dmarc.example.test. TXT (read: 'v=DMARC1; p=none'; now: 'v=DMARC1; p=quarantine')" in message
    assert served(bind, "_dmarc.example.test.", "TXT") == {"v=DMARC1; p=quarantine"}
    assert served(bind, "_smtp._tls.example.test.", "TXT") == set()  # the whole message was refused
    # Run again: the new state is read and replaced.
    assert dns_update.publish(wanted, bind.address, key, port=bind.port)["zones"][ZONE]["changed"] == 1
    assert served(bind, "_dmarc.example.test.", "TXT") == {"v=DMARC1; p=reject"}

    # A record created meanwhile where none was read is not overwritten either.
    third = [{"name": "_mta-sts.example.test.", "type": "TXT", "value": "v=STSv1; id=1", "zone": ZONE}]
    desired = dns_update.desired_rrsets(third)[ZONE]
    with dns_update.Connection(bind.address, bind.port, key, ZONE, timeout=5) as connection:
        current, _cnames = dns_update.read_rrsets(connection, ZONE, desired)
        messages = dns_update.build_messages(ZONE, dns_update.plan_zone(ZONE, desired, current)[0], key)
        other = bind.new_update(ZONE)
        other.add("_mta-sts.example.test.", 3600, "TXT", '"v=STSv1; id=theirs"')
        assert bind.send(other).rcode() == 0
        with pytest.raises(dns_update.DnsUpdateError, match=r"prerequisite failed \(YXRRSET\).*read: none; now: 'v=STSv1; id=theirs'"):
            dns_update.send_messages(connection, ZONE, messages)
    assert served(bind, "_mta-sts.example.test.", "TXT") == {"v=STSv1; id=theirs"}


def test_a_cname_in_the_way_stops_before_anything_is_sent(bind_server):
    bind = bind_server({ZONE: BASE_ZONE + ["mta-sts 3600 IN CNAME mail"]})
    key = dns_update.tsig_key(bind.tsig_name, bind.tsig_secret)
    wanted = [
        {"name": "_dmarc.example.test.", "type": "TXT", "value": "v=DMARC1; p=reject", "zone": ZONE},
        {"name": "mta-sts.example.test.", "type": "A", "value": "127.0.0.1", "zone": ZONE},
    ]
    with pytest.raises(dns_update.DnsUpdateError, match=r"mta-sts.example.test. has a CNAME \(to mail.example.test.\), so it cannot also hold A records"):
        dns_update.publish(wanted, bind.address, key, port=bind.port)
    assert served(bind, "_dmarc.example.test.", "TXT") == set()


def dkim_play(path, **options):
    arguments = {"path": path, "selector": "s2026", "domain": "d1.example.test", "zone": ZONE, "key_bits": 4096}
    arguments.update(options)
    return [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {"name": "key", "mailsec.posture.dkim_key": arguments, "register": "dkim"},
                dict(publish_task(["{{ dkim.record }}"]), when="dkim.record is not none"),
            ],
        }
    ]


def test_dkim_key_check_run_run_and_publish(bind_server, run_playbook, tmp_path):
    bind = bind_server({ZONE: BASE_ZONE})
    path = str(tmp_path / "keys" / "d1.key")
    os.mkdir(tmp_path / "keys")
    extra = server_vars(bind)

    check = run_playbook(dkim_play(path), extra_vars=extra, check=True).assert_ok(changed=1)
    predicted = check.task_result("key")
    assert predicted["created"] is True and predicted["txt"] is None and predicted["record_name"] == "s2026._domainkey.d1.example.test."
    assert not os.path.exists(path)

    first = run_playbook(dkim_play(path), extra_vars=extra).assert_ok(changed=2)
    made = first.task_result("key")
    assert made["created"] is True and made["key_type"] == "rsa" and made["key_bits"] == 4096
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, "rb") as handle:
        described = dkim_keyfile.describe_private_key(handle.read())
    expected_txt = dkim.build(dkim.normalize_spec({"selector": "s2026", "public_key": described["public_key_pem"]}, "d1.example.test")[0])
    assert made["txt"] == expected_txt
    assert "PRIVATE KEY" not in first.stdout
    assert served(bind, "s2026._domainkey.d1.example.test.", "TXT") == {expected_txt}

    with open(path, "rb") as handle:
        key_bytes = handle.read()
    second = run_playbook(dkim_play(path), extra_vars=extra).assert_ok(changed=0)
    assert second.task_result("key")["txt"] == expected_txt
    run_playbook(dkim_play(path), extra_vars=extra, check=True).assert_ok(changed=0)
    with open(path, "rb") as handle:
        assert handle.read() == key_bytes

    # Another size without force: kept, with a warning; with force: a new key, published at once.
    kept = run_playbook(dkim_play(path, key_bits=2048), extra_vars=extra).assert_ok(changed=0)
    assert "holds a 4096-bit rsa key, not the 2048-bit rsa key asked for; it is kept" in " ".join(kept.task_result("key")["warnings"])
    forced = run_playbook(dkim_play(path, key_bits=2048, force=True), extra_vars=extra).assert_ok(changed=2)
    assert forced.task_result("key")["key_bits"] == 2048
    assert served(bind, "s2026._domainkey.d1.example.test.", "TXT") == {forced.task_result("key")["txt"]}


def tlsa_play(files, **options):
    arguments = {"mx": MAIL_HOST, "certificate": files.chain, "zone": ZONE}
    arguments.update(options)
    return [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {"name": "tlsa", "mailsec.posture.tlsa_record": arguments, "register": "tlsa"},
                publish_task("{{ tlsa.records }}"),
            ],
        }
    ]


def test_tlsa_record_check_run_run_and_rollover(bind_server, run_playbook, test_ca, tmp_path):
    bind = bind_server({ZONE: BASE_ZONE})
    current = test_ca.issue(MAIL_HOST).write(str(tmp_path), "current")
    upcoming = test_ca.issue(MAIL_HOST).write(str(tmp_path), "next")
    extra = server_vars(bind)
    owner = "_25._tcp.mail.example.test."
    with open(current.chain) as handle:
        expected = dane.tlsa_from_certificate(handle.read())

    check = run_playbook(tlsa_play(current), extra_vars=extra, check=True).assert_ok(changed=1)
    assert check.task_result("tlsa")["values"] == [expected] and check.task_result("tlsa")["changed"] is False
    assert served(bind, owner, "TLSA") == set()
    run_playbook(tlsa_play(current), extra_vars=extra).assert_ok(changed=1)
    assert served(bind, owner, "TLSA") == {expected}
    run_playbook(tlsa_play(current), extra_vars=extra).assert_ok(changed=0)
    run_playbook(tlsa_play(current), extra_vars=extra, check=True).assert_ok(changed=0)

    # Rollover: the next key beside the current one, from its private key file.
    with open(upcoming.key) as handle:
        next_value = dane.tlsa_from_public_key(handle.read())
    rollover = run_playbook(tlsa_play(current, next_public_key=upcoming.key), extra_vars=extra).assert_ok(changed=1)
    assert rollover.task_result("tlsa")["values"] == [expected, next_value]
    assert served(bind, owner, "TLSA") == {expected, next_value}
    # After the switch only the new key stays.
    run_playbook(tlsa_play(upcoming), extra_vars=extra).assert_ok(changed=1)
    assert served(bind, owner, "TLSA") == {next_value}

    missing = run_playbook(tlsa_play(current, certificate=str(tmp_path / "absent.pem")), extra_vars=extra)
    assert missing.rc != 0
    assert "certificate: %s: does not exist" % (tmp_path / "absent.pem") in missing.task_result("tlsa")["msg"]
    assert_no_traceback(missing)


def test_more_zones_than_the_server_keeps_tcp_clients_for(bind_server):
    # BIND serves 150 TCP clients at a time (tcp-clients) and closes idle connections: each zone
    # gets its own short connections, so 200 zones in one call work.
    zones = {"z%03d.test" % index: [] for index in range(200)}
    zones["mx.test"] = [{"name": "mail", "type": "A", "value": "127.0.0.1"}]
    bind = bind_server(zones)
    key = dns_update.tsig_key(bind.tsig_name, bind.tsig_secret)
    wanted = []
    for index in range(200):
        zone = "z%03d.test" % index
        wanted += [
            {"name": zone + ".", "type": "MX", "value": "10 mail.mx.test.", "zone": zone},
            {"name": "_dmarc." + zone + ".", "type": "TXT", "value": "v=DMARC1; p=reject", "zone": zone},
        ]
    result = dns_update.publish(wanted, bind.address, key, port=bind.port)
    assert result["messages"] == 200 and len(result["zones"]) == 200
    assert served(bind, "_dmarc.z199.test.", "TXT") == {"v=DMARC1; p=reject"}
    assert dns_update.publish(wanted, bind.address, key, port=bind.port)["changed"] is False

    # A refusal in a later zone says which zones were already updated.
    changed = [dict(item, value="v=DMARC1; p=quarantine") if item["type"] == "TXT" else item for item in wanted[:4]]
    changed.append({"name": "x.z001.test.", "type": "MX", "value": "10 nohost.z001.test.", "zone": "z001.test"})
    with pytest.raises(dns_update.DnsUpdateError) as caught:
        dns_update.publish(changed, bind.address, key, port=bind.port)
    assert str(caught.value).startswith("zone z001.test on 127.0.0.1 port %d: UPDATE 1 of 1 refused: the server REFUSED the update" % bind.port)
    assert str(caught.value).endswith("(1 other zone(s) were updated before this one: z000.test)")
    assert served(bind, "_dmarc.z000.test.", "TXT") == {"v=DMARC1; p=quarantine"}
    assert served(bind, "_dmarc.z001.test.", "TXT") == {"v=DMARC1; p=reject"}

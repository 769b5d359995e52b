"""The fuzz and fault suite of issue 13 against real servers, through ansible-playbook: BIND stopped in
the middle of a run, an UPDATE whose answer never comes (a TCP relay on loopback that forwards it to
BIND and drops the answer), the TXT records of others at a managed name, mailcow.conf as mailcow's
own generate_config.sh writes it (from ../shared/mailcow, extracted at test time) shown in diff mode,
and the messages a user reads about values of the wrong kind.

The figures go to the terminal summary (tests/fault_figures.py).
"""

import glob
import os
import re
import socket
import subprocess
import tarfile
import threading
import time

import dns.exception
import dns.message
import dns.query
import dns.rdatatype
import pytest

from fault_figures import record
from harness.publishing import publish_task, server_vars

pytestmark = pytest.mark.slow

PLAYBOOK_TIMEOUT = 300
MAILCOW_SOURCES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "mailcow")


def play(*tasks):
    return [{"hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}]


def txt_at(bind, name, timeout=2.0):
    query = dns.message.make_query(name, "TXT")
    response = dns.query.tcp(query, bind.address, port=bind.port, timeout=timeout)
    return {b"".join(rdata.strings).decode() for rrset in response.answer if rrset.rdtype == dns.rdatatype.TXT for rdata in rrset}


def ttl_at(bind, name):
    response = dns.query.tcp(dns.message.make_query(name, "TXT"), bind.address, port=bind.port, timeout=2)
    return [rrset.ttl for rrset in response.answer if rrset.rdtype == dns.rdatatype.TXT]


# ----- data loss at the apex ---------------------------------------------------------------------------


def test_the_first_spf_publish_keeps_site_verification_tokens_and_a_ttl_change_is_reported(bind_server, run_playbook):
    zone = "keep.test"
    bind = bind_server({zone: ['@ 3600 IN TXT "google-site-verification=tok3n"', '@ 3600 IN TXT "MS=ms12345"',
                               '_dmarc 300 IN TXT "v=DMARC1; p=reject"']})
    records = [
        {"name": zone + ".", "type": "TXT", "value": "v=spf1 mx -all", "ttl": 3600, "zone": zone},
        {"name": "_dmarc." + zone + ".", "type": "TXT", "value": "v=DMARC1; p=reject", "ttl": 3600, "zone": zone},
    ]
    extra = server_vars(bind, wanted=records)
    result = run_playbook(play(publish_task("{{ wanted }}")), extra_vars=extra, timeout=PLAYBOOK_TIMEOUT).assert_ok(changed=1)
    assert txt_at(bind, zone + ".") == {"google-site-verification=tok3n", "MS=ms12345", "v=spf1 mx -all"}
    changes = {change["name"]: change for change in result.task_result("publish")["changes"]}
    assert "only the TTL differs: the server has 300, the records say 3600" in changes["_dmarc." + zone + "."]["detail"]
    assert changes[zone + "."]["detail"] is None
    assert any("only the TTL differs" in warning for warning in result.task_result("publish").get("warnings", []))
    assert ttl_at(bind, "_dmarc." + zone + ".") == [3600]
    run_playbook(play(publish_task("{{ wanted }}")), extra_vars=extra, timeout=PLAYBOOK_TIMEOUT).assert_ok(changed=0)
    record("dns keep other TXT", zones_tried=1, foreign_values_lost=2 - len(txt_at(bind, zone + ".") & {"google-site-verification=tok3n", "MS=ms12345"}))
    # Replacing everything stays possible, on request.
    run_playbook(play(publish_task("{{ wanted }}", keep_other_txt=False)), extra_vars=extra, timeout=PLAYBOOK_TIMEOUT).assert_ok(changed=1)
    assert txt_at(bind, zone + ".") == {"v=spf1 mx -all"}


# ----- failing after partial updates ----------------------------------------------------------------

ZONES = 300


def zone_name(index):
    return "z%03d.test" % index


def zone_records(count):
    return [{"name": "_dmarc.%s." % zone_name(index), "type": "TXT", "value": "v=DMARC1; p=reject", "zone": zone_name(index)} for index in range(count)]


def run_in_thread(function):
    outcome = {}

    def target():
        outcome["result"] = function()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def test_a_server_stopped_mid_run_gives_changed_with_the_zones_changed_and_a_rerun_converges(bind_server, run_playbook):
    bind = bind_server({zone_name(index): [] for index in range(ZONES)})
    extra = server_vars(bind, wanted=zone_records(ZONES))
    publish = play(publish_task("{{ wanted }}", timeout=3))
    thread, outcome = run_in_thread(lambda: run_playbook(publish, extra_vars=extra, timeout=PLAYBOOK_TIMEOUT))
    # Stop BIND as soon as the tenth zone holds its record: the reads are done, the updates under way.
    watched = "_dmarc.%s." % zone_name(10)
    deadline = time.monotonic() + PLAYBOOK_TIMEOUT
    while time.monotonic() < deadline and thread.is_alive():
        try:
            if txt_at(bind, watched, timeout=0.5):
                break
        except (OSError, dns.exception.DNSException):
            pass
        time.sleep(0.005)
    bind.stop()
    thread.join(PLAYBOOK_TIMEOUT)
    result = outcome["result"]
    assert result.rc != 0, result.stdout[-2000:]
    task = result.task_result("publish")
    assert task["failed"] and task["changed"] is True
    zones_changed = task["zones_changed"]
    assert zone_name(10) in zones_changed and len(zones_changed) < ZONES
    assert len(task["applied"]) >= len(zones_changed) - 1
    assert "other zone(s) were updated before this one" in task["msg"]
    # (Ansible's recap counts a failed task under failures only, whatever its changed says.)

    bind.start()
    applied = sum(1 for index in range(ZONES) if txt_at(bind, "_dmarc.%s." % zone_name(index)))
    assert applied >= len(task["applied"])
    rerun = run_playbook(publish, extra_vars=extra, timeout=PLAYBOOK_TIMEOUT).assert_ok(changed=1)
    assert len(rerun.task_result("publish")["changes"]) == ZONES - applied
    run_playbook(publish, extra_vars=extra, timeout=PLAYBOOK_TIMEOUT).assert_ok(changed=0)
    assert all(txt_at(bind, "_dmarc.%s." % zone_name(index)) == {"v=DMARC1; p=reject"} for index in range(ZONES))
    record("dns server stopped mid-run", zones_tried=ZONES, zones_reported_changed=len(zones_changed),
           zones_changed_unreported=max(0, applied - len(zones_changed)), records_lost=0)


class UpdateAnswerDropper:
    """A TCP relay on 127.0.0.1 in front of a DNS server: it forwards everything, and drops the
    server's answers to UPDATE messages (so an UPDATE is applied but never confirmed). Each
    connection lives at most ``lifetime`` seconds."""

    def __init__(self, address, port, lifetime=60.0):
        self.target = (address, port)
        self.lifetime = lifetime
        self.dropped = 0
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        end = time.monotonic() + self.lifetime
        while not self.stop.is_set() and time.monotonic() < end:
            try:
                client, _address = self.listener.accept()
            except socket.timeout:
                continue
            server = socket.create_connection(self.target, timeout=5)
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, source, sink, drop_update_answers):
        source.settimeout(0.2)
        end = time.monotonic() + self.lifetime
        buffer = b""
        try:
            while not self.stop.is_set() and time.monotonic() < end:
                try:
                    chunk = source.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                if not drop_update_answers:
                    sink.sendall(chunk)
                    continue
                buffer += chunk
                while len(buffer) >= 2 and len(buffer) >= 2 + int.from_bytes(buffer[:2], "big"):
                    size = 2 + int.from_bytes(buffer[:2], "big")
                    message, buffer = buffer[:size], buffer[size:]
                    opcode = (message[4] >> 3) & 0x0F if len(message) > 4 else 0
                    if opcode == 5:  # UPDATE (RFC 2136): applied by the server, its answer lost here
                        self.dropped += 1
                        continue
                    sink.sendall(message)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.listener.close()


def test_a_timed_out_update_is_reported_as_possibly_applied_and_a_rerun_converges(bind_server, run_playbook):
    zone = "lost.test"
    bind = bind_server({zone: []})
    dropper = UpdateAnswerDropper(bind.address, bind.port)
    try:
        records = [{"name": "_dmarc.%s." % zone, "type": "TXT", "value": "v=DMARC1; p=reject", "zone": zone}]
        through_dropper = dict(server_vars(bind, wanted=records), dns_port=dropper.port)
        timeout = 2
        started = time.monotonic()
        result = run_playbook(play(publish_task("{{ wanted }}", timeout=timeout)), extra_vars=through_dropper, timeout=PLAYBOOK_TIMEOUT)
        elapsed = time.monotonic() - started
    finally:
        dropper.close()
    task = result.task_result("publish")
    assert result.rc != 0 and dropper.dropped == 1
    assert "timed out after 2 s waiting for the answer to UPDATE 1 of 1" in task["msg"]
    assert "the server may have applied it" in task["msg"] and "run again" in task["msg"]
    assert task["changed"] is True and task["zones_changed"] == [zone]
    assert [change["name"] for change in task["uncertain"]] == ["_dmarc.%s." % zone]
    assert txt_at(bind, "_dmarc.%s." % zone) == {"v=DMARC1; p=reject"}  # it was applied
    direct = server_vars(bind, wanted=records)
    run_playbook(play(publish_task("{{ wanted }}")), extra_vars=direct, timeout=PLAYBOOK_TIMEOUT).assert_ok(changed=0)
    record("dns UPDATE answer lost", updates_tried=1, playbook_seconds=elapsed)


# ----- mailcow.conf as generate_config.sh writes it, in diff mode ------------------------------------

ACME_AND_WATCHDOG_SECRETS = {
    # acme.sh DNS-API credentials, as mailcow's ACME_DNS_PROVIDER setups add them to mailcow.conf.
    "OVH_AK": "ovhAppKey0123456",
    "OVH_AS": "ovhAppSecret0123456789abcdefABCD",
    "OVH_CK": "ovhConsumerKey0123456789abcdefAB",
    "KAS_Login": "w0123456",
    "KAS_Authtype": "plain",
    "KAS_Authdata": "kasSecretPassw0rd",
    "CF_Token": "cfApiToken0123456789abcdefABCDEFGH",
    "CF_Account_ID": "0123456789abcdef0123456789abcdef",
    "HETZNER_Token": "hetznerToken0123456789abcdefABCDE",
    "INWX_Password": "inwx-Passw0rd!",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "WATCHDOG_NOTIFY_WEBHOOK": "https://discord.com/api/webhooks/1112223334445556667/AbCdEfGhIjKlMnOpQrStUvWxYz-0123456789_abcdefghijkl",
    "API_KEY": "1A2B3C-4D5E6F-7A8B9C-0D1E2F-3A4B5C",
    "SPAMHAUS_DQS_KEY": "dqskey0123456789abcdef",
}
# Values that are not secrets: a diff still shows them (the masking must not hide everything).
NOT_SECRETS = ("KAS_Login",)


def generated_config(tarball, directory):
    """mailcow.conf as ``tarball``'s generate_config.sh writes it: its ``cat << EOF > mailcow.conf``
    document, read from the script at test time and expanded by bash with the answers to its prompts
    (the rest of the script needs Docker and git)."""
    with tarfile.open(tarball) as archive:
        member = next(item for item in archive.getmembers() if item.name.endswith("/generate_config.sh"))
        script = archive.extractfile(member).read().decode()
    document = re.search(r"^cat << EOF > mailcow\.conf\n(.*?)^EOF\n", script, re.S | re.M)
    assert document, "generate_config.sh no longer writes mailcow.conf with a here-document"
    program = "set -e\ncat << EOF > mailcow.conf\n%sEOF\n" % document.group(1)
    answers = {"MAILCOW_HOSTNAME": "mail.example.test", "MAILCOW_TZ": "Europe/Berlin", "COMPOSE_VERSION": "native", "SKIP_CLAMD": "n",
               "PATH": os.environ["PATH"]}
    subprocess.run(["bash", "-c", program], cwd=directory, env=answers, check=True, timeout=30)
    with open(os.path.join(directory, "mailcow.conf"), encoding="utf-8") as handle:
        return handle.read()


@pytest.mark.parametrize("tarball", sorted(glob.glob(os.path.join(MAILCOW_SOURCES, "mailcow-dockerized-*.tar.gz"))) or ["missing"],
                         ids=os.path.basename)
def test_the_diff_of_a_generated_mailcow_conf_shows_no_secret(tarball, tmp_path, run_playbook):
    if tarball == "missing":
        pytest.fail("no mailcow-dockerized-*.tar.gz in %s (the shared mailcow sources)" % MAILCOW_SOURCES)
    text = generated_config(tarball, str(tmp_path))
    generated_secrets = dict(re.findall(r"^(DBPASS|DBROOT|REDISPASS|SOGO_URL_ENCRYPTION_KEY)=(\S+)$", text, re.M))
    assert len(generated_secrets) >= 3
    # Set what an operator sets: the watchdog's webhook, the API key, acme.sh's DNS-API credentials.
    for key, value in ACME_AND_WATCHDOG_SECRETS.items():
        if re.search(r"^%s=" % key, text, re.M):
            text = re.sub(r"^%s=.*$" % key, "%s=%s" % (key, value), text, flags=re.M)
        elif re.search(r"^#%s=" % key, text, re.M):
            text = re.sub(r"^#%s=.*$" % key, "%s=%s" % (key, value), text, count=1, flags=re.M)
        else:
            text += "%s=%s\n" % (key, value)
    text += "#WATCHDOG_NOTIFY_WEBHOOK=%s\n" % ACME_AND_WATCHDOG_SECRETS["WATCHDOG_NOTIFY_WEBHOOK"]
    conf = tmp_path / "mailcow.conf"
    conf.write_text(text)
    task = {"name": "names", "mailsec.posture.mailcow_conf": {"path": str(conf), "names": ["mta-sts.*"]}}
    result = run_playbook(play(task), diff=True, timeout=PLAYBOOK_TIMEOUT).assert_ok(changed=1)
    shown = result.stdout + result.stderr
    secrets = dict(generated_secrets, **{key: value for key, value in ACME_AND_WATCHDOG_SECRETS.items() if key not in NOT_SECRETS})
    found = sorted(key for key, value in secrets.items() if value in shown)
    record("mailcow.conf diff of generate_config.sh output", files_tried=1, secrets_tried=len(secrets), secrets_found_in_output=len(found))
    assert found == []
    diff = result.task_result("names")["diff"][0]
    assert "MAILCOW_HOSTNAME=mail.example.test" in diff["after"] and "ADDITIONAL_SAN=mta-sts.*" in diff["after"]
    assert all("%s=%s" % (key, ACME_AND_WATCHDOG_SECRETS[key]) in diff["after"] for key in NOT_SECRETS)
    assert conf.read_text() == text.replace("\nADDITIONAL_SAN=\n", "\nADDITIONAL_SAN=mta-sts.*\n").replace(
        "\nADDITIONAL_SERVER_NAMES=\n", "\nADDITIONAL_SERVER_NAMES=mta-sts.*\n")


# ----- what a user reads about a value of the wrong kind ---------------------------------------------


def test_a_value_of_the_wrong_kind_is_named_a_string_not_an_internal_type(run_playbook):
    task = {"name": "records", "ansible.builtin.debug": {"msg": "{{ query('mailsec.posture.mail_records', domains=wrong) }}"}}
    wrong = [{"name": "example.test", "mx": ["mail.example.test"], "dmarc": "reject"}]
    result = run_playbook(play(task), extra_vars={"wrong": wrong}, timeout=PLAYBOOK_TIMEOUT)
    assert result.rc != 0
    message = " ".join(result.failure_messages())
    assert "dmarc: must be a mapping, got a string" in message, message
    assert "_Ansible" not in message

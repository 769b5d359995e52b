"""The fuzz and fault suite of issue 13, engine part: odd but ordinary files, killed writes, links
and permissions around private keys, hostile servers on loopback (trickling HTTP, DNS answers with
other message IDs, a proxy that must see nothing). Every server here is a real socket server on
127.0.0.1, bounded in time; every loop is bounded in count.

The figures (files tried, bytes lost, seconds past the timeout, secrets found in output) are
recorded with ``fault_figures.record`` and printed in the terminal summary. ``MAILSEC_FUZZ_SCALE``
multiplies the fuzz counts (``make fuzz``).
"""

import contextlib
import os
import random
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

import dns.message
import dns.rcode
import pytest
import yaml

from fault_figures import record, scaled
from ansible_collections.mailsec.posture.plugins.module_utils import compose_override, dkim_keyfile, dns_update, files, mailcow, mailcow_api
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError

API_KEY = "ABCDEF-123456-ABCDEF-123456"
SLACK = 0.6  # seconds a bounded wait may run past its timeout (thread scheduling on a busy 2-core machine)


def lost_bytes(original, result):
    """How many bytes of ``original`` a round trip lost or changed (0 when it came back exactly)."""
    if original == result:
        return 0
    common = sum(1 for a, b in zip(original, result) if a == b)
    return max(len(original), len(result)) - common


# ----- mailcow.conf: long blank runs, bash's forms, lossless round trips ------------------------------


def test_a_value_with_40000_blanks_parses_in_milliseconds():
    text = "ADDITIONAL_SAN=a.example" + " " * 40000 + "b.example  # note\nOTHER=x" + "\t" * 40000 + "\n"
    start = time.monotonic()
    assert mailcow.get_values(text, "ADDITIONAL_SAN") == ["a.example" + " " * 40000 + "b.example"]
    new_text, _changes = mailcow.ensure_names(text, ["mta-sts.*"])
    elapsed = time.monotonic() - start
    assert new_text.startswith("ADDITIONAL_SAN=a.example" + " " * 40000 + "b.example,mta-sts.*  # note\n")
    record("mailcow.conf 40k blanks", files_tried=1, max_parse_seconds=elapsed)
    assert elapsed < 0.25, elapsed


BASH_FORMS = {
    "append": ("ADDITIONAL_SAN=mail.example\nADDITIONAL_SAN+=,imap.example\n", ["mail.example", "imap.example"]),
    "append only": ("ADDITIONAL_SAN+=imap.example\n", ["imap.example"]),
    "declare -x": ("declare -x ADDITIONAL_SAN=imap.example\n", ["imap.example"]),
    "export": ("export ADDITIONAL_SAN=imap.example\n", ["imap.example"]),
    "byte order mark": ("\ufeffADDITIONAL_SAN=imap.example\nTZ=UTC\n", ["imap.example"]),
    "declare -x and append": ("declare -x ADDITIONAL_SAN=\"imap.example\"\nADDITIONAL_SAN+=\",smtp.example\"\n", ["imap.example", "smtp.example"]),
}


def bash_value(text, key, tmp_path):
    """The value bash gives ``key`` after sourcing ``text``."""
    path = tmp_path / "sourced.conf"
    path.write_text(text)
    done = subprocess.run(["bash", "-c", 'source "$1" >/dev/null 2>&1; printf %s "${!2}"', "bash", str(path), key],
                          capture_output=True, text=True, timeout=10, check=True)
    return done.stdout


@pytest.mark.parametrize("form", sorted(BASH_FORMS))
def test_forms_bash_accepts_are_edited_in_place_not_appended_again(form, tmp_path):
    text, names = BASH_FORMS[form]
    assert mailcow.get_values(text, "ADDITIONAL_SAN") == names
    new_text, changes = mailcow.ensure_names(text, ["mta-sts.*"], keys=["ADDITIONAL_SAN"])
    assert changes["ADDITIONAL_SAN"]["line_added"] is False
    assert new_text.count("\n") == text.count("\n"), new_text
    assert mailcow.get_values(new_text, "ADDITIONAL_SAN") == names + ["mta-sts.*"]
    if form != "byte order mark":  # bash reads a BOM as part of a command name; docker compose skips it
        assert bash_value(new_text, "ADDITIONAL_SAN", tmp_path).split(",") == names + ["mta-sts.*"]
    # A name already in the value bash sees is not added again, wherever it is written.
    assert mailcow.ensure_names(new_text, ["mta-sts.*"], keys=["ADDITIONAL_SAN"])[0] == new_text
    restored, _changes = mailcow.ensure_names(new_text, ["mta-sts.*"], keys=["ADDITIONAL_SAN"], state="absent")
    assert restored == text


def test_a_second_plain_assignment_after_an_append_is_still_refused():
    with pytest.raises(mailcow.MailcowConfError, match=r"set more than once, on lines 1 and 3"):
        mailcow.ensure_names("ADDITIONAL_SAN=a\nADDITIONAL_SAN+=,b\nADDITIONAL_SAN=c\n", ["d.example"])


def joined(rng, lines, eol, final_newline):
    """``lines`` joined with ``eol``; a final line ending in a share ``final_newline`` of the files."""
    return eol.join(lines) + (eol if rng.random() < final_newline else "")


def random_conf(rng):
    """A mailcow.conf as people leave them: the forms bash and compose take, long blank runs, CRLF or LF."""
    eol = rng.choice(["\n", "\r\n"])
    lines = []
    if rng.random() < 0.2:
        lines.append("\ufeff# mailcow configuration")
    for index in range(rng.randint(1, 30)):
        kind = rng.random()
        if kind < 0.2:
            lines.append("#" + rng.choice(["", " comment", " KEY=value", "ADDITIONAL_SAN=imap.*"]))
        elif kind < 0.3:
            lines.append(rng.choice(["", " ", "\t"]))
        else:
            head = rng.choice(["", "export ", "declare -x ", "  ", "readonly "])
            value = rng.choice(["x", "a b", "v%d" % index, ""]) + " " * rng.choice([0, 1, 3, 500, 3000]) + rng.choice(["", "z", "# c", " #c"])
            lines.append("%sKEY_%d=%s" % (head, index, value))
    san = rng.random()
    entries = ",".join(rng.sample(["imap.example", "smtp.example", "mta-sts.*", "MTA-STS.*", " webmail.example "], rng.randint(0, 3)))
    position = rng.randint(0, len(lines))
    if san < 0.3:
        lines.insert(position, rng.choice(["", "export ", "declare -x "]) + "ADDITIONAL_SAN=" + entries)
    elif san < 0.5:
        lines.insert(position, "ADDITIONAL_SAN=" + entries)
        lines.insert(position + 1, "ADDITIONAL_SAN+=," + rng.choice(["srv1.example", "srv2.example"]))
    elif san < 0.6:
        lines.insert(position, 'ADDITIONAL_SAN="%s"%s' % (entries, " " * rng.choice([0, 2000]) + rng.choice(["", " # ours"])))
    return joined(rng, lines, eol, final_newline=0.8)


def test_fuzzed_mailcow_conf_files_round_trip_without_losing_a_byte():
    rng = random.Random(13)
    tried = lost = second_assignments = 0
    start = time.monotonic()
    for _attempt in range(scaled(400)):
        text = random_conf(rng)
        before = mailcow.get_values(text, "ADDITIONAL_SAN")
        plain_before = sum(1 for a in mailcow.scan(mailcow.split_lines(text)) if a.key == "ADDITIONAL_SAN" and not a.append)
        added, changes = mailcow.ensure_names(text, ["mta-sts.*", "mta-sts.other.example"], keys=["ADDITIONAL_SAN"])
        plain_after = sum(1 for a in mailcow.scan(mailcow.split_lines(added)) if a.key == "ADDITIONAL_SAN" and not a.append)
        if before is not None and plain_after != plain_before:
            second_assignments += 1
        values = mailcow.get_values(added, "ADDITIONAL_SAN")
        assert {"mta-sts.*", "mta-sts.other.example"} <= {value.lower() for value in values}
        if not changes["ADDITIONAL_SAN"]["added"]:
            assert added == text
        # absent removes what present added, and a name that was there before is the user's: put it back.
        names_added = changes["ADDITIONAL_SAN"]["added"]
        restored = mailcow.ensure_names(added, names_added, keys=["ADDITIONAL_SAN"], state="absent")[0] if names_added else added
        tried += 1
        lost += lost_bytes(text, restored)
    record("mailcow.conf fuzz", files_tried=tried, bytes_lost=lost, second_assignments=second_assignments,
           max_seconds=time.monotonic() - start)
    assert (lost, second_assignments) == (0, 0)


SECRET_SAMPLES = {
    "WATCHDOG_NOTIFY_WEBHOOK": "https://discord.com/api/webhooks/1234567890/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "OVH_AK": "Ak1nTaDeFgHiJkL2",
    "OVH_AS": "AsQwErTyUiOpAsDfGhJkLzXcVbNm1234",
    "OVH_CK": "CkZxCvBnMqWeRtYuIoPaSdFgHjKl5678",
    "KAS_Authdata": "kasPassw0rdValue",
    "CF_Token": "cfT0kenValueThatIsLongEnough",
    "GD_Secret": "gdSecretValue42",
    "INWX_Password": "inwx-pass-99",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "SOME_UNKNOWN_SETTING": "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA",
}


def test_secrets_are_masked_by_name_and_by_value():
    text = "".join("%s=%s\n" % item for item in SECRET_SAMPLES.items()) + "#WATCHDOG_NOTIFY_WEBHOOK=%s\n" % SECRET_SAMPLES["WATCHDOG_NOTIFY_WEBHOOK"]
    text += "MAILCOW_HOSTNAME=mail.example.com\nMAILCOW_PASS_SCHEME=BLF-CRYPT\nTZ=Europe/Berlin\nCOMPOSE_PROJECT_NAME=mailcowdockerized\n"
    text += "IPV6_NETWORK=fd4d:6169:6c63:6f77::/64\nADDITIONAL_SAN=mta-sts.*\nLOG_LINES=9999\n"
    shown = mailcow.redact(text, keep=("ADDITIONAL_SAN",))
    found = [name for name, value in SECRET_SAMPLES.items() if value in shown]
    record("mailcow.conf masking (samples)", secrets_tried=len(SECRET_SAMPLES) + 1, secrets_found_in_output=len(found))
    assert found == []
    for kept in ("mail.example.com", "BLF-CRYPT", "Europe/Berlin", "mailcowdockerized", "fd4d:6169:6c63:6f77::/64", "mta-sts.*", "9999"):
        assert kept in shown
    assert shown.count("\n") == text.count("\n")


# ----- compose override files ------------------------------------------------------------------------


def random_override(rng):
    eol = rng.choice(["\n", "\r\n"])
    lines = ["services:"]
    for index in range(rng.randint(1, 4)):
        lines.append("  svc%d:" % index)
        lines.append("    image: example/svc%d" % index)
        if rng.random() < 0.7:
            lines.append("    command: " + rng.choice(["|", "|-", ">"]))
            for line in range(rng.randint(1, 4)):
                lines.append("      " + rng.choice(["echo %d" % line, "# not a comment, part of the script", "#!/bin/sh", "run --flag"]))
        if rng.random() < 0.3:
            lines.append(rng.choice(["    # a comment of the service", "  # a comment of services", "", "# top comment"]))
    if rng.random() < 0.3:
        lines += ["volumes:", "  data: {}"]
    return joined(rng, lines, eol, final_newline=0.7)


def test_fuzzed_override_files_take_our_service_and_give_it_back_exactly():
    rng = random.Random(1309)
    tried = refused = lost = wrong_eol = 0
    definition = {"image": "nginx:alpine", "restart": "always"}
    for _attempt in range(scaled(300)):
        text = random_override(rng)
        tried += 1
        try:
            added, _warnings = compose_override.ensure_service(text, "mailsec-mta-sts", definition)
        except compose_override.ComposeError:
            refused += 1
            continue
        assert yaml.safe_load(added)["services"]["mailsec-mta-sts"] == definition
        if "\r\n" in text:
            wrong_eol += len([line for line in added.split("\n")[:-1] if not line.endswith("\r")])
        again, _warnings = compose_override.ensure_service(added, "mailsec-mta-sts", definition)
        assert again == added
        removed, _warnings = compose_override.ensure_service(added, "mailsec-mta-sts", state="absent")
        lost += lost_bytes(text, removed)
    record("compose override fuzz", files_tried=tried, files_refused=refused, bytes_lost=lost, lf_lines_in_crlf_files=wrong_eol)
    assert (refused, lost, wrong_eol) == (0, 0, 0)


OVERRIDE_CASES = {
    "a | block whose last line starts with #": "services:\n  app:\n    command: |\n      run\n      # part of the script\n",
    "CRLF": "services:\r\n  app:\r\n    image: example/app\r\n",
    "no final newline": "services:\n  app:\n    image: example/app",
    "a | block at the end without a final newline": "services:\n  app:\n    command: |\n      run\n      #!/bin/sh",
}


@pytest.mark.parametrize("case", sorted(OVERRIDE_CASES))
def test_ordinary_override_files_are_edited_in_their_style_and_given_back_exactly(case):
    text = OVERRIDE_CASES[case]
    added, _warnings = compose_override.ensure_service(text, "mailsec-mta-sts", {"image": "nginx:alpine"})
    assert yaml.safe_load(added)["services"]["app"] == yaml.safe_load(text)["services"]["app"]
    if "\r\n" in text:
        assert added.count("\n") == added.count("\r\n")
    removed, _warnings = compose_override.ensure_service(added, "mailsec-mta-sts", state="absent")
    assert removed == text


# ----- a write killed half way ------------------------------------------------------------------------

KILLED_WRITER = r"""
import sys, time
from ansible_collections.mailsec.posture.plugins.module_utils import files
def chunks():
    yield b"ADDITIONAL_SAN=mta-sts.*\n" * 1000
    sys.stdout.write("writing\n"); sys.stdout.flush()
    time.sleep(60)
    yield b"never"
files.write_atomic(sys.argv[1], chunks())
"""


def test_the_temporary_copy_of_a_killed_write_is_removed_on_the_next_run(tmp_path):
    conf = tmp_path / "mailcow.conf"
    conf.write_bytes(b"ADDITIONAL_SAN=mta-sts.*\nDBPASS=secret\n")
    os.chmod(conf, 0o600)
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(conf)], stdout=subprocess.PIPE, env=dict(os.environ))
    try:
        assert writer.stdout.readline() == b"writing\n"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
    (left,) = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    assert left.startswith(".mailcow.conf.mailsec-"), left
    others = [tmp_path / ".mailcow.conf.abcdefgh.tmp", tmp_path / ".other.conf.mailsec-abcdefgh.tmp"]
    for other in others:
        other.write_bytes(b"not ours")
    young = tmp_path / ".mailcow.conf.mailsec-young123.tmp"
    young.write_bytes(b"a write in progress")
    old = time.time() - files.STALE_SECONDS - 10
    for path in [tmp_path / left] + others:
        os.utime(path, (old, old))

    outcome = mailcow.update_file(str(conf), ["mta-sts.*"], keys=["ADDITIONAL_SAN"], check_mode=True)
    assert outcome["stale_removed"] == [] and (tmp_path / left).exists()
    outcome = mailcow.update_file(str(conf), ["mta-sts.*"], keys=["ADDITIONAL_SAN"])
    assert outcome["changed"] is False
    assert outcome["stale_removed"] == [str(tmp_path / left)]
    remaining = sorted(name for name in os.listdir(tmp_path) if name.endswith(".tmp"))
    assert remaining == sorted([others[0].name, others[1].name, young.name])
    record("killed writes", files_tried=1, stale_temporaries_left=int((tmp_path / left).exists()))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_a_stale_temporary_of_another_user_is_left_alone(tmp_path):
    target = tmp_path / "mailcow.conf"
    target.write_bytes(b"A=1\n")
    foreign = tmp_path / ".mailcow.conf.mailsec-abcdefgh.tmp"
    foreign.write_bytes(b"theirs")
    os.chown(foreign, 65534, 65534)
    old = time.time() - files.STALE_SECONDS - 10
    os.utime(foreign, (old, old))
    files.write_atomic(str(target), b"A=2\n")
    assert foreign.exists()


# ----- DKIM key files: links, permissions, owners --------------------------------------------------


def test_a_dangling_link_in_place_of_the_key_is_refused_and_nothing_is_created(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere.pem"
    (keys / "dkim.pem").symlink_to(elsewhere)
    with pytest.raises(MailsecError, match="is a symbolic link; refusing to follow it"):
        dkim_keyfile.ensure_key(str(keys / "dkim.pem"), "dkim", key_type="ed25519")
    assert not elsewhere.exists()


def test_force_never_overwrites_the_target_of_a_link(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    target = tmp_path / "precious.txt"
    target.write_bytes(b"not a key, and not ours")
    (keys / "dkim.pem").symlink_to(target)
    with pytest.raises(MailsecError, match="symbolic link"):
        dkim_keyfile.ensure_key(str(keys / "dkim.pem"), "dkim", key_type="ed25519", force=True)
    assert target.read_bytes() == b"not a key, and not ours"


def test_a_key_directory_everyone_may_write_is_refused_and_a_sticky_one_warned_about(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(MailsecError, match=r"is writable by every user \(mode 0777\)"):
        dkim_keyfile.ensure_key(str(shared / "dkim.pem"), "dkim", key_type="ed25519")
    assert os.listdir(shared) == []
    os.chmod(shared, 0o1777)
    outcome = dkim_keyfile.ensure_key(str(shared / "dkim.pem"), "dkim", key_type="ed25519")
    assert outcome["created"] and any("sticky" in warning for warning in outcome["warnings"])


def test_a_key_readable_by_others_is_fixed_with_a_warning_to_treat_it_as_exposed(tmp_path):
    path = tmp_path / "dkim.pem"
    path.write_bytes(dkim_keyfile.generate_private_key("ed25519", 256))
    os.chmod(path, 0o644)
    outcome = dkim_keyfile.ensure_key(str(path), "dkim", key_type="ed25519")
    assert outcome["mode_fixed"] and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert any("was readable by others (mode 0644)" in warning and "exposed" in warning for warning in outcome["warnings"])
    again = dkim_keyfile.ensure_key(str(path), "dkim", key_type="ed25519")
    assert again["changed"] is False and again["warnings"] == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_a_key_owned_by_another_user_is_reported(tmp_path):
    path = tmp_path / "dkim.pem"
    path.write_bytes(dkim_keyfile.generate_private_key("ed25519", 256))
    os.chmod(path, 0o600)
    os.chown(path, 65534, 65534)
    outcome = dkim_keyfile.ensure_key(str(path), "dkim", key_type="ed25519")
    assert any("is owned by user id 65534" in warning for warning in outcome["warnings"])


# ----- messages name kinds of values, not Ansible's classes ----------------------------------------


def test_messages_say_a_string_for_ansible_tagged_strings():
    tags = pytest.importorskip("ansible._internal._datatag._tags")
    from ansible_collections.mailsec.posture.plugins.module_utils.common import kind_of

    tagged = tags.Origin(path="/inventory.yml", line_num=3).tag("example.com")
    assert type(tagged).__name__ != "str"
    assert kind_of(tagged) == "a string"
    from ansible_collections.mailsec.posture.plugins.module_utils import spec

    with pytest.raises(MailsecError) as caught:
        spec.normalize_model(tagged)
    assert "got a string" in str(caught.value) and "_Ansible" not in str(caught.value)


# ----- hostile servers: every wait bounded by its timeout -------------------------------------------


@contextlib.contextmanager
def tcp_server(serve, lifetime=8.0):
    """A TCP server on 127.0.0.1 that runs ``serve(connection, stop)`` per connection; it closes
    everything after ``lifetime`` seconds at most, whatever the client does."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    stop = threading.Event()
    deadline = time.monotonic() + lifetime
    seen = []

    def accept():
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                connection, _address = listener.accept()
            except socket.timeout:
                continue
            seen.append(connection)
            threading.Thread(target=serve_one, args=(connection,), daemon=True).start()

    def serve_one(connection):
        with connection:
            connection.settimeout(0.5)
            try:
                serve(connection, lambda: stop.is_set() or time.monotonic() > deadline)
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def read_request(connection, stopped):
    data = b""
    while b"\r\n\r\n" not in data and not stopped():
        try:
            chunk = connection.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        data += chunk
    return data


def test_dns_answers_with_other_message_ids_do_not_restart_the_deadline():
    def chatter(connection, stopped):
        header = b""
        while len(header) < 2 and not stopped():
            header += connection.recv(2 - len(header))
        length = int.from_bytes(header, "big")
        wire = b""
        while len(wire) < length and not stopped():
            wire += connection.recv(length - len(wire))
        query = dns.message.from_wire(wire, ignore_trailing=True, keyring=False)
        while not stopped():
            answer = dns.message.make_response(query)
            answer.id = (query.id + 1) & 0xFFFF  # never the ID asked for
            answer.set_rcode(dns.rcode.NOERROR)
            data = answer.to_wire()
            connection.sendall(len(data).to_bytes(2, "big") + data)
            time.sleep(0.1)

    timeout = 1.0
    with tcp_server(chatter) as (port, _seen):
        key = dns_update.tsig_key("k", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0")
        connection = dns_update.Connection("127.0.0.1", port, key, "example.test", timeout)
        start = time.monotonic()
        with pytest.raises(dns_update.DnsUpdateError, match="timed out after 1 s"):
            connection.exchange(dns.message.make_query("example.test.", "SOA"), "the SOA query")
        elapsed = time.monotonic() - start
    record("dns wrong message IDs", waits_tried=1, max_seconds_past_timeout=max(0.0, elapsed - timeout))
    assert elapsed < timeout + SLACK, elapsed


TRICKLES = {
    "body": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n",
    "headers": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n",
    "chunked body": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
}


@pytest.mark.parametrize("where", sorted(TRICKLES))
def test_a_server_trickling_bytes_cannot_hold_the_api_client_past_its_timeout(where):
    def trickle(connection, stopped):
        read_request(connection, stopped)
        connection.sendall(TRICKLES[where])
        filler = b"X-Filler: a\r\n" if where == "headers" else (b"1\r\n \r\n" if where == "chunked body" else b" ")
        while not stopped():
            connection.sendall(filler)
            time.sleep(0.2)

    timeout = 1.5
    with tcp_server(trickle) as (port, _seen):
        client = mailcow_api.MailcowClient("http://127.0.0.1:%d" % port, API_KEY, timeout=timeout)
        start = time.monotonic()
        with pytest.raises(mailcow_api.MailcowApiError) as caught:
            client.version()
        elapsed = time.monotonic() - start
    assert caught.value.kind == "timeout", caught.value
    record("mailcow API trickle (%s)" % where, waits_tried=1, max_seconds_past_timeout=max(0.0, elapsed - timeout))
    assert elapsed < timeout + SLACK, elapsed


@contextlib.contextmanager
def recording_proxy():
    """An HTTP proxy on loopback that records every byte it receives and forwards nothing."""
    received = []

    def refuse(connection, stopped):
        received.append(read_request(connection, stopped))
        connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    with tcp_server(refuse) as (port, seen):
        yield "http://127.0.0.1:%d" % port, received, seen


def version_server(requests):
    def answer(connection, stopped):
        requests.append(read_request(connection, stopped))
        body = b'{"version": "2026-07a"}'
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))

    return tcp_server(answer)


def set_proxies(monkeypatch, proxy):
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy)


def test_a_loopback_api_is_never_reached_through_the_proxy(monkeypatch):
    requests = []
    with recording_proxy() as (proxy, received, connections), version_server(requests) as (port, _seen):
        set_proxies(monkeypatch, proxy)
        client = mailcow_api.MailcowClient("http://127.0.0.1:%d" % port, API_KEY, timeout=5)
        assert client.version() == "2026-07a"
        client = mailcow_api.MailcowClient("http://localhost:%d" % port, API_KEY, timeout=5)
        assert client.version() == "2026-07a"
    found = sum(data.count(API_KEY.encode()) for data in received)
    record("mailcow API proxy (loopback)", requests_tried=2, proxy_connections=len(connections), secrets_found_in_output=found)
    assert (len(connections), found) == (0, 0)
    assert len(requests) == 2 and all(b"x-api-key: " + API_KEY.lower().encode() in request.lower() for request in requests)


def test_a_remote_api_goes_through_the_proxy_only_inside_tls(monkeypatch):
    with recording_proxy() as (proxy, received, _connections):
        set_proxies(monkeypatch, proxy)
        client = mailcow_api.MailcowClient("https://mail.example.invalid", API_KEY, timeout=5)
        with pytest.raises(mailcow_api.MailcowApiError) as caught:
            client.version()
    found = sum(data.count(API_KEY.encode()) for data in received) + str(caught.value).count(API_KEY)
    record("mailcow API proxy (remote, https)", requests_tried=1, secrets_found_in_output=found)
    assert found == 0
    assert received and all(data.startswith(b"CONNECT mail.example.invalid:443 ") for data in received)


def test_plain_http_to_a_host_that_is_not_loopback_is_refused_before_any_connection():
    with pytest.raises(mailcow_api.MailcowApiError, match="plain http to a host that is not loopback") as caught:
        mailcow_api.MailcowClient("http://192.0.2.10", API_KEY)
    assert API_KEY not in str(caught.value)

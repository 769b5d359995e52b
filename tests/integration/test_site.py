"""playbooks/site.yml end to end on the bundled sandbox (tools/sandbox.py: what ``make site`` runs).

One sandbox (BIND with TSIG and a signed zone, unbound, nginx with a test CA, two STARTTLS MX servers, a
legacy mailcow tree, a compose project directory), three runs of the site playbook:

1. and 2. as ``make site`` does (``converge``): the first run changes things, the second changes nothing,
   and the verification report has every domain with every check passing, DANE included;
3. a fleet change: two domains join the inventory, one served by mailcow (delegating by CNAME) and one by
   the container (a domain is served by one or the other, so one of each shows both kinds of change).
   Then BIND (every zone, by zone transfer), mailcow.conf, the compose project and the key files must
   differ from before by exactly those domains' records, SAN entries, labels and keys.
"""

import difflib
import os
import re
import sys

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import dkim_keyfile
from ansible_collections.mailsec.posture.plugins.module_utils.domain_keys import add_dkim_keys
from ansible_collections.mailsec.posture.plugins.module_utils.records import desired_records
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_model

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools"))
import sandbox as sandbox_tool  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow

JOINED_MAILCOW = sandbox_tool.MailDomain("joined-mailcow.test", "mailcow")
JOINED_STANDALONE = sandbox_tool.MailDomain("joined-standalone.test", "container")
MAIL_HOST = sandbox_tool.MAIL_HOST
WEB_HOST = sandbox_tool.WEB_HOST
DNSSEC_TYPES = {"SOA", "RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "DNSKEY", "CDS", "CDNSKEY", "TYPE65534"}
CHANGED_BY_THE_FLEET_CHANGE = {
    ("Keep or create each DKIM key", MAIL_HOST),
    ("mailsec.posture.mailcow_mta_sts : Add the mta-sts names to mailcow.conf", MAIL_HOST),
    ("mailsec.posture.mta_sts_container : Write each domain's policy file and remove those of domains no longer served", WEB_HOST),
    ("mailsec.posture.mta_sts_container : Write the nginx configuration", WEB_HOST),
    ("mailsec.posture.mta_sts_container : Write the compose file", WEB_HOST),
    ("mailsec.posture.dns : Publish the mail records with RFC 2136 dynamic updates", "localhost"),
}


def served_records(box):
    """Every record BIND serves, over all zones, as ``{(name, type, value)}`` (DNSSEC machinery and SOA left out)."""
    found = set()
    for origin in box.bind.zones:
        zone = box.bind.transfer(origin)
        for name, _ttl, rdata in zone.iterate_rdatas():
            rtype = dns.rdatatype.to_text(rdata.rdtype)
            if rtype in DNSSEC_TYPES:
                continue
            value = b"".join(rdata.strings).decode() if rtype == "TXT" else rdata.to_text(origin=zone.origin, relativize=False)
            found.add((name.derelativize(zone.origin).to_text().lower(), rtype, value))
    return found


def published_keys(box, domains):
    """The DKIM keys the sandbox's hosts hold for ``domains``, as the dkim_key module reports them (read only)."""
    keys = []
    for domain in domains:
        path = box.host_dir(domain.mx, "dkim", "%s.dkim.key" % domain.name)
        outcome = dkim_keyfile.ensure_key(path, "dkim", check_mode=True, domain=domain.name)
        assert not outcome["created"], path
        keys.append(outcome)
    return keys


def wanted_records(box, domains):
    """What the engine says ``domains`` publish (with the hosts' DKIM keys), in served_records' shape, TLSA left out."""
    inventory = box.inventory(domains)["all"]["vars"]
    model = normalize_model(add_dkim_keys(inventory["mailsec_domains"], published_keys(box, domains)),
                            mail_host=inventory["mailsec_mail_host"], defaults=inventory["mailsec_domain_defaults"],
                            zones=inventory["mailsec_zones"])
    wanted = set()
    for record in desired_records(model):
        value = record["value"]
        if record["type"] != "TXT":
            value = dns.rdata.from_text(dns.rdataclass.IN, record["type"], value).to_text()
        wanted.add((record["name"].lower(), record["type"], value))
    return wanted


def files_under(root):
    """``{relative path: (bytes, inode)}`` of every file under ``root``: an unchanged file was not even rewritten."""
    files = {}
    for directory, _subdirectories, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            if os.path.islink(path):  # mailcow's .env -> mailcow.conf: the link itself
                files[os.path.relpath(path, root)] = (b"-> " + os.readlink(path).encode(), os.lstat(path).st_ino)
                continue
            with open(path, "rb") as handle:
                files[os.path.relpath(path, root)] = (handle.read(), os.stat(path).st_ino)
    return files


def changed_paths(before, after):
    return {path for path in set(before) | set(after) if before.get(path) != after.get(path)}


def line_changes(before, after):
    """(removed lines, added lines) between two file contents."""
    removed, added = [], []
    for line in difflib.unified_diff(before.decode().splitlines(), after.decode().splitlines(), lineterm="", n=0):
        if not line.startswith(("---", "+++", "@@")):
            (removed if line.startswith("-") else added).append(line[1:])
    return removed, added


def conf_value(conf, key):
    return re.search(r"^%s=(.*)$" % key, conf.decode(), re.MULTILINE).group(1)


def router_block(domain):
    router = "traefik.http.routers.mta-sts-%s" % domain.replace(".", "_")
    return ["      # mta-sts.%s" % domain,
            '      - "%s.rule=Host(`mta-sts.%s`)"' % (router, domain),
            '      - "%s.entrypoints=https"' % router,
            '      - "%s.tls=true"' % router,
            '      - "%s.tls.certresolver=letsencrypt"' % router,
            '      - "%s.service=mta-sts"' % router]


def assert_every_check_passes(report, domains):
    assert [entry["domain"] for entry in report["domains"]] == [domain.name for domain in domains]
    not_passed = [(entry["domain"], check["name"], check["detail"]) for entry in report["domains"] for check in entry["checks"]
                  if check["status"] != "pass"]
    assert not_passed == []
    for entry in report["domains"]:
        names = {check["name"] for check in entry["checks"]}
        # Each verifier ran for each domain: DNS, the policy over HTTPS with its certificate, STARTTLS to the MX.
        assert {"spf.record", "dkim.key", "dmarc.record", "tlsrpt.record", "records.expected", "mta_sts.policy_fetch",
                "mta_sts.policy_certificate", "mta_sts.policy_expected", "mta_sts.mode", "smtp.starttls", "smtp.certificate"} <= names
    dane = {check["name"]: check for entry in report["domains"] if entry["domain"] == "dane.test" for check in entry["checks"]}
    assert dane["dane.tlsa_dnssec"]["detail"].startswith("DNSSEC-validated")
    assert dane["dane.tlsa_match"]["detail"].startswith("the presented chain matches 3 1 1 ")


def test_site_converges_verifies_and_changes_only_what_a_fleet_change_adds(tmp_path):
    said = []
    kept = tmp_path / "kept"
    with sandbox_tool.Sandbox(str(kept), reserve=(JOINED_MAILCOW, JOINED_STANDALONE)) as box:
        # 1 and 2: what make site does.
        outcome = sandbox_tool.converge(box, said.append)
        assert outcome.ok, "\n".join(said)
        assert outcome.first.changed > 0
        assert outcome.second.changed == 0 and outcome.second.changed_tasks == []
        assert set(outcome.second.recap) == {"localhost", MAIL_HOST, WEB_HOST, "mx.dane.test"}
        assert "sandbox: changed=0 on the second run: the site is converged" in said
        assert "  Every check passed." in said and "Report:    %s" % box.report_html in said
        assert_every_check_passes(outcome.report, sandbox_tool.DOMAINS)
        assert outcome.report["summary_line"].startswith("3 domain(s): 3 pass, 0 warn, 0 fail")
        assert os.path.getsize(box.report_html) > 0
        assert oct(os.stat(kept / "inventory" / "group_vars" / "all" / "tsig.yml").st_mode & 0o777) == "0o600"
        assert box.bind.tsig_secret not in (kept / "inventory" / "hosts.yml").read_text()
        assert box.bind.tsig_secret not in (kept / "site-first-run.log").read_text()

        records_before = served_records(box)
        assert records_before >= wanted_records(box, sandbox_tool.DOMAINS)
        mailcow_before, project_before = files_under(box.mailcow_dir), files_under(box.container_dir)
        keys_before = files_under(box.host_dir(MAIL_HOST, "dkim"))

        # 3: the fleet change.
        fleet = list(sandbox_tool.DOMAINS) + [JOINED_MAILCOW, JOINED_STANDALONE]
        box.write_inventory(fleet)
        change = box.run_site("site-fleet-change.log")
        assert change.ok, open(change.log_path, encoding="utf-8").read()[-4000:]
        assert set(change.changed_tasks) == CHANGED_BY_THE_FLEET_CHANGE

        # DNS: exactly the new domains' records appeared; nothing else changed, in any zone.
        records_after = served_records(box)
        added = records_after - records_before
        assert records_before - records_after == set()
        assert added == wanted_records(box, fleet) - wanted_records(box, sandbox_tool.DOMAINS)
        assert all(name.endswith((JOINED_MAILCOW.name + ".", JOINED_STANDALONE.name + ".")) for name, _type, _value in added)
        assert {(name, rtype) for name, rtype, _value in added} >= {
            ("joined-mailcow.test.", "MX"), ("joined-mailcow.test.", "TXT"), ("dkim._domainkey.joined-mailcow.test.", "TXT"),
            ("_dmarc.joined-mailcow.test.", "TXT"), ("_mta-sts.joined-mailcow.test.", "CNAME"), ("_smtp._tls.joined-mailcow.test.", "CNAME"),
            ("joined-standalone.test.", "MX"), ("_mta-sts.joined-standalone.test.", "TXT"), ("mta-sts.joined-standalone.test.", "CNAME"),
            ("dkim._domainkey.joined-standalone.test.", "TXT"), ("_smtp._tls.joined-standalone.test.", "TXT")}

        # mailcow: only mailcow.conf, and in it only the new mailcow domain's name in the two lists.
        mailcow_after = files_under(box.mailcow_dir)
        assert changed_paths(mailcow_before, mailcow_after) == {"mailcow.conf"}
        conf_before, conf_after = mailcow_before["mailcow.conf"][0], mailcow_after["mailcow.conf"][0]
        keys = ("ADDITIONAL_SAN", "ADDITIONAL_SERVER_NAMES")
        assert line_changes(conf_before, conf_after) == (
            ["%s=%s" % (key, conf_value(conf_before, key)) for key in keys],
            ["%s=%s,mta-sts.%s" % (key, conf_value(conf_before, key), JOINED_MAILCOW.name) for key in keys])
        assert "mta-sts.delegated.test" in conf_value(conf_before, "ADDITIONAL_SAN").split(",")

        # The container: the new standalone domain's labels, map line and policy file; nothing else.
        project_after = files_under(box.container_dir)
        new_policy = "mta-sts/%s.txt" % JOINED_STANDALONE.name
        assert changed_paths(project_before, project_after) == {"docker-compose.yml", "nginx/mta-sts-hosts.conf", new_policy}
        assert line_changes(project_before["docker-compose.yml"][0], project_after["docker-compose.yml"][0]) == (
            [], router_block(JOINED_STANDALONE.name))
        assert line_changes(project_before["nginx/mta-sts-hosts.conf"][0], project_after["nginx/mta-sts-hosts.conf"][0]) == (
            [], ["    mta-sts.%s %s.txt;" % (JOINED_STANDALONE.name, JOINED_STANDALONE.name)])
        assert project_after[new_policy][0] == project_after["mta-sts/standalone.test.txt"][0]

        # The signing host: a key for each new domain; the others untouched.
        keys_after = files_under(box.host_dir(MAIL_HOST, "dkim"))
        assert changed_paths(keys_before, keys_after) == {"joined-mailcow.test.dkim.key", "joined-standalone.test.dkim.key"}

        # And the fleet verifies, the new domains included.
        assert_every_check_passes(box.report(), fleet)


def test_a_failing_stage_fails_the_sandbox_and_stops_the_run(tmp_path):
    said = []
    with sandbox_tool.Sandbox(str(tmp_path / "kept")) as box:
        box.bind.stop()  # the dns stage has no server to publish to
        outcome = sandbox_tool.converge(box, said.append)
    assert not outcome.ok and outcome.second is None and outcome.report is None
    assert outcome.first.rc != 0 and outcome.first.recap["localhost"]["failed"] == 1
    assert said[-1] == "sandbox: FAILED: the first run failed (exit status 2); its output is in %s" % outcome.first.log_path
    log = open(outcome.first.log_path, encoding="utf-8").read()
    failed_task = log[:log.index("fatal: [localhost]")].rsplit("TASK [", 1)[1].split("]", 1)[0]
    assert failed_task == "mailsec.posture.dns : Publish the mail records with RFC 2136 dynamic updates"
    assert "127.0.0.1" in log[log.index("fatal: [localhost]"):]
    assert "PLAY [Verify the mail security of the domains]" not in log  # nothing after the failed stage ran for localhost

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bundled sandbox behind ``make site``: the site playbook against real servers on loopback.

In a temporary directory it starts, from tests/harness:

* BIND with a TSIG key, serving the zones of the example domains and of the mail hosts
  (``hosting.test``); the DANE domain's zone is DNSSEC-signed;
* unbound, validating with that zone's trust anchor: the resolver the verification asks;
* nginx with certificates from a test CA, standing in for traefik (and for mailcow's own nginx): it
  serves each ``mta-sts.<domain>`` from the directory the mailcow role or the container role writes;
* SMTP servers with STARTTLS standing in for the MX hosts: ``mail.hosting.test`` (mailcow) and the
  DANE domain's own ``mx.dane.test`` on another address, each with a certificate from the test CA;
* a legacy mailcow tree (``mailcow.conf`` with both keys) and an empty compose project directory,

writes an inventory of three domains (one delegating to mailcow by CNAME, one standalone behind the
container, one with DANE), runs ``ansible-playbook playbooks/site.yml``, runs it again to show that
nothing changes, prints the verification summary and the HTML report's path, and stops every server,
also on Ctrl-C or an error. The inventory, the report and the playbook logs stay in the kept directory
(``.build/sandbox`` by default); everything else is removed. There is no docker engine: the roles' docker
steps are switched off by their own variables (``mailcow_mta_sts_docker``, ``mta_sts_container_docker``).

    python tools/sandbox.py [--kept DIR] [--playbook mailsec.posture.site]   # tools/site runs it; exit 0 only when all went well

With ``--playbook mailsec.posture.site`` and ANSIBLE_COLLECTIONS_PATH naming an install path, it runs the
site playbook of an installed artifact (tests/integration/test_galaxy_build.py does).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

# pylint: disable-next=wrong-import-position
from harness import BindServer, NginxServer, ServerError, Site, SmtpServer, TestCA, UnboundResolver  # noqa: E402
from harness import reports as report_maker  # noqa: E402  pylint: disable=wrong-import-position
from harness.dovecot import DovecotServer  # noqa: E402  pylint: disable=wrong-import-position

SITE_PLAYBOOK = os.path.join(ROOT, "playbooks", "site.yml")
MAILCOW_CONF = os.path.join(ROOT, "tests", "fixtures", "mailcow", "mailcow.conf")
DEFAULT_KEPT = os.path.join(ROOT, ".build", "sandbox")
PLAYBOOK_TIMEOUT = 300.0

HOSTING_ZONE = "hosting.test"  # the mail hosts' zone
MAIL_HOST = "mail." + HOSTING_ZONE  # mailcow: the MX of every domain but the DANE one
WEB_HOST = "web." + HOSTING_ZONE  # traefik in front of the nginx:alpine MTA-STS container
MAIL_ADDRESS = "127.0.0.1"
DANE_MX_ADDRESS = "127.0.0.2"  # the DANE domain's MX is a server of its own
REVERSE_ZONE = "0.0.127.in-addr.arpa"  # the PTR records of both
REPORT_NAME = "mailsec-verify"
# What the sandbox cannot make real, and why a check of that name may warn here (none is expected today).
EXPLAINED_WARNINGS = {}

KINDS = ("mailcow", "container", "dane")
REPORT_EVIDENCE = {"": 0, "complete": 8, "partial": 2}  # days of DMARC aggregate reports in the mailbox
REPORT_STAGING = {"days": 7, "min_messages": 50}


@dataclasses.dataclass(frozen=True)
class MailDomain:
    """A domain of the sandbox. ``kind``: ``mailcow`` (MX mailcow; delegates MTA-STS and TLS-RPT to it by CNAME,
    mailcow serves the policy), ``container`` (MX mailcow, but standalone records; the container serves the
    policy) or ``dane`` (its own MX, in its DNSSEC-signed zone, with TLSA; the container serves the policy)."""

    name: str
    kind: str
    # A staged DMARC rollout (--reports): "complete" has 8 days of clean reports under p=none in the sandbox's
    # mailbox (promoted to quarantine), "partial" only 2 (held at none); "" is no staging.
    reports: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError("kind of %s must be one of %s, got %r" % (self.name, ", ".join(KINDS), self.kind))
        if self.reports not in REPORT_EVIDENCE:
            raise ValueError("reports of %s must be one of %s, got %r" % (self.name, ", ".join(REPORT_EVIDENCE), self.reports))

    @property
    def mx(self):
        return "mx." + self.name if self.kind == "dane" else MAIL_HOST

    @property
    def policy_server(self):
        """The host ``mta-sts.<domain>`` points at: mailcow, or traefik in front of the container."""
        return MAIL_HOST if self.kind == "mailcow" else WEB_HOST

    def model(self):
        """The domain's entry in ``mailsec_domains`` (the rest comes from ``mailsec_domain_defaults``)."""
        entry = {"name": self.name, "dmarc": {"rua": ["mailto:dmarc@%s" % self.name]}}
        if self.reports:
            entry["dmarc"]["staging"] = dict(REPORT_STAGING)
        if self.kind == "mailcow":
            # The mailcow guide's way: CNAMEs to the mail host, which publishes one record for all its domains.
            entry["mta_sts"] = {"delegate_to": MAIL_HOST}
            entry["tlsrpt"] = {"rua": ["mailto:tls-reports@%s" % HOSTING_ZONE], "delegate_to": MAIL_HOST}
        else:
            entry["mta_sts"] = {"policy_host": WEB_HOST}
            entry["tlsrpt"] = {"rua": ["mailto:tls-reports@%s" % self.name]}
        if self.kind == "dane":
            entry["mx"] = [self.mx]
            entry["dane"] = {"enabled": True}  # the TLSA records come from the MX certificate (playbooks/keys.yml)
        return entry

    def zone(self):
        """The zone as it is before the site playbook: only the DANE domain's MX address is there."""
        zone = ["mx A %s" % DANE_MX_ADDRESS] if self.kind == "dane" else []
        if self.reports:  # it has been at p=none for a while
            zone.append('_dmarc TXT "v=DMARC1; p=none; rua=mailto:dmarc@%s"' % self.name)
        return zone

    def report_mails(self, now):
        """The DMARC aggregate reports the sandbox's mailbox holds about this domain, as Google, Microsoft and Yahoo mail them."""
        providers = sorted(report_maker.PROVIDERS)
        return [report_maker.dmarc_mail(self.name, begin, [report_maker.own_row(MAIL_ADDRESS, 10, self.name),
                                                           report_maker.spoof_row("203.0.113.5", 2, self.name)],
                                        provider=providers[index % len(providers)])
                for index, begin in enumerate(report_maker.days_back(now, REPORT_EVIDENCE[self.reports]))]


DOMAINS = (MailDomain("delegated.test", "mailcow"), MailDomain("standalone.test", "container"), MailDomain("dane.test", "dane"))
# --reports: two more domains with a staged DMARC rollout and a dovecot (IMAPS) holding their reports.
REPORT_DOMAINS = (MailDomain("promoted.test", "mailcow", reports="complete"), MailDomain("held.test", "mailcow", reports="partial"))


@dataclasses.dataclass
class RunResult:
    """One ansible-playbook run: exit status, seconds, the PLAY RECAP per host, the tasks that changed, the log."""

    rc: int
    seconds: float
    recap: dict
    changed_tasks: list
    log_path: str

    @property
    def changed(self):
        return sum(counts.get("changed", 0) for counts in self.recap.values())

    @property
    def failed(self):
        return sum(counts.get("failed", 0) + counts.get("unreachable", 0) for counts in self.recap.values())

    @property
    def ok(self):
        return self.rc == 0 and self.failed == 0 and bool(self.recap)

    def recap_line(self):
        keys = ("ok", "changed", "unreachable", "failed", "skipped")
        return "  ".join("%s=%d" % (key, sum(counts.get(key, 0) for counts in self.recap.values())) for key in keys)


_RECAP_LINE = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$")
_TASK_LINE = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(.*)\]")
_CHANGED_LINE = re.compile(r"^changed: \[([^\]]+)\]")


def parse_output(lines):
    """``(recap, changed_tasks)`` from the default callback's text: ``{host: {ok, changed, ...}}`` and ``[(task, host)]``."""
    recap, changed, task, in_recap = {}, [], None, False
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if in_recap:
            match = _RECAP_LINE.match(line.strip())
            if match:
                recap[match.group(1)] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(2))}
            continue
        match = _TASK_LINE.match(line)
        if match:
            task = match.group(1)
            continue
        match = _CHANGED_LINE.match(line)
        if match and task:
            changed.append((task, match.group(1)))
    return recap, changed


class Sandbox:
    """The servers, the hosts' directories and the inventory; a context manager that stops it all.

    ``domains`` are in the inventory from the start; ``reserve`` domains get their zone, their
    ``mta-sts`` site and certificate at once, so that a test can add them to the inventory later
    (``write_inventory``) as a fleet change, without restarting anything.
    """

    def __init__(self, kept_dir=DEFAULT_KEPT, domains=DOMAINS, reserve=(), playbook=SITE_PLAYBOOK):
        self.kept_dir = os.path.abspath(kept_dir)
        self.playbook = playbook
        self.domains = list(domains)
        self.world = self.domains + [domain for domain in reserve if domain not in self.domains]
        names = [domain.name for domain in self.world]
        if len(set(names)) != len(names):
            raise ValueError("a domain is listed twice: %s" % ", ".join(names))
        self.workdir = None
        self.ca = None
        self.bind = self.resolver = self.web = None
        self.smtp = {}
        self.imap = None  # dovecot with the reports, when a domain stages its DMARC rollout
        self._stack = contextlib.ExitStack()

    # ----- paths -----------------------------------------------------------------------------

    def host_dir(self, host, *parts):
        return os.path.join(self.workdir, "hosts", host, *parts)

    @property
    def mailcow_dir(self):
        return self.host_dir(MAIL_HOST, "opt", "mailcow-dockerized")

    @property
    def container_dir(self):
        return self.host_dir(WEB_HOST, "opt", "mta-sts-container")

    @property
    def inventory_dir(self):
        return os.path.join(self.kept_dir, "inventory")

    @property
    def inventory_path(self):
        return os.path.join(self.inventory_dir, "hosts.yml")

    @property
    def report_dir(self):
        return os.path.join(self.kept_dir, "report")

    @property
    def report_json(self):
        return os.path.join(self.report_dir, REPORT_NAME + ".json")

    @property
    def report_html(self):
        return os.path.join(self.report_dir, REPORT_NAME + ".html")

    @property
    def ca_path(self):
        return os.path.join(self.workdir, "ca.pem")

    def certificate_path(self, host):
        return self.host_dir(host, "ssl", host + ".chain.pem")

    def next_key_path(self, host):
        """The key a DANE MX will switch to: its 3 1 1 record is published beside the current one (a rollover scheme)."""
        return self.host_dir(host, "ssl", host + ".next.key")

    # ----- life cycle ------------------------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info):
        self.close()

    def start(self):
        # Each run starts from nothing: the kept directory of an earlier run goes first.
        shutil.rmtree(self.kept_dir, ignore_errors=True)
        os.makedirs(self.kept_dir)
        self.workdir = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="mailsec-sandbox-"))
        self.ca = TestCA(organization="mailsec.posture sandbox CA")
        self.ca.write_ca(self.ca_path)
        self._prepare_hosts()
        zones = {HOSTING_ZONE: ["mail A %s" % MAIL_ADDRESS, "web A %s" % MAIL_ADDRESS]}
        zones.update({domain.name: domain.zone() for domain in self.world})
        # Reverse DNS of the MX addresses, forward-confirmed, as a hosting provider sets it.
        zones[REVERSE_ZONE] = ["%s PTR %s." % (address.rsplit(".", maxsplit=1)[-1], host) for host, address in self._mx_addresses()]
        signed = [domain.name for domain in self.world if domain.kind == "dane"]
        self.bind = self._stack.enter_context(BindServer(zones, dnssec_zones=signed, directory=self._server_dir("bind")))
        self.resolver = self._stack.enter_context(UnboundResolver(self.bind, directory=self._server_dir("unbound")))
        self._start_mx_hosts()
        self.web = self._stack.enter_context(NginxServer(self._sites(), self.ca, directory=self._server_dir("nginx")))
        staged = [domain for domain in self.world if domain.reports]
        if staged:
            self.imap = self._stack.enter_context(DovecotServer(self.ca, hostname="imap." + HOSTING_ZONE, directory=self._server_dir("dovecot")))
            now = time.time()
            self.imap.append(*[mail for domain in staged for mail in domain.report_mails(now)])
        self.write_inventory(self.domains)

    def close(self):
        self._stack.close()

    def _server_dir(self, name):
        return os.path.join(self.workdir, "servers", name)

    def _prepare_hosts(self):
        # mailcow before 2025-09, as its installer leaves it: mailcow.conf (with .env pointing at it) and data/web.
        web_root = os.path.join(self.mailcow_dir, "data", "web")
        os.makedirs(os.path.join(web_root, ".well-known", "acme-challenge"))
        with open(os.path.join(web_root, "index.php"), "w", encoding="utf-8") as handle:
            handle.write("<?php // the mailcow UI\n")
        with open(MAILCOW_CONF, encoding="utf-8") as handle:
            conf = handle.read().replace("MAILCOW_HOSTNAME=mail.example.com", "MAILCOW_HOSTNAME=" + MAIL_HOST)
        with open(os.open(os.path.join(self.mailcow_dir, "mailcow.conf"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w",
                  encoding="utf-8") as handle:
            handle.write(conf)
        os.symlink("mailcow.conf", os.path.join(self.mailcow_dir, ".env"))
        os.makedirs(os.path.dirname(self.container_dir))
        for host in {domain.mx for domain in self.world} | {MAIL_HOST}:
            os.makedirs(self.host_dir(host, "dkim"), mode=0o700)
            os.makedirs(self.host_dir(host, "ssl"), mode=0o700)

    def _mx_addresses(self):
        """``[(MX host, address)]``, the mailcow host first."""
        pairs = sorted({(domain.mx, DANE_MX_ADDRESS if domain.kind == "dane" else MAIL_ADDRESS) for domain in self.world},
                       key=lambda pair: pair[0] != MAIL_HOST)
        if len([host for host, address in pairs if address == DANE_MX_ADDRESS]) > 1:
            raise ValueError("the sandbox has one address for DANE MX hosts; %s would be the second" % pairs[-1][0])
        return pairs

    def _start_mx_hosts(self):
        # Every MX listens on the same port (the one verify_smtp_tls knocks on), each on its own address.
        port = None
        for host, address in self._mx_addresses():
            issued = self.ca.issue(host)
            issued.write(self.host_dir(host, "ssl"), host)
            if address == DANE_MX_ADDRESS:
                with open(os.open(self.next_key_path(host), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="ascii") as handle:
                    handle.write(self.ca.issue(host).key_pem)
            server = SmtpServer(host, self.ca, certificate=issued, address=address)
            server.port = port
            self.smtp[host] = self._stack.enter_context(server)
            port = server.port

    def _sites(self):
        sites = []
        mailcow_names = ["mta-sts." + domain.name for domain in self.world if domain.policy_server == MAIL_HOST]
        if mailcow_names:
            # mailcow's nginx: one server for every mta-sts.* name, the web root as it is, types from mime.types.
            sites.append(Site(mailcow_names[0], aliases=tuple(mailcow_names[1:]), root=os.path.join(self.mailcow_dir, "data", "web"),
                              content_type="application/octet-stream",
                              locations="    location / { include /etc/nginx/mime.types; try_files $uri =404; }"))
        for domain in self.world:
            if domain.policy_server != WEB_HOST:
                continue
            # traefik routes Host(`mta-sts.<domain>`) to the container, whose nginx answers from <domain>.txt.
            # The root is the directory above the project, which the role creates.
            policy = "/%s/mta-sts/%s.txt" % (os.path.basename(self.container_dir), domain.name)
            sites.append(Site("mta-sts." + domain.name, root=os.path.dirname(self.container_dir), content_type="text/plain",
                              locations="    location = /.well-known/mta-sts.txt { try_files %s =404; }\n"
                                        "    location / { return 404; }" % policy))
        return sites

    # ----- inventory -------------------------------------------------------------------------

    def inventory(self, domains):
        """The sandbox inventory for ``domains`` (a subset of the world), without the TSIG secret."""
        for domain in domains:
            if domain not in self.world:
                raise ValueError("%s has no servers in this sandbox; give it as a reserve domain" % domain.name)
        keys = {}
        for domain in domains:
            signer = domain.mx
            keys.setdefault(signer, []).append({"domain": domain.name, "selector": "dkim",
                                                "path": self.host_dir(signer, "dkim", "%s.dkim.key" % domain.name)})
        mx_hosts = {}
        for host in sorted({domain.mx for domain in domains} | {MAIL_HOST}):
            mx_hosts[host] = {"ansible_connection": "local", "mailsec_dkim_keys": keys.get(host, [])}
            if any(domain.kind == "dane" and domain.mx == host for domain in domains):
                # The TLSA owner name carries the port senders connect to: 25 in the world, this MX's port here.
                mx_hosts[host]["mailsec_tlsa_certificates"] = [{"mx": host, "certificate": self.certificate_path(host),
                                                                "next_public_key": self.next_key_path(host),
                                                                "port": self.smtp[host].port}]
        mailcow_host = mx_hosts.pop(MAIL_HOST)
        mailcow_host.update({
            "mailcow_mta_sts_dir": self.mailcow_dir,
            "mailcow_mta_sts_docker": False,
            # One mta-sts.<domain> per domain in ADDITIONAL_SAN/ADDITIONAL_SERVER_NAMES (not mta-sts.*): the ACME
            # client asks only for names that point here.
            "mailcow_mta_sts_server_names": "explicit",
        })
        container_host = {
            "ansible_connection": "local",
            "mta_sts_container_dir": self.container_dir,
            "mta_sts_container_docker": False,
            "mta_sts_container_serving_host": WEB_HOST,
            "mta_sts_container_certresolver": "letsencrypt",
        }
        hosts = {"localhost": {"ansible_connection": "local"}}
        hosts.update(mx_hosts)
        inventory = {"all": {
            "hosts": hosts,
            "children": {
                "mailcow": {"hosts": {MAIL_HOST: mailcow_host}},
                "mta_sts_container": {"hosts": {WEB_HOST: container_host}},
            },
            "vars": {
                "ansible_python_interpreter": sys.executable,
                "mailsec_mail_host": MAIL_HOST,
                "mailsec_zones": [HOSTING_ZONE],
                "mailsec_domain_defaults": {
                    "spf": {"mechanisms": ["mx"], "all": "fail"},
                    "dmarc": {"policy": "reject", "adkim": "s", "aspf": "s"},
                    # enforce: every MX certificate here verifies (against the sandbox CA, verify_ca_path).
                    "mta_sts": {"mode": "enforce", "max_age": 604800},
                },
                "mailsec_domains": [domain.model() for domain in domains],
                "dns_server": self.bind.address,
                "dns_port": self.bind.port,
                "dns_key_name": self.bind.tsig_name,
                "dns_key_algorithm": self.bind.tsig_algorithm,
                "verify_nameservers": ["%s:%d" % (self.resolver.address, self.resolver.port)],
                "verify_ca_path": self.ca_path,
                "verify_https_port": self.web.https_port,
                "verify_smtp_port": self.smtp[MAIL_HOST].port,
                "verify_helo_name": "sandbox.%s" % HOSTING_ZONE,
                "verify_timeout": 5,
                "verify_report_dir": self.report_dir,
                "verify_report_name": REPORT_NAME,
                "verify_report_title": "mailsec.posture sandbox",
                "verify_fail_on": "fail",
            },
        }}
        if self.imap is not None:
            # The password is in the secrets file (write_inventory).
            inventory["all"]["vars"]["mailsec_report_sources"] = [{
                "type": "imap", "host": self.imap.address, "port": self.imap.port, "user": self.imap.user,
                "password": "{{ sandbox_imap_password }}", "ca_path": self.ca_path}]
        return inventory

    def write_inventory(self, domains):
        """(Re)write the kept inventory for ``domains``; the TSIG secret goes to a group_vars file of mode 0600."""
        self.domains = list(domains)
        secrets_dir = os.path.join(self.inventory_dir, "group_vars", "all")
        os.makedirs(secrets_dir, exist_ok=True)
        header = "# The mailsec.posture sandbox (tools/sandbox.py); its servers and directories lived only while it ran.\n"
        _write(self.inventory_path, header + yaml.safe_dump(self.inventory(domains), sort_keys=False, width=160))
        _write(os.path.join(secrets_dir, "tsig.yml"), "# The TSIG secret of the sandbox BIND.\n" + yaml.safe_dump(
            {"dns_key_secret": self.bind.tsig_secret}), mode=0o600)
        if self.imap is not None:
            _write(os.path.join(secrets_dir, "imap.yml"), "# The password of the sandbox's report mailbox.\n" + yaml.safe_dump(
                {"sandbox_imap_password": self.imap.password}), mode=0o600)

    # ----- runs ------------------------------------------------------------------------------

    def environment(self):
        """ansible-playbook's environment: this configuration only, temporary files in the work directory."""
        config = os.path.join(self.workdir, "ansible.cfg")
        if not os.path.exists(config):
            _write(config, "[defaults]\nretry_files_enabled = false\ninterpreter_python = %s\n\n[connection]\npipelining = true\n" % sys.executable)
        environment = dict(os.environ)
        environment.update({
            "ANSIBLE_CONFIG": config,
            "ANSIBLE_HOME": os.path.join(self.workdir, "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": os.path.join(self.workdir, "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": os.path.join(self.workdir, "ansible-remote"),
            "ANSIBLE_STDOUT_CALLBACK": "default",
            "ANSIBLE_LOCALHOST_WARNING": "0",
        })
        environment.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".build", "collections"))
        return environment

    def run_site(self, log_name, echo=None, args=()):
        """Run the site playbook on the sandbox inventory; ``echo`` gets every output line as it comes."""
        log_path = os.path.join(self.kept_dir, log_name)
        argv = ["ansible-playbook", "-i", self.inventory_path] + list(args) + [self.playbook]
        began = time.monotonic()
        lines = []
        # A session of its own: Ctrl-C reaches this script, which then stops ansible-playbook and its workers.
        with open(log_path, "w", encoding="utf-8") as log, subprocess.Popen(
                argv, cwd=self.workdir, env=self.environment(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, start_new_session=True) as process:
            try:
                deadline = began + PLAYBOOK_TIMEOUT
                for line in process.stdout:
                    lines.append(line)
                    log.write(line)
                    if echo:
                        echo(line)
                    if time.monotonic() > deadline:
                        raise TimeoutError("ansible-playbook ran longer than %.0f s; its output is in %s" % (PLAYBOOK_TIMEOUT, log_path))
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except BaseException:
                _stop_group(process)
                raise
        recap, changed = parse_output(lines)
        return RunResult(process.returncode, time.monotonic() - began, recap, changed, log_path)

    def report(self):
        with open(self.report_json, encoding="utf-8") as handle:
            return json.load(handle)


def _write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(descriptor, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def _stop_group(process):
    """Stop ansible-playbook and the workers it forked."""
    if process.poll() is not None:
        return
    for signum, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def summary_lines(report):
    """The verification summary: a domain x status table of check counts, then every check that did not pass."""
    width = max([len("domain")] + [len(entry["domain"]) for entry in report["domains"]])
    lines = ["%-*s  %5s  %5s  %5s  %s" % (width, "domain", "pass", "warn", "fail", "status")]
    for entry in report["domains"]:
        counts = {status: sum(1 for check in entry["checks"] if check["status"] == status) for status in ("pass", "warn", "fail")}
        lines.append("%-*s  %5d  %5d  %5d  %s" % (width, entry["domain"], counts["pass"], counts["warn"], counts["fail"], entry["status"]))
    lines.append(report["summary_line"])
    problems = [(entry["domain"], check) for entry in report["domains"] for check in entry["checks"] if check["status"] not in ("pass", "off")]
    if problems:
        lines.append("Checks that did not pass:")
        for domain, check in problems:
            subject = " (%s)" % check["subject"] if check.get("subject") else ""
            lines.append("  %s %s: %s%s: %s" % (check["status"].upper(), domain, check["name"], subject, check["detail"]))
            if check["status"] == "warn" and check["name"] in EXPLAINED_WARNINGS:
                lines.append("    why, here: " + EXPLAINED_WARNINGS[check["name"]])
    else:
        lines.append("Every check passed.")
    return lines


def unexplained_problems(report):
    """Checks that failed, or warned for a reason the sandbox does not explain."""
    return [(entry["domain"], check["name"]) for entry in report["domains"] for check in entry["checks"]
            if check["status"] == "fail" or (check["status"] == "warn" and check["name"] not in EXPLAINED_WARNINGS)]


@dataclasses.dataclass
class Outcome:
    """What ``converge`` found: ``ok`` when both runs succeeded, the second changed nothing and every check passed."""

    ok: bool
    first: RunResult = None
    second: RunResult = None
    report: dict = None


def converge(sandbox, say, echo=None):
    """Run the site playbook twice on ``sandbox``, print what happened through ``say``; return an Outcome."""
    outcome = Outcome(ok=False)
    say("sandbox: first run of playbooks/site.yml")
    first = outcome.first = sandbox.run_site("site-first-run.log", echo=echo)
    say("sandbox: first run: %s (%.1f s)" % (first.recap_line(), first.seconds))
    if not first.ok:
        say("sandbox: FAILED: the first run failed (exit status %d); its output is in %s" % (first.rc, first.log_path))
        return outcome
    say("sandbox: second run of playbooks/site.yml (nothing may change)")
    second = outcome.second = sandbox.run_site("site-second-run.log")
    say("sandbox: second run: %s (%.1f s)" % (second.recap_line(), second.seconds))
    if not second.ok:
        say("sandbox: FAILED: the second run failed (exit status %d); its output is in %s" % (second.rc, second.log_path))
        return outcome
    if second.changed != 0:
        say("sandbox: FAILED: the second run changed %d thing(s), expected changed=0:" % second.changed)
        for task, host in second.changed_tasks:
            say("  %s: %s" % (host, task))
        return outcome
    say("sandbox: changed=0 on the second run: the site is converged")
    report = outcome.report = sandbox.report()
    say("")
    say("Verification (%s):" % ", ".join(report["modules"]))
    for line in summary_lines(report):
        say("  " + line)
    digest = report.get("reports_digest")
    if digest:
        say("")
        say("Reports (DMARC aggregate, TLS-RPT), the last %d days:" % digest["period"]["days"])
        for entry in digest["domains"]:
            for decision in entry.get("decisions") or []:
                say("  %s: %s" % (entry["domain"], decision["explanation"]))
    say("")
    say("Report:    %s" % sandbox.report_html)
    say("Data:      %s" % sandbox.report_json)
    say("Inventory: %s (the servers are gone once this ends; ports and paths are this run's)" % sandbox.inventory_path)
    problems = unexplained_problems(report)
    if problems:
        say("sandbox: FAILED: %d check(s) did not pass: %s" % (len(problems), ", ".join("%s %s" % pair for pair in problems)))
        return outcome
    outcome.ok = True
    return outcome


def describe(sandbox):
    """One line naming every server of the sandbox and where it listens."""
    signed = ", ".join(domain.name for domain in sandbox.world if domain.kind == "dane")
    mx_hosts = ", ".join("%s %s:%d" % (host, server.address, server.port) for host, server in sorted(sandbox.smtp.items()))
    imap = ", dovecot imaps %s:%d (the reports)" % (sandbox.imap.address, sandbox.imap.port) if sandbox.imap is not None else ""
    return ("sandbox: BIND %s:%d (TSIG key %s; signed: %s), unbound %s:%d (validating), nginx https %s:%d, SMTP %s%s"
            % (sandbox.bind.address, sandbox.bind.port, sandbox.bind.tsig_name, signed, sandbox.resolver.address,
               sandbox.resolver.port, sandbox.web.address, sandbox.web.https_port, mx_hosts, imap))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run playbooks/site.yml against a sandbox of real servers on loopback.")
    parser.add_argument("--kept", default=DEFAULT_KEPT, help="directory for the inventory, the report and the logs (default %(default)s)")
    parser.add_argument("--playbook", default=SITE_PLAYBOOK,
                        help="the site playbook: a path, or mailsec.posture.site to run an installed collection's (default %(default)s)")
    parser.add_argument("--reports", action="store_true",
                        help="also two domains with a staged DMARC rollout and a dovecot holding their reports (one promoted, one held)")
    options = parser.parse_args(argv)

    def say(text):
        print(text, flush=True)

    def interrupt(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    # Ctrl-C, and a polite kill, end the run the same way: the servers stop and the work directory goes.
    # (SIGINT is set explicitly: a shell starts background jobs with it ignored.)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    began = time.monotonic()
    outcome = Outcome(ok=False)
    try:
        domains = DOMAINS + (REPORT_DOMAINS if options.reports else ())
        with Sandbox(options.kept, domains=domains, playbook=options.playbook) as sandbox:
            say(describe(sandbox))
            say("sandbox: started in %.1f s; inventory %s" % (time.monotonic() - began, sandbox.inventory_path))
            outcome = converge(sandbox, say, echo=lambda line: print(line, end="", flush=True))
    except KeyboardInterrupt:
        say("\nsandbox: interrupted")
        return 130
    except (ServerError, OSError, TimeoutError) as exc:
        say("sandbox: FAILED: %s" % exc)
        return 1
    finally:
        say("sandbox: %s in %.1f s; every server stopped" % ("passed" if outcome.ok else "ended", time.monotonic() - began))
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())

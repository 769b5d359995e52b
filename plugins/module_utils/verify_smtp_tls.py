# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify the MX hosts' SMTP STARTTLS and DANE as senders see them, for many domains at once.

Private to the collection: users may rely only on plugins and modules.

Everything network-bound runs in the resolver's event loop: every domain's MX lookup at once;
then every distinct MX host's addresses and TLSA records at once; then one SMTP probe per
distinct MX host and port (a host shared by a thousand domains is probed once), at most
``concurrency`` at a time; then, only for the domains whose MX presented a certificate that did
not verify, the MTA-STS record and policy that decide how severe that is. Then come the checks
of each domain, plain computation.

How strict the certificate checks are follows what senders do with it:

- A certificate that does not verify for the MX name (wrong name, expired, untrusted chain)
  **fails** when the domain's MTA-STS mode is ``enforce``: RFC 8461 4.2 makes senders refuse
  to deliver over such a connection. Otherwise it **warns**: in ``testing`` mode senders report
  but deliver (RFC 8461 5), and opportunistic TLS (RFC 3207, RFC 7435) and DANE-EE (RFC 7672
  3.1.1, which ignores names and dates) deliver too, but turning enforce on would lose mail.
- TLSA records only count when a validating resolver vouches for them (the AD bit; RFC 7672
  2.2). The ``nameservers`` must be a validating resolver for the DANE checks; an answer
  without AD fails ``dane.tlsa_dnssec``. A SERVFAIL for the TLSA lookup (what validating
  resolvers answer for bogus signatures) fails it too: DANE senders then defer mail.

Check names (see docs/checks-transport.md): ``smtp.mx``, ``smtp.address``, ``smtp.connect``,
``smtp.starttls``, ``smtp.certificate``, ``smtp.certificate_expiry``, ``dane.tlsa``,
``dane.tlsa_dnssec``, ``dane.tlsa_match``, ``dane.tlsa_expected``, ``dane.mx_dnssec``.
"""

from __future__ import annotations

import asyncio

from ansible_collections.mailsec.posture.plugins.module_utils import dane, fcrdns, probes, tls_grading, verify_input, verify_mta_sts
from ansible_collections.mailsec.posture.plugins.module_utils.checks import DomainChecks
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError

DEFAULT_PORT = 25
MODE_SOURCES = ("auto", "enforce", "testing", "none")


class MxHost:
    """One distinct MX host:port: its address and TLSA answers, the SMTP probe's result, and the checks
    made of them once per run (``probe_checks``), shared by every domain that names the host."""

    def __init__(self, host, port):
        self.host = host
        self.port = port
        self.address_answers = []
        self.tlsa = None
        self.probe = None
        self.grade = None  # tls_grading.HostGrade: the extra handshakes, once per host and port
        self.reverses = []  # fcrdns.Reverse per address
        self.host_checks = None  # (checks, depth checks, reached, handshake) once probe_checks has run

    @property
    def tlsa_name(self):
        return "_%d._tcp.%s" % (self.port, self.host)

    @property
    def addresses(self):
        return [address for answer in self.address_answers if answer.ok for address in answer.records]

    @property
    def needs_mode(self):
        """True when the probe made a handshake with a certificate that did not verify: how severe that
        is follows each domain's MTA-STS mode (``_check_certificate``); nothing else does."""
        return self.probe is not None and self.probe.error is None and not self.probe.verified

    @property
    def tlsa_values(self):
        if self.tlsa is None or not self.tlsa.ok:
            return []
        return [_tlsa_text(value) for value in self.tlsa.records]

    def facts(self):
        probe = self.probe.as_dict() if self.probe is not None else None
        return {
            "host": self.host,
            "port": self.port,
            "addresses": self.addresses,
            "tlsa": self.tlsa_values,
            "tlsa_authenticated": bool(self.tlsa is not None and self.tlsa.ok and self.tlsa.authenticated),
            "probe": probe,
            "tls_grade": self.grade.facts() if self.grade is not None else None,
            "reverse_dns": [entry.facts() for entry in self.reverses],
        }


def _tlsa_text(value):
    if isinstance(value, (tuple, list)):
        return "%d %d %d %s" % tuple(value)
    return str(value)


def _mx_exchanges(answer):
    """``[(preference, host)]`` sorted by preference; a null MX gives ``[]``."""
    if answer is None or not answer.ok:
        return []
    pairs = sorted(set((int(preference), exchange.rstrip(".").lower()) for preference, exchange in answer.records))
    return [(preference, host) for preference, host in pairs if host not in ("", ".")]


def _is_null_mx(answer):
    return answer is not None and answer.ok and all(exchange.rstrip(".") == "" for _preference, exchange in answer.records)


class Plan:
    """What one call gathers before it judges anything."""

    def __init__(self, port=DEFAULT_PORT):
        self.port = port
        self.mx = {}  # domain -> MX Answer
        self.policies = {}  # domain -> verify_mta_sts.LiveMtaSts (when learning modes)
        self.hosts = {}  # (host, port) -> MxHost, in the order the domains name them
        self.certificates = probes.CertificateBook()  # every certificate the probes and fetches were shown

    def host(self, name):
        """The MxHost of MX ``name`` at this run's port."""
        return self.hosts[(name, self.port)]


def gather(domains, resolver, port=DEFAULT_PORT, timeout=probes.DEFAULT_TIMEOUT, ca_path=None, concurrency=32, helo_name=None,
           learn_modes=True, policy_port=verify_mta_sts.DEFAULT_PORT, tls_guidance=tls_grading.DEFAULT_GUIDANCE):
    """Resolve every domain and MX host, then probe each distinct MX host once, in the resolver's loop.

    Lookups first (every domain's MX, then every distinct MX host's addresses and TLSA records),
    then the SMTP probes, at most ``concurrency`` at a time. With ``learn_modes``, the domains
    whose MX presented a certificate that did not verify then have their ``_mta-sts`` record and
    policy host resolved and their policy fetched (only for a valid record, as senders do): the
    mode decides only how severe such a certificate is (``_check_certificate``), so a fleet whose
    certificates verify fetches no policy at all. Lookups never overlap the handshakes, which would
    let answers overflow the UDP receive buffer (see ``verify_mta_sts.gather``).
    """
    plan = Plan(port)
    if not domains:
        return plan

    async def every():
        slots = asyncio.Semaphore(concurrency)
        for domain, answer in zip(domains, await resolver.agather([(domain, "MX") for domain in domains])):
            plan.mx[domain] = answer
        for domain in domains:
            for _preference, host in _mx_exchanges(plan.mx[domain]):
                plan.hosts.setdefault((host, port), MxHost(host, port))
        hosts = list(plan.hosts.values())
        pairs = []
        for mx_host in hosts:
            pairs.extend([(mx_host.host, "A"), (mx_host.host, "AAAA"), (mx_host.tlsa_name, "TLSA")])
        answers = await resolver.agather(pairs)
        for index, mx_host in enumerate(hosts):
            mx_host.address_answers = answers[index * 3:index * 3 + 2]
            mx_host.tlsa = answers[index * 3 + 2]
        reverses = await fcrdns.lookup(resolver, [address for mx_host in hosts for address in mx_host.addresses])
        for mx_host in hosts:
            mx_host.reverses = [reverses[address] for address in dict.fromkeys(mx_host.addresses)]

        async def probe(mx_host):
            if mx_host.addresses:
                async with slots:
                    mx_host.probe = await probes.aprobe_smtp(mx_host.host, mx_host.addresses, port=mx_host.port, timeout=timeout, ca_path=ca_path,
                                                             helo_name=helo_name, certificates=plan.certificates)
                    if tls_guidance != tls_grading.NO_GRADING and mx_host.probe.handshake:
                        # Within the same timeout as the probe: a call stays bounded by one timeout.
                        left = timeout - mx_host.probe.timing.get("total", 0)
                        mx_host.grade = await tls_grading.grade_host(mx_host.host, mx_host.addresses, mx_host.port, mx_host.probe, tls_guidance,
                                                                     left, helo_name)

        await asyncio.gather(*(probe(mx_host) for mx_host in hosts))
        if learn_modes:
            judged = [domain for domain in domains if any(plan.host(host).needs_mode for _preference, host in _mx_exchanges(plan.mx[domain]))]
            found = await asyncio.gather(*(verify_mta_sts.resolve(domain, resolver, want_mx=False) for domain in judged))
            for live in found:
                plan.policies[live.domain] = live
            await asyncio.gather(*(verify_mta_sts.fetch(live, slots, policy_port, timeout, ca_path, require_txt=True, certificates=plan.certificates)
                                   for live in found))

    resolver.run(every())
    return plan


# ---------------------------------------------------------------------------------------------
# Checks


def domain_mode(target, live, mode_source):
    """``(mode or None, where it came from)``: the MTA-STS mode the certificate checks follow."""
    if mode_source != "auto":
        return mode_source, "the mta_sts_mode option"
    if live is not None and live.mode is not None:
        return live.mode, "the live MTA-STS policy"
    spec = target.spec
    if spec is not None and spec.get("mta_sts"):
        return spec["mta_sts"]["mode"], "the inventory (the live policy could not be read)"
    if live is not None and live.selected_txt and live.selected_txt["valid"]:
        return None, "an MTA-STS record whose policy could not be read"
    return None, "no MTA-STS policy"


def _severity_for_invalid(mode):
    return "fail" if mode == "enforce" else "warn"


def _consequence(mode, source):
    if mode == "enforce":
        return "MTA-STS mode enforce (from %s): senders refuse to deliver to this MX" % source
    if mode == "testing":
        return "MTA-STS mode testing (from %s): senders report the failure and deliver; enforce would refuse" % source
    return "%s: opportunistic senders deliver anyway, but an MTA-STS enforce policy would refuse this MX" % (
        "MTA-STS mode none (from %s)" % source if mode == "none" else source[:1].upper() + source[1:])


def _check_connection(result, mx_host):
    """smtp.connect and smtp.starttls; True when a handshake was made."""
    probe = mx_host.probe
    subject = mx_host.host
    stage_starttls = probe.error in (probes.NO_STARTTLS, probes.STARTTLS_REFUSED, probes.TLS) or (
        probe.error == probes.TIMEOUT and probe.starttls)
    if probe.error is not None and not stage_starttls:
        result.failed("smtp.connect", probe.detail, subject)
        return False
    offers = ", ".join(probe.ehlo_keywords) or "nothing"
    result.passed("smtp.connect", "%s port %d: %s; EHLO offers %s" % (probe.address, probe.port, probe.banner, offers), subject)
    if probe.error is not None:
        result.failed("smtp.starttls", probe.detail, subject)
        return False
    result.passed("smtp.starttls", "STARTTLS, %s, %s" % (probe.tls_version, probe.cipher), subject)
    return True


def _check_certificate(result, mx_host, mode, source, expiry_warn_days):
    probe = mx_host.probe
    subject = mx_host.host
    facts = probe.certificate
    if probe.verified:
        result.passed("smtp.certificate", "valid for %s and trusted, %s" % (mx_host.host, probes.certificate_summary(probe)), subject)
    else:
        result.add("smtp.certificate", _severity_for_invalid(mode), "%s; %s" % (probe.verify_detail, _consequence(mode, source)), subject)
    if not facts:
        return
    days = facts["days_to_expiry"]
    if days < 0:
        result.add("smtp.certificate_expiry", _severity_for_invalid(mode), "expired on %s (%d day(s) ago); %s"
                   % (facts["not_after"], -days, _consequence(mode, source)), subject)
    elif days < expiry_warn_days:
        result.warned("smtp.certificate_expiry", "expires on %s, in %d day(s) (under %d): renew it" % (facts["not_after"], days, expiry_warn_days), subject)
    else:
        result.passed("smtp.certificate_expiry", "expires on %s, in %d day(s)" % (facts["not_after"], days), subject)


def _check_tlsa(result, mx_host, required, expected_values):
    """dane.tlsa, dane.tlsa_dnssec, dane.tlsa_match, dane.tlsa_expected for one MX host."""
    answer = mx_host.tlsa
    subject = mx_host.host
    name = mx_host.tlsa_name
    if answer.kind == "servfail":
        result.failed(
            "dane.tlsa_dnssec",
            "%s: the resolver answered SERVFAIL; from a validating resolver this means bogus DNSSEC signatures (or a broken zone), "
            "and DANE senders defer mail to this MX (RFC 7672 2.2)" % answer.describe(),
            subject,
        )
        return
    if answer.failed:
        result.failed("dane.tlsa", "the TLSA lookup failed: %s" % answer.describe(), subject)
        return
    if not answer.ok:
        if required or expected_values:
            result.failed("dane.tlsa", "no TLSA records at %s (%s), but DANE is expected for this MX" % (name, answer.kind.upper()), subject)
        else:
            result.passed("dane.tlsa", "no TLSA records at %s: DANE is not in use for this MX" % name, subject)
        return
    values = mx_host.tlsa_values
    verdicts = [(value, dane.parse(value)) for value in values]
    errors = ["%s: %s" % (value, "; ".join(verdict["errors"])) for value, verdict in verdicts if verdict["errors"]]
    warnings = ["%s: %s" % (value, "; ".join(verdict["warnings"])) for value, verdict in verdicts if verdict["warnings"]]
    usable = [value for value, verdict in verdicts if verdict["valid"] and verdict["usage"] in dane.SMTP_USAGES]
    if not usable:
        result.failed("dane.tlsa", "%d TLSA record(s) at %s, none usable for SMTP: %s" % (len(values), name, "; ".join(errors + warnings)), subject)
    elif errors or warnings:
        result.warned("dane.tlsa", "%d usable of %d TLSA record(s) at %s; %s" % (len(usable), len(values), name, "; ".join(errors + warnings)), subject)
    else:
        result.passed("dane.tlsa", "%d TLSA record(s) at %s" % (len(values), name), subject)

    if answer.authenticated:
        result.passed("dane.tlsa_dnssec", "DNSSEC-validated (AD bit set by the resolver)", subject)
    else:
        result.failed(
            "dane.tlsa_dnssec",
            "TLSA not DNSSEC-validated: the answer for %s has no AD bit, so senders ignore these records; sign the zone (and publish its DS), "
            "and give a validating resolver as nameservers" % name,
            subject,
        )

    probe = mx_host.probe
    if probe is not None and probe.chain_der:
        matched = dane.matching_records(usable, probe.chain_der)
        if matched:
            result.passed("dane.tlsa_match", "the presented chain matches %s" % ", ".join(_short(value) for value in matched), subject)
            status, detail = dane.rollover(usable, matched)
            result.add("dane.tlsa_rollover", status, detail, subject)
        else:
            spki = (probe.certificate or {}).get("spki_sha256")
            hint = " (the leaf's key would be '3 1 1 %s')" % spki if spki else ""
            result.failed(
                "dane.tlsa_match",
                "no TLSA record at %s matches the certificate chain the server presents%s: DANE senders refuse to deliver to this MX"
                % (name, hint),
                subject,
            )

    if expected_values:
        _check_tlsa_expected(result, subject, name, values, expected_values)


def _short(value):
    parts = value.split()
    if len(parts) == 4 and len(parts[3]) > 16:
        return "%s %s %s %s..." % (parts[0], parts[1], parts[2], parts[3][:16])
    return value


def _canonical_tlsa(value):
    parsed = dane.parse(value)
    if parsed["valid"]:
        return "%d %d %d %s" % (parsed["usage"], parsed["selector"], parsed["matching_type"], parsed["data"])
    return " ".join(str(value).split()).lower()


def _check_tlsa_expected(result, subject, name, live_values, expected_values):
    live = set(_canonical_tlsa(value) for value in live_values)
    wanted = set(_canonical_tlsa(value) for value in expected_values)
    missing = sorted(wanted - live)
    extra = sorted(live - wanted)
    if not missing and not extra:
        return result.passed("dane.tlsa_expected", "the TLSA records at %s are the expected ones" % name, subject)
    parts = []
    if missing:
        parts.append("missing %s" % ", ".join(_short(value) for value in missing))
    if extra:
        parts.append("not expected %s" % ", ".join(_short(value) for value in extra))
    return result.failed("dane.tlsa_expected", "%s: %s" % (name, "; ".join(parts)), subject)


def expected_tlsa(target, expected, mx_host):
    """The TLSA values expected at an MX host: from the ``expected`` records, else from the domain's
    ``dane`` spec when it holds a certificate or key and lists this host among its MX."""
    if expected:
        return expected.tlsa(mx_host.host, mx_host.port)
    spec = target.spec
    if spec is None or not spec.get("dane") or spec["dane"].get("port", DEFAULT_PORT) != mx_host.port:
        return []
    if mx_host.host not in [item["host"] for item in spec["mx"]]:
        return []
    return dane.build(spec["dane"])


def evaluate(target, plan, expected, mode_source="auto", require_dane=False, expiry_warn_days=14):
    """The checks of one domain; ``{domain, status, checks, mx}`` (``mx``: its MX host names by preference)."""
    result = DomainChecks(target.name)
    answer = plan.mx.get(target.name)
    entry_hosts = []
    if answer.failed:
        result.failed("smtp.mx", "the MX lookup failed: %s" % answer.describe(), target.name)
    elif _is_null_mx(answer):
        result.passed("smtp.mx", "null MX (RFC 7505): %s accepts no mail, so there is no MX to check" % target.name, target.name)
    elif not answer.ok:
        result.failed("smtp.mx", "%s has no MX records (%s); publish the MX host(s)" % (target.name, answer.kind.upper()), target.name)
    else:
        exchanges = _mx_exchanges(answer)
        result.passed("smtp.mx", ", ".join("%s (%d)" % (host, preference) for preference, host in exchanges), target.name)
        mode, source = domain_mode(target, plan.policies.get(target.name), mode_source)
        dane_spec = target.spec.get("dane") if target.spec is not None else None
        required = require_dane or bool(dane_spec)
        any_tlsa = False
        for _preference, host in exchanges:
            mx_host = plan.host(host)
            entry_hosts.append(host)
            host_checks, depth_checks, reached, handshake = probe_checks(mx_host)
            result.checks.extend(dict(check) for check in host_checks)
            if handshake:
                _check_certificate(result, mx_host, mode, source, expiry_warn_days)
                result.checks.extend(dict(check) for check in depth_checks)
            _check_tlsa(result, mx_host, required, expected_tlsa(target, expected, mx_host))
            any_tlsa = any_tlsa or (reached and bool(mx_host.tlsa_values))
        if any_tlsa and not answer.authenticated:
            result.warned(
                "dane.mx_dnssec",
                "the MX records of %s are not DNSSEC-validated: DANE senders use the MX hosts' TLSA records only when the MX RRset "
                "is secure (RFC 7672 2.2.1)" % target.name,
                target.name,
            )
    entry = result.as_dict()
    entry["mx"] = entry_hosts
    return entry


def probe_checks(mx_host):
    """The checks that depend on the MX host:port alone (its addresses, reverse DNS and probe), made once per run.

    ``(checks, depth checks, reached, handshake)``: ``smtp.address``, then reverse DNS, ``smtp.connect``
    and ``smtp.starttls`` when it has an address; the graded TLS checks and ``smtp.banner`` (they follow
    the domain's certificate check in its list); whether it had an address, and whether a TLS handshake
    was made. Every domain that names the host gets copies of these checks; what depends on the domain
    (the certificate's severity follows its MTA-STS mode, the TLSA records its DANE spec) is judged per
    domain.
    """
    if mx_host.host_checks is None:
        result = DomainChecks(mx_host.host)
        depth = DomainChecks(mx_host.host)
        reached = _check_address(result, mx_host)
        handshake = False
        if reached:
            fcrdns.check(result, mx_host.host, mx_host.reverses)
            handshake = _check_connection(result, mx_host)
            if handshake:
                _check_tls_depth(depth, mx_host)
        mx_host.host_checks = (result.checks, depth.checks, reached, handshake)
    return mx_host.host_checks


def _check_tls_depth(result, mx_host):
    """The graded checks of tls_grading (the certificate's key and chain also without the extra handshakes), and smtp.banner."""
    if mx_host.grade is not None:
        tls_grading.check_host(result, mx_host.host, mx_host.grade, mx_host.probe)
    else:
        tls_grading.check_certificate(result, mx_host.host, tls_grading.GUIDANCES[tls_grading.DEFAULT_GUIDANCE], mx_host.probe)
    tls_grading.check_banner(result, mx_host.host, mx_host.probe, fcrdns.confirmed_names(mx_host.reverses))


def _check_address(result, mx_host):
    addresses = mx_host.addresses
    if addresses:
        result.passed("smtp.address", "%s resolves to %s" % (mx_host.host, ", ".join(addresses)), mx_host.host)
        return True
    failures = [answer for answer in mx_host.address_answers if answer.failed]
    if failures:
        result.failed("smtp.address", "the lookup failed: %s" % "; ".join(answer.describe() for answer in failures), mx_host.host)
    else:
        result.failed("smtp.address", "%s has no A or AAAA record: senders cannot reach it" % mx_host.host, mx_host.host)
    return False


def verify(targets, resolver, expected, port=DEFAULT_PORT, timeout=probes.DEFAULT_TIMEOUT, ca_path=None, concurrency=32, helo_name=None,
           mode_source="auto", require_dane=False, expiry_warn_days=14, policy_port=verify_mta_sts.DEFAULT_PORT,
           tls_guidance=tls_grading.DEFAULT_GUIDANCE):
    """Verify every target: the per-domain results in order, the distinct MX hosts' facts, and the
    certificates they presented, each described once (``{sha256: probes.CertificateBook.describe}``;
    a host's ``probe.certificate`` refers to it by ``sha256``)."""
    with verify_input.collector_paused():
        plan = gather([target.name for target in targets], resolver, port, timeout, ca_path, concurrency, helo_name,
                      learn_modes=mode_source == "auto", policy_port=policy_port, tls_guidance=tls_guidance)
        domain_results = [evaluate(target, plan, expected, mode_source, require_dane, expiry_warn_days) for target in targets]
        presented = [mx_host.probe.certificate_sha256 for mx_host in plan.hosts.values() if mx_host.probe is not None]
        certificates = plan.certificates.descriptions(key for key in dict.fromkeys(presented) if key is not None)
        return domain_results, [mx_host.facts() for mx_host in plan.hosts.values()], certificates


def run(params):
    """The module's work from its parameters: ``(result, failure message or None)``."""
    verify_input.check_common_options(params["timeout"], params["concurrency"], params.get("ca_path"), params["expiry_warn_days"])
    for option in ("port", "mta_sts_port"):
        value = params.get(option)
        if value is not None and not 0 < value < 65536:
            raise SpecError(option, "must be from 1 to 65535, got %r" % (value,))
    mode_source = params.get("mta_sts_mode") or "auto"
    if mode_source not in MODE_SOURCES:
        raise SpecError("mta_sts_mode", "must be one of %s, got %r" % (", ".join(MODE_SOURCES), mode_source))
    tls_guidance = tls_grading.check_guidance(params.get("tls_guidance"))
    targets, _model = verify_input.targets(params.get("domains"), params.get("mailsec_domains"), params.get("mail_host"), params.get("domain_defaults"))
    expected = verify_input.expected_state(params.get("expected"))
    resolver = verify_input.make_resolver(params.get("nameservers"), params["timeout"], params["concurrency"])
    domain_results, hosts, certificates = verify(
        targets,
        resolver,
        expected,
        port=params.get("port") or DEFAULT_PORT,
        timeout=params["timeout"],
        ca_path=params.get("ca_path"),
        concurrency=params["concurrency"],
        helo_name=params.get("helo_name"),
        mode_source=mode_source,
        require_dane=bool(params.get("require_dane")),
        expiry_warn_days=params["expiry_warn_days"],
        policy_port=params.get("mta_sts_port") or verify_mta_sts.DEFAULT_PORT,
        tls_guidance=tls_guidance,
    )
    result, failure = verify_input.outcome(domain_results, params["fail_on"])
    result["mx_hosts"] = hosts
    result["certificates"] = certificates
    return result, failure

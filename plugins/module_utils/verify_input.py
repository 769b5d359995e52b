# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the transport verifiers (``verify_mta_sts``, ``verify_smtp_tls``) share: their inputs, the
expected state, the resolver and a bounded pool of workers.

Private to the collection: users may rely only on plugins and modules.
"""

from __future__ import annotations

import contextlib
import os

from ansible_collections.mailsec.posture.plugins.module_utils import checks, dane, mta_sts, probes
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.names import fqdn, normalize_domain
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_model

DEFAULT_CONCURRENCY = 32
DEFAULT_TIMEOUT = 10.0
DEFAULT_EXPIRY_WARN_DAYS = 14
PEM_MARKER = "-----BEGIN"
PEM_FIELDS = ("certificate", "ca_certificate", "public_key", "next_public_key")

# The options every transport verifier takes, as an Ansible argument spec (plain data).
COMMON_ARGUMENT_SPEC = {
    "domains": {"type": "list", "elements": "str"},
    "mailsec_domains": {"type": "list", "elements": "raw"},
    "mail_host": {"type": "str"},
    "domain_defaults": {"type": "dict", "default": {}},
    "nameservers": {"type": "list", "elements": "str", "default": []},
    "timeout": {"type": "float", "default": DEFAULT_TIMEOUT},
    "concurrency": {"type": "int", "default": DEFAULT_CONCURRENCY},
    "ca_path": {"type": "path"},
    "expected": {"type": "list", "elements": "dict"},
    "fail_on": {"type": "str", "default": "fail", "choices": list(checks.FAIL_ON)},
    "expiry_warn_days": {"type": "int", "default": DEFAULT_EXPIRY_WARN_DAYS},
}
COMMON_MUTUALLY_EXCLUSIVE = [("domains", "mailsec_domains")]
COMMON_REQUIRED_ONE_OF = [("domains", "mailsec_domains")]

try:
    from ansible_collections.mailsec.posture.plugins.module_utils import resolver as _resolver

    HAS_RESOLVER = True
    RESOLVER_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - the resolver ships with the collection
    _resolver = None
    HAS_RESOLVER = False
    RESOLVER_IMPORT_ERROR = str(_exc)


class Target:
    """One domain to verify: its normalized name and, when it came from the model, its spec."""

    __slots__ = ("name", "spec")

    def __init__(self, name, spec=None):
        self.name = name
        self.spec = spec

    def __repr__(self):
        return "Target(%r)" % self.name


def _read_pem_files(entries):
    """DANE material may be a path to a PEM file (as the mail_records lookup accepts); read it here."""
    result = []
    for entry in entries or []:
        if isinstance(entry, dict) and isinstance(entry.get("dane"), dict):
            spec = dict(entry["dane"])
            for field in PEM_FIELDS:
                value = spec.get(field)
                if isinstance(value, str) and value.strip() and PEM_MARKER not in value:
                    try:
                        with open(os.path.expanduser(value), "rb") as handle:
                            spec[field] = handle.read().decode("ascii", "replace")
                    except OSError as exc:
                        raise SpecError("dane.%s" % field, "cannot read %s: %s" % (value, exc.strerror), entry.get("name"))
            entry = dict(entry, dane=spec)
        result.append(entry)
    return result


def collector_paused():
    """The resolver's ``collector_paused`` (garbage collector off for a run), or a no-op without it."""
    if not HAS_RESOLVER:
        return contextlib.nullcontext()
    return _resolver.collector_paused()


def targets(domains=None, mailsec_domains=None, mail_host=None, domain_defaults=None):
    """``(targets, model)`` from either plain names or ``mailsec_domains`` entries.

    Names are normalized (IDNA A-labels, lower case) and deduplicated in order; a bad name or a
    bad model entry raises SpecError naming the field and the domain. ``model`` is the
    normalized model (``spec.normalize_model``) or None for plain names.
    """
    if mailsec_domains is not None:
        model = normalize_model(_read_pem_files(mailsec_domains), mail_host=mail_host, defaults=domain_defaults)
        return [Target(spec["name"], spec) for spec in model["domains"]], model
    found = []
    seen = set()
    for index, name in enumerate(domains or []):
        normalized = normalize_domain(name, "domains[%d]" % index)
        if normalized not in seen:
            seen.add(normalized)
            found.append(Target(normalized))
    return found, None


class Expected:
    """The records a verifier compares live DNS with: the ``mail_records`` lookup's output
    (option ``expected``)."""

    def __init__(self, record_list=None):
        self._values = {}
        for index, record in enumerate(record_list or []):
            try:
                name = fqdn(str(record["name"]).lower())
                rtype = str(record["type"]).upper()
                value = str(record["value"])
            except (KeyError, TypeError):
                raise SpecError("expected[%d]" % index, "every expected record needs name, type and value (the mail_records lookup's output)")
            self._values.setdefault((name, rtype), []).append(value)

    def __bool__(self):
        return bool(self._values)

    def values(self, name, rtype):
        return list(self._values.get((fqdn(name.lower()), rtype.upper()), []))

    def follow(self, name, rtype, hops=8):
        """``(values, chain)``: the expected ``rtype`` values at ``name``, through expected CNAMEs."""
        chain = []
        current = name
        for _hop in range(hops):
            values = self.values(current, rtype)
            if values:
                return values, chain
            targets_ = self.values(current, "CNAME")
            if not targets_:
                return [], chain
            current = targets_[0].rstrip(".")
            chain.append(current)
        return [], chain

    def mta_sts_id(self, domain):
        """The policy id the expected ``_mta-sts`` TXT record carries, or None."""
        values, _chain = self.follow(mta_sts.txt_name(domain), "TXT")
        chosen = mta_sts.select_txt(values) if values else None
        return chosen["id"] if chosen and chosen["valid"] else None

    def tlsa(self, mx_host, port):
        return self.values(dane.record_name(mx_host, port), "TLSA")


def expected_state(expected_records=None):
    """The Expected records given as the ``expected`` option (empty when not given).

    Values that come from the model (``mailsec_domains``) are computed by each verifier from the
    domain's spec, never through the full record set: a model may lack what only publishing
    needs (such as the host that serves the policy).
    """
    return Expected(expected_records or [])


def make_resolver(nameservers, timeout, concurrency):
    """The collection's stub resolver over ``nameservers`` (resolv.conf's when empty)."""
    if not HAS_RESOLVER:
        raise MailsecError("the collection's resolver could not be imported: %s" % RESOLVER_IMPORT_ERROR)
    lifetime = max(float(timeout), 1.0)
    return _resolver.Resolver(
        nameservers or None,
        timeout=min(2.0, lifetime),
        lifetime=lifetime,
        concurrency=max(int(concurrency) * 4, 16),
    )


def check_common_options(timeout, concurrency, ca_path, expiry_warn_days):
    """Raise SpecError for option values no verifier can work with."""
    if not timeout or timeout <= 0:
        raise SpecError("timeout", "must be a positive number of seconds, got %r" % (timeout,))
    if not isinstance(concurrency, int) or concurrency < 1:
        raise SpecError("concurrency", "must be a positive integer, got %r" % (concurrency,))
    if expiry_warn_days is not None and expiry_warn_days < 0:
        raise SpecError("expiry_warn_days", "must be 0 or more, got %r" % (expiry_warn_days,))
    problem = probes.check_ca_path(ca_path)
    if problem:
        raise SpecError("ca_path", problem)


def outcome(domain_results, fail_on):
    """``(result, message)``: the module's return values, and the failure message or None."""
    result = {"changed": False, "domains": domain_results, "summary": checks.summarize(domain_results)}
    return result, checks.failure_message(domain_results, fail_on)

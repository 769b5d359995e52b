# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inventory model (``mailsec_domains``, ``mailsec_mail_host``) normalized once.

Every later step (records, policies, deployment, verification) reads the output of
``normalize_domains``; nothing else interprets raw inventory.

Private to the collection: users may rely only on plugins and modules.
"""

from __future__ import annotations

from ansible_collections.mailsec.posture.plugins.module_utils import dane, dkim, dmarc, mta_sts, spf, staging, tlsrpt
from ansible_collections.mailsec.posture.plugins.module_utils.common import (
    SpecError,
    as_int,
    as_list,
    kind_of,
    reject_unknown_keys,
    require_mapping,
)
from ansible_collections.mailsec.posture.plugins.module_utils.names import normalize_domain

DEFAULT_TTL = 3600
MAX_TTL = 2147483647  # RFC 2181 8
DEFAULT_MX_PRIORITY_STEP = 10

# The keys one entry of mailsec_domains may have; the standards validate their own sub-keys.
# "mailcow" holds what the mailcow_domains lookup read about the domain: kept, never interpreted here.
DOMAIN_KEYS = frozenset(
    ("name", "mx", "ttl", "zone", "source", "mailcow", "spf", "dkim", "dmarc", "mta_sts", "tlsrpt", "dane")
)
STANDARD_KEYS = ("spf", "dkim", "dmarc", "mta_sts", "tlsrpt", "dane")
# Options the record layer handles itself, taken out before a standard validates the rest.
TLSRPT_DELEGATE_KEY = "delegate_to"


def _merge_defaults(entry, defaults):
    """Per-standard shallow merge: a domain's own keys win over ``mailsec_domain_defaults``."""
    merged = dict(defaults)
    for key, value in entry.items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, dict):
            combined = dict(base)
            combined.update(value)
            merged[key] = combined
        else:
            merged[key] = value
    return merged


def _normalize_mx(value, domain, mail_host):
    if value is None:
        if not mail_host:
            raise SpecError("mx", "no MX host: set mx on the domain or mailsec_mail_host", domain)
        value = [mail_host]
    hosts = []
    seen = set()
    for index, item in enumerate(as_list(value, "mx", domain)):
        field = "mx[%d]" % index
        if isinstance(item, dict):
            reject_unknown_keys(item, {"host", "priority"}, field, domain)
            if "host" not in item:
                raise SpecError(field + ".host", "is required", domain)
            host = normalize_domain(item["host"], field + ".host", domain)
            priority = as_int(item.get("priority", (index + 1) * DEFAULT_MX_PRIORITY_STEP),
                              field + ".priority", domain, 0, 65535)
        else:
            host = normalize_domain(item, field, domain)
            priority = (index + 1) * DEFAULT_MX_PRIORITY_STEP
        if host in seen:
            raise SpecError(field, "MX host %r is listed twice" % host, domain)
        seen.add(host)
        hosts.append({"host": host, "priority": priority})
    if not hosts:
        raise SpecError("mx", "must list at least one MX host", domain)
    return hosts


def _normalize_tlsrpt(value, domain):
    """TLS-RPT spec plus the record layer's own ``delegate_to`` option."""
    if not isinstance(value, dict) or TLSRPT_DELEGATE_KEY not in value:
        return tlsrpt.normalize_spec(value, domain), None
    rest = dict(value)
    delegate = rest.pop(TLSRPT_DELEGATE_KEY)
    delegate = normalize_domain(delegate, "tlsrpt.delegate_to", domain) if delegate else None
    return tlsrpt.normalize_spec(rest, domain), delegate


def _staged(standard, value, normalize, domain):
    """A standard's spec with its staged rollout (``staging``): the spec says the goal, the staging the
    stage published now (staging.py); ``(normalized, staging or None)``."""
    rest, raw = staging.split_staging(value, standard)
    normalized = normalize(rest)
    if raw is None or normalized is None:
        return normalized, None
    key = staging.STAGE_KEY[standard]
    staged = staging.normalize_staging(raw, standard, normalized[key], domain)
    if staged is not None:
        normalized = dict(normalized, **{key: staged["stage"]})
    return normalized, staged


def normalize_domain_entry(entry, mail_host=None, defaults=None, ttl=DEFAULT_TTL, pending_dkim=None):
    """One ``mailsec_domains`` entry -> the normalized spec every layer reads.

    ``pending_dkim`` maps a domain to the DKIM selectors whose keys a host will provide (see normalize_model).
    """
    if isinstance(entry, str):
        entry = {"name": entry}
    entry = require_mapping(entry, "mailsec_domains[]")
    if "name" not in entry:
        raise SpecError("name", "every entry of mailsec_domains needs a name")
    domain = normalize_domain(entry["name"], "name", str(entry["name"]))
    entry = _merge_defaults(entry, defaults or {})
    reject_unknown_keys(entry, DOMAIN_KEYS, "mailsec_domains[%s]" % domain, domain)

    mx = _normalize_mx(entry.get("mx"), domain, mail_host)
    mx_hosts = [item["host"] for item in mx]
    tlsrpt_spec, tlsrpt_delegate = _normalize_tlsrpt(entry.get("tlsrpt"), domain)
    dmarc_spec, dmarc_staging = _staged("dmarc", entry.get("dmarc"), lambda spec: dmarc.normalize_spec(spec, domain), domain)
    mta_sts_spec, mta_sts_staging = _staged("mta_sts", entry.get("mta_sts"), lambda spec: mta_sts.normalize_spec(spec, domain, mx_hosts), domain)
    normalized = {
        "name": domain,
        "zone": normalize_domain(entry["zone"], "zone", domain) if entry.get("zone") else domain,
        "ttl": as_int(entry.get("ttl", ttl), "ttl", domain, 0, MAX_TTL),
        "source": str(entry.get("source") or "inventory"),
        "mx": mx,
        "spf": spf.normalize_spec(entry.get("spf"), domain),
        "dkim": dkim.normalize_spec(entry.get("dkim"), domain, (pending_dkim or {}).get(domain, ())),
        "dmarc": dmarc_spec,
        "mta_sts": mta_sts_spec,
        "staging": {"dmarc": dmarc_staging, "mta_sts": mta_sts_staging},
        "tlsrpt": tlsrpt_spec,
        "tlsrpt_delegate_to": tlsrpt_delegate,
        "dane": dane.normalize_spec(entry.get("dane"), domain),
    }
    if normalized["zone"] != domain and not domain.endswith("." + normalized["zone"]):
        raise SpecError("zone", "%r is not %s or a parent of it" % (normalized["zone"], domain), domain)
    return normalized


def _pending_dkim(keys):
    """``{domain: {selector}}`` of ``mailsec_dkim_keys`` entries (the keys hosts will make or keep)."""
    pending = {}
    for index, key in enumerate(as_list(keys, "mailsec_dkim_keys")):
        field = "mailsec_dkim_keys[%d]" % index
        key = require_mapping(key, field)
        for name in ("domain", "selector"):
            if not isinstance(key.get(name), str) or not key[name].strip():
                raise SpecError(field + "." + name, "is required (a string)")
        domain = normalize_domain(key["domain"], field + ".domain")
        pending.setdefault(domain, set()).add(key["selector"].strip().lower())
    return pending


def normalize_model(domains, mail_host=None, defaults=None, ttl=DEFAULT_TTL, zones=None, dkim_keys=None):
    """Normalize the whole inventory model; domain names must be unique.

    ``domains`` is ``mailsec_domains``; ``mail_host`` is ``mailsec_mail_host`` (the default MX and
    MTA-STS policy host); ``defaults`` is ``mailsec_domain_defaults`` (merged under every entry);
    ``zones`` (``mailsec_zones``) names extra zones that records outside the domains belong to.
    ``dkim_keys`` are the ``mailsec_dkim_keys`` of the hosts, before they made their keys (the site
    playbook validates first): each must belong to a domain of the model, and a ``dkim`` entry of
    that selector may still lack its public key. Returns ``{"mail_host", "domains", "zones"}``.
    """
    if domains is None:
        domains = []
    if not isinstance(domains, (list, tuple)):
        raise SpecError("mailsec_domains", "must be a list of domains, got %s" % kind_of(domains))
    if mail_host:
        mail_host = normalize_domain(mail_host, "mailsec_mail_host")
    defaults = require_mapping(defaults, "mailsec_domain_defaults")
    reject_unknown_keys(defaults, set(STANDARD_KEYS) | {"ttl", "mx"}, "mailsec_domain_defaults")
    ttl = as_int(ttl, "mailsec_ttl", None, 0, MAX_TTL)
    pending = _pending_dkim(dkim_keys)
    result = []
    seen = {}
    for index, entry in enumerate(domains):
        normalized = normalize_domain_entry(entry, mail_host=mail_host, defaults=defaults, ttl=ttl, pending_dkim=pending)
        if normalized["name"] in seen:
            raise SpecError(
                "name",
                "listed twice in mailsec_domains (entries %d and %d)" % (seen[normalized["name"]] + 1, index + 1),
                normalized["name"],
            )
        seen[normalized["name"]] = index
        result.append(normalized)
    for index, key in enumerate(as_list(dkim_keys, "mailsec_dkim_keys")):
        domain = normalize_domain(key["domain"], "mailsec_dkim_keys[%d].domain" % index)
        if domain not in seen:
            raise SpecError("mailsec_dkim_keys[%d].domain" % index, "%s is not in mailsec_domains; add the domain, or drop the key" % domain, domain)
    extra_zones = [
        normalize_domain(zone, "mailsec_zones[%d]" % index) for index, zone in enumerate(as_list(zones, "mailsec_zones"))
    ]
    return {"mail_host": mail_host or None, "domains": result, "zones": extra_zones}

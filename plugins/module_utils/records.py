# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Normalized domain specs -> the exact DNS records to publish, and their zone-file form.

A record is ``{name, type, ttl, value, zone, domain, standard}``: ``name`` is fully qualified with a
trailing dot, ``value`` is the presentation value with TXT unsplit (splitting into 255-octet
character-strings happens only when publishing, see ``common.split_txt``).

Private to the collection: users may rely only on plugins and modules.
"""

from __future__ import annotations

from ansible_collections.mailsec.posture.plugins.module_utils import dane, dkim, dmarc, mta_sts, spf, tlsrpt
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError, split_txt
from ansible_collections.mailsec.posture.plugins.module_utils.names import fqdn, is_subdomain

TLSRPT_PREFIX = "_smtp._tls."


def _record(name, rtype, ttl, value, domain, standard):
    return {
        "name": fqdn(name),
        "type": rtype,
        "ttl": ttl,
        "value": value,
        "domain": domain,
        "standard": standard,
    }


def _shared_target_records(spec, kind, delegate, ttl, value, groups):
    """Collect one TXT record at a delegate host shared by several domains; values must agree."""
    group = groups.setdefault((kind, delegate), {"value": value, "domains": [], "ttl": ttl})
    if group["value"] != value:
        raise SpecError(
            "%s.delegate_to" % ("mta_sts" if kind == "mta_sts" else "tlsrpt"),
            "domains delegating to %s must share one %s record, but %s needs %r and %s needs %r"
            % (delegate, kind, group["domains"][0], group["value"], spec["name"], value),
            spec["name"],
        )
    group["domains"].append(spec["name"])
    group["ttl"] = min(group["ttl"], ttl)


def mta_sts_policy(spec):
    """The policy text of one normalized domain, or None when MTA-STS is off."""
    if not spec.get("mta_sts"):
        return None
    return mta_sts.build_policy(spec["mta_sts"])


def _domain_records(spec, mail_host, groups):
    name = spec["name"]
    ttl = spec["ttl"]
    records = []
    for item in spec["mx"]:
        records.append(_record(name, "MX", ttl, "%d %s" % (item["priority"], fqdn(item["host"])), name, "mx"))
    if spec.get("spf"):
        records.append(_record(name, "TXT", ttl, spf.build(spec["spf"]), name, "spf"))
    for entry in spec.get("dkim") or []:
        if entry.get("pending"):
            continue  # the key is made on its host later (playbooks/keys.yml); validated without a record
        records.append(_record(dkim.record_name(entry["selector"], name), "TXT", ttl, dkim.build(entry), name, "dkim"))
    if spec.get("dmarc"):
        records.append(_record("_dmarc." + name, "TXT", ttl, dmarc.build(spec["dmarc"]), name, "dmarc"))

    sts = spec.get("mta_sts")
    if sts:
        policy = mta_sts.build_policy(sts)
        txt = mta_sts.build_txt(mta_sts.policy_id(policy))
        delegate = sts.get("delegate_to")
        if delegate:
            records.append(_record(mta_sts.txt_name(name), "CNAME", ttl, fqdn(mta_sts.txt_name(delegate)), name, "mta_sts"))
            _shared_target_records(spec, "mta_sts", delegate, ttl, txt, groups)
        else:
            records.append(_record(mta_sts.txt_name(name), "TXT", ttl, txt, name, "mta_sts"))
        addresses = sts.get("policy_host_addresses") or []
        if addresses:
            for address in addresses:
                rtype = "AAAA" if ":" in address else "A"
                records.append(_record(mta_sts.policy_host(name), rtype, ttl, address, name, "mta_sts"))
        else:
            target = sts.get("policy_host") or delegate or mail_host
            if not target:
                raise SpecError(
                    "mta_sts.policy_host",
                    "no host serves the policy: set mta_sts.policy_host, mta_sts.policy_host_addresses, "
                    "mta_sts.delegate_to or mailsec_mail_host",
                    name,
                )
            records.append(_record(mta_sts.policy_host(name), "CNAME", ttl, fqdn(target), name, "mta_sts"))

    if spec.get("tlsrpt"):
        value = tlsrpt.build(spec["tlsrpt"])
        delegate = spec.get("tlsrpt_delegate_to")
        if delegate:
            records.append(_record(TLSRPT_PREFIX + name, "CNAME", ttl, fqdn(TLSRPT_PREFIX + delegate), name, "tlsrpt"))
            _shared_target_records(spec, "tlsrpt", delegate, ttl, value, groups)
        else:
            records.append(_record(TLSRPT_PREFIX + name, "TXT", ttl, value, name, "tlsrpt"))

    if spec.get("dane"):
        values = dane.build(spec["dane"])
        for item in spec["mx"]:
            owner = dane.record_name(item["host"], spec["dane"].get("port", 25))
            for value in values:
                records.append(_record(owner, "TLSA", ttl, value, item["host"], "dane"))
    return records


def _zone_of(name, zones):
    """The longest known zone that contains ``name``; else the name's parent (a guess the user can override)."""
    bare = name.rstrip(".")
    best = None
    for zone in zones:
        if is_subdomain(bare, zone) and (best is None or len(zone) > len(best)):
            best = zone
    if best:
        return best
    labels = [label for label in bare.split(".") if not label.startswith("_")]
    return ".".join(labels[1:]) if len(labels) > 2 else ".".join(labels)


def _check_cname_exclusive(records):
    """RFC 1034 3.6.2 / RFC 2181 10.1: a name with a CNAME has no other data."""
    types_by_name = {}
    for record in records:
        types_by_name.setdefault(record["name"], set()).add(record["type"])
    for record in records:
        types = types_by_name[record["name"]]
        if "CNAME" in types and len(types) > 1:
            raise SpecError(
                "mta_sts" if record["standard"] == "mta_sts" else record["standard"],
                "%s would have a CNAME and %s records; a CNAME excludes other data"
                % (record["name"], ", ".join(sorted(types - {"CNAME"}))),
                record["domain"],
            )


def _check_one_txt_per_standard(records):
    """Two different SPF/DMARC/MTA-STS/TLS-RPT records at one name make receivers ignore both."""
    seen = {}
    for record in records:
        if record["type"] != "TXT":
            continue
        key = (record["name"], record["standard"])
        if key in seen and seen[key]["value"] != record["value"]:
            raise SpecError(
                record["standard"],
                "%s would get two different %s records (from %s and %s); receivers then use neither"
                % (record["name"], record["standard"], seen[key]["domain"], record["domain"]),
                record["domain"],
            )
        seen[key] = record


def desired_records(model):
    """The normalized model (``spec.normalize_model``) -> the full, de-duplicated record list."""
    specs = model["domains"]
    mail_host = model.get("mail_host")
    groups = {}
    records = []
    for spec in specs:
        records.extend(_domain_records(spec, mail_host, groups))
    for (kind, delegate), group in groups.items():
        owner = mta_sts.txt_name(delegate) if kind == "mta_sts" else TLSRPT_PREFIX + delegate
        records.append(_record(owner, "TXT", group["ttl"], group["value"], delegate, kind))

    known_zones = sorted({spec["zone"] for spec in specs} | set(model.get("zones") or []))
    unique = []
    seen = set()
    for record in records:
        key = (record["name"], record["type"], record["value"])
        if key in seen:
            continue
        seen.add(key)
        record["zone"] = _zone_of(record["name"], known_zones)
        unique.append(record)
    _check_cname_exclusive(unique)
    _check_one_txt_per_standard(unique)
    return unique


def _quote_txt(value):
    parts = []
    for part in split_txt(value):
        escaped = part.replace("\\", "\\\\").replace('"', '\\"')
        parts.append('"%s"' % escaped)
    return " ".join(parts)


def presentation_value(record):
    """The record's value as a zone file writes it (TXT quoted and split into <= 255-octet strings)."""
    if record["type"] == "TXT":
        return _quote_txt(record["value"])
    return record["value"]


def _relative(name, origin):
    if origin is None:
        return name
    origin = fqdn(origin)
    if name == origin:
        return "@"
    if name.endswith("." + origin):
        return name[: -len(origin) - 1]
    return name


def to_zone_lines(records, origin=None, header=False):
    """BIND zone-file lines for ``records``; names relative to ``origin`` when given.

    With ``origin``, only records inside that zone are written, so one call gives one zone's snippet.
    """
    lines = []
    if origin is not None and header:
        lines.append("$ORIGIN %s" % fqdn(origin))
    selected = [record for record in records if origin is None or is_subdomain(record["name"], origin)]
    width = max([len(_relative(record["name"], origin)) for record in selected] or [0])
    for record in selected:
        lines.append(
            "%-*s %6d IN %-5s %s"
            % (width, _relative(record["name"], origin), int(record["ttl"]), record["type"], presentation_value(record))
        )
    return lines


def to_table(records, max_value=72):
    """A plain-text table of the records for people who type them into a DNS panel."""
    rows = [("NAME", "TYPE", "TTL", "VALUE")]
    for record in records:
        value = record["value"]
        if max_value and len(value) > max_value:
            value = value[: max_value - 3] + "..."
        rows.append((record["name"], record["type"], str(record["ttl"]), value))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return [
        "%-*s  %-*s  %*s  %s" % (widths[0], row[0], widths[1], row[1], widths[2], row[2], row[3]) for row in rows
    ]

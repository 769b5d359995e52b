# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Put DKIM keys made on the mail hosts (the dkim_key module's results) into the inventory model.

Private to the collection: users may rely only on plugins and modules.
"""

from __future__ import annotations

import copy

from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError, kind_of
from ansible_collections.mailsec.posture.plugins.module_utils.names import normalize_domain

LABEL = "dkim_keys"


def _key_domain(entry, field):
    """The signing domain of a key: ``domain``, else ``record.domain`` (dkim_key returns it when told the domain)."""
    domain = entry.get("domain")
    if not domain and isinstance(entry.get("record"), dict):
        domain = entry["record"].get("domain")
    if not domain:
        raise SpecError(field + ".domain", "is required: give dkim_key its domain option, so that the key belongs to a domain")
    return normalize_domain(domain, field + ".domain")


def _usable_keys(keys):
    """``[(field, domain, {selector, public_key, key_type})]``; loop items that were skipped, and keys
    that do not exist yet (dkim_key in check mode returns no public key), are left out."""
    if keys is None:
        return []
    if not isinstance(keys, (list, tuple)):
        raise SpecError(LABEL, "must be a list of dkim_key results, got %s" % kind_of(keys))
    usable = []
    for index, entry in enumerate(keys):
        field = "%s[%d]" % (LABEL, index)
        if not isinstance(entry, dict):
            raise SpecError(field, "must be a dkim_key result (a mapping), got %s" % kind_of(entry))
        if entry.get("skipped"):
            continue
        if entry.get("failed"):
            raise SpecError(field, "is a failed dkim_key result: %s" % entry.get("msg", "no message"))
        if entry.get("public_key") is None:
            continue
        domain = _key_domain(entry, field)
        selector = entry.get("selector")
        if not selector or not isinstance(selector, str):
            raise SpecError(field + ".selector", "is required", domain)
        key = {"selector": selector.lower(), "public_key": entry["public_key"], "key_type": entry.get("key_type") or "rsa"}
        usable.append((field, domain, key))
    return usable


def _dkim_entries(value, domain):
    """A domain's ``dkim`` value as a list of mappings (a copy)."""
    if value is None:
        return []
    if value is False:
        raise SpecError("dkim", "is false (DKIM off), but a DKIM key was made for the domain; remove the key from "
                                "mailsec_dkim_keys or turn DKIM on", domain)
    if isinstance(value, dict):
        return [copy.deepcopy(value)]
    if isinstance(value, (list, tuple)):
        return copy.deepcopy(list(value))
    raise SpecError("dkim", "must be a mapping or a list of mappings, got %s" % kind_of(value), domain)


def add_dkim_keys(domains, keys):
    """``domains`` (``mailsec_domains``) with each key of ``keys`` in its domain's ``dkim`` list.

    ``keys`` are dkim_key results (or mappings with ``domain``, ``selector``, ``public_key`` and
    ``key_type``). A key replaces the public key of the inventory's entry with the same selector and
    keeps that entry's other settings (``testing``, ``notes``...); a key for a new selector is added
    after the inventory's entries. The key on the host wins because it is the one that signs.
    A key for a domain that is not in ``domains`` fails, naming it. Domains without keys are returned
    as they were (a plain string stays a string); the input is not modified.
    """
    if domains is None:
        domains = []
    if not isinstance(domains, (list, tuple)):
        raise SpecError("mailsec_domains", "must be a list of domains, got %s" % kind_of(domains))
    positions = {}
    for index, entry in enumerate(domains):
        name = entry if isinstance(entry, str) else (entry.get("name") if isinstance(entry, dict) else None)
        if name is None:
            raise SpecError("mailsec_domains[%d]" % index, "must be a domain name or a mapping with a name")
        positions.setdefault(normalize_domain(name, "mailsec_domains[%d].name" % index), index)
    result = [entry if isinstance(entry, str) else copy.deepcopy(entry) for entry in domains]
    for field, domain, key in _usable_keys(keys):
        if domain not in positions:
            raise SpecError(field + ".domain", "%s is not in mailsec_domains; add the domain, or drop the key" % domain, domain)
        index = positions[domain]
        entry = result[index]
        if isinstance(entry, str):
            entry = result[index] = {"name": entry}
        entries = _dkim_entries(entry.get("dkim"), domain)
        for existing in entries:
            if isinstance(existing, dict) and str(existing.get("selector", "")).lower() == key["selector"]:
                existing.update(key)
                break
        else:
            entries.append(dict(key))
        entry["dkim"] = entries
    return result

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Merge a discovered domain list (e.g. from mailcow) with per-domain inventory overrides.

Private to the collection: users may rely only on plugins and modules.
"""

from __future__ import annotations

import copy

from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError, kind_of
from ansible_collections.mailsec.posture.plugins.module_utils.names import normalize_domain

STATES = ("present", "absent")


def index_domains(entries, label, key="name"):
    """``[(normalized name, entry)]`` of a list of mappings that each name a domain under ``key``, in order.

    ``None`` is an empty list. SpecError naming the entry (``label[2].key``) for a non-mapping, a
    missing or invalid name, or a name already listed (also after normalization: ``A.example.``
    is ``a.example``).
    """
    if entries is None:
        return []
    if not isinstance(entries, (list, tuple)):
        raise SpecError(label, "must be a list of domain mappings, got %s" % kind_of(entries))
    indexed = []
    seen = {}
    for position, entry in enumerate(entries):
        field = "%s[%d]" % (label, position)
        if not isinstance(entry, dict):
            raise SpecError(field, "must be a mapping with a %s, got %s" % (key, kind_of(entry)))
        if key not in entry:
            raise SpecError("%s.%s" % (field, key), "is required")
        name = normalize_domain(entry[key], "%s.%s" % (field, key))
        if name in seen:
            raise SpecError("%s.%s" % (field, key), "%s is already at %s[%d]" % (name, label, seen[name]), name)
        seen[name] = position
        indexed.append((name, entry))
    return indexed


def _index(entries, label):
    """``index_domains`` of ``entries``, each with a valid ``state``."""
    indexed = index_domains(entries, label)
    for position, (name, entry) in enumerate(indexed):
        state = entry.get("state", "present")
        if state not in STATES:
            raise SpecError("%s[%d].state" % (label, position), "must be present or absent, got %r" % (state,), name)
    return indexed


def merge_domains(base, overrides):
    """``base`` with ``overrides`` laid over it, matched by normalized ``name``.

    - A key set in an override replaces the base's value for that key as a whole (no deep merge,
      so an override ``dkim: {...}`` never mixes with the discovered key).
    - An override whose name is not in ``base`` is added after the base entries, in its order.
    - An override with ``state: absent`` removes that domain; ``state`` never reaches the result.
    - ``name`` in the result is the normalized name (A-labels, lower case, no trailing dot).
    Inputs are not modified.
    """
    base_index = _index(base, "base")
    override_index = _index(overrides, "overrides")
    by_name = dict(override_index)
    result = []
    for name, entry in base_index:
        merged = copy.deepcopy(entry)
        merged.pop("state", None)
        override = by_name.get(name)
        if override is not None:
            if override.get("state", "present") == "absent":
                continue
            merged.update(copy.deepcopy({key: value for key, value in override.items() if key != "state"}))
        merged["name"] = name
        result.append(merged)
    known = {name for name, _entry in base_index}
    for name, override in override_index:
        if name in known or override.get("state", "present") == "absent":
            continue
        added = copy.deepcopy({key: value for key, value in override.items() if key != "state"})
        added["name"] = name
        result.append(added)
    return result

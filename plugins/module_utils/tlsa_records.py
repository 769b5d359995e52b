# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TLSA records for an MX host from certificate and key files, in the shape the lookup returns.

Private to the collection: users may rely only on plugins and modules.

The values come from ``dane.normalize_spec`` and ``dane.build``, so a record made here equals the
one the ``mail_records`` lookup makes from the same material.
"""

from __future__ import annotations

from ansible_collections.mailsec.posture.plugins.module_utils import dane, files
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.names import fqdn, is_subdomain, normalize_domain

DEFAULT_TTL = 3600
MATERIAL_OPTIONS = ("certificate", "ca_certificate", "public_key", "next_public_key")


def read_pem_file(path, field):
    """The text of a PEM file, or SpecError naming the option and the file."""
    try:
        data = files.read_bytes(path)
    except files.FileError as exc:
        raise SpecError(field, str(exc)) from None
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise SpecError(field, "%s is not a PEM file (it is not ASCII text)" % path) from None


def default_zone(mx_host):
    """The MX host's parent domain (``mail.example.com`` -> ``example.com``), a guess the zone option overrides."""
    labels = mx_host.split(".")
    return ".".join(labels[1:]) if len(labels) > 2 else mx_host


def tlsa_records(mx, material, records=None, port=dane.DEFAULT_PORT, ttl=DEFAULT_TTL, zone=None):
    """The TLSA records of ``mx`` from ``material`` (PEM text by option name, see MATERIAL_OPTIONS).

    Returns ``{record_name, values, records}``: ``records`` are ``{name, type, ttl, value, zone, domain,
    standard}`` for ``dns_records``. Current key first, then ``next_public_key`` (a rollover publishes both).
    """
    host = normalize_domain(mx, "mx")
    spec = {"port": port}
    if records is not None:
        spec["records"] = records
    present = False
    for option in MATERIAL_OPTIONS:
        if material.get(option):
            spec[option] = material[option]
            present = True
    if not present:
        raise SpecError("certificate", "give certificate or public_key (a file on the host)", host)
    try:
        normalized = dane.normalize_spec(spec, host)
        values = dane.build(normalized)
    except SpecError as exc:
        # The engine names fields as the inventory writes them (dane.certificate); here they are options.
        raise SpecError(exc.field.replace("dane.", "", 1), exc.reason, host) from None
    except MailsecError as exc:
        raise SpecError("certificate", str(exc), host) from None
    name = fqdn(dane.record_name(host, normalized["port"]))
    zone = normalize_domain(zone, "zone") if zone else default_zone(host)
    if not is_subdomain(name, zone):
        raise SpecError("zone", "%s is not inside zone %s" % (name, zone), host)
    return {
        "record_name": name,
        "values": values,
        "records": [
            {"name": name, "type": "TLSA", "ttl": ttl, "value": value, "zone": zone, "domain": host, "standard": "dane"} for value in values
        ],
    }

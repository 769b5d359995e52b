# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Publishing mail domains to a test BIND with ``mailsec.posture.dns_records``: the inventory entry of a
domain with every standard on, a DKIM key for it, and the variables and task that point the module at
the server. Shared by the integration tests and the publishing benchmark."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The dns_records (and community.general.nsupdate) options that name the server and its key, as
# Jinja over the variables server_vars() gives a play.
SERVER_ARGUMENTS = {"server": "{{ dns_server }}", "port": "{{ dns_port }}", "key_name": "{{ tsig_name }}", "key_secret": "{{ tsig_secret }}"}


def rsa_public_key(bits):
    """A new RSA public key as DKIM's ``p=`` value: base64 of its DER SubjectPublicKeyInfo."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def mail_domain(name, zone, dkim_public_key):
    """A ``mailsec_domains`` entry with SPF, DKIM, DMARC, MTA-STS and TLS-RPT on: 7 RRsets to publish."""
    return {
        "name": name,
        "zone": zone,
        "spf": {"mechanisms": ["mx"], "all": "fail"},
        "dkim": {"selector": "dkim", "public_key": dkim_public_key},
        "dmarc": {"policy": "reject", "rua": ["mailto:dmarc@" + name]},
        "mta_sts": {"mode": "enforce", "max_age": 604800},
        "tlsrpt": {"rua": ["mailto:tls@" + name]},
    }


def server_vars(bind, **extra):
    """The play variables SERVER_ARGUMENTS reads: ``bind``'s address, port and TSIG key; then ``extra``."""
    key = bind.tsig_key
    values = {"dns_server": bind.address, "dns_port": bind.port, "tsig_name": key["name"], "tsig_secret": key["secret"]}
    values.update(extra)
    return values


def publish_task(records, name="publish", **options):
    """A ``dns_records`` task that publishes ``records`` (a list or Jinja) to the server of server_vars()."""
    arguments = dict(SERVER_ARGUMENTS, records=records)
    arguments.update(options)
    return {"name": name, "mailsec.posture.dns_records": arguments}

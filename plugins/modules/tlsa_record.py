#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: tlsa_record
short_description: TLSA records for an MX host from its certificate or key files
version_added: 0.1.0
description:
  - Computes the DANE TLSA records (RFC 6698, RFC 7672) of an MX host, C(_25._tcp.<mx>), from a certificate
    or key file on the host the module runs on, such as the MX itself.
  - V(3 1 1) (DANE-EE, the SHA-256 of the public key) by default, which survives certificate renewals that keep
    the key; V(2 0 1) (DANE-TA, the SHA-256 of the issuing CA's certificate) on request.
  - For a key rollover, O(next_public_key) adds the record of the next key beside the current one, so that
    senders know both before the server switches.
  - Returns the records in the shape of the P(mailsec.posture.mail_records#lookup) lookup, ready for
    M(mailsec.posture.dns_records). Reads files only; never changes anything.
author:
  - mailsec.posture contributors (@mailsec)
requirements:
  - cryptography on the host that runs the module.
options:
  mx:
    description:
      - The MX host name the records are for.
    type: str
    required: true
  certificate:
    description:
      - PEM file with the MX's certificate, optionally followed by its chain (as in a C(fullchain.pem)).
      - V(2 x x) records use the last certificate of the chain unless O(ca_certificate) is given.
    type: path
  public_key:
    description:
      - PEM file with the MX's public key, or its unencrypted private key (only the public half is read).
      - With O(certificate), it must be the certificate's key.
    type: path
  next_public_key:
    description:
      - PEM file with the key (public, private or a certificate) the MX will switch to. Its V(3 1 x) record is
        returned after the current one.
    type: path
  ca_certificate:
    description:
      - PEM file with the CA certificate that V(2 x x) records hash (the issuer the MX sends in its chain).
    type: path
  records:
    description:
      - The record types to compute, as V(usage selector matching-type). SMTP uses usages 2 and 3 only
        (RFC 7672 3.1.3) and a digest, not the full data.
    type: list
    elements: str
    default: ["3 1 1"]
  port:
    description:
      - The SMTP port, C(_<port>._tcp.<mx>).
    type: int
    default: 25
  ttl:
    description:
      - TTL of the returned records.
    type: int
    default: 3600
  zone:
    description:
      - Zone of the returned records; default the MX host's parent domain (C(example.com) for C(mail.example.com)).
    type: str
attributes:
  check_mode:
    description: Reads and computes the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is no diff.
    support: none
  idempotent:
    description: Never changes anything.
    support: full
notes:
  - Publish TLSA records only in a DNSSEC-signed zone; without DNSSEC senders ignore them (RFC 7672 2.2).
seealso:
  - module: mailsec.posture.dns_records
  - name: RFC 7672
    description: SMTP Security via Opportunistic DANE TLS.
    link: https://www.rfc-editor.org/rfc/rfc7672
"""

EXAMPLES = r"""
- name: TLSA records of the MX from its certificate
  mailsec.posture.tlsa_record:
    mx: mail.example.com
    certificate: /opt/mailcow-dockerized/data/assets/ssl/cert.pem
  register: tlsa

- name: Publish them
  mailsec.posture.dns_records:
    records: "{{ tlsa.records }}"
    server: 192.0.2.53
    key_name: mail-update
    key_secret: "{{ vault_tsig_secret }}"
  delegate_to: localhost

- name: During a key rollover, publish the current and the next key, plus the issuing CA
  mailsec.posture.tlsa_record:
    mx: mail.example.com
    certificate: /etc/ssl/mail/fullchain.pem
    next_public_key: /etc/ssl/mail/next.key
    records: ["3 1 1", "2 0 1"]
    zone: example.com
"""

RETURN = r"""
record_name:
  description: The owner name of the records.
  returned: success
  type: str
  sample: _25._tcp.mail.example.com.
values:
  description: The TLSA values, current key first, then the next key, then V(2 x x) values.
  returned: success
  type: list
  elements: str
  sample: ["3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"]
records:
  description: The records in the shape of the P(mailsec.posture.mail_records#lookup) lookup.
  returned: success
  type: list
  elements: dict
  sample:
    - name: _25._tcp.mail.example.com.
      type: TLSA
      ttl: 3600
      value: 3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6
      zone: example.com
      domain: mail.example.com
      standard: dane
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mailsec.posture.plugins.module_utils import dane, tlsa_records
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mx=dict(type="str", required=True),
            certificate=dict(type="path"),
            public_key=dict(type="path", no_log=False),
            next_public_key=dict(type="path", no_log=False),
            ca_certificate=dict(type="path"),
            records=dict(type="list", elements="str", default=["3 1 1"]),
            port=dict(type="int", default=dane.DEFAULT_PORT),
            ttl=dict(type="int", default=tlsa_records.DEFAULT_TTL),
            zone=dict(type="str"),
        ),
        required_one_of=[["certificate", "public_key"]],
        supports_check_mode=True,
    )
    if not dane.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"))
    params = module.params
    if params["ttl"] < 0:
        module.fail_json(msg="ttl must not be negative, got %d" % params["ttl"])
    try:
        material = {}
        for option in tlsa_records.MATERIAL_OPTIONS:
            if params[option]:
                material[option] = tlsa_records.read_pem_file(params[option], option)
        outcome = tlsa_records.tlsa_records(
            params["mx"], material, records=params["records"], port=params["port"], ttl=params["ttl"], zone=params["zone"]
        )
    except MailsecError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **outcome)


if __name__ == "__main__":
    main()

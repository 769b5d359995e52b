#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: dkim_key
short_description: Keep or create a DKIM signing key on the host and return its DNS record
version_added: 0.1.0
description:
  - Makes sure a DKIM private key exists at O(path). An existing key is kept; a missing one is created
    (RSA 2048 bits by default, RSA 3072 or 4096, or Ed25519 as RFC 8463 defines).
  - The private key is written atomically as unencrypted PKCS#8 PEM with mode C(0600); an existing key file
    with another mode is set to C(0600). The private key is never returned.
  - A symbolic link at O(path) is refused, never followed (the file is opened with C(O_NOFOLLOW)), so a link
    cannot make the module write or overwrite a key elsewhere. A key directory every user may write to is
    refused (with the sticky bit, as C(/tmp), only warned about).
  - Warns when an existing key was readable by its group or others before its mode was fixed (treat it as
    exposed), and when the key file is owned by another user than the one running the task.
  - An existing key is never replaced unless O(force=true) and it differs from O(key_type) and O(key_bits), or
    the file holds no usable key. Without O(force), a key of another type or size is kept with a warning.
  - Returns the selector, the public key and the DKIM TXT value (C(v=DKIM1; k=...; p=...)) exactly as the
    P(mailsec.posture.mail_records#lookup) lookup builds it for the same key; with O(domain), also the
    record name and a record ready for M(mailsec.posture.dns_records).
author:
  - mailsec.posture contributors (@mailsec)
requirements:
  - cryptography on the host that runs the module.
options:
  path:
    description:
      - Path of the private key file. Its directory must exist.
    type: path
    required: true
  selector:
    description:
      - The DKIM selector (RFC 6376 3.1), such as V(dkim) or V(2026a). Letters, digits and inner hyphens,
        in dot-separated labels.
    type: str
    required: true
  domain:
    description:
      - The signing domain. With it, the module returns RV(record_name) and RV(record).
    type: str
  key_type:
    description:
      - Type of a new key.
    type: str
    choices: [rsa, ed25519]
    default: rsa
  key_bits:
    description:
      - Size of a new RSA key in bits. Ignored for Ed25519 keys.
      - Keys of more than 2048 bits do not fit one 255-octet TXT character-string;
        M(mailsec.posture.dns_records) splits them when it publishes.
    type: int
    choices: [2048, 3072, 4096]
    default: 2048
  force:
    description:
      - Replace the key when the file holds a key of another type or size than asked for, or no usable key.
      - Signatures made with the old key stop verifying once the new TXT record is published; publish it
        right after, or use a new selector for a rollover instead.
    type: bool
    default: false
  ttl:
    description:
      - TTL of the returned RV(record).
    type: int
    default: 3600
  zone:
    description:
      - Zone of the returned RV(record); default O(domain).
    type: str
attributes:
  check_mode:
    description:
      - Reports whether the key would be created or replaced, without writing; the public values of a key
        that does not exist yet are null.
    support: full
  diff_mode:
    description: Nothing to show; the private key is never displayed.
    support: none
  idempotent:
    description: A second run keeps the key and reports no change.
    support: full
notes:
  - The file is owned by the user the module runs as. Give it to the signer (for example C(_rspamd) or
    C(opendkim)) with M(ansible.builtin.file) O(ansible.builtin.file#module:owner) in a later task; its mode stays C(0600).
seealso:
  - module: mailsec.posture.dns_records
  - name: RFC 8463
    description: A New Cryptographic Signature Method for DKIM (Ed25519).
    link: https://www.rfc-editor.org/rfc/rfc8463
"""

EXAMPLES = r"""
- name: Make sure the DKIM key of example.com exists
  mailsec.posture.dkim_key:
    path: /etc/dkim/example.com.dkim.key
    selector: dkim
    domain: example.com
  register: dkim

- name: Publish its record
  mailsec.posture.dns_records:
    records: ["{{ dkim.record }}"]
    server: 192.0.2.53
    key_name: mail-update
    key_secret: "{{ vault_tsig_secret }}"

- name: An Ed25519 key beside the RSA one (RFC 8463 asks signers to sign with both)
  mailsec.posture.dkim_key:
    path: /etc/dkim/example.com.ed.key
    selector: ed2026
    domain: example.com
    key_type: ed25519
"""

RETURN = r"""
path:
  description: The key file.
  returned: always
  type: str
  sample: /etc/dkim/example.com.dkim.key
selector:
  description: The selector, normalized (lower case).
  returned: success
  type: str
  sample: dkim
key_type:
  description: Type of the key in the file (of the key to be created, in check mode).
  returned: success
  type: str
  sample: rsa
key_bits:
  description: Size of that key in bits (256 for Ed25519).
  returned: success
  type: int
  sample: 2048
public_key:
  description: The public key as published in C(p=) (base64 SubjectPublicKeyInfo for RSA, the raw 32 octets for Ed25519).
  returned: success; null in check mode when the key does not exist yet
  type: str
  sample: MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA...
public_key_pem:
  description: The public key in PEM.
  returned: success; null in check mode when the key does not exist yet
  type: str
txt:
  description: The DKIM key record's value, unsplit (RFC 6376 3.6.1).
  returned: success; null in check mode when the key does not exist yet
  type: str
  sample: v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA...
record_name:
  description: The record's owner name, C(<selector>._domainkey.<domain>.).
  returned: when O(domain) is set
  type: str
  sample: dkim._domainkey.example.com.
record:
  description: The TXT record in the shape of the P(mailsec.posture.mail_records#lookup) lookup, for M(mailsec.posture.dns_records).
  returned: when O(domain) is set; null in check mode when the key does not exist yet
  type: dict
  sample:
    name: dkim._domainkey.example.com.
    type: TXT
    ttl: 3600
    value: v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA...
    zone: example.com
    domain: example.com
    standard: dkim
created:
  description: Whether a key was (or in check mode would be) created where none was.
  returned: success
  type: bool
replaced:
  description: Whether an existing file was (or would be) replaced by a new key (O(force=true)).
  returned: success
  type: bool
mode_fixed:
  description: Whether an existing key's file mode was (or would be) set to C(0600).
  returned: success
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mailsec.posture.plugins.module_utils import dkim_keyfile
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            selector=dict(type="str", required=True),
            domain=dict(type="str"),
            key_type=dict(type="str", choices=list(dkim_keyfile.KEY_TYPES), default="rsa", no_log=False),
            key_bits=dict(type="int", choices=list(dkim_keyfile.RSA_BITS), default=dkim_keyfile.DEFAULT_RSA_BITS, no_log=False),
            force=dict(type="bool", default=False),
            ttl=dict(type="int", default=dkim_keyfile.DEFAULT_TTL),
            zone=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    if not dkim_keyfile.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"))
    params = module.params
    if params["ttl"] < 0:
        module.fail_json(msg="ttl must not be negative, got %d" % params["ttl"])
    try:
        outcome = dkim_keyfile.ensure_key(
            params["path"],
            params["selector"],
            key_type=params["key_type"],
            key_bits=params["key_bits"],
            force=params["force"],
            check_mode=module.check_mode,
            domain=params["domain"],
            ttl=params["ttl"],
            zone=params["zone"],
        )
    except MailsecError as exc:
        module.fail_json(msg=str(exc), path=params["path"])
    for warning in outcome.pop("warnings"):
        module.warn(warning)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mailcow_dkim
author:
  - mailsec.posture contributors (@mailsec)
version_added: 0.1.0
short_description: Ensure mail domains have a DKIM key in mailcow
description:
  - Makes sure every domain in O(domains) has a DKIM key in mailcow, creating missing ones through the mailcow
    API (C(POST /api/v1/add/dkim)) with the chosen O(selector) and O(key_size).
  - An existing key is never replaced unless O(force=true) and it differs from the request (another selector
    or another size); then it is deleted (C(POST /api/v1/delete/dkim)) and made anew. A key that already
    matches is kept even with O(force=true), so re-runs change nothing.
  - Returns each domain's selector, public key and DKIM TXT value as mailcow holds them after the run.
  - Endpoints and JSON as in mailcow-dockerized's C(data/web/json_api.php) and
    C(data/web/inc/functions.dkim.inc.php). mailcow's C(privkey) field is dropped on arrival and never returned.
extends_documentation_fragment:
  - mailsec.posture.mailcow_api
options:
  domains:
    description:
      - The mail domains (as known to mailcow) that must have a key. A domain unknown to mailcow is an error.
    type: list
    elements: str
    required: true
  selector:
    description:
      - DKIM selector for new keys (letters, digits, C(-) and C(_), dot-separated labels).
    type: str
    default: dkim
  key_size:
    description:
      - RSA key size in bits for new keys.
      - 1024 is refused unless O(allow_weak=true) (RFC 8301 asks signers for at least 2048).
      - A key of more than 2048 bits does not fit one TXT character-string; it is split at publish time.
    type: int
    default: 2048
    choices: [1024, 2048, 3072, 4096]
  allow_weak:
    description:
      - Allow O(key_size=1024).
    type: bool
    default: false
  force:
    description:
      - Replace an existing key whose selector or size differs from O(selector) and O(key_size).
      - Signatures made with the old key stop verifying as soon as it is replaced; publish the new TXT record
        right after.
    type: bool
    default: false
attributes:
  check_mode:
    description: Reads mailcow and reports which keys would be created or replaced; changes nothing.
    support: full
  diff_mode:
    description: Shows each domain's key (selector, size, public key) before and after.
    support: full
  idempotent:
    description: A second run with the same options changes nothing.
    support: full
requirements:
  - A mailcow with API access enabled.
notes:
  - Loops live in the module; give all domains in one call rather than looping the task.
  - Creating keys is one request for all domains, and mailcow makes 4096-bit keys slowly, so give O(timeout) a
    few seconds per domain.
seealso:
  - plugin: mailsec.posture.mailcow_domains
    plugin_type: lookup
  - module: mailsec.posture.mailcow_mta_sts_policy
"""

EXAMPLES = r"""
- name: Every domain has a DKIM key (2048 bits, selector dkim)
  mailsec.posture.mailcow_dkim:
    api_url: https://mail.example.com
    api_key: "{{ mailcow_api_key }}"
    domains:
      - example.com
      - example.org
  register: dkim

- name: Show the TXT records to publish
  ansible.builtin.debug:
    msg: "{{ item.selector }}._domainkey.{{ item.domain }} TXT {{ item.dkim_txt }}"
  loop: "{{ dkim['keys'] }}"
  loop_control:
    label: "{{ item.domain }}"

- name: Move every domain to 4096-bit keys under a new selector, replacing old keys
  mailsec.posture.mailcow_dkim:
    api_url: https://mail.example.com
    api_key: "{{ mailcow_api_key }}"
    ca_path: /etc/ssl/certs/internal-ca.pem
    domains: "{{ mailsec_domains | map(attribute='name') | list }}"
    selector: s2026
    key_size: 4096
    force: true
"""

RETURN = r"""
keys:
  description: One entry per domain, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    domain:
      description: The domain (A-labels, lower case).
      type: str
      sample: example.com
    action:
      description: C(keep), C(create) or C(replace).
      type: str
      sample: create
    changed:
      description: Whether this domain's key was (or, in check mode, would be) created or replaced.
      type: bool
      sample: true
    created:
      description: Whether a key was made where there was none.
      type: bool
      sample: true
    replaced:
      description: Whether an existing key was replaced (O(force=true)).
      type: bool
      sample: false
    selector:
      description: The key's selector.
      type: str
      sample: dkim
    public_key:
      description: Base64 public key, the C(p=) value; null in check mode for a key not made yet.
      type: str
      sample: MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA21tUSjyasQy...
    key_bits:
      description: Key size computed from the key.
      type: int
      sample: 2048
    dkim_txt:
      description: The TXT value mailcow suggests, joined into one string; null in check mode for a key not made yet.
      type: str
      sample: v=DKIM1;k=rsa;t=s;s=email;p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA21tUSjyasQy...
    mismatch:
      description: How an existing key differs from the request, or null.
      type: str
      sample: key is 1024 bits, not 2048
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.posture.plugins.module_utils.mailcow_api import DKIM_KEY_SIZES, ensure_dkim
from ansible_collections.mailsec.posture.plugins.module_utils.mailcow_module import mailcow_argument_spec, run_mailcow_module


def main():
    module = AnsibleModule(
        argument_spec=mailcow_argument_spec(
            domains=dict(type="list", elements="str", required=True),
            selector=dict(type="str", default="dkim"),
            key_size=dict(type="int", default=2048, choices=list(DKIM_KEY_SIZES)),
            allow_weak=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    run_mailcow_module(module, lambda client: ensure_dkim(
        client,
        params["domains"],
        selector=params["selector"],
        key_size=params["key_size"],
        allow_weak=params["allow_weak"],
        force=params["force"],
        check_mode=module.check_mode,
    ))


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: mailcow_domains
author:
  - mailsec.posture contributors (@mailsec)
version_added: 0.1.0
short_description: Read the mail domains and their DKIM keys from the mailcow API
description:
  - Lists mailcow's mail domains (C(GET /api/v1/get/domain/all)) and reads each domain's DKIM selector and
    public key (C(GET /api/v1/get/dkim/<domain>)), several at a time.
  - The result is a list in the shape of C(mailsec_domains), so a re-run of the site playbook after a domain
    was added in mailcow publishes that domain's records, DKIM included, with no inventory edit.
  - Endpoints and JSON as in mailcow-dockerized's C(data/web/json_api.php),
    C(data/web/inc/functions.dkim.inc.php) and C(data/web/inc/functions.mailbox.inc.php).
  - A read-only API key is enough. mailcow's C(privkey) field (present when C($SHOW_DKIM_PRIV_KEYS) is set)
    is dropped on arrival.
  - Use C(lookup), not C(query); the lookup returns the domain list as one value.
  - Templated variables are evaluated each time they are used, so set the result once with
    M(ansible.builtin.set_fact) rather than referencing the lookup in several places.
extends_documentation_fragment:
  - mailsec.posture.mailcow_api
  - mailsec.posture.mailcow_api.lookup
options:
  tags:
    description:
      - Only domains carrying any of these mailcow tags, each compared exactly (case and all).
      - mailcow's own C(?tags=) filter matches C(LIKE '%tag%') (so C(managed) would also find C(unmanaged));
        the lookup asks with it and then keeps the exact matches itself.
    type: list
    elements: string
    default: []
  include_inactive:
    description:
      - Also return domains that are disabled in mailcow.
    type: boolean
    default: false
  include_backup_mx:
    description:
      - Also return domains for which mailcow is only a backup MX (their records are the primary's to publish).
    type: boolean
    default: false
  workers:
    description:
      - How many DKIM keys are read at the same time.
    type: integer
    default: 8
notes:
  - A domain without a DKIM key in mailcow comes back with C(dkim=null); M(mailsec.posture.mailcow_dkim) makes one.
  - When a domain disappears between the domain list and its DKIM read, the lookup fails naming it; a re-run
    reads the new list.
seealso:
  - module: mailsec.posture.mailcow_dkim
  - module: mailsec.posture.mailcow_mta_sts_policy
  - plugin: mailsec.posture.merge_domains
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Read mailcow's domains and DKIM keys once for the play
  ansible.builtin.set_fact:
    mailsec_domains: >-
      {{ lookup('mailsec.posture.mailcow_domains',
                api_url='https://mail.example.com',
                api_key=mailcow_api_key) }}

# Domains from mailcow, with per-domain settings from the inventory on top. In the inventory, only what
# differs; keys given there win over mailcow's, and a domain that is only there is kept:
#   mailsec_domain_overrides:
#     - name: example.com
#       dmarc: {policy: reject, rua: ["mailto:dmarc@example.com"]}
#     - name: legacy.example.net
#       state: absent                      # DNS managed elsewhere: leave it out
#     - name: static.example.org           # not in mailcow, still managed
#       dkim: {selector: s1, public_key: "MIIBIjANBg..."}
- name: Merge mailcow's list with the inventory
  ansible.builtin.set_fact:
    mailsec_domains: >-
      {{ lookup('mailsec.posture.mailcow_domains',
                api_url=mailcow_api_url, api_key=mailcow_api_key,
                ca_path='/etc/ssl/certs/internal-ca.pem')
         | mailsec.posture.merge_domains(mailsec_domain_overrides) }}

- name: Only the domains tagged "managed" (api_url and api_key from MAILCOW_API_URL and MAILCOW_API_KEY)
  ansible.builtin.debug:
    msg: >-
      {{ lookup('mailsec.posture.mailcow_domains', tags=['managed'])
         | selectattr('dkim') | map(attribute='name') | list }}
"""

RETURN = r"""
_raw:
  description:
    - One list (returned as a single value) with an entry per mail domain, in mailcow's order.
  type: list
  elements: dict
  contains:
    name:
      description: The domain (A-labels, lower case).
      type: string
      sample: example.com
    source:
      description: Where the entry came from.
      type: string
      sample: mailcow
    dkim:
      description: The domain's DKIM key in mailcow, or null when it has none.
      type: dict
      contains:
        selector:
          description: The DKIM selector.
          type: string
          sample: dkim
        public_key:
          description: Base64 SubjectPublicKeyInfo, the value of the record's C(p=) tag.
          type: string
          sample: MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA21tUSjyasQy...
        key_bits:
          description: Key size computed from the key itself (mailcow's own C(length) is a guess).
          type: integer
          sample: 2048
    mailcow:
      description: What mailcow says about the domain besides the key.
      type: dict
      contains:
        unicode_name:
          description: The domain in Unicode.
          type: string
        description:
          description: mailcow's description of the domain.
          type: string
        tags:
          description: mailcow tags of the domain.
          type: list
          elements: string
        active:
          description: Whether the domain is enabled in mailcow.
          type: boolean
        backup_mx:
          description: Whether mailcow is only a backup MX for the domain.
          type: boolean
        dkim_txt:
          description: The DKIM TXT value mailcow suggests (C(v=DKIM1;k=rsa;t=s;s=email;p=...)), joined.
          type: string
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError
from ansible_collections.mailsec.posture.plugins.module_utils.mailcow_api import MailcowClient, discover_domains


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError("mailsec.posture.mailcow_domains takes no terms, only options (api_url=..., api_key=...)")
        self.set_options(var_options=variables, direct=kwargs)
        try:
            client = MailcowClient(
                self.get_option("api_url"),
                self.get_option("api_key"),
                timeout=self.get_option("timeout"),
                ca_path=self.get_option("ca_path"),
            )
            domains = discover_domains(
                client,
                tags=self.get_option("tags") or None,
                include_inactive=self.get_option("include_inactive"),
                include_backup_mx=self.get_option("include_backup_mx"),
                workers=self.get_option("workers"),
            )
        except MailsecError as exc:
            raise AnsibleLookupError(str(exc)) from None
        return [domains]

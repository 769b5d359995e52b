#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mailcow_mta_sts_policy
author:
  - mailsec.posture contributors (@mailsec)
version_added: 0.1.0
short_description: Ensure the MTA-STS policies a native mailcow (2025-09 and later) serves
description:
  - mailcow since release 2025-09 keeps each domain's MTA-STS policy in its database, serves it itself at
    C(https://mta-sts.<domain>/.well-known/mta-sts.txt) (C(data/web/mta-sts.php)) and sets it through its API.
    This module makes mailcow serve the given policy for each domain, idempotently.
  - mailcow has no API route that reads a policy, so the module reads what mailcow serves, from the mailcow
    host at O(api_url) (or O(policy_url)) with the C(Host) header C(mta-sts.<domain>), compares it with the
    request, and only then adds (C(POST /api/v1/add/mta-sts)) or edits (C(POST /api/v1/edit/mta-sts)) the
    policy. After a change it reads the policy again and warns if mailcow does not serve what was asked.
  - MX names are compared as a set, so a different order alone changes nothing.
  - Older mailcow installs (static C(data/web/.well-known/mta-sts.txt)) have no such API; the module then fails
    with "no such API route". The role C(mailsec.posture.mailcow_mta_sts) handles both generations.
  - Endpoints and JSON as in mailcow-dockerized's C(data/web/json_api.php) and
    C(data/web/inc/functions.mailbox.inc.php) (C(mta_sts)).
extends_documentation_fragment:
  - mailsec.posture.mailcow_api
options:
  policies:
    description:
      - One entry per domain. Each domain must be a mail domain in mailcow (not an alias domain; mailcow serves
        the target domain's policy for those).
    type: list
    elements: dict
    required: true
    suboptions:
      domain:
        description:
          - The mail domain.
        type: str
        required: true
      mode:
        description:
          - The policy mode (RFC 8461 3.2). Required when O(policies[].active=true).
        type: str
        choices: [enforce, testing, none]
      mx:
        description:
          - MX host names the policy allows; a leading C(*.) label is a wildcard. A bare C(*) is refused.
          - mailcow stores them comma-joined in 255 characters at most.
          - Required when O(policies[].active=true).
        type: list
        elements: str
      max_age:
        description:
          - Seconds senders may cache the policy, 1 to 31536000 (mailcow's limit, a little under RFC 8461's).
          - Required when O(policies[].active=true).
        type: int
      active:
        description:
          - Whether mailcow serves the policy. V(false) switches it off (mailcow has no way to delete one);
            mode, mx and max_age may then be left out (the module sends the served ones back with C(active=0), since
            mailcow validates every attribute on an edit).
          - A domain that is no longer in mailcow has no policy (deleting a domain deletes its policy row), so
            switching it off is nothing to do.
        type: bool
        default: true
  policy_url:
    description:
      - Where to read the served policies, with the C(Host) header C(mta-sts.<domain>), when O(api_url) does not
        reach mailcow's C(mta-sts.php) that way, for example behind a reverse proxy that routes by name; then
        mailcow's own C(HTTP_BIND) address such as C(http://127.0.0.1:8080) (plain C(http) only on loopback).
      - Defaults to O(api_url). The API key is never sent there.
      - Once mailcow accepted a change, a read-back that differs is a warning, not a failure.
    type: str
  mailcow_conf:
    description:
      - Path of mailcow's C(mailcow.conf) on the managed host. When set, the module warns for each newly served
        domain about its C(mta-sts.<domain>) certificate, read from it as mailcow's ACME client reads it. No
        certificate comes with C(SKIP_LETS_ENCRYPT=y), C(ONLY_MAILCOW_HOSTNAME=y) or C(AUTODISCOVER_SAN=n); otherwise
        it comes on the client's next run, up to a day later (it sleeps a day after a successful run), and the
        warning says what to restart to get it now.
    type: path
  acme_service:
    description:
      - The compose service of mailcow's ACME client, named in the certificate warnings.
    type: str
    default: acme-mailcow
attributes:
  check_mode:
    description: Reads what mailcow serves and reports what would change; changes nothing.
    support: full
  diff_mode:
    description: Shows each changed domain's policy text before and after.
    support: full
  idempotent:
    description: A second run with the same options changes nothing.
    support: full
requirements:
  - mailcow 2025-09 or later with API access enabled.
notes:
  - The C(_mta-sts) TXT record's C(id) is not mailcow's business here; the record engine derives it from the
    policy's content, so it changes exactly when the policy does.
  - Loops live in the module; give all domains in one call rather than looping the task.
seealso:
  - module: mailsec.posture.mailcow_dkim
  - plugin: mailsec.posture.mailcow_domains
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: mailcow serves an enforcing policy for both domains
  mailsec.posture.mailcow_mta_sts_policy:
    api_url: https://mail.example.com
    api_key: "{{ mailcow_api_key }}"
    policies:
      - domain: example.com
        mode: enforce
        mx: [mail.example.com]
        max_age: 604800
      - domain: example.org
        mode: testing
        mx: [mail.example.com, "*.backup.example.net"]
        max_age: 86400

- name: Stop serving a policy
  mailsec.posture.mailcow_mta_sts_policy:
    api_url: https://mail.example.com
    api_key: "{{ mailcow_api_key }}"
    policies:
      - domain: retired.example
        active: false

- name: One policy per domain of the inventory
  mailsec.posture.mailcow_mta_sts_policy:
    api_url: https://mail.example.com
    api_key: "{{ mailcow_api_key }}"
    ca_path: /etc/ssl/certs/internal-ca.pem
    policies: >-
      {{ mailsec_domains | map(attribute='name')
         | map('community.general.dict_kv', 'domain')
         | map('combine', {'mode': 'enforce', 'mx': [mailsec_mail_host], 'max_age': 604800}) | list }}
"""

RETURN = r"""
policies:
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
      description: C(none), C(add) (no active policy was served) or C(edit).
      type: str
      sample: edit
    changed:
      description: Whether the domain's policy was (or, in check mode, would be) changed.
      type: bool
      sample: true
    active:
      description: Whether the policy is meant to be served.
      type: bool
      sample: true
    before:
      description: The policy text mailcow served before, empty when it served none.
      type: str
      sample: "version: STSv1\nmode: testing\nmax_age: 86400\nmx: mail.example.com\n"
    policy:
      description: The policy text mailcow serves now (in check mode, would serve), empty when none.
      type: str
      sample: "version: STSv1\nmode: enforce\nmax_age: 604800\nmx: mail.example.com\n"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.mailcow_api import MTA_STS_MODES, MailcowClient, ensure_mta_sts
from ansible_collections.mailsec.posture.plugins.module_utils.mailcow_module import mailcow_argument_spec, run_mailcow_module


def main():
    module = AnsibleModule(
        argument_spec=mailcow_argument_spec(
            policies=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    domain=dict(type="str", required=True),
                    mode=dict(type="str", choices=list(MTA_STS_MODES)),
                    mx=dict(type="list", elements="str"),
                    max_age=dict(type="int"),
                    active=dict(type="bool", default=True),
                ),
            ),
            policy_url=dict(type="str"),
            mailcow_conf=dict(type="path"),
            acme_service=dict(type="str", default="acme-mailcow"),
        ),
        supports_check_mode=True,
    )
    params = module.params

    def ensure(client):
        reader = None
        if params["policy_url"]:
            reader = MailcowClient(params["policy_url"], params["api_key"], timeout=params["timeout"], ca_path=params["ca_path"])
        conf_text = None
        if params["mailcow_conf"]:
            try:
                with open(params["mailcow_conf"], encoding="utf-8", errors="surrogateescape") as handle:
                    conf_text = handle.read()
            except OSError as exc:
                raise SpecError("mailcow_conf", "cannot read %s: %s" % (params["mailcow_conf"], exc.strerror))
        return ensure_mta_sts(client, params["policies"], check_mode=module.check_mode, reader=reader,
                              mailcow_conf=conf_text, acme_service=params["acme_service"])

    run_mailcow_module(module, ensure)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mailcow_tls_policy_map
short_description: Add a TLS policy table to mailcow's postfix smtp_tls_policy_maps through extra.cf
version_added: 0.1.0
description:
  - Makes mailcow's postfix look up outbound TLS policies in an extra table, such as the socketmap of an MTA-STS
    resolver, by setting C(smtp_tls_policy_maps) in C(data/conf/postfix/extra.cf), the file mailcow appends to
    its C(main.cf) at every start of C(postfix-mailcow).
  - The value written is mailcow's own C(smtp_tls_policy_maps), read from C(data/conf/postfix/main.cf) (the part
    above its C(Overrides) marker line), with O(table) inserted right after mailcow's per-destination override map
    (C(mysql_tls_policy_override_maps.cf)), or first when there is none. postfix takes the first table that
    answers, so an override an administrator sets in the mailcow UI keeps winning over O(table), and every other
    table of mailcow stays in the list.
  - The setting is one block between C(# BEGIN <marker>) and C(# END <marker>) lines; every other line of
    C(extra.cf) stays byte for byte. O(state=absent) removes the block and nothing else. A missing C(extra.cf) is
    created (mode C(0644)).
  - C(extra.cf) is read only when C(postfix-mailcow) starts (C(data/Dockerfiles/postfix/postfix.sh) rebuilds
    C(main.cf) then), so restart that container after a change (C(docker compose restart postfix-mailcow));
    C(postfix reload) alone does not see it. That is left to the caller, for example in a handler.
author:
  - mailsec.posture contributors (@mailsec)
requirements:
  - Python 3.8 or later on the target.
options:
  path:
    description:
      - The mailcow-dockerized directory (holding C(data/conf/postfix/main.cf)).
    type: path
    required: true
  table:
    description:
      - The postfix table to add, for example V(socketmap:inet:mta-sts-resolver:8461:postfix). Required with
        O(state=present).
    type: str
  state:
    description:
      - V(present) writes the setting; V(absent) removes the block this module wrote.
    type: str
    choices: [present, absent]
    default: present
  marker:
    description:
      - The text after C(# BEGIN) and C(# END) on the lines around the block.
    type: str
    default: mailsec.posture.mailcow_mta_sts_resolver
  conflicts:
    description:
      - What to do when C(extra.cf) already sets C(smtp_tls_policy_maps) outside the block. postfix uses only the
        last setting, so one of the two would be ignored.
      - V(fail) refuses and names the line. V(override) keeps that line and makes sure the block comes after it, so
        the module's setting is the one postfix uses (with a warning naming the line).
    type: str
    choices: [fail, override]
    default: fail
  backup:
    description:
      - Keep a copy of C(extra.cf) as it was, next to it, when the module changes it.
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check mode and return the changed status it predicts without modifying the file.
    support: full
  diff_mode:
    description: Returns C(extra.cf) before and after the change when run in diff mode.
    support: full
  idempotent:
    description: A second run with the same options reports no change and does not touch the file.
    support: full
notes:
  - The module fails, naming the file and the lines, and writes nothing when C(main.cf) is missing, the block's
    marker lines are broken or repeated, or (with O(conflicts=fail)) C(extra.cf) sets C(smtp_tls_policy_maps) itself.
  - When mailcow's own tables already include a policy service (mailcow 2025-09 and later ask
    C(socketmap:inet:postfix-tlspol:8642:QUERY) for MTA-STS and DANE), it is kept after O(table) and returned in
    RV(policy_services), so the caller can decide whether O(table) is needed at all.
seealso:
  - name: mailcow-dockerized postfix configuration
    description: C(data/conf/postfix/main.cf) and C(data/Dockerfiles/postfix/postfix.sh) in mailcow's repository.
    link: https://github.com/mailcow/mailcow-dockerized
"""

EXAMPLES = r"""
- name: Ask the MTA-STS resolver after mailcow's own overrides
  mailsec.posture.mailcow_tls_policy_map:
    path: /opt/mailcow-dockerized
    table: socketmap:inet:mta-sts-resolver:8461:postfix
  notify: Restart postfix-mailcow

- name: Take it out again
  mailsec.posture.mailcow_tls_policy_map:
    path: /opt/mailcow-dockerized
    state: absent
  notify: Restart postfix-mailcow
"""

RETURN = r"""
path:
  description: The file edited, C(data/conf/postfix/extra.cf) in O(path).
  returned: success
  type: str
  sample: /opt/mailcow-dockerized/data/conf/postfix/extra.cf
policy_maps:
  description: The tables written to C(smtp_tls_policy_maps), in order; null with O(state=absent).
  returned: success
  type: list
  elements: str
  sample:
    - proxy:mysql:/opt/postfix/conf/sql/mysql_tls_policy_override_maps.cf
    - socketmap:inet:mta-sts-resolver:8461:postfix
mailcow_policy_maps:
  description: mailcow's own C(smtp_tls_policy_maps) from C(main.cf), in order.
  returned: success
  type: list
  elements: str
  sample:
    - proxy:mysql:/opt/postfix/conf/sql/mysql_tls_policy_override_maps.cf
policy_services:
  description: The tables of mailcow's own that ask a policy daemon (C(socketmap:) or C(tcp:)), other than O(table).
  returned: success
  type: list
  elements: str
  sample: []
conflicts:
  description: Settings of C(smtp_tls_policy_maps) in C(extra.cf) outside the block (with O(conflicts=override)).
  returned: success
  type: list
  elements: dict
  sample: []
created:
  description: Whether C(extra.cf) did not exist and was (or, in check mode, would be) created.
  returned: success
  type: bool
  sample: false
backup_file:
  description: Path of the copy of the previous content.
  returned: when O(backup=true) and the content changed (not in check mode)
  type: str
  sample: /opt/mailcow-dockerized/data/conf/postfix/extra.cf.2841.2026-03-01@12:00:00~
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.posture.plugins.module_utils import mailcow_tls_policy
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            table=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            marker=dict(type="str", default=mailcow_tls_policy.DEFAULT_MARKER),
            conflicts=dict(type="str", choices=["fail", "override"], default="fail"),
            backup=dict(type="bool", default=False),
        ),
        required_if=[("state", "present", ["table"])],
        supports_check_mode=True,
    )
    params = module.params
    try:
        outcome = mailcow_tls_policy.update(params["path"], params["table"], params["state"], params["marker"], params["conflicts"],
                                            backup=params["backup"], check_mode=module.check_mode)
    except MailsecError as exc:
        module.fail_json(msg=str(exc))
    for conflict in outcome["conflicts"]:
        module.warn("%s line %d also sets %s = %s; the managed setting after it is the one postfix uses"
                    % (outcome["path"], conflict["line"], conflict["name"], conflict["value"]))
    before, after = outcome.pop("before"), outcome.pop("after")
    if not outcome["backup_file"]:
        outcome.pop("backup_file")
    outcome.pop("moved")
    if module._diff:
        outcome["diff"] = {"before": before, "after": after, "before_header": "%s (before)" % outcome["path"],
                           "after_header": "%s (after)" % outcome["path"]}
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()

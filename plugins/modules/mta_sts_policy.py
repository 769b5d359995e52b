#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mta_sts_policy
short_description: Write MTA-STS policy files and return their ids and TXT records
version_added: 0.1.0
description:
  - Writes the policy file that senders fetch from C(https://mta-sts.<domain>/.well-known/mta-sts.txt)
    (RFC 8461 section 3.2), for example mailcow's C(data/web/.well-known/mta-sts.txt) or the file an
    C(nginx:alpine) container serves.
  - "The policy comes from exactly one of three sources, and is checked by the collection's RFC 8461 parser
    before anything is written; an invalid policy (C(mx: *), C(mode: enforced), a missing C(max_age)) fails
    with a message naming the option and nothing is written."
  - "O(mode) with O(mx) and O(max_age): the fields themselves."
  - "O(policy): a complete policy text, such as the output of the P(mailsec.posture.mta_sts_policy#filter) filter."
  - "O(domain): one entry of the C(mailsec_domains) inventory model, with O(mail_host) and O(domain_defaults)."
  - The file is replaced atomically (a temporary file in the same directory renamed over it) and only when
    its content differs. An existing file keeps its mode, owner and group; a new file is made world-readable
    (C(0644)) because the web server reads it. O(owner), O(group) and O(file_mode) set them explicitly.
  - Returns the policy's C(id), derived from its content so that it changes exactly when the policy does, and
    the C(_mta-sts) TXT value to publish with it.
  - "Many domains in one call: O(directory) with O(policies) writes each domain's policy to
    C(<directory>/<domain>.txt) in the same way (checked, atomic, only when it differs), and with O(prune=true)
    removes the C(*.txt) files of domains that are not listed. Every policy and every target is checked
    before the first file is written. This is the form for a server that serves each domain its own file,
    such as the role C(mailsec.posture.mta_sts_container): one task for the whole fleet instead of a loop."
author:
  - mailsec.posture contributors (@mailsec)
requirements:
  - Python 3.8 or later on the target.
  - C(idna) on the target when O(domain) or O(mx) hold internationalized names.
options:
  path:
    description:
      - The policy file to write. Its directory must exist.
      - Exactly one of O(path) and O(directory) is required.
    type: path
  directory:
    description:
      - The directory that holds one policy file per domain, C(<domain>.txt). It must exist.
      - Requires O(policies); mutually exclusive with O(path) and the single-file sources O(mode), O(mx),
        O(max_age), O(policy), O(domain), O(mail_host) and O(domain_defaults).
    type: path
  policies:
    description:
      - With O(directory), the domains and their policies, each a mapping with C(domain) (the file is
        C(<domain>.txt), the name in A-labels and lower case) and C(policy) (a complete policy text, written
        byte for byte once the parser accepts it). Other keys are ignored, so the output of the
        P(mailsec.posture.mta_sts_sites#filter) filter can be given as it is.
      - A domain listed twice is refused. An empty list writes nothing (and with O(prune=true) empties the
        directory of C(*.txt) files).
    type: list
    elements: dict
  prune:
    description:
      - With O(directory), remove the C(*.txt) files and links in it whose name is not C(<domain>.txt) of a
        domain in O(policies). Other files (backups, hidden files, anything not ending in C(.txt)),
        directories and subdirectories are never touched. Removed files are not backed up.
    type: bool
    default: false
  mode:
    description:
      - The policy mode, one of V(enforce), V(testing) or V(none) (RFC 8461 section 5), written in lower case.
      - With O(mx) and O(max_age), one of the three sources of the policy; mutually exclusive with O(policy)
        and O(domain).
      - This is the policy's C(mode:) field, not the file's permissions; see O(file_mode) for those.
    type: str
  mx:
    description:
      - The MX host names senders may deliver to; a pattern may start with a whole C(*.) label
        (C(*.example.com)). A bare C(*) is refused, since RFC 8461 does not allow it.
      - Required unless O(mode=none).
    type: list
    elements: str
  max_age:
    description:
      - Seconds senders may cache the policy, 0 to 31557600. Defaults to 604800 (one week) with O(mode).
    type: int
  policy:
    description:
      - A complete policy text. It is written as given, byte for byte, once the parser accepts it.
    type: str
  domain:
    description:
      - One entry of C(mailsec_domains) (a mapping with C(name) and optionally C(mx) and C(mta_sts), or just a
        domain name); the policy is the one the collection's engine builds for it.
      - Only C(name), C(mx) and C(mta_sts) are read; the other standards' keys are ignored.
    type: raw
  mail_host:
    description:
      - The mail host (C(mailsec_mail_host)), the default MX of a O(domain) without C(mx).
    type: str
  domain_defaults:
    description:
      - C(mailsec_domain_defaults), merged under O(domain) (only C(mx) and C(mta_sts) matter here).
    type: dict
  backup:
    description:
      - Keep a copy of the previous content next to the file, named C(<path>.<pid>.<date>@<time>~), when the
        content changes. With O(directory), for each file written.
    type: bool
    default: false
  owner:
    description:
      - Owner of the file (with O(directory), of every policy file). An existing file keeps its owner when
        this is not given.
    type: str
  group:
    description:
      - Group of the file (with O(directory), of every policy file). An existing file keeps its group when
        this is not given.
    type: str
  file_mode:
    description:
      - Permissions of the file, as the O(ansible.builtin.file#module:mode) option of M(ansible.builtin.file)
        takes them (V("0644"), V(u=rw,g=r,o=r)). An existing file keeps its permissions when this is not given.
    type: raw
attributes:
  check_mode:
    description:
      - Reads the files, builds and validates the policies, and reports what would change (and, with O(prune=true),
        which files would be removed) without writing.
    support: full
  diff_mode:
    description:
      - Shows the file's content before and after, and the permission or owner changes; with O(directory), for
        every file that changes or is removed.
    support: full
  idempotent:
    description: A second run with the same options reports no change and does not touch the file.
    support: full
notes:
  - The C(_mta-sts) TXT record is not published by this module; give the returned RV(txt) to the DNS step (or
    take it from the P(mailsec.posture.mail_records#lookup) lookup, which derives the same id).
  - A server that serves one file to all its domains (mailcow before 2025-09) needs one policy that fits all
    of them; the role C(mailsec.posture.mailcow_mta_sts) checks that before it calls this module.
seealso:
  - plugin: mailsec.posture.mta_sts_policy
    plugin_type: filter
  - plugin: mailsec.posture.parse_mta_sts_policy
    plugin_type: filter
  - name: RFC 8461 section 3.2
    description: The MTA-STS policy file.
    link: https://www.rfc-editor.org/rfc/rfc8461#section-3.2
"""

EXAMPLES = r"""
- name: Write the policy from its fields
  mailsec.posture.mta_sts_policy:
    path: /opt/mailcow-dockerized/data/web/.well-known/mta-sts.txt
    mode: enforce
    mx:
      - mail.example.com
    max_age: 604800
  register: mta_sts

- name: Show the TXT record to publish at _mta-sts.example.com
  ansible.builtin.debug:
    msg: "{{ mta_sts.txt }}"

- name: Write the policy of one inventory domain
  mailsec.posture.mta_sts_policy:
    path: /srv/mta-sts/policies/example.com.txt
    domain: "{{ mailsec_domains | selectattr('name', 'equalto', 'example.com') | first }}"
    mail_host: "{{ mailsec_mail_host }}"
    backup: true

- name: Write every domain's own policy into one directory and remove the files of domains no longer listed
  mailsec.posture.mta_sts_policy:
    directory: /srv/mta-sts-container/mta-sts
    policies: "{{ mailsec_domains | mailsec.posture.mta_sts_sites(mail_host=mailsec_mail_host) }}"
    prune: true
  register: fleet

- name: Show the TXT record of every domain
  ansible.builtin.debug:
    msg: "_mta-sts.{{ item.domain }}: {{ item.txt }}"
  loop: "{{ fleet.policies }}"

- name: Write a policy text built elsewhere, readable by the web server's group only
  mailsec.posture.mta_sts_policy:
    path: /srv/mta-sts/mta-sts.txt
    policy: "{{ {'name': 'example.org', 'mta_sts': {'mode': 'testing'}} | mailsec.posture.mta_sts_policy(mail_host='mail.example.org') }}"
    owner: root
    group: www-data
    file_mode: "0640"
"""

RETURN = r"""
path:
  description: The path of the policy file, as given.
  returned: when O(path) was given
  type: str
  sample: /opt/mailcow-dockerized/data/web/.well-known/mta-sts.txt
policy:
  description: The policy text the file holds (in check mode, would hold).
  returned: success, when O(path) was given
  type: str
  sample: "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"
id:
  description:
    - The policy's id for the C(_mta-sts) TXT record, derived from the policy's content (20 hexadecimal digits).
  returned: success, when O(path) was given
  type: str
  sample: 4f1c7d0e9a2b5c3d8e6f
txt:
  description: The value of the C(_mta-sts.<domain>) TXT record that goes with this policy.
  returned: success, when O(path) was given
  type: str
  sample: v=STSv1; id=4f1c7d0e9a2b5c3d8e6f
domain:
  description: The domain the policy was built for (A-labels, lower case).
  returned: when O(domain) was given
  type: str
  sample: example.com
created:
  description: Whether the file did not exist before.
  returned: success, when O(path) was given
  type: bool
  sample: false
backup_file:
  description: Path of the copy of the previous content.
  returned: when O(backup=true) and the content changed (not in check mode)
  type: str
  sample: /srv/mta-sts/mta-sts.txt.2841.2026-03-01@12:00:00~
directory:
  description: The directory of the policy files, as given.
  returned: when O(directory) was given
  type: str
  sample: /srv/mta-sts-container/mta-sts
policies:
  description:
    - What each domain of O(policies) now publishes (in check mode, would publish), in the order given.
  returned: success, when O(directory) was given
  type: list
  elements: dict
  contains:
    domain:
      description: The domain as its file names it, in A-labels and lower case.
      type: str
      sample: example.com
    path:
      description: Its policy file, C(<directory>/<domain>.txt).
      type: str
      sample: /srv/mta-sts-container/mta-sts/example.com.txt
    policy:
      description: The policy text the file holds (in check mode, would hold).
      type: str
      sample: "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"
    id:
      description: The policy's id, derived from its content.
      type: str
      sample: 4f1c7d0e9a2b5c3d8e6f
    txt:
      description: The value of the domain's C(_mta-sts) TXT record.
      type: str
      sample: v=STSv1; id=4f1c7d0e9a2b5c3d8e6f
    changed:
      description: Whether this file's content, permissions or owner changed (in check mode, would change).
      type: bool
      sample: true
    created:
      description: Whether the file did not exist before.
      type: bool
      sample: false
    backup_file:
      description: Path of the copy of the previous content, when O(backup=true) and the content changed.
      type: str
      sample: /srv/mta-sts-container/mta-sts/example.com.txt.2841.2026-03-01@12:00:00~
removed:
  description: The policy files O(prune=true) removed (in check mode, would remove), sorted.
  returned: success, when O(directory) was given
  type: list
  elements: str
  sample: [/srv/mta-sts-container/mta-sts/retired.example.txt]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError
from ansible_collections.mailsec.posture.plugins.module_utils.files import FileError
from ansible_collections.mailsec.posture.plugins.module_utils.mta_sts_deploy import (
    PartialWriteError,
    desired_policy,
    ensure_policy_directory,
    ensure_policy_file,
    policy_set,
    published,
)


def _apply_attributes(module, path, changed, diff):
    """owner/group/file_mode asked for, on the file itself (a link's target); returns the new changed flag."""
    params = module.params
    target = os.path.realpath(path)
    if params["owner"] is not None:
        changed = module.set_owner_if_different(target, params["owner"], changed, diff)
    if params["group"] is not None:
        changed = module.set_group_if_different(target, params["group"], changed, diff)
    if params["file_mode"] is not None:
        changed = module.set_mode_if_different(target, params["file_mode"], changed, diff)
    return changed


def _file_diff(path, before, after):
    return {"before": before, "after": after, "before_header": "%s (before)" % path, "after_header": "%s (after)" % path}


def _write_one(module):
    params = module.params
    path = params["path"]
    try:
        policy, domain = desired_policy(
            mode=params["mode"],
            mx=params["mx"],
            max_age=params["max_age"],
            policy=params["policy"],
            domain=params["domain"],
            mail_host=params["mail_host"],
            defaults=params["domain_defaults"],
        )
        outcome = ensure_policy_file(path, policy, backup=params["backup"], check_mode=module.check_mode)
    except FileError as exc:
        module.fail_json(msg=str(exc), path=path)
    except MailsecError as exc:
        module.fail_json(msg="no policy written to %s: %s" % (path, exc), path=path)

    attributes_diff = {"before": {}, "after": {}}
    changed = outcome["changed"]
    # In check mode a file that does not exist yet has no attributes to compare.
    if not (module.check_mode and outcome["created"]):
        changed = _apply_attributes(module, path, changed, attributes_diff)

    result = dict(changed=changed, path=path, policy=policy, created=outcome["created"], **published(policy))
    if domain is not None:
        result["domain"] = domain
    if outcome["backup_file"]:
        result["backup_file"] = outcome["backup_file"]
    if module._diff:
        result["diff"] = [_file_diff(path, outcome["before"], outcome["after"])]
        if attributes_diff["before"] or attributes_diff["after"]:
            result["diff"].append(attributes_diff)
    return result


def _write_directory(module):
    params = module.params
    directory = params["directory"]
    try:
        wanted = policy_set(params["policies"])
        outcome = ensure_policy_directory(
            directory, wanted, prune=params["prune"], backup=params["backup"], check_mode=module.check_mode
        )
    except PartialWriteError as exc:
        module.fail_json(msg=str(exc), directory=directory, changed=True, changed_files=exc.done)
    except FileError as exc:
        module.fail_json(msg=str(exc), directory=directory)
    except MailsecError as exc:
        module.fail_json(msg="no policy written to %s: %s" % (directory, exc), directory=directory)

    policies = []
    diffs = []
    for written in outcome["files"]:
        path = written["path"]
        attributes_diff = {"before": {}, "after": {}}
        changed = written["changed"]
        if not (module.check_mode and written["created"]):
            changed = _apply_attributes(module, path, changed, attributes_diff)
        entry = dict(domain=written["domain"], path=path, policy=written["after"], changed=changed, created=written["created"])
        entry.update(published(written["after"]))
        if written["backup_file"]:
            entry["backup_file"] = written["backup_file"]
        policies.append(entry)
        if written["changed"]:
            diffs.append(_file_diff(path, written["before"], written["after"]))
        if attributes_diff["before"] or attributes_diff["after"]:
            attributes_diff["before_header"] = attributes_diff["after_header"] = path
            diffs.append(attributes_diff)
    removed = [item["path"] for item in outcome["removed"]]
    diffs.extend(_file_diff(item["path"], item["before"], "") for item in outcome["removed"])

    result = dict(
        changed=bool(removed) or any(entry["changed"] for entry in policies),
        directory=directory,
        policies=policies,
        removed=removed,
    )
    if module._diff:
        result["diff"] = diffs
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path"),
            directory=dict(type="path"),
            policies=dict(type="list", elements="dict"),
            prune=dict(type="bool", default=False),
            mode=dict(type="str"),
            mx=dict(type="list", elements="str"),
            max_age=dict(type="int"),
            policy=dict(type="str"),
            domain=dict(type="raw"),
            mail_host=dict(type="str"),
            domain_defaults=dict(type="dict"),
            backup=dict(type="bool", default=False),
            owner=dict(type="str"),
            group=dict(type="str"),
            file_mode=dict(type="raw"),
        ),
        mutually_exclusive=[
            ("path", "directory"),
            ("mode", "policy", "domain", "policies"),
            ("path", "policies"),
            ("directory", "mx"),
            ("directory", "max_age"),
            ("directory", "mail_host"),
            ("directory", "domain_defaults"),
        ],
        required_one_of=[("path", "directory"), ("mode", "policy", "domain", "policies")],
        required_together=[("directory", "policies")],
        required_if=[("prune", True, ("directory",))],
        supports_check_mode=True,
    )
    if module.params["directory"] is not None:
        module.exit_json(**_write_directory(module))
    module.exit_json(**_write_one(module))


if __name__ == "__main__":
    main()

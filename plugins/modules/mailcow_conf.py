#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mailcow_conf
short_description: Add or remove host names in the comma-separated lists of mailcow.conf
version_added: 0.1.0
description:
  - Makes sure host names such as C(mta-sts.*) are listed in (or absent from) C(ADDITIONAL_SAN) and
    C(ADDITIONAL_SERVER_NAMES) of a mailcow-dockerized C(mailcow.conf), so that mailcow's ACME client
    requests certificates for them and its nginx answers for them.
  - The lists are treated as sets. O(state=present) appends the names a list lacks, compared without regard
    to case, after the entries already there; the user's entries, their order and the white space around
    them stay as they are. O(state=absent) removes the given names and nothing else.
  - Every other byte of the file is kept, including comments, blank lines, unknown keys, the quote style of
    the value (V(KEY=a), V(KEY="a"), V(KEY='a')), C(export), inline comments, CRLF line endings and a missing
    final newline.
  - The forms bash accepts are understood, so the existing assignment is edited rather than a second one
    appended, namely C(export KEY=), C(declare -x KEY=), a byte order mark before the first key, and C(KEY+=more)
    after C(KEY=), which bash appends to the value (names are then looked up in, and added at the end of,
    the value bash sees).
  - A key that is not in the file is appended at its end as a marker comment
    (C(# ADDITIONAL_SAN added by mailsec.posture.mailcow_conf)) and a C(KEY=names) line, in the file's
    line ending style. O(state=absent) removes those two lines again once no name is left in them, so
    O(state=absent) after O(state=present) gives back the original file byte for byte.
  - The file is written atomically (a temporary file in the same directory renamed over it) with its mode,
    owner and group kept, and only when its content changes. Temporary copies a killed earlier run left
    beside it (C(.mailcow.conf.mailsec-*.tmp), older than five minutes, owned by the user running the task)
    are removed, with a warning. A symbolic link, such as mailcow's C(.env), is
    followed and stays a link.
  - Restarting mailcow so that it reads the change (C(docker compose up -d)) is left to the caller, for
    example in a handler notified by this task.
author:
  - mailsec.posture contributors (@mailsec)
requirements:
  - Python 3.8 or later on the target.
extends_documentation_fragment:
  - ansible.builtin.files
options:
  path:
    description:
      - Path of C(mailcow.conf), usually C(/opt/mailcow-dockerized/mailcow.conf).
      - The file must exist; the module never creates it.
    type: path
    required: true
  names:
    description:
      - Host names to add or remove, as mailcow takes them in these lists.
      - V(mta-sts.*) means C(mta-sts.<domain>) for every mail domain in mailcow; explicit names such as
        V(mta-sts.example.com) and wildcards such as V(*.example.com) work too.
      - ASCII only (write internationalized names as A-labels, C(xn--...)); no commas, blanks or quotes.
      - Names that differ only in case count as one; the first spelling is used.
    type: list
    elements: str
    required: true
  keys:
    description:
      - The keys of C(mailcow.conf) whose lists are edited.
    type: list
    elements: str
    default: [ADDITIONAL_SAN, ADDITIONAL_SERVER_NAMES]
  state:
    description:
      - V(present) adds the names missing from each list; V(absent) removes them.
      - V(absent) removes a name whoever added it, since the file does not record that. Give it only names
        you manage. If a name was already listed before V(present) ran, V(present) changes nothing and a
        later V(absent) removes the user's entry.
    type: str
    choices: [present, absent]
    default: present
  backup:
    description:
      - Keep a copy of the file as it was, next to it, named C(<path>.<pid>.<date>@<time>~), when the
        module changes its content.
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check mode and return the changed status it predicts without modifying the file.
    support: full
  diff_mode:
    description:
      - Returns the file before and after the change when run in diff mode.
      - Secrets are shown as C(********) there, also in commented-out lines, unless their keys are among O(keys).
        A value is a secret by its key's name (PASS but not C(MAILCOW_PASS_SCHEME), PW, SECRET, TOKEN, KEY,
        CREDENTIAL, PRIVATE, WEBHOOK, AUTH, SIGNATURE, SALT, COOKIE, SESSION, DSN, HASH, DBROOT, or an ending
        C(_AK), C(_AS), C(_CK), C(_SK), C(_PK) as in acme.sh's DNS-API variables such as C(OVH_AS)), or by its
        shape (a URL with a user part, path or query, such as a webhook; a token of 16 or more letters and digits
        mixed; a JWT-like triple; a value spanning lines).
    support: full
  idempotent:
    description: A second run with the same options reports no change and does not touch the file.
    support: full
notes:
  - The module fails, naming the file, the key and the line numbers, and writes nothing when the file is missing,
    a key is set more than once, a key's value spans several lines or mixes quotes in a way that cannot be edited
    safely, a quoted value is never closed, or the file cannot be written.
  - O(unsafe_writes) is not used; the file is always replaced atomically.
seealso:
  - name: mailcow configuration
    description: The mailcow documentation on ADDITIONAL_SAN and ADDITIONAL_SERVER_NAMES.
    link: https://docs.mailcow.email/
"""

EXAMPLES = r"""
- name: Serve and certify mta-sts.<domain> for every mail domain of mailcow
  mailsec.posture.mailcow_conf:
    path: /opt/mailcow-dockerized/mailcow.conf
    names:
      - mta-sts.*
    backup: true
  notify: Recreate mailcow containers

- name: Add explicit names to ADDITIONAL_SAN only
  mailsec.posture.mailcow_conf:
    path: /opt/mailcow-dockerized/mailcow.conf
    names:
      - mta-sts.example.com
      - mta-sts.example.org
    keys:
      - ADDITIONAL_SAN

- name: Take our names out again
  mailsec.posture.mailcow_conf:
    path: /opt/mailcow-dockerized/mailcow.conf
    names:
      - mta-sts.*
    state: absent

- name: Keep mailcow.conf readable by root only, as mailcow's update.sh does
  mailsec.posture.mailcow_conf:
    path: /opt/mailcow-dockerized/mailcow.conf
    names:
      - mta-sts.*
    mode: "0600"
    owner: root
    group: root
"""

RETURN = r"""
changes:
  description:
    - For every key in O(keys), what changed in its list.
  returned: success
  type: dict
  contains:
    added:
      description: The names added to the list, in the order they were appended.
      type: list
      elements: str
    removed:
      description: The entries removed from the list, as they were written in the file.
      type: list
      elements: str
    line_added:
      description: Whether the key was missing and its lines were appended to the file.
      type: bool
    line_removed:
      description: Whether the lines this module had appended for the key were removed.
      type: bool
  sample:
    ADDITIONAL_SAN:
      added: [mta-sts.*]
      removed: []
      line_added: false
      line_removed: false
    ADDITIONAL_SERVER_NAMES:
      added: [mta-sts.*]
      removed: []
      line_added: true
      line_removed: false
backup_file:
  description: Path of the copy of the previous content.
  returned: when O(backup=true) and the content changed (not in check mode)
  type: str
  sample: /opt/mailcow-dockerized/mailcow.conf.2841.2026-03-01@12:00:00~
path:
  description: The path that was edited, as given.
  returned: success
  type: str
  sample: /opt/mailcow-dockerized/mailcow.conf
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError
from ansible_collections.mailsec.posture.plugins.module_utils.mailcow import DEFAULT_KEYS, update_file


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            names=dict(type="list", elements="str", required=True),
            keys=dict(type="list", elements="str", default=list(DEFAULT_KEYS), no_log=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            backup=dict(type="bool", default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    params = module.params
    try:
        outcome = update_file(
            params["path"], params["names"], params["keys"], params["state"], backup=params["backup"], check_mode=module.check_mode
        )
    except MailsecError as exc:
        module.fail_json(msg=str(exc), path=params["path"])

    for stale in outcome["stale_removed"]:
        module.warn("removed %s, a temporary copy an interrupted earlier write had left" % stale)
    # mode/owner/group asked for are applied to the file itself (a link's target), after the content.
    file_args = module.load_file_common_arguments(params, path=os.path.realpath(params["path"]))
    attributes_diff = {"before": {}, "after": {}}
    changed = module.set_fs_attributes_if_different(file_args, outcome["changed"], diff=attributes_diff)

    result = dict(changed=changed, changes=outcome["changes"], path=params["path"])
    if module._diff:
        result["diff"] = [
            {
                "before": outcome["before"],
                "after": outcome["after"],
                "before_header": "%s (before)" % params["path"],
                "after_header": "%s (after)" % params["path"],
            }
        ]
        if attributes_diff["before"] or attributes_diff["after"]:
            result["diff"].append(attributes_diff)
    if outcome["backup_file"]:
        result["backup_file"] = outcome["backup_file"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()

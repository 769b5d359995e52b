#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: compose_service
short_description: Add, replace or remove one service in a compose file that others edit too
version_added: 0.1.0
description:
  - Makes sure a compose file, typically mailcow's C(docker-compose.override.yml), defines the service O(service)
    as O(definition) (O(state=present)) or not at all (O(state=absent)), and leaves everything else in the file as
    it is, byte for byte, comments included.
  - The service is written as one block between the comment lines C(# BEGIN <marker>) and C(# END <marker>),
    at the end of the top-level C(services:) mapping; a file without C(services:) gets one inside the block, and
    a missing file is created (mode C(0644)) with just that. O(state=absent) deletes the block and nothing else,
    so it gives back the file as it was before O(state=present).
  - Every edit is checked by loading the old and the new text as YAML; the module refuses, and writes nothing,
    when the new file would mean anything but the old one with this service changed. It also refuses a file that
    already defines O(service) outside its block, and a C(services:) written in flow style.
  - An obsolete top-level C(version:) key is kept, with a warning.
  - Bringing the service up (C(docker compose up -d)) is left to the caller, for example in a handler.
author:
  - mailsec.posture contributors (@mailsec)
requirements:
  - PyYAML on the target (Debian C(python3-yaml)).
options:
  path:
    description:
      - The compose file, for mailcow C(<mailcow dir>/docker-compose.override.yml). Its directory must exist.
    type: path
    required: true
  service:
    description:
      - The name of the service.
    type: str
    required: true
  definition:
    description:
      - The service's definition as the Compose Specification describes it (C(image), C(build), C(volumes),
        C(networks), ...). Required with O(state=present).
    type: dict
  state:
    description:
      - V(present) writes the service; V(absent) removes the block this module wrote.
      - V(absent) never removes a service of that name that the module did not write.
    type: str
    choices: [present, absent]
    default: present
  marker:
    description:
      - The text after C(# BEGIN) and C(# END) on the lines around the block. Give each caller its own.
    type: str
    default: mailsec.posture.compose_service
  validate:
    description:
      - A command run on the new content before it replaces the file, with C(%s) standing for a temporary copy in
        the same directory (so relative paths resolve as in the real file), for example
        V(docker compose -f docker-compose.yml -f %s config --quiet). A non-zero exit fails the task and keeps the
        file as it was. Not run in check mode.
    type: str
  backup:
    description:
      - Keep a copy of the file as it was, next to it, when the module changes it.
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check mode and return the changed status it predicts without modifying the file.
    support: full
  diff_mode:
    description: Returns the file before and after the change when run in diff mode.
    support: full
  idempotent:
    description: A second run with the same options reports no change and does not touch the file.
    support: full
notes:
  - The file is written atomically (a temporary file renamed over it) with its mode, owner and group kept.
seealso:
  - name: Compose Specification
    description: Merging compose files, services and networks.
    link: https://docs.docker.com/reference/compose-file/
"""

EXAMPLES = r"""
- name: Run the MTA-STS resolver next to mailcow
  mailsec.posture.compose_service:
    path: /opt/mailcow-dockerized/docker-compose.override.yml
    service: mta-sts-resolver-mailcow
    marker: mailsec.posture.mailcow_mta_sts_resolver
    definition:
      image: example/postfix-mta-sts-resolver:1.5.1
      restart: always
      networks:
        mailcow-network:
          aliases: [mta-sts-resolver]
    validate: docker compose -f docker-compose.yml -f %s config --quiet
  notify: Bring up the resolver

- name: Remove it again
  mailsec.posture.compose_service:
    path: /opt/mailcow-dockerized/docker-compose.override.yml
    service: mta-sts-resolver-mailcow
    marker: mailsec.posture.mailcow_mta_sts_resolver
    state: absent
"""

RETURN = r"""
path:
  description: The compose file, as given.
  returned: success
  type: str
  sample: /opt/mailcow-dockerized/docker-compose.override.yml
service:
  description: The service's name.
  returned: success
  type: str
  sample: mta-sts-resolver-mailcow
created:
  description: Whether the file did not exist and was (or, in check mode, would be) created.
  returned: success
  type: bool
  sample: false
backup_file:
  description: Path of the copy of the previous content.
  returned: when O(backup=true) and the content changed (not in check mode)
  type: str
  sample: /opt/mailcow-dockerized/docker-compose.override.yml.2841.2026-03-01@12:00:00~
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.posture.plugins.module_utils import compose_override, files
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError


def _validate(module, command, directory, text):
    """Run ``command`` on a temporary copy of ``text`` beside the target; fail the task when it refuses it."""
    if "%s" not in command:
        module.fail_json(msg="validate must contain %%s for the file to check, got %r" % command)
    fd, temp = tempfile.mkstemp(prefix=".compose-validate.", suffix=".yml", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
        rc, out, err = module.run_command(command % temp, cwd=directory)
    finally:
        os.unlink(temp)
    if rc != 0:
        module.fail_json(msg="validate refused the new compose file (exit %d): %s" % (rc, (err or out).strip()), rc=rc, stdout=out, stderr=err)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            service=dict(type="str", required=True),
            definition=dict(type="dict"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            marker=dict(type="str", default="mailsec.posture.compose_service"),
            validate=dict(type="str"),
            backup=dict(type="bool", default=False),
        ),
        required_if=[("state", "present", ["definition"])],
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    if not compose_override.HAS_YAML:
        module.fail_json(msg="%s: editing a compose file needs the Python library PyYAML (python3-yaml) on the host" % path)
    try:
        try:
            original = files.read_bytes(path).decode("utf-8")
            exists = True
        except files.FileMissingError:
            original, exists = "", False
        except UnicodeDecodeError:
            raise MailsecError("%s is not UTF-8 text" % path) from None
        try:
            updated, warnings = compose_override.ensure_service(original, params["service"], params["definition"], params["state"], params["marker"])
        except compose_override.ComposeError as exc:
            raise MailsecError("%s: %s" % (path, exc)) from None
        changed = updated != original
        backup_file = None
        if changed and not module.check_mode:
            if params["validate"]:
                _validate(module, params["validate"], os.path.dirname(os.path.realpath(path)), updated)
            backup_file = files.write_atomic(path, updated.encode("utf-8"), mode=files.DEFAULT_MODE, backup=params["backup"])
    except MailsecError as exc:
        module.fail_json(msg=str(exc), path=path)
    for warning in warnings:
        module.warn("%s: %s" % (path, warning))
    result = dict(changed=changed, path=path, service=params["service"], created=changed and not exists)
    if backup_file:
        result["backup_file"] = backup_file
    if module._diff:
        result["diff"] = {"before": original, "after": updated, "before_header": "%s (before)" % path, "after_header": "%s (after)" % path}
    module.exit_json(**result)


if __name__ == "__main__":
    main()

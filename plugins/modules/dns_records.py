#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_records
short_description: Publish mail DNS records with RFC 2136 dynamic updates signed with TSIG
version_added: 0.1.0
description:
  - Makes a zone's primary server hold exactly the given records (O(state=present)) or none of them
    (O(state=absent)), with RFC 2136 UPDATE messages signed with a TSIG key (RFC 8945).
  - Takes the list the P(mailsec.posture.mail_records#lookup) lookup returns, so every record of every mail domain
    is published in one task.
  - Reads the current RRset of every managed (name, type) pair from the primary with queries over TCP
    (no zone transfer is needed), then sends only the difference. A second run changes nothing.
  - Only the (name, type) pairs in O(records) are touched, and each such RRset is replaced exactly,
    values and TTL. Other types at the same names and other names in the zone stay as they are.
  - Prerequisites (RFC 2136 2.4) make the server check that each RRset still holds what was read; if
    someone else changed it meanwhile, the update fails with a message that names the record, instead
    of overwriting their change.
  - Changes are packed into as few UPDATE messages as the 65535-octet DNS message limit allows (one zone
    per message, an RRset never split); hundreds of domains with 4096-bit DKIM keys need a few messages.
  - TXT values longer than 255 octets are split into character-strings when they are sent. A TXT value
    counts as unchanged when the server holds the same text split differently.
  - Every zone is checked, read and planned before the first UPDATE is sent, so a wrong key, a zone the
    server does not serve or a CNAME in the way stops the task before anything changes.
author:
  - mailsec.posture contributors (@mailsec)
requirements:
  - dnspython 2.0 or later on the host that runs the module (usually the controller, with C(delegate_to)).
options:
  records:
    description:
      - The records, each a mapping with C(name) (owner name), C(type), C(value) (presentation form; TXT
        unsplit and unquoted) and optionally C(ttl) (default 3600), C(zone), C(domain) and C(standard), as
        the P(mailsec.posture.mail_records#lookup) lookup returns them. Other keys are ignored.
      - Values of one RRset share the lowest TTL given for them (RFC 2181 5.2).
      - Names in values (MX, CNAME targets) are absolute whether or not they end with a dot.
      - SOA and DNSSEC records (RRSIG, NSEC, NSEC3, NSEC3PARAM) are the server's own and are refused.
    type: list
    elements: dict
    required: true
  zone:
    description:
      - The zone to update for all records. When omitted, each record's own C(zone) is used, and records of
        several zones are published together (one or more messages per zone).
      - A record whose name is not inside its zone is an error.
    type: str
  server:
    description:
      - Address or host name of the zone's primary server, which accepts the updates.
    type: str
    required: true
  port:
    description:
      - TCP port of the server. Queries and updates both use TCP.
    type: int
    default: 53
  key_name:
    description:
      - Name of the TSIG key the server accepts updates with (BIND C(key "name" { ... })).
    type: str
    required: true
  key_algorithm:
    description:
      - Algorithm of the TSIG key.
    type: str
    default: hmac-sha256
    choices: [hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224, hmac-sha1, hmac-md5]
  key_secret:
    description:
      - The base64 secret of the TSIG key, as in the key file C(tsig-keygen) writes.
    type: str
    required: true
  state:
    description:
      - V(present) makes each managed RRset hold exactly the listed values.
      - V(absent) removes each managed RRset (the whole RRset, also values not listed). To remove one
        domain's records, pass that domain's records only, for example
        C(records | selectattr('domain', 'equalto', 'old.example')).
    type: str
    choices: [present, absent]
    default: present
  keep_other_txt:
    description:
      - At managed TXT names, keep values that are not mail policy records (anything not starting with
        C(v=spf1), C(v=DMARC1), C(v=DKIM1), C(v=STSv1) or C(v=TLSRPTv1)), such as site verification tokens
        at the zone apex, beside the listed values. With V(false) such a TXT RRset holds only the listed values,
        and every other value at that name is deleted (choose it only to replace the whole RRset on purpose).
      - With O(state=absent), only the mail policy values of those RRsets are removed.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for the connection, and for all the answers to each batch of messages sent (answers
        to other message IDs do not extend the wait).
    type: float
    default: 10
attributes:
  check_mode:
    description:
      - Reads the server and reports the changes it would make, without sending any UPDATE.
    support: full
  diff_mode:
    description:
      - Returns, per zone, the changed RRsets before and after as zone-file lines.
    support: full
  idempotent:
    description: A second run with the same records reports no change and sends no UPDATE.
    support: full
notes:
  - The server must allow the key to update the zone (BIND C(allow-update { key "name"; };) or an
    C(update-policy)). Queries must be allowed from the host that runs the module.
  - BIND refuses an update that adds an MX or NS whose target inside the zone has no A/AAAA record
    (C(check-integrity)); the answer is only REFUSED and the reason is in the server's log.
  - A run that needs several messages for one zone applies them in order; if one is refused, the earlier
    ones stay applied and the message says so. Running again finishes the job.
  - A failure after some UPDATEs were applied reports C(changed=true) with the changes applied (RV(applied))
    and the zones changed (RV(zones_changed)), so handlers and the recap are right. An UPDATE that timed
    out may still have been applied by the server (RV(uncertain)); a run after it reads the zones afresh
    and converges.
  - An RRset whose values already match and whose TTL differs (someone changed the TTL on the server)
    is set to the listed TTL; the change's C(detail) and a warning say so.
seealso:
  - name: RFC 2136
    description: Dynamic Updates in the Domain Name System (DNS UPDATE).
    link: https://www.rfc-editor.org/rfc/rfc2136
  - name: RFC 8945
    description: Secret Key Transaction Authentication for DNS (TSIG).
    link: https://www.rfc-editor.org/rfc/rfc8945
  - plugin: mailsec.posture.mail_records
    plugin_type: lookup
  - module: mailsec.posture.dkim_key
  - module: mailsec.posture.tlsa_record
"""

EXAMPLES = r"""
- name: Publish every mail record of the inventory's domains
  mailsec.posture.dns_records:
    records: "{{ query('mailsec.posture.mail_records') }}"
    server: 192.0.2.53
    key_name: mail-update
    key_secret: "{{ vault_tsig_secret }}"
  delegate_to: localhost
  run_once: true

- name: Remove the records of a domain that left the inventory
  mailsec.posture.dns_records:
    records: "{{ query('mailsec.posture.mail_records', domains=[{'name': 'old.example'}]) | selectattr('domain', 'equalto', 'old.example') }}"
    server: ns1.example.net
    port: 5353
    key_name: mail-update
    key_algorithm: hmac-sha512
    key_secret: "{{ vault_tsig_secret }}"
    state: absent

- name: Publish SPF at an apex and replace every other TXT value there (site verification tokens too)
  mailsec.posture.dns_records:
    records:
      - name: example.com.
        type: TXT
        value: v=spf1 mx -all
        ttl: 3600
    zone: example.com
    server: 192.0.2.53
    key_name: mail-update
    key_secret: "{{ vault_tsig_secret }}"
    keep_other_txt: false
"""

RETURN = r"""
changes:
  description:
    - Every RRset that was (or in check mode would be) added, changed or removed.
  returned: success
  type: list
  elements: dict
  contains:
    zone:
      description: The zone of the RRset.
      type: str
    name:
      description: Owner name, fully qualified with a trailing dot.
      type: str
    type:
      description: Record type.
      type: str
    action:
      description: V(add) (the RRset did not exist), V(change) or V(remove).
      type: str
    before:
      description: The RRset on the server before (C(ttl), C(values); TXT values joined), or null.
      type: dict
    after:
      description: The RRset after the update (C(ttl), C(values)), or null when removed.
      type: dict
    domains:
      description: The C(domain) of the records behind the RRset.
      type: list
      elements: str
    detail:
      description: What is worth knowing about the change, such as only its TTL differing; null otherwise.
      type: str
  sample:
    - zone: example.com
      name: _dmarc.example.com.
      type: TXT
      action: change
      before: {ttl: 3600, values: ["v=DMARC1; p=none"]}
      after: {ttl: 3600, values: ["v=DMARC1; p=reject; rua=mailto:dmarc@example.com"]}
      domains: [example.com]
      detail: null
applied:
  description:
    - When the task fails after UPDATEs were applied, the changes the server confirmed (shaped as RV(changes)).
  returned: failure after a partial update
  type: list
  elements: dict
uncertain:
  description:
    - When the task fails because an UPDATE was sent but not answered, its changes, which the server may have applied.
  returned: failure after a partial update
  type: list
  elements: dict
zones_changed:
  description: When the task fails after UPDATEs were applied, the zones they changed (or may have changed).
  returned: failure after a partial update
  type: list
  elements: str
  sample: [example.com]
messages:
  description: The number of UPDATE messages sent; in check mode, the number that would be sent.
  returned: success
  type: int
  sample: 3
zones:
  description: Per zone, the number of RRsets added, changed, removed and unchanged, and of UPDATE messages.
  returned: success
  type: dict
  sample:
    example.com: {added: 5, changed: 1, removed: 0, unchanged: 2, messages: 1}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mailsec.posture.plugins.module_utils import dns_update
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            records=dict(type="list", elements="dict", required=True),
            zone=dict(type="str"),
            server=dict(type="str", required=True),
            port=dict(type="int", default=dns_update.DEFAULT_PORT),
            key_name=dict(type="str", required=True, no_log=False),
            key_algorithm=dict(
                type="str", default="hmac-sha256", choices=["hmac-sha256", "hmac-sha512", "hmac-sha384", "hmac-sha224", "hmac-sha1", "hmac-md5"]
            ),
            key_secret=dict(type="str", required=True, no_log=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            keep_other_txt=dict(type="bool", default=True),
            timeout=dict(type="float", default=dns_update.DEFAULT_TIMEOUT),
        ),
        supports_check_mode=True,
    )
    if not dns_update.HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"))
    params = module.params
    if not 1 <= params["port"] <= 65535:
        module.fail_json(msg="port must be from 1 to 65535, got %d" % params["port"])
    if params["timeout"] <= 0:
        module.fail_json(msg="timeout must be more than 0 seconds")
    try:
        key = dns_update.tsig_key(params["key_name"], params["key_secret"], params["key_algorithm"])
        outcome = dns_update.publish(
            params["records"],
            params["server"],
            key,
            port=params["port"],
            state=params["state"],
            zone=params["zone"],
            timeout=params["timeout"],
            check_mode=module.check_mode,
            keep_other_txt=params["keep_other_txt"],
        )
    except dns_update.DnsUpdateError as exc:
        if exc.changed:
            module.fail_json(msg=str(exc), changed=True, applied=exc.applied, uncertain=exc.uncertain, zones_changed=exc.zones_changed)
        module.fail_json(msg=str(exc))
    except MailsecError as exc:
        module.fail_json(msg=str(exc))

    for change in outcome["changes"]:
        if change["detail"]:
            module.warn("%s %s: %s" % (change["name"], change["type"], change["detail"]))
    result = dict(changed=outcome["changed"], changes=outcome["changes"], messages=outcome["messages"], zones=outcome["zones"])
    if module._diff:
        result["diff"] = outcome["diff"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()

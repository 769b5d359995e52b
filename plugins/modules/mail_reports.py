#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mail_reports
author:
  - mailsec.posture contributors (@mailsec)
version_added: 0.2.0
short_description: Read DMARC aggregate and TLS-RPT reports, summarise them, and decide staged policy promotions
description:
  - Reads DMARC aggregate reports (RFC 7489 appendix C XML, plain, gzip or zip) and SMTP TLS reports (RFC 8460 JSON,
    plain or gzip) from mail attachments in an IMAP mailbox (over TLS), a Maildir, or a directory of files and saved mails.
  - The XML is parsed with defusedxml and any DTD is refused (no entity expansion, no external entities); every size
    (a mail, an attachment, what it decompresses to) and count (attachments, archive members, records, messages) is bounded.
    A report that cannot be read is skipped with a warning naming it; a report seen twice (same organisation and report id)
    counts once.
  - Summarises per inventory domain and day (RV(digest)) messages by source address (yours or not, by the MX hosts' addresses
    and the SPF C(ip4)/C(ip6) networks of the inventory), aligned DKIM and SPF results, dispositions and policy overrides;
    TLS sessions and failures by policy type, result type and reporting organisation.
  - For each domain whose C(dmarc) or C(mta_sts) has C(staging) on, decides the stage to publish (RV(stages)) from the
    stage published now (the live C(_dmarc) record, through O(nameservers); the mode in O(mta_sts_result) or, when the
    policy could not be fetched, the one stage whose policy has the live C(_mta-sts) TXT record's id) and the reports
    made under it, and explains the decision (what it saw, what is missing). It never promotes on missing evidence and
    never demotes. The same reports give the same decision. A staging given in O(domain_defaults) counts as the domain's.
  - Read-only. It changes neither the mailbox (IMAP EXAMINE and BODY.PEEK unless O(sources[].read_only=false)) nor anything
    else; C(changed) is always false. The site playbook publishes the decided stages through the dns role.
options:
  sources:
    description:
      - Where the reports are. Every source is read; the reports of all of them are counted together.
      - "Without sources nothing is read and nothing is promoted; each staging holds at its live stage
        (C(no report sources configured: holding at <live>)), the first stage only when nothing is published yet."
    type: list
    elements: dict
    default: []
    suboptions:
      type:
        description: C(imap) (IMAP over TLS, port 993), C(maildir) (its C(new) and C(cur)) or C(directory) (report files and C(.eml) mails).
        type: str
        required: true
        choices: [imap, maildir, directory]
      path:
        description: The Maildir or directory. Required for those types.
        type: path
      host:
        description: The IMAP server's name (its certificate must be valid for it). Required for C(imap).
        type: str
      port:
        description: The IMAPS port.
        type: int
        default: 993
      user:
        description: The IMAP user. Required for C(imap).
        type: str
      password:
        description: The IMAP password. Required for C(imap).
        type: str
      mailbox:
        description: The IMAP mailbox (folder) the reports arrive in.
        type: str
        default: INBOX
      ca_path:
        description: A PEM CA bundle to verify the IMAP server with instead of the system store (verification is never off).
        type: path
      read_only:
        description: Open the mailbox with EXAMINE (C(true)) rather than SELECT. Mails are fetched without setting any flag either way.
        type: bool
        default: true
  mailsec_domains:
    description:
      - The C(mailsec_domains) inventory model. Its domains are summarised; its C(dmarc.staging) and C(mta_sts.staging)
        ask for the staged rollout (see the README's section on reports).
    type: list
    elements: raw
    required: true
  mail_host:
    description: The C(mailsec_mail_host) of the model (the default MX of its domains).
    type: str
  domain_defaults:
    description: The C(mailsec_domain_defaults) of the model.
    type: dict
    default: {}
  days:
    description: The period the digest covers, in days up to now (a staging's own C(days) lengthens it when longer).
    type: int
    default: 30
  max_items:
    description: At most this many mails or files are read from each source, the newest first.
    type: int
    default: 5000
  nameservers:
    description:
      - Nameservers for the live DMARC records and the MX hosts' addresses, as C(address) or C(address:port).
        Default the system's.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds a DNS lookup or an IMAP exchange may take.
    type: float
    default: 30
  ptr:
    description:
      - Look up the PTR name of every source listed in the digest (through O(nameservers)); it shows next to the address.
    type: bool
    default: false
  mta_sts_result:
    description:
      - The registered result of M(mailsec.posture.verify_mta_sts) for the domains, which holds the mode of their live policy.
        Without it, an MTA-STS staging holds (the stage published now is unknown).
    type: dict
  smtp_tls_result:
    description:
      - The registered result of M(mailsec.posture.verify_smtp_tls) for the domains. MTA-STS goes to C(enforce) only
        when the domain passes it now. Without it, an MTA-STS staging holds.
    type: dict
attributes:
  check_mode:
    support: full
    description: Reads only; check mode gives the same result.
  diff_mode:
    support: none
    description: It changes nothing, so there is nothing to show.
  idempotent:
    support: full
    description: The same reports give the same digest and the same decisions.
requirements:
  - defusedxml
  - dnspython
notes:
  - Reports name the C(policy_published) they were made under; a DMARC step counts only reports made under the policy
    published now, so each stage is observed for C(days) before the next.
seealso:
  - module: mailsec.posture.verify_smtp_tls
  - module: mailsec.posture.verify_mta_sts
  - name: RFC 7489 appendix C (DMARC aggregate report format)
    description: The XML schema of aggregate reports.
    link: https://www.rfc-editor.org/rfc/rfc7489#appendix-C
  - name: RFC 8460 (SMTP TLS Reporting)
    description: The JSON report format.
    link: https://www.rfc-editor.org/rfc/rfc8460
"""

EXAMPLES = r"""
- name: Read the reports from the rua mailbox on the mail host
  mailsec.posture.mail_reports:
    sources:
      - type: imap
        host: mail.example.com
        user: dmarc@example.com
        password: "{{ vault_dmarc_password }}"
    mailsec_domains: "{{ mailsec_domains }}"
    mail_host: "{{ mailsec_mail_host }}"
  register: reports

- name: Show what the reports say
  ansible.builtin.debug:
    msg: "{{ reports.summary_line }}"

- name: Without report sources, read the live stages and hold each staged domain there
  mailsec.posture.mail_reports:
    mailsec_domains: "{{ mailsec_domains }}"
    domain_defaults: "{{ mailsec_domain_defaults | default({}) }}"
  register: reports

- name: Read saved reports from a directory and a Maildir, over the last 14 days
  mailsec.posture.mail_reports:
    sources:
      - type: directory
        path: /srv/reports/incoming
      - type: maildir
        path: /var/vmail/example.com/tls-reports/Maildir
    mailsec_domains: "{{ mailsec_domains }}"
    days: 14
"""

RETURN = r"""
digest:
  description: The reports of the period summarised per domain of the inventory.
  returned: always
  type: dict
  contains:
    period:
      description: C(begin) and C(end) (Unix seconds) and C(days).
      type: dict
      sample: {begin: 1793600000, end: 1796192000, days: 30}
    domains:
      description:
        - One entry per inventory domain, with C(domain), C(own_sources), C(published) (the live C(dmarc) policy),
          C(dmarc) (C(reports), C(organisations), C(messages), C(passed), C(failed), C(pass_rate), C(own_messages),
          C(sources) (per address C(source_ip), C(own), C(ptr) with O(ptr), C(org_names), C(messages), C(passed), C(failed), C(dkim_aligned),
          C(spf_aligned), C(dispositions)), C(dispositions), C(overrides), C(policies_seen), C(days)), C(tlsrpt) (C(reports),
          C(sessions), C(successful), C(failed), C(organisations), C(by_policy_type), C(by_result_type), C(days)) and
          C(decisions) (see RV(stages)).
      type: list
      elements: dict
      sample:
        - domain: example.com
          dmarc: {reports: 14, messages: 2810, passed: 2799, failed: 11, pass_rate: 99.6}
          decisions:
            - standard: dmarc
              action: promote
              current: none
              publish: quarantine
              explanation: "promote dmarc from none to quarantine: 14 aggregate report(s) ..."
              saw: ["14 aggregate report(s) under p=none from 2026-11-18 to 2026-12-01"]
              missing: []
              problems: []
    other_domains:
      description: Domains the reports are about that are not in the inventory.
      type: list
      elements: str
      sample: []
    warnings:
      description: One line per skipped item, naming it and saying why.
      type: list
      elements: str
      sample: ["skipped mail 3: refused: the XML declares a DTD or entities (DTDForbidden)"]
    stats:
      description: C(items) read, C(skipped), C(duplicates), C(reports) counted.
      type: dict
      sample: {items: 30, skipped: 1, duplicates: 2, reports: 27}
stages:
  description: For each staged domain, the stage to publish per standard (C(dmarc) policy, C(mta_sts) mode).
  returned: always
  type: dict
  sample: {example.com: {dmarc: quarantine, mta_sts: testing}}
staged_domains:
  description:
    - O(mailsec_domains) with each staging's C(published) set to the decided stage, for the playbook to publish
      (the record layer publishes C(staging.published), never above the goal).
  returned: always
  type: list
  elements: raw
  sample: [{name: example.com, dmarc: {policy: reject, staging: {enabled: true, published: quarantine}}}]
promotions:
  description: The promotions decided, as C(<domain> <standard> -> <stage>).
  returned: always
  type: list
  elements: str
  sample: ["example.com dmarc -> quarantine"]
summary_line:
  description: The run in one line.
  returned: always
  type: str
  sample: "27 report(s) read (1 skipped, 2 duplicate(s)) for 3 domain(s); promote: example.com dmarc -> quarantine"
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mailsec.posture.plugins.module_utils import dmarc_reports
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError
from ansible_collections.mailsec.posture.plugins.module_utils.mail_reports import ARGUMENT_SPEC, run


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if not dmarc_reports.HAS_DEFUSEDXML:
        module.fail_json(msg=missing_required_lib("defusedxml"))
    try:
        result = run(module.params)
    except MailsecError as exc:
        module.fail_json(msg=str(exc), changed=False)
    for line in result.pop("warnings_list"):
        module.warn(line)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

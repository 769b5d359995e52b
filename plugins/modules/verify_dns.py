#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: verify_dns
author: mailsec.posture contributors (@mailsec)
version_added: 0.1.0
short_description: Verify the mail DNS records of many domains in live DNS
description:
  - For every domain, looks up and checks what senders and receivers read from DNS, all domains concurrently in one call.
  - C(mx.records) MX records exist (with O(mailsec_domains), the inventory's MX hosts are among them). C(mx.null) a null
    MX (RFC 7505) stands alone with preference 0; the domain then needs no MTA-STS record. C(mx.target) every MX host is a
    name with addresses, not an alias (CNAME) nor an address literal.
  - C(dnssec.records) the domain's own records carry the AD bit of a validating resolver; a bogus chain (SERVFAIL, but
    data with the CD bit) fails, and so does an unvalidated one when DANE is on in O(mailsec_domains).
  - C(dnsbl.address) and C(dnsbl.domain) (only with O(dnsbl_zones), O(dnsbl_domain_zones)) the MX addresses and the domain
    are not on those DNS blocklists.
  - C(spf.record) exactly one SPF record; C(spf.syntax) it follows RFC 7208; C(spf.all) C(+all) fails, C(?all) and a missing
    C(all) warn, C(~all) warns under O(profile=strict); C(spf.lookups) at most 10 DNS-querying terms and C(spf.void_lookups) at
    most 2 lookups that find nothing for either sender address family, both counted live through every include and redirect (RFC 7208 4.6.4);
    C(spf.includes) every include and redirect target has one valid SPF record and there is no loop.
  - C(dkim.record) for each selector (from O(dkim_selectors) or the inventory) exactly one valid key record;
    C(dkim.key) not revoked, RSA of at least 2048 bits (1024 to 2047 warn, fewer fail) and, with the inventory, the
    inventory's key. Without any selector, C(dkim.selectors) warns that DKIM was not checked.
  - C(dmarc.record) exactly one valid DMARC record (a subdomain without one warns and uses its organizational domain's);
    C(dmarc.policy) the policy the inventory sets (without the inventory, C(p=none) warns under O(profile=strict));
    C(dmarc.external_reports) every C(rua)/C(ruf) destination outside the domain's organization publishes
    C(<domain>._report._dmarc.<destination>) (RFC 7489 7.1).
  - C(mta_sts.txt) exactly one valid C(v=STSv1) record at C(_mta-sts.<domain>), CNAMEs followed;
    C(mta_sts.policy_host) C(mta-sts.<domain>) has an address. C(tlsrpt.record) exactly one valid TLS-RPT record.
  - With O(expected) (or O(mailsec_domains), from which the records are computed), every expected record is compared with
    the live one. Each difference is its own check, with the record's name and type as its subject; C(records.missing)
    and C(records.different) fail, C(records.extra) (a record of the same standard nobody expects) warns, and
    C(records.expected) passes when all match.
  - Domains whose standard is off in the inventory get a passing C(spf.enabled), C(dkim.enabled), C(dmarc.enabled),
    C(mta_sts.enabled) or C(tlsrpt.enabled) check instead.
  - Every lookup goes to O(nameservers) and reports exactly what happened (NXDOMAIN, no records, SERVFAIL, REFUSED, timeout,
    no nameserver reachable), so a zone can be checked before it is public.
  - Read-only; C(changed) is always false. The collection's C(docs/checks.md) explains every check and how to fix it.
  - The task fails when a check at or above O(fail_on) fails, with a message naming the domain, the check and why.
extends_documentation_fragment:
  - mailsec.posture.verify
  - mailsec.posture.verify.fleet
  - mailsec.posture.verify.blocklists
options:
  mailsec_domains:
    description:
      - The C(mailsec_domains) inventory model (the same entries the C(mailsec.posture.mail_records) lookup reads).
      - Selects the DKIM selectors and the expected MX hosts, DKIM keys and DMARC policy of each domain, and the records to
        compare when O(expected) is not given.
    type: list
    elements: raw
  mail_host:
    description: The C(mailsec_mail_host) of the model (the default MX of its domains). Used with O(mailsec_domains).
    type: str
  expected:
    description:
      - The records the domains should publish, as the C(mailsec.posture.mail_records) lookup returns them.
      - A domain's share is its own records, the records at the names its CNAMEs point to and the TLSA records of its MX hosts.
      - TXT records of other standards at the same name (a site verification string next to SPF) are not extra records.
    type: list
    elements: dict
  dkim_selectors:
    description:
      - DKIM selectors to check at every domain of O(domains). With O(mailsec_domains) the inventory's selectors are used.
    type: list
    elements: str
    default: []
  profile:
    description:
      - C(standard) or C(strict). C(strict) also warns for C(~all) and for C(p=none) when the inventory does not set the policy.
    type: str
    choices: [standard, strict]
    default: standard
  nameservers:
    description:
      - Nameservers for every lookup, as C(address) or C(address:port) (C([v6address]:port) for IPv6).
      - Default the system's (C(/etc/resolv.conf)), still queried by the collection's own resolver.
    type: list
    elements: str
    default: []
  timeout:
    description:
      - Seconds one lookup may take in all (an attempt waits at most 2 s, then it is sent again or to the next nameserver).
    type: float
    default: 10
  overall_timeout:
    description:
      - Seconds the whole call may take; lookups still unanswered then count as timed out. Default three times O(timeout).
    type: float
  concurrency:
    description:
      - Bounds the lookups in flight at once to four times this number.
    type: int
    default: 32
  facts:
    description:
      - Also return, per domain, what was found live (RV(domains[].dns)). Off by default because for thousands of
        domains it makes the result noticeably slower for Ansible to carry; the checks' details say the same in words.
    type: bool
    default: false
notes:
  - The SPF lookup count is the worst case a receiver meets (a sender no term matches), evaluated live; terms whose targets
    use macros only a real sender fills in (C(%{i}), C(%{s}), ...) are counted but not followed.
  - Void lookups are counted per sender address family (RFC 7208 5.3) and the worse family decides; an C(a) term whose name
    has only AAAA records is void for IPv4 senders, one with only A records for IPv6 senders.
  - Inside an included or redirected record, C(%{d}) is that record's domain and C(%{o}) stays the domain checked (RFC 7208 7.3).
requirements:
  - cryptography (DKIM key sizes)
  - publicsuffixlist (organizational domains for DMARC report destinations)
seealso:
  - module: mailsec.posture.verify_mta_sts
  - module: mailsec.posture.verify_smtp_tls
  - name: RFC 7208 (SPF)
    description: Sender Policy Framework, with its DNS lookup limits in section 4.6.4.
    link: https://www.rfc-editor.org/rfc/rfc7208
  - name: RFC 7489 (DMARC)
    description: DMARC, with the authorization of external report destinations in section 7.1.
    link: https://www.rfc-editor.org/rfc/rfc7489
"""

EXAMPLES = r"""
- name: Check two domains and their DKIM selector through a given nameserver
  mailsec.posture.verify_dns:
    domains: [example.com, example.net]
    dkim_selectors: [dkim]
    nameservers: ["192.0.2.53:5353"]

- name: Check every domain of the inventory against the records the collection computes, report only
  mailsec.posture.verify_dns:
    mailsec_domains: "{{ mailsec_domains }}"
    mail_host: "{{ mailsec_mail_host }}"
    fail_on: never
  register: dns_state

- name: Count the SPF lookups of every domain
  mailsec.posture.verify_dns:
    domains: "{{ mailsec_domains | map(attribute='name') }}"
    facts: true
    fail_on: never
  register: dns_facts

- name: Show the domains near the SPF limit
  ansible.builtin.debug:
    msg: "{{ dns_facts.domains | selectattr('dns.spf.lookups', 'number') | selectattr('dns.spf.lookups', 'ge', 8) | map(attribute='domain') }}"

- name: Fail on warnings too, with the strict profile
  mailsec.posture.verify_dns:
    domains: "{{ mailsec_domains | map(attribute='name') }}"
    expected: "{{ query('mailsec.posture.mail_records') }}"
    profile: strict
    fail_on: warn
"""

RETURN = r"""
domains:
  description: One entry per domain, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    domain:
      description: The domain name (IDNA A-labels, lower case).
      type: str
      sample: example.com
    status:
      description: The worst status of its checks.
      type: str
      sample: fail
    checks:
      description: The checks, grouped by standard; each has C(name), C(status) (C(pass), C(warn), C(fail)), C(detail) (not
        for passing checks with O(passing_checks=brief), which O(passing_checks=omit) leaves out) and usually C(subject)
        (the name, selector or report destination it is about).
      type: list
      elements: dict
      sample:
        - name: spf.record
          status: pass
          detail: v=spf1 mx include:_spf.example.net -all
          subject: example.com
        - name: spf.lookups
          status: fail
          detail: "12 DNS lookups, more than 10: receivers stop with a permerror (RFC 7208 4.6.4): mx (1),
            include:_spf.example.net (11)"
          subject: example.com
        - name: dmarc.external_reports
          status: fail
          detail: "reports.example.org does not authorize reports about example.com: no v=DMARC1 record at
            example.com._report._dmarc.reports.example.org (NXDOMAIN), so receivers send it no reports (RFC 7489 7.1)"
          subject: reports.example.org
    dns:
      description: What was found live.
      returned: when O(facts=true)
      type: dict
      contains:
        mx:
          description: The MX records in presentation form.
          type: list
          elements: str
        spf:
          description: The SPF record, the live counts of DNS lookups and void lookups (C(void_lookups) for the worse
            address family, C(void_lookups_by_family) with C(ipv4) and C(ipv6)), the effective C(all) qualifier and the
            include and redirect targets followed.
          type: dict
        dkim:
          description: Per selector the key type, its size in bits and whether it is revoked (null when no record was found).
          type: dict
        dmarc:
          description: The DMARC record and its policy.
          type: dict
        mta_sts:
          description: The C(_mta-sts) record, its id and the addresses of C(mta-sts.<domain>).
          type: dict
        tlsrpt:
          description: The TLS-RPT record, or null.
          type: str
summary:
  description: Counts of domains and checks by status, and the overall status.
  returned: always
  type: dict
  sample:
    domains: 2
    domains_by_status: {pass: 1, warn: 0, fail: 1}
    checks_by_status: {pass: 25, warn: 1, fail: 2}
    status: fail
"""

from ansible_collections.mailsec.posture.plugins.module_utils.verify_dns import PROFILES, run
from ansible_collections.mailsec.posture.plugins.module_utils.verify_module import run_verify_module, verify_argument_spec


def main():
    run_verify_module(
        verify_argument_spec(
            fleet=True,
            without=("ca_path", "expiry_warn_days"),  # transport options: DNS lookups need no CA nor certificate expiry
            dkim_selectors={"type": "list", "elements": "str", "default": []},
            profile={"type": "str", "default": "standard", "choices": list(PROFILES)},
            overall_timeout={"type": "float"},
            facts={"type": "bool", "default": False},
            dnsbl_zones={"type": "list", "elements": "str", "default": []},
            dnsbl_domain_zones={"type": "list", "elements": "str", "default": []},
        ),
        run,
        supports_check_mode=True,  # read-only: check mode runs the same checks
    )


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: verify_mta_sts
author:
  - mailsec.posture contributors (@mailsec)
version_added: 0.1.0
short_description: Verify the live MTA-STS setup of many mail domains as senders see it
description:
  - For every domain, checks the C(_mta-sts) TXT record, fetches C(https://mta-sts.<domain>/.well-known/mta-sts.txt)
    by the rules of RFC 8461 section 3.3 and checks the policy it serves against the domain's live MX hosts and,
    when given, against the expected state.
  - The fetch sends SNI and verifies the certificate for C(mta-sts.<domain>) against the system CA store plus
    O(ca_path) (verification is never turned off); only HTTP status 200 is a policy; a redirect is reported and
    never followed; a Content-Type other than C(text/plain) warns; a body over 64 KiB fails; O(timeout) bounds
    each fetch as a whole, so a server that trickles its answer cannot hold the task.
  - Every name, C(mta-sts.<domain>) included, is resolved through O(nameservers), and the HTTPS connection goes to
    the address they return, so a zone can be checked before it is public.
  - Domains are checked concurrently (DNS for all of them at once, then O(concurrency) fetches at a time).
  - Read-only; C(changed) is always false. Each domain gets a list of checks with stable names
    (C(mta_sts.txt), C(mta_sts.policy_fetch), C(mta_sts.mx_coverage), ...); the collection's
    C(docs/checks-transport.md) explains each and how to fix it.
  - The task fails when a check at or above O(fail_on) fails, with a message naming the domain, the check and why.
extends_documentation_fragment:
  - mailsec.posture.verify
  - mailsec.posture.verify.fleet
options:
  mailsec_domains:
    description:
      - The C(mailsec_domains) inventory model (the same entries the C(mailsec.posture.mail_records) lookup reads).
      - The expected policy of each domain is computed from it, so the policy served is compared field by field
        (mode, max_age, mx patterns) and the TXT id with the id the collection derives. Domains whose
        C(mta_sts) is off get a single passing C(mta_sts.enabled) check.
    type: list
    elements: raw
  mail_host:
    description: The C(mailsec_mail_host) of the model (the default MX of its domains). Used with O(mailsec_domains).
    type: str
  expected:
    description:
      - The records the domains should publish, as the C(mailsec.posture.mail_records) lookup returns them.
      - Enables C(mta_sts.txt_expected) (the live id is the expected one) and C(mta_sts.policy_expected) (the policy
        served hashes to the expected id, which the collection derives from the policy's meaning).
      - With O(mailsec_domains) the records are computed from the model when this is not given.
    type: list
    elements: dict
  nameservers:
    description:
      - Nameservers to resolve every name through, as C(address) or C(address:port) (C([v6address]:port) for IPv6).
      - Default the system's (C(/etc/resolv.conf)), still queried by the collection's own resolver.
    type: list
    elements: str
    default: []
  port:
    description:
      - The HTTPS port of the policy hosts. Senders always use 443; other ports are for test setups.
    type: int
    default: 443
  timeout:
    description:
      - Seconds one policy fetch may take in all (connect, TLS handshake, request, headers and body), and the time
        one DNS lookup may take.
    type: float
    default: 10
  concurrency:
    description: How many policy fetches run at once.
    type: int
    default: 32
  ca_path:
    description:
      - A PEM bundle or an OpenSSL hashed directory of CA certificates trusted in addition to the system store,
        for policy hosts with certificates from a private CA.
    type: path
  expected_mode:
    description:
      - The mode every policy must have. Without it, the mode from O(mailsec_domains) is expected; without either,
        C(enforce) passes and C(testing) or C(none) warn.
    type: str
    choices: [enforce, testing, none]
  expiry_warn_days:
    description: A policy host certificate that expires in fewer days than this warns.
    type: int
    default: 14
  facts:
    description:
      - Return, per domain, what was found live (RV(domains[].mta_sts)). C(false) leaves it out, which makes the
        result of a thousand domains about 40 % smaller for Ansible to carry; the checks' details say the same in words.
    type: bool
    default: true
notes:
  - Senders fetch the policy from port 443 of the address C(mta-sts.<domain>) resolves to; a policy that is
    correct only through a proxy or a hosts file is not seen by them.
requirements:
  - cryptography (certificate details in the results; the checks themselves work without it)
seealso:
  - module: mailsec.posture.verify_smtp_tls
  - name: RFC 8461 (MTA-STS)
    description: SMTP MTA Strict Transport Security.
    link: https://www.rfc-editor.org/rfc/rfc8461
"""

EXAMPLES = r"""
- name: Check the MTA-STS setup of two domains through a given resolver
  mailsec.posture.verify_mta_sts:
    domains: [example.com, example.net]
    nameservers: [192.0.2.53]
    expected_mode: enforce

- name: Check every domain of the inventory against what the inventory says, report only
  mailsec.posture.verify_mta_sts:
    mailsec_domains: "{{ mailsec_domains }}"
    mail_host: "{{ mailsec_mail_host }}"
    fail_on: never
  register: mta_sts_state

- name: Compare with the records the collection computes
  mailsec.posture.verify_mta_sts:
    domains: "{{ mailsec_domains | map(attribute='name') }}"
    expected: "{{ query('mailsec.posture.mail_records') }}"
    ca_path: /etc/ssl/private-ca.pem
    concurrency: 64
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
      description: The checks in the order they were made; each has C(name), C(status) (C(pass), C(warn), C(fail)),
        C(detail) (not for passing checks with O(passing_checks=brief), which O(passing_checks=omit) leaves out) and usually
        C(subject) (the name or URL it is about).
      type: list
      elements: dict
      sample:
        - name: mta_sts.txt
          status: pass
          detail: v=STSv1; id=5d1ea0d1c4f3a2b1e0f9
          subject: _mta-sts.example.com
        - name: mta_sts.policy_redirect
          status: fail
          detail: "https://mta-sts.example.com/.well-known/mta-sts.txt: HTTP 301 redirect to https://www.example.com/;
            RFC 8461 3.3 forbids following redirects, so senders see no policy"
          subject: https://mta-sts.example.com/.well-known/mta-sts.txt
    mta_sts:
      description: What was found live (null for domains with MTA-STS off in the model).
      returned: unless O(facts=false)
      type: dict
      contains:
        txt:
          description: The C(v=STSv1) record chosen, or null.
          type: str
        id:
          description: Its id, or null.
          type: str
        policy_host_addresses:
          description: The addresses C(mta-sts.<domain>) resolved to.
          type: list
          elements: str
        fetch:
          description: The fetch's outcome (URL, address, status, Content-Type, size, error kind and detail,
            C(certificate), TLS version, timing in seconds), or null when there was no address.
          type: dict
          contains:
            certificate:
              description: What the certificate the policy host presented says for this host (null when none was seen). It holds
                C(sha256) (the key of RV(certificates)), C(name_covered) (whether one of its names covers the host) and
                C(covered_by) (that name, or null).
              type: dict
              sample: {sha256: 4f0c2a0e5e3d4d0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a, name_covered: true,
                       covered_by: mta-sts.example.com}
        mode:
          description: The policy's mode, or null.
          type: str
        max_age:
          description: The policy's max_age, or null.
          type: int
        mx:
          description: The policy's mx patterns as written.
          type: list
          elements: str
        policy_id:
          description: The id the collection would derive from the policy served (compare with RV(domains[].mta_sts.id)).
          type: str
certificates:
  description:
    - Each distinct certificate the policy hosts presented, described once per run (a mailcow host presents one certificate with
      every C(mta-sts.<domain>) name to all its domains), keyed by the SHA-256 of its DER.
      The C(sha256) of a domain's RV(domains[].mta_sts.fetch.certificate) refers to it by that key.
    - With several O(processes) each worker examines a certificate once; the descriptions are merged.
  returned: always
  type: dict
  sample:
    4f0c2a0e5e3d4d0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a:
      sha256: 4f0c2a0e5e3d4d0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a
      subject: CN=mail.example.com
      issuer: CN=R11,O=Let's Encrypt,C=US
      common_names: [mail.example.com]
      not_before: "2026-09-01T00:00:00Z"
      not_after: "2026-11-30T00:00:00Z"
      days_to_expiry: 61
      self_signed: false
      serial: 3a1f
      spki_sha256: 9c1e7a0c3b2d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f
      names_count: 1001
      names_shown: [mail.example.com, mta-sts.example.com, mta-sts.example.net]
  contains:
    sha256:
      description: The SHA-256 of the certificate's DER, hex (the key).
      type: str
    subject:
      description: The subject (RFC 4514).
      type: str
    issuer:
      description: The issuer (RFC 4514).
      type: str
    common_names:
      description: The subject's common names.
      type: list
      elements: str
    not_before:
      description: Start of validity (ISO 8601, UTC).
      type: str
    not_after:
      description: End of validity (ISO 8601, UTC).
      type: str
    days_to_expiry:
      description: Whole days left when it was examined (negative once expired).
      type: int
    self_signed:
      description: Whether subject and issuer are the same.
      type: bool
    serial:
      description: The serial number, hex.
      type: str
    spki_sha256:
      description: The SHA-256 of its public key (what a C(3 1 1) TLSA record holds), or null.
      type: str
    names_count:
      description: How many names (DNS names and IP addresses) it holds.
      type: int
    names_shown:
      description: Its first few DNS names (the whole list is not repeated in results).
      type: list
      elements: str
summary:
  description: Counts of domains and checks by status, and the overall status.
  returned: always
  type: dict
  sample:
    domains: 2
    domains_by_status: {pass: 1, warn: 0, fail: 1}
    checks_by_status: {pass: 17, warn: 1, fail: 1}
    status: fail
"""

from ansible_collections.mailsec.posture.plugins.module_utils.verify_module import run_verify_module, verify_argument_spec
from ansible_collections.mailsec.posture.plugins.module_utils.verify_mta_sts import run


def main():
    run_verify_module(
        verify_argument_spec(
            fleet=True,
            port={"type": "int", "default": 443},
            expected_mode={"type": "str", "choices": ["enforce", "testing", "none"]},
            facts={"type": "bool", "default": True},
        ),
        run,
        supports_check_mode=True,  # read-only: check mode runs the same checks
    )


if __name__ == "__main__":
    main()

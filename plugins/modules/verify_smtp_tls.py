#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: verify_smtp_tls
author:
  - mailsec.posture contributors (@mailsec)
version_added: 0.1.0
short_description: Verify STARTTLS, certificates and DANE of the MX hosts of many mail domains
description:
  - For every domain, looks up its MX hosts through O(nameservers) and, for each distinct MX host (a host shared by
    many domains is probed once per call), connects to the address they return, reads the greeting, sends EHLO, checks
    that STARTTLS is offered, makes the TLS handshake with SNI for the MX name and checks the certificate (valid for
    the MX name, a chain to a trusted CA from the system store plus O(ca_path), days to expiry). It says QUIT and
    never sends mail. O(timeout) bounds each host's probe as a whole.
  - "A certificate that does not verify fails when the domain's MTA-STS mode is C(enforce) (senders then refuse to
    deliver, RFC 8461 4.2) and warns otherwise (senders in C(testing) mode, opportunistic TLS and DANE-EE deliver).
    The mode comes from the live policy (O(mta_sts_mode=auto)), else from O(mailsec_domains), or is set by
    O(mta_sts_mode). With O(mta_sts_mode=auto) the policy is read only for the domains whose MX presented such a
    certificate: for the others the mode changes no check."
  - When TLSA records exist at C(_<port>._tcp.<mx host>), the answer must carry the AD bit of a validating resolver
    (so O(nameservers) must be a validating resolver for these checks; an answer without AD fails
    C(dane.tlsa_dnssec), as does a SERVFAIL, which is what validating resolvers answer for bogus signatures), and at
    least one usable TLSA record must match the certificate chain the server presents.
  - "The handshake verifies with OpenSSL; only when that fails does a second connection, with verification off,
    read the presented chain, to describe the certificate and to match it against TLSA records. A certificate is
    never reported valid unless OpenSSL verified it."
  - Read-only; C(changed) is always false. The collection's C(docs/checks-transport.md) explains every check and
    how to fix it. The task fails when a check at or above O(fail_on) fails.
extends_documentation_fragment:
  - mailsec.posture.verify
  - mailsec.posture.verify.tls_grading
options:
  mailsec_domains:
    description:
      - The C(mailsec_domains) inventory model. Gives each domain's MTA-STS mode when the live policy cannot be read,
        makes TLSA records required for domains with C(dane) on, and gives the expected TLSA values when the model
        holds the certificate or key.
    type: list
    elements: raw
  mail_host:
    description: The C(mailsec_mail_host) of the model. Used with O(mailsec_domains).
    type: str
  expected:
    description:
      - The records the domains should publish, as the C(mailsec.posture.mail_records) lookup returns them; their TLSA
        records are compared with the live ones (C(dane.tlsa_expected)).
    type: list
    elements: dict
  nameservers:
    description:
      - Nameservers to resolve every name through, as C(address) or C(address:port) (C([v6address]:port) for IPv6).
        For the DANE checks they must be a validating resolver. Default the system's (C(/etc/resolv.conf)).
    type: list
    elements: str
    default: []
  port:
    description:
      - The SMTP port of the MX hosts, and the port in the TLSA owner name C(_<port>._tcp.<mx host>). Senders use 25;
        other ports are for test setups.
    type: int
    default: 25
  helo_name:
    description: The name to send with EHLO. Default this host's name when it is fully qualified, else the address literal of the connection's local end.
    type: str
  timeout:
    description: Seconds one MX host's probe may take in all, and the time one DNS lookup may take.
    type: float
    default: 10
  concurrency:
    description: How many MX hosts are probed at once.
    type: int
    default: 32
  ca_path:
    description:
      - A PEM bundle or an OpenSSL hashed directory of CA certificates trusted in addition to the system store.
    type: path
  mta_sts_mode:
    description:
      - The MTA-STS mode that decides whether an invalid certificate fails or warns.
      - C(auto) reads the live policy (its C(_mta-sts) TXT record and C(https://mta-sts.<domain>/.well-known/mta-sts.txt))
        of each domain whose MX presented a certificate that did not verify, falling back to the mode in O(mailsec_domains).
    type: str
    choices: [auto, enforce, testing, none]
    default: auto
  mta_sts_port:
    description: The HTTPS port of the policy hosts when O(mta_sts_mode=auto). Senders use 443.
    type: int
    default: 443
  require_dane:
    description:
      - Fail C(dane.tlsa) for MX hosts without TLSA records. Domains with C(dane) on in O(mailsec_domains) require
        them anyway.
    type: bool
    default: false
  expiry_warn_days:
    description: A certificate that expires in fewer days than this warns.
    type: int
    default: 14
notes:
  - Outbound port 25 is blocked on many networks; run this where the MX hosts can be reached, as senders reach them.
  - Only the DANE-TA (2) and DANE-EE (3) usages count for SMTP (RFC 7672 3.1.3). Matching a DANE-TA record needs
    the chain the server sends; Python before 3.10 exposes only the leaf, so such records then never match.
requirements:
  - cryptography (certificate details and expiry; the other checks work without it)
seealso:
  - module: mailsec.posture.verify_mta_sts
  - name: RFC 7672 (SMTP DANE)
    description: SMTP Security via Opportunistic DANE TLS.
    link: https://www.rfc-editor.org/rfc/rfc7672
"""

EXAMPLES = r"""
- name: Check the MX hosts of two domains, DANE through a validating resolver
  mailsec.posture.verify_smtp_tls:
    domains: [example.com, example.net]
    nameservers: [127.0.0.1]   # a local validating resolver (unbound)

- name: Check every domain of the inventory, require DANE, report only
  mailsec.posture.verify_smtp_tls:
    mailsec_domains: "{{ mailsec_domains }}"
    mail_host: "{{ mailsec_mail_host }}"
    require_dane: true
    fail_on: never
  register: smtp_state

- name: Warnings fail too (an MX certificate that expires in under 30 days)
  mailsec.posture.verify_smtp_tls:
    domains: [example.com]
    expiry_warn_days: 30
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
      sample: pass
    checks:
      description: The checks in the order they were made; each has C(name), C(status) (C(pass), C(warn), C(fail)),
        C(detail) and C(subject) (the MX host or the domain it is about).
      type: list
      elements: dict
      sample:
        - name: smtp.starttls
          status: pass
          detail: STARTTLS, TLSv1.3, TLS_AES_256_GCM_SHA384
          subject: mail.example.com
        - name: dane.tlsa_match
          status: fail
          detail: "no TLSA record at _25._tcp.mail.example.com matches the certificate chain the server presents: DANE
            senders refuse to deliver to this MX"
          subject: mail.example.com
    mx:
      description: The domain's MX host names by preference (their probes are in RV(mx_hosts)).
      type: list
      elements: str
      sample: [mail.example.com]
mx_hosts:
  description: Each distinct MX host once, with what was found.
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The MX host name.
      type: str
      sample: mail.example.com
    port:
      description: The port probed.
      type: int
      sample: 25
    addresses:
      description: Its addresses.
      type: list
      elements: str
      sample: [192.0.2.25]
    tlsa:
      description: The TLSA records at C(_<port>._tcp.<host>) in presentation form.
      type: list
      elements: str
    tlsa_authenticated:
      description: Whether the TLSA answer carried the AD bit.
      type: bool
    probe:
      description: The probe's outcome (banner, EHLO keywords, STARTTLS, TLS version and cipher, verified, verify
        reason and detail, C(certificate), chain length, error kind and detail, timing in seconds), or null when
        the host has no address. Each distinct host and port is probed once per run, whatever number of domains name it.
      type: dict
      contains:
        certificate:
          description: What the certificate the MX host presented says for this host (null when none was seen). It holds
            C(sha256) (the key of RV(certificates)), C(name_covered) (whether one of its names covers the host) and
            C(covered_by) (that name, or null).
          type: dict
          sample: {sha256: 4f0c2a0e5e3d4d0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a, name_covered: true,
                   covered_by: mail.example.com}
    tls_grade:
      description: What the extra STARTTLS sessions found (see O(tls_guidance)), or null when none were made.
      type: dict
      contains:
        guidance:
          description: The guidance graded against, with its version.
          type: str
        versions:
          description: Protocol version -> true (accepted), false (refused) or null (not tested, e.g. this OpenSSL cannot offer SSLv3).
          type: dict
        weak_ciphers:
          description: The cipher suites outside the guidance that the server accepted.
          type: list
          elements: str
        groups:
          description: Key exchange group of the guidance -> accepted or not.
          type: dict
        families:
          description: C(IPv4)/C(IPv6) -> the address tried, whether STARTTLS worked there, and why not.
          type: dict
    reverse_dns:
      description: Per address, its PTR names and those that resolve back to it (forward-confirmed).
      type: list
      elements: dict
certificates:
  description:
    - Each distinct certificate the MX hosts presented, described once per run (a mailcow host presents one certificate with
      every C(mta-sts.<domain>) name to all its domains), keyed by the SHA-256 of its DER.
      The C(sha256) of a host's RV(mx_hosts[].probe.certificate) refers to it by that key.
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
    domains: 1
    domains_by_status: {pass: 1, warn: 0, fail: 0}
    checks_by_status: {pass: 9, warn: 0, fail: 0}
    status: pass
"""

from ansible_collections.mailsec.posture.plugins.module_utils.tls_grading import GUIDANCE_CHOICES
from ansible_collections.mailsec.posture.plugins.module_utils.verify_module import run_verify_module, verify_argument_spec
from ansible_collections.mailsec.posture.plugins.module_utils.verify_smtp_tls import run


def main():
    run_verify_module(
        verify_argument_spec(
            port={"type": "int", "default": 25},
            helo_name={"type": "str"},
            mta_sts_mode={"type": "str", "default": "auto", "choices": ["auto", "enforce", "testing", "none"]},
            mta_sts_port={"type": "int", "default": 443},
            require_dane={"type": "bool", "default": False},
            tls_guidance={"type": "str", "default": "mozilla-intermediate-5.7", "choices": list(GUIDANCE_CHOICES)},
        ),
        run,
        supports_check_mode=True,  # read-only: check mode runs the same checks
    )


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the verifier modules document alike: the options they share word for word, and their attributes."""

from __future__ import annotations


class ModuleDocFragment:
    # The options come from module_utils/verify_input.py's COMMON_ARGUMENT_SPEC (through
    # module_utils/verify_module.py). Options whose meaning differs between the verifiers
    # (nameservers, timeout, concurrency, expected, ...) stay documented in each module.
    DOCUMENTATION = r"""
options:
  domains:
    description:
      - Domain names to check. Mutually exclusive with O(mailsec_domains); one of them is required.
    type: list
    elements: str
  domain_defaults:
    description: The C(mailsec_domain_defaults) of the model. Used with O(mailsec_domains).
    type: dict
    default: {}
  fail_on:
    description:
      - C(fail) fails the task when any check fails; C(warn) also when a check warns; C(never) only reports.
    type: str
    choices: [fail, warn, never]
    default: fail
attributes:
  check_mode:
    description: Runs the same checks in check mode; nothing is ever changed.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  idempotent:
    description: Read-only; running it again changes nothing (the live state may change between runs).
    support: full
"""

    # verify_dns and verify_mta_sts: the options for a fleet of thousands of domains in one call
    # (module_utils/verify_module.py adds them with fleet=True).
    FLEET = r"""
options:
  processes:
    description:
      - How many processes share the domains, each with its own event loop and an equal share of the concurrency.
      - C(0) or unset is automatic, one per CPU available to the module (at most 4), but only when each process gets at
        least 200 domains; below that a process of its own costs more than it saves. C(1) checks everything in the
        module's own process.
      - The checks and their order are the same whatever the number; only the time differs.
    type: int
  passing_checks:
    description:
      - What the result holds of the checks that pass; checks that warn or fail are always returned whole.
      - C(full) returns them whole. C(brief) returns their C(name), C(status) and C(subject) without the C(detail)
        (for a thousand domains that pass, a result about 40 % smaller). C(omit) leaves them out; RV(summary) still counts
        them, and a domain whose checks all pass has an empty list.
      - Ansible spends time on every value a module returns; for a large fleet that mostly passes, C(brief) or C(omit)
        makes the task noticeably faster. The C(mailsec.posture.verify_report) filter counts omitted checks from
        RV(summary) but can list only the checks returned.
    type: str
    choices: [full, brief, omit]
    default: full
"""

    # verify_dns: DNS blocklists (module_utils/dnsbl.py), off unless zones are given.
    BLOCKLISTS = r"""
options:
  dnsbl_zones:
    description:
      - DNS blocklists of addresses (RFC 5782) to look the MX addresses up in, for example C(zen.spamhaus.org); each
        address is asked as C(<reversed address>.<zone>) (octets for IPv4, nibbles for IPv6).
      - Empty (the default) looks nothing up, because every lookup tells the list's operator which addresses you check;
        many lists also refuse queries from public resolvers (that answer warns). An answer in 127.0.0.0/8 means listed
        and fails C(dnsbl.address); NXDOMAIN means not listed.
    type: list
    elements: str
    default: []
  dnsbl_domain_zones:
    description:
      - DNS blocklists of domain names (RFC 5782 2.3), for example C(dbl.spamhaus.org); the domain is asked as
        C(<domain>.<zone>) and a listing fails C(dnsbl.domain). Empty (the default) looks nothing up.
    type: list
    elements: str
    default: []
"""

    # verify_smtp_tls: the guidance the STARTTLS offer is graded against (module_utils/tls_grading.py).
    TLS_GRADING = r"""
options:
  tls_guidance:
    description:
      - The guidance that the protocol versions, cipher suites, key exchange groups and certificate key of each MX host
        are graded against. Mozilla's server-side TLS guidelines version 5.7, configuration C(intermediate) (TLS 1.2 and
        1.3, AEAD suites with forward secrecy, X25519/P-256/P-384, RSA keys of 2048 bits or ECDSA P-256/P-384) or
        C(modern) (TLS 1.3 only).
      - Each distinct MX host and port gets a few more STARTTLS sessions, one per protocol version, key exchange group and
        round of cipher suites outside the guidance (at most 6), and one over its other address family (IPv6 when the
        probe used IPv4), all within O(timeout). C(none) makes none of them (the certificate's key and chain are
        still checked).
    type: str
    choices: [mozilla-intermediate-5.7, mozilla-modern-5.7, none]
    default: mozilla-intermediate-5.7
"""

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: mail_records
author: mailsec.posture contributors (@mailsec)
version_added: 0.1.0
short_description: The DNS records a set of mail domains must publish
description:
  - From the inventory model (O(domains), O(mail_host)) computes every record SPF, DKIM, DMARC, MTA-STS,
    TLS-RPT and DANE require, plus the MX records, as a list of C({name, type, ttl, value, zone, domain, standard}).
  - Names are fully qualified with a trailing dot. TXT values are given unsplit; the C(to_zone) filter and
    the C(dns_records) module split them into 255-octet character-strings when publishing.
  - The MTA-STS C(id) is derived from the policy's content, so it changes exactly when the policy changes.
  - A bad spec fails with a message that names the domain and the field.
  - With O(require_domains), a missing or empty domain list fails too (the site playbook validates the inventory
    so, before its first change); the message names a similarly spelt variable when one is set (C(mailsec_domain)).
options:
  _terms:
    description: Not used; all input comes from the options.
    required: false
  domains:
    description:
      - The C(mailsec_domains) list. Each entry has C(name) and optionally C(mx), C(ttl), C(zone), C(spf),
        C(dkim), C(dmarc), C(mta_sts), C(tlsrpt), C(dane); see the collection README for every key.
      - A plain string is a domain with defaults.
      - Type C(raw) so that a variable holding a template (for example a C(mailcow_domains) lookup merged
        with overrides) is rendered whole; the lookup checks the shape itself.
    type: raw
    vars:
      - name: mailsec_domains
  mail_host:
    description:
      - The mail host (mailcow's C(MAILCOW_HOSTNAME)), the default MX and MTA-STS policy host of every domain.
    type: str
    vars:
      - name: mailsec_mail_host
  defaults:
    description: Settings merged under every domain (per standard, the domain's own keys win).
    type: raw
    default: {}
    vars:
      - name: mailsec_domain_defaults
  ttl:
    description: TTL of every record unless a domain sets its own.
    type: raw
    default: 3600
    vars:
      - name: mailsec_ttl
  zones:
    description:
      - Extra zone names used to attribute records outside the mail domains (such as C(_25._tcp.<mx>) TLSA
        records or a delegate's C(_mta-sts) record) to the right zone.
    type: raw
    default: []
    vars:
      - name: mailsec_zones
  dkim_keys:
    description:
      - The C(mailsec_dkim_keys) of the hosts (each with C(domain) and C(selector)), for validating the model before
        the hosts made their keys, as the site playbook does. Each must name a domain of O(domains), and a C(dkim) entry
        of that selector may lack its C(public_key) (it gets no record until the key is there).
      - Not read from a variable by itself; give it only for that validation.
    type: list
    elements: dict
    default: []
    version_added: 0.2.0
  require_domains:
    description:
      - Fail when O(domains) is missing or empty, instead of returning no records.
    type: bool
    default: false
    version_added: 0.2.0
notes:
  - C(dane.certificate) and C(dane.public_key) may be PEM text or a path to a PEM file on the controller.
"""

EXAMPLES = r"""
- name: Show the records of every domain in the inventory
  ansible.builtin.debug:
    msg: "{{ query('mailsec.posture.mail_records') }}"

- name: Records for an explicit domain list
  ansible.builtin.set_fact:
    mail_dns: >-
      {{ query('mailsec.posture.mail_records',
               domains=[{'name': 'example.com', 'dmarc': {'policy': 'reject', 'rua': ['mailto:dmarc@example.com']}}],
               mail_host='mail.example.com') }}

- name: Validate the inventory model before anything changes (what the site playbook does first)
  ansible.builtin.assert:
    that: query('mailsec.posture.mail_records', require_domains=true) | length > 0
    quiet: true

- name: A BIND zone snippet of one zone
  ansible.builtin.copy:
    dest: /etc/bind/mail-records.example.com.inc
    content: "{{ query('mailsec.posture.mail_records') | mailsec.posture.to_zone(origin='example.com') | join('\n') }}\n"
    mode: "0644"
"""

RETURN = r"""
_raw:
  description: One dictionary per record, in a stable order (domain by domain, then the delegates' shared records).
  type: list
  elements: dict
  contains:
    name:
      description: Owner name, fully qualified, with a trailing dot.
      type: str
      sample: _dmarc.example.com.
    type:
      description: Record type.
      type: str
      sample: TXT
    ttl:
      description: Time to live in seconds.
      type: int
      sample: 3600
    value:
      description: Presentation value; TXT unsplit and unquoted.
      type: str
      sample: v=DMARC1; p=reject; rua=mailto:dmarc@example.com
    zone:
      description: The zone the record belongs to.
      type: str
      sample: example.com
    domain:
      description: The mail domain (or delegate host) the record was computed for.
      type: str
      sample: example.com
    standard:
      description: Which standard needs it (mx, spf, dkim, dmarc, mta_sts, tlsrpt, dane).
      type: str
      sample: dmarc
"""

import difflib

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.lookup import LookupBase

from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError
from ansible_collections.mailsec.posture.plugins.module_utils.records import desired_records
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_model

PEM_MARKER = "-----BEGIN"
PEM_FIELDS = ("certificate", "ca_certificate", "public_key", "next_public_key")
DOMAINS_VARIABLE = "mailsec_domains"
# The collection's own variables that are spelt like mailsec_domains: never taken for a typo of it.
KNOWN_VARIABLES = frozenset(("mailsec_domain_defaults", "mailsec_dkim_keys", "mailsec_zones", "mailsec_mail_host"))


def misspelt_variables(variables, wanted=DOMAINS_VARIABLE, known=()):
    """Names in ``variables`` that look like a typo of ``wanted`` (``mailsec_domain``, ``mailsec_domian``),
    leaving out the variables the collection itself reads (``known``: ``mailsec_domain_defaults`` is no typo)."""
    candidates = [name for name in variables or {} if isinstance(name, str) and name != wanted and name not in known]
    return difflib.get_close_matches(wanted, candidates, n=3, cutoff=0.85)


class LookupModule(LookupBase):
    def _read_pem(self, value, domain, field):
        """DANE material may be a path on the controller; the engine only sees PEM text."""
        if not isinstance(value, str) or PEM_MARKER in value or not value.strip():
            return value
        path = self._loader.path_dwim(value)
        try:
            with open(path, "rb") as handle:
                return to_text(handle.read())
        except OSError as exc:
            raise AnsibleLookupError("domain %r: dane.%s: cannot read %s: %s" % (domain, field, path, exc.strerror))

    def _with_pem_files(self, domains):
        result = []
        for entry in domains or []:
            if isinstance(entry, dict) and isinstance(entry.get("dane"), dict):
                dane_spec = dict(entry["dane"])
                for field in PEM_FIELDS:
                    if field in dane_spec:
                        dane_spec[field] = self._read_pem(dane_spec[field], entry.get("name"), field)
                entry = dict(entry, dane=dane_spec)
            result.append(entry)
        return result

    def _option(self, name):
        # Options read from play variables (mailsec_domains ...) arrive untemplated when the variable
        # is itself a template, e.g. a mailcow_domains lookup merged with inventory overrides.
        return self._templar.template(self.get_option(name))

    def _no_domains(self, domains, variables):
        typos = misspelt_variables(variables, known=KNOWN_VARIABLES)
        hint = "; is %s a misspelling of it?" % " or ".join(typos) if typos else ""
        state = "is not set" if domains is None else "is empty"
        return AnsibleLookupError("mailsec.posture.mail_records: no domains: %s %s (set it to the list of mail domains, or pass "
                                  "domains=)%s" % (DOMAINS_VARIABLE, state, hint))

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        domains = self._option("domains")
        if domains is None or (self.get_option("require_domains") and isinstance(domains, (list, tuple)) and not domains):
            raise self._no_domains(domains, variables)
        try:
            model = normalize_model(
                self._with_pem_files(domains),
                mail_host=self._option("mail_host"),
                defaults=self._option("defaults"),
                ttl=self._option("ttl"),
                zones=self._option("zones"),
                dkim_keys=self._option("dkim_keys"),
            )
            return desired_records(model)
        except MailsecError as exc:
            raise AnsibleLookupError("mailsec.posture.mail_records: %s" % exc)

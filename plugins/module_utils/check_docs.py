# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Written by docs/readme_checks.py from docs/checks.md and docs/checks-transport.md; do not edit by hand.
"""How to fix what each check finds, as docs/checks*.md say it (the one source), for the report.

``CHECKS[name]`` is ``{fix, doc, verifiers}``: the fix in the pages' Markdown, and the page and anchor of its
section (``DOCS_URL + doc`` reads it online). ``LOOKUP_FAILURES`` are the rows of the table of failed lookups.

Private to the collection: users may rely only on plugins and modules.
"""

from __future__ import annotations

DOCS_URL = "https://github.com/mailsec/posture/blob/main/"

CHECKS = {
    "mx.records": {
        "fix": ("publish `MX 10 <mail host>.` at the domain (the `mailsec.posture.dns` role does), or correct `mx` in "
                "the inventory"),
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "dnssec.records": {
        "fix": ("sign the zone and publish its DS at the parent (DANE needs it); re-sign a bogus zone or fix its DS "
                "at once, because validating resolvers see none of its records meanwhile; give a validating resolver "
                "as `nameservers`"),
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "mx.null": {
        "fix": ("publish exactly `MX 0 .` for a domain that never receives mail, and nothing else; or remove it and "
                "publish the real MX hosts"),
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "mx.target": {
        "fix": "point each MX at a host name with its own A/AAAA records (not at a CNAME, not at an address)",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "dnsbl.address": {
        "fix": ("find out on the list's site why the address is listed (a compromised account, an open relay, a "
                "dynamic address), fix that, then ask for removal; query through a resolver of your own"),
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "dnsbl.domain": {
        "fix": "find out why the domain is listed (links in spam, a compromised site) and ask for removal",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "spf.enabled": {
        "fix": "nothing; set `spf` on the domain to have it published and checked",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "spf.record": {
        "fix": "publish exactly one `v=spf1 ... -all` record; merge two records into one",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "spf.syntax": {
        "fix": "rewrite the term the detail names; drop `ptr`; put `all` last",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "spf.all": {
        "fix": "end the record with `-all` (or `~all` while you are still finding your senders)",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "spf.lookups": {
        "fix": ("replace `a`/`mx` with `ip4:`/`ip6:` where the addresses are stable; drop includes of services you no "
                "longer use; ask a provider for a flatter include"),
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "spf.void_lookups": {
        "fix": ("remove terms that point at names that no longer exist; give `a` hosts the address family their "
                "senders use, or list them as `ip4:`/`ip6:`"),
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "spf.includes": {
        "fix": "fix or remove the include the detail names; break the loop",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "dkim.selectors": {
        "fix": "pass `dkim_selectors` (or use the inventory, which names them)",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "dkim.enabled": {
        "fix": "nothing; set `dkim` on the domain to have it published and checked",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "dkim.record": {
        "fix": ("publish the key record your signer's private key belongs to (`mailsec.posture.dkim_key` makes one); "
                "remove duplicates"),
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "dkim.key": {
        "fix": "publish a 2048-bit RSA (or Ed25519 beside it) key and sign with it; rotate under a new selector",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "dmarc.enabled": {
        "fix": "nothing; set `dmarc` on the domain to have it published and checked",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "dmarc.record": {
        "fix": "publish exactly one `v=DMARC1; p=...; rua=mailto:...` record",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "dmarc.policy": {
        "fix": ("publish the policy the inventory says; move from `none` to `quarantine`/`reject` once the reports "
                "show every legitimate sender passing"),
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "dmarc.external_reports": {
        "fix": ("have the destination's owner publish `<domain>._report._dmarc.<destination> TXT \"v=DMARC1\"` (or a "
                "wildcard `*._report._dmarc.<destination>`), or send reports to an address in your own domain"),
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "mta_sts.enabled": {
        "fix": "nothing; set `mta_sts` on the domain to have it published and checked",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns", "verify_mta_sts"],
    },
    "mta_sts.txt": {
        "fix": "publish exactly one `v=STSv1; id=<id>` record; the collection derives the id from the policy",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns", "verify_mta_sts"],
    },
    "mta_sts.policy_host": {
        "fix": ("point `mta-sts.<domain>` (A/AAAA or a CNAME) at the web server that serves "
                "`/.well-known/mta-sts.txt`"),
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns", "verify_mta_sts"],
    },
    "tlsrpt.enabled": {
        "fix": "nothing; set `tlsrpt` on the domain to have it published and checked",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "tlsrpt.record": {
        "fix": "publish exactly one `v=TLSRPTv1; rua=mailto:...` record",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "records.expected": {
        "fix": "nothing; or give `expected` records for this domain",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "records.missing": {
        "fix": ("publish the record the subject names (the `mailsec.posture.dns` role publishes every expected "
                "record)"),
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "records.extra": {
        "fix": "remove the record the subject names, or add it to the inventory",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "records.different": {
        "fix": "replace the live record with the expected one",
        "doc": "docs/checks.md#the-checks",
        "verifiers": ["verify_dns"],
    },
    "mta_sts.txt_expected": {
        "fix": ("publish the expected record. Senders fetch the policy again only when the `id` changes, so an id "
                "that did not change with the policy keeps senders on the old one until its `max_age` runs out."),
        "doc": "docs/checks-transport.md#fixes",
        "verifiers": ["verify_mta_sts"],
    },
    "mta_sts.policy_certificate": {
        "fix": ("the web server must present a certificate whose names include `mta-sts.<domain>`, from a CA senders "
                "trust, within its validity. With mailcow add `mta-sts.<domain>` to `ADDITIONAL_SAN` (and "
                "`ADDITIONAL_SERVER_NAMES`) and let it renew; the detail says which of the presented certificate's "
                "names covers `mta-sts.<domain>` (none, for a name mismatch) and names the certificate by the first "
                "digits of its SHA-256, its first names and how many it has. For a private CA in tests, give "
                "`ca_path`."),
        "doc": "docs/checks-transport.md#fixes",
        "verifiers": ["verify_mta_sts"],
    },
    "mta_sts.policy_fetch": {
        "fix": ("serve `https://mta-sts.<domain>/.well-known/mta-sts.txt` with status 200 on port 443 of the address "
                "the name resolves to. A 404 usually means the file is not in the web root that the "
                "`mta-sts.<domain>` virtual host serves; a timeout means a firewall or a server that does not answer "
                "in time (senders give up too)."),
        "doc": "docs/checks-transport.md#fixes",
        "verifiers": ["verify_mta_sts"],
    },
    "mta_sts.policy_redirect": {
        "fix": ("serve the file directly from `mta-sts.<domain>`; do not redirect it (to `www`, to another host, from "
                "HTTP to HTTPS rules that also catch HTTPS, ...). RFC 8461 3.3 forbids senders to follow redirects, "
                "so they see no policy."),
        "doc": "docs/checks-transport.md#fixes",
        "verifiers": ["verify_mta_sts"],
    },
    "mta_sts.policy_size": {
        "fix": "a policy is a few lines; a larger body is some other file.",
        "doc": "docs/checks-transport.md#fixes",
        "verifiers": ["verify_mta_sts"],
    },
    "mta_sts.policy_content_type": {
        "fix": ("serve the file as `text/plain` (nginx: `default_type text/plain;` in that location, or `types { "
                "text/plain txt; }`)."),
        "doc": "docs/checks-transport.md#fixes",
        "verifiers": ["verify_mta_sts"],
    },
    "mta_sts.policy": {
        "fix": ("fix the line named in the detail. `mx: *` is not allowed: list the MX hosts, or use `*.example.com` "
                "for one label under a domain. Field names are case-sensitive. Remove blank lines, and put `version: "
                "STSv1` first."),
        "doc": "docs/checks-transport.md#fixes",
        "verifiers": ["verify_mta_sts"],
    },
    "mta_sts.mode": {
        "fix": ("start with `testing`, read the TLS-RPT reports, then switch to `enforce` "
                "(`mailsec_domains[].mta_sts.mode`), and publish the new policy and id together."),
        "doc": "docs/checks-transport.md#fixes",
        "verifiers": ["verify_mta_sts"],
    },
    "mta_sts.max_age": {
        "fix": ("use a week (604800) or more once the setup is stable; RFC 8461 3.2 suggests weeks so that the policy "
                "survives an attacker at refresh time."),
        "doc": "docs/checks-transport.md#fixes",
        "verifiers": ["verify_mta_sts"],
    },
    "mta_sts.mx_coverage": {
        "fix": ("add a pattern for every MX host named in the detail (or remove the stray MX record). In enforce "
                "mode, senders refuse to deliver to an MX the policy does not list."),
        "doc": "docs/checks-transport.md#fixes",
        "verifiers": ["verify_mta_sts"],
    },
    "mta_sts.policy_expected": {
        "fix": "deploy the policy the inventory describes (`mta_sts_policy` module), then publish its TXT id.",
        "doc": "docs/checks-transport.md#fixes",
        "verifiers": ["verify_mta_sts"],
    },
    "smtp.mx": {
        "fix": "publish MX records (`mail_records` lookup) for the domain.",
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "smtp.address": {
        "fix": "give the MX host an A (and AAAA) record; an MX must not point at a CNAME.",
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "smtp.ptr": {
        "fix": ("ask whoever owns the address (the hosting provider; for your own block, your reverse zone) to set "
                "its PTR to the MX host name, for IPv4 and for IPv6."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "smtp.fcrdns": {
        "fix": ("publish an A (or AAAA) record with the address at the PTR name, or change the PTR to a name that has "
                "it, so that the two directions agree."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "smtp.connect": {
        "fix": ("the MX must accept connections on port 25 from the Internet and greet with 220. A timeout means a "
                "firewall drops the connection or the server is overloaded; a 554 greeting means it refuses this "
                "client."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "smtp.starttls": {
        "fix": ("enable STARTTLS (postfix: `smtpd_tls_security_level = may` with a certificate and key; mailcow does "
                "this by default). A handshake failure names OpenSSL's reason (protocol versions, ciphers, a missing "
                "key)."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "smtp.certificate": {
        "fix": ("install a certificate whose names include the MX host name, with its intermediate chain, from a "
                "public CA (mailcow: the MX name is `MAILCOW_HOSTNAME`; names in `ADDITIONAL_SAN` are added). The "
                "detail names the certificate presented."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "smtp.certificate_expiry": {
        "fix": "renew; check that the renewal job runs and that the mail server reloads the new certificate.",
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "tls.versions": {
        "fix": "postfix: `smtpd_tls_protocols = >=TLSv1.2` (and `smtpd_tls_mandatory_protocols`); never allow SSL 3.",
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "tls.ciphers": {
        "fix": ("postfix: `smtpd_tls_ciphers = high`, `tls_high_cipherlist = ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM`, "
                "`smtpd_tls_exclude_ciphers = aNULL`; drop any `@SECLEVEL=0` from the cipher lists."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "tls.groups": {
        "fix": ("postfix: `tls_eecdh_auto_curves = X25519 prime256v1 secp384r1` (or leave the default, which includes "
                "them)."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "tls.certificate_key": {
        "fix": ("issue the certificate for a new RSA key of 2048 bits or more, or an ECDSA P-256 key, signed with "
                "SHA-256 (every public CA does); with DANE `3 1 1`, publish the new key's record first."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "tls.chain": {
        "fix": ("configure the full chain file (the leaf, then the intermediates); postfix: `smtpd_tls_chain_files = "
                "key.pem, fullchain.pem`, mailcow does it already."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "smtp.address_family": {
        "fix": ("the MX publishes an address it does not serve: make the mail server listen there (postfix: "
                "`inet_protocols = all`) and open the firewall for IPv6 port 25, or remove the AAAA (A) record."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "smtp.banner": {
        "fix": ("set the server's name to the MX host name (postfix: `myhostname`; mailcow: `MAILCOW_HOSTNAME`), or "
                "make the PTR of its address that name."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "dane.tlsa": {
        "fix": ("publish `_25._tcp.<mx host> TLSA 3 1 1 <sha256 of the key>` (the `tlsa_record` module or "
                "`mail_records` with `dane` on) in a signed zone, or drop `require_dane`."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "dane.tlsa_dnssec": {
        "fix": ("sign the zone that holds the TLSA records and publish its DS at the parent; fix a bogus chain "
                "(expired signatures, a DS that names no key) at once, because mail to the MX is deferred meanwhile. "
                "Give a validating resolver as `nameservers`."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "dane.tlsa_match": {
        "fix": ("the records do not describe the key the server uses (a key rolled without publishing the new TLSA "
                "first). The detail gives the `3 1 1` value of the presented key; publish it, wait two TTLs, then "
                "remove the old one. With `3 1 1` records, renewals that keep the key need no DNS change."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "dane.tlsa_rollover": {
        "fix": ("publish the next key's `3 1 1` record beside the current one (`dane.next_public_key` in the "
                "inventory does), or a `2 1 1` record of the issuing CA and send that CA certificate in the chain; "
                "then a key change needs no DNS change on the day."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "dane.tlsa_expected": {
        "fix": "publish the expected TLSA records, or update the inventory's `dane` material.",
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
    "dane.mx_dnssec": {
        "fix": ("sign the domain's zone (and publish its DS) so that senders trust its MX records and go on to use "
                "the MX hosts' TLSA records."),
        "doc": "docs/checks-transport.md#fixes-1",
        "verifiers": ["verify_smtp_tls"],
    },
}

LOOKUP_FAILURES = [
    {
        "detail": "`NXDOMAIN: ... does not exist`",
        "meaning": "the name is not in DNS (after any CNAME)",
        "fix": "publish the record; check the zone's delegation (`dig NS <zone>`) and the name's spelling",
        "doc": "docs/checks.md#when-a-lookup-itself-fails",
    },
    {
        "detail": "`no ... records at ... (NOERROR)`",
        "meaning": "the name exists but has no record of that type",
        "fix": "publish the record of that type",
        "doc": "docs/checks.md#when-a-lookup-itself-fails",
    },
    {
        "detail": "`SERVFAIL from <server>`",
        "meaning": ("the nameserver could not answer: a zone that does not load, a broken delegation, or DNSSEC "
                    "signatures a validating resolver rejects"),
        "fix": ("read the authoritative server's log (`named-checkzone`), check the DS and DNSKEY records (`delv`, "
                "`dnsviz.net`)"),
        "doc": "docs/checks.md#when-a-lookup-itself-fails",
    },
    {
        "detail": "`REFUSED from <server>`",
        "meaning": ("the server will not answer this question (not authoritative for it, or recursion not allowed for "
                    "this client)"),
        "fix": "point `nameservers` at a resolver that serves you, or at the zone's authoritative server",
        "doc": "docs/checks.md#when-a-lookup-itself-fails",
    },
    {
        "detail": "`<server>: no answer within N s`",
        "meaning": "the server did not answer in time",
        "fix": ("check that the server runs and that a firewall lets UDP and TCP port 53 through; raise `timeout` for "
                "slow servers"),
        "doc": "docs/checks.md#when-a-lookup-itself-fails",
    },
    {
        "detail": "`no nameserver reachable: <server>: Connection refused`",
        "meaning": "nothing listens on that address and port",
        "fix": "start the DNS server, or fix the address/port in `nameservers`",
        "doc": "docs/checks.md#when-a-lookup-itself-fails",
    },
    {
        "detail": "`unreadable answer`, `referral`, `CNAME loop`",
        "meaning": ("the answer was malformed, the server sent a referral instead of an answer, or CNAMEs point in a "
                    "circle"),
        "fix": "use a recursive resolver; fix the CNAMEs",
        "doc": "docs/checks.md#when-a-lookup-itself-fails",
    },
]

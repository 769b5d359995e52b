# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Put MTA-STS policies where senders fetch them: which text, which file, which domains.

Private to the collection: users may rely only on plugins and modules.
The engine is plain Python; it never imports Ansible.

* ``desired_policy`` turns one of three inputs (fields, a policy text, an inventory entry) into a
  policy text that ``mta_sts.parse_policy`` accepts, or raises SpecError naming the field.
* ``ensure_policy_file`` writes it atomically when it differs (and only predicts in check mode).
* ``policy_set`` checks a list of ``{domain, policy}`` (such as ``sites``' output) and
  ``ensure_policy_directory`` writes each as ``<directory>/<domain>.txt`` the same way, optionally
  removing the ``*.txt`` files of domains that are not listed, all in one call.
* ``sites`` lists, from the inventory model, the domains one web server must serve and each
  domain's policy, id and TXT value; ``shared_policy`` is the one policy a server that serves a
  single file for all of them (mailcow before 2025-09) can publish, or a SpecError naming the
  domains that disagree.
"""

from __future__ import annotations

import os

from ansible_collections.mailsec.posture.plugins.module_utils import domain_merge, files, mta_sts, records, spec
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError, as_choice, kind_of
from ansible_collections.mailsec.posture.plugins.module_utils.names import normalize_domain

# normalize_spec needs a domain to name in its messages; a field-built policy has none, and the
# messages are re-raised without it. ``.invalid`` (RFC 2606) can never be a real domain.
_NO_DOMAIN = "policy.invalid"
# The inventory keys that decide a domain's policy and where it is served; the other standards are
# left out so that, for example, a DANE certificate given as a controller path does not matter here.
_SITE_KEYS = ("name", "mx", "mta_sts")
_SITE_DEFAULT_KEYS = ("mx", "mta_sts")


def _without_prefix(field, prefix="mta_sts."):
    return field[len(prefix):] if field.startswith(prefix) else field


def policy_from_fields(mode, mx=None, max_age=None):
    """The policy text for ``mode``, ``mx`` patterns and ``max_age`` (default one week).

    Raises SpecError naming the option (``mode``, ``mx[0]``, ``max_age``) as a module user wrote it.
    """
    if mode is None:
        raise SpecError("mode", "is required (one of %s)" % ", ".join(mta_sts.MODES))
    as_choice(mode, mta_sts.MODES, "mode")
    if not mx and mode != "none":
        raise SpecError("mx", "is required with mode %s: list the MX host names (or '*.' patterns) senders may deliver to" % (mode,))
    try:
        normalized = mta_sts.normalize_spec({"mode": mode, "mx": mx, "max_age": max_age}, _NO_DOMAIN)
    except SpecError as exc:
        raise SpecError(_without_prefix(exc.field), exc.reason) from None
    return mta_sts.build_policy(normalized)


def policy_from_text(text, field="policy"):
    """``text`` itself when it is a valid policy (RFC 8461 3.2), else SpecError listing every fault."""
    if not isinstance(text, str):
        raise SpecError(field, "must be the policy text, got %s" % kind_of(text))
    verdict = mta_sts.parse_policy(text)
    if not verdict["valid"]:
        raise SpecError(field, "is not a valid MTA-STS policy: %s" % "; ".join(verdict["errors"]))
    return text


def policy_from_domain(entry, mail_host=None, defaults=None):
    """``(policy text, domain)`` of one ``mailsec_domains`` entry; SpecError when it is invalid or has MTA-STS off."""
    normalized = spec.normalize_domain_entry(_site_entry(entry), mail_host=mail_host, defaults=_site_defaults(defaults))
    policy = records.mta_sts_policy(normalized)
    if policy is None:
        raise SpecError("mta_sts.enabled", "MTA-STS is off for this domain, so it has no policy to write", normalized["name"])
    return policy, normalized["name"]


def desired_policy(mode=None, mx=None, max_age=None, policy=None, domain=None, mail_host=None, defaults=None):
    """The policy text to deploy, from exactly one source, and the domain it belongs to (or None).

    Sources: ``mode`` (+ ``mx``, ``max_age``), ``policy`` (a text such as the ``mta_sts_policy``
    filter's output) or ``domain`` (an entry of ``mailsec_domains``, with ``mail_host`` and
    ``defaults``). Whatever the source, the text returned passes ``mta_sts.parse_policy``.
    """
    given = [name for name, value in (("mode", mode), ("policy", policy), ("domain", domain)) if value is not None]
    if len(given) != 1:
        raise SpecError(
            "policy",
            "give exactly one of mode (with mx and max_age), policy or domain; got %s" % (", ".join(given) or "none"),
        )
    if mx is not None and mode is None:
        raise SpecError("mx", "goes with mode; with %s the mx patterns come from there" % given[0])
    if max_age is not None and mode is None:
        raise SpecError("max_age", "goes with mode; with %s max_age comes from there" % given[0])
    if policy is not None:
        return policy_from_text(policy), None
    if domain is not None:
        text, name = policy_from_domain(domain, mail_host=mail_host, defaults=defaults)
        # The engine built it; parsing it again costs nothing and keeps the promise above.
        return policy_from_text(text, "domain"), name
    return policy_from_text(policy_from_fields(mode, mx, max_age), "mode"), None


def published(policy):
    """``{"id", "txt"}`` of a policy text: the id derived from its content and the ``_mta-sts`` TXT value."""
    policy_id = mta_sts.policy_id(policy)
    return {"id": policy_id, "txt": mta_sts.build_txt(policy_id)}


def _check_target(path):
    """Raise the FileError a write to ``path`` would raise, before anything is written (also in check mode)."""
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise files.FileMissingError(path, "cannot write: directory %s does not exist" % directory)
    if os.path.lexists(target) and not os.path.isfile(target):
        raise files.FileError(path, "is not a regular file; refusing to replace it")


def _text(data):
    return data.decode("utf-8", "replace") if data is not None else ""


def ensure_policy_file(path, policy, backup=False, check_mode=False):
    """Make the file at ``path`` hold exactly ``policy`` (UTF-8); write only when it differs and not in check mode.

    The write is atomic and keeps the mode, owner and group of an existing file; a new file is
    0644 (world-readable: the web server reads it). Returns ``{changed, created, before, after,
    backup_file}``; ``before`` is empty when the file did not exist. Raises FileError naming the
    file when it cannot be read or written, leaving it as it was.
    """
    data = policy.encode("utf-8")
    _check_target(path)
    try:
        current = files.read_bytes(path)
    except files.FileMissingError:
        current = None
    changed = current != data
    backup_file = None
    if changed and not check_mode:
        backup_file = files.write_atomic(path, data, backup=backup and current is not None)
    return {
        "changed": changed,
        "created": current is None,
        "before": _text(current),
        "after": policy,
        "backup_file": backup_file,
    }


# ---------------------------------------------------------------------------------------------
# Many domains' policies in one directory, one file each

POLICY_FILE_SUFFIX = ".txt"


class PartialWriteError(files.FileError):
    """A write or removal failed after other files had been changed; ``done`` lists their paths."""

    def __init__(self, cause, done):
        self.done = list(done)
        message = cause.reason
        if self.done:
            message += "; %d other file(s) had already been changed: %s" % (len(self.done), ", ".join(self.done))
        super().__init__(cause.path, message)


def policy_file_name(domain):
    """``<domain>.txt``: the file that holds a normalized domain's policy."""
    return domain + POLICY_FILE_SUFFIX


def policy_set(policies, field="policies"):
    """``[(domain, policy text)]`` from a list of ``{domain, policy}`` mappings, in the given order.

    ``sites`` items qualify (their other keys are ignored). Each domain is normalized, since it
    names a file, only a host name can: ``../x`` never leaves the directory. Each policy must pass
    ``mta_sts.parse_policy`` and is kept byte for byte. Raises SpecError naming the entry
    (``policies[2].policy``) and its domain; a domain listed twice is refused.
    """
    chosen = []
    for index, (domain, entry) in enumerate(domain_merge.index_domains(policies, field, key="domain")):
        item = "%s[%d].policy" % (field, index)
        if entry.get("policy") is None:
            raise SpecError(item, "is required", domain)
        try:
            policy = policy_from_text(entry["policy"], item)
        except SpecError as exc:
            raise SpecError(exc.field, exc.reason, domain) from None
        chosen.append((domain, policy))
    return chosen


def stale_policy_files(directory, keep):
    """Paths of the ``*.txt`` files and links in ``directory`` whose names are not in ``keep``, sorted.

    Only regular files and symbolic links count; directories, other file types and hidden names
    (``.name.txt``, as ``*.txt`` globs skip them) are never listed.
    """
    try:
        entries = list(os.scandir(directory))
    except OSError as exc:
        raise files.FileError(directory, "cannot list the directory: %s" % (exc.strerror or exc)) from None
    stale = []
    for entry in entries:
        name = entry.name
        if name.startswith(".") or not name.endswith(POLICY_FILE_SUFFIX) or name in keep:
            continue
        if entry.is_symlink() or entry.is_file(follow_symlinks=False):
            stale.append(entry.path)
    return sorted(stale)


def ensure_policy_directory(directory, policies, prune=False, backup=False, check_mode=False):
    """Make ``directory`` hold ``<domain>.txt`` with each policy of ``policies`` (``policy_set`` pairs).

    Each file is written as ``ensure_policy_file`` writes one: atomically, only when it differs,
    keeping an existing file's mode and owner, never in check mode. With ``prune``, the ``*.txt``
    files of domains not listed are removed (``stale_policy_files``; no backup is made of them).
    Every target is checked before anything is written, so a directory in the way of one domain's
    file fails the call with no file changed.

    Returns ``{"files": [...], "removed": [paths]}``; each file is ``ensure_policy_file``'s outcome
    with ``domain`` and ``path``. Raises FileError naming the directory or file; a failure after
    other files changed raises PartialWriteError listing them.
    """
    if not os.path.isdir(directory):
        raise files.FileMissingError(directory, "is not an existing directory")
    targets = [(domain, policy, os.path.join(directory, policy_file_name(domain))) for domain, policy in policies]
    for _domain, _policy, path in targets:
        _check_target(path)
    stale = stale_policy_files(directory, {os.path.basename(path) for _domain, _policy, path in targets}) if prune else []

    done = []
    outcomes = []
    removed = []
    try:
        for domain, policy, path in targets:
            outcome = ensure_policy_file(path, policy, backup=backup, check_mode=check_mode)
            outcome.update(domain=domain, path=path)
            outcomes.append(outcome)
            if outcome["changed"]:
                done.append(path)
        for path in stale:
            before = _readable_text(path)
            if check_mode or files.remove_file(path):
                removed.append({"path": path, "before": before})
                done.append(path)
    except files.FileError as exc:
        if check_mode or not done:
            raise
        raise PartialWriteError(exc, done) from None
    return {"files": outcomes, "removed": removed}


def _readable_text(path):
    # Only for the diff of a removal: a dangling link or an unreadable file has no "before" to show.
    try:
        return _text(files.read_bytes(path))
    except files.FileError:
        return ""


# ---------------------------------------------------------------------------------------------
# Which domains a web server serves


def _site_entry(entry):
    if isinstance(entry, dict):
        return {key: value for key, value in entry.items() if key in _SITE_KEYS}
    return entry


def _site_defaults(defaults):
    if isinstance(defaults, dict):
        return {key: value for key, value in defaults.items() if key in _SITE_DEFAULT_KEYS}
    return defaults


def policy_host_target(normalized, mail_host=None):
    """The host ``mta-sts.<domain>`` points at as the record engine publishes it, or None.

    ``mta_sts.policy_host`` when set, else ``mta_sts.delegate_to``, else the mail host: the same
    order as ``records``. None when the domain publishes A/AAAA records
    (``policy_host_addresses``) instead, or when nothing names a host.
    """
    sts = normalized.get("mta_sts") or {}
    if sts.get("policy_host_addresses"):
        return None
    return sts.get("policy_host") or sts.get("delegate_to") or mail_host or None


def sites(domains, mail_host=None, defaults=None, serving_host=None, names=None):
    """The MTA-STS sites one web server serves, in inventory order.

    ``domains``, ``mail_host``, ``defaults`` are ``mailsec_domains``, ``mailsec_mail_host`` and
    ``mailsec_domain_defaults``. Which domains:

    * ``names`` given: exactly those (each must be in ``domains`` with MTA-STS on);
    * else ``serving_host`` given: those whose ``mta-sts.<domain>`` points at it (``policy_host_target``);
    * else every domain with MTA-STS on.

    Each site is ``{domain, policy_host, target, policy, id, txt, mode, mx, max_age}``.
    """
    if domains is None:
        domains = []
    if not isinstance(domains, (list, tuple)):
        raise SpecError("mailsec_domains", "must be a list of domains, got %s" % kind_of(domains))
    model = spec.normalize_model([_site_entry(entry) for entry in domains], mail_host=mail_host, defaults=_site_defaults(defaults))
    host = normalize_domain(serving_host, "serving_host") if serving_host else None
    by_name = {item["name"]: item for item in model["domains"]}
    if names is not None:
        if isinstance(names, str):
            names = [names]
        chosen = []
        for index, name in enumerate(names):
            field = "names[%d]" % index
            wanted = normalize_domain(name, field)
            if wanted not in by_name:
                raise SpecError(field, "%s is not in mailsec_domains" % wanted, wanted)
            if not by_name[wanted].get("mta_sts"):
                raise SpecError(field, "MTA-STS is off for %s, so there is no policy to serve" % wanted, wanted)
            if by_name[wanted] not in chosen:
                chosen.append(by_name[wanted])
    else:
        chosen = [
            item for item in model["domains"]
            if item.get("mta_sts") and (host is None or policy_host_target(item, model["mail_host"]) == host)
        ]
    result = []
    for item in chosen:
        sts = item["mta_sts"]
        policy = mta_sts.build_policy(sts)
        site = {
            "domain": item["name"],
            "policy_host": mta_sts.policy_host(item["name"]),
            "target": policy_host_target(item, model["mail_host"]),
            "policy": policy,
            "mode": sts["mode"],
            "mx": list(sts["mx"]),
            "max_age": sts["max_age"],
        }
        site.update(published(policy))
        result.append(site)
    return result


def shared_policy(site_list, server="this web server"):
    """The one policy ``server`` publishes for all ``site_list`` (each ``sites`` item), with its id and TXT.

    A server that serves the same file to every ``mta-sts.<domain>`` (mailcow before 2025-09) can
    publish a policy only if all its domains want the same one. Raises SpecError naming the
    domains and what each wants when they differ, and when there is no domain at all.
    """
    if not site_list:
        raise SpecError("mailsec_domains", "no domain with MTA-STS is served by %s" % server)
    groups = {}
    for site in site_list:
        groups.setdefault(site["policy"], []).append(site)
    if len(groups) > 1:
        described = [
            "%s: mode %s, max_age %d, mx %s"
            % (", ".join(item["domain"] for item in group), group[0]["mode"], group[0]["max_age"], ", ".join(group[0]["mx"]) or "(none)")
            for group in groups.values()
        ]
        raise SpecError(
            "mta_sts",
            "%s serves one policy file to all its domains, but they ask for %d different policies: %s; "
            "give them the same mode, max_age and mx (for example in mailsec_domain_defaults)"
            % (server, len(groups), "; ".join(described)),
        )
    policy = site_list[0]["policy"]
    result = {"policy": policy, "domains": [site["domain"] for site in site_list]}
    result.update(published(policy))
    return result

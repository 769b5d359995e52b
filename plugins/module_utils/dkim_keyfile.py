# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DKIM signing keys kept in files: create once, keep, describe, and give the TXT record to publish.

Private to the collection: users may rely only on plugins and modules.

The key record's text comes from ``dkim.build`` (through ``dkim.normalize_spec``), so the module
returns exactly what the ``mail_records`` lookup publishes for the same key. Private keys are
written atomically with mode 0600 (``files.write_atomic(secret=True)``) and never returned.
"""

from __future__ import annotations

import errno
import os
import stat

from ansible_collections.mailsec.posture.plugins.module_utils import dkim, files
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.names import fqdn, is_subdomain, normalize_domain

try:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - exercised only without the package
    HAS_CRYPTOGRAPHY = False

KEY_TYPES = ("rsa", "ed25519")
RSA_BITS = (2048, 3072, 4096)
DEFAULT_RSA_BITS = 2048
DEFAULT_TTL = 3600
RSA_PUBLIC_EXPONENT = 65537


def _require_cryptography():
    if not HAS_CRYPTOGRAPHY:
        raise MailsecError("DKIM keys need the Python library cryptography (pip install cryptography)")


def check_request(key_type, key_bits):
    """The key size a request means (256 for ed25519), or SpecError naming the option."""
    if key_type not in KEY_TYPES:
        raise SpecError("key_type", "must be one of %s, got %r" % (", ".join(KEY_TYPES), key_type))
    if key_type == "ed25519":
        return 256
    if key_bits is None:
        return DEFAULT_RSA_BITS
    if key_bits not in RSA_BITS:
        raise SpecError("key_bits", "RSA keys must have %s bits (RFC 8301: at least 2048), got %r" % (", ".join(str(b) for b in RSA_BITS), key_bits))
    return key_bits


def generate_private_key(key_type, key_bits):
    """A new private key as unencrypted PKCS#8 PEM bytes."""
    _require_cryptography()
    if key_type == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        key = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=key_bits)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def describe_private_key(pem):
    """``{key_type, key_bits, public_key_pem}`` of a PEM private key; MailsecError if it is not a usable DKIM key.

    The message never quotes the file's content.
    """
    _require_cryptography()
    if b"ENCRYPTED" in pem:
        raise MailsecError("holds an encrypted private key; DKIM signers need it unencrypted")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise MailsecError("is not a PEM private key") from None
    except UnsupportedAlgorithm:
        raise MailsecError("holds a private key of a kind this host's cryptography library does not support") from None
    if isinstance(key, rsa.RSAPrivateKey):
        key_type, key_bits = "rsa", key.key_size
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        key_type, key_bits = "ed25519", 256
    else:
        raise MailsecError("holds a key DKIM cannot use (%s); DKIM keys are RSA or Ed25519 (RFC 6376, RFC 8463)" % type(key).__name__)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"key_type": key_type, "key_bits": key_bits, "public_key_pem": public_pem.decode("ascii")}


def key_record(public_key_pem, selector, domain=None, ttl=DEFAULT_TTL, zone=None):
    """What to publish for a public key: the TXT value (``dkim.build``), its name and a record in the lookup's shape.

    ``domain`` is optional: without it there is no record name and no record.
    """
    domain = normalize_domain(domain, "domain") if domain else None
    entry = dkim.normalize_spec({"selector": selector, "public_key": public_key_pem}, domain)[0]
    result = {
        "selector": entry["selector"],
        "key_type": entry["key_type"],
        "key_bits": entry["key_bits"],
        "public_key": entry["public_key"],
        "public_key_pem": public_key_pem,
        "txt": dkim.build(entry),
        "record_name": None,
        "record": None,
    }
    if domain:
        zone = normalize_domain(zone, "zone") if zone else domain
        name = fqdn(dkim.record_name(entry["selector"], domain))
        if not is_subdomain(name, zone):
            raise SpecError("zone", "%s is not inside zone %s" % (name, zone), domain)
        result["record_name"] = name
        result["record"] = {
            "name": name,
            "type": "TXT",
            "ttl": ttl,
            "value": result["txt"],
            "zone": zone,
            "domain": domain,
            "standard": "dkim",
        }
    return result


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def read_key_file(path):
    """``(content, stat)`` of the key file at ``path``, or ``(None, None)`` when there is none.

    A symbolic link is refused, never followed (a dangling one would make us create a key where it
    points, and ``force`` overwrite its target): the file is opened with O_NOFOLLOW. A directory,
    a device or a pipe is refused too.
    """
    if os.path.islink(path):
        raise MailsecError("%s is a symbolic link; refusing to follow it for a private key (point path at the file itself)" % path)
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise MailsecError("%s is a symbolic link; refusing to follow it for a private key (point path at the file itself)" % path) from None
        raise files.FileError(path, "cannot read: %s" % (exc.strerror or exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise MailsecError("%s is not a regular file; refusing to use it as a private key" % path)
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks), info
    finally:
        os.close(fd)


def check_directory(path):
    """Warnings about the key's directory; MailsecError when others may write there.

    In a directory others may write to (without the sticky bit), anyone can replace the key or put a
    link in its place; with the sticky bit (like /tmp) they can still take its name first.
    """
    directory = os.path.dirname(os.path.abspath(path))
    try:
        info = os.stat(directory)
    except FileNotFoundError:
        raise files.FileMissingError(path, "cannot write: directory %s does not exist" % directory) from None
    if not info.st_mode & stat.S_IWOTH:
        return []
    if not info.st_mode & stat.S_ISVTX:
        raise MailsecError(
            "%s: the directory %s is writable by every user (mode %04o), so anyone could replace the key; "
            "keep DKIM keys in a directory only its owner can write (chmod o-w)" % (path, directory, stat.S_IMODE(info.st_mode))
        )
    return ["the directory %s of %s is writable by every user (mode %04o, sticky): others can take a key's name first; "
            "keep DKIM keys in a directory only its owner can write" % (directory, path, stat.S_IMODE(info.st_mode))]


def _exposure_warnings(path, info):
    warnings = []
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o044:
        warnings.append(
            "%s was readable by %s (mode %04o) before its mode was set to 0600: treat the key as exposed "
            "and consider a new one (force=true and a new selector)" % (path, "others" if mode & 0o004 else "its group", mode)
        )
    if info.st_uid != os.geteuid():
        warnings.append(
            "%s is owned by user id %d, not by the user running this task (%d): whoever owns it can replace the key"
            % (path, info.st_uid, os.geteuid())
        )
    return warnings


def ensure_key(path, selector, key_type="rsa", key_bits=None, force=False, check_mode=False, domain=None, ttl=DEFAULT_TTL, zone=None):
    """Keep the DKIM private key at ``path``, or create it; return what to publish.

    An existing readable key is kept, whatever its type or size, unless ``force`` and it differs from
    ``key_type``/``key_bits`` (a mismatch without ``force`` is a warning). A file that is not a usable
    key is replaced only with ``force``. The file ends with mode 0600. In check mode nothing is written
    and a key that would be created has no public values yet.

    Returns ``{changed, created, replaced, mode_fixed, warnings, path, ...key_record}``.
    """
    wanted_bits = check_request(key_type, key_bits)
    if not isinstance(selector, str) or not selector.strip():
        raise SpecError("selector", "is required: a selector such as 'dkim' or '2026a'")
    warnings = check_directory(path)
    existing, existing_info = read_key_file(path)
    described = None
    replace_reason = None
    if existing is not None:
        try:
            described = describe_private_key(existing)
        except MailsecError as exc:
            if not force:
                raise MailsecError("%s: %s; set force=true to replace it with a new key" % (path, exc)) from None
            replace_reason = str(exc)
        if described is not None:
            differs = described["key_type"] != key_type or (key_type == "rsa" and described["key_bits"] != wanted_bits)
            if differs and force:
                replace_reason = "it is a %d-bit %s key" % (described["key_bits"], described["key_type"])
            elif differs:
                warnings.append(
                    "%s holds a %d-bit %s key, not the %d-bit %s key asked for; it is kept (set force=true to replace it, "
                    "then publish the new TXT record at once)" % (path, described["key_bits"], described["key_type"], wanted_bits, key_type)
                )

    outcome = {"changed": False, "created": False, "replaced": False, "mode_fixed": False, "warnings": warnings, "path": path}
    if described is not None and replace_reason is None:
        outcome.update(key_record(described["public_key_pem"], selector, domain, ttl, zone))
        warnings.extend(_exposure_warnings(path, existing_info))
        if stat.S_IMODE(existing_info.st_mode) != files.SECRET_MODE:
            outcome["changed"] = outcome["mode_fixed"] = True
            if not check_mode:
                _set_secret_mode(path)
        return outcome

    if existing_info is not None:
        warnings.extend(_exposure_warnings(path, existing_info))
    outcome["changed"] = True
    outcome["created"] = existing is None
    outcome["replaced"] = existing is not None
    if replace_reason:
        warnings.append("%s is replaced by a new key (%s); signatures made with the old key fail once the new TXT record is published" % (path, replace_reason))
    if check_mode:
        # Validate selector, domain and zone as the real run would, with a throwaway key made in no time.
        probe = describe_private_key(generate_private_key("ed25519", 256))
        record = key_record(probe["public_key_pem"], selector, domain, ttl, zone)
        outcome.update({key: None for key in record})
        outcome.update(selector=record["selector"], record_name=record["record_name"], key_type=key_type, key_bits=wanted_bits)
        return outcome
    pem = generate_private_key(key_type, wanted_bits)
    described = describe_private_key(pem)
    outcome.update(key_record(described["public_key_pem"], selector, domain, ttl, zone))  # validates before the write
    files.write_atomic(path, pem, secret=True, follow_links=False)
    return outcome


def _set_secret_mode(path):
    # On the file itself, never through a link put there since it was read.
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise files.FileError(path, "cannot set mode 0600: %s" % (exc.strerror or exc)) from None
    try:
        os.fchmod(fd, files.SECRET_MODE)
    finally:
        os.close(fd)

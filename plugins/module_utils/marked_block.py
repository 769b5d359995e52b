# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A block of lines that a module owns inside a file other people edit too (postfix's extra.cf, a compose
override file): it stands between ``# BEGIN <marker>`` and ``# END <marker>``, so the module can find,
replace and remove exactly its own lines and nothing else.

Private to the collection: users may rely only on plugins and modules.
"""

from __future__ import annotations

from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError


def markers(marker, error=MailsecError):
    """The first and last line of the block (without line endings); ``error`` is raised for a bad marker."""
    if not marker or "\n" in marker or "\r" in marker:
        raise error("the block marker must be one line of text, got %r" % (marker,))
    return "# BEGIN %s" % marker, "# END %s" % marker


def find_block(lines, marker, error=MailsecError):
    """``(first, last)`` line indexes of the block in ``lines``, or None; a broken or repeated block raises ``error``."""
    begin, end = markers(marker, error)
    stripped = [line.rstrip("\r\n").strip() for line in lines]
    starts = [index for index, content in enumerate(stripped) if content == begin]
    ends = [index for index, content in enumerate(stripped) if content == end]
    if not starts and not ends:
        return None
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        where = ", ".join(str(index + 1) for index in sorted(starts + ends))
        raise error(
            "the lines %r and %r must appear once each, in that order, around the block this module manages; "
            "found them on line(s) %s. Repair or remove them by hand." % (begin, end, where)
        )
    return starts[0], ends[0]

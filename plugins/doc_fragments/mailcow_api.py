# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options that reach the mailcow API, documented once for every plugin that talks to it."""

from __future__ import annotations


class ModuleDocFragment:
    # The connection to the mailcow API. Modules take the two environment variables through
    # mailsec.posture's module_utils/mailcow_module.py (env_fallback); the lookup adds LOOKUP below.
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Base URL of the mailcow UI, for example C(https://mail.example.com). A trailing C(/api/v1) is ignored.
      - Plain C(http://) is accepted only for a loopback address, and the key is sent only when the address
        connected to is loopback. A loopback URL is reached directly, never through a proxy from
        E(http_proxy) or E(https_proxy); other hosts through the environment's proxy, over TLS.
      - Falls back to the environment variable E(MAILCOW_API_URL).
    type: str
    required: true
  api_key:
    description:
      - mailcow API key (System > Configuration > Access > API). Reading, as a lookup or check mode does, works
        with a read-only key; changing mailcow needs a read-write key.
      - It is sent only in the C(X-API-Key) header and never appears in a message.
      - Falls back to the environment variable E(MAILCOW_API_KEY).
    type: str
    required: true
  ca_path:
    description:
      - A PEM file of CA certificates to verify the mailcow certificate with, instead of the system store.
      - The certificate of O(api_url) is always verified, and redirects are refused, since they would carry
        the key to another URL.
    type: path
  timeout:
    description:
      - Seconds one API request may take in total (connection, TLS, headers and body), however slowly the
        server sends.
    type: float
    default: 30
"""

    # For lookups: Ansible's configuration system reads the environment variables itself.
    LOOKUP = r"""
options:
  api_url:
    env:
      - name: MAILCOW_API_URL
  api_key:
    env:
      - name: MAILCOW_API_KEY
"""

"""Make paths immutable with ``chattr +i`` for tests of a write or removal the system refuses.

Root ignores permissions, so an immutable flag is the one refusal a test running as root can meet
for real: the path can then be neither replaced, removed nor written into.
"""

import contextlib
import os
import shutil
import subprocess

import pytest


@contextlib.contextmanager
def immutable_paths():
    """Yield ``mark(path)``, which makes ``path`` immutable (or skips the test); every mark is undone at exit."""
    marked = []

    def mark(path):
        if os.geteuid() != 0 or not shutil.which("chattr"):
            pytest.skip("needs root and chattr")
        result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
        if result.returncode != 0:
            pytest.skip("this filesystem does not support chattr +i: %s" % result.stderr.decode().strip())
        marked.append(path)

    try:
        yield mark
    finally:
        for path in marked:
            subprocess.run(["chattr", "-i", str(path)], check=False)

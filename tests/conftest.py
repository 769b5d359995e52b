"""Hooks for every test run: the fuzz and fault suite's figures are printed in the terminal summary."""

from fault_figures import pytest_configure, pytest_terminal_summary  # noqa: F401 (pytest hooks)

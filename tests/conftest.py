"""Hooks for every test run: the fuzz and fault suite's figures are printed in the terminal summary."""

import fault_figures


def pytest_configure(config):
    fault_figures.reset(config)


def pytest_terminal_summary(terminalreporter):
    fault_figures.print_summary(terminalreporter)

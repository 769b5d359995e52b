"""Figures of the fuzz and fault suite (issue 13): files tried, bytes lost, seconds past the timeout,
secrets found in output. Tests record them with ``record``; the terminal summary of the pytest run
prints their totals (also when xdist workers recorded them: they go through a file).

``MAILSEC_FUZZ_SCALE`` (default 1) multiplies the fuzz counts: ``make fuzz`` runs a longer sample.
"""

import json
import os
import time

FIGURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".build", "fault-figures.jsonl")
SCALE = max(1, int(os.environ.get("MAILSEC_FUZZ_SCALE", "1") or 1))


def scaled(count):
    return count * SCALE


def record(item, **figures):
    """Add ``figures`` (numbers) for ``item`` (what was tried) to this run's figures."""
    os.makedirs(os.path.dirname(FIGURES), exist_ok=True)
    with open(FIGURES, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"item": item, "time": time.time(), "figures": figures}) + "\n")


def reset(config):
    """At the start of a run (not in xdist workers): forget the figures of earlier runs."""
    if not hasattr(config, "workerinput"):
        try:
            os.unlink(FIGURES)
        except FileNotFoundError:
            pass


def summary_lines():
    """One line per item, then the totals; [] when no fault test ran."""
    try:
        with open(FIGURES, encoding="utf-8") as handle:
            entries = [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError:
        return []
    by_item = {}
    totals = {}
    for entry in entries:
        figures = by_item.setdefault(entry["item"], {})
        for name, value in entry["figures"].items():
            if name.startswith("max_"):
                figures[name] = max(figures.get(name, value), value)
                totals[name] = max(totals.get(name, value), value)
            else:
                figures[name] = figures.get(name, 0) + value
                totals[name] = totals.get(name, 0) + value

    def text(figures):
        return ", ".join("%s %s" % (name.replace("_", " "), round(value, 3) if isinstance(value, float) else value) for name, value in sorted(figures.items()))

    lines = ["%s: %s" % (item, text(figures)) for item, figures in sorted(by_item.items())]
    lines.append("TOTAL: %s" % text(totals))
    return lines


def print_summary(terminalreporter):
    lines = summary_lines()
    if lines:
        terminalreporter.section("fault and fuzz figures (issue 13)")
        for line in lines:
            terminalreporter.write_line(line)

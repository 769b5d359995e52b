"""Spreading a verification run over processes: order, errors, dead and stuck workers, when not to fork."""

import os
import threading
import time

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import verify_input
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.resolver import Resolver


@pytest.fixture
def forking(monkeypatch):
    """Allow forks although pytest-xdist runs a thread of its own in this process (the children
    here touch nothing that thread could hold)."""
    monkeypatch.setattr(verify_input, "_can_fork", lambda: True)


def where(share, count):
    return [(item, os.getpid(), count) for item in share]


def test_results_come_back_in_the_order_of_the_items_from_every_process(forking):
    results = verify_input.spread(where, list(range(10)), 3, limit_seconds=30)
    assert [item for item, _pid, _count in results] == list(range(10))
    pids = {item: pid for item, pid, _count in results}
    assert all(pids[item] == os.getpid() for item in (0, 3, 6, 9)), "share 0 (every third item) runs here"
    assert len({pids[1], pids[2], os.getpid()}) == 3, "the other shares run in two other processes"
    assert {count for _item, _pid, count in results} == {3}


def test_one_process_or_one_item_runs_here_without_forking(forking):
    assert {pid for _item, pid, count in verify_input.spread(where, ["a", "b"], 1, 30)} == {os.getpid()}
    assert verify_input.spread(where, ["a"], 4, 30) == [("a", os.getpid(), 1)]
    assert verify_input.spread(where, [], 4, 30) == []


def test_with_other_threads_running_everything_runs_here():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        results = verify_input.spread(where, list(range(6)), 2, 30)
    finally:
        stop.set()
        other.join(5)
    assert {pid for _item, pid, _count in results} == {os.getpid()}
    assert {count for _item, _pid, count in results} == {1}, "the whole concurrency then stays in this process"


def test_an_error_in_a_worker_is_raised_here(forking):
    def failing(share, count):
        if os.getpid() != parent:
            raise SpecError("domains[1]", "not a domain", "bad.example")
        return where(share, count)

    parent = os.getpid()
    with pytest.raises(MailsecError, match="not a domain") as caught:
        verify_input.spread(failing, ["a", "b"], 2, 30)
    assert "bad.example" in str(caught.value)


def test_a_defect_in_a_worker_is_a_worker_error_with_its_message(forking):
    def broken(share, count):
        if os.getpid() != parent:
            raise KeyError("missing")
        return where(share, count)

    parent = os.getpid()
    with pytest.raises(verify_input.WorkerError, match="a worker process failed: KeyError: 'missing'"):
        verify_input.spread(broken, ["a", "b"], 2, 30)


def test_a_worker_that_dies_has_its_share_done_here(forking):
    def dying(share, count):
        if os.getpid() != parent:
            os._exit(3)  # pylint: disable=protected-access
        return where(share, count)

    parent = os.getpid()
    results = verify_input.spread(dying, ["a", "b", "c", "d"], 2, 30)
    assert [item for item, _pid, _count in results] == ["a", "b", "c", "d"]
    assert {pid for _item, pid, _count in results} == {parent}


def test_a_stuck_worker_is_killed_at_the_limit(forking):
    def stuck(share, count):
        if os.getpid() != parent:
            time.sleep(60)
        return where(share, count)

    parent = os.getpid()
    began = time.monotonic()
    with pytest.raises(verify_input.WorkerError, match="did not finish within 1 s"):
        verify_input.spread(stuck, ["a", "b"], 2, limit_seconds=1)
    assert time.monotonic() - began < 5
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child left behind, not even a zombie


@pytest.mark.parametrize(
    "requested, items, concurrency, cpus, expected",
    [
        (None, 1000, 32, 2, 2),  # automatic: one per CPU
        (0, 1000, 32, 8, 4),  # at most MAX_AUTO_PROCESSES
        (None, 399, 32, 2, 1),  # fewer than 200 domains each: not worth a process
        (None, 400, 32, 2, 2),
        (None, 1000, 32, 1, 1),
        (3, 1000, 32, 1, 3),  # asked for: as many, CPUs or not
        (3, 2, 32, 8, 2),  # never more than domains
        (8, 1000, 4, 8, 4),  # nor than the concurrency (each gets at least one)
        (1, 1000, 32, 8, 1),
    ],
)
def test_process_count(monkeypatch, requested, items, concurrency, cpus, expected):
    monkeypatch.setattr(verify_input, "available_cpus", lambda: cpus)
    assert verify_input.process_count(requested, items, concurrency) == expected


@pytest.mark.parametrize("value", [-1, 1.5, "2"])
def test_bad_processes(value):
    with pytest.raises(SpecError) as caught:
        verify_input.check_processes(value)
    assert caught.value.field == "processes"


def test_a_divided_resolver_keeps_everything_but_the_concurrency_and_the_cache():
    resolver = Resolver(["127.0.0.1:5353", "[::1]:53"], timeout=1.5, lifetime=4, concurrency=128, want_dnssec=True, transport="tcp")
    half = resolver.divided(2)
    assert half is not resolver and half.concurrency == 64
    assert (half.nameservers, half.timeout, half.lifetime, half.want_dnssec, half.transport) == \
        (resolver.nameservers, resolver.timeout, resolver.lifetime, resolver.want_dnssec, resolver.transport)
    assert resolver.divided(1) is resolver and resolver.divided(500).concurrency == 1

"""``python -m servers`` runs on the C library's malloc (servers/allocator.py says why): the
process it re-executes into is the one ``lab`` started, and its workers inherit the choice."""

from __future__ import annotations

import os

import pytest

from benchmarks.loadgen import procstat
from rtlab import lab
from servers.allocator import ENV, glibc_version

pytestmark = pytest.mark.skipif(glibc_version() is None, reason="re-executes on glibc only")


def allocator(pid: int) -> str | None:
    return procstat.environ_value(pid, ENV)


def test_the_started_process_itself_runs_on_malloc(monkeypatch, launch_server) -> None:
    monkeypatch.delenv(ENV, raising=False)
    server = launch_server()
    assert server.alive and allocator(server.pid) == "malloc"  # same pid: exec, not a child
    assert procstat.family(server.pid) == [server.pid]


def test_an_allocator_chosen_by_the_user_is_kept(monkeypatch) -> None:
    monkeypatch.setenv(ENV, "pymalloc")
    server = lab.ServerProcess.launch()
    try:
        assert allocator(server.pid) == "pymalloc"
    finally:
        server.stop()


def test_workers_inherit_malloc_and_do_not_reexecute(monkeypatch, launch_server,
                                                     redis_server) -> None:
    monkeypatch.delenv(ENV, raising=False)
    server = launch_server(extra_args=("--workers", "2", "--broker", redis_server.url))
    family = procstat.family(server.pid)
    assert len(family) == 3, family  # the master and two workers, nothing in between
    assert {allocator(pid) for pid in family} == {"malloc"}
    assert os.getpid() not in family

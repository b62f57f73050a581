"""rtlab.lab: the process a notebook starts, kills, freezes and leaves behind."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from rtlab import lab


def gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (a zombie nobody reaped counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait_gone(pid: int, seconds: float) -> float:
    t0 = time.monotonic()
    while not gone(pid):
        assert time.monotonic() - t0 < seconds, f"server {pid} still alive after {seconds} s"
        time.sleep(0.02)
    return time.monotonic() - t0


async def echo(ws, id: str = "x") -> None:
    await ws.send(json.dumps({"type": "t", "id": id}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 2))["id"] == id


async def test_kill_then_restart_on_the_same_port(lab_server) -> None:
    url, port, old_pid = lab_server.ws_url(), lab_server.port, lab_server.pid
    async with connect(url) as ws:
        await echo(ws)
        lab_server.kill()
        assert not lab_server.alive
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 2)
        assert ws.close_code == 1006
    lab_server.restart()
    assert lab_server.alive and lab_server.port == port and lab_server.pid != old_pid
    async with connect(url) as ws:
        await echo(ws)


async def test_sigstop_freeze_and_thaw(lab_server) -> None:
    async with connect(lab_server.ws_url(), ping_interval=None) as ws:
        await echo(ws)
        lab_server.freeze()
        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(await ws.ping(), 0.5)
            with pytest.raises(lab.LabError, match="frozen"):
                lab.ChaosClient(lab_server.url, timeout=0.3).stats()
        finally:
            lab_server.thaw()
        await asyncio.wait_for(await ws.ping(), 2)
        await echo(ws, "after")


async def test_stop_is_bounded_with_open_connections(lab_server) -> None:
    async with (
        connect(lab_server.ws_url("/ws/echo")) as e,
        connect(lab_server.ws_url("/ws/chat")) as c,
        connect(lab_server.ws_url("/ws/ticker?rate=50")) as t,
    ):
        await echo(e)
        await c.recv()
        await t.recv()
        t0 = time.monotonic()
        lab_server.proc.send_signal(signal.SIGTERM)
        lab_server.proc.wait(timeout=5)
        assert time.monotonic() - t0 < 2.0
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(e.recv(), 2)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1012


def test_start_reuses_the_running_server_unless_options_differ() -> None:
    started: list[lab.ServerProcess] = []
    try:
        first = lab.start()
        started.append(first)
        assert lab.start() is first and first.alive
        first.kill()
        again = lab.start()  # a dead shared server comes back on its port
        assert again is first and again.alive
        other = lab.start(token_ttl=5)
        started.append(other)
        assert other is not first and not first.alive and other.alive
    finally:
        # Only what this test started: stop_all() would also stop the session's shared_server.
        for server in started:
            server.stop()


def run_parent(code: str) -> tuple[subprocess.Popen[str], int]:
    """A Python process (like a kernel) that starts a server with rtlab.lab and prints its pid."""
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    line = parent.stdout.readline()
    assert line.strip().isdigit(), f"parent printed {line!r}"
    return parent, int(line)


def test_server_dies_when_its_parent_is_sigkilled() -> None:
    parent, pid = run_parent(
        "from rtlab import lab; import time; print(lab.start().pid, flush=True); time.sleep(60)"
    )
    assert not gone(pid)
    parent.kill()  # like nbval: no atexit, no cleanup
    parent.wait()
    wait_gone(pid, 3.0)


def test_server_stops_at_parent_exit() -> None:
    parent, pid = run_parent("from rtlab import lab; print(lab.start().pid, flush=True)")
    parent.wait(timeout=10)
    assert parent.returncode == 0
    assert gone(pid)  # stop_all ran at exit and waited: not left to the lifeline poller


def test_start_failure_reports_the_server_stderr() -> None:
    with pytest.raises(lab.LabError, match="exited with code") as info:
        lab.ServerProcess.launch(extra_args=("--max-frame", "not-a-number"))
    assert "--max-frame: invalid int value" in str(info.value)

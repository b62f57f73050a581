"""A server started from a real Jupyter kernel dies with it, even when the kernel is SIGKILLed.

nbval kills kernels with SIGKILL, so ``atexit`` never runs: only the server's own
lifeline can clean up. This test does what nbval does, with a real ipykernel.
"""

from __future__ import annotations

import os
import signal
import time

from jupyter_client.manager import start_new_kernel


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purpose.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_server_dies_when_its_kernel_is_sigkilled() -> None:
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        reply = client.execute_interactive(
            "from rtlab import lab; s = lab.start(); print(s.pid, s.alive)", timeout=30
        )
        assert reply["content"]["status"] == "ok"
        outputs: list[str] = []
        client.execute_interactive(
            "print(lab.start().pid)",
            timeout=10,
            output_hook=lambda msg: outputs.append(msg["content"].get("text", "")),
        )
        pid = int("".join(outputs).split()[0])
        assert _alive(pid)
        os.kill(manager.provisioner.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling a process table: no event to await
        assert not _alive(pid), f"server {pid} outlived its SIGKILLed kernel"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)

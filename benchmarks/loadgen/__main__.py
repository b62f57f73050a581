"""``python -m benchmarks.loadgen --kind ws|polling|sse --url http://127.0.0.1:PORT``: one
load-generator process, driven by the benchmark over stdin/stdout, one JSON object a line.

Commands and answers:

- ``{"op": "open", "n": N}`` -> opens N more clients (``--concurrency`` at a time), each
  joined to the room (or reading the stream) before it counts:
  ``{"clients": total, "failed": n, "error": "first failure" | null}``
- ``{"op": "reset", "since": T}`` -> forget what was recorded; record messages whose origin
  is at or after T: ``{"ok": true}``
- ``{"op": "report", "until": T}`` -> :meth:`Recorder.report` plus ``"alive"`` (clients whose
  connection is still open)
- ``{"op": "close"}`` -> every client leaves: ``{"clients": 0}``
- ``{"op": "exit"}`` (or end of stdin) -> closes everything and exits.

Traffic goes to the ``--url`` given, which the driver builds on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from benchmarks.loadgen import sio, sse
from benchmarks.loadgen.samples import Recorder

KINDS = ("ws", "polling", "sse")


class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.recorder = Recorder()
        self.clients: list[Any] = []

    async def _one(self) -> Any:
        a = self.args
        if a.kind == "ws":
            return await sio.open_websocket(a.url, a.namespace, a.room, self.recorder)
        if a.kind == "polling":
            return await sio.open_polling(a.url, a.namespace, a.room, self.recorder)
        return await sse.open_stream(a.url, a.path, self.recorder)

    async def open(self, n: int) -> dict[str, Any]:
        gate = asyncio.Semaphore(self.args.concurrency)
        failures: list[str] = []

        async def one() -> None:
            async with gate:
                try:
                    client = await asyncio.wait_for(self._one(), self.args.connect_timeout)
                except Exception as exc:  # noqa: BLE001 - counted and reported, not raised
                    failures.append(f"{type(exc).__name__}: {exc}")
                    return
                self.clients.append(client)

        await asyncio.gather(*(one() for _ in range(n)))
        return {"clients": len(self.clients), "failed": len(failures),
                "error": failures[0] if failures else None}

    def alive(self) -> int:
        n = 0
        for client in self.clients:
            transport = getattr(client, "transport", None)
            task = getattr(client, "task", None)
            if transport is not None and not transport.is_closing():
                n += 1
            elif task is not None and not task.done():
                n += 1
        return n

    async def close(self) -> dict[str, Any]:
        clients, self.clients = self.clients, []
        for client in clients:
            result = client.close()
            if asyncio.iscoroutine(result):
                await result
        return {"clients": 0}

    async def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        op = command.get("op")
        if op == "open":
            return await self.open(int(command["n"]))
        if op == "reset":
            self.recorder.reset(float(command["since"]))
            return {"ok": True}
        if op == "report":
            return {**self.recorder.report(float(command["until"])), "alive": self.alive()}
        if op == "close":
            return await self.close()
        return {"error": f"unknown op {op!r}"}


async def main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    gen = Generator(args)
    try:
        while line := await reader.readline():
            command = json.loads(line)
            if command.get("op") == "exit":
                break
            answer = await gen.handle(command)
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    finally:
        await gen.close()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.loadgen", description=__doc__)
    p.add_argument("--kind", choices=KINDS, required=True)
    p.add_argument("--url", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--namespace", default="/chat")
    p.add_argument("--room", default="class")
    p.add_argument("--path", default="/sse/news?interval=0.5&ping=0", help="SSE stream")
    p.add_argument("--concurrency", type=int, default=50, help="connects in flight")
    p.add_argument("--connect-timeout", type=float, default=30.0)
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))

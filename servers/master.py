"""The master of ``python -m servers --workers N --broker redis://…``: one port, N workers.

The master owns the listening socket and serves no request itself. For each connection it
waits for the request line, reads it without consuming it (``MSG_PEEK``), picks the worker
(:func:`servers.handoff.owner` for a Socket.IO session, else the next live worker in turn)
and passes the socket to it (:mod:`servers.worker`). Every later byte flows between the
client and that worker directly: the master copies nothing.

Why not a shared accept socket or ``SO_REUSEPORT``: the kernel would spread the requests of
one long-polling session over the workers at random, and only one worker knows the session.

The ready line (``rtlab servers ready on http://HOST:PORT``) is printed once every worker
has said it serves. A worker that dies is reported on stderr and started again under the
same number (its clients reconnect; the other workers' clients never notice). SIGTERM or
SIGINT stops the workers (each closes gracefully, as one process would) and then the master.
Workers share what they cannot draw alike (the JWT secret, classroom tokens) through their
environment, and everything else through the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from servers import handoff

#: how long a connection may stay silent before the master hands it over unread
FIRST_BYTES_SECONDS = 5.0
PARTIAL_LINE_PAUSE = 0.002  # a request line that came in pieces is looked at again after this
ACCEPT_BATCH = 64  # connections accepted per wake-up, at most
#: a worker has this long to start (import, bind its broker, start uvicorn)
START_SECONDS = 30.0
#: a worker that dies sooner than this after its start waits this long before the next one
RESTART_PAUSE = 1.0
STOP_SECONDS = 5.0


def _settle(future: asyncio.Future[None]) -> None:
    """A readiness callback may run again before its reader is removed."""
    if not future.done():
        future.set_result(None)


def log(message: str) -> None:
    print(f"rtlab master: {message}", file=sys.stderr, flush=True)


@dataclass
class Worker:
    index: int
    channel: socket.socket | None = None
    proc: asyncio.subprocess.Process | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    started_at: float = 0.0

    @property
    def alive(self) -> bool:
        return self.ready.is_set() and self.proc is not None and self.proc.returncode is None


class Master:
    def __init__(self, listener: socket.socket, workers: int, worker_args: list[str],
                 worker_env: dict[str, str]) -> None:
        self.listener = listener
        self.workers = [Worker(i) for i in range(workers)]
        self.worker_args = worker_args
        self.worker_env = worker_env  # what they share: the JWT secret, classroom tokens
        self.turn = itertools.cycle(range(workers))
        self.stopping = False
        self.routing: set[asyncio.Task[None]] = set()
        #: accepted connections whose request line has not come yet: fd -> (socket, timeout)
        self.waiting: dict[int, tuple[socket.socket, asyncio.TimerHandle]] = {}

    # -- workers ----------------------------------------------------------------------------
    async def _spawn(self, worker: Worker) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cmd = [sys.executable, "-m", "servers", *self.worker_args,
               "--worker-index", str(worker.index), "--channel-fd", str(theirs.fileno()),
               "--parent-pid", str(os.getpid())]
        env = {**os.environ, **self.worker_env}
        worker.ready.clear()
        worker.proc = await asyncio.create_subprocess_exec(
            *cmd, pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL)
        theirs.close()
        ours.setblocking(False)
        worker.channel = ours
        worker.started_at = time.monotonic()
        asyncio.get_running_loop().add_reader(ours.fileno(), self._on_channel, worker, ours)

    def _on_channel(self, worker: Worker, channel: socket.socket) -> None:
        try:
            data = channel.recv(64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data == handoff.READY:
            worker.ready.set()
            return
        if not data:  # the worker is gone; supervise() reports and restarts it
            asyncio.get_running_loop().remove_reader(channel.fileno())
            worker.ready.clear()

    async def supervise(self, worker: Worker) -> None:
        """Start ``worker``, and start it again whenever it dies (until we stop)."""
        while not self.stopping:
            assert worker.proc is not None
            code = await worker.proc.wait()
            worker.ready.clear()
            self._close_channel(worker)
            if self.stopping:
                return
            log(f"worker {worker.index} (pid {worker.proc.pid}) exited with {code}; "
                "starting it again")
            if time.monotonic() - worker.started_at < RESTART_PAUSE:
                await asyncio.sleep(RESTART_PAUSE)
            await self._spawn(worker)
            try:
                await asyncio.wait_for(worker.ready.wait(), START_SECONDS)
            except TimeoutError:
                log(f"worker {worker.index} did not start within {START_SECONDS:g} s")
                continue
            assert worker.proc is not None
            log(f"worker {worker.index} serves again (pid {worker.proc.pid})")

    def _close_channel(self, worker: Worker) -> None:
        if worker.channel is not None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(worker.channel.fileno())
            worker.channel.close()
            worker.channel = None

    # -- connections ------------------------------------------------------------------------
    def pick(self, head: bytes) -> Worker | None:
        """The worker for a connection whose first bytes are ``head``."""
        index = handoff.owner(head, len(self.workers))
        if index is not None and self.workers[index].alive:
            return self.workers[index]
        for _ in range(len(self.workers)):
            worker = self.workers[next(self.turn)]
            if worker.alive:
                return worker
        return None

    # Connections are driven by callbacks, not a task each: accepting and passing sockets
    # is all the master does, and a task per connection halved its rate.
    def start_accepting(self) -> None:
        self.listener.setblocking(False)
        if hasattr(socket, "TCP_DEFER_ACCEPT"):  # Linux: wake us once the request has come
            with contextlib.suppress(OSError):
                self.listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT,
                                         int(FIRST_BYTES_SECONDS))
        asyncio.get_running_loop().add_reader(self.listener.fileno(), self._on_accept)

    def _on_accept(self) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _addr = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of file descriptors, ...: the kernel keeps the rest
                log(f"accept failed: {exc}")
                return
            conn.setblocking(False)
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            timer = loop.call_later(FIRST_BYTES_SECONDS, self._on_silence, conn)
            self.waiting[conn.fileno()] = (conn, timer)
            if not self._on_first_bytes(conn):  # usually the request line is already here
                loop.add_reader(conn.fileno(), self._on_first_bytes, conn)

    def _on_first_bytes(self, conn: socket.socket) -> bool:
        """Route once the request line is there (the bytes stay for the worker to read).
        False: nothing to read yet."""
        try:
            head = conn.recv(handoff.PEEK_BYTES, socket.MSG_PEEK)
        except BlockingIOError:
            return False
        except OSError:
            head = b""
        if not head:  # closed before a byte (a client's spare pooled connection)
            self._forget(conn)
            conn.close()
            return True
        if handoff.request_line(head) is None and len(head) < handoff.PEEK_BYTES:
            # The rest of the line is on its way; readiness would fire at once for the bytes
            # already here, so look again shortly (the silence timer still bounds it).
            loop = asyncio.get_running_loop()
            with contextlib.suppress(ValueError, OSError):
                loop.remove_reader(conn.fileno())
            loop.call_later(PARTIAL_LINE_PAUSE, self._look_again, conn)
            return True
        self._route(conn, head)
        return True

    def _look_again(self, conn: socket.socket) -> None:
        if conn.fileno() in self.waiting:
            asyncio.get_running_loop().add_reader(conn.fileno(), self._on_first_bytes, conn)

    def _on_silence(self, conn: socket.socket) -> None:
        """No request line in time: let a worker deal with it, as one process would."""
        try:
            head = conn.recv(handoff.PEEK_BYTES, socket.MSG_PEEK)
        except OSError:
            head = b""
        self._route(conn, head)

    def _forget(self, conn: socket.socket) -> None:
        entry = self.waiting.pop(conn.fileno(), None)
        if entry is not None:
            entry[1].cancel()
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(conn.fileno())

    def _route(self, conn: socket.socket, head: bytes) -> None:
        self._forget(conn)
        worker = self.pick(head)
        if worker is None or worker.channel is None:
            conn.close()  # no worker serves right now: the client sees the connection close
            return
        try:
            handoff.send_socket(worker.channel, conn)
        except BlockingIOError:  # the worker is busy (or frozen): wait until it reads
            task = asyncio.get_running_loop().create_task(self._hand_later(worker, conn))
            self.routing.add(task)
            task.add_done_callback(self.routing.discard)
            return
        except OSError:
            pass  # the worker died meanwhile
        conn.close()

    async def _hand_later(self, worker: Worker, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        with conn:
            deadline = loop.time() + FIRST_BYTES_SECONDS
            while worker.channel is not None and loop.time() < deadline:
                channel = worker.channel
                writable = loop.create_future()
                loop.add_writer(channel.fileno(), _settle, writable)
                try:
                    await asyncio.wait_for(writable, max(deadline - loop.time(), 0))
                except TimeoutError:
                    return
                finally:
                    with contextlib.suppress(ValueError, OSError):
                        loop.remove_writer(channel.fileno())
                try:
                    handoff.send_socket(channel, conn)
                    return
                except BlockingIOError:
                    continue
                except OSError:
                    return

    def stop_accepting(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(self.listener.fileno())
        for conn, _timer in list(self.waiting.values()):
            self._forget(conn)
            conn.close()

    # -- the whole ---------------------------------------------------------------------------
    async def run(self, on_ready: Callable[[], None]) -> None:
        """Start the workers; once all serve, call ``on_ready`` (it prints the ready line)
        and route connections until SIGTERM or SIGINT."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        supervisors: list[asyncio.Task[None]] = []
        try:
            for worker in self.workers:
                await self._spawn(worker)
            waits = {asyncio.ensure_future(asyncio.gather(*(w.ready.wait()
                                                            for w in self.workers))),
                     asyncio.ensure_future(stop.wait())}
            await asyncio.wait(waits, timeout=START_SECONDS,
                               return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
            if stop.is_set():
                return
            if not all(w.ready.is_set() for w in self.workers):
                log(f"not every worker started within {START_SECONDS:g} s (see above)")
                raise SystemExit(1)
            supervisors = [loop.create_task(self.supervise(w)) for w in self.workers]
            self.start_accepting()
            on_ready()
            await stop.wait()
        finally:
            self.stopping = True
            self.stop_accepting()
            await self.stop_workers()
            for task in (*supervisors, *self.routing):
                task.cancel()

    async def stop_workers(self) -> None:
        procs = [w.proc for w in self.workers if w.proc is not None and w.proc.returncode is None]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGCONT)  # a frozen worker cannot stop
                proc.terminate()
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), STOP_SECONDS)
        except TimeoutError:
            for proc in procs:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await asyncio.gather(*(p.wait() for p in procs))
        for worker in self.workers:
            self._close_channel(worker)

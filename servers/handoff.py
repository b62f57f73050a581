"""Which worker gets a new connection, and how the connection gets there.

Socket.IO's long-polling is many HTTP requests for one Engine.IO session, and only the
worker that created the session knows it (python-socketio's docs: a multi-process server
needs sticky sessions). So a worker's session ids carry its number (:func:`worker_sid`:
``w3-…``), the master peeks at the request line of each new connection (``MSG_PEEK``: the
bytes stay in the kernel for the worker to read) and hands the socket to the worker that
:func:`owner` names, or to the next one in turn for anything else.

:func:`owner` is pure (bytes in, a number out); :func:`send_socket` and
:func:`receive_sockets` pass a socket between processes over a Unix ``SOCK_SEQPACKET``
pair (``SCM_RIGHTS``, :func:`socket.send_fds`), one socket per message.
"""

from __future__ import annotations

import re
import socket

#: how much of a request the master reads (with MSG_PEEK) to find the session id
PEEK_BYTES = 2048
#: what a worker says on its channel once it serves
READY = b"ready"
_HANDOFF = b"c"

_SID = re.compile(rb"[?&]sid=w(\d{1,4})-")


def worker_sid(index: int, sid: str) -> str:
    """A session id that names the worker which owns it (Engine.IO ids are opaque to
    clients; they only send them back)."""
    return f"w{index}-{sid}"


def request_line(head: bytes) -> bytes | None:
    """The first line of ``head`` once it is complete (None while it is still arriving)."""
    end = head.find(b"\n")
    return head[:end] if end >= 0 else None


def owner(head: bytes, workers: int, prefix: bytes = b"/socket.io") -> int | None:
    """The worker that owns the Engine.IO session named in the request line of ``head``,
    or None: not a Socket.IO request, no session yet, or a session of no current worker."""
    line = request_line(head)
    parts = (head if line is None else line).split(b" ", 2)
    return target_owner(parts[1], workers, prefix) if len(parts) > 1 else None


def target_owner(target: bytes, workers: int, prefix: bytes = b"/socket.io") -> int | None:
    """:func:`owner` for a request target (``/socket.io/?EIO=4&sid=w1-…``)."""
    if not target.startswith(prefix):
        return None
    match = _SID.search(target)
    if match is None:
        return None
    index = int(match.group(1))
    return index if index < workers else None


def send_socket(channel: socket.socket, conn: socket.socket) -> None:
    """Pass ``conn`` to the process at the other end of ``channel`` (the caller still
    closes its own copy). Raises BlockingIOError when the channel is full."""
    socket.send_fds(channel, [_HANDOFF], [conn.fileno()])


def receive_sockets(channel: socket.socket) -> tuple[list[socket.socket], bytes]:
    """What one message on ``channel`` carried: sockets, and any other bytes
    (b"" with no sockets: the other end is gone)."""
    data, fds, _flags, _addr = socket.recv_fds(channel, 64, 16)
    socks = [socket.socket(fileno=fd) for fd in fds]
    return socks, b"" if data == _HANDOFF else data

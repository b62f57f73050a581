"""``python -m servers.proxy --upstream URL [--block-upgrade] [--port 0]``: a small HTTP proxy.

It stands where a corporate proxy stands: between the client and the demo server. Plain
requests and long responses (Socket.IO long-polling, Server-Sent Events) pass through
as bytes, streamed in both directions; with ``--block-upgrade`` a request that asks for
a protocol upgrade (``Upgrade: websocket``) is answered ``403 Forbidden`` and never
reaches the server, which is what many such proxies do. Raw WebSocket clients then fail,
Socket.IO stays on long-polling, SSE keeps working.

One request per client connection: the proxy sends ``Connection: close`` both ways, so
it never has to find where one response ends and the next request begins, and an
upgrade cannot slip through on a reused connection.

``GET /_proxy/stats`` answers ``{"requests", "blocked_upgrades", "open"}`` (JSON) without
going upstream. Prints ``rtlab proxy ready on http://HOST:PORT`` once it accepts
connections; dies with ``--parent-pid`` like the demo server (:mod:`servers.lifeline`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import sys
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from servers import lifeline

READY = "rtlab proxy ready on http://{host}:{port}"
MAX_HEAD = 64 * 1024
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "upgrade", "proxy-connection",
}
CHUNK = 64 * 1024


@dataclass
class ProxyStats:
    requests: int = 0
    blocked_upgrades: int = 0
    open: int = 0
    blocked_paths: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"requests": self.requests, "blocked_upgrades": self.blocked_upgrades,
                "open": self.open, "blocked_paths": self.blocked_paths[-20:]}


@dataclass
class Head:
    """A parsed request head: request line plus headers, in order."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    @property
    def wants_upgrade(self) -> bool:
        connection = (self.get("connection") or "").lower()
        return self.get("upgrade") is not None or "upgrade" in connection


class BadRequest(ValueError):
    """The bytes before the blank line are not an HTTP/1.x request head."""


def parse_head(raw: bytes) -> Head:
    """Parse ``raw`` (the request head without its final blank line). Pure: bytes in."""
    try:
        text = raw.decode("latin-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes anything
        raise BadRequest(str(exc)) from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"bad request line {lines[0][:80]!r}")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(f"bad header line {line[:80]!r}")
        headers.append((name, value.strip()))
    return Head(parts[0], parts[1], parts[2], headers)


def upstream_head(head: Head, upstream_host: str, client: str, keep_upgrade: bool) -> bytes:
    """The head sent upstream: hop-by-hop headers dropped, ``Connection: close`` added."""
    out = [f"{head.method} {head.target} {head.version}"]
    for name, value in head.headers:
        lower = name.lower()
        if lower in HOP_BY_HOP and not (keep_upgrade and lower in ("upgrade", "connection")):
            continue
        if lower == "host":
            value = upstream_host
        out.append(f"{name}: {value}")
    if not keep_upgrade:
        out.append("Connection: close")
    out.append(f"X-Forwarded-For: {client}")
    out.append("Via: 1.1 rtlab-proxy")
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


def response(status: int, reason: str, body: dict[str, object]) -> bytes:
    data = json.dumps(body).encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    ).encode() + data


class Proxy:
    """Accepts client connections and relays each one's single request upstream."""

    def __init__(self, upstream: str, block_upgrade: bool) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"--upstream must be an http:// URL, got {upstream!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.host_header = parts.netloc
        self.block_upgrade = block_upgrade
        self.stats = ProxyStats()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.open += 1
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self.stats.open -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            writer.write(response(431, "Request Header Fields Too Large",
                                  {"error": "request head too large"}))
            return
        try:
            head = parse_head(raw[:-4])
        except BadRequest as exc:
            writer.write(response(400, "Bad Request", {"error": str(exc)}))
            return
        self.stats.requests += 1
        if head.target.split("?")[0] == "/_proxy/stats":
            writer.write(response(200, "OK", self.stats.to_dict()))
            return
        if head.wants_upgrade and self.block_upgrade:
            self.stats.blocked_upgrades += 1
            self.stats.blocked_paths.append(head.target.split("?")[0])
            writer.write(response(403, "Forbidden", {
                "error": "WebSocket upgrades are blocked by this proxy (rtlab --block-upgrade)"
            }))
            return
        peer = writer.get_extra_info("peername") or ("?",)
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            writer.write(response(502, "Bad Gateway", {"error": f"upstream unreachable: {exc}"}))
            return
        try:
            up_writer.write(upstream_head(head, self.host_header, str(peer[0]),
                                          keep_upgrade=head.wants_upgrade))
            upload = asyncio.ensure_future(_pipe(reader, up_writer))
            try:
                await _pipe(up_reader, writer)  # the response decides when we are done
            finally:
                upload.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await upload
        finally:
            up_writer.close()


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    """Copy bytes until ``src`` ends, then half-close ``dst``. Streams as they arrive."""
    try:
        while chunk := await src.read(CHUNK):
            dst.write(chunk)
            await dst.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if dst.can_write_eof():
                dst.write_eof()
            else:
                dst.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m servers.proxy", description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True, help="http://HOST:PORT of the demo server")
    p.add_argument("--block-upgrade", action="store_true",
                   help="answer 403 to WebSocket upgrade requests")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--parent-pid", type=int, default=None, help="exit when this process dies")
    return p.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    proxy = Proxy(args.upstream, args.block_upgrade)
    server = await asyncio.start_server(proxy.handle, args.host, args.port, limit=MAX_HEAD,
                                        reuse_address=True, family=socket.AF_INET)
    host, port = server.sockets[0].getsockname()[:2]
    print(READY.format(host=host, port=port), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()  # stop accepting; relayed streams are cancelled as the loop ends


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    lifeline.install(args.parent_pid)
    try:
        asyncio.run(serve(args))
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as exc:
        print(f"cannot bind {args.host}:{args.port}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()

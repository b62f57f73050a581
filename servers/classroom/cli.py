"""``python -m servers --classroom``: the command-line options and what the server prints.

The first stdout line stays ``rtlab servers ready on http://HOST:PORT`` (``rtlab.lab`` waits
for it). Then: the join URL with the join token, a QR code of it (``qrcode``; for a
projector), and where the instructor token is: in a file only the instructor can read, not
on the screen that the class may be looking at.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import tempfile
from pathlib import Path
from typing import TextIO

from servers.classroom import Config, new_token
from servers.classroom.limits import CLIENT_CONNECTIONS, RATE, TOTAL_CONNECTIONS, Limits


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("classroom mode (one server for a class)")
    group.add_argument("--classroom", action="store_true",
                       help="a join token on every protocol, per-client limits, chaos by role")
    group.add_argument("--join-token", help="the students' token (default: a random one)")
    group.add_argument("--instructor-token", help="the instructor's (default: a random one)")
    group.add_argument("--rate", type=float, default=RATE,
                       help="messages (requests, frames, events) per second per client")
    group.add_argument("--client-connections", type=int, default=CLIENT_CONNECTIONS,
                       help="open connections per client id")
    group.add_argument("--max-connections", type=int, default=TOTAL_CONNECTIONS,
                       help="open connections in all")
    group.add_argument("--join-host", help="host in the printed join URL (default: this "
                       "machine's address on its network when bound to 0.0.0.0)")
    group.add_argument("--instructor-file", type=Path,
                       help="where to write the instructor token (default: a temp file)")
    group.add_argument("--no-qr", action="store_true", help="print no QR code")


def config(args: argparse.Namespace) -> Config | None:
    if not args.classroom:
        return None
    limits = Limits(rate=args.rate, client_connections=args.client_connections,
                    total_connections=args.max_connections)
    return Config(join_token=args.join_token or new_token(),
                  instructor_token=args.instructor_token or new_token(), limits=limits,
                  join_host=args.join_host, instructor_file=args.instructor_file,
                  qr=not args.no_qr)


def lan_address() -> str:
    """This machine's address on the network its default route leaves by. A UDP ``connect``
    only picks the route: no packet is sent."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1 (RFC 5737): nothing is sent
            return s.getsockname()[0]
    except OSError:
        return socket.gethostname()


def join_host(host: str, wanted: str | None) -> str:
    if wanted:
        return wanted
    try:
        if ipaddress.ip_address(host).is_unspecified:
            return lan_address()
    except ValueError:
        pass
    return host


def join_url(host: str, port: int, token: str) -> str:
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/?join={token}"


def write_instructor_token(token: str, path: Path | None, port: int) -> Path:
    if path is None:
        path = Path(tempfile.mkdtemp(prefix=f"rtlab-classroom-{port}-")) / "instructor-token"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return path


def announce(cfg: Config, host: str, port: int, out: TextIO) -> None:
    url = join_url(join_host(host, cfg.join_host), port, cfg.join_token)
    token_file = write_instructor_token(cfg.instructor_token, cfg.instructor_file, port)
    print(f"classroom: students join with {url}", file=out)
    print(f"classroom: in a notebook, lab.connect({url!r}); or start Jupyter with "
          f"RTLAB_SERVER='{url}' and every notebook uses this server", file=out)
    if cfg.qr:
        import qrcode

        qr = qrcode.QRCode(border=1)
        qr.add_data(url)
        qr.print_ascii(out=out, invert=True)
    print(f"classroom: instructor token in {token_file} (kept off the screen); the "
          f"instructor's URL is the join URL with it in place of the join token", file=out)
    out.flush()

"""The instructor's side of a classroom: a handle with the instructor token, and the join URL.

``RTLAB_INSTRUCTOR`` names the class's server with the instructor token (the join URL with
the instructor token in place of the join token: ``http://HOST:PORT/?join=<instructor
token>``), as ``make classroom`` serves it. Without it, :func:`open_classroom` starts a
classroom server of its own on 127.0.0.1 (a rehearsal, and what CI runs), which dies with
the kernel like ``lab.start()``'s.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rtlab.lab import ServerProcess
from rtlab.remote import RemoteServer, split

INSTRUCTOR_ENV = "RTLAB_INSTRUCTOR"


@dataclass
class Lesson:
    teacher: RemoteServer  # the instructor token: chaos for everyone, /_classroom/stats
    join_url: str  # what the students get (None of them can break the others' links)
    server: ServerProcess | None = None  # the rehearsal server, when started here

    def close(self) -> None:
        """Stop the rehearsal server (a class's own server is left running)."""
        if self.server is not None:
            self.server.stop()


def open_classroom(url: str | None = None, join_token: str | None = None) -> Lesson:
    """The class's server from ``url`` / ``RTLAB_INSTRUCTOR``, or a rehearsal one here."""
    spec = url or os.environ.get(INSTRUCTOR_ENV)
    if spec:
        base, token = split(spec)
        teacher = RemoteServer(base, token, "instructor")
        teacher.check()
        join = join_token or os.environ.get("RTLAB_JOIN_TOKEN") or "<join token>"
        return Lesson(teacher, f"{base}/?join={join}")
    join, token = secrets.token_urlsafe(9), secrets.token_urlsafe(9)
    token_file = Path(tempfile.mkdtemp(prefix="rtlab-classroom-")) / "instructor-token"
    server = ServerProcess.launch(extra_args=(
        "--classroom", "--join-token", join, "--instructor-token", token, "--no-qr",
        "--instructor-file", str(token_file)))
    return Lesson(RemoteServer(server.url, token, "instructor"), f"{server.url}/?join={join}",
                  server)

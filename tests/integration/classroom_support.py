"""A classroom server (``python -m servers --classroom``) on 127.0.0.1 for the classroom tests,
with handles for students and the instructor (:mod:`rtlab.remote`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rtlab.lab import ServerProcess
from rtlab.remote import RemoteServer, connect

JOIN = "join-token-for-tests"
TEACH = "instructor-token-for-tests"


class Classroom:
    def __init__(self, server: ServerProcess, instructor_file: Path) -> None:
        self.server = server
        self.instructor_file = instructor_file

    @property
    def base(self) -> str:
        return self.server.url  # http://127.0.0.1:PORT: loopback, even for a class

    def student(self, name: str) -> RemoteServer:
        return connect(self.base, JOIN, client=name)

    def instructor(self) -> RemoteServer:
        return connect(self.base, TEACH, client="instructor")

    def url(self, path: str, token: str | None = JOIN, client: str | None = "probe") -> str:
        """A URL with exactly the given token and client id (None: left out)."""
        query = "&".join(f"{k}={v}" for k, v in (("join", token), ("client", client)) if v)
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}{query}" if query else f"{self.base}{path}"


def launch(tmp: Path, *options: str) -> Classroom:
    token_file = tmp / "instructor-token"
    server = ServerProcess.launch(extra_args=(
        "--classroom", "--join-token", JOIN, "--instructor-token", TEACH, "--no-qr",
        "--instructor-file", str(token_file), *options))
    return Classroom(server, token_file)


@pytest.fixture
def classroom(tmp_path: Path) -> Iterator[Classroom]:
    room = launch(tmp_path)
    yield room
    room.server.stop()


@pytest.fixture
def strict_classroom(tmp_path: Path) -> Iterator[Classroom]:
    """Small limits, to hit each one quickly."""
    room = launch(tmp_path, "--rate", "20", "--client-connections", "3",
                  "--max-connections", "5")
    yield room
    room.server.stop()

"""A classroom server as the notebook's server: ``lab.connect(url, token)``.

    from rtlab import lab
    server = lab.connect("http://10.0.0.5:8000/?join=TOKEN")   # the join URL as printed
    server.ws_url("/ws/echo")  # "ws://10.0.0.5:8000/ws/echo?join=TOKEN&client=ada-3f2a1c"
    server.chaos.drop()        # your own connections only (scoped chaos)

:class:`RemoteServer` has the address and chaos API of :class:`rtlab.lab.ServerProcess`
(``url``, ``port``, ``http_url``, ``ws_url``, ``chaos.*``, ``alive``, ``pid``…), with the join
token and this notebook's client id on every URL it builds. Build URLs from ``server.url``
with :func:`rtlab.urls.join` (or ``server.http_url(path)``): ``f"{server.url}/graphql"`` puts
the path inside the query, and the classroom server says so (400, ``BAD_CLIENT_ID``).

What it cannot do is the process's part: ``kill``, ``stop``, ``restart``, and ``freeze`` by
SIGSTOP need a process this notebook owns. :func:`connect` gives a handle that raises
:class:`RemoteServerError` for those, naming the scoped equivalent. Under ``RTLAB_SERVER``,
``lab.start()`` gives one with *stand-ins* instead, so a chapter notebook runs unchanged: each
prints a note and does the scoped equivalent on this notebook's own connections —

- ``kill()`` / ``stop()``: refuse this client's new connections (503) and cut its open ones
  (abort: no close frame, as a crash; stop: close 1012), until ``restart()``;
- ``restart()``: undo all of this client's faults (``chaos.reset()``);
- ``freeze()`` / ``thaw()``: ``chaos.freeze()`` / ``chaos.thaw()`` of its open connections
  (a SIGSTOPped process would also leave new connections unanswered; these ones open).

``RTLAB_SERVER`` is the join URL (``http://HOST:PORT/?join=TOKEN``), or ``URL#TOKEN``, or a
URL with the token in ``RTLAB_TOKEN``; ``RTLAB_NAME`` starts the client id (default: the
user name), so the instructor sees who is who.
"""

from __future__ import annotations

import getpass
import os
import re
import secrets
import urllib.parse
from typing import Any

import httpx

from rtlab import urls
from rtlab.lab import ChaosClient, LabError

SERVER_ENV = "RTLAB_SERVER"
TOKEN_ENV = "RTLAB_TOKEN"
NAME_ENV = "RTLAB_NAME"
#: how long a stand-in kill() refuses this client's reconnects (until restart() undoes it)
KILLED_SECONDS = 3600


class RemoteServerError(LabError):
    """A remote handle was asked to do what only the server's owner can do."""


def split(spec: str, token: str | None = None) -> tuple[str, str]:
    """``(base URL, join token)`` from a join URL, ``URL#TOKEN``, or a URL and ``token``."""
    spec, _, fragment = spec.strip().partition("#")
    parts = urllib.parse.urlsplit(spec)
    if parts.scheme in ("ws", "wss"):
        parts = parts._replace(scheme="http" + parts.scheme[2:])
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LabError(f"a classroom server's URL looks like http://HOST:PORT/?join=TOKEN, "
                       f"not {spec!r}")
    query = urllib.parse.parse_qs(parts.query)
    token = token or fragment or (query.get("join") or [None])[0]
    if not token:
        raise LabError(f"no join token for {spec}: pass lab.connect(url, token), use the "
                       "join URL as printed (…/?join=TOKEN), or set RTLAB_TOKEN")
    base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return base, token


def client_id(name: str | None = None) -> str:
    """A fresh id for one notebook: a readable name and six hex digits."""
    if name is None:
        try:
            name = os.environ.get(NAME_ENV) or getpass.getuser()
        except (KeyError, OSError):  # no user name in a container: fine
            name = "nb"
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:40] or "nb"
    return f"{slug}-{secrets.token_hex(3)}"


class RemoteServer:
    """A classroom server reached by URL and join token (see the module docs)."""

    remote = True
    pid = None
    proc = None
    log_path = None
    startup_seconds = 0.0
    args: tuple[str, ...] = ()

    def __init__(self, base: str, token: str, client: str, *, stand_ins: bool = False,
                 timeout: float = 5.0) -> None:
        self.base = base
        self.token = token
        self.client = client
        self.stand_ins = stand_ins
        self.timeout = timeout

    # -- addresses ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{self.base}?{urllib.parse.urlencode({'join': self.token, 'client': self.client})}"

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.base).hostname or ""

    @property
    def port(self) -> int:
        parts = urllib.parse.urlsplit(self.base)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def http_url(self, path: str = "/") -> str:
        return urls.join(self.url, path)

    def ws_url(self, path: str = "/ws/echo") -> str:
        return urls.websocket(self.http_url(path))

    @property
    def chaos(self) -> ChaosClient:
        return ChaosClient(self.url)

    # -- what notebooks read -------------------------------------------------------------------
    def check(self) -> dict[str, Any]:
        """The server's index, or a LabError that quotes the server's refusal."""
        try:
            answer = httpx.get(self.http_url("/"), timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise LabError(f"no answer from the classroom server {self.base}: {exc!r}") from None
        if answer.status_code != 200:
            raise LabError(f"classroom server {self.base}: HTTP {answer.status_code} "
                           f"{answer.text[:300]}")
        return answer.json()

    async def aclassroom_stats(self) -> dict[str, Any]:
        """``/_classroom/stats``: who is connected, messages per second, the last herd
        (the instructor's token only)."""
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            try:
                answer = await http.get(self.http_url("/_classroom/stats"))
            except httpx.HTTPError as exc:
                raise LabError(f"no answer from {self.base}: {exc!r}") from None
        if answer.status_code != 200:
            raise LabError(f"/_classroom/stats: HTTP {answer.status_code} {answer.text[:200]}")
        return answer.json()

    @property
    def alive(self) -> bool:
        try:
            self.check()
        except LabError:
            return False
        return True

    def log_text(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"<RemoteServer {self.base} client={self.client}>"

    # -- what only the owner can do ------------------------------------------------------------
    def _cannot(self, what: str, instead: str) -> None:
        message = (f"{what}: this notebook does not own the classroom server {self.base}; "
                   f"the scoped equivalent, on your own connections only: {instead}")
        if not self.stand_ins:
            raise RemoteServerError(message)
        print(f"classroom: {message} (done instead)", flush=True)

    def kill(self) -> None:
        """Stand-in: refuse this client's reconnects and abort its connections."""
        self._cannot("kill()", "server.chaos.reject(...) + server.chaos.drop()")
        self.chaos.reject(503, KILLED_SECONDS)
        self.chaos.drop("all", "abort")

    def stop(self, timeout: float = 3.0) -> None:
        """Stand-in: as :meth:`kill`, with close frames (1012) instead of resets."""
        self._cannot("stop()", "server.chaos.reject(...) + server.chaos.drop(mode='close')")
        self.chaos.reject(503, KILLED_SECONDS)
        self.chaos.drop("all", "close")

    def restart(self, timeout: float = 10.0) -> RemoteServer:
        """Stand-in: undo this client's faults (``chaos.reset()``), as a fresh server would."""
        self._cannot("restart()", "server.chaos.reset(), or server.chaos.restart(seconds=…)")
        self.chaos.reset()
        return self

    def freeze(self) -> None:
        """Stand-in: ``chaos.freeze()`` of this client's open connections."""
        self._cannot("freeze() (SIGSTOP)", "server.chaos.freeze()")
        self.chaos.freeze()

    def thaw(self) -> None:
        self._cannot("thaw() (SIGCONT)", "server.chaos.thaw()")
        self.chaos.thaw()

    def __enter__(self) -> RemoteServer:
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing to stop: the server is the instructor's."""


def connect(url: str | None = None, token: str | None = None, *, name: str | None = None,
            client: str | None = None, stand_ins: bool = False,
            check: bool = True) -> RemoteServer:
    """A handle on the classroom server at ``url`` (default: ``RTLAB_SERVER``)."""
    spec = url or os.environ.get(SERVER_ENV)
    if not spec:
        raise LabError(f"lab.connect() needs the classroom's URL, or {SERVER_ENV} set")
    base, join = split(spec, token or os.environ.get(TOKEN_ENV))
    server = RemoteServer(base, join, client or client_id(name), stand_ins=stand_ins)
    if check:
        server.check()  # a wrong token or address fails here, with the server's reason
    return server


def from_env() -> str | None:
    return os.environ.get(SERVER_ENV) or None

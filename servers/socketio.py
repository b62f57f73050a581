"""Socket.IO at ``/socket.io/`` (Engine.IO 4, polling and websocket) on the demo server.

Namespaces and events (every handler validates its payload; a bad one gets an
``{"error": ...}`` ack *and* an ``error`` event, and never raises):

``/``
    ``echo <any>`` acks what it got (the benchmark's round trip);
    ``whoami`` acks ``{user, userId, transport}``;
    ``flaky {key, ignore}`` leaves the first ``ignore`` calls with one ``key``
    unanswered, then acks ``{key, calls}`` (a server that loses answers, for ack retries);
    ``ticker {rate}`` pushes ``tick {n, ts}`` ``rate`` times a second until disconnect
    (``rate`` 0 stops it).
``/chat``
    ``join {room}`` acks ``{room, members}``; the others get ``user_joined {room, user}``.
    ``leave {room}`` acks ``{room, members}``; the others get ``user_left``
    (also sent for every room when a member disconnects).
    ``chat_message {room, text, clientId?}`` acks ``{id, ts}``; the other members of
    that room (only) get ``chat_message {id, room, text, user, userId, ts}``.
``/collab``
    ``join {documentId}`` acks ``{documentId, version}``.
    ``cursor_move {documentId, position: {line, column}}`` reaches the others in that
    document as ``{documentId, userId, user, position}``, never the sender.
    ``doc_change {documentId, operation, clientId?}`` acks ``{documentId, version}`` and
    reaches the others as ``{documentId, userId, user, operation, version}``; versions
    strictly increase per document (the server assigns them, in arrival order).

Reserved event names (``connect``, ``disconnect``, ``*``, ...) and malformed packets never
reach a handler (:mod:`servers.sioguard`). Every emit without a callback (room broadcasts,
emits to one client) is written by :mod:`servers.fanout`: encoded and framed once, the same
bytes written to each WebSocket recipient; the frames are those python-socketio would send.

Auth: the Socket.IO ``auth`` payload, ``{"token": JWT}`` (or ``{"Authorization":
"Bearer JWT"}``), JWT from ``/auth/login``. Headers are not read: browsers cannot set
them on a WebSocket, and ``auth`` is per namespace. A bad or expired token is refused
on every namespace (``connect_error`` ``{message, data: {code: "UNAUTHENTICATED"}}``).
Without a token a client is a *guest*: on ``/`` and ``/chat`` it
may join rooms and listen, but ``chat_message`` answers ``unauthenticated``; ``/collab``
refuses guests.

Retries are safe: a ``chat_message`` or ``doc_change`` carrying a ``clientId`` already
seen (per user, recent ones) is acknowledged again with the first answer and not
broadcast twice, on any worker (:mod:`servers.broker.dedupe`). On a classroom server the
names a client picks (``clientId``s, ``flaky`` keys) are also per classroom client id:
thirty students signed in as alice, running the same notebook with the same ``clientId``,
are thirty senders, not one sending again.
Room names live in their own key space (``room:<name>``), so a room called like another
client's sid cannot reach that client's private room.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import socketio

from servers import auth, fanout, handoff, protocols
from servers.broker.calls import Calls, LocalCalls
from servers.broker.dedupe import Dedupe, LocalDedupe
from servers.broker.rooms import LocalMembers, Members
from servers.broker.sequence import LocalSequences, Sequences
from servers.transport import CLIENT_KEY

if TYPE_CHECKING:
    from servers.app import Server
    from servers.broker import Broker

MAX_NAME = 64
MAX_TEXT = 2000
MAX_OPERATION = 4096
MAX_RATE = 50.0
MAX_BUFFER = 256 * 1024  # Engine.IO max message size (polling body / websocket frame)
#: the ``data`` of a refused connection (the client sees ``{message, data}``)
UNAUTHENTICATED = {"code": "UNAUTHENTICATED"}

Handler = Callable[..., Awaitable[Any]]


class BadPayload(ValueError):
    """A client sent something the contract does not allow; the message says what."""


def _error(message: str) -> dict[str, str]:
    return {"error": message}


def _obj(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadPayload(f"payload must be an object, got {type(data).__name__}")
    return data


def _name(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadPayload(f"'{key}' must be a non-empty string")
    if len(value) > MAX_NAME:
        raise BadPayload(f"'{key}' is longer than {MAX_NAME} characters")
    return value


def _client_id(data: dict[str, Any]) -> str | None:
    value = data.get("clientId")
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME:
        raise BadPayload(f"'clientId' must be a string of 1 to {MAX_NAME} characters")
    return value


def _room_key(name: str) -> str:
    return f"room:{name}"


def _doc_key(name: str) -> str:
    return f"doc:{name}"


#: Engine.IO's heartbeat here, seconds (python-socketio's defaults are 25 and 20)
PING_INTERVAL = 10
PING_TIMEOUT = 5


class SocketIOService:
    """One ``AsyncServer`` and the state behind its namespaces (rooms, versions, tickers).

    With a broker (worker processes), rooms and broadcasts go through python-socketio's
    ``AsyncRedisManager``; document versions, room members, the answers to ``clientId``s
    and ``flaky`` counts through Redis (:mod:`servers.broker`); session ids name their
    worker (:func:`servers.handoff.worker_sid`: the master routes long-polling by it) and
    message ids carry the worker number, so no two workers hand out the same one."""

    def __init__(self, *, ping_interval: float = PING_INTERVAL, ping_timeout: float = PING_TIMEOUT,
                 broker: Broker | None = None) -> None:
        self.sio = fanout.FanoutServer(
            async_mode="asgi",
            cors_allowed_origins="*",
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            max_http_buffer_size=MAX_BUFFER,
            client_manager=broker.socketio_manager() if broker is not None else None,
        )
        self.versions: Sequences
        self.members: Members
        self.dedupe: Dedupe
        self.flaky_calls: Calls
        if broker is None:
            local = LocalSequences()
            self.versions, self.dedupe = local, LocalDedupe(local)
            self.members, self.flaky_calls = LocalMembers(), LocalCalls()
        else:
            shared = broker.sequences()
            self.versions, self.dedupe = shared, broker.dedupe(shared)
            self.members, self.flaky_calls = broker.members(), broker.calls()
        self.id_suffix = ""
        if broker is not None:
            eio, worker = self.sio.eio, broker.worker
            plain = eio.generate_id
            eio.generate_id = lambda: handoff.worker_sid(worker, plain())
            self.id_suffix = f".{worker}"
        self.tickers: dict[str, asyncio.Task[None]] = {}
        self._ids = itertools.count(1)
        self._register()

    # -- plumbing -----------------------------------------------------------------------
    def _on(self, event: str, namespace: str, handler: Handler) -> None:
        """Register ``handler(sid, data)``: bad payloads and surprises become error acks."""
        sio = self.sio

        @functools.wraps(handler)
        async def guarded(sid: str, *args: Any) -> Any:
            data = args[0] if args else None
            try:
                if len(args) > 1:
                    raise BadPayload(f"'{event}' takes one argument, got {len(args)}")
                return await handler(sid, data)
            except BadPayload as exc:
                answer = _error(str(exc))
            except Exception as exc:  # noqa: BLE001 - never let one event kill a session
                answer = _error(f"server error: {type(exc).__name__}")
            with contextlib.suppress(Exception):
                await sio.emit("error", {"event": event, **answer}, to=sid, namespace=namespace)
            return answer

        sio.on(event, guarded, namespace=namespace)

    async def _user(self, sid: str, namespace: str) -> dict[str, Any]:
        return await self.sio.get_session(sid, namespace=namespace)

    def _owner(self, sid: str, namespace: str) -> str:
        """Whose names a client's keys are: its classroom client id ("" in lab mode)."""
        environ = self.sio.get_environ(sid, namespace=namespace) or {}
        return (environ.get("asgi.scope") or {}).get(CLIENT_KEY) or ""

    def _connect_handler(self, namespace: str, guests: bool) -> Handler:
        async def connect(sid: str, environ: dict[str, Any], auth_data: Any = None) -> None:
            token = None
            if isinstance(auth_data, dict):
                token = auth_data.get("token")
                header = auth_data.get("Authorization") or auth_data.get("authorization")
                if token is None and isinstance(header, str) and header.lower().startswith(
                    "bearer "
                ):
                    token = header[7:].strip()
            if token is None:
                if not guests:
                    raise socketio.exceptions.ConnectionRefusedError(
                        f"{namespace} needs a token in the auth payload", UNAUTHENTICATED
                    )
                user = {"userId": None, "user": f"guest-{sid[:4]}"}
            else:
                try:
                    claims = auth.verify(str(token))
                except auth.AuthError as exc:
                    raise socketio.exceptions.ConnectionRefusedError(
                        str(exc), UNAUTHENTICATED
                    ) from None
                user = {"userId": claims["sub"], "user": claims["username"]}
            await self.sio.save_session(sid, user, namespace=namespace)

        return connect

    async def _join_members(self, sid: str, namespace: str, key: str) -> list[str]:
        """Display names of everyone in a room (guests included), ``sid`` now one of them."""
        return await self.members.join(namespace, key, sid,
                                       self._names.get((namespace, sid), sid))

    # -- registration ---------------------------------------------------------------------
    def _register(self) -> None:
        sio = self.sio
        self._names: dict[tuple[str, str], str] = {}
        for namespace, guests in (("/", True), ("/chat", True), ("/collab", False)):
            connect = self._connect_handler(namespace, guests)

            async def remember(sid: str, environ: Any, auth_data: Any = None, *,
                               _ns: str = namespace, _connect: Handler = connect) -> None:
                await _connect(sid, environ, auth_data)
                self._names[(_ns, sid)] = (await self._user(sid, _ns))["user"]

            sio.on("connect", remember, namespace=namespace)
            self._on_unknown(namespace)
        sio.on("disconnect", self._root_disconnect, namespace="/")
        sio.on("disconnect", self._chat_disconnect, namespace="/chat")
        sio.on("disconnect", self._collab_disconnect, namespace="/collab")
        for event, handler in (("echo", self.echo), ("whoami", self.whoami),
                               ("flaky", self.flaky), ("ticker", self.ticker)):
            self._on(event, "/", handler)
        for event, handler in (("join", self.chat_join), ("leave", self.chat_leave),
                               ("chat_message", self.chat_message)):
            self._on(event, "/chat", handler)
        for event, handler in (("join", self.doc_join), ("leave", self.doc_leave),
                               ("cursor_move", self.cursor_move),
                               ("doc_change", self.doc_change)):
            self._on(event, "/collab", handler)

    def _on_unknown(self, namespace: str) -> None:
        sio = self.sio

        async def unknown(event: str, sid: str, *args: Any) -> dict[str, str]:
            answer = _error(f"unknown event '{event}' on {namespace}")
            with contextlib.suppress(Exception):
                await sio.emit("error", {"event": event, **answer}, to=sid, namespace=namespace)
            return answer

        sio.on("*", unknown, namespace=namespace)

    # -- / ------------------------------------------------------------------------------
    async def echo(self, sid: str, data: Any) -> Any:
        return data

    async def whoami(self, sid: str, data: Any) -> dict[str, Any]:
        user = await self._user(sid, "/")
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        return {**user, "transport": self.sio.transport(sid, namespace="/") if eio_sid else None}

    async def flaky(self, sid: str, data: Any) -> dict[str, Any] | None:
        data = _obj(data)
        key = _name(data, "key")
        ignore = data.get("ignore", 1)
        if isinstance(ignore, bool) or not isinstance(ignore, int) or not 0 <= ignore <= 100:
            raise BadPayload("'ignore' must be an integer from 0 to 100")
        calls = await self.flaky_calls.count((self._owner(sid, "/"), key))
        if calls <= ignore:
            return self.sio.not_handled  # no ack at all: the answer is "lost"
        return {"key": key, "calls": calls}

    async def ticker(self, sid: str, data: Any) -> dict[str, Any]:
        data = _obj(data)
        rate = data.get("rate", 2)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not (
            0 <= rate <= MAX_RATE
        ):
            raise BadPayload(f"'rate' must be a number from 0 to {MAX_RATE:g}")
        old = self.tickers.pop(sid, None)
        if old is not None:
            old.cancel()
        if rate:
            self.tickers[sid] = asyncio.get_running_loop().create_task(self._tick(sid, rate))
        return {"rate": rate}

    async def _tick(self, sid: str, rate: float) -> None:
        for n in itertools.count(1):
            await asyncio.sleep(1.0 / rate)
            await self.sio.emit("tick", {"n": n, "ts": time.time()}, to=sid, namespace="/")

    async def _root_disconnect(self, sid: str, reason: Any = None) -> None:
        task = self.tickers.pop(sid, None)
        if task is not None:
            task.cancel()
        self._names.pop(("/", sid), None)

    # -- /chat ----------------------------------------------------------------------------
    async def chat_join(self, sid: str, data: Any) -> dict[str, Any]:
        room = _name(_obj(data), "room")
        user = await self._user(sid, "/chat")
        key = _room_key(room)
        already = key in self.sio.rooms(sid, namespace="/chat")
        await self.sio.enter_room(sid, key, namespace="/chat")
        members = await self._join_members(sid, "/chat", key)
        if not already:
            await self.sio.emit("user_joined", {"room": room, "user": user["user"]},
                                room=key, skip_sid=sid, namespace="/chat")
        return {"room": room, "members": members}

    async def chat_leave(self, sid: str, data: Any) -> dict[str, Any]:
        room = _name(_obj(data), "room")
        key = _room_key(room)
        if key not in self.sio.rooms(sid, namespace="/chat"):
            raise BadPayload(f"not in room '{room}'")
        await self.sio.leave_room(sid, key, namespace="/chat")
        members = await self.members.leave("/chat", key, sid)
        await self._tell_chat_left(sid, key, room)
        return {"room": room, "members": members}

    async def _tell_chat_left(self, sid: str, key: str, room: str) -> None:
        user = await self._user(sid, "/chat")
        await self.sio.emit("user_left", {"room": room, "user": user["user"]},
                            room=key, skip_sid=sid, namespace="/chat")

    async def chat_message(self, sid: str, data: Any) -> dict[str, Any]:
        data = _obj(data)
        room = _name(data, "room")
        text = data.get("text")
        if not isinstance(text, str):
            raise BadPayload("'text' must be a string")
        if len(text) > MAX_TEXT:
            raise BadPayload(f"'text' is longer than {MAX_TEXT} characters")
        client_id = _client_id(data)
        user = await self._user(sid, "/chat")
        if user["userId"] is None:
            raise BadPayload("unauthenticated: guests may listen but not send")
        key = _room_key(room)
        if key not in self.sio.rooms(sid, namespace="/chat"):
            raise BadPayload(f"join room '{room}' before sending to it")
        if client_id is None:
            answer = self._message_answer()
        else:
            answer, repeat = await self.dedupe.first(
                ("chat", self._owner(sid, "/chat"), user["userId"], client_id),
                self._message_answer)
            if repeat:
                return {**answer, "duplicate": True}
        message = {**answer, "room": room, "text": text, **user}
        if client_id:
            message["clientId"] = client_id
        await self.sio.emit("chat_message", message, room=key, skip_sid=sid, namespace="/chat")
        return answer

    def _message_answer(self) -> dict[str, Any]:
        """A new message's ack: an id no other message (nor worker) has, and the time."""
        return {"id": f"m{next(self._ids)}{self.id_suffix}", "ts": time.time()}

    async def _chat_disconnect(self, sid: str, reason: Any = None) -> None:
        await self._leave_all(sid, "/chat", "room:", self._tell_chat_left)

    async def _leave_all(self, sid: str, namespace: str, prefix: str,
                         tell: Callable[[str, str, str], Awaitable[None]]) -> None:
        """A disconnected client leaves its rooms (keys starting with ``prefix``): out of
        the members first, so whoever hears ``tell(sid, key, name)`` lists them without it."""
        keys = [key for key in self.sio.rooms(sid, namespace=namespace) if key.startswith(prefix)]
        with contextlib.suppress(Exception):
            await self.members.gone(namespace, sid, keys)
        for key in keys:
            with contextlib.suppress(Exception):
                await tell(sid, key, key[len(prefix):])
        self._names.pop((namespace, sid), None)

    # -- /collab --------------------------------------------------------------------------
    async def _joined_doc(self, sid: str, data: Any) -> tuple[dict[str, Any], str, str]:
        data = _obj(data)
        doc = _name(data, "documentId")
        key = _doc_key(doc)
        if key not in self.sio.rooms(sid, namespace="/collab"):
            raise BadPayload(f"join document '{doc}' first")
        return data, doc, key

    async def doc_join(self, sid: str, data: Any) -> dict[str, Any]:
        doc = _name(_obj(data), "documentId")
        key = _doc_key(doc)
        user = await self._user(sid, "/collab")
        already = key in self.sio.rooms(sid, namespace="/collab")
        await self.sio.enter_room(sid, key, namespace="/collab")
        members = await self._join_members(sid, "/collab", key)
        if not already:
            await self.sio.emit("user_joined", {"documentId": doc, **user},
                                room=key, skip_sid=sid, namespace="/collab")
        return {"documentId": doc, "version": await self.versions.current(key),
                "members": members}

    async def doc_leave(self, sid: str, data: Any) -> dict[str, Any]:
        _data, doc, key = await self._joined_doc(sid, data)
        await self.sio.leave_room(sid, key, namespace="/collab")
        await self.members.gone("/collab", sid, [key])
        await self._tell_doc_left(sid, key, doc)
        return {"documentId": doc, "left": True}

    async def _tell_doc_left(self, sid: str, key: str, doc: str) -> None:
        user = await self._user(sid, "/collab")
        await self.sio.emit("user_left", {"documentId": doc, **user},
                            room=key, skip_sid=sid, namespace="/collab")

    async def cursor_move(self, sid: str, data: Any) -> dict[str, Any]:
        data, doc, key = await self._joined_doc(sid, data)
        position = data.get("position")
        if not isinstance(position, dict) or not all(
            isinstance(position.get(k), int) and not isinstance(position.get(k), bool)
            and 0 <= position[k] < 1_000_000
            for k in ("line", "column")
        ):
            raise BadPayload("'position' must be {line, column} with non-negative integers")
        user = await self._user(sid, "/collab")
        message = {"documentId": doc, **user,
                   "position": {"line": position["line"], "column": position["column"]}}
        await self.sio.emit("cursor_move", message, room=key, skip_sid=sid, namespace="/collab")
        return {"documentId": doc}

    async def doc_change(self, sid: str, data: Any) -> dict[str, Any]:
        data, doc, key = await self._joined_doc(sid, data)
        operation = data.get("operation")
        if operation is None:
            raise BadPayload("'operation' is missing")
        if len(repr(operation)) > MAX_OPERATION:
            raise BadPayload(f"'operation' is larger than {MAX_OPERATION} characters")
        client_id = _client_id(data)
        user = await self._user(sid, "/collab")
        # versions are atomic, strictly increasing; a repeated clientId draws none
        if client_id is None:
            answer = {"documentId": doc, "version": await self.versions.next(key)}
        else:
            answer, repeat = await self.dedupe.first(
                ("doc", self._owner(sid, "/collab"), user["userId"], client_id),
                lambda: {"documentId": doc}, version_of=key)
            if repeat:
                return {**answer, "duplicate": True}
        await self.sio.emit("doc_change", {**answer, **user, "operation": operation},
                            room=key, skip_sid=sid, namespace="/collab")
        return answer

    async def _collab_disconnect(self, sid: str, reason: Any = None) -> None:
        await self._leave_all(sid, "/collab", "doc:", self._tell_doc_left)


def wrap(app: Any, server: Server | None = None,
         service: SocketIOService | None = None) -> Any:
    """``app`` with Socket.IO in front of it at ``/socket.io/`` (everything else passes)."""
    service = service or SocketIOService(broker=server.broker if server is not None else None)
    if server is not None and server.classroom is not None:
        service.sio.admit = server.classroom.admit_event  # per-client event rate
    if server is not None and isinstance(service.sio.manager, fanout.FanoutManager):
        chaos = server.chaos

        def sent(n: int) -> None:  # broadcast frames written past the counting middleware
            chaos.messages_out += n

        service.sio.manager.on_sent = sent
    asgi = socketio.ASGIApp(service.sio, other_asgi_app=app,
                            socketio_path=protocols.prefix("socketio").strip("/"))
    asgi.rtlab_socketio = service  # type: ignore[attr-defined]
    return asgi

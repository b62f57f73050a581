"""The chapter's ``SocketIOService`` and ``CollaborationManager`` (21.4, seed l.1157-1379).

Ported onto python-socketio's ``AsyncClient`` with the library's own reconnection, as
the Dart code relies on socket_io_client's. It mirrors the Dart *behaviour*; each
mistake names the seed line it comes from:

1. **WebSocket first, no way back.** ``setTransports(['websocket', 'polling'])`` (l.1182)
   starts on WebSocket; when the upgrade is refused (a proxy answering 403) the Engine.IO
   client does not fall back to polling, it fails and retries WebSocket. The fallback the
   explanation describes (l.1384) comes from the default order, polling first.
2. **Handlers registered before** ``connect()`` **are lost**: ``_socket?.on(...)`` (l.1248)
   does nothing while ``_socket`` is null, and ``connect()`` never re-registers the stored
   ones (it only uses them for its own connect/disconnect/error events, l.1292-1297).
3. **Lifecycle handlers registered after** ``connect()`` **run twice**: once as a socket
   listener (l.1248) and once through ``_triggerEvent`` (l.1202, l.1209).
4. ``emit()`` **while disconnected drops the message** with a debug print (l.1269-1272;
   here: a ``note`` and the ``lost`` list). In Dart this even bypasses the library's own
   send buffer.
5. **A failed connect wedges the service**: ``_isConnecting = true`` (l.1178) is reset only
   by a connect or disconnect event (l.1200, l.1207), not by ``onConnectError``
   (l.1212-1215), so after a connect error ``connect()`` returns at once (l.1177), forever.
6. **Auth in** ``setExtraHeaders(authHeaders ?? {})`` (l.1190): headers are not the
   Socket.IO ``auth`` payload; browsers cannot even send them on a WebSocket. The demo
   server reads ``auth`` only, so this service is a guest: it may listen, and its
   ``chat_message`` is refused.
7. ``emitWithAck(event, data, ack: ack)`` (l.1275) **has no timeout**: an ack that never
   comes leaves the callback waiting forever, unnoticed.
8. ``off(event, handler)`` **removes every listener** of the event from the socket:
   ``_socket?.off(event)`` (l.1261) is called without the handler, while ``_eventHandlers``
   still lists the others.
9. ``CollaborationManager.initialize`` calls ``_socket.onConnect`` (l.1356), which
   ``SocketIOService`` does not have (the Dart would not compile); its join sends
   ``{'room': 'doc:<id>'}`` (l.1357, l.1283); edits go out fire-and-forget with a client
   timestamp and no version (l.1368-1373), so lost or reordered edits cannot be noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import socketio

from rtlab.state import ERROR, FRAME_IN, FRAME_OUT, NOTE, STATE, ConnectionState, Timeline

S = ConnectionState


class ChapterSocketIOService:
    """A faithful port of the chapter's service, bugs included (see the module docs)."""

    def __init__(
        self,
        server_url: str,
        namespace: str | None = None,
        auth_headers: dict[str, str] | None = None,
        *,
        transports: tuple[str, ...] = ("websocket", "polling"),
        reconnection_attempts: int = 10,
        reconnection_delay: float = 1.0,
        reconnection_delay_max: float = 5.0,
        randomization_factor: float = 0.5,
    ) -> None:
        self.server_url = server_url
        self.namespace = namespace
        self.auth_headers = auth_headers
        self.transports = transports
        self.options = {
            "reconnection": True,
            "reconnection_attempts": reconnection_attempts,
            "reconnection_delay": reconnection_delay,
            "reconnection_delay_max": reconnection_delay_max,
            "randomization_factor": randomization_factor,
        }
        self.timeline = Timeline()
        self.lost: list[tuple[str, Any]] = []
        self._socket: socketio.AsyncClient | None = None
        self._event_handlers: dict[str, list[Callable[..., Any]]] = {}
        self._listeners: dict[str, list[Callable[..., Any]]] = {}  # the socket's own
        self._is_connected = False
        self._is_connecting = False
        self._task: asyncio.Task[None] | None = None

    @property
    def ns(self) -> str:
        # Dart: namespace != null ? '$serverUrl/$namespace' : serverUrl
        return f"/{self.namespace.lstrip('/')}" if self.namespace else "/"

    @property
    def state(self) -> ConnectionState:
        if self._is_connected:
            return S.CONNECTED
        return S.CONNECTING if self._is_connecting else S.DISCONNECTED

    @property
    def is_connected(self) -> bool:
        return self._is_connected

    @property
    def is_connecting(self) -> bool:
        return self._is_connecting

    def _record_state(self, detail: str = "") -> None:
        self.timeline.record(STATE, state=self.state, detail=detail)

    # -- the socket's listener list (socket_io_client allows many per event) -------------
    def _socket_on(self, event: str, listener: Callable[..., Any]) -> None:
        assert self._socket is not None
        if event not in self._listeners:
            self._listeners[event] = []
            if event not in ("connect", "disconnect", "connect_error"):

                async def dispatch(*args: Any, _event: str = event) -> None:
                    listeners = list(self._listeners.get(_event, ()))
                    if not listeners:  # off(event) left none: the socket ignores the event
                        return
                    self.timeline.record(FRAME_IN, data={"event": _event, "data": args[0]
                                                         if len(args) == 1 else list(args)})
                    for fn in listeners:
                        fn(*args)

                self._socket.on(event, dispatch, namespace=self.ns)
        self._listeners[event].append(listener)

    def _fire(self, event: str, *args: Any) -> None:
        for fn in list(self._listeners.get(event, ())):
            fn(*args)

    async def connect(self) -> None:
        """Start connecting in the background (``enableAutoConnect``), as the Dart does."""
        if self._is_connecting or self._is_connected:
            self.timeline.record(NOTE, detail="connect() ignored: already connecting/connected")
            return
        self._is_connecting = True
        self._record_state("connect()")
        self._socket = sio = socketio.AsyncClient(handle_sigint=False, **self.options)
        self._listeners = {}
        sio.on("connect", lambda: self._fire("connect"), namespace=self.ns)
        sio.on("disconnect", lambda reason=None: self._fire("disconnect", reason),
               namespace=self.ns)
        sio.on("connect_error", lambda data=None: self._fire("connect_error", data),
               namespace=self.ns)

        def on_connect() -> None:
            self._is_connected, self._is_connecting = True, False
            self._record_state(f"Socket.IO connected: {sio.sid}")
            self._trigger_event("connect", None)

        def on_disconnect(reason: Any = None) -> None:
            self._is_connected, self._is_connecting = False, False
            self._record_state(f"Socket.IO disconnected: {reason}")
            self._trigger_event("disconnect", reason)

        def on_connect_error(error: Any = None) -> None:
            # Note: _isConnecting is not reset here (mistake 5).
            self.timeline.record(ERROR, data=error, detail=f"Socket.IO connection error: {error}")
            self._trigger_event("error", error)

        self._listeners["connect"] = [on_connect]
        self._listeners["disconnect"] = [on_disconnect]
        self._listeners["connect_error"] = [on_connect_error]
        self._task = asyncio.ensure_future(self._run(sio))

    async def _run(self, sio: socketio.AsyncClient) -> None:
        try:
            await sio.connect(
                self.server_url,
                headers=dict(self.auth_headers or {}),  # setExtraHeaders (mistake 6)
                transports=list(self.transports),  # websocket first (mistake 1)
                namespaces=[self.ns],
                retry=True,
            )
        except Exception as exc:  # noqa: BLE001 - the Dart only prints
            self.timeline.record(ERROR, detail=f"gave up: {exc!r}")

    def on(self, event: str, handler: Callable[[Any], Any]) -> None:
        self._event_handlers.setdefault(event, []).append(handler)
        if self._socket is not None:  # _socket?.on(...): nothing before connect (mistake 2)
            self._socket_on(event, handler)

    def off(self, event: str, handler: Callable[..., Any] | None = None) -> None:
        if handler is not None:
            if handler in self._event_handlers.get(event, []):
                self._event_handlers[event].remove(handler)
        else:
            self._event_handlers.pop(event, None)
        self._listeners.pop(event, None)  # _socket?.off(event): all of them (mistake 8)

    async def emit(self, event: str, data: Any = None,
                   ack: Callable[..., Any] | None = None) -> None:
        if not self._is_connected:
            self.timeline.record(NOTE, data=data, detail="Warning: Emitting while disconnected")
            self.lost.append((event, data))  # mistake 4: gone
            return
        assert self._socket is not None
        callback = None
        if ack is not None:

            def callback(*args: Any) -> None:  # recorded, so a notebook can await it
                self.timeline.record(FRAME_IN, data={"ack": event, "data": list(args)})
                ack(*args)

        # emitWithAck without a timeout (mistake 7)
        await self._socket.emit(event, data, namespace=self.ns, callback=callback)
        self.timeline.record(FRAME_OUT, data={"event": event, "data": data})

    async def join_room(self, room_id: str) -> None:
        await self.emit("join", {"room": room_id})

    async def leave_room(self, room_id: str) -> None:
        await self.emit("leave", {"room": room_id})

    def _trigger_event(self, event: str, data: Any) -> None:
        for handler in list(self._event_handlers.get(event, [])):
            handler(data)

    @property
    def socket_id(self) -> str | None:
        return self._socket.sid if self._socket is not None else None

    async def disconnect(self) -> None:
        """``_socket?.disconnect()``: python-socketio's, which can wait for an open poll."""
        if self._socket is not None:
            await self._socket.disconnect()
        self._is_connected = self._is_connecting = False

    async def dispose(self) -> None:
        """Stop everything at once (what the notebook uses to tidy up; not a port)."""
        self._event_handlers.clear()
        sio, self._socket = self._socket, None
        if sio is not None:
            sio.reconnection = False
        tasks = [self._task] + ([sio._reconnect_task, sio.eio.read_loop_task,
                                 sio.eio.write_loop_task] if sio is not None else [])
        pending = {t for t in tasks if t is not None and not t.done()}
        for task in pending:
            task.cancel()
        if pending:  # bounded: a task stuck in an open long-poll must not hang the tidy-up
            await asyncio.wait(pending, timeout=2.0)
        if sio is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(sio.eio.disconnect(abort=True), 2.0)
            if sio.eio.http is not None and not sio.eio.http.closed:
                await sio.eio.http.close()
        self._is_connected = self._is_connecting = False


class ChapterCollaborationManager:
    """The chapter's ``CollaborationManager``, as written (see mistake 9)."""

    def __init__(self, socket: ChapterSocketIOService, document_id: str) -> None:
        self._socket = socket
        self.document_id = document_id
        self.remote_cursors: dict[str, Any] = {}

    async def initialize(self) -> None:
        await self._socket.connect()
        self._socket.on("cursor_move", lambda data: self.remote_cursors.update(
            {data["userId"]: data["position"]}))
        self._socket.on("doc_change", lambda data: None)
        self._socket.on("user_joined", lambda data: None)
        # Dart: _socket.onConnect((_) { _socket.joinRoom('doc:$documentId'); });
        self._socket.onConnect(  # type: ignore[attr-defined]
            lambda _: self._socket.join_room(f"doc:{self.document_id}")
        )

    async def send_cursor_move(self, line: int, column: int) -> None:
        await self._socket.emit("cursor_move", {
            "documentId": self.document_id, "position": {"line": line, "column": column},
        })

    async def send_text_change(self, operation: str) -> None:
        await self._socket.emit("doc_change", {
            "documentId": self.document_id, "operation": operation,
            "timestamp": int(time.time() * 1000),
        })

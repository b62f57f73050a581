"""Bad inputs for the protocols that keep a connection: raw ``/ws/*``, ``WS /graphql`` (both
subprotocols, messages out of order and malformed in every state) and Socket.IO (raw Engine.IO
and Socket.IO packets over the WebSocket and the long-polling transports).

Same shape as :mod:`tests.fuzz.http_inputs`: ``make(gen) -> dict``, ``async send(case, ctx)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection

from tests.fuzz.http_inputs import NUMBERS, gql_document
from tests.fuzz.values import Gen, Raw
from tests.fuzz.wire import Outcome, recv_until, request, ws_session

TICKS = "subscription { ticks(count: 3) { n } }"


def ascii_header(gen: Gen) -> str:
    return bytes(b for b in gen.header_value() if b < 0x80).decode("ascii") or "x"


def odd_id(gen: Gen) -> Any:
    return gen.pick(("1", "1", "2", "", 1, [1], {"id": "1"}, None, True, "x" * 300,
                     Raw('"\\ud800"'), gen.value()))


def frame_text(gen: Gen, message: Any) -> str | bytes:
    """A message as the client would send it — or broken on its way out."""
    text = gen.dumps(message)
    kind = gen.rng.randrange(12)
    if kind == 0:
        return gen.mutate(text)
    if kind == 1:
        return text.encode("utf-8", "surrogatepass")  # a binary frame
    return text


class RawWS:
    name = "ws"

    def make(self, gen: Gen) -> dict[str, Any]:
        path = gen.pick(("/ws/echo", "/ws/echo", "/ws/chat", "/ws/ticker", "/ws/nope"))
        if path == "/ws/chat" and gen.chance(0.5):
            path += "?room=" + quote(gen.text(100).encode("utf-8", "ignore"))
        if path == "/ws/ticker":
            path += "?rate=" + quote(gen.pick(NUMBERS).encode())
        frames: list[str | bytes] = []
        for _ in range(gen.rng.randrange(1, 6)):
            kind = gen.rng.randrange(8)
            if kind < 3:
                env = {"type": gen.pick(("ping", "message", "join", "echo", gen.text(300))),
                       "payload": gen.pick(({"room": gen.text(80)}, {"text": "hi"}, gen.value())),
                       "id": odd_id(gen)}
                for key in list(env):
                    if gen.chance(0.15):
                        env[key] = gen.value()
                frames.append(frame_text(gen, env))
            elif kind == 3:
                frames.append(gen.deep())
            elif kind == 4:
                frames.append(gen.blob())
            elif kind == 5:
                frames.append(gen.pick(("", " ", "null", "[]", '{"type": null}', "x" * 70_000)))
            else:
                frames.append(str(gen.value()))
        headers = {"authorization": ascii_header(gen)} if gen.chance(0.2) else None
        return {"path": path, "frames": frames, "headers": headers}

    async def send(self, case: dict[str, Any], ctx: Any) -> Outcome:
        outcome = Outcome()
        await ws_session(ctx.target.ws(case["path"]), case["frames"], outcome,
                         headers=case["headers"], budget=0.5)
        return outcome


TRANSPORT_WS, LEGACY_WS = "graphql-transport-ws", "graphql-ws"


class GraphQLWS:
    name = "graphql-ws"

    def make(self, gen: Gen) -> dict[str, Any]:
        subprotocols = gen.pick(([TRANSPORT_WS],) * 4 + ([LEGACY_WS],) * 4
                                + ([TRANSPORT_WS, LEGACY_WS], ["junk"], None))
        legacy = subprotocols == [LEGACY_WS]
        frames: list[str | bytes] = []
        if gen.chance(0.85):
            payload = gen.pick(({}, None, {"Authorization": "Bearer " + gen.text(50)},
                                {"headers": gen.value()}, gen.value(), gen.obj()))
            init: dict[str, Any] = {"type": "connection_init"}
            if payload is not None or gen.chance(0.5):
                init["payload"] = payload
            frames.append(frame_text(gen, init))
        for _ in range(gen.rng.randrange(1, 5)):
            frames.append(self.message(gen, legacy))
        return {"subprotocols": subprotocols, "frames": frames}

    def message(self, gen: Gen, legacy: bool) -> str | bytes:
        kind = gen.rng.randrange(10)
        if kind < 3:
            query = TICKS if gen.chance(0.4) else gql_document(gen)
            payload: Any = {"query": query}
            if gen.chance(0.4):
                payload["variables"] = gen.pick((gen.value(), gen.obj(), {"n": 1}))
            if gen.chance(0.3):
                payload["operationName"] = gen.pick(("Nope", "A", gen.value()))
            if gen.chance(0.1):
                payload = gen.value()
            kind_name = gen.pick(("start", "subscribe")) if gen.chance(0.2) else (
                "start" if legacy else "subscribe")
            return frame_text(gen, {"id": odd_id(gen), "type": kind_name, "payload": payload})
        if kind == 3:
            return frame_text(gen, {"id": odd_id(gen),
                                    "type": gen.pick(("complete", "stop", "complete"))})
        if kind == 4:
            message: dict[str, Any] = {"type": gen.pick(("ping", "pong"))}
            if gen.chance(0.5):
                message["payload"] = gen.value()
            return frame_text(gen, message)
        if kind == 5:
            return frame_text(gen, {"type": gen.pick((
                "x" * gen.pick((10, 124, 300, 5000)), "next", "error", "connection_ack", "ka",
                "connection_terminate", "connection_init", "", "🏳️‍🌈" * 40,
                Raw('"\\ud800\\udfff\\ud800"'), gen.value()))})
        if kind == 6:
            return gen.deep()
        if kind == 7:
            return gen.blob()
        return str(gen.value())

    async def send(self, case: dict[str, Any], ctx: Any) -> Outcome:
        outcome = Outcome()
        await ws_session(ctx.target.ws("/graphql"), case["frames"], outcome,
                         subprotocols=case["subprotocols"], idle=0.15)
        return outcome


RESERVED = ("connect", "disconnect", "*", "connect_error", "disconnecting", "newListener",
            "removeListener")
EVENTS = ("echo", "whoami", "join", "chat_message", "ticker", "flaky", "cursor_move", "nope",
          *RESERVED)


def sio_packet(gen: Gen) -> str | bytes:
    """One Engine.IO packet (usually carrying a Socket.IO packet), often malformed."""
    kind = gen.rng.randrange(14)
    ns = gen.pick(("", "", "/chat,", "/collab,", "/nope,", "/" + gen.text(30) + ",", "/"))
    ack = gen.pick(("", "", "1", "42", "9" * 120, "-1"))
    if kind < 5:
        name = gen.pick(EVENTS) if gen.chance(0.8) else gen.value()
        args = [gen.pick(({"room": "general", "text": "hi"}, {"documentId": "d"}, gen.value()))
                for _ in range(gen.rng.randrange(3))]
        payload = gen.dumps([name, *args]) if gen.chance(0.85) else str(gen.value())
        return "42" + ns + ack + payload
    if kind == 5:
        return "40" + ns + gen.pick(("", gen.dumps({"token": gen.value()}), str(gen.value())))
    if kind == 6:
        return "41" + ns
    if kind == 7:
        return "43" + ns + ack + gen.pick(("[]", str(gen.value())))
    if kind == 8:
        placeholder = {"_placeholder": True, "num": gen.pick((0, 1, -1, "0", None, 10**9))}
        count = gen.pick(("1", "0", "2", "11", "99999999999", "x"))
        return "45" + count + "-" + ns + ack + gen.dumps(["echo", placeholder])
    if kind == 9:
        return "4" + gen.pick(("4", "7", "9", "x", "", "/"))
    if kind == 10:
        return gen.pick(("", "1", "2", "2probe", "3", "5", "6", "7", "9", "x", "b", "b!!!",
                         "bAAA=", "4", "٣"))
    if kind == 11:
        return gen.blob()
    if kind == 12:
        return "42" + ns + str(gen.deep())
    return gen.mutate("42" + json.dumps(["echo", {"n": 1}]))


class SocketIO:
    name = "socketio"

    def make(self, gen: Gen) -> dict[str, Any]:
        transport = gen.pick(("websocket", "polling"))
        query = gen.pick(("EIO=4&transport=" + transport,) * 6 + (
            "EIO=3&transport=" + transport, "EIO=x&transport=" + transport,
            "transport=" + transport, "EIO=4&transport=carrier", "EIO=4&transport=polling&j=1",
            "EIO=4&transport=" + transport + "&sid=nope"))
        connect = gen.pick(("40", "40", "40/chat,", "40" + gen.dumps({"token": gen.value()}),
                            None))
        packets = [sio_packet(gen) for _ in range(gen.rng.randrange(1, 6))]
        if transport == "polling" and gen.chance(0.3):
            packets = [str(gen.value()) if gen.chance(0.5) else "x" * gen.pick((10, 300_000))]
        return {"transport": transport, "query": query, "connect": connect, "packets": packets}

    async def send(self, case: dict[str, Any], ctx: Any) -> Outcome:
        outcome = Outcome()
        path = f"/socket.io/?{case['query']}"
        if case["transport"] == "websocket":
            async def setup(ws: ClientConnection) -> None:
                await recv_until(ws, lambda m: isinstance(m, str) and m.startswith("0"), 2.0)
                if case["connect"]:
                    await ws.send(case["connect"])

            await ws_session(ctx.target.ws(path), case["packets"], outcome, setup=setup,
                             idle=0.15)
            return outcome
        opened = await request(ctx.http, outcome, "GET", ctx.target.http(path))
        if opened is None or opened.status_code != 200 or not opened.text.startswith("0"):
            return outcome
        sid = json.loads(opened.text[1:])["sid"]
        url = ctx.target.http(f"/socket.io/?EIO=4&transport=polling&sid={sid}")
        bodies = ([case["connect"]] if case["connect"] else []) + ["\x1e".join(
            p if isinstance(p, str) else p.decode("latin-1") for p in case["packets"])]
        for body in bodies + ["1"]:
            await request(ctx.http, outcome, "POST", url,
                          content=body.encode("utf-8", "surrogatepass"),
                          headers={"content-type": "text/plain;charset=UTF-8"})
        return outcome


def ws_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True,
             rsv: int = 0, length: int | None = None) -> bytes:
    """One RFC 6455 frame, as broken as asked (``length`` may lie about the payload)."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + payload
    key = b"\x01\x02\x03\x04"
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def server_close_code(data: bytes) -> int | None:
    """The code of the first close frame among the server's (unmasked) frames, if any."""
    i = 0
    while i + 2 <= len(data):
        opcode, n, i = data[i] & 0x0F, data[i + 1] & 0x7F, i + 2
        if n == 126:
            n, i = int.from_bytes(data[i:i + 2], "big"), i + 2
        elif n == 127:
            n, i = int.from_bytes(data[i:i + 8], "big"), i + 8
        if opcode == 8:
            return int.from_bytes(data[i:i + 2], "big") if n >= 2 else 1005
        i += n
    return None


class WSFrames:
    """Raw RFC 6455 frames after a real handshake: unmasked, reserved bits and opcodes, lying
    lengths, fragmented control frames, bad UTF-8, bad close codes, truncations. A complete
    frame that breaks the protocol must get a close frame; a truncated one may get nothing."""

    name = "ws-frames"
    PATHS = (("/ws/echo", None), ("/graphql", "graphql-transport-ws"),
             ("/graphql", "graphql-ws"), ("/socket.io/?EIO=4&transport=websocket", None))

    def make(self, gen: Gen) -> dict[str, Any]:
        path, subprotocol = gen.pick(self.PATHS)
        text = gen.pick((b'{"type":"ping"}', b'{"type":"connection_init"}', b"40", b"x" * 200))
        kind = gen.rng.randrange(13)
        complete = True
        if kind == 0:
            data = ws_frame(1, text, mask=False)
        elif kind == 1:
            data = ws_frame(1, text, rsv=gen.pick((1, 2, 4, 7)))
        elif kind == 2:
            data = ws_frame(gen.pick((3, 4, 5, 6, 7, 11, 12, 15)), text)
        elif kind == 3:
            data = ws_frame(9, b"p" * gen.pick((126, 200)))
        elif kind == 4:
            data = ws_frame(9, b"ping", fin=False)
        elif kind == 5:
            data = ws_frame(0, text)  # a continuation with nothing to continue
        elif kind == 6:
            data = ws_frame(1, b"x", length=gen.pick((2**63 - 1, 2**40, 70_000)))[:20]
            complete = False  # the length promises more than arrives: a wait, not an error
        elif kind == 7:
            data = ws_frame(1, gen.pick((b"\xff\xfe", b"\xed\xa0\x80", b"\xc3\x28", b"\xf8\x88")))
        elif kind == 8:
            code = gen.pick((0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535))
            data = ws_frame(8, code.to_bytes(2, "big") + gen.pick((b"", b"\xff", b"bye")))
        elif kind == 9:
            data = ws_frame(8, b"\x03")  # a one-byte close payload
        elif kind == 10:
            data = ws_frame(1, text, fin=False) + ws_frame(1, text)  # a new message mid-message
        elif kind == 11:
            whole = ws_frame(1, text)
            data, complete = whole[: gen.rng.randrange(1, len(whole))], False
        else:
            data = ws_frame(2, gen.blob()) + ws_frame(1, gen.blob())
        return {"path": path, "subprotocol": subprotocol, "frames": data.hex(),
                "complete": complete}

    async def send(self, case: dict[str, Any], ctx: Any) -> Outcome:
        outcome = Outcome()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", ctx.target.port), 5)
        except (OSError, TimeoutError) as exc:
            outcome.drop(f"cannot connect ({exc})")
            return outcome
        try:
            head = (f"GET {case['path']} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n")
            if case["subprotocol"]:
                head += f"Sec-WebSocket-Protocol: {case['subprotocol']}\r\n"
            writer.write((head + "\r\n").encode())
            response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            status = int(response.split(b" ", 2)[1])
            outcome.statuses.append(status)
            if status != 101:
                return outcome
            writer.write(bytes.fromhex(case["frames"]))
            await writer.drain()
            data = b""
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0 if case["complete"] else 0.3):
                    while chunk := await reader.read(65536):
                        data += chunk
                        if server_close_code(data) is not None:
                            break
            code = server_close_code(data)
            if code is not None:
                outcome.closes.append(code)
            elif case["complete"] and not _still_open(reader):
                outcome.drop("the connection ended without a close frame")
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            outcome.drop(f"{type(exc).__name__}: {exc}")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        return outcome


def _still_open(reader: asyncio.StreamReader) -> bool:
    return not reader.at_eof()

"""The fuzz layer checks itself: its generators are varied and reproducible, and its judge sees
each failure it claims to count (a 5xx, a 1011, a drop without close, a hang) when a small
server that is not ours commits it on purpose."""

from __future__ import annotations

import asyncio
import json
import random

import httpx
import pytest
from websockets.asyncio.server import serve

from servers import safejson
from tests.fuzz import wire
from tests.fuzz.run import PROTOCOLS, judge, make_case
from tests.fuzz.values import Gen
from tests.fuzz.ws_inputs import server_close_code, ws_frame


def test_an_input_is_a_function_of_seed_protocol_and_index() -> None:
    for protocol, _share in PROTOCOLS:
        assert make_case(7, protocol, 3) == make_case(7, protocol, 3)
        cases = [repr(make_case(7, protocol, i)) for i in range(60)]
        assert len(set(cases)) >= 40, protocol.name  # varied, not one input sixty times


def test_json_values_cover_every_class_of_bad_input() -> None:
    gen = Gen(random.Random(1))
    texts = [str(gen.value()) for _ in range(3000)]
    kinds = {"too deep": 0, "lone surrogate": 0, "not a JSON number": 0, "valid": 0}
    for text in texts:
        try:
            safejson.loads(text)
            kinds["valid"] += 1
        except safejson.JSONError as exc:
            if "deeper" in str(exc):
                kinds["too deep"] += 1
            elif "number" in str(exc) or "digits" in str(exc):
                kinds["not a JSON number"] += 1
        if "\\ud8" in text or "\\udc" in text:
            kinds["lone surrogate"] += 1
    assert all(n >= 20 for n in kinds.values()), kinds
    broken = sum(1 for _ in range(300) if not _parses(gen.mutate(json.dumps({"a": [1, "b"]}))))
    assert broken >= 100


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_close_codes_are_read_from_raw_server_frames() -> None:
    unmasked_close = ws_frame(8, (1002).to_bytes(2, "big") + b"bye", mask=False)
    text = ws_frame(1, b"0{}", mask=False)
    assert server_close_code(text + unmasked_close) == 1002
    assert server_close_code(text) is None


async def test_the_judge_counts_a_drop_and_a_1011() -> None:
    async def handler(ws) -> None:
        message = await ws.recv()
        if message == "drop":
            ws.transport.abort()  # TCP reset, no close frame
        else:
            await ws.close(1011, "boom")

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        dropped, internal = wire.Outcome(), wire.Outcome()
        await wire.ws_session(f"ws://127.0.0.1:{port}", ["drop"], dropped)
        await wire.ws_session(f"ws://127.0.0.1:{port}", ["1011"], internal)
    assert dropped.dropped and judge(dropped) == [f"dropped: {dropped.dropped}"]
    assert internal.closes == [1011] and judge(internal) == ["close 1011"]


async def test_the_judge_counts_a_5xx_and_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "ANSWER_TIMEOUT", 0.3)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if b"/hang" not in head:
            writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        await asyncio.sleep(1)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, httpx.AsyncClient() as http:
        failed, hung, raw_hung = wire.Outcome(), wire.Outcome(), wire.Outcome()
        await wire.request(http, failed, "GET", f"http://127.0.0.1:{port}/")
        await wire.request(http, hung, "GET", f"http://127.0.0.1:{port}/hang")
        await wire.raw_exchange(b"GET /hang HTTP/1.1\r\n\r\n", port, raw_hung)
    assert failed.server_error and judge(failed) == ["HTTP [500]"]
    assert hung.dropped and "no HTTP answer" in hung.dropped
    assert raw_hung.dropped and "no HTTP answer" in raw_hung.dropped

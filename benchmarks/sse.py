"""SSE: events per second through ``ReconnectingEventSource`` vs raw httpx-sse ``aiter_sse``,
and the parser's throughput in MB/s.

The stream is ``/sse/news?interval=0``: an unpaced feed that publishes as fast as its reader
reads, so the reader sets the pace. Both clients read the same stream from the same server
process; rounds alternate between them so machine noise hits both alike; the ratio of median
rates is the result (target: >= 0.9). rtlab does more per event than the raw loop (a timeline
entry, the inbox, the resume position), and that is what the ratio prices.

The parser row feeds the same ~8 MB of recorded stream to :class:`EventStreamParser` and to
httpx-sse's own decoders, in 64 KiB chunks, in this process: no network, no target, a figure.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
from httpx_sse import aconnect_sse
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

from benchmarks.report import Row
from rtlab.sse import EventStreamParser, ReconnectingEventSource

TARGET = 0.9
PATH = "/sse/news?interval=0&ping=0"


async def _raw_rate(url: str, n: int) -> float:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        async with aconnect_sse(client, "GET", url) as source:
            count = 0
            t0 = time.perf_counter()
            async for event in source.aiter_sse():
                if event.event == "news":
                    count += 1
                    if count == n:
                        break
            return n / (time.perf_counter() - t0)


async def _rtlab_rate(url: str, n: int) -> float:
    async with ReconnectingEventSource(url, heartbeat_timeout=10) as source:
        count = 0
        t0 = time.perf_counter()
        while count < n:
            event = await source.recv()
            if event.type == "news":
                count += 1
        return n / (time.perf_counter() - t0)


async def measure(url: str, rounds: int = 7, per_round: int = 20_000) -> dict[str, float]:
    await _raw_rate(url, 2000)  # warm up both paths
    await _rtlab_rate(url, 2000)
    raw: list[float] = []
    ours: list[float] = []
    for _ in range(rounds):
        raw.append(await _raw_rate(url, per_round))
        ours.append(await _rtlab_rate(url, per_round))
    raw_median, ours_median = statistics.median(raw), statistics.median(ours)
    return {"raw": raw_median, "rtlab": ours_median, "ratio": ours_median / raw_median}


async def _record(url: str, size: int) -> bytes:
    """About ``size`` bytes of the server's real stream, to parse offline."""
    chunks, total = [], 0
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        async with client.stream("GET", url) as response:
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                total += len(chunk)
                if total >= size:
                    break
    return b"".join(chunks)


def _chunks(stream: bytes, size: int = 65536) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def parser_rates(stream: bytes, repeats: int = 5) -> dict[str, float]:
    """MB/s of EventStreamParser and of httpx-sse's line decoder + event decoder."""
    chunks = _chunks(stream)
    text_chunks = _chunks(stream)  # httpx-sse decodes text first, as aiter_text would
    ours, theirs = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        parser = EventStreamParser()
        n_ours = sum(len(parser.feed(c)) for c in chunks)
        ours.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        import codecs

        text = codecs.getincrementaldecoder("utf-8")()
        lines, decoder, n_theirs = SSELineDecoder(), SSEDecoder(), 0
        for c in text_chunks:
            for line in lines.decode(text.decode(c)):
                if decoder.decode(line) is not None:
                    n_theirs += 1
        theirs.append(time.perf_counter() - t0)
    mb = len(stream) / 1e6
    return {"ours": mb / min(ours), "theirs": mb / min(theirs), "events": n_ours,
            "their_events": n_theirs, "mb": mb}


def run(server) -> list[Row]:
    url = server.http_url(PATH)
    rates = asyncio.run(measure(url))
    stream = asyncio.run(_record(url, 8_000_000))
    parse = parser_rates(stream)
    return [
        Row(
            "SSE events per second (median)",
            f"{rates['raw']:,.0f} ev/s raw httpx-sse aiter_sse",
            f"{rates['rtlab']:,.0f} ev/s ReconnectingEventSource",
            f"{rates['ratio']:.3f} (target >= {TARGET})",
            rates["ratio"] >= TARGET,
        ),
        Row(
            f"SSE parser throughput ({parse['mb']:.1f} MB, {parse['events']:,} events)",
            f"{parse['theirs']:.1f} MB/s httpx-sse decoders",
            f"{parse['ours']:.1f} MB/s EventStreamParser",
            f"{parse['ours'] / parse['theirs']:.2f}x (a figure, no target)",
            True,
        ),
    ]

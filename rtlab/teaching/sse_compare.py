"""Three readings of the same bytes: the spec parser, httpx-sse's decoder, the chapter's parser.

For notebook 06: each tricky stream is fed to all three, and :func:`table` prints what each
one dispatched, so a student sees exactly where the libraries part from the spec.
"""

from __future__ import annotations

import codecs

from httpx_sse._decoders import SSEDecoder, SSELineDecoder

from rtlab.chapter.sse_parser import ChapterSSEParser
from rtlab.sse.parser import EventStreamParser

#: name -> (bytes, what the spec says should happen)
TRICKY: dict[str, tuple[bytes, str]] = {
    "CRLF line ends": (b"data: a\r\n\r\n", "one event 'a'"),
    "lone CR line ends": (b"data: a\r\rdata: b\r\r", "two events"),
    "leading BOM": (b"\xef\xbb\xbfid: 1\ndata: a\n\n", "BOM dropped: 'a' with id 1"),
    "two spaces after colon": (b"data:  indented \n\n", "one space removed: ' indented '"),
    "'data' without colon": (b"data: a\ndata\n\n", "'a\\n' (an empty second line)"),
    "comment only (keep-alive)": (b": ping\n\n", "no event"),
    "retry only": (b"retry: 2000\n\n", "no event; retry set to 2000"),
    "retry not all digits": (b"retry: +1000\ndata: a\n\n", "retry ignored"),
    "id with NUL": (b"id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\n", "NUL id ignored: ids 1, 1"),
    "event without id line": (b"id: 7\ndata: a\n\ndata: b\n\n", "both carry last id 7"),
    "invalid UTF-8": (b"data: caf\xff\n\n", "U+FFFD in place of the bad byte"),
}


def _id(value: object) -> str:
    return str(value).encode("unicode_escape").decode()


def spec_reading(stream: bytes) -> str:
    parser = EventStreamParser()
    events = parser.feed(stream)
    text = ", ".join(f"{e.type}:{e.data!r}#{_id(e.id)}" for e in events) or "(none)"
    return text + (f" [retry {parser.retry}]" if parser.retry is not None else "")


def httpx_sse_reading(stream: bytes) -> str:
    """httpx-sse 0.4's decoders, fed as ``aiter_sse`` feeds them (text, line by line)."""
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(stream, final=True)
    lines, decoder, out = SSELineDecoder(), SSEDecoder(), []
    for line in [*lines.decode(text), *lines.flush()]:
        event = decoder.decode(line.rstrip("\n"))
        if event is not None:
            retry = f" [retry {event.retry}]" if event.retry is not None else ""
            out.append(f"{event.event}:{event.data!r}#{_id(event.id)}{retry}")
    return ", ".join(out) or "(none)"


def chapter_reading(stream: bytes) -> str:
    try:
        events = ChapterSSEParser().feed(stream)
    except UnicodeDecodeError as exc:
        return f"error: {exc.reason}"
    return ", ".join(f"{e.event}:{e.data!r}#{_id(e.id)}" for e in events) or "(none)"


def table(cases: dict[str, tuple[bytes, str]] | None = None) -> str:
    """A text table: each case, the spec's reading, and where the other two differ."""
    rows = []
    for name, (stream, _expected) in (cases or TRICKY).items():
        spec = spec_reading(stream)
        theirs = httpx_sse_reading(stream)
        chapter = chapter_reading(stream)
        rows.append(f"{name}\n  spec      {spec}\n"
                    f"  httpx-sse {'= spec' if theirs == spec else theirs}\n"
                    f"  chapter   {'= spec' if chapter == spec else chapter}")
    return "\n".join(rows)

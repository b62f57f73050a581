"""Bad input is logged as one line — what was wrong and who sent it — never as a traceback.

A client's mistake is not a server failure: it gets a clear answer (400, an ``error``
envelope, close 4400) and one ``WARNING`` line here, so a flood of garbage cannot flood the
log with stack traces and a real failure still stands out. :func:`report` is what our own
servers call. :class:`OneLine` is a logging filter for the libraries that log a client's
malformed packet with ``logger.exception`` (python-engineio, python-socketio, strawberry's
WebSocket tasks): it keeps the record, drops the traceback and appends the exception's text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from servers import safejson

log = logging.getLogger("rtlab.badinput")

MAX_DETAIL = 200

#: exceptions a malformed packet raises inside a library's parser or dispatcher
INPUT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, KeyError, IndexError, TypeError, AttributeError, UnicodeError, RecursionError,
)
#: library loggers that report a client's bad input with a traceback, and which of their
#: messages are about bad input (None: any record whose exception is one of INPUT_ERRORS)
LIBRARY_LOGGERS: dict[str, tuple[str, ...] | None] = {
    "engineio.server": None,
    "socketio.server": None,
    "strawberry.ws.task": None,
    # uvicorn's own text-frame decoding; its other exceptions are the app's, and stay whole
    "uvicorn.error": ("Invalid UTF-8 sequence received from client.",),
}


def peer(scope: Mapping[str, Any] | None) -> str:
    """``host:port`` of the client of an ASGI scope (or ``?``)."""
    client = (scope or {}).get("client")
    return f"{client[0]}:{client[1]}" if client else "?"


def shorten(text: str, limit: int = MAX_DETAIL) -> str:
    text = text.replace("\n", " ").replace("\r", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def report(where: str, who: str, what: str) -> None:
    """One line: ``bad input from 127.0.0.1:5555 on POST /graphql: JSON nested deeper ...``."""
    log.warning("bad input from %s on %s: %s", who, where, shorten(what))


def report_scope(scope: Mapping[str, Any], what: str) -> None:
    method = scope.get("method") or ("WS" if scope.get("type") == "websocket" else "")
    report(f"{method} {scope.get('path', '?')}".strip(), peer(scope), what)


def describe(value: Any) -> str:
    """A short, safe rendering of a client's value for a log line or an error message."""
    return shorten(safejson.encode(value).decode("utf-8", "replace"), 80) if value is not None \
        else "null"


class OneLine(logging.Filter):
    """Turns a library's traceback for a client's bad input into one ``WARNING`` line."""

    def __init__(self, messages: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self.messages = messages

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, INPUT_ERRORS):
            return True
        if self.messages is not None and record.msg not in self.messages:
            return True
        record.msg = f"bad input: {record.getMessage()} {type(exc).__name__}: " \
                     f"{shorten(str(exc))}"
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def install() -> None:
    """Give :data:`log` a stderr handler and attach :class:`OneLine` to the library loggers
    (idempotent; ``python -m servers`` calls it once)."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:  %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.WARNING)
        log.propagate = False
    for name, messages in LIBRARY_LOGGERS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, OneLine) for f in logger.filters):
            logger.addFilter(OneLine(messages))

"""Every error rtlab raises, in one tree under :class:`RtlabError`.

``except RtlabError`` catches anything rtlab itself raised; each class also derives
from the built-in it stands for, so ``except ConnectionError`` (a client that gave up,
was closed, or got no answer) and ``except TimeoutError`` (an ack that never came)
keep working. One class per meaning, shared by every client::

    RtlabError
    ├── ConnectionFailed        (ConnectionError)  a client stopped for good: gave up, or
    │   │                                           a failure no retry can fix
    │   └── AuthenticationFailed                    credentials refused (and a refresh did not help)
    ├── ConnectTimeout          (TimeoutError)     connect() waited its timeout; says what the
    │                                               last attempt got
    ├── ClientClosed            (ConnectionError)  the client was closed: nothing more comes
    │   └── SubscriptionClosed                      one GraphQL subscription ended first
    │       └── SubscriptionRefused                 the server answered its subscribe with `error`
    ├── NetworkError            (ConnectionError)  a GraphQL request got no answer
    ├── QueueFull               (RuntimeError)     the send queue is full and overflow is "reject"
    ├── AckTimeout              (TimeoutError)     no ack after every retry
    ├── IllegalTransition       (RuntimeError)     a state change or outcome the tables do not allow
    ├── ProtocolViolation       (ValueError)       a GraphQL-over-WS message the protocol forbids
    ├── EnvelopeError           (ValueError)       a frame that is not a valid typed envelope
    ├── EventDataError          (ValueError)       an SSE event's data is not what was expected
    ├── StreamTooLong           (ValueError)       an SSE line or event past ``max_size``
    ├── ProcessNotReady         (RuntimeError)     a child process did not come up
    │   (LabError, also a RuntimeError: the lab server or a chaos call failed)
    └── (the GraphQL cache's ``CacheError`` family and ``GraphQLErrors`` derive from it too)

This module imports nothing but the standard library, so every core can use it.
"""

from __future__ import annotations


class RtlabError(Exception):
    """The root of every error rtlab raises."""


class ConnectionFailed(RtlabError, ConnectionError):
    """A client stopped for good without a working link: it gave up after ``max_attempts``,
    or met a failure that no retry can fix (a refused status, a wrong content type, a close
    code that names a client error). ``status`` is the HTTP status or WebSocket close code
    behind it, when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthenticationFailed(ConnectionFailed):
    """The server refused the credentials and a refresh did not help (or none was possible):
    a login or refresh answered 401, a WebSocket closed with 4403 again after the one
    refresh, a Socket.IO server refused the token. The message carries the server's reason."""


class ConnectTimeout(RtlabError, TimeoutError):
    """``connect()`` waited ``timeout`` seconds and the client is still not connected (it
    keeps trying). The message says what the last attempt got (refused port, HTTP status,
    close code); ``last_error`` is that failure itself."""

    def __init__(self, message: str, last_error: BaseException | None = None) -> None:
        super().__init__(message)
        self.last_error = last_error


class ClientClosed(RtlabError, ConnectionError):
    """The client was closed (or its server ended the stream for good): nothing more comes."""


class SubscriptionClosed(ClientClosed):
    """A GraphQL subscription ended (completed, cancelled, refused) before it went live."""


class SubscriptionRefused(SubscriptionClosed):
    """The server answered a GraphQL subscription's ``subscribe`` with ``error`` (a validation
    error, an unknown field, a missing variable): it never went live. The message carries the
    server's messages; ``errors`` the GraphQL errors themselves."""

    def __init__(self, message: str, errors: list | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class NetworkError(RtlabError, ConnectionError):
    """A GraphQL request did not get a GraphQL answer (refused, dropped, timed out, HTTP 5xx).

    ``status`` is the HTTP status when there was one. Worth retrying when it is
    ``None`` (no answer at all), 429 or 5xx; a 4xx will not change by asking again.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


class QueueFull(RtlabError, RuntimeError):
    """The send queue holds ``queue_size`` messages and the overflow policy is ``reject``."""


class AckTimeout(RtlabError, TimeoutError):
    """No ack after the first try and every retry."""


class IllegalTransition(RtlabError, RuntimeError):
    """A client asked for a state change (or reported an outcome) the tables do not allow."""


class ProtocolViolation(RtlabError, ValueError):
    """A message from the server that the GraphQL-over-WebSocket subprotocol does not allow."""


class EnvelopeError(RtlabError, ValueError):
    """A frame that is not a valid envelope; the message says why."""


class EventDataError(RtlabError, ValueError):
    """An SSE event's data is not what the caller expected (e.g. not JSON)."""


class StreamTooLong(RtlabError, ValueError):
    """An SSE line (or an event's data) grew past the parser's ``max_size`` bound."""


class ProcessNotReady(RtlabError, RuntimeError):
    """The child exited, stayed silent past the timeout, or said something unexpected."""


class LabError(RtlabError, RuntimeError):
    """The lab server did not start, or did not answer a chaos call."""


__all__ = [
    "AckTimeout",
    "AuthenticationFailed",
    "ClientClosed",
    "ConnectTimeout",
    "ConnectionFailed",
    "EnvelopeError",
    "EventDataError",
    "IllegalTransition",
    "LabError",
    "NetworkError",
    "ProcessNotReady",
    "ProtocolViolation",
    "QueueFull",
    "RtlabError",
    "StreamTooLong",
    "SubscriptionClosed",
    "SubscriptionRefused",
]

"""servers.handoff: the master routes a connection by the Engine.IO session id in its request
line, and passes the socket itself to another process."""

from __future__ import annotations

import socket

from servers.handoff import owner, receive_sockets, request_line, send_socket, worker_sid


def line(target: str) -> bytes:
    return f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def test_a_session_id_names_its_worker() -> None:
    for index in (0, 1, 7, 12):
        sid = worker_sid(index, "Lw6Z4pUsmdNn2suwAAAA")
        assert owner(line(f"/socket.io/?EIO=4&transport=polling&sid={sid}"), 16) == index
        assert owner(line(f"/socket.io/?sid={sid}&EIO=4&transport=websocket"), 16) == index


def test_no_owner_for_new_sessions_other_paths_and_unknown_workers() -> None:
    assert owner(line("/socket.io/?EIO=4&transport=polling"), 2) is None  # a handshake
    assert owner(line("/graphql?sid=w1-abc"), 2) is None  # not Socket.IO
    assert owner(line("/socket.io/?EIO=4&sid=w5-abc"), 2) is None  # no such worker
    assert owner(line("/socket.io/?EIO=4&sid=Lw6Z4pUs"), 2) is None  # not one of ours
    assert owner(line("/socket.io/?EIO=4&xsid=w1-abc"), 2) is None  # another parameter
    assert owner(b"", 2) is None and owner(b"\x16\x03\x01garbage", 2) is None


def test_the_request_line_is_complete_only_with_its_newline() -> None:
    assert request_line(b"GET /socket.io/?EIO=4&sid=w1") is None
    assert request_line(line("/x")) == b"GET /x HTTP/1.1\r"


def test_a_socket_passed_over_a_channel_is_the_same_connection() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    left, right = socket.socketpair()
    with ours, theirs, left, right:
        send_socket(ours, right)
        right.close()
        (got,), extra = receive_sockets(theirs)
        with got:
            left.sendall(b"ping")
            assert got.recv(4) == b"ping" and extra == b""
        ours.send(b"ready")
        assert receive_sockets(theirs) == ([], b"ready")
        ours.close()
        assert receive_sockets(theirs) == ([], b"")  # the other end is gone

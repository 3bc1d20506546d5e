"""The crash harness itself: a server killed mid-answer ends the request thread quietly, whatever
the half-sent answer looks like; anything that is not a connection error still fails the test."""

import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.reliability.harness import Client, until_server_dies

#: What a dying server can leave on the wire: nothing, half a status line, or a 303 whose body is
#: cut short (the case that once raised `IncompleteRead` in a clean clone's `make test`).
HALF_ANSWERS = {
    "nothing": b"",
    "half-status-line": b"HTTP/1.1 30",
    "headers-only": b"HTTP/1.1 303 SEE OTHER\r\nLocation: /operator/uploads/1\r\n",
    "cut-body": b"HTTP/1.1 303 SEE OTHER\r\nLocation: /operator/uploads/1\r\nContent-Length: 500\r\n\r\n<p>Red",
    "cut-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\nabc",
}


@contextmanager
def dying_server(answer: bytes) -> Iterator[str]:
    """A socket that reads one request, writes `answer` and closes, as a SIGKILLed gunicorn would."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(answer)
            connection.shutdown(socket.SHUT_RDWR)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        thread.join(timeout=10)
        listener.close()


@pytest.mark.parametrize("answer", list(HALF_ANSWERS.values()), ids=list(HALF_ANSWERS))
def test_a_request_cut_by_the_server_dying_ends_quietly(answer: bytes) -> None:
    with dying_server(answer) as base:
        client = Client(base, timeout=10)
        client.csrf = "token"  # no GET /login first: the one request is the post
        until_server_dies(lambda: client.post("/operator/uploads/1/import"))()


def test_the_cut_body_is_the_error_that_is_not_an_oserror() -> None:
    with dying_server(HALF_ANSWERS["cut-body"]) as base:
        client = Client(base, timeout=10)
        client.csrf = "token"
        with pytest.raises(http.client.IncompleteRead):
            client.post("/operator/uploads/1/import")


def test_an_error_that_is_not_the_connection_still_fails() -> None:
    def broken() -> None:
        raise AssertionError("a real failure")

    with pytest.raises(AssertionError, match="a real failure"):
        until_server_dies(broken)()

"""Fake provider APIs on loopback, for tests and benchmarks: the real client libraries talk
to them over HTTP, so what is tested is what runs.

Each fake is a threaded HTTP/1.1 server (keep-alive, like the real APIs) bound to
127.0.0.1 on an ephemeral port. It records every call, and plays scripted failures for
the next sends: `fail_next("429")`. Used as a context manager, it stops cleanly: idle
keep-alive connections are closed and every handler thread is joined, so nothing leaks
into the next test. Nothing here imports pytest, so benchmarks can use the fakes too.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlsplit

# A scripted "timeout" holds the request this long at most (or until the fake stops):
# longer than a test client's timeout, short enough never to stall a run.
DEFAULT_HANG_SECONDS = 2.0


@dataclass(frozen=True)
class Call:
    """One request the fake received: the API method, its parameters, when it came."""

    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() on arrival
    auth: tuple[str, str] | None = None


@dataclass(frozen=True)
class Request:
    """An HTTP request as the fake's routes see it."""

    verb: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def form(self) -> dict[str, str]:
        """The body as a form (last value wins), or as a JSON object."""
        kind = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            data = json.loads(self.body or b"{}")
            if not isinstance(data, dict):
                raise ValueError("the JSON body is not an object")
            return {str(k): v for k, v in data.items()}
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


@dataclass(frozen=True)
class Response:
    """What the fake answers; `hang` holds the connection and then drops it, unanswered."""

    status: int = 200
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


class FakeAPI:
    """The shared machinery: server, thread, call log, failure queue. Subclasses route."""

    FAILURES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, hang: float = DEFAULT_HANG_SECONDS) -> None:
        self.hang = hang
        self._calls: list[Call] = []
        self._failures: deque[str] = deque()
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Running

    def __enter__(self) -> Self:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving, drop idle keep-alive connections, and join every thread."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        with self._changed:
            connections = list(self._connections)
        for connection in connections:
            # A handler waiting for the next request on a kept-alive connection would
            # block server_close(); shutting the socket wakes it with end-of-file.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()  # joins the handler threads
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    @property
    def base_url(self) -> str:
        """The fake's address, e.g. http://127.0.0.1:49152."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; use it in a with block")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # What tests see

    @property
    def calls(self) -> list[Call]:
        """Every call so far, oldest first."""
        with self._changed:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls to one API method, oldest first."""
        return [c for c in self.calls if c.method == method]

    def wait_for(self, count: int, timeout: float = 5.0, method: str | None = None) -> list[Call]:
        """Wait until `count` calls (to `method`, if given) have arrived; return them."""

        def matching() -> list[Call]:
            return [c for c in self._calls if method is None or c.method == method]

        with self._changed:
            if not self._changed.wait_for(lambda: len(matching()) >= count, timeout):
                raise TimeoutError(f"{len(matching())} of {count} calls arrived in {timeout} s")
            return matching()

    def fail_next(self, kind: str, times: int = 1) -> None:
        """Make the next `times` sends fail in this way."""
        if kind not in self.FAILURES:
            raise ValueError(f"unknown failure {kind!r}; choose from {', '.join(self.FAILURES)}")
        with self._changed:
            self._failures.extend([kind] * times)

    # For subclasses

    def route(self, request: Request) -> Response:
        """Answer one request."""
        raise NotImplementedError

    def record(self, method: str, params: dict[str, Any],
               auth: tuple[str, str] | None = None) -> None:
        """Add a call to the log and wake anyone waiting for it."""
        with self._changed:
            self._calls.append(Call(method, params, time.monotonic(), auth))
            self._changed.notify_all()

    def next_failure(self) -> str | None:
        """The scripted failure for this send, if one is queued."""
        with self._changed:
            return self._failures.popleft() if self._failures else None

    # For the handler

    def _opened(self, connection: socket.socket) -> None:
        with self._changed:
            self._connections.add(connection)

    def _closed(self, connection: socket.socket) -> None:
        with self._changed:
            self._connections.discard(connection)


class _Server(ThreadingHTTPServer):
    # Handler threads are joined on close, so a test never leaves one running.
    daemon_threads = False
    block_on_close = True
    fake: FakeAPI


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs
    server: _Server
    # An idle keep-alive connection is dropped after this long (stop() drops it at once).
    timeout = 30
    # Headers and body go out in separate writes; without this, Nagle's algorithm and the
    # client's delayed ACK hold every answer on a kept-alive connection for ~40 ms.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.fake._opened(self.connection)

    def finish(self) -> None:
        self.server.fake._closed(self.connection)
        with contextlib.suppress(OSError):  # the client went away first
            super().finish()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        request = Request(self.command, url.path, dict(parse_qsl(url.query)),
                          {k.lower(): v for k, v in self.headers.items()}, body)
        try:
            response = fake.route(request)
        except ValueError as error:  # an unreadable body
            response = Response(400, {"error": str(error)})
        if response.hang:
            fake._stopping.wait(fake.hang)
            self.close_connection = True
            return
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and benchmarks read the call log instead

"""A minimal HTTP/1.1 client for the load generator: POST over kept-alive loopback sockets.

Why not httpx: its async client spends about 2.5 ms of CPU on each request (connection
pool bookkeeping, header models, the anyio layer). On a 2-core machine the load generator
then eats most of a core, and the bare-Flask ceiling measures the client as much as the
server. This one writes the request bytes and parses just the status line, the headers it
needs and the body: a few tens of microseconds a request.

It understands what gunicorn sends back: Content-Length or chunked bodies, and
"Connection: close". A kept-alive connection the server closed while idle (gunicorn's
keepalive is 5 s, and a person may think longer) is opened again, and the request sent
once more, only when not a byte of an answer came back: the server never read it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

# Enough for any answer a webhook gives; a larger one is a bug in the server.
MAX_LINE = 64 * 1024


class HttpError(Exception):
    """The server broke the protocol, or the connection failed."""


@dataclass(frozen=True)
class Answer:
    """What came back: the status code and the body."""

    status: int
    body: bytes


class Connection:
    """One kept-alive connection to host:port, used for one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        """Send one POST and read the whole answer; reconnect once if the server had hung up."""
        request = self._request(path, body, headers)
        for attempt in range(2):
            fresh = self._writer is None
            if fresh:
                await self._open()
            assert self._reader is not None and self._writer is not None
            try:
                self._writer.write(request)
                await self._writer.drain()
                status_line = await self._reader.readline()
            except (ConnectionError, OSError):
                status_line = b""
            if status_line:
                return await self._answer(status_line)
            self.close()
            if fresh or attempt:
                raise HttpError("the server closed the connection without answering")
        raise AssertionError("unreachable")

    def _request(self, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def _open(self) -> None:
        try:
            self._reader, self._writer = await asyncio.open_connection(
                self.host, self.port, limit=MAX_LINE)
        except OSError as error:
            raise HttpError(f"cannot connect: {error}") from error

    async def _answer(self, status_line: bytes) -> Answer:
        assert self._reader is not None
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            self.close()
            raise HttpError(f"not an HTTP answer: {status_line[:80]!r}")
        status = int(parts[1])
        length: int | None = None
        chunked = close = False
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                self.close()
                raise HttpError("the connection closed in the headers")
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                close = value == b"close"
        try:
            if chunked:
                body = await self._chunks()
            elif length is not None:
                body = await self._reader.readexactly(length)
            else:  # no length: the body ends when the server closes
                body, close = await self._reader.read(), True
        except asyncio.IncompleteReadError as error:
            self.close()
            raise HttpError("the connection closed in the body") from error
        if close:
            self.close()
        return Answer(status, body)

    async def _chunks(self) -> bytes:
        assert self._reader is not None
        body = bytearray()
        while True:
            size = int((await self._reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await self._reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(body)
            body += await self._reader.readexactly(size)
            await self._reader.readexactly(2)  # the CRLF after each chunk

    def close(self) -> None:
        """Drop the connection; the next request opens another."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()


class Pool:
    """A few connections to one server for one simulated person, reused in turn."""

    def __init__(self, base_url: str) -> None:
        host, _, port = base_url.removeprefix("http://").rstrip("/").rpartition(":")
        self.host, self.port = host, int(port)
        self._idle: list[Connection] = []

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        """POST on an idle connection, or a new one when all are busy."""
        connection = self._idle.pop() if self._idle else Connection(self.host, self.port)
        try:
            answer = await connection.post(path, body, headers)
        except BaseException:
            connection.close()
            raise
        self._idle.append(connection)
        return answer

    def close(self) -> None:
        """Close every idle connection."""
        for connection in self._idle:
            connection.close()
        self._idle.clear()

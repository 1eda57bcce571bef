"""HTTP/1.1 connections as asyncio protocols, parsed by llhttp (httptools): the request path under `web.WebClient`.

Why not httpx's own stack: on this project's 2-core machine a conditional GET cost
1.2-2.9 ms of client CPU through httpx (its client layer, httpcore's pool, which
walks its connections and asks each idle one through anyio whether its server hung
up, and anyio's cancel scopes around every read and write), against 0.23-0.28 ms
for h11 over asyncio streams, the same 2,000 loopback 304s with 16 in flight,
measured in turn. A poll of 2,000 feeds is mostly that cost. h11 (the protocol
library httpcore itself uses) was this module's parser until its pure-Python
events were most of what was left of a request's cost (about 0.5 ms of the main
process's 2.4 ms a changed feed); llhttp, Node's parser in C, now parses every
byte: framing, chunked bodies, read-until-close bodies, 1xx responses,
malformed responses refused, as h11 did (see `Connection`). httpx keeps the
rest: its TLS context (certifi's CA bundle, `SSL_CERT_FILE`) and its URL model
for URLs that are not plain ASCII (IDNA hosts, percent-encoding).

What httpx's client did and this does not: proxies named in the environment
(`HTTPS_PROXY` and the like, which `AsyncClient` honoured by default; the address
guard never saw through them), HTTP/2 (never enabled), cookies (never wanted
between feeds).

`Connections` keeps at most `limit` sockets open, idle ones included, and hands an
idle one back only while it is younger than `KEEPALIVE` and its server has not
closed it. What this module raises is `OSError`, `ssl.SSLError`, `ProtocolError`
or `TimeoutError` (connecting); `web` turns them into reasons.
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import httptools
import httpx

# Idle connections older than this are closed, not reused: servers drop idle keep-alive connections after
# 5-15 s, and a request sent on one they just dropped is lost (httpx's default is 5 s too).
KEEPALIVE = 5.0
# The largest response head accepted (httpcore's value).
_MAX_HEAD_BYTES = 100 * 1024
# Body bytes received and not yet taken by `Connection.body` beyond which the socket is not read.
_BUFFERED_BYTES = 1 << 20
# The most `Connection.body` hands on at a time: what one read of the socket gave before, so a body's checks (its
# size, its compression ratio) look at it in the steps they always did.
_BODY_PIECE = 65_536
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    """Where a URL's request goes and what it asks for, in the bytes HTTP/1.1 puts on the wire."""

    scheme: str
    host: str  # ASCII (IDNA), no brackets around an IPv6 address
    port: int
    host_header: str
    target: bytes
    authorization: str | None = None

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


class RefusedURLError(ValueError):
    """A URL that names no http(s) host: refused as such (`web` reports it as the address guard's refusal), not as
    a malformed URL."""


def target_of(url: str) -> Target:
    """Split a URL. Plain printable ASCII URLs (nearly all) are split by `urlsplit`; others go through httpx's
    URL model, which IDNA-encodes the host and percent-encodes the path and query as httpx would send them.

    Raises `RefusedURLError` for a scheme other than http(s) or a URL without a host, ValueError (or UnicodeError)
    for one that cannot be split."""
    if not (url.isascii() and url.isprintable()) or " " in url:
        try:
            url = str(httpx.URL(url))
        except httpx.InvalidURL as exc:  # a control character, a bad IDNA label
            raise ValueError(str(exc)) from None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise RefusedURLError(f"refused scheme {parts.scheme!r}")
    host = (parts.hostname or "").lower()
    if not host:
        raise RefusedURLError("URL has no host")
    port = parts.port or _DEFAULT_PORTS[scheme]
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    authorization = None
    if parts.username is not None:  # user:password@ in the URL: HTTP Basic, as httpx sends it
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = "Basic " + base64.b64encode(pair).decode("ascii")
    return Target(scheme, host, port, host_header, path.encode("ascii"), authorization)


class ProtocolError(Exception):
    """The server broke HTTP/1.1 (a malformed or cut-short response), or a request header cannot be sent as one."""


# A response's head: its status and its headers, names in lower case, a repeated header's values joined by commas,
# Latin-1, so every byte round-trips (an ETag is sent back exactly as it came).
Head = tuple[int, dict[str, str]]

# h11's rules for what a request may send: a token for a name; a value of no NUL and no white space but single
# spaces and tabs inside it (so no CR or LF: a header cannot be split into two).
_HEADER_NAME = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_HEADER_VALUE = re.compile(rb"(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?")


class Connection(asyncio.Protocol):
    """One socket, as an asyncio protocol whose received bytes go straight to the parser of its responses.

    llhttp (through httptools) parses the bytes in C and calls back the `on_*` methods: a response costs a few
    Python calls, where h11 ran its state machine and built an event object for each step, and no stream sits
    between the socket and the parser (an `asyncio.StreamReader` copied every read out of its buffer and moved
    what was left). What h11 gave this module is kept here: 1xx responses skipped, chunked, sized and
    read-until-close bodies, a response cut short or malformed refused (`ProtocolError`, one line), a head over
    `_MAX_HEAD_BYTES` refused, and reuse only after an exchange that went to its end on a connection its server
    keeps open. Where llhttp is stricter than h11 by default, it is told to read as h11 did: chunked framing over
    a Content-Length beside it, lines ended by a bare LF, spaces after a chunk's size.

    Bytes arrive whenever the event loop reads the socket; `send` and `body` wait for what they need. A body
    piling up faster than `body` hands it on (more than `_BUFFERED_BYTES`) pauses the socket's reading.
    """

    def __init__(self, origin: tuple[str, str, int]) -> None:
        self.origin = origin
        self.idle_since = 0.0
        self.reused = False
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.parser.set_dangerous_leniencies(
            lenient_chunked_length=True, lenient_optional_cr_before_lf=True, lenient_spaces_after_chunk_size=True
        )
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiter: asyncio.Future[None] | None = None
        self.server_closed = False  # EOF or the connection lost
        self.paused = False
        self._start()

    def _start(self) -> None:
        """A new response to read: its status and headers once its head is complete, body pieces not yet handed
        on, where it is, and what went wrong (raised to whoever waits)."""
        self.status = 0
        self.headers: dict[str, str] = {}
        self.pieces: list[bytes] = []
        self.buffered = 0
        self.head_bytes = 0
        self.head_done = False
        self.done = False
        # The server keeps the connection open after this response (HTTP/1.1, no `Connection: close`), and sent
        # nothing past its end.
        self.keep_alive = False
        self.error: BaseException | None = None

    def usable(self, now: float) -> bool:
        """Idle, recent, and its server has not hung up (EOF seen by the event loop)."""
        transport = self.transport
        return (
            now - self.idle_since < KEEPALIVE
            and not self.server_closed
            and transport is not None
            and not transport.is_closing()
        )

    def finished(self) -> bool:
        """The response went to its end and the server keeps the connection, so the next request may follow on it."""
        return self.done and self.keep_alive and self.error is None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def send(self, target: Target, headers: list[tuple[str, str]]) -> Head:
        """Send a GET and return the response's head (1xx responses skipped)."""
        request = request_bytes(target, headers)
        self._start()
        if self.server_closed or self.transport is None or self.transport.is_closing():
            raise ProtocolError("server closed the connection")
        self.transport.write(request)
        while not self.head_done:
            await self._wait()
        return self.status, self.headers

    async def body(self) -> AsyncIterator[bytes]:
        """The response body as it arrives, without undoing any Content-Encoding."""
        while True:
            if self.pieces:
                pieces, self.pieces, self.buffered = self.pieces, [], 0
                if self.paused and self.transport is not None:
                    self.paused = False
                    self.transport.resume_reading()
                data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
                if len(data) <= _BODY_PIECE:
                    yield data
                else:
                    for start in range(0, len(data), _BODY_PIECE):
                        yield data[start : start + _BODY_PIECE]
            elif self.done:
                return
            else:
                await self._wait()

    async def _wait(self) -> None:
        """Until the parser has more (or something went wrong, which is raised)."""
        if self.error is None:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.error is not None:
            raise self.error

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, error: BaseException) -> None:
        if self.error is None and not self.done:
            self.error = error
        self._wake()

    # -- asyncio's calls, as the socket's events come --
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.error is not None:
            return
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            # Past the response's end (bytes nobody asked for), the response stands and the connection is not reused.
            self.keep_alive = False
            if isinstance(exc.__context__, ProtocolError):  # raised by a callback below
                self._fail(exc.__context__)
            else:
                self._fail(ProtocolError(f"malformed response: {exc or type(exc).__name__}"))
            return
        if not self.head_done:
            self.head_bytes += len(data)
            if self.head_bytes > _MAX_HEAD_BYTES:
                self._fail(ProtocolError(f"response head over {_MAX_HEAD_BYTES:,} bytes"))
                return
        if self.buffered > _BUFFERED_BYTES and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.server_closed = True
        self._closed()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_closed = True
        if exc is not None:
            self._fail(exc)  # an OSError or an ssl.SSLError: the socket's own failure
        else:
            self._closed()
        if not self.lost.done():
            self.lost.set_result(None)

    def _closed(self) -> None:
        """The server closed the connection: the end of a body read until close, else a response cut short."""
        if self.done:
            return
        if self.head_done and "content-length" not in self.headers and "transfer-encoding" not in self.headers:
            self.done = True
            self._wake()
        elif self.head_done:
            self._fail(ProtocolError("server closed the connection before the end of the body"))
        else:
            self._fail(ProtocolError("server closed the connection"))

    # -- the parser's callbacks (llhttp calls them from `feed_data`) --
    def on_message_begin(self) -> None:
        if self.done:  # a second response nobody asked for
            self.keep_alive = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.head_done:  # a trailer after a chunked body: not a header of the response (nor in h11)
            return
        key = name.decode("latin-1").lower()
        text = value.rstrip(b" \t").decode("latin-1")  # llhttp strips the leading white space, h11 both
        headers = self.headers
        headers[key] = f"{headers[key]}, {text}" if key in headers else text

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # informational: the response follows
            self.headers = {}
            return
        if status < 100 or status == 101:  # 101: a switch of protocols never asked for
            raise ProtocolError(f"unexpected status {status}")
        coding = self.headers.get("transfer-encoding")
        if coding is not None and coding.strip().lower() != "chunked":
            raise ProtocolError(f"unsupported Transfer-Encoding {coding!r}")
        self.status, self.head_done = status, True

    def on_body(self, body: bytes) -> None:
        self.pieces.append(body)
        self.buffered += len(body)

    def on_message_complete(self) -> None:
        if self.head_done and not self.done:
            self.done = True
            self.keep_alive = self.parser.should_keep_alive() and self.parser.get_http_version() == "1.1"


def request_bytes(target: Target, headers: list[tuple[str, str]]) -> bytes:
    """A GET's head as HTTP/1.1 puts it on the wire, headers in the order given, as h11 wrote it. A header that
    could not be sent as one (a CR or LF in its value, a name that is not a token) is refused."""
    lines = [b"GET ", target.target, b" HTTP/1.1\r\n"]
    for pair in headers:
        name, value = encode_header(*pair)
        if not _HEADER_NAME.fullmatch(name):
            raise ProtocolError(f"illegal header name {name!r}")
        if not _HEADER_VALUE.fullmatch(value):
            raise ProtocolError(f"illegal header value {value!r}")
        lines += (name, b": ", value, b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


def encode_header(name: str, value: str) -> tuple[bytes, bytes]:
    """Latin-1, the inverse of how `Connection` reads headers, so a validator goes back as the bytes it came as.
    A value that is not Latin-1 (an ETag stored by an older version) goes as UTF-8."""
    try:
        return name.encode("latin-1"), value.encode("latin-1")
    except UnicodeEncodeError:
        return name.encode("latin-1"), value.encode("utf-8")


class Connections:
    """Open connections by origin, at most `limit` sockets in all. The caller holds at most `limit` requests in
    flight, so when the limit is reached some connection is idle and can be closed to make room."""

    def __init__(self, limit: int, connect_timeout: float, tls: Callable[[], ssl.SSLContext]) -> None:
        self.limit = limit
        self.connect_timeout = connect_timeout
        self._tls = tls
        self._idle: dict[tuple[str, str, int], list[Connection]] = {}
        self.open = 0

    async def take(self, target: Target) -> Connection:
        """An idle connection to the target's origin if one is still good, else a new one."""
        idle = self._idle.get(target.origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.usable(now):
                connection.reused = True
                return connection
            self.discard(connection)
        return await self.connect(target)

    async def connect(self, target: Target) -> Connection:
        if self.open >= self.limit:
            self._close_oldest_idle()
        tls = self._tls() if target.scheme == "https" else None
        self.open += 1
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, connection = await asyncio.get_running_loop().create_connection(
                    lambda: Connection(target.origin),
                    target.host,
                    target.port,
                    ssl=tls,
                    server_hostname=target.host if tls else None,
                )
        except BaseException:
            self.open -= 1
            raise
        return connection

    def give_back(self, connection: Connection) -> None:
        """Keep the connection for the next request to its origin if its exchange went to the end, else close it."""
        if not connection.finished():
            self.discard(connection)
            return
        connection.idle_since = time.monotonic()
        self._idle.setdefault(connection.origin, []).append(connection)

    def discard(self, connection: Connection) -> None:
        self.open -= 1
        connection.close()

    def _close_oldest_idle(self) -> None:
        candidates = [(pool[0].idle_since, origin) for origin, pool in self._idle.items() if pool]
        if candidates:
            self.discard(self._idle[min(candidates)[1]].pop(0))

    async def aclose(self) -> None:
        idle = [connection for pool in self._idle.values() for connection in pool]
        self._idle.clear()
        for connection in idle:
            self.discard(connection)
        for connection in idle:
            await connection.lost

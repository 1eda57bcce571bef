"""HTTP/1.1 connections over asyncio streams, with h11 for the protocol: the request path under `web.WebClient`.

Why not httpx's own stack: on this project's 2-core machine a conditional GET cost
1.2-2.9 ms of client CPU through httpx (its client layer, httpcore's pool, which
walks its connections and asks each idle one through anyio whether its server hung
up, and anyio's cancel scopes around every read and write), against 0.23-0.28 ms
for h11 over asyncio streams, the same 2,000 loopback 304s with 16 in flight,
measured in turn. A poll of 2,000 feeds is mostly that cost. h11 (the protocol
library httpcore itself uses) still parses every byte: framing, chunked bodies,
read-until-close bodies, 1xx responses, malformed responses refused. httpx keeps
the rest: its TLS context (certifi's CA bundle, `SSL_CERT_FILE`) and its URL model
for URLs that are not plain ASCII (IDNA hosts, percent-encoding).

What httpx's client did and this does not: proxies named in the environment
(`HTTPS_PROXY` and the like, which `AsyncClient` honoured by default; the address
guard never saw through them), HTTP/2 (never enabled), cookies (never wanted
between feeds).

`Connections` keeps at most `limit` sockets open, idle ones included, and hands an
idle one back only while it is younger than `KEEPALIVE` and its server has not
closed it. What this module raises is `OSError`, `ssl.SSLError`, `h11.ProtocolError`
or `TimeoutError` (connecting); `web` turns them into reasons.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import h11
import httpx

# Idle connections older than this are closed, not reused: servers drop idle keep-alive connections after
# 5-15 s, and a request sent on one they just dropped is lost (httpx's default is 5 s too).
KEEPALIVE = 5.0
# What one read asks the socket for, and the largest response head accepted (httpcore's values).
_READ_BYTES = 65_536
_MAX_HEAD_BYTES = 100 * 1024
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


def target_of(url: str) -> Target:
    """Split a URL. Plain printable ASCII URLs (nearly all) are split by `urlsplit`; others go through httpx's
    URL model, which IDNA-encodes the host and percent-encodes the path and query as httpx would send them."""
    if not (url.isascii() and url.isprintable()) or " " in url:
        try:
            url = str(httpx.URL(url))
        except httpx.InvalidURL as exc:  # a control character, a bad IDNA label
            raise ValueError(str(exc)) from None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError(f"not an http(s) URL with a host: {url!r}")
    port = parts.port or _DEFAULT_PORTS[scheme]
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    authorization = None
    if parts.username is not None:  # user:password@ in the URL: HTTP Basic, as httpx sends it
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = "Basic " + base64.b64encode(pair).decode("ascii")
    return Target(scheme, host, port, host_header, path.encode("ascii"), authorization)


@dataclass(eq=False)
class Connection:
    origin: tuple[str, str, int]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    protocol: h11.Connection = field(
        default_factory=lambda: h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD_BYTES)
    )
    idle_since: float = 0.0
    reused: bool = False

    def usable(self, now: float) -> bool:
        """Idle, recent, and its server has not hung up (EOF seen by the event loop)."""
        return now - self.idle_since < KEEPALIVE and not self.reader.at_eof() and not self.writer.transport.is_closing()

    def finished(self) -> bool:
        """The request and its response both went to their end, so the next one may follow on this connection."""
        return self.protocol.our_state is h11.DONE and self.protocol.their_state is h11.DONE

    def close(self) -> None:
        self.writer.close()

    async def send(self, target: Target, headers: list[tuple[str, str]]) -> h11.Response:
        """Send a GET and return the response's head (1xx responses skipped)."""
        request = h11.Request(method="GET", target=target.target, headers=[encode_header(*pair) for pair in headers])
        self.writer.write((self.protocol.send(request) or b"") + (self.protocol.send(h11.EndOfMessage()) or b""))
        await self.writer.drain()
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Response):
                return event
            if not isinstance(event, h11.InformationalResponse):
                raise h11.RemoteProtocolError(f"unexpected {type(event).__name__} before the response")

    async def body(self) -> AsyncIterator[bytes]:
        """The response body as it arrives, without undoing any Content-Encoding."""
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            else:
                raise h11.RemoteProtocolError(f"unexpected {type(event).__name__} in the body")

    async def _next_event(self) -> h11.Event:
        while True:
            event = self.protocol.next_event()
            if event is h11.NEED_DATA:
                self.protocol.receive_data(await self.reader.read(_READ_BYTES))
            elif isinstance(event, h11.ConnectionClosed) or not isinstance(event, h11.Event):
                # PAUSED cannot come while a response is read; a close before its end is the server's fault.
                raise h11.RemoteProtocolError("server closed the connection")
            else:
                return event


def encode_header(name: str, value: str) -> tuple[bytes, bytes]:
    """Latin-1, the inverse of `decode_headers`, so a validator goes back as the bytes it came as (h11 itself
    encodes text as ASCII only). A value that is not Latin-1 (an ETag stored by an older version) goes as UTF-8."""
    try:
        return name.encode("latin-1"), value.encode("latin-1")
    except UnicodeEncodeError:
        return name.encode("latin-1"), value.encode("utf-8")


def decode_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-case names; a repeated header's values joined by commas; Latin-1, so every byte round-trips
    (an ETag is sent back exactly as it came)."""
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1")
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


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
                reader, writer = await asyncio.open_connection(
                    target.host, target.port, ssl=tls, server_hostname=target.host if tls else None
                )
        except BaseException:
            self.open -= 1
            raise
        return Connection(target.origin, reader, writer)

    def give_back(self, connection: Connection) -> None:
        """Keep the connection for the next request to its origin if its exchange went to the end, else close it."""
        if not connection.finished():
            self.discard(connection)
            return
        connection.protocol.start_next_cycle()
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
            with contextlib.suppress(OSError, ssl.SSLError):
                await connection.writer.wait_closed()

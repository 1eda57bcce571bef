"""The one HTTP client for feeds and pages, with the limits third-party input needs.

Feeds name arbitrary URLs, so every hop (the first request and each redirect)
is resolved and refused when it lands on a non-public address that the config
does not allow. Bodies are streamed and cut off by size, by compression ratio
(gzip bombs) and by a total deadline (servers that trickle bytes forever).

Content-Encoding is undone here, piece by piece: httpx, for one, decodes a whole network
chunk through every stacked coding at once, so `gzip, gzip` turns 2 KB into
gigabytes before any check can look. `BoundedDecoder` decodes in small pieces
and stops the moment the bytes it has produced pass the cap.

The deadline of a request starts when it holds its connection slots, not when
it is asked for: a feed queued behind forty others on one host is not slow.
Waiting for a slot has its own, longer limit (`fetch.slot_wait`).

Requests go out through `http11` (llhttp on an asyncio protocol) rather than httpx's
client: through httpx a conditional GET cost several times the CPU, and a poll of
thousands of feeds is mostly that cost (figures in `http11`'s docstring). The
`fetch.concurrency` global slots are the connections: a request holds one before
it takes a connection, so at most that many sockets are ever open.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import httpx

from pipeline.config import FetchConfig
from pipeline.http11 import Connection, Connections, Head, ProtocolError, RefusedURLError, Target, target_of

TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}
_REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_MAX_COMPRESSION_RATIO = 100
_RATIO_CHECK_FLOOR = 1_000_000
# Each decoding step yields at most this much, so no stack of codings can balloon in one call.
_DECODE_PIECE = 64 * 1024
_GZIP_WBITS = 16 + zlib.MAX_WBITS

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class FetchError(Exception):
    """A fetch that did not produce a usable body; `reason` is for people, `transient` for backoff."""

    def __init__(
        self, reason: str, *, transient: bool, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.status = status
        self.retry_after = retry_after


@dataclass
class Response:
    url: str
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait, from either form RFC 9110 allows (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class AddressGuard:
    """Refuses non-public addresses unless an allow-listed network contains them."""

    def __init__(self, allow_networks: Iterable[str]) -> None:
        self.allowed: list[IPNetwork] = [ipaddress.ip_network(net, strict=False) for net in allow_networks]

    def permits(self, address: IPAddress) -> bool:
        mapped = getattr(address, "ipv4_mapped", None)
        if mapped is not None:
            address = mapped
        if any(address in network for network in self.allowed):
            return True
        return address.is_global and not address.is_multicast

    async def check(self, target: Target) -> None:
        """Refuse the target unless every address its host may reach is permitted (`target_of` has refused
        schemes other than http(s) and URLs without a host)."""
        host = target.host
        for address in await self._addresses(host, target.port):
            if not self.permits(address):
                raise FetchError(
                    f"refused {host}: {address} is not a public address (add it to fetch.allow_networks)",
                    transient=False,
                )

    @staticmethod
    async def _addresses(host: str, port: int) -> list[IPAddress]:
        """The addresses a connection to `host` may reach. An address written in the URL is itself: asking the
        resolver, in a thread, cost a thread hop per request (most of the guard's time in a poll of 2,000
        feeds on 127.0.0.1)."""
        written = _written_address(host)
        if written is not None:
            return [written]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise FetchError(f"cannot resolve {host}: {exc.strerror}", transient=True) from None
        return [ipaddress.ip_address(info[4][0]) for info in infos]


@functools.lru_cache(maxsize=1024)
def _written_address(host: str) -> IPAddress | None:
    """The address a host written as one is (None for a name): read once per host, since the feeds of one server
    name it again and again, and `ipaddress` reads an address in pure Python."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def request_target(url: str) -> Target:
    """Where a request for `url` goes (`http11.target_of`), with its refusal as a FetchError: a scheme other than
    http(s) or no host as the address guard's, a URL that cannot be split as a bad URL."""
    try:
        return target_of(url)
    except RefusedURLError as exc:
        raise FetchError(str(exc), transient=False) from None
    except (ValueError, UnicodeError) as exc:
        raise FetchError(f"bad URL: {exc}", transient=False) from None


class BoundedDecoder:
    """Undoes a Content-Encoding list (`gzip`, `deflate`, stacked in any number) piece by piece.

    Every layer hands on at most `_DECODE_PIECE` bytes per step, so memory stays near
    `limit` + one piece per layer whatever the compression ratio, and decoding stops
    as soon as the bytes produced pass `limit` or `ratio` times the bytes received.
    """

    def __init__(self, content_encoding: str, limit: int) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        unknown = [c for c in codings if c not in {"gzip", "x-gzip", "deflate"}]
        if unknown:
            raise FetchError(f"unsupported content encoding {unknown[0]!r}", transient=False)
        # Codings are listed in the order applied, so they are undone from the last one.
        self._codings = list(reversed(codings))
        self._layers = [zlib.decompressobj(zlib.MAX_WBITS if c == "deflate" else _GZIP_WBITS) for c in self._codings]
        self._started = [False] * len(self._layers)
        self.limit = limit
        self.received = 0
        self.chunks: list[bytes] = []
        self.size = 0

    def feed(self, raw: bytes) -> None:
        self.received += len(raw)
        self._push(0, raw)

    def body(self) -> bytes:
        return b"".join(self.chunks)

    def _push(self, level: int, data: bytes) -> None:
        if level == len(self._layers):
            self._emit(data)
            return
        while True:
            out = self._decompress(level, data)
            data = self._layers[level].unconsumed_tail
            if out:
                self._push(level + 1, out)
            if not data and len(out) < _DECODE_PIECE:
                return

    def _decompress(self, level: int, data: bytes) -> bytes:
        layer = self._layers[level]
        try:
            out = layer.decompress(data, _DECODE_PIECE)
        except zlib.error as exc:
            if self._codings[level] == "deflate" and not self._started[level]:
                # Servers disagree on "deflate": zlib-wrapped (RFC 9110) or raw; try raw once.
                layer = self._layers[level] = zlib.decompressobj(-zlib.MAX_WBITS)
                self._started[level] = True
                return self._decompress(level, data)
            raise FetchError(f"bad content encoding: {exc}", transient=False) from None
        self._started[level] = True
        return out

    def _emit(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > _RATIO_CHECK_FLOOR and self.size > max(self.received, 1) * _MAX_COMPRESSION_RATIO:
            raise FetchError(
                f"compressed body expands more than {_MAX_COMPRESSION_RATIO}:1 (a compression bomb?)",
                transient=False,
            )
        if self.size > self.limit:
            raise FetchError(f"body is over the {self.limit:,}-byte limit", transient=False)
        self.chunks.append(data)


# A body this small after a 304 or a redirect is read and dropped, so the connection is kept.
_DRAIN_BYTES = 65_536


async def _drain(connection: Connection, status: int, headers: dict[str, str]) -> None:
    """Read a body nobody needs to its end when it is small: a connection left mid-response cannot be reused,
    and a poll of feeds answering 304 then opened a new connection (a TLS handshake) for every feed."""
    declared = headers.get("content-length", "")
    small = int(declared) <= _DRAIN_BYTES if declared.isdigit() else status == 304  # 304: no body
    if small:
        async for _ in connection.body():
            pass


# Failures of the connection itself: the server hung up, refused, reset, or broke the protocol.
_CONNECTION_ERRORS = (OSError, ssl.SSLError, ProtocolError)


class WebClient:
    """Async client shared by a whole cycle; limits concurrency overall and per host.

    Each request holds its host's slot, then a global one; the global slots are the connections
    (`fetch.concurrency`), so no request waits inside the connection layer.
    """

    # The longest a connection may take to open, within the request's deadline (`fetch.timeout`). A class
    # attribute, so that a run under an instruction counter, whose process goes some 50 times slower, can lengthen
    # it (`bench.bench_cycle --only instructions`): on loopback a connect is instant, but the event loop may get to
    # it late.
    CONNECT_SECONDS = 10.0

    def __init__(self, config: FetchConfig) -> None:
        self.config = config
        self.guard = AddressGuard(config.allow_networks)
        seconds = config.timeout.total_seconds()
        self.connections = Connections(config.concurrency, min(seconds, self.CONNECT_SECONDS), self._tls_context)
        self._tls: ssl.SSLContext | None = None
        self._headers = [("User-Agent", config.user_agent), ("Accept-Encoding", "gzip, deflate")]
        self._slots = asyncio.Semaphore(config.concurrency)
        self._host_slots: dict[str, asyncio.Semaphore] = {}

    def _tls_context(self) -> ssl.SSLContext:
        """httpx's TLS settings (certifi's CA bundle, or `SSL_CERT_FILE`), made once and only if a URL needs it:
        loading the CA bundle costs about 0.1 s of CPU."""
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
            self._tls.set_alpn_protocols(["http/1.1"])
        return self._tls

    async def __aenter__(self) -> WebClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connections.aclose()

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        slot = self._host_slots.get(host)
        if slot is None:
            slot = self._host_slots[host] = asyncio.Semaphore(self.config.per_host)
        return slot

    async def get(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        accept_types: frozenset[str] | None = None,
    ) -> Response:
        """GET with redirects followed by hand, so every hop passes the address guard.

        The deadline (`fetch.timeout`) counts the time spent resolving, connecting and
        reading, across every hop; time queued for a connection slot is not counted
        but is limited on its own by `fetch.slot_wait`.

        Each hop's URL is split once (`request_target`), for its host's slot, the guard and the request: split
        for each of them, and again by the properties each read, a URL was split about ten times.
        """
        budget = self.config.timeout.total_seconds()
        for _hop in range(self.config.max_redirects + 1):
            target = request_target(url)
            async with self._slot(target.host):
                started = time.monotonic()
                try:
                    async with asyncio.timeout(budget):
                        await self.guard.check(target)
                        response = await self._get_once(target, url, headers or {}, accept_types)
                except TimeoutError:
                    raise FetchError(
                        f"timed out after {self.config.timeout.total_seconds():g}s", transient=True
                    ) from None
                budget -= time.monotonic() - started
            if response.status not in _REDIRECT_STATUSES:
                return response
            location = response.headers.get("location")
            if not location:
                raise FetchError(f"HTTP {response.status} without a Location", transient=False)
            url = urljoin(url, location)
        raise FetchError(f"more than {self.config.max_redirects} redirects", transient=False)

    @contextlib.asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        """The host's slot first, then a global one: a request queued for a busy host holds no global slot."""
        wait = self.config.slot_wait.total_seconds()
        acquired: list[asyncio.Semaphore] = []
        slots = (self._host_slot(host), self._slots)
        try:
            try:
                # No timer when both are free (the common case): acquiring them then does not wait.
                async with asyncio.timeout(wait if any(slot.locked() for slot in slots) else None):
                    for slot in slots:
                        await slot.acquire()
                        acquired.append(slot)
            except TimeoutError:
                raise FetchError(f"waited more than {wait:g}s for a connection slot", transient=True) from None
            yield
        finally:
            for slot in acquired:
                slot.release()

    async def _get_once(
        self, target: Target, url: str, headers: dict[str, str], accept_types: frozenset[str] | None
    ) -> Response:
        request_headers = [("Host", target.host_header), *self._headers, *headers.items()]
        if target.authorization:
            request_headers.append(("Authorization", target.authorization))
        try:
            connection, head = await self._send(target, request_headers)
        except TimeoutError:
            raise FetchError("timed out", transient=True) from None
        except _CONNECTION_ERRORS as exc:
            raise FetchError(f"connection failed: {exc or type(exc).__name__}", transient=True) from None
        try:
            return await self._receive(connection, head, url, accept_types)
        except _CONNECTION_ERRORS as exc:
            raise FetchError(f"connection failed: {exc or type(exc).__name__}", transient=True) from None
        finally:
            self.connections.give_back(connection)

    async def _send(self, target: Target, headers: list[tuple[str, str]]) -> tuple[Connection, Head]:
        """Send the request; on a kept connection its server dropped meanwhile, once more on a new one (a GET
        is safe to repeat, and nothing of the response had come)."""
        connection = await self.connections.take(target)
        try:
            return connection, await connection.send(target, headers)
        except _CONNECTION_ERRORS:
            self.connections.discard(connection)
            if not connection.reused:
                raise
        except BaseException:
            self.connections.discard(connection)
            raise
        connection = await self.connections.connect(target)
        try:
            return connection, await connection.send(target, headers)
        except BaseException:
            self.connections.discard(connection)
            raise

    async def _receive(
        self, connection: Connection, head: Head, url: str, accept_types: frozenset[str] | None
    ) -> Response:
        status, headers = head
        if status in _REDIRECT_STATUSES or status == 304:
            await _drain(connection, status, headers)
            return Response(url, status, headers, b"")
        if status >= 400:  # not drained: a stalled error body would turn this status into a timeout
            raise FetchError(
                f"HTTP {status}",
                transient=status in TRANSIENT_STATUSES,
                status=status,
                retry_after=parse_retry_after(headers.get("retry-after")),
            )
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if accept_types is not None and content_type and content_type not in accept_types:
            raise FetchError(f"unsupported content type {content_type}", transient=False, status=status)
        body = await self._read_capped(connection, headers)
        return Response(url, status, headers, body)

    async def _read_capped(self, connection: Connection, headers: dict[str, str]) -> bytes:
        limit = self.config.max_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"body of {int(declared):,} bytes is over the {limit:,}-byte limit", transient=False)
        decoder = BoundedDecoder(headers.get("content-encoding", ""), limit)
        async for raw in connection.body():
            decoder.feed(raw)
        return decoder.body()

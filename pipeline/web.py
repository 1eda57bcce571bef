"""The one HTTP client for feeds and pages, with the limits third-party input needs.

Feeds name arbitrary URLs, so every hop (the first request and each redirect)
is resolved and refused when it lands on a non-public address that the config
does not allow. Bodies are streamed and cut off by size, by compression ratio
(gzip bombs) and by a total deadline (servers that trickle bytes forever).

Content-Encoding is undone here, not by httpx: httpx decodes a whole network
chunk through every stacked coding at once, so `gzip, gzip` turns 2 KB into
gigabytes before any check can look. `BoundedDecoder` decodes in small pieces
and stops the moment the bytes it has produced pass the cap.

The deadline of a request starts when it holds its connection slots, not when
it is asked for: a feed queued behind forty others on one host is not slow.
Waiting for a slot has its own, longer limit (`fetch.slot_wait`).

The `fetch.concurrency` connections are held in several small httpx pools rather
than one: httpcore walks every connection of a pool each time a request in it
starts or ends (and asks each idle one, with two system calls, whether its server
hung up), so a request's bookkeeping grows with the size of its pool. Each request
holds a global slot first, so some pool always has room for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import socket
import time
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from pipeline.config import FetchConfig

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
    headers: httpx.Headers
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

    async def check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"}:
            raise FetchError(f"refused scheme {parts.scheme!r}", transient=False)
        host = parts.hostname
        if not host:
            raise FetchError("URL has no host", transient=False)
        for address in await self._addresses(host, parts.port or (443 if parts.scheme == "https" else 80)):
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
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise FetchError(f"cannot resolve {host}: {exc.strerror}", transient=True) from None
        return [ipaddress.ip_address(info[4][0]) for info in infos]


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


# A body this small after a 304 or a redirect is read and dropped, so the connection goes back to the pool.
_DRAIN_BYTES = 65_536


async def _drain(stream: httpx.Response) -> None:
    """Read a body nobody needs to its end when it is small: a response closed unread closes its connection
    too, and a poll of feeds answering 304 then opened a new connection (a TLS handshake) for every feed."""
    declared = stream.headers.get("content-length", "")
    small = int(declared) <= _DRAIN_BYTES if declared.isdigit() else stream.status_code == 304  # 304: no body
    if small:
        async for _ in stream.aiter_raw():
            pass


# Connections per httpx pool. 2,000 loopback 304s with 16 in flight, one pool of 16 against four of 4 in turn,
# three rounds (load average 6-8): 3.0-3.4 ms of client CPU per request against 1.7-2.3 ms.
POOL_CONNECTIONS = 4


def pool_sizes(connections: int, per_pool: int = POOL_CONNECTIONS) -> list[int]:
    """`connections` split into as few pools of at most `per_pool` as will hold them, as even as can be."""
    count = math.ceil(connections / per_pool)
    size, larger = divmod(connections, count)
    return [size + 1] * larger + [size] * (count - larger)


@dataclass
class ConnectionPool:
    """One httpx client and its connections; `in_flight` never passes `size`, so no request queues inside it."""

    client: httpx.AsyncClient
    size: int
    in_flight: int = 0
    # The origins it served last, newest at the end: those it may still hold an idle connection to.
    origins: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def served(self, origin: str) -> None:
        self.origins[origin] = None
        self.origins.move_to_end(origin)
        while len(self.origins) > self.size:
            self.origins.popitem(last=False)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class WebClient:
    """Async client shared by a whole cycle; limits concurrency overall and per host."""

    def __init__(self, config: FetchConfig) -> None:
        self.config = config
        self.guard = AddressGuard(config.allow_networks)
        seconds = config.timeout.total_seconds()
        self.pools = [
            ConnectionPool(
                httpx.AsyncClient(
                    follow_redirects=False,
                    timeout=httpx.Timeout(seconds, connect=min(seconds, 10.0)),
                    # httpx would decode these itself, unbounded; `BoundedDecoder` does it from the raw bytes.
                    headers={"User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate"},
                    limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
                ),
                size,
            )
            for size in pool_sizes(config.concurrency)
        ]
        self._slots = asyncio.Semaphore(config.concurrency)
        self._host_slots: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> WebClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for pool in self.pools:
            await pool.client.aclose()

    def _host_slot(self, url: str) -> asyncio.Semaphore:
        host = (urlsplit(url).hostname or "").lower()
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
        """
        budget = self.config.timeout.total_seconds()
        for _hop in range(self.config.max_redirects + 1):
            async with self._slot(url) as pool:
                started = time.monotonic()
                try:
                    async with asyncio.timeout(budget):
                        await self.guard.check(url)
                        response = await self._get_once(pool.client, url, headers or {}, accept_types)
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
    async def _slot(self, url: str) -> AsyncIterator[ConnectionPool]:
        """The host's slot first, then a global one: a request queued for a busy host holds no global slot.
        Then the pool to send it through, which has room because the global slots are its connections."""
        wait = self.config.slot_wait.total_seconds()
        acquired: list[asyncio.Semaphore] = []
        try:
            try:
                async with asyncio.timeout(wait):
                    for slot in (self._host_slot(url), self._slots):
                        await slot.acquire()
                        acquired.append(slot)
            except TimeoutError:
                raise FetchError(f"waited more than {wait:g}s for a connection slot", transient=True) from None
            origin = _origin(url)
            pool = self._pool_for(origin)
            pool.in_flight += 1
            try:
                yield pool
            finally:
                pool.in_flight -= 1
                pool.served(origin)
        finally:
            for slot in acquired:
                slot.release()

    def _pool_for(self, origin: str) -> ConnectionPool:
        """A pool with room, one that served `origin` lately if any (it may hold an idle connection to it),
        else the least busy."""
        free = [pool for pool in self.pools if pool.in_flight < pool.size]
        return next((pool for pool in free if origin in pool.origins), None) or min(free, key=lambda p: p.in_flight)

    async def _get_once(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str], accept_types: frozenset[str] | None
    ) -> Response:
        try:
            async with client.stream("GET", url, headers=headers) as stream:
                status = stream.status_code
                if status in _REDIRECT_STATUSES or status == 304:
                    await _drain(stream)
                    return Response(str(stream.url), status, stream.headers, b"")
                if status >= 400:
                    raise FetchError(
                        f"HTTP {status}",
                        transient=status in TRANSIENT_STATUSES,
                        status=status,
                        retry_after=parse_retry_after(stream.headers.get("retry-after")),
                    )
                content_type = stream.headers.get("content-type", "").split(";")[0].strip().lower()
                if accept_types is not None and content_type and content_type not in accept_types:
                    raise FetchError(f"unsupported content type {content_type}", transient=False, status=status)
                body = await self._read_capped(stream)
                return Response(str(stream.url), status, stream.headers, body)
        except httpx.TimeoutException:
            raise FetchError("timed out", transient=True) from None
        except httpx.DecodingError as exc:
            raise FetchError(f"bad content encoding: {exc}", transient=False) from None
        except httpx.TransportError as exc:
            raise FetchError(f"connection failed: {exc or type(exc).__name__}", transient=True) from None

    async def _read_capped(self, stream: httpx.Response) -> bytes:
        limit = self.config.max_bytes
        declared = stream.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"body of {int(declared):,} bytes is over the {limit:,}-byte limit", transient=False)
        decoder = BoundedDecoder(stream.headers.get("content-encoding", ""), limit)
        async for raw in stream.aiter_raw():
            decoder.feed(raw)
        return decoder.body()

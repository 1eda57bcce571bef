"""The one HTTP client for feeds and pages, with the limits third-party input needs.

Feeds name arbitrary URLs, so every hop (the first request and each redirect)
is resolved and refused when it lands on a non-public address that the config
does not allow. Bodies are streamed and cut off by size, by compression ratio
(gzip bombs) and by a total deadline (servers that trickle bytes forever).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from pipeline.config import FetchConfig

TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}
_REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_MAX_COMPRESSION_RATIO = 100
_RATIO_CHECK_FLOOR = 1_000_000

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
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise FetchError(f"cannot resolve {host}: {exc.strerror}", transient=True) from None
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not self.permits(address):
                raise FetchError(
                    f"refused {host}: {address} is not a public address (add it to fetch.allow_networks)",
                    transient=False,
                )


class WebClient:
    """Async client shared by a whole cycle; limits concurrency overall and per host."""

    def __init__(self, config: FetchConfig) -> None:
        self.config = config
        self.guard = AddressGuard(config.allow_networks)
        seconds = config.timeout.total_seconds()
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(seconds, connect=min(seconds, 10.0)),
            headers={"User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate"},
            limits=httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency),
        )
        self._slots = asyncio.Semaphore(config.concurrency)
        self._host_slots: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> WebClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

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
        """GET with redirects followed by hand, so every hop passes the address guard."""
        try:
            async with asyncio.timeout(self.config.timeout.total_seconds()):
                return await self._follow(url, headers or {}, accept_types)
        except TimeoutError:
            raise FetchError(f"timed out after {self.config.timeout.total_seconds():g}s", transient=True) from None

    async def _follow(self, url: str, headers: dict[str, str], accept_types: frozenset[str] | None) -> Response:
        for _hop in range(self.config.max_redirects + 1):
            await self.guard.check(url)
            async with self._slots, self._host_slot(url):
                response = await self._get_once(url, headers, accept_types)
            if response.status in _REDIRECT_STATUSES:
                location = response.headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {response.status} without a Location", transient=False)
                url = urljoin(url, location)
                continue
            return response
        raise FetchError(f"more than {self.config.max_redirects} redirects", transient=False)

    async def _get_once(self, url: str, headers: dict[str, str], accept_types: frozenset[str] | None) -> Response:
        try:
            async with self._client.stream("GET", url, headers=headers) as stream:
                status = stream.status_code
                if status in _REDIRECT_STATUSES or status == 304:
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
        chunks: list[bytes] = []
        size = 0
        async for chunk in stream.aiter_bytes():
            size += len(chunk)
            downloaded = max(stream.num_bytes_downloaded, 1)
            if size > _RATIO_CHECK_FLOOR and size > downloaded * _MAX_COMPRESSION_RATIO:
                raise FetchError(
                    f"compressed body expands more than {_MAX_COMPRESSION_RATIO}:1 (a compression bomb?)",
                    transient=False,
                )
            if size > limit:
                raise FetchError(f"body is over the {limit:,}-byte limit", transient=False)
            chunks.append(chunk)
        return b"".join(chunks)

"""A small HTTP server on loopback for the demo's sample site (and the tests' fixtures).

Static routes answer conditional GETs with 304 the way real feed servers do;
a route may also be a function, for behaviour a static file cannot show
(status codes, Retry-After, slow or endless bodies).
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(frozen=True)
class StaticRoute:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = True

    @cached_property
    def etag_value(self) -> str:
        """Hashed once a route, not on every request: the bench's 2,000 feeds (115 MB) were hashed again for each
        poll's every request, twice for a 200, on the two cores the pipeline measured beside it shares."""
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


Handler = Callable[[BaseHTTPRequestHandler], None]
Route = StaticRoute | Handler


class _RequestHandler(BaseHTTPRequestHandler):
    """Nagle's algorithm is off: a 200's head and body go out in two sends, and with it on the body waited for the
    client's delayed ACK of the head, about 35 ms an answer, so 16 connections fetched at most about 460 feeds a
    second from it whatever the client did (the product's client alone, 2,000 bench feeds: 465-480 fetches/s, and
    3,756-4,053 with it off; issue 16p, 27 November)."""

    server: SiteServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.server.hits[path] = self.server.hits.get(path, 0) + 1
        route = self.server.routes.get(path)
        if route is None:
            self.send_error(404)
        elif isinstance(route, StaticRoute):
            self._static(route)
        else:
            route(self)

    def _static(self, route: StaticRoute) -> None:
        if route.etag and self.headers.get("If-None-Match") == route.etag_value:
            self.send_response(304)
            self.send_header("ETag", route.etag_value)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(route.body)))
        if route.etag:
            self.send_header("ETag", route.etag_value)
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(route.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
        """Quiet: the demo prints its own summary."""


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, routes: dict[str, Route]) -> None:
        super().__init__(("127.0.0.1", 0), _RequestHandler)
        self.routes = routes
        self.hits: dict[str, int] = {}

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that hang up early (timeouts, size caps) are expected here, not errors."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path


@contextmanager
def serve(routes: dict[str, Route]) -> Iterator[SiteServer]:
    server = SiteServer(routes)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

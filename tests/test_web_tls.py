"""https feeds: the request path wraps its own sockets in TLS, so prove it verifies the server and reads the body.

A real TLS server on loopback with a certificate from a throwaway CA (trustme): trusted through
`SSL_CERT_FILE`, as a site's own CA would be, the page is read; not trusted, the fetch fails as a
connection failure that names the certificate, and nothing is read.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from pipeline.config import Duration, FetchConfig, Network
from pipeline.web import FetchError, Response, WebClient

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>TLS desk</title></channel></rss>"


class FeedHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        """Quiet: the test reads what the client got, not the server's log."""


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_site(authority: trustme.CA) -> Iterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/feed.xml"
    finally:
        server.shutdown()
        server.server_close()


def fetch(url: str) -> Response:
    async def one() -> Response:
        config = FetchConfig(allow_networks=[Network("127.0.0.0/8")], timeout=Duration(seconds=30))
        async with WebClient(config) as client:
            return await client.get(url)

    return asyncio.run(one())


def test_a_feed_over_tls_is_read_when_its_certificate_is_trusted(tls_site, authority, tmp_path, monkeypatch):
    bundle = Path(tmp_path / "ca.pem")
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    response = fetch(tls_site)
    assert (response.status, response.body) == (200, FEED)


def test_a_server_whose_certificate_is_not_trusted_is_refused(tls_site, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(FetchError) as raised:
        fetch(tls_site)
    assert raised.value.reason.startswith("connection failed: ")
    assert "CERTIFICATE_VERIFY_FAILED" in raised.value.reason
    assert raised.value.transient

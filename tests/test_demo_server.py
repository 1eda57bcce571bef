"""The loopback server the demo, the tests and the benches fetch from: its answers, and what it sends them with."""

from __future__ import annotations

import http.client
import socket
from http.server import BaseHTTPRequestHandler

from pipeline.demo.server import SiteServer, StaticRoute


def test_a_static_route_answers_200_then_304_to_its_etag_on_one_kept_alive_connection(site: SiteServer) -> None:
    body = b'<rss version="2.0"><channel><title>T</title></channel></rss>'  # 60 bytes
    site.routes["/feed.xml"] = StaticRoute(body, "application/rss+xml")
    connection = http.client.HTTPConnection("127.0.0.1", site.server_address[1], timeout=10)
    try:
        connection.request("GET", "/feed.xml?x=1")
        answer = connection.getresponse()
        assert (answer.status, answer.read()) == (200, body)
        assert answer.getheader("Content-Type") == "application/rss+xml"
        assert answer.getheader("Content-Length") == "60"
        assert answer.getheader("ETag") == '"e3d79b385997709e"'  # sha1 of the body, its first 16 digits, quoted
        connection.request("GET", "/feed.xml", headers={"If-None-Match": '"e3d79b385997709e"'})
        answer = connection.getresponse()
        assert (answer.status, answer.read(), answer.getheader("ETag")) == (304, b"", '"e3d79b385997709e"')
        connection.request("GET", "/missing.xml")
        assert connection.getresponse().status == 404
    finally:
        connection.close()
    assert site.hits == {"/feed.xml": 2, "/missing.xml": 1}


def test_answers_are_sent_with_nagles_algorithm_off(site: SiteServer) -> None:
    """With it on, a 200's body waited for the client's delayed ACK of the head (about 35 ms an answer), which
    held 16 connections to about 460 feeds a second; the route reads the option on its own connection."""

    def nodelay(request: BaseHTTPRequestHandler) -> None:
        value = request.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        request.send_response(200)
        request.send_header("Content-Length", "1")
        request.end_headers()
        request.wfile.write(b"1" if value else b"0")

    site.routes["/nodelay"] = nodelay
    connection = http.client.HTTPConnection("127.0.0.1", site.server_address[1], timeout=10)
    try:
        connection.request("GET", "/nodelay")
        assert connection.getresponse().read() == b"1"
    finally:
        connection.close()

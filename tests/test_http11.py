"""The request path's HTTP/1.1 (`pipeline.http11`, llhttp through httptools) against a scripted server on loopback.

The server writes the exact bytes each case scripts, so framing, malformed responses and connection reuse are seen
as a feed's poll sees them: through `WebClient.get`, a `Response` or the one-line reason of a `FetchError`. Where
h11 (this module's parser before) read a response, llhttp reads it the same; the reasons for malformed ones are
llhttp's own words after "malformed response:".
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import pytest

from pipeline.config import Duration, FetchConfig, Network
from pipeline.http11 import ProtocolError, request_bytes, target_of
from pipeline.web import FetchError, WebClient


@dataclass
class Answer:
    data: bytes
    close: bool = False  # close the connection once written (a body read until close, a server hanging up)


@dataclass
class Scripted:
    """A raw TCP server: each request, on whatever connection, gets the next scripted answer; when the script runs
    out, a plain 200 with the body `again`. It counts connections and keeps each request's head."""

    answers: list[Answer]
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                self.requests.append(await reader.readuntil(b"\r\n\r\n"))
                answer = self.answers.pop(0) if self.answers else Answer(AGAIN)
                writer.write(answer.data)
                await writer.drain()
                if answer.close:
                    break
        writer.close()


AGAIN = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nagain"


def fetch(answers: list[Answer], times: int = 2, headers: dict[str, str] | None = None, max_bytes: int = 10_000_000):
    """What `times` GETs in a row get from a server scripted with `answers`: each a `(status, headers, body)` or
    the reason of its FetchError; and the server, to count its connections."""
    server = Scripted(list(answers))

    async def run() -> list[tuple[int, dict[str, str], bytes] | str]:
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}/feed.xml"
        config = FetchConfig(allow_networks=[Network("127.0.0.0/8")], timeout=Duration(seconds=30), max_bytes=max_bytes)
        outcomes: list[tuple[int, dict[str, str], bytes] | str] = []
        async with WebClient(config) as client:
            for _ in range(times):
                try:
                    response = await client.get(url, headers)
                except FetchError as exc:
                    assert exc.transient is exc.reason.startswith("connection failed: ")
                    outcomes.append(exc.reason)
                else:
                    outcomes.append((response.status, response.headers, response.body))
        listening.close()
        await listening.wait_closed()
        return outcomes

    return asyncio.run(run()), server


AGAIN_RESPONSE = (200, {"content-length": "5"}, b"again")


def test_a_chunked_body_is_joined_its_trailer_left_out_and_its_connection_kept():
    chunked = (
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: "v1"\r\n\r\n'
        b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: late\r\n\r\n"
    )
    outcomes, server = fetch([Answer(chunked)])
    assert outcomes == [(200, {"transfer-encoding": "chunked", "etag": '"v1"'}, b"hello world"), AGAIN_RESPONSE]
    assert server.connections == 1


def test_a_chunked_body_arriving_in_pieces_is_read_whole():
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in [b"a" * 70_000, b"b" * 3, b"c" * 65_536])
    outcomes, _ = fetch([Answer(head + chunks + b"0\r\n\r\n")], times=1)
    assert outcomes == [(200, {"transfer-encoding": "chunked"}, b"a" * 70_000 + b"bbb" + b"c" * 65_536)]


def test_a_large_body_is_read_whole():
    outcomes, _ = fetch([Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n" + b"x" * 5_000_000)], times=1)
    assert outcomes == [(200, {"content-length": "5000000"}, b"x" * 5_000_000)]


def test_a_chunked_body_over_the_size_limit_is_cut_off():
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"
    outcomes, _ = fetch([Answer(chunked)], times=1, max_bytes=10)
    assert outcomes == ["body is over the 10-byte limit"]


def test_a_sized_body_is_read_and_the_connection_kept_for_the_next_request():
    outcomes, server = fetch([Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello")])
    assert outcomes == [(200, {"content-length": "5", "x-a": "1, 2"}, b"hello"), AGAIN_RESPONSE]
    assert server.connections == 1


def test_a_body_without_length_is_read_until_the_server_closes_and_the_connection_is_not_reused():
    outcomes, server = fetch([Answer(b"HTTP/1.1 200 OK\r\n\r\nhello until close", close=True)])
    assert outcomes == [(200, {}, b"hello until close"), AGAIN_RESPONSE]
    assert server.connections == 2


def test_informational_responses_are_skipped():
    continued = b"HTTP/1.1 100 Continue\r\nX-Early: 1\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    outcomes, server = fetch([Answer(continued)])
    assert outcomes == [(200, {"content-length": "2"}, b"ok"), AGAIN_RESPONSE]
    assert server.connections == 1


def test_a_304_and_a_204_have_no_body_and_keep_their_connection():
    not_modified = b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 10\r\n\r\n'
    outcomes, server = fetch([Answer(not_modified), Answer(b"HTTP/1.1 204 No\r\n\r\n")], times=3)
    assert outcomes == [(304, {"etag": '"x"', "content-length": "10"}, b""), (204, {}, b""), AGAIN_RESPONSE]
    assert server.connections == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok",  # h11 closed every HTTP/1.0 one
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokSURPLUS",  # bytes past the response's end
    ],
)
def test_a_connection_the_server_does_not_keep_cleanly_is_not_reused(answer):
    outcomes, server = fetch([Answer(answer)])
    assert outcomes[0][2] == b"ok" and outcomes[1] == AGAIN_RESPONSE
    assert server.connections == 2


def test_what_h11_read_beyond_the_strict_grammar_is_still_read():
    bare_lf = b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"
    chunked_over_length = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: Chunked\r\n\r\n2 \r\nok\r\n0\r\n\r\n"
    )
    padded_value = b'HTTP/1.1 200 OK\r\nETag:   "v2" \t\r\nContent-Length: 2\r\n\r\nok'
    outcomes, _ = fetch([Answer(bare_lf), Answer(chunked_over_length), Answer(padded_value)], times=3)
    assert outcomes == [
        (200, {"content-length": "2"}, b"ok"),
        (200, {"content-length": "99", "transfer-encoding": "Chunked"}, b"ok"),
        (200, {"etag": '"v2"', "content-length": "2"}, b"ok"),
    ]


def test_header_bytes_outside_ascii_come_back_as_latin_1():
    outcomes, _ = fetch([Answer(b'HTTP/1.1 200 OK\r\nETag: "\xe9t\xe9"\r\nContent-Length: 2\r\n\r\nok')], times=1)
    assert outcomes == [(200, {"etag": '"été"', "content-length": "2"}, b"ok")]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (b"HTTP/1.1 abc OK\r\n\r\n", "connection failed: malformed response: Invalid status code"),
        (b"hello there\r\n\r\n", "connection failed: malformed response: Expected HTTP/, RTSP/ or ICE/"),
        (b"HTTP/2 200\r\n\r\n", "connection failed: malformed response: Expected dot"),
        (b"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", "connection failed: malformed response: Invalid header token"),
        (b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n", "connection failed: malformed response: Invalid header value char"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk",
            "connection failed: malformed response: Duplicate Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\nok",
            "connection failed: malformed response: Invalid character in Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
            "connection failed: malformed response: Invalid character in chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
            "connection failed: unsupported Transfer-Encoding 'gzip, chunked'",
        ),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", "connection failed: unexpected status 101"),
        (
            b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 200_000 + b"\r\n\r\n",
            "connection failed: response head over 102,400 bytes",
        ),
    ],
)
def test_a_malformed_response_fails_with_one_line_and_its_connection_is_dropped(answer, reason):
    outcomes, server = fetch([Answer(answer)])
    assert outcomes == [reason, AGAIN_RESPONSE]
    assert server.connections == 2


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (b"", "connection failed: server closed the connection"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "connection failed: server closed the connection"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
            "connection failed: server closed the connection before the end of the body",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort",
            "connection failed: server closed the connection before the end of the body",
        ),
    ],
)
def test_a_response_cut_short_fails_with_one_line(answer, reason):
    outcomes, _ = fetch([Answer(answer, close=True)])
    assert outcomes == [reason, AGAIN_RESPONSE]


def test_a_request_goes_on_the_wire_as_h11_wrote_it():
    headers = [("Host", "example.org:8080"), ("User-Agent", "ww/1"), ("If-None-Match", '"\xe9"'), ("X-E", "")]
    assert request_bytes(target_of("http://example.org:8080/a/b?c=d"), headers) == (
        b'GET /a/b?c=d HTTP/1.1\r\nHost: example.org:8080\r\nUser-Agent: ww/1\r\nIf-None-Match: "\xe9"\r\nX-E: \r\n\r\n'
    )


# A header that cannot go on the wire as one header, and the reason it is refused.
REFUSED_HEADERS = {
    ("If-None-Match", "a\r\nX-Injected: 1"): "illegal header value b'a\\r\\nX-Injected: 1'",
    ("If-None-Match", "a\x00"): "illegal header value b'a\\x00'",
    ("If-None-Match", " padded"): "illegal header value b' padded'",
    ("Bad Name", "v"): "illegal header name b'Bad Name'",
}


@pytest.mark.parametrize(("header", "message"), REFUSED_HEADERS.items())
def test_a_header_that_cannot_be_sent_as_one_is_refused(header, message):
    with pytest.raises(ProtocolError) as raised:
        request_bytes(target_of("http://example.org/"), [("Host", "example.org"), header])
    assert str(raised.value) == message


def test_a_refused_header_fails_the_request_before_anything_is_sent():
    outcomes, server = fetch([], times=1, headers={"If-None-Match": "a\nb"})
    assert outcomes == ["connection failed: illegal header value b'a\\nb'"]
    assert server.requests == []

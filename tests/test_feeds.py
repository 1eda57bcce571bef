"""Every real and test feed in ../shared/data/feeds through polling, and the fast path against feedparser."""

from __future__ import annotations

import ast
import asyncio
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.demo.server import StaticRoute
from pipeline.feeds import FeedParseError, _rfc822, parse_common_feed, parse_feed, parse_with_feedparser
from pipeline.poll import poll_feeds
from pipeline.records import utcnow
from pipeline.web import WebClient
from tests.conftest import make_config, shared_data

_HEADER = re.compile(r"^Header:\s*([\w-]+):\s*(.+?)\s*$", re.MULTILINE)
_EXPECT = re.compile(r"^Expect:\s*(.+?)\s*$", re.MULTILINE)
_ENCODING_NAMES = {"bozo", "encoding"}


def corpus() -> list[Path]:
    root = shared_data("feeds")
    return sorted(path for path in root.rglob("*") if path.is_file())


def served_headers(path: Path) -> dict[str, str]:
    """The HTTP headers a test file asks to be served with (its `Header:` lines)."""
    text = path.read_bytes()[:2000].decode("latin-1")
    headers = {name: value for name, value in _HEADER.findall(text)}
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json" if path.suffix == ".json" else "application/xml"
    return headers


def encoding_expectation(path: Path) -> str | None:
    """The file's `Expect:` line when it speaks only of bozo and encoding."""
    match = _EXPECT.search(path.read_bytes()[:2000].decode("latin-1"))
    if not match:
        return None
    tree = ast.parse(match.group(1), mode="eval")
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    if not names or not names <= _ENCODING_NAMES or any(isinstance(n, ast.Call) for n in ast.walk(tree)):
        return None
    return match.group(1)


def test_every_feed_polls_without_a_crash(tmp_path, site, store):
    files = corpus()
    feeds = []
    for number, path in enumerate(files):
        headers = served_headers(path)
        content_type = next(value for name, value in headers.items() if name.lower() == "content-type")
        extra = {name: value for name, value in headers.items() if name.lower() != "content-type"}
        site.routes[f"/{number}"] = StaticRoute(path.read_bytes(), content_type, headers=extra, etag=False)
        feeds.append({"url": site.url(f"/{number}"), "name": path.name})
    # Queueing for a slot no longer counts against the deadline (tests/test_web_limits.py proves it with a slow
    # host); the deadline is generous too because this test parses every feed on the event loop, and on a loaded
    # machine a response can wait behind other feeds' parsing. It is about crashes, not speed.
    config = make_config(tmp_path, feeds, fetch={"concurrency": 16, "per_host": 16, "timeout": "120s"})

    async def poll():
        async with WebClient(config.fetch) as client:
            return await poll_feeds(config, store, client, utcnow(), list(config.feeds))

    report = asyncio.run(poll())
    states = store.list_feeds()
    failed = {state.name: state.last_error for state in states if state.failures}
    print(
        f"{len(files)} feeds polled: {len(files) - len(failed)} read, {len(failed)} refused with a reason, "
        f"{report.entries_new} entries"
    )
    assert report.polled == len(files) == len(states)
    assert all(reason for reason in failed.values())
    assert all(not reason.startswith("unexpected") for reason in failed.values()), failed
    assert not [reason for reason in failed.values() if "timed out" in reason or "slot" in reason], failed
    real = {path.name for path in files if path.parent.name == "real"}
    assert not real & failed.keys(), "every real news feed must be read"


def decodes_alike(body: bytes, expectation: str, encoding: str | None) -> bool:
    """The detector named a superset codec (CP949 for EUC-KR, …) that reads the bytes identically."""
    named = re.search(r"encoding == '([^']+)'", expectation)
    if not named or not encoding:
        return False
    try:
        return body.decode(named.group(1)) == body.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return False


def test_encoding_and_bozo_match_the_expect_lines():
    checked, exact, alike, mismatched = 0, 0, 0, []
    for path in corpus():
        expectation = encoding_expectation(path)
        if expectation is None:
            continue
        body = path.read_bytes()
        try:
            parsed = parse_feed(body, served_headers(path))
        except FeedParseError:
            continue  # refused as not a feed: covered by the polling test
        checked += 1
        if eval(expectation, {}, {"bozo": parsed.bozo, "encoding": parsed.encoding}):
            exact += 1
        elif parsed.bozo == ("not bozo" not in expectation) and decodes_alike(body, expectation, parsed.encoding):
            alike += 1
        else:
            mismatched.append((path.name, expectation, parsed.bozo, parsed.encoding))
    print(f"Expect lines on encoding/bozo: {exact}/{checked} exactly, {alike} more with a codec that decodes alike")
    assert checked > 50
    assert mismatched == []


def test_fast_path_gives_feedparsers_items():
    compared = 0
    for path in corpus():
        if path.suffix == ".json":
            continue
        body, headers = path.read_bytes(), {k.lower(): v for k, v in served_headers(path).items()}
        try:
            fast = parse_common_feed(body, headers)
        except Exception:  # noqa: BLE001 - the fast path declined; feedparser alone decides
            continue
        if fast.bozo_reason and "control characters" in fast.bozo_reason:
            continue  # repaired on purpose: see test_control_characters_are_repaired_not_mangled
        slow = parse_with_feedparser(body, headers)
        compared += 1
        assert [(i.link, i.guid, i.title) for i in fast.items] == [(i.link, i.guid, i.title) for i in slow.items], (
            path.name
        )
        for quick, full in zip(fast.items, slow.items, strict=True):
            assert quick.published == full.published or full.published is None, path.name
    print(f"fast path taken and checked against feedparser on {compared} feeds")
    assert compared > 100


@pytest.mark.parametrize("name", ["elpais_2020-03-09.rss.xml"])
def test_control_characters_are_repaired_not_mangled(name):
    body = shared_data("feeds", "real", name).read_bytes()
    links = [link.decode() for link in re.findall(rb"<item>.*?<link>([^<]*)</link>", body, re.DOTALL)]
    parsed = parse_feed(body, {"content-type": "application/rss+xml"})
    assert parsed.bozo and "control characters" in (parsed.bozo_reason or "")
    assert [item.link for item in parsed.items] == links


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Wed, 08 May 2019 14:40:32 GMT", datetime(2019, 5, 8, 14, 40, 32, tzinfo=UTC)),
        ("8 May 2019 14:40:32 +0000", datetime(2019, 5, 8, 14, 40, 32, tzinfo=UTC)),
        ("Tue, 31 Dec 2019 23:30:00 -0530", datetime(2020, 1, 1, 5, 0, 0, tzinfo=UTC)),
        ("Mon, 16 Dec 2019 01:15:00 +0100", datetime(2019, 12, 16, 0, 15, 0, tzinfo=UTC)),
        ("Mon, 16 Dec 2019 01:15:00 -0000", datetime(2019, 12, 16, 1, 15, 0, tzinfo=UTC)),  # parsedate_to_datetime's
        ("Mon, 16 Dec 2019 01:15 EST", datetime(2019, 12, 16, 6, 15, 0, tzinfo=UTC)),  # parsedate_to_datetime's
    ],
)
def test_rss_dates_are_read_to_utc(value, expected):
    item = parse_common_feed(
        f'<rss version="2.0"><channel><title>t</title><item><title>a</title><link>http://example.com/a</link>'
        f"<pubDate>{value}</pubDate></item></channel></rss>".encode(),
        {"content-type": "application/rss+xml"},
    ).items[0]
    assert item.published == expected
    assert item.published is not None and item.published.tzinfo is UTC


_OUT_OF_RANGE_FEEDS = {
    "rss": (
        "application/rss+xml",
        '<rss version="2.0"><channel><title>t</title>'
        "<item><title>a</title><link>http://example.com/a</link>"
        "<pubDate>Fri, 31 Dec 9999 23:00:00 -0500</pubDate></item>"
        "<item><title>b</title><link>http://example.com/b</link>"
        "<pubDate>Wed, 08 May 2019 14:40:32 GMT</pubDate></item>"
        "</channel></rss>",
    ),
    "atom": (
        "application/atom+xml",
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        '<entry><title>a</title><link href="http://example.com/a"/><id>a</id><updated>9999-12-31T23:00:00-05:00</updated></entry>'
        '<entry><title>b</title><link href="http://example.com/b"/><id>b</id><updated>2019-05-08T14:40:32Z</updated></entry>'
        "</feed>",
    ),
    "json": (
        "application/feed+json",
        '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": ['
        '{"id": "a", "url": "http://example.com/a", "date_published": "0001-01-01T00:30:00+01:00"},'
        '{"id": "b", "url": "http://example.com/b", "date_published": "2019-05-08T14:40:32Z"}]}',
    ),
}


@pytest.mark.parametrize("form", sorted(_OUT_OF_RANGE_FEEDS))
def test_a_date_outside_the_calendar_in_utc_loses_only_that_date(form):
    """Year 9999 at -05:00 is year 10000 in UTC (and year 1 at +01:00 is year 0): the item keeps its link with
    no date, and the feed's other items are read as usual."""
    content_type, body = _OUT_OF_RANGE_FEEDS[form]
    items = parse_feed(body.encode(), {"content-type": content_type}).items
    assert [(item.link, item.published) for item in items] == [
        ("http://example.com/a", None),
        ("http://example.com/b", datetime(2019, 5, 8, 14, 40, 32, tzinfo=UTC)),
    ]


@settings(max_examples=3000, deadline=None)
@given(
    day=st.sampled_from(["Mon, ", "Sun, ", "mon, ", ""]),
    date=st.from_regex(r"\A[0-9]{1,2} (Jan|Feb|May|Dec|may) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z"),
    zone=st.sampled_from(["GMT", "UT", "UTC", "Z", "+0000", "-0000", "+0100", "-0530", "+0090", "+2400", "EST"]),
)
def test_the_plain_rfc822_reading_agrees_with_parsedate_to_datetime(day, date, zone):
    """The regular expression's reading of the common form is parsedate_to_datetime's, an error too."""
    value = f"{day}{date} {zone}"
    try:
        parsed = parsedate_to_datetime(value)
        expected: datetime | type[Exception] = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        expected = type(exc)
    try:
        got: datetime | type[Exception] | None = _rfc822(value)
    except (ValueError, OverflowError) as exc:
        got = type(exc)
    assert got == expected

"""Feed bytes to feed items: RSS and Atom through feedparser, JSON Feed by hand.

feedparser does not read JSON Feed (https://www.jsonfeed.org/version/1.1/), so
bodies that are JSON are parsed here from the spec's `items` (`id`, `url`,
`title`, `content_text`/`content_html`, `summary`, `date_published`).
"""

from __future__ import annotations

import calendar
import functools
import html
import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
import feedparser.datetimes
from feedparser.encodings import RE_XML_PI_ENCODING, convert_to_utf8, parse_content_type
from lxml import etree

from pipeline.records import utcnow
from pipeline.store.base import NewEntries
from pipeline.urls import canonical_id, canonical_link

_ATOM = "{http://www.w3.org/2005/Atom}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_DCTERMS = "{http://purl.org/dc/terms/}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
# Always read as UTF-8, whatever the XML declaration says: the bytes given are UTF-8 by then (see _plainly_utf8).
_XML_PARSER = etree.XMLParser(
    encoding="utf-8", resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
)
_XML_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_XML_MEDIA_TYPES = frozenset({"application/xml", "application/xml-dtd", "application/xml-external-parsed-entity"})
# An <rss> without a version is read alike by feedparser (its version "rss"): the UOL feed is one.
_RSS_VERSIONS = frozenset({"2.0", "0.91", "0.92", None})
_TAG = re.compile(r"<[^>]+>")
# An RFC 822 date as nearly every feed writes it: an optional English day name, a day, an English month, a year
# of four digits from 1000 (parsedate_tz reads smaller years as two-digit ones), the time with seconds, UTC by
# name or a numeric offset. "-0000" (no zone known) is left to parsedate_to_datetime.
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_UTC_NAMES = frozenset({"GMT", "UT", "UTC", "Z", "+0000"})
_PLAIN_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (" + "|".join(_MONTHS) + r") ([1-9]\d{3}) "
    r"(\d\d):(\d\d):(\d\d) (GMT|UTC?|Z|\+\d{4}|-(?!0000)\d{4})",
    re.ASCII,
)


class FeedParseError(Exception):
    """The body is not a feed we can read."""


@dataclass
class FeedItem:
    link: str | None
    guid: str | None
    title: str
    summary: str
    published: datetime | None


@dataclass
class ParsedFeed:
    title: str
    items: list[FeedItem]
    encoding: str | None
    bozo: bool
    bozo_reason: str | None


def strip_html(value: str) -> str:
    """Feed summaries are HTML fragments; the fallback article wants plain text.

    `str.split` collapses the same whitespace as a `\\s+` regex (both follow `str.isspace`) at a third of
    the cost: the regex was half the fast path's time on feeds that carry whole articles.
    """
    if "<" in value:
        value = _TAG.sub(" ", value)
    if "&" in value:
        value = html.unescape(value)
    return " ".join(value.split())


def _is_json(body: bytes, content_type: str) -> bool:
    if "json" in content_type:
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _iso_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: a moment past year 9999 or before year 1 in UTC
        return None


def parse_json_feed(body: bytes) -> ParsedFeed:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedParseError(f"not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith("https://jsonfeed.org/"):
        raise FeedParseError("JSON without a jsonfeed.org version is not a JSON Feed")
    raw_items = document.get("items")
    if not isinstance(raw_items, list):
        raise FeedParseError("JSON Feed has no items list")
    items = []
    for raw in raw_items:
        if not isinstance(raw, dict):
            continue
        text = raw.get("content_text") or strip_html(str(raw.get("content_html") or ""))
        items.append(
            FeedItem(
                link=_str_or_none(raw.get("url")) or _str_or_none(raw.get("external_url")),
                guid=_str_or_none(raw.get("id")),
                title=strip_html(str(raw.get("title") or "")),
                summary=str(raw.get("summary") or text or ""),
                published=_iso_datetime(raw.get("date_published")) or _iso_datetime(raw.get("date_modified")),
            )
        )
    return ParsedFeed(str(document.get("title") or ""), items, "utf-8", False, None)


def _str_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _from_struct_time(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC) if value else None
    except (OverflowError, ValueError, TypeError):
        return None


def _struct_time(entry: Any, *keys: str) -> datetime | None:
    for key in keys:
        published = _from_struct_time(entry.get(key))
        if published is not None:
            return published
    return None


def _entry_text(entry: Any) -> str:
    contents = entry.get("content") or []
    best = max((str(part.get("value", "")) for part in contents), key=len, default="")
    summary = str(entry.get("summary", ""))
    return strip_html(best if len(best) > len(summary) else summary)


def _text(element: Any) -> str:
    """The element's text, its children's included. Most fields have no children: their text is read
    directly, without starting an iterator."""
    if len(element):
        return "".join(element.itertext()).strip()
    return (element.text or "").strip()


def _last_children(element: Any) -> dict[Any, Any]:
    """Each child tag's last element: a repeated element overrides, as in feedparser.

    One walk over the children rather than a `findall` per field, which was a fifth of the fast path.
    """
    return {child.tag: child for child in element}


def _field(children: dict[Any, Any], tag: str) -> str:
    child = children.get(tag)
    return _text(child) if child is not None else ""


def _has_dcterms(children: dict[Any, Any]) -> bool:
    return any(isinstance(tag, str) and tag.startswith(_DCTERMS) for tag in children)


def _rfc822(value: str) -> datetime | None:
    """An RFC 822 date. The form nearly every feed writes ("Wed, 08 May 2019 14:40:32 GMT", or "+0100") is read
    with one regular expression, five times faster than `parsedate_to_datetime`, to the same moment (checked
    against it in tests/test_feeds.py); anything else goes to `parsedate_to_datetime`."""
    plain = _PLAIN_RFC822.fullmatch(value)
    if plain is not None:
        day, month, year, hour, minute, second, zone = plain.groups()
        offset = 0 if zone in _UTC_NAMES else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[3:]))
        return datetime(
            int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=_zone(offset)
        ).astimezone(UTC)
    parsed = parsedate_to_datetime(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


@functools.lru_cache(maxsize=64)
def _zone(minutes: int) -> timezone:
    return UTC if minutes == 0 else timezone(timedelta(minutes=minutes))


def _feed_date(value: str, read: Callable[[str], datetime | None]) -> datetime | None:
    """`value` as the standard library reads it, which is fast; what it cannot read, as feedparser's own date
    parsers do (the ones it applies to every date it parses), so an unusual date costs no switch to feedparser
    for the whole feed. The UOL feed's Portuguese dates are one: feedparser reads none of them either."""
    try:
        parsed = read(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: "31 Dec 9999 23:00 -0500" is past year 9999 in UTC
        parsed = None
    if parsed is not None:
        return parsed
    return _from_struct_time(feedparser.datetimes._parse_date(value))


def _rss_published(children: dict[Any, Any]) -> datetime | None:
    date = _field(children, "pubDate")
    if date:
        return _feed_date(date, _rfc822)
    if _DC + "date" in children:
        return _feed_date(_field(children, _DC + "date"), _iso_datetime)
    if "pubDate" not in children and _has_dcterms(children):
        raise _NeedsFeedparserError("an item dated with dcterms")
    return None


def _rss_item(item: Any) -> FeedItem:
    children = _last_children(item)
    if "title" not in children:
        raise _NeedsFeedparserError("an item without a plain title")
    published = _rss_published(children)
    content = _field(children, _CONTENT + "encoded")
    description = _field(children, "description")
    guid = _field(children, "guid")
    guid_element = children.get("guid")
    permalink = guid_element is not None and guid_element.get("isPermaLink", "true").lower() != "false"
    return FeedItem(
        link=_field(children, "link") or (guid if permalink and guid.startswith(("http://", "https://")) else None),
        guid=guid or None,
        title=strip_html(_field(children, "title")),
        summary=strip_html(content if len(content) > len(description) else description),
        published=published,
    )


def _atom_entry(entry: Any) -> FeedItem:
    children = _last_children(entry)
    for name in ("title", "summary", "content"):
        construct = entry.find(_ATOM + name)
        if construct is not None and (construct.get("mode") or construct.get("type", "text") not in {"text", "html"}):
            raise _NeedsFeedparserError("an XHTML or encoded text construct")
    links = entry.findall(_ATOM + "link")
    alternate = next((link for link in links if link.get("rel", "alternate") == "alternate"), None)
    stamp = _field(children, _ATOM + "published") or _field(children, _ATOM + "updated")
    published = _feed_date(stamp, _iso_datetime) if stamp else None
    content = _field(children, _ATOM + "content")
    summary = _field(children, _ATOM + "summary")
    return FeedItem(
        link=alternate.get("href") if alternate is not None else None,
        guid=_field(children, _ATOM + "id") or None,
        title=strip_html(_field(children, _ATOM + "title")),
        summary=strip_html(content if len(content) > len(summary) else summary),
        published=published,
    )


def _plainly_utf8(body: bytes, headers: dict[str, str]) -> bool:
    """Whether feedparser's rules (RFC 3023, as `convert_to_utf8` applies them) read `body` as UTF-8 with
    nothing to report, so lxml can take the bytes as they came.

    The conversion decodes the whole body, rewrites its XML declaration and encodes it again: 2 ms of a
    260 kB feed. It is skipped only when it could change nothing: an XML media type whose charset, or
    else the XML declaration, says utf-8 or nothing; no byte-order mark or UTF-16/32 start; valid UTF-8.
    """
    if body[:1] != b"<" or body[1:2] == b"\x00":
        return False
    media_type, charset = parse_content_type(headers.get("content-type") or "")
    if media_type not in _XML_MEDIA_TYPES and not (
        media_type.startswith("application/") and media_type.endswith("+xml")
    ):
        return False
    declared = RE_XML_PI_ENCODING.match(body)
    xml_encoding = declared.group(1).lower() if declared else b""
    if charset not in {"", "utf-8"} or xml_encoding not in {b"", b"utf-8"}:
        return False
    if body.isascii():
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _utf8_body(body: bytes, headers: dict[str, str]) -> tuple[bytes, str | None, str | None]:
    """The body in UTF-8, the encoding it was read in and the encoding's bozo reason, by feedparser's rules."""
    if _plainly_utf8(body, headers):
        return body, "utf-8", None
    result: dict[str, Any] = {}
    utf8 = convert_to_utf8(headers, body, result)
    return utf8, result.get("encoding"), str(result["bozo_exception"]) if result.get("bozo") else None


class _NeedsFeedparserError(Exception):
    """The fast path is unsure; feedparser decides."""


def parse_common_feed(body: bytes, headers: dict[str, str]) -> ParsedFeed:
    """Well-formed RSS 2.0 and Atom 1.0 with lxml, several times faster than feedparser.

    The character encoding is settled by feedparser's own rules
    (`feedparser.encodings.convert_to_utf8`: HTTP charset, BOM, XML
    declaration, RFC 3023 defaults), so encoding and bozo come out as
    feedparser reports them. Then only the plain case is taken: no DOCTYPE
    (entities), no xml:base, dates the standard library reads. Anything else
    raises `_NeedsFeedparserError`, and feedparser, which knows every quirk, parses
    it instead. tests/test_feeds.py checks that both paths give the same items
    on every feed the fast path takes.

    One repair is made here rather than left to feedparser: control
    characters XML forbids (the commonest way real feeds are not
    well-formed) are removed and the feed marked bozo. feedparser's loose
    parser, which it falls back to then, is 100x slower and on the real
    El País feed pairs 39 of 81 titles with the wrong link.
    """
    head = body[:2048]
    if b"<!DOCTYPE" in head or b"<!doctype" in head or b"xml:base" in body:
        raise _NeedsFeedparserError("DOCTYPE or xml:base")
    utf8, encoding, bozo_reason = _utf8_body(body, headers)
    try:
        root = etree.fromstring(utf8, _XML_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        cleaned = utf8.translate(None, _XML_CONTROL_BYTES)
        if len(cleaned) == len(utf8):
            raise _NeedsFeedparserError(str(exc)) from None
        try:
            root = etree.fromstring(cleaned, _XML_PARSER)
        except (etree.XMLSyntaxError, ValueError):
            raise _NeedsFeedparserError(str(exc)) from None
        bozo_reason = f"removed {len(utf8) - len(cleaned)} control characters that XML does not allow ({exc})"
    try:
        if root.tag == "rss" and root.get("version") in _RSS_VERSIONS:
            channel = root.find("channel")
            if channel is None:
                raise _NeedsFeedparserError("rss without channel")
            items = [_rss_item(item) for item in channel.iterfind("item")]
            title = strip_html(_field(_last_children(channel), "title"))
        elif root.tag == _ATOM + "feed":
            items = [_atom_entry(entry) for entry in root.iterfind(_ATOM + "entry")]
            title = strip_html(_field(_last_children(root), _ATOM + "title"))
        else:
            raise _NeedsFeedparserError(f"root element {root.tag}")
    except (TypeError, ValueError) as exc:
        raise _NeedsFeedparserError(str(exc)) from None
    return ParsedFeed(title, items, encoding, bozo_reason is not None, bozo_reason)


def parse_feed(body: bytes, headers: dict[str, str] | None = None) -> ParsedFeed:
    """Parse any supported feed; a body with problems but items (bozo) is still used.

    `headers` are the HTTP response headers: their charset decides how the bytes are read.
    """
    headers = {key.lower(): value for key, value in (headers or {}).items()}
    if _is_json(body, headers.get("content-type", "")):
        return parse_json_feed(body)
    try:
        return parse_common_feed(body, headers)
    except _NeedsFeedparserError:
        return parse_with_feedparser(body, headers)


def parse_with_feedparser(body: bytes, headers: dict[str, str] | None = None) -> ParsedFeed:
    with warnings.catch_warnings(action="ignore", category=DeprecationWarning):  # feedparser's own key aliasing
        parsed = feedparser.parse(
            body, response_headers=headers or {}, sanitize_html=False, resolve_relative_uris=False
        )
        return _from_feedparser(parsed)


def _from_feedparser(parsed: Any) -> ParsedFeed:
    reason = str(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    if not parsed.entries and not parsed.get("version"):
        raise FeedParseError(f"not a feed: {reason or 'no RSS, Atom or JSON Feed found'}")
    items = [
        FeedItem(
            link=_str_or_none(entry.get("link")),
            guid=_str_or_none(entry.get("id")),
            title=strip_html(str(entry.get("title", ""))),
            summary=_entry_text(entry),
            published=_struct_time(entry, "published_parsed", "updated_parsed", "created_parsed"),
        )
        for entry in parsed.entries
    ]
    return ParsedFeed(
        title=strip_html(str(parsed.feed.get("title", ""))),
        items=items,
        encoding=parsed.get("encoding"),
        bozo=bool(parsed.get("bozo")),
        bozo_reason=reason,
    )


# What a poll hands a worker for one feed body (new_entries_from_body's arguments): the feed's URL and configured
# name, the URL the body came from after redirects, the body and its response headers. Plain values, so that a
# worker needs this module and nothing of the config to read them.
FeedBody = tuple[str, str | None, str, bytes, dict[str, str]]
ParsedBody = tuple[NewEntries, str | None]


def new_entries_from_body(
    feed_url: str, feed_name: str | None, final_url: str, body: bytes, headers: dict[str, str]
) -> ParsedBody:
    """Entries of one feed body, as the store adds them (`NewEntries`), and why items were skipped if any were
    (no usable link). Plain values in and out, so a process pool can run it."""
    parsed = parse_feed(body, headers)
    batch = NewEntries(feed_url, feed_name or parsed.title or feed_url, utcnow())
    missing, unusable = 0, ""
    for item in parsed.items:
        link = item.link or (item.guid if item.guid and item.guid.startswith(("http://", "https://")) else None)
        if not link:
            missing += 1
            continue
        try:
            url = canonical_link(final_url, link)
        except ValueError as exc:  # a port that is not a number, a broken IPv6 literal: this item, not the feed
            unusable = unusable or f"{link!r}: {exc}"
            missing += 1
            continue
        batch.items.append((canonical_id(url), url, item.guid, item.title, item.summary, item.published))
    return batch, _skipped_reason(missing, unusable)


def _skipped_reason(missing: int, unusable: str) -> str | None:
    if not missing:
        return None
    return f"{missing} entries without a usable link skipped" + (f" (first unusable: {unusable})" if unusable else "")


def each_parsed(parse: Callable[..., ParsedBody], bodies: list[FeedBody]) -> list[ParsedBody | Exception]:
    """`parse` (new_entries_from_body) of several bodies, in one crossing to a worker and back; a body that fails
    has its exception in its place, so it fails its own feed only."""
    results: list[ParsedBody | Exception] = []
    for body in bodies:
        try:
            results.append(parse(*body))
        except Exception as exc:  # noqa: BLE001 - the feed's failure, handed back as its result
            results.append(exc)
    return results

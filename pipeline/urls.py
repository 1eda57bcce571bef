"""Canonical URLs: one story reached through tracking links is one key."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

_TRACKING_PARAMS = {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid"}
# A netloc holding none of these is its host alone: no user, no port, no IPv6 brackets, no zone.
_NETLOC_PARTS = frozenset("@:[]%")
# A query whose names and values hold only the characters `quote_plus` leaves as they are (no "%", "+" or second
# "="): `parse_qsl` reads each as written and `urlencode` writes it back the same.
_PLAIN_QUERY = re.compile(r"[\w.~-]*(?:=[\w.~-]*)?(?:&[\w.~-]*(?:=[\w.~-]*)?)*", re.ASCII)


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, drop default ports, fragments and tracking parameters, sort the rest.

    Raises ValueError for a URL `urlsplit` refuses (a port that is not a number, a bad IPv6 literal).

    A netloc that is a plain host, with no query (most feed links), is put together by hand: `SplitResult`'s
    host, port and user properties each split the netloc again, and with `urlunsplit` they were most of
    the cost of a link (a worker canonicalises every item of every changed feed)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    if scheme and netloc and not _NETLOC_PARTS.intersection(netloc):
        canonical = f"{scheme}://{netloc.lower()}{parts.path or '/'}"
        query = _canonical_query(parts.query) if parts.query else ""
        return f"{canonical}?{query}" if query else canonical
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets, or its port would run into the address
        host = f"[{host}]"
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    if parts.username:
        host = f"{parts.username}{':' + parts.password if parts.password else ''}@{host}"
    return urlunsplit((scheme, host, parts.path or "/", _canonical_query(parts.query), ""))


def _canonical_query(query: str) -> str:
    """The query's parameters sorted, tracking ones dropped ("" when none is left).

    A plainly written query (a quarter of the bench's links have one) is split by hand: decoding and quoting
    again would change none of its characters."""
    if _PLAIN_QUERY.fullmatch(query):
        pairs = sorted((name, value) for name, _, value in (pair.partition("=") for pair in query.split("&") if pair))
        return "&".join(f"{name}={value}" for name, value in pairs if _kept(name))
    return urlencode(sorted((key, value) for key, value in parse_qsl(query, keep_blank_values=True) if _kept(key)))


def _kept(name: str) -> bool:
    """Whether a query parameter stays in the canonical URL (it does not only track the click)."""
    lowered = name.lower()
    return not lowered.startswith("utm_") and lowered not in _TRACKING_PARAMS


def _absolute_canonical(link: str) -> str:
    """`canonical_url` of a plainly written absolute http(s) link (see `canonical_link`), split by hand when its
    netloc is a plain ASCII host: `urlsplit` was half the cost of canonicalising a link. The parts are cut where
    `urlsplit` cuts them: the netloc at the first "/", "?" or "#", the fragment at the first "#", the query at the
    first "?" before it."""
    scheme, _, rest = link.partition("://")
    end = len(rest)
    for mark in "/?#":
        found = rest.find(mark, 0, end)
        if found >= 0:
            end = found
    netloc = rest[:end]
    if not netloc.isascii() or _NETLOC_PARTS.intersection(netloc):
        return canonical_url(link)
    path, _, query = rest[end:].partition("#")[0].partition("?")
    canonical = f"{scheme}://{netloc.lower()}{path or '/'}"
    query = _canonical_query(query) if query else ""
    return f"{canonical}?{query}" if query else canonical


def canonical_link(base: str, link: str) -> str:
    """`canonical_url(urljoin(base, link))`: a feed item's link, which may be relative to the feed's URL.

    A link that is already absolute, plainly written, is canonicalised without `urljoin`, which would split
    it twice and put it back together to the same canonical URL. Only a link `urljoin` could change is
    joined: one relative or with an empty host, one with a control character or whitespace it removes, and
    one with a `;` (it drops an empty `;params` of the last path segment when the two schemes agree)."""
    if (
        link.startswith(("http://", "https://"))
        and link.partition("//")[2][:1] not in ("", "/", "?", "#")
        and ";" not in link
        and link.isprintable()
        and " " not in link
    ):
        return _absolute_canonical(link)
    return canonical_url(urljoin(base, link))


def canonical_id(canonical: str) -> str:
    """The store key of a URL that is already canonical: a short, stable hash of it.

    `canonical_url` gives the same URL back for its own output, so a caller holding the canonical URL
    hashes it here instead of through `url_id`, which would canonicalise it a second time (that second
    pass was a tenth of the time a worker spent on a feed)."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:24]


def url_id(url: str) -> str:
    """The store key of an entry and its article: a short, stable hash of the canonical URL."""
    return canonical_id(canonical_url(url))

"""Canonical URLs: one story reached through tracking links is one key."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PARAMS = {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid"}


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, drop default ports, fragments and tracking parameters, sort the rest.

    Raises ValueError for a URL `urlsplit` refuses (a port that is not a number, a bad IPv6 literal)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets, or its port would run into the address
        host = f"[{host}]"
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    if parts.username:
        host = f"{parts.username}{':' + parts.password if parts.password else ''}@{host}"
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in _TRACKING_PARAMS
    )
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


def canonical_id(canonical: str) -> str:
    """The store key of a URL that is already canonical: a short, stable hash of it.

    `canonical_url` gives the same URL back for its own output, so a caller holding the canonical URL
    hashes it here instead of through `url_id`, which would canonicalise it a second time (that second
    pass was a tenth of the time a worker spent on a feed)."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:24]


def url_id(url: str) -> str:
    """The store key of an entry and its article: a short, stable hash of the canonical URL."""
    return canonical_id(canonical_url(url))

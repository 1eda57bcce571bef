"""Failure reasons grouped into kinds a person can count: `HTTP 404`, `timed out`, `too little text`.

Reasons are written for people and carry details (a URL, a byte count, a content type), so twenty
thousand 404s are twenty thousand distinct strings. The kinds are an ordered list of named patterns,
first match wins; a reason none of them knows keeps its words before the first colon.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

FEED_TEXT_PREFIX = "used the feed's text: "

# (pattern, kind): the first pattern that matches names the kind; `\1` takes the matched group.
FAILURE_KINDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bHTTP (\d{3})\b"), r"HTTP \1"),
    (re.compile(r"waited more than .* for a connection slot"), "no connection slot in time"),
    (re.compile(r"\btimed out\b"), "timed out"),
    (re.compile(r"^(?:connection failed|cannot resolve)"), "connection failed"),
    (re.compile(r"unsupported content type (\S+)"), r"unsupported content type \1"),
    (re.compile(r"unsupported content encoding"), "unsupported content encoding"),
    (re.compile(r"^page yielded \d+ characters"), "too little text"),
    (re.compile(r"compression bomb"), "compression bomb"),
    (re.compile(r"-byte limit$"), "too large"),
    (re.compile(r"not a public address|^refused scheme|^URL has no host"), "address refused"),
    (re.compile(r"redirects$|without a Location$"), "bad redirect"),
    (re.compile(r"^extraction failed"), "extraction failed"),
    (re.compile(r"^store rejected"), "store rejected"),
    (re.compile(r"^not a feed"), "not a feed"),
]


def failure_kind(reason: str) -> str:
    """The kind of a failure reason; a page that fell back to the feed's text counts by why it had to."""
    reason = reason.removeprefix(FEED_TEXT_PREFIX)
    for pattern, kind in FAILURE_KINDS:
        found = pattern.search(reason)
        if found:
            return found.expand(kind)
    return reason.split(":", 1)[0].strip() or "unknown"


def count_kinds(reasons: Iterable[tuple[str, int]]) -> dict[str, int]:
    """(reason, how many) pairs summed by kind, most frequent first."""
    counts: Counter[str] = Counter()
    for reason, number in reasons:
        counts[failure_kind(reason)] += number
    return dict(counts.most_common())

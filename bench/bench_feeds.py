"""Feed parsing speed: wirewatch's parse (lxml fast path, feedparser for the rest) against feedparser alone.

Run:  .venv/bin/python -m bench.bench_feeds [--runs 5]

Both parse the 20 real news feeds of ../shared/data/feeds/real with the
headers a server would send, in one process; the figure is feeds per second,
the median of `--runs` passes over all 20.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.feeds import ParsedFeed, parse_feed, parse_with_feedparser

REAL_FEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "feeds" / "real"


def real_feeds() -> list[tuple[bytes, dict[str, str]]]:
    feeds = []
    for path in sorted(REAL_FEEDS.iterdir()):
        content_type = "application/feed+json" if path.suffix == ".json" else "application/rss+xml"
        if "iso8859" in path.name:  # the charset its server declared; the file has no XML declaration
            content_type += "; charset=iso-8859-1"
        feeds.append((path.read_bytes(), {"content-type": content_type}))
    return feeds


def feeds_per_second(
    parse: Callable[[bytes, dict[str, str]], ParsedFeed], feeds: list[tuple[bytes, dict[str, str]]], runs: int
) -> list[float]:
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        for body, headers in feeds:
            parse(body, headers)
        rates.append(len(feeds) / (time.perf_counter() - started))
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    if not REAL_FEEDS.exists():
        print(f"skipped: {REAL_FEEDS} is absent (the real feeds live beside the repo on dev and CI machines)")
        return 0
    feeds = real_feeds()
    xml = [(body, headers) for body, headers in feeds if "json" not in headers["content-type"]]
    ours = feeds_per_second(parse_feed, xml, args.runs)
    theirs = feeds_per_second(parse_with_feedparser, xml, args.runs)
    print(f"{len(xml)} real RSS/Atom feeds, median of {args.runs} passes, one process:")
    print(f"  wirewatch parse_feed:  {statistics.median(ours):6.0f} feeds/s")
    print(f"  feedparser alone:      {statistics.median(theirs):6.0f} feeds/s")
    print(f"  ratio: {statistics.median(ours) / statistics.median(theirs):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

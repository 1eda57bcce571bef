"""Search speed as the store grows: SQLite stores of 100k and 1M articles, 12 typical queries.

    python -m bench.bench_search build /tmp/ww-100k.db --articles 100000   # once; prints build time and size
    python -m bench.bench_search time /tmp/ww-100k.db                      # p50 per query, in process

The articles are Reuters-21578 replicated: each round copies every story a year
later with about one word in 30 swapped for another word of the corpus, so the
vocabulary and the share of articles each word is in stay those of real news.
The `build` step writes through `SQLiteStore.put_articles` in batches, as a
cycle does, and records its figures beside the store (`PATH.json`).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bench.reuters import REUTERS, Story, load_stories
from pipeline.query import words
from pipeline.records import Article
from pipeline.store.base import SearchQuery
from pipeline.store.sqlite import SQLiteStore

# Typical analyst queries over Reuters: single words from common to rare, phrases, prefixes,
# OR, NOT, parentheses; the first is the corpus's commonest word (checked by `time`).
QUERIES = (
    "the",
    "said",
    "oil prices",
    '"interest rates"',
    "bank*",
    "trade OR tariff*",
    "opec NOT saudi",
    "(wheat OR corn) exports",
    '"central bank" dollar',
    "japan* trade surplus",
    "acquisition shares",
    "gold",
)
BATCH = 2000


def perturbed(story: Story, rng: random.Random, round_: int, vocabulary: list[str]) -> Article:
    body = story.body.split(" ")
    for _ in range(max(1, len(body) // 30)):
        body[rng.randrange(len(body))] = rng.choice(vocabulary)
    return Article(
        id=f"r{round_:03d}-{story.newid:05d}",
        url=f"https://reuters.example/{round_}/{story.newid}",
        feed_url="https://reuters.example/feed",
        source=f"reuters-{round_ % 8}",
        title=story.title,
        text=" ".join(body),
        published=story.date + timedelta(days=365 * round_),
    )


def build(path: Path, count: int) -> dict[str, float]:
    stories = load_stories()
    rng = random.Random(13)
    vocabulary = sorted({word for story in stories[:2000] for word in story.body.split(" ")})
    path.unlink(missing_ok=True)
    store = SQLiteStore(path)
    started = time.perf_counter()
    written = 0
    round_ = 0
    while written < count:
        for start in range(0, len(stories), BATCH):
            batch = [perturbed(story, rng, round_, vocabulary) for story in stories[start : start + BATCH]]
            batch = batch[: count - written]
            store.put_articles(batch)
            written += len(batch)
            if written >= count:
                break
        round_ += 1
        print(f"{written:,} articles, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    seconds = time.perf_counter() - started
    size = path.stat().st_size
    figures = {"articles": written, "build_s": round(seconds, 1), "bytes": size, "bytes_per_article": size // written}
    path.with_suffix(".json").write_text(json.dumps(figures), encoding="utf-8")
    return figures


def commonest_word(sample: int = 3000) -> str:
    counts: Counter[str] = Counter()
    for story in load_stories()[:sample]:
        counts.update(set(words(f"{story.title}\n{story.body}")))
    return counts.most_common(1)[0][0]


def time_queries(path: Path, runs: int) -> dict[str, tuple[float, float, float, int]]:
    """query -> (p50, min, max) milliseconds of `store.search`, limit 10, collapsed, and its total."""
    store = SQLiteStore(path)
    figures: dict[str, tuple[float, float, float, int]] = {}
    for text in QUERIES:
        store.search(SearchQuery(text=text))  # warm the page cache once
        times: list[float] = []
        total = 0
        for _ in range(runs):
            started = time.perf_counter()
            total = store.search(SearchQuery(text=text)).total
            times.append((time.perf_counter() - started) * 1000)
        figures[text] = (statistics.median(times), min(times), max(times), total)
    store.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build")
    make.add_argument("path", type=Path)
    make.add_argument("--articles", type=int, default=100_000)
    timing = commands.add_parser("time")
    timing.add_argument("path", type=Path)
    timing.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    if not REUTERS.exists():
        print(f"skipped: {REUTERS} is absent", file=sys.stderr)
        return 0
    if args.command == "build":
        figures = build(args.path, args.articles)
        print(
            f"{figures['articles']:,} articles in {figures['build_s']:.0f} s "
            f"({figures['articles'] / figures['build_s']:,.0f} articles/s); "
            f"{figures['bytes'] / 1e9:.2f} GB, {figures['bytes_per_article']:,} bytes per article"
        )
        return 0
    print(f"commonest word of the corpus: {commonest_word()!r} (first query: {QUERIES[0]!r})")
    store = SQLiteStore(args.path)
    print(f"{args.path}: {store.count_articles():,} articles")
    store.close()
    print(f"{'query':28} {'p50 ms':>8} {'min–max ms':>14} {'total':>10}")
    for text, (p50, low, high, total) in time_queries(args.path, args.runs).items():
        print(f"{text:28} {p50:8.1f} {low:6.1f}–{high:<7.1f} {total:>10,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

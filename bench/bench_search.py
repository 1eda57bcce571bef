"""Search speed as the store grows: SQLite stores of 100k and 1M articles, 12 typical queries.

    python -m bench.bench_search build /tmp/ww-100k.db --articles 100000   # once; prints build time and size
    python -m bench.bench_search time /tmp/ww-100k.db                      # p50 per query, in process
    python -m bench.bench_search cli /tmp/ww-100k.db --runs 20             # `wirewatch search` from a shell

The articles are Reuters-21578 replicated: each round copies every story a year
later with about one word in 30 swapped for another word of the corpus, so the
vocabulary and the share of articles each word is in stay those of real news.
The `build` step writes through `SQLiteStore.put_articles` in batches, as a
cycle does, and records its figures beside the store (`PATH.json`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bench.reuters import REUTERS, Story, load_stories
from pipeline.query import words
from pipeline.records import Article
from pipeline.store.base import SearchQuery
from pipeline.store.sqlite import SQLiteStore, ts

# Typical analyst queries over Reuters: single words from common to rare, phrases, prefixes,
# OR, NOT, parentheses; the first is the corpus's commonest word (checked by `time`).
QUERIES = (
    "of",
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
    """Bulk load: articles in large transactions with the FTS triggers off, then one FTS5 'rebuild'.

    A cycle writes through `put_articles`, whose per-article upsert, tags and small
    transactions make a million articles an hour's work on this shared machine; the
    rows and the index built here are the same, only faster to make.
    """
    stories = load_stories()
    rng = random.Random(13)
    vocabulary = sorted({word for story in stories[:2000] for word in story.body.split(" ")})
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    store = SQLiteStore(path)
    db = store._db
    triggers = [row[0] for row in db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'")]
    for name in [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]:
        db.execute(f"DROP TRIGGER {name}")
    db.execute("PRAGMA synchronous=OFF")
    started = time.perf_counter()
    written = 0
    round_ = 0
    while written < count:
        for start in range(0, len(stories), BATCH):
            batch = [perturbed(story, rng, round_, vocabulary) for story in stories[start : start + BATCH]]
            batch = batch[: count - written]
            with store._tx() as tx:
                tx.executemany(
                    """INSERT INTO articles (id, url, feed_url, source, title, text, published, fetched, cluster_id)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    [
                        (a.id, a.url, a.feed_url, a.source, a.title, a.text, ts(a.published), ts(a.fetched), a.id)
                        for a in batch
                    ],
                )
            written += len(batch)
            if written >= count:
                break
        round_ += 1
        print(f"{written:,} articles, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    loaded = time.perf_counter() - started
    with store._tx() as tx:
        tx.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
        for sql in triggers:
            tx.execute(sql)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    seconds = time.perf_counter() - started
    size = path.stat().st_size
    figures = {
        "articles": written,
        "build_s": round(seconds, 1),
        "load_s": round(loaded, 1),
        "bytes": size,
        "bytes_per_article": size // written,
    }
    path.with_suffix(".json").write_text(json.dumps(figures), encoding="utf-8")
    return figures


def commonest_word(sample: int = 3000) -> str:
    counts: Counter[str] = Counter()
    for story in load_stories()[:sample]:
        counts.update(set(words(f"{story.title}\n{story.body}")))
    return counts.most_common(1)[0][0]


Timing = tuple[float, float, float, float, int]


def time_queries(path: Path, runs: int) -> dict[str, Timing]:
    """query -> wall p50, min, max and CPU p50 (ms) of `store.search` (limit 10, collapsed), and its total.

    The runs of the 12 queries are interleaved (round after round), so a burst of load on this
    shared machine falls on every query alike; CPU time (this process's) is what load inflates least.
    """
    store = SQLiteStore(path)
    wall: dict[str, list[float]] = {text: [] for text in QUERIES}
    cpu: dict[str, list[float]] = {text: [] for text in QUERIES}
    totals: dict[str, int] = {}
    for text in QUERIES:
        store.search(SearchQuery(text=text))  # warm the page cache once
    for _ in range(runs):
        for text in QUERIES:
            started, used = time.perf_counter(), time.process_time()
            totals[text] = store.search(SearchQuery(text=text)).total
            wall[text].append((time.perf_counter() - started) * 1000)
            cpu[text].append((time.process_time() - used) * 1000)
    store.close()
    return {
        text: (
            statistics.median(wall[text]),
            min(wall[text]),
            max(wall[text]),
            statistics.median(cpu[text]),
            totals[text],
        )
        for text in QUERIES
    }


def time_command(path: Path, runs: int, query: str) -> tuple[float, float, float]:
    """`wirewatch search QUERY` as a shell runs it, a new process each time: wall seconds p50, min, max.

    Timed as an installed copy runs, with its bytecode cached: the warm-up run writes the cache. A shell
    that sets PYTHONDONTWRITEBYTECODE (some sandboxes and containers do) would otherwise have every run
    compile wirewatch's own modules from source again, a cost no installed command pays after its first run.
    """
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "wirewatch.yaml"
        config.write_text(json.dumps({"store": {"backend": "sqlite", "path": str(path.resolve())}}), encoding="utf-8")
        command = [str(Path(sys.executable).parent / "wirewatch"), "search", query, "--config", str(config)]
        shell = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run(command, check=True, capture_output=True, env=shell)  # warm the page and bytecode caches
        times: list[float] = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=shell)
            times.append(time.perf_counter() - started)
    return statistics.median(times), min(times), max(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build")
    make.add_argument("path", type=Path)
    make.add_argument("--articles", type=int, default=100_000)
    timing = commands.add_parser("time")
    timing.add_argument("path", type=Path)
    timing.add_argument("--runs", type=int, default=15)
    shell = commands.add_parser("cli", help="time `wirewatch search` end to end, one process per run")
    shell.add_argument("path", type=Path)
    shell.add_argument("--runs", type=int, default=10)
    shell.add_argument("--query", default="japan* trade surplus")
    args = parser.parse_args(argv)
    if not REUTERS.exists():
        print(f"skipped: {REUTERS} is absent", file=sys.stderr)
        return 0
    if args.command == "build":
        figures = build(args.path, args.articles)
        print(
            f"{figures['articles']:,} articles in {figures['build_s']:.0f} s "
            f"({figures['articles'] / figures['build_s']:,.0f} articles/s; rows {figures['load_s']:.0f} s, "
            f"then the FTS index); "
            f"{figures['bytes'] / 1e9:.2f} GB, {figures['bytes_per_article']:,} bytes per article"
        )
        return 0
    if args.command == "cli":
        p50, low, high = time_command(args.path, args.runs, args.query)
        print(f"wirewatch search {args.query!r} on {args.path}: p50 {p50:.3f} s ({low:.3f}–{high:.3f} s)")
        return 0
    print(f"commonest word of the corpus: {commonest_word()!r} (first query: {QUERIES[0]!r})")
    store = SQLiteStore(args.path)
    print(f"{args.path}: {store.count_articles():,} articles")
    store.close()
    print(f"{'query':28} {'p50 ms':>8} {'min–max ms':>14} {'CPU p50 ms':>11} {'total':>8}")
    for text, (p50, low, high, cpu, total) in time_queries(args.path, args.runs).items():
        print(f"{text:28} {p50:8.1f} {low:6.1f}–{high:<7.1f} {cpu:11.1f} {total:>8,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

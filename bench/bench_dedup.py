"""Near-duplicate detection measured on Reuters-21578.

Ground truth is exhaustive: every pair of stories whose normalised shingle sets
satisfy the same predicate the stage verifies (Jaccard >= t or containment >= c)
is found with prefix filtering, which is exact (no pair can satisfy the predicate
without sharing one of the rarest shingles of its smaller side). Against it we
score the LSH path: pairs that share a band key and pass verification, counted
pair by pair; and, separately, co-membership in the clusters the real `dedupe()`
writes to a real SQLite store.

    python -m bench.bench_dedup            # full corpus, 3 timing runs
    python -m bench.bench_dedup --quick    # 4 of 22 files
    python -m bench.bench_dedup --scale    # adds the 1k/10k/100k stored-articles line
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

import numpy as np

from bench.reuters import REUTERS, Story, load_stories
from pipeline.dedup import (
    DEFAULT,
    Fingerprint,
    Params,
    candidate_probability,
    fingerprints,
    is_copy,
    normalise,
    similarity,
    sketches,
)
from pipeline.records import Article, article_time
from pipeline.store.sqlite import SQLiteStore

Pair = tuple[int, int]


@dataclass
class Score:
    true: int
    reported: int
    hits: int
    candidates: int

    @property
    def recall(self) -> float:
        return self.hits / self.true if self.true else 1.0

    @property
    def precision(self) -> float:
        return self.hits / self.reported if self.reported else 1.0


def story_prints(stories: list[Story], params: Params = DEFAULT) -> list[Fingerprint | None]:
    """Fingerprint of each story, None when it is below the folding minimum."""
    return fingerprints([story.body for story in stories], params)


def true_pairs(prints: list[Fingerprint | None], params: Params = DEFAULT) -> set[Pair]:
    """Every pair satisfying the verification predicate, by exact prefix filtering.

    Both branches of the predicate need an overlap of at least m*|x| for the smaller
    set x (m = the lower of the two thresholds), so x's |x| - ceil(m|x|) + 1 rarest
    shingles must meet y; probing only those into a full inverted index is lossless.
    """
    sets = [_shingles(found) for found in prints]
    docs = [index for index, item in enumerate(sets) if len(item)]
    tokens = np.concatenate([sets[index] for index in docs])
    owners = np.concatenate([np.full(len(sets[index]), index) for index in docs])
    order = np.argsort(tokens, kind="stable")
    tokens, owners = tokens[order], owners[order]
    unique, starts, counts = np.unique(tokens, return_index=True, return_counts=True)
    sizes = {index: len(sets[index]) for index in docs}
    least = min(params.jaccard, params.containment)
    found: set[Pair] = set()
    for x in docs:
        shingles = sets[x]
        slot = np.searchsorted(unique, shingles)
        rare = np.lexsort((shingles, counts[slot]))
        keep = sizes[x] - int(np.ceil(least * sizes[x] - 1e-9)) + 1
        postings = [owners[starts[s] : starts[s] + counts[s]] for s in slot[rare[:keep]]]
        for y in np.unique(np.concatenate(postings)).tolist():
            if (sizes[y], y) > (sizes[x], x) and is_copy(shingles, sets[y], params):
                found.add((x, y) if x < y else (y, x))
    return found


def lsh_pairs(prints: list[Fingerprint | None], params: Params = DEFAULT) -> tuple[set[Pair], int]:
    """Pairs sharing a band key that pass verification, and how many candidate pairs there were."""
    buckets: dict[str, list[int]] = defaultdict(list)
    for index, found in enumerate(prints):
        for key in found.band_keys if found else ():
            buckets[key].append(index)
    candidates = {(a, b) for members in buckets.values() for i, a in enumerate(members) for b in members[i + 1 :]}
    reported = {(a, b) for a, b in candidates if is_copy(_shingles(prints[a]), _shingles(prints[b]), params)}
    return reported, len(candidates)


def _shingles(found: Fingerprint | None) -> np.ndarray:
    return found.shingles if found else np.empty(0, dtype=np.uint64)


def score(truth: set[Pair], reported: set[Pair], candidates: int) -> Score:
    return Score(len(truth), len(reported), len(truth & reported), candidates)


def articles_from(stories: Iterable[Story], tag: str = "") -> list[Article]:
    return [
        Article(
            id=f"r{tag}{story.newid:06d}",
            url=f"https://reuters.example/{tag}{story.newid}",
            feed_url="https://reuters.example/feed",
            source="reuters",
            title=story.title,
            text=story.body,
            published=story.date,
        )
        for story in stories
    ]


def cluster_pairs(store: SQLiteStore, ids: dict[str, int]) -> set[Pair]:
    """Pairs of stories that ended up in one cluster (co-membership)."""
    members: dict[str, list[int]] = defaultdict(list)
    for article in store.get_articles(ids):
        members[article.cluster_id or article.id].append(ids[article.id])
    return {(a, b) for group in members.values() for a in sorted(group) for b in sorted(group) if a < b}


def run_stage(
    articles: list[Article], path: Path, window: timedelta, batch: int, params: Params = DEFAULT
) -> tuple[float, SQLiteStore]:
    """Save the articles, then time only `dedupe()` over them in feed-sized batches."""
    from pipeline.dedup import dedupe

    store = SQLiteStore(path)
    ordered = sorted(articles, key=lambda article: (article.published, article.id))
    for start in range(0, len(ordered), 2000):
        store.put_articles(ordered[start : start + 2000])
    began = time.perf_counter()
    for start in range(0, len(ordered), batch):
        dedupe(ordered[start : start + batch], store, window, params)
    return time.perf_counter() - began, store


def dedup_bytes(path: Path) -> dict[str, int]:
    """Bytes on disk of the dedup tables and their indexes (SQLite's dbstat)."""
    db = sqlite3.connect(path)
    rows = db.execute(
        """SELECT name, SUM(pgsize) FROM dbstat
           WHERE name IN ('dedup', 'dedup_hash', 'dedup_published', 'band_keys', 'band_keys_article')
           GROUP BY name"""
    ).fetchall()
    db.close()
    return dict(rows)


@dataclass
class Timing:
    """Wall and CPU seconds of one path, summed over the slices it ran."""

    wall: float = 0.0
    cpu: float = 0.0

    def add(self, began: tuple[float, float]) -> None:
        self.wall += time.perf_counter() - began[0]
        self.cpu += time.process_time() - began[1]


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


class OursInMemory:
    """Shingles -> signatures -> band keys -> query and insert in a dict: our path without the store, sketching
    a slice of texts at once as the stage does."""

    def __init__(self, params: Params) -> None:
        self.params = params
        self.buckets: dict[str, list[int]] = defaultdict(list)

    def add(self, token_lists: list[list[str]], first: int) -> None:
        for index, (_, keys) in enumerate(sketches(token_lists, self.params), first):
            {other for key in keys for other in self.buckets.get(key, ())}
            for key in keys:
                self.buckets[key].append(index)


class DatasketchInMemory:
    """The same shingles through datasketch's MinHash + MinHashLSH with the same b x r."""

    def __init__(self, params: Params) -> None:
        from datasketch import MinHashLSH

        self.params = params
        self.lsh = MinHashLSH(num_perm=params.num_perm, params=(params.bands, params.rows))

    def add(self, token_lists: list[list[str]], first: int) -> None:
        from datasketch import MinHash

        size = self.params.shingle
        for index, words in enumerate(token_lists, first):
            shingles = {" ".join(words[i : i + size]).encode("utf-8") for i in range(len(words) - size + 1)}
            minhash = MinHash(num_perm=self.params.num_perm)
            minhash.update_batch(shingles)
            self.lsh.query(minhash)
            self.lsh.insert(index, minhash)


@dataclass
class Round:
    stage: Timing
    ours: Timing
    theirs: Timing


def interleaved_round(
    articles: list[Article], token_lists: list[list[str]], path: Path, window: timedelta, batch: int, params: Params
) -> Round:
    """The store-backed stage, datasketch and our in-memory path over the same stories, slice by slice in turn
    (a 500-article batch of the stage, then the same 500 stories through each in-memory index), so that a
    change in the machine's load during the round weighs on all three alike. Each index grows as the stage's
    store does; saving the articles to the store beforehand is not timed. The stage's store is left at `path`.

    Each side runs in a process of its own, forked for the round from this one once it holds the stories, and
    times its slices by its own CPU: a side's garbage collections walk its own objects only and fall in its own
    slices, and every round starts from the same state. In one process a full collection, started by whichever
    side's allocations crossed the threshold, walked all three indexes (datasketch's and ours hold some 600,000
    containers each) and was charged to that side; the first round, on a heap not yet grown, read 1.03-1.12x
    where the later ones read about 1.33x."""
    order = sorted(range(len(articles)), key=lambda i: (articles[i].published, articles[i].id))
    ordered = [articles[i] for i in order]
    tokens = [token_lists[i] for i in order]
    # What every side inherits stays out of its collections (and its pages unshared by them): the same for all.
    gc.collect()
    gc.freeze()
    context = multiprocessing.get_context("fork")
    sides: list[tuple[Timing, Connection, BaseProcess]] = []
    try:
        for setup in (
            lambda: _StageSide(ordered, path, window, params),
            lambda: DatasketchInMemory(params),
            lambda: OursInMemory(params),
        ):
            mine, its = context.Pipe()
            process: BaseProcess = context.Process(target=_side_process, args=(setup, tokens, its), daemon=True)
            process.start()
            its.close()
            sides.append((Timing(), mine, process))
        for _, connection, _ in sides:
            connection.recv()  # set up
        for start in range(0, len(ordered), batch):
            for timing, connection, _ in sides:
                connection.send((start, start + batch))
                wall, cpu = connection.recv()
                timing.wall += wall
                timing.cpu += cpu
        for _, connection, _ in sides:
            connection.send(None)
            connection.recv()  # closed
    finally:
        for _, connection, process in sides:
            connection.close()
            process.join()
        gc.unfreeze()
    stage, theirs, ours = (timing for timing, _, _ in sides)
    return Round(stage=stage, ours=ours, theirs=theirs)


class _StageSide:
    """The store-backed stage as a side of a round: its store filled beforehand, `dedupe` timed batch by batch."""

    def __init__(self, ordered: list[Article], path: Path, window: timedelta, params: Params) -> None:
        self.store = SQLiteStore(path)
        for start in range(0, len(ordered), 2000):
            self.store.put_articles(ordered[start : start + 2000])
        self.ordered, self.window, self.params = ordered, window, params

    def add(self, token_lists: list[list[str]], first: int) -> None:
        from pipeline.dedup import dedupe

        dedupe(self.ordered[first : first + len(token_lists)], self.store, self.window, self.params)

    def close(self) -> None:
        self.store.close()


def _side_process(
    setup: Callable[[], OursInMemory | DatasketchInMemory | _StageSide], tokens: list[list[str]], connection: Connection
) -> None:
    """One side of a round, in its own process: slices as the parent asks for them, each slice's wall and CPU
    seconds sent back."""
    side = setup()
    connection.send("ready")
    while (slice_ := connection.recv()) is not None:
        began = _now()
        side.add(tokens[slice_[0] : slice_[1]], slice_[0])
        connection.send((time.perf_counter() - began[0], time.process_time() - began[1]))
    if isinstance(side, _StageSide):
        side.close()
    connection.send("closed")
    connection.close()


def spread(values: list[float], digits: int = 2) -> str:
    """Median with min–max."""
    return f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def report_in_memory(stories: int, params: Params, rounds: list[Round]) -> None:
    """Rates, and the two ratios taken round by round, by wall time and by CPU time (the CPU figure does not move
    with what else the machine runs; the wall figure includes SQLite's waits on the disk)."""
    print(
        f"\nIn memory, same shingles, num_perm={params.num_perm}, b={params.bands}, r={params.rows}, "
        f"{len(rounds)} rounds, each interleaved slice by slice:"
    )
    for clock in ("wall", "cpu"):
        ours = [getattr(r.ours, clock) for r in rounds]
        theirs = [getattr(r.theirs, clock) for r in rounds]
        stage = [getattr(r.stage, clock) for r in rounds]
        print(f"  by {clock} time:")
        print(f"    ours (signature + band keys + dict index): {spread([stories / s for s in ours], 0)} articles/s")
        print(
            f"    datasketch MinHash + MinHashLSH query+insert: {spread([stories / s for s in theirs], 0)} articles/s"
        )
        print(f"    store-backed stage: {spread([stories / s for s in stage], 0)} articles/s")
        print(f"    ours / datasketch in memory: {spread([t / o for o, t in zip(ours, theirs, strict=True)])}x")
        ratios = [t / s for s, t in zip(stage, theirs, strict=True)]
        print(f"    full store-backed stage / datasketch in memory: {spread(ratios)}x")
        print(f"      round by round: {', '.join(f'{ratio:.2f}' for ratio in ratios)}")


def perturb(story: Story, rng: random.Random, round_: int) -> Story:
    """A copy with a few words changed, so it is near, not exact, a year later per round.

    The year keeps each round outside the others' window: the store grows while the
    number of stories inside the window stays that of the real corpus.
    """
    words = story.body.split(" ")
    for _ in range(max(1, len(words) // 40)):
        words[rng.randrange(len(words))] = rng.choice(("also", "newly", "reportedly", "firmly", "broadly"))
    return Story(
        story.newid + round_ * 100_000, story.date + timedelta(days=365 * round_), story.title, " ".join(words)
    )


def scaling(stories: list[Story], marks: tuple[int, ...], probe: int, params: Params) -> list[tuple[int, float]]:
    """Time per article of `probe` new articles once the store holds each of `marks` articles."""
    from pipeline.dedup import dedupe

    rng = random.Random(7)
    pool: list[Story] = []
    round_ = 0
    while len(pool) < marks[-1] + probe:
        pool += stories if round_ == 0 else [perturb(story, rng, round_) for story in stories]
        round_ += 1
    articles = articles_from(pool[: marks[-1] + probe])
    line: list[tuple[int, float]] = []
    window = timedelta(days=7)
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "scale.db")
        filled = 0
        for mark in marks:
            for start in range(filled, mark, 2000):
                chunk = articles[start : min(start + 2000, mark)]
                store.put_articles(chunk)
                dedupe(chunk, store, window, params)
                store.prune_dedup(min(map(article_time, chunk)) - window)  # as every `wirewatch run` does
            filled = mark
            chunk = articles[mark : mark + probe]
            store.put_articles(chunk)
            store.prune_dedup(min(map(article_time, chunk)) - window)
            began = time.perf_counter()
            for start in range(0, probe, 500):
                dedupe(chunk[start : start + 500], store, window, params)
            line.append((mark, (time.perf_counter() - began) / probe))
            filled = mark + probe
        store.close()
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 of the 22 files, 1 timing run")
    parser.add_argument("--scale", action="store_true", help="also time 1k/10k/100k stored articles")
    parser.add_argument("--runs", type=int, default=None)
    options = parser.parse_args(argv)
    if not REUTERS.is_dir():
        print(f"skipped: Reuters-21578 not found at {REUTERS} (it lives in ../shared/data, outside the repo)")
        return 0
    params = DEFAULT
    runs = options.runs or (1 if options.quick else 3)
    stories = load_stories(files=4 if options.quick else None)
    print(f"# Reuters-21578: {len(stories)} stories with a body; params {params}")
    print("\nS-curve, P(candidate) = 1-(1-s^r)^b:")
    print("| Jaccard s | " + " | ".join(f"{s:.1f}" for s in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)) + " |")
    print("|---|" + "---|" * 8)
    curve = (candidate_probability(s, params) for s in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9))
    print("| P | " + " | ".join(f"{p:.3f}" for p in curve) + " |")

    began = time.perf_counter()
    prints = story_prints(stories, params)
    sets = [_shingles(found) for found in prints]
    truth = true_pairs(prints, params)
    truth_seconds = time.perf_counter() - began
    reported, candidates = lsh_pairs(prints, params)
    pairs = score(truth, reported, candidates)
    short = sum(found is None for found in prints)
    by_jaccard = {(a, b) for a, b in truth if similarity(sets[a], sets[b])[0] >= params.jaccard}
    missed = sorted(truth - reported)
    print(
        f"\nGround truth (exhaustive, {truth_seconds:.1f}s): {len(truth)} pairs with J>={params.jaccard} or "
        f"C>={params.containment}; {len(by_jaccard)} of them by Jaccard; "
        f"{short} stories under {params.min_words} words left out"
    )
    print(
        f"LSH pairs: candidates {pairs.candidates}, reported {pairs.reported}, "
        f"recall {pairs.recall:.4f}, precision {pairs.precision:.4f}; "
        f"recall on the Jaccard pairs {len(by_jaccard & reported) / max(len(by_jaccard), 1):.4f}, "
        f"on the containment-only pairs {len((truth - by_jaccard) & reported) / max(len(truth - by_jaccard), 1):.4f}"
    )
    print(f"  candidate pairs that verification kept: {pairs.reported / max(pairs.candidates, 1):.3f}")
    if missed:
        print(
            "  missed (J, C): "
            + ", ".join(
                f"({similarity(sets[a], sets[b])[0]:.2f}, {similarity(sets[a], sets[b])[1]:.2f})"
                for a, b in missed[:10]
            )
        )

    articles = articles_from(stories)
    ids = {article.id: index for index, article in enumerate(articles)}
    window = timedelta(days=7)
    times = {index: story.date for index, story in enumerate(stories)}
    in_window = {(a, b) for a, b in truth if abs(times[a] - times[b]) <= window}
    token_lists = [normalise(story.body).split() for story in stories]
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(runs):
            path = Path(folder) / f"run{run}.db"
            rounds.append(interleaved_round(articles, token_lists, path, window, batch=500, params=params))
            if run == 0:
                store = SQLiteStore(path)
                together = cluster_pairs(store, ids)
                stored = dedup_bytes(path)
                rows = store._db.execute("SELECT COUNT(*) FROM dedup").fetchone()[0]
                store.close()
        tracemalloc.start()
        _, store = run_stage(articles[:2000], Path(folder) / "mem.db", window, batch=500, params=params)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        store.close()
    clusters = score(in_window, together & in_window, 0)
    extra = len(together - in_window)
    stage_seconds = [r.stage.wall for r in rounds]
    rate = len(articles) / statistics.median(stage_seconds)
    print(f"\nStage: dedupe() over a real SQLiteStore, batches of 500, window {window.days}d, {runs} run(s)")
    print(f"  throughput {rate:,.0f} articles/s (median; runs {', '.join(f'{s:.2f}s' for s in stage_seconds)})")
    print(
        f"  true pairs within the window {len(in_window)}; recall by cluster co-membership "
        f"{clusters.recall:.4f}; co-member pairs not in the truth {extra} "
        f"(precision {len(together & in_window) / max(len(together), 1):.4f})"
    )
    total = sum(stored.values())
    print(
        f"  store: {total / rows:,.0f} bytes/article for {rows} fingerprinted articles "
        f"({', '.join(f'{name} {size / rows:,.0f}' for name, size in sorted(stored.items()))})"
    )
    print(f"  tracemalloc peak during dedupe of 2,000 articles: {peak / 1e6:.1f} MB")

    report_in_memory(len(stories), params, rounds)

    if options.scale:
        line = scaling(stories, (1_000, 10_000, 100_000), probe=2_000, params=params)
        print("\nScaling: time per article for 2,000 new articles once the store holds N articles")
        print("  (every run prunes band keys older than the 7-day window, as `wirewatch run` does)")
        for mark, seconds in line:
            print(f"  N={mark:>7,}: {seconds * 1e6:,.0f} us/article")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Dedupe + statements per article: a cycle's last batches against its first, replayed over a fixed store.

Run:  .venv/bin/python -m bench.bench_flatness --build DIR [--pages 2000]   # one bench cycle, kept in DIR
      .venv/bin/python -m bench.bench_flatness --store DIR [--rounds 5]     # CPU, the two parts interleaved
      .venv/bin/python -m bench.bench_flatness --store DIR --instructions   # instructions, under valgrind

`bench.bench_cycle --only cycle` times dedupe and statements in a cycle's first batch and in its last batches (those
holding `TAIL_ARTICLES` or more): in a 2,000-page cycle the two are some 15 s apart, and this host's speed moves by
1.7x within minutes, so one run's last / first read 2.44 where the median read 1.23. Here both are replayed from a
store that does not change between runs, so the host's speed cannot move the figure:

- `--build` runs one whole bench cycle (`bench_cycle.time_whole_cycle`) and keeps its articles, entities and quotes
  as the workers made them, with dedup and statements cleared (`cleared.db`), and the ids of each batch as the cycle
  processed them (`batches.json`). Either code can then replay the same input.
- The first part is the cycle's first batch on the cleared store; the last part is its last batches, on the store as
  the code under test leaves it after replaying every batch before them (made once per invocation, not timed).
  Each goes through `cycle.dedupe_and_group`, as the cycle's processing thread runs a batch.
- By CPU (`--rounds`): after one round that is not counted (the process's caches warm), each round replays the first
  part and then the last, each on a fresh copy of its store, seconds apart: a ratio per round, and their median with
  min-max.
- By instructions (`--instructions`): both parts in one process under callgrind, after the same warm-up round,
  each stage's run on each batch counted alone (`counted`). Instructions do not depend on the host's speed or load
  (two runs of one code read the same per-article counts within 0.2 %: the store's temporary paths and the clock's
  readings differ between runs). About 5 minutes of one core.

It also prints what the whole replay decided (duplicates, clusters, new statements, and hashes of the clusters and
of the statements with their reports, articles named by URL path), which must not change with a speed change.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from bench.bench_cycle import DATA, TAIL_ARTICLES, callgrind_total, digest, spread, time_whole_cycle
from pipeline import cycle
from pipeline.config import Config
from pipeline.store.sqlite import SQLiteStore

CLEARED = "cleared.db"
BATCHES = "batches.json"
# What the cycle's dedupe and statements write, emptied in the kept store so a replay starts where the cycle did.
_DERIVED_TABLES = ("dedup", "band_keys", "statements", "statement_reports", "statement_wordings", "alert_ledger")
# The C function `counted` runs a part inside, which callgrind is told to count within (`--toggle-collect`).
MARKER = "qsort_r"


def build(directory: Path, pages: int) -> None:
    """One whole bench cycle over `pages` pages, kept: its store with dedup and statements cleared, and its batches."""
    directory.mkdir(parents=True, exist_ok=True)
    kept = directory / "cycle.db"
    kept.unlink(missing_ok=True)
    run = time_whole_cycle(pages, timing=True, keep=kept)
    with contextlib.closing(sqlite3.connect(kept, isolation_level=None)) as db:
        for table in _DERIVED_TABLES:
            db.execute(f"DELETE FROM {table}")
        db.execute("UPDATE articles SET cluster_id = id, duplicate_of = NULL, processed = 0")
        (directory / CLEARED).unlink(missing_ok=True)
        db.execute("VACUUM INTO ?", (str(directory / CLEARED),))
    kept.unlink()
    (directory / BATCHES).write_text(json.dumps(run.batches))
    sizes = ", ".join(str(len(batch)) for batch in run.batches)
    print(f"kept {run.indexed} articles of a {pages}-page cycle in {directory}: batches {sizes}")


@dataclass(frozen=True)
class Part:
    """Batches replayed in a row on a copy of one store: `state` is "cleared" (nothing deduped or grouped yet) or
    "before last" (the cleared store after every batch before the cycle's last ones, replayed by the code under
    test)."""

    name: str
    batches: list[list[str]]
    state: str


@dataclass(frozen=True)
class Parts:
    first: Part  # the cycle's first batch, on the cleared store
    last: Part  # its last batches, on the store as every earlier batch left it
    last_alone: Part  # the same last batches on the cleared store: what they cost with nothing stored before them
    before_last: list[list[str]]  # the batches that make the last part's store

    def __iter__(self) -> Iterator[Part]:
        return iter((self.first, self.last_alone, self.last))


def parts(batches: list[list[str]]) -> Parts:
    """The first batch, and the last batches taken together from the end until they hold `TAIL_ARTICLES` (as
    `bench_cycle.tail_per_article_us` takes them)."""
    start, count = len(batches), 0
    while start > 1 and count < TAIL_ARTICLES:
        start -= 1
        count += len(batches[start])
    last = batches[start:]
    return Parts(
        Part("first", batches[:1], "cleared"),
        Part("last", last, "before last"),
        Part("last alone", last, "cleared"),
        batches[:start],
    )


# The two stages of a batch that the figure is about, as `cycle.dedupe_and_group` calls them (the batch's one load
# of its articles, shared by both, is in neither, as in `bench_cycle`'s figure).
STAGES = ("dedupe_articles", "group_statements")


@dataclass
class Call:
    """One stage's run on one batch: which stage, how many articles, and what it cost (CPU seconds, or
    instructions)."""

    stage: str
    articles: int
    cost: float = 0.0
    kernel: float = 0.0


def _by_cpu(work: Callable[[], Any], call: Call) -> Any:
    """`work()`, its CPU seconds in `call.cost` and the kernel's share of them in `call.kernel` (reading the store's
    pages from the file: callgrind does not count that part)."""
    started, before = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_stime
    result = work()
    call.cost = time.process_time() - started
    call.kernel = resource.getrusage(resource.RUSAGE_SELF).ru_stime - before
    return result


def replay(
    path: Path, batches: list[list[str]], around: Callable[[Callable[[], Any], Call], Any] = _by_cpu
) -> list[Call]:
    """Each batch through `cycle.dedupe_and_group` on the store at `path`, each of its two stages run through
    `around` (by default, timed by CPU): the stages' runs, in order."""
    calls: list[Call] = []

    def measured(stage: Callable[..., Any], name: str) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            calls.append(Call(name, len(args[-1])))
            return around(lambda: stage(*args), calls[-1])

        return run

    config = Config()
    with contextlib.ExitStack() as stack:
        for name in STAGES:
            stack.enter_context(mock.patch.object(cycle, name, measured(getattr(cycle, name), name)))
        store = stack.enter_context(SQLiteStore(path))
        for batch in batches:
            cycle.dedupe_and_group(config, store, batch)
    return calls


@contextlib.contextmanager
def copy_of(state: Path) -> Iterator[Path]:
    """A fresh copy of a store to replay on, removed afterwards."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "replay.db"
        shutil.copyfile(state, path)
        yield path


@contextlib.contextmanager
def states(store: Path, chosen: Parts) -> Iterator[dict[str, Path]]:
    """The stores the parts start from, by `Part.state`."""
    with tempfile.TemporaryDirectory() as directory:
        before_last = Path(directory) / "before-last.db"
        shutil.copyfile(store / CLEARED, before_last)
        replay(before_last, chosen.before_last)
        yield {"cleared": store / CLEARED, "before last": before_last}


def per_article(calls: list[Call], cost: Callable[[Call], float]) -> dict[str, float]:
    """Each stage's cost per article over a part's calls, and the two stages' together ("both")."""
    found = {
        name: sum(cost(c) for c in calls if c.stage == name) / sum(c.articles for c in calls if c.stage == name)
        for name in STAGES
    }
    return {**found, "both": sum(found.values())}


def outcome(path: Path) -> str:
    """What a whole replay decided, articles named by their URL's path (the same whatever port served them)."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        paths = {row[0]: "/" + row[1].split("/", 3)[3] for row in db.execute("SELECT id, url FROM articles")}
        folded = db.execute("SELECT id, cluster_id, duplicate_of FROM articles").fetchall()
        reports = db.execute(
            """SELECT s.id, s.speaker, s.text, s.kind, r.article_id, r.text, r.context, r.rule
               FROM statement_reports r JOIN statements s ON s.id = r.statement_id"""
        ).fetchall()
        statements = db.execute("SELECT COUNT(*) FROM statements").fetchone()[0]
    named = sorted((paths[a], paths.get(c, c), paths.get(d, d) if d else "") for a, c, d in folded)
    said = sorted((*row[:4], paths.get(row[4], row[4]), *row[5:]) for row in reports)
    clusters = len({cluster for _, cluster, _ in named})
    duplicates = sum(bool(original) for *_, original in named)
    return (
        f"{duplicates} duplicates, {clusters} clusters (hash {digest(named)}), {statements} statements "
        f"(with their reports, hash {digest(said)})"
    )


def _sizes(batches: list[list[str]]) -> str:
    return "+".join(str(len(batch)) for batch in batches)


def _ratios(chosen: Parts, per_part: dict[str, list[dict[str, float]]], name: str, digits: int) -> str:
    """A stage's cost per article in each part (to `digits`), and the two ratios: last / first (the cycle's figure)
    and last / last alone (the same articles, with and without the cycle's earlier batches in the store)."""
    cost = {part.name: [run[name] for run in per_part[part.name]] for part in chosen}
    first, alone, last = cost["first"], cost["last alone"], cost["last"]

    def quoted(values: list[float], places: int) -> str:  # one count needs no min-max
        return spread(values, places) if len(values) > 1 else f"{values[0]:.{places}f}"

    def ratio(over: list[float]) -> str:
        return quoted([b / a for a, b in zip(over, last, strict=True)], 3)

    return (
        f"first {quoted(first, digits)}, last alone {quoted(alone, digits)}, last {quoted(last, digits)}; "
        f"last / first {ratio(first)}, last / last alone {ratio(alone)}"
    )


def report_cpu(store: Path, chosen: Parts, rounds: int) -> None:
    runs: dict[str, list[list[Call]]] = {part.name: [] for part in chosen}
    decided = set()
    with states(store, chosen) as start:
        with copy_of(start["cleared"]) as path:
            replay(path, chosen.first.batches)  # warm-up: regexes compiled, word hashes and quote words cached
        for _ in range(rounds):
            for part in chosen:
                with copy_of(start[part.state]) as path:
                    runs[part.name].append(replay(path, part.batches))
                    if part is chosen.last:
                        decided.add(outcome(path))
    print(
        f"per article (CPU, us), {rounds} rounds of the three parts in turn; first batch "
        f"({_sizes(chosen.first.batches)} articles), last batches ({_sizes(chosen.last.batches)}):"
    )
    for name in (*STAGES, "both"):
        per_part = {key: [per_article(run, lambda call: call.cost * 1e6) for run in done] for key, done in runs.items()}
        print(f"  {name}: {_ratios(chosen, per_part, name, 0)}")
    kernel = {
        key: [per_article(run, lambda call: call.kernel * 1e6)["both"] for run in done] for key, done in runs.items()
    }
    print("  of it the kernel's (both): " + ", ".join(f"{key} {spread(value, 0)}" for key, value in kernel.items()))
    print(f"  the whole replay decided: {' | '.join(sorted(decided))}")


def counted(work: Callable[[], Any], _call: Call | None = None) -> Any:
    """`work()`, run inside libc's `qsort_r` so that `valgrind --tool=callgrind --toggle-collect=qsort_r` counts its
    instructions and nothing else of the process (start-up, imports, copying the store), and with
    `--dump-after=qsort_r` writes each call's count to a file of its own.

    Sorting two elements calls the comparison once; the comparison is a Python callback that runs `work`. Callgrind
    toggles counting on at `qsort_r`'s entry and off at its exit (an empty `work` counts about 5,000 instructions).
    Nothing that dedupe and statements run calls `qsort_r`, which would toggle the count off inside."""
    results: list[Any] = []
    failures: list[BaseException] = []

    def compare(_a: int, _b: int) -> int:
        if not results and not failures:
            try:
                results.append(work())
            except BaseException as exc:  # noqa: BLE001 - re-raised below: a ctypes callback cannot raise
                failures.append(exc)
        return 0

    items = (ctypes.c_int * 2)()
    callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(compare)
    ctypes.CDLL(None).qsort(items, 2, ctypes.sizeof(ctypes.c_int), callback)
    if failures:
        raise failures[0]
    return results[0]


def count_parts(store: Path, start: dict[str, Path], dumps: Path) -> None:
    """Run under callgrind by `report_instructions`, which has it dump its counts to `dumps`.N: the warm-up round,
    then each part's stages, each call counted; prints one line per call (part, stage, articles, instructions).

    A call's count is in the dump that the marker's exit has just written, the newest: the process's own calls of
    the marker (at start-up, at exit) write dumps too, so the order of the dumps alone does not say which are ours."""
    chosen = parts(json.loads((store / BATCHES).read_text()))
    with copy_of(start["cleared"]) as path:
        replay(path, chosen.first.batches)

    def dumped(work: Callable[[], Any], call: Call) -> Any:
        result = counted(work)
        call.cost = callgrind_total(max(dumps.parent.glob(dumps.name + ".*"), key=lambda dump: int(dump.suffix[1:])))
        return result

    for part in chosen:
        with copy_of(start[part.state]) as path:
            for call in replay(path, part.batches, dumped):
                print(json.dumps([part.name, call.stage, call.articles, call.cost]))


def report_instructions(store: Path, chosen: Parts) -> None:
    """The three parts in one process under callgrind, each stage's run on each batch counted and dumped alone."""
    with states(store, chosen) as start, tempfile.TemporaryDirectory() as directory:
        dumps = Path(directory) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={dumps}",
            f"--toggle-collect={MARKER}",
            f"--dump-after={MARKER}",
            sys.executable,
            "-m",
            "bench.bench_flatness",
            "--store",
            str(store),
            "--count",
            json.dumps({key: str(path) for key, path in start.items()}),
            str(dumps),
        ]
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        assert done.returncode == 0, done.stderr[-3000:]
    calls: dict[str, list[Call]] = {part.name: [] for part in chosen}
    for line in done.stdout.splitlines():
        part, stage, articles, count = json.loads(line)
        calls[part].append(Call(stage, articles, count))
    print(
        f"per article (instructions, M; callgrind, PYTHONHASHSEED=0); first batch ({_sizes(chosen.first.batches)} "
        f"articles), last batches ({_sizes(chosen.last.batches)}):"
    )
    per_part = {key: [per_article(done, lambda call: call.cost / 1e6)] for key, done in calls.items()}
    for name in (*STAGES, "both"):
        print(f"  {name}: {_ratios(chosen, per_part, name, 3)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", type=Path, help="run one bench cycle and keep it in this directory")
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--store", type=Path, help="a directory --build made")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--instructions", action="store_true", help="count each part's instructions under callgrind")
    # The callgrind child: the parts' stores (JSON, by state), and where callgrind dumps.
    parser.add_argument("--count", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build:
        if not DATA.exists():
            print(f"skipped: {DATA} is absent (the real pages live beside the repo on dev and CI machines)")
            return 0
        build(args.build, args.pages)
        return 0
    if args.store is None:
        parser.error("give --build DIR or --store DIR")
    if args.count:
        start, dumps = args.count
        count_parts(args.store, {key: Path(path) for key, path in json.loads(start).items()}, Path(dumps))
        return 0
    chosen = parts(json.loads((args.store / BATCHES).read_text()))
    if args.instructions:
        report_instructions(args.store, chosen)
    else:
        report_cpu(args.store, chosen, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())

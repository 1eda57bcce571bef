"""Analysis throughput: articles per second through `analyze` (entities, topics, quotes), one core, no model.

    python bench/bench_analysis.py [--rounds 5] [--warm 100]

This is the one benchmark that owns the throughput figure (bench_quotes.py
scores accuracy, bench_model_cost.py sets this figure beside a trained model's
cost). Each round builds a fresh pipeline, warms it on `--warm` PolNeAR train
articles, then times the 84 dev articles, each analysed once. Warm, like a
worker that has been running a while, yet no timed article was seen before:
spaCy's tokenizer caches every chunk of text it has split, so timing the same
articles a second time in one pipeline reads fast, and timing the first
articles a pipeline ever sees reads slow (every word is new to its
vocabulary). Both clocks are printed, median with min–max over the rounds:
process CPU time, which a busy machine disturbs least, and wall time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_quotes import POLNEAR, load_split
from pipeline.config import Config
from pipeline.enrich import entities
from pipeline.enrich.analyze import analyze


@dataclass(frozen=True)
class Round:
    """One timed pass over the articles."""

    articles: int
    chars: int
    cpu: float
    wall: float


def timed_round(texts: Sequence[str], warm: Sequence[str], config: Config) -> Round:
    """Analyse `texts` once in a freshly built pipeline that has analysed `warm` first."""
    entities._CACHE.clear()  # get_nlp's cache, cleared by its own name so this runs on older code too
    for text in warm:
        analyze(text, config)
    cpu, wall = time.process_time(), time.perf_counter()
    for text in texts:
        analyze(text, config)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return Round(len(texts), sum(map(len, texts)), cpu, wall)


def spread(values: Sequence[float]) -> str:
    """ "median (min–max)" """
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"


def report(rounds: Sequence[Round]) -> list[str]:
    by_cpu = [r.articles / r.cpu for r in rounds]
    by_wall = [r.articles / r.wall for r in rounds]
    kchars = [r.chars / r.cpu / 1000 for r in rounds]
    return [
        f"analysis throughput, PolNeAR dev ({rounds[0].articles} articles), {len(rounds)} rounds,"
        " entities+topics+quotes, one core, no trained model:",
        f"  by CPU time:  {spread(by_cpu)} articles/s, {spread(kchars)} kchars/s",
        f"  by wall time: {spread(by_wall)} articles/s",
    ]


def timing_texts(warm: int) -> tuple[list[str], list[str]] | None:
    """The PolNeAR dev texts to time and the first `warm` train texts to warm up on; None, having said why,
    when the shared data is absent."""
    if not (POLNEAR / "dev" / "text").is_dir():
        print(f"skipped: PolNeAR not found at {POLNEAR / 'dev'} (the shared data folder is absent)")
        return None
    return [article.text for article in load_split("dev")], [article.text for article in load_split("train")[:warm]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warm", type=int, default=100, help="PolNeAR train articles analysed before each round")
    args = parser.parse_args(argv)
    loaded = timing_texts(args.warm)
    if loaded is None:
        return 0
    texts, warm = loaded
    config = Config()
    rounds = [timed_round(texts, warm, config) for _ in range(args.rounds)]
    print("\n".join(report(rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

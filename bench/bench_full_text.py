"""Statements published in full, on a hand-labelled sample of the KCNA 2012 English service.

`bench/full_text_labels.csv` holds, per sampled story, its URL and the labels only
(never the text): whether its body is one author's statement published in full
(a person, a spokesman, an organ — not a media outlet's report), the author as an
analyst would name it, and the character offset where the statement's own text
begins. The sample: 150 stories drawn with `random.Random(12)` — 60 whose title
holds statement/spokes/answer/remarks, 40 others whose first paragraph holds
statement/the following/answer/spokes, 50 of the rest — plus 30 drawn with
`random.Random(1212)` among stories whose first paragraph holds "the following",
"answered" or "in a statement:". The detector was tuned on this sample: these are
training figures, not held-out ones.

    python -m bench.bench_full_text [--data ../shared/data/kcna2012/stories.jsonl] [--cost]

`--cost` prints what detection adds to analysis on the PolNeAR dev articles (news
reports, the bulk of a real feed): the whole analysis and detection alone, timed
in turn in one process, three rounds, medians.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from pipeline.config import Config
from pipeline.enrich.analyze import analyze
from pipeline.enrich.full_text import detect

HERE = Path(__file__).resolve().parent
LABELS = HERE / "full_text_labels.csv"
DATA = HERE.parent.parent / "shared" / "data" / "kcna2012" / "stories.jsonl"
POLNEAR_DEV = HERE.parent.parent / "shared" / "data" / "polnear" / "dev" / "text"
_CONNECTORS = {"the", "of", "for", "a", "an", "and", "on", "in"}


def speaker_key(name: str) -> frozenset[str]:
    """An author's words, order and connectors aside: "Foreign Ministry of the DPRK" = "DPRK Foreign Ministry"."""
    words = re.findall(r"[\w'’.-]+", name.lower())
    return frozenset(word.strip(".") for word in words if word not in _CONNECTORS)


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def cost(config: Config) -> None:
    """Analysis with its detection, and detection alone, over the same articles, in turn."""
    texts = [path.read_text(encoding="utf-8") for path in sorted(POLNEAR_DEV.glob("*.txt"))]
    analyze("Warm-up: the pipeline is built once per config.", config)
    whole: list[float] = []
    alone: list[float] = []
    for _ in range(3):
        began = time.perf_counter()
        for text in texts:
            analyze(text, config)
        whole.append(time.perf_counter() - began)
        began = time.perf_counter()
        for text in texts:
            detect("", text)
        alone.append(time.perf_counter() - began)
    whole_s, alone_s = statistics.median(whole), statistics.median(alone)
    print(
        f"PolNeAR dev, {len(texts)} articles: analysis {len(texts) / whole_s:.1f} articles/s "
        f"({len(texts) / max(whole):.1f}–{len(texts) / min(whole):.1f}); detection alone "
        f"{len(texts) / alone_s:,.0f} articles/s, {alone_s / whole_s:.1%} of the analysis time"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cost", action="store_true", help="what detection adds to analysis on PolNeAR dev")
    args = parser.parse_args()
    if args.cost:
        if not POLNEAR_DEV.exists():
            print(f"{POLNEAR_DEV} is absent: PolNeAR lives beside the repository only on dev machines")
            return 0
        cost(Config())
        return 0
    if not args.data.exists():
        print(f"{args.data} is absent: the kcna2012 set lives beside the repository only on dev machines")
        return 0
    rows = [json.loads(line) for line in args.data.open(encoding="utf-8")]
    stories = {row["url"]: row for row in rows}
    labels = list(csv.DictReader(LABELS.open(encoding="utf-8")))
    config = Config()
    gold = predicted = found = right_speaker = right_start = near_start = 0
    rules: Counter[str] = Counter()
    misses: list[str] = []
    analyze("Warm-up: the pipeline is built once per config.", config)
    analysing = 0.0
    for label in labels:
        story = stories[label["url"]]
        text = story["text"] if story["text"] and story["text"] != "<NA>" else ""
        began = time.perf_counter()
        quotes = [q for q in analyze(text, config, story["title"]).quotes if q.kind == "full_text"]
        analysing += time.perf_counter() - began
        is_gold = label["statement"] == "1"
        gold += is_gold
        predicted += bool(quotes)
        if quotes:
            fired = detect(story["title"], text)
            rules[fired.rule if fired else "?"] += 1
        if not (is_gold and quotes):
            if is_gold != bool(quotes):
                misses.append(f"{'missed' if is_gold else 'false'}: {story['title'][:80]}")
            continue
        found += 1
        quote = quotes[0]
        if speaker_key(quote.speaker or "") == speaker_key(label["speaker"]):
            right_speaker += 1
        else:
            misses.append(f"speaker: {quote.speaker!r} for {label['speaker']!r}")
        start = int(label["text_start"])
        right_start += quote.start == start
        near_start += abs(quote.start - start) <= 3
        if quote.start != start:
            misses.append(f"start: {quote.start} for {start} in {story['title'][:60]}")
    began = time.perf_counter()
    every = [detect(row["title"], row["text"] if row["text"] != "<NA>" else "") for row in rows]
    elapsed = time.perf_counter() - began
    print(f"kcna2012 sample: {len(labels)} stories labelled by hand, {gold} statements published in full")
    print(
        f"statement  P {ratio(found, predicted):.3f}  R {ratio(found, gold):.3f}  ({found} right of {predicted} found)"
    )
    print(
        f"+ speaker  P {ratio(right_speaker, predicted):.3f}  R {ratio(right_speaker, gold):.3f}  "
        f"(speaker right on {right_speaker} of {found} found)"
    )
    print(
        f"+ start    P {ratio(right_start, predicted):.3f}  R {ratio(right_start, gold):.3f}  "
        f"(exact on {right_start} of {found}; within 3 characters {near_start})"
    )
    print("rules fired:", ", ".join(f"{rule} {count}" for rule, count in rules.most_common()))
    print(
        f"whole year: {sum(found is not None for found in every)} of {len(rows)} stories are statements in full; "
        f"detection alone {len(rows) / elapsed:,.0f} stories/s (one process, shared machine)"
    )
    print(f"whole analysis (entities, topics, quotes, full text), the sample: {len(labels) / analysing:.1f} stories/s")
    for miss in misses:
        print("  " + miss)
    return 0


if __name__ == "__main__":
    sys.exit(main())

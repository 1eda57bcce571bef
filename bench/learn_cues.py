"""Derive pipeline/enrich/lexicon/learned_cues.tsv from PolNeAR train (and only train).

    python bench/learn_cues.py [--min-heads N] [--min-share S] [--min-right R] [--min-predicted P]

The file lists the words that `learned_cue_object` (pipeline/enrich/quotes/reported.py) reads as an
attribution's cue. Two steps, both on ../shared/data/polnear/train, the first annotator's file of each article
(as bench_quotes.py scores):

1. **What the annotators mark.** Every annotated Cue's head word: its first word that is not an auxiliary or
   adverb (`NOT_HEADS`: "has said" → "said", "also praised" → "praised"), lowercased. For each word, how often it
   is a cue's head (`heads`) against how often it occurs anywhere in the train texts (`occurrences`). A word is a
   candidate when it heads at least `--min-heads` cues and is a cue's head in at least `--min-share` of its
   occurrences, and no other rule already reads it (the reported and complement verbs, the claim nouns,
   "according"); the families earlier rounds tried and rejected for GGT's sake are left out too (`REJECTED`).
2. **What the rule makes of them.** The rule runs on train with every candidate, and each of its predictions is
   scored as bench_quotes.py scores all attributions (right when at least half of it lies in one gold Content).
   A candidate is kept when the rule's predictions with it as the cue were right at least `--min-right` of the
   time, over at least `--min-predicted` predictions.

The file is rewritten with every candidate (kept or not) and its counts, so what was left out and why stays
readable. PolNeAR dev and GGT are never read here: they are the figures that check the result.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_quotes import POLNEAR, Article, load_split

LEXICON = Path(__file__).resolve().parents[1] / "pipeline" / "enrich" / "lexicon" / "learned_cues.tsv"
WORD = re.compile(r"[A-Za-z]+(?:['’][a-z]+)?")
# Words a Cue span opens with that are not its head: auxiliaries, negation, adverbs of time ("has also said").
NOT_HEADS = frozenset(
    re.findall(
        r"\S+",
        "has have had is are was were be been being also not n't will would could should can may might did does do"
        " to just then still already never even later",
    )
)
# Families earlier rounds of issue 12 tried and rejected because GGT's annotators do not count them (README,
# "Reported speech and all attributions"): beliefs and knowledge, and "feel" (wrong as often as right on train).
REJECTED = frozenset(
    re.findall(
        r"\S+",
        "think thinks thought thinking believe believes believed believing fear fears feared fearing know knows knew"
        " known knowing understand understands understood learn learns learned rule rules ruled feel feels felt"
        " feeling",
    )
)
RULE = "learned_cue_object"
HEADER = """\
# Cue words learned from PolNeAR train, read by reported speech's `learned_cue_object`
# (pipeline/enrich/quotes/reported.py): a verb the annotators mark as an attribution's cue most times it occurs,
# whose content is its object ("criticized the trade deal", "citing the new figures").
# DERIVED, NOT HAND-WRITTEN: rewritten by `python bench/learn_cues.py {args}` from ../shared/data/polnear/train
# only (the first annotator's file of each of its 840 articles); PolNeAR dev and GGT dev were not read.
# Step 1: each annotated Cue's head word (its first word that is not an auxiliary or adverb); a candidate heads
#   at least {min_heads} cues and is a head in at least {min_share:.0%} of its occurrences in the train texts, and no
#   other rule reads it (reported and complement verbs, claim nouns); beliefs (think, believe, know, fear, feel …)
#   are left out, as earlier rounds rejected them for GGT.
# Step 2: the rule runs on train with every candidate; a word is kept when the rule's predictions with it as the
#   cue were right (half in a gold Content) at least {min_right:.0%} of the time, over at least {min_predicted}.
# Columns (tab-separated): word, heads (times a cue's head in train), occurrences (in the train texts),
#   share (heads / occurrences), right, predicted (the rule's predictions on train with the word as the cue and how
#   many were right), kept ("yes" when the rule reads it).
"""


def cue_heads(article: Article, annotations: Path) -> set[int]:
    """Where each annotated Cue's head word starts in the article's text."""
    heads: set[int] = set()
    for line in annotations.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].startswith("T") or not parts[1].startswith("Cue "):
            continue
        start, end = (int(n) for n in parts[1][4:].split(";")[0].split())
        head = next((m for m in WORD.finditer(article.text, start, end) if m.group().lower() not in NOT_HEADS), None)
        if head is not None:
            heads.add(head.start())
    return heads


def count_heads(articles: list[Article]) -> tuple[Counter[str], Counter[str]]:
    """Per word, how often it heads a Cue and how often it occurs, over the train articles."""
    heads: Counter[str] = Counter()
    occurrences: Counter[str] = Counter()
    base = POLNEAR / "train" / "attributions"
    for article in articles:
        starts = cue_heads(article, sorted(base.glob(f"{article.name}_*.ann"))[0])
        for m in WORD.finditer(article.text):
            word = m.group().lower()
            occurrences[word] += 1
            heads[word] += m.start() in starts
    return heads, occurrences


def read_elsewhere() -> frozenset[str]:
    """Words another reported-speech rule already reads."""
    from pipeline.enrich.quotes import reported

    return (
        frozenset(reported.REPORTED_VERBS)
        | frozenset(reported.COMPLEMENT_VERBS)
        | frozenset(reported.CLAIM_NOUNS)
        | {"according"}
    )


def write(rows: list[tuple[str, int, int, int, int, bool]], args: argparse.Namespace) -> None:
    shown = " ".join(
        f"--{name.replace('_', '-')} {getattr(args, name)}"
        for name in ("min_heads", "min_share", "min_right", "min_predicted")
    )
    lines = [HEADER.format(args=shown, **vars(args))]
    for word, heads, occurrences, right, predicted, kept in rows:
        share = f"{heads / occurrences:.2f}"
        lines.append("\t".join((word, str(heads), str(occurrences), share, str(right), str(predicted))))
        lines.append(f"\t{'yes' if kept else 'no'}\n")
    LEXICON.write_text("".join(lines), encoding="utf-8")


def rule_counts(articles: list[Article]) -> dict[str, tuple[int, int]]:
    """Per cue word, how many of the rule's predictions on train were right, and how many it made."""
    from bench.bench_quotes import _inside
    from pipeline.config import Config
    from pipeline.enrich.analyze import analyze

    right: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    config = Config()
    for article in articles:
        for quote in analyze(article.text, config).quotes:
            if quote.rule != RULE or quote.cue is None:
                continue
            word = quote.cue.lower()
            predicted[word] += 1
            span = (quote.start, quote.end)
            right[word] += any(_inside(span, c) * 2 >= max(1, quote.end - quote.start) for c in article.contents)
    return {word: (right[word], n) for word, n in predicted.items()}


def counts_in_child() -> dict[str, tuple[int, int]]:
    """`rule_counts` in a fresh process: the rules read the lexicon once, when imported, and this one has read
    the file before step 1 rewrote it."""
    child = subprocess.run(
        [sys.executable, __file__, "--count-rule"], check=True, capture_output=True, text=True, encoding="utf-8"
    )
    return {word: (right, n) for word, (right, n) in json.loads(child.stdout).items()}


def _kept(counts: tuple[int, int], args: argparse.Namespace) -> bool:
    right, predicted = counts
    return bool(predicted >= args.min_predicted and right >= args.min_right * predicted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-heads", type=int, default=5)
    parser.add_argument("--min-share", type=float, default=0.5)
    parser.add_argument("--min-right", type=float, default=0.7)
    parser.add_argument("--min-predicted", type=int, default=3)
    parser.add_argument("--count-rule", action="store_true", help="step 2 only: print the rule's counts as JSON")
    args = parser.parse_args(argv)
    if args.count_rule:
        print(json.dumps(rule_counts(load_split("train"))))
        return 0
    if not (POLNEAR / "train" / "text").is_dir():
        print(f"skipped: PolNeAR train not found at {POLNEAR / 'train'}")
        return 1
    articles = load_split("train")
    heads, occurrences = count_heads(articles)
    elsewhere = read_elsewhere()
    candidates = sorted(
        (word for word, n in heads.items() if n >= args.min_heads and n >= args.min_share * occurrences[word]),
        key=lambda word: (-heads[word], word),
    )
    candidates = [word for word in candidates if word not in elsewhere and word not in REJECTED and word.isalpha()]
    write([(word, heads[word], occurrences[word], 0, 0, True) for word in candidates], args)
    counts = counts_in_child()
    rows = [
        (
            word,
            heads[word],
            occurrences[word],
            *counts.get(word, (0, 0)),
            _kept(counts.get(word, (0, 0)), args),
        )
        for word in candidates
    ]
    write(rows, args)
    kept = [row for row in rows if row[5]]
    print(
        f"{len(candidates)} candidates, {len(kept)} kept; the rule on train with every candidate:"
        f" {sum(r for r, _ in counts.values())}/{sum(n for _, n in counts.values())} right; with the kept ones:"
        f" {sum(r[3] for r in kept)}/{sum(r[4] for r in kept)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

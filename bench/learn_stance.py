"""Train pipeline/enrich/lexicon/stance_model.tsv on PolNeAR train (and only train).

    python bench/learn_stance.py [--min-heads N] [--min-share S] [--l2 L] [--epochs E] [--folds K] [--saying]

The file is the linear model that `learned_cue_object` (pipeline/enrich/quotes/reported.py) scores its
candidates with: "Sanders endorsed Clinton", "He declined to comment", "Polls show Trump ahead" — a cue word, its
subject the source and its object the content, of kind "stance" (with `--saying`, as the model in the repository is
made, the curated words of saying are tried too, never before a clause: their rules read clauses). Three steps,
all on ../shared/data/polnear/train, the first annotator's file of each article (as bench_quotes.py scores):

1. **Which words are tried.** Every annotated Cue's head word: its first word that is not an auxiliary or adverb
   (`NOT_HEADS`: "has said" → "said", "also praised" → "praised"), lowercased. A word is tried when it heads at
   least `--min-heads` cues and is a cue's head in at least `--min-share` of its occurrences in the train texts,
   and, without `--saying`, no curated list of verbs and nouns of saying reads it (reported and complement verbs,
   claim nouns, "according"). With it those are tried too; `learned_cue_object` skips a clause after a reported
   verb (reported speech, the rules' `indirect`), so they are tried before noun phrases only.
2. **The candidates.** The analysis runs on train with every tried word and a model that keeps every candidate;
   each candidate's features (`reported.stance_features`) are recorded with its label: right when at least half
   of its content lies in one gold Content (bench_quotes.py's rule), and new when that Content is one no other
   attribution of the article finds.
3. **The model.** An L2-regularised logistic regression of "right" on the features, fitted by plain gradient
   descent in this script (a few thousand candidates; no library needed at run time either: the analysis sums
   the weights). The threshold is the one that maximises PolNeAR train's all-attribution F1, estimated from
   `--folds`-fold cross-validated scores (articles split by index), so the words' own weights do not choose it;
   it is folded into the "bias" row so that the analysis keeps a candidate scoring above 0.

PolNeAR dev and GGT are never read here: they are the figures that check the result.
"""

from __future__ import annotations

import argparse
import datetime
import math
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_quotes import POLNEAR, Article, Content, _inside, load_split

MODEL = Path(__file__).resolve().parents[1] / "pipeline" / "enrich" / "lexicon" / "stance_model.tsv"
WORD = re.compile(r"[A-Za-z]+(?:['’][a-z]+)?")
# Words a Cue span opens with that are not its head: auxiliaries, negation, adverbs of time ("has also said").
NOT_HEADS = frozenset(
    re.findall(
        r"\S+",
        "has have had is are was were be been being also not n't will would could should can may might did does do"
        " to just then still already never even later",
    )
)
RULE = "learned_cue_object"
HEADER = """\
# The linear model reported speech's `learned_cue_object` scores its candidates with
# (pipeline/enrich/quotes/reported.py): a cue word (an attitude or act, or a curated word of saying before a noun
# phrase, never a clause), its subject the source, its object the content, kept when the weights of its features add
# up above 0; what it finds is of kind "stance".
# DERIVED, NOT HAND-WRITTEN: written by `python bench/learn_stance.py {args}` on {date} from
# ../shared/data/polnear/train only (the first annotator's file of each of its {articles} articles); PolNeAR dev
# and GGT dev were not read.
# Words tried: annotated Cue head words heading at least {min_heads} cues and a head in at least {min_share:.0%} of
#   their occurrences in the train texts, {saying} ({words} words, the "w=" rows).
# Model: logistic regression of "right" (half of the content inside a gold Content) on the features named by
#   `stance_features`, L2 {l2}, {epochs} epochs of gradient descent, over {candidates} train candidates
#   ({right} right). Threshold: the probability {threshold:.2f}, which maximised train all-attribution F1 over
#   {folds}-fold cross-validated scores (estimated F1 {estimate:.3f}); it is folded into the "bias" row.
# Columns (tab-separated): feature, weight.
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


def tried_words(articles: list[Article], min_heads: int, min_share: float, saying_too: bool = False) -> list[str]:
    """Step 1: the cue head words the model is tried on; with `saying_too`, the curated words of saying as well
    (in the shapes their own rules leave: "announced his resignation", "said so")."""
    from pipeline.enrich.quotes import reported

    heads: Counter[str] = Counter()
    occurrences: Counter[str] = Counter()
    base = POLNEAR / "train" / "attributions"
    for article in articles:
        starts = cue_heads(article, sorted(base.glob(f"{article.name}_*.ann"))[0])
        for m in WORD.finditer(article.text):
            word = m.group().lower()
            occurrences[word] += 1
            heads[word] += m.start() in starts
    saying = (
        frozenset(reported.REPORTED_VERBS)
        | frozenset(reported.COMPLEMENT_VERBS)
        | frozenset(reported.CLAIM_NOUNS)
        | {"according"}
    )
    return sorted(
        word
        for word, n in heads.items()
        if n >= min_heads
        and n >= min_share * occurrences[word]
        and (saying_too or word not in saying)
        and word.isalpha()
    )


@dataclass
class Candidate:
    article: int
    features: list[str]
    right: bool
    new: bool
    # which gold Content it lies in (its article, its index there), or None: several candidates may find one Content
    content: tuple[int, int] | None = None


def collect(articles: list[Article], words: list[str]) -> tuple[list[Candidate], int, int, int]:
    """Step 2: every candidate on train with its features and labels; and the other attributions' predictions,
    right ones and Contents found (what the F1 estimate adds the model's to)."""
    from pipeline.config import Config
    from pipeline.enrich.analyze import analyze
    from pipeline.enrich.quotes import reported

    seen: list[tuple[list[str], tuple[int, int]]] = []
    features_of = reported.stance_features

    def recording(sent: Any, c: int, a: int, end: int, subject: Any, how: str = "") -> list[str]:
        features = features_of(sent, c, a, end, subject, how)
        span = reported._content(sent, a, end, reported.MIN_LEARNED_WORDS)
        if span is not None:
            seen.append((features, span))
        return features

    # every tried word is a cue, and every candidate is kept, while the candidates are collected
    reported.STANCE_WEIGHTS = {"bias": 1.0, **{f"w={word}": 0.0 for word in words}}
    reported.LEARNED_CUES = frozenset(words)
    reported._MAY_REPORT = reported._MAY_REPORT | reported.LEARNED_CUES
    reported.stance_features = recording
    config = Config()
    candidates: list[Candidate] = []
    predicted = right = found = 0
    for n, article in enumerate(articles):
        seen.clear()
        quotes = analyze(article.text, config).quotes
        others = [(q.start, q.end) for q in quotes if q.rule != RULE]
        predicted += len(others)
        right += sum(1 for span in others if _lies_in(span, article.contents) is not None)
        found_here = {id(c) for c in article.contents if _found(c, others)}
        found += len(found_here)
        for features, span in seen:
            content = _lies_in(span, article.contents)
            key = (n, article.contents.index(content)) if content is not None else None
            candidates.append(
                Candidate(n, features, content is not None, content is not None and id(content) not in found_here, key)
            )
    return candidates, predicted, right, found


def _lies_in(span: tuple[int, int], contents: Sequence[Content]) -> Content | None:
    best = max(contents, key=lambda c: _inside(span, c), default=None)
    return best if best is not None and _inside(span, best) * 2 >= max(1, span[1] - span[0]) else None


def _found(content: Content, spans: Sequence[tuple[int, int]]) -> bool:
    return any(
        _inside(span, content) * 2 >= content.length or _inside(span, content) * 2 >= max(1, span[1] - span[0])
        for span in spans
    )


def fit(candidates: Sequence[Candidate], l2: float, epochs: int) -> dict[str, float]:
    """Logistic regression by full-batch gradient descent with AdaGrad steps; weight 0 for features never seen."""
    weights: defaultdict[str, float] = defaultdict(float)
    squares: defaultdict[str, float] = defaultdict(float)
    for _ in range(epochs):
        gradient: defaultdict[str, float] = defaultdict(float)
        for cand in candidates:
            error = _probability(weights, cand.features) - cand.right
            for feature in ("bias", *cand.features):
                gradient[feature] += error
        for feature, g in gradient.items():
            g = g / len(candidates) + (l2 * weights[feature] if feature != "bias" else 0.0)
            squares[feature] += g * g
            weights[feature] -= 0.5 * g / math.sqrt(squares[feature] + 1e-12)
    return dict(weights)


def _probability(weights: dict[str, float], features: Sequence[str]) -> float:
    z = weights.get("bias", 0.0) + sum(weights.get(f, 0.0) for f in features)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def cross_validated(candidates: list[Candidate], args: argparse.Namespace) -> list[float]:
    """Each candidate's probability from a model fitted without its article's fold."""
    scores = [0.0] * len(candidates)
    for fold in range(args.folds):
        model = fit([c for c in candidates if c.article % args.folds != fold], args.l2, args.epochs)
        for n, cand in enumerate(candidates):
            if cand.article % args.folds == fold:
                scores[n] = _probability(model, cand.features)
    return scores


def best_threshold(
    candidates: list[Candidate], scores: list[float], base: tuple[int, int, int], gold: int
) -> tuple[float, float]:
    """The probability threshold that maximises the estimated train all-attribution F1, and that estimate."""
    predicted, right, found = base
    best = (1.0, _f1(right, predicted, found, gold))
    for threshold in [n / 100 for n in range(5, 96)]:
        kept = [c for c, s in zip(candidates, scores, strict=True) if s >= threshold]
        new = {c.content for c in kept if c.new}  # a Content two kept candidates find is found once
        estimate = _f1(right + sum(c.right for c in kept), predicted + len(kept), found + len(new), gold)
        if estimate > best[1]:
            best = (threshold, estimate)
    return best


def _f1(right: int, predicted: int, found: int, gold: int) -> float:
    precision, recall = right / max(1, predicted), found / max(1, gold)
    return 2 * precision * recall / max(1e-9, precision + recall)


def write(weights: dict[str, float], threshold: float, facts: dict[str, Any]) -> None:
    weights = dict(weights)
    weights["bias"] = weights.get("bias", 0.0) - math.log(threshold / (1 - threshold))
    lines = [HEADER.format(threshold=threshold, **facts)]
    for feature in sorted(weights, key=lambda f: (f != "bias", f)):
        if feature == "bias" or feature.startswith("w=") or abs(weights[feature]) >= 0.005:
            lines.append(f"{feature}\t{weights[feature]:.4f}\n")
    MODEL.write_text("".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-heads", type=int, default=3)
    parser.add_argument("--min-share", type=float, default=0.05)
    parser.add_argument("--l2", type=float, default=0.001)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--saying", action="store_true", help="also try the curated words of saying, in the shapes their rules leave"
    )
    args = parser.parse_args(argv)
    if not (POLNEAR / "train" / "text").is_dir():
        print(f"skipped: PolNeAR train not found at {POLNEAR / 'train'}")
        return 1
    articles = load_split("train")
    words = tried_words(articles, args.min_heads, args.min_share, args.saying)
    candidates, *base = collect(articles, words)
    gold = sum(len(a.contents) for a in articles)
    threshold, estimate = best_threshold(
        candidates, cross_validated(candidates, args), (base[0], base[1], base[2]), gold
    )
    weights = fit(candidates, args.l2, args.epochs)
    for word in words:
        weights.setdefault(f"w={word}", 0.0)
    weights.setdefault("w=*", 0.0)
    shown = " ".join(
        f"--{name}" if value is True else f"--{name.replace('_', '-')} {value}"
        for name, value in sorted(vars(args).items())
        if value is not False
    )
    facts = {
        "args": shown,
        "date": datetime.date.today().isoformat(),
        "articles": len(articles),
        "words": len(words),
        "candidates": len(candidates),
        "right": sum(c.right for c in candidates),
        "estimate": estimate,
        **vars(args),
        "saying": "the curated words of saying among them" if args.saying else "read by no curated list of saying",
    }
    write(weights, threshold, facts)
    print(
        f"{len(words)} words, {len(candidates)} candidates ({facts['right']} right); threshold {threshold:.2f},"
        f" estimated train F1 {estimate:.3f} (without the rule {_f1(base[1], base[0], base[2], gold):.3f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Quotation and speaker figures on the Gender Gap Tracker's annotated set (dev half).

    python bench/bench_ggt.py [--errors] [--limit N]

The set (``../shared/data/ggt/dev.jsonl``, see its README) annotates every
quotation, direct and indirect, with its span, the speaker mention and the full
name the mention stands for (``reference``). It is Canadian news from seven
outlets that wirewatch's rules were not grown on, so it checks that they hold.

Two figures, each printed with its counts:

* **Direct quotes.** Gold: the quotations marked ``direct``. Predictions: the
  attributions whose ``kind`` is "direct" (every attribution, for code that has
  no kinds yet). Matched with the tracker's rule below. A predicted direct
  quote that is not matched but lies at least half inside an *indirect* gold
  quotation is ignored, neither right nor wrong: the annotators counted a
  quoted fragment inside reported speech ("she called it "life-changing"") as
  part of the indirect quotation, the same convention as bench_quotes.py's
  paraphrase Contents.
* **All quotations** (direct and indirect), with the tracker's own metric: a gold
  quotation is found when one prediction covers more than 30% of its
  characters; predictions and gold are matched one to one (largest overlap
  first), so precision = matched predictions / predictions and recall =
  matched gold / gold. A direct quote lying wholly inside a predicted
  indirect attribution ("she said the plan was “a disaster”": wirewatch
  reports the clause and, as a direct quote, its quoted words) is part of that
  one quotation, as the annotators count it, not a second prediction; how
  many were folded so is printed. Attributions of kind "stance" (an attitude or
  act that is no speech: "endorsed X", "declined to comment") are left out:
  GGT annotates quotations only. The same figure with them counted is printed
  after it, to show what they cost GGT.

Speaker accuracy is over matched pairs and judged on the full name: the
predicted canonical speaker must equal the gold ``reference`` after folding
(Unicode NFKC, case, curly apostrophes to straight, every run of whitespace to
one space, surrounding punctuation and a leading "the", "a" or "an" dropped). "Trudeau" for
"Justin Trudeau" is wrong; so is a pronoun. A gold quotation whose ``reference``
is empty (the speaker is not in the text) is right only when no speaker is
predicted. Three gold quotations that the set could not locate (``start`` null)
cannot be matched and are left out of the gold counts, and so is the second
copy of a quotation annotated twice (same span, kind and reference: one
article's 27 quotations appear twice, which one-to-one matching could never
find); both counts are printed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scoring import f1, ratio
from pipeline.config import Config
from pipeline.enrich.analyze import analyze
from pipeline.records import Quote

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
GGT = DATA / "ggt" / "dev.jsonl"
COVER = 0.3

Span = tuple[int, int]


@dataclass(frozen=True)
class GoldQuote:
    span: Span
    direct: bool
    mention: str
    mention_span: Span | None
    reference: str


@dataclass
class Article:
    id: str
    outlet: str
    text: str
    quotes: list[GoldQuote]
    unlocated: int = 0
    repeated: int = 0


@dataclass
class Score:
    """Counts for one figure; ratios are derived so the counts can be printed beside them."""

    predicted: int = 0
    ignored: int = 0
    gold: int = 0
    matched: int = 0
    speaker_right: int = 0
    nested: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return ratio(self.matched, self.predicted - self.ignored)

    @property
    def recall(self) -> float:
        return ratio(self.matched, self.gold)

    @property
    def f1(self) -> float:
        return f1(self.precision, self.recall)

    @property
    def speaker_accuracy(self) -> float:
        return ratio(self.speaker_right, self.matched)


def load(path: Path = GGT) -> list[Article]:
    articles = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        article = Article(row["id"], row["outlet"], row["text"], [])
        seen: set[tuple[Span, bool, str]] = set()
        for q in row["quotes"]:
            if q["start"] is None or q["end"] is None:
                article.unlocated += 1
                continue
            key = ((q["start"], q["end"]), bool(q["direct"]), q["reference"] or "")
            if key in seen:
                article.repeated += 1
                continue
            seen.add(key)
            mention_span = (q["speaker_start"], q["speaker_end"]) if q["speaker_start"] is not None else None
            article.quotes.append(GoldQuote(key[0], key[1], q["speaker"] or "", mention_span, key[2]))
        articles.append(article)
    return articles


_FOLD_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'"})


def fold_name(name: str | None) -> str:
    """The form two names are compared in: case, whitespace, apostrophes, a leading article folded."""
    if not name:
        return ""
    folded = unicodedata.normalize("NFKC", name).translate(_FOLD_QUOTES).casefold()
    folded = " ".join(folded.split()).strip(" .,;:'\"")
    return re.sub(r"^(?:the|an|a) ", "", folded)


def same_speaker(predicted: str | None, reference: str) -> bool:
    return fold_name(predicted) == fold_name(reference)


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def match(gold: Sequence[Span], predicted: Sequence[Span], cover: float = COVER) -> list[tuple[int, int]]:
    """One-to-one pairs (gold index, prediction index), largest overlap first.

    A pair is allowed when the prediction covers more than `cover` of the gold span.
    """
    pairs = []
    for g, gspan in enumerate(gold):
        length = max(1, gspan[1] - gspan[0])
        for p, pspan in enumerate(predicted):
            shared = _overlap(gspan, pspan)
            if shared > cover * length:
                pairs.append((shared, g, p))
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    used_gold: set[int] = set()
    used_pred: set[int] = set()
    out = []
    for _, g, p in pairs:
        if g not in used_gold and p not in used_pred:
            used_gold.add(g)
            used_pred.add(p)
            out.append((g, p))
    return sorted(out)


def kind_of(quote: Quote) -> str:
    """'direct' for code that predates attribution kinds."""
    return str(getattr(quote, "kind", "direct") or "direct")


def _said(article: Article, quote: Quote) -> str:
    if quote.speaker_start is None or quote.speaker_end is None:
        return "-"
    return repr(article.text[quote.speaker_start : quote.speaker_end])


def _rule(quote: Quote) -> str:
    return str(getattr(quote, "rule", None) or "-")


def _inside(span: Span, spans: Iterable[Span]) -> bool:
    """At least half of `span` lies in one of `spans`."""
    return any(_overlap(span, other) * 2 >= max(1, span[1] - span[0]) for other in spans)


def score_figure(
    result: Score,
    article: Article,
    gold: Sequence[GoldQuote],
    predicted: Sequence[Quote],
    label: str,
    excused: Sequence[Span] = (),
) -> None:
    result.gold += len(gold)
    result.predicted += len(predicted)
    pairs = match([g.span for g in gold], [(q.start, q.end) for q in predicted])
    matched_gold = {g for g, _ in pairs}
    matched_pred = {p for _, p in pairs}
    for g, p in pairs:
        result.matched += 1
        quote, want = predicted[p], gold[g]
        if same_speaker(quote.speaker, want.reference):
            result.speaker_right += 1
        else:
            result.errors.append(
                f"{label} SPKR {article.id} [{kind_of(quote)}/{_rule(quote)}] {quote.text[:70]!r}"
                f" -> {quote.speaker!r} (mention {_said(article, quote)})"
                f" gold {want.reference!r} (mention {want.mention!r})"
            )
    for g, want in enumerate(gold):
        if g not in matched_gold:
            text = article.text[want.span[0] : want.span[1]]
            result.errors.append(
                f"{label} MISS {article.id} [{'direct' if want.direct else 'indirect'}] {text[:90]!r}"
                f" gold {want.reference!r}"
            )
    for p, quote in enumerate(predicted):
        if p not in matched_pred and _inside((quote.start, quote.end), excused):
            result.ignored += 1
        elif p not in matched_pred:
            result.errors.append(
                f"{label} FP   {article.id} [{kind_of(quote)}/{_rule(quote)}] {quote.text[:90]!r} -> {quote.speaker!r}"
            )


@dataclass
class Run:
    direct: Score = field(default_factory=Score)
    every: Score = field(default_factory=Score)
    with_stance: Score = field(default_factory=Score)
    articles: int = 0
    unlocated: int = 0
    repeated: int = 0


def score(articles: Iterable[Article], config: Config) -> Run:
    run = Run()
    for article in articles:
        quotes = analyze(article.text, config).quotes
        run.articles += 1
        run.unlocated += article.unlocated
        run.repeated += article.repeated
        direct_gold = [g for g in article.quotes if g.direct]
        direct_pred = [q for q in quotes if kind_of(q) == "direct"]
        indirect = [g.span for g in article.quotes if not g.direct]
        score_figure(run.direct, article, direct_gold, direct_pred, "direct", indirect)
        score_quotations(run.every, article, [q for q in quotes if kind_of(q) != "stance"], "all")
        score_quotations(run.with_stance, article, quotes, "stance+")
    return run


def score_quotations(result: Score, article: Article, predicted: Sequence[Quote], label: str) -> None:
    """An all-quotation figure: the direct quotes inside a predicted indirect attribution folded into it (counted
    as `nested`), the rest scored against every gold quotation."""
    outermost = _outermost(predicted)
    result.nested += len(predicted) - len(outermost)
    score_figure(result, article, article.quotes, outermost, label)


def _outermost(quotes: Sequence[Quote]) -> list[Quote]:
    """The attributions without the direct quotes that lie wholly inside an indirect one (or a stance)."""
    around = [(q.start, q.end) for q in quotes if kind_of(q) in {"indirect", "stance"}]
    return [q for q in quotes if kind_of(q) != "direct" or not any(s <= q.start and q.end <= e for s, e in around)]


def _report(name: str, result: Score) -> list[str]:
    ignored = f" ({result.ignored} inside indirect quotations, not scored)" if result.ignored else ""
    if result.nested:
        ignored += f" (+{result.nested} direct quotes inside a predicted indirect one, counted as part of it)"
    return [
        f"{name}: {result.gold} gold, {result.predicted} predicted{ignored}, {result.matched} matched",
        f"  precision {result.precision:.3f} ({result.matched}/{result.predicted - result.ignored})"
        f"  recall {result.recall:.3f} ({result.matched}/{result.gold})  F1 {result.f1:.3f}",
        f"  speaker accuracy on the full name {result.speaker_accuracy:.3f}"
        f" ({result.speaker_right}/{result.matched} matched)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="print every miss, false positive and wrong speaker")
    parser.add_argument("--limit", type=int, default=0, help="only the first N articles")
    args = parser.parse_args(argv)
    if not GGT.is_file():
        print(f"skipped: the GGT set is not at {GGT} (the shared data folder is absent)")
        return 0
    articles = load()
    if args.limit:
        articles = articles[: args.limit]
    config = Config()
    analyze("Warm-up: the pipeline is built once per config.", config)
    run = score(articles, config)
    if args.errors:
        for line in run.direct.errors + run.every.errors + run.with_stance.errors:
            print(line)
    print(
        f"GGT dev: {run.articles} articles ({run.unlocated} gold quotations without offsets"
        f" and {run.repeated} annotated twice left out)"
    )
    print("\n".join(_report("direct quotes", run.direct)))
    every = "all quotations (direct + indirect + full text), tracker metric: >30% cover, one-to-one"
    print("\n".join(_report(every, run.every)))
    print("\n".join(_report("the same with stance attributions counted too (what stance costs GGT)", run.with_stance)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

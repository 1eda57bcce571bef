"""Quotation and speaker figures on PolNeAR (the throughput figure is bench_analysis.py's).

    python bench/bench_quotes.py [--split dev|train] [--show]

Two figures: direct quotes (below), and all attributions, direct and reported.

Scoring direct quotes, and why:

* Gold quotes are the PolNeAR attribution Contents that contain a double
  quotation mark; their scored region runs from the first to the last mark
  inside the Content, because a Content often wraps the quote in paraphrase
  ("said that the plan was "a disaster"") while wirewatch reports only the
  quoted words.
* A predicted quote is correct when at least half of its characters fall in a
  gold quote region; it is ignored (neither right nor wrong) when half of it
  lies in a Content without quote marks, since the annotators then recorded
  the words as paraphrase; otherwise it is a false positive (scare quotes,
  titles, nicknames the annotators did not count as attributions).
* A gold quote is found when predicted quotes cover at least half of its region.
* Speaker accuracy is over correct predictions: right when the predicted
  speaker mention overlaps the gold Source, or the canonical speaker contains
  the Source's head name (its last capitalised word before any apposition or
  relative clause); a gold attribution without a Source is right only when
  no speaker is predicted. PolNeAR has no coreference, so a pronoun Source
  ("he", "who") can only be matched by overlap: naming the right person from
  another mention of them counts as wrong, and the figure errs low there.
* Articles annotated by several annotators are scored against the first
  annotator's file (sorted by name), so no article counts twice.
* Only attributions of kind "direct" are scored here (every attribution, for
  code that has no kinds yet).
* A few relations have their Source and Cue swapped (Source "said", Cue
  "David Plouffe, the architect of …"): a Source that is nothing but a
  reporting verb while the Cue starts with a capital is read the other way round.

Scoring all attributions (issue 12), over every Content, quoted or not, and
every attribution whatever its kind:

* a prediction is right when at least half of its characters lie in a gold
  Content (its pieces, for a discontinuous one); it is judged against the
  Content it overlaps most;
* a gold Content is found when one prediction covers at least half of it, or
  at least half of one prediction lies in it (so a quoted fragment found inside
  a longer paraphrase finds that paraphrase);
* source accuracy is over right predictions, judged as for direct quotes
  (mention overlap or head name) against the Content's Source.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scoring import f1, ratio
from pipeline.config import Config
from pipeline.enrich.analyze import analyze
from pipeline.records import Quote

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
POLNEAR = DATA / "polnear"
MARKS = '"“”'

Span = tuple[int, int]


@dataclass
class Gold:
    region: Span
    sources: list[Span]
    source_text: str


@dataclass
class Content:
    """A gold Content of any kind: its pieces (discontinuous ones have several) and its Source."""

    pieces: list[Span]
    sources: list[Span]
    source_text: str
    cue_text: str = ""

    @property
    def length(self) -> int:
        return sum(e - s for s, e in self.pieces)


@dataclass
class Article:
    name: str
    text: str
    quotes: list[Gold] = field(default_factory=list)
    paraphrases: list[Span] = field(default_factory=list)
    contents: list[Content] = field(default_factory=list)


@dataclass
class Score:
    predicted: int = 0
    correct: int = 0
    ignored: int = 0
    gold: int = 0
    found: int = 0
    speaker_right: int = 0
    articles: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return ratio(self.correct, self.predicted - self.ignored)

    @property
    def recall(self) -> float:
        return ratio(self.found, self.gold)

    @property
    def f1(self) -> float:
        return f1(self.precision, self.recall)

    @property
    def speaker_accuracy(self) -> float:
        return ratio(self.speaker_right, self.correct)


def _spans(field_text: str) -> list[Span]:
    _, _, offsets = field_text.partition(" ")
    return [(int(a), int(b)) for a, b in (part.split() for part in offsets.split(";"))]


def _region(text: str, spans: list[Span]) -> Span | None:
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    marks = [i for s, e in spans for i in range(s, e) if text[i] in MARKS]
    if not marks:
        return None
    first, last = marks[0], marks[-1]
    if first == last:
        return (first, end) if text[first] != "”" and (first - start) < (end - first) else (start, first + 1)
    return (first, last + 1)


SWAPPED_SOURCES = frozenset({"said", "says", "say", "told", "tells", "added", "wrote", "asked"})


def _swapped(text: str, source: list[Span], cue: list[Span]) -> bool:
    source_text = " ".join(text[s:e] for s, e in source).strip()
    cue_text = " ".join(text[s:e] for s, e in cue).strip()
    return source_text.lower() in SWAPPED_SOURCES and cue_text[:1].isupper()


def load_article(text_path: Path, ann_path: Path) -> Article:
    text = text_path.read_text(encoding="utf-8")
    spans: dict[str, tuple[str, list[Span]]] = {}
    relations: list[dict[str, str]] = []
    for line in ann_path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        if parts[0].startswith("T") and " " in parts[1]:
            kind = parts[1].split(" ", 1)[0]
            spans[parts[0]] = (kind, _spans(parts[1]))
        elif parts[0].startswith("E"):
            relations.append(dict(arg.split(":", 1) for arg in parts[1].split() if ":" in arg))
    article = Article(text_path.stem, text)
    for relation in relations:
        content = spans.get(relation.get("Content", ""))
        if content is None:
            continue
        source = spans.get(relation.get("Source", ""), ("Source", []))[1]
        cue = spans.get(relation.get("Cue", ""), ("Cue", []))[1]
        if source and cue and _swapped(text, source, cue):
            source = cue
        region = _region(text, content[1])
        source_text = " ".join(text[s:e] for s, e in source)
        cue_text = " ".join(text[s:e] for s, e in cue)
        article.contents.append(Content(content[1], source, source_text, cue_text))
        if region is None:
            article.paraphrases += content[1]
        else:
            article.quotes.append(Gold(region, source, source_text))
    return article


def load_split(split: str) -> list[Article]:
    base = POLNEAR / split
    articles = []
    for text_path in sorted((base / "text").glob("*.txt")):
        annotations = sorted((base / "attributions").glob(f"{text_path.stem}_*.ann"))
        if annotations:
            articles.append(load_article(text_path, annotations[0]))
    return articles


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _head_name(source_text: str) -> str | None:
    """The last capitalised word before any relative clause or apposition ("Katie Packer, who runs …").

    A title's own "of" ("Secretary of State John Kerry") does not end the head.
    """
    source_text = re.sub(r"\b(?:Secretary|Speaker|Minister|Director|Chair\w*) of (?:the )?", "", source_text)
    head = re.split(r",|\(| who | which | of | from | at | for ", source_text, maxsplit=1)[0]
    names = re.findall(r"\b[A-Z][a-z][\w'-]*", head)
    names = [n for n in names if n not in {"The", "A", "An", "His", "Her", "Their", "He", "She", "They"}]
    return names[-1].lower() if names else None


def _speaker_right(quote: Quote, gold: Gold | Content) -> bool:
    if not gold.sources:
        return quote.speaker is None
    if quote.speaker_start is not None and quote.speaker_end is not None:
        mention = (quote.speaker_start, quote.speaker_end)
        if any(_overlap(mention, s) for s in gold.sources):
            return True
    head = _head_name(gold.source_text)
    return bool(quote.speaker and head and head in quote.speaker.lower())


def kind_of(quote: Quote) -> str:
    """'direct' for code that predates attribution kinds."""
    return str(getattr(quote, "kind", "direct") or "direct")


def _inside(span: Span, content: Content) -> int:
    return sum(_overlap(span, piece) for piece in content.pieces)


def _said(article: Article, quote: Quote) -> str | None:
    if quote.speaker_start is None or quote.speaker_end is None:
        return None
    return article.text[quote.speaker_start : quote.speaker_end]


def score_all(result: Score, article: Article, quotes: list[Quote], show: bool) -> None:
    """All attributions, direct and reported, against every Content (see the module docstring)."""
    result.articles += 1
    result.gold += len(article.contents)
    for content in article.contents:
        spans = [(q.start, q.end) for q in quotes]
        covers = any(_inside(span, content) * 2 >= content.length for span in spans)
        lies_in = any(_inside(span, content) * 2 >= max(1, span[1] - span[0]) for span in spans)
        if covers or lies_in:
            result.found += 1
        elif show:
            first = content.pieces[0]
            result.errors.append(
                f"ALL MISS {article.name}: {article.text[first[0] : first[1]][:100]!r} gold {content.source_text!r}"
                f" cue {content.cue_text!r}"
            )
    for quote in quotes:
        result.predicted += 1
        span = (quote.start, quote.end)
        best = max(article.contents, key=lambda c: _inside(span, c), default=None)
        rule = getattr(quote, "rule", None)
        if best is not None and _inside(span, best) * 2 >= max(1, quote.end - quote.start):
            result.correct += 1
            if _speaker_right(quote, best):
                result.speaker_right += 1
            elif show:
                result.errors.append(
                    f"ALL SPKR {article.name} [{kind_of(quote)}/{rule}]: {quote.text[:60]!r} -> {quote.speaker!r}"
                    f" ({_said(article, quote)!r}) gold {best.source_text!r}"
                )
        elif show:
            result.errors.append(
                f"ALL FP   {article.name} [{kind_of(quote)}/{rule}]: {quote.text[:100]!r} -> {quote.speaker!r}"
            )


def score(articles: list[Article], config: Config, show: bool = False, every: Score | None = None) -> Score:
    """The direct-quote figure; when `every` is given, the all-attributions figure is added to it."""
    result = Score()
    for article in articles:
        analysed = analyze(article.text, config).quotes
        if every is not None:
            score_all(every, article, analysed, show)
        quotes = [q for q in analysed if kind_of(q) == "direct"]
        result.articles += 1
        result.gold += len(article.quotes)
        for gold in article.quotes:
            covered = sum(_overlap((q.start, q.end), gold.region) for q in quotes)
            if covered * 2 >= gold.region[1] - gold.region[0]:
                result.found += 1
            elif show:
                result.errors.append(f"MISS {article.name}: {article.text[gold.region[0] : gold.region[1]][:100]!r}")
        for quote in quotes:
            result.predicted += 1
            span = (quote.start, quote.end)
            length = max(1, quote.end - quote.start)
            best = max(article.quotes, key=lambda g: _overlap(span, g.region), default=None)
            if best is not None and sum(_overlap(span, g.region) for g in article.quotes) * 2 >= length:
                result.correct += 1
                if _speaker_right(quote, best):
                    result.speaker_right += 1
                elif show:
                    said = (
                        article.text[quote.speaker_start : quote.speaker_end]
                        if quote.speaker_start is not None
                        else None
                    )
                    result.errors.append(
                        f"SPKR {article.name}: {quote.text[:60]!r} -> {quote.speaker!r} ({said!r})"
                        f" gold {best.source_text!r}"
                    )
            elif sum(_overlap(span, p) for p in article.paraphrases) * 2 >= length:
                result.ignored += 1
            elif show:
                result.errors.append(f"FP   {article.name}: {quote.text[:100]!r} -> {quote.speaker!r}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=["dev", "train"])
    parser.add_argument(
        "--show",
        action="store_true",
        help="print every miss (with its gold Source and Cue), false positive and wrong speaker",
    )
    args = parser.parse_args(argv)
    if not (POLNEAR / args.split / "text").is_dir():
        print(f"skipped: PolNeAR not found at {POLNEAR / args.split} (the shared data folder is absent)")
        return 0
    articles = load_split(args.split)
    config = Config()
    analyze("Warm-up: the pipeline is built once per config.", config)
    every = Score()
    result = score(articles, config, args.show, every)
    for line in result.errors + every.errors:
        print(line)
    print(
        f"PolNeAR {args.split}: {result.articles} articles, {result.gold} gold direct quotes,"
        f" {result.predicted} predicted ({result.ignored} inside paraphrase contents, not scored)"
    )
    print(f"quote precision {result.precision:.3f}  recall {result.recall:.3f}  F1 {result.f1:.3f}")
    print(
        f"speaker accuracy {result.speaker_accuracy:.3f}"
        f" ({result.speaker_right}/{result.correct} correctly found quotes)"
    )
    print(
        f"all attributions (direct + reported): {every.gold} gold Contents, {every.predicted} predicted;"
        f" precision {every.precision:.3f} ({every.correct}/{every.predicted})"
        f"  recall {every.recall:.3f} ({every.found}/{every.gold})  F1 {every.f1:.3f}"
    )
    print(
        f"all attributions source accuracy {every.speaker_accuracy:.3f}"
        f" ({every.speaker_right}/{every.correct} right predictions)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

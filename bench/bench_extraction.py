"""Extraction quality and speed on real news pages.

Run:  .venv/bin/python -m bench.bench_extraction [--quick] [--runs 3]

Two public data sets under ../shared/data/extraction (skipped, with a reason,
when absent):

* article_extraction_benchmark: 181 pages with the gold article body. Scored
  as bag-of-tokens overlap (lower-cased \\w+ tokens): precision = overlap /
  extracted tokens, recall = overlap / gold tokens. "micro" pools the counts
  of all pages, so long articles weigh more; "macro" averages per-page scores,
  so every page weighs the same. A page with no output scores 0/0/0.
* trafilatura_eval, English pages only (labels carry the page's `<html lang>`;
  "en*" selects the 74 English pages): share of `with` snippets present in the
  output, share of `without` snippets absent from it, and exact-match
  accuracy of title / author / date over the pages that label them.

The same scoring functions are imported by tests/test_extract.py, so the
quality floor there is measured exactly as here.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.extract import TRAFILATURA_OPTIONS, Extracted, decode_html, extract, extract_with, warm_up

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
AEB_DIR = DATA_DIR / "extraction" / "article_extraction_benchmark"
TEVAL_DIR = DATA_DIR / "extraction" / "trafilatura_eval"

# Option sets compared in one run. "chosen" is what pipeline.extract uses.
OPTION_SETS: dict[str, Mapping[str, Any]] = {
    "trafilatura default": {},
    "chosen (no comments)": TRAFILATURA_OPTIONS,
    "favor_precision": {**TRAFILATURA_OPTIONS, "favor_precision": True},
    "favor_recall": {**TRAFILATURA_OPTIONS, "favor_recall": True},
    "fast": {**TRAFILATURA_OPTIONS, "fast": True},
    "no tables": {**TRAFILATURA_OPTIONS, "include_tables": False},
}

Extractor = Callable[[str, str | None], Extracted | None]

_TOKEN = re.compile(r"\w+")


# ---------------------------------------------------------------------------
# scoring (shared with the tests)


def tokenize(text: str | None) -> list[str]:
    """Lower-cased word tokens; punctuation and whitespace differences don't count."""
    return _TOKEN.findall(text.lower()) if text else []


@dataclass
class TokenScores:
    micro_precision: float
    micro_recall: float
    micro_f1: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    pages: int
    empty: int  # pages where extraction returned nothing


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def score_tokens(pairs: Iterable[tuple[str | None, str]]) -> TokenScores:
    """Bag-of-tokens precision/recall/F1 of (extracted, gold) text pairs."""
    overlap_sum = predicted_sum = gold_sum = 0
    per_page: list[tuple[float, float, float]] = []
    empty = 0
    for predicted_text, gold_text in pairs:
        predicted, gold = Counter(tokenize(predicted_text)), Counter(tokenize(gold_text))
        overlap = sum((predicted & gold).values())
        n_pred, n_gold = sum(predicted.values()), sum(gold.values())
        overlap_sum += overlap
        predicted_sum += n_pred
        gold_sum += n_gold
        if not n_pred:
            empty += 1
        precision = overlap / n_pred if n_pred else 0.0
        recall = overlap / n_gold if n_gold else 0.0
        per_page.append((precision, recall, _f1(precision, recall)))
    micro_p = overlap_sum / predicted_sum if predicted_sum else 0.0
    micro_r = overlap_sum / gold_sum if gold_sum else 0.0
    count = len(per_page) or 1
    return TokenScores(
        micro_precision=micro_p,
        micro_recall=micro_r,
        micro_f1=_f1(micro_p, micro_r),
        macro_precision=sum(p for p, _, _ in per_page) / count,
        macro_recall=sum(r for _, r, _ in per_page) / count,
        macro_f1=sum(f for _, _, f in per_page) / count,
        pages=len(per_page),
        empty=empty,
    )


def normalize_text(text: str | None) -> str:
    """NFC and single spaces, so snippets match across line breaks and NBSPs."""
    if not text:
        return ""
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass
class SnippetScores:
    with_found: int
    with_total: int
    without_avoided: int
    without_total: int
    title_ok: int
    title_total: int
    author_ok: int
    author_total: int
    date_ok: int
    date_total: int
    pages: int

    @property
    def with_share(self) -> float:
        return self.with_found / self.with_total if self.with_total else 0.0

    @property
    def without_share(self) -> float:
        return self.without_avoided / self.without_total if self.without_total else 0.0

    @staticmethod
    def ratio(ok: int, total: int) -> float:
        return ok / total if total else 0.0


def _same(extracted: str | None, label: str) -> bool:
    return normalize_text(extracted).casefold() == normalize_text(label).casefold()


def score_snippets(results: Iterable[tuple[Mapping[str, Any], Extracted | None]]) -> SnippetScores:
    """Snippet shares and metadata accuracy of (label, extraction) pairs.

    Snippets are matched case-sensitively after whitespace normalisation; a
    page with no output misses all its `with` snippets and avoids all `without`.
    A `with` snippet counts as found in the title too: wirewatch stores and
    indexes both, and drops a first line of text that only repeats the headline.
    """
    s = SnippetScores(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    for label, result in results:
        s.pages += 1
        text = normalize_text(result.text if result else "")
        title = normalize_text(result.title or "") if result else ""
        for snippet in label.get("with") or []:
            s.with_total += 1
            s.with_found += normalize_text(snippet) in text or normalize_text(snippet) in title
        for snippet in label.get("without") or []:
            s.without_total += 1
            s.without_avoided += normalize_text(snippet) not in text
        if label.get("title"):
            s.title_total += 1
            s.title_ok += bool(result and _same(result.title, label["title"]))
        if label.get("author"):
            s.author_total += 1
            s.author_ok += bool(result and _same(result.author, label["author"]))
        if label.get("date"):
            s.date_total += 1
            published = result.published if result else None
            s.date_ok += bool(published and published.date().isoformat() == str(label["date"])[:10])
    return s


# ---------------------------------------------------------------------------
# data


@dataclass
class GoldPage:
    name: str
    url: str | None
    html: str
    gold: str


def data_missing_reason() -> str | None:
    """Why the real-world data cannot be used, or None if it can."""
    for needed in (AEB_DIR / "ground-truth.json", TEVAL_DIR / "labels.json"):
        if not needed.is_file():
            return f"real-world extraction data not found ({needed} is missing; it lives in ../shared/data)"
    return None


def load_aeb(limit: int | None = None) -> list[GoldPage]:
    """article_extraction_benchmark pages, decoded with our own decode_html, in a fixed order."""
    truth = json.loads((AEB_DIR / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for name in sorted(truth)[:limit]:
        body = gzip.decompress((AEB_DIR / "html" / f"{name}.html.gz").read_bytes())
        entry = truth[name]
        pages.append(GoldPage(name, entry.get("url"), decode_html(body, None), entry.get("articleBody") or ""))
    return pages


def is_english(label: Mapping[str, Any]) -> bool:
    return str(label.get("html_lang") or "").lower().startswith("en")


def load_english_eval(limit: int | None = None) -> list[tuple[dict[str, Any], str]]:
    """English trafilatura_eval pages as (label, decoded html), in file-name order."""
    labels = json.loads((TEVAL_DIR / "labels.json").read_text(encoding="utf-8"))
    if isinstance(labels, dict):
        labels = list(labels.values())
    chosen = sorted((lab for lab in labels if is_english(lab)), key=lambda lab: lab["file"])[:limit]
    return [(lab, decode_html((TEVAL_DIR / "html" / lab["file"]).read_bytes(), None)) for lab in chosen]


def evaluate_aeb(pages: Sequence[GoldPage], extractor: Extractor) -> TokenScores:
    pairs = []
    for page in pages:
        result = extractor(page.html, page.url)
        pairs.append((result.text if result else None, page.gold))
    return score_tokens(pairs)


def evaluate_english(pages: Sequence[tuple[dict[str, Any], str]], extractor: Extractor) -> SnippetScores:
    return score_snippets((label, extractor(html, label.get("url"))) for label, html in pages)


# ---------------------------------------------------------------------------
# speed


def _extract_item(item: tuple[str, str | None]) -> Extracted | None:
    return extract(item[0], item[1])


def pages_per_second(
    items: Sequence[tuple[str, str | None]], runs: int, workers: int = 1, kind: str = "process"
) -> float:
    """Median pages/s over `runs` passes; pools are started before the clock runs."""
    rates = []
    if workers == 1:
        for _ in range(runs):
            start = time.perf_counter()
            for item in items:
                _extract_item(item)
            rates.append(len(items) / (time.perf_counter() - start))
        return statistics.median(rates)
    pool_class = ProcessPoolExecutor if kind == "process" else ThreadPoolExecutor
    with pool_class(max_workers=workers) as pool:
        list(pool.map(_extract_item, items[:workers]))  # warm up workers (imports, caches)
        for _ in range(runs):
            start = time.perf_counter()
            list(pool.map(_extract_item, items, chunksize=4) if kind == "process" else pool.map(_extract_item, items))
            rates.append(len(items) / (time.perf_counter() - start))
    return statistics.median(rates)


def count_run(pages: Sequence[GoldPage]) -> str:
    """Extract each page once after `warm_up`, as a worker does, and say what came out: run under callgrind, the
    count is the extractor's instructions (the rest of the process is the same in any two codes compared), and the
    digest shows whether the two codes extracted the same records."""
    warm_up()
    digest = hashlib.sha256()
    for page in pages:
        digest.update(repr(extract(page.html, page.url)).encode())
    return f"{len(pages)} AEB pages extracted once; records digest {digest.hexdigest()[:16]}"


# ---------------------------------------------------------------------------
# main


def _options_extractor(options: Mapping[str, Any]) -> Extractor:
    return lambda html, url: extract_with(html, url, options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="40 + 20 pages, 1 speed run: for development")
    parser.add_argument("--runs", type=int, default=3, help="speed runs to take the median of (default 3)")
    parser.add_argument(
        "--count", type=int, metavar="N", help="only extract the first N AEB pages once, for an instruction count"
    )
    args = parser.parse_args(argv)

    reason = data_missing_reason()
    if reason:
        print(f"skipping extraction benchmark: {reason}")
        return 0

    if args.count is not None:
        print(count_run(load_aeb(args.count)))
        return 0
    runs = 1 if args.quick else args.runs
    aeb = load_aeb(40 if args.quick else None)
    english = load_english_eval(20 if args.quick else None)
    print(f"article_extraction_benchmark: {len(aeb)} pages; trafilatura_eval English: {len(english)} pages")
    print()
    header = (
        "| options | AEB micro P / R / F1 | AEB macro P / R / F1 | empty | with found | without avoided "
        "| title | author | date |"
    )
    print(header)
    print("|" + "---|" * 9)
    for name, options in OPTION_SETS.items():
        extractor = _options_extractor(options)
        tok = evaluate_aeb(aeb, extractor)
        snip = evaluate_english(english, extractor)
        print(
            f"| {name} "
            f"| {tok.micro_precision:.3f} / {tok.micro_recall:.3f} / {tok.micro_f1:.3f} "
            f"| {tok.macro_precision:.3f} / {tok.macro_recall:.3f} / {tok.macro_f1:.3f} "
            f"| {tok.empty} "
            f"| {snip.with_share:.3f} ({snip.with_found}/{snip.with_total}) "
            f"| {snip.without_share:.3f} ({snip.without_avoided}/{snip.without_total}) "
            f"| {snip.ratio(snip.title_ok, snip.title_total):.2f} "
            f"| {snip.ratio(snip.author_ok, snip.author_total):.2f} "
            f"| {snip.ratio(snip.date_ok, snip.date_total):.2f} |"
        )
        sys.stdout.flush()

    items = [(page.html, page.url) for page in aeb]
    megabytes = sum(len(page.html.encode("utf-8")) for page in aeb) / 1e6
    print()
    print(
        f"speed of pipeline.extract.extract on {len(items)} AEB pages ({megabytes:.1f} MB of HTML), median of {runs}:"
    )
    single = pages_per_second(items, runs)
    print(f"  single process:    {single:6.1f} pages/s")
    threads = pages_per_second(items, runs, workers=2, kind="thread")
    print(f"  2 threads:         {threads:6.1f} pages/s")
    processes = pages_per_second(items, runs, workers=2, kind="process")
    print(f"  2-process pool:    {processes:6.1f} pages/s")

    start = time.perf_counter()
    raw = [gzip.decompress((AEB_DIR / "html" / f"{page.name}.html.gz").read_bytes()) for page in aeb]
    start = time.perf_counter()
    for body in raw:
        decode_html(body, None)
    print(f"  decode_html alone: {len(raw) / (time.perf_counter() - start):6.0f} pages/s (no header, detection path)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

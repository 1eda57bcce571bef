"""The benchmark scorers themselves: matching, name folding and the all-attributions figure.

Every case is hand-made text with the expected count written beside it, so a
scorer that drifts from the metric its docstring states fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import bench_ggt, bench_quotes
from pipeline.records import Quote


def _quote(
    text: str, start: int, end: int, speaker: str | None = None, mention: tuple[int, int] | None = None
) -> Quote:
    return Quote(text[start:end], start, end, speaker, mention[0] if mention else None, mention[1] if mention else None)


@pytest.mark.parametrize(
    ("gold", "predicted", "expected"),
    [
        # 31 of 100 characters covered: more than 30%, found.
        ([(0, 100)], [(69, 100)], [(0, 0)]),
        # exactly 30 of 100: not more than 30%, not found.
        ([(0, 100)], [(70, 100)], []),
        # one prediction covering two gold quotations is matched to one of them only (the larger overlap).
        ([(0, 10), (12, 40)], [(0, 40)], [(1, 0)]),
        # two predictions inside one gold quotation: one is matched, the other stays unmatched.
        ([(0, 100)], [(0, 50), (50, 100)], [(0, 0)]),
        # one-to-one with crossing candidates: each gold gets its own prediction.
        ([(0, 50), (50, 100)], [(0, 60), (45, 100)], [(0, 0), (1, 1)]),
    ],
)
def test_ggt_match_is_one_to_one_over_30_percent(
    gold: list[tuple[int, int]], predicted: list[tuple[int, int]], expected: list[tuple[int, int]]
) -> None:
    assert bench_ggt.match(gold, predicted) == expected


@pytest.mark.parametrize(
    ("predicted", "reference", "same"),
    [
        ("Jody Wilson-Raybould", "Jody Wilson-Raybould", True),
        ("jody  wilson-raybould", "Jody Wilson-Raybould", True),
        ("Rod Brind’Amour", "Rod Brind'Amour", True),
        ("The RCMP", "the RCMP", True),
        ("RCMP", "The RCMP", True),
        ("justice official", "a justice official", True),
        ("Anna Lee", "Anna", False),
        ("Raybould", "Jody Wilson-Raybould", False),
        ("Trudeau", "Justin Trudeau", False),
        ("she", "Darian Lonechild", False),
        (None, "", True),
        (None, "Darian Lonechild", False),
        ("Darian Lonechild", "", False),
    ],
)
def test_ggt_full_name_comparison(predicted: str | None, reference: str, same: bool) -> None:
    assert bench_ggt.same_speaker(predicted, reference) is same


TEXT = (
    'Mayor Ana Kovac said the bridge would reopen in March. "We are on schedule," Kovac said. '
    "The ministry said repairs cost less than planned."
)


def _ggt_article() -> bench_ggt.Article:
    indirect = TEXT.index("the bridge")
    direct = TEXT.index('"We')
    ministry = TEXT.index("repairs")
    return bench_ggt.Article(
        "a1",
        "Test Outlet",
        TEXT,
        [
            bench_ggt.GoldQuote((indirect, TEXT.index(" in March") + 9), False, "Ana Kovac", None, "Ana Kovac"),
            bench_ggt.GoldQuote((direct, TEXT.index(" Kovac said.")), True, "Kovac", None, "Ana Kovac"),
            bench_ggt.GoldQuote((ministry, len(TEXT) - 1), False, "The ministry", None, "the ministry"),
        ],
    )


def test_ggt_score_counts_matches_and_full_name_speakers() -> None:
    article = _ggt_article()
    direct = TEXT.index("We are")
    predictions = [
        _quote(TEXT, direct, TEXT.index(',"'), "Ana Kovac"),  # right span, right full name
        _quote(TEXT, TEXT.index("the bridge"), TEXT.index(" in March") + 9, "Kovac"),  # right span, surname only
        _quote(TEXT, 0, 5, "Ana Kovac"),  # "Mayor": covers nothing
    ]
    result = bench_ggt.Score()
    bench_ggt.score_figure(result, article, article.quotes, predictions, "all")
    assert (result.gold, result.predicted, result.matched, result.speaker_right) == (3, 3, 2, 1)
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == pytest.approx(2 / 3)


def test_ggt_direct_figure_ignores_quoted_fragments_inside_reported_speech() -> None:
    text = 'Kovac said the delays were "entirely avoidable" and blamed the contractor.'
    indirect = (text.index("the delays"), len(text) - 1)
    fragment = text.index("entirely")
    article = bench_ggt.Article(
        "a2", "Test Outlet", text, [bench_ggt.GoldQuote(indirect, False, "Kovac", None, "Kovac")]
    )
    result = bench_ggt.Score()
    prediction = _quote(text, fragment, fragment + len("entirely avoidable"), "Kovac")
    bench_ggt.score_figure(result, article, [], [prediction], "direct", [indirect])
    assert (result.predicted, result.ignored, result.matched) == (1, 1, 0)
    assert result.precision == 0.0 and result.errors == []


BRAT_TEXT = (
    'Senator Dale Okafor said the bill was dead. "It will not pass," he said. According to aides, the vote is off.'
)


def _brat(tmp_path: Path) -> bench_quotes.Article:
    t = BRAT_TEXT
    spans = {
        "T1": ("Source", t.index("Senator"), t.index(" said")),
        "T2": ("Cue", t.index("said"), t.index("said") + 4),
        "T3": ("Content", t.index("the bill"), t.index(" dead") + 5),
        "T4": ("Source", t.index("he said"), t.index("he said") + 2),
        "T5": ("Cue", t.index("he said") + 3, t.index("he said") + 7),
        "T6": ("Content", t.index('"It'), t.index(" he said")),
        "T7": ("Source", t.index("aides"), t.index("aides") + 5),
        "T8": ("Content", t.index("the vote"), len(t) - 1),
    }
    lines = [f"{tag}\t{kind} {s} {e}\t{t[s:e]}" for tag, (kind, s, e) in spans.items()]
    lines += [
        "E1\tAttribution:T2 Content:T3 Cue:T2 Source:T1",
        "E2\tAttribution:T5 Content:T6 Cue:T5 Source:T4",
        "E3\tAttribution:T7 Content:T8 Source:T7",
    ]
    (tmp_path / "a.txt").write_text(t, encoding="utf-8")
    (tmp_path / "a_x.ann").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return bench_quotes.load_article(tmp_path / "a.txt", tmp_path / "a_x.ann")


def test_polnear_loader_keeps_every_content(tmp_path: Path) -> None:
    article = _brat(tmp_path)
    assert len(article.contents) == 3  # two paraphrases and one quote
    assert len(article.quotes) == 1
    assert article.contents[2].source_text == "aides"


def test_polnear_all_attributions_half_rules(tmp_path: Path) -> None:
    article = _brat(tmp_path)
    t = BRAT_TEXT
    okafor = (t.index("Dale"), t.index(" said"))
    predictions = [
        # the whole paraphrase with the right speaker: right, finds Content 1.
        _quote(t, t.index("the bill"), t.index(" dead") + 5, "Dale Okafor", okafor),
        # the quoted words only: lies inside Content 2, so right and finds it; a wrong speaker.
        _quote(t, t.index("It will"), t.index(',"'), "Dale Okafor", okafor),
        # half outside any Content ("According to aides, the"): wrong.
        _quote(t, t.index("According"), t.index(" vote"), "aides"),
    ]
    result = bench_quotes.Score()
    bench_quotes.score_all(result, article, predictions, show=False)
    assert (result.gold, result.found, result.predicted, result.correct) == (3, 2, 3, 2)
    # Content 2's Source is the pronoun "he": only a mention overlapping it counts, and Okafor's does not.
    assert result.speaker_right == 1


def test_polnear_content_found_by_a_covering_prediction(tmp_path: Path) -> None:
    article = _brat(tmp_path)
    t = BRAT_TEXT
    # "aides, the vote is off" covers all of Content 3, and 15 of its 22 characters lie inside it.
    start = t.index("aides")
    result = bench_quotes.Score()
    bench_quotes.score_all(result, article, [_quote(t, start, len(t) - 1, "aides", (start, start + 5))], show=False)
    assert (result.found, result.correct, result.speaker_right) == (1, 1, 1)


def test_ggt_loader_drops_unlocated_and_repeated_quotations(tmp_path: Path) -> None:
    text = '"We will rebuild," said Ana Kovac.'
    quote = {
        "quote": '"We will rebuild,"',
        "start": 0,
        "end": 18,
        "direct": True,
        "speaker": "Ana Kovac",
        "speaker_start": 24,
        "speaker_end": 33,
        "verb": "said",
        "reference": "Ana Kovac",
    }
    unlocated = dict(quote, start=None, end=None)
    row = {"id": "x", "outlet": "Test Outlet", "url": "", "text": text, "quotes": [quote, dict(quote), unlocated]}
    path = tmp_path / "dev.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    (article,) = bench_ggt.load(path)
    assert [g.span for g in article.quotes] == [(0, 18)]
    assert (article.unlocated, article.repeated) == (1, 1)
    assert article.quotes[0].mention_span == (24, 33)

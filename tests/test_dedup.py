"""Dedup against a real SQLite store: wire copies fold, different stories do not."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import dedup
from pipeline.dedup import (
    DEFAULT,
    MAX_VERIFIED,
    Fingerprint,
    dedupe,
    fingerprint,
    fingerprints,
    normalise,
    normalised_words,
)
from pipeline.records import Article
from pipeline.store.sqlite import SQLiteStore

SAMPLE = Path(__file__).resolve().parents[1] / "pipeline" / "demo" / "sample"
VOA = (SAMPLE / "voa-2020-07-10-kim-yo-jong-summit.txt").read_text(encoding="utf-8")
VICE = (SAMPLE / "vice-2020-07-10-kim-yo-jong-summit.txt").read_text(encoding="utf-8")
NOON = datetime(2020, 7, 10, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def article(article_id: str, text: str, minutes: int = 0, source: str = "example") -> Article:
    return Article(
        id=article_id,
        url=f"https://{source}.example/{article_id}",
        feed_url=f"https://{source}.example/feed",
        source=source,
        title=text.strip().splitlines()[0] if text.strip() else "",
        text=text,
        published=NOON + timedelta(minutes=minutes),
    )


def paragraphs(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def wire_copy(headline: str, keep: int, chrome_top: list[str], chrome_bottom: list[str]) -> str:
    """The VOA story as another outlet runs it: own headline, dateline, byline, trimmed, chrome."""
    body = paragraphs(VOA)[4:]  # past VOA's own chrome, headline and caption
    body[0] = "SEOUL, South Korea (AP) — " + body[0]
    return "\n\n".join([*chrome_top, headline, "By Hyung-jin Kim", *body[:keep], *chrome_bottom])


COPIES = [
    wire_copy(
        "Kim's sister says no Trump summit this year",
        keep=17,
        chrome_top=["Share this article", "Menu"],
        chrome_bottom=["(AP Photo/Ahn Young-joon, File)", "Related: North Korea blows up liaison office"],
    ),
    wire_copy(
        "North Korea rules out another summit with Trump before US election",
        keep=12,
        chrome_top=["Advertisement"],
        chrome_bottom=["Associated Press writer Kim Tong-hyung contributed to this report.", "Read more: world news"],
    ),
    wire_copy(
        "N. Korea: summit 'not useful' unless US changes approach",
        keep=9,
        chrome_top=["Subscribe to our newsletter"],
        chrome_bottom=["Copyright 2020 The Associated Press. All rights reserved."],
    ),
]


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "wirewatch.db")


def run(store: SQLiteStore, articles: list[Article], window: timedelta = WEEK) -> dict[str, Article]:
    store.put_articles(articles)
    dedupe(articles, store, window)
    return {found.id: found for found in store.get_articles(item.id for item in articles)}


def test_normalise_strips_wire_furniture() -> None:
    text = (
        "By Jane Doe\n"
        "WASHINGTON (Reuters) - The Senate passed the bill on Friday.\n"
        "Share this article\n"
        "A vote came late at night. (AP Photo/Susan Walsh, File) Lawmakers went home.\n"
        "Associated Press writers Lisa Mascaro and Alan Fram contributed to this report."
    )
    assert normalise(text) == "the senate passed the bill on friday a vote came late at night lawmakers went home"
    assert normalise("SEOUL, South Korea (AP) — North Korea's leader spoke.") == "north koreas leader spoke"
    # a typographic apostrophe goes the same way as a straight one
    expected = "the ministers aides said the talks would resume"
    assert normalise("The minister’s aides said the talks would resume.") == expected


def test_normalise_counts_words_across_any_whitespace_and_keeps_lines_apart() -> None:
    text = (
        "Top stories today\n"  # three words: chrome
        "Ministers\tmet   in\u00a0Geneva\n"  # four words, split by a tab, spaces and a no-break space: kept
        "  Talks  resumed\t \n"  # two words once stripped: chrome
        "Officials said it was Korea's\n"
        "turn to answer the proposal."
    )
    assert normalise(text) == "ministers met in geneva officials said it was koreas turn to answer the proposal"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Caf\u0065\u0301\u00a0au lait\n\u0301ok", "Caf\u00e9 au lait\n\u0301ok"),  # a mark after a line feed stays
        ("\ufb01ne\u3000day\nplain line\n\u00bd cup", "fine day\nplain line\n1\u20442 cup"),  # compatibility forms
        ("\u1100\n\u1161", "\u1100\n\u1161"),  # Hangul jamo on two lines do not join into one syllable
        ("plain ASCII\nlines", "plain ASCII\nlines"),
    ],
)
def test_nfkc_by_line_is_nfkc_of_the_whole_text(text: str, expected: str) -> None:
    assert dedup._nfkc(text) == expected


@pytest.mark.parametrize("one_batch", [True, False])
def test_wire_copies_fold_into_the_earliest_and_vice_stays_apart(store: SQLiteStore, one_batch: bool) -> None:
    voa = article("voa", VOA, 0, "voa")
    copies = [article(f"copy{n}", text, 5 + 20 * n) for n, text in enumerate(COPIES)]
    vice = article("vice", VICE, 3, "vice")
    if one_batch:
        saved = run(store, [*reversed(copies), vice, voa])
    else:
        saved = {}
        for item in [voa, vice, *copies]:
            saved |= run(store, [item])
    for copy in copies:
        assert saved[copy.id].cluster_id == "voa"
        assert saved[copy.id].duplicate_of is not None
    assert saved["voa"].cluster_id == "voa" and saved["voa"].duplicate_of is None
    assert saved["vice"].cluster_id == "vice" and saved["vice"].duplicate_of is None


def test_report_counts_and_rerun_changes_nothing(store: SQLiteStore) -> None:
    articles = [article("voa", VOA), *(article(f"copy{n}", text, 5 + n) for n, text in enumerate(COPIES))]
    store.put_articles(articles)
    first = dedupe(articles, store, WEEK)
    assert (first.duplicates, first.merged, first.skipped) == (3, 0, 0)
    before = {item.id: (item.cluster_id, item.duplicate_of) for item in store.get_articles(a.id for a in articles)}
    again = dedupe(articles, store, WEEK)
    assert (again.duplicates, again.merged, again.skipped) == (0, 0, 4)
    after = {item.id: (item.cluster_id, item.duplicate_of) for item in store.get_articles(a.id for a in articles)}
    assert after == before


def test_exact_duplicate_takes_the_hash_path(store: SQLiteStore) -> None:
    first = run(store, [article("a", VOA)])
    assert first["a"].cluster_id == "a"
    store.put_articles([article("b", "Breaking News\n\n" + VOA.upper() + "\n\nShare this article", 30)])
    report = dedupe([article("b", "Breaking News\n\n" + VOA.upper() + "\n\nShare this article", 30)], store, WEEK)
    assert (report.exact, report.near, report.duplicates) == (1, 0, 1)
    assert store.get_articles(["b"])[0].duplicate_of == "a"


def test_a_copy_bridging_two_clusters_merges_them_into_the_earliest(store: SQLiteStore) -> None:
    lede = " ".join(paragraphs(VOA)[4:6])  # about 60 words
    rest = "\n".join(paragraphs(VOA)[8:])  # the story without its opening
    run(store, [article("early", lede, 0)])
    run(store, [article("middle", rest, 10)])
    store.put_articles([article("bridge", lede + "\n" + rest, 20)])
    report = dedupe([article("bridge", lede + "\n" + rest, 20)], store, WEEK)
    assert report.merged == 1
    saved = {item.id: item for item in store.get_articles(["early", "middle", "bridge"])}
    assert {item.cluster_id for item in saved.values()} == {"early"}
    assert saved["middle"].duplicate_of is None and saved["bridge"].duplicate_of in {"early", "middle"}


def test_window_leaves_older_articles_alone(store: SQLiteStore) -> None:
    run(store, [article("old", VOA, -10 * 24 * 60)])
    saved = run(store, [article("new", COPIES[0], 0)])
    assert saved["new"].cluster_id == "new" and saved["new"].duplicate_of is None
    later = run(store, [article("newer", COPIES[1], 60)])
    assert later["newer"].cluster_id == "new"


def test_a_cluster_spans_one_window_from_its_root(store: SQLiteStore) -> None:
    """A story that matches yesterday's copy every day (a daily template) starts a new cluster each window."""
    day = 24 * 60
    run(store, [article("monday", VOA, 0)])
    assert run(store, [article("saturday", COPIES[0], 5 * day)])["saturday"].cluster_id == "monday"
    next_week = run(store, [article("next-week", COPIES[1], 10 * day)])["next-week"]
    assert (next_week.cluster_id, next_week.duplicate_of) == ("next-week", None)


def test_published_falls_back_to_fetched(store: SQLiteStore) -> None:
    undated = article("undated", COPIES[0])
    undated.published, undated.fetched = None, NOON + timedelta(minutes=1)
    saved = run(store, [article("voa", VOA), undated])
    assert saved["undated"].cluster_id == "voa"


def test_empty_and_short_texts_neither_crash_nor_fold(store: SQLiteStore) -> None:
    stub = "Subscribe to read the full story on our website today."
    short = [article("empty", ""), article("blank", " \n\n "), article("s1", stub, 1), article("s2", stub, 2)]
    assert fingerprint(stub) is None
    store.put_articles(short)
    report = dedupe(short, store, WEEK)
    assert (report.too_short, report.duplicates) == (4, 0)
    assert {item.cluster_id for item in store.get_articles(a.id for a in short)} == {"empty", "blank", "s1", "s2"}
    assert dedupe([], store, WEEK).seen == 0


def test_reuters_clusters_against_the_exhaustive_truth(tmp_path: Path) -> None:
    """Co-membership in the clusters `dedupe()` writes to a real store, scored against every pair that satisfies
    the verification predicate (found exhaustively, without LSH): a change that costs recall (copies not folded)
    or precision (unrelated stories chained into one cluster) shows here, whatever the parameters."""
    from bench.bench_dedup import articles_from, cluster_pairs, run_stage, story_prints, true_pairs
    from bench.reuters import REUTERS, load_stories

    if not REUTERS.is_dir():
        pytest.skip(f"Reuters-21578 not found at {REUTERS} (../shared/data is not part of the repo)")
    stories = load_stories(files=3)
    truth = true_pairs(story_prints(stories, DEFAULT), DEFAULT)
    in_window = {(a, b) for a, b in truth if abs(stories[a].date - stories[b].date) <= WEEK}
    articles = articles_from(stories)
    _, store = run_stage(articles, tmp_path / "reuters.db", WEEK, batch=500)
    together = cluster_pairs(store, {article.id: index for index, article in enumerate(articles)})
    store.close()
    assert len(in_window) > 50
    recall = len(together & in_window) / len(in_window)
    precision = len(together & in_window) / len(together)
    assert recall >= 0.97, (recall, len(in_window))  # all 86 true pairs within the window are co-members
    assert precision >= 0.98, (precision, len(together))  # 86 of 87 co-member pairs are true ones


def test_an_earlier_copy_arriving_late_becomes_the_root(store: SQLiteStore) -> None:
    run(store, [article("copy", COPIES[0], 30)])
    saved = run(store, [article("voa", VOA, 0)])
    assert saved["voa"].cluster_id == "voa" and saved["voa"].duplicate_of is None
    assert store.get_articles(["copy"])[0].cluster_id == "voa"


# One story in ten copies, more than the root and MAX_VERIFIED others: six trims, each another outlet's headline and
# length, then three exact copies (only chrome added). A trim holds the band keys its cluster lacked, so the later
# trims share keys with five or six earlier members (trim4: trim2 9, trim3 7, trim1 2, voa 1, trim0 1; trim5: trim4 6,
# trim2 5, trim3 3, trim1 2, trim0 2, voa 1) and only the root and the three sharing most are verified.
TRIM_HEADLINES = [
    ("Kim's sister says no Trump summit this year", 17),
    ("North Korea rules out another summit with Trump before US election", 15),
    ("N. Korea: summit 'not useful' unless US changes approach", 13),
    ("Kim Yo Jong dismisses talk of a new summit with Trump", 11),
    ("North Korean leader's sister rejects summit talk", 10),
    ("Pyongyang says talks with Washington are not useful now", 9),
]
STORY = [
    article("voa", VOA, 0, "voa"),
    *(
        article(f"trim{n}", wire_copy(headline, keep, ["Advertisement"], ["Read more: world news"]), 10 + 10 * n)
        for n, (headline, keep) in enumerate(TRIM_HEADLINES)
    ),
    *(
        article(f"exact{n}", text, 100 + 10 * n, f"outlet{n}")
        for n, text in enumerate(
            ["Share this article\n\n" + VOA + "\n\nAdvertisement", "Menu\n\n" + VOA, VOA + "\n\nFollow us on Twitter"]
        )
    ),
]
# Each copy's original: the earlier member it shares most band keys with among those that verify; an exact copy
# shares every key with the root and none with the other copies (they hold none of the root's keys).
STORY_ORIGINALS = {
    "voa": None,
    "trim0": "voa",
    "trim1": "voa",  # voa 12 keys, trim0 10
    "trim2": "voa",  # 4 each with voa, trim0 and trim1: the earliest
    "trim3": "trim2",
    "trim4": "trim2",
    "trim5": "trim4",
    "exact0": "voa",
    "exact1": "voa",
    "exact2": "voa",
}


@pytest.mark.parametrize("one_batch", [True, False])
def test_a_story_with_more_copies_than_the_bound_folds_into_one_cluster(store: SQLiteStore, one_batch: bool) -> None:
    assert MAX_VERIFIED == 3  # the scenario's trim4 and trim5 have five and six members to choose from
    if one_batch:
        saved = run(store, STORY)
    else:
        saved = {}
        for item in STORY:
            saved |= run(store, [item])
    assert {found.id: found.cluster_id for found in saved.values()} == dict.fromkeys(STORY_ORIGINALS, "voa")
    assert {found.id: found.duplicate_of for found in saved.values()} == STORY_ORIGINALS


class CountingStore(SQLiteStore):
    """A real SQLite store that records the ids of every article loaded back from it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.loaded: list[str] = []

    def get_articles(self, ids: Iterable[str]) -> list[Article]:
        wanted = list(ids)
        self.loaded.extend(wanted)
        return super().get_articles(wanted)


def test_exact_copies_are_placed_without_loading_any_article(tmp_path: Path) -> None:
    """An exact copy is verified by its hash against the root it shares band keys with, and its own time comes with
    the batch: nothing is read back from the store, however many copies the story already has."""
    store = CountingStore(tmp_path / "wirewatch.db")
    run(store, [STORY[0]])
    copies = STORY[-3:]
    store.put_articles(copies)
    store.loaded.clear()
    dedupe(copies[:1], store, WEEK)
    dedupe(copies[1:], store, WEEK)
    assert store.loaded == []
    saved = store.get_articles(item.id for item in copies)
    assert [(found.cluster_id, found.duplicate_of) for found in saved] == [("voa", "voa")] * 3


# Band keys of the two sample stories as the per-article code before batch fingerprinting computed them: stored keys
# must not change, or every copy fetched after an upgrade would miss the originals stored before it.
VOA_KEYS = (36, "0eefa2f37bde1fa5", "e43e3d36ef293e4b", "968aba750409d789", "9be183ade76664a2", 557)
VICE_KEYS = (36, "b875bfb8f035d969", "fcf06feb1da3017c", "b8a3947b8a8f058b", "0768c04fe6582964", 587)


def keys_summary(found: Fingerprint | None) -> tuple[int, str, str, str, str, int]:
    """Key count, first and last whole-text key, first and last lede key, unique shingles."""
    assert found is not None
    keys = found.band_keys
    return (len(keys), keys[0], keys[29], keys[30], keys[35], len(found.shingles))


def test_a_batch_is_fingerprinted_as_each_text_alone() -> None:
    # 3,557 unique shingles: more than one chunk (2,048), so the long text is signed in pieces of its own
    long_text = VOA + "\n" + " ".join(f"word{n}" for n in range(3000))
    long_keys = (36, "8ac269db31a4b987", "a30e550a31cabf73", "968aba750409d789", "9be183ade76664a2", 3557)
    batch = fingerprints([VOA, "Too short to fold.", long_text, "", VICE])
    assert keys_summary(batch[0]) == VOA_KEYS
    assert (batch[1], batch[3]) == (None, None)
    assert keys_summary(batch[2]) == long_keys  # the lede keys are VOA's: the same opening words
    assert keys_summary(batch[4]) == VICE_KEYS
    assert keys_summary(fingerprint(VOA)) == VOA_KEYS and keys_summary(fingerprint(long_text)) == long_keys
    assert batch[0] is not None and batch[0].body_hash == "fce2738d2e2fcb692ffd82ebfa33749e"


def test_a_batch_larger_than_one_pass_is_fingerprinted_as_each_text_alone(monkeypatch) -> None:
    """Sketched two texts a pass: VOA and VICE land in different passes, a short text between, and each keeps the
    keys it has alone."""
    monkeypatch.setattr(dedup, "SKETCHED_AT_ONCE", 2)
    batch = fingerprints([VOA, "Too short to fold.", VICE, VOA, VICE])
    assert [keys_summary(found) for found in (batch[0], batch[2], batch[3], batch[4])] == [
        VOA_KEYS,
        VICE_KEYS,
        VOA_KEYS,
        VICE_KEYS,
    ]
    assert batch[1] is None


def test_word_hashes_are_kept_up_to_their_bound_then_started_afresh_with_the_same_values(monkeypatch):
    """The word-hash cache holds at most its bound (a process's life of real feeds would otherwise keep every word it
    met); starting afresh changes no hash, since each is blake2b of the word."""
    monkeypatch.setattr(dedup, "_WORD_IDS", {})
    monkeypatch.setattr(dedup, "_WORD_CACHE", 3)

    def blake(word: str) -> int:
        return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")

    first = dedup._word_ids(["summit", "talks", "summit"])
    assert sorted(dedup._WORD_IDS) == ["summit", "talks"]
    second = dedup._word_ids(["kim", "jong", "summit"])  # two held and two new words: more than 3, so afresh
    assert sorted(dedup._WORD_IDS) == ["jong", "kim", "summit"]
    assert [int(value) for value in first] == [blake("summit"), blake("talks"), blake("summit")]
    assert [int(value) for value in second] == [blake("kim"), blake("jong"), blake("summit")]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_the_normalised_words_are_the_normalised_texts_words_one_by_one(text: str) -> None:
    """`fingerprints` takes the words without joining and splitting them again: no word may hold whitespace, in
    any script (Unicode's spaces, line and paragraph separators, the C0 separators `str.split` splits on)."""
    assert normalised_words(text) == normalise(text).split()

"""The cue lexicon learned from PolNeAR train (pipeline/enrich/lexicon/learned_cues.tsv), as bench/learn_cues.py
writes it: every kept word meets the thresholds its header states, and none is a word another rule reads or a
belief verb earlier rounds left out on purpose. The thresholds are written here by hand from the header."""

from __future__ import annotations

from importlib.resources import files

from pipeline.enrich import lexicon
from pipeline.enrich.quotes.reported import CLAIM_NOUNS, COMPLEMENT_VERBS, LEARNED_CUES, REPORTED_VERBS

MIN_HEADS = 5
MIN_SHARE = 0.5
MIN_RIGHT = 0.7
MIN_PREDICTED = 3
BELIEFS = {"think", "thinks", "believe", "believes", "know", "knows", "fear", "fears", "feel", "feels"}


def _rows() -> list[list[str]]:
    return lexicon.rows("learned_cues.tsv")


def test_the_header_states_its_provenance_and_thresholds() -> None:
    text = files("pipeline.enrich.lexicon").joinpath("learned_cues.tsv").read_text(encoding="utf-8")
    assert "python bench/learn_cues.py --min-heads 5 --min-share 0.5 --min-right 0.7 --min-predicted 3" in text
    assert "polnear/train" in text


def test_every_kept_word_meets_the_thresholds() -> None:
    kept = [row for row in _rows() if row[6].strip() == "yes"]
    assert len(kept) >= 20
    for word, heads, occurrences, _, right, predicted, _ in kept:
        assert int(heads) >= MIN_HEADS, word
        assert int(heads) >= MIN_SHARE * int(occurrences), word
        assert int(predicted) >= MIN_PREDICTED, word
        assert int(right) >= MIN_RIGHT * int(predicted), word
    assert {row[0] for row in kept} == LEARNED_CUES


def test_words_left_out_fail_a_threshold() -> None:
    for word, *_, right, predicted, kept in _rows():
        if kept.strip() == "no":
            assert int(predicted) < MIN_PREDICTED or int(right) < MIN_RIGHT * int(predicted), word


def test_no_learned_word_is_read_by_another_rule_or_a_belief() -> None:
    assert LEARNED_CUES
    for word in LEARNED_CUES:
        assert word not in REPORTED_VERBS and word not in COMPLEMENT_VERBS and word not in CLAIM_NOUNS
        assert word not in BELIEFS
    assert "criticized" in LEARNED_CUES and "said" not in LEARNED_CUES

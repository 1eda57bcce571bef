"""The stance model trained on PolNeAR train (pipeline/enrich/lexicon/stance_model.tsv), as bench/learn_stance.py
writes it: its header states how it was made, no word it reads is a curated verb or noun of saying (those make
`indirect` attributions), and the analysis scores a candidate by adding its features' weights."""

from __future__ import annotations

from importlib.resources import files

import pytest

from pipeline.enrich.quotes.reported import (
    CLAIM_NOUNS,
    COMPLEMENT_VERBS,
    LEARNED_CUES,
    REPORTED_VERBS,
    STANCE_WEIGHTS,
    stance_score,
)


def test_the_header_states_its_provenance_and_threshold() -> None:
    text = files("pipeline.enrich.lexicon").joinpath("stance_model.tsv").read_text(encoding="utf-8")
    assert "python bench/learn_stance.py" in text
    assert "polnear/train only" in text
    assert "Threshold: the probability" in text
    assert "PolNeAR dev\n# and GGT dev were not read" in text


def test_no_word_the_model_reads_is_a_curated_word_of_saying() -> None:
    assert len(LEARNED_CUES) >= 50
    for word in LEARNED_CUES:
        assert word not in REPORTED_VERBS and word not in COMPLEMENT_VERBS and word not in CLAIM_NOUNS
    assert {"endorsed", "criticized", "declined"} <= LEARNED_CUES
    assert "said" not in LEARNED_CUES and "told" not in LEARNED_CUES


def test_a_score_is_the_bias_plus_the_weights_of_the_features_it_has() -> None:
    features = ["w=endorsed", "length=3-5", "a feature the model has never seen"]
    expected = STANCE_WEIGHTS["bias"] + STANCE_WEIGHTS["w=endorsed"] + STANCE_WEIGHTS.get("length=3-5", 0.0)
    assert stance_score(features) == pytest.approx(expected)
    assert stance_score([]) == STANCE_WEIGHTS["bias"]

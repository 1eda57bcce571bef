"""The stance model trained on PolNeAR train (pipeline/enrich/lexicon/stance_model.tsv), as bench/learn_stance.py
writes it: its header states how it was made, it reads the curated words of saying too but never a clause after one
(clauses are reported speech, the rules' `indirect` attributions), and the analysis scores a candidate by adding its
features' weights."""

from __future__ import annotations

from importlib.resources import files

import pytest

from pipeline.enrich.quotes.reported import (
    _CLAUSE_OPENERS,
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


def test_the_model_reads_curated_words_of_saying_but_not_their_clauses() -> None:
    assert len(LEARNED_CUES) >= 50
    assert {"endorsed", "criticized", "declined"} <= LEARNED_CUES
    assert {"said", "shows", "announced"} <= LEARNED_CUES  # "shows Trump ahead", "announced his resignation"
    assert {"said", "shows", "announced"} <= set(REPORTED_VERBS)
    assert "that" in _CLAUSE_OPENERS and "she" in _CLAUSE_OPENERS
    assert "the" not in _CLAUSE_OPENERS and "his" not in _CLAUSE_OPENERS


def test_a_score_is_the_bias_plus_the_weights_of_the_features_it_has() -> None:
    features = ["w=endorsed", "length=3-5", "a feature the model has never seen"]
    expected = STANCE_WEIGHTS["bias"] + STANCE_WEIGHTS["w=endorsed"] + STANCE_WEIGHTS.get("length=3-5", 0.0)
    assert stance_score(features) == pytest.approx(expected)
    assert stance_score([]) == STANCE_WEIGHTS["bias"]

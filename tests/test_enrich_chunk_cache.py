"""The analyser splits each chunk of text once (`analyze._ChunkCache`), with the tokens spaCy gives without it.

Each case's expected value is written beside it, never computed by the code under test.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from spacy.language import Language
from spacy.tokenizer import Tokenizer

from pipeline.config import Config
from pipeline.enrich.analyze import CHUNK_CACHE_SIZE, _ChunkCache
from pipeline.enrich.entities import build_nlp

# "Mr." is one of spaCy's special cases: past it, spaCy caches none of the text's chunks.
TEXT = "Mr. Kim said the talks, which began on Monday, failed."


@pytest.fixture(scope="module")
def pipeline() -> tuple[Language, Callable[[str], re.Match[str] | None]]:
    """One rule pipeline for the module (building one takes seconds), with its tokenizer's own prefix search."""
    nlp = build_nlp(Config())
    tokenizer: Tokenizer = nlp.tokenizer
    return nlp, tokenizer.prefix_search


@pytest.fixture
def nlp(pipeline: tuple[Language, Callable[[str], re.Match[str] | None]]) -> Language:
    """The pipeline with an empty chunk cache (setting the tokenizer's prefix search empties it)."""
    nlp, search = pipeline
    tokenizer: Tokenizer = nlp.tokenizer
    tokenizer.prefix_search = search
    return nlp


def counting_prefix_searches(nlp: Language) -> list[str]:
    """The chunks the tokenizer asks its prefix rules about from now on: it asks for every chunk it splits afresh
    (twice for "talks,", once more after its comma is split off), and never for one it reads from its cache."""
    asked: list[str] = []
    tokenizer: Tokenizer = nlp.tokenizer
    search: Callable[[str], re.Match[str] | None] = tokenizer.prefix_search

    def counting(text: str) -> re.Match[str] | None:
        asked.append(text)
        return search(text)

    tokenizer.prefix_search = counting  # setting it empties the tokenizer's cache
    return asked


def test_without_the_chunk_cache_spacy_splits_every_chunk_past_a_special_case_again(nlp: Language) -> None:
    asked = counting_prefix_searches(nlp)
    nlp.make_doc(TEXT)
    asked.clear()
    nlp.make_doc(TEXT)
    assert asked == [
        "Kim", "said", "the", "talks,", "talks", "which", "began", "on", "Monday,", "Monday", "failed.", "failed",
    ]  # fmt: skip


def test_with_the_chunk_cache_a_text_seen_before_is_read_from_the_cache_alone(nlp: Language) -> None:
    asked = counting_prefix_searches(nlp)
    chunks = _ChunkCache()
    chunks.cache_new(nlp, TEXT)
    nlp.make_doc(TEXT)
    asked.clear()
    chunks.cache_new(nlp, TEXT)
    nlp.make_doc(TEXT)
    assert asked == []


def test_a_new_text_splits_only_its_new_chunks(nlp: Language) -> None:
    asked = counting_prefix_searches(nlp)
    chunks = _ChunkCache()
    chunks.cache_new(nlp, TEXT)
    asked.clear()
    chunks.cache_new(nlp, "Mr. Kim said the talks failed, Mr. Moon said.")
    # the new words of letters first, in one text; then each other new chunk in a text of its own
    assert asked == ["talks", "Moon", "failed,", "failed", "said.", "said"]


def test_the_tokens_are_spacys_own_on_every_reading(nlp: Language) -> None:
    chunks = _ChunkCache()
    text = "Mr. Kim said: “We don’t yield.” Then he left, at 5 p.m. on Jan. 3."
    expected = [
        "Mr.", "Kim", "said", ":", "“", "We", "do", "n’t", "yield", ".", "”", "Then", "he", "left", ",", "at", "5",
        "p.m.", "on", "Jan.", "3", ".",
    ]  # fmt: skip
    for _ in range(3):
        chunks.cache_new(nlp, text)
        assert [token.text for token in nlp.make_doc(text)] == expected


def test_the_tokenizer_keeps_more_chunks_than_spacys_default(nlp: Language) -> None:
    assert Tokenizer(nlp.vocab).max_cache_size == 10_000  # spaCy's default
    _ChunkCache().cache_new(nlp, TEXT)
    tokenizer: Tokenizer = nlp.tokenizer
    assert tokenizer.max_cache_size == CHUNK_CACHE_SIZE == 50_000

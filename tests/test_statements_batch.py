"""A batch's statements are stored in one transaction with its mark as processed (`cycle.group_statements`), and a
statement is saved with only the reports it gained. The order guarantees, re-proved on real SQLite: an article is
marked processed only with its statements stored; a run that dies before the commit leaves neither, and the next run
finds what one whole run finds; running a batch twice changes nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest

from pipeline.cycle import group_statements
from pipeline.records import Article, Statement, StatementQuote
from pipeline.store.sqlite import SQLiteStore
from tests.test_enrich_statements import MONDAY, report

SUMMIT = '"A summit will not take place this year."'
DRILLS = '"The drills must stop before anything else."'


def batch() -> list[Article]:
    """Three reports of Kim Yo Jong, in one batch: a statement, a copy of it an hour later (which must find the
    statement the batch's first article made, before any commit), and another statement two days on."""
    return [
        report("voa", MONDAY, SUMMIT),
        report("copy", MONDAY + timedelta(hours=1), SUMMIT, "copy"),
        report("later", MONDAY + timedelta(days=2), DRILLS, "later"),
    ]


def stored(path: Path) -> list[tuple[str, list[str]]]:
    """Each statement's text and the articles of its reports, as a fresh connection reads the file."""
    with SQLiteStore(path) as store:
        return [(s.text, [q.article_id for q in s.quotes]) for s in reversed(store.list_statements())]


# Both statements, the copy attached to the first: what grouping the three articles one at a time also gives.
EXPECTED = [(SUMMIT, ["voa", "copy"]), (DRILLS, ["later"])]


def test_a_batch_in_one_transaction_finds_what_one_article_at_a_time_finds(tmp_path: Path) -> None:
    one_go = tmp_path / "batch.db"
    with SQLiteStore(one_go) as store:
        articles = batch()
        store.put_articles(articles)
        found = group_statements(store, articles, [a.id for a in articles])
        assert (len(found.new), len(found.updated)) == (2, 1)
        assert store.unprocessed_articles(MONDAY + timedelta(days=30), 10) == []
    assert stored(one_go) == EXPECTED
    singly = tmp_path / "singly.db"
    with SQLiteStore(singly) as store:
        for article in batch():
            store.put_articles([article])
            group_statements(store, [article], [article.id])
    assert stored(singly) == EXPECTED


class DiesBeforeMarking(SQLiteStore):
    """A run killed after the batch's statements were written, before its articles were marked processed."""

    def mark_processed(self, ids: object) -> None:
        raise KeyboardInterrupt


def test_a_run_dying_before_the_mark_leaves_no_statement_and_the_next_run_finds_them_all(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    articles = batch()
    with DiesBeforeMarking(path) as dying:
        dying.put_articles(articles)
        with pytest.raises(KeyboardInterrupt):
            group_statements(dying, articles, [a.id for a in articles])
    assert stored(path) == []  # the three statements' writes went with the transaction
    with SQLiteStore(path) as store:
        left = store.unprocessed_articles(MONDAY + timedelta(days=30), 10)
        assert left == ["voa", "copy", "later"]  # still due: the next run takes them
        group_statements(store, store.get_articles(left), left)
        assert store.unprocessed_articles(MONDAY + timedelta(days=30), 10) == []
    assert stored(path) == EXPECTED


def test_another_connection_sees_a_batch_only_once_it_is_committed(tmp_path: Path) -> None:
    """What a killed process leaves is what another connection sees before the commit: nothing of the batch."""
    path = tmp_path / "w.db"
    with SQLiteStore(path) as store, SQLiteStore(path) as reader:
        store.put_articles(batch())
        with store.transaction():
            store.save_statement(Statement("s1", "Kim Yo Jong", MONDAY, "no summit"))
            store.mark_processed(["voa"])
            assert store.get_statement("s1") is not None  # the writer reads its own writes
            assert reader.get_statement("s1") is None
            assert reader.unprocessed_articles(MONDAY + timedelta(days=30), 10) == ["voa", "copy", "later"]
        assert reader.get_statement("s1") is not None
        assert reader.unprocessed_articles(MONDAY + timedelta(days=30), 10) == ["copy", "later"]


def test_running_a_batch_twice_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    with SQLiteStore(path) as store:
        articles = batch()
        store.put_articles(articles)
        ids = [a.id for a in articles]
        group_statements(store, articles, ids)
        before = [(s.id, s.updated, [(q.article_id, q.text) for q in s.quotes]) for s in store.list_statements()]
        again = group_statements(store, store.get_articles(ids), ids)
        assert (again.new, again.updated) == ([], [])
        after = [(s.id, s.updated, [(q.article_id, q.text) for q in s.quotes]) for s in store.list_statements()]
        assert after == before
    assert stored(path) == EXPECTED


def test_a_write_that_fails_inside_a_transaction_is_undone_alone(tmp_path: Path) -> None:
    """A save that fails halfway (its statement row written, its report not) leaves nothing of itself, and the
    transaction's other writes commit: as when each save was a transaction of its own."""
    path = tmp_path / "w.db"
    # no text: its wording key fails after the statement's row is written
    broken = StatementQuote(cast(str, None), "voa", "https://example.org/voa", "VOA", "Summit", MONDAY)
    with SQLiteStore(path) as store:
        with store.transaction():
            store.save_statement(Statement("good", "Kim Yo Jong", MONDAY, "no summit"))
            with pytest.raises(AttributeError):
                store.save_statement(Statement("bad", "Kim Yo Jong", MONDAY, "no talks", [broken]))
        assert store.get_statement("bad") is None
        assert store.get_statement("good") is not None


class Recording(SQLiteStore):
    """Records how many reports each saved statement carried."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.carried: list[int] = []

    def save_statement(self, statement: Statement) -> None:
        self.carried.append(len(statement.quotes))
        super().save_statement(statement)


def test_a_statement_is_saved_with_only_the_reports_it_gained(tmp_path: Path) -> None:
    with Recording(tmp_path / "w.db") as store:
        articles = batch()
        store.put_articles(articles)
        group_statements(store, articles, [a.id for a in articles])
        assert store.carried == [1, 1, 1]  # voa's new statement, the copy's report alone, later's new statement
        (summit,) = [s for s in store.list_statements() if s.text == SUMMIT]
        assert [q.article_id for q in summit.quotes] == ["voa", "copy"]  # the first report kept

"""The cycle bench's dedupe and statements figure: per article over the first batch and over the cycle's tail.

Each case's expected value is worked out by hand beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import sys
from pathlib import Path

import pytest

from bench.bench_cycle import TAIL_ARTICLES, per_article_us, tail_per_article_us


@pytest.mark.parametrize(
    ("batches", "expected"),
    [
        # from the end: 20 articles (0.3 s), then 80 more (0.2 s): 100 articles in 0.5 s; 0.5 s / 100 = 5,000 us
        ([(200, 1.0), (80, 0.2), (20, 0.3)], 5000.0),
        # a last batch of 100 alone is enough: 0.2 s / 100 = 2,000 us
        ([(200, 1.0), (100, 0.2)], 2000.0),
        # fewer than 100 articles in the whole cycle: all of them, 0.4 s / 50 = 8,000 us
        ([(30, 0.3), (20, 0.1)], 8000.0),
        ([], 0.0),
    ],
)
def test_the_tail_figure_takes_the_last_batches_until_they_hold_100_articles(
    batches: list[tuple[int, float]], expected: float
) -> None:
    assert TAIL_ARTICLES == 100
    assert tail_per_article_us(batches) == pytest.approx(expected)


def test_the_first_batch_figure_is_per_article_of_each_batch() -> None:
    # 1.0 s / 200 = 5,000 us; 0.2 s / 80 = 2,500 us; an empty batch gives no figure
    assert per_article_us([(200, 1.0), (80, 0.2), (0, 0.1)]) == pytest.approx([5000.0, 2500.0])


def _shipped_xpaths() -> dict[str, list[str]]:
    """trafilatura's lists of XPath expressions as its source file writes them, loaded apart from the module our
    patches rewrite in place."""
    import importlib.util

    from trafilatura import xpaths

    spec = importlib.util.spec_from_file_location("shipped_xpaths", xpaths.__file__)
    assert spec is not None and spec.loader is not None
    shipped = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shipped)
    return {name: [x.path for x in value] for name, value in vars(shipped).items() if isinstance(value, list)}


def _current_xpaths() -> dict[str, list[str]]:
    from trafilatura import xpaths

    return {name: [x.path for x in value] for name, value in vars(xpaths).items() if isinstance(value, list)}


def test_the_yardstick_gets_trafilatura_as_it_ships() -> None:
    """Our extractor patches trafilatura in place (`pipeline.trafilatura_patches`); the yardstick's workers (forked
    from the same forkserver) get every piece of trafilatura's own back, and a second undo changes nothing."""
    from lxml.html import HtmlElement, InputElement
    from trafilatura import core, external, metadata, settings, utils

    from bench.bench_cycle import trafilatura_as_shipped
    from pipeline.trafilatura_patches import ScreenedPattern, patch_trafilatura

    field = "<html><body><form><input name='q'></form></body></html>"
    baseline_module = sys.modules["trafilatura.baseline"]
    assert isinstance(utils.INVALID_XML_CHARS, ScreenedPattern)
    assert type(utils.load_html(field).find(".//input")) is HtmlElement  # our C lookup: no form-field classes
    assert core.load_html is not utils.load_html  # the handed-over tree
    assert _current_xpaths() != _shipped_xpaths()  # rewritten
    try:
        for _ in range(2):
            trafilatura_as_shipped()
            # trafilatura 2.3.1's pattern, as utils.py writes it
            assert utils.INVALID_XML_CHARS.pattern == "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\ufffe\\uffff]"
            assert type(utils.load_html(field).find(".//input")) is InputElement  # lxml.html's own lookup
            assert core.load_html is utils.load_html
            assert metadata.JSON_MINIFY.pattern == r'("(?:\\.|[^"\\])*")|\s'  # as metadata.py writes it
            assert baseline_module.remove_control_characters is utils.remove_control_characters
            assert utils.remove_control_characters.__module__ == "trafilatura.utils"
            assert baseline_module.BASIC_CLEAN_XPATH is settings.BASIC_CLEAN_XPATH
            assert settings.BASIC_CLEAN_XPATH.path.startswith(".//aside")  # as settings.py writes it
            assert _current_xpaths() == _shipped_xpaths()
            assert core._prepare_tree.__module__ == "trafilatura.core"  # the backup copied on every page again
            assert external.justext_rescue.__module__ == "trafilatura.external"
    finally:  # this test's process goes on extracting as the workers do
        patch_trafilatura()
    assert isinstance(utils.INVALID_XML_CHARS, ScreenedPattern)
    assert core.load_html is not utils.load_html
    assert _current_xpaths() != _shipped_xpaths()


def _page_feed(base_url: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Pages</title>'
        f"<item><title>Page 3</title><link>{base_url}/pages/3.html</link><guid>p3</guid></item>"
        "<item><title>Elsewhere</title><link>http://example.com/pages/3.html</link><guid>e3</guid></item>"
        "</channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("port", "product_id"),
    [
        (5555, "09b660a8778cf90428084059"),  # sha256 of "http://127.0.0.1:5555/pages/3.html", first 24 digits
        (41234, "ecdd6a917aa2fec5e4665fa0"),  # of "http://127.0.0.1:41234/pages/3.html"
    ],
)
def test_the_bench_keys_its_pages_by_path_whatever_the_servers_port(port: int, product_id: str) -> None:
    """The copies of a page tie on their times and the tie goes by id: keyed by path, a run's originals and batches
    do not depend on the port the loopback server got. Other URLs keep the product's key."""
    from bench.bench_cycle import page_id, port_free_ids
    from pipeline.feeds import new_entries_from_body

    base_url = f"http://127.0.0.1:{port}"
    feed_url = f"{base_url}/feeds/pages.xml"
    with port_free_ids(base_url):
        entries = new_entries_from_body(feed_url, None, feed_url, _page_feed(base_url), {})[0].entries()
    # sha256 of "http://pages.bench.invalid/pages/3.html" and of "http://example.com/pages/3.html", first 24 digits
    assert [entry.id for entry in entries] == ["257b4f30b1973cf61964fd17", "b3799c5fa6696db0dbd3e430"]
    assert page_id(3) == "257b4f30b1973cf61964fd17"
    assert entries[0].url == f"{base_url}/pages/3.html"  # still fetched from the server
    entries = new_entries_from_body(feed_url, None, feed_url, _page_feed(base_url), {})[0].entries()
    assert entries[0].id == product_id  # outside the bench, the whole URL is keyed, as before


def test_the_replayed_parts_are_the_first_batch_and_the_last_batches_holding_100_articles() -> None:
    from bench.bench_flatness import parts

    batches = [["a"] * 200, ["b"] * 200, ["c"] * 100, ["d"] * 50, ["e"] * 25, ["f"] * 25]
    chosen = parts(batches)
    assert chosen.first.batches == [["a"] * 200]
    # from the end: 25 + 25 + 50 = 100 articles, so the last three batches; the store before them has the first three
    assert chosen.last.batches == [["d"] * 50, ["e"] * 25, ["f"] * 25]
    assert chosen.last_alone.batches == chosen.last.batches
    assert (chosen.last.state, chosen.last_alone.state) == ("before last", "cleared")
    assert chosen.before_last == [["a"] * 200, ["b"] * 200, ["c"] * 100]


@pytest.mark.parametrize("step", ["store_pages", "dedupe_and_group", "dedupe_articles", "group_statements"])
def test_a_counted_step_runs_once_inside_its_marker_and_hands_back_what_it_returned(step: str) -> None:
    """`--only instructions` runs each step inside a C function of CPython that calls it once: the step must run
    exactly once, with its arguments, and its result and its exceptions must come back unchanged."""
    from bench.bench_cycle import _counted

    calls: list[tuple[object, ...]] = []

    def stage(*args: object) -> str:
        calls.append(args)
        return "stored"

    assert _counted(step, stage)("store", ["a1", "a2"]) == "stored"
    assert calls == [("store", ["a1", "a2"])]

    def failing(*_: object) -> None:
        raise ValueError("store went away")

    with pytest.raises(ValueError, match="store went away"):
        _counted(step, failing)()


def test_release_memory_counted_returns_none_as_it_does_in_the_cycle() -> None:
    from bench.bench_cycle import _counted

    seen: list[str] = []
    assert _counted("release_memory", seen.append)("store") is None
    assert seen == ["store"]


def test_each_counted_step_has_a_marker_of_its_own() -> None:
    """Two steps under one C function would add up in one inclusive count."""
    from bench.bench_cycle import COUNTED_STEPS

    markers = [function for function, _ in COUNTED_STEPS.values()]
    assert sorted(markers) == [
        "filterfalse_next",
        "functools_reduce",
        "starmap_next",
        "sys_call_tracing",
        "takewhile_next",
    ]


def test_inclusive_counts_keep_the_largest_line_of_a_function_split_by_inlining() -> None:
    from bench.bench_cycle import parse_inclusive

    annotated = (
        "1,411,967,141 (100.0%)  PROGRAM TOTALS\n"
        "  297,690,655 (21.08%)  /b/Python/clinic/sysmodule.c.h:sys_call_tracing [/lib/libpython3.11.so]\n"
        "  297,690,625 (21.08%)  /b/Python/sysmodule.c:sys_call_tracing\n"
        "  296,251,856 (20.98%)  ???:sqlite3_step [/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6]\n"
        "   14,399,661 ( 1.02%)  ???:sqlite3_step'2 [/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6]\n"
    )
    # the recursion's own line (sqlite3_step'2) is not the function's total, and is left out
    assert parse_inclusive(annotated) == {"sys_call_tracing": 297_690_655, "sqlite3_step": 296_251_856}


def test_the_cycles_dump_is_the_one_written_at_the_end_mark(tmp_path: Path) -> None:
    from bench.bench_cycle import cycle_dump

    for name, trigger in [
        ("callgrind.7.1", "--dump-before=getppid"),
        ("callgrind.7.2", "--dump-before=getpgrp"),
        ("callgrind.7", "Program termination"),
    ]:
        (tmp_path / name).write_text(f"version: 1\ndesc: Trigger: {trigger}\ntotals: 5\n")
    assert cycle_dump(tmp_path) == tmp_path / "callgrind.7.2"
    # a third mark (something in the cycle called getppid) would cut the count short: refused
    (tmp_path / "callgrind.7.3").write_text("desc: Trigger: --dump-before=getppid\ntotals: 5\n")
    with pytest.raises(AssertionError):
        cycle_dump(tmp_path)


def test_the_stored_outcome_counts_statements_originals_and_reports(tmp_path: Path) -> None:
    from bench.bench_cycle import stored_outcome

    database = tmp_path / "cycle.db"
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("CREATE TABLE statements (id TEXT)")
        db.execute("CREATE TABLE articles (id TEXT, cluster_id TEXT, duplicate_of TEXT)")
        db.execute("CREATE TABLE statement_reports (statement_id TEXT, article_id TEXT, wording TEXT)")
        db.executemany("INSERT INTO statements VALUES (?)", [("s1",), ("s2",)])
        db.executemany("INSERT INTO articles VALUES (?, ?, ?)", [("b", "a", "a"), ("a", "a", None), ("c", "c", None)])
        db.executemany(
            "INSERT INTO statement_reports VALUES (?, ?, ?)", [("s2", "c", "w"), ("s1", "a", "x"), ("s1", "b", "x")]
        )
    # two originals (a, c: duplicate_of empty); the digest is of the rows in id order, written out here
    rows = (
        [("a", "a", None), ("b", "a", "a"), ("c", "c", None)],
        [("s1", "a", "x"), ("s1", "b", "x"), ("s2", "c", "w")],
    )
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:12]
    assert stored_outcome(database) == f"2 statements, 2 originals, 3 reports (clusters and reports {digest})"


def test_a_clients_connect_timeout_is_the_shorter_of_its_deadline_and_the_class_limit() -> None:
    from unittest import mock

    from pipeline.config import config_from_dict
    from pipeline.web import WebClient

    fetch = config_from_dict({"fetch": {"timeout": "60s"}}).fetch
    assert WebClient(fetch).connections.connect_timeout == 10.0  # the product's limit
    with mock.patch.object(WebClient, "CONNECT_SECONDS", 3600.0):  # as `--only instructions` lengthens it
        assert WebClient(fetch).connections.connect_timeout == 60.0  # now the deadline is the shorter
    short = config_from_dict({"fetch": {"timeout": "4s"}}).fetch
    assert WebClient(short).connections.connect_timeout == 4.0


def test_a_memory_childs_cycle_run_comes_back_as_it_was_written() -> None:
    """`--only memory` runs each cycle in a fresh process, which prints its `CycleRun` as JSON; the parent reads
    it back with its tuples made again (JSON has only lists)."""
    import json
    from dataclasses import asdict

    from bench.bench_cycle import CycleRun, cycle_run_from_json

    run = CycleRun(
        seconds=61.5,
        indexed=543,
        peak_bytes=600 * 2**20,
        peak_pss=340 * 2**20,
        cpu_seconds=38.0,
        dedupe=[(200, 1.25)],
        statements=[(200, 0.75)],
        rss_at_peak=(104 * 2**20, 150 * 2**20),
        own_peaks={"main": [104 * 2**20], "worker": [152 * 2**20, 155 * 2**20]},
        batches=[["a1", "a2"]],
        outcome="499 statements, 185 originals, 3,902 reports (clusters and reports 87360451a943)",
    )
    back = cycle_run_from_json(json.dumps(asdict(run)))
    assert back == run
    assert back.rss_at_peak == (109051904, 157286400)  # 104 and 150 MiB, a tuple
    assert back.dedupe == [(200, 1.25)] and back.statements == [(200, 0.75)]  # each batch's pair, a tuple again

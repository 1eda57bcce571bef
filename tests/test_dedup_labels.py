"""`DedupReport.label`: the articles a batch loaded get the cluster and original dedupe stored for them, so the
cycle's statements step can use them without loading the batch again. Real SQLite."""

from __future__ import annotations

from pathlib import Path

from pipeline.dedup import dedupe
from pipeline.store.sqlite import SQLiteStore
from tests.test_dedup import COPIES, VICE, VOA, WEEK, article, paragraphs


def stored(store: SQLiteStore, ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
    return {item.id: (item.cluster_id, item.duplicate_of) for item in store.get_articles(ids)}


def test_labelled_articles_hold_what_the_store_holds(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "wirewatch.db")
    batch = [
        article("voa", VOA, 0, "voa"),
        article("vice", VICE, 3, "vice"),
        article("copy", COPIES[0], 5),
        article("short", "Too short to fold.", 6),
    ]
    store.put_articles(batch)
    loaded = store.get_articles(item.id for item in batch)
    report = dedupe(loaded, store, WEEK)
    report.label(loaded)
    labelled = {item.id: (item.cluster_id, item.duplicate_of) for item in loaded}
    assert labelled["voa"] == ("voa", None)
    assert labelled["vice"] == ("vice", None)
    assert labelled["copy"] == ("voa", "voa")
    assert labelled["short"] == ("short", None)  # too short to fold: as it was stored
    assert labelled == stored(store, ["voa", "vice", "copy", "short"])


def test_a_merge_relabels_an_article_the_batch_placed_first(tmp_path: Path) -> None:
    """The batch's later copy bridges the batch's earlier article into an older cluster: the earlier article's
    label follows the merge, as its stored row does."""
    store = SQLiteStore(tmp_path / "wirewatch.db")
    lede = " ".join(paragraphs(VOA)[4:6])
    rest = "\n".join(paragraphs(VOA)[8:])
    early = [article("early", lede, 0)]
    store.put_articles(early)
    dedupe(early, store, WEEK)
    batch = [article("middle", rest, 10), article("bridge", lede + "\n" + rest, 20)]
    store.put_articles(batch)
    loaded = store.get_articles(["middle", "bridge"])
    report = dedupe(loaded, store, WEEK)
    report.label(loaded)
    assert report.merged == 1
    labelled = {item.id: (item.cluster_id, item.duplicate_of) for item in loaded}
    assert labelled["middle"] == ("early", None)
    assert labelled["bridge"][0] == "early"
    assert labelled == stored(store, ["middle", "bridge"])


def test_a_rerun_labels_skipped_articles_with_their_stored_cluster(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "wirewatch.db")
    batch = [article("voa", VOA, 0, "voa"), article("copy", COPIES[1], 5)]
    store.put_articles(batch)
    dedupe(batch, store, WEEK)
    loaded = store.get_articles(["voa", "copy"])
    report = dedupe(loaded, store, WEEK)
    report.label(loaded)
    assert report.skipped == 2
    assert {item.id: (item.cluster_id, item.duplicate_of) for item in loaded} == {
        "voa": ("voa", None),
        "copy": ("voa", "voa"),
    }

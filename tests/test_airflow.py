"""The DAGs under real Airflow: `dag.test()` against the demo site on loopback, a loopback SMTP server, SQLite.

Airflow reads its settings when first imported, so the environment is set
here, before the import; its metadata database is SQLite in a temporary
AIRFLOW_HOME, created once for the module because start-up costs seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="wirewatch-airflow-"))
os.environ.update(
    AIRFLOW_HOME=str(AIRFLOW_HOME),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
    AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
)
pytest.importorskip("airflow.sdk", reason="Airflow is not installed (pip install -e '.[airflow]')")

from airflow.dag_processing.bundles.manager import DagBundlesManager  # noqa: E402
from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db  # noqa: E402
from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel  # noqa: E402
from airflow.models.dag import DagModel  # noqa: E402
from airflow.sdk import DAG  # noqa: E402
from airflow.utils import db  # noqa: E402
from airflow.utils.session import create_session  # noqa: E402
from airflow.utils.state import DagRunState, TaskInstanceState  # noqa: E402
from sqlalchemy import delete, select  # noqa: E402
from wirewatch_airflow.smtp import smtp_sender  # noqa: E402  # the plugins folder is on sys.path once Airflow is imported

from pipeline.alert import DeliveryError  # noqa: E402
from pipeline.config import Config, load_config  # noqa: E402
from pipeline.demo.server import SiteServer, serve  # noqa: E402
from pipeline.demo.site import feed_urls, sample_routes  # noqa: E402
from pipeline.orchestration import due_entry_batches, poll_plan  # noqa: E402
from pipeline.records import Article, FeedState, utcnow  # noqa: E402
from pipeline.store import SearchQuery  # noqa: E402
from pipeline.store.sqlite import SQLiteStore  # noqa: E402
from tests.conftest import KIM_YO_JONG, Mailbox  # noqa: E402

DAG_IDS = {"wirewatch_poll", "wirewatch_process", "wirewatch_maintenance"}


@pytest.fixture(scope="module")
def dags() -> Iterator[dict[str, DAG]]:
    """Parse the DAG folder once, and register it as the DAG processor would, so the process DAG can be queued."""
    db.initdb()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bag = DagBag(dag_folder=REPO / "dags", bundle_path=REPO / "dags", bundle_name="dags-folder")
    assert not bag.import_errors
    assert not bag.captured_warnings
    assert [str(warning.message) for warning in caught if "dags" in str(warning.filename)] == []
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)
    yield {dag_id: bag.dags[dag_id] for dag_id in DAG_IDS}
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture
def mailbox(smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch) -> Mailbox:
    """The loopback SMTP server, reached through Airflow's `smtp_default` connection."""
    box, port = smtp
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", f"smtp://127.0.0.1:{port}?disable_ssl=true&disable_tls=true")
    return box


@pytest.fixture
def site() -> Iterator[SiteServer]:
    with serve({}) as server:
        server.routes.update(sample_routes(server.base_url, utcnow()))
        yield server


def write_config_loaded(tmp_path: Path) -> Config:
    return load_config(str(tmp_path / "wirewatch.yaml"))


def write_config(tmp_path: Path, feeds: list[str]) -> Path:
    path = tmp_path / "wirewatch.yaml"
    data = {
        "store": {"backend": "sqlite", "path": str(tmp_path / "wirewatch.db")},
        "feeds": [{"url": url} for url in feeds],
        "speakers": [KIM_YO_JONG],
        "alerts": {"to": ["analyst@example.org"], "outbox": str(tmp_path / "outbox")},
        "fetch": {"allow_networks": ["127.0.0.0/8"], "timeout": "3s"},
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def wirewatch(tmp_path: Path, site: SiteServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo sample's feeds in a config file that the DAGs find through the `wirewatch_config` Variable."""
    path = write_config(tmp_path, [url for url, _ in feed_urls(site.base_url)])
    monkeypatch.setenv("AIRFLOW_VAR_WIREWATCH_CONFIG", str(path))
    return tmp_path / "wirewatch.db"


def states(run: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for ti in sorted(run.get_task_instances(), key=lambda ti: (ti.task_id, ti.map_index)):
        found.setdefault(ti.task_id, []).append(str(ti.state))
    return found


def entries_events(run_id: str) -> list[AssetEvent]:
    with create_session() as session:
        asset = session.scalars(select(AssetModel).where(AssetModel.name == "wirewatch_entries")).one()
        query = select(AssetEvent).where(AssetEvent.asset_id == asset.id, AssetEvent.source_run_id == run_id)
        return list(session.scalars(query))


def queued_process_runs() -> int:
    with create_session() as session:
        return len(
            session.scalars(select(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == "wirewatch_process")).all()
        )


def set_paused(dag_id: str, paused: bool) -> None:
    with create_session() as session:
        model = session.scalars(select(DagModel).where(DagModel.dag_id == dag_id)).one()
        model.is_paused = paused
        session.execute(delete(AssetDagRunQueue))


def article_ids(store: SQLiteStore) -> list[str]:
    return [hit.id for hit in store.search(SearchQuery(limit=1000, collapse=False)).hits]


def snapshot(path: Path) -> dict[str, Any]:
    with SQLiteStore(path) as store:
        articles = store.get_articles(article_ids(store))
        return {
            "articles": sorted((a.id, a.cluster_id, a.duplicate_of, len(a.quotes), tuple(a.topics)) for a in articles),
            "statements": sorted((s.id, len(s.quotes)) for s in store.list_statements(limit=1000)),
            "alerts": sorted((a.rule, a.statement_id, a.state) for a in store.list_alerts()),
            "entries": {status: store.count_entries(status) for status in ("pending", "done", "failed")},
        }


def test_dag_folder_imports_cleanly(dags: dict[str, DAG]) -> None:
    assert set(dags) == DAG_IDS
    assert dags["wirewatch_process"].max_active_runs == 1
    assert all((task.retries or 0) >= 1 and task.execution_timeout for task in dags["wirewatch_process"].tasks)


def test_poll_then_process_indexes_the_sample_and_mails_once(
    dags: dict[str, DAG], wirewatch: Path, mailbox: Mailbox
) -> None:
    set_paused("wirewatch_process", False)
    poll = dags["wirewatch_poll"].test()
    assert poll.state == DagRunState.SUCCESS, states(poll)
    assert states(poll)["poll"] == [TaskInstanceState.SUCCESS] * 3  # one mapped task per due feed
    with SQLiteStore(wirewatch) as store:
        new_entries = store.count_entries("pending")
    assert new_entries >= 4
    [event] = entries_events(poll.run_id)
    assert event.extra == {"new_entries": new_entries}
    assert queued_process_runs() == 1

    process = dags["wirewatch_process"].test()
    assert process.state == DagRunState.SUCCESS, states(process)
    with SQLiteStore(wirewatch) as store:
        assert store.count_entries("pending") == 0
        assert store.count_articles() == new_entries
        hits = store.search(SearchQuery(text="summit", collapse=False, limit=100)).hits
        assert {hit.source for hit in hits} == {"VOA East Asia", "VICE News", "Wire desk"}
        assert store.search(SearchQuery(speaker="Kim Yo Jong", limit=100)).total >= 1
    assert len(mailbox.messages) == 1
    assert "Kim Yo Jong" in mailbox.messages[0]["Subject"]

    before = snapshot(wirewatch)
    with SQLiteStore(wirewatch) as store:  # as if the whole run had died before marking any entry done
        for entry in store.get_entries(article_ids(store)):
            entry.status = "pending"
            store.save_entry(entry)
    again = dags["wirewatch_process"].test()
    assert again.state == DagRunState.SUCCESS, states(again)
    assert snapshot(wirewatch) == before
    assert len(mailbox.messages) == 1


def test_the_smtp_connection_delivers_alerts_and_tells_temporary_from_permanent(
    dags: dict[str, DAG], mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    send = smtp_sender()
    assert send is not None
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "wirewatch@localhost", "analyst@example.org", "hello"
    message["Message-ID"] = "<once@wirewatch>"
    message.set_content("body")
    send(message)
    assert [received["Message-ID"] for received in mailbox.messages] == ["<once@wirewatch>"]
    mailbox.replies = ["451 try again later", "554 no such mailbox"]
    with pytest.raises(DeliveryError) as temporary:
        send(message)
    with pytest.raises(DeliveryError) as permanent:
        send(message)
    assert (temporary.value.temporary, permanent.value.temporary) == (True, False)

    port = urlsplit(os.environ["AIRFLOW_CONN_SMTP_DEFAULT"]).port
    for uri in (f"smtp://127.0.0.1:{port}", f"smtp://127.0.0.1:{port}?disable_ssl=true"):  # SSL; STARTTLS
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", uri)
        send = smtp_sender()
        assert send is not None
        with pytest.raises(DeliveryError) as mismatch:
            send(message)
        assert mismatch.value.temporary, uri  # fixing the connection is enough: the ledger retries
        assert "TLS mismatch" in str(mismatch.value)
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", "smtp://127.0.0.1:9?disable_ssl=true&disable_tls=true")
    send = smtp_sender()
    assert send is not None
    with pytest.raises(DeliveryError) as refused:
        send(message)
    assert refused.value.temporary
    assert len(mailbox.messages) == 1
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT")
    assert smtp_sender() is None


def test_a_poll_that_finds_nothing_triggers_nothing(dags: dict[str, DAG], wirewatch: Path) -> None:
    set_paused("wirewatch_process", False)
    first = dags["wirewatch_poll"].test()
    assert entries_events(first.run_id)
    set_paused("wirewatch_process", False)
    with SQLiteStore(wirewatch) as store:
        for state in store.list_feeds():
            state.next_poll = None
            store.save_feed(state)
    second = dags["wirewatch_poll"].test()
    assert second.state == DagRunState.SUCCESS, states(second)
    assert states(second)["announce"] == [TaskInstanceState.SKIPPED]
    assert entries_events(second.run_id) == []
    assert queued_process_runs() == 0


def test_a_process_run_with_nothing_due_still_retries_alerts(dags: dict[str, DAG], wirewatch: Path) -> None:
    run = dags["wirewatch_process"].test()
    assert run.state == DagRunState.SUCCESS, states(run)
    found = states(run)
    assert found["fetch"] == found["statements"] == [TaskInstanceState.SKIPPED]
    assert found["alert"] == [TaskInstanceState.SUCCESS]


def test_a_bad_feed_fails_its_own_task_only(
    dags: dict[str, DAG],
    tmp_path: Path,
    site: SiteServer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The store is named by the `wirewatch_store` connection here, overriding the config file's.

    Reading the mapped counts logs no error: iterating them made the Task SDK ask for the value one past
    the last, and log "XCom not found … offset=N" at ERROR on every poll run."""
    feeds = [url for url, _ in feed_urls(site.base_url)]
    path = write_config(tmp_path, [*feeds, site.url("/gone.xml")])
    store_path = tmp_path / "from-connection.db"
    extra = f'{{"config": "{path}", "store": {{"path": "{store_path}"}}}}'
    monkeypatch.setenv("AIRFLOW_CONN_WIREWATCH_STORE", f'{{"conn_type": "wirewatch", "extra": {extra}}}')
    poll = dags["wirewatch_poll"].test()
    found = states(poll)
    assert sorted(found["poll"]) == sorted([TaskInstanceState.SUCCESS] * 3 + [TaskInstanceState.FAILED])
    assert found["announce"] == [TaskInstanceState.SUCCESS]
    assert poll.state == DagRunState.SUCCESS
    with SQLiteStore(store_path) as store:
        gone = store.get_feed(site.url("/gone.xml"))
        assert gone is not None and gone.failures == 1
        assert entries_events(poll.run_id)[0].extra == {"new_entries": store.count_entries("pending")}
    assert not (tmp_path / "wirewatch.db").exists()
    captured = capfd.readouterr()
    assert "XCom not found" not in captured.out + captured.err


def test_a_fetch_that_dies_mid_batch_is_retried_without_duplicates(
    dags: dict[str, DAG], wirewatch: Path, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    dags["wirewatch_poll"].test()
    with SQLiteStore(wirewatch) as store:
        expected = store.count_entries("pending")
    saves = 0
    original = SQLiteStore.save_entries

    # A batch's entries are saved in one transaction, after its articles: dying there leaves the articles stored
    # and every entry still pending, and the retry fetches them again.
    def dies_saving_the_first_batch(self: SQLiteStore, entries: Any) -> None:
        nonlocal saves
        saves += 1
        if saves == 1:
            raise ConnectionError("worker lost mid-batch")
        original(self, entries)

    monkeypatch.setattr(SQLiteStore, "save_entries", dies_saving_the_first_batch)
    process = dags["wirewatch_process"]
    for task in process.tasks:
        task.retry_delay = timedelta(0)
    run = process.test()
    assert run.state == DagRunState.SUCCESS, states(run)
    with create_session() as session:
        [fetch] = [ti for ti in run.get_task_instances(session=session) if ti.task_id == "fetch"]
        assert fetch.try_number == 2
    with SQLiteStore(wirewatch) as store:
        assert store.count_articles() == expected
        assert store.count_entries("done") == expected
        urls = [hit.url for hit in store.search(SearchQuery(limit=100, collapse=False)).hits]
        assert len(urls) == len(set(urls)) == expected
        assert store.search(SearchQuery(speaker="Kim Yo Jong", limit=100)).total >= 1
    assert len(mailbox.messages) == 1


def test_maintenance_hands_back_failed_entries_and_names_failing_feeds(dags: dict[str, DAG], wirewatch: Path) -> None:
    set_paused("wirewatch_process", False)
    now = utcnow()
    said = 'Kim Yo Jong said in a statement that another summit would "not be useful to us" this year.'
    left_behind = Article(id="left", url="https://example.org/left", feed_url="f", source="s", title="Left", text=said)
    with SQLiteStore(wirewatch) as store:
        store.save_feed(FeedState(url="http://127.0.0.1:9/dead.xml", name="dead", failures=4, last_error="refused"))
        store.put_articles([replace(left_behind, fetched=now - timedelta(hours=7))])  # its process run died
    dags["wirewatch_poll"].test()
    with SQLiteStore(wirewatch) as store:
        [batch] = due_entry_batches(store)
        for entry in store.get_entries(batch[:2]):
            entry.status, entry.attempts, entry.next_attempt = "failed", 1, now - timedelta(minutes=1)
            store.save_entry(entry)
        for entry in store.get_entries(batch[2:]):
            entry.status = "done"
            store.save_entry(entry)
    set_paused("wirewatch_process", False)
    run = dags["wirewatch_maintenance"].test()
    assert run.state == DagRunState.SUCCESS, states(run)
    assert entries_events(run.run_id)[0].extra == {"failed_entries_due": 2}
    assert queued_process_runs() == 1
    with create_session() as session:
        tis = {ti.task_id: ti for ti in run.get_task_instances(session=session)}
        assert tis["prune_dedup"].state == TaskInstanceState.SUCCESS
        assert tis["finish_unprocessed"].xcom_pull(task_ids="finish_unprocessed", session=session) == 1
    with SQLiteStore(wirewatch) as store:
        quotes = store.get_articles(["left"])[0].quotes
        # the sentence reports her words (indirect) and quotes a fragment of them (direct)
        assert [(q.kind, q.speaker) for q in quotes] == [("indirect", "Kim Yo Jong"), ("direct", "Kim Yo Jong")]
        assert store.unprocessed_articles(now, 10) == []
        [failing] = tis["failing_feeds"].xcom_pull(task_ids="failing_feeds", session=session)
    assert failing["url"] == "http://127.0.0.1:9/dead.xml" and failing["failures"] == 4


# -- parse time ----------------------------------------------------------------------------------------------
def test_parsing_the_dag_files_imports_neither_the_pipeline_nor_its_heavy_libraries() -> None:
    """A DagBag parse in a fresh interpreter, as the DAG processor does; then what it had to import."""
    script = (
        "import sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(REPO / 'dags')!r})\n"
        "assert not bag.import_errors, bag.import_errors\n"
        "print(sorted(bag.dag_ids))\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in "
        "('spacy', 'trafilatura', 'numpy', 'pipeline', 'lxml', 'elasticsearch')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=os.environ)
    assert result.returncode == 0, result.stderr[-2000:]
    dag_ids, heavy = result.stdout.strip().splitlines()[-2:]
    assert dag_ids == str(sorted(DAG_IDS))
    assert heavy == "[]"


def test_dag_files_hold_no_variable_lookups_at_top_level() -> None:
    for path in (REPO / "dags").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "Variable.get" not in source, path.name
        imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
        allowed = (
            "from __future__",
            "import os",
            "from datetime",
            "import pendulum",
            "from airflow.",
            "from wirewatch_airflow",
        )
        assert [line for line in imports if not line.startswith(allowed)] == [], path.name


# -- slots ---------------------------------------------------------------------------------------------------
def slot_start(moment: datetime, minutes: int = 5) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % minutes, second=0, microsecond=0)


def test_a_5_minute_feed_is_polled_in_each_of_three_consecutive_5_minute_slots(
    dags: dict[str, DAG], tmp_path: Path, site: SiteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each slot's run sees the feed's next poll still ahead by the clock (so polling "when due" would skip
    it), but falling before the slot ends: it is polled in every slot.

    The slots start at the next 5-minute boundary, not the current one: a feed polled at t is next due at
    t + 5 min, which falls before the second slot's end whenever the first poll happens before that
    boundary plus 5 minutes. From the current slot, a run started a second before a boundary failed.
    """
    url, _ = feed_urls(site.base_url)[0]
    monkeypatch.setenv("AIRFLOW_VAR_WIREWATCH_CONFIG", str(write_config(tmp_path, [url])))
    path = urlsplit(url).path
    base = slot_start(utcnow()) + timedelta(minutes=5)
    polls = []
    for slot in range(3):
        start = base + timedelta(minutes=5 * slot)
        if slot:
            with SQLiteStore(tmp_path / "wirewatch.db") as store:
                state = store.get_feed(url)
            assert state is not None and state.next_poll is not None
            assert state.next_poll > utcnow()  # not yet due by the clock
            assert state.next_poll < start + timedelta(minutes=5)  # but before this slot ends
        run = dags["wirewatch_poll"].test(run_after=start, logical_date=start)
        assert states(run)["poll"] == [TaskInstanceState.SUCCESS], (slot, states(run))
        polls.append(site.hits[path])
    assert polls == [1, 2, 3]

    # The slot before the first ends before the feed's next poll, so the run maps no poll at all.
    earlier = base - timedelta(minutes=5)
    run = dags["wirewatch_poll"].test(run_after=earlier, logical_date=earlier)
    assert states(run)["poll"] == [TaskInstanceState.SKIPPED]
    assert site.hits[path] == 3


# -- retries, clears, backoff --------------------------------------------------------------------------------
def test_a_feed_in_backoff_is_a_skipped_mapped_task_with_its_reason_not_a_green_no_op(
    dags: dict[str, DAG], tmp_path: Path, site: SiteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = site.url("/gone.xml")
    monkeypatch.setenv("AIRFLOW_VAR_WIREWATCH_CONFIG", str(write_config(tmp_path, [gone])))
    first = slot_start(utcnow()) - timedelta(minutes=10)
    failed = dags["wirewatch_poll"].test(run_after=first, logical_date=first)
    assert states(failed)["poll"] == [TaskInstanceState.FAILED]
    later = first + timedelta(minutes=5)
    skipped = dags["wirewatch_poll"].test(run_after=later, logical_date=later)
    assert states(skipped)["poll"] == [TaskInstanceState.SKIPPED]
    with create_session() as session:
        [ti] = [ti for ti in skipped.get_task_instances(session=session) if ti.task_id == "poll"]
        assert ti.rendered_map_index == gone  # its own mapped task, labelled with the feed
    assert site.hits["/gone.xml"] == 1  # skipped: not polled while it backs off
    with SQLiteStore(tmp_path / "wirewatch.db") as store:
        plan = poll_plan(write_config_loaded(tmp_path), store, utcnow(), later + timedelta(minutes=5))
    assert list(plan.backing_off) == [gone]
    assert plan.backing_off[gone].startswith("backing off after 1 failed polls, next poll ")
    assert plan.backing_off[gone].endswith("last error: HTTP 404")


def test_a_retried_poll_task_polls_its_feed_at_once_whatever_its_backoff(
    dags: dict[str, DAG], tmp_path: Path, site: SiteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Try 1 fails and backs the feed off; try 2 (a retry, or a clear in the UI: both start a later try)
    polls it at once rather than turning green without polling."""
    voa = site.routes[urlsplit(feed_urls(site.base_url)[0][0]).path]
    answers = ["fail"]

    def flaky(handler: Any) -> None:
        if answers and answers.pop() == "fail":
            handler.send_error(503)
        else:
            handler._static(voa)

    site.routes["/flaky.xml"] = flaky
    flaky_url = site.url("/flaky.xml")
    monkeypatch.setenv("AIRFLOW_VAR_WIREWATCH_CONFIG", str(write_config(tmp_path, [flaky_url])))
    poll = dags["wirewatch_poll"].get_task("poll")
    monkeypatch.setattr(poll, "retries", 1)
    monkeypatch.setattr(poll, "retry_delay", timedelta(0))
    run = dags["wirewatch_poll"].test()
    assert states(run)["poll"] == [TaskInstanceState.SUCCESS]
    with create_session() as session:
        [ti] = [ti for ti in run.get_task_instances(session=session) if ti.task_id == "poll"]
        assert ti.try_number == 2
    assert site.hits["/flaky.xml"] == 2
    with SQLiteStore(tmp_path / "wirewatch.db") as store:
        state = store.get_feed(flaky_url)
        assert state is not None and (state.failures, state.last_error) == (0, None)
        assert store.count_entries("pending") >= 1


# -- alerts through Airflow's SMTP connection ----------------------------------------------------------------
def test_an_ssl_connection_to_a_plain_server_fails_the_alert_task_and_maintenance_resends_once_fixed(
    dags: dict[str, DAG], wirewatch: Path, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    box, port = smtp
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", f"smtp://127.0.0.1:{port}")  # the provider's default: SSL
    set_paused("wirewatch_process", False)
    dags["wirewatch_poll"].test()
    process = dags["wirewatch_process"]
    monkeypatch.setattr(process.get_task("alert"), "retries", 0)
    run = process.test()
    assert states(run)["alert"] == [TaskInstanceState.FAILED]
    assert run.state == DagRunState.FAILED
    assert box.messages == []
    with SQLiteStore(wirewatch) as store:
        [record] = store.list_alerts()
        assert record.state == "failed"  # temporary: the connection is wrong, not the message
        assert "TLS mismatch" in (record.last_error or "")
        record.next_attempt = utcnow() - timedelta(seconds=1)  # its backoff has passed
        store.update_alert(record)

    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", f"smtp://127.0.0.1:{port}?disable_ssl=true&disable_tls=true")
    maintenance = dags["wirewatch_maintenance"].test()
    assert states(maintenance)["retry_alerts"] == [TaskInstanceState.SUCCESS]
    assert len(box.messages) == 1 and "Kim Yo Jong" in box.messages[0]["Subject"]
    with SQLiteStore(wirewatch) as store:
        assert [record.state for record in store.list_alerts()] == ["sent"]
    again = dags["wirewatch_maintenance"].test()
    assert states(again)["retry_alerts"] == [TaskInstanceState.SUCCESS]
    assert len(box.messages) == 1


def test_feeds_per_task_comes_from_a_variable_read_when_the_task_runs(
    dags: dict[str, DAG], wirewatch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_WIREWATCH_FEEDS_PER_TASK", "2")  # the sample's 3 feeds: 2 + 1
    run = dags["wirewatch_poll"].test()
    assert states(run)["poll"] == [TaskInstanceState.SUCCESS] * 2

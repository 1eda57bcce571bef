"""What the Airflow tasks ask of the pipeline, without Airflow: slots, backoff, forced polls, alert failures.

Times are given explicitly, so a run's slot and its lag are exact; the feeds are
served by the demo site on loopback and the store is real SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pipeline.alert import DeliveryError
from pipeline.demo.server import SiteServer, StaticRoute, serve
from pipeline.demo.site import feed_urls, sample_routes
from pipeline.orchestration import AlertsFailedError, FeedPollError, poll_batch, poll_plan, send_alerts
from pipeline.poll import is_feed_due
from pipeline.records import FeedState, Statement, StatementQuote, utcnow
from pipeline.store.sqlite import SQLiteStore
from tests.conftest import make_config

SLOT = timedelta(minutes=5)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def sample() -> Iterator[SiteServer]:
    with serve({}) as server:
        server.routes.update(sample_routes(server.base_url, utcnow()))
        yield server


def test_a_5_minute_feed_is_polled_in_three_consecutive_slots_whatever_each_runs_lag(
    tmp_path: Path, sample: SiteServer, store: SQLiteStore
) -> None:
    """Runs start 3 s, 2 s and 4 s into their slots. The feed's next poll (3 s past the second slot's
    start) is still ahead when the second run looks at 2 s: by the clock alone that run would skip it."""
    url, _ = feed_urls(sample.base_url)[0]
    config = make_config(tmp_path, [{"url": url, "interval": "5m"}])
    lags = [timedelta(seconds=3), timedelta(seconds=2), timedelta(seconds=4)]
    for slot, lag in enumerate(lags):
        start = T0 + SLOT * slot
        now, until = start + lag, start + SLOT
        if slot == 1:
            assert not is_feed_due(store.get_feed(url), now)  # the 10-minute gap the slot rule closes
        plan = poll_plan(config, store, now, until)
        assert (plan.due, plan.backing_off, plan.waiting) == ([url], {}, 0), slot
        outcome = poll_batch(config, store, plan.due, now=now, until=until)
        assert (outcome.report.polled, outcome.skipped) == (1, {}), slot
        state = store.get_feed(url)
        assert state is not None and state.last_polled == now and state.next_poll == now + SLOT
    # Later in the third slot, the feed (polled 4 s into it) is not due again until the fourth.
    plan = poll_plan(config, store, T0 + SLOT * 2 + timedelta(minutes=2), T0 + SLOT * 3)
    assert (plan.due, plan.waiting) == ([], 1)


def test_a_failing_feed_backs_off_is_skipped_with_its_reason_and_a_forced_poll_tries_it_now(
    tmp_path: Path, sample: SiteServer, store: SQLiteStore
) -> None:
    gone = sample.url("/gone.xml")
    config = make_config(tmp_path, [{"url": gone, "interval": "5m"}])
    for slot in range(2):  # the first backoff equals the interval; the second doubles it to 10 minutes
        with pytest.raises(FeedPollError, match=r"gone\.xml: HTTP 404"):
            poll_batch(config, store, [gone], now=T0 + SLOT * slot, until=T0 + SLOT * (slot + 1))
    later = T0 + SLOT * 2
    plan = poll_plan(config, store, later, later + SLOT)
    assert plan.due == []
    assert plan.backing_off == {
        gone: "backing off after 2 failed polls, next poll 2026-03-02 09:15:00 UTC; last error: HTTP 404"
    }
    assert plan.batches(1) == [[gone]]  # still gets its mapped task, which is skipped with the reason

    outcome = poll_batch(config, store, [gone], now=later, until=later + SLOT)
    assert (outcome.report.polled, outcome.skipped) == (0, {gone: plan.backing_off[gone]})
    assert sample.hits["/gone.xml"] == 2

    sample.routes["/gone.xml"] = sample.routes[urlsplit(feed_urls(sample.base_url)[0][0]).path]
    outcome = poll_batch(config, store, [gone], now=later, until=later + SLOT, force=True)
    assert outcome.report.polled == 1 and outcome.report.entries_new >= 1
    state = store.get_feed(gone)
    assert state is not None and (state.failures, state.last_error) == (0, None)


def test_a_feed_removed_from_the_config_is_skipped_not_polled(tmp_path: Path, store: SQLiteStore) -> None:
    config = make_config(tmp_path, [])
    store.save_feed(FeedState(url="https://example.org/old.xml", name="old"))
    outcome = poll_batch(config, store, ["https://example.org/old.xml"], now=T0, until=T0 + SLOT, force=True)
    assert (outcome.report.polled, outcome.skipped) == (0, {"https://example.org/old.xml": "no longer in the config"})


def test_send_alerts_raises_after_recording_an_undelivered_alert(tmp_path: Path, store: SQLiteStore) -> None:
    config = make_config(tmp_path)
    quote = StatementQuote(
        text="a summit will not take place this year",
        article_id="a",
        article_url="https://example.org/a",
        source="Example",
        title="A statement",
        published=utcnow(),
        context="She said a summit will not take place this year.",
    )
    store.save_statement(
        Statement(
            id="s1",
            speaker="Kim Yo Jong",
            text="a summit will not take place this year",
            first_seen=utcnow(),
            quotes=[quote],
        )
    )

    def unreachable(message: EmailMessage) -> None:
        raise DeliveryError("SMTP server unreachable: connection refused", temporary=True)

    with pytest.raises(AlertsFailedError, match="1 alerts not delivered this run"):
        send_alerts(config, store, unreachable)
    [record] = store.list_alerts()
    assert (record.state, record.attempts) == ("failed", 3)  # one try and two in-run retries, then left for later
    assert record.next_attempt is not None and record.next_attempt > utcnow()


def test_a_poll_task_counts_its_new_entries(tmp_path: Path, store: SQLiteStore) -> None:
    """The Airflow poll task reports how many entries are new (the fetch tasks read them from the store): a feed
    of three stories gives 3 the first time and 0 when forced again."""
    items = "".join(
        f"<item><title>Story {n}</title><link>http://example.com/{n}</link><guid>g{n}</guid></item>" for n in (1, 2, 3)
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()
    with serve({"/three.xml": StaticRoute(body, "application/rss+xml")}) as server:
        url = server.url("/three.xml")
        config = make_config(tmp_path, [{"url": url, "interval": "5m"}])
        first = poll_batch(config, store, [url], now=T0, until=T0 + SLOT)
        assert (first.report.polled, first.report.entries_new) == (1, 3)
        assert store.count_entries("pending") == 3
        again = poll_batch(config, store, [url], now=T0, until=T0 + SLOT, force=True)
        assert (again.report.polled, again.report.not_modified, again.report.entries_new) == (1, 1, 0)
        assert store.count_entries() == 3

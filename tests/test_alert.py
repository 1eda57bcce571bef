"""Alerts against a real SMTP server on loopback: one email per new statement, never two, never none."""

from __future__ import annotations

import email
import email.policy
import multiprocessing
import os
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from msgspec.structs import replace

from pipeline.alert import LEASE, alert_stage, delivery_failure, retry_alerts, subject_sentence
from pipeline.config import Config
from pipeline.cycle import run_cycle
from pipeline.demo.server import SiteServer
from pipeline.demo.site import SampleArticle, feed_urls, sample_articles, sample_routes
from pipeline.records import utcnow
from pipeline.store.sqlite import SQLiteStore
from tests.conftest import Mailbox, free_port, make_config

ANOTHER_STATEMENT = SampleArticle(
    "/voa/east-asia/kim-yo-jong-leaflets.html",
    "VOA News",
    "Kim Jong Un's sister threatens to scrap military pact over leaflets",
    "VOA News",
    (
        "Kim Yo Jong, the powerful sister of North Korean leader Kim Jong Un, threatened on Thursday to scrap "
        "a 2018 military agreement with Seoul unless it stops activists from flying propaganda leaflets "
        "across the border.",
        '"The South Korean authorities will be made to pay a dear price if they leave this situation as it is,"'
        " Kim Yo Jong said in a statement carried by state media.",
        "Defectors in the South have for years launched balloons carrying leaflets that criticise the "
        "government in Pyongyang, along with rice, medicine and memory sticks with foreign films.",
        "The Unification Ministry in Seoul said it was considering legislation to ban the launches, which "
        "residents of border towns say put them in danger.",
    ),
    timedelta(minutes=5),
    "voa",
)


def alert_config(tmp_path: Path, site: SiteServer, port: int, **alerts: Any) -> Config:
    feeds = [{"url": url, "name": name} for url, name in feed_urls(site.base_url)]
    smtp = {"host": "127.0.0.1", "port": port, "timeout": "5s"}
    return make_config(tmp_path, feeds, alerts={"smtp": smtp, **alerts})


def serve_articles(site: SiteServer, articles: list[SampleArticle], age_shift: timedelta = timedelta()) -> None:
    site.routes.clear()
    site.routes.update(sample_routes(site.base_url, utcnow() - age_shift, articles))


def text_part(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


def html_part(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


def test_one_email_for_the_statement_and_none_for_its_reprints(tmp_path, site, store, smtp):
    mailbox, port = smtp
    voa, vice, herald, courier = sample_articles()
    config = alert_config(tmp_path, site, port)

    serve_articles(site, [voa])
    first = run_cycle(config, store)
    assert first.alerts_sent == 1 and len(mailbox.messages) == 1
    assert first.alert_latency_s is not None
    (message,) = mailbox.messages
    # a whole sentence in her words (never the clause "a summit between the U.S. and … this year")
    subject = (
        'Kim Yo Jong: "It is my personal opinion, but a summit between the U.S. and North Korea will not take place '
        'this year"'
    )
    assert message["Subject"] == subject
    body = text_part(message)
    assert "It is my personal opinion" in body and voa.title in body
    assert 'speaker rule "Kim Yo Jong"' in body
    assert "It&#x27;s Not Interested" in html_part(message)

    serve_articles(site, [voa, vice, herald, courier])
    second = run_cycle(config, store, force=True)
    assert second.alerts_sent == 0 and len(mailbox.messages) == 1
    (statement,) = store.list_statements(speaker="Kim Yo Jong")
    assert len(statement.sources) == 4  # VOA, VICE and both wire copies attached to the one statement

    serve_articles(site, [voa, vice, herald, courier, ANOTHER_STATEMENT])
    third = run_cycle(config, store, force=True)
    assert third.alerts_sent == 1 and len(mailbox.messages) == 2
    assert "dear price" in mailbox.messages[1]["Subject"]
    assert run_cycle(config, store, force=True).alerts_sent == 0


def test_smtp_451_then_250_sends_one_email(tmp_path, site, store, smtp):
    mailbox, port = smtp
    mailbox.replies = ["451 Try again later"]
    serve_articles(site, sample_articles()[:1])
    report = run_cycle(alert_config(tmp_path, site, port), store)
    assert report.alerts_sent == 1 and report.alerts_failed == 0
    assert len(mailbox.messages) == 1
    (record,) = store.list_alerts()
    assert (record.state, record.attempts) == ("sent", 2)


def test_permanent_failure_is_recorded_and_shown(tmp_path, site, store, smtp):
    mailbox, port = smtp
    mailbox.replies = ["554 Transaction failed"]
    serve_articles(site, sample_articles()[:1])
    report = run_cycle(alert_config(tmp_path, site, port), store)
    assert report.alerts_failed == 1 and mailbox.messages == []
    (record,) = store.list_alerts()
    assert record.state == "dead" and record.last_error == "SMTP 554: Transaction failed"


def test_unreachable_server_is_retried_on_a_later_run(tmp_path, site, store, smtp):
    mailbox, port = smtp
    serve_articles(site, sample_articles()[:1])
    down = alert_config(tmp_path, site, free_port())
    report = run_cycle(down, store)
    assert report.alerts_sent == 0 and report.alerts_failed == 1
    (record,) = store.list_alerts()
    assert record.state == "failed" and record.next_attempt is not None
    later = alert_stage(alert_config(tmp_path, site, port), store, now=record.next_attempt + timedelta(seconds=1))
    assert later.sent == 1 and len(mailbox.messages) == 1


def _crash_while_sending(config: Config) -> None:
    def die(message: EmailMessage) -> None:
        os._exit(17)  # the process dies after claiming, before the SMTP server sees anything

    with SQLiteStore(config.store.path) as store:
        alert_stage(config, store, sender=die)


def ingest_without_alerts(config: Config) -> None:
    quiet = replace(config, speakers=[replace(speaker, alert=False) for speaker in config.speakers])
    with SQLiteStore(config.store.path) as store:
        run_cycle(quiet, store)
        assert store.list_alerts() == []


def test_a_crash_between_claim_and_send_delivers_once_after_restart(tmp_path, site, smtp):
    mailbox, port = smtp
    serve_articles(site, sample_articles()[:1])
    config = alert_config(tmp_path, site, port)
    ingest_without_alerts(config)
    child = multiprocessing.get_context("spawn").Process(target=_crash_while_sending, args=(config,))
    child.start()
    child.join(60)
    assert child.exitcode == 17
    with SQLiteStore(config.store.path) as store:
        (claimed,) = store.list_alerts()
        assert claimed.state == "pending" and mailbox.messages == []
        assert alert_stage(config, store).sent == 0  # a fresh claim may belong to a live worker: left alone
        restarted = alert_stage(config, store, now=claimed.claimed_at + LEASE + timedelta(seconds=1))
        again = alert_stage(config, store, now=claimed.claimed_at + LEASE * 10)
    assert (restarted.sent, again.sent) == (1, 0)
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0]["Message-ID"] == claimed.message_id


def _alert_once(config: Config, start: Any, results: Any) -> None:
    with SQLiteStore(config.store.path) as store:
        start.wait()
        results.put(alert_stage(config, store).sent)


def test_two_runs_at_the_same_moment_send_one_email(tmp_path, site, smtp):
    mailbox, port = smtp
    serve_articles(site, sample_articles()[:1])
    config = alert_config(tmp_path, site, port)
    ingest_without_alerts(config)
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_alert_once, args=(config, start, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(60)
    assert sorted(results.get(timeout=5) for _ in workers) == [0, 1]
    assert len(mailbox.messages) == 1


def test_articles_older_than_max_age_never_alert(tmp_path, site, store, smtp):
    mailbox, port = smtp
    serve_articles(site, sample_articles()[:1], age_shift=timedelta(days=3))
    report = run_cycle(alert_config(tmp_path, site, port, max_age="48h"), store)
    assert report.statements_new >= 1 and report.alerts_sent == 0 and mailbox.messages == []


def test_a_mention_without_a_quote_does_not_alert(tmp_path, site, store, smtp):
    mailbox, port = smtp
    mention = SampleArticle(
        "/news/kim-yo-jong-profile.html",
        "VOA News",
        "Who is Kim Yo Jong?",
        "VOA News",
        (
            "Kim Yo Jong, the younger sister of Kim Jong Un, has risen quickly through the ranks of the ruling party "
            "and is now widely seen as the second most powerful person in North Korea.",
            "Analysts in Seoul have followed her career since she appeared at the 2018 Winter Olympics in Pyeongchang, "
            "where she met South Korean President Moon Jae-in and delivered a personal letter from her brother.",
            "She holds a senior post in the party's propaganda department and has accompanied her brother on visits "
            "to factories, farms and military units across the country over the past decade.",
        ),
        timedelta(minutes=5),
        "voa",
    )
    serve_articles(site, [mention])
    report = run_cycle(alert_config(tmp_path, site, port), store)
    assert report.articles_indexed == 1 and report.alerts_sent == 0 and mailbox.messages == []


def test_outbox_is_the_default_without_smtp(tmp_path, site, store):
    serve_articles(site, sample_articles()[:1])
    config = make_config(tmp_path, [{"url": url} for url, _ in feed_urls(site.base_url)])
    assert run_cycle(config, store).alerts_sent == 1
    (written,) = (tmp_path / "outbox").glob("*.eml")
    message = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert message["Subject"].startswith("Kim Yo Jong: ")


def test_article_text_is_escaped_in_the_html_part(tmp_path, site, store, smtp):
    mailbox, port = smtp
    hostile = SampleArticle(
        "/news/script.html",
        "VOA News",
        "Kim Yo Jong rejects talks",
        "VOA News",
        (
            '"We will <script>never</script> accept talks on those terms & conditions, not this year, not next," '
            "Kim Yo Jong said in a statement on Friday carried by the official Korean Central News Agency.",
            "The statement came days after the United States said it was open to dialogue with North Korea "
            "at any time and any place, a position Washington has held for more than a year.",
            "Analysts said the tone was sharper than in her previous statements on relations with Washington.",
        ),
        timedelta(minutes=5),
        "voa",
    )
    serve_articles(site, [hostile])
    run_cycle(alert_config(tmp_path, site, port), store)
    markup = html_part(mailbox.messages[0])
    assert "<script>" not in markup
    assert "&lt;script&gt;never&lt;/script&gt;" in markup and "&amp; conditions" in markup


@pytest.mark.parametrize(
    ("quotes", "subject"),
    [
        (  # a clause cut out of the sentence is a fragment: the sentence is used whole
            ["It is my personal opinion, but a summit between the U.S. and North Korea will not take place this year,"],
            "It is my personal opinion, but a summit between the U.S. and North Korea will not take place this year",
        ),
        (  # a fragment never: the whole sentence from another wording of the statement
            ["or if it's appropriate for us", "We will not hold talks unless the United States changes its policy."],
            "We will not hold talks unless the United States changes its policy.",
        ),
        (  # the first whole sentence that fits, not a cut
            [
                "We would like to make it clear that it does not necessarily mean the denuclearization is not "
                "possible. But what we mean is that it is not possible at this point in time."
            ],
            "We would like to make it clear that it does not necessarily mean the denuclearization is not possible.",
        ),
        (["not be useful to us"], "not be useful to us"),  # only a fragment was said: the words, uncut
    ],
)
def test_the_subject_is_a_whole_sentence_of_the_speaker(quotes, subject):
    assert subject_sentence(quotes) == subject


def test_topic_rule_alerts_once_per_story(tmp_path, site, store, smtp):
    mailbox, port = smtp
    serve_articles(site, sample_articles())
    config = alert_config(tmp_path, site, port)
    config = replace(config, speakers=[], topics=[replace(topic, alert=True) for topic in config.topics])
    report = run_cycle(config, store)
    subjects = sorted(str(message["Subject"]) for message in mailbox.messages)
    # VOA and its two wire copies are one story; VICE is another: two emails, not four.
    assert report.alerts_sent == 2 and len(subjects) == 2
    assert all(subject.startswith("denuclearization: ") for subject in subjects)
    assert run_cycle(config, store, force=True).alerts_sent == 0


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # loopback only, on purpose
def test_smtp_login_reads_the_password_from_the_environment(tmp_path, site, store, monkeypatch):
    seen: list[tuple[str, str]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        seen.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"s3cret")

    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        monkeypatch.setenv("WIREWATCH_SMTP_PASSWORD", "s3cret")
        serve_articles(site, sample_articles()[:1])
        config = alert_config(tmp_path, site, port)
        assert config.alerts.smtp is not None
        smtp = replace(config.alerts.smtp, username="wirewatch", password_env="WIREWATCH_SMTP_PASSWORD")
        config = replace(config, alerts=replace(config.alerts, smtp=smtp))
        assert run_cycle(config, store).alerts_sent == 1
    finally:
        controller.stop()
    assert seen == [("wirewatch", "s3cret")] and len(mailbox.messages) == 1


class Clock:
    """Injected time: an outage of days replayed in a second, without sleeping."""

    def __init__(self, start) -> None:
        self.now = start

    def __call__(self):
        return self.now


def no_sleep(seconds: float) -> None:
    """In-run retries happen at once under an injected clock."""


def test_a_36_hour_outage_loses_no_alert_and_sends_it_once(tmp_path, site, store):
    """The SMTP server is down (nothing listens on its port) for 36 hours of runs every 30 minutes; the alert
    waits as `failed`, then goes out once the server is back, exactly once."""
    port = free_port()
    serve_articles(site, sample_articles()[:1])
    config = alert_config(tmp_path, site, port)
    ingest_without_alerts(config)
    clock = Clock(utcnow())
    start = clock.now
    while clock.now < start + timedelta(hours=36):
        alert_stage(config, store, clock=clock, sleep=no_sleep)
        (record,) = store.list_alerts()
        assert record.state == "failed", (clock.now - start, record)
        clock.now += timedelta(minutes=30)
    assert record.retry_until == start + timedelta(hours=48)
    assert record.last_error is not None and record.last_error.startswith("SMTP server unreachable")
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.now += timedelta(hours=1)  # past the longest wait between retries
        back = alert_stage(config, store, clock=clock, sleep=no_sleep)
        again = alert_stage(config, store, clock=clock, sleep=no_sleep)
    finally:
        controller.stop()
    assert (back.sent, again.sent) == (1, 0)
    assert len(mailbox.messages) == 1
    (record,) = store.list_alerts()
    assert (record.state, record.next_attempt, record.retry_until) == ("sent", None, None)


def test_an_outage_longer_than_the_retry_period_is_dead_then_retried_by_command(tmp_path, site, smtp):
    """Past `retry_for` the alert is dead with its reason; `wirewatch alerts --retry --dead` after the fix sends
    it once, and a second `--retry` sends nothing."""
    mailbox, port = smtp
    serve_articles(site, sample_articles()[:1])
    down = alert_config(tmp_path, site, free_port(), retry_for="6h")
    ingest_without_alerts(down)
    clock = Clock(utcnow())
    start = clock.now
    with SQLiteStore(down.store.path) as store:
        while clock.now <= start + timedelta(hours=7):
            alert_stage(down, store, clock=clock, sleep=no_sleep)
            clock.now += timedelta(hours=1)
        (record,) = store.list_alerts()
    assert record.state == "dead"
    assert record.last_error is not None and record.last_error.startswith("gave up after 6h of retries: SMTP server")
    assert mailbox.messages == []
    up = alert_config(tmp_path, site, port, retry_for="6h")
    with SQLiteStore(up.store.path) as store:
        revived, report = retry_alerts(up, store)
        revived_again, again = retry_alerts(up, store)
        (record,) = store.list_alerts()
    assert (revived, report.sent, revived_again, again.sent) == (1, 1, 0, 0)
    assert record.state == "sent" and len(mailbox.messages) == 1


def test_a_permanent_refusal_is_dead_at_once_and_retry_by_statement_sends_it(tmp_path, site, store, smtp):
    mailbox, port = smtp
    mailbox.replies = ["550 No such mailbox"]
    serve_articles(site, sample_articles()[:1])
    config = alert_config(tmp_path, site, port)
    run_cycle(config, store)
    (dead,) = store.list_alerts()
    assert (dead.state, dead.last_error) == ("dead", "SMTP 550: No such mailbox")
    assert retry_alerts(config, store, statement_id="no-such-statement")[0] == 0
    revived, report = retry_alerts(config, store, statement_id=dead.statement_id)
    assert (revived, report.sent, len(mailbox.messages)) == (1, 1, 1)
    assert retry_alerts(config, store, statement_id=dead.statement_id)[0] == 0  # sent: never again


@pytest.mark.parametrize(
    ("failure", "temporary"),
    [
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError("timed out"), True),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), True),
        (smtplib.SMTPDataError(451, b"Try again later"), True),
        (smtplib.SMTPRecipientsRefused({"a@example.org": (450, b"Mailbox busy")}), True),
        (smtplib.SMTPAuthenticationError(535, b"Bad credentials"), True),  # a fix in config, then --retry
        (smtplib.SMTPConnectError(554, b"No service"), True),  # the server, not the message
        (smtplib.SMTPDataError(554, b"Message refused"), False),
        (smtplib.SMTPSenderRefused(553, b"Sender refused", "wirewatch@example.org"), False),
        (smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"No such user")}), False),
        (smtplib.SMTPRecipientsRefused({"a@x.org": (550, b"No"), "b@x.org": (450, b"Busy")}), True),
    ],
)
def test_delivery_failures_are_classified(failure, temporary):
    assert delivery_failure(failure).temporary is temporary

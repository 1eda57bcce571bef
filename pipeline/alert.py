"""Alert stage: one email per (rule, statement) — never two, never none.

Exactly-once rests on the ledger in the store. A (rule, statement) pair is
claimed with insert-if-absent *before* its email goes out, so a second worker,
a retry or a re-run finds the claim and sends nothing. The claim is `pending`
until the SMTP server has accepted the message, then `sent`.

If the process dies between claiming and sending, the claim stays `pending`.
A later run treats a pending claim older than `LEASE` as abandoned, takes it
over with a compare-and-set on its claim time (so of two workers retrying it
only one wins) and sends it then: the email is late, never lost. The one
window for a duplicate is a death after the server accepted the message and
before the ledger recorded it; the resend carries the same Message-ID, which
mail clients and archives use to fold the two into one.

Outages are survived, counted in time rather than attempts: a failure that
may pass (no connection, a timeout, any 4xx) leaves the alert `failed`, retried
with backoff by later runs until `alerts.retry_for` (48 h) after its first
failure; only a permanent refusal of the message or a recipient (a 5xx to
MAIL, RCPT or DATA), or the end of that period, makes it `dead`. A dead alert
can be sent again after a fix (`retry_alerts`, `wirewatch alerts --retry`),
through the same claim, so still exactly once.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import smtplib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from pipeline.config import Config, SmtpConfig
from pipeline.records import AlertRecord, Article, StageError, Statement, utcnow
from pipeline.store import SearchQuery, Store

LEASE = timedelta(minutes=2)
IN_RUN_RETRY_DELAYS = (0.5, 2.0)
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY_INTERVAL = timedelta(hours=1)
SUBJECT_QUOTE_CHARS = 90
_CLAUSE = re.compile(r"\s*(?:[,;:]|\s[—–-]\s)\s*")
_LEADING_CONJUNCTION = re.compile(r"^(?:but|and|so|yet|however|although|though)\s+", re.IGNORECASE)


class DeliveryError(Exception):
    """An email that did not go out; `temporary` says whether trying again later may succeed."""

    def __init__(self, reason: str, temporary: bool) -> None:
        super().__init__(reason)
        self.temporary = temporary


Clock = Callable[[], datetime]
Sender = Callable[[EmailMessage], None]


@dataclass(frozen=True)
class Rule:
    """Why an email is sent: a tracked speaker, or a topic, with `alert: true` in config."""

    kind: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass
class AlertReport:
    sent: int = 0
    failed: int = 0
    first_delivery: datetime | None = None
    errors: list[StageError] = field(default_factory=list)


def alert_rules(config: Config) -> list[Rule]:
    speakers = [Rule("speaker", speaker.name) for speaker in config.speakers if speaker.alert]
    return speakers + [Rule("topic", topic.name) for topic in config.topics if topic.alert]


def message_id(rule: str, subject_id: str) -> str:
    """Stable for a (rule, statement): a resend after a crash is recognisably the same email."""
    digest = hashlib.sha256(f"{rule}\n{subject_id}".encode()).hexdigest()[:32]
    return f"<{digest}@wirewatch>"


def subject_quote(text: str, limit: int = SUBJECT_QUOTE_CHARS) -> str:
    """A quote short enough for a subject line: its longest clause that fits, else a cut at a word."""
    text = " ".join(text.split()).strip(" \"“”'‘’")
    if len(text) <= limit:
        return text.rstrip(".")
    clauses = [_LEADING_CONJUNCTION.sub("", clause).strip() for clause in _CLAUSE.split(text)]
    fitting = [clause for clause in clauses if len(clause.split()) >= 5 and len(clause) <= limit]
    if fitting:
        return max(fitting, key=len).rstrip(".")
    return text[:limit].rsplit(" ", 1)[0] + "…"


# -- delivery ----------------------------------------------------------------


# Replies that refuse this message or a recipient for good. Any other failure (no connection, a
# timeout, a greeting or login refused, a 4xx) may pass, and is retried until `alerts.retry_for` ends.
_PERMANENT_REFUSALS: tuple[type[smtplib.SMTPResponseException], ...] = (
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
)


def delivery_failure(exc: BaseException) -> DeliveryError:
    """What a failed SMTP delivery means for the ledger: the one classification every sender uses.

    Permanent only when the server refused the message or every refused recipient with a 5xx;
    everything else — unreachable, timed out, disconnected, a 4xx, a refused login — is temporary.
    """
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return DeliveryError(f"recipients refused: {exc.recipients}", temporary=not permanent)
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        reason = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        permanent = isinstance(exc, _PERMANENT_REFUSALS) and exc.smtp_code >= 500
        return DeliveryError(f"SMTP {exc.smtp_code}: {reason}", temporary=not permanent)
    if isinstance(exc, smtplib.SMTPException | OSError):
        return DeliveryError(f"SMTP server unreachable: {exc or type(exc).__name__}", temporary=True)
    return DeliveryError(f"SMTP failed: {type(exc).__name__}: {exc}", temporary=True)


@contextmanager
def smtp_delivery_errors(*unreachable: type[Exception]) -> Iterator[None]:
    """Turn a sender's failures into `DeliveryError` by `delivery_failure`'s rules.

    `unreachable` adds exception types (a framework's own) that also mean "try again later".
    """
    caught: tuple[type[Exception], ...] = (smtplib.SMTPException, OSError, *unreachable)
    try:
        yield
    except caught as exc:
        raise delivery_failure(exc) from None


class SmtpSender:
    """Delivery with smtplib: plain, STARTTLS or SSL, with an optional login."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def __call__(self, message: EmailMessage) -> None:
        settings = self.config
        timeout = settings.timeout.total_seconds()
        with smtp_delivery_errors():
            client: smtplib.SMTP
            if settings.security == "ssl":
                client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout)
            else:
                client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
            with client:
                if settings.security == "starttls":
                    client.starttls()
                if settings.username:
                    client.login(settings.username, os.environ.get(settings.password_env or "", ""))
                client.send_message(message)


class OutboxSender:
    """The embedded default: each email as an .eml file, named by its Message-ID, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __call__(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(str(message["Message-ID"]).encode()).hexdigest()[:24] + ".eml"
        partial = self.directory / f".{name}.partial"
        partial.write_bytes(message.as_bytes())
        partial.replace(self.directory / name)


def default_sender(config: Config) -> Sender:
    smtp = config.alerts.smtp
    return SmtpSender(smtp) if smtp is not None else OutboxSender(config.alerts.outbox)


# -- the emails --------------------------------------------------------------


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "undated"


def _envelope(config: Config, subject: str, rule: Rule, subject_id: str, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config.alerts.from_
    message["To"] = ", ".join(config.alerts.to)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(rule.id, subject_id)
    message["X-Wirewatch-Rule"] = rule.id
    return message


def statement_email(config: Config, rule: Rule, statement: Statement, now: datetime) -> EmailMessage:
    quote = subject_quote(statement.text)
    message = _envelope(config, f'{statement.speaker}: "{quote}"', rule, statement.id, now)
    why = f'{statement.speaker} is a tracked speaker (speaker rule "{rule.name}", alert: true)'
    lines = [
        f"{statement.speaker} made a new statement, first seen {_when(statement.first_seen)}.",
        "",
        f"“{statement.text}”",
        "",
        "Quotes, in context:",
    ]
    for item in statement.quotes:
        lines += [
            f"  “{item.text}”",
            f"    {item.context}",
            f"    — {item.source}: {item.title}, {_when(item.published)}",
            f"      {item.article_url}",
            "",
        ]
    lines += ["Sources:"] + [f"  - {url}" for url in statement.sources] + ["", f"Why: {why}."]
    escape = html.escape
    quotes_html = "".join(
        f"<li><blockquote>“{escape(item.text)}”</blockquote><p>{escape(item.context)}</p>"
        f'<p>— {escape(item.source)}: <a href="{escape(item.article_url)}">{escape(item.title)}</a>, '
        f"{escape(_when(item.published))}</p></li>"
        for item in statement.quotes
    )
    sources_html = "".join(f'<li><a href="{escape(url)}">{escape(url)}</a></li>' for url in statement.sources)
    message.set_content("\n".join(lines))
    message.add_alternative(
        f"<html><body><p>{escape(statement.speaker)} made a new statement, first seen "
        f"{escape(_when(statement.first_seen))}.</p><blockquote><strong>“{escape(statement.text)}”</strong>"
        f"</blockquote><h3>Quotes, in context</h3><ul>{quotes_html}</ul><h3>Sources</h3><ul>{sources_html}</ul>"
        f"<p>Why: {escape(why)}.</p></body></html>",
        subtype="html",
    )
    return message


def story_email(config: Config, rule: Rule, article: Article, now: datetime) -> EmailMessage:
    message = _envelope(config, f"{rule.name}: {article.title}", rule, story_id(article.cluster_id or article.id), now)
    why = f'the story matches topic "{rule.name}" (alert: true)'
    summary = article.text[:600]
    message.set_content(
        f"{article.title}\n{article.source}, {_when(article.published)}\n{article.url}\n\n{summary}\n\nWhy: {why}."
    )
    escape = html.escape
    message.add_alternative(
        f'<html><body><h2><a href="{escape(article.url)}">{escape(article.title)}</a></h2>'
        f"<p>{escape(article.source)}, {escape(_when(article.published))}</p><p>{escape(summary)}</p>"
        f"<p>Why: {escape(why)}.</p></body></html>",
        subtype="html",
    )
    return message


def story_id(cluster_id: str) -> str:
    return f"story:{cluster_id}"


# -- the stage ---------------------------------------------------------------


def _message_for(config: Config, store: Store, rule: Rule, subject_id: str, now: datetime) -> EmailMessage | None:
    if rule.kind == "speaker":
        statement = store.get_statement(subject_id)
        return statement_email(config, rule, statement, now) if statement else None
    found = store.get_articles([subject_id.removeprefix("story:")])
    return story_email(config, rule, found[0], now) if found else None


def retry_delay(attempts: int) -> timedelta:
    """1 min, 2, 4 … doubling with each attempt, at most an hour apart."""
    return min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 16)), MAX_RETRY_INTERVAL)


@dataclass
class Delivery:
    """How one pass delivers: who sends, what time it is, and how long a temporary failure is retried."""

    sender: Sender
    store: Store
    report: AlertReport
    clock: Clock
    retry_for: timedelta

    def attempt(self, record: AlertRecord, message: EmailMessage) -> bool:
        record.attempts += 1
        try:
            self.sender(message)
        except DeliveryError as exc:
            self._failed(record, exc)
            return False
        record.state, record.sent_at, record.last_error = "sent", self.clock(), None
        record.next_attempt = record.retry_until = None
        self.store.update_alert(record)
        self.report.sent += 1
        self.report.first_delivery = self.report.first_delivery or record.sent_at
        return True

    def _failed(self, record: AlertRecord, exc: DeliveryError) -> None:
        moment = self.clock()
        record.last_error = str(exc)
        record.retry_until = record.retry_until or moment + self.retry_for
        if exc.temporary and moment < record.retry_until:
            record.state = "failed"
            record.next_attempt = min(moment + retry_delay(record.attempts), record.retry_until)
        else:
            if exc.temporary:
                record.last_error = f"gave up after {_span(self.retry_for)} of retries: {exc}"
            record.state, record.next_attempt = "dead", None
            self.report.failed += 1
        self.store.update_alert(record)
        self.report.errors.append(StageError(record.rule, "alert", f"{record.statement_id}: {exc}"))


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g}h" if hours >= 1 else f"{delta.total_seconds():g}s"


def _new_subjects(config: Config, store: Store, rule: Rule, since: datetime) -> list[str]:
    if rule.kind == "speaker":
        statements = store.list_statements(speaker=rule.name, since=since, limit=1000)
        return [statement.id for statement in reversed(statements)]
    hits = store.search(SearchQuery(topic=rule.name, since=since, collapse=True, limit=1000)).hits
    return [story_id(hit.cluster_id) for hit in reversed(hits)]


def alert_stage(
    config: Config,
    store: Store,
    now: datetime | None = None,
    sender: Sender | None = None,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> AlertReport:
    """Claim and send what is new; take over abandoned claims and failed ones whose retry time has come.

    `now` is the time of the run (what is due, what is new); `clock` tells the time of each attempt (when it
    was sent, when to retry). Both it and `sleep`, between the quick retries within a run, can be replaced
    to replay an outage of days.
    """
    clock = clock or utcnow
    now = now or clock()
    report = AlertReport()
    rules = {rule.id: rule for rule in alert_rules(config)}
    if rules and not config.alerts.to:
        report.errors.append(StageError("alerts.to", "alert", "no recipients configured: alerts not sent"))
        return report
    delivery = Delivery(sender or default_sender(config), store, report, clock, config.alerts.retry_for)
    retrying: list[tuple[AlertRecord, EmailMessage]] = []

    def attempt(record: AlertRecord, message: EmailMessage) -> None:
        if not delivery.attempt(record, message) and record.state == "failed":
            retrying.append((record, message))

    for record in store.alerts_to_retry(now, stale_before=now - LEASE):
        rule = rules.get(record.rule)
        message = _message_for(config, store, rule, record.statement_id, now) if rule else None
        if message is not None and store.reclaim_alert(record, now):
            attempt(record, message)
    for rule in rules.values():
        for subject_id in _new_subjects(config, store, rule, now - config.alerts.max_age):
            record = AlertRecord(rule.id, subject_id, message_id(rule.id, subject_id), claimed_at=now)
            if store.claim_alert(record):
                message = _message_for(config, store, rule, subject_id, now)
                if message is not None:
                    attempt(record, message)
    for delay in IN_RUN_RETRY_DELAYS:
        if not retrying:
            break
        sleep(delay)
        pending, retrying = retrying, []
        for record, message in pending:
            if store.reclaim_alert(record, clock()):
                attempt(record, message)
    report.failed += len(retrying)
    return report


LEDGER_SCAN_LIMIT = 100_000


def retry_alerts(
    config: Config,
    store: Store,
    statement_id: str | None = None,
    sender: Sender | None = None,
    clock: Clock = utcnow,
) -> tuple[int, AlertReport]:
    """Send dead alerts again after a fix — all of them, or those of one statement (dead or still waiting).

    Each is revived with a compare-and-set (`Store.revive_alert`): `failed`, due now, with a fresh retry
    period; the delivery then takes the usual claim, so two retries at once still send one email, and a
    sent alert is never sent again. Returns how many were revived, and the delivery's report.
    """
    now = clock()
    revived = 0
    for record in store.list_alerts(LEDGER_SCAN_LIMIT):
        wanted = record.state == "dead" if statement_id is None else record.statement_id == statement_id
        if wanted and record.state in ("dead", "failed") and store.revive_alert(record, now):
            revived += 1
    return revived, alert_stage(config, store, now=now, sender=sender, clock=clock)

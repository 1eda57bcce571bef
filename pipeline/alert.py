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
from pipeline.records import AlertRecord, Article, StageError, Statement, StatementQuote, utcnow
from pipeline.statement_view import Wording, reports, wordings
from pipeline.store import SearchQuery, Store

LEASE = timedelta(minutes=2)
IN_RUN_RETRY_DELAYS = (0.5, 2.0)
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY_INTERVAL = timedelta(hours=1)
# A subject carries one whole sentence of the speaker's; past this length a shorter whole one is preferred.
SUBJECT_SENTENCE_CHARS = 160
MIN_SENTENCE_WORDS = 5
# How much of a statement published in full the email quotes: its opening paragraphs.
OPENING_PARAGRAPHS = 3
OPENING_CHARS = 1500
_SENTENCE_END = re.compile(r"(?<![A-Z]\.)(?<=[.!?])[\"”’']?\s+(?=[\"“‘']?[A-Z])")


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


def whole_sentences(text: str) -> list[str]:
    """The complete sentences of a speaker's words, in order.

    A sentence is whole when it opens with a capital and closes with a full
    stop, a question or an exclamation mark — or with the end of the quote,
    where the attribution takes over (`"…this year," she said`). A clause cut
    out of a sentence ("a summit … will not take place this year") is not whole.
    """
    text = " ".join(text.split()).strip(" \"“”'‘’")
    found: list[str] = []
    pieces = _SENTENCE_END.split(text)
    for index, piece in enumerate(pieces):
        sentence = piece.strip(" \"“”'‘’")
        if index == len(pieces) - 1:
            sentence = sentence.rstrip(",")  # the quote ends where the attribution takes over
        elif not sentence.endswith((".", "!", "?")):
            continue
        if sentence[:1].isupper() and len(sentence.split()) >= MIN_SENTENCE_WORDS:
            found.append(sentence)
    return found


def subject_sentence(texts: list[str], limit: int = SUBJECT_SENTENCE_CHARS) -> str:
    """The subject's words: the first whole sentence that fits, else the shortest whole one, else a whole quote.

    `texts` come most representative first (the statement's text, then its other wordings).
    """
    sentences = [sentence for text in texts for sentence in whole_sentences(text)]
    fitting = [sentence for sentence in sentences if len(sentence) <= limit]
    if fitting:
        return fitting[0]
    if sentences:
        return min(sentences, key=len)
    quotes = [" ".join(text.split()).strip(" \"“”'‘’") for text in texts if text.strip()]
    return min(quotes, key=len) if quotes else ""


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


def opening_paragraphs(text: str) -> list[str]:
    """What an email quotes of a statement published in full: its first paragraphs, within a size."""
    paragraphs = [" ".join(p.split()) for p in text.split("\n") if p.strip()]
    opening: list[str] = []
    for paragraph in paragraphs[:OPENING_PARAGRAPHS]:
        if opening and sum(map(len, opening)) + len(paragraph) > OPENING_CHARS:
            break
        opening.append(paragraph)
    return opening


def _statement_lines(statement: Statement) -> list[str]:
    if statement.kind != "full_text":
        return [f"“{statement.text}”"]
    opening = opening_paragraphs(statement.text)
    rest = "" if len(opening) == len([p for p in statement.text.split("\n") if p.strip()]) else "[…]"
    return [
        f"The statement in full, as published at {statement.primary_url} (its opening):",
        "",
        *[f"  {paragraph}" for paragraph in opening],
        *([f"  {rest}"] if rest else []),
    ]


def statement_email(config: Config, rule: Rule, statement: Statement, now: datetime) -> EmailMessage:
    """The statement once, then each distinct wording with its outlets, then every report that carried it."""
    shown = wordings(statement)
    subject = subject_sentence([statement.text, *[w.text for w in shown if w.kind != "full_text"]])
    message = _envelope(config, f'{statement.speaker}: "{subject}"', rule, statement.id, now)
    why = f'{statement.speaker} is a tracked speaker (speaker rule "{rule.name}", alert: true)'
    carried = reports(statement)
    first = carried[0] if carried else None
    source = f" by {first.source}" if first else ""
    headline = (
        f"{statement.speaker} made a new statement ({statement.kind.replace('_', ' ')}), "
        f"published {_when(statement.published)}{source}, first seen by wirewatch {_when(statement.first_seen)}."
    )
    lines = [headline, "", *_statement_lines(statement), ""]
    quoted = [w for w in shown if w.kind != "full_text"]
    if quoted:
        lines.append("Quotes, each wording once, with the outlets that carried it:")
        for wording in quoted:
            lines += [f"  “{wording.text}” ({wording.kind}) — {', '.join(wording.outlets)}"]
        lines.append("")
    lines.append("Reports that carried it:")
    for item in carried:
        lines += [
            f"  - {item.source}: {item.title}, {_when(item.published)} ({item.kind.replace('_', ' ')})",
            f"    {item.article_url}",
        ]
        if item.context:
            lines.append(f"    {item.context}")
    lines += ["", f"Why: {why}."]
    message.set_content("\n".join(lines))
    message.add_alternative(_statement_html(statement, headline, quoted, carried, why), subtype="html")
    return message


def _statement_html(
    statement: Statement, headline: str, quoted: list[Wording], carried: list[StatementQuote], why: str
) -> str:
    escape = html.escape
    if statement.kind == "full_text":
        url = escape(statement.primary_url or "")
        body = "".join(f"<p>{escape(p)}</p>" for p in opening_paragraphs(statement.text))
        said = f'<p>The statement in full, as published at <a href="{url}">{url}</a> (its opening):</p>'
        said += f"<blockquote>{body}</blockquote>"
    else:
        said = f"<blockquote><strong>“{escape(statement.text)}”</strong></blockquote>"
    quotes_html = "".join(
        f"<li>“{escape(w.text)}” ({escape(w.kind)}) — {escape(', '.join(w.outlets))}</li>" for w in quoted
    )
    reports_html = "".join(
        f'<li>{escape(item.source)}: <a href="{escape(item.article_url)}">{escape(item.title)}</a>, '
        f"{escape(_when(item.published))} ({escape(item.kind)})"
        + (f"<p>{escape(item.context)}</p>" if item.context else "")
        + "</li>"
        for item in carried
    )
    quotes_part = f"<h3>Quotes, each wording once</h3><ul>{quotes_html}</ul>" if quoted else ""
    return (
        f"<html><body><p>{escape(headline)}</p>{said}{quotes_part}"
        f"<h3>Reports that carried it</h3><ul>{reports_html}</ul><p>Why: {escape(why)}.</p></body></html>"
    )


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
        # first seen recently and first published recently: a backlog's old statements never alert
        return [s.id for s in reversed(statements) if (s.published or s.first_seen) >= since]
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

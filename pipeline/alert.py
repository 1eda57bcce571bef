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
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import smtplib
import socket
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
MAX_ATTEMPTS = 8
IN_RUN_RETRY_DELAYS = (0.5, 2.0)
# A subject carries one whole sentence of the speaker's; past this length a shorter whole one is preferred.
SUBJECT_SENTENCE_CHARS = 160
MIN_SENTENCE_WORDS = 5
# How much of a statement published in full the email quotes: its opening paragraphs.
OPENING_PARAGRAPHS = 3
OPENING_CHARS = 1500
_SENTENCE_END = re.compile(r"(?<![A-Z]\.)(?<=[.!?])[\"”’']?\s+(?=[\"“‘']?[A-Z])")


class DeliveryError(Exception):
    def __init__(self, reason: str, temporary: bool) -> None:
        super().__init__(reason)
        self.temporary = temporary


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


@contextmanager
def smtp_delivery_errors(*unreachable: type[Exception]) -> Iterator[None]:
    """Turn smtplib's failures into `DeliveryError`: 4xx and lost connections are worth a retry, 5xx are not.

    `unreachable` adds exception types (a framework's own) that also mean "try again later".
    """
    retry: tuple[type[Exception], ...] = (
        smtplib.SMTPServerDisconnected,
        ConnectionError,
        TimeoutError,
        socket.gaierror,
        *unreachable,
    )
    try:
        yield
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise DeliveryError(f"recipients refused: {exc.recipients}", all(400 <= c < 500 for c in codes)) from None
    except smtplib.SMTPResponseException as exc:
        reason = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        raise DeliveryError(f"SMTP {exc.smtp_code}: {reason}", 400 <= exc.smtp_code < 500) from None
    except retry as exc:
        raise DeliveryError(f"SMTP server unreachable: {exc}", temporary=True) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP failed: {exc}", temporary=False) from None


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


def _deliver(record: AlertRecord, message: EmailMessage, sender: Sender, store: Store, report: AlertReport) -> bool:
    record.attempts += 1
    try:
        sender(message)
    except DeliveryError as exc:
        record.last_error = str(exc)
        if exc.temporary and record.attempts < MAX_ATTEMPTS:
            record.state = "failed"
            record.next_attempt = utcnow() + timedelta(minutes=1) * (1 << min(record.attempts - 1, 10))
        else:
            record.state = "dead"
            report.failed += 1
        store.update_alert(record)
        report.errors.append(StageError(record.rule, "alert", f"{record.statement_id}: {exc}"))
        return False
    record.state, record.sent_at, record.last_error, record.next_attempt = "sent", utcnow(), None, None
    store.update_alert(record)
    report.sent += 1
    report.first_delivery = report.first_delivery or record.sent_at
    return True


def _new_subjects(config: Config, store: Store, rule: Rule, since: datetime) -> list[str]:
    if rule.kind == "speaker":
        statements = store.list_statements(speaker=rule.name, since=since, limit=1000)
        # first seen recently and first published recently: a backlog's old statements never alert
        return [s.id for s in reversed(statements) if (s.published or s.first_seen) >= since]
    hits = store.search(SearchQuery(topic=rule.name, since=since, collapse=True, limit=1000)).hits
    return [story_id(hit.cluster_id) for hit in reversed(hits)]


def alert_stage(config: Config, store: Store, now: datetime | None = None, sender: Sender | None = None) -> AlertReport:
    """Claim and send what is new; take over abandoned claims; retry temporary failures briefly."""
    now = now or utcnow()
    sender = sender or default_sender(config)
    report = AlertReport()
    rules = {rule.id: rule for rule in alert_rules(config)}
    if rules and not config.alerts.to:
        report.errors.append(StageError("alerts.to", "alert", "no recipients configured: alerts not sent"))
        return report
    retrying: list[tuple[AlertRecord, EmailMessage]] = []

    def attempt(record: AlertRecord, message: EmailMessage) -> None:
        if not _deliver(record, message, sender, store, report) and record.state == "failed":
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
        time.sleep(delay)
        pending, retrying = retrying, []
        for record, message in pending:
            if store.reclaim_alert(record, utcnow()):
                attempt(record, message)
    report.failed += len(retrying)
    return report

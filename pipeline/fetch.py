"""Fetch stage: each due entry's page, then its article (or a recorded reason why not).

An entry is never dropped. A page that fails for a reason that may pass (a
timeout, a 503) is retried on later runs with backoff; a page that will not
give text (a PDF, a paywall, a 403, a script-only page) falls back to the
text the feed itself carried, marked `from_feed`, when the feed carried any.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pipeline.records import Article, Entry, Extracted, StageError
from pipeline.workers import WorkerDiedError, Workers

if TYPE_CHECKING:  # the web client is imported where a page is fetched (`fetch_page`): see there
    from pipeline.web import FetchError, Response, WebClient

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
MAX_ATTEMPTS = 8
RETRY_BASE = timedelta(minutes=10)

Progress = Callable[[str, int, int], None]


@dataclass
class Page:
    entry: Entry
    response: Response | None
    error: FetchError | None


@dataclass
class FetchOutcome:
    articles: list[Article]
    entries: list[Entry]
    errors: list[StageError]


async def fetch_page(entry: Entry, client: WebClient) -> Page:
    """The entry's page, or the reason it could not be fetched.

    The web client (httpx, h11: 450 M instructions of imports) is imported here, not with this module: the
    page workers import this module for `extract_body`, and their forkserver imported it before any of them
    could take a page. Only the main process fetches, and it has the client loaded already (`client`)."""
    from pipeline.web import FetchError

    try:
        return Page(entry, await client.get(entry.url, accept_types=HTML_TYPES), None)
    except FetchError as exc:
        return Page(entry, None, exc)


def is_due(entry: Entry, now: datetime) -> bool:
    """The rule `Store.entries_due` applies in the store, for entries already in hand."""
    return entry.status == "pending" or (
        entry.status == "failed" and entry.next_attempt is not None and entry.next_attempt <= now
    )


def retry_delay(attempts: int) -> timedelta:
    return min(RETRY_BASE * (1 << max(attempts - 1, 0)), timedelta(days=1))


def article_title(entry_title: str, extracted: Extracted) -> str:
    """The title an extracted article is stored with: the feed entry's, else the page's."""
    return entry_title or extracted.title or ""


def _article(entry: Entry, extracted: Extracted | None, now: datetime) -> Article:
    if extracted is None:
        return Article(
            id=entry.id,
            url=entry.url,
            feed_url=entry.feed_url,
            source=entry.source,
            title=entry.title,
            text=entry.summary,
            published=entry.published,
            from_feed=True,
            fetched=now,
        )
    return Article(
        id=entry.id,
        url=entry.url,
        feed_url=entry.feed_url,
        source=entry.source,
        title=article_title(entry.title, extracted),
        text=extracted.text,
        author=extracted.author,
        published=entry.published or extracted.published,
        language=extracted.language,
        sitename=extracted.sitename,
        fetched=now,
    )


ExtractJob = tuple[bytes, str | None, str, int]
ExtractResult = tuple[Extracted | None, str | None]


def extraction_job(response: Response, min_text_chars: int) -> ExtractJob:
    """What a worker extracts a fetched page from: its body, its declared content type, the URL it came from (after
    redirects) and the least text that makes an article."""
    return response.body, response.headers.get("content-type"), response.url, min_text_chars


def extract_body(job: ExtractJob) -> ExtractResult:
    """The extracted article, or why the page gave none; picklable both ways for a process pool.

    The extractor (trafilatura, htmldate, justext: 15 MiB of RSS) is imported here, not with this module: with a pool
    only the workers extract, and their forkserver has it loaded already (`pipeline.worker_preload`), so the
    main process, which hands this job over by name, never loads it.
    """
    from pipeline.extract import decode_html, extract

    body, content_type, url, min_text_chars = job
    html = decode_html(body, content_type)
    try:
        extracted = extract(html, url)
    except Exception as exc:  # noqa: BLE001 - a page that breaks the extractor is one failed entry
        return None, f"extraction failed: {type(exc).__name__}: {exc}"
    if extracted is None or len(extracted.text) < min_text_chars:
        found = len(extracted.text) if extracted else 0
        return None, f"page yielded {found} characters of text (fewer than {min_text_chars})"
    return extracted, None


async def extract_page(page: Page, min_text_chars: int, pool: Workers | None) -> ExtractResult:
    """The page's article, or why there is none: in a worker when there is a pool, else in a thread, so the
    event loop goes on reading the other pages of the batch (their deadlines run meanwhile)."""
    response = page.response
    if response is None:
        return None, page.error.reason if page.error else "no response"
    job = extraction_job(response, min_text_chars)
    if pool is None:
        return await asyncio.to_thread(extract_body, job)
    try:
        return await pool.run(extract_body, job)
    except WorkerDiedError as exc:
        return None, f"extraction failed: {exc}"


def settle(page: Page, extracted: Extracted | None, reason: str | None, now: datetime) -> Article | None:
    """Update the entry's state from the outcome; return the article to index, if any."""
    entry = page.entry
    entry.attempts += 1
    if extracted is not None:
        entry.status, entry.last_error, entry.next_attempt = "done", None, None
        return _article(entry, extracted, now)
    entry.last_error = reason
    transient = page.error is not None and page.error.transient
    if entry.summary.strip() and (not transient or entry.attempts >= MAX_ATTEMPTS):
        entry.status, entry.next_attempt = "done", None
        entry.last_error = f"used the feed's text: {reason}"
        return _article(entry, None, now)
    if entry.attempts >= MAX_ATTEMPTS:
        entry.status, entry.next_attempt = "dead", None
    else:
        entry.status, entry.next_attempt = "failed", now + retry_delay(entry.attempts)
    return None


def build_articles(outcomes: list[tuple[Page, ExtractResult]], now: datetime) -> FetchOutcome:
    """Settle each page's entry from its extraction; the articles to index, the entries to save, the errors."""
    outcome = FetchOutcome([], [], [])
    for page, (extracted, reason) in outcomes:
        article = settle(page, extracted, reason, now)
        outcome.entries.append(page.entry)
        if article is not None:
            outcome.articles.append(article)
        if reason is not None:
            outcome.errors.append(StageError(page.entry.url, "fetch" if page.error else "extract", reason))
    return outcome

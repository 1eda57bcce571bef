"""What a worker does with one fetched page in a cycle: extract the article, then analyse it, in one job.

Run as two jobs, the article's text went to the main process, into the store, out of it again and back
to a worker for analysis, and its entities and quotes were written to the store a second time; one job
sends the page once and gets the whole article back, which the cycle stores once. The analysis is the
enrich stage's own (`analyze`), topics included: the cycle sends pages here only for a store that matches
topics the way `analyze` does (in Python, as `Store.match_topics` does), never for one with a percolator.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import Config
from pipeline.enrich.analyze import Analysis, analyze
from pipeline.fetch import ExtractJob, article_title, extract_body
from pipeline.records import Extracted


@dataclass
class PageWork:
    extracted: Extracted | None
    reason: str | None  # why there is no article, as `extract_body` gives it
    # None when the page gave no article, or when the analysis raised: the enrich step then analyses the
    # article as it always did, and reports what goes wrong there.
    analysis: Analysis | None


# The extraction job, the entry's title (the article's title when it has one), and the config.
PageJob = tuple[ExtractJob, str, Config]


def extract_and_analyse(job: PageJob) -> PageWork:
    """The page's article and its analysis; picklable both ways for a process pool."""
    extract_job, entry_title, config = job
    extracted, reason = extract_body(extract_job)
    if extracted is None:
        return PageWork(None, reason, None)
    return PageWork(extracted, reason, _analysis(extracted, entry_title, config))


# An article extracted elsewhere (a worker of the cycle's first seconds, whose forkserver loads no analyser), the
# entry's title, and the config.
AnalysisJob = tuple[Extracted, str, Config]


def analyse_extracted(job: AnalysisJob) -> Analysis | None:
    """The second half of `extract_and_analyse`, for an article extracted by another worker: the same analysis,
    so the article is stored as one job would have stored it."""
    extracted, entry_title, config = job
    return _analysis(extracted, entry_title, config)


def _analysis(extracted: Extracted, entry_title: str, config: Config) -> Analysis | None:
    try:
        return analyze(extracted.text, config, article_title(entry_title, extracted))
    except Exception:  # noqa: BLE001 - the enrich step analyses this article again and reports the error itself
        return None

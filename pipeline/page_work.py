"""What a worker does with one fetched page in a cycle: extract the article, then analyse it, in one job.

Run as two jobs, the article's text went to the main process, into the store, out of it again and back
to a worker for analysis, and its entities and quotes were written to the store a second time; one job
sends the page once and gets the whole article back, which the cycle stores once. The analysis is the
enrich stage's own (`analyze`), topics included: the cycle sends pages here only for a store that matches
topics the way `analyze` does (in Python, as `Store.match_topics` does), never for one with a percolator.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler

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


class _LastConfig:
    """The last `Config` a job carried to a worker, and one pickle of it (one tuple, replaced whole: the pools'
    feeder threads may pickle jobs at the same time)."""

    pickled: tuple[Config, bytes] | None = None


def _config_pickled_once(config: Config) -> tuple[Callable[[bytes], Config], tuple[bytes]]:
    """How a worker's job carries the cycle's `Config`: as the bytes of one pickle of it, made for the first job
    that carries this Config and reused for every job after; the worker unpickles the same Config from them.

    Every job of a cycle carries the same Config, and the pool's pickler rebuilt it for each (its feeds, topics,
    speakers and nested sections: 0.5 M instructions of the main process a page, nearly all of what pickling a
    page's job cost, the page's body being one copy of its bytes; counted in a whole bench cycle,
    `bench.bench_cycle --only instructions`)."""
    pickled = _LastConfig.pickled
    if pickled is None or pickled[0] is not config:
        pickled = _LastConfig.pickled = (config, pickle.dumps(config, pickle.HIGHEST_PROTOCOL))
    return pickle.loads, (pickled[1],)


# Only the pickler of the pools' pipes (multiprocessing's), not every pickle of a Config.
ForkingPickler.register(Config, _config_pickled_once)

"""A worker's job carries the cycle's Config as one pickle of it, made once (`page_work._config_pickled_once`)."""

from __future__ import annotations

import pickle
from multiprocessing.reduction import ForkingPickler

from pipeline.config import Config, config_from_dict
from pipeline.page_work import _config_pickled_once


def _config(feed: str) -> Config:
    return config_from_dict(
        {
            "feeds": [{"url": feed, "interval": "5m"}],
            "topics": [{"name": "rates", "query": "interest rates"}],
            "fetch": {"timeout": "45s", "concurrency": 8},
        }
    )


def test_a_job_sent_to_a_worker_brings_back_an_equal_config() -> None:
    config = _config("https://example.com/feed.xml")
    job = ((b"<html>page</html>", "text/html", "https://example.com/a", 250), "A title", config)
    received = pickle.loads(ForkingPickler.dumps(job))
    assert received[0] == job[0] and received[1] == "A title"
    assert received[2] == config and received[2] is not config
    assert received[2].fetch.timeout.total_seconds() == 45.0  # as written above
    assert [topic.name for topic in received[2].topics] == ["rates"]


def test_the_config_is_pickled_once_for_every_job_that_carries_it() -> None:
    config = _config("https://example.com/feed.xml")
    load, (first,) = _config_pickled_once(config)
    _, (second,) = _config_pickled_once(config)
    assert load is pickle.loads
    assert second is first  # the same bytes object: not pickled again
    other = _config("https://example.org/other.xml")
    _, (third,) = _config_pickled_once(other)
    assert third is not first and pickle.loads(third) == other  # another Config is pickled for itself
    _, (again,) = _config_pickled_once(config)
    assert again is not first and again == first  # only the last one is kept; pickled again, the same bytes

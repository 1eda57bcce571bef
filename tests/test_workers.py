"""Worker processes that really die (SIGKILL, as the OOM killer sends) cost only their own job."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest

from pipeline.workers import WorkerDiedError, Workers


def square_or_die(n: int) -> int:
    if n < 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return n * n


@pytest.fixture
def workers() -> Iterator[Workers]:
    pool = Workers(2)
    yield pool
    pool.shutdown()


def test_results_come_back_in_order(workers: Workers) -> None:
    assert workers.map(square_or_die, list(range(20))) == [n * n for n in range(20)]


def test_a_job_that_kills_its_worker_fails_alone(workers: Workers) -> None:
    results = workers.map(square_or_die, [1, 2, -1, 3, 4])
    assert [r for n, r in enumerate(results) if n != 2] == [1, 4, 9, 16]
    assert isinstance(results[2], WorkerDiedError)
    assert "square_or_die" in str(results[2])
    assert workers.map(square_or_die, [5, 6]) == [25, 36]


def test_async_job_that_kills_its_worker_raises_and_the_pool_goes_on(workers: Workers) -> None:
    async def scenario() -> list[int]:
        with pytest.raises(WorkerDiedError):
            await workers.run(square_or_die, -1)
        return list(await asyncio.gather(*(workers.run(square_or_die, n) for n in range(4))))

    assert asyncio.run(scenario()) == [0, 1, 4, 9]

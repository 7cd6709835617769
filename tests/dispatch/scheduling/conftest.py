"""The scheduling tests run jobs inline (in the request's thread, right after the commit):
the test's sessions share one connection, which threads must not use at the same time.
tests/dispatch/scheduling/test_runner_threads.py runs them on real threads, and the tests
that take ``celery_worker`` or ``start_worker`` on a real Celery worker process
(celery_kit.py); without Redis those skip, except under CI=true, where they fail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dispatch.scheduling.runs import JobRunner
from tests.dispatch.scheduling.celery_kit import (
    IN_CI,
    REDIS_URL,
    Worker,
    redis_problem,
    shared_database_url,
)

# Heartbeat age after which the workers of these tests count as lost (a few beats).
STALE_AFTER_S = 4.0


@pytest.fixture
def app(app, sessions, clock, settings):
    app.state.runner = JobRunner(sessions, clock, settings, workers=0, heartbeat_s=0.2,
                                 events=app.state.events)
    return app


@pytest.fixture(scope="session")
def redis_url() -> str:
    problem = redis_problem(REDIS_URL)
    if problem:
        if IN_CI:
            pytest.fail(f"{problem} (required in CI)")
        pytest.skip(problem)
    return REDIS_URL


@pytest.fixture(scope="session")
def celery_worker(engine: Engine, redis_url: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """One worker per database for the tests that only run jobs through it."""
    worker = Worker(database_url=shared_database_url(engine), redis_url=redis_url,
                    log=tmp_path_factory.mktemp("worker") / "worker.log",
                    stale_after_s=STALE_AFTER_S)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def start_worker(engine: Engine, redis_url: str,
                 tmp_path: Path) -> Iterator[Callable[[], Worker]]:
    """``start_worker()``: a worker of the test's own (one it may kill); stopped after it."""
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(database_url=shared_database_url(engine), redis_url=redis_url,
                        log=tmp_path / f"worker-{len(started)}.log",
                        stale_after_s=STALE_AFTER_S)
        started.append(worker)
        return worker.start()

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()

"""Runs on the embedded thread pool against a committing database: progress readable while
a run works, cancelling a running run, a run whose worker is lost mid-run, and one whose
row went away."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dispatch.app import create_app
from dispatch.core.auth import create_token, create_user
from dispatch.core.clock import FixedClock
from dispatch.core.db import make_sessionmaker, session_scope
from dispatch.core.settings import Settings
from dispatch.scheduling import runs
from dispatch.scheduling.runs import JobRunner
from tests.dispatch.scheduling.world import (
    cancel_running,
    make_world,
    run_body,
    wait_for,
    wait_solving,
)


@pytest.fixture
def pool(committing_engine, tmp_path: Path) -> Iterator[tuple[TestClient, dict, FixedClock]]:
    factory = make_sessionmaker(committing_engine)
    clock = FixedClock()
    settings = Settings(database_url="sqlite://", geocoder_url="", var_dir=tmp_path,
                        default_currency="BRL")
    app = create_app(settings, sessionmaker_=factory, clock=clock)
    # The workers' own clock: the app's may move on (a lost worker) while theirs stands still.
    runner = JobRunner(factory, FixedClock(clock.now()), settings, workers=1, heartbeat_s=0.1,
                       events=app.state.events)
    app.state.runner = runner
    with session_scope(factory) as session:
        make_world(session)
        create_user(session, username="dina", role="dispatcher", now=clock.now())
        token = create_token(session, username="dina", now=clock.now())
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, {"Authorization": f"Bearer {token}"}, clock
    finally:
        runner.shutdown(wait=True)


def _start(client, headers, **fields) -> int:
    res = client.post("/schedule-runs", json=run_body(**fields), headers=headers)
    assert res.status_code == 202, res.text
    return res.json()["id"]


def test_progress_is_readable_while_a_run_works_and_it_ends_done(pool):
    client, h, _clock = pool
    run_id = _start(client, h, time_limit_s=3)

    running = wait_solving(client, run_id, h)

    assert running["progress"]["phase"] == "solving"
    assert running["progress"]["elapsed_s"] >= 0
    assert running["plan"] is None
    done = wait_for(client, run_id, h)
    assert done["status"] == "done", done["error"]
    assert done["kpis"]["visits_assigned"] == 8
    assert done["progress"]["best_objective"] == done["kpis"]["objective"]


def test_cancelling_a_running_run_stops_it_with_its_best_plan(pool):
    client, h, _clock = pool
    run_id = _start(client, h, time_limit_s=60)
    wait_solving(client, run_id, h)

    cancel_running(client, run_id, h)

    assert client.post(f"/schedule-runs/{run_id}/publish", headers=h).status_code == 409


def test_a_run_whose_worker_is_lost_is_failed_and_stays_failed(pool):
    client, h, clock = pool
    runner = client.app.state.runner
    run_id = _start(client, h, time_limit_s=60)
    wait_solving(client, run_id, h)
    # Ten minutes later for the app, none for the worker: its beats look ten minutes old,
    # as a killed worker's last beat would.
    clock.advance(minutes=10)

    lost = client.get(f"/schedule-runs/{run_id}", headers=h).json()

    assert lost["status"] == "failed"
    assert lost["error"].startswith("worker lost")
    # the worker notices at its next beat, stops, and leaves the failure as it is
    deadline = time.monotonic() + 30
    while runner._cancels and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not runner._cancels
    after = client.get(f"/schedule-runs/{run_id}", headers=h).json()
    assert after["status"] == "failed" and after["plan"] is None


def test_a_heartbeat_of_a_run_whose_row_is_gone_stops_the_solver(committing_engine):
    cancel = threading.Event()
    beat = runs._Heartbeat(make_sessionmaker(committing_engine), 4242, FixedClock(),
                           runs._Progress(), cancel, every=1.0, notify=lambda *a, **k: None)

    beat.beat()

    assert cancel.is_set()

"""Scheduling runs on real Celery worker processes (``tecnico worker``) and the local Redis:
a worker killed mid-run, one stopped mid-run, a run's process killed under a worker that
lives on, cancelling through the worker, its live updates reaching the board's event stream,
a broker that cannot be reached and a worker started without one. Workers plan with the real
clock, so the runs are for a working day ahead.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from dispatch.core.clock import SystemClock
from dispatch.core.db import make_sessionmaker, session_scope
from dispatch.core.settings import Settings
from dispatch.events import EventRelay, RelayedEventHub
from dispatch.models import Visit
from tests.dispatch.scheduling.celery_kit import serving
from tests.dispatch.scheduling.conftest import STALE_AFTER_S
from tests.dispatch.scheduling.world import (
    BUSY_ORDERS,
    cancel_running,
    run_body,
    wait_for,
    wait_solving,
    workday_ahead,
)

# The longest time limit, so that the world of BUSY_ORDERS is still solving whenever the
# tests kill, stop or cancel a run.
LONG_S = 600


def _day() -> date:
    return workday_ahead(SystemClock().now().date())


def _start(client, headers, **fields) -> int:
    day = _day().isoformat()
    res = client.post("/schedule-runs", json=run_body(date_from=day, date_to=day, **fields),
                      headers=headers)
    assert res.status_code == 202, res.text
    return res.json()["id"]


def _visits(engine) -> list[tuple]:
    with session_scope(make_sessionmaker(engine)) as session:
        return [(v.id, v.order_id, v.technician_id, v.planned_start, v.version, v.run_id)
                for v in session.scalars(select(Visit).order_by(Visit.id))]


def _publish_a_plan(client, headers) -> int:
    run = wait_for(client, _start(client, headers, time_limit_s=1), headers)
    assert run["status"] == "done", run["error"]
    res = client.post(f"/schedule-runs/{run['id']}/publish", headers=headers)
    assert res.status_code == 200, res.text
    return run["id"]


def _lost(client, headers, run_id: int) -> dict:
    """The run once the reaper failed it (a few heartbeats' time, with room for a busy
    machine)."""
    run = wait_for(client, run_id, headers, timeout=STALE_AFTER_S + 30)
    assert run["status"] == "failed", run
    return run


@pytest.mark.slow
def test_a_worker_killed_mid_run_fails_the_run_and_leaves_the_published_plan(
        start_worker, committing_engine, tmp_path: Path):
    worker = start_worker()
    with serving(worker.settings(tmp_path), committing_engine, SystemClock(),
                 orders=BUSY_ORDERS) as (client, h, world):
        first = _publish_a_plan(client, h)
        published = _visits(committing_engine)
        assert published
        run_id = _start(client, h, time_limit_s=LONG_S, seed=7)
        running = wait_solving(client, run_id, h)
        assert running["worker"].startswith("celery:")

        worker.kill()

        run = _lost(client, h, run_id)
        assert run["error"] == f"worker lost: no heartbeat for more than {STALE_AFTER_S:g} s"
        assert run["plan"] is None
        assert _visits(committing_engine) == published
        assert {v[5] for v in published} == {first}
        planned = {v[1] for v in published}
        assert {client.get(f"/orders/{o.id}", headers=h).json()["status"]
                for o in world.orders if o.id in planned} == {"scheduled"}
        # and it stays failed: nothing of the dead worker comes back to finish it
        time.sleep(STALE_AFTER_S / 2)
        assert client.get(f"/schedule-runs/{run_id}", headers=h).json()["status"] == "failed"


def test_a_worker_stopped_mid_run_cancels_it_and_the_run_keeps_its_best_plan(
        start_worker, committing_engine, tmp_path: Path):
    worker = start_worker()
    with serving(worker.settings(tmp_path), committing_engine, SystemClock(),
                 orders=BUSY_ORDERS) as (client, h, _world):
        run_id = _start(client, h, time_limit_s=LONG_S)
        wait_solving(client, run_id, h)
        started = time.monotonic()

        assert worker.shut_down() == 0

        assert time.monotonic() - started < 30  # well before the limit
        run = client.get(f"/schedule-runs/{run_id}", headers=h).json()
        assert run["status"] == "cancelled", run
        assert run["cancel_requested"] is True
        assert run["kpis"]["solver_status"] == "CANCELLED" and run["plan"]["visits"]


def test_a_run_whose_process_is_killed_fails_and_the_worker_takes_the_next(
        celery_worker, committing_engine, tmp_path: Path):
    with serving(celery_worker.settings(tmp_path), committing_engine, SystemClock(),
                 orders=BUSY_ORDERS) as (client, h, _world):
        run_id = _start(client, h, time_limit_s=LONG_S)
        running = wait_solving(client, run_id, h)
        pid = int(running["worker"].rsplit(":", 1)[1])
        assert pid != celery_worker.proc.pid  # the pool's child, not the worker itself

        os.kill(pid, signal.SIGKILL)

        run = _lost(client, h, run_id)
        assert run["error"].startswith("worker lost")
        assert celery_worker.alive()
        after = wait_for(client, _start(client, h, time_limit_s=1), h)
        assert after["status"] == "done", after["error"]
        assert after["worker"] != running["worker"]


def test_cancelling_a_run_on_a_worker_stops_it_with_its_best_plan(
        celery_worker, committing_engine, tmp_path: Path):
    with serving(celery_worker.settings(tmp_path), committing_engine, SystemClock(),
                 orders=BUSY_ORDERS) as (client, h, _world):
        run_id = _start(client, h, time_limit_s=LONG_S)
        wait_solving(client, run_id, h)

        run = cancel_running(client, run_id, h)

        assert run["worker"].startswith("celery:")
        assert run["plan"]["visits"]  # its best plan so far, to publish if wanted


def test_a_run_on_a_worker_reaches_the_boards_event_stream(
        celery_worker, committing_engine, tmp_path: Path):
    with serving(celery_worker.settings(tmp_path), committing_engine, SystemClock()) as (
            client, h, _world):
        run_id = _start(client, h, time_limit_s=1)
        assert wait_for(client, run_id, h)["status"] == "done"
        hub = client.app.state.events
        # Ends the stream rather than hang if the worker's events never arrive.
        guard = threading.Timer(30, hub.close)
        guard.start()
        seen = []
        try:
            with client.stream("GET", "/board/events",
                               headers=h | {"Last-Event-ID": "0"}) as res:
                assert res.status_code == 200
                for line in res.iter_lines():
                    if line.startswith("data:"):
                        seen.append(line)
                        if f'"run_id":{run_id},"status":"done"' in line:
                            break
        finally:
            guard.cancel()
    statuses = [line for line in seen if f'"run_id":{run_id}' in line]
    assert '"status":"queued"' in statuses[0]  # the app's own, when the run was created
    assert any('"status":"running"' in line for line in statuses)  # relayed from the worker
    assert '"status":"done"' in statuses[-1]


def test_events_reach_every_process_on_the_channel_once(redis_url):
    channel = f"tecnico-test-{uuid.uuid4().hex[:12]}-events"
    a, b = RelayedEventHub(redis_url, channel), RelayedEventHub(redis_url, channel)
    worker = EventRelay(redis_url, channel)
    a.start()
    b.start()
    try:
        deadline = time.monotonic() + 10
        while worker.redis.pubsub_numsub(channel)[0][1] < 2:
            assert time.monotonic() < deadline, "the hubs never subscribed"
            time.sleep(0.02)

        async def main():
            with a.subscribe() as on_a, b.subscribe() as on_b:
                a.publish("visits.changed", days=[date(2026, 3, 3)], visit_ids=[7])
                worker.publish("run.updated", run_id=4, status="running")
                got_a = [await on_a.next(5), await on_a.next(5)]
                got_b = [await on_b.next(5), await on_b.next(5)]
                return got_a, got_b, await on_a.next(0.3), await on_b.next(0.3)

        got_a, got_b, more_a, more_b = asyncio.run(main())
    finally:
        a.close()
        b.close()
        worker.close()
    for got in (got_a, got_b):
        assert [(e.kind, e.data) for e in got] == [
            ("visits.changed", {"visit_ids": [7], "days": ["2026-03-03"]}),
            ("run.updated", {"run_id": 4, "status": "running"})]
    assert more_a is None and more_b is None  # a's own event came once, not back from Redis


def test_a_run_the_broker_does_not_take_is_failed_with_the_reason(committing_engine,
                                                                  tmp_path: Path):
    settings = Settings(database_url="sqlite://", broker_url="redis://127.0.0.1:9/0",
                        geocoder_url="", var_dir=tmp_path, default_currency="BRL")
    with serving(settings, committing_engine, SystemClock(), orders=1) as (client, h, _world):
        run_id = _start(client, h)
        run = client.get(f"/schedule-runs/{run_id}", headers=h).json()
    assert run["status"] == "failed"
    assert run["error"].startswith("could not queue the run: ")


def test_a_worker_refuses_to_start_without_a_broker_or_with_no_concurrency(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TECNICO_")} | {
        "TECNICO_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}", "TECNICO_BROKER_URL": ""}

    def tecnico_worker(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dispatch.cli", "worker", *args], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)

    no_broker = tecnico_worker()
    assert no_broker.returncode == 2
    assert "TECNICO_BROKER_URL is not set" in no_broker.stderr
    env["TECNICO_BROKER_URL"] = "redis://127.0.0.1:9/0"
    no_concurrency = tecnico_worker("--concurrency", "0")
    assert no_concurrency.returncode == 2
    assert "--concurrency" in no_concurrency.stderr

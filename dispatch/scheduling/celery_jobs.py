"""Scheduling runs on Celery workers (``TECNICO_BROKER_URL`` set; ``tecnico worker``).

The API process commits a queued run and sends its id on the queue ``TECNICO_RUN_QUEUE``
(:class:`CeleryRunner`); a worker process takes it and calls the same
:func:`~dispatch.scheduling.runs.execute_run` the embedded pool calls, with its own
sessionmaker on ``TECNICO_DATABASE_URL`` and the system clock. Everything a run is lives in
its database row, so the broker carries the id alone and no result backend is used:
cancelling goes through the row's ``cancel_requested`` (the run's heartbeat reads it) and a
lost worker is found by its stale heartbeat.

Delivery: a message is acknowledged after its task ends (``acks_late``) and a worker
process holds one message at a time (prefetch 1), so a message whose worker died is delivered
again; a second delivery of a run that is running or finished does nothing, as
:func:`execute_run` only takes queued runs. A run whose worker died while running it stays
``running`` until its heartbeat is older than ``TECNICO_RUN_STALE_AFTER_S``; then the next
read of runs fails it ("worker lost"). The published plan is not touched by any of this:
only publishing a done run changes visits.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from celery import Celery, signals
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from dispatch.core.clock import Clock, SystemClock
from dispatch.core.db import make_engine, make_sessionmaker, session_scope
from dispatch.core.settings import Settings
from dispatch.events import EventRelay, uses_redis
from dispatch.models import RunStatus, ScheduleRun
from dispatch.scheduling import runs

log = logging.getLogger("tecnico.scheduling")

EXECUTE_RUN = "tecnico.scheduling.execute_run"
# A message a worker took but never acknowledged (the worker was killed before the run
# started) is given to another worker after this many seconds: longer than the longest run
# (time limit, loading and storing), shorter than runs.QUEUED_STALE_AFTER, after which a
# run no worker took is failed.
VISIBILITY_TIMEOUT_S = 20 * 60
# A run that outlives its time limit by this much is hung; Celery kills its process and the
# run is failed as "worker lost" once its heartbeat is stale.
HARD_LIMIT_MARGIN_S = 5 * 60


class WorkerContext:
    """What a worker process needs to execute runs, built on its first run: a sessionmaker
    (after the fork of a prefork child, never inherited from the parent) and the relay of
    live updates to the board."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock: Clock = SystemClock()
        self._lock = threading.Lock()
        self._pid = 0
        self._factory: sessionmaker[Session] | None = None
        self._relay: EventRelay | None = None

    def _ready(self) -> tuple[sessionmaker[Session], EventRelay | None]:
        with self._lock:
            if self._pid != os.getpid() or self._factory is None:
                self._pid = os.getpid()
                self._factory = make_sessionmaker(make_engine(self.settings.database_url))
                self._relay = (EventRelay(self.settings.broker_url,
                                          self.settings.events_channel)
                               if uses_redis(self.settings.broker_url) else None)
            return self._factory, self._relay

    def execute(self, run_id: int) -> str:
        factory, relay = self._ready()
        status = runs.execute_run(factory, run_id, self.clock, settings=self.settings,
                                  worker=runs.worker_name("celery"),
                                  notify=relay.publish if relay is not None else None)
        log.info("scheduling run %s: %s", run_id, status)
        return str(status)

    def request_cancel(self, run_ids: list[int]) -> None:
        """Ask the running runs among ``run_ids`` to stop, as POST .../cancel does."""
        factory, _relay = self._ready()
        with session_scope(factory) as session:
            session.execute(
                update(ScheduleRun)
                .where(ScheduleRun.id.in_(run_ids), ScheduleRun.status == RunStatus.running)
                .values(cancel_requested=True, version=ScheduleRun.version + 1)
                .execution_options(synchronize_session=False))


def make_celery(settings: Settings, context: WorkerContext | None = None) -> Celery:
    """The Celery app of ``settings``: broker, queue and the run task, which executes runs
    with ``context`` (a new one by default)."""
    app = Celery("tecnico", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.run_queue,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        # A message whose child process died (crash, OOM killer, an idle child killed before
        # the parent noticed) goes back on the queue: a run it had not started yet starts on
        # another child; one it had started is left to the reaper (a second delivery of a
        # running run does nothing), so this never loops past runs.QUEUED_STALE_AFTER.
        task_reject_on_worker_lost=True,
        task_time_limit=runs.MAX_TIME_LIMIT_S + HARD_LIMIT_MARGIN_S,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        broker_connection_retry_on_startup=True,
        # The API sends within a request: give up quickly (the run is then failed) rather
        # than hold the request while the broker is down.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2,
                                   "interval_step": 0.3, "interval_max": 0.5},
        broker_connection_timeout=3,
    )
    context = context or WorkerContext(settings)

    @app.task(name=EXECUTE_RUN)
    def execute(run_id: int) -> str:
        return context.execute(run_id)

    return app


def run_worker(settings: Settings, *, concurrency: int, loglevel: str) -> None:
    """``tecnico worker``: consume the run queue until stopped.

    The prefork pool: each run solves in a child process the worker watches, so a crash or
    the OOM killer in native solver code loses that run alone (failed by the reaper) and the
    worker forks a fresh child; solving is CPU-bound, so one child per core. On a warm
    shutdown (SIGTERM, Ctrl-C) the runs under way are cancelled: each stops within a
    heartbeat and stores its best plan, as the embedded pool does when the API stops."""
    context = WorkerContext(settings)
    app = make_celery(settings, context)

    def cancel_runs(**_kwargs: Any) -> None:
        from celery.worker import state

        run_ids = [r.args[0] for r in list(state.active_requests)
                   if r.name == EXECUTE_RUN and r.args]
        if not run_ids:
            return
        log.info("shutting down: cancelling scheduling runs %s", run_ids)
        try:
            context.request_cancel(run_ids)
        except Exception:  # the shutdown goes on; the runs end at their limit or are reaped
            log.exception("could not cancel scheduling runs %s", run_ids)

    signals.worker_shutting_down.connect(cancel_runs, weak=False)
    app.worker_main([
        "worker", "--pool=prefork", f"--concurrency={concurrency}", f"--loglevel={loglevel}",
        f"--queues={settings.run_queue}", f"--hostname=tecnico-{os.getpid()}@%h",
        "--without-gossip", "--without-mingle",
    ])


class CeleryRunner:
    """:class:`~dispatch.scheduling.runs.JobRunner`'s interface for an app whose runs go to
    Celery workers. ``submit`` is called after the run's row is committed, so a worker never
    gets an id it cannot read."""

    def __init__(self, factory: sessionmaker[Session], clock: Clock, settings: Settings, *,
                 events: Any = None) -> None:
        self.factory, self.clock, self.settings = factory, clock, settings
        self.events = events
        self.celery = make_celery(settings)

    def submit(self, run_id: int) -> None:
        try:
            self.celery.send_task(EXECUTE_RUN, args=[run_id], queue=self.settings.run_queue)
        except Exception as exc:  # noqa: BLE001 - any broker failure: the run cannot start
            log.exception("could not queue scheduling run %s", run_id)
            self._fail(run_id, f"could not queue the run: {type(exc).__name__}: {exc}")

    def _fail(self, run_id: int, error: str) -> None:
        now = self.clock.now()
        with session_scope(self.factory) as session:
            run = session.get(ScheduleRun, run_id, with_for_update=True)
            if run is None or run.status != RunStatus.queued:
                return
            run.status, run.error = RunStatus.failed, error
            run.finished_at = now
            run.version += 1
        if self.events is not None:
            self.events.publish("run.updated", run_id=run_id, status=str(RunStatus.failed),
                                progress={"phase": "queued"})

    def cancel(self, run_id: int) -> None:
        """Nothing to do here: :func:`~dispatch.scheduling.runs.cancel_run` stored the
        request on the row, and the worker's heartbeat turns it into the solver's cancel."""

    def shutdown(self, *, wait: bool = True) -> None:
        """Runs belong to the workers and go on; only the broker connections close."""
        self.celery.close()

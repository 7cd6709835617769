"""Scheduling runs as jobs: create, execute, cancel, reap, publish, discard.

Life of a run: ``queued`` (created by POST /schedule-runs) -> ``running`` (a worker took
it; ``progress`` and ``heartbeat_at`` are written every :data:`HEARTBEAT_S`) -> ``done``
(a proposed plan waits for review) -> ``published`` or ``discarded``. Off the main road:
``failed`` (an error, a plan the validator rejects, or a worker lost: a running run whose
heartbeat is older than ``stale_after`` -- the setting ``run_stale_after_s``, whose default
is :data:`STALE_AFTER` -- is failed whenever runs are read) and ``cancelled``.

:func:`execute_run` is the job: it takes a sessionmaker, the run id and a clock, and knows
nothing of FastAPI, so the embedded :class:`JobRunner` (a thread pool owned by the app)
and the Celery task (:mod:`dispatch.scheduling.celery_jobs`) both call it. It commits its
own short transactions; solving happens outside any transaction.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

import solver
from dispatch.core.clock import Clock
from dispatch.core.db import session_scope
from dispatch.core.errors import InvalidState, NotFound, ValidationFailed
from dispatch.core.settings import Settings
from dispatch.models import RunMode, RunStatus, ScheduleRun, Visit, VisitStatus
from dispatch.scheduling import mapping
from orders import service as orders_service
from orders.lifecycle import OrderStatus
from orders.models import ServiceOrder
from solver.validate import validate

log = logging.getLogger("tecnico.scheduling")

HEARTBEAT_S = 1.0
# A running run that has not beaten for this long lost its worker: the default of the setting
# ``run_stale_after_s`` (its one source), for callers without settings.
STALE_AFTER = timedelta(seconds=Settings.model_fields["run_stale_after_s"].default)
# A queued run no worker has taken in this long will not be taken (the process that held
# it in its queue is gone).
QUEUED_STALE_AFTER = timedelta(minutes=30)
# Longest range of one run: two weeks keeps problems within what the solver plans well.
MAX_RUN_DAYS = 14
MAX_TIME_LIMIT_S = 600.0
ACTIVE = (RunStatus.queued, RunStatus.running)


class RunNotFound(NotFound):
    code = "schedule-run-not-found"
    title = "Scheduling run not found"


class RunNotAllowed(InvalidState):
    code = "schedule-run-state"
    title = "Not allowed in the run's state"


class NoTechnicians(ValidationFailed):
    code = "no-technicians"
    title = "No technician works in the run's range and scope"


class InvalidRun(ValidationFailed):
    code = "invalid-schedule-run"
    title = "Invalid scheduling run"


Notify = Callable[..., Any]
"""``notify("run.updated", run_id=.., status=.., progress=..)``: told after each commit that
changes a run (the app's event hub; a no-op by default)."""


def _quiet(*_args: Any, **_kwargs: Any) -> None:
    return None


# --- reading ------------------------------------------------------------------------------


def stale_threshold(settings: Settings) -> timedelta:
    """How old a running run's heartbeat may get before its worker counts as lost."""
    return timedelta(seconds=settings.run_stale_after_s)


def heartbeat_every(settings: Settings) -> float:
    """Seconds between heartbeats: :data:`HEARTBEAT_S`, or more often under a short stale
    threshold (``run_stale_after_s``) so that at least five beats fit in it."""
    return min(HEARTBEAT_S, settings.run_stale_after_s / 5)


def reap_stale_runs(session: Session, *, now: datetime,
                    stale_after: timedelta = STALE_AFTER) -> int:
    """Fail running runs without a heartbeat for ``stale_after`` (and queued ones never
    taken)."""
    lost = session.execute(
        update(ScheduleRun)
        .where(ScheduleRun.status == RunStatus.running,
               ScheduleRun.heartbeat_at < now - stale_after)
        .values(status=RunStatus.failed, finished_at=now, version=ScheduleRun.version + 1,
                error="worker lost: no heartbeat for more than "
                      f"{stale_after.total_seconds():g} s")
        .execution_options(synchronize_session=False)
    ).rowcount
    lost += session.execute(
        update(ScheduleRun)
        .where(ScheduleRun.status == RunStatus.queued,
               ScheduleRun.created_at < now - QUEUED_STALE_AFTER)
        .values(status=RunStatus.failed, finished_at=now, version=ScheduleRun.version + 1,
                error="worker lost: no worker took the run")
        .execution_options(synchronize_session=False)
    ).rowcount
    if lost:
        session.expire_all()
    return lost


def _find(session: Session, run_id: int, *, lock: bool = False) -> ScheduleRun | None:
    """The run, if it exists; ``lock``: locked and read afresh from the database."""
    return session.get(ScheduleRun, run_id, with_for_update=lock, populate_existing=lock)


def _run(session: Session, run_id: int, *, lock: bool = False) -> ScheduleRun:
    run = _find(session, run_id, lock=lock)
    if run is None:
        raise RunNotFound(f"no scheduling run with id {run_id}", field="id")
    return run


def get_run(session: Session, *, run_id: int, now: datetime,
            stale_after: timedelta = STALE_AFTER) -> ScheduleRun:
    reap_stale_runs(session, now=now, stale_after=stale_after)
    return _run(session, run_id)


def list_runs(session: Session, *, now: datetime, status: str | None = None,
              limit: int = 50, stale_after: timedelta = STALE_AFTER) -> list[ScheduleRun]:
    """Newest first."""
    reap_stale_runs(session, now=now, stale_after=stale_after)
    stmt = select(ScheduleRun).order_by(ScheduleRun.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(ScheduleRun.status == status)
    return list(session.scalars(stmt))


# --- creating, cancelling, discarding ---------------------------------------------------------


def create_run(session: Session, *, date_from: date, date_to: date, scope: dict[str, Any],
               mode: str, time_limit_s: float, seed: int, user_id: int | None, now: datetime,
               settings: Settings) -> ScheduleRun:
    """A queued run; 422 and nothing stored when no technician of the scope works then."""
    if date_to < date_from:
        raise InvalidRun("date_to is before date_from", field="date_to")
    if (date_to - date_from).days + 1 > MAX_RUN_DAYS:
        raise InvalidRun(f"a run covers at most {MAX_RUN_DAYS} days", field="date_to")
    if not 0 < time_limit_s <= MAX_TIME_LIMIT_S:
        raise InvalidRun(f"time_limit_s must be in (0, {MAX_TIME_LIMIT_S:g}]",
                         field="time_limit_s")
    if mode not in tuple(RunMode):
        raise InvalidRun(f"unknown mode {mode!r}", field="mode")
    resolved = mapping.resolve_scope(session, scope)
    if not mapping.working_technicians(session, scope=resolved, date_from=date_from,
                                       date_to=date_to, now=now, settings=settings):
        raise NoTechnicians(
            f"no active technician with a home base works between {date_from} and {date_to} "
            f"in scope {resolved.kind} (calendars, holidays and absences counted)",
            field="date_from")
    run = ScheduleRun(status=RunStatus.queued, mode=mode, date_from=date_from, date_to=date_to,
                      scope=resolved.to_dict(), time_limit_s=time_limit_s, seed=seed,
                      progress={"phase": "queued"}, cancel_requested=False, worker="", error="",
                      version=1, created_at=now, created_by_id=user_id, heartbeat_at=now)
    session.add(run)
    session.flush()
    return run


def cancel_run(session: Session, *, run_id: int, user_id: int | None, now: datetime,
               stale_after: timedelta = STALE_AFTER) -> ScheduleRun:
    """A queued run is cancelled at once; a running one when its worker sees the request
    (its heartbeat reads ``cancel_requested``, wherever the worker runs)."""
    reap_stale_runs(session, now=now, stale_after=stale_after)
    run = _run(session, run_id, lock=True)
    if run.status == RunStatus.queued:
        run.status = RunStatus.cancelled
        run.finished_at = now
        run.decided_at, run.decided_by_id = now, user_id
    elif run.status == RunStatus.running:
        run.cancel_requested = True
    else:
        raise RunNotAllowed(f"run {run.id} is {run.status}; only queued or running runs can be "
                            "cancelled", field="status", run_status=run.status)
    run.version += 1
    session.flush()
    return run


def discard_run(session: Session, *, run_id: int, user_id: int | None, now: datetime,
                stale_after: timedelta = STALE_AFTER) -> ScheduleRun:
    reap_stale_runs(session, now=now, stale_after=stale_after)
    run = _run(session, run_id, lock=True)
    if run.status != RunStatus.done:
        raise RunNotAllowed(f"run {run.id} is {run.status}; only a done run's proposed plan "
                            "can be discarded", field="status", run_status=run.status)
    run.status = RunStatus.discarded
    run.decided_at, run.decided_by_id = now, user_id
    run.version += 1
    session.flush()
    return run


# --- executing ------------------------------------------------------------------------------


@dataclass
class _Progress:
    """What the solving thread reports, read by the heartbeat thread."""

    phase: str = "solving"
    elapsed_s: float = 0.0
    best_objective: float | None = None
    improvements: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, elapsed_s: float, best_objective: float) -> None:
        with self.lock:
            self.elapsed_s = round(float(elapsed_s), 3)
            self.best_objective = float(best_objective)
            self.improvements += 1

    def as_dict(self, **extra: Any) -> dict[str, Any]:
        with self.lock:
            return {"phase": self.phase, "elapsed_s": self.elapsed_s,
                    "best_objective": self.best_objective,
                    "improvements": self.improvements} | extra


class _Heartbeat(threading.Thread):
    """Writes progress and heartbeat while the solver runs; turns a cancel request stored
    on the row (or the run no longer running) into the solver's cancel event."""

    def __init__(self, factory: sessionmaker[Session], run_id: int, clock: Clock,
                 progress: _Progress, cancel: threading.Event, every: float,
                 notify: Notify) -> None:
        super().__init__(name=f"run-{run_id}-heartbeat", daemon=True)
        self.factory, self.run_id, self.clock = factory, run_id, clock
        self.progress, self.cancel, self.every = progress, cancel, every
        self.notify = notify
        self.stopped = threading.Event()
        self.started_at = clock.now()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                self.beat()
            except Exception:  # a missed beat is retried; the run fails only if all are
                log.exception("heartbeat of run %s failed", self.run_id)

    def beat(self) -> None:
        with session_scope(self.factory) as session:
            run = _find(session, self.run_id, lock=True)
            if run is None or run.status != RunStatus.running or run.cancel_requested:
                self.cancel.set()  # deleted, reaped, decided or cancelled: stop solving
                return
            run.heartbeat_at = self.clock.now()
            run.progress = progress = self.progress.as_dict()
        _tell(self.notify, self.run_id, RunStatus.running, progress)

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join()


def worker_name(kind: str = "thread") -> str:
    """What a run's ``worker`` says executes it: ``<kind>:<host>:<pid>``."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


def execute_run(factory: sessionmaker[Session], run_id: int, clock: Clock, *,
                settings: Settings, cancel: threading.Event | None = None,
                heartbeat_s: float | None = None, worker: str | None = None,
                notify: Notify | None = None, timings: dict[str, float] | None = None) -> str:
    """Run the job of ``run_id`` to its end; returns the final status. Does nothing to a run
    that is no longer queued (cancelled meanwhile, taken by another worker). ``heartbeat_s``
    defaults to :func:`heartbeat_every` of ``settings``; ``timings`` (benchmarks) receives the
    seconds of each phase: load, solve, store."""
    cancel = cancel or threading.Event()
    heartbeat_s = heartbeat_s or heartbeat_every(settings)
    notify = notify or _quiet
    with session_scope(factory) as session:
        run = _find(session, run_id, lock=True)
        if run is None or run.status != RunStatus.queued:
            return run.status if run is not None else "missing"
        run.status = RunStatus.running
        run.started_at = run.heartbeat_at = clock.now()
        run.worker = worker or worker_name()
        run.progress = {"phase": "loading"}
        run.version += 1
    _tell(notify, run_id, RunStatus.running, {"phase": "loading"})
    try:
        status = _execute(factory, run_id, clock, settings=settings, cancel=cancel,
                          heartbeat_s=heartbeat_s, notify=notify,
                          timings=timings if timings is not None else {})
    except Exception as exc:
        log.exception("scheduling run %s failed", run_id)
        status = _finish(factory, run_id, clock, status=RunStatus.failed,
                         error=f"{type(exc).__name__}: {exc}")
    _tell(notify, run_id, status, {"phase": "finished"})
    return status


def _tell(notify: Notify, run_id: int, status: str, progress: dict[str, Any]) -> None:
    try:
        notify("run.updated", run_id=run_id, status=str(status), progress=progress)
    except Exception:  # live updates are a convenience; the run goes on without them
        log.exception("notifying about run %s failed", run_id)


def _finish(factory: sessionmaker[Session], run_id: int, clock: Clock, *, status: str,
            error: str = "", **values: Any) -> str:
    with session_scope(factory) as session:
        run = _find(session, run_id, lock=True)
        if run is None:
            return "missing"
        if run.status != RunStatus.running:
            return run.status  # reaped or decided meanwhile: leave it
        run.status = status
        run.error = error
        run.finished_at = run.heartbeat_at = clock.now()
        run.version += 1
        for key, value in values.items():
            setattr(run, key, value)
        return status


def _execute(factory: sessionmaker[Session], run_id: int, clock: Clock, *, settings: Settings,
             cancel: threading.Event, heartbeat_s: float, notify: Notify,
             timings: dict[str, float]) -> str:
    t0 = time.perf_counter()
    with session_scope(factory) as session:
        run = _run(session, run_id)
        scope = mapping.resolve_scope(session, run.scope)
        mapped = mapping.build_problem(session, date_from=run.date_from, date_to=run.date_to,
                                       scope=scope, mode=run.mode, now=clock.now(),
                                       settings=settings)
        params = solver.SolveParams(time_limit_s=run.time_limit_s, seed=run.seed)
    problem = mapped.problem
    if settings.osrm_url:
        from solver.travel import Osrm, with_matrix

        problem = with_matrix(problem, Osrm(settings.osrm_url))
    with session_scope(factory) as session:
        run = _run(session, run_id, lock=True)
        if run.status != RunStatus.running:
            return run.status
        run.problem = problem.to_dict()
        run.context = mapped.context
        run.heartbeat_at = clock.now()
        run.progress = {"phase": "solving", "visits": len(problem.visits),
                        "technicians": len(problem.technicians)}
        if run.cancel_requested:
            cancel.set()

    t1 = time.perf_counter()
    timings["load"] = t1 - t0
    progress = _Progress()
    beat = _Heartbeat(factory, run_id, clock, progress, cancel, heartbeat_s, notify)
    beat.start()
    try:
        plan = solver.solve(problem, _with_callbacks(params, progress.update, cancel))
    finally:
        beat.stop()
    t2 = time.perf_counter()
    timings["solve"] = t2 - t1
    try:
        return _store(factory, run_id, clock, problem, plan, mapped, progress, cancel)
    finally:
        timings["store"] = time.perf_counter() - t2


def _store(factory: sessionmaker[Session], run_id: int, clock: Clock, problem: solver.Problem,
           plan: solver.Plan, mapped: mapping.Mapped, progress: _Progress,
           cancel: threading.Event) -> str:
    final = progress.as_dict(phase="finished", elapsed_s=round(plan.elapsed, 3),
                             best_objective=plan.objective)
    violations = validate(problem, plan)
    if violations:
        shown = "; ".join(str(v) for v in violations[:20])
        more = f" (and {len(violations) - 20} more)" if len(violations) > 20 else ""
        return _finish(factory, run_id, clock, status=RunStatus.failed, progress=final,
                       error=f"the plan failed validation: {shown}{more}")
    proposed, kpis = mapping.read_plan(problem, plan, mapped.context)
    status = RunStatus.cancelled if plan.status == solver.PlanStatus.CANCELLED or \
        cancel.is_set() else RunStatus.done
    if plan.status == solver.PlanStatus.NO_SOLUTION and problem.visits:
        log.warning("run %s: the solver found no plan", run_id)
    return _finish(factory, run_id, clock, status=status, progress=final, plan=proposed,
                   kpis=kpis)


def _with_callbacks(params: solver.SolveParams, on_progress: Callable[[float, float], None],
                    cancel: threading.Event) -> solver.SolveParams:
    import dataclasses

    return dataclasses.replace(params, on_progress=on_progress, cancel=cancel)


class JobRunner:
    """The embedded worker pool: runs :func:`execute_run` on ``workers`` threads (0: inline,
    in the caller's thread, for tests and scripts). Owned by the app (``app.state.runner``);
    holds the cancel events of the runs it executes."""

    def __init__(self, factory: sessionmaker[Session], clock: Clock, settings: Settings, *,
                 workers: int, heartbeat_s: float | None = None, events: Any = None) -> None:
        self.factory, self.clock, self.settings = factory, clock, settings
        self.workers, self.heartbeat_s = workers, heartbeat_s
        self.notify: Notify = events.publish if events is not None else _quiet
        self._pool: ThreadPoolExecutor | None = None
        self._cancels: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def submit(self, run_id: int) -> None:
        event = threading.Event()
        with self._lock:
            self._cancels[run_id] = event
            if self.workers > 0 and self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="tecnico-run")
        if self._pool is None:
            self._execute(run_id, event)
        else:
            self._pool.submit(self._execute, run_id, event)

    def _execute(self, run_id: int, event: threading.Event) -> None:
        try:
            execute_run(self.factory, run_id, self.clock, settings=self.settings, cancel=event,
                        heartbeat_s=self.heartbeat_s, notify=self.notify)
        finally:
            with self._lock:
                self._cancels.pop(run_id, None)

    def cancel(self, run_id: int) -> None:
        with self._lock:
            event = self._cancels.get(run_id)
        if event is not None:
            event.set()

    def shutdown(self, *, wait: bool = True) -> None:
        """Cancel what runs (each stores its best plan as cancelled) and stop the threads."""
        with self._lock:
            events = list(self._cancels.values())
            pool = self._pool  # kept: a later shutdown(wait=True) still joins its threads
        for event in events:
            event.set()
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)


# --- publishing -----------------------------------------------------------------------------


def publish_run(session: Session, *, run_id: int, user_id: int | None, now: datetime,
                stale_after: timedelta = STALE_AFTER) -> ScheduleRun:
    """Make the proposed plan the schedule: its orders become ``scheduled`` with technician
    and start (one history entry: "published by run N: technician .., start .."), their
    unpinned planned visits are replaced by the plan's; orders the plan leaves out lose their
    planned visit and go back to ``ready``. An order (or its visit) that changed since the
    run is skipped and reported; the rest publishes. Only a ``done`` run publishes (409
    otherwise)."""
    reap_stale_runs(session, now=now, stale_after=stale_after)
    run = _run(session, run_id, lock=True)
    if run.status != RunStatus.done:
        raise RunNotAllowed(f"run {run.id} is {run.status}; only a done run's proposed plan "
                            "can be published", field="status", run_status=run.status)
    context, plan = run.context or {}, run.plan or {}
    infos = {i["order_id"]: i for i in context.get("orders", {}).values()}
    proposed = {v["order_id"]: v for v in plan.get("visits", [])}
    ids = sorted(infos)
    orders: dict[int, ServiceOrder] = {}
    planned: dict[int, list[Visit]] = {i: [] for i in ids}
    for chunk in mapping.chunks(ids):
        orders.update((o.id, o) for o in session.scalars(
            select(ServiceOrder).where(ServiceOrder.id.in_(chunk)).order_by(ServiceOrder.id)
            .with_for_update()))
        for v in session.scalars(select(Visit).where(Visit.order_id.in_(chunk),
                                                     Visit.status == VisitStatus.planned)):
            planned[v.order_id].append(v)

    published, unscheduled, skipped, kept = [], [], [], []
    todo: list[tuple[ServiceOrder, dict[str, Any] | None, bool]] = []
    for order_id in ids:
        info, order = infos[order_id], orders.get(order_id)
        live = [v for v in planned[order_id] if order is None or not mapping.stale(v, order)]
        reason = _changed(order, live, info)
        if reason:
            skipped.append({"order_id": order_id, "number": info["number"], "reason": reason})
            continue
        if info["fixed"]:
            kept.append(order_id)
            continue
        old = [v for v in live if not v.pinned]
        for v in old + [v for v in planned[order_id] if v not in live]:
            session.delete(v)
        todo.append((order, proposed.get(order_id), bool(old)))
    session.flush()  # the old visits go before the new ones take their (order, day) places

    note = f"published by run {run.id}"
    for order, visit, had_visit in todo:
        if visit is not None:
            _schedule(session, order, visit, run_id=run.id, note=note, user_id=user_id, now=now)
            published.append(order.id)
        elif had_visit or order.status == OrderStatus.scheduled:
            _unschedule(session, order, note=f"unscheduled by run {run.id}: the plan could not "
                        "place it", user_id=user_id, now=now)
            unscheduled.append(order.id)
    run.status = RunStatus.published
    run.decided_at, run.decided_by_id = now, user_id
    run.publish_report = {"published": published, "unscheduled": unscheduled, "kept": kept,
                          "skipped": skipped}
    run.version += 1
    session.flush()
    return run


def _changed(order: ServiceOrder | None, planned: list[Visit], info: dict[str, Any]) -> str:
    """Why the order may not be published as planned ("" when it may)."""
    if order is None:
        return "the order was deleted"
    if order.version != info["version"]:
        return f"the order changed since the run (version {info['version']} -> {order.version})"
    visit_id = info.get("visit_id")
    if visit_id is None:
        return "the order was planned since the run" if planned else ""
    mine = next((v for v in planned if v.id == visit_id), None)
    if mine is None:
        return "its visit was removed or started since the run"
    if mine.version != info["visit_version"]:
        return (f"its visit changed since the run (version {info['visit_version']} -> "
                f"{mine.version})")
    return ""


def _schedule(session: Session, order: ServiceOrder, v: dict[str, Any], *, run_id: int,
              note: str, user_id: int | None, now: datetime) -> None:
    """The plan's visit, and the order booked on it; one history entry through the orders
    service (the technician comes from the run's own problem, so it exists)."""
    start = datetime.fromisoformat(v["planned_start"])
    session.add(Visit(
        order_id=order.id, technician_id=v["technician_id"], day=date.fromisoformat(v["day"]),
        planned_start=start, planned_end=datetime.fromisoformat(v["planned_end"]),
        arrival=datetime.fromisoformat(v["arrival"]), travel_seconds=v["travel_seconds"],
        travel_meters=v["travel_meters"], sequence=v["sequence"], pinned=False, forced=False,
        forced_reason="", status=VisitStatus.planned, note="", run_id=run_id, version=1,
        created_at=now, updated_at=now, updated_by_id=user_id))
    changed = order.technician_id != v["technician_id"] or order.scheduled_start != start
    detail = f"{note}: technician {v['technician_id']}, start {start.isoformat()}"
    order.technician_id, order.scheduled_start = v["technician_id"], start
    if order.status == OrderStatus.ready:
        orders_service.change_status(session, order=order, to=OrderStatus.scheduled,
                                     user_id=user_id, now=now, note=detail)
    elif changed:
        orders_service.record(session, order, event="scheduled", user_id=user_id, now=now,
                              note=detail)


def _unschedule(session: Session, order: ServiceOrder, *, note: str, user_id: int | None,
                now: datetime) -> None:
    order.technician_id = order.scheduled_start = None
    if order.status == OrderStatus.scheduled:
        orders_service.change_status(session, order=order, to=OrderStatus.ready, user_id=user_id,
                                     now=now, note=note)
    else:
        orders_service.record(session, order, event="unscheduled", user_id=user_id, now=now,
                              note=note)

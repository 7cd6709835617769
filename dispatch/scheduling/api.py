"""HTTP routes of scheduling runs. Roles: dispatcher (and admin)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from dispatch.core.web import (
    ClockDep,
    CurrentUser,
    IdempotencyDep,
    SessionDep,
    SettingsDep,
    require_role,
)
from dispatch.models import RunStatus, ScheduleRun
from dispatch.scheduling import runs
from dispatch.scheduling.schemas import RunCreate, RunRead, RunSummary


def _announce(request: Request, run: ScheduleRun) -> None:
    """After the commit: the board hears about the run (and the visits publishing changed)."""
    events = request.app.state.events
    days = [run.date_from + timedelta(days=d) for d in range((run.date_to - run.date_from).days + 1)]
    events.publish("run.updated", days=days, run_id=run.id, status=run.status,
                   progress=run.progress)
    if run.status == RunStatus.published:
        events.publish("visits.changed", days=days, run_id=run.id, reason="published")
        events.publish("orders.changed", days=days, run_id=run.id)


router = APIRouter(prefix="/schedule-runs", tags=["scheduling"],
                   dependencies=[Depends(require_role("dispatcher"))])


@router.post("", status_code=202, response_model=RunRead,
             description="Roles: dispatcher. Queues a run; poll GET /schedule-runs/{id} for its "
                         "progress and proposed plan. 422 when no technician of the scope works "
                         "in the range. Takes Idempotency-Key.")
def create_run(body: RunCreate, request: Request, session: SessionDep, user: CurrentUser,
               clock: ClockDep, settings: SettingsDep, idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    run = runs.create_run(
        session, date_from=body.date_from, date_to=body.date_to,
        scope=body.scope.model_dump(exclude_none=True), mode=body.mode,
        time_limit_s=body.time_limit_s, seed=body.seed, user_id=user.id, now=clock.now(),
        settings=settings)
    out = RunRead.model_validate(run)
    idem.save(out, 202)
    session.commit()
    _announce(request, run)
    request.app.state.runner.submit(run.id)
    return out


@router.get("", response_model=list[RunSummary],
            description="Roles: dispatcher. Newest first, without the plans.")
def list_runs(session: SessionDep, clock: ClockDep, settings: SettingsDep,
              status: RunStatus | None = None,
              limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Any:
    out = [RunSummary.model_validate(r) for r in runs.list_runs(
        session, now=clock.now(), status=status, limit=limit,
        stale_after=runs.stale_threshold(settings))]
    session.commit()  # stale runs were failed while reading
    return out


@router.get("/{run_id}", response_model=RunRead,
            description="Roles: dispatcher. Progress while it runs; the plan and KPIs when done.")
def get_run(run_id: int, session: SessionDep, clock: ClockDep, settings: SettingsDep) -> Any:
    out = RunRead.model_validate(runs.get_run(session, run_id=run_id, now=clock.now(),
                                              stale_after=runs.stale_threshold(settings)))
    session.commit()
    return out


@router.post("/{run_id}/cancel", response_model=RunRead,
             description="Roles: dispatcher. A queued run is cancelled at once, a running one "
                         "stops with its best plan so far (status cancelled). 409 otherwise.")
def cancel_run(run_id: int, request: Request, session: SessionDep, user: CurrentUser,
               clock: ClockDep, settings: SettingsDep) -> Any:
    run = runs.cancel_run(session, run_id=run_id, user_id=user.id, now=clock.now(),
                          stale_after=runs.stale_threshold(settings))
    out = RunRead.model_validate(run)
    session.commit()
    request.app.state.runner.cancel(run_id)
    _announce(request, run)
    return out


@router.post("/{run_id}/publish", response_model=RunRead,
             description="Roles: dispatcher. The proposed plan becomes the schedule; orders "
                         "changed since the run are skipped and listed in `publish_report`. "
                         "409 unless the run is done.")
def publish_run(run_id: int, request: Request, session: SessionDep, user: CurrentUser,
                clock: ClockDep, settings: SettingsDep) -> Any:
    run = runs.publish_run(session, run_id=run_id, user_id=user.id, now=clock.now(),
                           stale_after=runs.stale_threshold(settings))
    out = RunRead.model_validate(run)
    session.commit()
    _announce(request, run)
    return out


@router.post("/{run_id}/discard", response_model=RunRead,
             description="Roles: dispatcher. Drops a done run's proposed plan. 409 otherwise.")
def discard_run(run_id: int, request: Request, session: SessionDep, user: CurrentUser,
                clock: ClockDep, settings: SettingsDep) -> Any:
    run = runs.discard_run(session, run_id=run_id, user_id=user.id, now=clock.now(),
                           stale_after=runs.stale_threshold(settings))
    out = RunRead.model_validate(run)
    session.commit()
    _announce(request, run)
    return out

"""The demo's planned day: which day it is, the scheduling run that plans it, and the URLs
that show it.

The day is planned the way a dispatcher plans it from the board: one scheduling run over
the day (every technician and order, mode ``full``) on the solver, then published by the
dispatcher, so the board shows a day the solver made (dispatch.scheduling.runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatch.calendars.service import DEFAULT_WINDOWS, WorkCalendar
from dispatch.core.auth import User
from dispatch.core.clock import Clock
from dispatch.core.db import session_scope
from dispatch.core.settings import Settings
from dispatch.demo import data as D
from dispatch.models import RunStatus, ScheduleRun
from dispatch.scheduling import runs

# Today is the demo day only while all of it is ahead: its first shift starts at least this
# long after the seed (a run plans nothing before "now").
TODAY_MARGIN = timedelta(minutes=30)
# Looking this far for a working day is plenty (the longest Brazilian holiday run is Carnival).
LOOKAHEAD_DAYS = 30


class DemoPlanFailed(RuntimeError):
    """The demo day's scheduling run did not end with a plan."""


def _company_calendar(country: str | None) -> WorkCalendar:
    """The demo technicians' calendar: the default week (08:00-12:00 / 13:30-17:30 on
    weekdays) in São Paulo, the country's public holidays off."""
    return WorkCalendar(technician_id=0, timezone=D.TIMEZONE, weekly=DEFAULT_WINDOWS,
                        country=country)


def working_day(first: date, *, country: str | None) -> date:
    """``first``, or the next day after it the demo technicians work."""
    cal = _company_calendar(country)
    for offset in range(LOOKAHEAD_DAYS):
        day = first + timedelta(days=offset)
        if cal.windows_on(day):
            return day
    raise ValueError(f"no working day within {LOOKAHEAD_DAYS} days of {first}")


def demo_day(now: datetime, *, country: str | None) -> date:
    """The day the demo plans: today (São Paulo) when its first shift is at least
    :data:`TODAY_MARGIN` away, else the next working day."""
    cal = _company_calendar(country)
    today = cal.local_date(now)
    windows = cal.windows_on(today)
    if windows and windows[0][0] >= now + TODAY_MARGIN:
        return today
    return working_day(today + timedelta(days=1), country=country)


@dataclass(frozen=True)
class PlannedDay:
    day: date
    run_id: int
    visits: int  # published onto technicians
    technicians: int  # with at least one visit
    unassigned: int  # orders of the run the plan could not place (or left out)


def plan_day(factory: sessionmaker[Session], *, day: date, clock: Clock, settings: Settings,
             time_limit_s: float, seed: int, username: str = "dispatcher") -> PlannedDay:
    """Create, execute (inline) and publish one scheduling run over ``day`` in the name of
    ``username``. Raises :class:`DemoPlanFailed` when the run ends without a plan."""
    with session_scope(factory) as session:
        user_id = session.scalar(select(User.id).where(User.username == username))
        run_id = runs.create_run(
            session, date_from=day, date_to=day, scope={"kind": "all"}, mode="full",
            time_limit_s=time_limit_s, seed=seed, user_id=user_id, now=clock.now(),
            settings=settings).id
    status = runs.execute_run(factory, run_id, clock, settings=settings)
    with session_scope(factory) as session:
        if status != RunStatus.done:
            run = session.get(ScheduleRun, run_id)
            raise DemoPlanFailed(f"scheduling run {run_id} ended {status}: "
                                 f"{run.error if run is not None else 'gone'}")
        run = runs.publish_run(session, run_id=run_id, user_id=user_id, now=clock.now())
        published = set((run.publish_report or {}).get("published", []))
        visits = [v for v in (run.plan or {}).get("visits", []) if v["order_id"] in published]
        return PlannedDay(day=day, run_id=run_id, visits=len(visits),
                          technicians=len({v["technician_id"] for v in visits}),
                          unassigned=int((run.kpis or {}).get("visits_unassigned", 0)))


def demo_urls(base_url: str, *, day: date, technician_id: int) -> list[tuple[str, str, str]]:
    """(what, URL, how to sign in) of the pages worth opening first. The pages ask for a
    token once and keep it in the tab (dispatch.web.pages); it never goes into a URL."""
    base = base_url.rstrip("/")
    return [
        ("API docs", f"{base}/docs", ""),
        ("Planning board", f"{base}/board?date={day.isoformat()}",
         "sign in with the dispatcher's token"),
        ("Route list (tec01)", f"{base}/technicians/{technician_id}/route/page"
                               f"?date={day.isoformat()}", "sign in with tec01's token"),
    ]

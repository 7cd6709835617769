"""A small service company in São Paulo for the scheduling tests (plain functions).

Three technicians with different skills living around the city, and eight ready orders at
sites with coordinates, planned for Tuesday 2026-03-03 (the fixed clock stands on Monday
2026-03-02 12:00 UTC, 09:00 in São Paulo).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tests.factories import make_customer, make_order, make_site, make_skill, make_technician

DAY = date(2026, 3, 3)

# (latitude, longitude) of real places in São Paulo.
HOMES = [(-23.5505, -46.6333), (-23.5874, -46.6576), (-23.5329, -46.7916)]
SITES = [(-23.5614, -46.6559), (-23.5489, -46.6388), (-23.5925, -46.6878), (-23.5432, -46.6291),
         (-23.6010, -46.6695), (-23.5226, -46.6880), (-23.5703, -46.6453),
         (-23.5339, -46.6521)]


# Orders enough that a run of the world's three technicians keeps solving for several
# seconds whatever its time limit (the solver's work budget ends a run of eight orders in
# about a second): for the tests that kill, stop or cancel a run while it solves.
BUSY_ORDERS = 40


@dataclass
class World:
    skills: dict[str, Any]
    technicians: list[Any]
    orders: list[Any]
    sites: list[Any] = field(default_factory=list)
    customer: Any = None


def make_world(session: Session, *, technicians: int = 3, orders: int = 8) -> World:
    """Technician 0 does electrical and hvac, 1 electrical, 2 plumbing; orders need
    electrical, hvac or plumbing in turn (hvac orders only technician 0 can take)."""
    skills = {code: make_skill(session, code=code) for code in ("electrical", "hvac", "plumbing")}
    kits = [["electrical", "hvac"], ["electrical"], ["plumbing"]]
    techs = [make_technician(session, name=f"Técnico {i + 1}", home_lat=HOMES[i][0],
                             home_lon=HOMES[i][1], skills=[skills[c] for c in kits[i % 3]])
             for i in range(technicians)]
    customer = make_customer(session)
    needs = ["electrical", "plumbing", "electrical", "hvac"]
    made, sites = [], []
    for i in range(orders):
        lat, lon = SITES[i % len(SITES)]
        site = make_site(session, customer=customer, latitude=lat, longitude=lon)
        order = make_order(session, customer=customer, site=site, with_item=False,
                           status="ready", estimated_duration_minutes=45 + 15 * (i % 3),
                           skills_overridden=True)
        order.required_skills = [skills[needs[i % len(needs)]]]
        made.append(order)
        sites.append(site)
    session.commit()
    return World(skills, techs, made, sites, customer)


def run_body(**fields: Any) -> dict[str, Any]:
    return {"date_from": DAY.isoformat(), "date_to": DAY.isoformat(), "time_limit_s": 1,
            "seed": 1} | fields


def workday_ahead(today: date, *, days: int = 7) -> date:
    """The first Tuesday at least ``days`` after ``today`` that is no public holiday in
    Brazil: a day the world's technicians work, far enough ahead that a run planned with the
    real clock (a Celery worker's) has all of it."""
    from contracts.calendars import ServiceCalendar

    holidays = ServiceCalendar(timezone="America/Sao_Paulo", weekly=((),) * 7, country="BR")
    day = today + timedelta(days=days)
    while day.weekday() != 1 or holidays.holiday_name(day) is not None:
        day += timedelta(days=1)
    return day


def wait_for(client, run_id: int, headers, statuses=("done", "failed", "cancelled"),
             timeout: float = 60.0) -> dict:
    """Poll GET /schedule-runs/{id} until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        res = client.get(f"/schedule-runs/{run_id}", headers=headers)
        assert res.status_code == 200, res.text
        body = res.json()
        if body["status"] in statuses or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def cancel_running(client, run_id: int, headers) -> dict:
    """Cancel a running run over HTTP and wait until it stopped with its best plan, within
    30 s (well before the long limits of the runs cancelled)."""
    started = time.monotonic()
    res = client.post(f"/schedule-runs/{run_id}/cancel", headers=headers)
    assert res.status_code == 200, res.text
    assert res.json()["cancel_requested"] is True
    final = wait_for(client, run_id, headers, timeout=30)
    assert final["status"] == "cancelled", final["error"]
    assert time.monotonic() - started < 30
    assert final["kpis"]["solver_status"] == "CANCELLED"
    return final


def wait_solving(client, run_id: int, headers, timeout: float = 30.0) -> dict:
    """Wait until the run reports solving progress with a best objective."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/schedule-runs/{run_id}", headers=headers).json()
        if body["status"] == "running" and body["progress"].get("best_objective") is not None:
            return body
        assert body["status"] in ("queued", "running"), body
        time.sleep(0.05)
    raise AssertionError("the run never reported progress")

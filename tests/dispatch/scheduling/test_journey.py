"""A dispatcher's day over HTTP, the same with either executor of scheduling runs: the
embedded thread pool, and a Celery worker process (``tecnico worker``) on the local Redis.

Orders are created, a schedule is run, read and published; a visit is moved by hand; a
technician reports running late, which recomputes his ETAs; his route list is read as JSON
and as PDF. The day is a working Tuesday ahead of the real date, since the worker plans
with the real clock; the app's clock stands at the real time until the day comes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dispatch.core.clock import FixedClock, SystemClock
from dispatch.core.db import make_sessionmaker, session_scope
from dispatch.core.settings import Settings
from tests.dispatch.dispatching_world import local
from tests.dispatch.scheduling.celery_kit import serving
from tests.dispatch.scheduling.world import SITES, run_body, wait_for, workday_ahead
from tests.factories import make_site
from tests.orders.billing_world import pdf_text

NEEDS = ["electrical", "plumbing", "electrical", "hvac", "electrical", "plumbing"]


@dataclass
class Office:
    client: TestClient
    headers: dict[str, str]
    clock: FixedClock
    day: date
    world: Any
    site_ids: list[int]
    worker_kind: str  # how the run's ``worker`` starts: thread: or celery:


@pytest.fixture(params=["embedded", "celery"])
def office(request, committing_engine, tmp_path: Path) -> Iterator[Office]:
    clock = FixedClock(SystemClock().now().replace(microsecond=0))
    if request.param == "celery":
        settings = request.getfixturevalue("celery_worker").settings(tmp_path)
    else:
        settings = Settings(database_url="sqlite://", broker_url="", geocoder_url="",
                            var_dir=tmp_path, default_currency="BRL")
    with serving(settings, committing_engine, clock, orders=0) as (client, headers, world):
        with session_scope(make_sessionmaker(committing_engine)) as session:
            site_ids = [make_site(session, customer_id=world.customer.id, latitude=lat,
                                  longitude=lon).id for lat, lon in SITES[:len(NEEDS)]]
        yield Office(client, headers, clock, workday_ahead(clock.now().date()), world,
                     site_ids, "thread:" if request.param == "embedded" else "celery:")


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _day(office: Office, technician: Any) -> list[dict]:
    res = office.client.get(f"/technicians/{technician.id}/day", headers=office.headers,
                            params={"date": office.day.isoformat()})
    assert res.status_code == 200, res.text
    return res.json()["visits"]


def _create_orders(office: Office) -> dict[int, dict]:
    """Ready orders over HTTP, one per site, needing NEEDS in turn; by id."""
    client, h = office.client, office.headers
    made = {}
    for site_id, need in zip(office.site_ids, NEEDS, strict=True):
        res = client.post("/orders", headers=h, json={
            "customer_id": office.world.customer.id, "site_id": site_id,
            "required_skill_ids": [office.world.skills[need].id],
            "estimated_duration_minutes": 60, "reported_defect": f"needs {need}"})
        assert res.status_code == 201, res.text
        order = res.json()
        res = client.post(f"/orders/{order['id']}/transitions", headers=h, json={"to": "ready"})
        assert res.status_code == 200, res.text
        made[order["id"]] = order | {"need": need}
    return made


def test_orders_are_planned_published_moved_delayed_and_printed(office):
    client, h, day = office.client, office.headers, office.day
    hvac_tech, plumber = office.world.technicians[0], office.world.technicians[2]
    orders = _create_orders(office)

    res = client.post("/schedule-runs", headers=h, json=run_body(
        date_from=day.isoformat(), date_to=day.isoformat(), time_limit_s=2))
    assert res.status_code == 202, res.text
    run = wait_for(client, res.json()["id"], h)
    assert run["status"] == "done", run["error"]
    assert run["worker"].startswith(office.worker_kind)
    assert run["kpis"]["visits_assigned"] == len(orders)
    res = client.post(f"/schedule-runs/{run['id']}/publish", headers=h)
    assert res.status_code == 200, res.text
    assert sorted(res.json()["publish_report"]["published"]) == sorted(orders)
    assert {client.get(f"/orders/{o}", headers=h).json()["status"] for o in orders} == {
        "scheduled"}

    # The hvac visit (only technician 0 does hvac) is moved to 16:00 by hand.
    hvac = next(o for o, order in orders.items() if order["need"] == "hvac")
    visit = next(v for v in _day(office, hvac_tech) if v["order_id"] == hvac)
    res = client.post(f"/visits/{visit['id']}/move", headers=h | {
        "If-Match": f'"{visit["version"]}"'}, json={"day": day.isoformat(), "start": "16:00"})
    assert res.status_code == 200, res.text
    assert _at(res.json()["planned_start"]) == _at(local("16:00", day))
    assert res.json()["forced"] is False and res.json()["run_id"] == run["id"]

    # The plumber (both plumbing orders) sets off for his first visit only when his second
    # should begin: the ETA of the second moves out by the first visit's hour and more.
    first, second = _day(office, plumber)
    assert {first["order_id"], second["order_id"]} == {
        o for o, order in orders.items() if order["need"] == "plumbing"}
    late = _at(second["planned_start"])
    office.clock.current = late + timedelta(minutes=1)
    res = client.post(f"/visits/{first['id']}/status", headers=h,
                      json={"status": "on_the_way", "at": late.isoformat()})
    assert res.status_code == 200, res.text
    delayed = _day(office, plumber)[1]
    assert _at(delayed["eta"]) > late + timedelta(minutes=60)
    assert delayed["delay_minutes"] > 60

    res = client.get(f"/technicians/{plumber.id}/route", headers=h,
                     params={"date": day.isoformat()})
    assert res.status_code == 200, res.text
    stops = res.json()["stops"]
    assert [s["visit_id"] for s in stops] == [first["id"], second["id"]]
    assert stops[0]["status"] == "on_the_way"
    assert _at(stops[1]["eta"]) == _at(delayed["eta"])
    res = client.get(f"/technicians/{hvac_tech.id}/route", headers=h,
                     params={"date": day.isoformat()})
    moved = next(s for s in res.json()["stops"] if s["visit_id"] == visit["id"])
    assert _at(moved["planned_start"]) == _at(local("16:00", day))

    res = client.get(f"/technicians/{plumber.id}/route/pdf", headers=h,
                     params={"date": day.isoformat()})
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "application/pdf"
    text = pdf_text(res.content)
    assert all(s["order"]["number"] in text for s in stops)

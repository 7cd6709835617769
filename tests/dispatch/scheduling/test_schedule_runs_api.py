"""Scheduling runs over HTTP: run, read the proposed plan, publish or discard, cancel,
reaping of lost workers, insert mode. Jobs run inline (see conftest.py)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

import solver
from dispatch.models import ScheduleRun, Visit
from orders.models import OrderTimeWindow, ServiceOrder
from tests.dispatch.scheduling.world import DAY, make_world, run_body, wait_for
from tests.factories import (
    make_absence,
    make_order,
    make_resource_group,
    make_run,
    make_site,
    make_zone,
)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _run(client, headers, **fields) -> dict:
    res = client.post("/schedule-runs", json=run_body(**fields), headers=headers)
    assert res.status_code == 202, res.text
    assert res.json()["status"] == "queued"
    return wait_for(client, res.json()["id"], headers)


def test_a_run_proposes_a_plan_and_publishing_schedules_the_orders(client, session, auth):
    world = make_world(session)
    h = auth("dispatcher")

    run = _run(client, h)

    assert run["status"] == "done", run["error"]
    kpis = run["kpis"]
    assert kpis["visits_total"] == 8
    assert kpis["visits_assigned"] == 8 and kpis["visits_unassigned"] == 0
    assert kpis["travel_seconds"] > 0 and kpis["travel_meters"] > 0
    assert set(kpis["utilisation_per_technician"]) == {str(t.id) for t in world.technicians}
    assert kpis["changes"]["new"] == 8
    assert kpis["sla_breaches"] == 0
    assert run["progress"]["phase"] == "finished"
    proposed = {v["order_id"]: v for v in run["plan"]["visits"]}
    assert set(proposed) == {o.id for o in world.orders}
    hvac = [o.id for o in world.orders if o.required_skills[0].code == "hvac"]
    assert {proposed[o]["technician_id"] for o in hvac} == {world.technicians[0].id}
    plumbing = [o.id for o in world.orders if o.required_skills[0].code == "plumbing"]
    assert {proposed[o]["technician_id"] for o in plumbing} == {world.technicians[2].id}
    assert {v["day"] for v in proposed.values()} == {DAY.isoformat()}
    # nothing changes before publishing
    assert _count(session, Visit) == 0
    assert all(client.get(f"/orders/{o.id}", headers=h).json()["status"] == "ready"
               for o in world.orders)

    res = client.post(f"/schedule-runs/{run['id']}/publish", headers=h)

    assert res.status_code == 200, res.text
    assert res.json()["status"] == "published"
    report = res.json()["publish_report"]
    assert sorted(report["published"]) == sorted(proposed) and report["skipped"] == []
    for order in world.orders:
        got = client.get(f"/orders/{order.id}", headers=h).json()
        assert got["status"] == "scheduled"
        assert got["technician_id"] == proposed[order.id]["technician_id"]
        assert datetime.fromisoformat(got["scheduled_start"]) == datetime.fromisoformat(
            proposed[order.id]["planned_start"])
        history = client.get(f"/orders/{order.id}/history", headers=h).json()
        assert any(e["note"].startswith(f"published by run {run['id']}: technician ")
                   and e["to_status"] == "scheduled"
                   for e in history)
    visits = session.scalars(select(Visit).order_by(Visit.order_id)).all()
    assert [v.order_id for v in visits] == sorted(proposed)
    for v in visits:
        p = proposed[v.order_id]
        assert (v.technician_id, v.day, v.sequence, v.run_id, v.status) == (
            p["technician_id"], DAY, p["sequence"], run["id"], "planned")
        assert v.planned_start == datetime.fromisoformat(p["planned_start"])
        assert v.planned_end - v.planned_start == timedelta(
            minutes=session.get(ServiceOrder, v.order_id).estimated_duration_minutes)


def test_an_order_changed_since_the_run_is_skipped_and_the_rest_publishes(client, session, auth):
    world = make_world(session)
    h = auth("dispatcher")
    run = _run(client, h)
    changed = world.orders[3]
    read = client.get(f"/orders/{changed.id}", headers=h)
    res = client.patch(f"/orders/{changed.id}", json={"reported_defect": "Now it smokes"},
                       headers=h | {"If-Match": read.headers["ETag"]})
    assert res.status_code == 200, res.text

    res = client.post(f"/schedule-runs/{run['id']}/publish", headers=h)

    assert res.status_code == 200, res.text
    report = res.json()["publish_report"]
    assert [s["order_id"] for s in report["skipped"]] == [changed.id]
    assert "changed since the run" in report["skipped"][0]["reason"]
    assert len(report["published"]) == 7
    assert client.get(f"/orders/{changed.id}", headers=h).json()["status"] == "ready"
    assert session.scalar(select(func.count()).select_from(Visit).where(
        Visit.order_id == changed.id)) == 0
    assert _count(session, Visit) == 7


def test_a_run_over_a_range_with_no_technicians_is_a_422_and_creates_nothing(client, session,
                                                                            auth):
    world = make_world(session)
    h = auth("dispatcher")
    sunday = date(2026, 3, 8)
    for tech in world.technicians:
        make_absence(session, technician=tech)  # all away on Tuesday
    session.commit()

    for body in (run_body(date_from=sunday.isoformat(), date_to=sunday.isoformat()),
                 run_body(),
                 run_body(scope={"kind": "zone", "zone": make_zone(session, code="norte").code})):
        session.commit()
        res = client.post("/schedule-runs", json=body, headers=h)
        assert res.status_code == 422, res.text
        assert res.json()["type"].endswith("/no-technicians")

    assert _count(session, ScheduleRun) == 0


@pytest.mark.parametrize("body, field", [
    ({"date_to": "2026-03-02"}, "date_to"),
    ({"date_to": "2026-04-30"}, "date_to"),
    ({"time_limit_s": 0}, "time_limit_s"),
    ({"mode": "sometimes"}, "mode"),
    ({"scope": {"kind": "zone"}}, "scope"),
    ({"scope": {"kind": "zone", "zone": "atlantis"}}, "scope.zone"),
    ({"scope": {"kind": "orders", "order_ids": [999999]}}, "scope.order_ids"),
    ({"scope": {"kind": "all", "resource_group": "x"}}, "scope"),
])
def test_bad_run_requests_are_422_naming_the_field_and_create_nothing(client, session, auth,
                                                                       body, field):
    make_world(session)
    res = client.post("/schedule-runs", json=run_body(**body), headers=auth("dispatcher"))
    assert res.status_code == 422, res.text
    assert res.json()["field"] == field
    assert _count(session, ScheduleRun) == 0


def test_publishing_a_discarded_plan_is_a_409_and_changes_nothing(client, session, auth):
    world = make_world(session)
    h = auth("dispatcher")
    run = _run(client, h)

    res = client.post(f"/schedule-runs/{run['id']}/discard", headers=h)
    assert res.status_code == 200 and res.json()["status"] == "discarded"
    res = client.post(f"/schedule-runs/{run['id']}/publish", headers=h)

    assert res.status_code == 409
    assert res.json()["type"].endswith("/schedule-run-state")
    assert res.json()["run_status"] == "discarded"
    assert _count(session, Visit) == 0
    assert all(client.get(f"/orders/{o.id}", headers=h).json()["status"] == "ready"
               for o in world.orders)
    assert client.post(f"/schedule-runs/{run['id']}/discard", headers=h).status_code == 409


def test_a_published_plan_cannot_be_published_again_or_discarded(client, session, auth):
    make_world(session)
    h = auth("dispatcher")
    run = _run(client, h)
    assert client.post(f"/schedule-runs/{run['id']}/publish", headers=h).status_code == 200
    visits = _count(session, Visit)

    assert client.post(f"/schedule-runs/{run['id']}/publish", headers=h).status_code == 409
    assert client.post(f"/schedule-runs/{run['id']}/discard", headers=h).status_code == 409
    assert _count(session, Visit) == visits


def test_a_queued_run_is_cancelled_at_once_and_a_finished_one_cannot_be(client, session, auth,
                                                                        clock):
    h = auth("dispatcher")
    queued = make_run(session, created_at=clock.now())
    session.commit()

    res = client.post(f"/schedule-runs/{queued.id}/cancel", headers=h)

    assert res.status_code == 200, res.text
    assert res.json()["status"] == "cancelled"
    res = client.post(f"/schedule-runs/{queued.id}/cancel", headers=h)
    assert res.status_code == 409
    assert client.post(f"/schedule-runs/{queued.id}/publish", headers=h).status_code == 409


def test_a_running_run_whose_heartbeat_is_stale_is_reported_failed(client, session, auth, clock):
    h = auth("dispatcher")
    lost = make_run(session, status="running", started_at=clock.now() - timedelta(minutes=5),
                    heartbeat_at=clock.now() - timedelta(minutes=2))
    alive = make_run(session, status="running", started_at=clock.now() - timedelta(minutes=5),
                     heartbeat_at=clock.now() - timedelta(seconds=5))
    session.commit()

    res = client.get(f"/schedule-runs/{lost.id}", headers=h)

    assert res.status_code == 200
    assert res.json()["status"] == "failed"
    assert res.json()["error"].startswith("worker lost")
    listed = {r["id"]: r["status"] for r in client.get("/schedule-runs", headers=h).json()}
    assert listed == {lost.id: "failed", alive.id: "running"}
    assert client.post(f"/schedule-runs/{lost.id}/publish", headers=h).status_code == 409


def test_insert_mode_keeps_the_planned_visits_and_places_the_new_orders(client, session, auth):
    world = make_world(session, orders=6)
    h = auth("dispatcher")
    first = _run(client, h)
    assert client.post(f"/schedule-runs/{first['id']}/publish", headers=h).status_code == 200
    before = {v.order_id: (v.id, v.technician_id, v.planned_start)
              for v in session.scalars(select(Visit))}
    new = [make_order(session, customer_id=world.orders[0].customer_id, site=world.sites[i],
                      with_item=False, status="ready", estimated_duration_minutes=30,
                      skills_overridden=True)
           for i in (0, 1)]
    for o in new:
        o.required_skills = [world.skills["electrical"]]
    session.commit()

    second = _run(client, h, mode="insert", seed=7)

    assert second["status"] == "done", second["error"]
    plan = {v["order_id"]: v for v in second["plan"]["visits"]}
    assert {plan[o.id]["change"] for o in new} == {"new"}
    for order_id, (_vid, tech, start) in before.items():
        assert plan[order_id]["change"] == "kept"
        assert plan[order_id]["technician_id"] == tech
        assert datetime.fromisoformat(plan[order_id]["planned_start"]) == start
    assert second["kpis"]["changes"]["kept"] == len(before)

    res = client.post(f"/schedule-runs/{second['id']}/publish", headers=h)

    assert res.status_code == 200
    assert sorted(res.json()["publish_report"]["kept"]) == sorted(before)
    after = {v.order_id: (v.id, v.technician_id, v.planned_start)
             for v in session.scalars(select(Visit))}
    assert {k: after[k] for k in before} == before  # the same rows, untouched
    assert {o.id for o in new} <= set(after)


def test_a_full_replan_moves_orders_it_cannot_place_back_to_ready(client, session, auth):
    world = make_world(session)
    h = auth("dispatcher")
    first = _run(client, h)
    assert client.post(f"/schedule-runs/{first['id']}/publish", headers=h).status_code == 200
    hvac = [o for o in world.orders if o.required_skills[0].code == "hvac"]
    make_absence(session, technician=world.technicians[0])  # the only hvac technician
    session.commit()

    second = _run(client, h, seed=3)

    assert second["status"] == "done"
    unassigned = {u["order_id"]: u["reason"] for u in second["plan"]["unassigned"]}
    assert set(unassigned) == {o.id for o in hvac}
    assert second["kpis"]["changes"]["removed"] == len(hvac)
    res = client.post(f"/schedule-runs/{second['id']}/publish", headers=h)
    assert res.status_code == 200
    assert sorted(res.json()["publish_report"]["unscheduled"]) == sorted(o.id for o in hvac)
    for o in hvac:
        got = client.get(f"/orders/{o.id}", headers=h).json()
        assert (got["status"], got["technician_id"], got["scheduled_start"]) == ("ready", None,
                                                                                 None)
    assert session.scalars(select(Visit.technician_id).distinct()).all() != []
    assert world.technicians[0].id not in session.scalars(select(Visit.technician_id)).all()


def test_pinned_visits_stay_where_they_are_in_a_full_replan(client, session, auth):
    make_world(session)
    h = auth("dispatcher")
    first = _run(client, h)
    client.post(f"/schedule-runs/{first['id']}/publish", headers=h)
    pinned = session.scalars(select(Visit).order_by(Visit.id)).first()
    pinned.pinned = True
    pinned.version += 1
    where = (pinned.id, pinned.technician_id, pinned.planned_start)
    session.commit()

    second = _run(client, h, seed=11)
    res = client.post(f"/schedule-runs/{second['id']}/publish", headers=h)

    assert res.status_code == 200
    assert pinned.order_id in res.json()["publish_report"]["kept"]
    session.expire_all()
    row = session.get(Visit, pinned.id)
    assert (row.id, row.technician_id, row.planned_start) == where


def test_orders_without_coordinates_and_outside_the_range_are_handled(client, session, auth):
    world = make_world(session, orders=3)
    h = auth("dispatcher")
    nowhere = make_site(session, customer_id=world.orders[0].customer_id, latitude=None,
                        longitude=None, geocode_status="failed")
    lost = make_order(session, customer_id=world.orders[0].customer_id, site=nowhere,
                      with_item=False, status="ready")
    later = make_order(session, customer_id=world.orders[0].customer_id, site=world.sites[0],
                       with_item=False, status="ready")
    later.time_windows = [OrderTimeWindow(starts_at=datetime(2026, 3, 10, 12, tzinfo=UTC),
                                          ends_at=datetime(2026, 3, 10, 15, tzinfo=UTC))]
    session.commit()

    run = _run(client, h)

    unassigned = {u["order_id"]: u for u in run["plan"]["unassigned"]}
    assert unassigned[lost.id]["reason"] == "NO_LOCATION"
    assert later.id not in unassigned
    assert later.id not in {v["order_id"] for v in run["plan"]["visits"]}
    assert run["kpis"]["unassigned_by_reason"] == {"NO_LOCATION": 1}


def test_requested_windows_appointments_and_deadlines_shape_the_plan(client, session, auth):
    world = make_world(session, orders=4)
    h = auth("dispatcher")
    afternoon = (datetime(2026, 3, 3, 17, 0, tzinfo=UTC), datetime(2026, 3, 3, 19, 0, tzinfo=UTC))
    windowed, booked, urgent = world.orders[0], world.orders[1], world.orders[2]
    windowed.time_windows = [OrderTimeWindow(starts_at=afternoon[0], ends_at=afternoon[1])]
    booked.appointment_start = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
    urgent.response_due_at = datetime(2026, 3, 3, 11, 30, tzinfo=UTC)  # 08:30 local
    urgent.estimated_duration_minutes = 45
    session.commit()

    run = _run(client, h)

    plan = {v["order_id"]: v for v in run["plan"]["visits"]}
    start = {k: datetime.fromisoformat(v["planned_start"]) for k, v in plan.items()}
    assert afternoon[0] <= start[windowed.id] <= afternoon[1]
    assert booked.appointment_start <= start[booked.id] <= booked.appointment_start + timedelta(
        hours=2)
    assert start[urgent.id] <= urgent.response_due_at
    assert run["kpis"]["sla_breaches"] == 0


def test_scopes_pick_their_technicians_and_orders(client, session, auth):
    world = make_world(session)
    h = auth("dispatcher")
    team = make_resource_group(session, code="team-a")
    world.technicians[1].resource_group_id = team.id
    inner = make_zone(session, code="centro", min_lat=-23.556, max_lat=-23.540,
                      min_lon=-46.640, max_lon=-46.625)
    world.technicians[0].zone_id = inner.id
    session.commit()

    by_orders = _run(client, h, scope={"kind": "orders",
                                       "order_ids": [world.orders[0].id, world.orders[2].id]})
    by_group = _run(client, h, scope={"kind": "resource_group", "resource_group": "team-a"})
    by_zone = _run(client, h, scope={"kind": "zone", "zone": "centro"})

    assert {v["order_id"] for v in by_orders["plan"]["visits"]} == {world.orders[0].id,
                                                                   world.orders[2].id}
    assert {v["technician_id"] for v in by_group["plan"]["visits"]} == {world.technicians[1].id}
    in_zone = {o.id for o, s in zip(world.orders, world.sites, strict=True)
               if inner.contains(s.latitude, s.longitude)}
    assert in_zone  # the world has sites in the centre
    planned = {v["order_id"] for v in by_zone["plan"]["visits"]} | {
        u["order_id"] for u in by_zone["plan"]["unassigned"]}
    assert planned == in_zone
    assert {v["technician_id"] for v in by_zone["plan"]["visits"]} <= {world.technicians[0].id}


def test_a_plan_that_fails_validation_fails_the_run_with_the_violations(client, session, auth,
                                                                        monkeypatch):
    make_world(session, orders=3)
    real = solver.solve

    def tampered(problem, params):
        plan = real(problem, params)
        route = plan.routes[0]
        stop = dataclasses.replace(route.stops[0], start=route.stops[0].start + 600)
        route = dataclasses.replace(route, stops=(stop, *route.stops[1:]))
        return dataclasses.replace(plan, routes=(route, *plan.routes[1:]))

    monkeypatch.setattr(solver, "solve", tampered)

    run = _run(client, auth("dispatcher"))

    assert run["status"] == "failed"
    assert run["error"].startswith("the plan failed validation:")
    assert run["plan"] is None


def test_an_error_while_mapping_fails_the_run_with_the_reason(client, session, auth,
                                                              monkeypatch):
    from dispatch.scheduling import mapping

    make_world(session, orders=2)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(mapping, "build_problem", broken)

    run = _run(client, auth("dispatcher"))

    assert run["status"] == "failed"
    assert run["error"] == "RuntimeError: the database went away"


def test_technicians_may_not_run_or_read_schedules(client, session, auth):
    make_world(session, orders=1)
    h = auth("technician")
    assert client.post("/schedule-runs", json=run_body(), headers=h).status_code == 403
    assert client.get("/schedule-runs", headers=h).status_code == 403
    assert _count(session, ScheduleRun) == 0


def test_a_retried_post_with_the_same_idempotency_key_queues_one_run(client, session, auth):
    make_world(session, orders=2)
    h = auth("dispatcher") | {"Idempotency-Key": "run-tuesday"}
    first = client.post("/schedule-runs", json=run_body(), headers=h)
    again = client.post("/schedule-runs", json=run_body(), headers=h)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert _count(session, ScheduleRun) == 1


def test_a_visit_its_order_let_go_of_is_ignored_by_a_run_and_replaced_on_publish(client, session,
                                                                               auth):
    world = make_world(session, orders=3)
    h = auth("dispatcher")
    first = _run(client, h)
    client.post(f"/schedule-runs/{first['id']}/publish", headers=h)
    released = session.get(ServiceOrder, world.orders[0].id)
    stale = session.scalars(select(Visit).where(Visit.order_id == released.id)).one()
    assert stale.run_id == first["id"]
    # what releasing a lapsed appointment hold does to the order (orders cannot see visits)
    released.status, released.technician_id, released.scheduled_start = "ready", None, None
    released.version += 1
    session.commit()

    second = _run(client, h, seed=5)

    plan = {v["order_id"]: v for v in second["plan"]["visits"]}
    assert plan[released.id]["change"] == "new"
    res = client.post(f"/schedule-runs/{second['id']}/publish", headers=h)
    assert res.status_code == 200
    assert released.id in res.json()["publish_report"]["published"]
    session.expire_all()
    rows = session.scalars(select(Visit).where(Visit.order_id == released.id)).all()
    assert [r.run_id for r in rows] == [second["id"]]  # the stale one (run 1) is gone

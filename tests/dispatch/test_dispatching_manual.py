"""Manual dispatch over HTTP: assign, move, unassign and pin a visit; every rule refuses
with a 409 naming it (and changes nothing) unless the dispatcher forces it, which is
recorded."""

from __future__ import annotations

import pytest

from dispatch.models import TechnicianBreak, Visit
from tests.dispatch.dispatching_world import (
    TUESDAY,
    assign,
    history,
    local,
    make_team,
    order_row,
    ready_order,
    utc,
    visits,
)
from tests.factories import make_absence, make_shift_window


def test_assigning_an_order_plans_the_visit_and_schedules_the_order(client, auth, session):
    team = make_team(session)
    order = ready_order(session, team)
    h = auth("dispatcher")
    res = assign(client, h, order, team.ana, "09:00", day=TUESDAY.isoformat())
    assert res.status_code == 201, res.text
    visit = res.json()
    assert res.headers["ETag"] == '"1"'
    assert (visit["technician_id"], visit["day"], visit["planned_start"], visit["planned_end"],
            visit["status"], visit["sequence"], visit["forced"], visit["pinned"]) == (
        team.ana.id, "2026-03-03", "2026-03-03T12:00:00Z", "2026-03-03T13:00:00Z", "planned",
        1, False, False)
    assert visit["travel_seconds"] > 0  # from his home base
    row = order_row(session, order.id)
    assert (row.status, row.technician_id, row.scheduled_start) == (
        "scheduled", team.ana.id, utc("09:00"))
    events = [(x.event, x.from_status, x.to_status) for x in history(session, order.id)]
    assert events[-2:] == [("updated", None, None), ("status", "ready", "scheduled")]
    assert f"technician_id: null -> {team.ana.id}" in history(session, order.id)[-2].note


def _broken(res, rule: str) -> dict:
    assert res.status_code == 409, res.text
    body = res.json()
    assert body["type"].endswith("/dispatch-rule-broken")
    assert body["rule"] == rule, body
    assert body["violations"][0]["rule"] == rule
    return body


def _nothing_changed(session, order, version: int = 1, count: int = 0) -> None:
    assert visits(session) == count
    row = order_row(session, order.id)
    assert (row.status, row.technician_id, row.version) == ("ready", None, version)


def test_a_technician_without_the_skill_is_refused_naming_the_rule(client, auth, session):
    team = make_team(session)
    order = ready_order(session, team)
    body = _broken(assign(client, auth("dispatcher"), order, team.bruno, local("09:00")),
                   "skills")
    assert body["missing"] == ["hvac"]
    assert body["field"] == "technician_id"
    _nothing_changed(session, order)


def test_an_absent_technician_is_refused(client, auth, session):
    team = make_team(session)
    make_absence(session, technician=team.ana)  # all of Tuesday
    session.commit()
    order = ready_order(session, team)
    _broken(assign(client, auth("dispatcher"), order, team.ana, local("09:00")), "absence")
    _nothing_changed(session, order)


@pytest.mark.parametrize(("start", "rule"), [
    ("07:00", "shift"),   # before the shift
    ("17:00", "shift"),   # runs past 17:30
    ("11:30", "break"),   # runs into the lunch break
    ("12:30", "break"),   # starts in it
])
def test_service_outside_the_shift_or_in_its_break_is_refused(client, auth, session, start, rule):
    team = make_team(session)
    order = ready_order(session, team)
    body = _broken(assign(client, auth("dispatcher"), order, team.ana, local(start)), rule)
    if rule == "break":
        assert (body["break_start"], body["break_end"]) == (
            utc("12:00").isoformat(), utc("13:30").isoformat())
    _nothing_changed(session, order)


def test_a_day_without_a_shift_is_refused(client, auth, session):
    team = make_team(session)
    order = ready_order(session, team)
    res = assign(client, auth("dispatcher"), order, team.ana, "10:00", day="2026-03-08")
    assert "no shift on 2026-03-08" in _broken(res, "shift")["detail"]
    _nothing_changed(session, order)


def test_a_flexible_break_that_no_longer_fits_is_refused(client, auth, session):
    team = make_team(session)
    make_shift_window(session, technician=team.ana, weekday=1, start="08:00", end="17:00")
    session.add(TechnicianBreak(technician_id=team.ana.id, weekday=1, earliest_start_minute=600,
                                latest_start_minute=630, duration_minutes=30))
    session.commit()
    first, second = ready_order(session, team), ready_order(session, team)
    h = auth("dispatcher")
    assert assign(client, h, first, team.ana, local("09:15")).status_code == 201
    # 10:15-11:15 leaves 10:00-10:15 and nothing from 10:30 on free: no 30 minutes start
    # between 10:00 and 10:30.
    body = _broken(assign(client, h, second, team.ana, local("10:15")), "break")
    assert body["break_minutes"] == 30
    _nothing_changed(session, second, count=1)


def test_overlapping_another_visit_is_refused(client, auth, session):
    team = make_team(session)
    first, second = ready_order(session, team), ready_order(session, team)
    h = auth("dispatcher")
    taken = assign(client, h, first, team.ana, local("09:00")).json()
    body = _broken(assign(client, h, second, team.ana, local("09:30")), "overlap")
    assert body["visit_id"] == taken["id"]
    _nothing_changed(session, second, count=1)


def test_too_little_time_to_travel_from_the_previous_stop_is_refused(client, auth, session):
    team = make_team(session)
    far = ready_order(session, team, site=team.far)
    near = ready_order(session, team, minutes=30)
    h = auth("dispatcher")
    assert assign(client, h, far, team.ana, local("09:00")).status_code == 201
    # Guarulhos -> central São Paulo takes about half an hour; 5 minutes are not enough.
    body = _broken(assign(client, h, near, team.ana, local("10:05")), "travel")
    assert (body["leg"], body["available_minutes"]) == ("from_previous", 5)
    assert body["needed_minutes"] > 20
    _nothing_changed(session, near, count=1)
    # ... and placed before it (08:15-08:45), there is no time to get there either.
    body = _broken(assign(client, h, near, team.ana, local("08:15")), "travel")
    assert (body["leg"], body["available_minutes"]) == ("to_next", 15)
    assert assign(client, h, near, team.ana, local("10:45")).status_code == 201


def test_the_first_visit_must_be_reachable_from_home_at_the_start_of_the_shift(
        client, auth, session):
    team = make_team(session)
    far = ready_order(session, team, site=team.far)
    body = _broken(assign(client, auth("dispatcher"), far, team.ana, local("08:00")), "travel")
    assert (body["leg"], body["available_minutes"]) == ("from_home", 0)


def test_a_forced_assignment_is_kept_and_recorded_with_who_and_when(client, auth, session,
                                                                   clock):
    team = make_team(session)
    order = ready_order(session, team)
    h = auth("dispatcher", username="dora")
    res = assign(client, h, order, team.bruno, local("12:30"), force=True)
    assert res.status_code == 201, res.text
    visit = res.json()
    assert visit["forced"] is True
    assert [v["rule"] for v in visit["overridden"]] == ["skills", "break"]
    assert visit["forced_reason"].startswith("skills: technician")
    last = history(session, order.id)[-1]
    assert (last.event, last.at, last.user_id is not None) == ("dispatch_forced", clock.now(),
                                                               True)
    assert "by dora against the rules: skills:" in last.note
    assert order_row(session, order.id).technician_id == team.bruno.id


def test_moving_a_visit_follows_with_the_order_and_needs_the_current_version(
        client, auth, session):
    team = make_team(session)
    team.carla.home_lat, team.carla.home_lon = team.ana.home_lat, team.ana.home_lon
    session.commit()
    order = ready_order(session, team)
    h = auth("dispatcher")
    visit = assign(client, h, order, team.ana, local("09:00")).json()
    url = f"/visits/{visit['id']}/move"
    body = {"technician_id": team.carla.id, "start": local("14:00")}
    assert client.post(url, headers=h, json=body).status_code == 428
    stale = client.post(url, headers=h | {"If-Match": '"7"'}, json=body)
    assert (stale.status_code, stale.json()["type"].split("/")[-1]) == (409, "stale-version")
    res = client.post(url, headers=h | {"If-Match": '"1"'}, json=body)
    assert res.status_code == 200, res.text
    moved = res.json()
    assert (moved["technician_id"], moved["planned_start"], moved["version"]) == (
        team.carla.id, "2026-03-03T17:00:00Z", 2)
    assert res.headers["ETag"] == '"2"'
    row = order_row(session, order.id)
    assert (row.status, row.technician_id, row.scheduled_start) == (
        "scheduled", team.carla.id, utc("14:00"))
    assert history(session, order.id)[-1].event == "updated"
    # The version travels in the body too.
    again = client.post(url, headers=h, json={"start": "15:00", "day": "2026-03-03",
                                              "version": 2})
    assert again.status_code == 200, again.text
    assert again.json()["planned_start"] == "2026-03-03T18:00:00Z"


def test_moving_a_visit_to_a_technician_without_the_skill_changes_nothing(client, auth,
                                                                         session):
    team = make_team(session)
    order = ready_order(session, team)
    h = auth("dispatcher")
    visit = assign(client, h, order, team.ana, local("09:00")).json()
    before = order_row(session, order.id).version
    res = client.post(f"/visits/{visit['id']}/move", headers=h | {"If-Match": '"1"'},
                      json={"technician_id": team.bruno.id, "start": local("10:00")})
    _broken(res, "skills")
    session.expire_all()
    row = session.get(Visit, visit["id"])
    assert (row.technician_id, row.planned_start, row.version) == (team.ana.id, utc("09:00"), 1)
    order_now = order_row(session, order.id)
    assert (order_now.technician_id, order_now.version) == (team.ana.id, before)


def test_a_move_is_checked_without_the_visit_itself_and_keeps_the_sequence(client, auth,
                                                                          session):
    team = make_team(session)
    first, second = ready_order(session, team), ready_order(session, team)
    h = auth("dispatcher")
    a = assign(client, h, first, team.ana, local("09:00")).json()
    b = assign(client, h, second, team.ana, local("10:30")).json()
    # Moving a by half an hour overlaps only its own old slot: allowed.
    res = client.post(f"/visits/{a['id']}/move", headers=h | {"If-Match": '"1"'},
                      json={"start": local("09:15")})
    assert res.status_code == 200, res.text
    # Moving b before a swaps their sequence.
    res = client.post(f"/visits/{b['id']}/move", headers=h | {"If-Match": '"1"'},
                      json={"start": local("08:10")})
    assert res.status_code == 200, res.text
    session.expire_all()
    assert (session.get(Visit, b["id"]).sequence, session.get(Visit, a["id"]).sequence) == (1, 2)


def test_unassigning_puts_the_order_back_to_ready(client, auth, session):
    team = make_team(session)
    order = ready_order(session, team)
    h = auth("dispatcher")
    visit = assign(client, h, order, team.ana, local("09:00")).json()
    assert client.delete(f"/visits/{visit['id']}", headers=h | {"If-Match": '"3"'}) \
        .status_code == 409
    res = client.delete(f"/visits/{visit['id']}", headers=h)
    assert res.status_code == 204, res.text
    assert visits(session) == 0
    row = order_row(session, order.id)
    assert (row.status, row.technician_id, row.scheduled_start) == ("ready", None, None)
    last = history(session, order.id)[-1]
    assert (last.from_status, last.to_status, last.note) == (
        "scheduled", "ready", f"visit {visit['id']} unassigned by hand")
    assert client.delete(f"/visits/{visit['id']}", headers=h).status_code == 404


def test_pinning_checks_the_rules_where_the_visit_stands(client, auth, session):
    team = make_team(session)
    order, other = ready_order(session, team), ready_order(session, team)
    h = auth("dispatcher")
    visit = assign(client, h, order, team.ana, local("09:00")).json()
    res = client.post(f"/visits/{visit['id']}/pin", headers=h)
    assert res.status_code == 200, res.text
    assert (res.json()["pinned"], res.json()["version"]) == (True, 2)
    res = client.post(f"/visits/{visit['id']}/unpin", headers=h | {"If-Match": '"2"'})
    assert (res.json()["pinned"], res.json()["version"]) == (False, 3)
    # An absence added afterwards: the visit now breaks a rule; pinning it needs force.
    make_absence(session, technician=team.ana)
    session.commit()
    _broken(client.post(f"/visits/{visit['id']}/pin", headers=h), "absence")
    session.expire_all()
    assert session.get(Visit, visit["id"]).pinned is False
    res = client.post(f"/visits/{visit['id']}/pin", headers=h, json={"force": True})
    assert (res.json()["pinned"], res.json()["forced"]) == (True, True)
    assert history(session, order.id)[-1].event == "dispatch_forced"
    # A pinned visit is assigned with pinned: true as well.
    res = assign(client, h, other, team.carla, local("14:00"), pinned=True)
    assert res.json()["pinned"] is True


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"start": "2026-03-03T09:00:00"}, 422, "start"),            # no offset
    ({"start": "09:00"}, 422, "day"),                            # local time without a day
    ({"start": local("09:00"), "day": "2026-03-04"}, 422, "day"),  # day and start disagree
    ({"start": "tomorrow"}, 422, "start"),
    ({"technician_id": 999999, "start": local("09:00")}, 422, "technician_id"),
    ({"order_id": 999999, "start": local("09:00")}, 404, "order_id"),
])
def test_bad_assignments_are_clear_4xx_and_change_nothing(client, auth, session, body, status,
                                                          field):
    team = make_team(session)
    order = ready_order(session, team)
    res = client.post("/visits", headers=auth("dispatcher"),
                      json={"order_id": order.id, "technician_id": team.ana.id} | body)
    assert res.status_code == status, res.text
    assert res.json()["field"].startswith(field)
    _nothing_changed(session, order)


def test_an_order_is_dispatched_once_and_only_when_ready(client, auth, session):
    team = make_team(session)
    order = ready_order(session, team)
    opened = ready_order(session, team, status="open")
    h = auth("dispatcher")
    assert assign(client, h, order, team.ana, local("09:00")).status_code == 201
    twice = assign(client, h, order, team.ana, local("14:00"))
    assert (twice.status_code, twice.json()["type"].split("/")[-1]) == (
        409, "order-already-dispatched")
    res = assign(client, h, opened, team.ana, local("14:00"))
    assert (res.status_code, res.json()["type"].split("/")[-1]) == (409, "order-not-dispatchable")
    assert visits(session) == 1


def test_only_planned_visits_are_moved_or_unassigned(client, auth, session):
    team = make_team(session)
    order = ready_order(session, team)
    h = auth("dispatcher")
    visit = assign(client, h, order, team.ana, local("09:00")).json()
    assert client.post(f"/visits/{visit['id']}/status", headers=h,
                       json={"status": "on_the_way", "at": local("08:50", TUESDAY)}
                       ).status_code == 422  # in the future: the clock is on Monday
    session.get(Visit, visit["id"]).status = "arrived"
    session.commit()
    res = client.post(f"/visits/{visit['id']}/move", headers=h | {"If-Match": '"1"'},
                      json={"start": local("10:00")})
    assert (res.status_code, res.json()["type"].split("/")[-1]) == (409, "visit-not-changeable")
    assert client.delete(f"/visits/{visit['id']}", headers=h).status_code == 409
    assert client.post("/visits/999999/move", headers=h | {"If-Match": '"1"'},
                       json={"start": local("10:00")}).status_code == 404


def test_pinning_needs_a_current_planned_visit(client, auth, session, clock):
    team = make_team(session)
    order = ready_order(session, team)
    h = auth("dispatcher")
    assert client.post("/visits/999999/pin", headers=h).status_code == 404
    visit = assign(client, h, order, team.ana, local("09:00")).json()
    stale = client.post(f"/visits/{visit['id']}/pin", headers=h | {"If-Match": '"5"'})
    assert stale.status_code == 409
    clock.current = utc("18:00")
    client.post(f"/visits/{visit['id']}/status", headers=h,
                json={"status": "arrived", "at": local("09:00")})
    res = client.post(f"/visits/{visit['id']}/pin", headers=h)
    assert (res.status_code, res.json()["type"].split("/")[-1]) == (409, "visit-not-changeable")
    session.expire_all()
    assert session.get(Visit, visit["id"]).pinned is False


def test_only_dispatchers_place_visits(client, auth, session):
    team = make_team(session)
    order = ready_order(session, team)
    for role in ("billing", "technician"):
        res = assign(client, auth(role), order, team.ana, local("09:00"), force=True)
        assert res.status_code == 403
    _nothing_changed(session, order)

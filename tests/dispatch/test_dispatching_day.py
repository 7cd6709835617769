"""Day-of changes over HTTP: a technician reports on his visits, the order follows, the ETAs
of the rest of his day are recomputed and a late-running day is flagged."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dispatch.models import Visit
from tests.dispatch.dispatching_world import (
    FAR,
    HOME,
    NEAR,
    assign,
    history,
    local,
    login,
    make_team,
    order_row,
    ready_order,
    travel_minutes,
    utc,
)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _close(value: str, expected: datetime) -> None:
    """Equal to the second (travel is whole seconds; the test's estimate may round apart)."""
    assert abs((_at(value) - expected).total_seconds()) <= 1, (value, expected)


def _day(client, headers, tech) -> dict:
    res = client.get(f"/technicians/{tech.id}/day", headers=headers,
                     params={"date": "2026-03-03"})
    assert res.status_code == 200, res.text
    return res.json()


def _report(client, headers, visit_id: int, status: str, at: str, **extra):
    return client.post(f"/visits/{visit_id}/status", headers=headers,
                       json={"status": status, "at": at} | extra)


def test_reports_move_the_order_and_recompute_the_etas_of_the_rest_of_the_day(
        client, auth, session, clock):
    team = make_team(session)
    first = ready_order(session, team)
    second = ready_order(session, team, site=team.far,
                         windows=((utc("10:30"), utc("10:50")),))
    h = auth("dispatcher")
    v1 = assign(client, h, first, team.ana, local("09:00")).json()
    v2 = assign(client, h, second, team.ana, local("10:45")).json()
    ana = login(session, auth, team.ana)
    clock.current = utc("18:00")
    hop = timedelta(minutes=travel_minutes(NEAR, FAR))

    res = _report(client, ana, v1["id"], "on_the_way", local("08:50"))
    assert res.status_code == 200, res.text
    assert (res.json()["status"], res.json()["version"]) == ("on_the_way", 2)
    eta1 = utc("08:50") + timedelta(minutes=travel_minutes(HOME, NEAR))
    _close(res.json()["arrival"], eta1)
    day = _day(client, ana, team.ana)
    assert [v["id"] for v in day["visits"]] == [v1["id"], v2["id"]]
    _close(day["visits"][1]["eta"], eta1 + timedelta(hours=1) + hop)
    assert day["late"] is False

    res = _report(client, ana, v1["id"], "arrived", local("09:10"))
    assert res.json()["arrived_at"] == utc("09:10").isoformat().replace("+00:00", "Z")
    assert order_row(session, first.id).status == "in_progress"
    last = history(session, first.id)[-1]
    assert (last.from_status, last.to_status) == ("scheduled", "in_progress")
    assert last.user_id == team.ana.user_id
    day = _day(client, ana, team.ana)
    _close(day["visits"][1]["eta"], utc("10:10") + hop)
    assert day["visits"][1]["late"] is False

    res = _report(client, ana, v1["id"], "done", local("10:20"), note="compressor replaced")
    assert (res.json()["status"], res.json()["note"]) == ("done", "compressor replaced")
    assert order_row(session, first.id).status == "completed"
    day = _day(client, ana, team.ana)
    late = day["visits"][1]
    _close(late["eta"], utc("10:20") + hop)
    # The customer's window ends 10:50: arriving at about 10:54 is late.
    assert (late["late"], late["late_reasons"], late["delay_minutes"]) == (True, ["window"], 9)
    assert late["window_end"] == "2026-03-03T13:50:00Z"
    assert day["late"] is True
    assert [v["status"] for v in day["visits"]] == ["done", "planned"]
    assert day["visits"][0]["late"] is False


def test_a_day_running_past_the_end_of_the_shift_is_flagged(client, auth, session, clock):
    team = make_team(session)
    first, second = ready_order(session, team), ready_order(session, team)
    h = auth("dispatcher")
    v1 = assign(client, h, first, team.ana, local("14:00")).json()
    assign(client, h, second, team.ana, local("16:00"))
    clock.current = utc("18:00")
    assert _report(client, h, v1["id"], "arrived", local("15:45")).status_code == 200
    day = _day(client, h, team.ana)
    # Same site: he goes on at 16:45 and would finish 17:45, past 17:30.
    assert day["visits"][1]["eta"] == "2026-03-03T19:45:00Z"
    assert (day["visits"][1]["late_reasons"], day["late"]) == (["shift"], True)
    assert [(x["start"], x["end"]) for x in day["shift"]] == [
        ("2026-03-03T11:00:00Z", "2026-03-03T15:00:00Z"),
        ("2026-03-03T16:30:00Z", "2026-03-03T20:30:00Z")]


def test_travel_after_a_late_visit_waits_out_the_lunch_break(client, auth, session, clock):
    team = make_team(session)
    first = ready_order(session, team)
    second = ready_order(session, team, site=team.far)
    h = auth("dispatcher")
    v1 = assign(client, h, first, team.ana, local("10:00")).json()
    assign(client, h, second, team.ana, local("14:00"))
    clock.current = utc("18:00")
    assert _report(client, h, v1["id"], "arrived", local("10:00")).status_code == 200
    assert _report(client, h, v1["id"], "done", local("11:50")).status_code == 200
    # 10 of the ~34 minutes before 12:00, the rest after 13:30.
    hop = timedelta(minutes=travel_minutes(NEAR, FAR))
    eta = _day(client, h, team.ana)["visits"][1]["eta"]
    _close(eta, utc("13:30") + hop - timedelta(minutes=10))


def test_technicians_report_on_and_read_only_their_own_day(client, auth, session, clock):
    team = make_team(session)
    order = ready_order(session, team)
    h = auth("dispatcher")
    visit = assign(client, h, order, team.ana, local("09:00")).json()
    carla = login(session, auth, team.carla)
    clock.current = utc("18:00")
    res = _report(client, carla, visit["id"], "arrived", local("09:00"))
    assert (res.status_code, res.json()["type"].split("/")[-1]) == (403, "not-your-visit")
    session.expire_all()
    assert (session.get(Visit, visit["id"]).status, order_row(session, order.id).status) == (
        "planned", "scheduled")
    assert client.get(f"/technicians/{team.ana.id}/day", headers=carla,
                      params={"date": "2026-03-03"}).status_code == 403
    assert client.get(f"/visits/{visit['id']}", headers=carla).status_code == 403
    assert _day(client, carla, team.carla)["visits"] == []
    # A technician without a technician record linked is nobody's owner either.
    stranger = auth("technician")
    assert _report(client, stranger, visit["id"], "arrived", local("09:00")).status_code == 403
    # The dispatcher reports for him.
    assert _report(client, h, visit["id"], "arrived", local("09:00")).status_code == 200


@pytest.mark.parametrize(("status", "at", "code", "field"), [
    ("done", local("09:30"), 409, "status"),          # not arrived yet
    ("finished", local("09:30"), 422, "status"),      # no such report
    ("arrived", "2026-03-03T09:30:00", 422, "at"),     # no offset
    ("arrived", local("18:30"), 422, "at"),            # the clock says 18:00
])
def test_bad_status_reports_are_clear_4xx_and_change_nothing(client, auth, session, clock,
                                                             status, at, code, field):
    team = make_team(session)
    order = ready_order(session, team)
    h = auth("dispatcher")
    visit = assign(client, h, order, team.ana, local("09:00")).json()
    clock.current = utc("18:00")
    version = order_row(session, order.id).version
    res = _report(client, h, visit["id"], status, at)
    assert res.status_code == code, res.text
    assert res.json()["field"] == field
    session.expire_all()
    row = session.get(Visit, visit["id"])
    assert (row.status, row.version, row.arrival) == ("planned", 1, utc("09:00"))
    assert order_row(session, order.id).version == version


def test_a_finished_visit_takes_no_more_reports(client, auth, session, clock):
    team = make_team(session)
    order = ready_order(session, team)
    h = auth("dispatcher")
    visit = assign(client, h, order, team.ana, local("09:00")).json()
    clock.current = utc("18:00")
    assert _report(client, h, visit["id"], "cant_finish", local("09:20"),
                   note="customer not home").status_code == 200
    last = history(session, order.id)[-1]
    assert (last.event, last.note) == (
        "visit_cant_finish",
        f"visit {visit['id']}: cant finish at 2026-03-03T12:20:00+00:00 (customer not home)")
    res = _report(client, h, visit["id"], "arrived", local("09:30"))
    assert (res.status_code, res.json()["allowed"]) == (409, [])
    assert _report(client, h, 999999, "arrived", local("09:30")).status_code == 404


def test_done_completes_the_order_only_when_it_is_in_progress(client, auth, session, clock):
    team = make_team(session)
    order = ready_order(session, team)
    h = auth("dispatcher")
    visit = assign(client, h, order, team.ana, local("09:00")).json()
    clock.current = utc("18:00")
    assert _report(client, h, visit["id"], "arrived", local("09:00")).status_code == 200
    held = client.post(f"/orders/{order.id}/transitions", headers=h,
                       json={"to": "on_hold", "note": "waiting for the customer"})
    assert held.status_code == 200, held.text
    assert _report(client, h, visit["id"], "done", local("09:40")).status_code == 200
    assert order_row(session, order.id).status == "on_hold"


def test_reading_a_day_needs_a_known_technician_and_a_date(client, auth, session):
    team = make_team(session)
    h = auth("dispatcher")
    assert client.get("/technicians/999999/day", headers=h,
                      params={"date": "2026-03-03"}).status_code == 404
    res = client.get(f"/technicians/{team.ana.id}/day", headers=h, params={"date": "03/03"})
    assert (res.status_code, res.json()["field"]) == (422, "date")
    assert client.get(f"/technicians/{team.ana.id}/day", headers=h).status_code == 422
    holiday = client.get(f"/technicians/{team.ana.id}/day", headers=h,
                         params={"date": "2026-04-21"}).json()
    assert (holiday["holiday"], holiday["shift"]) == ("Tiradentes' Day", [])

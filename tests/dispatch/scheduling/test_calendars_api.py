"""Technicians' calendars over HTTP: the default week, replacing it, absences, holidays, and
a day's availability (calendar minus holidays minus absences minus booked visits)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from dispatch.models import TechnicianAbsence, TechnicianShiftWindow
from tests.factories import make_absence, make_technician, make_visit

TUESDAY = date(2026, 3, 3)


def _utc(h: int, m: int = 0, day: int = 3) -> str:
    return datetime(2026, 3, day, h, m, tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _intervals(rows: list[dict]) -> list[tuple[str, str]]:
    return [(r["start"], r["end"]) for r in rows]


def test_a_technician_without_windows_works_the_default_week(client, session, auth):
    tech = make_technician(session)
    session.commit()

    res = client.get(f"/technicians/{tech.id}/calendar", headers=auth("dispatcher"))

    assert res.status_code == 200
    body = res.json()
    assert body["default"] is True
    assert body["timezone"] == "America/Sao_Paulo"
    days = ["mon", "tue", "wed", "thu", "fri"]
    assert [(w["weekday"], w["start"], w["end"]) for w in body["windows"]] == [
        (d, s, e) for d in days for s, e in (("08:00", "12:00"), ("13:30", "17:30"))]
    assert body["breaks"] == []


def test_the_default_day_is_two_windows_with_lunch_in_between(client, session, auth):
    tech = make_technician(session)
    session.commit()

    res = client.get(f"/technicians/{tech.id}/availability", params={"date": "2026-03-03"},
                     headers=auth("dispatcher"))

    assert res.status_code == 200
    body = res.json()
    # São Paulo is UTC-3: 08:00-12:00 and 13:30-17:30 local
    assert _intervals(body["windows"]) == [(_utc(11), _utc(15)), (_utc(16, 30), _utc(20, 30))]
    assert body["free"] == body["windows"]
    assert body["holiday"] is None


def test_replacing_the_week_changes_the_days_and_keeps_a_flexible_break(client, session, auth):
    tech = make_technician(session)
    session.commit()
    h = auth("dispatcher")
    week = {"windows": [{"weekday": "tue", "start": "07:00", "end": "16:00"},
                        {"weekday": "sat", "start": "08:00", "end": "12:00"}],
            "breaks": [{"weekday": "tue", "earliest_start": "11:00", "latest_start": "13:00",
                        "duration_minutes": 60}]}

    res = client.put(f"/technicians/{tech.id}/calendar", json=week, headers=h)

    assert res.status_code == 200, res.text
    assert res.json()["default"] is False
    assert [(w["weekday"], w["start"], w["end"]) for w in res.json()["windows"]] == [
        ("tue", "07:00", "16:00"), ("sat", "08:00", "12:00")]
    tuesday = client.get(f"/technicians/{tech.id}/availability", params={"date": "2026-03-03"},
                         headers=h).json()
    assert _intervals(tuesday["windows"]) == [(_utc(10), _utc(19))]
    assert tuesday["breaks"] == [{"earliest_start": _utc(14), "latest_start": _utc(16),
                                  "duration_minutes": 60}]
    monday = client.get(f"/technicians/{tech.id}/availability", params={"date": "2026-03-02"},
                        headers=h).json()
    assert monday["windows"] == [] and monday["breaks"] == []


def test_a_bad_week_is_a_422_and_the_old_one_stays(client, session, auth):
    tech = make_technician(session)
    session.commit()
    h = auth("dispatcher")
    good = {"windows": [{"weekday": "mon", "start": "09:00", "end": "17:00"}]}
    assert client.put(f"/technicians/{tech.id}/calendar", json=good, headers=h).status_code == 200

    for bad, field in (
        ({"windows": []}, "windows"),
        ({"windows": [{"weekday": "mon", "start": "09:00", "end": "12:00"},
                      {"weekday": "mon", "start": "11:00", "end": "15:00"}]}, "windows"),
        ({"windows": [{"weekday": "mon", "start": "12:00", "end": "09:00"}]}, "windows[0]"),
        ({"windows": [{"weekday": "mon", "start": "25:00", "end": "26:00"}]}, "windows[0].start"),
        ({"windows": [{"weekday": "fun", "start": "09:00", "end": "12:00"}]},
         "windows.0.weekday"),
        (good | {"timezone": "Mars/Olympus"}, "timezone"),
    ):
        res = client.put(f"/technicians/{tech.id}/calendar", json=bad, headers=h)
        assert res.status_code == 422, (bad, res.text)
        assert res.json()["field"] == field

    rows = session.scalars(select(TechnicianShiftWindow).where(
        TechnicianShiftWindow.technician_id == tech.id)).all()
    assert [(r.weekday, r.start_minute, r.end_minute) for r in rows] == [(0, 540, 1020)]


def test_absences_are_listed_deleted_and_cut_the_working_day(client, session, auth):
    tech = make_technician(session)
    session.commit()
    h = auth("dispatcher")
    body = {"starts_at": _utc(13), "ends_at": _utc(17), "reason": "dentist"}

    res = client.post(f"/technicians/{tech.id}/absences", json=body, headers=h)

    assert res.status_code == 201, res.text
    absence = res.json()
    assert absence["reason"] == "dentist"
    day = client.get(f"/technicians/{tech.id}/availability", params={"date": "2026-03-03"},
                     headers=h).json()
    assert _intervals(day["windows"]) == [(_utc(11), _utc(13)), (_utc(17), _utc(20, 30))]
    assert [a["id"] for a in day["absences"]] == [absence["id"]]
    listed = client.get(f"/technicians/{tech.id}/absences", headers=h,
                        params={"from": _utc(0), "to": _utc(23)}).json()
    assert [a["id"] for a in listed] == [absence["id"]]
    assert client.get(f"/technicians/{tech.id}/absences", headers=h,
                      params={"from": _utc(0, day=4)}).json() == []

    res = client.delete(f"/technicians/{tech.id}/absences/{absence['id']}", headers=h)

    assert res.status_code == 204
    assert client.delete(f"/technicians/{tech.id}/absences/{absence['id']}",
                         headers=h).status_code == 404
    assert client.get(f"/technicians/{tech.id}/absences", headers=h).json() == []


def test_an_absence_that_ends_before_it_starts_is_a_422_and_stores_nothing(client, session,
                                                                          auth):
    tech = make_technician(session)
    session.commit()
    res = client.post(f"/technicians/{tech.id}/absences", headers=auth("dispatcher"),
                      json={"starts_at": _utc(17), "ends_at": _utc(13)})
    assert res.status_code == 422
    assert res.json()["field"] == "ends_at"
    assert session.scalar(select(func.count()).select_from(TechnicianAbsence)) == 0


def test_a_public_holiday_is_a_day_off(client, session, auth):
    tech = make_technician(session)
    session.commit()

    # 2026-04-21, a Tuesday: Tiradentes, a national holiday in Brazil
    day = client.get(f"/technicians/{tech.id}/availability", params={"date": "2026-04-21"},
                     headers=auth("dispatcher")).json()

    assert day["holiday"] == "Tiradentes' Day"
    assert day["windows"] == [] and day["free"] == []


def test_booked_visits_are_taken_out_of_the_free_time(client, session, auth):
    tech = make_technician(session)
    visit = make_visit(session, technician=tech)  # 12:00-13:00 UTC
    make_absence(session, technician=make_technician(session))  # someone else's
    session.commit()

    day = client.get(f"/technicians/{tech.id}/availability", params={"date": "2026-03-03"},
                     headers=auth("dispatcher")).json()

    assert [b["visit_id"] for b in day["booked"]] == [visit.id]
    assert _intervals(day["free"]) == [(_utc(11), _utc(12)), (_utc(13), _utc(15)),
                                       (_utc(16, 30), _utc(20, 30))]
    assert day["absences"] == []


def test_calendars_of_unknown_technicians_are_404_and_technicians_get_403(client, session, auth):
    tech = make_technician(session)
    session.commit()
    h = auth("dispatcher")
    assert client.get("/technicians/999999/calendar", headers=h).status_code == 404
    assert client.get("/technicians/999999/availability", params={"date": "2026-03-03"},
                      headers=h).status_code == 404
    assert client.get(f"/technicians/{tech.id}/calendar",
                      headers=auth("technician")).status_code == 403


def test_zones_and_resource_groups_are_created_and_given_to_technicians_by_code(client, session,
                                                                               auth):
    h = auth("dispatcher")
    zone = client.post("/zones", headers=h, json={
        "code": "centro", "name": "Centro", "min_lat": -23.6, "max_lat": -23.5,
        "min_lon": -46.7, "max_lon": -46.6})
    group = client.post("/resource-groups", headers=h, json={"code": "team-a", "name": "Team A"})
    assert zone.status_code == group.status_code == 201, zone.text + group.text

    res = client.post("/technicians", headers=h, json={
        "name": "Ana", "currency": "BRL", "zone": "centro", "resource_group": "team-a",
        "timezone": "America/Manaus"})

    assert res.status_code == 201, res.text
    tech = res.json()
    assert (tech["zone"], tech["resource_group"], tech["timezone"]) == (
        "centro", "team-a", "America/Manaus")
    calendar = client.get(f"/technicians/{tech['id']}/calendar", headers=h).json()
    assert calendar["timezone"] == "America/Manaus"
    assert client.delete(f"/zones/{zone.json()['id']}", headers=h).status_code == 409
    res = client.patch(f"/technicians/{tech['id']}", headers=h,
                       json={"zone": None, "resource_group": "nope"})
    assert res.status_code == 422 and res.json()["field"] == "resource_group"
    res = client.patch(f"/technicians/{tech['id']}", headers=h, json={"zone": None})
    assert res.status_code == 200 and res.json()["zone"] is None
    assert client.delete(f"/zones/{zone.json()['id']}", headers=h).status_code == 204
    assert client.get("/zones", headers=h).json() == []
    assert [g["code"] for g in client.get("/resource-groups", headers=h).json()] == ["team-a"]
    bad = client.post("/zones", headers=h, json={
        "code": "x", "name": "X", "min_lat": -23.5, "max_lat": -23.6, "min_lon": -46.7,
        "max_lon": -46.6})
    assert bad.status_code == 422

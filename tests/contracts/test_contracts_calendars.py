"""Stored service-hours calendars over HTTP, the built-in 24/7 one, and response due times."""

from contracts.models import ServiceCalendar
from tests.contracts.contract_world import count, create_contract, make_world

SHIFT = ["08:00-12:00", "13:30-17:30"]


def _calendar(**fields) -> dict:
    return {"code": "sp-business", "name": "São Paulo business hours",
            "timezone": "America/Sao_Paulo",
            "weekly": {d: SHIFT for d in ("mon", "tue", "wed", "thu", "fri")},
            "country": "BR", "subdivision": "SP",
            "exceptions": [{"day": "2026-12-24", "name": "Christmas Eve",
                            "windows": ["08:00-12:00"]}]} | fields


def test_a_calendar_is_stored_and_counts_response_time_over_weekends_and_holidays(
        client, auth, session):
    h = auth("dispatcher")
    res = client.post("/calendars", json=_calendar(), headers=h)
    assert res.status_code == 201, res.text
    cal = res.json()
    assert (cal["code"], cal["builtin"], cal["version"]) == ("sp-business", False, 1)
    assert cal["weekly"]["fri"] == SHIFT and "sat" not in cal["weekly"]
    assert cal["exceptions"] == [{"day": "2026-12-24", "name": "Christmas Eve",
                                  "windows": ["08:00-12:00"]}]

    def due(created_at, hours):
        res = client.get(f"/calendars/{cal['id']}/response-due", headers=h,
                         params={"created_at": created_at, "hours": hours})
        assert res.status_code == 200, res.text
        return res.json()["due_at"]

    # Friday 16:00 with 4 business hours: 1.5 on Friday, 2.5 on Monday -> 10:30 (13:30 UTC).
    assert due("2026-03-06T16:00:00-03:00", "4") == "2026-03-09T13:30:00Z"
    # Thursday 2 April 16:00: Good Friday is a public holiday, so Monday 10:30 again.
    assert due("2026-04-02T16:00:00-03:00", "4") == "2026-04-06T13:30:00Z"
    # Christmas Eve closes at noon.
    assert due("2026-12-24T11:00:00-03:00", "2") == "2026-12-28T12:00:00Z"


def test_the_built_in_24_7_calendar_is_listed_first_and_cannot_be_changed(client, auth,
                                                                           session):
    h = auth("billing")
    client.post("/calendars", json=_calendar(), headers=h)
    listed = client.get("/calendars", headers=h).json()
    assert [(x["code"], x["builtin"]) for x in listed] == [("24x7", True),
                                                          ("sp-business", False)]
    builtin = listed[0]
    assert builtin["weekly"]["sun"] == ["00:00-24:00"]
    assert client.get("/calendars", headers=h).json() == listed
    res = client.get(f"/calendars/{builtin['id']}/response-due", headers=h,
                     params={"created_at": "2026-03-06T16:00:00-03:00", "hours": "4"})
    assert res.json()["due_at"] == "2026-03-06T23:00:00Z"
    res = client.patch(f"/calendars/{builtin['id']}", json={"name": "x"},
                       headers=h | {"If-Match": '"1"'})
    assert res.status_code == 409
    assert client.delete(f"/calendars/{builtin['id']}", headers=h).status_code == 409
    dup = client.post("/calendars", json=_calendar(code="24x7"), headers=h)
    assert dup.status_code == 409


def test_bad_calendars_are_422s_naming_the_field(client, auth, session):
    h = auth("dispatcher")
    cases = [
        ({"weekly": {"mon": ["08:00-12:00", "11:00-13:00"]}}, "weekly.mon"),
        ({"weekly": {"mon": ["17:00-08:00"]}}, "weekly.mon"),
        ({"weekly": {"monday": ["08:00-12:00"]}}, "weekly"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"country": "XX"}, "country"),
        ({"subdivision": "ZZ"}, "subdivision"),
        ({"exceptions": [{"day": "2026-12-24", "windows": ["25:00-26:00"]}]},
         "exceptions[0].windows"),
    ]
    for change, field in cases:
        res = client.post("/calendars", json=_calendar(**change), headers=h)
        assert res.status_code == 422, (change, res.text)
        assert res.json()["field"] == field, (change, res.json())
    assert count(session, ServiceCalendar) == 0


def test_a_calendar_is_changed_with_if_match_and_kept_while_a_contract_uses_it(
        client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    cal = client.post("/calendars", json=_calendar(), headers=h).json()
    path = f"/calendars/{cal['id']}"
    assert client.patch(path, json={"name": "x"}, headers=h).status_code == 428
    res = client.patch(path, json={"weekly": {"sat": ["08:00-12:00"]}, "subdivision": None},
                       headers=h | {"If-Match": '"1"'})
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["version"], body["weekly"], body["subdivision"]) == (
        2, {"sat": ["08:00-12:00"]}, None)
    assert body["exceptions"] == cal["exceptions"]
    create_contract(client, h, w, calendar_id=cal["id"])
    res = client.delete(path, headers=h)
    assert res.status_code == 409
    assert res.json()["used_by"] == "CT-000001"
    other = client.post("/calendars", json=_calendar(code="other"), headers=h).json()
    assert client.delete(f"/calendars/{other['id']}", headers=h).status_code == 204
    assert count(session, ServiceCalendar) == 1

"""Appointment slots over HTTP: offered cheapest first without breaking anyone's day, booked
as a proposed appointment that lapses unconfirmed, and the last slot won only once."""

from __future__ import annotations

import math
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.core.auth import User
from dispatch.core.settings import Settings
from dispatch.dispatching import service
from dispatch.models import Visit
from tests.dispatch.dispatching_world import (
    FAR,
    HOME,
    NEAR,
    assign,
    history,
    local,
    make_team,
    order_row,
    ready_order,
    travel_minutes,
    utc,
    visits,
)
from tests.factories import make_absence, make_token
from tests.pg_race import blocked_behind

MONDAY = "2026-03-02"


def _slots(client, headers, order, **params) -> list[dict]:
    res = client.get(f"/orders/{order.id}/slots", headers=headers, params=params)
    assert res.status_code == 200, res.text
    return res.json()["slots"]


def _windows(slots: list[dict]) -> list[tuple[str, str, int]]:
    return [(x["window_start"], x["technician_name"], x["added_travel_minutes"]) for x in slots]


def _book(client, headers, order, tech, start: str, **extra):
    return client.post(f"/orders/{order.id}/slots/book", headers=headers,
                       json={"technician_id": tech.id, "start": start} | extra)


def _z(hhmm: str, day: str = "2026-03-03") -> str:
    from datetime import date

    return utc(hhmm, date.fromisoformat(day)).isoformat().replace("+00:00", "Z")


def test_the_cheapest_windows_come_first_from_the_nearest_technician(client, auth, session):
    team = make_team(session)
    order = ready_order(session, team)
    found = _slots(client, auth("billing"), order, limit=4)
    # Ana lives 6 minutes from the site, Carla half an hour: Ana's windows, earliest first;
    # Monday's 08:00-10:00 has begun (it is 09:00), so it is not offered.
    round_trip = math.ceil(2 * travel_minutes(HOME, NEAR))
    assert _windows(found) == [
        (_z("10:00", MONDAY), "Ana", round_trip), (_z("13:30", MONDAY), "Ana", round_trip),
        (_z("15:30", MONDAY), "Ana", round_trip), (_z("08:00"), "Ana", round_trip)]
    assert found[0]["window_end"] == _z("12:00", MONDAY)
    assert found[0]["planned_start"] == _z("10:00", MONDAY)
    # Tuesday 08:00: he needs six minutes to get there.
    assert found[3]["planned_start"] == _z("08:06")
    assert all(x["technician_id"] != team.bruno.id for x in found)  # no hvac


def test_a_slot_next_to_his_visits_costs_only_the_detour(client, auth, session):
    team = make_team(session)
    team.carla.active = False
    session.commit()
    booked = ready_order(session, team, site=team.far)
    h = auth("dispatcher")
    assert assign(client, h, booked, team.ana, local("10:00")).status_code == 201
    order = ready_order(session, team, site=team.far)
    found = _slots(client, h, order, limit=5, width_minutes=120)
    # Next to Tuesday's visit at the same site the order adds no travel; on any other day
    # it is the round trip from his home.
    assert _windows(found)[:4] == [(_z("08:00"), "Ana", 0), (_z("10:00"), "Ana", 0),
                                   (_z("13:30"), "Ana", 0), (_z("15:30"), "Ana", 0)]
    # Before the visit he leaves home at 08:00 and arrives after about 29 minutes; in the
    # 10:00 window he starts when the visit there ends.
    assert (found[0]["planned_start"], found[1]["planned_start"]) == (_z("08:29"), _z("11:00"))
    assert _windows(found)[4] == (_z("10:00", MONDAY), "Ana",
                                  math.ceil(2 * travel_minutes(HOME, FAR)))


def test_slots_keep_to_the_customers_windows_absences_and_the_days_asked(client, auth,
                                                                        session):
    team = make_team(session)
    team.carla.active = False
    make_absence(session, technician=team.ana)  # all of Tuesday
    session.commit()
    wanted = ready_order(session, team, windows=(
        (utc("09:00"), utc("17:00")),                  # Tuesday: he is away
        (utc("13:00", _d("2026-03-04")), utc("16:00", _d("2026-03-04")))))
    h = auth("dispatcher")
    found = _slots(client, h, wanted, limit=10)
    assert [x["window_start"] for x in found] == [_z("13:30", "2026-03-04"),
                                                  _z("15:30", "2026-03-04")]
    assert _slots(client, h, wanted, days=2) == []


def _d(text: str):
    from datetime import date

    return date.fromisoformat(text)


def test_booking_a_slot_holds_it_as_a_proposed_appointment(client, auth, session, clock):
    team = make_team(session)
    order = ready_order(session, team)
    h = auth("dispatcher")
    slot = _slots(client, h, order)[0]
    res = _book(client, h, order, team.ana, slot["window_start"])
    assert res.status_code == 201, res.text
    booking = res.json()
    assert (booking["order_status"], booking["window_start"], booking["window_end"],
            booking["confirm_by"]) == ("scheduled", slot["window_start"], slot["window_end"],
                                       "2026-03-03T12:00:00Z")
    assert booking["visit"]["planned_start"] == slot["planned_start"]
    assert booking["added_travel_minutes"] == slot["added_travel_minutes"]
    row = order_row(session, order.id)
    assert (row.technician_id, row.appointment_start, row.appointment_proposed_at,
            row.scheduled_start) == (team.ana.id, utc("10:00", _d(MONDAY)), clock.now(),
                                     utc("10:00", _d(MONDAY)))
    assert "proposed; to be confirmed by" in history(session, order.id)[-1].note
    # The window is taken now: the next offer starts after it.
    other = ready_order(session, team, minutes=120)
    assert _slots(client, h, other)[0]["window_start"] != slot["window_start"]


def test_the_last_slot_of_a_window_is_booked_once(client, auth, session):
    team = make_team(session)
    first = ready_order(session, team, minutes=120)
    second = ready_order(session, team, minutes=120)
    h = auth("dispatcher")
    assert _book(client, h, first, team.ana, local("10:00", _d(MONDAY))).status_code == 201
    version = order_row(session, second.id).version
    res = _book(client, h, second, team.ana, local("10:00", _d(MONDAY)))
    assert res.status_code == 409, res.text
    assert (res.json()["type"].split("/")[-1], res.json()["rule"]) == (
        "slot-unavailable", "overlap")
    assert visits(session) == 1
    row = order_row(session, second.id)
    assert (row.status, row.version, row.technician_id) == ("ready", version, None)


def test_an_unconfirmed_hold_lapses_and_frees_the_slot(client, auth, session, clock):
    team = make_team(session)
    team.carla.active = False
    session.commit()
    first = ready_order(session, team, minutes=120)
    second = ready_order(session, team, minutes=120)
    h = auth("dispatcher")
    window = local("10:00")  # Tuesday
    assert _book(client, h, first, team.ana, window).status_code == 201
    clock.advance(hours=20)
    assert _book(client, h, second, team.ana, window).status_code == 409
    clock.advance(hours=4, seconds=1)  # Tuesday 12:00:01 UTC = 09:00:01 local
    released = client.post("/appointments/release-lapsed", headers=h).json()["released"]
    assert [x["order_id"] for x in released] == [first.id]
    # The lapsed hold takes no time in his day any more.
    assert _z("10:00") in [x["window_start"] for x in _slots(client, h, second)]
    assert _book(client, h, second, team.ana, window).status_code == 201
    day = client.get(f"/technicians/{team.ana.id}/day", headers=h,
                     params={"date": "2026-03-03"}).json()
    assert [v["order_id"] for v in day["visits"]] == [second.id]
    # Booking the first order again elsewhere clears its stale visit.
    assert _book(client, h, first, team.ana, local("13:30")).status_code == 201
    session.expire_all()
    assert sorted(session.scalars(select(Visit.order_id))) == sorted([first.id, second.id])


def test_booking_again_moves_the_orders_planned_visit(client, auth, session):
    team = make_team(session)
    order = ready_order(session, team)
    h = auth("dispatcher")
    first = _book(client, h, order, team.ana, local("10:00")).json()
    again = _book(client, h, order, team.carla, local("13:30"))
    assert again.status_code == 201, again.text
    session.expire_all()
    assert [(v.id, v.technician_id) for v in session.scalars(select(Visit))] == [
        (again.json()["visit"]["id"], team.carla.id)]
    assert again.json()["visit"]["planned_start"] != first["visit"]["planned_start"]
    row = order_row(session, order.id)
    assert (row.technician_id, row.status) == (team.carla.id, "scheduled")
    assert history(session, order.id)[-1].event == "appointment_proposed"


@pytest.mark.parametrize("params", [{"days": 0}, {"days": 40}, {"width_minutes": 10},
                                    {"limit": 0}, {"limit": "many"}])
def test_bad_slot_queries_are_422(client, auth, session, params):
    team = make_team(session)
    order = ready_order(session, team)
    res = client.get(f"/orders/{order.id}/slots", headers=auth("dispatcher"), params=params)
    assert res.status_code == 422, res.text
    assert res.json()["field"] == next(iter(params))


def test_slots_need_a_plannable_order_with_a_located_site(client, auth, session):
    team = make_team(session)
    h = auth("dispatcher")
    assert client.get("/orders/999999/slots", headers=h).status_code == 404
    opened = ready_order(session, team, status="open")
    res = client.get(f"/orders/{opened.id}/slots", headers=h)
    assert (res.status_code, res.json()["type"].split("/")[-1]) == (409, "appointment-not-allowed")
    team.near.latitude = team.near.longitude = None
    session.commit()
    nowhere = ready_order(session, team)
    res = client.get(f"/orders/{nowhere.id}/slots", headers=h)
    assert (res.status_code, res.json()["field"]) == (422, "site_id")


@pytest.mark.parametrize(("who", "start", "extra", "code", "kind"), [
    ("bruno", local("10:00"), {}, 409, "slot-unavailable"),       # no hvac
    ("ana", local("08:00", _d(MONDAY)), {}, 422, "invalid-dispatch"),   # already begun
    ("ana", "2026-03-03T10:00:00", {}, 422, "validation-failed"),     # no offset
    ("ana", local("10:00"), {"width_minutes": 5}, 422, "validation-failed"),
    ("nobody", local("10:00"), {}, 422, "invalid-dispatch"),
    ("ana", local("17:00"), {}, 409, "slot-unavailable"),          # past the shift
])
def test_bad_bookings_are_clear_4xx_and_change_nothing(client, auth, session, who, start,
                                                       extra, code, kind):
    team = make_team(session)
    order = ready_order(session, team)
    tech = {"ana": team.ana, "bruno": team.bruno}.get(who)
    body = {"technician_id": tech.id if tech else 999999, "start": start} | extra
    res = client.post(f"/orders/{order.id}/slots/book", headers=auth("billing"), json=body)
    assert res.status_code == code, res.text
    assert res.json()["type"].split("/")[-1] == kind
    if code == 409:
        assert res.json()["rule"] == ("skills" if who == "bruno" else "shift")
    assert visits(session) == 0
    row = order_row(session, order.id)
    assert (row.status, row.version, row.appointment_start) == ("ready", 1, None)


def test_two_bookings_racing_for_the_last_slot_one_wins_the_other_gets_409(committing_engine):
    if committing_engine.dialect.name != "postgresql":
        pytest.skip("row locks only race on PostgreSQL; SQLite serialises transactions")
    settings = Settings(database_url="sqlite://", geocoder_url="")
    with Session(committing_engine) as seed:
        team = make_team(seed)
        first = ready_order(seed, team, minutes=120)
        second = ready_order(seed, team, minutes=120)
        make_token(seed, role="dispatcher", username="racer", now=utc("09:00"))
        seed.commit()
        ids = (team.ana.id, first.id, second.id)
    now = utc("09:00", _d(MONDAY))
    start = utc("10:00")

    def book(session: Session, order_id: int) -> service.Booking:
        user = session.scalar(select(User).where(User.username == "racer"))
        return service.book_slot(session, order_id=order_id, technician_id=ids[0], start=start,
                                 width=timedelta(hours=2), user=user, now=now,
                                 settings=settings, confirmation=timedelta(hours=24))

    a = Session(committing_engine)
    book(a, ids[1])
    outcome: dict = {}

    def other() -> None:
        with Session(committing_engine) as b:
            try:
                book(b, ids[2])
                b.commit()
                outcome["result"] = "booked"
            except service.SlotUnavailable as exc:
                outcome["result"] = exc.extra["rule"]

    thread = threading.Thread(target=other)
    thread.start()
    assert blocked_behind(committing_engine, a), "the second booking never waited for the first"
    a.commit()
    a.close()
    thread.join(30)
    assert outcome["result"] == "overlap"
    with Session(committing_engine) as check:
        assert check.scalar(select(func.count()).select_from(Visit)) == 1
        assert check.scalar(select(Visit.order_id)) == ids[1]

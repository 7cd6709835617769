"""Appointments over HTTP: proposed, confirmed within the window, or released when it lapses."""

from __future__ import annotations

from orders.models import OrderHistory, ServiceOrder
from tests.orders.world import count, create_order, make_world, move

START = "2026-03-04T13:00:00Z"


def _ready_order(client, h, w) -> dict:
    order = create_order(client, h, w)
    return move(client, h, order["id"], "ready")


def _propose(client, h, order_id, start=START, **extra):
    return client.post(f"/orders/{order_id}/appointment", headers=h,
                       json={"start": start} | extra)


def test_a_proposed_appointment_books_the_visit_and_waits_for_confirmation(
        client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher")
    oid = _ready_order(client, h, w)["id"]
    res = _propose(client, h, oid, technician_id=w.technician.id)
    assert res.status_code == 200, res.text
    order = res.json()
    assert (order["status"], order["scheduled_start"], order["appointment_start"]) == (
        "scheduled", "2026-03-04T13:00:00Z", "2026-03-04T13:00:00Z")
    assert order["appointment_proposed_at"] == "2026-03-02T12:00:00Z"
    assert order["appointment_confirmed_at"] is None
    assert order["technician_id"] == w.technician.id
    last = client.get(f"/orders/{oid}/history", headers=h).json()[-1]
    assert (last["from_status"], last["to_status"]) == ("ready", "scheduled")
    assert "to be confirmed by 2026-03-03T12:00:00+00:00" in last["note"]

    clock.advance(hours=23, minutes=59)
    confirmed = client.post(f"/orders/{oid}/appointment/confirm", headers=h)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["appointment_confirmed_at"] == "2026-03-03T11:59:00Z"
    assert client.get(f"/orders/{oid}/history", headers=h).json()[-1]["event"] == \
        "appointment_confirmed"
    # Confirmed appointments are never released, and confirming again changes nothing.
    clock.advance(days=2)
    released = client.post("/appointments/release-lapsed", headers=h).json()
    assert released == {"released": []}
    again = client.post(f"/orders/{oid}/appointment/confirm", headers=h).json()
    assert again["version"] == confirmed.json()["version"]


def test_an_appointment_not_confirmed_in_24_hours_is_released_and_the_order_rescheduled(
        client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher")
    oid = _ready_order(client, h, w)["id"]
    proposed = _propose(client, h, oid, technician_id=w.technician.id).json()
    clock.advance(hours=24)  # exactly at the deadline: still in time, nothing to release
    assert client.post("/appointments/release-lapsed", headers=h).json() == {"released": []}
    clock.advance(seconds=1)

    late = client.post(f"/orders/{oid}/appointment/confirm", headers=h)
    assert late.status_code == 409
    assert late.json()["type"].endswith("/appointment-lapsed")
    session.expire_all()
    assert session.get(ServiceOrder, oid).version == proposed["version"]

    res = client.post("/appointments/release-lapsed", headers=h)
    assert res.status_code == 200, res.text
    assert res.json()["released"] == [{
        "order_id": oid, "number": proposed["number"], "appointment_start": START,
        "proposed_at": "2026-03-02T12:00:00Z", "deadline": "2026-03-03T12:00:00Z"}]
    order = client.get(f"/orders/{oid}", headers=h).json()
    assert (order["status"], order["scheduled_start"], order["technician_id"],
            order["appointment_start"], order["appointment_proposed_at"]) == (
        "ready", None, None, None, None)
    last = client.get(f"/orders/{oid}/history", headers=h).json()[-1]
    assert (last["event"], last["from_status"], last["to_status"]) == (
        "status", "scheduled", "ready")
    assert "not confirmed by 2026-03-03T12:00:00+00:00: released" in last["note"]
    # Released once: the next run finds nothing.
    assert client.post("/appointments/release-lapsed", headers=h).json() == {"released": []}


def test_the_confirmation_window_comes_from_the_settings(client, auth, session, clock, settings):
    settings.confirmation_hours = 2
    w = make_world(session)
    h = auth("dispatcher")
    oid = _ready_order(client, h, w)["id"]
    _propose(client, h, oid)
    clock.advance(hours=2, seconds=1)
    assert client.post(f"/orders/{oid}/appointment/confirm", headers=h).status_code == 409
    released = client.post("/appointments/release-lapsed", headers=h).json()["released"]
    assert [x["order_id"] for x in released] == [oid]


def test_a_new_proposal_replaces_the_old_one(client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher")
    oid = _ready_order(client, h, w)["id"]
    _propose(client, h, oid)
    clock.advance(hours=20)
    res = _propose(client, h, oid, start="2026-03-05T13:00:00Z")
    assert res.status_code == 200
    assert (res.json()["status"], res.json()["appointment_start"],
            res.json()["appointment_proposed_at"]) == (
        "scheduled", "2026-03-05T13:00:00Z", "2026-03-03T08:00:00Z")
    assert client.get(f"/orders/{oid}/history", headers=h).json()[-1]["event"] == \
        "appointment_proposed"
    clock.advance(hours=10)  # 30 h after the first proposal, 10 h after the second
    assert client.post("/appointments/release-lapsed", headers=h).json() == {"released": []}


def test_bad_proposals_are_refused_and_change_nothing(client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher")
    fresh = create_order(client, h, w)  # open: not ready to be planned
    res = _propose(client, h, fresh["id"])
    assert res.status_code == 409
    assert res.json()["type"].endswith("/appointment-not-allowed")
    assert res.json()["allowed"] == ["ready", "scheduled"]
    oid = move(client, h, fresh["id"], "ready")["id"]
    version = client.get(f"/orders/{oid}", headers=h).json()["version"]
    history = count(session, OrderHistory)
    past = _propose(client, h, oid, start="2026-03-02T11:59:00Z")
    assert past.status_code == 422 and past.json()["field"] == "start"
    naive = _propose(client, h, oid, start="2026-03-04T13:00:00")
    assert naive.status_code == 422
    nobody = _propose(client, h, oid, technician_id=999_999)
    assert nobody.status_code == 422 and nobody.json()["field"] == "technician_id"
    stale = client.post(f"/orders/{oid}/appointment", headers=h | {"If-Match": '"1"'},
                        json={"start": START})
    assert stale.status_code == 409 and stale.json()["type"].endswith("/stale-version")
    none = client.post(f"/orders/{oid}/appointment/confirm", headers=h)
    assert none.status_code == 409 and none.json()["type"].endswith("/no-appointment")
    assert _propose(client, h, 999_999).status_code == 404
    session.expire_all()
    row = session.get(ServiceOrder, oid)
    assert (row.version, row.status, row.appointment_start) == (version, "ready", None)
    assert count(session, OrderHistory) == history


def test_only_lapsed_unconfirmed_appointments_of_open_orders_are_released(
        client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher")
    lapsing = _ready_order(client, h, w)["id"]
    confirmed = _ready_order(client, h, w)["id"]
    started = _ready_order(client, h, w)["id"]
    for oid in (lapsing, confirmed, started):
        _propose(client, h, oid)
    client.post(f"/orders/{confirmed}/appointment/confirm", headers=h)
    move(client, h, started, "in_progress")
    clock.advance(hours=12)
    later = _ready_order(client, h, w)["id"]
    _propose(client, h, later)
    clock.advance(hours=12, minutes=1)
    released = client.post("/appointments/release-lapsed", headers=h).json()["released"]
    assert [x["order_id"] for x in released] == [lapsing]
    # The visit of the started order took place: its booking stays as it was.
    order = client.get(f"/orders/{started}", headers=h).json()
    assert (order["status"], order["appointment_start"], order["scheduled_start"]) == (
        "in_progress", START, START)
    assert client.get(f"/orders/{later}", headers=h).json()["status"] == "scheduled"


def test_an_order_moved_back_by_hand_has_its_lapsed_appointment_cleared_with_a_note(
        client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher")
    oid = _ready_order(client, h, w)["id"]
    _propose(client, h, oid)
    move(client, h, oid, "on_hold")
    clock.advance(hours=25)
    released = client.post("/appointments/release-lapsed", headers=h).json()["released"]
    assert [x["order_id"] for x in released] == [oid]
    order = client.get(f"/orders/{oid}", headers=h).json()
    assert (order["status"], order["appointment_start"], order["scheduled_start"]) == (
        "on_hold", None, None)
    last = client.get(f"/orders/{oid}/history", headers=h).json()[-1]
    assert last["event"] == "appointment_released"

"""Status changes over HTTP: the lifecycle, its 409s and the history they leave."""

from datetime import UTC, datetime

from sqlalchemy import select

from dispatch.core.auth import User
from orders.models import OrderHistory, ServiceOrder
from tests.factories import make_order, make_technician, make_time_entry
from tests.orders.world import count, create_order, make_world, move


def _user_id(session, username):
    return session.scalar(select(User.id).where(User.username == username))


def test_an_order_walks_the_lifecycle_and_every_step_is_in_its_history(
        client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher", username="dora")
    auth("technician", username="tito")
    order = create_order(client, h, w)
    oid = order["id"]
    clock.advance(minutes=5)
    move(client, h, oid, "waiting_for_parts")
    clock.advance(days=2)
    res = client.post(f"/orders/{oid}/transitions", headers=h, json={
        "to": "ready", "note": "parts arrived", "responsible_user_id": _user_id(session, "tito")})
    assert res.status_code == 200, res.text
    assert res.json()["responsible_user_id"] == _user_id(session, "tito")
    body = move(client, h, oid, "scheduled", "in_progress", "on_hold", "in_progress",
                "completed")
    assert body["status"] == "completed"
    assert body["allowed_transitions"] == ["in_progress"]
    assert body["version"] == 8
    hist = client.get(f"/orders/{oid}/history", headers=h).json()
    steps = [(e["from_status"], e["to_status"]) for e in hist if e["event"] == "status"]
    assert steps == [("open", "waiting_for_parts"), ("waiting_for_parts", "ready"),
                     ("ready", "scheduled"), ("scheduled", "in_progress"),
                     ("in_progress", "on_hold"), ("on_hold", "in_progress"),
                     ("in_progress", "completed")]
    assert {e["username"] for e in hist} == {"dora"}
    arrived = hist[2]
    assert arrived["at"] == "2026-03-04T12:05:00Z"
    assert arrived["note"] == "parts arrived; responsible: tito"


def test_a_change_the_lifecycle_forbids_is_a_409_naming_the_allowed_ones_and_changes_nothing(
        client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    oid = create_order(client, h, w)["id"]
    res = client.post(f"/orders/{oid}/transitions", headers=h, json={"to": "completed"})
    assert res.status_code == 409
    problem = res.json()
    assert problem["type"].endswith("/transition-not-allowed")
    assert problem["allowed"] == ["waiting_for_parts", "ready", "on_hold", "cancelled"]
    assert "waiting_for_parts, ready, on_hold, cancelled" in problem["detail"]
    session.expire_all()
    row = session.get(ServiceOrder, oid)
    assert (row.status, row.version) == ("open", 1)
    assert count(session, OrderHistory) == 1


def test_closing_is_not_a_transition(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    oid = create_order(client, h, w)["id"]
    move(client, h, oid, "ready", "in_progress", "completed")
    res = client.post(f"/orders/{oid}/transitions", headers=h, json={"to": "closed"})
    assert res.status_code == 409
    assert res.json()["allowed"] == ["in_progress"]
    assert "/close" in res.json()["detail"]


def test_cancelled_is_final(client, auth, session):
    w = make_world(session)
    h = auth("billing")
    oid = create_order(client, h, w)["id"]
    move(client, h, oid, "cancelled")
    res = client.post(f"/orders/{oid}/transitions", headers=h, json={"to": "open"})
    assert res.status_code == 409 and res.json()["allowed"] == []
    patch = client.patch(f"/orders/{oid}", headers=h | {"If-Match": '"2"'},
                         json={"priority": "low"})
    assert patch.status_code == 409
    assert patch.json()["type"].endswith("/order-not-editable")


def test_when_parts_arrive_a_new_responsible_person_is_required(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    oid = create_order(client, h, w)["id"]
    move(client, h, oid, "waiting_for_parts")
    res = client.post(f"/orders/{oid}/transitions", headers=h, json={"to": "ready"})
    assert res.status_code == 422 and res.json()["field"] == "responsible_user_id"
    session.expire_all()
    row = session.get(ServiceOrder, oid)
    assert (row.status, row.version) == ("waiting_for_parts", 2)


def test_an_unknown_status_is_a_422(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    oid = create_order(client, h, w)["id"]
    res = client.post(f"/orders/{oid}/transitions", headers=h, json={"to": "teleported"})
    assert res.status_code == 422 and res.json()["field"] == "to"
    session.expire_all()
    row = session.get(ServiceOrder, oid)
    assert (row.status, row.version) == ("open", 1)


def test_an_order_with_time_logged_cannot_be_cancelled(client, auth, session):
    order = make_order(session, status="on_hold")
    make_time_entry(session, order=order, technician=make_technician(session))
    session.commit()
    h = auth("dispatcher")
    res = client.post(f"/orders/{order.id}/transitions", headers=h, json={"to": "cancelled"})
    assert res.status_code == 409
    session.expire_all()
    assert session.get(ServiceOrder, order.id).status == "on_hold"


def test_a_transition_with_a_stale_if_match_is_refused(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    oid = create_order(client, h, w)["id"]
    move(client, h, oid, "ready")
    res = client.post(f"/orders/{oid}/transitions", headers=h | {"If-Match": '"1"'},
                      json={"to": "in_progress"})
    assert res.status_code == 409 and res.json()["type"].endswith("/stale-version")
    ok = client.post(f"/orders/{oid}/transitions", headers=h | {"If-Match": '"2"'},
                     json={"to": "in_progress"})
    assert ok.status_code == 200 and ok.headers["etag"] == '"3"'


def test_a_retried_transition_replays_instead_of_failing(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    oid = create_order(client, h, w)["id"]
    key = h | {"Idempotency-Key": "t-1"}
    first = client.post(f"/orders/{oid}/transitions", headers=key, json={"to": "ready"})
    again = client.post(f"/orders/{oid}/transitions", headers=key, json={"to": "ready"})
    assert first.status_code == again.status_code == 200
    assert again.json()["version"] == 2
    assert count(session, OrderHistory) == 2


def test_the_closing_use_case_may_close_a_completed_order(session):
    from orders.service import change_status

    order = make_order(session, status="completed")
    now = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    change_status(session, order=order, to="closed", user_id=None, now=now, closing=True)
    assert (order.status, order.closed_at, order.version) == ("closed", now, 2)

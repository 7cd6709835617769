"""Service requests over HTTP: received, converted once into an order, or rejected."""

from orders.models import ServiceOrder, ServiceRequest
from tests.factories import make_customer
from tests.orders.world import count, make_world


def _receive(client, h, w, **extra):
    body = {"customer_id": w.customer.id, "site_id": w.site.id, "service_item_id": w.item.id,
            "description": "Oven stops after ten minutes", "priority": "high",
            "channel": "phone", "external_ref": "CC-991"} | extra
    res = client.post("/service-requests", json=body, headers=h)
    assert res.status_code == 201, res.text
    return res.json()


def test_a_request_is_received_and_converted_into_an_order_once(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    req = _receive(client, h, w)
    assert (req["status"], req["order_id"]) == ("received", None)
    res = client.post(f"/service-requests/{req['id']}/convert", headers=h,
                      json={"category": "repair"})
    assert res.status_code == 201, res.text
    order = res.json()
    assert order["request_id"] == req["id"]
    assert (order["reported_defect"], order["priority"], order["category"]) == (
        "Oven stops after ten minutes", "high", "repair")
    assert order["service_item_ids"] == [w.item.id]
    assert order["required_skill_codes"] == ["electrical", "hvac"]
    assert order["estimated_duration_minutes"] == 90
    req = client.get(f"/service-requests/{req['id']}", headers=h).json()
    assert (req["status"], req["order_id"]) == ("converted", order["id"])
    hist = client.get(f"/orders/{order['id']}/history", headers=h).json()
    assert hist[0]["note"] == f"from service request {req['id']}"
    again = client.post(f"/service-requests/{req['id']}/convert", headers=h, json={})
    assert again.status_code == 409
    assert count(session, ServiceOrder) == 1


def test_a_rejected_request_cannot_be_converted(client, auth, session):
    w = make_world(session)
    h = auth("billing")
    req = _receive(client, h, w)
    res = client.post(f"/service-requests/{req['id']}/reject", headers=h,
                      json={"reason": "duplicate of CC-990"})
    assert res.status_code == 200 and res.json()["status"] == "rejected"
    res = client.post(f"/service-requests/{req['id']}/convert", headers=h, json={})
    assert res.status_code == 409
    assert res.json()["type"].endswith("/service-request-handled")
    assert count(session, ServiceOrder) == 0


def test_the_queue_lists_received_requests_oldest_first(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    first, second = _receive(client, h, w), _receive(client, h, w)
    client.post(f"/service-requests/{first['id']}/reject", headers=h, json={"reason": "spam"})
    body = client.get("/service-requests?status=received", headers=h).json()
    assert [r["id"] for r in body["items"]] == [second["id"]]
    body = client.get("/service-requests?limit=1", headers=h).json()
    assert [r["id"] for r in body["items"]] == [first["id"]] and body["next_cursor"]


def test_a_request_for_another_customers_item_is_refused(client, auth, session):
    w = make_world(session)
    other = make_customer(session)
    session.commit()
    h = auth("dispatcher")
    res = client.post("/service-requests", headers=h, json={
        "customer_id": other.id, "service_item_id": w.item.id, "description": "x"})
    assert res.status_code == 422 and res.json()["field"] == "service_item_id"
    assert count(session, ServiceRequest) == 0


def test_a_retried_request_is_received_once(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher") | {"Idempotency-Key": "cc-991"}
    first = _receive(client, h, w)
    again = _receive(client, h, w)
    assert first == again
    assert count(session, ServiceRequest) == 1


def test_an_unknown_request_is_a_404(client, auth):
    h = auth("dispatcher")
    assert client.get("/service-requests/999", headers=h).status_code == 404
    assert client.post("/service-requests/999/convert", headers=h, json={}).status_code == 404

"""Orders over HTTP: creating, numbering, reading, patching with If-Match, roles."""

from datetime import UTC, datetime

from sqlalchemy import select

from dispatch.core.auth import User
from orders.models import OrderHistory, ServiceOrder
from tests.factories import make_contact, make_order, make_supplier, make_technician
from tests.orders.world import count, create_order, make_world


def test_creating_an_order_numbers_it_and_takes_skills_and_duration_from_the_item_group(
        client, auth, session):
    w = make_world(session)
    h = auth("dispatcher", username="dora")
    res = client.post("/orders", headers=h, json={
        "customer_id": w.customer.id, "service_item_ids": [w.item.id],
        "reported_defect": "Oven does not heat", "priority": "high", "category": "repair",
        "time_windows": [{"starts_at": "2026-03-03T11:00:00Z", "ends_at": "2026-03-03T15:00:00Z"}],
    })
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["number"] == "2026-000001"
    assert body["status"] == "open" and body["version"] == 1
    assert res.headers["etag"] == '"1"'
    assert body["site_id"] == w.site.id
    assert body["currency"] == "BRL"
    assert body["customer_name"] == "Padaria Estrela Ltda"
    assert body["required_skill_codes"] == ["electrical", "hvac"]
    assert body["skills_overridden"] is False
    assert body["estimated_duration_minutes"] == 90
    assert body["time_windows"] == [{"starts_at": "2026-03-03T11:00:00Z",
                                     "ends_at": "2026-03-03T15:00:00Z"}]
    assert body["allowed_transitions"] == ["waiting_for_parts", "ready", "on_hold", "cancelled"]
    assert body["totals"]["total"] == "0.00"
    hist = client.get(f"/orders/{body['id']}/history", headers=h).json()
    assert [(e["event"], e["to_status"], e["username"]) for e in hist] == [
        ("created", "open", "dora")]


def test_required_skills_and_duration_can_be_given_instead_of_the_defaults(client, auth, session):
    w = make_world(session)
    body = create_order(client, auth("dispatcher"), w, required_skill_ids=[w.skills[1].id],
                        estimated_duration_minutes=30)
    assert body["required_skill_codes"] == ["hvac"]
    assert body["skills_overridden"] is True
    assert body["estimated_duration_minutes"] == 30


def test_order_numbers_run_on_per_year_without_gaps(client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher")
    numbers = [create_order(client, h, w)["number"] for _ in range(3)]
    assert numbers == ["2026-000001", "2026-000002", "2026-000003"]
    # A refused create takes no number.
    bad = client.post("/orders", headers=h, json={"customer_id": w.customer.id,
                                                  "site_id": 999999})
    assert bad.status_code == 422
    assert create_order(client, h, w)["number"] == "2026-000004"
    clock.current = datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert create_order(client, h, w)["number"] == "2027-000001"


def test_a_retried_create_with_the_same_idempotency_key_replays_and_creates_nothing(
        client, auth, session):
    w = make_world(session)
    h = auth("dispatcher") | {"Idempotency-Key": "order-abc"}
    body = {"customer_id": w.customer.id, "service_item_ids": [w.item.id]}
    first = client.post("/orders", json=body, headers=h)
    again = client.post("/orders", json=body, headers=h)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert count(session, ServiceOrder) == 1
    other = client.post("/orders", json=body | {"priority": "urgent"}, headers=h)
    assert other.status_code == 422
    assert count(session, ServiceOrder) == 1


def test_an_unknown_order_is_a_404_problem(client, auth):
    h = auth("billing")
    for res in (client.get("/orders/424242", headers=h),
                client.patch("/orders/424242", json={}, headers=h | {"If-Match": '"1"'}),
                client.post("/orders/424242/transitions", json={"to": "ready"}, headers=h),
                client.get("/orders/424242/history", headers=h),
                client.post("/orders/424242/lines", headers=h,
                            json={"kind": "part", "product_id": 1, "quantity": 1})):
        assert res.status_code == 404, res.text
        assert res.headers["content-type"].startswith("application/problem+json")
        assert res.json()["type"].endswith("/order-not-found")


def test_patch_with_the_current_version_changes_the_order_and_records_what_changed(
        client, auth, session):
    w = make_world(session)
    h = auth("dispatcher", username="paula")
    order = create_order(client, h, w)
    res = client.patch(f"/orders/{order['id']}", headers=h | {"If-Match": '"1"'},
                       json={"priority": "urgent", "root_cause": "wear"})
    assert res.status_code == 200, res.text
    assert res.json()["priority"] == "urgent" and res.json()["version"] == 2
    assert res.headers["etag"] == '"2"'
    hist = client.get(f"/orders/{order['id']}/history", headers=h).json()
    assert hist[-1]["event"] == "updated" and hist[-1]["username"] == "paula"
    assert "priority: normal -> urgent" in hist[-1]["note"]
    assert "root_cause: null -> wear" in hist[-1]["note"]


def test_a_stale_patch_is_a_409_and_changes_nothing(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    order = create_order(client, h, w)
    assert client.patch(f"/orders/{order['id']}", headers=h | {"If-Match": '"1"'},
                        json={"priority": "high"}).status_code == 200
    res = client.patch(f"/orders/{order['id']}", headers=h | {"If-Match": '"1"'},
                       json={"priority": "low", "category": "install"})
    assert res.status_code == 409
    assert res.json()["type"].endswith("/stale-version")
    assert res.json()["current_version"] == 2
    session.expire_all()
    row = session.get(ServiceOrder, order["id"])
    assert (row.priority, row.category, row.version) == ("high", "", 2)
    assert count(session, OrderHistory) == 2


def test_a_patch_without_if_match_is_a_428(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    order = create_order(client, h, w)
    res = client.patch(f"/orders/{order['id']}", headers=h, json={"priority": "low"})
    assert res.status_code == 428
    session.expire_all()
    assert session.get(ServiceOrder, order["id"]).priority == "normal"


def test_changing_the_items_recomputes_default_skills_until_they_are_overridden(
        client, auth, session):
    from tests.factories import make_item_group, make_service_item, make_skill

    w = make_world(session)
    other_group = make_item_group(session, skills=[make_skill(session, code="gas")])
    other_item = make_service_item(session, customer=w.customer, site=w.site,
                                   item_group=other_group)
    session.commit()
    h = auth("dispatcher")
    order = create_order(client, h, w)
    res = client.patch(f"/orders/{order['id']}", headers=h | {"If-Match": '"1"'},
                       json={"service_item_ids": [w.item.id, other_item.id]})
    assert res.json()["required_skill_codes"] == ["electrical", "gas", "hvac"]
    res = client.patch(f"/orders/{order['id']}", headers=h | {"If-Match": '"2"'},
                       json={"required_skill_ids": [other_group.skills[0].id]})
    assert res.json()["required_skill_codes"] == ["gas"] and res.json()["skills_overridden"]
    res = client.patch(f"/orders/{order['id']}", headers=h | {"If-Match": '"3"'},
                       json={"skills_overridden": False})
    assert res.json()["required_skill_codes"] == ["electrical", "gas", "hvac"]


def test_references_must_exist_and_belong_to_the_customer(client, auth, session):
    from tests.factories import make_service_item

    w = make_world(session)
    stranger_item = make_service_item(session)
    supplier_contact = make_contact(session, supplier=make_supplier(session))
    session.commit()
    h = auth("dispatcher")
    cases = [
        ({"customer_id": 999999}, "customer_id"),
        ({"customer_id": w.customer.id, "service_item_ids": [stranger_item.id]},
         "service_item_ids"),
        ({"customer_id": w.customer.id, "customer_contact_id": supplier_contact.id},
         "customer_contact_id"),
        ({"customer_id": w.customer.id, "responsible_user_id": 999999}, "responsible_user_id"),
        ({"customer_id": w.customer.id, "technician_id": 999999}, "technician_id"),
        ({"customer_id": w.customer.id, "priority": "whenever"}, "priority"),
    ]
    for body, field in cases:
        res = client.post("/orders", json=body, headers=h)
        assert res.status_code == 422, (body, res.text)
        assert res.json()["field"] == field
    assert count(session, ServiceOrder) == 0
    ok = create_order(client, h, w, supplier_contact_id=supplier_contact.id)
    assert ok["supplier_contact_id"] == supplier_contact.id


def test_a_loaner_is_issued_and_returned_in_order(client, auth, session):
    from tests.factories import make_service_item

    w = make_world(session)
    loaner = make_service_item(session, customer=w.customer, site=w.site, item_group=w.group)
    session.commit()
    h = auth("dispatcher")
    order = create_order(client, h, w, loaner_item_id=loaner.id,
                         loaner_issued_at="2026-03-02T12:00:00Z")
    bad = client.patch(f"/orders/{order['id']}", headers=h | {"If-Match": '"1"'},
                       json={"loaner_returned_at": "2026-03-01T12:00:00Z"})
    assert bad.status_code == 422 and bad.json()["field"] == "loaner_returned_at"
    session.expire_all()
    row = session.get(ServiceOrder, order["id"])
    assert (row.loaner_returned_at, row.version) == (None, 1)
    ok = client.patch(f"/orders/{order['id']}", headers=h | {"If-Match": '"1"'},
                      json={"loaner_returned_at": "2026-03-05T12:00:00Z"})
    assert ok.status_code == 200 and ok.json()["loaner_returned_at"] == "2026-03-05T12:00:00Z"


def test_technicians_may_not_write_orders(client, auth, session):
    w = make_world(session)
    res = client.post("/orders", headers=auth("technician"),
                      json={"customer_id": w.customer.id})
    assert res.status_code == 403
    assert res.json()["type"].endswith("/forbidden")
    assert count(session, ServiceOrder) == 0


def test_a_technician_sees_only_the_orders_assigned_to_him(client, auth, session):
    h = auth("technician", username="tiago")
    user = session.scalar(select(User).where(User.username == "tiago"))
    mine = make_technician(session, user_id=user.id)
    other = make_technician(session)
    own = make_order(session, technician_id=mine.id)
    foreign = make_order(session, technician_id=other.id)
    unassigned = make_order(session)
    session.commit()
    assert client.get(f"/orders/{own.id}", headers=h).status_code == 200
    for order in (foreign, unassigned):
        assert client.get(f"/orders/{order.id}", headers=h).status_code == 404
        assert client.get(f"/orders/{order.id}/history", headers=h).status_code == 404
        assert client.get(f"/orders/{order.id}/lines", headers=h).status_code == 404
    listed = client.get("/orders", headers=h).json()["items"]
    assert [o["id"] for o in listed] == [own.id]
    assert client.get(f"/orders/{foreign.id}", headers=auth("billing")).status_code == 200


def test_orders_created_at_the_same_time_get_distinct_consecutive_numbers(committing_engine,
                                                                           clock):
    import threading

    from sqlalchemy.orm import Session

    from orders import schemas
    from orders.service import create_order as create

    with Session(committing_engine) as s:
        w = make_world(s)
        customer_id, item_id = w.customer.id, w.item.id
    numbers: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(10)

    def open_one() -> None:
        try:
            start.wait(timeout=30)
            with Session(committing_engine) as s, s.begin():
                order = create(s, data=schemas.OrderCreate(customer_id=customer_id,
                                                           service_item_ids=[item_id]),
                               user_id=None, now=clock.now())
                numbers.append(order.number)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(numbers) == [f"2026-{n:06d}" for n in range(1, 11)]

"""Lines and time entries over HTTP: pricing, permissions, bad input, billing per minute."""

from decimal import Decimal

from sqlalchemy import select

from orders.models import OrderHistory, OrderLine, ServiceOrder, TimeEntry
from tests.factories import make_labour_type, make_order, make_product
from tests.orders.world import count, create_order, make_world, move


def _part(w, **extra):
    return {"kind": "part", "product_id": w.product.id, "quantity": "2"} | extra


def _time(w, start="2026-03-02T13:00:00Z", end="2026-03-02T13:01:01Z", **extra):
    return {"technician_id": w.technician.id, "activity": "on_site", "started_at": start,
            "ended_at": end} | extra


def _new_order(client, auth, session):
    """The world, a dispatcher's headers and the id of an order he just created in it."""
    w = make_world(session)
    h = auth("dispatcher")
    return w, h, create_order(client, h, w)["id"]


def _unchanged(session, order_id, version, lines=0, entries=0):
    session.expire_all()
    assert session.get(ServiceOrder, order_id).version == version
    assert count(session, OrderLine) == lines
    assert count(session, TimeEntry) == entries


def test_a_part_is_priced_from_the_catalogue_and_counts_in_the_totals(client, auth, session):
    w, h, oid = _new_order(client, auth, session)
    res = client.post(f"/orders/{oid}/lines", headers=h,
                      json=_part(w, discount_percent="10", technician_id=w.technician.id,
                                 service_item_id=w.item.id))
    assert res.status_code == 201, res.text
    line = res.json()
    assert res.headers["etag"] == '"2"'
    assert (line["unit_price"], line["price_rule"], line["discount_percent"]) == (
        "50.00", "catalogue", "10.00")
    assert (line["description"], line["vat_rate"]) == (w.product.name, "18.00")
    # 2 x 50 - 10 % = 90.00, VAT 18 % = 16.20
    assert (line["net"], line["vat"], line["total"]) == ("90.00", "16.20", "106.20")
    order = client.get(f"/orders/{oid}", headers=h).json()
    assert order["version"] == 2
    assert (order["totals"]["net"], order["totals"]["vat"], order["totals"]["total"]) == (
        "90.00", "16.20", "106.20")
    assert client.get(f"/orders/{oid}/history", headers=h).json()[-1]["event"] == "line_added"


def test_a_service_line_is_priced_from_its_labour_type_or_the_item_groups_rate(
        client, auth, session):
    w, h, oid = _new_order(client, auth, session)
    res = client.post(f"/orders/{oid}/lines", headers=h,
                      json={"kind": "service", "labour_type_id": w.labour.id, "quantity": "1.5"})
    assert res.status_code == 201, res.text
    assert (res.json()["unit_price"], res.json()["price_rule"], res.json()["net"]) == (
        "354.00", "catalogue", "531.00")
    w.group.default_hourly_rate = Decimal("300")
    session.commit()
    res = client.post(f"/orders/{oid}/lines", headers=h,
                      json={"kind": "service", "labour_type_id": w.labour.id, "quantity": "1"})
    assert (res.json()["unit_price"], res.json()["price_rule"]) == ("300.00", "price_list")


def test_a_warranty_line_costs_the_customer_nothing(client, auth, session):
    w, h, oid = _new_order(client, auth, session)
    res = client.post(f"/orders/{oid}/lines", headers=h, json=_part(w, warranty=True))
    assert (res.json()["price_rule"], res.json()["value"], res.json()["total"]) == (
        "warranty", "100.00", "0.00")
    totals = client.get(f"/orders/{oid}", headers=h).json()["totals"]
    assert (totals["total"], totals["warranty_value"]) == ("0.00", "100.00")


def test_billing_may_type_a_price_and_it_is_recorded_as_manual(client, auth, session):
    w = make_world(session)
    oid = create_order(client, auth("dispatcher"), w)["id"]
    res = client.post(f"/orders/{oid}/lines", headers=auth("billing"),
                      json=_part(w, unit_price="42.5"))
    assert res.status_code == 201
    assert (res.json()["unit_price"], res.json()["price_rule"]) == ("42.50", "manual")


def test_a_dispatcher_typing_a_price_is_a_403_and_nothing_changes(client, auth, session):
    w, h, oid = _new_order(client, auth, session)
    res = client.post(f"/orders/{oid}/lines", headers=h, json=_part(w, unit_price="1"))
    assert res.status_code == 403
    assert res.json()["type"].endswith("/price-override-forbidden")
    _unchanged(session, oid, version=1)


def test_a_negative_quantity_is_a_422_and_nothing_changes(client, auth, session):
    w, h, oid = _new_order(client, auth, session)
    for qty in ("-1", "0"):
        res = client.post(f"/orders/{oid}/lines", headers=h, json=_part(w, quantity=qty))
        assert res.status_code == 422
        assert res.json()["field"] == "quantity"
    _unchanged(session, oid, version=1)
    assert count(session, OrderHistory) == 1


def test_a_discount_over_100_percent_is_a_422_and_nothing_changes(client, auth, session):
    w, h, oid = _new_order(client, auth, session)
    res = client.post(f"/orders/{oid}/lines", headers=h, json=_part(w, discount_percent="100.5"))
    assert res.status_code == 422 and res.json()["field"] == "discount_percent"
    _unchanged(session, oid, version=1)


def test_lines_on_a_closed_or_cancelled_order_are_a_409(client, auth, session):
    w = make_world(session)
    closed = make_order(session, customer=w.customer, service_item=w.item, status="closed")
    session.commit()
    h = auth("billing")
    cancelled = create_order(client, h, w)["id"]
    move(client, h, cancelled, "cancelled")
    for oid, version in ((closed.id, 1), (cancelled, 2)):
        res = client.post(f"/orders/{oid}/lines", headers=h, json=_part(w))
        assert res.status_code == 409
        assert res.json()["type"].endswith("/order-not-editable")
        res = client.post(f"/orders/{oid}/time-entries", headers=h, json=_time(w))
        assert res.status_code == 409
        _unchanged(session, oid, version=version)


def test_a_part_priced_in_another_currency_is_refused(client, auth, session):
    w = make_world(session)
    euro = make_product(session, currency="EUR")
    session.commit()
    h = auth("dispatcher")
    oid = create_order(client, h, w)["id"]
    res = client.post(f"/orders/{oid}/lines", headers=h,
                      json={"kind": "part", "product_id": euro.id, "quantity": 1})
    assert res.status_code == 422 and res.json()["field"] == "product_id"
    _unchanged(session, oid, version=1)


def test_a_line_can_be_removed_and_the_history_says_so(client, auth, session):
    w, h, oid = _new_order(client, auth, session)
    line = client.post(f"/orders/{oid}/lines", headers=h, json=_part(w)).json()
    res = client.delete(f"/orders/{oid}/lines/{line['id']}", headers=h)
    assert res.status_code == 204 and res.headers["etag"] == '"3"'
    assert client.get(f"/orders/{oid}/lines", headers=h).json() == []
    assert client.delete(f"/orders/{oid}/lines/{line['id']}", headers=h).status_code == 404
    events = [e["event"] for e in client.get(f"/orders/{oid}/history", headers=h).json()]
    assert events == ["created", "line_added", "line_removed"]


def test_time_is_billed_per_started_minute_61_seconds_cost_two_minutes(client, auth, session):
    w, h, oid = _new_order(client, auth, session)
    res = client.post(f"/orders/{oid}/time-entries", headers=h, json=_time(w))
    assert res.status_code == 201, res.text
    entry = res.json()
    # 2 minutes at R$354/h = R$11.80; the labour type's VAT is 5 %
    assert (entry["billed_minutes"], entry["hourly_rate"], entry["amount"]) == (
        2, "354.00", "11.80")
    assert (entry["labour_type_id"], entry["vat"], entry["total"]) == (
        w.labour.id, "0.59", "12.39")
    totals = client.get(f"/orders/{oid}", headers=h).json()["totals"]
    assert (totals["time_charges"], totals["time_charges_waived"], totals["total"]) == (
        "11.80", False, "12.39")


def test_time_that_is_not_billable_is_logged_but_not_charged(client, auth, session):
    w, h, oid = _new_order(client, auth, session)
    res = client.post(f"/orders/{oid}/time-entries", headers=h, json=_time(w, billable=False))
    assert res.json()["amount"] == "11.80" and res.json()["total"] == "0.00"
    assert client.get(f"/orders/{oid}", headers=h).json()["totals"]["total"] == "0.00"


def test_an_end_before_the_start_is_a_422_and_nothing_changes(client, auth, session):
    w, h, oid = _new_order(client, auth, session)
    res = client.post(f"/orders/{oid}/time-entries", headers=h,
                      json=_time(w, start="2026-03-02T13:00:00Z", end="2026-03-02T12:59:00Z"))
    assert res.status_code == 422 and res.json()["field"] == "ended_at"
    naive = client.post(f"/orders/{oid}/time-entries", headers=h,
                        json=_time(w, start="2026-03-02T13:00:00"))
    assert naive.status_code == 422
    _unchanged(session, oid, version=1)


def test_a_travel_entry_records_the_kilometres_driven(client, auth, session):
    w, h, oid = _new_order(client, auth, session)
    res = client.post(f"/orders/{oid}/time-entries", headers=h,
                      json=_time(w, activity="travel", distance_km="42.125"))
    assert res.status_code == 201, res.text
    assert (res.json()["activity"], res.json()["distance_km"]) == ("travel", "42.125")
    session.expire_all()
    assert session.scalar(select(TimeEntry.distance_km)) == Decimal("42.125")
    history = client.get(f"/orders/{oid}/history", headers=h).json()
    assert history[-1]["note"].endswith("travel 2 min, 42.125 km")
    other = client.post(f"/orders/{oid}/time-entries", headers=h,
                        json=_time(w, start="2026-03-02T14:00:00Z", end="2026-03-02T15:00:00Z"))
    assert other.json()["distance_km"] is None


def test_kilometres_negative_or_on_work_that_is_not_travel_are_a_422_and_nothing_changes(
        client, auth, session):
    w, h, oid = _new_order(client, auth, session)
    for body in (_time(w, activity="travel", distance_km="-1"),
                 _time(w, activity="travel", distance_km="1.0001"),
                 _time(w, activity="on_site", distance_km="12")):
        res = client.post(f"/orders/{oid}/time-entries", headers=h, json=body)
        assert res.status_code == 422, body
        assert res.headers["content-type"].startswith("application/problem+json")
        assert "distance_km" in res.text, res.text
    _unchanged(session, oid, version=1)


def test_a_technician_cannot_log_two_overlapping_spans(client, auth, session):
    w, h, oid = _new_order(client, auth, session)
    assert client.post(f"/orders/{oid}/time-entries", headers=h,
                       json=_time(w, end="2026-03-02T14:00:00Z")).status_code == 201
    res = client.post(f"/orders/{oid}/time-entries", headers=h,
                      json=_time(w, start="2026-03-02T13:30:00Z", end="2026-03-02T14:30:00Z"))
    assert res.status_code == 409
    assert client.post(f"/orders/{oid}/time-entries", headers=h,
                       json=_time(w, start="2026-03-02T14:00:00Z",
                                  end="2026-03-02T14:30:00Z")).status_code == 201
    _unchanged(session, oid, version=3, entries=2)


def test_time_needs_a_labour_type_when_the_item_group_has_no_default(client, auth, session):
    w = make_world(session)
    w.group.default_labour_type_id = None
    session.commit()
    h = auth("dispatcher")
    oid = create_order(client, h, w)["id"]
    res = client.post(f"/orders/{oid}/time-entries", headers=h, json=_time(w))
    assert res.status_code == 422 and res.json()["field"] == "labour_type_id"
    cheap = make_labour_type(session, hourly_rate=Decimal("60"))
    session.commit()
    res = client.post(f"/orders/{oid}/time-entries", headers=h,
                      json=_time(w, labour_type_id=cheap.id))
    assert res.json()["amount"] == "2.00"


def test_a_product_defect_waives_the_time_charges_visibly(client, auth, session):
    w, h, oid = _new_order(client, auth, session)
    client.post(f"/orders/{oid}/lines", headers=h, json=_part(w, quantity="1"))
    client.post(f"/orders/{oid}/time-entries", headers=h,
                json=_time(w, end="2026-03-02T14:00:00Z"))
    res = client.patch(f"/orders/{oid}", headers=h | {"If-Match": '"3"'},
                       json={"root_cause": "product_defect"})
    totals = res.json()["totals"]
    assert totals["time_charges_waived"] is True
    assert (totals["time_charges"], totals["waived_amount"]) == ("0.00", "354.00")
    # Only the part is charged: 50.00 + 18 % VAT.
    assert totals["total"] == "59.00"
    assert res.json()["time_entries"][0]["total"] == "0.00"


def test_a_premium_customer_pays_time_even_for_a_product_defect(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    oid = create_order(client, h, w, billing_modality="premium", root_cause="product_defect")["id"]
    client.post(f"/orders/{oid}/time-entries", headers=h,
                json=_time(w, end="2026-03-02T14:00:00Z"))
    totals = client.get(f"/orders/{oid}", headers=h).json()["totals"]
    assert totals["time_charges_waived"] is False
    assert (totals["time_charges"], totals["total"]) == ("354.00", "371.70")

"""Orders under a contract over HTTP: the contract is recorded, lines and time are priced by
its coverage (contracts.pricing), and "always billed" keeps a product defect from waiving time."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from orders.models import ServiceOrder
from tests.factories import make_contract, make_contract_line, make_service_item
from tests.orders.contract_world import make_contract_world, open_order


def _part(w, **extra):
    return {"kind": "part", "product_id": w.product.id, "quantity": "2"} | extra


def _time(w, start, end, activity="on_site"):
    return {"technician_id": w.technician.id, "activity": activity, "started_at": start,
            "ended_at": end}


def test_an_order_on_a_covered_item_records_its_contract_and_the_coverage_prices_its_work(
        client, auth, session):
    w = make_contract_world(session)
    h = auth("dispatcher")
    order = open_order(client, h, w)
    assert order["contract_id"] == w.contract.id
    oid = order["id"]

    part = client.post(f"/orders/{oid}/lines", headers=h, json=_part(w)).json()
    assert (part["unit_price"], part["discount_percent"], part["price_rule"], part["net"]) == (
        "50.00", "10.00", "contract", "90.00")
    service = client.post(f"/orders/{oid}/lines", headers=h, json={
        "kind": "service", "labour_type_id": w.labour.id, "quantity": "1.5"}).json()
    # Labour included: the line shows what the work was worth and charges nothing.
    assert (service["unit_price"], service["discount_percent"], service["price_rule"],
            service["value"], service["net"]) == ("354.00", "100.00", "contract", "0.00", "0.00")
    work = client.post(f"/orders/{oid}/time-entries", headers=h, json=_time(
        w, "2026-03-02T13:00:00Z", "2026-03-02T13:30:00Z")).json()
    travel = client.post(f"/orders/{oid}/time-entries", headers=h, json=_time(
        w, "2026-03-02T12:30:00Z", "2026-03-02T13:00:00Z", "travel")).json()
    assert (work["amount"], work["price_rule"], work["billed_minutes"]) == ("0.00", "contract", 30)
    assert (travel["amount"], travel["price_rule"]) == ("0.00", "contract")
    totals = client.get(f"/orders/{oid}", headers=h).json()["totals"]
    assert (totals["lines_net"], totals["time_charges"], totals["net"]) == (
        "90.00", "0.00", "90.00")


def test_labour_at_a_discount_and_the_contracts_rate_and_travel_not_included(
        client, auth, session):
    w = make_contract_world(session, labour_included=False, labour_discount_percent=D("25"),
                            labour_hourly_rate=D("300"), travel_included=False)
    h = auth("dispatcher")
    oid = open_order(client, h, w)["id"]
    service = client.post(f"/orders/{oid}/lines", headers=h, json={
        "kind": "service", "labour_type_id": w.labour.id, "quantity": "1"}).json()
    assert (service["unit_price"], service["discount_percent"], service["price_rule"],
            service["net"]) == ("300.00", "25.00", "contract", "225.00")
    work = client.post(f"/orders/{oid}/time-entries", headers=h, json=_time(
        w, "2026-03-02T13:00:00Z", "2026-03-02T14:00:00Z")).json()
    # 60 min at the contract's R$ 300/h less 25 %
    assert (work["hourly_rate"], work["amount"], work["price_rule"]) == (
        "300.00", "225.00", "contract")
    travel = client.post(f"/orders/{oid}/time-entries", headers=h, json=_time(
        w, "2026-03-02T12:30:00Z", "2026-03-02T13:00:00Z", "travel")).json()
    # Travel is not covered: the labour catalogue's R$ 354/h, 30 min
    assert (travel["hourly_rate"], travel["amount"], travel["price_rule"]) == (
        "354.00", "177.00", "catalogue")


def test_an_item_no_contract_covers_is_priced_from_the_catalogue(client, auth, session):
    w = make_contract_world(session)
    h = auth("dispatcher")
    order = open_order(client, h, w, item=w.other_item)
    assert (order["contract_id"], order["response_due_at"]) == (None, None)
    line = client.post(f"/orders/{order['id']}/lines", headers=h, json=_part(w)).json()
    assert (line["discount_percent"], line["price_rule"], line["net"]) == (
        "0.00", "catalogue", "100.00")


def test_a_whole_item_group_at_a_site_is_covered_by_a_group_line(client, auth, session):
    w = make_contract_world(session)
    other = make_contract(session, customer=w.customer, with_line=False)
    make_contract_line(session, contract=other, site=w.site, item_group=w.group,
                       parts_discount_percent=D("20"))
    newcomer = make_service_item(session, customer=w.customer, site=w.site, item_group=w.group)
    session.commit()
    h = auth("dispatcher")
    order = open_order(client, h, w, item=newcomer)
    assert order["contract_id"] == other.id
    line = client.post(f"/orders/{order['id']}/lines", headers=h, json=_part(w)).json()
    assert (line["discount_percent"], line["price_rule"]) == ("20.00", "contract")


def test_a_contract_that_has_not_started_or_is_suspended_covers_nothing(client, auth, session):
    w = make_contract_world(session)
    w.contract.start_date = date(2026, 4, 1)
    session.commit()
    h = auth("dispatcher")
    assert open_order(client, h, w)["contract_id"] is None
    w.contract.start_date = date(2026, 1, 1)
    w.contract.status = "suspended"
    session.commit()
    assert open_order(client, h, w)["contract_id"] is None


def test_work_added_after_the_contract_was_suspended_is_no_longer_covered(
        client, auth, session):
    w = make_contract_world(session)
    h = auth("dispatcher")
    oid = open_order(client, h, w)["id"]
    first = client.post(f"/orders/{oid}/lines", headers=h, json=_part(w)).json()
    w.contract.status = "suspended"
    session.commit()
    second = client.post(f"/orders/{oid}/lines", headers=h, json=_part(w)).json()
    assert (first["price_rule"], second["price_rule"]) == ("contract", "catalogue")
    # The lines already priced keep their price: a line is priced once, when it is added.
    lines = client.get(f"/orders/{oid}/lines", headers=h).json()
    assert [x["net"] for x in lines] == ["90.00", "100.00"]


def _defect_time(client, h, w, **order_fields) -> dict:
    oid = open_order(client, h, w, root_cause="product_defect", **order_fields)["id"]
    res = client.post(f"/orders/{oid}/time-entries", headers=h, json=_time(
        w, "2026-03-02T13:00:00Z", "2026-03-02T14:00:00Z"))
    assert res.status_code == 201, res.text
    return client.get(f"/orders/{oid}", headers=h).json()


def test_a_product_defect_waives_time_under_a_standard_contract(client, auth, session):
    w = make_contract_world(session, labour_included=False)
    order = _defect_time(client, auth("dispatcher"), w)
    totals = order["totals"]
    assert (totals["time_charges_waived"], totals["time_charges"], totals["waived_amount"]) == (
        True, "0.00", "354.00")


def test_an_always_billed_contract_charges_time_even_for_a_product_defect(
        client, auth, session):
    w = make_contract_world(session, labour_included=False)
    w.contract.modality = "always_billed"
    session.commit()
    h = auth("billing")
    order = _defect_time(client, h, w)
    totals = order["totals"]
    assert (totals["time_charges_waived"], totals["time_charges"], totals["total"]) == (
        False, "354.00", "371.70")
    for status in ("ready", "in_progress", "completed"):
        client.post(f"/orders/{order['id']}/transitions", headers=h, json={"to": status})
    version = client.get(f"/orders/{order['id']}", headers=h).headers["etag"]
    invoice = client.post(f"/orders/{order['id']}/close", headers=h | {"If-Match": version},
                          json={"payments": [{"method": "pix", "amount": "371.70"}]})
    assert invoice.status_code == 201, invoice.text
    assert (invoice.json()["total"], invoice.json()["time_charges_waived"]) == ("371.70", False)


def test_changing_the_items_of_an_order_follows_the_contract_that_covers_them(
        client, auth, session):
    w = make_contract_world(session)
    h = auth("dispatcher")
    order = open_order(client, h, w, item=w.other_item)
    assert order["contract_id"] is None
    res = client.patch(f"/orders/{order['id']}", headers=h | {"If-Match": '"1"'},
                       json={"service_item_ids": [w.item.id]})
    assert res.status_code == 200, res.text
    assert res.json()["contract_id"] == w.contract.id
    assert res.json()["response_due_at"] is not None
    history = client.get(f"/orders/{order['id']}/history", headers=h).json()
    assert f"contract_id: null -> {w.contract.id}" in history[-1]["note"]
    session.expire_all()
    assert session.get(ServiceOrder, order["id"]).contract_id == w.contract.id

"""Issue 4, done when: over HTTP, quote -> accept -> contract -> an order under the contract
priced by its coverage -> response due over a weekend and a holiday -> periodic invoice ->
prorated change -> indexation at renewal -> profit and loss."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

SP = ZoneInfo("America/Sao_Paulo")


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP).astimezone(UTC)


def _call(client, method, url, headers, body=None, status=200, **params):
    res = client.request(method, url, json=body, headers=headers, params=params or None)
    assert res.status_code == status, (method, url, res.text)
    return res.json()


def _post(client, url, headers, body=None, status=201):
    return _call(client, "POST", url, headers, body, status)


def test_quote_to_contract_to_order_invoices_renewal_and_profit_over_http(client, auth, clock,
                                                                         settings):
    # The company's cost of a kilometre driven (TECNICO_TRAVEL_COST_PER_KM).
    settings.travel_cost_per_km = Decimal("1.10")
    desk = auth("dispatcher")
    billing = auth("billing")
    clock.current = _at(2026, 2, 16, 9, 0)

    # Master data.
    labour = _post(client, "/labour-types", desk, {
        "code": "onsite", "name": "Técnico em campo", "hourly_rate": "354", "cost_rate": "60",
        "vat_rate": "5", "currency": "BRL"})
    group = _post(client, "/item-groups", desk, {
        "code": "freezers", "name": "Freezers", "default_labour_type_id": labour["id"]})
    compressor = _post(client, "/products", desk, {
        "sku": "CMP-12", "name": "Compressor 12V", "unit_price": "50.00", "cost": "30.00",
        "vat_rate": "18", "currency": "BRL"})
    customer = _post(client, "/customers", desk, {
        "legal_name": "Padaria Estrela Ltda", "tax_id": "11.222.333/0001-81", "country": "BR",
        "locale": "pt_BR", "currency": "BRL", "address": "Av. Paulista 1000",
        "postal_code": "01310-100", "city": "São Paulo"})
    site = _post(client, "/sites", desk, {
        "customer_id": customer["id"], "name": "Loja Centro", "address": "Rua Augusta 10",
        "city": "São Paulo", "country": "BR", "latitude": -23.5558, "longitude": -46.6623})
    freezer, chiller = (_post(client, "/service-items", desk, {
        "site_id": site["id"], "item_group_id": group["id"], "model": model,
        "serial_number": serial}) for model, serial in (("Freezer FX-200", "SN001"),
                                                         ("Chiller CH-9", "SN002")))
    tech = _post(client, "/technicians", desk, {"name": "João Ørsted", "currency": "BRL",
                                                "cost_rate": "45"})
    hours = _post(client, "/calendars", desk, {
        "code": "sp-business", "name": "Horário comercial SP", "timezone": "America/Sao_Paulo",
        "weekly": {d: ["08:00-12:00", "13:30-17:30"] for d in ("mon", "tue", "wed", "thu",
                                                               "fri")},
        "country": "BR"})
    _post(client, "/price-indexes", desk, {"rows": [
        {"name": "IGP-M", "month": "2026-02", "value": "1000.000000"}]})

    # Quote -> sent -> accepted -> converted into a contract, then signed and active.
    quote = _post(client, "/contract-quotes", desk, {
        "customer_id": customer["id"], "title": "Freezers", "billing_period": "monthly",
        "price_per_period": "1200.00", "start_date": "2026-03-01", "end_date": "2026-08-31",
        "auto_renew": True, "calendar_id": hours["id"], "index_name": "IGP-M",
        "valid_until": "2026-02-28",
        "lines": [{"service_item_id": freezer["id"], "labour_included": True,
                   "parts_discount_percent": "10", "travel_included": True,
                   "response_hours": {"normal": "8", "urgent": "4"}}]})
    _post(client, f"/contract-quotes/{quote['id']}/send", desk, status=200)
    accepted = _post(client, f"/contract-quotes/{quote['id']}/accept", desk, status=200)
    assert accepted["status"] == "accepted"
    contract = _post(client, f"/contract-quotes/{quote['id']}/convert", desk)
    cid = contract["id"]
    assert (contract["quote_id"], contract["status"], contract["price_per_period"]) == (
        quote["id"], "draft", "1200.00")
    for status in ("signed", "active"):
        contract = _post(client, f"/contracts/{cid}/transitions", desk, {"to": status},
                         status=200)
    assert contract["status"] == "active"

    # The first period is invoiced in advance.
    clock.current = _at(2026, 3, 2, 9, 0)
    run = _post(client, "/contracts/invoice", billing, {"until": "2026-03-02"}, status=200)
    assert [(x["full_number"], x["total"], x["contract_id"]) for x in run["invoices"]] == [
        ("INV-000001", "1200.00", cid)]

    # Thursday before Good Friday, 16:00: the freezer fails. 8 business hours: 1 h 30 on
    # Thursday, Friday is a holiday, then the weekend, 6 h 30 on Monday -> Monday 16:00.
    clock.current = _at(2026, 4, 2, 16, 0)
    order = _post(client, "/orders", desk, {"customer_id": customer["id"],
                                            "service_item_ids": [freezer["id"]],
                                            "reported_defect": "Freezer não gela"})
    oid = order["id"]
    assert order["contract_id"] == cid
    assert order["response_due_at"] == "2026-04-06T19:00:00Z"
    # Monday 15:00: one business hour left, the order is at risk until work starts.
    clock.current = _at(2026, 4, 6, 15, 0)
    at_risk = _call(client, "GET", "/orders/sla", desk)
    assert [(x["number"], x["state"], x["remaining_minutes"]) for x in at_risk] == [
        (order["number"], "at_risk", 60)]

    # Priced by the coverage: parts 10 % off, travel and labour included.
    part = _post(client, f"/orders/{oid}/lines", desk, {
        "kind": "part", "product_id": compressor["id"], "quantity": "2"})
    assert (part["price_rule"], part["net"]) == ("contract", "90.00")
    drive = _post(client, f"/orders/{oid}/time-entries", desk, {
        "technician_id": tech["id"], "activity": "travel", "distance_km": "18.4",
        "started_at": "2026-04-06T17:30:00Z", "ended_at": "2026-04-06T18:00:00Z"})
    assert (drive["price_rule"], drive["amount"], drive["distance_km"]) == (
        "contract", "0.00", "18.40")
    work = _post(client, f"/orders/{oid}/time-entries", desk, {
        "technician_id": tech["id"], "activity": "on_site",
        "started_at": "2026-04-06T18:00:00Z", "ended_at": "2026-04-06T19:00:00Z"})
    assert (work["price_rule"], work["amount"]) == ("contract", "0.00")
    for status in ("ready", "in_progress", "completed"):
        _post(client, f"/orders/{oid}/transitions", desk, {"to": status}, status=200)
    assert _call(client, "GET", "/orders/sla", desk) == []
    etag = client.get(f"/orders/{oid}", headers=billing).headers["etag"]
    closed = client.post(f"/orders/{oid}/close", headers=billing | {"If-Match": etag},
                         json={"payments": [{"method": "pix", "amount": "106.20"}]})
    assert closed.status_code == 201, closed.text
    assert (closed.json()["full_number"], closed.json()["total"]) == ("INV-000002", "106.20")

    # April's invoice takes the next number of the same series.
    run = _post(client, "/contracts/invoice", billing, {"until": "2026-04-06"}, status=200)
    assert [(x["full_number"], x["total"]) for x in run["invoices"]] == [
        ("INV-000003", "1200.00")]
    assert run["already_invoiced"] == 1

    # The chiller joins on 16 April at R$ 300.00 a month: 15 of April's 30 days.
    clock.current = _at(2026, 4, 10, 10, 0)
    change = _post(client, f"/contracts/{cid}/lines", desk, {
        "service_item_id": chiller["id"], "price_per_period": "300.00",
        "added_on": "2026-04-16", "labour_included": True})
    assert (change["adjustment"]["amount"], change["contract_price_per_period"]) == (
        "150.00", "1500.00")
    run = _post(client, "/contracts/invoice", billing, {"until": "2026-04-16"}, status=200)
    assert [(x["full_number"], x["kind"], x["total"]) for x in run["adjustments"]] == [
        ("INV-000004", "invoice", "150.00")]

    # Suspended, the contract cannot be invoiced: 409, nothing issued.
    _post(client, f"/contracts/{cid}/transitions", desk, {"to": "suspended"}, status=200)
    refused = client.post("/contracts/invoice", headers=billing,
                          json={"until": "2026-05-01", "contract_id": cid})
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/contract-not-invoiceable")
    _post(client, f"/contracts/{cid}/transitions", desk, {"to": "active"}, status=200)

    # Renewal with indexation: IGP-M 2026-02 -> 2026-08. Without August's number: a 422
    # naming the month, and nothing changes.
    clock.current = _at(2026, 8, 20, 10, 0)
    missing = client.post(f"/contracts/{cid}/renew", headers=desk)
    assert missing.status_code == 422, missing.text
    assert "2026-08" in missing.json()["detail"]
    assert _call(client, "GET", f"/contracts/{cid}", desk)["end_date"] == "2026-08-31"
    _post(client, "/price-indexes", desk, {"rows": [
        {"name": "IGP-M", "month": "2026-08", "value": "1040.000000"}]})
    renewal = _post(client, f"/contracts/{cid}/renew", desk, status=200)
    assert (renewal["contract"]["end_date"], renewal["contract"]["price_per_period"]) == (
        "2027-08-31", "1560.00")
    change = renewal["price_change"]
    assert (change["old_price"], change["new_price"], change["start_value"],
            change["end_value"]) == ("1500.00", "1560.00", "1000.00", "1040.00")
    history = _call(client, "GET", f"/contracts/{cid}/history", desk)
    assert any(h["event"] == "price_indexed" and "1500.00 -> 1560.00" in h["note"]
               for h in history)

    # May to August at 1500.00, September at the indexed 1560.00.
    clock.current = _at(2026, 9, 1, 9, 0)
    run = _post(client, "/contracts/invoice", billing, {"until": "2026-09-01"}, status=200)
    assert [(x["period_start"], x["total"]) for x in run["invoices"]] == [
        ("2026-05-01", "1500.00"), ("2026-06-01", "1500.00"), ("2026-07-01", "1500.00"),
        ("2026-08-01", "1500.00"), ("2026-09-01", "1560.00")]

    # Profit and loss by month.
    pnl = _call(client, "GET", f"/contracts/{cid}/pnl", billing,
                **{"from": "2026-03-01", "to": "2026-09-30"})
    months = {m["month"]: m for m in pnl["months"]}
    assert list(months) == ["2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08",
                            "2026-09"]
    april = months["2026-04"]
    # 1200.00 for April, 150.00 for the chiller's half month, 90.00 of parts on the order;
    # cost: parts 2 x 30.00, an hour and a half of the technician (half an hour of it
    # driving) at 45.00, and the 18.4 km he drove at 1.10.
    assert (april["contract_revenue"], april["extras_revenue"], april["parts_cost"],
            april["labour_cost"], april["travel_km"], april["travel_cost"],
            april["profit"]) == (
        "1350.00", "90.00", "60.00", "67.50", "18.400", "20.24", "1292.26")
    assert [months[m]["revenue"] for m in ("2026-03", "2026-05", "2026-09")] == [
        "1200.00", "1500.00", "1560.00"]
    assert (pnl["cost_per_km"], pnl["totals"]["revenue"], pnl["totals"]["cost"],
            pnl["totals"]["profit"]) == ("1.10", "10200.00", "147.74", "10052.26")
    chart = client.get(f"/contracts/{cid}/pnl/chart", headers=billing,
                       params={"from": "2026-03-01", "to": "2026-09-30"})
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")
    sheet = client.get(f"/contracts/{cid}/pnl/export", headers=billing,
                       params={"from": "2026-03-01", "to": "2026-09-30", "format": "csv"})
    assert sheet.status_code == 200 and sheet.text.splitlines()[-1] == (
        "total,10110.00,90.00,10200.00,60.00,67.50,18.400,20.24,147.74,10052.26")

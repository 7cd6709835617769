"""Profit and loss of a contract over HTTP: by month as JSON, CSV/XLSX and a chart."""

from __future__ import annotations

import io
from decimal import Decimal as D

import pandas as pd
from openpyxl import load_workbook

from tests.factories import make_contract
from tests.orders.contract_world import make_contract_world, open_order
from tests.orders.world import move

MONTHS = ("2026-01", "2026-02", "2026-03")


def _served_order(client, h, w) -> dict:
    """Under the contract: 2 parts (R$ 90.00 after 10 %, cost 60.00), 1.5 h of included
    labour (cost 1.5 x 60.00), 30 min driving 42.5 km and 60 min on site by a technician
    costing R$ 45.00/h; closed for R$ 106.20 (90.00 net + VAT 18 %)."""
    oid = open_order(client, h, w)["id"]
    for body in ({"kind": "part", "product_id": w.product.id, "quantity": "2"},
                 {"kind": "service", "labour_type_id": w.labour.id, "quantity": "1.5"}):
        assert client.post(f"/orders/{oid}/lines", headers=h, json=body).status_code == 201
    for activity, start, end, km in (("travel", "12:30", "13:00", {"distance_km": "42.5"}),
                                     ("on_site", "13:00", "14:00", {})):
        res = client.post(f"/orders/{oid}/time-entries", headers=h, json={
            "technician_id": w.technician.id, "activity": activity,
            "started_at": f"2026-03-02T{start}:00Z", "ended_at": f"2026-03-02T{end}:00Z"} | km)
        assert res.status_code == 201, res.text
    move(client, h, oid, "ready", "in_progress", "completed")
    etag = client.get(f"/orders/{oid}", headers=h).headers["etag"]
    res = client.post(f"/orders/{oid}/close", headers=h | {"If-Match": etag},
                      json={"payments": [{"method": "pix", "amount": "106.20"}]})
    assert res.status_code == 201, res.text
    return res.json()


def _pnl(client, h, contract_id, **params) -> dict:
    res = client.get(f"/contracts/{contract_id}/pnl", headers=h, params=params)
    assert res.status_code == 200, res.text
    return res.json()


def test_revenue_against_cost_by_month(client, auth, session, settings):
    settings.travel_cost_per_km = D("1.20")
    w = make_contract_world(session)
    h = auth("billing")
    assert client.post("/contracts/invoice", headers=h,
                       json={"until": "2026-03-01"}).status_code == 200
    _served_order(client, h, w)
    body = _pnl(client, h, w.contract.id, **{"from": "2026-01-01", "to": "2026-03-31"})
    assert (body["contract_number"], body["currency"], body["from"], body["to"]) == (
        w.contract.number, "BRL", "2026-01-01", "2026-03-31")
    assert body["cost_per_km"] == "1.20"
    rows = {m["month"]: m for m in body["months"]}
    assert list(rows) == list(MONTHS)
    assert rows["2026-01"] == {
        "month": "2026-01", "contract_revenue": "1200.00", "extras_revenue": "0.00",
        "revenue": "1200.00", "parts_cost": "0.00", "labour_cost": "0.00",
        "travel_km": "0.000", "travel_cost": "0.00", "cost": "0.00", "profit": "1200.00"}
    march = rows["2026-03"]
    assert (march["contract_revenue"], march["extras_revenue"], march["revenue"]) == (
        "1200.00", "90.00", "1290.00")
    # parts 2 x 30.00; labour 1.5 h x 60.00 + (30 min driving + 60 min on site) x 45.00/h;
    # travel 42.5 km x 1.20
    assert (march["parts_cost"], march["labour_cost"], march["travel_km"],
            march["travel_cost"], march["cost"], march["profit"]) == (
        "60.00", "157.50", "42.500", "51.00", "268.50", "1021.50")
    assert (body["totals"]["revenue"], body["totals"]["travel_km"], body["totals"]["cost"],
            body["totals"]["profit"]) == ("3690.00", "42.500", "268.50", "3421.50")
    # Without dates: from the contract's start to today (2 March 2026).
    assert [m["month"] for m in _pnl(client, h, w.contract.id)["months"]] == list(MONTHS)


def test_travel_costs_the_months_kilometres_at_the_cost_per_km_rounded_half_up_once(
        client, auth, session, settings):
    settings.travel_cost_per_km = D("0.25")
    w = make_contract_world(session)
    h = auth("billing")
    oid = open_order(client, h, w)["id"]
    for activity, start, end, km in (("travel", "12:00", "12:20", "2.25"),
                                     ("on_site", "12:20", "12:40", None),
                                     ("travel", "12:40", "13:00", "2.25"),
                                     ("travel", "13:00", "13:20", None)):
        res = client.post(f"/orders/{oid}/time-entries", headers=h, json={
            "technician_id": w.technician.id, "activity": activity,
            "started_at": f"2026-03-02T{start}:00Z", "ended_at": f"2026-03-02T{end}:00Z",
            "distance_km": km})
        assert res.status_code == 201, res.text
    march = _pnl(client, h, w.contract.id, **{"from": "2026-03-01", "to": "2026-03-31"})
    [row] = march["months"]
    # 4.5 km x 0.25 = 1.125 -> 1.13 (each entry rounded alone: 2 x 0.56 = 1.12); the travel
    # without kilometres adds none. Labour: 80 minutes, driving included, at 45.00/h.
    assert (row["travel_km"], row["travel_cost"], row["labour_cost"], row["cost"]) == (
        "4.500", "1.13", "60.00", "61.13")
    settings.travel_cost_per_km = D("0")
    free = _pnl(client, h, w.contract.id, **{"from": "2026-03-01", "to": "2026-03-31"})
    assert (free["cost_per_km"], free["months"][0]["travel_km"],
            free["months"][0]["travel_cost"]) == ("0.00", "4.500", "0.00")


def test_a_quarters_invoice_is_earned_over_its_days_and_credits_come_off(
        client, auth, session):
    contract = make_contract(session, billing_period="quarterly", price_per_period=D("3600.00"))
    session.commit()
    h = auth("billing")
    run = client.post("/contracts/invoice", headers=h, json={"until": "2026-01-01"}).json()
    body = _pnl(client, h, contract.id, **{"from": "2026-01-01", "to": "2026-03-31"})
    assert [m["contract_revenue"] for m in body["months"]] == ["1240.00", "1120.00", "1240.00"]
    invoice_id = run["invoices"][0]["id"]
    credit = client.post(f"/invoices/{invoice_id}/credit-notes", headers=h,
                         json={"reason": "goodwill"})
    assert credit.status_code == 201, credit.text
    body = _pnl(client, h, contract.id, **{"from": "2026-01-01", "to": "2026-03-31"})
    # The credit note was issued on 2 March: it comes off March.
    assert [m["contract_revenue"] for m in body["months"]] == ["1240.00", "1120.00", "-2360.00"]
    assert body["totals"]["revenue"] == "0.00"


def test_the_export_has_a_row_per_month_and_a_total_in_csv_and_xlsx(client, auth, session,
                                                                    settings):
    settings.travel_cost_per_km = D("1.20")
    w = make_contract_world(session)
    h = auth("billing")
    client.post("/contracts/invoice", headers=h, json={"until": "2026-03-01"})
    _served_order(client, h, w)
    params = {"from": "2026-01-01", "to": "2026-03-31"}
    res = client.get(f"/contracts/{w.contract.id}/pnl/export", headers=h, params=params)
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/csv")
    assert 'attachment; filename="pnl-' in res.headers["content-disposition"]
    frame = pd.read_csv(io.BytesIO(res.content), dtype=str)
    assert list(frame["month"]) == [*MONTHS, "total"]
    assert list(frame.columns) == [
        "month", "contract_revenue", "extras_revenue", "revenue", "parts_cost", "labour_cost",
        "travel_km", "travel_cost", "cost", "profit"]
    assert list(frame["travel_km"]) == ["0.000", "0.000", "42.500", "42.500"]
    assert list(frame["travel_cost"]) == ["0.00", "0.00", "51.00", "51.00"]
    assert list(frame["profit"]) == ["1200.00", "1200.00", "1021.50", "3421.50"]
    res = client.get(f"/contracts/{w.contract.id}/pnl/export", headers=h,
                     params=params | {"format": "xlsx"})
    assert res.status_code == 200
    sheet = load_workbook(io.BytesIO(res.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("month", "contract_revenue", "extras_revenue", "revenue")
    assert [r[0] for r in rows[1:]] == [*MONTHS, "total"]
    assert D(str(rows[3][-1])) == D("1021.50")


def test_the_chart_comes_as_png_or_svg(client, auth, session):
    contract = make_contract(session)
    session.commit()
    h = auth("billing")
    client.post("/contracts/invoice", headers=h, json={"until": "2026-03-01"})
    png = client.get(f"/contracts/{contract.id}/pnl/chart", headers=h)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n") and len(png.content) > 5000
    svg = client.get(f"/contracts/{contract.id}/pnl/chart", headers=h, params={"format": "svg"})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    text = svg.content.decode()
    assert "<svg" in text
    for label in (f"{contract.number}: revenue vs cost by month", "2026-01", "2026-03",
                  "contract revenue", "extras revenue", "parts cost", "labour cost",
                  "travel cost (km)", "profit"):
        assert label in text, label


def test_bad_profit_and_loss_requests_are_clear_4xx(client, auth, session):
    contract = make_contract(session)
    session.commit()
    h = auth("billing")
    url = f"/contracts/{contract.id}/pnl"
    backwards = client.get(url, headers=h, params={"from": "2026-03-01", "to": "2026-02-01"})
    assert backwards.status_code == 422 and backwards.json()["field"] == "to"
    decade = client.get(url, headers=h, params={"from": "2000-01-01", "to": "2026-02-01"})
    assert decade.status_code == 422
    assert client.get("/contracts/999999/pnl", headers=h).status_code == 404
    pdf = client.get(f"{url}/export", headers=h, params={"format": "pdf"})
    assert pdf.status_code == 422 and pdf.json()["field"] == "format"
    assert client.get(f"{url}/chart", headers=h, params={"format": "jpg"}).status_code == 422
    assert client.get(url, headers=auth("dispatcher")).status_code == 403

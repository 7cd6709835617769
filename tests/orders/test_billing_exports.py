"""Orders and invoices out to CSV/XLSX and read back; orders in from CSV, all or nothing."""

from __future__ import annotations

import io
from decimal import Decimal as D

import pandas as pd

from orders.models import OrderHistory, ServiceOrder
from tests.factories import (
    make_customer,
    make_invoice,
    make_order,
    make_service_item,
)
from tests.orders.billing_world import completed_order, pay
from tests.orders.world import count


def _closed_and_open(session):
    closed = completed_order(session)
    invoice = make_invoice(session, order=closed, discount_percent=D("10"),
                           payments=pay(("pix", "1000.00"), ("card", "496.62")))
    still_open = make_order(session, priority="urgent", reported_defect="Não liga; 220V")
    session.commit()
    return closed, invoice, still_open


def test_orders_export_to_csv_and_read_back(client, auth, session):
    closed, _invoice, still_open = _closed_and_open(session)
    res = client.get("/exports/orders", params={"format": "csv"}, headers=auth("dispatcher"))
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/csv")
    assert res.headers["content-disposition"] == 'attachment; filename="orders.csv"'
    frame = pd.read_csv(io.BytesIO(res.content), dtype=str, keep_default_na=False)
    assert list(frame["number"]) == [still_open.number, closed.number]  # newest first
    row = frame.set_index("number").loc[closed.number]
    assert (row["status"], row["customer_name"], row["customer_tax_id"]) == (
        "closed", "Padaria Estrela Ltda", "11.222.333/0001-81")
    assert (row["subtotal"], row["discount"], row["net"], row["vat"], row["total"]) == (
        "1472.30", "147.23", "1325.07", "171.55", "1496.62")
    other = frame.set_index("number").loc[still_open.number]
    assert other["reported_defect"] == "Não liga; 220V" and other["priority"] == "urgent"


def test_orders_export_to_xlsx_with_the_listing_filters(client, auth, session):
    closed, _invoice, _open = _closed_and_open(session)
    res = client.get("/exports/orders", params={"format": "xlsx", "status": "closed"},
                     headers=auth("billing"))
    assert res.status_code == 200
    frame = pd.read_excel(io.BytesIO(res.content), sheet_name="orders")
    assert list(frame["number"]) == [closed.number]
    assert frame.loc[0, "total"] == 1496.62  # a number in the sheet, not text
    assert str(frame.loc[0, "closed_at"]) == "2026-03-02 12:00:00"  # UTC wall time


def test_invoices_export_to_csv_and_xlsx(client, auth, session):
    closed, invoice, _open = _closed_and_open(session)
    h = auth("billing")
    res = client.get("/exports/invoices", params={"format": "csv"}, headers=h)
    frame = pd.read_csv(io.BytesIO(res.content), dtype=str, keep_default_na=False)
    assert list(frame["number"]) == ["INV-000001"]
    row = frame.iloc[0]
    assert (row["kind"], row["order_number"], row["total"], row["vat"]) == (
        "invoice", closed.number, "1496.62", "171.55")
    assert row["payments"] == "pix 1000.00; card 496.62"
    res = client.get("/exports/invoices", params={"format": "xlsx", "kind": "credit_note"},
                     headers=h)
    assert res.status_code == 200
    assert pd.read_excel(io.BytesIO(res.content)).empty
    assert client.get("/exports/invoices", headers=auth("dispatcher")).status_code == 403
    bad = client.get("/exports/invoices", params={"format": "ods"}, headers=h)
    assert bad.status_code == 422


GOOD = (
    "customer_number,reported_defect,priority,category,service_item_serial\n"
    "{c},Oven does not heat,high,repair,{serial}\n"
    "{c},\"Door seal,\nleaks\",normal,maintenance,\n"
)


def _upload(client, headers, content: str):
    files = {"file": ("orders.csv", content.encode(), "text/csv")}
    return client.post("/imports/orders", files=files, headers=headers)


def test_a_good_csv_creates_one_order_per_row(client, auth, session):
    customer = make_customer(session, number="C-IMP-1")
    item = make_service_item(session, customer=customer, serial_number="SN-IMP-1")
    session.commit()
    res = _upload(client, auth("dispatcher"), GOOD.format(c="C-IMP-1", serial="SN-IMP-1"))
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["imported"] == 2 and len(body["numbers"]) == 2
    first = session.get(ServiceOrder, body["order_ids"][0])
    assert (first.priority, first.category, first.customer_id) == ("high", "repair",
                                                                   customer.id)
    assert [i.id for i in first.service_items] == [item.id]
    assert session.get(ServiceOrder, body["order_ids"][1]).reported_defect == \
        "Door seal,\nleaks"


def test_a_retried_upload_with_the_same_key_imports_once(client, auth, session):
    make_customer(session, number="C-IMP-3")
    session.commit()
    h = auth("dispatcher") | {"Idempotency-Key": "import-1"}
    first = _upload(client, h, "customer_number,reported_defect\nC-IMP-3,noise\n")
    again = _upload(client, h, "customer_number,reported_defect\nC-IMP-3,noise\n")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert count(session, ServiceOrder) == 1
    other = _upload(client, h, "customer_number,reported_defect\nC-IMP-3,other\n")
    assert other.status_code == 422


def test_a_bad_row_is_reported_by_its_line_and_nothing_is_imported(client, auth, session):
    make_customer(session, number="C-IMP-2")
    session.commit()
    before = count(session, ServiceOrder), count(session, OrderHistory)
    content = (
        "customer_number,reported_defect,priority\n"
        "C-IMP-2,ok,normal\n"
        "C-NOPE,who is this,normal\n"          # line 3: unknown customer
        "C-IMP-2,\"two\nlines\",low\n"          # lines 4-5: fine
        "C-IMP-2,bad priority,urgentissimo\n"  # line 6
    )
    res = _upload(client, auth("dispatcher"), content)
    assert res.status_code == 422
    problem = res.json()
    assert problem["type"].endswith("/invalid-import")
    assert [(e["line"], e["field"]) for e in problem["errors"]] == [
        (3, "customer_number"), (6, "priority")]
    assert "C-NOPE" in problem["errors"][0]["message"]
    assert "line(s) 3, 6" in problem["detail"]
    session.expire_all()
    assert (count(session, ServiceOrder), count(session, OrderHistory)) == before
    # The numbers the good rows took were handed back: the next order gets the first one.
    res = _upload(client, auth("dispatcher"), "customer_number\nC-IMP-2\n")
    assert res.status_code == 201
    assert res.json()["numbers"] == ["2026-000001"]


def test_a_file_with_unknown_columns_or_no_rows_is_refused(client, auth, session):
    h = auth("billing")
    res = _upload(client, h, "customer_number,colour\nC-1,red\n")
    assert res.status_code == 422 and res.json()["errors"][0]["line"] == 1
    assert _upload(client, h, "customer_number\n").status_code == 422
    assert _upload(client, h, "").status_code == 422
    res = client.post("/imports/orders", headers=h,
                      files={"file": ("x.csv", b"\xff\xfe\x00bad", "text/csv")})
    assert res.status_code == 422
    assert count(session, ServiceOrder) == 0
    assert _upload(client, auth("technician"), GOOD).status_code == 403

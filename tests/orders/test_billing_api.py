"""Closing, invoices, credit notes, claims and printouts over HTTP."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from orders.billing.models import Invoice
from orders.models import ServiceOrder
from tests.factories import (
    make_customer,
    make_invoice,
    make_line,
    make_order,
    make_product,
    make_site,
    make_technician,
)
from tests.orders.billing_world import completed_order, invoices, pay, pdf_text
from tests.orders.world import count

PAYMENTS = [{"method": "pix", "amount": "1000.00"},
            {"method": "on_account", "amount": "496.62", "due_date": "2026-04-01"}]


def _close(client, headers, order_id, version, payments=PAYMENTS, **extra):
    body = {"discount_percent": "10", "payments": payments} | extra
    return client.post(f"/orders/{order_id}/close", json=body,
                       headers=headers | {"If-Match": f'"{version}"'})


def test_closing_over_http_answers_with_the_invoice(client, auth, session):
    order = completed_order(session)
    session.commit()
    h = auth("billing")
    res = _close(client, h, order.id, order.version)
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["full_number"] == "INV-000001"
    assert (body["subtotal"], body["discount"], body["net"], body["vat"], body["total"]) == (
        "1472.30", "147.23", "1325.07", "171.55", "1496.62")
    assert [p["method"] for p in body["payments"]] == ["pix", "on_account"]
    assert body["payments"][1]["due_date"] == "2026-04-01"
    assert [x["total"] for x in body["lines"]] == ["955.80", "0.00", "540.82"]
    order_now = client.get(f"/orders/{order.id}", headers=h).json()
    assert order_now["status"] == "closed" and order_now["version"] == order.version + 1
    assert client.get(f"/invoices/{body['id']}", headers=h).json() == body


def test_closing_payments_short_is_a_422_and_nothing_changes(client, auth, session):
    order = completed_order(session)
    session.commit()
    payments = [{"method": "pix", "amount": "1000.00"}, {"method": "card", "amount": "96.62"}]
    res = _close(client, auth("billing"), order.id, order.version, payments=payments)
    assert res.status_code == 422
    problem = res.json()
    assert res.headers["content-type"].startswith("application/problem+json")
    assert problem["type"].endswith("/payments-do-not-add-up")
    assert (problem["amount_due"], problem["paid"], problem["missing"]) == (
        "1496.62", "1096.62", "400.00")
    session.expire_all()
    assert session.get(ServiceOrder, order.id).status == "completed"
    assert session.get(ServiceOrder, order.id).version == order.version
    assert invoices(session) == 0


def test_closing_twice_a_stale_version_and_an_unknown_order_are_clear_errors(
        client, auth, session):
    order = completed_order(session)
    session.commit()
    h = auth("billing")
    stale = _close(client, h, order.id, order.version - 1)
    assert stale.status_code == 409 and stale.json()["type"].endswith("/stale-version")
    assert _close(client, h, order.id, order.version).status_code == 201
    twice = _close(client, h, order.id, order.version + 1)
    assert twice.status_code == 409
    assert twice.json()["type"].endswith("/order-not-closable")
    assert twice.json()["current"] == "closed"
    assert _close(client, h, 999_999, 1).status_code == 404
    missing = client.post(f"/orders/{order.id}/close", json={"payments": PAYMENTS}, headers=h)
    assert missing.status_code == 428
    assert invoices(session) == 1


def test_only_billing_closes_orders(client, auth, session):
    order = completed_order(session)
    session.commit()
    res = _close(client, auth("dispatcher"), order.id, order.version)
    assert res.status_code == 403
    assert invoices(session) == 0


def test_bad_discounts_and_payments_are_refused_by_shape(client, auth, session):
    order = completed_order(session)
    session.commit()
    h = auth("billing")
    over = _close(client, h, order.id, order.version, discount_percent="100.5")
    assert over.status_code == 422 and over.json()["field"] == "discount_percent"
    both = _close(client, h, order.id, order.version, discount_amount="10.00")
    assert both.status_code == 422
    negative = _close(client, h, order.id, order.version,
                      payments=[{"method": "cash", "amount": "-1"}])
    assert negative.status_code == 422 and negative.json()["field"] == "payments.0.amount"
    unknown = _close(client, h, order.id, order.version,
                     payments=[{"method": "cheque", "amount": "1496.62"}])
    assert unknown.status_code == 422
    assert invoices(session) == 0


def test_a_retried_close_with_the_same_key_returns_the_first_invoice(client, auth, session):
    order = completed_order(session)
    session.commit()
    h = auth("billing") | {"Idempotency-Key": "close-1"}
    first = _close(client, h, order.id, order.version)
    again = _close(client, h, order.id, order.version)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert invoices(session) == 1


def test_invoices_are_listed_newest_first_with_filters_and_cursors(client, auth, session):
    customer = make_customer(session)
    # Orders without lines close with nothing due.
    mine = [make_invoice(session, order=make_order(session, customer=customer,
                                                   status="completed", with_item=False))
            for _ in range(2)]
    other = make_invoice(session)
    session.commit()
    h = auth("billing")
    page = client.get("/invoices", params={"limit": 2}, headers=h).json()
    assert [x["id"] for x in page["items"]] == [other.id, mine[1].id]
    rest = client.get("/invoices", params={"limit": 2, "cursor": page["next_cursor"]},
                      headers=h).json()
    assert [x["id"] for x in rest["items"]] == [mine[0].id] and rest["next_cursor"] is None
    only = client.get("/invoices", params={"customer_id": customer.id}, headers=h).json()
    assert [x["id"] for x in only["items"]] == [mine[1].id, mine[0].id]
    assert client.get("/invoices", params={"kind": "credit_note"},
                      headers=h).json()["items"] == []
    assert client.get("/invoices", params={"cursor": "!!"}, headers=h).status_code == 422
    assert client.get("/invoices/999999", headers=h).status_code == 404


def test_there_is_no_way_to_change_an_invoice_over_http(client, auth, session):
    invoice = make_invoice(session)
    session.commit()
    h = auth("admin")
    for method in ("PATCH", "PUT", "DELETE"):
        res = client.request(method, f"/invoices/{invoice.id}", json={"total": "1"}, headers=h)
        assert res.status_code == 405


LANGUAGES = [
    # language, currency, 1234.56 as Babel writes it there, order title, invoice title
    ("pt_BR", "BRL", "R$ 1.234,56", "Ordem de serviço", "Fatura"),
    ("da", "DKK", "1.234,56 kr.", "Serviceordre", "Faktura"),
    ("it", "EUR", "1.234,56 €", "Ordine di servizio", "Fattura"),
    ("en", "USD", "$1,234.56", "Service order", "Invoice"),
]


@pytest.mark.parametrize(("lang", "currency", "amount", "order_title", "invoice_title"),
                         LANGUAGES)
def test_printouts_come_in_the_customers_language(client, auth, session, lang, currency,
                                                  amount, order_title, invoice_title):
    customer = make_customer(session, locale=lang, currency=currency)
    order = make_order(session, customer=customer, status="completed",
                       site=make_site(session, customer=customer), with_item=False)
    make_line(session, order=order, quantity=D("2"), description="Compressor",
              product=make_product(session, unit_price=D("617.28"), vat_rate=D("0"),
                                   currency=currency))
    invoice = make_invoice(session, order=order)
    session.commit()
    h = auth("billing")
    res = client.get(f"/orders/{order.id}/printout", headers=h)
    assert res.status_code == 200 and res.headers["content-type"] == "application/pdf"
    assert f'filename="order-{order.number}.pdf"' in res.headers["content-disposition"]
    text = pdf_text(res.content)
    assert order_title in text and amount in text and "Compressor" in text
    res = client.get(f"/invoices/{invoice.id}/pdf", headers=h)
    assert res.status_code == 200
    text = pdf_text(res.content)
    assert invoice_title in text and amount in text and invoice.full_number in text


def test_a_printout_may_be_asked_for_in_another_language_or_as_html(client, auth, session):
    invoice = make_invoice(session, order=completed_order(session),
                           payments=pay(("cash", "1662.92")))
    session.commit()
    h = auth("billing")
    text = pdf_text(client.get(f"/invoices/{invoice.id}/pdf", params={"lang": "da"},
                               headers=h).content)
    assert "Faktura" in text and "1.662,92 R$" in text
    html = client.get(f"/invoices/{invoice.id}/html", headers=h)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert '<html lang="pt-BR">' in html.text and "Fatura" in html.text
    bad = client.get(f"/invoices/{invoice.id}/pdf", params={"lang": "tlh"}, headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "lang"
    page = client.get(f"/orders/{invoice.order_id}/printout",
                      params={"format": "html", "lang": "it"}, headers=auth("dispatcher"))
    assert page.status_code == 200 and "Firma del cliente" in page.text
    assert "Firma del tecnico" in page.text


def test_a_technician_prints_only_his_own_orders(client, auth, session):
    from dispatch.core.auth import User

    h = auth("technician", username="tom")
    tom = make_technician(session, user_id=session.query(User).filter_by(username="tom")
                          .one().id)
    mine = make_order(session, technician_id=tom.id)
    theirs = make_order(session)
    session.commit()
    assert client.get(f"/orders/{mine.id}/printout", headers=h).status_code == 200
    assert client.get(f"/orders/{theirs.id}/printout", headers=h).status_code == 404
    assert client.get("/invoices", headers=h).status_code == 403


def test_credit_notes_over_http_and_their_printout(client, auth, session):
    invoice = make_invoice(session, order=completed_order(session),
                           payments=pay(("cash", "1662.92")))
    session.commit()
    h = auth("billing")
    res = client.post(f"/invoices/{invoice.id}/credit-notes",
                      json={"line_ids": [invoice.lines[2].id], "reason": "travel not agreed"},
                      headers=h)
    assert res.status_code == 201, res.text
    note = res.json()
    assert (note["kind"], note["full_number"], note["total"]) == (
        "credit_note", "CN-000001", "600.92")
    text = pdf_text(client.get(f"/invoices/{note['id']}/pdf", headers=h).content)
    assert "Nota de crédito" in text and "Referente à fatura INV-000001" in text
    assert "R$ 600,92" in text and "travel not agreed" in text
    again = client.post(f"/invoices/{invoice.id}/credit-notes",
                        json={"line_ids": [invoice.lines[2].id], "reason": "again"}, headers=h)
    assert again.status_code == 409
    empty = client.post(f"/invoices/{invoice.id}/credit-notes", json={"reason": ""}, headers=h)
    assert empty.status_code == 422
    assert count(session, Invoice) == 2


def test_re_invoicing_over_http(client, auth, session):
    invoice = make_invoice(session)
    holding = make_customer(session, legal_name="Holding S.A.")
    session.commit()
    res = client.post(f"/invoices/{invoice.id}/reissue",
                      json={"customer_id": holding.id, "reason": "billed to the holding"},
                      headers=auth("billing"))
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["credit_note"]["credited_invoice_id"] == invoice.id
    assert body["invoice"]["customer_id"] == holding.id
    assert body["invoice"]["total"] == body["credit_note"]["total"] == "59.00"


def test_a_warranty_claim_over_http_is_printed_for_the_supplier(client, auth, session):
    order = completed_order(session)
    supplier_id = order.service_items[0].supplier_id
    make_invoice(session, order=order, payments=pay(("cash", "1662.92")))
    session.commit()
    h = auth("billing")
    res = client.post("/warranty-claims", json={"supplier_id": supplier_id,
                                                "order_ids": [order.id]}, headers=h)
    assert res.status_code == 201, res.text
    claim = res.json()
    assert claim["warranty_claim"] and claim["total"] == "94.40"
    text = pdf_text(client.get(f"/invoices/{claim['id']}/pdf", headers=h).content)
    assert "Fattura – Richiesta di garanzia" in text and "Fornitore" in text
    assert f"Righe in garanzia degli ordini di servizio {order.number}" in text
    assert "R$ 94,40" not in text and "94,40" in text
    again = client.post("/warranty-claims", json={"supplier_id": supplier_id}, headers=h)
    assert again.status_code == 409
    assert client.post("/warranty-claims", json={"supplier_id": 999_999},
                       headers=h).status_code == 404


def _company(app, name: str, **more) -> None:
    """The company of the settings from now on (what TECNICO_COMPANY_* configure)."""
    app.state.settings = app.state.settings.model_copy(update={"company_name": name} | more)


def _closed_order_invoice(client, session, headers) -> dict:
    order = completed_order(session)
    session.commit()
    res = _close(client, headers, order.id, order.version)
    assert res.status_code == 201, res.text
    return res.json()


def test_the_invoice_names_its_issuer_from_the_settings(client, auth, session, app):
    _company(app, "Refrigeração Paulista Ltda", company_tax_id="11222333000181",
             company_address="Rua Lopes Chaves, 120|01154-010 São Paulo", company_country="BR")
    h = auth("billing")
    invoice = _closed_order_invoice(client, session, h)
    assert (invoice["issuer_name"], invoice["issuer_tax_id"], invoice["issuer_country"],
            invoice["issuer_address"]) == ("Refrigeração Paulista Ltda", "11222333000181", "BR",
                                           "Rua Lopes Chaves, 120\n01154-010 São Paulo")
    text = pdf_text(client.get(f"/invoices/{invoice['id']}/pdf", headers=h).content)
    assert "Emitente" in text and "Refrigeração Paulista Ltda" in text
    assert "CNPJ: 11222333000181" in text and "Rua Lopes Chaves, 120" in text
    html = client.get(f"/invoices/{invoice['id']}/html", params={"lang": "en"}, headers=h).text
    assert "Issued by" in html and "Refrigeração Paulista Ltda" in html


def test_an_issued_invoice_keeps_the_issuer_it_was_issued_with(client, auth, session, app):
    _company(app, "Refrigeração Paulista Ltda", company_tax_id="11222333000181",
             company_address="Rua Lopes Chaves, 120|01154-010 São Paulo", company_country="BR")
    h = auth("billing")
    first = _closed_order_invoice(client, session, h)
    _company(app, "Frio Sul Climatização S.A.", company_tax_id="DE136695976",
             company_address="Via Roma 1|10121 Torino", company_country="IT")

    again = client.get(f"/invoices/{first['id']}", headers=h).json()
    assert again == first and again["issuer_name"] == "Refrigeração Paulista Ltda"
    text = pdf_text(client.get(f"/invoices/{first['id']}/pdf", headers=h).content)
    assert "Refrigeração Paulista Ltda" in text and "CNPJ: 11222333000181" in text
    assert "Rua Lopes Chaves, 120" in text
    assert "Frio Sul" not in text and "DE136695976" not in text and "Torino" not in text
    html = client.get(f"/invoices/{first['id']}/html", headers=h).text
    assert "Refrigeração Paulista Ltda" in html and "Frio Sul" not in html

    # What is issued from now on names the company as it is now.
    second = _closed_order_invoice(client, session, h)
    assert second["issuer_name"] == "Frio Sul Climatização S.A."
    text = pdf_text(client.get(f"/invoices/{second['id']}/pdf", headers=h).content)
    assert "Frio Sul Climatização S.A." in text and "Torino" in text
    assert "Refrigeração Paulista" not in text


def test_an_invoice_issued_without_a_company_never_gains_an_issuer(client, auth, session, app):
    h = auth("billing")
    invoice = _closed_order_invoice(client, session, h)
    assert invoice["issuer_name"] is None and invoice["issuer_address"] is None
    _company(app, "Refrigeração Paulista Ltda")
    text = pdf_text(client.get(f"/invoices/{invoice['id']}/pdf", headers=h).content)
    assert "Emitente" not in text and "Refrigeração Paulista" not in text
    assert client.get(f"/invoices/{invoice['id']}", headers=h).json()["issuer_name"] is None

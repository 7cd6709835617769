"""The whole way over HTTP, as the back office goes it: master data, a customer's request,
the order, parts and time, the work done, closing with two payments, the invoice, the PDF."""

from __future__ import annotations

from tests.orders.billing_world import pdf_text


def _post(client, url, headers, body, status=201):
    res = client.post(url, json=body, headers=headers)
    assert res.status_code == status, (url, res.text)
    return res.json()


def test_request_to_order_to_invoice_to_pdf_over_http(client, auth):
    desk = auth("dispatcher")
    billing = auth("billing")

    # Master data the back office keeps.
    labour = _post(client, "/labour-types", desk, {
        "code": "onsite", "name": "Técnico em campo", "hourly_rate": "354",
        "vat_rate": "5", "currency": "BRL"})
    group = _post(client, "/item-groups", desk, {
        "code": "freezers", "name": "Freezers", "default_labour_type_id": labour["id"]})
    compressor = _post(client, "/products", desk, {
        "sku": "CMP-12", "name": "Compressor 12V", "unit_price": "500.00", "vat_rate": "18",
        "currency": "BRL"})
    customer = _post(client, "/customers", desk, {
        "legal_name": "Padaria Estrela Ltda", "tax_id": "11.222.333/0001-81", "country": "BR",
        "locale": "pt_BR", "currency": "BRL", "address": "Av. Paulista 1000",
        "postal_code": "01310-100", "city": "São Paulo"})
    site = _post(client, "/sites", desk, {
        "customer_id": customer["id"], "name": "Loja Centro", "address": "Rua Augusta 10",
        "city": "São Paulo", "country": "BR", "latitude": -23.5558, "longitude": -46.6623})
    item = _post(client, "/service-items", desk, {
        "site_id": site["id"], "item_group_id": group["id"], "model": "Freezer FX-200",
        "serial_number": "SN00001234"})
    tech = _post(client, "/technicians", desk, {"name": "João Ørsted", "currency": "BRL"})

    # The customer calls; the request becomes an order.
    request = _post(client, "/service-requests", desk, {
        "customer_id": customer["id"], "site_id": site["id"], "service_item_id": item["id"],
        "description": "Freezer não gela", "priority": "high", "channel": "phone"})
    order = _post(client, f"/service-requests/{request['id']}/convert", desk,
                  {"category": "repair"})
    oid = order["id"]
    assert order["status"] == "open" and order["request_id"] == request["id"]

    # Parts and time.
    _post(client, f"/orders/{oid}/lines", desk, {
        "kind": "part", "product_id": compressor["id"], "quantity": "2",
        "discount_percent": "10", "technician_id": tech["id"]})
    _post(client, f"/orders/{oid}/time-entries", desk, {
        "technician_id": tech["id"], "activity": "on_site", "labour_type_id": labour["id"],
        "started_at": "2026-03-02T13:00:00Z", "ended_at": "2026-03-02T14:37:00Z"})

    # The work is done.
    for status in ("ready", "in_progress", "completed"):
        _post(client, f"/orders/{oid}/transitions", desk, {"to": status}, status=200)

    # Billing closes it: 10 % off, then PIX and card.
    res = client.get(f"/orders/{oid}", headers=billing)
    assert res.json()["status"] == "completed"
    # 2 x 500.00 - 10 % = 900.00 (VAT 18 %) and 97 min at 354/h = 572.30 (VAT 5 %);
    # 10 % off 1472.30 = 147.23 -> VAT 145.80 + 25.75 -> total 1496.62.
    close = client.post(f"/orders/{oid}/close", headers=billing | {"If-Match": res.headers["etag"]},
                        json={"discount_percent": "10", "payments": [
                            {"method": "pix", "amount": "1000.00"},
                            {"method": "card", "amount": "496.62", "reference": "NSU 8841"}]})
    assert close.status_code == 201, close.text
    invoice = close.json()
    assert invoice["full_number"] == "INV-000001"
    assert (invoice["net"], invoice["vat"], invoice["total"]) == ("1325.07", "171.55",
                                                                  "1496.62")
    assert invoice["bill_to_tax_id"] == "11.222.333/0001-81"

    closed = client.get(f"/orders/{oid}", headers=desk).json()
    assert closed["status"] == "closed"
    history = client.get(f"/orders/{oid}/history", headers=desk).json()
    assert (history[-1]["from_status"], history[-1]["to_status"]) == ("completed", "closed")
    assert "INV-000001" in history[-1]["note"]

    # The invoice as the customer receives it, in his language.
    pdf = client.get(f"/invoices/{invoice['id']}/pdf", headers=billing)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    for expected in ("Fatura", "INV-000001", "Padaria Estrela Ltda", "11.222.333/0001-81",
                     "Compressor 12V", "No local · João Ørsted · 02/03/2026 · 97 min",
                     "Desconto -R$ 147,23", "Valor a pagar R$ 1.496,62", "PIX R$ 1.000,00",
                     "Cartão R$ 496,62", f"Ordem de serviço {order['number']}"):
        assert expected in text, expected

    # And the order's printout to sign.
    sheet = pdf_text(client.get(f"/orders/{oid}/printout", headers=desk).content)
    for expected in ("Ordem de serviço", order["number"], "Encerrada", "Freezer não gela",
                     "Freezer FX-200 · SN00001234", "Assinatura do cliente",
                     "Assinatura do técnico", "Total R$ 1.496,62", "Concluída em"):
        assert expected in sheet, expected

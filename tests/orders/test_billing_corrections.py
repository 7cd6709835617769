"""Corrections are documents too: credit notes, re-invoicing, and warranty claims."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import select

from orders.billing.errors import (
    InvalidCreditNote,
    NothingToClaim,
    NothingToCredit,
    SupplierNotFound,
)
from orders.billing.models import Invoice
from orders.billing.service import claim_warranty, credit_invoice, reissue_invoice
from orders.models import OrderHistory, OrderLine
from tests.factories import (
    T0,
    make_customer,
    make_invoice,
    make_line,
    make_order,
    make_product,
    make_service_item,
    make_supplier,
)
from tests.orders.billing_world import completed_order, pay


def test_a_full_credit_note_mirrors_the_invoice_and_leaves_it_untouched(session):
    invoice = make_invoice(session, order=completed_order(session),
                           payments=pay(("cash", "1662.92")))
    note = credit_invoice(session, invoice_id=invoice.id, reason="wrong customer",
                          user_id=None, now=T0)
    assert note.kind == "credit_note" and note.full_number == "CN-000001"
    assert note.credited_invoice_id == invoice.id and note.order_id == invoice.order_id
    assert (note.net, note.vat, note.total) == (invoice.net, invoice.vat, invoice.total)
    assert [x.credited_line_id for x in note.lines] == [x.id for x in invoice.lines]
    assert note.note == "wrong customer" and note.bill_to_name == invoice.bill_to_name
    session.expire_all()
    again = session.get(Invoice, invoice.id)
    assert again.total == D("1662.92") and again.kind == "invoice"
    with pytest.raises(NothingToCredit):
        credit_invoice(session, invoice_id=invoice.id, reason="again", user_id=None, now=T0)


def test_a_credit_note_by_lines_credits_each_line_once(session):
    invoice = make_invoice(session, order=completed_order(session),
                           payments=pay(("cash", "1662.92")))
    first, _warranty, time = invoice.lines
    note = credit_invoice(session, invoice_id=invoice.id, line_ids=[time.id],
                          reason="travel not agreed", user_id=None, now=T0)
    # 572.30 + 5 % VAT (28.62)
    assert (note.net, note.vat, note.total) == (D("572.30"), D("28.62"), D("600.92"))
    with pytest.raises(NothingToCredit):
        credit_invoice(session, invoice_id=invoice.id, line_ids=[time.id], reason="x",
                       user_id=None, now=T0)
    rest = credit_invoice(session, invoice_id=invoice.id, reason="the rest", user_id=None,
                          now=T0)
    assert [x.credited_line_id for x in rest.lines] == [first.id, _warranty.id]
    assert rest.full_number == "CN-000002"
    assert note.total + rest.total == invoice.total


def test_credit_notes_refuse_foreign_lines_and_credit_notes(session):
    invoice = make_invoice(session)
    other = make_invoice(session)
    with pytest.raises(InvalidCreditNote) as err:
        credit_invoice(session, invoice_id=invoice.id, line_ids=[other.lines[0].id],
                       reason="x", user_id=None, now=T0)
    assert err.value.field == "line_ids"
    note = credit_invoice(session, invoice_id=invoice.id, reason="x", user_id=None, now=T0)
    with pytest.raises(InvalidCreditNote):
        credit_invoice(session, invoice_id=note.id, reason="x", user_id=None, now=T0)


def test_re_invoicing_to_another_tax_id_is_a_credit_note_plus_a_new_invoice(session):
    order = completed_order(session)
    invoice = make_invoice(session, order=order, payments=pay(("cash", "1662.92")))
    holding = make_customer(session, legal_name="Estrela Holding S.A.",
                            tax_id="11444777000161")
    credit, new = reissue_invoice(session, invoice_id=invoice.id, customer_id=holding.id,
                                  reason="billed to the holding", user_id=None, now=T0)
    assert credit.full_number == "CN-000001" and credit.total == invoice.total
    assert new.full_number == "INV-000002" and new.kind == "invoice"
    assert new.customer_id == holding.id and new.bill_to_tax_id == "11.444.777/0001-61"
    assert new.total == invoice.total and len(new.lines) == 3
    assert new.order_id == order.id and "INV-000001" in new.note
    events = session.scalars(select(OrderHistory.event).where(OrderHistory.order_id == order.id))
    assert "reinvoiced" in list(events)
    with pytest.raises(NothingToCredit):
        reissue_invoice(session, invoice_id=invoice.id, customer_id=holding.id, reason="x",
                        user_id=None, now=T0)


def test_re_invoicing_needs_the_same_currency(session):
    invoice = make_invoice(session)
    danish = make_customer(session, country="DK", tax_id="13585628", currency="DKK",
                           locale="da")
    with pytest.raises(InvalidCreditNote) as err:
        reissue_invoice(session, invoice_id=invoice.id, customer_id=danish.id, reason="x",
                        user_id=None, now=T0)
    assert err.value.field == "customer_id"
    assert session.scalars(select(Invoice).where(Invoice.kind == "credit_note")).all() == []


def test_warranty_lines_of_closed_orders_are_invoiced_to_their_supplier_once(session):
    order = completed_order(session)  # its item's supplier owes the thermostat
    supplier_id = order.service_items[0].supplier_id
    make_invoice(session, order=order, payments=pay(("cash", "1662.92")))
    claim = claim_warranty(session, supplier_id=supplier_id, user_id=None, now=T0)
    assert claim.supplier_id == supplier_id and claim.customer_id is None
    assert claim.warranty_claim and claim.full_number == "INV-000002"
    assert claim.locale == "it" and claim.currency == "BRL"
    # 1 x 80.00 + 18 % VAT
    assert (claim.net, claim.vat, claim.total) == (D("80.00"), D("14.40"), D("94.40"))
    assert [x.description for x in claim.lines] == [f"{order.number}: Thermostat"]
    line = session.get(OrderLine, claim.lines[0].order_line_id)
    assert line.claimed_invoice_id == claim.id
    assert claim.order_id == order.id
    with pytest.raises(NothingToClaim):
        claim_warranty(session, supplier_id=supplier_id, user_id=None, now=T0)


def test_warranty_lines_of_open_orders_and_of_other_suppliers_are_not_claimed(session):
    supplier, other = make_supplier(session), make_supplier(session)
    open_order = make_order(session, status="completed",
                            service_item=make_service_item(session, supplier=supplier))
    make_line(session, order=open_order, warranty=True, price_rule="warranty")
    part_of_other = make_product(session, supplier_id=other.id, unit_price=D("10.00"))
    closed = make_order(session, status="completed")  # its item has no supplier
    make_line(session, order=closed, warranty=True, price_rule="warranty",
              product=part_of_other)
    make_invoice(session, order=closed, payments=[])
    with pytest.raises(NothingToClaim):
        claim_warranty(session, supplier_id=supplier.id, user_id=None, now=T0)
    with pytest.raises(NothingToClaim) as err:
        claim_warranty(session, supplier_id=supplier.id, order_ids=[open_order.id],
                       user_id=None, now=T0)
    assert open_order.number in err.value.detail
    claim = claim_warranty(session, supplier_id=other.id, user_id=None, now=T0)
    assert claim.total == D("11.80")  # the part's own supplier: 10.00 + 18 %
    with pytest.raises(SupplierNotFound):
        claim_warranty(session, supplier_id=999_999, user_id=None, now=T0)

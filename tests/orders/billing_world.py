"""Orders ready for closing, with hand-computable amounts, for the billing tests."""

from __future__ import annotations

import io
from decimal import Decimal as D

from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orders.billing.models import Invoice
from orders.billing.schemas import PaymentIn
from orders.models import ServiceOrder
from tests.factories import (
    make_customer,
    make_line,
    make_order,
    make_product,
    make_service_item,
    make_site,
    make_supplier,
    make_technician,
    make_time_entry,
)


def completed_order(session: Session, **order_fields) -> ServiceOrder:
    """A completed order for a Brazilian customer:

    - 2 x Compressor at 500.00 less 10 % = 900.00, VAT 18 %
    - 1 x Thermostat at 80.00 under warranty (the customer pays nothing), VAT 18 %
    - 97 minutes on site at R$354/h = 572.30, VAT 5 %

    Without an order discount: net 1472.30, VAT 162.00 + 28.62, total 1662.92.
    """
    customer = make_customer(session, legal_name="Padaria Estrela Ltda")
    site = make_site(session, customer=customer)
    item = make_service_item(session, customer=customer, site=site,
                             supplier=make_supplier(session))
    order = make_order(session, customer=customer, site=site, service_item=item,
                       status="completed", **order_fields)
    make_line(session, order=order, description="Compressor", quantity=D("2"),
              discount_percent=D("10"),
              product=make_product(session, unit_price=D("500.00"), vat_rate=D("18")))
    make_line(session, order=order, description="Thermostat", warranty=True,
              price_rule="warranty", service_item_id=item.id,
              product=make_product(session, unit_price=D("80.00"), vat_rate=D("18")))
    make_time_entry(session, order=order, minutes=97, vat_rate=D("5"),
                    technician=make_technician(session, name="João Ørsted"))
    session.flush()
    session.refresh(order)
    return order


def invoices(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Invoice))


def pay(*items: tuple) -> list[PaymentIn]:
    return [PaymentIn(method=m, amount=D(a), due_date=d[0] if d else None) for m, a, *d in items]


def pdf_text(data: bytes) -> str:
    """All text of a PDF with any run of whitespace (incl. no-break spaces) as one space."""
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return squash(" ".join(page.extract_text() for page in reader.pages))


def squash(value: str) -> str:
    return " ".join(value.split())

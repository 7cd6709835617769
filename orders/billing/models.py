"""Invoices, credit notes, their lines, and payments.

An invoice is a snapshot: who issued it and who it is billed to (name, tax
id, address), in which language and zone it is printed, and every amount,
copied at issue time so that later edits of the company settings, the
customer or the catalogue never change a document already sent. Issued invoices and their lines are immutable (the
mapper events below refuse any UPDATE or DELETE); a correction is a credit
note, and re-invoicing to another tax id is a credit note plus a new invoice.

Amounts are rounded to the invoice's currency and stored as
``ScaledDecimal(4)`` (room for three-digit currencies); credit notes carry
positive amounts, their ``kind`` says they count against the invoice they
credit.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from dispatch.core.db import Base, ScaledDecimal, UTCDateTime
from orders.billing.errors import InvoiceImmutable


class InvoiceKind(StrEnum):
    invoice = "invoice"
    credit_note = "credit_note"


class PaymentMethod(StrEnum):
    cash = "cash"
    card = "card"
    pix = "pix"
    bank_transfer = "bank_transfer"
    # Paid later; needs a due date.
    on_account = "on_account"


class Invoice(Base):
    """An issued invoice or credit note, numbered gap-free per series."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("series", "number"),
        CheckConstraint("(customer_id IS NULL) <> (supplier_id IS NULL)", name="one_recipient"),
        CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind_known"),
        CheckConstraint(
            "(kind = 'credit_note') = (credited_invoice_id IS NOT NULL)",
            name="credit_note_credits_an_invoice",
        ),
        # Plan decision 4: a contract's period is invoiced once, even when two invoicing
        # runs race (the loser's insert fails and is taken as "already invoiced").
        UniqueConstraint("contract_id", "period_start", "kind"),
        CheckConstraint("(period_start IS NULL) = (period_end IS NULL)", name="period_complete"),
        CheckConstraint("period_start IS NULL OR contract_id IS NOT NULL",
                        name="period_of_a_contract"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(String(20))
    number: Mapped[int] = mapped_column(Integer)
    # "INV-000123": what people read and quote.
    full_number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(12), index=True)
    # The order closed by this invoice (and, for a credit note, the credited invoice's order);
    # None for warranty claims, which may gather lines of several orders.
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_orders.id"), nullable=True, index=True
    )
    # Exactly one recipient: a customer, or a supplier (warranty claims).
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id"), nullable=True, index=True
    )
    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("suppliers.id"), nullable=True, index=True
    )
    bill_to_name: Mapped[str] = mapped_column(String(200))
    bill_to_tax_id: Mapped[str] = mapped_column(String(40), default="")
    bill_to_country: Mapped[str] = mapped_column(String(2), default="")
    # Postal address lines joined by newlines.
    bill_to_address: Mapped[str] = mapped_column(Text, default="")
    # The issuer (settings.company_*) as configured when the document was issued; all None
    # when no company name was configured then (the document prints no issuer).
    issuer_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    issuer_tax_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Names the tax id on the printout ("CNPJ").
    issuer_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    # Postal address lines joined by newlines.
    issuer_address: Mapped[str | None] = mapped_column(Text, nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    # The recipient's language and the zone dates are printed in (the site's).
    locale: Mapped[str] = mapped_column(String(10))
    timezone: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # subtotal - discount = net; net + vat = total.
    subtotal: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    discount: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    net: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    vat: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    total: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    # The order's discount as entered (a percent or an amount), for the record.
    discount_percent: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), nullable=True)
    credited_invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id"), nullable=True, index=True
    )
    # Seed 004: "the invoice says so" when a product defect waived the time charges.
    time_charges_waived: Mapped[bool] = mapped_column(Boolean, default=False)
    # Free text printed on the document, e.g. a credit note's reason.
    note: Mapped[str] = mapped_column(Text, default="")
    # Contract invoicing (orders.billing.contract_invoicing): the contract billed, and for a
    # period's prepaid invoice its days (both inclusive). Adjustments of a period (an item
    # added or removed mid-period) name the contract but no period.
    contract_id: Mapped[int | None] = mapped_column(
        ForeignKey("contracts.id"), nullable=True, index=True
    )
    period_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    period_end: Mapped[date | None] = mapped_column(Date, nullable=True)

    # passive_deletes="all": never touch the children when an invoice is deleted, so the
    # before_delete guard below is what answers (an invoice is never deleted).
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", passive_deletes="all"
    )
    payments: Mapped[list[Payment]] = relationship(
        back_populates="invoice", order_by="Payment.id", passive_deletes="all"
    )
    credited_invoice: Mapped[Invoice | None] = relationship(remote_side=[id])

    @property
    def warranty_claim(self) -> bool:
        return self.supplier_id is not None


class InvoiceLine(Base):
    """One charged part, service or time entry (or, on a credit note, the line it credits).

    ``value`` is quantity x unit price less the line discount (0 for a
    customer's warranty line); ``order_discount`` is this line's share of the
    order-level discount; ``net = value - order_discount`` is taxed at
    ``vat_rate``: ``vat = quantize(net * vat_rate / 100)``, ``total = net + vat``.
    """

    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(ScaledDecimal(3))
    unit_price: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    discount_percent: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    value: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    order_discount: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    net: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    vat: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    total: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    warranty: Mapped[bool] = mapped_column(Boolean, default=False)
    order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("order_lines.id"), nullable=True, index=True
    )
    time_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("time_entries.id"), nullable=True, index=True
    )
    # On a credit note: the invoice line it credits (each line is credited at most once).
    credited_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoice_lines.id"), nullable=True, unique=True
    )

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class Payment(Base):
    """One payment method used when closing an order; ``on_account`` is paid by ``due_date``."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("method <> 'on_account' OR due_date IS NOT NULL",
                        name="on_account_has_due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_orders.id"), nullable=True, index=True
    )
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # When the money came in; None while an on-account payment is outstanding.
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The payment terminal's or bank's reference, if any.
    reference: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    invoice: Mapped[Invoice] = relationship(back_populates="payments")


def _refuse_change(_mapper: Any, _connection: Any, target: Invoice | InvoiceLine) -> None:
    session = object_session(target)
    if session is not None and not session.is_modified(target, include_collections=False):
        return  # flushed for a relationship only; the row itself is untouched
    what = target.full_number if isinstance(target, Invoice) else f"line {target.id}"
    raise InvoiceImmutable(
        f"invoice {what} is issued and cannot change; issue a credit note instead"
    )


def _refuse_delete(_mapper: Any, _connection: Any, target: Invoice | InvoiceLine) -> None:
    raise InvoiceImmutable("issued invoices and their lines cannot be deleted; "
                           "issue a credit note instead")


for _model in (Invoice, InvoiceLine):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_delete)

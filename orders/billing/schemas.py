"""Pydantic shapes of closing, invoices, credit notes, warranty claims and imports.

Form only (signs, digits, enum values); the service checks meaning (the
amount due, states, references). Decimals leave as strings ("1334.56").
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from contracts.masterdata.schemas import Page, format_decimal
from dispatch.core.money import quantize
from orders.billing.models import PaymentMethod

__all__ = ["Page"]

_Out = PlainSerializer(format_decimal, return_type=str, when_used="json")
# Amounts rounded to the currency keep exactly their digits ("11.80").
_Exact = PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json")

Amount = Annotated[Decimal, _Exact]
OutDecimal = Annotated[Decimal, _Out]
MoneyIn = Annotated[Decimal, Field(max_digits=16, decimal_places=4)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PaymentIn(BaseModel):
    method: PaymentMethod
    amount: MoneyIn = Field(gt=0)
    due_date: date | None = Field(None, description="required for on_account, else not given")
    reference: Annotated[str, Field(max_length=100)] = ""


class CloseOrder(BaseModel):
    """The order-level discount (a percent or an amount, off the net before VAT) and the
    payments, which must add up exactly to the amount due after the discount."""

    discount_percent: Annotated[Decimal, Field(ge=0, le=100, max_digits=5,
                                               decimal_places=2)] | None = None
    discount_amount: Annotated[MoneyIn, Field(ge=0)] | None = None
    payments: list[PaymentIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _one_discount(self) -> CloseOrder:
        if self.discount_percent is not None and self.discount_amount is not None:
            raise ValueError("give discount_percent or discount_amount, not both")
        return self


class CreditNoteCreate(BaseModel):
    line_ids: list[int] | None = Field(
        None, min_length=1, max_length=500,
        description="invoice lines to credit (each in full); omit to credit everything "
                    "not credited yet")
    reason: Reason


class ReissueCreate(BaseModel):
    """Re-invoicing to another legal entity: a full credit note plus a new invoice."""

    customer_id: int
    reason: Reason


class WarrantyClaimCreate(BaseModel):
    supplier_id: int
    order_ids: list[int] | None = Field(
        None, min_length=1, max_length=500,
        description="only these closed orders; omit for every closed order with unclaimed "
                    "warranty lines of this supplier")


class InvoiceLineRead(_Read):
    id: int
    position: int
    description: str
    quantity: OutDecimal
    unit_price: OutDecimal
    discount_percent: OutDecimal
    vat_rate: OutDecimal
    value: Amount
    order_discount: Amount
    net: Amount
    vat: Amount
    total: Amount
    warranty: bool
    order_line_id: int | None
    time_entry_id: int | None
    credited_line_id: int | None


class PaymentRead(_Read):
    id: int
    order_id: int | None
    method: str
    amount: Amount
    due_date: date | None
    received_at: datetime | None
    reference: str


class InvoiceRead(_Read):
    id: int
    series: str
    number: int
    full_number: str
    kind: str
    order_id: int | None
    customer_id: int | None
    supplier_id: int | None
    warranty_claim: bool
    bill_to_name: str
    bill_to_tax_id: str
    bill_to_country: str
    bill_to_address: str
    # The company that issued the document, as configured then (None: none configured).
    issuer_name: str | None
    issuer_tax_id: str | None
    issuer_country: str | None
    issuer_address: str | None
    currency: str
    locale: str
    timezone: str
    issued_at: datetime
    issued_by_id: int | None
    subtotal: Amount
    discount: Amount
    discount_percent: OutDecimal | None
    net: Amount
    vat: Amount
    total: Amount
    credited_invoice_id: int | None
    time_charges_waived: bool
    note: str
    # A contract's invoice: the contract, and for a prepaid period its first and last day.
    contract_id: int | None = None
    period_start: date | None = None
    period_end: date | None = None
    lines: list[InvoiceLineRead]
    payments: list[PaymentRead]

    @model_validator(mode="after")
    def _to_currency(self) -> InvoiceRead:
        """Stored amounts keep four digits; show them with the currency's own."""
        q = lambda v: quantize(v, self.currency)  # noqa: E731
        for name in ("subtotal", "discount", "net", "vat", "total"):
            setattr(self, name, q(getattr(self, name)))
        for line in self.lines:
            for name in ("value", "order_discount", "net", "vat", "total"):
                setattr(line, name, q(getattr(line, name)))
        for payment in self.payments:
            payment.amount = q(payment.amount)
        return self


class ReissueRead(BaseModel):
    credit_note: InvoiceRead
    invoice: InvoiceRead


class ImportResult(BaseModel):
    imported: int
    order_ids: list[int]
    numbers: list[str]

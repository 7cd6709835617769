"""Pydantic shapes of orders under contracts: SLA lists, appointments, maintenance visits,
contract invoicing runs and profit and loss. Decimals leave as strings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, PlainSerializer

from orders.billing.schemas import InvoiceRead
from orders.schemas import OutDecimal

Amount = Annotated[Decimal, PlainSerializer(lambda v: format(v, "f"), return_type=str,
                                            when_used="json")]


# --- SLA -----------------------------------------------------------------------------------------


class SlaOrderRead(BaseModel):
    order_id: int
    number: str
    status: str
    priority: str
    customer_id: int
    customer_name: str
    contract_id: int | None
    response_due_at: datetime
    state: str = Field(description="at_risk or breached")
    remaining_minutes: int = Field(
        description="business minutes left in the covering contract line's calendar (else "
                    "the contract's); negative: past due")


# --- appointments --------------------------------------------------------------------------------


class AppointmentPropose(BaseModel):
    start: AwareDatetime = Field(description="the proposed visit time (in the future)")
    technician_id: int | None = Field(None, description="the technician who will go")


class ReleasedRead(BaseModel):
    order_id: int
    number: str
    appointment_start: datetime
    proposed_at: datetime
    deadline: datetime


class ReleaseResult(BaseModel):
    released: list[ReleasedRead]


# --- maintenance visits --------------------------------------------------------------------------


class GenerateVisits(BaseModel):
    until: date = Field(description="generate the visits due up to this day (inclusive)")


class GeneratedRead(BaseModel):
    order_id: int
    number: str
    contract_id: int
    contract_number: str
    contract_line_id: int
    due_date: date
    earliest: date
    latest: date


class SkippedLineRead(BaseModel):
    contract_id: int
    contract_number: str
    contract_line_id: int
    reason: str


class VisitRun(BaseModel):
    created: list[GeneratedRead]
    already_generated: int
    skipped: list[SkippedLineRead]


# --- contract invoicing --------------------------------------------------------------------------


class InvoiceContracts(BaseModel):
    until: date = Field(description="issue the periods starting up to this day (inclusive)")
    contract_id: int | None = Field(None, description="only this contract (409 if suspended)")


class SkippedRead(BaseModel):
    contract_id: int
    contract_number: str
    reason: str
    adjustment_id: int | None = None


class InvoiceRun(BaseModel):
    invoices: list[InvoiceRead] = Field(description="period invoices issued")
    adjustments: list[InvoiceRead] = Field(
        description="invoices (positive) and credit notes (negative) of prorated changes")
    already_invoiced: int = Field(description="due periods found invoiced already")
    skipped: list[SkippedRead]


# --- profit and loss -----------------------------------------------------------------------------


class PnlMonthRead(BaseModel):
    """Amounts net of VAT in the contract's currency; revenue = contract + extras, cost =
    parts + labour + travel, profit = revenue - cost."""

    month: str = Field(description="YYYY-MM")
    contract_revenue: Amount = Field(description="the contract's invoices (periods earned "
                                                 "by day), adjustments, less credit notes")
    extras_revenue: Amount = Field(description="invoices less credit notes of the orders "
                                               "served under the contract")
    revenue: Amount
    parts_cost: Amount = Field(description="parts at the cost recorded when used")
    labour_cost: Amount = Field(description="every minute logged, travel time included, at "
                                            "the technician's cost rate; service lines at "
                                            "the labour type's cost rate")
    travel_km: Amount = Field(description="kilometres driven (travel time entries' "
                                          "distance_km); a distance, not money")
    travel_cost: Amount = Field(description="travel_km at cost_per_km")
    cost: Amount
    profit: Amount


class PnlRead(BaseModel):
    contract_id: int
    contract_number: str
    currency: str
    from_: date = Field(serialization_alias="from")
    to: date
    cost_per_km: OutDecimal = Field(description="settings.travel_cost_per_km, in the currency")
    months: list[PnlMonthRead]
    totals: PnlMonthRead

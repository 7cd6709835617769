"""Pydantic shapes of calendars, price indexes, quotes and contracts on the API.

The shapes check form (signs, ranges, decimal places, enum values); the
service checks meaning (references that exist and belong together, dates in
order, states, overlapping coverage). Decimals leave as strings.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from contracts.lifecycle import allowed_targets
from contracts.masterdata.schemas import Page as Page  # re-exported: the API's page shape
from contracts.masterdata.schemas import format_decimal
from contracts.models import (
    PRIORITIES,
    BillingPeriod,
    Contract,
    ContractLine,
    ContractModality,
    ContractQuote,
    FrequencyUnit,
    QuoteLine,
    QuoteStatus,
    ServiceCalendar,
)

_Out = PlainSerializer(format_decimal, return_type=str, when_used="json")

# Amounts rounded to the currency: "70.97", "-38.71" (three digits where the currency has them).
Amount = Annotated[Decimal, _Out]
Price = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=4), _Out]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2), _Out]
Hours = Annotated[Decimal, Field(ge=0, le=10000, max_digits=7, decimal_places=2,
                                 description="business hours"), _Out]
IndexValue = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=6), _Out]
OutDecimal = Annotated[Decimal, _Out]
Title = Annotated[str, Field(min_length=1, max_length=200)]
ServiceLevel = Annotated[str, Field(max_length=60)]
Notes = Annotated[str, Field(max_length=5000)]
Currency = Annotated[str, Field(min_length=3, max_length=3, description="ISO 4217")]
IndexName = Annotated[str, Field(min_length=1, max_length=40,
                                 pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.\-/]*$",
                                 description='e.g. "IGP-M", "IPCA", "HICP-IT"')]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
NoticeDays = Annotated[int, Field(ge=0, le=3650)]
TermMonths = Annotated[int, Field(ge=1, le=120)]
LagMonths = Annotated[int, Field(ge=0, le=24)]

_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-01)?$")


def _month(value: Any) -> Any:
    """``"2026-02"`` or ``"2026-02-01"`` (or a date on the 1st) -> 2026-02-01."""
    if isinstance(value, datetime):
        raise ValueError("a month is YYYY-MM")
    if isinstance(value, date):
        if value.day != 1:
            raise ValueError("a month is YYYY-MM or its first day")
        return value
    if isinstance(value, str):
        m = _MONTH.match(value.strip())
        if m and 1 <= int(m.group(2)) <= 12:
            return date(int(m.group(1)), int(m.group(2)), 1)
    raise ValueError("a month is YYYY-MM or its first day (YYYY-MM-01)")


Month = Annotated[date, BeforeValidator(_month),
                  PlainSerializer(lambda d: f"{d:%Y-%m}", return_type=str, when_used="json")]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- calendars -------------------------------------------------------------------------------

Windows = Annotated[list[str], Field(max_length=12, description='["08:00-12:00", "13:30-17:30"]')]


class DateExceptionIn(BaseModel):
    day: date
    name: Annotated[str, Field(max_length=200)] = ""
    windows: Windows = Field(default_factory=list, description="empty: closed all day")


class CalendarCreate(BaseModel):
    code: Code
    name: Title
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"
    weekly: dict[str, Windows] = Field(
        default_factory=dict, description='{"mon": ["08:00-12:00"], ...}; missing days closed')
    country: Annotated[str, Field(min_length=2, max_length=2)] | None = None
    subdivision: Annotated[str, Field(min_length=1, max_length=10)] | None = None
    holiday_categories: list[str] = Field(default_factory=lambda: ["public"], max_length=10)
    exceptions: list[DateExceptionIn] = Field(default_factory=list, max_length=500)


class CalendarUpdate(BaseModel):
    name: Title | None = None
    timezone: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    weekly: dict[str, Windows] | None = None
    country: Annotated[str, Field(min_length=2, max_length=2)] | None = None
    subdivision: Annotated[str, Field(min_length=1, max_length=10)] | None = None
    holiday_categories: list[str] | None = Field(None, max_length=10)
    exceptions: list[DateExceptionIn] | None = Field(None, max_length=500)


class DateExceptionRead(BaseModel):
    day: date
    name: str
    windows: list[str]


class CalendarRead(BaseModel):
    id: int
    code: str
    name: str
    builtin: bool
    version: int
    timezone: str
    weekly: dict[str, list[str]]
    country: str | None
    subdivision: str | None
    holiday_categories: list[str]
    exceptions: list[DateExceptionRead]
    created_at: datetime
    updated_at: datetime


def calendar_read(row: ServiceCalendar) -> CalendarRead:
    d = row.definition
    return CalendarRead(
        id=row.id, code=row.code, name=row.name, builtin=row.builtin, version=row.version,
        timezone=d["timezone"], weekly=d.get("weekly") or {}, country=d.get("country"),
        subdivision=d.get("subdivision"),
        holiday_categories=d.get("holiday_categories") or ["public"],
        exceptions=[DateExceptionRead(**e) for e in d.get("exceptions") or ()],
        created_at=row.created_at, updated_at=row.updated_at,
    )


class ResponseDueRead(BaseModel):
    calendar_id: int
    created_at: datetime
    hours: OutDecimal
    due_at: datetime


# --- price indexes ---------------------------------------------------------------------------


class IndexRowIn(BaseModel):
    name: IndexName
    month: Month
    value: IndexValue


class IndexRowsCreate(BaseModel):
    rows: list[IndexRowIn] = Field(min_length=1, max_length=5000)


class IndexRowRead(_Read):
    name: str
    month: Month
    value: OutDecimal


class IndexImportRead(BaseModel):
    """``created`` rows were new; ``unchanged`` were already there with the same value."""

    created: int
    unchanged: int
    rows: list[IndexRowRead]


class IndexSeriesRead(BaseModel):
    name: str
    months: int
    first_month: Month
    last_month: Month


# --- coverage terms (quote lines and contract lines) -----------------------------------------


class ResponseHours(BaseModel):
    """Business hours to respond, per order priority; null: nothing promised."""

    low: Hours | None = None
    normal: Hours | None = None
    high: Hours | None = None
    urgent: Hours | None = None


class Maintenance(BaseModel):
    """A preventive visit every ``every`` weeks/months from ``first_due_date`` (default: the
    contract's start), to do within ``flexibility_days`` either side, taking
    ``standard_duration_minutes``."""

    every: Annotated[int, Field(ge=1, le=520)]
    unit: FrequencyUnit
    first_due_date: date | None = None
    flexibility_days: Annotated[int, Field(ge=0, le=365)] = 0
    standard_duration_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] | None = None


class CoverageTerms(BaseModel):
    """One service item (``service_item_id``), or every item of ``item_group_id`` at
    ``site_id``; ``price_per_period`` is the item's share of the period price."""

    service_item_id: int | None = None
    site_id: int | None = None
    item_group_id: int | None = None
    price_per_period: Price = Decimal("0")
    labour_included: bool = False
    labour_discount_percent: Percent = Decimal("0")
    labour_hourly_rate: Price | None = None
    parts_discount_percent: Percent = Decimal("0")
    travel_included: bool = False
    calendar_id: int | None = Field(
        None, description="the service hours response_hours count in; null: the contract's")
    response_hours: ResponseHours = Field(default_factory=ResponseHours)
    maintenance: Maintenance | None = None


class ContractLineCreate(CoverageTerms):
    added_on: date | None = Field(None, description="default: today (or the contract's start)")


class ContractLineUpdate(BaseModel):
    """What may change on a line without touching the price: its service hours (null: the
    contract's). Other terms change by removing the line and adding a new one."""

    calendar_id: int | None = None


class CoverageRead(BaseModel):
    id: int
    service_item_id: int | None
    site_id: int | None
    item_group_id: int | None
    price_per_period: OutDecimal
    labour_included: bool
    labour_discount_percent: OutDecimal
    labour_hourly_rate: OutDecimal | None
    parts_discount_percent: OutDecimal
    travel_included: bool
    calendar_id: int | None = Field(description="null: the contract's calendar")
    response_hours: ResponseHours
    maintenance: Maintenance | None


class QuoteLineRead(CoverageRead):
    pass


class ContractLineRead(CoverageRead):
    contract_id: int
    added_on: date
    removed_on: date | None


def _coverage_read(line: QuoteLine | ContractLine) -> dict[str, Any]:
    maintenance = None
    if line.frequency_every is not None:
        maintenance = Maintenance(
            every=line.frequency_every, unit=line.frequency_unit,
            first_due_date=line.first_due_date, flexibility_days=line.flexibility_days,
            standard_duration_minutes=line.standard_duration_minutes)
    return {
        "id": line.id, "service_item_id": line.service_item_id, "site_id": line.site_id,
        "item_group_id": line.item_group_id, "price_per_period": line.price_per_period,
        "labour_included": line.labour_included,
        "labour_discount_percent": line.labour_discount_percent,
        "labour_hourly_rate": line.labour_hourly_rate,
        "parts_discount_percent": line.parts_discount_percent,
        "travel_included": line.travel_included,
        "calendar_id": line.calendar_id,
        "response_hours": ResponseHours(**{p: line.response_hours(p) for p in PRIORITIES}),
        "maintenance": maintenance,
    }


def contract_line_read(line: ContractLine) -> ContractLineRead:
    return ContractLineRead(**_coverage_read(line), contract_id=line.contract_id,
                            added_on=line.added_on, removed_on=line.removed_on)


# --- quotes ----------------------------------------------------------------------------------


class QuoteCreate(BaseModel):
    customer_id: int
    title: Title
    service_level: ServiceLevel = ""
    billing_period: BillingPeriod = BillingPeriod.monthly
    price_per_period: Price | None = Field(
        None, description="default: the sum of the lines' prices")
    currency: Currency | None = Field(None, description="default: the customer's")
    start_date: date
    end_date: date
    auto_renew: bool = False
    notice_days: NoticeDays = 30
    calendar_id: int | None = Field(None, description="null: the built-in 24/7 calendar")
    modality: ContractModality = ContractModality.standard
    index_name: IndexName | None = None
    valid_until: date
    notes: Notes = ""
    lines: list[CoverageTerms] = Field(min_length=1, max_length=500)


class QuoteUpdate(BaseModel):
    """Only a draft quote changes; ``lines`` replaces all lines."""

    title: Title | None = None
    service_level: ServiceLevel | None = None
    billing_period: BillingPeriod | None = None
    price_per_period: Price | None = None
    start_date: date | None = None
    end_date: date | None = None
    auto_renew: bool | None = None
    notice_days: NoticeDays | None = None
    calendar_id: int | None = None
    modality: ContractModality | None = None
    index_name: IndexName | None = None
    valid_until: date | None = None
    notes: Notes | None = None
    lines: list[CoverageTerms] | None = Field(None, min_length=1, max_length=500)


class QuoteDecline(BaseModel):
    reason: Annotated[str, Field(max_length=2000)] = ""


class QuoteConvert(BaseModel):
    """Overrides of the quote's terms for the contract (default: the quote's)."""

    title: Title | None = None
    start_date: date | None = None
    end_date: date | None = None
    index_anniversary: date | None = None
    renewal_term_months: TermMonths = 12
    notes: Notes | None = None


class QuoteRead(BaseModel):
    id: int
    number: str
    customer_id: int
    customer_name: str
    title: str
    service_level: str
    status: QuoteStatus
    billing_period: str
    price_per_period: OutDecimal
    currency: str
    start_date: date
    end_date: date
    auto_renew: bool
    notice_days: int
    calendar_id: int | None
    modality: str
    index_name: str | None
    valid_until: date
    notes: str
    sent_at: datetime | None
    decided_at: datetime | None
    decided_by_id: int | None
    decline_reason: str
    contract_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime
    lines: list[QuoteLineRead]


def quote_read(quote: ContractQuote, status: str) -> QuoteRead:
    """``status`` as the service computes it (a lapsed draft or sent quote is expired)."""
    return QuoteRead(
        id=quote.id, number=quote.number, customer_id=quote.customer_id,
        customer_name=quote.customer.legal_name, title=quote.title,
        service_level=quote.service_level, status=status,
        billing_period=quote.billing_period, price_per_period=quote.price_per_period,
        currency=quote.currency, start_date=quote.start_date, end_date=quote.end_date,
        auto_renew=quote.auto_renew, notice_days=quote.notice_days,
        calendar_id=quote.calendar_id, modality=quote.modality, index_name=quote.index_name,
        valid_until=quote.valid_until, notes=quote.notes, sent_at=quote.sent_at,
        decided_at=quote.decided_at, decided_by_id=quote.decided_by_id,
        decline_reason=quote.decline_reason, contract_id=quote.contract_id,
        version=quote.version, created_at=quote.created_at, updated_at=quote.updated_at,
        lines=[QuoteLineRead(**_coverage_read(x)) for x in quote.lines],
    )


# --- contracts -------------------------------------------------------------------------------


class ContractCreate(BaseModel):
    customer_id: int
    title: Title
    service_level: ServiceLevel = ""
    start_date: date
    end_date: date = Field(description="the last day covered")
    billing_period: BillingPeriod = BillingPeriod.monthly
    price_per_period: Price | None = Field(
        None, description="default: the sum of the lines' prices")
    currency: Currency | None = Field(None, description="default: the customer's")
    auto_renew: bool = False
    notice_days: NoticeDays = 30
    renewal_term_months: TermMonths = 12
    calendar_id: int | None = Field(None, description="null: the built-in 24/7 calendar")
    modality: ContractModality = ContractModality.standard
    index_name: IndexName | None = None
    index_lag_months: LagMonths = 1
    index_anniversary: date | None = Field(
        None, description="adjust the price by the index on this date (and yearly after)")
    notes: Notes = ""
    lines: list[CoverageTerms] = Field(default_factory=list, max_length=500)


class ContractUpdate(BaseModel):
    """Every field optional. Dates and price change only before the contract runs
    (draft, signed); later the price changes by indexation and line changes, the end by
    renewal."""

    title: Title | None = None
    service_level: ServiceLevel | None = None
    start_date: date | None = None
    end_date: date | None = None
    billing_period: BillingPeriod | None = None
    price_per_period: Price | None = None
    auto_renew: bool | None = None
    notice_days: NoticeDays | None = None
    renewal_term_months: TermMonths | None = None
    calendar_id: int | None = None
    modality: ContractModality | None = None
    index_name: IndexName | None = None
    index_lag_months: LagMonths | None = None
    index_anniversary: date | None = None
    notes: Notes | None = None


class TransitionCreate(BaseModel):
    to: str
    note: Annotated[str, Field(max_length=2000)] = ""


class RenewCreate(BaseModel):
    note: Annotated[str, Field(max_length=2000)] = ""


class IndexationCreate(BaseModel):
    on: date | None = Field(None, description="the anniversary; default the contract's next")
    note: Annotated[str, Field(max_length=2000)] = ""


class HistoryRead(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    username: str | None
    event: str
    from_status: str | None
    to_status: str | None
    note: str


class AdjustmentRead(_Read):
    id: int
    contract_id: int
    contract_line_id: int | None
    period_start: date
    period_end: date
    effective_on: date
    days: int
    period_days: int
    amount: Amount
    currency: str
    reason: str
    invoiced_invoice_id: int | None
    created_at: datetime


class PriceChangeRead(_Read):
    id: int
    contract_id: int
    reason: str
    effective_on: date
    index_name: str
    start_month: Month
    end_month: Month
    start_value: OutDecimal
    end_value: OutDecimal
    old_price: Amount
    new_price: Amount
    currency: str
    at: datetime
    user_id: int | None


class ContractRead(BaseModel):
    id: int
    number: str
    customer_id: int
    customer_name: str
    title: str
    service_level: str
    status: str
    allowed_transitions: list[str]
    start_date: date
    end_date: date
    billing_period: str
    price_per_period: OutDecimal
    currency: str
    auto_renew: bool
    notice_days: int
    notice_deadline: date
    renewal_term_months: int
    calendar_id: int | None
    modality: str
    index_name: str | None
    index_lag_months: int
    index_anniversary: date | None
    last_indexed_on: date | None
    quote_id: int | None
    notes: str
    version: int
    created_at: datetime
    updated_at: datetime
    lines: list[ContractLineRead]


def contract_read(contract: Contract, notice_deadline: date) -> ContractRead:
    return ContractRead(
        id=contract.id, number=contract.number, customer_id=contract.customer_id,
        customer_name=contract.customer.legal_name, title=contract.title,
        service_level=contract.service_level, status=contract.status,
        allowed_transitions=allowed_targets(contract.status), start_date=contract.start_date,
        end_date=contract.end_date, billing_period=contract.billing_period,
        price_per_period=contract.price_per_period, currency=contract.currency,
        auto_renew=contract.auto_renew, notice_days=contract.notice_days,
        notice_deadline=notice_deadline, renewal_term_months=contract.renewal_term_months,
        calendar_id=contract.calendar_id, modality=contract.modality,
        index_name=contract.index_name, index_lag_months=contract.index_lag_months,
        index_anniversary=contract.index_anniversary, last_indexed_on=contract.last_indexed_on,
        quote_id=contract.quote_id, notes=contract.notes, version=contract.version,
        created_at=contract.created_at, updated_at=contract.updated_at,
        lines=[contract_line_read(x) for x in contract.lines],
    )


class LineChangeRead(BaseModel):
    """A line added or removed, with the prorated adjustment it left (None: nothing to bill,
    the contract is not running or the item has no price of its own)."""

    line: ContractLineRead
    adjustment: AdjustmentRead | None
    contract_price_per_period: OutDecimal
    contract_version: int


class RenewalRead(BaseModel):
    contract: ContractRead
    price_change: PriceChangeRead | None


class IndexationRead(BaseModel):
    contract: ContractRead
    price_change: PriceChangeRead
    adjustment: AdjustmentRead | None


class RenewalRunCreate(BaseModel):
    until: date = Field(description="renew or expire contracts whose term ends before this")


class RenewedRead(BaseModel):
    contract_id: int
    number: str
    end_date: date
    price_per_period: OutDecimal
    price_change: PriceChangeRead | None


class ContractRef(BaseModel):
    contract_id: int
    number: str


class RenewalFailure(ContractRef):
    problem: dict[str, Any]


class RenewalRunRead(BaseModel):
    renewed: list[RenewedRead]
    expired: list[ContractRef]
    failed: list[RenewalFailure]

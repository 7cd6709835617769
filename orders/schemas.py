"""Pydantic shapes of service requests and orders on the API.

The shapes check form (signs, ranges, decimal places, enum values); the
service checks meaning (references that exist and belong together, states).
Decimals leave as strings ("11.80") so no client turns money into floats.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.masterdata.schemas import Page as Page  # re-exported: the API's page shape
from contracts.masterdata.schemas import format_decimal
from orders.lifecycle import OrderStatus, allowed_targets
from orders.models import (
    Activity,
    BillingModality,
    Channel,
    LineKind,
    OrderLine,
    Priority,
    RootCause,
    ServiceOrder,
    TimeEntry,
)
from orders.totals import OrderTotals, PartAmounts

_Out = PlainSerializer(format_decimal, return_type=str, when_used="json")
# Amounts already rounded to the currency keep exactly its digits ("11.80", "1200").
_Exact = PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json")

Amount = Annotated[Decimal, _Exact]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=3), _Out]
Price = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=4), _Out]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2), _Out]
OutDecimal = Annotated[Decimal, _Out]
Text = Annotated[str, Field(max_length=5000)]
Minutes = Annotated[int, Field(ge=1, le=7 * 24 * 60, description="minutes")]
Kilometres = Annotated[Decimal, Field(ge=0, le=100_000, decimal_places=3), _Out]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TimeWindow(BaseModel):
    """A window in which the customer wants the visit (end exclusive)."""

    model_config = ConfigDict(from_attributes=True)

    starts_at: AwareDatetime
    ends_at: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


# --- service requests ----------------------------------------------------------------------


class ServiceRequestCreate(BaseModel):
    customer_id: int
    site_id: int | None = None
    service_item_id: int | None = None
    contact_id: int | None = None
    description: Annotated[str, Field(min_length=1, max_length=5000)]
    priority: Priority = Priority.normal
    channel: Channel = Channel.api
    external_ref: Annotated[str, Field(max_length=100)] = ""


class ServiceRequestRead(_Read):
    id: int
    customer_id: int
    site_id: int | None
    service_item_id: int | None
    contact_id: int | None
    description: str
    priority: str
    channel: str
    external_ref: str
    status: str
    rejection_reason: str
    order_id: int | None
    created_at: datetime
    created_by_id: int | None
    handled_at: datetime | None


class ConvertRequest(BaseModel):
    """What triage adds when a request becomes an order; the rest comes from the request."""

    category: Annotated[str, Field(max_length=60)] = ""
    priority: Priority | None = None
    responsible_user_id: int | None = None
    reported_defect: Text | None = None
    estimated_duration_minutes: Minutes | None = None
    required_skill_ids: list[int] | None = None
    time_windows: list[TimeWindow] = Field(default_factory=list)
    billing_modality: BillingModality = BillingModality.standard


class RejectRequest(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


# --- orders --------------------------------------------------------------------------------


class OrderCreate(BaseModel):
    customer_id: int
    site_id: int | None = Field(None, description="default: the first service item's site")
    service_item_ids: list[int] = Field(default_factory=list, max_length=50)
    reported_defect: Text = ""
    priority: Priority = Priority.normal
    category: Annotated[str, Field(max_length=60)] = ""
    responsible_user_id: int | None = None
    customer_contact_id: int | None = None
    supplier_contact_id: int | None = None
    required_skill_ids: list[int] | None = Field(
        None, description="default: the skills of the service items' groups")
    estimated_duration_minutes: Minutes | None = Field(
        None, description="default: the sum of the service items' groups' durations, else 60")
    time_windows: list[TimeWindow] = Field(default_factory=list, max_length=20)
    loaner_item_id: int | None = None
    loaner_issued_at: AwareDatetime | None = None
    billing_modality: BillingModality = BillingModality.standard
    root_cause: RootCause | None = None
    technician_id: int | None = None
    scheduled_start: AwareDatetime | None = None


class OrderUpdate(BaseModel):
    """Every field optional; only the fields sent change (send null to clear a nullable one).

    ``skills_overridden: false`` puts the required skills back to the service items' defaults.
    """

    site_id: int | None = None
    service_item_ids: list[int] | None = Field(None, max_length=50)
    reported_defect: Text | None = None
    priority: Priority | None = None
    category: Annotated[str, Field(max_length=60)] | None = None
    responsible_user_id: int | None = None
    customer_contact_id: int | None = None
    supplier_contact_id: int | None = None
    required_skill_ids: list[int] | None = None
    skills_overridden: bool | None = None
    estimated_duration_minutes: Minutes | None = None
    time_windows: list[TimeWindow] | None = Field(None, max_length=20)
    loaner_item_id: int | None = None
    loaner_issued_at: AwareDatetime | None = None
    loaner_returned_at: AwareDatetime | None = None
    billing_modality: BillingModality | None = None
    root_cause: RootCause | None = None
    technician_id: int | None = None
    scheduled_start: AwareDatetime | None = None


class TransitionCreate(BaseModel):
    to: OrderStatus
    note: Annotated[str, Field(max_length=2000)] = ""
    responsible_user_id: int | None = Field(
        None, description="the new responsible person; required when parts arrive "
                          "(waiting_for_parts -> ready)")


class LineCreate(BaseModel):
    kind: LineKind
    product_id: int | None = Field(None, description="parts: the catalogue product")
    labour_type_id: int | None = Field(None, description="services: the labour type")
    description: Annotated[str, Field(max_length=300)] | None = Field(
        None, description="default: the catalogue name")
    technician_id: int | None = None
    service_item_id: int | None = None
    warranty: bool = False
    quantity: Quantity = Field(description="parts: pieces; services: hours")
    unit_price: Price | None = Field(
        None, description="manual price; roles admin and billing only (rule 'manual')")
    discount_percent: Percent | None = None

    @model_validator(mode="after")
    def _catalogue_entry(self) -> LineCreate:
        if self.kind == LineKind.part and (self.product_id is None or self.labour_type_id):
            raise ValueError("a part line names a product_id (and no labour_type_id)")
        if self.kind == LineKind.service and (self.labour_type_id is None or self.product_id):
            raise ValueError("a service line names a labour_type_id (and no product_id)")
        return self


class TimeWorked(BaseModel):
    """A span of work, whoever logs it (a time entry; a visit reported done)."""

    activity: Activity
    started_at: AwareDatetime
    ended_at: AwareDatetime
    billable: bool = True
    labour_type_id: int | None = Field(
        None, description="default: the item group's default labour type")
    distance_km: Kilometres | None = Field(
        None, description="travel entries only: the kilometres driven, costed in the "
                          "contract's profit and loss (settings.travel_cost_per_km)")
    note: Text = ""

    @field_validator("distance_km")
    @classmethod
    def _distance_is_travel(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if value is not None and info.data.get("activity") != Activity.travel:
            raise ValueError("distance_km goes with activity 'travel' only")
        return value


class TimeEntryCreate(TimeWorked):
    technician_id: int


class LineRead(_Read):
    id: int
    order_id: int
    kind: str
    product_id: int | None
    labour_type_id: int | None
    description: str
    technician_id: int | None
    service_item_id: int | None
    warranty: bool
    quantity: OutDecimal
    unit_price: OutDecimal
    price_rule: str
    discount_percent: OutDecimal
    vat_rate: OutDecimal
    claimed_invoice_id: int | None
    created_at: datetime
    created_by_id: int | None
    # As charged (orders.totals): value after the line discount; net is 0 for warranty lines.
    value: Amount = Decimal(0)
    net: Amount = Decimal(0)
    order_discount: Amount = Decimal(0)
    vat: Amount = Decimal(0)
    total: Amount = Decimal(0)


class TimeEntryRead(_Read):
    id: int
    order_id: int
    technician_id: int
    activity: str
    started_at: datetime
    ended_at: datetime
    billable: bool
    labour_type_id: int | None
    hourly_rate: OutDecimal
    billed_minutes: int
    amount: Amount
    vat_rate: OutDecimal
    price_rule: str
    distance_km: OutDecimal | None
    note: str
    created_at: datetime
    created_by_id: int | None
    # As charged (orders.totals): net is zero when not billable or waived.
    net: Amount = Decimal(0)
    order_discount: Amount = Decimal(0)
    vat: Amount = Decimal(0)
    total: Amount = Decimal(0)


class VatGroupRead(_Read):
    rate: OutDecimal
    taxable: Amount
    vat: Amount


class TotalsRead(_Read):
    currency: str
    lines_net: Amount
    time_charges: Amount
    time_charges_waived: bool
    waived_amount: Amount
    warranty_value: Amount
    subtotal: Amount
    order_discount: Amount
    net: Amount
    vat: Amount
    total: Amount
    vat_groups: list[VatGroupRead]


class HistoryRead(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    username: str | None
    event: str
    from_status: str | None
    to_status: str | None
    note: str


class OrderRead(_Read):
    id: int
    number: str
    year: int
    status: str
    version: int
    allowed_transitions: list[str]
    customer_id: int
    customer_name: str
    site_id: int | None
    # True when the site has no usable coordinates (geocoding failed or pending): the order
    # is not blocked, but scheduling cannot place it until someone fixes the site.
    site_location_missing: bool
    request_id: int | None
    reported_defect: str
    priority: str
    category: str
    responsible_user_id: int | None
    customer_contact_id: int | None
    supplier_contact_id: int | None
    service_item_ids: list[int]
    required_skill_ids: list[int]
    required_skill_codes: list[str]
    skills_overridden: bool
    estimated_duration_minutes: int
    time_windows: list[TimeWindow]
    loaner_item_id: int | None
    loaner_issued_at: datetime | None
    loaner_returned_at: datetime | None
    root_cause: str | None
    billing_modality: str
    currency: str
    discount_percent: OutDecimal | None
    discount_amount: OutDecimal | None
    technician_id: int | None
    scheduled_start: datetime | None
    # The contract covering the order (its work is priced by that contract's coverage) and
    # when the contract's response is due; responded_at: when work first started.
    contract_id: int | None = None
    response_due_at: datetime | None = None
    responded_at: datetime | None = None
    # A proposed appointment, unconfirmed while appointment_confirmed_at is null.
    appointment_start: datetime | None = None
    appointment_proposed_at: datetime | None = None
    appointment_confirmed_at: datetime | None = None
    # Preventive maintenance generated from a contract line, due on maintenance_due_date.
    contract_line_id: int | None = None
    maintenance_due_date: date | None = None
    created_at: datetime
    created_by_id: int | None
    updated_at: datetime
    closed_at: datetime | None
    lines: list[LineRead]
    time_entries: list[TimeEntryRead]
    totals: TotalsRead


def line_read(line: OrderLine, amounts: PartAmounts) -> LineRead:
    return LineRead.model_validate(line).model_copy(update={
        "value": amounts.value, "net": amounts.net, "order_discount": amounts.order_discount,
        "vat": amounts.vat, "total": amounts.total})


def time_entry_read(entry: TimeEntry, amounts: PartAmounts) -> TimeEntryRead:
    return TimeEntryRead.model_validate(entry).model_copy(update={
        "net": amounts.net, "order_discount": amounts.order_discount, "vat": amounts.vat,
        "total": amounts.total})


def order_read(order: ServiceOrder, totals: OrderTotals) -> OrderRead:
    """The full order as the API shows it; ``totals`` from ``service.order_totals_of``."""
    site = order.site
    return OrderRead(
        id=order.id, number=order.number, year=order.year, status=order.status,
        version=order.version, allowed_transitions=allowed_targets(order.status),
        customer_id=order.customer_id, customer_name=order.customer.legal_name,
        site_id=order.site_id,
        site_location_missing=site is not None and site.needs_geocode,
        request_id=order.request_id, reported_defect=order.reported_defect,
        priority=order.priority, category=order.category,
        responsible_user_id=order.responsible_user_id,
        customer_contact_id=order.customer_contact_id,
        supplier_contact_id=order.supplier_contact_id,
        service_item_ids=[i.id for i in order.service_items],
        required_skill_ids=[s.id for s in order.required_skills],
        required_skill_codes=[s.code for s in order.required_skills],
        skills_overridden=order.skills_overridden,
        estimated_duration_minutes=order.estimated_duration_minutes,
        time_windows=[TimeWindow.model_validate(w) for w in order.time_windows],
        loaner_item_id=order.loaner_item_id, loaner_issued_at=order.loaner_issued_at,
        loaner_returned_at=order.loaner_returned_at, root_cause=order.root_cause,
        billing_modality=order.billing_modality, currency=order.currency,
        discount_percent=order.discount_percent, discount_amount=order.discount_amount,
        technician_id=order.technician_id, scheduled_start=order.scheduled_start,
        contract_id=order.contract_id, response_due_at=order.response_due_at,
        responded_at=order.responded_at, appointment_start=order.appointment_start,
        appointment_proposed_at=order.appointment_proposed_at,
        appointment_confirmed_at=order.appointment_confirmed_at,
        contract_line_id=order.contract_line_id,
        maintenance_due_date=order.maintenance_due_date,
        created_at=order.created_at, created_by_id=order.created_by_id,
        updated_at=order.updated_at, closed_at=order.closed_at,
        lines=[line_read(x, a) for x, a in zip(order.lines, totals.lines, strict=True)],
        time_entries=[time_entry_read(t, a)
                      for t, a in zip(order.time_entries, totals.time_entries, strict=True)],
        totals=TotalsRead.model_validate(totals),
    )

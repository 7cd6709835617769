"""API shapes of manual dispatch, day-of status reports and appointment slots."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from orders.schemas import TimeWorked

Note = Annotated[str, Field(max_length=2000)]
START_DOC = ("an instant with its offset (2026-03-03T09:00:00-03:00), or a local time "
             "(\"09:00\") on `day` in the technician's time zone")


class VisitCreate(BaseModel):
    """Assign an order by hand: a technician, a day and a start."""

    order_id: int
    technician_id: int
    day: date | None = Field(None, description="the technician's local date; required with a "
                                               "local start time")
    start: datetime | time = Field(description=START_DOC)
    pinned: bool = Field(False, description="keep it there on later scheduling runs")
    force: bool = Field(False, description="place it even if a rule is broken (recorded)")


class VisitMove(BaseModel):
    technician_id: int | None = Field(None, description="default: the visit's technician")
    day: date | None = None
    start: datetime | time = Field(description=START_DOC)
    force: bool = False
    version: int | None = Field(None, description="the version you read (or send If-Match)")


class PinRequest(BaseModel):
    force: bool = Field(False, description="pin even if the visit breaks a rule where it is")


class PartUsed(BaseModel):
    product_id: int
    quantity: Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=3)] = Field(
        description="pieces used at the visit (0: none of a part brought)")
    warranty: bool = Field(False, description="replaced under the supplier's warranty")


# The fields of a status report that only a ``done`` report may carry.
DONE_ONLY = ("time_entries", "parts_used")


class StatusReport(BaseModel):
    status: Literal["on_the_way", "arrived", "done", "cant_finish"]
    at: AwareDatetime | None = Field(None, description="when it happened (default: now)")
    note: Note = ""
    time_entries: list[TimeWorked] | None = Field(
        None, max_length=50,
        description="done only: the technician's time on the order. Default: on_site from "
                    "his arrival to `at`, and the planned travel leg that ended at his "
                    "arrival with its kilometres; an empty list logs none")
    parts_used: list[PartUsed] = Field(
        default_factory=list, max_length=100,
        description="done only: the parts used, by product. The order's part lines (his "
                    "parts to bring) count first; only what exceeds them becomes a new part "
                    "line, priced like any other")

    @field_validator(*DONE_ONLY)
    @classmethod
    def _done_only(cls, value: Any, info: ValidationInfo) -> Any:
        if value and info.data.get("status") != "done":
            raise ValueError("only a 'done' report logs time and parts")
        return value


class ViolationRead(BaseModel):
    model_config = ConfigDict(extra="allow")

    rule: str
    detail: str


class VisitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    order_number: str
    technician_id: int
    day: date
    planned_start: datetime
    planned_end: datetime
    arrival: datetime = Field(description="the ETA at the site")
    travel_seconds: int
    travel_meters: int
    sequence: int
    pinned: bool
    forced: bool
    forced_reason: str
    status: str
    status_at: datetime | None
    arrived_at: datetime | None
    finished_at: datetime | None
    note: str
    run_id: int | None
    version: int
    updated_at: datetime
    overridden: list[ViolationRead] = Field(
        default_factory=list, description="the rules this change broke, forced by the dispatcher")


class Interval(BaseModel):
    start: datetime
    end: datetime


class DayVisitRead(BaseModel):
    id: int
    order_id: int
    order_number: str
    customer_name: str
    sequence: int
    status: str
    planned_start: datetime
    planned_end: datetime
    eta: datetime = Field(description="expected arrival at the site")
    expected_start: datetime = Field(description="expected start of service (after waiting "
                                                 "for the customer's window)")
    expected_end: datetime
    window_end: datetime | None = Field(description="end of the customer's window, if any")
    delay_minutes: int = Field(description="expected start minus planned start, when later")
    late: bool
    late_reasons: list[Literal["window", "shift"]]
    pinned: bool
    forced: bool
    version: int


class DayRead(BaseModel):
    technician_id: int
    technician_name: str
    date: date
    timezone: str
    holiday: str | None
    shift: list[Interval]
    late: bool = Field(description="some visit is expected past its window or the shift end")
    visits: list[DayVisitRead]


class SlotRead(BaseModel):
    technician_id: int
    technician_name: str
    day: date
    window_start: datetime
    window_end: datetime
    planned_start: datetime = Field(description="when service would start inside the window")
    added_travel_minutes: int


class SlotsRead(BaseModel):
    order_id: int
    width_minutes: int
    slots: list[SlotRead]


class SlotBooking(BaseModel):
    technician_id: int
    start: AwareDatetime = Field(description="the window_start of an offered slot")
    width_minutes: int = Field(120, ge=15, le=480)


class BookingRead(BaseModel):
    order_id: int
    order_status: str
    order_version: int
    window_start: datetime
    window_end: datetime
    added_travel_minutes: int
    confirm_by: datetime = Field(description="the customer confirms by then or the hold lapses")
    visit: VisitRead


def visit_read(visit: Any, overridden: list[dict[str, Any]] | None = None) -> VisitRead:
    out = VisitRead.model_validate(
        {**{k: getattr(visit, k) for k in VisitRead.model_fields if hasattr(visit, k)},
         "order_number": visit.order.number})
    if overridden:
        out.overridden = [ViolationRead(**v) for v in overridden]
    return out

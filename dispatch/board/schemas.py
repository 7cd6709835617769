"""What the planning board reads: one day of the schedule, and the unplanned work.

Instants are UTC; ``timezone`` is the zone the board's time axis is labelled in.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class Point(BaseModel):
    lat: float
    lon: float


class Interval(BaseModel):
    start: datetime
    end: datetime


class Block(BaseModel):
    """Something on a technician's row that is not a visit: ``break`` (the gap between two
    shift windows, or a flexible break where it fits), ``absence``."""

    kind: str
    start: datetime
    end: datetime
    label: str = ""


class SiteRef(BaseModel):
    name: str
    address: str
    location: Point | None


class BoardVisit(BaseModel):
    id: int
    version: int
    order_id: int
    order_number: str
    order_version: int
    customer: str
    site: SiteRef | None
    priority: str
    skills: list[str]
    technician_id: int
    day: date
    sequence: int
    status: str
    # The leg from the previous stop ends at ``arrival``; service is planned_start..end.
    travel_start: datetime
    arrival: datetime
    planned_start: datetime
    planned_end: datetime
    travel_seconds: int
    travel_meters: int
    pinned: bool
    forced: bool
    forced_reason: str
    response_due_at: datetime | None
    # The planned start is after the SLA's response deadline.
    sla_breach: bool
    # Expected past the customer's window or the shift's end (dispatch.dispatching).
    late: bool
    late_reasons: list[str]
    delay_minutes: int


class BoardTechnician(BaseModel):
    id: int
    name: str
    color: str
    skills: list[str]
    zone: str | None
    resource_group: str | None
    home: Point | None
    timezone: str
    holiday: str | None
    shift: list[Interval]
    blocks: list[Block]
    visits: list[BoardVisit]
    late: bool
    travel_seconds: int
    travel_meters: int
    service_seconds: int
    shift_seconds: int


class Kpis(BaseModel):
    technicians: int
    working_technicians: int
    visits: int
    visits_done: int
    unassigned: int
    travel_seconds: int
    travel_meters: int
    service_seconds: int
    shift_seconds: int
    # service / shift time of the working technicians (0..1+).
    utilisation: float
    sla_breaches: int
    late_visits: int
    late_technicians: int
    pinned: int
    forced: int


class Option(BaseModel):
    code: str
    name: str


class BoardDay(BaseModel):
    date: date
    timezone: str
    axis: Interval
    technicians: list[BoardTechnician]
    kpis: Kpis
    zones: list[Option]
    skills: list[Option]
    priorities: list[str]
    tile_url: str


class UnassignedOrder(BaseModel):
    order_id: int
    number: str
    version: int
    customer: str
    site: SiteRef | None
    zone: str | None
    priority: str
    skills: list[str]
    estimated_duration_minutes: int
    response_due_at: datetime | None
    overdue: bool
    time_windows: list[Interval]
    appointment_start: datetime | None
    defect: str

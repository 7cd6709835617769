"""The route list on the API: one technician's ordered stops for one local day.

Instants are UTC (ISO 8601); the page and the PDF show them in ``timezone``.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from orders.schemas import OutDecimal


class Navigation(BaseModel):
    """``geo``: an RFC 5870 URI phones hand to their navigation app; ``maps``: a plain https
    link to a map search (nothing is loaded from it by Tecnico)."""

    geo: str
    maps: str


class Address(BaseModel):
    site_id: int
    name: str
    lines: list[str]
    latitude: float | None
    longitude: float | None
    navigation: Navigation


class Person(BaseModel):
    name: str
    phone: str = ""
    email: str = ""


class Item(BaseModel):
    id: int
    model: str
    serial_number: str
    description: str
    item_group: str


class Part(BaseModel):
    line_id: int
    product_id: int
    description: str
    sku: str
    quantity: OutDecimal
    warranty: bool


class Window(BaseModel):
    start: datetime
    end: datetime


class Appointment(BaseModel):
    start: datetime
    confirmed: bool


class OrderRef(BaseModel):
    id: int
    number: str
    status: str
    priority: str
    version: int
    estimated_duration_minutes: int


class ActionField(BaseModel):
    """A field the client may add to an action's ``body`` (from the endpoint's JSON schema)."""

    name: str
    type: str = Field(description="string, integer, number, boolean, date-time, array, object")
    required: bool
    description: str = ""
    enum: list[str] | None = None
    items: list[ActionField] | None = Field(
        None, description="arrays of objects: the fields of each element")


class Action(BaseModel):
    """A request the technician's phone sends to report progress on the stop: ``body`` as
    given, plus any of ``fields``."""

    name: str
    method: str
    href: str
    body: dict[str, str]
    fields: list[ActionField] = []


class Stop(BaseModel):
    visit_id: int
    sequence: int
    status: str
    visit_version: int
    arrived_at: datetime | None
    finished_at: datetime | None
    eta: datetime
    planned_start: datetime
    planned_end: datetime
    # The leg from the previous stop (or from home for the first one).
    travel_seconds: int
    travel_meters: int
    pinned: bool
    order: OrderRef
    time_windows: list[Window]
    appointment: Appointment | None
    customer: Person
    contact: Person | None
    address: Address | None
    service_items: list[Item]
    defect: str
    parts: list[Part]
    actions: list[Action]


class TechnicianRef(BaseModel):
    id: int
    name: str
    phone: str
    locale: str


class RouteLinks(BaseModel):
    page: str
    pdf: str


class Route(BaseModel):
    technician: TechnicianRef
    date: date
    timezone: str
    stops: list[Stop]
    travel_seconds: int
    travel_meters: int
    links: RouteLinks
    read_at: datetime = Field(description="the server's time of this answer (phones' clocks "
                                          "drift: the page measures time on site from it)")

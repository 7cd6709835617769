"""A technician's route list for a day, read from the current schedule (Visit rows).

Who may read it: dispatchers (and admin) every technician's; a technician only
his own (``Technician.user_id``), anyone else's is refused with 403.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from contracts.masterdata.models import Contact, Product, ServiceItem, Site
from dispatch.core.auth import Role, User
from dispatch.core.errors import Forbidden, NotFound
from dispatch.dispatching.schemas import DONE_ONLY, StatusReport
from dispatch.dispatching.service import VISIT_TRANSITIONS, visit_is_stale
from dispatch.models import Technician, Visit, VisitStatus
from dispatch.routelists import schemas as s
from orders.models import LineKind, ServiceOrder

# The universal cross-platform maps search URL (opens the phone's maps app); only linked.
MAPS_SEARCH = "https://www.google.com/maps/search/"

# The order of the action buttons on a stop.
ACTION_ORDER = (VisitStatus.on_the_way, VisitStatus.arrived, VisitStatus.done,
                VisitStatus.cant_finish)


class TechnicianNotFound(NotFound):
    code = "technician-not-found"
    title = "No such technician"


class NotYourRoute(Forbidden):
    code = "not-your-route"
    title = "A technician reads only his own route"


def technician_timezone(tech: Technician, default: str) -> str:
    return tech.timezone or default


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """The local day as a UTC half-open interval (23 or 25 hours on DST changes)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def readable_technician(session: Session, *, technician_id: int, viewer: User) -> Technician:
    """The technician whose route ``viewer`` asks for, once he may read it.

    A technician asking for another's route is refused whether or not that one exists,
    so ids cannot be probed."""
    if viewer.role == Role.technician:
        own = session.scalar(select(Technician).where(Technician.user_id == viewer.id))
        if own is None or own.id != technician_id:
            raise NotYourRoute("a technician reads only his own route list",
                               field="technician_id")
        return own
    tech = session.get(Technician, technician_id)
    if tech is None:
        raise TechnicianNotFound(f"no technician with id {technician_id}",
                                 field="technician_id")
    return tech


def navigation(site: Site) -> s.Navigation:
    label = ", ".join(p for p in (site.address, site.postal_code, site.city) if p)
    if site.latitude is not None and site.longitude is not None:
        where = f"{site.latitude:.6f},{site.longitude:.6f}"
        geo = f"geo:{where}?q={where}({quote(site.name or label, safe='')})"
        query = where
    else:
        geo = f"geo:0,0?q={quote(label, safe='')}"
        query = label
    return s.Navigation(geo=geo, maps=f"{MAPS_SEARCH}?{urlencode({'api': 1, 'query': query})}")


def _address(site: Site | None) -> s.Address | None:
    if site is None:
        return None
    city = " ".join(p for p in (site.postal_code, site.city) if p)
    lines = [p for p in (site.address, city, site.country) if p]
    return s.Address(site_id=site.id, name=site.name, lines=lines, latitude=site.latitude,
                     longitude=site.longitude, navigation=navigation(site))


def _windows(order: ServiceOrder, start: datetime, end: datetime) -> list[s.Window]:
    return [s.Window(start=w.starts_at, end=w.ends_at) for w in order.time_windows
            if w.starts_at < end and w.ends_at > start]


def _appointment(order: ServiceOrder) -> s.Appointment | None:
    if order.appointment_start is None:
        return None
    return s.Appointment(start=order.appointment_start,
                         confirmed=order.appointment_confirmed_at is not None)


def _plain(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A JSON-schema property without references, nor the null of an optional field."""
    if "$ref" in prop:
        return _plain(defs[prop["$ref"].rsplit("/", 1)[-1]], defs) | {
            k: v for k, v in prop.items() if k != "$ref"}
    if "anyOf" in prop:
        first = next(p for p in prop["anyOf"] if p.get("type") != "null")
        return _plain(first, defs) | {k: v for k, v in prop.items() if k != "anyOf"}
    return prop


def _fields(schema: dict[str, Any], defs: dict[str, Any],
            leave_out: frozenset[str] = frozenset()) -> list[s.ActionField]:
    required = set(schema.get("required", ()))
    out = []
    for name, raw in schema.get("properties", {}).items():
        if name in leave_out:
            continue
        prop = _plain(raw, defs)
        items = _plain(prop["items"], defs) if prop.get("type") == "array" else {}
        out.append(s.ActionField(
            name=name, type=prop.get("format", prop.get("type", "object")),
            required=name in required, description=prop.get("description", ""),
            enum=prop.get("enum"), items=_fields(items, defs) if "properties" in items else None))
    return out


@cache
def _report_fields(status: str) -> tuple[s.ActionField, ...]:
    """What a status report may carry besides its ``status`` (dispatching's StatusReport)."""
    schema = StatusReport.model_json_schema()
    leave_out = {"status"} | (set() if status == VisitStatus.done else set(DONE_ONLY))
    return tuple(_fields(schema, schema.get("$defs", {}), frozenset(leave_out)))


def _actions(visit: Visit, status_href: str | None) -> list[s.Action]:
    if status_href is None:
        return []
    href = status_href.format(visit_id=visit.id)
    allowed = VISIT_TRANSITIONS.get(visit.status, frozenset())
    return [s.Action(name=str(nxt), method="POST", href=href, body={"status": str(nxt)},
                     fields=list(_report_fields(str(nxt))))
            for nxt in ACTION_ORDER if nxt in allowed]


def route_for(session: Session, *, technician_id: int, day: date, viewer: User,
              default_timezone: str, now: datetime,
              status_href: str | None = None) -> s.Route:
    """``technician_id``'s stops on ``day`` (his local date) in visiting order, read at
    ``now``.

    ``status_href``: the endpoint reporting a visit's status (``{visit_id}`` filled in),
    or None when there is none to link."""
    tech = readable_technician(session, technician_id=technician_id, viewer=viewer)
    tz = technician_timezone(tech, default_timezone)
    start, end = day_bounds(day, tz)
    visits = session.scalars(
        select(Visit)
        .where(Visit.technician_id == tech.id, Visit.day == day)
        .order_by(Visit.sequence, Visit.planned_start, Visit.id)
        .options(
            selectinload(Visit.order).selectinload(ServiceOrder.customer),
            selectinload(Visit.order).selectinload(ServiceOrder.site),
            selectinload(Visit.order).selectinload(ServiceOrder.lines),
            selectinload(Visit.order).selectinload(ServiceOrder.time_windows),
            selectinload(Visit.order).selectinload(ServiceOrder.service_items)
            .selectinload(ServiceItem.item_group),
        )
    ).all()
    # A visit its order let go of (lapsed hold, cancelled, reassigned) is no stop any more.
    visits = [v for v in visits if not visit_is_stale(v, v.order)]
    orders = [v.order for v in visits]
    contact_ids = {o.customer_contact_id for o in orders if o.customer_contact_id}
    contacts = {c.id: c for c in session.scalars(
        select(Contact).where(Contact.id.in_(contact_ids)))} if contact_ids else {}
    product_ids = {ln.product_id for o in orders for ln in o.lines if ln.product_id}
    skus = {pid: sku for pid, sku in session.execute(
        select(Product.id, Product.sku).where(Product.id.in_(product_ids)))} if product_ids else {}

    stops = []
    for visit in visits:
        order = visit.order
        contact = contacts.get(order.customer_contact_id or 0)
        stops.append(s.Stop(
            visit_id=visit.id, sequence=visit.sequence, status=visit.status,
            visit_version=visit.version, arrived_at=visit.arrived_at,
            finished_at=visit.finished_at, eta=visit.arrival,
            planned_start=visit.planned_start, planned_end=visit.planned_end,
            travel_seconds=visit.travel_seconds, travel_meters=visit.travel_meters,
            pinned=visit.pinned,
            order=s.OrderRef(id=order.id, number=order.number, status=order.status,
                             priority=order.priority, version=order.version,
                             estimated_duration_minutes=order.estimated_duration_minutes),
            time_windows=_windows(order, start, end),
            appointment=_appointment(order),
            customer=s.Person(name=order.customer.legal_name, phone=order.customer.phone,
                              email=order.customer.email),
            contact=(s.Person(name=contact.name, phone=contact.phone, email=contact.email)
                     if contact else None),
            address=_address(order.site),
            service_items=[
                s.Item(id=i.id, model=i.model, serial_number=i.serial_number,
                       description=i.description, item_group=i.item_group.name)
                for i in order.service_items
            ],
            defect=order.reported_defect,
            parts=[
                s.Part(line_id=ln.id, product_id=ln.product_id, description=ln.description,
                       sku=skus.get(ln.product_id or 0, ""), quantity=ln.quantity,
                       warranty=ln.warranty)
                for ln in order.lines if ln.kind == LineKind.part
            ],
            actions=_actions(visit, status_href),
        ))
    base = f"/technicians/{tech.id}/route"
    return s.Route(
        technician=s.TechnicianRef(id=tech.id, name=tech.name, phone=tech.phone,
                                   locale=tech.locale),
        date=day, timezone=tz, stops=stops,
        travel_seconds=sum(st.travel_seconds for st in stops),
        travel_meters=sum(st.travel_meters for st in stops),
        links=s.RouteLinks(page=f"{base}/page?date={day.isoformat()}",
                           pdf=f"{base}/pdf?date={day.isoformat()}"),
        read_at=now,
    )


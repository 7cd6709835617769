"""The planning board's data: a day of the schedule by technician, and the unplanned work.

Read-only. The schedule is the Visit rows (stale ones, whose order let go of
them, left out); working time comes from the technicians' calendars
(dispatch.calendars), lateness from dispatch.dispatching's day assessment, so
the board, the route lists and the dispatch rules agree. A fixed number of queries
whatever the number of technicians.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from contracts.masterdata.models import Skill
from dispatch.board import schemas as s
from dispatch.calendars.service import WorkCalendar, load_calendars
from dispatch.core.errors import ValidationFailed
from dispatch.core.settings import Settings
from dispatch.dispatching import service as dispatching
from dispatch.models import ServiceZone, Technician, Visit, VisitStatus
from dispatch.routelists.service import day_bounds
from orders.lifecycle import OrderStatus
from orders.models import Priority, ServiceOrder

PRIORITIES = [p.value for p in Priority]
# Most pressing first in the unassigned list.
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
# The time axis shows at least this local span (hours), widened to what the day holds.
AXIS_HOURS = (7, 19)
MAX_UNASSIGNED = 1000


class UnknownZone(ValidationFailed):
    code = "unknown-zone"
    title = "No such zone"


def color_of(technician_id: int) -> str:
    """A stable colour per technician: hues a golden angle apart stay distinct."""
    return f"hsl({technician_id * 137.508 % 360:.0f}, 62%, 42%)"


def _point(lat: float | None, lon: float | None) -> s.Point | None:
    return None if lat is None or lon is None else s.Point(lat=lat, lon=lon)


def _site(order: ServiceOrder) -> s.SiteRef | None:
    site = order.site
    if site is None:
        return None
    address = ", ".join(p for p in (site.address, site.city) if p)
    return s.SiteRef(name=site.name, address=address,
                     location=_point(site.latitude, site.longitude))


def _zone_of(zones: Sequence[ServiceZone], order: ServiceOrder) -> str | None:
    site = order.site
    if site is None or site.latitude is None or site.longitude is None:
        return None
    return next((z.code for z in zones if z.contains(site.latitude, site.longitude)), None)


def _zones(session: Session) -> list[ServiceZone]:
    return list(session.scalars(select(ServiceZone).order_by(ServiceZone.code)))


def _breaks(cal: WorkCalendar, day: date, busy: list[tuple[datetime, datetime]]
            ) -> list[s.Block]:
    """Gaps between shift windows, and each flexible break at the first place it fits
    (at its earliest start when nothing fits)."""
    shift = cal.shift_windows(day)
    blocks = [s.Block(kind="break", start=a[1], end=b[0])
              for a, b in zip(shift, shift[1:], strict=False) if b[0] > a[1]]
    for earliest, latest, seconds in cal.breaks_on(day):
        length = timedelta(seconds=seconds)
        candidates = sorted({earliest, *(end for _, end in busy if earliest <= end <= latest)})
        fits = [t for t in candidates
                if not any(a < t + length and t < b for a, b in busy)]
        start = fits[0] if fits else earliest
        blocks.append(s.Block(kind="break", start=start, end=start + length,
                              label="" if fits else "no room"))
    return blocks


def _visit(v: Visit, assessed: dispatching.DayVisit | None) -> s.BoardVisit:
    order = v.order
    due = order.response_due_at
    return s.BoardVisit(
        id=v.id, version=v.version, order_id=order.id, order_number=order.number,
        order_version=order.version, customer=order.customer.legal_name, site=_site(order),
        priority=order.priority, skills=[sk.code for sk in order.required_skills],
        technician_id=v.technician_id, day=v.day, sequence=v.sequence, status=v.status,
        travel_start=v.arrival - timedelta(seconds=v.travel_seconds), arrival=v.arrival,
        planned_start=v.planned_start, planned_end=v.planned_end,
        travel_seconds=v.travel_seconds, travel_meters=v.travel_meters, pinned=v.pinned,
        forced=v.forced, forced_reason=v.forced_reason, response_due_at=due,
        sla_breach=due is not None and v.planned_start > due,
        late=bool(assessed and assessed.late_reasons),
        late_reasons=list(assessed.late_reasons) if assessed else [],
        delay_minutes=dispatching.delay_minutes(assessed) if assessed else 0,
    )


def _axis(day: date, tz: str, spans: list[tuple[datetime, datetime]]) -> s.Interval:
    lo, _ = day_bounds(day, tz)
    start, end = lo + timedelta(hours=AXIS_HOURS[0]), lo + timedelta(hours=AXIS_HOURS[1])
    for a, b in spans:
        start, end = min(start, a), max(end, b)
    hour = timedelta(hours=1)
    start = lo + (start - lo) // hour * hour
    end = lo + -((lo - end) // hour) * hour
    return s.Interval(start=start, end=end)


def _options(session: Session, zones: Sequence[ServiceZone]) -> tuple[list[s.Option],
                                                                       list[s.Option]]:
    skills = session.scalars(select(Skill).order_by(Skill.code))
    return ([s.Option(code=z.code, name=z.name) for z in zones],
            [s.Option(code=k.code, name=k.name) for k in skills])


def _ready_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ServiceOrder).where(
        ServiceOrder.status == OrderStatus.ready)) or 0


def board_day(session: Session, *, day: date, settings: Settings) -> s.BoardDay:
    """Every active technician's row for local date ``day``, with the header's KPIs."""
    tz = settings.default_timezone
    lo, hi = day_bounds(day, tz)
    techs = list(session.scalars(
        select(Technician).where(Technician.active.is_(True))
        .options(selectinload(Technician.skills), selectinload(Technician.zone),
                 selectinload(Technician.resource_group))
        .order_by(Technician.name, Technician.id)))
    cals = load_calendars(session, techs, start=lo - timedelta(days=1),
                          end=hi + timedelta(days=1), settings=settings)
    rows = session.scalars(
        select(Visit).where(Visit.day == day, Visit.technician_id.in_([t.id for t in techs]))
        .options(selectinload(Visit.order).selectinload(ServiceOrder.customer),
                 selectinload(Visit.order).selectinload(ServiceOrder.site),
                 selectinload(Visit.order).selectinload(ServiceOrder.time_windows),
                 selectinload(Visit.order).selectinload(ServiceOrder.required_skills))
        .order_by(Visit.sequence, Visit.planned_start, Visit.id)) if techs else []
    by_tech: dict[int, list[Visit]] = {}
    for v in rows:
        if not dispatching.visit_is_stale(v, v.order):
            by_tech.setdefault(v.technician_id, []).append(v)

    out: list[s.BoardTechnician] = []
    spans: list[tuple[datetime, datetime]] = []
    for tech in techs:
        cal, visits = cals[tech.id], by_tech.get(tech.id, [])
        assessed = {d.visit.id: d for d in dispatching.assess_day(tech, day, cal, visits).visits}
        shift = cal.windows_on(day)
        busy = [(v.planned_start, v.planned_end) for v in visits]
        blocks = _breaks(cal, day, busy) if shift else []
        blocks += [s.Block(kind="absence", start=max(a, lo), end=min(b, hi))
                   for a, b in cal.absences_on(day)]
        board_visits = [_visit(v, assessed.get(v.id)) for v in visits]
        spans += [(a, b) for a, b in cal.shift_windows(day)]
        spans += [(bv.travel_start, bv.planned_end) for bv in board_visits]
        out.append(s.BoardTechnician(
            id=tech.id, name=tech.name, color=color_of(tech.id),
            skills=[k.code for k in tech.skills],
            zone=tech.zone.code if tech.zone else None,
            resource_group=tech.resource_group.code if tech.resource_group else None,
            home=_point(tech.home_lat, tech.home_lon), timezone=cal.timezone,
            holiday=cal.holiday(day), shift=[s.Interval(start=a, end=b) for a, b in shift],
            blocks=blocks, visits=board_visits, late=any(bv.late for bv in board_visits),
            travel_seconds=sum(v.travel_seconds for v in visits),
            travel_meters=sum(v.travel_meters for v in visits),
            service_seconds=sum(int((v.planned_end - v.planned_start).total_seconds())
                                for v in visits),
            shift_seconds=sum(int((b - a).total_seconds()) for a, b in shift),
        ))

    every = [v for t in out for v in t.visits]
    working = [t for t in out if t.shift_seconds]
    shift_total = sum(t.shift_seconds for t in working)
    service_total = sum(t.service_seconds for t in out)
    zones = _zones(session)
    zone_options, skill_options = _options(session, zones)
    return s.BoardDay(
        date=day, timezone=tz, axis=_axis(day, tz, spans), technicians=out,
        kpis=s.Kpis(
            technicians=len(out), working_technicians=len(working), visits=len(every),
            visits_done=sum(v.status == VisitStatus.done for v in every),
            unassigned=_ready_count(session),
            travel_seconds=sum(t.travel_seconds for t in out),
            travel_meters=sum(t.travel_meters for t in out),
            service_seconds=service_total, shift_seconds=shift_total,
            utilisation=round(service_total / shift_total, 4) if shift_total else 0.0,
            sla_breaches=sum(v.sla_breach for v in every),
            late_visits=sum(v.late for v in every),
            late_technicians=sum(t.late for t in out),
            pinned=sum(v.pinned for v in every), forced=sum(v.forced for v in every),
        ),
        zones=zone_options, skills=skill_options, priorities=PRIORITIES,
        tile_url=settings.tile_url,
    )


def unassigned_orders(session: Session, *, now: datetime, priorities: Sequence[str] = (),
                      skill: str | None = None, zone: str | None = None,
                      due_before: datetime | None = None) -> list[s.UnassignedOrder]:
    """Orders ready to be planned, the most pressing first (priority, then SLA deadline).

    ``skill``: requiring that skill code; ``zone``: the site lies in that zone;
    ``due_before``: the SLA response is due before then."""
    zones = _zones(session)
    wanted_zone = None
    if zone:
        wanted_zone = next((z for z in zones if z.code == zone), None)
        if wanted_zone is None:
            raise UnknownZone(f"no zone with code {zone!r}", field="zone")
    stmt = (select(ServiceOrder).where(ServiceOrder.status == OrderStatus.ready)
            .options(selectinload(ServiceOrder.customer), selectinload(ServiceOrder.site),
                     selectinload(ServiceOrder.required_skills),
                     selectinload(ServiceOrder.time_windows)))
    if priorities:
        stmt = stmt.where(ServiceOrder.priority.in_(list(priorities)))
    if skill:
        stmt = stmt.where(ServiceOrder.required_skills.any(Skill.code == skill))
    if due_before is not None:
        stmt = stmt.where(ServiceOrder.response_due_at < due_before)
    orders = list(session.scalars(stmt.order_by(ServiceOrder.id).limit(MAX_UNASSIGNED)))
    if wanted_zone is not None:
        orders = [o for o in orders if o.site is not None and o.site.latitude is not None
                  and wanted_zone.contains(o.site.latitude, o.site.longitude)]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    orders.sort(key=lambda o: (PRIORITY_RANK.get(o.priority, 9), o.response_due_at or far,
                               o.id))
    return [s.UnassignedOrder(
        order_id=o.id, number=o.number, version=o.version, customer=o.customer.legal_name,
        site=_site(o), zone=_zone_of(zones, o), priority=o.priority,
        skills=[k.code for k in o.required_skills],
        estimated_duration_minutes=o.estimated_duration_minutes,
        response_due_at=o.response_due_at,
        overdue=o.response_due_at is not None and o.response_due_at < now,
        time_windows=[s.Interval(start=w.starts_at, end=w.ends_at) for w in o.time_windows],
        appointment_start=o.appointment_start, defect=o.reported_defect,
    ) for o in orders]

"""Database rows <-> solver problem and plan.

:func:`build_problem` turns the orders and technicians of a run's range and scope into a
:class:`solver.Problem`:

- Visits: one per order in ``ready`` or ``scheduled`` whose work has not started (no visit
  of it on the way or arrived), id ``"o<order id>"``. Left out silently: orders planned
  outside the range or on a technician outside the scope, orders whose requested windows or
  appointment fall outside the range, and (zone scope) unplanned orders whose site is not in
  the zone. Left out and reported as unassigned: orders whose site has no coordinates
  (``NO_LOCATION``) and orders longer than any shift (``TOO_LONG``).
- Duration: ``estimated_duration_minutes``. Hard windows for the start of service: the
  requested windows (``order_time_windows``), or, when an appointment was proposed or
  confirmed, ``[appointment_start, appointment_start + APPOINTMENT_WINDOW]``; none: any
  time of the range. Deadline: ``response_due_at`` (the contract's SLA). Skills: the
  order's required skills (codes). Priority: :data:`PRIORITIES`. Zone: the first
  ``ServiceZone`` (by id) containing the site.
- Technicians: the active ones of the scope with a home base (``"t<id>"``), starting and
  ending at home; shifts per local day from their calendars (dispatch.calendars) minus
  the visits the run does not plan itself (started ones, other scopes' orders), never
  before ``now``; a technician with a visit under way today starts from that site when it
  ends (``CurrentPosition``).
- Pinned visits are pinned (technician, day and, when it fits the order's windows, start);
  in ``insert`` mode every planned visit is. Planned visits are ``Problem.previous``, so a
  re-plan moves them only for a reason (``Weights.moved``).

Times are seconds from the horizon start: local midnight of ``date_from`` in
``settings.default_timezone``; solver day ``d`` is the local date ``date_from + d`` of each
technician. :func:`read_plan` maps the solver's plan back to proposed visits, routes and
unassigned orders (JSON for ``ScheduleRun.plan``) and the run's KPIs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import solver
from dispatch.calendars.service import WorkCalendar, load_calendars, subtract
from dispatch.core.errors import ValidationFailed
from dispatch.core.settings import Settings
from dispatch.models import ResourceGroup, ServiceZone, Technician, Visit, VisitStatus
from orders.lifecycle import OrderStatus
from orders.models import ServiceOrder

# Solver priorities 0..10 (a level outweighs three visits of the level below): an urgent
# order outweighs nine high ones, a high one nine normal ones.
PRIORITIES = {"low": 0, "normal": 1, "high": 3, "urgent": 5}
# The width of an arrival window offered to a customer (dispatch slots); an appointment
# holds the start of service to it.
APPOINTMENT_WINDOW = timedelta(hours=2)
PLANNABLE = (OrderStatus.ready, OrderStatus.scheduled)
UNDER_WAY = (VisitStatus.on_the_way, VisitStatus.arrived)
# Visits that still hold a technician's time on their day.
HOLDING = (VisitStatus.planned, VisitStatus.on_the_way, VisitStatus.arrived)
# Orders that hold their planned visits; a planned visit of an order in another status, or
# on another technician than the order's, was let go of (a lapsed appointment hold): stale.
LIVE_ORDER = (OrderStatus.scheduled, OrderStatus.in_progress, OrderStatus.completed)
# Reasons of orders left out of the problem (besides solver.Reason).
NO_LOCATION = "NO_LOCATION"
TOO_LONG = "TOO_LONG"
# Two starts closer than this are "the same time" when comparing with the published plan.
RETIME_TOLERANCE_S = 60
SCOPE_KINDS = ("all", "zone", "resource_group", "orders")

Interval = tuple[datetime, datetime]


class InvalidScope(ValidationFailed):
    code = "invalid-run-scope"
    title = "Invalid scope of a scheduling run"


def vid(order_id: int) -> str:
    return f"o{order_id}"


def tid(technician_id: int) -> str:
    return f"t{technician_id}"


def _num(key: str) -> int:
    return int(key[1:])


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Horizon:
    """The run's days: ``days`` local dates from ``date_from`` in ``timezone``."""

    date_from: date
    days: int
    timezone: str

    @classmethod
    def of(cls, date_from: date, date_to: date, timezone: str) -> Horizon:
        return cls(date_from, (date_to - date_from).days + 1, timezone)

    @property
    def start(self) -> datetime:
        """Local midnight of ``date_from`` (UTC): second 0 of the solver's times."""
        return datetime.combine(self.date_from, time(), tzinfo=ZoneInfo(self.timezone)
                                ).astimezone(UTC)

    @property
    def date_to(self) -> date:
        return self.date_from + timedelta(days=self.days - 1)

    @property
    def end_s(self) -> int:
        """Seconds of the horizon's end (exclusive); local days may be 23 or 25 hours."""
        end = datetime.combine(self.date_to + timedelta(days=1), time(),
                               tzinfo=ZoneInfo(self.timezone))
        return self.seconds(end)

    def seconds(self, at: datetime) -> int:
        return int((at - self.start).total_seconds())

    def day_of(self, local: date) -> int:
        return (local - self.date_from).days

    def date_of(self, day: int) -> date:
        return self.date_from + timedelta(days=day)

    def covers(self, local: date) -> bool:
        return self.date_from <= local <= self.date_to


@dataclass(frozen=True)
class Scope:
    kind: str
    zone: ServiceZone | None = None
    group: ResourceGroup | None = None
    order_ids: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.zone is not None:
            out["zone"] = self.zone.code
        if self.group is not None:
            out["resource_group"] = self.group.code
        if self.kind == "orders":
            out["order_ids"] = list(self.order_ids)
        return out


def resolve_scope(session: Session, raw: dict[str, Any]) -> Scope:
    """The stored/posted scope with its references checked (422 naming the field)."""
    kind = raw.get("kind", "all")
    if kind not in SCOPE_KINDS:
        raise InvalidScope(f"unknown scope kind {kind!r}; kinds are {', '.join(SCOPE_KINDS)}",
                           field="scope.kind")
    if kind == "zone":
        code = raw.get("zone")
        zone = session.scalar(select(ServiceZone).where(ServiceZone.code == code)) if code \
            else None
        if zone is None:
            raise InvalidScope(f"no zone with code {code!r}", field="scope.zone")
        return Scope(kind, zone=zone)
    if kind == "resource_group":
        code = raw.get("resource_group")
        group = session.scalar(select(ResourceGroup).where(ResourceGroup.code == code)) \
            if code else None
        if group is None:
            raise InvalidScope(f"no resource group with code {code!r}",
                               field="scope.resource_group")
        return Scope(kind, group=group)
    if kind == "orders":
        ids = tuple(dict.fromkeys(int(i) for i in raw.get("order_ids") or ()))
        if not ids:
            raise InvalidScope("name at least one order", field="scope.order_ids")
        found = set(session.scalars(select(ServiceOrder.id).where(ServiceOrder.id.in_(ids))))
        missing = [i for i in ids if i not in found]
        if missing:
            raise InvalidScope(f"no orders with ids {missing}", field="scope.order_ids")
        return Scope(kind, order_ids=ids)
    return Scope("all")


def technicians_in_scope(session: Session, scope: Scope) -> list[Technician]:
    """Active technicians of the scope (every one for ``all``/``orders``), by id."""
    stmt = select(Technician).where(Technician.active.is_(True)).options(
        selectinload(Technician.skills), selectinload(Technician.zone)).order_by(Technician.id)
    if scope.zone is not None:
        stmt = stmt.where(Technician.zone_id == scope.zone.id)
    if scope.group is not None:
        stmt = stmt.where(Technician.resource_group_id == scope.group.id)
    return list(session.scalars(stmt))


def working_technicians(session: Session, *, scope: Scope, date_from: date, date_to: date,
                        now: datetime, settings: Settings) -> list[Technician]:
    """Technicians of the scope with a home base who work some time of the range after
    ``now`` (calendar minus holidays minus absences)."""
    horizon = Horizon.of(date_from, date_to, settings.default_timezone)
    techs = [t for t in technicians_in_scope(session, scope) if t.home_lat is not None]
    cals = load_calendars(session, techs, start=horizon.start - timedelta(days=1),
                          end=horizon.start + timedelta(days=horizon.days + 1), settings=settings)
    return [t for t in techs if any(
        b > now for d in range(horizon.days) for _a, b in cals[t.id].windows_on(
            horizon.date_of(d)))]


# --- database -> problem --------------------------------------------------------------------


@dataclass
class Mapped:
    problem: solver.Problem
    context: dict[str, Any]


def _merge(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted windows with overlapping or touching ones merged (the solver wants them apart)."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(windows):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _clip(windows: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    return [(max(a, lo), min(b, hi)) for a, b in windows if min(b, hi) > max(a, lo)]


@dataclass
class _Order:
    """What the mapping decided for one order."""

    order: ServiceOrder
    visit: Visit | None  # its planned visit in the range (the published plan)
    previous: tuple[int, date, datetime] | None  # (technician id, local day, start)
    windows: list[tuple[int, int]]
    fixed: bool  # pinned, or kept in insert mode


def build_problem(session: Session, *, date_from: date, date_to: date, scope: Scope,
                  mode: str, now: datetime, settings: Settings) -> Mapped:
    horizon = Horizon.of(date_from, date_to, settings.default_timezone)
    end_s = horizon.end_s
    now_s = horizon.seconds(now)
    all_techs = technicians_in_scope(session, scope)
    techs = [t for t in all_techs if t.home_lat is not None and t.home_lon is not None]
    tech_ids = {t.id for t in techs}
    cals = load_calendars(session, techs, start=horizon.start - timedelta(days=1),
                          end=horizon.start + timedelta(days=horizon.days + 1), settings=settings)
    zones = list(session.scalars(select(ServiceZone).order_by(ServiceZone.id)))

    stmt = select(ServiceOrder).where(ServiceOrder.status.in_([s.value for s in PLANNABLE]))
    if scope.kind == "orders":
        stmt = stmt.where(ServiceOrder.id.in_(scope.order_ids))
    stmt = stmt.options(selectinload(ServiceOrder.site), selectinload(ServiceOrder.required_skills),
                        selectinload(ServiceOrder.time_windows)).order_by(ServiceOrder.id)
    orders = list(session.scalars(stmt))
    order_ids = [o.id for o in orders]

    visits_of: dict[int, list[Visit]] = defaultdict(list)
    for chunk in chunks(order_ids):
        for v in session.scalars(select(Visit).where(Visit.order_id.in_(chunk),
                                                     Visit.status.in_(HOLDING))):
            visits_of[v.order_id].append(v)
    tech_visits: dict[int, list[Visit]] = defaultdict(list)
    for chunk in chunks(sorted(tech_ids)):
        for v in session.scalars(select(Visit).where(
                Visit.technician_id.in_(chunk), Visit.status.in_(HOLDING),
                Visit.day >= horizon.date_from - timedelta(days=1),
                Visit.day <= horizon.date_to + timedelta(days=1)).options(
                selectinload(Visit.order).selectinload(ServiceOrder.site))):
            tech_visits[v.technician_id].append(v)

    chosen: list[_Order] = []
    left_out: list[dict[str, Any]] = []
    for order in orders:
        decided = _decide(order, visits_of.get(order.id, []), horizon=horizon, end_s=end_s,
                          tech_ids=tech_ids, cals=cals, scope=scope, mode=mode)
        if decided is not None:
            chosen.append(decided)

    in_problem = {c.order.id for c in chosen}
    solver_techs: list[solver.Technician] = []
    working: dict[str, int] = {}
    for t in techs:
        shifts, current, seconds = _shifts(t, cals[t.id], tech_visits.get(t.id, []), in_problem,
                                           horizon=horizon, now=now, now_s=now_s)
        working[tid(t.id)] = seconds
        home = solver.Location(lat=t.home_lat, lon=t.home_lon)
        solver_techs.append(solver.Technician(
            id=tid(t.id), start=home, shifts=tuple(shifts),
            skills=frozenset(s.code for s in t.skills),
            zones=frozenset({t.zone.code}) if t.zone is not None else frozenset(),
            current=current))

    longest = max((s.latest_end - s.start for st in solver_techs for s in st.shifts), default=0)
    visits: list[solver.Visit] = []
    previous: list[solver.PreviousAssignment] = []
    context_orders: dict[str, Any] = {}
    for c in chosen:
        o = c.order
        site = o.site
        if site is None or site.latitude is None or site.longitude is None:
            left_out.append(_left(o, NO_LOCATION, "the order's site has no coordinates"
                                  if site is not None else "the order has no site"))
            continue
        duration = o.estimated_duration_minutes * 60
        if longest and duration > longest:
            left_out.append(_left(o, TOO_LONG, f"{o.estimated_duration_minutes} minutes is longer "
                                               "than any technician's day in the range"))
            continue
        windows = c.windows or [(0, end_s)]
        pin = None
        if c.fixed and c.previous is not None and c.previous[0] in tech_ids:
            t_id, day, start = c.previous
            start_s = horizon.seconds(start)
            fits = any(a <= start_s <= b for a, b in windows)
            pin = solver.Pin(technician_id=tid(t_id), day=horizon.day_of(day),
                             start=start_s if fits else None)
        if c.previous is not None and c.previous[0] in tech_ids:
            previous.append(solver.PreviousAssignment(vid(o.id), tid(c.previous[0]),
                                                      horizon.day_of(c.previous[1])))
        zone = next((z.code for z in zones if z.contains(site.latitude, site.longitude)), None)
        deadline = None if o.response_due_at is None else max(0, horizon.seconds(
            o.response_due_at))
        visits.append(solver.Visit(
            id=vid(o.id), location=solver.Location(lat=site.latitude, lon=site.longitude),
            duration=duration, windows=tuple(solver.TimeWindow(a, b) for a, b in windows),
            skills=frozenset(s.code for s in o.required_skills),
            priority=PRIORITIES.get(o.priority, 1), deadline=deadline, pin=pin, zone=zone))
        context_orders[vid(o.id)] = {
            "order_id": o.id, "number": o.number, "version": o.version, "status": o.status,
            "priority": o.priority, "deadline": _iso(o.response_due_at), "fixed": pin is not None,
            "visit_id": None if c.visit is None else c.visit.id,
            "visit_version": None if c.visit is None else c.visit.version,
            "previous": None if c.previous is None else {
                "technician_id": c.previous[0], "day": c.previous[1].isoformat(),
                "start": _iso(c.previous[2])},
        }

    problem = solver.Problem(technicians=tuple(solver_techs), visits=tuple(visits),
                             previous=tuple(previous), horizon_days=horizon.days)
    context = {
        "timezone": settings.default_timezone, "date_from": horizon.date_from.isoformat(),
        "days": horizon.days, "horizon_start": _iso(horizon.start), "now": _iso(now),
        "mode": mode, "scope": scope.to_dict(), "orders": context_orders,
        "technicians": {tid(t.id): {"technician_id": t.id, "name": t.name,
                                    "timezone": cals[t.id].timezone,
                                    "working_seconds": working[tid(t.id)]} for t in techs},
        "technicians_without_home": [t.id for t in all_techs if t.id not in tech_ids],
        "left_out": left_out,
    }
    return Mapped(problem=problem, context=context)


def chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    """``ids`` in slices small enough for an ``IN (...)`` on every database."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def stale(visit: Visit, order: ServiceOrder) -> bool:
    """A planned visit its order no longer holds (same rule as dispatch.dispatching): runs
    ignore it, and publishing the order removes it."""
    return visit.status == VisitStatus.planned and (
        order.technician_id != visit.technician_id or order.status not in LIVE_ORDER)


def _left(order: ServiceOrder, reason: str, message: str) -> dict[str, Any]:
    return {"order_id": order.id, "number": order.number, "reason": reason, "message": message}


def _decide(order: ServiceOrder, visits: list[Visit], *, horizon: Horizon, end_s: int,
            tech_ids: set[int], cals: dict[int, WorkCalendar], scope: Scope,
            mode: str) -> _Order | None:
    """Whether and how ``order`` enters the problem (None: it is not this run's business)."""
    if any(v.status in UNDER_WAY for v in visits):
        return None  # work has started: its time is held, it is not re-planned
    planned = sorted((v for v in visits if v.status == VisitStatus.planned
                      and not stale(v, order)), key=lambda v: v.planned_start)
    in_range = [v for v in planned if horizon.covers(v.day)]
    if planned and not in_range:
        return None  # planned on another day
    visit = in_range[0] if in_range else None
    previous = None
    if visit is not None:
        if visit.technician_id not in tech_ids:
            return None  # another technician's (another scope)
        previous = (visit.technician_id, visit.day, visit.planned_start)
    elif order.status == OrderStatus.scheduled and order.scheduled_start is not None:
        # booked without a visit row (an appointment, a manual booking)
        if order.technician_id is not None and order.technician_id not in tech_ids:
            return None
        if order.technician_id is not None:
            day = cals[order.technician_id].local_date(order.scheduled_start)
            if not horizon.covers(day):
                return None
            previous = (order.technician_id, day, order.scheduled_start)
        elif not 0 <= horizon.seconds(order.scheduled_start) < end_s:
            return None
    if previous is None and scope.zone is not None:
        site = order.site
        if site is None or site.latitude is None or not scope.zone.contains(
                site.latitude, site.longitude):
            return None
    if order.appointment_start is not None:
        a = horizon.seconds(order.appointment_start)
        requested = [(a, a + int(APPOINTMENT_WINDOW.total_seconds()))]
    else:
        requested = [(horizon.seconds(w.starts_at), horizon.seconds(w.ends_at))
                     for w in order.time_windows]
    windows = _merge(_clip(requested, 0, end_s))
    if requested and not windows:
        return None  # wanted outside the range
    fixed = previous is not None and ((visit is not None and visit.pinned) or mode == "insert")
    return _Order(order=order, visit=visit, previous=previous, windows=windows, fixed=fixed)


def _shifts(tech: Technician, cal: WorkCalendar, visits: list[Visit], in_problem: set[int], *,
            horizon: Horizon, now: datetime,
            now_s: int) -> tuple[list[solver.Shift], solver.CurrentPosition | None, int]:
    """His shifts per day of the horizon, the position he starts from today if a visit is
    under way, and the regular working seconds of the shifts."""
    shifts: list[solver.Shift] = []
    current = None
    total = 0
    for d in range(horizon.days):
        day = horizon.date_of(d)
        held = [v for v in visits if v.day == day and v.order_id not in in_problem
                and not stale(v, v.order)]
        free = subtract(cal.windows_on(day), [(v.planned_start, v.planned_end) for v in held])
        secs = _clip([(horizon.seconds(a), horizon.seconds(b)) for a, b in free],
                     max(0, now_s), 2**40)
        secs = [(a, b) for a, b in secs if b > a]
        if not secs:
            continue
        breaks = []
        for e, lt, dur in cal.breaks_on(day):
            e_s, lt_s = max(0, horizon.seconds(e)), horizon.seconds(lt)
            if lt_s >= e_s and lt_s + dur > secs[0][0] and e_s < secs[-1][1]:
                breaks.append(solver.Break(e_s, lt_s, dur))
        shifts.append(solver.Shift(day=d, windows=tuple(solver.TimeWindow(a, b) for a, b in secs),
                                   breaks=tuple(breaks)))
        total += sum(b - a for a, b in secs)
        under_way = [v for v in held if v.status in UNDER_WAY and v.order.site is not None
                     and v.order.site.latitude is not None]
        if under_way and cal.local_date(now) == day:
            v = max(under_way, key=lambda v: v.planned_start)
            current = solver.CurrentPosition(
                day=d, location=solver.Location(lat=v.order.site.latitude,
                                                lon=v.order.site.longitude),
                available_from=max(now_s, horizon.seconds(v.planned_end), 0))
    return shifts, current, total


# --- plan -> rows ----------------------------------------------------------------------------


def read_plan(problem: solver.Problem, plan: solver.Plan,
              context: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The proposed plan (visits, routes, unassigned) and its KPIs, as JSON."""
    start = datetime.fromisoformat(context["horizon_start"])
    date_from = date.fromisoformat(context["date_from"])
    orders = context["orders"]

    def at(seconds: int) -> str:
        return _iso(start + timedelta(seconds=seconds))

    def day(d: int) -> str:
        return (date_from + timedelta(days=d)).isoformat()

    visits: list[dict[str, Any]] = []
    routes: list[dict[str, Any]] = []
    changes: Counter[str] = Counter()
    breaches: list[dict[str, Any]] = []
    work: Counter[str] = Counter()
    for r in sorted(plan.routes, key=lambda r: (r.day, _num(r.technician_id))):
        t = _num(r.technician_id)
        work[r.technician_id] += r.work_time
        routes.append({
            "technician_id": t, "day": day(r.day), "start": at(r.start_time),
            "end": at(r.end_time), "visits": len(r.stops), "travel_seconds": r.travel_time,
            "travel_meters": round(r.travel_distance), "service_seconds": r.service_time,
            "work_seconds": r.work_time, "overtime_seconds": r.overtime,
            "end_travel_seconds": r.end_travel_time,
            "end_travel_meters": round(r.end_travel_distance),
            "breaks": [{"start": at(b.start), "end": at(b.end)} for b in r.breaks],
        })
        for seq, stop in enumerate(r.stops, start=1):
            info = orders[stop.visit_id]
            change = _change(info, t, day(r.day), start + timedelta(seconds=stop.start))
            changes[change] += 1
            if stop.deadline_lateness > 0:
                breaches.append({"order_id": info["order_id"], "number": info["number"],
                                 "minutes_late": -(-stop.deadline_lateness // 60)})
            visits.append({
                "order_id": info["order_id"], "number": info["number"], "technician_id": t,
                "day": day(r.day), "sequence": seq, "arrival": at(stop.arrival),
                "planned_start": at(stop.start), "planned_end": at(stop.end),
                "waiting_seconds": stop.waiting, "travel_seconds": stop.travel_time,
                "travel_meters": round(stop.travel_distance),
                "deadline_late_seconds": stop.deadline_lateness, "pinned": info["fixed"],
                "change": change,
            })
    unassigned = [{"order_id": orders[u.visit_id]["order_id"],
                   "number": orders[u.visit_id]["number"], "reason": u.reason.value,
                   "message": u.message} for u in plan.unassigned]
    for u in plan.unassigned:
        if orders[u.visit_id]["previous"] is not None:
            changes["removed"] += 1
    unassigned += context.get("left_out", [])
    techs = context["technicians"]
    per_tech = {str(info["technician_id"]): (round(work[key] / info["working_seconds"], 4)
                                             if info["working_seconds"] else 0.0)
                for key, info in techs.items()}
    k = plan.kpis
    kpis = {
        "solver_status": plan.status.value, "engine": plan.engine, "objective": plan.objective,
        "solve_seconds": round(plan.elapsed, 3),
        "visits_total": len(problem.visits) + len(context.get("left_out", [])),
        "visits_assigned": k.assigned, "visits_unassigned": len(unassigned),
        "unassigned_by_reason": dict(Counter(u["reason"] for u in unassigned)),
        "travel_seconds": k.travel_time, "travel_meters": round(k.travel_distance),
        "service_seconds": k.service_time, "overtime_seconds": k.overtime,
        "utilisation": round(k.utilisation, 4), "utilisation_per_technician": per_tech,
        "routes": k.routes, "sla_breaches": len(breaches), "sla_breach_orders": breaches,
        "changes": {c: changes.get(c, 0) for c in
                    ("new", "moved", "retimed", "unchanged", "kept", "removed")},
    }
    return {"visits": visits, "routes": routes, "unassigned": unassigned}, kpis


def _change(info: dict[str, Any], technician_id: int, day: str, start: datetime) -> str:
    prev = info["previous"]
    if prev is None:
        return "new"
    if info["fixed"]:
        return "kept"
    if prev["technician_id"] != technician_id or prev["day"] != day:
        return "moved"
    if abs((datetime.fromisoformat(prev["start"]) - start).total_seconds()) >= RETIME_TOLERANCE_S:
        return "retimed"
    return "unchanged"

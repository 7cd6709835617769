"""Use cases of manual dispatch, day-of status reports and appointment slots.

Every change of the schedule locks the technicians involved (``FOR UPDATE`` on their rows,
in id order so two moves never deadlock) before it reads their visits, so that two
dispatchers, or two customers booking the last slot, queue instead of both passing the
checks; on SQLite transactions are serialised anyway. The order follows its visit
(technician, scheduled start, ``ready <-> scheduled``) through orders.service, which writes
the order's history; a placement that breaks a rule (dispatch.dispatching.rules) is
refused with a 409 naming the rule unless the dispatcher forces it, which is recorded on
the visit (``forced``, ``forced_reason``) and in the order's history (who, when, what).

A visit whose order no longer points at it (an appointment hold that lapsed: orders'
release clears the order's technician and puts it back to ``ready``, but cannot touch
dispatch's tables) is *stale*: it takes no time in anyone's day and is deleted before
the order is assigned or booked again (:func:`purge_stale_visits`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from contracts.sla import confirmation_deadline
from dispatch.calendars.service import WorkCalendar, calendar_of, load_calendars, zone_of
from dispatch.core.auth import Role, User
from dispatch.core.errors import (
    Conflict,
    Forbidden,
    InvalidState,
    NotFound,
    PreconditionRequired,
    ValidationFailed,
)
from dispatch.core.settings import Settings
from dispatch.core.web import check_version
from dispatch.dispatching import rules, slots, work
from dispatch.dispatching.rules import (
    FlexBreak,
    Placement,
    Stop,
    TechnicianDay,
    TravelTable,
    Violation,
    WorkingDay,
)
from dispatch.dispatching.schemas import PartUsed
from dispatch.models import Technician, Visit, VisitStatus
from orders import appointments
from orders import service as orders
from orders.lifecycle import OrderStatus
from orders.models import ServiceOrder
from orders.schemas import OrderUpdate, TimeWorked
from solver.model import Location
from solver.travel import GreatCircle, Osrm, TravelProvider

V = VisitStatus
# The orders a dispatcher may place by hand or offer slots for.
DISPATCHABLE = (OrderStatus.ready, OrderStatus.scheduled)
# A planned visit belongs to the schedule while its order is in one of these and names its
# technician.
LIVE_ORDER = frozenset({OrderStatus.scheduled, OrderStatus.in_progress, OrderStatus.on_hold})
OPEN = frozenset({V.planned, V.on_the_way, V.arrived})
FINISHED = frozenset({V.done, V.cant_finish})
VISIT_TRANSITIONS: dict[str, frozenset[str]] = {
    V.planned: frozenset({V.on_the_way, V.arrived, V.cant_finish}),
    V.on_the_way: frozenset({V.arrived, V.cant_finish}),
    V.arrived: frozenset({V.done, V.cant_finish}),
    V.done: frozenset(),
    V.cant_finish: frozenset(),
}
# A phone's clock may run a little ahead of ours; reports further in the future are refused.
CLOCK_SKEW = timedelta(minutes=5)


# --- errors ----------------------------------------------------------------------------------


class VisitNotFound(NotFound):
    code = "visit-not-found"
    title = "Visit not found"


class TechnicianNotFound(NotFound):
    code = "technician-not-found"
    title = "Technician not found"


class RuleBroken(Conflict):
    """The placement breaks a dispatch rule; ``rule`` names the first, ``violations`` all."""

    code = "dispatch-rule-broken"
    title = "The placement breaks a dispatch rule"


class SlotUnavailable(Conflict):
    code = "slot-unavailable"
    title = "The slot is no longer free"


class OrderNotDispatchable(InvalidState):
    code = "order-not-dispatchable"
    title = "The order cannot be dispatched in its status"


class OrderAlreadyDispatched(Conflict):
    code = "order-already-dispatched"
    title = "The order already has a visit"


class VisitNotChangeable(InvalidState):
    code = "visit-not-changeable"
    title = "The visit can no longer be changed"


class VisitTransitionNotAllowed(InvalidState):
    code = "visit-transition-not-allowed"
    title = "This status report is not allowed"


class NotYourVisit(Forbidden):
    code = "not-your-visit"
    title = "Technicians report and read only their own visits"


class InvalidDispatch(ValidationFailed):
    code = "invalid-dispatch"
    title = "Invalid dispatch input"


# --- reading the world -----------------------------------------------------------------------


def travel_provider(settings: Settings) -> TravelProvider:
    """OSRM road times when a server is configured, else the solver's great-circle estimate."""
    return Osrm(settings.osrm_url) if settings.osrm_url else GreatCircle()


def site_location(order: ServiceOrder) -> Location | None:
    site = order.site
    if site is None or site.latitude is None or site.longitude is None:
        return None
    return Location(site.latitude, site.longitude)


def home_location(tech: Technician) -> Location | None:
    if tech.home_lat is None or tech.home_lon is None:
        return None
    return Location(tech.home_lat, tech.home_lon)


def visit_is_stale(visit: Visit, order: ServiceOrder) -> bool:
    """A planned visit its order let go of (a lapsed hold, another technician, an order
    cancelled or back before ``scheduled``). A visit that started is a record of work done
    and never stale."""
    if visit.status != V.planned:
        return False
    return order.technician_id != visit.technician_id or order.status not in LIVE_ORDER


def _visits_query(lock: bool = False):
    stmt = select(Visit).options(
        selectinload(Visit.order).selectinload(ServiceOrder.site),
        selectinload(Visit.order).selectinload(ServiceOrder.time_windows),
        selectinload(Visit.order).selectinload(ServiceOrder.customer),
    )
    if lock:
        stmt = stmt.with_for_update(of=Visit).execution_options(populate_existing=True)
    return stmt


def day_visits(session: Session, technician_id: int, day: date, *,
               lock: bool = False) -> list[Visit]:
    """The technician's current visits of local date ``day`` (stale ones left out), in
    time order; ``lock`` takes them ``FOR UPDATE``."""
    rows = session.scalars(_visits_query(lock).where(
        Visit.technician_id == technician_id, Visit.day == day).order_by(
        Visit.planned_start, Visit.id))
    return [v for v in rows if not visit_is_stale(v, v.order)]


def _get_visit(session: Session, visit_id: int, *, lock: bool = False) -> Visit:
    visit = session.scalar(_visits_query(lock).where(Visit.id == visit_id))
    if visit is None:
        raise VisitNotFound(f"no visit with id {visit_id}", field="visit_id")
    return visit


def _technician_ref(session: Session, technician_id: int) -> Technician:
    """A technician named in a request body: unknown or inactive is a 422."""
    tech = session.get(Technician, technician_id)
    if tech is None:
        raise InvalidDispatch(f"no technician with id {technician_id}", field="technician_id")
    if not tech.active:
        raise InvalidDispatch(f"technician {tech.name} is not active", field="technician_id")
    return tech


def _lock_technicians(session: Session, ids: Iterable[int]) -> None:
    """Row locks on the technicians, in id order (every schedule change takes them first)."""
    session.scalars(select(Technician.id).where(Technician.id.in_(sorted(set(ids))))
                    .order_by(Technician.id).with_for_update()).all()


def _working_day(cal: WorkCalendar, day: date) -> WorkingDay:
    return WorkingDay(
        windows=tuple(cal.shift_windows(day)),
        breaks=tuple(FlexBreak(e, lt, timedelta(seconds=d)) for e, lt, d in cal.breaks_on(day)),
        absences=tuple(cal.absences_on(day)),
        holiday=cal.holiday(day),
    )


def _stop(visit: Visit) -> Stop:
    return Stop(visit.id, visit.order_id, visit.order.number, visit.planned_start,
                visit.planned_end, site_location(visit.order))


def _skills(tech: Technician) -> frozenset[str]:
    return frozenset(s.code for s in tech.skills)


def _technician_day(tech: Technician, day: date, cal: WorkCalendar, visits: Sequence[Visit],
                    *, without: int | None = None) -> TechnicianDay:
    return TechnicianDay(
        technician_id=tech.id, day=day, skills=_skills(tech), home=home_location(tech),
        working=_working_day(cal, day),
        stops=tuple(_stop(v) for v in visits if v.id != without),
    )


def _table(settings: Settings, tech_day: TechnicianDay, *extra: Location | None) -> TravelTable:
    return TravelTable(travel_provider(settings),
                       [tech_day.home, *(s.location for s in tech_day.stops), *extra])


def _calendar(session: Session, tech: Technician, day: date, settings: Settings) -> WorkCalendar:
    around = datetime.combine(day, time(), tzinfo=UTC)
    return calendar_of(session, tech, settings=settings, start=around - timedelta(days=1),
                       end=around + timedelta(days=2))


def _resolve_start(session: Session, tech: Technician, day: date | None,
                   start: datetime | time, settings: Settings) -> tuple[date, datetime]:
    """(local day, UTC start) from an instant or a local time on ``day``."""
    if isinstance(start, datetime):
        if start.tzinfo is None or start.utcoffset() is None:
            raise InvalidDispatch("start needs a time zone offset (or send a local time and day)",
                                  field="start")
        at = start.astimezone(UTC)
        local = at.astimezone(ZoneInfo(zone_of(tech, settings))).date()
        if day is not None and day != local:
            raise InvalidDispatch(f"start {start.isoformat()} falls on {local} in the "
                                  f"technician's time zone, not on {day}", field="day")
        return local, at
    if day is None:
        raise InvalidDispatch("a local start time needs a day", field="day")
    if start.tzinfo is not None:
        raise InvalidDispatch("a local start time carries no offset", field="start")
    cal = _calendar(session, tech, day, settings)
    return day, cal.instant(day, start.hour * 60 + start.minute)


def _duration(order: ServiceOrder) -> timedelta:
    return timedelta(minutes=order.estimated_duration_minutes)


def _placement(order: ServiceOrder, start: datetime) -> Placement:
    return Placement(start, start + _duration(order), site_location(order),
                     frozenset(s.code for s in order.required_skills))


def _enforce(violations: list[Violation], force: bool) -> None:
    if violations and not force:
        first = violations[0]
        raise RuleBroken(first.detail, field="start" if first.rule != "skills"
                         else "technician_id", **first.data, rule=first.rule,
                         violations=[v.as_dict() for v in violations])


def _forced_reason(violations: Sequence[Violation]) -> str:
    return "; ".join(f"{v.rule}: {v.detail}" for v in violations)


def _order_of(session: Session, order_id: int) -> ServiceOrder:
    order = orders.order_for_update(session, order_id)
    session.refresh(order)  # the row as locked, with its collections reloaded lazily
    return order


def purge_stale_visits(session: Session, *, order_id: int | None = None) -> list[int]:
    """Delete planned visits their order let go of (lapsed holds); their ids.

    Only ``planned`` ones: a visit that was started or finished is a record of work done.
    """
    stmt = _visits_query().where(Visit.status == V.planned)
    if order_id is not None:
        stmt = stmt.where(Visit.order_id == order_id)
    gone = [v for v in session.scalars(stmt) if visit_is_stale(v, v.order)]
    for v in gone:
        session.delete(v)
    session.flush()
    return [v.id for v in gone]


def resequence(session: Session, tech: Technician, day: date, settings: Settings) -> None:
    """Number the technician's visits of ``day`` in time order and set each one's travel
    leg from the previous stop (home for the first)."""
    visits = day_visits(session, tech.id, day)
    home = home_location(tech)
    table = TravelTable(travel_provider(settings), [home, *(site_location(v.order)
                                                           for v in visits)])
    here = home
    for i, v in enumerate(visits, start=1):
        there = site_location(v.order)
        v.sequence = i
        v.travel_seconds = table.seconds(here, there)
        v.travel_meters = table.meters(here, there)
        here = there
    session.flush()


def _follow(session: Session, order: ServiceOrder, *, technician_id: int | None,
            start: datetime | None, user: User, now: datetime, note: str) -> None:
    """The order takes the visit's technician and start (history via orders.service), and
    goes ``ready -> scheduled`` (or back when the visit is gone)."""
    if order.technician_id != technician_id or order.scheduled_start != start:
        orders.update_order(session, order_id=order.id,
                            data=OrderUpdate(technician_id=technician_id, scheduled_start=start),
                            expected_version=order.version, user_id=user.id, now=now)
    if technician_id is not None and order.status == OrderStatus.ready:
        orders.change_status(session, order=order, to=OrderStatus.scheduled, user_id=user.id,
                             now=now, note=note)
    elif technician_id is None and order.status == OrderStatus.scheduled:
        orders.change_status(session, order=order, to=OrderStatus.ready, user_id=user.id,
                             now=now, note=note)


def _record_force(session: Session, order: ServiceOrder, visit: Visit,
                  violations: Sequence[Violation], *, what: str, user: User,
                  now: datetime) -> None:
    orders.record(session, order, event="dispatch_forced", user_id=user.id, now=now,
                  note=f"visit {visit.id} {what} by {user.username} against the rules: "
                       f"{_forced_reason(violations)}")


def _mark(visit: Visit, violations: Sequence[Violation], *, user: User, now: datetime) -> None:
    visit.forced = bool(violations)
    visit.forced_reason = _forced_reason(violations)
    visit.version += 1
    visit.updated_at = now
    visit.updated_by_id = user.id


def _show(at: datetime) -> str:
    return at.isoformat()


# --- manual dispatch -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """What a schedule change did, for the answer and the board's live update."""

    visit: Visit
    overridden: list[Violation]
    days: tuple[date, ...]
    technician_ids: tuple[int, ...]


def assign(session: Session, *, order_id: int, technician_id: int, day: date | None,
           start: datetime | time, pinned: bool, force: bool, user: User, now: datetime,
           settings: Settings) -> Change:
    """Create the visit of a ready (or scheduled, visit-less) order on a technician-day."""
    tech = _technician_ref(session, technician_id)
    _lock_technicians(session, [tech.id])
    order = _order_of(session, order_id)
    if order.status not in DISPATCHABLE:
        raise OrderNotDispatchable(
            f"order {order.number} is {order.status}; only ready or scheduled orders are "
            "dispatched", field="order_id", current=order.status)
    purge_stale_visits(session, order_id=order.id)
    current = session.scalar(select(Visit.id).where(
        Visit.order_id == order.id, Visit.status.in_([s.value for s in OPEN])).limit(1))
    if current is not None:
        raise OrderAlreadyDispatched(
            f"order {order.number} already has visit {current}; move that one instead",
            field="order_id", visit_id=current)
    local_day, at = _resolve_start(session, tech, day, start, settings)
    _same_day_taken(session, order, tech, local_day)
    visits = day_visits(session, tech.id, local_day, lock=True)
    tday = _technician_day(tech, local_day, _calendar(session, tech, local_day, settings), visits)
    placement = _placement(order, at)
    violations = rules.check(tday, placement, _table(settings, tday, placement.location))
    _enforce(violations, force)
    visit = Visit(order_id=order.id, technician_id=tech.id, day=local_day, planned_start=at,
                  planned_end=placement.end, arrival=at, pinned=pinned,
                  forced=bool(violations), forced_reason=_forced_reason(violations),
                  status=V.planned, version=1, created_at=now, updated_at=now,
                  updated_by_id=user.id)
    session.add(visit)
    session.flush()
    _follow(session, order, technician_id=tech.id, start=at, user=user, now=now,
            note=f"visit {visit.id} assigned by hand to {tech.name} at {_show(at)}")
    if violations:
        _record_force(session, order, visit, violations, what="assigned", user=user, now=now)
    resequence(session, tech, local_day, settings)
    return Change(visit, violations, (local_day,), (tech.id,))


def _same_day_taken(session: Session, order: ServiceOrder, tech: Technician, day: date,
                    without: int | None = None) -> None:
    other = session.scalar(select(Visit.id).where(
        Visit.order_id == order.id, Visit.technician_id == tech.id, Visit.day == day,
        Visit.id != (without or 0)))
    if other is not None:
        raise OrderAlreadyDispatched(
            f"order {order.number} already had visit {other} with {tech.name} on {day}",
            field="day", visit_id=other)


def _version(expected: int | None) -> int:
    if expected is None:
        raise PreconditionRequired("send If-Match (or version) with the visit's version you read",
                                   field="If-Match")
    return expected


def _open_visit(session: Session, visit_id: int, *, also_lock: Iterable[int] = ()) -> Visit:
    """The visit locked for a change (its technician and ``also_lock`` first)."""
    first = _get_visit(session, visit_id)
    _lock_technicians(session, [first.technician_id, *also_lock])
    return _get_visit(session, visit_id, lock=True)


def move(session: Session, *, visit_id: int, technician_id: int | None, day: date | None,
         start: datetime | time, force: bool, expected_version: int | None, user: User,
         now: datetime, settings: Settings) -> Change:
    """Move a planned visit to another technician, day or start; a stale version is a 409."""
    version = _version(expected_version)
    target = None if technician_id is None else _technician_ref(session, technician_id)
    visit = _open_visit(session, visit_id, also_lock=[target.id] if target else [])
    check_version(visit.version, version, f"visit {visit.id}")
    order = _order_of(session, visit.order_id)
    _changeable(visit, order)
    tech = target or visit.technician
    old_tech, old_day = visit.technician, visit.day
    local_day, at = _resolve_start(session, tech, day, start, settings)
    _same_day_taken(session, order, tech, local_day, without=visit.id)
    visits = day_visits(session, tech.id, local_day, lock=True)
    tday = _technician_day(tech, local_day, _calendar(session, tech, local_day, settings), visits,
                           without=visit.id)
    placement = _placement(order, at)
    violations = rules.check(tday, placement, _table(settings, tday, placement.location))
    _enforce(violations, force)
    visit.technician_id, visit.day = tech.id, local_day
    visit.planned_start, visit.planned_end, visit.arrival = at, placement.end, at
    _mark(visit, violations, user=user, now=now)
    session.flush()
    session.expire(visit, ["technician"])
    _follow(session, order, technician_id=tech.id, start=at, user=user, now=now,
            note=f"visit {visit.id} moved by hand")
    if violations:
        _record_force(session, order, visit, violations, what="moved", user=user, now=now)
    resequence(session, tech, local_day, settings)
    if (old_tech.id, old_day) != (tech.id, local_day):
        resequence(session, old_tech, old_day, settings)
    return Change(visit, violations, tuple(sorted({old_day, local_day})),
                  tuple(sorted({old_tech.id, tech.id})))


def _changeable(visit: Visit, order: ServiceOrder) -> None:
    if visit_is_stale(visit, order):
        raise VisitNotChangeable(
            f"visit {visit.id} is no longer part of the schedule: order {order.number} let go "
            "of it (its hold lapsed?); assign the order again", current=visit.status)
    if visit.status != V.planned:
        raise VisitNotChangeable(
            f"visit {visit.id} is {visit.status}; only planned visits are moved or unassigned",
            current=visit.status)


def unassign(session: Session, *, visit_id: int, expected_version: int | None, user: User,
             now: datetime, settings: Settings) -> Change:
    """Delete a planned visit; the order goes back to ``ready`` without technician or start."""
    visit = _open_visit(session, visit_id)
    if expected_version is not None:
        check_version(visit.version, expected_version, f"visit {visit.id}")
    order = _order_of(session, visit.order_id)
    if not visit_is_stale(visit, order):  # else the order let go of it already
        _changeable(visit, order)
        _follow(session, order, technician_id=None, start=None, user=user, now=now,
                note=f"visit {visit.id} unassigned by hand")
    tech, day = visit.technician, visit.day
    session.delete(visit)
    session.flush()
    resequence(session, tech, day, settings)
    return Change(visit, [], (day,), (tech.id,))


def set_pinned(session: Session, *, visit_id: int, pinned: bool, force: bool,
               expected_version: int | None, user: User, now: datetime,
               settings: Settings) -> Change:
    """Pin (later runs keep it where it is) or unpin a planned visit. Pinning checks the
    rules where the visit stands, since a run may not move it away from a broken rule."""
    visit = _open_visit(session, visit_id)
    if expected_version is not None:
        check_version(visit.version, expected_version, f"visit {visit.id}")
    order = _order_of(session, visit.order_id)
    _changeable(visit, order)
    if visit.pinned == pinned:
        return Change(visit, [], (visit.day,), (visit.technician_id,))
    violations: list[Violation] = []
    if pinned:
        tech = visit.technician
        visits = day_visits(session, tech.id, visit.day, lock=True)
        tday = _technician_day(tech, visit.day, _calendar(session, tech, visit.day, settings),
                               visits, without=visit.id)
        placement = _placement(order, visit.planned_start)
        violations = rules.check(tday, placement, _table(settings, tday, placement.location))
        _enforce(violations, force)
        _mark(visit, violations, user=user, now=now)
        if violations:
            _record_force(session, order, visit, violations, what="pinned", user=user, now=now)
    else:
        visit.version += 1
        visit.updated_at, visit.updated_by_id = now, user.id
    visit.pinned = pinned
    session.flush()
    return Change(visit, violations, (visit.day,), (visit.technician_id,))


def get_visit(session: Session, *, visit_id: int, viewer: User) -> Visit:
    visit = _get_visit(session, visit_id)
    _own(session, visit.technician_id, viewer)
    return visit


def _own(session: Session, technician_id: int, viewer: User) -> None:
    """Technicians see and report only their own day; other roles pass."""
    if viewer.role != Role.technician:
        return
    owner = session.scalar(select(Technician.user_id).where(Technician.id == technician_id))
    if owner != viewer.id:
        raise NotYourVisit("this is another technician's work")


# --- day-of changes and ETAs -----------------------------------------------------------------


def _order_windows(order: ServiceOrder) -> list[rules.Interval]:
    return sorted((w.starts_at, w.ends_at) for w in order.time_windows)


def _window_of(order: ServiceOrder, planned_start: datetime) -> rules.Interval | None:
    """The customer's window the plan serves: the one holding the planned start, else the
    next one ending after it, else the last."""
    windows = _order_windows(order)
    for a, b in windows:
        if planned_start <= b:
            return (a, b)
    return windows[-1] if windows else None


def expected_start(shift: Sequence[rules.Interval], order: ServiceOrder, eta: datetime,
                   duration: timedelta) -> datetime:
    """When service can start after arriving at ``eta``: not before the customer's window,
    never in a break nor running into one (the solver's rules)."""
    at = eta
    for a, b in _order_windows(order):
        if at <= b:
            at = max(at, a)
            break
    for i, (a, b) in enumerate(shift):
        if at < a:
            return a
        if at < b:
            if at + duration > b and i + 1 < len(shift):
                return shift[i + 1][0]
            return at
    return at


@dataclass(frozen=True, slots=True)
class Report:
    """What a status report did, for the answer and the live updates."""

    visit: Visit
    order_changed: bool  # the order's status, history, time or lines: its version moved


def report_status(session: Session, *, visit_id: int, status: str, at: datetime | None,
                  note: str, user: User, now: datetime, settings: Settings,
                  time_entries: Sequence[TimeWorked] | None = None,
                  parts_used: Sequence[PartUsed] = ()) -> Report:
    """A technician (or a dispatcher for him) reports on a visit; the order follows
    (arrived: ``in_progress``; done: ``completed`` if it was in progress; can't finish: a
    history entry) and the ETAs of his remaining visits that day are recomputed from the
    reported time.

    Done logs his time (``time_entries``, default: the travel leg and the time on site) and
    the ``parts_used`` on the order (dispatch.dispatching.work), in the same transaction."""
    first = _get_visit(session, visit_id)
    _own(session, first.technician_id, user)
    when = now if at is None else at.astimezone(UTC)
    if when > now + CLOCK_SKEW:
        raise InvalidDispatch(f"at {_show(when)} is in the future", field="at")
    visit = _open_visit(session, visit_id)
    order = _order_of(session, visit.order_id)
    if visit_is_stale(visit, order):
        raise VisitNotChangeable(f"visit {visit.id} is no longer part of the schedule",
                                 current=visit.status)
    order_version = order.version
    allowed = VISIT_TRANSITIONS[visit.status]
    if status not in allowed:
        raise VisitTransitionNotAllowed(
            f"visit {visit.id} is {visit.status}; it can go to "
            f"{', '.join(sorted(allowed)) or 'nothing (it is finished)'}", field="status",
            current=visit.status, allowed=sorted(allowed))
    visit.status, visit.status_at = status, when
    if note:
        visit.note = note
    visit.version += 1
    visit.updated_at, visit.updated_by_id = now, user.id
    said = f"visit {visit.id}: {status.replace('_', ' ')} at {_show(when)}" + (
        f" ({note})" if note else "")
    if status == V.arrived:
        visit.arrived_at = visit.arrival = when
        if order.status in (OrderStatus.ready, OrderStatus.scheduled):
            orders.change_status(session, order=order, to=OrderStatus.in_progress,
                                 user_id=user.id, now=now, note=said)
    elif status == V.done:
        if visit.arrived_at is not None and when < visit.arrived_at:
            raise InvalidDispatch(f"done at {_show(when)} is before the arrival at "
                                  f"{_show(visit.arrived_at)}", field="at")
        visit.finished_at = when
        work.log_time(session, visit=visit, order=order, entries=time_entries, end=when,
                      latest=now + CLOCK_SKEW, user_id=user.id, now=now)
        work.use_parts(session, visit=visit, order=order, parts=parts_used, user_id=user.id,
                       now=now)
        if order.status == OrderStatus.in_progress:
            orders.change_status(session, order=order, to=OrderStatus.completed,
                                 user_id=user.id, now=now, note=said)
    elif status == V.cant_finish:
        visit.finished_at = when
        orders.record(session, order, event="visit_cant_finish", user_id=user.id, now=now,
                      note=said)
    session.flush()
    recompute_etas(session, visit=visit, at=when, settings=settings)
    return Report(visit, order.version != order_version)


def recompute_etas(session: Session, *, visit: Visit, at: datetime, settings: Settings) -> None:
    """From a report on ``visit`` at ``at``: its own ETA (on the way: now plus the travel from
    the previous stop) and those of his later planned visits that day, in sequence, each
    after the previous one's expected end plus travel (travel only in working time)."""
    tech = visit.technician
    cal = _calendar(session, tech, visit.day, settings)
    shift = cal.shift_windows(visit.day)
    visits = day_visits(session, tech.id, visit.day)
    visits.sort(key=lambda v: (v.sequence, v.planned_start, v.id))
    index = next(i for i, v in enumerate(visits) if v.id == visit.id)
    home = home_location(tech)
    table = TravelTable(travel_provider(settings),
                        [home, *(site_location(v.order) for v in visits)])
    before = site_location(visits[index - 1].order) if index else home
    here = site_location(visit.order)
    duration = visit.planned_end - visit.planned_start
    if visit.status == V.on_the_way:
        visit.arrival = at + timedelta(seconds=table.seconds(before, here))
        free = expected_start(shift, visit.order, visit.arrival, duration) + duration
    elif visit.status == V.arrived:
        free = at + duration
    else:
        free = at
    for nxt in visits[index + 1:]:
        if nxt.status != V.planned:
            continue
        there = site_location(nxt.order)
        nxt.arrival = rules.advance(shift, free, table.seconds(here, there))
        nxt.updated_at = at
        span = nxt.planned_end - nxt.planned_start
        free = expected_start(shift, nxt.order, nxt.arrival, span) + span
        here = there
    session.flush()


@dataclass(frozen=True, slots=True)
class DayVisit:
    visit: Visit
    eta: datetime
    start: datetime
    end: datetime
    window_end: datetime | None
    late_reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Day:
    technician: Technician
    day: date
    timezone: str
    holiday: str | None
    shift: list[rules.Interval]
    visits: list[DayVisit]

    @property
    def late(self) -> bool:
        return any(v.late_reasons for v in self.visits)


def technician_day(session: Session, *, technician_id: int, day: date, viewer: User,
                   settings: Settings) -> Day:
    """The day's visits with ETAs, expected service times and lateness: a visit is late
    when its expected start passes the end of the customer's window, or its expected end
    the end of the shift."""
    tech = session.get(Technician, technician_id)
    if tech is None:
        raise TechnicianNotFound(f"no technician with id {technician_id}",
                                 field="technician_id")
    _own(session, tech.id, viewer)
    return assess_day(tech, day, _calendar(session, tech, day, settings),
                      day_visits(session, tech.id, day))


def assess_day(tech: Technician, day: date, cal: WorkCalendar, visits: Sequence[Visit]) -> Day:
    """:func:`technician_day` once the calendar and the day's current visits (stale ones
    left out, orders with their windows loaded) are at hand; no queries of its own beyond
    lazy loads."""
    shift = cal.shift_windows(day)
    visits = sorted(visits, key=lambda v: (v.sequence, v.planned_start, v.id))
    out = []
    for v in visits:
        span = v.planned_end - v.planned_start
        eta = v.arrived_at or v.arrival
        start = v.arrived_at or expected_start(shift, v.order, eta, span)
        end = v.finished_at or start + span
        window = _window_of(v.order, v.planned_start)
        reasons: list[str] = []
        if v.status not in FINISHED:
            if window is not None and start > window[1]:
                reasons.append("window")
            if shift and end > shift[-1][1]:
                reasons.append("shift")
        out.append(DayVisit(v, eta, start, end, window[1] if window else None, tuple(reasons)))
    return Day(tech, day, cal.timezone, cal.holiday(day), shift, out)


def delay_minutes(item: DayVisit) -> int:
    late = (item.start - item.visit.planned_start).total_seconds()
    return max(0, math.ceil(late / 60))


# --- appointment slots -----------------------------------------------------------------------


def _slot_need(order: ServiceOrder, now: datetime) -> slots.Need:
    location = site_location(order)
    if location is None:
        raise InvalidDispatch(f"the site of order {order.number} has no coordinates; travel "
                              "cannot be estimated", field="site_id")
    return slots.Need(location=location, duration=_duration(order),
                      skills=frozenset(s.code for s in order.required_skills),
                      windows=tuple(_order_windows(order)), not_before=now)


def _offerable(session: Session, order: ServiceOrder) -> None:
    if order.status not in appointments.PROPOSABLE:
        raise appointments.AppointmentNotAllowed(
            f"order {order.number} is {order.status}; slots are offered for ready or scheduled "
            "orders", field="order_id", current=order.status,
            allowed=[s.value for s in appointments.PROPOSABLE])
    started = session.scalar(select(Visit.id).where(
        Visit.order_id == order.id, Visit.status.in_([V.on_the_way, V.arrived])).limit(1))
    if started is not None:
        raise OrderAlreadyDispatched(f"visit {started} of order {order.number} is under way",
                                     field="order_id", visit_id=started)


def find_slots(session: Session, *, order_id: int, days: int, width: timedelta, limit: int,
               now: datetime, settings: Settings) -> tuple[ServiceOrder, list[slots.Slot],
                                                           dict[int, Technician]]:
    """Arrival windows for the order over ``days`` local days from today (company zone),
    among active technicians with the order's skills; the order's own planned visit, if it
    has one, is left out (booking moves it)."""
    order = orders.get_order(session, order_id=order_id)
    _offerable(session, order)
    need = _slot_need(order, now)
    techs = [t for t in session.scalars(select(Technician).where(Technician.active.is_(True))
                                        .options(selectinload(Technician.skills))
                                        .order_by(Technician.id))
             if need.skills <= _skills(t)]
    today = now.astimezone(ZoneInfo(settings.default_timezone)).date()
    dates = [today + timedelta(days=i) for i in range(days)]
    start = datetime.combine(dates[0], time(), tzinfo=UTC) - timedelta(days=1)
    end = datetime.combine(dates[-1], time(), tzinfo=UTC) + timedelta(days=2)
    cals = load_calendars(session, techs, start=start, end=end, settings=settings)
    rows = session.scalars(_visits_query().where(
        Visit.technician_id.in_([t.id for t in techs]), Visit.day.in_(dates),
        Visit.order_id != order.id).order_by(Visit.planned_start, Visit.id)) if techs else []
    by_day: dict[tuple[int, date], list[Visit]] = {}
    for v in rows:
        if not visit_is_stale(v, v.order):
            by_day.setdefault((v.technician_id, v.day), []).append(v)
    tech_days = [_technician_day(t, d, cals[t.id], by_day.get((t.id, d), []))
                 for t in techs for d in dates]
    table = TravelTable(travel_provider(settings), [need.location, *(
        loc for td in tech_days for loc in (td.home, *(s.location for s in td.stops)))])
    found = slots.offer(tech_days, need, table, width=width, limit=limit)
    return order, found, {t.id: t for t in techs}


@dataclass(frozen=True, slots=True)
class Booking:
    order: ServiceOrder
    slot: slots.Slot
    visit: Visit
    confirm_by: datetime


def book_slot(session: Session, *, order_id: int, technician_id: int, start: datetime,
              width: timedelta, user: User, now: datetime, settings: Settings,
              confirmation: timedelta) -> Booking:
    """Hold the window as a proposed appointment (orders.appointments) and create the visit.

    Re-validated here with the technician and his visits locked: of two bookings racing for
    the last slot the second finds it taken (409 ``slot-unavailable``). A re-booking moves
    the order's planned visit."""
    tech = _technician_ref(session, technician_id)
    start = start.astimezone(UTC)
    if start <= now:
        raise InvalidDispatch("that window has already begun; ask for slots again",
                              field="start")
    _lock_technicians(session, [tech.id])
    order = _order_of(session, order_id)
    _offerable(session, order)
    need = _slot_need(order, now)
    cal = _calendar(session, tech, start.date(), settings)
    day = cal.local_date(start)
    visits = [v for v in day_visits(session, tech.id, day, lock=True) if v.order_id != order.id]
    tday = _technician_day(tech, day, cal, visits)
    table = _table(settings, tday, need.location)
    slot = slots.best_in_window(tday, need, (start, start + width), table)
    if slot is None:
        at = max(start, now)
        why = rules.check(tday, Placement(at, at + need.duration, need.location, need.skills),
                          table)
        first = why[0] if why else None
        raise SlotUnavailable(
            f"{tech.name} cannot take order {order.number} between {_show(start)} and "
            f"{_show(start + width)}" + (f": {first.detail}" if first else ""),
            field="start", rule=first.rule if first else None,
            violations=[v.as_dict() for v in why])
    for old in session.scalars(select(Visit).where(Visit.order_id == order.id,
                                                   Visit.status == V.planned)).all():
        old_tech, old_day = old.technician, old.day
        session.delete(old)
        session.flush()
        resequence(session, old_tech, old_day, settings)
    _same_day_taken(session, order, tech, day)
    appointments.propose_appointment(session, order_id=order.id, start=slot.start,
                                     technician_id=tech.id, user_id=user.id, now=now,
                                     window=confirmation)
    visit = Visit(order_id=order.id, technician_id=tech.id, day=day, planned_start=slot.start,
                  planned_end=slot.start + need.duration, arrival=slot.start, status=V.planned,
                  version=1, created_at=now, updated_at=now, updated_by_id=user.id,
                  note=f"arrival window {_show(start)} to {_show(start + width)}")
    session.add(visit)
    session.flush()
    resequence(session, tech, day, settings)
    return Booking(order, slot, visit, confirmation_deadline(now, confirmation))

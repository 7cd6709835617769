"""HTTP routes of manual dispatch, day-of status reports and appointment slots.

Roles: dispatchers (and admins) place, move, unassign and pin visits; a technician reports
on and reads only his own day (a dispatcher may do it for him); the back office
(dispatcher, billing) offers and books appointment slots. Every change publishes
``visits.changed`` for the board after its commit; unassigning, and a status report that
changed the order (its status, history, time or lines), publish ``orders.changed`` too.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response

from dispatch.core.web import (
    ClockDep,
    CurrentUser,
    IdempotencyDep,
    SessionDep,
    SettingsDep,
    etag,
    if_match_version,
    require_role,
)
from dispatch.dispatching import schemas as s
from dispatch.dispatching import service
from dispatch.events import EventsDep

OptionalIfMatch = Annotated[str | None, Header(alias="If-Match")]
dispatcher = [Depends(require_role("dispatcher"))]
field_staff = [Depends(require_role("dispatcher", "technician"))]
back_office = [Depends(require_role("dispatcher", "billing"))]

router = APIRouter(tags=["dispatching"])


def _version(if_match: str | None, body_version: int | None = None) -> int | None:
    return if_match_version(if_match) if if_match is not None else body_version


def _answer(change: service.Change, response: Response) -> s.VisitRead:
    out = s.visit_read(change.visit, [v.as_dict() for v in change.overridden])
    etag(response, out.version)
    return out


def _publish(events: Any, change: service.Change, reason: str) -> None:
    events.publish("visits.changed", days=change.days, visit_ids=[change.visit.id],
                   technician_ids=list(change.technician_ids), reason=reason)


@router.post("/visits", status_code=201, response_model=s.VisitRead, dependencies=dispatcher,
             description="Roles: dispatcher. Assigns a ready order to a technician, day and "
                         "start. A broken rule is a 409 whose `rule` is one of skills, "
                         "absence, shift, break, overlap, travel (all in `violations`), unless "
                         "`force` is true, which is recorded on the visit and in the order's "
                         "history. Takes Idempotency-Key.")
def create_visit(body: s.VisitCreate, session: SessionDep, user: CurrentUser, clock: ClockDep,
                 settings: SettingsDep, idem: IdempotencyDep, events: EventsDep,
                 response: Response) -> Any:
    if r := idem.replay():
        return r
    change = service.assign(session, order_id=body.order_id, technician_id=body.technician_id,
                            day=body.day, start=body.start, pinned=body.pinned, force=body.force,
                            user=user, now=clock.now(), settings=settings)
    out = _answer(change, response)
    idem.save(out, 201)
    session.commit()
    _publish(events, change, "assigned")
    return out


@router.get("/visits/{visit_id}", response_model=s.VisitRead, dependencies=field_staff,
            description="Roles: dispatcher, technician (his own). ETag: the version to send "
                        "as If-Match when moving it.")
def read_visit(visit_id: int, session: SessionDep, user: CurrentUser,
               response: Response) -> Any:
    visit = service.get_visit(session, visit_id=visit_id, viewer=user)
    out = s.visit_read(visit)
    etag(response, out.version)
    return out


@router.post("/visits/{visit_id}/move", response_model=s.VisitRead, dependencies=dispatcher,
             description="Roles: dispatcher. Moves a planned visit (technician, day, start), "
                         "validated like an assignment (409 naming the rule unless `force`). "
                         "Needs If-Match (or `version`): a stale one is a 409.")
def move_visit(visit_id: int, body: s.VisitMove, session: SessionDep, user: CurrentUser,
               clock: ClockDep, settings: SettingsDep, events: EventsDep, response: Response,
               if_match: OptionalIfMatch = None) -> Any:
    change = service.move(session, visit_id=visit_id, technician_id=body.technician_id,
                          day=body.day, start=body.start, force=body.force,
                          expected_version=_version(if_match, body.version), user=user,
                          now=clock.now(), settings=settings)
    out = _answer(change, response)
    session.commit()
    _publish(events, change, "moved")
    return out


@router.delete("/visits/{visit_id}", status_code=204, dependencies=dispatcher,
               description="Roles: dispatcher. Unassigns a planned visit: the order goes back "
                           "to ready without technician or start. If-Match optional.")
def delete_visit(visit_id: int, session: SessionDep, user: CurrentUser, clock: ClockDep,
                 settings: SettingsDep, events: EventsDep,
                 if_match: OptionalIfMatch = None) -> Response:
    change = service.unassign(session, visit_id=visit_id, expected_version=_version(if_match),
                              user=user, now=clock.now(), settings=settings)
    order_id = change.visit.order_id
    session.commit()
    _publish(events, change, "unassigned")
    events.publish("orders.changed", days=change.days, order_ids=[order_id])
    return Response(status_code=204)


def _pin(visit_id: int, pinned: bool, body: s.PinRequest | None, session: Any, user: Any,
         clock: Any, settings: Any, events: Any, response: Response,
         if_match: str | None) -> s.VisitRead:
    change = service.set_pinned(session, visit_id=visit_id, pinned=pinned,
                                force=bool(body and body.force),
                                expected_version=_version(if_match), user=user,
                                now=clock.now(), settings=settings)
    out = _answer(change, response)
    session.commit()
    _publish(events, change, "pinned" if pinned else "unpinned")
    return out


@router.post("/visits/{visit_id}/pin", response_model=s.VisitRead, dependencies=dispatcher,
             description="Roles: dispatcher. Later scheduling runs keep the visit where it is. "
                         "Checked against the rules where it stands (409 unless `force`). "
                         "If-Match optional.")
def pin_visit(visit_id: int, session: SessionDep, user: CurrentUser, clock: ClockDep,
              settings: SettingsDep, events: EventsDep, response: Response,
              body: s.PinRequest | None = None, if_match: OptionalIfMatch = None) -> Any:
    return _pin(visit_id, True, body, session, user, clock, settings, events, response,
                if_match)


@router.post("/visits/{visit_id}/unpin", response_model=s.VisitRead, dependencies=dispatcher,
             description="Roles: dispatcher. Later scheduling runs may move the visit again. "
                         "If-Match optional.")
def unpin_visit(visit_id: int, session: SessionDep, user: CurrentUser, clock: ClockDep,
                settings: SettingsDep, events: EventsDep, response: Response,
                if_match: OptionalIfMatch = None) -> Any:
    return _pin(visit_id, False, None, session, user, clock, settings, events, response,
                if_match)


@router.post("/visits/{visit_id}/status", response_model=s.VisitRead, dependencies=field_staff,
             description="Roles: technician (his own visits), dispatcher. on_the_way, "
                         "arrived (the order goes in_progress), done (completed, if it was in "
                         "progress), cant_finish; the ETAs of his later visits that day are "
                         "recomputed from `at` (default now). Done logs `time_entries` "
                         "(default: the travel leg with its km and the time on site) and "
                         "`parts_used` on the order, priced like any time entry and part "
                         "line; a refused entry or part is a 4xx naming it and saves nothing "
                         "of the report.")
def report_status(visit_id: int, body: s.StatusReport, session: SessionDep, user: CurrentUser,
                  clock: ClockDep, settings: SettingsDep, events: EventsDep,
                  response: Response) -> Any:
    report = service.report_status(session, visit_id=visit_id, status=body.status, at=body.at,
                                   note=body.note, user=user, now=clock.now(),
                                   settings=settings, time_entries=body.time_entries,
                                   parts_used=body.parts_used)
    visit = report.visit
    out = s.visit_read(visit)
    etag(response, out.version)
    session.commit()
    events.publish("visits.changed", days=[visit.day], visit_ids=[visit.id],
                   technician_ids=[visit.technician_id], reason=body.status)
    if report.order_changed:
        events.publish("orders.changed", days=[visit.day], order_ids=[visit.order_id])
    return out


@router.get("/technicians/{technician_id}/day", response_model=s.DayRead,
            dependencies=field_staff,
            description="Roles: technician (his own day), dispatcher. The day's visits in "
                        "sequence with ETAs, expected service times, and `late` when a visit "
                        "is expected past its window's end or the shift's end.")
def technician_day(technician_id: int, session: SessionDep, user: CurrentUser,
                   settings: SettingsDep, day: Annotated[date, Query(alias="date")]) -> Any:
    d = service.technician_day(session, technician_id=technician_id, day=day, viewer=user,
                               settings=settings)
    return s.DayRead(
        technician_id=d.technician.id, technician_name=d.technician.name, date=d.day,
        timezone=d.timezone, holiday=d.holiday, late=d.late,
        shift=[s.Interval(start=a, end=b) for a, b in d.shift],
        visits=[s.DayVisitRead(
            id=x.visit.id, order_id=x.visit.order_id, order_number=x.visit.order.number,
            customer_name=x.visit.order.customer.legal_name, sequence=x.visit.sequence,
            status=x.visit.status, planned_start=x.visit.planned_start,
            planned_end=x.visit.planned_end, eta=x.eta, expected_start=x.start,
            expected_end=x.end, window_end=x.window_end,
            delay_minutes=service.delay_minutes(x), late=bool(x.late_reasons),
            late_reasons=list(x.late_reasons), pinned=x.visit.pinned, forced=x.visit.forced,
            version=x.visit.version) for x in d.visits])


@router.get("/orders/{order_id}/slots", response_model=s.SlotsRead, dependencies=back_office,
            description="Roles: dispatcher, billing. Up to `limit` arrival windows "
                        "(`width_minutes` wide) over the next `days` days where a technician "
                        "with the order's skills can take it without breaking his day, the "
                        "least added travel first.")
def order_slots(order_id: int, session: SessionDep, clock: ClockDep, settings: SettingsDep,
                days: Annotated[int, Query(ge=1, le=31)] = 5,
                width_minutes: Annotated[int, Query(ge=15, le=480)] = 120,
                limit: Annotated[int, Query(ge=1, le=50)] = 5) -> Any:
    order, found, techs = service.find_slots(
        session, order_id=order_id, days=days, width=timedelta(minutes=width_minutes),
        limit=limit, now=clock.now(), settings=settings)
    return s.SlotsRead(order_id=order.id, width_minutes=width_minutes, slots=[s.SlotRead(
        technician_id=x.technician_id, technician_name=techs[x.technician_id].name, day=x.day,
        window_start=x.window_start, window_end=x.window_end, planned_start=x.start,
        added_travel_minutes=x.added_travel_minutes) for x in found])


@router.post("/orders/{order_id}/slots/book", status_code=201, response_model=s.BookingRead,
             dependencies=back_office,
             description="Roles: dispatcher, billing. Holds an offered window as a proposed "
                         "appointment (the customer confirms within settings."
                         "confirmation_hours or the hold lapses) and plans the visit. The slot "
                         "is checked again with the technician's day locked: taken meanwhile "
                         "is a 409 (slot-unavailable). Takes Idempotency-Key.")
def book_slot(order_id: int, body: s.SlotBooking, session: SessionDep, user: CurrentUser,
              clock: ClockDep, settings: SettingsDep, idem: IdempotencyDep,
              events: EventsDep) -> Any:
    if r := idem.replay():
        return r
    width = timedelta(minutes=body.width_minutes)
    booked = service.book_slot(
        session, order_id=order_id, technician_id=body.technician_id, start=body.start,
        width=width, user=user, now=clock.now(), settings=settings,
        confirmation=timedelta(hours=settings.confirmation_hours))
    out = s.BookingRead(
        order_id=booked.order.id, order_status=booked.order.status,
        order_version=booked.order.version, window_start=booked.slot.window_start,
        window_end=booked.slot.window_end, added_travel_minutes=booked.slot.added_travel_minutes,
        confirm_by=booked.confirm_by, visit=s.visit_read(booked.visit))
    idem.save(out, 201)
    session.commit()
    events.publish("visits.changed", days=[booked.visit.day], visit_ids=[booked.visit.id],
                   technician_ids=[booked.visit.technician_id], reason="booked")
    return out

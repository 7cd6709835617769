"""Appointments proposed to customers: propose, confirm, release when unconfirmed.

A proposed appointment books the visit (the order goes ``ready -> scheduled``
with ``scheduled_start`` at the proposed time) and waits for the customer's
confirmation. The window is elapsed time from the proposal (seed 004: 24 hours,
``settings.confirmation_hours``), counted by contracts/sla.py: a confirmation at
the deadline instant still counts, one after it does not. When the window has
passed unconfirmed, ``release_lapsed_appointments`` un-books the visit (time and
technician cleared, ``scheduled -> ready``) so the order is planned again, and
says so in the order's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.sla import DEFAULT_CONFIRMATION_WINDOW, confirmation_deadline, confirmation_lapsed
from dispatch.core.errors import InvalidState, ValidationFailed
from dispatch.core.web import check_version
from orders import service
from orders.lifecycle import ACTIVE, OrderStatus
from orders.models import ServiceOrder

# An appointment is proposed for work that is ready to be planned, or re-proposed.
PROPOSABLE = (OrderStatus.ready, OrderStatus.scheduled)
# Once work has started (or ended) the visit took place: nothing is left to release.
RELEASABLE = tuple(s for s in ACTIVE if s != OrderStatus.in_progress)


class AppointmentNotAllowed(InvalidState):
    code = "appointment-not-allowed"
    title = "No appointment can be proposed in the order's status"


class NoAppointment(InvalidState):
    code = "no-appointment"
    title = "The order has no proposed appointment"


class AppointmentLapsed(InvalidState):
    code = "appointment-lapsed"
    title = "The confirmation window of the appointment has passed"


class InvalidAppointment(ValidationFailed):
    code = "invalid-appointment"
    title = "Invalid appointment"


def _show(at: datetime) -> str:
    return at.isoformat()


def propose_appointment(session: Session, *, order_id: int, start: datetime, user_id: int | None,
                        now: datetime, technician_id: int | None = None,
                        window: timedelta = DEFAULT_CONFIRMATION_WINDOW,
                        expected_version: int | None = None) -> ServiceOrder:
    """Book ``start`` for the visit and wait for the customer's confirmation.

    A new proposal replaces an unconfirmed or confirmed one (the customer asked
    for another time). ``start`` must lie in the future.
    """
    order = service.order_for_update(session, order_id)
    if expected_version is not None:
        check_version(order.version, expected_version, f"order {order.number}")
    if order.status not in PROPOSABLE:
        raise AppointmentNotAllowed(
            f"order {order.number} is {order.status}; an appointment is proposed for a ready "
            "or scheduled order", field="status", current=order.status,
            allowed=[s.value for s in PROPOSABLE])
    if start <= now:
        raise InvalidAppointment(f"the appointment {_show(start)} is not in the future",
                                 field="start")
    if technician_id is not None:
        service.check_technician(session, technician_id)
        order.technician_id = technician_id
    deadline = confirmation_deadline(now, window)
    order.appointment_start = start
    order.appointment_proposed_at = now
    order.appointment_confirmed_at = None
    order.scheduled_start = start
    note = f"appointment {_show(start)} proposed; to be confirmed by {_show(deadline)}"
    if order.status == OrderStatus.ready:
        service.change_status(session, order=order, to=OrderStatus.scheduled, user_id=user_id,
                              now=now, note=note)
    else:
        service.record(session, order, event="appointment_proposed", user_id=user_id, now=now,
                       note=note)
    return order


def confirm_appointment(session: Session, *, order_id: int, user_id: int | None, now: datetime,
                        window: timedelta = DEFAULT_CONFIRMATION_WINDOW) -> ServiceOrder:
    """The customer confirms; too late (past the window) is a 409 and changes nothing.

    Confirming an appointment already confirmed changes nothing either.
    """
    order = service.order_for_update(session, order_id)
    if order.appointment_proposed_at is None or order.appointment_start is None:
        raise NoAppointment(f"order {order.number} has no proposed appointment to confirm")
    if order.appointment_confirmed_at is not None:
        return order
    if confirmation_lapsed(order.appointment_proposed_at, now, window=window):
        deadline = confirmation_deadline(order.appointment_proposed_at, window)
        raise AppointmentLapsed(
            f"the appointment of order {order.number} had to be confirmed by "
            f"{_show(deadline)}; propose a new one", deadline=_show(deadline))
    order.appointment_confirmed_at = now
    service.record(session, order, event="appointment_confirmed", user_id=user_id, now=now,
                   note=f"appointment {_show(order.appointment_start)} confirmed")
    return order


@dataclass(frozen=True, slots=True)
class Released:
    order_id: int
    number: str
    appointment_start: datetime
    proposed_at: datetime
    deadline: datetime


def release_lapsed_appointments(session: Session, *, now: datetime,
                                window: timedelta = DEFAULT_CONFIRMATION_WINDOW,
                                user_id: int | None = None) -> list[Released]:
    """Release every appointment not confirmed within ``window`` of its proposal.

    The visit is un-booked (appointment, ``scheduled_start`` and technician
    cleared); a scheduled order goes back to ``ready``, with a history entry
    either way. Orders whose work has started or ended are left alone. Running
    it twice releases nothing the second time.
    """
    if window <= timedelta(0):
        raise InvalidAppointment("the confirmation window must be positive",
                                 field="confirmation_hours")
    rows = session.scalars(
        select(ServiceOrder)
        .where(ServiceOrder.appointment_proposed_at.is_not(None),
               ServiceOrder.appointment_confirmed_at.is_(None),
               # confirmation_lapsed: now > proposed + window
               ServiceOrder.appointment_proposed_at < now - window,
               ServiceOrder.status.in_([s.value for s in RELEASABLE]))
        .order_by(ServiceOrder.id)
        .with_for_update()
    )
    released = []
    for order in rows:
        proposed, start = order.appointment_proposed_at, order.appointment_start
        if not confirmation_lapsed(proposed, now, window=window):
            continue
        deadline = confirmation_deadline(proposed, window)
        order.appointment_start = None
        order.appointment_proposed_at = None
        order.scheduled_start = None
        order.technician_id = None
        note = (f"appointment {_show(start)} not confirmed by {_show(deadline)}: released, "
                "to be scheduled again")
        if order.status == OrderStatus.scheduled:
            service.change_status(session, order=order, to=OrderStatus.ready, user_id=user_id,
                                  now=now, note=note)
        else:
            service.record(session, order, event="appointment_released", user_id=user_id,
                           now=now, note=note)
        released.append(Released(order.id, order.number, start, proposed, deadline))
    return released

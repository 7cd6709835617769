"""Service levels: when a response is due, how close an order is to missing it, and
when a proposed appointment lapses.

Response time is counted in the contract's service-hours calendar (a Friday 16:00
order with 4 business hours on 08:00-12:00/13:30-17:30 is due Monday 10:30). The
appointment confirmation window is plain elapsed time: 24 hours means 24 hours,
night and weekend included (seed 004). Deadlines are inclusive: a response at
the due instant meets it, the order is breached only after it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from contracts.calendars import ServiceCalendar
from dispatch.core.errors import ValidationFailed

# Seed 004: "a proposed appointment must be confirmed by the customer within 24 hours".
DEFAULT_CONFIRMATION_WINDOW = timedelta(hours=24)
_MICROSECONDS_PER_HOUR = Decimal(3_600_000_000)


class SlaInputError(ValidationFailed, ValueError):
    code = "invalid-sla-input"
    title = "Invalid service-level input"


class SlaStatus(enum.StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"


@dataclass(frozen=True, slots=True)
class SlaCheck:
    """``remaining`` is open time left until due (negative: how far past due), or, for a
    responded order, the margin it was answered with (negative when late)."""

    status: SlaStatus
    due_at: datetime
    remaining: timedelta


def _utc(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise SlaInputError(f"{name} must be timezone-aware", field=name)
    return at.astimezone(UTC)


def hours(value: Decimal | int | str) -> timedelta:
    """Decimal hours as a timedelta, exact to the microsecond (``Decimal("2.5")`` -> 2:30)."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise SlaInputError(f"{value!r} is not a number of hours", field="response_hours") from exc
    if not amount.is_finite() or amount < 0:
        raise SlaInputError(f"{value} hours: must be zero or more", field="response_hours")
    micro = (amount * _MICROSECONDS_PER_HOUR).to_integral_value(rounding=ROUND_HALF_UP)
    return timedelta(microseconds=int(micro))


def response_due(
    created_at: datetime, response_hours: Decimal | int | str, calendar: ServiceCalendar
) -> datetime:
    """Creation time plus ``response_hours`` of open time in ``calendar`` (UTC).

    An order created while the calendar is closed starts its clock at the next opening.
    """
    return calendar.add_business_time(_utc(created_at, "created_at"), hours(response_hours))


def classify(
    due_at: datetime,
    now: datetime,
    *,
    at_risk_within: timedelta,
    calendar: ServiceCalendar | None = None,
    responded_at: datetime | None = None,
) -> SlaCheck:
    """Where an order stands against its response due time.

    Responded: ``met`` if by ``due_at``, else ``breached``. Otherwise ``breached``
    once ``now`` is past ``due_at``, ``at_risk`` when the time left is at most
    ``at_risk_within``, else ``on_track``. Time left is counted in ``calendar`` when
    given — Friday 17:30 with the order due Monday 09:00 has one business hour left,
    not 63 — and as elapsed time otherwise.
    """
    due_at, now = _utc(due_at, "due_at"), _utc(now, "now")
    if at_risk_within < timedelta(0):
        raise SlaInputError("the at-risk threshold cannot be negative", field="at_risk_within")

    def left(since: datetime) -> timedelta:
        if calendar is None:
            return due_at - since
        return calendar.business_time_between(since, due_at)

    if responded_at is not None:
        responded_at = _utc(responded_at, "responded_at")
        met = responded_at <= due_at
        return SlaCheck(SlaStatus.MET if met else SlaStatus.BREACHED, due_at, left(responded_at))
    remaining = left(now)
    if now > due_at:
        status = SlaStatus.BREACHED
    elif remaining <= at_risk_within:
        status = SlaStatus.AT_RISK
    else:
        status = SlaStatus.ON_TRACK
    return SlaCheck(status, due_at, remaining)


def confirmation_deadline(
    proposed_at: datetime, window: timedelta = DEFAULT_CONFIRMATION_WINDOW
) -> datetime:
    """The last instant a proposed appointment can be confirmed (elapsed time, UTC)."""
    if window <= timedelta(0):
        raise SlaInputError("the confirmation window must be positive", field="confirmation_window")
    return _utc(proposed_at, "proposed_at") + window


def confirmation_lapsed(
    proposed_at: datetime,
    now: datetime,
    *,
    confirmed_at: datetime | None = None,
    window: timedelta = DEFAULT_CONFIRMATION_WINDOW,
) -> bool:
    """True when the appointment must be released: not confirmed by the deadline and the
    deadline has passed. A confirmation that arrives after the deadline does not save it.
    """
    deadline = confirmation_deadline(proposed_at, window)
    now = _utc(now, "now")
    if confirmed_at is not None and _utc(confirmed_at, "confirmed_at") <= deadline:
        return False
    return now > deadline

"""Orders under contracts: which contract covers an order, what it grants, when a
response is due, and which orders are at risk of missing it or have missed it.

An order belongs to the contract covering one of its service items on the
order's date (its creation day in the site's zone): ``contracts.service.
coverage_for`` answers, the first covered item of the order wins. The order
keeps the contract's id, and its response due time: creation time plus the
covering line's response hours for the order's priority, counted in the line's
service-hours calendar, else the contract's (contracts/sla.py). Lines and time entries are then
priced through contracts/pricing.py with the contract's coverage:

- parts: the parts discount;
- services and time: the labour coverage (labour included is a 100 % discount,
  so the line shows what the work was worth and charges nothing; or the labour
  discount, at the contract's hourly rate when it has one);
- travel time: free when travel is included, else priced like any labour
  without the contract.

The SLA clock stops at the response, the first time work starts
(``responded_at``). "Open" for the SLA lists means an active status
(orders.lifecycle.ACTIVE) and no response yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from contracts.calendars import ServiceCalendar as CalendarRules
from contracts.masterdata.models import Site
from contracts.models import Contract, ContractModality
from contracts.pricing import PREMIUM, Coverage, time_charges_waived
from contracts.service import ContractCoverage, calendar_rules, coverage_for
from contracts.sla import SlaStatus, classify
from dispatch.core.errors import ValidationFailed
from dispatch.core.money import HUNDRED
from orders.lifecycle import ACTIVE
from orders.models import Activity, LineKind, ServiceOrder

# An order is "at risk" when at most this much business time is left before its
# response is due (GET /orders/sla?within_hours= overrides it).
DEFAULT_AT_RISK = timedelta(hours=2)
LISTED_STATES = (SlaStatus.AT_RISK, SlaStatus.BREACHED)


def order_day(session: Session, order: ServiceOrder) -> date:
    """The order's date: its creation day where the work is (the site's zone, else UTC)."""
    site = session.get(Site, order.site_id) if order.site_id is not None else None
    zone = ZoneInfo(site.timezone) if site is not None else UTC
    return order.created_at.astimezone(zone).date()


def find_coverage(session: Session, *, item_ids: Iterable[int], on: date,
                  contract_id: int | None = None) -> ContractCoverage | None:
    """The coverage of the first of ``item_ids`` a contract covers on ``on`` (only
    ``contract_id``'s, when given)."""
    for item_id in item_ids:
        found = coverage_for(session, service_item_id=item_id, on=on)
        if found is not None and contract_id in (None, found.contract_id):
            return found
    return None


def link_contract(session: Session, order: ServiceOrder) -> ContractCoverage | None:
    """Set the order's contract and response due time from its items, date and priority.

    Called when an order is opened and when its items or priority change. Orders
    without a covered item have neither.
    """
    found = find_coverage(session, item_ids=[i.id for i in order.service_items],
                          on=order_day(session, order))
    order.contract_id = found.contract_id if found is not None else None
    order.response_due_at = (found.response_due(order.created_at, order.priority)
                             if found is not None else None)
    return found


def coverage_of(session: Session, order: ServiceOrder,
                service_item_id: int | None = None) -> ContractCoverage | None:
    """What the order's contract grants for work on ``service_item_id`` (default: the
    order's items); None when the order has no contract or the contract no longer
    covers the item (suspended, item removed)."""
    if order.contract_id is None:
        return None
    ids = [service_item_id] if service_item_id is not None else [
        i.id for i in order.service_items]
    return find_coverage(session, item_ids=ids, on=order_day(session, order),
                         contract_id=order.contract_id)


def line_coverage(found: ContractCoverage | None, kind: str) -> Coverage | None:
    """The pricing input for an order line of ``kind`` (part or service)."""
    if found is None:
        return None
    return found.parts if kind == LineKind.part else found.labour


def time_coverage(found: ContractCoverage | None, activity: str) -> Coverage | None:
    """The pricing input for a time entry of ``activity``."""
    if found is None:
        return None
    if activity == Activity.travel:
        if not found.travel_included:
            return None
        return Coverage(discount_percent=HUNDRED, reference=found.contract_number)
    return found.labour


def time_waived(order: ServiceOrder) -> bool:
    """Product defect waives time, unless the order is premium or its contract is "always
    billed" (the premium modality bought with the contract)."""
    modality = order.billing_modality
    contract = order.contract
    if contract is not None and contract.modality == ContractModality.always_billed:
        modality = PREMIUM
    return time_charges_waived(order.root_cause, modality)


# --- at risk and breached ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlaEntry:
    """An open order against its response due time; ``remaining`` is business time in the
    calendar the due time counts in (negative: how far past due)."""

    order: ServiceOrder
    state: SlaStatus
    due_at: datetime
    remaining: timedelta


def _sla_calendar(session: Session, order: ServiceOrder,
                  cache: dict[int | None, CalendarRules]) -> CalendarRules:
    """The calendar the order's response time counts in: its covering line's, else its
    contract's (keyed by calendar id in ``cache``; None: the built-in 24/7)."""
    contract = order.contract
    key = contract.calendar_id if contract is not None else None
    # Only contracts with a line on its own hours need the covering line looked up.
    if contract is not None and any(x.calendar_id is not None for x in contract.lines):
        found = coverage_of(session, order)
        if found is not None:
            return cache.setdefault(found.calendar_id, found.calendar)
    if key not in cache:
        cache[key] = calendar_rules(contract.calendar if contract is not None else None)
    return cache[key]


def sla_orders(session: Session, *, now: datetime, state: str | None = None,
               at_risk_within: timedelta = DEFAULT_AT_RISK) -> list[SlaEntry]:
    """Open orders at risk of missing their response time, or past it, soonest due first.

    ``state`` is ``at_risk`` or ``breached`` (default both).
    """
    if state is not None and state not in LISTED_STATES:
        raise ValidationFailed(f"state is one of {', '.join(LISTED_STATES)}", field="state")
    if at_risk_within < timedelta(0):
        raise ValidationFailed("within_hours cannot be negative", field="within_hours")
    wanted = {SlaStatus(state)} if state is not None else set(LISTED_STATES)
    stmt = (
        select(ServiceOrder)
        .where(ServiceOrder.response_due_at.is_not(None), ServiceOrder.responded_at.is_(None),
               ServiceOrder.status.in_([s.value for s in ACTIVE]))
        .options(selectinload(ServiceOrder.customer),
                 selectinload(ServiceOrder.contract).selectinload(Contract.calendar),
                 selectinload(ServiceOrder.contract).selectinload(Contract.lines))
        .order_by(ServiceOrder.response_due_at, ServiceOrder.id)
    )
    if wanted == {SlaStatus.BREACHED}:
        stmt = stmt.where(ServiceOrder.response_due_at < now)
    elif wanted == {SlaStatus.AT_RISK}:
        stmt = stmt.where(ServiceOrder.response_due_at >= now)
    calendars: dict[int | None, CalendarRules] = {}
    out = []
    for order in session.scalars(stmt):
        check = classify(order.response_due_at, now, at_risk_within=at_risk_within,
                         calendar=_sla_calendar(session, order, calendars))
        if check.status in wanted:
            out.append(SlaEntry(order, check.status, check.due_at, check.remaining))
    return out

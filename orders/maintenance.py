"""Preventive maintenance: the visits a contract's lines are due, as service orders.

A contract line with a frequency (every N weeks or months, from its first due
date, else the contract's start) is due a visit on each date contracts/schedule.py
counts, within the days the line covers (from ``added_on``, and the contract's
start, to the day before ``removed_on`` and the contract's end). Each visit
becomes an order for the line's item (or every item of its group at its site),
taking the line's standard duration, with one time window spanning its allowed
days — ``due - flexibility`` to ``due + flexibility``, midnight to midnight in
the site's zone — so the scheduler may level the load over those days instead
of piling every visit on its due date.

A visit is generated once: the order keeps its contract line and due date under
a unique key. Dates already generated are not produced again, and should two
runs race, the loser's order (and its number) is rolled back to a savepoint and
counted as already generated. Only active contracts generate visits; the lines
of suspended ones are reported as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from contracts.masterdata.models import ServiceItem, Site
from contracts.models import Contract, ContractLine, ContractStatus
from contracts.schedule import DueVisit, Frequency, ScheduleError, due_visits
from contracts.service import calendar_rules
from dispatch.core.errors import DomainError, ValidationFailed
from orders import schemas as s
from orders import service
from orders.models import ServiceOrder

# Orders are generated at most this far ahead of today: visits further out would be
# planned by nobody and only crowd the lists (a year covers every yearly visit).
MAX_HORIZON = timedelta(days=366)
CATEGORY = "maintenance"
# What an order's estimated duration may be (orders.schemas.Minutes: up to a week).
MAX_DURATION_MINUTES = 7 * 24 * 60


@dataclass(frozen=True, slots=True)
class Generated:
    order: ServiceOrder
    contract_number: str
    contract_line_id: int
    visit: DueVisit


@dataclass(frozen=True, slots=True)
class SkippedLine:
    contract_id: int
    contract_number: str
    contract_line_id: int
    reason: str


@dataclass(slots=True)
class MaintenanceRun:
    created: list[Generated] = field(default_factory=list)
    already_generated: int = 0
    skipped: list[SkippedLine] = field(default_factory=list)


def check_horizon(until: date, now: datetime, field_name: str = "until") -> None:
    if until > now.date() + MAX_HORIZON:
        raise ValidationFailed(
            f"until {until} is more than {MAX_HORIZON.days} days ahead", field=field_name)


def _items(session: Session, line: ContractLine) -> list[ServiceItem]:
    if line.service_item_id is not None:
        return [session.get(ServiceItem, line.service_item_id)]
    return list(session.scalars(
        select(ServiceItem).where(ServiceItem.site_id == line.site_id,
                                  ServiceItem.item_group_id == line.item_group_id,
                                  ServiceItem.customer_id == line.contract.customer_id)
        .order_by(ServiceItem.id)))


def _window(visit: DueVisit, zone: str) -> s.TimeWindow:
    tz = ZoneInfo(zone)
    return s.TimeWindow(
        starts_at=datetime.combine(visit.earliest, time(0), tzinfo=tz),
        ends_at=datetime.combine(visit.latest + timedelta(days=1), time(0), tzinfo=tz))


def _line_span(line: ContractLine) -> tuple[date, date]:
    contract = line.contract
    start = max(contract.start_date, line.added_on)
    end = contract.end_date
    if line.removed_on is not None:
        end = min(end, line.removed_on - timedelta(days=1))
    return start, end


def _generate_line(session: Session, line: ContractLine, *, until: date, user_id: int | None,
                   now: datetime, run: MaintenanceRun) -> None:
    contract = line.contract
    start, end = _line_span(line)

    def skip(reason: str) -> None:
        run.skipped.append(SkippedLine(contract.id, contract.number, line.id, reason))

    if end < start:
        return  # removed on the day it was added: covers nothing
    done = set(session.scalars(select(ServiceOrder.maintenance_due_date)
                               .where(ServiceOrder.contract_line_id == line.id)))
    try:
        visits = due_visits(
            first_due=line.first_due_date or contract.start_date,
            frequency=Frequency(line.frequency_every, line.frequency_unit),
            flex_days=line.flexibility_days, until=until, contract_start=start,
            contract_end=end, already_generated=done)
    except ScheduleError as exc:
        skip(exc.detail)
        return
    run.already_generated += sum(1 for d in done if d <= until)
    if not visits:
        return
    items = _items(session, line)
    if not items:
        skip("no service item of the group at the site")
        return
    site_id = items[0].site_id if line.service_item_id is not None else line.site_id
    site = session.get(Site, site_id) if site_id is not None else None
    zone = site.timezone if site is not None else calendar_rules(line.service_calendar).timezone
    duration = line.standard_duration_minutes
    if duration is not None and not 1 <= duration <= MAX_DURATION_MINUTES:
        duration = None  # the items' groups' durations instead of an impossible one
    for visit in visits:
        data = s.OrderCreate(
            customer_id=contract.customer_id, site_id=site_id,
            service_item_ids=[i.id for i in items],
            reported_defect=(f"Preventive maintenance, contract {contract.number}: visit "
                             f"due {visit.due.isoformat()} (allowed {visit.earliest.isoformat()}"
                             f" to {visit.latest.isoformat()})"),
            category=CATEGORY, estimated_duration_minutes=duration,
            time_windows=[_window(visit, zone)],
        )
        try:
            with session.begin_nested():
                order = service.create_order(
                    session, data=data, user_id=user_id, now=now,
                    maintenance=service.MaintenanceVisit(contract.id, line.id, visit.due))
        except IntegrityError:
            run.already_generated += 1  # a concurrent run generated it first
            continue
        except DomainError as exc:  # e.g. the customer was deactivated: report, go on
            skip(f"visit due {visit.due.isoformat()}: {exc.detail}")
            continue
        run.created.append(Generated(order, contract.number, line.id, visit))


def generate_visits(session: Session, *, until: date, user_id: int | None,
                    now: datetime) -> MaintenanceRun:
    """Create the maintenance orders due up to ``until`` (inclusive) not generated yet."""
    check_horizon(until, now)
    lines = session.scalars(
        select(ContractLine).join(Contract, Contract.id == ContractLine.contract_id)
        .where(ContractLine.frequency_every.is_not(None),
               Contract.status.in_([ContractStatus.active, ContractStatus.suspended]),
               Contract.start_date <= until)
        .options(selectinload(ContractLine.contract).selectinload(Contract.calendar),
                 selectinload(ContractLine.calendar))
        .order_by(Contract.id, ContractLine.id)
    ).all()
    run = MaintenanceRun()
    for line in lines:
        if line.contract.status == ContractStatus.suspended:
            run.skipped.append(SkippedLine(line.contract.id, line.contract.number, line.id,
                                           "contract suspended"))
            continue
        _generate_line(session, line, until=until, user_id=user_id, now=now, run=run)
    return run

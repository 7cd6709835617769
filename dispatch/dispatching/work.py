"""What a visit reported done leaves on its order: the technician's time and the parts he used.

Everything goes through the orders use cases (``add_time_entry``, ``add_line``), so time and
parts are priced the one way orders are (contracts.pricing with the order's contract
coverage), write the order's history (who, when) and check what they always check (a
technician's entries never overlap, active products in the order's currency). It runs in the
caller's transaction: a refused entry or part leaves nothing of the report behind.

Time: the entries the technician sends, or by default his time on site (arrival to the
reported end) and the planned travel leg that ended at his arrival, with its kilometres, which
the contract's profit and loss costs (at the item group's default labour type; without one the
history says the time was not logged).

Parts: what he used, by product. The order's part lines were priced when they were added and
are his parts to bring, so a product's used quantity counts against them first and only the
rest becomes a new part line; parts he brought and did not use are written in the history for
the back office to credit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.masterdata.errors import UnknownReference
from contracts.masterdata.models import Product
from contracts.masterdata.schemas import format_decimal
from dispatch.core.errors import DomainError, ValidationFailed
from dispatch.dispatching.schemas import PartUsed
from dispatch.models import Visit
from orders import service as orders
from orders.models import Activity, LineKind, ServiceOrder, TimeEntry
from orders.schemas import LineCreate, TimeEntryCreate, TimeWorked

KM = Decimal("0.001")


class InvalidReport(ValidationFailed):
    code = "invalid-visit-report"
    title = "Invalid visit report"


@contextmanager
def _named(field: str) -> Iterator[None]:
    """Domain errors raised inside name their input under ``field``
    (``started_at`` of the second entry: ``time_entries.1.started_at``)."""
    try:
        yield
    except DomainError as err:
        err.field = f"{field}.{err.field}" if err.field else field
        raise


def _busy_until(session: Session, technician_id: int, start: datetime, end: datetime) -> datetime:
    """When the technician's logged work overlapping [start, end) ends (within it), else
    ``start``: a default travel leg begins no earlier."""
    latest = session.scalar(select(func.max(TimeEntry.ended_at)).where(
        TimeEntry.technician_id == technician_id, TimeEntry.started_at < end,
        TimeEntry.ended_at > start))
    return start if latest is None else min(max(start, latest), end)


def default_time(session: Session, *, visit: Visit, end: datetime) -> list[TimeEntryCreate]:
    """The entries of a visit reported done at ``end`` without any: the travel leg of the plan
    ending at his arrival (begun after his last logged work, with the leg's kilometres) when
    it has one, and the time on site from his arrival (else the planned start) to ``end``."""
    arrived = min(visit.arrived_at or visit.planned_start, end)
    entries = []
    if visit.travel_seconds or visit.travel_meters:
        setoff = arrived - timedelta(seconds=visit.travel_seconds)
        entries.append(TimeEntryCreate(
            technician_id=visit.technician_id, activity=Activity.travel,
            started_at=_busy_until(session, visit.technician_id, setoff, arrived),
            ended_at=arrived, distance_km=(Decimal(visit.travel_meters) / 1000).quantize(KM),
            note=f"visit {visit.id}: travel leg"))
    entries.append(TimeEntryCreate(
        technician_id=visit.technician_id, activity=Activity.on_site, started_at=arrived,
        ended_at=end, note=f"visit {visit.id}: on site"))
    return entries


def log_time(session: Session, *, visit: Visit, order: ServiceOrder,
             entries: Sequence[TimeWorked] | None, end: datetime, latest: datetime,
             user_id: int, now: datetime) -> None:
    """The visit's time entries: ``entries`` (none after ``latest``), or the defaults.

    The defaults are priced at the item group's default labour type; an order without one
    gets none and a history note instead, so that a gap in the master data never keeps a
    technician from finishing his visit (the back office logs the time)."""
    if entries is None:
        if orders.default_labour_type_id(session, order) is None:
            orders.record(session, order, event="time_not_logged", user_id=user_id, now=now,
                          note=f"visit {visit.id}: the order's item group has no default "
                               "labour type to log the visit's time with")
            return
        with _named("time_entries"):
            for data in default_time(session, visit=visit, end=end):
                orders.add_time_entry(session, order_id=order.id, data=data, user_id=user_id,
                                      now=now)
        return
    for i, entry in enumerate(entries):
        if entry.ended_at > latest:
            raise InvalidReport(f"the entry ends at {entry.ended_at.isoformat()}, in the future",
                                field=f"time_entries.{i}.ended_at")
        with _named(f"time_entries.{i}"):
            orders.add_time_entry(
                session, order_id=order.id, user_id=user_id, now=now,
                data=TimeEntryCreate(technician_id=visit.technician_id, **entry.model_dump()))


def use_parts(session: Session, *, visit: Visit, order: ServiceOrder, parts: Sequence[PartUsed],
              user_id: int, now: datetime) -> None:
    """New part lines for what ``parts`` used beyond the order's part lines, and a history
    note of the reported products brought but not (all) used."""
    if not parts:
        return
    # One query, which also puts the products in the session for add_line to find.
    ids = {p.product_id for p in parts}
    known = {p.id for p in session.scalars(select(Product).where(Product.id.in_(ids)))}
    for i, part in enumerate(parts):
        if part.product_id not in known:
            raise UnknownReference(f"no product with id {part.product_id}",
                                   field=f"parts_used.{i}.product_id")
    brought: dict[int, Decimal] = defaultdict(Decimal)
    names: dict[int, str] = {}
    for line in order.lines:
        if line.kind == LineKind.part and line.product_id is not None:
            brought[line.product_id] += line.quantity
            names[line.product_id] = line.description
    for i, part in enumerate(parts):
        counted = min(part.quantity, brought[part.product_id])
        brought[part.product_id] -= counted
        if part.quantity > counted:
            with _named(f"parts_used.{i}"):
                orders.add_line(
                    session, order_id=order.id, user_id=user_id, may_set_price=False, now=now,
                    data=LineCreate(kind=LineKind.part, product_id=part.product_id,
                                    quantity=part.quantity - counted, warranty=part.warranty,
                                    technician_id=visit.technician_id))
    unused = [f"{format_decimal(brought[pid])} x {names[pid]}"
              for pid in dict.fromkeys(p.product_id for p in parts) if brought[pid] > 0]
    if unused:
        orders.record(session, order, event="parts_not_used", user_id=user_id, now=now,
                      note=f"visit {visit.id}: brought but not used: {', '.join(unused)}")

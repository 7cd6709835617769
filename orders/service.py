"""Use cases of service requests and orders.

Every function takes the session first and keywords after, flushes when it
needs ids, raises domain errors and never commits. Every change of an order
bumps its ``version`` and writes an ``OrderHistory`` row (who, when, what).
Orders being changed are read ``FOR UPDATE`` so two writers queue instead of
both passing the version check (on SQLite, transactions are serialised anyway).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, column, func, or_, select, table
from sqlalchemy.orm import Session, selectinload

from contracts.masterdata.errors import UnknownReference
from contracts.masterdata.models import (
    Contact,
    Customer,
    ItemGroup,
    LabourType,
    Product,
    ServiceItem,
    Site,
    Skill,
)
from contracts.masterdata.schemas import format_decimal
from contracts.pricing import price_line, price_time
from dispatch.core.auth import Role, User
from dispatch.core.errors import Conflict, InvalidState, ValidationFailed
from dispatch.core.numbering import format_order_number, next_number, order_series
from dispatch.core.web import check_version, decode_cursor, encode_cursor
from orders import coverage
from orders import schemas as s
from orders.errors import (
    LineNotFound,
    OrderNotEditable,
    OrderNotFound,
    PriceOverrideForbidden,
    RequestAlreadyHandled,
    ServiceRequestNotFound,
    TimeEntryNotFound,
)
from orders.lifecycle import EDITABLE, OrderStatus, check_transition
from orders.models import (
    LineKind,
    OrderHistory,
    OrderLine,
    OrderTimeWindow,
    RequestStatus,
    ServiceOrder,
    ServiceRequest,
    TimeEntry,
)
from orders.totals import OrderTotals, order_totals

DEFAULT_PAGE = 20
MAX_PAGE = 100
# Without service items (or their groups) an order is planned as one hour.
DEFAULT_DURATION_MINUTES = 60

# The technicians table belongs to dispatch, which orders may not import; these two
# columns are all orders need (whose login is a technician, does a technician exist).
_technicians = table("technicians", column("id"), column("user_id"))

# Roles that may type a price instead of the catalogue's (rule "manual").
PRICE_ROLES = (Role.billing,)


# --- reading -------------------------------------------------------------------------------


def _order_loads() -> list[Any]:
    """Everything an OrderRead shows, each in one extra statement per page (no N+1)."""
    return [
        selectinload(ServiceOrder.customer),
        selectinload(ServiceOrder.site),
        selectinload(ServiceOrder.service_items),
        selectinload(ServiceOrder.required_skills),
        selectinload(ServiceOrder.time_windows),
        selectinload(ServiceOrder.lines),
        selectinload(ServiceOrder.time_entries),
        selectinload(ServiceOrder.contract),
    ]


def technician_ids_of(user: User) -> Select[Any]:
    """The technicians a user logs in as (a subquery; empty for non-technicians)."""
    return select(_technicians.c.id).where(_technicians.c.user_id == user.id)


def _visible(stmt: Select[Any], viewer: User | None) -> Select[Any]:
    """Technicians see only the orders assigned to them; everyone else sees all."""
    if viewer is not None and viewer.role == Role.technician:
        return stmt.where(ServiceOrder.technician_id.in_(technician_ids_of(viewer)))
    return stmt


def get_order(session: Session, *, order_id: int, viewer: User | None = None) -> ServiceOrder:
    """The order with what its view shows; a technician's foreign order is a 404 to him."""
    stmt = _visible(select(ServiceOrder).where(ServiceOrder.id == order_id), viewer)
    order = session.scalar(stmt.options(*_order_loads()))
    if order is None:
        raise OrderNotFound(f"no order with id {order_id}", field="order_id")
    return order


def _order_for_update(session: Session, order_id: int) -> ServiceOrder:
    order = session.scalar(
        select(ServiceOrder).where(ServiceOrder.id == order_id).with_for_update()
    )
    if order is None:
        raise OrderNotFound(f"no order with id {order_id}", field="order_id")
    return order


def order_for_update(session: Session, order_id: int) -> ServiceOrder:
    """The order, locked for a change (``FOR UPDATE``); for the use cases of other modules."""
    return _order_for_update(session, order_id)


def _editable(order: ServiceOrder) -> None:
    if order.status not in EDITABLE:
        raise OrderNotEditable(
            f"order {order.number} is {order.status}; it can no longer be changed",
            current=order.status,
        )


def order_totals_of(order: ServiceOrder) -> OrderTotals:
    """The order's money as charged now: lines, time (waived or not), order discount, VAT."""
    return order_totals(
        order.lines, order.time_entries, currency=order.currency,
        time_waived=coverage.time_waived(order),
        discount_percent=order.discount_percent, discount_amount=order.discount_amount,
    )


def read_order(order: ServiceOrder) -> s.OrderRead:
    return s.order_read(order, order_totals_of(order))


def read_line(session: Session, line: OrderLine) -> s.LineRead:
    """The line with its amounts as charged within its order (order discount share, VAT)."""
    order = get_order(session, order_id=line.order_id)
    totals = order_totals_of(order)
    return s.line_read(line, totals.lines[[x.id for x in order.lines].index(line.id)])


def read_time_entry(session: Session, entry: TimeEntry) -> s.TimeEntryRead:
    order = get_order(session, order_id=entry.order_id)
    totals = order_totals_of(order)
    index = [x.id for x in order.time_entries].index(entry.id)
    return s.time_entry_read(entry, totals.time_entries[index])


def list_orders(
    session: Session,
    *,
    viewer: User | None = None,
    statuses: Sequence[str] = (),
    customer_id: int | None = None,
    technician_id: int | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    priorities: Sequence[str] = (),
    q: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE,
) -> tuple[list[ServiceOrder], str | None]:
    """Newest first, keyset-paginated by id; ``created_to`` is exclusive.

    ``q`` matches the number, the reported defect and the customer's name
    (case-insensitive, anywhere in the text).
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    stmt = _visible(select(ServiceOrder), viewer)
    if statuses:
        stmt = stmt.where(ServiceOrder.status.in_([OrderStatus(x).value for x in statuses]))
    if priorities:
        stmt = stmt.where(ServiceOrder.priority.in_(list(priorities)))
    if customer_id is not None:
        stmt = stmt.where(ServiceOrder.customer_id == customer_id)
    if technician_id is not None:
        stmt = stmt.where(ServiceOrder.technician_id == technician_id)
    if created_from is not None:
        stmt = stmt.where(ServiceOrder.created_at >= _utc(created_from))
    if created_to is not None:
        stmt = stmt.where(ServiceOrder.created_at < _utc(created_to))
    if q:
        pattern = _like(q)
        names = select(Customer.id).where(func.lower(Customer.legal_name).like(pattern, "\\"))
        stmt = stmt.where(or_(
            func.lower(ServiceOrder.number).like(pattern, "\\"),
            func.lower(ServiceOrder.reported_defect).like(pattern, "\\"),
            ServiceOrder.customer_id.in_(names),
        ))
    if cursor:
        before = decode_cursor(cursor).get("before")
        if not isinstance(before, int):
            raise ValidationFailed("malformed cursor", field="cursor")
        stmt = stmt.where(ServiceOrder.id < before)
    stmt = stmt.order_by(ServiceOrder.id.desc()).limit(limit + 1).options(*_order_loads())
    rows = list(session.scalars(stmt))
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor({"before": rows[-1].id})
    return rows, None


def history(session: Session, *, order_id: int,
            viewer: User | None = None) -> list[s.HistoryRead]:
    get_order(session, order_id=order_id, viewer=viewer)
    rows = session.execute(
        select(OrderHistory, User.username)
        .outerjoin(User, User.id == OrderHistory.user_id)
        .where(OrderHistory.order_id == order_id)
        .order_by(OrderHistory.id)
    ).all()
    return [
        s.HistoryRead(id=h.id, at=h.at, user_id=h.user_id, username=name, event=h.event,
                      from_status=h.from_status, to_status=h.to_status, note=h.note)
        for h, name in rows
    ]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _like(value: str) -> str:
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- history and versions ------------------------------------------------------------------


def record(session: Session, order: ServiceOrder, *, event: str, user_id: int | None,
           now: datetime, note: str = "", from_status: str | None = None,
           to_status: str | None = None) -> OrderHistory:
    """Write one history row and bump the order's version (every change goes through here)."""
    entry = OrderHistory(order_id=order.id, at=now, user_id=user_id, event=event,
                         from_status=from_status, to_status=to_status, note=note)
    session.add(entry)
    order.version += 1
    order.updated_at = now
    session.flush()
    return entry


# --- references ----------------------------------------------------------------------------


def _ref(session: Session, model: type[Any], row_id: int, what: str, field: str) -> Any:
    row = session.get(model, row_id)
    if row is None:
        raise UnknownReference(f"no {what} with id {row_id}", field=field)
    return row


def _user(session: Session, user_id: int, field: str) -> User:
    user = _ref(session, User, user_id, "user", field)
    if not user.active:
        raise ValidationFailed(f"user {user.username} is not active", field=field)
    return user


def _technician(session: Session, technician_id: int, field: str = "technician_id") -> int:
    if session.scalar(select(_technicians.c.id).where(_technicians.c.id == technician_id)) is None:
        raise UnknownReference(f"no technician with id {technician_id}", field=field)
    return technician_id


def check_technician(session: Session, technician_id: int, field: str = "technician_id") -> int:
    """``technician_id`` if such a technician exists, else a 422 naming ``field``."""
    return _technician(session, technician_id, field)


def _site(session: Session, site_id: int, customer_id: int, field: str = "site_id") -> Site:
    site = _ref(session, Site, site_id, "site", field)
    if site.customer_id != customer_id:
        raise ValidationFailed(f"site {site_id} belongs to another customer", field=field)
    return site


def _items(session: Session, ids: Sequence[int], customer_id: int,
           field: str = "service_item_ids") -> list[ServiceItem]:
    if len(set(ids)) != len(ids):
        raise ValidationFailed("a service item is listed twice", field=field)
    items = []
    for item_id in ids:
        item = _ref(session, ServiceItem, item_id, "service item", field)
        if item.customer_id != customer_id:
            raise ValidationFailed(f"service item {item_id} belongs to another customer",
                                   field=field)
        items.append(item)
    return items


def _skills(session: Session, ids: Sequence[int], field: str = "required_skill_ids") -> list[Skill]:
    found = {x.id: x for x in session.scalars(select(Skill).where(Skill.id.in_(set(ids))))}
    missing = sorted(set(ids) - set(found))
    if missing:
        raise UnknownReference(f"no skill with id {', '.join(map(str, missing))}", field=field)
    return sorted(found.values(), key=lambda x: x.code)


def _customer_contact(session: Session, contact_id: int, customer_id: int) -> Contact:
    contact = _ref(session, Contact, contact_id, "contact", "customer_contact_id")
    if contact.customer_id != customer_id:
        raise ValidationFailed(f"contact {contact_id} is not a contact of the customer",
                               field="customer_contact_id")
    return contact


def _supplier_contact(session: Session, contact_id: int) -> Contact:
    contact = _ref(session, Contact, contact_id, "contact", "supplier_contact_id")
    if contact.supplier_id is None:
        raise ValidationFailed(f"contact {contact_id} is not a supplier's contact",
                               field="supplier_contact_id")
    return contact


def default_skills(items: Iterable[ServiceItem]) -> list[Skill]:
    """The union of the skills the items' groups require."""
    found: dict[int, Skill] = {}
    for item in items:
        for skill in item.item_group.skills:
            found[skill.id] = skill
    return sorted(found.values(), key=lambda x: x.code)


def default_duration(items: Sequence[ServiceItem]) -> int:
    """One visit serves all the items: the sum of their groups' durations (60 without items)."""
    if not items:
        return DEFAULT_DURATION_MINUTES
    return sum(item.item_group.default_duration_minutes for item in items)


def _check_loaner(order: ServiceOrder) -> None:
    if order.loaner_item_id is not None and order.loaner_item_id in {
            i.id for i in order.service_items}:
        raise ValidationFailed("the loaner cannot be one of the items in service",
                               field="loaner_item_id")
    if order.loaner_item_id is None and (order.loaner_issued_at or order.loaner_returned_at):
        raise ValidationFailed("loaner dates need a loaner_item_id", field="loaner_item_id")
    if order.loaner_returned_at is not None:
        if order.loaner_issued_at is None:
            raise ValidationFailed("a loaner is returned only after it was issued",
                                   field="loaner_returned_at")
        if order.loaner_returned_at < order.loaner_issued_at:
            raise ValidationFailed("loaner_returned_at is before loaner_issued_at",
                                   field="loaner_returned_at")


# --- service requests ----------------------------------------------------------------------


def create_service_request(session: Session, *, data: s.ServiceRequestCreate, user_id: int | None,
                           now: datetime) -> ServiceRequest:
    customer = _ref(session, Customer, data.customer_id, "customer", "customer_id")
    if data.site_id is not None:
        _site(session, data.site_id, customer.id)
    if data.service_item_id is not None:
        _items(session, [data.service_item_id], customer.id, "service_item_id")
    if data.contact_id is not None:
        contact = _ref(session, Contact, data.contact_id, "contact", "contact_id")
        if contact.customer_id != customer.id:
            raise ValidationFailed("the contact is not a contact of the customer",
                                   field="contact_id")
    request = ServiceRequest(**data.model_dump(), status=RequestStatus.received, created_at=now,
                             created_by_id=user_id)
    session.add(request)
    session.flush()
    return request


def get_service_request(session: Session, *, request_id: int) -> ServiceRequest:
    request = session.get(ServiceRequest, request_id)
    if request is None:
        raise ServiceRequestNotFound(f"no service request with id {request_id}",
                                     field="request_id")
    return request


def list_service_requests(session: Session, *, status: str | None = None,
                          customer_id: int | None = None, cursor: str | None = None,
                          limit: int = DEFAULT_PAGE) -> tuple[list[ServiceRequest], str | None]:
    """Oldest first (the triage queue), keyset-paginated by id."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    stmt = select(ServiceRequest).options(selectinload(ServiceRequest.order))
    if status is not None:
        stmt = stmt.where(ServiceRequest.status == RequestStatus(status))
    if customer_id is not None:
        stmt = stmt.where(ServiceRequest.customer_id == customer_id)
    if cursor:
        after = decode_cursor(cursor).get("after")
        if not isinstance(after, int):
            raise ValidationFailed("malformed cursor", field="cursor")
        stmt = stmt.where(ServiceRequest.id > after)
    rows = list(session.scalars(stmt.order_by(ServiceRequest.id).limit(limit + 1)))
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor({"after": rows[-1].id})
    return rows, None


def _pending_request(session: Session, request_id: int) -> ServiceRequest:
    request = session.scalar(
        select(ServiceRequest).where(ServiceRequest.id == request_id).with_for_update()
    )
    if request is None:
        raise ServiceRequestNotFound(f"no service request with id {request_id}",
                                     field="request_id")
    if request.status != RequestStatus.received:
        raise RequestAlreadyHandled(f"service request {request_id} is already {request.status}",
                                    current=request.status)
    return request


def convert_request(session: Session, *, request_id: int, data: s.ConvertRequest,
                    user_id: int | None, now: datetime) -> ServiceOrder:
    """Turn a received request into an open order (once); the request remembers the order."""
    request = _pending_request(session, request_id)
    order = create_order(
        session,
        data=s.OrderCreate(
            customer_id=request.customer_id, site_id=request.site_id,
            service_item_ids=[request.service_item_id] if request.service_item_id else [],
            reported_defect=(data.reported_defect if data.reported_defect is not None
                             else request.description),
            priority=data.priority or request.priority, category=data.category,
            responsible_user_id=data.responsible_user_id,
            customer_contact_id=request.contact_id,
            required_skill_ids=data.required_skill_ids,
            estimated_duration_minutes=data.estimated_duration_minutes,
            time_windows=data.time_windows, billing_modality=data.billing_modality,
        ),
        user_id=user_id, now=now, request=request,
    )
    request.status = RequestStatus.converted
    request.handled_at = now
    session.flush()
    return order


def reject_request(session: Session, *, request_id: int, reason: str, user_id: int | None,
                   now: datetime) -> ServiceRequest:
    request = _pending_request(session, request_id)
    request.status = RequestStatus.rejected
    request.rejection_reason = reason
    request.handled_at = now
    session.flush()
    return request


# --- orders --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MaintenanceVisit:
    """A preventive-maintenance visit of a contract line, due on ``due_date``
    (orders.maintenance generates them, once per line and due date)."""

    contract_id: int
    contract_line_id: int
    due_date: date


def create_order(session: Session, *, data: s.OrderCreate, user_id: int | None, now: datetime,
                 request: ServiceRequest | None = None,
                 maintenance: MaintenanceVisit | None = None) -> ServiceOrder:
    """Open an order numbered ``YYYY-NNNNNN`` from the year's gap-free series.

    Skills default to the union of the service items' groups' skills and the
    duration to the sum of their durations; both can be given instead. The
    contract covering an item links the order and sets its response due time
    (orders.coverage); a preventive-maintenance visit (``maintenance``) belongs
    to the contract that generated it and has a window instead of a response time.
    """
    customer = _ref(session, Customer, data.customer_id, "customer", "customer_id")
    if not customer.active:
        raise ValidationFailed("the customer is not active", field="customer_id")
    items = _items(session, data.service_item_ids, customer.id)
    site_id = data.site_id
    if site_id is not None:
        _site(session, site_id, customer.id)
    elif items and items[0].site_id is not None:
        site_id = items[0].site_id
    order = ServiceOrder(
        customer_id=customer.id, site_id=site_id, request_id=request.id if request else None,
        reported_defect=data.reported_defect, priority=data.priority, category=data.category,
        billing_modality=data.billing_modality, root_cause=data.root_cause,
        currency=customer.currency, status=OrderStatus.open, version=1,
        skills_overridden=data.required_skill_ids is not None,
        estimated_duration_minutes=data.estimated_duration_minutes or default_duration(items),
        loaner_issued_at=data.loaner_issued_at, scheduled_start=data.scheduled_start,
        created_at=now, created_by_id=user_id, updated_at=now,
    )
    order.service_items = items
    order.required_skills = (default_skills(items) if data.required_skill_ids is None
                             else _skills(session, data.required_skill_ids))
    order.time_windows = [OrderTimeWindow(starts_at=w.starts_at, ends_at=w.ends_at)
                          for w in data.time_windows]
    _set_people(session, order, data.model_dump(include={
        "responsible_user_id", "customer_contact_id", "supplier_contact_id", "technician_id",
        "loaner_item_id"}))
    _check_loaner(order)
    year = now.astimezone(UTC).year
    order.year = year
    order.sequence = next_number(session, order_series(year))
    order.number = format_order_number(year, order.sequence)
    notes = [f"from service request {request.id}"] if request else []
    if maintenance is not None:
        order.contract_id = maintenance.contract_id
        order.contract_line_id = maintenance.contract_line_id
        order.maintenance_due_date = maintenance.due_date
        notes.append(f"preventive maintenance of contract line {maintenance.contract_line_id}, "
                     f"due {maintenance.due_date.isoformat()}")
    session.add(order)
    session.flush()
    if maintenance is None and (found := coverage.link_contract(session, order)) is not None:
        notes.append(f"contract {found.contract_number}")
        if order.response_due_at is not None:
            notes.append(f"response due {order.response_due_at.isoformat()}")
    note = "; ".join(notes)
    session.add(OrderHistory(order_id=order.id, at=now, user_id=user_id, event="created",
                             to_status=order.status, note=note))
    session.flush()
    return order


def _set_people(session: Session, order: ServiceOrder, changes: dict[str, Any]) -> None:
    """Set references that need checking (users, contacts, technician, loaner)."""
    for key, value in changes.items():
        if value is not None:
            if key == "responsible_user_id":
                _user(session, value, key)
            elif key == "customer_contact_id":
                _customer_contact(session, value, order.customer_id)
            elif key == "supplier_contact_id":
                _supplier_contact(session, value)
            elif key == "technician_id":
                _technician(session, value)
            elif key == "loaner_item_id":
                _ref(session, ServiceItem, value, "service item", key)
        setattr(order, key, value)


_SIMPLE = ("reported_defect", "priority", "category", "estimated_duration_minutes",
           "billing_modality", "root_cause", "loaner_issued_at", "loaner_returned_at",
           "scheduled_start")
_PEOPLE = ("responsible_user_id", "customer_contact_id", "supplier_contact_id", "technician_id",
           "loaner_item_id")
_NOT_NULL = {"reported_defect", "priority", "category", "estimated_duration_minutes",
             "billing_modality", "service_item_ids", "required_skill_ids", "skills_overridden",
             "time_windows"}


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, datetime):
        return value.isoformat()
    return "null" if value is None else str(value)


def update_order(session: Session, *, order_id: int, data: s.OrderUpdate, expected_version: int,
                 user_id: int | None, now: datetime) -> ServiceOrder:
    """Change the fields sent; a stale ``expected_version`` is a 409 and changes nothing."""
    order = _order_for_update(session, order_id)
    check_version(order.version, expected_version, f"order {order.number}")
    _editable(order)
    changes = data.model_dump(exclude_unset=True)
    for key in _NOT_NULL & changes.keys():
        if changes[key] is None:
            raise ValidationFailed(f"{key} may not be null", field=key)
    before = {
        "service_item_ids": [i.id for i in order.service_items],
        "required_skill_ids": [x.id for x in order.required_skills],
        "time_windows": [(w.starts_at, w.ends_at) for w in order.time_windows],
        **{k: getattr(order, k) for k in (*_SIMPLE, *_PEOPLE, "site_id", "skills_overridden",
                                          "contract_id", "response_due_at")},
    }

    if "service_item_ids" in changes:
        order.service_items = _items(session, changes["service_item_ids"], order.customer_id)
    if "site_id" in changes:
        if changes["site_id"] is not None:
            _site(session, changes["site_id"], order.customer_id)
        order.site_id = changes["site_id"]
    for key in _SIMPLE:
        if key in changes:
            setattr(order, key, changes[key])
    _set_people(session, order, {k: v for k, v in changes.items() if k in _PEOPLE})
    if "required_skill_ids" in changes:
        order.required_skills = _skills(session, changes["required_skill_ids"])
        order.skills_overridden = changes.get("skills_overridden", True)
    elif "skills_overridden" in changes:
        order.skills_overridden = changes["skills_overridden"]
    if not order.skills_overridden:
        order.required_skills = default_skills(order.service_items)
    if "time_windows" in changes:
        order.time_windows = [OrderTimeWindow(starts_at=w["starts_at"], ends_at=w["ends_at"])
                              for w in changes["time_windows"]]
    _check_loaner(order)
    # The contract and its response time follow the items and the priority (not for
    # preventive maintenance, whose visit has a window instead of a response time).
    relink = {"service_item_ids", "priority", "site_id"} & changes.keys()
    if relink and order.contract_line_id is None:
        session.flush()
        coverage.link_contract(session, order)

    after = {
        "service_item_ids": [i.id for i in order.service_items],
        "required_skill_ids": [x.id for x in order.required_skills],
        "time_windows": [(w.starts_at, w.ends_at) for w in order.time_windows],
        **{k: getattr(order, k) for k in before if k not in (
            "service_item_ids", "required_skill_ids", "time_windows")},
    }
    changed = [f"{k}: {_show(before[k])} -> {_show(after[k])}"
               for k in before if before[k] != after[k]]
    if changed:
        record(session, order, event="updated", user_id=user_id, now=now,
               note="; ".join(changed))
    return order


def change_status(session: Session, *, order: ServiceOrder, to: str, user_id: int | None,
                  now: datetime, note: str = "", closing: bool = False) -> ServiceOrder:
    """Move ``order`` to ``to`` if the lifecycle allows it; history and version follow.

    ``closing=True`` is for the closing use case only (it alone may reach ``closed``,
    and it sets ``closed_at``).
    """
    target = check_transition(order.status, to, closing=closing)
    if target == OrderStatus.cancelled and order.time_entries:
        raise InvalidState(
            f"order {order.number} has time logged; complete and close it instead of "
            "cancelling", field="to", allowed=[])
    previous = order.status
    order.status = target
    if target == OrderStatus.closed:
        order.closed_at = now
    if target == OrderStatus.in_progress and order.responded_at is None:
        order.responded_at = now  # the response a contract's SLA measures
    record(session, order, event="status", user_id=user_id, now=now, note=note,
           from_status=previous, to_status=target)
    return order


def transition(session: Session, *, order_id: int, data: s.TransitionCreate,
               user_id: int | None, now: datetime,
               expected_version: int | None = None) -> ServiceOrder:
    """The status change of POST /orders/{id}/transitions (never to ``closed``).

    When parts arrive (``waiting_for_parts -> ready``) a new responsible person is
    required: the one who now takes the work on (seed 000).
    """
    order = _order_for_update(session, order_id)
    if expected_version is not None:
        check_version(order.version, expected_version, f"order {order.number}")
    check_transition(order.status, data.to)
    parts_arrived = order.status == OrderStatus.waiting_for_parts and data.to == OrderStatus.ready
    if parts_arrived and data.responsible_user_id is None:
        raise ValidationFailed("when parts arrive, name the new responsible person",
                               field="responsible_user_id")
    note = data.note
    if data.responsible_user_id is not None and data.responsible_user_id != \
            order.responsible_user_id:
        user = _user(session, data.responsible_user_id, "responsible_user_id")
        order.responsible_user_id = user.id
        note = (note + "; " if note else "") + f"responsible: {user.username}"
    return change_status(session, order=order, to=data.to, user_id=user_id, now=now, note=note)


# --- lines ---------------------------------------------------------------------------------


def _group_of(session: Session, order: ServiceOrder, service_item_id: int | None) -> ItemGroup | None:
    """The item group whose default prices apply: the line's item, else the order's first."""
    if service_item_id is not None:
        return session.get(ServiceItem, service_item_id).item_group
    return order.service_items[0].item_group if order.service_items else None


def _same_currency(row_currency: str, order: ServiceOrder, field: str) -> None:
    if row_currency != order.currency:
        raise ValidationFailed(
            f"the catalogue entry is priced in {row_currency}, the order in {order.currency}",
            field=field)


def add_line(session: Session, *, order_id: int, data: s.LineCreate, user_id: int | None,
             may_set_price: bool, now: datetime) -> OrderLine:
    """Price a part from the product catalogue or a service from the labour catalogue.

    Services use the item group's hourly rate when the group has one for that labour
    type (rule ``price_list``); the order's contract coverage comes next (rule
    ``contract``, orders.coverage). A typed ``unit_price`` needs ``may_set_price``.
    """
    order = _order_for_update(session, order_id)
    _editable(order)
    if data.unit_price is not None and not may_set_price:
        raise PriceOverrideForbidden(
            "only the roles admin and billing may set a unit price", field="unit_price")
    if data.technician_id is not None:
        _technician(session, data.technician_id)
    if data.service_item_id is not None:
        _items(session, [data.service_item_id], order.customer_id, "service_item_id")
    group = _group_of(session, order, data.service_item_id)

    list_price: Decimal | None = None
    if data.kind == LineKind.part:
        product = _ref(session, Product, data.product_id, "product", "product_id")
        if not product.active:
            raise ValidationFailed(f"product {product.sku} is not active", field="product_id")
        _same_currency(product.currency, order, "product_id")
        catalogue, cost, vat, name = (product.unit_price, product.cost, product.vat_rate,
                                      product.name)
    else:
        labour = _ref(session, LabourType, data.labour_type_id, "labour type", "labour_type_id")
        if not labour.active:
            raise ValidationFailed(f"labour type {labour.code} is not active",
                                   field="labour_type_id")
        _same_currency(labour.currency, order, "labour_type_id")
        catalogue, cost, vat, name = (labour.hourly_rate, labour.cost_rate, labour.vat_rate,
                                      labour.name)
        if group is not None and group.default_hourly_rate is not None and \
                group.default_labour_type_id in (None, labour.id):
            list_price = group.default_hourly_rate
    covered = coverage.line_coverage(
        coverage.coverage_of(session, order, data.service_item_id), data.kind)
    price = price_line(catalogue_price=catalogue, price_list_price=list_price,
                       coverage=covered, warranty=data.warranty, manual_price=data.unit_price,
                       discount_percent=data.discount_percent)
    line = OrderLine(
        order_id=order.id, kind=data.kind, product_id=data.product_id,
        labour_type_id=data.labour_type_id, description=data.description or name,
        technician_id=data.technician_id, service_item_id=data.service_item_id,
        warranty=data.warranty, quantity=data.quantity, unit_price=price.unit_price,
        unit_cost=cost, price_rule=price.rule, discount_percent=price.discount_percent,
        vat_rate=vat, created_at=now, created_by_id=user_id,
    )
    session.add(line)
    session.flush()
    record(session, order, event="line_added", user_id=user_id, now=now,
           note=f"line {line.id}: {line.quantity} x {line.description} at {line.unit_price} "
                f"({line.price_rule})")
    session.expire(order, ["lines"])
    return line


def remove_line(session: Session, *, order_id: int, line_id: int, user_id: int | None,
                now: datetime) -> ServiceOrder:
    order = _order_for_update(session, order_id)
    _editable(order)
    line = session.get(OrderLine, line_id)
    if line is None or line.order_id != order.id:
        raise LineNotFound(f"order {order.number} has no line {line_id}", field="line_id")
    if line.claimed_invoice_id is not None:
        raise InvalidState("the line was claimed from its supplier; it cannot be removed")
    session.delete(line)
    session.flush()
    record(session, order, event="line_removed", user_id=user_id, now=now,
           note=f"line {line_id}: {line.quantity} x {line.description}")
    session.expire(order, ["lines"])
    return order


# --- time entries --------------------------------------------------------------------------


def default_labour_type_id(session: Session, order: ServiceOrder) -> int | None:
    """The labour type a time entry on ``order`` without one is priced at (its item group's
    default), or None when the entry must name one."""
    group = _group_of(session, order, None)
    return None if group is None else group.default_labour_type_id


def add_time_entry(session: Session, *, order_id: int, data: s.TimeEntryCreate,
                   user_id: int | None, now: datetime) -> TimeEntry:
    """Log time billed per started minute at the labour rate (contracts.pricing), or as the
    order's contract covers it (orders.coverage).

    The labour type defaults to the item group's; a technician's entries may not
    overlap (on any order). The stored amount is before any waiver: whether the
    order's time is charged is decided by its root cause and modality at totals time.
    """
    order = _order_for_update(session, order_id)
    _editable(order)
    _technician(session, data.technician_id)
    group = _group_of(session, order, None)
    labour_id = data.labour_type_id
    if labour_id is None:
        labour_id = default_labour_type_id(session, order)
    if labour_id is None:
        raise ValidationFailed("name a labour_type_id: the order's item group has no default",
                               field="labour_type_id")
    labour = _ref(session, LabourType, labour_id, "labour type", "labour_type_id")
    _same_currency(labour.currency, order, "labour_type_id")
    list_rate = None
    if group is not None and group.default_hourly_rate is not None and \
            group.default_labour_type_id in (None, labour.id):
        list_rate = group.default_hourly_rate
    covered = coverage.time_coverage(coverage.coverage_of(session, order), data.activity)
    price = price_time(started_at=data.started_at, ended_at=data.ended_at,
                       hourly_rate=labour.hourly_rate, price_list_rate=list_rate,
                       coverage=covered, currency=order.currency)
    clash = session.scalar(
        select(TimeEntry.id).where(
            TimeEntry.technician_id == data.technician_id,
            TimeEntry.started_at < data.ended_at, TimeEntry.ended_at > data.started_at,
        ).limit(1)
    )
    if clash is not None and data.ended_at > data.started_at:
        raise Conflict(f"technician {data.technician_id} already has time entry {clash} "
                       "in that span", field="started_at")
    entry = TimeEntry(
        order_id=order.id, technician_id=data.technician_id, activity=data.activity,
        started_at=data.started_at, ended_at=data.ended_at, billable=data.billable,
        labour_type_id=labour.id, hourly_rate=price.hourly_rate,
        billed_minutes=price.billed_minutes, amount=price.amount, vat_rate=labour.vat_rate,
        price_rule=price.rule, distance_km=data.distance_km, note=data.note, created_at=now,
        created_by_id=user_id,
    )
    session.add(entry)
    session.flush()
    km = "" if data.distance_km is None else f", {format_decimal(data.distance_km)} km"
    record(session, order, event="time_added", user_id=user_id, now=now,
           note=f"time {entry.id}: {data.activity} {price.billed_minutes} min{km}"
                f"{'' if data.billable else ' (not billable)'}")
    session.expire(order, ["time_entries"])
    return entry


def remove_time_entry(session: Session, *, order_id: int, entry_id: int, user_id: int | None,
                      now: datetime) -> ServiceOrder:
    order = _order_for_update(session, order_id)
    _editable(order)
    entry = session.get(TimeEntry, entry_id)
    if entry is None or entry.order_id != order.id:
        raise TimeEntryNotFound(f"order {order.number} has no time entry {entry_id}",
                           field="entry_id")
    session.delete(entry)
    session.flush()
    record(session, order, event="time_removed", user_id=user_id, now=now,
           note=f"time {entry_id}: {entry.activity} {entry.billed_minutes} min")
    session.expire(order, ["time_entries"])
    return order

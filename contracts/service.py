"""Use cases of service calendars, price indexes, contract quotes and contracts.

Every function takes the session first and keywords after, flushes when it
needs ids, raises domain errors and never commits. Every change of a contract
bumps its ``version`` and writes a ``ContractHistory`` row (who, when, what).
Contracts and quotes being changed are read ``FOR UPDATE`` so two writers
queue instead of both passing the version check (on SQLite, transactions are
serialised anyway).

"Today" for a contract or quote is the date of ``now`` in its zone (:func:`calendar_zone`:
its service calendar's, else the company's, ``default_tz``), not the UTC date: in São
Paulo the UTC date turns at 21:00. A contract is in force through its ``end_date``
there, quotes are valid through ``valid_until``, items are added and removed from
today by default.

Orders ask what a contract grants through :func:`coverage_for` (the orders side
calls it; contracts never import orders).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from contracts import schemas as s
from contracts.calendars import ServiceCalendar as CalendarRules
from contracts.errors import (
    AlreadyIndexed,
    BadIndexImport,
    BuiltinCalendar,
    CalendarInUse,
    CalendarNotFound,
    ContractLineNotFound,
    ContractNotEditable,
    ContractNotFound,
    CoverageOverlap,
    DuplicateCode,
    IndexValueConflict,
    InvalidContractInput,
    NoticePeriodPassed,
    PriceIndexNotFound,
    QuoteExpired,
    QuoteNotFound,
    QuoteStateError,
)
from contracts.indexation import adjust_price, month_start, shift_months
from contracts.lifecycle import NEGOTIABLE, RENEWABLE, RUNNING, check_transition
from contracts.masterdata.errors import UnknownReference
from contracts.masterdata.models import Customer, ItemGroup, ServiceItem, Site
from contracts.masterdata.schemas import format_decimal
from contracts.models import (
    PRIORITIES,
    Contract,
    ContractAdjustment,
    ContractHistory,
    ContractLine,
    ContractModality,
    ContractPriceChange,
    ContractQuote,
    ContractStatus,
    PriceChangeReason,
    PriceIndex,
    QuoteLine,
    QuoteStatus,
    ServiceCalendar,
)
from contracts.pricing import PREMIUM, Coverage
from contracts.proration import Period, add_months, period_containing, prorate_change
from contracts.schedule import Frequency
from contracts.sla import response_due
from dispatch.core.auth import User
from dispatch.core.errors import DomainError, InvalidState
from dispatch.core.money import HUNDRED, ZERO, valid_currency
from dispatch.core.numbering import format_document_number, next_number
from dispatch.core.web import check_version, decode_cursor, encode_cursor

DEFAULT_PAGE = 20
MAX_PAGE = 100

CONTRACT_SERIES, CONTRACT_PREFIX = "contract", "CT"
QUOTE_SERIES, QUOTE_PREFIX = "contract-quote", "CQ"

# The built-in calendar: open every hour of every day, holidays included.
BUILTIN_CODE = "24x7"
BUILTIN_NAME = "24/7"

# Statuses in which a contract covers its items (orders priced by it, SLA counted).
COVERING: frozenset[str] = frozenset({ContractStatus.active})

# Statuses whose coverage counts for the overlap rule: all but cancelled.
_HOLDING = [x.value for x in ContractStatus if x != ContractStatus.cancelled]

# Statuses a contract can still "expire" from (the `expiring_before` listing filter).
_LIVE = [ContractStatus.draft, ContractStatus.signed, ContractStatus.active,
         ContractStatus.suspended]

_ONE_DAY = timedelta(days=1)


def calendar_zone(row: ServiceCalendar | None, default_tz: str) -> str:
    """The zone the days of a contract or quote on calendar ``row`` are counted in: the
    calendar's, else ``default_tz`` (settings.default_timezone). The built-in 24/7 calendar
    is open everywhere at once; its UTC says nothing about where the work is."""
    if row is None or row.builtin:
        return default_tz
    return row.definition.get("timezone") or default_tz


def today_of(now: datetime, zone: str) -> date:
    return now.astimezone(ZoneInfo(zone)).date()


def _today(session: Session, calendar_id: int | None, *, now: datetime,
           default_tz: str) -> date:
    """Today for the contract or quote on ``calendar_id`` (None: the built-in 24/7)."""
    row = session.get(ServiceCalendar, calendar_id) if calendar_id is not None else None
    return today_of(now, calendar_zone(row, default_tz))


def _quote_today_is(session: Session, *, now: datetime, default_tz: str,
                    passed: bool) -> ColumnElement[bool]:
    """Quotes whose ``valid_until`` is before (``passed``), else on or after, their own
    today; zones east and west of the company's may be on another date, so the quotes are
    grouped by their calendar's today."""
    default_today = today_of(now, default_tz)
    elsewhere: dict[date, list[int]] = {}
    for row in session.scalars(select(ServiceCalendar)):
        today = today_of(now, calendar_zone(row, default_tz))
        if today != default_today:
            elsewhere.setdefault(today, []).append(row.id)

    def on(today: date) -> ColumnElement[bool]:
        return ContractQuote.valid_until < today if passed else ContractQuote.valid_until >= today

    if not elsewhere:
        return on(default_today)
    at_home = or_(ContractQuote.calendar_id.is_(None), ContractQuote.calendar_id.not_in(
        [i for ids in elsewhere.values() for i in ids]))
    return or_(and_(at_home, on(default_today)),
               *(and_(ContractQuote.calendar_id.in_(ids), on(today))
                 for today, ids in elsewhere.items()))


def _ref(session: Session, model: type[Any], row_id: int, what: str, field: str) -> Any:
    row = session.get(model, row_id)
    if row is None:
        raise UnknownReference(f"no {what} with id {row_id}", field=field)
    return row


def _page(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidContractInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")


def _before(cursor: str | None) -> int | None:
    if not cursor:
        return None
    before = decode_cursor(cursor).get("before")
    if not isinstance(before, int):
        raise InvalidContractInput("malformed cursor", field="cursor")
    return before


def _money(value: Decimal) -> str:
    """As the API shows it: "1200.00", "70.97", "12.345"."""
    return format_decimal(value)


# --- calendars -------------------------------------------------------------------------------


def always_open() -> CalendarRules:
    return CalendarRules.always_open("UTC", name=BUILTIN_NAME)


def calendar_rules(row: ServiceCalendar | None) -> CalendarRules:
    """The calendar a stored row describes; ``None`` is the built-in 24/7 calendar."""
    if row is None:
        return always_open()
    return CalendarRules.from_dict(row.definition)


def calendar_for(session: Session, *, calendar_id: int | None) -> CalendarRules:
    """The calendar with this id as rules (``None``: 24/7). An unknown id is a 404."""
    if calendar_id is None:
        return always_open()
    return calendar_rules(get_calendar(session, calendar_id=calendar_id))


def ensure_builtin_calendar(session: Session, *, now: datetime) -> ServiceCalendar:
    """The 24/7 calendar row (code ``24x7``), created on first use; safe under races
    (``INSERT .. ON CONFLICT DO NOTHING`` on the unique code)."""
    row = session.scalar(select(ServiceCalendar).where(ServiceCalendar.code == BUILTIN_CODE))
    if row is not None:
        return row
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(ServiceCalendar.__table__)
        .values(code=BUILTIN_CODE, name=BUILTIN_NAME, definition=always_open().to_dict(),
                builtin=True, version=1, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["code"])
    )
    return session.scalars(
        select(ServiceCalendar).where(ServiceCalendar.code == BUILTIN_CODE)
    ).one()


def _definition(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """Checked by contracts.calendars (422 naming the field) and stored in its own shape."""
    raw = {
        "name": name, "timezone": data["timezone"], "weekly": data["weekly"],
        "country": data.get("country"), "subdivision": data.get("subdivision"),
        "holiday_categories": data.get("holiday_categories") or ["public"],
        "exceptions": [
            {"day": e["day"].isoformat() if isinstance(e["day"], date) else e["day"],
             "name": e.get("name", ""), "windows": e.get("windows") or []}
            for e in data.get("exceptions") or ()
        ],
    }
    return CalendarRules.from_dict(raw).to_dict()


def create_calendar(session: Session, *, data: s.CalendarCreate, now: datetime) -> ServiceCalendar:
    if data.code == BUILTIN_CODE or session.scalar(
            select(ServiceCalendar.id).where(ServiceCalendar.code == data.code)) is not None:
        raise DuplicateCode(f"a calendar with code {data.code!r} exists", field="code")
    row = ServiceCalendar(
        code=data.code, name=data.name,
        definition=_definition(data.name, data.model_dump(exclude={"code", "name"})),
        builtin=False, version=1, created_at=now, updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get_calendar(session: Session, *, calendar_id: int) -> ServiceCalendar:
    row = session.get(ServiceCalendar, calendar_id)
    if row is None:
        raise CalendarNotFound(f"no service calendar with id {calendar_id}", field="calendar_id")
    return row


def list_calendars(session: Session, *, now: datetime) -> list[ServiceCalendar]:
    """Every calendar, the built-in 24/7 one first."""
    ensure_builtin_calendar(session, now=now)
    return list(session.scalars(
        select(ServiceCalendar).order_by(ServiceCalendar.builtin.desc(), ServiceCalendar.id)))


def _changeable_calendar(session: Session, calendar_id: int) -> ServiceCalendar:
    row = session.scalar(
        select(ServiceCalendar).where(ServiceCalendar.id == calendar_id).with_for_update())
    if row is None:
        raise CalendarNotFound(f"no service calendar with id {calendar_id}", field="calendar_id")
    if row.builtin:
        raise BuiltinCalendar(f"calendar {row.code} is built in and cannot be changed")
    return row


def update_calendar(session: Session, *, calendar_id: int, data: s.CalendarUpdate,
                    expected_version: int, now: datetime) -> ServiceCalendar:
    row = _changeable_calendar(session, calendar_id)
    check_version(row.version, expected_version, f"calendar {row.code}")
    changes = data.model_dump(exclude_unset=True)
    for key in ("name", "timezone", "weekly", "holiday_categories", "exceptions"):
        if key in changes and changes[key] is None:
            raise InvalidContractInput(f"{key} may not be null", field=key)
    current = {k: v for k, v in row.definition.items() if k != "name"}
    current["exceptions"] = [dict(e) for e in current.get("exceptions") or ()]
    name = changes.pop("name", row.name)
    merged = current | changes
    row.definition = _definition(name, merged)
    row.name = name
    row.version += 1
    row.updated_at = now
    session.flush()
    return row


def delete_calendar(session: Session, *, calendar_id: int) -> None:
    """Refused (409) while a contract, a quote or one of their lines uses it."""
    row = _changeable_calendar(session, calendar_id)
    users = (
        select(Contract.number).where(Contract.calendar_id == row.id),
        select(Contract.number).join(ContractLine, ContractLine.contract_id == Contract.id)
        .where(ContractLine.calendar_id == row.id),
        select(ContractQuote.number).where(ContractQuote.calendar_id == row.id),
        select(ContractQuote.number).join(QuoteLine, QuoteLine.quote_id == ContractQuote.id)
        .where(QuoteLine.calendar_id == row.id),
    )
    used = next((n for stmt in users if (n := session.scalar(stmt.limit(1))) is not None), None)
    if used is not None:
        raise CalendarInUse(f"calendar {row.code} is used by {used}", used_by=used)
    session.delete(row)
    session.flush()


def response_due_in(session: Session, *, calendar_id: int, created_at: datetime,
                    hours: Decimal) -> datetime:
    """``created_at`` plus ``hours`` of open time in the calendar (what an order's due is)."""
    return response_due(created_at, hours, calendar_rules(get_calendar(
        session, calendar_id=calendar_id)))


# --- price indexes ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexRow:
    name: str
    month: date
    value: Decimal
    # The CSV line it came from (None: the JSON API).
    line: int | None = None


def _where(row: IndexRow) -> dict[str, Any]:
    return {} if row.line is None else {"line": row.line}


def add_index_rows(session: Session, *, rows: Sequence[IndexRow], user_id: int | None,
                   now: datetime) -> tuple[int, int, list[PriceIndex]]:
    """Store index numbers: (created, unchanged, rows in input order).

    A month already stored with the same value is left as it is (re-importing a file
    is harmless); with a different value it is a 409 naming the month, and nothing is
    stored (published index numbers are not silently rewritten).
    """
    seen: dict[tuple[str, date], IndexRow] = {}
    for row in rows:
        if row.month.day != 1:
            raise InvalidContractInput("a month is given by its first day", field="month",
                                       **_where(row))
        first = seen.get((row.name, row.month))
        if first is not None and first.value != row.value:
            raise BadIndexImport(
                f"{row.name} {row.month:%Y-%m} is given twice with different values "
                f"({first.value} and {row.value})", field="value", **_where(row))
        seen.setdefault((row.name, row.month), row)
    names = {name for name, _ in seen}
    stored = {
        (x.name, x.month): x
        for x in session.scalars(select(PriceIndex).where(PriceIndex.name.in_(names)))
    }
    for key, row in seen.items():
        old = stored.get(key)
        if old is not None and old.value != row.value:
            raise IndexValueConflict(
                f"{row.name} {row.month:%Y-%m} is already recorded as {old.value}, "
                f"not {row.value}", field="value", index=row.name,
                month=f"{row.month:%Y-%m}", **_where(row))
    created = 0
    out: list[PriceIndex] = []
    for key, row in seen.items():
        if key not in stored:
            stored[key] = PriceIndex(name=row.name, month=row.month, value=row.value,
                                     created_at=now, created_by_id=user_id)
            session.add(stored[key])
            created += 1
        out.append(stored[key])
    session.flush()
    return created, len(seen) - created, out


def _csv_rows(text: str) -> list[IndexRow]:
    """Rows of ``name,month,value`` (``;`` separators with decimal commas are read too)."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise BadIndexImport("the file is empty; expected a header name,month,value",
                             field="file", line=1)
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower().lstrip("\ufeff") for h in next(reader)]
    if header != ["name", "month", "value"]:
        raise BadIndexImport(f"the header must be name{delimiter}month{delimiter}value, "
                             f"got {delimiter.join(header)}", field="file", line=1)
    rows: list[IndexRow] = []
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != 3:
            raise BadIndexImport(f"line {line}: expected 3 columns, got {len(record)}",
                                 field="file", line=line)
        name, month_text, value_text = (c.strip() for c in record)
        try:
            row = s.IndexRowIn(name=name, month=month_text,
                               value=value_text.replace(",", ".") if delimiter == ";"
                               else value_text)
        except ValueError as exc:
            problem = exc.errors()[0] if hasattr(exc, "errors") else {"loc": (), "msg": str(exc)}
            column = ".".join(str(p) for p in problem.get("loc", ())) or "row"
            raise BadIndexImport(f"line {line}: {column}: {problem.get('msg', exc)}",
                                 field=column, line=line) from None
        rows.append(IndexRow(row.name, row.month, row.value, line))
    if not rows:
        raise BadIndexImport("the file has a header but no rows", field="file", line=2)
    return rows


def import_index_csv(session: Session, *, text: str, user_id: int | None,
                     now: datetime) -> tuple[int, int, list[PriceIndex]]:
    """All rows or none: a bad row is a 422 naming its line."""
    return add_index_rows(session, rows=_csv_rows(text), user_id=user_id, now=now)


def get_index(session: Session, *, name: str) -> list[PriceIndex]:
    rows = list(session.scalars(
        select(PriceIndex).where(PriceIndex.name == name).order_by(PriceIndex.month)))
    if not rows:
        raise PriceIndexNotFound(f"no values for index {name!r}", field="name")
    return rows


def list_index_series(session: Session) -> list[s.IndexSeriesRead]:
    rows = session.execute(
        select(PriceIndex.name, func.count(), func.min(PriceIndex.month),
               func.max(PriceIndex.month))
        .group_by(PriceIndex.name).order_by(PriceIndex.name)
    ).all()
    return [s.IndexSeriesRead(name=n, months=c, first_month=a, last_month=b)
            for n, c, a, b in rows]


def index_values(session: Session, *, name: str, months: Iterable[date]) -> dict[date, Decimal]:
    return {
        x.month: x.value for x in session.scalars(
            select(PriceIndex).where(PriceIndex.name == name,
                                     PriceIndex.month.in_(set(months))))
    }


# --- coverage terms --------------------------------------------------------------------------


def _terms(session: Session, terms: s.CoverageTerms, *, customer_id: int, prefix: str,
           start: date, end: date) -> dict[str, Any]:
    """Column values of a quote or contract line, checked against the customer and term."""
    if terms.service_item_id is not None:
        if terms.site_id is not None or terms.item_group_id is not None:
            raise InvalidContractInput(
                "a line covers a service item, or an item group at a site, not both",
                field=f"{prefix}.service_item_id")
        item = _ref(session, ServiceItem, terms.service_item_id, "service item",
                    f"{prefix}.service_item_id")
        if item.customer_id != customer_id:
            raise InvalidContractInput(
                f"service item {item.id} belongs to another customer",
                field=f"{prefix}.service_item_id")
    elif terms.site_id is not None and terms.item_group_id is not None:
        site = _ref(session, Site, terms.site_id, "site", f"{prefix}.site_id")
        if site.customer_id != customer_id:
            raise InvalidContractInput(f"site {site.id} belongs to another customer",
                                       field=f"{prefix}.site_id")
        _ref(session, ItemGroup, terms.item_group_id, "item group", f"{prefix}.item_group_id")
    else:
        raise InvalidContractInput(
            "a line needs service_item_id, or site_id and item_group_id",
            field=f"{prefix}.service_item_id")
    _calendar_ref(session, terms.calendar_id, field=f"{prefix}.calendar_id")
    values: dict[str, Any] = {
        "service_item_id": terms.service_item_id,
        "site_id": None if terms.service_item_id is not None else terms.site_id,
        "item_group_id": None if terms.service_item_id is not None else terms.item_group_id,
        "price_per_period": terms.price_per_period,
        "labour_included": terms.labour_included,
        "labour_discount_percent": terms.labour_discount_percent,
        "labour_hourly_rate": terms.labour_hourly_rate,
        "parts_discount_percent": terms.parts_discount_percent,
        "travel_included": terms.travel_included,
        "calendar_id": terms.calendar_id,
        **{f"response_hours_{p}": getattr(terms.response_hours, p) for p in PRIORITIES},
        "frequency_every": None, "frequency_unit": None, "first_due_date": None,
        "flexibility_days": 0, "standard_duration_minutes": None,
    }
    m = terms.maintenance
    if m is not None:
        frequency = Frequency(m.every, m.unit.value)
        if m.flexibility_days >= frequency.shortest_days:
            raise InvalidContractInput(
                f"a flexibility of {m.flexibility_days} days reaches the next visit "
                f"(every {m.every} {m.unit.value})", field=f"{prefix}.maintenance.flexibility_days")
        if m.first_due_date is not None and not start <= m.first_due_date <= end:
            raise InvalidContractInput(
                f"the first visit {m.first_due_date} is outside the term {start} to {end}",
                field=f"{prefix}.maintenance.first_due_date")
        values |= {"frequency_every": m.every, "frequency_unit": m.unit.value,
                   "first_due_date": m.first_due_date, "flexibility_days": m.flexibility_days,
                   "standard_duration_minutes": m.standard_duration_minutes}
    return values


def _terms_of(line: QuoteLine | ContractLine) -> s.CoverageTerms:
    maintenance = None
    if line.frequency_every is not None:
        maintenance = s.Maintenance(
            every=line.frequency_every, unit=line.frequency_unit,
            first_due_date=line.first_due_date, flexibility_days=line.flexibility_days,
            standard_duration_minutes=line.standard_duration_minutes)
    return s.CoverageTerms(
        service_item_id=line.service_item_id, site_id=line.site_id,
        item_group_id=line.item_group_id, price_per_period=line.price_per_period,
        labour_included=line.labour_included,
        labour_discount_percent=line.labour_discount_percent,
        labour_hourly_rate=line.labour_hourly_rate,
        parts_discount_percent=line.parts_discount_percent,
        travel_included=line.travel_included,
        calendar_id=line.calendar_id,
        response_hours=s.ResponseHours(**{p: line.response_hours(p) for p in PRIORITIES}),
        maintenance=maintenance,
    )


def _check_terms(*, start: date, end: date, price: Decimal | None,
                 lines: Sequence[s.CoverageTerms], currency: str) -> Decimal:
    """The period price (default: the lines' sum); dates in order, price not below the lines'."""
    if end < start:
        raise InvalidContractInput(f"the contract ends {end}, before it starts {start}",
                                   field="end_date")
    if not valid_currency(currency):
        raise InvalidContractInput(f"unknown currency {currency!r}", field="currency")
    total = sum((x.price_per_period for x in lines), ZERO)
    if price is None:
        return total
    if price < ZERO:
        raise InvalidContractInput(f"price {price} cannot be negative", field="price_per_period")
    if price < total:
        raise InvalidContractInput(
            f"the period price {price} is below the sum of the lines' prices {total}",
            field="price_per_period")
    return price


def _customer(session: Session, customer_id: int) -> Customer:
    customer = _ref(session, Customer, customer_id, "customer", "customer_id")
    if not customer.active:
        raise InvalidContractInput("the customer is not active", field="customer_id")
    return customer


def _calendar_ref(session: Session, calendar_id: int | None, *,
                  field: str = "calendar_id") -> ServiceCalendar | None:
    if calendar_id is None:
        return None
    return _ref(session, ServiceCalendar, calendar_id, "service calendar", field)


def _calendar_name(row: ServiceCalendar | None) -> str:
    return row.code if row is not None else "the contract's"


# --- quotes ----------------------------------------------------------------------------------


def quote_status(quote: ContractQuote, today: date) -> str:
    """The stored status, or ``expired`` for a draft or sent quote past ``valid_until``."""
    if quote.status in (QuoteStatus.draft, QuoteStatus.sent) and today > quote.valid_until:
        return QuoteStatus.expired
    return quote.status


def read_quote(session: Session, quote: ContractQuote, *, now: datetime,
               default_tz: str) -> s.QuoteRead:
    return s.quote_read(quote, quote_status(
        quote, _today(session, quote.calendar_id, now=now, default_tz=default_tz)))


def _quote_loads() -> list[Any]:
    return [selectinload(ContractQuote.customer), selectinload(ContractQuote.lines),
            selectinload(ContractQuote.contract)]


def get_quote(session: Session, *, quote_id: int) -> ContractQuote:
    quote = session.scalar(
        select(ContractQuote).where(ContractQuote.id == quote_id).options(*_quote_loads()))
    if quote is None:
        raise QuoteNotFound(f"no contract quote with id {quote_id}", field="quote_id")
    return quote


def _quote_for_update(session: Session, quote_id: int) -> ContractQuote:
    quote = session.scalar(
        select(ContractQuote).where(ContractQuote.id == quote_id).with_for_update())
    if quote is None:
        raise QuoteNotFound(f"no contract quote with id {quote_id}", field="quote_id")
    return quote


def _quote_lines(session: Session, lines: Sequence[s.CoverageTerms], *, customer_id: int,
                 start: date, end: date) -> list[QuoteLine]:
    return [
        QuoteLine(**_terms(session, t, customer_id=customer_id, prefix=f"lines[{i}]",
                           start=start, end=end))
        for i, t in enumerate(lines)
    ]


def create_quote(session: Session, *, data: s.QuoteCreate, user_id: int | None,
                 now: datetime, default_tz: str) -> ContractQuote:
    """A draft quote numbered ``CQ-NNNNNN``."""
    customer = _customer(session, data.customer_id)
    currency = data.currency or customer.currency
    price = _check_terms(start=data.start_date, end=data.end_date, price=data.price_per_period,
                         lines=data.lines, currency=currency)
    calendar = _calendar_ref(session, data.calendar_id)
    if data.valid_until < today_of(now, calendar_zone(calendar, default_tz)):
        raise InvalidContractInput(f"valid_until {data.valid_until} is already past",
                                   field="valid_until")
    quote = ContractQuote(
        number=format_document_number(QUOTE_PREFIX, next_number(session, QUOTE_SERIES)),
        customer_id=customer.id, title=data.title, service_level=data.service_level,
        status=QuoteStatus.draft, billing_period=data.billing_period,
        price_per_period=price, currency=currency, start_date=data.start_date,
        end_date=data.end_date, auto_renew=data.auto_renew, notice_days=data.notice_days,
        calendar_id=data.calendar_id, modality=data.modality, index_name=data.index_name,
        valid_until=data.valid_until, notes=data.notes, decline_reason="", version=1,
        created_at=now, created_by_id=user_id, updated_at=now,
    )
    quote.lines = _quote_lines(session, data.lines, customer_id=customer.id,
                               start=data.start_date, end=data.end_date)
    session.add(quote)
    session.flush()
    return quote


def list_quotes(session: Session, *, now: datetime, default_tz: str,
                customer_id: int | None = None,
                status: str | None = None, cursor: str | None = None,
                limit: int = DEFAULT_PAGE) -> tuple[list[ContractQuote], str | None]:
    """Newest first; ``status=expired`` finds the lapsed drafts and sent quotes."""
    _page(limit)
    stmt = select(ContractQuote)
    if customer_id is not None:
        stmt = stmt.where(ContractQuote.customer_id == customer_id)
    open_ = ContractQuote.status.in_([QuoteStatus.draft, QuoteStatus.sent])
    if status == QuoteStatus.expired:
        stmt = stmt.where(open_, _quote_today_is(session, now=now, default_tz=default_tz,
                                                 passed=True))
    elif status in (QuoteStatus.draft, QuoteStatus.sent):
        stmt = stmt.where(ContractQuote.status == status,
                          _quote_today_is(session, now=now, default_tz=default_tz,
                                          passed=False))
    elif status is not None:
        stmt = stmt.where(ContractQuote.status == QuoteStatus(status))
    before = _before(cursor)
    if before is not None:
        stmt = stmt.where(ContractQuote.id < before)
    rows = list(session.scalars(
        stmt.order_by(ContractQuote.id.desc()).limit(limit + 1).options(*_quote_loads())))
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor({"before": rows[-1].id})
    return rows, None


def _touch_quote(quote: ContractQuote, now: datetime) -> None:
    quote.version += 1
    quote.updated_at = now


def _expect_quote(quote: ContractQuote, *, allowed: Sequence[str], action: str,
                  today: date) -> None:
    status = quote_status(quote, today)
    if status == QuoteStatus.expired:
        raise QuoteExpired(
            f"quote {quote.number} expired on {quote.valid_until + _ONE_DAY} "
            f"(valid until {quote.valid_until}); it cannot be {action}",
            current=status, valid_until=quote.valid_until.isoformat())
    if status not in allowed:
        raise QuoteStateError(
            f"quote {quote.number} is {status}; it can be {action} only when "
            f"{' or '.join(allowed)}", current=status)


def update_quote(session: Session, *, quote_id: int, data: s.QuoteUpdate, expected_version: int,
                 now: datetime, default_tz: str) -> ContractQuote:
    """Changes a draft quote (what was sent stays what was sent)."""
    quote = _quote_for_update(session, quote_id)
    check_version(quote.version, expected_version, f"quote {quote.number}")
    today = _today(session, quote.calendar_id, now=now, default_tz=default_tz)
    _expect_quote(quote, allowed=[QuoteStatus.draft], action="changed", today=today)
    changes = data.model_dump(exclude_unset=True, exclude={"lines"})
    nullable = {"calendar_id", "index_name"}
    for key, value in changes.items():
        if value is None and key not in nullable:
            raise InvalidContractInput(f"{key} may not be null", field=key)
    if "valid_until" in changes and changes["valid_until"] < today:
        raise InvalidContractInput(f"valid_until {changes['valid_until']} is already past",
                                   field="valid_until")
    if "calendar_id" in changes:
        _calendar_ref(session, changes["calendar_id"])
    start = changes.get("start_date", quote.start_date)
    end = changes.get("end_date", quote.end_date)
    lines = data.lines if data.lines is not None else [_terms_of(x) for x in quote.lines]
    # A new set of lines without a price prices the quote at their sum.
    asked = changes.get("price_per_period",
                        quote.price_per_period if data.lines is None else None)
    price = _check_terms(start=start, end=end, price=asked, lines=lines,
                         currency=quote.currency)
    new_lines = _quote_lines(session, lines, customer_id=quote.customer_id, start=start,
                             end=end)
    for key, value in changes.items():
        setattr(quote, key, value)
    if data.lines is not None:
        quote.lines.clear()
        session.flush()
        quote.lines.extend(new_lines)
    quote.price_per_period = price
    _touch_quote(quote, now)
    session.flush()
    return quote


def send_quote(session: Session, *, quote_id: int, now: datetime,
               default_tz: str) -> ContractQuote:
    quote = _quote_for_update(session, quote_id)
    _expect_quote(quote, allowed=[QuoteStatus.draft], action="sent",
                  today=_today(session, quote.calendar_id, now=now, default_tz=default_tz))
    quote.status = QuoteStatus.sent
    quote.sent_at = now
    _touch_quote(quote, now)
    session.flush()
    return quote


def accept_quote(session: Session, *, quote_id: int, user_id: int | None,
                 now: datetime, default_tz: str) -> ContractQuote:
    """The customer said yes, on or before ``valid_until``."""
    quote = _quote_for_update(session, quote_id)
    _expect_quote(quote, allowed=[QuoteStatus.sent], action="accepted",
                  today=_today(session, quote.calendar_id, now=now, default_tz=default_tz))
    quote.status = QuoteStatus.accepted
    quote.decided_at, quote.decided_by_id = now, user_id
    _touch_quote(quote, now)
    session.flush()
    return quote


def decline_quote(session: Session, *, quote_id: int, reason: str, user_id: int | None,
                  now: datetime, default_tz: str) -> ContractQuote:
    quote = _quote_for_update(session, quote_id)
    _expect_quote(quote, allowed=[QuoteStatus.sent], action="declined",
                  today=_today(session, quote.calendar_id, now=now, default_tz=default_tz))
    quote.status = QuoteStatus.declined
    quote.decided_at, quote.decided_by_id = now, user_id
    quote.decline_reason = reason
    _touch_quote(quote, now)
    session.flush()
    return quote


def convert_quote(session: Session, *, quote_id: int, data: s.QuoteConvert,
                  user_id: int | None, now: datetime, default_tz: str) -> Contract:
    """An accepted quote becomes a draft contract with its terms and lines (once)."""
    quote = _quote_for_update(session, quote_id)
    _expect_quote(quote, allowed=[QuoteStatus.accepted], action="converted",
                  today=_today(session, quote.calendar_id, now=now, default_tz=default_tz))
    existing = session.scalar(select(Contract).where(Contract.quote_id == quote.id))
    if existing is not None:
        raise QuoteStateError(f"quote {quote.number} was already converted into "
                              f"{existing.number}", current=quote.status,
                              contract_id=existing.id)
    contract = create_contract(
        session,
        data=s.ContractCreate(
            customer_id=quote.customer_id, title=data.title or quote.title,
            service_level=quote.service_level, start_date=data.start_date or quote.start_date,
            end_date=data.end_date or quote.end_date, billing_period=quote.billing_period,
            price_per_period=quote.price_per_period, currency=quote.currency,
            auto_renew=quote.auto_renew, notice_days=quote.notice_days,
            renewal_term_months=data.renewal_term_months, calendar_id=quote.calendar_id,
            modality=quote.modality, index_name=quote.index_name,
            index_anniversary=data.index_anniversary,
            notes=data.notes if data.notes is not None else quote.notes,
            lines=[_terms_of(x) for x in quote.lines],
        ),
        user_id=user_id, now=now, quote=quote,
    )
    _touch_quote(quote, now)
    session.flush()
    return contract


# --- contracts: reading ----------------------------------------------------------------------


def notice_deadline(contract: Contract) -> date:
    """The last day to give notice not to renew: ``notice_days`` before the end."""
    return contract.end_date - timedelta(days=contract.notice_days)


def read_contract(contract: Contract) -> s.ContractRead:
    return s.contract_read(contract, notice_deadline(contract))


def _contract_loads() -> list[Any]:
    return [selectinload(Contract.customer), selectinload(Contract.lines)]


def get_contract(session: Session, *, contract_id: int) -> Contract:
    contract = session.scalar(
        select(Contract).where(Contract.id == contract_id).options(*_contract_loads()))
    if contract is None:
        raise ContractNotFound(f"no contract with id {contract_id}", field="contract_id")
    return contract


def _contract_for_update(session: Session, contract_id: int,
                         expected_version: int | None = None) -> Contract:
    contract = session.scalar(
        select(Contract).where(Contract.id == contract_id).with_for_update())
    if contract is None:
        raise ContractNotFound(f"no contract with id {contract_id}", field="contract_id")
    if expected_version is not None:
        check_version(contract.version, expected_version, f"contract {contract.number}")
    return contract


def list_contracts(session: Session, *, customer_id: int | None = None,
                   statuses: Sequence[str] = (), expiring_before: date | None = None,
                   q: str | None = None, cursor: str | None = None,
                   limit: int = DEFAULT_PAGE) -> tuple[list[Contract], str | None]:
    """Newest first, keyset-paginated by id. ``expiring_before``: contracts not yet
    expired or cancelled whose last day is before that date."""
    _page(limit)
    stmt = select(Contract)
    if customer_id is not None:
        stmt = stmt.where(Contract.customer_id == customer_id)
    if statuses:
        stmt = stmt.where(Contract.status.in_([ContractStatus(x).value for x in statuses]))
    if expiring_before is not None:
        stmt = stmt.where(Contract.end_date < expiring_before, Contract.status.in_(_LIVE))
    if q:
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        stmt = stmt.where(or_(func.lower(Contract.number).like(pattern, "\\"),
                              func.lower(Contract.title).like(pattern, "\\")))
    before = _before(cursor)
    if before is not None:
        stmt = stmt.where(Contract.id < before)
    rows = list(session.scalars(
        stmt.order_by(Contract.id.desc()).limit(limit + 1).options(*_contract_loads())))
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor({"before": rows[-1].id})
    return rows, None


def history(session: Session, *, contract_id: int) -> list[s.HistoryRead]:
    get_contract(session, contract_id=contract_id)
    rows = session.execute(
        select(ContractHistory, User.username)
        .outerjoin(User, User.id == ContractHistory.user_id)
        .where(ContractHistory.contract_id == contract_id)
        .order_by(ContractHistory.id)
    ).all()
    return [
        s.HistoryRead(id=h.id, at=h.at, user_id=h.user_id, username=name, event=h.event,
                      from_status=h.from_status, to_status=h.to_status, note=h.note)
        for h, name in rows
    ]


def list_adjustments(session: Session, *, contract_id: int,
                     pending_only: bool = False) -> list[ContractAdjustment]:
    get_contract(session, contract_id=contract_id)
    stmt = select(ContractAdjustment).where(ContractAdjustment.contract_id == contract_id)
    if pending_only:
        stmt = stmt.where(ContractAdjustment.invoiced_invoice_id.is_(None))
    return list(session.scalars(stmt.order_by(ContractAdjustment.id)))


def list_price_changes(session: Session, *, contract_id: int) -> list[ContractPriceChange]:
    get_contract(session, contract_id=contract_id)
    return list(session.scalars(
        select(ContractPriceChange).where(ContractPriceChange.contract_id == contract_id)
        .order_by(ContractPriceChange.effective_on, ContractPriceChange.id)))


# --- contracts: history, overlap -------------------------------------------------------------


def record(session: Session, contract: Contract, *, event: str, user_id: int | None,
           now: datetime, note: str = "", from_status: str | None = None,
           to_status: str | None = None) -> ContractHistory:
    """Write one history row and bump the contract's version (every change goes through here)."""
    entry = ContractHistory(contract_id=contract.id, at=now, user_id=user_id, event=event,
                            from_status=from_status, to_status=to_status, note=note)
    session.add(entry)
    contract.version += 1
    contract.updated_at = now
    session.flush()
    return entry


def _target(line: ContractLine) -> str:
    if line.service_item_id is not None:
        return f"service item {line.service_item_id}"
    return f"item group {line.item_group_id} at site {line.site_id}"


def _covered_span(contract: Contract, line: ContractLine,
                  start: date | None = None, end: date | None = None) -> tuple[date, date]:
    """The days ``line`` covers within the contract's term (or within [start, end])."""
    first = max(start or contract.start_date, line.added_on)
    last = end or contract.end_date
    if line.removed_on is not None:
        last = min(last, line.removed_on - _ONE_DAY)
    return first, last


def _lock_coverage(session: Session, line: ContractLine) -> None:
    """Row-lock the site the line's items stand at (or the item, when it has no site), so
    two transactions covering items of one site check the overlap rule one after the other
    on PostgreSQL; the second sees the first's lines once it commits."""
    if line.service_item_id is not None:
        site_id = session.scalar(
            select(ServiceItem.site_id).where(ServiceItem.id == line.service_item_id))
        if site_id is None:
            session.execute(select(ServiceItem.id).where(ServiceItem.id == line.service_item_id)
                            .with_for_update())
            return
    else:
        site_id = line.site_id
    session.execute(select(Site.id).where(Site.id == site_id).with_for_update())


def _check_overlap(session: Session, contract: Contract, line: ContractLine,
                   *, start: date | None = None, end: date | None = None) -> None:
    """Refuse (409) when a line of another contract (not cancelled) covers the same service
    item on any day ``line`` covers, or this contract lists the same target twice."""
    first, last = _covered_span(contract, line, start, end)
    if last < first:
        return
    _lock_coverage(session, line)
    if line.service_item_id is not None:
        item = session.get(ServiceItem, line.service_item_id)
        same = ContractLine.service_item_id == item.id
        match = same
        if item.site_id is not None:
            match = or_(same, and_(ContractLine.site_id == item.site_id,
                                   ContractLine.item_group_id == item.item_group_id))
    else:
        same = and_(ContractLine.site_id == line.site_id,
                    ContractLine.item_group_id == line.item_group_id)
        items_there = select(ServiceItem.id).where(
            ServiceItem.site_id == line.site_id, ServiceItem.item_group_id == line.item_group_id)
        match = or_(same, ContractLine.service_item_id.in_(items_there))
    # Within one contract an item line may refine a group line (other terms for one item);
    # only the same item, or the same group at the same site, twice is refused there.
    match = or_(and_(Contract.id != contract.id, match), and_(Contract.id == contract.id, same))
    found = session.execute(
        select(ContractLine, Contract)
        .join(Contract, Contract.id == ContractLine.contract_id)
        .where(
            match,
            ContractLine.id != line.id,
            Contract.status.in_(_HOLDING),
            Contract.start_date <= last,
            Contract.end_date >= first,
            ContractLine.added_on <= last,
            or_(ContractLine.removed_on.is_(None), ContractLine.removed_on > first),
        )
        .order_by(Contract.id, ContractLine.id)
    ).first()
    if found is None:
        return
    other_line, other = found
    o_first, o_last = _covered_span(other, other_line)
    whom = ("another line of this contract" if other.id == contract.id
            else f"contract {other.number}")
    raise CoverageOverlap(
        f"{_target(line)} is already covered by {whom} ({_target(other_line)}, "
        f"{o_first} to {o_last}); a service item may not be under two contracts at once",
        field="lines", other_contract_id=other.id, other_contract_number=other.number,
        other_line_id=other_line.id,
    )


# --- contracts: writing ----------------------------------------------------------------------


def create_contract(session: Session, *, data: s.ContractCreate, user_id: int | None,
                    now: datetime, quote: ContractQuote | None = None) -> Contract:
    """A draft contract numbered ``CT-NNNNNN`` with its lines, covered from its start."""
    customer = _customer(session, data.customer_id)
    currency = data.currency or customer.currency
    price = _check_terms(start=data.start_date, end=data.end_date, price=data.price_per_period,
                         lines=data.lines, currency=currency)
    _calendar_ref(session, data.calendar_id)
    if data.index_anniversary is not None:
        if data.index_name is None:
            raise InvalidContractInput("an indexation anniversary needs an index_name",
                                       field="index_anniversary")
        if not data.start_date < data.index_anniversary <= data.end_date:
            raise InvalidContractInput(
                f"the indexation anniversary {data.index_anniversary} is not within the term "
                f"after its start ({data.start_date} to {data.end_date})",
                field="index_anniversary")
    contract = Contract(
        number=format_document_number(CONTRACT_PREFIX, next_number(session, CONTRACT_SERIES)),
        customer_id=customer.id, title=data.title, service_level=data.service_level,
        status=ContractStatus.draft, start_date=data.start_date, end_date=data.end_date,
        billing_period=data.billing_period, price_per_period=price, currency=currency,
        auto_renew=data.auto_renew, notice_days=data.notice_days,
        renewal_term_months=data.renewal_term_months, calendar_id=data.calendar_id,
        modality=data.modality, index_name=data.index_name,
        index_lag_months=data.index_lag_months, index_anniversary=data.index_anniversary,
        quote_id=quote.id if quote is not None else None, notes=data.notes, version=1,
        created_at=now, created_by_id=user_id, updated_at=now,
    )
    contract.lines = [
        ContractLine(**_terms(session, t, customer_id=customer.id, prefix=f"lines[{i}]",
                              start=data.start_date, end=data.end_date),
                     added_on=data.start_date, created_at=now)
        for i, t in enumerate(data.lines)
    ]
    session.add(contract)
    session.flush()
    for line in contract.lines:
        _check_overlap(session, contract, line)
    note = f"from quote {quote.number}" if quote is not None else ""
    session.add(ContractHistory(contract_id=contract.id, at=now, user_id=user_id,
                                event="created", to_status=contract.status, note=note))
    session.flush()
    return contract


def _editable(contract: Contract) -> None:
    if contract.status in (ContractStatus.cancelled, ContractStatus.expired):
        raise ContractNotEditable(
            f"contract {contract.number} is {contract.status}; it can no longer be changed",
            current=contract.status)


_TERMS_BEFORE_START = ("start_date", "end_date", "billing_period", "price_per_period")
_NULLABLE = {"calendar_id", "index_name", "index_anniversary"}


def _show(value: Any) -> str:
    return "null" if value is None else str(value)


def update_contract(session: Session, *, contract_id: int, data: s.ContractUpdate,
                    expected_version: int, user_id: int | None, now: datetime,
                    default_tz: str) -> Contract:
    """Change the fields sent. Dates, period and price only before the contract runs;
    refusing renewal (``auto_renew: false``) only up to the notice deadline."""
    contract = _contract_for_update(session, contract_id, expected_version)
    _editable(contract)
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items()
               if getattr(contract, k) != v}
    for key, value in changes.items():
        if value is None and key not in _NULLABLE:
            raise InvalidContractInput(f"{key} may not be null", field=key)
    if contract.status not in NEGOTIABLE:
        for key in _TERMS_BEFORE_START:
            if key in changes:
                raise ContractNotEditable(
                    f"{key} of contract {contract.number} cannot change once it is "
                    f"{contract.status} (renew it, index it, or add and remove items)",
                    field=key, current=contract.status)
        today = _today(session, contract.calendar_id, now=now, default_tz=default_tz)
        if changes.get("auto_renew") is False and today > notice_deadline(contract):
            raise NoticePeriodPassed(
                f"notice not to renew was due by {notice_deadline(contract)} "
                f"({contract.notice_days} days before the end on {contract.end_date})",
                field="auto_renew", notice_deadline=notice_deadline(contract).isoformat())
    if "calendar_id" in changes:
        _calendar_ref(session, changes["calendar_id"])
    before = {k: getattr(contract, k) for k in changes}
    old_start = contract.start_date
    for key, value in changes.items():
        setattr(contract, key, value)
    if contract.end_date < contract.start_date:
        raise InvalidContractInput(
            f"the contract ends {contract.end_date}, before it starts {contract.start_date}",
            field="end_date")
    if "price_per_period" in changes:
        lines_total = sum((x.price_per_period for x in contract.lines
                           if x.removed_on is None), ZERO)
        _check_terms(start=contract.start_date, end=contract.end_date,
                     price=contract.price_per_period, lines=[], currency=contract.currency)
        if contract.price_per_period < lines_total:
            raise InvalidContractInput(
                f"the period price {contract.price_per_period} is below the sum of the lines' "
                f"prices {lines_total}", field="price_per_period")
    if contract.index_anniversary is not None:
        if contract.index_name is None:
            raise InvalidContractInput("an indexation anniversary needs an index_name",
                                       field="index_anniversary")
        if "index_anniversary" in changes and not (
                contract.start_date < contract.index_anniversary <= contract.end_date):
            raise InvalidContractInput(
                f"the indexation anniversary {contract.index_anniversary} is not within the "
                f"term after its start", field="index_anniversary")
    if "start_date" in changes:
        for line in contract.lines:
            if line.added_on == old_start or line.added_on < contract.start_date:
                line.added_on = contract.start_date
    if {"start_date", "end_date"} & changes.keys():
        session.flush()
        for line in contract.lines:
            _check_overlap(session, contract, line)
    if changes:
        note = "; ".join(f"{k}: {_show(before[k])} -> {_show(v)}" for k, v in changes.items())
        record(session, contract, event="updated", user_id=user_id, now=now, note=note)
    return contract


def transition(session: Session, *, contract_id: int, to: str, note: str,
               user_id: int | None, now: datetime, default_tz: str,
               expected_version: int | None = None) -> Contract:
    """A status change the lifecycle allows (contracts/lifecycle.py), with its history row."""
    contract = _contract_for_update(session, contract_id, expected_version)
    target = check_transition(contract.status, to)
    today = _today(session, contract.calendar_id, now=now, default_tz=default_tz)
    if target == ContractStatus.expired and today <= contract.end_date:
        raise InvalidState(
            f"contract {contract.number} runs until {contract.end_date}; it expires after "
            f"that (cancel it to end it early)", field="to", current=contract.status)
    previous = contract.status
    contract.status = target
    record(session, contract, event="status", user_id=user_id, now=now, note=note,
           from_status=previous, to_status=target)
    return contract


def _floor_for_changes(contract: Contract, today: date) -> date:
    """The earliest day an item may be added or removed: the current period's start for a
    running contract (earlier periods are settled), else the contract's start."""
    if contract.status in RUNNING and contract.start_date <= today <= contract.end_date:
        return _period(contract, today).start
    return contract.start_date


def _period(contract: Contract, day: date) -> Period:
    return period_containing(contract.start_date, contract.billing_period, day,
                             contract_end=contract.end_date)


def _adjust(session: Session, contract: Contract, line: ContractLine | None, *, effective: date,
            old_price: Decimal, new_price: Decimal, reason: str, user_id: int | None,
            now: datetime) -> ContractAdjustment | None:
    """The prorated difference for the rest of the period ``effective`` falls in (None when
    it rounds to nothing or the contract is not running: nothing was paid yet)."""
    if contract.status not in RUNNING:
        return None
    period = _period(contract, effective)
    pr = prorate_change(period, effective, old_price=old_price, new_price=new_price,
                        currency=contract.currency)
    if pr.amount == ZERO:
        return None
    row = ContractAdjustment(
        contract_id=contract.id, contract_line_id=line.id if line is not None else None,
        period_start=period.start, period_end=period.end, effective_on=effective,
        days=pr.days, period_days=pr.period_days, amount=pr.amount,
        currency=contract.currency,
        reason=f"{reason}: {pr.days}/{pr.period_days} days of "
               f"{_money(abs(new_price - old_price))} {contract.currency}",
        created_at=now, created_by_id=user_id,
    )
    session.add(row)
    session.flush()
    return row


def add_line(session: Session, *, contract_id: int, data: s.ContractLineCreate,
             user_id: int | None, now: datetime, default_tz: str,
             expected_version: int | None = None) -> tuple[ContractLine, ContractAdjustment | None]:
    """Cover one more item from ``added_on`` (default today, or the start if later).

    The contract's period price grows by the line's price; on a running contract the
    rest of the current period is prorated by day into a positive adjustment.
    """
    contract = _contract_for_update(session, contract_id, expected_version)
    _editable(contract)
    today = _today(session, contract.calendar_id, now=now, default_tz=default_tz)
    added_on = data.added_on or max(today, contract.start_date)
    floor = _floor_for_changes(contract, today)
    if not floor <= added_on <= contract.end_date:
        raise InvalidContractInput(
            f"added_on {added_on} must be within {floor} to {contract.end_date}"
            + (" (earlier periods are settled)" if floor != contract.start_date else ""),
            field="added_on")
    values = _terms(session, data, customer_id=contract.customer_id, prefix="line",
                    start=contract.start_date, end=contract.end_date)
    line = ContractLine(contract_id=contract.id, **values, added_on=added_on, created_at=now)
    session.add(line)
    session.flush()
    _check_overlap(session, contract, line)
    old_total = contract.price_per_period
    contract.price_per_period = old_total + line.price_per_period
    adjustment = _adjust(session, contract, line, effective=added_on, old_price=ZERO,
                         new_price=line.price_per_period,
                         reason=f"{_target(line)} added on {added_on}", user_id=user_id, now=now)
    note = f"{_target(line)} from {added_on}"
    if line.calendar_id is not None:
        note += f"; service hours {_calendar_name(line.calendar)}"
    if line.price_per_period:
        note += (f"; price per period {_money(old_total)} -> "
                 f"{_money(contract.price_per_period)} {contract.currency}")
    if adjustment is not None:
        note += f"; prorated {_money(adjustment.amount)} {contract.currency}"
    record(session, contract, event="line_added", user_id=user_id, now=now, note=note)
    session.expire(contract, ["lines"])
    return line, adjustment


def _line_of(session: Session, contract: Contract, line_id: int) -> ContractLine:
    line = session.get(ContractLine, line_id)
    if line is None or line.contract_id != contract.id:
        raise ContractLineNotFound(f"contract {contract.number} has no line {line_id}",
                                   field="line_id")
    return line


def remove_line(session: Session, *, contract_id: int, line_id: int,
                removed_on: date | None, user_id: int | None, now: datetime,
                default_tz: str, expected_version: int | None = None,
                ) -> tuple[ContractLine, ContractAdjustment | None]:
    """Stop covering a line's item from ``removed_on`` (its first uncovered day; default
    today). The line stays, with the date; the period price drops by the line's price and
    a running contract credits the rest of the current period (a negative adjustment)."""
    contract = _contract_for_update(session, contract_id, expected_version)
    _editable(contract)
    line = _line_of(session, contract, line_id)
    if line.removed_on is not None:
        raise InvalidState(f"the line was already removed on {line.removed_on}",
                           field="line_id", removed_on=line.removed_on.isoformat())
    today = _today(session, contract.calendar_id, now=now, default_tz=default_tz)
    removed_on = removed_on or max(today, line.added_on)
    floor = max(_floor_for_changes(contract, today), line.added_on)
    if not floor <= removed_on <= contract.end_date:
        raise InvalidContractInput(
            f"removed_on {removed_on} must be within {floor} to {contract.end_date}",
            field="removed_on")
    line.removed_on = removed_on
    old_total = contract.price_per_period
    contract.price_per_period = max(ZERO, old_total - line.price_per_period)
    adjustment = _adjust(session, contract, line, effective=removed_on,
                         old_price=line.price_per_period, new_price=ZERO,
                         reason=f"{_target(line)} removed on {removed_on}", user_id=user_id,
                         now=now)
    note = f"{_target(line)} no longer covered from {removed_on}"
    if line.price_per_period:
        note += (f"; price per period {_money(old_total)} -> "
                 f"{_money(contract.price_per_period)} {contract.currency}")
    if adjustment is not None:
        note += f"; prorated {_money(adjustment.amount)} {contract.currency}"
    record(session, contract, event="line_removed", user_id=user_id, now=now, note=note)
    session.expire(contract, ["lines"])
    return line, adjustment


def update_line(session: Session, *, contract_id: int, line_id: int,
                data: s.ContractLineUpdate, expected_version: int, user_id: int | None,
                now: datetime) -> ContractLine:
    """Change a line's service hours (``calendar_id``; null: the contract's). Orders opened
    from now on count their response time in it; existing orders keep their due time."""
    contract = _contract_for_update(session, contract_id, expected_version)
    _editable(contract)
    line = _line_of(session, contract, line_id)
    changes = data.model_dump(exclude_unset=True)
    if "calendar_id" in changes and changes["calendar_id"] != line.calendar_id:
        old, line.calendar = line.calendar, _calendar_ref(session, changes["calendar_id"])
        record(session, contract, event="line_updated", user_id=user_id, now=now,
               note=f"{_target(line)}: service hours {_calendar_name(old)} -> "
                    f"{_calendar_name(line.calendar)}")
    return line


# --- renewal and indexation ------------------------------------------------------------------


def _index(session: Session, contract: Contract, *, on: date, reason: PriceChangeReason,
           user_id: int | None, now: datetime, note: str = "") -> ContractPriceChange:
    """Adjust the period price (and the lines' shares) by the index change from the last
    adjustment (or the start) to ``on``, months lagged by ``index_lag_months``."""
    since = contract.last_indexed_on or contract.start_date
    if on <= since:
        raise AlreadyIndexed(
            f"the price of contract {contract.number} was last adjusted from {since}; "
            f"{on} is not after it", field="on", last_indexed_on=since.isoformat())
    lag = contract.index_lag_months
    start_month = shift_months(month_start(since), -lag)
    end_month = shift_months(month_start(on), -lag)
    name = contract.index_name
    values = index_values(session, name=name, months=(start_month, end_month))
    adj = adjust_price(contract.price_per_period, currency=contract.currency, index_name=name,
                       values=values, start_month=start_month, end_month=end_month)
    for line in contract.lines:
        if line.price_per_period and (line.removed_on is None or line.removed_on > on):
            line.price_per_period = adjust_price(
                line.price_per_period, currency=contract.currency, index_name=name,
                values=values, start_month=start_month, end_month=end_month).new_price
    change = ContractPriceChange(
        contract_id=contract.id, reason=reason, effective_on=on, index_name=name,
        start_month=adj.start_month, end_month=adj.end_month, start_value=adj.start_value,
        end_value=adj.end_value, old_price=adj.old_price, new_price=adj.new_price,
        currency=contract.currency, at=now, user_id=user_id,
    )
    session.add(change)
    contract.price_per_period = adj.new_price
    contract.last_indexed_on = on
    if contract.index_anniversary is not None:
        while contract.index_anniversary <= on:
            contract.index_anniversary = add_months(contract.index_anniversary, 12)
    session.flush()
    record(session, contract, event="price_indexed", user_id=user_id, now=now,
           note=(f"{reason.value} from {on}: price {_money(adj.old_price)} -> "
                 f"{_money(adj.new_price)} {contract.currency}; {name} "
                 f"{adj.start_month:%Y-%m} = {adj.start_value} -> "
                 f"{adj.end_month:%Y-%m} = {adj.end_value}" + (f"; {note}" if note else "")))
    return change


def renew_contract(session: Session, *, contract_id: int, note: str, user_id: int | None,
                   now: datetime, expected_version: int | None = None,
                   ) -> tuple[Contract, ContractPriceChange | None]:
    """Extend the term by ``renewal_term_months`` from the day after the end. With an index,
    the price is first adjusted by its change over the past term (history shows old price,
    index values and new price); an expired contract becomes active again."""
    contract = _contract_for_update(session, contract_id, expected_version)
    if contract.status not in RENEWABLE:
        raise InvalidState(
            f"contract {contract.number} is {contract.status}; only active, suspended or "
            f"expired contracts are renewed", current=contract.status)
    anniversary = contract.end_date + _ONE_DAY
    new_end = add_months(anniversary, contract.renewal_term_months) - _ONE_DAY
    for line in contract.lines:
        _check_overlap(session, contract, line, start=anniversary, end=new_end)
    change = None
    since = contract.last_indexed_on or contract.start_date
    if contract.index_name is not None and since < anniversary:
        change = _index(session, contract, on=anniversary, reason=PriceChangeReason.renewal,
                        user_id=user_id, now=now)
    old_end = contract.end_date
    contract.end_date = new_end
    text = f"term extended: end {old_end} -> {new_end}"
    if note:
        text += f"; {note}"
    if contract.status == ContractStatus.expired:
        contract.status = ContractStatus.active
        record(session, contract, event="renewed", user_id=user_id, now=now, note=text,
               from_status=ContractStatus.expired, to_status=ContractStatus.active)
    else:
        record(session, contract, event="renewed", user_id=user_id, now=now, note=text)
    return contract, change


def index_contract(session: Session, *, contract_id: int, on: date | None, note: str,
                   user_id: int | None, now: datetime, expected_version: int | None = None,
                   ) -> tuple[Contract, ContractPriceChange, ContractAdjustment | None]:
    """Adjust the price by the index on an anniversary without renewing (default: the
    contract's next ``index_anniversary``). When the anniversary falls inside a billing
    period, the rest of that period is prorated at the difference."""
    contract = _contract_for_update(session, contract_id, expected_version)
    if contract.index_name is None:
        raise InvalidContractInput(f"contract {contract.number} has no price index",
                                   field="index_name")
    if contract.status not in RUNNING and contract.status != ContractStatus.signed:
        raise InvalidState(f"contract {contract.number} is {contract.status}; its price is no "
                           f"longer adjusted", current=contract.status)
    on = on or contract.index_anniversary
    if on is None:
        raise InvalidContractInput("give the anniversary 'on' (the contract has none set)",
                                   field="on")
    if not contract.start_date < on <= contract.end_date:
        raise InvalidContractInput(
            f"{on} is not within the term after its start ({contract.start_date} to "
            f"{contract.end_date})", field="on")
    old_price = contract.price_per_period
    change = _index(session, contract, on=on, reason=PriceChangeReason.anniversary,
                    user_id=user_id, now=now, note=note)
    adjustment = None
    if _period(contract, on).start != on:
        adjustment = _adjust(session, contract, None, effective=on, old_price=old_price,
                             new_price=change.new_price,
                             reason=f"price indexed by {contract.index_name} from {on}",
                             user_id=user_id, now=now)
    return contract, change, adjustment


@dataclass
class RenewalRun:
    """What :func:`run_renewals` did: renewed (with the price change, if indexed), expired,
    and the contracts it could not renew with the problem why (they stay as they were)."""

    renewed: list[tuple[Contract, ContractPriceChange | None]] = field(default_factory=list)
    expired: list[Contract] = field(default_factory=list)
    failed: list[tuple[Contract, dict[str, Any]]] = field(default_factory=list)


# A contract is renewed at most this many terms in one run (a run far ahead of time).
MAX_RENEWALS_PER_RUN = 24


def run_renewals(session: Session, *, until: date, user_id: int | None,
                 now: datetime, default_tz: str) -> RenewalRun:
    """Renew the running contracts with ``auto_renew`` whose term ends before ``until``
    (as many terms as it takes), and expire the others whose last day has passed where
    they are (each contract's today, :func:`calendar_zone`).

    Each contract is renewed inside a savepoint: one that cannot be (a missing index
    month, an overlap) is reported in ``failed`` and left unchanged, the others proceed.
    """
    out = RenewalRun()
    due = list(session.scalars(
        select(Contract)
        .where(Contract.status.in_([ContractStatus.active, ContractStatus.suspended]),
               Contract.end_date < until)
        .order_by(Contract.end_date, Contract.id)))
    for contract in due:
        if not contract.auto_renew:
            if contract.end_date < _today(session, contract.calendar_id, now=now,
                                          default_tz=default_tz):
                transition(session, contract_id=contract.id, to=ContractStatus.expired,
                           note="term ended without renewal", user_id=user_id, now=now,
                           default_tz=default_tz)
                out.expired.append(contract)
            continue
        change = None
        try:
            with session.begin_nested():
                for _ in range(MAX_RENEWALS_PER_RUN):
                    _, step = renew_contract(session, contract_id=contract.id,
                                             note="automatic renewal", user_id=user_id,
                                             now=now)
                    change = step or change
                    if contract.end_date >= until:
                        break
        except DomainError as exc:
            session.expire(contract)
            out.failed.append((contract, exc.problem()))
            continue
        out.renewed.append((contract, change))
    return out


# --- coverage for orders -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContractCoverage:
    """What the contract line covering one service item on one day grants.

    ``parts`` and ``labour`` are the inputs contracts.pricing expects
    (``price_line(coverage=...)`` for parts, ``price_time``/service lines for
    labour): labour included is a 100 % discount, so the line shows what the work
    was worth and charges nothing. ``response_hours`` maps each priority to the
    business hours promised (None: nothing promised), counted in ``calendar``: the
    line's service hours, else the contract's (``calendar_id`` None: the built-in 24/7).
    """

    contract_id: int
    contract_number: str
    contract_line_id: int
    customer_id: int
    currency: str
    modality: str
    parts: Coverage
    labour: Coverage
    labour_included: bool
    travel_included: bool
    response_hours: dict[str, Decimal | None]
    calendar_id: int | None
    calendar: CalendarRules = field(compare=False)

    @property
    def billing_modality(self) -> str:
        """The order's modality this contract implies: "premium" when always billed."""
        return PREMIUM if self.modality == ContractModality.always_billed else "standard"

    def response_hours_for(self, priority: str) -> Decimal | None:
        if priority not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}")
        return self.response_hours[priority]

    def response_due(self, created_at: datetime, priority: str) -> datetime | None:
        """When a response to an order of ``priority`` created at ``created_at`` is due (UTC);
        None when the contract promises no response time for that priority."""
        hours = self.response_hours_for(priority)
        if hours is None:
            return None
        return response_due(created_at, hours, self.calendar)


def _coverage(contract: Contract, line: ContractLine) -> ContractCoverage:
    calendar = line.service_calendar
    labour_discount = HUNDRED if line.labour_included else line.labour_discount_percent
    return ContractCoverage(
        contract_id=contract.id,
        contract_number=contract.number,
        contract_line_id=line.id,
        customer_id=contract.customer_id,
        currency=contract.currency,
        modality=contract.modality,
        parts=Coverage(discount_percent=line.parts_discount_percent, reference=contract.number),
        labour=Coverage(discount_percent=labour_discount, unit_price=line.labour_hourly_rate,
                        reference=contract.number),
        labour_included=line.labour_included,
        travel_included=line.travel_included,
        response_hours={p: line.response_hours(p) for p in PRIORITIES},
        calendar_id=calendar.id if calendar is not None else None,
        calendar=calendar_rules(calendar),
    )


def coverage_for(session: Session, *, service_item_id: int, on: date) -> ContractCoverage | None:
    """The coverage of the service item on day ``on``, or None when no contract covers it.

    A contract covers on ``on`` when it is active, ``on`` lies within
    ``[start_date, end_date]`` and one of its lines covers the item that day
    (added on or before, not removed yet): a line for the item itself, or one for
    the item's group at the item's site. An item line wins over a group line (the
    overlap rule keeps two contracts from covering one item at the same time).
    """
    item = session.get(ServiceItem, service_item_id)
    if item is None:
        return None
    item_match = ContractLine.service_item_id == item.id
    if item.site_id is not None:
        item_match = or_(item_match, (ContractLine.site_id == item.site_id)
                         & (ContractLine.item_group_id == item.item_group_id))
    rows = session.execute(
        select(ContractLine, Contract)
        .join(Contract, Contract.id == ContractLine.contract_id)
        .where(
            item_match,
            Contract.status.in_(COVERING),
            Contract.start_date <= on,
            Contract.end_date >= on,
            ContractLine.added_on <= on,
            or_(ContractLine.removed_on.is_(None), ContractLine.removed_on > on),
        )
        .options(selectinload(Contract.calendar), selectinload(ContractLine.calendar))
        .order_by(ContractLine.service_item_id.is_(None), Contract.id, ContractLine.id)
    ).first()
    if rows is None:
        return None
    line, contract = rows
    return _coverage(contract, line)


def response_hours_for(session: Session, *, service_item_id: int, priority: str,
                       on: date) -> tuple[Decimal, CalendarRules] | None:
    """The business hours promised for an order of ``priority`` on the item, and the
    calendar they count in; None when no contract covers the item or promises nothing."""
    coverage = coverage_for(session, service_item_id=service_item_id, on=on)
    if coverage is None:
        return None
    hours = coverage.response_hours_for(priority)
    if hours is None:
        return None
    return hours, coverage.calendar

"""Contract periods and day-based proration.

Periods are counted from the contract's start date, each boundary computed from
that anchor (not from the previous boundary), so a contract starting on 31
January has periods starting 31 Jan, 28/29 Feb, 31 Mar, 30 Apr ... — the end of
a short month never drags later periods earlier.

A :class:`Period` is half-open, ``[start, end)``: ``end`` is the first day of the
next period, ``last_day`` the last day covered. A contract's end date is the
last day it covers; the period it falls in is cut short there (``end`` moves,
``full_end`` stays the nominal boundary, so that period's price is prorated).

Proration is by day: a change effective on day D (an item added, removed, or
repriced from D on) counts the days from D to the end of the period, over the
full length of the period, and rounds half-up to the currency's minor unit.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from dispatch.core.errors import ValidationFailed
from dispatch.core.money import quantize, valid_currency


class ProrationError(ValidationFailed, ValueError):
    code = "invalid-proration"
    title = "Invalid period or proration input"


class PeriodKind(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"

    @property
    def months(self) -> int:
        return {"monthly": 1, "quarterly": 3, "yearly": 12}[self.value]


def add_months(anchor: date, months: int) -> date:
    """``anchor`` moved by whole months, keeping its day or taking the month's last day.

    ``add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)`` and
    ``add_months(date(2026, 1, 31), 2) == date(2026, 3, 31)``.
    """
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class Period:
    """Billing period number ``index`` (0 is the first), days ``[start, end)``."""

    index: int
    start: date
    end: date
    full_end: date

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def full_days(self) -> int:
        return (self.full_end - self.start).days

    @property
    def is_partial(self) -> bool:
        return self.end != self.full_end

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end


def _kind(kind: PeriodKind | str) -> PeriodKind:
    try:
        return PeriodKind(kind)
    except ValueError as exc:
        raise ProrationError(
            f"period {kind!r} is not one of {[k.value for k in PeriodKind]}", field="period"
        ) from exc


def _period(
    contract_start: date, kind: PeriodKind, index: int, contract_end: date | None
) -> Period:
    start = add_months(contract_start, index * kind.months)
    full_end = add_months(contract_start, (index + 1) * kind.months)
    end = full_end
    if contract_end is not None:
        end = min(full_end, contract_end + timedelta(days=1))
    return Period(index, start, end, full_end)


def _check_span(contract_start: date, contract_end: date | None) -> None:
    if contract_end is not None and contract_end < contract_start:
        raise ProrationError(
            f"contract ends {contract_end} before it starts {contract_start}", field="end_date"
        )


def period_containing(
    contract_start: date,
    kind: PeriodKind | str,
    day: date,
    *,
    contract_end: date | None = None,
) -> Period:
    """The period of a contract that covers ``day``."""
    kind = _kind(kind)
    _check_span(contract_start, contract_end)
    if day < contract_start or (contract_end is not None and day > contract_end):
        raise ProrationError(f"{day} is outside the contract", field="day")
    # A first guess from the month difference, corrected by at most one step either way.
    index = max(
        0, ((day.year - contract_start.year) * 12 + day.month - contract_start.month) // kind.months
    )
    while index > 0 and _period(contract_start, kind, index, contract_end).start > day:
        index -= 1
    while day not in (p := _period(contract_start, kind, index, contract_end)):
        index += 1
    return p


def periods(
    contract_start: date,
    kind: PeriodKind | str,
    *,
    until: date,
    contract_end: date | None = None,
) -> Iterator[Period]:
    """The contract's periods that start on or before ``until``, in order, the last one
    cut at ``contract_end``."""
    kind = _kind(kind)
    _check_span(contract_start, contract_end)
    index = 0
    while True:
        p = _period(contract_start, kind, index, contract_end)
        if p.start > until or (contract_end is not None and p.start > contract_end):
            return
        yield p
        index += 1


@dataclass(frozen=True, slots=True)
class Proration:
    """A prorated amount and how it was reached (for the invoice line's text)."""

    period: Period
    effective: date
    days: int
    period_days: int
    amount: Decimal
    currency: str


def _check_price(value: Decimal, field: str) -> Decimal:
    value = Decimal(value)
    if not value.is_finite() or value < 0:
        raise ProrationError(f"price {value} cannot be negative", field=field)
    return value


def period_price(price: Decimal, period: Period, *, currency: str) -> Decimal:
    """The price of ``period``: the full price, or a day share of it if the period is cut short."""
    price = _check_price(price, "price")
    if not valid_currency(currency):
        raise ProrationError(f"unknown currency {currency!r}", field="currency")
    return quantize(price * period.days / period.full_days, currency)


def prorate_change(
    period: Period,
    effective: date,
    *,
    old_price: Decimal,
    new_price: Decimal,
    currency: str,
) -> Proration:
    """What a change of the period price effective on ``effective`` adds (positive, to
    invoice) or takes back (negative, to credit) for the rest of a prepaid period.

    An item added on D: ``old_price=0, new_price=item price``; removed on D (covered
    up to D-1): ``old_price=item price, new_price=0``. The amount is
    ``quantize((new - old) * days_left / full_days)`` with ``days_left`` counted from
    D to the end of the period (D included).
    """
    old_price = _check_price(old_price, "old_price")
    new_price = _check_price(new_price, "new_price")
    if not valid_currency(currency):
        raise ProrationError(f"unknown currency {currency!r}", field="currency")
    if effective not in period:
        raise ProrationError(
            f"{effective} is outside the period {period.start} to {period.last_day}",
            field="effective",
        )
    days = (period.end - effective).days
    amount = quantize((new_price - old_price) * days / period.full_days, currency)
    return Proration(period, effective, days, period.full_days, amount, currency)

"""Price indexation: adjust a contract price by a price index's change over a period.

An index is a series of index numbers per month (IGP-M or IPCA in Brazil, a
consumer-price index in Denmark or Italy). The new price is
``quantize(old * index[end] / index[start])``, half-up to the currency's minor
unit; the result keeps both index values so the contract history can show how
the price was reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from dispatch.core.errors import ValidationFailed
from dispatch.core.money import quantize, valid_currency


class IndexationError(ValidationFailed, ValueError):
    code = "invalid-indexation"
    title = "Price indexation not possible"


class UnknownIndexMonth(IndexationError):
    """The index has no value for a month the adjustment needs."""

    code = "unknown-index-month"
    title = "No index value for that month"

    def __init__(self, index_name: str, month: date, *, field: str) -> None:
        super().__init__(
            f"index {index_name!r} has no value for {month:%Y-%m}",
            field=field,
            index=index_name,
            month=f"{month:%Y-%m}",
        )
        self.index_name = index_name
        self.month = month


@dataclass(frozen=True, slots=True)
class IndexAdjustment:
    """What a history entry records: old price, both index values, new price."""

    index_name: str
    start_month: date
    end_month: date
    start_value: Decimal
    end_value: Decimal
    old_price: Decimal
    new_price: Decimal
    currency: str

    @property
    def factor(self) -> Decimal:
        return self.end_value / self.start_value


def month_start(day: date) -> date:
    return day.replace(day=1)


def shift_months(month: date, months: int) -> date:
    """First day of the month ``months`` away from ``month``'s (negative goes back)."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def anniversary_months(
    anniversary: date, *, period_months: int = 12, lag_months: int = 1
) -> tuple[date, date]:
    """The (start, end) index months for an adjustment on ``anniversary``.

    Index numbers are published after their month ends, so the usual clause takes
    the last month before the anniversary (``lag_months=1``) against the month
    ``period_months`` earlier: a 2026-03-01 anniversary uses 2025-02 -> 2026-02, the
    accumulated change of March 2025 to February 2026.
    """
    if period_months < 1 or lag_months < 0:
        raise IndexationError("period must be >= 1 month, lag >= 0", field="period_months")
    end = shift_months(month_start(anniversary), -lag_months)
    return shift_months(end, -period_months), end


def adjust_price(
    old_price: Decimal,
    *,
    currency: str,
    index_name: str,
    values: Mapping[date, Decimal],
    start_month: date,
    end_month: date,
) -> IndexAdjustment:
    """Adjust ``old_price`` by the index change from ``start_month`` to ``end_month``.

    ``values`` maps a month (any date in it is taken as the month; keys should be
    first days of months) to the index number. Raises :class:`UnknownIndexMonth`
    naming the field and month when a value is missing, :class:`IndexationError`
    for a negative price, a non-positive index value or months in the wrong order.
    """
    if not valid_currency(currency):
        raise IndexationError(f"unknown currency {currency!r}", field="currency")
    old_price = Decimal(old_price)
    if not old_price.is_finite() or old_price < 0:
        raise IndexationError(f"price {old_price} cannot be negative", field="old_price")
    start_month, end_month = month_start(start_month), month_start(end_month)
    if end_month < start_month:
        raise IndexationError(
            f"end month {end_month:%Y-%m} is before start month {start_month:%Y-%m}",
            field="end_month",
        )
    by_month = {month_start(k): Decimal(v) for k, v in values.items()}
    found = {}
    for name, month in (("start_month", start_month), ("end_month", end_month)):
        value = by_month.get(month)
        if value is None:
            raise UnknownIndexMonth(index_name, month, field=name)
        if not value.is_finite() or value <= 0:
            raise IndexationError(
                f"index {index_name!r} value {value} for {month:%Y-%m} must be positive",
                field=name,
            )
        found[name] = value
    start_value, end_value = found["start_month"], found["end_month"]
    with localcontext() as ctx:
        # Enough digits that half-up rounding sees the exact quotient, not a 28-digit one.
        ctx.prec = 60
        new_price = quantize(old_price * end_value / start_value, currency)
    return IndexAdjustment(
        index_name=index_name,
        start_month=start_month,
        end_month=end_month,
        start_value=start_value,
        end_value=end_value,
        old_price=old_price,
        new_price=new_price,
        currency=currency,
    )

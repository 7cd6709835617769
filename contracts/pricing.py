"""Pricing of order lines and time entries from plain inputs.

The one place that decides what a line or an hour costs the customer. Callers
look the inputs up (catalogue price, the customer's price-list price, what a
contract covers, the warranty flag, a permitted manual price) and store what
comes back together with the ``rule`` that produced it, so an invoice can say
why a price is what it is.

Precedence, first match wins:

1. ``warranty``: the customer pays nothing for the line (orders/totals.py),
   but its unit price (the manual one if given, else the catalogue price) is
   kept as the value claimed from the supplier.
2. ``manual``: someone with the permission typed a price.
3. ``contract``: a contract covers the line: its fixed price if it has one,
   else the price-list/catalogue price, with the contract's discount.
4. ``price_list``: the customer's price list has the item.
5. ``catalogue``: the catalogue price.

An explicit line discount given by the user replaces the rule's discount
(including a contract's); warranty lines carry no discount.

Time is billed per *started* minute at an hourly rate (seed 004 quotes R$354
per hour): ``amount = quantize(ceil(seconds / 60) * rate / 60)``. It is waived
when the root cause is a product defect, unless the customer bought the
premium modality (seed 004: then it is charged whatever the cause).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from dispatch.core.errors import ValidationFailed
from dispatch.core.money import HUNDRED, ZERO, quantize, round_to

# Unit prices and hourly rates are kept to 4 decimal digits (ScaledDecimal(4) columns).
PRICE_DIGITS = 4

PRODUCT_DEFECT = "product_defect"
PREMIUM = "premium"


class PriceRule(StrEnum):
    catalogue = "catalogue"
    price_list = "price_list"
    contract = "contract"
    warranty = "warranty"
    manual = "manual"


@dataclass(frozen=True, slots=True)
class Coverage:
    """What a contract grants: a fixed unit price (or hourly rate) and/or a discount."""

    discount_percent: Decimal = ZERO
    unit_price: Decimal | None = None
    # Which contract granted it, for the record (e.g. its number).
    reference: str = ""


@dataclass(frozen=True, slots=True)
class LinePrice:
    unit_price: Decimal
    discount_percent: Decimal
    rule: PriceRule


@dataclass(frozen=True, slots=True)
class TimePrice:
    billed_minutes: int
    hourly_rate: Decimal
    discount_percent: Decimal
    # What the entry costs before any waiver; totals decide whether it is charged.
    amount: Decimal
    rule: PriceRule


def _price(value: Decimal, field: str) -> Decimal:
    value = Decimal(value)
    if not value.is_finite() or value < ZERO:
        raise ValidationFailed(f"{field} must be zero or more, got {value}", field=field)
    return round_to(value, PRICE_DIGITS)


def check_discount(value: Decimal, field: str = "discount_percent") -> Decimal:
    value = Decimal(value)
    if not value.is_finite() or value < ZERO or value > HUNDRED:
        raise ValidationFailed(f"{field} must be between 0 and 100, got {value}", field=field)
    return value


def price_line(
    *,
    catalogue_price: Decimal,
    price_list_price: Decimal | None = None,
    coverage: Coverage | None = None,
    warranty: bool = False,
    manual_price: Decimal | None = None,
    discount_percent: Decimal | None = None,
) -> LinePrice:
    """Unit price, discount and rule of one order line (see the module docstring)."""
    catalogue = _price(catalogue_price, "catalogue_price")
    listed = None if price_list_price is None else _price(price_list_price, "price_list_price")
    manual = None if manual_price is None else _price(manual_price, "unit_price")
    explicit = None if discount_percent is None else check_discount(discount_percent)

    if warranty:
        return LinePrice(manual if manual is not None else catalogue, ZERO, PriceRule.warranty)
    if manual is not None:
        return LinePrice(manual, explicit or ZERO, PriceRule.manual)
    base = listed if listed is not None else catalogue
    if coverage is not None:
        covered = base if coverage.unit_price is None else _price(coverage.unit_price,
                                                                  "coverage.unit_price")
        rule_discount = check_discount(coverage.discount_percent, "coverage.discount_percent")
        return LinePrice(covered, explicit if explicit is not None else rule_discount,
                         PriceRule.contract)
    rule = PriceRule.price_list if listed is not None else PriceRule.catalogue
    return LinePrice(base, explicit or ZERO, rule)


def billed_minutes(started_at: datetime, ended_at: datetime) -> int:
    """Minutes billed for a span: every started minute counts (61 s -> 2)."""
    if ended_at < started_at:
        raise ValidationFailed("ended_at is before started_at", field="ended_at")
    micros = (ended_at - started_at) // timedelta(microseconds=1)
    return -(-micros // 60_000_000)


def price_time(
    *,
    started_at: datetime,
    ended_at: datetime,
    hourly_rate: Decimal,
    currency: str,
    price_list_rate: Decimal | None = None,
    coverage: Coverage | None = None,
) -> TimePrice:
    """What a time entry costs: started minutes at the hourly rate, rounded to the currency.

    ``hourly_rate`` is the labour catalogue's; ``price_list_rate`` (e.g. the item
    group's rate) replaces it; a contract's coverage replaces both.
    """
    minutes = billed_minutes(started_at, ended_at)
    rate = _price(hourly_rate, "hourly_rate")
    discount = ZERO
    rule = PriceRule.catalogue
    if price_list_rate is not None:
        rate = _price(price_list_rate, "price_list_rate")
        rule = PriceRule.price_list
    if coverage is not None:
        if coverage.unit_price is not None:
            rate = _price(coverage.unit_price, "coverage.unit_price")
        discount = check_discount(coverage.discount_percent, "coverage.discount_percent")
        rule = PriceRule.contract
    amount = quantize(Decimal(minutes) * rate / 60 * (1 - discount / HUNDRED), currency)
    return TimePrice(minutes, rate, discount, amount, rule)


def time_charges_waived(root_cause: str | None, billing_modality: str) -> bool:
    """Seed 004: a product defect of the vendor waives the time, unless the modality is premium."""
    return root_cause == PRODUCT_DEFECT and billing_modality != PREMIUM

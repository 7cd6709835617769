"""What an order costs the customer: lines, time, order discount, VAT.

Pure arithmetic on anything that looks like a line or a time entry (the ORM
rows do), so the order view, closing and the invoice all use the same numbers.

- A line's net is ``quantize(quantity * unit_price * (1 - discount/100))``.
- Warranty lines cost the customer nothing; their net is kept as
  ``warranty_value`` (what can be claimed from the supplier).
- Time entries count with their stored ``amount`` when billable, unless the
  order's time charges are waived (root cause product defect, not premium).
- The order-level discount (a percent or an amount, never both) comes off the
  net before VAT. It is split over the charged lines and time entries in
  proportion to their net, in whole minor units (largest remainder, ties to the
  earlier one), so the shares add up exactly and each part's VAT is computed on
  what is really charged for it.
- VAT is computed and rounded per line: ``quantize(taxable * vat_rate / 100)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from dispatch.core.errors import ValidationFailed
from dispatch.core.money import HUNDRED, ZERO, minor_digits, quantize


class LineLike(Protocol):
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    vat_rate: Decimal
    warranty: bool


class TimeLike(Protocol):
    amount: Decimal
    billable: bool
    vat_rate: Decimal


@dataclass(frozen=True, slots=True)
class PartAmounts:
    """One line or time entry as charged. ``value`` is before the customer/waiver rules."""

    value: Decimal
    net: Decimal
    order_discount: Decimal
    taxable: Decimal
    vat_rate: Decimal
    vat: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class VatGroup:
    rate: Decimal
    taxable: Decimal
    vat: Decimal


@dataclass(frozen=True, slots=True)
class OrderTotals:
    currency: str
    lines: tuple[PartAmounts, ...]
    time_entries: tuple[PartAmounts, ...]
    lines_net: Decimal
    # Billable time as charged (zero when waived) and what the waiver took off.
    time_charges: Decimal
    time_charges_waived: bool
    waived_amount: Decimal
    warranty_value: Decimal
    subtotal: Decimal
    order_discount: Decimal
    net: Decimal
    vat: Decimal
    total: Decimal
    vat_groups: tuple[VatGroup, ...]


def line_value(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal,
               currency: str) -> Decimal:
    return quantize(
        Decimal(quantity) * Decimal(unit_price) * (1 - Decimal(discount_percent) / HUNDRED),
        currency,
    )


def _order_discount(subtotal: Decimal, currency: str, percent: Decimal | None,
                    amount: Decimal | None) -> Decimal:
    if percent is not None and amount is not None:
        raise ValidationFailed("give the order discount as a percent or an amount, not both",
                               field="discount_amount")
    if percent is not None:
        if not ZERO <= percent <= HUNDRED:
            raise ValidationFailed("discount_percent must be between 0 and 100",
                                   field="discount_percent")
        return quantize(subtotal * percent / HUNDRED, currency)
    if amount is not None:
        if amount < ZERO:
            raise ValidationFailed("discount_amount must be zero or more", field="discount_amount")
        if quantize(amount, currency) != amount:
            raise ValidationFailed(f"discount_amount has more digits than {currency} allows",
                                   field="discount_amount")
        if amount > subtotal:
            raise ValidationFailed(
                f"discount_amount {amount} is more than the order's net {subtotal}",
                field="discount_amount",
            )
        return amount
    return ZERO


def split_proportionally(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split ``total`` over ``weights`` in whole minor units; the parts add up to ``total``."""
    digits = minor_digits(currency)
    units = int(Decimal(total).scaleb(digits))
    w = [int(Decimal(x).scaleb(digits)) for x in weights]
    whole = sum(w)
    if whole == 0 or units == 0:
        return [ZERO.scaleb(-digits) for _ in w]
    floors = [units * x // whole for x in w]
    rests = [units * x % whole for x in w]
    left = units - sum(floors)
    for i in sorted(range(len(w)), key=lambda i: (-rests[i], i))[:left]:
        floors[i] += 1
    return [Decimal(f).scaleb(-digits) for f in floors]


def order_totals(
    lines: Iterable[LineLike],
    time_entries: Iterable[TimeLike] = (),
    *,
    currency: str,
    time_waived: bool = False,
    discount_percent: Decimal | None = None,
    discount_amount: Decimal | None = None,
) -> OrderTotals:
    lines, time_entries = list(lines), list(time_entries)
    line_values = [line_value(x.quantity, x.unit_price, x.discount_percent, currency)
                   for x in lines]
    line_nets = [ZERO if x.warranty else v for x, v in zip(lines, line_values, strict=True)]
    time_values = [quantize(t.amount, currency) if t.billable else ZERO for t in time_entries]
    time_nets = [ZERO if time_waived else v for v in time_values]

    subtotal = sum(line_nets, ZERO) + sum(time_nets, ZERO)
    discount = _order_discount(subtotal, currency, discount_percent, discount_amount)
    shares = split_proportionally(discount, line_nets + time_nets, currency)

    def parts(values: list[Decimal], nets: list[Decimal], rates: list[Decimal],
              shares: list[Decimal]) -> tuple[PartAmounts, ...]:
        out = []
        for value, net, rate, share in zip(values, nets, rates, shares, strict=True):
            taxable = net - share
            vat = quantize(taxable * Decimal(rate) / HUNDRED, currency)
            out.append(PartAmounts(value, net, share, taxable, Decimal(rate), vat, taxable + vat))
        return tuple(out)

    n = len(lines)
    line_parts = parts(line_values, line_nets, [x.vat_rate for x in lines], shares[:n])
    time_parts = parts(time_values, time_nets, [t.vat_rate for t in time_entries], shares[n:])

    groups: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for p in (*line_parts, *time_parts):
        if p.net == ZERO:
            continue
        # Decimal hashes by value: 10 and 10.00 share a group.
        taxable, vat = groups.get(p.vat_rate, (ZERO, ZERO))
        groups[p.vat_rate] = (taxable + p.taxable, vat + p.vat)
    vat_total = sum((p.vat for p in (*line_parts, *time_parts)), ZERO)
    net = subtotal - discount
    zero = quantize(ZERO, currency)
    return OrderTotals(
        currency=currency,
        lines=line_parts,
        time_entries=time_parts,
        lines_net=quantize(sum(line_nets, ZERO), currency),
        time_charges=quantize(sum(time_nets, ZERO), currency),
        time_charges_waived=time_waived,
        waived_amount=quantize(sum(time_values, ZERO), currency) if time_waived else zero,
        warranty_value=quantize(
            sum((v for x, v in zip(lines, line_values, strict=True) if x.warranty), ZERO),
            currency),
        subtotal=quantize(subtotal, currency),
        order_discount=quantize(discount, currency),
        net=quantize(net, currency),
        vat=quantize(vat_total, currency),
        total=quantize(net + vat_total, currency),
        vat_groups=tuple(VatGroup(r, quantize(t, currency), quantize(v, currency))
                         for r, (t, v) in sorted(groups.items())),
    )

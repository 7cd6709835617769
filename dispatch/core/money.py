"""Money is Decimal quantized half-up to the currency's minor unit, with its currency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies

ZERO = Decimal("0")
HUNDRED = Decimal("100")


@lru_cache
def minor_digits(currency: str) -> int:
    return get_currency_precision(currency)


def valid_currency(code: str) -> bool:
    return code in list_currencies()


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (2 digits for BRL, DKK, EUR)."""
    exp = Decimal(1).scaleb(-minor_digits(currency))
    return Decimal(amount).quantize(exp, rounding=ROUND_HALF_UP)


def round_to(amount: Decimal, digits: int) -> Decimal:
    return Decimal(amount).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    return Decimal(amount) * Decimal(percent) / HUNDRED


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", quantize(Decimal(self.amount), self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(ZERO, currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def times(self, factor: Decimal) -> Money:
        return Money(self.amount * Decimal(factor), self.currency)

    def minor_units(self) -> int:
        return int(self.amount.scaleb(minor_digits(self.currency)))

    @classmethod
    def from_minor(cls, units: int, currency: str) -> Money:
        return cls(Decimal(units).scaleb(-minor_digits(currency)), currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

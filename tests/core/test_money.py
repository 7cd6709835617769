from decimal import Decimal

import pytest

from dispatch.core.money import Money, quantize


def test_rounding_is_half_up_to_the_minor_unit():
    assert quantize(Decimal("2.345"), "BRL") == Decimal("2.35")
    assert quantize(Decimal("2.344"), "DKK") == Decimal("2.34")
    assert quantize(Decimal("-2.345"), "EUR") == Decimal("-2.35")
    assert quantize(Decimal("2.5"), "JPY") == Decimal("3")


def test_adding_two_currencies_is_an_error():
    with pytest.raises(ValueError, match="BRL with EUR"):
        Money(Decimal("1"), "BRL") + Money(Decimal("1"), "EUR")


def test_minor_units_round_trip():
    m = Money(Decimal("354.005"), "BRL")
    assert m.amount == Decimal("354.01")
    assert m.minor_units() == 35401
    assert Money.from_minor(35401, "BRL") == m

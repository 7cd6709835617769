from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.indexation import (
    IndexAdjustment,
    IndexationError,
    UnknownIndexMonth,
    adjust_price,
    anniversary_months,
    shift_months,
)
from dispatch.core.errors import ValidationFailed

# Index numbers shaped like IGP-M's (FGV, base Aug/1994 = 100); values made up for the tests.
IGPM = {
    date(2025, 2, 1): Decimal("1125.350"),
    date(2025, 8, 1): Decimal("1131.004"),
    date(2026, 2, 1): Decimal("1172.838"),
}


def adjust(old: str, start: date, end: date, values=IGPM, currency: str = "BRL") -> IndexAdjustment:
    return adjust_price(
        Decimal(old),
        currency=currency,
        index_name="IGP-M",
        values=values,
        start_month=start,
        end_month=end,
    )


def test_the_price_moves_by_the_index_ratio_and_the_history_gets_every_figure():
    got = adjust("354.00", date(2025, 2, 1), date(2026, 2, 1))
    # 354.00 * 1172.838 / 1125.350 = 368.9382...
    assert got == IndexAdjustment(
        index_name="IGP-M",
        start_month=date(2025, 2, 1),
        end_month=date(2026, 2, 1),
        start_value=Decimal("1125.350"),
        end_value=Decimal("1172.838"),
        old_price=Decimal("354.00"),
        new_price=Decimal("368.94"),
        currency="BRL",
    )
    assert got.factor.quantize(Decimal("0.000001")) == Decimal("1.042198")


def test_rounding_is_half_up_to_the_currency_minor_unit():
    values = {date(2026, 1, 1): Decimal("1000"), date(2026, 7, 1): Decimal("1000.05")}
    # 100.00 * 1000.05 / 1000 = 100.005 exactly: half-up gives 100.01 (banker's would give 100.00)
    assert adjust("100.00", date(2026, 1, 1), date(2026, 7, 1), values).new_price == Decimal(
        "100.01"
    )
    assert adjust("100.00", date(2026, 1, 1), date(2026, 7, 1), values, "JPY").new_price == Decimal(
        "100"
    )
    # a falling index lowers the price
    falling = {date(2026, 7, 1): Decimal("200"), date(2027, 1, 1): Decimal("199")}
    assert adjust("100.00", date(2026, 7, 1), date(2027, 1, 1), falling).new_price == Decimal(
        "99.50"
    )


def test_any_day_of_a_month_stands_for_that_month():
    got = adjust("354.00", date(2025, 2, 17), date(2026, 2, 28))
    assert (got.start_month, got.end_month) == (date(2025, 2, 1), date(2026, 2, 1))
    assert got.new_price == Decimal("368.94")


def test_the_same_month_at_both_ends_leaves_the_price_unchanged():
    assert adjust("354.00", date(2025, 8, 1), date(2025, 8, 1)).new_price == Decimal("354.00")


def test_an_unknown_index_month_is_a_clear_validation_error_naming_field_and_month():
    with pytest.raises(UnknownIndexMonth) as err:
        adjust("354.00", date(2025, 2, 1), date(2026, 3, 1))
    e = err.value
    assert isinstance(e, ValueError) and isinstance(e, ValidationFailed)
    assert e.field == "end_month"
    assert (e.index_name, e.month) == ("IGP-M", date(2026, 3, 1))
    assert str(e) == "index 'IGP-M' has no value for 2026-03"
    problem = e.problem()
    assert problem["status"] == 422
    assert problem["type"].endswith("/unknown-index-month")
    assert (problem["field"], problem["month"], problem["index"]) == (
        "end_month",
        "2026-03",
        "IGP-M",
    )


def test_a_missing_start_month_names_the_start_field():
    with pytest.raises(UnknownIndexMonth) as err:
        adjust("354.00", date(2024, 2, 1), date(2026, 2, 1))
    assert err.value.field == "start_month"


@pytest.mark.parametrize(
    ("old", "values", "start", "end", "field"),
    [
        ("-1.00", IGPM, date(2025, 2, 1), date(2026, 2, 1), "old_price"),
        ("NaN", IGPM, date(2025, 2, 1), date(2026, 2, 1), "old_price"),
        ("354.00", IGPM, date(2026, 2, 1), date(2025, 2, 1), "end_month"),
        (
            "354.00",
            {date(2025, 2, 1): Decimal("0"), **{date(2026, 2, 1): Decimal("1")}},
            date(2025, 2, 1),
            date(2026, 2, 1),
            "start_month",
        ),
        (
            "354.00",
            {date(2025, 2, 1): Decimal("1"), date(2026, 2, 1): Decimal("-3")},
            date(2025, 2, 1),
            date(2026, 2, 1),
            "end_month",
        ),
    ],
)
def test_bad_indexation_input_is_rejected_naming_the_field(old, values, start, end, field):
    with pytest.raises(IndexationError) as err:
        adjust(old, start, end, values)
    assert err.value.field == field
    assert not isinstance(err.value, UnknownIndexMonth)


def test_an_unknown_currency_is_rejected():
    with pytest.raises(IndexationError) as err:
        adjust("354.00", date(2025, 2, 1), date(2026, 2, 1), currency="ZZZ")
    assert err.value.field == "currency"


def test_month_shifts_cross_year_boundaries():
    assert shift_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert shift_months(date(2025, 12, 1), 1) == date(2026, 1, 1)
    assert shift_months(date(2026, 3, 1), -26) == date(2024, 1, 1)


def test_an_anniversary_uses_the_twelve_months_ending_the_month_before():
    assert anniversary_months(date(2026, 3, 1)) == (date(2025, 2, 1), date(2026, 2, 1))
    assert anniversary_months(date(2026, 1, 15)) == (date(2024, 12, 1), date(2025, 12, 1))
    assert anniversary_months(date(2026, 3, 1), lag_months=0, period_months=6) == (
        date(2025, 9, 1),
        date(2026, 3, 1),
    )
    with pytest.raises(IndexationError):
        anniversary_months(date(2026, 3, 1), period_months=0)


prices = st.decimals(min_value=0, max_value=Decimal("1000000"), places=2)
index_values = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100000"), places=3)


@given(old=prices, start=index_values, end=index_values)
def test_the_new_price_is_the_exact_ratio_rounded_half_up(old, start, end):
    values = {date(2025, 1, 1): start, date(2026, 1, 1): end}
    got = adjust(str(old), date(2025, 1, 1), date(2026, 1, 1), values).new_price
    exact = Fraction(old) * Fraction(end) / Fraction(start)
    cents = exact * 100
    expected = (cents.numerator * 2 + cents.denominator) // (2 * cents.denominator)  # half-up, >= 0
    assert got == (Decimal(expected) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

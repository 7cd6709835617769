from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.proration import (
    Period,
    PeriodKind,
    ProrationError,
    add_months,
    period_containing,
    period_price,
    periods,
    prorate_change,
)


def spans(ps) -> list[tuple[date, date]]:
    return [(p.start, p.last_day) for p in ps]


# -- month arithmetic and period boundaries --------------------------------------------------


def test_adding_months_keeps_the_day_or_takes_the_last_day_of_a_short_month():
    jan31 = date(2026, 1, 31)
    assert add_months(jan31, 1) == date(2026, 2, 28)
    assert add_months(jan31, 2) == date(2026, 3, 31)
    assert add_months(jan31, 3) == date(2026, 4, 30)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 12, 31), 1) == date(2027, 1, 31)
    assert add_months(date(2026, 8, 31), -6) == date(2026, 2, 28)
    assert add_months(date(2026, 5, 15), 0) == date(2026, 5, 15)


def test_monthly_periods_from_january_31_follow_the_anchor_not_the_previous_boundary():
    got = list(periods(date(2026, 1, 31), "monthly", until=date(2026, 5, 1)))
    assert spans(got) == [
        (date(2026, 1, 31), date(2026, 2, 27)),
        (date(2026, 2, 28), date(2026, 3, 30)),
        (date(2026, 3, 31), date(2026, 4, 29)),
        (date(2026, 4, 30), date(2026, 5, 30)),
    ]
    assert [p.days for p in got] == [28, 31, 30, 31]
    assert [p.index for p in got] == [0, 1, 2, 3]
    assert not any(p.is_partial for p in got)


def test_quarterly_and_yearly_periods_are_end_of_month_safe():
    quarters = list(periods(date(2025, 11, 30), PeriodKind.QUARTERLY, until=date(2026, 8, 30)))
    assert [p.start for p in quarters] == [
        date(2025, 11, 30),
        date(2026, 2, 28),
        date(2026, 5, 30),
        date(2026, 8, 30),
    ]
    years = list(periods(date(2024, 2, 29), "yearly", until=date(2028, 3, 1)))
    assert [p.start for p in years] == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]
    assert [p.days for p in years[:2]] == [365, 365]


def test_the_contract_end_cuts_the_last_period_short():
    got = list(
        periods(
            date(2026, 1, 1), "monthly", until=date(2026, 12, 31), contract_end=date(2026, 3, 15)
        )
    )
    assert spans(got) == [
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 15)),
    ]
    last = got[-1]
    assert (last.days, last.full_days, last.is_partial) == (15, 31, True)
    assert last.end == date(2026, 3, 16) and last.full_end == date(2026, 4, 1)


def test_a_contract_ending_on_a_boundary_has_no_partial_period():
    got = list(
        periods(
            date(2026, 1, 1), "quarterly", until=date(2027, 1, 1), contract_end=date(2026, 6, 30)
        )
    )
    assert spans(got) == [
        (date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 6, 30)),
    ]
    assert not got[-1].is_partial


def test_the_period_containing_a_day_is_found_either_side_of_a_boundary():
    start = date(2026, 1, 31)
    assert period_containing(start, "monthly", date(2026, 3, 30)).start == date(2026, 2, 28)
    assert period_containing(start, "monthly", date(2026, 3, 31)).start == date(2026, 3, 31)
    assert period_containing(start, "monthly", date(2026, 1, 31)).index == 0
    assert period_containing(start, "yearly", date(2027, 1, 30)) == Period(
        0, start, date(2027, 1, 31), date(2027, 1, 31)
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"day": date(2026, 1, 30)}, "day"),
        ({"day": date(2026, 5, 1), "contract_end": date(2026, 4, 30)}, "day"),
        ({"day": date(2026, 2, 1), "contract_end": date(2026, 1, 1)}, "end_date"),
        ({"day": date(2026, 2, 1), "kind": "weekly"}, "period"),
    ],
)
def test_bad_period_questions_name_the_field(kwargs, field):
    kind = kwargs.pop("kind", "monthly")
    with pytest.raises(ProrationError) as err:
        period_containing(date(2026, 1, 31), kind, **kwargs)
    assert err.value.field == field
    assert err.value.problem()["status"] == 422


# -- proration -------------------------------------------------------------------------------

JANUARY = Period(0, date(2026, 1, 1), date(2026, 2, 1), date(2026, 2, 1))


def test_an_item_added_mid_period_is_charged_for_the_days_left_including_the_first():
    got = prorate_change(
        JANUARY,
        date(2026, 1, 20),
        old_price=Decimal("0"),
        new_price=Decimal("310.00"),
        currency="BRL",
    )
    assert (got.days, got.period_days, got.amount) == (12, 31, Decimal("120.00"))


def test_an_item_removed_mid_period_is_credited_for_the_days_left_rounded_half_up():
    got = prorate_change(
        JANUARY,
        date(2026, 1, 20),
        old_price=Decimal("100.00"),
        new_price=Decimal("0"),
        currency="DKK",
    )
    # -100 * 12 / 31 = -38.709...
    assert got.amount == Decimal("-38.71")


def test_a_price_change_charges_only_the_difference_for_the_days_left():
    got = prorate_change(
        JANUARY,
        date(2026, 1, 17),
        old_price=Decimal("100.00"),
        new_price=Decimal("130.00"),
        currency="EUR",
    )
    # 30 * 15 / 31 = 14.516...
    assert (got.days, got.amount) == (15, Decimal("14.52"))


def test_half_a_cent_rounds_up():
    feb = Period(1, date(2026, 2, 1), date(2026, 3, 1), date(2026, 3, 1))
    # 0.01 * 14 / 28 = 0.005 exactly -> 0.01 (banker's rounding would give 0.00)
    got = prorate_change(
        feb, date(2026, 2, 15), old_price=Decimal("0"), new_price=Decimal("0.01"), currency="EUR"
    )
    assert got.amount == Decimal("0.01")
    credit = prorate_change(
        feb, date(2026, 2, 15), old_price=Decimal("0.01"), new_price=Decimal("0"), currency="EUR"
    )
    assert credit.amount == Decimal("-0.01")


def test_a_quarter_prorates_over_its_own_number_of_days():
    q1 = period_containing(date(2026, 1, 1), "quarterly", date(2026, 3, 2))
    assert (q1.start, q1.full_days) == (date(2026, 1, 1), 90)
    got = prorate_change(
        q1, date(2026, 3, 2), old_price=Decimal("0"), new_price=Decimal("900.00"), currency="BRL"
    )
    assert (got.days, got.amount) == (30, Decimal("300.00"))


def test_a_change_on_the_first_day_is_the_whole_price_and_on_the_last_day_one_day():
    first = prorate_change(
        JANUARY,
        date(2026, 1, 1),
        old_price=Decimal("0"),
        new_price=Decimal("310.00"),
        currency="BRL",
    )
    last = prorate_change(
        JANUARY,
        date(2026, 1, 31),
        old_price=Decimal("0"),
        new_price=Decimal("310.00"),
        currency="BRL",
    )
    assert (first.amount, last.amount) == (Decimal("310.00"), Decimal("10.00"))


def test_a_cut_short_period_is_priced_and_prorated_on_its_full_length():
    march = next(
        p
        for p in periods(
            date(2026, 1, 1), "monthly", until=date(2026, 3, 1), contract_end=date(2026, 3, 15)
        )
        if p.index == 2
    )
    assert period_price(Decimal("310.00"), march, currency="BRL") == Decimal("150.00")
    assert period_price(Decimal("310.00"), JANUARY, currency="BRL") == Decimal("310.00")
    got = prorate_change(
        march,
        date(2026, 3, 11),
        old_price=Decimal("0"),
        new_price=Decimal("310.00"),
        currency="BRL",
    )
    assert (got.days, got.period_days, got.amount) == (5, 31, Decimal("50.00"))


@pytest.mark.parametrize(
    ("effective", "old", "new", "currency", "field"),
    [
        (date(2025, 12, 31), "0", "10", "BRL", "effective"),
        (date(2026, 2, 1), "0", "10", "BRL", "effective"),
        (date(2026, 1, 10), "-1", "10", "BRL", "old_price"),
        (date(2026, 1, 10), "0", "-10", "BRL", "new_price"),
        (date(2026, 1, 10), "0", "10", "ZZZ", "currency"),
    ],
)
def test_bad_proration_input_names_the_field(effective, old, new, currency, field):
    with pytest.raises(ProrationError) as err:
        prorate_change(
            JANUARY, effective, old_price=Decimal(old), new_price=Decimal(new), currency=currency
        )
    assert err.value.field == field


# -- properties ------------------------------------------------------------------------------

starts = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
kinds = st.sampled_from(list(PeriodKind))
LENGTHS = {
    PeriodKind.MONTHLY: range(28, 32),
    PeriodKind.QUARTERLY: range(89, 93),
    PeriodKind.YEARLY: range(365, 367),
}


@given(start=starts, kind=kinds, offset=st.integers(min_value=0, max_value=2000))
def test_periods_tile_the_contract_and_period_containing_agrees(start, kind, offset):
    day = start + timedelta(days=offset)
    ps = list(periods(start, kind, until=day))
    assert ps[0].start == start
    for a, b in zip(ps, ps[1:], strict=False):
        assert a.end == b.start
        assert a.days in LENGTHS[kind]
    assert day in ps[-1]
    assert period_containing(start, kind, day) == ps[-1]


@given(
    start=starts,
    kind=kinds,
    offset=st.integers(min_value=0, max_value=400),
    price=st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2),
)
def test_adding_and_removing_an_item_on_the_same_day_nets_to_zero(start, kind, offset, price):
    period = period_containing(start, kind, start + timedelta(days=offset))
    day = period.start + timedelta(days=offset % period.days)
    added = prorate_change(period, day, old_price=Decimal(0), new_price=price, currency="BRL")
    removed = prorate_change(period, day, old_price=price, new_price=Decimal(0), currency="BRL")
    assert added.amount + removed.amount == 0
    assert 0 <= added.amount <= price

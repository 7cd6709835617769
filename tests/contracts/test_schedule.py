from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.schedule import DueVisit, Frequency, FrequencyUnit, ScheduleError, due_visits

QUARTERLY = Frequency(3, FrequencyUnit.MONTHS)
FORTNIGHTLY = Frequency(2, "weeks")
YEAR_2026 = {"contract_start": date(2026, 1, 1), "contract_end": date(2026, 12, 31)}


def test_every_three_months_from_january_31_keeps_month_ends_with_flexible_windows():
    got = due_visits(
        first_due=date(2026, 1, 31),
        frequency=QUARTERLY,
        flex_days=5,
        until=date(2026, 12, 31),
        **YEAR_2026,
    )
    assert got == [
        DueVisit(0, date(2026, 1, 31), date(2026, 1, 26), date(2026, 2, 5)),
        DueVisit(1, date(2026, 4, 30), date(2026, 4, 25), date(2026, 5, 5)),
        DueVisit(2, date(2026, 7, 31), date(2026, 7, 26), date(2026, 8, 5)),
        DueVisit(3, date(2026, 10, 31), date(2026, 10, 26), date(2026, 11, 5)),
    ]


def test_every_two_weeks_up_to_an_inclusive_until():
    got = due_visits(
        first_due=date(2026, 3, 2),
        frequency=FORTNIGHTLY,
        flex_days=2,
        until=date(2026, 3, 30),
        **YEAR_2026,
    )
    assert [(v.due, v.earliest, v.latest) for v in got] == [
        (date(2026, 3, 2), date(2026, 2, 28), date(2026, 3, 4)),
        (date(2026, 3, 16), date(2026, 3, 14), date(2026, 3, 18)),
        (date(2026, 3, 30), date(2026, 3, 28), date(2026, 4, 1)),
    ]


def test_no_flexibility_gives_a_one_day_window():
    got = due_visits(
        first_due=date(2026, 3, 2),
        frequency=FORTNIGHTLY,
        flex_days=0,
        until=date(2026, 3, 2),
        **YEAR_2026,
    )
    assert got == [DueVisit(0, date(2026, 3, 2), date(2026, 3, 2), date(2026, 3, 2))]


def test_windows_are_cut_to_the_contract_period():
    got = due_visits(
        first_due=date(2026, 3, 2),
        frequency=FORTNIGHTLY,
        flex_days=3,
        until=date(2026, 12, 31),
        contract_start=date(2026, 3, 1),
        contract_end=date(2026, 3, 31),
    )
    assert [(v.due, v.earliest, v.latest) for v in got] == [
        (date(2026, 3, 2), date(2026, 3, 1), date(2026, 3, 5)),
        (date(2026, 3, 16), date(2026, 3, 13), date(2026, 3, 19)),
        (date(2026, 3, 30), date(2026, 3, 27), date(2026, 3, 31)),
    ]


def test_due_dates_before_the_contract_are_skipped_but_keep_their_sequence_numbers():
    # the item's series started before this contract; visits are owed only while it runs
    got = due_visits(
        first_due=date(2025, 12, 1),
        frequency=Frequency(1, "months"),
        flex_days=3,
        until=date(2026, 4, 30),
        contract_start=date(2026, 2, 15),
    )
    assert [(v.sequence, v.due) for v in got] == [(3, date(2026, 3, 1)), (4, date(2026, 4, 1))]
    assert got[0].earliest == date(2026, 2, 26)


def test_an_open_ended_contract_generates_up_to_until():
    got = due_visits(
        first_due=date(2026, 1, 15),
        frequency=Frequency(6, "months"),
        flex_days=10,
        until=date(2028, 1, 15),
        contract_start=date(2026, 1, 1),
    )
    assert [v.due for v in got] == [
        date(2026, 1, 15),
        date(2026, 7, 15),
        date(2027, 1, 15),
        date(2027, 7, 15),
        date(2028, 1, 15),
    ]
    assert got[-1].latest == date(2028, 1, 25)


def test_nothing_is_due_before_the_first_due_date():
    assert (
        due_visits(
            first_due=date(2026, 6, 1),
            frequency=QUARTERLY,
            flex_days=0,
            until=date(2026, 5, 31),
            **YEAR_2026,
        )
        == []
    )


def test_generation_is_idempotent_given_the_due_dates_already_generated():
    kw = {"first_due": date(2026, 1, 31), "frequency": QUARTERLY, "flex_days": 5, **YEAR_2026}
    first = due_visits(until=date(2026, 6, 30), **kw)
    assert [v.due for v in first] == [date(2026, 1, 31), date(2026, 4, 30)]
    second = due_visits(until=date(2026, 12, 31), already_generated=[v.due for v in first], **kw)
    assert [v.due for v in second] == [date(2026, 7, 31), date(2026, 10, 31)]
    assert first + second == due_visits(until=date(2026, 12, 31), **kw)
    everything = [v.due for v in first + second]
    assert due_visits(until=date(2026, 12, 31), already_generated=everything, **kw) == []
    # a gap left by a deleted visit is filled again, once
    assert [
        v.due for v in due_visits(until=date(2026, 12, 31), already_generated=everything[1:], **kw)
    ] == [date(2026, 1, 31)]


@pytest.mark.parametrize(
    ("every", "unit", "field"),
    [
        (0, "weeks", "frequency_every"),
        (-1, "months", "frequency_every"),
        (1.5, "weeks", "frequency_every"),
        (True, "weeks", "frequency_every"),
        (1, "days", "frequency_unit"),
    ],
)
def test_a_bad_frequency_is_rejected_naming_the_field(every, unit, field):
    with pytest.raises(ScheduleError) as err:
        Frequency(every, unit)
    assert err.value.field == field
    assert err.value.problem()["status"] == 422


@pytest.mark.parametrize(
    ("frequency", "flex", "field"),
    [
        (FORTNIGHTLY, -1, "flex_days"),
        (FORTNIGHTLY, 14, "flex_days"),
        (Frequency(1, "months"), 28, "flex_days"),
    ],
)
def test_flexibility_must_be_non_negative_and_shorter_than_the_interval(frequency, flex, field):
    with pytest.raises(ScheduleError) as err:
        due_visits(
            first_due=date(2026, 1, 5),
            frequency=frequency,
            flex_days=flex,
            until=date(2026, 3, 1),
            **YEAR_2026,
        )
    assert err.value.field == field


def test_the_largest_flexibility_below_the_interval_is_accepted():
    got = due_visits(
        first_due=date(2026, 1, 5),
        frequency=FORTNIGHTLY,
        flex_days=13,
        until=date(2026, 1, 19),
        **YEAR_2026,
    )
    assert [(v.earliest, v.latest) for v in got] == [
        (date(2026, 1, 1), date(2026, 1, 18)),
        (date(2026, 1, 6), date(2026, 2, 1)),
    ]


def test_a_contract_ending_before_it_starts_is_rejected():
    with pytest.raises(ScheduleError) as err:
        due_visits(
            first_due=date(2026, 1, 5),
            frequency=FORTNIGHTLY,
            flex_days=1,
            until=date(2026, 3, 1),
            contract_start=date(2026, 2, 1),
            contract_end=date(2026, 1, 31),
        )
    assert err.value.field == "end_date"


@given(
    first_due=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    every=st.integers(min_value=1, max_value=6),
    unit=st.sampled_from(list(FrequencyUnit)),
    flex=st.integers(min_value=0, max_value=6),
    start_offset=st.integers(min_value=-400, max_value=400),
    length=st.integers(min_value=0, max_value=900),
    cut=st.integers(min_value=0, max_value=1000),
)
def test_running_in_two_steps_gives_the_same_visits_as_one_run_each_inside_the_contract(
    first_due, every, unit, flex, start_offset, length, cut
):
    contract_start = first_due + timedelta(days=start_offset)
    contract_end = contract_start + timedelta(days=length)
    until = contract_start + timedelta(days=1000)
    kw = {
        "first_due": first_due,
        "frequency": Frequency(every, unit),
        "flex_days": flex,
        "contract_start": contract_start,
        "contract_end": contract_end,
    }
    whole = due_visits(until=until, **kw)
    first = due_visits(until=contract_start + timedelta(days=cut), **kw)
    rest = due_visits(until=until, already_generated=[v.due for v in first], **kw)
    assert first + rest == whole
    dues = [v.due for v in whole]
    assert dues == sorted(set(dues))
    for v in whole:
        assert contract_start <= v.earliest <= v.due <= v.latest <= contract_end
        assert v.due - v.earliest <= timedelta(days=flex) and v.latest - v.due <= timedelta(
            days=flex
        )
    for a, b in zip(whole, whole[1:], strict=False):
        assert a.latest < b.due and a.due < b.earliest

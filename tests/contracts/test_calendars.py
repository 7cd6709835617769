from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.calendars import (
    CalendarError,
    DateException,
    ServiceCalendar,
    Window,
    weekdays_calendar,
)
from dispatch.core.errors import ValidationFailed

SP = ZoneInfo("America/Sao_Paulo")
CPH = ZoneInfo("Europe/Copenhagen")
SHIFT = ["08:00-12:00", "13:30-17:30"]


def sp(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP)


def cph(*args: int) -> datetime:
    return datetime(*args, tzinfo=CPH)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def sao_paulo() -> ServiceCalendar:
    return weekdays_calendar(SHIFT, timezone="America/Sao_Paulo", country="BR", subdivision="SP")


# -- definitions -------------------------------------------------------------------------------


def test_a_window_is_parsed_to_minutes_and_prints_back():
    w = Window.parse("13:30-17:30")
    assert (w.start, w.end) == (810, 1050)
    assert str(w) == "13:30-17:30"
    assert w.duration == timedelta(hours=4)
    assert Window.parse("00:00-24:00") == Window(0, 1440)


@pytest.mark.parametrize(
    "text",
    ["12:00-08:00", "08:00-08:00", "8-12", "08:00", "25:00-26:00", "08:60-09:00", "24:30-24:45"],
)
def test_a_malformed_window_is_rejected_naming_the_field(text):
    with pytest.raises(CalendarError) as err:
        Window.parse(text, field_name="weekly.mon")
    assert err.value.field == "weekly.mon"


def test_calendar_errors_are_value_errors_that_the_api_maps_to_422():
    err = CalendarError("x", field="timezone")
    assert isinstance(err, ValueError)
    assert isinstance(err, ValidationFailed)
    assert err.problem()["status"] == 422
    assert err.problem()["field"] == "timezone"


def test_overlapping_windows_on_one_day_are_rejected():
    with pytest.raises(CalendarError, match="overlap") as err:
        weekdays_calendar(["08:00-12:00", "11:00-14:00"], timezone="UTC")
    assert err.value.field == "windows"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "UTC", "country": "XX"}, "country"),
        ({"timezone": "UTC", "country": "BR", "subdivision": "ZZ"}, "subdivision"),
        ({"timezone": "UTC", "subdivision": "SP"}, "subdivision"),
        (
            {"timezone": "UTC", "country": "BR", "holiday_categories": ("bank",)},
            "holiday_categories",
        ),
        ({"timezone": "UTC", "country": "BR", "holiday_categories": ()}, "holiday_categories"),
    ],
)
def test_an_invalid_calendar_names_the_offending_field(kwargs, field):
    with pytest.raises(CalendarError) as err:
        weekdays_calendar(SHIFT, **kwargs)
    assert err.value.field == field


def test_a_weekly_pattern_needs_seven_days():
    with pytest.raises(CalendarError) as err:
        ServiceCalendar(timezone="UTC", weekly=((Window(0, 60),),) * 5)
    assert err.value.field == "weekly"


def test_two_exceptions_for_one_date_are_rejected():
    with pytest.raises(CalendarError, match="two exceptions") as err:
        weekdays_calendar(
            SHIFT,
            timezone="UTC",
            exceptions=[DateException(date(2026, 5, 4), "a"), DateException(date(2026, 5, 4), "b")],
        )
    assert err.value.field == "exceptions"


def test_naive_instants_are_refused():
    cal = ServiceCalendar.always_open()
    with pytest.raises(CalendarError, match="timezone-aware") as err:
        cal.is_open(datetime(2026, 3, 6, 16, 0))
    assert err.value.field == "at"


def test_the_dict_shape_round_trips_and_missing_days_are_closed():
    data = {
        "name": "Assistência SP",
        "timezone": "America/Sao_Paulo",
        "weekly": {"mon": SHIFT, "sat": ["08:00-12:00"]},
        "country": "BR",
        "subdivision": "SP",
        "holiday_categories": ["public", "optional"],
        "exceptions": [
            {"day": "2026-12-24", "name": "Véspera de Natal", "windows": ["08:00-12:00"]}
        ],
    }
    cal = ServiceCalendar.from_dict(data)
    assert cal.windows_on(date(2026, 3, 9)) == (Window(480, 720), Window(810, 1050))
    assert cal.windows_on(date(2026, 3, 10)) == ()  # Tuesday not given
    assert cal.windows_on(date(2026, 3, 14)) == (Window(480, 720),)
    assert cal.windows_on(date(2026, 12, 24)) == (Window(480, 720),)
    assert cal.to_dict() == data
    assert ServiceCalendar.from_dict(cal.to_dict()) == cal


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"weekly": {"monday": SHIFT}}, "weekly"),
        ({"weekly": {"mon": "08:00-12:00"}}, "weekly"),
        ({"weekly": {"mon": ["08:00-12:00", "nine-ten"]}}, "weekly.mon"),
        ({"exceptions": [{"day": "2026-13-01", "name": "x"}]}, "exceptions[0].day"),
        ({"exceptions": [{"name": "x"}]}, "exceptions[0].day"),
    ],
)
def test_malformed_dict_input_names_the_field(patch, field):
    with pytest.raises(CalendarError) as err:
        ServiceCalendar.from_dict({"timezone": "UTC", **patch})
    assert err.value.field == field


# -- which days are open ---------------------------------------------------------------------


def test_windows_are_half_open_with_a_closed_lunch_break(sao_paulo):
    monday = (2026, 3, 9)
    assert not sao_paulo.is_open(sp(*monday, 7, 59))
    assert sao_paulo.is_open(sp(*monday, 8, 0))
    assert sao_paulo.is_open(sp(*monday, 11, 59, 59))
    assert not sao_paulo.is_open(sp(*monday, 12, 0))
    assert not sao_paulo.is_open(sp(*monday, 13, 29))
    assert sao_paulo.is_open(sp(*monday, 13, 30))
    assert not sao_paulo.is_open(sp(*monday, 17, 30))
    assert not sao_paulo.is_open(sp(2026, 3, 7, 10, 0))  # Saturday
    # the same instant given in UTC: 11:00 UTC is 08:00 in São Paulo
    assert sao_paulo.is_open(utc(*monday, 11, 0))
    assert not sao_paulo.is_open(utc(*monday, 10, 59))


def test_public_holidays_close_the_day_and_regional_ones_only_in_their_region(sao_paulo):
    rio = weekdays_calendar(SHIFT, timezone="America/Sao_Paulo", country="BR", subdivision="RJ")
    tiradentes = date(2026, 4, 21)
    assert sao_paulo.holiday_name(tiradentes) == "Tiradentes' Day"
    assert sao_paulo.windows_on(tiradentes) == ()
    assert not sao_paulo.is_open(sp(2026, 4, 21, 10, 0))
    # 9 July, the Constitutionalist Revolution, is a holiday in the state of São Paulo only
    assert not sao_paulo.is_open(sp(2026, 7, 9, 10, 0))
    assert rio.is_open(sp(2026, 7, 9, 10, 0))
    assert rio.holiday_name(date(2026, 7, 9)) is None


def test_carnival_is_an_optional_holiday_closed_only_when_that_category_is_chosen(sao_paulo):
    with_carnival = weekdays_calendar(
        SHIFT,
        timezone="America/Sao_Paulo",
        country="BR",
        subdivision="SP",
        holiday_categories=("public", "optional"),
    )
    carnival_tuesday = sp(2026, 2, 17, 10, 0)
    assert sao_paulo.is_open(carnival_tuesday)
    assert not with_carnival.is_open(carnival_tuesday)
    assert with_carnival.holiday_name(date(2026, 2, 17)) == "Carnival"


def test_danish_and_italian_holidays_close_their_calendars():
    dk = weekdays_calendar(["08:00-16:00"], timezone="Europe/Copenhagen", country="DK")
    it = weekdays_calendar(["08:30-12:30", "14:00-18:00"], timezone="Europe/Rome", country="IT")
    assert not dk.is_open(cph(2026, 4, 2, 10, 0))  # Skærtorsdag, Maundy Thursday
    assert dk.is_open(cph(2026, 4, 7, 10, 0))
    assert not it.is_open(
        datetime(2026, 6, 2, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))
    )  # Festa della Repubblica
    assert it.is_open(datetime(2026, 6, 3, 10, 0, tzinfo=ZoneInfo("Europe/Rome")))


def test_named_exceptions_close_a_day_add_hours_and_can_open_a_holiday():
    cal = weekdays_calendar(
        SHIFT,
        timezone="America/Sao_Paulo",
        country="BR",
        subdivision="SP",
        exceptions=[
            DateException(date(2026, 3, 10), "Inventário"),
            DateException(date(2026, 3, 14), "Mutirão de sábado", (Window.parse("09:00-13:00"),)),
            DateException(date(2026, 4, 21), "Plantão Tiradentes", ("10:00-14:00",)),
        ],
    )
    assert cal.windows_on(date(2026, 3, 10)) == ()
    assert not cal.is_open(sp(2026, 3, 10, 9, 0))
    assert cal.is_open(sp(2026, 3, 14, 9, 0))
    assert not cal.is_open(sp(2026, 3, 14, 13, 0))
    assert cal.is_open(sp(2026, 4, 21, 10, 0))
    assert not cal.is_open(sp(2026, 4, 21, 9, 59))


def test_the_twenty_four_seven_calendar_is_always_open_even_on_holidays():
    cal = ServiceCalendar.always_open("America/Sao_Paulo")
    for at in (sp(2026, 4, 21, 3, 0), sp(2026, 3, 7, 23, 59), sp(2026, 12, 25, 0, 0)):
        assert cal.is_open(at)
        assert cal.next_open(at) == at
    assert cal.add_business_time(sp(2026, 3, 6, 16, 0), timedelta(hours=4)) == sp(2026, 3, 6, 20, 0)


# -- intervals and business time -------------------------------------------------------------


def test_open_intervals_are_clipped_to_the_question_and_come_back_in_utc(sao_paulo):
    got = sao_paulo.open_intervals(sp(2026, 3, 6, 16, 0), sp(2026, 3, 9, 9, 0))
    assert got == [
        (utc(2026, 3, 6, 19, 0), utc(2026, 3, 6, 20, 30)),
        (utc(2026, 3, 9, 11, 0), utc(2026, 3, 9, 12, 0)),
    ]
    assert all(s.tzinfo is UTC and e.tzinfo is UTC for s, e in got)
    assert sao_paulo.open_intervals(sp(2026, 3, 9, 9, 0), sp(2026, 3, 9, 9, 0)) == []
    assert sao_paulo.open_intervals(sp(2026, 3, 9, 9, 0), sp(2026, 3, 6, 9, 0)) == []


def test_touching_windows_and_days_come_back_as_one_interval():
    cal = ServiceCalendar(
        timezone="UTC",
        weekly=(
            (Window.parse("12:00-13:00"), Window.parse("13:00-24:00")),
            (Window(0, 120),),
            (),
            (),
            (),
            (),
            (),
        ),
    )
    assert cal.open_intervals(utc(2026, 3, 9, 0, 0), utc(2026, 3, 11, 0, 0)) == [
        (utc(2026, 3, 9, 12, 0), utc(2026, 3, 10, 2, 0))
    ]


def test_business_time_between_counts_only_open_time_and_is_signed(sao_paulo):
    # Monday 09:00 -> Tuesday 09:00: 3 h + 4 h on Monday, 1 h on Tuesday
    a, b = sp(2026, 3, 9, 9, 0), sp(2026, 3, 10, 9, 0)
    assert sao_paulo.business_time_between(a, b) == timedelta(hours=8)
    assert sao_paulo.business_time_between(b, a) == -timedelta(hours=8)
    # a whole week, with no holiday in it, is 5 x 8 hours
    assert sao_paulo.business_time_between(sp(2026, 3, 9), sp(2026, 3, 16)) == timedelta(hours=40)
    # the week of Tiradentes (Tuesday 21 April) has one day less
    assert sao_paulo.business_time_between(sp(2026, 4, 20), sp(2026, 4, 27)) == timedelta(hours=32)


def test_a_year_of_sao_paulo_service_hours_is_251_working_days_of_8_hours(sao_paulo):
    # 261 weekdays in 2026, 10 of them public holidays in SP (15 November is a Sunday)
    year = sao_paulo.business_time_between(sp(2026, 1, 1), sp(2027, 1, 1))
    assert year == timedelta(hours=251 * 8)


def test_adding_business_time_skips_lunch_nights_and_weekends(sao_paulo):
    assert sao_paulo.add_business_time(sp(2026, 3, 9, 11, 0), timedelta(hours=2)) == sp(
        2026, 3, 9, 14, 30
    )
    assert sao_paulo.add_business_time(sp(2026, 3, 6, 16, 0), timedelta(hours=4)) == sp(
        2026, 3, 9, 10, 30
    )
    # started at night: the clock starts at the next opening
    assert sao_paulo.add_business_time(sp(2026, 3, 9, 22, 0), timedelta(minutes=30)) == sp(
        2026, 3, 10, 8, 30
    )


def test_time_that_ends_exactly_at_closing_is_due_at_closing_not_at_the_next_opening(sao_paulo):
    due = sao_paulo.add_business_time(sp(2026, 3, 6, 16, 0), timedelta(minutes=90))
    assert due == sp(2026, 3, 6, 17, 30)
    assert due.tzinfo is UTC


def test_adding_nothing_gives_the_start_and_a_negative_duration_is_refused(sao_paulo):
    saturday = sp(2026, 3, 7, 10, 0)
    assert sao_paulo.add_business_time(saturday, timedelta(0)) == saturday
    with pytest.raises(CalendarError) as err:
        sao_paulo.add_business_time(saturday, timedelta(minutes=-1))
    assert err.value.field == "duration"


def test_next_open_is_the_instant_itself_when_open_else_the_next_window(sao_paulo):
    assert sao_paulo.next_open(sp(2026, 3, 9, 9, 15)) == sp(2026, 3, 9, 9, 15)
    assert sao_paulo.next_open(sp(2026, 3, 9, 12, 0)) == sp(2026, 3, 9, 13, 30)
    assert sao_paulo.next_open(sp(2026, 3, 6, 17, 30)) == sp(2026, 3, 9, 8, 0)
    assert sao_paulo.next_open(sp(2026, 4, 20, 18, 0)) == sp(2026, 4, 22, 8, 0)  # over Tiradentes


def test_a_calendar_that_never_opens_raises_instead_of_looping_forever():
    never = ServiceCalendar(timezone="UTC", weekly=((),) * 7, name="never")
    with pytest.raises(CalendarError, match="no open time") as err:
        never.add_business_time(utc(2026, 1, 1), timedelta(hours=1))
    assert err.value.field == "calendar"
    assert never.business_time_between(utc(2026, 1, 1), utc(2028, 1, 1)) == timedelta(0)


# -- daylight saving -------------------------------------------------------------------------


def test_a_twenty_four_seven_day_has_23_or_25_hours_when_the_clocks_change():
    cal = ServiceCalendar.always_open("Europe/Copenhagen")
    assert cal.business_time_between(cph(2026, 3, 29), cph(2026, 3, 30)) == timedelta(hours=23)
    assert cal.business_time_between(cph(2026, 10, 25), cph(2026, 10, 26)) == timedelta(hours=25)
    assert cal.open_intervals(cph(2026, 3, 28), cph(2026, 3, 31)) == [
        (utc(2026, 3, 27, 23, 0), utc(2026, 3, 30, 22, 0))
    ]


def test_windows_keep_their_wall_clock_hours_across_the_dst_change():
    every_day = ServiceCalendar(
        timezone="Europe/Copenhagen", weekly=((Window.parse("08:00-16:00"),),) * 7
    )
    # Saturday before the spring change 08:00 CET = 07:00 UTC; Sunday after it 08:00 CEST = 06:00 UTC
    assert every_day.open_intervals(cph(2026, 3, 28), cph(2026, 3, 30)) == [
        (utc(2026, 3, 28, 7, 0), utc(2026, 3, 28, 15, 0)),
        (utc(2026, 3, 29, 6, 0), utc(2026, 3, 29, 14, 0)),
    ]
    due = every_day.add_business_time(cph(2026, 3, 28, 15, 0), timedelta(hours=2))
    assert due == cph(2026, 3, 29, 9, 0) == utc(2026, 3, 29, 7, 0)


def test_a_window_in_the_skipped_hour_moves_forward_by_the_gap():
    night = ServiceCalendar(
        timezone="Europe/Copenhagen", weekly=((),) * 6 + ((Window.parse("02:00-02:30"),),)
    )
    # Sunday 29 March 2026, 02:00 local does not exist: the window runs 03:00-03:30 CEST
    assert night.open_intervals(cph(2026, 3, 29), cph(2026, 3, 30)) == [
        (utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30))
    ]
    # in the repeated hour of October both ends mean their first occurrence
    assert night.open_intervals(cph(2026, 10, 25), cph(2026, 10, 26)) == [
        (utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 30))
    ]


def test_a_window_over_the_changing_hour_is_as_long_as_the_wall_clock_says():
    early = ServiceCalendar(
        timezone="Europe/Copenhagen", weekly=((),) * 6 + ((Window.parse("01:00-04:00"),),)
    )
    assert early.business_time_between(cph(2026, 3, 29), cph(2026, 3, 30)) == timedelta(hours=2)
    assert early.business_time_between(cph(2026, 10, 25), cph(2026, 10, 26)) == timedelta(hours=4)


def test_brazils_old_midnight_dst_changes_neither_lose_nor_double_count_time():
    # São Paulo skipped 00:00-01:00 on 4 Nov 2018 and repeated 23:00-24:00 on 16 Feb 2019
    always = ServiceCalendar.always_open("America/Sao_Paulo")
    assert always.business_time_between(sp(2018, 11, 3), sp(2018, 11, 5)) == timedelta(hours=47)
    assert always.business_time_between(sp(2019, 2, 16), sp(2019, 2, 17)) == timedelta(hours=25)
    around_midnight = ServiceCalendar(
        timezone="America/Sao_Paulo",
        weekly=((),) * 5 + ((Window.parse("23:00-24:00"),), (Window.parse("00:00-01:00"),)),
    )
    assert around_midnight.open_intervals(sp(2018, 11, 3), sp(2018, 11, 5)) == [
        (utc(2018, 11, 4, 2, 0), utc(2018, 11, 4, 3, 0))
    ]
    assert around_midnight.open_intervals(sp(2019, 2, 16), sp(2019, 2, 18)) == [
        (utc(2019, 2, 17, 1, 0), utc(2019, 2, 17, 4, 0))
    ]


# -- properties ------------------------------------------------------------------------------

CALENDARS = [
    weekdays_calendar(SHIFT, timezone="America/Sao_Paulo", country="BR", subdivision="SP"),
    ServiceCalendar(
        timezone="Europe/Copenhagen",
        weekly=(
            (Window.parse("00:00-02:30"), Window.parse("07:15-11:00"), Window.parse("11:00-16:45")),
            (Window.parse("22:00-24:00"),),
            (),
            (Window.parse("02:00-03:30"),),
            (Window.parse("08:00-16:00"),),
            (),
            (Window.parse("01:30-24:00"),),
        ),
        country="DK",
        exceptions=(DateException(date(2026, 3, 30), "Lager", ()),),
    ),
    ServiceCalendar.always_open("Europe/Rome"),
    ServiceCalendar(
        timezone="America/Sao_Paulo",
        weekly=((Window.parse("06:00-24:00"),), (Window.parse("00:00-01:00"),))
        + ((Window.parse("23:00-24:00"),),) * 5,
    ),
]

# 2018-2019 has São Paulo's last DST changes (at midnight), 2026 Europe's.
DST_CHANGES = [utc(2018, 11, 4, 3), utc(2019, 2, 17, 2), utc(2026, 3, 29, 1), utc(2026, 10, 25, 1)]
instants = st.one_of(
    st.datetimes(
        min_value=datetime(2018, 10, 1), max_value=datetime(2027, 2, 1), timezones=st.just(UTC)
    ),
    st.builds(
        lambda change, offset: change + offset,
        st.sampled_from(DST_CHANGES),
        st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=3)),
    ),
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=300))


@settings(max_examples=150, deadline=None)
@given(cal=st.sampled_from(CALENDARS), start=instants, duration=durations)
def test_business_time_up_to_the_due_instant_is_the_duration_added(cal, start, duration):
    due = cal.add_business_time(start, duration)
    assert due >= start
    assert cal.business_time_between(start, due) == duration
    if duration:
        # due is the earliest such instant: the moment just before it was open time
        assert cal.is_open(due - timedelta(microseconds=1))


@settings(max_examples=100, deadline=None)
@given(
    cal=st.sampled_from(CALENDARS), a=instants, steps=st.lists(durations, min_size=2, max_size=2)
)
def test_business_time_adds_up_over_consecutive_spans(cal, a, steps):
    b = a + steps[0]
    c = b + steps[1]
    whole = cal.business_time_between(a, c)
    assert cal.business_time_between(a, b) + cal.business_time_between(b, c) == whole
    assert timedelta(0) <= whole <= c - a


@settings(max_examples=100, deadline=None)
@given(cal=st.sampled_from(CALENDARS), at=instants)
def test_is_open_agrees_with_the_intervals_and_next_open(cal, at):
    inside = cal.open_intervals(at - timedelta(days=3), at + timedelta(days=3))
    assert cal.is_open(at) == any(s <= at < e for s, e in inside)
    nxt = cal.next_open(at)
    assert nxt >= at
    assert cal.is_open(nxt)
    assert cal.business_time_between(at, nxt) == timedelta(0)

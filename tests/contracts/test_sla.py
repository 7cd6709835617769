from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from contracts.calendars import DateException, ServiceCalendar, Window, weekdays_calendar
from contracts.sla import (
    DEFAULT_CONFIRMATION_WINDOW,
    SlaInputError,
    SlaStatus,
    classify,
    confirmation_deadline,
    confirmation_lapsed,
    hours,
    response_due,
)

SP = ZoneInfo("America/Sao_Paulo")
CPH = ZoneInfo("Europe/Copenhagen")
ROME = ZoneInfo("Europe/Rome")
SHIFT = ["08:00-12:00", "13:30-17:30"]


def sp(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP)


@pytest.fixture
def sao_paulo() -> ServiceCalendar:
    return weekdays_calendar(SHIFT, timezone="America/Sao_Paulo", country="BR", subdivision="SP")


# -- response due ----------------------------------------------------------------------------


def test_a_friday_1600_order_with_4_business_hours_is_due_monday_1030(sao_paulo):
    due = response_due(sp(2026, 3, 6, 16, 0), 4, sao_paulo)
    assert due == sp(2026, 3, 9, 10, 30)
    assert due == datetime(2026, 3, 9, 13, 30, tzinfo=UTC)
    assert due.tzinfo is UTC


def test_response_time_skips_tiradentes(sao_paulo):
    # Monday 20 April 16:00: 1 h 30 on Monday, Tuesday 21 is Tiradentes, 2 h 30 on Wednesday
    assert response_due(sp(2026, 4, 20, 16, 0), 4, sao_paulo) == sp(2026, 4, 22, 10, 30)


def test_response_time_skips_carnival_when_the_contract_observes_it(sao_paulo):
    carnival = weekdays_calendar(
        SHIFT,
        timezone="America/Sao_Paulo",
        country="BR",
        subdivision="SP",
        holiday_categories=("public", "optional"),
        # Ash Wednesday: the holidays package closes the whole day; shops open at 14:00
        exceptions=[
            DateException(
                date(2026, 2, 18), "Quarta-feira de Cinzas", (Window.parse("14:00-17:30"),)
            )
        ],
    )
    friday = sp(2026, 2, 13, 16, 0)
    assert response_due(friday, 4, sao_paulo) == sp(2026, 2, 16, 10, 30)
    assert response_due(friday, 4, carnival) == sp(2026, 2, 18, 16, 30)


def test_response_time_skips_the_danish_easter_holidays():
    dk = weekdays_calendar(["08:00-16:00"], timezone="Europe/Copenhagen", country="DK")
    # Wednesday 1 April 15:00: 1 h, then Maundy Thursday, Good Friday, weekend, Easter Monday
    due = response_due(datetime(2026, 4, 1, 15, 0, tzinfo=CPH), 4, dk)
    assert due == datetime(2026, 4, 7, 11, 0, tzinfo=CPH) == datetime(2026, 4, 7, 9, 0, tzinfo=UTC)


def test_response_time_skips_the_italian_republic_day():
    it = weekdays_calendar(["08:30-12:30", "14:00-18:00"], timezone="Europe/Rome", country="IT")
    # Monday 1 June 17:00: 1 h, Tuesday 2 June closed, Wednesday 4 h + 3 h
    due = response_due(datetime(2026, 6, 1, 17, 0, tzinfo=ROME), 8, it)
    assert due == datetime(2026, 6, 3, 17, 0, tzinfo=ROME)


def test_on_a_twenty_four_seven_contract_the_response_is_due_in_wall_clock_hours():
    always = ServiceCalendar.always_open("America/Sao_Paulo")
    assert response_due(sp(2026, 3, 6, 16, 0), 4, always) == sp(2026, 3, 6, 20, 0)
    assert response_due(sp(2026, 4, 20, 22, 0), 4, always) == sp(2026, 4, 21, 2, 0)


def test_an_order_created_on_the_weekend_starts_its_clock_on_monday(sao_paulo):
    assert response_due(sp(2026, 3, 7, 11, 0), 2, sao_paulo) == sp(2026, 3, 9, 10, 0)


def test_response_hours_may_be_fractional_decimals(sao_paulo):
    assert hours(Decimal("2.5")) == timedelta(hours=2, minutes=30)
    assert hours("0.25") == timedelta(minutes=15)
    assert response_due(sp(2026, 3, 9, 11, 0), Decimal("1.5"), sao_paulo) == sp(2026, 3, 9, 14, 0)


@pytest.mark.parametrize("bad", ["-1", "abc", "NaN", "Infinity", None])
def test_negative_or_non_numeric_response_hours_are_rejected(bad, sao_paulo):
    with pytest.raises(SlaInputError) as err:
        response_due(sp(2026, 3, 9, 11, 0), bad, sao_paulo)
    assert err.value.field == "response_hours"
    assert err.value.problem()["status"] == 422


def test_a_naive_creation_time_is_rejected(sao_paulo):
    with pytest.raises(ValueError, match="timezone-aware"):
        response_due(datetime(2026, 3, 9, 11, 0), 4, sao_paulo)


# -- at risk, breached -----------------------------------------------------------------------

DUE = sp(2026, 3, 9, 10, 30)


def test_time_left_is_counted_in_business_hours_when_a_calendar_is_given(sao_paulo):
    friday_evening = sp(2026, 3, 6, 17, 0)
    with_cal = classify(DUE, friday_evening, at_risk_within=timedelta(hours=2), calendar=sao_paulo)
    assert with_cal.status is SlaStatus.ON_TRACK
    assert with_cal.remaining == timedelta(hours=3)
    # at closing time there are 2 h 30 of service hours left: within a 3 h threshold
    closing = classify(
        DUE, sp(2026, 3, 6, 17, 30), at_risk_within=timedelta(hours=3), calendar=sao_paulo
    )
    assert closing.status is SlaStatus.AT_RISK
    # counted as elapsed time the same moment looks far away
    wall = classify(DUE, sp(2026, 3, 6, 17, 30), at_risk_within=timedelta(hours=3))
    assert wall.status is SlaStatus.ON_TRACK
    assert wall.remaining == timedelta(days=2, hours=17)


def test_an_order_is_at_risk_within_the_threshold_and_at_the_due_instant(sao_paulo):
    monday_9 = classify(
        DUE, sp(2026, 3, 9, 9, 0), at_risk_within=timedelta(hours=2), calendar=sao_paulo
    )
    assert (monday_9.status, monday_9.remaining) == (SlaStatus.AT_RISK, timedelta(minutes=90))
    at_due = classify(DUE, DUE, at_risk_within=timedelta(hours=2), calendar=sao_paulo)
    assert (at_due.status, at_due.remaining) == (SlaStatus.AT_RISK, timedelta(0))


def test_an_order_is_breached_once_past_due_and_remaining_says_by_how_much(sao_paulo):
    late = classify(
        DUE, sp(2026, 3, 9, 14, 0), at_risk_within=timedelta(hours=2), calendar=sao_paulo
    )
    assert late.status is SlaStatus.BREACHED
    assert late.remaining == -timedelta(hours=2)  # 10:30-12:00 and 13:30-14:00
    just = classify(DUE, DUE + timedelta(microseconds=1), at_risk_within=timedelta(0))
    assert just.status is SlaStatus.BREACHED


def test_a_response_by_the_due_time_meets_the_sla_and_a_later_one_breaches_it(sao_paulo):
    kw = {"at_risk_within": timedelta(hours=1), "calendar": sao_paulo}
    on_time = classify(DUE, sp(2026, 3, 10, 9, 0), responded_at=DUE, **kw)
    assert (on_time.status, on_time.remaining) == (SlaStatus.MET, timedelta(0))
    early = classify(DUE, sp(2026, 3, 10, 9, 0), responded_at=sp(2026, 3, 9, 8, 30), **kw)
    assert (early.status, early.remaining) == (SlaStatus.MET, timedelta(hours=2))
    late = classify(DUE, sp(2026, 3, 9, 11, 0), responded_at=sp(2026, 3, 9, 11, 0), **kw)
    assert (late.status, late.remaining) == (SlaStatus.BREACHED, -timedelta(minutes=30))


def test_a_negative_at_risk_threshold_is_rejected():
    with pytest.raises(SlaInputError) as err:
        classify(DUE, DUE, at_risk_within=timedelta(minutes=-1))
    assert err.value.field == "at_risk_within"


# -- appointment confirmation ----------------------------------------------------------------


def test_the_confirmation_deadline_is_24_elapsed_hours_by_default_even_over_a_dst_change():
    assert timedelta(hours=24) == DEFAULT_CONFIRMATION_WINDOW
    proposed = datetime(2026, 3, 28, 10, 0, tzinfo=CPH)  # Saturday; clocks go forward that night
    deadline = confirmation_deadline(proposed)
    assert (
        deadline
        == datetime(2026, 3, 29, 11, 0, tzinfo=CPH)
        == datetime(2026, 3, 29, 9, 0, tzinfo=UTC)
    )
    assert deadline.tzinfo is UTC
    assert confirmation_deadline(proposed, timedelta(hours=48)) == datetime(
        2026, 3, 30, 9, 0, tzinfo=UTC
    )


def test_an_unconfirmed_appointment_lapses_only_after_the_deadline():
    proposed = sp(2026, 3, 9, 10, 0)
    deadline = sp(2026, 3, 10, 10, 0)
    assert not confirmation_lapsed(proposed, sp(2026, 3, 9, 20, 0))
    assert not confirmation_lapsed(proposed, deadline)
    assert confirmation_lapsed(proposed, deadline + timedelta(microseconds=1))
    assert not confirmation_lapsed(proposed, sp(2026, 3, 10, 20, 0), window=timedelta(hours=36))


def test_a_confirmation_in_time_keeps_the_appointment_and_a_late_one_does_not():
    proposed = sp(2026, 3, 9, 10, 0)
    later = sp(2026, 3, 12, 10, 0)
    assert not confirmation_lapsed(proposed, later, confirmed_at=sp(2026, 3, 10, 10, 0))
    assert confirmation_lapsed(proposed, later, confirmed_at=sp(2026, 3, 10, 10, 1))


@pytest.mark.parametrize("window", [timedelta(0), timedelta(hours=-1)])
def test_a_confirmation_window_must_be_positive(window):
    with pytest.raises(SlaInputError) as err:
        confirmation_deadline(sp(2026, 3, 9, 10, 0), window)
    assert err.value.field == "confirmation_window"

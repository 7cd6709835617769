"""Shifts: split windows with lunch, flexible breaks, working-time caps, overtime."""

from solver.model import Shift, TimeWindow
from solver.plan import Reason

from .kit import (
    H,
    M,
    day_shift,
    hm,
    lunch_shift,
    problem,
    run,
    split_shift,
    stops,
    tech,
    visit,
    window,
)


def test_a_three_hour_visit_cannot_straddle_the_lunch_gap_of_a_split_shift():
    prob = problem(
        [0],
        [tech("t", shifts=[split_shift()])],
        [visit("long", 0, 180, [window(9, 30, 10, 0)])],
    )
    plan = run(prob)
    assert plan.kpis.assigned == 0
    assert plan.reason_of("long").reason == Reason.NO_SHIFT_MATCHES_WINDOWS


def test_a_three_hour_visit_that_may_start_after_lunch_starts_when_the_afternoon_begins():
    prob = problem(
        [0],
        [tech("t", shifts=[split_shift()])],
        [visit("long", 0, 180, [window(9, 30, 14, 0)])],
    )
    plan = run(prob)
    stop = plan.stop_of("long")
    assert (stop.start, stop.end) == (hm(13, 30), hm(16, 30))


def test_nothing_is_served_during_the_lunch_gap_and_the_gap_is_listed_as_a_break():
    prob = problem(
        [0, 10],
        [tech("t", shifts=[split_shift()])],
        [
            visit("a", 1, 30, [window(11, 30, 14, 0)]),
            visit("b", 1, 30, [window(11, 30, 14, 0)]),
        ],
    )
    plan = run(prob)
    route = plan.route_of("t", 0)
    assert sorted((s.start, s.end) for s in route.stops) == [
        (hm(11, 30), hm(12)),
        (hm(13, 30), hm(14)),
    ]
    assert [(b.start, b.end) for b in route.breaks] == [(hm(12), hm(13, 30))]
    # travelling home after the last visit is not work in the gap either
    assert route.end_time == hm(14, 10)


def test_travel_is_interrupted_by_the_lunch_gap():
    # leaving at 11:50 for a 20-minute drive: 10 minutes before lunch, 10 after
    prob = problem(
        [0, 20],
        [tech("t", place=0, shifts=[split_shift()])],
        [
            visit("here", 0, 50, [window(11, 0, 11, 0 + 1)]),
            visit("there", 1, 30, [window(11, 55, 17, 0)]),
        ],
    )
    plan = run(prob)
    assert stops(plan, "t") == ["here", "there"]
    there = plan.stop_of("there")
    assert there.arrival == hm(13, 40)
    assert there.start == hm(13, 40)
    assert there.waiting == 0


def test_a_flexible_lunch_moves_to_where_it_fits():
    # a fixed two-hour job from 10:00 to 12:00, then one that may start 12:00-14:00:
    # the lunch (60 min starting 12:00-13:00) must come first, so it starts at 13:00
    prob = problem(
        [0],
        [tech("t", shifts=[lunch_shift()])],
        [
            visit("fixed", 0, 120, [window(10, 0, 10, 1)]),
            visit("after", 0, 120, [window(12, 0, 14, 0)]),
        ],
    )
    plan = run(prob)
    route = plan.route_of("t", 0)
    assert plan.stop_of("fixed").start == hm(10)
    assert plan.stop_of("after").start == hm(13)
    assert [(b.start, b.end) for b in route.breaks] == [(hm(12), hm(13))]


def test_a_job_covering_the_whole_flexible_lunch_window_cannot_be_served():
    prob = problem(
        [0],
        [tech("t", shifts=[lunch_shift()])],
        [visit("noon", 0, 120, [window(12, 0, 12, 1)])],
    )
    plan = run(prob)
    assert plan.reason_of("noon").reason == Reason.NO_SHIFT_MATCHES_WINDOWS


def test_the_working_time_cap_leaves_the_third_hour_of_work_out():
    prob = problem(
        [0],
        [tech("t", shifts=[day_shift(max_work=2 * H)])],
        [visit("a", 0), visit("b", 0), visit("c", 0)],
    )
    plan = run(prob)
    assert plan.kpis.assigned == 2
    (out,) = plan.unassigned
    assert out.reason == Reason.DOES_NOT_FIT_IN_TIME
    assert (out.technician_id, out.minutes_missed) == ("t", 60)


def test_overtime_is_used_and_charged_when_it_saves_a_visit():
    shift = Shift(0, (TimeWindow(hm(8), hm(12)),), overtime_max=H, overtime_cost_per_minute=3)
    prob = problem(
        [0],
        [tech("t", shifts=[shift], travel_cost_per_minute=1)],
        [visit("morning", 0, 240, [window(8, 0, 8, 10)]), visit("extra", 0, 30)],
    )
    plan = run(prob)
    route = plan.route_of("t", 0)
    assert [s.visit_id for s in route.stops] == ["morning", "extra"]
    assert route.overtime == 30 * M
    assert plan.kpis.overtime == 30 * M
    assert plan.objective == 30 * 3


def test_without_overtime_the_visit_after_the_shift_end_stays_out():
    prob = problem(
        [0],
        [tech("t", shifts=[Shift(0, (TimeWindow(hm(8), hm(12)),))])],
        [visit("morning", 0, 240, [window(8, 0, 8, 10)]), visit("extra", 0, 30)],
    )
    plan = run(prob)
    assert stops(plan, "t") == ["morning"]
    assert plan.reason_of("extra").reason == Reason.DOES_NOT_FIT_IN_TIME

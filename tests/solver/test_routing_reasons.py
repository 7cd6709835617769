"""Priorities and the reason given for every visit left out."""

from solver.model import Pin, Weights
from solver.plan import Reason

from .kit import H, day_shift, problem, run, stops, tech, visit, window


def test_with_room_for_one_visit_the_higher_priority_wins():
    prob = problem(
        [0, 5, 10],
        [tech("t", shifts=[day_shift(start=8, end=14)])],
        # the low-priority one is nearer and comes first in the input
        [visit("low", 1, 300, priority=0), visit("high", 2, 300, priority=2)],
    )
    plan = run(prob)
    assert stops(plan, "t") == ["high"]
    lost = plan.reason_of("low")
    assert lost.reason == Reason.LOST_TO_HIGHER_PRIORITY
    assert lost.blocked_by == ("high",)
    assert lost.technician_id == "t"
    assert "high" in lost.message


def test_one_visit_of_higher_priority_outweighs_two_lower_ones():
    prob = problem(
        [0, 5],
        [tech("t", shifts=[day_shift(start=8, end=14)])],
        [visit("a", 1, 170), visit("b", 1, 170), visit("vip", 1, 300, priority=1)],
    )
    plan = run(prob)
    assert stops(plan, "t") == ["vip"]


def test_each_priority_level_multiplies_the_unassigned_penalty():
    w = Weights()
    assert w.unassigned_penalty(visit("p0", 0)) == 100_000
    assert w.unassigned_penalty(visit("p2", 0, priority=2)) == 100_000 * 9


def test_a_visit_that_fits_nowhere_names_the_closest_technician_and_the_minutes_missed():
    # both technicians are busy with pinned work: t1 has 20 minutes left, t2 40
    prob = problem(
        [0, 0, 0],
        [
            tech("t1", place=0, shifts=[day_shift(start=8, end=17)]),
            tech("t2", place=1, shifts=[day_shift(start=8, end=17)]),
        ],
        [
            visit("busy1", 0, 9 * 60 - 20, windows=[window(8, 0, 8, 1)], pin=Pin("t1")),
            visit("busy2", 1, 9 * 60 - 40, windows=[window(8, 0, 8, 1)], pin=Pin("t2")),
            visit("late", 2, 60, priority=3),
        ],
    )
    plan = run(prob)
    out = plan.reason_of("late")
    assert out.reason == Reason.DOES_NOT_FIT_IN_TIME
    assert (out.technician_id, out.minutes_missed) == ("t2", 20)
    assert "t2" in out.message and "20 minutes" in out.message


def test_a_visit_no_one_can_reach_in_a_day_has_no_matching_shift():
    prob = problem([0, 300], [tech("t")], [visit("far", 1, 60)])
    plan = run(prob)
    assert plan.reason_of("far").reason == Reason.NO_SHIFT_MATCHES_WINDOWS


def test_a_visit_costing_more_than_leaving_it_out_is_not_worth_it():
    prob = problem(
        [0, 200],
        [tech("t")],
        [visit("remote", 1, 30)],
        weights=Weights(unassigned=100),
    )
    plan = run(prob)
    out = plan.reason_of("remote")
    assert out.reason == Reason.NOT_WORTH_IT
    assert plan.objective == 100


def test_each_unassigned_visit_carries_exactly_one_reason_and_every_visit_is_accounted_for():
    prob = problem(
        [0, 5, 300],
        [tech("t1", skills={"elec"}), tech("t2", skills={"gas"})],
        [
            visit("ok", 1, skills={"elec"}),
            visit("unskilled", 1, skills={"water"}),
            visit("far", 2),
            visit("excluded", 1, skills={"gas"}, excluded_technicians={"t2"}),
        ],
    )
    plan = run(prob)
    reasons = {u.visit_id: u.reason for u in plan.unassigned}
    assert reasons == {
        "unskilled": Reason.NO_SKILLED_TECHNICIAN,
        "far": Reason.NO_SHIFT_MATCHES_WINDOWS,
        "excluded": Reason.NO_ELIGIBLE_TECHNICIAN,
    }
    assert plan.kpis.assigned + plan.kpis.unassigned == 4
    assert all(u.message for u in plan.unassigned)


def test_kpis_add_up():
    prob = problem(
        [0, 10, 20],
        [tech("t1", shifts=[day_shift(start=8, end=16)]), tech("t2", place=2)],
        [visit("a", 1, 60), visit("b", 2, 120)],
    )
    plan = run(prob)
    k = plan.kpis
    assert k.assigned == 2 and k.unassigned == 0 and k.routes == 2
    assert k.service_time == 3 * H
    assert k.travel_time == sum(r.travel_time for r in plan.routes)
    # t1 drives 20 minutes and works an hour, t2 works two hours on the spot
    assert k.travel_time == 20 * 60
    assert k.balance == abs((20 * 60 + H) - 2 * H)
    assert k.utilisation == (20 * 60 + 3 * H) / ((8 + 9) * H)

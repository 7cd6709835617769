"""Who may serve what: skills, exclusions, preferences, pins, zones, capacity."""

from solver.model import Pin, Weights
from solver.plan import Reason

from .kit import day_shift, hm, problem, run, stops, tech, visit, window

# places: 0 = t1's home, 1 = a customer next door (5 min), 2 = t2's home (30 min away)
POSITIONS = [0, 5, 30]


def two_techs(**kw):
    return [
        tech("t1", place=0, skills={"elec"}, **kw.get("t1", {})),
        tech("t2", place=2, skills={"elec", "gas"}, **kw.get("t2", {})),
    ]


def test_a_visit_goes_to_the_technician_with_the_skill_even_if_farther():
    prob = problem(POSITIONS, two_techs(), [visit("boiler", 1, skills={"gas"})])
    plan = run(prob)
    assert stops(plan, "t2") == ["boiler"]


def test_without_skills_the_nearest_technician_serves():
    prob = problem(POSITIONS, two_techs(), [visit("socket", 1, skills={"elec"})])
    plan = run(prob)
    assert stops(plan, "t1") == ["socket"]


def test_a_visit_needing_skills_nobody_has_together_says_so():
    prob = problem(
        POSITIONS,
        [tech("t1", skills={"elec"}), tech("t2", place=2, skills={"gas"})],
        [visit("combo", 1, skills={"elec", "gas"})],
    )
    plan = run(prob)
    reason = plan.reason_of("combo")
    assert reason.reason == Reason.NO_SKILLED_TECHNICIAN
    assert "together" in reason.message


def test_an_excluded_technician_is_never_sent():
    prob = problem(POSITIONS, two_techs(), [visit("socket", 1, excluded_technicians={"t1"})])
    plan = run(prob)
    assert stops(plan, "t2") == ["socket"]


def test_when_every_skilled_technician_is_excluded_the_reason_says_so():
    prob = problem(
        POSITIONS, two_techs(), [visit("boiler", 1, skills={"gas"}, excluded_technicians={"t2"})]
    )
    plan = run(prob)
    assert plan.reason_of("boiler").reason == Reason.NO_ELIGIBLE_TECHNICIAN


def test_a_preferred_technician_is_worth_a_short_detour():
    # t2's round trip is 20 minutes, t1's 10: 10 cost units more < 30 for not preferring
    prob = problem(
        [0, 5, 15],
        [tech("t1", skills={"elec"}), tech("t2", place=2, skills={"elec"})],
        [visit("socket", 1, preferred_technicians={"t2"})],
    )
    plan = run(prob)
    assert stops(plan, "t2") == ["socket"]
    assert plan.objective == 20


def test_a_preference_gives_way_to_a_long_detour():
    prob = problem(
        [0, 5, 90],
        [tech("t1", skills={"elec"}), tech("t2", place=2, skills={"elec"})],
        [visit("socket", 1, preferred_technicians={"t2"})],
    )
    plan = run(prob)
    assert stops(plan, "t1") == ["socket"]
    assert plan.objective == 5 * 2 + Weights().not_preferred


def test_a_visit_pinned_to_a_technician_stays_with_them():
    prob = problem(POSITIONS, two_techs(), [visit("socket", 1, pin=Pin(technician_id="t2"))])
    plan = run(prob)
    assert stops(plan, "t2") == ["socket"]


def test_a_pin_to_a_technician_without_the_skills_cannot_be_honoured():
    prob = problem(
        POSITIONS, two_techs(), [visit("boiler", 1, skills={"gas"}, pin=Pin(technician_id="t1"))]
    )
    plan = run(prob)
    assert plan.reason_of("boiler").reason == Reason.NO_ELIGIBLE_TECHNICIAN


def test_a_visit_pinned_to_a_day_is_served_that_day():
    shifts = [day_shift(0), day_shift(1)]
    prob = problem(
        POSITIONS,
        [tech("t1", shifts=shifts)],
        [visit("later", 1, windows=[window(8, 0, 17, 0), window(8, 0, 17, 0, day=1)], pin=Pin(day=1))],
    )
    plan = run(prob)
    assert stops(plan, "t1", 0) == []
    assert stops(plan, "t1", 1) == ["later"]


def test_a_visit_pinned_to_a_start_time_starts_exactly_then():
    prob = problem(POSITIONS, two_techs(), [visit("socket", 1, pin=Pin(start=hm(14, 15)))])
    plan = run(prob)
    assert plan.stop_of("socket").start == hm(14, 15)


def test_zones_keep_technicians_in_their_area():
    prob = problem(
        POSITIONS,
        [
            tech("t1", zones={"south"}, skills={"elec"}),
            tech("t2", place=2, skills={"elec"}),
        ],
        # five hours each: nobody does both in a day
        [visit("north", 1, 300, zone="north"), visit("south", 1, 300, zone="south")],
    )
    plan = run(prob)
    assert stops(plan, "t1") == ["south"]
    assert stops(plan, "t2") == ["north"]


def test_capacity_limits_the_load_of_a_day():
    prob = problem(
        POSITIONS,
        [tech("t1", capacity=10)],
        [visit("a", 1, demand=6), visit("b", 1, demand=6, priority=1)],
    )
    plan = run(prob)
    assert stops(plan, "t1") == ["b"]
    assert plan.route_of("t1", 0).load == 6
    assert plan.reason_of("a").reason == Reason.LOST_TO_HIGHER_PRIORITY
    assert plan.reason_of("a").blocked_by == ("b",)

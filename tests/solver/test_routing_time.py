"""Time: soft windows, SLA deadlines, several days, re-planning during the day."""

from solver.model import CurrentPosition, Location, Weights
from solver.plan import Reason

from .kit import M, day_shift, hm, problem, run, stops, tech, visit, window


def test_a_late_arrival_in_the_soft_window_is_preferred_to_dropping_the_visit():
    # 90 minutes away: the earliest start is 09:30, half an hour past the promise
    prob = problem(
        [0, 90],
        [tech("t")],
        [visit("promised", 1, 30, soft_window=window(8, 0, 9, 0), lateness_cost_per_minute=5)],
    )
    plan = run(prob)
    stop = plan.stop_of("promised")
    assert stop.start == hm(9, 30)
    assert stop.lateness == 30 * M
    assert plan.kpis.lateness == 30 * M
    assert plan.objective == 180 + 30 * 5


def test_the_soft_window_start_is_waited_for():
    prob = problem([0, 10], [tech("t")], [visit("promised", 1, 30, soft_window=window(10, 0, 11, 0))])
    plan = run(prob)
    stop = plan.stop_of("promised")
    assert stop.start == hm(10)
    assert stop.lateness == 0


def test_a_deadline_puts_its_visit_first():
    # home at 0, b at 10, a at 20, the day ends at 30: b first is shorter (30 min of
    # travel against 50), but a's SLA ends at 08:30
    positions = [0, 10, 20, 30]
    t = tech("t", place=0, end=Location(index=3))
    free = problem(positions, [t], [visit("a", 2), visit("b", 1)])
    assert stops(run(free), "t") == ["b", "a"]

    sla = problem(positions, [t], [visit("a", 2, deadline=hm(8, 30)), visit("b", 1)])
    plan = run(sla)
    assert stops(plan, "t") == ["a", "b"]
    assert plan.stop_of("a").deadline_lateness == 0


def test_a_missed_deadline_is_charged_per_minute():
    prob = problem([0, 60], [tech("t")], [visit("urgent", 1, 30, deadline=hm(8, 30))])
    plan = run(prob)
    stop = plan.stop_of("urgent")
    assert stop.deadline_lateness == 30 * M
    assert plan.objective == 120 + 30 * Weights().deadline_per_minute


def test_allowed_days_choose_the_day():
    shifts = [day_shift(0), day_shift(1), day_shift(2)]
    prob = problem(
        [0, 5],
        [tech("t", shifts=shifts)],
        [
            visit("any", 1),
            visit("tuesday", 1, windows=[window(8, 0, 17, 0, d) for d in range(3)], allowed_days={1}),
        ],
    )
    plan = run(prob)
    assert plan.assignment()["tuesday"] == ("t", 1)
    assert plan.assignment()["any"] == ("t", 0)


def test_a_visit_allowed_only_on_a_day_without_shifts_has_no_matching_shift():
    prob = problem(
        [0, 5],
        [tech("t", shifts=[day_shift(0)])],
        [visit("wednesday", 1, windows=[window(8, 0, 17, 0, 2)])],
        horizon_days=3,
    )
    plan = run(prob)
    assert plan.reason_of("wednesday").reason == Reason.NO_SHIFT_MATCHES_WINDOWS


def test_a_technician_replanned_mid_day_starts_from_where_they_are():
    # t is at place 2 (40 min from home) and free from 13:00
    prob = problem(
        [0, 30, 40],
        [tech("t", current=CurrentPosition(0, Location(index=2), hm(13)))],
        [visit("next", 1, 30)],
    )
    plan = run(prob)
    route = plan.route_of("t", 0)
    assert route.start_time >= hm(13)
    stop = plan.stop_of("next")
    assert stop.travel_time == 10 * M
    assert stop.start == hm(13, 10)
    assert route.end_travel_time == 30 * M


def test_replanning_with_the_stability_term_keeps_visits_where_they_were():
    # two technicians at both ends of a street; the previous plan had the visits the
    # "wrong" way round: swapping saves 20 minutes of travel each, less than the cost
    # of moving them; five-hour jobs, so nobody takes both
    positions = [0, 25, 35, 60]
    techs = [tech("west", place=0), tech("east", place=3)]
    visits = [visit("v_west", 1, 300), visit("v_east", 2, 300)]
    previous = {"v_west": ("east", 0), "v_east": ("west", 0)}
    stable = run(problem(positions, techs, visits, previous=previous))
    assert stable.assignment() == {"v_west": ("east", 0), "v_east": ("west", 0)}

    free = run(problem(positions, techs, visits, previous=previous, weights=Weights(moved=0)))
    assert free.assignment() == {"v_west": ("west", 0), "v_east": ("east", 0)}


def test_replanning_after_a_new_urgent_visit_changes_little():
    positions = [0, 5, 10, 15, 50, 55, 60, 65]
    techs = [tech("a", place=0), tech("b", place=7)]
    base = [visit(f"w{i}", i, 90) for i in (1, 2, 3)] + [visit(f"e{i}", i, 90) for i in (4, 5, 6)]
    first = run(problem(positions, techs, base))
    previous = first.assignment()
    urgent = visit("urgent", 3, 60, priority=3, deadline=hm(10))
    second = run(problem(positions, techs, [*base, urgent], previous=previous))
    moved = [v for v, where in previous.items() if second.assignment().get(v) != where]
    assert "urgent" in second.assignment()
    assert moved == []

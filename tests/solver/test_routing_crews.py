"""Crew visits: two technicians, each with every skill, at one place from the same start."""

from __future__ import annotations

import dataclasses

from solver.generate import generate_fsm
from solver.model import (
    CREW_START_STEP,
    FirstSolution,
    Pin,
    PreviousAssignment,
    SolveParams,
    TimeWindow,
    crew_start_times,
)
from solver.plan import Reason, Unassigned
from solver.schedule import compile_problem
from solver.solve import solve
from solver.validate import check_reasons, validate

from .kit import day_shift, hm, params, problem, run, stops, tech, visit, without_clock


def crew_stops(plan, visit_id: str) -> list[tuple[str, int, int]]:
    """(technician, day, start) of every stop of ``visit_id``."""
    return sorted(
        (r.technician_id, r.day, s.start) for r in plan.routes for s in r.stops if s.visit_id == visit_id
    )


def gas_team(*visits, **kw):
    return problem(
        [0, 5, 10, 20],
        [tech("t1", skills={"gas"}), tech("t2"), tech("t3", skills={"gas"})],
        visits,
        **kw,
    )


def test_a_crew_visit_is_served_by_the_two_skilled_technicians_starting_together():
    plan = run(gas_team(visit("lift", 1, 120, skills={"gas"}, crew_size=2), visit("a", 2)))
    # 5 minutes away: they meet at the first quarter hour after 08:05
    assert crew_stops(plan, "lift") == [("t1", 0, hm(8, 15)), ("t3", 0, hm(8, 15))]
    assert "lift" not in stops(plan, "t2")
    assert plan.unassigned == ()
    assert plan.kpis.assigned == 2  # the crew visit counts once
    assert plan.kpis.service_time == 2 * 120 * 60 + 60 * 60  # both technicians work it


def test_crew_start_times_are_the_window_starts_and_every_quarter_hour():
    assert CREW_START_STEP == 900
    assert crew_start_times([(hm(8, 5), hm(8, 40)), (hm(9), hm(9))]) == [
        hm(8, 5), hm(8, 15), hm(8, 30), hm(9),
    ]


def test_a_crew_visit_that_one_technician_alone_has_the_skills_for_is_left_out():
    prob = problem(
        [0, 5], [tech("t1", skills={"gas"}), tech("t2")], [visit("lift", 1, skills={"gas"}, crew_size=2)]
    )
    plan = run(prob)
    left = plan.reason_of("lift")
    assert left.reason == Reason.NO_SKILLED_TECHNICIAN
    assert "only t1 has" in left.message


def test_a_crew_visit_with_one_skilled_technician_excluded_has_no_eligible_crew():
    plan = run(gas_team(visit("lift", 1, skills={"gas"}, crew_size=2, excluded_technicians={"t3"})))
    assert plan.reason_of("lift").reason == Reason.NO_ELIGIBLE_TECHNICIAN


def test_technicians_never_at_work_together_cannot_form_a_crew():
    morning, afternoon = day_shift(start=8, end=12), day_shift(start=13, end=17)
    prob = problem(
        [0, 5],
        [tech("t1", shifts=[morning]), tech("t2", shifts=[afternoon])],
        [visit("lift", 1, 60, crew_size=2)],
    )
    plan = run(prob)
    left = plan.reason_of("lift")
    assert left.reason == Reason.NO_SHIFT_MATCHES_WINDOWS
    assert "free together" in left.message
    # each of them could serve it alone, so it is the crew that does not fit
    assert run(dataclasses.replace(prob, visits=(visit("lift", 1, 60),))).unassigned == ()


def test_a_crew_visit_of_higher_priority_takes_both_technicians_from_ordinary_work():
    short = day_shift(start=8, end=12)
    techs = [tech("t1", shifts=[short]), tech("t2", shifts=[short])]
    ordinary = [visit("a", 1, 180), visit("b", 2, 180)]
    plan = run(problem([0, 5, 6, 7], techs, [visit("lift", 3, 180, crew_size=2, priority=2), *ordinary]))
    assert [s[0] for s in crew_stops(plan, "lift")] == ["t1", "t2"]
    for vid in ("a", "b"):
        assert plan.reason_of(vid).reason == Reason.LOST_TO_HIGHER_PRIORITY
        assert plan.reason_of(vid).blocked_by == ("lift",)


def test_ordinary_visits_of_higher_priority_keep_a_crew_out_and_never_half_of_it():
    short = day_shift(start=8, end=12)
    techs = [tech("t1", shifts=[short]), tech("t2", shifts=[short])]
    urgent = [visit("a", 1, 180, priority=2), visit("b", 2, 180, priority=2)]
    plan = run(problem([0, 5, 6, 7], techs, [visit("lift", 3, 180, crew_size=2), *urgent]))
    assert sorted(stops(plan, "t1") + stops(plan, "t2")) == ["a", "b"]
    left = plan.reason_of("lift")
    assert left.reason == Reason.DOES_NOT_FIT_IN_TIME
    assert "room" in left.message
    assert plan.objective == plan.kpis.travel_time / 60 + 100_000  # its penalty, once


def test_over_several_days_the_crew_meets_on_the_day_both_work():
    prob = problem(
        [0, 5],
        [tech("t1", shifts=[day_shift(0), day_shift(1)]), tech("t2", shifts=[day_shift(1)])],
        [visit("lift", 1, 60, windows=(TimeWindow(hm(8), hm(17, day=1)),), crew_size=2)],
    )
    plan = run(prob)
    assert crew_stops(plan, "lift") == [("t1", 1, hm(8, 15, day=1)), ("t2", 1, hm(8, 15, day=1))]


def test_a_crew_keeps_its_previous_technician_and_the_objective_counts_the_move_once():
    lift = visit("lift", 1, 60, skills={"gas"}, crew_size=2)
    stay = run(gas_team(lift, previous=(PreviousAssignment("lift", "t3", 0),)))
    assert [s[0] for s in crew_stops(stay, "lift")] == ["t1", "t3"]
    gone = run(gas_team(lift, previous=(PreviousAssignment("lift", "t2", 0),)))
    assert gone.objective == stay.objective + 60  # the validator agrees (run checks it)


def test_plain_or_tools_never_serves_half_a_crew():
    prob = gas_team(visit("lift", 1, 120, skills={"gas"}, crew_size=2), visit("a", 2))
    plan = run(prob, first_solution=FirstSolution.PATH_CHEAPEST_ARC, time_limit_s=1.0)
    assert len(crew_stops(plan, "lift")) in (0, 2)


def test_a_crew_visit_pinned_to_a_start_time_starts_there_off_the_quarter_hour():
    plan = run(gas_team(visit("lift", 1, 60, skills={"gas"}, crew_size=2, pin=Pin(start=hm(10, 7)))))
    assert crew_stops(plan, "lift") == [("t1", 0, hm(10, 7)), ("t3", 0, hm(10, 7))]


def test_a_crew_visit_pinned_to_one_technician_cannot_get_a_crew():
    plan = run(gas_team(visit("lift", 1, 60, skills={"gas"}, crew_size=2, pin=Pin("t1"))))
    assert plan.reason_of("lift").reason == Reason.NO_ELIGIBLE_TECHNICIAN


def test_the_validator_rejects_a_crew_reason_that_does_not_hold():
    prob = gas_team(visit("lift", 1, skills={"gas"}, crew_size=2, priority=0))
    plan = run(prob)
    assert len(crew_stops(plan, "lift")) == 2
    left_out = dataclasses.replace(
        plan,
        routes=(),
        unassigned=(Unassigned("lift", Reason.NO_SKILLED_TECHNICIAN, "no one"),),
    )
    [bad] = check_reasons(prob, left_out)
    assert "not true that fewer than 2 technicians have every required skill" in bad.message
    for reason in (Reason.NO_SHIFT_MATCHES_WINDOWS, Reason.DOES_NOT_FIT_IN_TIME):
        wrong = dataclasses.replace(left_out, unassigned=(Unassigned("lift", reason, "m"),))
        assert [v.code for v in check_reasons(prob, wrong)] == ["REASON"]
    fits = dataclasses.replace(left_out, unassigned=(Unassigned("lift", Reason.SEARCH_LIMIT, "m"),))
    assert check_reasons(prob, fits) == []


def with_crews(prob, every: int):
    visits = tuple(
        dataclasses.replace(v, crew_size=2) if i % every == 0 else v for i, v in enumerate(prob.visits)
    )
    return dataclasses.replace(prob, visits=visits)


def test_crews_in_a_generated_day_are_planned_the_same_way_twice_and_validly():
    prob = with_crews(generate_fsm(5, 40, 1, seed=3), every=8)
    inst = compile_problem(prob)
    assert len(inst.crews) == 5 and len(inst.visits) == 45
    first = solve(prob, params(seed=2))
    again = solve(prob, params(seed=2))
    assert without_clock(first) == without_clock(again)
    assert validate(prob, first) == []
    assert check_reasons(prob, first) == []
    served = [v.id for v in prob.visits if v.crew_size == 2 and first.reason_of(v.id) is None]
    assert served  # some crews are planned
    for vid in served:
        [(_t1, d1, s1), (_t2, d2, s2)] = crew_stops(first, vid)
        assert (d1, s1) == (d2, s2)


def test_a_problem_without_crews_compiles_as_before():
    prob = generate_fsm(3, 12, 1, seed=1)
    inst = compile_problem(prob)
    assert inst.crews == () and inst.crew_of == {}
    assert inst.visits == prob.visits


def test_with_a_second_worker_the_crews_still_come_whole():
    prob = with_crews(generate_fsm(4, 24, 1, seed=2), every=6)
    plan = solve(prob, SolveParams(time_limit_s=2.0, workers=2, seed=1))
    assert validate(prob, plan) == []
    assert check_reasons(prob, plan) == []


def test_a_second_workers_routes_are_timed_with_the_crew_times_it_chose():
    # a worker compiles and searches on its own copy, where ruin and recreate may move a
    # crew in time; the main process must time the worker's routes with those times
    import importlib
    import time

    solve_module = importlib.import_module("solver.solve")  # `solver.solve` is the function
    prob = gas_team(visit("lift", 1, 120, skills={"gas"}, crew_size=2), visit("a", 2))
    routes, hit, windows = solve_module._worker(prob, params(), time.monotonic() + 60)
    assert not hit and len(windows) == 2
    inst = compile_problem(prob)
    elsewhere = ((hm(6), hm(6)),)  # as if this process had moved the crew before the shift
    for m in windows:
        inst.start_windows[m] = elsewhere

    def served() -> set[int]:
        timed = solve_module._whole_crews(inst, solve_module._timed(inst, routes))
        return {vi for seq, _t in timed.values() for vi in seq}

    assert not set(windows) & served()  # timed at the wrong time, the crew falls out
    ours = solve_module._use_crew_windows(inst, windows)
    assert set(windows) <= served()
    solve_module._use_crew_windows(inst, ours)
    assert all(inst.start_windows[m] == elsewhere for m in windows)

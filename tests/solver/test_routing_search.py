"""The search itself: determinism, progress, cancellation, the plain OR-Tools pipeline,
parallel workers, and what happens with bad arguments."""

import threading

import pytest

from solver import Problem, SolveParams, solve
from solver.generate import generate_fsm
from solver.plan import PlanStatus
from solver.validate import check_reasons, validate

from .kit import params, problem, run, tech, visit, without_clock


@pytest.fixture(scope="module")
def busy_day() -> Problem:
    # more work than people: choices to make, visits left out
    return generate_fsm(4, 40, 1, seed=3)


def test_the_same_problem_and_seed_give_the_same_plan(busy_day):
    first = solve(busy_day, params(iterations=150, seed=7))
    second = solve(busy_day, params(iterations=150, seed=7))
    assert without_clock(first) == without_clock(second)
    assert validate(busy_day, first) == []
    assert check_reasons(busy_day, first) == []


def test_progress_is_reported_with_growing_time_and_falling_objective(busy_day):
    seen: list[tuple[float, float]] = []
    plan = solve(busy_day, params(iterations=150, on_progress=lambda t, o: seen.append((t, o))))
    assert seen
    times = [t for t, _ in seen]
    objectives = [o for _, o in seen]
    assert times == sorted(times)
    assert objectives == sorted(objectives, reverse=True)
    assert objectives[-1] >= plan.objective - 1e-6
    assert plan.first_solution_s is not None and plan.first_solution_s <= times[0] + 1e-9


def test_a_search_cancelled_before_it_starts_returns_the_first_plan(busy_day):
    stop = threading.Event()
    stop.set()
    plan = solve(busy_day, SolveParams(time_limit_s=30, cancel=stop))
    assert plan.status == PlanStatus.CANCELLED
    assert plan.elapsed < 10
    assert validate(busy_day, plan) == []


def test_cancelling_from_the_progress_callback_stops_the_search(busy_day):
    stop = threading.Event()

    def on_progress(elapsed: float, objective: float) -> None:
        stop.set()

    plan = solve(busy_day, SolveParams(time_limit_s=30, cancel=stop, on_progress=on_progress))
    assert plan.status == PlanStatus.CANCELLED
    assert plan.elapsed < 10
    assert plan.kpis.assigned > 0
    assert validate(busy_day, plan) == []


def test_cancelling_plain_ortools_during_its_construction_stops_it(busy_day):
    stop = threading.Event()
    timer = threading.Timer(0.2, stop.set)
    timer.start()
    plan = solve(
        busy_day,
        SolveParams(time_limit_s=30, cancel=stop, first_solution="PARALLEL_CHEAPEST_INSERTION"),
    )
    timer.join()
    assert plan.status == PlanStatus.CANCELLED
    assert plan.elapsed < 10
    assert validate(busy_day, plan) == []


def test_the_plain_ortools_pipeline_gives_a_valid_plan(busy_day):
    plan = solve(
        busy_day,
        SolveParams(time_limit_s=2, first_solution="PATH_CHEAPEST_ARC", local_search="GUIDED_LOCAL_SEARCH"),
    )
    assert plan.status == PlanStatus.FEASIBLE
    assert validate(busy_day, plan) == []
    assert check_reasons(busy_day, plan) == []


def test_construction_only_is_a_valid_plan(busy_day):
    plan = solve(busy_day, SolveParams(time_limit_s=2, local_search="NONE"))
    assert plan.kpis.assigned > 0
    assert validate(busy_day, plan) == []


def test_the_improvement_phase_does_not_lose_to_the_construction(busy_day):
    built = solve(busy_day, SolveParams(time_limit_s=2, local_search="NONE"))
    improved = solve(busy_day, params(iterations=300))
    assert improved.objective <= built.objective


def test_two_workers_return_the_better_of_their_plans(busy_day):
    plan = solve(busy_day, SolveParams(time_limit_s=3, workers=2, iterations=100, solution_limit=10))
    alone = solve(busy_day, SolveParams(time_limit_s=3, iterations=100, solution_limit=10))
    assert plan.objective <= alone.objective
    assert validate(busy_day, plan) == []


def test_an_empty_problem_is_planned_trivially():
    plan = run(problem([0], [tech("t")], []))
    assert plan.status == PlanStatus.OPTIMAL
    assert plan.routes == () and plan.unassigned == ()


def test_bad_arguments_are_value_errors_naming_the_field():
    prob = problem([0, 5], [tech("t")], [visit("v", 1)])
    with pytest.raises(ValueError, match="problem"):
        solve({"visits": []})
    with pytest.raises(ValueError, match="params"):
        solve(prob, {"time_limit_s": 1})
    with pytest.raises(ValueError, match="params: time_limit_s"):
        SolveParams(time_limit_s=0)
    with pytest.raises(ValueError, match="params: workers"):
        SolveParams(workers=0)
    with pytest.raises(ValueError, match="params: first_solution"):
        SolveParams(first_solution="RANDOM")
    with pytest.raises(ValueError, match="params: cancel"):
        SolveParams(cancel=True)


def test_extreme_but_valid_inputs_do_not_break_the_engine():
    from solver.model import Location, Shift, Technician, TimeWindow, TravelMatrix, Visit, Weights

    late = 2**39
    cases = [
        # times near the top of the allowed range
        Problem(
            (Technician("t", Location(index=0), (Shift(0, (TimeWindow(late, late + 86_400),)),)),),
            (Visit("v", Location(index=1), 0, (TimeWindow(late, late + 100),)),),
            matrix=TravelMatrix([[0, 5], [5, 0]]),
        ),
        # a technician without shifts, an unreachable place
        Problem(
            (Technician("off", Location(index=0), ()),),
            (Visit("v", Location(index=1), 10, (TimeWindow(0, 100),)),),
            matrix=TravelMatrix([[0, 10**9], [10**9, 0]]),
        ),
        # nobody at all
        Problem((), (Visit("v", Location(45.0, 9.0), 10, (TimeWindow(0, 100),)),)),
        # the largest rates and priorities
        Problem(
            (
                Technician(
                    "t",
                    Location(index=0),
                    (Shift(0, (TimeWindow(0, 86_400),), overtime_max=3600, overtime_cost_per_minute=10**6),),
                    travel_cost_per_minute=10**6,
                ),
            ),
            (
                Visit("v", Location(index=1), 10, (TimeWindow(0, 86_000),), priority=10, deadline=0,
                      soft_window=TimeWindow(0, 1), lateness_cost_per_minute=10**6),
            ),
            matrix=TravelMatrix([[0, 5], [5, 0]], [[0, 5.0], [5.0, 0]]),
            weights=Weights(distance_per_km=10**6),
        ),
    ]
    for prob in cases:
        plan = solve(prob, params(time_limit_s=2))
        assert validate(prob, plan) == []
        assert check_reasons(prob, plan) == []
        assert plan.kpis.assigned + plan.kpis.unassigned == len(prob.visits)


def test_every_ortools_model_is_freed_once_its_search_is_over(busy_day, monkeypatch):
    # The at-solution callback lives in C++; if it held the model, Python could never
    # free either (about 4 MB per model: large problems build hundreds of them, and the
    # service solves in one long-lived process).
    import gc
    import weakref

    from ortools.constraint_solver import pywrapcp

    from solver.model import LocalSearch
    from solver.routing import solve_routes
    from solver.schedule import compile_problem

    made = []
    real = pywrapcp.RoutingModel

    def recording(*args):
        model = real(*args)
        made.append(weakref.ref(model))
        return model

    monkeypatch.setattr(pywrapcp, "RoutingModel", recording)
    inst = compile_problem(busy_day)
    for _ in range(2):
        result = solve_routes(
            inst, params(solution_limit=3), metaheuristic=LocalSearch.GREEDY_DESCENT
        )
        assert result.found
    gc.collect()
    assert len(made) == 2
    assert all(ref() is None for ref in made)

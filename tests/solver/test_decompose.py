"""OR-Tools over a few neighbouring routes at a time (``solver.decompose``), and the
pipeline that alternates it with ruin and recreate on large problems."""

from __future__ import annotations

import importlib

import pytest

from solver.construct import construct
from solver.decompose import decompose, neighbour_routes
from solver.generate import generate_fsm
from solver.model import SolveParams
from solver.schedule import compile_problem
from solver.solve import solve, work_budget
from solver.validate import check_reasons, validate

from .kit import day_shift, problem, tech, visit, without_clock

solve_module = importlib.import_module("solver.solve")  # `solver.solve` is the function


def test_the_neighbours_of_a_route_are_the_routes_nearest_to_its_stops_on_the_same_day():
    # places on a line (minutes): routes around 10, 12, 40 and 80; a day-2 route at 10
    prob = problem(
        [0, 10, 12, 40, 80, 11],
        [
            tech("a"),
            tech("b"),
            tech("c"),
            tech("d"),
            tech("e", shifts=[day_shift(day=1)]),
        ],
        [visit("v10", 1), visit("v12", 2), visit("v40", 3), visit("v80", 4), visit("v11", 5)],
        horizon_days=2,
    )
    inst = compile_problem(prob)
    v = {x.id: i for i, x in enumerate(inst.visits)}
    routes = {0: [v["v10"]], 1: [v["v12"]], 2: [v["v40"]], 3: [v["v80"]], 4: [v["v11"]]}
    assert neighbour_routes(inst, routes, 0, 2) == [0, 1]
    assert neighbour_routes(inst, routes, 0, 3) == [0, 1, 2]
    # the other day comes after every route of the same day, however close
    assert neighbour_routes(inst, routes, 0, 5) == [0, 1, 2, 3, 4]
    assert neighbour_routes(inst, routes, 3, 2) == [2, 3]
    # an empty route counts from its start and end place (0, nearer to 12 than 80 is)
    assert neighbour_routes(inst, {1: [v["v12"]], 3: [v["v80"]]}, 1, 3) == [0, 1, 2]


@pytest.fixture(scope="module")
def city():
    prob = generate_fsm(10, 100, 1, seed=4)
    return prob, compile_problem(prob)


def _objective_of(inst):
    def objective(routes):
        timed = solve_module._timed(inst, routes)
        return solve_module._objective(inst, timed), {v: s for v, (s, _t) in timed.items()}

    return objective


def test_descents_over_neighbouring_routes_lower_the_objective_and_keep_every_route_feasible(
    city,
):
    prob, inst = city
    objective = _objective_of(inst)
    start = construct(inst)
    before, _ = objective(start)
    runs = [
        decompose(inst, start, objective=objective, seed=1, subproblems=6, size=3, deadline=1e18)
        for _ in range(2)
    ]
    assert runs[0].routes == runs[1].routes  # the same work gives the same routes
    assert runs[0].subproblems == 6 and not runs[0].deadline_hit
    after, _ = objective(runs[0].routes)
    assert after < before
    plan = solve_module.build_plan(
        inst, solve_module._timed(inst, runs[0].routes), SolveParams(), 0.0
    )
    assert validate(prob, plan) == []
    assert sum(len(s) for s in runs[0].routes.values()) >= sum(len(s) for s in start.values())


def test_sub_problems_already_at_their_local_optimum_are_not_searched_again(city):
    _prob, inst = city
    done: set[tuple] = set()
    limits = {"seed": 2, "subproblems": 200, "size": 3, "deadline": 1e18, "done": done}
    first = decompose(inst, construct(inst), objective=_objective_of(inst), **limits)
    # it stops once every sub-problem is at its local optimum, well before 200 descents
    assert first.subproblems < 200 and done
    again = decompose(inst, first.routes, objective=_objective_of(inst), **limits)
    assert again.subproblems == 0 and again.routes == first.routes


def test_large_problems_get_sub_problems_in_their_budget_and_small_ones_the_full_model():
    large = compile_problem(generate_fsm(50, 500, 1, seed=0))
    small = compile_problem(generate_fsm(4, 40, 1, seed=3))
    budget = work_budget(large, SolveParams(time_limit_s=30))
    assert budget.subproblems > 0 and budget.iterations > 0 and not budget.ortools
    longer = work_budget(large, SolveParams(time_limit_s=60))
    assert longer.subproblems > budget.subproblems and longer.iterations > budget.iterations
    assert work_budget(small, SolveParams(time_limit_s=30)).subproblems == 0
    fixed = work_budget(large, SolveParams(time_limit_s=30, iterations=7, solution_limit=3))
    assert (fixed.iterations, fixed.subproblems) == (7, 3)


def test_a_large_day_solved_twice_with_explicit_work_gives_the_same_valid_plan():
    prob = generate_fsm(24, 200, 1, seed=6)
    params = SolveParams(time_limit_s=60, seed=3, iterations=60, solution_limit=6)
    assert work_budget(compile_problem(prob), params).subproblems == 6
    first = solve(prob, params)
    second = solve(prob, params)
    assert not first.deadline_hit
    assert without_clock(first) == without_clock(second)
    assert validate(prob, first) == []
    assert check_reasons(prob, first) == []
    assert first.kpis.assigned > 150

"""The PyVRP engine (exact mapping for the problems it models) and the two-engine
portfolio behind ``solve(..., workers=2)``."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from solver import portfolio
from solver.engines.pyvrp_engine import build_model, solve_pyvrp, unsupported
from solver.generate import generate_fsm
from solver.model import (
    Break,
    Location,
    Pin,
    Problem,
    Shift,
    SolveParams,
    Technician,
    TimeWindow,
    TravelMatrix,
    Visit,
    Weights,
)
from solver.plan import PlanStatus, Reason
from solver.schedule import compile_problem
from solver.solve import solve
from solver.validate import validate

MIN = 60


def line_matrix(n: int) -> TravelMatrix:
    """Places 0..n-1 on a line, 10 minutes and 1 km apart."""
    idx = np.arange(n)
    gap = np.abs(idx[:, None] - idx[None, :])
    return TravelMatrix(gap * 10 * MIN, gap * 1000.0)


def tech(tid: str, *, capacity: int | None = None, shifts=None, skills=()) -> Technician:
    return Technician(
        id=tid,
        start=Location(index=0),
        shifts=shifts or (Shift(day=0, windows=(TimeWindow(0, 8 * 3600),)),),
        capacity=capacity,
        skills=frozenset(skills),
    )


def visit(vid: str, place: int, *, window=(0, 8 * 3600), demand: int = 0, **kw) -> Visit:
    return Visit(
        id=vid,
        location=Location(index=place),
        duration=15 * MIN,
        windows=(TimeWindow(*window),),
        demand=demand,
        **kw,
    )


def line_problem(**overrides) -> Problem:
    base = dict(
        technicians=(tech("t1"),),
        visits=(visit("a", 1), visit("b", 2), visit("c", 3)),
        matrix=line_matrix(5),
    )
    base.update(overrides)
    return Problem(**base)


# --------------------------------------------------------------------------- what PyVRP models


def test_a_plain_problem_with_one_window_per_visit_is_representable():
    assert unsupported(compile_problem(line_problem())) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            dict(technicians=(tech("t1", shifts=(Shift(0, (TimeWindow(0, 4 * 3600), TimeWindow(5 * 3600, 9 * 3600))),)),)),
            "breaks or split shift",
        ),
        (
            dict(technicians=(tech("t1", shifts=(Shift(0, (TimeWindow(0, 8 * 3600),), breaks=(Break(3600, 7200, 1800),)),)),)),
            "breaks or split shift",
        ),
        (
            dict(visits=(Visit("a", Location(index=1), 900, (TimeWindow(0, 3600), TimeWindow(7200, 9000))),)),
            "several time windows",
        ),
        (dict(visits=(visit("a", 1, pin=Pin(technician_id="t1")),)), "pin"),
        (dict(visits=(visit("a", 1, soft_window=TimeWindow(0, 600)),)), "soft window"),
        (
            dict(technicians=(tech("t1", skills={"gas"}), tech("t2")), visits=(visit("a", 1, skills=frozenset({"gas"})),)),
            "only some technicians",
        ),
        (dict(weights=Weights(balance_per_minute=1)), "balancing"),
    ],
)
def test_rules_pyvrp_cannot_model_rule_it_out_by_name(change, reason):
    assert reason in unsupported(compile_problem(line_problem(**change)))


def test_a_skill_nobody_has_keeps_the_problem_representable_and_the_visit_out_of_pyvrp():
    p = line_problem(visits=(visit("a", 1), visit("x", 2, skills=frozenset({"gas"}))))
    inst = compile_problem(p)
    assert unsupported(inst) is None
    assert build_model(inst).client_visit == (0,)


# --------------------------------------------------------------------------- the PyVRP engine


def test_the_pyvrp_engine_finds_the_one_best_route_and_its_exact_times():
    # "c" (the far end) must start within 30 minutes: c, b, a is the only 60-minute tour
    p = line_problem(visits=(visit("a", 1), visit("b", 2), visit("c", 3, window=(0, 1800))))
    plan = solve_pyvrp(p, SolveParams(time_limit_s=0.5))
    assert plan.engine == "pyvrp"
    assert validate(p, plan) == []
    (route,) = plan.routes
    assert [s.visit_id for s in route.stops] == ["c", "b", "a"]
    assert [(s.arrival, s.start, s.end) for s in route.stops] == [
        (1800, 1800, 2700), (3300, 3300, 4200), (4800, 4800, 5700)
    ]
    assert route.end_time == 5700 + 600
    assert plan.objective == pytest.approx(60.0)  # 60 minutes of travel at 1 unit/minute


def test_capacity_splits_the_work_over_two_technicians():
    p = line_problem(
        technicians=(tech("t1", capacity=10), tech("t2", capacity=10)),
        visits=(visit("a", 1, demand=6), visit("b", 2, demand=6), visit("c", 3, demand=4)),
    )
    plan = solve_pyvrp(p, SolveParams(time_limit_s=0.5))
    assert validate(p, plan) == []
    assert plan.kpis.unassigned == 0
    assert sorted(r.load for r in plan.routes) == [6, 10]


def test_a_visit_pyvrp_cannot_serve_is_left_out_with_the_reason_the_other_engine_gives():
    p = line_problem(
        visits=(visit("a", 1), visit("early", 4, window=(0, 60)), visit("x", 2, skills=frozenset({"gas"})))
    )
    plan = solve_pyvrp(p, SolveParams(time_limit_s=0.5))
    assert validate(p, plan) == []
    assert plan.reason_of("x").reason == Reason.NO_SKILLED_TECHNICIAN
    assert plan.reason_of("early").reason == Reason.NO_SHIFT_MATCHES_WINDOWS
    assert [s.visit_id for r in plan.routes for s in r.stops] == ["a"]


def test_lower_priority_work_is_dropped_first_when_the_day_is_too_short():
    # 45 minutes of shift: 20 min there and back plus 15 min per service, one of two fits
    short = (Shift(0, (TimeWindow(0, 2700),)),)
    p = line_problem(
        technicians=(tech("t1", shifts=short),),
        visits=(visit("low", 1, priority=0), visit("high", 1, priority=2)),
    )
    plan = solve_pyvrp(p, SolveParams(time_limit_s=0.5))
    assert validate(p, plan) == []
    assert [s.visit_id for r in plan.routes for s in r.stops] == ["high"]
    assert [u.visit_id for u in plan.unassigned] == ["low"]


def test_the_pyvrp_engine_refuses_a_problem_it_cannot_model():
    p = generate_fsm(2, 5, seed=1)
    with pytest.raises(ValueError, match="not representable in PyVRP"):
        solve_pyvrp(p, SolveParams(time_limit_s=0.5))


# --------------------------------------------------------------------------- the portfolio


def vrptw_problem(seed: int = 3, n: int = 40) -> Problem:
    """A small random VRPTW (representable), tight enough that the search matters."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 20_000, size=(n + 1, 2))  # metres
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    dur = np.rint(dist / 10.0).astype(np.int64)  # 36 km/h
    visits = []
    for i in range(1, n + 1):
        a = int(rng.integers(0, 6 * 3600))
        visits.append(
            Visit(str(i), Location(index=i), 600, (TimeWindow(a, a + 2 * 3600),), demand=int(rng.integers(1, 10)))
        )
    techs = tuple(
        Technician(f"t{k}", Location(index=0), (Shift(0, (TimeWindow(0, 10 * 3600),)),), capacity=60)
        for k in range(6)
    )
    return Problem(technicians=techs, visits=tuple(visits), matrix=TravelMatrix(dur, dist))


def test_two_workers_on_a_representable_problem_give_a_valid_plan_and_one_progress_stream():
    p = vrptw_problem()
    seen: list[tuple[float, float]] = []
    plan = solve(p, SolveParams(time_limit_s=2.0, workers=2, on_progress=lambda e, v: seen.append((e, v))))
    assert validate(p, plan) == []
    assert plan.engine in {"ortools", "pyvrp"}
    assert plan.kpis.unassigned == 0
    values = [v for _, v in seen]
    assert values and all(b < a for a, b in zip(values, values[1:], strict=False))
    assert plan.objective <= values[-1] + 1e-6 * abs(values[-1]) + 1
    assert plan.first_solution_s is not None and plan.first_solution_s <= seen[0][0] + 1e-9


def test_the_portfolio_keeps_the_plan_with_less_unassigned_penalty_before_the_cheaper_one():
    p = line_problem()
    inst = compile_problem(p)
    full = solve_pyvrp(p, SolveParams(time_limit_s=0.3))
    from dataclasses import replace

    from solver.plan import Unassigned

    # a made-up cheaper plan that leaves "c" out: cheaper travel, but a visit short
    cheaper = replace(full, objective=1.0, unassigned=(Unassigned("c", Reason.SEARCH_LIMIT, ""),))
    assert portfolio._rank(inst, full) < portfolio._rank(inst, cheaper)
    assert portfolio._rank(inst, replace(full, objective=50.0)) < portfolio._rank(inst, full)


def test_a_problem_pyvrp_cannot_model_is_planned_by_or_tools_alone():
    p = generate_fsm(3, 12, seed=2)  # split shifts, several windows
    plan = solve(p, SolveParams(time_limit_s=1.0, workers=2))
    assert plan.engine == "ortools"
    assert validate(p, plan) == []


def test_when_the_pyvrp_process_dies_the_or_tools_plan_stands(monkeypatch):
    def broken_child():
        return subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.exit(3)"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    monkeypatch.setattr(portfolio, "_start_child", broken_child)
    p = vrptw_problem(n=15)
    plan = solve(p, SolveParams(time_limit_s=1.0, workers=2))
    assert plan.engine == "ortools"
    assert validate(p, plan) == []
    assert plan.kpis.unassigned == 0


def test_cancelling_stops_both_engines_long_before_the_time_limit():
    p = vrptw_problem(n=60)
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    started = time.monotonic()
    plan = solve(p, SolveParams(time_limit_s=60.0, workers=2, cancel=cancel))
    assert time.monotonic() - started < 20.0
    assert plan.status == PlanStatus.CANCELLED
    assert validate(p, plan) == []


def test_the_portfolio_stands_aside_for_one_worker_a_short_limit_or_a_problem_it_cannot_model():
    p = line_problem()
    assert portfolio.solve_portfolio(p, SolveParams(time_limit_s=5.0, workers=1)) is None
    assert portfolio.solve_portfolio(p, SolveParams(time_limit_s=0.5, workers=2)) is None
    skilled = line_problem(
        technicians=(tech("t1", skills={"gas"}), tech("t2")),
        visits=(visit("a", 1, skills=frozenset({"gas"})),),
    )
    assert portfolio.solve_portfolio(skilled, SolveParams(time_limit_s=5.0, workers=2)) is None

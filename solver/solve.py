"""``solve(problem, params) -> Plan``: compile, run the engine, time the routes exactly,
explain what stayed out, add up the KPIs and the objective.

Default pipeline: construction, ruin and recreate (:mod:`solver.lns`), OR-Tools' descent
over the full model, then a last greedy insertion of the visits still out. On large
problems (many routes and visits) OR-Tools' descent runs over a few neighbouring routes
at a time instead (:mod:`solver.decompose`), alternating with ruin and recreate. Each
phase works to the budget :func:`work_budget` derives from the time limit and the
problem's size (not the clock), so the plan is the same for the same problem, seed and
time limit; the deadline only stops a phase that overruns (``Plan.deadline_hit``)."""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from solver.construct import Constructor, construct
from solver.crew import crews_moved, insert_at_any_start, whole_crews
from solver.decompose import SIZE as DECOMPOSE_SIZE
from solver.decompose import UNASSIGNED_PER_ROUTE, decompose
from solver.explain import explain
from solver.lns import improve
from solver.model import FirstSolution, LocalSearch, Problem, SolveParams
from solver.plan import BreakTaken, KPIs, Plan, PlanStatus, Reason, Route, Stop, Unassigned
from solver.routing import solve_routes
from solver.schedule import (
    Instance,
    Timing,
    compile_problem,
    fitting,
    route_cost,
    schedule,
    visit_lateness,
)

LNS_SHARE = 0.85
"""Share of the time limit for ruin and recreate in the default pipeline; OR-Tools'
descent over the full model gets the rest (it usually reaches its local optimum sooner)."""
STALL_ITERATIONS = 400
"""Ruin and recreate stops after this many steps without a new best (and at least
``STALL_PER_VISIT`` per visit): small problems do not spin until the time limit."""
STALL_PER_VISIT = 100
ORTOOLS_BUILD_S_PER_CELL = 4e-7
"""Seconds OR-Tools takes to build its model per cell of the node x node matrix
(measured: 1.8 s for 2200 nodes on a loaded 2-core machine); the OR-Tools phase only
runs when its share of the time covers three times that, otherwise ruin and recreate
keeps the whole time."""

# Work budget (determinism). The search is bounded by work, not by the clock: the time
# limit is turned into a number of ruin-and-recreate steps and of OR-Tools solutions with
# the constants below, measured on the 2-core CI-like machine under load (two searches
# at once plus other jobs), so the budget normally ends before the limit. The clock is
# only a safety net: when it ends a phase first, the plan says so (``deadline_hit``).
LNS_S_PER_ITERATION = 0.005
"""Seconds per ruin-and-recreate step for a small problem ..."""
LNS_S_PER_ITERATION_PER_VISIT = 2.3e-6
"""... plus this per routable visit (measured on the loaded machine: 6.6 ms at 500
visits, 12.5 ms at 2000; both constants divided by 1.5 since the insertion checks and
the exact timing got faster: 2.3-3.0 ms per step at 500 visits, 1.8-2.0 ms at 100, on
an idle core, against 3.5-4.8 and 2.6-3.2 ms before, with identical steps)."""
SETUP_S_PER_VISIT = 1.5e-3
"""Compilation, construction, explanations and plan building, per visit."""
SETUP_S = 0.1
ORTOOLS_S_PER_SOLUTION_PER_NODE = 2.5e-4
"""OR-Tools descent: seconds per improving solution per node (measured: 146 solutions
in 20 s at 550 nodes with split shifts and breaks)."""
DECOMPOSE_MIN_VEHICLES = 3 * DECOMPOSE_SIZE
DECOMPOSE_MIN_VISITS = 200
"""From this many vehicles and routable visits on, OR-Tools works on a few routes at a
time (:mod:`solver.decompose`): its descent over the full model gets too slow (at 550
nodes it found 29 improving moves in the 4.5 s it had of 30 s; sub-problems of 8
routes found five times the travel savings in that time)."""
DECOMPOSE_SHARE = 0.5
"""Share of the time for those sub-problems; ruin and recreate gets the rest."""
DECOMPOSE_ROUNDS = 2
"""Ruin-and-recreate phases between the sub-problem phases (one more of those, first
and last): ruin and recreate serves more visits, the sub-problems shorten the routes."""
DECOMPOSE_S_PER_NODE = 1.0e-3
"""Seconds per sub-problem descent per node (its visits and the unassigned visits
offered; measured: 0.11 s of CPU at about 110 nodes once the routes have been through a
descent, while OR-Tools' models still leaked and every descent ran on a growing heap;
halved since they are freed: 50 technicians x 500 visits at 30 s end their budget at
about 17 s on the idle 2-core machine, and serve as many with ~6 % less travel than
with twice these constants) ..."""
DECOMPOSE_FIRST_S_PER_NODE = 2.7e-3
"""... plus this for each of the first (vehicles / size) descents, which meet routes
no descent has shortened yet (measured: 0.33 s at 110 nodes on 200 fresh routes, with
the leak; halved likewise)."""
WORKER_STARTUP_S = 1.0
"""A spawned worker process starts (interpreter, imports, pickled problem) this much
later than the main search; its budget is smaller by as much."""


@dataclasses.dataclass(frozen=True, slots=True)
class Budget:
    """The work one search may do: ruin-and-recreate steps, whether OR-Tools polishes,
    and how many OR-Tools solutions it may find."""

    iterations: int
    ortools: bool
    solution_limit: int
    subproblems: int = 0
    """OR-Tools descents over a few routes (:mod:`solver.decompose`; 0: the full model)"""


def work_budget(inst: Instance, params: SolveParams) -> Budget:
    """The machine-independent budget for ``params.time_limit_s`` on this problem
    (``params.iterations`` and ``params.solution_limit`` override their part). Depends
    only on the problem's size and the parameters, never on the clock."""
    n = sum(1 for r in inst.reachable if r)
    nodes = n + 2 * len(inst.vehicles)
    build_s = ORTOOLS_BUILD_S_PER_CELL * nodes * nodes
    limit = params.time_limit_s
    per_step = LNS_S_PER_ITERATION + LNS_S_PER_ITERATION_PER_VISIT * n
    n_vehicles = len(inst.vehicles)
    if n_vehicles >= DECOMPOSE_MIN_VEHICLES and n >= DECOMPOSE_MIN_VISITS:
        work_s = limit - SETUP_S - SETUP_S_PER_VISIT * n
        subproblems = params.solution_limit
        if subproblems is None:
            subproblems = _subproblems(work_s * DECOMPOSE_SHARE, n, n_vehicles)
        iterations = params.iterations
        if iterations is None:
            iterations = max(0, int(work_s * (1 - DECOMPOSE_SHARE) / per_step))
        return Budget(iterations, False, 0, max(1, subproblems))
    ortools_s = limit * (1 - LNS_SHARE)
    ortools = ortools_s >= 3 * build_s
    lns_s = limit * (LNS_SHARE if ortools else 1.0) - SETUP_S - SETUP_S_PER_VISIT * n
    iterations = params.iterations
    if iterations is None:
        iterations = max(0, int(lns_s / per_step))
    solution_limit = params.solution_limit
    if solution_limit is None:
        per_solution = ORTOOLS_S_PER_SOLUTION_PER_NODE * max(1, nodes)
        solution_limit = max(1, int((ortools_s - build_s) / per_solution))
    return Budget(iterations, ortools, solution_limit)


def _subproblems(seconds: float, n: int, n_vehicles: int) -> int:
    """Sub-problem descents that fit in ``seconds`` for ``n`` routable visits on
    ``n_vehicles``: the first (vehicles / size) meet fresh routes and cost more."""
    sub_nodes = DECOMPOSE_SIZE * (n / n_vehicles + UNASSIGNED_PER_ROUTE)
    sub_s = DECOMPOSE_S_PER_NODE * sub_nodes
    first_s = sub_s + DECOMPOSE_FIRST_S_PER_NODE * sub_nodes
    first = n_vehicles / DECOMPOSE_SIZE
    if seconds <= first * first_s:
        return int(seconds / first_s)
    return int(first + (seconds - first * first_s) / sub_s)


def solve(problem: Problem, params: SolveParams | None = None) -> Plan:
    """Plans ``problem`` (see :class:`solver.model.SolveParams` for the pipeline). Never
    raises for an unplaceable visit (it is listed with a reason) nor when nothing is
    found (the status says so); raises ``ValueError`` only for malformed arguments (the
    problem validated itself when it was built)."""
    if not isinstance(problem, Problem):
        raise ValueError("problem: expected a solver.model.Problem")
    params = params if params is not None else SolveParams()
    if not isinstance(params, SolveParams):
        raise ValueError("params: expected a solver.model.SolveParams")
    if params.workers >= 2:
        # problems PyVRP models exactly: PyVRP on the second core, the better plan wins
        # (solver.portfolio; it runs this function with one worker as the other engine)
        from solver.portfolio import solve_portfolio

        plan = solve_portfolio(problem, params)
        if plan is not None:
            return plan
    t0 = time.monotonic()
    deadline = t0 + params.time_limit_s
    pool = None
    futures = []
    if params.workers > 1:
        pool = ProcessPoolExecutor(
            max_workers=params.workers - 1, mp_context=multiprocessing.get_context("spawn")
        )
        # the workers start later (a fresh interpreter): a smaller budget, the same deadline
        quiet = dataclasses.replace(
            params,
            on_progress=None,
            cancel=None,
            explain=False,
            workers=1,
            time_limit_s=max(0.05, params.time_limit_s - WORKER_STARTUP_S),
        )
        futures = [
            pool.submit(_worker, problem, dataclasses.replace(quiet, seed=params.seed + k), deadline)
            for k in range(1, params.workers)
        ]
    try:
        inst = compile_problem(problem)
        best, first_s, cancelled, hit = _search(inst, params, t0, deadline)
        best_objective = _objective(inst, best)
        for fut in futures:
            try:
                routes, worker_hit, crew_windows = fut.result(
                    timeout=max(1.0, deadline + 30 - time.monotonic())
                )
            except Exception:  # a worker that failed or hung only loses its vote
                hit = True  # (and the plan may differ from a run where it answered)
                continue
            hit = hit or worker_hit
            # the worker's routes hold its crews at the start times it chose for them
            ours = _use_crew_windows(inst, crew_windows)
            other = _timed(inst, routes)
            objective = _objective(inst, other)
            if objective < best_objective - 1e-9:
                best, best_objective = other, objective
            else:
                _use_crew_windows(inst, ours)
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    plan = build_plan(inst, best, params, t0, cancelled=cancelled, first_solution_s=first_s)
    return dataclasses.replace(plan, deadline_hit=hit) if hit else plan


CrewWindows = dict[int, tuple[tuple[int, int], ...]]


def _worker(
    problem: Problem, params: SolveParams, deadline: float
) -> tuple[dict[int, list[int]], bool, CrewWindows]:
    """A second search in a spawned process: its routes, whether the clock cut it, and
    the start windows of the crew members its routes were timed with (the search may
    move a crew in time, see :mod:`solver.crew`)."""
    t0 = time.monotonic()
    inst = compile_problem(problem)
    best, _first, _cancelled, hit = _search(inst, params, t0, min(deadline, t0 + params.time_limit_s))
    windows = {m: inst.start_windows[m] for m in inst.crew_of}
    return {v: seq for v, (seq, _t) in best.items()}, hit, windows


def _use_crew_windows(inst: Instance, windows: CrewWindows) -> CrewWindows:
    """Sets the crew members' start windows; returns the ones they replace."""
    before = {m: inst.start_windows[m] for m in windows}
    for m, w in windows.items():
        inst.start_windows[m] = w
    return before


def _search(
    inst: Instance, params: SolveParams, t0: float, deadline: float
) -> tuple[dict[int, tuple[list[int], Timing]], float | None, bool, bool]:
    """(best timed routes, seconds to the first feasible plan, cancelled, deadline hit).

    The default pipeline works to :func:`work_budget`; ``deadline`` (``time.monotonic()``)
    is the safety net. Plain OR-Tools (an explicit ``first_solution``) runs by the clock
    unless ``params.solution_limit`` ends it first."""
    cancel = params.cancel
    on_progress = params.on_progress

    def stopped() -> bool:
        return cancel is not None and cancel.is_set()

    def report(objective: float) -> None:
        if on_progress is not None:
            on_progress(time.monotonic() - t0, objective)

    if params.first_solution != FirstSolution.AUTOMATIC:
        # plain OR-Tools: its construction, then its metaheuristic
        result = solve_routes(
            inst,
            params,
            deadline=deadline,
            t0=t0,
            metaheuristic=params.local_search
            if params.local_search != LocalSearch.AUTOMATIC
            else LocalSearch.GUIDED_LOCAL_SEARCH,
        )
        timed = _timed(inst, result.routes) if result.found else {}
        return timed, result.first_solution_s, result.cancelled, result.timed_out

    budget = work_budget(inst, params)
    initial = _timed(inst, construct(inst))
    first_s = time.monotonic() - t0
    best = initial
    best_objective = _objective(inst, initial)
    report(best_objective)
    if stopped():
        return best, first_s, True, False
    if params.local_search == LocalSearch.NONE:
        return best, first_s, False, False

    if budget.subproblems:
        best, cancelled, hit = _alternate(inst, params, budget, best, deadline, report, stopped)
        return best, first_s, cancelled, hit

    lns = improve(
        inst,
        {v: seq for v, (seq, _t) in best.items()},
        seed=params.seed,
        deadline=deadline,
        iterations=budget.iterations,
        stall=max(STALL_ITERATIONS, STALL_PER_VISIT * len(inst.visits)),
        on_improvement=report,
        should_stop=stopped,
    )
    improved = _timed(inst, lns.routes)
    objective = _objective(inst, improved)
    if objective <= best_objective:
        best, best_objective = improved, objective
    if stopped():
        return best, first_s, True, lns.deadline_hit
    if not budget.ortools:
        return _fill(inst, best), first_s, False, lns.deadline_hit
    if lns.deadline_hit or deadline - time.monotonic() <= 0.01:
        return _fill(inst, best), first_s, False, True  # no time left for the polish

    result = solve_routes(
        inst,
        dataclasses.replace(params, solution_limit=budget.solution_limit),
        deadline=deadline,
        initial_routes={v: seq for v, (seq, _t) in best.items()},
        t0=t0,
        metaheuristic=params.local_search
        if params.local_search != LocalSearch.AUTOMATIC
        else LocalSearch.GREEDY_DESCENT,
        report_best_below=best_objective,
    )
    if result.found:
        polished = _timed(inst, result.routes)
        objective = _objective(inst, polished)
        if objective < best_objective:
            best, best_objective = polished, objective
    if not result.cancelled:
        best = _fill(inst, best)
    return best, first_s, result.cancelled, result.timed_out


def _alternate(
    inst: Instance,
    params: SolveParams,
    budget: Budget,
    best: dict[int, tuple[list[int], Timing]],
    deadline: float,
    report: Callable[[float], None],
    stopped: Callable[[], bool],
) -> tuple[dict[int, tuple[list[int], Timing]], bool, bool]:
    """The pipeline for large problems: OR-Tools over a few routes at a time and ruin
    and recreate in turn (``DECOMPOSE_ROUNDS`` phases of ruin and recreate between
    ``DECOMPOSE_ROUNDS + 1`` of sub-problems), then the final insertion pass. Returns
    (best timed routes, cancelled, deadline hit)."""

    known: dict[tuple[int, tuple[int, ...]], tuple[list[int], Timing] | None] = {}

    def objective(routes: dict[int, list[int]]) -> tuple[float, dict[int, list[int]]]:
        timed = {}
        for v, seq in routes.items():  # only the routes a sub-problem changed are timed
            key = (v, tuple(seq))
            if key not in known:
                known[key] = _timed(inst, {v: seq}).get(v)
            if known[key] is not None:
                timed[v] = known[key]
        return _objective(inst, timed), {v: seq for v, (seq, _t) in timed.items()}

    best_objective = _objective(inst, best)
    routes = {v: seq for v, (seq, _t) in best.items()}
    done: set[tuple] = set()
    rounds = DECOMPOSE_ROUNDS
    for k in range(2 * rounds + 1):
        if k % 2 == 0:
            result = decompose(
                inst,
                routes,
                objective=objective,
                seed=params.seed + k,
                subproblems=_part(budget.subproblems, k // 2, rounds + 1),
                deadline=deadline,
                done=done,
                on_improvement=report,
                should_stop=stopped,
            )
            routes, hit = result.routes, result.deadline_hit
        else:
            lns = improve(
                inst,
                routes,
                seed=params.seed + k,
                deadline=deadline,
                iterations=_part(budget.iterations, k // 2, rounds),
                on_improvement=report,
                should_stop=stopped,
            )
            routes, hit = lns.routes, lns.deadline_hit
        timed = _timed(inst, routes)
        objective_k = _objective(inst, timed)
        if objective_k <= best_objective:
            best, best_objective = timed, objective_k
        routes = {v: seq for v, (seq, _t) in best.items()}
        if stopped():
            return best, True, hit
        if hit:
            return _fill(inst, best), False, True
    return _fill(inst, best), False, False


def _part(total: int, i: int, parts: int) -> int:
    """The ``i``-th of ``parts`` near-equal integer shares of ``total`` (they add up to it)."""
    return total * (i + 1) // parts - total * i // parts


FILL_TRIES = 200
"""Exact checks per left-over visit in the final insertion pass."""


def _fill(
    inst: Instance, timed: dict[int, tuple[list[int], Timing]]
) -> dict[int, tuple[list[int], Timing]]:
    """A last greedy pass: every visit still out, most important first, goes in at its
    cheapest feasible position if one exists (the polish shortens routes and frees time
    that the search did not get to use). Only adds visits (crews whole, and only when
    their routes cost less than their penalty), so the objective only falls. A crew may
    get a new start time here (``inst.start_windows`` of its members: it is in no route
    until then, so nothing else changes)."""
    timed = _whole_crews(inst, timed)
    served = {vi for seq, _t in timed.values() for vi in seq}
    if len(served) == sum(1 for r in inst.reachable if r):
        return timed
    cons = Constructor(inst, {v: seq for v, (seq, _t) in timed.items()}, overtime=True)
    added = [vi for vi in cons.order() if vi not in served and _fill_one(inst, cons, vi)]
    if not added:
        return timed
    return _timed(inst, {v: list(seq) for v, seq in enumerate(cons.seq) if seq})


def _fill_one(inst: Instance, cons: Constructor, vi: int) -> bool:
    crew = inst.crew_of.get(vi)
    if crew is None:
        return cons.try_insert(vi, FILL_TRIES) is not None
    if vi != crew[0]:
        return False  # inserted with the first member, or not at all
    penalty = inst.problem.weights.unassigned_penalty(inst.visits[vi])
    return insert_at_any_start(cons, crew, FILL_TRIES, penalty) is not None


def _whole_crews(
    inst: Instance, timed: dict[int, tuple[list[int], Timing]]
) -> dict[int, tuple[list[int], Timing]]:
    """``timed`` without crew members whose crew is not served whole, and the routes
    holding crews timed for their start times as they are now (solver.crew)."""
    if not inst.crews:
        return timed
    out = {}
    for v, seq in whole_crews(inst, {v: seq for v, (seq, _t) in timed.items()}).items():
        if v in timed and timed[v][0] == seq and not any(vi in inst.crew_of for vi in seq):
            out[v] = timed[v]  # untouched and without crews: its timing stands
        else:
            out[v] = _timed(inst, {v: seq})[v]
    return out


def _timed(inst: Instance, routes: dict[int, list[int]]) -> dict[int, tuple[list[int], Timing]]:
    """Exact timing of each route. A stop the exact timing rejects (it should not happen)
    is taken out, and then explained like any other unassigned visit."""
    out: dict[int, tuple[list[int], Timing]] = {}
    for v, seq in sorted(routes.items()):
        veh = inst.vehicles[v]
        timing = schedule(inst, veh, seq) if seq else None
        if timing is None and seq:
            seq = fitting(inst, veh, seq)
            timing = schedule(inst, veh, seq) if seq else None
        if seq and timing is not None:
            out[v] = (seq, timing)
    return out


def _objective(inst: Instance, timed: dict[int, tuple[list[int], Timing]]) -> float:
    """The objective of the plan :func:`build_plan` makes of ``timed`` (crews not served
    whole are out; a crew visit's penalty counts once)."""
    timed = _whole_crews(inst, timed)
    weights = inst.problem.weights
    total = 0.0
    served: set[int] = set()
    max_work = 0
    for v, (seq, timing) in timed.items():
        total += route_cost(inst, inst.vehicles[v], seq, timing).total + weights.route_fixed
        served.update(seq)
        max_work = max(max_work, timing.work)
    total += weights.balance_per_minute * max_work / 60
    total += sum(
        weights.unassigned_penalty(visit)
        for vi, visit in enumerate(inst.problem.visits)  # a crew's copies follow them
        if vi not in served
    )
    if inst.crews:
        total += weights.moved * crews_moved(inst, {v: seq for v, (seq, _t) in timed.items()})
    return round(total, 6)


def build_plan(
    inst: Instance,
    timed: dict[int, tuple[list[int], Timing]],
    params: SolveParams,
    t0: float,
    *,
    cancelled: bool = False,
    first_solution_s: float | None = None,
) -> Plan:
    """The plan of ``timed``. A crew visit is a stop on each of its members' routes (or
    unassigned once); ``KPIs.assigned`` counts visits served, a crew visit once."""
    timed = _whole_crews(inst, timed)
    routes = {v: seq for v, (seq, _t) in timed.items()}
    timings = {v: t for v, (_s, t) in timed.items()}
    served = {vi for seq in routes.values() for vi in seq}
    missing = [vi for vi in range(len(inst.problem.visits)) if vi not in served]
    if params.explain:
        unassigned = explain(inst, routes, missing)
    else:
        unassigned = [
            Unassigned(inst.visits[vi].id, Reason.SEARCH_LIMIT, "Not explained (explain=False).")
            for vi in missing
        ]

    weights = inst.problem.weights
    plan_routes: list[Route] = []
    objective = 0.0
    work_by_tech: dict[str, int] = {t.id: 0 for t in inst.problem.technicians}
    max_route_work = 0
    lateness_total = 0
    for v, seq in routes.items():
        veh = inst.vehicles[v]
        timing = timings[v]
        cost = route_cost(inst, veh, seq, timing)
        objective += cost.total + weights.route_fixed
        lateness_total += cost.lateness_s + cost.deadline_s
        places = [veh.start_place] + [inst.visit_place[i] for i in seq] + [veh.end_place]
        legs_m = [float(inst.distances[a, b]) for a, b in zip(places, places[1:], strict=False)]
        stops = []
        for pos, vi in enumerate(seq):
            arrival, start = timing.arrivals[pos], timing.starts[pos]
            in_wait = sum(
                min(e, start) - max(s, arrival)
                for s, e in timing.breaks
                if s < start and e > arrival
            )
            soft, sla = visit_lateness(inst.visits[vi], start)
            stops.append(
                Stop(
                    visit_id=inst.visits[vi].id,
                    arrival=arrival,
                    start=start,
                    end=timing.ends[pos],
                    waiting=max(0, start - arrival - in_wait),
                    travel_time=timing.travel[pos],
                    travel_distance=legs_m[pos],
                    lateness=soft,
                    deadline_lateness=sla,
                )
            )
        service = sum(inst.service[vi] for vi in seq)
        plan_routes.append(
            Route(
                technician_id=veh.technician.id,
                day=veh.day,
                stops=tuple(stops),
                breaks=tuple(_break_taken(b) for b in timing.breaks),
                start_time=timing.start_time,
                end_time=timing.end_time,
                end_travel_time=timing.travel[-1],
                end_travel_distance=legs_m[-1],
                travel_time=sum(timing.travel),
                travel_distance=sum(legs_m),
                service_time=service,
                work_time=timing.work,
                overtime=max(0, timing.end_time - veh.shift.end),
                load=timing.load,
            )
        )
        work_by_tech[veh.technician.id] += timing.work
        max_route_work = max(max_route_work, timing.work)
    objective += weights.balance_per_minute * max_route_work / 60
    if inst.crews:
        objective += weights.moved * crews_moved(inst, routes)
    by_id = {v.id: v for v in inst.visits}
    objective += sum(weights.unassigned_penalty(by_id[u.visit_id]) for u in unassigned)
    plan_routes.sort(key=lambda r: (r.day, r.technician_id))

    regular = sum(
        sum(max(0, w.end - max(w.start, veh.earliest)) for w in veh.shift.windows)
        for veh in inst.vehicles
    )
    total_work = sum(r.work_time for r in plan_routes)
    techs_with_shifts = {veh.technician.id for veh in inst.vehicles}
    loads = [work_by_tech[t] for t in techs_with_shifts]
    kpis = KPIs(
        assigned=len(served) - sum(1 for vi in served if vi >= len(inst.problem.visits)),
        unassigned=len(unassigned),
        travel_time=sum(r.travel_time for r in plan_routes),
        travel_distance=sum(r.travel_distance for r in plan_routes),
        service_time=sum(r.service_time for r in plan_routes),
        overtime=sum(r.overtime for r in plan_routes),
        utilisation=total_work / regular if regular else 0.0,
        lateness=lateness_total,
        balance=(max(loads) - min(loads)) if loads else 0,
        routes=len(plan_routes),
    )
    if cancelled:
        status = PlanStatus.CANCELLED
    elif not any(inst.reachable):
        status = PlanStatus.OPTIMAL  # nothing could be planned at all
    else:
        status = PlanStatus.FEASIBLE
    return Plan(
        status=status,
        routes=tuple(plan_routes),
        unassigned=tuple(sorted(unassigned, key=lambda u: u.visit_id)),
        kpis=kpis,
        objective=round(objective, 6),
        elapsed=time.monotonic() - t0,
        first_solution_s=first_solution_s,
        engine="ortools",
    )


def _break_taken(b: tuple[int, int]) -> BreakTaken:
    return BreakTaken(b[0], b[1])

"""The OR-Tools routing engine: the only module that sees OR-Tools types.

It models every rule. In the default pipeline (``solver.solve``) it starts from the
routes of our construction and ruin-and-recreate and runs its local search over them;
with an explicit ``first_solution`` it is the whole search (plain OR-Tools).

Model, one vehicle per (technician, shift):

- nodes: the visits some vehicle may serve, then one node per distinct start/end place;
- arc cost per vehicle class: travel seconds x the technician's rate + metres x
  ``Weights.distance_per_km`` (registered as matrices, no Python in the search loop);
- ``time`` dimension: transit = service of the origin + travel; visit cumul = start of
  service, restricted to the start windows (gaps removed); waiting is slack; the
  vehicle start/end cumuls are bounded by the shift (and the current position); breaks
  (window gaps included) are interval variables attached with the service times as
  node visit transits; overtime is a soft upper bound on the end cumul; soft windows and
  deadlines are soft upper bounds on visit cumuls;
- ``work`` dimension (when a shift has ``max_work`` or balancing is on): travel +
  service, capped per vehicle; balancing is its global span cost;
- ``load`` dimension when visits have demands and technicians capacities;
- ``affinity`` dimension when visits have preferred technicians or a previous plan: a
  per-vehicle unary transit carrying the cost units of serving a visit on a vehicle
  outside its preferences or away from its previous technician/day, priced by span cost;
- skills, exclusions, zones, days, pins: allowed vehicles per visit; priorities: one
  disjunction per visit with the unassigned penalty.

Costs are integers in ``unit`` = 60 x ``resolution`` per cost unit, so that per-minute
rates are exact per second; ``resolution`` is the largest of 100, 10, 1 that keeps the
worst objective inside 64 bits.

Determinism: a search ended by ``solution_limit`` (before the time limit) gives the same
routes for the same model and hint; a search ended by the clock depends on how fast the
machine was. Cancellation is a search limit checked between steps (construction
included), so it is prompt.

``SetAllowedVehiclesForIndex`` takes an ``absl::Span`` the Python wrapper of OR-Tools
9.15 cannot build, so allowed vehicles are a domain restriction of the vehicle variable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

from solver.model import FirstSolution, LocalSearch, SolveParams
from solver.schedule import Instance

_FIRST = {
    FirstSolution.PATH_CHEAPEST_ARC: routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC,
    FirstSolution.PARALLEL_CHEAPEST_INSERTION: routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION,
    FirstSolution.LOCAL_CHEAPEST_INSERTION: routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION,
    FirstSolution.SEQUENTIAL_CHEAPEST_INSERTION: routing_enums_pb2.FirstSolutionStrategy.SEQUENTIAL_CHEAPEST_INSERTION,
    FirstSolution.SAVINGS: routing_enums_pb2.FirstSolutionStrategy.SAVINGS,
    FirstSolution.CHRISTOFIDES: routing_enums_pb2.FirstSolutionStrategy.CHRISTOFIDES,
}
_LOCAL = {
    LocalSearch.GUIDED_LOCAL_SEARCH: routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH,
    LocalSearch.SIMULATED_ANNEALING: routing_enums_pb2.LocalSearchMetaheuristic.SIMULATED_ANNEALING,
    LocalSearch.TABU_SEARCH: routing_enums_pb2.LocalSearchMetaheuristic.TABU_SEARCH,
    LocalSearch.GREEDY_DESCENT: routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT,
}

_LNS_OPERATORS = (
    "use_lin_kernighan",
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
)
"""Operators that ``lns_operators=False`` turns off: the insertion LNS ones run against
their own clock (``lns_time_limit``) and, like Lin-Kernighan, cost nearly half of a
descent over a few routes without improving on the plain moves there."""

_MAX_OBJECTIVE = 10**17
"""Headroom under 2**63 for sums OR-Tools does in its filters."""


@dataclass(slots=True)
class EngineResult:
    """Sequences per vehicle (indices into ``Instance.visits``) and search facts."""

    routes: dict[int, list[int]]
    found: bool
    cancelled: bool
    objective: float | None
    """the engine's objective in cost units (None when nothing was found)"""
    first_solution_s: float | None
    solutions: int
    unit: int
    progress: list[tuple[float, float]] = field(default_factory=list)
    timed_out: bool = False
    """the time limit (not the solution limit nor a local optimum) ended the search"""


def _resolution(inst: Instance) -> int:
    w = inst.problem.weights
    total = sum(w.unassigned_penalty(v) for v in inst.visits) + 1
    travel_bound = float(inst.durations.max(initial=0)) * (len(inst.visits) + 2 * len(inst.vehicles))
    rate = max((veh.technician.travel_cost_per_minute for veh in inst.vehicles), default=1)
    total += travel_bound * max(rate, 1) / 60 * 10
    if w.distance_per_km:
        total += float(inst.distances.max(initial=0)) / 1000 * w.distance_per_km * (
            len(inst.visits) + 2 * len(inst.vehicles)
        )
    for res in (100, 10, 1):
        if total * 60 * res <= _MAX_OBJECTIVE:
            return res
    return 1


def solve_routes(
    inst: Instance,
    params: SolveParams,
    *,
    deadline: float | None = None,
    initial_routes: dict[int, list[int]] | None = None,
    t0: float | None = None,
    metaheuristic: LocalSearch = LocalSearch.GUIDED_LOCAL_SEARCH,
    report_best_below: float | None = None,
    lns_operators: bool = True,
) -> EngineResult:
    """Runs OR-Tools on ``inst``. ``deadline``: ``time.monotonic()`` value by which the
    search must end (defaults to now + ``params.time_limit_s``). ``initial_routes``:
    vehicle -> visit sequence to start from (a hint OR-Tools rejects is ignored).
    ``metaheuristic``: after the local optimum (``GREEDY_DESCENT``: stop there).
    ``report_best_below``: only solutions better than this reach ``on_progress``.
    ``lns_operators``: False leaves out the costly operators of ``_LNS_OPERATORS``."""
    if t0 is None:
        t0 = time.monotonic()
    if deadline is None:
        deadline = t0 + params.time_limit_s
    problem = inst.problem
    weights = problem.weights
    vehicles = inst.vehicles
    routable = [vi for vi in range(len(inst.visits)) if inst.reachable[vi]]
    res = _resolution(inst)
    unit = 60 * res
    if not vehicles or not routable:
        return EngineResult({}, True, False, 0.0, 0.0, 1, unit)

    # ---- nodes
    depot_places = sorted({veh.start_place for veh in vehicles} | {veh.end_place for veh in vehicles})
    n_visits = len(routable)
    depot_node = {p: n_visits + i for i, p in enumerate(depot_places)}
    node_place = np.array([inst.visit_place[vi] for vi in routable] + depot_places, dtype=np.int64)
    node_service = np.array([inst.service[vi] for vi in routable] + [0] * len(depot_places), dtype=np.int64)
    n_nodes = len(node_place)
    starts = [depot_node[veh.start_place] for veh in vehicles]
    ends = [depot_node[veh.end_place] for veh in vehicles]
    manager = pywrapcp.RoutingIndexManager(n_nodes, len(vehicles), starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()
    solver.ReSeed(params.seed)

    sub_dur = inst.durations[np.ix_(node_place, node_place)]
    time_matrix = sub_dur + node_service[:, None]
    np.fill_diagonal(time_matrix, 0)
    time_cb = routing.RegisterTransitMatrix(time_matrix.tolist())

    # ---- arc costs: one matrix per distinct travel rate
    dist_cost = None
    if weights.distance_per_km:
        sub_dist = inst.distances[np.ix_(node_place, node_place)]
        dist_cost = np.rint(sub_dist * (weights.distance_per_km * unit / 1000.0)).astype(np.int64)
    cost_cb: dict[int, int] = {}
    for veh in vehicles:
        rate = veh.technician.travel_cost_per_minute
        if rate not in cost_cb:
            cm = sub_dur * (rate * res)
            if dist_cost is not None:
                cm = cm + dist_cost
            np.fill_diagonal(cm, 0)
            cost_cb[rate] = routing.RegisterTransitMatrix(cm.tolist())
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[rate], veh.index)
    if weights.route_fixed:
        routing.SetFixedCostOfAllVehicles(weights.route_fixed * unit)

    # ---- time
    horizon = max(
        max(veh.latest_end for veh in vehicles),
        max((w[-1][1] for w in inst.start_windows if w), default=0),
    ) + 1
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for node, vi in enumerate(routable):
        index = manager.NodeToIndex(node)
        cumul = time_dim.CumulVar(index)
        windows = inst.start_windows[vi]
        cumul.SetRange(windows[0][0], windows[-1][1])
        for (_a, b), (a2, _b2) in zip(windows, windows[1:], strict=False):
            if a2 - b > 1:
                cumul.RemoveInterval(b + 1, a2 - 1)
        visit = inst.visits[vi]
        bounds = []
        if visit.soft_window is not None:
            rate = (
                visit.lateness_cost_per_minute
                if visit.lateness_cost_per_minute is not None
                else weights.lateness_per_minute
            )
            if rate:
                bounds.append((visit.soft_window.end, rate))
        if visit.deadline is not None and weights.deadline_per_minute:
            bounds.append((visit.deadline, weights.deadline_per_minute))
        if bounds:
            # one soft bound per cumul in OR-Tools: the earlier bound, charged at the sum
            # of the rates that apply from it on (exact when only one applies)
            # one soft bound per cumul in OR-Tools: with both a soft window and a deadline,
            # the earlier bound at its own rate (both rates when they coincide); the plan's
            # objective is recomputed exactly afterwards
            bounds.sort()
            bound = bounds[0][0]
            rate = sum(r for b, r in bounds if b == bound)
            time_dim.SetCumulVarSoftUpperBound(index, bound, rate * res)
        routing.AddDisjunction([index], weights.unassigned_penalty(visit) * unit)
        allowed = inst.reachable[vi]
        if len(allowed) < len(vehicles):
            routing.VehicleVar(index).SetValues([-1, *allowed])

    node_visit_transits = [0] * routing.Size()
    for index in range(routing.Size()):
        node = manager.IndexToNode(index)
        node_visit_transits[index] = int(node_service[node])
    for veh in vehicles:
        v = veh.index
        start_cumul = time_dim.CumulVar(routing.Start(v))
        end_cumul = time_dim.CumulVar(routing.End(v))
        start_cumul.SetRange(veh.earliest, veh.latest_end)
        end_cumul.SetRange(veh.earliest, veh.latest_end)
        shift = veh.shift
        if veh.latest_end > shift.end and shift.overtime_cost_per_minute:
            time_dim.SetCumulVarSoftUpperBound(
                routing.End(v), shift.end, shift.overtime_cost_per_minute * res
            )
        if veh.breaks:
            intervals = [
                solver.FixedDurationIntervalVar(e, lat, d, False, f"break {v}/{i}")
                for i, (e, lat, d) in enumerate(veh.breaks)
            ]
            time_dim.SetBreakIntervalsOfVehicle(intervals, v, node_visit_transits)

    # ---- work (travel + service)
    if any(veh.max_work is not None for veh in vehicles) or weights.balance_per_minute:
        caps = [veh.max_work if veh.max_work is not None else horizon for veh in vehicles]
        routing.AddDimensionWithVehicleCapacity(time_cb, 0, caps, True, "work")
        if weights.balance_per_minute:
            routing.GetDimensionOrDie("work").SetGlobalSpanCostCoefficient(
                weights.balance_per_minute * res
            )

    # ---- load
    if any(inst.visits[vi].demand for vi in routable) and any(
        veh.capacity is not None for veh in vehicles
    ):
        demand = [inst.visits[vi].demand for vi in routable] + [0] * len(depot_places)
        load_cb = routing.RegisterUnaryTransitVector(demand)
        big = sum(demand) + 1
        caps = [veh.capacity if veh.capacity is not None else big for veh in vehicles]
        routing.AddDimensionWithVehicleCapacity(load_cb, 0, caps, True, "load")

    # ---- affinity: preferred technicians and stability
    _add_affinity(inst, routing, routable, n_nodes, unit)

    # ---- search
    search = pywrapcp.DefaultRoutingSearchParameters()
    first = params.first_solution
    if first == FirstSolution.AUTOMATIC:
        first = (
            FirstSolution.PARALLEL_CHEAPEST_INSERTION
            if n_visits <= 400
            else FirstSolution.LOCAL_CHEAPEST_INSERTION
        )
    search.first_solution_strategy = _FIRST[first]
    if not lns_operators:
        for name in _LNS_OPERATORS:
            setattr(search.local_search_operators, name, optional_boolean_pb2.BOOL_FALSE)
    if metaheuristic in (LocalSearch.NONE, LocalSearch.AUTOMATIC):
        search.local_search_metaheuristic = _LOCAL[LocalSearch.GREEDY_DESCENT]
        if metaheuristic == LocalSearch.NONE:
            search.solution_limit = 1
    else:
        search.local_search_metaheuristic = _LOCAL[metaheuristic]
    if params.solution_limit is not None:
        search.solution_limit = params.solution_limit
    remaining = max(0.01, deadline - time.monotonic())
    search.time_limit.FromMilliseconds(max(10, int(remaining * 1000)))

    progress: list[tuple[float, float]] = []
    state = {"best": report_best_below, "first": None, "count": 0}
    on_progress: Callable[[float, float], None] | None = params.on_progress
    cancel = params.cancel

    # The callback reaches the model through ``live``, emptied once the search is over:
    # a closure over ``routing`` itself would be a cycle through C++ that Python's
    # garbage collector cannot see, and every model (~4 MB for 100 nodes) would leak.
    live = {"routing": routing}

    def at_solution() -> None:
        routing = live["routing"]
        value = routing.CostVar().Value() / unit
        elapsed = time.monotonic() - t0
        state["count"] += 1
        if state["first"] is None:
            state["first"] = elapsed
        if state["best"] is None or value < state["best"]:
            state["best"] = value
            progress.append((elapsed, value))
            if on_progress is not None:
                on_progress(elapsed, value)
        if cancel is not None and cancel.is_set():
            routing.CancelSearch()

    routing.AddAtSolutionCallback(at_solution)
    if cancel is not None:
        # checked by the search (construction included) between its steps
        routing.AddSearchMonitor(solver.CustomLimit(cancel.is_set))
    if cancel is not None and cancel.is_set():
        live.clear()
        return EngineResult({}, False, True, None, None, 0, unit)

    routing.CloseModelWithParameters(search)
    hint = None
    if initial_routes is not None:
        node_of = {vi: node for node, vi in enumerate(routable)}
        routes = []
        for veh in vehicles:
            seq = [node_of[vi] for vi in initial_routes.get(veh.index, []) if vi in node_of]
            routes.append(seq)
        hint = routing.ReadAssignmentFromRoutes(routes, True)  # None if OR-Tools rejects it

    try:
        if hint is not None:
            solution = routing.SolveFromAssignmentWithParameters(hint, search)
        else:
            solution = routing.SolveWithParameters(search)
    finally:
        live.clear()
    cancelled = cancel is not None and cancel.is_set()
    timed_out = (
        not cancelled
        and time.monotonic() >= deadline - 0.02
        and (search.solution_limit <= 0 or state["count"] < search.solution_limit)
    )

    if solution is None:
        return EngineResult(
            {}, False, cancelled, None, state["first"], state["count"], unit, progress, timed_out
        )
    out: dict[int, list[int]] = {}
    for veh in vehicles:
        index = routing.Start(veh.index)
        seq = []
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            seq.append(routable[manager.IndexToNode(index)])
            index = solution.Value(routing.NextVar(index))
        if seq:
            out[veh.index] = seq
    return EngineResult(
        out,
        True,
        cancelled,
        solution.ObjectiveValue() / unit,
        state["first"],
        state["count"],
        unit,
        progress,
        timed_out,
    )


def _add_affinity(inst: Instance, routing, routable: list[int], n_nodes: int, unit: int) -> None:
    problem = inst.problem
    w = problem.weights
    prefs = []
    prevs = []
    for node, vi in enumerate(routable):
        visit = inst.visits[vi]
        if visit.preferred_technicians and w.not_preferred:
            prefs.append((node, visit.preferred_technicians))
        p = inst.previous.get(visit.id) if w.moved else None
        if p is not None:
            prevs.append((node, p[0], p[1]))
    if not prefs and not prevs:
        return
    callbacks: dict[bytes, int] = {}
    evaluators = []
    for veh in inst.vehicles:
        vec = np.zeros(n_nodes, dtype=np.int64)
        tid, day = veh.technician.id, veh.day
        for node, preferred in prefs:
            if tid not in preferred:
                vec[node] += w.not_preferred
        for node, ptid, pday in prevs:
            if ptid != tid or pday != day:
                vec[node] += w.moved
        key = vec.tobytes()
        if key not in callbacks:
            callbacks[key] = routing.RegisterUnaryTransitVector(vec.tolist())
        evaluators.append(callbacks[key])
    cap = int(sum(w.not_preferred for _ in prefs) + sum(w.moved for _ in prevs)) + 1
    routing.AddDimensionWithVehicleTransits(evaluators, 0, cap, True, "affinity")
    dim = routing.GetDimensionOrDie("affinity")
    for veh in inst.vehicles:
        dim.SetSpanCostCoefficientForVehicle(unit, veh.index)

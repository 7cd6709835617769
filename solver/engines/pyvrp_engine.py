"""PyVRP as a second engine, for the problems it models exactly.

PyVRP (iterated local search, very strong on vehicle routing with time windows) has one
time window per client, vehicle shifts as time windows, capacities, per-vehicle start and
end depots, fixed route costs and optional clients with a prize. So a problem is
*representable* when every visit has at most one start window, no shift has breaks or
split windows, nothing binds on working time or overtime, skills/zones/exclusions/days
either allow a visit on every vehicle or on none, and no soft cost exists that PyVRP
cannot price (soft windows, deadlines, preferences, stability, balancing, pins, crews).
:func:`unsupported` says which rule rules a problem out.

The mapping, exact for representable problems:

- vehicles: one per (technician, shift) of :func:`solver.schedule.compile_problem`,
  grouped into vehicle types by start, end, earliest departure, latest return, capacity
  and travel rate;
- durations: the problem's own integer seconds, so a plan PyVRP finds feasible is
  feasible for our validator to the second;
- costs ("distance" in PyVRP's terms): ``COST_SCALE`` x (travel seconds x rate / 60 +
  metres x ``distance_per_km`` / 1000) per edge, one routing profile per travel rate;
  fixed route cost = ``route_fixed``; a visit's prize = its unassigned penalty.

The plan is built by the same code as the OR-Tools engine's (exact timing by
:func:`solver.schedule.schedule`, reasons by :mod:`solver.explain`), so both engines'
plans are comparable term by term.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # kept out of the child process's imports, which only searches
    from solver.model import Problem, SolveParams
    from solver.plan import Plan
    from solver.schedule import Instance

MAX_PROFILES = 4
"""Distinct travel rates we give PyVRP one cost matrix each; beyond that the memory for
big problems is not worth it and OR-Tools alone plans."""

_MAX_COST = 10**17
"""Headroom under 2**63 for PyVRP's sums of costs and prizes."""

_MAX_PENALISED = 4 * 10**18
"""Bound for a penalty (up to twice the largest prize per unit) times the largest
violation a search state can have (all shifts' time plus all demand)."""


# --------------------------------------------------------------------------- representable?


def _allowed(inst: Instance, vi: int, veh_index: int) -> bool:
    """Static eligibility of a visit on a vehicle, leaving capacity to PyVRP."""
    visit = inst.visits[vi]
    veh = inst.vehicles[veh_index]
    tech = veh.technician
    if not visit.skills <= tech.skills or tech.id in visit.excluded_technicians:
        return False
    if visit.zone is not None and tech.zones and visit.zone not in tech.zones:
        return False
    return visit.allowed_days is None or veh.day in visit.allowed_days


def unsupported(inst: Instance) -> str | None:
    """Why PyVRP cannot model this problem exactly, or ``None`` when it can."""
    problem = inst.problem
    w = problem.weights
    if not inst.vehicles:
        return "no technician shift to plan"
    if w.balance_per_minute:
        return "workload balancing"
    if problem.previous and w.moved:
        return "a previous plan (stability term)"
    rates = {veh.technician.travel_cost_per_minute for veh in inst.vehicles}
    if len(rates) > MAX_PROFILES:
        return f"more than {MAX_PROFILES} distinct travel rates"
    for veh in inst.vehicles:
        shift = veh.shift
        if veh.breaks:
            return f"technician {veh.technician.id!r}: breaks or split shift"
        if shift.max_work is not None and shift.max_work < veh.latest_end - veh.earliest:
            return f"technician {veh.technician.id!r}: max_work"
        if veh.latest_end > shift.end and shift.overtime_cost_per_minute:
            return f"technician {veh.technician.id!r}: paid overtime"
    n = len(inst.vehicles)
    for vi, visit in enumerate(inst.visits):
        owner = f"visit {visit.id!r}"
        if visit.pin is not None:
            return f"{owner}: pin"
        if visit.crew_size != 1:
            return f"{owner}: crew"
        if visit.soft_window is not None:
            return f"{owner}: soft window"
        windows = inst.start_windows[vi]
        if len(windows) > 1:
            return f"{owner}: several time windows"
        late = visit.deadline is not None and windows and visit.deadline < windows[0][1]
        if late and w.deadline_per_minute:
            return f"{owner}: deadline"
        if visit.preferred_technicians and w.not_preferred:
            return f"{owner}: preferred technicians"
        allowed = sum(_allowed(inst, vi, k) for k in range(n))
        if 0 < allowed < n:
            return f"{owner}: only some technicians may serve it"
    return None


def representable(problem: Problem) -> bool:
    from solver.schedule import compile_problem

    return unsupported(compile_problem(problem)) is None


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class PyvrpModel:
    """What the PyVRP side needs (picklable, so it can be sent to another process) and
    how to read its answer: ``client_visit[c]`` = index into ``Instance.visits`` of PyVRP
    client ``c``; ``type_vehicles[t]`` = our vehicle indices of PyVRP vehicle type ``t``.
    ``scale``: PyVRP cost units per cost unit; ``max_prize`` the largest client prize
    (PyVRP cost units), which sizes the penalties for infeasibility."""

    data: Any
    client_visit: tuple[int, ...]
    type_vehicles: tuple[tuple[int, ...], ...]
    scale: int
    max_prize: int = 0


def _scale(inst: Instance) -> int:
    w = inst.problem.weights
    prizes = sum(w.unassigned_penalty(v) for v in inst.visits) + 1
    edges = len(inst.visits) + 2 * len(inst.vehicles)
    rate = max(veh.technician.travel_cost_per_minute for veh in inst.vehicles)
    travel = float(inst.durations.max(initial=0)) * rate / 60
    travel += float(inst.distances.max(initial=0)) / 1000 * w.distance_per_km
    bound = prizes + travel * edges + w.route_fixed * len(inst.vehicles)
    top_prize = max((w.unassigned_penalty(v) for v in inst.visits), default=0)
    violation = sum(veh.latest_end - veh.earliest for veh in inst.vehicles) + sum(inst.service)
    violation = max(violation, sum(v.demand for v in inst.visits)) + 1
    for scale in (10_000, 1_000, 100, 10, 1):
        if bound * scale <= _MAX_COST and 2 * top_prize * scale * violation <= _MAX_PENALISED:
            return scale
    return 1


def build_model(inst: Instance) -> PyvrpModel:
    """The PyVRP data for a representable instance (see :func:`unsupported`)."""
    from pyvrp import Client, Depot, Location, ProblemData, VehicleType

    w = inst.problem.weights
    scale = _scale(inst)
    n_places = inst.durations.shape[0]
    locations = [Location(x=0, y=0) for _ in range(n_places)]
    durations = np.ascontiguousarray(inst.durations, dtype=np.int64)

    rates = sorted({veh.technician.travel_cost_per_minute for veh in inst.vehicles})
    profile_of = {r: k for k, r in enumerate(rates)}
    distance_part = inst.distances * (w.distance_per_km / 1000.0)
    costs = []
    for rate in rates:
        c = np.rint(scale * (durations * (rate / 60.0) + distance_part)).astype(np.int64)
        np.fill_diagonal(c, 0)
        costs.append(c)

    with_load = any(v.demand for v in inst.visits) and any(
        veh.capacity is not None for veh in inst.vehicles
    )
    unbounded = sum(v.demand for v in inst.visits) + 1

    depot_places = sorted(
        {veh.start_place for veh in inst.vehicles} | {veh.end_place for veh in inst.vehicles}
    )
    depot_of = {p: k for k, p in enumerate(depot_places)}
    depots = [Depot(location=p) for p in depot_places]

    groups: dict[tuple, list[int]] = {}
    for veh in inst.vehicles:
        cap = veh.capacity if veh.capacity is not None else unbounded
        key = (
            veh.start_place,
            veh.end_place,
            veh.earliest,
            veh.latest_end,
            cap if with_load else None,
            veh.technician.travel_cost_per_minute,
        )
        groups.setdefault(key, []).append(veh.index)
    vehicle_types = []
    type_vehicles = []
    for (start, end, earliest, latest, cap, rate), members in groups.items():
        vehicle_types.append(
            VehicleType(
                num_available=len(members),
                capacity=[cap] if with_load else [],
                start_depot=depot_of[start],
                end_depot=depot_of[end],
                fixed_cost=int(round(w.route_fixed * scale)),
                tw_early=earliest,
                tw_late=latest,
                unit_distance_cost=1,
                unit_duration_cost=0,
                profile=profile_of[rate],
            )
        )
        type_vehicles.append(tuple(members))

    clients = []
    client_visit = []
    n = len(inst.vehicles)
    for vi, visit in enumerate(inst.visits):
        windows = inst.start_windows[vi]
        if not windows or not _allowed(inst, vi, 0) or not inst.reachable[vi]:
            continue  # nobody can serve it: explained like any other unassigned visit
        assert len(windows) == 1 and all(_allowed(inst, vi, k) for k in range(n))
        clients.append(
            Client(
                location=inst.visit_place[vi],
                delivery=[visit.demand] if with_load else [],
                service_duration=inst.service[vi],
                tw_early=windows[0][0],
                tw_late=windows[0][1],
                prize=int(round(w.unassigned_penalty(visit) * scale)),
                required=False,
            )
        )
        client_visit.append(vi)

    data = ProblemData(
        locations, clients, depots, vehicle_types, costs, [durations] * len(costs)
    )
    max_prize = max((c.prize for c in clients), default=0)
    return PyvrpModel(data, tuple(client_visit), tuple(type_vehicles), scale, max_prize)


# --------------------------------------------------------------------------- the search


@dataclass(frozen=True, slots=True)
class PyvrpOutcome:
    """PyVRP's best solution as (vehicle type, [client indices]) per route, plus search
    facts; ``cost`` in PyVRP cost units (``None`` when no feasible solution)."""

    routes: tuple[tuple[int, tuple[int, ...]], ...]
    feasible: bool
    cost: int | None
    first_solution_s: float | None
    iterations: int
    progress: tuple[tuple[float, int], ...]
    cancelled: bool
    deadline_hit: bool = False
    """the wall-clock safety net ended the search before its iteration budget"""


PYVRP_S_PER_ITERATION = 6e-4
PYVRP_S_PER_ITERATION_PER_CLIENT = 2e-5
"""Seconds per iteration of PyVRP's iterated local search: a fixed part plus this per
client. Measured on the 2-core machine inside the portfolio (OR-Tools on the other core,
other jobs around): about 1.1 ms at 25 random clients and 1.6 ms at 100 Solomon
clients, up to 2.2 ms on the slowest (RC1); the constants cover that."""


def pyvrp_iterations(n_clients: int, seconds: float) -> int:
    """The iteration budget for ``seconds`` of search on ``n_clients`` clients: the work
    bound that makes PyVRP deterministic for a given seed and time limit."""
    per_iteration = PYVRP_S_PER_ITERATION + PYVRP_S_PER_ITERATION_PER_CLIENT * n_clients
    return max(1, int(seconds / per_iteration))


class _Stop:
    """Stops after ``max_iterations`` iterations (``pyvrp.stop.MaxIterations``: the
    deterministic budget), at a ``time.monotonic()`` deadline (the safety net) or when
    ``cancel.is_set()``."""

    def __init__(self, deadline: float, cancel: Any, max_iterations: int | None = None) -> None:
        from pyvrp.stop import MaxIterations

        self.deadline = deadline
        self.cancel = cancel
        self.cancelled = False
        self.deadline_hit = False
        self.max_iterations = (
            MaxIterations(max_iterations) if max_iterations is not None else None
        )

    def __call__(self, best_cost: float) -> bool:
        if self.cancel is not None and self.cancel.is_set():
            self.cancelled = True
            return True
        if self.max_iterations is not None and self.max_iterations(best_cost):
            return True
        if time.monotonic() >= self.deadline:
            self.deadline_hit = True
            return True
        return False


def _neighbourhood(data: Any, params_cls: Any, wait_weight: float | None) -> Any:
    """PyVRP's neighbourhood weighs waiting time against distance (0.2 by default, with
    distance and duration in the same unit). Our "distance" is cost and our durations are
    seconds, so the weight is rescaled by the cost of a second of travel, which keeps
    PyVRP's default meaning whatever the units."""
    if wait_weight is None:
        cost = data.distance_matrix(0)
        duration = data.duration_matrix(0)
        per_second = float(cost.sum()) / float(duration.sum()) if duration.sum() > 0 else 1.0
        wait_weight = 0.2 * per_second
    return params_cls(weight_wait_time=wait_weight)


def run_model(
    model: PyvrpModel,
    *,
    seed: int,
    deadline: float,
    cancel: Any = None,
    on_best: Callable[[float, int], None] | None = None,
    t0: float | None = None,
    wait_weight: float | None = None,
    max_iterations: int | None = None,
) -> PyvrpOutcome:
    """Runs PyVRP's iterated local search for ``max_iterations`` iterations (same seed,
    same routes) or until ``deadline`` (``time.monotonic()``; system-wide on Linux, so a
    deadline set in another process holds), whichever comes first. ``on_best(elapsed,
    cost)`` is called on every new best feasible solution; elapsed counts from ``t0``."""
    from pyvrp import (
        IteratedLocalSearch,
        IteratedLocalSearchCallbacks,
        IteratedLocalSearchParams,
        PenaltyManager,
        PenaltyParams,
        RandomNumberGenerator,
        Solution,
    )
    from pyvrp.search import (
        OPERATORS,
        LocalSearch,
        NeighbourhoodParams,
        PerturbationManager,
        PerturbationParams,
        compute_neighbours,
    )

    t0 = time.monotonic() if t0 is None else t0
    progress: list[tuple[float, int]] = []
    first: list[float] = []

    class Callbacks(IteratedLocalSearchCallbacks):
        def on_best(self, best: Any) -> None:
            if not best.is_feasible():
                return
            elapsed = time.monotonic() - t0
            cost = int(best.distance_cost() + best.fixed_vehicle_cost() + best.uncollected_prizes())
            if not first:
                first.append(elapsed)
            progress.append((elapsed, cost))
            if on_best is not None:
                on_best(elapsed, cost)

    # pyvrp.solve() with one change: penalties may grow past the largest prize. PyVRP's
    # default cap (1e5 per unit of time warp or excess load) is far below our prizes
    # (unassigned penalties), and with it the search prefers serving every visit a little
    # late to leaving one out, and never finds a feasible plan on an overloaded day. The
    # start values stay PyVRP's, so problems where everything fits search as usual.
    data = model.data
    rng = RandomNumberGenerator(seed=seed)
    ls = LocalSearch(
        data, rng, compute_neighbours(data, _neighbourhood(data, NeighbourhoodParams, wait_weight)),
        PerturbationManager(PerturbationParams()),
    )
    for op in OPERATORS:
        if op.supports(data):
            ls.add_operator(op(data))
    defaults = PenaltyParams()
    penalty_params = PenaltyParams(max_penalty=max(defaults.max_penalty, 2.0 * model.max_prize))
    pm = PenaltyManager(defaults.midpoint_penalties(data), penalty_params)
    init = ls(Solution.make_random(data, rng), pm.max_cost_evaluator(), exhaustive=True)
    callbacks = Callbacks()
    callbacks.on_best(init)  # with large enough penalties, usually feasible already
    stop = _Stop(deadline, cancel, max_iterations)
    algo = IteratedLocalSearch(data, pm, ls, init, IteratedLocalSearchParams(callbacks=callbacks))
    result = algo.run(stop, collect_stats=False, display=False)
    best = result.best
    routes = []
    for route in best.routes():
        clients = tuple(a.idx for a in route if a.is_client())
        if clients:
            routes.append((route.vehicle_type(), clients))
    feasible = best.is_feasible()
    cost = None
    if feasible:
        cost = int(best.distance_cost() + best.fixed_vehicle_cost() + best.uncollected_prizes())
        if not first:
            first.append(time.monotonic() - t0)
            progress.append((first[0], cost))
    return PyvrpOutcome(
        routes=tuple(routes),
        feasible=feasible,
        cost=cost,
        first_solution_s=first[0] if first else None,
        iterations=result.num_iterations,
        progress=tuple(progress),
        cancelled=stop.cancelled,
        deadline_hit=stop.deadline_hit,
    )


def routes_of(model: PyvrpModel, outcome: PyvrpOutcome) -> dict[int, list[int]]:
    """PyVRP's routes as our vehicle index -> visit indices (empty when infeasible)."""
    routes: dict[int, list[int]] = {}
    if outcome.feasible:
        used = dict.fromkeys(range(len(model.type_vehicles)), 0)
        for vtype, clients in outcome.routes:
            vehicle = model.type_vehicles[vtype][used[vtype]]
            used[vtype] += 1
            routes[vehicle] = [model.client_visit[c] for c in clients]
    return routes


def plan_from_outcome(
    inst: Instance, model: PyvrpModel, outcome: PyvrpOutcome, params: SolveParams, t0: float
) -> Plan:
    """The plan for PyVRP's routes, built (exact timing, reasons, KPIs, objective) by the
    same code as the OR-Tools engine's plans."""
    from solver.solve import _timed, build_plan

    plan = build_plan(
        inst,
        _timed(inst, routes_of(model, outcome)),
        params,
        t0,
        cancelled=outcome.cancelled,
        first_solution_s=outcome.first_solution_s,
    )
    return dataclasses.replace(plan, engine="pyvrp", deadline_hit=outcome.deadline_hit)


def solve_pyvrp(problem: Problem, params: SolveParams | None = None) -> Plan:
    """Plans a representable problem with PyVRP alone, in this process (one core).
    Raises ``ValueError`` naming the rule when the problem is not representable."""

    from solver.model import SolveParams
    from solver.schedule import compile_problem

    params = params if params is not None else SolveParams()
    t0 = time.monotonic()
    inst = compile_problem(problem)
    reason = unsupported(inst)
    if reason is not None:
        raise ValueError(f"problem: not representable in PyVRP: {reason}")
    return plan_with_pyvrp(inst, params, t0=t0, deadline=t0 + params.time_limit_s)


def plan_with_pyvrp(inst: Instance, params: SolveParams, *, t0: float, deadline: float) -> Plan:
    model = build_model(inst)
    on_progress = params.on_progress

    def relay(elapsed: float, cost: int) -> None:
        if on_progress is not None:
            on_progress(elapsed, cost / model.scale)

    outcome = run_model(
        model,
        seed=params.seed,
        deadline=deadline,
        cancel=params.cancel,
        on_best=relay,
        t0=t0,
        max_iterations=pyvrp_iterations(len(model.client_visit), params.time_limit_s),
    )
    return plan_from_outcome(inst, model, outcome, params, t0)


# --------------------------------------------------------------------------- child process


def serve(stdin: Any, stdout: Any) -> None:
    """The child side of :mod:`solver.portfolio`: reads one pickled ``(model, seed,
    deadline, t0, max_iterations)`` from ``stdin``, searches, and writes pickled messages to ``stdout``:
    ``("best", elapsed, cost)`` per new best, then ``("done", PyvrpOutcome)`` or
    ``("error", text)``. Any later byte on ``stdin``, or its end, cancels the search (so
    the child never outlives a parent that went away)."""
    import pickle
    import threading
    import traceback

    model, seed, deadline, t0, max_iterations = pickle.load(stdin)
    cancel = threading.Event()

    def watch() -> None:
        try:
            stdin.read(1)
        finally:
            cancel.set()

    threading.Thread(target=watch, name="tecnico-pyvrp-cancel", daemon=True).start()

    def send(msg: tuple) -> None:
        pickle.dump(msg, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()

    try:
        outcome = run_model(
            model,
            seed=seed,
            deadline=deadline,
            max_iterations=max_iterations,
            cancel=cancel,
            on_best=lambda elapsed, cost: send(("best", elapsed, cost)),
            t0=t0,
        )
        send(("done", outcome))
    except Exception:
        send(("error", traceback.format_exc()))


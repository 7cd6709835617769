"""OR-Tools' local search over a few neighbouring routes at a time.

On a field-service day of hundreds of visits, OR-Tools' descent over the full model is
slow: every move is tried against every node of every route, and the breaks of split
shifts are propagated for each candidate (about 0.1 s per improving move at 550 nodes).
Its moves (relocate, exchange, cross, 2-opt, or-opt, make active, ...) are what shorten
the routes that ruin and recreate leaves, so this phase gives it small sub-problems
instead: a seed route and its ``size - 1`` nearest routes (by travel time between their
stops), with the visits they serve and the unassigned visits those vehicles could take
nearest to them. Each sub-problem is the same model restricted to these vehicles
(:func:`solver.routing.solve_routes` on a restricted :class:`~solver.schedule.Instance`),
searched by a greedy descent from the current routes to its local optimum or
``solution_limit``; the routes come back when the objective of the whole plan falls.

Deterministic: the seeds follow a shuffled order drawn from ``seed``, every descent ends
at a local optimum or its solution limit, and a sub-problem whose routes have not
changed since a descent over them ended at its local optimum is skipped. The wall-clock
``deadline`` is a safety net (``deadline_hit``).
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable

import numpy as np

from solver.model import LocalSearch, SolveParams
from solver.routing import solve_routes
from solver.schedule import Instance

SIZE = 8
"""Routes per sub-problem."""
SOLUTION_LIMIT = 200
"""Improving moves per sub-problem descent (most stop at a local optimum before)."""
UNASSIGNED_PER_ROUTE = 4
"""Unassigned visits offered per route of a sub-problem (the nearest ones)."""


@dataclasses.dataclass(slots=True)
class DecomposeResult:
    routes: dict[int, list[int]]
    subproblems: int
    """descents run (skipped sub-problems not counted)"""
    deadline_hit: bool


def _places(inst: Instance, v: int, seq: list[int]) -> list[int]:
    if seq:
        return [inst.visit_place[vi] for vi in seq]
    veh = inst.vehicles[v]
    return [veh.start_place, veh.end_place]


def neighbour_routes(
    inst: Instance, routes: dict[int, list[int]], seed: int, size: int
) -> list[int]:
    """``seed`` and the ``size - 1`` vehicles whose routes are nearest to it: the mean,
    over the seed's stops, of the travel time (both ways) to the other route's nearest
    stop; vehicles of another day count a day further."""
    dur = inst.durations
    mine = np.asarray(_places(inst, seed, routes.get(seed, [])), dtype=np.int64)
    day = inst.vehicles[seed].day
    scores: list[tuple[float, int]] = []
    for v in range(len(inst.vehicles)):
        if v == seed:
            continue
        theirs = np.asarray(_places(inst, v, routes.get(v, [])), dtype=np.int64)
        both = dur[np.ix_(mine, theirs)] + dur[np.ix_(theirs, mine)].T
        score = float(both.min(axis=1).mean()) + 86_400.0 * abs(inst.vehicles[v].day - day)
        scores.append((score, v))
    scores.sort()
    return sorted([seed] + [v for _s, v in scores[: size - 1]])


def _sub_instance(
    inst: Instance, routes: dict[int, list[int]], vehicles: list[int], unassigned: list[int]
) -> tuple[Instance, dict[int, list[int]]]:
    """The instance restricted to ``vehicles`` (renumbered 0..k-1), their visits and the
    unassigned visits among ``unassigned`` that one of them may serve; its initial
    routes."""
    local = {v: k for k, v in enumerate(vehicles)}
    reachable: list[list[int]] = [[] for _ in inst.visits]
    for v in vehicles:
        for vi in routes.get(v, []):
            reachable[vi] = [local[u] for u in inst.reachable[vi] if u in local]
    places = np.asarray(
        [p for v in vehicles for p in _places(inst, v, routes.get(v, []))], dtype=np.int64
    )
    offered = []
    for vi in unassigned:
        allowed = [local[u] for u in inst.reachable[vi] if u in local]
        if allowed:
            p = inst.visit_place[vi]
            near = float(np.min(inst.durations[p, places] + inst.durations[places, p]))
            offered.append((near, vi, allowed))
    offered.sort()
    for _near, vi, allowed in offered[: UNASSIGNED_PER_ROUTE * len(vehicles)]:
        reachable[vi] = allowed
    sub = dataclasses.replace(
        inst,
        vehicles=[dataclasses.replace(inst.vehicles[v], index=k) for k, v in enumerate(vehicles)],
        reachable=reachable,
    )
    return sub, {local[v]: list(routes[v]) for v in vehicles if routes.get(v)}


def _key(group: list[int], routes: dict[int, list[int]]) -> tuple:
    """A sub-problem as ``done`` knows it: its vehicles and their routes."""
    return tuple((v, tuple(routes.get(v, ()))) for v in group)


def decompose(
    inst: Instance,
    routes: dict[int, list[int]],
    *,
    objective: Callable[[dict[int, list[int]]], tuple[float, dict[int, list[int]]]],
    seed: int,
    subproblems: int,
    deadline: float,
    size: int = SIZE,
    solution_limit: int = SOLUTION_LIMIT,
    done: set[tuple] | None = None,
    on_improvement: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DecomposeResult:
    """Up to ``subproblems`` descents over ``size`` neighbouring routes, from ``routes``
    (vehicle -> visit indices, feasible). ``objective(routes)`` -> (objective of the
    whole plan, the routes as timed exactly): a sub-problem's routes are kept when it
    falls. ``done``: the sub-problems known to be at a local optimum (their vehicles and
    routes), kept up to date; pass the same set to successive calls."""
    n_vehicles = len(inst.vehicles)
    if n_vehicles == 0 or subproblems <= 0:
        return DecomposeResult(dict(routes), 0, False)
    size = min(size, n_vehicles)
    rng = random.Random(seed)
    best, current = objective(routes)
    routable = [vi for vi in range(len(inst.visits)) if inst.reachable[vi]]
    done = set() if done is None else done
    order: list[int] = []
    count = 0
    idle = 0  # seeds in a row whose sub-problem was skipped
    hit = False
    while count < subproblems and idle < n_vehicles:
        if should_stop is not None and should_stop():
            break
        if time.monotonic() >= deadline:
            hit = True
            break
        if not order:
            order = list(range(n_vehicles))
            rng.shuffle(order)
        v0 = order.pop()
        group = neighbour_routes(inst, current, v0, size)
        if _key(group, current) in done:
            idle += 1
            continue
        idle = 0
        served = {vi for seq in current.values() for vi in seq}
        sub, initial = _sub_instance(
            inst, current, group, [vi for vi in routable if vi not in served]
        )
        result = solve_routes(
            sub,
            SolveParams(
                time_limit_s=max(0.01, deadline - time.monotonic()),
                seed=seed,
                solution_limit=solution_limit,
            ),
            deadline=deadline,
            initial_routes=initial,
            metaheuristic=LocalSearch.GREEDY_DESCENT,
            lns_operators=False,
        )
        count += 1
        if result.timed_out:
            hit = True
        if result.found:
            candidate = {v: seq for v, seq in current.items() if v not in group}
            candidate.update({group[k]: seq for k, seq in result.routes.items()})
            value, candidate = objective(candidate)
            if value < best - 1e-9:
                best, current = value, candidate
                if on_improvement is not None:
                    on_improvement(best)
        if result.solutions < solution_limit:  # a local optimum: no need to come back
            done.add(_key(group, current))
        if hit:
            break
    return DecomposeResult(current, count, hit)

"""VROOM (pyvroom, the optional ``bench`` extra) on one of our problems, as a reference.

Only the benchmarks use it: they run VROOM on the very instance we solve, in the same
run, and print how we compare. The mapping keeps what VROOM models (shifts as vehicle
time windows, split-shift gaps and lunch breaks as breaks, skills, capacities, time
windows, priorities) and drops what it does not (soft costs: lateness, preferences,
stability). Travel is our own matrix, so the times and distances compare one to one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from solver.model import Problem
from solver.travel import problem_locations, provider_for

COST_SCALE = 100
"""VROOM's costs are integers: our cost units x 100 keeps a hundredth of a unit."""


def available() -> bool:
    try:
        import vroom  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class VroomResult:
    """``routes``: (technician id, day, visit ids in order) per non-empty route; travel
    recomputed on our matrix (seconds, metres in double precision)."""

    served: int
    unassigned: int
    travel_time: int
    travel_distance: float
    routes: int
    seconds: float
    sequences: tuple[tuple[str, int, tuple[str, ...]], ...]


def solve_vroom(
    problem: Problem,
    *,
    exploration_level: int = 5,
    threads: int = 1,
    timeout_s: float | None = None,
) -> VroomResult:
    """VROOM on ``problem``; ``timeout_s`` stops its search (the best plan so far)."""
    import datetime

    import vroom

    started = time.perf_counter()
    locations = problem_locations(problem)
    index = {loc: i for i, loc in enumerate(locations)}
    matrix = provider_for(problem).matrix(locations)
    durations = matrix.durations
    distances = (
        matrix.distances if matrix.distances is not None else np.zeros(durations.shape)
    )
    w = problem.weights
    per_minute = problem.technicians[0].travel_cost_per_minute if problem.technicians else 1
    costs = np.rint(
        COST_SCALE * (durations * (per_minute / 60.0) + distances * (w.distance_per_km / 1000.0))
    ).astype(np.int64)
    if costs.max(initial=0) >= 2**32:
        raise ValueError("vroom: costs overflow VROOM's 32-bit matrix")

    skill_ids = {s: k for k, s in enumerate(sorted(
        {s for t in problem.technicians for s in t.skills}
        | {s for v in problem.visits for s in v.skills}
    ))}
    with_capacity = any(t.capacity is not None for t in problem.technicians) or any(
        v.demand for v in problem.visits
    )
    total_demand = sum(v.demand for v in problem.visits)

    vin = vroom.Input()
    vin.set_durations_matrix("car", durations)
    vin.set_costs_matrix("car", costs)
    vehicles: list[tuple[str, int]] = []
    for t in problem.technicians:
        for shift in t.shifts:
            start, begin = t.start, shift.start
            if t.current is not None and t.current.day == shift.day:
                start, begin = t.current.location, max(begin, t.current.available_from)
            end = t.end if t.end is not None else t.start
            breaks = [
                vroom.Break(
                    id=len(vehicles) * 100 + k,
                    time_windows=[vroom.TimeWindow(b.earliest_start, b.latest_start)],
                    service=b.duration,
                )
                for k, b in enumerate(shift.all_breaks())
            ]
            kwargs = {}
            if with_capacity:
                cap = t.capacity if t.capacity is not None else total_demand
                kwargs["capacity"] = [cap]
            vin.add_vehicle(
                vroom.Vehicle(
                    id=len(vehicles),
                    start=index[start],
                    end=index[end],
                    time_window=vroom.TimeWindow(begin, shift.latest_end),
                    skills={skill_ids[s] for s in t.skills},
                    breaks=breaks,
                    **kwargs,
                )
            )
            vehicles.append((t.id, shift.day))
    for j, v in enumerate(problem.visits):
        windows = v.start_windows()
        if not windows:
            continue
        kwargs = {"delivery": [v.demand]} if with_capacity else {}
        vin.add_job(
            vroom.Job(
                id=j,
                location=index[v.location],
                default_service=v.duration,
                skills={skill_ids[s] for s in v.skills},
                priority=min(100, 10 * v.priority),
                time_windows=[vroom.TimeWindow(tw.start, tw.end) for tw in windows],
                **kwargs,
            )
        )
    timeout = None if timeout_s is None else datetime.timedelta(seconds=timeout_s)
    solution = vin.solve(
        exploration_level=exploration_level, nb_threads=threads, timeout=timeout
    ).to_dict()
    seconds = time.perf_counter() - started

    sequences = []
    travel_time = 0
    travel_distance = 0.0
    served = 0
    for route in solution.get("routes", []):
        tech_id, day = vehicles[route["vehicle"]]
        path = [s["location_index"] for s in route["steps"] if "location_index" in s]
        visits = tuple(problem.visits[s["id"]].id for s in route["steps"] if s["type"] == "job")
        if not visits:
            continue
        served += len(visits)
        legs = list(zip(path, path[1:], strict=False))
        travel_time += int(sum(durations[a, b] for a, b in legs))
        travel_distance += float(sum(distances[a, b] for a, b in legs))
        sequences.append((tech_id, day, visits))
    return VroomResult(
        served=served,
        unassigned=len(problem.visits) - served,
        travel_time=travel_time,
        travel_distance=travel_distance,
        routes=len(sequences),
        seconds=seconds,
        sequences=tuple(sequences),
    )

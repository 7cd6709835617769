"""Small hand-built problems for the engine tests.

Places sit on a line and travel is given as a matrix: place ``i`` to place ``j`` takes
``|x_i - x_j|`` minutes and ``|x_i - x_j|`` kilometres, so every expected time in a test
can be worked out by hand. Every plan the tests get through :func:`run` has passed the
independent validator (``solver.validate``) and its unassigned reasons have been
re-checked by it.
"""

from __future__ import annotations

from collections.abc import Sequence

from solver.model import (
    DAY,
    Break,
    Location,
    Problem,
    Shift,
    SolveParams,
    Technician,
    TimeWindow,
    TravelMatrix,
    Visit,
)
from solver.plan import Plan
from solver.solve import solve
from solver.validate import check_reasons, validate

H = 3600
M = 60


def hm(hours: int, minutes: int = 0, day: int = 0) -> int:
    """Seconds from the start of the horizon for ``day`` at ``hours:minutes``."""
    return day * DAY + hours * H + minutes * M


def line(positions_min: Sequence[int]) -> TravelMatrix:
    """Travel between points on a line, positions in minutes (and kilometres)."""
    dur = [[abs(a - b) * M for b in positions_min] for a in positions_min]
    dist = [[abs(a - b) * 1000.0 for b in positions_min] for a in positions_min]
    return TravelMatrix(dur, dist)


def at(index: int) -> Location:
    return Location(index=index)


def day_shift(day: int = 0, start: int = 8, end: int = 17, **kw) -> Shift:
    return Shift(day, (TimeWindow(hm(start, day=day), hm(end, day=day)),), **kw)


def split_shift(day: int = 0, **kw) -> Shift:
    """08:00-12:00 and 13:30-17:30: lunch is the gap."""
    return Shift(
        day,
        (TimeWindow(hm(8, day=day), hm(12, day=day)), TimeWindow(hm(13, 30, day), hm(17, 30, day))),
        **kw,
    )


def lunch_shift(day: int = 0) -> Shift:
    """08:00-17:00 with 60 minutes of lunch starting between 12:00 and 13:00."""
    return Shift(
        day,
        (TimeWindow(hm(8, day=day), hm(17, day=day)),),
        breaks=(Break(hm(12, day=day), hm(13, day=day), H),),
    )


def tech(tid: str, place: int = 0, shifts: Sequence[Shift] | None = None, **kw) -> Technician:
    return Technician(tid, at(place), tuple(shifts or (day_shift(),)), **kw)


def visit(vid: str, place: int, minutes: int = 60, windows=None, **kw) -> Visit:
    if windows is None:
        windows = (TimeWindow(hm(8), hm(17)),)
    return Visit(vid, at(place), minutes * M, tuple(windows), **kw)


def window(h1: int, m1: int, h2: int, m2: int, day: int = 0) -> TimeWindow:
    return TimeWindow(hm(h1, m1, day), hm(h2, m2, day))


def problem(positions, technicians, visits, **kw) -> Problem:
    return Problem(tuple(technicians), tuple(visits), matrix=line(positions), **kw)


def params(**kw) -> SolveParams:
    """Deterministic and short: a fixed number of ruin-and-recreate steps."""
    kw.setdefault("time_limit_s", 5.0)
    kw.setdefault("iterations", 60)
    kw.setdefault("solution_limit", 20)
    return SolveParams(**kw)


def run(prob: Problem, **kw) -> Plan:
    plan = solve(prob, params(**kw))
    assert validate(prob, plan) == []
    assert check_reasons(prob, plan) == []
    return plan


def stops(plan: Plan, technician_id: str, day: int = 0) -> list[str]:
    route = plan.route_of(technician_id, day)
    return [] if route is None else [s.visit_id for s in route.stops]


def without_clock(plan: Plan) -> dict:
    """The plan as JSON without what depends on the clock (to compare two solves)."""
    d = plan.to_dict()
    for key in ("elapsed", "first_solution_s"):
        d.pop(key)
    return d

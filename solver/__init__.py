"""Tecnico's scheduling solver: technicians, skills, shifts and time windows in;
routes per technician and day, and reasons for what stayed unassigned, out.

The whole entry point is ``solve(problem, params) -> Plan`` (:mod:`solver.model` for
the problem, :mod:`solver.plan` for the answer, :func:`solver.validate.validate` to
check a plan independently). Nothing here knows about the database or the web.

The objective (:class:`solver.model.Weights`), in cost units; one cost unit is one
minute of travel at the default rate:

- ``unassigned`` 100 000 per visit left out, times ``priority_factor`` (3) per priority
  level (0..10): a priority-p visit outweighs three of priority p-1, and any visit
  outweighs days of travel or lateness; pinned visits cost ``pinned`` (10x the top
  priority) so they stay unless impossible;
- ``deadline_per_minute`` 10 past an SLA deadline, ``lateness_per_minute`` 5 (or the
  visit's own rate) past its soft window: lateness is preferred to dropping a visit;
- overtime at the shift's ``overtime_cost_per_minute`` (3);
- travel at the technician's ``travel_cost_per_minute`` (1), plus ``distance_per_km``
  (0) per kilometre;
- ``not_preferred`` 30 per visit served outside its preferred technicians;
- ``moved`` 60 per visit not on its technician and day of ``Problem.previous``
  (stability when re-planning);
- ``balance_per_minute`` (0: off) on the longest working time of any technician-day;
- ``route_fixed`` (0) per technician-day used.

Engine: a fast construction, ruin and recreate, then OR-Tools' local search over the full
model (:mod:`solver.routing`); every route is timed exactly in Python
(:mod:`solver.schedule`) and every visit left out gets a reason (:mod:`solver.explain`).
"""

from solver.model import (
    DAY,
    MAX_PRIORITY,
    Break,
    CurrentPosition,
    FirstSolution,
    LocalSearch,
    Location,
    Pin,
    PreviousAssignment,
    Problem,
    Shift,
    SolveParams,
    Technician,
    TimeWindow,
    TravelMatrix,
    TravelSettings,
    Visit,
    Weights,
)
from solver.plan import (
    BreakTaken,
    KPIs,
    Plan,
    PlanStatus,
    Reason,
    Route,
    Stop,
    Unassigned,
)
from solver.solve import solve

__all__ = [
    "DAY",
    "MAX_PRIORITY",
    "Break",
    "BreakTaken",
    "CurrentPosition",
    "FirstSolution",
    "KPIs",
    "LocalSearch",
    "Location",
    "Pin",
    "Plan",
    "PlanStatus",
    "PreviousAssignment",
    "Problem",
    "Reason",
    "Route",
    "Shift",
    "SolveParams",
    "Stop",
    "Technician",
    "TimeWindow",
    "TravelMatrix",
    "TravelSettings",
    "Unassigned",
    "Visit",
    "Weights",
    "solve",
]

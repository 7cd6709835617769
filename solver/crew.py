"""Crew visits: ``crew_size`` technicians at one place, starting service together.

:func:`solver.schedule.compile_problem` turns a crew visit into ``crew_size`` member
visits (the visit itself and copies, ``Instance.crews``) that every engine routes like
ordinary visits. What makes them a crew:

- One start time (:func:`synchronise`, part of the compilation, before any search): the
  pinned visits are inserted as the construction inserts them, then each crew, most
  important first, gets the start time (of :func:`solver.model.crew_start_times`) at
  which the cheapest insertions of its members, on routes of different technicians with
  service starting exactly then, cost least (the earliest among equals). Every member's
  start windows become that one instant, so members always start together: never on one
  route, always on one day, on whatever routes the search moves them to. A crew for
  which no time has enough technicians is never routed (its members are not reachable).
  Ruin and recreate and the final insertion pass may give a crew that has no room at its
  time another one while it is out of every route (:func:`insert_at_any_start`).
- Both or none: the construction, ruin and recreate and the final insertion pass insert
  and take out crews whole (``Constructor.insert_crew``); what other engines return
  (OR-Tools may drop one member) goes through :func:`whole_crews` before a plan is valued
  or built, so a member never stands alone in a plan.

The objective stays exact: a crew's unassigned penalty counts once, and whether it moved
from its previous technician (:func:`crews_moved`) is decided over all its routes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from solver.construct import MAX_TRIES, Constructor
from solver.model import crew_start_times
from solver.schedule import Instance, fitting

PAIR_TRIES = 4 * MAX_TRIES
"""Exact checks per start time when looking for the crew's cheapest insertions."""


def synchronise(inst: Instance) -> None:
    """Fixes the start time of every crew (``inst.start_windows`` of its members) or,
    when none works, makes its members unreachable (``inst.reachable``); in place, on an
    instance being compiled."""
    cons = Constructor(inst)
    left: list[tuple[int, ...]] = []
    for vi in cons.order():
        crew = inst.crew_of.get(vi)
        if crew is None:
            if inst.visits[vi].pin is None:
                break  # the rest come after every crew in the construction's order
            cons.try_insert(vi)
        elif vi == crew[0]:
            if _choose_start(cons, crew):
                cons.insert_crew(crew)  # as the construction will
            else:
                left.append(crew)
    if left and cons.allow_overtime():
        left = [crew for crew in left if not (_choose_start(cons, crew) and cons.insert_crew(crew))]
    for crew in left:
        for m in crew:
            inst.reachable[m] = []


def insert_at_any_start(
    cons: Constructor, crew: tuple[int, ...], tries: int = MAX_TRIES, penalty: float | None = None
) -> list[int] | None:
    """Inserts a crew that is out (like ``Constructor.insert_crew``), first at its start
    time, else at the start time where it now costs least (its members' start windows
    change then: no route holds them, so nothing else depends on them). Returns the
    vehicles."""
    inst = cons.inst
    vehicles = cons.insert_crew(crew, tries, penalty=penalty)
    if vehicles is not None:
        return vehicles
    before = inst.start_windows[crew[0]]
    if _choose_start(cons, crew):
        vehicles = cons.insert_crew(crew, tries, penalty=penalty)
        if vehicles is not None:
            return vehicles
    for m in crew:  # no route holds a member: nothing else depends on the windows
        inst.start_windows[m] = before
    return None


def _choose_start(cons: Constructor, crew: tuple[int, ...]) -> bool:
    """Sets the start windows of the members (out of every route of ``cons``) to the
    start time at which inserting them costs least; False (windows unchanged) when no
    start time has room for the crew."""
    inst = cons.inst
    lead = crew[0]
    windows = inst.start_windows[lead]
    reach = inst.reachable[lead]
    if len({inst.vehicles[v].technician.id for v in reach}) < len(crew):
        return False
    first = min(inst.vehicles[v].earliest for v in reach)
    last = max(inst.vehicles[v].latest_end for v in reach)
    best: tuple[float, int] | None = None
    for t in crew_start_times(member_windows(inst, lead)):
        if not first <= t <= last:
            continue
        for m in crew:
            inst.start_windows[m] = ((t, t),)
        cost = _cheapest_apart(cons, lead, len(crew))
        if cost is not None and (best is None or cost < best[0] - 1e-9):
            best = (cost, t)
    for m in crew:
        inst.start_windows[m] = windows if best is None else ((best[1], best[1]),)
    return best is not None


def _cheapest_apart(cons: Constructor, vi: int, k: int) -> float | None:
    """The estimated cost of inserting ``vi`` on the routes of ``k`` different
    technicians, each the cheapest exactly feasible for its technician; None when fewer
    than ``k`` technicians can take it."""
    inst = cons.inst
    cands = cons.candidates(vi)
    if cands is None:
        return None
    techs: set[str] = set()
    total = 0.0
    for j in range(min(PAIR_TRIES, len(cands.costs))):
        v, pos = int(cands.vehicles[j]), int(cands.positions[j])
        veh = inst.vehicles[v]
        if veh.technician.id in techs or cons.fits(vi, v, pos) is None:
            continue
        techs.add(veh.technician.id)
        total += float(cands.costs[j])
        if len(techs) == k:
            return total
    return None


def orphans(inst: Instance, routes: Mapping[int, Sequence[int]]) -> set[int]:
    """The served members of crews that are not served whole (a member out, or two
    members with one technician)."""
    if not inst.crews:
        return set()
    where = _where(inst, routes)
    out: set[int] = set()
    for crew in inst.crews:
        on = [where[m] for m in crew if m in where]
        if on and len({inst.vehicles[v].technician.id for v in on}) < len(crew):
            out.update(m for m in crew if m in where)
    return out


def whole_crews(inst: Instance, routes: dict[int, list[int]]) -> dict[int, list[int]]:
    """``routes`` without the members of crews not served whole (``routes`` itself when
    nothing changes). Routes that do not fit the crews' start times as they are now (ruin
    and recreate and the final insertion pass move crews in time, and a plan kept from
    before may hold one at its old time), or that a removal leaves infeasible (travel
    times breaking the triangle inequality), keep the stops that fit, which may break
    more crews."""
    if not inst.crews:
        return routes
    out = dict(routes)
    for v, seq in routes.items():
        if any(vi in inst.crew_of for vi in seq):
            out[v] = fitting(inst, inst.vehicles[v], seq)
    gone = orphans(inst, out)
    while gone:
        for v, seq in out.items():
            if gone.intersection(seq):
                out[v] = fitting(inst, inst.vehicles[v], [vi for vi in seq if vi not in gone])
        gone = orphans(inst, out)
    if out == routes:
        return routes
    return {v: seq for v, seq in out.items() if seq}


def crews_moved(inst: Instance, routes: Mapping[int, Sequence[int]]) -> int:
    """Served crews whose previous technician (``Problem.previous``) is not in the crew
    on the previous day: the ``moved`` count :func:`solver.schedule.route_cost` leaves
    to the whole plan."""
    if not inst.crews or not inst.previous:
        return 0
    where = _where(inst, routes)
    moved = 0
    for crew in inst.crews:
        prev = inst.previous.get(inst.visits[crew[0]].id)
        if prev is None or crew[0] not in where:
            continue
        days = {
            (inst.vehicles[where[m]].technician.id, inst.vehicles[where[m]].day)
            for m in crew
            if m in where
        }
        moved += prev not in days
    return moved


def _where(inst: Instance, routes: Mapping[int, Sequence[int]]) -> dict[int, int]:
    """Served crew member -> its vehicle."""
    return {vi: v for v, seq in routes.items() for vi in seq if vi in inst.crew_of}


def member_windows(inst: Instance, vi: int) -> tuple[tuple[int, int], ...]:
    """The start windows of the visit of member ``vi`` before its crew got its time."""
    return tuple((w.start, w.end) for w in inst.visits[vi].start_windows())


__all__ = [
    "crews_moved",
    "insert_at_any_start",
    "member_windows",
    "orphans",
    "synchronise",
    "whole_crews",
]

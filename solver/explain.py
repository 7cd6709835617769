"""Why a visit stayed unassigned: a reason that holds for the final plan.

Checked in order, the first that applies wins:

1. ``NO_SKILLED_TECHNICIAN``: nobody has all the required skills.
2. ``NO_ELIGIBLE_TECHNICIAN``: the skilled ones are excluded, outside its zone, short of
   capacity or not the pinned technician.
3. ``NO_SHIFT_MATCHES_WINDOWS``: no eligible technician-day (allowed days, pinned
   day/start, current positions) can serve it even with nothing else planned.
4. It fits somewhere in the plan as it stands: ``NOT_WORTH_IT`` when the cheapest such
   insertion costs at least its unassigned penalty, ``SEARCH_LIMIT`` otherwise.
5. ``LOST_TO_HIGHER_PRIORITY``: it fits a route once some strictly higher-priority visits
   (``blocked_by``) are taken out.
6. ``DOES_NOT_FIT_IN_TIME``: with the closest miss (technician, minutes).

A crew visit (``crew_size`` technicians at once, :mod:`solver.crew`) gets the same
reasons counted in technicians: fewer than ``crew_size`` have the skills (1), or may
serve it (2); at none of its start times (:func:`solver.model.crew_start_times`) can
``crew_size`` of them serve it, even on otherwise empty days (3); at some start time
``crew_size`` routes of the plan have room for it together (4); else (6), without a
closest miss. Every start time is checked.

Every insertion is checked with the exact timing of :func:`solver.schedule.schedule`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from solver.construct import Constructor
from solver.crew import member_windows
from solver.model import DAY, crew_start_times
from solver.plan import Reason, Unassigned
from solver.schedule import Instance, Vehicle, route_cost, schedule

LOST_VEHICLES = 4
"""Technician-days searched for higher-priority work to take out (closest first)."""
LOST_REMOVALS = 4
"""Higher-priority visits tried one at a time per technician-day (nearest in time first)."""
MISS_VEHICLES = 3
"""Technician-days on which the closest miss is measured exactly."""


def _day_label(veh: Vehicle) -> str:
    return f"{veh.technician.id} (day {veh.day})"


def _fits(inst: Instance, veh: Vehicle, seq: Sequence[int], vi: int) -> bool:
    return any(
        schedule(inst, veh, [*seq[:pos], vi, *seq[pos:]]) is not None
        for pos in range(len(seq) + 1)
    )


def _closest_miss(inst: Instance, veh: Vehicle, seq: Sequence[int], vi: int) -> int | None:
    """Fewest seconds by which the visit misses this route (relaxed timing)."""
    best = None
    for pos in range(len(seq) + 1):
        t = schedule(inst, veh, [*seq[:pos], vi, *seq[pos:]], relaxed=True)
        if t is not None and (best is None or t.violation < best):
            best = t.violation
    return best


def explain(
    inst: Instance,
    routes: dict[int, list[int]],
    unassigned: Sequence[int],
) -> list[Unassigned]:
    """Reasons for ``unassigned`` (indices into ``inst.visits``) given the final
    ``routes`` (vehicle index -> visit indices)."""
    techs = inst.problem.technicians
    weights = inst.problem.weights
    base_cost: dict[int, float] = {}
    probe = Constructor(inst, routes, overtime=True) if unassigned else None
    crews = _CrewProbe(inst, routes) if any(vi in inst.crew_of for vi in unassigned) else None
    out: list[Unassigned] = []
    for vi in unassigned:
        visit = inst.visits[vi]
        vid = visit.id
        if crews is not None and vi in inst.crew_of:
            out.append(crews.explain(vi))
            continue
        if not inst.skilled[vi]:
            have = set().union(*(t.skills for t in techs)) if techs else set()
            missing = sorted(visit.skills - have)
            if not techs:
                detail = "there are no technicians"
            elif missing:
                detail = f"nobody has {', '.join(missing)}"
            else:
                detail = f"nobody has all of {', '.join(sorted(visit.skills))} together"
            out.append(
                Unassigned(vid, Reason.NO_SKILLED_TECHNICIAN, f"No technician has the skills: {detail}.")
            )
            continue
        skilled_ids = [techs[ti].id for ti in inst.skilled[vi]]
        eligible_techs = {inst.vehicles[v].technician.id for v in inst.eligible[vi]}
        any_shift = {
            t.id for t in techs if t.id in skilled_ids and _statically_eligible(inst, vi, t)
        }
        if not any_shift:
            out.append(
                Unassigned(
                    vid,
                    Reason.NO_ELIGIBLE_TECHNICIAN,
                    f"The technicians with the skills ({', '.join(skilled_ids)}) are excluded, "
                    "work outside its zone, have too little capacity or are not the pinned one.",
                )
            )
            continue
        # technician-days that could serve it alone
        alone = [
            inst.vehicles[v]
            for v in inst.reachable[vi]
            if schedule(inst, inst.vehicles[v], [vi]) is not None
        ]
        assert probe is not None
        if not alone:
            days = "no shift on an allowed or pinned day" if not eligible_techs else (
                "no working time of theirs meets its time windows"
            )
            out.append(
                Unassigned(
                    vid,
                    Reason.NO_SHIFT_MATCHES_WINDOWS,
                    f"No shift of a suitable technician ({', '.join(sorted(any_shift))}) can serve "
                    f"it, even on an otherwise empty day: {days} "
                    "(allowed days, pinned day/time, breaks and travel included).",
                )
            )
            continue

        # does it fit in the plan as it stands? (every candidate passing the necessary
        # condition is checked exactly, so "no" is a proof)
        penalty = weights.unassigned_penalty(visit)
        cands = probe.candidates(vi)
        cheapest: tuple[float, Vehicle] | None = None
        if cands is not None:
            for k in range(len(cands.costs)):
                v, pos = int(cands.vehicles[k]), int(cands.positions[k])
                veh = inst.vehicles[v]
                seq = routes.get(v, [])
                cand = seq[:pos] + [vi] + seq[pos:]
                timing = schedule(inst, veh, cand)
                if timing is None:
                    continue
                if v not in base_cost:
                    base_cost[v] = _cost(inst, veh, seq, probe.timing[v]) if seq else 0.0
                delta = _cost(inst, veh, cand, timing) - base_cost[v]
                if cheapest is None or delta < cheapest[0]:
                    cheapest = (delta, veh)
                if delta < penalty:
                    break  # worth it: enough to know the search stopped short
        if cheapest is not None:
            delta, veh = cheapest
            if delta >= penalty:
                out.append(
                    Unassigned(
                        vid,
                        Reason.NOT_WORTH_IT,
                        f"It fits on {_day_label(veh)}'s route, but serving it would cost "
                        f"{delta:.0f} against {penalty} for leaving it out: raise its priority.",
                        technician_id=veh.technician.id,
                    )
                )
            else:
                out.append(
                    Unassigned(
                        vid,
                        Reason.SEARCH_LIMIT,
                        f"It fits on {_day_label(veh)}'s route; the search stopped before "
                        "placing it: give it more time.",
                        technician_id=veh.technician.id,
                    )
                )
            continue

        # closest technician-days by the estimated miss
        assert cands is not None
        est = cands.miss.min(axis=1)
        closest = [int(cands.reach[i]) for i in np.argsort(est, kind="stable")]
        closest = [v for v in closest if inst.vehicles[v] in alone]

        # would it fit without some higher-priority work?
        blocked = _blocked_by(inst, routes, closest[:LOST_VEHICLES], vi)
        if blocked is not None:
            veh, ids = blocked
            out.append(
                Unassigned(
                    vid,
                    Reason.LOST_TO_HIGHER_PRIORITY,
                    f"It would fit on {_day_label(veh)}'s route in place of higher-priority "
                    f"work ({', '.join(ids)}).",
                    technician_id=veh.technician.id,
                    blocked_by=tuple(ids),
                )
            )
            continue

        best: tuple[int, Vehicle] | None = None
        for v in closest[:MISS_VEHICLES]:
            veh = inst.vehicles[v]
            miss = _closest_miss(inst, veh, routes.get(v, []), vi)
            if miss is not None and (best is None or miss < best[0]):
                best = (miss, veh)
        if best is None:
            out.append(
                Unassigned(
                    vid,
                    Reason.DOES_NOT_FIT_IN_TIME,
                    "It fits in no route: the suitable technicians have no capacity left.",
                )
            )
            continue
        minutes = max(1, math.ceil(best[0] / 60))
        veh = best[1]
        out.append(
            Unassigned(
                vid,
                Reason.DOES_NOT_FIT_IN_TIME,
                f"It fits in no route in time: the closest is {_day_label(veh)}, "
                f"{minutes} minute{'s' if minutes != 1 else ''} short.",
                technician_id=veh.technician.id,
                minutes_missed=minutes,
            )
        )
    return out


def _clock(t: int) -> str:
    minutes = t % DAY // 60
    return f"{minutes // 60:02d}:{minutes % 60:02d} on day {t // DAY}"


def _names(ids: Sequence[str]) -> str:
    return ", ".join(ids) if ids else "none"


class _CrewProbe:
    """Explains unassigned crew visits: tries every start time of the crew on the routes
    of ``routes`` and on empty routes (a copy of the instance, with the member's windows
    narrowed to one start time at a time)."""

    def __init__(self, inst: Instance, routes: dict[int, list[int]]) -> None:
        self.inst = inst
        self.routes = routes
        self.work = dataclasses.replace(
            inst, start_windows=list(inst.start_windows), reachable=list(inst.reachable)
        )
        for crew in inst.crews:
            for m in crew:
                self.work.reachable[m] = inst.eligible[m]
        self.probe = Constructor(self.work, routes, overtime=True)
        self.base: dict[int, float] = {}

    def explain(self, vi: int) -> Unassigned:
        inst = self.inst
        visit = inst.visits[vi]
        k = visit.crew_size
        techs = inst.problem.technicians
        skilled = [techs[ti] for ti in inst.skilled[vi]]
        need = f"It needs {k} technicians at the same time"
        if len(skilled) < k:
            missing = sorted(visit.skills - set().union(*(t.skills for t in techs)))
            if not techs:
                detail = "there are no technicians"
            elif missing:
                detail = f"nobody has {', '.join(missing)}"
            elif not skilled:
                detail = f"nobody has all of {', '.join(sorted(visit.skills))} together"
            else:
                detail = f"only {skilled[0].id} has all of {', '.join(sorted(visit.skills))}"
            return Unassigned(
                visit.id, Reason.NO_SKILLED_TECHNICIAN, f"{need} with the skills: {detail}."
            )
        eligible = [t.id for t in skilled if _statically_eligible(inst, vi, t)]
        if len(eligible) < k:
            return Unassigned(
                visit.id,
                Reason.NO_ELIGIBLE_TECHNICIAN,
                f"{need}; of those with the skills ({', '.join(t.id for t in skilled)}) "
                f"only {_names(eligible)} may serve it: the others are excluded, work outside "
                "its zone, have too little capacity or are not the pinned one.",
            )

        free_ever: set[str] = set()
        together = False  # at some start time, k technicians could serve it on empty days
        best: tuple[float, int, list[Vehicle]] | None = None
        windows = self.work.start_windows
        for t in crew_start_times(member_windows(inst, vi)):
            windows[vi] = ((t, t),)
            vehicles = [
                inst.vehicles[v]
                for v in inst.eligible[vi]
                if inst.vehicles[v].earliest <= t <= inst.vehicles[v].latest_end
            ]
            free = {veh.technician.id for veh in vehicles if schedule(self.work, veh, [vi])}
            free_ever |= free
            if len(free) < k:
                continue
            together = True
            found = self._together(vi, k)
            if found is not None and (best is None or found[0] < best[0] - 1e-9):
                best = (found[0], t, found[1])
        windows[vi] = inst.start_windows[vi]
        if best is not None:
            cost, t, crew = best
            names = " and ".join(veh.technician.id for veh in crew)
            penalty = inst.problem.weights.unassigned_penalty(visit)
            if cost >= penalty:
                return Unassigned(
                    visit.id,
                    Reason.NOT_WORTH_IT,
                    f"{names} can serve it together at {_clock(t)}, but that would cost "
                    f"{cost:.0f} against {penalty} for leaving it out: raise its priority.",
                    technician_id=crew[0].technician.id,
                )
            return Unassigned(
                visit.id,
                Reason.SEARCH_LIMIT,
                f"{names} have room for it together at {_clock(t)}; the search stopped "
                "before placing it: give it more time.",
                technician_id=crew[0].technician.id,
            )
        starts = "its start times (window starts and every quarter hour)"
        if not together:
            if not inst.eligible[vi]:
                detail = "none has a shift on an allowed or pinned day"
            elif len(free_ever) < k:
                detail = f"only {_names(sorted(free_ever))} can serve it at all"
            else:
                detail = f"no {k} of {', '.join(sorted(free_ever))} are free together at any of {starts}"
            return Unassigned(
                visit.id,
                Reason.NO_SHIFT_MATCHES_WINDOWS,
                f"{need}, and even on otherwise empty days {detail} (time windows, allowed "
                "days, pinned day/time, breaks and travel included).",
            )
        return Unassigned(
            visit.id,
            Reason.DOES_NOT_FIT_IN_TIME,
            f"{need}: {', '.join(sorted(free_ever))} could serve it together on otherwise "
            f"empty days, but at none of {starts} do {k} of their routes in this plan have "
            "room for it at once.",
        )

    def _together(self, vi: int, k: int) -> tuple[float, list[Vehicle]] | None:
        """The exact cost of inserting ``vi`` (windows narrowed to one start time) on
        ``k`` routes of different technicians, the cheapest confirmed route per
        technician in the estimated order; None when fewer than ``k`` can take it
        (every candidate is checked, so that is a proof)."""
        inst, work = self.inst, self.work
        cands = self.probe.candidates(vi)
        if cands is None:
            return None
        chosen: dict[str, tuple[float, Vehicle]] = {}
        for j in range(len(cands.costs)):
            v, pos = int(cands.vehicles[j]), int(cands.positions[j])
            veh = inst.vehicles[v]
            if veh.technician.id in chosen:
                continue
            seq = self.routes.get(v, [])
            cand = seq[:pos] + [vi] + seq[pos:]
            timing = schedule(work, veh, cand)
            if timing is None:
                continue
            if v not in self.base:
                self.base[v] = _cost(inst, veh, seq, self.probe.timing[v]) if seq else 0.0
            chosen[veh.technician.id] = (_cost(work, veh, cand, timing) - self.base[v], veh)
            if len(chosen) == k:
                picked = list(chosen.values())
                return sum(c for c, _v in picked), [veh for _c, veh in picked]
        return None


def _cost(inst: Instance, veh: Vehicle, seq: Sequence[int], timing) -> float:
    return route_cost(inst, veh, seq, timing).total


def _statically_eligible(inst: Instance, vi: int, tech) -> bool:
    visit = inst.visits[vi]
    if tech.id in visit.excluded_technicians:
        return False
    if visit.zone is not None and tech.zones and visit.zone not in tech.zones:
        return False
    if tech.capacity is not None and visit.demand > tech.capacity:
        return False
    return not (visit.pin is not None and visit.pin.technician_id not in (None, tech.id))


def _blocked_by(
    inst: Instance, routes: dict[int, list[int]], vehicles: list[int], vi: int
) -> tuple[Vehicle, list[str]] | None:
    """A technician-day whose route takes ``vi`` once some strictly higher-priority
    visits are out: one visit if that is enough (nearest in time to ``vi``'s windows
    first), else all of them."""
    prio = inst.visits[vi].priority
    windows = inst.start_windows[vi]
    centre = (windows[0][0] + windows[-1][1]) / 2
    for v in vehicles:
        veh = inst.vehicles[v]
        seq = routes.get(v, [])
        higher = [x for x in seq if inst.visits[x].priority > prio]
        if not higher:
            continue
        timing = schedule(inst, veh, seq)
        assert timing is not None
        when = dict(zip(seq, timing.starts, strict=True))
        higher.sort(key=lambda x: abs(when[x] - centre))
        for h in higher[:LOST_REMOVALS]:
            at = seq.index(h)
            rest = seq[:at] + seq[at + 1 :]
            for pos in (at, at - 1, at + 1):
                if 0 <= pos <= len(rest) and schedule(inst, veh, rest[:pos] + [vi] + rest[pos:]):
                    return veh, [inst.visits[h].id]
        if len(higher) > 1:
            rest = [x for x in seq if inst.visits[x].priority <= prio]
            if _fits(inst, veh, rest, vi):
                return veh, [inst.visits[h].id for h in sorted(higher, key=seq.index)]
    return None

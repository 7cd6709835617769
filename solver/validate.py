"""An independent check of a plan against its problem.

Written without the engine's code (nothing from ``routing``, ``solve`` or ``explain`` is
imported): it reads only the problem and plan dataclasses and the problem's travel
matrix, replays every route from the rules stated in :mod:`solver.model` and
:mod:`solver.plan`, and reports what does not hold as :class:`Violation` records.

- :func:`validate` recomputes every arrival, start, end, waiting, travel time and
  distance, and checks skills, exclusions, zones, days, hard and soft windows, shifts
  (split shifts included), breaks, working time and overtime, pins, capacity, crews,
  that every visit is accounted for exactly once, and that the reported totals, KPIs and
  objective equal the recomputed ones.
- :func:`check_reasons` checks that the reason given for each unassigned visit holds,
  with its own feasibility search (exact for the small routes of a field-service day).

How the replay reads a route (see :mod:`solver.plan`): the technician leaves the start
location at ``start_time`` and always leaves a stop as soon as its service ends; travel
is interrupted only by the breaks the plan lists, so the arrival is the departure plus
the travel time plus the listed breaks that start while on the way. Waiting is what is
left between arrival and start once the breaks taken there are deducted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from solver.model import Location, Pin, Problem, Shift, Technician, Visit, crew_start_times
from solver.plan import BreakTaken, Plan, PlanStatus, Reason, Route, Stop, Unassigned
from solver.travel import problem_locations, provider_for

DISTANCE_TOLERANCE_M = 0.01
"""Distances are floats summed in different orders; a centimetre is well below noise."""

RATIO_TOLERANCE = 1e-6
"""For utilisation and other ratios reported as floats."""

OBJECTIVE_TOLERANCE = 0.01
"""Cost units: the objective is a float sum (per-second pro-rata costs), reported rounded
to a few decimals."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule a plan breaks. ``code`` is stable (tests and tools match on it); the
    message is for people. ``visit_id``/``technician_id``/``day`` say where."""

    code: str
    message: str
    visit_id: str | None = None
    technician_id: str | None = None
    day: int | None = None

    def __str__(self) -> str:
        where = ", ".join(
            f"{k} {v}"
            for k, v in (
                ("technician", self.technician_id),
                ("day", self.day),
                ("visit", self.visit_id),
            )
            if v is not None
        )
        return f"{self.code} ({where}): {self.message}" if where else f"{self.code}: {self.message}"


# --------------------------------------------------------------------------- travel


class _Travel:
    """Travel time and distance between two locations, from the problem's matrix (by
    ``Location.index``) or from the matrix the problem's provider computes over its
    locations."""

    def __init__(self, problem: Problem) -> None:
        self._by_index = problem.matrix is not None
        if problem.matrix is not None:
            self._durations = problem.matrix.durations
            self._distances = problem.matrix.distances
            self._pos: dict[Location, int] = {}
        else:
            locations = problem_locations(problem)
            matrix = provider_for(problem).matrix(locations)
            self._durations = matrix.durations
            self._distances = matrix.distances
            self._pos = {loc: i for i, loc in enumerate(locations)}

    def _ij(self, a: Location, b: Location) -> tuple[int, int]:
        if self._by_index:
            assert a.index is not None and b.index is not None
            return a.index, b.index
        return self._pos[a], self._pos[b]

    def time(self, a: Location, b: Location) -> int:
        i, j = self._ij(a, b)
        return int(self._durations[i, j])

    def distance(self, a: Location, b: Location) -> float:
        if self._distances is None:
            return 0.0
        i, j = self._ij(a, b)
        return float(self._distances[i, j])


# --------------------------------------------------------------------------- rules shared by both checks


@dataclass(frozen=True, slots=True)
class _BreakRule:
    """A break the shift asks for: start in ``[earliest, latest]``, ``duration`` long.
    ``gap`` marks the fixed break between two working windows of a split shift."""

    earliest: int
    latest: int
    duration: int
    gap: bool = False

    def required(self, route_start: int, route_end: int) -> bool:
        """A break that fits wholly before the route leaves, or that may start once the
        route is over, need not be taken."""
        return not (self.earliest + self.duration <= route_start or self.latest >= route_end)

    def accepts(self, taken: BreakTaken) -> bool:
        return (
            taken.end - taken.start == self.duration
            and self.earliest <= taken.start <= self.latest
        )


def _break_rules(shift: Shift) -> list[_BreakRule]:
    rules = [
        _BreakRule(a.end, a.end, b.start - a.end, gap=True)
        for a, b in zip(shift.windows, shift.windows[1:], strict=False)
        if b.start > a.end
    ]
    rules += [_BreakRule(b.earliest_start, b.latest_start, b.duration) for b in shift.breaks]
    return sorted(rules, key=lambda r: (r.earliest, r.latest))


def _gaps(shift: Shift) -> list[tuple[int, int]]:
    return [
        (a.end, b.start)
        for a, b in zip(shift.windows, shift.windows[1:], strict=False)
        if b.start > a.end
    ]


def _start_windows(visit: Visit) -> list[tuple[int, int]]:
    """When service may start: a hard window, not before the soft window's start, and
    exactly at the pinned start when there is one."""
    lo = visit.soft_window.start if visit.soft_window is not None else None
    out = []
    for w in visit.windows:
        a, b = w.start, w.end
        if lo is not None:
            a = max(a, lo)
        if visit.pin is not None and visit.pin.start is not None:
            p = visit.pin.start
            if not (a <= p <= b):
                continue
            a = b = p
        if a <= b:
            out.append((a, b))
    return out


def _route_origin(tech: Technician, shift: Shift) -> tuple[Location, int]:
    """Where the route of ``shift`` starts and the earliest time it may leave."""
    if tech.current is not None and tech.current.day == shift.day:
        return tech.current.location, max(shift.start, tech.current.available_from)
    return tech.start, shift.start


def _route_destination(tech: Technician) -> Location:
    return tech.end if tech.end is not None else tech.start


def _has_skills(tech: Technician, visit: Visit) -> bool:
    return visit.skills <= tech.skills


def _eligible(tech: Technician, visit: Visit) -> bool:
    """Every rule about who may serve the visit, skills aside."""
    if tech.id in visit.excluded_technicians:
        return False
    if visit.zone is not None and tech.zones and visit.zone not in tech.zones:
        return False
    if tech.capacity is not None and visit.demand > tech.capacity:
        return False
    return not (
        visit.pin is not None
        and visit.pin.technician_id is not None
        and visit.pin.technician_id != tech.id
    )


def _day_allowed(visit: Visit, day: int) -> bool:
    if visit.allowed_days is not None and day not in visit.allowed_days:
        return False
    return not (visit.pin is not None and visit.pin.day is not None and visit.pin.day != day)


# --------------------------------------------------------------------------- validate


class _Checker:
    def __init__(self, problem: Problem, plan: Plan) -> None:
        self.problem = problem
        self.plan = plan
        self.travel = _Travel(problem)
        self.techs = {t.id: t for t in problem.technicians}
        self.visits = {v.id: v for v in problem.visits}
        self.out: list[Violation] = []
        # recomputed figures per route, for totals and the objective
        self.route_travel: dict[int, int] = {}
        self.route_distance: dict[int, float] = {}
        self.route_service: dict[int, int] = {}
        self.route_overtime: dict[int, int] = {}
        self.route_lateness: dict[int, int] = {}
        self.route_lateness_cost: dict[int, float] = {}

    def add(
        self,
        code: str,
        message: str,
        *,
        visit: str | None = None,
        route: Route | None = None,
    ) -> None:
        self.out.append(
            Violation(
                code,
                message,
                visit_id=visit,
                technician_id=None if route is None else route.technician_id,
                day=None if route is None else route.day,
            )
        )

    # ---------------------------------------------------------------- accounting

    def check_accounting(self) -> None:
        served: dict[str, list[tuple[Route, Stop]]] = {}
        for route in self.plan.routes:
            for stop in route.stops:
                served.setdefault(stop.visit_id, []).append((route, stop))
        seen_unassigned: set[str] = set()
        for u in self.plan.unassigned:
            if u.visit_id not in self.visits:
                self.add("UNKNOWN_VISIT", "an unassigned entry names no visit of the problem",
                         visit=u.visit_id)
                continue
            if u.visit_id in seen_unassigned:
                self.add("UNASSIGNED_TWICE", "listed twice as unassigned", visit=u.visit_id)
            seen_unassigned.add(u.visit_id)
            if u.visit_id in served:
                self.add("ASSIGNED_AND_UNASSIGNED", "served in a route and listed as unassigned",
                         visit=u.visit_id)
        for vid, places in served.items():
            visit = self.visits.get(vid)
            if visit is None:
                for route, _ in places:
                    self.add("UNKNOWN_VISIT", "a stop names no visit of the problem",
                             visit=vid, route=route)
                continue
            if visit.crew_size == 1:
                if len(places) > 1:
                    self.add("SERVED_TWICE", f"served {len(places)} times", visit=vid)
                continue
            self._check_crew(visit, places)
        for vid in self.visits:
            if vid not in served and vid not in seen_unassigned:
                self.add("VISIT_MISSING", "neither served nor listed as unassigned", visit=vid)
        if self.plan.status == PlanStatus.NO_SOLUTION and served:
            self.add("STATUS", "status NO_SOLUTION but the plan has routes")

    def _check_crew(self, visit: Visit, places: list[tuple[Route, Stop]]) -> None:
        techs = {r.technician_id for r, _ in places}
        if len(places) != visit.crew_size or len(techs) != len(places):
            self.add("CREW", f"needs {visit.crew_size} different technicians, served by "
                     f"{len(places)} stop(s) of {len(techs)} technician(s)", visit=visit.id)
            return
        if len({r.day for r, _ in places}) != 1 or len({s.start for _, s in places}) != 1:
            self.add("CREW", "the crew does not start the visit together (same day and start)",
                     visit=visit.id)

    # ---------------------------------------------------------------- routes

    def check_routes(self) -> None:
        seen: set[tuple[str, int]] = set()
        for k, route in enumerate(self.plan.routes):
            key = (route.technician_id, route.day)
            if key in seen:
                self.add("DUPLICATE_ROUTE", "two routes for the same technician and day",
                         route=route)
                continue
            seen.add(key)
            tech = self.techs.get(route.technician_id)
            if tech is None:
                self.add("UNKNOWN_TECHNICIAN", "the route's technician is not in the problem",
                         route=route)
                continue
            shift = tech.shift_on(route.day)
            if shift is None:
                self.add("NO_SHIFT", "the technician has no shift on this day", route=route)
                continue
            if tech.current is not None and route.day < tech.current.day:
                self.add("PAST_DAY", f"day {route.day} is before the technician's current "
                         f"position (day {tech.current.day})", route=route)
            if not route.stops:
                self.add("EMPTY_ROUTE", "a route without stops is listed", route=route)
            self._check_route(k, route, tech, shift)

    def _check_route(self, k: int, route: Route, tech: Technician, shift: Shift) -> None:
        origin, earliest = _route_origin(tech, shift)
        destination = _route_destination(tech)
        breaks = sorted(route.breaks, key=lambda b: (b.start, b.end))

        if route.start_time < earliest:
            self.add("SHIFT_START", f"leaves at {route.start_time}, before {earliest}", route=route)
        for b in breaks:
            if b.end <= b.start:
                self.add("BREAK_INVALID", f"break [{b.start}, {b.end}] has no length", route=route)
            if b.start < route.start_time < b.end:
                self.add("BREAK_OVERLAP", "the route leaves during a break", route=route)
        for a, b in zip(breaks, breaks[1:], strict=False):
            if b.start < a.end:
                self.add("BREAK_OVERLAP", f"breaks [{a.start}, {a.end}] and [{b.start}, {b.end}] "
                         "overlap", route=route)

        travel_total = 0
        distance_total = 0.0
        service_total = 0
        load = 0
        lateness_total = 0
        lateness_cost = 0.0
        here, free = origin, route.start_time
        for stop in route.stops:
            visit = self.visits.get(stop.visit_id)
            if visit is None:
                continue  # reported by the accounting
            self._check_assignment(route, tech, visit, stop)
            t = self.travel.time(here, visit.location)
            d = self.travel.distance(here, visit.location)
            travel_total += t
            distance_total += d
            if stop.travel_time != t:
                self.add("TRAVEL_TIME", f"travel {stop.travel_time} s reported, the matrix says "
                         f"{t} s", visit=visit.id, route=route)
            if not math.isclose(stop.travel_distance, d, abs_tol=DISTANCE_TOLERANCE_M):
                self.add("TRAVEL_DISTANCE", f"distance {stop.travel_distance} m reported, the "
                         f"matrix says {d} m", visit=visit.id, route=route)
            arrival = _arrive(free, t, breaks)
            if stop.arrival != arrival:
                self.add("ARRIVAL", f"arrival {stop.arrival} reported, the replay gives {arrival}",
                         visit=visit.id, route=route)
            if stop.start < arrival:
                self.add("START_BEFORE_ARRIVAL", f"service starts at {stop.start}, before the "
                         f"arrival at {arrival}", visit=visit.id, route=route)
            pause = sum(b.end - b.start for b in breaks if arrival <= b.start < stop.start)
            waiting = stop.start - arrival - pause
            if stop.waiting != waiting:
                self.add("WAITING", f"waiting {stop.waiting} s reported, the replay gives "
                         f"{waiting} s", visit=visit.id, route=route)
            end = stop.start + visit.duration
            if stop.end != end:
                self.add("SERVICE_END", f"end {stop.end} reported, start + duration is {end}",
                         visit=visit.id, route=route)
            soft, sla = self._check_times(route, shift, visit, stop, end, breaks)
            lateness_total += soft + sla
            per_min = (
                visit.lateness_cost_per_minute
                if visit.lateness_cost_per_minute is not None
                else self.problem.weights.lateness_per_minute
            )
            lateness_cost += soft * per_min / 60 + sla * self.problem.weights.deadline_per_minute / 60
            service_total += visit.duration
            load += visit.demand
            here, free = visit.location, end

        t = self.travel.time(here, destination)
        d = self.travel.distance(here, destination)
        travel_total += t
        distance_total += d
        if route.end_travel_time != t:
            self.add("TRAVEL_TIME", f"travel to the end {route.end_travel_time} s reported, the "
                     f"matrix says {t} s", route=route)
        if not math.isclose(route.end_travel_distance, d, abs_tol=DISTANCE_TOLERANCE_M):
            self.add("TRAVEL_DISTANCE", f"distance to the end {route.end_travel_distance} m "
                     f"reported, the matrix says {d} m", route=route)
        end_time = _arrive(free, t, breaks)
        if route.end_time != end_time:
            self.add("END_TIME", f"end {route.end_time} reported, the replay gives {end_time}",
                     route=route)
        if end_time > shift.latest_end:
            self.add("SHIFT_END", f"ends at {end_time}, after {shift.latest_end} (shift end plus "
                     "allowed overtime)", route=route)

        self._check_breaks(route, shift, breaks, route.start_time, end_time)

        work = travel_total + service_total
        overtime = max(0, end_time - shift.end)
        if shift.max_work is not None and work > shift.max_work:
            self.add("MAX_WORK", f"works {work} s (travel + service), more than {shift.max_work} s",
                     route=route)
        if tech.capacity is not None and load > tech.capacity:
            self.add("CAPACITY", f"load {load} exceeds the capacity {tech.capacity}", route=route)
        for name, reported, actual in (
            ("travel_time", route.travel_time, travel_total),
            ("service_time", route.service_time, service_total),
            ("work_time", route.work_time, work),
            ("overtime", route.overtime, overtime),
            ("load", route.load, load),
        ):
            if reported != actual:
                self.add("ROUTE_TOTAL", f"{name} {reported} reported, recomputed {actual}",
                         route=route)
        if not math.isclose(route.travel_distance, distance_total,
                            rel_tol=RATIO_TOLERANCE, abs_tol=DISTANCE_TOLERANCE_M):
            self.add("ROUTE_TOTAL", f"travel_distance {route.travel_distance} reported, "
                     f"recomputed {distance_total}", route=route)
        self.route_travel[k] = travel_total
        self.route_distance[k] = distance_total
        self.route_service[k] = service_total
        self.route_overtime[k] = overtime
        self.route_lateness[k] = lateness_total
        self.route_lateness_cost[k] = lateness_cost

    def _check_assignment(self, route: Route, tech: Technician, visit: Visit, stop: Stop) -> None:
        v = visit.id
        if not _has_skills(tech, visit):
            missing = ", ".join(sorted(visit.skills - tech.skills))
            self.add("SKILLS", f"the technician lacks {missing}", visit=v, route=route)
        if tech.id in visit.excluded_technicians:
            self.add("EXCLUDED_TECHNICIAN", "served by an excluded technician", visit=v,
                     route=route)
        if visit.zone is not None and tech.zones and visit.zone not in tech.zones:
            self.add("ZONE", f"zone {visit.zone} is not among the technician's zones", visit=v,
                     route=route)
        if visit.allowed_days is not None and route.day not in visit.allowed_days:
            self.add("DAY_NOT_ALLOWED", f"day {route.day} is not an allowed day", visit=v,
                     route=route)
        pin = visit.pin
        if pin is not None:
            if pin.technician_id is not None and pin.technician_id != tech.id:
                self.add("PIN_TECHNICIAN", f"pinned to {pin.technician_id}", visit=v, route=route)
            if pin.day is not None and pin.day != route.day:
                self.add("PIN_DAY", f"pinned to day {pin.day}", visit=v, route=route)
            if pin.start is not None and pin.start != stop.start:
                self.add("PIN_START", f"pinned to start at {pin.start}, starts at {stop.start}",
                         visit=v, route=route)

    def _check_times(
        self,
        route: Route,
        shift: Shift,
        visit: Visit,
        stop: Stop,
        end: int,
        breaks: Sequence[BreakTaken],
    ) -> tuple[int, int]:
        """Checks the times of one stop; returns its recomputed (soft-window lateness,
        deadline lateness) in seconds."""
        v = visit.id
        if not any(w.start <= stop.start <= w.end for w in visit.windows):
            self.add("TIME_WINDOW", f"service starts at {stop.start}, outside every time window",
                     visit=v, route=route)
        lateness = 0
        if visit.soft_window is not None:
            if stop.start < visit.soft_window.start:
                self.add("SOFT_WINDOW_START", f"service starts at {stop.start}, before the "
                         f"promised window opens at {visit.soft_window.start}", visit=v,
                         route=route)
            lateness = max(0, stop.start - visit.soft_window.end)
        if stop.lateness != lateness:
            self.add("LATENESS", f"lateness {stop.lateness} s reported, recomputed {lateness} s",
                     visit=v, route=route)
        deadline_lateness = 0 if visit.deadline is None else max(0, stop.start - visit.deadline)
        if stop.deadline_lateness != deadline_lateness:
            self.add("DEADLINE_LATENESS", f"deadline lateness {stop.deadline_lateness} s "
                     f"reported, recomputed {deadline_lateness} s", visit=v, route=route)
        if stop.start < shift.start or end > shift.latest_end:
            self.add("SHIFT_WINDOW", f"service [{stop.start}, {end}] is outside the shift "
                     f"[{shift.start}, {shift.latest_end}]", visit=v, route=route)
        for a, b in _gaps(shift):
            if stop.start < b and a < end:
                self.add("WORK_IN_GAP", f"service [{stop.start}, {end}] falls in the gap "
                         f"[{a}, {b}] between working windows", visit=v, route=route)
        for b in breaks:
            if b.start < end and stop.start < b.end:
                self.add("BREAK_OVERLAPS_SERVICE", f"break [{b.start}, {b.end}] overlaps service "
                         f"[{stop.start}, {end}]", visit=v, route=route)
        return lateness, deadline_lateness

    def _check_breaks(
        self,
        route: Route,
        shift: Shift,
        breaks: Sequence[BreakTaken],
        start: int,
        end: int,
    ) -> None:
        rules = _break_rules(shift)
        match = _match_breaks(rules, breaks)
        for i, rule in enumerate(rules):
            if i not in match and rule.required(start, end):
                what = "gap between working windows" if rule.gap else "break"
                self.add("BREAK_MISSING", f"{what} of {rule.duration} s starting in "
                         f"[{rule.earliest}, {rule.latest}] is not taken", route=route)
        matched = set(match.values())
        for j, b in enumerate(breaks):
            if j not in matched:
                self.add("BREAK_INVALID", f"break [{b.start}, {b.end}] matches no break of the "
                         "shift", route=route)

    # ---------------------------------------------------------------- totals

    def check_totals(self) -> None:
        routes = self.plan.routes
        if len(self.route_travel) != len(routes):
            return  # some route could not be replayed; its own violations say why
        served = {s.visit_id for r in routes for s in r.stops}
        k = self.plan.kpis
        # the shifts still ahead: a current position closes the days before it and the
        # part of its day before ``available_from``
        regular = 0
        work_by_tech: dict[str, int] = {}
        for t in self.problem.technicians:
            for shift in t.shifts:
                if t.current is not None and shift.day < t.current.day:
                    continue
                _, earliest = _route_origin(t, shift)
                if earliest >= shift.latest_end:
                    continue
                work_by_tech[t.id] = 0
                regular += sum(max(0, w.end - max(w.start, earliest)) for w in shift.windows)
        for i, r in enumerate(routes):
            work_by_tech[r.technician_id] = work_by_tech.get(r.technician_id, 0) + (
                self.route_travel[i] + self.route_service[i]
            )
        work_total = sum(work_by_tech.values())
        expected = {
            "assigned": len(served),
            "unassigned": len(self.plan.unassigned),
            "travel_time": sum(self.route_travel.values()),
            "service_time": sum(self.route_service.values()),
            "overtime": sum(self.route_overtime.values()),
            "lateness": sum(self.route_lateness.values()),
            "balance": (max(work_by_tech.values()) - min(work_by_tech.values()))
            if work_by_tech
            else 0,
            "routes": len(routes),
        }
        for name, actual in expected.items():
            if getattr(k, name) != actual:
                self.add("KPI", f"{name} {getattr(k, name)} reported, recomputed {actual}")
        distance = sum(self.route_distance.values())
        if not math.isclose(k.travel_distance, distance, rel_tol=RATIO_TOLERANCE,
                            abs_tol=DISTANCE_TOLERANCE_M):
            self.add("KPI", f"travel_distance {k.travel_distance} reported, recomputed {distance}")
        utilisation = work_total / regular if regular else 0.0
        if not math.isclose(k.utilisation, utilisation, rel_tol=RATIO_TOLERANCE, abs_tol=1e-9):
            self.add("KPI", f"utilisation {k.utilisation} reported, recomputed {utilisation}")
        self._check_objective()

    def _check_objective(self) -> None:
        """The objective as :class:`solver.model.Weights` defines it, from the replay."""
        problem, plan, w = self.problem, self.plan, self.problem.weights
        cost = 0.0
        for u in plan.unassigned:
            visit = self.visits.get(u.visit_id)
            if visit is not None:
                cost += w.unassigned_penalty(visit)
        longest = 0
        for i, r in enumerate(plan.routes):
            tech = self.techs[r.technician_id]
            shift = tech.shift_on(r.day)
            assert shift is not None
            cost += self.route_travel[i] * tech.travel_cost_per_minute / 60
            cost += self.route_distance[i] / 1000 * w.distance_per_km
            cost += self.route_overtime[i] * shift.overtime_cost_per_minute / 60
            cost += self.route_lateness_cost[i]
            cost += w.route_fixed
            longest = max(longest, self.route_travel[i] + self.route_service[i])
            for s in r.stops:
                visit = self.visits[s.visit_id]
                if visit.preferred_technicians and tech.id not in visit.preferred_technicians:
                    cost += w.not_preferred
        cost += longest * w.balance_per_minute / 60
        # "moved": served, but not by the previous technician on the previous day (a crew:
        # that technician is not in it on that day); a visit left out pays its unassigned
        # penalty instead
        where: dict[str, set[tuple[str, int]]] = {}
        for r in plan.routes:
            for s in r.stops:
                where.setdefault(s.visit_id, set()).add((r.technician_id, r.day))
        for p in problem.previous:
            now = where.get(p.visit_id)
            if now is not None and (p.technician_id, p.day) not in now:
                cost += w.moved
        if not math.isclose(plan.objective, cost, rel_tol=RATIO_TOLERANCE, abs_tol=OBJECTIVE_TOLERANCE):
            self.add("OBJECTIVE", f"objective {plan.objective} reported, recomputed {cost:.6f}")


def _arrive(free: int, travel: int, breaks: Sequence[BreakTaken]) -> int:
    """Leaving at ``free`` for ``travel`` seconds: the arrival, once the breaks that start
    on the way (at or after leaving, before arriving) are added."""
    t = free + travel
    for b in breaks:  # sorted by start: a break taken on the way pushes the arrival out
        if free <= b.start < t:
            t += b.end - b.start
    return t


def _match_breaks(rules: Sequence[_BreakRule], taken: Sequence[BreakTaken]) -> dict[int, int]:
    """A maximum matching of shift breaks (rules) to the breaks the plan lists (rule index
    -> taken index), by augmenting paths; both lists are a handful long."""
    owner: dict[int, int] = {}

    def augment(i: int, visited: set[int]) -> bool:
        for j, b in enumerate(taken):
            if j in visited or not rules[i].accepts(b):
                continue
            visited.add(j)
            if j not in owner or augment(owner[j], visited):
                owner[j] = i
                return True
        return False

    for i in range(len(rules)):
        augment(i, set())
    return {i: j for j, i in owner.items()}


def validate(problem: Problem, plan: Plan) -> list[Violation]:
    """Every rule ``plan`` breaks for ``problem`` (empty when the plan is valid)."""
    checker = _Checker(problem, plan)
    checker.check_accounting()
    checker.check_routes()
    checker.check_totals()
    return checker.out


# --------------------------------------------------------------------------- reasons


class _Feasibility:
    """Can a technician's day serve this sequence of visits? An exact search over when
    breaks are taken (before leaving, on the way, while waiting, between services), with
    the earliest time dominating for the same progress."""

    def __init__(self, problem: Problem, travel: _Travel) -> None:
        self.problem = problem
        self.travel = travel

    def fits(self, tech: Technician, shift: Shift, seq: Sequence[Visit]) -> bool:
        if tech.capacity is not None and sum(v.demand for v in seq) > tech.capacity:
            return False
        origin, earliest = _route_origin(tech, shift)
        destination = _route_destination(tech)
        places = [origin, *(v.location for v in seq), destination]
        legs = [self.travel.time(a, b) for a, b in zip(places, places[1:], strict=False)]
        if shift.max_work is not None and sum(legs) + sum(v.duration for v in seq) > shift.max_work:
            return False
        windows = [_start_windows(v) for v in seq]
        if any(not w for w in windows):
            return False
        rules = _break_rules(shift)
        latest_end = shift.latest_end
        n = len(seq)
        best: dict[tuple[int, int, int, int], int] = {}

        # state: next leg i (0..n), phase 0 = free at a place, 1 = on the way with `left`
        # seconds to go, 2 = arrived at stop i-1 (... i is the stop now) before service
        def search(i: int, phase: int, mask: int, left: int, t: int) -> bool:
            if t > latest_end:
                return False
            key = (i, phase, mask, left)
            if best.get(key, math.inf) <= t:
                return False
            best[key] = t
            # take a break now (at a place, or interrupting the travel)
            for k, rule in enumerate(rules):
                if mask & (1 << k):
                    continue
                s = max(t, rule.earliest)
                if s > rule.latest:
                    continue
                if phase == 1:
                    if s >= t + left:
                        continue  # that is a break after arriving
                    if search(i, 1, mask | (1 << k), left - (s - t), s + rule.duration):
                        return True
                elif search(i, phase, mask | (1 << k), left, s + rule.duration):
                    return True
            if phase == 0:
                return search(i, 1, mask, legs[i], t)
            if phase == 1:
                arrival = t + left
                if i == n:
                    return arrival <= latest_end and all(
                        mask & (1 << k) or not rule.required(earliest, arrival)
                        for k, rule in enumerate(rules)
                    )
                return search(i, 2, mask, 0, arrival)
            # phase 2: start the service of stop i as early as its windows allow
            starts = [max(t, a) for a, b in windows[i] if max(t, a) <= b]
            if not starts:
                return False
            end = min(starts) + seq[i].duration
            if end > latest_end:
                return False
            return search(i + 1, 0, mask, 0, end)

        return search(0, 0, 0, 0, earliest)


class _Reasons:
    def __init__(self, problem: Problem, plan: Plan) -> None:
        self.problem = problem
        self.plan = plan
        self.travel = _Travel(problem)
        self.feasible = _Feasibility(problem, self.travel)
        self.visits = {v.id: v for v in problem.visits}
        # a served crew visit stays at its start: its crew is waiting for it there
        self.sequences: dict[tuple[str, int], list[Visit]] = {
            (r.technician_id, r.day): [
                _at(self.visits[s.visit_id], s.start)
                if self.visits[s.visit_id].crew_size > 1
                else self.visits[s.visit_id]
                for s in r.stops
                if s.visit_id in self.visits
            ]
            for r in plan.routes
        }
        self.out: list[Violation] = []

    def bad(self, u: Unassigned, message: str) -> None:
        self.out.append(Violation("REASON", f"{u.reason.value}: {message}", visit_id=u.visit_id))

    def skilled(self, visit: Visit) -> list[Technician]:
        return [t for t in self.problem.technicians if _has_skills(t, visit)]

    def eligible(self, visit: Visit) -> list[Technician]:
        return [t for t in self.skilled(visit) if _eligible(t, visit)]

    def shifts(self, visit: Visit) -> Iterable[tuple[Technician, Shift]]:
        for t in self.eligible(visit):
            for s in t.shifts:
                if t.current is not None and s.day < t.current.day:
                    continue  # the past
                if _day_allowed(visit, s.day):
                    yield t, s

    def empty_route_fits(self, visit: Visit) -> bool:
        return any(self.feasible.fits(t, s, [visit]) for t, s in self.shifts(visit))

    def insertion_fits(self, visit: Visit, removed: frozenset[str] = frozenset()) -> bool:
        return bool(self.fitting(visit, removed, first=True))

    def fitting(
        self,
        visit: Visit,
        removed: frozenset[str] = frozenset(),
        *,
        empty: bool = False,
        first: bool = False,
    ) -> set[str]:
        """The technicians who could take ``visit`` into their route of the plan (an empty
        route with ``empty``) on some shift; ``first``: stop at the first one."""
        out: set[str] = set()
        for t, s in self.shifts(visit):
            if t.id in out:
                continue
            seq = [] if empty else [
                v for v in self.sequences.get((t.id, s.day), []) if v.id not in removed
            ]
            if any(
                self.feasible.fits(t, s, [*seq[:pos], visit, *seq[pos:]])
                for pos in range(len(seq) + 1)
            ):
                out.add(t.id)
                if first:
                    break
        return out

    def crew_fits(self, visit: Visit, *, empty: bool) -> bool:
        """At some start time of the crew, ``crew_size`` technicians could take it at
        once (into their routes of the plan, or onto empty routes with ``empty``)."""
        return any(
            len(self.fitting(_at(visit, t), empty=empty)) >= visit.crew_size
            for t in crew_start_times(_start_windows(visit))
        )

    def check_crew(self, u: Unassigned, visit: Visit) -> None:
        """The reasons counted in technicians (see :func:`check_reasons`)."""
        k = visit.crew_size
        rules = (  # the reason, whether it holds, what it says
            (Reason.NO_SKILLED_TECHNICIAN, lambda: len(self.skilled(visit)) < k,
             f"fewer than {k} technicians have every required skill"),
            (Reason.NO_ELIGIBLE_TECHNICIAN, lambda: len(self.eligible(visit)) < k,
             f"fewer than {k} technicians may serve it"),
            (Reason.NO_SHIFT_MATCHES_WINDOWS, lambda: not self.crew_fits(visit, empty=True),
             f"no {k} technicians can serve it together even on empty routes"),
        )
        for reason, holds, says in rules:
            if u.reason == reason:
                if not holds():
                    self.bad(u, f"it is not true that {says}")
                return
            if holds():
                self.bad(u, f"{says}: {reason.value} holds instead")
                return
        reason = u.reason
        together_now = self.crew_fits(visit, empty=False)
        if reason == Reason.DOES_NOT_FIT_IN_TIME:
            if together_now:
                self.bad(u, f"{k} routes of the plan can take it together")
        elif reason in (Reason.NOT_WORTH_IT, Reason.SEARCH_LIMIT):
            if not together_now:
                self.bad(u, f"no {k} routes of the plan can take it together")
        else:
            self.bad(u, "not a reason given for a crew visit")

    def check(self, u: Unassigned) -> None:
        visit = self.visits.get(u.visit_id)
        if visit is None:
            self.bad(u, "no such visit in the problem")
            return
        if not u.message:
            self.bad(u, "no message for the dispatcher")
        reason = u.reason
        if reason == Reason.CREW_NOT_SUPPORTED:
            if visit.crew_size < 2:
                self.bad(u, "the visit needs a single technician")
            return
        if visit.crew_size >= 2:
            self.check_crew(u, visit)
            return
        if reason == Reason.NO_SKILLED_TECHNICIAN:
            if self.skilled(visit):
                names = ", ".join(t.id for t in self.skilled(visit))
                self.bad(u, f"technicians with every required skill exist: {names}")
            return
        if not self.skilled(visit):
            self.bad(u, "no technician has the skills: NO_SKILLED_TECHNICIAN holds instead")
            return
        if reason == Reason.NO_ELIGIBLE_TECHNICIAN:
            if self.eligible(visit):
                self.bad(u, f"technician {self.eligible(visit)[0].id} may serve it")
            return
        if not self.eligible(visit):
            self.bad(u, "no technician may serve it: NO_ELIGIBLE_TECHNICIAN holds instead")
            return
        if reason == Reason.NO_SHIFT_MATCHES_WINDOWS:
            if self.empty_route_fits(visit):
                self.bad(u, "it can be served on an empty route of some eligible shift")
            return
        if not self.empty_route_fits(visit):
            self.bad(u, "no empty route can serve it: NO_SHIFT_MATCHES_WINDOWS holds instead")
            return
        fits_now = self.insertion_fits(visit)
        if reason == Reason.DOES_NOT_FIT_IN_TIME:
            if fits_now:
                self.bad(u, "it can be inserted into a route of the plan")
            if u.technician_id is not None and u.technician_id not in {
                t.id for t in self.eligible(visit)
            }:
                self.bad(u, f"the closest miss {u.technician_id} may not serve it")
            if u.minutes_missed is not None and u.minutes_missed < 0:
                self.bad(u, "minutes_missed is negative")
            return
        if reason == Reason.LOST_TO_HIGHER_PRIORITY:
            if fits_now:
                self.bad(u, "it can be inserted into a route of the plan as it stands")
            if not u.blocked_by:
                self.bad(u, "blocked_by names no visit")
                return
            served = self.plan.assignment()
            for b in u.blocked_by:
                other = self.visits.get(b)
                if other is None or b not in served:
                    self.bad(u, f"{b} is not a served visit")
                elif not (other.priority > visit.priority or other.pin is not None):
                    self.bad(u, f"{b} has no higher priority ({other.priority} <= "
                             f"{visit.priority})")
            if not self.insertion_fits(visit, frozenset(u.blocked_by)):
                self.bad(u, "it does not fit even without the visits in blocked_by")
            return
        if reason in (Reason.NOT_WORTH_IT, Reason.SEARCH_LIMIT) and not fits_now:
            self.bad(u, "it cannot be inserted into any route of the plan")


def _at(visit: Visit, start: int) -> Visit:
    """``visit`` with service starting exactly at ``start`` (a pinned start)."""
    pin = visit.pin
    return replace(
        visit,
        pin=Pin(
            technician_id=None if pin is None else pin.technician_id,
            day=None if pin is None else pin.day,
            start=start,
        ),
    )


def check_reasons(problem: Problem, plan: Plan) -> list[Violation]:
    """The unassigned visits whose reason does not hold (empty when every reason holds).

    What each reason must satisfy (see :class:`solver.plan.Reason`): no technician has
    every skill; skilled ones exist but none may serve it (excluded, zone, capacity,
    pin); eligible ones exist but no single-visit route of theirs is feasible on an
    allowed day; such a route exists but inserting the visit anywhere in the plan's
    routes is not (``DOES_NOT_FIT_IN_TIME``), unless the higher-priority visits in
    ``blocked_by`` are removed (``LOST_TO_HIGHER_PRIORITY``); or it can be inserted
    (``NOT_WORTH_IT``, ``SEARCH_LIMIT``). A served crew visit keeps its start in these
    insertions.

    For a crew visit the same counted in technicians: fewer than ``crew_size`` have the
    skills, or may serve it; at none of its start times
    (:func:`solver.model.crew_start_times`) can ``crew_size`` of them take it onto empty
    routes (``NO_SHIFT_MATCHES_WINDOWS``) or into their routes of the plan
    (``DOES_NOT_FIT_IN_TIME``), or at one they can (``NOT_WORTH_IT``, ``SEARCH_LIMIT``).
    ``CREW_NOT_SUPPORTED`` is accepted for crew visits only."""
    reasons = _Reasons(problem, plan)
    for u in plan.unassigned:
        reasons.check(u)
    return reasons.out


__all__ = ["Violation", "check_reasons", "validate"]

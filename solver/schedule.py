"""The problem compiled for the engines, and exact route timing in plain Python.

:func:`compile_problem` resolves travel into one matrix over distinct places, turns each
(technician, shift) into a :class:`Vehicle` and works out which vehicles may serve each
visit. A crew visit becomes ``crew_size`` member visits the engines treat like any other
(see :mod:`solver.crew` for how they are kept together). :func:`schedule` times a given sequence of visits on a vehicle exactly (earliest
start of every service, breaks placed where they fit, see the module doc of
``solver.model`` for the rules); the plan is built from it rather than from the engine's
own variables, and the unassigned-visit explanations use it to try insertions.

Nothing here knows about OR-Tools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from solver.model import Location, Problem, Shift, Technician, Visit
from solver.travel import GreatCircle

INF = float("inf")


@dataclass(frozen=True, slots=True)
class Vehicle:
    """One technician on one shift. ``earliest``: earliest departure (shift start or the
    current position's ``available_from``); ``breaks``: (earliest_start, latest_start,
    duration) of the split-window gaps and the shift's breaks, by earliest start."""

    index: int
    technician: Technician
    shift: Shift
    start_place: int
    end_place: int
    earliest: int
    latest_end: int
    breaks: tuple[tuple[int, int, int], ...]

    @property
    def day(self) -> int:
        return self.shift.day

    @property
    def max_work(self) -> int | None:
        return self.shift.max_work

    @property
    def capacity(self) -> int | None:
        return self.technician.capacity


@dataclass(slots=True)
class Instance:
    problem: Problem
    durations: np.ndarray
    """places x places, int64 seconds"""
    distances: np.ndarray
    """places x places, float64 metres"""
    visits: tuple[Visit, ...]
    visit_place: list[int]
    start_windows: list[tuple[tuple[int, int], ...]]
    """per visit: windows for the start of service (hard windows cut by soft window start
    and pinned start), sorted"""
    service: list[int]
    vehicles: list[Vehicle]
    skilled: list[list[int]]
    """per visit: technicians (indices) having every required skill"""
    eligible: list[list[int]]
    """per visit: vehicles allowed by skills, exclusions, zone, capacity, pin, days"""
    reachable: list[list[int]]
    """per visit: eligible vehicles on which a quick timing check (travel from the
    start, the windows, travel back; breaks ignored) does not rule the visit out"""
    visit_index: dict[str, int] = field(default_factory=dict)
    previous: dict[str, tuple[str, int]] = field(default_factory=dict)
    """visit id -> (technician id, day) in the previous plan, for technicians still here"""
    crews: tuple[tuple[int, ...], ...] = ()
    """the members of each crew visit: its own index, then the indices of its copies,
    which follow the problem's visits in ``visits`` (same id, place, windows, skills)"""
    crew_of: dict[int, tuple[int, ...]] = field(default_factory=dict)
    """member index -> the members of its crew"""

    def travel(self, a: int, b: int) -> int:
        return int(self.durations[a, b])


def _vehicles(problem: Problem, place_of) -> list[Vehicle]:
    out: list[Vehicle] = []
    for t in problem.technicians:
        for s in t.shifts:
            start_loc: Location = t.start
            earliest = s.start
            if t.current is not None:
                if s.day < t.current.day:
                    continue  # the past: nothing to plan there
                if s.day == t.current.day:
                    start_loc = t.current.location
                    earliest = max(earliest, t.current.available_from)
            if earliest >= s.latest_end:
                continue
            end_loc = t.end if t.end is not None else t.start
            breaks = tuple((b.earliest_start, b.latest_start, b.duration) for b in s.all_breaks())
            out.append(
                Vehicle(
                    index=len(out),
                    technician=t,
                    shift=s,
                    start_place=place_of(start_loc),
                    end_place=place_of(end_loc),
                    earliest=earliest,
                    latest_end=s.latest_end,
                    breaks=breaks,
                )
            )
    return out


def compile_problem(problem: Problem) -> Instance:
    if problem.matrix is not None:
        durations = problem.matrix.durations
        distances = problem.matrix.distances
        if distances is None:
            distances = np.zeros(durations.shape, dtype=np.float64)

        def place_of(loc: Location) -> int:
            assert loc.index is not None
            return loc.index

    else:
        places: dict[tuple[float, float], int] = {}
        locs: list[Location] = []
        for t in problem.technicians:
            for loc in (t.start, t.end, t.current.location if t.current else None):
                if loc is not None and (loc.lat, loc.lon) not in places:
                    places[(loc.lat, loc.lon)] = len(locs)
                    locs.append(loc)
        for v in problem.visits:
            key = (v.location.lat, v.location.lon)
            if key not in places:
                places[key] = len(locs)
                locs.append(v.location)
        provider = GreatCircle.from_settings(problem.travel)
        if locs:
            m = provider.matrix(locs)
            durations, distances = m.durations, m.distances
        else:
            durations = np.zeros((0, 0), dtype=np.int64)
            distances = np.zeros((0, 0), dtype=np.float64)

        def place_of(loc: Location) -> int:
            return places[(loc.lat, loc.lon)]

    vehicles = _vehicles(problem, place_of)
    crews: list[tuple[int, ...]] = []
    copies: list[Visit] = []
    n_visits = len(problem.visits)
    for vi, v in enumerate(problem.visits):
        if v.crew_size > 1:
            first = n_visits + len(copies)
            copies.extend([v] * (v.crew_size - 1))
            crews.append((vi, *range(first, first + v.crew_size - 1)))
    visits = problem.visits + tuple(copies)
    visit_place = [place_of(v.location) for v in visits]
    windows = [tuple((w.start, w.end) for w in v.start_windows()) for v in visits]
    service = [v.duration for v in visits]

    techs = problem.technicians
    skilled = [[ti for ti, t in enumerate(techs) if v.skills <= t.skills] for v in visits]
    tech_index = {t.id: i for i, t in enumerate(techs)}
    veh_tech = [tech_index[veh.technician.id] for veh in vehicles]

    eligible: list[list[int]] = []
    for vi, v in enumerate(visits):
        ok_techs = set()
        for ti in skilled[vi]:
            t = techs[ti]
            if t.id in v.excluded_technicians:
                continue
            if v.zone is not None and t.zones and v.zone not in t.zones:
                continue
            if t.capacity is not None and v.demand > t.capacity:
                continue
            if v.pin is not None and v.pin.technician_id not in (None, t.id):
                continue
            ok_techs.add(ti)
        elig = []
        for veh in vehicles:
            if veh_tech[veh.index] not in ok_techs:
                continue
            if v.allowed_days is not None and veh.day not in v.allowed_days:
                continue
            if v.pin is not None and v.pin.day is not None and veh.day != v.pin.day:
                continue
            elig.append(veh.index)
        eligible.append(elig)

    reachable = _quick_reachability(vehicles, visits, visit_place, windows, service, durations, eligible)
    inst = Instance(
        problem=problem,
        durations=durations,
        distances=distances,
        visits=visits,
        visit_place=visit_place,
        start_windows=windows,
        service=service,
        vehicles=vehicles,
        skilled=skilled,
        eligible=eligible,
        reachable=reachable,
        visit_index={v.id: i for i, v in enumerate(problem.visits)},
        previous={
            p.visit_id: (p.technician_id, p.day)
            for p in problem.previous
            if p.technician_id in tech_index
        },
        crews=tuple(crews),
        crew_of={m: crew for crew in crews for m in crew},
    )
    if crews:
        from solver.crew import synchronise  # it builds on the constructor, which imports us

        synchronise(inst)
    return inst


def _quick_reachability(
    vehicles: list[Vehicle],
    visits: Sequence[Visit],
    visit_place: list[int],
    windows: list[tuple[tuple[int, int], ...]],
    service: list[int],
    durations: np.ndarray,
    eligible: list[list[int]],
) -> list[list[int]]:
    """A necessary condition only: a vehicle dropped here can never serve the visit."""
    if not vehicles:
        return [[] for _ in visits]
    earliest = np.array([v.earliest for v in vehicles], dtype=np.int64)
    latest = np.array([v.latest_end for v in vehicles], dtype=np.int64)
    starts = np.array([v.start_place for v in vehicles], dtype=np.int64)
    ends = np.array([v.end_place for v in vehicles], dtype=np.int64)
    max_work = np.array(
        [v.max_work if v.max_work is not None else np.iinfo(np.int64).max // 4 for v in vehicles],
        dtype=np.int64,
    )
    out: list[list[int]] = []
    for vi in range(len(visits)):
        elig = eligible[vi]
        if not elig:
            out.append([])
            continue
        ix = np.asarray(elig, dtype=np.int64)
        p = visit_place[vi]
        there = durations[starts[ix], p]
        back = durations[p, ends[ix]]
        arrive = earliest[ix] + there
        ok = np.zeros(len(ix), dtype=bool)
        for a, b in windows[vi]:
            begin = np.maximum(arrive, a)
            ok |= (begin <= b) & (begin + service[vi] + back <= latest[ix])
        ok &= there + service[vi] + back <= max_work[ix]
        out.append(ix[ok].tolist())
    return out


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True, slots=True)
class Timing:
    """Exact times of a route. ``violation``: seconds by which hard limits are exceeded
    (0 for a feasible route; only the relaxed mode returns positive values)."""

    start_time: int
    arrivals: tuple[int, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    travel: tuple[int, ...]
    """per stop, then the leg to the end location last"""
    breaks: tuple[tuple[int, int], ...]
    end_time: int
    work: int
    load: int
    violation: int


_NO_BREAKS: tuple[tuple[int, int], ...] = ()


def _gap(
    t: int, m: int, m2: int, d: int, breaks: Sequence[tuple[int, int, int]], relaxed: bool
) -> tuple[int, int, int, list[tuple[int, int]]] | None:
    """Travel ``d`` starting at ``t`` with breaks ``m..m2-1`` placed on the way, each as
    early as its window allows (travel fills the time before a break's earliest start).
    Returns (violation, ready time, arrival time, break placements)."""
    cur = t
    rem = d
    viol = 0
    placed = []
    arrival = -1
    for i in range(m, m2):
        e, lat, dur = breaks[i]
        if cur < e and rem > 0:
            fill = min(rem, e - cur)
            rem -= fill
            cur += fill
        if rem == 0 and arrival < 0:
            arrival = cur
        s = cur if cur > e else e
        if s > lat:
            if not relaxed:
                return None
            viol += s - lat
        placed.append((s, s + dur))
        cur = s + dur
    if arrival < 0:
        arrival = cur + rem
    return viol, cur + rem, arrival, placed


def _before_start(
    earliest: int, m: int, breaks: Sequence[tuple[int, int, int]], relaxed: bool
) -> tuple[int, int, list[tuple[int, int]]] | None:
    """Breaks ``0..m-1`` taken before leaving: (violation, departure, placements)."""
    c: int | None = None
    viol = 0
    placed = []
    for i in range(m):
        e, lat, dur = breaks[i]
        s = e if c is None or c < e else c
        if s > lat:
            if not relaxed:
                return None
            viol += s - lat
        placed.append((s, s + dur))
        c = s + dur
    return viol, earliest if c is None else max(earliest, c), placed


def schedule(
    inst: Instance, veh: Vehicle, seq: Sequence[int], *, relaxed: bool = False
) -> Timing | None:
    """Times visits ``seq`` (indices into ``inst.visits``) in this order on ``veh``.

    Strict mode returns ``None`` when no feasible timing exists. Relaxed mode lets
    services start late, breaks start late and the route end late, and reports the total
    excess in ``violation`` (used to say by how much a visit missed); it still returns
    ``None`` when the load exceeds the capacity. Every start is the earliest possible,
    which also minimises lateness and overtime for the sequence."""
    load = sum(inst.visits[i].demand for i in seq)
    if veh.capacity is not None and load > veh.capacity:
        return None
    dur = inst.durations
    breaks = veh.breaks
    k = len(breaks)
    places = [inst.visit_place[i] for i in seq]
    legs = []
    prev = veh.start_place
    for p in places:
        legs.append(dur.item(prev, p))
        prev = p
    legs.append(dur.item(prev, veh.end_place))
    work = sum(legs) + sum(inst.service[i] for i in seq)
    base_viol = 0
    if veh.max_work is not None and work > veh.max_work:
        if not relaxed:
            return None
        base_viol = work - veh.max_work

    if k == 0:
        return _no_breaks(inst, veh, seq, legs, work, load, base_viol, relaxed)

    # state m = breaks 0..m-1 taken; value (violation, time, back-pointer)
    states: list[tuple[int, int, tuple] | None] = [None] * (k + 1)
    for m in range(k + 1):
        r = _before_start(veh.earliest, m, breaks, relaxed)
        if r is not None:
            states[m] = (r[0] + base_viol, r[1], ("start", r[2], r[1]))
    history: list[list[tuple[int, int, tuple] | None]] = [states]

    for pos, vi in enumerate(seq):
        windows = inst.start_windows[vi]
        service = inst.service[vi]
        d = legs[pos]
        new: list[tuple[int, int, tuple] | None] = [None] * (k + 1)
        for m in range(k + 1):
            st = states[m]
            if st is None:
                continue
            viol0, t = st[0], st[1]
            if not relaxed and m < k and t > breaks[m][1]:
                # too late for the next break: a dead end (time only moves on), and not
                # one that hid a feasible state (each state keeps its earliest time)
                continue
            for m2 in range(m, k + 1):
                if m2 == m:  # no break on this leg: what _gap gives, without the call
                    gv, ready, arrival, placed = 0, t + d, t + d, _NO_BREAKS
                else:
                    g = _gap(t, m, m2, d, breaks, relaxed)
                    if g is None:
                        if not relaxed:
                            break  # taking even more breaks in this gap only starts later
                        continue
                    gv, ready, arrival, placed = g
                start = -1
                for a, b in windows:
                    if ready <= b:
                        start = a if a > ready else ready
                        break
                viol = viol0 + gv
                if start < 0:
                    if not relaxed:
                        continue
                    start = ready
                    viol += ready - windows[-1][1]
                end = start + service
                cur = new[m2]
                if cur is None or viol < cur[0] or (viol == cur[0] and end < cur[1]):
                    new[m2] = (viol, end, (m, arrival, start, placed))
        states = new
        history.append(states)
        if not relaxed and not any(states):  # (the states are non-empty tuples)
            return None

    # last leg to the end location, remaining breaks after the end
    best: tuple[int, int, int, int, list, int] | None = None
    d = legs[-1]
    for m in range(k + 1):
        st = states[m]
        if st is None:
            continue
        viol0, t = st[0], st[1]
        for m2 in range(m, k + 1):
            if m2 == m:
                gv, end_time, placed = 0, t + d, _NO_BREAKS
            else:
                g = _gap(t, m, m2, d, breaks, relaxed)
                if g is None:
                    if not relaxed:
                        break
                    continue
                gv, end_time, _arrival, placed = g
            viol = viol0 + gv
            c = end_time
            ok = True
            for i in range(m2, k):
                e, lat, bd = breaks[i]
                s = c if c > e else e
                if s > lat:
                    if not relaxed:
                        ok = False
                        break
                    viol += s - lat
                c = s + bd
            if not ok:
                continue
            if end_time > veh.latest_end:
                if not relaxed:
                    continue
                viol += end_time - veh.latest_end
            cand = (viol, end_time)
            if best is None or cand < (best[0], best[1]):
                best = (viol, end_time, m, m2, placed, 0)
    if best is None:
        return None

    # walk back
    viol, end_time, m, _m2, last_placed, _ = best
    arrivals: list[int] = []
    starts: list[int] = []
    placed_all: list[tuple[int, int]] = list(last_placed)
    for pos in range(len(seq), 0, -1):
        st = history[pos][m]
        assert st is not None
        prev_m, arrival, start, placed = st[2]
        arrivals.append(arrival)
        starts.append(start)
        if placed:
            placed_all = [*placed, *placed_all]
        m = prev_m
    st0 = history[0][m]
    assert st0 is not None
    _tag, before, departure = st0[2]
    arrivals.reverse()
    starts.reverse()
    ends = [s + inst.service[vi] for s, vi in zip(starts, seq, strict=True)]
    gap0_breaks = seq and any(b[0] < starts[0] and b[0] >= departure for b in placed_all)
    start_time = departure
    if seq and not gap0_breaks:
        # leave just in time: no waiting at the first stop
        start_time = max(departure, starts[0] - legs[0])
        arrivals[0] = start_time + legs[0]
    reported = [b for b in placed_all if b[0] >= start_time and b[1] <= end_time]
    del before
    return Timing(
        start_time=start_time,
        arrivals=tuple(arrivals),
        starts=tuple(starts),
        ends=tuple(ends),
        travel=tuple(legs),
        breaks=tuple(reported),
        end_time=end_time,
        work=work,
        load=load,
        violation=viol,
    )


def fitting(inst: Instance, veh: Vehicle, seq: Sequence[int]) -> list[int]:
    """``seq`` when :func:`schedule` accepts it, otherwise the stops that still fit when
    kept in order one at a time (for routes that should be feasible and are not, e.g.
    after a removal when travel times break the triangle inequality)."""
    if not seq or schedule(inst, veh, seq) is not None:
        return list(seq)
    kept: list[int] = []
    for vi in seq:
        if schedule(inst, veh, [*kept, vi]) is not None:
            kept.append(vi)
    return kept


def _no_breaks(
    inst: Instance,
    veh: Vehicle,
    seq: Sequence[int],
    legs: list[int],
    work: int,
    load: int,
    viol: int,
    relaxed: bool,
) -> Timing | None:
    """:func:`schedule` for a shift without breaks: one forward pass."""
    t = veh.earliest
    arrivals: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    windows_of = inst.start_windows
    service = inst.service
    for pos, vi in enumerate(seq):
        ready = t + legs[pos]
        start = -1
        for a, b in windows_of[vi]:
            if ready <= b:
                start = a if a > ready else ready
                break
        if start < 0:
            if not relaxed:
                return None
            start = ready
            viol += ready - windows_of[vi][-1][1]
        arrivals.append(ready)
        starts.append(start)
        t = start + service[vi]
        ends.append(t)
    end_time = t + legs[-1]
    if end_time > veh.latest_end:
        if not relaxed:
            return None
        viol += end_time - veh.latest_end
    start_time = veh.earliest
    if seq:
        start_time = starts[0] - legs[0]
        arrivals[0] = starts[0]
    return Timing(
        start_time=start_time,
        arrivals=tuple(arrivals),
        starts=tuple(starts),
        ends=tuple(ends),
        travel=tuple(legs),
        breaks=(),
        end_time=end_time,
        work=work,
        load=load,
        violation=viol,
    )


@dataclass(frozen=True, slots=True)
class RouteCost:
    """A route's share of the objective, in cost units (see ``solver.model.Weights``)."""

    travel: float
    overtime: float
    lateness: float
    affinity: float
    lateness_s: int
    deadline_s: int
    not_preferred: int
    moved: int

    @property
    def total(self) -> float:
        return self.travel + self.overtime + self.lateness + self.affinity


def visit_lateness(visit: Visit, start: int) -> tuple[int, int]:
    """(seconds past the soft window's end, seconds past the deadline)."""
    soft = 0
    if visit.soft_window is not None and start > visit.soft_window.end:
        soft = start - visit.soft_window.end
    sla = 0
    if visit.deadline is not None and start > visit.deadline:
        sla = start - visit.deadline
    return soft, sla


def route_cost(inst: Instance, veh: Vehicle, seq: Sequence[int], timing: Timing) -> RouteCost:
    w = inst.problem.weights
    tech = veh.technician
    travel_s = sum(timing.travel)
    places = [veh.start_place] + [inst.visit_place[i] for i in seq] + [veh.end_place]
    dist = sum(inst.distances.item(a, b) for a, b in zip(places, places[1:], strict=False))
    travel = travel_s * tech.travel_cost_per_minute / 60 + dist / 1000 * w.distance_per_km
    overtime_s = max(0, timing.end_time - veh.shift.end)
    overtime = overtime_s * veh.shift.overtime_cost_per_minute / 60
    lateness = 0.0
    soft_total = sla_total = 0
    not_pref = moved = 0
    for vi, start in zip(seq, timing.starts, strict=True):
        visit = inst.visits[vi]
        soft, sla = visit_lateness(visit, start)
        soft_total += soft
        sla_total += sla
        rate = (
            visit.lateness_cost_per_minute
            if visit.lateness_cost_per_minute is not None
            else w.lateness_per_minute
        )
        lateness += soft * rate / 60 + sla * w.deadline_per_minute / 60
        if visit.preferred_technicians and tech.id not in visit.preferred_technicians:
            not_pref += 1
        prev = inst.previous.get(visit.id)
        if prev is not None and prev != (tech.id, veh.day) and vi not in inst.crew_of:
            moved += 1  # a crew's move depends on all its routes: solver.crew.crews_moved
    affinity = not_pref * w.not_preferred + moved * w.moved
    return RouteCost(
        travel=travel,
        overtime=overtime,
        lateness=lateness,
        affinity=affinity,
        lateness_s=soft_total,
        deadline_s=sla_total,
        not_preferred=not_pref,
        moved=moved,
    )

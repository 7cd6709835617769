"""A fast construction: the first feasible plan, before OR-Tools improves it.

OR-Tools' own insertion heuristics check every insertion through its generic filters
and need tens of seconds for a few hundred optional visits with breaks; this one places
2000 visits in a couple of seconds and hands its routes to OR-Tools as the starting
solution.

Sequential best insertion, most important visits first (pinned, then by priority, then
the hardest to place: fewest possible technician-days, tightest windows). For every
insertion position of every route that may take the visit, a necessary condition is
evaluated at once with NumPy: the earliest start after the previous stop (exact times,
breaks included) must fit the windows and leave the next stop reachable by its latest
start (computed backwards, ignoring breaks, so never too strict). The cheapest
candidates are then confirmed with the exact timing of :func:`solver.schedule.schedule`.
A first pass keeps every route within regular hours; a second one lets the visits left
over use the allowed overtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from solver.schedule import Instance, Timing, route_cost, schedule

MAX_TRIES = 12
"""Exact checks per visit before giving up on it (candidates are cheapest first; the
necessary condition rarely lets more than a couple of infeasible ones through)."""

_BIG = np.int64(2**60)


def _last_start(windows: tuple[tuple[int, int], ...], limit: int) -> int | None:
    for a, b in reversed(windows):
        if a <= limit:
            return b if b < limit else limit
    return None


def _first_starts(windows: tuple[tuple[int, int], ...], ready: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The earliest start in ``windows`` from ``ready`` on, and whether there is one
    (where there is none, the start is past every window)."""
    a, _b = windows[-1]
    start = np.maximum(ready, a)
    for a, b in reversed(windows[:-1]):  # the first window that is still open wins
        start = np.where(ready <= b, np.maximum(ready, a), start)
    return start, ready <= max(b for _a, b in windows)


@dataclass(frozen=True, slots=True)
class _Shortfall:
    """reach x positions: what :attr:`Candidates.miss` is worked out from, when asked
    (the search never asks)."""

    ready: np.ndarray
    found: np.ndarray
    last_end: int
    arrive_next: np.ndarray
    latest: np.ndarray
    over_work: np.ndarray | int


@dataclass(frozen=True, slots=True)
class Candidates:
    vehicles: np.ndarray
    positions: np.ndarray
    costs: np.ndarray
    """estimated insertion cost in cost units (travel, the visit's own lateness, affinity)"""
    reach: np.ndarray
    """the vehicles examined (rows of ``miss``)"""
    shortfall: _Shortfall

    @property
    def miss(self) -> np.ndarray:
        """reach x positions: estimated seconds short (a lower bound of the real miss)"""
        s = self.shortfall
        late = np.maximum(0, s.arrive_next - s.latest)
        late = late + np.where(s.found, 0, s.ready - s.last_end)
        return np.where(s.latest > -_BIG, late + s.over_work, _BIG)


class Constructor:
    """Keeps the insertion data of every route. ``routes``: start from these (already
    feasible) sequences; ``overtime``: use the allowed overtime from the start."""

    def __init__(
        self,
        inst: Instance,
        routes: dict[int, list[int]] | None = None,
        *,
        overtime: bool = False,
    ) -> None:
        self.inst = inst
        self.dur = inst.durations
        vehicles = inst.vehicles
        n = len(vehicles)
        self.width = 16
        self.seq: list[list[int]] = [[] for _ in range(n)]
        self.timing: list[Timing | None] = [None] * n
        self.latest_end = np.array([v.shift.end for v in vehicles], dtype=np.int64)
        for v in vehicles:
            if overtime or v.shift.end <= v.earliest:
                self.latest_end[v.index] = v.latest_end
        for v, seq in (routes or {}).items():
            timing = schedule(inst, vehicles[v], seq)
            if timing is None:
                raise ValueError(f"routes[{v}]: infeasible")
            self.seq[v] = list(seq)
            self.timing[v] = timing
            self.latest_end[v] = max(int(self.latest_end[v]), timing.end_time)
        self.work = np.zeros(n, dtype=np.int64)
        self.load = np.zeros(n, dtype=np.int64)
        self.max_work = np.array(
            [v.max_work if v.max_work is not None else _BIG for v in vehicles], dtype=np.int64
        )
        self.capacity = np.array(
            [v.capacity if v.capacity is not None else _BIG for v in vehicles], dtype=np.int64
        )
        # without any limit the checks against _BIG cannot fail: skipped
        self.work_limited = any(v.max_work is not None for v in vehicles)
        self.load_limited = any(v.capacity is not None for v in vehicles)
        self.rate = np.array(
            [v.technician.travel_cost_per_minute / 60.0 for v in vehicles], dtype=np.float64
        )
        w = inst.problem.weights
        self.dist_cost = (
            inst.distances * (w.distance_per_km / 1000.0) if w.distance_per_km else None
        )
        # fixed breaks (the lunch gap of split shifts above all) are exact in the filter:
        # travel cannot cross them and service cannot overlap them
        fixed = [[(e, d) for e, lat, d in v.breaks if e == lat] for v in vehicles]
        self.fixed = fixed
        self.n_fixed = max((len(f) for f in fixed), default=0)
        self.fixed_start = np.full((n, max(1, self.n_fixed)), _BIG, dtype=np.int64)
        self.fixed_len = np.zeros((n, max(1, self.n_fixed)), dtype=np.int64)
        for v, f in enumerate(fixed):
            for k, (e, d) in enumerate(f):
                self.fixed_start[v, k] = e
                self.fixed_len[v, k] = d
        self._alloc()
        for v in range(n):
            self._refresh(v)

    def _alloc(self) -> None:
        n, b, k = len(self.inst.vehicles), self.width, self.n_fixed
        # Per vehicle and insertion position (before stop j, or at the end): the place
        # before and after, when the previous stop (or the start) is left at the
        # earliest, the latest arrival at the next stop (-_BIG past the end of the
        # route) and the direct travel. Then per fixed break: a travel leaving then and
        # ready after held_from is held up held_for more by the break. These rows follow
        # the routes; after them come the start, length and end of every fixed break
        # (constant along a route: NumPy adds arrays of one shape faster than it
        # broadcasts). One table, so that candidates() gathers the rows of the vehicles
        # it examines at once.
        self.table = np.zeros((5 + 5 * k, n, b), dtype=np.int64)
        self.prev_place, self.next_place, self.prev_end, self.latest, self.direct = self.table[:5]
        self.latest[:] = -_BIG
        for i in range(k):
            held_from, _held_for, start, length, end = self._fixed_rows(self.table, i)
            held_from[:] = _BIG
            start[:] = self.fixed_start[:, i, None]
            length[:] = self.fixed_len[:, i, None]
            end[:] = start + length

    def _fixed_rows(self, table: np.ndarray, i: int) -> tuple[np.ndarray, ...]:
        """held_from, held_for, start, length and end of fixed break ``i`` in ``table``."""
        first = 5 + 2 * self.n_fixed + 3 * i
        return (table[5 + 2 * i], table[6 + 2 * i], *table[first : first + 3])

    def _refresh(self, v: int) -> None:
        inst = self.inst
        veh = inst.vehicles[v]
        seq = self.seq[v]
        n = len(seq)
        if n + 1 > self.width:
            self.width *= 2
            self._alloc()
            for u in range(len(inst.vehicles)):
                self._refresh(u)
            return
        places = [inst.visit_place[i] for i in seq]
        prev_place = [veh.start_place, *places]
        next_place = [*places, veh.end_place]
        timing = self.timing[v]
        if timing is None:  # an empty route
            travel: Sequence[int] = [int(self.dur[veh.start_place, veh.end_place])]
            ends: Sequence[int] = []
            work, load = travel[0], 0
        else:
            travel, ends, work, load = timing.travel, timing.ends, timing.work, timing.load
        latest = [0] * (n + 1)
        latest[n] = int(self.latest_end[v])
        fixed = self.fixed[v]
        for j in range(n - 1, -1, -1):
            vi = seq[j]
            service = inst.service[vi]
            arrive_by = latest[j + 1]
            d = travel[j + 1]
            leave_by = arrive_by - d
            for e, bd in reversed(fixed):
                if leave_by < e + bd and arrive_by > e:
                    # the leg would overlap the break: cross it, or arrive before it
                    leave_by = max(arrive_by - d - bd, e - d)
            ls = _last_start(inst.start_windows[vi], leave_by - service)
            for e, bd in reversed(fixed):
                if ls is not None and e - service < ls < e + bd:
                    ls = _last_start(inst.start_windows[vi], e - service)
            latest[j] = -(2**60) if ls is None else ls
        prev_end = [veh.earliest, *ends]
        rows = [prev_place, next_place, prev_end, latest, travel]
        for e, bd in fixed:
            rows.append([e if t < e + bd else _BIG for t in prev_end])  # held_from
            rows.append([min(bd, e + bd - t) for t in prev_end])  # held_for
        for _ in range(self.n_fixed - len(fixed)):  # fewer fixed breaks than others
            rows.extend(([_BIG] * (n + 1), [0] * (n + 1)))
        self.table[: len(rows), v, : n + 1] = rows
        self.latest[v, n + 1 :] = -_BIG
        self.work[v] = work
        self.load[v] = load

    def _affinity(self, vi: int, vehicles: np.ndarray) -> np.ndarray | float:
        """Per vehicle of ``vehicles``: the affinity cost of serving ``vi``."""
        inst = self.inst
        visit = inst.visits[vi]
        w = inst.problem.weights
        prev = inst.previous.get(visit.id)
        if not visit.preferred_technicians and prev is None:
            return 0.0
        out = np.zeros(len(vehicles), dtype=np.float64)
        for k, v in enumerate(vehicles.tolist()):
            veh = inst.vehicles[v]
            if visit.preferred_technicians and veh.technician.id not in visit.preferred_technicians:
                out[k] += w.not_preferred
            if prev is not None and prev != (veh.technician.id, veh.day):
                out[k] += w.moved
        return out

    def _lateness(self, vi: int, start: np.ndarray) -> np.ndarray | float:
        visit = self.inst.visits[vi]
        w = self.inst.problem.weights
        cost: np.ndarray | float = 0.0
        if visit.soft_window is not None:
            rate = (
                visit.lateness_cost_per_minute
                if visit.lateness_cost_per_minute is not None
                else w.lateness_per_minute
            )
            cost = cost + np.maximum(0, start - visit.soft_window.end) * (rate / 60)
        if visit.deadline is not None:
            cost = cost + np.maximum(0, start - visit.deadline) * (w.deadline_per_minute / 60)
        return cost

    def candidates(self, vi: int) -> Candidates | None:
        """Every (vehicle, position) passing the necessary condition for inserting
        ``vi`` (cheapest first), and for all positions an estimate of by how many
        seconds the condition is missed (0 for the candidates).

        Arrays are reach x positions and small (tens of vehicles, a route's length), so
        the time goes into the number of NumPy calls: the rows are gathered at once and
        the costs are only worked out for the candidates."""
        inst = self.inst
        reach = np.asarray(inst.reachable[vi], dtype=np.int64)
        if not len(reach):
            return None
        visit = inst.visits[vi]
        p = inst.visit_place[vi]
        s = inst.service[vi]
        windows = inst.start_windows[vi]
        data = self.table[:, reach]
        pp, npl, pe, latest, direct = data[:5]
        fixed = [self._fixed_rows(data, k) for k in range(self.n_fixed)]
        d_in = self.dur[:, p][pp]  # (twice as fast as dur[pp, p])
        d_out = self.dur[p][npl]
        ready = pe + d_in
        for held_from, held_for, _e, _d, _e_end in fixed:
            # travel crossing the break waits for its end
            ready = np.where(ready > held_from, ready + held_for, ready)
        start, found = _first_starts(windows, ready)
        for _from, _for, e, _d, e_end in fixed:
            clash = found & (start < e_end) & (start + s > e)
            if clash.any():
                # from the start found, the same start is found again (and again none
                # where there was none): only the clashes move
                start, found = _first_starts(windows, np.where(clash, e_end, start))
        start = np.where(found, start, ready)
        delta = d_in + d_out - direct
        end = start + s
        arrive_next = end + d_out
        for _from, _for, e, d, e_end in fixed:
            arrive_next = np.where(
                (end < e_end) & (arrive_next > e), arrive_next + np.minimum(d, e_end - end), arrive_next
            )
        # (arrive_next <= latest also rules out the positions past the end of a route)
        ok = found & (arrive_next <= latest)
        over_work: np.ndarray | int = 0
        if self.work_limited:
            over_work = np.maximum(0, (self.work[reach] + s - self.max_work[reach])[:, None] + delta)
            ok &= over_work == 0
        if self.load_limited:
            ok &= (self.load[reach] + visit.demand <= self.capacity[reach])[:, None]
        shortfall = _Shortfall(ready, found, windows[-1][1], arrive_next, latest, over_work)
        rows, cols = np.nonzero(ok)
        if not len(rows):
            return Candidates(rows, cols, np.zeros(0), reach, shortfall)
        vehicles = reach[rows]
        costs = delta[rows, cols] * self.rate[vehicles]
        if self.dist_cost is not None:
            a, b = pp[rows, cols], npl[rows, cols]
            costs = costs + (self.dist_cost[a, p] + self.dist_cost[p, b] - self.dist_cost[a, b])
        affinity = self._affinity(vi, reach)
        if not isinstance(affinity, float):
            affinity = affinity[rows]
        costs = costs + self._lateness(vi, start[rows, cols]) + affinity
        order = np.lexsort((cols, vehicles, costs))
        return Candidates(vehicles[order], cols[order], costs[order], reach, shortfall)

    def try_insert(self, vi: int, tries: int = MAX_TRIES) -> int | None:
        """Inserts ``vi`` at its cheapest confirmed position (among the ``tries``
        cheapest candidates); returns the vehicle, or None when it stays out."""
        inst = self.inst
        cands = self.candidates(vi)
        if cands is None:
            return None
        penalty = inst.problem.weights.unassigned_penalty(inst.visits[vi])
        for k in range(min(tries, len(cands.costs))):
            if cands.costs[k] >= penalty:
                return None  # cheaper to leave it out
            v = int(cands.vehicles[k])
            pos = int(cands.positions[k])
            timing = self.fits(vi, v, pos)
            if timing is None:
                continue
            self.seq[v] = self.seq[v][:pos] + [vi] + self.seq[v][pos:]
            self.timing[v] = timing
            self._refresh(v)
            return v
        return None

    def fits(self, vi: int, v: int, pos: int) -> Timing | None:
        """The exact timing of route ``v`` with ``vi`` inserted at ``pos``, or None when
        that breaks a rule or ends past the route's latest end."""
        seq = self.seq[v]
        timing = schedule(self.inst, self.inst.vehicles[v], [*seq[:pos], vi, *seq[pos:]])
        if timing is None or timing.end_time > self.latest_end[v]:
            return None
        return timing

    def insert_crew(
        self, crew: tuple[int, ...], tries: int = MAX_TRIES, penalty: float | None = None
    ) -> list[int] | None:
        """Inserts every member of ``crew`` like :meth:`try_insert`, or none of them;
        returns their vehicles. The members start at the same instant (see
        :mod:`solver.crew`), so each lands on another route; a crew that would end up
        twice on one technician is not inserted. ``penalty``: also none when the routes
        would cost that much more or over (route costs with ``Weights.route_fixed``)."""
        inst = self.inst
        seqs, timings = list(self.seq), list(self.timing)
        vehicles: list[int] = []
        for m in crew:
            v = self.try_insert(m, tries)
            if v is None:
                break
            vehicles.append(v)
        else:
            techs = {inst.vehicles[v].technician.id for v in vehicles}
            if len(techs) == len(crew) and (
                penalty is None or self._added_cost(vehicles, seqs, timings) < penalty
            ):
                return vehicles
        for v in vehicles:
            self.seq[v], self.timing[v] = seqs[v], timings[v]
            self._refresh(v)
        return None

    def _added_cost(
        self, vehicles: list[int], seqs: list[list[int]], timings: list[Timing | None]
    ) -> float:
        inst = self.inst
        fixed = inst.problem.weights.route_fixed

        def cost(v: int, seq: list[int], timing: Timing | None) -> float:
            if not seq or timing is None:
                return 0.0
            return route_cost(inst, inst.vehicles[v], seq, timing).total + fixed

        return sum(
            cost(v, self.seq[v], self.timing[v]) - cost(v, seqs[v], timings[v])
            for v in set(vehicles)
        )

    def place(self, vi: int, tries: int = MAX_TRIES) -> bool:
        """Inserts ``vi`` (:meth:`try_insert`), or when it is a crew member its whole crew
        (:meth:`insert_crew`); True when it went in."""
        crew = self.inst.crew_of.get(vi)
        if crew is None:
            return self.try_insert(vi, tries) is not None
        return self.insert_crew(crew, tries) is not None

    def order(self) -> list[int]:
        inst = self.inst

        def key(vi: int) -> tuple:
            v = inst.visits[vi]
            # crews right after the pinned visits, in the order their start times were
            # chosen on routes holding only those (solver.crew.synchronise)
            crew = vi in inst.crew_of
            span = 0 if crew else sum(b - a for a, b in inst.start_windows[vi])
            return (v.pin is None, not crew, -v.priority, len(inst.reachable[vi]), span, v.id)

        return sorted((vi for vi in range(len(inst.visits)) if inst.reachable[vi]), key=key)

    def allow_overtime(self) -> bool:
        """Lets every route use its allowed overtime from now on; False when that changes
        nothing (no overtime allowed, or already allowed)."""
        overtime = False
        for veh in self.inst.vehicles:
            if veh.latest_end > self.latest_end[veh.index]:
                self.latest_end[veh.index] = veh.latest_end
                self._refresh(veh.index)
                overtime = True
        return overtime

    def run(self) -> dict[int, list[int]]:
        left = [vi for vi in self.order() if self._first_of_crew(vi) and not self.place(vi)]
        if left and self.allow_overtime():  # second pass: the allowed overtime
            for vi in left:
                self.place(vi)
        return {v: list(seq) for v, seq in enumerate(self.seq) if seq}

    def _first_of_crew(self, vi: int) -> bool:
        """False for the members after the first of a crew (it is placed whole); the
        members of a crew are next to each other in :meth:`order`."""
        crew = self.inst.crew_of.get(vi)
        return crew is None or vi == crew[0]


def construct(inst: Instance) -> dict[int, list[int]]:
    """Vehicle index -> visit indices, every route feasible."""
    return Constructor(inst).run()

"""Ruin and recreate: the improvement phase that serves more visits.

Each iteration takes out a handful of related visits (the nearest neighbours of a seed
visit, often an unassigned one, so that what blocks it moves away), then re-inserts
them, together with the unassigned visits around the seed, most important first with
the constructor's best insertion. Half of the time the visits taken out are strings of
consecutive stops from the routes around the seed instead (SISR). The new plan is kept
when its objective (exact timing, exact costs) is no worse, or by simulated annealing
(a cooling temperature), otherwise the touched routes are restored.

Crews (:mod:`solver.crew`) move whole: a member taken out takes its partners with it, a
crew goes back in whole or not at all (at another start time when its own has no room
left), and each member carries its share of the crew's penalty, so the objective stays
exact.

OR-Tools' local search polishes the routes afterwards; on field-service days (optional
visits, split shifts, breaks, skills) it rarely manages to add a visit, which is where
this phase earns its keep.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from solver.construct import Constructor
from solver.crew import insert_at_any_start, whole_crews
from solver.schedule import Instance, route_cost, schedule

NEIGHBOURS = 40
"""Nearest visits remembered per visit (by travel time both ways)."""
RUIN_MIN, RUIN_MAX = 3, 12
"""Visits taken out per iteration (uniform)."""
STRING_MAX = 10
"""Longest string of consecutive stops taken out of one route."""
TEMPERATURE = (0.5, 0.005)
"""Simulated-annealing temperature at the start and the end of the search, as a share
of the average cost per served visit (geometric cooling in between)."""
NEARBY_UNASSIGNED = 3
"""Unassigned visits near the seed offered for re-insertion each iteration."""


class Search:
    def __init__(
        self, inst: Instance, routes: dict[int, list[int]], seed: int
    ) -> None:
        self.inst = inst
        self.cons = Constructor(inst, whole_crews(inst, routes), overtime=True)
        self.rng = random.Random(seed)
        self.weights = inst.problem.weights
        n = len(inst.visits)
        self.penalty = [self.weights.unassigned_penalty(v) for v in inst.visits]
        for crew in inst.crews:
            for m in crew:
                self.penalty[m] /= len(crew)
        self.where: dict[int, int] = {}
        for v, seq in enumerate(self.cons.seq):
            for vi in seq:
                self.where[vi] = v
        self.routable = [vi for vi in range(n) if inst.reachable[vi]]
        self.unassigned = {vi for vi in self.routable if vi not in self.where}
        self.route_cost = [self._route_cost(v) for v in range(len(inst.vehicles))]
        self.neighbours = self._neighbours()

    def _neighbours(self) -> list[list[int]]:
        inst = self.inst
        if not self.routable:
            return []
        places = np.asarray([inst.visit_place[vi] for vi in self.routable], dtype=np.int64)
        sub = inst.durations[np.ix_(places, places)]
        both = sub + sub.T
        k = min(NEIGHBOURS + 1, len(self.routable))
        out: list[list[int]] = [[] for _ in inst.visits]
        idx = np.argpartition(both, k - 1, axis=1)[:, :k] if k < len(self.routable) else np.tile(
            np.arange(len(self.routable)), (len(self.routable), 1)
        )
        for row, vi in enumerate(self.routable):
            cand = idx[row]
            cand = cand[np.argsort(both[row, cand], kind="stable")]
            out[vi] = [self.routable[c] for c in cand.tolist() if self.routable[c] != vi]
        return out

    def _route_cost(self, v: int) -> float:
        seq = self.cons.seq[v]
        if not seq:
            return 0.0
        timing = self.cons.timing[v]
        assert timing is not None
        veh = self.inst.vehicles[v]
        return route_cost(self.inst, veh, seq, timing).total + self.weights.route_fixed

    def objective(self) -> float:
        return sum(self.route_cost) + sum(self.penalty[vi] for vi in self.unassigned)

    def routes(self) -> dict[int, list[int]]:
        return {v: list(seq) for v, seq in enumerate(self.cons.seq) if seq}

    def _strings(self, seed: int, k: int) -> list[int]:
        """Strings of consecutive stops around the seed and its nearest served
        neighbours, one string per route (after SISR, Christiaens & Vanden Berghe)."""
        rng = self.rng
        removed: list[int] = []
        seen: set[int] = set()
        for vi in [seed, *self.neighbours[seed]]:
            if len(removed) >= k:
                break
            v = self.where.get(vi)
            if v is None or v in seen:
                continue
            seen.add(v)
            seq = self.cons.seq[v]
            length = rng.randint(1, max(1, min(len(seq), k - len(removed), STRING_MAX)))
            pos = seq.index(vi)
            first = rng.randint(max(0, pos - length + 1), min(pos, len(seq) - length))
            removed.extend(seq[first : first + length])
        return removed

    def iterate(self, temperature: float) -> float:
        """One ruin-and-recreate step; returns the objective change kept (an increase is
        kept with probability exp(-increase / temperature))."""
        rng = self.rng
        if not self.where and not self.unassigned:
            return 0.0
        if self.unassigned and (not self.where or rng.random() < 0.5):
            seed = rng.choice(sorted(self.unassigned))
        else:
            seed = rng.choice(sorted(self.where))
        k = rng.randint(RUIN_MIN, RUIN_MAX)
        if rng.random() < 0.5:
            removed = self._strings(seed, k)
        else:
            removed = [vi for vi in [seed, *self.neighbours[seed]] if vi in self.where][:k]
        nearby = [vi for vi in [seed, *self.neighbours[seed]] if vi in self.unassigned]
        nearby = nearby[:NEARBY_UNASSIGNED]
        if self.inst.crews:
            removed, nearby = self._whole(removed), self._whole(nearby)

        cons = self.cons
        touched = {self.where[vi] for vi in removed}
        # routes are replaced, never changed in place: shallow copies undo the step
        snapshot = (list(cons.seq), list(cons.timing), list(self.route_cost))
        before = sum(self.route_cost[v] for v in touched)
        penalty_before = sum(self.penalty[vi] for vi in nearby)

        # ruin
        gone = set(removed)
        for v in touched:
            seq = [vi for vi in cons.seq[v] if vi not in gone]
            timing = schedule(self.inst, self.inst.vehicles[v], seq) if seq else None
            if seq and timing is None:
                self._restore(snapshot, touched)  # travel times break the triangle inequality
                return 0.0
            cons.seq[v] = seq
            cons.timing[v] = timing
            cons._refresh(v)
        origin = {vi: self.where.pop(vi) for vi in removed}

        # recreate
        todo = list(dict.fromkeys(removed + nearby))
        keys = {vi: rng.random() for vi in todo}
        inst = self.inst
        for vi in todo:
            crew = inst.crew_of.get(vi)
            if crew is not None:
                keys[vi] = keys[crew[0]]  # next to each other, the first member first
        todo.sort(key=lambda vi: (inst.visits[vi].pin is None, -inst.visits[vi].priority, keys[vi]))
        placed: dict[int, int] = {}
        windows = {vi: inst.start_windows[vi] for vi in todo if vi in inst.crew_of}
        for vi in todo:
            crew = inst.crew_of.get(vi)
            if crew is not None:
                if vi == crew[0]:
                    for m, v in zip(crew, insert_at_any_start(cons, crew) or (), strict=False):
                        placed[m] = v
                        touched.add(v)
                continue
            v = cons.try_insert(vi)
            if v is not None:
                placed[vi] = v
                touched.add(v)
        after = 0.0
        for v in touched:
            self.route_cost[v] = self._route_cost(v)
            after += self.route_cost[v]
        penalty_after = sum(self.penalty[vi] for vi in todo if vi not in placed)
        delta = (after + penalty_after) - (before + penalty_before)
        if delta <= 0 or (
            temperature > 0 and delta < 50 * temperature
            and rng.random() < math.exp(-delta / temperature)
        ):
            for vi in todo:
                if vi in placed:
                    self.where[vi] = placed[vi]
                    self.unassigned.discard(vi)
                else:
                    self.unassigned.add(vi)
            return delta
        # undo
        self.where.update(origin)
        self._restore(snapshot, touched)
        for vi, w in windows.items():  # the start times the restored routes keep
            inst.start_windows[vi] = w
        return 0.0

    def crew_windows(self) -> dict[int, tuple[tuple[int, int], ...]]:
        """The start windows of every crew member."""
        return {m: self.inst.start_windows[m] for m in self.inst.crew_of}

    def _whole(self, visits: list[int]) -> list[int]:
        """``visits`` with the other members of the crews among them (right after)."""
        out: list[int] = []
        for vi in visits:
            out.extend(self.inst.crew_of.get(vi, (vi,)))
        return list(dict.fromkeys(out))

    def _restore(self, snapshot: tuple[list, list, list], touched: set[int]) -> None:
        cons = self.cons
        seqs, timings, costs = snapshot
        for v in touched:
            cons.seq[v] = seqs[v]
            cons.timing[v] = timings[v]
            cons._refresh(v)
            self.route_cost[v] = costs[v]


@dataclass(slots=True)
class LnsResult:
    """The best routes found, the steps done, and whether the wall-clock ``deadline``
    (the safety net) ended the search before its step budget or stall criterion."""

    routes: dict[int, list[int]]
    iterations: int
    deadline_hit: bool


def improve(
    inst: Instance,
    routes: dict[int, list[int]],
    *,
    seed: int,
    deadline: float,
    iterations: int | None = None,
    stall: int | None = None,
    on_improvement: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> LnsResult:
    """Ruin and recreate from ``routes`` for ``iterations`` steps or ``stall`` steps
    without a new best, whichever comes first (then the result only depends on the input
    and ``seed``); ``deadline`` (``time.monotonic()``) is a safety net that also ends it
    (``deadline_hit``), and without ``iterations`` the only budget. The cooling schedule
    follows the step count when ``iterations`` is given, the clock otherwise.
    ``on_improvement(objective)`` is called on each new best. A crew may come back at
    another start time: ``inst.start_windows`` of its members are left as the returned
    routes need them (a plan from before that holds it at its old time goes through
    :func:`solver.crew.whole_crews`)."""
    search = Search(inst, routes, seed)
    best = search.objective()
    best_routes = search.routes()
    best_windows = search.crew_windows()
    start = time.monotonic()
    total = max(1e-3, deadline - start)
    per_visit = sum(search.route_cost) / max(1, len(search.where))
    hot, cold = TEMPERATURE[0] * per_visit, TEMPERATURE[1] * per_visit
    i = 0
    last_best = 0
    current = best
    hit = False
    while True:
        if stall is not None and i - last_best > stall:
            break
        now = time.monotonic()
        if iterations is not None:
            if i >= iterations:
                break
            frac = i / max(1, iterations)
        else:
            frac = (now - start) / total
        if now >= deadline:
            hit = True
            break
        if should_stop is not None and should_stop():
            break
        temperature = hot * (cold / hot) ** frac if hot > 0 else 0.0
        current += search.iterate(temperature)
        i += 1
        if current < best - 1e-9:
            best = search.objective()
            current = best
            best_routes = search.routes()
            best_windows = search.crew_windows()
            last_best = i
            if on_improvement is not None:
                on_improvement(best)
    for m, w in best_windows.items():  # the start times of the crews in best_routes
        inst.start_windows[m] = w
    return LnsResult(best_routes, i, hit)

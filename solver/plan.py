"""The solver's answer: routes per technician and day, what stayed unassigned and why.

Times are integer seconds from the start of the horizon (as in :mod:`solver.model`);
distances are metres (float). A route's timeline, which the validator replays:

    start_time (leave start location) -> [travel, breaks] -> stop 1 arrival -> [waiting,
    breaks] -> stop 1 start .. end (service) -> [travel, breaks] -> stop 2 ... -> last
    stop end -> [travel, breaks] -> end_time (reach the end location)

``Stop.travel_time``/``travel_distance`` are for the leg from the previous stop (or the
route start) to this stop; ``Route.end_travel_time``/``end_travel_distance`` for the leg
to the end location. A break never overlaps service; travel may be interrupted by one.
``waiting = start - arrival - (breaks taken between arrival and start)``.
Only routes with at least one stop are listed.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class PlanStatus(enum.StrEnum):
    OPTIMAL = "OPTIMAL"
    """Proven optimal (only trivial problems, e.g. nothing to plan)."""
    FEASIBLE = "FEASIBLE"
    """A plan was found; the search stopped on its limits."""
    CANCELLED = "CANCELLED"
    """Cancelled by the caller; the plan is the best found until then (may be empty)."""
    NO_SOLUTION = "NO_SOLUTION"
    """No plan was found within the limits (every visit is listed as unassigned)."""


class Reason(enum.StrEnum):
    """Why a visit stayed unassigned, from the most to the least fundamental."""

    NO_SKILLED_TECHNICIAN = "NO_SKILLED_TECHNICIAN"
    """No technician has all the required skills."""
    NO_ELIGIBLE_TECHNICIAN = "NO_ELIGIBLE_TECHNICIAN"
    """Technicians with the skills exist, but all are excluded, outside the visit's zone,
    short of capacity, or not the pinned one."""
    NO_SHIFT_MATCHES_WINDOWS = "NO_SHIFT_MATCHES_WINDOWS"
    """No eligible technician's shift meets the visit's time windows, allowed days or
    pinned day/start (even on an empty route)."""
    DOES_NOT_FIT_IN_TIME = "DOES_NOT_FIT_IN_TIME"
    """It could be served on an empty route but fits in no route of this plan;
    ``technician_id`` is the closest miss and ``minutes_missed`` by how much."""
    LOST_TO_HIGHER_PRIORITY = "LOST_TO_HIGHER_PRIORITY"
    """It would fit if some higher-priority visits (``blocked_by``) were removed."""
    CREW_NOT_SUPPORTED = "CREW_NOT_SUPPORTED"
    """Crew visits (two technicians at once) are not served by this engine (the default
    pipeline plans them; the other reasons then count technicians, see
    ``solver.explain``)."""
    NOT_WORTH_IT = "NOT_WORTH_IT"
    """It fits, but serving it costs more than its unassigned penalty (travel, overtime,
    lateness): raise its priority or the unassigned weight."""
    SEARCH_LIMIT = "SEARCH_LIMIT"
    """It fits in the plan as it stands: the search ran out of time (or was cancelled)
    before placing it."""


@dataclass(frozen=True, slots=True)
class Stop:
    visit_id: str
    arrival: int
    start: int
    end: int
    waiting: int
    travel_time: int
    travel_distance: float
    lateness: int = 0
    """Seconds the start is past the soft window's end (0 if none)."""
    deadline_lateness: int = 0
    """Seconds the start is past the deadline (0 if none)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "visit_id": self.visit_id,
            "arrival": self.arrival,
            "start": self.start,
            "end": self.end,
            "waiting": self.waiting,
            "travel_time": self.travel_time,
            "travel_distance": self.travel_distance,
            "lateness": self.lateness,
            "deadline_lateness": self.deadline_lateness,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Stop:
        return cls(
            visit_id=d["visit_id"],
            arrival=d["arrival"],
            start=d["start"],
            end=d["end"],
            waiting=d["waiting"],
            travel_time=d["travel_time"],
            travel_distance=d["travel_distance"],
            lateness=d.get("lateness", 0),
            deadline_lateness=d.get("deadline_lateness", 0),
        )


@dataclass(frozen=True, slots=True)
class BreakTaken:
    """A break as it falls in the route (the gaps between split-shift windows included)."""

    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BreakTaken:
        return cls(d["start"], d["end"])


@dataclass(frozen=True, slots=True)
class Route:
    """One technician's day. ``work_time`` = travel + service; ``overtime`` = seconds
    ``end_time`` is past the shift's regular end."""

    technician_id: str
    day: int
    stops: tuple[Stop, ...]
    breaks: tuple[BreakTaken, ...]
    start_time: int
    end_time: int
    end_travel_time: int
    end_travel_distance: float
    travel_time: int
    travel_distance: float
    service_time: int
    work_time: int
    overtime: int
    load: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "technician_id": self.technician_id,
            "day": self.day,
            "stops": [s.to_dict() for s in self.stops],
            "breaks": [b.to_dict() for b in self.breaks],
            "start_time": self.start_time,
            "end_time": self.end_time,
            "end_travel_time": self.end_travel_time,
            "end_travel_distance": self.end_travel_distance,
            "travel_time": self.travel_time,
            "travel_distance": self.travel_distance,
            "service_time": self.service_time,
            "work_time": self.work_time,
            "overtime": self.overtime,
            "load": self.load,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Route:
        return cls(
            technician_id=d["technician_id"],
            day=d["day"],
            stops=tuple(Stop.from_dict(s) for s in d["stops"]),
            breaks=tuple(BreakTaken.from_dict(b) for b in d.get("breaks", ())),
            start_time=d["start_time"],
            end_time=d["end_time"],
            end_travel_time=d["end_travel_time"],
            end_travel_distance=d["end_travel_distance"],
            travel_time=d["travel_time"],
            travel_distance=d["travel_distance"],
            service_time=d["service_time"],
            work_time=d["work_time"],
            overtime=d["overtime"],
            load=d.get("load", 0),
        )


@dataclass(frozen=True, slots=True)
class Unassigned:
    """A visit left out, with a reason that holds for this plan and a sentence for the
    dispatcher. ``technician_id``/``minutes_missed``: closest miss (DOES_NOT_FIT_IN_TIME);
    ``blocked_by``: the higher-priority visits in the way (LOST_TO_HIGHER_PRIORITY)."""

    visit_id: str
    reason: Reason
    message: str
    technician_id: str | None = None
    minutes_missed: int | None = None
    blocked_by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "visit_id": self.visit_id,
            "reason": self.reason.value,
            "message": self.message,
            "technician_id": self.technician_id,
            "minutes_missed": self.minutes_missed,
            "blocked_by": list(self.blocked_by),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Unassigned:
        return cls(
            visit_id=d["visit_id"],
            reason=Reason(d["reason"]),
            message=d.get("message", ""),
            technician_id=d.get("technician_id"),
            minutes_missed=d.get("minutes_missed"),
            blocked_by=tuple(d.get("blocked_by", ())),
        )


@dataclass(frozen=True, slots=True)
class KPIs:
    """Totals over the plan. Times in seconds, distance in metres.

    ``utilisation``: work time (travel + service) over the regular working time of all
    shifts in the problem (0..1, may exceed 1 with overtime). ``lateness``: seconds past
    soft windows plus seconds past deadlines. ``balance``: max minus min total work
    seconds per technician (over the horizon, technicians with at least one shift).
    ``assigned``: visits served, a crew visit once (it is a stop on each member's route);
    ``service_time`` and ``lateness`` add up the stops, so a crew's count per member."""

    assigned: int
    unassigned: int
    travel_time: int
    travel_distance: float
    service_time: int
    overtime: int
    utilisation: float
    lateness: int
    balance: int
    routes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "assigned": self.assigned,
            "unassigned": self.unassigned,
            "travel_time": self.travel_time,
            "travel_distance": self.travel_distance,
            "service_time": self.service_time,
            "overtime": self.overtime,
            "utilisation": self.utilisation,
            "lateness": self.lateness,
            "balance": self.balance,
            "routes": self.routes,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> KPIs:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class Plan:
    """``objective``: the engine's objective in cost units (see ``solver.model.Weights``),
    recomputed from the routes. ``elapsed``: seconds spent solving; ``first_solution_s``:
    seconds until the first feasible plan (``None`` if none). ``engine``: which engine
    produced it (e.g. ``"ortools"``, ``"pyvrp"``). ``deadline_hit``: the wall-clock safety
    net ended a search before its work budget (a machine much slower or busier than the
    calibration assumes): the plan is valid, but the same input, seed and time limit may
    give a different plan elsewhere (see ``solver.model.SolveParams``)."""

    status: PlanStatus
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    kpis: KPIs
    objective: float
    elapsed: float
    first_solution_s: float | None = None
    engine: str = "ortools"
    deadline_hit: bool = False

    def route_of(self, technician_id: str, day: int) -> Route | None:
        for r in self.routes:
            if r.technician_id == technician_id and r.day == day:
                return r
        return None

    def assignment(self) -> dict[str, tuple[str, int]]:
        """visit id -> (technician id, day) of every served visit."""
        return {s.visit_id: (r.technician_id, r.day) for r in self.routes for s in r.stops}

    def stop_of(self, visit_id: str) -> Stop | None:
        for r in self.routes:
            for s in r.stops:
                if s.visit_id == visit_id:
                    return s
        return None

    def reason_of(self, visit_id: str) -> Unassigned | None:
        for u in self.unassigned:
            if u.visit_id == visit_id:
                return u
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "routes": [r.to_dict() for r in self.routes],
            "unassigned": [u.to_dict() for u in self.unassigned],
            "kpis": self.kpis.to_dict(),
            "objective": self.objective,
            "elapsed": self.elapsed,
            "first_solution_s": self.first_solution_s,
            "engine": self.engine,
            "deadline_hit": self.deadline_hit,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Plan:
        return cls(
            status=PlanStatus(d["status"]),
            routes=tuple(Route.from_dict(r) for r in d.get("routes", ())),
            unassigned=tuple(Unassigned.from_dict(u) for u in d.get("unassigned", ())),
            kpis=KPIs.from_dict(d["kpis"]),
            objective=d["objective"],
            elapsed=d["elapsed"],
            first_solution_s=d.get("first_solution_s"),
            engine=d.get("engine", "ortools"),
            deadline_hit=bool(d.get("deadline_hit", False)),
        )
# API-READY

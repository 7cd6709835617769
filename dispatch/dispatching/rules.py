"""The rules one placement of a visit must keep: skills, shift, breaks, absences, overlaps
and travel from the previous stop and to the next.

Pure functions over small frozen values (no database): ``check(day, placement, travel)``
returns every rule the placement breaks, in a fixed order (``RULES``), each with a
sentence and the figures behind it. Time semantics follow the solver
(:mod:`solver.model`), so that a hand-made day passes ``solver.validate`` too:

- service lies inside one working window of the shift; the gap between two windows is a
  fixed break in which nothing happens, neither service nor travel;
- a flexible break (``FlexBreak``) is taken in one piece within its start range and never
  overlaps service;
- the route leaves home no earlier than the first window and is back by the end of the
  last one (when the home base is known);
- travel between two stops needs that much working time between them.

Travel comes from the solver's providers (:class:`TravelTable` wraps one): great-circle by
default, OSRM when configured. A stop without coordinates travels nowhere (0 s).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from solver.model import Location
from solver.travel import TravelProvider

Interval = tuple[datetime, datetime]

# The order in which broken rules are reported; the first one names the 409.
RULES = ("skills", "absence", "shift", "break", "overlap", "travel")


@dataclass(frozen=True, slots=True)
class FlexBreak:
    """A break of ``duration`` starting between ``earliest`` and ``latest`` (UTC)."""

    earliest: datetime
    latest: datetime
    duration: timedelta


@dataclass(frozen=True, slots=True)
class WorkingDay:
    """A technician's calendar for one local day, before anything is booked: working
    windows (UTC, sorted; gaps are fixed breaks), flexible breaks, absences overlapping the
    day, and the public holiday that empties it, if any."""

    windows: tuple[Interval, ...]
    breaks: tuple[FlexBreak, ...] = ()
    absences: tuple[Interval, ...] = ()
    holiday: str | None = None


@dataclass(frozen=True, slots=True)
class Stop:
    """Another visit of the technician's day: service ``[start, end)`` at ``location``."""

    visit_id: int
    order_id: int
    label: str
    start: datetime
    end: datetime
    location: Location | None


@dataclass(frozen=True, slots=True)
class TechnicianDay:
    """Everything a placement on one technician-day is checked against; ``stops`` sorted
    by start (without the visit being placed)."""

    technician_id: int
    day: date
    skills: frozenset[str]
    home: Location | None
    working: WorkingDay
    stops: tuple[Stop, ...] = ()


@dataclass(frozen=True, slots=True)
class Placement:
    """Service of one order ``[start, end)`` at ``location`` needing ``skills``."""

    start: datetime
    end: datetime
    location: Location | None
    skills: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "detail": self.detail, **self.data}


# --- travel ------------------------------------------------------------------------------


class TravelTable:
    """Travel between a fixed set of locations, asked of a solver provider in one call."""

    def __init__(self, provider: TravelProvider, locations: Iterable[Location | None]) -> None:
        unique = list(dict.fromkeys(loc for loc in locations if loc is not None))
        self._index = {loc: i for i, loc in enumerate(unique)}
        self._matrix = provider.matrix(unique) if len(unique) > 1 else None

    def seconds(self, a: Location | None, b: Location | None) -> int:
        if a is None or b is None or a == b or self._matrix is None:
            return 0
        return int(self._matrix.durations[self._index[a], self._index[b]])

    def meters(self, a: Location | None, b: Location | None) -> int:
        if a is None or b is None or a == b or self._matrix is None:
            return 0
        distances = self._matrix.distances
        return 0 if distances is None else round(float(distances[self._index[a], self._index[b]]))


# --- working time ------------------------------------------------------------------------


def working_seconds(windows: Sequence[Interval], start: datetime, end: datetime) -> int:
    """Seconds of ``[start, end)`` inside the working windows (travel happens only then)."""
    total = 0.0
    for a, b in windows:
        lo, hi = max(a, start), min(b, end)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return int(total)


def advance(windows: Sequence[Interval], start: datetime, seconds: int) -> datetime:
    """When ``seconds`` of travel leaving at ``start`` are done, travelling only in working
    windows (after the last window it goes on, as overtime)."""
    at, left = start, float(seconds)
    for a, b in windows:
        if b <= at:
            continue
        at = max(at, a)
        room = (b - at).total_seconds()
        if left <= room:
            return at + timedelta(seconds=left)
        left -= room
        at = b
    return at + timedelta(seconds=left)


def _minutes_up(seconds: float) -> int:
    return math.ceil(seconds / 60)


def _hm(at: datetime) -> str:
    return at.isoformat()


def _overlaps(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> bool:
    return a0 < b1 and b0 < a1


# --- the rules ---------------------------------------------------------------------------


def check(day: TechnicianDay, placement: Placement, travel: TravelTable) -> list[Violation]:
    """Every rule ``placement`` breaks on ``day`` (empty: it may go there), in RULES order."""
    found = [
        *_skills(day, placement),
        *_absence(day, placement),
        *_shift_and_breaks(day, placement),
        *_overlap(day, placement),
        *_travel(day, placement, travel),
    ]
    return sorted(found, key=lambda v: RULES.index(v.rule))


def _skills(day: TechnicianDay, p: Placement) -> list[Violation]:
    missing = sorted(p.skills - day.skills)
    if not missing:
        return []
    return [Violation("skills", f"technician {day.technician_id} lacks the skills "
                                f"{', '.join(missing)}", {"missing": missing})]


def _absence(day: TechnicianDay, p: Placement) -> list[Violation]:
    return [
        Violation("absence", f"technician {day.technician_id} is absent from {_hm(a)} to "
                             f"{_hm(b)}", {"absent_from": _hm(a), "absent_to": _hm(b)})
        for a, b in day.working.absences if _overlaps(p.start, p.end, a, b)
    ]


def _shift_and_breaks(day: TechnicianDay, p: Placement) -> list[Violation]:
    windows = day.working.windows
    if not windows:
        why = (f"{day.day} is a public holiday ({day.working.holiday})" if day.working.holiday
               else f"technician {day.technician_id} has no shift on {day.day}")
        return [Violation("shift", why, {"day": day.day.isoformat()})]
    shift = {"shift_start": _hm(windows[0][0]), "shift_end": _hm(windows[-1][1])}
    inside = [i for i, (a, b) in enumerate(windows) if a <= p.start < b]
    if not inside:
        if windows[0][0] <= p.start < windows[-1][1]:
            gap = next((windows[i][1], windows[i + 1][0]) for i in range(len(windows) - 1)
                       if windows[i][1] <= p.start < windows[i + 1][0])
            return [Violation("break", f"service would start in the break {_hm(gap[0])} to "
                                       f"{_hm(gap[1])}",
                              {"break_start": _hm(gap[0]), "break_end": _hm(gap[1])})]
        return [Violation("shift", f"service {_hm(p.start)} to {_hm(p.end)} lies outside the "
                                   f"shift {shift['shift_start']} to {shift['shift_end']}", shift)]
    i = inside[0]
    if p.end > windows[i][1]:
        if i + 1 < len(windows):
            a, b = windows[i][1], windows[i + 1][0]
            return [Violation("break", f"service until {_hm(p.end)} would run into the break "
                                       f"{_hm(a)} to {_hm(b)}",
                              {"break_start": _hm(a), "break_end": _hm(b)})]
        return [Violation("shift", f"service until {_hm(p.end)} runs past the end of the shift "
                                   f"{shift['shift_end']}", shift)]
    services = [(s.start, s.end) for s in day.stops]
    out = []
    for fb in day.working.breaks:
        if _break_fits(fb, windows, services) and not _break_fits(
                fb, windows, [*services, (p.start, p.end)]):
            minutes = int(fb.duration.total_seconds() // 60)
            out.append(Violation(
                "break", f"leaves no room for the {minutes}-minute break starting between "
                         f"{_hm(fb.earliest)} and {_hm(fb.latest)}",
                {"break_earliest": _hm(fb.earliest), "break_latest": _hm(fb.latest),
                 "break_minutes": minutes}))
    return out


def _break_fits(fb: FlexBreak, windows: Sequence[Interval], services: Sequence[Interval]) -> bool:
    """Whether the break can still start somewhere in its range clear of every service."""
    candidates = {fb.earliest, fb.latest} | {e for _, e in services if fb.earliest <= e <= fb.latest}
    for at in sorted(candidates):
        end = at + fb.duration
        in_work = any(a <= at and end <= b for a, b in windows)
        if in_work and not any(_overlaps(at, end, s, e) for s, e in services):
            return True
    return False


def _overlap(day: TechnicianDay, p: Placement) -> list[Violation]:
    return [
        Violation("overlap", f"overlaps visit {s.visit_id} (order {s.label}) from {_hm(s.start)} "
                             f"to {_hm(s.end)}",
                  {"visit_id": s.visit_id, "order_id": s.order_id,
                   "other_start": _hm(s.start), "other_end": _hm(s.end)})
        for s in day.stops if _overlaps(p.start, p.end, s.start, s.end)
    ]


def neighbours(stops: Sequence[Stop], start: datetime, end: datetime) -> tuple[Stop | None,
                                                                               Stop | None]:
    """The stop before ``[start, end)`` (ending by its start) and the one after it."""
    before = [s for s in stops if s.end <= start]
    after = [s for s in stops if s.start >= end]
    return (max(before, key=lambda s: s.end) if before else None,
            min(after, key=lambda s: s.start) if after else None)


def _travel(day: TechnicianDay, p: Placement, travel: TravelTable) -> list[Violation]:
    windows = day.working.windows
    if not windows:
        return []
    prev, nxt = neighbours(day.stops, p.start, p.end)
    out = []
    # (from, to, leg start, leg end, what the other end is)
    legs: list[tuple[Location | None, Location | None, datetime, datetime, dict[str, Any]]] = []
    if prev is not None:
        legs.append((prev.location, p.location, prev.end, p.start,
                     {"leg": "from_previous", "visit_id": prev.visit_id, "order": prev.label}))
    elif day.home is not None and p.start >= windows[0][0]:
        legs.append((day.home, p.location, windows[0][0], p.start, {"leg": "from_home"}))
    if nxt is not None:
        legs.append((p.location, nxt.location, p.end, nxt.start,
                     {"leg": "to_next", "visit_id": nxt.visit_id, "order": nxt.label}))
    elif day.home is not None and p.end <= windows[-1][1]:
        legs.append((p.location, day.home, p.end, windows[-1][1], {"leg": "to_home"}))
    for a, b, t0, t1, what in legs:
        needed = travel.seconds(a, b)
        available = working_seconds(windows, t0, t1)
        if needed <= available:
            continue
        where = {"from_previous": f"from visit {what.get('visit_id')} (order {what.get('order')})",
                 "from_home": "from home at the start of the shift",
                 "to_next": f"to visit {what.get('visit_id')} (order {what.get('order')})",
                 "to_home": "back home by the end of the shift"}[what["leg"]]
        out.append(Violation(
            "travel", f"travel {where} takes {_minutes_up(needed)} min; there are only "
                      f"{available // 60} working minutes for it",
            {**what, "needed_minutes": _minutes_up(needed), "available_minutes": available // 60}))
    return out

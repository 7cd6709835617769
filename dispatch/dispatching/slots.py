"""Arrival windows to offer a customer: where a technician can take an order with the least
added travel without breaking his day.

Pure over :mod:`dispatch.dispatching.rules` values. A technician's working windows are cut
into arrival windows ``width`` wide from the start of each working window (08:00-10:00,
10:00-12:00, 13:30-15:30, 15:30-17:30 with the default shift and two hours). In each
arrival window the order is tried in every gap of his day (home, his visits in order, home)
at the earliest start that travel allows; a start counts only if ``rules.check`` finds
nothing against it, so his other visits keep their times (and with them their windows),
his shift, breaks and absences hold. The cost of a gap is the insertion cost: travel
previous -> order -> next minus previous -> next.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dispatch.dispatching.rules import (
    Interval,
    Placement,
    Stop,
    TechnicianDay,
    TravelTable,
    WorkingDay,
    advance,
    check,
)
from solver.model import Location


@dataclass(frozen=True, slots=True)
class Need:
    """What the order needs: where, how long, which skills; ``windows``: the customer's
    requested windows for the start (empty: any time); nothing starts before
    ``not_before``."""

    location: Location
    duration: timedelta
    skills: frozenset[str]
    windows: tuple[Interval, ...]
    not_before: datetime


@dataclass(frozen=True, slots=True)
class Slot:
    technician_id: int
    day: date
    window_start: datetime
    window_end: datetime
    start: datetime  # the planned start of service (the ETA) inside the window
    added_travel_seconds: int

    @property
    def added_travel_minutes(self) -> int:
        return math.ceil(self.added_travel_seconds / 60)


def arrival_windows(working: WorkingDay, width: timedelta) -> list[Interval]:
    """The day's working windows cut into pieces ``width`` long (the last piece of a window
    may be shorter)."""
    out = []
    for a, b in working.windows:
        at = a
        while at < b:
            out.append((at, min(at + width, b)))
            at += width
    return out


def _minute_up(at: datetime) -> datetime:
    floor = at.replace(second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(minutes=1)


def _in_windows(at: datetime, windows: Sequence[Interval]) -> bool:
    return not windows or any(a <= at <= b for a, b in windows)


def best_in_window(day: TechnicianDay, need: Need, window: Interval,
                   travel: TravelTable) -> Slot | None:
    """The cheapest start of ``need`` on ``day`` inside arrival ``window`` (earliest on a
    tie), or None when every gap is too small."""
    ws, we = window
    if we <= need.not_before or not need.skills <= day.skills:
        return None
    working = day.working.windows
    stops: list[Stop | None] = [None, *day.stops, None]
    best: Slot | None = None
    for prev, nxt in zip(stops, stops[1:], strict=False):
        if nxt is not None and nxt.start <= ws:
            continue
        if prev is not None and prev.end > we:
            break
        here = prev.location if prev is not None else day.home
        there = nxt.location if nxt is not None else day.home
        leave = prev.end if prev is not None else working[0][0]
        earliest = advance(working, leave, travel.seconds(here, need.location))
        floor = max(earliest, ws, need.not_before + timedelta(seconds=1))
        candidates = {floor}
        candidates |= {a for a, _ in working if floor < a <= we}
        candidates |= {a for a, _ in need.windows if floor < a <= we}
        added = (travel.seconds(here, need.location) + travel.seconds(need.location, there)
                 - travel.seconds(here, there))
        if best is not None and added >= best.added_travel_seconds:
            continue
        for at in sorted({_minute_up(c) for c in candidates}):
            if at > we:
                break
            if not _in_windows(at, need.windows):
                continue
            placement = Placement(at, at + need.duration, need.location, need.skills)
            if check(day, placement, travel):
                continue
            best = Slot(day.technician_id, day.day, ws, we, at, added)
            break
    return best


def offer(days: Iterable[TechnicianDay], need: Need, travel: TravelTable, *,
          width: timedelta, limit: int) -> list[Slot]:
    """Up to ``limit`` arrival windows, cheapest added travel first (then earliest, then the
    technician's id); each window once, with the technician who takes it cheapest."""
    cheapest: dict[Interval, Slot] = {}
    for day in days:
        for window in arrival_windows(day.working, width):
            if window[0] < need.not_before:
                continue
            slot = best_in_window(day, need, window, travel)
            if slot is None:
                continue
            key = (slot.window_start, slot.window_end)
            known = cheapest.get(key)
            if known is None or _rank(slot) < _rank(known):
                cheapest[key] = slot
    return sorted(cheapest.values(), key=_rank)[:limit]


def _rank(slot: Slot) -> tuple[int, datetime, int]:
    return (slot.added_travel_seconds, slot.window_start, slot.technician_id)

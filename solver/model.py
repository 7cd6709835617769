"""The problem the solver takes: frozen dataclasses validated on construction.

Conventions (every class below follows them):

- Times are integer **seconds from the start of the horizon**; day ``d`` starts at
  ``d * 86400``. Durations are integer seconds.
- Ids are opaque strings. Collections are tuples (ordered) or frozensets.
- Malformed input raises ``ValueError`` whose message starts with the object and the
  field, e.g. ``"visit 'v7': windows[0]: end before start"``.
- Every class has ``to_dict()`` / ``from_dict()`` producing/consuming plain JSON types
  (``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``); the objects are
  also picklable.

Time semantics the engine and the validator share:

- A visit's ``windows`` bound the **start of service** (a technician arriving early
  waits). Service may run past the window end, but never past the shift's end plus the
  allowed overtime. Service is never interrupted by a break.
- A shift's ``windows`` are when the technician works. The route leaves the start
  location no earlier than ``windows[0].start`` (or ``current.available_from``) and reaches
  the end location no later than ``windows[-1].end + overtime_max``. The gap between two
  consecutive windows is a fixed break (nothing happens in it: no service, no travel).
- A :class:`Break` is taken in one piece, starting within ``[earliest_start,
  latest_start]``. It never overlaps service; between two consecutive stops (or the route
  start/end) the elapsed time must cover the travel plus the breaks placed there (travel
  may be interrupted by a break). A break lying wholly before the route's start or after
  its end need not be taken.
- Working time ("work") is travel plus service; waiting and breaks are not work.
  ``max_work`` caps it per shift. Overtime is the time the route ends after
  ``windows[-1].end``.
"""

from __future__ import annotations

import contextlib
import enum
import math
import operator
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DAY = 86_400
"""Seconds in a day; day ``d`` of the horizon starts at ``d * DAY``."""

MAX_PRIORITY = 10
"""Priorities run 0..MAX_PRIORITY; the unassigned penalty grows geometrically with it,
so the bound keeps penalties inside 64-bit objective arithmetic."""

CREW_SIZES = (1, 2)

CREW_START_STEP = 900
"""A crew visit (``crew_size`` 2) starts at the start of one of its start windows or at a
multiple of this many seconds inside one (every quarter hour): the technicians are
given a meeting time a dispatcher would give, and the solver and the validator both
reason over these start times only (so "no two technicians can be there at the same
time" is checked exactly)."""


def crew_start_times(windows: Iterable[tuple[int, int]]) -> list[int]:
    """The start times a crew visit may get within ``windows`` ((start, end) pairs of
    its start windows, see :data:`CREW_START_STEP`), ascending."""
    out: set[int] = set()
    for a, b in windows:
        out.add(a)
        out.update(range((a // CREW_START_STEP + 1) * CREW_START_STEP, b + 1, CREW_START_STEP))
    return sorted(out)


# --------------------------------------------------------------------------- helpers


MAX_VALUE = 2**40
"""Upper bound of every integer field (times, durations, costs, loads): far beyond any
real horizon, and low enough that no sum the engine forms can overflow 64 bits."""

MAX_RATE = 10**6
"""Upper bound of per-minute costs and per-visit weights."""


def _int(owner: str, name: str, value: Any, *, minimum: int | None = 0) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{owner}: {name}: expected an integer, got a boolean")
    try:
        out = operator.index(value)
    except TypeError:
        if isinstance(value, float) and value.is_integer():
            out = int(value)
        else:
            raise ValueError(f"{owner}: {name}: expected an integer, got {value!r}") from None
    if minimum is not None and out < minimum:
        raise ValueError(f"{owner}: {name}: must be >= {minimum}, got {out}")
    if out > MAX_VALUE:
        raise ValueError(f"{owner}: {name}: {out} is too large (max {MAX_VALUE})")
    return out


def _rate(owner: str, name: str, value: Any) -> int:
    out = _int(owner, name, value)
    if out > MAX_RATE:
        raise ValueError(f"{owner}: {name}: {out} is too large (max {MAX_RATE})")
    return out


def _opt_int(owner: str, name: str, value: Any, *, minimum: int | None = 0) -> int | None:
    return None if value is None else _int(owner, name, value, minimum=minimum)


def _number(owner: str, name: str, value: Any, *, minimum: float | None = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{owner}: {name}: expected a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{owner}: {name}: must be a finite number, got {value!r}")
    if minimum is not None and out < minimum:
        raise ValueError(f"{owner}: {name}: must be >= {minimum}, got {out}")
    return out


def _id(owner: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{owner}: {name}: expected a non-empty string, got {value!r}")
    return value


def _strings(owner: str, name: str, value: Any) -> frozenset[str]:
    if isinstance(value, str):
        raise ValueError(f"{owner}: {name}: expected a collection of strings, got a string")
    try:
        items = frozenset(value)
    except TypeError:
        raise ValueError(f"{owner}: {name}: expected a collection of strings") from None
    for item in items:
        if not isinstance(item, str) or not item:
            raise ValueError(f"{owner}: {name}: expected non-empty strings, got {item!r}")
    return items


def _tuple_of(owner: str, name: str, value: Any, cls: type) -> tuple:
    if isinstance(value, cls):
        value = (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(f"{owner}: {name}: expected a sequence of {cls.__name__}") from None
    for i, item in enumerate(items):
        if not isinstance(item, cls):
            raise ValueError(f"{owner}: {name}[{i}]: expected {cls.__name__}, got {item!r}")
    return items


@contextlib.contextmanager
def _prefix_errors(owner: str) -> Iterator[None]:
    """Names the owning object in errors raised while building its parts (a time window
    does not know which visit it belongs to), and turns missing keys into ValueError."""
    try:
        yield
    except KeyError as exc:
        raise ValueError(f"{owner}: {exc.args[0]}: missing") from None
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"{owner}: malformed ({exc})") from None
    except ValueError as exc:
        msg = str(exc)
        raise ValueError(msg if msg.startswith(owner) else f"{owner}: {msg}") from None


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def _sorted(values: Iterable[Any]) -> list:
    return sorted(values)


# --------------------------------------------------------------------------- places and time


@dataclass(frozen=True, slots=True)
class Location:
    """A place: WGS84 coordinates in degrees, and/or ``index``, the row/column of a given
    :class:`TravelMatrix`. With a given matrix every location needs an index; without one,
    every location needs coordinates."""

    lat: float | None = None
    lon: float | None = None
    index: int | None = None

    def __post_init__(self) -> None:
        owner = "location"
        if (self.lat is None) != (self.lon is None):
            raise ValueError(f"{owner}: lat/lon: give both coordinates or neither")
        if self.lat is not None:
            lat = _number(owner, "lat", self.lat, minimum=None)
            lon = _number(owner, "lon", self.lon, minimum=None)
            if not -90.0 <= lat <= 90.0:
                raise ValueError(f"{owner}: lat: {lat} is outside [-90, 90]")
            if not -180.0 <= lon <= 180.0:
                raise ValueError(f"{owner}: lon: {lon} is outside [-180, 180]")
            _set(self, "lat", lat)
            _set(self, "lon", lon)
        _set(self, "index", _opt_int(owner, "index", self.index))
        if self.lat is None and self.index is None:
            raise ValueError(f"{owner}: needs coordinates (lat, lon) or a matrix index")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.lat is not None:
            out["lat"], out["lon"] = self.lat, self.lon
        if self.index is not None:
            out["index"] = self.index
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Location:
        return cls(lat=d.get("lat"), lon=d.get("lon"), index=d.get("index"))


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """``[start, end]`` in seconds from the start of the horizon, ``end >= start``."""

    start: int
    end: int

    def __post_init__(self) -> None:
        _set(self, "start", _int("time window", "start", self.start))
        _set(self, "end", _int("time window", "end", self.end))
        if self.end < self.start:
            raise ValueError(f"time window: end before start ({self.end} < {self.start})")

    @property
    def length(self) -> int:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TimeWindow:
        return cls(start=d["start"], end=d["end"])


def _windows(owner: str, name: str, value: Any) -> tuple[TimeWindow, ...]:
    try:
        return _tuple_of(owner, name, value, TimeWindow)
    except ValueError:
        raise
    except Exception as exc:  # pragma: no cover - defensive
        raise ValueError(f"{owner}: {name}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Break:
    """A break of ``duration`` seconds starting in ``[earliest_start, latest_start]``;
    fixed when both are equal ("60 min between 12:00 and 14:00" is earliest 12:00,
    latest 13:00, duration 3600)."""

    earliest_start: int
    latest_start: int
    duration: int

    def __post_init__(self) -> None:
        _set(self, "earliest_start", _int("break", "earliest_start", self.earliest_start))
        _set(self, "latest_start", _int("break", "latest_start", self.latest_start))
        _set(self, "duration", _int("break", "duration", self.duration, minimum=1))
        if self.latest_start < self.earliest_start:
            raise ValueError("break: latest_start before earliest_start")

    @property
    def fixed(self) -> bool:
        return self.earliest_start == self.latest_start

    def to_dict(self) -> dict[str, Any]:
        return {
            "earliest_start": self.earliest_start,
            "latest_start": self.latest_start,
            "duration": self.duration,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Break:
        return cls(d["earliest_start"], d["latest_start"], d["duration"])


@dataclass(frozen=True, slots=True)
class Shift:
    """One working day of a technician.

    ``windows``: sorted, non-overlapping working windows (08:00-12:00 and 13:30-17:30 ->
    the 12:00-13:30 gap is a fixed break). ``breaks``: extra breaks (see the module doc).
    ``max_work``: cap on travel + service seconds (``None``: only the windows limit it).
    ``overtime_max``: how long after ``windows[-1].end`` the route may end; every minute
    of it costs ``overtime_cost_per_minute`` (cost units, see :class:`Weights`).
    """

    day: int
    windows: tuple[TimeWindow, ...]
    breaks: tuple[Break, ...] = ()
    max_work: int | None = None
    overtime_max: int = 0
    overtime_cost_per_minute: int = 3

    def __post_init__(self) -> None:
        owner = "shift"
        _set(self, "day", _int(owner, "day", self.day))
        owner = f"shift (day {self.day})"
        windows = _windows(owner, "windows", self.windows)
        if not windows:
            raise ValueError(f"{owner}: windows: at least one working window is required")
        for i, w in enumerate(windows):
            if w.length <= 0:
                raise ValueError(f"{owner}: windows[{i}]: has no positive length")
            if i and w.start < windows[i - 1].end:
                raise ValueError(f"{owner}: windows[{i}]: overlaps or precedes windows[{i - 1}]")
        _set(self, "windows", windows)
        breaks = _tuple_of(owner, "breaks", self.breaks, Break)
        _set(self, "breaks", tuple(sorted(breaks, key=lambda b: (b.earliest_start, b.latest_start))))
        _set(self, "max_work", _opt_int(owner, "max_work", self.max_work))
        _set(self, "overtime_max", _int(owner, "overtime_max", self.overtime_max))
        _set(
            self,
            "overtime_cost_per_minute",
            _rate(owner, "overtime_cost_per_minute", self.overtime_cost_per_minute),
        )

    @property
    def start(self) -> int:
        return self.windows[0].start

    @property
    def end(self) -> int:
        """Regular end of the shift (without overtime)."""
        return self.windows[-1].end

    @property
    def latest_end(self) -> int:
        return self.windows[-1].end + self.overtime_max

    def gap_breaks(self) -> tuple[Break, ...]:
        """The fixed breaks implied by the gaps between working windows."""
        return tuple(
            Break(a.end, a.end, b.start - a.end)
            for a, b in zip(self.windows, self.windows[1:], strict=False)
            if b.start > a.end
        )

    def all_breaks(self) -> tuple[Break, ...]:
        return tuple(
            sorted(self.gap_breaks() + self.breaks, key=lambda b: (b.earliest_start, b.latest_start))
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "windows": [w.to_dict() for w in self.windows],
            "breaks": [b.to_dict() for b in self.breaks],
            "max_work": self.max_work,
            "overtime_max": self.overtime_max,
            "overtime_cost_per_minute": self.overtime_cost_per_minute,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Shift:
        return cls(
            day=d["day"],
            windows=tuple(TimeWindow.from_dict(w) for w in d["windows"]),
            breaks=tuple(Break.from_dict(b) for b in d.get("breaks", ())),
            max_work=d.get("max_work"),
            overtime_max=d.get("overtime_max", 0),
            overtime_cost_per_minute=d.get("overtime_cost_per_minute", 3),
        )


@dataclass(frozen=True, slots=True)
class CurrentPosition:
    """Where a technician is during the day (re-planning): on shift ``day`` the route
    starts at ``location`` no earlier than ``available_from``."""

    day: int
    location: Location
    available_from: int

    def __post_init__(self) -> None:
        _set(self, "day", _int("current position", "day", self.day))
        if not isinstance(self.location, Location):
            raise ValueError("current position: location: expected a Location")
        _set(
            self,
            "available_from",
            _int("current position", "available_from", self.available_from),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "location": self.location.to_dict(),
            "available_from": self.available_from,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CurrentPosition:
        return cls(d["day"], Location.from_dict(d["location"]), d["available_from"])


# --------------------------------------------------------------------------- people and work


@dataclass(frozen=True, slots=True)
class Technician:
    """A technician. ``end=None`` means the route ends where it started. ``zones``: the
    zones the technician serves (empty: every zone). ``capacity``: load limit for visits
    with a ``demand`` (``None``: unlimited). ``travel_cost_per_minute``: cost units per
    minute of travel (see :class:`Weights`)."""

    id: str
    start: Location
    shifts: tuple[Shift, ...]
    skills: frozenset[str] = frozenset()
    end: Location | None = None
    travel_cost_per_minute: int = 1
    zones: frozenset[str] = frozenset()
    capacity: int | None = None
    current: CurrentPosition | None = None

    def __post_init__(self) -> None:
        _set(self, "id", _id("technician", "id", self.id))
        owner = f"technician {self.id!r}"
        if not isinstance(self.start, Location):
            raise ValueError(f"{owner}: start: expected a Location")
        if self.end is not None and not isinstance(self.end, Location):
            raise ValueError(f"{owner}: end: expected a Location or None")
        shifts = _tuple_of(owner, "shifts", self.shifts, Shift)
        days = [s.day for s in shifts]
        if len(set(days)) != len(days):
            raise ValueError(f"{owner}: shifts: two shifts on the same day")
        _set(self, "shifts", tuple(sorted(shifts, key=lambda s: s.day)))
        _set(self, "skills", _strings(owner, "skills", self.skills))
        _set(self, "zones", _strings(owner, "zones", self.zones))
        _set(
            self,
            "travel_cost_per_minute",
            _rate(owner, "travel_cost_per_minute", self.travel_cost_per_minute),
        )
        _set(self, "capacity", _opt_int(owner, "capacity", self.capacity))
        if self.current is not None:
            if not isinstance(self.current, CurrentPosition):
                raise ValueError(f"{owner}: current: expected a CurrentPosition or None")
            if self.current.day not in days:
                raise ValueError(f"{owner}: current.day: no shift on day {self.current.day}")

    def shift_on(self, day: int) -> Shift | None:
        for s in self.shifts:
            if s.day == day:
                return s
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "start": self.start.to_dict(),
            "end": None if self.end is None else self.end.to_dict(),
            "shifts": [s.to_dict() for s in self.shifts],
            "skills": _sorted(self.skills),
            "travel_cost_per_minute": self.travel_cost_per_minute,
            "zones": _sorted(self.zones),
            "capacity": self.capacity,
            "current": None if self.current is None else self.current.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Technician:
        with _prefix_errors(f"technician {d.get('id')!r}"):
            return cls._from_dict(d)

    @classmethod
    def _from_dict(cls, d: Mapping[str, Any]) -> Technician:
        return cls(
            id=d["id"],
            start=Location.from_dict(d["start"]),
            end=None if d.get("end") is None else Location.from_dict(d["end"]),
            shifts=tuple(Shift.from_dict(s) for s in d.get("shifts", ())),
            skills=frozenset(d.get("skills", ())),
            travel_cost_per_minute=d.get("travel_cost_per_minute", 1),
            zones=frozenset(d.get("zones", ())),
            capacity=d.get("capacity"),
            current=None if d.get("current") is None else CurrentPosition.from_dict(d["current"]),
        )


@dataclass(frozen=True, slots=True)
class Pin:
    """Keeps a visit where it is: on ``technician_id`` and/or ``day`` and/or with service
    starting exactly at ``start``. At least one field is set. A pinned visit is left
    unassigned only when it cannot be served at all (its penalty is ``Weights.pinned``)."""

    technician_id: str | None = None
    day: int | None = None
    start: int | None = None

    def __post_init__(self) -> None:
        if self.technician_id is not None:
            _id("pin", "technician_id", self.technician_id)
        _set(self, "day", _opt_int("pin", "day", self.day))
        _set(self, "start", _opt_int("pin", "start", self.start))
        if self.technician_id is None and self.day is None and self.start is None:
            raise ValueError("pin: set at least one of technician_id, day, start")

    def to_dict(self) -> dict[str, Any]:
        return {"technician_id": self.technician_id, "day": self.day, "start": self.start}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Pin:
        return cls(d.get("technician_id"), d.get("day"), d.get("start"))


@dataclass(frozen=True, slots=True)
class Visit:
    """One trip of one technician to one site.

    ``windows``: hard windows for the start of service (one or more; a window with
    ``start == end`` is an exact appointment). ``soft_window``: the promised window;
    starting before its start is not allowed (the technician waits), starting after its
    end costs ``lateness_cost_per_minute`` (``None``: ``Weights.lateness_per_minute``).
    ``deadline``: SLA; starting service after it costs ``Weights.deadline_per_minute``.
    ``skills``: all required. ``priority``: 0..10, higher wins (see :class:`Weights`).
    ``allowed_days``: ``None`` for any day. ``preferred_technicians``: soft;
    ``excluded_technicians``: hard. ``zone``: when set, only technicians serving it (or
    serving every zone). ``demand``: load against ``Technician.capacity``.
    ``crew_size``: technicians needed at the same time. A crew visit is served by
    ``crew_size`` different technicians, each with every required skill and eligible by
    the rules above, on the same day, all starting service at the same time (one of
    :func:`crew_start_times`) and each busy for the whole ``duration``; it appears as a
    stop on each of their routes, or not at all. A pin's ``technician_id`` allows only
    that technician, so a crew visit pinned to one technician cannot be served.
    """

    id: str
    location: Location
    duration: int
    windows: tuple[TimeWindow, ...]
    skills: frozenset[str] = frozenset()
    priority: int = 0
    soft_window: TimeWindow | None = None
    lateness_cost_per_minute: int | None = None
    deadline: int | None = None
    allowed_days: frozenset[int] | None = None
    preferred_technicians: frozenset[str] = frozenset()
    excluded_technicians: frozenset[str] = frozenset()
    pin: Pin | None = None
    zone: str | None = None
    demand: int = 0
    crew_size: int = 1

    def __post_init__(self) -> None:
        _set(self, "id", _id("visit", "id", self.id))
        owner = f"visit {self.id!r}"
        if not isinstance(self.location, Location):
            raise ValueError(f"{owner}: location: expected a Location")
        _set(self, "duration", _int(owner, "duration", self.duration))
        try:
            windows = _windows(owner, "windows", self.windows)
        except ValueError as exc:
            raise ValueError(f"{owner}: windows: {exc}") from None
        if not windows:
            raise ValueError(f"{owner}: windows: at least one time window is required")
        if not any(w.length > 0 for w in windows):
            raise ValueError(
                f"{owner}: windows: no window of positive length (pin.start fixes an exact time)"
            )
        windows = tuple(sorted(windows, key=lambda w: (w.start, w.end)))
        for i in range(1, len(windows)):
            if windows[i].start <= windows[i - 1].end:
                raise ValueError(f"{owner}: windows: windows overlap or touch; merge them")
        _set(self, "windows", windows)
        if self.soft_window is not None and not isinstance(self.soft_window, TimeWindow):
            raise ValueError(f"{owner}: soft_window: expected a TimeWindow or None")
        _set(
            self,
            "lateness_cost_per_minute",
            None
            if self.lateness_cost_per_minute is None
            else _rate(owner, "lateness_cost_per_minute", self.lateness_cost_per_minute),
        )
        _set(self, "deadline", _opt_int(owner, "deadline", self.deadline))
        _set(self, "skills", _strings(owner, "skills", self.skills))
        _set(self, "priority", _int(owner, "priority", self.priority))
        if self.priority > MAX_PRIORITY:
            raise ValueError(f"{owner}: priority: must be <= {MAX_PRIORITY}")
        if self.allowed_days is not None:
            try:
                days = frozenset(_int(owner, "allowed_days", d) for d in self.allowed_days)
            except TypeError:
                raise ValueError(f"{owner}: allowed_days: expected a collection of days") from None
            if not days:
                raise ValueError(f"{owner}: allowed_days: empty (use None for any day)")
            _set(self, "allowed_days", days)
        _set(self, "preferred_technicians", _strings(owner, "preferred_technicians", self.preferred_technicians))
        _set(self, "excluded_technicians", _strings(owner, "excluded_technicians", self.excluded_technicians))
        if self.pin is not None and not isinstance(self.pin, Pin):
            raise ValueError(f"{owner}: pin: expected a Pin or None")
        if self.pin is not None and self.pin.technician_id in self.excluded_technicians:
            raise ValueError(f"{owner}: pin.technician_id: the technician is excluded")
        if self.zone is not None:
            _id(owner, "zone", self.zone)
        _set(self, "demand", _int(owner, "demand", self.demand))
        _set(self, "crew_size", _int(owner, "crew_size", self.crew_size))
        if self.crew_size not in CREW_SIZES:
            raise ValueError(f"{owner}: crew_size: must be 1 or 2")

    def start_windows(self) -> tuple[TimeWindow, ...]:
        """Hard windows for the start of service, cut by the soft window's start and the
        pin's exact start; empty when nothing is left."""
        lo = self.soft_window.start if self.soft_window is not None else None
        if self.pin is not None and self.pin.start is not None:
            ws = tuple(
                TimeWindow(self.pin.start, self.pin.start)
                for w in self.windows
                if w.start <= self.pin.start <= w.end and (lo is None or self.pin.start >= lo)
            )
            return ws
        out = []
        for w in self.windows:
            s = w.start if lo is None else max(w.start, lo)
            if s <= w.end:
                out.append(TimeWindow(s, w.end))
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "location": self.location.to_dict(),
            "duration": self.duration,
            "windows": [w.to_dict() for w in self.windows],
            "skills": _sorted(self.skills),
            "priority": self.priority,
            "soft_window": None if self.soft_window is None else self.soft_window.to_dict(),
            "lateness_cost_per_minute": self.lateness_cost_per_minute,
            "deadline": self.deadline,
            "allowed_days": None if self.allowed_days is None else _sorted(self.allowed_days),
            "preferred_technicians": _sorted(self.preferred_technicians),
            "excluded_technicians": _sorted(self.excluded_technicians),
            "pin": None if self.pin is None else self.pin.to_dict(),
            "zone": self.zone,
            "demand": self.demand,
            "crew_size": self.crew_size,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Visit:
        with _prefix_errors(f"visit {d.get('id')!r}"):
            return cls._from_dict(d)

    @classmethod
    def _from_dict(cls, d: Mapping[str, Any]) -> Visit:
        days = d.get("allowed_days")
        return cls(
            id=d["id"],
            location=Location.from_dict(d["location"]),
            duration=d["duration"],
            windows=tuple(TimeWindow.from_dict(w) for w in d["windows"]),
            skills=frozenset(d.get("skills", ())),
            priority=d.get("priority", 0),
            soft_window=None if d.get("soft_window") is None else TimeWindow.from_dict(d["soft_window"]),
            lateness_cost_per_minute=d.get("lateness_cost_per_minute"),
            deadline=d.get("deadline"),
            allowed_days=None if days is None else frozenset(days),
            preferred_technicians=frozenset(d.get("preferred_technicians", ())),
            excluded_technicians=frozenset(d.get("excluded_technicians", ())),
            pin=None if d.get("pin") is None else Pin.from_dict(d["pin"]),
            zone=d.get("zone"),
            demand=d.get("demand", 0),
            crew_size=d.get("crew_size", 1),
        )


# --------------------------------------------------------------------------- travel and weights


class TravelMatrix:
    """Given travel: ``durations[i][j]`` integer seconds, ``distances[i][j]`` metres
    (float, double precision allowed; ``None``: no distances, reported as 0). Indexed by
    ``Location.index``. Stored as read-only NumPy arrays (int64 / float64); equality
    compares contents. Not a dataclass so that NumPy arrays stay cheap; it is immutable,
    picklable and serialisable like the rest."""

    __slots__ = ("_distances", "_durations")

    def __init__(self, durations: Any, distances: Any = None) -> None:
        if isinstance(durations, np.ndarray) and np.issubdtype(durations.dtype, np.integer):
            dur_i = np.array(durations, dtype=np.int64)
        else:
            try:
                dur = np.array(durations, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError("matrix: durations: expected a square matrix of numbers") from None
            if dur.ndim == 2 and not np.all(np.isfinite(dur)):
                raise ValueError("matrix: durations: contains NaN or infinite values")
            if np.any(dur != np.round(dur)):
                raise ValueError("matrix: durations: must be integer seconds")
            dur_i = dur.astype(np.int64)
        if dur_i.ndim != 2 or dur_i.shape[0] != dur_i.shape[1]:
            raise ValueError(f"matrix: durations: expected a square matrix, got shape {dur_i.shape}")
        if np.any(dur_i < 0):
            raise ValueError("matrix: durations: contains negative values")
        if dur_i.size and int(dur_i.max()) > MAX_VALUE:
            raise ValueError("matrix: durations: a value is too large")
        dur_i.setflags(write=False)
        dur = dur_i
        dist_f = None
        if distances is not None:
            try:
                dist_f = np.array(distances, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError("matrix: distances: expected a square matrix of numbers") from None
            if dist_f.shape != dur.shape:
                raise ValueError(
                    f"matrix: distances: shape {dist_f.shape} differs from durations {dur.shape}"
                )
            if not np.all(np.isfinite(dist_f)):
                raise ValueError("matrix: distances: contains NaN or infinite values")
            if np.any(dist_f < 0):
                raise ValueError("matrix: distances: contains negative values")
            if dist_f.size and float(dist_f.max()) > MAX_VALUE:
                raise ValueError("matrix: distances: a value is too large")
            dist_f.setflags(write=False)
        object.__setattr__(self, "_durations", dur_i)
        object.__setattr__(self, "_distances", dist_f)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("TravelMatrix is immutable")

    @property
    def durations(self) -> np.ndarray:
        return self._durations

    @property
    def distances(self) -> np.ndarray | None:
        return self._distances

    @property
    def size(self) -> int:
        return int(self._durations.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TravelMatrix):
            return NotImplemented
        if not np.array_equal(self._durations, other._durations):
            return False
        if self._distances is None or other._distances is None:
            return self._distances is None and other._distances is None
        return bool(np.array_equal(self._distances, other._distances))

    def __hash__(self) -> int:
        return hash((self.size, self._durations.tobytes()))

    def __repr__(self) -> str:
        return f"TravelMatrix(size={self.size}, distances={self._distances is not None})"

    def __getstate__(self) -> tuple:
        return (self._durations, self._distances)

    def __setstate__(self, state: tuple) -> None:
        object.__setattr__(self, "_durations", state[0])
        object.__setattr__(self, "_distances", state[1])

    def __reduce__(self) -> tuple:
        return (TravelMatrix, (self._durations, self._distances))

    def to_dict(self) -> dict[str, Any]:
        return {
            "durations": self._durations.tolist(),
            "distances": None if self._distances is None else self._distances.tolist(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TravelMatrix:
        return cls(d["durations"], d.get("distances"))


@dataclass(frozen=True, slots=True)
class TravelSettings:
    """How travel is estimated when no matrix is given: great-circle distance times
    ``detour_factor`` (roads are not straight; 1.3 is the usual urban/regional figure),
    driven at ``speed_kmh`` (an average including junctions and parking)."""

    speed_kmh: float = 40.0
    detour_factor: float = 1.3

    def __post_init__(self) -> None:
        speed = _number("travel", "speed_kmh", self.speed_kmh)
        if speed <= 0:
            raise ValueError("travel: speed_kmh: must be positive")
        detour = _number("travel", "detour_factor", self.detour_factor)
        if detour < 1.0:
            raise ValueError("travel: detour_factor: must be >= 1")
        _set(self, "speed_kmh", speed)
        _set(self, "detour_factor", detour)

    def to_dict(self) -> dict[str, Any]:
        return {"speed_kmh": self.speed_kmh, "detour_factor": self.detour_factor}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TravelSettings:
        return cls(d.get("speed_kmh", 40.0), d.get("detour_factor", 1.3))


@dataclass(frozen=True, slots=True)
class Weights:
    """Objective weights, in **cost units**; one cost unit is one minute of travel at
    the default ``Technician.travel_cost_per_minute`` of 1. Costs per minute are charged
    per second pro rata. The defaults encode the order of importance:

    - ``unassigned`` (100 000) for leaving a priority-0 visit unassigned, multiplied by
      ``priority_factor`` (3) per priority level: a priority-p visit outweighs
      ``priority_factor`` visits of priority p-1, and any visit outweighs days of travel
      or lateness. ``pinned`` replaces it for pinned visits (10x the top priority).
    - ``deadline_per_minute`` (10) past a visit's SLA deadline and
      ``lateness_per_minute`` (5, default of ``Visit.lateness_cost_per_minute``) past a
      soft window: lateness is preferred to dropping a visit.
    - overtime: ``Shift.overtime_cost_per_minute`` (default 3).
    - travel: ``Technician.travel_cost_per_minute`` (default 1), plus
      ``distance_per_km`` (0) per kilometre driven.
    - ``not_preferred`` (30, once per visit served by a technician outside its non-empty
      ``preferred_technicians``; for a crew visit once per such member of the crew).
    - ``moved`` (60, once per visit of ``Problem.previous`` not served by its previous
      technician on its previous day; a crew visit is not moved while that technician
      is in its crew on that day): stability when re-planning.

    A crew visit pays its unassigned penalty once; the lateness it is served with counts
    on each member's route (each technician starts late).
    - ``balance_per_minute`` (0: off): charged on the longest working time (travel +
      service) of any technician-day, which pulls workloads together.
    - ``route_fixed`` (0): cost of each technician-day that has at least one visit.
    """

    unassigned: int = 100_000
    priority_factor: int = 3
    pinned: int | None = None
    deadline_per_minute: int = 10
    lateness_per_minute: int = 5
    distance_per_km: float = 0.0
    not_preferred: int = 30
    moved: int = 60
    balance_per_minute: int = 0
    route_fixed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "unassigned",
            "priority_factor",
            "deadline_per_minute",
            "lateness_per_minute",
            "not_preferred",
            "moved",
            "balance_per_minute",
            "route_fixed",
        ):
            _set(self, name, _int("weights", name, getattr(self, name)))
            if name != "unassigned" and getattr(self, name) > MAX_RATE:
                raise ValueError(f"weights: {name}: too large (max {MAX_RATE})")
        if self.priority_factor < 1:
            raise ValueError("weights: priority_factor: must be >= 1")
        _set(self, "pinned", _opt_int("weights", "pinned", self.pinned))
        _set(self, "distance_per_km", _number("weights", "distance_per_km", self.distance_per_km))
        if self.unassigned * self.priority_factor**MAX_PRIORITY > 10**13:
            raise ValueError(
                "weights: unassigned: unassigned * priority_factor**10 must stay <= 1e13"
            )

    def unassigned_penalty(self, visit: Visit) -> int:
        """Cost units for leaving ``visit`` unassigned."""
        if visit.pin is not None:
            return self.pinned_penalty
        return self.unassigned * self.priority_factor**visit.priority

    @property
    def pinned_penalty(self) -> int:
        if self.pinned is not None:
            return self.pinned
        return 10 * self.unassigned * self.priority_factor**MAX_PRIORITY

    def to_dict(self) -> dict[str, Any]:
        return {
            "unassigned": self.unassigned,
            "priority_factor": self.priority_factor,
            "pinned": self.pinned,
            "deadline_per_minute": self.deadline_per_minute,
            "lateness_per_minute": self.lateness_per_minute,
            "distance_per_km": self.distance_per_km,
            "not_preferred": self.not_preferred,
            "moved": self.moved,
            "balance_per_minute": self.balance_per_minute,
            "route_fixed": self.route_fixed,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Weights:
        defaults = cls()
        return cls(**{k: d.get(k, getattr(defaults, k)) for k in defaults.to_dict()})


@dataclass(frozen=True, slots=True)
class PreviousAssignment:
    """Where a visit was in the previous plan (for the stability term)."""

    visit_id: str
    technician_id: str
    day: int

    def __post_init__(self) -> None:
        _id("previous", "visit_id", self.visit_id)
        _id("previous", "technician_id", self.technician_id)
        _set(self, "day", _int("previous", "day", self.day))

    def to_dict(self) -> dict[str, Any]:
        return {"visit_id": self.visit_id, "technician_id": self.technician_id, "day": self.day}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PreviousAssignment:
        return cls(d["visit_id"], d["technician_id"], d["day"])


# --------------------------------------------------------------------------- the problem


@dataclass(frozen=True, slots=True)
class Problem:
    """Everything the solver needs.

    ``matrix``: a given travel matrix (every location then needs an ``index``); when
    ``None``, travel is estimated from coordinates with ``travel``. ``skills``: the skill
    catalogue; when given, a reference to any other skill is an error. ``previous``:
    visit id -> (technician id, day) of the previous plan, or a sequence of
    :class:`PreviousAssignment`. ``horizon_days``: days ``0..horizon_days-1`` (default:
    up to the last shift day).
    """

    technicians: tuple[Technician, ...]
    visits: tuple[Visit, ...]
    weights: Weights = field(default_factory=Weights)
    matrix: TravelMatrix | None = None
    travel: TravelSettings = field(default_factory=TravelSettings)
    previous: tuple[PreviousAssignment, ...] = ()
    skills: frozenset[str] | None = None
    horizon_days: int | None = None

    def __post_init__(self) -> None:
        techs = _tuple_of("problem", "technicians", self.technicians, Technician)
        visits = _tuple_of("problem", "visits", self.visits, Visit)
        _set(self, "technicians", techs)
        _set(self, "visits", visits)
        if not isinstance(self.weights, Weights):
            raise ValueError("problem: weights: expected Weights")
        if not isinstance(self.travel, TravelSettings):
            raise ValueError("problem: travel: expected TravelSettings")
        if self.matrix is not None and not isinstance(self.matrix, TravelMatrix):
            raise ValueError("problem: matrix: expected a TravelMatrix or None")
        tech_ids = [t.id for t in techs]
        dup = _first_duplicate(tech_ids)
        if dup is not None:
            raise ValueError(f"technician {dup!r}: id: duplicate technician id")
        dup = _first_duplicate([v.id for v in visits])
        if dup is not None:
            raise ValueError(f"visit {dup!r}: id: duplicate visit id")
        known_techs = frozenset(tech_ids)

        last_day = max((s.day for t in techs for s in t.shifts), default=-1)
        horizon = self.horizon_days if self.horizon_days is not None else last_day + 1
        horizon = _int("problem", "horizon_days", horizon)
        if horizon <= last_day:
            raise ValueError(
                f"problem: horizon_days: {horizon} does not cover shift day {last_day}"
            )
        _set(self, "horizon_days", horizon)

        if self.skills is not None:
            catalogue = _strings("problem", "skills", self.skills)
            _set(self, "skills", catalogue)
            for t in techs:
                unknown = t.skills - catalogue
                if unknown:
                    raise ValueError(
                        f"technician {t.id!r}: skills: unknown skill {min(unknown)!r}"
                    )
            for v in visits:
                unknown = v.skills - catalogue
                if unknown:
                    raise ValueError(f"visit {v.id!r}: skills: unknown skill {min(unknown)!r}")

        # travel: every location resolvable
        locations: list[tuple[str, Location]] = []
        for t in techs:
            locations.append((f"technician {t.id!r}: start", t.start))
            if t.end is not None:
                locations.append((f"technician {t.id!r}: end", t.end))
            if t.current is not None:
                locations.append((f"technician {t.id!r}: current.location", t.current.location))
        for v in visits:
            locations.append((f"visit {v.id!r}: location", v.location))
        for where, loc in locations:
            if self.matrix is not None:
                if loc.index is None:
                    raise ValueError(f"{where}: index: required with a given matrix")
                if loc.index >= self.matrix.size:
                    raise ValueError(
                        f"{where}: index: {loc.index} is outside the {self.matrix.size}x"
                        f"{self.matrix.size} matrix"
                    )
            elif loc.lat is None:
                raise ValueError(f"{where}: lat/lon: coordinates required without a matrix")

        # with no shift at all (everybody off) visits are simply unassigned, not malformed
        longest = max((s.latest_end - s.start for t in techs for s in t.shifts), default=None)
        for v in visits:
            owner = f"visit {v.id!r}"
            if longest is not None and v.duration > longest:
                raise ValueError(
                    f"{owner}: duration: {v.duration} s is longer than any shift ({longest} s)"
                )
            unknown = (v.preferred_technicians | v.excluded_technicians) - known_techs
            if unknown:
                raise ValueError(
                    f"{owner}: preferred/excluded_technicians: unknown technician {min(unknown)!r}"
                )
            pin_tech = v.pin.technician_id if v.pin is not None else None
            if pin_tech is not None and pin_tech not in known_techs:
                raise ValueError(f"{owner}: pin.technician_id: unknown technician {pin_tech!r}")
            if v.pin is not None and v.pin.day is not None and v.pin.day >= horizon:
                raise ValueError(f"{owner}: pin.day: {v.pin.day} is outside the horizon")
            if v.pin is not None and v.pin.start is not None and not v.start_windows():
                raise ValueError(f"{owner}: pin.start: outside every time window of the visit")
            if v.allowed_days is not None and max(v.allowed_days) >= horizon:
                raise ValueError(f"{owner}: allowed_days: a day is outside the horizon")
            if (
                v.soft_window is not None
                and not v.start_windows()
            ):
                raise ValueError(f"{owner}: soft_window: starts after every hard window")

        prev = self.previous
        if isinstance(prev, Mapping):
            items = []
            for vid, value in prev.items():
                if isinstance(value, PreviousAssignment):
                    items.append(value)
                else:
                    try:
                        tid, day = value
                    except (TypeError, ValueError):
                        raise ValueError(
                            f"problem: previous[{vid!r}]: expected (technician_id, day)"
                        ) from None
                    items.append(PreviousAssignment(vid, tid, day))
            prev = items
        prev = _tuple_of("problem", "previous", prev, PreviousAssignment)
        visit_ids = {v.id for v in visits}
        seen: set[str] = set()
        for p in prev:
            if p.visit_id in seen:
                raise ValueError(f"problem: previous: visit {p.visit_id!r} appears twice")
            seen.add(p.visit_id)
            # a previous plan may mention visits that are gone (done, cancelled): ignored
            if p.visit_id in visit_ids and p.technician_id not in known_techs:
                # the technician may have left: the visit simply has no stable home
                pass
        _set(self, "previous", tuple(sorted(prev, key=lambda p: p.visit_id)))

    def previous_of(self, visit_id: str) -> PreviousAssignment | None:
        for p in self.previous:
            if p.visit_id == visit_id:
                return p
        return None

    def technician(self, technician_id: str) -> Technician:
        for t in self.technicians:
            if t.id == technician_id:
                return t
        raise KeyError(technician_id)

    def visit(self, visit_id: str) -> Visit:
        for v in self.visits:
            if v.id == visit_id:
                return v
        raise KeyError(visit_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "technicians": [t.to_dict() for t in self.technicians],
            "visits": [v.to_dict() for v in self.visits],
            "weights": self.weights.to_dict(),
            "matrix": None if self.matrix is None else self.matrix.to_dict(),
            "travel": self.travel.to_dict(),
            "previous": [p.to_dict() for p in self.previous],
            "skills": None if self.skills is None else _sorted(self.skills),
            "horizon_days": self.horizon_days,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Problem:
        skills = d.get("skills")
        return cls(
            technicians=tuple(Technician.from_dict(t) for t in d.get("technicians", ())),
            visits=tuple(Visit.from_dict(v) for v in d.get("visits", ())),
            weights=Weights.from_dict(d.get("weights") or {}),
            matrix=None if d.get("matrix") is None else TravelMatrix.from_dict(d["matrix"]),
            travel=TravelSettings.from_dict(d.get("travel") or {}),
            previous=tuple(PreviousAssignment.from_dict(p) for p in d.get("previous", ())),
            skills=None if skills is None else frozenset(skills),
            horizon_days=d.get("horizon_days"),
        )


def _first_duplicate(items: Iterable[str]) -> str | None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None


# --------------------------------------------------------------------------- solve parameters


class FirstSolution(enum.StrEnum):
    """Construction heuristic. ``AUTOMATIC`` lets the engine pick (it uses parallel
    cheapest insertion for field-service problems, which handles optional visits well)."""

    AUTOMATIC = "AUTOMATIC"
    PATH_CHEAPEST_ARC = "PATH_CHEAPEST_ARC"
    PARALLEL_CHEAPEST_INSERTION = "PARALLEL_CHEAPEST_INSERTION"
    LOCAL_CHEAPEST_INSERTION = "LOCAL_CHEAPEST_INSERTION"
    SEQUENTIAL_CHEAPEST_INSERTION = "SEQUENTIAL_CHEAPEST_INSERTION"
    SAVINGS = "SAVINGS"
    CHRISTOFIDES = "CHRISTOFIDES"


class LocalSearch(enum.StrEnum):
    AUTOMATIC = "AUTOMATIC"
    GUIDED_LOCAL_SEARCH = "GUIDED_LOCAL_SEARCH"
    SIMULATED_ANNEALING = "SIMULATED_ANNEALING"
    TABU_SEARCH = "TABU_SEARCH"
    GREEDY_DESCENT = "GREEDY_DESCENT"
    NONE = "NONE"


@dataclass(frozen=True, slots=True)
class SolveParams:
    """How to solve (not what).

    The default pipeline (``first_solution=AUTOMATIC``): a fast construction of our own
    (the first feasible plan), ruin-and-recreate for most of the time, then OR-Tools'
    local search over the full model (a descent to a local optimum with
    ``local_search=AUTOMATIC``, or the chosen metaheuristic for the time left). On large
    problems (``solver.solve.DECOMPOSE_MIN_VEHICLES`` vehicles and
    ``DECOMPOSE_MIN_VISITS`` visits) OR-Tools' descent runs over a few neighbouring routes
    at a time instead (``solver.decompose``), in turn with ruin and recreate. Any other
    ``first_solution`` runs plain OR-Tools: its construction strategy, then
    ``local_search`` (guided local search with ``AUTOMATIC``). ``local_search=NONE``
    stops after the construction.

    ``time_limit_s``: the budget. The solver is deterministic for a given problem, seed
    and time limit: the limit is turned into a work budget in machine-independent units
    (:func:`solver.solve.work_budget`: ruin-and-recreate steps and OR-Tools solutions;
    PyVRP iterations in the portfolio), calibrated so that the work normally ends within
    the limit on a loaded 2-core machine. The wall clock is only a safety net: on a
    machine so slow or busy that it ends a phase first, the plan is still valid but may
    differ between runs, and says so (``Plan.deadline_hit``). The plain OR-Tools
    pipeline (an explicit ``first_solution``) runs by the clock unless ``solution_limit``
    ends it first. ``seed``: the random seed. ``iterations`` / ``solution_limit``:
    override the ruin-and-recreate steps / OR-Tools solutions of the budget (explicit
    work, whatever the limit; on large problems ``solution_limit`` is the number of
    OR-Tools descents over a few routes). ``workers``: independent searches with
    seeds ``seed, seed+1, ...`` in separate processes, the best plan wins (ties: the
    lowest seed). ``on_progress(elapsed_s, best_objective)``: called on each new best
    plan, from the solving thread. ``cancel``: any object with ``is_set() -> bool``
    (``threading.Event``); when set, the search stops and the best plan so far comes
    back with status ``CANCELLED``. ``explain``: compute reasons for unassigned visits.
    ``on_progress`` and ``cancel`` are not serialised by ``to_dict``."""

    time_limit_s: float = 10.0
    seed: int = 0
    workers: int = 1
    solution_limit: int | None = None
    first_solution: FirstSolution = FirstSolution.AUTOMATIC
    local_search: LocalSearch = LocalSearch.AUTOMATIC
    on_progress: Any = None
    cancel: Any = None
    explain: bool = True
    iterations: int | None = None

    def __post_init__(self) -> None:
        t = _number("params", "time_limit_s", self.time_limit_s)
        if t <= 0:
            raise ValueError("params: time_limit_s: must be positive")
        _set(self, "time_limit_s", t)
        _set(self, "seed", _int("params", "seed", self.seed))
        _set(self, "workers", _int("params", "workers", self.workers, minimum=1))
        _set(self, "solution_limit", _opt_int("params", "solution_limit", self.solution_limit, minimum=1))
        _set(self, "iterations", _opt_int("params", "iterations", self.iterations))
        try:
            _set(self, "first_solution", FirstSolution(self.first_solution))
        except ValueError:
            raise ValueError(f"params: first_solution: unknown {self.first_solution!r}") from None
        try:
            _set(self, "local_search", LocalSearch(self.local_search))
        except ValueError:
            raise ValueError(f"params: local_search: unknown {self.local_search!r}") from None
        if self.on_progress is not None and not callable(self.on_progress):
            raise ValueError("params: on_progress: must be callable")
        if self.cancel is not None and not callable(getattr(self.cancel, "is_set", None)):
            raise ValueError("params: cancel: needs an is_set() method (threading.Event)")

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_limit_s": self.time_limit_s,
            "seed": self.seed,
            "workers": self.workers,
            "solution_limit": self.solution_limit,
            "first_solution": self.first_solution.value,
            "local_search": self.local_search.value,
            "explain": self.explain,
            "iterations": self.iterations,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SolveParams:
        defaults = cls()
        return cls(**{k: d.get(k, getattr(defaults, k)) for k in defaults.to_dict()})

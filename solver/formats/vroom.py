"""VROOM's public input format -> a :class:`solver.model.Problem`.

A migration path for teams that already feed VROOM, and a way to run both engines on the
same file. What is read (VROOM's ``docs/API.md``; ids become strings, skills too):

- ``jobs``: ``id``, ``location`` ([lon, lat]) or ``location_index``, ``service`` plus
  ``setup`` (added together: setup is charged on every visit, a safe over-estimate when
  two jobs share a place), ``skills`` (all required), ``priority`` 0..100 (mapped to our
  0..10 by ``ceil(p / 10)``, so any positive priority stays above 0), ``time_windows``
  (for the start of service; overlapping or touching windows are merged; a zero-length
  window ``[t, t]`` becomes ``[t, t + 1]`` since our model needs a window of positive
  length), ``delivery``/``pickup``/``amount`` (one dimension; the demand is the larger
  of delivery and pickup, exact when a file uses only one of them and on the safe side
  otherwise).
- ``vehicles``: ``id``, ``start``/``end`` or ``start_index``/``end_index`` (a missing one
  is an open route: it becomes a place at no distance from everything), ``skills``,
  ``time_window`` (the shift, on the day it starts), ``breaks`` (``service`` long,
  starting within the first of their ``time_windows``), ``capacity`` (one dimension).
- travel: ``matrices.<profile>.durations`` (and ``distances``) or the older top-level
  ``matrix``; without a matrix, the coordinates and our default travel estimate.

Times: VROOM's times are either relative to the horizon or absolute timestamps. When the
earliest time is a date (from :data:`ABSOLUTE_FROM` on), day 0 is the UTC day of the
earliest time and every time is shifted by ``origin`` (seconds to add back to get
VROOM's timestamps); otherwise times are kept as they are. Windows left open (a
vehicle without ``time_window``, a job without ``time_windows``) span the horizon:
from 0 to the last time mentioned plus enough to serve every job and travel between
them.

Keys with no counterpart in our model (``max_travel_time``, ``max_tasks``,
``max_distance``, ``speed_factor``, ``costs``, vehicle ``steps``, ``*_per_type``,
several break windows) are not silently dropped: each one met is listed in
:attr:`VroomImport.notes`. ``shipments`` are rejected: pickup-and-delivery pairs are not
field-service visits. Malformed input raises ``ValueError`` naming the key
(``jobs[2].time_windows[0]: end before start``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.model import (
    DAY,
    MAX_PRIORITY,
    Break,
    Location,
    Problem,
    Shift,
    Technician,
    TimeWindow,
    TravelMatrix,
    TravelSettings,
    Visit,
)
from solver.travel import GreatCircle, haversine_m

VROOM_MAX_PRIORITY = 100
ABSOLUTE_FROM = 365 * DAY
"""Times from one year on are read as timestamps: no relative horizon is that long, and
no timestamp of a real plan is that small (it would be in 1971)."""


@dataclass(frozen=True, slots=True)
class VroomImport:
    """The problem, the time ``origin`` (VROOM time = our time + origin) and the notes on
    what could not be carried over exactly."""

    problem: Problem
    origin: int
    notes: tuple[str, ...]


def looks_vroom(data: Any) -> bool:
    return isinstance(data, Mapping) and ("vehicles" in data or "jobs" in data)


# --------------------------------------------------------------------------- small readers


def _fail(where: str, message: str) -> ValueError:
    return ValueError(f"{where}: {message}")


def _int(where: str, value: Any, *, minimum: int | None = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"expected an integer, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise _fail(where, f"expected an integer, got {value!r}")
        value = int(value)
    if minimum is not None and value < minimum:
        raise _fail(where, f"must be >= {minimum}, got {value}")
    return value


def _list(where: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(where, f"expected an array, got {type(value).__name__}")
    return value


def _object(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, f"expected an object, got {type(value).__name__}")
    return value


def _coordinates(where: str, value: Any) -> tuple[float, float]:
    """VROOM writes coordinates [lon, lat]; returns (lat, lon)."""
    items = _list(where, value)
    if len(items) != 2:
        raise _fail(where, "expected [lon, lat]")
    lon, lat = items
    for name, x in (("lon", lon), ("lat", lat)):
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise _fail(where, f"{name}: expected a finite number, got {x!r}")
    if not -90 <= lat <= 90:
        raise _fail(where, f"lat: {lat} is outside [-90, 90] (VROOM order is [lon, lat])")
    if not -180 <= lon <= 180:
        raise _fail(where, f"lon: {lon} is outside [-180, 180]")
    return float(lat), float(lon)


def _window(where: str, value: Any) -> tuple[int, int]:
    items = _list(where, value)
    if len(items) != 2:
        raise _fail(where, "expected [start, end]")
    start = _int(f"{where}[0]", items[0])
    end = _int(f"{where}[1]", items[1])
    if end < start:
        raise _fail(where, f"end before start ({end} < {start})")
    return start, end


def _amount(where: str, value: Any) -> int:
    items = _list(where, value)
    if len(items) > 1 and any(_int(f"{where}[{i}]", x) for i, x in enumerate(items[1:], 1)):
        raise _fail(where, "only one capacity dimension is supported")
    return _int(f"{where}[0]", items[0]) if items else 0


def _skills(where: str, value: Any) -> frozenset[str]:
    return frozenset(str(_int(f"{where}[{i}]", s)) for i, s in enumerate(_list(where, value)))


def _id(where: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise _fail(where, f"expected an integer id, got {value!r}")
    return str(value)


# --------------------------------------------------------------------------- the reader


class _Reader:
    def __init__(self, data: Any, travel: TravelSettings | None) -> None:
        self.data = _object("(top level)", data)
        self.travel = travel or TravelSettings()
        self.notes: list[str] = []
        self.jobs = [_object(f"jobs[{i}]", j) for i, j in
                     enumerate(_list("jobs", self.data.get("jobs", [])))]
        self.vehicles = [_object(f"vehicles[{i}]", v) for i, v in
                         enumerate(_list("vehicles", self.data.get("vehicles", [])))]
        if not self.vehicles:
            raise _fail("vehicles", "at least one vehicle is required")
        if _list("shipments", self.data.get("shipments", [])):
            raise _fail("shipments", "pickup-and-delivery shipments are not supported")

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # ------------------------------------------------------------ travel

    def matrix(self) -> tuple[np.ndarray, np.ndarray | None] | None:
        profiles = {str(v.get("profile", "car")) for v in self.vehicles}
        if "matrices" in self.data:
            matrices = _object("matrices", self.data["matrices"])
            if len(profiles) > 1:
                raise _fail("vehicles", f"several profiles ({', '.join(sorted(profiles))}): "
                            "one travel matrix is supported")
            (profile,) = profiles
            if profile not in matrices:
                raise _fail("matrices", f"no matrix for profile {profile!r}")
            m = _object(f"matrices.{profile}", matrices[profile])
            if "durations" not in m:
                raise _fail(f"matrices.{profile}", "durations: missing")
            if "costs" in m:
                self.note(f"matrices.{profile}.costs: ignored; travel time is what we minimise")
            return (self._square(f"matrices.{profile}.durations", m["durations"]),
                    None if m.get("distances") is None
                    else self._square(f"matrices.{profile}.distances", m["distances"]))
        if "matrix" in self.data:
            return self._square("matrix", self.data["matrix"]), None
        return None

    @staticmethod
    def _square(where: str, value: Any) -> np.ndarray:
        rows = _list(where, value)
        try:
            out = np.array(rows, dtype=np.float64)
        except (TypeError, ValueError):
            raise _fail(where, "expected a square array of numbers") from None
        if out.ndim != 2 or out.shape[0] != out.shape[1]:
            raise _fail(where, f"expected a square array, got shape {out.shape}")
        if not np.all(np.isfinite(out)) or np.any(out < 0):
            raise _fail(where, "values must be finite and >= 0")
        return out

    # ------------------------------------------------------------ times

    def times(self) -> list[int]:
        out: list[int] = []
        for i, j in enumerate(self.jobs):
            for k, w in enumerate(_list(f"jobs[{i}].time_windows", j.get("time_windows", []))):
                out.extend(_window(f"jobs[{i}].time_windows[{k}]", w))
        for i, v in enumerate(self.vehicles):
            if v.get("time_window") is not None:
                out.extend(_window(f"vehicles[{i}].time_window", v["time_window"]))
            for b, brk in enumerate(_list(f"vehicles[{i}].breaks", v.get("breaks", []))):
                brk = _object(f"vehicles[{i}].breaks[{b}]", brk)
                for k, w in enumerate(_list(f"vehicles[{i}].breaks[{b}].time_windows",
                                            brk.get("time_windows", []))):
                    out.extend(_window(f"vehicles[{i}].breaks[{b}].time_windows[{k}]", w))
        return out

    # ------------------------------------------------------------ the whole file

    def read(self) -> VroomImport:
        given = self.matrix()
        times = self.times()
        origin = 0
        if times and min(times) >= ABSOLUTE_FROM:
            origin = (min(times) // DAY) * DAY

        # places: with a matrix, indices into it; without, coordinates
        open_ended = [v for v in self.vehicles if v.get("start", v.get("start_index")) is None
                      or v.get("end", v.get("end_index")) is None]
        if given is None and open_ended:
            given = self._estimated_matrix()
            with_index = True
            coords_are_indices = False
        else:
            with_index = given is not None
            coords_are_indices = True
        size = 0 if given is None else given[0].shape[0]
        anywhere: Location | None = None
        if open_ended:
            assert given is not None
            durations, distances = given
            durations = np.pad(durations, ((0, 1), (0, 1)))
            distances = None if distances is None else np.pad(distances, ((0, 1), (0, 1)))
            given = (durations, distances)
            anywhere = Location(index=size)

        coord_index: dict[tuple[float, float], int] = {}
        if given is not None and not coords_are_indices:
            coord_index = {c: i for i, c in enumerate(self._all_coordinates())}

        def place(where: str, obj: Mapping[str, Any], coord_key: str, index_key: str) -> Location:
            coords = obj.get(coord_key)
            latlon = None if coords is None else _coordinates(f"{where}.{coord_key}", coords)
            if not with_index:
                if latlon is None:
                    raise _fail(where, f"{coord_key}: coordinates required without a matrix")
                return Location(lat=latlon[0], lon=latlon[1])
            if coords_are_indices:
                if obj.get(index_key) is None:
                    raise _fail(where, f"{index_key}: required with a custom matrix")
                idx = _int(f"{where}.{index_key}", obj[index_key])
                if idx >= size:
                    raise _fail(f"{where}.{index_key}",
                                f"{idx} is outside the {size}x{size} matrix")
            else:
                assert latlon is not None
                idx = coord_index[latlon]
            if latlon is None:
                return Location(index=idx)
            return Location(lat=latlon[0], lon=latlon[1], index=idx)

        horizon = self._horizon(times, origin, given)
        visits = self._visits(place, origin, horizon)
        techs = self._technicians(place, anywhere, origin, horizon)
        matrix = None if given is None else TravelMatrix(np.rint(given[0]), given[1])
        if given is not None and np.any(given[0] != np.rint(given[0])):
            self.note("matrix durations: rounded to whole seconds")
        try:
            problem = Problem(technicians=tuple(techs), visits=tuple(visits), matrix=matrix,
                              travel=self.travel)
        except ValueError as exc:
            raise ValueError(f"converted problem: {exc}") from None
        return VroomImport(problem, origin, tuple(self.notes))

    def _all_coordinates(self) -> list[tuple[float, float]]:
        seen: dict[tuple[float, float], None] = {}
        for i, v in enumerate(self.vehicles):
            for key in ("start", "end"):
                if v.get(key) is not None:
                    seen.setdefault(_coordinates(f"vehicles[{i}].{key}", v[key]))
        for i, j in enumerate(self.jobs):
            if j.get("location") is None:
                raise _fail(f"jobs[{i}]", "location: coordinates required without a matrix")
            seen.setdefault(_coordinates(f"jobs[{i}].location", j["location"]))
        return list(seen)

    def _estimated_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """Open routes need a place at no distance from everything, hence a matrix: the
        default estimate over the file's coordinates."""
        coords = self._all_coordinates()
        locations = [Location(lat=a, lon=b) for a, b in coords]
        m = GreatCircle.from_settings(self.travel).matrix(locations)
        dist = m.distances if m.distances is not None else np.zeros(m.durations.shape)
        return m.durations.astype(np.float64), np.array(dist, dtype=np.float64)

    def _max_travel(self, given: tuple[np.ndarray, np.ndarray | None] | None) -> int:
        if given is not None:
            return int(given[0].max()) if given[0].size else 0
        coords = self._all_coordinates()
        if not coords:
            return 0
        lats = [c[0] for c in coords]
        lons = [c[1] for c in coords]
        # the bounding box's diagonal bounds every pairwise distance (up to the sphere's
        # curvature, covered by the margin)
        d = float(haversine_m(min(lats), min(lons), max(lats), max(lons)))
        d *= self.travel.detour_factor * 1.5
        return int(math.ceil(d * 3.6 / self.travel.speed_kmh)) + 1

    def _horizon(self, times: list[int], origin: int, given: Any) -> int:
        """The end of open windows: after every time mentioned, with room to serve every
        job and drive between them."""
        last = max((t - origin for t in times), default=0)
        work = sum(self._duration(f"jobs[{i}]", j) for i, j in enumerate(self.jobs))
        return last + work + (len(self.jobs) + 1) * self._max_travel(given)

    def _duration(self, where: str, job: Mapping[str, Any]) -> int:
        return _int(f"{where}.service", job.get("service", 0)) + _int(
            f"{where}.setup", job.get("setup", 0)
        )

    def _windows(self, where: str, raw: list[Any], origin: int, horizon: int) -> list[TimeWindow]:
        spans = sorted(
            _window(f"{where}[{k}]", w) for k, w in enumerate(raw)
        )
        merged: list[list[int]] = []
        for a, b in spans:
            a, b = a - origin, b - origin
            if a < 0:
                raise _fail(where, f"a time before the horizon's origin {origin}")
            b = min(b, max(horizon, a))
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        out = []
        for a, b in merged:
            if a == b:
                self.note("time_windows: a zero-length window [t, t] is read as [t, t + 1]")
                b = a + 1
            out.append(TimeWindow(a, b))
        # widening may have made neighbours touch
        fused: list[TimeWindow] = []
        for w in out:
            if fused and w.start <= fused[-1].end:
                fused[-1] = TimeWindow(fused[-1].start, max(fused[-1].end, w.end))
            else:
                fused.append(w)
        return fused

    def _visits(self, place: Any, origin: int, horizon: int) -> list[Visit]:
        out = []
        seen: set[str] = set()
        for i, j in enumerate(self.jobs):
            where = f"jobs[{i}]"
            vid = _id(f"{where}.id", j.get("id"))
            if vid in seen:
                raise _fail(f"{where}.id", f"duplicate job id {vid}")
            seen.add(vid)
            if _int(f"{where}.setup", j.get("setup", 0)):
                self.note("jobs: setup is added to the service time of every job")
            for key in ("setup_per_type", "service_per_type"):
                if j.get(key):
                    self.note(f"jobs: {key}: ignored (one duration per job)")
            raw = _list(f"{where}.time_windows", j.get("time_windows", []))
            windows = (
                self._windows(f"{where}.time_windows", raw, origin, horizon)
                if raw
                else [TimeWindow(0, horizon)]
            )
            priority = _int(f"{where}.priority", j.get("priority", 0))
            if priority > VROOM_MAX_PRIORITY:
                raise _fail(f"{where}.priority", f"must be <= {VROOM_MAX_PRIORITY}")
            delivery = _amount(f"{where}.delivery", j.get("delivery", j.get("amount", [])))
            pickup = _amount(f"{where}.pickup", j.get("pickup", []))
            if delivery and pickup:
                self.note("jobs: delivery and pickup together: the larger one is the demand")
            location = place(where, j, "location", "location_index")
            try:
                out.append(
                    Visit(
                        id=vid,
                        location=location,
                        duration=self._duration(where, j),
                        windows=tuple(windows),
                        skills=_skills(f"{where}.skills", j.get("skills", [])),
                        priority=min(MAX_PRIORITY, math.ceil(priority / 10)),
                        demand=max(delivery, pickup),
                    )
                )
            except ValueError as exc:
                raise _fail(where, str(exc)) from None
        return out

    def _technicians(
        self, place: Any, anywhere: Location | None, origin: int, horizon: int
    ) -> list[Technician]:
        out = []
        seen: set[str] = set()
        for i, v in enumerate(self.vehicles):
            where = f"vehicles[{i}]"
            tid = _id(f"{where}.id", v.get("id"))
            if tid in seen:
                raise _fail(f"{where}.id", f"duplicate vehicle id {tid}")
            seen.add(tid)
            has_start = v.get("start", v.get("start_index")) is not None
            has_end = v.get("end", v.get("end_index")) is not None
            if not has_start and not has_end:
                raise _fail(where, "start or end is required")
            start = place(where, v, "start", "start_index") if has_start else anywhere
            end = place(where, v, "end", "end_index") if has_end else anywhere
            assert start is not None and end is not None
            if v.get("time_window") is not None:
                a, b = _window(f"{where}.time_window", v["time_window"])
                a, b = a - origin, min(b - origin, max(horizon, a - origin + 1))
                if a < 0:
                    raise _fail(f"{where}.time_window", f"before the horizon's origin {origin}")
                if a == b:
                    raise _fail(f"{where}.time_window", "has no positive length")
            else:
                a, b = 0, horizon
            breaks = self._breaks(where, v, origin, a, b)
            for key in ("max_travel_time", "max_tasks", "max_distance", "costs", "steps"):
                if v.get(key) is not None:
                    self.note(f"vehicles: {key}: not supported, ignored")
            if v.get("speed_factor", 1) != 1:
                self.note("vehicles: speed_factor: not supported, ignored")
            capacity = None
            if v.get("capacity") is not None:
                capacity = _amount(f"{where}.capacity", v["capacity"])
            try:
                out.append(
                    Technician(
                        id=tid,
                        start=start,
                        end=end,
                        shifts=(Shift(day=a // DAY, windows=(TimeWindow(a, b),),
                                      breaks=tuple(breaks)),),
                        skills=_skills(f"{where}.skills", v.get("skills", [])),
                        capacity=capacity,
                    )
                )
            except ValueError as exc:
                raise _fail(where, str(exc)) from None
        return out

    def _breaks(
        self, where: str, vehicle: Mapping[str, Any], origin: int, start: int, end: int
    ) -> list[Break]:
        out = []
        raw = _list(f"{where}.breaks", vehicle.get("breaks", []))
        for b, brk in enumerate(raw):
            bw = f"{where}.breaks[{b}]"
            brk = _object(bw, brk)
            duration = _int(f"{bw}.service", brk.get("service", 0))
            windows = [
                _window(f"{bw}.time_windows[{k}]", w)
                for k, w in enumerate(_list(f"{bw}.time_windows", brk.get("time_windows", [])))
            ]
            if duration == 0:
                self.note("vehicles: breaks of no duration are ignored")
                continue
            if len(windows) > 1:
                self.note("vehicles: a break with several time_windows keeps the first one")
            lo, hi = (windows[0][0] - origin, windows[0][1] - origin) if windows else (start, end)
            out.append(Break(max(lo, 0), max(hi, 0), duration))
        return out


def from_vroom(data: Any, *, travel: TravelSettings | None = None) -> VroomImport:
    """Read a parsed VROOM input document. ``travel``: how to estimate travel from
    coordinates when the file gives no matrix (default: our great-circle estimate)."""
    return _Reader(data, travel).read()


__all__ = ["ABSOLUTE_FROM", "VroomImport", "from_vroom", "looks_vroom"]

"""Travel-time providers: from a list of locations to a :class:`TravelMatrix`.

- :class:`GreatCircle` (default): haversine distance computed vectorised with NumPy,
  times a detour factor, driven at an average speed (:class:`solver.model.TravelSettings`).
- :class:`GivenMatrix`: picks rows/columns of a matrix the caller already has.
- :class:`Osrm`: asks an OSRM server's ``table`` service over HTTP.

:func:`with_matrix` turns a coordinates-only problem into one carrying a matrix, so that a
run can be replayed later with exactly the same travel times (e.g. after an OSRM call).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import numpy as np

from solver.model import (
    CurrentPosition,
    Location,
    Problem,
    Technician,
    TravelMatrix,
    TravelSettings,
    Visit,
)

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), the sphere great-circle distances are measured on."""


class TravelProvider(Protocol):
    def matrix(self, locations: Sequence[Location]) -> TravelMatrix:
        """Travel between every pair of ``locations``, in their order: durations in
        integer seconds, distances in metres."""
        ...


def haversine_m(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance in metres between points given in degrees (broadcasts)."""
    p1, l1 = np.radians(np.asarray(lat1, dtype=np.float64)), np.radians(np.asarray(lon1, dtype=np.float64))
    p2, l2 = np.radians(np.asarray(lat2, dtype=np.float64)), np.radians(np.asarray(lon2, dtype=np.float64))
    a = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def great_circle_matrix_m(lats: Any, lons: Any) -> np.ndarray:
    """All-pairs great-circle distances in metres (n x n, float64).

    Through the chord between unit vectors (2 R asin(chord / 2)): one arcsine per pair
    and no cancellation for short distances; about 4x faster than the haversine form."""
    lat = np.radians(np.asarray(lats, dtype=np.float64))
    lon = np.radians(np.asarray(lons, dtype=np.float64))
    cos_lat = np.cos(lat)
    acc: np.ndarray | None = None
    for x in (cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)):
        d = np.subtract.outer(x, x)
        np.square(d, out=d)
        if acc is None:
            acc = d
        else:
            acc += d
    assert acc is not None
    np.sqrt(acc, out=acc)
    acc *= 0.5
    np.clip(acc, 0.0, 1.0, out=acc)
    np.arcsin(acc, out=acc)
    acc *= 2.0 * EARTH_RADIUS_M
    return acc


def _coordinates(locations: Sequence[Location]) -> tuple[np.ndarray, np.ndarray]:
    lats = np.empty(len(locations))
    lons = np.empty(len(locations))
    for i, loc in enumerate(locations):
        if loc.lat is None or loc.lon is None:
            raise ValueError(f"locations[{i}]: lat/lon: coordinates required")
        lats[i], lons[i] = loc.lat, loc.lon
    return lats, lons


@dataclass(frozen=True, slots=True)
class GreatCircle:
    """Road distance ~ great-circle distance x ``detour_factor``; time = that distance at
    ``speed_kmh``, rounded to the second."""

    speed_kmh: float = TravelSettings().speed_kmh
    detour_factor: float = TravelSettings().detour_factor

    @classmethod
    def from_settings(cls, settings: TravelSettings) -> GreatCircle:
        return cls(settings.speed_kmh, settings.detour_factor)

    def distances_m(self, lats: Any, lons: Any) -> np.ndarray:
        d = great_circle_matrix_m(lats, lons)
        d *= self.detour_factor
        return d

    def durations_s(self, distances_m: np.ndarray) -> np.ndarray:
        return np.rint(distances_m * (3.6 / self.speed_kmh)).astype(np.int64)

    def matrix(self, locations: Sequence[Location]) -> TravelMatrix:
        lats, lons = _coordinates(locations)
        dist = self.distances_m(lats, lons)
        return TravelMatrix(self.durations_s(dist), dist)

    def between(self, a: Location, b: Location) -> tuple[int, float]:
        """(seconds, metres) from ``a`` to ``b``."""
        d = float(haversine_m(a.lat, a.lon, b.lat, b.lon)) * self.detour_factor
        return int(round(d * 3.6 / self.speed_kmh)), d


@dataclass(frozen=True, slots=True)
class GivenMatrix:
    """Uses ``Location.index`` into a matrix the caller supplies."""

    source: TravelMatrix

    def matrix(self, locations: Sequence[Location]) -> TravelMatrix:
        idx = []
        for i, loc in enumerate(locations):
            if loc.index is None or loc.index >= self.source.size:
                raise ValueError(f"locations[{i}]: index: missing or outside the matrix")
            idx.append(loc.index)
        ix = np.asarray(idx, dtype=np.int64)
        dur = self.source.durations[np.ix_(ix, ix)]
        dist = None if self.source.distances is None else self.source.distances[np.ix_(ix, ix)]
        return TravelMatrix(dur, dist)


class OsrmError(RuntimeError):
    """The OSRM server failed or answered something unusable."""


@dataclass(frozen=True, slots=True)
class Osrm:
    """OSRM ``table`` service (``GET {url}/table/v1/{profile}/{lon,lat;...}``), asked in
    blocks of ``chunk`` x ``chunk`` locations (OSRM's default ``max-table-size`` is 100).
    Pairs OSRM cannot route (``null``) fall back to the great-circle estimate
    ``fallback``. ``client``: an ``httpx.Client`` to reuse (tests pass one)."""

    url: str
    profile: str = "driving"
    timeout_s: float = 30.0
    chunk: int = 100
    fallback: GreatCircle = GreatCircle()
    client: Any = None

    def matrix(self, locations: Sequence[Location]) -> TravelMatrix:
        lats, lons = _coordinates(locations)
        n = len(locations)
        dur = np.zeros((n, n), dtype=np.float64)
        dist = np.zeros((n, n), dtype=np.float64)
        if n == 0:
            return TravelMatrix(dur, dist)
        client = self.client or httpx.Client(timeout=self.timeout_s)
        try:
            for s0 in range(0, n, self.chunk):
                src = list(range(s0, min(n, s0 + self.chunk)))
                for d0 in range(0, n, self.chunk):
                    dst = list(range(d0, min(n, d0 + self.chunk)))
                    self._block(client, lats, lons, src, dst, dur, dist)
        finally:
            if self.client is None:
                client.close()
        missing = np.isnan(dur) | np.isnan(dist)
        if missing.any():
            est = self.fallback.distances_m(lats, lons)
            dist[missing] = est[missing]
            dur[missing] = self.fallback.durations_s(est)[missing]
        np.fill_diagonal(dur, 0.0)
        np.fill_diagonal(dist, 0.0)
        return TravelMatrix(np.rint(dur).astype(np.int64), dist)

    def _block(
        self,
        client: Any,
        lats: np.ndarray,
        lons: np.ndarray,
        src: list[int],
        dst: list[int],
        dur: np.ndarray,
        dist: np.ndarray,
    ) -> None:
        nodes = sorted(set(src) | set(dst))
        pos = {node: k for k, node in enumerate(nodes)}
        coords = ";".join(f"{lons[i]:.6f},{lats[i]:.6f}" for i in nodes)
        params = {
            "sources": ";".join(str(pos[i]) for i in src),
            "destinations": ";".join(str(pos[j]) for j in dst),
            "annotations": "duration,distance",
        }
        url = f"{self.url.rstrip('/')}/table/v1/{self.profile}/{coords}"
        try:
            resp = client.get(url, params=params, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise OsrmError(f"OSRM request failed: {exc}") from exc
        if resp.status_code != 200:
            raise OsrmError(f"OSRM answered HTTP {resp.status_code}: {resp.text[:200]}")
        try:
            body = resp.json()
        except ValueError as exc:
            raise OsrmError("OSRM answered something that is not JSON") from exc
        if body.get("code") != "Ok":
            raise OsrmError(f"OSRM error {body.get('code')}: {body.get('message', '')}")
        for key, out in (("durations", dur), ("distances", dist)):
            rows = body.get(key)
            if not isinstance(rows, list) or len(rows) != len(src):
                raise OsrmError(f"OSRM answer has no usable {key}")
            block = np.array(
                [[np.nan if x is None else float(x) for x in row] for row in rows],
                dtype=np.float64,
            )
            if block.shape != (len(src), len(dst)):
                raise OsrmError(f"OSRM {key} has shape {block.shape}")
            out[np.ix_(src, dst)] = block


# --------------------------------------------------------------------------- problems


def problem_locations(problem: Problem) -> list[Location]:
    """Every location the problem mentions, deduplicated, in a stable order (technician
    start, end, current; then visits)."""
    seen: dict[Location, None] = {}
    for t in problem.technicians:
        seen.setdefault(t.start)
        if t.end is not None:
            seen.setdefault(t.end)
        if t.current is not None:
            seen.setdefault(t.current.location)
    for v in problem.visits:
        seen.setdefault(v.location)
    return list(seen)


def provider_for(problem: Problem) -> TravelProvider:
    """The provider the problem itself describes: its matrix, or great-circle."""
    if problem.matrix is not None:
        return GivenMatrix(problem.matrix)
    return GreatCircle.from_settings(problem.travel)


def with_matrix(problem: Problem, provider: TravelProvider) -> Problem:
    """The same problem with travel fixed by ``provider``: every location gets an
    ``index`` into the new ``Problem.matrix`` (coordinates are kept)."""
    locations = problem_locations(problem)
    matrix = provider.matrix(locations)
    if matrix.size != len(locations):
        raise ValueError("provider: matrix: size differs from the number of locations")
    index = {loc: i for i, loc in enumerate(locations)}

    def re(loc: Location) -> Location:
        return Location(loc.lat, loc.lon, index[loc])

    def tech(t: Technician) -> Technician:
        current = t.current
        if current is not None:
            current = CurrentPosition(current.day, re(current.location), current.available_from)
        return dataclasses.replace(
            t,
            start=re(t.start),
            end=None if t.end is None else re(t.end),
            current=current,
        )

    def visit(v: Visit) -> Visit:
        return dataclasses.replace(v, location=re(v.location))

    return dataclasses.replace(
        problem,
        technicians=tuple(tech(t) for t in problem.technicians),
        visits=tuple(visit(v) for v in problem.visits),
        matrix=matrix,
    )

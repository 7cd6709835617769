"""Reader for Solomon and Gehring & Homberger VRPTW instance files.

Both families share one plain-text layout::

    C101

    VEHICLE
    NUMBER     CAPACITY
      25         200

    CUSTOMER
    CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

        0      40         50          0          0       1236          0
        1      45         68         10        912        967         90

Row 0 is the depot; its due date closes the horizon. Times are in the instance's own
unit, and by the benchmarks' convention travelling one unit of Euclidean distance takes
one unit of time. The reader returns a small neutral structure; mapping it to a solver
problem is the caller's business.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solver.model import (
    Location,
    Problem,
    Shift,
    Technician,
    TimeWindow,
    TravelMatrix,
    Visit,
    Weights,
)

Number = int | float


@dataclass(frozen=True, slots=True)
class Site:
    """The depot or one customer: a row of the CUSTOMER table."""

    id: int
    x: float
    y: float
    demand: int
    ready: Number
    due: Number
    service: Number


@dataclass(frozen=True, slots=True)
class SolomonInstance:
    name: str
    vehicles: int
    capacity: int
    depot: Site
    customers: tuple[Site, ...]

    @property
    def sites(self) -> tuple[Site, ...]:
        """Depot first, then the customers in file order (the matrix index order)."""
        return (self.depot, *self.customers)

    def distance_matrix(self) -> np.ndarray:
        """Euclidean distances in double precision between all sites, depot at index 0."""
        xy = np.array([(s.x, s.y) for s in self.sites], dtype=np.float64)
        diff = xy[:, None, :] - xy[None, :, :]
        return np.sqrt((diff * diff).sum(axis=2))


def _number(token: str, field: str, line_no: int) -> Number:
    try:
        value = float(token)
    except ValueError:
        raise ValueError(f"line {line_no}: {field} is not a number: {token!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"line {line_no}: {field} is not finite: {token!r}")
    return int(value) if value.is_integer() else value


def _integer(token: str, field: str, line_no: int) -> int:
    value = _number(token, field, line_no)
    if not isinstance(value, int):
        raise ValueError(f"line {line_no}: {field} must be a whole number: {token!r}")
    return value


_COLUMNS = ("id", "x", "y", "demand", "ready", "due", "service")


def parse_solomon(text: str, *, name: str | None = None) -> SolomonInstance:
    """Parse the text of a Solomon / Gehring & Homberger file.

    ``name`` defaults to the first non-empty line of the file. Raises ``ValueError``
    naming the line and field on malformed input.
    """
    lines = [(no, raw.strip()) for no, raw in enumerate(text.splitlines(), start=1)]
    lines = [(no, line) for no, line in lines if line]
    if not lines:
        raise ValueError("empty instance file")
    title = name if name is not None else lines[0][1]

    upper = [line.upper() for _, line in lines]
    try:
        v_at = upper.index("VEHICLE")
        c_at = upper.index("CUSTOMER")
    except ValueError:
        raise ValueError("missing VEHICLE or CUSTOMER section") from None

    vehicle_rows = [(no, line) for no, line in lines[v_at + 1 : c_at] if line[0].isdigit()]
    if len(vehicle_rows) != 1 or len(vehicle_rows[0][1].split()) != 2:
        raise ValueError("VEHICLE section must hold one row: NUMBER CAPACITY")
    v_no, v_line = vehicle_rows[0]
    number_token, capacity_token = v_line.split()
    vehicles = _integer(number_token, "vehicle number", v_no)
    capacity = _integer(capacity_token, "capacity", v_no)
    if vehicles <= 0:
        raise ValueError(f"line {v_no}: vehicle number must be positive")
    if capacity < 0:
        raise ValueError(f"line {v_no}: capacity must not be negative")

    sites: list[Site] = []
    for no, line in lines[c_at + 1 :]:
        if not (line[0].isdigit() or line[0] in "+-."):
            continue  # the column header (one or two lines)
        tokens = line.split()
        if len(tokens) != len(_COLUMNS):
            raise ValueError(f"line {no}: expected {len(_COLUMNS)} columns, got {len(tokens)}")
        site = Site(
            id=_integer(tokens[0], "customer number", no),
            x=float(_number(tokens[1], "x coordinate", no)),
            y=float(_number(tokens[2], "y coordinate", no)),
            demand=_integer(tokens[3], "demand", no),
            ready=_number(tokens[4], "ready time", no),
            due=_number(tokens[5], "due date", no),
            service=_number(tokens[6], "service time", no),
        )
        if site.demand < 0:
            raise ValueError(f"line {no}: demand must not be negative")
        if site.service < 0:
            raise ValueError(f"line {no}: service time must not be negative")
        if site.due < site.ready:
            raise ValueError(f"line {no}: due date lies before ready time")
        sites.append(site)

    if not sites:
        raise ValueError("CUSTOMER section has no rows")
    ids = [s.id for s in sites]
    if len(set(ids)) != len(ids):
        raise ValueError("customer numbers are not unique")
    if sites[0].demand != 0:
        raise ValueError("the first CUSTOMER row is the depot and must have zero demand")
    return SolomonInstance(
        name=title, vehicles=vehicles, capacity=capacity, depot=sites[0],
        customers=tuple(sites[1:]),
    )


def read_solomon(path: str | Path) -> SolomonInstance:
    """Read an instance file; the name is the file's own title line."""
    return parse_solomon(Path(path).read_text(encoding="utf-8", errors="strict"))


def instance_class(name: str) -> str:
    """Solomon's class of an instance name: C1, C2, R1, R2, RC1 or RC2.

    Works for Solomon names (``RC204``) and Gehring & Homberger names (``rc2_10_4``).
    """
    upper = name.upper()
    prefix = "RC" if upper.startswith("RC") else upper[:1]
    rest = upper[len(prefix):]
    if prefix not in {"C", "R", "RC"} or rest[:1] not in {"1", "2"}:
        raise ValueError(f"not a Solomon-style instance name: {name!r}")
    return prefix + rest[0]


TIME_SCALE = 1000
"""Solver seconds per instance time unit. The solver counts whole seconds; x1000 keeps
travel times to a thousandth of a unit, rounded up so that a plan feasible in whole
seconds is feasible in the benchmark's double precision too."""


def to_problem(instance: SolomonInstance, *, time_scale: int = TIME_SCALE) -> Problem:
    """The instance as a solver problem with the benchmark conventions: every vehicle a
    technician starting and ending at the depot with the depot's window as its shift,
    the capacity as given, travel time = Euclidean distance (x ``time_scale`` seconds,
    rounded up), distances in double precision (one instance unit = one "metre"), and a
    pure distance objective (one cost unit per unit of distance, no cost for time)."""
    dist = instance.distance_matrix()
    durations = np.ceil(dist * time_scale - 1e-9).astype(np.int64)
    np.fill_diagonal(durations, 0)
    depot = instance.depot
    shift = Shift(
        day=0,
        windows=(TimeWindow(math.ceil(depot.ready * time_scale), math.floor(depot.due * time_scale)),),
    )
    width = len(str(instance.vehicles))
    technicians = tuple(
        Technician(
            id=f"vehicle-{k + 1:0{width}d}",
            start=Location(index=0),
            shifts=(shift,),
            capacity=instance.capacity,
            travel_cost_per_minute=0,
        )
        for k in range(instance.vehicles)
    )
    visits = tuple(
        Visit(
            id=str(c.id),
            location=Location(index=i),
            duration=math.ceil(c.service * time_scale),
            windows=(TimeWindow(math.ceil(c.ready * time_scale), math.floor(c.due * time_scale)),),
            demand=c.demand,
        )
        for i, c in enumerate(instance.customers, start=1)
    )
    return Problem(
        technicians=technicians,
        visits=visits,
        matrix=TravelMatrix(durations, dist),
        weights=Weights(distance_per_km=1000.0),
    )


def check_routes(
    instance: SolomonInstance, routes: Sequence[Sequence[int]]
) -> tuple[float, list[str]]:
    """Replays ``routes`` (customer numbers in visiting order, depot excluded) in double
    precision with the benchmark's own rules, independently of any solver mapping:
    leave the depot at its ready time, start each service at max(arrival, ready time)
    and no later than the due date, return by the depot's due date, stay within the
    capacity, serve no customer twice, use at most the fleet. Customers left out are not
    an error here (the caller counts them). Returns (total Euclidean distance, list of
    broken rules; empty when the routes are valid)."""
    sites = instance.sites
    pos = {s.id: k for k, s in enumerate(sites)}
    xy = np.array([(s.x, s.y) for s in sites], dtype=np.float64)

    def d(a: int, b: int) -> float:
        return float(math.hypot(xy[a, 0] - xy[b, 0], xy[a, 1] - xy[b, 1]))

    errors: list[str] = []
    used = [r for r in routes if r]
    if len(used) > instance.vehicles:
        errors.append(f"{len(used)} routes for a fleet of {instance.vehicles}")
    seen: dict[int, int] = {}
    total = 0.0
    for k, route in enumerate(used, start=1):
        t = float(instance.depot.ready)
        load = 0
        prev = 0
        for cid in route:
            if cid not in pos or pos[cid] == 0:
                errors.append(f"route {k}: unknown customer {cid}")
                continue
            seen[cid] = seen.get(cid, 0) + 1
            c = pos[cid]
            site = sites[c]
            total += d(prev, c)
            t = max(t + d(prev, c), float(site.ready))
            if t > site.due + 1e-9:
                errors.append(f"route {k}: customer {cid} served at {t:.4f} after due {site.due}")
            t += site.service
            load += site.demand
            prev = c
        total += d(prev, 0)
        t += d(prev, 0)
        if t > instance.depot.due + 1e-9:
            errors.append(f"route {k}: back at the depot at {t:.4f} after {instance.depot.due}")
        if load > instance.capacity:
            errors.append(f"route {k}: load {load} over capacity {instance.capacity}")
    for cid, n in sorted(seen.items()):
        if n > 1:
            errors.append(f"customer {cid} served {n} times")
    return total, errors

"""A generated field-service problem for benchmarks (``tecnico bench fsm``) and tests.

The picture it draws: a service company in a city of about 30 x 30 km (centred on Milan,
so the coordinates look real on a map). Customers cluster in neighbourhoods with some
spread over the whole area; technicians start from home or from the office. Each
technician has a few skills, works split shifts 08:00-12:00 / 13:30-17:30 (the gap is
lunch) or, for some, 08:00-17:00 with a flexible hour of lunch between 12:00 and 14:00.
Visits last 20-90 minutes, have one to three time windows (a whole day, a half day or a
two-hour appointment, possibly on different days), a priority and usually one or two
required skills that some technician has.

Everything is drawn from ``numpy.random.default_rng(seed)``: the same arguments give the
same problem.
"""

from __future__ import annotations

import math

import numpy as np

from solver.model import (
    DAY,
    Break,
    Location,
    Problem,
    Shift,
    Technician,
    TimeWindow,
    Visit,
)

CENTRE = (45.4642, 9.1900)
"""Milan's Piazza del Duomo: an inland city, so every generated point is on land."""

AREA_KM = 30.0
"""Side of the square service area (a city with its inner suburbs)."""

SKILLS = ("electrical", "plumbing", "hvac", "gas", "appliances", "elevators")

H = 3600


def _hm(hours: float) -> int:
    return int(round(hours * H))


MORNING = (_hm(8), _hm(12))
AFTERNOON = (_hm(13.5), _hm(17.5))
SLOTS = (
    # (start, end) of the start-of-service window within a day, with a weight
    ((_hm(8), _hm(17.5)), 0.0),  # whole day: only drawn for single-window visits
    (MORNING, 1.0),
    (AFTERNOON, 1.0),
    ((_hm(8), _hm(9.5)), 0.6),  # appointments: "between 8 and 9:30"
    ((_hm(10), _hm(11.5)), 0.6),
    ((_hm(13.5), _hm(15)), 0.6),
    ((_hm(15.5), _hm(17)), 0.6),
)
DURATIONS_MIN = (20, 30, 45, 60, 90)
DURATION_WEIGHTS = (0.15, 0.35, 0.25, 0.18, 0.07)
PRIORITY_WEIGHTS = (0.70, 0.20, 0.08, 0.02)


def _to_latlon(xy_km: np.ndarray) -> np.ndarray:
    """Local kilometres east/north of the centre -> (lat, lon) degrees."""
    lat0, lon0 = CENTRE
    km_per_deg_lat = 111.32
    km_per_deg_lon = 111.32 * math.cos(math.radians(lat0))
    lat = lat0 + xy_km[:, 1] / km_per_deg_lat
    lon = lon0 + xy_km[:, 0] / km_per_deg_lon
    return np.round(np.column_stack([lat, lon]), 6)


def _points(rng: np.random.Generator, n: int, clusters: np.ndarray, spread: float) -> np.ndarray:
    half = AREA_KM / 2
    out = np.empty((n, 2))
    clustered = rng.random(n) < spread
    k = rng.integers(0, len(clusters), size=n)
    sigma = rng.uniform(0.6, 2.2, size=len(clusters))
    out[clustered] = clusters[k[clustered]] + rng.normal(size=(int(clustered.sum()), 2)) * sigma[
        k[clustered], None
    ]
    out[~clustered] = rng.uniform(-half, half, size=(int((~clustered).sum()), 2))
    return np.clip(out, -half, half)


def _shifts(rng: np.random.Generator, days: int) -> tuple[Shift, ...]:
    split = rng.random() < 0.8
    shifts = []
    for d in range(days):
        base = d * DAY
        if split:
            windows = (
                TimeWindow(base + MORNING[0], base + MORNING[1]),
                TimeWindow(base + AFTERNOON[0], base + AFTERNOON[1]),
            )
            shifts.append(Shift(day=d, windows=windows))
        else:
            lunch = Break(base + _hm(12), base + _hm(13), _hm(1))
            shifts.append(
                Shift(day=d, windows=(TimeWindow(base + _hm(8), base + _hm(17)),), breaks=(lunch,))
            )
    return tuple(shifts)


def _windows(rng: np.random.Generator, days: int) -> tuple[TimeWindow, ...]:
    count = int(rng.choice((1, 2, 3), p=(0.5, 0.3, 0.2)))
    if count == 1 and rng.random() < 0.5:
        d = int(rng.integers(days))
        start, end = SLOTS[0][0]
        return (TimeWindow(d * DAY + start, d * DAY + end),)
    slots = [s for s, _ in SLOTS[1:]]
    weights = np.array([w for _, w in SLOTS[1:]])
    chosen: list[tuple[int, int]] = []
    for _ in range(20):  # draw until `count` windows that neither overlap nor touch
        if len(chosen) == count:
            break
        d = int(rng.integers(days))
        start, end = slots[int(rng.choice(len(slots), p=weights / weights.sum()))]
        w = (d * DAY + start, d * DAY + end)
        if all(w[1] < c[0] or w[0] > c[1] for c in chosen):
            chosen.append(w)
    return tuple(TimeWindow(a, b) for a, b in sorted(chosen))


def generate_fsm(technicians: int, visits: int, days: int = 1, seed: int = 0) -> Problem:
    """A field-service problem with ``technicians`` x ``days`` shifts and ``visits`` visits
    (travel: great-circle with the default detour factor and speed)."""
    if technicians < 1:
        raise ValueError("technicians: must be >= 1")
    if visits < 0:
        raise ValueError("visits: must be >= 0")
    if days < 1:
        raise ValueError("days: must be >= 1")
    rng = np.random.default_rng(seed)
    half = AREA_KM / 2
    clusters = rng.uniform(-half * 0.8, half * 0.8, size=(max(3, visits // 40), 2))
    office = Location(*_to_latlon(np.array([[rng.uniform(-3, 3), rng.uniform(-3, 3)]]))[0])

    homes = _to_latlon(_points(rng, technicians, clusters, spread=0.5))
    techs = []
    for i in range(technicians):
        specialist = rng.choice(len(SKILLS), size=int(rng.integers(1, 4)), replace=False)
        start = office if rng.random() < 0.3 else Location(*homes[i])
        techs.append(
            Technician(
                id=f"t{i + 1:03d}",
                start=start,
                shifts=_shifts(rng, days),
                skills=frozenset(SKILLS[k] for k in specialist),
            )
        )
    skill_sets = [t.skills for t in techs]

    sites = _to_latlon(_points(rng, visits, clusters, spread=0.75))
    out = []
    for j in range(visits):
        required: frozenset[str] = frozenset()
        r = rng.random()
        if r < 0.6:
            # a skill some technician has; a second one only if someone has both
            owner = skill_sets[int(rng.integers(technicians))]
            first = sorted(owner)[int(rng.integers(len(owner)))]
            required = frozenset({first})
            if r < 0.15:
                second = SKILLS[int(rng.integers(len(SKILLS)))]
                if any({first, second} <= s for s in skill_sets):
                    required = frozenset({first, second})
        out.append(
            Visit(
                id=f"v{j + 1:04d}",
                location=Location(*sites[j]),
                duration=60 * int(rng.choice(DURATIONS_MIN, p=DURATION_WEIGHTS)),
                windows=_windows(rng, days),
                skills=required,
                priority=int(rng.choice(len(PRIORITY_WEIGHTS), p=PRIORITY_WEIGHTS)),
            )
        )
    return Problem(technicians=tuple(techs), visits=tuple(out), horizon_days=days)

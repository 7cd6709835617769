"""Property-based checks: random small field-service problems (two or three technicians,
three to eight visits, skills, split shifts and flexible lunches, time windows, soft
windows and deadlines, priorities, pins, exclusions, re-planning positions) are solved
with a short time limit; every plan must pass the independent validator and every
unassigned visit must carry a reason that holds.

Examples are derandomized so that the suite is reproducible; set
``TECNICO_HYPOTHESIS_RANDOM=1`` to explore new ones (and ``TECNICO_HYPOTHESIS_EXAMPLES``
for more of them). Fifteen examples take about ten seconds."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from solver.model import (
    DAY,
    Break,
    CurrentPosition,
    Location,
    Pin,
    PreviousAssignment,
    Problem,
    Shift,
    SolveParams,
    Technician,
    TimeWindow,
    TravelMatrix,
    Visit,
)
from solver.solve import solve
from solver.validate import check_reasons, validate

H = 3600
SKILLS = ("elec", "gas", "hvac")
CENTRE = (45.46, 9.19)
SPAN_DEG = 0.08
"""About 9 km by 6 km around Milan's centre: up to ~20 minutes between two places."""


def _shift(draw, day: int) -> Shift:
    base = day * DAY
    kind = draw(st.sampled_from(("split", "lunch", "plain")))
    if kind == "split":
        windows = (TimeWindow(base + 8 * H, base + 12 * H),
                   TimeWindow(base + 13 * H + 1800, base + 17 * H + 1800))
        breaks: tuple[Break, ...] = ()
    elif kind == "lunch":
        windows = (TimeWindow(base + 8 * H, base + 17 * H),)
        breaks = (Break(base + 12 * H, base + 13 * H, H),)
    else:
        start = draw(st.integers(7, 10)) * H
        windows = (TimeWindow(base + start, base + start + draw(st.integers(4, 9)) * H),)
        breaks = ()
    return Shift(
        day=day,
        windows=windows,
        breaks=breaks,
        max_work=draw(st.one_of(st.none(), st.integers(3, 7).map(lambda h: h * H))),
        overtime_max=draw(st.sampled_from((0, 0, 1800))),
    )


def _windows(draw, days: int) -> tuple[TimeWindow, ...]:
    day = draw(st.integers(0, days - 1))
    start = day * DAY + draw(st.integers(8 * 4, 16 * 4)) * 900
    length = draw(st.integers(1, 8)) * 1800
    windows = [TimeWindow(start, start + length)]
    if draw(st.booleans()):
        gap = draw(st.integers(1, 8)) * 1800
        second = windows[0].end + gap
        windows.append(TimeWindow(second, second + draw(st.integers(1, 6)) * 1800))
    return tuple(windows)


@st.composite
def problems(draw) -> Problem:
    days = draw(st.integers(1, 2))
    n_techs = draw(st.integers(2, 3))
    n_visits = draw(st.integers(3, 8))
    use_matrix = draw(st.booleans())

    places: list[Location] = []

    def place() -> Location:
        if use_matrix:
            places.append(Location(index=len(places)))
        else:
            lat = CENTRE[0] + draw(st.floats(-SPAN_DEG / 2, SPAN_DEG / 2))
            lon = CENTRE[1] + draw(st.floats(-SPAN_DEG / 2, SPAN_DEG / 2))
            places.append(Location(round(lat, 5), round(lon, 5)))
        return places[-1]

    tech_ids = [f"t{i}" for i in range(n_techs)]
    techs = []
    for tid in tech_ids:
        home = place()
        worked = sorted(draw(st.sets(st.integers(0, days - 1), min_size=1)))
        shifts = tuple(_shift(draw, d) for d in worked)
        current = None
        if draw(st.integers(0, 4)) == 0:
            first = draw(st.sampled_from(shifts))
            current = CurrentPosition(
                day=first.day,
                location=place(),
                available_from=first.start + draw(st.integers(1, 4)) * H,
            )
        techs.append(
            Technician(
                id=tid,
                start=home,
                end=place() if draw(st.integers(0, 3)) == 0 else None,
                shifts=shifts,
                skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), max_size=3))),
                capacity=draw(st.sampled_from((None, None, 2, 4))),
                zones=frozenset(draw(st.sampled_from(((), (), ("north",), ("south",))))),
                current=current,
            )
        )
    longest = min(s.latest_end - s.start for t in techs for s in t.shifts)

    visits = []
    previous = []
    for j in range(n_visits):
        vid = f"v{j}"
        windows = _windows(draw, days)
        soft = None
        if draw(st.integers(0, 4)) == 0:
            w = windows[0]
            s0 = w.start + draw(st.integers(0, w.length))
            soft = TimeWindow(s0, s0 + draw(st.integers(0, 4)) * 900)
        pin = None
        excluded: frozenset[str] = frozenset()
        roll = draw(st.integers(0, 9))
        if roll == 0:
            pin = Pin(technician_id=draw(st.sampled_from(tech_ids)))
        elif roll == 1:
            excluded = frozenset({draw(st.sampled_from(tech_ids))})
        if draw(st.integers(0, 5)) == 0:
            previous.append(PreviousAssignment(vid, draw(st.sampled_from(tech_ids)),
                                               draw(st.integers(0, days - 1))))
        visits.append(
            Visit(
                id=vid,
                location=place(),
                duration=min(longest, draw(st.integers(1, 9)) * 600),
                windows=windows,
                skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), max_size=2))),
                priority=draw(st.integers(0, 3)),
                soft_window=soft,
                deadline=(windows[0].start + draw(st.integers(0, 4)) * H)
                if draw(st.integers(0, 5)) == 0 else None,
                allowed_days=frozenset({draw(st.integers(0, days - 1))})
                if draw(st.integers(0, 5)) == 0 else None,
                preferred_technicians=frozenset({draw(st.sampled_from(tech_ids))})
                if draw(st.integers(0, 4)) == 0 else frozenset(),
                excluded_technicians=excluded,
                pin=pin,
                zone=draw(st.sampled_from((None, None, None, "north"))),
                demand=draw(st.sampled_from((0, 0, 1, 2))),
            )
        )

    matrix = None
    if use_matrix:
        n = len(places)
        rows = draw(st.lists(st.lists(st.integers(60, 1800), min_size=n, max_size=n),
                             min_size=n, max_size=n))
        for i in range(n):
            rows[i][i] = 0
        matrix = TravelMatrix(rows, [[8.0 * x for x in row] for row in rows])
    return Problem(
        technicians=tuple(techs),
        visits=tuple(visits),
        matrix=matrix,
        previous=tuple(previous),
        horizon_days=days,
    )


@settings(
    max_examples=int(os.environ.get("TECNICO_HYPOTHESIS_EXAMPLES", "15")),
    deadline=None,
    derandomize=not os.environ.get("TECNICO_HYPOTHESIS_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(problem=problems(), seed=st.integers(0, 3))
def test_every_plan_of_a_random_small_problem_is_valid_and_every_reason_holds(problem, seed):
    note(json.dumps(problem.to_dict()))
    plan = solve(problem, SolveParams(time_limit_s=0.4, seed=seed))
    note(json.dumps(plan.to_dict()))
    assert [str(v) for v in validate(problem, plan)] == []
    assert [str(v) for v in check_reasons(problem, plan)] == []

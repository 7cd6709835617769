"""VROOM as the benchmarks' reference engine (only with the optional ``bench`` extra)."""

from __future__ import annotations

import numpy as np
import pytest

from solver.engines.vroom_engine import available, solve_vroom
from solver.generate import generate_fsm
from solver.model import Location, Problem, Shift, Technician, TimeWindow, TravelMatrix, Visit

pytestmark = pytest.mark.skipif(not available(), reason="pyvroom is not installed")


def test_vroom_serves_a_line_in_order_and_travel_is_recomputed_on_our_matrix():
    idx = np.arange(4)
    gap = np.abs(idx[:, None] - idx[None, :])
    matrix = TravelMatrix(gap * 600, gap * 1000.0)
    p = Problem(
        technicians=(Technician("t1", Location(index=0), (Shift(0, (TimeWindow(0, 8 * 3600),)),)),),
        visits=tuple(
            Visit(v, Location(index=i), 900, (TimeWindow(0, 8 * 3600),))
            for i, v in ((3, "c"), (1, "a"), (2, "b"))
        ),
        matrix=matrix,
    )
    r = solve_vroom(p)
    assert (r.served, r.unassigned, r.routes) == (3, 0, 1)
    assert r.travel_time == 6 * 600 and r.travel_distance == 6000.0
    (tech, day, order), = r.sequences
    assert (tech, day) == ("t1", 0) and order in (("a", "b", "c"), ("c", "b", "a"))


def test_vroom_respects_skills_and_lunch_on_a_generated_day():
    p = generate_fsm(3, 20, 1, seed=2)
    r = solve_vroom(p, timeout_s=5)
    assert r.served + r.unassigned == 20
    techs = {t.id: t for t in p.technicians}
    visits = {v.id: v for v in p.visits}
    for tech, _day, order in r.sequences:
        assert all(visits[v].skills <= techs[tech].skills for v in order)

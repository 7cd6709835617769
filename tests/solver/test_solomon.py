"""The Solomon / Gehring & Homberger reader, its mapping to a solver problem, and the
double-precision route check the benchmark uses."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from solver.formats.solomon import (
    TIME_SCALE,
    check_routes,
    instance_class,
    parse_solomon,
    read_solomon,
    to_problem,
)

TINY = """TINY1

VEHICLE
NUMBER     CAPACITY
   2          30

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      0          0          0          0        100          0
    1      3          4         10          0         50          5
    2      6          8         15         10         60          5
    3      0          1         20          0         10          2
"""


def test_a_file_reads_into_name_fleet_depot_and_customers():
    inst = parse_solomon(TINY)
    assert (inst.name, inst.vehicles, inst.capacity) == ("TINY1", 2, 30)
    assert (inst.depot.id, inst.depot.x, inst.depot.y, inst.depot.due) == (0, 0.0, 0.0, 100)
    assert [c.id for c in inst.customers] == [1, 2, 3]
    c2 = inst.customers[1]
    assert (c2.x, c2.y, c2.demand, c2.ready, c2.due, c2.service) == (6.0, 8.0, 15, 10, 60, 5)


def test_windows_line_endings_and_the_two_line_header_of_homberger_files_are_accepted():
    text = TINY.replace("SERVICE   TIME\n", "SERVICE\n   TIME\n").replace("\n", "\r\n")
    inst = parse_solomon(text)
    assert inst.name == "TINY1" and len(inst.customers) == 3


def test_distances_are_euclidean_in_double_precision_with_the_depot_first():
    d = parse_solomon(TINY).distance_matrix()
    assert d.shape == (4, 4)
    assert d[0, 1] == 5.0 and d[1, 2] == 5.0 and d[0, 2] == 10.0
    assert d[1, 3] == pytest.approx(math.sqrt(9 + 9))
    assert np.allclose(d, d.T)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (TINY.replace("   2          30", "   2          x0"), "capacity is not a number"),
        (TINY.replace("    2      6          8", "    2      6"), "expected 7 columns"),
        (TINY.replace("VEHICLE", "VEHICLES"), "missing VEHICLE or CUSTOMER"),
        (TINY.replace("    1      3          4         10          0         50",
                      "    1      3          4         10         60         50"),
         "due date lies before ready time"),
        (TINY.replace("    3      0", "    2      0"), "not unique"),
        (TINY.replace("   2          30", "   2.5        30"), "vehicle number must be a whole"),
        ("", "empty"),
    ],
)
def test_malformed_files_raise_an_error_naming_the_line_or_field(broken, message):
    with pytest.raises(ValueError, match=message):
        parse_solomon(broken)


@pytest.mark.parametrize(
    ("name", "klass"),
    [("C101", "C1"), ("R211", "R2"), ("RC105", "RC1"), ("rc2_10_4", "RC2"), ("c1_2_1", "C1")],
)
def test_instance_names_map_to_solomon_classes(name, klass):
    assert instance_class(name) == klass


def test_a_name_outside_the_six_classes_is_refused():
    with pytest.raises(ValueError):
        instance_class("X101")


def test_the_problem_mapping_keeps_fleet_capacity_windows_and_a_pure_distance_objective():
    inst = parse_solomon(TINY)
    p = to_problem(inst)
    assert len(p.technicians) == 2
    assert all(t.capacity == 30 and t.travel_cost_per_minute == 0 for t in p.technicians)
    assert p.technicians[0].shifts[0].windows[0].end == 100 * TIME_SCALE
    v2 = p.visit("2")
    assert (v2.demand, v2.duration) == (15, 5 * TIME_SCALE)
    assert (v2.windows[0].start, v2.windows[0].end) == (10 * TIME_SCALE, 60 * TIME_SCALE)
    assert p.weights.distance_per_km == 1000.0  # one cost unit per unit of distance
    # travel times are rounded up so that whole seconds never look faster than the truth
    assert p.matrix.durations[1, 3] == math.ceil(math.sqrt(18) * TIME_SCALE)
    assert p.matrix.durations[0, 1] == 5 * TIME_SCALE
    assert p.matrix.distances[1, 3] == pytest.approx(math.sqrt(18))


def test_checked_routes_report_distance_and_each_broken_rule():
    inst = parse_solomon(TINY)
    distance, errors = check_routes(inst, [[3, 1], [2]])
    assert errors == []
    assert distance == pytest.approx(1 + math.sqrt(18) + 5 + 10 + 10)

    _, errors = check_routes(inst, [[1, 3]])  # customer 3 due at 10, reached at 5+5+sqrt(18)
    assert any("customer 3 served" in e for e in errors)
    _, errors = check_routes(inst, [[1, 2, 3]])  # 45 > 30
    assert any("over capacity" in e for e in errors)
    _, errors = check_routes(inst, [[1], [1]])
    assert errors == ["customer 1 served 2 times"]
    _, errors = check_routes(inst, [[1], [2], [3]])
    assert errors == ["3 routes for a fleet of 2"]


BENCHMARKS = Path(os.environ.get("TECNICO_BENCHMARKS_DIR", Path(__file__).resolve().parents[3] / "shared" / "benchmarks"))


@pytest.mark.skipif(not (BENCHMARKS / "vrptw" / "solomon").is_dir(), reason="benchmark files not here")
def test_every_solomon_instance_reads_and_maps_to_a_valid_problem():
    files = sorted((BENCHMARKS / "vrptw" / "solomon").glob("*.txt"))
    assert len(files) == 56
    for f in files:
        inst = read_solomon(f)
        assert inst.name == f.stem
        assert len(inst.customers) == 100 and inst.vehicles == 25
        problem = to_problem(inst)
        assert len(problem.visits) == 100

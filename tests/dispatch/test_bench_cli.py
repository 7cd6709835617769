"""``tecnico bench`` the user's way: the CLI as a subprocess, on one small instance."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from solver.formats.solomon import parse_solomon

# a Solomon-format instance small enough to solve to optimality in well under a second
SMALL = """SMALL8

VEHICLE
NUMBER     CAPACITY
   3          40

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0     50         50          0          0        400          0
    1     60         50         10          0        200         10
    2     70         50         10         20        250         10
    3     70         60         10          0        300         10
    4     40         50         10          0        200         10
    5     30         50         10         30        220         10
    6     30         40         10          0        300         10
    7     50         70         10          0        150         10
    8     50         80         10         10        300         10
"""


def tecnico(*args: str, cwd: Path, benchmarks: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("TECNICO_BENCHMARKS_DIR", None)
    if benchmarks is not None:
        env["TECNICO_BENCHMARKS_DIR"] = str(benchmarks)
    return subprocess.run(
        [sys.executable, "-m", "dispatch.cli", "bench", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bench_vrptw_solves_one_file_and_writes_the_csv_with_the_gap_to_the_best_known(tmp_path):
    (tmp_path / "SMALL8.txt").write_text(SMALL)
    # a made-up best known distance, 1 % below what we will find, to see the gap computed
    (tmp_path / "BKS.json").write_text(json.dumps({"SMALL8_distance": {"best_known_cost": 100.0}}))
    out = tmp_path / "out.csv"
    run = tecnico(
        "vrptw", str(tmp_path / "SMALL8.txt"), "--time-limit", "2", "--csv", str(out),
        "--compare", "none", cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    with out.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["instance", "distance", "vehicles", "unassigned", "seconds", "bks", "gap_pct"]
    assert len(rows) == 2
    name, distance, vehicles, unassigned, seconds, bks, gap = rows[1]
    assert (name, unassigned, bks) == ("SMALL8", "0", "100.00")
    assert 1 <= int(vehicles) <= 3
    assert 0 < float(seconds) <= 10
    # the reported distance is a real tour: no tour through all eight is shorter than
    # the depot -> farthest customer -> depot round trip, and the gap follows from it
    instance = parse_solomon(SMALL)
    assert float(distance) >= 2 * instance.distance_matrix()[0].max()
    assert float(gap) == round(100 * (float(distance) - 100.0) / 100.0, 2)
    summary = [line.split() for line in run.stdout.splitlines() if line.startswith("RC1")]
    assert summary == [] and any(line.startswith("SMALL8") for line in run.stdout.splitlines())


def test_bench_vrptw_without_instances_or_benchmark_files_says_how_to_point_to_them(tmp_path):
    run = tecnico("vrptw", "--time-limit", "1", cwd=tmp_path, benchmarks=tmp_path / "nothing")
    assert run.returncode == 2
    assert "TECNICO_BENCHMARKS_DIR" in run.stderr


def test_bench_fsm_reports_kpis_time_and_memory_for_a_tiny_generated_day(tmp_path):
    run = tecnico(
        "fsm", "--technicians", "2", "--visits", "8", "--days", "1", "--seed", "4",
        "--time-limit", "1", cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = {line.split()[0]: line for line in run.stdout.splitlines() if line.strip()}
    for key in ("served", "unassigned", "travel", "first", "total", "peak", "validated"):
        assert key in lines, run.stdout
    served = int(lines["served"].split()[1])
    unassigned = int(lines["unassigned"].split()[1])
    assert served + unassigned == 8
    assert lines["validated"].split()[-1] == "ok"

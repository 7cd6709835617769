"""``tecnico bench schedule`` the user's way: the CLI as a subprocess, on a tiny company."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_bench_schedule_seeds_a_fresh_database_runs_publishes_and_prints_each_phase(
        tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "TECNICO_DATABASE_URL"}
    run = subprocess.run(
        [sys.executable, "-m", "dispatch.cli", "bench", "schedule", "--technicians", "2",
         "--orders", "6", "--time-limit", "1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "2 technicians, 6 orders, 1 day(s)" in out and "fresh SQLite" in out
    phases = dict(re.findall(r"^\s+(load|solve|store|publish|total)\s+([\d.]+) s$", out, re.M))
    assert set(phases) == {"load", "solve", "store", "publish", "total"}
    parts = sum(float(phases[p]) for p in ("load", "solve", "store", "publish"))
    assert abs(float(phases["total"]) - parts) < 0.05
    assigned = re.search(r"assigned (\d+)/6, .* published (\d+), skipped 0", out)
    assert assigned is not None and assigned.group(1) == assigned.group(2)
    assert list(tmp_path.iterdir()) == []  # the fresh database was a temporary one

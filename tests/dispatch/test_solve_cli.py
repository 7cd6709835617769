"""``tecnico solve`` run the user's way, as a subprocess, on small hand-made files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from solver.formats import plan_from_dict, problem_from_dict, read_plan
from solver.formats.vroom import from_vroom
from solver.validate import check_reasons, validate

H = 3600

NATIVE = {
    "format": "tecnico-problem",
    "version": 1,
    "technicians": [
        {"id": "ana", "start": {"lat": 45.46, "lon": 9.19}, "skills": ["gas"],
         "shifts": [{"day": 0, "windows": [{"start": 8 * H, "end": 12 * H},
                                           {"start": 13 * H + 1800, "end": 17 * H + 1800}]}]},
        {"id": "bo", "start": {"lat": 45.47, "lon": 9.2},
         "shifts": [{"day": 0, "windows": [{"start": 8 * H, "end": 17 * H}],
                     "breaks": [{"earliest_start": 12 * H, "latest_start": 13 * H,
                                 "duration": H}]}]},
    ],
    "visits": [
        {"id": "boiler", "location": {"lat": 45.45, "lon": 9.18}, "duration": 3600,
         "skills": ["gas"], "windows": [{"start": 9 * H, "end": 11 * H}]},
        {"id": "socket", "location": {"lat": 45.48, "lon": 9.21}, "duration": 1800,
         "windows": [{"start": 14 * H, "end": 16 * H}], "priority": 2},
        {"id": "hvac", "location": {"lat": 45.44, "lon": 9.2}, "duration": 1800,
         "skills": ["hvac"], "windows": [{"start": 8 * H, "end": 17 * H}]},
    ],
}

VROOM = {
    "vehicles": [
        {"id": 1, "start_index": 0, "end_index": 0, "skills": [7],
         "time_window": [28800, 61200],
         "breaks": [{"id": 1, "service": 1800, "time_windows": [[43200, 46800]]}]},
    ],
    "jobs": [
        {"id": 101, "location_index": 1, "service": 600, "setup": 120, "skills": [7],
         "time_windows": [[30000, 36000]]},
        {"id": 102, "location_index": 2, "service": 900, "priority": 80},
    ],
    "matrices": {"car": {"durations": [[0, 600, 900], [600, 0, 300], [900, 300, 0]]}},
}


def tecnico(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("tecnico")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "dispatch.cli"]
    return subprocess.run(
        [*command, *args], input=stdin, capture_output=True, text=True, timeout=120,
        check=False,
    )


def test_solving_a_native_file_writes_a_valid_plan(tmp_path):
    problem_file = tmp_path / "problem.json"
    problem_file.write_text(json.dumps(NATIVE))
    out = tmp_path / "plan.json"
    done = tecnico("solve", str(problem_file), "--time-limit", "0.5", "--seed", "3",
                   "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "2 assigned, 1 unassigned" in done.stderr

    document = json.loads(out.read_text())
    assert (document["format"], document["input"]) == ("tecnico-plan", {"format": "native"})
    plan = read_plan(out)
    problem = problem_from_dict(NATIVE)
    assert validate(problem, plan) == []
    assert check_reasons(problem, plan) == []
    served = plan.assignment()
    assert (sorted(served), served["boiler"]) == (["boiler", "socket"], ("ana", 0))
    [left] = document["unassigned"]
    assert (left["visit_id"], left["reason"]) == ("hvac", "NO_SKILLED_TECHNICIAN")


def test_a_crew_visit_in_a_native_file_is_planned_for_two_technicians_at_once(tmp_path):
    crew = json.loads(json.dumps(NATIVE))
    crew["visits"].append({"id": "lift", "location": {"lat": 45.465, "lon": 9.195},
                           "duration": 1800, "windows": [{"start": 9 * H, "end": 16 * H}],
                           "crew_size": 2})
    problem_file = tmp_path / "problem.json"
    problem_file.write_text(json.dumps(crew))
    out = tmp_path / "plan.json"
    done = tecnico("solve", str(problem_file), "--time-limit", "1", "--out", str(out))
    assert done.returncode == 0, done.stderr

    plan = read_plan(out)
    problem = problem_from_dict(crew)
    assert validate(problem, plan) == []
    assert check_reasons(problem, plan) == []
    lift = sorted((r.technician_id, r.day, s.start) for r in plan.routes for s in r.stops
                  if s.visit_id == "lift")
    assert [t for t, _d, _s in lift] == ["ana", "bo"]
    assert lift[0][1:] == lift[1][1:] and lift[0][2] % 900 == 0


def test_solving_a_vroom_file_keeps_its_ids_and_says_what_was_approximated(tmp_path):
    problem_file = tmp_path / "vroom.json"
    problem_file.write_text(json.dumps(VROOM))
    done = tecnico("solve", str(problem_file), "--time-limit", "0.5", "--format", "vroom")
    assert done.returncode == 0, done.stderr
    assert "note: jobs: setup is added to the service time of every job" in done.stderr

    document = json.loads(done.stdout)
    assert document["input"] == {"format": "vroom", "time_origin": 0}
    stops = [s for r in document["routes"] for s in r["stops"]]
    assert sorted(s["visit_id"] for s in stops) == ["101", "102"]
    assert {r["technician_id"] for r in document["routes"]} == {"1"}
    by_id = {s["visit_id"]: s for s in stops}
    assert 30000 <= by_id["101"]["start"] <= 36000
    assert by_id["101"]["end"] - by_id["101"]["start"] == 720  # setup + service
    problem = from_vroom(VROOM).problem
    assert validate(problem, plan_from_dict(document)) == []


def test_the_format_is_recognised_from_the_file_and_stdin_is_read(tmp_path):
    done = tecnico("solve", "-", "--time-limit", "0.3", stdin=json.dumps(VROOM))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["input"]["format"] == "vroom"


def test_a_bad_file_exits_with_2_naming_the_field_and_writes_no_plan(tmp_path):
    bad = json.loads(json.dumps(NATIVE))
    bad["visits"][1]["windows"][0]["end"] = "16:00"
    problem_file = tmp_path / "bad.json"
    problem_file.write_text(json.dumps(bad))
    out = tmp_path / "plan.json"
    done = tecnico("solve", str(problem_file), "--out", str(out))
    assert done.returncode == 2
    assert "visits[1].windows[0].end: '16:00' is not of type 'integer'" in done.stderr
    assert not out.exists()

    done = tecnico("solve", str(tmp_path / "missing.json"))
    assert (done.returncode, "no such file" in done.stderr) == (2, True)

    vroom = json.loads(json.dumps(VROOM))
    vroom["jobs"][0]["time_windows"] = [[36000, 30000]]
    problem_file.write_text(json.dumps(vroom))
    done = tecnico("solve", str(problem_file))
    assert done.returncode == 2
    assert "jobs[0].time_windows[0]: end before start (30000 < 36000)" in done.stderr

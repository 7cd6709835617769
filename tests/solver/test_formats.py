"""Problem and plan files: our JSON format (round trip, JSON Schema with errors by path)
and VROOM's input format (hand-made small files)."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from importlib import resources
from pathlib import Path

import pytest

from solver.formats import (
    FormatError,
    from_vroom,
    plan_from_dict,
    plan_to_dict,
    problem_from_dict,
    problem_schema,
    problem_to_dict,
    read_plan,
    read_problem,
    write_plan,
    write_problem,
)
from solver.formats.native import dumps, parse_json, schema_errors
from solver.formats.vroom import ABSOLUTE_FROM
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
    Weights,
)
from solver.solve import solve
from solver.validate import check_reasons, validate

H = 3600


def rich_problem() -> Problem:
    """A problem using every field of the model at least once."""
    home = Location(45.46, 9.19)
    office = Location(45.47, 9.2)
    split = Shift(0, (TimeWindow(8 * H, 12 * H), TimeWindow(13 * H + 1800, 17 * H + 1800)),
                  max_work=7 * H, overtime_max=1800, overtime_cost_per_minute=4)
    lunch = Shift(1, (TimeWindow(DAY + 8 * H, DAY + 17 * H),),
                  breaks=(Break(DAY + 12 * H, DAY + 13 * H, H),))
    techs = (
        Technician("ana", start=home, end=office, shifts=(split, lunch),
                   skills=frozenset({"elec", "gas"}), travel_cost_per_minute=2,
                   zones=frozenset({"north"}), capacity=5,
                   current=CurrentPosition(0, Location(45.465, 9.195), 9 * H)),
        Technician("bo", start=office, shifts=(lunch,), skills=frozenset({"elec"})),
    )
    visits = (
        Visit("boiler", Location(45.45, 9.18), 1800,
              (TimeWindow(9 * H, 11 * H), TimeWindow(DAY + 9 * H, DAY + 11 * H)),
              skills=frozenset({"gas"}), priority=3, soft_window=TimeWindow(9 * H, 10 * H),
              lateness_cost_per_minute=7, deadline=DAY + 10 * H, allowed_days=frozenset({0, 1}),
              preferred_technicians=frozenset({"ana"}), zone="north", demand=2),
        Visit("socket", Location(45.44, 9.21), 900, (TimeWindow(DAY + 8 * H, DAY + 17 * H),),
              skills=frozenset({"elec"}), excluded_technicians=frozenset({"ana"}),
              pin=Pin(technician_id="bo", day=1)),
        Visit("crew", Location(45.47, 9.17), 3600, (TimeWindow(8 * H, 17 * H),), crew_size=2),
    )
    return Problem(
        technicians=techs,
        visits=visits,
        weights=Weights(unassigned=50_000, balance_per_minute=1, distance_per_km=0.5),
        previous=(PreviousAssignment("boiler", "ana", 0),),
        skills=frozenset({"elec", "gas", "hvac"}),
        horizon_days=2,
    )


# --------------------------------------------------------------------------- native


def test_a_problem_survives_the_round_trip_through_json_unchanged(tmp_path):
    problem = rich_problem()
    assert schema_errors(problem_to_dict(problem)) == []
    path = tmp_path / "problem.json"
    write_problem(problem, path)
    assert json.loads(path.read_text())["format"] == "tecnico-problem"
    assert read_problem(path) == problem


def test_a_problem_with_a_given_matrix_survives_the_round_trip():
    matrix = TravelMatrix([[0, 60], [75, 0]], [[0.0, 812.5], [901.25, 0.0]])
    problem = Problem(
        technicians=(Technician("t", Location(index=0), (Shift(0, (TimeWindow(0, H),)),)),),
        visits=(Visit("v", Location(index=1), 600, (TimeWindow(0, H),)),),
        matrix=matrix,
    )
    again = problem_from_dict(json.loads(dumps(problem_to_dict(problem))))
    assert again == problem
    assert again.matrix.distances[1, 0] == 901.25


def test_a_plan_survives_the_round_trip_and_stays_valid(tmp_path):
    problem = rich_problem()
    plan = solve(problem, SolveParams(time_limit_s=0.3))
    path = tmp_path / "plan.json"
    write_plan(plan, path, input={"format": "native"})
    document = json.loads(path.read_text())
    assert (document["format"], document["input"]) == ("tecnico-plan", {"format": "native"})
    again = read_plan(path)
    assert again == plan
    assert validate(problem, again) == []
    assert check_reasons(problem, again) == []
    assert plan_from_dict(plan_to_dict(plan)) == plan


def test_a_crew_visit_read_from_a_file_is_planned_together_and_the_plan_file_validates(tmp_path):
    problem_path, plan_path = tmp_path / "problem.json", tmp_path / "plan.json"
    rich = rich_problem()
    # on day 1, when both technicians work (on day 0 only ana does: no crew)
    day1 = dataclasses.replace(rich.visits[2], windows=(TimeWindow(DAY + 8 * H, DAY + 17 * H),))
    write_problem(dataclasses.replace(rich, visits=(*rich.visits[:2], day1)), problem_path)
    problem = read_problem(problem_path)
    write_plan(solve(problem, SolveParams(time_limit_s=0.5, seed=1)), plan_path)
    plan = read_plan(plan_path)
    assert validate(problem, plan) == []
    assert check_reasons(problem, plan) == []
    crew = [(r.technician_id, r.day, s.start) for r in plan.routes for s in r.stops
            if s.visit_id == "crew"]
    assert [c[0] for c in crew] == ["ana", "bo"]
    assert crew[0][1:] == crew[1][1:]
    assert plan.kpis.assigned == len(plan.assignment())


def test_the_schema_ships_with_the_package_and_is_a_draft_2020_12_schema():
    import jsonschema

    text = resources.files("solver.formats").joinpath("problem.schema.json").read_text()
    assert json.loads(text) == problem_schema()
    jsonschema.Draft202012Validator.check_schema(problem_schema())


def test_a_minimal_file_with_only_the_required_fields_reads():
    problem = problem_from_dict({
        "technicians": [{"id": "t", "start": {"lat": 45.0, "lon": 9.0},
                         "shifts": [{"day": 0, "windows": [{"start": 28800, "end": 61200}]}]}],
        "visits": [{"id": "v", "location": {"lat": 45.01, "lon": 9.0}, "duration": 1800,
                    "windows": [{"start": 28800, "end": 43200}]}],
    })
    assert problem.technicians[0].shifts[0].overtime_max == 0
    assert problem.visits[0].priority == 0


def broken(path: tuple, value) -> dict:
    doc = copy.deepcopy(problem_to_dict(rich_problem()))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("visits", 1, "windows", 0, "end"), -5, "visits[1].windows[0].end: -5 is less than the minimum of 0"),
        (("visits", 0, "priority"), 11, "visits[0].priority: 11 is greater than the maximum of 10"),
        (("visits", 0, "priority"), "high", "visits[0].priority: 'high' is not of type 'integer'"),
        (("visits", 0, "location", "lat"), 91, "visits[0].location.lat: 91 is greater than the maximum of 90"),
        (("visits", 0, "location", "lat"), math.nan, "visits[0].location.lat: nan is not a finite number"),
        (("visits", 2, "crew_size"), 3, "visits[2].crew_size: 3 is not one of [1, 2]"),
        (("visits", 1, "pin", "technician_id"), "", "visits[1].pin.technician_id: must not be empty"),
        (("technicians", 0, "shfits"), [], "technicians[0]: unknown field(s) not allowed ('shfits' was unexpected)"),
        (("technicians", 1, "end"), {"lat": 45.0}, "technicians[1].end: 'lon' is required together with 'lat'"),
        (("technicians", 1, "shifts", 0, "windows"), [], "technicians[1].shifts[0].windows: [] should be non-empty"),
        (("technicians", 0, "start"), {}, "technicians[0].start: needs lat and lon or index"),
        (("technicians", 0, "end"), {"index": -1}, "technicians[0].end.index: -1 is less than the minimum of 0"),
        (("weights", "unassigned"), -1, "weights.unassigned: -1 is less than the minimum of 0"),
    ],
)
def test_a_file_against_the_schema_fails_with_the_path_of_the_bad_value(path, value, message):
    with pytest.raises(FormatError) as info:
        problem_from_dict(broken(path, value), source="p.json")
    assert info.value.errors == [message]
    assert str(info.value) == f"p.json: {message}"


def test_several_mistakes_are_listed_together_in_document_order():
    doc = broken(("visits", 0, "priority"), 11)
    doc["visits"][1]["duration"] = -1
    doc["technicians"][0]["id"] = 7
    with pytest.raises(FormatError) as info:
        problem_from_dict(doc)
    assert [e.split(":")[0] for e in info.value.errors] == [
        "technicians[0].id", "visits[0].priority", "visits[1].duration",
    ]
    assert str(info.value).startswith("3 errors:\n  technicians[0].id")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("visits", 1, "pin"), {"technician_id": "nobody"},
         "visit 'socket': pin.technician_id: unknown technician 'nobody'"),
        (("visits", 0, "skills"), ["plumbing"], "visit 'boiler': skills: unknown skill 'plumbing'"),
        (("visits", 1, "windows"), [{"start": 100, "end": 100}],
         "visit 'socket': windows: no window of positive length"),
        (("visits", 1, "windows"), [{"start": 100, "end": 50}],
         "visit 'socket': time window: end before start (50 < 100)"),
        (("visits", 2, "duration"), 90_000, "visit 'crew': duration: 90000 s is longer than any shift"),
    ],
)
def test_what_the_schema_cannot_see_the_model_reports_by_field(path, value, message):
    with pytest.raises(FormatError) as info:
        problem_from_dict(broken(path, value))
    assert info.value.errors[0].startswith(message)


def test_text_that_is_not_json_is_reported_with_its_line():
    with pytest.raises(FormatError, match=r"f.json: line 2, column 14: not valid JSON"):
        parse_json('{\n  "visits": [,]}', source="f.json")


# --------------------------------------------------------------------------- VROOM

# four places: a depot and three customers, durations in seconds
DURATIONS = [
    [0, 600, 900, 1200],
    [600, 0, 300, 700],
    [900, 300, 0, 400],
    [1200, 700, 400, 0],
]


def vroom_doc(**extra) -> dict:
    doc = {
        "vehicles": [
            {"id": 1, "start_index": 0, "end_index": 0, "skills": [1, 2], "capacity": [4],
             "time_window": [28800, 61200],
             "breaks": [{"id": 1, "service": 1800, "time_windows": [[43200, 46800]]}]},
            {"id": 2, "start_index": 0, "end_index": 0, "skills": [1],
             "time_window": [28800, 61200]},
        ],
        "jobs": [
            {"id": 10, "location_index": 1, "service": 600, "skills": [1], "priority": 5,
             "time_windows": [[30000, 36000], [36000, 40000], [50000, 52000]]},
            {"id": 11, "location_index": 2, "service": 900, "setup": 60, "delivery": [2],
             "time_windows": [[50000, 50000]]},
            {"id": 12, "location_index": 3, "service": 300, "skills": [2], "priority": 100,
             "pickup": [1]},
        ],
        "matrices": {"car": {"durations": DURATIONS}},
    }
    doc.update(extra)
    return doc


def test_a_vroom_file_with_a_matrix_becomes_technicians_and_visits():
    imported = from_vroom(vroom_doc())
    p = imported.problem
    assert imported.origin == 0
    t1, t2 = p.technicians
    assert (t1.id, t1.skills, t1.capacity, t1.start, t1.end) == (
        "1", frozenset({"1", "2"}), 4, Location(index=0), Location(index=0))
    assert t1.shifts == (Shift(0, (TimeWindow(28800, 61200),), breaks=(Break(43200, 46800, 1800),)),)
    assert t2.capacity is None and t2.shifts[0].breaks == ()
    v10, v11, v12 = p.visits
    # touching windows merge; priority 5 of 100 is our 1, 100 is our 10
    assert v10.windows == (TimeWindow(30000, 40000), TimeWindow(50000, 52000))
    assert (v10.priority, v12.priority, v12.skills) == (1, 10, frozenset({"2"}))
    # setup counts as service; a zero-length window gets one second
    assert (v11.duration, v11.windows, v11.demand) == (960, (TimeWindow(50000, 50001),), 2)
    assert v12.demand == 1
    assert (v12.windows[0].start, v12.windows[0].end >= 61200) == (0, True)
    assert p.matrix == TravelMatrix(DURATIONS)
    assert any("setup" in n for n in imported.notes)
    assert any("zero-length" in n for n in imported.notes)


def test_a_vroom_file_is_solved_and_the_plan_is_valid():
    imported = from_vroom(vroom_doc())
    plan = solve(imported.problem, SolveParams(time_limit_s=0.3))
    assert validate(imported.problem, plan) == []
    assert check_reasons(imported.problem, plan) == []
    served = plan.assignment()
    assert served["12"][0] == "1"  # only vehicle 1 has skill 2
    assert plan.kpis.assigned == 3


def test_absolute_vroom_timestamps_start_the_horizon_at_midnight_of_the_first_day():
    midnight = 1_700_006_400  # 2023-11-15 00:00 UTC
    assert midnight % DAY == 0 and midnight >= ABSOLUTE_FROM
    doc = vroom_doc()
    doc["vehicles"] = [{"id": 7, "start_index": 0, "end_index": 0,
                        "time_window": [midnight + DAY + 8 * H, midnight + DAY + 17 * H]}]
    doc["jobs"] = [{"id": 1, "location_index": 1, "service": 600,
                    "time_windows": [[midnight + 9 * H, midnight + DAY + 10 * H]]},
                   {"id": 2, "location_index": 2, "service": 600}]
    imported = from_vroom(doc)
    assert imported.origin == midnight
    (tech,) = imported.problem.technicians
    assert tech.shifts == (Shift(1, (TimeWindow(DAY + 8 * H, DAY + 17 * H),)),)
    assert imported.problem.visits[0].windows == (TimeWindow(9 * H, DAY + 10 * H),)
    plan = solve(imported.problem, SolveParams(time_limit_s=0.3))
    assert validate(imported.problem, plan) == []
    assert {r.day for r in plan.routes} == {1}


def test_vroom_coordinates_are_lon_lat_and_use_our_travel_estimate():
    doc = {
        "vehicles": [{"id": 1, "start": [9.19, 45.46], "end": [9.19, 45.46]}],
        "jobs": [{"id": 1, "location": [9.20, 45.47], "service": 300},
                 {"id": 2, "location": [9.18, 45.45], "service": 300}],
    }
    imported = from_vroom(doc)
    p = imported.problem
    assert p.matrix is None
    assert p.technicians[0].start == Location(lat=45.46, lon=9.19)
    assert p.visits[0].location == Location(lat=45.47, lon=9.20)
    plan = solve(p, SolveParams(time_limit_s=0.3))
    assert validate(p, plan) == []
    assert plan.kpis.assigned == 2 and plan.kpis.travel_time > 0


def test_a_vroom_vehicle_without_an_end_finishes_wherever_its_last_job_is():
    doc = vroom_doc()
    del doc["vehicles"][1]["end_index"]
    doc["vehicles"] = doc["vehicles"][1:]
    doc["jobs"] = [{"id": 1, "location_index": 3, "service": 60, "skills": [1]}]
    p = from_vroom(doc).problem
    assert p.technicians[0].end == Location(index=4)  # a place at no distance from anywhere
    assert p.matrix.durations[3, 4] == 0 and p.matrix.durations[4, 0] == 0
    plan = solve(p, SolveParams(time_limit_s=0.3))
    assert validate(p, plan) == []
    assert plan.routes[0].end_travel_time == 0
    assert plan.kpis.travel_time == 1200  # out to the job only


def test_the_older_top_level_vroom_matrix_is_read_too():
    doc = vroom_doc()
    del doc["matrices"]
    doc["matrix"] = DURATIONS
    assert from_vroom(doc).problem.matrix == TravelMatrix(DURATIONS)


def test_vroom_distances_come_with_the_durations():
    distances = [[10.0 * x for x in row] for row in DURATIONS]
    doc = vroom_doc(matrices={"car": {"durations": DURATIONS, "distances": distances}})
    assert from_vroom(doc).problem.matrix == TravelMatrix(DURATIONS, distances)


def test_vroom_keys_we_cannot_model_are_listed_as_notes():
    doc = vroom_doc()
    doc["vehicles"][0].update(max_travel_time=3600, max_tasks=3, speed_factor=1.2)
    doc["vehicles"][0]["breaks"][0]["time_windows"].append([50000, 52000])
    notes = from_vroom(doc).notes
    for key in ("max_travel_time", "max_tasks", "speed_factor", "several time_windows"):
        assert any(key in n for n in notes), key


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(shipments=[{"pickup": {}, "delivery": {}}]),
         "shipments: pickup-and-delivery shipments are not supported"),
        (lambda d: d.update(vehicles=[]), "vehicles: at least one vehicle is required"),
        (lambda d: d["vehicles"][0].update(capacity=[4, 2]),
         "vehicles[0].capacity: only one capacity dimension is supported"),
        (lambda d: d["jobs"][0].pop("location_index"),
         "jobs[0]: location_index: required with a custom matrix"),
        (lambda d: d["jobs"][0].update(location_index=9),
         "jobs[0].location_index: 9 is outside the 4x4 matrix"),
        (lambda d: d["jobs"][1].update(time_windows=[[5, 1]]),
         "jobs[1].time_windows[0]: end before start (1 < 5)"),
        (lambda d: d["jobs"][1].update(id=10), "jobs[1].id: duplicate job id 10"),
        (lambda d: d["jobs"][2].update(priority=101), "jobs[2].priority: must be <= 100"),
        (lambda d: d["vehicles"][1].update(profile="bike"),
         "vehicles: several profiles (bike, car): one travel matrix is supported"),
        (lambda d: d["jobs"][0].update(service=-1), "jobs[0].service: must be >= 0, got -1"),
        (lambda d: d["vehicles"][0].update(start_index=None, end_index=None),
         "vehicles[0]: start or end is required"),
    ],
)
def test_a_malformed_vroom_file_is_a_value_error_naming_the_key(edit, message):
    doc = vroom_doc()
    edit(doc)
    with pytest.raises(ValueError) as info:
        from_vroom(doc)
    assert str(info.value) == message


def test_vroom_coordinates_in_the_wrong_order_are_caught():
    doc = {"vehicles": [{"id": 1, "start": [45.46, 95.19]}], "jobs": []}
    with pytest.raises(ValueError, match=r"vehicles\[0\]\.start: lat: 95.19 is outside"):
        from_vroom(doc)


def test_the_example_problem_in_the_format_documentation_reads_and_solves():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "problem-format.md").read_text()
    example = doc.split("```json\n", 1)[1].split("```", 1)[0]
    problem = problem_from_dict(json.loads(example))
    assert [t.id for t in problem.technicians] == ["ana"]
    plan = solve(problem, SolveParams(time_limit_s=0.2))
    assert validate(problem, plan) == []
    assert plan.kpis.assigned == 1

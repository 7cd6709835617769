"""The problem and plan dataclasses: validation on construction, round trips."""

import json
import math
import pickle

import pytest

from solver.model import (
    Break,
    CurrentPosition,
    Location,
    Pin,
    Problem,
    Shift,
    SolveParams,
    Technician,
    TimeWindow,
    TravelMatrix,
    Visit,
    Weights,
)
from solver.plan import Plan

from .kit import H, day_shift, hm, lunch_shift, problem, run, split_shift, tech, visit, window

HOME = Location(45.46, 9.19)


def _visit(**kw) -> Visit:
    kw.setdefault("windows", (TimeWindow(hm(8), hm(17)),))
    return Visit(kw.pop("id", "v7"), kw.pop("location", HOME), kw.pop("duration", 1800), **kw)


def _tech(**kw) -> Technician:
    return Technician(kw.pop("id", "t1"), kw.pop("start", HOME), kw.pop("shifts", (day_shift(),)), **kw)


def test_a_time_window_ending_before_it_starts_is_refused_naming_the_visit():
    with pytest.raises(ValueError, match=r"visit 'v7': time window: end before start"):
        Visit.from_dict(
            {"id": "v7", "location": {"lat": 45.0, "lon": 9.0}, "duration": 60,
             "windows": [{"start": 100, "end": 50}]}
        )
    with pytest.raises(ValueError, match="end before start"):
        TimeWindow(100, 50)


def test_a_visit_without_a_window_of_positive_length_is_refused():
    with pytest.raises(ValueError, match=r"visit 'v7': windows: no window of positive length"):
        _visit(windows=(TimeWindow(hm(9), hm(9)),))
    with pytest.raises(ValueError, match=r"visit 'v7': windows: at least one"):
        _visit(windows=())


@pytest.mark.parametrize("lat, lon", [(math.nan, 9.0), (45.0, math.inf), (91.0, 9.0), (45.0, -181.0)])
def test_coordinates_must_be_real_places(lat, lon):
    with pytest.raises(ValueError, match=r"location: (lat|lon)"):
        Location(lat, lon)


def test_nan_coordinates_in_a_file_name_the_visit():
    with pytest.raises(ValueError, match=r"visit 'v7': location: lat"):
        Visit.from_dict(
            {"id": "v7", "location": {"lat": float("nan"), "lon": 9.0}, "duration": 60,
             "windows": [{"start": 0, "end": 50}]}
        )


def test_a_visit_longer_than_any_shift_is_refused():
    with pytest.raises(ValueError, match=r"visit 'v7': duration: .* longer than any shift"):
        Problem((_tech(),), (_visit(duration=10 * H),))


def test_unknown_skills_are_refused_when_a_catalogue_is_given():
    with pytest.raises(ValueError, match=r"visit 'v7': skills: unknown skill 'gas'"):
        Problem((_tech(skills={"elec"}),), (_visit(skills={"gas"}),), skills={"elec"})
    with pytest.raises(ValueError, match=r"technician 't1': skills: unknown skill 'elec'"):
        Problem((_tech(skills={"elec"}),), (), skills={"gas"})


def test_a_pin_to_an_unknown_technician_is_refused():
    with pytest.raises(ValueError, match=r"visit 'v7': pin.technician_id: unknown technician 'zz'"):
        Problem((_tech(),), (_visit(pin=Pin(technician_id="zz")),))


def test_references_to_unknown_technicians_are_refused():
    with pytest.raises(ValueError, match=r"visit 'v7': preferred/excluded_technicians"):
        Problem((_tech(),), (_visit(preferred_technicians={"nobody"}),))


def test_a_pinned_start_outside_the_windows_is_refused():
    with pytest.raises(ValueError, match=r"visit 'v7': pin.start"):
        Problem((_tech(),), (_visit(pin=Pin(start=hm(20))),))


def test_duplicate_ids_are_refused():
    with pytest.raises(ValueError, match=r"visit 'v7': id: duplicate"):
        Problem((_tech(),), (_visit(), _visit()))
    with pytest.raises(ValueError, match=r"technician 't1': id: duplicate"):
        Problem((_tech(), _tech()), ())


def test_shifts_must_be_well_formed():
    with pytest.raises(ValueError, match=r"shift \(day 0\): windows\[1\]: overlaps"):
        Shift(0, (TimeWindow(hm(8), hm(12)), TimeWindow(hm(11), hm(15))))
    with pytest.raises(ValueError, match="break: latest_start before earliest_start"):
        Break(hm(13), hm(12), H)
    with pytest.raises(ValueError, match=r"technician 't1': shifts: two shifts on the same day"):
        _tech(shifts=(day_shift(0), day_shift(0)))
    with pytest.raises(ValueError, match=r"technician 't1': current.day: no shift on day 3"):
        _tech(current=CurrentPosition(3, HOME, hm(10)))


def test_a_matrix_problem_needs_an_index_for_every_location():
    with pytest.raises(ValueError, match=r"visit 'v7': location: index: required"):
        Problem((_tech(start=Location(index=0)),), (_visit(),), matrix=TravelMatrix([[0]]))
    with pytest.raises(ValueError, match=r"visit 'v7': location: index: 5 is outside"):
        Problem(
            (_tech(start=Location(index=0)),),
            (_visit(location=Location(index=5)),),
            matrix=TravelMatrix([[0]]),
        )


def test_matrices_must_be_square_finite_and_non_negative():
    with pytest.raises(ValueError, match="matrix: durations: expected a square"):
        TravelMatrix([[0, 1]])
    with pytest.raises(ValueError, match="matrix: durations: contains NaN"):
        TravelMatrix([[0, math.nan], [1, 0]])
    with pytest.raises(ValueError, match="matrix: durations: must be integer seconds"):
        TravelMatrix([[0, 1.5], [1, 0]])
    with pytest.raises(ValueError, match="matrix: distances: contains negative"):
        TravelMatrix([[0, 1], [1, 0]], [[0, -1.0], [1.0, 0]])


def test_numbers_must_be_integers_in_range():
    with pytest.raises(ValueError, match=r"visit 'v7': duration: expected an integer"):
        _visit(duration="long")
    with pytest.raises(ValueError, match=r"visit 'v7': priority: must be <= 10"):
        _visit(priority=11)
    with pytest.raises(ValueError, match=r"visit 'v7': duration: .* too large"):
        _visit(duration=2**50)
    with pytest.raises(ValueError, match="weights: unassigned"):
        Weights(unassigned=10**12)


def test_a_problem_round_trips_through_json_and_pickle():
    prob = problem(
        [0, 5, 10],
        [
            tech("t1", shifts=[split_shift(0), lunch_shift(1)], skills={"elec"}, zones={"n"},
                 capacity=5, current=CurrentPosition(0, Location(index=1), hm(10))),
            tech("t2", place=2, end=Location(index=0), travel_cost_per_minute=2),
        ],
        [
            visit("a", 1, windows=[window(8, 0, 10, 0), window(14, 0, 16, 0, day=1)],
                  soft_window=window(8, 0, 9, 0), lateness_cost_per_minute=7, deadline=hm(12),
                  skills={"elec"}, priority=2, allowed_days={0, 1}, preferred_technicians={"t1"},
                  excluded_technicians={"t2"}, zone="n", demand=2),
            visit("b", 2, pin=Pin("t2", 0, hm(9))),
        ],
        previous={"a": ("t1", 0)},
        weights=Weights(moved=5, balance_per_minute=1),
    )
    again = Problem.from_dict(json.loads(json.dumps(prob.to_dict())))
    assert again == prob
    assert pickle.loads(pickle.dumps(prob)) == prob


def test_a_plan_round_trips_through_json_and_pickle():
    prob = problem([0, 5], [tech("t", shifts=[split_shift()])], [visit("a", 1), visit("b", 1, 240)])
    plan = run(prob)
    assert Plan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    assert pickle.loads(pickle.dumps(plan)) == plan


def test_solve_params_round_trip_without_the_callbacks():
    params = SolveParams(time_limit_s=3, seed=4, iterations=10, on_progress=print)
    assert SolveParams.from_dict(json.loads(json.dumps(params.to_dict()))) == SolveParams(
        time_limit_s=3, seed=4, iterations=10
    )


def test_the_gap_of_a_split_shift_is_a_fixed_break():
    shift = split_shift()
    assert shift.gap_breaks() == (Break(hm(12), hm(12), 90 * 60),)
    assert shift.latest_end == hm(17, 30)


def test_start_windows_account_for_the_soft_window_and_the_pinned_start():
    v = _visit(windows=(TimeWindow(hm(8), hm(10)), TimeWindow(hm(14), hm(16))),
               soft_window=TimeWindow(hm(9), hm(15)))
    assert v.start_windows() == (TimeWindow(hm(9), hm(10)), TimeWindow(hm(14), hm(16)))
    pinned = _visit(pin=Pin(start=hm(9, 15)))
    assert pinned.start_windows() == (TimeWindow(hm(9, 15), hm(9, 15)),)

"""The generated field-service problem behind ``tecnico bench fsm``."""

from __future__ import annotations

from solver.generate import AREA_KM, CENTRE, generate_fsm
from solver.model import DAY
from solver.travel import haversine_m


def test_the_same_arguments_give_the_same_problem_and_another_seed_another():
    assert generate_fsm(4, 30, 2, seed=7) == generate_fsm(4, 30, 2, seed=7)
    assert generate_fsm(4, 30, 2, seed=7) != generate_fsm(4, 30, 2, seed=8)


def test_sizes_days_and_split_shifts_with_lunch_are_as_asked():
    p = generate_fsm(10, 60, 3, seed=1)
    assert len(p.technicians) == 10 and len(p.visits) == 60 and p.horizon_days == 3
    for t in p.technicians:
        assert [s.day for s in t.shifts] == [0, 1, 2]
        for s in t.shifts:
            lunch = s.all_breaks()
            assert len(lunch) == 1 and lunch[0].duration >= 3600
            assert s.start == s.day * DAY + 8 * 3600


def test_every_visit_has_one_to_three_windows_and_skills_some_technician_has():
    p = generate_fsm(8, 200, 2, seed=3)
    counts = {len(v.windows) for v in p.visits}
    assert counts == {1, 2, 3}
    for v in p.visits:
        assert any(v.skills <= t.skills for t in p.technicians), v.id
        assert 0 <= v.priority <= 3
        assert 20 * 60 <= v.duration <= 90 * 60
    assert any(v.skills for v in p.visits) and any(not v.skills for v in p.visits)
    assert {v.priority for v in p.visits} >= {0, 1, 2}


def test_places_lie_in_a_city_sized_square_around_the_centre():
    p = generate_fsm(20, 300, 1, seed=5)
    places = [v.location for v in p.visits] + [t.start for t in p.technicians]
    half_diagonal_m = AREA_KM / 2 * 2**0.5 * 1000
    for loc in places:
        assert haversine_m(CENTRE[0], CENTRE[1], loc.lat, loc.lon) <= half_diagonal_m + 100

"""The independent validator: a hand-built valid plan passes, and each rule broken on
purpose (one edit of the valid plan or of its problem) is caught with its exact code."""

from __future__ import annotations

import dataclasses

import pytest

from solver.model import (
    Break,
    CurrentPosition,
    Location,
    Pin,
    PreviousAssignment,
    Problem,
    Shift,
    Technician,
    TimeWindow,
    TravelMatrix,
    Visit,
    Weights,
)
from solver.plan import (
    BreakTaken,
    KPIs,
    Plan,
    PlanStatus,
    Reason,
    Route,
    Stop,
    Unassigned,
)
from solver.travel import provider_for, with_matrix
from solver.validate import check_reasons, validate

H = 3600
# places: 0 = the technicians' home, 1..4 = customers A..D; seconds, distance = 10 m/s
DURATIONS = [
    [0, 600, 900, 1200, 1500],
    [600, 0, 300, 700, 800],
    [900, 300, 0, 400, 600],
    [1200, 700, 400, 0, 500],
    [1500, 800, 600, 500, 0],
]
MATRIX = TravelMatrix(DURATIONS, [[10.0 * x for x in row] for row in DURATIONS])
HOME = Location(index=0)

# t1 works a split shift 08:00-12:00 / 13:30-17:30 (the gap is lunch), t2 08:00-17:00
# with an hour of lunch starting between 12:00 and 13:00
SPLIT = Shift(day=0, windows=(TimeWindow(8 * H, 12 * H), TimeWindow(13 * H + 1800, 17 * H + 1800)))
FLEX = Shift(day=0, windows=(TimeWindow(8 * H, 17 * H),), breaks=(Break(12 * H, 13 * H, H),))
T1 = Technician(id="t1", start=HOME, shifts=(SPLIT,), skills=frozenset({"elec", "gas"}))
T2 = Technician(id="t2", start=HOME, shifts=(FLEX,), skills=frozenset({"elec"}))

A = Visit("a", Location(index=1), H, (TimeWindow(8 * H, 10 * H),), skills=frozenset({"elec"}))
B = Visit(
    "b",
    Location(index=2),
    1800,
    (TimeWindow(9 * H, 12 * H), TimeWindow(14 * H, 16 * H)),
    skills=frozenset({"gas"}),
)
C = Visit("c", Location(index=3), H, (TimeWindow(11 * H, 15 * H),))
D = Visit("d", Location(index=4), 2700, (TimeWindow(8 * H, 17 * H),), skills=frozenset({"elec"}))

PROBLEM = Problem(technicians=(T1, T2), visits=(A, B, C, D), matrix=MATRIX)

# t1: leaves 08:00, a 08:10-09:10, b 09:15-09:45, waits at c until 11:00, c 11:00-12:00,
# drives home around the 12:00-13:30 gap: home at 13:50
ROUTE_T1 = Route(
    technician_id="t1",
    day=0,
    stops=(
        Stop("a", arrival=29400, start=29400, end=33000, waiting=0, travel_time=600,
             travel_distance=6000.0),
        Stop("b", arrival=33300, start=33300, end=35100, waiting=0, travel_time=300,
             travel_distance=3000.0),
        Stop("c", arrival=35500, start=39600, end=43200, waiting=4100, travel_time=400,
             travel_distance=4000.0),
    ),
    breaks=(BreakTaken(43200, 48600),),
    start_time=28800,
    end_time=49800,
    end_travel_time=1200,
    end_travel_distance=12000.0,
    travel_time=2500,
    travel_distance=25000.0,
    service_time=9000,
    work_time=11500,
    overtime=0,
)
# t2: leaves 11:06:40, d 11:31:40-12:16:40, lunch right after, home at 13:41:40
ROUTE_T2 = Route(
    technician_id="t2",
    day=0,
    stops=(
        Stop("d", arrival=41500, start=41500, end=44200, waiting=0, travel_time=1500,
             travel_distance=15000.0),
    ),
    breaks=(BreakTaken(44200, 47800),),
    start_time=40000,
    end_time=49300,
    end_travel_time=1500,
    end_travel_distance=15000.0,
    travel_time=3000,
    travel_distance=30000.0,
    service_time=2700,
    work_time=5700,
    overtime=0,
)
REGULAR = 8 * H + 9 * H  # both shifts' working windows

PLAN = Plan(
    status=PlanStatus.FEASIBLE,
    routes=(ROUTE_T1, ROUTE_T2),
    unassigned=(),
    kpis=KPIs(
        assigned=4,
        unassigned=0,
        travel_time=5500,
        travel_distance=55000.0,
        service_time=11700,
        overtime=0,
        utilisation=17200 / REGULAR,
        lateness=0,
        balance=11500 - 5700,
        routes=2,
    ),
    objective=5500 / 60,
    elapsed=0.0,
)


def codes(problem: Problem, plan: Plan) -> set[str]:
    return {v.code for v in validate(problem, plan)}


def consistent(problem: Problem, plan: Plan, regular: int = REGULAR) -> Plan:
    """The plan with KPIs and objective added up from its own routes (for edits that
    change which routes or unassigned entries there are)."""
    routes = plan.routes
    work: dict[str, int] = {t.id: 0 for t in problem.technicians}
    for r in routes:
        work[r.technician_id] = work.get(r.technician_id, 0) + r.work_time
    by_id = {v.id: v for v in problem.visits}
    kpis = KPIs(
        assigned=len({s.visit_id for r in routes for s in r.stops}),
        unassigned=len(plan.unassigned),
        travel_time=sum(r.travel_time for r in routes),
        travel_distance=sum(r.travel_distance for r in routes),
        service_time=sum(r.service_time for r in routes),
        overtime=sum(r.overtime for r in routes),
        utilisation=sum(r.work_time for r in routes) / regular,
        lateness=sum(s.lateness + s.deadline_lateness for r in routes for s in r.stops),
        balance=max(work.values()) - min(work.values()),
        routes=len(routes),
    )
    objective = sum(r.travel_time for r in routes) / 60 + sum(r.overtime * 3 / 60 for r in routes)
    objective += sum(
        problem.weights.unassigned_penalty(by_id[u.visit_id])
        for u in plan.unassigned
        if u.visit_id in by_id
    )
    return dataclasses.replace(plan, kpis=kpis, objective=objective)


def with_visit(problem: Problem, visit_id: str, **changes) -> Problem:
    visits = tuple(
        dataclasses.replace(v, **changes) if v.id == visit_id else v for v in problem.visits
    )
    return dataclasses.replace(problem, visits=visits)


def with_tech(problem: Problem, tech_id: str, **changes) -> Problem:
    techs = tuple(
        dataclasses.replace(t, **changes) if t.id == tech_id else t for t in problem.technicians
    )
    return dataclasses.replace(problem, technicians=techs)


def with_stop(plan: Plan, visit_id: str, **changes) -> Plan:
    routes = tuple(
        dataclasses.replace(
            r,
            stops=tuple(
                dataclasses.replace(s, **changes) if s.visit_id == visit_id else s
                for s in r.stops
            ),
        )
        for r in plan.routes
    )
    return dataclasses.replace(plan, routes=routes)


def with_route(plan: Plan, tech_id: str, **changes) -> Plan:
    routes = tuple(
        dataclasses.replace(r, **changes) if r.technician_id == tech_id else r
        for r in plan.routes
    )
    return dataclasses.replace(plan, routes=routes)


def without_route(plan: Plan, tech_id: str, *unassigned: Unassigned) -> Plan:
    routes = tuple(r for r in plan.routes if r.technician_id != tech_id)
    return dataclasses.replace(plan, routes=routes, unassigned=plan.unassigned + unassigned)


def gone(visit_id: str, reason: Reason = Reason.SEARCH_LIMIT) -> Unassigned:
    return Unassigned(visit_id, reason, "left out")


# --------------------------------------------------------------------------- the valid plan


def test_the_hand_built_plan_with_a_split_shift_and_a_flexible_lunch_is_valid():
    assert validate(PROBLEM, PLAN) == []


def test_the_same_plan_is_valid_when_travel_comes_from_coordinates_instead_of_a_matrix():
    places = [Location(45.46, 9.19), Location(45.47, 9.20), Location(45.48, 9.18)]
    tech = Technician("t", start=places[0], shifts=(Shift(0, (TimeWindow(8 * H, 17 * H),)),))
    visit = Visit("v", places[1], 600, (TimeWindow(8 * H, 17 * H),))
    problem = Problem(technicians=(tech,), visits=(visit,))
    fixed = with_matrix(problem, provider_for(problem))
    out = fixed.matrix.durations[0, 1]
    back = fixed.matrix.durations[1, 0]
    dist = fixed.matrix.distances
    route = Route(
        technician_id="t", day=0,
        stops=(Stop("v", 8 * H + out, 8 * H + out, 8 * H + out + 600, 0, int(out),
                    float(dist[0, 1])),),
        breaks=(), start_time=8 * H, end_time=8 * H + out + 600 + back,
        end_travel_time=int(back), end_travel_distance=float(dist[1, 0]),
        travel_time=int(out + back), travel_distance=float(dist[0, 1] + dist[1, 0]),
        service_time=600, work_time=int(out + back + 600), overtime=0,
    )
    plan = Plan(
        PlanStatus.FEASIBLE, (route,), (),
        KPIs(1, 0, int(out + back), float(dist[0, 1] + dist[1, 0]), 600, 0,
             (out + back + 600) / (9 * H), 0, 0, 1),
        objective=float(out + back) / 60, elapsed=0.0,
    )
    assert out > 0
    assert validate(problem, plan) == []
    assert validate(fixed, plan) == []


# --------------------------------------------------------------------------- accounting


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        pytest.param(consistent(PROBLEM, without_route(PLAN, "t2")), {"VISIT_MISSING"},
                     id="visit-missing"),
        pytest.param(consistent(PROBLEM, without_route(PLAN, "t2", gone("d"), gone("d"))),
                     {"UNASSIGNED_TWICE"}, id="unassigned-twice"),
        pytest.param(consistent(PROBLEM, without_route(PLAN, "none", gone("a"))),
                     {"ASSIGNED_AND_UNASSIGNED"}, id="assigned-and-unassigned"),
        pytest.param(consistent(PROBLEM, without_route(PLAN, "none", gone("zzz"))),
                     {"UNKNOWN_VISIT"}, id="unknown-visit"),
        pytest.param(dataclasses.replace(PLAN, routes=(ROUTE_T1, ROUTE_T2, ROUTE_T2)),
                     {"DUPLICATE_ROUTE", "SERVED_TWICE"}, id="duplicate-route"),
        pytest.param(with_route(PLAN, "t2", technician_id="t9"), {"UNKNOWN_TECHNICIAN"},
                     id="unknown-technician"),
        pytest.param(dataclasses.replace(PLAN, status=PlanStatus.NO_SOLUTION), {"STATUS"},
                     id="no-solution-with-routes"),
    ],
)
def test_every_visit_is_accounted_for_exactly_once(plan, expected):
    assert codes(PROBLEM, plan) == expected


def test_a_visit_served_by_two_technicians_is_served_twice():
    # t1 serves d too, from 10:25 to 11:10, home by 11:35 (before the gap: no lunch due)
    t1_d = Route(
        technician_id="t1", day=0,
        stops=(Stop("d", 37500, 37500, 40200, 0, 1500, 15000.0),),
        breaks=(), start_time=36000, end_time=41700, end_travel_time=1500,
        end_travel_distance=15000.0, travel_time=3000, travel_distance=30000.0,
        service_time=2700, work_time=5700, overtime=0,
    )
    problem = dataclasses.replace(PROBLEM, visits=(D,))
    regular = REGULAR
    twice = consistent(problem, Plan(PlanStatus.FEASIBLE, (t1_d, ROUTE_T2), (), PLAN.kpis, 0, 0),
                       regular)
    assert codes(problem, twice) == {"SERVED_TWICE"}

    crew = dataclasses.replace(problem, visits=(dataclasses.replace(D, crew_size=2),))
    assert codes(crew, twice) == {"CREW"}  # together means the same start
    together = with_route(twice, "t2", **{
        f: getattr(t1_d, f) for f in ("stops", "breaks", "start_time", "end_time")
    })
    assert codes(crew, together) == set()
    alone = consistent(crew, dataclasses.replace(together, routes=together.routes[:1]))
    assert codes(crew, alone) == {"CREW"}


def test_a_route_without_stops_is_reported():
    t3 = Technician("t3", start=HOME, shifts=(FLEX,))
    problem = dataclasses.replace(PROBLEM, technicians=(T1, T2, t3))
    empty = Route("t3", 0, (), (), 8 * H, 8 * H, 0, 0.0, 0, 0.0, 0, 0, 0)
    plan = consistent(problem, dataclasses.replace(PLAN, routes=(*PLAN.routes, empty)),
                      REGULAR + 9 * H)
    assert codes(problem, plan) == {"EMPTY_ROUTE"}


# --------------------------------------------------------------------------- who and when


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        pytest.param(with_visit(PROBLEM, "b", skills=frozenset({"gas", "hvac"})), {"SKILLS"},
                     id="skills"),
        pytest.param(with_visit(PROBLEM, "a", excluded_technicians=frozenset({"t1"})),
                     {"EXCLUDED_TECHNICIAN"}, id="excluded"),
        pytest.param(with_tech(with_visit(PROBLEM, "a", zone="north"), "t1",
                               zones=frozenset({"south"})), {"ZONE"}, id="zone"),
        pytest.param(with_visit(dataclasses.replace(PROBLEM, horizon_days=2), "a",
                                allowed_days=frozenset({1})), {"DAY_NOT_ALLOWED"},
                     id="allowed-days"),
        pytest.param(with_visit(PROBLEM, "a", pin=Pin(technician_id="t2")), {"PIN_TECHNICIAN"},
                     id="pin-technician"),
        pytest.param(with_visit(dataclasses.replace(PROBLEM, horizon_days=2), "a",
                                pin=Pin(day=1)), {"PIN_DAY"}, id="pin-day"),
        pytest.param(with_visit(PROBLEM, "a", pin=Pin(start=30000)), {"PIN_START"},
                     id="pin-start"),
        pytest.param(with_visit(PROBLEM, "a", windows=(TimeWindow(30000, 36000),)),
                     {"TIME_WINDOW"}, id="hard-window"),
        pytest.param(with_visit(PROBLEM, "c", soft_window=TimeWindow(40000, 41000)),
                     {"SOFT_WINDOW_START"}, id="before-the-promised-window"),
        pytest.param(with_tech(PROBLEM, "t1", capacity=2), set(), id="capacity-without-demands"),
        pytest.param(with_tech(PROBLEM, "t1", shifts=(dataclasses.replace(SPLIT, max_work=11000),)),
                     {"MAX_WORK"}, id="max-work"),
    ],
)
def test_each_rule_about_who_serves_a_visit_and_when_is_caught(problem, expected):
    assert codes(problem, PLAN) == expected


def test_a_load_over_the_capacity_is_caught():
    problem = with_tech(PROBLEM, "t1", capacity=2)
    for vid in "abc":
        problem = with_visit(problem, vid, demand=1)
    plan = with_route(PLAN, "t1", load=3)
    assert codes(problem, plan) == {"CAPACITY"}
    assert codes(with_tech(problem, "t1", capacity=3), plan) == set()
    assert codes(with_tech(problem, "t1", capacity=3), PLAN) == {"ROUTE_TOTAL"}  # load 0


def test_lateness_past_the_soft_window_and_the_deadline_must_be_reported_and_costed():
    problem = with_visit(PROBLEM, "c", soft_window=TimeWindow(39000, 39300), deadline=39500)
    assert codes(problem, PLAN) == {"LATENESS", "DEADLINE_LATENESS", "KPI", "OBJECTIVE"}
    late = with_stop(PLAN, "c", lateness=300, deadline_lateness=100)
    late = dataclasses.replace(
        late,
        kpis=dataclasses.replace(PLAN.kpis, lateness=400),
        objective=PLAN.objective + 300 * 5 / 60 + 100 * 10 / 60,
    )
    assert codes(problem, late) == set()


def test_a_route_leaving_before_the_shift_or_the_current_position_allows_is_caught():
    later = (TimeWindow(9 * H, 12 * H), TimeWindow(13 * H + 1800, 18 * H + 1800))
    problem = with_tech(PROBLEM, "t1", shifts=(dataclasses.replace(SPLIT, windows=later),))
    assert codes(problem, PLAN) == {"SHIFT_START", "SHIFT_WINDOW"}

    current = CurrentPosition(day=0, location=HOME, available_from=40500)
    problem = with_tech(PROBLEM, "t2", current=current)
    assert "SHIFT_START" in codes(problem, PLAN)


def test_ending_past_the_shift_is_overtime_up_to_the_allowed_amount_and_a_violation_beyond():
    short = dataclasses.replace(FLEX, windows=(TimeWindow(8 * H, 48000),), overtime_max=H)
    problem = with_tech(PROBLEM, "t2", shifts=(short,))
    regular = REGULAR - (17 * H - 48000)
    assert codes(problem, consistent(problem, PLAN, regular)) == {"ROUTE_TOTAL", "KPI",
                                                                   "OBJECTIVE"}
    overtime = consistent(problem, with_route(PLAN, "t2", overtime=1300), regular)
    assert codes(problem, overtime) == set()
    too_much = with_tech(problem, "t2", shifts=(dataclasses.replace(short, overtime_max=600),))
    assert codes(too_much, overtime) == {"SHIFT_END"}


def test_a_route_on_a_day_without_shift_or_in_the_past_is_caught():
    problem = dataclasses.replace(PROBLEM, horizon_days=2)
    assert codes(problem, with_route(PLAN, "t2", day=1)) == {"NO_SHIFT"}
    shift1 = dataclasses.replace(FLEX, day=1, windows=(TimeWindow(32 * H, 41 * H),), breaks=())
    current = CurrentPosition(day=1, location=HOME, available_from=32 * H)
    problem = with_tech(problem, "t2", shifts=(FLEX, shift1), current=current)
    assert "PAST_DAY" in codes(problem, PLAN)


# --------------------------------------------------------------------------- the timeline


LATE_T2 = with_route(
    with_stop(PLAN, "d", arrival=43500, start=43500, end=46200),
    "t2",
    start_time=42000,
    end_time=47700,
)


def test_a_route_ending_before_the_lunch_may_start_need_not_take_it():
    # home at 12:45, lunch may start until 13:00: it can wait until after the route
    early = with_route(LATE_T2, "t2", start_time=40000, end_time=45700, breaks=())
    early = with_stop(early, "d", arrival=41500, start=41500, end=44200)
    assert codes(PROBLEM, early) == set()


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        pytest.param(with_stop(PLAN, "b", travel_time=301), {"TRAVEL_TIME"}, id="travel-time"),
        pytest.param(with_stop(PLAN, "b", travel_distance=3001.0), {"TRAVEL_DISTANCE"},
                     id="travel-distance"),
        pytest.param(with_route(PLAN, "t1", end_travel_time=1100), {"TRAVEL_TIME"},
                     id="travel-time-home"),
        pytest.param(with_stop(PLAN, "b", arrival=33200), {"ARRIVAL"}, id="arrival"),
        pytest.param(with_stop(PLAN, "c", waiting=4000), {"WAITING"}, id="waiting"),
        pytest.param(with_stop(PLAN, "c", end=43000), {"SERVICE_END"}, id="service-end"),
        pytest.param(with_route(PLAN, "t1", end_time=49000), {"END_TIME"}, id="end-time"),
        pytest.param(with_stop(PLAN, "b", start=33200, end=35000),
                     {"START_BEFORE_ARRIVAL", "WAITING", "ARRIVAL"},
                     id="start-before-arrival"),
        # service 11:06:40-12:06:40 runs into the 12:00 gap of the split shift
        pytest.param(with_stop(PLAN, "c", start=40000, end=43600, waiting=4500),
                     {"WORK_IN_GAP", "BREAK_OVERLAPS_SERVICE", "END_TIME"}, id="work-in-gap"),
        # driving home through the gap without listing it
        pytest.param(with_route(PLAN, "t1", breaks=(), end_time=44400), {"BREAK_MISSING"},
                     id="gap-not-kept"),
        pytest.param(with_route(PLAN, "t1", breaks=(BreakTaken(43200, 48000),), end_time=49200),
                     {"BREAK_INVALID", "BREAK_MISSING"}, id="gap-shortened"),
        # t2 serving d 12:05-12:50 and home at 13:15 must have lunched by then
        pytest.param(with_route(LATE_T2, "t2", breaks=()), {"BREAK_MISSING"},
                     id="lunch-skipped"),
        pytest.param(with_route(LATE_T2, "t2", breaks=(BreakTaken(47700, 51300),)),
                     {"BREAK_INVALID", "BREAK_MISSING"}, id="lunch-too-late"),
        pytest.param(with_route(PLAN, "t2", breaks=(BreakTaken(44000, 47600),)),
                     {"BREAK_OVERLAPS_SERVICE", "END_TIME"}, id="lunch-during-service"),
        pytest.param(with_route(PLAN, "t2", breaks=(BreakTaken(44200, 47800),
                                                    BreakTaken(44300, 47900))),
                     {"BREAK_OVERLAP", "BREAK_INVALID", "END_TIME"}, id="two-lunches"),
    ],
)
def test_every_time_of_every_route_is_replayed(plan, expected):
    assert codes(PROBLEM, plan) == expected


def test_a_flexible_lunch_lying_wholly_before_the_route_need_not_be_taken():
    # t2 leaves at 13:00 and takes lunch 12:00-13:00 at home: not part of the route
    t2 = dataclasses.replace(
        ROUTE_T2,
        stops=(Stop("d", 48300, 48300, 51000, 0, 1500, 15000.0),),
        breaks=(),
        start_time=13 * H,
        end_time=52500,
    )
    plan = with_route(PLAN, "t2", **{f: getattr(t2, f) for f in
                                     ("stops", "breaks", "start_time", "end_time")})
    assert codes(PROBLEM, plan) == set()
    # leaving one second earlier, the lunch no longer lies wholly before the route
    assert codes(PROBLEM, with_route(plan, "t2", start_time=13 * H - 1)) == {
        "ARRIVAL", "WAITING", "BREAK_MISSING"
    }


# --------------------------------------------------------------------------- totals


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        pytest.param(with_route(PLAN, "t1", travel_time=2400), {"ROUTE_TOTAL"}, id="travel"),
        pytest.param(with_route(PLAN, "t1", travel_distance=24000.0), {"ROUTE_TOTAL"},
                     id="distance"),
        pytest.param(with_route(PLAN, "t1", service_time=8000), {"ROUTE_TOTAL"}, id="service"),
        pytest.param(with_route(PLAN, "t1", work_time=11000), {"ROUTE_TOTAL"}, id="work"),
        pytest.param(with_route(PLAN, "t1", overtime=10), {"ROUTE_TOTAL"}, id="overtime"),
        pytest.param(dataclasses.replace(PLAN, kpis=dataclasses.replace(PLAN.kpis, assigned=3)),
                     {"KPI"}, id="kpi-assigned"),
        pytest.param(dataclasses.replace(PLAN, kpis=dataclasses.replace(PLAN.kpis,
                                                                        utilisation=0.5)),
                     {"KPI"}, id="kpi-utilisation"),
        pytest.param(dataclasses.replace(PLAN, kpis=dataclasses.replace(PLAN.kpis, balance=0)),
                     {"KPI"}, id="kpi-balance"),
        pytest.param(dataclasses.replace(PLAN, objective=PLAN.objective + 1), {"OBJECTIVE"},
                     id="objective"),
    ],
)
def test_reported_totals_must_equal_the_recomputed_ones(plan, expected):
    assert codes(PROBLEM, plan) == expected


def test_the_objective_counts_penalties_preferences_and_stability():
    problem = dataclasses.replace(
        with_visit(PROBLEM, "a", preferred_technicians=frozenset({"t2"})),
        previous=(PreviousAssignment("d", "t1", 0), PreviousAssignment("b", "t1", 0)),
        weights=Weights(route_fixed=7),
    )
    expected = PLAN.objective + 30 + 60 + 2 * 7
    assert codes(problem, dataclasses.replace(PLAN, objective=expected)) == set()
    assert codes(problem, PLAN) == {"OBJECTIVE"}


def test_violations_name_the_place_and_read_as_sentences():
    [v] = validate(PROBLEM, with_stop(PLAN, "b", arrival=33200))
    assert (v.code, v.technician_id, v.day, v.visit_id) == ("ARRIVAL", "t1", 0, "b")
    assert str(v) == (
        "ARRIVAL (technician t1, day 0, visit b): arrival 33200 reported, the replay gives 33300"
    )


# --------------------------------------------------------------------------- reasons

E = Visit("e", Location(index=1), 600, (TimeWindow(31000, 31500),), skills=frozenset({"gas"}))
TIGHT_A = dataclasses.replace(A, windows=(TimeWindow(8 * H, 30000),), priority=3)
REASONS = dataclasses.replace(PROBLEM, visits=(TIGHT_A, B, C, D, E))


def reasons_plan(problem: Problem, *unassigned: Unassigned) -> Plan:
    return dataclasses.replace(PLAN, unassigned=unassigned)


def reason_codes(problem: Problem, u: Unassigned) -> list[str]:
    return [v.message for v in check_reasons(problem, reasons_plan(problem, u))]


def test_a_visit_that_fits_an_empty_route_but_not_the_plan_does_not_fit_in_time():
    # e must start 08:36:40-08:45 at A, where t1 (the only gas technician) is busy with a
    assert reason_codes(REASONS, gone("e", Reason.DOES_NOT_FIT_IN_TIME)) == []
    [msg] = reason_codes(REASONS, gone("e", Reason.NOT_WORTH_IT))
    assert "cannot be inserted" in msg
    [msg] = reason_codes(REASONS, gone("e", Reason.NO_SHIFT_MATCHES_WINDOWS))
    assert "empty route" in msg


def test_losing_to_higher_priority_work_needs_the_blockers_to_be_higher_and_in_the_way():
    lost = Unassigned("e", Reason.LOST_TO_HIGHER_PRIORITY, "lost", blocked_by=("a",))
    assert reason_codes(REASONS, lost) == []
    equal = with_visit(REASONS, "a", priority=0)
    [msg] = reason_codes(equal, lost)
    assert "no higher priority" in msg
    not_in_the_way = dataclasses.replace(lost, blocked_by=("c",))
    problem = with_visit(REASONS, "c", priority=5)
    [msg] = reason_codes(problem, not_in_the_way)
    assert "does not fit even without" in msg


def test_a_visit_that_fits_somewhere_in_the_plan_may_be_left_out_only_as_not_worth_it():
    f = Visit("f", Location(index=4), 600, (TimeWindow(8 * H, 17 * H),))
    problem = dataclasses.replace(PROBLEM, visits=(*PROBLEM.visits, f))
    assert reason_codes(problem, gone("f", Reason.NOT_WORTH_IT)) == []
    assert reason_codes(problem, gone("f", Reason.SEARCH_LIMIT)) == []
    [msg] = reason_codes(problem, gone("f", Reason.DOES_NOT_FIT_IN_TIME))
    assert "can be inserted" in msg


def test_skills_and_eligibility_reasons_hold_only_when_no_technician_qualifies():
    hvac = Visit("h", Location(index=4), 600, (TimeWindow(8 * H, 17 * H),),
                 skills=frozenset({"hvac"}))
    gas_not_t1 = Visit("g", Location(index=4), 600, (TimeWindow(8 * H, 17 * H),),
                       skills=frozenset({"gas"}), excluded_technicians=frozenset({"t1"}))
    problem = dataclasses.replace(PROBLEM, visits=(*PROBLEM.visits, hvac, gas_not_t1))
    assert reason_codes(problem, gone("h", Reason.NO_SKILLED_TECHNICIAN)) == []
    assert reason_codes(problem, gone("g", Reason.NO_ELIGIBLE_TECHNICIAN)) == []
    [msg] = reason_codes(problem, gone("g", Reason.NO_SKILLED_TECHNICIAN))
    assert "t1" in msg
    [msg] = reason_codes(problem, gone("d", Reason.NO_ELIGIBLE_TECHNICIAN))
    assert "may serve it" in msg
    [msg] = reason_codes(problem, gone("h", Reason.DOES_NOT_FIT_IN_TIME))
    assert "NO_SKILLED_TECHNICIAN holds instead" in msg


def test_no_shift_matches_when_even_an_empty_route_cannot_keep_the_lunch_rules():
    # 12:25: t1 is in its split-shift gap; t2 must lunch between 12:00 and 13:00 for an hour
    # and a 40-minute service at 12:25 leaves no room for it before or after
    g = Visit("g", Location(index=4), 2400, (TimeWindow(44700, 44760),))
    problem = dataclasses.replace(PROBLEM, visits=(*PROBLEM.visits, g))
    assert reason_codes(problem, gone("g", Reason.NO_SHIFT_MATCHES_WINDOWS)) == []
    # ten minutes of service at 12:25 let t2 lunch from 12:35 (within 12:00-13:00)
    short = with_visit(problem, "g", duration=600)
    [msg] = reason_codes(short, gone("g", Reason.NO_SHIFT_MATCHES_WINDOWS))
    assert "empty route" in msg


def test_no_shift_matches_a_visit_wanted_on_a_day_nobody_works():
    late = Visit("l", Location(index=4), 600, (TimeWindow(20 * H, 21 * H),))
    problem = dataclasses.replace(PROBLEM, visits=(*PROBLEM.visits, late))
    assert reason_codes(problem, gone("l", Reason.NO_SHIFT_MATCHES_WINDOWS)) == []


def test_travel_may_be_interrupted_by_a_fixed_break_to_reach_a_visit_in_time():
    # t1 ends j at A at 11:50 and drives 800 s to D: 10 minutes before the 12:00-13:30
    # gap, the rest after it, at D at 13:33:20 for k (start 13:33:20-13:35)
    j = Visit("j", Location(index=1), 600, (TimeWindow(42000, 42600),), skills=frozenset({"gas"}))
    k = Visit("k", Location(index=4), 600, (TimeWindow(48800, 48900),), skills=frozenset({"gas"}))
    problem = Problem(technicians=(T1,), visits=(j, k), matrix=MATRIX)
    both = Route(
        technician_id="t1", day=0,
        stops=(Stop("j", 42000, 42000, 42600, 0, 600, 6000.0),
               Stop("k", 48800, 48800, 49400, 0, 800, 8000.0)),
        breaks=(BreakTaken(43200, 48600),),
        start_time=41400, end_time=50900, end_travel_time=1500, end_travel_distance=15000.0,
        travel_time=2900, travel_distance=29000.0, service_time=1200, work_time=4100,
        overtime=0,
    )
    plan = consistent(problem, Plan(PlanStatus.FEASIBLE, (both,), (), PLAN.kpis, 0, 0), 8 * H)
    assert validate(problem, plan) == []

    # with j alone in the plan, k still fits after it: only by splitting the drive
    only_j = Route(
        technician_id="t1", day=0, stops=(Stop("j", 42000, 42000, 42600, 0, 600, 6000.0),),
        breaks=(), start_time=41400, end_time=43200, end_travel_time=600,
        end_travel_distance=6000.0, travel_time=1200, travel_distance=12000.0,
        service_time=600, work_time=1200 + 600, overtime=0,
    )
    left_out = consistent(problem, Plan(PlanStatus.FEASIBLE, (only_j,),
                                        (gone("k", Reason.DOES_NOT_FIT_IN_TIME),), PLAN.kpis,
                                        0, 0), 8 * H)
    assert validate(problem, left_out) == []
    [v] = check_reasons(problem, left_out)
    assert "can be inserted" in v.message
    # ... but not when k must start by 13:31:40
    tight = with_visit(problem, "k", windows=(TimeWindow(48650, 48700),))
    assert check_reasons(tight, left_out) == []


def test_a_crew_visit_may_be_left_out_as_not_supported_and_only_a_crew_visit():
    crew = with_visit(PROBLEM, "d", crew_size=2)
    plan = consistent(crew, without_route(PLAN, "t2", gone("d", Reason.CREW_NOT_SUPPORTED)))
    assert validate(crew, plan) == []
    assert check_reasons(crew, plan) == []
    single = consistent(PROBLEM, without_route(PLAN, "t2", gone("d", Reason.CREW_NOT_SUPPORTED)))
    assert [v.code for v in check_reasons(PROBLEM, single)] == ["REASON"]


def test_a_day_before_the_current_position_is_the_past_and_serves_nothing():
    # t2 works days 0 and 1 but is already on day 1: a visit only possible on day 0 has
    # no shift left
    day1 = dataclasses.replace(FLEX, day=1, windows=(TimeWindow(32 * H, 41 * H),), breaks=())
    now = CurrentPosition(day=1, location=HOME, available_from=33 * H)
    problem = with_tech(dataclasses.replace(PROBLEM, horizon_days=2), "t2",
                        shifts=(FLEX, day1), current=now)
    problem = with_tech(problem, "t1", shifts=())
    early = Visit("x", Location(index=4), 600, (TimeWindow(9 * H, 10 * H),))
    problem = dataclasses.replace(problem, visits=(early,))
    plan = Plan(PlanStatus.FEASIBLE, (), (gone("x", Reason.NO_SHIFT_MATCHES_WINDOWS),),
                KPIs(0, 1, 0, 0.0, 0, 0, 0.0, 0, 0, 0), 100_000.0, 0.0)
    assert validate(problem, plan) == []
    assert check_reasons(problem, plan) == []

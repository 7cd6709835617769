"""Database rows -> solver problem: shifts in horizon seconds, what enters the problem and
how (windows, appointments, deadlines, priorities, zones, pins, current positions)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dispatch.core.settings import Settings
from dispatch.scheduling.mapping import Scope, build_problem, tid, vid
from orders.models import OrderTimeWindow
from tests.factories import (
    make_absence,
    make_order,
    make_shift_window,
    make_site,
    make_skill,
    make_technician,
    make_visit,
    make_zone,
)

H = 3600
MONDAY, TUESDAY = date(2026, 3, 2), date(2026, 3, 3)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # Monday 09:00 in São Paulo


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(database_url="sqlite://", geocoder_url="", var_dir=tmp_path)


def _build(session, settings, *, day_from=TUESDAY, day_to=TUESDAY, mode="full", now=NOW,
           scope=None):
    return build_problem(session, date_from=day_from, date_to=day_to, scope=scope or Scope("all"),
                         mode=mode, now=now, settings=settings)


def _windows(shift) -> list[tuple[int, int]]:
    return [(w.start, w.end) for w in shift.windows]


def test_the_default_day_becomes_two_windows_in_seconds_from_local_midnight(session, settings):
    tech = make_technician(session)

    mapped = _build(session, settings)

    (shift,) = mapped.problem.technician(tid(tech.id)).shifts
    assert shift.day == 0
    assert _windows(shift) == [(8 * H, 12 * H), (13 * H + 1800, 17 * H + 1800)]
    assert mapped.context["horizon_start"] == "2026-03-03T03:00:00+00:00"


def test_today_starts_now_and_the_weekend_and_absences_are_off(session, settings):
    tech = make_technician(session)
    make_absence(session, technician=tech, starts_at=datetime(2026, 3, 4, 14, tzinfo=UTC),
                 ends_at=datetime(2026, 3, 4, 17, tzinfo=UTC))  # Wednesday 11:00-14:00 local
    mapped = _build(session, settings, day_from=MONDAY, day_to=date(2026, 3, 8))

    shifts = {s.day: _windows(s) for s in mapped.problem.technician(tid(tech.id)).shifts}

    assert sorted(shifts) == [0, 1, 2, 3, 4]  # Monday to Friday
    assert shifts[0] == [(9 * H, 12 * H), (13 * H + 1800, 17 * H + 1800)]  # from 09:00
    assert shifts[2] == [(2 * 86400 + 8 * H, 2 * 86400 + 11 * H),
                         (2 * 86400 + 14 * H, 2 * 86400 + 17 * H + 1800)]


def test_own_windows_and_a_flexible_break_replace_the_default(session, settings):
    from dispatch.models import TechnicianBreak

    tech = make_technician(session)
    make_shift_window(session, technician=tech, weekday=1, start="07:00", end="16:00")
    session.add(TechnicianBreak(technician_id=tech.id, weekday=1, earliest_start_minute=660,
                                latest_start_minute=780, duration_minutes=45))
    session.flush()

    (shift,) = _build(session, settings).problem.technician(tid(tech.id)).shifts

    assert _windows(shift) == [(7 * H, 16 * H)]
    assert [(b.earliest_start, b.latest_start, b.duration) for b in shift.breaks] == [
        (11 * H, 13 * H, 45 * 60)]


def test_an_order_becomes_a_visit_with_its_windows_skills_priority_deadline_and_zone(
        session, settings):
    skill = make_skill(session, code="hvac")
    make_technician(session, skills=[skill])
    zone = make_zone(session, code="sp")
    order = make_order(session, status="ready", priority="urgent", estimated_duration_minutes=50,
                       response_due_at=datetime(2026, 3, 3, 18, tzinfo=UTC))
    order.required_skills = [skill]
    order.time_windows = [
        OrderTimeWindow(starts_at=datetime(2026, 3, 3, 12, tzinfo=UTC),
                        ends_at=datetime(2026, 3, 3, 14, tzinfo=UTC)),
        OrderTimeWindow(starts_at=datetime(2026, 3, 3, 14, tzinfo=UTC),  # touches: merged
                        ends_at=datetime(2026, 3, 3, 15, tzinfo=UTC)),
        OrderTimeWindow(starts_at=datetime(2026, 3, 5, 12, tzinfo=UTC),  # outside: dropped
                        ends_at=datetime(2026, 3, 5, 15, tzinfo=UTC)),
    ]
    session.flush()

    mapped = _build(session, settings)

    v = mapped.problem.visit(vid(order.id))
    assert v.duration == 50 * 60
    assert [(w.start, w.end) for w in v.windows] == [(9 * H, 12 * H)]
    assert v.skills == frozenset({"hvac"})
    assert v.priority == 5
    assert v.deadline == 15 * H
    assert v.zone == zone.code
    assert (v.location.lat, v.location.lon) == (order.site.latitude, order.site.longitude)
    assert mapped.context["orders"][vid(order.id)]["version"] == order.version


def test_an_appointment_holds_the_start_to_its_two_hour_window(session, settings):
    make_technician(session)
    order = make_order(session, status="scheduled",
                       appointment_start=datetime(2026, 3, 3, 17, tzinfo=UTC),
                       scheduled_start=datetime(2026, 3, 3, 17, tzinfo=UTC))

    mapped = _build(session, settings)

    v = mapped.problem.visit(vid(order.id))
    assert [(w.start, w.end) for w in v.windows] == [(14 * H, 16 * H)]
    assert mapped.problem.previous == ()  # booked on nobody yet


def test_orders_that_are_not_this_runs_business_stay_out(session, settings):
    tech = make_technician(session)
    other = make_technician(session)
    zone = make_zone(session, code="far", min_lat=-10, max_lat=-9, min_lon=-40, max_lon=-39)
    open_order = make_order(session, status="open")
    wednesday = make_visit(session, technician=tech, day=date(2026, 3, 4),
                           planned_start=datetime(2026, 3, 4, 12, tzinfo=UTC))
    started = make_visit(session, technician=tech, status="arrived")
    # in a zone run, an unplanned order outside the zone
    ready = make_order(session, status="ready")
    tech.zone_id = other.zone_id = zone.id
    session.flush()

    mapped = _build(session, settings, scope=Scope("zone", zone=zone))

    ids = {v.id for v in mapped.problem.visits}
    assert ids.isdisjoint({vid(o) for o in (open_order.id, wednesday.order_id, started.order_id,
                                            ready.id)})


def test_a_visit_under_way_today_is_where_the_day_restarts(session, settings):
    tech = make_technician(session)
    site = make_site(session, latitude=-23.60, longitude=-46.70)
    order = make_order(session, site=site, status="in_progress")
    make_visit(session, order=order, technician=tech, day=MONDAY, status="arrived",
               planned_start=datetime(2026, 3, 2, 11, 30, tzinfo=UTC))  # 08:30-09:30 local
    make_order(session, status="ready")

    tp = _build(session, settings, day_from=MONDAY, day_to=MONDAY).problem.technician(tid(tech.id))

    assert tp.current is not None
    assert (tp.current.location.lat, tp.current.location.lon) == (-23.60, -46.70)
    assert tp.current.available_from == 9 * H + 1800
    assert _windows(tp.shifts[0]) == [(9 * H + 1800, 12 * H), (13 * H + 1800, 17 * H + 1800)]


def test_pinned_visits_are_pinned_and_planned_ones_are_the_previous_plan(session, settings):
    tech = make_technician(session)
    pinned = make_visit(session, technician=tech, pinned=True)
    planned = make_visit(session, technician=tech,
                         planned_start=datetime(2026, 3, 3, 17, tzinfo=UTC))

    full = _build(session, settings).problem
    insert = _build(session, settings, mode="insert").problem

    p = full.visit(vid(pinned.order_id)).pin
    assert (p.technician_id, p.day, p.start) == (tid(tech.id), 0, 9 * H)
    assert full.visit(vid(planned.order_id)).pin is None
    assert {(x.visit_id, x.technician_id, x.day) for x in full.previous} == {
        (vid(pinned.order_id), tid(tech.id), 0), (vid(planned.order_id), tid(tech.id), 0)}
    assert insert.visit(vid(planned.order_id)).pin.start == 14 * H


def test_technicians_without_a_home_base_are_left_out_and_named(session, settings):
    homeless = make_technician(session, home_lat=None, home_lon=None)
    make_technician(session)

    mapped = _build(session, settings)

    assert tid(homeless.id) not in {t.id for t in mapped.problem.technicians}
    assert mapped.context["technicians_without_home"] == [homeless.id]


def test_an_order_longer_than_any_day_is_left_out_as_too_long(session, settings):
    make_technician(session)
    order = make_order(session, status="ready", estimated_duration_minutes=10 * 60)

    mapped = _build(session, settings)

    assert vid(order.id) not in {v.id for v in mapped.problem.visits}
    assert [(x["order_id"], x["reason"]) for x in mapped.context["left_out"]] == [
        (order.id, "TOO_LONG")]

"""The planning board's data over HTTP: a day by technician, unplanned work, live events."""

import threading
import time
from datetime import UTC, date, datetime

import pytest

from dispatch.events import EventHub
from tests.factories import (
    make_absence,
    make_item_group,
    make_order,
    make_service_item,
    make_site,
    make_skill,
    make_technician,
    make_visit,
    make_zone,
)

DAY = date(2026, 3, 3)  # Tuesday; São Paulo is UTC-3


def _at(hh: int, mm: int = 0, day: int = 3) -> datetime:
    return datetime(2026, 3, day, hh + 3, mm, tzinfo=UTC)


@pytest.fixture
def planned_day(session):
    """Ana: two visits (one starting after its SLA deadline); Bruno: absent all day;
    Carla: inactive; plus ready orders waiting to be planned."""
    ana = make_technician(session, name="Ana")
    bruno = make_technician(session, name="Bruno")
    make_technician(session, name="Carla", active=False)
    first = make_visit(session, technician=ana, planned_start=_at(9), arrival=_at(8, 40),
                       travel_seconds=1200, travel_meters=9000, sequence=1)
    late_order = make_order(session, status="scheduled", technician_id=ana.id,
                            scheduled_start=_at(14), response_due_at=_at(12))
    second = make_visit(session, order=late_order, technician=ana, planned_start=_at(14),
                        arrival=_at(13, 45), travel_seconds=900, travel_meters=4000,
                        sequence=2, pinned=True)
    make_absence(session, technician=bruno)
    session.commit()
    return {"ana": ana, "bruno": bruno, "first": first, "second": second}


def _board(client, headers, day="2026-03-03"):
    res = client.get("/board/data", params={"date": day}, headers=headers)
    assert res.status_code == 200, res.text
    return res.json()


def test_the_board_shows_each_active_technician_with_shift_breaks_travel_and_visits(
        client, auth, planned_day):
    board = _board(client, auth("dispatcher"))
    assert [t["name"] for t in board["technicians"]] == ["Ana", "Bruno"]
    ana, bruno = board["technicians"]
    assert ana["shift"] == [{"start": "2026-03-03T11:00:00Z", "end": "2026-03-03T15:00:00Z"},
                            {"start": "2026-03-03T16:30:00Z", "end": "2026-03-03T20:30:00Z"}]
    assert [(b["kind"], b["start"], b["end"]) for b in ana["blocks"]] == [
        ("break", "2026-03-03T15:00:00Z", "2026-03-03T16:30:00Z")]
    first, second = ana["visits"]
    assert (first["sequence"], first["travel_start"], first["arrival"]) == (
        1, "2026-03-03T11:20:00Z", "2026-03-03T11:40:00Z")
    assert first["site"]["location"] == {"lat": -23.5558, "lon": -46.6623}
    assert (first["sla_breach"], second["sla_breach"]) == (False, True)
    assert second["pinned"] is True
    assert bruno["shift"] == [] and bruno["visits"] == []
    assert [b["kind"] for b in bruno["blocks"]] == ["absence"]
    assert board["axis"] == {"start": "2026-03-03T10:00:00Z", "end": "2026-03-03T22:00:00Z"}
    k = board["kpis"]
    assert (k["technicians"], k["working_technicians"], k["visits"]) == (2, 1, 2)
    assert (k["travel_seconds"], k["travel_meters"], k["sla_breaches"], k["pinned"]) == (
        2100, 13000, 1, 1)
    assert k["utilisation"] == round(2 * 3600 / (8 * 3600), 4)
    assert ana["color"] != bruno["color"]


def test_a_visit_running_past_the_shift_is_late_and_widens_the_axis(client, auth, session):
    tech = make_technician(session, name="Dora")
    make_visit(session, technician=tech, planned_start=_at(17), sequence=1)
    session.commit()
    board = _board(client, auth("dispatcher"))
    (dora,) = board["technicians"]
    assert dora["late"] is True
    assert dora["visits"][0]["late_reasons"] == ["shift"]
    assert board["kpis"]["late_technicians"] == 1
    make_visit(session, technician=tech, planned_start=_at(19, 30), sequence=2)
    session.commit()
    # 19:30-20:30 local: the axis ends at 21:00 local.
    assert _board(client, auth("dispatcher"))["axis"]["end"] == "2026-03-04T00:00:00Z"


def test_another_day_has_no_visits_and_a_sunday_no_shift(client, auth, planned_day):
    board = _board(client, auth("dispatcher"), "2026-03-08")
    assert all(t["visits"] == [] and t["shift"] == [] for t in board["technicians"])
    assert board["kpis"]["working_technicians"] == 0


def test_unassigned_lists_ready_orders_most_pressing_first(client, auth, session):
    make_order(session, status="ready", priority="normal", response_due_at=_at(18))
    make_order(session, status="ready", priority="urgent")
    make_order(session, status="ready", priority="normal", response_due_at=_at(6, day=2))
    make_order(session, status="open", priority="urgent")
    make_order(session, status="scheduled", priority="urgent")
    session.commit()
    res = client.get("/board/unassigned", headers=auth("dispatcher"))
    assert res.status_code == 200
    rows = res.json()
    assert [(o["priority"], o["response_due_at"]) for o in rows] == [
        ("urgent", None), ("normal", "2026-03-02T09:00:00Z"),
        ("normal", "2026-03-03T21:00:00Z")]
    # The clock stands at 2026-03-02 12:00 UTC.
    assert [o["overdue"] for o in rows] == [False, True, False]


def test_unassigned_filters_by_priority_skill_zone_and_sla(client, auth, session):
    fridge = make_skill(session, code="fridge")
    make_zone(session, code="centre", min_lat=-23.60, max_lat=-23.50,
              min_lon=-46.70, max_lon=-46.60)
    make_zone(session, code="north", min_lat=-23.50, max_lat=-23.30, min_lon=-46.80,
              max_lon=-46.40)
    in_centre = make_site(session, latitude=-23.55, longitude=-46.65)
    far = make_site(session, latitude=-23.45, longitude=-46.60)
    a = make_order(session, status="ready", priority="high", response_due_at=_at(10),
                   service_item=make_service_item(
                       session, site=in_centre, item_group=make_item_group(
                           session, skills=[fridge])))
    b = make_order(session, status="ready", priority="low", site=far,
                   service_item=make_service_item(session, site=far))
    session.commit()
    headers = auth("dispatcher")

    def numbers(**params):
        res = client.get("/board/unassigned", params=params, headers=headers)
        assert res.status_code == 200, res.text
        return [o["number"] for o in res.json()]

    assert numbers() == [a.number, b.number]
    assert numbers(priority=["low", "urgent"]) == [b.number]
    assert numbers(skill="fridge") == [a.number]
    assert numbers(zone="centre") == [a.number]
    assert numbers(zone="north") == [b.number]
    assert numbers(due_before="2026-03-03T14:00:00+00:00") == [a.number]
    assert numbers(due_before="2026-03-03T12:00:00Z") == []
    rows = client.get("/board/unassigned", headers=headers).json()
    assert [o["zone"] for o in rows] == ["centre", "north"]


def test_bad_board_filters_are_422_problems(client, auth):
    headers = auth("dispatcher")
    for params, field in (({"zone": "atlantis"}, "zone"), ({"priority": "asap"}, "priority.0"),
                          ({"due_before": "2026-03-03T10:00:00"}, "due_before")):
        res = client.get("/board/unassigned", params=params, headers=headers)
        assert res.status_code == 422, params
        assert res.headers["content-type"].startswith("application/problem+json")
        assert res.json()["field"] == field
    res = client.get("/board/data", params={"date": "03/03/2026"}, headers=headers)
    assert (res.status_code, res.json()["field"]) == (422, "date")


def test_only_dispatchers_read_the_board_but_anyone_loads_its_page(client, auth):
    for role in ("technician", "billing"):
        assert client.get("/board/data?date=2026-03-03", headers=auth(role)).status_code == 403
    assert client.get("/board/data?date=2026-03-03").status_code == 401
    page = client.get("/board?date=2026-03-03")
    assert page.status_code == 200
    assert "Planning board" in page.text
    assert '"day": "2026-03-03"' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "connect-src 'self'" in policy
    assert "img-src 'self' data:;" in policy


def test_the_page_admits_map_tiles_only_from_the_configured_server(settings, sessions, clock):
    from fastapi.testclient import TestClient

    from dispatch.app import create_app

    settings.tile_url = "https://tiles.example.org/{z}/{x}/{y}.png"
    with TestClient(create_app(settings, sessionmaker_=sessions, clock=clock)) as client:
        policy = client.get("/board").headers["content-security-policy"]
    assert "img-src 'self' data: https://tiles.example.org;" in policy


def test_the_event_stream_delivers_what_is_published_after_a_change(client, auth, app):
    headers = auth("dispatcher")

    def later():
        deadline = time.time() + 10
        while app.state.events.listeners == 0 and time.time() < deadline:
            time.sleep(0.01)
        app.state.events.publish("visits.changed", days=[DAY], visit_ids=[7])
        if not read.wait(10):  # end the stream rather than hang when nothing arrives
            app.state.events.close()

    read = threading.Event()
    threading.Thread(target=later).start()
    with client.stream("GET", "/board/events", headers=headers) as res:
        assert res.status_code == 200
        assert res.headers["content-type"].startswith("text/event-stream")
        seen = []
        for line in res.iter_lines():
            seen.append(line)
            if line.startswith("data:"):
                break
    read.set()
    assert "event: visits.changed" in seen
    assert seen[-1] == 'data: {"kind":"visits.changed","visit_ids":[7],"days":["2026-03-03"]}'


def test_a_reconnecting_stream_gets_the_events_it_missed(client, auth, app):
    hub: EventHub = app.state.events
    first = hub.publish("visits.changed", days=[DAY])
    hub.publish("run.updated", run_id=4, status="done")
    with client.stream("GET", "/board/events", headers=auth("dispatcher") | {
            "Last-Event-ID": str(first.id)}) as res:
        for line in res.iter_lines():
            if line.startswith("data:"):
                assert '"run_id":4' in line
                break


def test_a_move_by_hand_is_published_to_the_board(client, auth, session, app, planned_day):
    """D2's move endpoint publishes `visits.changed` for both days after its commit."""
    received = []
    hub: EventHub = app.state.events

    import asyncio

    async def listen():
        with hub.subscribe() as sub:
            # generous: the event arrives as soon as the move commits; the wait only
            # bounds a failure (a loaded CI machine once took longer than 5 s)
            received.append(await sub.next(30))

    thread = threading.Thread(target=lambda: asyncio.run(listen()))
    thread.start()
    deadline = time.time() + 30
    while hub.listeners == 0 and time.time() < deadline:
        time.sleep(0.01)
    visit = planned_day["first"]
    res = client.post(f"/visits/{visit.id}/move", headers=auth("dispatcher"),
                      json={"start": (_at(10)).isoformat(), "version": visit.version,
                            "force": True})
    assert res.status_code == 200, res.text
    thread.join(30)
    assert received and received[0].kind == "visits.changed"
    assert received[0].data["days"] == ["2026-03-03"]
    assert received[0].data["visit_ids"] == [visit.id]
    ana = _board(client, auth("dispatcher"))["technicians"][0]
    moved = next(v for v in ana["visits"] if v["id"] == visit.id)
    assert moved["planned_start"] == "2026-03-03T13:00:00Z"


def test_the_board_reads_the_same_number_of_queries_for_more_technicians(
        client, auth, session, connection):
    from sqlalchemy import event

    headers = auth("dispatcher")

    def queries() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(connection, "before_cursor_execute", listener)
        try:
            _board(client, headers)
        finally:
            event.remove(connection, "before_cursor_execute", listener)
        return len(seen)

    for n in range(2):
        make_visit(session, technician=make_technician(session, name=f"A{n}"))
    session.commit()
    few = queries()
    for n in range(6):
        make_visit(session, technician=make_technician(session, name=f"B{n}"))
    session.commit()
    assert queries() == few

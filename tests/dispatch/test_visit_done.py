"""A visit reported done over HTTP logs the technician's time and the parts he used on the
order, priced like any time entry and part line, all or nothing."""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import func, select

from dispatch.models import Visit
from orders.models import OrderHistory, OrderLine, ServiceOrder, TimeEntry
from tests.dispatch.dispatching_world import local, login, utc
from tests.factories import (
    make_item_group,
    make_line,
    make_order,
    make_product,
    make_service_item,
    make_technician,
    make_time_entry,
    make_visit,
)
from tests.orders.contract_world import make_contract_world


@dataclass
class Stop:
    world: Any
    order: Any
    visit: Any
    headers: dict[str, str]
    filter: Any  # a product the order does not carry


def _report(client, headers, visit_id: int, status: str, at: str | None = None, **extra):
    body = {"status": status} | ({"at": at} if at else {}) | extra
    return client.post(f"/visits/{visit_id}/status", headers=headers, json=body)


def _stop(client, session, auth, clock, *, contract: bool = False, item=None,
          arrive: bool = True) -> Stop:
    """The world's technician (labour R$ 354/h) arrived (unless not ``arrive``) at 09:05 at
    a stop planned for 09:00 after a 20 min, 8.4 km leg; the order carries 2 x the world's
    product (his parts to bring) and, with ``contract``, is under the world's contract (labour
    and travel included, parts 10 % off). The clock stands at 18:00 that day."""
    w = make_contract_world(session)
    order = make_order(session, service_item=item(w) if item else w.item, status="scheduled",
                       technician_id=w.technician.id, scheduled_start=utc("09:00"),
                       contract_id=w.contract.id if contract else None)
    make_line(session, order=order, product=w.product, quantity=D("2"))
    visit = make_visit(session, order=order, technician=w.technician,
                       planned_start=utc("09:00"), arrival=utc("08:50"), travel_seconds=1200,
                       travel_meters=8400)
    filter_ = make_product(session, name="Filtro de ar", sku="FLT-9", unit_price=D("80.00"))
    session.commit()
    headers = login(session, auth, w.technician)
    clock.current = utc("18:00")
    if arrive:
        res = _report(client, headers, visit.id, "arrived", local("09:05"))
        assert res.status_code == 200, res.text
    return Stop(w, order, visit, headers, filter_)


def _entries(client, stop: Stop) -> list[dict]:
    res = client.get(f"/orders/{stop.order.id}/time-entries", headers=stop.headers)
    assert res.status_code == 200, res.text
    return sorted(res.json(), key=lambda e: e["started_at"])


def _lines(client, stop: Stop) -> list[dict]:
    res = client.get(f"/orders/{stop.order.id}/lines", headers=stop.headers)
    assert res.status_code == 200, res.text
    return res.json()


def _published(app, request) -> tuple[Any, list[tuple[str, dict]]]:
    """The answer to ``request()`` and what the app published while serving it, heard the way
    the board's stream hears it (a subscription on its own event loop)."""
    hub = app.state.events
    heard: list[tuple[str, dict]] = []

    async def listen() -> None:
        with hub.subscribe() as sub:
            while (event := await sub.next(30)) is not None and event.kind != "test.heard":
                heard.append((event.kind, event.data))

    thread = threading.Thread(target=lambda: asyncio.run(listen()))
    thread.start()
    deadline = time.monotonic() + 30
    while hub.listeners == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    res = request()
    # The app publishes after its commit and before it answers: all is ahead of this marker.
    hub.publish("test.heard")
    thread.join(30)
    assert not thread.is_alive()
    return res, heard


def _events(session, order_id: int) -> list[OrderHistory]:
    session.expire_all()
    return list(session.scalars(select(OrderHistory).where(OrderHistory.order_id == order_id)
                                .order_by(OrderHistory.id)))


def _entry(activity: str, start: str, end: str, **extra) -> dict:
    return {"activity": activity, "started_at": local(start), "ended_at": local(end)} | extra


def _z(hhmm: str) -> str:
    return utc(hhmm).isoformat().replace("+00:00", "Z")


def test_done_without_entries_logs_the_time_on_site_and_the_travel_leg_with_its_km(
        client, auth, session, clock):
    stop = _stop(client, session, auth, clock)
    before = len(_events(session, stop.order.id))
    res = _report(client, stop.headers, stop.visit.id, "done", local("10:20"))
    assert res.status_code == 200, res.text
    assert (res.json()["status"], res.json()["finished_at"]) == ("done", _z("10:20"))

    travel, on_site = _entries(client, stop)
    assert (travel["activity"], travel["started_at"], travel["ended_at"]) == (
        "travel", _z("08:45"), _z("09:05"))
    assert (travel["distance_km"], travel["billed_minutes"], D(travel["amount"])) == (
        "8.40", 20, D("118.00"))
    assert (on_site["activity"], on_site["started_at"], on_site["ended_at"]) == (
        "on_site", _z("09:05"), _z("10:20"))
    # 75 minutes at R$ 354/h, priced from the catalogue (no contract).
    assert (on_site["billed_minutes"], D(on_site["amount"]), on_site["price_rule"]) == (
        75, D("442.50"), "catalogue")
    assert on_site["distance_km"] is None
    assert {e["technician_id"] for e in (travel, on_site)} == {stop.world.technician.id}

    events = _events(session, stop.order.id)[before:]
    assert [e.event for e in events] == ["time_added", "time_added", "status"]
    assert (events[-1].from_status, events[-1].to_status) == ("in_progress", "completed")
    assert {(e.user_id, e.at) for e in events} == {(stop.world.technician.user_id,
                                                    clock.current)}
    assert "8.40 km" in events[0].note


def test_the_default_travel_leg_starts_after_the_last_work_he_logged(client, auth, session,
                                                                     clock):
    stop = _stop(client, session, auth, clock)
    make_time_entry(session, order=make_order(session), technician=stop.world.technician,
                    started_at=utc("08:00"), ended_at=utc("08:55"))
    session.commit()
    assert _report(client, stop.headers, stop.visit.id, "done", local("10:00")).status_code == 200
    travel = _entries(client, stop)[0]
    assert (travel["started_at"], travel["ended_at"], travel["distance_km"]) == (
        _z("08:55"), _z("09:05"), "8.40")


def test_done_with_entries_and_parts_logs_them_priced_by_the_contract_and_warranty_rules(
        client, auth, session, clock):
    stop = _stop(client, session, auth, clock, contract=True)
    before = len(_events(session, stop.order.id))
    res = _report(client, stop.headers, stop.visit.id, "done", local("10:15"),
                  note="compressor replaced",
                  time_entries=[
                      _entry("travel", "08:40", "09:05", distance_km="9.1"),
                      _entry("on_site", "09:05", "10:00"),
                      _entry("analysis", "10:00", "10:15", billable=False, note="report"),
                  ],
                  parts_used=[{"product_id": stop.world.product.id, "quantity": "3"},
                              {"product_id": stop.filter.id, "quantity": "1",
                               "warranty": True}])
    assert res.status_code == 200, res.text

    entries = _entries(client, stop)
    assert [(e["activity"], e["started_at"], e["ended_at"], e["billable"], e["distance_km"])
            for e in entries] == [
        ("travel", _z("08:40"), _z("09:05"), True, "9.10"),
        ("on_site", _z("09:05"), _z("10:00"), True, None),
        ("analysis", _z("10:00"), _z("10:15"), False, None)]
    # Labour and travel are included in the contract: priced by it, charged nothing.
    assert [(e["price_rule"], e["billed_minutes"], D(e["total"])) for e in entries] == [
        ("contract", 25, 0), ("contract", 55, 0), ("contract", 15, 0)]

    brought, extra, filter_ = _lines(client, stop)
    assert brought["quantity"] == "2.00"
    # 3 used, 2 of them brought: one more, 10 % off under the contract.
    assert (extra["product_id"], extra["quantity"], extra["unit_price"],
            extra["discount_percent"], extra["price_rule"], D(extra["net"])) == (
        stop.world.product.id, "1.00", "50.00", "10.00", "contract", D("45.00"))
    assert (filter_["product_id"], filter_["warranty"], filter_["price_rule"],
            filter_["unit_price"], D(filter_["net"])) == (
        stop.filter.id, True, "warranty", "80.00", 0)
    assert {extra["technician_id"], filter_["technician_id"]} == {stop.world.technician.id}

    events = _events(session, stop.order.id)[before:]
    assert [e.event for e in events] == ["time_added"] * 3 + ["line_added"] * 2 + ["status"]
    assert {e.user_id for e in events} == {stop.world.technician.user_id}
    assert session.get(Visit, stop.visit.id).note == "compressor replaced"


def test_parts_brought_and_not_all_used_add_no_line_and_the_history_says_so(
        client, auth, session, clock):
    stop = _stop(client, session, auth, clock)
    res = _report(client, stop.headers, stop.visit.id, "done", local("10:00"), time_entries=[],
                  parts_used=[{"product_id": stop.world.product.id, "quantity": "1"}])
    assert res.status_code == 200, res.text
    assert [ln["quantity"] for ln in _lines(client, stop)] == ["2.00"]
    assert _entries(client, stop) == []  # an empty list logs no time
    note = next(e for e in _events(session, stop.order.id) if e.event == "parts_not_used")
    assert note.note == (f"visit {stop.visit.id}: brought but not used: "
                         f"1.00 x {stop.world.product.name}")
    assert note.user_id == stop.world.technician.user_id


def test_an_order_without_a_default_labour_type_is_done_and_says_its_time_was_not_logged(
        client, auth, session, clock):
    def bare_item(w):
        return make_service_item(session, customer=w.customer, site=w.site,
                                 item_group=make_item_group(session))

    stop = _stop(client, session, auth, clock, item=bare_item)
    assert _report(client, stop.headers, stop.visit.id, "done", local("10:00")).status_code == 200
    assert _entries(client, stop) == []
    assert "time_not_logged" in [e.event for e in _events(session, stop.order.id)]
    res = _report(client, stop.headers, stop.visit.id, "done", local("10:00"))
    assert res.status_code == 409  # done once


def test_each_report_tells_the_board_of_the_visit_and_of_the_order_when_it_changed(
        client, auth, session, clock, app):
    stop = _stop(client, session, auth, clock, arrive=False)
    visit = {"days": ["2026-03-03"], "visit_ids": [stop.visit.id],
             "technician_ids": [stop.world.technician.id]}
    order = ("orders.changed", {"days": ["2026-03-03"], "order_ids": [stop.order.id]})

    def report(status: str, at: str) -> tuple[int, list]:
        res, heard = _published(app, lambda: _report(client, stop.headers, stop.visit.id,
                                                      status, local(at)))
        return res.status_code, heard

    # On the way leaves the order as it was; arrived starts it; done logs time, completes it.
    assert report("on_the_way", "08:50") == (200, [
        ("visits.changed", visit | {"reason": "on_the_way"})])
    assert report("arrived", "09:05") == (200, [
        ("visits.changed", visit | {"reason": "arrived"}), order])
    assert report("done", "10:20") == (200, [("visits.changed", visit | {"reason": "done"}),
                                             order])
    assert report("done", "10:30") == (409, [])  # refused: nothing changed, nothing told


def test_cant_finish_tells_the_board_the_order_changed_too(client, auth, session, clock, app):
    stop = _stop(client, session, auth, clock)
    res, heard = _published(app, lambda: _report(client, stop.headers, stop.visit.id,
                                                 "cant_finish", local("10:00")))
    assert res.status_code == 200, res.text
    assert [kind for kind, _ in heard] == ["visits.changed", "orders.changed"]
    assert heard[1][1] == {"days": ["2026-03-03"], "order_ids": [stop.order.id]}
    assert _events(session, stop.order.id)[-1].event == "visit_cant_finish"


def _state(session, stop: Stop) -> tuple:
    session.expire_all()
    visit = session.get(Visit, stop.visit.id)
    order = session.get(ServiceOrder, stop.order.id)
    return (visit.status, visit.version, visit.finished_at, order.status, order.version,
            session.scalar(select(func.count()).select_from(TimeEntry)),
            session.scalar(select(func.count()).select_from(OrderLine)),
            session.scalar(select(func.count()).select_from(OrderHistory)))


GOOD_TIME = [_entry("on_site", "09:05", "10:00")]
UNKNOWN = 999_999


@pytest.mark.parametrize(("extra", "status", "field"), [
    # Defaults are logged first, then the part is refused: the entries go too.
    ({"parts_used": [{"product_id": UNKNOWN, "quantity": "1"}]}, 422,
     "parts_used.0.product_id"),
    ({"time_entries": GOOD_TIME, "parts_used": [
        {"product_id": "FILTER", "quantity": "5"}, {"product_id": UNKNOWN, "quantity": "1"}]},
     422, "parts_used.1.product_id"),
    ({"parts_used": [{"product_id": "FILTER", "quantity": "-1"}]}, 422, "parts_used.0.quantity"),
    ({"parts_used": [{"product_id": "INACTIVE", "quantity": "1"}]}, 422,
     "parts_used.0.product_id"),
    ({"time_entries": [_entry("on_site", "10:00", "09:05")]}, 422, "time_entries.0.ended_at"),
    ({"time_entries": [*GOOD_TIME, _entry("analysis", "09:50", "10:10")]}, 409,
     "time_entries.1.started_at"),
    ({"time_entries": [_entry("on_site", "09:05", "10:00", distance_km="3")]}, 422,
     "time_entries.0.distance_km"),
    ({"time_entries": [_entry("travel", "08:40", "09:05", distance_km="-3")]}, 422,
     "time_entries.0.distance_km"),
    ({"time_entries": [_entry("coffee", "09:05", "10:00")]}, 422, "time_entries.0.activity"),
    ({"time_entries": [_entry("on_site", "17:00", "23:30")]}, 422, "time_entries.0.ended_at"),
    ({"time_entries": [{**GOOD_TIME[0], "labour_type_id": UNKNOWN}]}, 422,
     "time_entries.0.labour_type_id"),
    ({"at": local("09:00")}, 422, "at"),
])
def test_a_bad_entry_or_part_is_a_problem_naming_it_and_nothing_of_the_report_is_saved(
        client, auth, session, clock, extra, status, field):
    stop = _stop(client, session, auth, clock)
    inactive = make_product(session, active=False)
    session.commit()
    ids = {"FILTER": stop.filter.id, "INACTIVE": inactive.id}
    extra = copy.deepcopy(extra)
    for part in extra.get("parts_used", ()):
        part["product_id"] = ids.get(part["product_id"], part["product_id"])
    body = {"at": local("10:20")} | extra
    before = _state(session, stop)
    res = client.post(f"/visits/{stop.visit.id}/status", headers=stop.headers,
                      json={"status": "done"} | body)
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    assert res.json()["field"] == field, res.json()
    assert _state(session, stop) == before
    assert before[0] == "arrived"


def test_an_entry_overlapping_his_work_on_another_order_is_a_409(client, auth, session, clock):
    stop = _stop(client, session, auth, clock)
    make_time_entry(session, order=make_order(session), technician=stop.world.technician,
                    started_at=utc("09:30"), ended_at=utc("09:45"))
    session.commit()
    before = _state(session, stop)
    res = _report(client, stop.headers, stop.visit.id, "done", local("10:20"))
    assert (res.status_code, res.json()["field"]) == (409, "time_entries.started_at")
    assert _state(session, stop) == before


def test_time_and_parts_go_with_done_only(client, auth, session, clock):
    stop = _stop(client, session, auth, clock)
    before = _state(session, stop)
    res = _report(client, stop.headers, stop.visit.id, "cant_finish", local("10:00"),
                  parts_used=[{"product_id": stop.filter.id, "quantity": "1"}])
    assert (res.status_code, res.json()["field"]) == (422, "parts_used")
    assert _state(session, stop) == before


def test_another_technician_may_not_report_the_visit_done(client, auth, session, clock):
    stop = _stop(client, session, auth, clock)
    bruno = login(session, auth, make_technician(session, name="Bruno"))
    before = _state(session, stop)
    res = _report(client, bruno, stop.visit.id, "done", local("10:20"),
                  parts_used=[{"product_id": stop.filter.id, "quantity": "1"}])
    assert res.status_code == 403
    assert res.json()["type"].endswith("/not-your-visit")
    assert _state(session, stop) == before


def test_a_dispatcher_reports_done_for_the_technician_whose_time_it_logs(
        client, auth, session, clock):
    stop = _stop(client, session, auth, clock)
    res = _report(client, auth("dispatcher"), stop.visit.id, "done", local("10:00"),
                  parts_used=[{"product_id": stop.filter.id, "quantity": "2"}])
    assert res.status_code == 200, res.text
    assert {e["technician_id"] for e in _entries(client, stop)} == {stop.world.technician.id}
    assert _lines(client, stop)[-1]["technician_id"] == stop.world.technician.id


def test_the_route_lists_done_action_describes_its_body(client, auth, session, clock):
    stop = _stop(client, session, auth, clock)
    res = client.get(f"/technicians/{stop.world.technician.id}/route",
                     params={"date": "2026-03-03"}, headers=stop.headers)
    assert res.status_code == 200, res.text
    route = res.json()
    assert route["read_at"] == _z("18:00")
    (first,) = route["stops"]
    assert (first["arrived_at"], first["finished_at"]) == (_z("09:05"), None)
    assert first["parts"][0]["product_id"] == stop.world.product.id
    actions = {a["name"]: a for a in first["actions"]}
    assert [f["name"] for f in actions["cant_finish"]["fields"]] == ["at", "note"]
    done = actions["done"]
    assert done["body"] == {"status": "done"}
    fields = {f["name"]: f for f in done["fields"]}
    assert list(fields) == ["at", "note", "time_entries", "parts_used"]
    assert (fields["at"]["type"], fields["at"]["required"]) == ("date-time", False)
    entry = {f["name"]: f for f in fields["time_entries"]["items"]}
    assert entry["activity"]["enum"] == ["on_site", "remote", "phone", "analysis", "travel"]
    assert (entry["started_at"]["type"], entry["started_at"]["required"]) == ("date-time", True)
    assert entry["distance_km"]["type"] == "number"
    part = {f["name"]: f for f in fields["parts_used"]["items"]}
    assert (part["product_id"]["type"], part["product_id"]["required"]) == ("integer", True)
    assert (part["quantity"]["type"], part["warranty"]["type"]) == ("number", "boolean")

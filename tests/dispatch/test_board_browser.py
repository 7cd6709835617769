"""The planning board in a real browser: it loads cleanly, a drag moves a visit, the optimizer
proposes and publishes, and another dispatcher's change arrives live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import expect

from dispatch.core.auth import create_token, create_user
from tests.dispatch import browser_kit as kit
from tests.factories import (
    T0,
    make_item_group,
    make_order,
    make_service_item,
    make_site,
    make_skill,
    make_technician,
    make_visit,
)

pytestmark = pytest.mark.browser
# The fixtures of the browser kit, used by name.
browser, live_server, watched_page = kit.browser, kit.live_server, kit.watched_page

DAY = "2026-03-03"  # a Tuesday; the live server's clock stands at 2026-03-02 12:00 UTC


def _at(hh: int, mm: int = 0) -> datetime:
    """Local São Paulo time on DAY (UTC-3)."""
    return datetime(2026, 3, 3, hh + 3, mm, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(live_server):
    """Three technicians with the skill the work needs; Ana has two visits, Bruno one,
    Carla none; three orders wait to be planned."""
    with live_server.sessions() as session:
        hvac = make_skill(session, code="hvac", name="Air conditioning")
        group = make_item_group(session, skills=[hvac])
        techs = {
            name: make_technician(session, name=name, skills=[hvac], home_lat=lat, home_lon=lon)
            for name, lat, lon in (("Ana", -23.55, -46.63), ("Bruno", -23.60, -46.68),
                                   ("Carla", -23.52, -46.70))
        }

        def order(lat, lon, **kw):
            site = make_site(session, latitude=lat, longitude=lon)
            item = make_service_item(session, site=site, item_group=group)
            return make_order(session, service_item=item, **kw)

        visits = {}
        for key, tech, (lat, lon), start, seq in (
                ("ana1", "Ana", (-23.56, -46.64), _at(9), 1),
                ("ana2", "Ana", (-23.57, -46.66), _at(10, 30), 2),
                ("bruno1", "Bruno", (-23.61, -46.69), _at(9), 1)):
            t = techs[tech]
            o = order(lat, lon, status="scheduled", technician_id=t.id, scheduled_start=start)
            visits[key] = make_visit(session, order=o, technician=t, planned_start=start,
                                     arrival=start - timedelta(minutes=5), travel_seconds=900,
                                     travel_meters=6000, sequence=seq)
        ready = [order(lat, lon, status="ready", priority=p, response_due_at=_at(17))
                 for lat, lon, p in ((-23.54, -46.62, "urgent"), (-23.58, -46.71, "high"),
                                     (-23.53, -46.67, "normal"))]
        create_user(session, username="dora", role="dispatcher", now=T0)
        token = create_token(session, username="dora", now=T0)
        session.commit()
        return {"token": token, "techs": {k: t.id for k, t in techs.items()},
                "visits": {k: v.id for k, v in visits.items()},
                "ready": [o.id for o in ready]}


def _api(live_server, world, method: str, path: str, **kw) -> httpx.Response:
    headers = {"Authorization": f"Bearer {world['token']}"} | kw.pop("headers", {})
    return httpx.request(method, live_server.url + path, headers=headers, timeout=30, **kw)


def _open_board(page, live_server, world) -> None:
    page.goto(f"{live_server.url}/board?date={DAY}")
    kit.sign_in(page, world["token"])
    page.wait_for_selector(f"body[data-loaded-day='{DAY}']")
    page.wait_for_selector("body[data-live='on']")


def test_the_board_loads_with_technicians_visits_and_nothing_failing(
        watched_page, live_server, world):
    page, watch = watched_page
    page.goto(f"{live_server.url}/board?date={DAY}")
    assert page.is_visible("form#login")
    assert not page.is_visible("#board")
    _open_board(page, live_server, world)
    names = page.locator(".tech-name").all_inner_texts()
    assert names == ["Ana", "Bruno", "Carla"]
    ana = world["techs"]["Ana"]
    assert page.locator(f".lane[data-tech='{ana}'] .visit").count() == 2
    assert page.locator(f".lane[data-tech='{ana}'] .travel").count() == 2
    assert page.locator(f".lane[data-tech='{ana}'] .block-break").count() == 1
    assert page.locator("#unassigned li").count() == 3
    assert page.locator("#unassigned li").first.locator(".chip").inner_text() == "urgent"
    assert page.locator("#map .route polyline").count() == 2
    assert page.locator("#map .open-order").count() == 3
    assert "3/3" in page.locator("#kpis").inner_text()  # technicians working
    page.select_option("#f-priority", "high")
    expect(page.locator("#unassigned li")).to_have_count(1)
    page.select_option("#f-priority", "")
    expect(page.locator("#unassigned li")).to_have_count(3)
    kit.screenshot(page, "board-loaded")
    assert watch.clean(), watch


def test_map_tiles_are_drawn_only_when_a_tile_server_is_configured(
        watched_page, live_server, world):
    page, watch = watched_page
    settings = live_server.app.state.settings
    # Our own server stands in for a tile server: the page may load images from it only.
    settings.tile_url = "/static/icon.svg?z={z}&x={x}&y={y}"
    try:
        with page.expect_response(lambda r: "/static/icon.svg?z=" in r.url) as tile:
            _open_board(page, live_server, world)
        assert tile.value.status == 200
        tiles = page.locator("#map .tiles image")
        assert tiles.count() >= 1
        assert tiles.first.get_attribute("href").startswith("/static/icon.svg?z=")
    finally:
        settings.tile_url = ""
    assert watch.clean(), watch
    page.reload()
    page.wait_for_selector(f"body[data-loaded-day='{DAY}']")
    assert page.locator("#map .tiles").count() == 0


def test_dragging_a_visit_to_another_technician_saves_it(watched_page, live_server, world):
    page, watch = watched_page
    _open_board(page, live_server, world)
    visit_id, bruno = world["visits"]["ana2"], world["techs"]["Bruno"]
    block = page.locator(f".visit[data-visit='{visit_id}']")
    box = block.bounding_box()
    lane = page.locator(f".lane[data-tech='{bruno}']").bounding_box()
    axis = _api(live_server, world, "GET", f"/board/data?date={DAY}").json()["axis"]
    start = datetime.fromisoformat(axis["start"])
    span = (datetime.fromisoformat(axis["end"]) - start).total_seconds()
    target = (_at(15) - start).total_seconds() / span
    grab_x, grab_y = box["x"] + 4, box["y"] + box["height"] / 2
    page.mouse.move(grab_x, grab_y)
    page.mouse.down()
    page.mouse.move(grab_x + 20, grab_y + 10, steps=3)
    page.mouse.move(lane["x"] + target * lane["width"] + 4, lane["y"] + lane["height"] / 2,
                    steps=8)
    assert "Bruno" in page.locator(".ghost").inner_text()
    page.mouse.up()
    page.wait_for_selector(f".lane[data-tech='{bruno}'] .visit[data-visit='{visit_id}']")
    saved = _api(live_server, world, "GET", f"/visits/{visit_id}").json()
    assert saved["technician_id"] == bruno
    assert saved["planned_start"] == "2026-03-03T18:00:00Z"
    assert saved["forced"] is False

    # An unassigned order dropped on a row is planned there.
    carla, urgent = world["techs"]["Carla"], world["ready"][0]
    item = page.locator(f"#unassigned li[data-order='{urgent}']")
    box = item.bounding_box()
    lane = page.locator(f".lane[data-tech='{carla}']").bounding_box()
    target = (_at(16) - start).total_seconds() / span
    page.mouse.move(box["x"] + 10, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] - 40, box["y"] + 20, steps=3)
    page.mouse.move(lane["x"] + target * lane["width"], lane["y"] + lane["height"] / 2,
                    steps=8)
    page.mouse.up()
    page.wait_for_selector(f".lane[data-tech='{carla}'] .visit[data-order='{urgent}']")
    expect(page.locator("#unassigned li")).to_have_count(2)
    order = _api(live_server, world, "GET", f"/orders/{urgent}").json()
    assert (order["status"], order["technician_id"]) == ("scheduled", carla)
    kit.screenshot(page, "board-after-drag")
    assert watch.clean(), watch


def test_another_dispatchers_change_shows_up_live(watched_page, live_server, world):
    page, watch = watched_page
    _open_board(page, live_server, world)
    visit_id, carla = world["visits"]["bruno1"], world["techs"]["Carla"]
    version = _api(live_server, world, "GET", f"/visits/{visit_id}").json()["version"]
    res = _api(live_server, world, "POST", f"/visits/{visit_id}/move",
               headers={"If-Match": f'"{version}"'},
               json={"technician_id": carla, "start": _at(14).isoformat()})
    assert res.status_code == 200, res.text
    page.wait_for_selector(f".lane[data-tech='{carla}'] .visit[data-visit='{visit_id}']")
    assert watch.clean(), watch


def test_an_optimization_is_reviewed_and_published_from_the_board(
        watched_page, live_server, world):
    page, watch = watched_page
    _open_board(page, live_server, world)
    page.click("#optimize")
    page.fill("#run-limit", "2")
    page.click("#run-start")
    page.wait_for_selector("#run-publish:visible", timeout=60_000)
    rows = page.locator("#proposal table.changes tbody tr")
    assert rows.count() >= 3
    assert page.locator("#proposal tr.change-new").count() == 2
    kit.screenshot(page, "board-proposal")
    page.click("#run-publish")
    page.wait_for_selector("#proposal .published")
    page.click("#run-close")
    expect(page.locator("#unassigned li")).to_have_count(0)
    assert page.locator(".visit").count() == 6
    for order_id in world["ready"]:
        order = _api(live_server, world, "GET", f"/orders/{order_id}").json()
        assert order["status"] == "scheduled"
    kit.screenshot(page, "board-published")
    assert watch.clean(), watch

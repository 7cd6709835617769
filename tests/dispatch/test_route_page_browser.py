"""A technician's route list on a phone, in a real browser: sign in, read the stops, report
arrival with the big buttons, finish a visit with the parts used, take the PDF; another
technician's route stays closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dispatch.core.auth import User, create_token, create_user
from dispatch.models import Visit
from orders.models import OrderLine, TimeEntry
from tests.dispatch import browser_kit as kit
from tests.factories import (
    T0,
    make_item_group,
    make_labour_type,
    make_line,
    make_order,
    make_product,
    make_service_item,
    make_site,
    make_technician,
    make_visit,
)

pytestmark = pytest.mark.browser
browser, live_server = kit.browser, kit.live_server

DAY = "2026-03-03"


def _at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 3, 3, hh + 3, mm, tzinfo=UTC)


@pytest.fixture(scope="module")
def ana(live_server):
    with live_server.sessions() as session:
        create_user(session, username="ana", role="technician", now=T0, locale="pt_BR")
        token = create_token(session, username="ana", now=T0)
        tech = make_technician(session, name="Ana Souza", locale="pt_BR",
                               user_id=session.scalar(select(User.id).where(
                                   User.username == "ana")))
        other = make_technician(session, name="Bruno Lima")
        group = make_item_group(session, default_labour_type_id=make_labour_type(session).id)
        make_product(session, name="Filtro de ar", sku="FLT-9", unit_price=Decimal("80.00"))
        for seq, (hh, name) in enumerate(((9, "Padaria Bom Pão"), (11, "Hotel Paulista")), 1):
            site = make_site(session, name=f"Loja {seq}", latitude=-23.55 - seq / 100,
                             longitude=-46.63)
            site.customer.legal_name = name
            item = make_service_item(session, site=site, item_group=group)
            order = make_order(session, service_item=item, status="scheduled",
                               technician_id=tech.id, scheduled_start=_at(hh),
                               reported_defect="Não liga")
            make_line(session, order=order, quantity=Decimal("2"),
                      product=make_product(session, name="Capacitor", sku=f"CAP-{seq}"))
            make_visit(session, order=order, technician=tech, planned_start=_at(hh),
                       arrival=_at(hh) - timedelta(minutes=10), sequence=seq,
                       travel_seconds=600, travel_meters=4000)
        make_visit(session, technician=other)
        session.commit()
        return {"token": token, "id": tech.id, "other": other.id}


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="pt-BR",
                                  timezone_id="America/Sao_Paulo", accept_downloads=True,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = kit.Watch()
    page.on("console", lambda m: m.type == "error" and watch.console_errors.append(m.text))
    page.on("pageerror", lambda e: watch.console_errors.append(str(e)))
    page.on("requestfailed", lambda r: watch.failed_requests.append(f"{r.url}: {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and watch.error_responses.append(
        f"{r.request.method} {r.url}: {r.status}"))
    yield page, watch
    context.close()


def test_a_technician_works_through_his_day_on_the_phone(phone, live_server, ana):
    page, watch = phone
    page.goto(f"{live_server.url}/technicians/{ana['id']}/route/page?date={DAY}")
    expect(page.locator("h1")).to_have_text("Roteiro de visitas")
    kit.sign_in(page, ana["token"])
    stops = page.locator("#stops > li")
    expect(stops).to_have_count(2)
    first = stops.nth(0)
    expect(first.locator(".customer")).to_have_text("Padaria Bom Pão")
    expect(first.locator(".eta")).to_have_text("08:50")
    assert first.get_by_role("link", name="Navegar").get_attribute("href").startswith(
        "geo:-23.560000,-46.630000")
    assert "Capacitor" in first.locator(".parts").inner_text()
    kit.screenshot(page, "route-phone")
    first.get_by_role("button", name="Cheguei").click()
    expect(first.locator(".chip")).to_have_text("No local")
    expect(first.get_by_role("button", name="Concluído")).to_be_visible()
    with live_server.sessions() as session:
        visit = session.scalar(select(Visit).where(Visit.technician_id == ana["id"],
                                                   Visit.sequence == 1))
        assert visit.status == "arrived"
    with page.expect_download() as download:
        page.click("#pdf")
    path = download.value.path()
    assert download.value.suggested_filename == f"route-{ana['id']}-{DAY}.pdf"
    with open(path, "rb") as f:
        assert f.read(5) == b"%PDF-"
    assert watch.clean(), watch


def test_a_technician_finishes_a_visit_with_a_part_he_used(phone, live_server, ana):
    page, watch = phone
    page.goto(f"{live_server.url}/technicians/{ana['id']}/route/page?date={DAY}")
    kit.sign_in(page, ana["token"])
    second = page.locator("#stops > li").nth(1)
    expect(second.locator(".customer")).to_have_text("Hotel Paulista")
    second.get_by_role("button", name="Cheguei").click()
    expect(second.locator(".chip")).to_have_text("No local")
    live_server.clock.advance(minutes=40)
    page.reload()  # the token stays in the tab; the route is read at the server's new time
    second = page.locator("#stops > li").nth(1)
    second.get_by_role("button", name="Concluído").click()
    form = second.locator("form.done-form")
    expect(form.get_by_label("Minutos no local")).to_have_value("40")
    expect(form.get_by_label("Qtd.: Capacitor [CAP-2]")).to_have_value("2")
    form.get_by_role("searchbox", name="Buscar peça").fill("filtro")
    form.get_by_role("button", name="Filtro de ar [FLT-9]").click()
    expect(form.get_by_label("Qtd.: Filtro de ar [FLT-9]")).to_have_value("1")
    kit.screenshot(page, "route-phone-done")
    form.get_by_role("button", name="Salvar").click()
    expect(second.locator(".chip")).to_have_text("Concluída")
    expect(page.locator("#saved")).to_have_text("Salvo")
    expect(second.locator("form.done-form")).to_have_count(0)
    expect(second.locator(".actions button")).to_have_count(0)
    with live_server.sessions() as session:
        visit = session.scalar(select(Visit).where(Visit.technician_id == ana["id"],
                                                   Visit.sequence == 2))
        assert visit.status == "done"
        assert visit.finished_at - visit.arrived_at == timedelta(minutes=40)
        entries = session.scalars(select(TimeEntry).where(TimeEntry.order_id == visit.order_id)
                                  .order_by(TimeEntry.started_at)).all()
        assert [(e.activity, e.distance_km, e.billed_minutes) for e in entries] == [
            ("travel", Decimal("4"), 10), ("on_site", None, 40)]
        lines = session.scalars(select(OrderLine).where(OrderLine.order_id == visit.order_id)
                                .order_by(OrderLine.id)).all()
        assert [(ln.description, ln.quantity, ln.unit_price, ln.price_rule) for ln in lines] == [
            ("Capacitor", 2, 50, "catalogue"), ("Filtro de ar", 1, 80, "catalogue")]
    assert watch.clean(), watch


def test_another_technicians_route_stays_closed(phone, live_server, ana):
    page, watch = phone
    page.goto(f"{live_server.url}/technicians/{ana['other']}/route/page?date={DAY}")
    kit.sign_in(page, ana["token"])
    expect(page.locator("#route-error")).to_contain_text("only his own route")
    expect(page.locator("#stops > li")).to_have_count(0)
    assert [e.split(": ")[-1] for e in watch.error_responses] == ["403"]
    assert not watch.console_errors or all("403" in e for e in watch.console_errors)

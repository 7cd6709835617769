"""Route lists over HTTP: a technician's stops for a day as JSON, a phone page and a PDF."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from dispatch.core.auth import User
from dispatch.routelists.texts import CATALOGUE
from orders.models import OrderTimeWindow
from tests.factories import (
    make_contact,
    make_line,
    make_order,
    make_product,
    make_service_item,
    make_site,
    make_technician,
    make_visit,
)
from tests.orders.billing_world import pdf_text

DAY = date(2026, 3, 3)  # a Tuesday; São Paulo is UTC-3


def _at(hh: int, mm: int = 0) -> datetime:
    """Local São Paulo time on DAY as UTC."""
    return datetime(2026, 3, 3, hh + 3, mm, tzinfo=UTC)


def _technician_login(session, auth, tech, username: str) -> dict[str, str]:
    headers = auth("technician", username=username)
    tech.user_id = session.scalar(select(User.id).where(User.username == username))
    session.commit()
    return headers


def _order(session, tech, *, start, customer_name, site_name, lat, lon, with_part=True):
    site = make_site(session, name=site_name, address="Rua Augusta 1500", city="São Paulo",
                     latitude=lat, longitude=lon)
    site.customer.legal_name = customer_name
    site.customer.phone = "+55 11 3333-0000"
    item = make_service_item(session, site=site, customer=site.customer, model="Split 12000 BTU",
                             serial_number="SN-778")
    contact = make_contact(session, customer=site.customer, name="Marta Reis",
                           phone="+55 11 99999-1234")
    order = make_order(session, service_item=item, status="scheduled", technician_id=tech.id,
                       scheduled_start=start, reported_defect="Leaks water",
                       customer_contact_id=contact.id, priority="high")
    session.add(OrderTimeWindow(order_id=order.id, starts_at=_at(8), ends_at=_at(12)))
    if with_part:
        make_line(session, order=order, product=make_product(session, sku="CMP-01",
                                                             name="Compressor"),
                  quantity=Decimal("2"))
    return order


@pytest.fixture
def day_of_two_stops(session):
    """Technician "Ana" (pt_BR) with two stops on DAY, listed out of order; plus noise:
    a visit of hers on another day and another technician's visit on DAY."""
    ana = make_technician(session, name="Ana Souza", locale="pt_BR")
    first = _order(session, ana, start=_at(9), customer_name="Padaria Bom Pão",
                   site_name="Loja Centro", lat=-23.5501, lon=-46.6339)
    second = _order(session, ana, start=_at(14), customer_name="Hotel Paulista",
                    site_name="Recepção", lat=-23.5614, lon=-46.6559, with_part=False)
    make_visit(session, order=second, technician=ana, planned_start=_at(14), arrival=_at(13, 50),
               sequence=2, travel_seconds=1200, travel_meters=5400)
    make_visit(session, order=first, technician=ana, planned_start=_at(9), arrival=_at(8, 55),
               sequence=1, travel_seconds=900, travel_meters=3100)
    make_visit(session, technician=ana, day=DAY + timedelta(days=1),
               planned_start=_at(9) + timedelta(days=1))
    make_visit(session, day=DAY)  # someone else's
    session.commit()
    return ana


def test_a_dispatcher_reads_the_stops_in_visiting_order_with_all_a_stop_needs(
        client, auth, day_of_two_stops):
    ana = day_of_two_stops
    res = client.get(f"/technicians/{ana.id}/route", params={"date": "2026-03-03"},
                     headers=auth("dispatcher"))
    assert res.status_code == 200, res.text
    route = res.json()
    assert route["technician"]["name"] == "Ana Souza"
    assert route["timezone"] == "America/Sao_Paulo"
    assert [s["customer"]["name"] for s in route["stops"]] == ["Padaria Bom Pão",
                                                               "Hotel Paulista"]
    first = route["stops"][0]
    assert first["sequence"] == 1
    assert first["eta"] == "2026-03-03T11:55:00Z"
    assert first["planned_start"] == "2026-03-03T12:00:00Z"
    assert first["time_windows"] == [{"start": "2026-03-03T11:00:00Z",
                                      "end": "2026-03-03T15:00:00Z"}]
    assert first["contact"] == {"name": "Marta Reis", "phone": "+55 11 99999-1234",
                                "email": first["contact"]["email"]}
    assert first["address"]["name"] == "Loja Centro"
    assert first["address"]["lines"][0] == "Rua Augusta 1500"
    nav = first["address"]["navigation"]
    assert nav["geo"] == "geo:-23.550100,-46.633900?q=-23.550100,-46.633900(Loja%20Centro)"
    assert nav["maps"] == ("https://www.google.com/maps/search/?api=1&query="
                           "-23.550100%2C-46.633900")
    assert first["service_items"][0]["model"] == "Split 12000 BTU"
    assert first["service_items"][0]["serial_number"] == "SN-778"
    assert first["defect"] == "Leaks water"
    assert [(p["description"], p["sku"], p["quantity"]) for p in first["parts"]] == [
        ("Compressor", "CMP-01", "2.00")]
    assert route["stops"][1]["parts"] == []
    assert route["travel_seconds"] == 2100
    assert route["travel_meters"] == 8500
    assert route["links"]["pdf"] == f"/technicians/{ana.id}/route/pdf?date=2026-03-03"


def test_only_service_lines_are_no_parts_to_bring(client, auth, session):
    tech = make_technician(session)
    visit = make_visit(session, technician=tech)
    make_line(session, order=visit.order, product=None, kind="service", product_id=None,
              labour_type_id=_labour(session), description="Labour")
    session.commit()
    res = client.get(f"/technicians/{tech.id}/route?date=2026-03-03", headers=auth("dispatcher"))
    assert res.status_code == 200
    assert res.json()["stops"][0]["parts"] == []


def _labour(session) -> int:
    from tests.factories import make_labour_type

    return make_labour_type(session).id


def test_a_day_without_visits_is_an_empty_route(client, auth, day_of_two_stops):
    res = client.get(f"/technicians/{day_of_two_stops.id}/route?date=2026-03-05",
                     headers=auth("dispatcher"))
    assert res.status_code == 200
    assert res.json()["stops"] == []


def test_a_technician_reads_his_own_route(client, auth, session, day_of_two_stops):
    ana = day_of_two_stops
    headers = _technician_login(session, auth, ana, "ana")
    res = client.get(f"/technicians/{ana.id}/route?date=2026-03-03", headers=headers)
    assert res.status_code == 200
    assert len(res.json()["stops"]) == 2


def test_a_technician_reading_anothers_route_gets_a_403_problem_and_no_stops(
        client, auth, session, day_of_two_stops):
    ana = day_of_two_stops
    bruno = make_technician(session, name="Bruno")
    headers = _technician_login(session, auth, bruno, "bruno")
    for path in (f"/technicians/{ana.id}/route", f"/technicians/{ana.id}/route/pdf",
                 "/technicians/999999/route"):
        res = client.get(path, params={"date": "2026-03-03"}, headers=headers)
        assert res.status_code == 403, (path, res.text)
        assert res.headers["content-type"].startswith("application/problem+json")
        body = res.json()
        assert body["type"].endswith("/not-your-route")
        assert "stops" not in body


def test_a_technician_login_without_a_technician_reads_no_route(client, auth, day_of_two_stops):
    res = client.get(f"/technicians/{day_of_two_stops.id}/route?date=2026-03-03",
                     headers=auth("technician"))
    assert res.status_code == 403


def test_billing_may_not_read_routes(client, auth, day_of_two_stops):
    res = client.get(f"/technicians/{day_of_two_stops.id}/route?date=2026-03-03",
                     headers=auth("billing"))
    assert res.status_code == 403


def test_an_unknown_technician_is_a_404_and_a_bad_date_a_422(client, auth):
    headers = auth("dispatcher")
    res = client.get("/technicians/999999/route?date=2026-03-03", headers=headers)
    assert res.status_code == 404
    assert res.json()["type"].endswith("/technician-not-found")
    for bad in ("2026-02-30", "tomorrow", ""):
        res = client.get("/technicians/999999/route", params={"date": bad}, headers=headers)
        assert res.status_code == 422, bad
        assert res.json()["field"] == "date"
    res = client.get("/technicians/999999/route", headers=headers)
    assert (res.status_code, res.json()["field"]) == (422, "date")


def test_the_pdf_is_written_in_the_technicians_language(client, auth, session,
                                                        day_of_two_stops):
    ana = day_of_two_stops
    headers = auth("dispatcher")
    res = client.get(f"/technicians/{ana.id}/route/pdf?date=2026-03-03", headers=headers)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "application/pdf"
    text = pdf_text(res.content)
    assert "Roteiro de visitas" in text
    assert "terça-feira, 3 de março de 2026" in text
    assert "1. 08:55 · Padaria Bom Pão · OS" in text
    assert "2. 13:50 · Hotel Paulista" in text
    assert "Janela de atendimento: 08:00–12:00" in text
    assert "Defeito relatado: Leaks water" in text
    assert "Peças a levar: 2 × Compressor [CMP-01]" in text
    assert "Contato: Marta Reis, +55 11 99999-1234" in text
    assert "Prioridade: Alta" in text
    assert "Deslocamento total 35 min, 8,5 km" in text
    assert text.index("Padaria Bom Pão") < text.index("Hotel Paulista")

    ana.locale = "da"
    session.commit()
    text = pdf_text(client.get(f"/technicians/{ana.id}/route/pdf?date=2026-03-03",
                               headers=headers).content)
    assert "Ruteplan" in text
    assert "tirsdag den 3. marts 2026" in text
    assert "Dele der skal medbringes: 2 × Compressor [CMP-01]" in text
    assert "Anmeldt fejl: Leaks water" in text
    assert "Kørsel i alt 35 min, 8,5 km" in text
    assert "Roteiro" not in text


def test_the_pdf_language_can_be_chosen_and_an_empty_day_says_so(client, auth,
                                                                 day_of_two_stops):
    res = client.get(f"/technicians/{day_of_two_stops.id}/route/pdf",
                     params={"date": "2026-03-05", "lang": "it"}, headers=auth("dispatcher"))
    assert res.status_code == 200
    text = pdf_text(res.content)
    assert "Giro delle visite" in text
    assert "Nessuna visita pianificata per questo giorno." in text


def test_the_phone_page_is_a_shell_in_the_phones_language_with_a_strict_policy(client):
    res = client.get("/technicians/7/route/page?date=2026-03-03",
                     headers={"Accept-Language": "it-IT,it;q=0.9,en;q=0.5"})
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    assert '<html lang="it">' in res.text
    assert "Giro delle visite" in res.text
    policy = res.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert client.get("/technicians/7/route/page", params={"lang": "pt-BR"}).text.count(
        "Roteiro de visitas") >= 1
    assert client.get("/static/route.js").status_code == 200


def test_every_language_has_every_word_of_route_lists():
    keys = set(CATALOGUE["en"])
    for lang, words in CATALOGUE.items():
        assert set(words) == keys, lang


def test_a_technician_reports_progress_through_the_actions_his_route_offers(
        client, auth, session, day_of_two_stops):
    ana = day_of_two_stops
    headers = _technician_login(session, auth, ana, "ana")
    route = client.get(f"/technicians/{ana.id}/route?date=2026-03-03", headers=headers).json()
    first = route["stops"][0]
    assert [a["name"] for a in first["actions"]] == ["on_the_way", "arrived", "cant_finish"]
    arrived = next(a for a in first["actions"] if a["name"] == "arrived")
    assert (arrived["method"], arrived["href"]) == ("POST", f"/visits/{first['visit_id']}/status")
    res = client.request(arrived["method"], arrived["href"], json=arrived["body"],
                         headers=headers)
    assert res.status_code == 200, res.text
    again = client.get(f"/technicians/{ana.id}/route?date=2026-03-03", headers=headers).json()
    assert again["stops"][0]["status"] == "arrived"
    assert [a["name"] for a in again["stops"][0]["actions"]] == ["done", "cant_finish"]


def test_a_visit_its_order_let_go_of_is_no_stop(client, auth, session, day_of_two_stops):
    ana = day_of_two_stops
    route = client.get(f"/technicians/{ana.id}/route?date=2026-03-03",
                       headers=auth("dispatcher")).json()
    from orders.models import ServiceOrder

    order = session.get(ServiceOrder, route["stops"][0]["order"]["id"])
    order.status, order.technician_id, order.scheduled_start = "ready", None, None
    session.commit()
    again = client.get(f"/technicians/{ana.id}/route?date=2026-03-03",
                       headers=auth("dispatcher")).json()
    assert [s["customer"]["name"] for s in again["stops"]] == ["Hotel Paulista"]

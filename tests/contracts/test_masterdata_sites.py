"""Sites over HTTP, geocoded by the real geopy client against a local Nominatim look-alike."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from contracts.masterdata.models import GeocodeCache, Site
from dispatch.core.settings import Settings
from tests.factories import make_customer, make_site


class FakeNominatim:
    """Answers ``<prefix>/search`` like Nominatim; ``mode`` picks the answer."""

    def __init__(self) -> None:
        self.mode = "found"  # found | empty | error | slow
        self.point = ("-23.5613", "-46.6565")
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                fake.requests.append((parts.path, parse_qs(parts.query)))
                if not parts.path.endswith("/search"):
                    return self._send(404, {"error": "not found"})
                if fake.mode == "error":
                    return self._send(500, {"error": "database down"})
                if fake.mode == "slow":
                    time.sleep(1.5)
                if fake.mode == "empty":
                    return self._send(200, [])
                lat, lon = fake.point
                return self._send(200, [{
                    "place_id": 1, "lat": lat, "lon": lon, "display_name": "Somewhere, Brasil",
                    "class": "building", "type": "yes", "importance": 0.5,
                }])

            def _send(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    def searches(self) -> list[dict[str, list[str]]]:
        return [q for path, q in self.requests if path.endswith("/search")]


@pytest.fixture
def nominatim() -> Iterator[FakeNominatim]:
    fake = FakeNominatim()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def settings(tmp_path: Path, nominatim: FakeNominatim) -> Settings:
    # The geocoder sits under a path prefix, as behind a reverse proxy.
    return Settings(database_url="sqlite://", geocoder_url=nominatim.url + "/nominatim",
                    geocoder_timeout_s=0.5, var_dir=tmp_path, default_currency="BRL",
                    default_timezone="America/Sao_Paulo")


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _site(customer_id: int, **overrides) -> dict:
    return {"customer_id": customer_id, "name": "Loja Paulista", "address": "Av. Paulista 1578",
            "postal_code": "01310-200", "city": "São Paulo", "country": "BR"} | overrides


@pytest.fixture
def customer(session):
    c = make_customer(session)
    session.commit()
    return c


def test_a_site_with_coordinates_keeps_them_and_asks_no_geocoder(client, auth, customer,
                                                                nominatim):
    res = client.post("/sites", headers=auth("dispatcher"),
                      json=_site(customer.id, latitude=-23.55, longitude=-46.63))
    assert res.status_code == 201, res.text
    site = res.json()
    assert (site["latitude"], site["longitude"]) == (-23.55, -46.63)
    assert site["geocode_status"] == "manual"
    assert site["needs_geocode"] is False
    assert site["timezone"] == "America/Sao_Paulo"
    assert nominatim.requests == []


def test_a_site_given_only_an_address_is_geocoded_through_geopy(client, auth, customer,
                                                               nominatim):
    res = client.post("/sites", headers=auth("dispatcher"), json=_site(customer.id))
    assert res.status_code == 201, res.text
    site = res.json()
    assert (site["latitude"], site["longitude"]) == (-23.5613, -46.6565)
    assert site["geocode_status"] == "ok"
    assert site["needs_geocode"] is False
    [(path, query)] = nominatim.requests
    assert path == "/nominatim/search"
    assert query["q"] == ["Av. Paulista 1578, 01310-200 São Paulo"]
    assert query["countrycodes"] == ["br"]
    assert query["format"] == ["json"]


def test_the_same_address_is_looked_up_once_thanks_to_the_cache(client, auth, customer,
                                                               nominatim, session):
    headers = auth("dispatcher")
    client.post("/sites", headers=headers, json=_site(customer.id))
    again = client.post("/sites", headers=headers, json=_site(
        customer.id, name="Depósito", address="  av. paulista   1578 ", city="SÃO PAULO"))
    assert again.status_code == 201
    assert again.json()["geocode_status"] == "ok"
    assert again.json()["latitude"] == -23.5613
    assert len(nominatim.searches()) == 1
    assert _count(session, GeocodeCache) == 1


def test_a_geocoder_error_stores_the_site_flagged_failed_without_an_error(client, auth,
                                                                        customer, nominatim,
                                                                        session):
    nominatim.mode = "error"
    res = client.post("/sites", headers=auth("dispatcher"), json=_site(customer.id))
    assert res.status_code == 201, res.text
    site = res.json()
    assert site["geocode_status"] == "failed"
    assert site["needs_geocode"] is True
    assert site["latitude"] is None and site["longitude"] is None
    assert _count(session, Site) == 1
    # Errors are not cached: a retry asks again and succeeds once the geocoder is back.
    assert _count(session, GeocodeCache) == 0
    nominatim.mode = "found"
    retried = client.post(f"/sites/{site['id']}/geocode", headers=auth("dispatcher"))
    assert retried.status_code == 200
    assert retried.json()["geocode_status"] == "ok"
    assert retried.json()["needs_geocode"] is False


def test_a_slow_geocoder_times_out_and_only_flags_the_site(client, auth, customer, nominatim):
    nominatim.mode = "slow"
    res = client.post("/sites", headers=auth("dispatcher"), json=_site(customer.id))
    assert res.status_code == 201
    assert res.json()["geocode_status"] == "failed"


def test_an_unreachable_geocoder_only_flags_the_site(app, client, auth, customer):
    app.state.settings = app.state.settings.model_copy(
        update={"geocoder_url": "http://127.0.0.1:9/"})  # discard port: nothing listens
    res = client.post("/sites", headers=auth("dispatcher"), json=_site(customer.id))
    assert res.status_code == 201
    assert res.json()["geocode_status"] == "failed"


def test_an_address_the_geocoder_does_not_know_is_flagged_and_remembered(client, auth,
                                                                       customer, nominatim,
                                                                       session):
    nominatim.mode = "empty"
    headers = auth("dispatcher")
    first = client.post("/sites", headers=headers, json=_site(customer.id, address="Rua X 1"))
    second = client.post("/sites", headers=headers, json=_site(customer.id, address="Rua X 1"))
    assert first.json()["geocode_status"] == second.json()["geocode_status"] == "failed"
    assert len(nominatim.searches()) == 1
    flagged = client.get("/sites", headers=headers, params={"geocode_status": "failed"}).json()
    assert len(flagged["items"]) == 2


def test_geocoding_turned_off_leaves_the_site_pending(app, client, auth, customer, nominatim):
    app.state.settings = app.state.settings.model_copy(update={"geocoder_url": ""})
    res = client.post("/sites", headers=auth("dispatcher"), json=_site(customer.id))
    assert res.status_code == 201
    assert res.json()["geocode_status"] == "pending"
    assert res.json()["needs_geocode"] is True
    assert nominatim.requests == []


def test_moving_a_site_geocodes_the_new_address_and_manual_coordinates_win(client, auth,
                                                                         session, nominatim):
    site = make_site(session, geocode_status="failed", latitude=None, longitude=None)
    session.commit()
    headers = auth("dispatcher")
    nominatim.point = ("-22.9068", "-43.1729")
    moved = client.patch(f"/sites/{site.id}", headers=headers,
                         json={"address": "Av. Rio Branco 1", "city": "Rio de Janeiro"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["latitude"], moved.json()["geocode_status"]) == (-22.9068, "ok")
    manual = client.patch(f"/sites/{site.id}", headers=headers,
                          json={"latitude": -22.9, "longitude": -43.2})
    assert manual.json()["geocode_status"] == "manual"
    renamed = client.patch(f"/sites/{site.id}", headers=headers, json={"name": "Filial Rio"})
    assert renamed.json()["latitude"] == -22.9
    assert len(nominatim.searches()) == 1


@pytest.mark.parametrize(("extra", "field"), [
    ({"latitude": -23.5}, "longitude"),
    ({"longitude": -46.6}, "latitude"),
    ({"latitude": 123, "longitude": 0}, "latitude"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"country": "US"}, "timezone"),  # several zones: one must be given
    ({"customer_id": 999999}, "customer_id"),
])
def test_bad_site_input_is_a_422_naming_the_field_and_stores_nothing(client, auth, customer,
                                                                    session, extra, field):
    res = client.post("/sites", headers=auth("dispatcher"), json=_site(customer.id) | extra)
    assert res.status_code == 422, res.text
    assert res.json()["field"] == field
    assert _count(session, Site) == 0


def test_a_danish_site_gets_the_danish_time_zone(client, auth, customer):
    res = client.post("/sites", headers=auth("dispatcher"), json=_site(
        customer.id, country="DK", address="Vesterbrogade 1", city="København",
        latitude=55.67, longitude=12.56))
    assert res.json()["timezone"] == "Europe/Copenhagen"


def test_sites_are_listed_by_customer_page_by_page(client, auth, session):
    mine = make_customer(session)
    ids = [make_site(session, customer=mine).id for _ in range(3)]
    make_site(session)
    session.commit()
    headers = auth("technician")
    first = client.get("/sites", headers=headers, params={"customer_id": mine.id, "limit": 2})
    assert first.status_code == 200
    page = first.json()
    nxt = client.get("/sites", headers=headers, params={"customer_id": mine.id, "limit": 2,
                                                        "cursor": page["next_cursor"]}).json()
    assert [s["id"] for s in page["items"] + nxt["items"]] == ids
    assert nxt["next_cursor"] is None


def test_technicians_read_sites_but_do_not_change_them(client, auth, customer):
    headers = auth("technician")
    assert client.post("/sites", headers=headers, json=_site(customer.id)).status_code == 403


def test_a_retried_site_create_does_not_geocode_or_store_twice(client, auth, customer, session,
                                                             nominatim):
    headers = auth("dispatcher") | {"Idempotency-Key": "site-1"}
    first = client.post("/sites", headers=headers, json=_site(customer.id))
    again = client.post("/sites", headers=headers, json=_site(customer.id))
    assert again.json() == first.json()
    assert _count(session, Site) == 1
    assert len(nominatim.searches()) == 1

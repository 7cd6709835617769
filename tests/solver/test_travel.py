"""Travel providers: great-circle (checked against geopy), given matrices, OSRM (against
a stand-in server on 127.0.0.1)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from geopy.distance import geodesic, great_circle

from solver.model import (
    Location,
    Problem,
    Technician,
    TimeWindow,
    TravelMatrix,
    TravelSettings,
    Visit,
)
from solver.travel import (
    GivenMatrix,
    GreatCircle,
    Osrm,
    OsrmError,
    great_circle_matrix_m,
    haversine_m,
    problem_locations,
    with_matrix,
)

from .kit import day_shift, run

MILAN = [(45.4642, 9.1900), (45.4781, 9.2272), (45.4408, 9.1557), (45.5200, 9.2100)]
FAR = [(38.7223, -9.1393), (55.6761, 12.5683), (-33.8688, 151.2093), (0.0, 179.9), (0.0, -179.9)]


def test_great_circle_distances_match_geopy():
    points = MILAN + FAR
    lats, lons = zip(*points, strict=True)
    matrix = great_circle_matrix_m(lats, lons)
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            ref = great_circle(a, b, radius=6371.0088).m
            assert matrix[i, j] == pytest.approx(ref, rel=1e-9, abs=1e-6)
            assert float(haversine_m(a[0], a[1], b[0], b[1])) == pytest.approx(ref, rel=1e-9, abs=1e-6)
            # the sphere is within half a percent of the ellipsoid
            if i != j:
                assert matrix[i, j] == pytest.approx(geodesic(a, b).m, rel=0.006)


def test_short_distances_keep_their_precision():
    a, b = (45.4642, 9.1900), (45.4642, 9.19001)  # under a metre apart
    matrix = great_circle_matrix_m([a[0], b[0]], [a[1], b[1]])
    assert matrix[0, 1] == pytest.approx(great_circle(a, b, radius=6371.0088).m, rel=1e-6)


def test_travel_time_is_the_detoured_distance_at_the_average_speed():
    provider = GreatCircle(speed_kmh=36.0, detour_factor=1.5)
    locs = [Location(*p) for p in MILAN]
    m = provider.matrix(locs)
    direct = great_circle(MILAN[0], MILAN[1], radius=6371.0088).m
    assert m.distances[0, 1] == pytest.approx(direct * 1.5)
    assert m.durations[0, 1] == round(direct * 1.5 / 10.0)  # 36 km/h = 10 m/s
    assert np.all(np.diag(m.durations) == 0)
    assert np.array_equal(m.durations, m.durations.T)
    assert provider.between(locs[0], locs[1]) == (int(m.durations[0, 1]), pytest.approx(m.distances[0, 1]))


def test_the_default_provider_follows_the_problem_settings():
    assert GreatCircle.from_settings(TravelSettings(50, 1.2)) == GreatCircle(50.0, 1.2)


def test_thousands_of_locations_are_computed_at_once():
    rng = np.random.default_rng(0)
    lats = rng.uniform(45.3, 45.6, 3000)
    lons = rng.uniform(9.0, 9.4, 3000)
    m = GreatCircle().matrix([Location(float(a), float(b)) for a, b in zip(lats, lons, strict=True)])
    assert m.size == 3000
    i, j = 17, 2500
    ref = great_circle((lats[i], lons[i]), (lats[j], lons[j]), radius=6371.0088).m * 1.3
    assert m.distances[i, j] == pytest.approx(ref, rel=1e-9)


def test_a_given_matrix_is_read_by_location_index():
    source = TravelMatrix([[0, 10, 20], [11, 0, 30], [21, 31, 0]], [[0, 1, 2], [1, 0, 3], [2, 3, 0]])
    sub = GivenMatrix(source).matrix([Location(index=2), Location(index=0)])
    assert sub.durations.tolist() == [[0, 21], [20, 0]]
    assert sub.distances.tolist() == [[0, 2], [2, 0]]
    with pytest.raises(ValueError, match=r"locations\[0\]: index"):
        GivenMatrix(source).matrix([Location(45.0, 9.0)])


class _FakeOsrm(BaseHTTPRequestHandler):
    """Answers /table/v1/driving/... like OSRM: 100 s and 1000 m per 0.01 degree of
    latitude between two points; the pair (0, 3) is unroutable (null)."""

    requests: list[dict] = []
    fail = False

    def do_GET(self):  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        parts = url.path.split("/")
        assert parts[1:4] == ["table", "v1", "driving"]
        coords = [tuple(map(float, c.split(","))) for c in parts[4].split(";")]
        query = parse_qs(url.query)
        sources = [int(x) for x in query["sources"][0].split(";")]
        destinations = [int(x) for x in query["destinations"][0].split(";")]
        type(self).requests.append({"coords": coords, "sources": sources, "destinations": destinations})
        if type(self).fail:
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"boom")
            return

        def cell(i, j, per):
            lat1, lat2 = coords[i][1], coords[j][1]
            if {round(lat1, 4), round(lat2, 4)} == {45.4642, 45.52}:
                return None
            return round(abs(lat1 - lat2) / 0.01 * per, 3)

        body = {
            "code": "Ok",
            "durations": [[cell(i, j, 100) for j in destinations] for i in sources],
            "distances": [[cell(i, j, 1000) for j in destinations] for i in sources],
        }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def osrm_url():
    _FakeOsrm.requests = []
    _FakeOsrm.fail = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOsrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_osrm_table_answers_become_the_matrix_in_blocks(osrm_url):
    locs = [Location(*p) for p in MILAN]
    m = Osrm(osrm_url, chunk=3).matrix(locs)
    # 4 locations in blocks of 3: 2 x 2 requests
    assert len(_FakeOsrm.requests) == 4
    lat = [p[0] for p in MILAN]
    assert m.durations[0, 1] == round(abs(lat[0] - lat[1]) / 0.01 * 100)
    assert m.distances[2, 1] == pytest.approx(abs(lat[2] - lat[1]) / 0.01 * 1000, abs=1e-3)
    # the unroutable pair falls back to the great-circle estimate
    fallback = GreatCircle().matrix([locs[0], locs[3]])
    assert m.durations[0, 3] == fallback.durations[0, 1]
    assert np.all(np.diag(m.durations) == 0)


def test_an_osrm_failure_is_an_error_not_a_plan(osrm_url):
    _FakeOsrm.fail = True
    with pytest.raises(OsrmError, match="HTTP 500"):
        Osrm(osrm_url).matrix([Location(*p) for p in MILAN])


def test_an_unreachable_osrm_is_an_error():
    with pytest.raises(OsrmError, match="request failed"):
        Osrm("http://127.0.0.1:9", timeout_s=2).matrix([Location(*p) for p in MILAN])


def test_a_problem_fixed_to_a_matrix_plans_the_same(osrm_url):
    techs = (Technician("t", Location(*MILAN[0]), (day_shift(),)),)
    visits = tuple(
        Visit(f"v{i}", Location(*p), 1800, (TimeWindow(8 * 3600, 17 * 3600),))
        for i, p in enumerate(MILAN[1:3], 1)
    )
    prob = Problem(techs, visits)
    fixed = with_matrix(prob, GreatCircle.from_settings(prob.travel))
    assert fixed.matrix is not None and fixed.matrix.size == len(problem_locations(prob))
    a, b = run(prob), run(fixed)
    assert a.routes == b.routes

    road = with_matrix(prob, Osrm(osrm_url))
    plan = run(road)
    leg = plan.route_of("t", 0).stops[0]
    assert leg.travel_time == int(road.matrix.durations[0, road.visit(leg.visit_id).location.index])


"""Contract quotes over HTTP: send, accept or decline, expiry, and conversion into a contract."""

from contracts.models import Contract, ContractQuote
from tests.contracts.contract_world import count, line, make_world


def _quote(client, h, w, **fields) -> dict:
    body = {"customer_id": w.customer.id, "title": "Ovens, gold", "service_level": "gold",
            "billing_period": "quarterly", "start_date": "2026-04-01",
            "end_date": "2027-03-31", "valid_until": "2026-03-15", "auto_renew": True,
            "index_name": "IGP-M",
            "lines": [line(w.item.id, price_per_period="900.00"),
                      {"site_id": w.site.id, "item_group_id": w.group.id,
                       "price_per_period": "0", "labour_discount_percent": "20",
                       "maintenance": {"every": 3, "unit": "months", "flexibility_days": 7,
                                       "standard_duration_minutes": 90}}]} | fields
    res = client.post("/contract-quotes", json=body, headers=h)
    assert res.status_code == 201, res.text
    return res.json()


def _post(client, h, path, body=None):
    return client.post(path, json=body, headers=h) if body is not None else client.post(
        path, headers=h)


def test_a_quote_is_sent_accepted_and_converted_into_a_contract_that_keeps_the_link(
        client, auth, session):
    w = make_world(session)
    h = auth("billing")
    q = _quote(client, h, w, lines=[line(w.item.id, price_per_period="900.00"),
                                    {"site_id": w.site.id, "item_group_id": w.group.id,
                                     "labour_discount_percent": "20"}])
    assert (q["number"], q["status"], q["version"]) == ("CQ-000001", "draft", 1)
    # The period price defaults to the sum of the lines' prices.
    assert q["price_per_period"] == "900.00"
    assert q["currency"] == "BRL"
    sent = _post(client, h, f"/contract-quotes/{q['id']}/send")
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "sent"
    assert sent.json()["sent_at"] == "2026-03-02T12:00:00Z"
    accepted = _post(client, h, f"/contract-quotes/{q['id']}/accept").json()
    assert accepted["status"] == "accepted"

    res = _post(client, h, f"/contract-quotes/{q['id']}/convert",
                {"index_anniversary": "2026-10-01"})
    assert res.status_code == 201, res.text
    c = res.json()
    assert res.headers["ETag"] == f'"{c["version"]}"'
    assert (c["number"], c["status"], c["quote_id"]) == ("CT-000001", "draft", q["id"])
    assert (c["start_date"], c["end_date"], c["billing_period"]) == (
        "2026-04-01", "2027-03-31", "quarterly")
    assert (c["price_per_period"], c["currency"], c["auto_renew"]) == ("900.00", "BRL", True)
    assert (c["index_name"], c["index_anniversary"]) == ("IGP-M", "2026-10-01")
    assert [(x["service_item_id"], x["site_id"], x["item_group_id"], x["added_on"])
            for x in c["lines"]] == [(w.item.id, None, None, "2026-04-01"),
                                     (None, w.site.id, w.group.id, "2026-04-01")]
    assert c["lines"][0]["response_hours"] == {"low": None, "normal": "8.00", "high": None,
                                               "urgent": "4.00"}
    assert c["lines"][1]["labour_discount_percent"] == "20.00"
    hist = client.get(f"/contracts/{c['id']}/history", headers=h).json()
    assert [(e["event"], e["to_status"], e["note"]) for e in hist] == [
        ("created", "draft", "from quote CQ-000001")]
    assert client.get(f"/contract-quotes/{q['id']}", headers=h).json()["contract_id"] == c["id"]

    again = _post(client, h, f"/contract-quotes/{q['id']}/convert")
    assert again.status_code == 409
    assert "already converted into CT-000001" in again.json()["detail"]
    assert count(session, Contract) == 1


def test_converting_a_declined_quote_is_a_409_and_creates_nothing(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    q = _quote(client, h, w)
    _post(client, h, f"/contract-quotes/{q['id']}/send")
    declined = _post(client, h, f"/contract-quotes/{q['id']}/decline",
                     {"reason": "too expensive"}).json()
    assert (declined["status"], declined["decline_reason"]) == ("declined", "too expensive")
    res = _post(client, h, f"/contract-quotes/{q['id']}/convert")
    assert res.status_code == 409
    problem = res.json()
    assert problem["type"].endswith("/quote-state")
    assert problem["current"] == "declined"
    assert count(session, Contract) == 0
    assert session.get(ContractQuote, q["id"]).version == declined["version"]


def test_an_expired_quote_can_be_neither_accepted_nor_converted(client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher")
    q = _quote(client, h, w, valid_until="2026-03-10")
    _post(client, h, f"/contract-quotes/{q['id']}/send")
    clock.advance(days=8)  # 2026-03-10 12:00: the last valid day
    assert client.get(f"/contract-quotes/{q['id']}", headers=h).json()["status"] == "sent"
    clock.advance(days=1)
    assert client.get(f"/contract-quotes/{q['id']}", headers=h).json()["status"] == "expired"
    for action in ("accept", "convert", "decline"):
        res = _post(client, h, f"/contract-quotes/{q['id']}/{action}")
        assert res.status_code == 409, action
        assert res.json()["type"].endswith("/quote-expired")
        assert "valid until 2026-03-10" in res.json()["detail"]
    assert count(session, Contract) == 0
    session.expire_all()
    assert session.get(ContractQuote, q["id"]).status == "sent"
    listed = client.get("/contract-quotes", params={"status": "expired"}, headers=h).json()
    assert [x["id"] for x in listed["items"]] == [q["id"]]
    assert client.get("/contract-quotes", params={"status": "sent"},
                      headers=h).json()["items"] == []


def test_an_accepted_quote_converts_even_after_its_validity(client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher")
    q = _quote(client, h, w, valid_until="2026-03-03")
    _post(client, h, f"/contract-quotes/{q['id']}/send")
    _post(client, h, f"/contract-quotes/{q['id']}/accept")
    clock.advance(days=10)
    res = _post(client, h, f"/contract-quotes/{q['id']}/convert")
    assert res.status_code == 201, res.text


def test_a_quote_must_be_accepted_before_it_is_converted(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    q = _quote(client, h, w)
    res = _post(client, h, f"/contract-quotes/{q['id']}/convert")
    assert res.status_code == 409
    assert res.json()["detail"] == ("quote CQ-000001 is draft; it can be converted only when "
                                    "accepted")
    assert res.json()["current"] == "draft"
    assert _post(client, h, f"/contract-quotes/{q['id']}/accept").status_code == 409
    assert count(session, Contract) == 0


def test_only_a_draft_quote_is_edited_and_only_with_if_match(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    q = _quote(client, h, w)
    path = f"/contract-quotes/{q['id']}"
    assert client.patch(path, json={"title": "x"}, headers=h).status_code == 428
    assert client.patch(path, json={"title": "x"},
                        headers=h | {"If-Match": '"7"'}).status_code == 409
    res = client.patch(path, json={"lines": [line(w.item2.id, price_per_period="400")]},
                       headers=h | {"If-Match": '"1"'})
    assert res.status_code == 200, res.text
    body = res.json()
    assert [x["service_item_id"] for x in body["lines"]] == [w.item2.id]
    assert (body["price_per_period"], body["version"]) == ("400.00", 2)
    bad = client.patch(path, json={"end_date": "2026-01-01"}, headers=h | {"If-Match": '"2"'})
    assert (bad.status_code, bad.json()["field"]) == (422, "end_date")
    _post(client, h, f"{path}/send")
    res = client.patch(path, json={"title": "late"}, headers=h | {"If-Match": '"3"'})
    assert res.status_code == 409
    assert res.json()["current"] == "sent"


def test_bad_quotes_are_422s_naming_the_field(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    base = {"customer_id": w.customer.id, "title": "t", "start_date": "2026-04-01",
            "end_date": "2027-03-31", "valid_until": "2026-03-15", "lines": [line(w.item.id)]}
    cases = [
        ({"price_per_period": "-1"}, "price_per_period"),
        ({"end_date": "2026-03-31"}, "end_date"),
        ({"valid_until": "2026-03-01"}, "valid_until"),
        ({"lines": [line(w.item.id, price_per_period="-5")]}, "lines.0.price_per_period"),
        ({"lines": [{"site_id": w.site.id}]}, "lines[0].service_item_id"),
        ({"price_per_period": "10", "lines": [line(w.item.id, price_per_period="50")]},
         "price_per_period"),
    ]
    for change, field in cases:
        res = client.post("/contract-quotes", json=base | change, headers=h)
        assert res.status_code == 422, (change, res.text)
        assert res.json()["field"] == field, change
    assert count(session, ContractQuote) == 0

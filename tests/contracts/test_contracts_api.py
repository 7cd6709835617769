"""Contracts over HTTP: creation, the overlap rule, bad terms, status history, changes."""

from contracts.models import Contract, ContractHistory, ContractLine
from tests.contracts.contract_world import (
    active_contract,
    contract_body,
    count,
    create_contract,
    line,
    make_world,
    move,
)
from tests.factories import make_customer, make_service_item


def test_a_contract_is_numbered_and_shows_its_terms_and_lines(client, auth, session):
    w = make_world(session)
    h = auth("billing")
    res = client.post("/contracts", json=contract_body(w, auto_renew=True, notice_days=60),
                      headers=h)
    assert res.status_code == 201, res.text
    c = res.json()
    assert res.headers["ETag"] == '"1"'
    assert (c["number"], c["status"], c["version"]) == ("CT-000001", "draft", 1)
    assert c["allowed_transitions"] == ["signed", "cancelled"]
    assert (c["price_per_period"], c["currency"], c["calendar_id"]) == ("1200.00", "BRL", None)
    assert c["notice_deadline"] == "2026-11-01"
    [ln] = c["lines"]
    assert (ln["service_item_id"], ln["added_on"], ln["removed_on"]) == (
        w.item.id, "2026-01-01", None)
    assert (ln["labour_included"], ln["parts_discount_percent"]) == (True, "10.00")
    second = create_contract(client, h, w, lines=[line(w.item2.id)])
    assert second["number"] == "CT-000002"
    got = client.get(f"/contracts/{c['id']}", headers=h)
    assert got.json() == c


def test_the_same_item_under_two_contracts_at_once_is_a_409_naming_the_other(
        client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    first = create_contract(client, h, w)
    res = client.post("/contracts", headers=h, json=contract_body(
        w, start_date="2026-12-01", end_date="2027-11-30"))
    assert res.status_code == 409
    problem = res.json()
    assert problem["type"].endswith("/contract-overlap")
    assert (problem["other_contract_id"], problem["other_contract_number"]) == (
        first["id"], "CT-000001")
    assert "CT-000001" in problem["detail"]
    assert count(session, Contract) == 1
    assert count(session, ContractLine) == 1

    # The whole group at the site takes in the covered oven: also a conflict.
    res = client.post("/contracts", headers=h, json=contract_body(
        w, lines=[{"site_id": w.site.id, "item_group_id": w.group.id}]))
    assert res.status_code == 409
    assert count(session, Contract) == 1
    # The day after the first ends is free, and so is another item.
    create_contract(client, h, w, start_date="2027-01-01", end_date="2027-12-31")
    create_contract(client, h, w, lines=[line(w.item2.id)])


def test_a_cancelled_contract_frees_its_items(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    first = create_contract(client, h, w)
    move(client, h, first["id"], "cancelled")
    assert create_contract(client, h, w)["number"] == "CT-000002"


def test_one_contract_may_refine_a_group_line_for_one_item_but_not_list_an_item_twice(
        client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    refined = create_contract(client, h, w, lines=[
        {"site_id": w.site.id, "item_group_id": w.group.id},
        line(w.item.id, response_hours={"urgent": "2"})])
    assert len(refined["lines"]) == 2
    res = client.post("/contracts", headers=h, json=contract_body(
        w, start_date="2027-01-01", end_date="2027-12-31",
        lines=[line(w.item.id), line(w.item.id)]))
    assert res.status_code == 409
    assert "another line of this contract" in res.json()["detail"]


def test_bad_terms_are_422s_and_create_nothing(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher")
    stranger = make_service_item(session, customer=make_customer(session))
    session.commit()
    cases = [
        ({"end_date": "2025-12-31"}, "end_date"),
        ({"price_per_period": "-0.01"}, "price_per_period"),
        ({"lines": [line(w.item.id, price_per_period="-1")]}, "lines.0.price_per_period"),
        ({"lines": [line(w.item.id, parts_discount_percent="101")]},
         "lines.0.parts_discount_percent"),
        ({"lines": [line(stranger.id)]}, "lines[0].service_item_id"),
        ({"lines": [line(999_999)]}, "lines[0].service_item_id"),
        ({"currency": "XXY"}, "currency"),
        ({"calendar_id": 999_999}, "calendar_id"),
        ({"index_anniversary": "2026-07-01"}, "index_anniversary"),
        ({"lines": [line(w.item.id, maintenance={"every": 1, "unit": "weeks",
                                                 "flexibility_days": 7})]},
         "lines[0].maintenance.flexibility_days"),
    ]
    for change, field in cases:
        res = client.post("/contracts", json=contract_body(w, **change), headers=h)
        assert res.status_code == 422, (change, res.text)
        assert res.json()["field"] == field, (change, res.json())
    assert count(session, Contract) == 0
    assert count(session, ContractHistory) == 0


def test_a_contract_walks_its_statuses_and_each_step_is_in_its_history(
        client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher", username="carla")
    c = create_contract(client, h, w)
    clock.advance(hours=1)
    res = client.post(f"/contracts/{c['id']}/transitions", headers=h,
                      json={"to": "signed", "note": "signed by the owner"})
    assert res.status_code == 200, res.text
    body = move(client, h, c["id"], "active", "suspended", "active")
    assert (body["status"], body["version"]) == ("active", 5)
    assert body["allowed_transitions"] == ["suspended", "expired", "cancelled"]
    hist = client.get(f"/contracts/{c['id']}/history", headers=h).json()
    assert [(e["event"], e["from_status"], e["to_status"]) for e in hist] == [
        ("created", None, "draft"), ("status", "draft", "signed"),
        ("status", "signed", "active"), ("status", "active", "suspended"),
        ("status", "suspended", "active")]
    assert {e["username"] for e in hist} == {"carla"}
    assert (hist[1]["at"], hist[1]["note"]) == ("2026-03-02T13:00:00Z", "signed by the owner")


def test_a_forbidden_status_change_is_a_409_and_changes_nothing(client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher")
    c = create_contract(client, h, w)
    res = client.post(f"/contracts/{c['id']}/transitions", headers=h, json={"to": "active"})
    assert res.status_code == 409
    assert res.json()["allowed"] == ["signed", "cancelled"]
    move(client, h, c["id"], "signed", "active")
    # Not before its last day has passed.
    res = client.post(f"/contracts/{c['id']}/transitions", headers=h, json={"to": "expired"})
    assert res.status_code == 409
    assert "runs until 2026-12-31" in res.json()["detail"]
    res = client.post(f"/contracts/{c['id']}/transitions", headers=h, json={"to": "gone"})
    assert (res.status_code, res.json()["field"]) == (422, "to")
    session.expire_all()
    row = session.get(Contract, c["id"])
    assert (row.status, row.version) == ("active", 3)
    clock.advance(days=305)  # 2027-01-01
    assert move(client, h, c["id"], "expired")["allowed_transitions"] == []
    res = client.post(f"/contracts/{c['id']}/transitions", headers=h, json={"to": "active"})
    assert res.status_code == 409
    assert "renew" in res.json()["detail"]


def test_patch_needs_if_match_and_running_terms_change_only_by_their_own_means(
        client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher")
    c = create_contract(client, h, w, auto_renew=True, notice_days=30)
    path = f"/contracts/{c['id']}"
    assert client.patch(path, json={"title": "x"}, headers=h).status_code == 428
    res = client.patch(path, json={"end_date": "2027-06-30", "title": "Ovens"},
                       headers=h | {"If-Match": '"1"'})
    assert res.status_code == 200, res.text
    assert (res.json()["end_date"], res.json()["version"]) == ("2027-06-30", 2)
    assert res.headers["ETag"] == '"2"'
    stale = client.patch(path, json={"title": "y"}, headers=h | {"If-Match": '"1"'})
    assert stale.status_code == 409
    bad = client.patch(path, json={"end_date": "2025-01-01"}, headers=h | {"If-Match": '"2"'})
    assert (bad.status_code, bad.json()["field"]) == (422, "end_date")
    body = move(client, h, c["id"], "signed", "active")
    v = body["version"]
    res = client.patch(path, json={"price_per_period": "1"}, headers=h | {"If-Match": f'"{v}"'})
    assert (res.status_code, res.json()["field"]) == (409, "price_per_period")
    # The notice deadline is 2027-05-31; up to then renewal can be refused.
    clock.advance(days=456)  # 2027-06-01
    res = client.patch(path, json={"auto_renew": False}, headers=h | {"If-Match": f'"{v}"'})
    assert res.status_code == 409
    assert res.json()["type"].endswith("/notice-period-passed")
    session.expire_all()
    row = session.get(Contract, c["id"])
    assert (row.auto_renew, row.price_per_period, row.version) == (True, 1200, v)
    hist = client.get(f"/contracts/{c['id']}/history", headers=h).json()
    assert hist[1]["note"] == "title: Ovens 2026 -> Ovens; end_date: 2026-12-31 -> 2027-06-30"


def test_listing_filters_by_customer_status_and_expiry(client, auth, session):
    w = make_world(session)
    h = auth("billing")
    a = active_contract(client, h, w, end_date="2026-06-30")
    b = create_contract(client, h, w, lines=[line(w.item2.id)])
    other = make_customer(session)
    session.commit()

    def ids(**params):
        res = client.get("/contracts", params=params, headers=h)
        assert res.status_code == 200, res.text
        return [x["id"] for x in res.json()["items"]]

    assert ids() == [b["id"], a["id"]]
    assert ids(status="active") == [a["id"]]
    assert ids(status=["active", "draft"]) == [b["id"], a["id"]]
    assert ids(expiring_before="2026-07-01") == [a["id"]]
    assert ids(expiring_before="2026-06-30") == []
    assert ids(customer_id=other.id) == []
    assert ids(q="ct-000002") == [b["id"]]
    page = client.get("/contracts", params={"limit": 1}, headers=h).json()
    assert [x["id"] for x in page["items"]] == [b["id"]]
    nxt = client.get("/contracts", params={"limit": 1, "cursor": page["next_cursor"]},
                     headers=h).json()
    assert ([x["id"] for x in nxt["items"]], nxt["next_cursor"]) == ([a["id"]], None)


def test_a_technician_may_not_see_contracts(client, auth, session):
    res = client.get("/contracts", headers=auth("technician"))
    assert res.status_code == 403
    assert client.get("/contracts").status_code == 401


def test_a_create_retried_with_its_idempotency_key_is_answered_once(client, auth, session):
    w = make_world(session)
    h = auth("dispatcher") | {"Idempotency-Key": "ct-1"}
    first = client.post("/contracts", json=contract_body(w), headers=h)
    again = client.post("/contracts", json=contract_body(w), headers=h)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(session, Contract) == 1

"""A contract's days are the days where the work is, over HTTP. In São Paulo (UTC-3) the
UTC date turns at 21:00: at 23:30 on a contract's last day it is still in force (covers new
orders, takes items from today, is not expired by the renewal run nor by hand), a quote is
still accepted on its last valid day, and a billing period starting at midnight starts then,
not at 21:00 the day before. A contract or quote on a calendar of its own counts its days
in that calendar's zone (here Lisbon, already on the next day)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.contracts.contract_world import active_contract, line, make_world
from tests.factories import make_service_item

SP = ZoneInfo("America/Sao_Paulo")


def _at(clock, *at: int) -> None:
    """The clock at São Paulo wall time ``at``."""
    clock.current = datetime(*at, tzinfo=SP)


def _order(client, h, w, item_id: int) -> dict:
    res = client.post("/orders", headers=h, json={
        "customer_id": w.customer.id, "service_item_ids": [item_id], "priority": "normal",
        "reported_defect": "Oven does not heat"})
    assert res.status_code == 201, res.text
    return res.json()


def _add_line(client, h, contract: dict, item_id: int, **fields):
    return client.post(f"/contracts/{contract['id']}/lines", headers=h,
                       json={"service_item_id": item_id, **fields})


def _renewals(client, h) -> dict:
    res = client.post("/contracts/renewals", headers=h, json={"until": "2026-06-30"})
    assert res.status_code == 200, res.text
    return res.json()


def _expire(client, h, contract: dict):
    return client.post(f"/contracts/{contract['id']}/transitions", headers=h,
                       json={"to": "expired"})


def _calendar(client, h, code: str, zone: str) -> dict:
    res = client.post("/calendars", headers=h, json={
        "code": code, "name": code, "timezone": zone,
        "weekly": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}})
    assert res.status_code == 201, res.text
    return res.json()


def test_at_23_30_on_its_last_day_a_contract_is_still_in_force_and_at_00_30_it_is_not(
        client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher")
    _at(clock, 2026, 1, 5, 9, 0)
    c = active_contract(client, h, w, start_date="2026-01-01", end_date="2026-03-31")

    _at(clock, 2026, 3, 31, 23, 30)  # 2026-04-01 02:30 UTC
    assert _order(client, h, w, w.item.id)["contract_id"] == c["id"]
    added = _add_line(client, h, c, w.item2.id)
    assert added.status_code == 201, added.text
    assert added.json()["line"]["added_on"] == "2026-03-31"
    assert _renewals(client, h)["expired"] == []
    refused = _expire(client, h, c)
    assert refused.status_code == 409, refused.text
    assert "runs until 2026-03-31" in refused.json()["detail"]
    assert client.get(f"/contracts/{c['id']}", headers=h).json()["status"] == "active"

    _at(clock, 2026, 4, 1, 0, 30)
    assert _order(client, h, w, w.item.id)["contract_id"] is None
    assert _renewals(client, h)["expired"] == [{"contract_id": c["id"],
                                                "number": c["number"]}]


def test_a_period_or_contract_starting_at_midnight_starts_at_00_30_and_not_at_23_30(
        client, auth, session, clock):
    w = make_world(session)
    item3 = make_service_item(session, customer=w.customer, site=w.site, item_group=w.group)
    item4 = make_service_item(session, customer=w.customer, site=w.site, item_group=w.group)
    session.commit()
    h = auth("dispatcher")
    _at(clock, 2026, 1, 5, 9, 0)
    running = active_contract(client, h, w, start_date="2026-01-01", end_date="2026-12-31")
    starting = active_contract(client, h, w, start_date="2026-04-01", end_date="2026-12-31",
                               lines=[line(item4.id)])

    # 23:30 on 31 March: March is still the current period (items may join from the 31st)
    # and the contract starting on 1 April does not cover yet.
    _at(clock, 2026, 3, 31, 23, 30)
    res = _add_line(client, h, running, w.item2.id, added_on="2026-03-31")
    assert res.status_code == 201, res.text
    assert _order(client, h, w, item4.id)["contract_id"] is None

    # 00:30 on 1 April: April's period has begun (March is settled), the new contract covers.
    _at(clock, 2026, 4, 1, 0, 30)
    res = _add_line(client, h, running, item3.id, added_on="2026-03-31")
    assert res.status_code == 422, res.text
    assert res.json()["field"] == "added_on"
    assert _order(client, h, w, item4.id)["contract_id"] == starting["id"]


def test_a_quote_is_accepted_on_its_last_day_and_a_calendar_of_its_own_sets_its_zone(
        client, auth, session, clock):
    w = make_world(session)
    h = auth("dispatcher")
    _at(clock, 2026, 3, 31, 10, 0)
    sao_paulo = _calendar(client, h, "sp", "America/Sao_Paulo")
    lisbon = _calendar(client, h, "lisboa", "Europe/Lisbon")
    quotes = []
    for calendar_id in (None, sao_paulo["id"], lisbon["id"]):
        res = client.post("/contract-quotes", headers=h, json={
            "customer_id": w.customer.id, "title": "Ovens", "start_date": "2026-04-01",
            "end_date": "2026-12-31", "valid_until": "2026-03-31", "calendar_id": calendar_id,
            "lines": [line(w.item.id)]})
        assert res.status_code == 201, res.text
        quotes.append(res.json())
        assert client.post(f"/contract-quotes/{res.json()['id']}/send",
                           headers=h).status_code == 200
    here, here_too, there = quotes
    in_sp = active_contract(client, h, w, start_date="2026-01-01", end_date="2026-03-31")
    in_lisbon = active_contract(client, h, w, start_date="2026-01-01", end_date="2026-03-31",
                                calendar_id=lisbon["id"], lines=[line(w.item2.id)])

    _at(clock, 2026, 3, 31, 23, 30)  # 02:30 UTC, 03:30 in Lisbon on 1 April
    listed = {s: [x["id"] for x in client.get("/contract-quotes", headers=h,
                                              params={"status": s}).json()["items"]]
              for s in ("sent", "expired")}
    assert listed == {"sent": [here_too["id"], here["id"]], "expired": [there["id"]]}
    assert client.get(f"/contract-quotes/{here['id']}", headers=h).json()["status"] == "sent"
    accepted = client.post(f"/contract-quotes/{here['id']}/accept", headers=h)
    assert accepted.status_code == 200, accepted.text
    late = client.post(f"/contract-quotes/{there['id']}/accept", headers=h)
    assert late.status_code == 409, late.text
    assert late.json()["type"].endswith("/quote-expired")

    assert _expire(client, h, in_sp).status_code == 409
    res = _expire(client, h, in_lisbon)
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "expired"

"""Service hours per contract line, over HTTP: a line's own calendar overrides the
contract's for the orders it covers (response due, the SLA lists), flows from quote to
contract, is refused when unknown, and keeps the calendar from being deleted."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from contracts.models import Contract, ContractHistory, ContractLine, ContractQuote
from tests.contracts.contract_world import active_contract, count, line, make_world
from tests.factories import make_service_item

SP = ZoneInfo("America/Sao_Paulo")
SHIFT = ["08:00-12:00", "13:30-17:30"]


def _sp(*args: int) -> str:
    """A São Paulo wall-clock time as the API writes it (UTC, ``Z``)."""
    at = datetime(*args, tzinfo=SP).astimezone(UTC)
    return at.isoformat().replace("+00:00", "Z")


def _start(session, client, auth, clock, *at: int, **user):
    """The bakery, a dispatcher's headers, the clock at São Paulo time ``at``, and the
    business-hours and 24/7 calendars."""
    w = make_world(session)
    h = auth("dispatcher", **user)
    clock.current = datetime(*at, tzinfo=SP)
    return (w, h, *_calendars(client, h))


def _calendars(client, h) -> tuple[dict, dict]:
    """São Paulo business hours (Brazil's holidays) and the built-in 24/7 calendar."""
    business = client.post("/calendars", headers=h, json={
        "code": "sp-business", "name": "Horário comercial", "timezone": "America/Sao_Paulo",
        "weekly": {d: SHIFT for d in ("mon", "tue", "wed", "thu", "fri")}, "country": "BR"})
    assert business.status_code == 201, business.text
    listed = client.get("/calendars", headers=h).json()
    return business.json(), next(x for x in listed if x["code"] == "24x7")


def _order(client, h, w, item_id: int, priority: str = "urgent") -> dict:
    res = client.post("/orders", headers=h, json={
        "customer_id": w.customer.id, "service_item_ids": [item_id], "priority": priority,
        "reported_defect": "Oven does not heat"})
    assert res.status_code == 201, res.text
    return res.json()


def _patch_line(client, h, contract: dict, line_id: int, body: dict, version: int):
    return client.patch(f"/contracts/{contract['id']}/lines/{line_id}", json=body,
                        headers=h | {"If-Match": f'"{version}"'})


def test_a_line_on_round_the_clock_hours_is_due_before_a_line_on_business_hours(
        client, auth, session, clock):
    # Friday 16:00 in São Paulo
    w, h, business, always = _start(session, client, auth, clock, 2026, 3, 6, 16, 0)
    c = active_contract(client, h, w, calendar_id=business["id"],
                        lines=[line(w.item.id), line(w.item2.id, calendar_id=always["id"])])
    assert [x["calendar_id"] for x in c["lines"]] == [None, always["id"]]

    # Urgent: 4 hours. On the contract's hours: 1 h 30 on Friday, 2 h 30 on Monday;
    # on the line's 24/7 hours: Friday 20:00.
    on_contract_hours = _order(client, h, w, w.item.id)
    on_line_hours = _order(client, h, w, w.item2.id)
    assert on_contract_hours["response_due_at"] == _sp(2026, 3, 9, 10, 30)
    assert on_line_hours["response_due_at"] == _sp(2026, 3, 6, 20, 0)

    # Saturday 10:00: the 24/7 order is 14 hours late counted round the clock; the other
    # has 2 h 30 of business hours left (Monday 08:00-10:30), not 48 h 30.
    clock.current = datetime(2026, 3, 7, 10, 0, tzinfo=SP)
    res = client.get("/orders/sla", headers=h, params={"within_hours": "3"})
    assert res.status_code == 200, res.text
    assert [(x["order_id"], x["state"], x["remaining_minutes"]) for x in res.json()] == [
        (on_line_hours["id"], "breached", -14 * 60),
        (on_contract_hours["id"], "at_risk", 150),
    ]


def test_a_line_changes_its_hours_with_if_match_and_a_history_entry(
        client, auth, session, clock):
    w, h, business, always = _start(session, client, auth, clock, 2026, 3, 6, 16, 0,
                                    username="carla")
    c = active_contract(client, h, w, calendar_id=business["id"])
    line_id = c["lines"][0]["id"]
    assert _patch_line(client, h, c, line_id, {"calendar_id": always["id"]},
                       c["version"] - 1).status_code == 409
    res = _patch_line(client, h, c, line_id, {"calendar_id": always["id"]}, c["version"])
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["line"]["calendar_id"], body["contract_version"]) == (
        always["id"], c["version"] + 1)
    assert res.headers["ETag"] == f'"{c["version"] + 1}"'
    assert _order(client, h, w, w.item.id)["response_due_at"] == _sp(2026, 3, 6, 20, 0)

    back = _patch_line(client, h, c, line_id, {"calendar_id": None}, c["version"] + 1)
    assert back.status_code == 200, back.text
    assert back.json()["line"]["calendar_id"] is None
    assert _order(client, h, w, w.item.id)["response_due_at"] == _sp(2026, 3, 9, 10, 30)
    hist = client.get(f"/contracts/{c['id']}/history", headers=h).json()
    assert [(x["event"], x["username"], x["note"]) for x in hist[-2:]] == [
        ("line_updated", "carla", f"service item {w.item.id}: service hours the contract's "
                                  "-> 24x7"),
        ("line_updated", "carla", f"service item {w.item.id}: service hours 24x7 -> the "
                                  "contract's"),
    ]


def test_a_quote_line_keeps_its_hours_into_the_contract(client, auth, session, clock):
    w, h, business, always = _start(session, client, auth, clock, 2026, 2, 16, 9, 0)
    res = client.post("/contract-quotes", headers=h, json={
        "customer_id": w.customer.id, "title": "Ovens", "start_date": "2026-03-01",
        "end_date": "2026-12-31", "calendar_id": business["id"], "valid_until": "2026-02-28",
        "lines": [line(w.item.id), line(w.item2.id, calendar_id=always["id"])]})
    assert res.status_code == 201, res.text
    quote = res.json()
    assert [x["calendar_id"] for x in quote["lines"]] == [None, always["id"]]
    for step in ("send", "accept"):
        assert client.post(f"/contract-quotes/{quote['id']}/{step}",
                           headers=h).status_code == 200
    res = client.post(f"/contract-quotes/{quote['id']}/convert", headers=h, json={})
    assert res.status_code == 201, res.text
    contract = res.json()
    assert contract["calendar_id"] == business["id"]
    assert [x["calendar_id"] for x in contract["lines"]] == [None, always["id"]]


def test_an_unknown_line_calendar_is_a_422_naming_the_field_and_changes_nothing(
        client, auth, session, clock):
    w, h, business, _ = _start(session, client, auth, clock, 2026, 3, 2, 9, 0)
    c = active_contract(client, h, w, calendar_id=business["id"])
    third = make_service_item(session, customer=w.customer, site=w.site, item_group=w.group)
    session.commit()
    contracts, lines, entries = (count(session, m) for m in (Contract, ContractLine,
                                                              ContractHistory))
    quotes = count(session, ContractQuote)

    refused = [
        (client.post("/contracts", headers=h, json={
            "customer_id": w.customer.id, "title": "More", "start_date": "2027-01-01",
            "end_date": "2027-12-31", "lines": [line(third.id, calendar_id=999_999)]}),
         "lines[0].calendar_id"),
        (client.post("/contract-quotes", headers=h, json={
            "customer_id": w.customer.id, "title": "More", "start_date": "2027-01-01",
            "end_date": "2027-12-31", "valid_until": "2026-03-31",
            "lines": [line(third.id, calendar_id=999_999)]}), "lines[0].calendar_id"),
        (client.post(f"/contracts/{c['id']}/lines", headers=h,
                     json=line(third.id, calendar_id=999_999)), "line.calendar_id"),
        (_patch_line(client, h, c, c["lines"][0]["id"], {"calendar_id": 999_999},
                     c["version"]), "calendar_id"),
    ]
    for res, field in refused:
        assert res.status_code == 422, res.text
        assert res.json()["field"] == field, res.json()

    assert (count(session, Contract), count(session, ContractLine),
            count(session, ContractHistory), count(session, ContractQuote)) == (
        contracts, lines, entries, quotes)
    got = client.get(f"/contracts/{c['id']}", headers=h).json()
    assert (got["version"], [x["calendar_id"] for x in got["lines"]]) == (c["version"], [None])


def test_a_calendar_used_only_by_a_contract_or_quote_line_cannot_be_deleted(
        client, auth, session, clock):
    w, h, business, _ = _start(session, client, auth, clock, 2026, 3, 2, 9, 0)
    c = active_contract(client, h, w, lines=[line(w.item.id, calendar_id=business["id"])])
    assert c["calendar_id"] is None
    res = client.delete(f"/calendars/{business['id']}", headers=h)
    assert res.status_code == 409, res.text
    assert res.json()["used_by"] == c["number"]

    res = _patch_line(client, h, c, c["lines"][0]["id"], {"calendar_id": None}, c["version"])
    assert res.status_code == 200, res.text
    res = client.post("/contract-quotes", headers=h, json={
        "customer_id": w.customer.id, "title": "Next year", "start_date": "2027-01-01",
        "end_date": "2027-12-31", "valid_until": "2026-03-31",
        "lines": [line(w.item.id, calendar_id=business["id"])]})
    assert res.status_code == 201, res.text
    res = client.delete(f"/calendars/{business['id']}", headers=h)
    assert res.status_code == 409, res.text
    assert res.json()["used_by"] == "CQ-000001"

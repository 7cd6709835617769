"""Response due times of orders under contracts, and the at-risk and breached lists, over HTTP."""

from __future__ import annotations

from decimal import Decimal as D

from tests.factories import make_contract, make_contract_line, make_service_item
from tests.orders.contract_world import iso, make_contract_world, open_order, sp
from tests.orders.world import move


def test_a_friday_afternoon_order_is_due_on_monday_in_business_hours(
        client, auth, session, clock):
    w = make_contract_world(session)
    clock.current = sp(2026, 3, 6, 16, 0)  # Friday 16:00 in São Paulo
    order = open_order(client, auth("dispatcher"), w)
    # 8 business hours: 1 h 30 on Friday, then Monday 08:00-12:00 and 13:30-16:00
    assert order["response_due_at"] == iso(sp(2026, 3, 9, 16, 0))


def test_the_response_time_skips_good_friday_and_the_weekend(client, auth, session, clock):
    w = make_contract_world(session)
    clock.current = sp(2026, 4, 2, 16, 0)  # Thursday before Good Friday (3 April 2026)
    h = auth("dispatcher")
    assert open_order(client, h, w)["response_due_at"] == iso(sp(2026, 4, 6, 16, 0))
    urgent = open_order(client, h, w, priority="urgent")
    # 4 hours: 1 h 30 on Thursday, 2 h 30 on Monday
    assert urgent["response_due_at"] == iso(sp(2026, 4, 6, 10, 30))
    history = client.get(f"/orders/{urgent['id']}/history", headers=h).json()
    assert f"contract {w.contract.number}" in history[0]["note"]
    assert iso(sp(2026, 4, 6, 10, 30)).replace("Z", "+00:00") in history[0]["note"]


def test_a_contract_without_a_calendar_counts_round_the_clock(client, auth, session, clock):
    w = make_contract_world(session)
    item = make_service_item(session, customer=w.customer, site=w.site, item_group=w.group)
    always = make_contract(session, customer=w.customer, with_line=False)
    make_contract_line(session, contract=always, service_item=item)
    session.commit()
    clock.current = sp(2026, 3, 6, 16, 0)
    order = open_order(client, auth("dispatcher"), w, item=item, priority="urgent")
    assert order["response_due_at"] == iso(sp(2026, 3, 6, 20, 0))


def test_no_response_time_is_promised_for_a_priority_without_hours(client, auth, session):
    w = make_contract_world(session)
    order = open_order(client, auth("dispatcher"), w, priority="low")
    assert order["contract_id"] == w.contract.id and order["response_due_at"] is None


def test_raising_the_priority_brings_the_response_forward(client, auth, session, clock):
    w = make_contract_world(session)
    clock.current = sp(2026, 3, 2, 9, 0)  # Monday 09:00
    h = auth("dispatcher")
    order = open_order(client, h, w)
    assert order["response_due_at"] == iso(sp(2026, 3, 3, 9, 0))
    clock.advance(minutes=10)
    res = client.patch(f"/orders/{order['id']}", headers=h | {"If-Match": '"1"'},
                       json={"priority": "urgent"})
    assert res.status_code == 200, res.text
    # Counted from the order's creation: 09:00-12:00 and 13:30-14:30 on Monday
    assert res.json()["response_due_at"] == iso(sp(2026, 3, 2, 14, 30))


def _sla(client, h, **params):
    res = client.get("/orders/sla", headers=h, params=params)
    assert res.status_code == 200, res.text
    return [(x["number"], x["state"], x["remaining_minutes"]) for x in res.json()]


def test_at_risk_and_breached_orders_are_listed_and_a_response_takes_an_order_off(
        client, auth, session, clock):
    w = make_contract_world(session, response_hours_high=D("2"))
    h = auth("dispatcher")
    clock.current = sp(2026, 3, 2, 9, 0)  # Monday 09:00
    urgent = open_order(client, h, w, priority="urgent")  # due Monday 14:30
    high = open_order(client, h, w, priority="high")  # due Monday 11:00
    normal = open_order(client, h, w)  # due Tuesday 09:00
    open_order(client, h, w, item=w.other_item, priority="urgent")  # no contract: never listed

    clock.current = sp(2026, 3, 2, 10, 30)
    assert _sla(client, h) == [(high["number"], "at_risk", 30)]
    clock.current = sp(2026, 3, 2, 13, 0)
    # At 13:00 (lunch): high is 1 business hour past due (11:00-12:00), urgent has 1
    # business hour left (13:30-14:30); the lunch break does not count either way.
    assert _sla(client, h) == [(high["number"], "breached", -60),
                               (urgent["number"], "at_risk", 60)]
    assert _sla(client, h, state="breached") == [(high["number"], "breached", -60)]
    assert _sla(client, h, state="at_risk") == [(urgent["number"], "at_risk", 60)]
    assert _sla(client, h, state="at_risk", within_hours="0.5") == []
    clock.current = sp(2026, 3, 2, 17, 0)
    assert [x[0] for x in _sla(client, h, within_hours="8")] == [
        high["number"], urgent["number"], normal["number"]]

    # Work starts on the high one: it is answered (late) and leaves the list. Normal, due
    # Tuesday 09:00, has 1 h 30 of business time left (17:00-17:30, 08:00-09:00): at risk.
    move(client, h, high["id"], "ready", "in_progress")
    order = client.get(f"/orders/{high['id']}", headers=h).json()
    assert order["responded_at"] == iso(sp(2026, 3, 2, 17, 0))
    assert _sla(client, h) == [(urgent["number"], "breached", -150),
                               (normal["number"], "at_risk", 90)]


def test_an_unknown_sla_state_is_a_422(client, auth, session):
    h = auth("billing")
    res = client.get("/orders/sla", headers=h, params={"state": "late"})
    assert res.status_code == 422 and res.json()["field"] == "state"
    res = client.get("/orders/sla", headers=h, params={"within_hours": "-1"})
    assert res.status_code == 422 and res.json()["field"] == "within_hours"
    assert client.get("/orders/sla", headers=auth("technician")).status_code == 403


def test_orders_closed_or_cancelled_are_not_listed(client, auth, session, clock):
    w = make_contract_world(session)
    h = auth("dispatcher")
    order = open_order(client, h, w, priority="urgent")
    kept = open_order(client, h, w, priority="urgent")
    move(client, h, order["id"], "cancelled")
    clock.advance(days=3)
    assert [x[0] for x in _sla(client, h)] == [kept["number"]]
    move(client, h, kept["id"], "cancelled")
    assert _sla(client, h) == []

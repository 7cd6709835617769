"""Items added to and removed from a running contract: prorated by day, recorded as pending
adjustments for the invoicing run (a positive amount to invoice, a negative one to credit)."""

from decimal import Decimal

from contracts.models import Contract, ContractAdjustment, ContractLine
from tests.contracts.contract_world import (
    active_contract,
    count,
    create_contract,
    line,
    make_world,
    move,
)
from tests.factories import make_customer, make_service_item


def test_an_item_added_mid_month_is_prorated_by_day_and_removal_credits_the_rest(
        client, auth, session, clock):
    w = make_world(session)
    h = auth("billing", username="bia")
    c = active_contract(client, h, w)  # R$ 1,200.00 a month from 2026-01-01; today 2026-03-02
    res = client.post(f"/contracts/{c['id']}/lines", headers=h,
                      json=line(w.item2.id, price_per_period="100.00", added_on="2026-03-10"))
    assert res.status_code == 201, res.text
    added = res.json()
    # March has 31 days; 22 of them from the 10th on: 100.00 * 22 / 31 = 70.9677... -> 70.97.
    adj = added["adjustment"]
    assert (adj["amount"], adj["days"], adj["period_days"]) == ("70.97", 22, 31)
    assert (adj["period_start"], adj["period_end"], adj["effective_on"]) == (
        "2026-03-01", "2026-04-01", "2026-03-10")
    assert adj["invoiced_invoice_id"] is None
    assert added["contract_price_per_period"] == "1300.00"
    line_id = added["line"]["id"]
    assert (added["line"]["added_on"], added["line"]["removed_on"]) == ("2026-03-10", None)

    clock.advance(days=17)  # 2026-03-19
    res = client.delete(f"/contracts/{c['id']}/lines/{line_id}", headers=h,
                        params={"removed_on": "2026-03-20"})
    assert res.status_code == 200, res.text
    removed = res.json()
    # Covered up to the 19th; the 12 days from the 20th are credited: -100 * 12 / 31 = -38.71.
    assert (removed["adjustment"]["amount"], removed["adjustment"]["days"]) == ("-38.71", 12)
    assert removed["line"]["removed_on"] == "2026-03-20"
    assert removed["contract_price_per_period"] == "1200.00"

    pending = client.get(f"/contracts/{c['id']}/adjustments", params={"pending": "true"},
                         headers=h).json()
    assert [x["amount"] for x in pending] == ["70.97", "-38.71"]
    got = client.get(f"/contracts/{c['id']}", headers=h).json()
    assert [(x["service_item_id"], x["removed_on"]) for x in got["lines"]] == [
        (w.item.id, None), (w.item2.id, "2026-03-20")]
    hist = client.get(f"/contracts/{c['id']}/history", headers=h).json()
    assert [(e["event"], e["note"]) for e in hist[-2:]] == [
        ("line_added", f"service item {w.item2.id} from 2026-03-10; price per period "
                       "1200.00 -> 1300.00 BRL; prorated 70.97 BRL"),
        ("line_removed", f"service item {w.item2.id} no longer covered from 2026-03-20; "
                         "price per period 1300.00 -> 1200.00 BRL; prorated -38.71 BRL")]
    assert hist[-1]["username"] == "bia"
    # Removing twice changes nothing.
    again = client.delete(f"/contracts/{c['id']}/lines/{line_id}", headers=h)
    assert again.status_code == 409
    assert count(session, ContractAdjustment) == 2


def test_a_quarterly_period_is_prorated_over_its_own_length(client, auth, session):
    w = make_world(session)
    h = auth("billing")
    c = active_contract(client, h, w, start_date="2026-01-15", end_date="2027-01-14",
                        billing_period="quarterly", price_per_period="3000.00")
    res = client.post(f"/contracts/{c['id']}/lines", headers=h,
                      json=line(w.item2.id, price_per_period="450.00"))
    assert res.status_code == 201, res.text
    adj = res.json()["adjustment"]
    # Added today (2026-03-02) in the quarter 2026-01-15..2026-04-14 (90 days): 44 days left,
    # 450.00 * 44 / 90 = 220.00.
    assert (adj["amount"], adj["days"], adj["period_days"], adj["effective_on"]) == (
        "220.00", 44, 90, "2026-03-02")
    assert (adj["period_start"], adj["period_end"]) == ("2026-01-15", "2026-04-15")


def test_an_item_without_its_own_price_or_on_a_draft_leaves_no_adjustment(
        client, auth, session):
    w = make_world(session)
    h = auth("billing")
    c = active_contract(client, h, w)
    res = client.post(f"/contracts/{c['id']}/lines", headers=h, json=line(w.item2.id))
    assert res.status_code == 201, res.text
    assert res.json()["adjustment"] is None
    draft = create_contract(client, h, w, start_date="2027-01-01", end_date="2027-12-31",
                            lines=[])
    res = client.post(f"/contracts/{draft['id']}/lines", headers=h,
                      json=line(w.item.id, price_per_period="80"))
    assert res.status_code == 201, res.text
    assert res.json()["adjustment"] is None
    assert res.json()["line"]["added_on"] == "2027-01-01"
    assert res.json()["contract_price_per_period"] == "1280.00"
    assert count(session, ContractAdjustment) == 0


def test_bad_line_changes_are_refused_and_change_nothing(client, auth, session):
    w = make_world(session)
    h = auth("billing")
    c = active_contract(client, h, w)
    other = make_customer(session)
    foreign = make_service_item(session, customer=other)
    session.commit()
    covered_elsewhere = active_contract(client, h, w, lines=[line(w.item2.id)])
    path = f"/contracts/{c['id']}/lines"
    cases = [
        (line(w.item2.id), 409, "lines"),  # under the other contract
        (line(w.item.id), 409, "lines"),  # this contract's own item again
        (line(foreign.id), 422, "line.service_item_id"),
        (line(w.item2.id, price_per_period="-3"), 422, "price_per_period"),
        # Earlier periods are settled: March is the current one.
        (line(w.item2.id, added_on="2026-02-27"), 422, "added_on"),
        (line(w.item2.id, added_on="2027-01-01"), 422, "added_on"),
    ]
    for body, status, field in cases:
        res = client.post(path, json=body, headers=h)
        assert res.status_code == status, (body, res.text)
        assert res.json()["field"] == field, (body, res.json())
    assert res.json()["detail"].startswith("added_on 2027-01-01 must be within 2026-03-01")
    session.expire_all()
    assert session.get(Contract, c["id"]).version == c["version"]
    assert count(session, ContractLine) == 2
    assert count(session, ContractAdjustment) == 0
    assert covered_elsewhere["status"] == "active"
    line_id = c["lines"][0]["id"]
    res = client.delete(f"/contracts/{c['id']}/lines/{line_id}", headers=h,
                        params={"removed_on": "2026-02-01"})
    assert (res.status_code, res.json()["field"]) == (422, "removed_on")
    res = client.delete(f"/contracts/{c['id']}/lines/999999", headers=h)
    assert res.status_code == 404


def test_a_cancelled_contract_takes_no_more_items(client, auth, session):
    w = make_world(session)
    h = auth("billing")
    c = active_contract(client, h, w)
    move(client, h, c["id"], "cancelled")
    res = client.post(f"/contracts/{c['id']}/lines", headers=h, json=line(w.item2.id))
    assert res.status_code == 409
    assert res.json()["type"].endswith("/contract-not-editable")
    session.expire_all()
    assert session.get(Contract, c["id"]).price_per_period == Decimal("1200")

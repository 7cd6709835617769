"""Price indexes (API rows and CSV import) and the contract price adjusted by them at renewal
or on an anniversary, with the history showing old price, index values and new price.

The IGP-M numbers here are made up; the arithmetic is contracts/indexation.py's
``quantize(old * end / start)`` half-up to the centavo.
"""

from contracts.models import Contract, ContractHistory, ContractPriceChange, PriceIndex
from tests.contracts.contract_world import active_contract, count, line, make_world, move

IGPM = ("name,month,value\n"
        "IGP-M,2025-12,2178.512000\n"
        "IGP-M,2026-06,2201.004400\n"
        "IGP-M,2026-12,2263.891234\n")


def _import(client, h, text: str):
    return client.post("/price-indexes/import", content=text.encode(),
                       headers=h | {"Content-Type": "text/csv"})


def test_index_rows_are_entered_read_back_and_reentered_harmlessly(client, auth, session):
    h = auth("billing")
    rows = [{"name": "IPCA", "month": "2026-01", "value": "7012.5"},
            {"name": "IPCA", "month": "2026-02-01", "value": "7040.12"}]
    res = client.post("/price-indexes", json={"rows": rows}, headers=h)
    assert res.status_code == 201, res.text
    assert (res.json()["created"], res.json()["unchanged"]) == (2, 0)
    again = client.post("/price-indexes", json={"rows": rows}, headers=h).json()
    assert (again["created"], again["unchanged"]) == (0, 2)
    got = client.get("/price-indexes/IPCA", headers=h).json()
    assert got == [{"name": "IPCA", "month": "2026-01", "value": "7012.50"},
                   {"name": "IPCA", "month": "2026-02", "value": "7040.12"}]
    assert client.get("/price-indexes", headers=h).json() == [
        {"name": "IPCA", "months": 2, "first_month": "2026-01", "last_month": "2026-02"}]
    changed = client.post("/price-indexes", headers=h, json={"rows": [
        {"name": "IPCA", "month": "2026-03", "value": "7100"},
        {"name": "IPCA", "month": "2026-02", "value": "7040.13"}]})
    assert changed.status_code == 409
    assert changed.json()["month"] == "2026-02"
    assert count(session, PriceIndex) == 2
    for bad in ({"month": "2026-02-15"}, {"month": "2026-13"}, {"value": "0"},
                {"value": "1.0000001"}, {"name": ""}):
        res = client.post("/price-indexes", headers=h, json={"rows": [
            {"name": "IPCA", "month": "2026-05", "value": "1"} | bad]})
        assert res.status_code == 422, bad
    assert client.get("/price-indexes/NOPE", headers=h).status_code == 404


def test_a_csv_imports_whole_or_not_at_all_naming_the_bad_line(client, auth, session):
    h = auth("billing")
    res = _import(client, h, IGPM.replace("2026-06,2201.004400", "2026-06,2.201,0044"))
    assert res.status_code == 422
    assert (res.json()["line"], res.json()["field"]) == (3, "file")
    assert "line 3: expected 3 columns" in res.json()["detail"]
    res = _import(client, h, IGPM + "IGP-M,June 2026,2201.1\n")
    assert (res.status_code, res.json()["line"], res.json()["field"]) == (422, 5, "month")
    res = _import(client, h, IGPM + "\nIGP-M,2027-01,-4\n")
    assert (res.status_code, res.json()["line"], res.json()["field"]) == (422, 6, "value")
    res = _import(client, h, "index;month;value\n")
    assert (res.status_code, res.json()["line"]) == (422, 1)
    assert count(session, PriceIndex) == 0

    res = _import(client, h, IGPM)
    assert res.status_code == 201, res.text
    assert (res.json()["created"], res.json()["unchanged"]) == (3, 0)
    # Semicolons and decimal commas, as spreadsheets in Brazil write them.
    res = _import(client, h, "name;month;value\nIGP-M;2026-12;2263,891234\nIGP-M;2027-01;2270\n")
    assert res.status_code == 201, res.text
    assert (res.json()["created"], res.json()["unchanged"]) == (1, 1)
    res = _import(client, h, "name,month,value\nIGP-M,2026-12,2263.9\n")
    assert (res.status_code, res.json()["line"]) == (409, 2)
    assert count(session, PriceIndex) == 4


def test_renewal_adjusts_the_price_by_the_index_over_the_past_term(
        client, auth, session, clock):
    w = make_world(session)
    h = auth("billing", username="rita")
    assert _import(client, h, IGPM).status_code == 201
    c = active_contract(client, h, w, index_name="IGP-M", auto_renew=True,
                        lines=[line(w.item.id, price_per_period="300.00")])
    clock.advance(days=300)
    res = client.post(f"/contracts/{c['id']}/renew", headers=h, json={"note": "as agreed"})
    assert res.status_code == 200, res.text
    out = res.json()
    change = out["price_change"]
    # 2026-01-01 to 2027-01-01 with one month's lag: IGP-M 2025-12 -> 2026-12,
    # 1200.00 * 2263.891234 / 2178.512000 = 1247.0298... -> 1247.03.
    assert {k: change[k] for k in ("reason", "effective_on", "index_name", "start_month",
                                   "end_month", "start_value", "end_value", "old_price",
                                   "new_price", "currency")} == {
        "reason": "renewal", "effective_on": "2027-01-01", "index_name": "IGP-M",
        "start_month": "2025-12", "end_month": "2026-12", "start_value": "2178.512",
        "end_value": "2263.891234", "old_price": "1200.00", "new_price": "1247.03",
        "currency": "BRL"}
    contract = out["contract"]
    assert (contract["end_date"], contract["price_per_period"], contract["last_indexed_on"]) \
        == ("2027-12-31", "1247.03", "2027-01-01")
    # The line's share moves by the same factor: 300.00 -> 311.757... -> 311.76.
    assert contract["lines"][0]["price_per_period"] == "311.76"
    hist = client.get(f"/contracts/{c['id']}/history", headers=h).json()
    assert [(e["event"], e["note"], e["username"]) for e in hist[-2:]] == [
        ("price_indexed", "renewal from 2027-01-01: price 1200.00 -> 1247.03 BRL; IGP-M "
                          "2025-12 = 2178.512000 -> 2026-12 = 2263.891234", "rita"),
        ("renewed", "term extended: end 2026-12-31 -> 2027-12-31; as agreed", "rita")]
    assert client.get(f"/contracts/{c['id']}/price-changes", headers=h).json() == [change]


def test_renewal_with_an_unknown_index_month_is_a_422_naming_it_and_changes_nothing(
        client, auth, session):
    w = make_world(session)
    h = auth("billing")
    _import(client, h, IGPM.replace("IGP-M,2026-12,2263.891234\n", ""))
    c = active_contract(client, h, w, index_name="IGP-M")
    res = client.post(f"/contracts/{c['id']}/renew", headers=h)
    assert res.status_code == 422
    problem = res.json()
    assert problem["type"].endswith("/unknown-index-month")
    assert (problem["month"], problem["index"], problem["field"]) == (
        "2026-12", "IGP-M", "end_month")
    assert "'IGP-M' has no value for 2026-12" in problem["detail"]
    session.expire_all()
    row = session.get(Contract, c["id"])
    assert (str(row.end_date), row.price_per_period, row.version) == (
        "2026-12-31", 1200, c["version"])
    assert count(session, ContractPriceChange) == 0
    assert count(session, ContractHistory) == 3


def test_renewal_without_an_index_only_extends_and_revives_an_expired_contract(
        client, auth, session, clock):
    w = make_world(session)
    h = auth("billing")
    c = active_contract(client, h, w, renewal_term_months=6)
    clock.advance(days=310)
    move(client, h, c["id"], "expired")
    res = client.post(f"/contracts/{c['id']}/renew", headers=h)
    assert res.status_code == 200, res.text
    out = res.json()
    assert out["price_change"] is None
    assert (out["contract"]["status"], out["contract"]["end_date"],
            out["contract"]["price_per_period"]) == ("active", "2027-06-30", "1200.00")
    last = client.get(f"/contracts/{c['id']}/history", headers=h).json()[-1]
    assert (last["event"], last["from_status"], last["to_status"]) == (
        "renewed", "expired", "active")


def test_a_renewal_that_would_overlap_another_contract_is_a_409(client, auth, session):
    w = make_world(session)
    h = auth("billing")
    c = active_contract(client, h, w)
    active_contract(client, h, w, start_date="2027-03-01", end_date="2027-12-31")
    res = client.post(f"/contracts/{c['id']}/renew", headers=h)
    assert res.status_code == 409
    assert res.json()["other_contract_number"] == "CT-000002"
    session.expire_all()
    assert str(session.get(Contract, c["id"]).end_date) == "2026-12-31"


def test_an_anniversary_adjusts_the_price_without_renewing_once(client, auth, session, clock):
    w = make_world(session)
    h = auth("billing")
    _import(client, h, IGPM)
    c = active_contract(client, h, w, index_name="IGP-M", index_anniversary="2026-07-01")
    clock.advance(days=121)  # 2026-07-01
    res = client.post(f"/contracts/{c['id']}/indexation", headers=h)
    assert res.status_code == 200, res.text
    out = res.json()
    # IGP-M 2025-12 -> 2026-06: 1200.00 * 2201.0044 / 2178.512 = 1212.389... -> 1212.39.
    assert (out["price_change"]["start_month"], out["price_change"]["end_month"],
            out["price_change"]["new_price"]) == ("2025-12", "2026-06", "1212.39")
    assert out["adjustment"] is None  # 1 July starts a monthly period: nothing to prorate
    contract = out["contract"]
    assert (contract["price_per_period"], contract["end_date"], contract["index_anniversary"],
            contract["last_indexed_on"]) == ("1212.39", "2026-12-31", "2027-07-01",
                                             "2026-07-01")
    again = client.post(f"/contracts/{c['id']}/indexation", headers=h,
                        json={"on": "2026-07-01"})
    assert again.status_code == 409
    assert again.json()["type"].endswith("/contract-already-indexed")
    # The renewal then counts from the anniversary: 2026-06 -> 2026-12.
    res = client.post(f"/contracts/{c['id']}/renew", headers=h)
    change = res.json()["price_change"]
    assert (change["start_month"], change["old_price"], change["new_price"]) == (
        "2026-06", "1212.39", "1247.03")


def test_an_anniversary_inside_a_period_prorates_the_difference(client, auth, session):
    w = make_world(session)
    h = auth("billing")
    _import(client, h, IGPM)
    c = active_contract(client, h, w, index_name="IGP-M", billing_period="quarterly",
                        price_per_period="3000.00")
    res = client.post(f"/contracts/{c['id']}/indexation", headers=h,
                      json={"on": "2026-07-16", "note": "clause 7"})
    assert res.status_code == 200, res.text
    out = res.json()
    # 3000.00 * 2201.0044 / 2178.512 = 3030.97...; the quarter 2026-07-01..09-30 has 92 days,
    # 77 from the 16th: (3030.97 - 3000.00) * 77 / 92 = 25.920... -> 25.92.
    assert out["price_change"]["new_price"] == "3030.97"
    adj = out["adjustment"]
    assert (adj["amount"], adj["days"], adj["period_days"], adj["period_start"]) == (
        "25.92", 77, 92, "2026-07-01")
    note = client.get(f"/contracts/{c['id']}/history", headers=h).json()[-1]["note"]
    assert note.endswith("; clause 7")


def test_indexation_needs_an_index_and_a_date_in_the_term(client, auth, session):
    w = make_world(session)
    h = auth("billing")
    plain = active_contract(client, h, w)
    res = client.post(f"/contracts/{plain['id']}/indexation", headers=h,
                      json={"on": "2026-07-01"})
    assert (res.status_code, res.json()["field"]) == (422, "index_name")
    res = client.post(f"/contracts/{plain['id']}/renew", headers=h)
    assert res.status_code == 200
    indexed = active_contract(client, h, w, index_name="IGP-M",
                              lines=[line(w.item2.id)])
    for body, field in (({}, "on"), ({"on": "2027-02-01"}, "on"),
                        ({"on": "2026-07-01"}, "start_month")):
        res = client.post(f"/contracts/{indexed['id']}/indexation", headers=h, json=body)
        assert (res.status_code, res.json()["field"]) == (422, field), body
    assert count(session, ContractPriceChange) == 0


def test_the_renewal_run_renews_auto_renewing_contracts_expires_the_rest_and_reports_failures(
        client, auth, session, clock):
    from tests.factories import make_service_item

    w = make_world(session)
    h = auth("billing")
    _import(client, h, IGPM)
    item3 = make_service_item(session, customer=w.customer, site=w.site)
    session.commit()
    indexed = active_contract(client, h, w, index_name="IGP-M", auto_renew=True)
    no_values = active_contract(client, h, w, index_name="IPCA", auto_renew=True,
                                lines=[line(w.item2.id)])
    ending = active_contract(client, h, w, auto_renew=False, lines=[line(item3.id)])
    clock.advance(days=305)  # 2027-01-01
    res = client.post("/contracts/renewals", json={"until": "2027-01-01"}, headers=h)
    assert res.status_code == 200, res.text
    run = res.json()
    assert [(x["number"], x["end_date"], x["price_per_period"]) for x in run["renewed"]] == [
        (indexed["number"], "2027-12-31", "1247.03")]
    assert run["renewed"][0]["price_change"]["end_month"] == "2026-12"
    assert run["expired"] == [{"contract_id": ending["id"], "number": ending["number"]}]
    [failed] = run["failed"]
    assert failed["contract_id"] == no_values["id"]
    assert failed["problem"]["type"].endswith("/unknown-index-month")
    assert failed["problem"]["month"] == "2025-12"
    session.expire_all()
    row = session.get(Contract, no_values["id"])
    assert (str(row.end_date), row.status, row.version) == ("2026-12-31", "active",
                                                            no_values["version"])
    assert session.get(Contract, ending["id"]).status == "expired"
    # Run again: nothing left to do but the failure.
    again = client.post("/contracts/renewals", json={"until": "2027-01-01"}, headers=h).json()
    assert (again["renewed"], again["expired"], len(again["failed"])) == ([], [], 1)

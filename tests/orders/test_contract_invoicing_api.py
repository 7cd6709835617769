"""Periodic contract invoicing over HTTP: prepaid periods, once each, the orders' numbering,
adjustments, suspended contracts; and two runs racing on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.models import Contract, ContractAdjustment, ContractPriceChange
from dispatch.core.numbering import NumberSeries
from orders.billing.contract_invoicing import invoice_contracts
from orders.billing.models import Invoice
from tests.factories import T0, make_contract, make_contract_line, make_invoice
from tests.orders.billing_world import invoices, pdf_text
from tests.pg_race import blocked_behind


def _invoice(client, h, until, status=200, **extra):
    res = client.post("/contracts/invoice", headers=h, json={"until": until} | extra)
    assert res.status_code == status, res.text
    return res.json()


def _periods(run) -> list[tuple[str, str, str]]:
    return [(x["full_number"], x["lines"][0]["description"].split(": ", 1)[1], x["total"])
            for x in run["invoices"]]


def test_the_periods_started_up_to_the_date_are_invoiced_in_advance_once(
        client, auth, session):
    contract = make_contract(session, title="Freezers")
    session.commit()
    h = auth("billing")
    run = _invoice(client, h, "2026-03-01")
    assert _periods(run) == [
        ("INV-000001", "service 2026-01-01 to 2026-01-31", "1200.00"),
        ("INV-000002", "service 2026-02-01 to 2026-02-28", "1200.00"),
        ("INV-000003", "service 2026-03-01 to 2026-03-31", "1200.00")]
    first = run["invoices"][0]
    assert (first["customer_id"], first["order_id"], first["kind"], first["vat"]) == (
        contract.customer_id, None, "invoice", "0.00")
    assert first["lines"][0]["description"].startswith(f"{contract.number} Freezers: ")
    assert (run["already_invoiced"], run["adjustments"], run["skipped"]) == (0, [], [])

    again = _invoice(client, h, "2026-03-31")
    assert (again["invoices"], again["already_invoiced"]) == ([], 3)
    april = _invoice(client, h, "2026-04-01")
    assert _periods(april) == [("INV-000004", "service 2026-04-01 to 2026-04-30", "1200.00")]
    listed = client.get(f"/contracts/{contract.id}/invoices", headers=h).json()
    assert [x["full_number"] for x in listed] == [f"INV-00000{i}" for i in range(1, 5)]
    row = session.scalar(select(Invoice).where(Invoice.full_number == "INV-000002"))
    assert (row.contract_id, row.period_start, row.period_end) == (
        contract.id, date(2026, 2, 1), date(2026, 2, 28))


def test_contract_invoices_share_the_numbering_of_orders_invoices_and_print(
        client, auth, session):
    make_invoice(session)  # closing an order takes INV-000001
    make_contract(session)
    session.commit()
    h = auth("billing")
    run = _invoice(client, h, "2026-01-15")
    assert [x["full_number"] for x in run["invoices"]] == ["INV-000002"]
    pdf = client.get(f"/invoices/{run['invoices'][0]['id']}/pdf", headers=h, params={"lang": "en"})
    assert pdf.status_code == 200
    assert "service 2026-01-01 to 2026-01-31" in pdf_text(pdf.content)


def test_a_period_is_billed_at_the_price_in_force_on_its_first_day(client, auth, session):
    contract = make_contract(session, price_per_period=D("1300.00"))
    session.add(ContractPriceChange(
        contract_id=contract.id, reason="anniversary", effective_on=date(2026, 3, 1),
        index_name="IGP-M", start_month=date(2025, 2, 1), end_month=date(2026, 2, 1),
        start_value=D("1000"), end_value=D("1083.333333"), old_price=D("1200.00"),
        new_price=D("1300.00"), currency="BRL", at=T0))
    session.commit()
    run = _invoice(client, auth("billing"), "2026-03-01")
    assert [x["total"] for x in run["invoices"]] == ["1200.00", "1200.00", "1300.00"]


def test_the_last_period_is_prorated_when_the_contract_ends_inside_it(client, auth, session):
    make_contract(session, start_date=date(2026, 1, 1), end_date=date(2026, 3, 15),
                  billing_period="quarterly", price_per_period=D("3000.00"))
    session.commit()
    run = _invoice(client, auth("billing"), "2026-06-30")
    # 1 January to 15 March: 74 of the quarter's 90 days
    assert _periods(run) == [
        ("INV-000001", "service 2026-01-01 to 2026-03-15 (74 of 90 days)", "2466.67")]


def test_a_suspended_contract_named_explicitly_is_a_409_and_nothing_is_issued(
        client, auth, session):
    contract = make_contract(session, status="suspended")
    session.commit()
    h = auth("billing")
    res = client.post("/contracts/invoice", headers=h,
                      json={"until": "2026-03-01", "contract_id": contract.id})
    assert res.status_code == 409
    problem = res.json()
    assert problem["type"].endswith("/contract-not-invoiceable")
    assert (problem["current"], problem["field"]) == ("suspended", "contract_id")
    assert invoices(session) == 0
    assert session.scalar(select(NumberSeries.last).where(NumberSeries.name == "INV")) is None
    draft = make_contract(session, status="draft")
    session.commit()
    res = client.post("/contracts/invoice", headers=h,
                      json={"until": "2026-03-01", "contract_id": draft.id})
    assert res.status_code == 409 and res.json()["current"] == "draft"
    res = client.post("/contracts/invoice", headers=h,
                      json={"until": "2026-03-01", "contract_id": 999_999})
    assert res.status_code == 404
    assert invoices(session) == 0


def test_the_batch_run_skips_suspended_contracts_and_invoices_the_others(
        client, auth, session):
    suspended = make_contract(session, status="suspended")
    running = make_contract(session)
    make_contract(session, status="draft")
    session.commit()
    run = _invoice(client, auth("billing"), "2026-01-31")
    assert [x["contract_id"] for x in run["skipped"]] == [suspended.id]
    assert run["skipped"][0]["reason"] == "contract suspended"
    assert {x["customer_id"] for x in run["invoices"]} == {running.customer_id}


def test_pending_adjustments_are_invoiced_or_credited_once(client, auth, session):
    contract = make_contract(session)
    session.commit()
    h = auth("billing")
    _invoice(client, h, "2026-03-01")  # INV-000001..3
    common = {"contract_id": contract.id, "period_start": date(2026, 3, 1),
              "period_end": date(2026, 4, 1), "days": 12, "period_days": 31,
              "currency": "BRL", "created_at": T0}
    added = ContractAdjustment(**common, effective_on=date(2026, 3, 20), amount=D("154.84"),
                               reason="item SN1 added from 2026-03-20")
    removed = ContractAdjustment(**common, effective_on=date(2026, 3, 20), amount=D("-77.42"),
                                 reason="item SN2 removed from 2026-03-20")
    later = ContractAdjustment(**common, effective_on=date(2026, 3, 25), amount=D("10.00"),
                               reason="after the run's date")
    session.add_all([added, removed, later])
    session.commit()
    run = _invoice(client, h, "2026-03-21")
    docs = [(x["full_number"], x["kind"], x["total"], x["credited_invoice_id"])
            for x in run["adjustments"]]
    march = session.scalar(select(Invoice.id).where(Invoice.full_number == "INV-000003"))
    assert docs == [("INV-000004", "invoice", "154.84", None),
                    ("CN-000001", "credit_note", "77.42", march)]
    assert run["adjustments"][0]["lines"][0]["description"] == (
        f"{contract.number}: item SN1 added from 2026-03-20 — 12 of 31 days of 2026-03-01 "
        "to 2026-03-31")
    session.expire_all()
    assert session.get(ContractAdjustment, added.id).invoiced_invoice_id == \
        run["adjustments"][0]["id"]
    assert session.get(ContractAdjustment, later.id).invoiced_invoice_id is None
    assert _invoice(client, h, "2026-03-21")["adjustments"] == []


def _add_item(client, h, contract, added_on, price="310.00"):
    item = make_service_item_for(contract)
    res = client.post(f"/contracts/{contract.id}/lines", headers=h, json={
        "service_item_id": item, "price_per_period": price, "added_on": added_on})
    assert res.status_code == 201, res.text
    return res.json()


def make_service_item_for(contract) -> int:
    from sqlalchemy.orm import object_session

    from tests.factories import make_service_item

    session = object_session(contract)
    item = make_service_item(session, customer=contract.customer)
    session.commit()
    return item.id


def _totals(client, h, contract_id) -> list[tuple[str, str]]:
    docs = client.get(f"/contracts/{contract_id}/invoices", headers=h).json()
    return [(x["kind"], x["total"]) for x in docs]


def test_an_item_added_mid_period_is_prorated_whether_the_period_was_invoiced_before_or_not(
        client, auth, session):
    h = auth("billing")
    early = make_contract(session)
    late = make_contract(session)
    session.commit()
    # Invoiced before the change: March at 1200.00, then the change's 15 of 31 days.
    _invoice(client, h, "2026-03-01", contract_id=early.id)
    change = _add_item(client, h, early, "2026-03-17")
    assert change["adjustment"]["amount"] == "150.00"
    assert change["contract_price_per_period"] == "1510.00"
    _invoice(client, h, "2026-04-01", contract_id=early.id)
    # Invoiced only after the change: March is billed at its price on 1 March all the same.
    _add_item(client, h, late, "2026-03-17")
    _invoice(client, h, "2026-04-01", contract_id=late.id)
    expected = [("invoice", "1200.00")] * 3 + [("invoice", "150.00"), ("invoice", "1510.00")]
    assert sorted(_totals(client, h, early.id)) == sorted(expected)
    assert sorted(_totals(client, h, late.id)) == sorted(expected)


def test_an_item_added_on_the_periods_first_day_is_billed_once(client, auth, session):
    h = auth("billing")
    contract = make_contract(session)
    session.commit()
    change = _add_item(client, h, contract, "2026-03-01")
    assert change["adjustment"]["amount"] == "310.00"  # the whole of March
    _invoice(client, h, "2026-03-01", contract_id=contract.id)
    march = [t for k, t in _totals(client, h, contract.id)]
    assert sorted(march) == sorted(["1200.00", "1200.00", "1200.00", "310.00"])


def test_an_item_removed_mid_period_is_credited_and_leaves_the_next_periods(
        client, auth, session):
    h = auth("billing")
    contract = make_contract(session, with_line=False)
    line = make_contract_line(session, contract=contract, price_per_period=D("400.00"))
    session.commit()
    res = client.delete(f"/contracts/{contract.id}/lines/{line.id}", headers=h,
                        params={"removed_on": "2026-03-17"})
    assert res.status_code == 200, res.text
    assert res.json()["adjustment"]["amount"] == "-193.55"
    run = _invoice(client, h, "2026-04-01", contract_id=contract.id)
    assert [x["total"] for x in run["invoices"]] == ["1200.00", "1200.00", "1200.00", "800.00"]
    assert [(x["kind"], x["total"]) for x in run["adjustments"]] == [("credit_note", "193.55")]
    march = next(x for x in run["invoices"] if "2026-03-01" in x["lines"][0]["description"])
    assert run["adjustments"][0]["credited_invoice_id"] == march["id"]


def test_bad_invoicing_requests_are_422s(client, auth, session):
    make_contract(session)
    session.commit()
    h = auth("billing")
    assert _invoice(client, h, "2027-06-01", status=422)["field"] == "until"
    assert _invoice(client, h, "not a date", status=422)["field"] == "until"
    assert invoices(session) == 0
    assert client.post("/contracts/invoice", headers=auth("dispatcher"),
                       json={"until": "2026-03-01"}).status_code == 403


# --- two runs at once ---------------------------------------------------------------------------


def _seed(engine) -> int:
    from tests.factories import make_contract as contract_of

    with Session(engine) as s:
        contract = contract_of(s, billing_period="monthly")
        s.commit()
        return contract.id


NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.postgres_only
def test_two_runs_at_once_issue_each_period_once_with_gap_free_numbers(committing_engine):
    if committing_engine.dialect.name != "postgresql":
        pytest.skip("row locks only race on PostgreSQL; SQLite serialises transactions")
    _seed(committing_engine)
    _seed(committing_engine)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run() -> None:
        try:
            with Session(committing_engine) as s:
                barrier.wait()
                done = invoice_contracts(s, until=date(2026, 3, 1), user_id=None, now=NOW)
                s.commit()
                results.append((len(done.invoices), done.already_invoiced))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with Session(committing_engine) as s:
        rows = s.execute(select(Invoice.contract_id, Invoice.period_start, Invoice.number)
                         .order_by(Invoice.number)).all()
    assert len(rows) == 6
    assert len({(c, p) for c, p, _ in rows}) == 6
    assert [n for _, _, n in rows] == [1, 2, 3, 4, 5, 6]
    assert sorted(issued + already for issued, already in results) == [6, 6]
    assert sum(issued for issued, _ in results) == 6


@pytest.mark.postgres_only
def test_a_run_that_loses_the_race_for_a_period_takes_it_as_already_invoiced(
        committing_engine):
    """Run A has issued the period but not committed; run B has checked and found nothing,
    so B's insert hits the unique key once A commits: B rolls back to its savepoint (its
    number included) and counts the period as already invoiced."""
    if committing_engine.dialect.name != "postgresql":
        pytest.skip("row locks only race on PostgreSQL; SQLite serialises transactions")
    contract_id = _seed(committing_engine)
    until = date(2026, 1, 31)
    first = Session(committing_engine)
    issued = invoice_contracts(first, until=until, user_id=None, now=NOW)
    assert len(issued.invoices) == 1
    outcome = {}

    def second_run() -> None:
        with Session(committing_engine) as s:
            done = invoice_contracts(s, until=until, user_id=None, now=NOW)
            s.commit()
            outcome["run"] = (len(done.invoices), done.already_invoiced)

    thread = threading.Thread(target=second_run)
    thread.start()
    assert blocked_behind(committing_engine, first), "the second run never waited for the first"
    first.commit()
    first.close()
    thread.join(30)
    assert outcome["run"] == (0, 1)
    with Session(committing_engine) as s:
        assert s.scalar(select(func.count()).select_from(Invoice)) == 1
        assert s.scalar(select(NumberSeries.last).where(NumberSeries.name == "INV")) == 1
        assert s.get(Contract, contract_id) is not None

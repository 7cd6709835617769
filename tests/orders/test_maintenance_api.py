"""Preventive-maintenance visits generated from contract lines, over HTTP."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orders.maintenance import generate_visits
from orders.models import ServiceOrder
from tests.factories import make_contract, make_contract_line, make_order, make_service_item
from tests.orders.contract_world import make_contract_world
from tests.orders.world import count

MONTHLY = {"frequency_every": 1, "frequency_unit": "months", "first_due_date": date(2026, 4, 15),
           "flexibility_days": 3, "standard_duration_minutes": 45}


def _generate(client, h, until, status=200):
    res = client.post("/contracts/generate-visits", headers=h, json={"until": until})
    assert res.status_code == status, res.text
    return res.json()


def test_visits_due_up_to_a_date_become_orders_with_their_allowed_days(client, auth, session):
    w = make_contract_world(session, **MONTHLY)
    h = auth("dispatcher")
    run = _generate(client, h, "2026-06-30")
    assert [(x["due_date"], x["earliest"], x["latest"]) for x in run["created"]] == [
        ("2026-04-15", "2026-04-12", "2026-04-18"), ("2026-05-15", "2026-05-12", "2026-05-18"),
        ("2026-06-15", "2026-06-12", "2026-06-18")]
    assert (run["already_generated"], run["skipped"]) == (0, [])
    first = run["created"][0]
    assert (first["contract_id"], first["contract_number"], first["contract_line_id"]) == (
        w.contract.id, w.contract.number, w.line.id)
    order = client.get(f"/orders/{first['order_id']}", headers=h).json()
    assert (order["category"], order["status"], order["estimated_duration_minutes"]) == (
        "maintenance", "open", 45)
    assert (order["contract_id"], order["contract_line_id"], order["maintenance_due_date"]) == (
        w.contract.id, w.line.id, "2026-04-15")
    assert order["service_item_ids"] == [w.item.id] and order["site_id"] == w.site.id
    # The allowed days midnight to midnight in São Paulo (UTC-3), and no response clock.
    assert order["time_windows"] == [{"starts_at": "2026-04-12T03:00:00Z",
                                      "ends_at": "2026-04-19T03:00:00Z"}]
    assert order["response_due_at"] is None
    assert "visit due 2026-04-15" in order["reported_defect"]
    history = client.get(f"/orders/{first['order_id']}/history", headers=h).json()
    assert history[0]["note"] == (f"preventive maintenance of contract line {w.line.id}, "
                                  "due 2026-04-15")


def test_running_again_never_makes_a_visit_twice_and_a_later_date_adds_only_the_new_ones(
        client, auth, session):
    make_contract_world(session, **MONTHLY)
    h = auth("dispatcher")
    assert len(_generate(client, h, "2026-05-31")["created"]) == 2
    again = _generate(client, h, "2026-05-31")
    assert (again["created"], again["already_generated"]) == ([], 2)
    later = _generate(client, h, "2026-07-20")
    assert [x["due_date"] for x in later["created"]] == ["2026-06-15", "2026-07-15"]
    assert later["already_generated"] == 2
    assert count(session, ServiceOrder) == 4


def test_the_database_refuses_a_second_order_for_the_same_line_and_due_date(session):
    w = make_contract_world(session, **MONTHLY)
    fields = {"contract_id": w.contract.id, "contract_line_id": w.line.id,
              "maintenance_due_date": date(2026, 4, 15)}
    make_order(session, customer=w.customer, service_item=w.item, **fields)
    with pytest.raises(IntegrityError), session.begin_nested():
        make_order(session, customer=w.customer, service_item=w.item, **fields)


def test_a_suspended_contract_makes_no_visits_until_it_runs_again(client, auth, session):
    w = make_contract_world(session, **MONTHLY)
    w.contract.status = "suspended"
    session.commit()
    h = auth("dispatcher")
    run = _generate(client, h, "2026-05-31")
    assert run["created"] == []
    assert run["skipped"] == [{"contract_id": w.contract.id, "contract_number": w.contract.number,
                               "contract_line_id": w.line.id, "reason": "contract suspended"}]
    assert count(session, ServiceOrder) == 0
    w.contract.status = "active"
    session.commit()
    assert len(_generate(client, h, "2026-05-31")["created"]) == 2


def test_a_group_line_visits_every_item_of_the_group_at_the_site_in_one_order(
        client, auth, session):
    w = make_contract_world(session)
    contract = make_contract(session, customer=w.customer, with_line=False)
    make_contract_line(session, contract=contract, site=w.site, item_group=w.group,
                       frequency_every=2, frequency_unit="weeks", flexibility_days=2,
                       first_due_date=date(2026, 3, 9))
    session.commit()
    run = _generate(client, auth("dispatcher"), "2026-03-31")
    assert [x["due_date"] for x in run["created"]] == ["2026-03-09", "2026-03-23"]
    order = client.get(f"/orders/{run['created'][0]['order_id']}",
                       headers=auth("dispatcher")).json()
    assert order["service_item_ids"] == [w.item.id, w.other_item.id]
    # Without a standard duration: the items' groups' durations (90 min each).
    assert order["estimated_duration_minutes"] == 180


def test_visits_stop_when_the_item_leaves_the_contract_and_start_when_it_joins(
        client, auth, session):
    w = make_contract_world(session, **MONTHLY, removed_on=date(2026, 6, 15))
    joined = make_service_item(session, customer=w.customer, site=w.site, item_group=w.group)
    second = make_contract_line(session, contract=w.contract, service_item=joined,
                                added_on=date(2026, 5, 20), **MONTHLY)
    session.commit()
    run = _generate(client, auth("dispatcher"), "2026-07-31")
    assert sorted((x["contract_line_id"], x["due_date"]) for x in run["created"]) == sorted([
        (w.line.id, "2026-04-15"), (w.line.id, "2026-05-15"),
        (second.id, "2026-06-15"), (second.id, "2026-07-15")])


def test_a_date_too_far_ahead_or_not_a_date_is_a_422_and_changes_nothing(
        client, auth, session):
    make_contract_world(session, **MONTHLY)
    h = auth("dispatcher")
    far = _generate(client, h, "2027-06-01", status=422)
    assert far["field"] == "until"
    bad = _generate(client, h, "someday", status=422)
    assert bad["field"] == "until"
    assert count(session, ServiceOrder) == 0
    assert client.post("/contracts/generate-visits", headers=auth("technician"),
                       json={"until": "2026-04-30"}).status_code == 403


def test_a_line_whose_flexibility_reaches_the_next_visit_is_reported_not_generated(
        client, auth, session):
    w = make_contract_world(session, **MONTHLY | {"frequency_unit": "weeks",
                                                  "flexibility_days": 7})
    run = _generate(client, auth("dispatcher"), "2026-04-30")
    assert run["created"] == []
    assert [(x["contract_line_id"], "reaches the next due date" in x["reason"])
            for x in run["skipped"]] == [(w.line.id, True)]
    assert session.scalars(select(ServiceOrder)).all() == []


@pytest.mark.postgres_only
def test_two_generation_runs_at_once_make_each_visit_once(committing_engine):
    if committing_engine.dialect.name != "postgresql":
        pytest.skip("row locks only race on PostgreSQL; SQLite serialises transactions")
    with Session(committing_engine) as s:
        make_contract_world(s, **MONTHLY)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run() -> None:
        try:
            with Session(committing_engine) as s:
                barrier.wait()
                done = generate_visits(s, until=date(2026, 6, 30), user_id=None,
                                       now=datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
                s.commit()
                results.append((len(done.created), done.already_generated))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with Session(committing_engine) as s:
        rows = s.execute(select(ServiceOrder.maintenance_due_date, ServiceOrder.sequence)
                         .order_by(ServiceOrder.sequence)).all()
    assert [d for d, _ in sorted(rows)] == [date(2026, 4, 15), date(2026, 5, 15),
                                            date(2026, 6, 15)]
    assert [n for _, n in rows] == [1, 2, 3]
    assert sorted(created + already for created, already in results) == [3, 3]

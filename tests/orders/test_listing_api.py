"""GET /orders: filters, keyset pagination and a constant number of SQL statements."""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from tests.factories import (
    make_customer,
    make_line,
    make_order,
    make_technician,
    make_time_entry,
)

T = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _ids(res):
    assert res.status_code == 200, res.text
    return [o["id"] for o in res.json()["items"]]


def test_filters_narrow_the_list_and_combine(client, auth, session):
    acme = make_customer(session, legal_name="Acme Refrigeração")
    tech = make_technician(session)
    a = make_order(session, customer=acme, status="open", priority="high",
                   created_at=T - timedelta(days=3))
    b = make_order(session, customer=acme, status="in_progress", technician_id=tech.id,
                   created_at=T - timedelta(days=1), reported_defect="Compressor noise")
    c = make_order(session, status="ready", priority="urgent", created_at=T)
    d = make_order(session, status="cancelled", created_at=T)
    session.commit()
    h = auth("dispatcher")
    assert _ids(client.get("/orders", headers=h)) == [d.id, c.id, b.id, a.id]
    assert _ids(client.get("/orders?status=open&status=ready", headers=h)) == [c.id, a.id]
    assert _ids(client.get(f"/orders?customer_id={acme.id}", headers=h)) == [b.id, a.id]
    assert _ids(client.get(f"/orders?technician_id={tech.id}", headers=h)) == [b.id]
    assert _ids(client.get("/orders?priority=high&priority=urgent", headers=h)) == [c.id, a.id]
    window = {"created_from": "2026-02-27T12:00:00Z", "created_to": "2026-03-02T12:00:00Z"}
    assert _ids(client.get("/orders", params=window, headers=h)) == [b.id, a.id]
    assert _ids(client.get("/orders?q=acme", headers=h)) == [b.id, a.id]
    assert _ids(client.get("/orders?q=COMPRESSOR", headers=h)) == [b.id]
    assert _ids(client.get("/orders", params={"q": c.number}, headers=h)) == [c.id]
    assert _ids(client.get("/orders?q=100%25", headers=h)) == []
    assert _ids(client.get(f"/orders?q=acme&status=open&customer_id={acme.id}",
                           headers=h)) == [a.id]


def test_bad_filters_are_422s(client, auth):
    h = auth("dispatcher")
    for query in ("status=lost", "priority=asap", "limit=0", "limit=101", "cursor=%%%",
                  "created_from=yesterday"):
        res = client.get(f"/orders?{query}", headers=h)
        assert res.status_code == 422, query


def test_pages_follow_the_cursor_without_gaps_or_repeats(client, auth, session):
    orders = [make_order(session, with_item=False) for _ in range(7)]
    session.commit()
    h = auth("billing")
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = client.get("/orders", params=params, headers=h).json()
        seen += [o["id"] for o in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted((o.id for o in orders), reverse=True)


@contextmanager
def _statements(connection):
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)


def test_a_page_of_orders_with_lines_costs_a_constant_number_of_statements(
        client, auth, session, connection):
    h = auth("dispatcher")
    tech = make_technician(session)

    def add_orders(n):
        for _ in range(n):
            order = make_order(session)
            make_line(session, order=order)
            make_line(session, order=order)
            make_time_entry(session, order=order, technician=tech,
                            started_at=T + timedelta(hours=len(order.lines) + order.id))
        session.commit()

    add_orders(2)
    with _statements(connection) as small:
        res = client.get("/orders?limit=20", headers=h)
    assert len(res.json()["items"]) == 2
    add_orders(23)
    with _statements(connection) as full:
        res = client.get("/orders?limit=20", headers=h)
    page = res.json()["items"]
    assert len(page) == 20 and all(len(o["lines"]) == 2 for o in page)
    assert all(o["totals"]["total"] != "0.00" for o in page)
    # token + user, the orders, one per eager-loaded relation, savepoint bookkeeping
    assert len(full) == len(small)
    assert len(full) <= 14, full

"""A small customer for the contract API tests (plain functions, no fixtures)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import make_customer, make_item_group, make_service_item, make_site


@dataclass
class World:
    customer: Any
    site: Any
    group: Any
    item: Any
    item2: Any


def make_world(session: Session) -> World:
    """A bakery in São Paulo with two ovens of one item group at one site."""
    customer = make_customer(session, legal_name="Padaria Estrela Ltda")
    site = make_site(session, customer=customer)
    group = make_item_group(session, code="ovens")
    item = make_service_item(session, customer=customer, site=site, item_group=group)
    item2 = make_service_item(session, customer=customer, site=site, item_group=group)
    session.commit()
    return World(customer, site, group, item, item2)


def count(session: Session, model: Any) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def line(item_id: int, **terms) -> dict:
    return {"service_item_id": item_id, "labour_included": True,
            "parts_discount_percent": "10", "response_hours": {"urgent": "4", "normal": "8"},
            **terms}


def contract_body(w: World, **fields) -> dict:
    """A 2026 contract at R$ 1,200.00 a month covering the first oven."""
    return {"customer_id": w.customer.id, "title": "Ovens 2026", "start_date": "2026-01-01",
            "end_date": "2026-12-31", "billing_period": "monthly",
            "price_per_period": "1200.00", "lines": [line(w.item.id)]} | fields


def create_contract(client, headers, w: World, **fields) -> dict:
    res = client.post("/contracts", json=contract_body(w, **fields), headers=headers)
    assert res.status_code == 201, res.text
    return res.json()


def move(client, headers, contract_id: int, *statuses: str) -> dict:
    body: dict = {}
    for status in statuses:
        res = client.post(f"/contracts/{contract_id}/transitions", json={"to": status},
                          headers=headers)
        assert res.status_code == 200, res.text
        body = res.json()
    return body


def active_contract(client, headers, w: World, **fields) -> dict:
    c = create_contract(client, headers, w, **fields)
    return move(client, headers, c["id"], "signed", "active")

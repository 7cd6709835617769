"""A small company for the order API tests (plain functions, no fixtures, no autouse)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import (
    make_customer,
    make_item_group,
    make_labour_type,
    make_product,
    make_service_item,
    make_site,
    make_skill,
    make_technician,
)


@dataclass
class World:
    customer: Any
    site: Any
    item: Any
    group: Any
    skills: list[Any]
    labour: Any
    product: Any
    technician: Any


def make_world(session: Session) -> World:
    """A customer with a site and an item whose group needs two skills, takes 90 minutes and
    bills the seed's R$354/h labour; a part at R$50.00 (VAT 18 %); a technician."""
    skills = [make_skill(session, code="electrical"), make_skill(session, code="hvac")]
    labour = make_labour_type(session, hourly_rate=Decimal("354"), vat_rate=Decimal("5"))
    group = make_item_group(session, skills=skills, default_duration_minutes=90,
                            default_labour_type_id=labour.id)
    customer = make_customer(session, legal_name="Padaria Estrela Ltda")
    site = make_site(session, customer=customer)
    item = make_service_item(session, customer=customer, site=site, item_group=group)
    product = make_product(session, unit_price=Decimal("50.00"), vat_rate=Decimal("18"))
    technician = make_technician(session, skills=skills)
    session.commit()
    return World(customer, site, item, group, skills, labour, product, technician)


def count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model))


def create_order(client, headers, world: World, **fields) -> dict:
    body = {"customer_id": world.customer.id, "service_item_ids": [world.item.id],
            "reported_defect": "Oven does not heat"} | fields
    res = client.post("/orders", json=body, headers=headers)
    assert res.status_code == 201, res.text
    return res.json()


def move(client, headers, order_id: int, *statuses: str, **extra) -> dict:
    """Walk the order through ``statuses``; returns the last answer's body."""
    body: dict = {}
    for status in statuses:
        res = client.post(f"/orders/{order_id}/transitions", json={"to": status, **extra},
                          headers=headers)
        assert res.status_code == 200, res.text
        body = res.json()
    return body

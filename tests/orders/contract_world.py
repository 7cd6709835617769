"""A customer under a service contract, for the tests of orders under contracts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tests.factories import (
    make_calendar,
    make_contract,
    make_contract_line,
    make_customer,
    make_item_group,
    make_labour_type,
    make_product,
    make_service_item,
    make_site,
    make_technician,
)

SP = ZoneInfo("America/Sao_Paulo")


def sp(*args: int) -> datetime:
    """A São Paulo wall-clock time as a UTC instant."""
    return datetime(*args, tzinfo=SP).astimezone(UTC)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class ContractWorld:
    customer: Any
    site: Any
    item: Any
    other_item: Any
    group: Any
    labour: Any
    product: Any
    technician: Any
    calendar: Any
    contract: Any
    line: Any


def make_contract_world(session: Session, **line_fields: Any) -> ContractWorld:
    """Padaria Estrela's freezer under contract CT for 2026 at R$ 1,200.00 a month:

    - business hours 08:00-12:00 and 13:30-17:30 Monday to Friday in São Paulo with
      Brazil's public holidays; normal priority answered in 8 hours, urgent in 4;
    - labour and travel included, parts 10 % off (``line_fields`` change the line);
    - labour R$ 354/h (VAT 5 %), a part at R$ 50.00 costing R$ 30.00 (VAT 18 %),
      a technician costing R$ 45.00 an hour;
    - a second item of the customer that no contract covers.
    """
    labour = make_labour_type(session, hourly_rate=D("354"), cost_rate=D("60"), vat_rate=D("5"))
    group = make_item_group(session, default_labour_type_id=labour.id,
                            default_duration_minutes=90)
    customer = make_customer(session, legal_name="Padaria Estrela Ltda")
    site = make_site(session, customer=customer)
    item = make_service_item(session, customer=customer, site=site, item_group=group)
    other = make_service_item(session, customer=customer, site=site, item_group=group)
    product = make_product(session, unit_price=D("50.00"), cost=D("30.00"), vat_rate=D("18"))
    technician = make_technician(session, cost_rate=D("45.00"))
    calendar = make_calendar(session)
    contract = make_contract(session, customer=customer, with_line=False, calendar=calendar)
    line = make_contract_line(session, contract=contract, service_item=item, **line_fields)
    session.commit()
    return ContractWorld(customer, site, item, other, group, labour, product, technician,
                         calendar, contract, line)


def open_order(client, headers, world: ContractWorld, item=None, **fields) -> dict:
    body = {"customer_id": world.customer.id,
            "service_item_ids": [(item or world.item).id],
            "reported_defect": "Freezer does not cool"} | fields
    res = client.post("/orders", json=body, headers=headers)
    assert res.status_code == 201, res.text
    return res.json()

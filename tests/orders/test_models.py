from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from tests.factories import make_line, make_order, make_time_entry


def test_factories_build_an_order_with_lines_and_time(session):
    order = make_order(session)
    make_line(session, order=order, quantity=Decimal("2"))
    make_time_entry(session, order=order, minutes=30)
    session.refresh(order)
    assert order.number.startswith("2026-")
    assert len(order.lines) == 1 and len(order.time_entries) == 1
    assert order.time_entries[0].amount == Decimal("177.00")
    assert order.required_skills == order.service_items[0].item_group.skills


def test_the_database_refuses_a_zero_quantity_line(session):
    order = make_order(session)
    with pytest.raises(IntegrityError):
        make_line(session, order=order, quantity=Decimal("0"))

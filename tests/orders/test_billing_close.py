"""Closing an order: discount, payments, the invoice, and what a refusal leaves untouched."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from dispatch.core.db import make_sessionmaker
from dispatch.core.errors import StaleVersion
from dispatch.core.numbering import NumberSeries
from orders.billing.errors import (
    InvalidPayment,
    InvoiceImmutable,
    OrderNotClosable,
    PaymentsDoNotAddUp,
)
from orders.billing.models import Invoice, Payment
from orders.billing.service import close_order
from orders.models import OrderHistory, ServiceOrder
from tests.factories import T0, make_invoice, make_line, make_order
from tests.orders.billing_world import completed_order, invoices, pay


def test_closing_with_two_payments_issues_a_numbered_invoice_and_closes_the_order(session):
    order = completed_order(session)
    version = order.version
    invoice = close_order(
        session, order_id=order.id, expected_version=version, discount_percent=D("10"),
        payments=pay(("pix", "1000.00"), ("on_account", "496.62", date(2026, 4, 1))),
        user_id=None, now=T0,
    )
    # Hand-computed: subtotal 900.00 + 572.30 = 1472.30; 10 % off = 147.23, split
    # 90.00 (line) / 57.23 (time); VAT 18 % of 810.00 = 145.80 and 5 % of 515.07 = 25.75.
    assert invoice.full_number == "INV-000001" and invoice.number == 1
    assert (invoice.subtotal, invoice.discount, invoice.net, invoice.vat, invoice.total) == (
        D("1472.30"), D("147.23"), D("1325.07"), D("171.55"), D("1496.62"))
    assert invoice.discount_percent == D("10")
    assert invoice.bill_to_name == "Padaria Estrela Ltda"
    assert invoice.bill_to_tax_id == "11.222.333/0001-81"
    assert invoice.locale == "pt_BR" and invoice.timezone == "America/Sao_Paulo"
    lines = [(x.description, x.value, x.order_discount, x.net, x.vat, x.total, x.warranty)
             for x in invoice.lines]
    assert lines[0] == ("Compressor", D("900.00"), D("90.00"), D("810.00"), D("145.80"),
                        D("955.80"), False)
    assert lines[1] == ("Thermostat", D("0"), D("0"), D("0"), D("0"), D("0"), True)
    assert lines[2][1:] == (D("572.30"), D("57.23"), D("515.07"), D("25.75"), D("540.82"),
                            False)
    assert lines[2][0].startswith("No local · João Ørsted · 02/03/2026 · 97 min")
    assert sum(x.total for x in invoice.lines) == invoice.total
    assert [(p.method, p.amount, p.due_date, p.received_at) for p in invoice.payments] == [
        ("pix", D("1000.00"), None, T0), ("on_account", D("496.62"), date(2026, 4, 1), None)]

    session.refresh(order)
    assert order.status == "closed" and order.closed_at == T0
    assert order.version == version + 1
    assert order.discount_percent == D("10")
    last = session.scalars(select(OrderHistory).where(OrderHistory.order_id == order.id)
                           .order_by(OrderHistory.id.desc())).first()
    assert (last.from_status, last.to_status) == ("completed", "closed")
    assert "INV-000001" in last.note


def test_an_amount_discount_comes_off_before_vat_and_the_numbers_follow_the_series(session):
    first = make_invoice(session)
    order = completed_order(session)
    invoice = close_order(
        session, order_id=order.id, expected_version=order.version,
        discount_amount=D("72.30"), payments=pay(("card", "1581.25")), user_id=None, now=T0)
    # 72.30 split over 900.00 / 572.30 in cents: 44.20 / 28.10 (largest remainder);
    # VAT 18 % of 855.80 = 154.04, 5 % of 544.20 = 27.21.
    assert (invoice.subtotal, invoice.discount, invoice.net, invoice.vat, invoice.total) == (
        D("1472.30"), D("72.30"), D("1400.00"), D("181.25"), D("1581.25"))
    assert [x.order_discount for x in invoice.lines] == [D("44.20"), D("0"), D("28.10")]
    assert invoice.discount_percent is None
    assert first.full_number == "INV-000001" and invoice.full_number == "INV-000002"


def test_payments_short_of_the_amount_due_change_nothing(session):
    order = completed_order(session)
    version = order.version
    with pytest.raises(PaymentsDoNotAddUp) as err:
        close_order(session, order_id=order.id, expected_version=version,
                    discount_percent=D("10"),
                    payments=pay(("pix", "1000.00"), ("card", "496.61")), user_id=None, now=T0)
    assert err.value.status == 422
    assert err.value.extra == {"amount_due": "1496.62", "paid": "1496.61", "missing": "0.01"}
    session.expire_all()
    order = session.get(ServiceOrder, order.id)
    assert (order.status, order.version, order.discount_percent) == ("completed", version, None)
    assert invoices(session) == 0
    assert session.scalar(select(func.count()).select_from(Payment)) == 0
    assert session.scalar(select(NumberSeries).where(NumberSeries.name == "INV")) is None


def test_payments_over_the_amount_due_are_refused_too(session):
    order = completed_order(session)
    with pytest.raises(PaymentsDoNotAddUp):
        close_order(session, order_id=order.id, expected_version=order.version,
                    payments=pay(("cash", "2000.00")), user_id=None, now=T0)
    assert invoices(session) == 0


@pytest.mark.parametrize(("payments", "field"), [
    (pay(("on_account", "1625.95")), "payments.0.due_date"),
    (pay(("on_account", "1625.95", date(2026, 3, 1))), "payments.0.due_date"),
    (pay(("cash", "1625.95", date(2026, 4, 1))), "payments.0.due_date"),
    (pay(("cash", "1000.00"), ("card", "625.945")), "payments.1.amount"),
])
def test_each_payment_is_checked_before_anything_is_written(session, payments, field):
    order = completed_order(session)
    with pytest.raises(InvalidPayment) as err:
        close_order(session, order_id=order.id, expected_version=order.version,
                    payments=payments, user_id=None, now=T0)
    assert err.value.field == field
    assert invoices(session) == 0


def test_closing_twice_is_a_conflict(session):
    order = completed_order(session)
    make_invoice(session, order=order)
    session.refresh(order)
    with pytest.raises(OrderNotClosable) as err:
        close_order(session, order_id=order.id, expected_version=order.version,
                    payments=pay(("cash", "1625.95")), user_id=None, now=T0)
    assert err.value.status == 409
    assert err.value.extra["current"] == "closed"
    assert err.value.extra["closable_from"] == ["completed"]
    assert invoices(session) == 1


def test_an_order_not_completed_cannot_be_closed_and_the_error_names_the_way(session):
    order = make_order(session, status="in_progress")
    make_line(session, order=order)
    with pytest.raises(OrderNotClosable) as err:
        close_order(session, order_id=order.id, expected_version=order.version,
                    payments=pay(("cash", "59.00")), user_id=None, now=T0)
    assert err.value.extra["allowed"] == ["waiting_for_parts", "on_hold", "completed"]
    assert invoices(session) == 0


def test_a_stale_version_is_a_conflict_and_changes_nothing(session):
    order = completed_order(session)
    version = order.version
    with pytest.raises(StaleVersion):
        close_order(session, order_id=order.id, expected_version=version - 1,
                    payments=pay(("cash", "1625.95")), user_id=None, now=T0)
    session.expire_all()
    assert session.get(ServiceOrder, order.id).status == "completed"
    assert session.get(ServiceOrder, order.id).version == version
    assert invoices(session) == 0


def test_an_order_with_nothing_due_closes_without_payments(session):
    order = make_order(session, status="completed")
    make_line(session, order=order, warranty=True, price_rule="warranty")
    session.refresh(order)
    invoice = close_order(session, order_id=order.id, expected_version=order.version,
                          payments=[], user_id=None, now=T0)
    assert invoice.total == 0 and invoice.payments == []


def test_a_product_defect_waives_the_time_and_the_invoice_says_so(session):
    order = completed_order(session, root_cause="product_defect")
    # Without time: 900.00 + VAT 162.00.
    invoice = make_invoice(session, order=order, payments=pay(("cash", "1062.00")))
    assert invoice.total == D("1062.00")
    assert invoice.time_charges_waived is True
    assert invoice.note == "time charges waived: root cause product defect"
    assert invoice.lines[2].unit_price == D("572.30") and invoice.lines[2].total == 0


def test_premium_customers_pay_their_time_whatever_the_cause(session):
    order = completed_order(session, root_cause="product_defect", billing_modality="premium")
    # 900.00 + 162.00 + 572.30 + 28.615 (rounded half-up to 28.62)
    invoice = make_invoice(session, order=order, payments=pay(("cash", "1662.92")))
    assert invoice.total == D("1662.92")
    assert invoice.time_charges_waived is False and invoice.note == ""


def test_an_issued_invoice_cannot_be_changed_or_deleted(session):
    make_invoice(session)
    session.commit()
    changes = (
        lambda inv: setattr(inv, "total", D("1.00")),
        lambda inv: setattr(inv, "bill_to_tax_id", "other"),
        lambda inv: setattr(inv.lines[0], "description", "changed"),
        session.delete,
    )
    for change in changes:
        change(session.scalars(select(Invoice)).one())
        with pytest.raises(InvoiceImmutable):
            session.flush()
        session.rollback()
    invoice = session.scalars(select(Invoice)).one()
    assert invoice.total == D("59.00") and invoice.lines[0].description.startswith("Part")


@pytest.mark.postgres_only
def test_twenty_closings_racing_on_postgresql_number_invoices_one_to_twenty(committing_engine):
    if committing_engine.dialect.name != "postgresql":
        pytest.skip("row locks only race on PostgreSQL; SQLite serialises transactions")
    factory = make_sessionmaker(committing_engine)
    with factory() as setup:
        ids = []
        for _ in range(20):
            order = make_order(setup, status="completed")
            make_line(setup, order=order)  # 50.00 + 18 % = 59.00
            ids.append(order.id)
        setup.commit()
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def close(order_id: int) -> None:
        try:
            with factory() as s:
                order = s.get(ServiceOrder, order_id)
                version = order.version
                s.rollback()
                barrier.wait(timeout=30)
                close_order(s, order_id=order_id, expected_version=version,
                            payments=pay(("cash", "59.00")), user_id=None, now=T0)
                s.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=close, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with factory() as check:
        numbers = sorted(check.scalars(select(Invoice.number)))
        assert numbers == list(range(1, 21))
        closed = check.scalar(select(func.count()).select_from(ServiceOrder)
                              .where(ServiceOrder.status == "closed"))
        assert closed == 20

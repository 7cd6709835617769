"""Closing demo orders through billing's use case, paid the ways Brazilian customers pay."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from dispatch.core.money import quantize
from orders.billing.schemas import PaymentIn
from orders.billing.service import BillingConfig, close_order
from orders.coverage import time_waived
from orders.models import ServiceOrder
from orders.totals import order_totals


def close_demo_order(session: Session, *, order: ServiceOrder, rng: random.Random,
                     now: datetime, config: BillingConfig | None = None) -> None:
    """Close with an occasional 5 % discount; PIX, card, cash, or half now and half on account."""
    session.refresh(order)
    discount = Decimal("5") if rng.random() < 0.2 else None
    due = order_totals(
        order.lines, order.time_entries, currency=order.currency,
        time_waived=time_waived(order),  # as closing decides it (contract modality too)
        discount_percent=discount,
    ).total
    payments: list[PaymentIn] = []
    if due > 0:
        style = rng.choice(("pix", "card", "cash", "split"))
        if style == "split":
            first = quantize(due / 2, order.currency)
            payments = [
                PaymentIn(method="pix", amount=first),
                PaymentIn(method="on_account", amount=due - first,
                          due_date=(now + timedelta(days=30)).date()),
            ]
        else:
            payments = [PaymentIn(method=style, amount=due)]
    close_order(session, order_id=order.id, expected_version=order.version, payments=payments,
                user_id=None, now=now, discount_percent=discount,
                config=config or BillingConfig())

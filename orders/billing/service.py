"""Closing orders, invoices, credit notes, warranty claims and printouts.

Every function takes the session first and keywords after, flushes when it
needs ids, raises domain errors and never commits. Each document takes its
number from its series (``dispatch.core.numbering``) inside the caller's
transaction, after every check has passed: a refused request consumes no
number, and a rolled-back one returns it, so the series has no gaps.

Amounts come from ``orders.totals`` (the same arithmetic the order view
shows), so what a customer saw on the order is what the invoice charges.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session, selectinload
from stdnum.br import cnpj, cpf

from contracts.masterdata.models import Customer, Product, ServiceItem, Supplier
from dispatch.core import i18n
from dispatch.core.auth import User
from dispatch.core.errors import ValidationFailed
from dispatch.core.money import HUNDRED, ZERO, quantize
from dispatch.core.numbering import format_document_number, next_number
from dispatch.core.web import check_version, decode_cursor, encode_cursor
from orders import coverage
from orders import service as orders_service
from orders.billing import printouts as p
from orders.billing.errors import (
    InvalidCreditNote,
    InvalidPayment,
    InvoiceNotFound,
    NothingToClaim,
    NothingToCredit,
    OrderNotClosable,
    PaymentsDoNotAddUp,
    SupplierNotFound,
)
from orders.billing.i18n_texts import text
from orders.billing.models import Invoice, InvoiceKind, InvoiceLine, Payment, PaymentMethod
from orders.errors import OrderNotFound
from orders.lifecycle import OrderStatus, allowed_targets
from orders.models import OrderHistory, OrderLine, ServiceOrder, TimeEntry
from orders.totals import OrderTotals, line_value, order_totals

DEFAULT_PAGE = 20
MAX_PAGE = 100
CREDIT_NOTE_SERIES = "CN"
# Plan decision 3: credit notes have their own series; invoices take settings.invoice_series.

# The technicians table belongs to dispatch, which orders may not import; printouts and
# invoice lines only need a technician's name.
_technicians = table("technicians", column("id"), column("name"))


@dataclass(frozen=True, slots=True)
class BillingConfig:
    """What billing reads from the settings: series names, the zone used without a site, and
    the issuer copied onto each document issued (None: no company configured)."""

    invoice_series: str = "INV"
    credit_note_series: str = CREDIT_NOTE_SERIES
    timezone: str = "UTC"
    issuer: p.Party | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> BillingConfig:
        issuer = None
        if settings.company_name:
            issuer = p.Party(
                name=settings.company_name, tax_id=settings.company_tax_id,
                address=tuple(x.strip() for x in settings.company_address.split("|")
                              if x.strip()),
                country=settings.company_country,
            )
        return cls(invoice_series=settings.invoice_series, timezone=settings.default_timezone,
                   issuer=issuer)


class PaymentLike(Protocol):
    method: str
    amount: Decimal
    due_date: date | None
    reference: str


# --- helpers -------------------------------------------------------------------------------


def display_tax_id(country: str, tax_id: str) -> str:
    """The tax id as people write it: Brazilian CNPJ/CPF with their dots and slash."""
    if not tax_id:
        return ""
    if country == "BR" and tax_id.isdigit():
        if len(tax_id) == 14:
            return cnpj.format(tax_id)
        if len(tax_id) == 11:
            return cpf.format(tax_id)
    return tax_id


def _address(*parts: str) -> str:
    return "\n".join(x.strip() for x in parts if x and x.strip())


def _bill_to_customer(customer: Customer) -> dict[str, Any]:
    return {
        "customer_id": customer.id, "supplier_id": None, "bill_to_name": customer.legal_name,
        "bill_to_tax_id": display_tax_id(customer.country, customer.tax_id),
        "bill_to_country": customer.country,
        "bill_to_address": _address(customer.address,
                                    f"{customer.postal_code} {customer.city}"),
    }


def _bill_to_supplier(supplier: Supplier) -> dict[str, Any]:
    return {
        "customer_id": None, "supplier_id": supplier.id, "bill_to_name": supplier.name,
        "bill_to_tax_id": display_tax_id(supplier.country, supplier.tax_id),
        "bill_to_country": supplier.country,
        "bill_to_address": _address(supplier.address,
                                    f"{supplier.postal_code} {supplier.city}"),
    }


def _issued_by(config: BillingConfig) -> dict[str, Any]:
    """The issuer columns of a document issued now: the configured company, kept on the
    document so that changing the settings later leaves it as it was issued."""
    issuer = config.issuer
    if issuer is None:
        return {"issuer_name": None, "issuer_tax_id": None, "issuer_country": None,
                "issuer_address": None}
    return {"issuer_name": issuer.name, "issuer_tax_id": issuer.tax_id,
            "issuer_country": issuer.country, "issuer_address": _address(*issuer.address)}


def _technician_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(_technicians.c.id, _technicians.c.name).where(_technicians.c.id.in_(wanted))
    )
    return {row.id: row.name for row in rows}


def _order_timezone(order: ServiceOrder, config: BillingConfig) -> str:
    return order.site.timezone if order.site is not None else config.timezone


def _take_number(session: Session, series: str) -> tuple[int, str]:
    number = next_number(session, series)
    return number, format_document_number(series, number)


def _lock_order(session: Session, order_id: int) -> ServiceOrder:
    order = session.scalar(
        select(ServiceOrder).where(ServiceOrder.id == order_id).with_for_update()
        .options(selectinload(ServiceOrder.lines), selectinload(ServiceOrder.time_entries),
                 selectinload(ServiceOrder.customer), selectinload(ServiceOrder.site))
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise OrderNotFound(f"no order with id {order_id}", field="order_id")
    return order


def _time_description(entry: TimeEntry, technician: str, locale: str, tz: str) -> str:
    day = i18n.day(entry.started_at.astimezone(ZoneInfo(tz)).date(), locale, fmt="short")
    activity = text(locale, f"activity.{entry.activity}")
    parts = [activity, technician, day, f"{entry.billed_minutes} min"]
    return " · ".join(x for x in parts if x)[:300]


# --- closing -------------------------------------------------------------------------------


def _check_payments(payments: Sequence[PaymentLike], due: Decimal, currency: str,
                    issue_day: date) -> None:
    paid = ZERO
    for i, pay in enumerate(payments):
        field = f"payments.{i}"
        try:
            method = PaymentMethod(pay.method)
        except ValueError:
            raise InvalidPayment(
                f"unknown payment method {pay.method!r}; one of {', '.join(PaymentMethod)}",
                field=f"{field}.method") from None
        if pay.amount <= ZERO:
            raise InvalidPayment("a payment amount must be more than zero",
                                 field=f"{field}.amount")
        if quantize(pay.amount, currency) != pay.amount:
            raise InvalidPayment(f"{pay.amount} has more decimals than {currency} allows",
                                 field=f"{field}.amount")
        if method == PaymentMethod.on_account:
            if pay.due_date is None:
                raise InvalidPayment("a payment on account needs a due_date",
                                     field=f"{field}.due_date")
            if pay.due_date < issue_day:
                raise InvalidPayment(f"due_date {pay.due_date} is before the invoice date "
                                     f"{issue_day}", field=f"{field}.due_date")
        elif pay.due_date is not None:
            raise InvalidPayment(f"only payments on account have a due_date, not {method}",
                                 field=f"{field}.due_date")
        paid += pay.amount
    if paid != due:
        raise PaymentsDoNotAddUp(
            f"the payments add up to {quantize(paid, currency)} {currency}; the amount due "
            f"is {due} {currency}",
            field="payments", amount_due=str(due), paid=str(quantize(paid, currency)),
            missing=str(quantize(due - paid, currency)),
        )


def _lines_from_order(session: Session, order: ServiceOrder, totals: OrderTotals, *,
                      locale: str, tz: str) -> list[InvoiceLine]:
    names = _technician_names(session, (e.technician_id for e in order.time_entries))
    out: list[InvoiceLine] = []
    for line, part in zip(order.lines, totals.lines, strict=True):
        out.append(InvoiceLine(
            description=line.description, quantity=line.quantity, unit_price=line.unit_price,
            discount_percent=line.discount_percent, vat_rate=line.vat_rate, value=part.net,
            order_discount=part.order_discount, net=part.taxable, vat=part.vat,
            total=part.total, warranty=line.warranty, order_line_id=line.id,
        ))
    for entry, part in zip(order.time_entries, totals.time_entries, strict=True):
        if not entry.billable:
            continue  # internal time: never charged, not on the customer's document
        out.append(InvoiceLine(
            description=_time_description(entry, names.get(entry.technician_id, ""), locale,
                                          tz),
            quantity=Decimal(1), unit_price=quantize(entry.amount, order.currency),
            discount_percent=ZERO, vat_rate=entry.vat_rate, value=part.net,
            order_discount=part.order_discount, net=part.taxable, vat=part.vat,
            total=part.total, warranty=False, time_entry_id=entry.id,
        ))
    for position, row in enumerate(out, start=1):
        row.position = position
    return out


def close_order(
    session: Session,
    *,
    order_id: int,
    expected_version: int,
    payments: Sequence[PaymentLike],
    user_id: int | None,
    now: datetime,
    discount_percent: Decimal | None = None,
    discount_amount: Decimal | None = None,
    config: BillingConfig = BillingConfig(),
) -> Invoice:
    """Close a completed order: discount first, then payments that add up to the amount due.

    Issues the invoice (next number of ``config.invoice_series``), records the
    payments and moves the order to ``closed`` with a history entry. Every check
    runs before anything is written, so a refusal leaves the order, the number
    series and the invoices as they were.
    """
    order = _lock_order(session, order_id)
    if order.status != OrderStatus.completed:
        raise OrderNotClosable(
            f"order {order.number} is {order.status}; only a completed order can be closed",
            field="status", current=order.status, closable_from=[OrderStatus.completed.value],
            allowed=allowed_targets(order.status),
        )
    check_version(order.version, expected_version, f"order {order.number}")
    if discount_percent is not None and discount_percent != discount_percent.quantize(
            Decimal("0.01")):
        raise ValidationFailed("discount_percent has at most two decimals",
                               field="discount_percent")
    waived = coverage.time_waived(order)
    totals = order_totals(
        order.lines, order.time_entries, currency=order.currency, time_waived=waived,
        discount_percent=discount_percent, discount_amount=discount_amount,
    )
    tz = _order_timezone(order, config)
    _check_payments(payments, totals.total, order.currency,
                    now.astimezone(ZoneInfo(tz)).date())

    customer = order.customer
    locale = i18n.normalize_locale(customer.locale)
    number, full_number = _take_number(session, config.invoice_series)
    time_waived = totals.time_charges_waived and totals.waived_amount > ZERO
    invoice = Invoice(
        series=config.invoice_series, number=number, full_number=full_number,
        kind=InvoiceKind.invoice, order_id=order.id, **_bill_to_customer(customer),
        **_issued_by(config), currency=order.currency, locale=locale, timezone=tz,
        issued_at=now, issued_by_id=user_id, subtotal=totals.subtotal, discount=totals.order_discount,
        net=totals.net, vat=totals.vat, total=totals.total, discount_percent=discount_percent,
        time_charges_waived=time_waived,
        note="time charges waived: root cause product defect" if time_waived else "",
    )
    invoice.lines = _lines_from_order(session, order, totals, locale=locale, tz=tz)
    invoice.payments = [
        Payment(order_id=order.id, method=pay.method, amount=pay.amount, due_date=pay.due_date,
                received_at=None if pay.method == PaymentMethod.on_account else now,
                reference=pay.reference, created_at=now, created_by_id=user_id)
        for pay in payments
    ]
    session.add(invoice)
    order.discount_percent = discount_percent
    order.discount_amount = discount_amount
    paid_by = ", ".join(f"{pay.method} {pay.amount}" for pay in payments) or "nothing due"
    orders_service.change_status(
        session, order=order, to=OrderStatus.closed, user_id=user_id, now=now, closing=True,
        note=f"invoice {full_number}: {totals.total} {order.currency} ({paid_by})",
    )
    session.flush()
    return invoice


# --- reading -------------------------------------------------------------------------------


def _invoice_loads() -> list[Any]:
    return [selectinload(Invoice.lines), selectinload(Invoice.payments)]


def get_invoice(session: Session, *, invoice_id: int, lock: bool = False) -> Invoice:
    stmt = select(Invoice).where(Invoice.id == invoice_id).options(*_invoice_loads())
    if lock:
        stmt = stmt.with_for_update()
    invoice = session.scalar(stmt)
    if invoice is None:
        raise InvoiceNotFound(f"no invoice with id {invoice_id}", field="invoice_id")
    return invoice


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def invoice_query(
    *,
    kind: str | None = None,
    customer_id: int | None = None,
    supplier_id: int | None = None,
    order_id: int | None = None,
    issued_from: datetime | None = None,
    issued_to: datetime | None = None,
) -> Any:
    """Invoices matching the filters (``issued_to`` exclusive), not yet ordered."""
    stmt = select(Invoice)
    if kind is not None:
        try:
            stmt = stmt.where(Invoice.kind == InvoiceKind(kind).value)
        except ValueError:
            raise ValidationFailed(f"kind is one of {', '.join(InvoiceKind)}",
                                   field="kind") from None
    if customer_id is not None:
        stmt = stmt.where(Invoice.customer_id == customer_id)
    if supplier_id is not None:
        stmt = stmt.where(Invoice.supplier_id == supplier_id)
    if order_id is not None:
        stmt = stmt.where(Invoice.order_id == order_id)
    if issued_from is not None:
        stmt = stmt.where(Invoice.issued_at >= _utc(issued_from))
    if issued_to is not None:
        stmt = stmt.where(Invoice.issued_at < _utc(issued_to))
    return stmt


def list_invoices(session: Session, *, cursor: str | None = None, limit: int = DEFAULT_PAGE,
                  **filters: Any) -> tuple[list[Invoice], str | None]:
    """Newest first, keyset-paginated by id; filters as in ``invoice_query``."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    stmt = invoice_query(**filters)
    if cursor:
        before = decode_cursor(cursor).get("before")
        if not isinstance(before, int):
            raise ValidationFailed("malformed cursor", field="cursor")
        stmt = stmt.where(Invoice.id < before)
    stmt = stmt.order_by(Invoice.id.desc()).limit(limit + 1).options(*_invoice_loads())
    rows = list(session.scalars(stmt))
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor({"before": rows[-1].id})
    return rows, None


# --- credit notes --------------------------------------------------------------------------


def _credited_line_ids(session: Session, invoice_id: int) -> set[int]:
    rows = session.scalars(
        select(InvoiceLine.credited_line_id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.credited_invoice_id == invoice_id)
    )
    return {x for x in rows if x is not None}


def _sum(lines: Sequence[InvoiceLine], name: str) -> Decimal:
    return sum((getattr(x, name) for x in lines), ZERO)


def _document_from_lines(session: Session, *, source: Invoice, lines: Sequence[InvoiceLine],
                         kind: InvoiceKind, series: str, recipient: dict[str, Any],
                         locale: str, note: str, user_id: int | None, now: datetime,
                         credits: bool, config: BillingConfig) -> Invoice:
    """A credit note of ``lines`` of ``source`` (``credits``), or a new invoice copying them."""
    number, full_number = _take_number(session, series)
    copies = [
        InvoiceLine(
            position=i, description=x.description, quantity=x.quantity,
            unit_price=x.unit_price, discount_percent=x.discount_percent, vat_rate=x.vat_rate,
            value=x.value, order_discount=x.order_discount, net=x.net, vat=x.vat,
            total=x.total, warranty=x.warranty, order_line_id=x.order_line_id,
            time_entry_id=x.time_entry_id, credited_line_id=x.id if credits else None,
        )
        for i, x in enumerate(lines, start=1)
    ]
    doc = Invoice(
        series=series, number=number, full_number=full_number, kind=kind,
        order_id=source.order_id, **recipient, **_issued_by(config),
        currency=source.currency, locale=locale, timezone=source.timezone, issued_at=now,
        issued_by_id=user_id,
        subtotal=_sum(lines, "value"), discount=_sum(lines, "order_discount"),
        net=_sum(lines, "net"), vat=_sum(lines, "vat"), total=_sum(lines, "total"),
        discount_percent=None, credited_invoice_id=source.id if credits else None,
        time_charges_waived=source.time_charges_waived and not credits, note=note,
    )
    doc.lines = copies
    session.add(doc)
    session.flush()
    return doc


def _lines_to_credit(session: Session, invoice: Invoice,
                     line_ids: Sequence[int] | None) -> list[InvoiceLine]:
    if invoice.kind != InvoiceKind.invoice:
        raise InvalidCreditNote(f"{invoice.full_number} is a credit note; only invoices are "
                                "credited", field="invoice_id")
    done = _credited_line_ids(session, invoice.id)
    if line_ids is None:
        lines = [x for x in invoice.lines if x.id not in done]
        if not lines:
            raise NothingToCredit(f"every line of {invoice.full_number} is already credited")
        return lines
    if len(set(line_ids)) != len(line_ids):
        raise InvalidCreditNote("a line is named twice", field="line_ids")
    by_id = {x.id: x for x in invoice.lines}
    unknown = [i for i in line_ids if i not in by_id]
    if unknown:
        raise InvalidCreditNote(
            f"lines {unknown} are not lines of {invoice.full_number}", field="line_ids")
    again = [i for i in line_ids if i in done]
    if again:
        raise NothingToCredit(f"lines {again} of {invoice.full_number} are already credited",
                              field="line_ids")
    return [by_id[i] for i in line_ids]


def credit_invoice(session: Session, *, invoice_id: int, reason: str, user_id: int | None,
                   now: datetime, line_ids: Sequence[int] | None = None,
                   config: BillingConfig = BillingConfig()) -> Invoice:
    """A credit note for whole lines of an invoice (all not yet credited when ``line_ids``
    is None). The invoice itself never changes."""
    invoice = get_invoice(session, invoice_id=invoice_id, lock=True)
    lines = _lines_to_credit(session, invoice, line_ids)
    recipient = {k: getattr(invoice, k) for k in (
        "customer_id", "supplier_id", "bill_to_name", "bill_to_tax_id", "bill_to_country",
        "bill_to_address")}
    return _document_from_lines(
        session, source=invoice, lines=lines, kind=InvoiceKind.credit_note,
        series=config.credit_note_series, recipient=recipient, locale=invoice.locale,
        note=reason, user_id=user_id, now=now, credits=True, config=config,
    )


def reissue_invoice(session: Session, *, invoice_id: int, customer_id: int, reason: str,
                    user_id: int | None, now: datetime,
                    config: BillingConfig = BillingConfig()) -> tuple[Invoice, Invoice]:
    """Re-invoice to another legal entity: credit the whole invoice, issue a new one with
    the same lines to ``customer_id`` (never an edit). Payments stay with the order and
    the original invoice."""
    invoice = get_invoice(session, invoice_id=invoice_id, lock=True)
    if invoice.kind != InvoiceKind.invoice or invoice.supplier_id is not None:
        raise InvalidCreditNote(f"{invoice.full_number} is not a customer invoice",
                                field="invoice_id")
    if _credited_line_ids(session, invoice.id):
        raise NothingToCredit(f"{invoice.full_number} is already (partly) credited; "
                              "it can no longer be re-invoiced as a whole")
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise InvalidCreditNote(f"no customer with id {customer_id}", field="customer_id")
    if customer.currency != invoice.currency:
        raise InvalidCreditNote(
            f"the customer is billed in {customer.currency}, the invoice is in "
            f"{invoice.currency}", field="customer_id")
    lines = list(invoice.lines)
    credit = credit_invoice(session, invoice_id=invoice.id, reason=reason, user_id=user_id,
                            now=now, config=config)
    new = _document_from_lines(
        session, source=invoice, lines=lines, kind=InvoiceKind.invoice,
        series=config.invoice_series, recipient=_bill_to_customer(customer),
        locale=i18n.normalize_locale(customer.locale),
        note=f"replaces {invoice.full_number} (credited by {credit.full_number}): {reason}",
        user_id=user_id, now=now, credits=False, config=config,
    )
    if invoice.order_id is not None:
        order = session.get(ServiceOrder, invoice.order_id)
        if order is not None:
            orders_service.record(
                session, order, event="reinvoiced", user_id=user_id, now=now,
                note=f"{invoice.full_number} credited by {credit.full_number}, "
                     f"re-invoiced as {new.full_number} to {customer.legal_name}")
    return credit, new


# --- warranty claims -----------------------------------------------------------------------


def _warranty_supplier(line: OrderLine, items: dict[int, ServiceItem],
                       order_items: dict[int, list[ServiceItem]],
                       products: dict[int, Product]) -> int | None:
    """Who pays for a warranty line: the supplier of the equipment it was used on (the
    line's service item, else the order's first item with a supplier), else the part's."""
    item = items.get(line.service_item_id) if line.service_item_id else None
    if item is not None and item.supplier_id is not None:
        return item.supplier_id
    for other in order_items.get(line.order_id, []):
        if other.supplier_id is not None:
            return other.supplier_id
    product = products.get(line.product_id) if line.product_id else None
    return product.supplier_id if product is not None else None


def claim_warranty(session: Session, *, supplier_id: int, user_id: int | None, now: datetime,
                   order_ids: Sequence[int] | None = None,
                   config: BillingConfig = BillingConfig()) -> Invoice:
    """Invoice the unclaimed warranty lines of closed orders to the supplier who owes them.

    Lines are valued as priced on the order (quantity x unit price, VAT at the
    line's rate) and marked claimed, so each is claimed once.
    """
    supplier = session.get(Supplier, supplier_id)
    if supplier is None:
        raise SupplierNotFound(f"no supplier with id {supplier_id}", field="supplier_id")
    stmt = (
        select(OrderLine).join(ServiceOrder, ServiceOrder.id == OrderLine.order_id)
        .where(OrderLine.warranty.is_(True), OrderLine.claimed_invoice_id.is_(None),
               ServiceOrder.status == OrderStatus.closed)
        .order_by(OrderLine.order_id, OrderLine.id)
        .with_for_update(of=OrderLine)
    )
    if order_ids is not None:
        found = {o.id: o for o in session.scalars(
            select(ServiceOrder).where(ServiceOrder.id.in_(order_ids)))}
        missing = [i for i in order_ids if i not in found]
        if missing:
            raise OrderNotFound(f"no orders with ids {missing}", field="order_ids")
        open_ones = [o.number for o in found.values() if o.status != OrderStatus.closed]
        if open_ones:
            raise NothingToClaim(f"orders {', '.join(sorted(open_ones))} are not closed; only "
                                 "closed orders are claimed", field="order_ids")
        stmt = stmt.where(OrderLine.order_id.in_(order_ids))
    candidates = list(session.scalars(stmt))
    item_ids = {x.service_item_id for x in candidates if x.service_item_id}
    orders = {x.order_id for x in candidates}
    order_items: dict[int, list[ServiceItem]] = {}
    if orders:
        for order in session.scalars(select(ServiceOrder).where(ServiceOrder.id.in_(orders))
                                     .options(selectinload(ServiceOrder.service_items))):
            order_items[order.id] = list(order.service_items)
    items = {i.id: i for i in session.scalars(
        select(ServiceItem).where(ServiceItem.id.in_(item_ids)))} if item_ids else {}
    product_ids = {x.product_id for x in candidates if x.product_id}
    products = {x.id: x for x in session.scalars(
        select(Product).where(Product.id.in_(product_ids)))} if product_ids else {}
    lines = [x for x in candidates
             if _warranty_supplier(x, items, order_items, products) == supplier.id]
    if not lines:
        raise NothingToClaim(f"no unclaimed warranty lines of closed orders for {supplier.name}",
                             field="supplier_id")
    by_order = {o.id: o for o in session.scalars(
        select(ServiceOrder).where(ServiceOrder.id.in_({x.order_id for x in lines}))
        .options(selectinload(ServiceOrder.site)))}
    currencies = sorted({by_order[x.order_id].currency for x in lines})
    if len(currencies) > 1:
        raise ValidationFailed(
            f"the warranty lines are in several currencies ({', '.join(currencies)}); claim "
            "them per currency by naming the orders", field="order_ids")
    currency = currencies[0]
    rows = []
    for position, line in enumerate(lines, start=1):
        value = line_value(line.quantity, line.unit_price, line.discount_percent, currency)
        vat = quantize(value * line.vat_rate / HUNDRED, currency)
        order = by_order[line.order_id]
        rows.append(InvoiceLine(
            position=position, description=f"{order.number}: {line.description}"[:300],
            quantity=line.quantity, unit_price=line.unit_price,
            discount_percent=line.discount_percent, vat_rate=line.vat_rate, value=value,
            order_discount=ZERO, net=value, vat=vat, total=value + vat, warranty=True,
            order_line_id=line.id,
        ))
    numbers = sorted({o.number for o in by_order.values()})
    first = by_order[lines[0].order_id]
    number, full_number = _take_number(session, config.invoice_series)
    net, vat = _sum(rows, "net"), _sum(rows, "vat")
    invoice = Invoice(
        series=config.invoice_series, number=number, full_number=full_number,
        kind=InvoiceKind.invoice, order_id=first.id if len(by_order) == 1 else None,
        **_bill_to_supplier(supplier), **_issued_by(config), currency=currency,
        locale=i18n.normalize_locale(supplier.locale),
        timezone=_order_timezone(first, config), issued_at=now, issued_by_id=user_id,
        subtotal=net, discount=ZERO, net=net, vat=vat, total=net + vat,
        note=f"warranty claim: service orders {', '.join(numbers)}",
    )
    invoice.lines = rows
    session.add(invoice)
    session.flush()
    for line in lines:
        line.claimed_invoice_id = invoice.id
    for order in by_order.values():
        orders_service.record(session, order, event="warranty_claimed", user_id=user_id,
                              now=now, note=f"warranty lines claimed from {supplier.name} on "
                                            f"{full_number}")
    session.flush()
    return invoice


# --- printouts -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendered:
    content: bytes
    media_type: str
    filename: str


FORMATS = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


def _language(requested: str | None, default: str) -> str:
    if requested is None:
        return i18n.normalize_locale(default)
    if not i18n.is_supported(requested):
        raise ValidationFailed(
            f"language {requested!r} is not offered; one of {', '.join(i18n.SUPPORTED)}",
            field="lang")
    return i18n.normalize_locale(requested)


def _render(doc: p.Document, fmt: str, name: str) -> Rendered:
    if fmt not in FORMATS:
        raise ValidationFailed(f"format is one of {', '.join(FORMATS)}", field="format")
    content = p.render_pdf(doc) if fmt == "pdf" else p.render_html(doc).encode()
    return Rendered(content, FORMATS[fmt], f"{name}.{fmt}")


def _party(name: str, tax_id: str, address: str, contact: str = "",
           country: str = "") -> p.Party:
    return p.Party(name=name, tax_id=tax_id, address=tuple(address.splitlines()),
                   contact=contact, country=country)


def _vat_shares(groups: Iterable[Any]) -> tuple[p.VatShare, ...]:
    return tuple(p.VatShare(g.rate, g.taxable, g.vat) for g in groups)


def order_sheet(session: Session, order: ServiceOrder) -> p.OrderSheet:
    """Everything the order printout shows, read from the database."""
    totals = orders_service.order_totals_of(order)
    names = _technician_names(
        session, [x.technician_id for x in order.lines]
        + [x.technician_id for x in order.time_entries])
    responsible = session.get(User, order.responsible_user_id) \
        if order.responsible_user_id else None
    customer, site = order.customer, order.site
    loaner = session.get(ServiceItem, order.loaner_item_id) if order.loaner_item_id else None
    return p.OrderSheet(
        number=order.number, status=order.status, priority=order.priority,
        opened_at=order.created_at, category=order.category,
        completed_at=session.scalar(
            select(func.max(OrderHistory.at)).where(OrderHistory.order_id == order.id,
                                                    OrderHistory.to_status == "completed")),
        customer=_party(customer.legal_name,
                        display_tax_id(customer.country, customer.tax_id),
                        _address(customer.address, f"{customer.postal_code} {customer.city}"),
                        customer.phone or customer.email, customer.country),
        site=_party(site.name, "", _address(site.address, f"{site.postal_code} {site.city}"))
        if site is not None else p.Party(name="—"),
        currency=order.currency,
        totals=p.SheetTotals(totals.subtotal, totals.order_discount, totals.net, totals.vat,
                             totals.total, _vat_shares(totals.vat_groups)),
        lines=tuple(
            p.SheetLine(x.description, x.quantity, x.unit_price, x.discount_percent,
                        x.vat_rate, part.net, warranty=x.warranty,
                        technician=names.get(x.technician_id, "") if x.technician_id else "")
            for x, part in zip(order.lines, totals.lines, strict=True)
        ),
        time_entries=tuple(
            p.SheetTime(names.get(x.technician_id, ""), x.activity, x.started_at, x.ended_at,
                        x.billed_minutes, part.net, billable=x.billable)
            for x, part in zip(order.time_entries, totals.time_entries, strict=True)
        ),
        service_items=tuple(
            " · ".join(v for v in (i.model, i.serial_number) if v) for i in order.service_items
        ),
        reported_defect=order.reported_defect,
        responsible=(responsible.full_name or responsible.username) if responsible else "",
        loaner=" · ".join(v for v in (loaner.model, loaner.serial_number) if v)
        if loaner is not None else "",
        time_waived=totals.time_charges_waived and totals.waived_amount > ZERO,
    )


def order_printout(session: Session, *, order_id: int, fmt: str, now: datetime,
                   lang: str | None = None, viewer: User | None = None,
                   config: BillingConfig = BillingConfig()) -> Rendered:
    """The order as a signed document, in ``lang`` or the customer's language."""
    order = orders_service.get_order(session, order_id=order_id, viewer=viewer)
    language = _language(lang, order.customer.locale)
    doc = p.order_document(order_sheet(session, order), lang=language,
                           tz=_order_timezone(order, config), printed_at=now)
    return _render(doc, fmt, f"order-{order.number}")


def invoice_sheet(session: Session, invoice: Invoice) -> p.InvoiceSheet:
    """Everything the invoice printout shows, as it was issued (the issuer included)."""
    groups: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for x in invoice.lines:
        if x.net == ZERO and x.vat == ZERO:
            continue
        base, vat = groups.get(x.vat_rate, (ZERO, ZERO))
        groups[x.vat_rate] = (base + x.net, vat + x.vat)
    order_numbers: list[str] = []
    line_ids = [x.order_line_id for x in invoice.lines if x.order_line_id]
    if invoice.supplier_id is not None and line_ids:
        order_numbers = sorted(set(session.scalars(
            select(ServiceOrder.number).join(OrderLine, OrderLine.order_id == ServiceOrder.id)
            .where(OrderLine.id.in_(line_ids)))))
    elif invoice.order_id is not None:
        order_numbers = [session.scalar(
            select(ServiceOrder.number).where(ServiceOrder.id == invoice.order_id))]
    credited = invoice.credited_invoice.full_number if invoice.credited_invoice else ""
    q = lambda v: quantize(v, invoice.currency)  # noqa: E731
    # The stored note is the record in English; what it says is printed in the reader's
    # language (waived time, the claim's orders, the credited invoice) from the flags.
    generated = invoice.kind == InvoiceKind.invoice and (
        invoice.supplier_id is not None or invoice.time_charges_waived)
    note = "" if generated else invoice.note
    issuer = _party(invoice.issuer_name, invoice.issuer_tax_id or "",
                    invoice.issuer_address or "", country=invoice.issuer_country or "") \
        if invoice.issuer_name else None
    return p.InvoiceSheet(
        kind=invoice.kind, number=invoice.full_number, issued_at=invoice.issued_at,
        bill_to=_party(invoice.bill_to_name, invoice.bill_to_tax_id, invoice.bill_to_address,
                       country=invoice.bill_to_country),
        currency=invoice.currency,
        totals=p.SheetTotals(q(invoice.subtotal), q(invoice.discount), q(invoice.net),
                             q(invoice.vat), q(invoice.total),
                             tuple(p.VatShare(r, q(b), q(v)) for r, (b, v) in
                                   sorted(groups.items()))),
        lines=tuple(
            p.SheetLine(x.description, x.quantity, x.unit_price, x.discount_percent,
                        x.vat_rate, q(x.value), warranty=x.warranty and invoice.supplier_id is None)
            for x in invoice.lines
        ),
        payments=tuple(p.SheetPayment(x.method, q(x.amount), x.due_date)
                       for x in invoice.payments),
        order_numbers=tuple(order_numbers), credited_number=credited,
        warranty_claim=invoice.supplier_id is not None,
        time_waived=invoice.time_charges_waived, note=note, issuer=issuer,
    )


def invoice_printout(session: Session, *, invoice_id: int, fmt: str,
                     lang: str | None = None) -> Rendered:
    """The issued invoice or credit note, in ``lang`` or the recipient's language."""
    invoice = get_invoice(session, invoice_id=invoice_id)
    language = _language(lang, invoice.locale)
    doc = p.invoice_document(invoice_sheet(session, invoice), lang=language,
                             tz=invoice.timezone)
    return _render(doc, fmt, invoice.full_number)

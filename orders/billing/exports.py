"""Orders and invoices out to CSV/XLSX, orders in from CSV (pandas, openpyxl).

Exports are for spreadsheets and accounting: one row per order or document,
amounts as exact decimals rounded to their currency (a dot as decimal
separator in CSV, numbers in XLSX), times in UTC.

The import is all or nothing: every row is checked and created inside one
savepoint; if any row fails, the savepoint is rolled back (order numbers
included) and the error lists every bad row by its line in the file (the
header is line 1; a quoted field spanning lines counts all its lines).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from contracts.masterdata.models import Customer, ServiceItem
from dispatch.core.auth import User
from dispatch.core.errors import DomainError
from dispatch.core.money import quantize
from orders import schemas as order_schemas
from orders import service as orders_service
from orders.billing.errors import InvalidExport, InvalidImport
from orders.billing.models import Invoice
from orders.billing.service import Rendered, display_tax_id, invoice_query
from orders.models import ServiceOrder

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Uploads beyond this are refused outright (a CSV of ~20 000 orders).
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 10_000

ORDER_COLUMNS = [
    "number", "status", "priority", "category", "customer_number", "customer_name",
    "customer_tax_id", "site", "service_items", "reported_defect", "technician_id",
    "created_at", "closed_at", "currency", "discount_percent", "subtotal", "discount", "net",
    "vat", "total",
]
INVOICE_COLUMNS = [
    "number", "kind", "issued_at", "order_number", "credits", "customer_id", "supplier_id",
    "bill_to_name", "bill_to_tax_id", "bill_to_country", "currency", "subtotal", "discount",
    "net", "vat", "total", "payments", "note",
]


# --- export --------------------------------------------------------------------------------


def _frame(rows: list[dict[str, Any]], columns: list[str], fmt: str, name: str) -> Rendered:
    if fmt not in FORMATS:
        raise InvalidExport(f"format is one of {', '.join(FORMATS)}", field="format")
    frame = pd.DataFrame(rows, columns=columns)
    buffer = io.BytesIO()
    if fmt == "csv":
        frame.to_csv(buffer, index=False, encoding="utf-8")
    else:
        for col in ("created_at", "closed_at", "issued_at"):
            if col in frame:
                # Excel has no time zones: write UTC wall time.
                frame[col] = pd.to_datetime(frame[col], utc=True).dt.tz_localize(None)
        frame.to_excel(buffer, index=False, sheet_name=name, engine="openpyxl")
    return Rendered(buffer.getvalue(), FORMATS[fmt], f"{name}.{fmt}")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _orders(session: Session, filters: dict[str, Any], viewer: User | None
            ) -> Iterator[ServiceOrder]:
    cursor = None
    while True:
        rows, cursor = orders_service.list_orders(
            session, viewer=viewer, cursor=cursor, limit=orders_service.MAX_PAGE, **filters)
        yield from rows
        if cursor is None:
            return


def export_orders(session: Session, *, fmt: str, viewer: User | None = None,
                  **filters: Any) -> Rendered:
    """Every order the listing would show with the same filters, newest first."""
    rows = []
    for order in _orders(session, filters, viewer):
        totals = orders_service.order_totals_of(order)
        c = order.customer
        rows.append({
            "number": order.number, "status": order.status, "priority": order.priority,
            "category": order.category, "customer_number": c.number,
            "customer_name": c.legal_name,
            "customer_tax_id": display_tax_id(c.country, c.tax_id),
            "site": order.site.name if order.site else "",
            "service_items": "; ".join(i.serial_number or i.model for i in order.service_items),
            "reported_defect": order.reported_defect, "technician_id": order.technician_id,
            "created_at": _iso(order.created_at), "closed_at": _iso(order.closed_at),
            "currency": order.currency, "discount_percent": order.discount_percent,
            "subtotal": totals.subtotal, "discount": totals.order_discount, "net": totals.net,
            "vat": totals.vat, "total": totals.total,
        })
    return _frame(rows, ORDER_COLUMNS, fmt, "orders")


def export_invoices(session: Session, *, fmt: str, **filters: Any) -> Rendered:
    """Invoices and credit notes in number order; filters as ``service.invoice_query``."""
    stmt = (invoice_query(**filters).order_by(Invoice.id)
            .options(selectinload(Invoice.payments), selectinload(Invoice.credited_invoice)))
    invoices = list(session.scalars(stmt))
    order_ids = {x.order_id for x in invoices if x.order_id}
    numbers = dict(session.execute(
        select(ServiceOrder.id, ServiceOrder.number).where(ServiceOrder.id.in_(order_ids))
    ).all()) if order_ids else {}
    rows = []
    for inv in invoices:
        q = lambda v, cur=inv.currency: quantize(v, cur)  # noqa: E731
        rows.append({
            "number": inv.full_number, "kind": inv.kind, "issued_at": _iso(inv.issued_at),
            "order_number": numbers.get(inv.order_id, "") if inv.order_id else "",
            "credits": inv.credited_invoice.full_number if inv.credited_invoice else "",
            "customer_id": inv.customer_id, "supplier_id": inv.supplier_id,
            "bill_to_name": inv.bill_to_name, "bill_to_tax_id": inv.bill_to_tax_id,
            "bill_to_country": inv.bill_to_country, "currency": inv.currency,
            "subtotal": q(inv.subtotal), "discount": q(inv.discount), "net": q(inv.net),
            "vat": q(inv.vat), "total": q(inv.total),
            "payments": "; ".join(
                f"{p.method} {q(p.amount)}" + (f" due {p.due_date}" if p.due_date else "")
                for p in inv.payments),
            "note": inv.note,
        })
    return _frame(rows, INVOICE_COLUMNS, fmt, "invoices")


# --- import --------------------------------------------------------------------------------

# Columns of an order import; customer_number is required, the rest optional.
IMPORT_COLUMNS = (
    "customer_number", "reported_defect", "priority", "category", "service_item_serial",
    "estimated_duration_minutes", "billing_modality",
)


def _read_csv(content: bytes) -> pd.DataFrame:
    if len(content) > MAX_IMPORT_BYTES:
        raise InvalidImport(f"the file is larger than {MAX_IMPORT_BYTES} bytes", field="file")
    try:
        textual = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidImport(f"the file is not UTF-8 text (byte {exc.start})", field="file",
                            errors=[{"line": None, "field": "file",
                                     "message": "not UTF-8"}]) from None
    if not textual.strip():
        raise InvalidImport("the file is empty", field="file",
                            errors=[{"line": 1, "field": "file", "message": "empty file"}])
    try:
        frame = pd.read_csv(io.StringIO(textual), dtype=str, keep_default_na=False,
                            skip_blank_lines=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise InvalidImport(f"the file is not valid CSV: {exc}", field="file",
                            errors=[{"line": None, "field": "file", "message": str(exc)}]
                            ) from None
    header = [str(c).strip() for c in frame.columns]
    frame.columns = header
    unknown = [c for c in header if c not in IMPORT_COLUMNS]
    problems = []
    if unknown:
        problems.append(f"unknown columns {unknown}; columns are {', '.join(IMPORT_COLUMNS)}")
    if "customer_number" not in header:
        problems.append("the column customer_number is required")
    if len(set(header)) != len(header):
        problems.append("a column is named twice")
    if problems:
        raise InvalidImport(
            "line 1: " + "; ".join(problems), field="file",
            errors=[{"line": 1, "field": "header", "message": m} for m in problems])
    if len(frame) > MAX_IMPORT_ROWS:
        raise InvalidImport(f"more than {MAX_IMPORT_ROWS} rows", field="file")
    return frame


def _line_numbers(frame: pd.DataFrame) -> list[int]:
    """The file line each row starts on (quoted fields may span lines)."""
    out, line = [], 2
    for values in frame.itertuples(index=False):
        out.append(line)
        line += 1 + sum(str(v).count("\n") for v in values)
    return out


def _order_data(raw: dict[str, str], customers: dict[str, Customer],
                items: dict[tuple[int, str], int]) -> dict[str, Any]:
    """A row as OrderCreate input; raises ``_RowError`` for a reference that does not exist."""
    number = raw.get("customer_number", "")
    customer = customers.get(number)
    if customer is None:
        raise _RowError("customer_number", f"no customer with number {number!r}"
                        if number else "customer_number is required")
    data: dict[str, Any] = {"customer_id": customer.id}
    for key in ("reported_defect", "priority", "category", "billing_modality",
                "estimated_duration_minutes"):
        if raw.get(key):
            data[key] = raw[key]
    serial = raw.get("service_item_serial", "")
    if serial:
        item_id = items.get((customer.id, serial))
        if item_id is None:
            raise _RowError("service_item_serial",
                            f"customer {number} has no service item with serial {serial!r}")
        data["service_item_ids"] = [item_id]
    return data


class _RowError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def import_orders(session: Session, *, content: bytes, user_id: int | None,
                  now: datetime) -> list[ServiceOrder]:
    """Create one order per CSV row, all or nothing (see the module docstring)."""
    frame = _read_csv(content)
    lines = _line_numbers(frame)
    records = [{k: str(v).strip() for k, v in row.items()}
               for row in frame.to_dict("records")]
    numbers = {r.get("customer_number", "") for r in records} - {""}
    customers = {c.number: c for c in session.scalars(
        select(Customer).where(Customer.number.in_(numbers)))} if numbers else {}
    serials = {r.get("service_item_serial", "") for r in records} - {""}
    items = {(i.customer_id, i.serial_number): i.id for i in session.scalars(
        select(ServiceItem).where(ServiceItem.serial_number.in_(serials)))} if serials else {}

    errors: list[dict[str, Any]] = []
    created: list[ServiceOrder] = []
    outer = session.begin_nested()
    for line, raw in zip(lines, records, strict=True):
        if not any(raw.values()):
            continue  # a blank line
        try:
            data = order_schemas.OrderCreate.model_validate(
                _order_data(raw, customers, items))
        except _RowError as exc:
            errors.append({"line": line, "field": exc.field, "message": exc.message})
            continue
        except ValidationError as exc:
            errors.extend(
                {"line": line, "field": ".".join(str(x) for x in e["loc"]) or "row",
                 "message": e["msg"]}
                for e in exc.errors())
            continue
        row_savepoint = session.begin_nested()
        try:
            created.append(orders_service.create_order(session, data=data, user_id=user_id,
                                                       now=now))
            row_savepoint.commit()
        except DomainError as exc:
            row_savepoint.rollback()
            errors.append({"line": line, "field": exc.field or "row", "message": exc.detail})
    if errors:
        outer.rollback()
        first = errors[0]
        bad_lines = sorted({e["line"] for e in errors})
        raise InvalidImport(
            f"nothing was imported: {len(bad_lines)} bad row(s) at line(s) "
            f"{', '.join(map(str, bad_lines))}; line {first['line']}: {first['field']}: "
            f"{first['message']}",
            field="file", errors=errors,
        )
    if not created:
        outer.rollback()
        raise InvalidImport("the file has no rows", field="file",
                            errors=[{"line": 2, "field": "file", "message": "no rows"}])
    outer.commit()
    return created


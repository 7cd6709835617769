"""Profit and loss of a contract, by month: what it earned against what serving it cost.

Revenue, net of VAT, in the contract's currency:

- ``contract_revenue``: the contract's own documents. A period's prepaid
  invoice is earned over its days, so its net is spread over the months of the
  period by day (in whole minor units that add up); adjustment invoices count in
  the month they were issued, credit notes (of adjustments, or written against a
  contract invoice) come off in theirs.
- ``extras_revenue``: what the customer paid on top, on the orders served under
  the contract (their invoices less their credit notes; warranty claims to
  suppliers are not the customer's money and stay out).

Cost, from the orders served under the contract:

- ``parts_cost``: parts at the cost recorded on the line when it was used;
- ``labour_cost``: every minute logged on time entries (billable or not, travel
  included: a technician is paid while he drives) at the technician's cost rate,
  and service lines' hours at the labour type's cost rate;
- ``travel_cost``: the distance driven, ``travel_km`` (the ``distance_km`` of the
  travel time entries; one without it adds no kilometres), at ``cost_per_km``
  (``settings.travel_cost_per_km``: what the vehicle costs, on top of the
  driver's time).

Everything is attributed to the month of its local date in ``tz``; each month's
amounts are summed exactly and rounded half-up to the currency once, and the
totals add the rounded months.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

from contracts.errors import ContractNotFound
from contracts.models import Contract
from dispatch.core.db import ScaledDecimal
from dispatch.core.errors import ValidationFailed
from dispatch.core.money import ZERO, quantize, round_to
from orders.billing.models import Invoice, InvoiceKind
from orders.models import LineKind, OrderLine, ServiceOrder, TimeEntry
from orders.totals import split_proportionally

MAX_MONTHS = 120
# travel_km is a distance, not money: it is what travel_cost prices.
COLUMNS = ["month", "contract_revenue", "extras_revenue", "revenue", "parts_cost",
           "labour_cost", "travel_km", "travel_cost", "cost", "profit"]
SHEET_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHART_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
# The chart's stacked bars: (field, legend, colour); greens earn, reds and ambers cost.
_REVENUE_BARS = (("contract_revenue", "contract revenue", "#2e7d32"),
                 ("extras_revenue", "extras revenue", "#81c784"))
_COST_BARS = (("parts_cost", "parts cost", "#c62828"), ("labour_cost", "labour cost", "#ef6c00"),
              ("travel_cost", "travel cost (km)", "#ffb300"))

# The technicians table belongs to dispatch, which orders may not import; the cost rate
# (per hour, what his work costs the company) is all profit and loss needs.
_technicians = table("technicians", column("id"), column("cost_rate", ScaledDecimal(4)))


@dataclass(frozen=True, slots=True)
class MonthPnl:
    month: date
    contract_revenue: Decimal
    extras_revenue: Decimal
    parts_cost: Decimal
    labour_cost: Decimal
    travel_km: Decimal
    travel_cost: Decimal

    @property
    def revenue(self) -> Decimal:
        return self.contract_revenue + self.extras_revenue

    @property
    def cost(self) -> Decimal:
        return self.parts_cost + self.labour_cost + self.travel_cost

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.cost

    def row(self) -> dict[str, object]:
        return {"month": f"{self.month:%Y-%m}", **{k: getattr(self, k) for k in COLUMNS[1:]}}


# The fields of MonthPnl after its month: what months and totals add up.
_AMOUNTS = tuple(f.name for f in fields(MonthPnl))[1:]


@dataclass(frozen=True, slots=True)
class ContractPnl:
    contract_id: int
    contract_number: str
    currency: str
    start: date
    end: date
    months: tuple[MonthPnl, ...]
    cost_per_km: Decimal

    @property
    def totals(self) -> MonthPnl:
        return MonthPnl(self.start.replace(day=1), **{
            name: sum((getattr(m, name) for m in self.months), ZERO) for name in _AMOUNTS})


def _months(start: date, end: date) -> Iterator[date]:
    month = start.replace(day=1)
    while month <= end:
        yield month
        month = (month + timedelta(days=32)).replace(day=1)


def _local(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def _spread(net: Decimal, first: date, last: date, currency: str) -> dict[date, Decimal]:
    """``net`` over the months of [first, last] in proportion to their days."""
    days: dict[date, int] = defaultdict(int)
    day = first
    while day <= last:
        days[day.replace(day=1)] += 1
        day += timedelta(days=1)
    months = sorted(days)
    shares = split_proportionally(net, [Decimal(days[m]) for m in months], currency)
    return dict(zip(months, shares, strict=True))


def contract_pnl(session: Session, *, contract_id: int, tz: str, today: date,
                 cost_per_km: Decimal, start: date | None = None,
                 end: date | None = None) -> ContractPnl:
    """The contract's profit and loss per month from ``start`` to ``end`` (both inclusive;
    default: the contract's start to its end or ``today``, whichever comes first), with
    kilometres driven costed at ``cost_per_km`` in the contract's currency."""
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise ContractNotFound(f"no contract with id {contract_id}", field="contract_id")
    start = start or contract.start_date
    end = end or min(contract.end_date, max(today, contract.start_date))
    if end < start:
        raise ValidationFailed(f"to {end} is before from {start}", field="to")
    if len(list(_months(start, end))) > MAX_MONTHS:
        raise ValidationFailed(f"at most {MAX_MONTHS} months at a time", field="to")
    zone = ZoneInfo(tz)
    currency = contract.currency
    sums: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))

    def add(kind: str, day: date, amount: Decimal) -> None:
        if start <= day <= end:
            sums[kind][day.replace(day=1)] += amount

    # Revenue: the contract's own documents, and credit notes written against them.
    own = list(session.scalars(select(Invoice).where(Invoice.contract_id == contract.id)))
    own_ids = [x.id for x in own if x.kind == InvoiceKind.invoice]
    credits = list(session.scalars(select(Invoice).where(
        Invoice.credited_invoice_id.in_(own_ids), Invoice.contract_id.is_(None)))) \
        if own_ids else []
    for doc in own + credits:
        if doc.kind == InvoiceKind.invoice and doc.period_start is not None:
            for month, share in _spread(doc.net, doc.period_start, doc.period_end,
                                        currency).items():
                if start.replace(day=1) <= month <= end:
                    # A period's share goes to its month (partial first/last months included).
                    sums["contract_revenue"][month] += share
            continue
        sign = 1 if doc.kind == InvoiceKind.invoice else -1
        add("contract_revenue", _local(doc.issued_at, zone), sign * doc.net)

    # Revenue: invoices (less credit notes) of the orders served under the contract.
    orders = select(ServiceOrder.id).where(ServiceOrder.contract_id == contract.id)
    for doc in session.scalars(select(Invoice).where(Invoice.order_id.in_(orders),
                                                     Invoice.customer_id.is_not(None),
                                                     Invoice.contract_id.is_(None))):
        sign = 1 if doc.kind == InvoiceKind.invoice else -1
        add("extras_revenue", _local(doc.issued_at, zone), sign * doc.net)

    # Cost: parts and service lines at their recorded cost.
    for line in session.scalars(select(OrderLine).where(OrderLine.order_id.in_(orders))):
        kind = "parts_cost" if line.kind == LineKind.part else "labour_cost"
        add(kind, _local(line.created_at, zone), line.quantity * line.unit_cost)

    # Cost: every minute logged (billable or not, driving too) at the technician's cost
    # rate; the kilometres driven at the cost per km.
    rows = session.execute(
        select(TimeEntry.started_at, TimeEntry.billed_minutes, TimeEntry.distance_km,
               _technicians.c.cost_rate)
        .join(_technicians, _technicians.c.id == TimeEntry.technician_id)
        .where(TimeEntry.order_id.in_(orders)))
    for started_at, minutes, km, rate in rows:
        day = _local(started_at, zone)
        add("labour_cost", day, Decimal(minutes) * (rate or ZERO) / 60)
        if km:
            add("travel_km", day, km)
            add("travel_cost", day, km * cost_per_km)

    def q(kind: str, month: date) -> Decimal:
        if kind == "travel_km":
            return round_to(sums[kind][month], 3)
        return quantize(sums[kind][month], currency)

    months = tuple(MonthPnl(m, **{kind: q(kind, m) for kind in _AMOUNTS})
                   for m in _months(start, end))
    return ContractPnl(contract.id, contract.number, currency, start, end, months, cost_per_km)


# --- export and chart --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileOut:
    content: bytes
    media_type: str
    filename: str


def export(pnl: ContractPnl, fmt: str) -> FileOut:
    """The months as a spreadsheet (pandas): one row per month and a total row."""
    import pandas as pd

    if fmt not in SHEET_TYPES:
        raise ValidationFailed(f"format is one of {', '.join(SHEET_TYPES)}", field="format")
    rows = [m.row() for m in pnl.months] + [pnl.totals.row() | {"month": "total"}]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    buffer = io.BytesIO()
    name = f"pnl-{pnl.contract_number}-{pnl.start:%Y%m}-{pnl.end:%Y%m}"
    if fmt == "csv":
        frame.to_csv(buffer, index=False, encoding="utf-8")
    else:
        frame.to_excel(buffer, index=False, sheet_name="profit and loss", engine="openpyxl")
    return FileOut(buffer.getvalue(), SHEET_TYPES[fmt], f"{name}.{fmt}")


def chart(pnl: ContractPnl, fmt: str) -> FileOut:
    """Revenue against cost by month (matplotlib, Agg backend: no display needed): per month
    a revenue bar stacked by source and a cost bar stacked by category, the profit as a
    line. Amounts become floats here only, to be drawn."""
    if fmt not in CHART_TYPES:
        raise ValidationFailed(f"format is one of {', '.join(CHART_TYPES)}", field="format")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels = [f"{m.month:%Y-%m}" for m in pnl.months]
    x = range(len(labels))
    # The legend sits right of the axes, off the bars.
    fig = Figure(figsize=(max(6.0, 0.7 * len(labels) + 2) + 1.8, 4.0), dpi=100,
                 layout="constrained")
    ax = fig.add_subplot()
    for offset, stack in ((-0.2, _REVENUE_BARS), (0.2, _COST_BARS)):
        bottom = [0.0] * len(labels)
        for name, label, colour in stack:
            heights = [float(getattr(m, name)) for m in pnl.months]
            ax.bar([i + offset for i in x], heights, width=0.4, bottom=bottom, label=label,
                   color=colour)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.plot(list(x), [float(m.profit) for m in pnl.months], marker="o", color="#1565c0",
            label="profit")
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.set_xticks(list(x), labels, rotation=45, ha="right")
    ax.set_ylabel(pnl.currency)
    ax.set_title(f"{pnl.contract_number}: revenue vs cost by month")
    fig.legend(loc="outside right upper", fontsize="small")
    buffer = io.BytesIO()
    # SVG keeps its text as text (searchable, smaller) rather than glyph outlines.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    name = f"pnl-{pnl.contract_number}-{pnl.start:%Y%m}-{pnl.end:%Y%m}"
    return FileOut(buffer.getvalue(), CHART_TYPES[fmt], f"{name}.{fmt}")

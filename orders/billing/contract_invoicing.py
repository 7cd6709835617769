"""Contract invoices: prepaid per billing period, and the prorated changes of a period.

A contract is invoiced per billing period (contracts.proration.periods, counted
from its start date), in advance: every period that starts on or before the
run's ``until`` is due. Each period is invoiced once: the invoice carries the
contract and the period's first day, and a unique key on (contract, period
start, kind) makes a second invoice for it impossible, so when two runs race
(PostgreSQL) the loser's insert fails, its savepoint is rolled back — the
invoice number it took included — and the period counts as already invoiced.
Invoices take their numbers from the same series as orders' invoices.

The period's price is the contract's price as it stood on the period's first
day (``period_base_price``: indexations and item changes made later do not reach
back; those within the period are billed by their own adjustments), prorated
by day when the contract's end cuts the period short.

Pending adjustments (contracts' ContractAdjustment: an item added or removed
mid-period, prorated) are issued in the same run: a positive amount as an
invoice, a negative one as a credit note against the period's invoice (or, if
that period was never invoiced, the contract's latest period invoice). Each
adjustment is issued once: the rows are locked and re-read, and the document's
id is written back on them.

Contracts in suspension are skipped by the batch run; naming one explicitly is
a 409. Contract documents carry no VAT: a contract has no VAT rate of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from contracts.errors import ContractNotFound
from contracts.masterdata.models import Customer, Site
from contracts.models import (
    Contract,
    ContractAdjustment,
    ContractLine,
    ContractPriceChange,
    ContractStatus,
)
from contracts.proration import Period, period_price, periods
from dispatch.core import i18n
from dispatch.core.errors import InvalidState, ValidationFailed
from dispatch.core.money import ZERO, quantize
from orders.billing.models import Invoice, InvoiceKind, InvoiceLine
from orders.billing.service import BillingConfig, _bill_to_customer, _issued_by, _take_number

# Prepaid invoices are issued at most this far ahead of today (a yearly period's start).
MAX_HORIZON = timedelta(days=366)
# Statuses whose due periods are invoiced: running contracts, and expired ones for the
# periods they ran (a late run still bills what was served). Suspended ones wait.
INVOICED = frozenset({ContractStatus.active, ContractStatus.expired})


class ContractNotInvoiceable(InvalidState):
    code = "contract-not-invoiceable"
    title = "The contract cannot be invoiced in its current status"


@dataclass(frozen=True, slots=True)
class Skipped:
    contract_id: int
    contract_number: str
    reason: str
    adjustment_id: int | None = None


@dataclass(slots=True)
class InvoicingRun:
    """What one run issued: period invoices, adjustment invoices and credit notes, how many
    due periods were already invoiced (by an earlier or a concurrent run), and what it
    skipped and why."""

    invoices: list[Invoice] = field(default_factory=list)
    adjustments: list[Invoice] = field(default_factory=list)
    already_invoiced: int = 0
    skipped: list[Skipped] = field(default_factory=list)


def period_base_price(contract: Contract, period: Period, *, lines: list[ContractLine],
                      changes: list[ContractPriceChange],
                      adjusted: set[tuple[int | None, date]]) -> Decimal:
    """The price per period in force when ``period`` began, before any change that is billed
    on its own (contracts keep only their current price).

    Indexations later than the period's start are undone with the old price they recorded
    (``changes`` by effective date). Items added or removed after the start — or on it,
    when that change left an adjustment (``adjusted``: line id and period start) — are
    undone with the item's share, taken back through the indexations that raised it since.
    A period invoiced before any change (the usual case) is simply billed at the price.
    """
    later = [c for c in changes if c.effective_on > period.start]
    price = later[0].old_price if later else contract.price_per_period
    # The recorded old price already includes changes dated before that indexation.
    horizon = later[0].effective_on if later else None

    def share(line: ContractLine, since: date) -> Decimal:
        value = line.price_per_period
        for c in later:
            if c.effective_on > since and (line.removed_on is None
                                           or line.removed_on > c.effective_on):
                value = value * c.old_price / c.new_price if c.new_price else value
        return value

    def undo(day: date | None, line: ContractLine) -> bool:
        if day is None or (horizon is not None and day >= horizon):
            return False
        return day > period.start or (day == period.start and
                                      (line.id, period.start) in adjusted)

    for line in lines:
        if undo(line.added_on, line):
            price -= share(line, line.added_on)
        if undo(line.removed_on, line):
            price += share(line, line.removed_on)
    return max(quantize(price, contract.currency), ZERO)


def _timezone(session: Session, customer: Customer, config: BillingConfig) -> str:
    site = session.scalar(select(Site).where(Site.customer_id == customer.id)
                          .order_by(Site.id).limit(1))
    return site.timezone if site is not None else config.timezone


def _document(session: Session, *, contract: Contract, kind: InvoiceKind, amount: Decimal,
              description: str, note: str, user_id: int | None, now: datetime,
              config: BillingConfig, period: Period | None = None,
              credited: Invoice | None = None) -> Invoice:
    """One contract document with one line of ``amount`` (positive), numbered in its series."""
    customer = contract.customer
    series = config.credit_note_series if kind == InvoiceKind.credit_note else \
        config.invoice_series
    number, full_number = _take_number(session, series)
    line = InvoiceLine(
        position=1, description=description[:300], quantity=Decimal(1), unit_price=amount,
        discount_percent=ZERO, vat_rate=ZERO, value=amount, order_discount=ZERO, net=amount,
        vat=ZERO, total=amount, warranty=False,
    )
    invoice = Invoice(
        series=series, number=number, full_number=full_number, kind=kind, order_id=None,
        **_bill_to_customer(customer), **_issued_by(config), currency=contract.currency,
        locale=i18n.normalize_locale(customer.locale),
        timezone=_timezone(session, customer, config), issued_at=now, issued_by_id=user_id,
        subtotal=amount, discount=ZERO, net=amount, vat=ZERO, total=amount,
        discount_percent=None, credited_invoice_id=credited.id if credited else None,
        time_charges_waived=False, note=note, contract_id=contract.id,
        period_start=period.start if period else None,
        period_end=period.last_day if period else None,
    )
    invoice.lines = [line]
    session.add(invoice)
    session.flush()
    return invoice


def _period_invoiced(session: Session, contract_id: int, start: date) -> bool:
    return session.scalar(
        select(Invoice.id).where(Invoice.contract_id == contract_id,
                                 Invoice.period_start == start,
                                 Invoice.kind == InvoiceKind.invoice)
    ) is not None


def _invoice_periods(session: Session, contract: Contract, *, until: date, user_id: int | None,
                     now: datetime, config: BillingConfig, run: InvoicingRun) -> None:
    changes = list(session.scalars(
        select(ContractPriceChange).where(ContractPriceChange.contract_id == contract.id)
        .order_by(ContractPriceChange.effective_on)))
    lines = list(session.scalars(select(ContractLine)
                                 .where(ContractLine.contract_id == contract.id)))
    adjusted = {(line_id, start) for line_id, start in session.execute(
        select(ContractAdjustment.contract_line_id, ContractAdjustment.period_start)
        .where(ContractAdjustment.contract_id == contract.id))}
    for period in periods(contract.start_date, contract.billing_period, until=until,
                          contract_end=contract.end_date):
        if _period_invoiced(session, contract.id, period.start):
            run.already_invoiced += 1
            continue
        price = period_base_price(contract, period, lines=lines, changes=changes,
                                  adjusted=adjusted)
        amount = period_price(price, period, currency=contract.currency)
        days = (f" ({period.days} of {period.full_days} days)" if period.is_partial else "")
        text = (f"{contract.number} {contract.title}: service {period.start.isoformat()} to "
                f"{period.last_day.isoformat()}{days}")
        try:
            with session.begin_nested():
                invoice = _document(
                    session, contract=contract, kind=InvoiceKind.invoice, amount=amount,
                    description=text, note=f"contract {contract.number}, prepaid period "
                    f"{period.start.isoformat()} to {period.last_day.isoformat()}",
                    user_id=user_id, now=now, config=config, period=period)
        except IntegrityError:
            # A concurrent run invoiced this period first (the unique key said so).
            run.already_invoiced += 1
            continue
        run.invoices.append(invoice)


def _credited_invoice(session: Session, adjustment: ContractAdjustment) -> Invoice | None:
    own = session.scalar(
        select(Invoice).where(Invoice.contract_id == adjustment.contract_id,
                              Invoice.period_start == adjustment.period_start,
                              Invoice.kind == InvoiceKind.invoice))
    if own is not None:
        return own
    return session.scalar(
        select(Invoice).where(Invoice.contract_id == adjustment.contract_id,
                              Invoice.period_start.is_not(None),
                              Invoice.kind == InvoiceKind.invoice)
        .order_by(Invoice.period_start.desc()).limit(1))


def _issue_adjustments(session: Session, contract: Contract, *, until: date,
                       user_id: int | None, now: datetime, config: BillingConfig,
                       run: InvoicingRun) -> None:
    pending = session.scalars(
        select(ContractAdjustment)
        .where(ContractAdjustment.contract_id == contract.id,
               ContractAdjustment.invoiced_invoice_id.is_(None),
               ContractAdjustment.effective_on <= until)
        .order_by(ContractAdjustment.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for adj in pending:
        if adj.invoiced_invoice_id is not None:
            continue  # a concurrent run issued it while this one waited for the lock
        amount = quantize(adj.amount, adj.currency)
        if amount == ZERO:
            run.skipped.append(Skipped(contract.id, contract.number,
                                       "the adjustment amounts to nothing", adj.id))
            continue
        last_day = adj.period_end - timedelta(days=1)  # period_end is exclusive
        text = (f"{contract.number}: {adj.reason} — {adj.days} of {adj.period_days} days of "
                f"{adj.period_start.isoformat()} to {last_day.isoformat()}")
        if amount > ZERO:
            doc = _document(session, contract=contract, kind=InvoiceKind.invoice, amount=amount,
                            description=text, note=f"contract {contract.number}: {adj.reason}",
                            user_id=user_id, now=now, config=config)
        else:
            credited = _credited_invoice(session, adj)
            if credited is None:
                run.skipped.append(Skipped(
                    contract.id, contract.number,
                    "a credit needs an invoice to credit; no period of the contract is "
                    "invoiced yet", adj.id))
                continue
            doc = _document(session, contract=contract, kind=InvoiceKind.credit_note,
                            amount=-amount, description=text,
                            note=f"contract {contract.number}: {adj.reason}", user_id=user_id,
                            now=now, config=config, credited=credited)
        adj.invoiced_invoice_id = doc.id
        run.adjustments.append(doc)
    session.flush()


def invoice_contracts(session: Session, *, until: date, user_id: int | None, now: datetime,
                      contract_id: int | None = None,
                      config: BillingConfig = BillingConfig()) -> InvoicingRun:
    """Issue every contract invoice due up to ``until`` and the pending adjustments.

    With ``contract_id`` only that contract, which must be active or expired
    (404 when unknown, 409 when suspended or not running: nothing changes).
    Without it, every active or expired contract; suspended ones are listed as
    skipped. Running it again issues nothing new.
    """
    if until > now.date() + MAX_HORIZON:
        raise ValidationFailed(f"until {until} is more than {MAX_HORIZON.days} days ahead",
                               field="until")
    stmt = (select(Contract).options(selectinload(Contract.customer))
            .where(Contract.start_date <= until).order_by(Contract.id))
    if contract_id is not None:
        contract = session.get(Contract, contract_id)
        if contract is None:
            raise ContractNotFound(f"no contract with id {contract_id}", field="contract_id")
        if contract.status not in INVOICED:
            hint = ("resume it first" if contract.status == ContractStatus.suspended
                    else "only active or expired contracts are invoiced")
            raise ContractNotInvoiceable(
                f"contract {contract.number} is {contract.status}; {hint}",
                field="contract_id", current=contract.status,
                invoiced_statuses=sorted(INVOICED))
        stmt = stmt.where(Contract.id == contract_id)
    else:
        stmt = stmt.where(Contract.status.in_([*INVOICED, ContractStatus.suspended]))
    run = InvoicingRun()
    for contract in session.scalars(stmt).all():
        if contract.status == ContractStatus.suspended:
            run.skipped.append(Skipped(contract.id, contract.number, "contract suspended"))
            continue
        _invoice_periods(session, contract, until=until, user_id=user_id, now=now,
                         config=config, run=run)
        _issue_adjustments(session, contract, until=until, user_id=user_id, now=now,
                           config=config, run=run)
    return run

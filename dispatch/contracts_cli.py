"""``tecnico contracts ...``: the periodic jobs of contracts, for cron or by hand.

``invoice --until DATE`` issues the contract invoices due up to DATE and the
pending prorated adjustments; ``renew --until DATE`` renews the auto-renewing
contracts whose term ends before DATE (indexed) and expires the others whose
last day has passed; ``generate-visits --until DATE`` creates the
preventive-maintenance orders due up to DATE; ``release-appointments``
releases the appointments not confirmed in time. Each runs in one transaction
(committed on success) and is safe to run again: nothing is issued twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn

import typer

from dispatch.core.clock import SystemClock
from dispatch.core.db import make_engine, make_sessionmaker, session_scope
from dispatch.core.errors import DomainError
from dispatch.core.money import quantize
from dispatch.core.settings import get_settings

contracts_app = typer.Typer(
    help="Contract jobs: invoicing, renewals, maintenance visits, appointments.",
    no_args_is_help=True)


def _sessions():  # type: ignore[no-untyped-def]
    from dispatch.registry import load_metadata

    # Every table, so foreign keys to tables no job imports (technicians) resolve.
    load_metadata()
    return make_sessionmaker(make_engine(get_settings().database_url))


def _day(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        typer.secho(f"error: {value!r} is not a date (YYYY-MM-DD)", err=True,
                    fg=typer.colors.RED)
        raise typer.Exit(2) from None


def _fail(exc: DomainError) -> NoReturn:
    typer.secho(f"error: {exc.detail}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


@contracts_app.command("invoice")
def invoice(
    until: str = typer.Option(..., help="issue the periods starting up to this day, YYYY-MM-DD"),
    contract: int | None = typer.Option(None, help="only this contract id"),
) -> None:
    """Issue the contract invoices due up to UNTIL (prepaid per period) and the adjustments."""
    from orders.billing.contract_invoicing import invoice_contracts
    from orders.billing.service import BillingConfig

    day = _day(until).date()
    now = SystemClock().now()
    try:
        with session_scope(_sessions()) as session:
            run = invoice_contracts(session, until=day, contract_id=contract, user_id=None,
                                    now=now, config=BillingConfig.from_settings(get_settings()))
            for doc in run.invoices + run.adjustments:
                typer.echo(f"{doc.full_number}\t{doc.kind}\tcontract {doc.contract_id}\t"
                           f"{doc.total} {doc.currency}")
            for skipped in run.skipped:
                typer.echo(f"skipped {skipped.contract_number}: {skipped.reason}")
            typer.echo(f"issued {len(run.invoices)} period invoices and "
                       f"{len(run.adjustments)} adjustments; {run.already_invoiced} periods "
                       "were invoiced already")
    except DomainError as exc:
        _fail(exc)


@contracts_app.command("renew")
def renew(
    until: str = typer.Option(..., help="renew the terms ending before this day, YYYY-MM-DD"),
) -> None:
    """Renew the auto-renewing contracts whose term ends before UNTIL (their price indexed)
    and expire the others whose last day has passed. A contract that cannot be renewed (a
    missing index month, an overlap) is left as it was and listed; the others are kept, and
    the exit status is then 1 so that cron reports it."""
    from contracts.service import run_renewals

    day = _day(until).date()
    try:
        with session_scope(_sessions()) as session:
            run = run_renewals(session, until=day, user_id=None, now=SystemClock().now(),
                               default_tz=get_settings().default_timezone)
            for contract, change in run.renewed:
                cur = contract.currency
                indexed = "" if change is None else (
                    f"\t{change.index_name} {quantize(change.old_price, cur)} -> "
                    f"{quantize(change.new_price, cur)}")
                typer.echo(f"{contract.number}\trenewed to {contract.end_date}\t"
                           f"{quantize(contract.price_per_period, cur)} {cur}{indexed}")
            for contract in run.expired:
                typer.echo(f"{contract.number}\texpired on {contract.end_date}")
            for contract, problem in run.failed:
                typer.echo(f"failed {contract.number}: {problem['detail']}")
            typer.echo(f"renewed {len(run.renewed)} contracts, expired {len(run.expired)}; "
                       f"{len(run.failed)} could not be renewed")
    except DomainError as exc:
        _fail(exc)
    if run.failed:
        raise typer.Exit(1)


@contracts_app.command("generate-visits")
def generate_visits(
    until: str = typer.Option(..., help="create the visits due up to this day, YYYY-MM-DD"),
) -> None:
    """Create the preventive-maintenance orders due up to UNTIL."""
    from orders.maintenance import generate_visits as generate

    day = _day(until).date()
    try:
        with session_scope(_sessions()) as session:
            run = generate(session, until=day, user_id=None, now=SystemClock().now())
            for g in run.created:
                typer.echo(f"{g.order.number}\t{g.contract_number}\tline {g.contract_line_id}\t"
                           f"due {g.visit.due}\t{g.visit.earliest}..{g.visit.latest}")
            for skipped in run.skipped:
                typer.echo(f"skipped {skipped.contract_number} line {skipped.contract_line_id}: "
                           f"{skipped.reason}")
            typer.echo(f"created {len(run.created)} maintenance orders; "
                       f"{run.already_generated} were generated already")
    except DomainError as exc:
        _fail(exc)


@contracts_app.command("release-appointments")
def release_appointments() -> None:
    """Release the appointments not confirmed within settings.confirmation_hours."""
    from orders.appointments import release_lapsed_appointments

    window = timedelta(hours=get_settings().confirmation_hours)
    try:
        with session_scope(_sessions()) as session:
            released = release_lapsed_appointments(session, now=SystemClock().now(),
                                                   window=window)
            for x in released:
                typer.echo(f"{x.number}\tappointment {x.appointment_start.isoformat()} released "
                           f"(not confirmed by {x.deadline.isoformat()})")
            typer.echo(f"released {len(released)} appointments")
    except DomainError as exc:
        _fail(exc)

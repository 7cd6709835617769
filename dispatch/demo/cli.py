"""``tecnico demo seed``: the demo company and its planned day.

Writes the demo users' tokens to var/demo-tokens.txt and the URLs of the pages worth
opening (API docs, the board of the planned day, tec01's route list) to
var/demo-urls.txt, and prints them.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import typer

from dispatch.core.clock import SystemClock
from dispatch.core.db import make_engine, make_sessionmaker, session_scope
from dispatch.core.settings import get_settings

demo_app = typer.Typer(help="The demo company.", no_args_is_help=True)


@demo_app.command("seed")
def seed(
    if_empty: bool = typer.Option(False, help="do nothing when the database has customers"),
    seed: int = typer.Option(7, help="random seed (the demo is deterministic)"),
    customers: int = typer.Option(300, min=1),
    technicians: int = typer.Option(25, min=1),
    orders: int = 400,
    contracts: int = 40,
    plan_seconds: float = typer.Option(
        15.0, min=0, max=600, help="solver seconds for the demo day's scheduling run (0: "
                                   "leave the day unplanned)"),
    base_url: str = typer.Option("http://127.0.0.1:8000",
                                 help="where the demo is served, for the printed URLs"),
    tokens_file: Path = typer.Option(Path("var/demo-tokens.txt"), help="where tokens go"),
    urls_file: Path = typer.Option(Path("var/demo-urls.txt"), help="where the URLs go"),
) -> None:
    """Seed a believable company (technicians, customers, sites, items, orders, invoices)
    and plan its demo day with the solver."""
    from dispatch.core.errors import DomainError
    from dispatch.demo.plan import DemoPlanFailed, demo_urls, plan_day
    from dispatch.demo.seed import already_seeded, seed_demo

    settings = get_settings()
    sessions = make_sessionmaker(make_engine(settings.database_url))
    clock = SystemClock()
    started = time.perf_counter()
    with session_scope(sessions) as session:
        if already_seeded(session):
            if if_empty:
                typer.echo("demo: the database already has data; left as it is")
                typer.echo(urls_file.read_text() if urls_file.exists() else
                           f"  API docs: {base_url.rstrip('/')}/docs\n", nl=False)
                return
            typer.secho("error: the database already has data (use a fresh one)", err=True,
                        fg=typer.colors.RED)
            raise typer.Exit(2)
        summary = seed_demo(
            session, now=clock.now(), settings=settings, seed=seed, customers=customers,
            technicians=technicians, orders_total=orders, contracts_total=contracts,
            progress=lambda msg: typer.echo(f"  seeding {msg}"),
            close_order=_closer(settings),
        )
    tokens_file.parent.mkdir(parents=True, exist_ok=True)
    tokens_file.write_text(
        "".join(f"{user}\t{token}\n" for user, token in summary.users.items())
    )
    seeded = time.perf_counter() - started
    typer.echo(
        f"demo: {summary.technicians} technicians, {summary.customers} customers, "
        f"{summary.sites} sites, {summary.service_items} service items, "
        f"{summary.contracts} contracts, "
        f"{sum(summary.orders.values())} orders {summary.orders}, {summary.invoices} invoices, "
        f"{summary.booked_by_hand} booked by hand after the demo day ({seeded:.1f} s)"
    )
    day = summary.day
    if plan_seconds > 0:
        typer.echo(f"  planning {day} on the solver ({plan_seconds:g} s)")
        try:
            planned = plan_day(sessions, day=day, clock=clock, settings=settings,
                               time_limit_s=plan_seconds, seed=seed)
        except (DemoPlanFailed, DomainError) as exc:  # a failed run; no technician works
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(1) from None
        typer.echo(f"demo: planned {planned.visits} visits for {planned.technicians} "
                   f"technicians on {day} ({planned.unassigned} left unassigned; "
                   f"run {planned.run_id})")
    typer.echo(f"demo: API tokens in {tokens_file}; done in {time.perf_counter() - started:.1f} s")

    width = 20
    lines = [f"Tecnico demo: the planned day is {day.isoformat()} ({day:%A})"]
    for what, url, how in demo_urls(base_url, day=day, technician_id=summary.route_technician_id):
        lines.append(f"  {what + ':':<{width}}{url}" + (f"  ({how})" if how else ""))
    lines.append(f"  {'Tokens:':<{width}}{tokens_file}  (user<TAB>token; a page asks once and "
                 "keeps it in the tab)")
    text = "\n".join(lines) + "\n"
    urls_file.parent.mkdir(parents=True, exist_ok=True)
    urls_file.write_text(text)
    typer.echo("")
    typer.echo(text, nl=False)


def _closer(settings):  # type: ignore[no-untyped-def]
    """Billing's closing use case, when the billing package provides it; the invoices name
    the configured company as their issuer."""
    try:
        from dispatch.demo.closing import close_demo_order
        from orders.billing.service import BillingConfig
    except ImportError:
        return None
    return partial(close_demo_order, config=BillingConfig.from_settings(settings))

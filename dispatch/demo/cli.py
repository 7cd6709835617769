"""``tecnico demo seed``: the demo company, its users' tokens written to var/demo-tokens.txt."""

from __future__ import annotations

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
    customers: int = 300,
    technicians: int = 25,
    orders: int = 400,
    contracts: int = 40,
    tokens_file: Path = typer.Option(Path("var/demo-tokens.txt"), help="where tokens go"),
) -> None:
    """Seed a believable company: technicians, customers, sites, items, orders, invoices."""
    from dispatch.demo.seed import already_seeded, seed_demo

    settings = get_settings()
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with session_scope(sessions) as session:
        if already_seeded(session):
            if if_empty:
                typer.echo("demo: the database already has data; left as it is")
                return
            typer.secho("error: the database already has data (use a fresh one)", err=True,
                        fg=typer.colors.RED)
            raise typer.Exit(2)
        summary = seed_demo(
            session, now=SystemClock().now(), seed=seed, customers=customers,
            technicians=technicians, orders_total=orders, contracts_total=contracts,
            progress=lambda msg: typer.echo(f"  seeding {msg}"),
            close_order=_closer(),
        )
    tokens_file.parent.mkdir(parents=True, exist_ok=True)
    tokens_file.write_text(
        "".join(f"{user}\t{token}\n" for user, token in summary.users.items())
    )
    typer.echo(
        f"demo: {summary.technicians} technicians, {summary.customers} customers, "
        f"{summary.sites} sites, {summary.service_items} service items, "
        f"{summary.contracts} contracts, "
        f"{sum(summary.orders.values())} orders {summary.orders}, {summary.invoices} invoices"
    )
    typer.echo(f"demo: API tokens in {tokens_file}")


def _closer():  # type: ignore[no-untyped-def]
    """Billing's closing use case, when the billing package provides it."""
    try:
        from dispatch.demo.closing import close_demo_order
    except ImportError:
        return None
    return close_demo_order

"""The ``tecnico`` command line. Sub-commands that grow live in modules of their own."""

from __future__ import annotations

import typer

from dispatch.bench import bench_app
from dispatch.contracts_cli import contracts_app
from dispatch.core.clock import SystemClock
from dispatch.core.db import make_engine, make_sessionmaker, session_scope
from dispatch.core.settings import get_settings
from dispatch.demo.cli import demo_app
from dispatch.solve_cmd import solve_command

app = typer.Typer(help="Tecnico: field-service dispatch and scheduling.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users and roles.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(demo_app, name="demo")
app.add_typer(bench_app, name="bench")
app.add_typer(contracts_app, name="contracts")
app.command("solve")(solve_command)


def _sessions():  # type: ignore[no-untyped-def]
    settings = get_settings()
    return make_sessionmaker(make_engine(settings.database_url))


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations to TECNICO_DATABASE_URL (creates the SQLite file if needed)."""
    from dispatch.migrate import upgrade

    settings = get_settings()
    if settings.database_url.startswith("sqlite:///"):
        from pathlib import Path

        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@users_app.command("create")
def users_create(
    username: str,
    role: str = typer.Option(..., help="admin, dispatcher, technician or billing"),
    full_name: str = "",
    email: str = "",
    locale: str = "en",
) -> None:
    from dispatch.core.auth import create_user
    from dispatch.core.errors import DomainError

    try:
        with session_scope(_sessions()) as session:
            user = create_user(session, username=username, role=role, full_name=full_name,
                               email=email, locale=locale, now=SystemClock().now())
            typer.echo(f"user {user.username} ({user.role}) id={user.id}")
    except DomainError as exc:
        _fail(exc)


@tokens_app.command("create")
def tokens_create(username: str, name: str = "") -> None:
    """Print a new API token for USERNAME (shown once; only its hash is stored)."""
    from dispatch.core.auth import create_token
    from dispatch.core.errors import DomainError

    try:
        with session_scope(_sessions()) as session:
            typer.echo(create_token(session, username=username, name=name,
                                    now=SystemClock().now()))
    except DomainError as exc:
        _fail(exc)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, reload: bool = False) -> None:
    """Serve the API, the board and the route lists."""
    import uvicorn

    # The board's event streams never end on their own: on shutdown they get 5 s, then close.
    uvicorn.run("dispatch.app:create_app", factory=True, host=host, port=port, reload=reload,
                timeout_graceful_shutdown=5)


@app.command()
def worker(
    concurrency: int = typer.Option(1, min=1, help="runs executed at once (one process each)"),
    loglevel: str = typer.Option("info", help="debug, info, warning or error"),
) -> None:
    """Execute scheduling runs from TECNICO_BROKER_URL's queue (TECNICO_RUN_QUEUE)."""
    settings = get_settings()
    if not settings.broker_url:
        _fail(RuntimeError("TECNICO_BROKER_URL is not set: without a broker the API runs "
                           "scheduling jobs itself"))
    from dispatch.scheduling.celery_jobs import run_worker

    run_worker(settings, concurrency=concurrency, loglevel=loglevel)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

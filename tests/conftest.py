"""Database fixtures: every test that takes ``session`` or ``client`` runs twice,
on SQLite and on PostgreSQL.

Each backend is migrated once per test process (Alembic, like production);
PostgreSQL gets a schema of its own per process. Each test then runs inside a
transaction that is rolled back, so it sees a clean schema; tests that need
real commits (races) take ``committing_engine`` and the tables are emptied
afterwards. If PostgreSQL cannot be reached the PostgreSQL half skips, unless
``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from dispatch.core.clock import FixedClock
from dispatch.core.db import make_engine
from dispatch.core.settings import Settings
from dispatch.migrate import alembic_config

PG_URL = os.environ.get(
    "TECNICO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _migrate(engine: Engine) -> None:
    from alembic import command

    cfg = alembic_config(str(engine.url))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if backend == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "tecnico.db"
        eng = make_engine(f"sqlite:///{path}")
        _migrate(eng)
        yield eng
        eng.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no PostgreSQL"
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_URL} is required in CI: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL} not reachable: {type(exc).__name__}")
    eng = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    _migrate(eng)
    yield eng
    eng.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    if outer.is_active:
        outer.rollback()
    conn.close()


@pytest.fixture
def sessions(connection) -> sessionmaker[Session]:
    """Sessions joined to the test's transaction: their commits are savepoints."""
    return sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    s = sessions()
    yield s
    s.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url="sqlite://", geocoder_url="", var_dir=tmp_path, default_currency="BRL",
    )


@pytest.fixture
def app(settings: Settings, sessions: sessionmaker[Session], clock: FixedClock):
    from dispatch.app import create_app

    return create_app(settings, sessionmaker_=sessions, clock=clock)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def committing_engine(engine: Engine) -> Iterator[Engine]:
    """The real engine for tests that commit (races); tables are emptied afterwards."""
    yield engine
    from dispatch.registry import load_metadata

    tables = [t.name for t in reversed(load_metadata().sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def auth(session: Session, clock: FixedClock):
    """``auth("dispatcher")`` -> headers of a fresh user with that role."""
    from tests.factories import make_token

    def headers(role: str = "admin", **kw) -> dict[str, str]:
        token = make_token(session, role=role, now=clock.now(), **kw)
        session.commit()
        return {"Authorization": f"Bearer {token}"}

    return headers

"""Scheduling runs on a real Celery worker: the local Redis, ``tecnico worker`` as a
process, and a database both the test's app and the worker see.

``Worker`` runs ``python -m dispatch.cli worker`` against the test process's database (the
SQLite file, or PostgreSQL with the process's schema) on a queue and an events channel of
its own, so parallel test processes never take each other's runs. It starts in a session
of its own: ``kill`` ends it and its pool children together (a worker killed mid-run), and
``stop`` always leaves nothing running. ``serving``: an app on a committing database, for
tests whose runs execute on other threads or processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from dispatch.app import create_app
from dispatch.core.clock import Clock
from dispatch.core.db import make_sessionmaker, session_scope
from dispatch.core.settings import Settings
from tests.dispatch.scheduling.world import World, make_world
from tests.factories import make_token

REDIS_URL = os.environ.get("TECNICO_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
IN_CI = os.environ.get("CI", "").lower() == "true"


def redis_problem(url: str = REDIS_URL) -> str:
    """Why Redis at ``url`` cannot be used ("" when it can)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
        return ""
    except redis.RedisError as exc:
        return f"Redis at {url} not reachable: {type(exc).__name__}: {exc}"
    finally:
        client.close()


def shared_database_url(engine: Engine) -> str:
    """The URL another process opens to see what ``engine`` sees."""
    if engine.dialect.name == "sqlite":
        return engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        schema = conn.scalar(text("select current_schema()"))
    return engine.url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


class Worker:
    def __init__(self, *, database_url: str, redis_url: str, log: Path,
                 stale_after_s: float) -> None:
        self.database_url, self.redis_url, self.log = database_url, redis_url, log
        self.stale_after_s = stale_after_s
        self.queue = f"tecnico-test-{uuid.uuid4().hex[:12]}"
        self.channel = f"{self.queue}-events"
        self.proc: subprocess.Popen[bytes] | None = None

    def settings(self, var_dir: Path, **overrides: Any) -> Settings:
        """Settings of an app sending its runs to this worker."""
        return Settings(**{
            "database_url": self.database_url, "broker_url": self.redis_url,
            "run_queue": self.queue, "events_channel": self.channel, "geocoder_url": "",
            "osrm_url": "", "var_dir": var_dir, "default_currency": "BRL",
            "run_stale_after_s": self.stale_after_s} | overrides)

    def start(self, timeout: float = 90.0) -> Worker:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TECNICO_")} | {
            "TECNICO_DATABASE_URL": self.database_url, "TECNICO_BROKER_URL": self.redis_url,
            "TECNICO_RUN_QUEUE": self.queue, "TECNICO_EVENTS_CHANNEL": self.channel,
            "TECNICO_RUN_STALE_AFTER_S": str(self.stale_after_s), "TECNICO_GEOCODER_URL": "",
            "TECNICO_OSRM_URL": ""}
        with self.log.open("wb") as out:
            # cwd: the log's folder, so that no .env of a developer's is read
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dispatch.cli", "worker", "--concurrency", "1",
                 "--loglevel", "info"], env=env, cwd=self.log.parent, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while " ready." not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the worker did not start:\n{self.output()}")
            time.sleep(0.1)
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the worker and its pool children: a worker lost mid-run."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def shut_down(self, timeout: float = 30.0) -> int:
        """Warm shutdown, as a service manager stops it (SIGTERM); its exit status."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self) -> None:
        """Cold shutdown (the runs it holds are abandoned), SIGKILL if that hangs, then the
        worker's keys in Redis go."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGQUIT)
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
            except ProcessLookupError:
                pass
            with suppress(ProcessLookupError):  # children left by a parent that died first
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._forget_queue()

    def _forget_queue(self) -> None:
        forget_queues(self.redis_url, self.queue)


def forget_queues(url: str, prefix: str) -> None:
    """Delete the queues whose names start with ``prefix`` and their unacknowledged
    messages (a killed worker's, which kombu would otherwise put back later)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, decode_responses=True)
    try:
        for tag, raw in client.hscan_iter("unacked"):
            _message, exchange, routing_key = json.loads(raw)
            if exchange.startswith(prefix) or routing_key.startswith(prefix):
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
        keys = [k for pattern in (f"{prefix}*", f"_kombu.*{prefix}*")
                for k in client.scan_iter(match=pattern)]
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass  # leftovers of a unique name harm nobody
    finally:
        client.close()


@contextmanager
def serving(settings: Settings, engine: Engine, clock: Clock, *,
            orders: int = 8) -> Iterator[tuple[TestClient, dict[str, str], World]]:
    """The app of ``settings`` on the committing ``engine``, with the scheduling world
    (``orders`` ready orders) and a dispatcher's headers; its runner is shut down after."""
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        world = make_world(session, orders=orders)
        token = make_token(session, role="dispatcher", now=clock.now())
    app = create_app(settings, sessionmaker_=factory, clock=clock)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, {"Authorization": f"Bearer {token}"}, world
    finally:
        app.state.runner.shutdown(wait=True)

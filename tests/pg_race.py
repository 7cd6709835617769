"""Waiting for a race on PostgreSQL: has the second transaction queued behind the first?"""

from __future__ import annotations

import time

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session


def blocked_behind(engine: Engine, holder: Session, *, timeout: float = 10.0) -> bool:
    """True once another backend waits for a lock ``holder``'s transaction holds.

    Each poll is a transaction of its own: PostgreSQL takes one snapshot of
    ``pg_stat_activity`` per transaction, so polling inside one would never see a wait
    that began after the first look. Gives up after ``timeout`` seconds and then rolls
    ``holder`` back, so that a failing test's teardown is not stuck behind its locks."""
    pid = holder.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as watch:
            if watch.execute(text("SELECT count(*) FROM pg_stat_activity "
                                  "WHERE :pid = ANY(pg_blocking_pids(pid))"),
                             {"pid": pid}).scalar():
                return True
        time.sleep(0.05)
    holder.rollback()
    return False

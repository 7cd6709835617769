"""``tecnico contracts invoice|renew|generate-visits|release-appointments`` run as
subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.models import Contract
from dispatch.core.db import make_engine
from orders.billing.models import Invoice
from orders.models import ServiceOrder
from tests.factories import make_contract, make_contract_line, make_order


def _tecnico(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dispatch.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_contract_jobs_run_from_the_command_line_and_issue_nothing_twice(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 't.db'}"
    env = {**os.environ, "TECNICO_DATABASE_URL": url}
    assert _tecnico("db", "upgrade", env=env).returncode == 0
    engine = make_engine(url)
    now = datetime.now(UTC)
    with Session(engine) as s:
        contract = make_contract(s)
        make_contract_line(s, contract=contract, frequency_every=1, frequency_unit="months",
                           first_due_date=date(2026, 1, 10), flexibility_days=2)
        suspended = make_contract(s, status="suspended")
        make_order(s, status="scheduled", appointment_start=now + timedelta(days=1),
                   scheduled_start=now + timedelta(days=1),
                   appointment_proposed_at=now - timedelta(hours=25))
        s.commit()
        number, suspended_id, suspended_number = (contract.number, suspended.id,
                                                  suspended.number)

    run = _tecnico("contracts", "invoice", "--until", "2026-03-01", env=env)
    assert run.returncode == 0, run.stderr
    assert "INV-000001\tinvoice" in run.stdout and "INV-000003\tinvoice" in run.stdout
    assert f"skipped {suspended_number}: contract suspended" in run.stdout
    assert "issued 3 period invoices and 0 adjustments; 0 periods were invoiced already" in \
        run.stdout
    again = _tecnico("contracts", "invoice", "--until", "2026-03-01", env=env)
    assert "issued 0 period invoices and 0 adjustments; 3 periods were invoiced already" in \
        again.stdout
    refused = _tecnico("contracts", "invoice", "--until", "2026-03-01", "--contract",
                       str(suspended_id), env=env)
    assert refused.returncode == 2
    assert f"contract {suspended_number} is suspended" in refused.stderr
    bad = _tecnico("contracts", "invoice", "--until", "March", env=env)
    assert bad.returncode == 2 and "is not a date" in bad.stderr

    visits = _tecnico("contracts", "generate-visits", "--until", "2026-02-28", env=env)
    assert visits.returncode == 0, visits.stderr
    assert f"{number}\tline" in visits.stdout and "due 2026-02-10\t2026-02-08..2026-02-12" in \
        visits.stdout
    assert "created 2 maintenance orders; 0 were generated already" in visits.stdout
    assert "created 0 maintenance orders; 2 were generated already" in _tecnico(
        "contracts", "generate-visits", "--until", "2026-02-28", env=env).stdout

    released = _tecnico("contracts", "release-appointments", env=env)
    assert released.returncode == 0, released.stderr
    assert "released 1 appointments" in released.stdout

    with Session(engine) as s:
        ended = make_contract(s, auto_renew=False, start_date=date(2025, 1, 1),
                              end_date=date(2025, 12, 31))
        unindexed = make_contract(s, index_name="IPCA")
        s.commit()
        ended_number, unindexed_number = ended.number, unindexed.number
    renewals = _tecnico("contracts", "renew", "--until", "2027-01-01", env=env)
    # The renewals that could be made are kept; the one that could not makes the exit 1.
    assert renewals.returncode == 1, renewals.stderr
    assert f"{number}\trenewed to 2027-12-31\t1200.00 BRL\n" in renewals.stdout
    assert f"{suspended_number}\trenewed to 2027-12-31" in renewals.stdout
    assert f"{ended_number}\texpired on 2025-12-31" in renewals.stdout
    assert f"failed {unindexed_number}: " in renewals.stdout and "IPCA" in renewals.stdout
    assert "renewed 2 contracts, expired 1; 1 could not be renewed" in renewals.stdout
    again = _tecnico("contracts", "renew", "--until", "2027-01-01", env=env)
    assert "renewed 0 contracts, expired 0; 1 could not be renewed" in again.stdout

    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Invoice)) == 3
        assert s.scalar(select(func.count()).select_from(ServiceOrder)
                        .where(ServiceOrder.category == "maintenance")) == 2
        assert s.scalar(select(ServiceOrder.status).where(
            ServiceOrder.category != "maintenance")) == "ready"
        assert dict(s.execute(select(Contract.number, Contract.status)).all()) == {
            number: "active", suspended_number: "suspended", ended_number: "expired",
            unindexed_number: "active"}
        assert s.scalar(select(Contract.end_date).where(Contract.number == number)) == date(
            2027, 12, 31)
    engine.dispose()

"""The overlap rule under concurrency: two transactions putting one item under two
contracts at once on PostgreSQL; the second waits for the first and is refused."""

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts import schemas as s
from contracts.errors import CoverageOverlap
from contracts.models import ContractLine
from contracts.service import add_line
from tests.factories import make_contract, make_service_item, make_site
from tests.pg_race import blocked_behind

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.postgres_only
def test_a_second_transaction_adding_the_same_item_waits_and_is_refused(committing_engine):
    if committing_engine.dialect.name != "postgresql":
        pytest.skip("row locks only race on PostgreSQL; SQLite serialises transactions")
    with Session(committing_engine) as seed:
        site = make_site(seed)
        item = make_service_item(seed, site=site)
        first = make_contract(seed, customer=site.customer, with_line=False)
        second = make_contract(seed, customer=site.customer, with_line=False)
        seed.commit()
        item_id, first_id, second_id = item.id, first.id, second.id
    terms = s.ContractLineCreate(service_item_id=item_id, added_on=date(2026, 3, 2))
    a = Session(committing_engine)
    add_line(a, contract_id=first_id, data=terms, user_id=None, now=NOW,
             default_tz="America/Sao_Paulo")
    outcome: dict = {}

    def other() -> None:
        with Session(committing_engine) as b:
            try:
                add_line(b, contract_id=second_id, data=terms, user_id=None, now=NOW,
                         default_tz="America/Sao_Paulo")
                b.commit()
                outcome["result"] = "added"
            except CoverageOverlap as exc:
                outcome["result"] = exc.extra["other_contract_id"]

    thread = threading.Thread(target=other)
    thread.start()
    assert blocked_behind(committing_engine, a), "the second transaction never waited for the first"
    a.commit()
    a.close()
    thread.join(30)
    assert outcome["result"] == first_id
    with Session(committing_engine) as check:
        assert check.scalar(select(func.count()).select_from(ContractLine)) == 1

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from dispatch.core.db import ScaledDecimal, UTCDateTime


@pytest.fixture
def probe(connection):
    md = MetaData()
    table = Table("probe_types", md, Column("id", Integer, primary_key=True),
                  Column("amount", ScaledDecimal(4)), Column("at", UTCDateTime()))
    md.create_all(connection)
    return table


def test_decimals_and_aware_datetimes_survive_a_round_trip(connection, probe):
    brt = timezone(timedelta(hours=-3))
    connection.execute(insert(probe).values(id=1, amount=Decimal("12.3456"),
                                            at=datetime(2026, 3, 2, 9, 0, tzinfo=brt)))
    row = connection.execute(select(probe)).one()
    assert row.amount == Decimal("12.3456")
    assert row.at == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert row.at.tzinfo is not None


def test_naive_datetimes_and_excess_digits_are_refused(connection, probe):
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError, match="naive"):
        connection.execute(insert(probe).values(id=2, at=datetime(2026, 1, 1)))
    with pytest.raises(StatementError, match="decimal digits"):
        connection.execute(insert(probe).values(id=3, amount=Decimal("1.00001")))

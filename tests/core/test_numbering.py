import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.core.numbering import (
    NumberSeries,
    format_document_number,
    format_order_number,
    next_number,
    order_series,
)


def test_a_new_series_starts_at_one_and_counts_up(session):
    assert [next_number(session, "order-2026") for _ in range(3)] == [1, 2, 3]
    assert next_number(session, "order-2027") == 1
    assert session.scalar(select(NumberSeries.last).where(NumberSeries.name == "order-2026")) == 3


def test_a_rolled_back_number_is_handed_out_again(session):
    session.commit()
    assert next_number(session, "INV") == 1
    session.rollback()
    assert next_number(session, "INV") == 1


def test_numbers_read_like_the_printout():
    assert order_series(2026) == "order-2026"
    assert format_order_number(2026, 123) == "2026-000123"
    assert format_document_number("INV", 1) == "INV-000001"


def test_an_empty_series_name_is_refused(session):
    with pytest.raises(ValueError, match="series"):
        next_number(session, "")


def test_twenty_racing_transactions_get_numbers_one_to_twenty(committing_engine):
    """Each thread takes a number in its own transaction; they must not collide or skip."""
    got: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def take() -> None:
        try:
            start.wait(timeout=30)
            with Session(committing_engine) as s, s.begin():
                n = next_number(s, "race")
                # Hold the transaction open a little so the others really queue behind it.
                s.execute(select(func.count()).select_from(NumberSeries))
            with lock:
                got.append(n)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=take) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(got) == list(range(1, 21))
    with Session(committing_engine) as s:
        assert s.scalar(select(NumberSeries.last).where(NumberSeries.name == "race")) == 20

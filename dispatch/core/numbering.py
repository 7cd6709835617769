"""Gap-free number series (order numbers per year, invoice and credit-note numbers).

``next_number`` takes the next number of a series inside the caller's
transaction with one upsert, ``INSERT .. ON CONFLICT (name) DO UPDATE SET last
= last + 1 RETURNING last``. The upsert creates the row on first use and
otherwise row-locks it until the transaction ends, so concurrent callers queue
behind each other (PostgreSQL), and on SQLite every transaction already begins
with ``BEGIN IMMEDIATE``. Because the number is taken in the same transaction
that writes the numbered document, a rollback returns it: no gaps, no
duplicates.
"""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from dispatch.core.db import Base


class NumberSeries(Base):
    __tablename__ = "number_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    # The last number handed out; 0 before the first.
    last: Mapped[int] = mapped_column(Integer, default=0)


def next_number(session: Session, series: str) -> int:
    """The next number of ``series`` (1 for a new series), held until commit or rollback."""
    if not series or len(series) > 50:
        raise ValueError("a series name has 1 to 50 characters")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = NumberSeries.__table__
    stmt = (
        insert(table)
        .values(name=series, last=1)
        .on_conflict_do_update(index_elements=[table.c.name], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    return int(session.execute(stmt).scalar_one())


def order_series(year: int) -> str:
    """Orders are numbered per year: series ``order-2026``."""
    return f"order-{year}"


def format_order_number(year: int, number: int) -> str:
    """``2026-000123``: the number a customer reads on the printout."""
    return f"{year}-{number:06d}"


def format_document_number(prefix: str, number: int) -> str:
    """``INV-000001``, ``CN-000001``."""
    return f"{prefix}-{number:06d}"

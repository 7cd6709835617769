"""Preventive maintenance: the due dates of a contract line's periodic visits.

Due dates are counted from the line's first due date by the frequency (every N
weeks, or every N months with :func:`contracts.proration.add_months`, so a
31 January series falls on 28/29 February and 31 March). Each visit may be done
on any day of ``[due - flex, due + flex]``, cut to the contract period, so the
scheduler can spread the load over several days. Generation is idempotent: due
dates already generated are passed back in and never produced again, and due
dates are a pure function of the inputs, so running up to a later ``until`` only
adds the new ones.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from contracts.proration import add_months
from dispatch.core.errors import ValidationFailed


class ScheduleError(ValidationFailed, ValueError):
    code = "invalid-maintenance-schedule"
    title = "Invalid maintenance schedule"


class FrequencyUnit(enum.StrEnum):
    WEEKS = "weeks"
    MONTHS = "months"


@dataclass(frozen=True, slots=True)
class Frequency:
    every: int
    unit: FrequencyUnit

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "unit", FrequencyUnit(self.unit))
        except ValueError as exc:
            raise ScheduleError(
                f"frequency unit {self.unit!r} is not weeks or months", field="frequency_unit"
            ) from exc
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ScheduleError(
                f"frequency {self.every!r}: every must be a whole number >= 1",
                field="frequency_every",
            )

    def nth(self, first_due: date, n: int) -> date:
        """The ``n``-th due date (0 is ``first_due``), always counted from ``first_due``."""
        if self.unit is FrequencyUnit.WEEKS:
            return first_due + timedelta(weeks=n * self.every)
        return add_months(first_due, n * self.every)

    @property
    def shortest_days(self) -> int:
        """The fewest days between two due dates (a month is at least 28 days)."""
        return self.every * (7 if self.unit is FrequencyUnit.WEEKS else 28)


@dataclass(frozen=True, slots=True)
class DueVisit:
    """Visit number ``sequence`` due on ``due``; allowed on ``earliest`` to ``latest`` inclusive."""

    sequence: int
    due: date
    earliest: date
    latest: date


def _due_dates(first_due: date, frequency: Frequency) -> Iterator[tuple[int, date]]:
    n = 0
    while True:
        yield n, frequency.nth(first_due, n)
        n += 1


def due_visits(
    *,
    first_due: date,
    frequency: Frequency,
    flex_days: int,
    until: date,
    contract_start: date,
    contract_end: date | None = None,
    already_generated: Iterable[date] = (),
) -> list[DueVisit]:
    """The visits due from ``first_due`` up to ``until`` (inclusive) that are not yet generated.

    Only due dates inside the contract ``[contract_start, contract_end]`` (both
    inclusive) count; each window is ``[due - flex_days, due + flex_days]`` cut to
    the contract. ``flex_days`` must stay below the shortest gap between two due
    dates, so the windows of two visits never take in each other's due date.
    """
    if isinstance(flex_days, bool) or not isinstance(flex_days, int) or flex_days < 0:
        raise ScheduleError(
            f"flexibility {flex_days!r} must be zero or more days", field="flex_days"
        )
    if flex_days >= frequency.shortest_days:
        raise ScheduleError(
            f"flexibility of {flex_days} days reaches the next due date "
            f"(every {frequency.every} {frequency.unit.value})",
            field="flex_days",
        )
    if contract_end is not None and contract_end < contract_start:
        raise ScheduleError(
            f"contract ends {contract_end} before it starts {contract_start}", field="end_date"
        )
    done = set(already_generated)
    last = until if contract_end is None else min(until, contract_end)
    flex = timedelta(days=flex_days)
    out: list[DueVisit] = []
    for sequence, due in _due_dates(first_due, frequency):
        if due > last:
            break
        if due < contract_start or due in done:
            continue
        earliest = max(due - flex, contract_start)
        latest = due + flex if contract_end is None else min(due + flex, contract_end)
        out.append(DueVisit(sequence, due, earliest, latest))
    return out

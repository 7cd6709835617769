"""Time comes from a clock so tests can fix it; services never call ``datetime.now()``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that stands still until moved; for tests and replays."""

    current: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 12, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> datetime:
        self.current = self.current + timedelta(**kwargs)
        return self.current


def ensure_aware(value: datetime, field_name: str = "datetime") -> datetime:
    """Reject naive datetimes: a time without a zone is ambiguous across sites."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field_name} must carry a timezone offset")
    return value.astimezone(UTC)

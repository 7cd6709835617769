"""Service-hours calendars: when the clock of an SLA runs.

A calendar is a weekly pattern of opening windows in local wall-clock time
(several a day: 08:00-12:00 and 13:30-17:30 is a shift with a lunch break), an
IANA time zone, the public holidays of a country/subdivision from the
``holidays`` package, and named exceptions for single dates (closed, or other
hours). For a given local date the windows come from, in this order: the
exception for that date, else nothing if it is a public holiday, else the weekly
pattern.

Instants go in and come out timezone-aware; results are in UTC. Windows are
turned into instants per local date in the calendar's zone, so a window keeps
its wall-clock meaning across daylight-saving changes (08:00-12:00 is always
four hours; 00:00-24:00 is 23 or 25 hours on the days the clocks change). A
window boundary that falls in a DST gap moves forward by the gap, one in a
repeated hour means its first occurrence. Intervals are half-open: a calendar
open 08:00-12:00 is open at 08:00 and closed at 12:00.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from dispatch.core.errors import ValidationFailed

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Searching forward for open time gives up after this many consecutive closed
# days: a calendar closed for more than a year is a configuration mistake, and
# without a bound add_business_time would loop forever on it.
MAX_CLOSED_DAYS = 400

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")

Interval = tuple[datetime, datetime]


class CalendarError(ValidationFailed, ValueError):
    """A calendar definition or a question to it is malformed (names the field)."""

    code = "invalid-calendar"
    title = "Invalid service calendar"


def _minutes(text: str, field_name: str) -> int:
    m = _HHMM.match(text.strip())
    if not m:
        raise CalendarError(f"{text!r} is not a time of day (HH:MM)", field=field_name)
    hours, minutes = int(m.group(1)), int(m.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise CalendarError(f"{text!r} is not a time of day (HH:MM)", field=field_name)
    return hours * 60 + minutes


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """Opening window within one local day, in minutes from midnight; end may be 1440 (24:00)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise CalendarError(
                f"window {self.start}-{self.end} must satisfy 00:00 <= start < end <= 24:00",
                field="windows",
            )

    @classmethod
    def parse(cls, text: str, *, field_name: str = "windows") -> Window:
        """``"08:00-12:00"``; the end may be ``24:00``. Night shifts are two windows on two days."""
        parts = text.split("-")
        if len(parts) != 2:
            raise CalendarError(f"{text!r} is not a window (HH:MM-HH:MM)", field=field_name)
        start, end = (_minutes(p, field_name) for p in parts)
        if start >= end:
            raise CalendarError(f"window {text!r} ends before it starts", field=field_name)
        return cls(start, end)

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.end - self.start)

    def __str__(self) -> str:
        return (
            f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"
        )


def _windows(items: Iterable[Window | str], field_name: str) -> tuple[Window, ...]:
    out = sorted(
        w if isinstance(w, Window) else Window.parse(w, field_name=field_name) for w in items
    )
    for a, b in zip(out, out[1:], strict=False):
        if b.start < a.end:
            raise CalendarError(f"windows {a} and {b} overlap", field=field_name)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class DateException:
    """A named exception for one local date: closed (no windows) or open with these windows.

    An exception wins over a public holiday, so it can also open a holiday.
    """

    day: date
    name: str
    windows: tuple[Window, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows", _windows(self.windows, f"exceptions.{self.day}"))


@lru_cache(maxsize=256)
def _holiday_names(
    country: str, subdivision: str | None, categories: tuple[str, ...], year: int
) -> dict[date, str]:
    found = holidays.country_holidays(
        country, subdiv=subdivision, years=year, categories=categories
    )
    return dict(found.items())


@dataclass(frozen=True, slots=True)
class ServiceCalendar:
    """Weekly windows (Monday first) in ``timezone``, minus holidays, with date exceptions.

    ``holiday_categories`` are the ``holidays`` package's categories: Brazil's
    Carnival, for one, is in "optional", not "public".
    """

    timezone: str
    weekly: tuple[tuple[Window, ...], ...]
    country: str | None = None
    subdivision: str | None = None
    holiday_categories: tuple[str, ...] = ("public",)
    exceptions: tuple[DateException, ...] = ()
    name: str = ""
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _by_day: dict[date, DateException] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError(f"unknown time zone {self.timezone!r}", field="timezone") from exc
        object.__setattr__(self, "_zone", zone)
        if len(self.weekly) != 7:
            raise CalendarError("the weekly pattern needs 7 days, Monday first", field="weekly")
        object.__setattr__(
            self,
            "weekly",
            tuple(_windows(day, f"weekly.{WEEKDAYS[i]}") for i, day in enumerate(self.weekly)),
        )
        object.__setattr__(self, "holiday_categories", tuple(self.holiday_categories))
        self._check_holidays()
        by_day: dict[date, DateException] = {}
        for exc in self.exceptions:
            if exc.day in by_day:
                raise CalendarError(f"two exceptions for {exc.day}", field="exceptions")
            by_day[exc.day] = exc
        object.__setattr__(self, "exceptions", tuple(sorted(self.exceptions, key=lambda e: e.day)))
        object.__setattr__(self, "_by_day", by_day)

    def _check_holidays(self) -> None:
        if self.country is None:
            if self.subdivision is not None:
                raise CalendarError("a subdivision needs a country", field="subdivision")
            return
        supported = holidays.list_supported_countries()
        if self.country not in supported:
            raise CalendarError(
                f"no public holidays known for country {self.country!r}", field="country"
            )
        if self.subdivision is not None and self.subdivision not in supported[self.country]:
            raise CalendarError(
                f"{self.subdivision!r} is not a subdivision of {self.country}",
                field="subdivision",
            )
        known = holidays.country_holidays(self.country).supported_categories
        unknown = sorted(set(self.holiday_categories) - set(known))
        if unknown or not self.holiday_categories:
            raise CalendarError(
                f"holiday categories {unknown or '[]'} not among {sorted(known)} for {self.country}",
                field="holiday_categories",
            )

    # -- construction from plain data -------------------------------------------------------

    @classmethod
    def always_open(cls, timezone: str = "UTC", *, name: str = "24/7") -> ServiceCalendar:
        """The 24/7 calendar: every hour of every day, holidays included."""
        whole = (Window(0, MINUTES_PER_DAY),)
        return cls(timezone=timezone, weekly=(whole,) * 7, name=name)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServiceCalendar:
        """Build from the JSON shape of :meth:`to_dict`.

        ``{"timezone": "America/Sao_Paulo", "weekly": {"mon": ["08:00-12:00", "13:30-17:30"], ...},
        "country": "BR", "subdivision": "SP", "holiday_categories": ["public"],
        "exceptions": [{"day": "2026-12-24", "name": "Christmas Eve", "windows": ["08:00-12:00"]}]}``.
        Days missing from ``weekly`` are closed.
        """
        weekly_in = data.get("weekly") or {}
        unknown = sorted(set(weekly_in) - set(WEEKDAYS))
        if unknown:
            raise CalendarError(f"unknown weekdays {unknown}; use {list(WEEKDAYS)}", field="weekly")
        if any(isinstance(v, str) for v in weekly_in.values()):
            raise CalendarError("each weekday takes a list of windows", field="weekly")
        weekly = tuple(_windows(weekly_in.get(d, ()), f"weekly.{d}") for d in WEEKDAYS)
        exceptions = []
        for i, raw in enumerate(data.get("exceptions") or ()):
            try:
                day = raw["day"] if isinstance(raw["day"], date) else date.fromisoformat(raw["day"])
            except (KeyError, TypeError, ValueError) as exc:
                raise CalendarError(
                    "exception needs an ISO date 'day'", field=f"exceptions[{i}].day"
                ) from exc
            exceptions.append(
                DateException(
                    day=day,
                    name=str(raw.get("name", "")),
                    windows=_windows(raw.get("windows") or (), f"exceptions[{i}].windows"),
                )
            )
        return cls(
            timezone=data.get("timezone", "UTC"),
            weekly=weekly,
            country=data.get("country"),
            subdivision=data.get("subdivision"),
            holiday_categories=tuple(data.get("holiday_categories") or ("public",)),
            exceptions=tuple(exceptions),
            name=data.get("name", ""),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "timezone": self.timezone,
            "weekly": {
                d: [str(w) for w in ws] for d, ws in zip(WEEKDAYS, self.weekly, strict=True) if ws
            },
            "country": self.country,
            "subdivision": self.subdivision,
            "holiday_categories": list(self.holiday_categories),
            "exceptions": [
                {"day": e.day.isoformat(), "name": e.name, "windows": [str(w) for w in e.windows]}
                for e in self.exceptions
            ],
        }

    # -- days ------------------------------------------------------------------------------

    def holiday_name(self, day: date) -> str | None:
        """The public holiday on this local date, if the calendar observes one."""
        if self.country is None:
            return None
        return _holiday_names(
            self.country, self.subdivision, self.holiday_categories, day.year
        ).get(day)

    def windows_on(self, day: date) -> tuple[Window, ...]:
        """Local opening windows of one date: its exception, else none on a holiday, else weekly."""
        exc = self._by_day.get(day)
        if exc is not None:
            return exc.windows
        if self.holiday_name(day) is not None:
            return ()
        return self.weekly[day.weekday()]

    def _instant(self, day: date, minute: int) -> datetime:
        local = datetime.combine(
            day + timedelta(days=minute // MINUTES_PER_DAY),
            time(minute % MINUTES_PER_DAY // 60, minute % 60),
            tzinfo=self._zone,
        )
        return local.astimezone(UTC)

    def _day_intervals(self, day: date) -> list[Interval]:
        out: list[Interval] = []
        for w in self.windows_on(day):
            s, e = self._instant(day, w.start), self._instant(day, w.end)
            if out and s <= out[-1][1]:  # a DST gap can push a window onto the next one
                s = out[-1][0]
                e = max(e, out[-1][1])
                out.pop()
            if s < e:
                out.append((s, e))
        return out

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self._zone).date()

    def _intervals(self, start: datetime, stop: datetime | None = None) -> Iterator[Interval]:
        """Open intervals from ``start`` on, clipped to start here and sorted, never overlapping.

        Adjacent intervals (24:00 of one day, 00:00 of the next) are not joined: the
        stream would never end on a 24/7 calendar. Without ``stop`` it raises after
        ``MAX_CLOSED_DAYS`` closed days in a row.
        """
        day = self._local_date(start) - timedelta(days=1)
        last_end = start
        closed_run = 0
        while True:
            if stop is not None and self._instant(day, 0) > stop:
                return
            found = False
            for s, e in self._day_intervals(day):
                s = max(s, last_end)
                if s < e:
                    found = True
                    last_end = e
                    yield s, e
            if found:
                closed_run = 0
            else:
                closed_run += 1
                if stop is None and closed_run > MAX_CLOSED_DAYS:
                    raise CalendarError(
                        f"calendar {self.name or self.timezone!r} has no open time in "
                        f"{MAX_CLOSED_DAYS} days after {start.isoformat()}",
                        field="calendar",
                    )
            day += timedelta(days=1)

    # -- questions -------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        at = _aware(at, "at")
        day = self._local_date(at)
        return any(
            s <= at < e
            for d in (day - timedelta(days=1), day, day + timedelta(days=1))
            for s, e in self._day_intervals(d)
        )

    def open_intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """Open time within [start, end) as merged UTC intervals, in order."""
        start, end = _aware(start, "start"), _aware(end, "end")
        out: list[Interval] = []
        if end <= start:
            return out
        for s, e in self._intervals(start, end):
            if s >= end:
                break
            e = min(e, end)
            if out and out[-1][1] == s:
                out[-1] = (out[-1][0], e)
            else:
                out.append((s, e))
        return out

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Open time from ``start`` to ``end``; negative when ``end`` is before ``start``."""
        start, end = _aware(start, "start"), _aware(end, "end")
        if end < start:
            return -self.business_time_between(end, start)
        return sum((e - s for s, e in self.open_intervals(start, end)), timedelta())

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant by which ``duration`` of open time has passed since ``start``.

        A zero duration gives ``start`` itself; a duration that ends exactly at the
        close of a window gives that close (Friday 17:30), not the next opening.
        """
        start = _aware(start, "start")
        if duration < timedelta(0):
            raise CalendarError("a duration cannot be negative", field="duration")
        if duration == timedelta(0):
            return start
        remaining = duration
        for s, e in self._intervals(start):
            if remaining <= e - s:
                return s + remaining
            remaining -= e - s
        raise AssertionError("unreachable: _intervals never ends without stop")

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself if the calendar is open then, else the start of the next open window."""
        at = _aware(at, "at")
        return next(self._intervals(at))[0]


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise CalendarError(f"{name} must be timezone-aware", field=name)
    return at.astimezone(UTC)


def weekdays_calendar(
    windows: Sequence[str],
    *,
    timezone: str,
    country: str | None = None,
    subdivision: str | None = None,
    holiday_categories: Sequence[str] = ("public",),
    exceptions: Sequence[DateException] = (),
    name: str = "",
) -> ServiceCalendar:
    """Monday to Friday with the same windows, e.g. ``["08:00-12:00", "13:30-17:30"]``."""
    day = _windows(windows, "windows")
    return ServiceCalendar(
        timezone=timezone,
        weekly=(day,) * 5 + ((), ()),
        country=country,
        subdivision=subdivision,
        holiday_categories=tuple(holiday_categories),
        exceptions=tuple(exceptions),
        name=name,
    )

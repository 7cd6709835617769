"""Use cases of technicians' calendars, and the working time of a day.

A technician works his weekly windows (local time in his zone, the company's default zone
unless he has one), or the default week (:data:`DEFAULT_WINDOWS`, seed 004's business hours)
while he has none. Public holidays of the company's country (``settings.company_country``,
from contracts.calendars) are days off; absences cut his windows. What is already booked
(visits) is subtracted on top by :func:`availability`; a scheduling run subtracts only the
visits it does not plan itself (dispatch.scheduling.mapping).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from contracts.calendars import ServiceCalendar
from contracts.masterdata.errors import MasterDataNotFound
from dispatch.calendars import schemas as s
from dispatch.core.errors import NotFound, ValidationFailed
from dispatch.core.settings import Settings
from dispatch.models import (
    Technician,
    TechnicianAbsence,
    TechnicianBreak,
    TechnicianShiftWindow,
    Visit,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 1440
# Seed 004's business hours: 08:00-12:00 and 13:30-17:30, Monday to Friday.
DEFAULT_WINDOWS: dict[int, tuple[tuple[int, int], ...]] = {
    wd: ((8 * 60, 12 * 60), (13 * 60 + 30, 17 * 60 + 30)) for wd in range(5)
}

Interval = tuple[datetime, datetime]


class AbsenceNotFound(NotFound):
    code = "absence-not-found"
    title = "Absence not found"


class InvalidCalendar(ValidationFailed):
    code = "invalid-technician-calendar"
    title = "Invalid technician calendar"


# --- pure time arithmetic -----------------------------------------------------------------


def subtract(intervals: Iterable[Interval], cuts: Iterable[Interval]) -> list[Interval]:
    """``intervals`` minus ``cuts`` (half-open), sorted; empty pieces are dropped."""
    out = sorted(intervals)
    for c0, c1 in sorted(cuts):
        nxt: list[Interval] = []
        for a, b in out:
            if c1 <= a or c0 >= b:
                nxt.append((a, b))
                continue
            if a < c0:
                nxt.append((a, c0))
            if c1 < b:
                nxt.append((c1, b))
        out = nxt
    return [(a, b) for a, b in out if b > a]


def _minutes(text: str, field_name: str) -> int:
    hours, _, minutes = text.partition(":")
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and m):
        raise InvalidCalendar(f"{text!r} is not a time of day (HH:MM)", field=field_name)
    return h * 60 + m


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@lru_cache(maxsize=64)
def _holidays(timezone: str, country: str | None) -> ServiceCalendar:
    return ServiceCalendar(timezone=timezone, weekly=((),) * 7, country=country or None)


def zone_of(technician: Technician, settings: Settings) -> str:
    return technician.timezone or settings.default_timezone


@dataclass(frozen=True)
class WorkCalendar:
    """One technician's week, absences and holidays; answers "when does he work on day X"
    as UTC intervals. ``weekly``/``breaks`` are keyed by weekday (0 = Monday), in local
    minutes; breaks are (earliest start, latest start, duration)."""

    technician_id: int
    timezone: str
    weekly: dict[int, tuple[tuple[int, int], ...]]
    breaks: dict[int, tuple[tuple[int, int, int], ...]] = field(default_factory=dict)
    absences: tuple[Interval, ...] = ()
    country: str | None = None
    default: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def instant(self, day: date, minute: int) -> datetime:
        """Local ``minute`` (0..1440) of local date ``day`` as a UTC instant."""
        local = datetime.combine(day + timedelta(days=minute // MINUTES_PER_DAY),
                                 time(minute % MINUTES_PER_DAY // 60, minute % 60),
                                 tzinfo=self.zone)
        return local.astimezone(UTC)

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def holiday(self, day: date) -> str | None:
        return _holidays(self.timezone, self.country).holiday_name(day)

    def shift_windows(self, day: date) -> list[Interval]:
        """The week's windows of ``day``, none on a public holiday (absences not cut)."""
        if self.holiday(day) is not None:
            return []
        return [(self.instant(day, a), self.instant(day, b))
                for a, b in self.weekly.get(day.weekday(), ())]

    def absences_on(self, day: date) -> list[Interval]:
        lo, hi = self.instant(day, 0), self.instant(day, MINUTES_PER_DAY)
        return [(a, b) for a, b in self.absences if a < hi and b > lo]

    def windows_on(self, day: date) -> list[Interval]:
        """When he works on local date ``day``: windows minus holiday minus absences."""
        return subtract(self.shift_windows(day), self.absences_on(day))

    def breaks_on(self, day: date) -> list[tuple[datetime, datetime, int]]:
        """(earliest start, latest start, duration seconds) of his flexible breaks that day."""
        if not self.windows_on(day):
            return []
        return [(self.instant(day, e), self.instant(day, lt), d * 60)
                for e, lt, d in self.breaks.get(day.weekday(), ())]


# --- reading and writing calendars ----------------------------------------------------------


def _technician(session: Session, technician_id: int) -> Technician:
    tech = session.get(Technician, technician_id)
    if tech is None:
        raise MasterDataNotFound(f"no technician with id {technician_id}", field="id")
    return tech


def load_calendars(session: Session, technicians: Sequence[Technician], *, start: datetime,
                   end: datetime, settings: Settings) -> dict[int, WorkCalendar]:
    """Calendars of ``technicians`` with their absences overlapping ``[start, end)``."""
    ids = [t.id for t in technicians]
    weekly: dict[int, dict[int, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    breaks: dict[int, dict[int, list[tuple[int, int, int]]]] = defaultdict(
        lambda: defaultdict(list))
    absences: dict[int, list[Interval]] = defaultdict(list)
    for chunk in _chunks(ids):
        for w in session.scalars(select(TechnicianShiftWindow).where(
                TechnicianShiftWindow.technician_id.in_(chunk)).order_by(
                TechnicianShiftWindow.start_minute)):
            weekly[w.technician_id][w.weekday].append((w.start_minute, w.end_minute))
        for b in session.scalars(select(TechnicianBreak).where(
                TechnicianBreak.technician_id.in_(chunk)).order_by(
                TechnicianBreak.earliest_start_minute)):
            breaks[b.technician_id][b.weekday].append(
                (b.earliest_start_minute, b.latest_start_minute, b.duration_minutes))
        for a in session.scalars(select(TechnicianAbsence).where(
                TechnicianAbsence.technician_id.in_(chunk),
                TechnicianAbsence.starts_at < end, TechnicianAbsence.ends_at > start).order_by(
                TechnicianAbsence.starts_at)):
            absences[a.technician_id].append((a.starts_at, a.ends_at))
    out = {}
    for t in technicians:
        own = weekly.get(t.id)
        out[t.id] = WorkCalendar(
            technician_id=t.id, timezone=zone_of(t, settings),
            weekly={wd: tuple(ws) for wd, ws in own.items()} if own else DEFAULT_WINDOWS,
            breaks={wd: tuple(bs) for wd, bs in breaks.get(t.id, {}).items()},
            absences=tuple(absences.get(t.id, ())), country=settings.company_country or None,
            default=not own,
        )
    return out


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def calendar_of(session: Session, technician: Technician, *, settings: Settings,
                start: datetime | None = None, end: datetime | None = None) -> WorkCalendar:
    far = datetime(9999, 1, 1, tzinfo=UTC)
    return load_calendars(session, [technician], start=start or datetime(1970, 1, 1, tzinfo=UTC),
                          end=end or far, settings=settings)[technician.id]


def get_calendar(session: Session, *, technician_id: int, settings: Settings) -> s.CalendarRead:
    tech = _technician(session, technician_id)
    cal = calendar_of(session, tech, settings=settings, start=datetime.max.replace(tzinfo=UTC))
    return s.CalendarRead(
        technician_id=tech.id, timezone=cal.timezone, default=cal.default,
        windows=[s.ShiftWindowIn(weekday=WEEKDAYS[wd], start=hhmm(a), end=hhmm(b))
                 for wd in sorted(cal.weekly) for a, b in cal.weekly[wd]],
        breaks=[s.BreakIn(weekday=WEEKDAYS[wd], earliest_start=hhmm(e), latest_start=hhmm(lt),
                          duration_minutes=d)
                for wd in sorted(cal.breaks) for e, lt, d in cal.breaks[wd]],
    )


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidCalendar(f"unknown time zone {name!r}", field="timezone") from None
    return name


def set_calendar(session: Session, *, technician_id: int, data: s.CalendarWrite,
                 settings: Settings) -> s.CalendarRead:
    """Replace the technician's week (windows, breaks, time zone); bad input changes nothing."""
    tech = _technician(session, technician_id)
    windows: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for i, w in enumerate(data.windows):
        a, b = _minutes(w.start, f"windows[{i}].start"), _minutes(w.end, f"windows[{i}].end")
        if a >= b:
            raise InvalidCalendar(f"window {w.start}-{w.end} ends before it starts",
                                  field=f"windows[{i}]")
        windows[WEEKDAYS.index(w.weekday)].append((a, b))
    for wd, ws in windows.items():
        ws.sort()
        for (_a0, b0), (a1, _b1) in zip(ws, ws[1:], strict=False):
            if a1 < b0:
                raise InvalidCalendar(f"two windows of {WEEKDAYS[wd]} overlap", field="windows")
    breaks = []
    for i, b in enumerate(data.breaks):
        e = _minutes(b.earliest_start, f"breaks[{i}].earliest_start")
        lt = _minutes(b.latest_start, f"breaks[{i}].latest_start")
        if lt < e or lt >= MINUTES_PER_DAY:
            raise InvalidCalendar("latest_start must be after earliest_start, before 24:00",
                                  field=f"breaks[{i}].latest_start")
        breaks.append(TechnicianBreak(technician_id=tech.id, weekday=WEEKDAYS.index(b.weekday),
                                      earliest_start_minute=e, latest_start_minute=lt,
                                      duration_minutes=b.duration_minutes))
    tech.timezone = None if data.timezone is None else _check_zone(data.timezone)
    session.execute(delete(TechnicianShiftWindow).where(
        TechnicianShiftWindow.technician_id == tech.id))
    session.execute(delete(TechnicianBreak).where(TechnicianBreak.technician_id == tech.id))
    session.add_all(TechnicianShiftWindow(technician_id=tech.id, weekday=wd, start_minute=a,
                                          end_minute=b)
                    for wd, ws in windows.items() for a, b in ws)
    session.add_all(breaks)
    session.flush()
    return get_calendar(session, technician_id=tech.id, settings=settings)


# --- absences -------------------------------------------------------------------------------


def create_absence(session: Session, *, technician_id: int, data: s.AbsenceCreate,
                   user_id: int | None, now: datetime) -> TechnicianAbsence:
    tech = _technician(session, technician_id)
    if data.ends_at <= data.starts_at:
        raise InvalidCalendar("an absence ends after it starts", field="ends_at")
    row = TechnicianAbsence(technician_id=tech.id, starts_at=data.starts_at, ends_at=data.ends_at,
                            reason=data.reason, created_at=now, created_by_id=user_id)
    session.add(row)
    session.flush()
    return row


def list_absences(session: Session, *, technician_id: int, start: datetime | None = None,
                  end: datetime | None = None) -> list[TechnicianAbsence]:
    """Absences of the technician, oldest first; ``start``/``end`` keep those overlapping."""
    _technician(session, technician_id)
    stmt = select(TechnicianAbsence).where(TechnicianAbsence.technician_id == technician_id)
    if start is not None:
        stmt = stmt.where(TechnicianAbsence.ends_at > start)
    if end is not None:
        stmt = stmt.where(TechnicianAbsence.starts_at < end)
    return list(session.scalars(stmt.order_by(TechnicianAbsence.starts_at, TechnicianAbsence.id)))


def delete_absence(session: Session, *, technician_id: int, absence_id: int) -> None:
    row = session.get(TechnicianAbsence, absence_id)
    if row is None or row.technician_id != technician_id:
        raise AbsenceNotFound(f"technician {technician_id} has no absence {absence_id}",
                              field="absence_id")
    session.delete(row)
    session.flush()


# --- availability ---------------------------------------------------------------------------


def booked_visits(session: Session, *, technician_id: int, day: date) -> list[Visit]:
    """His visits on local date ``day`` (every status: done ones took the time too)."""
    return list(session.scalars(select(Visit).where(
        Visit.technician_id == technician_id, Visit.day == day).order_by(Visit.planned_start)))


def availability(session: Session, *, technician_id: int, day: date,
                 settings: Settings) -> s.AvailabilityRead:
    """Calendar minus holiday minus absences (``windows``), and minus booked visits (``free``)."""
    tech = _technician(session, technician_id)
    around = datetime.combine(day, time(), tzinfo=UTC)
    cal = calendar_of(session, tech, settings=settings, start=around - timedelta(days=1),
                      end=around + timedelta(days=2))
    lo, hi = cal.instant(day, 0), cal.instant(day, MINUTES_PER_DAY)
    windows = cal.windows_on(day)
    visits = booked_visits(session, technician_id=tech.id, day=day)
    return s.AvailabilityRead(
        technician_id=tech.id, date=day, timezone=cal.timezone, holiday=cal.holiday(day),
        windows=[s.Interval(start=a, end=b) for a, b in windows],
        breaks=[s.BreakRead(earliest_start=e, latest_start=lt, duration_minutes=d // 60)
                for e, lt, d in cal.breaks_on(day)],
        absences=[s.AbsenceRead.model_validate(a) for a in list_absences(
            session, technician_id=tech.id, start=lo, end=hi)],
        booked=[s.BookedRead(visit_id=v.id, order_id=v.order_id, start=v.planned_start,
                             end=v.planned_end, status=v.status) for v in visits],
        free=[s.Interval(start=a, end=b) for a, b in subtract(
            windows, [(v.planned_start, v.planned_end) for v in visits])],
    )

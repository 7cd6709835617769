"""API shapes of technicians' calendars; local times as "HH:MM", weekdays as "mon".."sun"."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HHMM = Annotated[str, Field(pattern=r"^\d{1,2}:\d{2}$", examples=["08:00"])]


class ShiftWindowIn(BaseModel):
    weekday: Weekday
    start: HHMM
    end: HHMM = Field(description="after start; 24:00 is the end of the day")


class BreakIn(BaseModel):
    """A flexible break taken in one piece, starting between the two times."""

    weekday: Weekday
    earliest_start: HHMM
    latest_start: HHMM
    duration_minutes: int = Field(gt=0, le=480)


class CalendarWrite(BaseModel):
    """Replaces the technician's week. ``timezone`` null: the company's default zone."""

    windows: list[ShiftWindowIn] = Field(min_length=1, max_length=70)
    breaks: list[BreakIn] = Field(default_factory=list, max_length=14)
    timezone: Annotated[str, Field(max_length=64)] | None = None


class CalendarRead(BaseModel):
    technician_id: int
    timezone: str
    # True: he has no windows of his own and works the default week.
    default: bool
    windows: list[ShiftWindowIn]
    breaks: list[BreakIn]


class AbsenceCreate(BaseModel):
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: Annotated[str, Field(max_length=200)] = ""


class AbsenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    technician_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_at: datetime


class Interval(BaseModel):
    start: datetime
    end: datetime


class BreakRead(BaseModel):
    earliest_start: datetime
    latest_start: datetime
    duration_minutes: int


class BookedRead(BaseModel):
    visit_id: int
    order_id: int
    start: datetime
    end: datetime
    status: str


class AvailabilityRead(BaseModel):
    """One local day: ``windows`` (calendar minus holiday minus absences), ``booked`` visits,
    and ``free`` (windows minus booked) - all UTC."""

    technician_id: int
    date: date
    timezone: str
    holiday: str | None
    windows: list[Interval]
    breaks: list[BreakRead]
    absences: list[AbsenceRead]
    booked: list[BookedRead]
    free: list[Interval]

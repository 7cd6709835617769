"""Tables of the composition root: technicians, their zones, resource groups and working
calendars (weekly shift windows, flexible breaks, absences), scheduling runs and the visits
of the current schedule.

Local times of a calendar are minutes from local midnight (0..1440, so 24:00 fits) in the
technician's time zone (``Technician.timezone``, else ``settings.default_timezone``);
instants are UTC (``UTCDateTime``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contracts.masterdata.models import Skill
from dispatch.core.db import Base, ScaledDecimal, UTCDateTime
from orders.models import ServiceOrder

technician_skills = Table(
    "technician_skills",
    Base.metadata,
    Column("technician_id", ForeignKey("technicians.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id"), primary_key=True),
)


class ServiceZone(Base):
    """A named area technicians serve: a box of WGS84 coordinates (a site is in the zone
    when its coordinates are inside, edges included)."""

    __tablename__ = "service_zones"
    __table_args__ = (
        CheckConstraint("min_lat <= max_lat AND min_lon <= max_lon", name="box_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    min_lat: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def contains(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon


class ResourceGroup(Base):
    """A team of technicians planned together (seed 003: a group assigned by availability)."""

    __tablename__ = "resource_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Technician(Base):
    """A person who does the visits. Orders refer to ``technicians.id`` by foreign key only."""

    __tablename__ = "technicians"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The login of the technician (role technician), when he has one.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), nullable=True, unique=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    # Where his day starts and ends (WGS84 degrees); None until known.
    home_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    home_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    # What an hour of his work costs the company (not what the customer pays).
    cost_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(4), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # IANA zone of his calendar; None: settings.default_timezone.
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The zone he serves (None: every zone) and his team.
    zone_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_zones.id"), nullable=True, index=True
    )
    resource_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_groups.id"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    skills: Mapped[list[Skill]] = relationship(secondary=technician_skills, order_by=Skill.code)
    zone: Mapped[ServiceZone | None] = relationship()
    resource_group: Mapped[ResourceGroup | None] = relationship()


# --- working calendars ---------------------------------------------------------------------


class TechnicianShiftWindow(Base):
    """One working window of a weekday (0 = Monday) in local minutes from midnight.

    The gap between two windows of a day is a fixed break (08:00-12:00 + 13:30-17:30: lunch
    12:00-13:30). A technician without rows works the default week
    (dispatch.calendars.service.DEFAULT_WINDOWS, Monday to Friday)."""

    __tablename__ = "technician_shift_windows"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        CheckConstraint("start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440",
                        name="minutes_range"),
        UniqueConstraint("technician_id", "weekday", "start_minute"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(
        ForeignKey("technicians.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)


class TechnicianBreak(Base):
    """A flexible break of a weekday: ``duration_minutes`` taken in one piece, starting
    between ``earliest_start_minute`` and ``latest_start_minute`` (local minutes)."""

    __tablename__ = "technician_breaks"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        CheckConstraint("earliest_start_minute >= 0 AND "
                        "latest_start_minute >= earliest_start_minute AND "
                        "latest_start_minute < 1440", name="minutes_range"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(
        ForeignKey("technicians.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(Integer)
    earliest_start_minute: Mapped[int] = mapped_column(Integer)
    latest_start_minute: Mapped[int] = mapped_column(Integer)
    duration_minutes: Mapped[int] = mapped_column(Integer)


class TechnicianAbsence(Base):
    """Time off (holiday, sickness, training): no work in ``[starts_at, ends_at)``."""

    __tablename__ = "technician_absences"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(
        ForeignKey("technicians.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


# --- scheduling runs and the schedule ------------------------------------------------------


class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"  # a proposed plan waits for review
    failed = "failed"
    cancelled = "cancelled"
    published = "published"
    discarded = "discarded"


class RunMode(StrEnum):
    full = "full"  # re-plan every unpinned visit not yet started
    insert = "insert"  # place new orders, keep the planned visits where they are


class ScheduleRun(Base):
    """A scheduling job and its proposed plan (dispatch.scheduling).

    ``scope``: ``{"kind": "all"|"zone"|"resource_group"|"orders", "zone": code,
    "resource_group": code, "order_ids": [...]}``. ``progress``: ``{"phase", "elapsed_s",
    "best_objective"}`` updated while running, with ``heartbeat_at`` (a running run whose
    heartbeat is stale is failed as "worker lost" when runs are read). ``problem``: the
    solver problem (solver.Problem.to_dict()) and ``context`` how its ids and seconds map
    back to rows (horizon start, visit id -> order id, captured order/visit versions);
    ``plan``: the proposed visits, routes and unassigned orders (dispatch.scheduling.mapping);
    ``kpis``: its figures; ``publish_report``: what publishing did and skipped."""

    __tablename__ = "schedule_runs"
    __table_args__ = (CheckConstraint("date_to >= date_from", name="range_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default=RunStatus.queued, index=True)
    mode: Mapped[str] = mapped_column(String(10), default=RunMode.full)
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    time_limit_s: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who runs it: "thread:<host>:<pid>" for the embedded pool, the Celery worker's name later.
    worker: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    problem: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    kpis: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    publish_report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # published_at/by or discarded_at/by: the review decision.
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class VisitStatus(StrEnum):
    planned = "planned"
    on_the_way = "on_the_way"
    arrived = "arrived"
    done = "done"
    cant_finish = "cant_finish"


class Visit(Base):
    """The current schedule: one technician's trip to one order's site on one local day.

    ``planned_start``/``planned_end``: service (UTC); ``arrival``: the ETA at the site
    (waiting may follow); ``travel_seconds``/``travel_meters``: the leg from the previous
    stop (or home); ``sequence``: 1-based position in the technician's day. ``pinned``: later
    runs keep it where it is; ``forced``: placed by hand against a rule (``forced_reason``
    says which). Publishing a run replaces the unpinned visits still ``planned``. The board
    and the route lists read these rows only."""

    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("order_id", "technician_id", "day"),
        CheckConstraint("planned_end >= planned_start", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("service_orders.id", ondelete="CASCADE"), index=True
    )
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"), index=True)
    # The technician's local date of the visit.
    day: Mapped[date] = mapped_column(Date, index=True)
    planned_start: Mapped[datetime] = mapped_column(UTCDateTime())
    planned_end: Mapped[datetime] = mapped_column(UTCDateTime())
    arrival: Mapped[datetime] = mapped_column(UTCDateTime())
    travel_seconds: Mapped[int] = mapped_column(Integer, default=0)
    travel_meters: Mapped[int] = mapped_column(Integer, default=0)
    sequence: Mapped[int] = mapped_column(Integer, default=1)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    forced_reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default=VisitStatus.planned, index=True)
    # When the status last changed, and the actual times reported by the technician.
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("schedule_runs.id"), nullable=True, index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    technician: Mapped[Technician] = relationship()
    order: Mapped[ServiceOrder] = relationship()

"""Tables of service requests, service orders, their lines, time entries and history.

Orders refer to technicians by foreign key only (``technicians.id``): the
technician model lives in ``dispatch``, which orders must not import.

Prices and hourly rates are ``ScaledDecimal(4)``; quantities ``ScaledDecimal(3)``;
percents (discounts, VAT) ``ScaledDecimal(2)``; amounts already rounded to the
order's currency are kept as ``ScaledDecimal(4)`` so currencies with three minor
digits fit too.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contracts.masterdata.models import Customer, ServiceItem, Site, Skill
from contracts.models import Contract
from dispatch.core.db import Base, ScaledDecimal, UTCDateTime
from orders.lifecycle import OrderStatus


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class Channel(StrEnum):
    """How a service request reached us."""

    phone = "phone"
    email = "email"
    web = "web"
    api = "api"
    walk_in = "walk_in"


class RequestStatus(StrEnum):
    received = "received"
    converted = "converted"
    rejected = "rejected"


class Activity(StrEnum):
    """Seed 004's support modalities."""

    on_site = "on_site"
    remote = "remote"
    phone = "phone"
    analysis = "analysis"
    travel = "travel"


class LineKind(StrEnum):
    part = "part"
    service = "service"


class BillingModality(StrEnum):
    standard = "standard"
    # Seed 004: time is charged in full whatever the root cause.
    premium = "premium"


class RootCause(StrEnum):
    """Why the item failed; ``product_defect`` (the vendor's fault) waives time charges."""

    product_defect = "product_defect"
    wear = "wear"
    misuse = "misuse"
    installation = "installation"
    configuration = "configuration"
    external = "external"
    other = "other"


class ServiceRequest(Base):
    """A customer's request as it came in (call center, e-commerce, API), before triage."""

    __tablename__ = "service_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    service_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_items.id"), nullable=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), nullable=True)
    description: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(10), default=Priority.normal)
    channel: Mapped[str] = mapped_column(String(10), default=Channel.api)
    # The caller's own reference (their ticket number), shown back to them.
    external_ref: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(10), default=RequestStatus.received, index=True)
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    # The order it was converted into; the link is stored once, on the order (request_id).
    order: Mapped[ServiceOrder | None] = relationship(
        back_populates="request", uselist=False
    )

    @property
    def order_id(self) -> int | None:
        return self.order.id if self.order is not None else None


order_required_skills = Table(
    "order_required_skills",
    Base.metadata,
    Column("order_id", ForeignKey("service_orders.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id"), primary_key=True),
)

order_service_items = Table(
    "order_service_items",
    Base.metadata,
    Column("order_id", ForeignKey("service_orders.id", ondelete="CASCADE"), primary_key=True),
    Column("service_item_id", ForeignKey("service_items.id"), primary_key=True),
)


class ServiceOrder(Base):
    """An "O.S.": work for one customer, usually on one or more service items."""

    __tablename__ = "service_orders"
    __table_args__ = (
        UniqueConstraint("year", "sequence"),
        # Percent as ScaledDecimal(2): 100 % is stored as 10000.
        CheckConstraint("discount_percent >= 0 AND discount_percent <= 10000",
                        name="discount_percent_range"),
        CheckConstraint("discount_amount >= 0", name="discount_amount_positive"),
        # A preventive-maintenance visit is generated once per contract line and due date.
        UniqueConstraint("contract_line_id", "maintenance_due_date"),
        CheckConstraint("(contract_line_id IS NULL) = (maintenance_due_date IS NULL)",
                        name="maintenance_complete"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "2026-000123": sequential per year (dispatch.core.numbering series "order-2026").
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_requests.id"), nullable=True, unique=True
    )
    reported_defect: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(10), default=Priority.normal, index=True)
    # Type/category for statistics (seed 001: "important for reports"); free text.
    category: Mapped[str] = mapped_column(String(60), default="")
    responsible_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), nullable=True
    )
    customer_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id"), nullable=True
    )
    supplier_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id"), nullable=True
    )
    # False: the skills follow the service items' groups; True: someone set them by hand.
    skills_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    estimated_duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    loaner_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_items.id"), nullable=True
    )
    loaner_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    loaner_returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # RootCause or None while unknown; product_defect waives time (unless premium).
    root_cause: Mapped[str | None] = mapped_column(String(20), nullable=True)
    billing_modality: Mapped[str] = mapped_column(String(10), default=BillingModality.standard)
    # The customer's currency when the order was opened; every amount of the order is in it.
    currency: Mapped[str] = mapped_column(String(3))
    # Order-level discount entered at closing, before the payments: a percent or an amount.
    discount_percent: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), nullable=True)
    discount_amount: Mapped[Decimal | None] = mapped_column(ScaledDecimal(4), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.open, index=True)
    # Bumped on every change of the order or its lines/time (If-Match / ETag).
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The assigned technician (set by dispatch) and the start of the booked visit.
    technician_id: Mapped[int | None] = mapped_column(
        ForeignKey("technicians.id"), nullable=True, index=True
    )
    scheduled_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The contract covering the order's service item on its creation date (orders.coverage);
    # its lines and time are priced by that contract's coverage.
    contract_id: Mapped[int | None] = mapped_column(
        ForeignKey("contracts.id"), nullable=True, index=True
    )
    # Creation time plus the contract's response hours for the priority, counted in the
    # covering line's calendar, else the contract's (None without a contract or a promise
    # for that priority).
    response_due_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), nullable=True, index=True
    )
    # When work first started (in_progress): the response the SLA measures.
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # A visit time proposed to the customer, who must confirm it within
    # settings.confirmation_hours of appointment_proposed_at or it is released.
    appointment_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    appointment_proposed_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), nullable=True, index=True
    )
    appointment_confirmed_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), nullable=True
    )
    # Preventive maintenance: the contract line and the due date this visit was generated for.
    contract_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_lines.id"), nullable=True
    )
    maintenance_due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    customer: Mapped[Customer] = relationship()
    site: Mapped[Site | None] = relationship()
    request: Mapped[ServiceRequest | None] = relationship(back_populates="order")
    contract: Mapped[Contract | None] = relationship()
    required_skills: Mapped[list[Skill]] = relationship(
        secondary=order_required_skills, order_by=Skill.code
    )
    service_items: Mapped[list[ServiceItem]] = relationship(
        secondary=order_service_items, order_by=ServiceItem.id
    )
    time_windows: Mapped[list[OrderTimeWindow]] = relationship(
        back_populates="order", order_by="OrderTimeWindow.starts_at",
        cascade="all, delete-orphan",
    )
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )
    time_entries: Mapped[list[TimeEntry]] = relationship(
        back_populates="order", order_by="TimeEntry.started_at", cascade="all, delete-orphan"
    )
    history: Mapped[list[OrderHistory]] = relationship(
        back_populates="order", order_by="OrderHistory.id", cascade="all, delete-orphan"
    )


class OrderTimeWindow(Base):
    """When the customer asked to be visited (UTC, end exclusive)."""

    __tablename__ = "order_time_windows"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("service_orders.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())

    order: Mapped[ServiceOrder] = relationship(back_populates="time_windows")


class OrderHistory(Base):
    """One change of an order: who, when, what (``event``), status from/to and a note."""

    __tablename__ = "order_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("service_orders.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # created, status, updated, line_added, line_removed, time_added, time_removed, closed...
    event: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")

    order: Mapped[ServiceOrder] = relationship(back_populates="history")


class OrderLine(Base):
    """A part or a service on an order, priced by contracts.pricing when it was added."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("discount_percent >= 0 AND discount_percent <= 10000",
                        name="discount_percent_range"),
        CheckConstraint(
            "(kind = 'part' AND product_id IS NOT NULL) OR "
            "(kind = 'service' AND labour_type_id IS NOT NULL)",
            name="kind_has_its_catalogue_entry",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("service_orders.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), nullable=True)
    labour_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("labour_types.id"), nullable=True
    )
    description: Mapped[str] = mapped_column(String(300))
    technician_id: Mapped[int | None] = mapped_column(
        ForeignKey("technicians.id"), nullable=True
    )
    service_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_items.id"), nullable=True
    )
    warranty: Mapped[bool] = mapped_column(Boolean, default=False)
    # Parts: pieces; services: hours.
    quantity: Mapped[Decimal] = mapped_column(ScaledDecimal(3))
    unit_price: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    # What the part/hour cost us when it was used (profit and loss per contract).
    unit_cost: Mapped[Decimal] = mapped_column(ScaledDecimal(4), default=Decimal("0"))
    # contracts.pricing.PriceRule: catalogue, price_list, contract, warranty, manual.
    price_rule: Mapped[str] = mapped_column(String(20))
    discount_percent: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=Decimal("0"))
    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=Decimal("0"))
    # The warranty claim invoice (to the supplier) this line was charged on; set by billing.
    claimed_invoice_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    order: Mapped[ServiceOrder] = relationship(back_populates="lines")


class TimeEntry(Base):
    """Time a technician spent on an order, billed per started minute (contracts.pricing)."""

    __tablename__ = "time_entries"
    __table_args__ = (
        CheckConstraint("ended_at >= started_at", name="ends_after_start"),
        CheckConstraint("distance_km IS NULL OR (distance_km >= 0 AND activity = 'travel')",
                        name="distance_only_on_travel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("service_orders.id", ondelete="CASCADE"), index=True
    )
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"), index=True)
    activity: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    labour_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("labour_types.id"), nullable=True
    )
    hourly_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    billed_minutes: Mapped[int] = mapped_column(Integer)
    # Minutes at the rate, rounded to the order's currency, before any waiver.
    amount: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(2), default=Decimal("0"))
    price_rule: Mapped[str] = mapped_column(String(20), default="catalogue")
    # Travel entries: the kilometres driven (None: not recorded); profit and loss costs them
    # at settings.travel_cost_per_km. Not charged to the customer: travel is billed by time.
    distance_km: Mapped[Decimal | None] = mapped_column(ScaledDecimal(3), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    order: Mapped[ServiceOrder] = relationship(back_populates="time_entries")

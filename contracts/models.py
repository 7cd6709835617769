"""Tables of service calendars, price indexes, contract quotes and contracts.

Contract prices are ``ScaledDecimal(4)`` per billing period; percents
(discounts) ``ScaledDecimal(2)``; response times are hours with two decimals
(``2.5`` is 2 h 30 min); index numbers ``ScaledDecimal(6)``. Dates of
contracts are local calendar dates: ``end_date`` is the last day covered, a
line's ``removed_on`` the first day it no longer covers (so an item removed on
the 10th is covered up to the 9th, as contracts/proration.py counts it).

Invoices live in ``orders.billing`` (which contracts may not import), so the
invoice an adjustment was billed on is kept as a plain id.
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
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contracts.masterdata.models import Customer, ItemGroup, ServiceItem, Site
from dispatch.core.db import Base, ScaledDecimal, UTCDateTime


class ContractStatus(StrEnum):
    draft = "draft"
    signed = "signed"
    active = "active"
    suspended = "suspended"
    expired = "expired"
    cancelled = "cancelled"


class QuoteStatus(StrEnum):
    draft = "draft"
    sent = "sent"
    accepted = "accepted"
    declined = "declined"
    # Never stored: a draft or sent quote whose valid_until has passed reads as expired.
    expired = "expired"


class BillingPeriod(StrEnum):
    """The same names as contracts.proration.PeriodKind."""

    monthly = "monthly"
    quarterly = "quarterly"
    yearly = "yearly"


class ContractModality(StrEnum):
    standard = "standard"
    # Seed 004's premium modality: time is charged even when a product defect caused it.
    always_billed = "always_billed"


class FrequencyUnit(StrEnum):
    """The same names as contracts.schedule.FrequencyUnit."""

    weeks = "weeks"
    months = "months"


class PriceChangeReason(StrEnum):
    renewal = "renewal"
    anniversary = "anniversary"


PRIORITIES = ("low", "normal", "high", "urgent")


class ServiceCalendar(Base):
    """A stored service-hours calendar: contracts.calendars' JSON shape in ``definition``.

    ``builtin`` rows (the 24/7 calendar, code ``24x7``) cannot be changed or deleted.
    """

    __tablename__ = "service_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # contracts.calendars.ServiceCalendar.to_dict(): timezone, weekly, country, ...
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PriceIndex(Base):
    """One published index number: ``name`` (e.g. "IGP-M") for ``month`` (its first day)."""

    __tablename__ = "price_indexes"
    __table_args__ = (
        UniqueConstraint("name", "month"),
        CheckConstraint("value > 0", name="value_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), index=True)
    month: Mapped[date] = mapped_column(Date)
    value: Mapped[Decimal] = mapped_column(ScaledDecimal(6))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class _Coverage:
    """What a line covers and on which terms; shared by quote lines and contract lines.

    Either one service item, or every item of ``item_group_id`` at ``site_id``.
    """

    service_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_items.id"), nullable=True, index=True
    )
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    item_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("item_groups.id"), nullable=True
    )
    # The item's share of the period price: what adding or removing it mid-period prorates.
    price_per_period: Mapped[Decimal] = mapped_column(ScaledDecimal(4), default=Decimal("0"))
    labour_included: Mapped[bool] = mapped_column(Boolean, default=False)
    labour_discount_percent: Mapped[Decimal] = mapped_column(
        ScaledDecimal(2), default=Decimal("0")
    )
    # Replaces the labour type's hourly rate for covered work when set.
    labour_hourly_rate: Mapped[Decimal | None] = mapped_column(ScaledDecimal(4), nullable=True)
    parts_discount_percent: Mapped[Decimal] = mapped_column(
        ScaledDecimal(2), default=Decimal("0")
    )
    travel_included: Mapped[bool] = mapped_column(Boolean, default=False)
    # The service hours the line's response times count in; None: the contract's (quote's).
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_calendars.id"), nullable=True
    )
    # Response time in business hours of the line's calendar, per order priority;
    # None: no response time promised for that priority.
    response_hours_low: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), nullable=True)
    response_hours_normal: Mapped[Decimal | None] = mapped_column(
        ScaledDecimal(2), nullable=True
    )
    response_hours_high: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2), nullable=True)
    response_hours_urgent: Mapped[Decimal | None] = mapped_column(
        ScaledDecimal(2), nullable=True
    )
    # Preventive maintenance: a visit every N weeks/months from first_due_date (default:
    # the contract's start), doable flexibility_days either side, taking the standard time.
    frequency_every: Mapped[int | None] = mapped_column(Integer, nullable=True)
    frequency_unit: Mapped[str | None] = mapped_column(String(10), nullable=True)
    first_due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    flexibility_days: Mapped[int] = mapped_column(Integer, default=0)
    standard_duration_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)

    def response_hours(self, priority: str) -> Decimal | None:
        if priority not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}")
        return getattr(self, f"response_hours_{priority}")


def _coverage_checks() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint(
            "(service_item_id IS NOT NULL AND site_id IS NULL AND item_group_id IS NULL) OR "
            "(service_item_id IS NULL AND site_id IS NOT NULL AND item_group_id IS NOT NULL)",
            name="item_or_group_at_site",
        ),
        CheckConstraint("price_per_period >= 0", name="price_not_negative"),
        # Percents as ScaledDecimal(2): 100 % is stored as 10000.
        CheckConstraint("labour_discount_percent >= 0 AND labour_discount_percent <= 10000",
                        name="labour_discount_range"),
        CheckConstraint("parts_discount_percent >= 0 AND parts_discount_percent <= 10000",
                        name="parts_discount_range"),
        CheckConstraint(
            "(frequency_every IS NULL) = (frequency_unit IS NULL)", name="frequency_complete"
        ),
        CheckConstraint("flexibility_days >= 0", name="flexibility_not_negative"),
    )


class ContractQuote(Base):
    """An offer of a contract to a customer: numbered ``CQ-000001``; converted at most once."""

    __tablename__ = "contract_quotes"
    __table_args__ = (
        CheckConstraint("price_per_period >= 0", name="price_not_negative"),
        CheckConstraint("end_date >= start_date", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    # A name for the terms offered ("gold", "8x5 NBD"); the terms are on the lines.
    service_level: Mapped[str] = mapped_column(String(60), default="")
    # QuoteStatus without "expired" (computed from valid_until).
    status: Mapped[str] = mapped_column(String(10), default=QuoteStatus.draft, index=True)
    billing_period: Mapped[str] = mapped_column(String(10))
    price_per_period: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    currency: Mapped[str] = mapped_column(String(3))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False)
    notice_days: Mapped[int] = mapped_column(Integer, default=30)
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_calendars.id"), nullable=True
    )
    modality: Mapped[str] = mapped_column(String(20), default=ContractModality.standard)
    index_name: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The last day the customer may accept.
    valid_until: Mapped[date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship()
    lines: Mapped[list[QuoteLine]] = relationship(
        back_populates="quote", order_by="QuoteLine.id", cascade="all, delete-orphan"
    )
    # The contract it was converted into; the link is stored once, on the contract.
    contract: Mapped[Contract | None] = relationship(back_populates="quote", uselist=False)

    @property
    def contract_id(self) -> int | None:
        return self.contract.id if self.contract is not None else None


class QuoteLine(_Coverage, Base):
    __tablename__ = "contract_quote_lines"
    __table_args__ = _coverage_checks()

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(
        ForeignKey("contract_quotes.id", ondelete="CASCADE"), index=True
    )

    quote: Mapped[ContractQuote] = relationship(back_populates="lines")


class Contract(Base):
    """A service contract, numbered ``CT-000001`` (number series "contract")."""

    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint("price_per_period >= 0", name="price_not_negative"),
        CheckConstraint("end_date >= start_date", name="ends_after_start"),
        CheckConstraint("notice_days >= 0", name="notice_not_negative"),
        CheckConstraint("renewal_term_months >= 1", name="renewal_term_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    service_level: Mapped[str] = mapped_column(String(60), default="")
    status: Mapped[str] = mapped_column(String(10), default=ContractStatus.draft, index=True)
    start_date: Mapped[date] = mapped_column(Date)
    # The last day covered; a renewal moves it by renewal_term_months.
    end_date: Mapped[date] = mapped_column(Date, index=True)
    billing_period: Mapped[str] = mapped_column(String(10))
    # Invoiced per billing period, prepaid (orders.billing issues the invoices).
    price_per_period: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    currency: Mapped[str] = mapped_column(String(3))
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False)
    # Days before end_date by which either side must give notice not to renew.
    notice_days: Mapped[int] = mapped_column(Integer, default=30)
    renewal_term_months: Mapped[int] = mapped_column(Integer, default=12)
    # None: the built-in 24/7 calendar.
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_calendars.id"), nullable=True
    )
    modality: Mapped[str] = mapped_column(String(20), default=ContractModality.standard)
    # Price indexation: the index, how many months its numbers lag (1: the month before
    # the anniversary), the next anniversary to adjust on without renewing, and the date
    # the price was last adjusted (the start of the next adjustment's index period).
    index_name: Mapped[str | None] = mapped_column(String(40), nullable=True)
    index_lag_months: Mapped[int] = mapped_column(Integer, default=1)
    index_anniversary: Mapped[date | None] = mapped_column(Date, nullable=True)
    last_indexed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    quote_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_quotes.id"), nullable=True, unique=True
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    # Bumped on every change of the contract or its lines (If-Match / ETag).
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship()
    calendar: Mapped[ServiceCalendar | None] = relationship()
    quote: Mapped[ContractQuote | None] = relationship(back_populates="contract")
    lines: Mapped[list[ContractLine]] = relationship(
        back_populates="contract", order_by="ContractLine.id", cascade="all, delete-orphan"
    )
    history: Mapped[list[ContractHistory]] = relationship(
        back_populates="contract", order_by="ContractHistory.id", cascade="all, delete-orphan"
    )


class ContractLine(_Coverage, Base):
    """A covered item (or item group at a site) from ``added_on`` until ``removed_on``."""

    __tablename__ = "contract_lines"
    __table_args__ = (
        *_coverage_checks(),
        CheckConstraint("removed_on IS NULL OR removed_on >= added_on", name="removed_after_added"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    added_on: Mapped[date] = mapped_column(Date)
    # First day no longer covered (None: covered to the contract's end).
    removed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    contract: Mapped[Contract] = relationship(back_populates="lines")
    service_item: Mapped[ServiceItem | None] = relationship()
    site: Mapped[Site | None] = relationship()
    item_group: Mapped[ItemGroup | None] = relationship()
    calendar: Mapped[ServiceCalendar | None] = relationship()

    def covers_on(self, day: date) -> bool:
        return self.added_on <= day and (self.removed_on is None or day < self.removed_on)

    @property
    def service_calendar(self) -> ServiceCalendar | None:
        """The calendar response times of orders under this line count in: the line's own,
        else the contract's (None: the built-in 24/7 calendar)."""
        return self.calendar if self.calendar_id is not None else self.contract.calendar


class ContractHistory(Base):
    """One change of a contract: who, when, what (``event``), status from/to and a note."""

    __tablename__ = "contract_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # created, status, updated, line_added, line_removed, renewed, indexed, ...
    event: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(10), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(10), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")

    contract: Mapped[Contract] = relationship(back_populates="history")


class ContractAdjustment(Base):
    """A prorated amount still to invoice (positive) or to credit (negative) for a period
    already paid: an item added or removed mid-period. Invoicing sets the invoice id."""

    __tablename__ = "contract_adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    contract_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_lines.id"), nullable=True
    )
    # The billing period it belongs to: [period_start, period_end) as in proration.Period.
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # The day the change took effect, and the days it counts out of the full period's days.
    effective_on: Mapped[date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)
    period_days: Mapped[int] = mapped_column(Integer)
    # Rounded to the contract's currency; negative: to credit.
    amount: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)
    # orders.billing's invoice or credit note that carried it (None: still pending).
    invoiced_invoice_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class ContractPriceChange(Base):
    """An indexation of a contract's price: old price, index values, new price.

    One per contract and effective date, so an anniversary is never applied twice.
    """

    __tablename__ = "contract_price_changes"
    __table_args__ = (UniqueConstraint("contract_id", "effective_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    # PriceChangeReason: at a renewal, or on an anniversary without renewing.
    reason: Mapped[str] = mapped_column(String(20))
    # The anniversary (or new term's first day) from which the new price applies.
    effective_on: Mapped[date] = mapped_column(Date)
    index_name: Mapped[str] = mapped_column(String(40))
    start_month: Mapped[date] = mapped_column(Date)
    end_month: Mapped[date] = mapped_column(Date)
    start_value: Mapped[Decimal] = mapped_column(ScaledDecimal(6))
    end_value: Mapped[Decimal] = mapped_column(ScaledDecimal(6))
    old_price: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    new_price: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    currency: Mapped[str] = mapped_column(String(3))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

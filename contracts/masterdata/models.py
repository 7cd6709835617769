"""Master-data tables (SQLAlchemy 2.x typed).

Prices and rates are ``ScaledDecimal(4)`` (catalogue prices may carry more digits
than the currency; amounts are rounded when an order line is priced); VAT rates
are percents with two digits (``25.00``). Countries are ISO 3166-1 alpha-2,
currencies ISO 4217, locales one of ``pt_BR``, ``da``, ``it``, ``en``.
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
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.core.db import Base, ScaledDecimal, UTCDateTime

LOCALES = ("pt_BR", "da", "it", "en")


class GeocodeStatus(StrEnum):
    ok = "ok"  # coordinates found by the geocoder
    manual = "manual"  # coordinates given by a person
    pending = "pending"  # not tried yet (geocoding disabled or to be retried)
    failed = "failed"  # geocoder errored or found nothing; the site is flagged


# Deleting a group drops its links; a skill still linked anywhere cannot be deleted.
item_group_skills = Table(
    "item_group_skills",
    Base.metadata,
    Column("item_group_id", ForeignKey("item_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id"), primary_key=True),
)


class Skill(Base):
    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LabourType(Base):
    """A service of the labour catalogue, charged per hour (billed per started minute)."""

    __tablename__ = "labour_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    hourly_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    cost_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ItemGroup(Base):
    """A kind of service item: the skills a visit needs and the default prices."""

    __tablename__ = "item_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    default_duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    default_labour_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("labour_types.id"), nullable=True
    )
    # Overrides the labour type's hourly rate for this group when set.
    default_hourly_rate: Mapped[Decimal | None] = mapped_column(ScaledDecimal(4), nullable=True)
    # A fixed price for a standard service of this group (e.g. a yearly inspection).
    default_service_price: Mapped[Decimal | None] = mapped_column(ScaledDecimal(4), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    skills: Mapped[list[Skill]] = relationship(secondary=item_group_skills, order_by=Skill.code)
    default_labour_type: Mapped[LabourType | None] = relationship()


class Supplier(Base):
    """A vendor of parts or equipment; receives warranty claims."""

    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tax_id: Mapped[str] = mapped_column(String(40), default="")
    country: Mapped[str] = mapped_column(String(2))
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    # Address and language used when a warranty claim is invoiced to the supplier.
    address: Mapped[str] = mapped_column(String(300), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Human customer number, e.g. "C-000042"; unique.
    number: Mapped[str] = mapped_column(String(30), unique=True)
    legal_name: Mapped[str] = mapped_column(String(200), index=True)
    # Compact normalised form (digits/letters only) as validated by contracts.masterdata.taxid.
    tax_id: Mapped[str] = mapped_column(String(40), default="", index=True)
    country: Mapped[str] = mapped_column(String(2))
    locale: Mapped[str] = mapped_column(String(10))
    currency: Mapped[str] = mapped_column(String(3))
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    # Billing address (printed on invoices); sites carry their own addresses.
    address: Mapped[str] = mapped_column(String(300), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", order_by="Contact.id"
    )
    sites: Mapped[list[Site]] = relationship(back_populates="customer", order_by="Site.id")


class Contact(Base):
    """A person at a customer or at a supplier (exactly one of the two)."""

    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint(
            "(customer_id IS NULL) <> (supplier_id IS NULL)", name="one_owner"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id"), nullable=True, index=True
    )
    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("suppliers.id"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    # Free text: "facility manager", "accounts payable", ...
    role: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    customer: Mapped[Customer | None] = relationship(back_populates="contacts")
    supplier: Mapped[Supplier | None] = relationship()


class Site(Base):
    """Where service items are installed and technicians go."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2))
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    # GeocodeStatus; anything but ok/manual means the site has no usable coordinates.
    geocode_status: Mapped[str] = mapped_column(String(10), default=GeocodeStatus.pending)
    # IANA zone name, e.g. "America/Sao_Paulo".
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship(back_populates="sites")

    @property
    def needs_geocode(self) -> bool:
        return self.latitude is None or self.longitude is None


class ServiceItem(Base):
    """A customer's piece of equipment that is serviced."""

    __tablename__ = "service_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True, index=True)
    item_group_id: Mapped[int] = mapped_column(ForeignKey("item_groups.id"), index=True)
    model: Mapped[str] = mapped_column(String(200))
    serial_number: Mapped[str] = mapped_column(String(100), default="", index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    warranty_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    warranty_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship()
    site: Mapped[Site | None] = relationship()
    item_group: Mapped[ItemGroup] = relationship()
    supplier: Mapped[Supplier | None] = relationship()

    def under_warranty(self, on: date) -> bool:
        """True when ``on`` falls within [warranty_start, warranty_end] (both inclusive)."""
        if self.warranty_end is None:
            return False
        start_ok = self.warranty_start is None or self.warranty_start <= on
        return start_ok and on <= self.warranty_end


class Product(Base):
    """A part of the catalogue."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    unit_price: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    cost: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    currency: Mapped[str] = mapped_column(String(3))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    supplier: Mapped[Supplier | None] = relationship()


class GeocodeCache(Base):
    """Answers of the geocoder by normalised query, so an address is looked up once."""

    __tablename__ = "geocode_cache"

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(500), unique=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    # False: the geocoder answered but found nothing (errors are not cached).
    found: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

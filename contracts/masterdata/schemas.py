"""Pydantic shapes of master data on the API: ``XCreate``, ``XUpdate`` (all optional), ``XRead``.

The shapes check form (lengths, signs, decimal places); the service checks
meaning (a known country, currency and time zone, a valid tax id, references
that exist), so seeds and imports that call the service directly get the same
rules.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

T = TypeVar("T")

_CENT = Decimal("0.01")


def format_decimal(value: Decimal) -> str:
    """Two decimals when that is exact ("120.00"), else every significant digit ("12.345")."""
    if value == value.quantize(_CENT):
        return format(value.quantize(_CENT), "f")
    return format(value.normalize(), "f")


_Out = PlainSerializer(format_decimal, return_type=str, when_used="json")

# Catalogue prices and hourly rates: not negative, at most 4 decimals (stored exactly).
Price = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=4), _Out]
# VAT rates in percent, 0..100, at most 2 decimals ("25", "17.5").
VatRate = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2), _Out]
Country = Annotated[str, Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")]
Currency = Annotated[str, Field(min_length=3, max_length=3, description="ISO 4217")]
Locale = Literal["pt_BR", "da", "it", "en"]
GeocodeStatusName = Literal["ok", "manual", "pending", "failed"]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(max_length=200, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, Field(max_length=50)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class Page(BaseModel, Generic[T]):
    """One page of a listing; pass ``next_cursor`` as ``cursor`` for the next (null: the end)."""

    items: list[T]
    next_cursor: str | None = None


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- skills --------------------------------------------------------------------------------


class SkillCreate(BaseModel):
    code: Code
    name: Name


class SkillUpdate(BaseModel):
    name: Name | None = None


class SkillRead(_Read):
    id: int
    code: str
    name: str


# --- labour catalogue ----------------------------------------------------------------------


class LabourTypeCreate(BaseModel):
    code: Code
    name: Name
    hourly_rate: Price
    cost_rate: Price = Decimal("0")
    vat_rate: VatRate = Decimal("0")
    currency: Currency
    active: bool = True


class LabourTypeUpdate(BaseModel):
    name: Name | None = None
    hourly_rate: Price | None = None
    cost_rate: Price | None = None
    vat_rate: VatRate | None = None
    currency: Currency | None = None
    active: bool | None = None


class LabourTypeRead(_Read):
    id: int
    code: str
    name: str
    hourly_rate: Price
    cost_rate: Price
    vat_rate: VatRate
    currency: str
    active: bool


# --- item groups ---------------------------------------------------------------------------


class ItemGroupCreate(BaseModel):
    code: Code
    name: Name
    skills: list[Code] = Field(default_factory=list, description="codes of the required skills")
    default_duration_minutes: int = Field(60, ge=1, le=24 * 60)
    default_labour_type_id: int | None = None
    default_hourly_rate: Price | None = None
    default_service_price: Price | None = None


class ItemGroupUpdate(BaseModel):
    name: Name | None = None
    skills: list[Code] | None = None
    default_duration_minutes: int | None = Field(None, ge=1, le=24 * 60)
    default_labour_type_id: int | None = None
    default_hourly_rate: Price | None = None
    default_service_price: Price | None = None


class ItemGroupRead(_Read):
    id: int
    code: str
    name: str
    skills: list[SkillRead]
    default_duration_minutes: int
    default_labour_type_id: int | None
    default_hourly_rate: Price | None
    default_service_price: Price | None


# --- suppliers -----------------------------------------------------------------------------


class SupplierCreate(BaseModel):
    name: Name
    tax_id: str = Field("", max_length=40)
    country: Country
    email: Email = ""
    phone: Phone = ""
    address: str = Field("", max_length=300)
    postal_code: str = Field("", max_length=20)
    city: str = Field("", max_length=100)
    locale: Locale = "en"
    currency: Currency = "EUR"


class SupplierUpdate(BaseModel):
    name: Name | None = None
    tax_id: str | None = Field(None, max_length=40)
    country: Country | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: str | None = Field(None, max_length=300)
    postal_code: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=100)
    locale: Locale | None = None
    currency: Currency | None = None


class SupplierRead(_Read):
    id: int
    name: str
    tax_id: str
    country: str
    email: str
    phone: str
    address: str
    postal_code: str
    city: str
    locale: str
    currency: str
    created_at: datetime


# --- customers and contacts ----------------------------------------------------------------


class CustomerCreate(BaseModel):
    number: str | None = Field(
        None, min_length=1, max_length=30, description="customer number; assigned when left out"
    )
    legal_name: Name
    tax_id: str = Field("", max_length=40, description="validated for the country; stored compact")
    country: Country
    locale: Locale
    currency: Currency
    email: Email = ""
    phone: Phone = ""
    address: str = Field("", max_length=300)
    postal_code: str = Field("", max_length=20)
    city: str = Field("", max_length=100)


class CustomerUpdate(BaseModel):
    legal_name: Name | None = None
    tax_id: str | None = Field(None, max_length=40)
    country: Country | None = None
    locale: Locale | None = None
    currency: Currency | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: str | None = Field(None, max_length=300)
    postal_code: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=100)
    active: bool | None = None


class CustomerRead(_Read):
    id: int
    number: str
    legal_name: str
    tax_id: str
    country: str
    locale: str
    currency: str
    email: str
    phone: str
    address: str
    postal_code: str
    city: str
    active: bool
    created_at: datetime


class ContactCreate(BaseModel):
    name: Name
    email: Email = ""
    phone: Phone = ""
    role: str = Field("", max_length=100)


class ContactUpdate(BaseModel):
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    role: str | None = Field(None, max_length=100)


class ContactRead(_Read):
    id: int
    customer_id: int | None
    supplier_id: int | None
    name: str
    email: str
    phone: str
    role: str


# --- sites ---------------------------------------------------------------------------------


class SiteCreate(BaseModel):
    """Give latitude and longitude, or neither: then the address is geocoded."""

    customer_id: int
    name: Name
    address: str = Field(min_length=1, max_length=300)
    postal_code: str = Field("", max_length=20)
    city: str = Field("", max_length=100)
    country: Country
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    timezone: str | None = Field(
        None, max_length=64, description="IANA zone; defaults to the country's when it has one"
    )


class SiteUpdate(BaseModel):
    """Changing the address without coordinates geocodes it again."""

    name: Name | None = None
    address: str | None = Field(None, min_length=1, max_length=300)
    postal_code: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=100)
    country: Country | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    timezone: str | None = Field(None, max_length=64)


class SiteRead(_Read):
    id: int
    customer_id: int
    name: str
    address: str
    postal_code: str
    city: str
    country: str
    latitude: float | None
    longitude: float | None
    geocode_status: GeocodeStatusName
    needs_geocode: bool = Field(description="no usable coordinates: orders here are flagged")
    timezone: str
    created_at: datetime


# --- service items -------------------------------------------------------------------------


class ServiceItemCreate(BaseModel):
    """``customer_id`` may be left out when ``site_id`` is given (the site's customer)."""

    customer_id: int | None = None
    site_id: int | None = None
    item_group_id: int
    model: Name
    serial_number: str = Field("", max_length=100)
    description: str = Field("", max_length=5000)
    warranty_start: date | None = None
    warranty_end: date | None = None
    supplier_id: int | None = None


class ServiceItemUpdate(BaseModel):
    site_id: int | None = None
    item_group_id: int | None = None
    model: Name | None = None
    serial_number: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=5000)
    warranty_start: date | None = None
    warranty_end: date | None = None
    supplier_id: int | None = None


class ServiceItemRead(_Read):
    id: int
    customer_id: int
    site_id: int | None
    item_group_id: int
    model: str
    serial_number: str
    description: str
    warranty_start: date | None
    warranty_end: date | None
    supplier_id: int | None
    created_at: datetime


# --- products ------------------------------------------------------------------------------


class ProductCreate(BaseModel):
    sku: Annotated[str, Field(min_length=1, max_length=60)]
    name: Name
    unit_price: Price
    cost: Price = Decimal("0")
    vat_rate: VatRate
    currency: Currency
    supplier_id: int | None = None
    active: bool = True


class ProductUpdate(BaseModel):
    name: Name | None = None
    unit_price: Price | None = None
    cost: Price | None = None
    vat_rate: VatRate | None = None
    currency: Currency | None = None
    supplier_id: int | None = None
    active: bool | None = None


class ProductRead(_Read):
    id: int
    sku: str
    name: str
    unit_price: Price
    cost: Price
    vat_rate: VatRate
    currency: str
    supplier_id: int | None
    active: bool

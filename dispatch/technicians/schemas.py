"""API shapes of technicians, zones and resource groups; skills, zones and groups travel as
codes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.masterdata.schemas import (
    Code,
    Currency,
    Email,
    Latitude,
    Locale,
    Longitude,
    Name,
    Phone,
    Price,
)

TimeZone = Annotated[str, Field(min_length=1, max_length=64, description="IANA zone name")]


class TechnicianCreate(BaseModel):
    name: Name
    email: Email = ""
    phone: Phone = ""
    locale: Locale = "pt_BR"
    home_lat: Latitude | None = None
    home_lon: Longitude | None = None
    cost_rate: Price = Decimal("0")
    currency: Currency
    active: bool = True
    skills: list[Code] = Field(default_factory=list, description="skill codes")
    user_id: int | None = Field(None, description="the technician's login (role technician)")
    timezone: TimeZone | None = Field(None, description="null: the company's default zone")
    zone: Code | None = Field(None, description="code of the zone he serves (null: every zone)")
    resource_group: Code | None = Field(None, description="code of his team")


class TechnicianUpdate(BaseModel):
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    locale: Locale | None = None
    home_lat: Latitude | None = None
    home_lon: Longitude | None = None
    cost_rate: Price | None = None
    currency: Currency | None = None
    active: bool | None = None
    skills: list[Code] | None = Field(None, description="replaces the skill list")
    user_id: int | None = None
    timezone: TimeZone | None = None
    zone: Code | None = None
    resource_group: Code | None = None


class TechnicianRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int | None
    name: str
    email: str
    phone: str
    locale: str
    home_lat: float | None
    home_lon: float | None
    cost_rate: Price
    currency: str
    active: bool
    skills: list[str]
    timezone: str | None = None
    zone: str | None = None
    resource_group: str | None = None

    @field_validator("skills", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        return [getattr(v, "code", v) for v in value]

    @field_validator("zone", "resource_group", mode="before")
    @classmethod
    def _code(cls, value: Any) -> Any:
        return getattr(value, "code", value)


class ZoneCreate(BaseModel):
    """A box of coordinates: a site is in the zone when it lies inside (edges included)."""

    code: Code
    name: Name
    min_lat: Latitude
    max_lat: Latitude
    min_lon: Longitude
    max_lon: Longitude

    @model_validator(mode="after")
    def _ordered(self) -> ZoneCreate:
        if self.min_lat > self.max_lat:
            raise ValueError("min_lat is above max_lat")
        if self.min_lon > self.max_lon:
            raise ValueError("min_lon is east of max_lon")
        return self


class ZoneRead(ZoneCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime


class ResourceGroupCreate(BaseModel):
    code: Code
    name: Name


class ResourceGroupRead(ResourceGroupCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime

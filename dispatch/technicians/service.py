"""Use cases of technicians, zones and resource groups; they flush, never commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from contracts.masterdata.errors import DuplicateKey, MasterDataNotFound, UnknownReference
from contracts.masterdata.models import Skill
from contracts.masterdata.service import (
    check_currency,
    check_locale,
    delete_row,
    not_null,
    skills_by_code,
)
from dispatch.core.auth import Role, User
from dispatch.core.errors import ValidationFailed
from dispatch.models import ResourceGroup, ServiceZone, Technician
from dispatch.technicians.schemas import (
    ResourceGroupCreate,
    TechnicianCreate,
    TechnicianUpdate,
    ZoneCreate,
)


def _get(session: Session, technician_id: int) -> Technician:
    tech = session.get(Technician, technician_id)
    if tech is None:
        raise MasterDataNotFound(f"no technician with id {technician_id}", field="id")
    return tech


def _check_user(session: Session, user_id: int, technician_id: int | None = None) -> None:
    user = session.get(User, user_id)
    if user is None:
        raise UnknownReference(f"no user with id {user_id}", field="user_id")
    if user.role != Role.technician:
        raise ValidationFailed(f"user {user.username!r} has role {user.role}, not technician",
                               field="user_id")
    other = session.scalar(select(Technician.id).where(Technician.user_id == user_id))
    if other is not None and other != technician_id:
        raise DuplicateKey(f"user {user.username!r} is already technician {other}",
                           field="user_id")


def _check_home(lat: float | None, lon: float | None) -> None:
    if (lat is None) != (lon is None):
        raise ValidationFailed("give home_lat and home_lon together",
                               field="home_lon" if lon is None else "home_lat")


def _check_timezone(name: str | None) -> str | None:
    if name is not None:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationFailed(f"unknown time zone {name!r}", field="timezone") from None
    return name


def _by_code(session: Session, model: type[Any], code: str | None, what: str,
             field: str) -> int | None:
    if code is None:
        return None
    row_id = session.scalar(select(model.id).where(model.code == code))
    if row_id is None:
        raise UnknownReference(f"no {what} with code {code!r}", field=field)
    return row_id


_CODES = {"zone": (ServiceZone, "zone", "zone_id"),
          "resource_group": (ResourceGroup, "resource group", "resource_group_id")}


def create_technician(session: Session, *, data: TechnicianCreate, now: datetime) -> Technician:
    _check_home(data.home_lat, data.home_lon)
    if data.user_id is not None:
        _check_user(session, data.user_id)
    refs = {column: _by_code(session, model, getattr(data, key), what, key)
            for key, (model, what, column) in _CODES.items()}
    tech = Technician(
        **data.model_dump(exclude={"skills", *_CODES}) | {
            "currency": check_currency(data.currency), "locale": check_locale(data.locale),
            "timezone": _check_timezone(data.timezone),
        },
        **refs,
        created_at=now,
    )
    tech.skills = skills_by_code(session, data.skills)
    session.add(tech)
    session.flush()
    return tech


def update_technician(session: Session, *, technician_id: int,
                      data: TechnicianUpdate) -> Technician:
    tech = _get(session, technician_id)
    changes: dict[str, Any] = not_null(data.model_dump(exclude_unset=True),
                                       nullable=("home_lat", "home_lon", "user_id", "timezone",
                                                 *_CODES))
    for key, (model, what, column) in _CODES.items():
        if key in changes:
            changes[column] = _by_code(session, model, changes.pop(key), what, key)
    if "timezone" in changes:
        _check_timezone(changes["timezone"])
    _check_home(changes.get("home_lat", tech.home_lat), changes.get("home_lon", tech.home_lon))
    if changes.get("user_id") is not None:
        _check_user(session, changes["user_id"], tech.id)
    if "currency" in changes:
        changes["currency"] = check_currency(changes["currency"])
    if "locale" in changes:
        changes["locale"] = check_locale(changes["locale"])
    if "skills" in changes:
        tech.skills = skills_by_code(session, changes.pop("skills"))
    for key, value in changes.items():
        setattr(tech, key, value)
    session.flush()
    return tech


def list_technicians(session: Session, *, active: bool | None = None,
                     skill: str | None = None) -> list[Technician]:
    """Technicians by name; ``skill`` keeps those who have that skill code."""
    stmt = select(Technician).options(selectinload(Technician.skills)).order_by(
        Technician.name, Technician.id
    )
    if active is not None:
        stmt = stmt.where(Technician.active == active)
    if skill:
        stmt = stmt.where(Technician.skills.any(Skill.code == skill))
    return list(session.scalars(stmt))


def get_technician(session: Session, *, technician_id: int) -> Technician:
    return _get(session, technician_id)


def delete_technician(session: Session, *, technician_id: int) -> None:
    delete_row(session, _get(session, technician_id), "the technician")


# --- zones and resource groups ---------------------------------------------------------------


def _unique_code(session: Session, model: type[Any], code: str, what: str) -> None:
    if session.scalar(select(model.id).where(model.code == code)) is not None:
        raise DuplicateKey(f"a {what} with code {code!r} exists", field="code")


def list_zones(session: Session) -> list[ServiceZone]:
    return list(session.scalars(select(ServiceZone).order_by(ServiceZone.code)))


def create_zone(session: Session, *, data: ZoneCreate, now: datetime) -> ServiceZone:
    _unique_code(session, ServiceZone, data.code, "zone")
    zone = ServiceZone(**data.model_dump(), created_at=now)
    session.add(zone)
    session.flush()
    return zone


def delete_zone(session: Session, *, zone_id: int) -> None:
    zone = session.get(ServiceZone, zone_id)
    if zone is None:
        raise MasterDataNotFound(f"no zone with id {zone_id}", field="id")
    delete_row(session, zone, "the zone")


def list_resource_groups(session: Session) -> list[ResourceGroup]:
    return list(session.scalars(select(ResourceGroup).order_by(ResourceGroup.code)))


def create_resource_group(session: Session, *, data: ResourceGroupCreate,
                          now: datetime) -> ResourceGroup:
    _unique_code(session, ResourceGroup, data.code, "resource group")
    group = ResourceGroup(**data.model_dump(), created_at=now)
    session.add(group)
    session.flush()
    return group


def delete_resource_group(session: Session, *, group_id: int) -> None:
    group = session.get(ResourceGroup, group_id)
    if group is None:
        raise MasterDataNotFound(f"no resource group with id {group_id}", field="id")
    delete_row(session, group, "the resource group")

"""Use cases of master data: create, change, list and delete; they flush, never commit.

Meaning is checked here (not only in the HTTP shapes) so seeds, imports and the
CLI get the same rules: countries are ISO-2 codes Babel knows, currencies
ISO 4217, time zones IANA names, tax ids valid for their country (stored
compact). A failed geocode never fails a site: it is stored flagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale as BabelLocale
from babel.core import get_global
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from contracts.masterdata import schemas as s
from contracts.masterdata.errors import DuplicateKey, InUse, MasterDataNotFound, UnknownReference
from contracts.masterdata.geocoding import Geocoder, geocode
from contracts.masterdata.models import (
    LOCALES,
    Contact,
    Customer,
    GeocodeStatus,
    ItemGroup,
    LabourType,
    Product,
    ServiceItem,
    Site,
    Skill,
    Supplier,
)
from contracts.masterdata.taxid import normalize_tax_id
from dispatch.core.db import Base
from dispatch.core.errors import ValidationFailed
from dispatch.core.money import valid_currency
from dispatch.core.numbering import next_number
from dispatch.core.web import decode_cursor, encode_cursor

M = TypeVar("M", bound=Base)

DEFAULT_PAGE = 50
MAX_PAGE = 200
CUSTOMER_SERIES = "customer"


# --- checks shared by every entity ---------------------------------------------------------


# Two-letter region codes in CLDR that are no country (unknown, EU, UN, pseudo-locales).
_NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"})


@lru_cache
def _territories() -> frozenset[str]:
    return frozenset(c for c in BabelLocale("en").territories
                     if len(c) == 2 and c.isalpha() and c not in _NOT_COUNTRIES)


def check_country(value: str, field: str = "country") -> str:
    code = value.strip().upper()
    if code not in _territories():
        raise ValidationFailed(f"{value!r} is not an ISO 3166-1 alpha-2 country code",
                               field=field)
    return code


def check_currency(value: str, field: str = "currency") -> str:
    code = value.strip().upper()
    if not valid_currency(code):
        raise ValidationFailed(f"{value!r} is not an ISO 4217 currency code", field=field)
    return code


def check_locale(value: str, field: str = "locale") -> str:
    if value not in LOCALES:
        raise ValidationFailed(f"{value!r} is not a supported language; one of "
                               f"{', '.join(LOCALES)}", field=field)
    return value


def check_timezone(value: str, field: str = "timezone") -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"{value!r} is not an IANA time zone such as "
                               "'America/Sao_Paulo'", field=field) from exc
    return value


def default_timezone(country: str, fallback: str) -> str | None:
    """The country's zone when it has one; ``fallback`` when that lies in the country."""
    zones = get_global("territory_zones").get(country, ())
    if len(zones) == 1:
        return zones[0]
    return fallback if fallback in zones else None


def not_null(changes: dict[str, Any], nullable: Iterable[str] = ()) -> dict[str, Any]:
    allowed = set(nullable)
    for key, value in changes.items():
        if value is None and key not in allowed:
            raise ValidationFailed(f"{key} may not be null", field=key)
    return changes


def _get(session: Session, model: type[M], row_id: int, what: str) -> M:
    row = session.get(model, row_id)
    if row is None:
        raise MasterDataNotFound(f"no {what} with id {row_id}", field="id")
    return row


def _ref(session: Session, model: type[M], row_id: int, what: str, field: str) -> M:
    """A row a request body refers to: a missing one is a 422 naming the field."""
    row = session.get(model, row_id)
    if row is None:
        raise UnknownReference(f"no {what} with id {row_id}", field=field)
    return row


def _taken(session: Session, column: Any, value: str, *, exclude_id: int | None = None) -> bool:
    stmt = select(column.class_.id).where(column == value)
    if exclude_id is not None:
        stmt = stmt.where(column.class_.id != exclude_id)
    return session.scalar(stmt.limit(1)) is not None


def _add(session: Session, row: M) -> M:
    session.add(row)
    session.flush()
    return row


def delete_row(session: Session, row: Base, what: str) -> None:
    """Delete ``row``; if anything still refers to it, a 409 and nothing changed."""
    try:
        with session.begin_nested():
            session.delete(row)
    except IntegrityError as exc:
        raise InUse(f"{what} is still referred to; deactivate it or remove the references "
                    "first") from exc


def _like(value: str) -> str:
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(columns: Sequence[Any], q: str) -> Any:
    pattern = _like(q)
    return or_(*(func.lower(c).like(pattern, escape="\\") for c in columns))


def paginate(session: Session, stmt: Select[tuple[M]], model: type[M], *, cursor: str | None,
             limit: int) -> tuple[list[M], str | None]:
    """Keyset pagination by id: (rows, cursor of the next page or None)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if cursor:
        after = decode_cursor(cursor).get("after")
        if not isinstance(after, int):
            raise ValidationFailed("malformed cursor", field="cursor")
        stmt = stmt.where(model.id > after)
    rows = list(session.scalars(stmt.order_by(model.id).limit(limit + 1)))
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor({"after": rows[-1].id})
    return rows, None


# --- skills --------------------------------------------------------------------------------


def create_skill(session: Session, *, data: s.SkillCreate, now: datetime) -> Skill:
    if _taken(session, Skill.code, data.code):
        raise DuplicateKey(f"skill {data.code!r} exists", field="code")
    return _add(session, Skill(code=data.code, name=data.name, created_at=now))


def update_skill(session: Session, *, skill_id: int, data: s.SkillUpdate) -> Skill:
    skill = _get(session, Skill, skill_id, "skill")
    for key, value in not_null(data.model_dump(exclude_unset=True)).items():
        setattr(skill, key, value)
    session.flush()
    return skill


def list_skills(session: Session) -> list[Skill]:
    return list(session.scalars(select(Skill).order_by(Skill.code)))


def get_skill(session: Session, *, skill_id: int) -> Skill:
    return _get(session, Skill, skill_id, "skill")


def delete_skill(session: Session, *, skill_id: int) -> None:
    delete_row(session, _get(session, Skill, skill_id, "skill"), "the skill")


def skills_by_code(session: Session, codes: Sequence[str], field: str = "skills") -> list[Skill]:
    """The skills named by ``codes``, by code (as relationships load them); unknown: a 422."""
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return []
    found = {k.code: k for k in session.scalars(select(Skill).where(Skill.code.in_(wanted)))}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise UnknownReference(f"unknown skill code(s): {', '.join(missing)}", field=field)
    return sorted(found.values(), key=lambda k: k.code)


# --- labour catalogue ----------------------------------------------------------------------


def create_labour_type(session: Session, *, data: s.LabourTypeCreate,
                       now: datetime) -> LabourType:
    if _taken(session, LabourType.code, data.code):
        raise DuplicateKey(f"labour type {data.code!r} exists", field="code")
    fields = data.model_dump()
    fields["currency"] = check_currency(data.currency)
    return _add(session, LabourType(**fields, created_at=now))


def update_labour_type(session: Session, *, labour_type_id: int,
                       data: s.LabourTypeUpdate) -> LabourType:
    row = _get(session, LabourType, labour_type_id, "labour type")
    changes = not_null(data.model_dump(exclude_unset=True))
    if "currency" in changes:
        changes["currency"] = check_currency(changes["currency"])
    for key, value in changes.items():
        setattr(row, key, value)
    session.flush()
    return row


def list_labour_types(session: Session, *, active: bool | None = None) -> list[LabourType]:
    stmt = select(LabourType).order_by(LabourType.code)
    if active is not None:
        stmt = stmt.where(LabourType.active == active)
    return list(session.scalars(stmt))


def get_labour_type(session: Session, *, labour_type_id: int) -> LabourType:
    return _get(session, LabourType, labour_type_id, "labour type")


def delete_labour_type(session: Session, *, labour_type_id: int) -> None:
    row = _get(session, LabourType, labour_type_id, "labour type")
    delete_row(session, row, "the labour type")


# --- item groups ---------------------------------------------------------------------------


def create_item_group(session: Session, *, data: s.ItemGroupCreate, now: datetime) -> ItemGroup:
    if _taken(session, ItemGroup.code, data.code):
        raise DuplicateKey(f"item group {data.code!r} exists", field="code")
    if data.default_labour_type_id is not None:
        _ref(session, LabourType, data.default_labour_type_id, "labour type",
             "default_labour_type_id")
    group = ItemGroup(**data.model_dump(exclude={"skills"}), created_at=now)
    group.skills = skills_by_code(session, data.skills)
    return _add(session, group)


def update_item_group(session: Session, *, item_group_id: int,
                      data: s.ItemGroupUpdate) -> ItemGroup:
    group = _get(session, ItemGroup, item_group_id, "item group")
    changes = not_null(
        data.model_dump(exclude_unset=True),
        nullable=("default_labour_type_id", "default_hourly_rate", "default_service_price"),
    )
    if "skills" in changes:
        group.skills = skills_by_code(session, changes.pop("skills"))
    if changes.get("default_labour_type_id") is not None:
        _ref(session, LabourType, changes["default_labour_type_id"], "labour type",
             "default_labour_type_id")
    for key, value in changes.items():
        setattr(group, key, value)
    session.flush()
    return group


def list_item_groups(session: Session) -> list[ItemGroup]:
    stmt = select(ItemGroup).options(selectinload(ItemGroup.skills)).order_by(ItemGroup.code)
    return list(session.scalars(stmt))


def get_item_group(session: Session, *, item_group_id: int) -> ItemGroup:
    return _get(session, ItemGroup, item_group_id, "item group")


def delete_item_group(session: Session, *, item_group_id: int) -> None:
    group = _get(session, ItemGroup, item_group_id, "item group")
    delete_row(session, group, "the item group")


# --- suppliers -----------------------------------------------------------------------------


def _supplier_fields(fields: dict[str, Any], country: str) -> dict[str, Any]:
    if "tax_id" in fields:
        fields["tax_id"] = normalize_tax_id(country, fields["tax_id"])
    if "currency" in fields:
        fields["currency"] = check_currency(fields["currency"])
    if "locale" in fields:
        fields["locale"] = check_locale(fields["locale"])
    return fields


def create_supplier(session: Session, *, data: s.SupplierCreate, now: datetime) -> Supplier:
    country = check_country(data.country)
    fields = _supplier_fields(data.model_dump() | {"country": country}, country)
    return _add(session, Supplier(**fields, created_at=now))


def update_supplier(session: Session, *, supplier_id: int, data: s.SupplierUpdate) -> Supplier:
    supplier = _get(session, Supplier, supplier_id, "supplier")
    changes = not_null(data.model_dump(exclude_unset=True))
    if "country" in changes:
        changes["country"] = check_country(changes["country"])
        # A new country re-checks the tax id under its rules.
        changes.setdefault("tax_id", supplier.tax_id)
    country = changes.get("country", supplier.country)
    for key, value in _supplier_fields(changes, country).items():
        setattr(supplier, key, value)
    session.flush()
    return supplier


def list_suppliers(session: Session, *, q: str | None = None, country: str | None = None,
                   cursor: str | None = None,
                   limit: int = DEFAULT_PAGE) -> tuple[list[Supplier], str | None]:
    stmt = select(Supplier)
    if q:
        stmt = stmt.where(_search((Supplier.name, Supplier.tax_id), q))
    if country:
        stmt = stmt.where(Supplier.country == country.upper())
    return paginate(session, stmt, Supplier, cursor=cursor, limit=limit)


def get_supplier(session: Session, *, supplier_id: int) -> Supplier:
    return _get(session, Supplier, supplier_id, "supplier")


def delete_supplier(session: Session, *, supplier_id: int) -> None:
    supplier = _get(session, Supplier, supplier_id, "supplier")
    if session.scalar(select(Contact.id).where(Contact.supplier_id == supplier.id).limit(1)):
        raise InUse("the supplier still has contacts; delete them first")
    delete_row(session, supplier, "the supplier")


# --- customers -----------------------------------------------------------------------------


def _next_customer_number(session: Session) -> str:
    while True:
        number = f"C-{next_number(session, CUSTOMER_SERIES):06d}"
        if not _taken(session, Customer.number, number):
            return number


def create_customer(session: Session, *, data: s.CustomerCreate, now: datetime) -> Customer:
    """A customer; the tax id is validated for the country and stored compact."""
    country = check_country(data.country)
    fields = data.model_dump() | {
        "country": country,
        "tax_id": normalize_tax_id(country, data.tax_id),
        "currency": check_currency(data.currency),
        "locale": check_locale(data.locale),
    }
    if data.number is not None:
        fields["number"] = data.number.strip()
        if _taken(session, Customer.number, fields["number"]):
            raise DuplicateKey(f"customer number {fields['number']!r} is taken", field="number")
    else:
        fields["number"] = _next_customer_number(session)
    return _add(session, Customer(**fields, active=True, created_at=now))


def update_customer(session: Session, *, customer_id: int, data: s.CustomerUpdate) -> Customer:
    customer = _get(session, Customer, customer_id, "customer")
    changes = not_null(data.model_dump(exclude_unset=True))
    if "country" in changes:
        changes["country"] = check_country(changes["country"])
        changes.setdefault("tax_id", customer.tax_id)
    if "tax_id" in changes:
        changes["tax_id"] = normalize_tax_id(changes.get("country", customer.country),
                                             changes["tax_id"])
    if "currency" in changes:
        changes["currency"] = check_currency(changes["currency"])
    if "locale" in changes:
        changes["locale"] = check_locale(changes["locale"])
    for key, value in changes.items():
        setattr(customer, key, value)
    session.flush()
    return customer


def list_customers(session: Session, *, q: str | None = None, country: str | None = None,
                   tax_id: str | None = None, active: bool | None = None,
                   cursor: str | None = None,
                   limit: int = DEFAULT_PAGE) -> tuple[list[Customer], str | None]:
    """Customers by id; ``q`` searches name, number and tax id, ``tax_id`` matches compact."""
    stmt = select(Customer)
    if q:
        stmt = stmt.where(_search((Customer.legal_name, Customer.number, Customer.tax_id), q))
    if country:
        stmt = stmt.where(Customer.country == country.upper())
    if tax_id:
        compact = "".join(ch for ch in tax_id if ch.isalnum()).upper()
        stmt = stmt.where(Customer.tax_id == compact)
    if active is not None:
        stmt = stmt.where(Customer.active == active)
    return paginate(session, stmt, Customer, cursor=cursor, limit=limit)


def get_customer(session: Session, *, customer_id: int) -> Customer:
    return _get(session, Customer, customer_id, "customer")


def delete_customer(session: Session, *, customer_id: int) -> None:
    customer = _get(session, Customer, customer_id, "customer")
    if customer.sites or customer.contacts:
        raise InUse("the customer still has sites or contacts; deactivate it instead "
                    "(active: false)")
    delete_row(session, customer, "the customer")


# --- contacts ------------------------------------------------------------------------------


def create_contact(session: Session, *, data: s.ContactCreate, now: datetime,
                   customer_id: int | None = None, supplier_id: int | None = None) -> Contact:
    """A contact of exactly one customer or one supplier (both from the URL: 404 if unknown)."""
    if (customer_id is None) == (supplier_id is None):
        raise ValueError("a contact belongs to a customer or to a supplier")
    if customer_id is not None:
        _get(session, Customer, customer_id, "customer")
    else:
        _get(session, Supplier, supplier_id, "supplier")  # type: ignore[arg-type]
    return _add(session, Contact(**data.model_dump(), customer_id=customer_id,
                                 supplier_id=supplier_id, created_at=now))


def _owned_contact(session: Session, contact_id: int, *, customer_id: int | None,
                   supplier_id: int | None) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None or contact.customer_id != customer_id \
            or contact.supplier_id != supplier_id:
        owner = "customer" if customer_id is not None else "supplier"
        raise MasterDataNotFound(
            f"no contact {contact_id} at {owner} {customer_id or supplier_id}", field="id"
        )
    return contact


def update_contact(session: Session, *, contact_id: int, data: s.ContactUpdate,
                   customer_id: int | None = None, supplier_id: int | None = None) -> Contact:
    contact = _owned_contact(session, contact_id, customer_id=customer_id,
                             supplier_id=supplier_id)
    for key, value in not_null(data.model_dump(exclude_unset=True)).items():
        setattr(contact, key, value)
    session.flush()
    return contact


def list_contacts(session: Session, *, customer_id: int | None = None,
                  supplier_id: int | None = None) -> list[Contact]:
    if customer_id is not None:
        _get(session, Customer, customer_id, "customer")
        stmt = select(Contact).where(Contact.customer_id == customer_id)
    else:
        _get(session, Supplier, supplier_id, "supplier")  # type: ignore[arg-type]
        stmt = select(Contact).where(Contact.supplier_id == supplier_id)
    return list(session.scalars(stmt.order_by(Contact.id)))


def delete_contact(session: Session, *, contact_id: int, customer_id: int | None = None,
                   supplier_id: int | None = None) -> None:
    contact = _owned_contact(session, contact_id, customer_id=customer_id,
                             supplier_id=supplier_id)
    delete_row(session, contact, "the contact")


# --- sites ---------------------------------------------------------------------------------


def _coordinates(latitude: float | None, longitude: float | None) -> bool:
    """True when both are given; one without the other is a 422."""
    if (latitude is None) != (longitude is None):
        missing = "longitude" if longitude is None else "latitude"
        raise ValidationFailed("give latitude and longitude together, or neither to geocode "
                               "the address", field=missing)
    return latitude is not None


def _locate(session: Session, site: Site, geocoder: Geocoder | None, now: datetime) -> None:
    outcome = geocode(session, geocoder=geocoder, address=site.address,
                      postal_code=site.postal_code, city=site.city, country=site.country,
                      now=now)
    site.latitude, site.longitude = outcome.latitude, outcome.longitude
    site.geocode_status = outcome.status


def create_site(session: Session, *, data: s.SiteCreate, geocoder: Geocoder | None,
                default_tz: str, now: datetime) -> Site:
    """A site; without coordinates its address is geocoded, and a failure only flags it."""
    _ref(session, Customer, data.customer_id, "customer", "customer_id")
    country = check_country(data.country)
    if data.timezone:
        tz = check_timezone(data.timezone)
    else:
        tz = default_timezone(country, default_tz) or ""
        if not tz:
            raise ValidationFailed(f"{country} has several time zones; give the site's "
                                   "timezone", field="timezone")
    site = Site(
        customer_id=data.customer_id, name=data.name, address=data.address.strip(),
        postal_code=data.postal_code.strip(), city=data.city.strip(), country=country,
        timezone=tz, created_at=now,
    )
    if _coordinates(data.latitude, data.longitude):
        site.latitude, site.longitude = data.latitude, data.longitude
        site.geocode_status = GeocodeStatus.manual
    else:
        _locate(session, site, geocoder, now)
    return _add(session, site)


def update_site(session: Session, *, site_id: int, data: s.SiteUpdate,
                geocoder: Geocoder | None, now: datetime) -> Site:
    """Coordinates given are taken as typed; a changed address without them is geocoded."""
    site = _get(session, Site, site_id, "site")
    changes = not_null(data.model_dump(exclude_unset=True))
    lat, lon = changes.pop("latitude", None), changes.pop("longitude", None)
    if "country" in changes:
        changes["country"] = check_country(changes["country"])
    if "timezone" in changes:
        changes["timezone"] = check_timezone(changes["timezone"])
    moved = any(
        key in changes and changes[key] != getattr(site, key)
        for key in ("address", "postal_code", "city", "country")
    )
    for key, value in changes.items():
        setattr(site, key, value.strip() if isinstance(value, str) else value)
    if _coordinates(lat, lon):
        site.latitude, site.longitude = lat, lon
        site.geocode_status = GeocodeStatus.manual
    elif moved:
        _locate(session, site, geocoder, now)
    session.flush()
    return site


def regeocode_site(session: Session, *, site_id: int, geocoder: Geocoder | None,
                   now: datetime) -> Site:
    """Ask the geocoder again for a site it failed on (or never tried); manual ones stay."""
    site = _get(session, Site, site_id, "site")
    if site.geocode_status != GeocodeStatus.manual:
        _locate(session, site, geocoder, now)
        session.flush()
    return site


def list_sites(session: Session, *, customer_id: int | None = None, q: str | None = None,
               geocode_status: str | None = None, cursor: str | None = None,
               limit: int = DEFAULT_PAGE) -> tuple[list[Site], str | None]:
    stmt = select(Site)
    if customer_id is not None:
        stmt = stmt.where(Site.customer_id == customer_id)
    if q:
        stmt = stmt.where(_search((Site.name, Site.address, Site.city, Site.postal_code), q))
    if geocode_status:
        stmt = stmt.where(Site.geocode_status == geocode_status)
    return paginate(session, stmt, Site, cursor=cursor, limit=limit)


def get_site(session: Session, *, site_id: int) -> Site:
    return _get(session, Site, site_id, "site")


def delete_site(session: Session, *, site_id: int) -> None:
    delete_row(session, _get(session, Site, site_id, "site"), "the site")


# --- service items -------------------------------------------------------------------------


def _check_warranty(start: Any, end: Any) -> None:
    if start is not None and end is not None and end < start:
        raise ValidationFailed(f"warranty ends ({end}) before it starts ({start})",
                               field="warranty_end")


def create_service_item(session: Session, *, data: s.ServiceItemCreate,
                        now: datetime) -> ServiceItem:
    customer_id = data.customer_id
    if data.site_id is not None:
        site = _ref(session, Site, data.site_id, "site", "site_id")
        if customer_id is None:
            customer_id = site.customer_id
        elif site.customer_id != customer_id:
            raise ValidationFailed(f"site {site.id} belongs to another customer",
                                   field="site_id")
    if customer_id is None:
        raise ValidationFailed("give customer_id or site_id", field="customer_id")
    _ref(session, Customer, customer_id, "customer", "customer_id")
    _ref(session, ItemGroup, data.item_group_id, "item group", "item_group_id")
    if data.supplier_id is not None:
        _ref(session, Supplier, data.supplier_id, "supplier", "supplier_id")
    _check_warranty(data.warranty_start, data.warranty_end)
    fields = data.model_dump() | {"customer_id": customer_id}
    return _add(session, ServiceItem(**fields, created_at=now))


def update_service_item(session: Session, *, service_item_id: int,
                        data: s.ServiceItemUpdate) -> ServiceItem:
    item = _get(session, ServiceItem, service_item_id, "service item")
    changes = not_null(
        data.model_dump(exclude_unset=True),
        nullable=("site_id", "supplier_id", "warranty_start", "warranty_end"),
    )
    if changes.get("site_id") is not None:
        site = _ref(session, Site, changes["site_id"], "site", "site_id")
        if site.customer_id != item.customer_id:
            raise ValidationFailed(f"site {site.id} belongs to another customer",
                                   field="site_id")
    if "item_group_id" in changes:
        _ref(session, ItemGroup, changes["item_group_id"], "item group", "item_group_id")
    if changes.get("supplier_id") is not None:
        _ref(session, Supplier, changes["supplier_id"], "supplier", "supplier_id")
    _check_warranty(changes.get("warranty_start", item.warranty_start),
                    changes.get("warranty_end", item.warranty_end))
    for key, value in changes.items():
        setattr(item, key, value)
    session.flush()
    return item


def list_service_items(session: Session, *, customer_id: int | None = None,
                       site_id: int | None = None, item_group_id: int | None = None,
                       supplier_id: int | None = None, serial_number: str | None = None,
                       q: str | None = None, cursor: str | None = None,
                       limit: int = DEFAULT_PAGE) -> tuple[list[ServiceItem], str | None]:
    stmt = select(ServiceItem)
    for column, value in ((ServiceItem.customer_id, customer_id),
                          (ServiceItem.site_id, site_id),
                          (ServiceItem.item_group_id, item_group_id),
                          (ServiceItem.supplier_id, supplier_id),
                          (ServiceItem.serial_number, serial_number)):
        if value is not None:
            stmt = stmt.where(column == value)
    if q:
        stmt = stmt.where(_search((ServiceItem.model, ServiceItem.serial_number,
                                   ServiceItem.description), q))
    return paginate(session, stmt, ServiceItem, cursor=cursor, limit=limit)


def get_service_item(session: Session, *, service_item_id: int) -> ServiceItem:
    return _get(session, ServiceItem, service_item_id, "service item")


def delete_service_item(session: Session, *, service_item_id: int) -> None:
    item = _get(session, ServiceItem, service_item_id, "service item")
    delete_row(session, item, "the service item")


# --- products ------------------------------------------------------------------------------


def create_product(session: Session, *, data: s.ProductCreate, now: datetime) -> Product:
    if _taken(session, Product.sku, data.sku):
        raise DuplicateKey(f"a product with SKU {data.sku!r} exists", field="sku")
    if data.supplier_id is not None:
        _ref(session, Supplier, data.supplier_id, "supplier", "supplier_id")
    fields = data.model_dump() | {"currency": check_currency(data.currency)}
    return _add(session, Product(**fields, created_at=now))


def update_product(session: Session, *, product_id: int, data: s.ProductUpdate) -> Product:
    product = _get(session, Product, product_id, "product")
    changes = not_null(data.model_dump(exclude_unset=True), nullable=("supplier_id",))
    if changes.get("supplier_id") is not None:
        _ref(session, Supplier, changes["supplier_id"], "supplier", "supplier_id")
    if "currency" in changes:
        changes["currency"] = check_currency(changes["currency"])
    for key, value in changes.items():
        setattr(product, key, value)
    session.flush()
    return product


def list_products(session: Session, *, q: str | None = None, supplier_id: int | None = None,
                  active: bool | None = None, cursor: str | None = None,
                  limit: int = DEFAULT_PAGE) -> tuple[list[Product], str | None]:
    stmt = select(Product)
    if q:
        stmt = stmt.where(_search((Product.sku, Product.name), q))
    if supplier_id is not None:
        stmt = stmt.where(Product.supplier_id == supplier_id)
    if active is not None:
        stmt = stmt.where(Product.active == active)
    return paginate(session, stmt, Product, cursor=cursor, limit=limit)


def get_product(session: Session, *, product_id: int) -> Product:
    return _get(session, Product, product_id, "product")


def delete_product(session: Session, *, product_id: int) -> None:
    delete_row(session, _get(session, Product, product_id, "product"), "the product")


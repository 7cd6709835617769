"""HTTP routes of master data: parse, call one service function, commit, return the schema.

Roles: back office (dispatcher, billing) reads and writes everything here;
technicians may also read what they work on (sites, service items, item
groups, skills, the parts catalogue); admin may do everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from contracts.masterdata import schemas as s
from contracts.masterdata import service
from contracts.masterdata.geocoding import Geocoder, geocoder_from_settings
from dispatch.core.web import ClockDep, IdempotencyDep, SessionDep, SettingsDep, require_role

BACK_OFFICE = ("dispatcher", "billing")
# Technicians read the places and equipment they visit, and the parts they may use.
FIELD_READ = ("dispatcher", "billing", "technician")

back_office = [Depends(require_role(*BACK_OFFICE))]
field_read = [Depends(require_role(*FIELD_READ))]

Limit = Annotated[int, Query(ge=1, le=service.MAX_PAGE, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


def get_geocoder(settings: SettingsDep) -> Geocoder | None:
    return geocoder_from_settings(settings)


GeocoderDep = Annotated[Geocoder | None, Depends(get_geocoder)]


def _page(rows: Sequence[Any], next_cursor: str | None, read: type[BaseModel]) -> dict[str, Any]:
    return {"items": [read.model_validate(r) for r in rows], "next_cursor": next_cursor}


def _created(session: Any, idem: Any, out: BaseModel) -> BaseModel:
    idem.save(out, 201)
    session.commit()
    return out


# --- skills --------------------------------------------------------------------------------

skills = APIRouter(prefix="/skills", tags=["master data: skills"])


@skills.get("", response_model=list[s.SkillRead], dependencies=field_read,
            description="Roles: dispatcher, billing, technician.")
def list_skills(session: SessionDep) -> Any:
    return service.list_skills(session)


@skills.post("", status_code=201, response_model=s.SkillRead, dependencies=back_office,
             description="Roles: dispatcher, billing. Takes Idempotency-Key.")
def create_skill(body: s.SkillCreate, session: SessionDep, clock: ClockDep,
                 idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    row = service.create_skill(session, data=body, now=clock.now())
    return _created(session, idem, s.SkillRead.model_validate(row))


@skills.get("/{skill_id}", response_model=s.SkillRead, dependencies=field_read,
            description="Roles: dispatcher, billing, technician.")
def get_skill(skill_id: int, session: SessionDep) -> Any:
    return service.get_skill(session, skill_id=skill_id)


@skills.patch("/{skill_id}", response_model=s.SkillRead, dependencies=back_office,
              description="Roles: dispatcher, billing.")
def update_skill(skill_id: int, body: s.SkillUpdate, session: SessionDep) -> Any:
    row = service.update_skill(session, skill_id=skill_id, data=body)
    session.commit()
    return row


@skills.delete("/{skill_id}", status_code=204, dependencies=back_office,
               description="Roles: dispatcher, billing. 409 while an item group or technician "
                           "has the skill.")
def delete_skill(skill_id: int, session: SessionDep) -> Response:
    service.delete_skill(session, skill_id=skill_id)
    session.commit()
    return Response(status_code=204)


# --- labour catalogue ----------------------------------------------------------------------

labour_types = APIRouter(prefix="/labour-types", tags=["master data: labour catalogue"])


@labour_types.get("", response_model=list[s.LabourTypeRead], dependencies=back_office,
                  description="Roles: dispatcher, billing.")
def list_labour_types(session: SessionDep, active: bool | None = None) -> Any:
    return service.list_labour_types(session, active=active)


@labour_types.post("", status_code=201, response_model=s.LabourTypeRead,
                   dependencies=back_office,
                   description="Roles: dispatcher, billing. Takes Idempotency-Key.")
def create_labour_type(body: s.LabourTypeCreate, session: SessionDep, clock: ClockDep,
                       idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    row = service.create_labour_type(session, data=body, now=clock.now())
    return _created(session, idem, s.LabourTypeRead.model_validate(row))


@labour_types.get("/{labour_type_id}", response_model=s.LabourTypeRead,
                  dependencies=back_office, description="Roles: dispatcher, billing.")
def get_labour_type(labour_type_id: int, session: SessionDep) -> Any:
    return service.get_labour_type(session, labour_type_id=labour_type_id)


@labour_types.patch("/{labour_type_id}", response_model=s.LabourTypeRead,
                    dependencies=back_office, description="Roles: dispatcher, billing.")
def update_labour_type(labour_type_id: int, body: s.LabourTypeUpdate,
                       session: SessionDep) -> Any:
    row = service.update_labour_type(session, labour_type_id=labour_type_id, data=body)
    session.commit()
    return row


@labour_types.delete("/{labour_type_id}", status_code=204, dependencies=back_office,
                     description="Roles: dispatcher, billing. 409 while in use.")
def delete_labour_type(labour_type_id: int, session: SessionDep) -> Response:
    service.delete_labour_type(session, labour_type_id=labour_type_id)
    session.commit()
    return Response(status_code=204)


# --- item groups ---------------------------------------------------------------------------

item_groups = APIRouter(prefix="/item-groups", tags=["master data: item groups"])


@item_groups.get("", response_model=list[s.ItemGroupRead], dependencies=field_read,
                 description="Roles: dispatcher, billing, technician.")
def list_item_groups(session: SessionDep) -> Any:
    return service.list_item_groups(session)


@item_groups.post("", status_code=201, response_model=s.ItemGroupRead,
                  dependencies=back_office,
                  description="Roles: dispatcher, billing. Skills by code. Takes "
                              "Idempotency-Key.")
def create_item_group(body: s.ItemGroupCreate, session: SessionDep, clock: ClockDep,
                      idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    row = service.create_item_group(session, data=body, now=clock.now())
    return _created(session, idem, s.ItemGroupRead.model_validate(row))


@item_groups.get("/{item_group_id}", response_model=s.ItemGroupRead, dependencies=field_read,
                 description="Roles: dispatcher, billing, technician.")
def get_item_group(item_group_id: int, session: SessionDep) -> Any:
    return service.get_item_group(session, item_group_id=item_group_id)


@item_groups.patch("/{item_group_id}", response_model=s.ItemGroupRead,
                   dependencies=back_office,
                   description="Roles: dispatcher, billing. `skills` replaces the list.")
def update_item_group(item_group_id: int, body: s.ItemGroupUpdate, session: SessionDep) -> Any:
    row = service.update_item_group(session, item_group_id=item_group_id, data=body)
    session.commit()
    return row


@item_groups.delete("/{item_group_id}", status_code=204, dependencies=back_office,
                    description="Roles: dispatcher, billing. 409 while items belong to it.")
def delete_item_group(item_group_id: int, session: SessionDep) -> Response:
    service.delete_item_group(session, item_group_id=item_group_id)
    session.commit()
    return Response(status_code=204)


# --- suppliers and their contacts ----------------------------------------------------------

suppliers = APIRouter(prefix="/suppliers", tags=["master data: suppliers"])


@suppliers.get("", response_model=s.Page[s.SupplierRead], dependencies=back_office,
               description="Roles: dispatcher, billing. `q` searches name and tax id.")
def list_suppliers(session: SessionDep, q: str | None = None, country: str | None = None,
                   cursor: Cursor = None, limit: Limit = service.DEFAULT_PAGE) -> Any:
    rows, nxt = service.list_suppliers(session, q=q, country=country, cursor=cursor,
                                       limit=limit)
    return _page(rows, nxt, s.SupplierRead)


@suppliers.post("", status_code=201, response_model=s.SupplierRead, dependencies=back_office,
                description="Roles: dispatcher, billing. Takes Idempotency-Key.")
def create_supplier(body: s.SupplierCreate, session: SessionDep, clock: ClockDep,
                    idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    row = service.create_supplier(session, data=body, now=clock.now())
    return _created(session, idem, s.SupplierRead.model_validate(row))


@suppliers.get("/{supplier_id}", response_model=s.SupplierRead, dependencies=back_office,
               description="Roles: dispatcher, billing.")
def get_supplier(supplier_id: int, session: SessionDep) -> Any:
    return service.get_supplier(session, supplier_id=supplier_id)


@suppliers.patch("/{supplier_id}", response_model=s.SupplierRead, dependencies=back_office,
                 description="Roles: dispatcher, billing.")
def update_supplier(supplier_id: int, body: s.SupplierUpdate, session: SessionDep) -> Any:
    row = service.update_supplier(session, supplier_id=supplier_id, data=body)
    session.commit()
    return row


@suppliers.delete("/{supplier_id}", status_code=204, dependencies=back_office,
                  description="Roles: dispatcher, billing. 409 while in use.")
def delete_supplier(supplier_id: int, session: SessionDep) -> Response:
    service.delete_supplier(session, supplier_id=supplier_id)
    session.commit()
    return Response(status_code=204)


@suppliers.get("/{supplier_id}/contacts", response_model=list[s.ContactRead],
               dependencies=back_office, description="Roles: dispatcher, billing.")
def list_supplier_contacts(supplier_id: int, session: SessionDep) -> Any:
    return service.list_contacts(session, supplier_id=supplier_id)


@suppliers.post("/{supplier_id}/contacts", status_code=201, response_model=s.ContactRead,
                dependencies=back_office,
                description="Roles: dispatcher, billing. Takes Idempotency-Key.")
def create_supplier_contact(supplier_id: int, body: s.ContactCreate, session: SessionDep,
                            clock: ClockDep, idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    row = service.create_contact(session, data=body, supplier_id=supplier_id, now=clock.now())
    return _created(session, idem, s.ContactRead.model_validate(row))


@suppliers.patch("/{supplier_id}/contacts/{contact_id}", response_model=s.ContactRead,
                 dependencies=back_office, description="Roles: dispatcher, billing.")
def update_supplier_contact(supplier_id: int, contact_id: int, body: s.ContactUpdate,
                            session: SessionDep) -> Any:
    row = service.update_contact(session, contact_id=contact_id, supplier_id=supplier_id,
                                 data=body)
    session.commit()
    return row


@suppliers.delete("/{supplier_id}/contacts/{contact_id}", status_code=204,
                  dependencies=back_office, description="Roles: dispatcher, billing.")
def delete_supplier_contact(supplier_id: int, contact_id: int, session: SessionDep) -> Response:
    service.delete_contact(session, contact_id=contact_id, supplier_id=supplier_id)
    session.commit()
    return Response(status_code=204)


# --- customers and their contacts ----------------------------------------------------------

customers = APIRouter(prefix="/customers", tags=["master data: customers"])


@customers.get("", response_model=s.Page[s.CustomerRead], dependencies=back_office,
               description="Roles: dispatcher, billing. `q` searches name, number and tax id; "
                           "`tax_id` matches in any formatting.")
def list_customers(session: SessionDep, q: str | None = None, country: str | None = None,
                   tax_id: str | None = None, active: bool | None = None,
                   cursor: Cursor = None, limit: Limit = service.DEFAULT_PAGE) -> Any:
    rows, nxt = service.list_customers(session, q=q, country=country, tax_id=tax_id,
                                       active=active, cursor=cursor, limit=limit)
    return _page(rows, nxt, s.CustomerRead)


@customers.post("", status_code=201, response_model=s.CustomerRead, dependencies=back_office,
                description="Roles: dispatcher, billing. The tax id is validated for the "
                            "country (CNPJ/CPF, CVR, partita IVA/codice fiscale, VAT) and "
                            "stored compact. Takes Idempotency-Key.")
def create_customer(body: s.CustomerCreate, session: SessionDep, clock: ClockDep,
                    idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    row = service.create_customer(session, data=body, now=clock.now())
    return _created(session, idem, s.CustomerRead.model_validate(row))


@customers.get("/{customer_id}", response_model=s.CustomerRead, dependencies=back_office,
               description="Roles: dispatcher, billing.")
def get_customer(customer_id: int, session: SessionDep) -> Any:
    return service.get_customer(session, customer_id=customer_id)


@customers.patch("/{customer_id}", response_model=s.CustomerRead, dependencies=back_office,
                 description="Roles: dispatcher, billing.")
def update_customer(customer_id: int, body: s.CustomerUpdate, session: SessionDep) -> Any:
    row = service.update_customer(session, customer_id=customer_id, data=body)
    session.commit()
    return row


@customers.delete("/{customer_id}", status_code=204, dependencies=back_office,
                  description="Roles: dispatcher, billing. 409 while it has sites, contacts, "
                              "items or orders; deactivate instead.")
def delete_customer(customer_id: int, session: SessionDep) -> Response:
    service.delete_customer(session, customer_id=customer_id)
    session.commit()
    return Response(status_code=204)


@customers.get("/{customer_id}/contacts", response_model=list[s.ContactRead],
               dependencies=back_office, description="Roles: dispatcher, billing.")
def list_customer_contacts(customer_id: int, session: SessionDep) -> Any:
    return service.list_contacts(session, customer_id=customer_id)


@customers.post("/{customer_id}/contacts", status_code=201, response_model=s.ContactRead,
                dependencies=back_office,
                description="Roles: dispatcher, billing. Takes Idempotency-Key.")
def create_customer_contact(customer_id: int, body: s.ContactCreate, session: SessionDep,
                            clock: ClockDep, idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    row = service.create_contact(session, data=body, customer_id=customer_id, now=clock.now())
    return _created(session, idem, s.ContactRead.model_validate(row))


@customers.patch("/{customer_id}/contacts/{contact_id}", response_model=s.ContactRead,
                 dependencies=back_office, description="Roles: dispatcher, billing.")
def update_customer_contact(customer_id: int, contact_id: int, body: s.ContactUpdate,
                            session: SessionDep) -> Any:
    row = service.update_contact(session, contact_id=contact_id, customer_id=customer_id,
                                 data=body)
    session.commit()
    return row


@customers.delete("/{customer_id}/contacts/{contact_id}", status_code=204,
                  dependencies=back_office, description="Roles: dispatcher, billing.")
def delete_customer_contact(customer_id: int, contact_id: int, session: SessionDep) -> Response:
    service.delete_contact(session, contact_id=contact_id, customer_id=customer_id)
    session.commit()
    return Response(status_code=204)


# --- sites ---------------------------------------------------------------------------------

sites = APIRouter(prefix="/sites", tags=["master data: sites"])


@sites.get("", response_model=s.Page[s.SiteRead], dependencies=field_read,
           description="Roles: dispatcher, billing, technician. `geocode_status=failed` lists "
                       "the flagged ones.")
def list_sites(session: SessionDep, customer_id: int | None = None, q: str | None = None,
               geocode_status: s.GeocodeStatusName | None = None, cursor: Cursor = None,
               limit: Limit = service.DEFAULT_PAGE) -> Any:
    rows, nxt = service.list_sites(session, customer_id=customer_id, q=q,
                                   geocode_status=geocode_status, cursor=cursor, limit=limit)
    return _page(rows, nxt, s.SiteRead)


@sites.post("", status_code=201, response_model=s.SiteRead, dependencies=back_office,
            description="Roles: dispatcher, billing. Without coordinates the address is "
                        "geocoded; a failed geocode stores the site flagged "
                        "(`needs_geocode`). Takes Idempotency-Key.")
def create_site(body: s.SiteCreate, session: SessionDep, clock: ClockDep, settings: SettingsDep,
                geocoder: GeocoderDep, idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    row = service.create_site(session, data=body, geocoder=geocoder,
                              default_tz=settings.default_timezone, now=clock.now())
    return _created(session, idem, s.SiteRead.model_validate(row))


@sites.get("/{site_id}", response_model=s.SiteRead, dependencies=field_read,
           description="Roles: dispatcher, billing, technician.")
def get_site(site_id: int, session: SessionDep) -> Any:
    return service.get_site(session, site_id=site_id)


@sites.patch("/{site_id}", response_model=s.SiteRead, dependencies=back_office,
             description="Roles: dispatcher, billing. A changed address without coordinates "
                         "is geocoded again.")
def update_site(site_id: int, body: s.SiteUpdate, session: SessionDep, clock: ClockDep,
                geocoder: GeocoderDep) -> Any:
    row = service.update_site(session, site_id=site_id, data=body, geocoder=geocoder,
                              now=clock.now())
    session.commit()
    return row


@sites.post("/{site_id}/geocode", response_model=s.SiteRead, dependencies=back_office,
            description="Roles: dispatcher, billing. Asks the geocoder again (not for sites "
                        "with manual coordinates).")
def regeocode_site(site_id: int, session: SessionDep, clock: ClockDep,
                   geocoder: GeocoderDep) -> Any:
    row = service.regeocode_site(session, site_id=site_id, geocoder=geocoder, now=clock.now())
    session.commit()
    return row


@sites.delete("/{site_id}", status_code=204, dependencies=back_office,
              description="Roles: dispatcher, billing. 409 while in use.")
def delete_site(site_id: int, session: SessionDep) -> Response:
    service.delete_site(session, site_id=site_id)
    session.commit()
    return Response(status_code=204)


# --- service items -------------------------------------------------------------------------

service_items = APIRouter(prefix="/service-items", tags=["master data: service items"])


@service_items.get("", response_model=s.Page[s.ServiceItemRead], dependencies=field_read,
                   description="Roles: dispatcher, billing, technician. `q` searches model, "
                               "serial number and description.")
def list_service_items(session: SessionDep, customer_id: int | None = None,
                       site_id: int | None = None, item_group_id: int | None = None,
                       supplier_id: int | None = None, serial_number: str | None = None,
                       q: str | None = None, cursor: Cursor = None,
                       limit: Limit = service.DEFAULT_PAGE) -> Any:
    rows, nxt = service.list_service_items(
        session, customer_id=customer_id, site_id=site_id, item_group_id=item_group_id,
        supplier_id=supplier_id, serial_number=serial_number, q=q, cursor=cursor, limit=limit,
    )
    return _page(rows, nxt, s.ServiceItemRead)


@service_items.post("", status_code=201, response_model=s.ServiceItemRead,
                    dependencies=back_office,
                    description="Roles: dispatcher, billing. Takes Idempotency-Key.")
def create_service_item(body: s.ServiceItemCreate, session: SessionDep, clock: ClockDep,
                        idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    row = service.create_service_item(session, data=body, now=clock.now())
    return _created(session, idem, s.ServiceItemRead.model_validate(row))


@service_items.get("/{service_item_id}", response_model=s.ServiceItemRead,
                   dependencies=field_read,
                   description="Roles: dispatcher, billing, technician.")
def get_service_item(service_item_id: int, session: SessionDep) -> Any:
    return service.get_service_item(session, service_item_id=service_item_id)


@service_items.patch("/{service_item_id}", response_model=s.ServiceItemRead,
                     dependencies=back_office, description="Roles: dispatcher, billing.")
def update_service_item(service_item_id: int, body: s.ServiceItemUpdate,
                        session: SessionDep) -> Any:
    row = service.update_service_item(session, service_item_id=service_item_id, data=body)
    session.commit()
    return row


@service_items.delete("/{service_item_id}", status_code=204, dependencies=back_office,
                      description="Roles: dispatcher, billing. 409 while in use.")
def delete_service_item(service_item_id: int, session: SessionDep) -> Response:
    service.delete_service_item(session, service_item_id=service_item_id)
    session.commit()
    return Response(status_code=204)


# --- products ------------------------------------------------------------------------------

products = APIRouter(prefix="/products", tags=["master data: products"])


@products.get("", response_model=s.Page[s.ProductRead], dependencies=field_read,
              description="Roles: dispatcher, billing, technician. `q` searches SKU and name.")
def list_products(session: SessionDep, q: str | None = None, supplier_id: int | None = None,
                  active: bool | None = None, cursor: Cursor = None,
                  limit: Limit = service.DEFAULT_PAGE) -> Any:
    rows, nxt = service.list_products(session, q=q, supplier_id=supplier_id, active=active,
                                      cursor=cursor, limit=limit)
    return _page(rows, nxt, s.ProductRead)


@products.post("", status_code=201, response_model=s.ProductRead, dependencies=back_office,
               description="Roles: dispatcher, billing. Takes Idempotency-Key.")
def create_product(body: s.ProductCreate, session: SessionDep, clock: ClockDep,
                   idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    row = service.create_product(session, data=body, now=clock.now())
    return _created(session, idem, s.ProductRead.model_validate(row))


@products.get("/{product_id}", response_model=s.ProductRead, dependencies=field_read,
              description="Roles: dispatcher, billing, technician.")
def get_product(product_id: int, session: SessionDep) -> Any:
    return service.get_product(session, product_id=product_id)


@products.patch("/{product_id}", response_model=s.ProductRead, dependencies=back_office,
                description="Roles: dispatcher, billing.")
def update_product(product_id: int, body: s.ProductUpdate, session: SessionDep) -> Any:
    row = service.update_product(session, product_id=product_id, data=body)
    session.commit()
    return row


@products.delete("/{product_id}", status_code=204, dependencies=back_office,
                 description="Roles: dispatcher, billing. 409 while in use; deactivate instead.")
def delete_product(product_id: int, session: SessionDep) -> Response:
    service.delete_product(session, product_id=product_id)
    session.commit()
    return Response(status_code=204)


routers = [customers, suppliers, sites, service_items, item_groups, skills, products,
           labour_types]

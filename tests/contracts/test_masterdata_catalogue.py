"""Skills, item groups, service items, the parts and the labour catalogues over HTTP."""

import pytest
from sqlalchemy import func, select

from contracts.masterdata.models import ItemGroup, LabourType, Product, ServiceItem, Skill
from tests.factories import (
    make_customer,
    make_item_group,
    make_product,
    make_service_item,
    make_site,
    make_skill,
    make_supplier,
)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_an_item_group_requires_skills_named_by_code(client, auth, session):
    make_skill(session, code="refrigeration")
    make_skill(session, code="electrical")
    session.commit()
    headers = auth("dispatcher")
    res = client.post("/item-groups", headers=headers, json={
        "code": "fridge", "name": "Commercial fridges", "skills": ["refrigeration", "electrical"],
        "default_duration_minutes": 90, "default_hourly_rate": "135.5"})
    assert res.status_code == 201, res.text
    group = res.json()
    assert [s["code"] for s in group["skills"]] == ["electrical", "refrigeration"]
    assert group["default_hourly_rate"] == "135.50"
    changed = client.patch(f"/item-groups/{group['id']}", headers=headers,
                           json={"skills": ["electrical"]})
    assert [s["code"] for s in changed.json()["skills"]] == ["electrical"]


def test_an_unknown_skill_code_is_a_422_and_no_group_is_made(client, auth, session):
    res = client.post("/item-groups", headers=auth("dispatcher"), json={
        "code": "oven", "name": "Ovens", "skills": ["baking"]})
    assert res.status_code == 422
    assert res.json()["field"] == "skills"
    assert "baking" in res.json()["detail"]
    assert _count(session, ItemGroup) == 0


def test_a_skill_in_use_cannot_be_deleted_and_a_duplicate_code_is_a_409(client, auth, session):
    skill = make_item_group(session).skills[0]
    session.commit()
    headers = auth("dispatcher")
    assert client.delete(f"/skills/{skill.id}", headers=headers).status_code == 409
    dup = client.post("/skills", headers=headers, json={"code": skill.code, "name": "Again"})
    assert dup.status_code == 409
    assert dup.json()["field"] == "code"
    free = client.post("/skills", headers=headers, json={"code": "welding", "name": "Welding"})
    assert free.status_code == 201
    assert client.delete(f"/skills/{free.json()['id']}", headers=headers).status_code == 204
    assert _count(session, Skill) == 1


def test_technicians_read_skills_and_item_groups(client, auth, session):
    make_item_group(session)
    session.commit()
    headers = auth("technician")
    assert len(client.get("/skills", headers=headers).json()) == 1
    assert len(client.get("/item-groups", headers=headers).json()) == 1
    assert client.post("/skills", headers=headers,
                       json={"code": "x", "name": "x"}).status_code == 403


def _item(customer_id, site_id, group_id, **overrides) -> dict:
    return {"customer_id": customer_id, "site_id": site_id, "item_group_id": group_id,
            "model": "Frigomax 500", "serial_number": "FM500-0001",
            "warranty_start": "2026-01-15", "warranty_end": "2027-01-14"} | overrides


def test_a_service_item_with_warranty_dates_and_a_supplier(client, auth, session):
    site, group, supplier = make_site(session), make_item_group(session), make_supplier(session)
    session.commit()
    res = client.post("/service-items", headers=auth("dispatcher"), json=_item(
        None, site.id, group.id, supplier_id=supplier.id))
    assert res.status_code == 201, res.text
    item = res.json()
    assert item["customer_id"] == site.customer_id  # taken from the site
    assert (item["warranty_start"], item["warranty_end"]) == ("2026-01-15", "2027-01-14")
    assert item["supplier_id"] == supplier.id


@pytest.mark.parametrize(("overrides", "field"), [
    ({"warranty_start": "2026-05-01", "warranty_end": "2026-04-30"}, "warranty_end"),
    ({"item_group_id": 999999}, "item_group_id"),
    ({"supplier_id": 999999}, "supplier_id"),
    ({"site_id": 999999}, "site_id"),
    ({"model": ""}, "model"),
    ({"warranty_end": "2026-02-30"}, "warranty_end"),
])
def test_bad_service_item_input_is_a_422_and_stores_nothing(client, auth, session, overrides,
                                                           field):
    site, group = make_site(session), make_item_group(session)
    session.commit()
    res = client.post("/service-items", headers=auth("dispatcher"),
                      json=_item(site.customer_id, site.id, group.id) | overrides)
    assert res.status_code == 422, res.text
    assert res.json()["field"] == field
    assert _count(session, ServiceItem) == 0


def test_a_service_item_cannot_sit_at_another_customers_site(client, auth, session):
    site, other, group = make_site(session), make_customer(session), make_item_group(session)
    session.commit()
    res = client.post("/service-items", headers=auth("dispatcher"),
                      json=_item(other.id, site.id, group.id))
    assert res.status_code == 422
    assert res.json()["field"] == "site_id"


def test_shortening_a_warranty_to_before_its_start_changes_nothing(client, auth, session):
    item = make_service_item(session)
    session.commit()
    res = client.patch(f"/service-items/{item.id}", headers=auth("dispatcher"),
                       json={"warranty_end": "2025-12-31"})
    assert res.status_code == 422
    session.expire_all()
    assert str(session.get(ServiceItem, item.id).warranty_end) == "2026-12-31"


def test_service_items_are_found_by_serial_and_text_and_paged(client, auth, session):
    site = make_site(session)
    ids = [make_service_item(session, site=site, model=f"Oven {i}").id for i in range(3)]
    make_service_item(session, serial_number="XYZ-1", model="Dishwasher")
    session.commit()
    headers = auth("technician")
    found = client.get("/service-items", headers=headers, params={"serial_number": "XYZ-1"})
    assert [i["model"] for i in found.json()["items"]] == ["Dishwasher"]
    assert len(client.get("/service-items", headers=headers,
                          params={"q": "oven"}).json()["items"]) == 3
    page = client.get("/service-items", headers=headers,
                      params={"site_id": site.id, "limit": 2}).json()
    rest = client.get("/service-items", headers=headers,
                      params={"site_id": site.id, "limit": 2, "cursor": page["next_cursor"]})
    assert [i["id"] for i in page["items"] + rest.json()["items"]] == ids


def _product(**overrides) -> dict:
    return {"sku": "COMP-220", "name": "Compressor 220V", "unit_price": "850.00",
            "cost": "510.00", "vat_rate": "18", "currency": "BRL"} | overrides


def test_a_product_keeps_exact_prices_and_its_supplier(client, auth, session):
    supplier = make_supplier(session)
    session.commit()
    res = client.post("/products", headers=auth("billing"), json=_product(
        unit_price="12.3456", supplier_id=supplier.id))
    assert res.status_code == 201, res.text
    product = res.json()
    assert (product["unit_price"], product["cost"], product["vat_rate"]) == (
        "12.3456", "510.00", "18.00")
    assert product["supplier_id"] == supplier.id


@pytest.mark.parametrize(("overrides", "field"), [
    ({"unit_price": "-1.00"}, "unit_price"),
    ({"cost": "-0.01"}, "cost"),
    ({"unit_price": "1.00001"}, "unit_price"),
    ({"vat_rate": "100.5"}, "vat_rate"),
    ({"currency": "ABC"}, "currency"),
    ({"supplier_id": 999999}, "supplier_id"),
])
def test_bad_product_input_is_a_422_and_stores_nothing(client, auth, session, overrides, field):
    res = client.post("/products", headers=auth("billing"), json=_product(**overrides))
    assert res.status_code == 422, res.text
    assert res.json()["field"] == field
    assert _count(session, Product) == 0


def test_a_duplicate_sku_is_a_409(client, auth, session):
    make_product(session, sku="COMP-220")
    session.commit()
    res = client.post("/products", headers=auth("billing"), json=_product())
    assert res.status_code == 409
    assert res.json()["field"] == "sku"
    assert _count(session, Product) == 1


def test_a_negative_price_on_update_changes_nothing(client, auth, session):
    product = make_product(session)
    session.commit()
    res = client.patch(f"/products/{product.id}", headers=auth("billing"),
                       json={"unit_price": "-5"})
    assert res.status_code == 422
    session.expire_all()
    assert str(session.get(Product, product.id).unit_price) == "50.0000"


def test_products_are_searched_and_paged_and_a_retry_creates_nothing(client, auth, session):
    for i in range(3):
        make_product(session, sku=f"FLT-{i}", name=f"Filter {i}")
    make_product(session, sku="VLV-1", name="Valve")
    session.commit()
    headers = auth("dispatcher")
    page = client.get("/products", headers=headers, params={"q": "filter", "limit": 2}).json()
    rest = client.get("/products", headers=headers, params={
        "q": "filter", "limit": 2, "cursor": page["next_cursor"]}).json()
    assert [p["sku"] for p in page["items"] + rest["items"]] == ["FLT-0", "FLT-1", "FLT-2"]
    retry = headers | {"Idempotency-Key": "p-1"}
    first = client.post("/products", headers=retry, json=_product())
    again = client.post("/products", headers=retry, json=_product())
    assert first.json() == again.json()
    assert _count(session, Product) == 5


def test_the_labour_catalogue_holds_hourly_and_cost_rates(client, auth, session):
    headers = auth("dispatcher")
    res = client.post("/labour-types", headers=headers, json={
        "code": "tech-hour", "name": "Technician hour", "hourly_rate": "120",
        "cost_rate": "55.5", "vat_rate": "5", "currency": "brl"})
    assert res.status_code == 201, res.text
    labour = res.json()
    assert (labour["hourly_rate"], labour["cost_rate"], labour["currency"]) == (
        "120.00", "55.50", "BRL")
    neg = client.post("/labour-types", headers=headers, json={
        "code": "x", "name": "x", "hourly_rate": "-1", "currency": "BRL"})
    assert neg.status_code == 422
    assert neg.json()["field"] == "hourly_rate"
    assert _count(session, LabourType) == 1
    group = client.post("/item-groups", headers=headers, json={
        "code": "hvac", "name": "HVAC", "default_labour_type_id": labour["id"]})
    assert group.json()["default_labour_type_id"] == labour["id"]
    assert client.delete(f"/labour-types/{labour['id']}", headers=headers).status_code == 409
    assert client.get("/labour-types", headers=auth("technician")).status_code == 403

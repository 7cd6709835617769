"""Customers, their contacts and suppliers over HTTP."""

import pytest
from sqlalchemy import func, select

from contracts.masterdata.models import Contact, Customer, Supplier
from dispatch.core.idempotency import IdempotencyRecord
from tests.factories import make_contact, make_customer, make_site


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _customer(**overrides) -> dict:
    return {"legal_name": "Padaria Central Ltda", "tax_id": "11.222.333/0001-81",
            "country": "BR", "locale": "pt_BR", "currency": "BRL"} | overrides


@pytest.mark.parametrize(("country", "locale", "currency", "typed", "stored"), [
    ("BR", "pt_BR", "BRL", "11.222.333/0001-81", "11222333000181"),
    ("DK", "da", "DKK", "DK 13 58 56 28", "13585628"),
    ("IT", "it", "EUR", "IT 00743110157", "00743110157"),
])
def test_a_customer_with_a_valid_tax_id_is_created_with_the_compact_id(
        client, auth, country, locale, currency, typed, stored):
    res = client.post("/customers", headers=auth("dispatcher"), json=_customer(
        country=country, locale=locale, currency=currency, tax_id=typed))
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["tax_id"] == stored
    assert (body["country"], body["locale"], body["currency"]) == (country, locale, currency)
    assert body["number"].startswith("C-")
    assert body["active"] is True


def test_an_invalid_tax_id_is_a_422_naming_tax_id_and_creates_nothing(client, auth, session):
    res = client.post("/customers", headers=auth("dispatcher"),
                      json=_customer(tax_id="11.222.333/0001-82"))
    assert res.status_code == 422
    assert res.headers["content-type"].startswith("application/problem+json")
    problem = res.json()
    assert problem["field"] == "tax_id"
    assert problem["type"].endswith("/invalid-tax-id")
    assert "CNPJ" in problem["detail"]
    assert _count(session, Customer) == 0


def test_a_danish_customer_with_a_brazilian_tax_id_is_refused(client, auth, session):
    res = client.post("/customers", headers=auth("billing"), json=_customer(
        country="DK", locale="da", currency="DKK", tax_id="11222333000181"))
    assert res.status_code == 422
    assert res.json()["field"] == "tax_id"
    assert _count(session, Customer) == 0


@pytest.mark.parametrize(("field", "value"), [
    ("locale", "fr"), ("currency", "XYZ"), ("country", "ZZ"), ("currency", "EU"),
    ("legal_name", ""),
])
def test_an_unknown_language_currency_or_country_is_a_422_naming_it(client, auth, session,
                                                                    field, value):
    res = client.post("/customers", headers=auth("dispatcher"), json=_customer(**{field: value}))
    assert res.status_code == 422, res.text
    assert res.json()["field"] == field
    assert _count(session, Customer) == 0


def test_customers_are_numbered_in_sequence_unless_a_number_is_given(client, auth):
    headers = auth("dispatcher")
    first = client.post("/customers", headers=headers, json=_customer()).json()
    second = client.post("/customers", headers=headers, json=_customer()).json()
    assert (first["number"], second["number"]) == ("C-000001", "C-000002")
    own = client.post("/customers", headers=headers, json=_customer(number="VIP-7"))
    assert own.json()["number"] == "VIP-7"
    taken = client.post("/customers", headers=headers, json=_customer(number="VIP-7"))
    assert taken.status_code == 409
    assert taken.json()["field"] == "number"


def test_a_retried_create_with_the_same_idempotency_key_creates_nothing_new(client, auth,
                                                                           session):
    headers = auth("dispatcher") | {"Idempotency-Key": "cust-1"}
    first = client.post("/customers", headers=headers, json=_customer())
    again = client.post("/customers", headers=headers, json=_customer())
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert _count(session, Customer) == 1
    other = client.post("/customers", headers=headers, json=_customer(legal_name="Other"))
    assert other.status_code == 422
    assert other.json()["field"] == "Idempotency-Key"
    assert _count(session, Customer) == 1


def test_a_failed_create_does_not_burn_its_idempotency_key(client, auth, session):
    headers = auth("dispatcher") | {"Idempotency-Key": "cust-2"}
    bad = client.post("/customers", headers=headers, json=_customer(tax_id="123"))
    assert bad.status_code == 422
    assert _count(session, IdempotencyRecord) == 0
    good = client.post("/customers", headers=headers, json=_customer(tax_id="123", country="US",
                                                                     currency="USD", locale="en"))
    assert good.status_code == 201


def test_customers_are_listed_page_by_page_with_a_cursor(client, auth, session):
    made = [make_customer(session, legal_name=f"Firma {i}").id for i in range(5)]
    session.commit()
    headers = auth("billing")
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        res = client.get("/customers", headers=headers, params=params)
        assert res.status_code == 200
        page = res.json()
        seen += [c["id"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    assert pages == 3


def test_customers_can_be_found_by_text_country_and_tax_id_in_any_formatting(client, auth,
                                                                           session):
    make_customer(session, legal_name="Oficina Mecânica Sul", tax_id="11222333000181")
    make_customer(session, legal_name="Hansen ApS", country="DK", locale="da", currency="DKK",
                  tax_id="13585628")
    session.commit()
    headers = auth("dispatcher")

    def names(**params):
        res = client.get("/customers", headers=headers, params=params)
        assert res.status_code == 200
        return [c["legal_name"] for c in res.json()["items"]]

    assert names(q="oficina") == ["Oficina Mecânica Sul"]
    assert names(country="dk") == ["Hansen ApS"]
    assert names(tax_id="11.222.333/0001-81") == ["Oficina Mecânica Sul"]
    assert names(q="nobody") == []


def test_a_malformed_cursor_is_a_422(client, auth):
    res = client.get("/customers", headers=auth("dispatcher"), params={"cursor": "%%%"})
    assert res.status_code == 422
    assert res.json()["field"] == "cursor"


def test_changing_the_country_checks_the_tax_id_again_and_changes_nothing_if_invalid(
        client, auth, session):
    customer = make_customer(session)
    session.commit()
    headers = auth("dispatcher")
    res = client.patch(f"/customers/{customer.id}", headers=headers, json={"country": "DK"})
    assert res.status_code == 422
    assert res.json()["field"] == "tax_id"
    session.expire_all()
    assert session.get(Customer, customer.id).country == "BR"
    ok = client.patch(f"/customers/{customer.id}", headers=headers,
                      json={"country": "DK", "tax_id": "13585628", "locale": "da"})
    assert ok.status_code == 200, ok.text
    assert (ok.json()["country"], ok.json()["tax_id"]) == ("DK", "13585628")


def test_a_required_field_cannot_be_patched_to_null(client, auth, session):
    customer = make_customer(session)
    session.commit()
    res = client.patch(f"/customers/{customer.id}", headers=auth("dispatcher"),
                       json={"legal_name": None})
    assert res.status_code == 422
    assert res.json()["field"] == "legal_name"


def test_an_unknown_customer_is_a_404_problem(client, auth):
    res = client.get("/customers/999999", headers=auth("dispatcher"))
    assert res.status_code == 404
    assert res.headers["content-type"].startswith("application/problem+json")


def test_contacts_of_a_customer_are_added_listed_changed_and_removed(client, auth, session):
    customer = make_customer(session)
    session.commit()
    headers = auth("dispatcher")
    url = f"/customers/{customer.id}/contacts"
    made = client.post(url, headers=headers, json={"name": "Ana Souza", "role": "manager",
                                                   "email": "ana@padaria.test"})
    assert made.status_code == 201, made.text
    contact_id = made.json()["id"]
    assert made.json()["customer_id"] == customer.id
    listed = client.get(url, headers=headers).json()
    assert [c["name"] for c in listed] == ["Ana Souza"]
    changed = client.patch(f"{url}/{contact_id}", headers=headers, json={"phone": "+55 11 5555"})
    assert changed.json()["phone"] == "+55 11 5555"
    assert client.delete(f"{url}/{contact_id}", headers=headers).status_code == 204
    assert client.get(url, headers=headers).json() == []


def test_a_contact_is_reached_only_through_its_own_customer(client, auth, session):
    contact = make_contact(session)
    other = make_customer(session)
    session.commit()
    res = client.patch(f"/customers/{other.id}/contacts/{contact.id}",
                       headers=auth("dispatcher"), json={"name": "X"})
    assert res.status_code == 404
    assert client.post("/customers/999999/contacts", headers=auth("dispatcher"),
                       json={"name": "X"}).status_code == 404
    assert _count(session, Contact) == 1


def test_a_bad_email_is_a_422(client, auth, session):
    customer = make_customer(session)
    session.commit()
    res = client.post(f"/customers/{customer.id}/contacts", headers=auth("dispatcher"),
                      json={"name": "A", "email": "not-an-email"})
    assert res.status_code == 422
    assert res.json()["field"] == "email"


def test_a_customer_with_sites_cannot_be_deleted_but_can_be_deactivated(client, auth, session):
    customer = make_site(session).customer
    session.commit()
    headers = auth("dispatcher")
    res = client.delete(f"/customers/{customer.id}", headers=headers)
    assert res.status_code == 409
    assert _count(session, Customer) == 1
    off = client.patch(f"/customers/{customer.id}", headers=headers, json={"active": False})
    assert off.json()["active"] is False
    listed = client.get("/customers", headers=headers, params={"active": "false"}).json()
    assert [c["id"] for c in listed["items"]] == [customer.id]


def test_an_unused_customer_can_be_deleted(client, auth, session):
    customer = make_customer(session)
    session.commit()
    assert client.delete(f"/customers/{customer.id}", headers=auth("billing")).status_code == 204
    assert _count(session, Customer) == 0


def test_technicians_may_not_read_or_write_customers(client, auth):
    headers = auth("technician")
    assert client.get("/customers", headers=headers).status_code == 403
    assert client.post("/customers", headers=headers, json=_customer()).status_code == 403


def test_a_supplier_with_a_vat_number_and_contacts(client, auth, session):
    headers = auth("billing")
    res = client.post("/suppliers", headers=headers, json={
        "name": "Frigo Italia S.p.A.", "country": "IT", "tax_id": "IT00743110157",
        "email": "garanzia@frigo.test", "locale": "it", "currency": "EUR"})
    assert res.status_code == 201, res.text
    supplier = res.json()
    assert supplier["tax_id"] == "00743110157"
    contact = client.post(f"/suppliers/{supplier['id']}/contacts", headers=headers,
                          json={"name": "Luca Bianchi", "role": "warranty desk"})
    assert contact.status_code == 201
    assert contact.json()["supplier_id"] == supplier["id"]
    assert contact.json()["customer_id"] is None
    listed = client.get("/suppliers", headers=headers, params={"q": "frigo"}).json()
    assert [s["id"] for s in listed["items"]] == [supplier["id"]]
    assert client.delete(f"/suppliers/{supplier['id']}", headers=headers).status_code == 409


def test_a_supplier_with_an_invalid_vat_number_is_not_created(client, auth, session):
    res = client.post("/suppliers", headers=auth("billing"), json={
        "name": "Bad GmbH", "country": "DE", "tax_id": "DE136695977"})
    assert res.status_code == 422
    assert res.json()["field"] == "tax_id"
    assert _count(session, Supplier) == 0

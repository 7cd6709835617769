"""Plain factory functions with deterministic defaults: ``make_x(session, **overrides)``."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from contracts.masterdata.models import (
    Contact,
    Customer,
    ItemGroup,
    LabourType,
    Product,
    ServiceItem,
    Site,
    Skill,
    Supplier,
)
from dispatch.core.auth import create_token, create_user
from dispatch.models import Technician

_seq = itertools.count(1)


def make_token(session: Session, *, role: str, now: datetime, username: str | None = None,
               locale: str = "en") -> str:
    username = username or f"{role}{next(_seq)}"
    create_user(session, username=username, role=role, now=now, locale=locale)
    return create_token(session, username=username, now=now)


# --- master data (O1) ---------------------------------------------------------------------

# Factories' default "now": the FixedClock's default instant.
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _add(session: Session, row):
    session.add(row)
    session.flush()
    return row


def make_skill(session: Session, **overrides) -> Skill:
    n = next(_seq)
    fields = {"code": f"skill-{n}", "name": f"Skill {n}", "created_at": T0} | overrides
    return _add(session, Skill(**fields))


def make_labour_type(session: Session, **overrides) -> LabourType:
    n = next(_seq)
    fields = {
        "code": f"labour-{n}", "name": f"Technician hour {n}", "hourly_rate": Decimal("120.00"),
        "cost_rate": Decimal("60.00"), "vat_rate": Decimal("5.00"), "currency": "BRL",
        "active": True, "created_at": T0,
    } | overrides
    return _add(session, LabourType(**fields))


def make_item_group(session: Session, *, skills: list[Skill] | None = None,
                    **overrides) -> ItemGroup:
    """An item group requiring ``skills`` (default: one fresh skill)."""
    n = next(_seq)
    if skills is None:
        skills = [make_skill(session)]
    fields = {
        "code": f"group-{n}", "name": f"Item group {n}", "default_duration_minutes": 60,
        "created_at": T0,
    } | overrides
    group = ItemGroup(**fields)
    group.skills = list(skills)
    return _add(session, group)


def make_supplier(session: Session, **overrides) -> Supplier:
    n = next(_seq)
    fields = {
        "name": f"Supplier {n} S.p.A.", "tax_id": "", "country": "IT", "email": f"claims{n}@supplier.test",
        "phone": "", "locale": "it", "currency": "EUR", "created_at": T0,
    } | overrides
    return _add(session, Supplier(**fields))


def make_customer(session: Session, **overrides) -> Customer:
    """A Brazilian customer with a valid CNPJ (11.222.333/0001-81) by default."""
    n = next(_seq)
    fields = {
        "number": f"C-{n:06d}", "legal_name": f"Customer {n} Ltda", "tax_id": "11222333000181",
        "country": "BR", "locale": "pt_BR", "currency": "BRL", "email": f"customer{n}@example.test",
        "phone": "", "address": "Av. Paulista 1000", "postal_code": "01310-100",
        "city": "São Paulo", "active": True, "created_at": T0,
    } | overrides
    return _add(session, Customer(**fields))


def make_contact(session: Session, *, customer: Customer | None = None,
                 supplier: Supplier | None = None, **overrides) -> Contact:
    """A contact of ``customer`` (a new customer unless a supplier or customer is given)."""
    n = next(_seq)
    if customer is None and supplier is None and "customer_id" not in overrides \
            and "supplier_id" not in overrides:
        customer = make_customer(session)
    fields = {
        "customer_id": customer.id if customer else None,
        "supplier_id": supplier.id if supplier else None,
        "name": f"Contact {n}", "email": f"contact{n}@example.test", "phone": "", "role": "",
        "created_at": T0,
    } | overrides
    return _add(session, Contact(**fields))


def make_site(session: Session, *, customer: Customer | None = None, **overrides) -> Site:
    """A geocoded site in São Paulo of ``customer`` (a new one by default)."""
    n = next(_seq)
    if customer is None and "customer_id" not in overrides:
        customer = make_customer(session)
    fields = {
        "customer_id": customer.id if customer else None, "name": f"Site {n}",
        "address": f"Rua Augusta {n}", "postal_code": "01305-000", "city": "São Paulo",
        "country": "BR", "latitude": -23.5558, "longitude": -46.6623, "geocode_status": "manual",
        "timezone": "America/Sao_Paulo", "created_at": T0,
    } | overrides
    return _add(session, Site(**fields))


def make_service_item(session: Session, *, customer: Customer | None = None,
                      site: Site | None = None, item_group: ItemGroup | None = None,
                      supplier: Supplier | None = None, **overrides) -> ServiceItem:
    """An item at ``site`` (new customer and site by default), under warranty during 2026."""
    n = next(_seq)
    if site is None and "site_id" not in overrides:
        site = make_site(session, customer=customer)
    if customer is None and "customer_id" not in overrides:
        customer = site.customer if site is not None else make_customer(session)
    if item_group is None and "item_group_id" not in overrides:
        item_group = make_item_group(session)
    fields = {
        "customer_id": customer.id if customer else None,
        "site_id": site.id if site else None,
        "item_group_id": item_group.id if item_group else None,
        "supplier_id": supplier.id if supplier else None,
        "model": f"Model {n}", "serial_number": f"SN{n:08d}", "description": "",
        "warranty_start": date(2026, 1, 1), "warranty_end": date(2026, 12, 31),
        "created_at": T0,
    } | overrides
    return _add(session, ServiceItem(**fields))


def make_product(session: Session, **overrides) -> Product:
    n = next(_seq)
    fields = {
        "sku": f"P-{n:05d}", "name": f"Part {n}", "unit_price": Decimal("50.00"),
        "cost": Decimal("30.00"), "vat_rate": Decimal("18.00"), "currency": "BRL",
        "supplier_id": None, "active": True, "created_at": T0,
    } | overrides
    return _add(session, Product(**fields))


def make_technician(session: Session, *, skills: list[Skill] | None = None,
                    **overrides) -> Technician:
    """An active technician based in São Paulo with the given skills (default none)."""
    n = next(_seq)
    fields = {
        "name": f"Technician {n}", "email": f"tech{n}@tecnico.test", "phone": "",
        "locale": "pt_BR", "home_lat": -23.5505, "home_lon": -46.6333,
        "cost_rate": Decimal("45.00"), "currency": "BRL", "active": True, "created_at": T0,
    } | overrides
    tech = Technician(**fields)
    tech.skills = list(skills or [])
    return _add(session, tech)


# --- orders (O2) --------------------------------------------------------------------------


def make_order(session: Session, *, customer: Customer | None = None, site: Site | None = None,
               service_item: ServiceItem | None = None, with_item: bool = True, **overrides):
    """An open order numbered from the year's series, for a new customer/site/item by default.

    ``with_item=False`` leaves the order without service items (and without a site unless
    one is given). Status, technician_id, root_cause... are plain overrides.
    """
    from dispatch.core.numbering import format_order_number, next_number, order_series
    from orders.models import ServiceOrder

    if service_item is None and with_item:
        service_item = make_service_item(session, customer=customer, site=site)
    if customer is None and "customer_id" not in overrides:
        customer = service_item.customer if service_item is not None else make_customer(session)
    if site is None and service_item is not None:
        site = service_item.site
    now = overrides.pop("created_at", T0)
    year = overrides.pop("year", now.year)
    seq = next_number(session, order_series(year))
    fields = {
        "number": format_order_number(year, seq), "year": year, "sequence": seq,
        "customer_id": customer.id if customer else None, "site_id": site.id if site else None,
        "reported_defect": "Does not start", "priority": "normal", "category": "repair",
        "estimated_duration_minutes": 60, "billing_modality": "standard",
        "currency": customer.currency if customer else "BRL", "status": "open", "version": 1,
        "created_at": now, "updated_at": now,
    } | overrides
    order = ServiceOrder(**fields)
    if service_item is not None:
        order.service_items = [service_item]
        order.required_skills = list(service_item.item_group.skills)
    return _add(session, order)


def make_line(session: Session, *, order=None, product: Product | None = None, **overrides):
    """A part line (one new catalogue product at 50.00, VAT 18 %) on ``order`` (new by default)."""
    from orders.models import OrderLine

    order = order or make_order(session)
    if "labour_type_id" not in overrides and product is None and "product_id" not in overrides:
        product = make_product(session)
    fields = {
        "order_id": order.id, "kind": "part" if product is not None else "service",
        "product_id": product.id if product else None,
        "description": product.name if product else "Service",
        "warranty": False, "quantity": Decimal("1"),
        "unit_price": product.unit_price if product else Decimal("120"),
        "unit_cost": product.cost if product else Decimal("0"), "price_rule": "catalogue",
        "discount_percent": Decimal("0"),
        "vat_rate": product.vat_rate if product else Decimal("0"), "created_at": T0,
    } | overrides
    line = _add(session, OrderLine(**fields))
    session.expire(order, ["lines"])
    return line


def make_time_entry(session: Session, *, order=None, technician: Technician | None = None,
                    minutes: int = 60, **overrides):
    """``minutes`` of on-site work at R$354/h (seed 004), starting at T0, on ``order``."""
    from datetime import timedelta

    from contracts.pricing import price_time
    from orders.models import TimeEntry

    order = order or make_order(session)
    technician = technician or make_technician(session)
    started = overrides.pop("started_at", T0)
    ended = overrides.pop("ended_at", started + timedelta(minutes=minutes))
    rate = overrides.pop("hourly_rate", Decimal("354"))
    price = price_time(started_at=started, ended_at=ended, hourly_rate=rate,
                       currency=order.currency)
    fields = {
        "order_id": order.id, "technician_id": technician.id, "activity": "on_site",
        "started_at": started, "ended_at": ended, "billable": True, "hourly_rate": rate,
        "billed_minutes": price.billed_minutes, "amount": price.amount,
        "vat_rate": Decimal("0"), "price_rule": "catalogue", "note": "", "created_at": T0,
    } | overrides
    entry = _add(session, TimeEntry(**fields))
    session.expire(order, ["time_entries"])
    return entry


# --- billing (O3) -------------------------------------------------------------------------


def make_invoice(session: Session, *, order=None, user_id: int | None = None, now=None,
                 **close_kw):
    """The invoice of closing ``order`` (default: a completed order with one part line),
    paid in full in cash unless ``payments`` are given."""
    from orders.billing.schemas import PaymentIn
    from orders.billing.service import close_order
    from orders.service import order_totals_of

    if order is None:
        order = make_order(session, status="completed")
        make_line(session, order=order)
    session.refresh(order)
    payments = close_kw.pop("payments", None)
    if payments is None:
        due = order_totals_of(order).total
        payments = [PaymentIn(method="cash", amount=due)] if due else []
    return close_order(session, order_id=order.id, expected_version=order.version,
                       payments=payments, user_id=user_id, now=now or T0, **close_kw)


# --- contracts (C2) -----------------------------------------------------------------------


def make_calendar(session: Session, **overrides):
    """A stored calendar: 08:00-12:00 and 13:30-17:30 Monday to Friday in São Paulo, with
    Brazil's public holidays (seed 004's business hours). ``definition`` replaces it whole."""
    from contracts.calendars import weekdays_calendar
    from contracts.models import ServiceCalendar

    n = next(_seq)
    definition = overrides.pop("definition", None)
    if definition is None:
        definition = weekdays_calendar(
            ["08:00-12:00", "13:30-17:30"], timezone="America/Sao_Paulo", country="BR",
            name=f"Business hours {n}",
        ).to_dict()
    fields = {
        "code": f"cal-{n}", "name": definition.get("name") or f"Calendar {n}",
        "definition": definition, "builtin": False, "version": 1, "created_at": T0,
        "updated_at": T0,
    } | overrides
    return _add(session, ServiceCalendar(**fields))


def make_price_index(session: Session, **overrides):
    """One IGP-M number, for January 2026 by default."""
    from contracts.models import PriceIndex

    fields = {"name": "IGP-M", "month": date(2026, 1, 1), "value": Decimal("1000.000000"),
              "created_at": T0} | overrides
    return _add(session, PriceIndex(**fields))


def _coverage_fields(service_item, site, item_group) -> dict:
    if service_item is not None:
        return {"service_item_id": service_item.id}
    if site is not None and item_group is not None:
        return {"site_id": site.id, "item_group_id": item_group.id}
    return {}


def make_quote(session: Session, *, customer: Customer | None = None,
               service_item: ServiceItem | None = None, with_line: bool = True, **overrides):
    """A draft quote numbered ``CQ-…`` for one service item (new customer/item by default):
    R$ 1,200.00 a month for 2026, valid until 2026-03-31, normal priority answered in 8 hours."""
    from contracts.models import ContractQuote, QuoteLine
    from dispatch.core.numbering import format_document_number, next_number

    if service_item is None and with_line and customer is None:
        service_item = make_service_item(session)
    elif service_item is None and with_line:
        service_item = make_service_item(session, customer=customer)
    if customer is None and "customer_id" not in overrides:
        customer = service_item.customer if service_item is not None else make_customer(session)
    fields = {
        "number": format_document_number("CQ", next_number(session, "contract-quote")),
        "customer_id": customer.id if customer else None, "title": "Maintenance 2026",
        "service_level": "standard", "status": "draft", "billing_period": "monthly",
        "price_per_period": Decimal("1200.00"),
        "currency": customer.currency if customer else "BRL",
        "start_date": date(2026, 4, 1), "end_date": date(2027, 3, 31), "auto_renew": True,
        "notice_days": 30, "modality": "standard", "valid_until": date(2026, 3, 31),
        "notes": "", "decline_reason": "", "version": 1, "created_at": T0, "updated_at": T0,
    } | overrides
    quote = ContractQuote(**fields)
    if service_item is not None:
        quote.lines = [QuoteLine(service_item_id=service_item.id,
                                 price_per_period=Decimal("0"),
                                 response_hours_normal=Decimal("8"))]
    return _add(session, quote)


def make_contract(session: Session, *, customer: Customer | None = None,
                  service_item: ServiceItem | None = None, with_line: bool = True,
                  calendar=None, **overrides):
    """An active contract numbered ``CT-…`` for 2026 (new customer and item by default), at
    R$ 1,200.00 a month, with one line: labour included, parts 10 % off, urgent in 4 and
    normal in 8 business hours of ``calendar`` (default: none, the built-in 24/7)."""
    from contracts.models import Contract, ContractHistory
    from dispatch.core.numbering import format_document_number, next_number

    if service_item is None and with_line:
        service_item = make_service_item(session, customer=customer)
    if customer is None and "customer_id" not in overrides:
        customer = service_item.customer if service_item is not None else make_customer(session)
    fields = {
        "number": format_document_number("CT", next_number(session, "contract")),
        "customer_id": customer.id if customer else None, "title": "Maintenance 2026",
        "service_level": "standard", "status": "active", "start_date": date(2026, 1, 1),
        "end_date": date(2026, 12, 31), "billing_period": "monthly",
        "price_per_period": Decimal("1200.00"),
        "currency": customer.currency if customer else "BRL", "auto_renew": True,
        "notice_days": 30, "renewal_term_months": 12,
        "calendar_id": calendar.id if calendar is not None else None,
        "modality": "standard", "index_lag_months": 1, "notes": "", "version": 1,
        "created_at": T0, "updated_at": T0,
    } | overrides
    contract = _add(session, Contract(**fields))
    session.add(ContractHistory(contract_id=contract.id, at=T0, event="created",
                                to_status=contract.status, note=""))
    if service_item is not None:
        make_contract_line(session, contract=contract, service_item=service_item)
    session.expire(contract, ["lines", "history"])
    return contract


def make_contract_line(session: Session, *, contract=None, service_item: ServiceItem | None = None,
                       site: Site | None = None, item_group: ItemGroup | None = None,
                       **overrides):
    """A line of ``contract`` (a new one without lines by default) covering ``service_item``
    (or every item of ``item_group`` at ``site``; default a new item of the contract's
    customer) from the contract's start: labour included, parts 10 % off, urgent 4 h,
    normal 8 h."""
    from contracts.models import ContractLine

    if contract is None:
        contract = make_contract(session, with_line=False)
    target = _coverage_fields(service_item, site, item_group)
    if not target and not {"service_item_id", "site_id"} & overrides.keys():
        customer = session.get(Customer, contract.customer_id)
        target = {"service_item_id": make_service_item(session, customer=customer).id}
    fields = {
        "contract_id": contract.id, **target, "price_per_period": Decimal("0"),
        "labour_included": True, "labour_discount_percent": Decimal("0"),
        "parts_discount_percent": Decimal("10"), "travel_included": True,
        "response_hours_urgent": Decimal("4"), "response_hours_normal": Decimal("8"),
        "flexibility_days": 0, "added_on": contract.start_date, "created_at": T0,
    } | overrides
    line = _add(session, ContractLine(**fields))
    session.expire(contract, ["lines"])
    return line


# --- dispatch: calendars, runs, visits (D1) -----------------------------------------------


def make_zone(session: Session, **overrides):
    """A zone covering central São Paulo (the default sites and technicians are inside)."""
    from dispatch.models import ServiceZone

    n = next(_seq)
    fields = {"code": f"zone-{n}", "name": f"Zone {n}", "min_lat": -23.70, "max_lat": -23.40,
              "min_lon": -46.85, "max_lon": -46.45, "created_at": T0} | overrides
    return _add(session, ServiceZone(**fields))


def make_resource_group(session: Session, **overrides):
    from dispatch.models import ResourceGroup

    n = next(_seq)
    fields = {"code": f"group-{n}", "name": f"Team {n}", "created_at": T0} | overrides
    return _add(session, ResourceGroup(**fields))


def make_shift_window(session: Session, *, technician: Technician | None = None,
                      start: str = "08:00", end: str = "12:00", weekday: int = 0, **overrides):
    """One weekly working window (default Monday 08:00-12:00) of ``technician`` (new by
    default). Once a technician has any window, only his windows count."""
    from dispatch.models import TechnicianShiftWindow

    def minutes(text: str) -> int:
        h, m = text.split(":")
        return int(h) * 60 + int(m)

    technician = technician or make_technician(session)
    fields = {"technician_id": technician.id, "weekday": weekday,
              "start_minute": minutes(start), "end_minute": minutes(end)} | overrides
    return _add(session, TechnicianShiftWindow(**fields))


def make_absence(session: Session, *, technician: Technician | None = None, **overrides):
    """A whole-day absence of ``technician`` (new by default) on Tuesday 2026-03-03 in São
    Paulo (03:00 UTC to 03:00 UTC the next day)."""
    from datetime import timedelta

    from dispatch.models import TechnicianAbsence

    technician = technician or make_technician(session)
    starts = overrides.pop("starts_at", datetime(2026, 3, 3, 3, 0, tzinfo=UTC))
    fields = {"technician_id": technician.id, "starts_at": starts,
              "ends_at": starts + timedelta(days=1), "reason": "vacation",
              "created_at": T0} | overrides
    return _add(session, TechnicianAbsence(**fields))


def make_run(session: Session, **overrides):
    """A queued full run over Tuesday 2026-03-03 for every technician (1 s limit)."""
    from dispatch.models import ScheduleRun

    fields = {"status": "queued", "mode": "full", "date_from": date(2026, 3, 3),
              "date_to": date(2026, 3, 3), "scope": {"kind": "all"}, "time_limit_s": 1.0,
              "seed": 0, "progress": {}, "cancel_requested": False, "worker": "", "error": "",
              "version": 1, "created_at": T0, "heartbeat_at": T0} | overrides
    return _add(session, ScheduleRun(**fields))


def make_visit(session: Session, *, order=None, technician: Technician | None = None,
               **overrides):
    """A planned visit of ``order`` (a new scheduled order by default) by ``technician`` (new
    by default) on Tuesday 2026-03-03, 09:00-10:00 in São Paulo (12:00-13:00 UTC)."""
    from datetime import timedelta

    from dispatch.models import Visit

    technician = technician or make_technician(session)
    start = overrides.pop("planned_start", datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    if order is None:
        order = make_order(session, status="scheduled", technician_id=technician.id,
                           scheduled_start=start)
    fields = {"order_id": order.id, "technician_id": technician.id, "day": date(2026, 3, 3),
              "planned_start": start,
              "planned_end": start + timedelta(minutes=order.estimated_duration_minutes),
              "arrival": start, "travel_seconds": 0, "travel_meters": 0, "sequence": 1,
              "pinned": False, "forced": False, "forced_reason": "", "status": "planned",
              "note": "", "run_id": None, "version": 1, "created_at": T0,
              "updated_at": T0} | overrides
    return _add(session, Visit(**fields))

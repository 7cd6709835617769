"""Seed a believable service company through the same use cases the API calls.

Everything goes through the services (validation, pricing, numbering,
history), so the demo data obeys every rule a user's data does. Deterministic
for a given ``seed``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum.br import cnpj

from contracts import schemas as cs
from contracts import service as contracts
from contracts.masterdata import schemas as ms
from contracts.masterdata import service as md
from contracts.masterdata.models import Customer
from dispatch.core.auth import Role, create_token, create_user
from dispatch.demo import data as D
from dispatch.technicians.schemas import TechnicianCreate
from dispatch.technicians.service import create_technician
from orders import schemas as os_
from orders import service as orders
from orders.lifecycle import OrderStatus as S

TZ = ZoneInfo(D.TIMEZONE)
CURRENCY = "BRL"

# How the ~400 orders spread over the lifecycle: most work is open or under way.
STATUS_MIX: tuple[tuple[S, int], ...] = (
    (S.open, 70), (S.waiting_for_parts, 35), (S.ready, 110), (S.scheduled, 40),
    (S.in_progress, 25), (S.on_hold, 15), (S.completed, 35), (S.closed, 55), (S.cancelled, 15),
)
# The path an order walks to reach each status.
PATHS: dict[S, tuple[S, ...]] = {
    S.open: (),
    S.waiting_for_parts: (S.waiting_for_parts,),
    S.ready: (S.ready,),
    S.scheduled: (S.ready, S.scheduled),
    S.in_progress: (S.ready, S.scheduled, S.in_progress),
    S.on_hold: (S.on_hold,),
    S.completed: (S.ready, S.scheduled, S.in_progress, S.completed),
    S.closed: (S.ready, S.scheduled, S.in_progress, S.completed),
    S.cancelled: (S.cancelled,),
}


@dataclass
class DemoSummary:
    users: dict[str, str] = field(default_factory=dict)  # username -> token
    technicians: int = 0
    customers: int = 0
    sites: int = 0
    service_items: int = 0
    orders: dict[str, int] = field(default_factory=dict)
    contracts: int = 0
    invoices: int = 0


def already_seeded(session: Session) -> bool:
    return (session.scalar(select(func.count()).select_from(Customer)) or 0) > 0


def _cnpj(rng: random.Random) -> str:
    base = "".join(str(rng.randint(0, 9)) for _ in range(8)) + "0001"
    return base + cnpj.calc_check_digits(base)


def _near(rng: random.Random, lat: float, lon: float, metres: float = 900) -> tuple[float, float]:
    dlat = rng.uniform(-metres, metres) / 111_000
    dlon = rng.uniform(-metres, metres) / 102_000  # 111 km x cos(23.5°)
    return round(lat + dlat, 6), round(lon + dlon, 6)


def _person(rng: random.Random) -> str:
    return f"{rng.choice(D.FIRST_NAMES)} {rng.choice(D.SURNAMES)}"


def seed_demo(
    session: Session,
    *,
    now: datetime,
    seed: int = 7,
    customers: int = 300,
    technicians: int = 25,
    orders_total: int = 400,
    contracts_total: int = 40,
    progress: Callable[[str], None] = lambda _msg: None,
    close_order: Callable[..., object] | None = None,
) -> DemoSummary:
    """Build the demo company. ``close_order`` (billing's use case) issues the invoices."""
    rng = random.Random(seed)
    out = DemoSummary()

    for username, role, full_name in (
        ("admin", Role.admin, "Administrador"),
        ("dispatcher", Role.dispatcher, "Marta Despacho"),
        ("billing", Role.billing, "Carlos Faturamento"),
    ):
        create_user(session, username=username, role=role, full_name=full_name,
                    locale="pt_BR", now=now)
        out.users[username] = create_token(session, username=username, now=now, name="demo")

    progress("catalogues")
    skills = {code: md.create_skill(session, data=ms.SkillCreate(code=code, name=name), now=now)
              for code, name in D.SKILLS}
    labour = {
        code: md.create_labour_type(session, data=ms.LabourTypeCreate(
            code=code, name=name, hourly_rate=Decimal(rate), cost_rate=Decimal(cost),
            vat_rate=Decimal(vat), currency=CURRENCY), now=now)
        for code, name, rate, cost, vat in D.LABOUR
    }
    groups = {
        code: md.create_item_group(session, data=ms.ItemGroupCreate(
            code=code, name=name, skills=list(req), default_duration_minutes=minutes,
            default_labour_type_id=labour[lab].id), now=now)
        for code, name, req, minutes, lab in D.ITEM_GROUPS
    }
    suppliers = [
        md.create_supplier(session, data=ms.SupplierCreate(
            name=name, tax_id=_cnpj(rng), country="BR", locale="pt_BR", currency=CURRENCY,
            city=D.CITY, email=f"garantia@{name.split()[0].lower()}.com.br"), now=now)
        for name, _state in D.SUPPLIERS
    ]
    products = [
        md.create_product(session, data=ms.ProductCreate(
            sku=sku, name=name, unit_price=Decimal(price), cost=Decimal(cost),
            vat_rate=Decimal(vat), currency=CURRENCY, supplier_id=rng.choice(suppliers).id),
            now=now)
        for sku, name, price, cost, vat in D.PARTS
    ]

    progress("technicians")
    skill_codes = list(skills)
    tech_rows = []
    for i in range(technicians):
        name = _person(rng)
        username = f"tec{i + 1:02d}"
        user = create_user(session, username=username, role=Role.technician, full_name=name,
                           locale="pt_BR", now=now)
        if i == 0:
            out.users[username] = create_token(session, username=username, now=now, name="demo")
        # Everyone has a core trade; some have a second and third.
        own = {skill_codes[i % len(skill_codes)]} | set(rng.sample(skill_codes, rng.randint(1, 3)))
        _hood, lat, lon, _cep = rng.choice(D.NEIGHBOURHOODS)
        home_lat, home_lon = _near(rng, lat, lon, 2500)
        tech_rows.append(create_technician(session, data=TechnicianCreate(
            name=name, email=f"{username}@tecnico.example", phone=f"+55 11 9{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
            locale="pt_BR", home_lat=home_lat, home_lon=home_lon,
            cost_rate=Decimal(rng.choice(("70", "80", "95", "110"))), currency=CURRENCY,
            skills=sorted(own), user_id=user.id), now=now))
    out.technicians = len(tech_rows)

    progress("customers, sites and service items")
    items_by_customer: dict[int, list] = {}
    site_of_customer: dict[int, int] = {}
    for c in range(customers):
        kind = rng.choice(D.BUSINESS_KINDS)
        hood, lat, lon, cep = rng.choice(D.NEIGHBOURHOODS)
        legal = f"{kind} {rng.choice(D.SURNAMES)} {rng.choice(D.BUSINESS_SUFFIXES)}"
        street = f"{rng.choice(D.STREETS)}, {rng.randint(10, 2999)}"
        customer = md.create_customer(session, data=ms.CustomerCreate(
            legal_name=legal, tax_id=_cnpj(rng), country="BR", locale="pt_BR",
            currency=CURRENCY, email=f"contato{c + 1}@cliente.example",
            phone=f"+55 11 3{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
            address=f"{street} - {hood}", postal_code=f"{cep}-{rng.randint(0, 999):03d}",
            city=D.CITY), now=now)
        md.create_contact(session, data=ms.ContactCreate(
            name=_person(rng), phone=customer.phone, role="Gerente"), customer_id=customer.id,
            now=now)
        site_lat, site_lon = _near(rng, lat, lon)
        site = md.create_site(session, data=ms.SiteCreate(
            customer_id=customer.id, name=f"{kind} - {hood}", address=f"{street} - {hood}",
            postal_code=customer.postal_code, city=D.CITY, country="BR",
            latitude=site_lat, longitude=site_lon, timezone=D.TIMEZONE),
            geocoder=None, default_tz=D.TIMEZONE, now=now)
        site_of_customer[customer.id] = site.id
        out.sites += 1
        items = []
        for _ in range(rng.randint(1, 3)):
            gcode = rng.choice(list(groups))
            installed = date(2022, 1, 1) + timedelta(days=rng.randint(0, 1400))
            items.append(md.create_service_item(session, data=ms.ServiceItemCreate(
                customer_id=customer.id, site_id=site.id, item_group_id=groups[gcode].id,
                model=rng.choice(D.MODELS[gcode]),
                serial_number=f"{gcode[:3]}{rng.randint(100000, 999999)}",
                warranty_start=installed, warranty_end=installed + timedelta(days=730),
                supplier_id=rng.choice(suppliers).id), now=now))
        items_by_customer[customer.id] = items
        out.service_items += len(items)
    out.customers = customers

    progress("contracts")
    calendar = contracts.create_calendar(session, data=cs.CalendarCreate(
        code="comercial-sp", name="Horário comercial São Paulo", timezone=D.TIMEZONE,
        weekly={d: ["08:00-12:00", "13:30-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")},
        country="BR", subdivision="SP"), now=now)
    start = now.astimezone(TZ).date() - timedelta(days=120)
    for cid in list(items_by_customer)[:contracts_total]:
        premium = rng.random() < 0.3
        contract = contracts.create_contract(session, data=cs.ContractCreate(
            customer_id=cid, title="Contrato de manutenção " + ("total" if premium else "básico"),
            service_level="premium" if premium else "básico", start_date=start,
            end_date=start + timedelta(days=364), calendar_id=calendar.id, auto_renew=True,
            lines=[cs.CoverageTerms(
                service_item_id=item.id, price_per_period=Decimal(rng.choice(("89", "149", "249"))),
                labour_included=premium, labour_discount_percent=Decimal("0" if premium else "15"),
                parts_discount_percent=Decimal("10"), travel_included=premium,
                response_hours=cs.ResponseHours(urgent=4, high=8, normal=16, low=40),
                maintenance=cs.Maintenance(every=3, unit="months", flexibility_days=7)
                if rng.random() < 0.5 else None,
            ) for item in items_by_customer[cid]]), user_id=None, now=now)
        for to in ("signed", "active"):
            contracts.transition(session, contract_id=contract.id, to=to, note="demo",
                                 user_id=None, now=now)
        out.contracts += 1

    progress("orders")
    statuses = [st for st, n in STATUS_MIX for _ in range(n)]
    rng.shuffle(statuses)
    statuses = statuses[:orders_total]
    customer_ids = list(items_by_customer)
    today = now.astimezone(TZ).date()
    busy_until: dict[int, datetime] = {}
    for k, target in enumerate(statuses):
        cid = rng.choice(customer_ids)
        item = rng.choice(items_by_customer[cid])
        # Older orders are further along; open work is recent.
        age_days = rng.randint(0, 6) if target in (S.open, S.ready) else rng.randint(3, 45)
        created = now - timedelta(days=age_days, hours=rng.randint(0, 9))
        windows = []
        if target in (S.ready, S.scheduled, S.open) and rng.random() < 0.4:
            day = today + timedelta(days=rng.randint(0, 3))
            start_h = rng.choice((8, 9, 10, 13, 14))
            start = datetime(day.year, day.month, day.day, start_h, tzinfo=TZ)
            windows.append(os_.TimeWindow(starts_at=start, ends_at=start + timedelta(hours=3)))
        order = orders.create_order(session, data=os_.OrderCreate(
            customer_id=cid, site_id=site_of_customer[cid], service_item_ids=[item.id],
            reported_defect=rng.choice(D.DEFECTS),
            priority=rng.choices(("low", "normal", "high", "urgent"), (2, 6, 3, 1))[0],
            category=rng.choice(("corretiva", "preventiva", "instalação")),
            time_windows=windows,
            root_cause="product_defect" if rng.random() < 0.05 else None,
        ), user_id=None, now=created)
        tech = rng.choice(tech_rows)
        t = created
        for step in PATHS[target]:
            t += timedelta(hours=rng.randint(2, 30))
            t = min(t, now)
            if step == S.in_progress:
                # A technician does one thing at a time: start after his last entry.
                t = max(t, busy_until.get(tech.id, t))
                t = _work(session, rng, order.id, tech.id, item.id, products, t)
                busy_until[tech.id] = t + timedelta(minutes=20)
            if step == S.scheduled:
                # Booked for the next working morning (the board plans the rest).
                visit_day = (t.astimezone(TZ) + timedelta(days=1)).date()
                start = datetime(visit_day.year, visit_day.month, visit_day.day,
                                 rng.choice((8, 9, 10, 13, 14, 15)), tzinfo=TZ)
                orders.update_order(session, order_id=order.id, data=os_.OrderUpdate(
                    technician_id=tech.id, scheduled_start=start),
                    expected_version=order.version, user_id=None, now=t)
            note = "peças chegaram" if step == S.ready and order.status == S.waiting_for_parts else ""
            orders.transition(session, order_id=order.id, data=os_.TransitionCreate(
                to=step, note=note), user_id=None, now=t)
        if target is S.closed and close_order is not None:
            close_order(session, order=order, rng=rng, now=min(t + timedelta(hours=3), now))
            out.invoices += 1
        status = S(order.status).value
        out.orders[status] = out.orders.get(status, 0) + 1
        if k % 50 == 49:
            progress(f"orders {k + 1}/{len(statuses)}")
    return out


def _work(session: Session, rng: random.Random, order_id: int, tech_id: int, item_id: int,
          products: list, at: datetime) -> datetime:
    """A visit's worth of work: travel, time on site and a part or two; returns its end."""
    start = at.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    for activity, minutes in (("travel", rng.randint(15, 45)), ("on_site", rng.randint(40, 150))):
        end = start + timedelta(minutes=minutes, seconds=rng.randint(0, 59))
        orders.add_time_entry(session, order_id=order_id, data=os_.TimeEntryCreate(
            technician_id=tech_id, activity=activity, started_at=start, ended_at=end,
            billable=activity == "on_site"), user_id=None, now=at)
        start = end
    for product in rng.sample(products, rng.randint(0, 2)):
        orders.add_line(session, order_id=order_id, data=os_.LineCreate(
            kind="part", product_id=product.id, technician_id=tech_id, service_item_id=item_id,
            quantity=Decimal(rng.randint(1, 2)), warranty=rng.random() < 0.1),
            user_id=None, may_set_price=False, now=at)
    return start

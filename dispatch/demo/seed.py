"""Seed a believable service company through the same use cases the API calls.

Everything goes through the services (validation, pricing, numbering,
history), so the demo data obeys every rule a user's data does. Deterministic
for a given ``seed`` and day.

The company works towards one *demo day* (dispatch.demo.plan.demo_day): the ready
orders are the pool a scheduling run plans that day (their requested windows fall on
it), and a few orders are booked by hand on the working day after it, the way a
dispatcher books them on the board. History (work done, invoices) lies before ``now``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
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
from dispatch.core.auth import Role, User, create_token, create_user
from dispatch.core.settings import Settings
from dispatch.demo import data as D
from dispatch.demo.plan import demo_day, working_day
from dispatch.dispatching import service as dispatching
from dispatch.technicians.schemas import TechnicianCreate
from dispatch.technicians.service import create_technician
from orders import schemas as os_
from orders import service as orders
from orders.lifecycle import OrderStatus as S
from orders.models import ServiceOrder

TZ = ZoneInfo(D.TIMEZONE)
CURRENCY = "BRL"

# How the ~400 orders spread over the lifecycle. ``ready`` is the demo day's pool (a few
# asked for a later day): about what 25 technicians do in a day; the demo's run places
# nearly all of it at ~90 % utilisation (dispatch.demo.plan). ``scheduled`` ones are
# booked by hand on the working day after.
STATUS_MIX: tuple[tuple[S, int], ...] = (
    (S.open, 40), (S.waiting_for_parts, 20), (S.ready, 205), (S.scheduled, 25),
    (S.in_progress, 20), (S.on_hold, 10), (S.completed, 30), (S.closed, 40), (S.cancelled, 10),
)
# The path an order walks to reach each status (``scheduled`` ones are then booked by hand).
PATHS: dict[S, tuple[S, ...]] = {
    S.open: (),
    S.waiting_for_parts: (S.waiting_for_parts,),
    S.ready: (S.ready,),
    S.scheduled: (S.ready,),
    S.in_progress: (S.ready, S.scheduled, S.in_progress),
    S.on_hold: (S.on_hold,),
    S.completed: (S.ready, S.scheduled, S.in_progress, S.completed),
    S.closed: (S.ready, S.scheduled, S.in_progress, S.completed),
    S.cancelled: (S.cancelled,),
}


# Local starts a dispatcher tries, in turn, when booking an order by hand.
HAND_STARTS = (time(8, 30), time(10, 0), time(11, 0), time(14, 0), time(15, 30), time(16, 30))
# Ready orders that asked for a window on the demo day, and on a later day.
WINDOW_ON_DAY, WINDOW_LATER = 0.3, 0.05


@dataclass
class DemoSummary:
    day: date  # the demo day: its ready orders wait for the scheduling run
    users: dict[str, str] = field(default_factory=dict)  # username -> token
    route_technician_id: int = 0  # tec01's technician (his token is in ``users``)
    booked_by_hand: int = 0  # scheduled orders, on the working day after ``day``
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
    settings: Settings,
    day: date | None = None,
    seed: int = 7,
    customers: int = 300,
    technicians: int = 25,
    orders_total: int = 400,
    contracts_total: int = 40,
    progress: Callable[[str], None] = lambda _msg: None,
    close_order: Callable[..., object] | None = None,
) -> DemoSummary:
    """Build the demo company working towards ``day`` (default: :func:`demo_day`).
    ``close_order`` (billing's use case) issues the invoices."""
    rng = random.Random(seed)
    out = DemoSummary(day=day or demo_day(now, country=settings.company_country))
    staff: dict[str, User] = {}

    for username, role, full_name in (
        ("admin", Role.admin, "Administrador"),
        ("dispatcher", Role.dispatcher, "Marta Despacho"),
        ("billing", Role.billing, "Carlos Faturamento"),
    ):
        staff[username] = create_user(session, username=username, role=role,
                                      full_name=full_name, locale="pt_BR", now=now)
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
        for code, name, req, minutes, lab, _share in D.ITEM_GROUPS
    }
    shares = [share for *_rest, share in D.ITEM_GROUPS]
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
        # Everyone has a trade; some learnt one skill more.
        own = set(D.TRADES[i % len(D.TRADES)])
        if rng.random() < 0.4:
            own.add(rng.choice(skill_codes))
        _hood, lat, lon, _cep = rng.choice(D.NEIGHBOURHOODS)
        home_lat, home_lon = _near(rng, lat, lon, 2500)
        tech_rows.append(create_technician(session, data=TechnicianCreate(
            name=name, email=f"{username}@tecnico.example", phone=f"+55 11 9{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
            locale="pt_BR", home_lat=home_lat, home_lon=home_lon,
            cost_rate=Decimal(rng.choice(("70", "80", "95", "110"))), currency=CURRENCY,
            skills=sorted(own), user_id=user.id), now=now))
        if i == 0:
            out.users[username] = create_token(session, username=username, now=now, name="demo")
            out.route_technician_id = tech_rows[0].id
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
            gcode = rng.choices(list(groups), shares)[0]
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
                                 user_id=None, now=now, default_tz=settings.default_timezone)
        out.contracts += 1

    progress("orders")
    statuses = [st for st, n in STATUS_MIX for _ in range(n)]
    rng.shuffle(statuses)
    statuses = statuses[:orders_total]
    customer_ids = list(items_by_customer)
    today = now.astimezone(TZ).date()
    later = working_day(out.day + timedelta(days=1), country=settings.company_country)
    busy_until: dict[int, datetime] = {}
    by_hand: list[int] = []
    for k, target in enumerate(statuses):
        cid = rng.choice(customer_ids)
        item = rng.choice(items_by_customer[cid])
        # Older orders are further along; open work is recent.
        age_days = rng.randint(0, 6) if target in (S.open, S.ready) else rng.randint(3, 45)
        created = now - timedelta(days=age_days, hours=rng.randint(0, 9))
        windows = []
        wish = rng.random()
        if target is S.ready and wish < WINDOW_ON_DAY + WINDOW_LATER:
            windows.append(_window(rng, out.day if wish < WINDOW_ON_DAY else later))
        elif target is S.open and wish < 0.4:
            windows.append(_window(rng, today + timedelta(days=rng.randint(1, 5))))
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
                # Work done in the past was booked the morning after it came in.
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
        if target is S.scheduled:
            by_hand.append(order.id)
        if k % 50 == 49:
            progress(f"orders {k + 1}/{len(statuses)}")

    progress(f"orders booked by hand on {later}")
    out.booked_by_hand = _book_by_hand(session, rng, by_hand, tech_rows, day=later,
                                       user=staff["dispatcher"], now=now, settings=settings)
    rows = session.execute(select(ServiceOrder.status, func.count()).group_by(
        ServiceOrder.status)).all()
    out.orders = {S(status).value: n for status, n in sorted(rows)}
    return out


def _window(rng: random.Random, day: date) -> os_.TimeWindow:
    """A three-hour window the customer asked for, starting in the morning or after lunch."""
    start = datetime.combine(day, time(rng.choice((8, 9, 10, 13, 14))), tzinfo=TZ)
    return os_.TimeWindow(starts_at=start, ends_at=start + timedelta(hours=3))


def _book_by_hand(session: Session, rng: random.Random, order_ids: list[int], techs: list,
                  *, day: date, user: User, now: datetime, settings: Settings) -> int:
    """Book each order on ``day`` as a dispatcher does on the board (manual dispatch, every
    rule checked): on a technician with its skills, at the first of :data:`HAND_STARTS`
    that breaks no rule. An order nothing fits stays ready. Returns how many were booked."""
    booked = 0
    for order_id in order_ids:
        order = session.get(ServiceOrder, order_id)
        needed = {s.code for s in order.required_skills}
        able = [t for t in techs if needed <= {s.code for s in t.skills}]
        rng.shuffle(able)
        for tech, start in ((t, at) for t in able[:4] for at in HAND_STARTS):
            try:
                dispatching.assign(session, order_id=order_id, technician_id=tech.id, day=day,
                                   start=start, pinned=rng.random() < 0.3, force=False,
                                   user=user, now=now, settings=settings)
            except dispatching.RuleBroken:
                continue
            booked += 1
            break
    return booked


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

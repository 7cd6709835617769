"""``tecnico bench schedule``: a whole scheduling run timed end to end (figures, not tests).

Seeds ``--technicians`` technicians and ``--orders`` ready orders of a service company in
São Paulo into a fresh SQLite database (or ``TECNICO_DATABASE_URL`` when it is set; the run
is then scoped to the seeded orders), then times each phase of one run the way the API
runs it (dispatch.scheduling.runs): **load** (database -> solver problem, stored on the
run), **solve** (the solver with ``--time-limit``), **store** (validation, proposed plan and
KPIs written), **publish** (orders scheduled, visits written, history). The clock is fixed
on Monday 2026-03-02 09:00 in São Paulo and the run plans Tuesday (and the following days
with ``--days``), so the figures do not depend on the day they are taken.
"""

from __future__ import annotations

import math
import os
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import typer

from dispatch.bench import bench_app

CENTRE = (-23.5505, -46.6333)  # Praça da Sé, São Paulo
AREA_KM = 30.0
SKILLS = ("electrical", "plumbing", "hvac", "refrigeration", "ovens", "elevators")
DURATIONS = (20, 30, 45, 60, 90)
DURATION_WEIGHTS = (0.15, 0.35, 0.25, 0.18, 0.07)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FIRST_DAY = date(2026, 3, 3)


def _point(rng: random.Random) -> tuple[float, float]:
    half = AREA_KM / 2
    x, y = rng.uniform(-half, half), rng.uniform(-half, half)
    lat = CENTRE[0] + y / 111.32
    lon = CENTRE[1] + x / (111.32 * math.cos(math.radians(CENTRE[0])))
    return round(lat, 6), round(lon, 6)


def seed_company(session, *, technicians: int, orders: int, days: int, seed: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Technicians with one to three skills, and ready orders needing one skill some
    technician has; a quarter of the orders asked for a morning or an afternoon. Returns
    the order ids."""
    from contracts.masterdata.models import Customer, Site, Skill
    from dispatch.core.numbering import format_order_number, next_number, order_series
    from dispatch.models import Technician
    from orders.models import OrderTimeWindow, ServiceOrder

    rng = random.Random(seed)
    skills = {}
    for code in SKILLS:
        found = session.query(Skill).filter_by(code=code).one_or_none()
        skills[code] = found or Skill(code=code, name=code.title(), created_at=NOW)
        session.add(skills[code])
    session.flush()
    kits = []
    for i in range(technicians):
        kit = rng.sample(SKILLS, rng.randint(1, 3))
        kits.append(kit)
        lat, lon = _point(rng)
        tech = Technician(name=f"Bench technician {i + 1}", email="", phone="", locale="pt_BR",
                          home_lat=lat, home_lon=lon, cost_rate=Decimal("45"), currency="BRL",
                          active=True, created_at=NOW)
        tech.skills = [skills[c] for c in kit]
        session.add(tech)
    customer = Customer(number=f"B-{seed}-{int(time.time())}", legal_name="Bench customer Ltda",
                        tax_id="11222333000181", country="BR", locale="pt_BR", currency="BRL",
                        email="", phone="", address="Av. Paulista 1000", postal_code="01310-100",
                        city="São Paulo", active=True, created_at=NOW)
    session.add(customer)
    session.flush()
    year = NOW.year
    ids = []
    for j in range(orders):
        lat, lon = _point(rng)
        site = Site(customer_id=customer.id, name=f"Site {j + 1}", address=f"Rua {j + 1}",
                    city="São Paulo", country="BR", latitude=lat, longitude=lon,
                    geocode_status="manual", timezone="America/Sao_Paulo", created_at=NOW)
        session.add(site)
        session.flush()
        seq = next_number(session, order_series(year))
        order = ServiceOrder(
            number=format_order_number(year, seq), year=year, sequence=seq,
            customer_id=customer.id, site_id=site.id, reported_defect="Bench",
            priority=rng.choices(("low", "normal", "high", "urgent"), (2, 7, 1, 0.3))[0],
            category="repair", skills_overridden=True,
            estimated_duration_minutes=rng.choices(DURATIONS, DURATION_WEIGHTS)[0],
            billing_modality="standard", currency="BRL", status="ready", version=1,
            created_at=NOW, updated_at=NOW)
        order.required_skills = [skills[rng.choice(kits[rng.randrange(technicians)])]]
        if rng.random() < 0.25:
            day = FIRST_DAY + timedelta(days=rng.randrange(days))
            morning = rng.random() < 0.5
            start = datetime(day.year, day.month, day.day, 11 if morning else 16, 30, tzinfo=UTC)
            order.time_windows = [OrderTimeWindow(starts_at=start,
                                                  ends_at=start + timedelta(hours=3, minutes=30))]
        session.add(order)
        session.flush()
        ids.append(order.id)
    return ids


@bench_app.command("schedule")
def schedule(
    technicians: int = typer.Option(20, "--technicians", min=1, help="Technicians to seed."),
    orders: int = typer.Option(150, "--orders", min=1, help="Ready orders to seed."),
    days: int = typer.Option(1, "--days", min=1, max=14, help="Days the run plans."),
    time_limit: float = typer.Option(10.0, "--time-limit", help="Solver seconds."),
    seed: int = typer.Option(0, help="Seed of the generated company and of the solver."),
) -> None:
    """Seed technicians and orders, then time one scheduling run: load, solve, store, publish."""
    from dispatch.core.clock import FixedClock
    from dispatch.core.db import make_engine, make_sessionmaker, session_scope
    from dispatch.core.settings import Settings
    from dispatch.migrate import upgrade
    from dispatch.models import ScheduleRun
    from dispatch.scheduling import runs

    given = os.environ.get("TECNICO_DATABASE_URL")
    tmp = None
    if given:
        url = given
    else:
        tmp = tempfile.TemporaryDirectory(prefix="tecnico-bench-")
        url = f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    settings = Settings(database_url=url, geocoder_url="", company_country="BR",
                        default_timezone="America/Sao_Paulo")
    clock = FixedClock(NOW)
    try:
        t = time.perf_counter()
        upgrade(url)
        factory = make_sessionmaker(make_engine(url))
        with session_scope(factory) as session:
            ids = seed_company(session, technicians=technicians, orders=orders, days=days,
                               seed=seed)
        seeded = time.perf_counter() - t
        scope = {"kind": "orders", "order_ids": ids} if given else {"kind": "all"}
        with session_scope(factory) as session:
            run_id = runs.create_run(
                session, date_from=FIRST_DAY, date_to=FIRST_DAY + timedelta(days=days - 1),
                scope=scope, mode="full", time_limit_s=time_limit, seed=seed, user_id=None,
                now=clock.now(), settings=settings).id
        timings: dict[str, float] = {}
        status = runs.execute_run(factory, run_id, clock, settings=settings, timings=timings)
        with session_scope(factory) as session:
            run = session.get(ScheduleRun, run_id)
            kpis, error = run.kpis or {}, run.error
        if status != "done":
            typer.echo(f"run {run_id} ended {status}: {error}", err=True)
            raise typer.Exit(1)
        t = time.perf_counter()
        with session_scope(factory) as session:
            report = runs.publish_run(session, run_id=run_id, user_id=None,
                                      now=clock.now()).publish_report or {}
        timings["publish"] = time.perf_counter() - t
    finally:
        if tmp is not None:
            tmp.cleanup()

    total = sum(timings[k] for k in ("load", "solve", "store", "publish"))
    typer.echo(f"bench schedule: {technicians} technicians, {orders} orders, {days} day(s), "
               f"time limit {time_limit:g} s, seed {seed}, "
               f"{'TECNICO_DATABASE_URL' if given else 'fresh SQLite'}")
    typer.echo(f"  seed data  {seeded:8.2f} s (not part of the run)")
    for phase in ("load", "solve", "store", "publish"):
        typer.echo(f"  {phase:<9}  {timings[phase]:8.2f} s")
    typer.echo(f"  total      {total:8.2f} s")
    typer.echo(f"  assigned {kpis.get('visits_assigned')}/{kpis.get('visits_total')}, "
               f"unassigned {kpis.get('unassigned_by_reason')}, "
               f"travel {kpis.get('travel_meters', 0) / 1000:.1f} km / "
               f"{kpis.get('travel_seconds', 0) / 3600:.1f} h, "
               f"utilisation {kpis.get('utilisation', 0):.0%}, "
               f"published {len(report.get('published', []))}, "
               f"skipped {len(report.get('skipped', []))}")

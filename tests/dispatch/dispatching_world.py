"""A small field team for the dispatching tests (plain functions, no fixtures).

Tuesday 2026-03-03 in São Paulo (UTC-3): the default shift is 08:00-12:00 and 13:30-17:30
local, i.e. 11:00-15:00 and 16:30-20:30 UTC. The clock stands on Monday 2026-03-02 12:00 UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.core.auth import User
from dispatch.models import Visit
from orders.models import OrderHistory, OrderTimeWindow, ServiceOrder
from solver.model import Location
from solver.travel import GreatCircle
from tests.factories import (
    make_customer,
    make_item_group,
    make_order,
    make_service_item,
    make_site,
    make_skill,
    make_technician,
)

TUESDAY = date(2026, 3, 3)
# Central São Paulo (the default site of the factories) and Guarulhos, about 17 km away.
NEAR = (-23.5558, -46.6623)
FAR = (-23.4543, -46.5337)
HOME = (-23.5505, -46.6333)


def local(hhmm: str, day: date = TUESDAY) -> str:
    """A São Paulo wall-clock time on ``day`` as an ISO instant with its offset."""
    return f"{day.isoformat()}T{hhmm}:00-03:00"


def utc(hhmm: str, day: date = TUESDAY) -> datetime:
    return datetime.fromisoformat(local(hhmm, day)).astimezone(UTC)


@dataclass
class Team:
    hvac: Any
    electrical: Any
    group: Any
    customer: Any
    near: Any
    far: Any
    ana: Any  # hvac, home near the centre
    bruno: Any  # electrical only
    carla: Any  # hvac, home far away (Guarulhos)


def make_team(session: Session) -> Team:
    hvac, electrical = make_skill(session, code="hvac"), make_skill(session, code="electrical")
    group = make_item_group(session, skills=[hvac], default_duration_minutes=60)
    customer = make_customer(session, legal_name="Padaria Estrela Ltda")
    near = make_site(session, customer=customer, latitude=NEAR[0], longitude=NEAR[1])
    far = make_site(session, customer=customer, latitude=FAR[0], longitude=FAR[1])
    ana = make_technician(session, name="Ana", skills=[hvac], home_lat=HOME[0],
                          home_lon=HOME[1])
    bruno = make_technician(session, name="Bruno", skills=[electrical], home_lat=HOME[0],
                            home_lon=HOME[1])
    carla = make_technician(session, name="Carla", skills=[hvac], home_lat=FAR[0],
                            home_lon=FAR[1])
    session.commit()
    return Team(hvac, electrical, group, customer, near, far, ana, bruno, carla)


def ready_order(session: Session, team: Team, *, site: Any = None, minutes: int = 60,
                windows: tuple[tuple[datetime, datetime], ...] = (), **overrides) -> ServiceOrder:
    """A ready order needing hvac for ``minutes`` at ``site`` (near by default)."""
    item = make_service_item(session, customer=team.customer, site=site or team.near,
                             item_group=team.group)
    order = make_order(session, service_item=item, **{
        "status": "ready", "estimated_duration_minutes": minutes} | overrides)
    for a, b in windows:
        session.add(OrderTimeWindow(order_id=order.id, starts_at=a, ends_at=b))
    session.commit()
    return order


def login(session: Session, auth, tech: Any) -> dict[str, str]:
    """Headers of a new technician login linked to ``tech``."""
    headers = auth("technician", username=f"login-{tech.id}")
    tech.user_id = session.scalar(select(User.id).where(User.username == f"login-{tech.id}"))
    session.commit()
    return headers


def assign(client, headers, order: Any, tech: Any, start: str, **extra):
    return client.post("/visits", headers=headers,
                       json={"order_id": order.id, "technician_id": tech.id,
                             "start": start} | extra)


def visits(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Visit))


def order_row(session: Session, order_id: int) -> ServiceOrder:
    session.expire_all()
    return session.get(ServiceOrder, order_id)


def history(session: Session, order_id: int) -> list[OrderHistory]:
    session.expire_all()
    return list(session.scalars(select(OrderHistory).where(OrderHistory.order_id == order_id)
                                .order_by(OrderHistory.id)))


def travel_minutes(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Minutes the solver's default travel provider gives from ``a`` to ``b``."""
    seconds, _ = GreatCircle().between(Location(*a), Location(*b))
    return seconds / 60


def minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60

"""The composition root of the HTTP service: ``create_app(settings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from dispatch.core.clock import Clock, SystemClock
from dispatch.core.db import make_engine, make_sessionmaker
from dispatch.core.problems import install_problem_handlers
from dispatch.core.settings import Settings, get_settings
from dispatch.core.web import CurrentUser
from dispatch.events import EventHub, RelayedEventHub, uses_redis
from dispatch.scheduling.runs import JobRunner

# Paths any caller may reach; every other route names its roles with require_role.
PUBLIC_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json",
                          # Page shells: they hold no data and sign in from the browser.
                          "/board", "/technicians/{technician_id}/route/page"})


class Me(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    locale: str


meta = APIRouter(tags=["meta"])


@meta.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@meta.get("/me", response_model=Me, description="Roles: any signed-in user.")
def me(user: CurrentUser) -> Me:
    return Me.model_validate(user, from_attributes=True)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    events = app.state.events
    if isinstance(events, RelayedEventHub):
        events.start()
    yield
    # Running scheduling runs stop with their best plan (cancelled) instead of holding the
    # process until their time limit (runs on Celery workers go on).
    app.state.runner.shutdown(wait=False)
    if isinstance(events, RelayedEventHub):
        events.close()


def create_app(
    settings: Settings | None = None,
    *,
    sessionmaker_: sessionmaker[Session] | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=_lifespan,
        title="Tecnico",
        version="0.1.0",
        description=(
            "Field-service dispatch and scheduling: service orders, invoices, contracts, "
            "scheduling runs, the planning board and technicians' route lists. "
            "Authenticate with `Authorization: Bearer <token>` (`tecnico tokens create`). "
            "Errors are RFC 9457 problem+json."
        ),
    )
    if sessionmaker_ is None:
        sessionmaker_ = make_sessionmaker(make_engine(settings.database_url,
                                                      echo=settings.database_echo))
    app.state.settings = settings
    app.state.sessionmaker = sessionmaker_
    app.state.clock = clock or SystemClock()
    # Live updates for the board (dispatch.events); handlers publish after their commit.
    # With a Redis broker they are shared with the other API processes and the workers.
    app.state.events = (RelayedEventHub(settings.broker_url, settings.events_channel)
                        if uses_redis(settings.broker_url) else EventHub())
    # Who executes scheduling runs: Celery workers when a broker is set, else the embedded
    # thread pool (dispatch.scheduling.runs).
    if settings.broker_url:
        from dispatch.scheduling.celery_jobs import CeleryRunner

        app.state.runner = CeleryRunner(sessionmaker_, app.state.clock, settings,
                                        events=app.state.events)
    else:
        app.state.runner = JobRunner(sessionmaker_, app.state.clock, settings,
                                     workers=settings.worker_threads, events=app.state.events)
    install_problem_handlers(app)
    app.include_router(meta)
    for router in _routers():
        app.include_router(router)
    return app


def api_routes(app: FastAPI) -> list[tuple[str, set[str], APIRoute]]:
    """(full path, methods, route) of every API route, routers included."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before nested routers: the list is flat
        return [(r.path, set(r.methods), r) for r in app.routes if isinstance(r, APIRoute)]
    return [
        (ctx.path, set(ctx.methods or ()), ctx.original_route)
        for ctx in iter_route_contexts(app.routes)
        if isinstance(ctx.original_route, APIRoute)
    ]


def _routers() -> list[APIRouter]:
    """Each package's routers; imported here so the kernel stays free of them."""
    from contracts.api import routers as contracts_routers
    from contracts.masterdata.api import routers as masterdata_routers
    from dispatch.board.api import router as board_router
    from dispatch.calendars.api import router as calendars_router
    from dispatch.dispatching.api import router as dispatching_router
    from dispatch.routelists.api import router as routelists_router
    from dispatch.scheduling.api import router as scheduling_router
    from dispatch.technicians.api import groups_router, zones_router
    from dispatch.technicians.api import router as technicians_router
    from dispatch.web.pages import static_router
    from orders.api import routers as orders_routers
    from orders.billing.api import routers as billing_routers
    from orders.contracts_api import routers as contract_order_routers

    # contract_order_routers first: /orders/sla must not be taken for GET /orders/{order_id}.
    routers: list[APIRouter] = [*contract_order_routers, *masterdata_routers,
                                technicians_router, *orders_routers]
    routers += billing_routers
    routers += contracts_routers
    routers += [routelists_router, board_router, static_router]
    routers += [calendars_router, scheduling_router, zones_router, groups_router]
    routers.append(dispatching_router)
    return routers

"""HTTP routes of the planning board: the page, its data and its live updates.

Roles: dispatcher (and admin) for the data and the event stream. The page itself
is a shell anyone may load; it signs in with a token kept in the tab
(dispatch.web.pages) and sends it as a bearer header with every call, the event
stream included (read with fetch, as EventSource cannot send headers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import AwareDatetime

from dispatch.board import schemas as s
from dispatch.board import service
from dispatch.core.web import ClockDep, SessionDep, SettingsDep, require_role
from dispatch.events import EventsDep
from dispatch.web.pages import render_page, tile_origin

router = APIRouter(prefix="/board", tags=["board"])
dispatcher = [Depends(require_role("dispatcher"))]

# A comment line this often keeps proxies from closing a quiet stream (seconds).
KEEPALIVE_S = 15.0


@router.get("", response_class=HTMLResponse,
            description="Public shell of the planning board; its data calls need a "
                        "dispatcher's token.")
def board_page(settings: SettingsDep,
               day: Annotated[date | None, Query(alias="date")] = None) -> HTMLResponse:
    origin = tile_origin(settings.tile_url)
    return render_page("board.html", day=day.isoformat() if day else "",
                       img_origins=(origin,) if origin else ())


@router.get("/data", response_model=s.BoardDay, dependencies=dispatcher,
            description="Roles: dispatcher. Every active technician's row for `date` (shift, "
                        "breaks, absences, visits with travel), the KPIs of the header and "
                        "the filter options.")
def board_data(session: SessionDep, settings: SettingsDep,
               day: Annotated[date, Query(alias="date")]) -> Any:
    return service.board_day(session, day=day, settings=settings)


@router.get("/unassigned", response_model=list[s.UnassignedOrder], dependencies=dispatcher,
            description="Roles: dispatcher. Orders ready to be planned, most pressing first; "
                        "filters: `priority` (repeatable), `skill` code, `zone` code, "
                        "`due_before` (SLA response due before that instant).")
def board_unassigned(
    session: SessionDep, clock: ClockDep,
    priority: Annotated[list[service.Priority] | None, Query()] = None,
    skill: Annotated[str | None, Query(max_length=40)] = None,
    zone: Annotated[str | None, Query(max_length=40)] = None,
    due_before: AwareDatetime | None = None,
) -> Any:
    return service.unassigned_orders(
        session, now=clock.now(), priorities=[p.value for p in priority or ()],
        skill=skill or None, zone=zone or None, due_before=due_before)


@router.get("/events", dependencies=dispatcher, response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}},
            description="Roles: dispatcher. Server-sent events: `visits.changed`, "
                        "`run.updated`, `orders.changed`, each with the `days` it concerns. "
                        "Send Last-Event-ID to resume.")
async def board_events(request: Request, session: SessionDep, events: EventsDep,
                       last_event_id: Annotated[str | None, Header()] = None
                       ) -> StreamingResponse:
    # The token was checked; give the connection back rather than hold it for hours.
    session.close()
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    subscription = events.subscribe(after=after)

    # Where the client stands: a reconnect sends it back as Last-Event-ID.
    start = after if after is not None else events.last_id

    async def stream() -> AsyncIterator[str]:
        with subscription:
            yield f"retry: 3000\nid: {start}\n\n"
            while not await request.is_disconnected():
                event = await subscription.next(KEEPALIVE_S)
                if event is not None:
                    yield event.sse()
                elif subscription.closed:
                    return
                else:
                    yield ": keep-alive\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

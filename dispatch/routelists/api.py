"""HTTP routes of route lists: JSON, the phone page and the printable PDF.

Roles: dispatcher (every technician's) and technician (his own only; another's is a
403 problem). The phone page is a shell anyone may load: it signs in with a token
kept in the tab and reads the JSON with it (dispatch.web.pages).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from dispatch.core.i18n import is_supported, normalize_locale
from dispatch.core.web import ClockDep, CurrentUser, SessionDep, SettingsDep, require_role
from dispatch.routelists import service
from dispatch.routelists.printout import route_pdf
from dispatch.routelists.schemas import Route
from dispatch.routelists.texts import words
from dispatch.web.pages import preferred_language, render_page

router = APIRouter(prefix="/technicians", tags=["route lists"])
readers = [Depends(require_role("dispatcher", "technician"))]

Day = Annotated[date, Query(alias="date", description="the technician's local date")]

# Where a technician reports a visit's progress (dispatch.dispatching); None: not linked.
STATUS_ROUTE_NAME = "report_status"


def status_href(request: Request) -> str | None:
    """The status endpoint with a ``{visit_id}`` placeholder, when the app serves it."""
    try:
        return request.app.url_path_for(STATUS_ROUTE_NAME, visit_id="0").replace(
            "/0/", "/{visit_id}/")
    except Exception:  # noqa: BLE001 - starlette raises NoMatchFound: no such endpoint
        return None


def _route(request: Request, session: SessionDep, user: CurrentUser, settings: SettingsDep,
           clock: ClockDep, technician_id: int, day: date) -> Route:
    return service.route_for(session, technician_id=technician_id, day=day, viewer=user,
                             default_timezone=settings.default_timezone, now=clock.now(),
                             status_href=status_href(request))


@router.get("/{technician_id}/route", response_model=Route, dependencies=readers,
            description="Roles: dispatcher, technician (his own only: another's is 403). "
                        "The technician's stops on `date` in visiting order, with ETA, time "
                        "windows, customer, address and navigation links, contact, service "
                        "items, defect, parts to bring and the status actions (each with the "
                        "`fields` its body may add: done takes time entries and parts "
                        "used).")
def get_route(technician_id: int, day: Day, request: Request, session: SessionDep,
              user: CurrentUser, settings: SettingsDep, clock: ClockDep) -> Any:
    return _route(request, session, user, settings, clock, technician_id, day)


@router.get("/{technician_id}/route/pdf", response_class=Response, dependencies=readers,
            responses={200: {"content": {"application/pdf": {}}}},
            description="Roles: dispatcher, technician (his own only). The printable route "
                        "list in the technician's language (`lang` overrides: pt_BR, da, "
                        "it, en).")
def get_route_pdf(technician_id: int, day: Day, request: Request, session: SessionDep,
                  user: CurrentUser, settings: SettingsDep, clock: ClockDep,
                  lang: Annotated[str | None, Query(max_length=10)] = None) -> Response:
    route = _route(request, session, user, settings, clock, technician_id, day)
    chosen = normalize_locale(lang) if lang and is_supported(lang) else None
    pdf = route_pdf(route, printed_at=clock.now(), lang=chosen)
    name = f"route-{technician_id}-{day.isoformat()}.pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"',
                             "Cache-Control": "no-store"})


@router.get("/{technician_id}/route/page", response_class=HTMLResponse,
            description="Public shell of the phone page; it reads the route with the token "
                        "the technician signs in with. Language: `lang` or Accept-Language.")
def route_page(technician_id: int, request: Request,
               day: Annotated[date | None, Query(alias="date")] = None) -> HTMLResponse:
    lang = preferred_language(request)
    return render_page(
        "route.html", lang=lang, html_lang=lang.replace("_", "-"),
        technician_id=technician_id, day=day.isoformat() if day else "",
        words=words(lang),
    )

"""HTTP routes of service requests and orders: parse, call one service function, commit, return.

Roles: the back office (dispatcher, billing) reads and writes; a technician reads
only the orders assigned to him (others are a 404 to him); admin does everything.
Responses about one order carry its version as ``ETag``; PATCH needs ``If-Match``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response

from dispatch.core.web import (
    ClockDep,
    CurrentUser,
    IdempotencyDep,
    IfMatch,
    SessionDep,
    etag,
    if_match_version,
    require_role,
)
from orders import schemas as s
from orders import service
from orders.lifecycle import OrderStatus
from orders.models import Priority, RequestStatus

BACK_OFFICE = ("dispatcher", "billing")
back_office = [Depends(require_role(*BACK_OFFICE))]
# Technicians read their own orders: the filter is applied in the service.
order_read = [Depends(require_role(*BACK_OFFICE, "technician"))]

Limit = Annotated[int, Query(ge=1, le=service.MAX_PAGE, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
OptionalIfMatch = Annotated[str | None, Header(alias="If-Match")]

requests = APIRouter(prefix="/service-requests", tags=["service requests"])
orders = APIRouter(prefix="/orders", tags=["orders"])


def _optional_version(value: str | None) -> int | None:
    return None if value is None else if_match_version(value)


# --- service requests ----------------------------------------------------------------------


@requests.post("", status_code=201, response_model=s.ServiceRequestRead,
               dependencies=back_office,
               description="Roles: dispatcher, billing. Receives a customer's request (call "
                           "center, e-commerce, API). Takes Idempotency-Key.")
def create_service_request(body: s.ServiceRequestCreate, session: SessionDep,
                           user: CurrentUser, clock: ClockDep, idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    row = service.create_service_request(session, data=body, user_id=user.id, now=clock.now())
    out = s.ServiceRequestRead.model_validate(row)
    idem.save(out, 201)
    session.commit()
    return out


@requests.get("", response_model=s.Page[s.ServiceRequestRead], dependencies=back_office,
              description="Roles: dispatcher, billing. Oldest first (the triage queue).")
def list_service_requests(session: SessionDep, status: RequestStatus | None = None,
                          customer_id: int | None = None, cursor: Cursor = None,
                          limit: Limit = service.DEFAULT_PAGE) -> Any:
    rows, nxt = service.list_service_requests(session, status=status, customer_id=customer_id,
                                              cursor=cursor, limit=limit)
    return {"items": [s.ServiceRequestRead.model_validate(r) for r in rows], "next_cursor": nxt}


@requests.get("/{request_id}", response_model=s.ServiceRequestRead, dependencies=back_office,
              description="Roles: dispatcher, billing.")
def get_service_request(request_id: int, session: SessionDep) -> Any:
    return s.ServiceRequestRead.model_validate(
        service.get_service_request(session, request_id=request_id))


@requests.post("/{request_id}/convert", status_code=201, response_model=s.OrderRead,
               dependencies=back_office,
               description="Roles: dispatcher, billing. Turns a received request into an open "
                           "order (once; a second time is a 409). Takes Idempotency-Key.")
def convert_service_request(request_id: int, body: s.ConvertRequest, session: SessionDep,
                            user: CurrentUser, clock: ClockDep, idem: IdempotencyDep,
                            response: Response) -> Any:
    if r := idem.replay():
        return r
    order = service.convert_request(session, request_id=request_id, data=body, user_id=user.id,
                                    now=clock.now())
    out = service.read_order(service.get_order(session, order_id=order.id))
    idem.save(out, 201)
    session.commit()
    etag(response, out.version)
    return out


@requests.post("/{request_id}/reject", response_model=s.ServiceRequestRead,
               dependencies=back_office,
               description="Roles: dispatcher, billing. Closes a received request without "
                           "an order, with the reason.")
def reject_service_request(request_id: int, body: s.RejectRequest, session: SessionDep,
                           user: CurrentUser, clock: ClockDep) -> Any:
    row = service.reject_request(session, request_id=request_id, reason=body.reason,
                                 user_id=user.id, now=clock.now())
    out = s.ServiceRequestRead.model_validate(row)
    session.commit()
    return out


# --- orders --------------------------------------------------------------------------------


@orders.post("", status_code=201, response_model=s.OrderRead, dependencies=back_office,
             description="Roles: dispatcher, billing. Opens an order numbered YYYY-NNNNNN "
                         "(sequential per year). Takes Idempotency-Key.")
def create_order(body: s.OrderCreate, session: SessionDep, user: CurrentUser, clock: ClockDep,
                 idem: IdempotencyDep, response: Response) -> Any:
    if r := idem.replay():
        return r
    order = service.create_order(session, data=body, user_id=user.id, now=clock.now())
    out = service.read_order(service.get_order(session, order_id=order.id))
    idem.save(out, 201)
    session.commit()
    etag(response, out.version)
    return out


@orders.get("", response_model=s.Page[s.OrderRead], dependencies=order_read,
            description="Roles: dispatcher, billing, technician (his orders only). Newest "
                        "first. `status` and `priority` repeat for several values; "
                        "`created_from` is inclusive, `created_to` exclusive; `q` searches "
                        "the number, the reported defect and the customer's name.")
def list_orders(
    session: SessionDep,
    user: CurrentUser,
    status: Annotated[list[OrderStatus] | None, Query()] = None,
    priority: Annotated[list[Priority] | None, Query()] = None,
    customer_id: int | None = None,
    technician_id: int | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Cursor = None,
    limit: Limit = service.DEFAULT_PAGE,
) -> Any:
    rows, nxt = service.list_orders(
        session, viewer=user, statuses=status or (), priorities=priority or (),
        customer_id=customer_id, technician_id=technician_id, created_from=created_from,
        created_to=created_to, q=q, cursor=cursor, limit=limit,
    )
    return {"items": [service.read_order(r) for r in rows], "next_cursor": nxt}


@orders.get("/{order_id}", response_model=s.OrderRead, dependencies=order_read,
            description="Roles: dispatcher, billing, technician (his orders only). The order "
                        "with lines, time entries and totals; the ETag is its version.")
def get_order(order_id: int, session: SessionDep, user: CurrentUser, response: Response) -> Any:
    out = service.read_order(service.get_order(session, order_id=order_id, viewer=user))
    etag(response, out.version)
    return out


@orders.patch("/{order_id}", response_model=s.OrderRead, dependencies=back_office,
              description="Roles: dispatcher, billing. Needs If-Match with the ETag read "
                          "(428 without it, 409 when stale).")
def update_order(order_id: int, body: s.OrderUpdate, version: IfMatch, session: SessionDep,
                 user: CurrentUser, clock: ClockDep, response: Response) -> Any:
    service.update_order(session, order_id=order_id, data=body, expected_version=version,
                         user_id=user.id, now=clock.now())
    session.commit()
    out = service.read_order(service.get_order(session, order_id=order_id))
    etag(response, out.version)
    return out


@orders.post("/{order_id}/transitions", response_model=s.OrderRead, dependencies=back_office,
             description="Roles: dispatcher, billing. Changes the status if the lifecycle "
                         "allows it (409 naming the allowed ones otherwise); `closed` only by "
                         "closing. If-Match is optional here. Takes Idempotency-Key.")
def transition(order_id: int, body: s.TransitionCreate, session: SessionDep, user: CurrentUser,
               clock: ClockDep, idem: IdempotencyDep, response: Response,
               if_match: OptionalIfMatch = None) -> Any:
    if r := idem.replay():
        return r
    service.transition(session, order_id=order_id, data=body, user_id=user.id, now=clock.now(),
                       expected_version=_optional_version(if_match))
    out = service.read_order(service.get_order(session, order_id=order_id))
    idem.save(out, 200)
    session.commit()
    etag(response, out.version)
    return out


@orders.get("/{order_id}/history", response_model=list[s.HistoryRead], dependencies=order_read,
            description="Roles: dispatcher, billing, technician (his orders only). Every "
                        "change: who, when, from, to, note.")
def order_history(order_id: int, session: SessionDep, user: CurrentUser) -> Any:
    return service.history(session, order_id=order_id, viewer=user)


@orders.get("/{order_id}/lines", response_model=list[s.LineRead], dependencies=order_read,
            description="Roles: dispatcher, billing, technician (his orders only).")
def list_lines(order_id: int, session: SessionDep, user: CurrentUser) -> Any:
    return service.read_order(service.get_order(session, order_id=order_id, viewer=user)).lines


@orders.post("/{order_id}/lines", status_code=201, response_model=s.LineRead,
             dependencies=back_office,
             description="Roles: dispatcher, billing. Parts are priced from the product "
                         "catalogue, services from the labour type (contracts.pricing); "
                         "`unit_price` overrides it for admin and billing only (rule "
                         "'manual'). Takes Idempotency-Key.")
def add_line(order_id: int, body: s.LineCreate, session: SessionDep, user: CurrentUser,
             clock: ClockDep, idem: IdempotencyDep, response: Response) -> Any:
    if r := idem.replay():
        return r
    line = service.add_line(session, order_id=order_id, data=body, user_id=user.id,
                            may_set_price=user.has_role(*service.PRICE_ROLES), now=clock.now())
    out = service.read_line(session, line)
    idem.save(out, 201)
    session.commit()
    etag(response, line.order.version)
    return out


@orders.delete("/{order_id}/lines/{line_id}", status_code=204, dependencies=back_office,
               description="Roles: dispatcher, billing.")
def remove_line(order_id: int, line_id: int, session: SessionDep, user: CurrentUser,
                clock: ClockDep) -> Response:
    order = service.remove_line(session, order_id=order_id, line_id=line_id, user_id=user.id,
                                now=clock.now())
    session.commit()
    return Response(status_code=204, headers={"ETag": f'"{order.version}"'})


@orders.get("/{order_id}/time-entries", response_model=list[s.TimeEntryRead],
            dependencies=order_read,
            description="Roles: dispatcher, billing, technician (his orders only).")
def list_time_entries(order_id: int, session: SessionDep, user: CurrentUser) -> Any:
    order = service.get_order(session, order_id=order_id, viewer=user)
    return service.read_order(order).time_entries


@orders.post("/{order_id}/time-entries", status_code=201, response_model=s.TimeEntryRead,
             dependencies=back_office,
             description="Roles: dispatcher, billing. Billed per started minute at the "
                         "labour rate; a technician's entries may not overlap. Takes "
                         "Idempotency-Key.")
def add_time_entry(order_id: int, body: s.TimeEntryCreate, session: SessionDep,
                   user: CurrentUser, clock: ClockDep, idem: IdempotencyDep,
                   response: Response) -> Any:
    if r := idem.replay():
        return r
    entry = service.add_time_entry(session, order_id=order_id, data=body, user_id=user.id,
                                   now=clock.now())
    out = service.read_time_entry(session, entry)
    idem.save(out, 201)
    session.commit()
    etag(response, entry.order.version)
    return out


@orders.delete("/{order_id}/time-entries/{entry_id}", status_code=204, dependencies=back_office,
               description="Roles: dispatcher, billing.")
def remove_time_entry(order_id: int, entry_id: int, session: SessionDep, user: CurrentUser,
                      clock: ClockDep) -> Response:
    order = service.remove_time_entry(session, order_id=order_id, entry_id=entry_id,
                                      user_id=user.id, now=clock.now())
    session.commit()
    return Response(status_code=204, headers={"ETag": f'"{order.version}"'})


routers = (requests, orders)

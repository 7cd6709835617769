"""HTTP routes of technicians, zones and resource groups. Roles: dispatcher (and admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from dispatch.core.web import ClockDep, IdempotencyDep, SessionDep, require_role
from dispatch.technicians import service
from dispatch.technicians.schemas import (
    ResourceGroupCreate,
    ResourceGroupRead,
    TechnicianCreate,
    TechnicianRead,
    TechnicianUpdate,
    ZoneCreate,
    ZoneRead,
)

router = APIRouter(prefix="/technicians", tags=["technicians"],
                   dependencies=[Depends(require_role("dispatcher"))])


@router.get("", response_model=list[TechnicianRead],
            description="Roles: dispatcher. Filter by `active` and by `skill` (a code).")
def list_technicians(session: SessionDep, active: bool | None = None,
                     skill: str | None = None) -> Any:
    return service.list_technicians(session, active=active, skill=skill)


@router.post("", status_code=201, response_model=TechnicianRead,
             description="Roles: dispatcher. Skills by code. Takes Idempotency-Key.")
def create_technician(body: TechnicianCreate, session: SessionDep, clock: ClockDep,
                      idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    out = TechnicianRead.model_validate(
        service.create_technician(session, data=body, now=clock.now())
    )
    idem.save(out, 201)
    session.commit()
    return out


@router.get("/{technician_id}", response_model=TechnicianRead, description="Roles: dispatcher.")
def get_technician(technician_id: int, session: SessionDep) -> Any:
    return service.get_technician(session, technician_id=technician_id)


@router.patch("/{technician_id}", response_model=TechnicianRead,
              description="Roles: dispatcher. `skills` replaces the list.")
def update_technician(technician_id: int, body: TechnicianUpdate, session: SessionDep) -> Any:
    row = service.update_technician(session, technician_id=technician_id, data=body)
    session.commit()
    return row


@router.delete("/{technician_id}", status_code=204,
               description="Roles: dispatcher. 409 once he has work; deactivate instead.")
def delete_technician(technician_id: int, session: SessionDep) -> Response:
    service.delete_technician(session, technician_id=technician_id)
    session.commit()
    return Response(status_code=204)


zones_router = APIRouter(prefix="/zones", tags=["technicians"],
                         dependencies=[Depends(require_role("dispatcher"))])
groups_router = APIRouter(prefix="/resource-groups", tags=["technicians"],
                          dependencies=[Depends(require_role("dispatcher"))])


@zones_router.get("", response_model=list[ZoneRead], description="Roles: dispatcher.")
def list_zones(session: SessionDep) -> Any:
    return service.list_zones(session)


@zones_router.post("", status_code=201, response_model=ZoneRead,
                   description="Roles: dispatcher. Takes Idempotency-Key.")
def create_zone(body: ZoneCreate, session: SessionDep, clock: ClockDep,
                idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    out = ZoneRead.model_validate(service.create_zone(session, data=body, now=clock.now()))
    idem.save(out, 201)
    session.commit()
    return out


@zones_router.delete("/{zone_id}", status_code=204,
                     description="Roles: dispatcher. 409 while technicians serve it.")
def delete_zone(zone_id: int, session: SessionDep) -> Response:
    service.delete_zone(session, zone_id=zone_id)
    session.commit()
    return Response(status_code=204)


@groups_router.get("", response_model=list[ResourceGroupRead], description="Roles: dispatcher.")
def list_resource_groups(session: SessionDep) -> Any:
    return service.list_resource_groups(session)


@groups_router.post("", status_code=201, response_model=ResourceGroupRead,
                    description="Roles: dispatcher. Takes Idempotency-Key.")
def create_resource_group(body: ResourceGroupCreate, session: SessionDep, clock: ClockDep,
                          idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    out = ResourceGroupRead.model_validate(
        service.create_resource_group(session, data=body, now=clock.now()))
    idem.save(out, 201)
    session.commit()
    return out


@groups_router.delete("/{group_id}", status_code=204,
                      description="Roles: dispatcher. 409 while technicians belong to it.")
def delete_resource_group(group_id: int, session: SessionDep) -> Response:
    service.delete_resource_group(session, group_id=group_id)
    session.commit()
    return Response(status_code=204)

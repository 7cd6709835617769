"""HTTP routes of technicians' calendars, absences and availability. Roles: dispatcher."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime

from dispatch.calendars import schemas as s
from dispatch.calendars import service
from dispatch.core.web import (
    ClockDep,
    CurrentUser,
    IdempotencyDep,
    SessionDep,
    SettingsDep,
    require_role,
)

router = APIRouter(prefix="/technicians", tags=["calendars"],
                   dependencies=[Depends(require_role("dispatcher"))])


@router.get("/{technician_id}/calendar", response_model=s.CalendarRead,
            description="Roles: dispatcher. `default: true` while he works the default week "
                        "(08:00-12:00 and 13:30-17:30, Monday to Friday).")
def get_calendar(technician_id: int, session: SessionDep, settings: SettingsDep) -> Any:
    return service.get_calendar(session, technician_id=technician_id, settings=settings)


@router.put("/{technician_id}/calendar", response_model=s.CalendarRead,
            description="Roles: dispatcher. Replaces his weekly windows and breaks; the gap "
                        "between two windows of a day is a fixed break.")
def put_calendar(technician_id: int, body: s.CalendarWrite, session: SessionDep,
                 settings: SettingsDep) -> Any:
    out = service.set_calendar(session, technician_id=technician_id, data=body, settings=settings)
    session.commit()
    return out


@router.get("/{technician_id}/availability", response_model=s.AvailabilityRead,
            description="Roles: dispatcher. His working time on a local date: calendar minus "
                        "public holidays minus absences (`windows`) minus booked visits "
                        "(`free`).")
def get_availability(technician_id: int, session: SessionDep, settings: SettingsDep,
                     date: date) -> Any:
    return service.availability(session, technician_id=technician_id, day=date,
                                settings=settings)


@router.post("/{technician_id}/absences", status_code=201, response_model=s.AbsenceRead,
             description="Roles: dispatcher. Takes Idempotency-Key.")
def create_absence(technician_id: int, body: s.AbsenceCreate, session: SessionDep,
                   user: CurrentUser, clock: ClockDep, idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    out = s.AbsenceRead.model_validate(service.create_absence(
        session, technician_id=technician_id, data=body, user_id=user.id, now=clock.now()))
    idem.save(out, 201)
    session.commit()
    return out


@router.get("/{technician_id}/absences", response_model=list[s.AbsenceRead],
            description="Roles: dispatcher. `from`/`to` keep the absences overlapping them.")
def list_absences(technician_id: int, session: SessionDep,
                  from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
                  to: AwareDatetime | None = None) -> Any:
    return service.list_absences(session, technician_id=technician_id, start=from_, end=to)


@router.delete("/{technician_id}/absences/{absence_id}", status_code=204,
               description="Roles: dispatcher.")
def delete_absence(technician_id: int, absence_id: int, session: SessionDep) -> Response:
    service.delete_absence(session, technician_id=technician_id, absence_id=absence_id)
    session.commit()
    return Response(status_code=204)

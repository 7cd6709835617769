"""HTTP routes of service calendars, price indexes, contract quotes and contracts.

Parse, call one service function, commit, return. Contract managers are the back
office here: dispatcher and billing read and write (admin does everything).
Quotes, contracts and calendars carry their version as ``ETag``; PATCH needs
``If-Match``, the other writes take it optionally. POSTs take ``Idempotency-Key``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from contracts import schemas as s
from contracts import service
from contracts.errors import BadIndexImport
from contracts.models import ContractStatus, QuoteStatus
from dispatch.core.web import (
    ClockDep,
    CurrentUser,
    IdempotencyDep,
    IfMatch,
    SessionDep,
    SettingsDep,
    etag,
    if_match_version,
    require_role,
)

CONTRACT_MANAGERS = ("dispatcher", "billing")
managers = [Depends(require_role(*CONTRACT_MANAGERS))]
_ROLES = "Roles: dispatcher, billing."

Limit = Annotated[int, Query(ge=1, le=service.MAX_PAGE, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
OptionalIfMatch = Annotated[str | None, Header(alias="If-Match")]

calendars = APIRouter(prefix="/calendars", tags=["service calendars"])
indexes = APIRouter(prefix="/price-indexes", tags=["price indexes"])
quotes = APIRouter(prefix="/contract-quotes", tags=["contract quotes"])
contracts = APIRouter(prefix="/contracts", tags=["contracts"])


def _version(value: str | None) -> int | None:
    return None if value is None else if_match_version(value)


# --- calendars -------------------------------------------------------------------------------


@calendars.post("", status_code=201, response_model=s.CalendarRead, dependencies=managers,
                description=f"{_ROLES} Weekly windows in a time zone, the public holidays of "
                            "a country/subdivision (`holidays` package) and named exceptions. "
                            "Takes Idempotency-Key.")
def create_calendar(body: s.CalendarCreate, session: SessionDep, clock: ClockDep,
                    idem: IdempotencyDep, response: Response) -> Any:
    if r := idem.replay():
        return r
    out = s.calendar_read(service.create_calendar(session, data=body, now=clock.now()))
    idem.save(out, 201)
    session.commit()
    etag(response, out.version)
    return out


@calendars.get("", response_model=list[s.CalendarRead], dependencies=managers,
               description=f"{_ROLES} The built-in 24/7 calendar (code 24x7) first.")
def list_calendars(session: SessionDep, clock: ClockDep) -> Any:
    rows = service.list_calendars(session, now=clock.now())
    out = [s.calendar_read(r) for r in rows]
    session.commit()  # the built-in calendar is created on first use
    return out


@calendars.get("/{calendar_id}", response_model=s.CalendarRead, dependencies=managers,
               description=_ROLES)
def get_calendar(calendar_id: int, session: SessionDep, response: Response) -> Any:
    out = s.calendar_read(service.get_calendar(session, calendar_id=calendar_id))
    etag(response, out.version)
    return out


@calendars.patch("/{calendar_id}", response_model=s.CalendarRead, dependencies=managers,
                 description=f"{_ROLES} Needs If-Match. The built-in calendar is a 409.")
def update_calendar(calendar_id: int, body: s.CalendarUpdate, version: IfMatch,
                    session: SessionDep, clock: ClockDep, response: Response) -> Any:
    row = service.update_calendar(session, calendar_id=calendar_id, data=body,
                                  expected_version=version, now=clock.now())
    out = s.calendar_read(row)
    session.commit()
    etag(response, out.version)
    return out


@calendars.delete("/{calendar_id}", status_code=204, dependencies=managers,
                  description=f"{_ROLES} A calendar used by a contract or quote is a 409.")
def delete_calendar(calendar_id: int, session: SessionDep) -> Response:
    service.delete_calendar(session, calendar_id=calendar_id)
    session.commit()
    return Response(status_code=204)


@calendars.get("/{calendar_id}/response-due", response_model=s.ResponseDueRead,
               dependencies=managers,
               description=f"{_ROLES} `created_at` plus `hours` of open time in the calendar: "
                           "when a response is due.")
def response_due(calendar_id: int, created_at: datetime,
                 hours: Annotated[Decimal, Query(ge=0, le=10000)],
                 session: SessionDep) -> Any:
    due = service.response_due_in(session, calendar_id=calendar_id, created_at=created_at,
                                  hours=hours)
    return s.ResponseDueRead(calendar_id=calendar_id, created_at=created_at, hours=hours,
                             due_at=due)


# --- price indexes ---------------------------------------------------------------------------


async def csv_text(request: Request) -> str:
    raw = await request.body()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadIndexImport("the file is not UTF-8 text", field="file", line=1) from None


_CSV_BODY = {"requestBody": {"required": True, "content": {"text/csv": {"schema": {
    "type": "string", "example": "name,month,value\nIGP-M,2026-01,1000.000000\n"}}}}}


@indexes.post("", status_code=201, response_model=s.IndexImportRead, dependencies=managers,
              description=f"{_ROLES} Index numbers by name and month (YYYY-MM). A month "
                          "already stored with the same value is left alone; with another "
                          "value it is a 409 and nothing is stored. Takes Idempotency-Key.")
def add_index_rows(body: s.IndexRowsCreate, session: SessionDep, user: CurrentUser,
                   clock: ClockDep, idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    rows = [service.IndexRow(x.name, x.month, x.value) for x in body.rows]
    created, unchanged, stored = service.add_index_rows(session, rows=rows, user_id=user.id,
                                                        now=clock.now())
    out = s.IndexImportRead(created=created, unchanged=unchanged,
                            rows=[s.IndexRowRead.model_validate(x) for x in stored])
    idem.save(out, 201)
    session.commit()
    return out


@indexes.post("/import", status_code=201, response_model=s.IndexImportRead,
              dependencies=managers, openapi_extra=_CSV_BODY,
              description=f"{_ROLES} A CSV file as the body (text/csv): header "
                          "`name,month,value`, months as YYYY-MM. All rows or none: a bad "
                          "row is a 422 naming its `line`. Takes Idempotency-Key.")
def import_index_csv(text: Annotated[str, Depends(csv_text)], session: SessionDep,
                     user: CurrentUser, clock: ClockDep, idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    created, unchanged, stored = service.import_index_csv(session, text=text, user_id=user.id,
                                                          now=clock.now())
    out = s.IndexImportRead(created=created, unchanged=unchanged,
                            rows=[s.IndexRowRead.model_validate(x) for x in stored])
    idem.save(out, 201)
    session.commit()
    return out


@indexes.get("", response_model=list[s.IndexSeriesRead], dependencies=managers,
             description=f"{_ROLES} The indexes known, with their first and last month.")
def list_indexes(session: SessionDep) -> Any:
    return service.list_index_series(session)


@indexes.get("/{name}", response_model=list[s.IndexRowRead], dependencies=managers,
             description=f"{_ROLES} One index's numbers by month.")
def get_index(name: str, session: SessionDep) -> Any:
    return [s.IndexRowRead.model_validate(x) for x in service.get_index(session, name=name)]


# --- quotes ----------------------------------------------------------------------------------


def _quote_out(session: SessionDep, quote_id: int, now: datetime, default_tz: str,
               response: Response | None = None) -> s.QuoteRead:
    out = service.read_quote(session, service.get_quote(session, quote_id=quote_id), now=now,
                             default_tz=default_tz)
    if response is not None:
        etag(response, out.version)
    return out


@quotes.post("", status_code=201, response_model=s.QuoteRead, dependencies=managers,
             description=f"{_ROLES} A draft quote numbered CQ-NNNNNN: the items (or item "
                         "groups at a site) to cover with their terms, the price per period, "
                         "the period, valid_until. Takes Idempotency-Key.")
def create_quote(body: s.QuoteCreate, session: SessionDep, user: CurrentUser, clock: ClockDep,
                 settings: SettingsDep, idem: IdempotencyDep, response: Response) -> Any:
    if r := idem.replay():
        return r
    tz = settings.default_timezone
    quote = service.create_quote(session, data=body, user_id=user.id, now=clock.now(),
                                 default_tz=tz)
    out = _quote_out(session, quote.id, clock.now(), tz, response)
    idem.save(out, 201)
    session.commit()
    return out


@quotes.get("", response_model=s.Page[s.QuoteRead], dependencies=managers,
            description=f"{_ROLES} Newest first; `status=expired` lists lapsed quotes.")
def list_quotes(session: SessionDep, clock: ClockDep, settings: SettingsDep,
                customer_id: int | None = None, status: QuoteStatus | None = None,
                cursor: Cursor = None, limit: Limit = service.DEFAULT_PAGE) -> Any:
    now, tz = clock.now(), settings.default_timezone
    rows, nxt = service.list_quotes(session, now=now, default_tz=tz, customer_id=customer_id,
                                    status=status, cursor=cursor, limit=limit)
    return {"items": [service.read_quote(session, r, now=now, default_tz=tz) for r in rows],
            "next_cursor": nxt}


@quotes.get("/{quote_id}", response_model=s.QuoteRead, dependencies=managers,
            description=_ROLES)
def get_quote(quote_id: int, session: SessionDep, clock: ClockDep, settings: SettingsDep,
              response: Response) -> Any:
    return _quote_out(session, quote_id, clock.now(), settings.default_timezone, response)


@quotes.patch("/{quote_id}", response_model=s.QuoteRead, dependencies=managers,
              description=f"{_ROLES} Draft quotes only; needs If-Match. `lines` replaces "
                          "all lines.")
def update_quote(quote_id: int, body: s.QuoteUpdate, version: IfMatch, session: SessionDep,
                 clock: ClockDep, settings: SettingsDep, response: Response) -> Any:
    tz = settings.default_timezone
    service.update_quote(session, quote_id=quote_id, data=body, expected_version=version,
                         now=clock.now(), default_tz=tz)
    session.commit()
    return _quote_out(session, quote_id, clock.now(), tz, response)


def _quote_action(action: str, description: str):
    def decorate(fn):
        return quotes.post(f"/{{quote_id}}/{action}", response_model=s.QuoteRead,
                           dependencies=managers,
                           description=f"{_ROLES} {description} Takes Idempotency-Key.")(fn)
    return decorate


@_quote_action("send", "Draft -> sent.")
def send_quote(quote_id: int, session: SessionDep, clock: ClockDep, settings: SettingsDep,
               idem: IdempotencyDep, response: Response) -> Any:
    if r := idem.replay():
        return r
    tz = settings.default_timezone
    service.send_quote(session, quote_id=quote_id, now=clock.now(), default_tz=tz)
    out = _quote_out(session, quote_id, clock.now(), tz, response)
    idem.save(out, 200)
    session.commit()
    return out


@_quote_action("accept", "Sent -> accepted, on or before valid_until (after: 409 "
                         "quote-expired).")
def accept_quote(quote_id: int, session: SessionDep, user: CurrentUser, clock: ClockDep,
                 settings: SettingsDep, idem: IdempotencyDep, response: Response) -> Any:
    if r := idem.replay():
        return r
    tz = settings.default_timezone
    service.accept_quote(session, quote_id=quote_id, user_id=user.id, now=clock.now(),
                         default_tz=tz)
    out = _quote_out(session, quote_id, clock.now(), tz, response)
    idem.save(out, 200)
    session.commit()
    return out


@_quote_action("decline", "Sent -> declined, with an optional reason.")
def decline_quote(quote_id: int, session: SessionDep, user: CurrentUser, clock: ClockDep,
                  settings: SettingsDep, idem: IdempotencyDep, response: Response,
                  body: s.QuoteDecline | None = None) -> Any:
    if r := idem.replay():
        return r
    tz = settings.default_timezone
    service.decline_quote(session, quote_id=quote_id, reason=body.reason if body else "",
                          user_id=user.id, now=clock.now(), default_tz=tz)
    out = _quote_out(session, quote_id, clock.now(), tz, response)
    idem.save(out, 200)
    session.commit()
    return out


@quotes.post("/{quote_id}/convert", status_code=201, response_model=s.ContractRead,
             dependencies=managers,
             description=f"{_ROLES} An accepted quote becomes a draft contract with its "
                         "terms and lines, once; the contract keeps quote_id. Declined, "
                         "expired, not yet accepted or already converted: 409. Takes "
                         "Idempotency-Key.")
def convert_quote(quote_id: int, session: SessionDep, user: CurrentUser, clock: ClockDep,
                  settings: SettingsDep, idem: IdempotencyDep, response: Response,
                  body: s.QuoteConvert | None = None) -> Any:
    if r := idem.replay():
        return r
    contract = service.convert_quote(session, quote_id=quote_id, data=body or s.QuoteConvert(),
                                     user_id=user.id, now=clock.now(),
                                     default_tz=settings.default_timezone)
    out = service.read_contract(service.get_contract(session, contract_id=contract.id))
    idem.save(out, 201)
    session.commit()
    etag(response, out.version)
    return out


# --- contracts -------------------------------------------------------------------------------


def _contract_out(session: SessionDep, contract_id: int,
                  response: Response | None = None) -> s.ContractRead:
    session.expire_all()
    out = service.read_contract(service.get_contract(session, contract_id=contract_id))
    if response is not None:
        etag(response, out.version)
    return out


@contracts.post("", status_code=201, response_model=s.ContractRead, dependencies=managers,
                description=f"{_ROLES} A draft contract numbered CT-NNNNNN. The same item "
                            "under two contracts at once is a 409 naming the other; an end "
                            "before the start or a negative price a 422. Takes "
                            "Idempotency-Key.")
def create_contract(body: s.ContractCreate, session: SessionDep, user: CurrentUser,
                    clock: ClockDep, idem: IdempotencyDep, response: Response) -> Any:
    if r := idem.replay():
        return r
    contract = service.create_contract(session, data=body, user_id=user.id, now=clock.now())
    out = _contract_out(session, contract.id, response)
    idem.save(out, 201)
    session.commit()
    return out


@contracts.post("/renewals", response_model=s.RenewalRunRead, dependencies=managers,
                description=f"{_ROLES} The renewal run: renews the active or suspended "
                            "contracts with auto_renew whose term ends before `until` "
                            "(indexed as at a manual renewal) and expires the others whose "
                            "last day has passed. A contract that cannot be renewed is listed "
                            "under `failed` with its problem and left as it was. Takes "
                            "Idempotency-Key.")
def run_renewals(body: s.RenewalRunCreate, session: SessionDep, user: CurrentUser,
                 clock: ClockDep, settings: SettingsDep, idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    run = service.run_renewals(session, until=body.until, user_id=user.id, now=clock.now(),
                               default_tz=settings.default_timezone)
    out = s.RenewalRunRead(
        renewed=[s.RenewedRead(
            contract_id=c.id, number=c.number, end_date=c.end_date,
            price_per_period=c.price_per_period,
            price_change=s.PriceChangeRead.model_validate(ch) if ch else None)
            for c, ch in run.renewed],
        expired=[s.ContractRef(contract_id=c.id, number=c.number) for c in run.expired],
        failed=[s.RenewalFailure(contract_id=c.id, number=c.number, problem=p)
                for c, p in run.failed],
    )
    idem.save(out, 200)
    session.commit()
    return out


@contracts.get("", response_model=s.Page[s.ContractRead], dependencies=managers,
               description=f"{_ROLES} Newest first. `status` repeats; `expiring_before` "
                           "lists contracts not expired or cancelled whose last day is "
                           "before that date; `q` searches number and title.")
def list_contracts(
    session: SessionDep,
    customer_id: int | None = None,
    status: Annotated[list[ContractStatus] | None, Query()] = None,
    expiring_before: date | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Cursor = None,
    limit: Limit = service.DEFAULT_PAGE,
) -> Any:
    rows, nxt = service.list_contracts(session, customer_id=customer_id, statuses=status or (),
                                       expiring_before=expiring_before, q=q, cursor=cursor,
                                       limit=limit)
    return {"items": [service.read_contract(r) for r in rows], "next_cursor": nxt}


@contracts.get("/{contract_id}", response_model=s.ContractRead, dependencies=managers,
               description=f"{_ROLES} With every line, removed ones included; the ETag is "
                           "its version.")
def get_contract(contract_id: int, session: SessionDep, response: Response) -> Any:
    return _contract_out(session, contract_id, response)


@contracts.patch("/{contract_id}", response_model=s.ContractRead, dependencies=managers,
                 description=f"{_ROLES} Needs If-Match. Dates, period and price only while "
                             "draft or signed; auto_renew off only up to the notice deadline.")
def update_contract(contract_id: int, body: s.ContractUpdate, version: IfMatch,
                    session: SessionDep, user: CurrentUser, clock: ClockDep,
                    settings: SettingsDep, response: Response) -> Any:
    service.update_contract(session, contract_id=contract_id, data=body,
                            expected_version=version, user_id=user.id, now=clock.now(),
                            default_tz=settings.default_timezone)
    session.commit()
    return _contract_out(session, contract_id, response)


@contracts.post("/{contract_id}/transitions", response_model=s.ContractRead,
                dependencies=managers,
                description=f"{_ROLES} draft -> signed -> active <-> suspended; expired "
                            "after the end; cancelled from any but expired. 409 naming the "
                            "allowed ones otherwise. If-Match optional. Takes "
                            "Idempotency-Key.")
def transition(contract_id: int, body: s.TransitionCreate, session: SessionDep,
               user: CurrentUser, clock: ClockDep, settings: SettingsDep, idem: IdempotencyDep,
               response: Response, if_match: OptionalIfMatch = None) -> Any:
    if r := idem.replay():
        return r
    service.transition(session, contract_id=contract_id, to=body.to, note=body.note,
                       user_id=user.id, now=clock.now(), default_tz=settings.default_timezone,
                       expected_version=_version(if_match))
    out = _contract_out(session, contract_id, response)
    idem.save(out, 200)
    session.commit()
    return out


@contracts.get("/{contract_id}/history", response_model=list[s.HistoryRead],
               dependencies=managers,
               description=f"{_ROLES} Every change: who, when, what, status from/to, note.")
def contract_history(contract_id: int, session: SessionDep) -> Any:
    return service.history(session, contract_id=contract_id)


def _line_change(session: SessionDep, line, adjustment, response: Response) -> s.LineChangeRead:
    contract = _contract_out(session, line.contract_id, response)
    return s.LineChangeRead(
        line=s.contract_line_read(line),
        adjustment=s.AdjustmentRead.model_validate(adjustment) if adjustment else None,
        contract_price_per_period=contract.price_per_period,
        contract_version=contract.version,
    )


@contracts.post("/{contract_id}/lines", status_code=201, response_model=s.LineChangeRead,
                dependencies=managers,
                description=f"{_ROLES} Covers one more item (or item group at a site) from "
                            "`added_on` (default today). The period price grows by the "
                            "line's price; on a running contract the rest of the current "
                            "period is prorated by day into a pending adjustment. If-Match "
                            "optional. Takes Idempotency-Key.")
def add_line(contract_id: int, body: s.ContractLineCreate, session: SessionDep,
             user: CurrentUser, clock: ClockDep, settings: SettingsDep, idem: IdempotencyDep,
             response: Response, if_match: OptionalIfMatch = None) -> Any:
    if r := idem.replay():
        return r
    line, adjustment = service.add_line(session, contract_id=contract_id, data=body,
                                        user_id=user.id, now=clock.now(),
                                        default_tz=settings.default_timezone,
                                        expected_version=_version(if_match))
    out = _line_change(session, line, adjustment, response)
    idem.save(out, 201)
    session.commit()
    return out


@contracts.patch("/{contract_id}/lines/{line_id}", response_model=s.LineChangeRead,
                 dependencies=managers,
                 description=f"{_ROLES} Changes a line's service hours (`calendar_id`; null: "
                             "the contract's calendar). Orders opened from then on count "
                             "their response time in it. Needs If-Match (the contract's "
                             "version).")
def update_line(contract_id: int, line_id: int, body: s.ContractLineUpdate, version: IfMatch,
                session: SessionDep, user: CurrentUser, clock: ClockDep,
                response: Response) -> Any:
    line = service.update_line(session, contract_id=contract_id, line_id=line_id, data=body,
                               expected_version=version, user_id=user.id, now=clock.now())
    out = _line_change(session, line, None, response)
    session.commit()
    return out


@contracts.delete("/{contract_id}/lines/{line_id}", response_model=s.LineChangeRead,
                  dependencies=managers,
                  description=f"{_ROLES} Stops covering the line's item from `removed_on` "
                              "(its first uncovered day; default today). The line stays "
                              "with the date; a running contract credits the rest of the "
                              "period (a negative adjustment). If-Match optional.")
def remove_line(contract_id: int, line_id: int, session: SessionDep, user: CurrentUser,
                clock: ClockDep, settings: SettingsDep, response: Response,
                removed_on: date | None = None, if_match: OptionalIfMatch = None) -> Any:
    line, adjustment = service.remove_line(session, contract_id=contract_id, line_id=line_id,
                                           removed_on=removed_on, user_id=user.id,
                                           now=clock.now(), default_tz=settings.default_timezone,
                                           expected_version=_version(if_match))
    out = _line_change(session, line, adjustment, response)
    session.commit()
    return out


@contracts.get("/{contract_id}/adjustments", response_model=list[s.AdjustmentRead],
               dependencies=managers,
               description=f"{_ROLES} Prorated amounts from item changes and mid-period "
                           "indexation; `pending=true`: not yet invoiced or credited.")
def list_adjustments(contract_id: int, session: SessionDep, pending: bool = False) -> Any:
    rows = service.list_adjustments(session, contract_id=contract_id, pending_only=pending)
    return [s.AdjustmentRead.model_validate(x) for x in rows]


@contracts.get("/{contract_id}/price-changes", response_model=list[s.PriceChangeRead],
               dependencies=managers,
               description=f"{_ROLES} Every indexation: old price, index values, new price.")
def list_price_changes(contract_id: int, session: SessionDep) -> Any:
    rows = service.list_price_changes(session, contract_id=contract_id)
    return [s.PriceChangeRead.model_validate(x) for x in rows]


@contracts.post("/{contract_id}/renew", response_model=s.RenewalRead, dependencies=managers,
                description=f"{_ROLES} Extends the term by renewal_term_months. With a price "
                            "index the price is first adjusted by the index change over the "
                            "past term (a missing index month is a 422 naming it). An expired "
                            "contract becomes active. If-Match optional. Takes "
                            "Idempotency-Key.")
def renew(contract_id: int, session: SessionDep, user: CurrentUser, clock: ClockDep,
          idem: IdempotencyDep, response: Response, body: s.RenewCreate | None = None,
          if_match: OptionalIfMatch = None) -> Any:
    if r := idem.replay():
        return r
    _, change = service.renew_contract(session, contract_id=contract_id,
                                       note=body.note if body else "", user_id=user.id,
                                       now=clock.now(), expected_version=_version(if_match))
    change_out = s.PriceChangeRead.model_validate(change) if change else None
    out = s.RenewalRead(contract=_contract_out(session, contract_id, response),
                        price_change=change_out)
    idem.save(out, 200)
    session.commit()
    return out


@contracts.post("/{contract_id}/indexation", response_model=s.IndexationRead,
                dependencies=managers,
                description=f"{_ROLES} Adjusts the price by the index on an anniversary "
                            "without renewing (`on`, default the contract's next). Twice for "
                            "one date: 409; a missing index month: 422 naming it. If-Match "
                            "optional. Takes Idempotency-Key.")
def index_price(contract_id: int, session: SessionDep, user: CurrentUser, clock: ClockDep,
                idem: IdempotencyDep, response: Response,
                body: s.IndexationCreate | None = None,
                if_match: OptionalIfMatch = None) -> Any:
    if r := idem.replay():
        return r
    body = body or s.IndexationCreate()
    _, change, adjustment = service.index_contract(
        session, contract_id=contract_id, on=body.on, note=body.note, user_id=user.id,
        now=clock.now(), expected_version=_version(if_match))
    change_out = s.PriceChangeRead.model_validate(change)
    adjustment_out = s.AdjustmentRead.model_validate(adjustment) if adjustment else None
    out = s.IndexationRead(contract=_contract_out(session, contract_id, response),
                           price_change=change_out, adjustment=adjustment_out)
    idem.save(out, 200)
    session.commit()
    return out


routers = (calendars, indexes, quotes, contracts)

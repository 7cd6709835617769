"""HTTP routes of orders under contracts: SLA lists, appointments, preventive-maintenance
visits, contract invoicing and profit and loss.

Roles: the back office (dispatcher, billing) watches the SLA, proposes and confirms
appointments and generates visits; billing (and admin) invoices contracts and reads
their profit and loss. These routers are registered before the orders' own, so that
``/orders/sla`` is not read as an order id.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Query, Response
from sqlalchemy import select

from dispatch.core.web import (
    ClockDep,
    CurrentUser,
    IdempotencyDep,
    SessionDep,
    SettingsDep,
    etag,
    if_match_version,
    require_role,
)
from orders import appointments, coverage, maintenance, pnl, service
from orders import contract_schemas as cs
from orders.billing import contract_invoicing
from orders.billing.models import Invoice
from orders.billing.schemas import InvoiceRead
from orders.billing.service import BillingConfig
from orders.schemas import OrderRead

back_office = [Depends(require_role("dispatcher", "billing"))]
billing_only = [Depends(require_role("billing"))]
OptionalIfMatch = Annotated[str | None, Header(alias="If-Match")]

sla = APIRouter(prefix="/orders", tags=["contracts: orders"])
appointment = APIRouter(tags=["contracts: orders"])
contract_ops = APIRouter(prefix="/contracts", tags=["contracts: visits, invoicing, P&L"])


def _window(settings: Any) -> timedelta:
    return timedelta(hours=settings.confirmation_hours)


def _order(session: Any, order_id: int, response: Response) -> OrderRead:
    out = service.read_order(service.get_order(session, order_id=order_id))
    etag(response, out.version)
    return out


# --- SLA -----------------------------------------------------------------------------------------


@sla.get("/sla", response_model=list[cs.SlaOrderRead], dependencies=back_office,
         description="Roles: dispatcher, billing. Open orders (not yet responded to: work not "
                     "started) at risk of missing the response time their contract promises, "
                     "or past it; soonest due first. At risk: at most `within_hours` business "
                     "hours left in the calendar of the contract line covering "
                     "the order, else the contract's (default 2).")
def sla_orders(session: SessionDep, clock: ClockDep,
               state: Literal["at_risk", "breached"] | None = None,
               within_hours: Annotated[Decimal, Query(ge=0, le=1000, decimal_places=2)] =
               Decimal(2)) -> Any:
    rows = coverage.sla_orders(session, now=clock.now(), state=state,
                               at_risk_within=timedelta(minutes=int(within_hours * 60)))
    return [cs.SlaOrderRead(
        order_id=r.order.id, number=r.order.number, status=r.order.status,
        priority=r.order.priority, customer_id=r.order.customer_id,
        customer_name=r.order.customer.legal_name, contract_id=r.order.contract_id,
        response_due_at=r.due_at, state=r.state.value,
        remaining_minutes=int(r.remaining.total_seconds() // 60)) for r in rows]


# --- appointments --------------------------------------------------------------------------------


@appointment.post("/orders/{order_id}/appointment", response_model=OrderRead,
                  dependencies=back_office,
                  description="Roles: dispatcher, billing. Proposes a visit time to the "
                              "customer: a ready order becomes scheduled at that time; the "
                              "customer must confirm within settings.confirmation_hours (24 h "
                              "by default) or the appointment is released. If-Match optional. "
                              "Takes Idempotency-Key.")
def propose_appointment(order_id: int, body: cs.AppointmentPropose, session: SessionDep,
                        user: CurrentUser, clock: ClockDep, settings: SettingsDep,
                        idem: IdempotencyDep, response: Response,
                        if_match: OptionalIfMatch = None) -> Any:
    if r := idem.replay():
        return r
    appointments.propose_appointment(
        session, order_id=order_id, start=body.start, technician_id=body.technician_id,
        user_id=user.id, now=clock.now(), window=_window(settings),
        expected_version=None if if_match is None else if_match_version(if_match))
    out = _order(session, order_id, response)
    idem.save(out, 200)
    session.commit()
    return out


@appointment.post("/orders/{order_id}/appointment/confirm", response_model=OrderRead,
                  dependencies=back_office,
                  description="Roles: dispatcher, billing. The customer confirms the proposed "
                              "appointment; after the confirmation window it is a 409 and "
                              "nothing changes. Confirming twice changes nothing.")
def confirm_appointment(order_id: int, session: SessionDep, user: CurrentUser, clock: ClockDep,
                        settings: SettingsDep, response: Response) -> Any:
    appointments.confirm_appointment(session, order_id=order_id, user_id=user.id,
                                     now=clock.now(), window=_window(settings))
    session.commit()
    return _order(session, order_id, response)


@appointment.post("/appointments/release-lapsed", response_model=cs.ReleaseResult,
                  dependencies=back_office,
                  description="Roles: dispatcher, billing. Releases every appointment not "
                              "confirmed in time: the order goes back to ready, to be "
                              "scheduled again, with a history entry.")
def release_lapsed(session: SessionDep, user: CurrentUser, clock: ClockDep,
                   settings: SettingsDep) -> Any:
    released = appointments.release_lapsed_appointments(
        session, now=clock.now(), window=_window(settings), user_id=user.id)
    session.commit()
    return cs.ReleaseResult(released=[cs.ReleasedRead(
        order_id=x.order_id, number=x.number, appointment_start=x.appointment_start,
        proposed_at=x.proposed_at, deadline=x.deadline) for x in released])


# --- preventive maintenance ----------------------------------------------------------------------


def visit_run(run: maintenance.MaintenanceRun) -> cs.VisitRun:
    return cs.VisitRun(
        created=[cs.GeneratedRead(
            order_id=g.order.id, number=g.order.number, contract_id=g.order.contract_id,
            contract_number=g.contract_number, contract_line_id=g.contract_line_id,
            due_date=g.visit.due, earliest=g.visit.earliest, latest=g.visit.latest)
            for g in run.created],
        already_generated=run.already_generated,
        skipped=[cs.SkippedLineRead(contract_id=x.contract_id, contract_number=x.contract_number,
                                    contract_line_id=x.contract_line_id, reason=x.reason)
                 for x in run.skipped])


@contract_ops.post("/generate-visits", response_model=cs.VisitRun, dependencies=back_office,
                   description="Roles: dispatcher, billing. Creates the preventive-maintenance "
                               "orders due up to `until` from the lines of active contracts, "
                               "each with its allowed days as a time window; never twice for "
                               "one due date; suspended contracts are skipped. Takes "
                               "Idempotency-Key.")
def generate_visits(body: cs.GenerateVisits, session: SessionDep, user: CurrentUser,
                    clock: ClockDep, idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    out = visit_run(maintenance.generate_visits(session, until=body.until, user_id=user.id,
                                                now=clock.now()))
    idem.save(out, 200)
    session.commit()
    return out


# --- contract invoicing --------------------------------------------------------------------------


def invoice_run(run: contract_invoicing.InvoicingRun) -> cs.InvoiceRun:
    return cs.InvoiceRun(
        invoices=[InvoiceRead.model_validate(x) for x in run.invoices],
        adjustments=[InvoiceRead.model_validate(x) for x in run.adjustments],
        already_invoiced=run.already_invoiced,
        skipped=[cs.SkippedRead(contract_id=x.contract_id, contract_number=x.contract_number,
                                reason=x.reason, adjustment_id=x.adjustment_id)
                 for x in run.skipped])


@contract_ops.post("/invoice", response_model=cs.InvoiceRun, dependencies=billing_only,
                   description="Roles: billing. Issues the contract invoices due up to `until` "
                               "(prepaid per period, never twice for one period) and the "
                               "pending prorated adjustments; suspended contracts are skipped, "
                               "or a 409 when named in `contract_id`. Takes Idempotency-Key.")
def invoice_contracts(body: cs.InvoiceContracts, session: SessionDep, user: CurrentUser,
                      clock: ClockDep, settings: SettingsDep, idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    out = invoice_run(contract_invoicing.invoice_contracts(
        session, until=body.until, contract_id=body.contract_id, user_id=user.id,
        now=clock.now(), config=BillingConfig.from_settings(settings)))
    idem.save(out, 200)
    session.commit()
    return out


@contract_ops.get("/{contract_id}/invoices", response_model=list[InvoiceRead],
                  dependencies=billing_only,
                  description="Roles: billing. The contract's invoices and credit notes "
                              "(periods and adjustments), oldest first.")
def contract_invoices(contract_id: int, session: SessionDep) -> Any:
    rows = session.scalars(select(Invoice).where(Invoice.contract_id == contract_id)
                           .order_by(Invoice.id))
    return [InvoiceRead.model_validate(x) for x in rows]


# --- profit and loss -----------------------------------------------------------------------------

From = Annotated[date | None, Query(alias="from", description="first day (default: the "
                                                              "contract's start)")]
To = Annotated[date | None, Query(alias="to",
                                 description="last day (default: the contract's end or today)")]


def _pnl(session: Any, settings: Any, clock: Any, contract_id: int, start: date | None,
         end: date | None) -> pnl.ContractPnl:
    tz = settings.default_timezone
    return pnl.contract_pnl(session, contract_id=contract_id, tz=tz,
                            today=clock.now().astimezone(ZoneInfo(tz)).date(),
                            cost_per_km=settings.travel_cost_per_km, start=start, end=end)


def _month(m: pnl.MonthPnl) -> cs.PnlMonthRead:
    return cs.PnlMonthRead.model_validate(m.row())


@contract_ops.get("/{contract_id}/pnl", response_model=cs.PnlRead, dependencies=billing_only,
                  description="Roles: billing. Revenue (contract invoices, extras invoiced on "
                              "its orders) against cost (parts at cost, labour minutes - "
                              "driving included - at the technician's cost rate, kilometres "
                              "driven at settings.travel_cost_per_km) by month, net of VAT.")
def contract_pnl(contract_id: int, session: SessionDep, clock: ClockDep, settings: SettingsDep,
                 start: From = None, end: To = None) -> Any:
    result = _pnl(session, settings, clock, contract_id, start, end)
    return cs.PnlRead(
        contract_id=result.contract_id, contract_number=result.contract_number,
        currency=result.currency, from_=result.start, to=result.end,
        cost_per_km=result.cost_per_km, months=[_month(m) for m in result.months],
        totals=_month(result.totals).model_copy(update={"month": "total"}))


def _file(out: pnl.FileOut, download: bool) -> Response:
    disposition = "attachment" if download else "inline"
    return Response(out.content, media_type=out.media_type, headers={
        "Content-Disposition": f'{disposition}; filename="{out.filename}"'})


@contract_ops.get("/{contract_id}/pnl/export", response_class=Response,
                  dependencies=billing_only,
                  responses={200: {"content": {"text/csv": {}, pnl.SHEET_TYPES["xlsx"]: {}}}},
                  description="Roles: billing. The profit and loss by month as CSV or XLSX.")
def export_pnl(contract_id: int, session: SessionDep, clock: ClockDep, settings: SettingsDep,
               start: From = None, end: To = None,
               fmt: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv"
               ) -> Response:
    result = _pnl(session, settings, clock, contract_id, start, end)
    return _file(pnl.export(result, fmt), download=True)


@contract_ops.get("/{contract_id}/pnl/chart", response_class=Response,
                  dependencies=billing_only,
                  responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}},
                  description="Roles: billing. Revenue vs cost by month as a PNG or SVG chart.")
def chart_pnl(contract_id: int, session: SessionDep, clock: ClockDep, settings: SettingsDep,
              start: From = None, end: To = None,
              fmt: Annotated[Literal["png", "svg"], Query(alias="format")] = "png"
              ) -> Response:
    result = _pnl(session, settings, clock, contract_id, start, end)
    return _file(pnl.chart(result, fmt), download=False)


# Registered before orders' routers: /orders/sla must not reach GET /orders/{order_id}.
routers = (sla, appointment, contract_ops)

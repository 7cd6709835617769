"""HTTP routes of closing, invoices, credit notes, warranty claims, printouts, exports.

Roles: billing (and admin) closes orders and issues, reads and corrects invoices;
the dispatcher may also print orders and export/import them; a technician may
print the orders assigned to him (to have them signed on site). Invoices have
no update or delete route: corrections are credit notes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response, UploadFile

from dispatch.core.idempotency import request_fingerprint
from dispatch.core.web import (
    ClockDep,
    CurrentUser,
    Idempotency,
    IdempotencyDep,
    IfMatch,
    SessionDep,
    SettingsDep,
    require_role,
)
from orders.billing import exports, service
from orders.billing import schemas as s
from orders.billing.service import BillingConfig, Rendered
from orders.lifecycle import OrderStatus
from orders.models import Priority

billing_only = [Depends(require_role("billing"))]
back_office = [Depends(require_role("dispatcher", "billing"))]
printers = [Depends(require_role("dispatcher", "billing", "technician"))]

Limit = Annotated[int, Query(ge=1, le=service.MAX_PAGE, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
Lang = Annotated[str | None, Query(description="pt_BR, da, it or en; default: the "
                                               "recipient's language")]
SheetFormat = Annotated[Literal["csv", "xlsx"], Query(alias="format")]

closing = APIRouter(prefix="/orders", tags=["closing and printouts"])
invoices = APIRouter(prefix="/invoices", tags=["invoices"])
claims = APIRouter(prefix="/warranty-claims", tags=["invoices"])
data = APIRouter(tags=["exports and imports"])

_DOCUMENT = {200: {"content": {"application/pdf": {}, "text/html": {}},
                   "description": "the document"}}
_SHEET = {200: {"content": {"text/csv": {}, exports.FORMATS["xlsx"]: {}},
                "description": "the file"}}


def _config(settings: Any) -> BillingConfig:
    return BillingConfig.from_settings(settings)


def _file(rendered: Rendered, *, download: bool = False) -> Response:
    disposition = "attachment" if download else "inline"
    return Response(rendered.content, media_type=rendered.media_type, headers={
        "Content-Disposition": f'{disposition}; filename="{rendered.filename}"'})


def _created(session: Any, idem: Any, out: Any) -> Any:
    idem.save(out, 201)
    session.commit()
    return out


# --- closing and the order printout --------------------------------------------------------


@closing.post("/{order_id}/close", status_code=201, response_model=s.InvoiceRead,
              dependencies=billing_only,
              description="Roles: billing. Closes a completed order: the order-level discount "
                          "first, then payments that add up exactly to the amount due (else "
                          "422, nothing changes); issues the invoice. Needs If-Match with the "
                          "order's ETag. Takes Idempotency-Key.")
def close_order(order_id: int, body: s.CloseOrder, version: IfMatch, session: SessionDep,
                user: CurrentUser, clock: ClockDep, settings: SettingsDep,
                idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    invoice = service.close_order(
        session, order_id=order_id, expected_version=version, payments=body.payments,
        discount_percent=body.discount_percent, discount_amount=body.discount_amount,
        user_id=user.id, now=clock.now(), config=_config(settings))
    return _created(session, idem, s.InvoiceRead.model_validate(invoice))


@closing.get("/{order_id}/printout", response_class=Response, responses=_DOCUMENT,
             dependencies=printers,
             description="Roles: dispatcher, billing, technician (his own orders). The order "
                         "with signature fields for customer and technician, as PDF or HTML.")
def order_printout(order_id: int, session: SessionDep, user: CurrentUser, clock: ClockDep,
                   settings: SettingsDep, lang: Lang = None,
                   fmt: Annotated[Literal["pdf", "html"], Query(alias="format")] = "pdf"
                   ) -> Response:
    return _file(service.order_printout(session, order_id=order_id, fmt=fmt, lang=lang,
                                        now=clock.now(), viewer=user, config=_config(settings)))


# --- invoices ------------------------------------------------------------------------------


@invoices.get("", response_model=s.Page[s.InvoiceRead], dependencies=billing_only,
              description="Roles: billing. Newest first; issued_to is exclusive.")
def list_invoices(session: SessionDep, kind: Literal["invoice", "credit_note"] | None = None,
                  customer_id: int | None = None, supplier_id: int | None = None,
                  order_id: int | None = None, issued_from: datetime | None = None,
                  issued_to: datetime | None = None, cursor: Cursor = None,
                  limit: Limit = service.DEFAULT_PAGE) -> Any:
    rows, nxt = service.list_invoices(
        session, kind=kind, customer_id=customer_id, supplier_id=supplier_id,
        order_id=order_id, issued_from=issued_from, issued_to=issued_to, cursor=cursor,
        limit=limit)
    return {"items": [s.InvoiceRead.model_validate(r) for r in rows], "next_cursor": nxt}


@invoices.get("/{invoice_id}", response_model=s.InvoiceRead, dependencies=billing_only,
              description="Roles: billing.")
def get_invoice(invoice_id: int, session: SessionDep) -> Any:
    return s.InvoiceRead.model_validate(service.get_invoice(session, invoice_id=invoice_id))


@invoices.get("/{invoice_id}/pdf", response_class=Response, responses=_DOCUMENT,
              dependencies=billing_only,
              description="Roles: billing. The invoice or credit note as PDF.")
def invoice_pdf(invoice_id: int, session: SessionDep, lang: Lang = None) -> Response:
    return _file(service.invoice_printout(session, invoice_id=invoice_id, fmt="pdf", lang=lang))


@invoices.get("/{invoice_id}/html", response_class=Response, responses=_DOCUMENT,
              dependencies=billing_only,
              description="Roles: billing. The invoice or credit note as an HTML page.")
def invoice_html(invoice_id: int, session: SessionDep, lang: Lang = None) -> Response:
    return _file(service.invoice_printout(session, invoice_id=invoice_id, fmt="html",
                                          lang=lang))


@invoices.post("/{invoice_id}/credit-notes", status_code=201, response_model=s.InvoiceRead,
               dependencies=billing_only,
               description="Roles: billing. Credits whole lines of an invoice (all lines not "
                           "credited yet when line_ids is omitted). Takes Idempotency-Key.")
def create_credit_note(invoice_id: int, body: s.CreditNoteCreate, session: SessionDep,
                       user: CurrentUser, clock: ClockDep, settings: SettingsDep,
                       idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    note = service.credit_invoice(session, invoice_id=invoice_id, line_ids=body.line_ids,
                                  reason=body.reason, user_id=user.id, now=clock.now(),
                                  config=_config(settings))
    return _created(session, idem, s.InvoiceRead.model_validate(note))


@invoices.post("/{invoice_id}/reissue", status_code=201, response_model=s.ReissueRead,
               dependencies=billing_only,
               description="Roles: billing. Re-invoices to another customer (tax id): a full "
                           "credit note plus a new invoice. Takes Idempotency-Key.")
def reissue_invoice(invoice_id: int, body: s.ReissueCreate, session: SessionDep,
                    user: CurrentUser, clock: ClockDep, settings: SettingsDep,
                    idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    credit, new = service.reissue_invoice(
        session, invoice_id=invoice_id, customer_id=body.customer_id, reason=body.reason,
        user_id=user.id, now=clock.now(), config=_config(settings))
    out = s.ReissueRead(credit_note=s.InvoiceRead.model_validate(credit),
                        invoice=s.InvoiceRead.model_validate(new))
    return _created(session, idem, out)


@claims.post("", status_code=201, response_model=s.InvoiceRead, dependencies=billing_only,
             description="Roles: billing. Invoices the unclaimed warranty lines of closed "
                         "orders to their supplier. Takes Idempotency-Key.")
def create_warranty_claim(body: s.WarrantyClaimCreate, session: SessionDep, user: CurrentUser,
                          clock: ClockDep, settings: SettingsDep,
                          idem: IdempotencyDep) -> Any:
    if r := idem.replay():
        return r
    invoice = service.claim_warranty(session, supplier_id=body.supplier_id,
                                     order_ids=body.order_ids, user_id=user.id,
                                     now=clock.now(), config=_config(settings))
    return _created(session, idem, s.InvoiceRead.model_validate(invoice))


# --- exports and imports -------------------------------------------------------------------


@data.get("/exports/orders", response_class=Response, responses=_SHEET,
          dependencies=back_office,
          description="Roles: dispatcher, billing. Orders as CSV or XLSX, filtered like the "
                      "order listing; times in UTC.")
def export_orders(session: SessionDep, user: CurrentUser, fmt: SheetFormat = "csv",
                  status: Annotated[list[OrderStatus], Query()] = [],  # noqa: B006
                  priority: Annotated[list[Priority], Query()] = [],  # noqa: B006
                  customer_id: int | None = None, technician_id: int | None = None,
                  created_from: datetime | None = None, created_to: datetime | None = None,
                  q: str | None = None) -> Response:
    return _file(exports.export_orders(
        session, fmt=fmt, viewer=user, statuses=status, priorities=priority,
        customer_id=customer_id, technician_id=technician_id, created_from=created_from,
        created_to=created_to, q=q), download=True)


@data.get("/exports/invoices", response_class=Response, responses=_SHEET,
          dependencies=billing_only,
          description="Roles: billing. Invoices and credit notes as CSV or XLSX.")
def export_invoices(session: SessionDep, fmt: SheetFormat = "csv",
                    kind: Literal["invoice", "credit_note"] | None = None,
                    customer_id: int | None = None, supplier_id: int | None = None,
                    issued_from: datetime | None = None,
                    issued_to: datetime | None = None) -> Response:
    return _file(exports.export_invoices(
        session, fmt=fmt, kind=kind, customer_id=customer_id, supplier_id=supplier_id,
        issued_from=issued_from, issued_to=issued_to), download=True)


def _upload_idempotency(
    request: Request, file: UploadFile, session: SessionDep, user: CurrentUser, clock: ClockDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Idempotency:
    """Idempotency-Key for an upload: the fingerprint is the file's content, not the
    multipart envelope (whose boundary changes on every retry, and whose stream the
    form parser has already consumed)."""
    content = file.file.read(exports.MAX_IMPORT_BYTES + 1)
    file.file.seek(0)
    fingerprint = request_fingerprint(request.method, request.url.path, content)
    return Idempotency(session, user, idempotency_key, request.method, request.url.path,
                       fingerprint, clock.now())


UploadIdempotency = Annotated[Idempotency, Depends(_upload_idempotency)]


@data.post("/imports/orders", status_code=201, response_model=s.ImportResult,
           dependencies=back_office,
           description="Roles: dispatcher, billing. A CSV upload (field `file`) with the "
                       "columns " + ", ".join(exports.IMPORT_COLUMNS) + "; one order per row. "
                       "All or nothing: a bad row is a 422 listing each bad line; nothing of "
                       "the file is imported. Takes Idempotency-Key.")
def import_orders(file: UploadFile, session: SessionDep, user: CurrentUser, clock: ClockDep,
                  idem: UploadIdempotency) -> Any:
    if r := idem.replay():
        return r
    content = file.file.read(exports.MAX_IMPORT_BYTES + 1)
    created = exports.import_orders(session, content=content, user_id=user.id, now=clock.now())
    out = s.ImportResult(imported=len(created), order_ids=[o.id for o in created],
                         numbers=[o.number for o in created])
    return _created(session, idem, out)


routers = (closing, invoices, claims, data)

"""The printable route list: the same ``Route`` as the JSON, written for the technician.

Words come from ``dispatch.routelists.texts`` in the technician's language,
numbers, dates and times from Babel (``dispatch.core.i18n``) in his time zone;
the page is drawn by the printouts' renderer (``orders.billing.printouts``:
fpdf2 with the DejaVu fonts), so route lists and order printouts look alike.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from dispatch.core import i18n
from dispatch.routelists.schemas import Route, Stop
from dispatch.routelists.texts import text
from orders.billing.printouts import Block, Column, Document, Table, render_pdf


class _Words:
    def __init__(self, lang: str, tz: str) -> None:
        self.lang, self.tz = lang, tz

    def t(self, key: str, **values: object) -> str:
        return text(self.lang, key, **values)

    def word(self, prefix: str, value: str) -> str:
        try:
            return self.t(f"{prefix}.{value}")
        except KeyError:
            return value

    def clock(self, value: datetime) -> str:
        return i18n.clock_time(value, self.lang, self.tz)

    def span(self, start: datetime, end: datetime) -> str:
        return f"{self.clock(start)}–{self.clock(end)}"

    def num(self, value: Decimal | int) -> str:
        return i18n.number(value, self.lang)

    def travel(self, seconds: int, meters: int) -> str:
        km = (Decimal(meters) / 1000).quantize(Decimal("0.1"))
        return self.t("travel_figure", minutes=self.num(round(seconds / 60)), km=self.num(km))


def _stop_block(stop: Stop, w: _Words) -> Block:
    heading = (f"{stop.sequence}. {w.clock(stop.eta)} · {stop.customer.name} · "
               f"{w.t('order')} {stop.order.number}")
    lines = [f"{w.t('service')}: {w.span(stop.planned_start, stop.planned_end)}"
             f" · {w.t('priority')}: {w.word('priority', stop.order.priority)}"]
    if stop.status != "planned":
        lines.append(f"{w.t('status')}: {w.word('status', stop.status)}")
    lines.extend(f"{w.t('time_window')}: {w.span(win.start, win.end)}"
                 for win in stop.time_windows)
    if stop.appointment is not None:
        state = w.t("confirmed") if stop.appointment.confirmed else w.t("unconfirmed")
        lines.append(f"{w.t('appointment')}: {w.clock(stop.appointment.start)} ({state})")
    if stop.address is not None:
        lines.append(f"{w.t('address')}: {stop.address.name} – {', '.join(stop.address.lines)}")
    if stop.contact is not None:
        who = ", ".join(p for p in (stop.contact.name, stop.contact.phone) if p)
        lines.append(f"{w.t('contact')}: {who}")
    if stop.customer.phone:
        lines.append(f"{w.t('phone')}: {stop.customer.phone}")
    for item in stop.service_items:
        serial = f" ({w.t('serial')} {item.serial_number})" if item.serial_number else ""
        lines.append(f"{w.t('equipment')}: {item.model}{serial}")
    if stop.defect:
        lines.append(f"{w.t('defect')}: {stop.defect}")
    for part in stop.parts:
        extra = f" ({w.t('warranty')})" if part.warranty else ""
        sku = f" [{part.sku}]" if part.sku else ""
        lines.append(f"{w.t('parts')}: {w.num(part.quantity)} × {part.description}{sku}{extra}")
    lines.append(f"{w.t('travel')}: {w.travel(stop.travel_seconds, stop.travel_meters)}")
    return Block(heading, tuple(lines))


def _parts_table(route: Route, w: _Words) -> Table | None:
    quantity: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    stops: dict[tuple[str, str], list[str]] = defaultdict(list)
    for stop in route.stops:
        for part in stop.parts:
            key = (part.description, part.sku)
            quantity[key] += part.quantity
            if str(stop.sequence) not in stops[key]:
                stops[key].append(str(stop.sequence))
    if not quantity:
        return None
    return Table(
        w.t("parts_all"),
        (Column(w.t("part"), weight=5), Column("SKU", weight=2),
         Column(w.t("quantity"), "right", 1), Column(w.t("stop_numbers"), weight=2)),
        tuple((desc, sku, w.num(qty), ", ".join(stops[(desc, sku)]))
              for (desc, sku), qty in quantity.items()),
    )


def route_document(route: Route, *, printed_at: datetime, lang: str | None = None) -> Document:
    """``route`` as the technician reads it (``lang`` defaults to his language)."""
    lang = i18n.normalize_locale(lang or route.technician.locale)
    w = _Words(lang, route.timezone)
    meta = (
        (w.t("technician"), route.technician.name),
        (w.t("date"), i18n.day(route.date, lang, "full")),
        (w.t("stops"), w.num(len(route.stops))),
        (w.t("travel_total"), w.travel(route.travel_seconds, route.travel_meters)),
        (w.t("printed_at"), i18n.moment(printed_at, lang, route.timezone, fmt="short")),
    )
    table = _parts_table(route, w)
    return Document(
        kind="route",
        lang=lang,
        title=w.t("route_title"),
        number=i18n.day(route.date, lang, "short"),
        number_label="",
        meta=meta,
        sections=tuple(_stop_block(st, w) for st in route.stops),
        tables=(table,) if table else (),
        notes=() if route.stops else (w.t("no_stops"),),
        page_label=w.t("page", page="{page}", pages="{pages}"),
    )


def route_pdf(route: Route, *, printed_at: datetime, lang: str | None = None) -> bytes:
    return render_pdf(route_document(route, printed_at=printed_at, lang=lang))

"""Printouts of an order (signed by customer and technician) and of an invoice.

Three steps, each testable alone:

1. ``OrderSheet`` / ``InvoiceSheet``: plain, raw values (Decimal, datetime)
   gathered from the database by ``orders.billing.service``.
2. ``order_document`` / ``invoice_document``: words and numbers written for one
   reader - labels from ``i18n_texts``, money, numbers and dates formatted by
   Babel (``dispatch.core.i18n``), times shown in the site's zone. The result,
   ``Document``, holds only strings.
3. ``render_html`` (Jinja2 templates next to this module) and ``render_pdf``
   (fpdf2 with the DejaVu TrueType fonts matplotlib ships, so that "€", "ø",
   "ç" and the no-break spaces Babel puts into amounts survive) draw the same
   ``Document``: the HTML page and the PDF always say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from dispatch.core import i18n
from orders.billing.i18n_texts import text

TEMPLATES = Path(__file__).parent / "templates"

# ---------------------------------------------------------------------------
# 1. Raw input


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    tax_id: str = ""
    address: tuple[str, ...] = ()
    contact: str = ""
    # ISO 3166 alpha-2; names the tax id ("CNPJ", "CVR-nr.") whatever the reader's language.
    country: str = ""


@dataclass(frozen=True, slots=True)
class SheetLine:
    """One priced line; ``amount`` is quantity x unit price less the line discount, as
    charged by this document (0 for a customer's warranty line)."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    vat_rate: Decimal
    amount: Decimal
    warranty: bool = False
    technician: str = ""


@dataclass(frozen=True, slots=True)
class SheetTime:
    technician: str
    activity: str
    started_at: datetime
    ended_at: datetime
    minutes: int
    amount: Decimal
    billable: bool = True


@dataclass(frozen=True, slots=True)
class SheetPayment:
    method: str
    amount: Decimal
    due_date: date | None = None


@dataclass(frozen=True, slots=True)
class VatShare:
    """VAT at one rate: ``vat`` is charged on ``base``."""

    rate: Decimal
    base: Decimal
    vat: Decimal


@dataclass(frozen=True, slots=True)
class SheetTotals:
    """``subtotal`` is the net of all lines before the order-level discount;
    ``net = subtotal - discount``; ``total = net + vat``; ``vat_groups`` splits the VAT
    by rate (printed when there is more than one rate)."""

    subtotal: Decimal
    discount: Decimal
    net: Decimal
    vat: Decimal
    total: Decimal
    vat_groups: tuple[VatShare, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderSheet:
    number: str
    status: str
    priority: str
    opened_at: datetime
    customer: Party
    site: Party
    currency: str
    totals: SheetTotals
    lines: tuple[SheetLine, ...] = ()
    time_entries: tuple[SheetTime, ...] = ()
    service_items: tuple[str, ...] = ()
    reported_defect: str = ""
    responsible: str = ""
    category: str = ""
    completed_at: datetime | None = None
    loaner: str = ""
    time_waived: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InvoiceSheet:
    kind: str  # "invoice" | "credit_note"
    number: str
    issued_at: datetime
    bill_to: Party
    currency: str
    totals: SheetTotals
    lines: tuple[SheetLine, ...] = ()
    payments: tuple[SheetPayment, ...] = ()
    issuer: Party | None = None
    order_numbers: tuple[str, ...] = ()
    credited_number: str = ""
    warranty_claim: bool = False
    time_waived: bool = False
    note: str = ""


# ---------------------------------------------------------------------------
# 2. The written document (strings only)


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    align: str = "left"  # "left" | "right"
    weight: float = 1.0  # relative width


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Block:
    heading: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TotalRow:
    label: str
    value: str
    strong: bool = False


@dataclass(frozen=True, slots=True)
class Signature:
    label: str
    hint: str


@dataclass(frozen=True, slots=True)
class Document:
    kind: str  # "order" | "invoice" | "credit_note"
    lang: str
    title: str
    number: str
    number_label: str = "No."
    meta: tuple[tuple[str, str], ...] = ()
    parties: tuple[Block, ...] = ()
    sections: tuple[Block, ...] = ()
    tables: tuple[Table, ...] = ()
    totals: tuple[TotalRow, ...] = ()
    notes: tuple[str, ...] = ()
    statement: str = ""
    signatures: tuple[Signature, ...] = ()
    page_label: str = field(default="")  # "Page {page} of {pages}" in the reader's language

    @property
    def html_lang(self) -> str:
        return self.lang.replace("_", "-")


@dataclass(frozen=True, slots=True)
class _Fmt:
    lang: str
    currency: str
    tz: str

    def t(self, key: str, **values: object) -> str:
        return text(self.lang, key, **values)

    def money(self, amount: Decimal) -> str:
        return i18n.money(amount, self.currency, self.lang)

    def num(self, value: Decimal | int) -> str:
        return i18n.number(value, self.lang)

    def day(self, value: date) -> str:
        return i18n.day(value, self.lang)

    def moment(self, value: datetime) -> str:
        return i18n.moment(value, self.lang, self.tz, fmt="short")

    def clock(self, value: datetime) -> str:
        return i18n.clock_time(value, self.lang, self.tz)

    def word(self, prefix: str, value: str) -> str:
        """A localized enum value; a value the catalogue does not know is shown as is."""
        try:
            return self.t(f"{prefix}.{value}")
        except KeyError:
            return value


def tax_id_label(country: str, tax_id: str, lang: str) -> str:
    """The name of a tax id: the issuing country's own (a CNPJ is a CNPJ in any language),
    else the reader's word for it."""
    digits = "".join(ch for ch in tax_id if ch.isalnum())
    if country == "BR":
        return "CPF" if len(digits) == 11 else "CNPJ"
    if country == "DK":
        return "CVR-nr."
    if country == "IT":
        return "C.F." if len(digits) == 16 else "P. IVA"
    return text(lang, "tax_id")


def _party_block(heading: str, party: Party, f: _Fmt) -> Block:
    lines = [party.name]
    if party.tax_id:
        lines.append(f"{tax_id_label(party.country, party.tax_id, f.lang)}: {party.tax_id}")
    lines.extend(a for a in party.address if a)
    if party.contact:
        lines.append(party.contact)
    return Block(heading, tuple(lines))


def _totals(totals: SheetTotals, f: _Fmt, *, grand_label: str) -> tuple[TotalRow, ...]:
    rows = []
    if totals.discount:
        rows.append(TotalRow(f.t("subtotal"), f.money(totals.subtotal)))
        rows.append(TotalRow(f.t("discount"), f.money(-totals.discount)))
    rows.append(TotalRow(f.t("net"), f.money(totals.net)))
    if len(totals.vat_groups) > 1:
        rows.extend(
            TotalRow(f"{f.t('vat')} {f.num(g.rate)} % ({f.money(g.base)})", f.money(g.vat))
            for g in totals.vat_groups
        )
    else:
        rows.append(TotalRow(f.t("vat"), f.money(totals.vat)))
    rows.append(TotalRow(grand_label, f.money(totals.total), strong=True))
    return tuple(rows)


def _line_description(line: SheetLine, f: _Fmt) -> str:
    return f"{line.description} ({f.t('warranty')})" if line.warranty else line.description


def order_document(sheet: OrderSheet, *, lang: str, tz: str, printed_at: datetime) -> Document:
    """The order as the customer signs it on site: what was done, by whom, for how much."""
    f = _Fmt(lang, sheet.currency, tz)
    meta = [
        (f.t("opened_at"), f.moment(sheet.opened_at)),
        (f.t("status"), f.word("status", sheet.status)),
        (f.t("priority"), f.word("priority", sheet.priority)),
    ]
    if sheet.category:
        meta.append((f.t("category"), sheet.category))
    if sheet.completed_at:
        meta.append((f.t("completed_at"), f.moment(sheet.completed_at)))
    if sheet.responsible:
        meta.append((f.t("responsible"), sheet.responsible))
    meta.append((f.t("printed_at"), f.moment(printed_at)))

    sections = []
    if sheet.service_items:
        sections.append(Block(f.t("service_items"), sheet.service_items))
    if sheet.reported_defect:
        sections.append(Block(f.t("reported_defect"), (sheet.reported_defect,)))
    if sheet.loaner:
        sections.append(Block(f.t("loaner"), (sheet.loaner,)))

    tables = []
    if sheet.lines:
        tables.append(Table(
            f.t("lines"),
            (Column(f.t("description"), weight=3.9), Column(f.t("technician"), weight=2.2),
             Column(f.t("quantity"), "right", 1.1), Column(f.t("unit_price"), "right", 2),
             Column(f.t("discount_pct"), "right", 1.2), Column(f.t("vat_pct"), "right", 1.6),
             Column(f.t("amount"), "right", 2)),
            tuple(
                (_line_description(ln, f), ln.technician, f.num(ln.quantity),
                 f.money(ln.unit_price), f.num(ln.discount_percent), f.num(ln.vat_rate),
                 f.money(ln.amount))
                for ln in sheet.lines
            ),
        ))
    if sheet.time_entries:
        tables.append(Table(
            f.t("time_entries"),
            (Column(f.t("technician"), weight=2.6), Column(f.t("activity"), weight=2.2),
             Column(f.t("start"), weight=2.6), Column(f.t("end"), "right", 1.2),
             Column(f.t("minutes"), "right", 1.3), Column(f.t("amount"), "right", 2.1)),
            tuple(
                (te.technician, f.word("activity", te.activity), f.moment(te.started_at),
                 f.clock(te.ended_at), f.num(te.minutes),
                 f.money(te.amount) if te.billable else f.t("not_billable"))
                for te in sheet.time_entries
            ),
        ))

    notes = list(sheet.notes)
    if sheet.time_waived:
        notes.append(f.t("time_waived"))
    if any(ln.warranty for ln in sheet.lines):
        notes.append(f.t("warranty_free"))

    hint = f.t("name_and_date")
    return Document(
        kind="order",
        lang=i18n.normalize_locale(lang),
        title=f.t("order_title"),
        number=sheet.number,
        number_label=f.t("number"),
        meta=tuple(meta),
        parties=(_party_block(f.t("customer"), sheet.customer, f),
                 _party_block(f.t("site"), sheet.site, f)),
        sections=tuple(sections),
        tables=tuple(tables),
        totals=_totals(sheet.totals, f, grand_label=f.t("total")),
        notes=tuple(notes),
        statement=f.t("acknowledgement"),
        signatures=(Signature(f.t("signature_customer"), hint),
                    Signature(f.t("signature_technician"), hint)),
        page_label=f.t("page", page="{page}", pages="{pages}"),
    )


def invoice_document(sheet: InvoiceSheet, *, lang: str, tz: str) -> Document:
    """An issued invoice or credit note as its recipient receives it."""
    f = _Fmt(lang, sheet.currency, tz)
    if sheet.kind == "credit_note":
        title = f.t("credit_note_title")
    elif sheet.warranty_claim:
        title = f"{f.t('invoice_title')} – {f.t('warranty_claim_title')}"
    else:
        title = f.t("invoice_title")
    meta = [(f.t("issued_at"), f.moment(sheet.issued_at))]
    if sheet.order_numbers:
        meta.append((f.t("order_ref"), ", ".join(sheet.order_numbers)))
    if sheet.credited_number:
        meta.append((f.t("note"), f.t("credits_invoice", number=sheet.credited_number)))

    parties = []
    if sheet.issuer is not None:
        parties.append(_party_block(f.t("issuer"), sheet.issuer, f))
    bill_to_heading = f.t("supplier") if sheet.warranty_claim else f.t("bill_to")
    parties.append(_party_block(bill_to_heading, sheet.bill_to, f))

    tables = [Table(
        f.t("lines"),
        (Column(f.t("description"), weight=5.8), Column(f.t("quantity"), "right", 1.2),
         Column(f.t("unit_price"), "right", 2.2), Column(f.t("discount_pct"), "right", 1.3),
         Column(f.t("vat_pct"), "right", 1.6), Column(f.t("amount"), "right", 2.2)),
        tuple(
            (_line_description(ln, f), f.num(ln.quantity), f.money(ln.unit_price),
             f.num(ln.discount_percent), f.num(ln.vat_rate), f.money(ln.amount))
            for ln in sheet.lines
        ),
    )]
    if sheet.payments:
        tables.append(Table(
            f.t("payments"),
            (Column(f.t("method"), weight=3), Column(f.t("due_date"), weight=2),
             Column(f.t("amount"), "right", 2)),
            tuple(
                (f.word("method", p.method), f.day(p.due_date) if p.due_date else "",
                 f.money(p.amount))
                for p in sheet.payments
            ),
        ))

    notes = []
    if sheet.warranty_claim and sheet.order_numbers:
        notes.append(f.t("claim_orders", numbers=", ".join(sheet.order_numbers)))
    if sheet.time_waived:
        notes.append(f.t("time_waived"))
    if sheet.note:
        notes.append(sheet.note)

    grand = f.t("total") if sheet.kind == "credit_note" else f.t("amount_due")
    return Document(
        kind=sheet.kind,
        lang=i18n.normalize_locale(lang),
        title=title,
        number=sheet.number,
        number_label=f.t("number"),
        meta=tuple(meta),
        parties=tuple(parties),
        tables=tuple(tables),
        totals=_totals(sheet.totals, f, grand_label=grand),
        notes=tuple(notes),
        page_label=f.t("page", page="{page}", pages="{pages}"),
    )


# ---------------------------------------------------------------------------
# 3. HTML and PDF


@lru_cache
def _jinja() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(doc: Document) -> str:
    template = "order.html" if doc.kind == "order" else "invoice.html"
    return _jinja().get_template(template).render(doc=doc)


@lru_cache
def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


FONT = "DejaVu"


class _Pdf(FPDF):
    """A4 page with the document's name and "page x of y" at the foot of each page."""

    def __init__(self, doc: Document) -> None:
        super().__init__(format="A4", unit="mm")
        self.doc = doc
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.add_font(FONT, "", str(_font_dir() / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(_font_dir() / "DejaVuSans-Bold.ttf"))
        self.set_title(f"{doc.title} {doc.number}")
        self.set_lang(doc.html_lang)
        self.set_creator("Tecnico")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(110)
        # "{nb}" is fpdf2's alias, replaced by the page count when the file is written.
        label = self.doc.page_label.format(page=self.page_no(), pages="{nb}")
        self.cell(0, 5, f"{self.doc.title} {self.doc.number} · {label}", align="R")


def render_pdf(doc: Document) -> bytes:
    pdf = _Pdf(doc)
    pdf.add_page()
    width = pdf.epw

    # Title and number
    pdf.set_font(FONT, "B", 16)
    pdf.cell(width * 0.65, 9, doc.title)
    pdf.cell(width * 0.35, 9, f"{doc.number_label} {doc.number}", align="R",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)

    # Meta: label/value pairs, two per row
    pdf.set_font(FONT, "B", 9)
    half = width / 2
    label_w = min(half / 2, max((pdf.get_string_width(lb) for lb, _ in doc.meta), default=0) + 3)
    for i, (label, value) in enumerate(doc.meta):
        pdf.set_font(FONT, "B", 9)
        pdf.cell(label_w, 5, label)
        pdf.set_font(FONT, size=9)
        last = i % 2 == 1 or i == len(doc.meta) - 1
        pdf.cell(half - label_w, 5, value,
                 new_x=XPos.LMARGIN if last else XPos.RIGHT,
                 new_y=YPos.NEXT if last else YPos.TOP)
    pdf.ln(3)

    # Parties side by side
    if doc.parties:
        top = pdf.get_y()
        col = width / len(doc.parties)
        bottom = top
        for i, block in enumerate(doc.parties):
            x = pdf.l_margin + i * col
            pdf.set_xy(x, top)
            pdf.set_font(FONT, "B", 9)
            pdf.cell(col - 4, 5, block.heading, new_x=XPos.LEFT, new_y=YPos.NEXT)
            pdf.set_font(FONT, size=9)
            for line in block.lines:
                pdf.multi_cell(col - 4, 4.5, line, align="L", new_x=XPos.LEFT,
                               new_y=YPos.NEXT)
            bottom = max(bottom, pdf.get_y())
        pdf.set_xy(pdf.l_margin, bottom + 3)

    for block in doc.sections:
        pdf.set_font(FONT, "B", 9)
        pdf.cell(0, 5, block.heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT, size=9)
        for line in block.lines:
            pdf.multi_cell(0, 4.5, line, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)

    for table in doc.tables:
        pdf.set_font(FONT, "B", 10)
        pdf.cell(0, 6, table.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT, size=8)
        with pdf.table(
            col_widths=tuple(c.weight for c in table.columns),
            text_align=tuple(c.align.upper() for c in table.columns),
            headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
            line_height=4.5,
            padding=1,
            width=width,
        ) as grid:
            head = grid.row()
            for column in table.columns:
                head.cell(column.label)
            for values in table.rows:
                row = grid.row()
                for value in values:
                    row.cell(value)
        pdf.ln(3)

    # Totals, right-aligned
    label_w, value_w = 45.0, 35.0
    for total in doc.totals:
        pdf.set_font(FONT, "B" if total.strong else "", 10 if total.strong else 9)
        pdf.set_x(pdf.l_margin + width - label_w - value_w)
        pdf.cell(label_w, 6 if total.strong else 5, total.label, border="T" if total.strong else 0)
        pdf.cell(value_w, 6 if total.strong else 5, total.value, align="R",
                 border="T" if total.strong else 0, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)

    pdf.set_font(FONT, size=9)
    for note in doc.notes:
        pdf.multi_cell(0, 4.5, note, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if doc.statement:
        pdf.ln(2)
        pdf.multi_cell(0, 4.5, doc.statement, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    if doc.signatures:
        # Keep the signature boxes together on one page.
        if pdf.get_y() + 34 > pdf.h - pdf.b_margin:
            pdf.add_page()
        pdf.ln(14)
        top = pdf.get_y()
        col = width / len(doc.signatures)
        for i, sig in enumerate(doc.signatures):
            x = pdf.l_margin + i * col
            pdf.line(x, top, x + col - 10, top)
            pdf.set_xy(x, top + 1)
            pdf.set_font(FONT, "B", 9)
            pdf.cell(col - 10, 5, sig.label, new_x=XPos.LEFT, new_y=YPos.NEXT)
            pdf.ln(8)
            y = pdf.get_y()
            pdf.line(x, y, x + col - 10, y)
            pdf.set_xy(x, y + 1)
            pdf.set_font(FONT, size=8)
            pdf.cell(col - 10, 4, sig.hint)
    return bytes(pdf.output())

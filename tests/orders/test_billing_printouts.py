"""Printouts: the same document in four languages, as HTML and as PDF (text read back)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from orders.billing.i18n_texts import CATALOGUE, EN, text
from orders.billing.printouts import (
    InvoiceSheet,
    OrderSheet,
    Party,
    SheetLine,
    SheetPayment,
    SheetTime,
    SheetTotals,
    VatShare,
    invoice_document,
    order_document,
    render_html,
    render_pdf,
)
from tests.orders.billing_world import pdf_text, squash

# (language, currency, 1234.56 as Babel writes it, 2026-03-02 15:30 UTC in São Paulo, 2026-04-01)
LANGUAGES = [
    ("pt_BR", "BRL", "R$\xa01.234,56", "02/03/2026 12:30", "1 de abr. de 2026"),
    ("da", "DKK", "1.234,56\xa0kr.", "02.03.2026 12.30", "1. apr. 2026"),
    ("it", "EUR", "1.234,56\xa0€", "02/03/26, 12:30", "1 apr 2026"),
    ("en", "USD", "$1,234.56", "3/2/26, 12:30\u202fPM", "Apr 1, 2026"),
]
TZ = "America/Sao_Paulo"
ISSUED = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)


# Hand-computed: 2 x 500.00 = 1000.00 at 10 %; time 97 min = 234.56 at 0 %;
# subtotal 1234.56, no order discount, VAT 100.00, total 1334.56.
LINE = SheetLine("Compressor Ø12 – peça", D("2"), D("500.00"), D("0"), D("10"), D("1000.00"),
                 technician="João Ørsted")
WARRANTY_LINE = SheetLine("Thermostat", D("1"), D("80.00"), D("0"), D("10"), D("0.00"),
                          warranty=True, technician="João Ørsted")
TIME = SheetTime("João Ørsted", "on_site", datetime(2026, 3, 2, 13, 0, tzinfo=UTC),
                 datetime(2026, 3, 2, 14, 37, tzinfo=UTC), 97, D("234.56"))
TOTALS = SheetTotals(D("1234.56"), D("0.00"), D("1234.56"), D("100.00"), D("1334.56"))
CUSTOMER = Party("Padaria Pão & Cia <Ltda>", "11.222.333/0001-81",
                 ("Av. Paulista 1000", "São Paulo"), country="BR")


def order_sheet(currency: str, **overrides) -> OrderSheet:
    fields = dict(
        number="2026-000123", status="completed", priority="high",
        opened_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC), customer=CUSTOMER,
        site=Party("Loja Centro", address=("Rua Augusta 10",)), currency=currency,
        totals=TOTALS, lines=(LINE, WARRANTY_LINE), time_entries=(TIME,),
        service_items=("Freezer FX-200 · SN00001234",), reported_defect="Does not cool",
    ) | overrides
    return OrderSheet(**fields)


def invoice_sheet(currency: str, **overrides) -> InvoiceSheet:
    fields = dict(
        kind="invoice", number="INV-000007", issued_at=ISSUED, bill_to=CUSTOMER,
        currency=currency, totals=TOTALS, lines=(LINE,),
        payments=(SheetPayment("pix", D("1000.00")),
                  SheetPayment("on_account", D("334.56"), date(2026, 4, 1))),
        order_numbers=("2026-000123",),
    ) | overrides
    return InvoiceSheet(**fields)


def test_every_language_has_every_printout_word():
    for lang, words in CATALOGUE.items():
        assert set(words) == set(EN), lang
        assert all(w.strip() for w in words.values()), lang


def test_unknown_words_are_an_error_and_language_spellings_are_normalised():
    assert text("pt-BR", "invoice_title") == "Fatura"
    assert text("da_DK", "total") == "I alt"
    with pytest.raises(KeyError):
        text("en", "no-such-word")


@pytest.mark.parametrize(("lang", "currency", "amount", "moment", "_day"), LANGUAGES)
def test_the_order_printout_pdf_speaks_the_customers_language(lang, currency, amount, moment,
                                                               _day):
    doc = order_document(order_sheet(currency), lang=lang, tz=TZ, printed_at=ISSUED)
    got = pdf_text(render_pdf(doc))
    for key in ("order_title", "signature_customer", "signature_technician", "name_and_date",
                "acknowledgement", "reported_defect", "time_entries", "activity.on_site",
                "status.completed", "warranty_free"):
        assert squash(text(lang, key)) in got, key
    assert squash(text(lang, "page", page=1, pages=1)) in got
    assert squash(amount) in got  # the total's net, Babel-formatted
    assert squash(moment) in got  # printed at, in the site's zone
    assert "2026-000123" in got
    assert "João Ørsted" in got and "Compressor Ø12 – peça" in got


@pytest.mark.parametrize(("lang", "currency", "amount", "moment", "day"), LANGUAGES)
def test_the_invoice_pdf_speaks_the_customers_language(lang, currency, amount, moment, day):
    doc = invoice_document(invoice_sheet(currency), lang=lang, tz=TZ)
    got = pdf_text(render_pdf(doc))
    for key in ("invoice_title", "bill_to", "amount_due", "payments", "method.pix",
                "method.on_account", "vat", "net"):
        assert squash(text(lang, key)) in got, key
    assert squash(amount) in got
    assert squash(moment) in got
    assert squash(day) in got  # the on-account payment's due date
    assert "INV-000007" in got
    assert "CNPJ: 11.222.333/0001-81" in got  # a CNPJ is called so in every language
    assert squash(text(lang, "signature_customer")) not in got


def test_the_pdf_in_portuguese_carries_exact_brazilian_amounts():
    doc = invoice_document(invoice_sheet("BRL"), lang="pt_BR", tz=TZ)
    got = pdf_text(render_pdf(doc))
    assert "Valor a pagar R$ 1.334,56" in got
    assert "PIX R$ 1.000,00" in got
    assert "A prazo 1 de abr. de 2026 R$ 334,56" in got


def test_a_credit_note_names_the_invoice_it_credits():
    sheet = invoice_sheet("EUR", kind="credit_note", number="CN-000001",
                          credited_number="INV-000007", payments=())
    got = pdf_text(render_pdf(invoice_document(sheet, lang="it", tz="Europe/Rome")))
    assert "Nota di credito" in got
    assert "Storno della fattura INV-000007" in got


def test_waived_time_and_warranty_claims_are_stated_on_the_invoice():
    sheet = invoice_sheet("DKK", time_waived=True, warranty_claim=True,
                          bill_to=Party("Leverandør A/S", "13585628", country="DK"))
    got = pdf_text(render_pdf(invoice_document(sheet, lang="da", tz="Europe/Copenhagen")))
    assert squash(text("da", "time_waived")) in got
    assert "Garantikrav" in got and "Leverandør A/S" in got and "CVR-nr.: 13585628" in got
    assert "Garantilinjer fra serviceordre 2026-000123" in got


@pytest.mark.parametrize(("lang", "currency", "amount", "moment", "_day"), LANGUAGES)
def test_the_html_printout_says_the_same_as_the_pdf(lang, currency, amount, moment, _day):
    doc = order_document(order_sheet(currency), lang=lang, tz=TZ, printed_at=ISSUED)
    html = render_html(doc)
    assert f'<html lang="{lang.replace("_", "-")}">' in html
    assert text(lang, "signature_customer") in html
    assert text(lang, "signature_technician") in html
    assert amount in html and moment in html
    assert html.count('class="signature"') == 2


def test_html_escapes_what_people_typed():
    html = render_html(invoice_document(invoice_sheet("BRL"), lang="en", tz=TZ))
    assert "Padaria Pão &amp; Cia &lt;Ltda&gt;" in html
    assert "<Ltda>" not in html


def test_a_long_order_flows_onto_more_pages_with_page_numbers():
    sheet = order_sheet("BRL", lines=(LINE,) * 80)
    got = pdf_text(render_pdf(order_document(sheet, lang="en", tz=TZ, printed_at=ISSUED)))
    assert "Page 1 of " in got
    pages = int(got.split("Page 1 of ")[1].split()[0])
    assert pages >= 2
    assert f"Page {pages} of {pages}" in got
    # The signatures come once, at the end.
    assert got.count("Customer signature") == 1
    assert got.rindex("Customer signature") > got.rindex("Compressor")


def test_a_discount_and_several_vat_rates_are_spelled_out_in_the_totals():
    totals = SheetTotals(
        D("1472.30"), D("147.23"), D("1325.07"), D("171.55"), D("1496.62"),
        vat_groups=(VatShare(D("5"), D("515.07"), D("25.75")),
                    VatShare(D("18"), D("810.00"), D("145.80"))))
    got = pdf_text(render_pdf(invoice_document(invoice_sheet("BRL", totals=totals),
                                               lang="pt_BR", tz=TZ)))
    assert "Subtotal R$ 1.472,30" in got
    assert "Desconto -R$ 147,23" in got
    assert "Valor líquido R$ 1.325,07" in got
    assert "Impostos 5 % (R$ 515,07) R$ 25,75" in got
    assert "Impostos 18 % (R$ 810,00) R$ 145,80" in got
    assert "Valor a pagar R$ 1.496,62" in got


def test_tax_ids_are_named_by_their_country_else_in_the_readers_words():
    from orders.billing.printouts import tax_id_label

    assert tax_id_label("BR", "123.456.789-09", "da") == "CPF"
    assert tax_id_label("IT", "RSSMRA85T10A562S", "en") == "C.F."
    assert tax_id_label("IT", "01234567890", "pt_BR") == "P. IVA"
    assert tax_id_label("DE", "DE136695976", "it") == "Identificativo fiscale"
    assert tax_id_label("DE", "DE136695976", "en") == "Tax ID"

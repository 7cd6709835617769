from dataclasses import dataclass
from decimal import Decimal as D

import pytest

from dispatch.core.errors import ValidationFailed
from orders.totals import order_totals, split_proportionally


@dataclass
class L:
    quantity: D
    unit_price: D
    discount_percent: D = D(0)
    vat_rate: D = D(0)
    warranty: bool = False


@dataclass
class T:
    amount: D
    billable: bool = True
    vat_rate: D = D(0)


def test_line_net_vat_and_total_round_per_line():
    t = order_totals([L(D("3"), D("3.3333"), D("10"), D("17"))], currency="BRL")
    # 3 * 3.3333 * 0.9 = 8.99991 -> 9.00; VAT 17% = 1.53
    assert (t.lines[0].net, t.lines[0].vat, t.lines[0].total) == (D("9.00"), D("1.53"), D("10.53"))
    assert (t.net, t.vat, t.total) == (D("9.00"), D("1.53"), D("10.53"))


def test_warranty_lines_cost_the_customer_nothing_but_keep_their_value():
    t = order_totals([L(D("1"), D("80"), vat_rate=D("10"), warranty=True), L(D("2"), D("5"))],
                     currency="BRL")
    assert t.lines[0].net == D("0") and t.lines[0].value == D("80.00")
    assert t.warranty_value == D("80.00")
    assert (t.net, t.vat, t.total) == (D("10.00"), D("0.00"), D("10.00"))


def test_billable_time_counts_and_a_waiver_takes_it_off_visibly():
    entries = [T(D("11.80")), T(D("50"), billable=False)]
    t = order_totals([L(D("1"), D("10"))], entries, currency="BRL")
    assert (t.time_charges, t.total, t.time_charges_waived) == (D("11.80"), D("21.80"), False)
    w = order_totals([L(D("1"), D("10"))], entries, currency="BRL", time_waived=True)
    assert (w.time_charges, w.waived_amount, w.total) == (D("0.00"), D("11.80"), D("10.00"))
    assert w.time_charges_waived is True


def test_an_order_discount_is_split_over_lines_so_vat_follows_it():
    lines = [L(D("1"), D("100"), vat_rate=D("10")), L(D("1"), D("50"), vat_rate=D("0"))]
    t = order_totals(lines, [T(D("50"), vat_rate=D("5"))], currency="BRL",
                     discount_amount=D("20"))
    assert [p.order_discount for p in (*t.lines, *t.time_entries)] == [D("10"), D("5"), D("5")]
    assert [p.vat for p in (*t.lines, *t.time_entries)] == [D("9.00"), D("0.00"), D("2.25")]
    assert (t.subtotal, t.order_discount, t.net, t.vat, t.total) == (
        D("200.00"), D("20.00"), D("180.00"), D("11.25"), D("191.25"))
    assert [(g.rate, g.taxable, g.vat) for g in t.vat_groups] == [
        (D("0"), D("45.00"), D("0.00")), (D("5"), D("45.00"), D("2.25")),
        (D("10"), D("90.00"), D("9.00"))]


def test_a_percent_discount_rounds_once_and_the_shares_add_up():
    lines = [L(D("1"), D("0.10")), L(D("1"), D("0.10")), L(D("1"), D("0.10"))]
    t = order_totals(lines, currency="BRL", discount_percent=D("50"))
    assert t.order_discount == D("0.15")
    assert sum(p.order_discount for p in t.lines) == D("0.15")
    assert t.net == D("0.15")


def test_split_proportionally_gives_the_rest_to_the_largest_remainders():
    assert split_proportionally(D("1.00"), [D("1"), D("1"), D("1")], "BRL") == [
        D("0.34"), D("0.33"), D("0.33")]
    assert split_proportionally(D("0"), [D("1")], "BRL") == [D("0.00")]


@pytest.mark.parametrize("kw", [
    {"discount_percent": D("101")},
    {"discount_amount": D("-1")},
    {"discount_amount": D("10.01")},
    {"discount_amount": D("1.001")},
    {"discount_amount": D("1"), "discount_percent": D("1")},
])
def test_bad_order_discounts_are_refused(kw):
    with pytest.raises(ValidationFailed):
        order_totals([L(D("1"), D("10"))], currency="BRL", **kw)

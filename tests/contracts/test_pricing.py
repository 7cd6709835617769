from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from contracts.pricing import (
    Coverage,
    PriceRule,
    billed_minutes,
    price_line,
    price_time,
    time_charges_waived,
)
from dispatch.core.errors import ValidationFailed

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_catalogue_price_applies_when_nothing_else_does():
    p = price_line(catalogue_price=D("12.50"))
    assert (p.unit_price, p.discount_percent, p.rule) == (D("12.50"), D(0), PriceRule.catalogue)


def test_a_price_list_beats_the_catalogue_and_a_contract_beats_both():
    assert price_line(catalogue_price=D("10"), price_list_price=D("9")).rule == "price_list"
    p = price_line(catalogue_price=D("10"), price_list_price=D("9"),
                   coverage=Coverage(discount_percent=D("15")))
    assert (p.unit_price, p.discount_percent, p.rule) == (D("9"), D("15"), PriceRule.contract)
    p = price_line(catalogue_price=D("10"), coverage=Coverage(unit_price=D("7.5")))
    assert (p.unit_price, p.rule) == (D("7.5"), PriceRule.contract)


def test_a_manual_price_beats_contract_and_lists():
    p = price_line(catalogue_price=D("10"), price_list_price=D("9"),
                   coverage=Coverage(discount_percent=D("15")), manual_price=D("4.25"),
                   discount_percent=D("5"))
    assert (p.unit_price, p.discount_percent, p.rule) == (D("4.25"), D("5"), PriceRule.manual)


def test_warranty_keeps_the_value_for_the_claim_without_discount():
    p = price_line(catalogue_price=D("80"), coverage=Coverage(discount_percent=D("50")),
                   warranty=True, discount_percent=D("10"))
    assert (p.unit_price, p.discount_percent, p.rule) == (D("80"), D(0), PriceRule.warranty)


def test_an_explicit_discount_replaces_the_contract_discount():
    p = price_line(catalogue_price=D("10"), coverage=Coverage(discount_percent=D("15")),
                   discount_percent=D("0"))
    assert p.discount_percent == D("0")


@pytest.mark.parametrize("kw, field", [
    ({"catalogue_price": D("-1")}, "catalogue_price"),
    ({"catalogue_price": D("1"), "manual_price": D("-0.01")}, "unit_price"),
    ({"catalogue_price": D("1"), "discount_percent": D("100.01")}, "discount_percent"),
    ({"catalogue_price": D("1"), "discount_percent": D("-1")}, "discount_percent"),
])
def test_negative_prices_and_discounts_outside_0_to_100_are_refused(kw, field):
    with pytest.raises(ValidationFailed) as err:
        price_line(**kw)
    assert err.value.field == field


@pytest.mark.parametrize("seconds, minutes", [(0, 0), (1, 1), (60, 1), (61, 2), (3600, 60),
                                              (3600.5, 61)])
def test_every_started_minute_is_billed(seconds, minutes):
    assert billed_minutes(T0, T0 + timedelta(seconds=seconds)) == minutes


def test_sixty_one_seconds_at_354_an_hour_cost_11_80():
    p = price_time(started_at=T0, ended_at=T0 + timedelta(seconds=61), hourly_rate=D("354"),
                   currency="BRL")
    assert (p.billed_minutes, p.amount, p.rule) == (2, D("11.80"), PriceRule.catalogue)


def test_rounding_of_time_is_half_up_to_the_currency():
    # 1 minute at 100/h = 1.6666.. -> 1.67; in JPY (no minor unit) -> 2
    end = T0 + timedelta(seconds=30)
    assert price_time(started_at=T0, ended_at=end, hourly_rate=D("100"), currency="BRL").amount == D("1.67")
    assert price_time(started_at=T0, ended_at=end, hourly_rate=D("100"), currency="JPY").amount == D("2")


def test_a_contract_can_set_the_rate_and_discount_the_time():
    p = price_time(started_at=T0, ended_at=T0 + timedelta(minutes=30), hourly_rate=D("354"),
                   currency="BRL", coverage=Coverage(unit_price=D("300"), discount_percent=D("10")))
    assert (p.hourly_rate, p.amount, p.rule) == (D("300"), D("135.00"), PriceRule.contract)


def test_an_end_before_the_start_is_refused():
    with pytest.raises(ValidationFailed) as err:
        billed_minutes(T0, T0 - timedelta(seconds=1))
    assert err.value.field == "ended_at"


def test_a_product_defect_waives_time_unless_premium():
    assert time_charges_waived("product_defect", "standard") is True
    assert time_charges_waived("product_defect", "premium") is False
    assert time_charges_waived("operator_error", "standard") is False
    assert time_charges_waived(None, "standard") is False


def test_a_price_list_rate_replaces_the_catalogue_rate_for_time():
    p = price_time(started_at=T0, ended_at=T0 + timedelta(minutes=60), hourly_rate=D("354"),
                   price_list_rate=D("200"), currency="BRL")
    assert (p.hourly_rate, p.amount, p.rule) == (D("200"), D("200.00"), PriceRule.price_list)

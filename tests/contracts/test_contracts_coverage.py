"""What a contract grants an order: coverage_for and the response hours C3 counts from."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from contracts.service import coverage_for, response_hours_for
from tests.factories import (
    make_calendar,
    make_contract,
    make_contract_line,
    make_item_group,
    make_service_item,
    make_site,
)


def test_an_item_under_an_active_contract_gets_its_line_terms_and_calendar(session):
    calendar = make_calendar(session)
    contract = make_contract(session, calendar=calendar)
    line = contract.lines[0]
    cov = coverage_for(session, service_item_id=line.service_item_id, on=date(2026, 6, 1))
    assert cov is not None
    assert (cov.contract_id, cov.contract_number, cov.contract_line_id) == (
        contract.id, contract.number, line.id)
    assert cov.parts.discount_percent == Decimal("10")
    assert cov.labour.discount_percent == Decimal("100")
    assert cov.labour_included and cov.travel_included
    assert cov.response_hours == {"low": None, "normal": Decimal("8"), "high": None,
                                  "urgent": Decimal("4")}
    assert cov.calendar_id == calendar.id
    # Friday 16:00 in São Paulo (19:00 UTC) with 4 business hours: Monday 10:30 local.
    due = cov.response_due(datetime(2026, 6, 5, 19, 0, tzinfo=UTC), "urgent")
    assert due == datetime(2026, 6, 8, 13, 30, tzinfo=UTC)
    assert cov.response_due(datetime(2026, 6, 5, 19, 0, tzinfo=UTC), "low") is None


def test_without_a_calendar_the_clock_runs_all_week(session):
    contract = make_contract(session)
    item_id = contract.lines[0].service_item_id
    hours, calendar = response_hours_for(session, service_item_id=item_id, priority="urgent",
                                         on=date(2026, 6, 5))
    assert hours == Decimal("4")
    start = datetime(2026, 6, 5, 19, 0, tzinfo=UTC)  # a Friday evening
    assert calendar.add_business_time(start, timedelta(hours=4)) == datetime(
        2026, 6, 5, 23, 0, tzinfo=UTC)


def test_no_coverage_outside_the_term_when_suspended_or_after_removal(session):
    contract = make_contract(session)
    line = contract.lines[0]
    item_id = line.service_item_id
    assert coverage_for(session, service_item_id=item_id, on=date(2025, 12, 31)) is None
    assert coverage_for(session, service_item_id=item_id, on=date(2027, 1, 1)) is None
    line.removed_on = date(2026, 5, 10)
    session.flush()
    assert coverage_for(session, service_item_id=item_id, on=date(2026, 5, 9)) is not None
    assert coverage_for(session, service_item_id=item_id, on=date(2026, 5, 10)) is None
    line.removed_on = None
    contract.status = "suspended"
    session.flush()
    assert coverage_for(session, service_item_id=item_id, on=date(2026, 5, 9)) is None
    assert coverage_for(session, service_item_id=999_999, on=date(2026, 5, 9)) is None


def test_a_whole_group_at_a_site_covers_its_items_there_and_nowhere_else(session):
    contract = make_contract(session, with_line=False,
                             customer=make_site(session).customer)
    site = make_site(session, customer=contract.customer)
    other_site = make_site(session, customer=contract.customer)
    group = make_item_group(session)
    make_contract_line(session, contract=contract, site=site, item_group=group,
                       labour_included=False, labour_discount_percent=Decimal("25"),
                       labour_hourly_rate=Decimal("300"))
    inside = make_service_item(session, site=site, item_group=group)
    elsewhere = make_service_item(session, site=other_site, item_group=group)
    other_group = make_service_item(session, site=site)
    cov = coverage_for(session, service_item_id=inside.id, on=date(2026, 2, 1))
    assert cov is not None
    assert cov.labour.discount_percent == Decimal("25")
    assert cov.labour.unit_price == Decimal("300")
    assert coverage_for(session, service_item_id=elsewhere.id, on=date(2026, 2, 1)) is None
    assert coverage_for(session, service_item_id=other_group.id, on=date(2026, 2, 1)) is None

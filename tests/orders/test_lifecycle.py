import pytest

from orders.errors import InvalidOrderInput, TransitionNotAllowed
from orders.lifecycle import (
    EDITABLE,
    TRANSITIONS,
    OrderStatus,
    allowed_targets,
    check_transition,
)


def test_the_happy_path_of_the_domain_is_allowed():
    path = ["open", "waiting_for_parts", "ready", "scheduled", "in_progress", "completed"]
    for current, target in zip(path, path[1:], strict=False):
        assert check_transition(current, target) == target
    assert check_transition("completed", "closed", closing=True) == "closed"


def test_closing_is_not_a_plain_status_change():
    with pytest.raises(TransitionNotAllowed, match="close") as err:
        check_transition("completed", "closed")
    assert err.value.extra["allowed"] == ["in_progress"]


def test_a_forbidden_change_names_the_allowed_ones():
    with pytest.raises(TransitionNotAllowed) as err:
        check_transition("open", "completed")
    assert err.value.status == 409
    assert err.value.extra["allowed"] == ["waiting_for_parts", "ready", "on_hold", "cancelled"]
    assert "waiting_for_parts, ready, on_hold, cancelled" in err.value.detail


@pytest.mark.parametrize("final", ["closed", "cancelled"])
def test_final_statuses_go_nowhere(final):
    assert allowed_targets(final, closing=True) == []
    with pytest.raises(TransitionNotAllowed, match="final"):
        check_transition(final, "open")
    assert OrderStatus(final) not in EDITABLE


def test_started_work_cannot_be_cancelled_directly():
    assert "cancelled" not in allowed_targets("in_progress")
    assert "cancelled" not in allowed_targets("completed")


def test_held_orders_can_be_picked_up_where_the_work_stands():
    assert set(allowed_targets("on_hold")) >= {"open", "waiting_for_parts", "ready", "in_progress"}


def test_every_status_has_a_row_and_no_status_moves_to_itself():
    assert set(TRANSITIONS) == set(OrderStatus)
    for status, targets in TRANSITIONS.items():
        assert status not in targets


def test_an_unknown_status_is_bad_input_not_a_conflict():
    with pytest.raises(InvalidOrderInput):
        check_transition("open", "teleported")

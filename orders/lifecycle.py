"""The order lifecycle: which status may follow which.

=================  ==========================================================
from               to
=================  ==========================================================
open               waiting_for_parts, ready, on_hold, cancelled
waiting_for_parts  ready, on_hold, cancelled
ready              waiting_for_parts, scheduled, in_progress, on_hold, cancelled
scheduled          ready, in_progress, on_hold, cancelled
in_progress        waiting_for_parts, on_hold, completed
on_hold            open, waiting_for_parts, ready, in_progress, cancelled
completed          in_progress (reopen), closed (only by closing)
closed, cancelled  nothing: final
=================  ==========================================================

Rules and why:

- ``on_hold`` is the side track for "left for now" (customer away, waiting for
  an answer); it can be picked up again at any time until the order is closed
  (seed 000), back to wherever the work really stands, including resuming
  interrupted work (``in_progress``).
- ``cancelled`` is reachable only before work has started, and from
  ``on_hold``. Time spent is billed (seed 004: an interruption still bills the
  time up to it), so an order with time logged ends as ``completed`` ->
  ``closed``, not cancelled: the service refuses to cancel it.
- When parts arrive, ``waiting_for_parts -> ready`` (and a new responsible
  person is set by the caller). Work can discover missing parts:
  ``ready``/``in_progress -> waiting_for_parts``.
- ``scheduled`` means a visit was booked; un-booking returns it to ``ready``.
- ``completed -> closed`` happens only through closing (order discount,
  payments, invoice), never by a plain status change. ``completed ->
  in_progress`` reopens finished work that turns out not to be finished.
- ``closed`` and ``cancelled`` are final.
"""

from __future__ import annotations

from enum import StrEnum

from orders.errors import InvalidOrderInput, TransitionNotAllowed


class OrderStatus(StrEnum):
    open = "open"
    waiting_for_parts = "waiting_for_parts"
    ready = "ready"
    scheduled = "scheduled"
    in_progress = "in_progress"
    on_hold = "on_hold"
    completed = "completed"
    closed = "closed"
    cancelled = "cancelled"


S = OrderStatus

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.open: frozenset({S.waiting_for_parts, S.ready, S.on_hold, S.cancelled}),
    S.waiting_for_parts: frozenset({S.ready, S.on_hold, S.cancelled}),
    S.ready: frozenset({S.scheduled, S.in_progress, S.waiting_for_parts, S.on_hold, S.cancelled}),
    S.scheduled: frozenset({S.in_progress, S.ready, S.on_hold, S.cancelled}),
    S.in_progress: frozenset({S.completed, S.waiting_for_parts, S.on_hold}),
    S.on_hold: frozenset({S.open, S.waiting_for_parts, S.ready, S.in_progress, S.cancelled}),
    S.completed: frozenset({S.in_progress, S.closed}),
    S.closed: frozenset(),
    S.cancelled: frozenset(),
}

# Targets reached only through their own use case (closing issues the invoice).
CLOSING_ONLY: frozenset[OrderStatus] = frozenset({S.closed})

FINAL: frozenset[OrderStatus] = frozenset({S.closed, S.cancelled})

# Lines, time entries and fields may change in every status but the final ones.
EDITABLE: frozenset[OrderStatus] = frozenset(OrderStatus) - FINAL

# Statuses in which the order still waits for or is under work (for boards and lists).
ACTIVE: frozenset[OrderStatus] = frozenset(
    {S.open, S.waiting_for_parts, S.ready, S.scheduled, S.in_progress, S.on_hold}
)

# The order in which statuses are listed to people (errors, docs).
_ORDER = list(OrderStatus)


def _sorted(statuses: frozenset[OrderStatus]) -> list[str]:
    return [s.value for s in sorted(statuses, key=_ORDER.index)]


def allowed_targets(current: str, *, closing: bool = False) -> list[str]:
    """The statuses ``current`` may move to; ``closed`` only when ``closing``."""
    targets = TRANSITIONS[OrderStatus(current)]
    if not closing:
        targets = targets - CLOSING_ONLY
    return _sorted(targets)


def check_transition(current: str, target: str, *, closing: bool = False) -> OrderStatus:
    """Return ``target`` as a status, or raise ``TransitionNotAllowed`` naming the allowed ones.

    ``closing`` is set only by the closing use case; a plain status change to
    ``closed`` is refused with a pointer to closing.
    """
    try:
        to = OrderStatus(target)
    except ValueError:
        raise InvalidOrderInput(
            f"unknown status {target!r}; statuses are {', '.join(OrderStatus)}", field="to"
        ) from None
    allowed = allowed_targets(current, closing=closing)
    if to.value in allowed:
        return to
    if to in CLOSING_ONLY and to in TRANSITIONS[OrderStatus(current)]:
        detail = f"an order is closed by closing it (POST /orders/{{id}}/close), not from {current}"
    elif not allowed:
        detail = f"an order in status {current} is final and cannot change status"
    elif to.value == current:
        detail = f"the order is already {current}; allowed from here: {', '.join(allowed)}"
    else:
        detail = f"cannot go from {current} to {to}; allowed from {current}: {', '.join(allowed)}"
    raise TransitionNotAllowed(detail, field="to", allowed=allowed, current=current)

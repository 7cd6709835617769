"""The contract lifecycle: which status may follow which.

==========  ==========================================================
from        to
==========  ==========================================================
draft       signed, cancelled
signed      active, cancelled
active      suspended, expired, cancelled
suspended   active, expired, cancelled
expired     nothing by a status change; a renewal makes it active again
cancelled   nothing: final
==========  ==========================================================

Rules and why:

- Only an ``active`` contract covers its items (prices orders, counts response
  times, generates maintenance visits, is invoiced); ``suspended`` keeps the
  contract but stops all of that (unpaid invoices, a site closed for works).
- ``expired`` means the term ran out: the service refuses it before the day
  after ``end_date``; renewing an expired contract extends the term and
  reactivates it, so that path is the renewal's, not a status change.
- ``cancelled`` ends a contract early and frees its items for another contract
  (the overlap rule ignores cancelled contracts).
"""

from __future__ import annotations

from contracts.errors import InvalidContractInput, TransitionNotAllowed
from contracts.models import ContractStatus

S = ContractStatus

TRANSITIONS: dict[ContractStatus, frozenset[ContractStatus]] = {
    S.draft: frozenset({S.signed, S.cancelled}),
    S.signed: frozenset({S.active, S.cancelled}),
    S.active: frozenset({S.suspended, S.expired, S.cancelled}),
    S.suspended: frozenset({S.active, S.expired, S.cancelled}),
    S.expired: frozenset(),
    S.cancelled: frozenset(),
}

# Statuses in which a contract is running: its periods are invoiced, changes are prorated.
RUNNING: frozenset[ContractStatus] = frozenset({S.active, S.suspended})

# Statuses in which terms (price, dates) may still be changed freely.
NEGOTIABLE: frozenset[ContractStatus] = frozenset({S.draft, S.signed})

# A renewal extends these; draft and signed contracts have not started, cancelled ones ended.
RENEWABLE: frozenset[ContractStatus] = frozenset({S.active, S.suspended, S.expired})

_ORDER = list(ContractStatus)


def allowed_targets(current: str) -> list[str]:
    return [s.value for s in sorted(TRANSITIONS[ContractStatus(current)], key=_ORDER.index)]


def check_transition(current: str, target: str) -> ContractStatus:
    """Return ``target`` as a status, or raise ``TransitionNotAllowed`` naming the allowed ones."""
    try:
        to = ContractStatus(target)
    except ValueError:
        raise InvalidContractInput(
            f"unknown status {target!r}; statuses are {', '.join(ContractStatus)}", field="to"
        ) from None
    allowed = allowed_targets(current)
    if to.value in allowed:
        return to
    if current == S.expired and to == S.active:
        detail = "an expired contract becomes active again by renewing it (POST .../renew)"
    elif not allowed:
        detail = f"a contract in status {current} cannot change status"
    elif to.value == current:
        detail = f"the contract is already {current}; allowed from here: {', '.join(allowed)}"
    else:
        detail = f"cannot go from {current} to {to}; allowed from {current}: {', '.join(allowed)}"
    raise TransitionNotAllowed(detail, field="to", allowed=allowed, current=current)

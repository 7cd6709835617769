"""Domain errors of orders; the app turns them into problem+json."""

from __future__ import annotations

from dispatch.core.errors import Forbidden, InvalidState, NotFound, ValidationFailed


class OrderNotFound(NotFound):
    code = "order-not-found"
    title = "Order not found"


class ServiceRequestNotFound(NotFound):
    code = "service-request-not-found"
    title = "Service request not found"


class LineNotFound(NotFound):
    code = "order-line-not-found"
    title = "Order line not found"


class TimeEntryNotFound(NotFound):
    code = "time-entry-not-found"
    title = "Time entry not found"


class TransitionNotAllowed(InvalidState):
    """A status change the lifecycle does not allow; the problem lists ``allowed``."""

    code = "transition-not-allowed"
    title = "This status change is not allowed"


class OrderNotEditable(InvalidState):
    """Closed and cancelled orders take no more changes (lines, time, fields)."""

    code = "order-not-editable"
    title = "The order can no longer be changed"


class RequestAlreadyHandled(InvalidState):
    code = "service-request-handled"
    title = "The service request was already converted or rejected"


class PriceOverrideForbidden(Forbidden):
    code = "price-override-forbidden"
    title = "Your role may not override prices"


class InvalidOrderInput(ValidationFailed):
    code = "invalid-order-input"
    title = "Invalid order input"

"""Domain errors of calendars, quotes, contracts and price indexes (problem+json codes)."""

from __future__ import annotations

from dispatch.core.errors import Conflict, InvalidState, NotFound, ValidationFailed


class CalendarNotFound(NotFound):
    code = "calendar-not-found"
    title = "Service calendar not found"


class QuoteNotFound(NotFound):
    code = "contract-quote-not-found"
    title = "Contract quote not found"


class ContractNotFound(NotFound):
    code = "contract-not-found"
    title = "Contract not found"


class ContractLineNotFound(NotFound):
    code = "contract-line-not-found"
    title = "Contract line not found"


class PriceIndexNotFound(NotFound):
    code = "price-index-not-found"
    title = "Price index not found"


class InvalidContractInput(ValidationFailed):
    code = "invalid-contract-input"
    title = "Invalid contract input"


class BadIndexImport(ValidationFailed):
    """A CSV row that cannot be read; the problem names its ``line`` and nothing is imported."""

    code = "invalid-index-import"
    title = "Price index import refused"


class CalendarInUse(Conflict):
    code = "calendar-in-use"
    title = "The calendar is used by a contract or quote"


class BuiltinCalendar(InvalidState):
    code = "calendar-builtin"
    title = "The built-in calendar cannot be changed"


class DuplicateCode(Conflict):
    code = "duplicate-code"
    title = "The code is taken"


class QuoteStateError(InvalidState):
    """Sending, accepting, declining or converting a quote in the wrong state."""

    code = "quote-state"
    title = "Not allowed in the quote's current state"


class QuoteExpired(InvalidState):
    code = "quote-expired"
    title = "The quote has expired"


class TransitionNotAllowed(InvalidState):
    """A contract status change the lifecycle does not allow; the problem lists ``allowed``."""

    code = "contract-transition-not-allowed"
    title = "This status change is not allowed"


class ContractNotEditable(InvalidState):
    code = "contract-not-editable"
    title = "The contract can no longer be changed"


class CoverageOverlap(Conflict):
    """The same service item would be covered twice over overlapping periods."""

    code = "contract-overlap"
    title = "The item is already covered by another contract"


class IndexValueConflict(Conflict):
    code = "price-index-conflict"
    title = "A different value is already recorded for that month"


class AlreadyIndexed(Conflict):
    code = "contract-already-indexed"
    title = "The price was already adjusted for that date"


class NoticePeriodPassed(InvalidState):
    """Renewal can no longer be refused: the notice deadline (end date minus notice days) passed."""

    code = "notice-period-passed"
    title = "The notice period has passed"

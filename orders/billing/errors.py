"""Domain errors of billing; the app turns them into problem+json."""

from __future__ import annotations

from dispatch.core.errors import Conflict, InvalidState, NotFound, ValidationFailed


class InvoiceNotFound(NotFound):
    code = "invoice-not-found"
    title = "Invoice not found"


class SupplierNotFound(NotFound):
    code = "supplier-not-found"
    title = "Supplier not found"


class OrderNotClosable(InvalidState):
    """Only a completed order can be closed; the problem lists the statuses it may go to."""

    code = "order-not-closable"
    title = "The order cannot be closed in its current status"


class PaymentsDoNotAddUp(ValidationFailed):
    code = "payments-do-not-add-up"
    title = "The payments do not add up to the amount due"


class InvalidPayment(ValidationFailed):
    code = "invalid-payment"
    title = "Invalid payment"


class InvoiceImmutable(Conflict):
    """Issued invoices never change; corrections are credit notes."""

    code = "invoice-immutable"
    title = "An issued invoice cannot be changed"


class NothingToCredit(InvalidState):
    code = "nothing-to-credit"
    title = "Nothing left to credit"


class InvalidCreditNote(ValidationFailed):
    code = "invalid-credit-note"
    title = "Invalid credit note"


class NothingToClaim(InvalidState):
    code = "nothing-to-claim"
    title = "No unclaimed warranty lines"


class InvalidImport(ValidationFailed):
    """A file that cannot be imported; ``errors`` lists each bad row by its line number."""

    code = "invalid-import"
    title = "The file cannot be imported"


class InvalidExport(ValidationFailed):
    code = "invalid-export"
    title = "Invalid export request"

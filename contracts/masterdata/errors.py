"""Domain errors of master data; each has a stable ``code`` (the problem ``type``)."""

from __future__ import annotations

from dispatch.core.errors import Conflict, NotFound, ValidationFailed


class MasterDataNotFound(NotFound):
    """A referenced customer, site, item group, ... does not exist (404, or 422 as a reference)."""

    code = "not-found"


class UnknownReference(ValidationFailed):
    """A request body names a row that does not exist (``site_id: 999``)."""

    code = "unknown-reference"
    title = "Refers to something that does not exist"


class InvalidTaxId(ValidationFailed):
    code = "invalid-tax-id"
    title = "Invalid tax id"


class DuplicateKey(Conflict):
    """A code, SKU or number that must be unique is taken."""

    code = "duplicate"
    title = "Already exists"


class InUse(Conflict):
    """A row cannot be deleted while other rows refer to it."""

    code = "in-use"
    title = "Still in use"

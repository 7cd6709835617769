"""Every module that declares tables, imported so ``Base.metadata`` is complete."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

MODEL_MODULES = (
    "dispatch.core.auth",
    "dispatch.core.idempotency",
    "dispatch.core.numbering",
    "contracts.masterdata.models",
    "contracts.models",
    "orders.models",
    "orders.billing.models",
    "dispatch.models",
)


def load_metadata() -> MetaData:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    from dispatch.core.db import Base

    return Base.metadata

"""API shapes of scheduling runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RunScope(BaseModel):
    """``all`` technicians and orders; a ``zone`` (its technicians, and unplanned orders whose
    site is in it); a ``resource_group`` (its technicians); or a list of ``orders``."""

    kind: Literal["all", "zone", "resource_group", "orders"] = "all"
    zone: str | None = Field(None, description="zone code (kind zone)")
    resource_group: str | None = Field(None, description="group code (kind resource_group)")
    order_ids: list[int] | None = Field(None, max_length=5000, description="kind orders")

    @model_validator(mode="after")
    def _consistent(self) -> RunScope:
        needs = {"zone": "zone", "resource_group": "resource_group", "orders": "order_ids"}
        for kind, name in needs.items():
            given = getattr(self, name) is not None
            if given and self.kind != kind:
                raise ValueError(f"{name} is only for scope kind {kind}")
            if self.kind == kind and not given:
                raise ValueError(f"scope kind {kind} needs {name}")
        return self


class RunCreate(BaseModel):
    date_from: date
    date_to: date
    scope: RunScope = Field(default_factory=RunScope)
    time_limit_s: float = Field(10.0, gt=0, le=600, description="solver budget, seconds")
    mode: Literal["full", "insert"] = Field(
        "full", description="full: re-plan every unpinned visit not yet started; insert: place "
                            "new orders and keep the planned visits")
    seed: int = Field(0, ge=0, le=2**31 - 1)


class RunSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str
    mode: str
    date_from: date
    date_to: date
    scope: dict[str, Any]
    time_limit_s: float
    seed: int
    progress: dict[str, Any]
    cancel_requested: bool
    worker: str = Field(description="who executes it: thread:<host>:<pid> (the embedded pool) "
                                    "or celery:<host>:<pid>")
    error: str
    kpis: dict[str, Any] | None
    version: int
    created_at: datetime
    created_by_id: int | None
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None
    decided_at: datetime | None
    decided_by_id: int | None


class RunRead(RunSummary):
    """``plan``: ``visits`` (order, technician, day, sequence, arrival, planned start/end,
    travel, ``change`` against the published plan: new/moved/retimed/unchanged/kept),
    ``routes`` per technician-day and ``unassigned`` orders with reasons.
    ``publish_report``: published, unscheduled, kept and skipped orders (with reasons)."""

    plan: dict[str, Any] | None
    publish_report: dict[str, Any] | None

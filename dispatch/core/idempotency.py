"""``Idempotency-Key`` for POSTs that create something.

The key is stored in the same transaction as what the request created, so a
retried request either replays the first answer or (if the first one is still
in flight) collides on the unique key and gets a 409; a reused key with a
different body is a 422.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from dispatch.core.db import Base, UTCDateTime
from dispatch.core.errors import ValidationFailed


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def find_replay(
    session: Session, *, user_id: int, key: str, fingerprint: str
) -> IdempotencyRecord | None:
    rec = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )
    if rec is not None and rec.request_hash != fingerprint:
        raise ValidationFailed(
            "Idempotency-Key was already used with a different request",
            field="Idempotency-Key",
        )
    return rec


def remember(
    session: Session,
    *,
    user_id: int,
    key: str,
    method: str,
    path: str,
    fingerprint: str,
    status_code: int,
    body: Any,
    now: datetime,
) -> None:
    session.add(
        IdempotencyRecord(
            user_id=user_id, key=key, method=method, path=path, request_hash=fingerprint,
            status_code=status_code, response_body=json.dumps(body, default=str), created_at=now,
        )
    )
    session.flush()

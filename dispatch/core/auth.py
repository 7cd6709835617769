"""Users, roles and bearer API tokens (only a SHA-256 of each token is stored).

Tokens are 32 random bytes, so an unsalted hash is enough to make a leaked
table useless. Roles: ``admin`` may do everything; the others are granted
per endpoint with ``require_role``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from dispatch.core.db import Base, UTCDateTime
from dispatch.core.errors import Conflict, NotFound, Unauthorized, ValidationFailed

TOKEN_PREFIX = "tcn_"


class Role(StrEnum):
    admin = "admin"
    dispatcher = "dispatcher"
    technician = "technician"
    billing = "billing"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    # The user's language for what he reads (route lists); BCP-47-ish: pt_BR, da, it, en.
    locale: Mapped[str] = mapped_column(String(10), default="en")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    def has_role(self, *roles: str) -> bool:
        return self.role == Role.admin or self.role in roles


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[User] = relationship(back_populates="tokens")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    username: str,
    role: str,
    now: datetime,
    full_name: str = "",
    email: str = "",
    locale: str = "en",
) -> User:
    if role not in Role.__members__:
        raise ValidationFailed(
            f"unknown role {role!r}; one of {', '.join(Role)}", field="role"
        )
    if session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"user {username!r} exists", field="username")
    user = User(
        username=username, role=role, full_name=full_name, email=email, locale=locale,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def create_token(session: Session, *, username: str, now: datetime, name: str = "") -> str:
    """Issue a token and return it in clear; it cannot be shown again."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=hash_token(token), created_at=now))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User:
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token))
    )
    if row is None or row.revoked_at is not None or not row.user.active:
        raise Unauthorized("invalid or revoked API token")
    return row.user

"""FastAPI plumbing shared by every package's ``api.py``.

``SessionDep`` gives one session per request (the handler commits once, after
its service call returns); ``CurrentUser`` resolves the bearer token;
``require_role`` is the one-line role check every endpoint carries, and the
route-walking test reads the roles back from it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session

from dispatch.core import idempotency
from dispatch.core.auth import User, user_for_token
from dispatch.core.clock import Clock
from dispatch.core.errors import (
    Forbidden,
    PreconditionRequired,
    StaleVersion,
    Unauthorized,
    ValidationFailed,
)
from dispatch.core.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="API token: `Authorization: Bearer tcn_...`")


def get_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


def get_clock(request: Request) -> Clock:
    return request.app.state.clock


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
    return user_for_token(session, credentials.credentials)


CurrentUser = Annotated[User, Depends(get_current_user)]


class RoleGuard:
    """Dependency that admits the given roles (and admin). ``roles`` is read by tests."""

    def __init__(self, roles: tuple[str, ...]) -> None:
        self.roles = roles

    def __call__(self, user: CurrentUser) -> User:
        if not user.has_role(*self.roles):
            allowed = ", ".join(("admin", *self.roles))
            raise Forbidden(f"this needs one of the roles: {allowed}; you are {user.role}")
        return user

    def __repr__(self) -> str:
        return f"RoleGuard{self.roles}"


def require_role(*roles: str) -> RoleGuard:
    return RoleGuard(tuple(roles))


def _read_version(value: str) -> int:
    raw = value.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    if not raw.isdigit():
        raise ValidationFailed("If-Match must be an ETag such as \"3\"", field="If-Match")
    return int(raw)


def if_match_version(if_match: Annotated[str | None, Header()] = None) -> int:
    """The version the client read; a PATCH without it is refused (428)."""
    if if_match is None:
        raise PreconditionRequired("send If-Match with the ETag you read", field="If-Match")
    return _read_version(if_match)


IfMatch = Annotated[int, Depends(if_match_version)]


def check_version(current: int, expected: int, what: str) -> None:
    if current != expected:
        raise StaleVersion(
            f"{what} is at version {current}, you sent {expected}; read it again",
            field="If-Match",
            current_version=current,
        )


def etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


class Idempotency:
    """Replays the first answer of a POST retried with the same ``Idempotency-Key``."""

    def __init__(self, session: Session, user: User, key: str | None, method: str, path: str,
                 fingerprint: str, now: datetime) -> None:
        self.session, self.user, self.key = session, user, key
        self.method, self.path, self.fingerprint, self.now = method, path, fingerprint, now

    def replay(self) -> JSONResponse | None:
        if not self.key:
            return None
        rec = idempotency.find_replay(
            self.session, user_id=self.user.id, key=self.key, fingerprint=self.fingerprint
        )
        if rec is None:
            return None
        return JSONResponse(
            json.loads(rec.response_body), status_code=rec.status_code,
            headers={"Idempotent-Replayed": "true"},
        )

    def save(self, body: BaseModel | Any, status_code: int = 201) -> None:
        if not self.key:
            return
        data = _jsonable(body)
        idempotency.remember(
            self.session, user_id=self.user.id, key=self.key, method=self.method, path=self.path,
            fingerprint=self.fingerprint, status_code=status_code, body=data, now=self.now,
        )


def _jsonable(body: Any) -> Any:
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json")
    return body


async def get_idempotency(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Idempotency:
    body = await request.body()
    fp = idempotency.request_fingerprint(request.method, request.url.path, body)
    return Idempotency(session, user, idempotency_key, request.method, request.url.path, fp,
                       clock.now())


IdempotencyDep = Annotated[Idempotency, Depends(get_idempotency)]


def encode_cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("malformed cursor", field="cursor") from exc
    if not isinstance(value, dict):
        raise ValidationFailed("malformed cursor", field="cursor")
    return value

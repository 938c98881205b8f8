"""The web view's people: users with a role, their sessions, and the audit trail.

Who may look at patient data is kept with the patient data: a user (argon2 password hash, role
``viewer``, ``coordinator`` or ``admin``, disabled rather than deleted so the audit trail keeps
naming someone), a session per login (only the SHA-256 of its cookie is stored, so a copy of the
ledger opens no session; disabling a user ends them all), and an audit event for every page
that shows a claim and every action (who, when, what, which claim). Audit events are appended,
never changed or deleted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from gateway.ledger.base import LedgerBase
from gateway.ledger.records import LedgerError, dumps, utc_now
from gateway.ledger.schema import UTCDateTime, metadata


class Role(StrEnum):
    """What a user may do: a viewer looks, a coordinator also settles held payments, an admin
    also reads the audit trail."""

    VIEWER = "viewer"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


RANK = {Role.VIEWER: 0, Role.COORDINATOR: 1, Role.ADMIN: 2}
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", Text, nullable=False),  # argon2id, with its own salt and costs
    Column("role", String(16), nullable=False),
    Column("active", Integer, nullable=False),  # 1, or 0 once disabled (never deleted)
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),  # the cookie itself is never stored
    Column("username", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),  # the token every form of the session carries
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index(None, "username"),
)

# Append-only: who did what, when, to which claim (HIPAA expects access logs).
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("username", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("claim_id", String(80)),
    Column("detail", Text, nullable=False),  # JSON
    Index(None, "claim_id"),
    Index(None, "at"),
)


class UserError(LedgerError):
    """A user that cannot be added or changed (bad name, unknown role, already there)."""


_HASHER = PasswordHasher()  # argon2id with the library's recommended costs (RFC 9106)
MIN_PASSWORD = 12


@cache
def _nobody() -> str:
    """Checked when the user name is unknown, so a wrong name costs what a wrong password does."""
    return _HASHER.hash("no user has this password")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: Role
    active: bool
    created_at: datetime
    password_hash: str

    def may(self, role: Role) -> bool:
        """Whether this user has at least ``role``."""
        return RANK[self.role] >= RANK[role]


@dataclass(frozen=True, slots=True)
class WebSession:
    username: str
    role: Role
    csrf: str
    expires_at: datetime

    def may(self, role: Role) -> bool:
        """Whether this session's user has at least ``role``."""
        return RANK[self.role] >= RANK[role]


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    at: datetime
    username: str
    action: str
    claim_id: str | None
    detail: dict[str, Any]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: Any) -> User:
    return User(row.username, Role(row.role), bool(row.active), row.created_at, row.password_hash)


class UserBook(LedgerBase):
    """Users, sessions and the audit trail (the password hashing itself is the caller's)."""

    def add_user(self, username: str, role: Role | str, password_hash: str) -> User:
        if not USERNAME.match(username):
            raise UserError(
                f"user name {username!r}: lower-case letters, digits, '.', '_' or '-' "
                "(at most 64, starting with a letter or digit)"
            )
        try:
            role = Role(role)
        except ValueError as exc:
            raise UserError(f"role {role!r}: one of viewer, coordinator, admin") from exc
        now = utc_now()
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    users.insert().values(
                        username=username, role=role.value, password_hash=password_hash,
                        active=1, created_at=now, updated_at=now,
                    )
                )  # fmt: skip
        except IntegrityError as exc:
            raise UserError(f"user {username}: already there") from exc
        return User(username, role, True, now, password_hash)

    def user(self, username: str) -> User | None:
        with self.engine.begin() as connection:
            row = connection.execute(select(users).where(users.c.username == username)).first()
        return None if row is None else _user(row)

    def list_users(self) -> list[User]:
        with self.engine.begin() as connection:
            rows = connection.execute(select(users).order_by(users.c.username)).all()
        return [_user(r) for r in rows]

    def set_user_active(self, username: str, active: bool) -> bool:
        """Enable or disable a user; disabling ends its sessions. False if unknown."""
        with self.engine.begin() as connection:
            done = connection.execute(
                update(users)
                .where(users.c.username == username)
                .values(active=int(active), updated_at=utc_now())
            ).rowcount
            if not active:
                connection.execute(delete(web_sessions).where(web_sessions.c.username == username))
        return bool(done)

    def set_password_hash(self, username: str, password_hash: str) -> bool:
        """A new password (or the same one re-hashed with newer costs)."""
        with self.engine.begin() as connection:
            done = connection.execute(
                update(users)
                .where(users.c.username == username)
                .values(password_hash=password_hash, updated_at=utc_now())
            ).rowcount
        return bool(done)

    def check_login(self, username: str, password: str) -> User | None:
        """The active user with this name and password; None otherwise (same work either way)."""
        found = self.user(username)
        if found is None or not found.active:
            _password_matches(_nobody(), password)
            return None
        if not _password_matches(found.password_hash, password):
            return None
        if _HASHER.check_needs_rehash(found.password_hash):
            self.set_password_hash(username, _HASHER.hash(password))
        return found

    # -- sessions ------------------------------------------------------------------------------

    def open_session(self, username: str, token: str, csrf: str, lifetime: timedelta) -> None:
        now = utc_now()
        with self.engine.begin() as connection:
            connection.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
            connection.execute(
                web_sessions.insert().values(
                    token_sha256=token_digest(token), username=username, csrf=csrf,
                    created_at=now, expires_at=now + lifetime,
                )
            )  # fmt: skip

    def session(self, token: str, now: datetime | None = None) -> WebSession | None:
        """The live session of this cookie, of an active user; None otherwise."""
        query = (
            select(web_sessions.c.username, web_sessions.c.csrf, web_sessions.c.expires_at)
            .add_columns(users.c.role)
            .join(users, users.c.username == web_sessions.c.username)
            .where(web_sessions.c.token_sha256 == token_digest(token), users.c.active == 1)
        )
        with self.engine.begin() as connection:
            row = connection.execute(query).first()
        if row is None or row.expires_at <= (now or utc_now()):
            return None
        return WebSession(row.username, Role(row.role), row.csrf, row.expires_at)

    def close_session(self, token: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(web_sessions).where(web_sessions.c.token_sha256 == token_digest(token))
            )

    # -- audit ---------------------------------------------------------------------------------

    def audit(
        self,
        username: str,
        action: str,
        claim_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
        claim_ids: Sequence[str] = (),
    ) -> None:
        """Append an audit event (one per claim of ``claim_ids`` too, each findable by claim)."""
        now = utc_now()
        rows = [
            {"at": now, "username": username, "action": action[:32], "claim_id": claim,
             "detail": dumps(dict(detail or {}))}
            for claim in ([claim_id] if claim_id or not claim_ids else []) + list(claim_ids)
        ]  # fmt: skip
        with self.engine.begin() as connection:
            connection.execute(audit_events.insert(), rows)

    def failed_logins(self, username: str, since: datetime) -> int:
        """Failed logins of ``username`` since ``since`` and since its last good one."""
        last_good = (
            select(func.max(audit_events.c.at))
            .where(audit_events.c.username == username, audit_events.c.action == "login")
            .scalar_subquery()
        )
        query = select(func.count()).where(
            audit_events.c.at > since,
            audit_events.c.username == username,
            audit_events.c.action == "login_failed",
            or_(last_good.is_(None), audit_events.c.at > last_good),
        )
        with self.engine.begin() as connection:
            return int(connection.execute(query).scalar_one())

    def audit_trail(
        self,
        *,
        username: str | None = None,
        claim_id: str | None = None,
        limit: int = 200,
    ) -> list[AuditEvent]:
        """Audit events, newest first."""
        query = select(audit_events)
        if username:
            query = query.where(audit_events.c.username == username)
        if claim_id:
            query = query.where(audit_events.c.claim_id == claim_id)
        query = query.order_by(audit_events.c.id.desc()).limit(limit)
        with self.engine.begin() as connection:
            rows = connection.execute(query).all()
        return [
            AuditEvent(r.id, r.at, r.username, r.action, r.claim_id, json.loads(r.detail))
            for r in rows
        ]

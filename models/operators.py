"""Operators, their server-side sessions and the audit log: the state changes of /admin.

Passwords are hashed with Argon2 (argon2-cffi's defaults, RFC 9106's second recommended
profile); only the hash is stored. A session is a random token in the operator's cookie whose
SHA-256 is the row's key, so a copy of the database signs nobody in; logging out (or removing
the operator) revokes it for real.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, delete, select, update

from models.subscribers import normalize_email
from models.tables import AdminSession, AuditEntry, Operator, utcnow

HASHER = PasswordHasher()
# Verified when the address is unknown, so a wrong address costs the same time as a wrong
# password: timing does not tell which operators exist.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 12


class OperatorExists(ValueError):
    pass


def add(session: Session, email: str, password: str) -> Operator:
    """A new operator; raises OperatorExists, or ValueError for a short password."""
    email = normalize_email(email)
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    if session.exec(select(Operator).where(Operator.email == email)).first() is not None:
        raise OperatorExists(f"{email} is already an operator")
    operator = Operator(email=email, password_hash=HASHER.hash(password))
    session.add(operator)
    session.flush()
    return operator


def all_operators(session: Session) -> list[Operator]:
    return list(session.exec(select(Operator).order_by(Operator.email)))


def remove(session: Session, email: str) -> bool:
    """Remove the operator and every session of theirs; False if there was none."""
    operator = session.exec(
        select(Operator).where(Operator.email == normalize_email(email))
    ).first()
    if operator is None:
        return False
    session.exec(delete(AdminSession).where(col(AdminSession.operator_id) == operator.id))
    session.delete(operator)
    session.flush()
    return True


def authenticate(session: Session, email: str, password: str) -> Operator | None:
    """The operator whose password this is, or None (same cost for an unknown address)."""
    try:
        email = normalize_email(email)
    except ValueError:
        email = ""
    operator = session.exec(select(Operator).where(Operator.email == email)).first()
    try:
        HASHER.verify(operator.password_hash if operator else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if operator is None:
        return None
    if HASHER.check_needs_rehash(operator.password_hash):
        operator.password_hash = HASHER.hash(password)
    operator.last_login_at = utcnow()
    session.add(operator)
    return operator


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, operator: Operator, lifetime: timedelta) -> str:
    """A new session for the operator; returns the token for their cookie (never stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        AdminSession(
            token_hash=_token_hash(token),
            operator_id=operator.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=utcnow() + lifetime,
        )
    )
    session.flush()
    return token


def signed_in(session: Session, token: str, now: datetime) -> tuple[Operator, str] | None:
    """(operator, CSRF token) of a live session, or None: unknown, expired or revoked."""
    row = session.exec(
        select(AdminSession, Operator)
        .join(Operator, col(Operator.id) == AdminSession.operator_id)
        .where(
            AdminSession.token_hash == _token_hash(token),
            col(AdminSession.revoked_at).is_(None),
            AdminSession.expires_at > now,
        )
    ).first()
    return (row[1], row[0].csrf_token) if row else None


def revoke(session: Session, token: str) -> None:
    session.exec(
        update(AdminSession)
        .where(col(AdminSession.token_hash) == _token_hash(token))
        .values(revoked_at=utcnow())
    )


def audit(
    session: Session,
    *,
    operator: str,
    action: str,
    target: str = "",
    detail: str = "",
    client: str = "",
) -> None:
    """One line of who did what, when."""
    session.add(
        AuditEntry(operator=operator, action=action, target=target, detail=detail, client=client)
    )


def audit_log(session: Session, limit: int = 50) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)))

"""Who is signed in to /admin, and the checks every admin request passes.

The session token lives in an HttpOnly, SameSite=Strict cookie scoped to /admin (Secure when
BASE_URL is https); the session itself is a database row, so signing out or removing the
operator ends it everywhere. Every state-changing request is a POST carrying the session's
CSRF token. The sign-in form, before any session exists, carries a token that must match a
cookie set with it (double submit). Sign-in attempts are counted per client and per account
like the mail-request limits (Redis when configured).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response

from config import Settings
from models import operators, session_scope, utcnow
from web.ratelimit import _digest, client_ip, take

SESSION_COOKIE = "paperboy_admin"
LOGIN_COOKIE = "paperboy_admin_login"
PATH = "/admin"


class NotSignedIn(Exception):
    """No live session: pages redirect to the sign-in form, anything else gets 401."""


class BadCsrf(Exception):
    """A POST without the session's CSRF token: refused, nothing changed."""


@dataclass(frozen=True)
class Admin:
    email: str
    csrf: str
    client: str


def set_cookie(response: Response, name: str, value: str, settings: Settings, **kw) -> None:
    response.set_cookie(
        name,
        value,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=settings.base_url.startswith("https://"),
        **kw,
    )


def _signed_in(request: Request) -> Admin:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotSignedIn
    with session_scope() as session:
        found = operators.signed_in(session, token, utcnow())
        if found is None:
            raise NotSignedIn
        operator, csrf = found
        return Admin(operator.email, csrf, client_ip(request))


def _posted(
    admin: Annotated[Admin, Depends(_signed_in)], csrf: Annotated[str, Form()] = ""
) -> Admin:
    if not secrets.compare_digest(csrf.encode(), admin.csrf.encode()):
        raise BadCsrf
    return admin


AdminDep = Annotated[Admin, Depends(_signed_in)]
AdminPostDep = Annotated[Admin, Depends(_posted)]


def login_csrf_ok(request: Request, posted: str) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    return bool(cookie) and secrets.compare_digest(cookie.encode(), posted.encode())


def count_login_attempt(settings: Settings, client: str, email: str) -> None:
    """Raise RateLimited when this client or this account has tried too often lately."""
    limits = (
        (f"ip:{_digest(client)}", settings.admin_login_per_ip),
        (f"account:{_digest(email.strip().lower())}", settings.admin_login_per_account),
    )
    take(settings, "admin-login", limits, settings.admin_login_window_seconds)

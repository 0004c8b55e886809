"""/admin: sign in and out, the dashboard, runs and subscribers. Pages are GETs that change
nothing; every change is a POST with the session's CSRF token, written to the audit log."""

from __future__ import annotations

import io
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from models import (
    DeliveryEvent,
    Digest,
    Feedback,
    RunState,
    SendRun,
    Subscriber,
    Suppression,
    operators,
    session_scope,
    subscribers,
)
from models.subscriber_files import exportable, write_rows
from web.admin import charts, dashboard
from web.admin.auth import (
    LOGIN_COOKIE,
    PATH,
    SESSION_COOKIE,
    AdminDep,
    AdminPostDep,
    count_login_attempt,
    login_csrf_ok,
    set_cookie,
)
from web.deps import SettingsDep
from web.notify import enqueue_notice
from web.pages import page
from web.ratelimit import client_ip
from worker.delivery import overview, runs

router = APIRouter(prefix=PATH)


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _audit(admin, action: str, target: str, detail: str = "") -> None:
    with session_scope() as session:
        operators.audit(
            session,
            operator=admin.email,
            action=action,
            target=target,
            detail=detail,
            client=admin.client,
        )


# signing in and out


@router.get("/login")
def login_form(settings: SettingsDep, error: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = page("admin/login.html", title="Sign in", csrf=token, error=error)
    set_cookie(response, LOGIN_COOKIE, token, settings, max_age=3600)
    return response


@router.post("/login")
def login(
    request: Request,
    settings: SettingsDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    if not login_csrf_ok(request, csrf):
        return page(
            "admin/login.html",
            title="Sign in",
            csrf="",
            error="This form expired. Reload the page and sign in again.",
            status=403,
        )
    client = client_ip(request)
    count_login_attempt(settings, client, email)
    with session_scope() as session:
        operator = operators.authenticate(session, email, password)
        if operator is None:
            operators.audit(session, operator=email[:320], action="sign-in refused", client=client)
            failed = True
        else:
            failed = False
            token = operators.open_session(
                session, operator, timedelta(hours=settings.admin_session_hours)
            )
            operators.audit(session, operator=operator.email, action="signed in", client=client)
    if failed:
        return _back(f"{PATH}/login?error=1")
    response = _back(PATH)
    set_cookie(
        response, SESSION_COOKIE, token, settings, max_age=int(settings.admin_session_hours * 3600)
    )
    response.delete_cookie(LOGIN_COOKIE, path=PATH)
    return response


@router.post("/logout")
def logout(request: Request, admin: AdminPostDep) -> Response:
    with session_scope() as session:
        operators.revoke(session, request.cookies[SESSION_COOKIE])
        operators.audit(session, operator=admin.email, action="signed out", client=admin.client)
    response = _back(f"{PATH}/login")
    response.delete_cookie(SESSION_COOKIE, path=PATH)
    return response


# the dashboard


@router.get("")
def home(admin: AdminDep, settings: SettingsDep) -> Response:
    with session_scope() as session:
        board = dashboard.build(session, settings)
        audit = operators.audit_log(session, 15)
        session.expunge_all()
    return page(
        "admin/dashboard.html",
        title="Dashboard",
        admin=admin,
        board=board,
        audit=audit,
        subscribers_chart=charts.lines(
            "Subscribers by status, day by day", board.days, board.subscribers
        ),
        editions_chart=charts.stacked_bars(
            "Each edition's digests", dashboard.edition_bars(board.editions)
        ),
        duration=overview.duration,
    )


# runs


@router.get("/runs")
def run_list(admin: AdminDep) -> Response:
    with session_scope() as session:
        lines = overview.recent_runs(session, 100)
    return page(
        "admin/runs.html", title="Runs", admin=admin, lines=lines, duration=overview.duration
    )


@router.get("/runs/{run_id}")
def run_page(run_id: int, admin: AdminDep) -> Response:
    with session_scope() as session:
        run = session.get(SendRun, run_id)
        if run is None:
            raise HTTPException(404)
        line = overview.run_line(session, run)
    return page(
        "admin/run.html",
        title=f"Run {run_id}",
        admin=admin,
        line=line,
        c=line.counts,
        duration=overview.duration,
    )


@router.post("/runs/{run_id}/{action}")
def run_action(run_id: int, action: str, admin: AdminPostDep) -> Response:
    """pause | resume | cancel, as `paperboy runs ...` does them."""
    from worker import tasks

    with session_scope() as session:
        run = session.get(SendRun, run_id)
        if run is None:
            raise HTTPException(404)
        active = run.state in (RunState.running, RunState.paused)
        if action == "pause":
            done = runs.pause(session, run_id, f"paused by {admin.email} (admin)")
            detail, ids = "", []
        elif action == "resume":
            done = runs.resume(session, run_id, operator=True)
            ids = runs.planned_ids(session, run_id) if done else []
            detail = f"{len(ids)} digests handed out again"
        elif action == "cancel":
            skipped = runs.cancel(session, run_id) if active else 0
            done, detail, ids = active, f"{skipped} unsent digests skipped", []
        else:
            raise HTTPException(404)
    _audit(admin, f"run {action}" if done else f"run {action} (no change)", f"run {run_id}", detail)
    if ids:
        tasks.dispatch(run_id, ids)  # with a broker this enqueues; in-process it sends
    return _back(f"{PATH}/runs/{run_id}")


# subscribers


@router.get("/subscribers")
def subscriber_search(admin: AdminDep, q: str = "") -> Response:
    query = q.strip().lower()[:320]
    with session_scope() as session:
        found = (
            list(
                session.exec(
                    select(Subscriber)
                    .where(col(Subscriber.email).contains(query, autoescape=True))
                    .order_by(Subscriber.email)
                    .limit(100)
                )
            )
            if query
            else []
        )
        suppressed = list(
            session.exec(
                select(Suppression).order_by(col(Suppression.created_at).desc()).limit(200)
            )
        )
        session.expunge_all()
    return page(
        "admin/subscribers.html",
        title="Subscribers",
        admin=admin,
        q=q,
        found=found,
        suppressed=suppressed,
    )


@router.get("/subscribers/export")
def subscriber_export(admin: AdminDep) -> Response:
    """The file `paperboy subscribers export` writes (JSONL of the active subscribers)."""
    buffer = io.StringIO()
    with session_scope() as session:
        count = write_rows(exportable(session), buffer, "jsonl")
    _audit(admin, "export", "subscribers", f"{count} rows")
    return Response(
        buffer.getvalue(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="subscribers.jsonl"'},
    )


@router.get("/subscribers/{subscriber_id}")
def subscriber_page(subscriber_id: int, admin: AdminDep) -> Response:
    with session_scope() as session:
        sub = session.get(Subscriber, subscriber_id)
        if sub is None:
            raise HTTPException(404)
        digests = list(
            session.exec(
                select(Digest)
                .where(Digest.subscriber_id == sub.id)
                .order_by(col(Digest.id).desc())
                .limit(30)
            )
        )
        votes = list(
            session.exec(
                select(Feedback)
                .where(Feedback.subscriber_id == sub.id)
                .order_by(col(Feedback.created_at).desc())
                .limit(50)
            )
        )
        events = list(
            session.exec(
                select(DeliveryEvent)
                .where(DeliveryEvent.recipient == sub.email)
                .order_by(col(DeliveryEvent.id).desc())
                .limit(50)
            )
        )
        suppression = session.get(Suppression, sub.email)
        session.expunge_all()
    return page(
        "admin/subscriber.html",
        title=sub.email,
        admin=admin,
        sub=sub,
        digests=digests,
        votes=votes,
        events=events,
        suppression=suppression,
    )


@router.post("/subscribers/{subscriber_id}/{action}")
def subscriber_action(subscriber_id: int, action: str, admin: AdminPostDep) -> Response:
    """unsubscribe | suppress | send-link."""
    source = f"admin:{admin.email}"
    with session_scope() as session:
        sub = session.get(Subscriber, subscriber_id)
        if sub is None:
            raise HTTPException(404)
        email = sub.email
        if action == "unsubscribe":
            subscribers.unsubscribe(session, sub, source)
        elif action == "suppress":
            subscribers.suppress(session, email, "operator", source)
        elif action != "send-link":
            raise HTTPException(404)
    if action == "send-link":
        enqueue_notice("link", subscriber_id)
    _audit(admin, f"subscriber {action}", email)
    return _back(f"{PATH}/subscribers/{subscriber_id}")

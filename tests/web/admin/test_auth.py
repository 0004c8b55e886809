"""/admin is closed by default: Argon2 hashes, server-side revocable sessions in a strict
cookie, CSRF on every POST, a sign-in rate limit, no-store everywhere, an audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select, update

from models import AdminSession, AuditEntry, Operator, RunState, SendRun, session_scope, utcnow
from tests.conftest import reset_caches
from tests.web.admin.conftest import EMAIL, PASSWORD, csrf_of, sign_in
from tests.web.conftest import active_subscriber
from tests.worker.sending import plan_run
from web.app import app

PAGES = ["/admin", "/admin/runs", "/admin/runs/1", "/admin/subscribers?q=reader",
         "/admin/subscribers/1", "/admin/subscribers/export"]  # fmt: skip
POSTS = ["/admin/runs/1/pause", "/admin/subscribers/1/suppress", "/admin/logout"]


def _run_state(run_id: int) -> str:
    with session_scope() as session:
        return session.get(SendRun, run_id).state


def test_the_password_is_stored_only_as_an_argon2_hash(operator: str) -> None:
    with session_scope() as session:
        row = session.exec(select(Operator)).one()
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash


def _assert_refused(client: TestClient) -> None:
    for path in PAGES:
        page = client.get(path, headers={"accept": "text/html"})
        assert (page.status_code, page.headers["location"]) == (303, "/admin/login"), path
        assert page.headers["cache-control"] == "no-store"
        api = client.get(path)
        assert api.status_code == 401 and "reader@" not in api.text, path
    for path in POSTS:
        assert client.post(path, data={"csrf": "x"}).status_code == 401, path


def test_without_a_session_nothing_is_shown_and_nothing_changes(client: TestClient) -> None:
    run_id, _ = plan_run(1)
    _assert_refused(client)
    assert _run_state(run_id) == RunState.running


def test_a_stale_or_signed_out_session_is_refused(admin) -> None:
    client, csrf = admin
    run_id, _ = plan_run(1)
    assert client.get("/admin").status_code == 200
    cookie = client.cookies.get("paperboy_admin")
    assert client.post("/admin/logout", data={"csrf": csrf}).status_code == 303
    client.cookies.set("paperboy_admin", cookie, path="/admin")  # replayed after sign-out
    _assert_refused(client)
    assert sign_in(client).status_code == 303
    with session_scope() as session:  # time passes: the new session expires
        session.exec(update(AdminSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    _assert_refused(client)
    assert _run_state(run_id) == RunState.running


def test_a_post_without_the_sessions_csrf_token_changes_nothing(admin) -> None:
    client, csrf = admin
    run_id, _ = plan_run(1)
    for token in ("", "forged"):
        refused = client.post(f"/admin/runs/{run_id}/pause", data={"csrf": token})
        assert refused.status_code == 403
    assert _run_state(run_id) == RunState.running
    assert client.post(f"/admin/runs/{run_id}/pause", data={"csrf": csrf}).status_code == 303
    assert _run_state(run_id) == RunState.paused


def test_the_sign_in_form_needs_its_csrf_cookie(client: TestClient, operator: str) -> None:
    client.get("/admin/login")
    posted = client.post(
        "/admin/login", data={"email": EMAIL, "password": PASSWORD, "csrf": "not-the-cookie"}
    )
    assert posted.status_code == 403 and "paperboy_admin=" not in posted.headers.get(
        "set-cookie", ""
    )


def test_the_session_cookie_is_httponly_strict_and_secure_over_https(
    client: TestClient, operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cookie = sign_in(client).headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie
    monkeypatch.setenv("BASE_URL", "https://paperboy.example")
    reset_caches()
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as secure:
        assert "Secure" in sign_in(secure).headers["set-cookie"]


def test_sign_in_attempts_are_limited_per_account_and_per_client(
    client: TestClient, operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_LOGIN_PER_ACCOUNT", "3")
    monkeypatch.setenv("ADMIN_LOGIN_PER_IP", "5")
    reset_caches()
    for _ in range(3):
        assert sign_in(client, password="wrong password!").headers["location"].endswith("error=1")
    limited = sign_in(client)  # even the right password waits now
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    # the refused attempt counted against neither limit: this client has tried 3 times, not 4
    assert sign_in(client, email="other@example.org").status_code == 303  # 4th
    assert sign_in(client, email="fourth@example.org").status_code == 303  # 5th from this client
    assert sign_in(client, email="third@example.org").status_code == 429  # the client's limit


def test_every_change_and_sign_in_is_audited(admin) -> None:
    client, csrf = admin
    run_id, _ = plan_run(1)
    sub = active_subscriber("someone@example.org")
    client.post(f"/admin/runs/{run_id}/pause", data={"csrf": csrf})
    client.post(f"/admin/subscribers/{sub}/suppress", data={"csrf": csrf})
    client.post("/admin/logout", data={"csrf": csrf})
    with session_scope() as session:
        log = [(a.operator, a.action, a.target) for a in session.exec(select(AuditEntry))]
    assert log == [
        (EMAIL, "signed in", ""),
        (EMAIL, "run pause", f"run {run_id}"),
        (EMAIL, "subscriber suppress", "someone@example.org"),
        (EMAIL, "signed out", ""),
    ]
    assert all(PASSWORD not in " ".join(row) for row in log)


def test_removing_an_operator_ends_their_sessions(admin) -> None:
    from models import operators

    client, _ = admin
    with session_scope() as session:
        assert operators.remove(session, EMAIL)
    assert client.get("/admin").status_code == 401
    assert csrf_of(client.get("/admin/login").text)

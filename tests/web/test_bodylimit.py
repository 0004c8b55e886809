"""A body over the limit is refused (413) before any route runs: nothing is changed, on every
POST route, whether or not the route would have read the body."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import select

from models import DeliveryEvent, Feedback, Subscriber, session_scope
from tests.conftest import reset_caches
from tests.web.conftest import active_subscriber, add_paper, token
from web.app import create_app

OVER = b"x" * (70 * 1024)  # the default MAX_BODY_BYTES is 64 KiB
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _state(home: Path) -> tuple:
    """Everything a POST could change: subscribers, votes, events, emails queued."""
    with session_scope() as session:
        people = [s.model_dump() for s in session.exec(select(Subscriber).order_by(Subscriber.id))]
        votes = session.exec(select(func.count()).select_from(Feedback)).one()
        events = session.exec(select(func.count()).select_from(DeliveryEvent)).one()
    outbox = sorted(p.name for p in (home / "outbox").glob("*.eml"))
    return people, votes, events, outbox


def _routes(sid: int, paper: str) -> list[str]:
    unsub, prefs = token("unsubscribe", sid), token("preferences", sid)
    return [
        f"/u/{unsub}",
        f"/u/{unsub}/weekly",
        f"/u/{unsub}/pause",
        f"/p/{prefs}",
        f"/p/{prefs}/resume",
        f"/p/{prefs}/seeds",
        f"/p/{prefs}/vote/clear",
        f"/p/{prefs}/revoke",
        f"/p/{prefs}/resubscribe",
        f"/p/{prefs}/email",
        f"/e/{token('email', sid, address='new@example.org')}",
        f"/f/{token('feedback', sid, paper_id=paper, vote=1)}",
        f"/c/{token('confirm', sid)}",
        "/subscribe",
        "/link",
        "/webhooks/sendgrid",
        "/admin/login",
    ]


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_oversized_post_is_refused_before_any_route_runs(
    client: TestClient, paperboy_home: Path, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    monkeypatch.setenv("WEBHOOK_MAX_BODY_BYTES", str(64 * 1024))
    reset_caches()
    sid = active_subscriber()
    paper = add_paper()
    before = _state(paperboy_home)
    with TestClient(create_app(), follow_redirects=False) as small:
        for path in _routes(sid, paper):
            body = (chunk for chunk in (OVER[:40_000], OVER[40_000:])) if streamed else OVER
            resp = small.post(path, content=body, headers=FORM)
            assert resp.status_code == 413, path
            assert _state(paperboy_home) == before, path
        page = small.post(
            f"/u/{token('unsubscribe', sid)}", content=OVER, headers={"Accept": "text/html", **FORM}
        )
    assert "Too much data" in page.text


def test_a_body_within_the_limit_reaches_the_route(client: TestClient) -> None:
    sid = active_subscriber()
    resp = client.post(
        f"/u/{token('unsubscribe', sid)}", content=b"List-Unsubscribe=One-Click", headers=FORM
    )
    assert resp.status_code == 200
    with session_scope() as session:
        assert session.get(Subscriber, sid).status == "unsubscribed"

"""Unsubscribe: GET changes nothing, one-click POST does, once, sends nothing, needs no broker."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models import Subscriber, SubscriberStatus, Suppression, session_scope, utcnow
from tests.web.conftest import active_subscriber, celery_broker, closed_port, token

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _state(subscriber_id: int) -> tuple[SubscriberStatus, Suppression | None]:
    with session_scope() as session:
        sub = session.get(Subscriber, subscriber_id)
        return sub.status, session.get(Suppression, sub.email)


def test_get_unsubscribe_shows_button_and_changes_nothing(client: TestClient) -> None:
    sid = active_subscriber()
    resp = client.get(f"/u/{token('unsubscribe', sid)}")
    assert resp.status_code == 200
    assert "Unsubscribe reader@example.org?" in resp.text
    assert 'method="post"' in resp.text
    assert _state(sid) == (SubscriberStatus.active, None)


def test_one_click_post_as_gmail_sends_it_unsubscribes_once_and_sends_no_email(
    paperboy_home: Path,
) -> None:
    """Exactly Gmail's request: no cookies, form-encoded `List-Unsubscribe=One-Click`."""
    from models import upgrade
    from web.app import app

    upgrade()
    sid = active_subscriber()
    url = f"/u/{token('unsubscribe', sid)}"
    with TestClient(app, cookies=None) as gmail:
        first = gmail.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert first.status_code == 200
        assert "set-cookie" not in first.headers
        status, suppression = _state(sid)
        assert status == SubscriberStatus.unsubscribed
        assert suppression.reason == "unsubscribe"
        with session_scope() as session:
            first_at = session.get(Subscriber, sid).unsubscribed_at
        assert gmail.post(url, data=ONE_CLICK).status_code == 200
    with session_scope() as session:
        assert session.get(Subscriber, sid).unsubscribed_at == first_at
    assert not (paperboy_home / "outbox").exists()  # the page is the confirmation: no email


def test_gentler_choices_change_the_schedule_not_the_subscription(client: TestClient) -> None:
    sid = active_subscriber()
    base = f"/u/{token('unsubscribe', sid)}"
    page = client.get(base).text
    assert "One digest a week instead" in page and "Pause for a month" in page
    assert client.post(f"{base}/weekly").status_code == 200
    assert client.post(f"{base}/pause").status_code == 200
    with session_scope() as session:
        sub = session.get(Subscriber, sid)
        assert (sub.status, sub.frequency) == (SubscriberStatus.active, "weekly")
        assert sub.paused_until is not None and sub.paused_until > utcnow().date()
    assert client.post(base).status_code == 200
    again = client.get(base).text  # an old email opened later: no choices left to offer
    assert "You&#39;re unsubscribed" in again and "Pause for a month" not in again


def test_unsubscribe_token_from_long_ago_still_works(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = active_subscriber()
    two_years_ago = time.time() - 2 * 365 * 86400
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: two_years_ago)
        old = token("unsubscribe", sid)
    assert client.post(f"/u/{old}", data=ONE_CLICK).status_code == 200
    assert _state(sid)[0] == SubscriberStatus.unsubscribed


def test_unsubscribe_needs_no_broker(client: TestClient, paperboy_home: Path) -> None:
    sid = active_subscriber()
    with celery_broker(f"redis://127.0.0.1:{closed_port()}/0"):
        resp = client.post(f"/u/{token('unsubscribe', sid)}", data=ONE_CLICK)
    assert resp.status_code == 200
    assert "unsubscribed" in resp.text
    status, suppression = _state(sid)
    assert status == SubscriberStatus.unsubscribed
    assert suppression is not None

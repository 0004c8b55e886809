"""Unsubscribe: GET changes nothing, one-click POST does, once, and survives a dead broker."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models import Subscriber, SubscriberStatus, Suppression, session_scope
from tests.web.conftest import active_subscriber, celery_broker, closed_port, notices, token

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


def test_one_click_post_unsubscribes_once_and_repeat_is_noop(
    client: TestClient, paperboy_home: Path
) -> None:
    sid = active_subscriber()
    url = f"/u/{token('unsubscribe', sid)}"
    first = client.post(url, data=ONE_CLICK)  # form-encoded, as mail providers send it
    assert first.status_code == 200
    status, suppression = _state(sid)
    assert status == SubscriberStatus.unsubscribed
    assert suppression.reason == "unsubscribe"
    assert len(notices(paperboy_home, "unsubscribed")) == 1
    with session_scope() as session:
        first_at = session.get(Subscriber, sid).unsubscribed_at

    second = client.post(url, data=ONE_CLICK)
    assert second.status_code == 200
    assert len(notices(paperboy_home, "unsubscribed")) == 1  # no second notice
    with session_scope() as session:
        assert session.get(Subscriber, sid).unsubscribed_at == first_at


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


def test_unsubscribe_stands_when_broker_is_unreachable(
    client: TestClient, paperboy_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sid = active_subscriber()
    with celery_broker(f"redis://127.0.0.1:{closed_port()}/0"), caplog.at_level(logging.ERROR):
        resp = client.post(f"/u/{token('unsubscribe', sid)}", data=ONE_CLICK)
    assert resp.status_code == 200
    assert "unsubscribed" in resp.text
    status, suppression = _state(sid)
    assert status == SubscriberStatus.unsubscribed
    assert suppression is not None
    assert "could not enqueue the 'unsubscribed' email" in caplog.text
    assert notices(paperboy_home, "unsubscribed") == []

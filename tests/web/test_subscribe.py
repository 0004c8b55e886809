"""Double opt-in through the real app: form -> confirm email in the outbox -> link -> welcome."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import update

from models import Subscriber, SubscriberStatus, Suppression, session_scope, subscribers, utcnow
from tests.web.conftest import active_subscriber, celery_broker, closed_port, link_in, notices


def _subscriber(address: str) -> Subscriber | None:
    with session_scope() as session:
        return subscribers.find(session, address)


def test_subscribe_then_confirm_link_activates_and_sends_welcome(
    client: TestClient, paperboy_home: Path
) -> None:
    resp = client.post(
        "/subscribe", data={"email": " New.Reader@Example.ORG ", "interests": "diffusion models"}
    )
    assert resp.status_code == 200
    assert "Check your inbox" in resp.text
    sub = _subscriber("new.reader@example.org")
    assert sub.status == SubscriberStatus.pending
    assert sub.interests == "diffusion models"
    (confirm_email,) = notices(paperboy_home, "confirm")
    assert confirm_email["To"] == "new.reader@example.org"
    assert notices(paperboy_home, "welcome") == []

    url = link_in(confirm_email, "/c/")
    page = client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert page.status_code == 200
    assert "You&#39;re subscribed" in page.text
    assert "/p/" in page.text  # a link to the preferences page
    assert _subscriber("new.reader@example.org").status == SubscriberStatus.active
    assert len(notices(paperboy_home, "welcome")) == 1

    again = client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert again.status_code == 200
    assert len(notices(paperboy_home, "welcome")) == 1  # idempotent: no second welcome


def test_subscribe_accepts_json(client: TestClient, paperboy_home: Path) -> None:
    resp = client.post("/subscribe", json={"email": "json@example.org", "interests": ["a", "b"]})
    assert resp.status_code == 200
    assert "confirmation link" in resp.json()["message"]
    assert _subscriber("json@example.org").interests == "a, b"
    assert len(notices(paperboy_home, "confirm")) == 1


def test_subscribe_invalid_email_is_422_with_message(
    client: TestClient, paperboy_home: Path
) -> None:
    form = client.post("/subscribe", data={"email": "not-an-address", "interests": "x"})
    assert form.status_code == 422
    assert "not a valid email address" in form.text
    assert 'value="not-an-address"' in form.text  # the form keeps what was typed
    api = client.post("/subscribe", json={"email": "a@@b"})
    assert api.status_code == 422
    assert "not a valid email address" in api.json()["detail"]
    bad_json = client.post(
        "/subscribe", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 422
    assert "not valid JSON" in bad_json.json()["detail"]
    assert not (paperboy_home / "outbox").exists()


def test_subscribe_active_address_same_answer_and_state_untouched(
    client: TestClient, paperboy_home: Path
) -> None:
    active_subscriber("known@example.org")
    before = _subscriber("known@example.org")
    known = client.post("/subscribe", data={"email": "known@example.org", "interests": "new"})
    unknown = client.post("/subscribe", data={"email": "fresh@example.org", "interests": "new"})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text.replace("fresh@", "known@")
    after = _subscriber("known@example.org")
    assert (after.status, after.interests, after.confirmed_at) == (
        before.status,
        before.interests,
        before.confirmed_at,
    )
    assert [m["To"] for m in notices(paperboy_home, "confirm")] == ["fresh@example.org"]


def test_subscribe_twice_sends_one_confirm_until_interval_passes(
    client: TestClient, paperboy_home: Path
) -> None:
    def sign_up_and_count() -> int:
        assert client.post("/subscribe", data={"email": "r@example.org"}).status_code == 200
        sent = notices(paperboy_home, "confirm")
        for path in (paperboy_home / "outbox").glob("*.eml"):
            path.unlink()  # count each attempt on its own
        return len(sent)

    assert sign_up_and_count() == 1
    assert sign_up_and_count() == 0  # within 10 minutes: same answer, no email
    assert sign_up_and_count() == 0
    with session_scope() as session:  # pretend the last one went out 11 minutes ago
        session.exec(update(Subscriber).values(confirm_sent_at=utcnow() - timedelta(minutes=11)))
    assert sign_up_and_count() == 1


def test_subscribe_bounced_address_gets_no_email(client: TestClient, paperboy_home: Path) -> None:
    with session_scope() as session:
        subscribers.mark_undeliverable(
            session, "gone@example.org", SubscriberStatus.bounced, "bounce", "test"
        )
    resp = client.post("/subscribe", data={"email": "gone@example.org"})
    assert resp.status_code == 200
    assert notices(paperboy_home, "confirm") == []
    with session_scope() as session:
        assert session.get(Suppression, "gone@example.org").reason == "bounce"


def test_old_confirm_link_does_not_undo_a_later_unsubscribe(
    client: TestClient, paperboy_home: Path
) -> None:
    client.post("/subscribe", data={"email": "u@example.org"})
    url = link_in(notices(paperboy_home, "confirm")[0], "/c/").removeprefix("http://127.0.0.1:8000")
    assert client.get(url).status_code == 200
    with session_scope() as session:
        subscribers.unsubscribe(session, subscribers.find(session, "u@example.org"), "test")
    resp = client.get(url)
    assert resp.status_code == 409
    assert "not activated" in resp.text
    assert _subscriber("u@example.org").status == SubscriberStatus.unsubscribed


def test_subscribe_when_broker_is_down_says_try_again_and_allows_retry(
    client: TestClient, paperboy_home: Path
) -> None:
    with celery_broker(f"redis://127.0.0.1:{closed_port()}/0"):
        down = client.post("/subscribe", data={"email": "later@example.org"})
    assert down.status_code == 503
    assert "try again" in down.text
    assert _subscriber("later@example.org").confirm_sent_at is None  # the slot is released
    retry = client.post("/subscribe", data={"email": "later@example.org"})
    assert retry.status_code == 200
    assert len(notices(paperboy_home, "confirm")) == 1

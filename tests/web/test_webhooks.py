"""SendGrid Signed Event Webhook through the real route: verify, normalize, store once, apply."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from emails.providers.base import EventType
from models import DeliveryEvent, Subscriber, SubscriberStatus, Suppression, session_scope
from tests.conftest import reset_caches
from tests.web.conftest import SendGridSigner, active_subscriber
from web.app import create_app

URL = "/webhooks/sendgrid"


def _event(event: str, email: str, event_id: str, **extra) -> dict:
    return {
        "email": email,
        "timestamp": 1763800000,
        "event": event,
        "sg_event_id": event_id,
        "sg_message_id": f"msg-{event_id}.filterdrecv-1",
        "paperboy_ref": "digest-7",
        **extra,
    }


@pytest.fixture
def keyed(signer: SendGridSigner, monkeypatch: pytest.MonkeyPatch) -> SendGridSigner:
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", signer.public_key)
    reset_caches()
    return signer


def _post(client: TestClient, signer: SendGridSigner, events: list[dict]):
    body = (json.dumps(events, separators=(",", ":")) + "\r\n").encode()  # SendGrid's framing
    return client.post(URL, content=body, headers=signer.headers(body))


def _statuses() -> dict[str, tuple[str, str | None]]:
    with session_scope() as session:
        subs = session.exec(select(Subscriber)).all()
        return {
            s.email: (
                s.status.value,
                (session.get(Suppression, s.email) or Suppression(email="", reason=None)).reason,
            )
            for s in subs
        }


def test_signed_events_are_recorded_and_applied(client: TestClient, keyed: SendGridSigner) -> None:
    for address in ("bounce@x.org", "spam@x.org", "unsub@x.org", "dropped@x.org", "ok@x.org"):
        active_subscriber(address)
    events = [
        _event("bounce", "Bounce@X.org", "e1", type="bounce", reason="550 5.1.1 no such user"),
        _event("spamreport", "spam@x.org", "e2"),
        _event("group_unsubscribe", "unsub@x.org", "e3", asm_group_id=1),
        _event("dropped", "dropped@x.org", "e4", reason="Bounced Address"),
        _event("delivered", "ok@x.org", "e5", response="250 OK"),
        _event("bounce", "ok@x.org", "e6", type="blocked", reason="temporarily deferred"),
        _event("brand_new_event", "ok@x.org", "e7"),
    ]
    resp = _post(client, keyed, events)
    assert resp.status_code == 200
    assert resp.json() == {"received": 7, "new": 7, "duplicate": 0, "applied": 4, "skipped": 0}
    assert _statuses() == {
        "bounce@x.org": ("bounced", "bounce"),
        "spam@x.org": ("complained", "spam_report"),
        "unsub@x.org": ("unsubscribed", "unsubscribe"),
        "dropped@x.org": ("bounced", "bounce"),
        "ok@x.org": ("active", None),
    }
    with session_scope() as session:
        stored = {e.event_id: e for e in session.exec(select(DeliveryEvent))}
    first = stored["e1"]
    assert (first.provider, first.event_type, first.recipient, first.ref) == (
        "sendgrid",
        EventType.bounced,
        "bounce@x.org",
        "digest-7",
    )
    assert first.occurred_at.tzinfo is not None
    assert first.occurred_at.timestamp() == 1763800000
    assert first.reason == "550 5.1.1 no such user"
    assert first.payload["sg_message_id"] == "msg-e1.filterdrecv-1"
    assert stored["e7"].event_type == EventType.unknown  # kept, not dropped
    assert stored["e6"].effect is None  # a "blocked" bounce is temporary: no suppression


def test_replayed_events_change_nothing(client: TestClient, keyed: SendGridSigner) -> None:
    sid = active_subscriber("bounce@x.org")
    events = [_event("bounce", "bounce@x.org", "e1", type="bounce")]
    assert _post(client, keyed, events).json()["new"] == 1
    with session_scope() as session:  # the reader comes back; a replay must not re-bounce them
        sub = session.get(Subscriber, sid)
        sub.status = SubscriberStatus.active
    replay = _post(client, keyed, events)
    assert replay.status_code == 200
    assert replay.json() == {"received": 1, "new": 0, "duplicate": 1, "applied": 0, "skipped": 0}
    with session_scope() as session:
        assert session.get(Subscriber, sid).status == SubscriberStatus.active
        assert len(session.exec(select(DeliveryEvent)).all()) == 1


def test_bounce_hardens_an_unsubscribe_suppression(
    client: TestClient, keyed: SendGridSigner
) -> None:
    active_subscriber("a@x.org")
    _post(client, keyed, [_event("unsubscribe", "a@x.org", "e1")])
    _post(client, keyed, [_event("bounce", "a@x.org", "e2", type="bounce")])
    assert _statuses()["a@x.org"] == ("bounced", "bounce")


@pytest.mark.parametrize("tamper", ["body", "signature", "timestamp", "other-key", "missing"])
def test_bad_signature_is_403_and_records_nothing(
    client: TestClient, keyed: SendGridSigner, tamper: str
) -> None:
    active_subscriber("bounce@x.org")
    body = json.dumps([_event("bounce", "bounce@x.org", "e1", type="bounce")]).encode()
    headers = keyed.headers(body)
    if tamper == "body":
        body = body.replace(b"bounce@x.org", b"other@x.org")
    elif tamper == "signature":
        headers["X-Twilio-Email-Event-Webhook-Signature"] = SendGridSigner().headers(body)[
            "X-Twilio-Email-Event-Webhook-Signature"
        ]
    elif tamper == "timestamp":
        headers["X-Twilio-Email-Event-Webhook-Timestamp"] = "1763800001"
    elif tamper == "other-key":
        headers = SendGridSigner().headers(body)
    else:
        del headers["X-Twilio-Email-Event-Webhook-Signature"]
    resp = client.post(URL, content=body, headers=headers)
    assert resp.status_code == 403
    assert "signature" in resp.json()["detail"]
    assert _statuses() == {"bounce@x.org": ("active", None)}
    with session_scope() as session:
        assert session.exec(select(DeliveryEvent)).all() == []


def test_missing_public_key_is_503_and_records_nothing(
    client: TestClient, signer: SendGridSigner
) -> None:
    active_subscriber("bounce@x.org")
    resp = _post(client, signer, [_event("bounce", "bounce@x.org", "e1", type="bounce")])
    assert resp.status_code == 503
    assert "SENDGRID_WEBHOOK_PUBLIC_KEY is not set" in resp.json()["detail"]
    assert _statuses() == {"bounce@x.org": ("active", None)}


def test_unusable_public_key_is_503(
    client: TestClient, signer: SendGridSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", "bm90IGEga2V5")
    reset_caches()
    resp = _post(client, signer, [])
    assert resp.status_code == 503
    assert "unusable" in resp.json()["detail"]


def test_signed_but_malformed_payload_is_400(client: TestClient, keyed: SendGridSigner) -> None:
    body = b'{"event": "bounce"}'
    resp = client.post(URL, content=body, headers=keyed.headers(body))
    assert resp.status_code == 400
    assert "JSON array" in resp.json()["detail"]


@pytest.mark.parametrize("age", [365 * 86400, 601, -3600])
def test_signed_but_stale_or_future_timestamp_is_refused(
    client: TestClient, keyed: SendGridSigner, age: int
) -> None:
    """A captured request replayed later carries its old (validly signed) timestamp."""
    active_subscriber("bounce@x.org")
    body = json.dumps([_event("bounce", "bounce@x.org", "e1", type="bounce")]).encode()
    resp = client.post(URL, content=body, headers=keyed.headers(body, str(int(time.time()) - age)))
    assert resp.status_code == 403
    assert "replay" in resp.json()["detail"]
    assert _statuses() == {"bounce@x.org": ("active", None)}


def test_oversized_body_is_refused_before_it_is_read(
    client: TestClient, keyed: SendGridSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_MAX_BODY_BYTES", "1000")
    reset_caches()
    events = [_event("delivered", f"r{i}@x.org", f"e{i}") for i in range(20)]
    with TestClient(create_app()) as small_limit:  # the limit is the app's, set when it is made
        resp = _post(small_limit, keyed, events)
    assert resp.status_code == 413
    with session_scope() as session:
        assert session.exec(select(DeliveryEvent)).all() == []


def test_one_bad_event_is_skipped_and_the_rest_applied(
    client: TestClient, keyed: SendGridSigner
) -> None:
    active_subscriber("bounce@x.org")
    events = [
        _event("delivered", "nul\x00@x.org", "e1"),
        {"timestamp": 1763800000, "event": "bounce", "sg_event_id": "e2"},  # no email
        "not an object",
        _event("bounce", "bounce@x.org", "e3", type="bounce"),
    ]
    resp = _post(client, keyed, events)
    assert resp.status_code == 200
    assert resp.json() == {"received": 4, "new": 1, "duplicate": 0, "applied": 1, "skipped": 3}
    assert _statuses() == {"bounce@x.org": ("bounced", "bounce")}

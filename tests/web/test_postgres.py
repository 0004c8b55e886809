"""The unsubscribe and webhook paths on PostgreSQL, with tasks going to a real Redis broker."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from fastapi.testclient import TestClient
from sqlmodel import select

from emails.providers import sendgrid
from models import DeliveryEvent, Subscriber, SubscriberStatus, Suppression, session_scope, upgrade
from tests.conftest import reset_caches
from tests.web.conftest import SendGridSigner, active_subscriber, celery_broker, token
from web.app import app
from worker.delivery import events

pytestmark = pytest.mark.services


class TestOnPostgres:
    @pytest.fixture
    def pg_client(
        self,
        production: str,
        redis_url: str,
        signer: SendGridSigner,
        monkeypatch: pytest.MonkeyPatch,
    ) -> Iterator[TestClient]:
        monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", signer.public_key)
        reset_caches()
        upgrade()
        with celery_broker(redis_url), TestClient(app) as client:
            yield client

    def test_one_click_unsubscribe_records_once_and_enqueues_nothing(
        self, pg_client: TestClient, redis_url: str
    ) -> None:
        sid = active_subscriber()
        url = f"/u/{token('unsubscribe', sid)}"
        assert pg_client.get(url).status_code == 200
        with session_scope() as session:
            assert session.get(Subscriber, sid).status == SubscriberStatus.active
        for _ in range(2):
            resp = pg_client.post(url, data={"List-Unsubscribe": "One-Click"})
            assert resp.status_code == 200
        with session_scope() as session:
            assert session.get(Subscriber, sid).status == SubscriberStatus.unsubscribed
            assert session.get(Suppression, "reader@example.org").reason == "unsubscribe"
        assert redis.Redis.from_url(redis_url).llen("send") == 0  # no "you left" email

    def test_concurrent_one_clicks_for_one_reader_all_succeed(self, pg_client: TestClient) -> None:
        """Gmail may deliver the same one-click twice at once: both answer 200, one row each."""
        sid = active_subscriber()
        url = f"/u/{token('unsubscribe', sid)}"
        with ThreadPoolExecutor(8) as pool:
            codes = list(
                pool.map(
                    lambda _: pg_client.post(url, data={"List-Unsubscribe": "One-Click"}), range(8)
                )
            )
        assert [r.status_code for r in codes] == [200] * 8
        with session_scope() as session:
            assert session.get(Subscriber, sid).status == SubscriberStatus.unsubscribed
            assert len(session.exec(select(Suppression)).all()) == 1

    def test_signed_webhook_applies_once(
        self, pg_client: TestClient, signer: SendGridSigner
    ) -> None:
        sid = active_subscriber("spam@x.org")
        body = json.dumps(
            [
                {
                    "email": "spam@x.org",
                    "event": "spamreport",
                    "timestamp": 1763800000,
                    "sg_event_id": "pg-1",
                    "sg_message_id": "m1.filter",
                    "paperboy_ref": "digest-1",
                }
            ]
        ).encode()
        first = pg_client.post("/webhooks/sendgrid", content=body, headers=signer.headers(body))
        assert first.json() == {"received": 1, "new": 1, "duplicate": 0, "applied": 1, "skipped": 0}
        replay = pg_client.post("/webhooks/sendgrid", content=body, headers=signer.headers(body))
        assert replay.json() == {
            "received": 1,
            "new": 0,
            "duplicate": 1,
            "applied": 0,
            "skipped": 0,
        }
        with session_scope() as session:
            assert session.get(Subscriber, sid).status == SubscriberStatus.complained
            assert session.get(Suppression, "spam@x.org").reason == "spam_report"
            (event,) = session.exec(select(DeliveryEvent)).all()
            assert event.occurred_at.timestamp() == 1763800000

    def test_concurrent_delivery_of_one_event_is_stored_and_applied_once(
        self, pg_client: TestClient
    ) -> None:
        sid = active_subscriber("bounce@x.org")
        parsed, _ = sendgrid.parse_events(
            [{"email": "bounce@x.org", "event": "bounce", "type": "bounce", "sg_event_id": "c1"}]
        )

        def record_elsewhere() -> events.EventCounts:
            with session_scope() as session:
                return events.record(session, parsed)

        with session_scope() as first, ThreadPoolExecutor(1) as pool:
            assert events.record(first, parsed).new == 1  # inserted, not yet committed
            second = pool.submit(record_elsewhere)
            time.sleep(0.5)
            assert not second.done()  # it waits on the unique (provider, event_id) index
            first.commit()
            counts = second.result(timeout=30)
        assert (counts.new, counts.duplicate) == (0, 1)
        with session_scope() as session:
            assert len(session.exec(select(DeliveryEvent)).all()) == 1
            assert session.get(Subscriber, sid).status == SubscriberStatus.bounced

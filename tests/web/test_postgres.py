"""The unsubscribe and webhook paths on PostgreSQL, with tasks going to a real Redis broker."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from config import get_settings
from emails.providers import sendgrid
from models import (
    DeliveryEvent,
    Digest,
    SendRun,
    Subscriber,
    SubscriberStatus,
    Suppression,
    digest_ref,
    session_scope,
    upgrade,
    utcnow,
)
from tests.conftest import reset_caches
from tests.web.conftest import SendGridSigner, active_subscriber, celery_broker, token
from tests.worker.sending import address, plan_run
from web.app import app
from worker.delivery import events, runs, send

pytestmark = pytest.mark.services
# The database fails mid-batch: the backend storing the third event is terminated.
DIE_AT_THIRD = """
CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$;
CREATE TRIGGER die_at_third BEFORE INSERT ON delivery_event
FOR EACH ROW WHEN (NEW.event_id = 'mid-2') EXECUTE FUNCTION die();
"""


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

    def test_a_database_failure_mid_batch_is_503_and_the_retry_stores_every_event(
        self, pg_client: TestClient, signer: SendGridSigner
    ) -> None:
        """The connection dies at the third event of five (its backend terminated, as when
        PostgreSQL restarts): 503, nothing kept; SendGrid's retry of the same batch is kept."""
        for i in range(5):
            active_subscriber(f"r{i}@x.org")
        batch = [
            {
                "email": f"r{i}@x.org",
                "event": "delivered",
                "timestamp": 1763800000,
                "sg_event_id": f"mid-{i}",
                "sg_message_id": f"m{i}.filter",
            }
            for i in range(5)
        ]
        body = json.dumps(batch).encode()
        with session_scope() as session:
            session.exec(text(DIE_AT_THIRD))
        first = pg_client.post("/webhooks/sendgrid", content=body, headers=signer.headers(body))
        assert first.status_code == 503 and first.headers["Retry-After"]
        with session_scope() as session:
            assert session.exec(select(DeliveryEvent)).all() == []  # the batch is not half-kept
            session.exec(text("DROP TRIGGER die_at_third ON delivery_event"))
        retry = pg_client.post("/webhooks/sendgrid", content=body, headers=signer.headers(body))
        assert retry.status_code == 200 and retry.json()["new"] == 5
        with session_scope() as session:
            stored = session.exec(select(DeliveryEvent.event_id)).all()
        assert sorted(stored) == [f"mid-{i}" for i in range(5)]

    def test_provider_evidence_settles_a_sending_digest_at_once(
        self, pg_client: TestClient, signer: SendGridSigner
    ) -> None:
        """Claimed digests whose requests the provider answered, the outcome never recorded
        (a database outage at that moment): their events settle them as they arrive, long
        before SEND_STALE_SECONDS, so `runs status` says nothing is left to send."""
        assert get_settings().send_stale_seconds == 900
        run_id, planned = plan_run(3)
        with session_scope() as session:
            assert send.claim(session, run_id, planned, utcnow()) == planned
        kinds = [("processed", {}), ("delivered", {}), ("dropped", {"reason": "Invalid"})]
        batch = [
            {
                "email": address(i),
                "event": kind,
                "timestamp": 1763800000,
                "sg_event_id": f"ev-{i}",
                "sg_message_id": f"m{i}.filter",
                "paperboy_ref": digest_ref(planned[i]),
                **extra,
            }
            for i, (kind, extra) in enumerate(kinds)
        ]
        body = json.dumps(batch).encode()
        resp = pg_client.post("/webhooks/sendgrid", content=body, headers=signer.headers(body))
        assert resp.status_code == 200
        with session_scope() as session:
            rows = [session.get(Digest, d) for d in planned]
            assert [(r.status, r.fail_reason) for r in rows] == [
                ("sent", None),
                ("sent", None),
                ("failed", "dropped"),
            ]
            assert rows[0].provider_message_id == "m0.filter"
            counts = runs.counts(session, session.get(SendRun, run_id))
        assert counts.pending == 0

"""Plan and send through the real path: exactly one email per subscriber per edition."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from cli.demo import DEMO_SUBSCRIBERS
from config import get_settings
from models import (
    Digest,
    DigestItem,
    DigestStatus,
    Subscriber,
    session_scope,
    subscribers,
    upgrade,
    utcnow,
)
from worker import delivery, tasks
from worker.fetch import load_sample


def _setup() -> None:
    upgrade()
    load_sample()
    with session_scope() as session:
        for email, interests in DEMO_SUBSCRIBERS:
            subscribers.subscribe(session, email, interests=interests, confirmed=True)


def test_plan_and_send_twice_sends_exactly_one_email_each(paperboy_home: Path) -> None:
    _setup()
    assert tasks.plan_due(ignore_send_hour=True)["planned"] == 3
    assert tasks.send_due()["enqueued"] == 0  # plan already sent them in-process
    again = tasks.plan_due(ignore_send_hour=True)
    assert again == {"planned": 0, "empty": 0, "already": 3}
    assert tasks.send_due()["enqueued"] == 0
    assert len(list((paperboy_home / "outbox").glob("*.eml"))) == 3
    with session_scope() as session:
        statuses = session.exec(select(Digest.status)).all()
    assert statuses == [DigestStatus.sent] * 3


def test_send_digest_twice_does_not_resend(paperboy_home: Path) -> None:
    _setup()
    tasks.plan_due(ignore_send_hour=True)
    with session_scope() as session:
        digest_id = session.exec(select(Digest.id)).first()
    result = delivery.send_digest(digest_id, get_settings())
    assert result.outcome == "not_claimed"
    assert "sent" in result.detail


def test_next_edition_never_repeats_a_paper(paperboy_home: Path) -> None:
    _setup()
    tasks.plan_due(ignore_send_hour=True)
    later = utcnow() + timedelta(days=1)
    from worker.planning import plan_edition

    with session_scope() as session:
        result = plan_edition(session, get_settings(), later, ignore_send_hour=True)
    assert len(result.planned) == 3
    with session_scope() as session:
        for sub in session.exec(select(Subscriber)):
            rows = session.exec(
                select(DigestItem.paper_id, Digest.edition)
                .join(Digest)
                .where(Digest.subscriber_id == sub.id)
            ).all()
            papers = [p for p, _ in rows]
            assert len({e for _, e in rows}) == 2
            assert len(papers) == len(set(papers)), sub.email


def test_killed_worker_mid_send_is_recorded_not_resent(paperboy_home: Path) -> None:
    """A digest left in `sending` (worker died) becomes a recorded failure, never a resend."""
    _setup()
    with session_scope() as session:
        from worker.planning import plan_edition

        # plan without sending: call the pure planner, not the task that enqueues sends
        planned = plan_edition(session, get_settings(), utcnow(), ignore_send_hour=True).planned
    stuck = planned[0]
    with session_scope() as session:
        assert delivery.claim(session, stuck, utcnow() - timedelta(hours=1))
    result = tasks.send_due()
    assert result == {"enqueued": 2, "stale_failed": 1}
    with session_scope() as session:
        digest = session.get(Digest, stuck)
    assert digest.status == DigestStatus.failed
    assert "not retried to avoid a duplicate" in digest.last_error
    assert len(list((paperboy_home / "outbox").glob("*.eml"))) == 2


def test_unsubscribed_before_send_is_skipped(paperboy_home: Path) -> None:
    _setup()
    with session_scope() as session:
        from worker.planning import plan_edition

        planned = plan_edition(session, get_settings(), utcnow(), ignore_send_hour=True).planned
        digest = session.get(Digest, planned[0])
        sub = session.get(Subscriber, digest.subscriber_id)
        subscribers.unsubscribe(session, sub, source="test")
    result = delivery.send_digest(planned[0], get_settings())
    assert result.outcome == "skipped"
    assert not list((paperboy_home / "outbox").glob(f"digest-{planned[0]}.eml"))

"""Plan and send through the real path: exactly one email per subscriber per edition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from sqlmodel import select

from cli.demo import DEMO_SUBSCRIBERS
from config import get_settings
from emails.render import build_digest
from models import (
    Digest,
    DigestItem,
    DigestStatus,
    Paper,
    RunState,
    SendRun,
    Subscriber,
    session_scope,
    subscribers,
    upgrade,
    utcnow,
)
from worker import tasks
from worker.delivery import runs, send
from worker.ingest.fetch import load_sample
from worker.ranking.planning import plan_edition


def _setup() -> None:
    upgrade()
    load_sample()
    with session_scope() as session:
        for email, interests in DEMO_SUBSCRIBERS:
            subscribers.subscribe(session, email, interests=interests, confirmed=True)


def test_plan_and_send_twice_sends_exactly_one_email_each(paperboy_home: Path) -> None:
    _setup()
    first = tasks.plan_due(ignore_send_hour=True)
    assert first["planned"] == 3 and first["run"]
    assert tasks.send_due()["enqueued"] == 0  # plan already sent them in-process
    again = tasks.plan_due(ignore_send_hour=True)
    assert again == {"planned": 0, "empty": 0, "already": 3, "run": None, "planning": 0}
    assert tasks.send_due()["enqueued"] == 0
    assert len(list((paperboy_home / "outbox").glob("*.eml"))) == 3
    with session_scope() as session:
        statuses = session.exec(select(Digest.status)).all()
        run = session.get(SendRun, first["run"])
    assert statuses == [DigestStatus.sent] * 3
    assert run.state == RunState.done


def test_send_chunk_twice_does_not_resend(paperboy_home: Path) -> None:
    _setup()
    run_id = tasks.plan_due(ignore_send_hour=True)["run"]
    with session_scope() as session:
        ids = list(session.exec(select(Digest.id)))
    assert send.send_chunk(run_id, ids, settings=get_settings()) == []  # nothing left to claim
    assert len(list((paperboy_home / "outbox").glob("*.eml"))) == 3


def test_next_edition_never_repeats_a_paper(paperboy_home: Path) -> None:
    _setup()
    tasks.plan_due(ignore_send_hour=True)
    later = utcnow() + timedelta(days=1)
    with session_scope() as session:  # news since the first edition (else it is a quiet day)
        session.connection().execute(update(Paper).values(first_seen=later - timedelta(hours=6)))
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


def test_unsubscribed_before_send_is_skipped(paperboy_home: Path) -> None:
    _setup()
    with session_scope() as session:
        planned = plan_edition(session, get_settings(), utcnow(), ignore_send_hour=True).planned
        run = runs.start(session, planned)
        digest = session.get(Digest, planned[0])
        sub = session.get(Subscriber, digest.subscriber_id)
        subscribers.unsubscribe(session, sub, source="test")
    results = {r.digest_id: r for r in send.send_chunk(run.id, planned, settings=get_settings())}
    assert results[planned[0]].outcome == "skipped"
    assert [results[d].outcome for d in planned[1:]] == ["sent", "sent"]
    assert not list((paperboy_home / "outbox").glob(f"digest-{planned[0]}.eml"))
    with session_scope() as session:
        counts = runs.counts(session, session.get(SendRun, run.id))
    assert (counts.sent, counts.skipped, counts.suppressed, counts.state) == (2, 1, 1, "done")


def test_local_date_names_the_edition(paperboy_home: Path) -> None:
    """A Tokyo reader's edition planned at 22:00 UTC on 21 November is Sunday 22 November."""
    upgrade()
    load_sample()
    with session_scope() as session:
        subscribers.subscribe(
            session, "tokyo@example.org", interests="image segmentation", confirmed=True
        )
        session.exec(update(Subscriber).values(timezone="Asia/Tokyo"))
    evening = datetime(2026, 11, 21, 22, 0, tzinfo=UTC)
    with session_scope() as session:
        (digest_id,) = plan_edition(session, get_settings(), evening, ignore_send_hour=True).planned
        digest = session.get(Digest, digest_id)
        sub = session.get(Subscriber, digest.subscriber_id)
        digest.planned_at = evening
        rendered = build_digest(send.digest_context(session, digest, sub, get_settings()))
    assert digest.edition == "2026-11-22"
    assert "Sunday, 22 November 2026" in rendered.text
    assert "Saturday" not in rendered.text

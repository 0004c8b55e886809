"""A quiet day: a reader whose topics match no new paper gets the day's trending papers, marked
"a quiet day for your topics", or no email, as they chose (`Subscriber.quiet_day`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from config import get_settings
from emails.render import QUIET_DAY, DigestContext, build_digest, paper_card
from models import (
    Digest,
    DigestItem,
    DigestStatus,
    Paper,
    session_scope,
    subscribers,
    upgrade,
    utcnow,
)
from worker.ingest.fetch import load_sample
from worker.ranking import planning

HOT = 4  # papers with upvotes: today's trending


def _day_with_an_old_topic() -> str:
    """The sample, some of it upvoted, and one paper moved out of the candidate window: its
    rare word is still known to the model (the corpus keeps 30 days), but no new paper has it."""
    upgrade()
    load_sample()
    now = utcnow()
    with session_scope() as session:
        (old,) = session.exec(
            select(Paper.id).where(col(Paper.abstract).contains("Butterworth"))
        ).all()
        ids = list(session.exec(select(Paper.id).where(Paper.id != old).order_by(Paper.id)))
        session.exec(update(Paper).where(col(Paper.id).in_(ids[:HOT])).values(upvotes=40))
        session.exec(
            update(Paper).where(Paper.id == old).values(first_seen=now - timedelta(days=10))
        )
    return old


def _plan() -> dict[str, tuple[DigestStatus, list[tuple[str, str]], str | None]]:
    with session_scope() as session:
        planning.plan_edition(session, get_settings(), utcnow(), ignore_send_hour=True)
        out = {}
        for digest in session.exec(select(Digest)):
            sub = session.get(subscribers.Subscriber, digest.subscriber_id)
            items = session.exec(
                select(DigestItem.section, DigestItem.paper_id)
                .where(DigestItem.digest_id == digest.id)
                .order_by(DigestItem.rank)
            ).all()
            out[sub.email] = (digest.status, list(items), digest.last_error)
        return out


def test_a_quiet_day_sends_trending_papers_marked_as_such_or_nothing(paperboy_home) -> None:
    _day_with_an_old_topic()
    with session_scope() as session:
        for email, choice in (("quiet@example.org", None), ("none@example.org", "no_email")):
            prefs = {"interests": "butterworth"} | ({"quiet_day": choice} if choice else {})
            subscribers.subscribe(session, email, confirmed=True, **prefs)
        subscribers.subscribe(session, "topics@example.org", confirmed=True, interests="graphs")
    plan = _plan()
    status, items, _ = plan["quiet@example.org"]  # the default: trending on a quiet day
    assert status == DigestStatus.planned
    assert [s for s, _ in items] == ["trending"] * HOT
    status, items, why = plan["none@example.org"]
    assert (status, items) == (DigestStatus.skipped, [])
    assert "no email on quiet days" in why
    status, items, _ = plan["topics@example.org"]  # a normal day: picks, then trending
    assert status == DigestStatus.planned and items[0][0] == "picks"


def test_the_quiet_day_digest_says_so() -> None:
    card = paper_card(
        title="A trending paper",
        abstract="Text.",
        authors=["A. Author"],
        reasons=[],
        more_url="https://m",
        less_url="https://l",
        upvotes=40,
    )
    ctx = DigestContext(
        to_email="r@example.org",
        frequency="daily",
        edition=utcnow().date(),
        papers=[],
        trending=[card],
        preferences_url="https://p",
        unsubscribe_url="https://u",
        unsubscribe_mailto="mailto:u@example.org",
        postal_address="1 Road",
        list_id="<x>",
        digest_ref="digest-1",
    )
    email = build_digest(ctx)
    assert email.subject.startswith(f"{QUIET_DAY}: 1 trending paper")
    assert QUIET_DAY in email.html and QUIET_DAY in email.text
    assert "picked for you" not in email.text

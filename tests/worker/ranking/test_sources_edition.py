"""Editions across sources, on PostgreSQL: a reader's chosen sources are their candidate pool,
and a send day on which none of them brought anything new is explained, not silent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from config import get_settings
from emails.render import build_digest
from emails.tokens import read_token
from models import (
    Digest,
    DigestItem,
    DigestStatus,
    Paper,
    QuietDay,
    Subscriber,
    session_scope,
    subscribers,
    upgrade,
)
from worker.delivery.send import digest_context
from worker.ingest.fetch import load_sample
from worker.ingest.store import upsert_papers
from worker.ranking.planning import plan_edition

NEURO = [
    (
        "10.1101/2026.11.18.600001",
        "Synaptic plasticity in cortical neurons during learning",
        "We record cortical neurons in mice and show synaptic plasticity shapes learning.",
    ),
    (
        "10.1101/2026.11.18.600002",
        "Dendritic spikes drive synaptic plasticity in hippocampal neurons",
        "Hippocampal neurons use dendritic spikes; synaptic plasticity follows them.",
    ),
    (
        "10.1101/2026.11.18.600003",
        "Cortical neurons encode reward prediction errors",
        "Recordings of cortical neurons in mice reveal reward prediction errors and learning.",
    ),
]
INTERESTS = "synaptic plasticity, cortical neurons, learning"


@pytest.fixture
def pg(production: str) -> str:
    upgrade()
    return production


def _paper(pid: str, title: str, abstract: str, *, source: str, seen: datetime, **kw) -> Paper:
    return Paper(
        id=pid,
        title=title,
        abstract=abstract,
        first_seen=seen,
        first_seen_by={source: seen.isoformat()},
        **kw,
    )


def _reader(email: str, *, sources: list[str], zone: str = "UTC", **prefs) -> int:
    with session_scope() as session:
        sub = subscribers.subscribe(
            session, email, confirmed=True, interests=INTERESTS, timezone=zone, **prefs
        )
        sub.sources = sources
        return sub.id


def _digest(session, sid: int) -> Digest | None:
    return session.exec(
        select(Digest).where(Digest.subscriber_id == sid).order_by(Digest.planned_at.desc())
    ).first()


def _items(session, digest: Digest) -> dict[str, str]:
    rows = session.exec(select(DigestItem).where(DigestItem.digest_id == digest.id))
    return {item.paper_id: item.section for item in rows}


def test_a_mixed_edition_picks_preprints_only_for_readers_who_chose_them(pg: str) -> None:
    load_sample()  # 600 arXiv papers
    now = datetime.now(UTC)
    records = [
        {"id": pid, "title": title, "abstract": abstract, "categories": ["neuroscience"]}
        for pid, title, abstract in NEURO
    ]
    with session_scope() as session:
        assert upsert_papers(session, records, "biorxiv").new == 3
    biologist = _reader("bio@example.org", sources=["biorxiv"], categories=["neuroscience"])
    both = _reader("both@example.org", sources=["arxiv", "biorxiv"])
    arxiv_only = _reader("ml@example.org", sources=["arxiv"])
    with session_scope() as session:
        result = plan_edition(session, get_settings(), now, ignore_send_hour=True)
        assert result.already == 0
        picked = {sid: _items(session, _digest(session, sid)) for sid in (biologist, both)}
        arxiv_digest = _digest(session, arxiv_only)
        got = _items(session, arxiv_digest)
        card = digest_context(
            session,
            _digest(session, biologist),
            session.get(subscribers.Subscriber, biologist),
            get_settings(),
        ).papers[0]
    dois = {pid for pid, _, _ in NEURO}
    assert set(picked[biologist]) <= dois and len(picked[biologist]) == 3
    assert set(picked[both]) & dois  # chosen beside arXiv: ranked in one pool
    assert not set(got) & dois  # never for the reader who chose arXiv only
    assert all(not pid.startswith("10.") for pid in got)
    opened = read_token(get_settings().signing_key(), "click", card.url.rsplit("/r/", 1)[1])
    assert card.source == "bioRxiv" and opened.paper_id.startswith("10.1101/")  # counted, then
    # redirected to the paper's DOI page


# Thursday's arXiv announcement (20:00 US Eastern) reaches the API by 01:30 UTC on Friday.
THURSDAY_NEWS = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)


def _quiet_week(zone: str, last_edition: datetime) -> int:
    """A daily reader in `zone` (arXiv and Hugging Face, the defaults) whose last edition was
    planned at `last_edition`; arXiv papers announced Thursday night, HF trending since."""
    load_sample()
    with session_scope() as session:
        session.add_all(
            _paper(
                f"2611.0{n:04d}",
                f"Trending transformer paper {n}",
                "Transformers for everything.",
                source="hf",
                seen=THURSDAY_NEWS - timedelta(days=1),
                upvotes=100 + n,
            )
            for n in range(6)  # two days of "Trending today"
        )
        session.add(
            _paper(
                "2611.09999",
                "Synaptic plasticity rules for learning in spiking networks",
                "Cortical neurons and synaptic plasticity inspire a learning rule.",
                source="arxiv",
                seen=THURSDAY_NEWS,
            )
        )
        session.flush()
        # everything else came earlier in the week
        for paper in session.exec(select(Paper).where(Paper.first_seen_by["sample"].isnot(None))):
            paper.first_seen = THURSDAY_NEWS - timedelta(days=2)
    sid = _reader(f"{zone.split('/')[1].lower()}@example.org", sources=[], zone=zone)
    with session_scope() as session:
        session.add(
            Digest(
                subscriber_id=sid,
                edition="earlier",
                status=DigestStatus.sent,
                planned_at=last_edition,
            )
        )
    return sid


def _plan_at(now: datetime, sid: int):
    with session_scope() as session:
        plan_edition(session, get_settings(), now)
        digest = _digest(session, sid)
        items = _items(session, digest)
        email = None
        if digest.status == DigestStatus.planned:
            sub = session.get(subscribers.Subscriber, sid)
            email = build_digest(digest_context(session, digest, sub, get_settings()))
        return digest, items, email


def test_quiet_saturday_in_los_angeles_sends_trending_and_says_why(pg: str) -> None:
    # Friday 07:00 in LA (15:00 UTC) got Thursday's announcement; Saturday 07:00 PST is
    # Saturday 10:00 US Eastern: arXiv announced nothing on Friday, nor yet on Saturday.
    sid = _quiet_week("America/Los_Angeles", datetime(2026, 11, 20, 15, 0, tzinfo=UTC))
    digest, items, email = _plan_at(datetime(2026, 11, 21, 15, 5, tzinfo=UTC), sid)
    assert digest.status == DigestStatus.planned and digest.edition == "2026-11-21"
    assert digest.note == (
        "arXiv does not announce on Fridays or Saturdays; Hugging Face brought nothing new"
    )
    # trending papers only: on a quiet day as many as the reader's papers per digest allows
    assert set(items.values()) == {"trending"} and len(items) == 6
    assert "2611.09999" not in items  # Thursday's news went out on Friday
    assert "arXiv does not announce on Fridays or Saturdays" in " ".join(email.text.split())
    assert "arXiv does not announce on Fridays or Saturdays" in email.html
    assert email.subject.startswith("A quiet day for your topics: 6 ")


def test_tokyo_saturday_brings_thursdays_news_and_its_sunday_is_quiet(pg: str) -> None:
    # Friday 07:00 in Tokyo is Thursday 17:00 US Eastern: before Thursday's announcement.
    sid = _quiet_week("Asia/Tokyo", datetime(2026, 11, 19, 22, 0, tzinfo=UTC))
    # Saturday 07:00 JST = Friday 17:00 US Eastern: Thursday's announcement is new to them.
    saturday, items, _ = _plan_at(datetime(2026, 11, 20, 22, 5, tzinfo=UTC), sid)
    assert saturday.edition == "2026-11-21" and saturday.note is None
    assert items.get("2611.09999") == "picks"
    # Sunday 07:00 JST = Saturday 17:00 US Eastern: nothing announced since.
    sunday, items, email = _plan_at(datetime(2026, 11, 21, 22, 5, tzinfo=UTC), sid)
    assert sunday.edition == "2026-11-22" and sunday.status == DigestStatus.planned
    assert sunday.note.startswith("arXiv does not announce on Fridays or Saturdays")
    assert set(items.values()) == {"trending"}
    assert "Nothing new from your sources today: arXiv does not announce" in " ".join(
        email.text.split()
    )


def test_a_quiet_day_sends_nothing_to_a_reader_who_asked_for_no_email(pg: str) -> None:
    sid = _quiet_week("America/Los_Angeles", datetime(2026, 11, 20, 15, 0, tzinfo=UTC))
    with session_scope() as session:
        session.get(Subscriber, sid).quiet_day = QuietDay.no_email
    digest, items, email = _plan_at(datetime(2026, 11, 21, 15, 5, tzinfo=UTC), sid)
    assert digest.status == DigestStatus.skipped and items == {} and email is None
    assert digest.last_error.startswith("arXiv does not announce on Fridays or Saturdays")

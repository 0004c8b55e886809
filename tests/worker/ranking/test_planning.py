"""Planning at scale: pages of subscribers, bulk writes, and a concurrent planner's rows winning."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from config import get_settings
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
from tests.conftest import reset_caches
from worker.ingest.fetch import load_sample
from worker.ranking import planning

INTERESTS = [
    "graph neural networks, message passing",
    "image segmentation, medical imaging",
    "reinforcement learning, policy gradient",
    "language models, machine translation",
    "bayesian inference, gaussian processes",
]


def _subscribers(n: int) -> list[int]:
    upgrade()
    load_sample()
    with session_scope() as session:
        return [
            subscribers.subscribe(
                session, f"reader{i}@example.org", interests=INTERESTS[i % 5], confirmed=True
            ).id
            for i in range(n)
        ]


def _plan():
    with session_scope() as session:
        return planning.plan_edition(session, get_settings(), utcnow(), ignore_send_hour=True)


def _items_by_subscriber() -> dict[int, list[str]]:
    with session_scope() as session:
        rows = session.exec(
            select(Digest.subscriber_id, DigestItem.paper_id, DigestItem.rank)
            .join(DigestItem, DigestItem.digest_id == Digest.id)
            .order_by(Digest.subscriber_id, DigestItem.rank)
        ).all()
    out: dict[int, list[str]] = {}
    for sid, pid, _ in rows:
        out.setdefault(sid, []).append(pid)
    return out


def test_pages_of_subscribers_plan_the_same_as_one_page(
    paperboy_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _subscribers(7)
    with session_scope() as session:
        subs = [subscribers.find(session, f"reader{i}@example.org") for i in range(7)]
        whole = planning.pick_papers(session, get_settings(), subs, utcnow())
    monkeypatch.setenv("PLAN_PAGE_SIZE", "2")
    reset_caches()
    result = _plan()
    assert sorted(result.edition_by_subscriber) == ids and len(result.planned) == 7
    planned = _items_by_subscriber()
    assert planned == {sid: [p.paper_id for p in whole[sid]] for sid in ids}
    assert all(0 < len(papers) <= 10 for papers in planned.values())  # no filler past 10
    again = _plan()
    assert (again.already, again.planned) == (7, [])


def test_a_concurrent_planners_digest_wins_without_error(
    paperboy_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another planner writes one subscriber's digest between our check and our insert."""
    ids = _subscribers(3)
    real_choose = planning.choose_papers

    def choose_then_race(session, settings, *, subs, now, **kw):
        choice = real_choose(session, settings, subs=subs, now=now, **kw)
        with session_scope() as other:
            other.add(Digest(subscriber_id=ids[1], edition=now.date().isoformat()))
        return choice

    monkeypatch.setattr(planning, "choose_papers", choose_then_race)
    result = _plan()
    assert result.already == 1 and len(result.planned) == 2
    assert ids[1] not in result.edition_by_subscriber
    with session_scope() as session:
        theirs = session.exec(select(Digest).where(Digest.subscriber_id == ids[1])).one()
        mixed_in = session.exec(
            select(func.count()).select_from(DigestItem).where(DigestItem.digest_id == theirs.id)
        ).one()
    assert theirs.status == DigestStatus.planned and mixed_in == 0  # none of our items in it
    assert sorted(_items_by_subscriber()) == [ids[0], ids[2]]


@pytest.mark.services
def test_a_concurrent_planners_digest_wins_on_postgresql(
    paperboy_home: Path, production: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_a_concurrent_planners_digest_wins_without_error(paperboy_home, monkeypatch)


def _read_as_planned(paperboy_home: Path) -> None:
    ids = _subscribers(1)
    with session_scope() as session:
        sub = subscribers.find(session, "reader0@example.org")
        sub.authors, sub.categories, sub.muted_words = ["Ada Lovelace"], ["cs.LG", "cs.CV"], []
        sub.sources = ["arxiv"]
        session.add(sub)
    with session_scope() as session:
        (row,), _, _ = planning.due_readers(session, utcnow(), True, ids)
    # the JSON lists as tuples: read only, and shared between the readers who have the same
    assert (row.authors, row.categories, row.muted_words, row.sources) == (
        ("Ada Lovelace",),
        ("cs.LG", "cs.CV"),
        (),
        ("arxiv",),
    )


def test_a_readers_lists_are_read_as_tuples(paperboy_home: Path) -> None:
    _read_as_planned(paperboy_home)


@pytest.mark.services
def test_a_readers_lists_are_read_as_tuples_on_postgresql(
    paperboy_home: Path, production: str
) -> None:
    _read_as_planned(paperboy_home)


def test_what_a_reader_had_is_read_from_the_digests_a_candidate_may_be_in(
    paperboy_home: Path,
) -> None:
    """A candidate is first seen in the window, so no digest sent before it holds one: those
    are not read; digests sent since, at no recorded time, or not sent yet, are."""
    (sid,) = _subscribers(1)
    now = utcnow()
    with session_scope() as session:
        papers = session.exec(select(Paper.id).order_by(Paper.id).limit(6)).all()
        digests = [  # (status, sent_at)
            (DigestStatus.sent, now - timedelta(days=30)),
            (DigestStatus.sent, now - timedelta(days=1)),
            (DigestStatus.sent, None),
            (DigestStatus.planned, None),
            (DigestStatus.sending, None),
            (DigestStatus.failed, None),
        ]
        for day, ((status, sent_at), paper) in enumerate(zip(digests, papers, strict=True)):
            digest = Digest(subscriber_id=sid, edition=f"2026-10-{day + 1:02d}", status=status)
            digest.sent_at = sent_at
            session.add(digest)
            session.flush()
            session.add(DigestItem(digest_id=digest.id, paper_id=paper, rank=0, score=1.0))
    with session_scope() as session:
        had = planning._already_sent(session, [sid], now - timedelta(days=8))
    assert had == {sid: set(papers[1:5])}

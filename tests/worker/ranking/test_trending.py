"""Every digest ends with "Trending today": the most upvoted papers not already picked."""

from __future__ import annotations

import email
from datetime import timedelta
from email.policy import default
from itertools import islice
from pathlib import Path

from sqlmodel import col, select

from config import get_settings
from models import (
    Digest,
    DigestItem,
    Paper,
    Subscriber,
    session_scope,
    subscribers,
    upgrade,
    utcnow,
)
from worker import tasks
from worker.ingest.fetch import load_sample
from worker.ranking.planning import pick_papers, plan_edition

GNN = "graph neural networks, message passing"


def _setup() -> dict[str, int]:
    """The bundled papers, four with nothing of GNN in them upvoted, and three readers: the
    default trending count, trending off, and no usable profile."""
    upgrade()
    load_sample()
    with session_scope() as session:
        unrelated = (  # nothing in common with GNN: the picks and trending stay apart
            p
            for p in session.exec(select(Paper).order_by(Paper.id)).all()
            if not {"graph", "graphs", "neural", "network", "networks", "message", "passing"}
            & set(f"{p.title} {p.abstract}".lower().replace("-", " ").split())
        )
        papers = list(islice(unrelated, 4))
        for votes, paper in zip((90, 70, 50, 30), papers, strict=True):
            paper.upvotes = votes
        ids = {}
        for name, interests, count in (("gnn", GNN, 3), ("off", GNN, 0), ("none", "", 3)):
            sub = subscribers.subscribe(
                session, f"{name}@example.org", interests=interests, confirmed=True
            )
            sub.trending_count = count
            ids[name] = sub.id
    return ids


def _items(subscriber_id: int) -> dict[str, list[tuple[str, list[str]]]]:
    with session_scope() as session:
        rows = session.exec(
            select(DigestItem)
            .join(Digest)
            .where(Digest.subscriber_id == subscriber_id)
            .order_by(col(Digest.id), col(DigestItem.rank))
        ).all()
        out: dict[str, list[tuple[str, list[dict]]]] = {}
        for item in rows:
            out.setdefault(item.section, []).append((item.paper_id, item.reasons))
    return out


def test_trending_today_follows_the_picks_without_repeating_them(paperboy_home: Path) -> None:
    ids = _setup()
    tasks.plan_due(ignore_send_hour=True)
    items = _items(ids["gnn"])
    picked = [pid for pid, _ in items["picks"]]
    trending = items["trending"]
    assert len(trending) == 3
    assert not {pid for pid, _ in trending} & set(picked)
    assert [reasons for _, reasons in trending] == [
        [{"kind": "trending", "text": "90 upvotes", "upvotes": 90}],
        [{"kind": "trending", "text": "70 upvotes", "upvotes": 70}],
        [{"kind": "trending", "text": "50 upvotes", "upvotes": 50}],
    ]
    assert "trending" not in _items(ids["off"])  # trending_count 0: no section
    none = _items(ids["none"])
    assert none["picks"] and "trending" not in none  # the digest is the trending list
    [sent] = [
        email.message_from_bytes(p.read_bytes(), policy=default)
        for p in (paperboy_home / "outbox").glob("*.eml")
        if "gnn@example.org" in p.read_text(errors="replace")
    ]
    text = sent.get_body(("plain",)).get_content()
    assert "Trending today" in text and "90 upvotes" in text
    assert "Trending today" in sent.get_body(("html",)).get_content()


def test_a_hot_paper_that_is_also_a_pick_is_shown_once(paperboy_home: Path) -> None:
    ids = _setup()
    with session_scope() as session:
        gnn = session.get(Subscriber, ids["gnn"])
        first = pick_papers(session, get_settings(), [gnn], utcnow())[gnn.id][0].paper_id
        session.get(Paper, first).upvotes = 500  # the hottest paper is also this reader's pick
    tasks.plan_due(ignore_send_hour=True)
    items = _items(ids["gnn"])
    assert items["picks"][0][0] == first
    assert [pid for pid, _ in items["trending"]] and first not in dict(items["trending"])
    assert len(items["trending"]) == 3
    with session_scope() as session:  # the next day: what was sent, picks or trending, stays out
        plan_edition(session, get_settings(), utcnow() + timedelta(days=1), ignore_send_hour=True)
    items = _items(ids["gnn"])
    shown = [pid for section in items.values() for pid, _ in section]
    assert len(shown) == len(set(shown))
    assert [r for _, r in items["trending"][3:]] == [
        [{"kind": "trending", "text": "30 upvotes", "upvotes": 30}]
    ]

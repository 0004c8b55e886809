"""A paper's title link counts a person's click as a soft like, and nothing else's."""

from __future__ import annotations

import email
from datetime import timedelta
from email.policy import default
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import col, select

from config import get_settings
from emails.tokens import make_token
from models import (
    Click,
    Digest,
    DigestItem,
    Paper,
    Subscriber,
    clicks,
    session_scope,
    subscribers,
    utcnow,
)
from models.reasons import Kind
from tests.web.conftest import token
from worker import tasks
from worker.ingest.fetch import load_sample
from worker.ranking.planning import pick_papers

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"}
GNN = "graph neural networks, message passing"


def _sent_digest(delivered_ago: timedelta) -> tuple[int, int, list[str]]:
    """The bundled papers (given pages of their own: the sample carries none, and a card
    without a page has no link to count), a GNN reader and their first digest, delivered
    `delivered_ago`."""
    load_sample()
    with session_scope() as session:
        for paper in session.exec(select(Paper)):
            paper.abs_url = f"https://papers.example.org/{paper.id}"
        sid = subscribers.subscribe(session, "gnn@example.org", interests=GNN, confirmed=True).id
    tasks.plan_due(ignore_send_hour=True)
    with session_scope() as session:
        digest = session.exec(select(Digest).where(Digest.subscriber_id == sid)).one()
        digest.sent_at = utcnow() - delivered_ago
        items = session.exec(
            select(DigestItem.paper_id)
            .where(DigestItem.digest_id == digest.id, DigestItem.section == "picks")
            .order_by(col(DigestItem.rank))
        ).all()
        return sid, digest.id, list(items)


def _open(client: TestClient, sid: int, digest_id: int, paper_id: str, **kw):
    url = f"/r/{token('click', sid, paper_id=paper_id, digest_id=digest_id)}"
    return client.request(kw.pop("method", "GET"), url, headers=kw.pop("headers", BROWSER))


def _opened(sid: int) -> list[str]:
    with session_scope() as session:
        return clicks.opened(session, [sid])[sid]


def test_the_digest_title_link_is_the_counted_redirect(
    client: TestClient, paperboy_home: Path
) -> None:
    sid, digest_id, picks = _sent_digest(timedelta(hours=1))
    [sent] = [
        email.message_from_bytes(p.read_bytes(), policy=default)
        for p in (paperboy_home / "outbox").glob("*.eml")
        if "gnn@example.org" in p.read_text(errors="replace")
    ]
    html = sent.get_body(("html",)).get_content()
    assert f"{get_settings().base_url}/r/" in html
    answer = _open(client, sid, digest_id, picks[0])
    assert answer.status_code == 303 and answer.headers["location"].startswith("http")


def test_a_scanners_burst_right_after_delivery_is_ignored(client: TestClient) -> None:
    sid, digest_id, picks = _sent_digest(timedelta(seconds=2))
    for paper in picks:  # a scanner opens every link as the mail arrives
        assert _open(client, sid, digest_id, paper).status_code == 303
    assert _opened(sid) == []
    with session_scope() as session:
        session.get(Digest, digest_id).sent_at = utcnow() - timedelta(hours=2)
        for row in session.exec(select(Click)):
            session.delete(row)
    for paper in picks[:4]:  # later, but every link within seconds: still a machine
        _open(client, sid, digest_id, paper)
    assert _opened(sid) == []
    _open(client, sid, digest_id, picks[5], method="HEAD")  # a prefetcher, no browser
    _open(client, sid, digest_id, picks[6], headers={"User-Agent": "python-requests/2.32"})
    _open(client, sid, digest_id, picks[7], headers={**BROWSER, "Sec-Purpose": "prefetch"})
    assert _opened(sid) == []
    with session_scope() as session:
        assert not {c.paper_id for c in session.exec(select(Click))} & set(picks[5:8])


def test_a_persons_click_shapes_the_next_edition_and_is_never_named(
    client: TestClient,
) -> None:
    sid, digest_id, picks = _sent_digest(timedelta(hours=3))
    with session_scope() as session:
        sub = session.get(Subscriber, sid)
        before = pick_papers(session, get_settings(), [sub], utcnow() + timedelta(days=1))[sid]
    assert _open(client, sid, digest_id, picks[-1]).status_code == 303
    assert _opened(sid) == [picks[-1]]
    with session_scope() as session:
        sub = session.get(Subscriber, sid)
        after = pick_papers(session, get_settings(), [sub], utcnow() + timedelta(days=1))[sid]
    assert [p.paper_id for p in after] != [p.paper_id for p in before]
    assert not any(r.kind is Kind.LIKED for p in after for r in p.reasons)


def test_a_forged_or_replayed_click_changes_nothing(client: TestClient) -> None:
    sid, digest_id, picks = _sent_digest(timedelta(hours=3))
    forged = make_token("not-our-secret", "click", sid, 1, paper_id=picks[0], digest_id=digest_id)
    assert client.get(f"/r/{forged}", headers=BROWSER).status_code == 400
    assert client.get(f"/r/{token('feedback', sid, paper_id=picks[0], vote=1)}").status_code == 400
    other = next(p for p in ("sample-0001", "sample-0002", "sample-0003") if p not in picks)
    _open(client, sid, digest_id, other)  # signed, but that digest never carried it
    _open(client, sid, digest_id + 1, picks[0])  # nor is that digest the reader's
    with session_scope() as session:
        assert session.exec(select(Click)).all() == []
    for _ in range(3):  # the same link replayed: one click, minutes apart
        _open(client, sid, digest_id, picks[0])
    with session_scope() as session:
        assert len(session.exec(select(Click)).all()) == 1
    assert _opened(sid) == [picks[0]]

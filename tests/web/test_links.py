"""Signed links: forged, tampered, wrong-purpose and revoked tokens are refused, nothing changes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from emails.tokens import make_token
from models import Feedback, Subscriber, SubscriberStatus, Suppression, session_scope
from tests.web.conftest import active_subscriber, add_paper, token


def _bad_tokens(sid: int, purpose: str, **extra: object) -> dict[str, str]:
    good = token(purpose, sid, **extra)
    tampered_payload = token(purpose, sid + 1, **extra).split(".")[0]
    return {
        "forged": make_token("not-our-secret", purpose, sid, 1, **extra),
        "tampered": tampered_payload + "." + ".".join(good.split(".")[1:]),
        "wrong-purpose": token("preferences" if purpose != "preferences" else "unsubscribe", sid),
        "revoked": token(purpose, sid, version=0, **extra),
        "garbage": "not-a-token",
    }


ROUTES = [
    ("post", "/u/", "unsubscribe"),
    ("get", "/u/", "unsubscribe"),
    ("post", "/u/{}/pause", "unsubscribe"),
    ("post", "/p/", "preferences"),
    ("post", "/p/{}/revoke", "preferences"),
    ("post", "/p/{}/email", "preferences"),
    ("get", "/c/", "confirm"),
    ("post", "/c/", "confirm"),
    ("post", "/e/", "email"),
    ("get", "/d/", "digest"),
    ("post", "/f/", "feedback"),
]
KINDS = ["forged", "tampered", "wrong-purpose", "revoked", "garbage"]


@pytest.mark.parametrize(
    ("kind", "method", "prefix", "purpose"),
    [
        (kind, *route)
        for route in ROUTES
        for kind in KINDS
        if not (route[2] == "unsubscribe" and kind == "revoked")  # never revoked: see below
    ],
)
def test_bad_link_is_refused_and_changes_nothing(
    client: TestClient, kind: str, method: str, prefix: str, purpose: str
) -> None:
    sid = active_subscriber()
    active_subscriber("other@example.org")
    paper = add_paper()
    bad = _bad_tokens(sid, purpose, paper_id=paper, vote=1, address="new@example.org", digest_id=1)[
        kind
    ]
    path = prefix.format(bad) if "{}" in prefix else prefix + bad
    data = {
        "List-Unsubscribe": "One-Click",
        "interests": "hijacked",
        "timezone": "UTC",
        "new_email": "thief@example.org",
    }
    resp = client.request(method.upper(), path, data=data if method == "post" else None)
    assert resp.status_code == 400
    assert "This link doesn" in resp.text
    assert "Nothing was changed" in resp.text
    with session_scope() as session:
        for sub in session.exec(select(Subscriber)):
            assert sub.status == SubscriberStatus.active
            assert sub.interests == "graph neural networks"
            assert sub.token_version == 1
            assert (sub.paused_until, sub.pending_email) == (None, None)
        assert session.exec(select(Suppression)).all() == []
        assert session.exec(select(Feedback)).all() == []


def test_feedback_get_confirms_and_post_records_one_vote(client: TestClient) -> None:
    sid = active_subscriber()
    paper = add_paper(title="Graphs <b>bold</b>")
    more = token("feedback", sid, paper_id=paper, vote=1)
    page = client.get(f"/f/{more}")
    assert page.status_code == 200
    assert "Graphs &lt;b&gt;bold&lt;/b&gt;" in page.text
    with session_scope() as session:
        assert session.exec(select(Feedback)).all() == []  # GET records nothing

    assert client.post(f"/f/{more}").status_code == 200
    assert client.post(f"/f/{more}").status_code == 200  # a repeat click is an upsert
    less = token("feedback", sid, paper_id=paper, vote=-1)
    assert client.post(f"/f/{less}").status_code == 200  # a changed mind overwrites
    with session_scope() as session:
        rows = session.exec(select(Feedback)).all()
    assert [(r.subscriber_id, r.paper_id, r.value) for r in rows] == [(sid, paper, -1)]


def test_feedback_for_unknown_paper_is_404_and_records_nothing(client: TestClient) -> None:
    sid = active_subscriber()
    url = f"/f/{token('feedback', sid, paper_id='9999.99999', vote=1)}"
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    with session_scope() as session:
        assert session.exec(select(Feedback)).all() == []


def test_forged_feedback_token_is_refused(client: TestClient) -> None:
    sid = active_subscriber()
    paper = add_paper()
    forged = make_token("not-our-secret", "feedback", sid, 1, paper_id=paper, vote=1)
    assert client.post(f"/f/{forged}").status_code == 400
    with session_scope() as session:
        assert session.exec(select(Feedback)).all() == []

"""Preferences: hostile input is stored as text and shown escaped; bad values are a clear 422."""

from __future__ import annotations

from fastapi.testclient import TestClient

from models import (
    Frequency,
    Paper,
    Subscriber,
    SubscriberStatus,
    Suppression,
    feedback,
    session_scope,
    subscribers,
)
from tests.web.conftest import active_subscriber, add_paper, token

SCRIPT = '<script>alert("x")</script>'
VALID = {
    "interests": "graph neural networks",
    "authors": "Ada Lovelace, Alan Turing",
    "categories": "cs.LG\nstat.ML",
    "muted_words": "crypto",
    "frequency": "weekly",
    "max_papers": "5",
    "send_hour": "18",
    "timezone": "Europe/Berlin",
}


def _sub(sid: int) -> Subscriber:
    with session_scope() as session:
        return session.get(Subscriber, sid)


def test_save_preferences_stores_every_field(client: TestClient) -> None:
    sid = active_subscriber()
    resp = client.post(f"/p/{token('preferences', sid)}", data=VALID)
    assert resp.status_code == 200
    assert "Your preferences are saved" in resp.text
    sub = _sub(sid)
    assert sub.authors == ["Ada Lovelace", "Alan Turing"]
    assert sub.categories == ["cs.LG", "stat.ML"]
    assert sub.muted_words == ["crypto"]
    assert (sub.frequency, sub.max_papers, sub.send_hour, sub.timezone) == (
        Frequency.weekly,
        5,
        18,
        "Europe/Berlin",
    )


def test_hostile_preferences_are_stored_as_text_and_rendered_escaped(client: TestClient) -> None:
    sid = active_subscriber()
    url = f"/p/{token('preferences', sid)}"
    data = VALID | {"interests": SCRIPT, "authors": f'"><img src=x onerror=alert(1)>, {SCRIPT}'}
    assert client.post(url, data=data).status_code == 200
    sub = _sub(sid)
    assert sub.interests == SCRIPT
    assert sub.authors == ['"><img src=x onerror=alert(1)>', SCRIPT]
    page = client.get(url)
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "<img" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page.text


def test_invalid_time_zone_is_422_and_saves_nothing(client: TestClient) -> None:
    sid = active_subscriber()
    resp = client.post(
        f"/p/{token('preferences', sid)}",
        data=VALID | {"timezone": "Mars/Olympus_Mons", "interests": "changed"},
    )
    assert resp.status_code == 422
    assert "Time zone: unknown time zone &#39;Mars/Olympus_Mons&#39;" in resp.text
    assert "Europe/Berlin" in resp.text  # the hint names a real zone
    assert 'value="Mars/Olympus_Mons"' in resp.text  # the form keeps what was typed
    sub = _sub(sid)
    assert (sub.timezone, sub.interests) == ("UTC", "graph neural networks")


def test_out_of_range_numbers_are_422_with_field_names(client: TestClient) -> None:
    sid = active_subscriber()
    resp = client.post(
        f"/p/{token('preferences', sid)}",
        data=VALID | {"max_papers": "26", "send_hour": "24", "frequency": "hourly"},
    )
    assert resp.status_code == 422
    assert "Papers per digest: at most 25 papers per digest" in resp.text
    assert "Send hour:" in resp.text
    assert "How often:" in resp.text
    assert _sub(sid).max_papers == 10


def test_revoke_bumps_version_old_links_stop_working_but_unsubscribe_still_works(
    client: TestClient,
) -> None:
    """RFC 8058 and the law: an unsubscribe link in an email already sent keeps working."""
    sid = active_subscriber()
    paper = add_paper()
    old_prefs, old_unsub = token("preferences", sid), token("unsubscribe", sid)
    old_vote = token("feedback", sid, paper_id=paper, vote=1)
    resp = client.post(f"/p/{old_prefs}/revoke")
    assert resp.status_code == 200
    assert _sub(sid).token_version == 2
    assert client.get(f"/p/{old_prefs}").status_code == 400
    assert client.post(f"/f/{old_vote}").status_code == 400
    assert client.get(f"/p/{token('preferences', sid, version=2)}").status_code == 200
    assert client.get(f"/u/{old_unsub}").status_code == 200
    left = client.post(f"/u/{old_unsub}", data={"List-Unsubscribe": "One-Click"})
    assert left.status_code == 200
    assert _sub(sid).status == SubscriberStatus.unsubscribed


def test_preferences_page_lists_liked_papers(client: TestClient) -> None:
    sid = active_subscriber()
    paper = add_paper(title="Liked & <useful>")
    with session_scope() as session:
        feedback.record(session, sid, paper, 1)
    page = client.get(f"/p/{token('preferences', sid)}")
    assert "Papers you liked" in page.text
    assert "Liked &amp; &lt;useful&gt;" in page.text


def test_resubscribe_from_preferences_after_unsubscribe(client: TestClient) -> None:
    sid = active_subscriber()
    url = f"/p/{token('preferences', sid)}"
    client.post(f"/u/{token('unsubscribe', sid)}", data={"List-Unsubscribe": "One-Click"})
    assert "Resubscribe" in client.get(url).text
    assert client.post(f"{url}/resubscribe").status_code == 200
    assert _sub(sid).status == SubscriberStatus.active
    assert client.post(f"{url}/resubscribe").status_code == 409  # already active
    with session_scope() as session:
        assert subscribers.find(session, "reader@example.org").unsubscribed_at is None
        assert session.get(Suppression, "reader@example.org") is None


def _papers(*rows: tuple[str, str, str]) -> None:
    with session_scope() as session:
        session.add_all(
            Paper(id=pid, title=title, abstract=abstract) for pid, title, abstract in rows
        )


def test_picks_preview_runs_the_ranking_for_this_reader_and_follows_new_interests(
    client: TestClient,
) -> None:
    _papers(
        (
            "2411.00001",
            "Message passing graph neural networks",
            "Graph neural networks for molecules.",
        ),
        ("2411.00002", "Protein folding with diffusion", "Diffusion models fold proteins."),
        ("2411.00003", f"{SCRIPT} graph neural networks", "Graph neural networks, hostile title."),
    )
    sid = active_subscriber()  # interests: graph neural networks
    url = f"/p/{token('preferences', sid)}"
    assert f'href="{url}/picks"' in client.get(url).text
    resp = client.get(f"{url}/picks")
    assert resp.status_code == 200
    assert "Message passing graph neural networks" in resp.text
    assert "Protein folding" not in resp.text
    assert "Why: matches" in resp.text and "graph neural networks" in resp.text
    assert SCRIPT not in resp.text and "&lt;script&gt;" in resp.text
    client.post(url, data=VALID | {"interests": "protein folding diffusion", "muted_words": ""})
    again = client.get(f"{url}/picks").text
    assert "Protein folding with diffusion" in again
    assert "Message passing graph neural networks" not in again


def test_picks_preview_needs_a_valid_link(client: TestClient) -> None:
    assert client.get("/p/forged.token.here/picks").status_code in (400, 403, 404)

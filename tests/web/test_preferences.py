"""Preferences: hostile input is stored as text and shown escaped; bad values are a clear 422."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime, time, timedelta
from email.policy import default

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from config import get_settings
from models import (
    Digest,
    DigestItem,
    Feedback,
    Frequency,
    Paper,
    Subscriber,
    SubscriberStatus,
    Suppression,
    feedback,
    session_scope,
    subscribers,
    utcnow,
)
from tests.web.conftest import active_subscriber, add_paper, link_in, notices, path_of, token

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
    assert "Send hour: must be at most 23" in resp.text
    assert (
        "How often: choose one of &#39;daily&#39;, &#39;weekly&#39; or &#39;off&#39;" in resp.text
    )
    assert "Input should" not in resp.text
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


def test_partial_post_changes_only_the_fields_sent(client: TestClient) -> None:
    sid = active_subscriber()
    url = f"/p/{token('preferences', sid)}"
    assert client.post(url, data=VALID).status_code == 200
    assert client.post(url, data={"send_hour": "9"}).status_code == 200
    sub = _sub(sid)
    assert sub.send_hour == 9
    assert (sub.interests, sub.authors, sub.timezone, sub.frequency) == (
        "graph neural networks",
        ["Ada Lovelace", "Alan Turing"],
        "Europe/Berlin",
        Frequency.weekly,
    )
    assert client.post(url, data={"authors": ""}).status_code == 200  # sent empty: cleared
    assert _sub(sid).authors == []


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("interests", "graphs\x00", "Interests: contains a control character"),
        ("authors", "Ada\x00", "Followed authors: contains a control character"),
        ("categories", "cs.LG, bogus.XX", "&#39;bogus.XX&#39; is not an arXiv category"),
        ("send_weekday", "9", "Weekday: must be at most 6"),
        ("max_papers", "ten", "Papers per digest: must be a whole number"),
        ("paused_until", "soon", "Pause until: must be a date like 2027-01-31"),
    ],
)
def test_bad_values_are_422_in_the_readers_words(
    client: TestClient, field: str, value: str, says: str
) -> None:
    sid = active_subscriber()
    resp = client.post(f"/p/{token('preferences', sid)}", data={field: value})
    assert resp.status_code == 422
    assert says in resp.text
    assert _sub(sid).interests == "graph neural networks"


def test_time_zone_is_a_select_with_the_stored_zone_chosen(client: TestClient) -> None:
    sid = active_subscriber()
    url = f"/p/{token('preferences', sid)}"
    client.post(url, data={"timezone": "America/Sao_Paulo", "send_hour": "6"})
    page = client.get(url).text
    assert '<option value="America/Sao_Paulo" selected>' in page
    assert '<option value="6" selected>06:00</option>' in page
    assert "data-browser-zone" in page and '<script src="/static/tz.js">' in page
    assert client.get("/static/tz.js").status_code == 200


def test_pause_and_weekday_are_what_the_planner_follows(client: TestClient) -> None:
    from models.schedule import is_due

    sid = active_subscriber()
    url = f"/p/{token('preferences', sid)}"
    until = utcnow().date() + timedelta(days=10)
    data = {"paused_until": until.isoformat(), "frequency": "weekly", "send_weekday": "2"}
    assert client.post(url, data=data).status_code == 200
    page = client.get(url).text
    assert f"paused until {until}" in page and "Resume now" in page

    def noon(day: date) -> datetime:
        return datetime.combine(day, time(12), tzinfo=UTC)

    wednesday = until + timedelta(days=(2 - until.weekday()) % 7)
    sub = _sub(sid)
    assert not is_due(sub, noon(wednesday - timedelta(days=7)))  # paused
    assert is_due(sub, noon(wednesday))
    assert not is_due(sub, noon(wednesday + timedelta(days=1)))  # not the chosen weekday
    assert client.post(f"{url}/resume").status_code == 200
    sub = _sub(sid)
    assert sub.paused_until is None
    assert is_due(sub, noon(wednesday - timedelta(days=7)))


def test_change_of_address_waits_for_the_new_mailbox(client: TestClient, paperboy_home) -> None:
    sid = active_subscriber()
    active_subscriber("taken@example.org")
    url = f"/p/{token('preferences', sid)}"
    resp = client.post(f"{url}/email", data={"new_email": "New@Example.org"})
    assert resp.status_code == 200 and "Check your new inbox" in resp.text
    assert _sub(sid).email == "reader@example.org"  # nothing changes yet
    (mail,) = notices(paperboy_home, "email_change")
    assert mail["To"] == "new@example.org"
    confirm = path_of(link_in(mail, "/e/"))
    assert "Use this address" in client.get(confirm).text
    assert _sub(sid).email == "reader@example.org"  # a GET changes nothing
    assert client.post(confirm).status_code == 200
    assert (_sub(sid).email, _sub(sid).pending_email) == ("new@example.org", None)

    client.post(url, data={})  # still the same reader's link
    client.post(f"{url}/email", data={"new_email": "taken@example.org"})
    taken = path_of(link_in(notices(paperboy_home, "email_change")[-1], "/e/"))
    refused = client.post(taken)
    assert refused.status_code == 409 and "already has a Paperboy subscription" in refused.text
    assert _sub(sid).email == "new@example.org"


def test_unlike_and_undislike_stop_shaping_the_profile(client: TestClient) -> None:
    sid = active_subscriber()
    liked, disliked = add_paper("2411.1", "Liked one"), add_paper("hep-th/9901001", "Old id")
    with session_scope() as session:
        feedback.record(session, sid, liked, 1)
        feedback.record(session, sid, disliked, -1)
    url = f"/p/{token('preferences', sid)}"
    page = client.get(url).text
    assert "Papers you disliked" in page and "Un-dislike" in page and "Un-like" in page
    for paper in (disliked, liked):
        cleared = client.post(f"{url}/vote/clear", data={"paper_id": paper})
        assert cleared.status_code == 200 and "no longer shapes your digest" in cleared.text
    with session_scope() as session:
        assert session.exec(select(Feedback)).all() == []


def test_view_in_browser_from_the_digest_and_the_preferences_list(
    client: TestClient, paperboy_home
) -> None:
    from worker import tasks

    sid = active_subscriber()
    paper = add_paper(title="A <b>bold</b> result")
    with session_scope() as session:
        digest = Digest(subscriber_id=sid, edition="2026-11-30")
        session.add(digest)
        session.flush()
        session.add(DigestItem(digest_id=digest.id, paper_id=paper, rank=1, score=0.5))
        digest_id = digest.id
    assert tasks.send_due()["enqueued"] == 1  # a run for it, sent in-process
    (eml,) = (paperboy_home / "outbox").glob("digest-*.eml")
    mail = email.message_from_bytes(eml.read_bytes(), policy=default)
    view = path_of(link_in(mail, "/d/"))
    page = client.get(view)
    assert page.status_code == 200 and "A &lt;b&gt;bold&lt;/b&gt; result" in page.text
    prefs = client.get(f"/p/{token('preferences', sid)}").text
    assert "Your last digests" in prefs and "2026-11-30" in prefs
    other = active_subscriber("other@example.org")
    stolen = token("digest", other, digest_id=digest_id)
    assert client.get(f"/d/{stolen}").status_code == 404


def test_trending_count_is_a_preference_and_over_the_limit_is_refused(client: TestClient) -> None:
    sid = active_subscriber()
    url = f"/p/{token('preferences', sid)}"
    assert 'name="trending_count"' in client.get(url).text
    assert client.post(url, data={"trending_count": "0"}).status_code == 200
    assert _sub(sid).trending_count == 0
    limit = get_settings().max_trending_count
    resp = client.post(url, data={"trending_count": str(limit + 1)})
    assert resp.status_code == 422
    assert f"Trending papers: at most {limit} trending papers" in resp.text
    assert _sub(sid).trending_count == 0

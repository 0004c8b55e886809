"""The preferences page: the reader's own papers added (and removable), the quiet-day choice, and
the category picker by name, grouped by archive, working without JavaScript."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import select

from models import Feedback, QuietDay, Subscriber, session_scope
from tests import FIXTURES
from tests.web.conftest import active_subscriber, token


def _sub(sid: int) -> Subscriber:
    with session_scope() as session:
        return session.get(Subscriber, sid)


def _liked(sid: int) -> set[str]:
    with session_scope() as session:
        return set(session.exec(select(Feedback.paper_id).where(Feedback.subscriber_id == sid)))


def test_papers_added_on_the_page_are_liked_and_removable(client: TestClient, arxiv) -> None:
    sid = active_subscriber()
    url = f"/p/{token('preferences', sid)}"
    ris = (FIXTURES / "seeds" / "mendeley.ris").read_bytes()
    added = client.post(
        f"{url}/seeds",
        data={"seeds": "2611.10001"},
        files={"seed_file": ("lib.ris", ris, "application/x-research-info-systems")},
    )
    assert added.status_code == 422  # the third RIS record names no paper: nothing added
    assert "lib.ris:12: “A record that names no paper”" in added.text
    assert _liked(sid) == set()
    added = client.post(f"{url}/seeds", data={"seeds": "2611.10001\n2611.10004"})
    assert added.status_code == 200 and "2 of your papers now shape your digest" in added.text
    assert _liked(sid) == {"2611.10001", "2611.10004"}
    assert added.text.count('name="paper_id"') == 2  # each with its Un-like button
    client.post(f"{url}/vote/clear", data={"paper_id": "2611.10001"})
    assert _liked(sid) == {"2611.10004"}


def test_the_quiet_day_choice_is_saved(client: TestClient) -> None:
    sid = active_subscriber()
    url = f"/p/{token('preferences', sid)}"
    page = client.get(url).text
    assert "a quiet day for your topics" in page and 'name="quiet_day"' in page
    assert _sub(sid).quiet_day == QuietDay.trending
    assert client.post(url, data={"quiet_day": "no_email"}).status_code == 200
    assert _sub(sid).quiet_day == QuietDay.no_email
    refused = client.post(url, data={"quiet_day": "sometimes"})
    assert refused.status_code == 422 and "On a quiet day: choose one of" in refused.text


def test_categories_are_picked_by_name_grouped_by_archive_without_javascript(
    client: TestClient,
) -> None:
    sid = active_subscriber()
    url = f"/p/{token('preferences', sid)}"
    page = client.get(url).text
    assert "never hides the others" in page
    assert "<summary>Quantitative Biology</summary>" in page
    assert 'value="q-bio.NC"> Neurons and Cognition <span class="hint">q-bio.NC</span>' in page
    # what a browser without JavaScript sends: the hidden marker, then the ticked boxes
    client.post(url, data={"categories": ["", "q-bio.NC", "cs.LG"]})
    assert _sub(sid).categories == ["q-bio.NC", "cs.LG"]
    page = client.get(url).text
    assert 'value="q-bio.NC" checked>' in page
    client.post(url, data={"interests": "graphs"})  # a save without the picker keeps them
    assert _sub(sid).categories == ["q-bio.NC", "cs.LG"]
    client.post(url, data={"categories": [""]})  # every box unticked
    assert _sub(sid).categories == []

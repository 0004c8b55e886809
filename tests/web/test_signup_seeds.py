"""Sign-up says what to read (interests, papers or categories), starts from the reader's papers
(pasted ids, a .bib upload, an author search against the local arXiv stand-in), reports every
unusable one by its line, and the confirm page promises only what is true for that reader."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlmodel import select

from models import Feedback, SubscriberStatus, session_scope, subscribers
from tests import FIXTURES
from tests.web.conftest import link_in, notices, path_of
from web.subscribe import NEED_ONE, NO_PROFILE

BIB = FIXTURES / "seeds" / "zotero.bib"


def _liked(address: str) -> set[str]:
    with session_scope() as session:
        sub = subscribers.find(session, address)
        return set(session.exec(select(Feedback.paper_id).where(Feedback.subscriber_id == sub.id)))


def _confirm_page(client: TestClient, home: Path) -> str:
    (mail,) = notices(home, "confirm")
    return client.get(path_of(link_in(mail, "/c/"))).text


def test_a_sign_up_with_nothing_to_read_is_refused(client: TestClient, paperboy_home) -> None:
    form = client.post("/subscribe", data={"email": "empty@example.org", "interests": "  "})
    assert form.status_code == 422 and str(escape(NEED_ONE)) in form.text
    api = client.post("/subscribe", json={"email": "empty@example.org"})
    assert api.status_code == 422 and NEED_ONE in api.json()["detail"]
    with session_scope() as session:
        assert subscribers.find(session, "empty@example.org") is None
    assert notices(paperboy_home, "confirm") == []


def test_categories_alone_are_told_they_get_trending_papers(client, paperboy_home) -> None:
    resp = client.post("/subscribe", data={"email": "cats@example.org", "categories": ["cs.LG"]})
    assert resp.status_code == 200
    page = _confirm_page(client, paperboy_home)
    assert str(escape(NO_PROFILE)) in page  # before they confirm
    assert "Confirm my subscription" in page


def test_pasted_ids_and_a_bib_upload_become_liked_papers(client, paperboy_home, arxiv) -> None:
    bib = BIB.read_text().split("@book")[0]  # the entries that name arXiv papers
    resp = client.post(
        "/subscribe",
        data={
            "email": "seeded@example.org",
            "seeds": "2611.10004\nhttps://arxiv.org/abs/cs/0112017",
        },
        files={"seed_file": ("library.bib", bib.encode(), "application/x-bibtex")},
    )
    assert resp.status_code == 200, resp.text
    assert _liked("seeded@example.org") == {
        "2611.10001",
        "2611.10002",
        "2611.10003",
        "2611.10004",
        "cs/0112017",
    }
    page = _confirm_page(client, paperboy_home)
    assert "closest to your papers" in page and "a quiet day for your topics" in page
    (asked,) = arxiv.hits("/api/query")  # one id_list request for all five
    assert len(asked["id_list"].split(",")) == 5


def test_every_unusable_seed_is_shown_by_its_line_and_nothing_is_stored(
    client, paperboy_home, arxiv
) -> None:
    resp = client.post(
        "/subscribe",
        data={"email": "typo@example.org", "interests": "graphs", "seeds": "2611.10001\nhello"},
        files={"seed_file": ("refs.bib", BIB.read_bytes(), "text/plain")},
    )
    assert resp.status_code == 422
    for line in (
        "line 2: “hello”: not an arXiv id, arXiv URL or DOI",
        "refs.bib:27: “A Book Without Any Identifier”: no arXiv id or DOI in this entry",
        "refs.bib:33: “A Preprint arXiv Never Had”: arXiv has no paper with this id",
    ):
        assert line in resp.text
    assert "2611.10001\nhello</textarea>" in resp.text  # kept to fix
    with session_scope() as session:
        assert subscribers.find(session, "typo@example.org") is None
    assert notices(paperboy_home, "confirm") == []


def test_author_search_lists_papers_to_tick_then_subscribes_with_them(
    client, paperboy_home, arxiv
) -> None:
    found = client.post(
        "/subscribe", data={"email": "", "author": "Grace Lovelace", "find": "author"}
    )
    assert found.status_code == 200
    assert found.text.count('name="ticked"') == 5 and 'value="2611.10012"' in found.text
    resp = client.post(
        "/subscribe",
        data={"email": "grace@example.org", "ticked": ["2611.10001", "2611.10012"]},
    )
    assert resp.status_code == 200
    assert _liked("grace@example.org") == {"2611.10001", "2611.10012"}
    assert len(arxiv.hits("/api/query")) == 1  # the ticked papers were stored by the search
    with session_scope() as session:
        assert subscribers.find(session, "grace@example.org").status == SubscriberStatus.pending


def test_json_sign_up_takes_seeds_as_a_list(client, paperboy_home, arxiv) -> None:
    resp = client.post("/subscribe", json={"email": "api@example.org", "seeds": ["2611.10001"]})
    assert resp.status_code == 200
    assert _liked("api@example.org") == {"2611.10001"}
    bad = client.post("/subscribe", json={"email": "api2@example.org", "seeds": ["nope"]})
    assert bad.status_code == 422
    assert "line 1: “nope”: not an arXiv id, arXiv URL or DOI" in bad.json()["detail"]

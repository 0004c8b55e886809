"""The preferences page's sources: tick bioRxiv, type "neuroscience", and the digest follows."""

from __future__ import annotations

from fastapi.testclient import TestClient

from models import Subscriber, session_scope
from tests.web.conftest import active_subscriber, token


def _sub(sid: int) -> Subscriber:
    with session_scope() as session:
        return session.get(Subscriber, sid)


def test_the_page_offers_every_source_and_its_categories_by_name(client: TestClient) -> None:
    sid = active_subscriber()
    page = client.get(f"/p/{token('preferences', sid)}").text
    for name, label in (
        ("arxiv", "arXiv"),
        ("hf", "Hugging Face"),
        ("biorxiv", "bioRxiv"),
        ("medrxiv", "medRxiv"),
    ):
        assert f'value="{name}"> {label}</label>' in page
    assert 'value="sample"' not in page  # it counts as arXiv
    assert "neuroscience, paleontology" in page and "cardiovascular medicine" in page
    assert "none ticked = arXiv, Hugging Face" in page


def test_a_biologist_chooses_biorxiv_and_neuroscience(client: TestClient) -> None:
    sid = active_subscriber()
    url = f"/p/{token('preferences', sid)}"
    form = {"sources": ["", "biorxiv"], "categories": "Neuroscience, q-bio.NC"}
    resp = client.post(url, data=form)
    assert resp.status_code == 200, resp.text
    sub = _sub(sid)
    assert (sub.sources, sub.categories) == (["biorxiv"], ["neuroscience", "q-bio.NC"])
    assert 'value="biorxiv" checked> bioRxiv' in resp.text
    assert client.post(url, data={"interests": "cortex"}).status_code == 200
    assert _sub(sid).sources == ["biorxiv"]  # not sent: kept
    assert client.post(url, data={"sources": ""}).status_code == 200  # none ticked
    assert _sub(sid).sources == []  # the defaults again


def test_an_unknown_source_is_refused_in_the_readers_words(client: TestClient) -> None:
    sid = active_subscriber()
    resp = client.post(f"/p/{token('preferences', sid)}", data={"sources": ["", "ssrn"]})
    assert resp.status_code == 422
    assert "Sources: unknown source &#39;ssrn&#39;: choose among arxiv, hf, biorxiv" in resp.text
    assert _sub(sid).sources == []

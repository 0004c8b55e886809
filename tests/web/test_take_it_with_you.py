"""Everything to read and take away, through the real send path: a sent digest carries each
paper's id, PDF and full-abstract links and a table of contents; its archive page shows whole
abstracts and offers a BibTeX file; the reader's signed Atom feed lists their picks."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email.policy import default
from pathlib import Path
from xml.etree import ElementTree as ET

from fastapi.testclient import TestClient

from models import Digest, DigestItem, Paper, seeds, session_scope, subscribers
from tests.web.conftest import active_subscriber, link_in, path_of, token

ATOM = "{http://www.w3.org/2005/Atom}"
ABSTRACT = (
    "Motivation: Exploring graphs is hard. We propose a message passing scheme for link "
    "prediction that scales to billions of edges, such as social networks and citation graphs, "
    "without sampling. It beats every baseline. The last sentence is only on the archive page."
)
PAPERS = [
    ("2411.00001", "Message passing at scale", ["Ada Lovelace", "Alan Turing"]),
    ("10.1101/2024.01.01.000001", "A bioRxiv paper & {braces}", ["Rosalind Franklin"]),
    *((f"2411.0001{i}", f"Another paper number {i}", ["Grace Hopper"]) for i in range(5)),
]


def _sent_digest(home: Path) -> tuple[int, email.message.EmailMessage]:
    from worker import tasks

    sid = active_subscriber()
    with session_scope() as session:
        for pid, title, authors in PAPERS:
            session.add(
                Paper(
                    id=pid,
                    title=title,
                    authors=authors,
                    abstract=ABSTRACT,
                    categories=["cs.LG"] if pid.startswith("24") else [],
                    published=datetime(2024, 11, 1, tzinfo=UTC),
                    pdf_url="https://www.biorxiv.org/content/x.full.pdf" if "/" in pid else None,
                    first_seen_by={"arxiv": "2024-11-01"},
                )
            )
        session.flush()
        digest = Digest(subscriber_id=sid, edition="2026-11-30")
        session.add(digest)
        session.flush()
        for rank, (pid, _, _) in enumerate(PAPERS, start=1):
            session.add(DigestItem(digest_id=digest.id, paper_id=pid, rank=rank, score=0.5))
    assert tasks.send_due()["enqueued"] == 1
    (eml,) = (home / "outbox").glob("digest-*.eml")
    return sid, email.message_from_bytes(eml.read_bytes(), policy=default)


def test_every_card_links_its_id_pdf_and_full_abstract_under_a_table_of_contents(
    client: TestClient, paperboy_home: Path
) -> None:
    _, mail = _sent_digest(paperboy_home)
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    assert "In this digest" in html and 'href="#p7"' in html and 'id="p7"' in html
    assert "In this digest:" in text
    for part in (html, text):
        assert "arXiv:2411.00001" in part and "https://arxiv.org/abs/2411.00001" in part
        assert "https://arxiv.org/pdf/2411.00001" in part
        assert "doi:10.1101/2024.01.01.000001" in part
        assert "https://doi.org/10.1101/2024.01.01.000001" in part
        assert "https://www.biorxiv.org/content/x.full.pdf" in part
        assert "Motivation:" not in part  # the label goes; the teaser is whole sentences
        assert "Exploring graphs is hard." in part and "It beats every baseline." in part
        assert "only on the archive page" not in part
    archive = link_in(mail, "/d/")
    assert f"{archive}#p1" in text and f"{archive}#p1" in html


def test_the_archive_page_shows_whole_abstracts_and_offers_bibtex(
    client: TestClient, paperboy_home: Path
) -> None:
    _, mail = _sent_digest(paperboy_home)
    view = path_of(link_in(mail, "/d/"))
    page = client.get(view).text
    assert "The last sentence is only on the archive page." in page
    offered = re.search(r'href="([^"]+/d/[^"]+/bibtex)"', page)
    assert offered, "the archive page offers its BibTeX file"
    resp = client.get(path_of(offered.group(1)))
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/x-bib")
    assert 'filename="paperboy-2026-11-30.bib"' in resp.headers["content-disposition"]
    bib = resp.text
    assert bib.count("@misc{") == len(PAPERS)
    assert "lovelace2024message" in bib and "eprint = {2411.00001}" in bib
    assert "doi = {10.1101/2024.01.01.000001}" in bib and "\\&" in bib and "{braces}" not in bib
    assert bib.count("{") == bib.count("}")
    # the file reads back as the seeds it names, through the project's own .bib reader
    found = seeds.parse_file("digest.bib", bib)
    assert {s.paper_id for s in found} == {pid for pid, _, _ in PAPERS}
    other = active_subscriber("other@example.org")
    stolen = token("digest", other, digest_id=1)
    assert client.get(f"/d/{stolen}/bibtex").status_code == 404


def test_the_readers_atom_feed_lists_their_picks_and_is_revoked_with_their_links(
    client: TestClient, paperboy_home: Path
) -> None:
    sid, mail = _sent_digest(paperboy_home)
    feed_url = link_in(mail, "/feed/")
    prefs = client.get(f"/p/{token('preferences', sid)}").text
    assert path_of(feed_url) in prefs
    resp = client.get(path_of(feed_url))
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(
        "application/atom+xml"
    )
    root = ET.fromstring(resp.content)
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [title for _, title, _ in PAPERS]
    first = entries[0]
    links = {link.get("rel"): link.get("href") for link in first.findall(f"{ATOM}link")}
    assert links["alternate"] == "https://arxiv.org/abs/2411.00001"
    assert links["related"] == "https://arxiv.org/pdf/2411.00001"
    assert "/d/" in links["via"]
    assert first.findtext(f"{ATOM}summary").startswith("arXiv:2411.00001: Motivation")
    assert datetime.fromisoformat(first.findtext(f"{ATOM}updated")).tzinfo is not None

    with session_scope() as session:
        subscribers.revoke_links(session, session.get(subscribers.Subscriber, sid))
    assert client.get(path_of(feed_url)).status_code == 400
    forged = path_of(feed_url)[:-3] + "abc"
    assert client.get(forged).status_code == 400

"""The real path from database rows to the digest a subscriber sees, and `paperboy preview`."""

from __future__ import annotations

import email
from email.policy import default
from pathlib import Path

from typer.testing import CliRunner

from cli.demo import DEMO_SUBSCRIBERS
from cli.main import app
from config import get_settings
from emails.tokens import read_token
from models import (
    Digest,
    DigestItem,
    Frequency,
    Paper,
    session_scope,
    subscribers,
    upgrade,
    utcnow,
)
from models.reasons import POPULAR, Reason
from worker.delivery import send
from worker.delivery.send import digest_context


def test_digest_context_fills_cards_from_hugging_face_signals(paperboy_home: Path) -> None:
    upgrade()
    with session_scope() as session:
        sub = subscribers.subscribe(session, "reader@example.org", confirmed=True)
        sub.frequency = Frequency.weekly
        session.add(
            Paper(
                id="2611.00001",
                abs_url="https://arxiv.org/abs/2611.00001",
                title=r"$\sigma$-PCA " + "long " * 80,
                abstract="The abstract.",
                authors=[f"A{i}" for i in range(9)],
                ai_summary="The summary.",
                upvotes=42,
                num_comments=3,
                github_repo="https://github.com/org/repo",
                github_stars=1500,
                first_seen_by={"hf": "2026-11-20T00:00:00+00:00"},
            )
        )
        session.add(Paper(id="2611.00002", title="Plain arXiv paper", abstract="Words."))
        digest = Digest(subscriber_id=sub.id, edition="2026-11-22")
        session.add(digest)
        session.flush()
        for rank, (pid, reasons) in enumerate(
            [("2611.00001", [Reason.phrase("pca"), Reason.trending(42)]), ("2611.00002", [POPULAR])]
        ):
            stored = [r.to_json() for r in reasons]
            session.add(
                DigestItem(digest_id=digest.id, paper_id=pid, rank=rank, score=1.0, reasons=stored)
            )
        session.flush()
        ctx = digest_context(session, digest, sub, get_settings())
    hf, plain = ctx.papers
    assert hf.title.startswith("σ-PCA long") and hf.title.endswith("…")  # noqa: RUF001
    assert hf.url.startswith(f"{get_settings().base_url}/r/")  # counted, then the paper opens
    opened = read_token(get_settings().signing_key(), "click", hf.url.rsplit("/r/", 1)[1])
    assert (opened.paper_id, opened.digest_id) == ("2611.00001", digest.id)
    assert hf.pages == (("Hugging Face", "https://huggingface.co/papers/2611.00001"),)
    assert hf.source == "Hugging Face"  # listed by no text authority: its only source's label
    assert (hf.upvotes, hf.comments, hf.github_stars) == (42, 3, "1.5k")
    assert hf.github_url == "https://github.com/org/repo"
    assert hf.authors == "A0, A1, A2 et al." and hf.teaser == "The summary."
    assert hf.why == "matches “pca”; trending: 42 upvotes"
    assert (
        plain.pages == () and plain.source == "" and plain.github_url is None and plain.upvotes == 0
    )
    assert plain.why == "popular today"
    assert ctx.digest_ref == f"digest-{digest.id}"
    assert ctx.frequency == "weekly"  # the footer names the reader's digest, not "daily"


def test_a_paper_is_rendered_once_per_version_and_again_once_updated(
    paperboy_home: Path,
) -> None:
    upgrade()
    send.FACES.clear()
    with session_scope() as session:
        paper = Paper(id="2611.00003", title="First title", abstract="Words.")
        session.add(paper)
        readers = [
            subscribers.subscribe(session, f"r{i}@example.org", confirmed=True) for i in range(2)
        ]
        digests = [Digest(subscriber_id=r.id, edition="2026-11-22") for r in readers]
        session.add_all(digests)
        session.flush()
        session.add_all(
            DigestItem(digest_id=d.id, paper_id=paper.id, rank=0, score=1.0, reasons=[])
            for d in digests
        )
        session.flush()
        first, second = (
            digest_context(session, d, r, get_settings()).papers[0]
            for d, r in zip(digests, readers, strict=True)
        )
        assert len(send.FACES) == 1  # the second reader's card reused the paper's face
        assert first.title == second.title == "First title"
        assert first.more_url != second.more_url  # the reader's own links all the same
        paper.title, paper.updated_at = "Corrected title", utcnow()  # as ingest updates it
        session.flush()
        again = digest_context(session, digests[0], readers[0], get_settings()).papers[0]
    assert again.title == "Corrected title"
    assert len(send.FACES) == 2


def test_preview_writes_html_and_eml_and_prints_their_paths(paperboy_home: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["demo"]).exit_code == 0
    result = runner.invoke(app, ["preview", DEMO_SUBSCRIBERS[0][0]])
    assert result.exit_code == 0, result.output
    paths = [Path(line.split(":", 1)[1].strip()) for line in result.output.splitlines()]
    html, eml = sorted(paths, key=lambda p: p.suffix, reverse=True)
    assert html.suffix == ".html" and eml.suffix == ".eml"
    msg = email.message_from_bytes(eml.read_bytes(), policy=default)
    assert msg["To"] == DEMO_SUBSCRIBERS[0][0]
    in_eml = msg.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert in_eml.strip() == html.read_text(encoding="utf-8").strip()
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_preview_of_unknown_address_fails_clearly(paperboy_home: Path) -> None:
    result = CliRunner().invoke(app, ["preview", "nobody@example.org"])
    assert result.exit_code == 1 and "no subscriber" in result.output

"""The demo end to end on embedded defaults, through the real CLI."""

from __future__ import annotations

import email
from email.policy import default
from pathlib import Path

from typer.testing import CliRunner

from cli.demo import DEMO_SUBSCRIBERS
from cli.main import app
from config import get_settings
from emails.tokens import read_token
from worker.ingest.sources.sample import sample_papers
from worker.ranking import Model, PaperDoc

runner = CliRunner()


def _outbox(home: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=default)
        for p in sorted((home / "outbox").glob("*.eml"))
    ]


def test_demo_sends_one_parseable_email_per_subscriber(paperboy_home: Path) -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    messages = _outbox(paperboy_home)
    assert sorted(m["To"] for m in messages) == sorted(e for e, _ in DEMO_SUBSCRIBERS)
    for msg in messages:
        assert msg.get_content_type() == "multipart/alternative"
        assert msg.get_body(("plain",)).get_content().strip()
        assert "<html" in msg.get_body(("html",)).get_content()
        assert str(msg["List-Unsubscribe"]).strip().startswith("<http")
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (paperboy_home / "preview.html").exists()


def test_demo_prints_a_working_preferences_link_per_subscriber(paperboy_home: Path) -> None:
    result = runner.invoke(app, ["demo"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    links = dict(
        line.strip().split(": ", 1) for line in result.stdout.splitlines() if "/p/" in line
    )
    assert sorted(links) == sorted(e for e, _ in DEMO_SUBSCRIBERS)
    secret = get_settings().signing_key()
    ids = {
        read_token(secret, "preferences", url.rsplit("/", 1)[1]).subscriber_id
        for url in links.values()
    }
    assert len(ids) == len(DEMO_SUBSCRIBERS)


def test_demo_picks_match_each_subscribers_interests(paperboy_home: Path) -> None:
    """Each subscriber's papers are closer to their own interests than to the others' picks."""
    assert runner.invoke(app, ["demo"]).exit_code == 0
    papers = {p["title"]: PaperDoc(p["id"], p["title"], p["abstract"]) for p in sample_papers()}
    docs = list(papers.values())
    model = Model.fit(docs)
    matrix, index = model.embed_papers(docs), {d.id: i for i, d in enumerate(docs)}
    picks = {}
    for msg in _outbox(paperboy_home):
        text = " ".join(msg.get_body(("plain",)).get_content().split())  # undo the wrapping
        picks[msg["To"]] = [t for t in papers if " ".join(t.split()) in text]
        assert len(picks[msg["To"]]) >= 5
    interests = dict(DEMO_SUBSCRIBERS)
    for who, titles in picks.items():
        profile = model.embed_texts([interests[who]])

        def affinity(ts: list[str], profile=profile) -> float:
            rows = matrix[[index[papers[t].id] for t in ts]]
            return float((rows @ profile.T).mean())

        own = affinity(titles)
        for other, other_titles in picks.items():
            if other != who:
                assert own > affinity(other_titles), (who, other)


def test_demo_twice_sends_nothing_new(paperboy_home: Path) -> None:
    assert runner.invoke(app, ["demo"]).exit_code == 0
    first = {p.name: p.read_bytes() for p in (paperboy_home / "outbox").glob("*.eml")}
    again = runner.invoke(app, ["demo"])
    assert again.exit_code == 0
    assert "nothing new" in again.output
    second = {p.name: p.read_bytes() for p in (paperboy_home / "outbox").glob("*.eml")}
    assert second == first

"""Seeds through the real path: a file or ids -> the local arXiv stand-in (id_list, au:) -> stored
papers -> liked papers -> a plan that never sends them back; every unusable seed by its line."""

from __future__ import annotations

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cli.main import app
from cli.subscribers import NO_PROFILE
from config import get_settings
from models import Digest, DigestItem, Feedback, Paper, session_scope, subscribers
from models.seeds import parse_file, parse_lines
from tests import FIXTURES
from tests.conftest import reset_caches
from tests.worker.ingest.conftest import NOW, SINCE
from worker.ingest import seeds as lookup
from worker.ingest.fetch import run_source
from worker.ranking import planning

runner = CliRunner()
SEEDS = FIXTURES / "seeds"


@pytest.fixture
def quick(db, monkeypatch: pytest.MonkeyPatch):
    """Politeness kept (the rules are the fetch's), its waits made short for the test."""
    monkeypatch.setenv("ARXIV_MIN_INTERVAL_SECONDS", "0.01")
    monkeypatch.setenv("FETCH_BACKOFF_SECONDS", "0.01")
    reset_caches()
    return get_settings()


def _papers() -> dict[str, Paper]:
    with session_scope() as session:
        return {p.id: p for p in session.exec(select(Paper))}


def test_seeds_not_stored_are_looked_up_in_one_id_list_request(quick, providers) -> None:
    given = parse_file("refs.bib", (SEEDS / "zotero.bib").read_text(), origin="refs.bib:")
    given += parse_file("mine.txt", (SEEDS / "mine.txt").read_text(), origin="mine.txt:")
    result = lookup.resolve(given, quick)
    assert result.paper_ids == [
        "2611.10001",
        "2611.10002",
        "2611.10003",
        "2611.10009",
        "2611.10007",
        "cs/0112017",
    ]
    assert [p.describe() for p in result.problems] == [
        "refs.bib:27: “A Book Without Any Identifier”: no arXiv id or DOI in this entry",
        f"refs.bib:33: “A Preprint arXiv Never Had”: {lookup.NOT_ON_ARXIV}",
        f"refs.bib:38: “A Conference Paper With Its Publisher's DOI”: {lookup.UNKNOWN_DOI}",
        "mine.txt:5: “not-a-paper”: not an arXiv id, arXiv URL or DOI",
    ]
    (asked,) = providers.hits("/api/query")
    assert set(asked["id_list"].split(",")) == {*result.paper_ids, "2611.99999"}
    papers = _papers()
    assert set(papers) == set(result.paper_ids)
    for paper in papers.values():  # an old paper is not today's news
        assert paper.first_seen == paper.published and paper.abstract
    assert lookup.resolve(given, quick).paper_ids == result.paper_ids
    assert len(providers.hits("/api/query")) == 2  # only the unknown one is asked again


def test_arxiv_down_is_said_per_seed_and_stores_nothing(quick, providers) -> None:
    providers.respond("id_list", 503)
    result = lookup.resolve(parse_lines("2611.10001\n\n2611.10002"), quick)
    assert result.paper_ids == []
    assert [p.describe() for p in result.problems] == [
        f"line 1: “2611.10001”: {lookup.ARXIV_DOWN}",
        f"line 3: “2611.10002”: {lookup.ARXIV_DOWN}",
    ]
    assert len(providers.hits("/api/query")) == quick.fetch_max_attempts
    assert _papers() == {}


def test_author_search_lists_their_papers_newest_first_and_stores_them(quick, providers) -> None:
    found = lookup.search_author('Grace "Lovelace"', quick)
    assert len(found) == 5 and all("Grace Lovelace" in p.authors for p in found)
    dates = [p.published for p in found]
    assert set(_papers()) == {p.id for p in found} and dates == sorted(dates, reverse=True)
    assert providers.hits("/api/query")[0]["search_query"] == 'au:"Grace Lovelace"'


def test_cli_subscribe_with_seeds_likes_them_and_never_sends_them_back(
    quick, providers, clock, tmp_path
) -> None:
    assert run_source("arxiv", quick, since=SINCE, now=NOW, clock=clock, sleep=clock.sleep)
    result = runner.invoke(
        app,
        [
            "subscribe",
            "seeded@example.org",
            "--seed",
            "https://arxiv.org/abs/2611.10001v1",
            "--seed",
            "arXiv:2611.10002",
            "--seed",
            "2611.99999",
            "--seed-file",
            str(SEEDS / "mendeley.ris"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "4 of your papers added as liked papers" in result.output
    assert NO_PROFILE not in result.output  # the seeds are a profile
    assert f"--seed 3: “2611.99999”: {lookup.NOT_ON_ARXIV}" in result.output
    assert (
        "mendeley.ris:12: “A record that names no paper”: no arXiv id or DOI in this entry"
        in result.output
    )
    with session_scope() as session:
        sub = subscribers.find(session, "seeded@example.org")
        liked = set(session.exec(select(Feedback.paper_id).where(Feedback.subscriber_id == sub.id)))
        assert liked == {"2611.10001", "2611.10002", "2611.10004", "2611.10005"}
        assert sub.interests == ""  # the seeds alone are the profile
        plan = planning.plan_edition(session, quick, NOW, ignore_send_hour=True)
        assert len(plan.planned) == 1
        picked = set(session.exec(select(DigestItem.paper_id).join(Digest)))
    assert picked and not picked & liked  # picks made from the seeds, never a seed
    bare = runner.invoke(app, ["subscribe", "bare@example.org", "--category", "cs.LG"])
    assert bare.exit_code == 0 and NO_PROFILE in " ".join(bare.output.split())

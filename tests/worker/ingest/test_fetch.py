"""Fetch runs through the real path: local providers -> sources -> ingest -> DB -> run record."""

from __future__ import annotations

import json
import logging
from itertools import pairwise

import pytest
from sqlmodel import select

from config import get_settings
from models import Paper, SourceRun, session_scope, upgrade
from tests.worker.ingest.conftest import NOW, SINCE
from tests.worker.ingest.fake_providers import FIXTURES
from worker.ingest.fetch import run_source


def _run(source: str, clock):
    return run_source(source, get_settings(), since=SINCE, now=NOW, clock=clock, sleep=clock.sleep)


def _papers() -> dict[str, Paper]:
    with session_scope() as session:
        return {p.id: p for p in session.exec(select(Paper))}


def _hf_items() -> list[dict]:
    items = []
    for path in sorted((FIXTURES / "hf").glob("daily_papers_date_*.json")):
        items += json.loads(path.read_bytes())
    return items


def _both(clock):
    return _run("arxiv", clock), _run("hf", clock)


def test_run_source_merges_the_same_paper_from_both_sources_into_one_row(db, clock) -> None:
    arxiv_run, hf_run = _both(clock)
    assert arxiv_run.status == hf_run.status == "ok"
    papers = _papers()
    both = {pid for pid, p in papers.items() if {"arxiv", "hf"} <= p.first_seen_by.keys()}
    hf_ids = {item["paper"]["id"] for item in _hf_items()}
    arxiv_ids = {pid for pid, p in papers.items() if "arxiv" in p.first_seen_by}
    assert both == hf_ids & arxiv_ids and len(both) == 11  # 12 listed on both, 1 withdrawn
    assert len(papers) == arxiv_run.new + hf_run.new
    assert hf_run.new == len(hf_ids - arxiv_ids - {"2611.10008"})  # the withdrawn one skipped
    by_id = {item["paper"]["id"]: item for item in _hf_items()}
    for pid in both:
        p, item = papers[pid], by_id[pid]
        assert p.upvotes >= item["paper"]["upvotes"]
        assert p.num_comments == item["numComments"]
        assert p.abs_url.startswith("https://arxiv.org/abs/")  # arXiv's link, arXiv's text
        assert p.hf_submitted_at is not None and p.categories
    assert "cs/0112017" in papers  # old-style id intact through the whole path
    trending = json.loads((FIXTURES / "hf" / "daily_papers_sort_trending_p0.json").read_bytes())
    for item in trending:  # the trending list, read last, raised these papers' upvotes
        assert papers[item["paper"]["id"]].upvotes == item["paper"]["upvotes"]


def test_run_source_records_every_run(db, clock) -> None:
    _both(clock)
    with session_scope() as session:
        runs = session.exec(select(SourceRun).order_by(SourceRun.id)).all()
    assert [(r.source, r.status) for r in runs] == [("arxiv", "ok"), ("hf", "ok")]
    a = runs[0]
    assert a.window.startswith("2026-11-17 00:00..2026-11-21 12:00")
    assert a.fetched == 50 and a.fetched == a.new + a.updated + a.skipped
    assert a.skip_reasons == {
        "published before the window": 20,
        "duplicate in listing": 1,
        "withdrawn": 1,
    }
    assert a.finished_at is not None and a.duration_seconds is not None and a.error is None
    assert runs[1].fetched == 56 and runs[1].skip_reasons == {"withdrawn": 1}


def test_run_source_spaces_arxiv_requests_by_three_seconds(db, clock, providers) -> None:
    _run("arxiv", clock)
    times = [t for path, _, t in providers.requests if path.endswith("/api/query")]
    assert len(times) == 2 and all(b - a >= 3.0 for a, b in pairwise(times))


def test_second_fetch_updates_upvotes_without_new_rows(db, clock, providers) -> None:
    _both(clock)
    before = _papers()
    page = FIXTURES / "hf" / "daily_papers_date_2026-11-19_p0.json"
    items = json.loads(page.read_bytes())
    for item in items:
        item["paper"]["upvotes"] += 100
    providers.respond("date=2026-11-19&p=0", body=json.dumps(items).encode())
    arxiv_again, hf_again = _both(clock)
    assert (arxiv_again.new, arxiv_again.updated) == (0, 0)
    stored = [item for item in items if item["paper"]["id"] in before]
    assert len(stored) == len(items) - 1  # one of them is the withdrawn paper, never stored
    assert hf_again.new == 0 and hf_again.updated == len(stored)
    after = _papers()
    assert after.keys() == before.keys()
    for item in stored:
        pid = item["paper"]["id"]
        assert after[pid].upvotes == max(item["paper"]["upvotes"], before[pid].upvotes)
        assert after[pid].upvotes > before[pid].upvotes
        assert after[pid].first_seen_by == before[pid].first_seen_by


def test_bad_page_fails_the_run_keeps_stored_pages_and_the_other_source_runs(db, clock, providers):
    page1 = (FIXTURES / "arxiv" / "query_start_0025.xml").read_bytes()
    providers.respond("start=25", body=page1[: len(page1) // 3])  # truncated mid-entry
    arxiv_run, hf_run = _both(clock)
    assert arxiv_run.status == "failed"
    assert "start=25" in arxiv_run.error and "malformed or truncated XML" in arxiv_run.error
    assert arxiv_run.new == 24  # page 0 stayed stored (25 entries, one withdrawn)
    papers = _papers()
    assert sum("arxiv" in p.first_seen_by for p in papers.values()) == 24
    assert hf_run.status == "ok" and hf_run.new > 0
    with session_scope() as session:
        recorded = session.exec(select(SourceRun).where(SourceRun.source == "arxiv")).one()
    assert recorded.status == "failed" and recorded.error == arxiv_run.error


def test_source_down_records_a_failed_run_and_the_other_still_runs(
    db, clock, providers, caplog: pytest.LogCaptureFixture
) -> None:
    providers.respond("/api/query", 503, body=b"Service Unavailable")
    with caplog.at_level(logging.ERROR, logger="worker.ingest.fetch"):
        arxiv_run, hf_run = _both(clock)
    failures = [r for r in caplog.records if "fetch failed" in r.getMessage()]
    assert [r.exc_info for r in failures] == [None]  # one readable line, not a traceback
    assert "HTTP 503" in failures[0].getMessage()
    assert arxiv_run.status == "failed" and "gave up after 4 attempts" in arxiv_run.error
    assert "HTTP 503" in arxiv_run.error and arxiv_run.new == 0
    assert len(providers.hits("/api/query")) == 4
    assert hf_run.status == "ok" and len(_papers()) == hf_run.new


def test_since_far_back_is_clamped_to_the_max_days(db, clock) -> None:
    from datetime import UTC, datetime

    run = run_source(
        "hf",
        get_settings(),
        since=datetime(2020, 1, 1, tzinfo=UTC),
        now=NOW,
        clock=clock,
        sleep=clock.sleep,
    )
    assert "clamped from 2020-01-01" in run.window
    assert run.window.startswith("2026-11-07")


@pytest.mark.services
def test_run_source_merges_on_postgresql(providers, clock, production) -> None:
    upgrade()
    first = _both(clock)
    second = _both(clock)
    assert [r.status for r in first + second] == ["ok"] * 4
    assert [r.new for r in second] == [0, 0]
    papers = _papers()
    assert len(papers) == sum(r.new for r in first)
    assert sum({"arxiv", "hf"} <= p.first_seen_by.keys() for p in papers.values()) == 11


def test_store_merges_when_a_concurrent_fetch_inserted_the_same_paper(db) -> None:
    """Two workers fetching at once: the loser of the insert race merges instead of failing."""
    from sqlalchemy import event
    from sqlmodel import Session

    from models import get_engine
    from worker.ingest.fetch import store_page
    from worker.ingest.page import SourcePage

    record = {"id": "2611.99999", "title": "Raced", "upvotes": 5}
    raced = []

    def other_worker_inserts_first(session, flush_context, instances) -> None:
        if not raced:
            raced.append(True)
            with Session(get_engine()) as other:
                other.add(Paper(id="2611.99999", title="Raced", first_seen_by={"arxiv": "x"}))
                other.commit()

    event.listen(Session, "before_flush", other_worker_inserts_first)
    try:
        counts = store_page(SourcePage("p=0", records=[record]), "hf")
    finally:
        event.remove(Session, "before_flush", other_worker_inserts_first)
    assert raced and (counts.new, counts.updated) == (0, 1)
    (paper,) = _papers().values()
    assert paper.upvotes == 5 and set(paper.first_seen_by) == {"arxiv", "hf"}

"""No bad record stops a source: cleaned at ingest, skipped with its reason if the database
still refuses it, and an oversized answer refused before it is parsed."""

from __future__ import annotations

import itertools
import json

import httpx
import pytest
import redis
from sqlmodel import select

from config import get_settings
from models import Paper, SourceRun, session_scope, upgrade
from tests.conftest import reset_caches
from tests.worker.ingest.conftest import NOW, SINCE, FakeClock
from tests.worker.ingest.fake_providers import FIXTURES, FakeProviders
from worker.ingest.fetch import run_source
from worker.ingest.http import PoliteClient, Politeness, SharedPace, SourceError
from worker.ingest.store import MAX_AUTHORS, MAX_TITLE, clean_text, normalize

DAY = "date=2026-11-20&p=0"  # one recorded Hugging Face page
HF_DAY = {"date": "2026-11-21", "p": 0, "limit": 10}


def _hf(clock) -> SourceRun:
    return run_source("hf", get_settings(), since=SINCE, now=NOW, clock=clock, sleep=clock.sleep)


def _page_with(**changes) -> tuple[bytes, list[dict]]:
    """The recorded page with one item changed, first: one listed nowhere else."""
    items = json.loads((FIXTURES / "hf" / "daily_papers_date_2026-11-20_p0.json").read_bytes())
    items.insert(0, items.pop(2))
    items[0]["paper"] |= changes
    items[0].pop("title", None)  # the paper's own fields are read first anyway
    return json.dumps(items).encode(), items


def _stored() -> dict[str, Paper]:
    with session_scope() as session:
        return {p.id: p for p in session.exec(select(Paper))}


def test_clean_text_drops_control_characters_and_normalizes_unicode() -> None:
    assert clean_text("Graph\x00 Neural\x1b Networks\x7f") == "Graph Neural Networks"
    assert clean_text("Cafe\u0301 au lait") == "Café au lait"  # one code point, NFC
    assert clean_text("lone \ud800 surrogate") == "lone surrogate"


def test_normalize_caps_titles_abstracts_and_author_lists() -> None:
    values = normalize(
        {
            "id": "2611.00001",
            "title": "T" * 1_000_000,
            "abstract": "word " * 1_000_000,
            "authors": [f"Author {i}" for i in range(100_000)],
            "ai_summary": "S" * 1_000_000,
            "github_repo": "https://github.com/" + "a" * 10_000,
        }
    )
    assert len(values["title"]) == MAX_TITLE and len(values["abstract"]) <= 20_000
    assert len(values["authors"]) == MAX_AUTHORS and len(values["ai_summary"]) <= 20_000
    assert "github_repo" not in values  # a cut URL would be a broken link: left out instead


@pytest.mark.parametrize("on_postgres", [False, True], ids=["sqlite", "postgresql"])
def test_a_nul_title_is_cleaned_and_the_page_and_next_run_go_on(
    providers, clock, request, monkeypatch, on_postgres: bool
) -> None:
    if on_postgres:  # PostgreSQL is the database that refused the whole page
        request.getfixturevalue("production")
    upgrade()
    body, items = _page_with(title="Diffusion\x00 Models\x00 for\x07 Proteins")
    providers.respond(DAY, body=body)
    first, second = _hf(clock), _hf(clock)
    assert first.status == second.status == "ok", (first.error, second.error)
    stored = _stored()
    assert all(item["paper"]["id"] in stored for item in items)  # the good ones too
    assert stored[items[0]["paper"]["id"]].title == "Diffusion Models for Proteins"
    assert second.new == 0


@pytest.mark.services
def test_a_record_the_database_refuses_is_skipped_with_its_reason(
    providers, clock, production
) -> None:
    """An upvote count past PostgreSQL's integer: that record alone is skipped, every run."""
    upgrade()
    body, items = _page_with(upvotes=10**12)
    providers.respond(DAY, body=body)
    for run in (_hf(clock), _hf(clock)):
        assert run.status == "ok", run.error
        reasons = [r for r in run.skip_reasons if r.startswith("refused by the database")]
        assert reasons and run.skip_reasons[reasons[0]] == 1
    stored = _stored()
    assert items[0]["paper"]["id"] not in stored
    assert all(item["paper"]["id"] in stored for item in items[1:])


def test_an_oversized_answer_fails_its_request_and_keeps_what_was_stored(
    providers, clock, monkeypatch
) -> None:
    monkeypatch.setenv("FETCH_MAX_RESPONSE_BYTES", "1000000")
    reset_caches()
    upgrade()
    providers.respond("start=25", body=b"<feed>" + b" " * 2_000_000)
    run = run_source("arxiv", get_settings(), since=SINCE, now=NOW, clock=clock, sleep=clock.sleep)
    assert run.status == "failed"
    assert "1,000,000-byte limit" in run.error and "FETCH_MAX_RESPONSE_BYTES" in run.error
    assert run.new == 24  # the first page, read before, stays stored
    assert len(_stored()) == 24
    assert len(providers.hits("/api/query")) == 2  # refused, not retried


def test_a_stream_without_a_length_is_cut_at_the_limit(clock: FakeClock) -> None:
    sent = []

    def endless():
        for _ in range(1000):
            sent.append(1)
            yield b"x" * 10_000

    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=endless()))
    politeness = Politeness(min_interval=0.0, max_attempts=3)
    with (
        PoliteClient(
            "test", politeness, timeout=2, max_bytes=50_000, transport=transport, sleep=clock.sleep
        ) as client,
        pytest.raises(SourceError, match="50,000-byte limit"),
    ):
        client.get("https://example.org/huge")
    assert len(sent) < 10  # stopped reading a few chunks past the limit


@pytest.mark.services
def test_two_clients_keep_the_spacing_through_redis(
    providers: FakeProviders, clock: FakeClock, redis_url: str
) -> None:
    """Two processes fetching at once, as two clients with their own state: each books its
    turn in Redis, so together they still leave 3 s between requests."""
    politeness = Politeness(min_interval=3.0, max_attempts=1)
    url = f"{providers.url}/api/daily_papers"

    def client(pace: SharedPace | None) -> PoliteClient:
        return PoliteClient("hf", politeness, timeout=2, pace=pace, clock=clock, sleep=clock.sleep)

    shared = redis.Redis.from_url(redis_url)
    a, b = client(SharedPace(shared, "hf")), client(SharedPace(shared, "hf"))
    for c in (a, b, a, b):
        c.get(url, params=HF_DAY)
    times = [t for _, _, t in providers.requests]
    assert [y - x for x, y in itertools.pairwise(times)] == [3.0, 3.0, 3.0]

    providers.requests.clear()
    alone_a, alone_b = client(None), client(None)  # without Redis each knows only its own
    for c in (alone_a, alone_b):
        c.get(url, params=HF_DAY)
    times = [t for _, _, t in providers.requests]
    assert times[1] - times[0] == 0.0

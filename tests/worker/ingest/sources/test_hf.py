"""Hugging Face Daily Papers parsing and paging: both field levels, empty days, bad pages."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from tests.worker.ingest.fake_providers import FIXTURES
from worker.ingest.http import PoliteClient, Politeness, SourceError
from worker.ingest.sources import hf

DAY = FIXTURES / "hf" / "daily_papers_date_2026-11-18_p0.json"


def _client(clock) -> PoliteClient:
    return PoliteClient(
        "hf", Politeness(min_interval=1.0), timeout=2, clock=clock, sleep=clock.sleep
    )


def test_parse_page_reads_fields_from_the_top_level_and_from_paper() -> None:
    raw = json.loads(DAY.read_bytes())
    page = hf.parse_page(DAY.read_bytes(), "2026-11-18 p=0")
    assert page.received == len(raw) == 10 and not page.skipped
    for item, rec in zip(raw, page.records, strict=True):
        paper = item["paper"]
        assert rec["id"] == paper["id"]
        assert rec["title"] == paper["title"] and rec["abstract"] == paper["summary"]
        assert rec["authors"] == [a["name"] for a in paper["authors"]]
        assert rec["upvotes"] == paper["upvotes"]
        assert rec["num_comments"] == item["numComments"]  # top level only
        assert rec["thumbnail"] == item["thumbnail"]  # top level only
        assert rec["github_repo"] == paper.get("githubRepo")
        assert rec["github_stars"] == paper.get("githubStars")
        assert rec["ai_summary"] == paper["ai_summary"]
        assert rec["hf_submitted_at"].date() == date(2026, 11, 18)


def test_parse_page_falls_back_to_top_level_fields() -> None:
    body = json.dumps(
        [
            {
                "paper": {"id": "2611.00001v2"},
                "title": "Top-level title",
                "summary": "Top-level summary",
                "upvotes": 7,
                "submittedOnDailyAt": "2026-11-20T08:00:00.000Z",
            }
        ]
    ).encode()
    (rec,) = hf.parse_page(body, "x").records
    assert rec["id"] == "2611.00001"  # versionless
    assert (rec["title"], rec["abstract"], rec["upvotes"]) == (
        "Top-level title",
        "Top-level summary",
        7,
    )
    assert rec["hf_submitted_at"] == datetime(2026, 11, 20, 8, tzinfo=UTC)


def test_parse_page_accepts_an_empty_day() -> None:
    page = hf.parse_page(b"[]", "2026-11-21 p=0")
    assert page.records == [] and page.received == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'[{"paper": {"id": "2611.00001"', "malformed or truncated JSON"),
        (DAY.read_bytes()[:500], "malformed or truncated JSON"),
        (b"<html>Bad gateway</html>", "malformed or truncated JSON"),
        (b'{"error": "Invalid date"}', "expected a JSON list"),
        (b"\xff\xfe\x00", "malformed or truncated JSON"),
    ],
    ids=["malformed", "truncated", "html", "object", "not-utf8"],
)
def test_parse_page_rejects_a_bad_page_with_a_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(SourceError) as err:
        hf.parse_page(body, "2026-11-18 p=0")
    assert message in str(err.value) and "2026-11-18 p=0" in str(err.value)


def test_parse_page_skips_bad_items_and_counts_why() -> None:
    good = {"paper": {"id": "2611.00001", "title": "Good", "upvotes": 3}}
    body = json.dumps(
        [
            good,
            "not an object",
            {"paper": {"title": "No id"}},
            {"paper": {"id": "2611.00002", "title": "T", "upvotes": "1.2k"}},
            {"paper": {"id": "2611.00003", "title": 42}},
            {"paper": {"id": "2611.00004", "title": "T", "publishedAt": "last week"}},
            {"paper": {"id": "2611.00005", "title": "T", "authors": "Ada"}},
        ]
    ).encode()
    page = hf.parse_page(body, "x")
    assert [r["id"] for r in page.records] == ["2611.00001"]
    assert page.skipped == {
        "item is not an object": 1,
        "missing or unrecognized arXiv id": 1,
        "upvotes is not a whole number": 1,
        "title is not text": 1,
        "unreadable date": 1,
        "authors is not a list": 1,
    }


def test_fetch_pages_pages_each_day_then_trending(providers, clock) -> None:
    days = [date(2026, 11, 21), date(2026, 11, 20)]
    pages = list(
        hf.fetch_pages(
            _client(clock),
            api_url=f"{providers.url}/api",
            days=days,
            limit=10,
            max_pages=10,
            trending_pages=1,
        )
    )
    asked = [(q.get("date") or q.get("sort"), q["p"]) for q in providers.hits("/daily_papers")]
    assert asked == [
        ("2026-11-21", "0"),
        ("2026-11-20", "0"),
        ("2026-11-20", "1"),
        ("trending", "0"),
    ]
    assert [p.received for p in pages] == [0, 10, 2, 8]


def test_fetch_pages_skips_an_item_repeated_on_the_next_page(providers, clock) -> None:
    first = json.loads((FIXTURES / "hf" / "daily_papers_date_2026-11-20_p0.json").read_bytes())
    second = json.loads((FIXTURES / "hf" / "daily_papers_date_2026-11-20_p1.json").read_bytes())
    providers.respond("date=2026-11-20&p=1", body=json.dumps([first[-1], *second]).encode())
    pages = list(
        hf.fetch_pages(
            _client(clock),
            api_url=f"{providers.url}/api",
            days=[date(2026, 11, 20)],
            limit=10,
            max_pages=10,
            trending_pages=0,
        )
    )
    ids = [r["id"] for p in pages for r in p.records]
    assert len(ids) == len(set(ids)) == 12
    assert pages[1].skipped == {"duplicate in listing": 1}

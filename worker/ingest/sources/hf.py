"""Hugging Face Daily Papers source: what the community is upvoting, per day and trending.

`GET {HF_API_URL}/daily_papers?date=YYYY-MM-DD&p=N&limit=L` returns a JSON list; each item
carries some fields at the top level (title, summary, thumbnail, numComments, publishedAt) and
some under `paper` (id, authors, upvotes, githubRepo, ai_summary, submittedOnDailyAt, ...).
Both places are read, `paper` first. A day with no papers is an empty list, not an error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, datetime
from operator import attrgetter

from config import Settings
from models import catalog
from worker.ingest.calendar import Calendar
from worker.ingest.http import PoliteClient, SourceError
from worker.ingest.page import SourcePage
from worker.ingest.source import Source, Window
from worker.ingest.sources import arxiv

NAME = catalog.HF.name
log = logging.getLogger(__name__)
INT_FIELDS = {"upvotes": "upvotes", "numComments": "num_comments", "githubStars": "github_stars"}
STR_FIELDS = {
    "githubRepo": "github_repo",
    "projectPage": "project_page",
    "ai_summary": "ai_summary",
    "thumbnail": "thumbnail",
}


def paper_page(key: str) -> str:
    """A paper's Hugging Face page: its discussion and upvotes."""
    return f"https://huggingface.co/papers/{key}"


def parse_page(body: bytes, label: str) -> SourcePage:
    """One JSON page -> records. A body that is not a JSON list raises (the page is bad)."""
    try:
        items = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SourceError(NAME, f"{label}: malformed or truncated JSON ({e})") from e
    if not isinstance(items, list):
        raise SourceError(NAME, f"{label}: expected a JSON list, got {type(items).__name__}")
    return SourcePage.parse(label, items, _item)


def _pick(item: dict, paper: dict, key: str):
    value = paper.get(key)
    return item.get(key) if value is None else value


def _item(item) -> dict | str:
    """A record for ingest, or the reason the item is unusable."""
    if not isinstance(item, dict):
        return "item is not an object"
    paper = item.get("paper") if isinstance(item.get("paper"), dict) else {}
    raw_id = _pick(item, paper, "id")
    ids = arxiv.split_id(raw_id) if isinstance(raw_id, str) else None
    if ids is None:
        return "missing or unrecognized arXiv id"
    record: dict = {"id": ids[0], "pdf_url": f"https://arxiv.org/pdf/{ids[0]}"}
    for key in ("title", "summary"):
        value = _pick(item, paper, key)
        if value is not None and not isinstance(value, str):
            return f"{key} is not text"
        record["abstract" if key == "summary" else key] = value
    authors = _pick(item, paper, "authors") or []
    if not isinstance(authors, list):
        return "authors is not a list"
    record["authors"] = [
        a.get("name") if isinstance(a, dict) else a
        for a in authors
        if isinstance(a, str) or (isinstance(a, dict) and isinstance(a.get("name"), str))
    ]
    for key, name in INT_FIELDS.items():
        value = _pick(item, paper, key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return f"{key} is not a whole number"
        record[name] = value
    for key, name in STR_FIELDS.items():
        value = _pick(item, paper, key)
        record[name] = value if isinstance(value, str) and value.strip() else None
    keywords = _pick(item, paper, "ai_keywords")
    record["ai_keywords"] = [k for k in keywords if isinstance(k, str)] if keywords else None
    try:
        record["published"] = _time(_pick(item, paper, "publishedAt"))
        record["hf_submitted_at"] = _time(_pick(item, paper, "submittedOnDailyAt"))
    except (TypeError, ValueError):
        return "unreadable date"
    return record


def _time(value) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("naive time")
    return parsed


def _listing(
    client: PoliteClient, *, url: str, params: dict, limit: int, max_pages: int, name: str
) -> Iterator[SourcePage]:
    seen: set[str] = set()
    for p in range(max_pages):
        response = client.get(url, params={**params, "p": p, "limit": limit})
        page = parse_page(response.content, f"{name} p={p}")
        page.drop_duplicates(seen)
        yield page
        if page.received < limit:
            return
    if "date" in params:  # the trending list is cut short on purpose
        log.warning("hf: %s has over %d pages (HF_MAX_PAGES); rest not read", name, max_pages)


def fetch_pages(
    client: PoliteClient,
    *,
    api_url: str,
    days: list[date],
    limit: int,
    max_pages: int,
    trending_pages: int,
) -> Iterator[SourcePage]:
    """Each day's Daily Papers (all pages), then the first pages of the trending list."""
    url = api_url.rstrip("/") + "/daily_papers"
    for day in days:
        yield from _listing(
            client,
            url=url,
            params={"date": day.isoformat()},
            limit=limit,
            max_pages=max_pages,
            name=str(day),
        )
    if trending_pages:
        yield from _listing(
            client,
            url=url,
            params={"sort": "trending"},
            limit=limit,
            max_pages=trending_pages,
            name="trending",
        )


def pages(client: PoliteClient, settings: Settings, window: Window) -> Iterator[SourcePage]:
    return fetch_pages(
        client,
        api_url=settings.hf_api_url,
        days=window.days(),
        limit=settings.hf_page_limit,
        max_pages=settings.hf_max_pages,
        trending_pages=settings.hf_trending_pages,
    )


SOURCE = Source(
    **asdict(catalog.HF),
    text_authority=False,
    link=arxiv.abs_url,  # HF lists arXiv papers, by their arXiv ids
    community_link=paper_page,
    calendar=Calendar(zone="UTC", hour=0),  # a daily list, upvoted all day
    pages=pages,
    min_interval=attrgetter("hf_min_interval_seconds"),
    every_hours=attrgetter("hf_fetch_every_hours"),
)

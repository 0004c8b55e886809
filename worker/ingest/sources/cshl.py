"""bioRxiv and medRxiv: Cold Spring Harbor Laboratory's preprint servers, one API for both.

`GET {base}/details/{server}/{from}/{to}/{cursor}` lists every version posted in the interval,
100 records a page; `messages[0]` carries `cursor`, `count` and `total`, so the next page starts
at `cursor + count` until `total` is reached. An interval with no posts answers
`"status": "no posts found"` and an empty collection: a fine, empty run. Each record has `doi`,
`title`, `authors` ("Last, F.; Other, A."), `author_corresponding`, `date`, `version`, `type`,
`license`, `category`, `abstract`, `published` (the journal DOI, or "NA") and `server`.
Papers are keyed by DOI and linked to the DOI's page; each version is a record, and the store
keeps the latest. See https://api.biorxiv.org/.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from functools import partial
from operator import attrgetter

from config import Settings
from models import catalog
from models.catalog import Offering
from worker.ingest.calendar import Calendar
from worker.ingest.http import PoliteClient, SourceError
from worker.ingest.page import SourcePage
from worker.ingest.source import Source, Window, doi_url

log = logging.getLogger(__name__)
DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
NO_JOURNAL = {"", "na"}


def parse_page(body: bytes, *, server: str, label: str) -> tuple[SourcePage, int]:
    """One JSON page -> (records, total). A body that is not the documented shape raises."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SourceError(server, f"{label}: not JSON ({e})") from e
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        raise SourceError(server, f"{label}: no messages[0] in the answer")
    collection = data.get("collection") or []
    if not isinstance(collection, list):
        raise SourceError(server, f"{label}: collection is not a list")
    total = messages[0].get("total", len(collection))
    try:
        total = int(total)
    except (TypeError, ValueError) as e:
        raise SourceError(server, f"{label}: total is {total!r}") from e
    return SourcePage.parse(label, collection, _record), total


def _record(item) -> dict | str:
    """A record for ingest, or the reason the item is unusable."""
    if not isinstance(item, dict):
        return "record is not an object"
    doi = item.get("doi")
    if not isinstance(doi, str) or not DOI_RE.match(doi.strip()):
        return "missing or unrecognized DOI"
    for key in ("title", "abstract", "authors", "category", "published"):
        if item.get(key) is not None and not isinstance(item[key], str):
            return f"{key} is not text"
    try:
        version = int(item.get("version") or 1)
        posted = datetime.fromisoformat(str(item.get("date"))).replace(tzinfo=UTC)
    except ValueError:
        return "unreadable date or version"
    journal = (item.get("published") or "").strip()
    category = (item.get("category") or "").strip().casefold()
    return {
        "id": doi.strip().casefold(),  # DOIs are case-insensitive: one key per paper
        "version": version,
        "title": item.get("title"),
        "abstract": item.get("abstract"),
        "authors": [a for a in (item.get("authors") or "").split(";") if a.strip()],
        "categories": [category] if category else [],
        "published": posted,
        "updated": posted,
        "journal_doi": None if journal.casefold() in NO_JOURNAL else journal,
    }


def fetch_pages(
    client: PoliteClient, *, api_url: str, server: str, window: Window, max_records: int
) -> Iterator[SourcePage]:
    """Every page of the window's interval, by cursor, until `total` (or `max_records`)."""
    interval = f"{window.since:%Y-%m-%d}/{window.until:%Y-%m-%d}"
    cursor, seen = 0, set[str]()
    while cursor < max_records:
        label = f"{interval} cursor={cursor}"
        response = client.get(f"{api_url.rstrip('/')}/details/{server}/{interval}/{cursor}")
        page, total = parse_page(response.content, server=server, label=label)
        # Two versions of one DOI may share a page: both go on, the store keeps the latest.
        page.drop_duplicates(seen, lambda r: f"{r['id']}v{r['version']}")
        yield page
        cursor += page.received
        if not page.received or cursor >= total:
            return
    log.warning("%s: stopped at CSHL_MAX_RECORDS=%d before the interval's end", server, cursor)


def pages(
    client: PoliteClient, settings: Settings, window: Window, *, server: str, url: str
) -> Iterator[SourcePage]:
    return fetch_pages(
        client,
        api_url=getattr(settings, url),
        server=server,
        window=window,
        max_records=settings.cshl_max_records,
    )


def _server(offering: Offering) -> Source:
    return Source(
        **asdict(offering),
        text_authority=True,  # each DOI is its own server's
        link=doi_url,
        # Preprints post every day; a day's list is complete in the API by the next morning.
        calendar=Calendar(zone="America/New_York", hour=23, lag_hours=12.0),
        pages=partial(pages, server=offering.name, url=f"{offering.name}_api_url"),
        min_interval=attrgetter("cshl_min_interval_seconds"),
        every_hours=attrgetter("cshl_fetch_every_hours"),
    )


BIORXIV = _server(catalog.BIORXIV)
MEDRXIV = _server(catalog.MEDRXIV)

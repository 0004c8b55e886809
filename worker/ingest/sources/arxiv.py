"""arXiv API source: newest papers in the configured categories, as Atom, fetched politely.

The API is queried with `cat:` terms sorted by submission date, newest first, and paged with
`start`/`max_results`; paging stops once entries fall before the window. Responses are parsed
with defusedxml (no DTDs, no entities: an XML bomb is refused, not expanded).
See https://info.arxiv.org/help/api/user-manual.html.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, datetime
from operator import attrgetter
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from config import Settings
from models import catalog
from worker.ingest.calendar import Calendar
from worker.ingest.http import PoliteClient, SourceError
from worker.ingest.page import SourcePage
from worker.ingest.source import Source, Window

NAME = catalog.ARXIV.name
log = logging.getLogger(__name__)
EMPTY_PAGE_TRIES = 3
ID_BATCH = 100  # ids per id_list request
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
# New style 2611.01234v2 (4 or 5 digits), old style hep-th/9901001v1 or math.GT/0309136.
ID_RE = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/)?"
    r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<version>\d+))?$"
)


def split_id(raw: str) -> tuple[str, int | None] | None:
    """'http://arxiv.org/abs/2611.01234v2' -> ('2611.01234', 2); old-style ids stay intact."""
    m = ID_RE.search(raw.strip())
    if not m:
        return None
    return m["id"], int(m["version"]) if m["version"] else None


def abs_url(key: str) -> str:
    """A versionless arXiv id's abstract page."""
    return f"https://arxiv.org/abs/{key}"


def search_query(categories: list[str]) -> str:
    return " OR ".join(f"cat:{c}" for c in categories)


def _text(el: Element, path: str) -> str | None:
    found = el.find(path, NS)
    return found.text if found is not None and found.text is not None else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.strip().replace("Z", "+00:00")) if value else None


def parse_feed(body: bytes, label: str) -> tuple[SourcePage, int]:
    """One Atom page -> (page of records, totalResults). A page that is not a feed raises."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except DefusedXmlException as e:
        raise SourceError(NAME, f"{label}: refused unsafe XML ({type(e).__name__})") from e
    except ParseError as e:
        raise SourceError(NAME, f"{label}: malformed or truncated XML ({e})") from e
    if root.tag != f"{{{NS['atom']}}}feed":
        raise SourceError(NAME, f"{label}: not an Atom feed (root element {root.tag!r})")
    entries = root.findall("atom:entry", NS)
    # arXiv reports a bad query as HTTP 200 with a single entry titled "Error".
    for entry in entries:
        if "/api/errors" in (_text(entry, "atom:id") or ""):
            raise SourceError(NAME, f"{label}: the API says: {_text(entry, 'atom:summary')}")
    total_text = _text(root, "opensearch:totalResults")
    try:
        total = int(total_text) if total_text is not None else len(entries)
    except ValueError as e:
        raise SourceError(NAME, f"{label}: totalResults is {total_text!r}") from e
    return SourcePage.parse(label, entries, _entry), total


def _entry(entry: Element) -> dict | str:
    """A record for ingest, or the reason the entry is unusable."""
    ids = split_id(_text(entry, "atom:id") or "")
    if ids is None:
        return "missing or unrecognized arXiv id"
    pid, version = ids
    try:
        published = _time(_text(entry, "atom:published"))
        updated = _time(_text(entry, "atom:updated"))
    except ValueError:
        return "unreadable date"
    if published is None or published.tzinfo is None:
        return "missing published date"
    primary = entry.find("arxiv:primary_category", NS)
    cats = [c.get("term", "") for c in entry.findall("atom:category", NS)]
    if primary is not None and primary.get("term"):
        cats = [primary.get("term"), *(c for c in cats if c != primary.get("term"))]
    links = {
        (link.get("title") or link.get("rel")): link.get("href")
        for link in entry.findall("atom:link", NS)
    }
    return {
        "id": pid,
        "version": version or 1,
        "title": _text(entry, "atom:title"),
        "abstract": _text(entry, "atom:summary"),
        "authors": [
            n.text for n in entry.findall("atom:author/atom:name", NS) if n.text and n.text.strip()
        ],
        "categories": [c for c in cats if c],
        "published": published,
        "updated": updated,
        "abs_url": _https(links.get("alternate")),
        "pdf_url": _https(links.get("pdf")),
        "comment": _text(entry, "arxiv:comment"),
        "journal_ref": _text(entry, "arxiv:journal_ref"),
    }


def _https(url: str | None) -> str | None:
    return url.replace("http://", "https://", 1) if url else None


def _page(
    client: PoliteClient, *, api_url: str, categories: list[str], start: int, page_size: int
) -> tuple[SourcePage, int]:
    """One page; arXiv now and then answers an empty page inside the results: ask again."""
    label = f"start={start}"
    params = {
        "search_query": search_query(categories),
        "sortBy": "submittedDate",
        "sortOrder": "descending",
        "start": start,
        "max_results": page_size,
    }
    for _ in range(EMPTY_PAGE_TRIES):
        page, total = parse_feed(client.get(api_url, params=params).content, label)
        if page.received or start >= total:
            return page, total
    raise SourceError(
        NAME, f"{label}: {EMPTY_PAGE_TRIES} empty answers although totalResults is {total}"
    )


def fetch_pages(
    client: PoliteClient,
    *,
    api_url: str,
    categories: list[str],
    since: datetime,
    page_size: int,
    max_results: int,
) -> Iterator[SourcePage]:
    """Pages of records published at or after `since`, newest first; stops at the window."""
    start = 0
    seen: set[str] = set()
    while start < max_results:
        page, total = _page(
            client, api_url=api_url, categories=categories, start=start, page_size=page_size
        )
        in_window = [r for r in page.records if r["published"] >= since]
        reached_end = len(in_window) < len(page.records)
        for _ in range(len(page.records) - len(in_window)):
            page.skip("published before the window")
        page.records = in_window
        page.drop_duplicates(seen)
        yield page
        start += page_size
        if reached_end or page.received < page_size or start >= total:
            return
    log.warning("arxiv: stopped at ARXIV_MAX_RESULTS=%d before reaching the window", max_results)


def fetch_ids(client: PoliteClient, *, api_url: str, ids: list[str]) -> SourcePage:
    """The papers with these versionless ids (`id_list`, at most ID_BATCH per request); an id
    arXiv does not know is simply absent from the answer."""
    if len(ids) > ID_BATCH:
        raise ValueError(f"at most {ID_BATCH} ids per request, got {len(ids)}")
    params = {"id_list": ",".join(ids), "start": 0, "max_results": len(ids)}
    page, _ = parse_feed(client.get(api_url, params=params).content, f"id_list({len(ids)})")
    return page


def search_author(client: PoliteClient, *, api_url: str, name: str, limit: int) -> SourcePage:
    """An author's papers, newest first (`au:"First Last"`, arXiv's author search)."""
    quoted = " ".join(name.replace('"', " ").split())
    params = {
        "search_query": f'au:"{quoted}"',
        "sortBy": "submittedDate",
        "sortOrder": "descending",
        "start": 0,
        "max_results": limit,
    }
    page, _ = parse_feed(client.get(api_url, params=params).content, f"au:{quoted}")
    return page


def pages(client: PoliteClient, settings: Settings, window: Window) -> Iterator[SourcePage]:
    return fetch_pages(
        client,
        api_url=settings.arxiv_api_url,
        categories=settings.arxiv_categories,
        since=window.since,
        page_size=settings.arxiv_page_size,
        max_results=settings.arxiv_max_results,
    )


# arXiv announces at 20:00 US Eastern, Sunday to Thursday, never on its holidays
# (https://info.arxiv.org/help/availability.html; the holiday list is kept by hand, per year).
HOLIDAYS = {
    date(2026, 11, 26): "Thanksgiving",
    date(2026, 12, 24): "Christmas Eve",
    date(2026, 12, 31): "New Year's Eve",
}
CALENDAR = Calendar(
    zone="America/New_York", hour=20, weekdays=frozenset({6, 0, 1, 2, 3}), holidays=HOLIDAYS
)

SOURCE = Source(
    **asdict(catalog.ARXIV),
    text_authority=True,
    link=abs_url,
    calendar=CALENDAR,
    pages=pages,
    min_interval=attrgetter("arxiv_min_interval_seconds"),
    every_hours=attrgetter("arxiv_fetch_every_hours"),
)

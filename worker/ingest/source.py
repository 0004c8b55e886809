"""What a paper source is: its name, how it fetches, how politely, how often, and how its papers
are keyed and linked. Each module under `sources/` declares one; `registry` lists them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import quote

from config import Settings
from worker.ingest.calendar import Calendar
from worker.ingest.http import PoliteClient
from worker.ingest.page import SourcePage


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    note: str = ""

    def label(self) -> str:
        text = f"{self.since:%Y-%m-%d %H:%M}..{self.until:%Y-%m-%d %H:%M}"
        return f"{text} ({self.note})" if self.note else text

    def days(self) -> list[date]:
        first, last = self.since.date(), self.until.date()
        return [last - timedelta(days=n) for n in range((last - first).days + 1)]


Pages = Callable[[PoliteClient, Settings, Window], Iterator[SourcePage]]
FromSettings = Callable[[Settings], float]


@dataclass(frozen=True)
class Source:
    """One source. `pages`, `min_interval` (seconds between requests) and `every_hours` (its
    beat schedule) are set for a fetched source and left None for one loaded otherwise (the
    bundled sample). `link` builds a paper's page from its key when a record brings none;
    `taxonomy` is the category set a reader may pick from, if the source has one. A text
    authority owns a paper's text and links: another source fills them only until one has
    seen the paper. `label` is its name for readers (a card's source); `community_link` its
    own page of a paper another source owns (a discussion page), shown on the card beside the
    paper's link. A reader chooses among sources by name; a source that `counts_as` another
    (the bundled sample, arXiv's papers) is chosen with it. `calendar` says when it announces."""

    name: str
    text_authority: bool
    label: str = ""
    link: Callable[[str], str] | None = None
    community_link: Callable[[str], str] | None = None
    taxonomy: frozenset[str] | None = None
    calendar: Calendar | None = None
    chosen_by_default: bool = False  # a reader who chose nothing reads these
    counts_as: str | None = None
    pages: Pages | None = None
    min_interval: FromSettings | None = None
    every_hours: FromSettings | None = None

    def __post_init__(self) -> None:
        fetch = (self.pages, self.min_interval, self.every_hours)
        if any(f is None for f in fetch) and any(f is not None for f in fetch):
            raise ValueError(f"{self.name}: pages, min_interval and every_hours go together")

    @property
    def fetched(self) -> bool:
        return self.pages is not None


def doi_url(key: str) -> str:
    """A DOI key's resolver link ('10.1101/2024.01.01.123456' -> https://doi.org/10.1101/...)."""
    return "https://doi.org/" + quote(key, safe="/()")

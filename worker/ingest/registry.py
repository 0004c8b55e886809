"""The paper sources, one line each: adding a source is its module plus a line here.

Everything that differs between sources (fetching, politeness, schedule, taxonomy, text
authority, links, labels, announcement calendar, a reader's choice) is asked of its `Source`
through the functions here, never forked on its name elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from worker.ingest.source import Source
from worker.ingest.sources import arxiv, cshl, hf, sample

SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        arxiv.SOURCE,
        hf.SOURCE,
        cshl.BIORXIV,
        cshl.MEDRXIV,
        sample.SOURCE,
    )
}


def names() -> list[str]:
    return list(SOURCES)


def fetchable() -> list[Source]:
    """The sources fetched over HTTP (by `paperboy fetch` and the beat schedule), in order."""
    return [s for s in SOURCES.values() if s.fetched]


def get(name: str, *, fetched: bool = False) -> Source:
    """The source called `name` (among the fetched ones if `fetched`), or a ValueError that
    lists the names that would do."""
    known = [s.name for s in fetchable()] if fetched else names()
    if name not in known:
        raise ValueError(f"unknown source {name!r}; expected one of {', '.join(known)}")
    return SOURCES[name]


def text_authorities() -> frozenset[str]:
    return frozenset(name for name, s in SOURCES.items() if s.text_authority)


def choosable() -> list[Source]:
    """The sources a reader picks from (the sample counts as the source it copies)."""
    return [s for s in SOURCES.values() if s.counts_as is None]


def chosen(names: Iterable[str]) -> frozenset[str]:
    """A reader's sources: the ones they named, or the defaults when they named none."""
    names = frozenset(names)
    return names or frozenset(s.name for s in choosable() if s.chosen_by_default)


def reader_sources(seen_by: Iterable[str]) -> frozenset[str]:
    """The choosable sources a paper came from (its `first_seen_by` keys); a key no longer
    registered counts for nothing."""
    return frozenset(SOURCES[name].counts_as or name for name in seen_by if name in SOURCES)


def provenance(key: str, seen_by: Iterable[str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A card's source label (an authority that saw the paper before any other source) and
    the community pages of the sources that list it, as (label, url)."""
    seen = [s for s in SOURCES.values() if s.name in set(seen_by)]
    owners = [s for s in seen if s.text_authority] or seen
    label = owners[0].label if owners else ""
    pages = tuple((s.label, s.community_link(key)) for s in seen if s.community_link)
    return label, pages


def next_announcement(name: str, now: datetime) -> datetime | None:
    calendar = SOURCES[name].calendar
    return calendar.next_after(now) if calendar else None


def silent_since(name: str, last_new: datetime | None, now: datetime) -> datetime | None:
    """The announcement a source should have brought by now (past its lag) but did not, after
    its last new paper at `last_new`; None while it keeps to its calendar. An outage, not a
    holiday: the calendar already skips its closed days."""
    calendar = SOURCES[name].calendar
    if calendar is None or last_new is None:
        return None
    expected = calendar.next_after(last_new)
    late = expected is not None and now > expected + timedelta(hours=calendar.lag_hours)
    return expected if late else None


def quiet_line(names: Iterable[str], since: datetime, until: datetime) -> str:
    """Why a reader's sources brought nothing new between `since` and `until`, one clause per
    source: "arXiv does not announce on Saturdays; Hugging Face brought nothing new"."""
    clauses = []
    names = set(names)
    for source in (s for s in SOURCES.values() if s.name in names):
        calendar = source.calendar
        if calendar and not calendar.announcements(since, until):
            clauses.append(f"{source.label} {calendar.why_none(since, until)}")
        else:
            clauses.append(f"{source.label} brought nothing new")
    return "; ".join(clauses)

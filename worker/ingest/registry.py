"""The paper sources, one line each: adding a source is its module plus a line here.

Everything that differs between sources (fetching, politeness, schedule, taxonomy, text
authority, links) is asked of its `Source`, never forked on its name elsewhere.
"""

from __future__ import annotations

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

"""A reader's seeds made into stored papers: ids Paperboy has not stored yet are looked up on
arXiv (`id_list`) through the arXiv source's polite client, so the politeness rules (spacing,
shared with every process through Redis; retries) are the fetch's own. Also the author search
of the sign-up form. Runs in the worker (Celery) or in process on the embedded default.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
from sqlalchemy import update
from sqlmodel import col, select

from config import Settings
from models import Paper, session_scope
from models.seeds import Seed, stored
from worker.ingest import registry
from worker.ingest.fetch import source_client
from worker.ingest.http import SourceError
from worker.ingest.sources import arxiv
from worker.ingest.store import upsert_papers

log = logging.getLogger(__name__)
NOT_ON_ARXIV = "arXiv has no paper with this id"
UNKNOWN_DOI = (
    "Paperboy knows no paper with this DOI (only arXiv papers can be looked up): "
    "give its arXiv id or URL instead"
)
ARXIV_DOWN = "arXiv could not be asked just now: try again in a few minutes"


@dataclass
class Resolution:
    """The stored papers the seeds name (distinct, in the reader's order) and, for every seed
    that names none, its line and why, in the reader's words."""

    paper_ids: list[str] = field(default_factory=list)
    problems: list[Seed] = field(default_factory=list)  # each says why (`Seed.describe`)


def resolve(
    seeds: list[Seed], settings: Settings, *, transport: httpx.BaseTransport | None = None
) -> Resolution:
    """Store the seeds' papers (looking up the ones not stored) and say which seeds failed."""
    wanted = list(dict.fromkeys(s.paper_id for s in seeds if s.paper_id))
    with session_scope() as session:
        have = stored(session, set(wanted))
    missing = [i for i in wanted if i not in have and not i.startswith("10.")]
    failed = ""
    if missing:
        try:
            have |= lookup(missing, settings, transport=transport)
        except SourceError as e:
            log.warning("seed lookup failed: %s", e)
            failed = ARXIV_DOWN
    result = Resolution(paper_ids=[i for i in wanted if i in have])
    for seed in seeds:
        if seed.paper_id is None:
            result.problems.append(seed)
        elif seed.paper_id not in have:
            unknown = UNKNOWN_DOI if seed.paper_id.startswith("10.") else NOT_ON_ARXIV
            result.problems.append(seed.failed(failed or unknown))
    return result


def lookup(
    ids: Iterable[str], settings: Settings, *, transport: httpx.BaseTransport | None = None
) -> set[str]:
    """Fetch these arXiv ids and store them; the ids now stored. A looked-up paper is an old
    paper, not today's news: its first_seen becomes its publication date, so it never enters
    the candidates of a digest (it still enters the corpus, as a liked paper)."""
    ids = list(ids)
    records: list[dict] = []
    with source_client(registry.get(arxiv.NAME), settings, transport=transport) as client:
        for start in range(0, len(ids), arxiv.ID_BATCH):
            batch = ids[start : start + arxiv.ID_BATCH]
            page = arxiv.fetch_ids(client, api_url=settings.arxiv_api_url, ids=batch)
            records += [r for r in page.records if r["id"] in batch]
    _store_old(records)
    return {r["id"] for r in records}


def search_author(
    name: str, settings: Settings, *, transport: httpx.BaseTransport | None = None
) -> list[Paper]:
    """An author's latest arXiv papers, stored (as old papers) so a ticked one is a seed."""
    with source_client(registry.get(arxiv.NAME), settings, transport=transport) as client:
        page = arxiv.search_author(
            client, api_url=settings.arxiv_api_url, name=name, limit=settings.author_search_limit
        )
    _store_old(page.records)
    ids = [r["id"] for r in page.records]
    with session_scope() as session:
        by_id = {p.id: p for p in session.exec(select(Paper).where(col(Paper.id).in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]


def _store_old(records: list[dict]) -> None:
    if not records:
        return
    ids = [r["id"] for r in records]
    with session_scope() as session:
        new = set(ids) - stored(session, set(ids))
        upsert_papers(session, records, arxiv.NAME)
        if new:
            session.exec(
                update(Paper)
                .where(col(Paper.id).in_(new), col(Paper.published) < col(Paper.first_seen))
                .values(first_seen=Paper.published)
            )

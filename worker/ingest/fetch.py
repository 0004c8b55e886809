"""One fetch run of one source: pages in, papers upserted, the run recorded in `source_run`.

Each page is committed on its own, so a bad page fails the run with its error recorded while
every page before it stays stored. One source failing never stops the other.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import redis
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col, func, select

from config import Settings
from models import SourceRun, session_scope, utcnow
from worker.ingest import registry
from worker.ingest.http import PoliteClient, Politeness, SharedPace, SourceError
from worker.ingest.page import SourcePage
from worker.ingest.source import Source, Window
from worker.ingest.store import IngestCounts, upsert_papers

log = logging.getLogger(__name__)


def window_for(settings: Settings, now: datetime, since: datetime | None = None) -> Window:
    """The default look-back, or `since`, clamped so a typo cannot page through years."""
    if since is None:
        return Window(now - timedelta(days=settings.fetch_window_days), now)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    earliest = now - timedelta(days=settings.fetch_max_days)
    if since < earliest:
        return Window(earliest, now, f"clamped from {since:%Y-%m-%d} to FETCH_MAX_DAYS")
    return Window(since, now)


def source_client(source: Source, settings: Settings, **inject) -> PoliteClient:
    """The source's polite client; with Redis its spacing is shared by every process, on the
    wall clock (unless a test injects its own clock)."""
    politeness = Politeness(
        min_interval=source.min_interval(settings),
        max_attempts=settings.fetch_max_attempts,
        backoff=settings.fetch_backoff_seconds,
    )
    if settings.redis_url:
        inject["pace"] = SharedPace(redis.Redis.from_url(settings.redis_url), source.name)
    if inject.get("clock") is None:  # processes on other machines share only the wall clock
        inject["clock"] = time.time if inject.get("pace") else time.monotonic
    return PoliteClient(
        source.name,
        politeness,
        timeout=settings.http_timeout_seconds,
        max_bytes=settings.fetch_max_response_bytes,
        **inject,
    )


def store_page(page: SourcePage, source: str) -> IngestCounts:
    """Upsert one page in its own transaction. A concurrent insert of the same id is retried
    (then it merges); a page the database still refuses is stored record by record, so one
    bad record costs itself only, never the page or the run."""
    for attempt in range(2):
        try:
            with session_scope() as session:
                return upsert_papers(session, page.records, source)
        except IntegrityError:
            if attempt:
                break
            log.info(
                "%s %s: a concurrent fetch inserted the same paper; merging", source, page.label
            )
        except DBAPIError as e:
            log.warning("%s %s: the database refused the page (%s)", source, page.label, _why(e))
            break
    return _store_each(page, source)


def _store_each(page: SourcePage, source: str) -> IngestCounts:
    counts = IngestCounts()
    for record in page.records:
        try:
            with session_scope() as session:
                counts.add(upsert_papers(session, [record], source))
        except DBAPIError as e:
            log.warning("%s %s: skipped %s: %s", source, page.label, record.get("id"), _why(e))
            counts.fetched += 1
            counts.skip(f"refused by the database ({type(e.orig).__name__})")
    return counts


def _why(error: DBAPIError) -> str:
    return str(error.orig).strip().splitlines()[0][:200] if error.orig else type(error).__name__


def run_source(
    source: str,
    settings: Settings,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
    on_page: Callable[[SourceRun, SourcePage], None] | None = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> SourceRun:
    """Fetch one source over its window, upsert every page, and record the run (returned)."""
    fetcher = registry.get(source, fetched=True)
    window = window_for(settings, now or utcnow(), since)
    started = time.perf_counter()
    with session_scope() as session:
        run = SourceRun(source=source, window=window.label())
        session.add(run)
    totals = IngestCounts()
    try:
        with source_client(
            fetcher, settings, clock=clock, sleep=sleep, transport=transport
        ) as client:
            for page in fetcher.pages(client, settings, window):
                counts = store_page(page, source)
                counts.skip_reasons.update(page.skipped)
                counts.skipped += page.skipped.total()
                counts.fetched += page.skipped.total()
                totals.add(counts)
                _copy_counts(run, totals)
                if on_page:
                    on_page(run, page)
        run.status = "ok"
    except SourceError as e:  # the provider's fault, already explained: no traceback
        log.error("%s fetch failed: %s", source, e)
        run.status, run.error = "failed", str(e)
    except Exception as e:  # recorded, not raised: the other source still runs
        log.exception("%s fetch failed", source)
        run.status, run.error = "failed", f"{type(e).__name__}: {e}"
    except BaseException as e:  # Ctrl-C or worker shutdown: record it, then stop
        run.status, run.error = "failed", f"interrupted ({type(e).__name__})"
        _finish(run, totals, started)
        raise
    _finish(run, totals, started)
    return run


def _finish(run: SourceRun, totals: IngestCounts, started: float) -> None:
    _copy_counts(run, totals)
    run.finished_at = utcnow()
    run.duration_seconds = round(time.perf_counter() - started, 3)
    with session_scope() as session:
        session.merge(run)


def _copy_counts(run: SourceRun, counts: IngestCounts) -> None:
    run.fetched, run.new, run.updated, run.skipped = (
        counts.fetched,
        counts.new,
        counts.updated,
        counts.skipped,
    )
    run.skip_reasons = dict(counts.skip_reasons)


def last_runs(session: Session, limit: int = 10) -> list[SourceRun]:
    return list(session.exec(select(SourceRun).order_by(col(SourceRun.id).desc()).limit(limit)))


def last_news(session: Session) -> dict[str, datetime]:
    """When each source's last run that brought a new paper finished: what silence is
    measured from."""
    rows = session.exec(
        select(SourceRun.source, func.max(SourceRun.finished_at))
        .where(SourceRun.new > 0)
        .group_by(SourceRun.source)
    )
    return {source: at for source, at in rows}


def load_sample() -> IngestCounts:
    """The bundled real arXiv papers, ingested like any source (the demo and the tests)."""
    from worker.ingest.sources.sample import SOURCE, sample_papers

    with session_scope() as session:
        return upsert_papers(session, sample_papers(), source=SOURCE.name)

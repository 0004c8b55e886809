"""Thin Celery tasks: take ids, re-read the world, call a pure core, record the outcome.

With no REDIS_URL the same tasks run in-process (Celery's eager mode), so every arrow
of the pipeline is one code path in the demo and in production.
"""

from __future__ import annotations

from datetime import datetime

from config import get_settings
from config.celery import RETRY_MAX_SECONDS, backoff_seconds
from emails.providers import MailError, is_retryable
from models import Digest, DigestItem, RunState, SendRun, session_scope, utcnow
from models.db import pages, refresh_statistics
from worker.app import app
from worker.delivery import chunks, liveness, policy, reaper, runs, send
from worker.ingest.fetch import run_source
from worker.ranking.planning import PlanResult, due_ids, edition_inputs, plan_edition


def dispatch(run_id: int, digest_ids: list[int], *, marked: bool = False) -> int:
    """Hand a run's digests to the send queue in chunks (marked queued first, so the reaper
    knows they are in a queue, unless planning wrote them `marked`); in-process, this sends
    them. Returns the number of chunks."""
    settings = get_settings()
    if not marked:
        with session_scope() as session:
            runs.update_planned(session, digest_ids, queued_at=utcnow())
    chunks = list(pages(digest_ids, settings.send_chunk_size))
    for chunk in chunks:  # after commit: the rows are marked before any worker sees the chunk
        send_chunk.delay(run_id, chunk)
    return len(chunks)


@app.task(name="paperboy.plan_due")
def plan_due(ignore_send_hour: bool = False) -> dict:
    """Who is due now, fanned out in chunks of PLAN_CHUNK_SIZE readers (one `plan_chunk` task
    each, so every worker process on every host plans a share), the model fitted and the
    candidates prepared once here for all of them; a run owns the edition from the start.
    In-process the chunks run here and the counts are final; with a broker, `planned` and
    `empty` are the workers' to find."""
    settings = get_settings()
    now = utcnow()
    with session_scope() as session:
        todo, already = due_ids(session, now, ignore_send_hour, settings.plan_page_size)
        if not todo:
            return {"planned": 0, "empty": 0, "already": already, "run": None, "planning": 0}
        edition_inputs(session, settings, now).prepare(settings)
        run = runs.start(session, [])
        chunk_ids = chunks.create(
            session,
            run.id,
            todo,
            now=now,
            ignore_send_hour=ignore_send_hour,
            size=settings.plan_chunk_size,
        )
    outcomes = [plan_chunk.delay(chunk_id) for chunk_id in chunk_ids]
    result = {"planned": None, "empty": None, "already": already, "run": run.id}
    if plan_chunk.app.conf.task_always_eager:
        done = [outcome.get() for outcome in outcomes]
        result["planned"] = sum(d["planned"] for d in done)
        result["empty"] = sum(d["empty"] for d in done)
        result["already"] += sum(d["already"] for d in done)
    return result | {"planning": len(todo)}


@app.task(name="paperboy.plan_chunk")
def plan_chunk(chunk_id: int) -> dict:
    """Plan one chunk of an edition and hand its digests to the send queue. Done once (under
    the chunk's row lock), its digests written already marked queued (no UPDATE each just to
    say so); a redelivery after a crash cannot know whether that hand-out happened, so it
    hands the chunk's planned digests out again (a claim sends each once)."""
    settings = get_settings()
    with session_scope() as session:
        chunk = chunks.take(session, chunk_id)
        if chunk is None:
            return {"chunk": chunk_id, "planned": 0, "empty": 0, "already": 0}
        run_id, readers = chunk.run_id, list(chunk.subscriber_ids)
        result, analyse = PlanResult(), False
        if chunk.done_at is None:
            result = plan_edition(
                session,
                settings,
                chunk.planned_for,
                chunk.ignore_send_hour,
                subscriber_ids=readers,
                run_id=run_id,
                queued_at=utcnow(),
            )
            done = chunks.finish(session, chunk, len(result.planned), utcnow())
            analyse = chunks.doubled(done)
            ids = result.planned
        else:
            ids = runs.planned_for(session, run_id, readers)
    if analyse:  # after the commit, so the statistics count this chunk's digests
        with session_scope() as session:
            refresh_statistics(session, Digest.__table__, DigestItem.__table__)
    if ids:
        dispatch(run_id, ids, marked=True)
    with session_scope() as session:
        runs.finish_if_done(session, run_id, utcnow())
    return {
        "chunk": chunk_id,
        "planned": len(result.planned),
        "empty": result.empty,
        "already": result.already,
    }


@app.task(name="paperboy.send_chunk")
def send_chunk(run_id: int, digest_ids: list[int]) -> dict:
    in_process = bool(send_chunk.app.conf.task_always_eager)
    results = send.send_chunk(run_id, digest_ids, settings=get_settings(), in_process=in_process)
    if not in_process:
        follow_up(run_id, digest_ids, worked=bool(results))
    outcomes: dict[str, int] = {}
    for r in results:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    return {"run": run_id, "outcomes": outcomes}


def follow_up(run_id: int, digest_ids: list[int], *, worked: bool) -> None:
    """A worker alone finishes every run: the chunk's digests waiting for a retry come back as
    one countdown task at the first one's time, and a breaker pause as a `resume_run` at the
    end of its cool-down, scheduled by the chunks that were sending when it paused (`worked`),
    not by every queued chunk that finds the run paused and takes nothing. The reaper (beat)
    is only the safety net for what a crash loses."""
    with session_scope() as session:
        run = session.get(SendRun, run_id)
        state, resume_at = (run.state, run.resume_at) if run else (None, None)
    if state == RunState.paused and resume_at is not None:
        if worked:
            resume_run.apply_async((run_id,), countdown=_until(resume_at))
        return
    if state != RunState.running:
        return  # an operator's pause or a cancel: `runs resume` hands the work out again
    waiting = send.waiting(digest_ids)
    if not waiting:
        return
    ids = sorted(waiting)
    with session_scope() as session:
        runs.update_planned(session, ids, queued_at=utcnow())
    # A countdown past the cap arrives early, finds the digests not yet due, and waits again.
    send_chunk.apply_async((run_id, ids), countdown=_until(min(waiting.values())))


def _until(when: datetime) -> float:
    return min(max((when - utcnow()).total_seconds(), 0.0), RETRY_MAX_SECONDS)


@app.task(name="paperboy.resume_run")
def resume_run(run_id: int) -> dict:
    """A breaker pause's cool-down is over: resume the run and hand its planned digests out
    again. Only one of the tasks a pause may schedule resumes it (a conditional UPDATE); a
    pause extended since waits again; any other pause is the operator's."""
    now = utcnow()
    with session_scope() as session:
        run = session.get(SendRun, run_id)
        if run is None or run.state != RunState.paused or run.resume_at is None:
            return {"run": run_id, "resumed": False}
        if not policy.resumes_by_itself(run.resume_at, now):
            resume_run.apply_async((run_id,), countdown=_until(run.resume_at))
            return {"run": run_id, "resumed": False}
        if not runs.resume(session, run_id):
            return {"run": run_id, "resumed": False}
        ids = runs.planned_ids(session, run_id)
    dispatch(run_id, ids)
    return {"run": run_id, "resumed": True, "enqueued": len(ids)}


@app.task(name="paperboy.send_due")
def send_due() -> dict:
    """A run for every planned digest no run owns yet (beat, and `paperboy send`)."""
    with session_scope() as session:
        run, ids = runs.adopt_planned(session)
    if run is not None:
        dispatch(run.id, ids)
    return {"run": run.id if run else None, "enqueued": len(ids)}


@app.task(name="paperboy.reap_sends")
def reap_sends() -> dict:
    liveness.beat(get_settings(), utcnow())
    with session_scope() as session:
        result = reaper.reap(session, get_settings(), utcnow())
    for run_id, ids in result.requeue.items():
        dispatch(run_id, ids)
    for chunk_id in result.replan:
        plan_chunk.delay(chunk_id)
    return {
        "resumed": result.resumed,
        "settled_sent": result.settled_sent,
        "settled_failed": result.settled_failed,
        "unresolved": result.unresolved,
        "requeued": sum(len(ids) for ids in result.requeue.values()),
        "replanned": len(result.replan),
        "finished": result.finished,
    }


@app.task(name="paperboy.send_notice", bind=True, max_retries=5)
def send_notice(self, kind: str, subscriber_id: int) -> str:
    """Confirm / welcome / unsubscribed email; retryable provider errors back off and retry."""
    try:
        return send.send_notice(kind, subscriber_id, get_settings())
    except MailError as e:
        # Not autoretry_for: only the retryable MailErrors retry, and never in-process.
        if is_retryable(e) and not self.app.conf.task_always_eager:
            countdown = backoff_seconds(self.request.retries, retry_after=e.retry_after)
            raise self.retry(exc=e, countdown=countdown) from e
        raise


@app.task(name="paperboy.fetch_source")
def fetch_source(source: str, since: str | None = None) -> dict:
    """One source's fetch run; failures are recorded in source_run, not raised."""
    run = run_source(source, get_settings(), since=datetime.fromisoformat(since) if since else None)
    return {"source": source, "status": run.status, "new": run.new, "updated": run.updated}

"""An edition's planning, fanned out: its due readers in chunks of PLAN_CHUNK_SIZE, one row and
one `paperboy.plan_chunk` task each, so every worker process on every host plans a share.

A chunk is taken under a row lock and marked done in the transaction that writes its digests:
a redelivered task (its worker was killed) waits for the lock, then plans what is left and
nothing twice (the digest is unique per reader and edition). A run is not done while one of its
chunks is not; the reaper hands out again a chunk whose task was lost with its worker.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from models import PlanChunk, RunState, SendRun
from models.db import pages


def create(
    session: Session,
    run_id: int,
    subscriber_ids: list[int],
    *,
    now: datetime,
    ignore_send_hour: bool,
    size: int,
) -> list[int]:
    """The run's chunks, written before any task is sent; their ids."""
    rows = [
        PlanChunk(
            run_id=run_id, subscriber_ids=page, planned_for=now, ignore_send_hour=ignore_send_hour
        )
        for page in pages(subscriber_ids, size)
    ]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def take(session: Session, chunk_id: int) -> PlanChunk | None:
    """The chunk, locked until this transaction ends (a second delivery waits here)."""
    return session.exec(
        select(PlanChunk).where(PlanChunk.id == chunk_id).with_for_update()
    ).one_or_none()


def finish(session: Session, chunk: PlanChunk, planned: int, now: datetime) -> int:
    """Done, in the transaction that wrote its digests; its run counts them and shows life.
    Returns how many of the run's chunks are done now, this one included."""
    chunk.done_at = now
    session.add(chunk)
    session.exec(
        update(SendRun)
        .where(col(SendRun.id) == chunk.run_id)
        .values(planned=SendRun.planned + planned, heartbeat_at=now)
    )
    session.flush()
    return session.exec(
        select(func.count(col(PlanChunk.done_at))).where(PlanChunk.run_id == chunk.run_id)
    ).one()


def doubled(done: int) -> bool:
    """The run's planned digests have doubled since the last time this said so (chunks are of
    one size): when the planner's statistics are worth refreshing, about 11 times in an
    edition of 2,000 chunks."""
    return done > 0 and done & (done - 1) == 0


def lost(session: Session, idle_since: datetime) -> list[int]:
    """Chunks not done of running runs that have shown no life since `idle_since`: their
    tasks went with a killed worker or a restarted Redis."""
    return list(
        session.exec(
            select(PlanChunk.id)
            .join(SendRun, col(SendRun.id) == PlanChunk.run_id)
            .where(
                col(PlanChunk.done_at).is_(None),
                SendRun.state == RunState.running,
                col(PlanChunk.created_at) < idle_since,
                (col(SendRun.heartbeat_at).is_(None) | (col(SendRun.heartbeat_at) < idle_since)),
            )
            .order_by(PlanChunk.id)
        )
    )

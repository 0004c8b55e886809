"""An edition planned in chunks, one task each, by every worker process: a chunk lost with a
SIGKILLed worker is planned again, two named worker nodes share one run, and nobody is planned
or mailed twice (counted at the SendGrid stand-in)."""

from __future__ import annotations

import base64
import json
import signal
from pathlib import Path

import pytest
import redis
from sqlalchemy import text, update
from sqlmodel import func, select

from models import Digest, PlanChunk, SendRun, session_scope
from tests.conftest import reset_caches
from tests.worker.processes import start_worker, stop, wait_for
from tests.worker.sending import each_sent_once, readers, run_done
from worker import tasks

pytestmark = pytest.mark.services


def _chunks() -> tuple[int, int]:
    """(chunks done, chunks in all) of the latest run."""
    with session_scope() as session:
        done = session.exec(select(func.count(PlanChunk.done_at))).one()  # counts non-null
        total = session.exec(select(func.count(PlanChunk.id))).one()
    return done, total


def _run_id() -> int | None:
    with session_scope() as session:
        return session.exec(select(func.max(SendRun.id))).one()


def _one_digest_each(n: int) -> None:
    with session_scope() as session:
        per_reader = session.exec(
            select(Digest.subscriber_id, func.count()).group_by(Digest.subscriber_id)
        ).all()
    assert len(per_reader) == n and {count for _, count in per_reader} == {1}


def test_a_planning_chunks_worker_sigkilled_the_edition_is_complete(
    delivery_env, paperboy_home: Path
) -> None:
    env, standin = delivery_env
    n = 400
    readers(n)
    env = {**env, "PLAN_CHUNK_SIZE": "10"}
    first = start_worker(env, paperboy_home / "first.log", "--concurrency=2")
    try:
        tasks.plan_due.delay(ignore_send_hour=True)
        wait_for(lambda: _chunks()[0] >= 2, "planning to start", log=paperboy_home / "first.log")
    finally:
        stop(first, signal.SIGKILL)  # mid-planning: its chunks in hand are lost with it
    done, total = _chunks()
    assert done < total == 40
    beat = f"--schedule={paperboy_home / 'beat'}"
    second = start_worker(env, paperboy_home / "second.log", "--concurrency=2", "-B", beat)
    try:
        run_id = _run_id()
        wait_for(lambda: run_done(run_id), "the run to finish", 180, paperboy_home / "second.log")
    finally:
        stop(second)
    assert _chunks() == (40, 40)
    _one_digest_each(n)
    each_sent_once(run_id, standin.delivered_to(), n)


def test_two_named_worker_nodes_share_one_run_without_duplicates(
    delivery_env, paperboy_home: Path
) -> None:
    env, standin = delivery_env
    n = 300
    readers(n)
    env = {**env, "PLAN_CHUNK_SIZE": "25"}
    nodes = [
        start_worker(env, paperboy_home / f"{name}.log", "--concurrency=2", "-n", f"{name}@%h")
        for name in ("one", "two")
    ]
    try:
        tasks.plan_due.delay(ignore_send_hour=True)
        wait_for(lambda: _run_id() is not None, "the run to start")
        run_id = _run_id()
        wait_for(lambda: run_done(run_id), "the run to finish", 180, paperboy_home / "one.log")
    finally:
        for node in nodes:
            stop(node)
    for name in ("one", "two"):  # both took work: planning chunks and send chunks
        log = (paperboy_home / f"{name}.log").read_text()
        assert "paperboy.plan_chunk[" in log and "paperboy.send_chunk[" in log, name
    with session_scope() as session:
        assert session.exec(select(func.count(SendRun.id))).one() == 1
    _one_digest_each(n)
    each_sent_once(run_id, standin.delivered_to(), n)


def test_planning_refreshes_the_statistics_each_time_the_edition_doubles(
    production: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without it the planner keeps the statistics of an empty table while an edition grows to
    a million digests, and every 1,000-reader lookup walks the whole edition."""
    monkeypatch.setenv("PLAN_CHUNK_SIZE", "5")
    reset_caches()
    readers(20)
    tasks.plan_due(ignore_send_hour=True)  # four chunk tasks, queued; run here one by one
    with session_scope() as session:
        chunk_ids = session.exec(select(PlanChunk.id).order_by(PlanChunk.id)).all()
    assert len(chunk_ids) == 4
    for chunk_id in chunk_ids:  # analysed after the first, the second and the fourth
        tasks.plan_chunk(chunk_id)
    with session_scope() as session:
        digests = session.exec(select(func.count(Digest.id))).one()
        estimate = session.exec(
            text("SELECT reltuples FROM pg_class WHERE relname = 'digest'")
        ).one()[0]
    assert digests == 20 and estimate == digests


def _queued_for_sending(redis_url: str) -> list[int]:
    """The digest ids of the send chunks waiting in Redis, in queue order."""
    queue = redis.Redis.from_url(redis_url).lrange("send", 0, -1)
    bodies = [json.loads(base64.b64decode(json.loads(m)["body"])) for m in reversed(queue)]
    return [d for (_run, ids), _kwargs, _embed in bodies for d in ids]


def test_a_chunk_writes_its_digests_queued_and_a_redelivery_hands_them_out_again(
    production: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No UPDATE per digest to mark it queued: planning writes it so. A redelivered chunk
    cannot know whether its first delivery handed its digests out before the crash, so it
    hands out again those still planned (a claim sends each once)."""
    monkeypatch.setenv("PLAN_CHUNK_SIZE", "5")
    reset_caches()
    readers(5)
    tasks.plan_due(ignore_send_hour=True)
    with session_scope() as session:
        (chunk_id,) = session.exec(select(PlanChunk.id)).all()
    tasks.plan_chunk(chunk_id)
    with session_scope() as session:
        digests = session.exec(select(Digest).order_by(Digest.id)).all()
        sent_one = digests[0].id
        session.exec(update(Digest).where(Digest.id == sent_one).values(status="sent"))
    assert len(digests) == 5 and all(d.queued_at is not None for d in digests)
    ids = [d.id for d in digests]
    assert _queued_for_sending(redis_url) == ids
    tasks.plan_chunk(chunk_id)  # redelivered after a crash
    assert _queued_for_sending(redis_url) == ids + ids[1:]
    with session_scope() as session:
        assert session.exec(select(func.count(Digest.id))).one() == 5  # nothing planned twice

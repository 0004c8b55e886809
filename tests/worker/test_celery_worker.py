"""A Celery round trip through the machine's real Redis and a real worker process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from config import get_settings
from models import Digest, session_scope, subscribers, upgrade, utcnow
from tests.conftest import reset_caches
from tests.worker.processes import start_worker, stop
from worker.ingest.fetch import load_sample

pytestmark = pytest.mark.services


@pytest.fixture
def production_env(
    paperboy_home: Path, postgres_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """PostgreSQL + Redis + outbox: the production switches, set by env vars only."""
    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key-for-the-celery-round-trip",
        "OUTBOX_DIR": str(paperboy_home / "outbox"),
        "PAPERBOY_HOME": str(paperboy_home),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_caches()
    return env


@pytest.fixture
def celery_worker(production_env: dict[str, str], paperboy_home: Path) -> Iterator[Path]:
    log = paperboy_home / "worker.log"
    proc = start_worker(production_env, log, "--pool=solo")
    try:
        yield log
    finally:
        stop(proc)


def test_send_chunk_task_runs_on_real_worker(celery_worker: Path, paperboy_home: Path) -> None:
    from worker import tasks
    from worker.ranking.planning import plan_edition

    settings = get_settings()
    assert not settings.tasks_in_process
    upgrade()
    load_sample()
    with session_scope() as session:
        subscribers.subscribe(
            session, "worker@example.com", interests="image segmentation", confirmed=True
        )
    with session_scope() as session:
        (digest_id,) = plan_edition(session, settings, utcnow(), ignore_send_hour=True).planned
    tasks.send_due()  # a run for it, its chunk through Redis to the worker process
    outbox = paperboy_home / "outbox" / f"digest-{digest_id}.eml"
    deadline = time.monotonic() + 60
    while not outbox.exists():
        assert time.monotonic() < deadline, celery_worker.read_text()[-3000:]
        time.sleep(0.2)
    with session_scope() as session:
        deadline = time.monotonic() + 30
        while session.exec(select(Digest.status).where(Digest.id == digest_id)).one() != "sent":
            assert time.monotonic() < deadline
            time.sleep(0.2)
            session.expire_all()
    assert b"worker@example.com" in outbox.read_bytes()

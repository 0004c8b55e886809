"""What the delivery tests share: subscribers with real sample papers, a planned run."""

from __future__ import annotations

from collections import Counter

from sqlmodel import select

from config import get_settings
from models import Digest, RunState, SendRun, session_scope, subscribers, upgrade, utcnow
from worker.delivery import runs, send
from worker.ingest.fetch import load_sample
from worker.ranking.planning import plan_edition

INTERESTS = (
    "graph neural networks, message passing",
    "image segmentation, medical imaging",
    "reinforcement learning, policy gradient, robotics",
    "language models, instruction tuning, reasoning",
)


def address(i: int) -> str:
    return f"reader{i:05d}@example.org"


def readers(n: int) -> None:
    """n confirmed subscribers, and the sample papers for them."""
    upgrade()
    load_sample()
    with session_scope() as session:
        for i in range(n):
            subscribers.subscribe(
                session, address(i), interests=INTERESTS[i % len(INTERESTS)], confirmed=True
            )


def plan_run(n: int = 3) -> tuple[int, list[int]]:
    """n confirmed subscribers, today's edition planned for each, and a run owning it (not
    handed out: the test decides how it is sent). Returns (run id, digest ids)."""
    readers(n)
    with session_scope() as session:
        planned = plan_edition(session, get_settings(), utcnow(), ignore_send_hour=True).planned
        run = runs.start(session, planned)
    assert len(planned) == n
    return run.id, planned


def outcomes(run_id: int, digest_ids: list[int]) -> list[str]:
    """Send a chunk of the run through the real path; each digest's outcome, by id."""
    results = send.send_chunk(run_id, digest_ids, settings=get_settings())
    return [r.outcome for r in sorted(results, key=lambda r: r.digest_id)]


def digest(digest_id: int) -> Digest:
    with session_scope() as session:
        return session.exec(select(Digest).where(Digest.id == digest_id)).one()


def statuses(run_id: int) -> dict[str, int]:
    with session_scope() as session:
        rows = session.exec(select(Digest.status).where(Digest.run_id == run_id)).all()
    out: dict[str, int] = {}
    for status in rows:
        out[status] = out.get(status, 0) + 1
    return out


def run_done(run_id: int) -> bool:
    with session_scope() as session:
        return session.get(SendRun, run_id).state == RunState.done


def each_sent_once(run_id: int, delivered: Counter, n: int) -> None:
    """The provider accepted one message for each of the n readers (0 duplicates, 0 missing),
    and the run says every digest is sent."""
    assert delivered == {address(i): 1 for i in range(n)}
    assert statuses(run_id) == {"sent": n}

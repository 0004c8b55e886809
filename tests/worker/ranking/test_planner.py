"""The planner ranks with the shared model artifact and refits it only when the corpus changes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from config import get_settings
from models import (
    DigestItem,
    Feedback,
    Paper,
    Subscriber,
    session_scope,
    subscribers,
    upgrade,
    utcnow,
)
from worker.ingest.fetch import load_sample
from worker.ranking import artifact, planning
from worker.ranking.planning import plan_edition


def _artifact(home: Path) -> Path:
    return get_settings().artifacts_path / artifact.ARTIFACT


def test_plan_fits_the_model_once_and_reuses_it(paperboy_home: Path) -> None:
    upgrade()
    load_sample()
    with session_scope() as session:
        subscribers.subscribe(
            session, "a@example.com", interests="semantic segmentation", confirmed=True
        )
    now = utcnow()
    with session_scope() as session:
        assert plan_edition(session, get_settings(), now, ignore_send_hour=True).planned
    path = _artifact(paperboy_home)
    stamp = path.stat().st_mtime_ns
    with session_scope() as session:
        plan_edition(session, get_settings(), now + timedelta(days=1), ignore_send_hour=True)
    assert path.stat().st_mtime_ns == stamp  # same corpus: loaded, not refit
    with session_scope() as session:
        session.add(Paper(id="2999.00001", title="Brand new topic", abstract="Quokkas."))
    with session_scope() as session:
        plan_edition(session, get_settings(), now + timedelta(days=2), ignore_send_hour=True)
    assert path.stat().st_mtime_ns != stamp


def test_an_editions_chunks_read_load_and_prepare_the_candidates_once_per_process(
    paperboy_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade()
    load_sample()
    with session_scope() as session:
        ids = [
            subscribers.subscribe(
                session, f"r{i}@example.com", interests="semantic segmentation", confirmed=True
            ).id
            for i in range(3)
        ]
    reads = []
    for name in ("candidate_papers", "shared_model", "ranker"):
        real = getattr(planning, name)
        monkeypatch.setattr(
            planning, name, lambda *a, _r=real, _n=name, **kw: reads.append(_n) or _r(*a, **kw)
        )
    now = utcnow()
    for sid in ids:  # three chunks of one edition, as plan_chunk plans them
        with session_scope() as session:
            planned = plan_edition(session, get_settings(), now, True, subscriber_ids=[sid]).planned
        assert len(planned) == 1
    # and one ranker prepared the candidates for all three
    assert reads == ["candidate_papers", "shared_model", "ranker"]
    with session_scope() as session:  # the next edition reads afresh
        plan_edition(session, get_settings(), now + timedelta(days=1), True, subscriber_ids=ids)
    assert reads == ["candidate_papers", "shared_model", "ranker"] * 2


def test_plan_uses_liked_papers_and_never_repeats_them(paperboy_home: Path) -> None:
    upgrade()
    load_sample()
    with session_scope() as session:
        sub = subscribers.subscribe(session, "b@example.com", confirmed=True)
        liked = session.exec(select(Paper).where(Paper.title.contains("Segmentation"))).first()
        session.add(Feedback(subscriber_id=sub.id, paper_id=liked.id, value=1))
    with session_scope() as session:
        plan_edition(session, get_settings(), utcnow(), ignore_send_hour=True)
    with session_scope() as session:
        items = session.exec(select(DigestItem)).all()
        sub = session.exec(select(Subscriber)).one()
    assert items and liked.id not in {i.paper_id for i in items}
    assert sum("egmentation" in " ".join(r["text"] for r in i.reasons) for i in items) >= 3
    assert sub.interests == ""  # the picks came from the liked paper alone
    with session_scope() as session:  # a paper sent is never sent again, nor the liked one
        session.add(Paper(id="2999.00002", title="Segmentation anew", abstract="Segmentation."))
    with session_scope() as session:
        plan_edition(session, get_settings(), utcnow() + timedelta(days=1), True)
    with session_scope() as session:
        first = {i.digest_id for i in items}
        later = [i for i in session.exec(select(DigestItem)).all() if i.digest_id not in first]
    assert later and not {i.paper_id for i in later} & {liked.id, *(i.paper_id for i in items)}


@pytest.mark.services
def test_plan_reads_feedback_and_history_on_postgresql(
    paperboy_home: Path, production: str
) -> None:
    test_plan_uses_liked_papers_and_never_repeats_them(paperboy_home)

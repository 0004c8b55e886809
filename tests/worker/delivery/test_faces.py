"""A run's paper faces are rendered once for all its worker processes: one process renders
and shares them in Redis, another reads them back equal, field for field (so its emails are
the same bytes), and renders none itself; another run does not see them."""

from __future__ import annotations

import pytest

from emails.render import PaperCard
from models import session_scope, utcnow
from tests.worker.sending import plan_run
from worker.delivery import faces, send

pytestmark = pytest.mark.services


def _faces(run_id: int, digest_ids: list[int], redis_url: str) -> list:
    send.FACES.clear()  # as in a fresh pool process
    with session_scope() as session:
        rows = send.card_rows(session, digest_ids, run_id=run_id, redis_url=redis_url)
    return [face for d in digest_ids for _row, face in rows[d]]


def test_a_face_rendered_by_one_process_is_read_by_the_others(
    production: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id, planned = plan_run(3)
    rendered = _faces(run_id, planned, redis_url)
    assert len(rendered) > 3

    def render_nothing(**_paper):
        raise AssertionError("rendered again: the run's faces were not shared")

    monkeypatch.setattr(send, "paper_face", render_nothing)
    assert _faces(run_id, planned, redis_url) == rendered
    with pytest.raises(AssertionError, match="not shared"):
        _faces(run_id + 1, planned, redis_url)


def test_a_shared_face_keeps_its_tuples(production: str, redis_url: str) -> None:
    card = PaperCard(
        title="T",
        url=None,
        authors="A",
        teaser="t",
        why="",
        more_url="",
        less_url="",
        pages=(("Hugging Face", "https://huggingface.co/papers/1"),),
        topics=("graphs",),
        upvotes=3,
    )
    key = ("2611.00001", utcnow())
    faces.share(redis_url, 7, {key: card})
    assert faces.shared(redis_url, 7, [key]) == {key: card}

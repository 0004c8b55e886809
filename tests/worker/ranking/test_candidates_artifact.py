"""The edition's candidates, stored once: a process that loads them ranks exactly as one that
built them, and any change to what they depend on builds them afresh."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from worker.ranking import Model, PaperDoc, Profile, RankParams, artifact, ranker
from worker.ranking.scoring import Candidates


def _signals(corpus: list[PaperDoc]) -> list[PaperDoc]:
    """Papers with authors and upvotes, so every part of the candidates has something."""
    return [
        replace(p, authors=(f"Author {i % 13}",), upvotes=i % 5, age_days=i % 4)
        for i, p in enumerate(corpus[:300])
    ]


def _readers(papers: list[PaperDoc]) -> list[Profile]:
    return [
        Profile(
            id=i,
            interests=" ".join(papers[i].title.split()[:4]) if i % 4 else "",
            liked=(papers[i + 1].id,) if i % 3 == 0 else (),
            authors=("Author 3",) if i % 5 == 0 else (),
            categories=tuple(papers[i].categories[:1]) if i % 7 == 0 else (),
            muted=("graph",) if i % 6 == 0 else (),
        )
        for i in range(120)
    ]


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Every `Candidates.build` call from here on (each still builds)."""
    calls: list[tuple] = []
    real = Candidates.build
    monkeypatch.setattr(Candidates, "build", lambda *a: calls.append(a) or real(*a))
    return calls


def test_loaded_candidates_rank_as_built_ones(
    tmp_path: Path, corpus: list[PaperDoc], model: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    papers, params = _signals(corpus), RankParams(top_k=5)
    built = ranker(papers, params, model=model)(_readers(papers))
    stored = partial(artifact.candidates, tmp_path)
    stored(papers, model, params)  # the first planner builds and stores them
    monkeypatch.setattr(Candidates, "build", None)  # another process: it must not build
    loaded = ranker(papers, params, model=model, candidates=stored)(_readers(papers))
    assert dict(loaded) == dict(built)


@pytest.mark.parametrize(
    "change",
    [
        lambda papers, params: ([replace(papers[0], upvotes=99), *papers[1:]], params),
        lambda papers, params: ([replace(papers[0], age_days=6.5), *papers[1:]], params),
        lambda papers, params: ([replace(papers[0], authors=("Someone",)), *papers[1:]], params),
        lambda papers, params: (papers[1:], params),
        lambda papers, params: (papers, replace(params, trending_reason_at=0.1)),
        lambda papers, params: (papers, replace(params, generic_share=0.2)),
    ],
)
def test_candidates_are_built_afresh_when_what_they_depend_on_changes(
    tmp_path: Path, corpus: list[PaperDoc], model: Model, builds: list[tuple], change
) -> None:
    papers, params = _signals(corpus), RankParams()
    artifact.candidates(tmp_path, papers, model, params)
    artifact.candidates(tmp_path, papers, model, params)
    assert len(builds) == 1  # unchanged: loaded
    papers, params = change(papers, params)
    fresh = artifact.candidates(tmp_path, papers, model, params)
    assert len(builds) == 2
    assert fresh.built().keys() == Candidates.build(papers, model, params).built().keys()
    assert list(fresh.ids) == [p.id for p in papers]


def test_another_models_or_a_damaged_file_is_rebuilt(
    tmp_path: Path, corpus: list[PaperDoc], model: Model, builds: list[tuple]
) -> None:
    papers, params = _signals(corpus), RankParams()
    artifact.candidates(tmp_path, papers, model, params)
    other = Model.fit(papers[:200])
    artifact.candidates(tmp_path, papers, other, params)
    assert len(builds) == 2
    path = tmp_path / artifact.CANDIDATES
    path.write_bytes(path.read_bytes()[:100])
    assert list(artifact.candidates(tmp_path, papers, other, params).ids) == [p.id for p in papers]
    assert len(builds) == 3

"""The fitted model: embeds as scikit-learn would; the artifact is shared, refit on change."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.preprocessing import normalize

from worker.ranking import FitParams, Model, PaperDoc, artifact
from worker.ranking.model import MODEL_VERSION


def test_bulk_embedding_equals_the_vectorizer_transform(
    corpus: list[PaperDoc], model: Model
) -> None:
    texts = [p.abstract for p in corpus[:50]] + ["", "graph graph graph neural", "Schrödinger"]
    ours = model.embed_texts(texts)
    theirs = normalize(model.vectorizer.transform(texts))
    assert abs(ours - theirs).max() < 1e-6


def test_title_words_weigh_more_than_abstract_words(model: Model) -> None:
    abstract = "We study segmentation and detection of objects in images."
    in_title = PaperDoc("t", "Segmentation of images", abstract)
    in_abstract = PaperDoc("a", "Detection in images", abstract)
    query = model.embed_texts(["segmentation"])
    scores = (model.embed_papers([in_title, in_abstract]) @ query.T).toarray().ravel()
    assert scores[0] > scores[1]


def test_artifact_is_reused_until_the_corpus_changes(
    tmp_path: Path, corpus: list[PaperDoc]
) -> None:
    first, refit = artifact.load_or_fit(tmp_path, corpus[:100])
    assert refit and (tmp_path / artifact.ARTIFACT).exists()
    again, refit = artifact.load_or_fit(tmp_path, list(reversed(corpus[:100])))
    assert not refit and again.fingerprint == first.fingerprint
    edited = [replace(corpus[0], abstract="changed"), *corpus[1:100]]
    changed, refit = artifact.load_or_fit(tmp_path, edited)
    assert refit and changed.fingerprint != first.fingerprint
    _, refit = artifact.load_or_fit(tmp_path, edited, FitParams(title_weight=1.0))
    assert refit  # new fit parameters are a new model too
    assert [p.name for p in tmp_path.iterdir()] == [artifact.ARTIFACT]  # no temp files left


def test_loaded_artifact_embeds_like_the_fitted_model(
    tmp_path: Path, corpus: list[PaperDoc]
) -> None:
    fitted, _ = artifact.load_or_fit(tmp_path, corpus[:100])
    loaded = artifact.load(tmp_path)
    a, b = fitted.embed_papers(corpus[:20]), loaded.embed_papers(corpus[:20])
    assert np.array_equal(a.toarray(), b.toarray())


def test_artifact_of_another_version_is_refit(tmp_path: Path, corpus: list[PaperDoc]) -> None:
    model, _ = artifact.load_or_fit(tmp_path, corpus[:60])
    model.version = MODEL_VERSION + 1
    artifact.save(model, tmp_path)
    assert artifact.load(tmp_path) is None
    _, refit = artifact.load_or_fit(tmp_path, corpus[:60])
    assert refit


def test_a_damaged_artifact_is_refit_not_fatal(tmp_path: Path, corpus: list[PaperDoc]) -> None:
    artifact.load_or_fit(tmp_path, corpus[:60])
    path = tmp_path / artifact.ARTIFACT
    path.write_bytes(path.read_bytes()[:100])  # truncated, as after a full disk
    assert artifact.load(tmp_path) is None
    model, refit = artifact.load_or_fit(tmp_path, corpus[:60])
    assert refit and model.n_terms > 0
    assert artifact.load(tmp_path) is not None


def test_a_failed_write_leaves_the_old_artifact(
    tmp_path: Path, corpus: list[PaperDoc], monkeypatch
) -> None:
    artifact.load_or_fit(tmp_path, corpus[:60])
    before = (tmp_path / artifact.ARTIFACT).read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        artifact.save(Model.fit(corpus[:70]), tmp_path)
    assert (tmp_path / artifact.ARTIFACT).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [artifact.ARTIFACT]

"""A real corpus for ranking tests: the 600 bundled arXiv papers, fitted once per session."""

from __future__ import annotations

import pytest

from models.reasons import Kind
from worker.ingest.sources.sample import sample_papers
from worker.ranking import Model, PaperDoc, Pick


@pytest.fixture(scope="session")
def corpus() -> list[PaperDoc]:
    return [
        PaperDoc(p["id"], p["title"], p["abstract"], categories=tuple(p.get("categories") or ()))
        for p in sample_papers()
    ]


def phrases(pick: Pick) -> list[str]:
    """The pick's phrase reasons, as the paper writes them."""
    return [r.text for r in pick.reasons if r.kind is Kind.PHRASE]


def texts(pick: Pick) -> list[str]:
    """The text of each of the pick's reasons, whatever its kind."""
    return [r.text for r in pick.reasons]


@pytest.fixture(scope="session")
def model(corpus: list[PaperDoc]) -> Model:
    return Model.fit(corpus)

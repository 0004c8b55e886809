"""A real corpus for ranking tests: the 600 bundled arXiv papers, fitted once per session."""

from __future__ import annotations

import pytest

from worker.ingest.sources.sample import sample_papers
from worker.ranking import Model, PaperDoc


@pytest.fixture(scope="session")
def corpus() -> list[PaperDoc]:
    return [
        PaperDoc(p["id"], p["title"], p["abstract"], categories=tuple(p.get("categories") or ()))
        for p in sample_papers()
    ]


@pytest.fixture(scope="session")
def model(corpus: list[PaperDoc]) -> Model:
    return Model.fit(corpus)

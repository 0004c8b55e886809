"""The taxonomies (arXiv's and the other sources') the forms check categories against."""

from __future__ import annotations

import re

import pytest

from models.arxiv import CATEGORIES
from models.catalog import canonical_category
from worker.ingest.sources.sample import sample_papers

ARXIV_CODE = re.compile(r"^[a-z-]+(\.[A-Za-z-]+)?$")


def test_every_category_of_the_bundled_papers_is_in_the_taxonomy() -> None:
    seen = {c for p in sample_papers() for c in p["categories"] if ARXIV_CODE.match(c)}
    assert len(seen) > 50
    assert seen <= CATEGORIES, sorted(seen - CATEGORIES)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("cs.lg", "cs.LG"), (" Q-BIO.nc ", "q-bio.NC"), ("Neuroscience", "neuroscience")],
)
def test_case_and_spaces_are_forgiven(typed: str, stored: str) -> None:
    assert canonical_category(typed) == stored


@pytest.mark.parametrize("typed", ["bogus.XX", "cs", "cs.LG.x", "", "neuro science"])
def test_anything_else_is_refused_in_words(typed: str) -> None:
    with pytest.raises(ValueError, match="not an arXiv category"):
        canonical_category(typed)

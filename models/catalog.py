"""What a reader may choose: the sources by name and the categories each one offers.

Preferences are checked against these plain facts where they are entered (a category no source
has would never match a paper), so they live beside the models rather than in the worker's
source registry, which speaks HTTP. Each fetched source takes its name, label, taxonomy and
default from its entry here (`Source(**asdict(catalog.ARXIV), ...)`), and a test holds the
registry's choosable sources and this catalog together.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from models.arxiv import CATEGORIES
from models.subjects import BIORXIV_SUBJECTS, MEDRXIV_SUBJECTS


@dataclass(frozen=True)
class Offering:
    """A source as a reader sees it: `label` is its name on cards and pages; `taxonomy` the
    categories it offers (None: it has none); a reader who chose no source reads the ones
    `chosen_by_default`."""

    name: str
    label: str
    taxonomy: frozenset[str] | None = None
    chosen_by_default: bool = False


ARXIV = Offering("arxiv", "arXiv", CATEGORIES, chosen_by_default=True)
HF = Offering("hf", "Hugging Face", chosen_by_default=True)
BIORXIV = Offering("biorxiv", "bioRxiv", BIORXIV_SUBJECTS)
MEDRXIV = Offering("medrxiv", "medRxiv", MEDRXIV_SUBJECTS)
OFFERINGS: dict[str, Offering] = {o.name: o for o in (ARXIV, HF, BIORXIV, MEDRXIV)}


@cache
def _categories() -> dict[str, str]:
    return {c.casefold(): c for o in OFFERINGS.values() for c in sorted(o.taxonomy or ())}


def canonical_category(name: str) -> str:
    """A category of some source's taxonomy as that source spells it ('CS.lg' -> 'cs.LG',
    'Neuroscience' -> 'neuroscience'); a ValueError in the reader's words otherwise (a
    category no source has would never match a paper)."""
    found = _categories().get(name.strip().casefold())
    if found is None:
        raise ValueError(
            f"{name!r} is not an arXiv category nor a subject of another source: use codes "
            "such as cs.LG, stat.ML or q-bio.NC, or subjects such as neuroscience"
        )
    return found

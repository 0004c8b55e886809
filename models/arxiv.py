"""The arXiv category taxonomy (arxiv.org/category_taxonomy): the categories a reader may pick.

A category outside it would never match a paper, so it is refused where it is entered (the
web forms, the CLI, imports) rather than silently ignored by the ranking.
"""

from __future__ import annotations


def _group(prefix: str, codes: str) -> list[str]:
    return [f"{prefix}.{code}" for code in codes.split()]


CATEGORIES: frozenset[str] = frozenset(
    [
        *_group("cs", "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO")
        + _group("cs", "MA MM MS NA NE NI OH OS PF PL RO SC SD SE SI SY"),
        *_group("econ", "EM GN TH"),
        *_group("eess", "AS IV SP SY"),
        *_group("math", "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT")
        + _group("math", "OA OC PR QA RA RT SG SP ST"),
        "astro-ph",
        *_group("astro-ph", "CO EP GA HE IM SR"),
        "cond-mat",
        *_group(
            "cond-mat",
            "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
        ),
        *[
            "gr-qc",
            "hep-ex",
            "hep-lat",
            "hep-ph",
            "hep-th",
            "math-ph",
            "nucl-ex",
            "nucl-th",
            "quant-ph",
        ],
        *_group("nlin", "AO CD CG PS SI"),
        *_group(
            "physics",
            "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an ed-ph "
            "flu-dyn gen-ph geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph",
        ),
        *_group("q-bio", "BM CB GN MN NC OT PE QM SC TO"),
        *_group("q-fin", "CP EC GN MF PM PR RM ST TR"),
        *_group("stat", "AP CO ME ML OT TH"),
    ]
)
_BY_FOLDED = {c.casefold(): c for c in CATEGORIES}


def canonical_category(name: str) -> str:
    """'CS.lg' -> 'cs.LG'; ValueError in the reader's words for anything not in the taxonomy."""
    found = _BY_FOLDED.get(name.strip().casefold())
    if found is None:
        raise ValueError(
            f"{name!r} is not an arXiv category: use codes such as cs.LG, stat.ML or q-bio.NC"
        )
    return found

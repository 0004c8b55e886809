"""The arXiv category taxonomy (arxiv.org/category_taxonomy): the categories a reader may pick.

arXiv's source declares it as its taxonomy; `worker.ingest.registry.canonical_category` checks
what readers enter against every source's taxonomy (a category no source has would never match
a paper, so it is refused where it is entered rather than silently ignored by the ranking).
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

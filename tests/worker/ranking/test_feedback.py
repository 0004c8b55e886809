"""Pseudo-relevance feedback: a typed-only reader's first picks reshape their ranking: the
papers their words match, and those filed where most of those picks are, named so; readers
with votes of their own are left alone."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from emails.render import why_line
from models.reasons import Kind, Reason
from worker.ranking import Model, PaperDoc, Profile, RankParams, rank

TYPED = [
    Profile("grasp", interests="tactile sensing for grasping fruit"),
    Profile("graphs", interests="message passing, node classification, graph neural networks"),
    Profile("vision", interests="computer vision, image segmentation, object detection"),
]
ON = RankParams(top_k=10, trending_weight=0.0)
OFF = replace(ON, feedback_depth=0)


def test_feedback_reorders_a_typed_readers_picks(corpus: list[PaperDoc], model: Model) -> None:
    """It changes what a typed-only reader gets (else it would measure nothing), and no
    opened paper is ever named as a liked one."""
    on, off = (rank(corpus, TYPED, p, model=model) for p in (ON, OFF))
    assert any([p.paper_id for p in on[t.id]] != [p.paper_id for p in off[t.id]] for t in TYPED)
    assert not any(r.kind is Kind.LIKED for t in TYPED for p in on[t.id] for r in p.reasons)


@pytest.mark.parametrize("prof", TYPED, ids=lambda p: p.id)
def test_the_cut_never_removes_a_paper_above_its_calibrated_thresholds(
    corpus: list[PaperDoc], model: Model, prof: Profile
) -> None:
    """Every paper the typed words alone pass the floor with, and every paper filed where
    `feedback_carry_share` of the fed-back picks are (the category-aware threshold), and no
    other; each of the latter says which category carried it, "like your other picks"."""
    every = replace(ON, top_k=len(corpus))
    with_feedback = rank(corpus, [prof], every, model=model)[prof.id]
    words_alone = rank(corpus, [prof], replace(every, feedback_depth=0), model=model)[prof.id]
    fed = [p.paper_id for p in words_alone[: ON.feedback_depth]]
    by_id = {p.id: p for p in corpus}
    filed = Counter(c for i in fed for c in by_id[i].categories)
    carrying = {c for c, n in filed.items() if n / len(fed) >= ON.feedback_carry_share}
    passing = {p.paper_id for p in words_alone}
    carried = {p.id for p in corpus if carrying & set(p.categories)} - passing
    assert {p.paper_id for p in with_feedback} == passing | carried
    assert len(passing) < len(corpus) and len(passing | carried) < len(corpus)  # a cut
    for pick in with_feedback:
        says = [r for r in pick.reasons if r.kind is Kind.PICKS_CATEGORY]
        if pick.paper_id in carried:
            code = max(by_id[pick.paper_id].categories, key=lambda c: filed[c])
            assert says == [Reason.picks_category(code)] and code in carrying
        else:
            assert not says  # what the words carry is named by the words


def test_the_why_line_says_like_your_other_picks() -> None:
    assert why_line([Reason.picks_category("cs.RO")]) == "in Robotics, like your other picks"


def test_a_narrow_interest_gets_no_category_filler(corpus: list[PaperDoc]) -> None:
    """Fewer picks than the feedback depth pass the floor: however alike their categories,
    they carry no other paper past it (two picks say too little about where one reads)."""
    planted = [
        PaperDoc(f"fruit-{i}", title, "Tactile sensing guides the grasping of soft fruit.")
        for i, title in enumerate(("Tactile grasping of strawberries", "Grasping fruit by touch"))
    ]
    papers = [*corpus, *(replace(p, categories=("cs.RO",)) for p in planted)]
    prof = Profile("fruit", interests="tactile sensing for grasping fruit")
    picks = rank(papers, [prof], ON)[prof.id]
    assert {p.paper_id for p in picks} == {"fruit-0", "fruit-1"}
    shallow = rank(papers, [prof], replace(ON, feedback_depth=2))[prof.id]  # two picks fill it
    assert len(shallow) == ON.top_k  # ...and then the papers filed in cs.RO are carried
    carried = [p for p in shallow if not p.paper_id.startswith("fruit")]
    assert all(Reason.picks_category("cs.RO") in p.reasons for p in carried)

"""Pseudo-relevance feedback: a typed-only reader's first picks reshape their ranking, among
the papers their words match only; readers with votes of their own are left alone."""

from __future__ import annotations

from dataclasses import replace

import pytest

from models.reasons import Kind
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
def test_feedback_sends_only_papers_the_typed_words_carry_past_the_floor(
    corpus: list[PaperDoc], model: Model, prof: Profile
) -> None:
    """Every paper the typed words alone pass the floor with, and no other: the second
    ranking reorders them, it never adds one its fed-back papers alone bring in."""
    every = replace(ON, top_k=len(corpus))
    with_feedback = rank(corpus, [prof], every, model=model)[prof.id]
    words_alone = rank(corpus, [prof], replace(every, feedback_depth=0), model=model)[prof.id]
    assert {p.paper_id for p in with_feedback} == {p.paper_id for p in words_alone}
    assert len(words_alone) < len(corpus)  # the floor did cut


def test_readers_with_votes_of_their_own_get_no_feedback(
    corpus: list[PaperDoc], model: Model
) -> None:
    voted = [
        replace(TYPED[0], liked=(corpus[3].id,)),
        replace(TYPED[1], disliked=(corpus[4].id,)),
        replace(TYPED[2], clicked=(corpus[5].id,)),
        Profile("nothing typed", liked=(corpus[6].id,)),
    ]
    on, off = (rank(corpus, voted, p, model=model) for p in (ON, OFF))
    assert all(on[v.id] == off[v.id] for v in voted)

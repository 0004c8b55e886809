"""The liked-category prior: a small boost for papers filed where the reader's liked papers
are, said by name only where it carried the pick, and never against a "less like this"."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from emails.render import why_line
from models.reasons import Kind, Reason
from worker.ranking import Model, PaperDoc, Profile, RankParams, rank

CV = "Computer Vision and Pattern Recognition"


def readers(corpus: list[PaperDoc], category: str, n: int) -> list[Profile]:
    """Readers who liked three papers of `category` (and only of it)."""
    rng = np.random.default_rng(3)
    members = [p.id for p in corpus if p.categories == (category,)]
    return [Profile(i, liked=tuple(rng.choice(members, 3, replace=False))) for i in range(n)]


def test_the_reason_names_the_category_and_only_where_the_prior_carried_the_pick(
    corpus: list[PaperDoc], model: Model
) -> None:
    profiles = readers(corpus, "cs.CV", 20)
    params = RankParams(top_k=10, trending_weight=0.0)
    boosted = rank(corpus, profiles, params, model=model)
    plain = rank(corpus, profiles, replace(params, liked_category_boost=0.0), model=model)
    carried = 0
    for prof in profiles:
        without = {p.paper_id for p in plain[prof.id]}
        for pick in boosted[prof.id]:
            says = [r for r in pick.reasons if r.kind is Kind.LIKED_CATEGORY]
            assert bool(says) == (pick.paper_id not in without), pick
            assert says in ([], [Reason(Kind.LIKED_CATEGORY, CV)])
            carried += bool(says)
    assert carried  # some picks were carried by it: the case is tested, not vacuous


def test_the_why_line_says_like_papers_you_liked() -> None:
    line = why_line([Reason.liked_category("cs.CV")])
    assert line == f"in {CV}, like papers you liked"


def test_a_less_like_this_in_the_category_takes_the_prior_away(
    corpus: list[PaperDoc], model: Model
) -> None:
    """A reader liked cs.CV papers and said "less like this" of another cs.CV paper: the
    picks are those without the prior, and none says it."""
    liked_readers = readers(corpus, "cs.CV", 10)
    other = next(p.id for p in corpus if p.categories == ("cs.CV",))
    profiles = [replace(p, disliked=(other,)) for p in liked_readers if other not in p.liked]
    params = RankParams(top_k=10, trending_weight=0.0)
    boosted = rank(corpus, profiles, params, model=model)
    plain = rank(corpus, profiles, replace(params, liked_category_boost=0.0), model=model)
    for prof in profiles:
        assert boosted[prof.id] == plain[prof.id]
        assert not any(r.kind is Kind.LIKED_CATEGORY for p in boosted[prof.id] for r in p.reasons)


def test_a_followed_category_is_named_as_followed(corpus: list[PaperDoc], model: Model) -> None:
    """A reader who follows cs.CV and liked cs.CV papers: the category is said once, as
    followed (the stronger statement), even where the prior carried the pick."""
    profiles = [replace(p, categories=("cs.CV",)) for p in readers(corpus, "cs.CV", 10)]
    ranked = rank(corpus, profiles, RankParams(top_k=10, trending_weight=0.0), model=model)
    picks = [p for prof in profiles for p in ranked[prof.id]]
    kinds = [[r.kind for r in p.reasons] for p in picks]
    assert any(Kind.CATEGORY in k for k in kinds)
    assert not any(Kind.LIKED_CATEGORY in k for k in kinds)


def test_opened_papers_feed_the_prior_and_are_never_named(
    corpus: list[PaperDoc], model: Model
) -> None:
    """Clicks count toward the category shares (below a like), yet a pick the prior carried
    for a reader who only opened papers says nothing of likes."""
    profiles = [Profile(p.id, clicked=p.liked) for p in readers(corpus, "cs.CV", 10)]
    params = RankParams(top_k=10, trending_weight=0.0)
    boosted = rank(corpus, profiles, params, model=model)
    plain = rank(corpus, profiles, replace(params, liked_category_boost=0.0), model=model)
    assert any(boosted[p.id] != plain[p.id] for p in profiles)
    kinds = {r.kind for p in profiles for pick in boosted[p.id] for r in pick.reasons}
    assert not kinds & {Kind.LIKED, Kind.LIKED_CATEGORY}

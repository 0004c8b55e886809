"""The ranking's promises, on real papers: relevance, feedback, filters, boosts, reasons."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from config.settings import Settings
from models.reasons import POPULAR, Reason
from tests.worker.ranking.conftest import phrases, texts
from worker.ranking import Model, PaperDoc, Profile, RankParams, rank
from worker.ranking.model import analyze
from worker.ranking.planning import rank_params

PLANTED = PaperDoc(
    "planted",
    "Tactile sensing for robotic grasping of deformable fruit",
    "We mount tactile sensors on a robotic gripper and learn grasping policies for soft, "
    "deformable fruit such as strawberries and tomatoes, reducing bruising.",
)


def ids(picks) -> list[str]:
    return [p.paper_id for p in picks]


def test_planted_relevant_paper_ranks_first(corpus: list[PaperDoc]) -> None:
    papers = [*corpus, PLANTED]
    prof = Profile("s", interests="tactile sensing for grasping deformable fruit")
    assert ids(rank(papers, [prof])["s"])[0] == "planted"


def test_liking_a_paper_raises_similar_ones_and_disliking_lowers_them(
    corpus: list[PaperDoc], model: Model
) -> None:
    interests = "image analysis"
    liked = next(p for p in corpus if "segmentation" in p.title.lower())
    similar = [p.id for p in corpus if p.id != liked.id and "segmentation" in p.title.lower()]
    params = RankParams(top_k=50)
    base = rank(corpus, [Profile("s", interests)], params, model=model)["s"]
    up = rank(corpus, [Profile("s", interests, liked=(liked.id,))], params, model=model)["s"]
    down = rank(corpus, [Profile("s", interests, disliked=(liked.id,))], params, model=model)["s"]

    def share(picks) -> int:
        return sum(p in similar for p in ids(picks))

    assert share(up) > share(base) >= share(down)
    score = {p.paper_id: p.score for p in base}
    lowered = {p.paper_id: p.score for p in down}
    both = set(score) & set(lowered) & set(similar)
    assert both and all(lowered[i] < score[i] for i in both)


def test_muted_words_exclude_papers_whatever_their_case(corpus: list[PaperDoc]) -> None:
    prof = Profile("s", interests="image segmentation", muted=("MEDICAL", "lesion", "deep  nets"))
    picks = rank(corpus, [prof], RankParams(top_k=30))["s"]
    assert picks
    by_id = {p.id: p for p in corpus}
    for pick in picks:
        text = f"{by_id[pick.paper_id].title} {by_id[pick.paper_id].abstract}".lower()
        assert not re.search(r"\b(medical|lesion|deep\s+nets)\b", text)
    unmuted = rank(corpus, [replace(prof, muted=())], RankParams(top_k=30))["s"]
    assert set(ids(unmuted)) != set(ids(picks))


def test_followed_author_boosts_and_is_named_in_the_reasons(corpus: list[PaperDoc]) -> None:
    target = corpus[7]
    papers = [replace(p, authors=("Ada Lovelace",)) if p is target else p for p in corpus]
    prof = Profile("s", interests="image classification", authors=("ada  LOVELACE",))
    without = rank(papers, [replace(prof, authors=())], RankParams(top_k=10))["s"]
    picks = rank(papers, [prof], RankParams(top_k=10))["s"]
    assert target.id not in ids(without)
    pick = next(p for p in picks if p.paper_id == target.id)
    assert Reason.author("Ada Lovelace") in pick.reasons
    assert ids(picks).index(target.id) < 10


def test_sent_liked_and_disliked_papers_never_return(corpus: list[PaperDoc]) -> None:
    prof = Profile("s", interests="reinforcement learning policy")
    first = ids(rank(corpus, [prof], RankParams(top_k=5))["s"])
    again = rank(corpus, [replace(prof, exclude=frozenset(first[:3]), liked=(first[3],),
                                  disliked=(first[4],))], RankParams(top_k=50))["s"]  # fmt: skip
    assert not set(first) & set(ids(again))


def test_term_reasons_are_words_of_both_the_profile_and_the_paper(
    corpus: list[PaperDoc],
) -> None:
    interests = "graph neural networks for molecules and message passing"
    picks = rank(corpus, [Profile("s", interests)], RankParams(top_k=10))["s"]
    by_id = {p.id: p for p in corpus}
    profile_terms = set(analyze(interests))
    assert picks and all(p.reasons for p in picks)
    for pick in picks:
        paper = by_id[pick.paper_id]
        paper_text = f"{paper.title} {paper.abstract}"
        assert phrases(pick) == texts(pick)  # no liked papers, authors or upvotes here
        for reason in phrases(pick):
            assert reason.casefold() in paper_text.casefold()  # one casing per email
            words = [w for w in analyze(reason) if " " not in w]
            matched = " ".join(words[:2])  # a phrase may run on as the paper writes it
            assert matched in profile_terms, (reason, matched)


def test_liked_paper_reasons_come_from_the_liked_paper(
    corpus: list[PaperDoc], model: Model
) -> None:
    liked = corpus[3]
    picks = rank(corpus, [Profile("s", liked=(liked.id,))], model=model)["s"]
    liked_terms = set(analyze(f"{liked.title}. {liked.abstract}"))
    assert picks
    for pick in picks:
        assert pick.reasons and POPULAR not in pick.reasons
        for reason in phrases(pick):
            words = [w for w in analyze(reason) if " " not in w]
            assert " ".join(words[:2]) in liked_terms, reason  # what the liked paper says
    assert all(Reason.liked(liked.title, liked.id) in pick.reasons for pick in picks[:3])


def test_results_are_deterministic_and_independent_of_chunking(
    corpus: list[PaperDoc], model: Model
) -> None:
    profiles = [
        Profile(i, interests=p.title, liked=(corpus[(i * 7) % 600].id,))
        for i, p in enumerate(corpus[:40])
    ]
    one = rank(corpus, profiles, RankParams(chunk_size=1000, threads=1), model=model)
    many = rank(corpus, profiles, RankParams(chunk_size=7, threads=2), model=model)
    again = rank(corpus, profiles, RankParams(chunk_size=7, threads=2), model=model)
    assert one == many == again


def test_the_floor_gives_fewer_papers_rather_than_filler(corpus: list[PaperDoc]) -> None:
    prof = Profile("s", interests="strawberries")
    picks = rank([*corpus, PLANTED], [prof], RankParams(top_k=10, floor=0.05))["s"]
    assert ids(picks) == ["planted"]


@pytest.mark.parametrize(
    "prof",
    [
        Profile("typed", interests="tactile sensing for grasping fruit"),
        Profile("narrow", interests="strawberries harvesting"),
        Profile("liked", interests="protein folding", liked=("sample-0513",)),
    ],
    ids=lambda p: p.id,
)
def test_the_cut_never_removes_a_paper_above_its_calibrated_floor(
    corpus: list[PaperDoc], model: Model, prof: Profile
) -> None:
    """The shipped cut (the floor `bench quality` calibrates, the relative cut off) against
    the same ranking with no cut: every paper scoring at or above the floor is still sent,
    and only papers under it go."""
    shipped = RankParams(  # every paper; no boost, so a pick's score is its cosine (the
        # typed words' own: feedback's second ranking, which only reorders them, is tested
        # in test_feedback)
        top_k=len(corpus) + 1,
        trending_weight=0.0,
        liked_category_boost=0.0,
        feedback_depth=0,
    )
    assert shipped.floor > 0 and shipped.relative_floor == 0
    assert rank_params(Settings(), 10).floor == shipped.floor  # what the planner sends with
    uncut = rank([*corpus, PLANTED], [prof], replace(shipped, floor=-1.0), model=model)[prof.id]
    cut = rank([*corpus, PLANTED], [prof], shipped, model=model)[prof.id]
    above = [p.paper_id for p in uncut if p.score >= shipped.floor]
    assert ids(cut) == above
    assert len(cut) < len(uncut)  # the cut does cut, below the floor


FRUIT = [
    PLANTED,
    PaperDoc(
        "fruit-2",
        "Grasping strawberries with tactile feedback",
        "A soft gripper with tactile sensing picks ripe strawberries without bruising them, "
        "learning grip force from touch.",
    ),
    PaperDoc(
        "fruit-3",
        "Learning tactile grasping policies for fruit harvesting",
        "Tactile sensing guides a robotic hand that harvests fruit; the grasping policy adapts "
        "to deformable, easily bruised fruit.",
    ),
]


def test_a_narrow_interest_gets_its_great_papers_and_no_weak_ones(
    corpus: list[PaperDoc],
) -> None:
    """ "sensing" or "grasping" alone would fill the list: a typed phrase's lone word counts
    for little and carries no pick, so the shipped ranking stops at the three papers about
    tactile fruit grasping, with no relative cut."""
    prof = Profile("s", interests="tactile sensing for grasping fruit")
    papers = [*corpus, *FRUIT]
    picks = rank(papers, [prof], RankParams(top_k=10))["s"]
    assert sorted(ids(picks)) == sorted(p.id for p in FRUIT)
    word_by_word = RankParams(top_k=10, lone_word_weight=1.0, floor=-1.0)
    assert len(rank(papers, [prof], word_by_word)["s"]) > len(picks)


def test_trending_blends_into_the_score_and_is_explained(corpus: list[PaperDoc]) -> None:
    hot = replace(corpus[0], upvotes=80)
    papers = [hot, *corpus[1:]]
    prof = Profile("s", interests=corpus[0].title)
    calm = rank(corpus, [prof], RankParams(trending_weight=0.5))["s"][0]
    picked = rank(papers, [prof], RankParams(trending_weight=0.5))["s"][0]
    assert picked.paper_id == hot.id and picked.score > calm.score
    assert Reason.trending(80) in picked.reasons


@pytest.mark.parametrize("chosen", [("cs.CV",), ()])
def test_categories_boost_without_filtering(corpus: list[PaperDoc], chosen) -> None:
    prof = Profile("s", interests="neural network training", categories=chosen)
    params = RankParams(top_k=20, category_boost=0.5, relative_floor=0.0)  # the boost alone
    picks = rank(corpus, [prof], params)["s"]
    cats = {p.id: p.categories for p in corpus}
    in_cat = [("cs.CV" in cats[p.paper_id]) for p in picks]
    if chosen:
        assert in_cat[0]
        assert sorted(in_cat, reverse=True) == in_cat  # boosted ones first
    else:
        assert not all(in_cat)

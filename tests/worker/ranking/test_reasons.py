"""Why-lines a researcher would write, on the digests a subscriber complained about."""

from __future__ import annotations

from dataclasses import replace

import pytest

from models.reasons import Kind, Reason
from tests.worker.ranking.conftest import phrases, texts
from worker.ranking import Model, PaperDoc, Pick, Profile, RankParams, rank
from worker.ranking.model import SPANNING, analyze
from worker.ranking.types import why

GNN = "message passing, node classification, graph neural networks"
LLM = "large language model reasoning, chain of thought"
RL = "reinforcement learning policy gradient methods"


@pytest.fixture(scope="module")
def picks(corpus: list[PaperDoc], model: Model) -> dict[str, dict[str, Pick]]:
    """Each profile's picks by paper id; a wide cut so the weak matches are there to judge."""
    params = RankParams(top_k=25, relative_floor=0.0)
    ranked = rank(corpus, [Profile(t, interests=t) for t in (GNN, LLM, RL)], params, model=model)
    return {t: {p.paper_id: p for p in ranked[t]} for t in (GNN, LLM, RL)}


def test_a_phrase_the_profile_matched_stays_whole(picks) -> None:
    junction_tree = picks[GNN]["sample-0513"]  # "... message passing ..." in its abstract
    edge_augmented = picks[GNN]["sample-0521"]  # "Message-Passing" in its abstract
    assert Reason.phrase("message passing") in junction_tree.reasons
    assert Reason.phrase("Message-Passing") in edge_augmented.reasons
    for pick in picks[GNN].values():
        lone = {r.casefold() for r in texts(pick) if " " not in r and "-" not in r}
        assert not {"message", "passing"} & lone, pick.reasons


def test_a_phrase_runs_on_as_the_paper_writes_it_never_cut(picks) -> None:
    graphmix = picks[GNN]["sample-0215"]  # "... Graph Neural Network based ..."
    assert graphmix.reasons[0] == Reason.phrase("Graph Neural Network")  # not "Graph Neural",
    for pick in picks[GNN].values():  # nor "... based"
        assert "Graph Neural" not in texts(pick), pick.reasons


def test_generic_or_barely_said_words_are_no_reason(picks) -> None:
    assert "sample-0431" not in picks[LLM]  # Markov "chain", "large": not about LLM reasoning
    path_sufficient = picks[LLM].get("sample-0258")  # "thought" once, "Model" everywhere
    assert not path_sufficient or not {"thought", "model"} & {
        r.casefold() for r in texts(path_sufficient)
    }
    for pick in (p for t in picks for p in picks[t].values()):
        assert not {"large", "model", "models", "learning", "methods"} & {
            r.casefold() for r in texts(pick)
        }, pick.reasons


def test_a_phrase_split_by_punctuation_is_no_reason(picks) -> None:
    rlpyt = picks[RL]["sample-0061"]  # "... reinforcement learning, policy gradients ..."
    assert rlpyt.reasons and not any("," in r for r in texts(rlpyt))
    for pick in (p for t in picks for p in picks[t].values()):
        assert not any(c in r for r in texts(pick) for c in ",;:()"), pick.reasons


def test_at_most_three_best_first(corpus: list[PaperDoc], picks) -> None:
    by_id = {p.id: p for p in corpus}
    for pick in (p for t in picks for p in picks[t].values()):
        terms = phrases(pick)
        assert len(terms) <= 3
        title = by_id[pick.paper_id].title
        for reason in terms:
            words = title.replace("-", " ").replace(":", " ").split()
            if " " not in reason and reason.casefold() in {w.casefold() for w in words}:
                assert reason.casefold() in {w.casefold() for w in words}, (reason, title)
    few_shot = picks[GNN]["sample-0598"]  # "... for Few-shot Node Classification"
    assert few_shot.reasons[0].text.casefold() == "node classification"  # one casing


def test_a_liked_paper_match_names_the_liked_paper(corpus: list[PaperDoc], model: Model) -> None:
    liked = next(p for p in corpus if p.id == "sample-0513")  # junction-tree molecule VAE
    prof = Profile("s", interests="protein structure", liked=(liked.id,))
    got = rank(corpus, [prof], RankParams(top_k=5), model=model)["s"]
    assert got and Reason.liked(liked.title, liked.id) in got[0].reasons
    assert all(set(analyze(r)) <= set(analyze(f"{liked.title} {liked.abstract} protein structure"))
               for p in got for r in phrases(p))  # fmt: skip


QEC = PaperDoc(
    "qec",
    "Neural decoders for quantum error correction",
    "We train a neural decoder for the surface code, a quantum error correction scheme, and "
    "reach lower logical error rates than minimum-weight matching.",
)
PROTEIN = PaperDoc(
    "protein-diffusion",
    "Diffusion models for protein design",
    "A denoising diffusion model generates protein backbones; sequence design follows, and "
    "designed proteins fold as predicted.",
)


@pytest.mark.parametrize(
    ("interests", "whole", "one_word"),
    [
        ("quantum error correction", QEC, "sample-0254"),  # "Motion Correction in ... MRI"
        ("diffusion models for protein design", PROTEIN, "sample-0252"),  # graph diffusion
    ],
)
def test_one_word_of_a_typed_phrase_carries_no_pick(
    corpus: list[PaperDoc], interests: str, whole: PaperDoc, one_word: str
) -> None:
    """The issue's cases: the paper about the phrase comes first and says so; the paper that
    shares one word of it ("Correction", "Diffusion") is not sent, nor that word a reason;
    also where the paper about it is filed with the one-word paper (its one pick's category
    carries nothing past the floor: `feedback`)."""
    filed = next(p for p in corpus if p.id == one_word).categories
    for planted in (whole, replace(whole, categories=filed)):
        got = rank([*corpus, planted], [Profile("s", interests=interests)], RankParams(top_k=10))
        got = got["s"]
        assert got[0].paper_id == whole.id and phrases(got[0])
        assert one_word not in {p.paper_id for p in got}
        for pick in got[1:]:
            assert not {"correction", "diffusion"} & {t.casefold() for t in phrases(pick)}


def test_no_fragment_beside_its_whole_phrase(picks) -> None:
    for pick in (p for t in picks for p in picks[t].values()):
        shown = [t.casefold().replace("-", " ") for t in phrases(pick)]
        for a in shown:
            assert not any(a != b and set(a.split()) & set(b.split()) for b in shown), shown


def test_one_casing_per_reader(picks) -> None:
    for ranked in picks.values():
        seen: dict[str, set[str]] = {}
        for pick in ranked.values():
            for text in phrases(pick):
                seen.setdefault(text.casefold(), set()).add(text)
        assert all(len(casings) == 1 for casings in seen.values()), seen


def test_a_followed_category_boosts_and_says_so_by_name(corpus: list[PaperDoc]) -> None:
    prof = Profile("s", interests=GNN, categories=("cs.CV",))
    got = rank(corpus, [prof], RankParams(top_k=10))["s"]
    in_cv = [
        p for p in got if "cs.CV" in {c for d in corpus if d.id == p.paper_id for c in d.categories}
    ]
    assert in_cv
    for pick in got:
        says = Reason(Kind.CATEGORY, "Computer Vision and Pattern Recognition") in pick.reasons
        assert says == (pick in in_cv), pick.reasons
        assert len(pick.reasons) <= 3


def test_the_liked_paper_named_is_the_one_most_like_the_pick(
    corpus: list[PaperDoc], model: Model
) -> None:
    """Two liked papers far apart (molecule generation, object detection): each pick that a
    liked paper carries names the one it is like, so both are named, not one on every card."""
    liked = ("sample-0513", next(p.id for p in corpus if "Object Detection" in p.title))
    got = rank(corpus, [Profile("s", liked=liked)], RankParams(top_k=10), model=model)["s"]
    named = {r.paper_id for p in got for r in p.reasons if r.kind is Kind.LIKED}
    assert named == set(liked)
    assert all(len(p.reasons) <= 3 and not phrases(p) for p in got)  # no typed words


def test_a_pick_the_liked_papers_carry_together_names_the_one_most_like_it(
    corpus: list[PaperDoc], model: Model
) -> None:
    """Three cs.LG papers liked: sample-0055 was carried by the three together, none alone
    with the share a liked reason needs, and had no reason. It names the liked paper it is
    most like, and no pick is left without a line."""
    liked = tuple(sorted(p.id for p in corpus if p.categories[:1] == ("cs.LG",))[:3])
    got = rank(corpus, [Profile("s", liked=liked)], RankParams(top_k=10), model=model)["s"]
    assert all(p.reasons for p in got), [p.paper_id for p in got if not p.reasons]
    pick = next(p for p in got if p.paper_id == "sample-0055")
    (named,) = (r.paper_id for r in pick.reasons if r.kind is Kind.LIKED)
    target = model.embed_papers([next(p for p in corpus if p.id == pick.paper_id)])
    sims = {
        i: (model.embed_papers([p]) @ target.T).sum() for i in liked for p in corpus if p.id == i
    }
    assert named == max(sims, key=sims.get), sims


CV = "computer vision, image segmentation, object detection"
EVO = "evolutionary algorithms, neuroevolution, spiking neural networks"
TRAINING = "machine learning, deep neural network training, optimization"


def test_a_match_by_several_typed_words_names_the_interest_it_is_close_to(
    corpus: list[PaperDoc], model: Model
) -> None:
    """sample-0034 (coffee-leaf infection, image processing) shares the reader's words, but
    its typed phrases are outside the 64 strongest terms reasons are looked for among and its
    lone words ("image", "detection") are too common: it had no reason. It is close to the
    typed phrase its words give the most, named as the reader wrote it."""
    got = rank(corpus, [Profile("s", interests=CV)], RankParams(), model=model)["s"]
    pick = next(p for p in got if p.paper_id == "sample-0034")
    assert pick.reasons == (Reason.close("image segmentation"),)


def test_every_pick_of_a_typed_reader_has_a_reason_never_a_generic_lone_word(
    corpus: list[PaperDoc], model: Model
) -> None:
    readers = [Profile(t, interests=t) for t in (CV, EVO, TRAINING, GNN, LLM, RL)]
    ranked = rank(corpus, readers, RankParams(), model=model)
    common = model.generic(RankParams().generic_share)
    vocabulary = model.vectorizer.vocabulary_
    for prof in readers:
        typed = {part for part, _ in model.typed_parts(prof.interests)}
        for pick in ranked[prof.id]:
            assert pick.reasons, pick
            for r in (r for r in pick.reasons if r.kind is Kind.CLOSE):
                assert r.text.casefold() in {t.casefold() for t in typed}, r
                words = analyze(r.text)
                assert len(words) > 1 or not common[vocabulary[words[0]]], r


def test_a_close_interest_keeps_its_kind_in_the_readers_one_casing() -> None:
    casing = {"medical imaging": "Medical Imaging"}
    shown = why([Reason.close("medical imaging"), None, None, None, None], casing)
    assert shown == (Reason(Kind.CLOSE, "Medical Imaging"),)


def test_a_term_across_two_typed_phrases_is_counted_but_never_a_reason(model: Model, picks) -> None:
    """ "classification graph" spans "node classification, graph neural networks": it still
    scores, but as a reason it hid the phrases the reader typed (it overlaps both) and the
    paper never writes it as one, so the pick was left with none."""
    rows, phrase, _ = model.embed_interests([GNN], RankParams().generic_share)
    spanning = model.vectorizer.vocabulary_["classification graph"]
    assert phrase[list(rows.indices).index(spanning)] == SPANNING
    for pick in picks[GNN].values():
        assert "classification graph" not in {" ".join(analyze(t)) for t in phrases(pick)}, (
            pick.reasons
        )


def test_a_common_lone_typed_word_names_no_pick(corpus: list[PaperDoc], model: Model) -> None:
    got = rank(corpus, [Profile("s", interests="learning")], RankParams(), model=model)["s"]
    assert not [r for p in got for r in p.reasons if r.kind is Kind.CLOSE]

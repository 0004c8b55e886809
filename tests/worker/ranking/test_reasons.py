"""Why-lines a researcher would write, on the digests a subscriber complained about."""

from __future__ import annotations

import pytest

from models.reasons import Reason
from tests.worker.ranking.conftest import phrases, texts
from worker.ranking import Model, PaperDoc, Pick, Profile, RankParams, rank
from worker.ranking.model import analyze

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
    tempering = picks[LLM]["sample-0431"]  # Markov "chain", "large": not about LLM reasoning
    path_sufficient = picks[LLM]["sample-0258"]  # "thought" once, "Model" everywhere
    assert not {"chain", "large"} & {r.casefold() for r in texts(tempering)}
    assert not {"thought", "model"} & {r.casefold() for r in texts(path_sufficient)}
    for pick in (p for t in picks for p in picks[t].values()):
        assert not {"large", "model", "models", "learning", "methods"} & {
            r.casefold() for r in texts(pick)
        }, pick.reasons


def test_a_phrase_split_by_punctuation_is_no_reason(picks) -> None:
    rlpyt = picks[RL]["sample-0061"]  # "... reinforcement learning, policy gradients ..."
    assert rlpyt.reasons and not any("," in r for r in texts(rlpyt))
    for pick in (p for t in picks for p in picks[t].values()):
        assert not any(c in r for r in texts(pick) for c in ",;:()"), pick.reasons


def test_at_most_three_best_first_as_written_in_the_title(corpus: list[PaperDoc], picks) -> None:
    by_id = {p.id: p for p in corpus}
    for pick in (p for t in picks for p in picks[t].values()):
        terms = phrases(pick)
        assert len(terms) <= 3
        title = by_id[pick.paper_id].title
        for reason in terms:
            words = title.replace("-", " ").replace(":", " ").split()
            if " " not in reason and reason.casefold() in {w.casefold() for w in words}:
                assert reason in words, (reason, title)  # a word the title has: its case
    few_shot = picks[GNN]["sample-0598"]  # "... for Few-shot Node Classification"
    assert few_shot.reasons[0] == Reason.phrase("Node Classification")


def test_a_liked_paper_match_names_the_liked_paper(corpus: list[PaperDoc], model: Model) -> None:
    liked = next(p for p in corpus if p.id == "sample-0513")  # junction-tree molecule VAE
    prof = Profile("s", interests="protein structure", liked=(liked.id,))
    got = rank(corpus, [prof], RankParams(top_k=5), model=model)["s"]
    assert got and Reason.liked(liked.title, liked.id) in got[0].reasons
    assert all(set(analyze(r)) <= set(analyze(f"{liked.title} {liked.abstract} protein structure"))
               for p in got for r in phrases(p))  # fmt: skip

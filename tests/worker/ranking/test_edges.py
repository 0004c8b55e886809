"""Odd inputs behave clearly: empty and garbage profiles, empty corpus, Unicode and LaTeX."""

from __future__ import annotations

from dataclasses import replace

from models.reasons import POPULAR, Reason
from tests.worker.ranking.conftest import texts
from worker.ranking import Model, PaperDoc, Profile, RankParams, rank


def _with_trending(corpus: list[PaperDoc]) -> list[PaperDoc]:
    return [replace(p, upvotes=50 - i) if i < 5 else p for i, p in enumerate(corpus)]


def test_no_usable_profile_gets_the_trending_papers_labelled_as_such(
    corpus: list[PaperDoc],
) -> None:
    papers = _with_trending(corpus)
    profiles = [
        Profile("empty"),
        Profile("stop words", interests="the of and which with for"),
        Profile("unknown liked", liked=("not-a-paper",)),
        Profile("symbols", interests="!!! ??? 1234 $$ \\\\ {}"),
    ]
    result = rank(papers, profiles, RankParams(top_k=10))
    for picks in result.values():
        assert [p.paper_id for p in picks] == [p.id for p in papers[:5]]  # upvoted only, best first
        assert all(p.reasons[0] == POPULAR for p in picks)


def test_no_trending_papers_and_no_profile_gives_nothing(corpus: list[PaperDoc]) -> None:
    assert rank(corpus, [Profile("empty")]) == {"empty": []}


def test_fifty_kilobytes_of_interests_still_ranks_with_reasons(corpus: list[PaperDoc]) -> None:
    text = " ".join(p.abstract for p in corpus[:40])[:50_000]
    picks = rank(corpus, [Profile("long", interests=text)])["long"]
    assert len(picks) == 10 and all(p.reasons for p in picks)


def test_empty_corpus_gives_empty_picks() -> None:
    assert rank([], [Profile(1, interests="graphs"), Profile(2)]) == {1: [], 2: []}
    assert rank([PaperDoc("a", "", "")], [Profile(1, interests="graphs")]) == {1: []}


def test_no_profiles_gives_nothing(corpus: list[PaperDoc]) -> None:
    assert rank(corpus, []) == {}


def test_papers_with_empty_abstracts_rank_on_their_titles() -> None:
    papers = [
        PaperDoc("a", "Contrastive learning for speech recognition", ""),
        PaperDoc("b", "Protein folding with transformers", ""),
        PaperDoc("c", "", ""),
    ]
    picks = rank(papers, [Profile("s", interests="speech recognition")])["s"]
    assert [p.paper_id for p in picks] == ["a"]
    assert set(picks[0].reasons) <= {
        Reason.phrase(t) for t in ("speech recognition", "speech", "recognition")
    }


def test_unicode_and_latex_match_and_read_as_written() -> None:
    papers = [
        PaperDoc(
            "u",
            "Schrödinger bridges for naïve generative modelling",
            r"We solve the Schrödinger bridge problem in $\mathcal{O}(n \log n)$ time "
            r"with \textbf{entropic} regularisation.",
        ),
        PaperDoc("v", "Graph pooling", "Pooling layers for graph neural networks."),
        PaperDoc("w", "Text to speech", "Neural vocoders for speech synthesis."),
    ]
    picks = rank(papers, [Profile("s", interests="schrodinger bridge, naive entropic")])["s"]
    assert [p.paper_id for p in picks] == ["u"]
    assert "Schrödinger" in " ".join(texts(picks[0]))  # as written, accent and all
    assert not any(r in {"mathcal", "textbf", "log"} for r in texts(picks[0]))
    latex = rank(papers, [Profile("t", interests=r"\mathcal{O} \textbf")])["t"]
    assert latex == []  # LaTeX commands are not words: no match, and no trending fallback


def test_model_of_a_stop_word_corpus_falls_back_to_trending() -> None:
    papers = [PaperDoc("a", "The and of", "", upvotes=3), PaperDoc("b", "Which with", "")]
    model = Model.fit(papers)
    assert model.vectorizer is None
    picks = rank(papers, [Profile("s", interests="graphs")], model=model)["s"]
    assert [(p.paper_id, p.reasons) for p in picks] == [("a", (POPULAR, Reason.trending(3)))]

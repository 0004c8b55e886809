"""The compiled ranking loop against the definition it implements, and its columnar result."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from worker.ranking import Model, PaperDoc, Profile, RankParams, rank, rank_batches


def reference_top(corpus: list[PaperDoc], model: Model, prof: Profile, params: RankParams):
    """The ranking's definition, written the slow obvious way: a dense Rocchio vector, the
    cosine against every paper, a typed phrase's words in full only where two of its
    distinctive words are (else `lone_word_weight`, and never enough to pass the floor),
    sent papers out, the floors (absolute, and relative to the profile's best), then
    `liked_category_boost` times the largest share of the liked papers filed in one of the
    paper's categories (none where a disliked paper is filed), a stable sort."""
    matrix = model.embed_papers(corpus).toarray()
    at = {p.id: j for j, p in enumerate(corpus)}
    rows, phrase, distinctive = model.embed_interests([prof.interests], params.generic_share)
    typed = np.zeros(model.n_terms)
    typed[rows.indices] = params.interests_weight * rows.data
    query = typed.copy()
    if prof.liked:
        query += params.liked_weight * matrix[[at[i] for i in prof.liked]].mean(axis=0)
    if prof.disliked:
        query -= params.disliked_weight * matrix[[at[i] for i in prof.disliked]].mean(axis=0)
    norm = np.linalg.norm(query)
    score = matrix @ query
    lone = np.zeros(len(corpus))
    for g in set(phrase[phrase >= 0].tolist()):
        words = rows.indices[phrase == g]
        said = matrix[:, words] @ typed[words]
        whole = (matrix[:, rows.indices[(phrase == g) & distinctive]] > 0).sum(axis=1) >= 2
        lone += np.where(whole, 0.0, said * params.lone_word_weight)
        score -= np.where(whole, 0.0, said * (1 - params.lone_word_weight))
    relevance = score / norm
    passes = (score - lone) / norm >= params.floor
    relevance[[at[i] for i in (*prof.exclude, *prof.liked, *prof.disliked)]] = -np.inf
    cut = params.relative_floor * relevance[passes].max()
    by_id = {p.id: p for p in corpus}
    disliked = {c for i in prof.disliked for c in by_id[i].categories}
    share = {
        c: sum(c in by_id[i].categories for i in prof.liked) / len(prof.liked)
        for i in prof.liked
        for c in by_id[i].categories
        if c not in disliked
    }
    prior = np.array([max([share.get(c, 0.0) for c in p.categories], default=0.0) for p in corpus])
    score = relevance + params.liked_category_boost * prior
    kept = passes & (relevance >= cut)
    order = np.argsort(-np.where(kept, score, -np.inf), kind="stable")[: params.top_k]
    return [(corpus[j].id, round(float(score[j]), 6)) for j in order if kept[j]]


def test_compiled_ranking_matches_the_dense_definition(
    corpus: list[PaperDoc], model: Model
) -> None:
    rng = np.random.default_rng(7)
    profiles = []
    for i in range(30):
        picks = rng.choice(len(corpus), 16, replace=False)
        profiles.append(
            Profile(
                i,
                interests=corpus[picks[0]].title,
                liked=tuple(corpus[j].id for j in picks[1 : 1 + i % 4]),
                disliked=(corpus[picks[5]].id,) if i % 3 == 0 else (),
                exclude=frozenset(corpus[j].id for j in picks[6:16]),
            )
        )
    # the kernel alone: a typed-only reader's second pass (`feedback`) is tested on its own
    params = RankParams(top_k=10, trending_weight=0.0, chunk_size=8, feedback_depth=0)
    ranked = rank(corpus, profiles, params, model=model)
    for prof in profiles:
        got = [(p.paper_id, p.score) for p in ranked[prof.id]]
        want = reference_top(corpus, model, prof, params)
        assert [i for i, _ in got] == [i for i, _ in want]
        assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-5)


def test_equal_scores_keep_the_earlier_candidate_first() -> None:
    twin = "Sparse attention for long documents"
    papers = [PaperDoc(str(i), twin, "Attention over long documents.") for i in range(5)]
    picks = rank(papers, [Profile(1, interests="sparse attention")], RankParams(top_k=3))[1]
    assert [p.paper_id for p in picks] == ["0", "1", "2"]


def test_a_batch_result_is_columnar_and_builds_the_same_picks(
    corpus: list[PaperDoc], model: Model
) -> None:
    profiles = [Profile(i, interests=p.title) for i, p in enumerate(corpus[:25])]
    profiles.append(Profile("nothing", interests="the and of"))  # no usable words: trending
    [batch] = rank_batches(corpus, [profiles], RankParams(top_k=5, chunk_size=10), model=model)
    picks = dict(batch)
    assert list(batch) == [p.id for p in profiles] and len(batch) == len(profiles)
    assert batch.n_picks == sum(map(len, picks.values())) > 0
    assert batch.n_with_reasons == sum(bool(p.reasons) for v in picks.values() for p in v)
    assert picks["nothing"] == []  # the sample has no upvotes: nothing is trending
    assert batch.n_with_reasons > 0.9 * batch.n_picks


def test_pages_give_every_reader_what_it_gets_ranked_alone(
    corpus: list[PaperDoc], model: Model
) -> None:
    """The batch path's shortcuts (interests rows kept from page to page, chunks on two
    threads, reasons worked out per chunk) must not change a pick, a score or a reason."""
    rng = np.random.default_rng(11)
    titles = [p.title for p in corpus[:9]]
    profiles = []
    for i in range(48):
        picks = [corpus[j].id for j in rng.choice(len(corpus), 12, replace=False)]
        typed = [titles[i % 9], " ".join(titles[(i + 4) % 9].split()[:3])]
        profiles.append(
            Profile(
                i,
                interests="" if i % 11 == 0 else ", ".join(typed[: 1 + i % 2]),
                liked=tuple(picks[: i % 4]),
                disliked=tuple(picks[4:5]) if i % 5 == 0 else (),
                clicked=tuple(picks[5:7]) if i % 3 == 0 else (),
                categories=corpus[i].categories[:1] if i % 4 == 0 else (),
                muted=("graph",) if i % 7 == 0 else (),
                exclude=frozenset(picks[7:]),
            )
        )
    params = RankParams(chunk_size=5, threads=2)
    paged: dict = {}
    for page in rank_batches(
        corpus, [profiles[:16], profiles[16:32], profiles[32:]], params, model=model
    ):
        paged.update(page)
    alone = {p.id: rank(corpus, [p], params, model=model)[p.id] for p in profiles}
    assert sum(map(len, alone.values())) > 300
    assert paged == alone


def test_ranking_works_where_numba_has_nowhere_to_cache() -> None:
    """A read-only image run without a home: numba cannot cache and would fail the import."""
    script = (
        "import numba.core.caching as caching\n"
        "caching.CacheImpl._locator_classes = []  # no writable place anywhere\n"
        "from worker.ranking import PaperDoc, Profile, rank\n"
        "papers = [PaperDoc('1', 'Graph neural networks', 'Message passing.')]\n"
        "print(rank(papers, [Profile(1, interests='graph networks')])[1][0].paper_id)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"

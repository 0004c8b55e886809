"""Scoring: every profile in a chunk against every candidate in a few sparse/dense products.

Per chunk of B profiles and J candidates (memory is O(B * J), whatever the number of
subscribers):
  relevance = cos(q, c), q = normalize(wi * interests + wl * mean(liked) - wd * mean(disliked)).
    q . c is computed without building q against the candidates: interests @ C.T (sparse) plus
    W @ S, with S = liked-papers @ C.T computed once for every referenced paper (Rocchio).
  score = relevance + trending_weight * trending + author_boost * by_followed_author
          + category_boost * in_chosen_category
  eligible = not sent, liked or disliked; no muted word; relevance >= floor or by a followed
    author. Below the floor nothing is "filler": the subscriber gets fewer papers.
  A profile with no usable text (no interests words, no known liked papers) gets the trending
  papers (upvoted ones) instead, each labelled TRENDING_REASON, after any by followed authors.
Top-k by partial sort; reasons only for the k picks: the largest q[t] * c[t] among the
paper's `REASON_SLOTS` strongest terms, shown as the words appear in the paper.
Categories are a boost, not a filter: arXiv cross-lists freely, and a filter would hide the
paper that matches the words but was filed elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.utils.extmath import row_norms

from worker.relevance.model import Model, preprocess
from worker.relevance.types import (
    TRENDING_REASON,
    PaperDoc,
    Pick,
    Profile,
    RankParams,
    trending_score,
)

REASON_SLOTS = 64  # reasons are looked for among each paper's 64 strongest terms


def name_key(name: str) -> str:
    """Author names compare case-, accent- and spacing-insensitively."""
    return " ".join(preprocess(name).replace(".", " ").split())


@dataclass
class Candidates:
    """Everything about the candidate papers that does not depend on the subscriber."""

    papers: Sequence[PaperDoc]
    index: dict[str, int]
    matrix_t: sparse.csr_matrix  # V x J
    trend: np.ndarray  # J
    slot_terms: np.ndarray  # J x W, local term column (n_local = padding)
    slot_weights: np.ndarray  # J x W
    slot_text: np.ndarray  # J x W, object: the term as written in the paper
    slot_parts: np.ndarray  # J x W x 2: slots of a phrase's two words (-1: none, or a word)
    ids: np.ndarray  # J, object
    trending_text: np.ndarray  # J, object: "trending: N upvotes" or None
    local_of: np.ndarray  # V -> local column or -1
    n_local: int
    texts: list[str]  # preprocessed title + abstract, for muted words
    author_index: dict[str, list[int]]
    category_index: dict[str, list[int]]

    @classmethod
    def build(cls, papers: Sequence[PaperDoc], model: Model, params: RankParams) -> Candidates:
        matrix = model.embed_papers(papers)
        n, width = (
            len(papers),
            max(1, min(REASON_SLOTS, int(np.diff(matrix.indptr).max(initial=0)))),
        )
        terms = np.unique(matrix.indices)
        local_of = np.full(model.n_terms, -1, dtype=np.int64)
        local_of[terms] = np.arange(terms.size)
        slot_terms = np.full((n, width), terms.size, dtype=np.int64)
        slot_weights = np.zeros((n, width), dtype=np.float32)
        slot_text = np.full((n, width), "", dtype=object)
        slot_parts = np.full((n, width, 2), -1, dtype=np.int64)
        vocabulary = model.vectorizer.vocabulary_ if model.vectorizer else {}
        for j, paper in enumerate(papers):
            lo, hi = matrix.indptr[j], matrix.indptr[j + 1]
            cols, vals = matrix.indices[lo:hi], matrix.data[lo:hi]
            strongest = np.argsort(-vals, kind="stable")[:width]
            surfaces = model.surfaces(paper)
            slot_terms[j, : strongest.size] = local_of[cols[strongest]]
            slot_weights[j, : strongest.size] = vals[strongest]
            slot_text[j, : strongest.size] = [
                surfaces.get(int(c), str(model.vocab[c])) for c in cols[strongest]
            ]
            slot_of = {int(c): i for i, c in enumerate(cols[strongest])}
            for i, c in enumerate(cols[strongest]):
                words = str(model.vocab[c]).split()
                if len(words) == 2:
                    slot_parts[j, i] = [slot_of.get(vocabulary.get(w, -1), -1) for w in words]
        authors: dict[str, list[int]] = {}
        categories: dict[str, list[int]] = {}
        for j, paper in enumerate(papers):
            for a in {name_key(a) for a in paper.authors}:
                authors.setdefault(a, []).append(j)
            for c in set(paper.categories):
                categories.setdefault(c, []).append(j)
        return cls(
            papers=papers,
            index={p.id: j for j, p in enumerate(papers)},
            matrix_t=matrix.T.tocsr(),
            trend=np.array([trending_score(p.upvotes, p.age_days) for p in papers], np.float32),
            slot_terms=slot_terms,
            slot_weights=slot_weights,
            slot_text=slot_text,
            slot_parts=slot_parts,
            ids=np.array([p.id for p in papers], dtype=object),
            trending_text=np.array(
                [
                    f"trending: {p.upvotes} upvotes"
                    if p.upvotes
                    and trending_score(p.upvotes, p.age_days) >= params.trending_reason_at
                    else None
                    for p in papers
                ],
                dtype=object,
            ),
            local_of=local_of,
            n_local=terms.size,
            texts=[preprocess(f"{p.title} {p.abstract}") for p in papers],
            author_index=authors,
            category_index=categories,
        )


class _Incidence:
    """Which candidates carry a given key (muted word, followed author, category): built lazily,
    one row per distinct key over the whole ranking run."""

    def __init__(self, n_candidates: int, lookup):
        self.n, self.lookup = n_candidates, lookup
        self.row: dict[str, int] = {}
        self.cols: list[list[int]] = []

    def key_row(self, key: str) -> int | None:
        if key not in self.row:
            hits = self.lookup(key)
            if not hits:
                self.row[key] = -1
            else:
                self.row[key] = len(self.cols)
                self.cols.append(hits)
        r = self.row[key]
        return None if r < 0 else r

    def hits(self, rows: list[int], keys: list[int], n_rows: int) -> np.ndarray | None:
        """B x J bool: row r has at least one of its keys present in the candidate."""
        if not rows:
            return None
        sel = sparse.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, keys)), shape=(n_rows, len(self.cols))
        )
        indptr = np.cumsum([0] + [len(c) for c in self.cols])
        incidence = sparse.csr_matrix(
            (
                np.ones(indptr[-1], np.float32),
                np.concatenate(self.cols).astype(np.int64),
                indptr,
            ),
            shape=(len(self.cols), self.n),
        )
        return (sel @ incidence).toarray() > 0


def _muted_lookup(texts: list[str]):
    def lookup(word: str) -> list[int]:
        pattern = re.compile(rf"\b{re.escape(word)}\b")
        return [j for j, t in enumerate(texts) if pattern.search(t)]

    return lookup


def rank(
    papers: Sequence[PaperDoc],
    profiles: Sequence[Profile],
    params: RankParams | None = None,
    model: Model | None = None,
    corpus: Sequence[PaperDoc] = (),
) -> dict[str | int, list[Pick]]:
    """Top-k picks per profile, best first, each with its reasons.

    `papers` are the candidates; `corpus` holds other papers profiles may have liked or
    disliked (looked up by id). Without a `model`, one is fitted on papers + corpus.
    """
    results: dict[str | int, list[Pick]] = {}
    for part in rank_batches(papers, [profiles], params, model, corpus):
        results.update(part)
    return results


def rank_batches(
    papers: Sequence[PaperDoc],
    batches: Iterable[Sequence[Profile]],
    params: RankParams | None = None,
    model: Model | None = None,
    corpus: Sequence[PaperDoc] = (),
) -> Iterator[dict[str | int, list[Pick]]]:
    """`rank` over batches of profiles (e.g. pages of subscribers), preparing the candidates
    once: memory stays that of one batch however many subscribers there are."""
    params = params or RankParams()
    known = {p.id: p for p in corpus} | {p.id: p for p in papers}
    if not papers:
        for profiles in batches:
            yield {p.id: [] for p in profiles}
        return
    model = model or Model.fit(list(known.values()))
    cand = Candidates.build(papers, model, params)
    keys = (
        _Incidence(len(papers), _muted_lookup(cand.texts)),
        _Incidence(len(papers), lambda k: cand.author_index.get(k, [])),
        _Incidence(len(papers), lambda k: cand.category_index.get(k, [])),
    )
    for profiles in batches:
        if profiles:
            yield _rank_batch(cand, profiles, params, model, known, keys)


def _rank_batch(cand, profiles, params, model, known, keys) -> dict[str | int, list[Pick]]:
    referenced = sorted(
        {i for prof in profiles for i in (*prof.liked, *prof.disliked) if i in known}
    )
    ref_index = {pid: u for u, pid in enumerate(referenced)}
    ref_matrix = model.embed_papers([known[i] for i in referenced])
    ref_scores = (ref_matrix @ cand.matrix_t).toarray() if referenced else None  # U x J
    muted, authors, categories = keys
    buffer = np.zeros((min(params.chunk_size, len(profiles)), cand.n_local + 1), np.float32)
    results: dict[str | int, list[Pick]] = {}
    for start in range(0, len(profiles), params.chunk_size):
        chunk = profiles[start : start + params.chunk_size]
        results.update(
            _rank_chunk(
                chunk, params, model, cand, ref_index, ref_matrix, ref_scores,
                muted, authors, categories, buffer,
            )
        )  # fmt: skip
    return results


def _rank_chunk(
    chunk, params, model, cand, ref_index, ref_matrix, ref_scores, muted, authors, categories,
    buffer,
) -> dict[str | int, list[Pick]]:  # fmt: skip
    b, j_count = len(chunk), len(cand.papers)
    w_rows, w_cols, w_vals = [], [], []
    seen_rows, seen_cols = [], []
    rows_of = {"muted": ([], []), "authors": ([], []), "categories": ([], [])}
    followed_keys: list[set[str]] = []
    for r, prof in enumerate(chunk):
        for ids, weight in (
            (prof.liked, params.liked_weight),
            (prof.disliked, -params.disliked_weight),
        ):
            refs = {ref_index[i] for i in ids if i in ref_index}
            for u in refs:
                w_rows.append(r)
                w_cols.append(u)
                w_vals.append(weight / len(refs))
        for pid in prof.exclude | set(prof.liked) | set(prof.disliked):
            j = cand.index.get(pid)
            if j is not None:
                seen_rows.append(r)
                seen_cols.append(j)
        keys = {
            "muted": (muted, {" ".join(preprocess(w).split()) for w in prof.muted} - {""}),
            "authors": (authors, {name_key(a) for a in prof.authors} - {""}),
            "categories": (categories, set(prof.categories)),
        }
        followed_keys.append(keys["authors"][1])
        for name, (incidence, wanted) in keys.items():
            for key in wanted:
                row = incidence.key_row(key)
                if row is not None:
                    rows_of[name][0].append(r)
                    rows_of[name][1].append(row)

    interests = model.embed_texts([p.interests for p in chunk]) * params.interests_weight
    if ref_matrix is not None and w_rows:
        weights = sparse.csr_matrix((w_vals, (w_rows, w_cols)), shape=(b, ref_matrix.shape[0]))
        query = (interests + weights @ ref_matrix).tocsr()
    else:
        weights, query = None, interests.tocsr()
    norms = row_norms(query) if query.shape[1] else np.zeros(b, np.float32)
    usable = norms > 1e-6
    if query.shape[1]:
        relevance = (interests @ cand.matrix_t).toarray()
        if weights is not None:
            relevance += weights @ ref_scores
        relevance /= np.where(usable, norms, 1.0)[:, None]
    else:
        relevance = np.zeros((b, j_count), np.float32)

    by_author = authors.hits(*rows_of["authors"], b)
    in_category = categories.hits(*rows_of["categories"], b)
    blocked = muted.hits(*rows_of["muted"], b)
    if blocked is None:
        blocked = np.zeros((b, j_count), bool)
    blocked[seen_rows, seen_cols] = True

    score = np.where(usable[:, None], relevance, 0.0) + params.trending_weight * cand.trend
    fallback_ok = (cand.trend > 0)[None, :] & ~usable[:, None]  # trending papers only
    eligible = ~blocked & ((relevance >= params.floor) | fallback_ok)
    if by_author is not None:
        score += params.author_boost * by_author
        eligible |= by_author & ~blocked
    if in_category is not None:
        score += params.category_boost * in_category
    score = np.where(eligible, score, -np.inf).astype(np.float32)

    k = min(params.top_k, j_count)
    top = np.argpartition(-score, k - 1, axis=1)[:, :k]
    top.sort(axis=1)  # ties break towards the earlier candidate
    top_scores = np.take_along_axis(score, top, axis=1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    top_scores = np.take_along_axis(top_scores, order, axis=1)

    terms = _term_reasons(query, top, usable, cand, params.n_reasons, buffer)
    return _picks(chunk, top, top_scores, terms, usable, by_author, followed_keys, cand)


def _term_reasons(query, top, usable, cand: Candidates, n_reasons: int, buffer) -> np.ndarray:
    """B x k x n_reasons strings (None = none): the paper's words with the largest q[t] * c[t] > 0,
    skipping a word already inside a chosen phrase ("graph" after "graph neural")."""
    b, k = top.shape
    out = np.full((b, k, n_reasons), None, dtype=object)
    if not query.shape[1] or not usable.any() or n_reasons == 0:
        return out
    rows = np.repeat(np.arange(b), np.diff(query.indptr))
    local = cand.local_of[query.indices]
    keep = local >= 0
    rows, local = rows[keep], local[keep]
    buffer[rows, local] = query.data[keep]
    contrib = buffer[np.arange(b)[:, None, None], cand.slot_terms[top]] * cand.slot_weights[top]
    buffer[rows, local] = 0.0
    n = min(2 * n_reasons, contrib.shape[2])  # spares for the ones dropped as overlaps
    best = np.argpartition(-contrib, n - 1, axis=2)[:, :, :n]
    best = np.take_along_axis(
        best, np.argsort(-np.take_along_axis(contrib, best, axis=2), axis=2, kind="stable"), 2
    )
    positive = np.take_along_axis(contrib, best, axis=2) > 0
    parts = cand.slot_parts[top[:, :, None], best]  # B x k x n x 2: slots of a phrase's words
    earlier = np.tri(n, k=-1, dtype=bool)  # [i, h]: h is before i
    inside = (parts[:, :, :, None, :] == best[:, :, None, :, None]).any(-1)  # i's words hold h
    holds = (parts[:, :, None, :, :] == best[:, :, :, None, None]).any(-1)  # h's words hold i
    overlaps = ((inside | holds) & earlier & positive[:, :, None, :]).any(-1)
    chosen = positive & ~overlaps
    chosen &= np.cumsum(chosen, axis=2) <= n_reasons
    rank_in = np.cumsum(chosen, axis=2) - 1
    r_idx, c_idx, s_idx = np.nonzero(chosen)
    out[r_idx, c_idx, rank_in[r_idx, c_idx, s_idx]] = cand.slot_text[
        top[r_idx, c_idx], best[r_idx, c_idx, s_idx]
    ]
    return out


def _picks(chunk, top, top_scores, terms, usable, by_author, followed_keys, cand):
    """Pick objects, built from whole arrays: reasons = terms, "by <author>", "trending: N"."""
    b, k = top.shape
    reasons = np.full((b, k, terms.shape[2] + 2), None, dtype=object)
    reasons[:, :, :-2] = terms
    followed = by_author[np.arange(b)[:, None], top] if by_author is not None else None
    fallback = ~usable[:, None] if followed is None else ~usable[:, None] & ~followed
    reasons[:, :, 0] = np.where(fallback, TRENDING_REASON, reasons[:, :, 0])
    if followed is not None:
        for r, c in zip(*np.nonzero(followed), strict=True):
            paper = cand.papers[top[r, c]]
            name = next(a for a in paper.authors if name_key(a) in followed_keys[r])
            reasons[r, c, -2] = f"by {name}"
    reasons[:, :, -1] = cand.trending_text[top]
    counts = np.isfinite(top_scores).sum(axis=1)
    valid = np.arange(k)[None, :] < counts[:, None]  # ineligible (-inf) sort last
    flat = list(
        map(
            Pick,
            cand.ids[top[valid]].tolist(),
            np.round(top_scores[valid].astype(np.float64), 6).tolist(),
            [tuple(filter(None, row)) for row in reasons[valid].tolist()],
        )
    )
    ends = np.cumsum(counts).tolist()
    return {
        prof.id: flat[end - n : end]
        for prof, end, n in zip(chunk, ends, counts.tolist(), strict=True)
    }

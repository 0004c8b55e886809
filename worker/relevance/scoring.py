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

import gc
import queue
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, repeat

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


@lru_cache(maxsize=65536)
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
    slot_vocab: np.ndarray  # J x W, the terms' ids in the model (-1 = none)
    slot_text: np.ndarray  # J x W, object: the term as written in the paper, once needed
    has_text: np.ndarray  # J, bool: slot_text filled in
    model: Model
    slot_overlap: np.ndarray  # J x W x W: the terms overlap (same, or a word of the phrase)
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
        terms = np.unique(matrix.indices)
        local_of = np.full(model.n_terms, -1, dtype=np.int64)
        local_of[terms] = np.arange(terms.size)
        slot_vocab, slot_weights, slot_overlap = _slots(papers, matrix, model)
        slot_terms = slot_vocab.copy()
        filled = slot_terms >= 0
        slot_terms[filled] = local_of[slot_terms[filled]]
        slot_terms[~filled] = terms.size  # padding: the buffer's always-zero last column
        authors: dict[str, list[int]] = {}
        categories: dict[str, list[int]] = {}
        for j, paper in enumerate(papers):
            for a in {name_key(a) for a in paper.authors}:
                authors.setdefault(a, []).append(j)
            for c in set(paper.categories):
                categories.setdefault(c, []).append(j)
        trend = np.array([trending_score(p.upvotes, p.age_days) for p in papers], np.float32)
        return cls(
            papers=papers,
            index={p.id: j for j, p in enumerate(papers)},
            matrix_t=matrix.T.tocsr(),
            trend=trend,
            slot_terms=slot_terms,
            slot_weights=slot_weights,
            slot_vocab=slot_vocab,
            slot_text=np.full(slot_vocab.shape, "", dtype=object),
            has_text=np.zeros(len(papers), dtype=bool),
            model=model,
            slot_overlap=slot_overlap,
            ids=np.array([p.id for p in papers], dtype=object),
            trending_text=np.array(
                [
                    f"trending: {p.upvotes} upvotes"
                    if p.upvotes and t >= params.trending_reason_at
                    else None
                    for p, t in zip(papers, trend, strict=True)
                ],
                dtype=object,
            ),
            local_of=local_of,
            n_local=terms.size,
            texts=[preprocess(f"{p.title} {p.abstract}") for p in papers],
            author_index=authors,
            category_index=categories,
        )

    def words(self, rows: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """The slots' terms as written in the papers; a paper's words are looked up the first
        time one of its slots is asked for (a planning run seldom picks every candidate)."""
        for j in np.unique(rows[~self.has_text[rows]]).tolist():
            surfaces = self.model.surfaces(self.papers[j])
            self.slot_text[j] = [
                surfaces.get(t, str(self.model.vocab[t])) if t >= 0 else ""
                for t in self.slot_vocab[j].tolist()
            ]
            self.has_text[j] = True  # after the row: a racing thread at worst redoes it
        return self.slot_text[rows, slots]


def _slots(papers: Sequence[PaperDoc], matrix: sparse.csr_matrix, model: Model) -> tuple:
    """Each paper's strongest terms (model id, -1 = none), their weights, and which of them
    overlap (a phrase and its own words)."""
    width = max(1, min(REASON_SLOTS, int(np.diff(matrix.indptr).max(initial=0))))
    n = len(papers)
    terms = np.full((n, width), -1, dtype=np.int64)
    weights = np.zeros((n, width), dtype=np.float32)
    overlap = np.zeros((n, width, width), dtype=bool)
    overlap[:, np.arange(width), np.arange(width)] = True
    vocabulary = model.vectorizer.vocabulary_ if model.vectorizer else {}
    for j in range(n):
        lo, hi = matrix.indptr[j], matrix.indptr[j + 1]
        strongest = np.argsort(-matrix.data[lo:hi], kind="stable")[:width]
        cols = matrix.indices[lo:hi][strongest]
        terms[j, : cols.size] = cols
        weights[j, : cols.size] = matrix.data[lo:hi][strongest]
        slot_of = {int(c): i for i, c in enumerate(cols)}
        for i, c in enumerate(cols):
            words = str(model.vocab[c]).split()
            if len(words) < 2:
                continue
            for part in (slot_of.get(vocabulary.get(w, -1)) for w in words):
                if part is not None:
                    overlap[j, i, part] = overlap[j, part, i] = True
    return terms, weights, overlap


class _Incidence:
    """Which candidates carry a key (muted word, followed author, category). One row per
    distinct key, added as profiles bring new keys; `normalize` maps what a user typed to a key."""

    def __init__(self, n_candidates: int, lookup, normalize):
        self.n, self.lookup, self.normalize = n_candidates, lookup, normalize
        self.row: dict[str, int] = {}  # typed key -> row, -1 if no candidate has it
        self.cols: list[list[int]] = []
        self.matrix: sparse.csr_matrix | None = None
        self.lock = threading.Lock()  # chunks run on threads; keys are added as they come

    def rows_of(self, typed: Sequence[str]) -> list[int]:
        out = []
        for key in typed:
            row = self.row.get(key)
            if row is None:
                normalized = self.normalize(key)
                hits = self.lookup(normalized) if normalized else []
                row = self.row[key] = len(self.cols) if hits else -1
                if hits:
                    self.cols.append(hits)
                    self.matrix = None
            if row >= 0:
                out.append(row)
        return out

    def pairs(self, chunk: Sequence[Profile], attr: str) -> tuple[np.ndarray, np.ndarray]:
        """(profile row, candidate) pairs where one of the profile's keys is in the candidate."""
        rows, keys = [], []
        with self.lock:
            for r, prof in enumerate(chunk):
                typed = getattr(prof, attr)
                if typed:
                    found = self.rows_of(typed)
                    rows.extend([r] * len(found))
                    keys.extend(found)
            if not rows:
                return np.empty(0, np.int64), np.empty(0, np.int64)
            if self.matrix is None:
                indptr = np.cumsum([0] + [len(c) for c in self.cols])
                self.matrix = sparse.csr_matrix(
                    (np.ones(indptr[-1], np.float32), np.concatenate(self.cols), indptr),
                    shape=(len(self.cols), self.n),
                )
            matrix = self.matrix
        sel = sparse.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, keys)), shape=(len(chunk), matrix.shape[0])
        )
        hits = (sel @ matrix).tocoo()
        return hits.row.astype(np.int64), hits.col.astype(np.int64)


def _muted_key(word: str) -> str:
    return " ".join(preprocess(word).split())


def _muted_lookup(texts: list[str]):
    def lookup(word: str) -> list[int]:
        pattern = re.compile(r"\b" + r"\s+".join(map(re.escape, word.split())) + r"\b")
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
        _Incidence(len(papers), _muted_lookup(cand.texts), _muted_key),
        _Incidence(len(papers), lambda k: cand.author_index.get(k, []), name_key),
        _Incidence(len(papers), lambda k: cand.category_index.get(k, []), str),
    )
    for profiles in batches:
        if profiles:
            with _gc_paused():
                result = _rank_batch(cand, profiles, params, model, known, keys)
            yield result


@contextmanager
def _gc_paused() -> Iterator[None]:
    """A batch builds ~10 small objects per subscriber (picks, reason tuples), none in a cycle;
    the cyclic GC would rescan the growing heap many times over for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _rank_batch(cand, profiles, params, model, known, keys) -> dict[str | int, list[Pick]]:
    referenced = sorted(
        {i for prof in profiles for i in (*prof.liked, *prof.disliked) if i in known}
    )
    ref_index = {pid: u for u, pid in enumerate(referenced)}
    ref_matrix = model.embed_papers([known[i] for i in referenced])
    ref_scores = (ref_matrix @ cand.matrix_t).toarray()  # U x J: Rocchio without profile rows
    buffers = queue.SimpleQueue()  # one dense scratch row block per thread at work
    for _ in range(params.threads):
        rows = min(params.chunk_size, len(profiles))
        buffers.put(np.zeros((rows, cand.n_local + 1), np.float32))

    def one(start: int) -> dict[str | int, list[Pick]]:
        chunk = profiles[start : start + params.chunk_size]
        query, relevance = _relevance(
            chunk, interests[start : start + params.chunk_size], params, cand, ref_index,
            ref_matrix, ref_scores,
        )  # fmt: skip
        buffer = buffers.get()
        try:
            return _top_picks(chunk, params, cand, keys, query, relevance, buffer)
        finally:
            buffers.put(buffer)

    interests = model.embed_texts([p.interests for p in profiles]) * params.interests_weight
    results: dict[str | int, list[Pick]] = {}
    with ThreadPoolExecutor(params.threads) as pool:
        for part in pool.map(one, range(0, len(profiles), params.chunk_size)):
            results.update(part)
    return results


def _flat_index(chunk, attrs: tuple[str, ...], index: dict[str, int]) -> tuple:
    """(row, index) of every id in the given Profile fields that `index` knows."""
    fields = [getattr(p, a) for p in chunk for a in attrs]
    ids = list(chain.from_iterable(fields))  # C-level loops: a chunk holds ~10^4 ids
    flat = np.fromiter(map(index.get, ids, repeat(-1, len(ids))), np.int64, len(ids))
    rows = np.repeat(np.arange(len(chunk)).repeat(len(attrs)), list(map(len, fields)))
    keep = flat >= 0
    return rows[keep], flat[keep]


def _relevance(chunk, interests, params, cand, ref_index, ref_matrix, ref_scores):
    """Profile rows q (sparse, for reasons) and B x J cosine(q, candidate)."""
    b = len(chunk)
    parts = []
    for attr, weight in (("liked", params.liked_weight), ("disliked", -params.disliked_weight)):
        rows, cols = _flat_index(chunk, (attr,), ref_index)
        counts = np.bincount(rows, minlength=b)
        parts.append((rows, cols, (weight / counts[rows]).astype(np.float32)))
    rows, cols, vals = (np.concatenate(x) for x in zip(*parts, strict=True))
    weights = sparse.csr_matrix((vals, (rows, cols)), shape=(b, ref_matrix.shape[0]))
    query = (interests + weights @ ref_matrix).tocsr() if vals.size else interests.tocsr()
    norms = row_norms(query)
    relevance = (interests @ cand.matrix_t).toarray()
    if vals.size:
        relevance += weights @ ref_scores
    relevance *= (1.0 / np.where(norms > 0, norms, np.inf)).astype(np.float32)[:, None]
    return query, relevance


def _top_picks(chunk, params, cand, keys, query, relevance, buffer) -> dict[str | int, list[Pick]]:
    """Blend, filter, partial-sort, explain. `relevance` is reused as the score buffer."""
    b, n_cand = relevance.shape
    muted, authors, categories = keys
    usable = query.getnnz(axis=1) > 0 if query.shape[1] else np.zeros(b, bool)
    eligible = relevance >= params.floor
    score = relevance
    score += params.trending_weight * cand.trend
    fallback = np.flatnonzero(~usable)
    if fallback.size:  # no usable profile: trending papers, ranked by trend
        score[fallback] = params.trending_weight * cand.trend
        eligible[fallback] = cand.trend > 0
    author_rows, author_cols = authors.pairs(chunk, "authors")
    score[author_rows, author_cols] += params.author_boost
    eligible[author_rows, author_cols] = True
    cat_rows, cat_cols = categories.pairs(chunk, "categories")
    score[cat_rows, cat_cols] += params.category_boost
    eligible[muted.pairs(chunk, "muted")] = False
    eligible[_flat_index(chunk, ("exclude", "liked", "disliked"), cand.index)] = False
    np.copyto(score, -np.inf, where=~eligible)

    k = min(params.top_k, n_cand)
    top = np.argpartition(-score, k - 1, axis=1)[:, :k]
    top.sort(axis=1)  # ties break towards the earlier candidate
    top_scores = np.take_along_axis(score, top, axis=1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    top_scores = np.take_along_axis(top_scores, order, axis=1)

    followed = np.isin(np.arange(b)[:, None] * n_cand + top, author_rows * n_cand + author_cols)
    terms = _term_reasons(query, top, usable, cand, params.n_reasons, buffer)
    return _picks(chunk, top, top_scores, terms, usable, followed, cand)


def _term_reasons(query, top, usable, cand: Candidates, n_reasons: int, buffer) -> np.ndarray:
    """B x k x (n_reasons + 2) strings (None = none; two spare columns for _picks): greedily
    the paper's word with the largest q[t] * c[t] > 0 that does not overlap one already chosen
    ("graph" after "graph neural")."""
    b, k = top.shape
    out = np.full((b, k, n_reasons + 2), None, dtype=object)
    if not query.shape[1] or not usable.any():
        return out
    width = buffer.shape[1]
    flat_buffer = buffer.ravel()
    local = cand.local_of[query.indices]
    at = np.repeat(np.arange(b, dtype=np.int64) * width, np.diff(query.indptr)) + local
    at = at[local >= 0]
    flat_buffer[at] = query.data[local >= 0]  # the chunk's profiles, dense over candidate terms
    slots = cand.slot_terms[top]  # B x k x W
    slots += (np.arange(b, dtype=np.int64) * width)[:, None, None]
    contrib = flat_buffer[slots]
    flat_buffer[at] = 0.0
    contrib *= cand.slot_weights[top]
    r_idx, c_idx = np.indices((b, k))
    for step in range(n_reasons):
        best = contrib.argmax(axis=2)
        found = contrib[r_idx, c_idx, best] > 0
        out[found, step] = cand.words(top[found], best[found])
        np.putmask(contrib, cand.slot_overlap[top, best], 0.0)  # the chosen term and overlaps
    return out


def _picks(chunk, top, top_scores, reasons, usable, followed, cand):
    """Pick objects from whole arrays. `reasons` holds the terms; here go "by <author>",
    "trending: N upvotes", or TRENDING_REASON for a pick made without a usable profile."""
    reasons[:, :, -1] = cand.trending_text[top]
    if not usable.all():
        fallback = ~usable[:, None] & ~followed
        reasons[:, :, 0] = np.where(fallback, TRENDING_REASON, reasons[:, :, 0])
    for r, c in zip(*np.nonzero(followed), strict=True):
        wanted = {name_key(a) for a in chunk[r].authors}
        name = next(a for a in cand.papers[top[r, c]].authors if name_key(a) in wanted)
        reasons[r, c, -2] = f"by {name}"
    counts = np.isfinite(top_scores).sum(axis=1)
    valid = np.arange(top.shape[1])[None, :] < counts[:, None]  # ineligible (-inf) sort last
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

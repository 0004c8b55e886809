"""Scoring: every profile in a chunk against every candidate, with reasons for the picks.

Per batch of B profiles and J candidates (memory is the batch's B x k picks, U x J similarities
of the U papers the batch liked or disliked, and one V + J scratch row per thread, whatever
the number of subscribers):
  relevance = cos(q, c), q = normalize(wi * interests + wl * mean(liked) - wd * mean(disliked)).
    q . c is computed without building q against the candidates: the interests through the
    candidates' postings, plus W @ S, with S = liked-papers @ C.T computed once per batch for
    every referenced paper (Rocchio).
  score = relevance + trending_weight * trending + author_boost * by_followed_author
          + category_boost * in_chosen_category
          + liked_category_boost * the largest share of liked papers in its categories (`prior`)
  eligible = not sent, liked or disliked; no muted word; relevance >= floor, by a followed
    author, or (a typed-only reader's second ranking) filed where most of their first picks
    are (`feedback`). Below the floor nothing is "filler": the subscriber gets fewer papers.
  A profile with no usable text (no interests words, no known liked papers) gets the trending
  papers (upvoted ones) instead, each with the POPULAR reason, after any by followed authors.
Top-k by insertion into a k-long list; reasons only for the k picks: the largest q[t] * c[t]
among the paper's `REASON_SLOTS` strongest terms, shown as the words appear in the paper.
Categories are a boost, not a filter: arXiv cross-lists freely, and a filter would hide the
paper that matches the words but was filed elsewhere.

Python prepares each chunk as flat arrays (embedding the interests, matching muted words,
followed authors and categories, sent ids); `kernels.rank_chunk` does the per-profile loop
compiled and without the GIL, so two threads keep two cores busy.
"""

from __future__ import annotations

import gc
import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, lru_cache, partial
from itertools import chain, compress, repeat
from operator import attrgetter

import numpy as np
from scipy import sparse

from models.reasons import POPULAR, Reason
from worker.ranking import kernels
from worker.ranking.feedback import picks_category, with_feedback
from worker.ranking.interests import KEPT_TEXTS, InterestsCache
from worker.ranking.model import Model, preprocess
from worker.ranking.prior import (
    category_matrices,
    filed_codes,
    liked_categories,
    liked_shares,
)
from worker.ranking.types import (
    PaperDoc,
    Pick,
    Profile,
    Ranking,
    RankParams,
    trending_score,
)

REASON_SLOTS = 64  # reasons are looked for among each paper's 64 strongest terms
SPARE_SLOTS = 2  # the kernel proposes this many reasons more than shown: a phrase the paper
# splits with punctuation ("classification, and graph") is dropped once its text is looked up
CANDIDATES_VERSION = 1  # bump when `Candidates.build` changes: stored candidates are rebuilt
# what `Candidates.build` computes, stored per edition (`artifact.candidates`)
BUILT = (
    "index",
    "matrix",
    "matrix_t",
    "vectors",
    "trend",
    "slots",
    "ids",
    "trending_text",
    "texts",
    "author_index",
    "category_index",
)


_category_reason = lru_cache(maxsize=4096)(Reason.category)  # one Reason per code, shared
_liked_category_reason = lru_cache(maxsize=4096)(Reason.liked_category)
_author_reason = lru_cache(maxsize=65536)(Reason.author)
_close_reason = lru_cache(maxsize=65536)(Reason.close)


@lru_cache(maxsize=65536)
def name_key(name: str) -> str:
    """Author names compare case-, accent- and spacing-insensitively."""
    return " ".join(preprocess(name).replace(".", " ").split())


@lru_cache(maxsize=65536)
def _followed_author(followed: tuple[str, ...], authors: tuple[str, ...]) -> Reason:
    """The first of a paper's `authors` the reader follows, as the paper writes the name."""
    wanted = {name_key(a) for a in followed}
    return _author_reason(next(a for a in authors if name_key(a) in wanted))


@dataclass
class Candidates:
    """Everything about the candidate papers that does not depend on the subscriber."""

    papers: Sequence[PaperDoc]
    index: dict[str, int]
    matrix: sparse.csr_matrix  # J x V
    matrix_t: sparse.csr_matrix  # V x J
    vectors: kernels.Csr  # `matrix`, as the kernels take it
    trend: np.ndarray  # J
    slots: kernels.Slots  # J x W: each paper's strongest terms, for reasons
    slot_text: np.ndarray  # J x W, object: the term's phrase Reason, as the paper writes it
    slot_shown: np.ndarray  # J x W, bool: slot_text holds a Reason there
    has_text: np.ndarray  # J, bool: slot_text filled in
    text_lock: threading.Lock
    model: Model
    ids: np.ndarray  # J, object
    trending_text: np.ndarray  # J, object: the paper's trending Reason or None
    texts: list[str]  # preprocessed title + abstract, for muted words
    author_index: dict[str, list[int]]
    category_index: dict[str, list[int]]

    @classmethod
    def build(cls, papers: Sequence[PaperDoc], model: Model, params: RankParams) -> Candidates:
        counts = model.paper_counts(papers)
        matrix = model.embed_counts(counts)
        slots = _slots(matrix, counts, model, params)
        authors: dict[str, list[int]] = {}
        categories: dict[str, list[int]] = {}
        for j, paper in enumerate(papers):
            for a in {name_key(a) for a in paper.authors}:
                authors.setdefault(a, []).append(j)
            for c in set(paper.categories):
                categories.setdefault(c, []).append(j)
        trend = np.array([trending_score(p.upvotes, p.age_days) for p in papers], np.float32)
        built = {
            "index": {p.id: j for j, p in enumerate(papers)},
            "matrix": matrix,
            "matrix_t": matrix.T.tocsr(),
            "vectors": _csr(matrix),
            "trend": trend,
            "slots": slots,
            "ids": np.array([p.id for p in papers], dtype=object),
            "trending_text": np.array(
                [
                    Reason.trending(p.upvotes)
                    if p.upvotes and t >= params.trending_reason_at
                    else None
                    for p, t in zip(papers, trend, strict=True)
                ],
                dtype=object,
            ),
            "texts": [preprocess(f"{p.title} {p.abstract}") for p in papers],
            "author_index": authors,
            "category_index": categories,
        }
        return cls.from_built(papers, model, built)

    @classmethod
    def from_built(cls, papers: Sequence[PaperDoc], model: Model, built: dict) -> Candidates:
        """The candidates from what `build` computed (`built`, stored once per edition by
        `artifact.candidates`), with the paper words still to be looked up."""
        shape = built["slots"].vocab.shape
        return cls(
            papers=papers,
            model=model,
            slot_text=np.full(shape, None, dtype=object),
            slot_shown=np.zeros(shape, dtype=bool),
            has_text=np.zeros(len(papers), dtype=bool),
            text_lock=threading.Lock(),
            **built,
        )

    def built(self) -> dict:
        """What `build` computed from the papers, the model and the params: an artifact's
        content (the papers and the model are the caller's, the words filled in later)."""
        return {name: getattr(self, name) for name in BUILT}

    @staticmethod
    def fingerprint(papers: Sequence[PaperDoc], model: Model, params: RankParams) -> str:
        """Changes with anything `build` reads: every paper field, in order (the rows), the
        model, the params it uses, and the build itself (`CANDIDATES_VERSION`)."""
        h = hashlib.sha256(
            f"v{CANDIDATES_VERSION}|{REASON_SLOTS}|{params.generic_share!r}|"
            f"{params.trending_reason_at!r}|{model.version}|{model.fingerprint}".encode()
        )
        for p in papers:
            h.update(repr(p).encode())  # a dataclass's repr: every field
        return h.hexdigest()

    @cached_property
    def filed_as(self) -> tuple[np.ndarray, np.ndarray]:
        """(J x M, C) each candidate's categories as numbers (`filed_codes`) and each number's
        liked-category Reason: worked out once, not per batch."""
        filed_as, code_names = filed_codes(self.papers, self.category_index)
        return filed_as, np.array([_liked_category_reason(c) for c in code_names], object)

    @cached_property
    def postings(self) -> kernels.Csr:
        """`matrix_t` as the kernels take it, converted once, not per batch."""
        return _csr(self.matrix_t)

    def category_reasons(self, codes: tuple[str, ...]) -> np.ndarray:
        """J, object: each candidate's category Reason for a reader who chose `codes` (the
        first of them the paper is in), None for a paper in none of them."""
        out = np.full(len(self.papers), None, dtype=object)
        for code in reversed(codes):  # the first chosen code is written last: it wins
            out[self.category_index.get(code, [])] = _category_reason(code)
        return out

    def words(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(`slot_text`, `slot_shown`) with the `rows` papers' slots filled in: their terms as
        written in the papers, as phrase Reasons made once per paper (None for a phrase the
        paper never writes as one: split by punctuation or a stop word); a paper's words are
        looked up the first time it is asked for (a planning run seldom picks every
        candidate)."""
        if not self.has_text[rows].all():
            with self.text_lock:  # the other thread would otherwise scan the same papers
                for j in np.unique(rows[~self.has_text[rows]]).tolist():
                    terms = self.slots.vocab[j].tolist()
                    surfaces = self.model.surfaces(self.papers[j], [t for t in terms if t >= 0])
                    self.slot_text[j] = [
                        Reason.phrase(surfaces[t]) if surfaces.get(t) else None for t in terms
                    ]
                    self.slot_shown[j] = [bool(surfaces.get(t)) for t in terms]
                    self.has_text[j] = True
        return self.slot_text, self.slot_shown


def _slots(
    matrix: sparse.csr_matrix, counts: sparse.csr_matrix, model: Model, params: RankParams
) -> kernels.Slots:
    """Each paper's strongest terms (model id, -1 = none), their weights, which of them
    overlap (a phrase and its own words, two phrases sharing a word), and which may be a
    reason as a lone word: one the paper says in its title or at least twice, and not in over
    `generic_share` of the corpus (a "large" or "model" explains nothing). All papers at
    once; `counts` is `matrix`'s raw term counts, entry for entry."""
    n = matrix.shape[0]
    lengths = np.diff(matrix.indptr)
    longest = int(lengths.max(initial=0))
    width = max(1, min(REASON_SLOTS, longest))
    rows = np.repeat(np.arange(n), lengths)
    at = np.arange(matrix.nnz) - matrix.indptr[rows]  # position within the paper's row
    data = np.full((n, max(longest, 1)), -np.inf, np.float32)
    data[rows, at] = matrix.data
    ids = np.full(data.shape, -1, np.int64)
    ids[rows, at] = matrix.indices
    said = np.zeros(data.shape, np.float32)
    said[rows, at] = counts.data  # a title word counts 1 + title_weight, an abstract one 1
    order = np.argsort(-data, axis=1, kind="stable")[:, :width]
    weights = np.take_along_axis(data, order, axis=1)
    terms = np.where(np.isfinite(weights), np.take_along_axis(ids, order, axis=1), -1)
    weights[terms < 0] = 0.0
    table = np.vstack([model.phrase_parts, [[-1, -1]]])  # term -1 reads the last row: none
    parts = table[terms]  # n x W x 2
    overlap = ((parts[:, :, :, None] == terms[:, None, None, :]) & (parts >= 0)[..., None]).any(2)
    shared = (parts[:, :, None, :, None] == parts[:, None, :, None, :]) & (parts >= 0)[
        :, :, None, :, None
    ]  # two phrases with a word in common ("graph neural", "neural networks"): one shows
    overlap |= shared.any(axis=(3, 4)) | overlap.transpose(0, 2, 1)
    overlap[:, np.arange(width), np.arange(width)] = True
    weighty = np.take_along_axis(said, order, axis=1) >= min(1.0 + model.title_weight, 2.0)
    common = np.r_[model.generic(params.generic_share), True][terms]
    return kernels.Slots(terms, weights, overlap, weighty & ~common)


class _Incidence:
    """Which candidates carry a key (muted word, followed author, category). One row per
    distinct key, added as profiles bring new keys; `normalize` maps what a user typed to a key."""

    def __init__(self, n_candidates: int, lookup, normalize):
        self.n, self.lookup, self.normalize = n_candidates, lookup, normalize
        self.row: dict[str, int] = {}  # typed key -> row, -1 if no candidate has it
        self.cols: list[list[int]] = []
        self.flat: tuple[np.ndarray, np.ndarray] | None = None  # `cols` as (indptr, columns)
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
                    self.flat = None
            if row >= 0:
                out.append(row)
        return out

    def pairs(self, chunk: Sequence[Profile], attr: str) -> tuple[np.ndarray, np.ndarray]:
        """(profile row, candidate) pairs where one of the profile's keys is in the candidate,
        each once, by profile row."""
        rows, keys = [], []
        with self.lock:
            for r, typed in enumerate(map(attrgetter(attr), chunk)):
                if typed:
                    found = self.rows_of(typed)
                    rows.extend([r] * len(found))
                    keys.extend(found)
            if not rows:
                return np.empty(0, np.int64), np.empty(0, np.int64)
            if self.flat is None:
                indptr = np.cumsum([0] + [len(c) for c in self.cols])
                self.flat = indptr, np.concatenate(self.cols).astype(np.int64)
            indptr, flat = self.flat
        rows, keys = np.array(rows, np.int64), np.array(keys, np.int64)
        lengths = indptr[keys + 1] - indptr[keys]
        ends = np.cumsum(lengths)
        at = np.arange(ends[-1]) + np.repeat(indptr[keys] - ends + lengths, lengths)
        several = np.bincount(rows, minlength=len(chunk)) > 1  # readers with two keys
        rows, cols = np.repeat(rows, lengths), flat[at]
        if several.any():  # two keys of one reader in one candidate: the pair once
            twice = several[rows]
            pair = np.unique(rows[twice] * self.n + cols[twice])
            rows, cols = np.r_[rows[~twice], pair // self.n], np.r_[cols[~twice], pair % self.n]
        return rows, cols


@lru_cache(maxsize=4096)
def _muted_key(word: str) -> str:
    return " ".join(preprocess(word).split())


@lru_cache(maxsize=4096)
def _muted_pattern(key: str) -> re.Pattern:
    return re.compile(r"\b" + r"\s+".join(map(re.escape, key.split())) + r"\b")


def _muted_lookup(texts: list[str]):
    def lookup(word: str) -> list[int]:
        first = word.split()[0]  # a plain substring test first: most texts lack the word
        pattern = _muted_pattern(word)
        return [j for j, t in enumerate(texts) if first in t and pattern.search(t)]

    return lookup


@lru_cache(maxsize=1024)
def _muted_text(title: str, abstract: str) -> str:
    return preprocess(f"{title} {abstract}")


def mentions_muted(paper: PaperDoc, muted: Sequence[str]) -> bool:
    """The paper says one of the muted words, matched as the ranking matches them. The same
    few trending papers are asked about for every subscriber: their text, the keys and the
    patterns are each worked out once."""
    text = _muted_text(paper.title, paper.abstract)
    keys = (k for k in map(_muted_key, muted) if k)
    return any(_muted_pattern(k).search(text) for k in keys)


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
    for part in rank_batches(papers, [profiles], params, model=model, corpus=corpus):
        results.update(part)  # Pick lists built here, at the edge
    return results


def ranker(
    papers: Sequence[PaperDoc],
    params: RankParams | None = None,
    *,
    model: Model | None = None,
    corpus: Sequence[PaperDoc] = (),
    candidates: Callable[[Sequence[PaperDoc], Model, RankParams], Candidates] = Candidates.build,
) -> Callable[[Sequence[Profile]], Ranking]:
    """`rank` with the candidates prepared once (their matrices, slots and phrases: a good
    part of a second; `candidates` may load them instead, `artifact.candidates`): the function
    returned ranks one batch of profiles a call, as a columnar `Ranking` (a mapping of profile
    id to picks, built on access)."""
    params = params or RankParams()
    known = {p.id: p for p in corpus} | {p.id: p for p in papers}
    if not papers:
        return lambda profiles: Ranking.allocate([p.id for p in profiles], 0, 0)
    model = model or Model.fit(list(known.values()))
    cand = candidates(papers, model, params)
    keys = (
        _Incidence(len(papers), _muted_lookup(cand.texts), _muted_key),
        _Incidence(len(papers), lambda k: cand.author_index.get(k, []), name_key),
        _Incidence(len(papers), lambda k: cand.category_index.get(k, []), str),
    )
    typed = InterestsCache(model, params.generic_share)  # kept for the pages that follow
    typed_parts = lru_cache(maxsize=KEPT_TEXTS)(
        partial(_parts, model, common=model.generic(params.generic_share))
    )

    def rank_batch(profiles: Sequence[Profile], params: RankParams) -> Ranking:
        with _gc_paused():
            return _rank_batch(
                cand,
                profiles,
                params,
                model=model,
                known=known,
                keys=keys,
                typed=typed,
                typed_parts=typed_parts,
            )

    return with_feedback(rank_batch, params)


def rank_batches(
    papers: Sequence[PaperDoc],
    batches: Iterable[Sequence[Profile]],
    params: RankParams | None = None,
    *,
    model: Model | None = None,
    corpus: Sequence[PaperDoc] = (),
) -> Iterator[Ranking]:
    """`rank` over batches of profiles (e.g. pages of subscribers), preparing the candidates
    once (`ranker`): memory stays that of one batch however many subscribers there are."""
    ranked = ranker(papers, params, model=model, corpus=corpus)
    for profiles in batches:
        if profiles or not papers:
            yield ranked(profiles)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Embedding a batch's interests builds millions of short-lived lists and strings, none in
    a cycle; the cyclic GC would rescan the batch's 10^5 profiles many times over for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _rank_batch(cand, profiles, params, *, model, known, keys, typed, typed_parts) -> Ranking:
    """Per batch: the referenced papers' similarities to every candidate and the interests'
    vectors; then chunks of `chunk_size` profiles, prepared as flat arrays, through the
    compiled loop on `threads` threads, each chunk filling its own rows of one Ranking."""
    referenced = {
        i for prof in profiles for i in (*prof.liked, *prof.disliked, *prof.clicked) if i in known
    }
    among = sorted(cand.index[i] for i in referenced if i in cand.index)  # already embedded
    others = sorted(i for i in referenced if i not in cand.index)
    ref_index = {pid: u for u, pid in enumerate([*cand.ids[among].tolist(), *others])}
    ref_candidate = np.r_[among, np.full(len(others), -1)].astype(np.int64)  # -1: not one
    ref_matrix = sparse.vstack(
        [cand.matrix[among], model.embed_papers([known[i] for i in others])], format="csr"
    )
    ref_scores = (ref_matrix @ cand.matrix_t).toarray()  # U x J: Rocchio without profile rows
    ref_categories, in_category = category_matrices(
        cand.category_index, [known[i] for i in ref_index], len(cand.papers)
    )
    filed = in_category.T.tocsr()  # J x C
    filed_as, prior_text = cand.filed_as
    filed = kernels.Pairs(filed.indptr.astype(np.int64), filed.indices.astype(np.int64))

    refs, postings = _csr(ref_matrix), cand.postings
    knobs = kernels.Knobs(
        params.trending_weight,
        params.floor,
        params.relative_floor,
        params.author_boost,
        params.category_boost,
        params.min_profile_weight,
        params.like_share,
        params.lone_word_weight,
        params.liked_category_boost,
        params.carry_share,
        params.carry_votes,
    )
    interests, phrase, distinctive = typed.embed([p.interests for p in profiles])
    interests *= params.interests_weight
    query = _csr(interests)

    k = min(params.top_k, len(cand.papers))
    out = Ranking.allocate([p.id for p in profiles], k, params.n_reasons + 4)
    like_text = np.array(  # -1: none
        [*(Reason.liked(known[i].title, i) for i in ref_index), None], object
    )

    def one(start: int) -> None:
        chunk = profiles[start : start + params.chunk_size]
        b = len(chunk)
        votes = {a: _flat_index(chunk, (a,), ref_index) for a in ("liked", "clicked", "disliked")}
        weights = _rocchio_weights(b, votes, params, len(ref_index))
        muted, authors, categories = keys
        author_rows, author_cols = authors.pairs(chunk, "authors")
        voted = [  # the liked and disliked candidates, from their referenced rows
            (rows[ref_candidate[u] >= 0], ref_candidate[u][ref_candidate[u] >= 0])
            for rows, u in (votes["liked"], votes["disliked"])
        ]
        banned = zip(
            muted.pairs(chunk, "muted"),
            _flat_index(chunk, ("exclude",), cand.index),
            *voted,
            strict=True,
        )
        entries = slice(interests.indptr[start], interests.indptr[start + b])
        shares = liked_shares(
            b,
            votes["liked"],
            votes["clicked"],
            votes["disliked"],
            ref_categories,
            params.click_weight / params.liked_weight if params.liked_weight else 0.0,
        )
        top, score, slots, followed, liked, usable, carried = kernels.rank_chunk(
            _csr(interests[start : start + b]),
            phrase[entries],
            distinctive[entries],
            _csr(weights),
            refs,
            ref_scores,
            postings,
            cand.trend,
            _by_row(b, author_rows, author_cols),
            _by_row(b, *categories.pairs(chunk, "categories")),
            _csr(shares),
            filed,
            _by_row(b, *map(np.concatenate, banned)),
            cand.slots,
            model.is_phrase,
            knobs,
            k,
            params.n_reasons + SPARE_SLOTS,
            model.n_terms,
        )
        rows = slice(start, start + b)
        out.counts[rows] = (top >= 0).sum(axis=1)
        out.scores[rows] = np.round(score, 6)
        picked = np.where(top >= 0, top, 0)
        out.paper_ids[rows] = cand.ids[picked]
        clicks = np.fromiter(map(bool, map(attrgetter("clicked"), chunk)), np.bool_, b)
        if clicks.any():  # an opened paper shapes the picks, never named: a liked one only
            pairs = len(like_text) * np.arange(b)[:, None] + liked
            named = np.isin(pairs, len(like_text) * votes["liked"][0] + votes["liked"][1])
            liked = np.where(clicks[:, None] & ~named, -1, liked)
        out.reasons[rows, :, -3] = like_text[liked]
        _reasons(
            out.reasons[rows],
            chunk,
            picked=picked,
            slots=slots,
            followed=followed,
            usable=usable,
            cand=cand,
        )
        # a followed category says more; of the pick's categories, the first with the most
        # liked papers (a prior the opened papers carried alone goes unnamed)
        r, c = np.nonzero((carried > 0) & ~_given(out.reasons[rows, :, -4]))
        fed = carried[r, c] == 2  # past the floor on the fed-back picks' category
        for rf, cf in zip(r[fed], c[fed], strict=True):
            paper = cand.papers[picked[rf, cf]]
            out.reasons[start + rf, cf, -4] = picks_category(chunk[rf], paper, known)
        r, c = r[~fed], c[~fed]
        if r.size:
            counts = liked_categories(b, votes["liked"], votes["disliked"], ref_categories)
            codes = filed_as[picked[r, c]]
            n_liked = np.where(codes >= 0, counts[r[:, None], codes], -1.0)
            best = n_liked.argmax(axis=1)
            at = np.arange(r.size)
            named = n_liked[at, best] > 0
            out.reasons[start + r[named], c[named], -4] = prior_text[codes[at, best][named]]
        bare = _bare(out, start, len(chunk))
        _close_reasons(out, chunk, start, bare, query, typed_parts, cand, picked)
        _nearest_liked(out, chunk, start, bare, ref_scores, ref_index, like_text, cand)

    with ThreadPoolExecutor(params.threads) as pool:  # the kernel runs without the GIL
        list(pool.map(one, range(0, len(profiles), params.chunk_size)))
    return out


def _csr(matrix: sparse.csr_matrix) -> kernels.Csr:
    """One dtype per array, so the kernel is compiled once."""
    matrix = matrix.tocsr()
    return kernels.Csr(
        matrix.indptr.astype(np.int64, copy=False),
        matrix.indices.astype(np.int64, copy=False),
        matrix.data.astype(np.float32, copy=False),
    )


def _by_row(b: int, rows: np.ndarray, cols: np.ndarray) -> kernels.Pairs:
    """(row, column) pairs as per-row column lists: indptr over rows, columns by row."""
    order = np.argsort(rows, kind="stable")
    return kernels.Pairs(np.r_[0, np.cumsum(np.bincount(rows, minlength=b))], cols[order])


def _flat_index(chunk, attrs: tuple[str, ...], index: dict[str, int]) -> tuple:
    """(row, index) of every id in the given Profile fields that `index` knows."""
    get = attrgetter(*attrs)  # C-level loops: a chunk holds ~10^4 ids
    fields = list(map(get, chunk)) if len(attrs) == 1 else list(chain(*map(get, chunk)))
    ids = list(chain.from_iterable(fields))
    flat = np.fromiter(map(index.get, ids, repeat(-1, len(ids))), np.int64, len(ids))
    rows = np.repeat(np.arange(len(chunk)).repeat(len(attrs)), list(map(len, fields)))
    keep = flat >= 0
    return rows[keep], flat[keep]


def _rocchio_weights(b: int, votes: dict[str, tuple], params: RankParams, n_refs: int):
    """B x U: +liked_weight / n_liked on each liked paper, +click_weight / n_clicked on each
    opened one, -disliked_weight / n_disliked on each disliked one (`votes`: the chunk's
    (row, referenced paper) pairs of each)."""
    parts = []
    for attr, weight in (
        ("liked", params.liked_weight),
        ("clicked", params.click_weight),
        ("disliked", -params.disliked_weight),
    ):
        rows, cols = votes[attr]
        counts = np.bincount(rows, minlength=b)
        parts.append((rows, cols, (weight / counts[rows]).astype(np.float32)))
    rows, cols, vals = (np.concatenate(x) for x in zip(*parts, strict=True))
    return sparse.csr_matrix((vals, (rows, cols)), shape=(b, n_refs))


def _reasons(reasons, chunk, *, picked, slots, followed, usable, cand: Candidates) -> None:
    """Fill B x k x (R + 4) `reasons` from the kernel's slots (best first, a few spare): the
    first R phrases the paper writes as the profile does, as written there; the followed
    category (column -4), the followed author (column -2), the trending signal (column -1),
    or POPULAR for a pick made without a usable profile. Column -3 (the liked paper) is the
    caller's, as is column -4 where the liked-category prior carried the pick."""
    found = slots >= 0
    text, written = cand.words(picked[found.any(axis=2)])
    at = np.maximum(slots, 0)
    shown = found & written[picked[:, :, None], at]
    first = np.argsort(~shown, axis=2, kind="stable")[:, :, : reasons.shape[2] - 4]
    terms = text[picked[:, :, None], np.take_along_axis(at, first, axis=2)]
    reasons[:, :, :-4] = np.where(np.take_along_axis(shown, first, axis=2), terms, None)
    reasons[:, :, -1] = cand.trending_text[picked]
    if not usable.all():
        fallback = ~usable[:, None] & ~followed
        reasons[:, :, 0] = np.where(fallback, POPULAR, reasons[:, :, 0])
    choices: dict[tuple[str, ...], list[int]] = {}  # a few category choices per chunk
    for r, prof in enumerate(chunk):
        if prof.categories:
            choices.setdefault(prof.categories, []).append(r)
    for codes, rows in choices.items():
        reasons[rows, :, -4] = cand.category_reasons(codes)[picked[rows]]
    r, c = np.nonzero(followed)
    if r.size:
        reasons[r, c, -2] = [
            _followed_author(tuple(chunk[i].authors), tuple(cand.papers[j].authors))
            for i, j in zip(r.tolist(), picked[r, c].tolist(), strict=True)
        ]


def _bare(out: Ranking, start: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """(row within the chunk, slot) of each pick shown with no reason at all: phrases fill
    from the first column, so it and the last four tell."""
    rows = slice(start, start + b)
    shown = np.arange(out.reasons.shape[1]) < out.counts[rows, None]
    return np.nonzero(shown & ~_given(out.reasons[rows][:, :, [0, -4, -3, -2, -1]]).any(axis=2))


def _given(reasons: np.ndarray) -> np.ndarray:
    """Where an array of Reason | None holds a Reason. `!= None` runs the dataclass's
    `__eq__` per Reason and a cast to bool goes through Python objects; `flatnonzero` tests
    each element's truth in C (a Reason is always true): 2-4x faster."""
    given = np.zeros(reasons.size, np.bool_)
    given[np.flatnonzero(reasons)] = True
    return given.reshape(reasons.shape)


def _close_reasons(
    out: Ranking,
    chunk,
    start: int,
    bare,
    query: kernels.Csr,
    typed_parts,
    cand: Candidates,
    picked: np.ndarray,
) -> None:
    """A pick left with no reason was matched by typed words none of which passes as one (its
    typed phrases beyond the slots reasons are looked for in, its lone words too common or
    said once): it is named by the typed phrase whose words give it the most, as the reader
    wrote it, unless that phrase is one word too common to explain anything. A reader's
    typed phrases (`typed_parts`, kept per ranker) are gathered once per chunk, every
    pick's gains summed in one compiled call."""
    rows, cols = bare
    texts = [chunk[r].interests for r in rows.tolist()]
    typed = np.fromiter(map(bool, texts), np.bool_, len(texts))
    if not typed.any():
        return
    rows, cols = rows[typed], cols[typed]
    texts = list(compress(texts, typed))
    spans: dict[str, tuple[int, int]] = {}  # text -> (its first typed phrase, how many)
    names: list[str] = []
    terms: list[np.ndarray] = []
    for text in texts:
        if text not in spans:
            parts = typed_parts(text)
            spans[text] = (len(names), len(parts))
            names.extend(name for name, _ in parts)
            terms.extend(ids for _, ids in parts)
    first, n_parts = np.array(list(map(spans.__getitem__, texts)), np.int64).reshape(-1, 2).T
    best = kernels.closest_parts(
        query,
        start + rows,
        cand.vectors,
        picked[rows, cols].astype(np.int64),
        first,
        n_parts,
        kernels.Pairs(
            np.r_[0, np.cumsum([ids.size for ids in terms], dtype=np.int64)],
            np.concatenate(terms) if terms else np.empty(0, np.int64),
        ),
        cand.model.n_terms,
    )
    named = best >= 0
    if named.any():
        out.reasons[start + rows[named], cols[named], 0] = [
            _close_reason(names[g]) for g in best[named].tolist()
        ]


def _nearest_liked(
    out: Ranking, chunk, start: int, bare, ref_scores: np.ndarray, ref_index, like_text, cand
) -> None:
    """A pick still without a reason, for a reader with liked papers, was carried by them
    together, none alone: it names the liked paper most like it (never an opened one, which
    is no like), so the line differs from pick to pick."""
    for r, c in zip(*bare, strict=True):
        if not chunk[r].liked or out.reasons[start + r, c, 0] is not None:  # named `close`
            continue
        liked = [ref_index[i] for i in chunk[r].liked if i in ref_index]
        if liked:
            sims = ref_scores[liked, cand.index[out.paper_ids[start + r, c]]]
            if sims.max() > 0.0:
                out.reasons[start + r, c, -3] = like_text[liked[int(sims.argmax())]]


def _parts(model: Model, text: str, common: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The typed phrases that may name a pick: not one word too common to explain it."""
    parts = model.typed_parts(text)
    return [(t, ids) for t, ids in parts if ids.size > 1 or (ids.size and not common[ids[0]])]

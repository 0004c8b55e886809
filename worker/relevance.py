"""The ranking core: TF-IDF relevance of papers to subscriber profiles, with reasons.

Pure: takes plain data (PaperDoc, Profile), returns plain data (Pick). The planner,
`paperboy rank` and the preferences page all call this one implementation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

TRENDING_REASON = "trending"


@dataclass(frozen=True)
class PaperDoc:
    id: str
    title: str
    abstract: str = ""
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    upvotes: int = 0
    age_days: float = 0.0


@dataclass(frozen=True)
class Profile:
    id: str | int
    interests: str = ""
    liked: tuple[str, ...] = ()
    disliked: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    muted: tuple[str, ...] = ()
    exclude: frozenset[str] = field(default_factory=frozenset)  # already sent


@dataclass(frozen=True)
class Pick:
    paper_id: str
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RankParams:
    top_k: int = 10
    floor: float = 0.05
    trending_weight: float = 0.1
    author_boost: float = 0.15
    category_boost: float = 0.03
    liked_weight: float = 0.8
    disliked_weight: float = 0.5
    chunk_size: int = 5000
    n_reasons: int = 3


def paper_text(p: PaperDoc) -> str:
    """Title twice: a title word says more about a paper than an abstract word."""
    return f"{p.title}. {p.title}. {p.abstract}"


def trending_score(upvotes: int, age_days: float) -> float:
    """Upvotes decayed by age, squashed to [0, 1): the one definition of 'trending'."""
    raw = math.log1p(max(upvotes, 0)) / (1.0 + max(age_days, 0.0) / 3.0)
    return raw / (1.0 + raw)


class Model:
    """A TF-IDF space fitted on a corpus of papers."""

    def __init__(self, papers: Sequence[PaperDoc]):
        self.papers = list(papers)
        self.index = {p.id: i for i, p in enumerate(self.papers)}
        self.vectorizer = TfidfVectorizer(
            stop_words="english",
            ngram_range=(1, 2),
            sublinear_tf=True,
            strip_accents="unicode",
            min_df=1,
            max_df=0.5 if len(self.papers) >= 20 else 1.0,
            token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9\-]+\b",
            dtype=np.float32,
        )
        texts = [paper_text(p) for p in self.papers]
        if any(t.strip(". ") for t in texts):
            try:
                self.matrix = self.vectorizer.fit_transform(texts).tocsr()
            except ValueError:  # nothing but stop words
                self.matrix = None
        else:
            self.matrix = None
        self.vocab = self.vectorizer.get_feature_names_out() if self.matrix is not None else []

    def profile_vectors(self, profiles: Sequence[Profile], params: RankParams) -> sparse.csr_matrix:
        """Rocchio: interests + liked papers - disliked papers, L2-normalized rows."""
        interests = self.vectorizer.transform([p.interests for p in profiles]).tocsr()
        rows = [interests]
        for attr, weight in (("liked", params.liked_weight), ("disliked", -params.disliked_weight)):
            ii, jj = [], []
            for r, prof in enumerate(profiles):
                ids = [self.index[x] for x in getattr(prof, attr) if x in self.index]
                ii.extend([r] * len(ids))
                jj.extend(ids)
            sel = sparse.csr_matrix(
                (np.ones(len(ii), dtype=np.float32), (ii, jj)),
                shape=(len(profiles), len(self.papers)),
            )
            n = np.asarray(sel.sum(axis=1)).ravel()
            n[n == 0] = 1
            mean = sparse.diags(1.0 / n) @ sel @ self.matrix
            rows.append(weight * mean)
        vec = rows[0] + rows[1] + rows[2]
        vec.data[vec.data < 0] = 0  # a dislike removes interest, it does not invert it
        vec.eliminate_zeros()
        norms = np.sqrt(np.asarray(vec.multiply(vec).sum(axis=1)).ravel())
        norms[norms == 0] = 1
        return (sparse.diags(1.0 / norms) @ vec).tocsr().astype(np.float32)


def _contains_any(text: str, words: Sequence[str]) -> bool:
    return any(re.search(rf"\b{re.escape(w.lower())}\b", text) for w in words if w.strip())


def rank(
    papers: Sequence[PaperDoc],
    profiles: Sequence[Profile],
    params: RankParams | None = None,
    model: Model | None = None,
) -> dict[str | int, list[Pick]]:
    """Top-k picks per profile, best first, each with its reasons."""
    params = params or RankParams()
    if not papers or not profiles:
        return {p.id: [] for p in profiles}
    model = model or Model(papers)
    trend = np.array([trending_score(p.upvotes, p.age_days) for p in papers], dtype=np.float32)
    lowered = [f"{p.title} {p.abstract}".lower() for p in papers]
    results: dict[str | int, list[Pick]] = {}
    for start in range(0, len(profiles), params.chunk_size):
        chunk = profiles[start : start + params.chunk_size]
        if model.matrix is not None:
            pvec = model.profile_vectors(chunk, params)
            rel = (pvec @ model.matrix.T).toarray()
        else:
            pvec = None
            rel = np.zeros((len(chunk), len(papers)), dtype=np.float32)
        for r, prof in enumerate(chunk):
            results[prof.id] = _picks_for(
                prof, rel[r], pvec, r, model, papers, trend, lowered, params
            )
    return results


def _picks_for(prof, rel, pvec, row, model, papers, trend, lowered, params) -> list[Pick]:
    usable = rel.max(initial=0.0) > 0
    score = rel.astype(np.float32).copy()
    followed = [a.lower() for a in prof.authors]
    boosts_author = np.zeros(len(papers), dtype=bool)
    if followed:
        for i, p in enumerate(papers):
            if any(a.lower() in followed for a in p.authors):
                boosts_author[i] = True
        score += params.author_boost * boosts_author
    if prof.categories:
        cats = set(prof.categories)
        score += params.category_boost * np.array([bool(cats & set(p.categories)) for p in papers])
    score += params.trending_weight * trend
    eligible = np.ones(len(papers), dtype=bool)
    seen = prof.exclude | set(prof.liked) | set(prof.disliked)
    for i, p in enumerate(papers):
        if p.id in seen or (prof.muted and _contains_any(lowered[i], prof.muted)):
            eligible[i] = False
    if usable or boosts_author.any():
        eligible &= (rel >= params.floor) | boosts_author
        label_trending = False
    else:
        score = trend.copy()
        label_trending = True
    candidates = np.flatnonzero(eligible)
    if candidates.size == 0:
        return []
    k = min(params.top_k, candidates.size)
    part = candidates[np.argpartition(-score[candidates], k - 1)[:k]]
    order = part[np.lexsort((part, -score[part]))]
    picks = []
    for i in order:
        p = papers[i]
        reasons: list[str] = []
        if label_trending:
            reasons.append(TRENDING_REASON)
        elif pvec is not None:
            reasons.extend(_term_reasons(pvec[row], model.matrix[i], model.vocab, params.n_reasons))
        for a in p.authors:
            if a.lower() in followed:
                reasons.append(f"by {a}")
                break
        if p.upvotes and trend[i] > 0.3:
            reasons.append(f"trending: {p.upvotes} upvotes")
        picks.append(Pick(p.id, round(float(score[i]), 6), tuple(reasons)))
    return picks


def _term_reasons(profile_row, paper_row, vocab, n: int) -> list[str]:
    contrib = profile_row.multiply(paper_row).tocoo()
    if contrib.nnz == 0:
        return []
    top = np.argsort(-contrib.data, kind="stable")[: n * 2]
    terms: list[str] = []
    for j in top:
        term = str(vocab[contrib.col[j]])
        if not any(term in t or t in term for t in terms):
            terms.append(term)
        if len(terms) == n:
            break
    return terms


def doc_from_json(d: dict, now_ts: float | None = None) -> PaperDoc:
    """A paper in the `rank` JSONL contract: only id, title and abstract are required."""
    from datetime import UTC, datetime

    for key in ("id", "title", "abstract"):
        if key not in d:
            raise ValueError(f"paper is missing {key!r}: {str(d)[:80]}")
    age = 0.0
    if d.get("published") and now_ts is not None:
        published = datetime.fromisoformat(str(d["published"]).replace("Z", "+00:00"))
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
        age = max((now_ts - published.timestamp()) / 86400, 0.0)
    return PaperDoc(
        id=str(d["id"]),
        title=str(d["title"] or ""),
        abstract=str(d["abstract"] or ""),
        authors=tuple(d.get("authors") or ()),
        categories=tuple(d.get("categories") or ()),
        upvotes=int(d.get("upvotes") or 0),
        age_days=age,
    )


def profile_from_json(d: dict) -> Profile:
    if "id" not in d:
        raise ValueError(f"profile is missing 'id': {str(d)[:80]}")
    return Profile(
        id=d["id"],
        interests=str(d.get("interests") or ""),
        liked=tuple(map(str, d.get("liked") or ())),
        disliked=tuple(map(str, d.get("disliked") or ())),
        authors=tuple(d.get("authors") or ()),
        categories=tuple(d.get("categories") or ()),
        muted=tuple(d.get("muted") or ()),
    )

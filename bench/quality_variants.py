"""`bench quality` (f): every ranking variant tried, on each protocol, over seeds, against
arxiv-sanity-lite's recipe in the same run.

P@10 with empty slots as misses, mean over the (a) and (ab) readers of every seed and the (b)
readers (the same each seed), and x arxiv-sanity-lite on the same readers. Three kinds:
- the ranking itself (`rank`, the compiled loop) with one knob changed: the liked-category
  prior, the weight of the liked papers' centroid beside the interests text (Rocchio), the
  fit (max_df, how many papers a phrase must be in, words only, the title's weight, a corpus
  of half the papers), and pseudo-relevance feedback (`feedback`: a typed-only reader's first
  picks fed back as opened papers, for their categories' prior): off, its depth and boost,
  their words at the clicks' weight, and fed back to every reader (liked papers too);
- a dense scorer on the same TF-IDF vectors, for the ideas the kernel has no knob for: raw
  tf, BM25 document weights, LSA 128, a per-reader linear SVM (arxiv-sanity-lite's model on
  Paperboy's features) alone and blended with the Rocchio cosine. Their reference row is the
  same dense Rocchio cosine (which lacks the kernel's phrase rules), and each adds the same
  liked-category prior; a score that is not a cosine is first rescaled to the cosine's spread;
- not measurable here: author overlap with liked papers (the sample has no authors).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from bench.quality_data import KEYWORDS, K, liked_queries, metrics, top_k
from worker.ranking import FitParams, Model, PaperDoc, Profile, RankParams, rank

SHIPPED = RankParams(top_k=K, trending_weight=0.0)
PRF_DEPTHS = (3, 4, 6, 10)  # pseudo-relevance feedback: this many of the first picks fed back
PRF_BOOSTS = (0.05, 0.1, 0.3)  # ...and their categories' prior at this boost
PRF_CARRIES = (0.6, 1.0)  # ...their categories carry a paper past the floor from this share


@dataclass(frozen=True)
class Reader:
    part: str  # "a", "b" or "ab"
    category: str
    profile: Profile

    @property
    def liked(self) -> list[int]:
        return list(map(int, self.profile.liked))


def readers(cats: list[set[str]], seeds: range) -> list[Reader]:
    """(a) and (ab) for every seed, (b) once: it draws nothing."""
    out = [Reader("b", c, Profile(f"b{c}", interests=t)) for c, t in KEYWORDS.items()]
    for seed in seeds:
        for q, (cat, ids) in enumerate(liked_queries(cats, seed)):
            liked = tuple(map(str, ids))
            out.append(Reader("a", cat, Profile(f"a{seed}-{q}", liked=liked)))
            if cat in KEYWORDS:
                prof = Profile(f"ab{seed}-{q}", interests=KEYWORDS[cat], liked=liked)
                out.append(Reader("ab", cat, prof))
    return out


@dataclass
class Setup:
    docs: list[PaperDoc]
    cats: list[set[str]]
    model: Model
    sanity: Callable  # bench_quality.sanity_lite's (vectorizer, scores)
    readers: list[Reader]

    @cached_property
    def size(self) -> Counter:
        return Counter(c for cs in self.cats for c in cs)

    def p_at_10(self, reader: Reader, ranked: list[int]) -> float:
        relevant = self.size[reader.category] - len(reader.liked)
        return float(metrics(ranked, reader.category, self.cats, relevant)[0])

    @cached_property
    def vectors(self) -> sparse.csr_matrix:
        return self.model.embed_papers(self.docs)

    @cached_property
    def svd(self) -> TruncatedSVD:
        return TruncatedSVD(128, random_state=0).fit(self.vectors)

    @cached_property
    def sanity_row(self) -> dict[str, float]:
        vectorizer, scores = self.sanity
        out: dict[str, list[float]] = {}
        for r in self.readers:
            text = vectorizer.transform([r.profile.interests]) if r.profile.interests else None
            picks = top_k(scores(r.liked, text), r.liked)
            out.setdefault(r.part, []).append(self.p_at_10(r, picks))
        return {part: float(np.mean(v)) for part, v in out.items()}

    def prior(self, reader: Reader, boost: float) -> np.ndarray:
        """The liked-category prior as the kernel adds it (no dislikes here)."""
        share = Counter(c for i in reader.liked for c in self.cats[i])
        n = max(len(reader.liked), 1)
        return boost * np.array([max((share[c] for c in cs), default=0) / n for cs in self.cats])


def ranked_row(setup: Setup, params: RankParams = SHIPPED, model: Model | None = None) -> dict:
    """The ranking itself, every reader at once."""
    profiles = [r.profile for r in setup.readers]
    ranked = rank(setup.docs, profiles, params, model=model or setup.model)
    return _row(
        setup,
        {r.profile.id: [int(p.paper_id) for p in ranked[r.profile.id]] for r in setup.readers},
    )


def feedback_row(setup: Setup, depth: int) -> dict:
    """Pseudo-relevance feedback for every reader, liked papers or not: the first ranking's
    top `depth` as opened papers, at the liked-category prior's own boost."""
    profiles = [r.profile for r in setup.readers]
    own = replace(SHIPPED, feedback_depth=0)
    first = rank(setup.docs, profiles, own, model=setup.model)
    again = [replace(p, clicked=tuple(x.paper_id for x in first[p.id][:depth])) for p in profiles]
    ranked = rank(setup.docs, again, own, model=setup.model)
    return _row(setup, {p.id: [int(x.paper_id) for x in ranked[p.id]] for p in again})


def _row(setup: Setup, picks: dict) -> dict[str, float]:
    out: dict[str, list[float]] = {}
    for r in setup.readers:
        out.setdefault(r.part, []).append(setup.p_at_10(r, picks[r.profile.id]))
    return {part: float(np.mean(v)) for part, v in out.items()}


def query(setup: Setup, reader: Reader, vectors: sparse.csr_matrix) -> np.ndarray:
    """The Rocchio profile (interests + mean of liked papers) on `vectors`' space."""
    q = np.zeros(vectors.shape[1])
    if reader.profile.interests:
        q += setup.model.embed_texts([reader.profile.interests]).toarray().ravel()
    if reader.liked:
        q += np.asarray(vectors[reader.liked].mean(axis=0)).ravel()
    return q / max(np.linalg.norm(q), 1e-12)


def dense_row(setup: Setup, score: Callable[[Setup, Reader], np.ndarray]) -> dict:
    """A dense scorer's top 10 (liked papers out) after the shipped prior is added."""
    picks = {}
    for r in setup.readers:
        s = score(setup, r) + setup.prior(r, SHIPPED.liked_category_boost)
        picks[r.profile.id] = top_k(s, r.liked)
    return _row(setup, picks)


def cosine(setup: Setup, r: Reader) -> np.ndarray:
    return setup.vectors @ query(setup, r, setup.vectors)


def on_cosine_scale(setup: Setup, r: Reader, s: np.ndarray) -> np.ndarray:
    return s * cosine(setup, r).std() / max(s.std(), 1e-12)


def raw_tf(setup: Setup, r: Reader) -> np.ndarray:
    counts = setup.model.paper_counts(setup.docs)
    vectors = normalize(counts.multiply(setup.model.vectorizer.idf_).tocsr())
    return vectors @ query(setup, r, vectors)


def bm25(setup: Setup, r: Reader, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    counts = setup.model.paper_counts(setup.docs).tocoo()
    length = np.asarray(counts.sum(axis=1)).ravel()
    norm = k1 * (1 - b + b * length / length.mean())
    tf = counts.data * (k1 + 1) / (counts.data + norm[counts.row])
    weights = sparse.csr_matrix(
        (tf * setup.model.vectorizer.idf_[counts.col], (counts.row, counts.col)), counts.shape
    )
    return on_cosine_scale(setup, r, weights @ query(setup, r, setup.vectors))


def lsa(setup: Setup, r: Reader, blend: float) -> np.ndarray:
    low = normalize(setup.svd.transform(setup.vectors))
    q = normalize(setup.svd.transform(query(setup, r, setup.vectors)[None, :])).ravel()
    return (1 - blend) * cosine(setup, r) + blend * (low @ q)


def svm(setup: Setup, r: Reader, c: float, blend: float) -> np.ndarray:
    """arxiv-sanity-lite's per-reader LinearSVC on Paperboy's vectors: the liked papers and
    the interests text are the positives, every other paper a negative."""
    x, y = setup.vectors, np.isin(np.arange(len(setup.docs)), r.liked).astype(int)
    if r.profile.interests:
        text = setup.model.embed_texts([r.profile.interests])
        x, y = sparse.vstack([x, text]).tocsr(), np.r_[y, 1]
    clf = LinearSVC(C=c, class_weight="balanced", max_iter=10000, tol=1e-6).fit(x, y)
    decision = on_cosine_scale(setup, r, clf.decision_function(setup.vectors))
    return (1 - blend) * decision + blend * cosine(setup, r)


def variants(setup: Setup) -> list[tuple[str, Callable[[], dict]]]:
    """(name, how to measure it): the shipped ranking first."""

    def fitted(**kw) -> Model:
        return Model.fit(setup.docs, FitParams(**kw))

    half = np.random.default_rng(5).permutation(len(setup.docs))[: len(setup.docs) // 2]
    shipped = (
        f"shipped (prior 0.05, PRF {SHIPPED.feedback_depth}, "
        f"carry {SHIPPED.feedback_carry_share:g})"
    )
    out: list[tuple[str, Callable[[], dict]]] = [(shipped, lambda: ranked_row(setup))]
    for boost in (0.0, 0.01, 0.02, 0.03, 0.1):
        params = replace(SHIPPED, liked_category_boost=boost)
        out.append((f"prior {boost:g}", lambda p=params: ranked_row(setup, p)))
    for weight in (0.5, 2.0):
        params = replace(SHIPPED, liked_weight=weight)
        out.append((f"centroid weight {weight:g}", lambda p=params: ranked_row(setup, p)))
    for name, kw in (
        ("max_df 0.25", {"max_df": 0.25}),
        ("max_df 0.1", {"max_df": 0.1}),
        ("phrases in >= 5 papers", {"phrase_min_df": 5}),
        ("phrases in >= 1 paper", {"phrase_min_df": 1}),
        ("words only", {"phrase_min_df": len(setup.docs) + 1}),
        ("title weight 0", {"title_weight": 0.0}),
        ("title weight 1", {"title_weight": 1.0}),
    ):
        out.append((name, lambda kw=kw: ranked_row(setup, model=fitted(**kw))))
    half_corpus = [setup.docs[i] for i in sorted(half)]
    out.append(
        ("corpus window: half the papers", lambda: ranked_row(setup, model=Model.fit(half_corpus)))
    )
    feedback = [("feedback off (before)", replace(SHIPPED, feedback_depth=0))]
    feedback += [(f"feedback top {d}", replace(SHIPPED, feedback_depth=d)) for d in PRF_DEPTHS]
    feedback += [
        (f"feedback prior {b:g}", replace(SHIPPED, feedback_category_boost=b)) for b in PRF_BOOSTS
    ]
    feedback.append(
        ("feedback words at 0.5, no floor guard", replace(SHIPPED, feedback_weight=0.5))
    )
    carries = [("feedback carry off (floor alone)", 0.0)]
    carries += [(f"feedback carry at {s:g}", s) for s in PRF_CARRIES]
    feedback += [(name, replace(SHIPPED, feedback_carry_share=s)) for name, s in carries]
    out += [(name, lambda p=p: ranked_row(setup, p)) for name, p in feedback]
    out.append(("feedback 5 to every reader, prior 0.05", lambda: feedback_row(setup, 5)))
    out += [
        ("dense Rocchio cosine (reference)", lambda: dense_row(setup, cosine)),
        ("  raw tf", lambda: dense_row(setup, raw_tf)),
        ("  BM25 (k1 1.2, b 0.75)", lambda: dense_row(setup, bm25)),
        ("  LSA 128 alone", lambda: dense_row(setup, lambda s, r: lsa(s, r, 1.0))),
        ("  TF-IDF + LSA 128, 1:1", lambda: dense_row(setup, lambda s, r: lsa(s, r, 0.5))),
    ]
    for c in (0.01, 0.1, 1.0):
        out.append(
            (
                f"  per-reader SVM C {c:g}",
                lambda c=c: dense_row(setup, lambda s, r: svm(s, r, c, 0.0)),
            )
        )
    out.append(
        ("  SVM (C 0.1) + Rocchio, 1:1", lambda: dense_row(setup, lambda s, r: svm(s, r, 0.1, 0.5)))
    )
    return out


def print_variants(docs, cats, fitted, seeds: range) -> None:
    """(f): one line per variant, P@10 and x arxiv-sanity-lite per protocol."""
    (vectorizer, scores), model = fitted
    setup = Setup(docs, cats, model, (vectorizer, scores), readers(cats, seeds))
    base = setup.sanity_row
    counts = Counter(r.part for r in setup.readers)
    print(
        f"(f) variants, P@10 (empty = miss) and x arxiv-sanity-lite, seeds {seeds.start}-"
        f"{seeds.stop - 1}: (a) {counts['a']} readers, (b) {counts['b']}, (ab) {counts['ab']}"
    )
    cells = "".join(f"{f'({p})':>8} {'x':>5}" for p in ("a", "b", "ab"))
    print(f"  {'':40}{cells}")
    sanity = "".join(f"{base[p]:8.3f} {1:5.2f}" for p in ("a", "b", "ab"))
    print(f"  {'arxiv-sanity-lite (TF-IDF + SVM)':40}{sanity}")
    for name, measure in variants(setup):
        row = measure()
        cells = "".join(f"{row[p]:8.3f} {row[p] / base[p]:5.2f}" for p in ("a", "b", "ab"))
        print(f"  {name:40}{cells}", flush=True)
    print("  author overlap with liked papers: not measurable, the sample has no authors")

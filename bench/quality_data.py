"""The data and the baseline every `bench quality` section shares: the 1,000-paper arXiv
sample (with its categories, the answer key), the liked-paper draws, the typed interests,
P@10 / nDCG@10, and arxiv-sanity-lite's recipe (its TfidfVectorizer settings, one LinearSVC
per reader)."""

from __future__ import annotations

import ast
import csv
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from worker.ranking import Model, PaperDoc

DATA = Path(__file__).resolve().parents[2] / "shared/data/arxiv_ml_sample.csv"
MIN_PAPERS, DRAWS, LIKED, K, EDITIONS = 15, 5, 3, 10, 5

KEYWORDS = {
    "cs.AI": "artificial intelligence, reasoning and planning, knowledge graphs, agents",
    "cs.CL": "natural language processing, language models, text classification, translation",
    "cs.CV": "computer vision, image segmentation, object detection",
    "cs.LG": "machine learning, deep neural network training, optimization",
    "cs.NE": "evolutionary algorithms, neuroevolution, spiking neural networks",
    "cs.RO": "robotics, robot manipulation, motion planning, autonomous driving",
    "eess.IV": "medical image analysis, MRI reconstruction, image denoising",
    "stat.ML": "statistical learning, Bayesian inference, Gaussian processes, kernel methods",
}


def load() -> tuple[list[PaperDoc], list[set[str]]]:
    if not DATA.is_file():  # the one file bench/ reads from outside the repository
        raise SystemExit(
            f"bench quality needs the shared arXiv sample at {DATA} (the project's ../shared "
            "beside this checkout); it is missing, so there is nothing to evaluate."
        )
    with DATA.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    cats = [ast.literal_eval(r["terms"]) for r in rows]
    docs = [
        PaperDoc(str(i), r["titles"], r["summaries"], categories=tuple(c))
        for i, (r, c) in enumerate(zip(rows, cats, strict=True))
    ]
    return docs, [set(c) for c in cats]


def liked_queries(cats: list[set[str]], seed: int) -> list[tuple[str, list[int]]]:
    rng = np.random.default_rng(seed)
    counts = Counter(c for cs in cats for c in cs)
    queries = []
    for cat in sorted(c for c, n in counts.items() if n >= MIN_PAPERS):
        members = [i for i, cs in enumerate(cats) if cat in cs]
        for _ in range(DRAWS):
            queries.append((cat, sorted(rng.choice(members, LIKED, replace=False).tolist())))
    return queries


def metrics(ranked: list[int], cat: str, cats: list[set[str]], n_relevant: int) -> tuple:
    gains = np.array([cat in cats[i] for i in ranked[:K]] + [False] * (K - len(ranked[:K])))
    discounts = 1 / np.log2(np.arange(2, K + 2))
    ideal = discounts[: min(K, n_relevant)].sum()
    return gains.mean(), float((gains * discounts).sum() / ideal)


def top_k(scores: np.ndarray, exclude: list[int]) -> list[int]:
    scores = scores.astype(float).copy()
    scores[exclude] = -np.inf
    return np.argsort(-scores, kind="stable")[:K].tolist()


def sanity_lite(docs: list[PaperDoc]):
    vectorizer = TfidfVectorizer(
        input="content",
        encoding="utf-8",
        decode_error="replace",
        strip_accents="unicode",
        lowercase=True,
        analyzer="word",
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
        ngram_range=(1, 2),
        max_features=20000,
        norm="l2",
        use_idf=True,
        smooth_idf=True,
        sublinear_tf=True,
        max_df=0.1,
        min_df=5,
    )
    x = vectorizer.fit_transform([f"{d.title} {d.abstract}" for d in docs])

    def scores(positives: list[int], text: sparse.csr_matrix | None = None) -> np.ndarray:
        """The papers `positives` (and an interests `text`, embedded like a paper, as one
        extra row) are the positives, every other paper a negative."""
        y = np.isin(np.arange(x.shape[0]), positives).astype(int)
        data = x
        if text is not None:
            data, y = sparse.vstack([x, text]).tocsr(), np.r_[y, 1]
        clf = LinearSVC(C=0.01, class_weight="balanced", max_iter=10000, tol=1e-6)
        clf.fit(data, y)
        return clf.decision_function(x)

    return vectorizer, scores


def fit(docs: list[PaperDoc]) -> tuple:
    """Both recipes fitted once on the papers: every evaluation below reuses them."""
    return sanity_lite(docs), Model.fit(docs)

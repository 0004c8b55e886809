"""Ranking quality on 1,000 real arXiv papers: random vs arxiv-sanity-lite vs Paperboy.

(a) liked-paper profiles: for every category with >= 15 papers, 5 random draws of 3 liked
    papers; relevant = the other papers of that category.
(b) keyword profiles: one short interests text per category, as a researcher would type it.
Category labels are only the answer key, never a feature. P@10 and nDCG@10, mean over
profiles; a profile that gets fewer than 10 papers (relevance floor) counts the gaps as misses.

arxiv-sanity-lite's recipe: its TfidfVectorizer settings on title + abstract (the sample has no
authors), one LinearSVC per profile over the whole corpus, liked papers (for (b): the
interests text, embedded like a paper) as the positives, ranked by decision_function.

    python -m bench.bench_quality [--seeds N]   # (a) also over seeds 1..N (default 9), and
                                                # the mean over all: seed 0 alone is noisy
"""

from __future__ import annotations

import argparse
import ast
import csv
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from worker.relevance import Model, PaperDoc, Profile, RankParams, rank

DATA = Path(__file__).resolve().parents[2] / "shared/data/arxiv_ml_sample.csv"
MIN_PAPERS, DRAWS, LIKED, K = 15, 5, 3, 10
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
    docs = [PaperDoc(str(i), r["titles"], r["summaries"]) for i, r in enumerate(rows)]
    return docs, [set(ast.literal_eval(r["terms"])) for r in rows]


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

    def scores(positives: sparse.csr_matrix | list[int]) -> np.ndarray:
        if isinstance(positives, list):
            data, y = x, np.isin(np.arange(x.shape[0]), positives).astype(int)
        else:  # a text profile: one extra positive row
            data, y = sparse.vstack([x, positives]).tocsr(), np.r_[np.zeros(x.shape[0]), 1]
        clf = LinearSVC(C=0.01, class_weight="balanced", max_iter=10000, tol=1e-6)
        clf.fit(data, y)
        return clf.decision_function(x)

    return vectorizer, scores


def evaluate(docs, cats, queries, keyword_texts) -> dict[str, dict[str, tuple[float, float]]]:
    n = len(docs)
    size = Counter(c for cs in cats for c in cs)
    rng = np.random.default_rng(1)
    vectorizer, svm_scores = sanity_lite(docs)
    model = Model.fit(docs)
    params = RankParams(top_k=K, trending_weight=0.0)
    liked_profiles = [Profile(q, liked=tuple(map(str, ids))) for q, (_, ids) in enumerate(queries)]
    keyword_profiles = [Profile(cat, interests=text) for cat, text in keyword_texts.items()]
    ours_a = rank(docs, liked_profiles, params, model=model)
    ours_b = rank(docs, keyword_profiles, params, model=model)
    rows: dict[str, dict[str, list]] = {name: {"a": [], "b": []} for name in NAMES}
    for q, (cat, liked) in enumerate(queries):
        rel = size[cat] - LIKED
        rows["random"]["a"].append(metrics(top_k(rng.random(n), liked), cat, cats, rel))
        rows[SANITY]["a"].append(metrics(top_k(svm_scores(liked), liked), cat, cats, rel))
        ours = [int(p.paper_id) for p in ours_a[q]]
        rows["Paperboy"]["a"].append(metrics(ours, cat, cats, rel))
    for cat, text in keyword_texts.items():
        rel = size[cat]
        rows["random"]["b"].append(metrics(top_k(rng.random(n), []), cat, cats, rel))
        svm = svm_scores(vectorizer.transform([text]))
        rows[SANITY]["b"].append(metrics(top_k(svm, []), cat, cats, rel))
        ours = [int(p.paper_id) for p in ours_b[cat]]
        rows["Paperboy"]["b"].append(metrics(ours, cat, cats, rel))
    return {
        name: {part: tuple(np.mean(v, axis=0)) for part, v in parts.items() if v}
        for name, parts in rows.items()
    }


SANITY = "arxiv-sanity-lite (TF-IDF + SVM)"
NAMES = ("random", SANITY, "Paperboy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=9, help="extra seeds of (a) to report")
    args = parser.parse_args()
    docs, cats = load()
    queries = liked_queries(cats, seed=0)
    result = evaluate(docs, cats, queries, KEYWORDS)
    print(f"{len(docs)} papers; (a) {len(queries)} liked-paper profiles; (b) {len(KEYWORDS)}")
    print(f"{'':34} {'(a) P@10':>9} {'nDCG@10':>8} {'(b) P@10':>9} {'nDCG@10':>8}")
    for name in NAMES:
        (pa, na), (pb, nb) = result[name]["a"], result[name]["b"]
        print(f"{name:34} {pa:9.3f} {na:8.3f} {pb:9.3f} {nb:8.3f}")
    base, ours = result[SANITY], result["Paperboy"]
    print(
        f"Paperboy / arxiv-sanity-lite P@10: (a) {ours['a'][0] / base['a'][0]:.2f}x, "
        f"(b) {ours['b'][0] / max(base['b'][0], 1e-9):.2f}x"
    )
    pairs = [(base["a"][0], ours["a"][0])]
    for seed in range(1, args.seeds + 1):
        r = evaluate(docs, cats, liked_queries(cats, seed), {})
        pairs.append((r[SANITY]["a"][0], r["Paperboy"]["a"][0]))
        print(f"seed {seed}: (a) P@10 sanity {pairs[-1][0]:.3f}, Paperboy {pairs[-1][1]:.3f}")
    if args.seeds:
        sanity, paperboy = np.mean(pairs, axis=0)
        print(
            f"(a) over seeds 0-{args.seeds} ({len(pairs) * len(queries)} profiles): sanity "
            f"{sanity:.3f}, Paperboy {paperboy:.3f}, {paperboy / sanity:.2f}x"
        )


if __name__ == "__main__":
    main()

"""Ranking quality on 1,000 real arXiv papers: random vs arxiv-sanity-lite vs Paperboy.

(a) liked-paper profiles: for every category with >= 15 papers, 5 random draws of 3 liked
    papers; relevant = the other papers of that category.
(b) keyword profiles: one short interests text per category, as a researcher would type it.
(ab) both: the (a) readers of the categories (b) has, each with that category's interests text.
The papers carry their arXiv categories, as the ranking gets them in production: the
liked-category prior (LIKED_CATEGORY_BOOST) boosts papers filed where the liked papers are.
Relevance is defined by those same categories, so part of the prior's gain on (a) and (ab) is
by construction; (b) has no liked papers and no prior. Followed categories are never set.
P@10 and nDCG@10, mean over profiles, of the ranking (the floors on, except the cut relative
to the profile's best match: a profile that gets fewer than 10 papers counts the gaps as
misses). "as sent": P@k for k = the number of papers the planner really sends that profile
(every floor on), and the mean k.
(c) learning from votes: a reader starts from a (b) interests text; over five editions (each
    a new fifth of the papers, 3 shuffles) gets 10 papers and votes "more like this" on the
    relevant picks and "less like this" on the others. P@10 per edition: Paperboy (Rocchio on
    the votes) against arxiv-sanity-lite's SVM retrained on the same reader's votes (its
    recipe has no "less": the interests text and the liked papers are the positives, every
    other paper a negative).
(d) the cut (`RankParams.floor`, RELEVANCE_FLOOR): calibrated on these papers as the highest
    cosine under which fewer than CUT_TARGET of all candidates are relevant, per protocol; and
    the carry past it of a typed-only reader's second ranking (FEEDBACK_CARRY_SHARE): the
    lowest share of the fed-back picks in a paper's category from which the papers under the
    floor that could reach a digest are relevant at CUT_TARGET or more. Then, per digest of
    10 from the whole sample and from one edition (a fifth of it, as a day's new papers), per
    protocol, what is sent with and without the cut: the relevant papers, the papers of the
    uncut digest cut and their hit rate, and P@10 with the slots the cut leaves empty as
    misses; beside it the floor alone, other carry shares, and the cut relative to the
    reader's best match (RELATIVE_FLOOR 0.5) that this floor replaced.
(e) why-lines: the picks as sent for READER_TEXTS (the (b) texts and the issue's own) and
    for (a)'s liked-paper readers, and the share of them with a flawed why-line: two phrase
    reasons that are pieces of one phrase (they share a word: "Graph Neural Networks" beside
    "Neural Networks"), or a lone word in over 3% of the papers ("image" beside "Medical
    Imaging"); and the share with no reason.
(f) variants: every ranking variant tried, per protocol over the seeds (`quality_variants`).
(g) learning from clicks, a link scanner in every inbox (`quality_clicks`).

arxiv-sanity-lite's recipe: its TfidfVectorizer settings on title + abstract (the sample has no
authors), one LinearSVC per profile over the whole corpus, liked papers (for (b): the
interests text, embedded like a paper) as the positives, ranked by decision_function.

    python -m bench.bench_quality [--seeds N]   # (a), (ab) and (f) also over seeds 1..N
                                                # (default 9): seed 0 alone is noisy
    python -m bench.bench_quality --sections fg # only (f) and (g) after the headline
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import replace
from itertools import product

import numpy as np

from bench.quality_clicks import print_click_curves
from bench.quality_data import (
    EDITIONS,
    KEYWORDS,
    LIKED,
    K,
    fit,
    liked_queries,
    load,
    metrics,
    top_k,
)
from bench.quality_variants import print_variants
from models.reasons import Kind
from worker.ranking import Model, Profile, RankParams, rank

CUT_TARGET = 0.15  # the cut may only remove papers less likely than this to be relevant
FLOORS = np.round(np.arange(0.0, 0.0801, 0.005), 3)  # thresholds the calibration tries
REACH = 3 * K  # the carry is calibrated on the papers under the floor this high uncut
CARRY_POOLS = 6  # ...over the whole sample and the fifths and halves of this many orders
CARRY_SHARES = (0.6, 0.8, 1.0)  # fed-back shares tried as the carry threshold


def precision_at_sent(ranked: list[int], cat: str, cats: list[set[str]]) -> tuple[float, int]:
    """P@k for k = len(ranked): the share of what was sent that is relevant (1.0 if nothing)."""
    if not ranked:
        return 1.0, 0
    return float(np.mean([cat in cats[i] for i in ranked])), len(ranked)


def evaluate(
    docs, cats, *, queries, keyword_texts, fitted
) -> dict[str, dict[str, tuple[float, ...]]]:
    n = len(docs)
    size = Counter(c for cs in cats for c in cs)
    rng = np.random.default_rng(1)
    (vectorizer, svm_scores), model = fitted
    sent = RankParams(top_k=K, trending_weight=0.0)  # as the planner sends, every floor on
    params = replace(sent, relative_floor=0.0)  # the ranking's first 10
    liked_profiles = [Profile(q, liked=tuple(map(str, ids))) for q, (_, ids) in enumerate(queries)]
    keyword_profiles = [Profile(cat, interests=text) for cat, text in keyword_texts.items()]
    mixed = [
        (q, cat, Profile(q, interests=keyword_texts[cat], liked=tuple(map(str, ids))))
        for q, (cat, ids) in enumerate(queries)
        if cat in keyword_texts
    ]
    ours_a, sent_a = (rank(docs, liked_profiles, p, model=model) for p in (params, sent))
    ours_b, sent_b = (rank(docs, keyword_profiles, p, model=model) for p in (params, sent))
    mixed_profiles = [prof for _, _, prof in mixed]
    ours_ab, sent_ab = (rank(docs, mixed_profiles, p, model=model) for p in (params, sent))
    rows: dict[str, dict[str, list]] = {
        name: {"a": [], "b": [], "ab": []} for name in (*NAMES, AS_SENT)
    }
    for q, (cat, liked) in enumerate(queries):
        rel = size[cat] - LIKED
        rows["random"]["a"].append(metrics(top_k(rng.random(n), liked), cat, cats, rel))
        rows[SANITY]["a"].append(metrics(top_k(svm_scores(liked), liked), cat, cats, rel))
        ours = [int(p.paper_id) for p in ours_a[q]]
        rows["Paperboy"]["a"].append(metrics(ours, cat, cats, rel))
        sent_ids = [int(p.paper_id) for p in sent_a[q]]
        rows[AS_SENT]["a"].append(precision_at_sent(sent_ids, cat, cats))
    for cat, text in keyword_texts.items():
        rel = size[cat]
        rows["random"]["b"].append(metrics(top_k(rng.random(n), []), cat, cats, rel))
        svm = svm_scores([], vectorizer.transform([text]))
        rows[SANITY]["b"].append(metrics(top_k(svm, []), cat, cats, rel))
        ours = [int(p.paper_id) for p in ours_b[cat]]
        rows["Paperboy"]["b"].append(metrics(ours, cat, cats, rel))
        sent_ids = [int(p.paper_id) for p in sent_b[cat]]
        rows[AS_SENT]["b"].append(precision_at_sent(sent_ids, cat, cats))
    for q, cat, prof in mixed:
        liked = list(map(int, prof.liked))
        rel = size[cat] - LIKED
        rows["random"]["ab"].append(metrics(top_k(rng.random(n), liked), cat, cats, rel))
        svm = svm_scores(liked, vectorizer.transform([prof.interests]))
        rows[SANITY]["ab"].append(metrics(top_k(svm, liked), cat, cats, rel))
        ours = [int(p.paper_id) for p in ours_ab[q]]
        rows["Paperboy"]["ab"].append(metrics(ours, cat, cats, rel))
        sent_ids = [int(p.paper_id) for p in sent_ab[q]]
        rows[AS_SENT]["ab"].append(precision_at_sent(sent_ids, cat, cats))
    return {
        name: {part: tuple(np.mean(v, axis=0)) for part, v in parts.items() if v}
        for name, parts in rows.items()
    }


def protocols(cats, queries, keyword_texts) -> dict[str, list[tuple[str, Profile]]]:
    """(a), (b) and (ab) as (category, profile) pairs."""
    liked = [(c, Profile(q, liked=tuple(map(str, ids)))) for q, (c, ids) in enumerate(queries)]
    typed = [(c, Profile(c, interests=text)) for c, text in keyword_texts.items()]
    both = [
        (c, Profile(q, interests=keyword_texts[c], liked=tuple(map(str, ids))))
        for q, (c, ids) in enumerate(queries)
        if c in keyword_texts
    ]
    return {"a": liked, "b": typed, "ab": both}


def calibrate(docs, cats, readers, model) -> tuple[float, dict[float, float]]:
    """The highest of FLOORS under which fewer than CUT_TARGET of every candidate (not only
    the top 10) is relevant, and that hit rate per floor. Scores come from the ranking itself,
    every paper ranked with no floor."""
    profiles = [prof for _, prof in readers]
    everything = RankParams(  # no boost: a pick's score is its cosine, what the floor cuts
        top_k=len(docs),
        trending_weight=0.0,
        floor=-1.0,
        relative_floor=0,
        liked_category_boost=0,
        feedback_depth=0,  # the floor cuts the typed words' cosine (feedback's carry: below)
    )
    ranked = rank(docs, profiles, everything, model=model)
    score = np.array([p.score for (_, prof) in readers for p in ranked[prof.id]])
    hit = np.array([c in cats[int(p.paper_id)] for (c, prof) in readers for p in ranked[prof.id]])
    rates = {float(t): float(hit[score < t].mean()) if (score < t).any() else 0.0 for t in FLOORS}
    return max(t for t, rate in rates.items() if rate < CUT_TARGET), rates


def pools(docs, shuffles: int = 1, halves: bool = False) -> list[list]:
    """The whole sample, then each edition (a fifth, as a day's new papers) of `shuffles`
    orders, and each half of them if `halves`."""
    out = [docs]
    for shuffle in range(shuffles):
        order = np.random.default_rng(100 + shuffle).permutation(len(docs))
        parts = [*np.array_split(order, EDITIONS), *(np.array_split(order, 2) if halves else ())]
        out += [[docs[i] for i in sorted(part)] for part in parts]
    return out


def calibrate_carry(docs, cats, readers, model) -> tuple[float, dict[int, tuple[int, float]]]:
    """The category-aware threshold of a typed-only reader's second ranking (`feedback`): per
    number n of their first FEEDBACK_DEPTH picks filed in one of a paper's categories, the
    papers under the floor that come within the first REACH of the ranking with no cut (those
    the cut decides about), over CARRY_POOLS, and the share of them relevant; the threshold
    is the lowest n / FEEDBACK_DEPTH from which every n up has at least CUT_TARGET."""
    shipped = RankParams(top_k=K, trending_weight=0.0)
    depth, profiles = shipped.feedback_depth, [prof for _, prof in readers]
    words = replace(shipped, feedback_depth=0, top_k=len(docs))  # what the typed words pass
    uncut = replace(shipped, floor=-1.0, top_k=REACH)
    seen: dict[int, list[bool]] = {n: [] for n in range(1, depth + 1)}
    for pool in pools(docs, CARRY_POOLS, halves=True):
        passing, reach = (rank(pool, profiles, p, model=model, corpus=docs) for p in (words, uncut))
        for c, prof in readers:
            fed = [int(p.paper_id) for p in passing[prof.id][:depth]]
            if len(fed) < depth:  # a narrow interest: its picks carry nothing (`feedback`)
                continue
            filed = Counter(code for i in fed for code in cats[i])
            over = {p.paper_id for p in passing[prof.id]}
            for i in (int(p.paper_id) for p in reach[prof.id] if p.paper_id not in over):
                n = max((filed[code] for code in cats[i]), default=0)
                if n:
                    seen[n].append(c in cats[i])
    rates = {n: (len(v), float(np.mean(v)) if v else 0.0) for n, v in seen.items()}
    low = depth + 1
    while low > 1 and rates[low - 1][0] and rates[low - 1][1] >= CUT_TARGET:
        low -= 1
    return low / depth, rates


def cut_report(docs, cats, readers, model, cut: RankParams) -> dict[str, float]:
    """Per digest of K over the whole sample and over each edition (a fifth), the same
    readers ranked with no cut and with `cut`, what each sends: relevant papers per digest in
    both (a paper the cut removes gives its slot to the next paper that passes), the papers
    of the uncut digest that are not sent and the share of them relevant, the papers sent,
    P@10 with empty slots as misses."""
    uncut = replace(cut, floor=-1.0, relative_floor=0.0)
    profiles = [prof for _, prof in readers]
    relevant = kept = lost = missed = n_sent = digests = 0
    for pool in pools(docs):
        full, sent = (rank(pool, profiles, p, model=model, corpus=docs) for p in (uncut, cut))
        for c, prof in readers:
            got = {p.paper_id for p in sent[prof.id]}
            dropped = [p.paper_id for p in full[prof.id] if p.paper_id not in got]
            relevant += sum(c in cats[int(p.paper_id)] for p in full[prof.id])
            kept += sum(c in cats[int(i)] for i in got)
            lost += sum(c in cats[int(i)] for i in dropped)
            missed += len(dropped)
            n_sent += len(got)
            digests += 1
    return {
        "relevant uncut": relevant / digests,
        "relevant cut": kept / digests,
        "cut": missed / digests,
        "hit rate": lost / missed if missed else 0.0,
        "sent": n_sent / digests,
        "P@10": kept / digests / K,
    }


def print_cut(docs, cats, readers_by_protocol, model) -> None:
    """(d): the calibrations and the cut's effect per protocol, the shipped cut beside the
    variants tried and the relative cut it replaced."""
    shipped = RankParams(top_k=K, trending_weight=0.0)
    print(
        f"(d) the cut: RELEVANCE_FLOOR {shipped.floor}, RELATIVE_FLOOR {shipped.relative_floor}, "
        f"FEEDBACK_CARRY_SHARE {shipped.feedback_carry_share}"
    )
    floors = []
    for part in ("a", "b"):
        floor, rates = calibrate(docs, cats, readers_by_protocol[part], model)
        floors.append(floor)
        shown = " ".join(f"<{t:g}: {rates[t]:.3f}" for t in FLOORS[1:7])
        print(f"  ({part}) relevant share of all candidates below a cosine of {shown}")
        print(f"  ({part}) highest floor with a hit rate below it < {CUT_TARGET:.0%}: {floor:g}")
    print(f"  calibrated floor (both protocols): {min(floors):g}; shipped: {shipped.floor:g}")
    share, rates = calibrate_carry(docs, cats, readers_by_protocol["b"], model)
    depth = shipped.feedback_depth
    shown = " ".join(f"{n}/{depth}: {rate:.3f} ({size})" for n, (size, rate) in rates.items())
    print(
        f"  (b) under the floor, in the uncut first {REACH}, relevant share (papers) by how many "
        f"of the {depth} fed-back picks are in its category: {shown}"
    )
    print(
        f"  (b) lowest share from which every share has >= {CUT_TARGET:.0%}: {share:g}; shipped "
        f"FEEDBACK_CARRY_SHARE: {shipped.feedback_carry_share:g}"
    )
    rows = (
        (f"shipped (carry {shipped.feedback_carry_share:g})", shipped),
        ("floor alone (before)", replace(shipped, feedback_carry_share=0.0)),
        *(
            (f"carry at {s:g}", replace(shipped, feedback_carry_share=s))
            for s in CARRY_SHARES
            if s != shipped.feedback_carry_share
        ),
        ("floor 0.05 (before)", replace(shipped, floor=0.05, feedback_carry_share=0.0)),
        (
            "relative 0.5 (before)",
            replace(shipped, floor=0.05, relative_floor=0.5, feedback_carry_share=0.0),
        ),
    )
    for part, readers in readers_by_protocol.items():
        for name, params in rows:
            r = cut_report(docs, cats, readers, model, params)
            print(
                f"  {f'({part})':4} {name:22} relevant/digest {r['relevant uncut']:.2f} uncut, "
                f"{r['relevant cut']:.2f} cut; cut {r['cut']:.2f}/digest, hit rate "
                f"{r['hit rate']:.0%}; sent {r['sent']:.2f}; P@10 (empty = miss) {r['P@10']:.3f}"
            )


READER_TEXTS = [
    *KEYWORDS.values(),
    "diffusion models for protein design",
    "quantum error correction",
    "message passing, node classification, graph neural networks",
    "speech recognition, adversarial examples, medical imaging",
]
GENERIC = 0.03  # a lone word in more than this share of the papers explains nothing


def flawed(reasons, model: Model) -> bool:
    """Two phrase reasons sharing a word, or a lone word in over GENERIC of the papers."""
    terms = [r.text.casefold().replace("-", " ") for r in reasons if r.kind is Kind.PHRASE]
    words = [set(t.split()) for t in terms]
    if any(a & b for i, a in enumerate(words) for b in words[i + 1 :]):
        return True
    vocabulary = model.vectorizer.vocabulary_
    common = model.generic(GENERIC)
    return any(len(t.split()) == 1 and common[vocabulary.get(t, -1)] for t in terms)


def print_why_lines(docs, model: Model, queries) -> None:
    """(e): flawed and unexplained picks, as sent, for the READER_TEXTS readers and for (a)'s
    liked-paper readers."""
    groups = {
        f"{len(READER_TEXTS)} typed interests": [
            Profile(i, interests=text) for i, text in enumerate(READER_TEXTS)
        ],
        f"{len(queries)} liked-paper readers of (a)": [
            Profile(q, liked=tuple(map(str, ids))) for q, (_, ids) in enumerate(queries)
        ],
    }
    for name, readers in groups.items():
        ranked = rank(docs, readers, RankParams(top_k=K, trending_weight=0.0), model=model)
        picks = [p for prof in readers for p in ranked[prof.id]]
        bad = sum(flawed(p.reasons, model) for p in picks)
        bare = sum(not p.reasons for p in picks)
        print(
            f"(e) why-lines, {name}, {len(picks)} picks as sent: "
            f"{bad / len(picks):.1%} flawed, {bare / len(picks):.1%} with no reason"
        )


def click_curves(docs, cats, *, keyword_texts, fitted, shuffles: int = 3) -> dict[str, list[float]]:
    """(c): mean P@10 per edition over the keyword readers and `shuffles` orders of the
    papers, for Paperboy and the SVM. Each edition is a fifth of the papers, new that day
    (as a real edition is): the clicks, not a shrinking pool, make the difference."""
    (vectorizer, svm_scores), model = fitted
    params = RankParams(top_k=K, trending_weight=0.0, relative_floor=0.0)
    curves: dict[str, list[list[float]]] = {SANITY: [], "Paperboy": []}
    for shuffle in range(shuffles):
        order = np.random.default_rng(100 + shuffle).permutation(len(docs))
        editions = [sorted(e.tolist()) for e in np.array_split(order, EDITIONS)]
        for (cat, text), name in product(keyword_texts.items(), curves):
            liked: list[int] = []
            disliked: list[int] = []
            curve = []
            for edition in editions:
                if name == "Paperboy":
                    prof = Profile(cat, text, tuple(map(str, liked)), tuple(map(str, disliked)))
                    today = [docs[i] for i in edition]
                    ranked = rank(today, [prof], params, model=model, corpus=docs)[cat]
                    picks = [int(p.paper_id) for p in ranked]
                else:
                    others = np.setdiff1d(np.arange(len(docs)), edition).tolist()
                    picks = top_k(svm_scores(liked, vectorizer.transform([text])), others)
                hits = [cat in cats[i] for i in picks]
                curve.append(sum(hits) / K)
                liked += [i for i, hit in zip(picks, hits, strict=True) if hit]
                disliked += [i for i, hit in zip(picks, hits, strict=True) if not hit]
            curves[name].append(curve)
    return {name: np.mean(c, axis=0).tolist() for name, c in curves.items()}


SANITY = "arxiv-sanity-lite (TF-IDF + SVM)"
NAMES = ("random", SANITY, "Paperboy")
AS_SENT = "Paperboy as sent (P@k, mean k)"
PARTS = ("a", "b", "ab")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=9, help="extra seeds of (a) to report")
    parser.add_argument(
        "--sections", default="cdefg", help="which of (c)-(g) to run, e.g. 'fg' (default all)"
    )
    args = parser.parse_args()
    docs, cats = load()
    queries = liked_queries(cats, seed=0)
    fitted = fit(docs)
    result = evaluate(docs, cats, queries=queries, keyword_texts=KEYWORDS, fitted=fitted)
    n_ab = sum(cat in KEYWORDS for cat, _ in queries)
    print(
        f"{len(docs)} papers; (a) {len(queries)} liked-paper profiles; (b) {len(KEYWORDS)}; "
        f"(ab) {n_ab}, the (a) readers of (b)'s categories with its text"
    )
    head = "".join(f"{f'({p}) P@10':>10} {'nDCG@10':>8}" for p in PARTS)
    print(f"{'':34}{head}")
    for name in NAMES:
        cells = "".join(f"{result[name][p][0]:10.3f} {result[name][p][1]:8.3f}" for p in PARTS)
        print(f"{name:34}{cells}")
    cells = "".join(
        f"{result[AS_SENT][p][0]:10.3f} {f'k={result[AS_SENT][p][1]:.1f}':>8}" for p in PARTS
    )
    print(f"{AS_SENT:34}{cells}")
    base, ours = result[SANITY], result["Paperboy"]
    ratios = ", ".join(f"({p}) {ours[p][0] / max(base[p][0], 1e-9):.2f}x" for p in PARTS)
    print(f"Paperboy / arxiv-sanity-lite P@10: {ratios}")
    if "c" in args.sections:
        curves = click_curves(docs, cats, keyword_texts=KEYWORDS, fitted=fitted)
        print(f"(c) P@10 per edition, {len(KEYWORDS)} readers voting more/less like this:")
        for name, curve in curves.items():
            rise = curve[-1] - curve[0]
            line = " ".join(f"{p:.3f}" for p in curve)
            print(f"  {name:32} {line}  ({rise:+.3f} from edition 1 to {EDITIONS})")
    if "d" in args.sections:
        print_cut(docs, cats, protocols(cats, queries, KEYWORDS), fitted[1])
    if "e" in args.sections:
        print_why_lines(docs, fitted[1], queries)
    if "f" in args.sections:
        print_variants(docs, cats, fitted, range(args.seeds + 1))
    if "g" in args.sections:
        print_click_curves(docs, cats, fitted[1])
    pairs = [[(base[p][0], ours[p][0]) for p in ("a", "ab")]]
    for seed in range(1, args.seeds + 1):
        r = evaluate(
            docs, cats, queries=liked_queries(cats, seed), keyword_texts=KEYWORDS, fitted=fitted
        )
        pairs.append([(r[SANITY][p][0], r["Paperboy"][p][0]) for p in ("a", "ab")])
        (sa, pa), (sab, pab) = pairs[-1]
        print(
            f"seed {seed}: P@10 (a) sanity {sa:.3f}, Paperboy {pa:.3f}; "
            f"(ab) sanity {sab:.3f}, Paperboy {pab:.3f}"
        )
    if args.seeds:
        for part, (sanity, paperboy) in zip(("a", "ab"), np.mean(pairs, axis=0), strict=True):
            print(
                f"({part}) over seeds 0-{args.seeds}: sanity {sanity:.3f}, Paperboy "
                f"{paperboy:.3f}, {paperboy / sanity:.2f}x"
            )


if __name__ == "__main__":
    main()

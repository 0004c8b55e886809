"""Ranking speed: 100k subscribers x 1,000 candidate papers, top-10 with reasons.

Compares `worker.ranking.rank_batches` (chunks of profiles prepared as flat arrays, one
compiled loop scoring, top-k and reasons, on two threads; the result is columnar, with every
pick's id, score and reason strings) with the naive per-subscriber loop (one
cosine_similarity and argsort per subscriber, given the same profile vectors, no reasons),
measured in the same run. A second line adds building every subscriber's list of Pick
objects, which the planner does as it writes the digests. The naive
loop is timed on a sample of subscribers and its per-subscriber time scaled up (stated in the
table). Peak memory is the peak RSS of a fresh process doing one measurement, inputs included.
Then 1M subscribers, generated and ranked 100k at a time (as the planner pages through them).

    python -m bench.bench_rank            # the full run reported in the issue
    python -m bench.bench_rank --quick    # 10k subscribers, 100k instead of 1M
    python -m bench.bench_rank --baseline main        # this checkout against a git ref (or
                                                      # a checkout's directory), interleaved

With --baseline, each measurement runs the baseline's code and this checkout's in turn, in
fresh processes on the same Python and packages, repeated, so both see the same machine
(another job on a shared machine slows both alike); the 1-minute load average is printed with
each pair.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import median

import numpy as np
from sklearn.metrics.pairwise import cosine_similarity

from bench.quality_data import load
from worker.ranking import Model, PaperDoc, Profile, RankParams
from worker.ranking.scoring import rank_batches

ROOT = Path(__file__).resolve().parents[1]
BATCH = 100_000
NAIVE_SAMPLE = 2_000
MUTED = ["survey", "quantum", "medical", "adversarial", "benchmark", "theory"]


def papers_with_signals(seed: int = 0) -> list[PaperDoc]:
    """The 1,000 sample papers with made-up authors and upvotes (the sample has neither)."""
    rng = np.random.default_rng(seed)
    docs, cats = load()
    return [
        PaperDoc(
            d.id,
            d.title,
            d.abstract,
            authors=tuple(f"Author {a}" for a in rng.integers(0, 3000, rng.integers(1, 6))),
            categories=tuple(sorted(c)),
            upvotes=int(rng.poisson(2) if rng.random() < 0.2 else 0),
            age_days=float(rng.uniform(0, 7)),
        )
        for d, c in zip(docs, cats, strict=True)
    ]


def profiles(papers: list[PaperDoc], n: int, seed: int) -> list[Profile]:
    """Interests: 3-8 consecutive words of a random title; 0-5 liked, 0-1 disliked papers;
    some follow authors, pick categories, mute a word; 10 papers already sent to each."""
    rng = np.random.default_rng(seed)
    words = [p.title.split() for p in papers]
    ids = [p.id for p in papers]
    n_papers = len(papers)
    out = []
    for i in range(n):
        title = words[rng.integers(n_papers)]
        start = int(rng.integers(max(1, len(title) - 3)))
        picks = rng.integers(0, n_papers, 16)
        out.append(
            Profile(
                id=i,
                interests=" ".join(title[start : start + int(rng.integers(3, 9))]),
                liked=tuple(ids[j] for j in picks[: rng.integers(0, 6)]),
                disliked=tuple(ids[j] for j in picks[5 : 5 + rng.integers(0, 2)]),
                authors=tuple(papers[picks[6]].authors[:1]) if rng.random() < 0.3 else (),
                categories=("cs.CV",) if rng.random() < 0.2 else (),
                muted=(MUTED[i % len(MUTED)],) if rng.random() < 0.1 else (),
                exclude=frozenset(ids[j] for j in rng.integers(0, n_papers, 10)),
            )
        )
    return out


def fast(n: int, build_picks: bool = False) -> dict:
    """`rank_batches` as the planner calls it; `build_picks` also builds every subscriber's
    list of Pick objects (what the planner does next, writing them out)."""
    papers = papers_with_signals()
    model = Model.fit(papers)
    generated, ranked, picks, reasons, started = 0, 0, 0, 0, time.perf_counter()
    spent_generating = 0.0

    def batches() -> Iterator[list[Profile]]:
        nonlocal generated, spent_generating
        while generated < n:
            t = time.perf_counter()
            batch = profiles(papers, min(BATCH, n - generated), seed=generated)
            generated += len(batch)
            spent_generating += time.perf_counter() - t
            yield batch

    for result in rank_batches(papers, batches(), RankParams(top_k=10), model=model):
        ranked += len(result)
        picks += result.n_picks
        reasons += result.n_with_reasons
        if build_picks:  # every Pick list, checked against the columnar count
            assert sum(len(v) for v in result.values()) == result.n_picks
    seconds = time.perf_counter() - started - spent_generating
    return {"seconds": seconds, "ranked": ranked, "picks": picks, "with_reasons": reasons}


def naive(n: int) -> dict:
    """The per-subscriber loop, on the same profile vectors as the fast path."""
    papers = papers_with_signals()
    model = Model.fit(papers)
    subs = profiles(papers, n, seed=0)
    index = {p.id: i for i, p in enumerate(papers)}
    matrix = model.embed_papers(papers)
    started = time.perf_counter()
    for prof in subs:
        query = model.embed_texts([prof.interests]).toarray()
        if prof.liked:
            query += np.asarray(matrix[[index[i] for i in prof.liked]].mean(axis=0))
        if prof.disliked:
            query -= 0.5 * np.asarray(matrix[[index[i] for i in prof.disliked]].mean(axis=0))
        sims = cosine_similarity(query, matrix).ravel()
        seen = [index[i] for i in prof.exclude | set(prof.liked)]
        sims[seen] = -np.inf
        np.argsort(-sims)[:10]
    return {"seconds": time.perf_counter() - started, "ranked": n}


def measure(kind: str, n: int, root: Path = ROOT) -> dict:
    """One measurement in a fresh process, so its peak RSS is its own; `root` is the checkout
    whose code runs."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_rank", "--child", kind, str(n)],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextmanager
def checkout(baseline: str) -> Iterator[Path]:
    """A directory as it is, or a git ref exported to a temporary directory beside this
    checkout (where its bench finds the shared sample, as this one does)."""
    if Path(baseline).is_dir():
        yield Path(baseline).resolve()
        return
    with tempfile.TemporaryDirectory(prefix=".bench-baseline-", dir=ROOT.parent) as tmp:
        archive = subprocess.run(
            ["git", "archive", baseline], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Path(tmp)


def compare(baseline: str, sizes: tuple[int, ...], repeat: int) -> None:
    """The baseline and this checkout, in turn, `repeat` times per size: medians, the ratio,
    and the load average seen before each run."""
    with checkout(baseline) as root:
        for code in (root, ROOT):  # numba compiles (and caches) each kernel once, untimed
            measure("fast", 1_000, code)
        print(f"baseline {baseline} ({root}) vs this checkout, in turn, {repeat} runs each")
        print(f"{'subscribers x 1,000 papers':28} {'baseline s':>11} {'this s':>8} {'ratio':>6}")
        for n in sizes:
            runs: dict[str, list[float]] = {"baseline": [], "this": []}
            loads = []
            for _ in range(repeat):
                for name, code in (("baseline", root), ("this", ROOT)):
                    loads.append(os.getloadavg()[0])
                    runs[name].append(measure("fast", n, code)["seconds"])
            base, this = median(runs["baseline"]), median(runs["this"])
            spread = " ".join(f"{b:.2f}/{t:.2f}" for b, t in zip(*runs.values(), strict=True))
            print(
                f"{n:<28,} {base:11.2f} {this:8.2f} {this / base:6.2f}  runs {spread}; "
                f"load {min(loads):.2f}-{max(loads):.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k subscribers")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--baseline", metavar="REF_OR_DIR", help="time a git ref or checkout against this one"
    )
    args = parser.parse_args()
    if args.child:
        kind, n = args.child[0], int(args.child[1])
        result = naive(n) if kind == "naive" else fast(n, build_picks=kind == "picks")
        result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    small, big = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    if args.baseline:
        compare(args.baseline, (small, big), args.repeat)
        return
    runs = [measure("fast", small) for _ in range(args.repeat)]
    picks_runs = [measure("picks", small) for _ in range(args.repeat)]
    naive_runs = [measure("naive", NAIVE_SAMPLE) for _ in range(args.repeat)]
    big_run = measure("fast", big)
    t_fast = median(r["seconds"] for r in runs)
    t_naive = median(r["seconds"] for r in naive_runs) * small / NAIVE_SAMPLE
    print(f"{small:,} subscribers x 1,000 papers, top-10 with reasons (median of {args.repeat})")
    print(f"{'method':44} {'seconds':>9} {'peak MB':>8} {'vs naive':>9}")
    print(
        f"{'Paperboy rank (compiled loop over chunks)':44} {t_fast:9.2f} "
        f"{max(r['peak_mb'] for r in runs):8.0f} {t_naive / t_fast:8.0f}x"
    )
    t_picks = median(r["seconds"] for r in picks_runs)
    print(
        f"{'  ... and every Pick object built':44} {t_picks:9.2f} "
        f"{max(r['peak_mb'] for r in picks_runs):8.0f} {t_naive / t_picks:8.0f}x"
    )
    print(
        f"{f'naive loop (timed on {NAIVE_SAMPLE:,}, scaled)':44} {t_naive:9.2f} "
        f"{max(r['peak_mb'] for r in naive_runs):8.0f} {1:8.0f}x"
    )
    print(
        f"{f'Paperboy rank, {big:,} subscribers':44} {big_run['seconds']:9.2f} "
        f"{big_run['peak_mb']:8.0f}"
    )
    r = runs[0]
    print(
        f"picks: {r['picks']:,} for {r['ranked']:,} subscribers, {r['with_reasons']:,} with reasons"
    )


if __name__ == "__main__":
    main()

"""`bench quality` (g): learning from what readers open, over five editions.

Each reader starts from a (b) interests text; each edition is a new fifth of the papers (as a
day's new papers are), over SHUFFLES orders of them. Every digest goes to an inbox whose link
scanner opens every link 1-3 s after delivery; the reader opens the relevant picks, minutes
apart, half an hour later. The clicks go through the real filter (`models.clicks.scanned`,
each judged against the digest's other clicks, as `record` judges them) into
`Profile.clicked`, which the ranking weighs at `click_weight` (Rocchio, a soft like). Rows:
- no feedback: the interests text alone, every edition;
- explicit votes only: one "more like this" per edition, on the first relevant pick (most
  readers vote seldom; a reader who votes on every pick is (c));
- filtered clicks: the reader's clicks, no votes;
- scanner counted: every click counted, the scanner's too (no filter);
- clicks + votes: the one vote and the filtered clicks;
then the same click rows with other click weights, to find what makes clicks teach faster.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from bench.quality_data import EDITIONS, KEYWORDS, K
from config.settings import Settings
from models.clicks import scanned
from worker.ranking import Model, PaperDoc, Profile, RankParams, rank

SHUFFLES = 10
SENT = datetime(2026, 1, 1, tzinfo=UTC)


def opened_by_people(picks: list[int], hits: list[bool], settings: Settings) -> list[int]:
    """One edition's clicks as the web sees them: the scanner's on every link, the reader's on
    the relevant ones; those `scanned` keeps (each judged against all the digest's others)."""
    clicks = [(SENT + timedelta(seconds=1 + i / 4), i) for i in range(len(picks))]
    clicks += [
        (SENT + timedelta(minutes=30 + 2 * n), i)
        for n, i in enumerate(i for i, hit in enumerate(hits) if hit)
    ]
    kept = {
        i for at, i in clicks if not scanned(at, SENT, [t for t, _ in clicks if t != at], settings)
    }
    return [picks[i] for i in sorted(kept)]


def curve(
    docs: list[PaperDoc],
    cats: list[set[str]],
    model: Model,
    params: RankParams,
    *,
    votes: bool,
    clicks: str,  # "none", "filtered" or "all"
) -> list[float]:
    """Mean P@10 per edition over the KEYWORDS readers and SHUFFLES orders."""
    settings = Settings()
    per_shuffle = []
    for shuffle in range(SHUFFLES):
        order = np.random.default_rng(100 + shuffle).permutation(len(docs))
        editions = [sorted(e.tolist()) for e in np.array_split(order, EDITIONS)]
        readers = {cat: Profile(cat, text) for cat, text in KEYWORDS.items()}
        points = []
        for edition in editions:
            today = [docs[i] for i in edition]
            ranked = rank(today, list(readers.values()), params, model=model, corpus=docs)
            hits_today = 0
            for cat, prof in list(readers.items()):
                picks = [int(p.paper_id) for p in ranked[cat]]
                hits = [cat in cats[i] for i in picks]
                hits_today += sum(hits)
                liked = [picks[i] for i, hit in enumerate(hits) if hit][:1] if votes else []
                opened = {
                    "none": [],
                    "filtered": opened_by_people(picks, hits, settings),
                    "all": picks,
                }[clicks]
                readers[cat] = replace(
                    prof,
                    liked=prof.liked + tuple(map(str, liked)),
                    clicked=prof.clicked + tuple(str(i) for i in opened if i not in liked),
                )
            points.append(hits_today / (K * len(readers)))
        per_shuffle.append(points)
    return np.mean(per_shuffle, axis=0).tolist()


ROWS = (
    ("no feedback", False, "none"),
    ("explicit votes only (one per edition)", True, "none"),
    ("filtered clicks", False, "filtered"),
    ("scanner counted (no filter)", False, "all"),
    ("clicks + votes", True, "filtered"),
)
CLICK_WEIGHTS = (1.0, 2.0)  # tried beside the shipped CLICK_WEIGHT


def print_click_curves(docs: list[PaperDoc], cats: list[set[str]], model: Model) -> None:
    settings = Settings()
    params = RankParams(top_k=K, trending_weight=0.0, click_weight=settings.click_weight)
    print(
        f"(g) P@10 per edition, {len(KEYWORDS)} readers x {SHUFFLES} orders, each inbox's "
        f"scanner opening every link; CLICK_WEIGHT {settings.click_weight:g}:"
    )
    rows = [(name, params, votes, clicks) for name, votes, clicks in ROWS]
    rows += [
        (f"{name}, click weight {w:g}", replace(params, click_weight=w), votes, clicks)
        for w in CLICK_WEIGHTS
        for name, votes, clicks in ROWS
        if clicks != "none"
    ]
    for name, p, votes, clicks in rows:
        points = curve(docs, cats, model, p, votes=votes, clicks=clicks)
        line = " ".join(f"{x:.3f}" for x in points)
        rise = points[-1] - points[0]
        print(f"  {name:44} {line}  ({rise:+.3f} from edition 1 to {EDITIONS})", flush=True)

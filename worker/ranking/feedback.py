"""Pseudo-relevance feedback for a reader who has only typed interests: the categories of
their first picks. A few typed words say little about where the reader reads; the papers they
match best do. The first `feedback_depth` picks are fed back as papers the reader opened
(`Profile.clicked`: never named as a like), which gives the liked-category prior their
categories, here at `feedback_category_boost`. Their words are fed back at `feedback_weight`,
under the floor, only because the prior's shares are those of weighted votes: so the words of
the picks never carry a paper past the floor.

Their categories may: a paper filed where `feedback_carry_share` (0.8, four of five) of the
picks are passes the floor, and says so (`Reason.picks_category`: "in Robotics, like your other
picks"), when the first ranking found all `feedback_depth` picks; fewer say too little, and a
narrow interest still gets fewer papers, not its category's filler. The floor alone cut such
papers once the prior lifted them into the top 10, and they were relevant: on `bench quality`
(b) it cut 0.10 papers per digest, 80% of them relevant (4.96 relevant per digest uncut, 4.88
cut). Section (d) calibrates the share on the papers under the floor within reach of a digest
(the uncut ranking's first 30): relevant at 9% where 3 of the 5 picks are in their category,
24% at 4 and 37% at 5, against the floor's 15%; the carry cuts nothing on (b) then.

`bench quality` (b), 8 typed interests: P@10 0.600 -> 0.650 (arxiv-sanity-lite 0.562, 1.07x
-> 1.16x). Relevance there is the category, so the gain is partly by construction, as for the
liked papers' prior. Fed back to readers with liked papers too it lowered (a) 0.484 -> 0.462,
so a reader with any vote of their own (liked, disliked or opened) ranks on that alone. The
picks' words at the clicks' weight (0.5) reached 0.662 but, to keep them from carrying papers
past the floor, had to be limited to reordering the papers the typed words pass, ranked 30
deep twice (+25-50% `bench rank` time); section (f) has every depth, boost and weight tried.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache

import numpy as np

from models.reasons import POPULAR, Reason
from worker.ranking.types import PaperDoc, Profile, Ranking, RankParams

_picks_category_reason = lru_cache(maxsize=4096)(Reason.picks_category)


def typed_only(prof: Profile) -> bool:
    return bool(prof.interests) and not (prof.liked or prof.disliked or prof.clicked)


def with_feedback(
    rank_batch: Callable[[Sequence[Profile], RankParams], Ranking], params: RankParams
) -> Callable[[Sequence[Profile]], Ranking]:
    """`rank_batch` over a batch, then again for its typed-only readers whose picks the words
    made (not the trending fallback of a text with no known word), with their first
    `feedback_depth` picks fed back; those rows of the first ranking are replaced."""
    again = replace(
        params,
        click_weight=params.feedback_weight,
        liked_category_boost=params.feedback_category_boost,
        carry_share=params.feedback_carry_share,
        carry_votes=params.feedback_depth,
    )

    def rank_one(profiles: Sequence[Profile]) -> Ranking:
        first = rank_batch(profiles, params)
        if not params.feedback_depth:
            return first
        counts = first.counts.tolist()
        rows = [
            r
            for r, p in enumerate(profiles)
            if typed_only(p)
            and counts[r]
            and all(x is not POPULAR for x in first.reasons[r, : counts[r], 0].tolist())
        ]
        if not rows:
            return first
        depth = np.minimum(first.counts[rows], params.feedback_depth)
        fed = [
            replace(profiles[r], clicked=tuple(first.paper_ids[r, :d].tolist()))
            for r, d in zip(rows, depth.tolist(), strict=True)
        ]
        second = rank_batch(fed, again)
        first.paper_ids[rows], first.scores[rows] = second.paper_ids, second.scores
        first.reasons[rows], first.counts[rows] = second.reasons, second.counts
        return first

    return rank_one


def picks_category(prof: Profile, paper: PaperDoc, known: Mapping[str, PaperDoc]) -> Reason:
    """The pick's category that carried it past the floor: the one of its categories the
    reader's fed-back picks (`prof.clicked`) are most filed in, by name."""
    counts = Counter(c for i in prof.clicked if i in known for c in set(known[i].categories))
    return _picks_category_reason(max(paper.categories, key=lambda c: counts[c]))

"""The plain data the ranking takes and returns, and the `paperboy rank` JSONL contract."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from models.reasons import Reason


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
    clicked: tuple[str, ...] = ()  # opened from a digest: a soft like, never named as one
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    muted: tuple[str, ...] = ()
    exclude: frozenset[str] = field(default_factory=frozenset)  # already sent


class Pick(NamedTuple):
    """A NamedTuple, not a dataclass: a million of them are built per 100k subscribers."""

    paper_id: str
    score: float
    reasons: tuple[Reason, ...]


class Ranking(Mapping):
    """A batch's picks, columnar: row r holds profile r's `counts[r]` picks, best first.

    A mapping of profile id -> list[Pick]; each list is built when asked for, so ranking
    100k subscribers does not build a million Python objects that a consumer may only count
    or write out row by row."""

    def __init__(
        self,
        profile_ids: Sequence[str | int],
        paper_ids: np.ndarray,  # B x k object
        scores: np.ndarray,  # B x k
        reasons: np.ndarray,  # B x k x R object, None = no reason in that column
        counts: np.ndarray,  # B
    ):
        self.profile_ids = list(profile_ids)
        self.paper_ids, self.scores, self.reasons, self.counts = paper_ids, scores, reasons, counts
        self._row = {pid: r for r, pid in enumerate(self.profile_ids)}

    @classmethod
    def allocate(cls, profile_ids: Sequence[str | int], k: int, n_reasons: int) -> Ranking:
        """Room for k picks per profile, none yet; the ranking fills it chunk by chunk."""
        b = len(profile_ids)
        return cls(  # an empty object array holds None already (np.full would write it again)
            profile_ids,
            np.empty((b, k), object),
            np.zeros((b, k)),
            np.empty((b, k, n_reasons), object),
            np.zeros(b, np.int64),
        )

    def __getitem__(self, profile_id: str | int) -> list[Pick]:
        r = self._row[profile_id]
        n = int(self.counts[r])
        casing: dict[str, str] = {}
        return list(
            map(
                Pick,
                self.paper_ids[r, :n].tolist(),
                self.scores[r, :n].tolist(),
                [why(row, casing) for row in self.reasons[r, :n].tolist()],
            )
        )

    def __iter__(self) -> Iterator[str | int]:
        return iter(self.profile_ids)

    def __len__(self) -> int:
        return len(self.profile_ids)

    @property
    def n_picks(self) -> int:
        return int(self.counts.sum())

    @property
    def n_with_reasons(self) -> int:
        """Picks with at least one reason. Phrase reasons fill from the first column and the
        last three hold the liked paper, the followed author and the trending signal, so those
        four columns tell."""
        if not self.reasons.size:
            return 0
        valid = np.arange(self.reasons.shape[1])[None, :] < self.counts[:, None]
        has = self.reasons[:, :, [0, -4, -3, -2, -1]].astype(bool).any(axis=2)  # None is false
        return int(has[valid].sum())


def why(row: list, casing: dict[str, str]) -> tuple[Reason, ...]:
    """One pick's reasons as shown, at most MAX_REASONS, best first: a followed author, the
    phrases (fewer when other signals are there, one at least), the liked paper, the
    category, trending. `row` is the Ranking's columns (phrases, category, liked, author,
    trending); `casing` holds the first casing of each phrase (or typed interest) in this
    reader's picks, so one email writes "node classification" one way."""
    *phrases, category, liked, author, trending = row
    others = [x for x in (liked, category, trending) if x is not None]
    room = max(1, MAX_REASONS - len(others) - (author is not None))
    shown = []
    for reason in filter(None, phrases[:room]):
        text = casing.setdefault(reason.text.casefold(), reason.text)
        shown.append(reason if text == reason.text else _recased(reason, text))
    return tuple(filter(None, [author, *shown, *others]))[:MAX_REASONS]


@lru_cache(maxsize=65536)
def _recased(reason: Reason, text: str) -> Reason:
    """`reason` written as `text`: the same few phrases are recased for reader after reader."""
    return replace(reason, text=text)


MAX_REASONS = 3


@dataclass(frozen=True)
class RankParams:
    """Ranking knobs; the planner fills them from Settings, tests and benches set them directly.

    Profile = interests_weight * interests + liked_weight * mean(liked) - disliked_weight *
    mean(disliked) (Rocchio), L2-normalized. Score = cosine + trending_weight * trending +
    boosts (followed author, chosen category, a liked paper's category); only papers with
    cosine >= floor (and >= relative_floor * the profile's best cosine, 0 = off), by a
    followed author, or filed where `carry_share` of a reader's `carry_votes` or more votes
    are (set for a typed-only reader's fed-back picks, `feedback`) are eligible. The floor is
    calibrated by `bench quality` (d): fewer than 15% of the papers under it are relevant, so
    it cuts filler only, and so is the carry: under the floor, papers filed where 4 or 5 of
    the 5 fed-back picks are were relevant at 24% and 37%. The relative cut, tried first,
    dropped relevant papers at the rate of an average pick.
    """

    top_k: int = 10
    floor: float = 0.01
    relative_floor: float = 0.0
    trending_weight: float = 0.1
    author_boost: float = 0.15
    category_boost: float = 0.03
    liked_category_boost: float = 0.05  # in a category of a liked paper (`prior`)
    interests_weight: float = 1.0
    liked_weight: float = 1.0
    disliked_weight: float = 0.5
    click_weight: float = 0.5
    feedback_depth: int = 5  # a typed-only reader's first picks fed back as opened (`feedback`)
    feedback_category_boost: float = 0.2  # ...and their categories' prior, for those readers
    feedback_weight: float = 0.005  # ...their words' weight: under `floor`, they carry none
    feedback_carry_share: float = 0.8  # ...a paper filed where this share of them are passes
    # the floor, when the first ranking filled the depth (`bench quality` (d) calibrates it)
    carry_share: float = 0.0  # the kernel's: a paper filed where this share of the votes are
    carry_votes: int = 0  # ...of a reader with this many votes or more passes the floor
    chunk_size: int = 1000
    threads: int = 2  # chunks in flight: the compiled loop runs without the GIL
    n_reasons: int = 3
    min_profile_weight: float = 0.1  # a lone word is a reason only with this weight in |q|
    generic_share: float = 0.03  # ...and if in at most this share of the corpus papers
    lone_word_weight: float = 0.3  # a typed phrase's word alone, where the phrase is not
    like_share: float = 0.4  # a liked-paper reason when that paper gives this share of it
    trending_reason_at: float = 0.3  # trending_score from which a trending reason is given


def trending_score(upvotes: int, age_days: float) -> float:
    """Upvotes decayed by age, squashed to [0, 1): the one definition of 'trending'."""
    raw = math.log1p(max(upvotes, 0)) / (1.0 + max(age_days, 0.0) / 3.0)
    return raw / (1.0 + raw)


def doc_from_json(d: dict, now_ts: float | None = None) -> PaperDoc:
    """A paper in the `rank` JSONL contract: only id, title and abstract are required."""
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
        clicked=tuple(map(str, d.get("clicked") or ())),
        authors=tuple(d.get("authors") or ()),
        categories=tuple(d.get("categories") or ()),
        muted=tuple(d.get("muted") or ()),
    )

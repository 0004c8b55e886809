"""Why a paper was picked, as typed values: the ranking makes them, a digest item stores them
(as small JSON dicts) and the emails word them by kind, so nothing parses a string back."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.arxiv import NAMES


class Kind(StrEnum):
    PHRASE = "phrase"  # a term of both the profile and the paper, as the paper writes it
    CLOSE = "close"  # a typed interest the paper shares words with, not one whole phrase
    AUTHOR = "author"  # by a followed author
    LIKED = "liked"  # like a paper the reader liked
    CATEGORY = "category"  # in a category the reader follows, by its taxonomy name
    LIKED_CATEGORY = "liked_category"  # in a category of papers the reader liked
    PICKS_CATEGORY = "picks_category"  # in the category of most of the reader's other picks
    TRENDING = "trending"  # upvoted on Hugging Face today
    POPULAR = "popular"  # the whole pick is a no-profile fallback: popular, not matched


@dataclass(frozen=True, slots=True)
class Reason:
    """`text` is what the reason names: the phrase, the author, the liked paper's title, or
    "N upvotes"; `upvotes` and `paper_id` keep the numbers and ids behind it."""

    kind: Kind
    text: str
    upvotes: int | None = None
    paper_id: str | None = None

    @classmethod
    def phrase(cls, text: str) -> Reason:
        return cls(Kind.PHRASE, text)

    @classmethod
    def close(cls, typed: str) -> Reason:
        """`typed` as the reader wrote it: the interest the paper's words are nearest to."""
        return cls(Kind.CLOSE, typed)

    @classmethod
    def author(cls, name: str) -> Reason:
        return cls(Kind.AUTHOR, name)

    @classmethod
    def liked(cls, title: str, paper_id: str | None = None) -> Reason:
        return cls(Kind.LIKED, title, paper_id=paper_id)

    @classmethod
    def category(cls, code: str) -> Reason:
        """The reader sees the taxonomy's name ("Computer Vision and Pattern Recognition"),
        the code where the taxonomy has none."""
        return cls(Kind.CATEGORY, NAMES.get(code, code))

    @classmethod
    def liked_category(cls, code: str) -> Reason:
        """The liked-category prior carried the pick; named as `category` names it."""
        return cls(Kind.LIKED_CATEGORY, NAMES.get(code, code))

    @classmethod
    def picks_category(cls, code: str) -> Reason:
        """A typed-only reader's other picks (fed back, `worker/ranking/feedback.py`) are
        mostly filed there, and that carried the pick; named as `category` names it."""
        return cls(Kind.PICKS_CATEGORY, NAMES.get(code, code))

    @classmethod
    def trending(cls, upvotes: int) -> Reason:
        return cls(Kind.TRENDING, f"{upvotes} upvotes", upvotes=upvotes)

    def to_json(self) -> dict:
        """The stored form, {"kind", "text", and any of "upvotes", "paper_id"}."""
        d: dict = {"kind": self.kind.value, "text": self.text}
        if self.upvotes is not None:
            d["upvotes"] = self.upvotes
        if self.paper_id is not None:
            d["paper_id"] = self.paper_id
        return d

    @classmethod
    def from_json(cls, d: dict) -> Reason:
        return cls(Kind(d["kind"]), d["text"], d.get("upvotes"), d.get("paper_id"))


POPULAR = Reason(Kind.POPULAR, "popular today")

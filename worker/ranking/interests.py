"""Interests texts embedded once per ranker, not once per batch.

A ranker (one edition's candidates, model and params) ranks every page of subscribers, and
readers who typed the same interests text (the same topic, or an unchanged profile seen on
an earlier page) get the same row: `Model.embed_interests` analyzes each distinct text once
and its rows are kept, with their typed-phrase tags, for the pages that follow. A text's row
depends on its text and the model alone, so a kept row is the row it would be rebuilt as.
The kept texts are bounded (`limit`): past it the cache starts over with the page at hand.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from worker.ranking.model import Model

KEPT_TEXTS = 200_000  # distinct texts kept per ranker (a few hundred bytes each)


class InterestsCache:
    """Distinct texts' interests rows in one growing CSR, entry-aligned with their tags."""

    def __init__(self, model: Model, generic_share: float, limit: int = KEPT_TEXTS):
        self.model, self.generic_share, self.limit = model, generic_share, limit
        self.lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self.row: dict[str, int] = {}
        self.indptr = np.zeros(1, np.int64)
        self.indices = np.empty(0, np.int32)
        self.data = np.empty(0, np.float32)
        self.phrase = np.empty(0, np.int64)
        self.distinctive = np.empty(0, np.bool_)

    def embed(self, texts: Sequence[str]) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
        """`Model.embed_interests(texts, generic_share)`, entry for entry."""
        with self.lock:
            new = [t for t in dict.fromkeys(texts) if t not in self.row]
            if len(self.row) + len(new) > self.limit:
                self._clear()
                new = list(dict.fromkeys(texts))
            if new:
                self._add(new)
            doc = np.fromiter(map(self.row.__getitem__, texts), np.int64, len(texts))
            starts, lengths = self.indptr[doc], np.diff(self.indptr)[doc]
            indptr = np.r_[0, np.cumsum(lengths)]
            at = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
            rows = sparse.csr_matrix(
                (self.data[at], self.indices[at], indptr), shape=(len(texts), self.model.n_terms)
            )
            return rows, self.phrase[at], self.distinctive[at]

    def _add(self, texts: list[str]) -> None:
        rows, phrase, distinctive = self.model.embed_interests(texts, self.generic_share)
        self.row.update(zip(texts, range(len(self.row), len(self.row) + len(texts)), strict=True))
        self.indptr = np.r_[self.indptr, self.indptr[-1] + rows.indptr[1:]]
        self.indices = np.r_[self.indices, rows.indices]
        self.data = np.r_[self.data, rows.data]
        self.phrase = np.r_[self.phrase, phrase]
        self.distinctive = np.r_[self.distinctive, distinctive]

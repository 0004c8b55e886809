"""What every source yields: one page of raw records plus the entries it had to skip."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter


@dataclass
class SourcePage:
    label: str  # e.g. "start=100" or "2026-11-20 p=1": shown in progress and errors
    records: list[dict] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    received: int = 0  # entries in the response, skipped ones included

    @classmethod
    def parse(cls, label: str, entries: Sequence, one: Callable[..., dict | str]) -> SourcePage:
        """Every entry through the source's own `one` (a record, or why it is unusable): a bad
        entry is counted with its reason and never stops the page."""
        page = cls(label=label, received=len(entries))
        for entry in entries:
            record = one(entry)
            if isinstance(record, str):
                page.skip(record)
            else:
                page.records.append(record)
        return page

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def drop_duplicates(
        self, seen: set[str], key: Callable[[dict], str] = itemgetter("id")
    ) -> None:
        """Skip records already seen in this listing (pages shift while they are read); `key`
        says what makes two records the same (a source listing every version: id and version)."""
        fresh = []
        for record in self.records:
            if key(record) in seen:
                self.skip("duplicate in listing")
            else:
                seen.add(key(record))
                fresh.append(record)
        self.records = fresh

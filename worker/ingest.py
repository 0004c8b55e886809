"""Normalize source records to one Paper shape and upsert them by versionless id."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from models import Paper, utcnow

TEXT_FIELDS = (
    "title",
    "abstract",
    "authors",
    "categories",
    "published",
    "updated",
    "abs_url",
    "pdf_url",
    "comment",
    "journal_ref",
    "version",
)
SIGNAL_FIELDS = (
    "upvotes",
    "num_comments",
    "github_repo",
    "github_stars",
    "project_page",
    "ai_summary",
    "ai_keywords",
    "thumbnail",
    "hf_submitted_at",
)


@dataclass
class IngestCounts:
    fetched: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0
    skip_reasons: Counter = field(default_factory=Counter)


def _parse_time(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def upsert_papers(session: Session, records: Iterable[dict], source: str) -> IngestCounts:
    """Insert new papers, update known ones; idempotent. Bad records are skipped and counted."""
    counts = IngestCounts()
    now = utcnow()
    for rec in records:
        counts.fetched += 1
        pid = str(rec.get("id") or "").strip()
        title = " ".join(str(rec.get("title") or "").split())
        if not pid or not title:
            counts.skipped += 1
            counts.skip_reasons["missing id or title"] += 1
            continue
        values = {k: rec[k] for k in TEXT_FIELDS + SIGNAL_FIELDS if rec.get(k) is not None}
        values["title"] = title
        for key in ("published", "updated", "hf_submitted_at"):
            if key in values:
                values[key] = _parse_time(values[key])
        paper = session.get(Paper, pid)
        if paper is None:
            paper = Paper(id=pid, first_seen=now, first_seen_by={source: now.isoformat()}, **values)
            session.add(paper)
            counts.new += 1
        else:
            changed = {k: v for k, v in values.items() if getattr(paper, k) != v}
            if source not in paper.first_seen_by:
                paper.first_seen_by = {**paper.first_seen_by, source: now.isoformat()}
                changed["first_seen_by"] = True
            for k, v in changed.items():
                if k != "first_seen_by":
                    setattr(paper, k, v)
            if changed:
                paper.updated_at = now
                counts.updated += 1
        session.flush()
    return counts

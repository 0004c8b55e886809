"""Normalize source records to one Paper shape and upsert them by their source's key (a
versionless arXiv id, a DOI); a record without a link gets its source's (`Source.link`).

Merge rules (one row per paper, whichever source saw it first):
- Text and bibliographic fields (title, abstract, authors, categories, dates, links, comment,
  journal ref, version) come from a text authority (per the registry). Another source
  fills them only while no authority has seen the paper; once one has, they are its alone.
  The latest version wins: a record of an older version than the stored one changes no text.
- A published journal DOI takes the newest non-empty value (never blanked by a later "NA").
- Community signals come from Hugging Face: upvotes and comment counts only go up (a stale
  listing never lowers them); links, GitHub stars, AI summary and keywords take the newest
  non-empty value; the Daily Papers submission time is the first one seen.
- `first_seen_by[source]` is set once per source, `first_seen` once per paper.
- Running the same records again changes nothing: idempotent.
The trending score itself is not stored (it decays with time): ranking derives it from the
stored upvotes and age with `worker.ranking.trending_score`.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from models import Paper, utcnow
from worker.ingest import registry

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
RISING_FIELDS = ("upvotes", "num_comments")  # never lowered by a stale listing
LATEST_FIELDS = (
    "github_repo",
    "github_stars",
    "project_page",
    "ai_summary",
    "ai_keywords",
    "thumbnail",
    "journal_doi",
)
FIRST_FIELDS = ("hf_submitted_at",)
TIME_FIELDS = ("published", "updated", "hf_submitted_at")
MAX_ID = 128  # a DOI may be long; Paper.id holds as much
# Only real tags (a name right after "<"), so LaTeX such as $a<b$ survives.
TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
DROP_RE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
# C0 and C1 controls (tab, newline and carriage return become spaces anyway) and lone
# surrogates, which no database encoding accepts.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_TITLE, MAX_TEXT, MAX_NAME, MAX_LINK = 1_000, 20_000, 300, 2_000  # characters
MAX_AUTHORS, MAX_ITEMS = 1_000, 100  # names per paper; categories or keywords per paper
LINK_FIELDS = ("abs_url", "pdf_url", "github_repo", "project_page", "thumbnail")
WITHDRAWN_RE = re.compile(r"\b(this (paper|article|submission) (has been|is) withdrawn)\b", re.I)


class Skip(Exception):
    """A record that cannot become a Paper; the message is the counted reason."""


@dataclass
class IngestCounts:
    fetched: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0
    skip_reasons: Counter = field(default_factory=Counter)

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped += n
        self.skip_reasons[reason] += n

    def add(self, other: IngestCounts) -> None:
        self.fetched += other.fetched
        self.new += other.new
        self.updated += other.updated
        self.skipped += other.skipped
        self.skip_reasons.update(other.skip_reasons)


def clean_text(value, limit: int = MAX_TEXT) -> str:
    """Plain text: no markup (script bodies dropped), entities decoded, no control characters
    (a NUL makes PostgreSQL refuse the whole page), Unicode NFC, whitespace collapsed, at
    most `limit` characters."""
    text = DROP_RE.sub(" ", str(value or ""))
    text = html.unescape(TAG_RE.sub(" ", text))
    text = unicodedata.normalize("NFC", CONTROL_RE.sub(" ", text))
    return " ".join(text.split())[:limit]


def _clean_list(values, limit: int, item_limit: int = MAX_NAME) -> list[str]:
    return [c for c in (clean_text(v, item_limit) for v in list(values)[:limit]) if c]


def _clean_link(value) -> str | None:
    """A URL or repository name: cleaned, and dropped rather than cut when too long."""
    text = clean_text(value, MAX_LINK + 1)
    return text if text and len(text) <= MAX_LINK else None


def _parse_time(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        parsed = value
    else:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed is not None and parsed.tzinfo is None:
        raise Skip("time without a zone")
    return parsed


def normalize(rec: dict, link: Callable[[str], str] | None = None) -> dict:
    """One Paper-shaped dict from any source's record, or Skip with the reason; `link` builds
    the paper's page from its key when the record brings none."""
    pid = str(rec.get("id") or "").strip()
    if not pid:
        raise Skip("missing id")
    if len(pid) > MAX_ID:
        raise Skip("id too long")
    title = clean_text(rec.get("title"), MAX_TITLE)
    if not title:
        raise Skip("missing title")
    values = {k: rec.get(k) for k in TEXT_FIELDS + RISING_FIELDS + LATEST_FIELDS + FIRST_FIELDS}
    values = {k: v for k, v in values.items() if v is not None} | {"title": title}
    if link and "abs_url" not in values:
        values["abs_url"] = link(pid)
    if "abstract" in values:
        values["abstract"] = clean_text(values["abstract"])
    for key in ("comment", "journal_ref", "ai_summary", "journal_doi"):
        if key in values:
            values[key] = clean_text(values[key]) or None
    for key in LINK_FIELDS:
        if key in values:
            values[key] = _clean_link(values[key])
    for key in LATEST_FIELDS:  # nothing usable left: keep what is stored
        if key in values and values[key] is None:
            del values[key]
    if WITHDRAWN_RE.search(f"{values.get('comment') or ''} {values.get('abstract') or ''}"):
        raise Skip("withdrawn")
    if "authors" in values:
        values["authors"] = _clean_list(values["authors"], MAX_AUTHORS)
    for key in ("categories", "ai_keywords"):
        if key in values:
            values[key] = _clean_list(values[key], MAX_ITEMS)
    for key in TIME_FIELDS:
        if key in values:
            try:
                values[key] = _parse_time(values[key])
            except ValueError as e:
                raise Skip(f"unreadable {key}") from e
    return {"id": pid, **values}


def _merge(
    paper: Paper, values: dict, *, source: str, now: datetime, authorities: frozenset[str]
) -> bool:
    """Apply the merge rules to a stored paper; True if anything changed."""
    changed = False
    text_owner = source in authorities or not authorities & paper.first_seen_by.keys()
    # An older version listed after a newer one (a server lists every version) never wins.
    text_owner = text_owner and values.get("version", paper.version) >= paper.version

    def put(key, value):
        nonlocal changed
        if getattr(paper, key) != value:
            setattr(paper, key, value)
            changed = True

    for key, value in values.items():
        if key in TEXT_FIELDS and text_owner:
            put(key, value)
        elif key in RISING_FIELDS:
            put(key, max(getattr(paper, key) or 0, value))
        elif (key in LATEST_FIELDS and value not in ("", [])) or (
            key in FIRST_FIELDS and getattr(paper, key) is None
        ):
            put(key, value)
    if source not in paper.first_seen_by:
        paper.first_seen_by = {**paper.first_seen_by, source: now.isoformat()}
        changed = True
    if changed:
        paper.updated_at = now
    return changed


def upsert_papers(session: Session, records: Iterable[dict], source: str) -> IngestCounts:
    """Insert new papers, merge known ones; idempotent. Bad records are skipped and counted.

    The caller commits; on a unique-key race with a concurrent fetch it rolls back and runs
    the same records again, which then take the merge path.
    """
    counts = IngestCounts()
    now = utcnow()
    link, authorities = registry.get(source).link, registry.text_authorities()
    rows: list[dict] = []
    for rec in records:
        counts.fetched += 1
        try:
            rows.append(normalize(rec, link))
        except Skip as e:
            counts.skip(str(e))
    ids = {r["id"] for r in rows}
    known = {p.id: p for p in session.exec(select(Paper).where(col(Paper.id).in_(ids)))}
    touched: set[str] = set()
    for values in rows:
        paper = known.get(values["id"])
        if paper is None:
            paper = Paper(first_seen=now, first_seen_by={source: now.isoformat()}, **values)
            session.add(paper)
            known[paper.id] = paper
            counts.new += 1
            touched.add(paper.id)
        elif (
            _merge(paper, values, source=source, now=now, authorities=authorities)
            and paper.id not in touched
        ):
            counts.updated += 1
            touched.add(paper.id)
    session.flush()
    return counts

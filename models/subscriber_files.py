"""Subscriber lists as files, CSV or JSONL, read and written the same way.

The plain export (COLUMNS) is the active readers' sign-up fields; `--all` (ALL_COLUMNS) is a
backup: every reader in every status with every preference, their liked and disliked papers
(their seeds among them), status and dates, so importing it into an empty database restores
them and a second export is identical.

In CSV, list fields are separated by semicolons ("cs.LG; stat.ML"); in JSONL they are arrays
(a string is accepted too). Rows are checked exactly as the sign-up form checks them. CSV
cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR) are written
with a leading apostrophe, which the import takes off again.

A file that cannot be read (not UTF-8, a field over FIELD_LIMIT characters, broken quoting)
is a FileError at its line, found by `check_file` before anything is imported.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import ValidationError
from sqlmodel import Session, col, select, update

from models.subscribers import (
    InvalidEmail,
    Preferences,
    normalize_email,
    readable_errors,
    validate_preferences,
)
from models.tables import Feedback, Paper, Subscriber, SubscriberStatus, Suppression, utcnow

Format = Literal["csv", "jsonl"]
COLUMNS = ("email", "interests", "categories", "authors", "frequency", "timezone")
PREFERENCES = tuple(Preferences.model_fields)
RECORD = ("status", "status_source", "created_at", "confirmed_at", "unsubscribed_at")
VOTES = ("likes", "dislikes")
ALL_COLUMNS = ("email", *PREFERENCES, *VOTES, *RECORD)
LIST_COLUMNS = ("categories", "sources", "authors", "muted_words", *VOTES)
DATES = ("created_at", "confirmed_at", "unsubscribed_at")
SUFFIXES: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FIELD_LIMIT = 128 * 1024  # characters in one CSV field: more is no subscriber's data
# A restored reader who left or cannot be mailed stays suppressed in the new database.
SUPPRESSED_AS = {
    SubscriberStatus.unsubscribed: "unsubscribe",
    SubscriberStatus.bounced: "bounce",
    SubscriberStatus.complained: "spam_report",
}
csv.field_size_limit(FIELD_LIMIT)


class FileError(ValueError):
    """The file itself cannot be read at `line`; nothing of it was imported."""

    def __init__(self, line: int, why: str) -> None:
        super().__init__(f"{line}: {why}")
        self.line = line


def format_of(path: Path) -> Format:
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"{path.name}: name a .csv or .jsonl file (or pass --format)") from None


@dataclass(frozen=True)
class Row:
    line: int
    email: str = ""
    preferences: dict[str, Any] = field(default_factory=dict)
    error: str = ""  # why the row cannot be imported, in the reader's words
    record: dict[str, Any] = field(default_factory=dict)  # status and dates, from a backup
    votes: dict[int, list[str]] = field(default_factory=dict)  # +1 / -1 -> paper ids


def text_lines(raw: Iterable[bytes]) -> Iterator[str]:
    """Lines of a UTF-8 file (a BOM is skipped); FileError at the first line that is not."""
    for number, line in enumerate(raw, start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise FileError(
                number, f"not UTF-8 text (byte {e.object[e.start]:#x}): save the file as UTF-8"
            ) from None
        yield text.removeprefix("\ufeff") if number == 1 else text


def check_file(raw: Iterable[bytes], fmt: Format) -> int:
    """How many data rows the file holds; FileError when it cannot be read through."""
    lines = text_lines(raw)
    if fmt == "jsonl":
        return sum(1 for _ in lines)
    reader = csv.reader(lines)
    try:
        return max(sum(1 for _ in reader) - 1, 0)
    except csv.Error as e:
        raise FileError(reader.line_num, _csv_why(e)) from None


def _csv_why(error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        return f"a field is longer than {FIELD_LIMIT:,} characters"
    return f"not readable as CSV ({error})"


def read_rows(lines: Iterable[str], fmt: Format) -> Iterator[Row]:
    """Every data row with its line number, checked: a bad row is a Row with an error, never
    skipped silently."""
    if fmt == "csv":
        reader = csv.DictReader(lines)
        try:
            missing = {"email"} - set(reader.fieldnames or ())
            if missing:
                yield Row(1, error="the header has no 'email' column")
                return
            for record in reader:
                extra = record.pop(None, None)  # type: ignore[call-overload]
                if extra:
                    yield Row(reader.line_num, error="more fields than the header names")
                    continue
                yield _checked(reader.line_num, {k: _unguarded(v) for k, v in record.items()})
        except csv.Error as e:
            raise FileError(reader.line_num, _csv_why(e)) from None
        return
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            yield Row(number, error="not a JSON object")
            continue
        if not isinstance(record, dict):
            yield Row(number, error="not a JSON object")
            continue
        yield _checked(number, record)


def _checked(line: int, record: dict[str, Any]) -> Row:
    unknown = set(record) - set(ALL_COLUMNS)
    if unknown:
        return Row(line, error=f"unknown column(s): {', '.join(sorted(unknown))}")
    given = {k: v for k, v in record.items() if v not in (None, "", [])}
    try:
        email = normalize_email(str(given.get("email") or ""))
        prefs = validate_preferences(
            {k: _listed(k, v) for k, v in given.items() if k in PREFERENCES}
        )
        kept = _record({k: v for k, v in given.items() if k in RECORD})
        votes = {1: _ids(given.get("likes")), -1: _ids(given.get("dislikes"))}
    except InvalidEmail as e:
        return Row(line, error=str(e))
    except ValidationError as e:
        return Row(line, error="; ".join(readable_errors(e)))
    except ValueError as e:
        return Row(line, error=str(e))
    return Row(line, email, prefs, record=kept, votes=votes)


def _listed(name: str, value: Any) -> Any:
    """A CSV list cell ("a; b") as the comma list the validators split; JSON lists kept."""
    if name in LIST_COLUMNS and isinstance(value, str):
        return value.replace(";", ",")
    return value


def _ids(value: Any) -> list[str]:
    """Paper ids from a JSON array or a CSV cell ("2411.00001; 10.1101/x")."""
    items = value if isinstance(value, list) else str(value or "").split(";")
    ids = [str(item).strip() for item in items if str(item).strip()]
    if any(len(i) > 128 for i in ids):
        raise ValueError("likes/dislikes: a paper id is at most 128 characters")
    return ids


def _record(given: dict[str, Any]) -> dict[str, Any]:
    """Status and dates from a backup, checked (ValueError in the reader's words)."""
    kept: dict[str, Any] = {}
    if "status" in given:
        try:
            kept["status"] = SubscriberStatus(str(given["status"]))
        except ValueError:
            names = ", ".join(s.value for s in SubscriberStatus)
            raise ValueError(f"status: choose one of {names}") from None
    for name in DATES:
        if name in given:
            try:
                when = datetime.fromisoformat(str(given[name]))
            except ValueError:
                raise ValueError(f"{name}: not a date like 2026-12-05T06:00:00+00:00") from None
            kept[name] = when if when.tzinfo else when.replace(tzinfo=UTC)
    if "status_source" in given:
        kept["status_source"] = str(given["status_source"])[:200]
    return kept


def _unguarded(cell: str | None) -> str | None:
    """Take off the apostrophe our export puts before a formula-like cell."""
    if cell and cell.startswith("'") and cell[1:2] and cell[1] in FORMULA_START:
        return cell[1:]
    return cell


def _guarded(cell: str) -> str:
    return f"'{cell}" if cell.startswith(FORMULA_START) else cell


@dataclass
class ImportCounts:
    added: list[int] = field(default_factory=list)  # new subscriber ids
    existing: int = 0  # already on the list: left as they are
    suppressed: int = 0  # bounced, complained or unsubscribed here: never re-added
    errors: list[str] = field(default_factory=list)  # "line N: why"
    unconfirmed: list[int] = field(default_factory=list)  # pending, no confirm email yet


def import_batch(
    session: Session, rows: list[Row], *, confirmed: bool, counts: ImportCounts
) -> None:
    """Add a batch of rows: bad rows and duplicates are reported by line, addresses already
    known (or suppressed) are left alone, the rest are created pending (double opt-in) or, for
    lists that opted in elsewhere, active; a backup's row keeps its own status and dates.

    Pending readers of the batch whom no confirm email has reached yet (new ones, and ones an
    interrupted import left behind) are listed in `counts.unconfirmed`. One query per kind
    per batch, not per row."""
    emails = [r.email for r in rows if not r.error]
    known = dict(
        session.exec(
            select(Subscriber.email, Subscriber.id).where(
                col(Subscriber.email).in_(emails),
                col(Subscriber.status) == SubscriberStatus.pending,
                col(Subscriber.confirm_sent_at).is_(None),
            )
        ).all()
    )
    existing = set(session.exec(select(Subscriber.email).where(col(Subscriber.email).in_(emails))))
    blocked = set(session.exec(select(Suppression.email).where(col(Suppression.email).in_(emails))))
    new: list[tuple[Subscriber, Row]] = []
    opted_in = {"status": SubscriberStatus.active, "confirmed_at": utcnow()} if confirmed else {}
    for row in rows:
        if row.error:
            counts.errors.append(f"line {row.line}: {row.error}")
        elif row.email in existing:
            counts.existing += 1
            if row.email in known:
                counts.unconfirmed.append(known.pop(row.email))
        elif row.email in blocked and "status" not in row.record:
            counts.suppressed += 1
        else:
            existing.add(row.email)  # a repeat further down the file counts as existing
            fields = {"status_source": "import", **opted_in, **row.record}
            new.append((Subscriber(email=row.email, **fields, **row.preferences), row))
    session.add_all([sub for sub, _ in new])
    session.flush()
    _restore(session, new, blocked)
    counts.added.extend(sub.id for sub, _ in new)
    counts.unconfirmed.extend(s.id for s, _ in new if s.status == SubscriberStatus.pending)


def _restore(session: Session, new: list[tuple[Subscriber, Row]], blocked: set[str]) -> None:
    """A backup's votes (papers not stored yet are kept as placeholders named by their id,
    filled in when a source fetches them) and the suppressions its statuses imply."""
    wanted = {pid for _, row in new for ids in row.votes.values() for pid in ids}
    stored = set(session.exec(select(Paper.id).where(col(Paper.id).in_(wanted))))
    old = datetime(1970, 1, 1, tzinfo=UTC)  # never today's news: no digest picks it
    placeholders = [
        Paper(id=pid, title=pid, first_seen=old, first_seen_by={"import": utcnow().isoformat()})
        for pid in sorted(wanted - stored)
    ]
    session.add_all(placeholders)
    session.flush()
    session.add_all(
        Feedback(subscriber_id=sub.id, paper_id=pid, value=value)
        for sub, row in new
        for value, ids in row.votes.items()
        for pid in dict.fromkeys(ids)
    )
    session.add_all(
        Suppression(email=sub.email, reason=SUPPRESSED_AS[sub.status], source_event="import")
        for sub, _ in new
        if sub.status in SUPPRESSED_AS and sub.email not in blocked
    )
    session.flush()


def mark_confirm_sent(session: Session, subscriber_ids: list[int]) -> None:
    """After their confirm emails are queued: a rerun of the import does not queue them again."""
    session.exec(
        update(Subscriber)
        .where(col(Subscriber.id).in_(subscriber_ids))
        .values(confirm_sent_at=utcnow())
    )


def write_rows(
    records: Iterable[dict[str, Any]], out: IO[str], fmt: Format, columns: tuple = COLUMNS
) -> int:
    count = 0
    writer = csv.DictWriter(out, columns, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for record in records:
        if writer:
            writer.writerow({k: _cell(k, v) for k, v in record.items()})
        else:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def _cell(name: str, value: Any) -> Any:
    if name in LIST_COLUMNS:
        value = "; ".join(value)
    return _guarded(value) if isinstance(value, str) else value


def exportable(session: Session, *, every: bool = False) -> Iterator[dict[str, Any]]:
    """Active subscribers' sign-up fields, or (`every`) every subscriber's ALL_COLUMNS;
    oldest first, streamed a thousand at a time."""
    query = select(Subscriber).order_by(Subscriber.id).execution_options(yield_per=1000)
    if not every:
        query = query.where(Subscriber.status == SubscriberStatus.active)
    for chunk in session.exec(query).partitions():
        subs = list(chunk)
        votes = _votes(session, [s.id for s in subs]) if every else {}
        for sub in subs:
            if every:
                yield _full(sub, votes.get(sub.id, {}))
            else:
                yield {name: _plain(getattr(sub, name)) for name in COLUMNS}


def _votes(session: Session, ids: list[int]) -> dict[int, dict[int, list[str]]]:
    found: dict[int, dict[int, list[str]]] = {}
    rows = session.exec(
        select(Feedback.subscriber_id, Feedback.value, Feedback.paper_id)
        .where(col(Feedback.subscriber_id).in_(ids))
        .order_by(Feedback.paper_id)
    )
    for subscriber_id, value, paper_id in rows:
        found.setdefault(subscriber_id, {}).setdefault(value, []).append(paper_id)
    return found


def _full(sub: Subscriber, votes: dict[int, list[str]]) -> dict[str, Any]:
    record = {name: _plain(getattr(sub, name)) for name in ("email", *PREFERENCES, *RECORD)}
    record |= {"likes": votes.get(1, []), "dislikes": votes.get(-1, [])}
    return {name: record[name] for name in ALL_COLUMNS}


def _plain(value: Any) -> Any:
    """A field as JSON holds it: dates as ISO 8601, enums as their value."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value

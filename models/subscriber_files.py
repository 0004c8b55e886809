"""Subscriber lists as files: CSV or JSONL rows of email, interests, categories, authors,
frequency and time zone, read and written the same way (an export imports back unchanged).

In CSV, list fields are separated by semicolons ("cs.LG; stat.ML"); in JSONL they are arrays
(a string is accepted too). Rows are checked exactly as the sign-up form checks them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import ValidationError
from sqlmodel import Session, col, select

from models.subscribers import (
    InvalidEmail,
    normalize_email,
    readable_errors,
    validate_preferences,
)
from models.tables import Subscriber, SubscriberStatus, Suppression, utcnow

Format = Literal["csv", "jsonl"]
COLUMNS = ("email", "interests", "categories", "authors", "frequency", "timezone")
LIST_COLUMNS = ("categories", "authors")
SUFFIXES: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


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


def read_rows(lines: Iterable[str], fmt: Format) -> Iterator[Row]:
    """Every data row with its line number, checked: a bad row is a Row with an error, never
    skipped silently."""
    if fmt == "csv":
        reader = csv.DictReader(lines)
        missing = {"email"} - set(reader.fieldnames or ())
        if missing:
            yield Row(1, error="the header has no 'email' column")
            return
        for record in reader:
            extra = record.pop(None, None)  # type: ignore[call-overload]
            if extra:
                yield Row(reader.line_num, error="more fields than the header names")
                continue
            yield _checked(reader.line_num, record)
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
    unknown = set(record) - set(COLUMNS)
    if unknown:
        return Row(line, error=f"unknown column(s): {', '.join(sorted(unknown))}")
    try:
        email = normalize_email(str(record.get("email") or ""))
        given = {
            k: record[k].replace(";", ",")
            if k in LIST_COLUMNS and isinstance(record[k], str)
            else record[k]
            for k in COLUMNS[1:]
            if record.get(k) not in (None, "", [])
        }
        prefs = validate_preferences(given)
    except InvalidEmail as e:
        return Row(line, error=str(e))
    except ValidationError as e:
        return Row(line, error="; ".join(readable_errors(e)))
    return Row(line, email, prefs)


@dataclass
class ImportCounts:
    added: list[int] = field(default_factory=list)  # new subscriber ids
    existing: int = 0  # already on the list: left as they are
    suppressed: int = 0  # bounced, complained or unsubscribed here: never re-added
    errors: list[str] = field(default_factory=list)  # "line N: why"


def import_batch(
    session: Session, rows: list[Row], *, confirmed: bool, counts: ImportCounts
) -> None:
    """Add a batch of rows: bad rows and duplicates are reported by line, addresses already
    known (or suppressed) are left alone, the rest are created pending (double opt-in) or, for
    lists that opted in elsewhere, active. One query per kind per batch, not per row."""
    emails = [r.email for r in rows if not r.error]
    known = set(session.exec(select(Subscriber.email).where(col(Subscriber.email).in_(emails))))
    blocked = set(session.exec(select(Suppression.email).where(col(Suppression.email).in_(emails))))
    new: list[Subscriber] = []
    opted_in = {"status": SubscriberStatus.active, "confirmed_at": utcnow()} if confirmed else {}
    for row in rows:
        if row.error:
            counts.errors.append(f"line {row.line}: {row.error}")
        elif row.email in known:
            counts.existing += 1
        elif row.email in blocked:
            counts.suppressed += 1
        else:
            known.add(row.email)  # a repeat further down the file counts as existing
            new.append(
                Subscriber(email=row.email, status_source="import", **opted_in, **row.preferences)
            )
    session.add_all(new)
    session.flush()
    counts.added.extend(s.id for s in new)


def write_rows(subs: Iterable[Subscriber], out: IO[str], fmt: Format) -> int:
    count = 0
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for sub in subs:
        record: dict[str, Any] = {name: getattr(sub, name) for name in COLUMNS}
        if writer:
            writer.writerow(record | {k: "; ".join(record[k]) for k in LIST_COLUMNS})
        else:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def exportable(session: Session) -> Iterator[Subscriber]:
    """Active subscribers, oldest first, streamed."""
    return iter(
        session.exec(
            select(Subscriber)
            .where(Subscriber.status == SubscriberStatus.active)
            .order_by(Subscriber.id)
            .execution_options(yield_per=1000)
        )
    )

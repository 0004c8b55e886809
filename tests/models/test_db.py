"""`insert_rows`: PostgreSQL's COPY and SQLite's executemany store the same rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from models import Paper, session_scope, upgrade
from models.db import insert_rows

ROWS = [
    {
        "id": f"2611.{i:05d}",
        "version": 1,
        "title": f"Title {i} with ü, a tab\\t, quotes \" ' and a backslash \\",
        "abstract": "Line one.\nLine two.\tTabbed.",
        "authors": ["Ada Lovelace", "Jürgen Müller"],
        "categories": [],
        "abs_url": None if i else "https://arxiv.org/abs/2611.00000",
        "upvotes": i,
        "num_comments": 0,
        "ai_keywords": [],
        "first_seen_by": {"arxiv": "2026-11-20T00:00:00+00:00"},
        "first_seen": datetime(2026, 11, 20, 6, 30, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 20, 6, 30, tzinfo=UTC),
    }
    for i in range(3)
]


def stored() -> list[dict]:
    with session_scope() as session:
        papers = session.exec(select(Paper).order_by(Paper.id)).all()
        return [{k: getattr(p, k) for k in ROWS[0]} for p in papers]


def test_insert_rows_on_sqlite(paperboy_home: Path) -> None:
    upgrade()
    with session_scope() as session:
        insert_rows(session, Paper.__table__, list(ROWS[0]), [tuple(r.values()) for r in ROWS])
    assert stored() == ROWS


def test_insert_rows_copies_on_postgresql(paperboy_home: Path, production: str) -> None:
    upgrade()
    with session_scope() as session:
        assert session.get_bind().dialect.name == "postgresql"
        insert_rows(session, Paper.__table__, list(ROWS[0]), [tuple(r.values()) for r in ROWS])
        insert_rows(session, Paper.__table__, list(ROWS[0]), [])  # nothing: no statement
    assert stored() == ROWS


def test_a_json_value_the_rows_share_is_copied_encoded_once(
    paperboy_home: Path, production: str, monkeypatch
) -> None:
    import models.db as db

    upgrade()
    shared = ["Ada Lovelace"]
    rows = [{**row, "authors": shared, "categories": [f"cs.{i}"]} for i, row in enumerate(ROWS)]
    dumped = []
    monkeypatch.setattr(db.json, "dumps", lambda v, dump=db.json.dumps: dumped.append(v) or dump(v))
    with session_scope() as session:
        insert_rows(session, Paper.__table__, list(ROWS[0]), [tuple(r.values()) for r in rows])
    assert stored() == rows
    assert dumped.count(shared) == 1  # the other JSON columns are distinct lists, each encoded
    assert len(dumped) == 1 + 3 * len(rows)

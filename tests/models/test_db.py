"""`insert_rows` and `insert_new`: on PostgreSQL (COPY, unnest) as SQLite's executemany."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event
from sqlmodel import select

from models import Digest, DigestStatus, Paper, session_scope, subscribers, upgrade
from models.db import insert_new, insert_rows

UNIQUE, RET = ["subscriber_id", "edition"], ["subscriber_id", "id"]

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


def test_insert_new_binds_a_value_every_row_shares_once(
    paperboy_home: Path, production: str
) -> None:
    """Columns alike in every row are one parameter; the rows still get them, in order, and a
    conflicting row is left as another writer wrote it."""
    upgrade()
    with session_scope() as session:
        sids = [subscribers.subscribe(session, f"r{i}@example.org").id for i in range(3)]
    at = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)
    rows = [
        {"subscriber_id": sid, "edition": "2026-11-20", "status": DigestStatus.planned}
        | {"attempts": 0, "planned_at": at, "note": None}
        for sid in sids
    ]
    statements = []
    with session_scope() as session:
        event.listen(
            session.connection(), "before_cursor_execute", lambda *a: statements.append(a[3])
        )
        first = insert_new(session, Digest.__table__, rows[:1], unique=UNIQUE, returning=RET)
        rest = insert_new(session, Digest.__table__, rows, unique=UNIQUE, returning=RET)
    assert [sid for sid, _ in first] == sids[:1] and [sid for sid, _ in rest] == sids[1:]
    assert [len(p["attempts"]) if isinstance(p["attempts"], list) else 0 for p in statements] == [
        1,  # one row: every column an array
        0,  # "attempts" alike in every row: one value
    ]
    assert isinstance(statements[1]["subscriber_id"], list)
    with session_scope() as session:
        stored = session.exec(select(Digest).order_by(Digest.id)).all()
    assert [(d.subscriber_id, d.status, d.attempts, d.planned_at) for d in stored] == [
        (sid, DigestStatus.planned, 0, at) for sid in sids
    ]

"""The same migrations apply on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

import models.tables  # noqa: F401
from models.db import upgrade

EXPECTED = set(SQLModel.metadata.tables)


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_apply_on_sqlite(paperboy_home: Path) -> None:
    url = f"sqlite:///{paperboy_home / 'm.db'}"
    upgrade(url)
    upgrade(url)  # a second upgrade is a no-op
    assert _tables(url) == EXPECTED


def test_migrations_apply_on_postgresql(postgres_url: str) -> None:
    upgrade(postgres_url)
    assert _tables(postgres_url) == EXPECTED


def test_migrations_match_the_models(paperboy_home: Path) -> None:
    """Autogenerate finds nothing to do: no table or column lives only in the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    url = f"sqlite:///{paperboy_home / 'm.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_read_only_commands_run_no_ddl_on_a_production_database(
    production: str,
) -> None:
    """Migrations reach PostgreSQL only through `paperboy db upgrade` (the Procfile's release)."""
    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    for command in (["sources", "status"], ["preview", "reader@example.org"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2 and "paperboy db upgrade" in result.output, result.output
    engine = create_engine(production)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    status = runner.invoke(app, ["sources", "status"])
    assert status.exit_code == 0 and "no fetch runs yet" in status.output


OLD_REASONS = {  # as the string-reason code stored them: phrases, liked, author, trending
    "2401.00001": ["message passing", "like Junction Tree VAE", "by Ada Lovelace"],
    "2401.00002": ["trending", "trending: 3 upvotes"],
}
TYPED_REASONS = {
    "2401.00001": [
        {"kind": "phrase", "text": "message passing"},
        {"kind": "liked", "text": "Junction Tree VAE"},
        {"kind": "author", "text": "Ada Lovelace"},
    ],
    "2401.00002": [
        {"kind": "popular", "text": "popular today"},
        {"kind": "trending", "text": "3 upvotes", "upvotes": 3},
    ],
}


def _insert_old_digest(url: str) -> None:
    """A digest with string reasons, written through the tables as they stood at 0008."""
    from datetime import UTC, datetime

    from sqlalchemy import MetaData

    now = datetime(2026, 11, 22, tzinfo=UTC)
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    t = meta.tables
    with engine.begin() as conn:
        conn.execute(t["subscriber"].insert(), {
            "id": 1, "email": "r@example.org", "status": "active", "interests": "",
            "categories": [], "authors": [], "muted_words": [], "frequency": "daily",
            "max_papers": 10, "send_hour": 7, "timezone": "UTC", "token_version": 1,
            "created_at": now,
        })  # fmt: skip
        conn.execute(t["digest"].insert(), {
            "id": 1, "subscriber_id": 1, "edition": "2026-11-22", "status": "sent",
            "attempts": 1, "planned_at": now,
        })  # fmt: skip
        for rank, (pid, reasons) in enumerate(OLD_REASONS.items()):
            conn.execute(t["paper"].insert(), {
                "id": pid, "version": 1, "title": "T", "abstract": "A", "authors": [],
                "categories": [], "upvotes": 0, "num_comments": 0, "ai_keywords": [],
                "first_seen_by": {}, "first_seen": now, "updated_at": now,
            })  # fmt: skip
            conn.execute(t["digest_item"].insert(), {
                "digest_id": 1, "paper_id": pid, "rank": rank, "score": 1.0,
                "reasons": reasons, "section": "picks",
            })  # fmt: skip
    engine.dispose()


def _stored_reasons(url: str) -> dict[str, list]:
    from sqlalchemy import text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT paper_id, reasons FROM digest_item")).all()
    engine.dispose()
    return {pid: json.loads(r) if isinstance(r, str) else r for pid, r in rows}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_string_reasons_become_typed_and_back(backend: str, request) -> None:
    """Digests stored before typed reasons read as the same kinds after the upgrade, so their
    archive pages word them as before; the downgrade writes the strings back."""
    from alembic import command

    from models.db import alembic_config
    from models.reasons import Reason

    url = (
        f"sqlite:///{request.getfixturevalue('paperboy_home') / 'm.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    upgrade(url, "0008")
    _insert_old_digest(url)
    upgrade(url)
    assert _stored_reasons(url) == TYPED_REASONS
    assert all(Reason.from_json(r).to_json() == r for v in TYPED_REASONS.values() for r in v)
    command.downgrade(alembic_config(url), "0008")
    assert _stored_reasons(url) == OLD_REASONS

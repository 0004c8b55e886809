"""The same migrations apply on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

from pathlib import Path

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

"""`paperboy db upgrade`: the one way migrations reach a production database."""

from __future__ import annotations

import typer

from cli.ui import console, settings

app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Apply database migrations (the same scripts on SQLite and PostgreSQL)."""
    from models import upgrade as apply_migrations

    settings()
    apply_migrations()
    console.print("database is at the latest migration")

"""What every command shares: the two consoles, settings with a readable error, the mode line,
and a database that is ready to use."""

from __future__ import annotations

import typer
import typer.core
from rich.console import Console

from config import ConfigError, Settings, get_settings

console = Console(stderr=True)  # progress, status and errors
out = Console()  # results a user may pipe


def settings() -> Settings:
    """The settings, or exit 2 with the configuration error in a sentence."""
    from emails.providers import registry

    try:
        settings = get_settings()
        registry.check(settings)
        return settings
    except ConfigError as e:
        console.print(f"[red]configuration error:[/] {e}")
        raise typer.Exit(2) from e


def mode_line() -> None:
    """One dim line saying where data lives, where tasks run and how mail leaves."""
    s = settings()
    db = (
        "SQLite " + s.db_url.removeprefix("sqlite:///")
        if s.is_embedded
        else "database from DATABASE_URL"
    )
    tasks = "tasks run in-process (no REDIS_URL)" if s.tasks_in_process else "tasks go to Redis"
    console.print(f"[dim]{db}; {tasks}; mail via {s.mail_backend}[/]", soft_wrap=True)


def ready_database() -> Settings:
    """The embedded SQLite default is migrated on first use; a production database only by
    `paperboy db upgrade` (the Procfile's `release`), so no other command runs DDL there."""
    from models import pending_migrations, upgrade

    s = settings()
    if s.is_embedded:
        upgrade()
    elif pending_migrations():
        console.print(
            "[red]the database is not at the latest migration:[/] run `paperboy db upgrade`"
        )
        raise typer.Exit(2)
    return s


def readable_placeholders() -> None:
    """Help shows what a person types, not Python types: Typer 0.29 prints `<str>`,
    `<list[str]>` and even `<bool>` beside flags. An option shows its metavar (or its name in
    capitals), a flag nothing, an argument its name alone (its metavar: EMAIL, RUN, FILE)."""

    def option(self: typer.core.TyperOption, ctx: object) -> str | None:
        if self.is_flag:
            return None
        return self.metavar or (self.name or "value").upper()

    typer.core.TyperOption.display_type_rich = option
    typer.core.TyperArgument.display_type_rich = lambda self, ctx: None

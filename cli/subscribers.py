"""`paperboy subscribe` and `paperboy subscribers import/export`: subscribers from the command
line, validated exactly as the web forms validate them."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.ui import console, ready_database

app = typer.Typer(help="Import and export subscribers (CSV or JSONL).", no_args_is_help=True)


def subscribe(
    email: str,
    interests: Annotated[
        str | None, typer.Option(help="What you want to read about, in your words.")
    ] = None,
    category: Annotated[
        list[str], typer.Option(help="arXiv category to favour (repeatable).")
    ] = [],  # noqa: B006
    author: Annotated[list[str], typer.Option(help="Author to follow (repeatable).")] = [],  # noqa: B006
    max_papers: Annotated[int | None, typer.Option(help="Papers per digest.")] = None,
) -> None:
    """Add (or update) a confirmed subscriber from the command line."""
    from pydantic import ValidationError

    from models import session_scope, subscribers

    ready_database()
    given = {
        "interests": interests,
        "categories": category or None,
        "authors": author or None,
        "max_papers": max_papers,
    }
    try:
        with session_scope() as session:
            sub = subscribers.subscribe(
                session,
                email,
                confirmed=True,
                **{k: v for k, v in given.items() if v is not None},
            )
            console.print(f"subscribed {sub.email} (id {sub.id})")
    except subscribers.InvalidEmail as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(2) from e
    except ValidationError as e:
        for line in subscribers.readable_errors(e):
            console.print(f"[red]{line}[/]")
        raise typer.Exit(2) from e

"""`paperboy subscribe`: subscribers from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.ui import console, ready_database


def subscribe(
    email: str,
    interests: Annotated[
        str, typer.Option(help="What you want to read about, in your words.")
    ] = "",
    category: Annotated[
        list[str], typer.Option(help="arXiv category to favour (repeatable).")
    ] = [],  # noqa: B006
    author: Annotated[list[str], typer.Option(help="Author to follow (repeatable).")] = [],  # noqa: B006
    max_papers: Annotated[int | None, typer.Option(min=1, help="Papers per digest.")] = None,
) -> None:
    """Add (or update) a confirmed subscriber from the command line."""
    from models import session_scope, subscribers

    settings = ready_database()
    limit = settings.max_papers_limit
    if max_papers is not None and max_papers > limit:
        raise typer.BadParameter(f"at most {limit} papers per digest", param_hint="--max-papers")
    try:
        with session_scope() as session:
            sub = subscribers.subscribe(
                session,
                email,
                interests=interests,
                categories=category,
                authors=author,
                max_papers=max_papers or settings.default_max_papers,
                confirmed=True,
            )
            console.print(f"subscribed {sub.email} (id {sub.id})")
    except subscribers.InvalidEmail as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(2) from e

"""`paperboy plan`, `send` and `preview`: the edition's digests from the command line."""

from __future__ import annotations

import webbrowser
from typing import Annotated

import typer

from cli.ui import console, mode_line, out, ready_database


def plan(
    now: Annotated[bool, typer.Option("--now", help="Ignore each subscriber's send hour.")] = False,
) -> None:
    """Plan the current edition for every due subscriber (and send it)."""
    from worker import tasks

    mode_line()
    ready_database()
    result = tasks.plan_due(ignore_send_hour=now)
    console.print(
        f"planned {result['planned']} digests, {result['empty']} with nothing relevant, "
        f"{result['already']} already planned"
    )


def send() -> None:
    """Send every planned digest (retries included); stale sends are recorded as failed."""
    from worker import tasks

    mode_line()
    ready_database()
    result = tasks.send_due()
    console.print(
        f"enqueued {result['enqueued']} digests; {result['stale_failed']} stale sends "
        "recorded as failed"
    )


def preview(
    email: str,
    open_: Annotated[bool, typer.Option("--open", help="Open the HTML in a browser.")] = False,
) -> None:
    """Render EMAIL's latest digest to HTML and .eml without sending; print both paths."""
    from models import session_scope
    from worker.delivery import preview_digest

    settings = ready_database()
    try:
        with session_scope() as session:
            name, rendered, message = preview_digest(session, settings, email)
    except LookupError as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(1) from e
    folder = settings.paperboy_home / "previews"
    folder.mkdir(parents=True, exist_ok=True)
    html, eml = folder / f"{name}.html", folder / f"{name}.eml"
    html.write_text(rendered.html, encoding="utf-8")
    eml.write_bytes(message.as_bytes())
    out.print(f"HTML: {html}\nEML:  {eml}", soft_wrap=True, highlight=False)
    if open_:
        webbrowser.open(html.resolve().as_uri())

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
    """Send every planned digest as a run, with a live progress bar; ends with its counts.
    Planned digests no run owns get a new run; otherwise the latest run gets the reaper's
    rounds (stale sends settled, retries and lost work handed out again)."""
    from cli.runs import watch
    from models import RunState, session_scope
    from worker import tasks
    from worker.delivery import runs

    mode_line()
    ready_database()
    with session_scope() as session:
        run, ids = runs.adopt_planned(session)
        latest = run or runs.get(session)
    if run is not None:
        watch(run.id, lambda: tasks.dispatch(run.id, ids))
    elif latest is not None and latest.state in (RunState.running, RunState.paused):
        watch(latest.id, tasks.reap_sends)
    else:
        console.print("nothing planned to send; `paperboy runs status` shows the latest run")


def preview(
    email: str,
    open_: Annotated[bool, typer.Option("--open", help="Open the HTML in a browser.")] = False,
) -> None:
    """Render EMAIL's latest digest to HTML and .eml without sending; print both paths."""
    from models import session_scope
    from worker.delivery.send import preview_digest

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

"""`paperboy plan`, `send` and `preview`: the edition's digests from the command line."""

from __future__ import annotations

import webbrowser
from typing import Annotated

import typer

from cli.ui import console, mode_line, out, ready_database, settings


def plan(
    now: Annotated[bool, typer.Option("--now", help="Ignore each subscriber's send hour.")] = False,
) -> None:
    """Plan the current edition for every due subscriber (and send it)."""
    from worker import tasks

    mode_line()
    ready_database()
    result = tasks.plan_due(ignore_send_hour=now)
    counts = None
    if result["run"] is not None and settings().tasks_in_process:
        from cli.runs import _counts

        counts = _counts(result["run"], detail=False)
    console.print(plan_summary(result, counts), soft_wrap=True, markup=False)


def plan_summary(result: dict, counts=None) -> str:
    """What `plan` did, in words: how many it planned, whether they were sent (in-process)
    or handed to the workers, and how many it skipped and why."""
    n = result["planned"]
    if n is None:  # with a broker the workers plan, chunk by chunk
        said = (
            f"{result['planning']} readers due: run {result['run']} is with the workers, "
            f"planning and sending (`paperboy runs status {result['run']}` follows it)"
        )
    elif n == 0:
        said = "planned nothing new"
    elif counts is None:
        said = (
            f"planned {n} digest{'s' * (n != 1)}: run {result['run']} is with the workers "
            f"(`paperboy runs status {result['run']}` follows it)"
        )
    else:
        said = (
            f"planned {n} digest{'s' * (n != 1)}: {counts.sent} sent, {counts.failed} failed, "
            f"{counts.skipped} skipped (run {result['run']})"
        )
    skipped = [
        f"{result['empty']} with nothing relevant in this edition (no email)"
        if result["empty"]
        else "",
        f"{result['already']} already planned for this edition" if result["already"] else "",
    ]
    skipped = [s for s in skipped if s]
    return said + (f"; skipped {', '.join(skipped)}" if skipped else "")


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
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The subscriber.")],
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

"""`paperboy runs list` and `runs status|pause|resume|cancel|resend [RUN]`: one run per
edition's sending; RUN defaults to the latest. `watch` is the live progress bar `paperboy
send` shows too."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.ui import console, mode_line, out, ready_database, settings

app = typer.Typer(help="Send runs: one per edition's sending.", no_args_is_help=True)
RunArg = Annotated[
    int | None, typer.Argument(metavar="RUN", help="Run id; the latest run if omitted.")
]
POLL_SECONDS = 0.5
FINISHED = ("done", "cancelled")


def _refuse_finished(target) -> None:
    """Pause, resume and cancel answer a finished run the same way: one message, exit 1."""
    if target.state in FINISHED:
        console.print(f"run {target.id} is {target.state}: nothing to pause, resume or cancel")
        raise typer.Exit(1)


def _run(run_id: int | None):
    from models import session_scope
    from worker.delivery import runs

    with session_scope() as session:
        run = runs.get(session, run_id)
    if run is None:
        console.print(f"[red]no run {run_id}[/]" if run_id else "no send run yet")
        raise typer.Exit(1)
    return run


def _counts(run_id: int, detail: bool = True):
    from models import session_scope
    from worker.delivery import runs

    with session_scope() as session:
        return runs.counts(session, runs.get(session, run_id), detail)


def show(run_id: int) -> None:
    """The run's edition, start and duration, its state and counts, why it is paused, what to
    do about unresolved sends, and whether beat is running."""
    from models import SendRun, session_scope, utcnow
    from worker.delivery import liveness, overview

    now = utcnow()
    beat = liveness.missing(settings(), now)
    with session_scope() as session:
        run = session.get(SendRun, run_id)
        line = overview.run_line(session, run)
        state = overview.shown_state(session, run, beat is not None, settings(), now)
    c = line.counts
    out.print(
        f"Run {c.run_id}: {state} · edition {line.edition} · started "
        f"{line.started:%Y-%m-%d %H:%M} UTC · took {overview.duration(line.duration)}",
        markup=False,
    )
    table = Table(show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [
        ("planned", c.planned),
        ("sent", c.sent),
        ("failed", c.failed),
        *((f"  {reason}", n) for reason, n in sorted(c.failed_by_reason.items())),
        ("skipped", c.skipped),
        ("  suppressed or left", c.suppressed),
        ("bounced (after sending)", c.bounced),
        ("still to send", c.pending),
        ("  unanswered, awaiting the provider's word", c.unanswered),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    table.add_row("rate", f"{c.rate:.1f} emails/s" if c.rate else "-")
    out.print(table)
    if c.pause_reason:
        out.print(f"paused: {c.pause_reason}", soft_wrap=True, markup=False)
    if c.unresolved:
        out.print(
            f"{len(c.unresolved)} digests were interrupted mid-send and no provider event "
            "says whether they arrived (SEND_UNRESOLVED=fail):",
            markup=False,
        )
        for digest_id, email in c.unresolved:
            out.print(f"  digest {digest_id}: {email}", markup=False)
        out.print(f"resend them with: paperboy runs resend {c.run_id}", markup=False)
    if state == "stalled":
        out.print(
            "stalled: nothing is moving this run (no progress, no retry scheduled); beat's "
            "reaper hands its lost work out again",
            markup=False,
        )
    if beat:
        out.print(f"warning: {beat}", markup=False)


def watch(run_id: int, work: Callable[[], object]) -> None:
    """Start `work` (in-process: it sends; with a broker: it enqueues) and show the run's
    progress until it is no longer running; then its counts."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as e:  # shown below, after the progress bar
            failure.append(e)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    if not settings().tasks_in_process:
        console.print("[dim]workers send; Ctrl-C stops watching, not the run[/]")
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        bar = progress.add_task("sending", total=None)
        while True:
            c = _counts(run_id, detail=False)
            progress.update(
                bar,
                total=c.planned,
                completed=c.planned - c.pending,
                description=f"run {run_id}: {c.sent} sent, {c.failed} failed, {c.skipped} skipped",
            )
            if not thread.is_alive() and (c.state != "running" or settings().tasks_in_process):
                break
            time.sleep(POLL_SECONDS)
    thread.join()
    show(run_id)
    if failure:
        raise failure[0]


@app.command("list")
def list_(
    limit: Annotated[int, typer.Option(metavar="N", help="How many runs, latest first.")] = 20,
) -> None:
    """The latest runs: edition, start, duration, rate and state."""
    from models import session_scope
    from worker.delivery import overview

    ready_database()
    with session_scope() as session:
        lines = overview.recent_runs(session, limit)
    if not lines:
        console.print("no send run yet: `paperboy send` starts one")
        return
    table = Table(box=None, pad_edge=False)
    for name in ("run", "edition", "started (UTC)", "took", "sent", "planned", "rate/s"):
        table.add_column(name, justify="left" if name in ("edition", "started (UTC)") else "right")
    table.add_column("state", overflow="fold")
    for line in lines:
        c = line.counts
        table.add_row(
            str(c.run_id),
            line.edition,
            f"{line.started:%Y-%m-%d %H:%M}",
            overview.duration(line.duration),
            str(c.sent),
            str(c.planned),
            f"{c.rate:.0f}" if c.rate else "-",
            c.state,
        )
    out.print(table)


@app.command()
def status(run: RunArg = None) -> None:
    """The run's state and counts (planned, sent, failed by reason, skipped, bounced, rate)."""
    ready_database()
    show(_run(run).id)


@app.command()
def pause(run: RunArg = None) -> None:
    """Stop sending: workers take nothing more from this run (within a wave, ~a second)."""
    from models import session_scope
    from worker.delivery import runs

    ready_database()
    target = _run(run)
    _refuse_finished(target)
    with session_scope() as session:
        ok = runs.pause(session, target.id, "paused by an operator (`paperboy runs pause`)")
    if not ok:
        console.print(f"run {target.id} is {target.state}, not running")
        raise typer.Exit(1)
    console.print(f"run {target.id} paused")


@app.command()
def resume(run: RunArg = None) -> None:
    """Continue a paused run: its planned digests are handed out again (nobody twice)."""
    from models import session_scope
    from worker import tasks
    from worker.delivery import runs

    mode_line()
    ready_database()
    target = _run(run)
    _refuse_finished(target)
    with session_scope() as session:
        ok = runs.resume(session, target.id, operator=True)
        ids = runs.planned_ids(session, target.id)
    if not ok:
        console.print(f"run {target.id} is {target.state}, not paused")
        raise typer.Exit(1)
    watch(target.id, lambda: tasks.dispatch(target.id, ids))


@app.command()
def cancel(run: RunArg = None) -> None:
    """Stop the run for good: what it has not sent is recorded as skipped."""
    from models import session_scope
    from worker.delivery import runs

    ready_database()
    target = _run(run)
    _refuse_finished(target)
    with session_scope() as session:
        skipped = runs.cancel(session, target.id)
    console.print(f"run {target.id} cancelled; {skipped} unsent digests skipped")


@app.command()
def resend(run: RunArg = None) -> None:
    """Send the run's unresolved digests (interrupted, no provider event) after all."""
    from models import session_scope
    from worker import tasks
    from worker.delivery import runs

    mode_line()
    ready_database()
    target = _run(run)
    with session_scope() as session:
        ids = runs.resend_unresolved(session, target.id)
    if not ids:
        console.print(f"run {target.id} has no unresolved digests")
        return
    watch(target.id, lambda: tasks.dispatch(target.id, ids))

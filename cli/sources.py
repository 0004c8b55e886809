"""`paperboy fetch` and `paperboy sources status`: paper sources from the command line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.ui import console, mode_line, out, ready_database, settings

app = typer.Typer(help="Paper sources: `sources status`.", no_args_is_help=True)
ALL = "all"


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as e:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from e
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def fetch_sources(sources: list[str], since: datetime | None = None) -> list:
    """Run each source with a live progress line; returns the recorded runs."""
    from worker.ingest.fetch import run_source

    config = settings()
    runs = []
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        for source in sources:
            bar = progress.add_task(f"{source}: first page", total=None)

            def on_page(run, page, bar=bar, source=source):
                progress.update(
                    bar,
                    description=f"{source} {page.label}: {run.fetched} fetched, {run.new} new, "
                    f"{run.updated} updated, {run.skipped} skipped",
                )

            runs.append(run_source(source, config, since=since, on_page=on_page))
            progress.remove_task(bar)
    for run in runs:
        line = (
            f"{run.source}: {run.status} in {run.duration_seconds:.1f}s; {run.fetched} fetched, "
            f"{run.new} new, {run.updated} updated, {run.skipped} skipped"
        )
        if run.skip_reasons:
            line += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(run.skip_reasons.items())) + ")"
        console.print(line, soft_wrap=True, markup=False)
        if run.error:
            console.print(f"[red]{run.source} error:[/] {run.error}", soft_wrap=True)
    return runs


def source_names(value: str) -> list[str]:
    """`all` or one registered source (asked at run time, so a registered one is known)."""
    from worker.ingest import registry

    if value == ALL:
        return [source.name for source in registry.fetchable()]
    try:
        return [registry.get(value, fetched=True).name]
    except ValueError as e:
        raise typer.BadParameter(f"{e}, or {ALL}", param_hint="--source") from e


def fetch(
    source: Annotated[
        str, typer.Option(metavar="NAME", help="Which source to fetch, by name, or all.")
    ] = ALL,
    since: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="Fetch papers from this date on (default: recent days)."),
    ] = None,
) -> None:
    """Fetch new papers from every registered source (or one, by name) and merge them."""
    names = source_names(source)
    when = _parse_since(since)
    mode_line()
    ready_database()
    runs = fetch_sources(names, when)
    _show_trending()
    if any(run.status != "ok" for run in runs):
        raise typer.Exit(1)


def _show_trending(n: int = 3) -> None:
    """The papers the ranking will boost most: the one trending score, on the stored signals."""
    from sqlmodel import col, select

    from models import Paper, session_scope, utcnow
    from worker.ranking.planning import paper_doc, trending_today

    now = utcnow()
    with session_scope() as session:
        papers = session.exec(
            select(Paper).where(Paper.upvotes > 0).order_by(col(Paper.upvotes).desc()).limit(50)
        ).all()
    by_id = {p.id: p for p in papers}
    for pick in trending_today([paper_doc(p, now) for p in papers])[:n]:
        p = by_id[pick.paper_id]
        out.print(f"trending {pick.score:.2f}: {p.title} ({p.upvotes} upvotes)", markup=False)


@app.command("status")
def status(
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="How many runs to show.")] = 10,
) -> None:
    """Each source's calendar (next expected announcement, silence past it), then the last
    fetch runs: what each source fetched, added, skipped and why, and errors."""
    from models import session_scope
    from worker.ingest.fetch import last_news, last_runs

    ready_database()
    with session_scope() as session:
        runs = last_runs(session, limit)
        news = last_news(session)
    _calendars(news)
    if not runs:
        out.print("no fetch runs yet: try `paperboy fetch`")
        return
    # Numbers in the table, words under it: the table then fits an 80-column terminal.
    # No box: its borders cost the columns their headers at 80 columns.
    table = Table(title="Last source runs (UTC)", box=None, pad_edge=False)
    for column in ("run", "source", "started", "status"):
        table.add_column(column, no_wrap=True)
    for column in ("fetched", "new", "updated", "skipped", "secs"):
        table.add_column(column, justify="right", no_wrap=True)
    details = []
    for run in runs:
        seconds = run.duration_seconds
        table.add_row(
            str(run.id),
            run.source,
            f"{run.started_at:%m-%d %H:%M}",
            run.status,
            str(run.fetched),
            str(run.new),
            str(run.updated),
            str(run.skipped),
            "-" if seconds is None else f"{seconds:.1f}",
        )
        lines = [f"window {run.window}"]
        if run.skip_reasons:
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(run.skip_reasons.items()))
            lines.append(f"skipped: {reasons}")
        if run.error:
            lines.append(f"error: {run.error}")
        details.append(f"run {run.id} ({run.source}): " + "; ".join(lines))
    out.print(table)
    for line in details:
        out.print(line, markup=False, soft_wrap=True)


def _calendars(news: dict[str, datetime]) -> None:
    """One row per fetched source: its last new paper, its next expected announcement, and
    SILENT when an announcement it should have brought by now (past its lag) never came."""
    from models import utcnow
    from worker.ingest import registry

    now = utcnow()
    table = Table(title="Sources (UTC)", box=None, pad_edge=False)  # fits 80 columns
    for column in ("source", "last new paper", "next expected", "state"):
        table.add_column(column, no_wrap=True)
    for source in registry.fetchable():
        last = news.get(source.name)
        expected = registry.next_announcement(source.name, now)
        missed = registry.silent_since(source.name, last, now)
        table.add_row(
            source.name,
            "never" if last is None else f"{last:%m-%d %H:%M}",
            "-" if expected is None else f"{expected:%a %m-%d %H:%M}",
            f"[red]SILENT since {missed:%a %m-%d %H:%M}[/]" if missed else "ok",
        )
    out.print(table)

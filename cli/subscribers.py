"""`paperboy subscribe` and `paperboy subscribers import/export`: subscribers from the command
line, validated exactly as the web forms validate them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.ui import console, ready_database

app = typer.Typer(help="Import and export subscribers (CSV or JSONL).", no_args_is_help=True)
NO_PROFILE = (
    "no interests or papers of their own: this reader's digests hold the day's trending papers"
)


def subscribe(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The address to add.")],
    interests: Annotated[
        str | None,
        typer.Option(metavar="WORDS", help="What you want to read about, in your words."),
    ] = None,
    category: Annotated[
        list[str], typer.Option(metavar="CATEGORY", help="arXiv category to favour (repeatable).")
    ] = [],  # noqa: B006
    author: Annotated[
        list[str], typer.Option(metavar="NAME", help="Author to follow (repeatable).")
    ] = [],  # noqa: B006
    max_papers: Annotated[int | None, typer.Option(metavar="N", help="Papers per digest.")] = None,
    source: Annotated[
        list[str],
        typer.Option(
            metavar="SOURCE",
            help="A source to read, as `paperboy sources status` names it, e.g. biorxiv "
            "(repeatable; default: arxiv and hf).",
        ),
    ] = [],  # noqa: B006
    seed: Annotated[
        list[str],
        typer.Option(
            metavar="ID_OR_URL",
            help="One of your papers: arXiv id, arXiv URL or DOI (repeatable). It counts as a "
            "liked paper and is never sent back.",
        ),
    ] = [],  # noqa: B006
    seed_file: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Your papers from a file: .bib, .ris, or one id or URL per line.",
        ),
    ] = None,
) -> None:
    """Add (or update) a confirmed subscriber from the command line. Seeds not stored yet are
    looked up on arXiv; each one that cannot be used is reported by line (exit status 1)."""
    from pydantic import ValidationError

    from config import get_settings
    from models import feedback, seeds, session_scope, subscribers
    from worker.ingest.seeds import resolve

    ready_database()
    try:
        given_seeds = _seeds(seed, seed_file)
    except ValueError as e:
        console.print(f"[red]{e}[/]", highlight=False)
        raise typer.Exit(2) from e
    resolved = resolve(given_seeds, get_settings()) if given_seeds else None
    given = {
        "interests": interests,
        "categories": category or None,
        "authors": author or None,
        "max_papers": max_papers,
        "sources": source or None,
    }
    try:
        with session_scope() as session:
            sub = subscribers.subscribe(
                session,
                email,
                confirmed=True,
                **{k: v for k, v in given.items() if v is not None},
            )
            liked = seeds.add_seeds(session, sub.id, resolved.paper_ids) if resolved else 0
            console.print(f"subscribed {sub.email} (id {sub.id})")
            if not sub.interests and not feedback.voted_papers(session, sub.id, 1, limit=1):
                console.print(NO_PROFILE)
    except subscribers.InvalidEmail as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(2) from e
    except ValidationError as e:
        for line in subscribers.readable_errors(e):
            console.print(f"[red]{line}[/]")
        raise typer.Exit(2) from e
    if resolved is not None:
        console.print(f"{liked} of your papers added as liked papers")
        for problem in resolved.problems:
            console.print(f"[red]{problem.describe()}[/]", highlight=False, soft_wrap=True)
        if resolved.problems:
            raise typer.Exit(1)


def _seeds(given: list[str], file: Path | None) -> list:
    """--seed values (numbered in the order given) and the --seed-file's seeds (by line)."""
    from dataclasses import replace

    from models import seeds

    found = [replace(s, origin="--seed ") for s in seeds.parse_lines("\n".join(given))]
    if file is not None:
        text = seeds.decode(file.name, file.read_bytes())
        found += seeds.parse_file(file.name, text, origin=f"{file.name}:")
    seeds.check_count(found)
    return found


FormatOption = Annotated[
    str | None,
    typer.Option("--format", metavar="FORMAT", help="csv or jsonl (default: from the file name)."),
]


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", exists=True, dir_okay=False, readable=True)
    ],
    confirmed: Annotated[
        bool,
        typer.Option(
            "--confirmed",
            help="The list already opted in elsewhere: add as active, send no confirm email.",
        ),
    ] = False,
    fmt: FormatOption = None,
    batch: Annotated[int, typer.Option(min=1, metavar="N", help="Rows per transaction.")] = 1000,
) -> None:
    """Import subscribers from CSV or JSONL: the sign-up columns (email, interests, categories,
    authors, frequency, timezone) or an `export --all` backup. New addresses get the double
    opt-in email unless --confirmed (a backup's rows keep their own status); addresses already
    known or suppressed are left alone; every invalid row is reported with its line. A file
    that cannot be read is refused before anything is imported. Run again after an
    interruption: every pending reader the file names gets the confirm email they missed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from models import session_scope
    from models.subscriber_files import (
        FileError,
        ImportCounts,
        check_file,
        import_batch,
        mark_confirm_sent,
        read_rows,
        text_lines,
    )
    from worker import tasks

    ready_database()
    kind = _format(fmt, file)
    counts = ImportCounts()
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
    try:
        with file.open("rb") as f:
            total = check_file(f, kind)
        with (
            file.open("rb") as f,
            Progress(*columns, TimeElapsedColumn(), console=console) as progress,
        ):
            task = progress.add_task("importing", total=total)
            rows = read_rows(text_lines(f), kind)
            while chunk := [row for _, row in zip(range(batch), rows, strict=False)]:
                with session_scope() as session:
                    import_batch(session, chunk, confirmed=confirmed, counts=counts)
                # after commit (the rows exist before the tasks), then remembered as sent
                for subscriber_id in counts.unconfirmed:
                    tasks.send_notice.delay("confirm", subscriber_id)
                with session_scope() as session:
                    mark_confirm_sent(session, counts.unconfirmed)
                counts.unconfirmed.clear()
                progress.advance(task, len(chunk))
    except FileError as e:
        console.print(f"[red]{file.name}:{e}[/]", highlight=False)
        if counts.added:
            console.print(f"added {len(counts.added)} before that line; fix it and run again")
        raise typer.Exit(1) from e
    for error in counts.errors:
        console.print(f"[red]{file.name}:{error.removeprefix('line ')}[/]", highlight=False)
    state = "active" if confirmed else "pending, confirmation email sent"
    console.print(
        f"added {len(counts.added)} ({state}); {counts.existing} already subscribed, "
        f"{counts.suppressed} suppressed, {len(counts.errors)} invalid"
    )
    if counts.errors:
        raise typer.Exit(1)


@app.command("export")
def export(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="File to write (default: stdout)."),
    ] = None,
    fmt: FormatOption = None,
    every: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every subscriber in every status, with every field, likes, dislikes and "
            "dates: a backup that imports back unchanged.",
        ),
    ] = False,
) -> None:
    """Export the active subscribers in the import format (JSONL on stdout by default), or
    with --all everyone, whole."""
    import sys

    from models import session_scope
    from models.subscriber_files import ALL_COLUMNS, COLUMNS, exportable, write_rows

    ready_database()
    kind = _format(fmt, output) if output else (fmt or "jsonl")
    columns = ALL_COLUMNS if every else COLUMNS
    with session_scope() as session:
        records = exportable(session, every=every)
        if output is None:
            count = write_rows(records, sys.stdout, kind, columns)
        else:
            with output.open("w", encoding="utf-8", newline="") as f:
                count = write_rows(records, f, kind, columns)
    console.print(f"exported {count} subscribers" + (f" to {output}" if output else ""))


def _format(fmt: str | None, path: Path) -> str:
    """--format when given, else the file's suffix."""
    from models.subscriber_files import format_of

    if fmt is not None:
        if fmt not in ("csv", "jsonl"):
            raise typer.BadParameter("csv or jsonl", param_hint="--format")
        return fmt
    try:
        return format_of(path)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="FILE") from e

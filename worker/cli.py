"""The `paperboy` command line: the demo, each pipeline step, and offline ranking."""

from __future__ import annotations

import json
import sys
import time
import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import col, select

from config import ConfigError, get_settings
from worker.cli_sources import load_online, register

app = typer.Typer(
    help="Paperboy: personalized research-paper digests, by email.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
register(app)  # fetch, sources status
console = Console(stderr=True)
out = Console()

DEMO_SUBSCRIBERS = [
    ("ada@example.com", "graph neural networks, message passing and node classification"),
    ("grace@example.com", "image segmentation, semantic segmentation, medical imaging"),
    ("alan@example.com", "reinforcement learning, policy gradient, exploration, robotics"),
]


def _settings():
    try:
        return get_settings()
    except ConfigError as e:
        console.print(f"[red]configuration error:[/] {e}")
        raise typer.Exit(2) from e


def _mode_line() -> None:
    s = _settings()
    db = (
        "SQLite " + s.db_url.removeprefix("sqlite:///")
        if s.is_embedded
        else "database from DATABASE_URL"
    )
    tasks = "tasks run in-process (no REDIS_URL)" if s.tasks_in_process else "tasks go to Redis"
    console.print(f"[dim]{db}; {tasks}; mail via {s.mail_backend}[/]", soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (the same scripts on SQLite and PostgreSQL)."""
    from models import upgrade

    _settings()
    upgrade()
    console.print("database is at the latest migration")


def _load_sample() -> tuple[int, int]:
    from models import session_scope
    from worker.ingest import upsert_papers
    from worker.sources.sample import sample_papers

    with session_scope() as session:
        counts = upsert_papers(session, sample_papers(), source="sample")
    return counts.new, counts.fetched


@app.command()
def demo(
    online: Annotated[bool, typer.Option("--online", help="Fetch arXiv and HF papers.")] = False,
) -> None:
    """Run the whole pipeline on embedded defaults and show where the emails went."""
    from models import Digest, Subscriber, session_scope, upgrade
    from worker import subscribers, tasks

    settings = _settings()
    started = time.perf_counter()
    _mode_line()
    upgrade()
    new, total = load_online() if online else _load_sample()
    console.print(f"{'fetched' if online else 'sample'} papers: {total} in, {new} new")
    with session_scope() as session:
        for email, interests in DEMO_SUBSCRIBERS:
            if subscribers.find(session, email) is None:
                subscribers.subscribe(
                    session, email, interests=interests, confirmed=True, source="demo"
                )
    planned = tasks.plan_due(ignore_send_hour=True)
    if not planned["planned"]:
        console.print("nothing new to send: every demo subscriber already has today's edition")
    _digest_table(settings, [e for e, _ in DEMO_SUBSCRIBERS], Digest, Subscriber)
    console.print(f"[dim]done in {time.perf_counter() - started:.1f}s[/]")


def _digest_table(settings, emails, Digest, Subscriber) -> None:
    from emails.backends.outbox import OutboxBackend
    from emails.tokens import link
    from models import DigestItem, Paper, session_scope

    secret, base_url = settings.signing_key(), settings.base_url

    table = Table(title="Today's digests")
    for column in ("subscriber", "papers", "status", "top pick", "file"):
        table.add_column(column, overflow="fold")
    outbox = OutboxBackend(settings.outbox_path)
    preview = None
    preference_links = []
    with session_scope() as session:
        rows = session.exec(
            select(Subscriber, Digest)
            .join(Digest, col(Digest.subscriber_id) == Subscriber.id)
            .where(col(Subscriber.email).in_(emails))
            .order_by(Subscriber.email, col(Digest.id).desc())
        ).all()
        shown = set()
        for sub, digest in rows:
            if sub.email in shown:
                continue
            shown.add(sub.email)
            preference_links.append(
                (sub.email, link(base_url, secret, "preferences", sub.id, sub.token_version))
            )
            items = session.exec(
                select(DigestItem, Paper)
                .join(Paper)
                .where(DigestItem.digest_id == digest.id)
                .order_by(DigestItem.rank)
            ).all()
            path = outbox.path_for(f"digest-{digest.id}")
            top = items[0][1].title if items else "-"
            table.add_row(
                sub.email, str(len(items)), digest.status, top, str(path) if path.exists() else "-"
            )
            if preview is None and path.exists():
                preview = _write_preview(path, settings.paperboy_home / "preview.html")
    out.print(table)
    if preview:
        out.print(f"HTML preview: {preview}")
        out.print(f"Outbox: {settings.outbox_path}")
    if preference_links:
        out.print("Preference pages (open them after `paperboy serve`):")
        for email, url in preference_links:
            out.print(f"  {email}: {url}", soft_wrap=True, markup=False)


def _write_preview(eml: Path, target: Path) -> Path:
    from email import message_from_bytes
    from email.policy import default

    msg = message_from_bytes(eml.read_bytes(), policy=default)
    target.write_text(msg.get_body(("html",)).get_content(), encoding="utf-8")
    return target


@app.command()
def subscribe(
    email: str,
    interests: Annotated[
        str, typer.Option(help="What you want to read about, in your words.")
    ] = "",
    category: Annotated[
        list[str], typer.Option(help="arXiv category to favour (repeatable).")
    ] = [],  # noqa: B006
    author: Annotated[list[str], typer.Option(help="Author to follow (repeatable).")] = [],  # noqa: B006
    max_papers: Annotated[int, typer.Option(min=1, max=25)] = 10,
) -> None:
    """Add (or update) a confirmed subscriber from the command line."""
    from models import session_scope, upgrade
    from worker import subscribers

    _settings()
    upgrade()
    try:
        with session_scope() as session:
            sub = subscribers.subscribe(
                session,
                email,
                interests=interests,
                categories=category,
                authors=author,
                max_papers=max_papers,
                confirmed=True,
            )
            console.print(f"subscribed {sub.email} (id {sub.id})")
    except subscribers.InvalidEmail as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(2) from e


@app.command()
def plan(
    now: Annotated[bool, typer.Option("--now", help="Ignore each subscriber's send hour.")] = False,
) -> None:
    """Plan the current edition for every due subscriber (and send it)."""
    from worker import tasks

    _settings()
    _mode_line()
    result = tasks.plan_due(ignore_send_hour=now)
    console.print(
        f"planned {result['planned']} digests, {result['empty']} with nothing relevant, "
        f"{result['already']} already planned"
    )


@app.command()
def send() -> None:
    """Send every planned digest (retries included); stale sends are recorded as failed."""
    from worker import tasks

    _settings()
    _mode_line()
    result = tasks.send_due()
    console.print(
        f"enqueued {result['enqueued']} digests; {result['stale_failed']} stale sends "
        "recorded as failed"
    )


@app.command()
def preview(
    email: str,
    open_: Annotated[bool, typer.Option("--open", help="Open the HTML in a browser.")] = False,
) -> None:
    """Render EMAIL's latest digest to HTML and .eml without sending; print both paths."""
    from worker.previews import write_preview

    settings = _settings()
    try:
        html, eml = write_preview(settings, email)
    except LookupError as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(1) from e
    out.print(f"HTML: {html}\nEML:  {eml}", soft_wrap=True, highlight=False)
    if open_:
        webbrowser.open(html.resolve().as_uri())


RANK_BATCH = 10_000  # profiles ranked, then written, at a time: memory stays one batch's


def _read_jsonl(path: Path, what: str) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise typer.BadParameter(
                    f"{path}:{n}: not valid JSON ({e.msg})", param_hint=what
                ) from e
    return rows


@app.command()
def rank(
    papers: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Papers JSONL.")],
    profiles: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Profiles JSONL.")],
    top: Annotated[int, typer.Option(min=1, help="Papers per profile.")] = 10,
) -> None:
    """Offline ranking, no database: one JSON line per profile, best papers first."""
    from worker import relevance
    from worker.digests import fit_params, rank_params

    settings = _settings()
    now = time.time()
    try:
        docs = [relevance.doc_from_json(d, now) for d in _read_jsonl(papers, "--papers")]
        profs = [relevance.profile_from_json(d) for d in _read_jsonl(profiles, "--profiles")]
    except ValueError as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(2) from e
    model = relevance.Model.fit(docs, fit_params(settings))
    batches = (profs[i : i + RANK_BATCH] for i in range(0, len(profs), RANK_BATCH))
    done = 0
    for part in relevance.rank_batches(docs, batches, rank_params(settings, top), model=model):
        for profile_id, picks in part.items():  # written as each batch is ranked
            line = {
                "subscriber": profile_id,
                "papers": [
                    {"id": p.paper_id, "score": p.score, "reasons": list(p.reasons)} for p in picks
                ],
            }
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        done += len(part)
        if len(profs) > RANK_BATCH:
            console.print(f"ranked {done:,} of {len(profs):,} profiles", highlight=False)


@app.command()
def bench(
    only: Annotated[str | None, typer.Argument(help="Run one benchmark, e.g. 'render'.")] = None,
) -> None:
    """Run the benchmarks in bench/ (each prints a table with ratios vs the naive way)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    names = sorted(p.stem for p in (root / "bench").glob("bench_*.py"))
    if only:
        names = [n for n in names if n == f"bench_{only}"]
    if not names:
        console.print(
            "[red]no such benchmark[/]; available: "
            + ", ".join(p.stem.removeprefix("bench_") for p in (root / "bench").glob("bench_*.py"))
        )
        raise typer.Exit(2)
    for name in names:
        console.rule(name)
        subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=root, check=True)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the web app (subscribe, preferences, unsubscribe, feedback, webhooks)."""
    import uvicorn

    _settings()
    uvicorn.run("web.app:app", host=host, port=port)


if __name__ == "__main__":
    app()

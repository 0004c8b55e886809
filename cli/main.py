"""The `paperboy` command: each command group lives in its own module; this wires them up."""

from __future__ import annotations

import typer

from cli import admin, bench, db, demo, digests, rank, runs, serve, sources, subscribers
from cli.ui import readable_placeholders, settings

readable_placeholders()

app = typer.Typer(
    help="Paperboy: personalized research-paper digests, by email.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Paperboy: personalized research-paper digests, by email."""
    from config.logging import configure_logging

    # Commands say what they do themselves; library chatter (alembic, eager Celery tasks) is
    # for services. An explicit LOG_LEVEL still wins.
    config = settings()
    configure_logging(config.log_level if "log_level" in config.model_fields_set else "WARNING")


app.command()(demo.demo)
app.command()(sources.fetch)
app.add_typer(sources.app, name="sources")
app.add_typer(db.app, name="db")
app.command()(subscribers.subscribe)
app.add_typer(subscribers.app, name="subscribers")
app.command()(digests.plan)
app.command()(digests.send)
app.command()(digests.preview)
app.add_typer(runs.app, name="runs")
app.add_typer(admin.app, name="admin")
app.command()(rank.rank)
app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    bench.bench
)
app.command()(serve.serve)

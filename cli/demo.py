"""`paperboy demo`: the whole pipeline on embedded defaults, then where the emails went."""

from __future__ import annotations

import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import col, select

from cli.ui import console, mode_line, out, ready_database
from config import Settings

DEMO_SUBSCRIBERS = [
    ("ada@example.com", "graph neural networks, message passing and node classification"),
    ("grace@example.com", "image segmentation, semantic segmentation, medical imaging"),
    ("alan@example.com", "reinforcement learning, policy gradient, exploration, robotics"),
]


def demo(
    online: Annotated[bool, typer.Option("--online", help="Fetch from every source.")] = False,
) -> None:
    """Run the whole pipeline on embedded defaults and show where the emails went."""
    from cli.sources import ALL, fetch_sources, source_names
    from models import session_scope, subscribers
    from worker import tasks
    from worker.ingest.fetch import load_sample

    started = time.perf_counter()
    mode_line()
    settings = ready_database()
    if online:
        runs = fetch_sources(source_names(ALL))
        new, total = sum(r.new for r in runs), sum(r.fetched for r in runs)
    else:
        counts = load_sample()
        new, total = counts.new, counts.fetched
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
    _digest_table(settings, [e for e, _ in DEMO_SUBSCRIBERS])
    console.print(f"[dim]done in {time.perf_counter() - started:.1f}s[/]")


def _digest_table(settings: Settings, emails: list[str]) -> None:
    from emails.providers.outbox import OutboxBackend
    from emails.tokens import link
    from models import Digest, DigestItem, Paper, Subscriber, digest_ref, session_scope

    secret, base_url = settings.signing_key(), settings.base_url
    # 80 columns: names and files whole (files are in the outbox printed below), the top
    # pick's title cut with an ellipsis.
    table = Table(title="Today's digests")
    fixed = {
        "subscriber": max(map(len, emails), default=10),
        "papers": len("papers"),
        "status": len("skipped"),
        "file": len("digest-0000.eml"),
    }
    room = out.width - sum(fixed.values()) - 3 * (len(fixed) + 1) - 1  # borders and padding
    for column in ("subscriber", "papers", "status", "top pick", "file"):
        width = fixed.get(column, max(room, 10))
        table.add_column(
            column, no_wrap=True, overflow="ellipsis", min_width=min(width, 10), max_width=width
        )
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
                (
                    sub.email,
                    link(
                        base_url,
                        secret,
                        "preferences",
                        subscriber_id=sub.id,
                        version=sub.token_version,
                    ),
                )
            )
            items = session.exec(
                select(DigestItem, Paper)
                .join(Paper)
                .where(DigestItem.digest_id == digest.id)
                .order_by(DigestItem.rank)
            ).all()
            path = outbox.path_for(digest_ref(digest.id))
            top = items[0][1].title if items else "-"
            table.add_row(
                sub.email, str(len(items)), digest.status, top, path.name if path.exists() else "-"
            )
            if preview is None and path.exists():
                preview = _html_of(path, settings.paperboy_home / "preview.html")
    out.print(table)
    if preview:
        out.print(f"HTML preview: {preview}")
        out.print(f"Outbox: {settings.outbox_path}")
    if preference_links:
        out.print("Preference pages (open them after `paperboy serve`):")
        for email, url in preference_links:
            out.print(f"  {email}: {url}", soft_wrap=True, markup=False)


def _html_of(eml: Path, target: Path) -> Path:
    """The HTML part of a sent .eml, as a file a browser opens."""
    msg = message_from_bytes(eml.read_bytes(), policy=default)
    target.write_text(msg.get_body(("html",)).get_content(), encoding="utf-8")
    return target

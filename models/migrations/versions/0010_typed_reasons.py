"""digests: typed reasons — each stored reason string becomes {"kind", "text", ...}

The old strings are read by the prefixes the old renderer parsed them by ("trending",
"trending: N upvotes", "by A", "like T", else a phrase); the downgrade writes them back.
Self-contained on purpose: a migration must not change when models/reasons.py does.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00

"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAGE = 5000  # digest items read and rewritten at a time

item = sa.table(
    "digest_item",
    sa.column("digest_id", sa.Integer),
    sa.column("paper_id", sa.String),
    sa.column("reasons", sa.JSON),
)


def typed(reason: str | dict) -> dict:
    if isinstance(reason, dict):
        return reason
    if reason == "trending":
        return {"kind": "popular", "text": "popular today"}
    if reason.startswith("trending:"):
        text = reason.removeprefix("trending:").strip()
        count = text.split(" ", 1)[0]
        return {"kind": "trending", "text": text} | (
            {"upvotes": int(count)} if count.isdigit() else {}
        )
    if reason.startswith("by "):
        return {"kind": "author", "text": reason[3:]}
    if reason.startswith("like "):
        return {"kind": "liked", "text": reason[5:]}
    return {"kind": "phrase", "text": reason}


def legacy(reason: str | dict) -> str:
    if isinstance(reason, str):
        return reason
    text = reason["text"]
    return {
        "popular": "trending",
        "trending": f"trending: {text}",
        "author": f"by {text}",
        "liked": f"like {text}",
    }.get(reason["kind"], text)


def _rewrite(convert: Callable[[str | dict], str | dict]) -> None:
    """Every digest item's reasons through `convert`, a page at a time in key order."""
    conn = op.get_bind()
    after = None
    while True:
        query = sa.select(item.c.digest_id, item.c.paper_id, item.c.reasons)
        if after is not None:
            query = query.where(sa.tuple_(item.c.digest_id, item.c.paper_id) > after)
        rows = conn.execute(query.order_by(item.c.digest_id, item.c.paper_id).limit(PAGE)).all()
        if not rows:
            return
        changed = [
            {"d": d, "p": p, "r": new}
            for d, p, reasons in rows
            if (new := [convert(r) for r in reasons or []]) != reasons
        ]
        if changed:
            conn.execute(
                item.update()
                .where(item.c.digest_id == sa.bindparam("d"), item.c.paper_id == sa.bindparam("p"))
                .values(reasons=sa.bindparam("r")),
                changed,
            )
        after = tuple(rows[-1][:2])


def upgrade() -> None:
    _rewrite(typed)


def downgrade() -> None:
    _rewrite(legacy)

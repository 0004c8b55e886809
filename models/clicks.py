"""Papers a reader opened from a digest (the signed title link): a soft like, weighed below
"more like this" and never shown as a like. Only a person's clicks count: a link scanner opens
every link of an email within seconds of delivery, a prefetcher fetches without a browser.
The two tests are pure functions; `record` applies them at the edge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from config.settings import Settings
from models.db import among
from models.tables import Click, Digest, DigestItem


def prefetched(method: str, headers: Mapping[str, str]) -> bool:
    """A HEAD, a declared prefetch or preview, or no browser's User-Agent (every browser
    sends "Mozilla/"): a machine fetching the link, not a person opening the paper."""
    if method.upper() != "GET":
        return True
    purpose = " ".join(headers.get(h, "") for h in ("sec-purpose", "purpose", "x-moz")).lower()
    if "prefetch" in purpose or "preview" in purpose:
        return True
    return "mozilla/" not in headers.get("user-agent", "").lower()


def scanned(
    clicked_at: datetime,
    sent_at: datetime | None,
    others: Sequence[datetime],
    settings: Settings,
) -> bool:
    """Too soon after delivery, or one of a burst over the digest's links (`others`: when its
    other links were opened)."""
    if sent_at and (clicked_at - sent_at).total_seconds() < settings.click_min_seconds:
        return True
    near = [
        t for t in others if abs((clicked_at - t).total_seconds()) <= settings.click_burst_seconds
    ]
    return len(near) + 1 >= settings.click_burst_links


def record(
    session: Session,
    *,
    subscriber_id: int,
    digest_id: int,
    paper_id: str,
    at: datetime,
    settings: Settings,
) -> Click | None:
    """Count the click once per digest and paper (a replayed link changes nothing); None if
    that digest did not carry that paper to that reader. A click in a burst marks the burst's
    earlier clicks as the scanner's too."""
    digest = session.get(Digest, digest_id)
    carried = session.exec(
        select(DigestItem.paper_id).where(
            DigestItem.digest_id == digest_id, DigestItem.paper_id == paper_id
        )
    ).first()
    if digest is None or digest.subscriber_id != subscriber_id or carried is None:
        return None
    earlier = list(session.exec(select(Click).where(Click.digest_id == digest_id)))
    for click in earlier:
        if click.paper_id == paper_id:
            return click
    human = not scanned(at, digest.sent_at, [c.clicked_at for c in earlier], settings)
    if not human:
        for click in earlier:
            if abs((at - click.clicked_at).total_seconds()) <= settings.click_burst_seconds:
                click.human = False
                session.add(click)
    try:
        with session.begin_nested():  # the same link opened twice at once: one row
            row = Click(
                subscriber_id=subscriber_id,
                digest_id=digest_id,
                paper_id=paper_id,
                human=human,
                clicked_at=at,
            )
            session.add(row)
    except IntegrityError:
        return None
    session.flush()
    return row


def opened(session: Session, subscriber_ids: list[int]) -> dict[int, list[str]]:
    """The papers each reader opened, a person's clicks only."""
    out: dict[int, list[str]] = {s: [] for s in subscriber_ids}
    rows = session.exec(
        select(Click.subscriber_id, Click.paper_id)
        .where(among(session, Click.subscriber_id, subscriber_ids), col(Click.human))
        .distinct()
    )
    for sid, pid in rows:
        out[sid].append(pid)
    return out

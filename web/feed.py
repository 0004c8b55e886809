"""`/feed/TOKEN`: a reader's own signed Atom feed of the papers picked for them, for a feed
reader. The token is per reader and revoked with their other links."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlmodel import col, select

from models import Digest, DigestItem, DigestStatus, Paper, session_scope, utcnow
from web.deps import FeedLink, SettingsDep, link_for
from web.formats import FeedEntry, atom

router = APIRouter()
FEED_ENTRIES = 50


@router.get("/feed/{token}")
def reader_feed(link: FeedLink, settings: SettingsDep) -> Response:
    with session_scope() as session:
        sub = link.subscriber(session)
        rows = session.exec(
            select(Paper, Digest)
            .join(DigestItem, col(DigestItem.paper_id) == Paper.id)
            .join(Digest, col(Digest.id) == DigestItem.digest_id)
            .where(
                Digest.subscriber_id == sub.id,
                Digest.status == DigestStatus.sent,
                DigestItem.section == "picks",
            )
            .order_by(col(Digest.sent_at).desc(), DigestItem.rank)
            .limit(FEED_ENTRIES)
        ).all()
        entries = [
            FeedEntry(
                paper=paper,
                picked_at=digest.sent_at or digest.planned_at,
                archive_url=link_for(settings, "digest", sub, digest_id=digest.id),
            )
            for paper, digest in rows
        ]
        body = atom(
            feed_url=link_for(settings, "feed", sub),
            title="Paperboy: papers picked for you",
            entries=entries,
            now=utcnow(),
        )
    return Response(body, media_type="application/atom+xml; charset=utf-8")

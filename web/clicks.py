"""A paper's title link in a digest: count the click (a person's, once), then open the paper."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from emails.render import web_url
from models import Paper, clicks, session_scope, utcnow
from web.deps import BadLink, ClickLink, SettingsDep
from web.pages import message

router = APIRouter()


@router.api_route("/r/{token}", methods=["GET", "HEAD"])
def open_paper(link: ClickLink, request: Request, settings: SettingsDep) -> Response:
    """The paper opens whatever happens to the click: a revoked link, a scanner or a
    prefetcher is simply not counted. A forged link never gets here (400, nothing changed)."""
    data = link.data
    with session_scope() as session:
        paper = session.get(Paper, data.paper_id) if data.paper_id else None
        url = web_url(paper.abs_url) if paper else None
        if url is None or data.digest_id is None:
            return message(
                "Paper not found",
                "This link names a paper we no longer have. Nothing was recorded.",
                status=404,
            )
        try:
            sub = link.subscriber(session)
        except BadLink:
            sub = None
        if sub and not clicks.prefetched(request.method, request.headers):
            clicks.record(
                session,
                subscriber_id=sub.id,
                digest_id=data.digest_id,
                paper_id=paper.id,
                at=utcnow(),
                settings=settings,
            )
    return RedirectResponse(url, status_code=303)

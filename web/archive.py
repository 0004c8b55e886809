"""A digest in the browser: the "view in browser" link every digest carries, and the
preferences page's list of past digests. Rendered by the one digest renderer, read-only."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from emails.render import build_digest
from models import Digest, session_scope
from web.deps import DigestLink, SettingsDep
from web.pages import message

router = APIRouter()


@router.get("/d/{token}")
def view_digest(link: DigestLink, settings: SettingsDep) -> Response:
    from worker.delivery.send import digest_context  # the mail providers load on first view

    with session_scope() as session:
        sub = link.subscriber(session)
        digest = session.get(Digest, link.data.digest_id)
        if digest is None or digest.subscriber_id != sub.id:
            return message("Digest not found", "We no longer have this digest.", status=404)
        html = build_digest(digest_context(session, digest, sub, settings)).html
    return HTMLResponse(html)

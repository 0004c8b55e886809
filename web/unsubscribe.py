"""Unsubscribe: a GET page with a button (scanners prefetch GETs) and RFC 8058 one-click POST."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from models import subscribers
from web.deps import SessionDep, SettingsDep, UnsubscribeLink, link_for
from web.notify import enqueue_notice
from web.pages import confirm_action, message

router = APIRouter()


@router.get("/u/{token}")
def unsubscribe_page(link: UnsubscribeLink) -> Response:
    return confirm_action(
        f"Unsubscribe {link.sub.email}?",
        "You will get no more digests. You can come back any time.",
        action=f"/u/{link.token}",
        button="Unsubscribe",
    )


@router.post("/u/{token}")
def unsubscribe(link: UnsubscribeLink, session: SessionDep, settings: SettingsDep) -> Response:
    """Mail providers POST `List-Unsubscribe=One-Click`; the page's button posts here too.

    The unsubscribe is committed before anything else runs, so a broker outage afterwards
    only costs the courtesy email (and is logged), never the unsubscribe itself.
    """
    first = subscribers.unsubscribe(session, link.sub, source="web:unsubscribe")
    session.commit()
    if first:
        enqueue_notice("unsubscribed", link.sub.id)
    return message(
        "You're unsubscribed",
        f"{link.sub.email} will get no more Paperboy digests.",
        link_url=link_for(settings, "preferences", link.sub),
        link_label="Changed your mind? Resubscribe",
    )

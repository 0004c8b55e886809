"""Unsubscribe: a GET page (scanners prefetch GETs) offering the gentler choices first (weekly
instead, a month's pause) and one button that unsubscribes; RFC 8058 one-click POST.

The unsubscribe link is never revoked, so these choices act only on the schedule: none of them
opens the preferences page, which a revoked (leaked) email must not reach.
"""

from __future__ import annotations

import calendar
from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import Response

from models import (
    Frequency,
    Subscriber,
    SubscriberStatus,
    schedule,
    session_scope,
    subscribers,
)
from web.deps import BadLink, Link, UnsubscribeLink
from web.pages import message, page

router = APIRouter()

PAUSE = timedelta(days=30)


@router.get("/u/{token}")
def unsubscribe_page(link: UnsubscribeLink) -> Response:
    with session_scope() as session:
        sub = link.subscriber(session)
    if sub.status != SubscriberStatus.active:
        return _left(sub.email)
    return page(
        "unsubscribe.html",
        title=f"Unsubscribe {sub.email}?",
        base=f"/u/{link.token}",
        offer_weekly=sub.frequency == Frequency.daily,
    )


@router.post("/u/{token}")
def unsubscribe(link: UnsubscribeLink) -> Response:
    """Mail providers POST `List-Unsubscribe=One-Click`; the page's button posts here too.

    One short transaction of two or three statements, committed before answering, and no
    email afterwards: this page is the confirmation, and a reader who just left must not hear
    from us again.
    """
    try:
        with session_scope() as session:
            email, _ = subscribers.record_unsubscribe(
                session, link.data.subscriber_id, source="web:unsubscribe"
            )
    except LookupError as e:
        raise BadLink("unsubscribe", "this unsubscribe link names no subscriber") from e
    return _left(email)


def _left(email: str) -> Response:
    return message(
        "You're unsubscribed",
        f"{email} will get no more Paperboy digests.",
        "Changed your mind? Sign up again with the same address any time.",
        link_url="/",
        link_label="Paperboy's sign-up page",
    )


@router.post("/u/{token}/weekly")
def weekly_instead(link: UnsubscribeLink) -> Response:
    sub = _change(link, {"frequency": Frequency.weekly})
    day = calendar.day_name[sub.send_weekday]
    return message("One digest a week", f"{sub.email} now gets one digest a week, on {day}s.")


@router.post("/u/{token}/pause")
def pause_a_month(link: UnsubscribeLink) -> Response:
    with session_scope() as session:
        sub = link.subscriber(session, for_update=True)
        until = schedule.local_today(sub) + PAUSE
        subscribers.update_preferences(session, sub, {"paused_until": until})
    return message(
        "Paused for a month",
        f"No digests to {sub.email} until {until:%A} {until.day} {until:%B}; then they resume.",
    )


def _change(link: Link, changes: dict) -> Subscriber:
    with session_scope() as session:
        sub = link.subscriber(session, for_update=True)
        subscribers.update_preferences(session, sub, changes)
        return sub

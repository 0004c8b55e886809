"""Change of email address: asked for on the preferences page, done from the new mailbox.

Nothing changes until the confirmation link sent to the new address is opened (and its page's
button pressed: link scanners open GET links), so a typo or a stranger cannot move a digest.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from models import session_scope, subscribers
from web.deps import EmailChangeLink, Link, PreferencesLink, SettingsDep, link_for
from web.notify import enqueue_notice
from web.pages import confirm_action, message
from web.ratelimit import check_mail_request, client_ip

router = APIRouter()


@router.post("/p/{token}/email")
async def change_email(request: Request, link: PreferencesLink, settings: SettingsDep) -> Response:
    new = str((await request.form()).get("new_email") or "")
    try:
        address = subscribers.normalize_email(new)
    except subscribers.InvalidEmail as e:
        return _not_changed(link, e)
    await run_in_threadpool(check_mail_request, settings, client_ip(request), address)
    return await run_in_threadpool(_request_change, link, address)


def _request_change(link: Link, address: str) -> Response:
    try:
        with session_scope() as session:
            sub = link.subscriber(session, for_update=True)
            subscribers.request_email_change(session, sub, address)
    except subscribers.InvalidEmail as e:
        return _not_changed(link, e)
    enqueue_notice("email_change", sub.id)
    return message(
        "Check your new inbox",
        f"We sent a confirmation link to {address}. Your digest keeps going to {sub.email} "
        "until you open it.",
        link_url=f"/p/{link.token}",
        link_label="Back to your preferences",
    )


def _not_changed(link: Link, error: Exception) -> Response:
    return message(
        "Address not changed",
        str(error),
        status=422,
        link_url=f"/p/{link.token}",
        link_label="Back to your preferences",
    )


@router.get("/e/{token}")
def confirm_change_page(link: EmailChangeLink) -> Response:
    with session_scope() as session:
        old = link.subscriber(session).email
    return confirm_action(
        f"Move your digest to {link.data.address}?",
        f"Paperboy digests now go to {old}. Confirm, and they come to {link.data.address}.",
        action=f"/e/{link.token}",
        button="Use this address",
    )


@router.post("/e/{token}")
def confirm_change(link: EmailChangeLink, settings: SettingsDep) -> Response:
    address = str(link.data.address)
    try:
        with session_scope() as session:
            sub = link.subscriber(session, for_update=True)
            if sub.email != address:
                subscribers.confirm_email_change(session, sub, address)
    except (LookupError, subscribers.EmailTaken) as e:
        return message("Address not changed", f"{e}. Nothing was changed.", status=409)
    return message(
        "Address changed",
        f"Your digests now go to {address}.",
        link_url=link_for(settings, "preferences", sub),
        link_label="Your preferences",
    )

"""Double opt-in: the sign-up form, POST /subscribe (form or JSON), "email me my link", and the
confirm link (a page with a button: link scanners open GET links).

The answer to a sign-up never depends on whether the address is known: only its syntax and
the rate limits are checked before answering; looking the address up, writing and enqueueing
the email happen after the response is sent.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from config import Settings, get_settings
from models import (
    Frequency,
    Subscriber,
    SubscriberStatus,
    schedule,
    session_scope,
    subscribers,
    utcnow,
)
from web.deps import ConfirmLink, SettingsDep, link_for
from web.notify import enqueue_notice
from web.pages import confirm_action, message, page
from web.ratelimit import check_mail_request, client_ip

router = APIRouter()
log = logging.getLogger(__name__)

CHECK_INBOX = (
    "If this address can receive Paperboy, an email is on its way: a confirmation link for a "
    "new subscription, or your preferences link if you already subscribe. Nothing else is "
    "sent until you click it."
)
LINK_SENT = (
    "If this address subscribes to Paperboy, a fresh link to your preferences is on its way."
)
SIGN_UP_FIELDS = ("interests", "categories", "frequency", "timezone")


def _form(**context: Any) -> dict[str, Any]:
    return {
        "title": "Subscribe to Paperboy",
        "errors": [],
        "link_errors": [],
        "email": "",
        "link_email": "",
        "interests": "",
        "categories": [],
        "frequency": "daily",
        "frequencies": [f.value for f in Frequency if f != Frequency.off],
        "offered_categories": get_settings().arxiv_categories,
        **context,
    }


@router.get("/")
def home() -> Response:
    return page("subscribe.html", **_form())


@router.post("/subscribe")
async def subscribe(request: Request, settings: SettingsDep) -> Response:
    wants_json = request.headers.get("content-type", "").startswith("application/json")
    data: dict[str, Any] = {}
    try:
        data = await _read(request, wants_json)
        email = subscribers.normalize_email(str(data.get("email") or ""))
        chosen = {k: data[k] for k in SIGN_UP_FIELDS if data.get(k) not in (None, "", [])}
        preferences = subscribers.validate_preferences(chosen)
    except subscribers.InvalidEmail as e:
        return _invalid(wants_json, [f"{e}. Enter an address like name@example.org."], data)
    except ValidationError as e:
        return _invalid(wants_json, subscribers.readable_errors(e), data)
    except ValueError as e:
        return _invalid(wants_json, [str(e)], data)
    await run_in_threadpool(check_mail_request, settings, client_ip(request), email)
    task = BackgroundTask(_send_subscription_mail, email, preferences, settings)
    if wants_json:
        return JSONResponse({"message": CHECK_INBOX}, background=task)
    response = message("Check your inbox", CHECK_INBOX)
    response.background = task
    return response


@router.post("/link")
async def email_my_link(request: Request, settings: SettingsDep) -> Response:
    """A reader who lost (or revoked) every link gets a fresh one: same answer for any address."""
    form = await request.form()
    raw = str(form.get("email") or "")
    try:
        email = subscribers.normalize_email(raw)
    except subscribers.InvalidEmail as e:
        return page("subscribe.html", status=422, **_form(link_errors=[str(e)], link_email=raw))
    await run_in_threadpool(check_mail_request, settings, client_ip(request), email)
    response = message("Check your inbox", LINK_SENT)
    response.background = BackgroundTask(_send_link_mail, email, settings)
    return response


async def _read(request: Request, wants_json: bool) -> dict[str, Any]:
    if not wants_json:
        form = await request.form()
        data = {k: v for k, v in form.items() if isinstance(v, str)}
        return data | {"categories": [v for v in form.getlist("categories") if isinstance(v, str)]}
    try:
        data = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"the request body is not valid JSON: {e}") from e
    except RecursionError:
        raise ValueError("the request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError('send a JSON object like {"email": "...", "interests": "..."}')
    if isinstance(data.get("interests"), list):
        data["interests"] = ", ".join(str(i) for i in data["interests"])
    return data


def _invalid(wants_json: bool, errors: list[str], data: dict[str, Any]) -> Response:
    if wants_json:
        return JSONResponse({"detail": "; ".join(errors)}, status_code=422)
    shown: dict[str, Any] = {k: str(data.get(k) or "") for k in ("email", "interests")}
    chosen = data.get("categories")
    shown["categories"] = (
        [c for c in chosen if isinstance(c, str)] if isinstance(chosen, list) else []
    )
    if data.get("frequency") in ("daily", "weekly"):
        shown["frequency"] = str(data["frequency"])
    return page("subscribe.html", status=422, **_form(errors=errors, **shown))


def _send_subscription_mail(email: str, preferences: dict[str, Any], settings: Settings) -> None:
    with session_scope() as session:
        mail = subscribers.request_subscription(
            session, email, preferences=preferences, now=utcnow(), resend_after=_interval(settings)
        )
    _enqueue(mail)


def _send_link_mail(email: str, settings: Settings) -> None:
    with session_scope() as session:
        mail = subscribers.request_link(
            session, email, now=utcnow(), resend_after=_interval(settings)
        )
    _enqueue(mail)


def _interval(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.confirm_resend_minutes)


def _enqueue(mail: tuple[str, int] | None) -> None:
    """After the answer: a broker outage cannot change it, so free the slot (and log) for a
    retry to work at once."""
    if mail is None:
        return
    kind, subscriber_id = mail
    if not enqueue_notice(kind, subscriber_id):
        with session_scope() as session:
            subscribers.release_confirm_slot(session, subscriber_id)


@router.get("/c/{token}")
def confirm_page(link: ConfirmLink, settings: SettingsDep) -> Response:
    with session_scope() as session:
        sub = link.subscriber(session)
    if sub.status == SubscriberStatus.active:
        return _subscribed(sub, settings)
    return confirm_action(
        f"Confirm {sub.email}?",
        "One click and your personalized research digest starts.",
        action=f"/c/{link.token}",
        button="Confirm my subscription",
    )


@router.post("/c/{token}")
def confirm(link: ConfirmLink, settings: SettingsDep) -> Response:
    """Idempotent: the first click activates and sends the welcome email; later ones just say so."""
    with session_scope() as session:
        sub = link.subscriber(session, for_update=True)
        first = subscribers.confirm_requested(session, sub, source="web:confirm")
    if first:
        enqueue_notice("welcome", sub.id)
    if sub.status != SubscriberStatus.active:
        return message(
            "Subscription not activated",
            f"{sub.email} is {sub.status}, so this confirmation link does not apply any more.",
            "To subscribe again, use the sign-up form.",
            status=409,
            link_url="/",
            link_label="Sign up",
        )
    return _subscribed(sub, settings)


def _subscribed(sub: Subscriber, settings: Settings) -> Response:
    return message(
        "You're subscribed",
        f"Digests will go to {sub.email}. {first_digest_line(sub, utcnow())}",
        "Tune your interests, authors and schedule any time.",
        link_url=link_for(settings, "preferences", sub),
        link_label="Set your preferences",
    )


def first_digest_line(sub: Subscriber, now: datetime) -> str:
    """When the first digest arrives, in the reader's time zone, by the planner's own rule
    (`models.schedule`)."""
    if sub.frequency == Frequency.off:
        return "You chose no digests for now: turn them on in your preferences."
    local = schedule.local_time(sub, now)
    day = schedule.next_edition_day(sub, local)
    if day == local.date() and local.hour >= sub.send_hour:
        return "Your first digest goes out with the next edition, within about 15 minutes."
    named = "today" if day == local.date() else f"on {day:%A} {day.day} {day:%B}"
    return f"Your first digest arrives {named} at about {sub.send_hour:02d}:00 ({sub.timezone})."

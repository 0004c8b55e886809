"""Double opt-in: the sign-up form, POST /subscribe (form or JSON) and the confirm link."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from config import Settings
from models import SubscriberStatus, session_scope, subscribers, utcnow
from web.deps import ConfirmLink, SessionDep, SettingsDep, link_for
from web.notify import enqueue_notice
from web.pages import message, page

router = APIRouter()

CHECK_INBOX = (
    "If this address can receive Paperboy, a confirmation link is on its way. "
    "Nothing is sent until you click it."
)
TRY_LATER = "We could not send the confirmation email just now. Nothing was lost: please try again."


@dataclass(frozen=True)
class SignUp:
    email: str = ""
    interests: str = ""


@router.get("/")
def home() -> Response:
    return page("subscribe.html", title="Subscribe to Paperboy", errors=[], email="", interests="")


@router.post("/subscribe")
async def subscribe(request: Request, settings: SettingsDep) -> Response:
    wants_json = request.headers.get("content-type", "").startswith("application/json")
    form = SignUp()
    try:
        form = await _read_sign_up(request, wants_json)
        status, text = await run_in_threadpool(_request_subscription, form, settings)
    except ValueError as e:
        return _answer(wants_json, 422, str(e), form)
    return _answer(wants_json, status, text, form)


async def _read_sign_up(request: Request, wants_json: bool) -> SignUp:
    if wants_json:
        try:
            data = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"the request body is not valid JSON: {e}") from e
        if not isinstance(data, dict):
            raise ValueError('send a JSON object like {"email": "...", "interests": "..."}')
    else:
        data = dict(await request.form())
    interests = data.get("interests") or ""
    if isinstance(interests, list):
        interests = ", ".join(str(i) for i in interests)
    return SignUp(email=str(data.get("email") or ""), interests=str(interests).strip())


def _request_subscription(form: SignUp, settings: Settings) -> tuple[int, str]:
    """The same answer whether the address is new, pending, active or rate-limited."""
    if len(form.interests) > settings.max_interests_chars:
        raise ValueError(f"interests must be at most {settings.max_interests_chars} characters")
    try:
        with session_scope() as session:
            sub = subscribers.request_subscription(
                session,
                form.email,
                interests=form.interests,
                now=utcnow(),
                resend_after=timedelta(minutes=settings.confirm_resend_minutes),
            )
            subscriber_id = sub.id if sub is not None else None
    except subscribers.InvalidEmail as e:
        raise ValueError(f"{e}: enter an address like name@example.org") from e
    if subscriber_id is not None and not enqueue_notice("confirm", subscriber_id):
        with session_scope() as session:
            subscribers.release_confirm_slot(session, subscriber_id)
        return 503, TRY_LATER
    return 200, CHECK_INBOX


def _answer(wants_json: bool, status: int, text: str, form: SignUp) -> Response:
    if wants_json:
        key = "message" if status == 200 else "detail"
        return JSONResponse({key: text}, status_code=status)
    if status == 200:
        return message("Check your inbox", text)
    return page(
        "subscribe.html",
        status=status,
        title="Subscribe to Paperboy",
        errors=[text],
        email=form.email,
        interests=form.interests,
    )


@router.get("/c/{token}")
def confirm(link: ConfirmLink, session: SessionDep, settings: SettingsDep) -> Response:
    """Idempotent: the first click activates and sends the welcome email; later ones just say so."""
    sub = link.sub
    first = subscribers.confirm_requested(session, sub, source="web:confirm")
    session.commit()
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
    return message(
        "You're subscribed",
        f"Digests will go to {sub.email}. Tune your interests, authors and schedule any time.",
        link_url=link_for(settings, "preferences", sub),
        link_label="Set your preferences",
    )

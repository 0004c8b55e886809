"""Double opt-in: the sign-up form, POST /subscribe (form or JSON), "email me my link", and the
confirm link (a page with a button: link scanners open GET links).

A sign-up says what to read: interests, categories or the reader's own papers (seeds: pasted
ids, URLs or DOIs, a .bib / .ris upload, or papers ticked after an arXiv author search), at
least one. Seeds are looked up before answering, so every unusable one is shown by its line
on the form; the lookup depends only on the seeds, never on the address.

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
from sqlmodel import Session, func, select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from config import Settings, get_settings
from models import (
    Feedback,
    Frequency,
    QuietDay,
    Subscriber,
    SubscriberStatus,
    schedule,
    seeds,
    session_scope,
    subscribers,
    utcnow,
)
from models.arxiv import NAMES, grouped
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
NEED_ONE = (
    "Tell Paperboy what to read: your interests, some of your papers, or arXiv categories "
    "(at least one)."
)
NO_PROFILE = (
    "You gave categories but no interests or papers of your own yet, so each digest holds the "
    "day's trending papers. Add interests or your papers on your preferences page for picks "
    "made for you."
)


def _form(**context: Any) -> dict[str, Any]:
    return {
        "title": "Subscribe to Paperboy",
        "errors": [],
        "link_errors": [],
        "email": "",
        "link_email": "",
        "interests": "",
        "categories": [],
        "seeds": "",
        "author": "",
        "found": [],
        "ticked": [],
        "frequency": "daily",
        "frequencies": [f.value for f in Frequency if f != Frequency.off],
        "offered_categories": get_settings().arxiv_categories,
        "taxonomy": grouped(),
        "names": NAMES,
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
        if data.get("find") and not wants_json:  # "Find my papers": the form again, with a list
            return await run_in_threadpool(_author_search, data, settings)
        email = subscribers.normalize_email(str(data.get("email") or ""))
        chosen = {k: data[k] for k in SIGN_UP_FIELDS if data.get(k) not in (None, "", [])}
        preferences = subscribers.validate_preferences(chosen)
        given = _seeds(data)
        if not (preferences.get("interests") or preferences.get("categories") or given):
            raise ValueError(NEED_ONE)
    except subscribers.InvalidEmail as e:
        return _invalid(wants_json, [f"{e}. Enter an address like name@example.org."], data)
    except ValidationError as e:
        return _invalid(wants_json, subscribers.readable_errors(e), data)
    except ValueError as e:
        return _invalid(wants_json, [str(e)], data)
    liked: list[str] = []
    if given:
        from worker.ingest.seeds import resolve  # the arXiv client: imported on first use

        resolved = await run_in_threadpool(resolve, given, settings)
        if resolved.problems:
            lines = [p.describe() for p in resolved.problems]
            return _invalid(wants_json, ["Fix or remove these papers:", *lines], data)
        liked = resolved.paper_ids
    await run_in_threadpool(check_mail_request, settings, client_ip(request), email)
    task = BackgroundTask(_send_subscription_mail, email, preferences, liked, settings)
    if wants_json:
        return JSONResponse({"message": CHECK_INBOX}, background=task)
    response = message("Check your inbox", CHECK_INBOX)
    response.background = task
    return response


def _seeds(data: dict[str, Any]) -> list[seeds.Seed]:
    """The pasted lines, the uploaded file's entries (by its lines) and the ticked papers."""
    found = seeds.parse_lines(str(data.get("seeds") or ""))
    upload = data.get("seed_file")
    if isinstance(upload, tuple) and upload[1]:
        name, content = upload
        found += seeds.parse_file(name, seeds.decode(name, content), origin=f"{name}:")
    ticked = [t for t in data.get("ticked") or [] if isinstance(t, str)]
    found += seeds.parse_lines("\n".join(ticked))
    seeds.check_count(found)
    return found


def _author_search(data: dict[str, Any], settings: Settings) -> Response:
    """The author's arXiv papers as boxes to tick, the rest of the form kept as typed."""
    from worker.ingest.http import SourceError
    from worker.ingest.seeds import search_author

    name = " ".join(str(data.get("author") or "").split())[:200]
    shown = _shown(data)
    if not name:
        return page(
            "subscribe.html", status=422, **_form(errors=["Type an author's name."], **shown)
        )
    try:
        papers = search_author(name, settings)
    except SourceError:
        errors = ["arXiv could not be asked just now: try again in a few minutes."]
        return page("subscribe.html", status=503, **_form(errors=errors, **shown))
    found = [
        {"id": p.id, "title": p.title, "year": p.published.year if p.published else ""}
        for p in papers
    ]
    errors = [] if found else [f"arXiv lists no papers by {name!r}: check the spelling."]
    return page("subscribe.html", **_form(errors=errors, found=found, **shown))


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
        data: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        upload = form.get("seed_file")
        if upload is not None and not isinstance(upload, str) and upload.filename:
            data["seed_file"] = (upload.filename, await upload.read())
        lists = ("categories", "ticked")
        return data | {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in lists}
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
    if isinstance(data.get("seeds"), list):
        data["seeds"] = "\n".join(str(i) for i in data["seeds"])
    data.pop("seed_file", None)
    return data


def _invalid(wants_json: bool, errors: list[str], data: dict[str, Any]) -> Response:
    if wants_json:
        return JSONResponse({"detail": "; ".join(errors)}, status_code=422)
    return page("subscribe.html", status=422, **_form(errors=errors, **_shown(data)))


def _shown(data: dict[str, Any]) -> dict[str, Any]:
    """What the reader typed, shown back on the form (an upload cannot be: its name is said)."""
    shown: dict[str, Any] = {k: str(data.get(k) or "") for k in ("email", "interests", "seeds")}
    shown["author"] = str(data.get("author") or "")
    for key in ("categories", "ticked"):
        chosen = data.get(key)
        shown[key] = [c for c in chosen if isinstance(c, str)] if isinstance(chosen, list) else []
    if data.get("frequency") in ("daily", "weekly"):
        shown["frequency"] = str(data["frequency"])
    return shown


def _send_subscription_mail(
    email: str, preferences: dict[str, Any], liked: list[str], settings: Settings
) -> None:
    with session_scope() as session:
        mail = subscribers.request_subscription(
            session, email, preferences=preferences, now=utcnow(), resend_after=_interval(settings)
        )
        sub = subscribers.find(session, email)
        if liked and sub is not None and sub.status == SubscriberStatus.pending:
            seeds.add_seeds(session, sub.id, liked)  # as their preferences: pending ones only
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
        liked = _liked(session, sub)
    if sub.status == SubscriberStatus.active:
        return _subscribed(sub, liked, settings)
    return confirm_action(
        f"Confirm {sub.email}?",
        "One click and your personalized research digest starts.",
        what_you_get(sub, liked),
        action=f"/c/{link.token}",
        button="Confirm my subscription",
    )


@router.post("/c/{token}")
def confirm(link: ConfirmLink, settings: SettingsDep) -> Response:
    """Idempotent: the first click activates and sends the welcome email; later ones just say so."""
    with session_scope() as session:
        sub = link.subscriber(session, for_update=True)
        first = subscribers.confirm_requested(session, sub, source="web:confirm")
        liked = _liked(session, sub)
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
    return _subscribed(sub, liked, settings)


def _liked(session: Session, sub: Subscriber) -> int:
    return session.exec(
        select(func.count())
        .select_from(Feedback)
        .where(Feedback.subscriber_id == sub.id, Feedback.value > 0)
    ).one()


def _subscribed(sub: Subscriber, liked: int, settings: Settings) -> Response:
    return message(
        "You're subscribed",
        f"Digests will go to {sub.email}. {first_digest_line(sub, utcnow())}",
        what_you_get(sub, liked),
        "Tune your interests, papers, categories and schedule any time.",
        link_url=link_for(settings, "preferences", sub),
        link_label="Set your preferences",
    )


def what_you_get(sub: Subscriber, liked: int) -> str:
    """What this reader's digests will hold, from what they told us: no promise that fails."""
    if not sub.interests and not liked:
        return NO_PROFILE
    basis = " and ".join(
        part for part, given in (("your interests", sub.interests), ("your papers", liked)) if given
    )
    quiet = (
        "the day's trending papers, marked “a quiet day for your topics”"
        if sub.quiet_day == QuietDay.trending
        else "no email"
    )
    return (
        f"Each digest holds the new papers closest to {basis}. On a day with nothing relevant "
        f"you get {quiet}: you choose which on your preferences page."
    )


def first_digest_line(sub: Subscriber, now: datetime) -> str:
    """When the first digest arrives, in the reader's time zone, by the planner's own rule
    (`models.schedule`); on a quiet day a reader who chose no email gets none."""
    if sub.frequency == Frequency.off:
        return "You chose no digests for now: turn them on in your preferences."
    local = schedule.local_time(sub, now)
    day = schedule.next_edition_day(sub, local)
    maybe = " if it holds a paper for you" if sub.quiet_day == QuietDay.no_email else ""
    if day == local.date() and local.hour >= sub.send_hour:
        return f"Your first digest goes out with the next edition{maybe}, within about 15 minutes."
    named = "today" if day == local.date() else f"on {day:%A} {day.day} {day:%B}"
    at = f"{sub.send_hour:02d}:00 ({sub.timezone})"
    return f"Your first digest arrives {named} at about {at}{maybe}."

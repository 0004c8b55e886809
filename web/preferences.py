"""Preferences page: the form, saving it, revoking every link, and resubscribing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from config import Settings
from emails.render import paper_url, why_line
from models import Frequency, Paper, SubscriberStatus, feedback, subscribers, utcnow
from web.deps import Link, PreferencesLink, SessionDep, SettingsDep, link_for
from web.pages import message, page

router = APIRouter()

FIELD_LABELS = {
    "interests": "Interests",
    "authors": "Followed authors",
    "categories": "Categories",
    "muted_words": "Muted words",
    "frequency": "How often",
    "max_papers": "Papers per digest",
    "send_hour": "Send hour",
    "timezone": "Time zone",
}
FormText = Annotated[str, Form()]


def _render(
    link: Link,
    session: Session,
    settings: Settings,
    *,
    prefs: object,
    errors: list[str] | None = None,
    saved: bool = False,
) -> Response:
    sub = link.sub
    return page(
        "preferences.html",
        status=422 if errors else 200,
        title="Your Paperboy preferences",
        email=sub.email,
        status_label=sub.status,
        prefs=prefs,
        errors=errors or [],
        saved=saved,
        base=f"/p/{link.token}",
        frequencies=[f.value for f in Frequency],
        max_papers_limit=settings.max_papers_limit,
        liked=[
            {"title": p.title, "url": paper_url(p.id, p.abs_url)}
            for p in feedback.liked_papers(session, sub.id)
        ],
        can_resubscribe=sub.status == SubscriberStatus.unsubscribed,
        unsubscribe_url=link_for(settings, "unsubscribe", sub),
    )


@router.get("/p/{token}")
def preferences_page(link: PreferencesLink, session: SessionDep, settings: SettingsDep) -> Response:
    return _render(link, session, settings, prefs=subscribers.preferences_of(link.sub))


@router.post("/p/{token}")
def save_preferences(
    link: PreferencesLink,
    session: SessionDep,
    settings: SettingsDep,
    interests: FormText = "",
    authors: FormText = "",
    categories: FormText = "",
    muted_words: FormText = "",
    frequency: FormText = "daily",
    max_papers: FormText = "10",
    send_hour: FormText = "7",
    timezone: FormText = "UTC",
) -> Response:
    submitted = {
        "interests": interests,
        "authors": authors,
        "categories": categories,
        "muted_words": muted_words,
        "frequency": frequency,
        "max_papers": max_papers,
        "send_hour": send_hour,
        "timezone": timezone,
    }
    try:
        prefs = subscribers.Preferences.model_validate(submitted)
    except ValidationError as e:
        shown = {
            k: subscribers.split_list(v) if k in LIST_FIELDS else v for k, v in submitted.items()
        }
        return _render(link, session, settings, prefs=shown, errors=readable_errors(e))
    subscribers.apply_preferences(session, link.sub, prefs)
    session.commit()
    return _render(link, session, settings, prefs=prefs, saved=True)


LIST_FIELDS = ("authors", "categories", "muted_words")


def readable_errors(error: ValidationError) -> list[str]:
    """'Time zone: unknown time zone ...' rather than pydantic's internals."""
    lines = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        text = item["msg"].removeprefix("Value error, ")
        lines.append(f"{FIELD_LABELS.get(field, field)}: {text}")
    return lines


@router.get("/p/{token}/picks")
def preview_picks(link: PreferencesLink, session: SessionDep, settings: SettingsDep) -> Response:
    """What the next digest would hold if it went out now: the planner's own ranking, run for
    this one reader, so tuning interests shows its effect at once. Read-only. The ranking
    (numba, scikit-learn) is imported here, on first use, so the web process starts fast."""
    from worker.planning import pick_papers

    picks = pick_papers(session, settings, [link.sub], utcnow())[link.sub.id]
    papers = {
        p.id: p
        for p in session.exec(select(Paper).where(col(Paper.id).in_([x.paper_id for x in picks])))
    }
    return page(
        "picks.html",
        title="Your next digest, if it went out now",
        email=link.sub.email,
        base=f"/p/{link.token}",
        picks=[
            {
                "title": papers[x.paper_id].title,
                "url": paper_url(x.paper_id, papers[x.paper_id].abs_url),
                "why": why_line(x.reasons),
            }
            for x in picks
        ],
    )


@router.post("/p/{token}/revoke")
def revoke_links(link: PreferencesLink, session: SessionDep) -> Response:
    subscribers.revoke_links(session, link.sub)
    session.commit()
    return message(
        "All your links are revoked",
        "Every link in the emails we sent you, this page's included, no longer works.",
        "Your next email carries new ones.",
    )


@router.post("/p/{token}/resubscribe")
def resubscribe(link: PreferencesLink, session: SessionDep, settings: SettingsDep) -> Response:
    """The signed link proves the reader owns the mailbox, so no second opt-in is needed."""
    sub = link.sub
    if sub.status != SubscriberStatus.unsubscribed:
        return message(
            "Nothing to do",
            f"{sub.email} is {sub.status}; only an unsubscribed address can resubscribe here.",
            status=409,
        )
    subscribers.confirm(session, sub, source="web:resubscribe")
    session.commit()
    return message(
        "Welcome back",
        f"Digests will go to {sub.email} again.",
        link_url=link_for(settings, "preferences", sub),
        link_label="Your preferences",
    )

"""Preferences page: the form, saving it (only the fields sent), resuming a pause, adding the
reader's own papers (seeds) and un-liking papers, the last digests, revoking links, and
resubscribing. Categories are picked by name from arXiv's taxonomy, grouped by archive, with
plain checkboxes (no JavaScript)."""

from __future__ import annotations

import calendar
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from config import Settings
from emails.render import web_url, why_line
from models import (
    Digest,
    DigestStatus,
    Frequency,
    Paper,
    QuietDay,
    Subscriber,
    SubscriberStatus,
    feedback,
    schedule,
    seeds,
    session_scope,
    subscribers,
    utcnow,
)
from models.arxiv import grouped
from web.deps import Link, PreferencesLink, SettingsDep, link_for
from web.pages import message, page
from worker.ingest import registry

router = APIRouter()

LIST_FIELDS = ("authors", "categories", "muted_words", "sources")
RECENT_DIGESTS = 10


@cache
def time_zones() -> list[str]:
    """IANA zones a reader would pick (Area/City), plus UTC."""
    return ["UTC", *sorted(z for z in available_timezones() if "/" in z and z[0].isupper())]


def _render(
    link: Link,
    sub: Subscriber,
    session: Session,
    settings: Settings,
    *,
    prefs: Any,
    errors: list[str] | None = None,
    notice: str = "",
) -> Response:
    base = f"/p/{link.token}"
    zones = time_zones()
    today = schedule.local_today(sub)
    return page(
        "preferences.html",
        status=422 if errors else 200,
        title="Your Paperboy preferences",
        email=sub.email,
        pending_email=sub.pending_email,
        status_label=sub.status,
        prefs=prefs,
        errors=errors or [],
        notice=notice,
        base=base,
        frequencies=[f.value for f in Frequency],
        quiet_days=[
            (
                QuietDay.trending.value,
                "the day's trending papers, marked “a quiet day for your topics”",
            ),
            (QuietDay.no_email.value, "no email"),
        ],
        taxonomy=grouped(),
        hours=range(24),
        weekdays=list(enumerate(calendar.day_name)),
        time_zones=zones if prefs.timezone in zones else [prefs.timezone, *zones],
        paused=sub.paused_until is not None and sub.paused_until > today,
        today=today.isoformat(),
        max_papers_limit=settings.max_papers_limit,
        max_trending_count=settings.max_trending_count,
        liked=_papers(session, sub, 1),
        disliked=_papers(session, sub, -1),
        digests=_recent_digests(session, sub, settings),
        feed_url=link_for(settings, "feed", sub),
        can_resubscribe=sub.status == SubscriberStatus.unsubscribed,
        unsubscribe_url=link_for(settings, "unsubscribe", sub),
        sources=_sources(),
        default_sources=[s.label for s in registry.choosable() if s.chosen_by_default],
    )


@cache
def _sources() -> list[dict]:
    """The sources a reader may tick, each with its categories by name (the registry's)."""
    return [
        {"name": s.name, "label": s.label, "categories": sorted(s.taxonomy or ())}
        for s in registry.choosable()
    ]


def _papers(session: Session, sub: Subscriber, value: int) -> list[dict[str, str]]:
    return [
        {"id": p.id, "title": p.title, "url": web_url(p.abs_url)}
        for p in feedback.voted_papers(session, sub.id, value, limit=50)
    ]


def _recent_digests(session: Session, sub: Subscriber, settings: Settings) -> list[dict]:
    rows = session.exec(
        select(Digest)
        .where(Digest.subscriber_id == sub.id, Digest.status == DigestStatus.sent)
        .order_by(col(Digest.id).desc())
        .limit(RECENT_DIGESTS)
    )
    return [
        {"edition": d.edition, "url": link_for(settings, "digest", sub, digest_id=d.id)}
        for d in rows
    ]


@router.get("/p/{token}")
def preferences_page(link: PreferencesLink, settings: SettingsDep) -> Response:
    with session_scope() as session:
        sub = link.subscriber(session)
        return _render(link, sub, session, settings, prefs=subscribers.preferences_of(sub))


@router.post("/p/{token}")
async def save_preferences(
    request: Request, link: PreferencesLink, settings: SettingsDep
) -> Response:
    """Only the fields sent change: a field missing from the request keeps its stored value,
    a field sent empty is cleared."""
    form = await request.form()
    submitted = {
        name: value
        for name in subscribers.Preferences.model_fields
        if isinstance(value := form.get(name), str)
    }
    if "categories" in form:  # the picker's boxes, after its hidden empty marker: none = clear
        chosen = [c for c in form.getlist("categories") if isinstance(c, str)]
        submitted["categories"] = "\n".join(chosen)  # typed lists ("cs.LG, stat.ML") too
    if "sources" in form:  # ticked boxes, one value each (a hidden empty one always sent)
        submitted["sources"] = ",".join(v for v in form.getlist("sources") if isinstance(v, str))
    return await run_in_threadpool(_save, link, settings, submitted, "preferences are saved")


def _save(link: Link, settings: Settings, submitted: dict[str, Any], what: str) -> Response:
    with session_scope() as session:
        sub = link.subscriber(session, for_update=True)
        try:
            subscribers.update_preferences(session, sub, submitted)
        except ValidationError as e:
            shown = subscribers.preferences_of(sub).model_dump() | {
                k: subscribers.split_list(v) if k in LIST_FIELDS else v
                for k, v in submitted.items()
            }
            errors = subscribers.readable_errors(e)
            return _render(link, sub, session, settings, prefs=_Shown(shown), errors=errors)
        prefs = subscribers.preferences_of(sub)
        return _render(link, sub, session, settings, prefs=prefs, notice=f"Your {what}.")


class _Shown(dict):
    """What the reader typed, shown back on a refused save (attribute access like the model)."""

    __getattr__ = dict.__getitem__


@router.post("/p/{token}/resume")
def resume(link: PreferencesLink, settings: SettingsDep) -> Response:
    return _save(link, settings, {"paused_until": None}, "digests are resumed")


@router.post("/p/{token}/seeds")
async def add_seeds(request: Request, link: PreferencesLink, settings: SettingsDep) -> Response:
    """The reader's own papers, pasted or uploaded, as liked papers; every unusable one is
    said by its line and none is added until they all are usable."""
    from worker.ingest.seeds import resolve  # the arXiv client: imported on first use

    form = await request.form()
    try:
        given = seeds.parse_lines(str(form.get("seeds") or ""))
        upload = form.get("seed_file")
        if upload is not None and not isinstance(upload, str) and upload.filename:
            name = upload.filename
            text = seeds.decode(name, await upload.read())
            given += seeds.parse_file(name, text, origin=f"{name}:")
        seeds.check_count(given)
        problems = [] if given else ["Paste an arXiv id, URL or DOI, or choose a file."]
    except ValueError as e:
        given, problems = [], [str(e)]
    resolved = await run_in_threadpool(resolve, given, settings) if given else None
    if resolved is not None:
        problems = [p.describe() for p in resolved.problems]
    return await run_in_threadpool(_add_seeds, link, settings, resolved, problems)


def _add_seeds(link: Link, settings: Settings, resolved: Any, problems: list[str]) -> Response:
    with session_scope() as session:
        sub = link.subscriber(session)
        prefs = subscribers.preferences_of(sub)
        if problems:
            errors = ["Fix or remove these papers:", *problems]
            return _render(link, sub, session, settings, prefs=prefs, errors=errors)
        added = seeds.add_seeds(session, sub.id, resolved.paper_ids)
        notice = f"{added} of your papers now shape your digest; they are never sent to you."
        return _render(link, sub, session, settings, prefs=prefs, notice=notice)


@router.post("/p/{token}/vote/clear")
async def clear_vote(request: Request, link: PreferencesLink, settings: SettingsDep) -> Response:
    """Un-like or un-dislike: the paper no longer shapes the ranking. The paper id is a form
    field, not a path segment: old arXiv ids hold a slash (hep-th/9901001)."""
    paper_id = str((await request.form()).get("paper_id") or "")
    return await run_in_threadpool(_clear_vote, link, settings, paper_id)


def _clear_vote(link: Link, settings: Settings, paper_id: str) -> Response:
    with session_scope() as session:
        sub = link.subscriber(session)
        cleared = feedback.clear(session, sub.id, paper_id)
        notice = "That paper no longer shapes your digest." if cleared else ""
        return _render(
            link, sub, session, settings, prefs=subscribers.preferences_of(sub), notice=notice
        )


@router.post("/p/{token}/revoke")
def revoke_links(link: PreferencesLink) -> Response:
    with session_scope() as session:
        subscribers.revoke_links(session, link.subscriber(session, for_update=True))
    return message(
        "Your links are revoked",
        "Every preferences, feedback and “view in browser” link in the emails we sent you, this "
        "page's included, no longer works. Unsubscribe links keep working.",
        "Your next email carries new links; or ask for one now with “Email me my link”.",
        link_url="/#link",
        link_label="Email me my link",
    )


@router.post("/p/{token}/resubscribe")
def resubscribe(link: PreferencesLink, settings: SettingsDep) -> Response:
    """The signed link proves the reader owns the mailbox, so no second opt-in is needed."""
    with session_scope() as session:
        sub = link.subscriber(session, for_update=True)
        if sub.status != SubscriberStatus.unsubscribed:
            return message(
                "Nothing to do",
                f"{sub.email} is {sub.status}; only an unsubscribed address can resubscribe here.",
                status=409,
            )
        subscribers.confirm(session, sub, source="web:resubscribe")
    return message(
        "Welcome back",
        f"Digests will go to {sub.email} again.",
        link_url=link_for(settings, "preferences", sub),
        link_label="Your preferences",
    )


@router.get("/p/{token}/picks")
def preview_picks(link: PreferencesLink, settings: SettingsDep) -> Response:
    """What the next digest would hold if it went out now: the planner's own ranking, run for
    this one reader, so tuning interests shows its effect at once. Read-only. The ranking
    (numba, scikit-learn) is imported here, on first use, so the web process starts fast."""
    from worker.ranking.planning import pick_papers

    with session_scope() as session:
        sub = link.subscriber(session)
        picks = pick_papers(session, settings, [sub], utcnow())[sub.id]
        papers = {
            p.id: p
            for p in session.exec(
                select(Paper).where(col(Paper.id).in_([x.paper_id for x in picks]))
            )
        }
    return page(
        "picks.html",
        title="Your next digest, if it went out now",
        email=sub.email,
        base=f"/p/{link.token}",
        picks=[
            {
                "title": papers[x.paper_id].title,
                "url": web_url(papers[x.paper_id].abs_url),
                "why": why_line(x.reasons),
            }
            for x in picks
        ],
    )

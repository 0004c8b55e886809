""" "More / less like this" links from digests: confirm page on GET, the vote on POST."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlmodel import Session

from models import Paper, feedback, session_scope
from web.deps import FeedbackLink, Link, SettingsDep, link_for
from web.pages import confirm_action, message

router = APIRouter()

LABELS = {1: "more", -1: "fewer"}


def _paper(link: Link, session: Session) -> Paper | None:
    if link.data.paper_id is None or link.data.vote not in LABELS:
        return None
    return session.get(Paper, link.data.paper_id)


@router.get("/f/{token}")
def feedback_page(link: FeedbackLink) -> Response:
    with session_scope() as session:
        link.subscriber(session)
        paper = _paper(link, session)
    if paper is None:
        return _unknown_paper()
    return confirm_action(
        f"Show {LABELS[link.data.vote]} papers like this?",
        f"“{paper.title}”",
        "Your digests learn from this: liked papers pull similar ones up, disliked ones push "
        "them down.",
        action=f"/f/{link.token}",
        button=f"Yes, {LABELS[link.data.vote]} like this",
    )


@router.post("/f/{token}")
def record_feedback(link: FeedbackLink, settings: SettingsDep) -> Response:
    with session_scope() as session:
        sub = link.subscriber(session)
        paper = _paper(link, session)
        if paper is None:
            return _unknown_paper()
        feedback.record(session, sub.id, paper.id, link.data.vote)
    return message(
        "Thanks, noted",
        f"You'll see {LABELS[link.data.vote]} papers like “{paper.title}”.",
        link_url=link_for(settings, "preferences", sub),
        link_label="Your preferences and liked papers",
    )


def _unknown_paper() -> Response:
    return message(
        "Paper not found",
        "This feedback link names a paper we no longer have. Nothing was recorded.",
        status=404,
    )

"""Pure email building: plain data in, RenderedEmail(subject, html, text, headers) out.

Build is separate from send (backends do I/O only). Every paper field is escaped by
Jinja's autoescape; nothing here touches the database or the network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from emails.compile import load_template, text_template


@dataclass(frozen=True)
class PaperCard:
    """One paper as the reader sees it; fields are display-ready plain text."""

    title: str
    url: str
    authors: str
    teaser: str
    why: str
    more_url: str
    less_url: str


@dataclass(frozen=True)
class DigestContext:
    to_email: str
    edition: date
    papers: list[PaperCard]
    preferences_url: str
    unsubscribe_url: str
    unsubscribe_mailto: str
    postal_address: str
    list_id: str
    digest_ref: str  # opaque id for webhook correlation; no personal data


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    headers: dict[str, str] = field(default_factory=dict)


def short_authors(authors: list[str], limit: int = 3) -> str:
    if len(authors) <= limit:
        return ", ".join(authors)
    return ", ".join(authors[:limit]) + " et al."


def teaser(text: str, limit: int = 280) -> str:
    """The opening of the abstract, cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def unsubscribe_headers(ctx: DigestContext) -> dict[str, str]:
    """RFC 2369 + RFC 8058 one-click unsubscribe; Gmail and Yahoo require both."""
    return {
        "List-Unsubscribe": f"<{ctx.unsubscribe_url}>, <{ctx.unsubscribe_mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": ctx.list_id,
        "X-Paperboy-Digest": ctx.digest_ref,
    }


def build_digest(ctx: DigestContext) -> RenderedEmail:
    n = len(ctx.papers)
    count_label = f"{n} paper" + ("" if n == 1 else "s")
    subject = f"{count_label} for you today"
    if ctx.papers:
        subject += f": {ctx.papers[0].title}"
    values = {
        "subject": subject,
        "preheader": f"{count_label} picked for you, with a line on why each one.",
        "edition_label": ctx.edition.strftime("%A, %d %B %Y"),
        "count_label": count_label,
        "papers": [asdict(p) for p in ctx.papers],
        "preferences_url": ctx.preferences_url,
        "unsubscribe_url": ctx.unsubscribe_url,
        "postal_address": ctx.postal_address,
        "footer_reason": f"You get this because {ctx.to_email} subscribed to Paperboy digests.",
    }
    return RenderedEmail(
        subject=subject,
        html=load_template("digest").render(values),
        text=text_template("digest").render(values),
        headers=unsubscribe_headers(ctx),
    )


def why_line(reasons: list[str] | tuple[str, ...]) -> str:
    """Turn the ranking's reasons into one readable line."""
    terms = [r for r in reasons if r != "trending" and not r.startswith(("by ", "trending:"))]
    parts = []
    if terms:
        parts.append("matches " + ", ".join(f"“{t}”" for t in terms))
    parts += [r for r in reasons if r.startswith(("by ", "trending:"))]
    if "trending" in reasons:
        parts.append("popular today")
    return "; ".join(parts)


NOTICES: dict[str, dict[str, str]] = {
    "confirm": {
        "subject": "Confirm your Paperboy subscription",
        "heading": "One click to start your digest",
        "body": "Someone (hopefully you) asked to receive Paperboy's personalized research-paper "
        "digest at this address. Confirm, and your first papers arrive with the next edition.",
        "action_label": "Confirm subscription",
        "action_hint": "Or paste this link into your browser:",
        "footer_reason": "You get this one email because this address was entered on Paperboy. "
        "If it wasn't you, ignore it: nothing more will be sent.",
    },
    "welcome": {
        "subject": "Welcome to Paperboy",
        "heading": "You're in",
        "body": "Your digest picks the papers that match your interests, with a line on why each "
        "was chosen. Tune your interests, followed authors and schedule any time.",
        "action_label": "Set your preferences",
        "action_hint": "Your preferences page:",
        "footer_reason": "You get this because you confirmed a Paperboy subscription.",
    },
    "unsubscribed": {
        "subject": "You're unsubscribed from Paperboy",
        "heading": "You won't get more digests",
        "body": "This address is off the list. If that was a mistake, you can come back with "
        "one click.",
        "action_label": "Resubscribe",
        "action_hint": "Changed your mind?",
        "footer_reason": "This is the last email Paperboy sends to this address unless you "
        "resubscribe.",
    },
}


@dataclass(frozen=True)
class NoticeContext:
    kind: str  # a key of NOTICES
    to_email: str
    action_url: str  # confirm link, preferences link, or resubscribe link
    postal_address: str


def build_notice(ctx: NoticeContext) -> RenderedEmail:
    """Confirm, welcome and unsubscribed emails: one layout, copy from NOTICES."""
    copy = NOTICES[ctx.kind]
    values = {
        **copy,
        "preheader": copy["body"][:90],
        "action_url": ctx.action_url,
        "postal_address": ctx.postal_address,
    }
    return RenderedEmail(
        subject=copy["subject"],
        html=load_template("notice").render(values),
        text=text_template("notice").render(values),
    )

"""Pure email building: plain data in, RenderedEmail(subject, html, text, headers) out.

Build is separate from send (backends do I/O only). Every paper field is escaped by
Jinja's autoescape; nothing here touches the database or the network. Display text
(LaTeX made readable, truncation) is prepared once per paper by `paper_face` and completed
per reader by `for_reader` (the sender's `stored_for_reader`: a `ReaderCard` over the shared
face), so the per-email work is the reader's lines and the template fill.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from functools import lru_cache
from operator import attrgetter
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from emails.compile import load_template, text_template
from emails.fill import Filler
from emails.latex import readable
from models.reasons import Kind, Reason

TITLE_LIMIT = 150
AUTHOR_LIMIT = 40  # one name
TEASER_LIMIT = 220  # two to three lines on a desktop, five on a phone
TOPIC_LIMIT = 40
WHY_LIMIT = 200
TOC_TITLE_LIMIT = 40
LIKE_LIMIT = 70  # the liked paper's title in a why-line
CATEGORIES_SHOWN, CATEGORY_LIMIT = 3, 20


@dataclass(frozen=True, slots=True)
class PaperCard:
    """One paper as the reader sees it; fields are display-ready plain text."""

    title: str
    url: str | None  # the paper's page as its source linked it; None if no safe one
    authors: str
    teaser: str
    why: str
    more_url: str
    less_url: str
    source: str = ""  # where the paper comes from, as its source calls itself ("arXiv")
    pages: tuple[tuple[str, str], ...] = ()  # (label, url): community pages listing it
    upvotes: int = 0
    comments: int = 0
    github_url: str | None = None
    github_stars: str = ""  # compact, e.g. "1.2k"
    stats: str = ""  # the community signals as one plain-text line
    categories: str = ""  # arXiv categories, primary first, e.g. "cs.LG · stat.ML"
    topics: tuple[str, ...] = ()  # the ranking's term reasons, best first
    ref: str = ""  # "arXiv:2411.00001", "doi:10.1101/…", else "Abstract" when `url` is one
    ref_url: str | None = None  # the abstract page: the one its id names, else `url`
    pdf_url: str | None = None
    abstract: str = ""  # the whole abstract, readable: the archive page shows it
    toc_title: str = ""  # the title, shorter, for a table of contents


class ReaderCard(NamedTuple):
    """A paper's `face` completed for one reader (`dataclasses.replace(face, **reader)`),
    without copying the face: the sender makes one for every card of every email. It reads as
    that PaperCard (what the reader does not set is the face's), and a `Filler` keys its
    fragments by the face, which every reader of the paper shares."""

    face: PaperCard
    url: str | None
    why: str
    more_url: str
    less_url: str
    topics: tuple[str, ...]
    ref: str
    ref_url: str | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.face, name)

    def whole(self) -> PaperCard:
        """The PaperCard this card reads as: the face's values read in one C call, the
        reader's set over them by position (`replace` walks the fields and calls by keyword,
        at twice the cost)."""
        values = list(_card_values(self.face))
        for i, value in zip(READER_INDEX, self[1:], strict=True):
            values[i] = value
        return PaperCard(*values)


CARD_FIELDS = tuple(f.name for f in fields(PaperCard))
READER_INDEX = tuple(CARD_FIELDS.index(name) for name in ReaderCard._fields[1:])
_card_values = attrgetter(*CARD_FIELDS)
Card = PaperCard | ReaderCard


@dataclass(frozen=True)
class DigestContext:
    to_email: str
    frequency: str  # "daily" | "weekly": the digest the reader subscribed to, named in the footer
    edition: date
    papers: list[Card]
    preferences_url: str
    unsubscribe_url: str
    unsubscribe_mailto: str
    postal_address: str
    list_id: str
    digest_ref: str  # opaque id for webhook correlation; no personal data
    trending: list[Card] = field(default_factory=list)  # "Trending today", after the picks
    archive_url: str = ""  # this digest in the browser ("view in browser")
    note: str = ""  # a quiet day's why ("arXiv does not announce on Saturdays"); no picks then
    full_abstracts: bool = False  # the archive page: whole abstracts instead of teasers
    feed_url: str = ""  # the reader's Atom feed of their picks
    bibtex_url: str = ""  # this digest as a BibTeX file


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    headers: dict[str, str] = field(default_factory=dict)
    # (text, html) as JSON strings (json.dumps's, ensure_ascii), when the renderer made them
    # from its fragments: a JSON API's payload takes them as they are
    json: tuple[str, str] | None = field(default=None, compare=False, repr=False)


QUIET_DAY = "A quiet day for your topics"
CONTENTS_FROM = 6  # a digest of more papers than five opens with a table of contents
# A structured abstract's opening label: "Motivation: …", "Background and aims: …", "TL;DR: …"
LABELS = (
    "motivation|background|context|introduction|purpose|objectives?|aims?|goals?|summary|"
    "abstract|problem|rationale|significance|tl;dr"
)
LEADING_LABEL = re.compile(rf"^(?:{LABELS})(?: (?:and|&) (?:{LABELS}))?\s*:\s+", re.IGNORECASE)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"“'])")
ARXIV_ID = re.compile(r"(?:\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})")


def clip(text: str, limit: int) -> str:
    """Whitespace collapsed and cut at a word boundary with an ellipsis, at most `limit` chars."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(",;:-\u2013\u2014(") + "…"


def short_authors(authors: Sequence[str], limit: int = 3) -> str:
    names = [clip(a, AUTHOR_LIMIT) for a in authors[:limit]]
    return ", ".join(names) + (" et al." if len(authors) > limit else "")


def teaser(text: str, limit: int = TEASER_LIMIT) -> str:
    """The opening of a summary in whole sentences (as many as fit, at least one; a first
    sentence over twice the space is clipped), without a leading "Motivation:" label."""
    text = LEADING_LABEL.sub("", " ".join(readable(text).split()), count=1)
    if len(text) <= limit:
        return text
    sentences = SENTENCE_END.split(text)
    shown = sentences[0]
    for sentence in sentences[1:]:
        if len(shown) + 1 + len(sentence) > limit:
            break
        shown += " " + sentence
    return shown if len(shown) <= 2 * limit else clip(shown, limit)


def reference(key: str, pdf_url: str | None = None) -> tuple[str, str | None, str | None]:
    """(shown id, abstract page, PDF) from a paper's key: arXiv ids and DOIs name real pages;
    any other key (the bundled sample's `sample-0042`) names none, so no link is made up."""
    if ARXIV_ID.fullmatch(key):
        return f"arXiv:{key}", f"https://arxiv.org/abs/{key}", f"https://arxiv.org/pdf/{key}"
    if key.startswith("10.") and "/" in key:
        return f"doi:{key}", f"https://doi.org/{key}", web_url(pdf_url)
    return "", None, None


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}" if n else ""


def stats_line(upvotes: int, comments: int, stars: str) -> str:
    parts = [plural(upvotes, "upvote"), plural(comments, "comment")]
    parts.append(f"{stars} GitHub stars" if stars else "")
    return " · ".join(p for p in parts if p)


def compact(n: int | None) -> str:
    """1234 -> "1.2k", 1_500_000 -> "1.5M", as GitHub and Hugging Face show counts."""
    if not n:
        return ""
    for size, unit in ((1_000_000, "M"), (1_000, "k")):
        if n >= size * 0.99995:
            return f"{n / size:.1f}".removesuffix(".0") + unit
    return str(n)


def web_url(url: str | None) -> str | None:
    """Only absolute http(s) links from a source reach an href (no `javascript:`, `data:`)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def github_url(repo: str | None) -> str | None:
    """A repository link from a URL or the `owner/name` shorthand."""
    repo = (repo or "").strip()
    if re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        repo = f"https://github.com/{repo}"
    return web_url(repo)


def term_reasons(reasons: Sequence[Reason]) -> tuple[str, ...]:
    """The ranking's phrase reasons as phrases a reader would write: two that run on from one
    another join ("Graph Neural" + "Neural Networks" -> "Graph Neural Networks"), and one
    inside another goes."""
    out: list[str] = []
    folded: list[list[str]] = []  # each of `out`'s words, casefolded once
    for term in (r.text for r in reasons if r.kind is Kind.PHRASE):
        words = term.split()
        fw = [w.casefold() for w in words]
        for i, prev in enumerate(out):
            before, fb = prev.split(), folded[i]
            if _run(fw, fb):
                break
            if _run(fb, fw):
                out[i], folded[i] = term, fw
                break
            if len(words) > 1 and len(before) > 1:
                if fb[-1] == fw[0]:
                    out[i], folded[i] = " ".join(before + words[1:]), fb + fw[1:]
                    break
                if fw[-1] == fb[0]:
                    out[i], folded[i] = " ".join(words + before[1:]), fw + fb[1:]
                    break
        else:
            out.append(term)
            folded.append(fw)
    return tuple(out)


def _inside(words: Sequence[str], longer: Sequence[str]) -> bool:
    """`words` appear in `longer` as a run, whatever the case."""
    return _run([w.casefold() for w in words], [w.casefold() for w in longer])


def _run(a: Sequence[str], b: Sequence[str]) -> bool:
    """`a` appears in `b` as a run, word for word."""
    n = len(a)
    return n <= len(b) and any(b[i : i + n] == a for i in range(len(b) - n + 1))


def natural_case(topic: str) -> str:
    """A topic as in running text: "Policy gradient" -> "policy gradient"; names with inner
    capitals or all capitals (LoRA, GNNs, PCA) stay as written."""

    def word(w: str) -> str:
        return w if any(c.isupper() for c in w[1:]) else w.lower()

    return " ".join("-".join(map(word, w.split("-"))) for w in topic.split())


def paper_face(
    *,
    title: str,
    abstract: str,
    authors: Sequence[str],
    ai_summary: str | None = None,
    key: str = "",
    pdf_url: str | None = None,
    source: str = "",
    pages: Sequence[tuple[str, str]] = (),
    upvotes: int = 0,
    comments: int = 0,
    github_repo: str | None = None,
    github_stars: int | None = None,
    categories: Sequence[str] = (),
) -> PaperCard:
    """What a card shows of the paper alone, the costly part (LaTeX made readable, teasers,
    clipping): the same for every reader of one version of a paper, so a sender keeps it per
    paper and only `for_reader` runs per email. `key` is the paper's id (an arXiv id or a DOI
    gives the card its reference and PDF links)."""
    ref, ref_url, pdf = reference(key, pdf_url)
    shown = clip(readable(title), TITLE_LIMIT)
    return PaperCard(
        title=shown,
        url=None,
        authors=short_authors([readable(a) for a in authors]),
        teaser=teaser(ai_summary or abstract),
        why="",
        more_url="",
        less_url="",
        source=source,
        pages=tuple((label, safe) for label, raw in pages if (safe := web_url(raw))),
        upvotes=upvotes,
        comments=comments,
        github_url=github_url(github_repo),
        github_stars=compact(github_stars),
        stats=stats_line(upvotes, comments, compact(github_stars)),
        categories=" · ".join(clip(c, CATEGORY_LIMIT) for c in categories[:CATEGORIES_SHOWN]),
        ref=ref if ref_url else "",
        ref_url=ref_url,
        pdf_url=pdf,
        toc_title=clip(shown, TOC_TITLE_LIMIT),
        abstract=" ".join(readable(abstract).split()),
    )


def for_reader(
    face: PaperCard,
    *,
    reasons: Sequence[Reason],
    more_url: str,
    less_url: str,
    abs_url: str | None = None,
) -> PaperCard:
    """A paper's `face` completed for one reader: why it was picked (the ranking's reasons),
    their vote links and the paper's page link (`abs_url`, counted when it is ours)."""
    topics = term_reasons(reasons)
    why = clip(why_line(reasons, topics), WHY_LIMIT)
    return _reader_card(face, topics, why, more_url, less_url, web_url(abs_url)).whole()


def stored_for_reader(
    face: PaperCard, *, stored: str, more_url: str, less_url: str, url: str | None
) -> ReaderCard:
    """`for_reader` for a digest item as the sender reads it: its reasons as stored (the JSON
    text of `Reason.to_json`'s) and `url` already an href (`web_url`'s, or None), as a
    `ReaderCard`. A reader's lines are made once per distinct set of reasons in a process
    (`reader_lines`)."""
    topics, why = LINES.get(stored) or reader_lines(stored)
    return _reader_card(face, topics, why, more_url, less_url, url)


def reader_lines(stored: str) -> tuple[tuple[str, ...], str]:
    """(topics, why-line) of reasons as stored (JSON text): `term_reasons` and the clipped
    `why_line`, remembered by that text, so a set seen before is not even parsed (a trending
    paper's reasons are every reader's, and readers alike in their interests share a paper's
    phrases)."""
    lines = LINES.get(stored)
    if lines is None:
        reasons = [Reason.from_json(d) for d in json.loads(stored)]
        topics = term_reasons(reasons)
        lines = topics, clip(why_line(reasons, topics), WHY_LIMIT)
        if len(LINES) >= LINES_KEPT:
            LINES.clear()
        LINES[stored] = lines
    return lines


LINES: dict[str, tuple[tuple[str, ...], str]] = {}
LINES_KEPT = 50_000


def _reader_card(
    face: PaperCard,
    topics: tuple[str, ...],
    why: str,
    more_url: str,
    less_url: str,
    url: str | None,
) -> ReaderCard:
    return ReaderCard(
        face,
        url,
        why,
        more_url,
        less_url,
        topics,
        face.ref or ("Abstract" if url else ""),
        face.ref_url or url,
    )


@lru_cache(maxsize=4096)
def page_url(url: str | None) -> str | None:
    """`web_url` of a paper's own link, remembered: every reader of the paper asks."""
    return web_url(url)


@lru_cache(maxsize=16)
def links_are_hrefs(base_url: str) -> bool:
    """Whether every link `emails.tokens.reader_links(base_url, ...)` makes is its own
    `web_url`: a token's characters (URL-safe base64 and dots) cannot change how a URL
    splits, so one probe of the base answers for all of them."""
    probe = f"{base_url.rstrip('/')}/r/x-_.0"
    return web_url(probe) == probe


def paper_card(
    *,
    reasons: Sequence[Reason],
    more_url: str,
    less_url: str,
    abs_url: str | None = None,
    **paper,
) -> PaperCard:
    """A paper's display card from its stored fields (`paper_face`'s arguments) and the
    ranking's reasons, in one call."""
    return for_reader(
        paper_face(**paper), reasons=reasons, more_url=more_url, less_url=less_url, abs_url=abs_url
    )


def top_topics(cards: Sequence[Card], n: int = 2) -> list[str]:
    """The topics most of today's reasons point at, strongest first, in natural case: a
    phrase gets credit for its words picked on their own ("image segmentation" beats a bare
    "image") and for shorter runs of itself ("graph neural" counts for "graph neural
    networks", which is named whole); a second topic is named only if it shares no word with
    the first and comes up twice. Runs per email, so plain dicts rather than sets."""
    counts: dict[str, int] = {}
    shown: dict[str, str] = {}
    for card in cards:
        for topic in card.topics:
            key = topic.casefold()
            counts[key] = counts.get(key, 0) + 1
            shown.setdefault(key, topic)
    words = {key: key.split() for key in counts}  # keys are casefolded: split once
    spaced = {key: " ".join(w) for key, w in words.items()}  # a run is a substring of these
    every = "\n".join(spaced.values())  # a phrase found once in all of them is in no other
    for key in sorted(counts, key=len):
        if every.count(spaced[key]) == 1:
            continue
        longer = [
            k
            for k in counts
            if k != key and spaced[key] in spaced[k] and _run(words[key], words[k])
        ]
        if longer:  # never name a cut phrase: fold it into the phrase it is part of
            counts[max(longer, key=lambda k: counts[k])] += counts.pop(key)
    get = counts.get
    ranked = sorted(
        counts, key=lambda k: -(counts[k] + sum(get(w, 0) for w in k.split() if w != k))
    )  # stable: ties go to the topic nearer the top
    chosen = ranked[:1]
    for key in ranked[1:n]:
        if counts[key] >= 2 and not set(key.split()) & set(chosen[0].split()):
            chosen.append(key)
    return [topic_label(shown[k]) for k in chosen]


@lru_cache(maxsize=4096)
def topic_label(topic: str) -> str:
    """A topic as a subject names it, remembered: readers of an edition share their topics."""
    return clip(natural_case(topic), TOPIC_LIMIT)


def digest_subject(cards: Sequence[Card]) -> str:
    n = len(cards)
    label = f"{n} new paper" + ("" if n == 1 else "s")
    topics = top_topics(cards)
    if topics:
        return f"{label} on {', '.join(topics)}" + (" and more" if n > len(topics) else "")
    return f"{n} trending paper{'' if n == 1 else 's'} for you today"


def list_headers(unsubscribe_url: str, unsubscribe_mailto: str, list_id: str) -> dict[str, str]:
    """RFC 2369 + RFC 8058 one-click unsubscribe; Gmail and Yahoo require both."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>, <{unsubscribe_mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": list_id,
    }


def unsubscribe_headers(ctx: DigestContext) -> dict[str, str]:
    return list_headers(ctx.unsubscribe_url, ctx.unsubscribe_mailto, ctx.list_id) | {
        "X-Paperboy-Digest": ctx.digest_ref
    }


@lru_cache(maxsize=64)
def edition_label(edition: date) -> str:
    """An edition's name ("Monday, 1 December 2026"), remembered: its every reader asks."""
    return f"{edition:%A}, {edition.day} {edition:%B %Y}"


def digest_values(ctx: DigestContext) -> dict:
    """Everything the digest templates (HTML and text) fill in; cheap, no formatting per paper."""
    n = len(ctx.papers)
    quiet = not ctx.papers and bool(ctx.trending)  # the reader's choice for a quiet day
    count_label = f"{n} paper" + ("" if n == 1 else "s") + " picked for you"
    preheader = (
        clip(f"Top pick: {ctx.papers[0].title}", 110) + (f" · plus {n - 1} more" if n > 1 else "")
        if ctx.papers
        else "No new papers matched today."
    )
    note = f"Nothing new from your sources today: {ctx.note}." if ctx.note else ""
    if quiet:
        count_label = QUIET_DAY
        preheader = note or f"{QUIET_DAY}: the day's trending papers instead."
    return {
        "subject": f"{QUIET_DAY}: {digest_subject(ctx.trending)}"
        if quiet
        else digest_subject(ctx.papers),
        "preheader": preheader,
        "note": note,
        "edition_label": edition_label(ctx.edition),
        "count_label": count_label,
        "trending_heading": f"{QUIET_DAY}: trending today" if quiet else "Trending today",
        "papers": ctx.papers,
        "trending": ctx.trending,
        "contents": len(ctx.papers) >= CONTENTS_FROM,
        "full": ctx.full_abstracts,
        "feed_url": ctx.feed_url,
        "bibtex_url": ctx.bibtex_url,
        "preferences_url": ctx.preferences_url,
        "unsubscribe_url": ctx.unsubscribe_url,
        "archive_url": ctx.archive_url,
        "postal_address": ctx.postal_address,
        "footer_reason": f"You get this because {ctx.to_email} subscribed to Paperboy's "
        f"{ctx.frequency} research digest.",
    }


def build_digest(ctx: DigestContext) -> RenderedEmail:
    """The digest's templates rendered from fragments (`emails.fill`): the bytes of
    `template.render(digest_values(ctx))`, and the same as JSON strings."""
    values = digest_values(ctx)
    html, html_json = _filler(load_template("digest"), True).render(values)
    text, text_json = _filler(text_template("digest"), False).render(values)
    return RenderedEmail(
        subject=values["subject"],
        html=html,
        text=text,
        headers=unsubscribe_headers(ctx),
        json=None if html_json is None or text_json is None else (text_json, html_json),
    )


@lru_cache(maxsize=8)  # one per template (a template reread is a new one)
def _filler(template, html: bool) -> Filler:
    return Filler(template, html, PaperCard)


def why_line(reasons: Sequence[Reason], terms: Sequence[str] | None = None) -> str:
    """Turn the ranking's reasons into one readable line, worded by kind: the phrases, the
    typed interest the paper is close to, then the liked papers, the followed authors and
    trending signals, then "popular today" (`terms`: the reasons' `term_reasons`, when the
    caller has them already)."""
    terms = term_reasons(reasons) if terms is None else terms
    parts = []
    if terms:
        parts.append("matches " + ", ".join(f"“{t}”" for t in terms))
    for r in reasons:
        if r.kind is Kind.CLOSE:
            parts.append(f"close to your interest “{r.text}”")
    for r in reasons:
        if r.kind is Kind.LIKED:
            parts.append(f"like “{clip(readable(r.text), LIKE_LIMIT)}”, which you liked")
    for r in reasons:
        if r.kind is Kind.AUTHOR:
            parts.append(f"by {r.text}")
        elif r.kind is Kind.CATEGORY:
            parts.append(f"in {r.text}, which you follow")
        elif r.kind is Kind.LIKED_CATEGORY:
            parts.append(f"in {r.text}, like papers you liked")
        elif r.kind is Kind.PICKS_CATEGORY:
            parts.append(f"in {r.text}, like your other picks")
        elif r.kind is Kind.TRENDING:
            parts.append(f"trending: {r.text}")
    if any(r.kind is Kind.POPULAR for r in reasons):
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
    "link": {
        "subject": "Your Paperboy link",
        "heading": "Here is your way back in",
        "body": "Someone (hopefully you) asked for a link to this address's Paperboy "
        "preferences. Open it to change your interests or schedule, resume your digest, or "
        "leave. Links from older emails keep working unless you revoked them.",
        "action_label": "Open my preferences",
        "action_hint": "Your preferences page:",
        "footer_reason": "You get this one email because this address was entered on "
        "Paperboy's sign-up page. If it wasn't you, ignore it.",
    },
    "email_change": {
        "subject": "Confirm your new Paperboy address",
        "heading": "Move your digest to this address?",
        "body": "Someone (hopefully you) asked to receive their Paperboy digest at this "
        "address instead of their current one. Confirm, and the next digest comes here.",
        "action_label": "Use this address",
        "action_hint": "Or paste this link into your browser:",
        "footer_reason": "You get this one email because this address was entered on a "
        "Paperboy preferences page. If it wasn't you, ignore it: nothing changes.",
    },
}


@dataclass(frozen=True)
class NoticeContext:
    kind: str  # a key of NOTICES
    to_email: str
    action_url: str  # confirm link, preferences link, or email-change link
    postal_address: str
    # Emails to a subscriber (not the confirm emails to an address still to be proven) carry
    # the preferences and unsubscribe links and the one-click headers, like every digest.
    preferences_url: str | None = None
    unsubscribe_url: str | None = None
    unsubscribe_mailto: str = ""
    list_id: str = ""


def build_notice(ctx: NoticeContext) -> RenderedEmail:
    """Confirm, welcome, link and email-change emails: one layout, copy from NOTICES."""
    copy = NOTICES[ctx.kind]
    values = {
        **copy,
        "preheader": copy["body"][:90],
        "action_url": ctx.action_url,
        "postal_address": ctx.postal_address,
    }
    headers = {}
    if ctx.unsubscribe_url:
        values |= {"preferences_url": ctx.preferences_url, "unsubscribe_url": ctx.unsubscribe_url}
        headers = list_headers(ctx.unsubscribe_url, ctx.unsubscribe_mailto, ctx.list_id)
    return RenderedEmail(
        subject=copy["subject"],
        html=load_template("notice").render(values),
        text=text_template("notice").render(values),
        headers=headers,
    )

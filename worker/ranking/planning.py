"""Digest planning: who is due, what they get (top-k, never a repeat), one Digest per edition.

`plan_edition` is the DB edge; the choice of papers is `worker.ranking.rank`, pure. It plans
everyone due, or a slice of them (`subscriber_ids`: a planning chunk, one task of an edition
fanned out); the model is fitted once per corpus and shared (`shared_model`), the candidates
prepared once per edition and shared likewise (`Edition.prepare`), and a process reads an
edition's candidates and loads its model once for all its chunks (`edition_inputs`).
Planning twice plans nothing new: (subscriber, edition) is unique in the database, and the
digests are written with INSERT .. ON CONFLICT DO NOTHING, so a concurrent planner's rows win
without an error. Subscribers are read, ranked and written in pages: no query carries more
bound parameters than a database accepts, and 100k subscribers are a few bulk statements.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path

from sqlalchemy import Row, Text, TypeDecorator, cast, func, type_coerce
from sqlmodel import Session, col, select

from config import Settings
from models import (
    Click,
    Digest,
    DigestItem,
    DigestStatus,
    Feedback,
    Paper,
    QuietDay,
    Subscriber,
    Suppression,
    clicks,
)
from models.db import among, insert_new, insert_rows, json_loads, pages
from models.reasons import POPULAR, Reason
from models.schedule import edition_for, is_due
from worker.ingest import registry
from worker.ranking import (
    FitParams,
    Model,
    PaperDoc,
    Pick,
    Profile,
    RankParams,
    artifact,
    ranker,
    trending_score,
)
from worker.ranking.scoring import mentions_muted
from worker.ranking.types import Ranking

# Statuses whose papers count as "already given to this subscriber".
HOLDS_PAPERS = (DigestStatus.planned, DigestStatus.sending, DigestStatus.sent)


@dataclass
class PlanResult:
    edition_by_subscriber: dict[int, str] = field(default_factory=dict)
    planned: list[int] = field(default_factory=list)  # digest ids
    empty: int = 0  # due but nothing to send (quiet day, no trending or no email): skipped
    already: int = 0  # digest for that edition existed


def paper_doc(p: Paper, now: datetime) -> PaperDoc:
    ref = p.published or p.first_seen
    age = max((now - ref).total_seconds() / 86400, 0.0) if ref else 0.0
    return PaperDoc(
        p.id, p.title, p.abstract, tuple(p.authors), tuple(p.categories), p.upvotes, age
    )


def candidate_papers(session: Session, now: datetime, window_days: int) -> list[Paper]:
    since = now - timedelta(days=window_days)
    return list(session.exec(select(Paper).where(Paper.first_seen >= since).order_by(Paper.id)))


def corpus_papers(session: Session, now: datetime, window_days: int) -> list[Paper]:
    """The rolling corpus the model is fitted on: recent papers plus every paper with feedback
    or a person's click (so a liked paper keeps its words after it leaves the window)."""
    since = now - timedelta(days=window_days)
    rated = select(Feedback.paper_id)
    opened = select(Click.paper_id).where(col(Click.human))
    return list(
        session.exec(
            select(Paper)
            .where(
                (col(Paper.first_seen) >= since)
                | col(Paper.id).in_(rated)
                | col(Paper.id).in_(opened)
            )
            .order_by(Paper.id)
        )
    )


def _already_sent(
    session: Session, subscriber_ids: list[int], since: datetime
) -> dict[int, set[str]]:
    """The papers each reader has had that may be candidates again: those of their digests
    not yet sent, or sent `since` (or at no recorded time). A paper is sent after it is stored
    and first seen no later, so a candidate (first seen in the window) is in no digest sent
    before the window: a reader's months of editions are not read at every edition. Two index
    lookups (their digests by subscriber, then those digests' items by the item key, an
    index-only read) instead of a join the planner may answer by scanning; a reader's first
    edition costs only the first."""
    conn = session.connection()  # plain rows: ten or so a reader
    owner = dict(
        conn.execute(
            select(Digest.id, Digest.subscriber_id).where(
                among(session, Digest.subscriber_id, subscriber_ids),
                col(Digest.status).in_(HOLDS_PAPERS),
                (col(Digest.status) != DigestStatus.sent)
                | col(Digest.sent_at).is_(None)
                | (col(Digest.sent_at) >= since),
            )
        ).all()
    )
    out: dict[int, set[str]] = {s: set() for s in subscriber_ids}
    had = {did: out[sid] for did, sid in owner.items()}  # each digest's reader's set
    for page in pages(list(owner)):
        items = select(DigestItem.digest_id, DigestItem.paper_id).where(
            among(session, DigestItem.digest_id, page)
        )
        for did, pid in conn.execute(items).all():
            had[did].add(pid)
    return out


def _last_editions(session: Session, subscriber_ids: list[int]) -> dict[int, datetime]:
    """When each subscriber's last digest was planned (sent or not): what is new since."""
    rows = session.exec(
        select(Digest.subscriber_id, func.max(Digest.planned_at))
        .where(among(session, Digest.subscriber_id, subscriber_ids))
        .group_by(Digest.subscriber_id)
    )
    return {
        sid: at for sid, at in rows
    }  # max() keeps the column's type: aware datetimes on every backend


def _feedback(session: Session, subscriber_ids: list[int]) -> dict[int, dict[int, list[str]]]:
    out: dict[int, dict[int, list[str]]] = {s: {1: [], -1: []} for s in subscriber_ids}
    rows = session.exec(
        select(Feedback).where(among(session, Feedback.subscriber_id, subscriber_ids))
    )
    for fb in rows:
        out[fb.subscriber_id][1 if fb.value > 0 else -1].append(fb.paper_id)
    return out


def profile_for(
    sub: Subscriber, sent: set[str], feedback: dict[int, list[str]], opened: Sequence[str] = ()
) -> Profile:
    return Profile(
        id=sub.id,
        interests=sub.interests,
        liked=tuple(feedback[1]),
        disliked=tuple(feedback[-1]),
        clicked=tuple(p for p in opened if p not in feedback[-1]),  # "less" overrides a click
        authors=tuple(sub.authors),
        categories=tuple(sub.categories),
        muted=tuple(sub.muted_words),
        # a paper the reader voted on (a seed is a like) is one they know: never sent back
        exclude=frozenset(sent).union(feedback[1], feedback[-1]),
    )


def rank_params(settings: Settings, top_k: int) -> RankParams:
    return RankParams(
        top_k=top_k,
        floor=settings.relevance_floor,
        relative_floor=settings.relative_floor,
        trending_weight=settings.trending_weight,
        author_boost=settings.author_boost,
        category_boost=settings.category_boost,
        liked_category_boost=settings.liked_category_boost,
        liked_weight=settings.liked_weight,
        click_weight=settings.click_weight,
        feedback_depth=settings.feedback_depth,
        feedback_category_boost=settings.feedback_category_boost,
        feedback_weight=settings.feedback_weight,
        feedback_carry_share=settings.feedback_carry_share,
        disliked_weight=settings.disliked_weight,
        chunk_size=settings.rank_chunk_size,
        threads=settings.rank_threads,
    )


def fit_params(settings: Settings) -> FitParams:
    return FitParams(
        phrase_min_df=settings.phrase_min_df,
        max_df=settings.tfidf_max_df,
        title_weight=settings.title_weight,
    )


# A digest item as planning writes it: one tuple a pick, these columns (`insert_rows`).
ITEM_COLUMNS = ("digest_id", "paper_id", "rank", "score", "reasons", "section")


@lru_cache(maxsize=65536)
def _stored(reasons: tuple[Reason, ...]) -> list[dict]:
    """A pick's reasons as a digest item stores them: the same few reasons (a paper's phrases,
    its trending line) recur across an edition's readers, so each set is converted once, and
    is one list object that `insert_rows` encodes once (the list is only read, when the row is
    written)."""
    return [r.to_json() for r in reasons]


def _insert_digests(session: Session, rows: list[dict]) -> dict[int, int]:
    """Insert the digests no other planner has written yet; subscriber id -> new digest id."""
    return dict(
        insert_new(
            session,
            Digest.__table__,
            rows,
            unique=["subscriber_id", "edition"],
            returning=["subscriber_id", "id"],
        )
    )


@dataclass
class Choice:
    """Each subscriber's picks (best first, at most max_papers) and, after them, the day's
    trending papers not among the picks nor sent before (at most trending_count). On a quiet
    day (no picks) the trending papers stand in for them (at most max_papers) when the reader
    chose so (`Subscriber.quiet_day`), else there are none."""

    picks: dict[int, list[Pick]] = field(default_factory=dict)
    trending: dict[int, list[Pick]] = field(default_factory=dict)
    notes: dict[int, str] = field(default_factory=dict)  # quiet days: why nothing is new


def _by_sources(papers: list[Paper]) -> dict[str, frozenset[str]]:
    """Each candidate's sources, as a reader chooses them (the registry maps provenance)."""
    return {p.id: registry.reader_sources(p.first_seen_by) for p in papers}


def _brought(got: frozenset[str], chosen: frozenset[str]) -> bool:
    """Whether a paper from sources `got` is among a reader's `chosen` ones; a paper of no
    known provenance (stored by hand, or by a source since removed) is everyone's."""
    return not got or bool(got & chosen)


def _quiet_notes(
    subs: list[Subscriber], *, papers: list[Paper], since: dict[int, datetime], now: datetime
) -> dict[int, str]:
    """The readers none of whose sources brought a paper since their last edition (`since`),
    each with the line saying why ("arXiv does not announce on Saturdays")."""
    sources = _by_sources(papers)
    newest: dict[tuple[str, ...], tuple[frozenset[str], datetime | None]] = {}
    notes = {}
    for sub in subs:
        if sub.id not in since:
            continue  # a first edition: everything in the window is new to them
        named = tuple(sub.sources)  # worked out once per choice, not once per reader
        if named not in newest:
            chosen = registry.chosen(named)
            times = [p.first_seen for p in papers if _brought(sources[p.id], chosen)]
            newest[named] = chosen, max(times, default=None)
        chosen, last = newest[named]
        if last is None or last <= since[sub.id]:
            notes[sub.id] = registry.quiet_line(chosen, since[sub.id], now)
    return notes


def trending_today(docs: list[PaperDoc]) -> list[Pick]:
    """The candidates Hugging Face readers upvote, hottest first: the one `trending_score`
    (upvotes decayed by age), each saying its upvotes."""
    hot = [(trending_score(d.upvotes, d.age_days), d) for d in docs if d.upvotes > 0]
    hot.sort(key=lambda x: (-x[0], -x[1].upvotes, x[1].id))
    return [Pick(d.id, round(t, 6), (Reason.trending(d.upvotes),)) for t, d in hot]


def _trending_for(
    sub: Subscriber, n: int, *, picks: list[Pick], sent: set[str], hot: list[Pick], docs: dict
) -> list[Pick]:
    """A subscriber's "Trending today": none when the digest itself is the trending list
    (no usable profile), else the first `n` hot papers they have not had and that say none
    of their muted words."""
    if n <= 0 or any(r is POPULAR for p in picks for r in p.reasons):  # the one instance
        return []
    picked = {p.paper_id for p in picks}
    out: list[Pick] = []
    for pick in hot:
        if len(out) == n:
            break
        if (
            pick.paper_id not in sent
            and pick.paper_id not in picked
            and not (sub.muted_words and mentions_muted(docs[pick.paper_id], sub.muted_words))
        ):
            out.append(pick)
    return out


def choose_papers(
    session: Session,
    settings: Settings,
    *,
    subs: list[Subscriber],
    now: datetime,
    trending: bool = True,
    last_edition: dict[int, datetime] | None = None,
) -> Choice:
    """Each subscriber's picks from the candidates of their chosen sources and (unless
    `trending` is False) their trending section: the one path from the database to `rank`,
    for the planner and the preferences page alike. A reader whose sources brought nothing
    since `last_edition` has a quiet day: no picks, a note, and the trending papers unless the
    reader asked for no email on quiet days."""
    choice = Choice()
    if not subs:
        return choice
    edition = edition_inputs(session, settings, now)
    papers, sources, docs = edition.papers, edition.sources, edition.docs
    outside: dict[tuple[str, ...], frozenset[str]] = {}

    def elsewhere(sub: Subscriber) -> frozenset[str]:
        """The candidates none of the reader's sources brought (shared per source choice)."""
        named = tuple(sub.sources)
        if named not in outside:
            chosen = registry.chosen(named)
            outside[named] = frozenset(
                pid for pid, got in sources.items() if not _brought(got, chosen)
            )
        return outside[named]

    choice.notes = _quiet_notes(subs, papers=papers, since=last_edition or {}, now=now)
    limits = {s.id: min(s.max_papers, settings.max_papers_limit) for s in subs}
    params = rank_params(settings, max(limits.values()))
    hot, by_id = (trending_today(docs) if trending else []), {d.id: d for d in docs}
    sent: dict[int, set[str]] = {}
    # what a candidate may have been sent in: digests sent in its window (a day's margin for
    # the clocks of the hosts that stored the paper and sent the digest)
    since = now - timedelta(days=settings.candidate_window_days + 1)

    def profiles() -> Iterator[list[Profile]]:
        for page in pages(subs, settings.plan_page_size):
            ids = [s.id for s in page]
            page_sent, feedback = _already_sent(session, ids, since), _feedback(session, ids)
            opened = clicks.opened(session, ids)
            for sub in page:
                page_sent[sub.id] |= elsewhere(sub)
            sent.update(page_sent)
            yield [profile_for(s, page_sent[s.id], feedback[s.id], opened[s.id]) for s in page]

    by_sub = {s.id: s for s in subs}
    for part in map(partial(edition.rank, params), profiles()):
        for sid, ranked in part.items():
            quiet = sid in choice.notes
            picks = choice.picks[sid] = [] if quiet else ranked[: limits[sid]]
            sub = by_sub[sid]
            n = min(sub.trending_count, settings.max_trending_count) if trending else 0
            if not picks and trending:  # a quiet day: the trending papers instead, or nothing
                n = limits[sid] if sub.quiet_day == QuietDay.trending else 0
            # each subscriber's history is read once: popped, so memory stays one page's
            choice.trending[sid] = _trending_for(
                sub, n, picks=picks, sent=sent.pop(sid), hot=hot, docs=by_id
            )
    return choice


@dataclass(frozen=True)
class Edition:
    """What every planning chunk of one edition ranks against: the candidates (with their
    sources and documents), the model and its corpus, and the rankers over them."""

    key: tuple
    papers: list[Paper]
    sources: dict[str, frozenset[str]]
    docs: list[PaperDoc]
    model: Model
    corpus: list[PaperDoc]
    artifacts: Path  # where the candidates, as the ranker prepares them, are stored
    rankers: dict[RankParams, Callable[[list[Profile]], Ranking]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def rank(self, params: RankParams, profiles: list[Profile]) -> Ranking:
        """One page of profiles ranked by this edition's `ranker` for `params`, prepared once
        for every page and chunk instead of once per chunk, its candidates loaded as the
        edition's first planner built them (`artifact.candidates`)."""
        with self.lock:
            if params not in self.rankers:
                self.rankers[params] = ranker(
                    self.docs,
                    params,
                    model=self.model,
                    corpus=self.corpus,
                    candidates=partial(artifact.candidates, self.artifacts),
                )
            return self.rankers[params](profiles)

    def prepare(self, settings: Settings) -> None:
        """The candidates built and stored once, before the edition's chunks are handed out,
        so that every process planning them loads them instead of building its own."""
        artifact.candidates(
            self.artifacts, self.docs, self.model, rank_params(settings, settings.max_papers_limit)
        )


_LAST: list[Edition] = []  # this process's latest edition: its chunks share it


def edition_inputs(session: Session, settings: Settings, now: datetime) -> Edition:
    """The edition planned for `now`, read and loaded once per process: an edition's chunks
    (all planned for the instant `plan_due` chose) share one candidate set and one model
    instead of reading the papers and unpickling the model per chunk."""
    key = (
        settings.db_url,
        settings.artifacts_path,
        settings.candidate_window_days,
        settings.corpus_window_days,
        fit_params(settings),
        now,
    )
    if _LAST and _LAST[0].key == key:
        return _LAST[0]
    papers = candidate_papers(session, now, settings.candidate_window_days)
    model, corpus = shared_model(session, settings, now)
    docs = [paper_doc(p, now) for p in papers]
    _LAST[:] = [
        Edition(key, papers, _by_sources(papers), docs, model, corpus, settings.artifacts_path)
    ]
    return _LAST[0]


def shared_model(session: Session, settings: Settings, now: datetime) -> tuple[Model, list]:
    """The model every planner ranks with and its corpus: fitted once per corpus and stored
    for every worker (`artifact`), so planning chunks load it instead of refitting."""
    corpus = [paper_doc(p, now) for p in corpus_papers(session, now, settings.corpus_window_days)]
    model, _ = artifact.load_or_fit(settings.artifacts_path, corpus, fit_params(settings))
    return model, corpus


def pick_papers(
    session: Session, settings: Settings, subs: list[Subscriber], now: datetime
) -> dict[int, list[Pick]]:
    """Each subscriber's picks, best first, at most their max_papers (the preview's view)."""
    return choose_papers(session, settings, subs=subs, now=now, trending=False).picks


def _nothing(sub: Subscriber) -> str:
    """Why a due reader gets no digest: said in the digest's record, for the operator."""
    if sub.quiet_day == QuietDay.no_email:
        return "nothing relevant in this edition (the reader asked for no email on quiet days)"
    return "nothing relevant in this edition, nor trending"


class _Listed(TypeDecorator):
    """A reader's JSON list (categories, sources, authors, muted words) read as a tuple, each
    distinct text parsed once: most readers share a few of them ("[]" above all), and a
    planner reads a million readers' four lists."""

    impl = Text
    cache_ok = True

    def process_result_value(self, value, dialect) -> tuple[str, ...]:
        return _listed(value)


@lru_cache(maxsize=65536)
def _listed(text: str) -> tuple[str, ...]:
    return tuple(json_loads(text))


READERS = Subscriber.__table__
LISTS = ("categories", "sources", "authors", "muted_words")
# What planning reads of a reader: the schedule (`is_due`, `edition_for`), the profile, the
# sections and the address; not the account's other columns (sign-up times, a pending email).
PLANNED = select(
    *(
        type_coerce(cast(READERS.c[name], Text), _Listed).label(name)
        if name in LISTS
        else READERS.c[name]
        for name in (
            "id",
            "email",
            "status",
            "interests",
            "categories",
            "sources",
            "authors",
            "muted_words",
            "frequency",
            "max_papers",
            "trending_count",
            "quiet_day",
            "send_hour",
            "send_weekday",
            "timezone",
            "paused_until",
        )
    ),
    select(Suppression.email)
    .where(Suppression.email == READERS.c.email)
    .exists()
    .label("suppressed"),
).order_by(READERS.c.id)  # of the readers `among` the given ids


def due_readers(
    session: Session, now: datetime, ignore_send_hour: bool, subscriber_ids: list[int]
) -> tuple[list[Row], dict[int, str], int]:
    """Of these readers, the due, unsuppressed ones with no digest yet for their edition, in
    id order (plain rows of what planning reads, no ORM objects: a planner reads a million);
    each one's edition; how many already have theirs."""
    everyone = [
        s
        for page in pages(sorted(subscriber_ids))
        for s in session.connection().execute(PLANNED.where(among(session, READERS.c.id, page)))
    ]
    subs = [s for s in everyone if not s.suppressed and is_due(s, now, ignore_send_hour)]
    editions = {s.id: edition_for(s, now) for s in subs}
    existing = {
        row
        for page in pages(subs)
        for row in session.exec(
            select(Digest.subscriber_id, Digest.edition).where(
                among(session, Digest.subscriber_id, [s.id for s in page]),
                col(Digest.edition).in_({editions[s.id] for s in page}),
            )
        )
    }
    todo = [s for s in subs if (s.id, editions[s.id]) not in existing]
    return todo, editions, len(subs) - len(todo)


def due_ids(
    session: Session, now: datetime, ignore_send_hour: bool, page_size: int
) -> tuple[list[int], int]:
    """Every reader due now without their edition's digest, as ids, and how many already
    have theirs: read a page at a time and let go, so a million readers fit in memory."""
    todo, already = [], 0
    for page in pages(list(session.exec(select(Subscriber.id).order_by(Subscriber.id))), page_size):
        subs, _, n = due_readers(session, now, ignore_send_hour, page)
        todo += [s.id for s in subs]
        already += n
    return todo, already


def plan_edition(
    session: Session,
    settings: Settings,
    now: datetime,
    ignore_send_hour: bool = False,
    *,
    subscriber_ids: list[int] | None = None,
    run_id: int | None = None,
    queued_at: datetime | None = None,
) -> PlanResult:
    """Plan one digest per due subscriber (of `subscriber_ids`, or everyone) for their
    current edition, owned by `run_id` if given, and written as queued at `queued_at` if given
    (the caller hands them to the send queue once this commits). Safe to run twice."""
    result = PlanResult()
    if subscriber_ids is None:
        subscriber_ids = list(session.exec(select(Subscriber.id)))
    todo, editions, result.already = due_readers(session, now, ignore_send_hour, subscriber_ids)
    if not todo:
        return result
    last = {}
    for page in pages(todo, settings.plan_page_size):
        last.update(_last_editions(session, [s.id for s in page]))
    choice = choose_papers(session, settings, subs=todo, now=now, last_edition=last)
    picks, hot, notes = choice.picks, choice.trending, choice.notes
    # A quiet day (no news from the reader's sources, or nothing relevant in them) sends the
    # trending papers when the reader asked for them, under the note saying why.
    sends = {sid for sid in picks if picks[sid] or hot[sid]}
    planned_at = now  # the instant planned for: the next edition's news are counted from it
    for page in pages(todo, settings.plan_page_size):
        created = _insert_digests(
            session,
            [
                {
                    "subscriber_id": sub.id,
                    "edition": editions[sub.id],
                    "status": DigestStatus.planned if sub.id in sends else DigestStatus.skipped,
                    "last_error": None if sub.id in sends else notes.get(sub.id) or _nothing(sub),
                    "note": notes.get(sub.id),
                    "attempts": 0,
                    "planned_at": planned_at,
                    "run_id": run_id if sub.id in sends else None,
                    "queued_at": queued_at if sub.id in sends else None,
                }
                for sub in page
            ],
        )
        result.already += len(page) - len(created)  # a concurrent planner got there first
        items = [
            (digest_id, pick.paper_id, i, pick.score, _stored(pick.reasons), section)
            for sid, digest_id in created.items()
            for i, (section, pick) in enumerate(
                [("picks", p) for p in picks[sid]] + [("trending", p) for p in hot[sid]]
            )
        ]
        insert_rows(session, DigestItem.__table__, ITEM_COLUMNS, items)
        for sid, digest_id in created.items():
            result.edition_by_subscriber[sid] = editions[sid]
            if sid in sends:
                result.planned.append(digest_id)
            else:
                result.empty += 1
    return result

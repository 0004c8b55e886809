"""Reader feedback ("more / less like this"): one vote per subscriber and paper, latest wins."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.tables import Feedback, Paper, utcnow


def record(session: Session, subscriber_id: int, paper_id: str, value: int) -> Feedback:
    """Upsert the vote; a repeat click is a no-op, a changed mind overwrites."""
    if value not in (1, -1):
        raise ValueError(f"feedback must be +1 or -1, got {value!r}")
    if session.get(Paper, paper_id) is None:
        raise LookupError(f"no paper {paper_id!r}")
    row = _find(session, subscriber_id, paper_id)
    if row is None:
        try:
            with session.begin_nested():  # two clicks at once: the second updates
                row = Feedback(subscriber_id=subscriber_id, paper_id=paper_id, value=value)
                session.add(row)
            return row
        except IntegrityError:
            row = _find(session, subscriber_id, paper_id)
    if row.value != value:
        row.value, row.created_at = value, utcnow()
        session.add(row)
    session.flush()
    return row


def _find(session: Session, subscriber_id: int, paper_id: str) -> Feedback | None:
    return session.exec(
        select(Feedback).where(
            Feedback.subscriber_id == subscriber_id, Feedback.paper_id == paper_id
        )
    ).first()


def voted_papers(session: Session, subscriber_id: int, value: int, limit: int) -> list[Paper]:
    """The papers a reader voted `value` on, latest first."""
    return list(
        session.exec(
            select(Paper)
            .join(Feedback, col(Feedback.paper_id) == Paper.id)
            .where(Feedback.subscriber_id == subscriber_id, Feedback.value == value)
            .order_by(col(Feedback.created_at).desc())
            .limit(limit)
        )
    )


def clear(session: Session, subscriber_id: int, paper_id: str) -> bool:
    """Un-like or un-dislike: the paper stops shaping the profile. False if there was no vote."""
    row = _find(session, subscriber_id, paper_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
